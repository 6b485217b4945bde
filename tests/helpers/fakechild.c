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
 *   stderr      like ok, after READY writes to stderr: a line with a newline
 *               forging a supervisor line, ESC and a NUL hiding a word,
 *               then 200 lines (more than the log takes in a second)
 *   logforge    like ok, after READY an IPC_LOG line forging a supervisor
 *               line after a newline
 *   fds         like ok, after READY an IPC_LOG line naming what its fds
 *               0, 1, 2 and 4 are
 *   logflood    like ok, after READY 200 IPC_LOG lines, each with an ESC
 *               sequence and a forged line after a newline
 *   flood       a worker: after READY, FLOOD_N detections of recipe "flood"
 *               with 50 KiB of JSON each, as fast as the socket takes them
 *   steady      a worker: one small detection of recipe "steady" (JSON
 *               naming "steady-N") each time it gets SIGUSR1
 *   stall       a printer that reads nothing after READY (its socket and
 *               the supervisor's queue fill up) until SIGUSR1; then it
 *               acknowledges every PRINT and writes to stderr "got: " and
 *               the line for each line that names "steady-" or
 *               "data_loss"
 *   reader      a printer that acknowledges every PRINT at once (and says
 *               the same lines as stall)
 *   lossy       like reader, after READY an IPC_LOSS: 7 detections lost
 *               for "spool_full", its detail holding an ESC sequence
 *   badloss     like reader, after READY an IPC_LOSS whose cause is not a
 *               name ("Spool Full", built by hand: the encoder refuses it)
 *   workerloss  a worker that sends a well-formed IPC_LOSS after READY (a
 *               printer's message)
 *   summarizer  like reader, after READY an IPC_SUMMARY ("fake summary of
 *               KIND"); it also says the detection_summary lines it gets
 *   badsum      the same from a printer kind that is not the summary kind
 *
 * No privileges, no sandbox, no BPF: it only proves the slot machine.
 * It exits when the supervisor closes the socket.
 */
#include <errno.h>
#include <limits.h>
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
#define FLOOD_N 2500
#define FLOOD_JSON (50 * 1024)

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

static volatile sig_atomic_t usr1;
static void on_usr1(int sig) { usr1++; }

/* every event begins with its uuid (the router puts the real one there) */
#define UUID "\"uuid\":\"00000000-0000-4000-8000-000000000000\""

/* flood: big detections, each with its own dedup key */
static void flood(void)
{
	static char json[FLOOD_JSON + 128];
	char key[32];
	int n = snprintf(json, sizeof(json), "{" UUID ",\"kind\":\"flood\",\"pad\":\"");

	memset(json + n, 'x', FLOOD_JSON);
	snprintf(json + n + FLOOD_JSON, sizeof(json) - (size_t)n - FLOOD_JSON, "\"}");
	for (int i = 0; i < FLOOD_N; i++) {
		snprintf(key, sizeof(key), "flood/%d", i);
		sendmsg_or_die(ipc_enc_detection(buf, sizeof(buf), "flood", key, json, strlen(json),
						 ""));
	}
}

/* stall, resumed: acknowledge a PRINT, and say the lines the test wants */
static void printed(void)
{
	const char *j = msg.u.print.json;

	if (strstr(j, "steady-") || strstr(j, "data_loss") || strstr(j, "detection_summary"))
		dprintf(2, "got: %s\n", j);
	sendmsg_or_die(ipc_enc_printed(buf, sizeof(buf), msg.u.print.seq));
}

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
	signal(SIGUSR1, on_usr1);
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
	if (is("lossy") || is("workerloss"))
		sendmsg_or_die(ipc_enc_loss(buf, sizeof(buf), "spool_full", 7,
					    "oldest spool file dropped \x1b[2J\nforged"));
	if (is("summarizer") || is("badsum")) {
		char text[64];

		snprintf(text, sizeof(text), "fake summary of %s", kind);
		sendmsg_or_die(ipc_enc_summary(buf, sizeof(buf), 1700000000000ull, 1700000060000ull, 2,
					       "fake-model", "kind\tsteady\t2\nimportance\tlow\t2\n",
					       text, strlen(text)));
	}
	if (is("badloss")) {
		/* [version, 221, "Spool Full", 1, ""] */
		unsigned char bad[] = {0x95, IPC_PROTO_VERSION, 0xcc, IPC_LOSS, 0xaa, 'S', 'p', 'o',
				       'o', 'l', ' ', 'F', 'u', 'l', 'l', 0x01, 0xa0};
		send(FD, bad, sizeof(bad), MSG_NOSIGNAL);
	}
	if (is("stderr")) {
		static const char forged[] = "real\njibril[supervisor:1]: forged \x1b[2J x\0HIDDEN\n";
		char line[64];
		if (write(2, forged, sizeof(forged) - 1) < 0)
			exit(5);
		for (int i = 0; i < 200; i++) {
			int n = snprintf(line, sizeof(line), "flood %d\n", i);
			if (write(2, line, (size_t)n) < 0)
				exit(5);
		}
	}
	if (is("logforge"))
		sendmsg_or_die(ipc_enc_log(buf, sizeof(buf), IPC_LOG_WARN,
					   "said\njibril[supervisor:1]: forged"));
	if (is("fds")) {
		char text[4 * PATH_MAX + 64], t[4][PATH_MAX], path[32];
		static const int fds[4] = {0, 1, 2, 4};
		for (int i = 0; i < 4; i++) {
			ssize_t n;
			snprintf(path, sizeof(path), "/proc/self/fd/%d", fds[i]);
			n = readlink(path, t[i], sizeof(t[i]) - 1);
			t[i][n > 0 ? n : 0] = '\0';
		}
		snprintf(text, sizeof(text), "fds 0=%s 1=%s 2=%s 4=%s", t[0], t[1], t[2],
			 t[3][0] ? t[3] : "(none)");
		sendmsg_or_die(ipc_enc_log(buf, sizeof(buf), IPC_LOG_WARN, text));
	}
	if (is("logflood"))
		for (int i = 0; i < 200; i++) {
			char text[96];
			snprintf(text, sizeof(text), "burst %d \x1b[31mred\njibril[supervisor:1]: forged", i);
			sendmsg_or_die(ipc_enc_log(buf, sizeof(buf), IPC_LOG_WARN, text));
		}
	if (is("flood"))
		flood();
	if (is("hang")) {
		signal(SIGTERM, SIG_IGN);
		for (;;)
			pause();
	}
	for (int sent = 0;;) {
		uint64_t t = now_ms();

		if ((is("crash") && t - ready_at >= 60) || (is("crashslow") && t - ready_at >= 400))
			abort();
		if (t >= next_beat) {
			sendmsg_or_die(ipc_enc_heartbeat(buf, sizeof(buf), 0, 0));
			next_beat += period;
		}
		if (is("steady") && sent < usr1) {
			char json[128], key[32];
			snprintf(key, sizeof(key), "steady/%d", sent);
			snprintf(json, sizeof(json), "{" UUID ",\"kind\":\"steady\",\"mark\":\"steady-%d\"}",
				 sent);
			sendmsg_or_die(ipc_enc_detection(buf, sizeof(buf), "steady", key, json,
							 strlen(json), ""));
			sent++;
		}
		if (is("stall") && !usr1) {
			struct timespec ts = {0, 10 * 1000 * 1000};
			nanosleep(&ts, NULL); /* reads nothing: its socket fills up */
			continue;
		}
		if (recv_msg(10) && msg.type == IPC_PRINT)
			printed();
	}
}
