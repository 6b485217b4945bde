/*
 * dnsforge.c - test helper: the forged-DNS-answer attack of an unprivileged
 * user, played inside a network namespace of the caller's own (run it under
 * `unshare -Urn` as an ordinary user: there it may bind port 53 of its own
 * loopback).
 *
 *   dnsforge MODE NAME ADDR
 *     MODE unasked: an A answer "NAME is ADDR" from 127.0.0.1:53 to a
 *                   socket of ours that never asked anything
 *          wrongid: that socket asks for NAME, the answer carries another id
 *          asked:   that socket asks for NAME and gets a well-formed answer
 *                   to its query (a genuine exchange, inside this namespace)
 *   Brings lo up, sends, and waits (2 s at most) until the answer is
 *   delivered to the socket: the kernel's cgroup_skb ingress programs have
 *   seen it by then. Prints "netns COOKIE" (SO_NETNS_COOKIE of the socket)
 *   and "delivered", exits 0; 1 on any failure, 2 on usage.
 *
 * Invariants: only 127.0.0.1 of the namespace it runs in is bound or sent
 * to; every wait has a deadline.
 */
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

static size_t put_name(uint8_t *b, size_t at, const char *name)
{
	while (*name) {
		size_t l = strcspn(name, ".");

		if (l == 0 || l > 63 || at + l + 2 > 400)
			exit(2);
		b[at++] = (uint8_t)l;
		memcpy(b + at, name, l);
		at += l;
		name += l + (name[l] == '.');
	}
	b[at++] = 0;
	return at;
}

/* header, question NAME A IN; response: one A record ADDR after it */
static size_t message(uint8_t *b, unsigned id, int response, const char *name,
		      const struct in_addr *addr)
{
	size_t at;

	memset(b, 0, 12);
	b[0] = (uint8_t)(id >> 8), b[1] = (uint8_t)id;
	b[2] = response ? 0x81 : 0x01; /* QR + RD, or RD */
	b[3] = response ? 0x80 : 0x00; /* RA, NOERROR */
	b[5] = 1;
	b[7] = response ? 1 : 0;
	at = put_name(b, 12, name);
	b[at++] = 0, b[at++] = 1; /* A */
	b[at++] = 0, b[at++] = 1; /* IN */
	if (!response)
		return at;
	b[at++] = 0xc0, b[at++] = 12; /* owner: the question's name */
	b[at++] = 0, b[at++] = 1;
	b[at++] = 0, b[at++] = 1;
	b[at++] = 0, b[at++] = 0, b[at++] = 0x0e, b[at++] = 0x10; /* ttl 3600 */
	b[at++] = 0, b[at++] = 4;
	memcpy(b + at, addr, 4);
	return at + 4;
}

static int wait_in(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, 2000) == 1;
}

int main(int argc, char **argv)
{
	struct sockaddr_in srv = {.sin_family = AF_INET, .sin_port = htons(53)};
	struct sockaddr_in cli = {.sin_family = AF_INET};
	struct ifreq ifr;
	struct in_addr addr;
	uint8_t q[512], r[512];
	socklen_t sl = sizeof(cli);
	uint64_t cookie = 0;
	socklen_t cl = sizeof(cookie);
	unsigned id = 0x4a11;
	int s, c, mode;
	size_t n;

	if (argc != 4 || inet_pton(AF_INET, argv[3], &addr) != 1)
		return 2;
	mode = !strcmp(argv[1], "unasked") ? 0 : !strcmp(argv[1], "wrongid") ? 1
					       : !strcmp(argv[1], "asked")     ? 2
									       : -1;
	if (mode < 0)
		return 2;
	alarm(10);
	srv.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cli.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

	/* a fresh namespace's loopback is down */
	s = socket(AF_INET, SOCK_DGRAM, 0);
	if (s < 0)
		return perror("dnsforge: socket"), 1;
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return perror("dnsforge: SIOCGIFFLAGS lo"), 1;
	if (!(ifr.ifr_flags & IFF_UP)) {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
			return perror("dnsforge: bringing lo up"), 1;
	}
	if (bind(s, (struct sockaddr *)&srv, sizeof(srv)) < 0)
		return perror("dnsforge: bind 127.0.0.1:53"), 1;
	c = socket(AF_INET, SOCK_DGRAM, 0);
	if (c < 0 || bind(c, (struct sockaddr *)&cli, sizeof(cli)) < 0 ||
	    getsockname(c, (struct sockaddr *)&cli, &sl) < 0)
		return perror("dnsforge: client socket"), 1;
	if (getsockopt(c, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &cl) < 0)
		return perror("dnsforge: SO_NETNS_COOKIE"), 1;
	printf("netns %llu\n", (unsigned long long)cookie);
	fflush(stdout);

	if (mode > 0) {
		n = message(q, id, 0, argv[2], NULL);
		if (sendto(c, q, n, 0, (struct sockaddr *)&srv, sizeof(srv)) != (ssize_t)n)
			return perror("dnsforge: query"), 1;
		if (!wait_in(s) || recv(s, r, sizeof(r), 0) != (ssize_t)n)
			return fprintf(stderr, "dnsforge: the query did not arrive\n"), 1;
	}
	n = message(r, mode == 1 ? id + 1 : id, 1, argv[2], &addr);
	if (sendto(s, r, n, 0, (struct sockaddr *)&cli, sizeof(cli)) != (ssize_t)n)
		return perror("dnsforge: answer"), 1;
	if (!wait_in(c) || recv(c, q, sizeof(q), 0) != (ssize_t)n)
		return fprintf(stderr, "dnsforge: the answer was not delivered\n"), 1;
	printf("delivered\n");
	return 0;
}
