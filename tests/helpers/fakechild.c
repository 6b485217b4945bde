/*
 * fakechild.c - a stand-in child for tests/check_procs.c: started by the
 * real spawn code (supervisor/spawn.c) exactly as jibril re-executes its
 * children (--role R --kind K --generation N ...), it speaks the real IPC
 * protocol on fd 3 (ipc/msg.c) and misbehaves as its kind name says:
 *
 *   ok          HELLO, READY, a heartbeat every period of its CONFIG
 *   crash       like ok, then abort() 60 ms after READY
 *   crashslow   like ok, then abort() 400 ms after READY
 *   crashearly  abort() before HELLO
 *   exit78      exit 78 (EX_CONFIG) before HELLO
 *   silent      never says HELLO
 *   badhello    HELLO with the wrong generation
 *   garbage     READY, then a packet that is not msgpack
 *   hang        READY, then neither heartbeats nor reacts to SIGTERM
 *
 * No privileges, no sandbox, no BPF: it only proves the slot machine.
 * It exits when the supervisor closes the socket.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "ipc/msg.h"

#define FD 3

static const char *kind = "";
static uint64_t gen;
static uint32_t role;
static char buf[IPC_MAX_MSG];
static struct ipc_msg msg;

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sendmsg_or_die(int n)
{
	if (n < 0 || send(FD, buf, (size_t)n, MSG_NOSIGNAL) != n)
		exit(3);
}

/* One message from the supervisor within ms (-1: forever); 0 on timeout. */
static int recv_msg(int ms)
{
	struct pollfd p = {FD, POLLIN, 0};
	char err[128];
	ssize_t n;

	if (poll(&p, 1, ms) <= 0)
		return 0;
	n = recv(FD, buf, sizeof(buf), 0);
	if (n <= 0)
		exit(0); /* the supervisor is gone */
	if (ipc_decode(buf, (size_t)n, &msg, err, sizeof(err)) < 0)
		exit(4);
	return 1;
}

static int is(const char *k) { return !strcmp(kind, k); }

int main(int argc, char **argv)
{
	uint64_t period = 1000, ready_at, next_beat;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--kind"))
			kind = argv[i + 1];
		else if (!strcmp(argv[i], "--generation"))
			gen = strtoull(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--role"))
			role = !strcmp(argv[i + 1], "worker") ? IPC_ROLE_WORKER : IPC_ROLE_PRINTER;
	}
	if (is("crashearly"))
		abort();
	if (is("exit78"))
		return EX_CONFIG;
	if (is("silent"))
		for (;;)
			pause();
	sendmsg_or_die(ipc_enc_hello(buf, sizeof(buf), role, kind, is("badhello") ? gen + 7 : gen,
				     (uint64_t)getpid()));
	while (!recv_msg(-1) || msg.type != IPC_CONFIG)
		;
	period = msg.u.config.heartbeat_ms;
	sendmsg_or_die(ipc_enc_ready(buf, sizeof(buf)));
	ready_at = now_ms();
	next_beat = ready_at + period;
	if (is("garbage")) {
		static const unsigned char junk[] = {0xc1, 0x00, 0xff};
		send(FD, junk, sizeof(junk), MSG_NOSIGNAL);
	}
	if (is("hang")) {
		signal(SIGTERM, SIG_IGN);
		for (;;)
			pause();
	}
	for (;;) {
		uint64_t t = now_ms();

		if ((is("crash") && t - ready_at >= 60) || (is("crashslow") && t - ready_at >= 400))
			abort();
		if (t >= next_beat) {
			sendmsg_or_die(ipc_enc_heartbeat(buf, sizeof(buf), 0, 0));
			next_beat += period;
		}
		recv_msg(10);
	}
}
