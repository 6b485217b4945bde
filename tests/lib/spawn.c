/*
 * spawn.c - child processes for tests/ and bench/ (see spawn.h).
 *
 * Invariants:
 *  - a child never outlives the process that started it: PDEATHSIG is
 *    set, then the parent is checked again (it may have died before).
 *  - a child starts clean: signals the parent ignores or blocks (the
 *    bench ignores SIGPIPE and catches SIGINT) are back to their defaults,
 *    and fds 0-2 are the ones asked for, nothing else is open.
 *  - every wait has a deadline; a child still there at it is killed and
 *    reaped, never left as a zombie. 126: the child could not be set up,
 *    127: exec failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/lib/clock.h"
#include "tests/lib/spawn.h"

pid_t tl_spawn(const char *path, char *const argv[], const struct tl_io *io)
{
	static const struct tl_io none = {NULL, -1, -1, -1};
	pid_t parent = getpid(), pid;

	if (!io)
		io = &none;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		int nul = open("/dev/null", O_RDWR);
		sigset_t all;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(126);
		for (int sig = 1; sig < NSIG; sig++)
			signal(sig, SIG_DFL);
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		if (io->cwd && chdir(io->cwd) < 0)
			_exit(126);
		if (dup2(io->in >= 0 ? io->in : nul, 0) < 0 || dup2(io->out >= 0 ? io->out : nul, 1) < 0 ||
		    dup2(io->err >= 0 ? io->err : nul, 2) < 0)
			_exit(126);
		closefrom(3);
		execv(path, argv);
		_exit(127);
	}
	return pid;
}

int tl_wait_exit(pid_t pid, unsigned timeout_ms)
{
	uint64_t deadline = tl_now_ms() + timeout_ms;
	int st;

	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			return st;
		if (r < 0 && errno != EINTR)
			return -1;
		if (tl_now_ms() >= deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			return -1;
		}
		tl_sleep_ms(2);
	}
}

int tl_run(const char *path, char *const argv[], unsigned timeout_ms, pid_t *pid_out)
{
	pid_t pid = tl_spawn(path, argv, NULL);

	if (pid_out)
		*pid_out = pid;
	return pid < 0 ? -1 : tl_wait_exit(pid, timeout_ms);
}
