/*
 * children.c - see children.h.
 *
 * Invariants:
 *  - every child gets PR_SET_PDEATHSIG(SIGKILL) (tl_spawn) and is recorded
 *    until it is reaped; an exit of the bench, normal, on error or on a
 *    signal, SIGTERMs what is left (agents stop cleanly), SIGKILLs it after
 *    3 s, and removes the temp dirs.
 *  - signals only set a flag that the next wait acts on (tests/lib/clock),
 *    so the clean-up runs in ordinary code, never in a handler.
 *  - a forked copy of the bench that exits (a child between fork and exec)
 *    cleans nothing up: the clean-up belongs to the process that recorded.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/harness/bench.h"
#include "bench/harness/children.h"
#include "bench/harness/report.h"
#include "tests/lib/clock.h"
#include "tests/lib/file.h"
#include "tests/lib/spawn.h"

#define MAX_LIVE 32

static pid_t live[MAX_LIVE];
static pid_t main_pid;

static void live_add(pid_t p)
{
	for (int i = 0; i < MAX_LIVE; i++)
		if (live[i] <= 0) {
			live[i] = p;
			return;
		}
}

void child_forget(pid_t p)
{
	for (int i = 0; i < MAX_LIVE; i++)
		if (live[i] == p)
			live[i] = 0;
}

static void cleanup(void)
{
	int any = 0;

	if (getpid() != main_pid)
		return;
	for (int i = 0; i < MAX_LIVE; i++)
		if (live[i] > 0) {
			kill(live[i], SIGTERM);
			any = 1;
		}
	/* give agents a moment to stop cleanly, then insist */
	for (int k = 0; any && k < 300; k++) {
		any = 0;
		for (int i = 0; i < MAX_LIVE; i++) {
			if (live[i] <= 0)
				continue;
			if (waitpid(live[i], NULL, WNOHANG) == live[i] ||
			    (kill(live[i], 0) < 0 && errno == ESRCH))
				live[i] = 0;
			else
				any = 1;
		}
		if (any) {
			struct timespec ts = {0, 10000000};
			nanosleep(&ts, NULL);
		}
	}
	for (int i = 0; i < MAX_LIVE; i++)
		if (live[i] > 0) {
			kill(live[i], SIGKILL);
			waitpid(live[i], NULL, 0);
			live[i] = 0;
		}
	tl_rm_tree(O.shm, "/dev/shm/jbbench.");
	tl_rm_tree(O.tmp, "/tmp/jbbench.");
}

void children_init(void)
{
	main_pid = getpid();
	tl_exit_on_signals();
	signal(SIGPIPE, SIG_IGN);
	atexit(cleanup);
}

pid_t child_spawn(const char *path, char *const argv[], int in, int out, int err)
{
	struct tl_io io = {NULL, in, out, err};
	pid_t p = tl_spawn(path, argv, &io);

	if (p > 0)
		live_add(p);
	return p;
}

int child_wait(pid_t p, unsigned timeout_ms)
{
	int st = tl_wait_exit(p, timeout_ms);

	child_forget(p);
	return st;
}

int child_capture(char *const argv[], char *out, size_t outsz, unsigned timeout_ms,
		  pid_t *pid_out)
{
	int pfd[2], st;
	size_t n = 0;
	pid_t p;
	uint64_t deadline = tl_now_ns() + (uint64_t)timeout_ms * 1000000ull;

	out[0] = '\0';
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	p = child_spawn(argv[0], argv, -1, pfd[1], 2);
	close(pfd[1]);
	if (p < 0) {
		close(pfd[0]);
		return -1;
	}
	if (pid_out)
		*pid_out = p;
	for (;;) {
		struct pollfd pf = {pfd[0], POLLIN, 0};
		int r;

		if (tl_now_ns() > deadline) {
			kill(p, SIGKILL);
			break;
		}
		r = poll(&pf, 1, 50);
		tl_check_signals();
		if (r > 0) {
			char tmp[4096];
			ssize_t k = read(pfd[0], tmp, sizeof(tmp));
			if (k <= 0)
				break;
			if (n + (size_t)k < outsz) {
				memcpy(out + n, tmp, (size_t)k);
				n += (size_t)k;
				out[n] = '\0';
			}
		}
	}
	close(pfd[0]);
	st = child_wait(p, tl_now_ns() > deadline ? 1000 : 5000);
	if (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		error_("%s %s: %s (output: %.200s)", argv[0], argv[1] ? argv[1] : "",
		       st < 0 ? "timed out" : "failed", out);
		return -1;
	}
	return 0;
}
