/*
 * spawn.h - start programs as children that die with us, and wait for
 * them with a deadline.
 */
#ifndef TL_SPAWN_H
#define TL_SPAWN_H

#include <sys/types.h>

struct tl_io {
	const char *cwd;  /* NULL: inherit */
	int in, out, err; /* -1: /dev/null */
};

/* fork + exec path with argv and io (NULL: /dev/null for all three, same
 * cwd); the child gets PR_SET_PDEATHSIG(SIGKILL), default signal actions
 * and mask, and no other fd. The pid, or -1 when fork failed. */
pid_t tl_spawn(const char *path, char *const argv[], const struct tl_io *io);
/* its wait status, or -1 after SIGKILL (and reaping it) at the deadline */
int tl_wait_exit(pid_t pid, unsigned timeout_ms);
/* spawn with /dev/null for everything and wait: the wait status, -1 when
 * it could not start or did not end in time */
int tl_run(const char *path, char *const argv[], unsigned timeout_ms, pid_t *pid_out);

#endif
