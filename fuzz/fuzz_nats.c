/*
 * fuzz_nats.c - libFuzzer target for what the NATS printer parses of the
 * operator's input (printers/nats.c): a url (prn_nats_url_parse) and a
 * .creds file (prn_nats_creds_parse), and the subject tokens it makes of an
 * event's fields (prn_nats_token).
 *
 *   make fuzz; build/fuzz/fuzz_nats -dict=fuzz/nats.dict DIR  (a copy of fuzz/corpus/nats)
 *
 * Input: byte 0 picks the parser (low two bits), the rest is its input.
 * Besides "never crash, never read past the input", it checks:
 *  - an accepted url has a host of 1..253 characters without '@', '/' or
 *    ':' (an IPv6 one may have ':'), a port 1..65535, and appears in it;
 *  - accepted credentials are two NUL-terminated printable values that
 *    fit their buffers and appear in the input;
 *  - a token is 1..64 characters of A-Z a-z 0-9 _ -.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/broken.h"
#include "printers/nats.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data + 1;
	size_t n = size ? size - 1 : 0;
	char err[256];

	if (!size)
		return 0;
	switch (data[0] & 3) {
	case 0: {
		struct prn_nats_url u;

		if (prn_nats_url_parse(in, n, &u, err, sizeof(err)) < 0)
			break;
		if (!u.hostlen || u.hostlen > 253 || strlen(u.host) != u.hostlen)
			broken("host of %zu characters", u.hostlen);
		if (u.port < 1 || u.port > 65535)
			broken("port %u", u.port);
		if (strpbrk(u.host, "@/") || (!memchr(in, '[', n) && strchr(u.host, ':')))
			broken("host '%s' holds a separator", u.host);
		if (!memmem(in, n, u.host, u.hostlen))
			broken("host '%s' is not in the url", u.host);
		break;
	}
	case 1: {
		char jwt[64], seed[32];

		if (prn_nats_creds_parse(in, n, jwt, sizeof(jwt), seed, sizeof(seed)) < 0)
			break;
		for (const char *v = jwt; v; v = v == jwt ? seed : NULL) {
			if (!*v || !memmem(in, n, v, strlen(v)))
				broken("value '%s' is empty or not in the input", v);
			for (const char *c = v; *c; c++)
				if (*c <= ' ' || *c > '~')
					broken("value holds byte %d", *c);
		}
		break;
	}
	default: {
		char s[512], tok[80];
		size_t l = n < sizeof(s) - 1 ? n : sizeof(s) - 1;

		memcpy(s, in, l);
		s[l] = '\0';
		prn_nats_token(tok, sizeof(tok), s);
		if (!tok[0] || strlen(tok) > 64)
			broken("token of %zu characters", strlen(tok));
		for (const char *c = tok; *c; c++)
			if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-", *c))
				broken("token holds '%c'", *c);
		break;
	}
	}
	return 0;
}
