/*
 * agents.h - the two agents the bench measures, started with their output
 * in O.tmp and followed line by line: jibril (a temp copy of the given
 * configuration, its log parsed for readiness, restarts, loss and the
 * debug line of each cadence) and the reference streaming agent
 * (bench/refagent: READY, HIT and summary lines on its stdout).
 */
#ifndef BENCH_AGENTS_H
#define BENCH_AGENTS_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "tests/lib/tail.h"

/* pids an agent reported (a detection, a HIT line), with the monotonic
 * time we first read each */
struct seen {
	struct seen_pid {
		pid_t pid;
		uint64_t t;
	} *v;
	size_t n, cap;
};

void seen_add(struct seen *s, pid_t pid);
/* 1 if pid was reported (*t: when we read it, if t is not NULL) */
int seen_find(const struct seen *s, pid_t pid, uint64_t *t);
void seen_free(struct seen *s);
/* reads what an agent printed since the last call into s (arg: the agent
 * or its output) */
typedef void seen_poll_fn(void *arg, struct seen *s);
/* polls, step_ms apart, until pid is in s or the monotonic deadline (ns)
 * has passed; 1 if it is (*t: when it was read, if t is not NULL) */
int seen_wait(struct seen *s, pid_t pid, uint64_t deadline, seen_poll_fn *poll, void *arg,
	      unsigned step_ms, uint64_t *t);
/* a seen_poll_fn on jibril's events file (a struct tl_tail *): the pids of
 * its credentials_files_access detections (every trigger the bench runs
 * is a cat of /etc/shadow) */
void jib_poll_reads(void *events, struct seen *seen);
/* Section 5's needle, the same for both agents: O.needle_trials storms over
 * O.d_hay, each with the cat of its trial (storm()); a trial counts when
 * poll has put that cat's pid in hits within wait_ms of the storm's end.
 * The trials, {pid, <key>: counted, latency_ms (counted only), storm_ms}
 * each, and *counted; NULL when a storm did not run. */
json_t *needle_trials(struct seen *hits, seen_poll_fn *poll, void *arg, unsigned wait_ms,
		      const char *key, int *counted);

/* the supervisor's debug line of one cadence */
struct cad {
	unsigned long long seq;
	double query, snap, handoff;
	unsigned tasks, files, links, flows, sent_links;
};

#define JIB_MAX_READY 32 /* READY lines kept; also the most children looked for */

struct jib {
	pid_t pid;
	int reaped, status;
	char conf[PATH_MAX], log[PATH_MAX], events[PATH_MAX];
	struct tl_tail logt;
	int nkids; /* the children it said it started ("running" line); 0 before */
	struct {
		pid_t pid;
		char kind[16];
	} ready[JIB_MAX_READY]; /* its latest "-> READY" lines */
	int nready;
	unsigned restarts;
	struct cad *cads; /* every cadence line so far, in order */
	size_t ncad, capcad;
	char loss[512];
};

/* Writes this instance's config (query_cost: log_level debug, files and
 * links maps of at least QC_MIN_ENTRIES) and starts jibril; 0 once every
 * child is READY: the supervisor's children (by parent pid) are as many as
 * it said it started, and each, named by its comm "jb-KIND", has a READY
 * line of that kind and pid in the log. *conf_text, if NULL, gets the
 * config written (malloc'd). A failed start leaves nothing running, and
 * says why in J. */
int jib_start(struct jib *j, int query_cost, char **conf_text);
/* SIGTERM, a clean exit within 10 s; restarts and kernel loss become notes */
int jib_stop(struct jib *j);
int jib_alive(struct jib *j);
/* reads the new lines of its log */
void jib_poll(struct jib *j);
/* waits until the log shows n cadence lines with seq > after; 0 when it does */
int jib_wait_cadences(struct jib *j, unsigned long long after, unsigned n, unsigned timeout_ms);
unsigned long long jib_last_seq(struct jib *j);

struct ref {
	pid_t pid;
	int reaped, status, ready;
	char out[PATH_MAX], err[PATH_MAX];
	struct tl_tail t;
	struct seen hits; /* HIT lines (--watch) */
	json_t *summary;  /* its last JSON line: the one printed at exit */
};

/* bench/refagent --ring-kb O.ring_kb extra...; 0 once it printed READY */
int ref_start(struct ref *r, const char *const *extra);
/* any program that speaks the same lines (READY, a JSON summary at
 * SIGINT): bench/floor; argv[0] is its path */
int ref_start_argv(struct ref *r, char *const *argv);
/* reads the new lines of its stdout */
void ref_poll(struct ref *r);
/* SIGINT, then its JSON summary line (r->summary, the caller's to decref) */
int ref_stop(struct ref *r);

#endif
