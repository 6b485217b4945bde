/*
 * dnsanswer.c - test helper: a tiny UDP DNS responder, and a client for it.
 *
 * Server:
 *   dnsanswer [--addr A] [--port P] --name NAME=ADDR... [--cname ALIAS=TARGET]...
 *             [--once] [--timeout S]
 *   Binds A (default 127.0.0.1; ::1 or any loopback address) port P
 *   (default 53: the kernel side parses answers from port 53 only), prints
 *   "ready" on stdout once bound, and answers A/AAAA queries: a name
 *   given with --cname is answered with the CNAME record(s) of its chain,
 *   then the address record(s) of the chain's end (each --name NAME=ADDR
 *   adds one address; IPv4 answers A queries, IPv6 AAAA queries). Owner
 *   names are compressed (pointers to the question and to the previous
 *   CNAME target), as real servers do. A name it knows without an address
 *   of the asked type gets NOERROR with only its CNAMEs; anything else
 *   NXDOMAIN. Exits 0 after one answer with --once, or when the timeout
 *   (default 10 s) ends; 1 on a set-up error, 2 on bad usage.
 *
 * Client:
 *   dnsanswer --query NAME [--type A|AAAA] --server ADDR[:PORT]   (v6: [::1]:53)
 *   Sends one query from an ephemeral port to a loopback server only,
 *   waits up to 3 s, prints one line per answer ("CNAME target", "A addr",
 *   "AAAA addr") and exits 0 with at least one answer, 1 on NXDOMAIN or an
 *   empty answer, 2 on usage errors, 3 on timeout or a malformed reply.
 *
 * Invariants: only loopback addresses are ever bound or queried; every
 * wait has a deadline, so a test can never hang on this helper.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_ENTRIES 32
#define MAX_CHAIN 8

struct addr_ent {
	char name[256];
	int family;
	uint8_t addr[16];
};

struct cname_ent {
	char alias[256];
	char target[256];
};

static struct addr_ent addrs[MAX_ENTRIES];
static struct cname_ent cnames[MAX_ENTRIES];
static int naddrs, ncnames;

static void usage(void)
{
	fprintf(stderr,
		"usage: dnsanswer [--addr A] [--port P] --name NAME=ADDR... [--cname A=T]... "
		"[--once] [--timeout S]\n"
		"       dnsanswer --query NAME [--type A|AAAA] --server ADDR[:PORT]\n");
	exit(2);
}

static void lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

/* "name" with no trailing dot, lower case */
static int norm_name(char *dst, size_t n, const char *src, size_t len)
{
	if (len && src[len - 1] == '.')
		len--;
	if (len == 0 || len >= n)
		return -1;
	memcpy(dst, src, len);
	dst[len] = '\0';
	lower(dst);
	return 0;
}

static int is_loopback(int family, const void *a)
{
	if (family == AF_INET)
		return ((const uint8_t *)a)[0] == 127;
	return IN6_IS_ADDR_LOOPBACK((const struct in6_addr *)a);
}

/* Write NAME in wire format at p (no compression); bytes written or -1. */
static int put_name(uint8_t *p, size_t room, const char *name)
{
	size_t at = 0;

	while (*name) {
		const char *dot = strchr(name, '.');
		size_t l = dot ? (size_t)(dot - name) : strlen(name);
		if (l == 0 || l > 63 || at + l + 2 > room)
			return -1;
		p[at++] = (uint8_t)l;
		memcpy(p + at, name, l);
		at += l;
		name += l + (dot ? 1 : 0);
	}
	if (at + 1 > room)
		return -1;
	p[at++] = 0;
	return (int)at;
}

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static unsigned get16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static const char *cname_of(const char *name)
{
	for (int i = 0; i < ncnames; i++)
		if (!strcmp(cnames[i].alias, name))
			return cnames[i].target;
	return NULL;
}

static int known(const char *name)
{
	for (int i = 0; i < naddrs; i++)
		if (!strcmp(addrs[i].name, name))
			return 1;
	return cname_of(name) != NULL;
}

/* Build the answer to query q (qlen bytes) into r; its length or -1 (drop). */
static int answer(const uint8_t *q, size_t qlen, uint8_t *r, size_t room)
{
	char name[256], cur[256];
	size_t at = 12, nlen = 0;
	unsigned qtype, an = 0, owner = 12; /* owner: offset of the current name */
	int want;

	if (qlen < 12 || (q[2] & 0x80) || get16(q + 4) != 1)
		return -1;
	/* question name: plain labels */
	while (at < qlen && q[at]) {
		unsigned l = q[at];
		if (l > 63 || at + 1 + l >= qlen || nlen + l + 1 >= sizeof(name))
			return -1;
		if (nlen)
			name[nlen++] = '.';
		memcpy(name + nlen, q + at + 1, l);
		nlen += l;
		at += 1 + l;
	}
	if (at + 5 > qlen)
		return -1;
	name[nlen] = '\0';
	lower(name);
	at++; /* the root label */
	qtype = get16(q + at);
	at += 4;
	if (at > room)
		return -1;
	memcpy(r, q, at); /* header and question */
	r[2] = (uint8_t)(0x84 | (q[2] & 0x01)); /* QR, AA, RD copied */
	r[3] = 0x80;			/* RA, NOERROR */
	put16(r + 6, 0);
	put16(r + 8, 0);
	put16(r + 10, 0);
	if (!known(name)) {
		r[3] |= 3; /* NXDOMAIN */
		return (int)at;
	}
	snprintf(cur, sizeof(cur), "%s", name);
	for (int hop = 0; hop < MAX_CHAIN; hop++) {
		const char *t = cname_of(cur);
		int n;
		if (!t)
			break;
		if (at + 12 > room)
			return -1;
		put16(r + at, 0xc000 | owner);
		put16(r + at + 2, 5); /* CNAME */
		put16(r + at + 4, 1);
		r[at + 6] = 0;
		r[at + 7] = 0;
		put16(r + at + 8, 300);
		n = put_name(r + at + 12, room - at - 12, t);
		if (n < 0)
			return -1;
		put16(r + at + 10, (unsigned)n);
		owner = (unsigned)(at + 12);
		at += 12 + (size_t)n;
		an++;
		snprintf(cur, sizeof(cur), "%s", t);
	}
	want = qtype == 1 ? AF_INET : qtype == 28 ? AF_INET6 : 0;
	for (int i = 0; i < naddrs; i++) {
		size_t alen = addrs[i].family == AF_INET ? 4 : 16;
		if (strcmp(addrs[i].name, cur) || addrs[i].family != want)
			continue;
		if (at + 12 + alen > room)
			return -1;
		put16(r + at, 0xc000 | owner);
		put16(r + at + 2, qtype);
		put16(r + at + 4, 1);
		r[at + 6] = 0;
		r[at + 7] = 0;
		put16(r + at + 8, 300);
		put16(r + at + 10, (unsigned)alen);
		memcpy(r + at + 12, addrs[i].addr, alen);
		at += 12 + alen;
		an++;
	}
	put16(r + 6, an);
	return (int)at;
}

static int parse_addr(const char *s, int *family, void *out)
{
	if (inet_pton(AF_INET, s, out) == 1) {
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, out) == 1) {
		*family = AF_INET6;
		return 0;
	}
	return -1;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int serve(const char *bind_addr, unsigned port, int once, unsigned timeout_s)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	uint8_t a[16];
	int family, fd, one = 1;
	uint64_t deadline = now_ms() + (uint64_t)timeout_s * 1000;

	if (parse_addr(bind_addr, &family, a) < 0 || !is_loopback(family, a)) {
		fprintf(stderr, "dnsanswer: --addr must be a loopback address\n");
		return 2;
	}
	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		memcpy(&sin->sin_addr, a, 4);
		sl = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		memcpy(&sin6->sin6_addr, a, 16);
		sl = sizeof(*sin6);
	}
	fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		perror("dnsanswer: socket");
		return 1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0) {
		fprintf(stderr, "dnsanswer: bind %s port %u: %s\n", bind_addr, port, strerror(errno));
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		uint8_t q[512], r[1500];
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		uint64_t now = now_ms();
		ssize_t n;
		int rl;

		if (now >= deadline)
			return 0;
		if (poll(&pfd, 1, (int)(deadline - now)) <= 0)
			continue;
		n = recvfrom(fd, q, sizeof(q), 0, (struct sockaddr *)&from, &fl);
		if (n < 0)
			continue;
		rl = answer(q, (size_t)n, r, sizeof(r));
		if (rl < 0)
			continue;
		if (sendto(fd, r, (size_t)rl, 0, (struct sockaddr *)&from, fl) < 0)
			perror("dnsanswer: sendto");
		if (once)
			return 0;
	}
}

/* Decode the name at off (with pointers) into out; offset after it or -1. */
static int get_name(const uint8_t *m, size_t len, size_t off, char *out, size_t n)
{
	size_t o = 0, end = 0;
	int hops = 0;

	while (off < len) {
		unsigned l = m[off];
		if (l == 0) {
			out[o] = '\0';
			return (int)(end ? end : off + 1);
		}
		if ((l & 0xc0) == 0xc0) {
			if (off + 1 >= len || ++hops > 16)
				return -1;
			if (!end)
				end = off + 2;
			off = (l & 0x3f) << 8 | m[off + 1];
			continue;
		}
		if (l > 63 || off + 1 + l > len || o + l + 2 > n)
			return -1;
		if (o)
			out[o++] = '.';
		memcpy(out + o, m + off + 1, l);
		o += l;
		off += 1 + l;
	}
	return -1;
}

static int query(const char *name, const char *type, const char *server)
{
	char host[64], nm[256];
	unsigned port = 53, qtype = !strcmp(type, "AAAA") ? 28 : 1;
	struct sockaddr_storage ss;
	socklen_t sl;
	uint8_t a[16], q[512], r[1500];
	int family, fd, n, an, rcode;
	size_t at;
	ssize_t rl;
	struct pollfd pfd;
	uint16_t id;

	if (strcmp(type, "A") && strcmp(type, "AAAA"))
		usage();
	/* ADDR, ADDR:PORT, [V6]:PORT or a bare V6 */
	if (server[0] == '[') {
		const char *e = strchr(server, ']');
		if (!e || (size_t)(e - server - 1) >= sizeof(host))
			usage();
		memcpy(host, server + 1, (size_t)(e - server - 1));
		host[e - server - 1] = '\0';
		if (e[1] == ':')
			port = (unsigned)atoi(e + 2);
	} else if (strchr(server, ':') && strchr(server, ':') == strrchr(server, ':')) {
		const char *c = strchr(server, ':');
		if ((size_t)(c - server) >= sizeof(host))
			usage();
		memcpy(host, server, (size_t)(c - server));
		host[c - server] = '\0';
		port = (unsigned)atoi(c + 1);
	} else {
		snprintf(host, sizeof(host), "%s", server);
	}
	if (parse_addr(host, &family, a) < 0 || !is_loopback(family, a) || port == 0 ||
	    port > 65535) {
		fprintf(stderr, "dnsanswer: --server must be a loopback address\n");
		return 2;
	}
	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		memcpy(&sin->sin_addr, a, 4);
		sl = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		memcpy(&sin6->sin6_addr, a, 16);
		sl = sizeof(*sin6);
	}
	if (norm_name(nm, sizeof(nm), name, strlen(name)) < 0)
		usage();
	id = (uint16_t)(getpid() ^ now_ms());
	memset(q, 0, 12);
	put16(q, id);
	q[2] = 0x01; /* RD */
	put16(q + 4, 1);
	n = put_name(q + 12, sizeof(q) - 16, nm);
	if (n < 0)
		usage();
	at = 12 + (size_t)n;
	put16(q + at, qtype);
	put16(q + at + 2, 1);
	at += 4;
	fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&ss, sl) < 0 || send(fd, q, at, 0) < 0) {
		perror("dnsanswer: query");
		return 3;
	}
	pfd.fd = fd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, 3000) <= 0) {
		fprintf(stderr, "dnsanswer: no answer within 3 s\n");
		return 3;
	}
	rl = recv(fd, r, sizeof(r), 0);
	if (rl < 12 || get16(r) != id || !(r[2] & 0x80)) {
		fprintf(stderr, "dnsanswer: malformed answer\n");
		return 3;
	}
	rcode = r[3] & 0x0f;
	an = (int)get16(r + 6);
	if (rcode == 3) {
		printf("NXDOMAIN\n");
		return 1;
	}
	at = 12;
	for (unsigned i = 0; i < get16(r + 4); i++) { /* skip the question */
		int e = get_name(r, (size_t)rl, at, nm, sizeof(nm));
		if (e < 0)
			return 3;
		at = (size_t)e + 4;
	}
	for (int i = 0; i < an; i++) {
		unsigned t, rdlen;
		char txt[INET6_ADDRSTRLEN];
		int e = get_name(r, (size_t)rl, at, nm, sizeof(nm));
		if (e < 0 || (size_t)e + 10 > (size_t)rl)
			return 3;
		at = (size_t)e;
		t = get16(r + at);
		rdlen = get16(r + at + 8);
		at += 10;
		if (at + rdlen > (size_t)rl)
			return 3;
		if (t == 5 && get_name(r, (size_t)rl, at, nm, sizeof(nm)) >= 0)
			printf("CNAME %s\n", nm);
		else if (t == 1 && rdlen == 4 && inet_ntop(AF_INET, r + at, txt, sizeof(txt)))
			printf("A %s\n", txt);
		else if (t == 28 && rdlen == 16 && inet_ntop(AF_INET6, r + at, txt, sizeof(txt)))
			printf("AAAA %s\n", txt);
		at += rdlen;
	}
	return an > 0 && rcode == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	const char *bind_addr = "127.0.0.1", *qname = NULL, *qtype = "A", *server = NULL;
	unsigned port = 53, timeout_s = 10;
	int once = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--once")) {
			once = 1;
			continue;
		}
		if (!v)
			usage();
		i++;
		if (!strcmp(a, "--addr")) {
			bind_addr = v;
		} else if (!strcmp(a, "--port")) {
			port = (unsigned)atoi(v);
			if (port == 0 || port > 65535)
				usage();
		} else if (!strcmp(a, "--timeout")) {
			timeout_s = (unsigned)atoi(v);
			if (timeout_s == 0 || timeout_s > 600)
				usage();
		} else if (!strcmp(a, "--name")) {
			const char *eq = strchr(v, '=');
			struct addr_ent *e = &addrs[naddrs];
			if (!eq || naddrs == MAX_ENTRIES ||
			    norm_name(e->name, sizeof(e->name), v, (size_t)(eq - v)) < 0 ||
			    parse_addr(eq + 1, &e->family, e->addr) < 0)
				usage();
			naddrs++;
		} else if (!strcmp(a, "--cname")) {
			const char *eq = strchr(v, '=');
			struct cname_ent *e = &cnames[ncnames];
			if (!eq || ncnames == MAX_ENTRIES ||
			    norm_name(e->alias, sizeof(e->alias), v, (size_t)(eq - v)) < 0 ||
			    norm_name(e->target, sizeof(e->target), eq + 1, strlen(eq + 1)) < 0)
				usage();
			ncnames++;
		} else if (!strcmp(a, "--query")) {
			qname = v;
		} else if (!strcmp(a, "--type")) {
			qtype = v;
		} else if (!strcmp(a, "--server")) {
			server = v;
		} else {
			usage();
		}
	}
	if (qname || server) {
		if (!qname || !server)
			usage();
		return query(qname, qtype, server);
	}
	if (!naddrs && !ncnames)
		usage();
	return serve(bind_addr, port, once, timeout_s);
}
