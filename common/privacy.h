/*
 * privacy.h - keyed pseudonymisation of the personal identifiers in an
 * event (issue 16; docs/PRIVACY.md). A pseudonym is a type prefix and the
 * first hex digits of HMAC-SHA256(key, type || 0 || value): the same value
 * gives the same pseudonym under the same key (across events, printers and
 * hosts that share the key), and nobody without the key can reverse it or
 * test a guess.
 *
 * Used by the printer runtime (printers/printer.c: each printer applies its
 * own policy to every line before its output sees it), by the summary
 * printer for its digest, and by `jibril --reveal`. The key lives in a
 * root-only file the supervisor creates at first start; a printer whose
 * policy pseudonymises is handed the key (never the path) before it is
 * confined.
 */
#ifndef JB_PRIVACY_H
#define JB_PRIVACY_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define PRV_KEY_LEN 32
#define PRV_PSEUDO_MAX 48 /* "user-" + hex digits + NUL, with room */

/* What is replaced (bits of prv_policy.fields). */
enum {
	PRV_USERS = 1u << 0, /* user names and uids: process.uid, /home/NAME, /root, argv */
	PRV_HOSTS = 1u << 1, /* host names: the event's hostname (and the like) */
	PRV_IPS = 1u << 2,   /* peer IPv4/IPv6 addresses, keeping a network prefix */
};

struct prv_policy {
	uint32_t fields;		/* PRV_* bits; 0: the event is left as it is */
	unsigned ipv4_prefix, ipv6_prefix; /* bits of the address kept in clear */
	unsigned char key[PRV_KEY_LEN];
	/* the local user names to recognise in free text (argv, paths outside
	 * /home), NUL-separated, handed over with the key; may be empty */
	const char *users;
	size_t users_len;
};

/* type ("user", "uid", "host", "ip") and value -> "type-xxxxxxxx" in out. */
void prv_pseudonym(const unsigned char key[PRV_KEY_LEN], const char *type, const char *value,
		   char out[PRV_PSEUDO_MAX]);

/* The same for value's len bytes (a value need not be NUL-terminated). */
void prv_pseudonym_n(const unsigned char key[PRV_KEY_LEN], const char *type, const char *value,
		     size_t len, char out[PRV_PSEUDO_MAX]);

/* 1 if uid belongs to a person (>= 1000, not nobody 65534 nor -1): such a
 * uid is pseudonymised, a system account's stays in clear. */
int prv_uid_personal(unsigned long long uid);

/* An IPv4/IPv6 address -> what prv_apply writes for it under p:
 * "NET/BITS~ip-xxxxxxxxxxxx" (the network of p's prefix in clear), or
 * "ip-xxxxxxxxxxxx" with a prefix of 0. 0, or -1 (not an address). */
#define PRV_IP_MAX 96
int prv_ip(const struct prv_policy *p, const char *addr, char *out, size_t outlen);

/* Replace, in place, every identifier of ev that p covers, and add the
 * array "pseudonymised" naming the fields changed ("process.uid",
 * "file.path", ...). 0, or -1 (out of memory: the caller drops the line
 * rather than print it unpseudonymised, and reports the loss). */
int prv_apply(json_t *ev, const struct prv_policy *p);

#endif
