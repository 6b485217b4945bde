/*
 * tcpconn.c - test helper: one IPv4 TCP connect or accept, so the test
 * knows exactly which process made the connection.
 *   tcpconn connect ADDR PORT  exit 0 connected, 1 attempt failed, 2 usage,
 *                              3 no IPv6 socket (connect6 only)
 *   tcpconn connect6 ADDR PORT the same over IPv6
 *   tcpconn listen ADDR PORT   writes "ready\n" to stdout once listening,
 *                              accepts one connection, exit 0
 * Both give up after 10 s (alarm), so a test can never hang on them.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6};
	int fd, one = 1;

	if (argc == 4 && !strcmp(argv[1], "connect6")) {
		if (inet_pton(AF_INET6, argv[2], &sin6.sin6_addr) != 1)
			return 2;
		sin6.sin6_port = htons((unsigned short)atoi(argv[3]));
		alarm(10);
		fd = socket(AF_INET6, SOCK_STREAM, 0);
		if (fd < 0)
			return 3;
		return connect(fd, (struct sockaddr *)&sin6, sizeof(sin6)) == 0 ? 0 : 1;
	}
	if (argc != 4 || inet_pton(AF_INET, argv[2], &sin.sin_addr) != 1)
		return 2;
	sin.sin_port = htons((unsigned short)atoi(argv[3]));
	alarm(10);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return 1;
	if (!strcmp(argv[1], "connect"))
		return connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 ? 0 : 1;
	if (strcmp(argv[1], "listen") != 0)
		return 2;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(fd, 4) < 0)
		return 1;
	if (write(STDOUT_FILENO, "ready\n", 6) != 6)
		return 1;
	return accept(fd, NULL, NULL) < 0 ? 1 : 0;
}
