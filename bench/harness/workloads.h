/*
 * workloads.h - the bench/workload commands the sections run, each as a
 * child process whose one key=value output line holds the figures.
 */
#ifndef BENCH_WORKLOADS_H
#define BENCH_WORKLOADS_H

#include <stdint.h>
#include <sys/types.h>

/* value of key in a "k=v k=v" line; NAN when absent */
double kv(const char *line, const char *key);
/* timed workload w (wl_name[w]) with O.iters[w]: its ns per op; 0 on success */
int wl_run(int w, double *ns);
/* n files in dir (created); 0 on success */
int wl_mkfiles(const char *dir, unsigned n);
/* one pass over files distinct files in dir; with needle, `cat /etc/shadow`
 * halfway through by the cat of trial 1000 + trial (reader()): its pid
 * and the monotonic time just before it was started; 0 on success */
int storm(const char *dir, unsigned files, int needle, unsigned trial, pid_t *spid, pid_t *npid,
	  uint64_t *nns, double *storm_ms);
/* the cat of trial i: a copy of /bin/cat of its own (see workloads.c) */
const char *reader(unsigned i);

#endif
