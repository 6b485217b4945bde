/*
 * listen.c - the exporter's section of jibril.conf, [exporter], and its
 * listen address, read by the supervisor (config.c runs the check, the
 * supervisor binds: supervisor/exporter.c) and by the child (its settings
 * on fd 5: healthz_backoff_ms).
 *
 * Invariants:
 *  - an address is numeric (IPv4, or IPv6 in brackets) with a port of
 *    1..65535: nothing is resolved, so a name server cannot move it;
 *  - a non-loopback address is refused unless allow_non_loopback = yes:
 *    the metrics name the agent's children and counters, which a remote
 *    observer should not read by accident.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "exporter/exporter.h"

static const struct jb_setting keys[EXP_K_N] = {
	/* the first key: the kind is on when it is not empty (JB_EN_SETTING) */
	[EXP_K_LISTEN] = {"listen", JB_SET_STR, "", 0, 64},
	[EXP_K_ALLOW] = {"allow_non_loopback", JB_SET_STR, "no", 2, 5},
	[EXP_K_BACKOFF] = {"healthz_backoff_ms", JB_SET_U32, "5000", 0, 3600000},
};

static int is_yes(const char *v)
{
	return !strcasecmp(v, "yes") || !strcasecmp(v, "true") || !strcasecmp(v, "on") ||
	       !strcmp(v, "1");
}

static int is_no(const char *v)
{
	return !strcasecmp(v, "no") || !strcasecmp(v, "false") || !strcasecmp(v, "off") ||
	       !strcmp(v, "0");
}

int exp_listen_parse(const char *text, struct sockaddr_storage *ss, socklen_t *len, char *err,
		     size_t errlen)
{
	char host[64];
	const char *colon, *port;
	unsigned long n;
	char *end;
	size_t hl;

	memset(ss, 0, sizeof(*ss));
	if (text[0] == '[') {
		const char *close = strchr(text, ']');

		if (!close || close[1] != ':')
			goto bad;
		hl = (size_t)(close - text - 1);
		if (hl == 0 || hl >= sizeof(host))
			goto bad;
		memcpy(host, text + 1, hl);
		port = close + 2;
	} else {
		colon = strrchr(text, ':');
		if (!colon || strchr(text, ':') != colon)
			goto bad; /* IPv6 needs its brackets */
		hl = (size_t)(colon - text);
		if (hl == 0 || hl >= sizeof(host))
			goto bad;
		memcpy(host, text, hl);
		port = colon + 1;
	}
	host[hl] = '\0';
	if (port[0] < '1' || port[0] > '9')
		goto bad;
	errno = 0;
	n = strtoul(port, &end, 10);
	if (*end || errno || n > 65535)
		goto bad;
	if (text[0] == '[') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
			goto bad;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)n);
		*len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			goto bad;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)n);
		*len = sizeof(*s4);
	}
	return 0;
bad:
	snprintf(err, errlen, "'%.64s' is not ADDRESS:PORT (an IPv4 address, or an IPv6 one in "
		 "brackets, and a port 1..65535; no names), e.g. 127.0.0.1:9464 or [::1]:9464",
		 text);
	return -1;
}

int exp_addr_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
	if (ss->ss_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;

		if (IN6_IS_ADDR_LOOPBACK(a))
			return 1;
		return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
	}
	return 0;
}

/* Between keys (config.c runs it when the kind is on: listen not empty). */
static int exporter_check(const char *const *v, size_t *bad, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t len;

	if (!is_yes(v[EXP_K_ALLOW]) && !is_no(v[EXP_K_ALLOW])) {
		*bad = EXP_K_ALLOW;
		snprintf(err, errlen, "'%.16s' is not a boolean (use yes/no, true/false, on/off or "
			 "1/0)", v[EXP_K_ALLOW]);
		return -1;
	}
	if (exp_listen_parse(v[EXP_K_LISTEN], &ss, &len, err, errlen) < 0) {
		*bad = EXP_K_LISTEN;
		return -1;
	}
	if (!exp_addr_loopback(&ss) && !is_yes(v[EXP_K_ALLOW])) {
		*bad = EXP_K_LISTEN;
		snprintf(err, errlen, "%.64s is not a loopback address: the metrics would be open "
			 "to the network (set allow_non_loopback = yes to mean it)",
			 v[EXP_K_LISTEN]);
		return -1;
	}
	return 0;
}

const struct jb_settings_def exp_settings = {keys, EXP_K_N, exporter_check};
