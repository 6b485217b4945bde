/*
 * cost.h - what an agent costs the host, from /proc: the CPU time and the
 * peak RSS of its process tree (the supervisor and its children), and the
 * figures gathered across sections into J.agent_cost.
 */
#ifndef BENCH_COST_H
#define BENCH_COST_H

#include <sys/types.h>

#include <jansson.h>

#include "bench/harness/bench.h"

/* utime + stime of root and its live children, in clock ticks */
unsigned long long tree_ticks(pid_t root);
/* [{pid, comm, vmhwm_kib, vmrss_kib, rss_shmem_kib, pss_kib}] of root and
 * its children; *sum is the sum of VmHWM, *pss (if not NULL) the sum of
 * the current PSS, which counts pages they share (the snapshot memfd) once */
json_t *tree_rss(pid_t root, long *sum, long *pss);

/* agent m used ticks over wall_s seconds of workload in a round of
 * section 1: kept for J.agent_cost; returns it in % of one core */
double cost_cpu_round(enum mode m, unsigned long long ticks, double wall_s);
/* procs (from tree_rss, taken over) is kept if its sum is agent m's
 * largest yet (M_JIBRIL or M_REF) */
void cost_keep_peak(enum mode m, json_t *procs, long sum, long pss);
/* J.agent_cost.jibril, created on first use */
json_t *cost_jibril(void);
/* J.agent_cost gets the CPU per round and the peaks, after the sections */
void cost_report(void);

#endif
