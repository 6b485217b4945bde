/*
 * children.h - every process the bench starts (agents, workloads, cats),
 * recorded so that any exit of the bench ends them and removes its temp
 * dirs.
 */
#ifndef BENCH_CHILDREN_H
#define BENCH_CHILDREN_H

#include <stddef.h>
#include <sys/types.h>

/* once, from main(): SIGINT/SIGTERM/SIGHUP end the run at its next wait,
 * SIGPIPE is ignored, and an exit of this process (not of a forked copy)
 * stops the recorded children and removes O.tmp and O.shm */
void children_init(void);
/* tl_spawn with fds in/out/err (-1: /dev/null), recorded; -1 if fork failed */
pid_t child_spawn(const char *path, char *const argv[], int in, int out, int err);
/* tl_wait_exit, then no longer recorded */
int child_wait(pid_t p, unsigned timeout_ms);
/* reaped by the caller itself: no longer recorded */
void child_forget(pid_t p);
/* runs argv (argv[0] the path), its stdout captured into out (cut to
 * outsz - 1 bytes); 0 when it exited 0, else -1 with an error in J */
int child_capture(char *const argv[], char *out, size_t outsz, unsigned timeout_ms,
		  pid_t *pid_out);

#endif
