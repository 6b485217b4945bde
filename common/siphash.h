/*
 * siphash.h - SipHash-2-4 (Aumasson and Bernstein, 2012): a keyed 64-bit
 * hash for tables whose keys come from less trusted processes (common/
 * siphash.c says why our own and not OpenSSL's).
 */
#ifndef JB_COMMON_SIPHASH_H
#define JB_COMMON_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

/* A 128-bit key; fill it with jb_siphash_key_random(). */
struct jb_sipkey {
	uint64_t k0, k1;
};

/* Incremental state: init, feed any number of pieces, final. The result
 * equals SipHash-2-4 of the pieces' concatenation. */
struct jb_siphash {
	uint64_t v0, v1, v2, v3;
	uint64_t tail;		/* bytes not yet in a whole 8-byte word */
	size_t ntail;
	uint64_t total;		/* bytes fed so far */
};

/* A fresh random key from getrandom(2) (blocks only before the kernel's
 * pool is initialised at boot). 0, or -1 with errno. */
int jb_siphash_key_random(struct jb_sipkey *k);

void jb_siphash_init(struct jb_siphash *h, const struct jb_sipkey *k);
void jb_siphash_update(struct jb_siphash *h, const void *p, size_t n);
uint64_t jb_siphash_final(struct jb_siphash *h);
/* One call: SipHash-2-4 of n bytes at p under k. */
uint64_t jb_siphash(const struct jb_sipkey *k, const void *p, size_t n);

#endif
