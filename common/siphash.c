/*
 * siphash.c - SipHash-2-4 with an incremental interface (siphash.h).
 *
 * Why: the supervisor's dedup set (router.c) and `times` counter table
 * (limits.c) are open-addressed tables keyed by strings workers send. With
 * an unkeyed hash (FNV-1a) a compromised worker can compute keys that all
 * land in one probe chain and turn each insert and lookup into a walk of
 * the whole table. SipHash under a random key drawn at every start makes
 * the slots unpredictable to anyone who does not know the key, and the key
 * never leaves the supervisor.
 *
 * Why our own rather than OpenSSL 3's EVP_MAC "SIPHASH": these hashes run
 * once or twice per detection on the supervisor's only thread; EVP_MAC
 * allocates a context per use (or needs one kept and re-initialised),
 * returns through a byte buffer and can fail, and would add libcrypto to
 * every binary that links this module. The algorithm is ~40 lines, has no
 * failure path and is checked against the reference test vectors of the
 * SipHash paper in tests/check_inputs.c.
 *
 * Invariants: pure computation, no allocation; update() may be called with
 * any split of the input and gives the same result as one call.
 */
#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "common/siphash.h"

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

static inline void round_(struct jb_siphash *h)
{
	h->v0 += h->v1;
	h->v1 = ROTL(h->v1, 13);
	h->v1 ^= h->v0;
	h->v0 = ROTL(h->v0, 32);
	h->v2 += h->v3;
	h->v3 = ROTL(h->v3, 16);
	h->v3 ^= h->v2;
	h->v0 += h->v3;
	h->v3 = ROTL(h->v3, 21);
	h->v3 ^= h->v0;
	h->v2 += h->v1;
	h->v1 = ROTL(h->v1, 17);
	h->v1 ^= h->v2;
	h->v2 = ROTL(h->v2, 32);
}

/* One 64-bit message word (little-endian), two compression rounds. */
static inline void word(struct jb_siphash *h, uint64_t m)
{
	h->v3 ^= m;
	round_(h);
	round_(h);
	h->v0 ^= m;
}

int jb_siphash_key_random(struct jb_sipkey *k)
{
	unsigned char b[16];
	size_t got = 0;

	while (got < sizeof(b)) {
		ssize_t n = getrandom(b + got, sizeof(b) - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	memcpy(&k->k0, b, 8);
	memcpy(&k->k1, b + 8, 8);
	return 0;
}

void jb_siphash_init(struct jb_siphash *h, const struct jb_sipkey *k)
{
	h->v0 = k->k0 ^ 0x736f6d6570736575ULL; /* "somepseudorandomlygeneratedbytes" */
	h->v1 = k->k1 ^ 0x646f72616e646f6dULL;
	h->v2 = k->k0 ^ 0x6c7967656e657261ULL;
	h->v3 = k->k1 ^ 0x7465646279746573ULL;
	h->tail = 0;
	h->ntail = 0;
	h->total = 0;
}

void jb_siphash_update(struct jb_siphash *h, const void *p, size_t n)
{
	const unsigned char *b = p;

	h->total += n;
	while (n > 0) {
		h->tail |= (uint64_t)*b++ << (8 * h->ntail);
		n--;
		if (++h->ntail == 8) {
			word(h, h->tail);
			h->tail = 0;
			h->ntail = 0;
		}
	}
}

uint64_t jb_siphash_final(struct jb_siphash *h)
{
	/* the last word: the remaining bytes and the length mod 256 on top */
	word(h, h->tail | (h->total & 0xff) << 56);
	h->v2 ^= 0xff;
	round_(h);
	round_(h);
	round_(h);
	round_(h);
	return h->v0 ^ h->v1 ^ h->v2 ^ h->v3;
}

uint64_t jb_siphash(const struct jb_sipkey *k, const void *p, size_t n)
{
	struct jb_siphash h;

	jb_siphash_init(&h, k);
	jb_siphash_update(&h, p, n);
	return jb_siphash_final(&h);
}
