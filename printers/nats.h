/*
 * nats.h - the NATS JetStream printer (printers/nats.c): its section
 * [nats] of jibril.conf, and the small parsers it uses on what the
 * operator wrote (the url list, a .creds file), exposed for the tests
 * and the fuzz harness.
 */
#ifndef JB_PRN_NATS_H
#define JB_PRN_NATS_H

#include <stddef.h>

#include "common/kind.h"

/* The keys of [nats] and the checks between them. */
extern const struct jb_settings_def prn_nats_settings;

#define PRN_NATS_URLS_MAX 16

struct prn_nats_url {
	int tls;		/* tls:// */
	char host[254];		/* a name, an IPv4 or an IPv6 address (without []) */
	size_t hostlen;
	unsigned port;		/* 4222 when not given */
};

/* One url of len bytes: nats://HOST[:PORT] or tls://HOST[:PORT] (HOST
 * may be [IPv6]); no user, path or query. 0, or -1 with err. */
int prn_nats_url_parse(const char *u, size_t len, struct prn_nats_url *out, char *err,
		       size_t errlen);

/* The user JWT and nkey seed of a .creds file (len bytes, not
 * NUL-terminated), each into a NUL-terminated buffer. 0 or -1. */
int prn_nats_creds_parse(const char *buf, size_t len, char *jwt, size_t jwtlen, char *seed,
			 size_t seedlen);

/* s as one subject token: at most 64 of a-z A-Z 0-9 _ -, anything else
 * becomes '_', an empty or NULL s is "_". */
void prn_nats_token(char *to, size_t cap, const char *s);

#endif
