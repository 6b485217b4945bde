/*
 * progtime.c - section 1, second part: the time the agents' programs ran
 * per operation, from the kernel's run-time statistics (bpf_stats).
 * jibril's programs against empty ones on the same hooks, each in its own
 * untimed run: what jibril's code adds per operation, free of the timing
 * noise of the ratios. Written under overhead.program_time.
 *
 * Invariants:
 *  - runs only when section 1 completed and the reference agent exists:
 *    its shares are of section 1's no-agent medians.
 *  - the statistics are on only while the workloads run (the fd
 *    bpf_enable_stats returns is closed right after), and both agents are
 *    measured alike, so bpf_stats' own two clock reads per run cancel out.
 *  - every program run on the host during a workload counts, the agent's
 *    own cadence included.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bench/harness/agents.h"
#include "bench/harness/bench.h"
#include "bench/harness/bpfinfo.h"
#include "bench/harness/report.h"
#include "bench/harness/stats.h"
#include "bench/harness/workloads.h"
#include "tests/lib/clock.h"

/* One agent (M_JIBRIL or M_EMPTY) started afresh, every workload run once
 * with the kernel's run-time statistics on: the time its programs ran, per
 * operation. NULL when it could not be measured (said in "errors"). */
static json_t *program_time_of(enum mode m)
{
	const char *empty[] = {"--empty", NULL};
	json_t *X = NULL;
	struct jib j;
	struct ref rf;
	__u32 ids[512];
	pid_t pid;
	int n, sfd = -1, failed = 0;

	memset(&j, 0, sizeof(j));
	memset(&rf, 0, sizeof(rf));
	progress("1. program time (bpf_stats): %s", mode_label[m]);
	if (m == M_JIBRIL ? jib_start(&j, 0, NULL) < 0 : ref_start(&rf, empty) < 0) {
		error_("program time: %s did not start", mode_label[m]);
		return NULL;
	}
	tl_sleep_ms(m == M_JIBRIL ? O.cadence_ms + 200 : 200);
	pid = m == M_JIBRIL ? j.pid : rf.pid;
	n = pid_bpf_ids(pid, 1, ids, 512);
	sfd = n > 0 ? bpf_enable_stats(BPF_STATS_RUN_TIME) : -1;
	if (n <= 0)
		error_("program time: no BPF program found on %s's fds", mode_label[m]);
	else if (sfd < 0)
		error_("program time: bpf_enable_stats: %s", strerror(errno));
	else
		X = json_object();
	for (int w = 0; w < NWL && X && !failed; w++) {
		double ns0, ns1, r0, r1, op;

		prog_totals(ids, n, &ns0, &r0);
		failed = wl_run(w, &op) < 0;
		prog_totals(ids, n, &ns1, &r1);
		json_object_set_new(X, wl_name[w],
				    json_pack("{s:o, s:o}", "ns_per_op",
					      jnum((ns1 - ns0) / (double)O.iters[w]), "runs_per_op",
					      jnum((r1 - r0) / (double)O.iters[w])));
	}
	if (sfd >= 0)
		close(sfd);
	if (m == M_JIBRIL) {
		failed |= jib_stop(&j) < 0;
	} else {
		failed |= ref_stop(&rf) < 0;
		json_decref(rf.summary);
	}
	if (failed) {
		error_("program time: %s did not complete", mode_label[m]);
		json_decref(X);
		return NULL;
	}
	return X;
}

void section_program_time(void)
{
	json_t *S = jget(J, "overhead"), *P, *jb, *em, *own;

	if (!S || !jget(S, "workloads") || !O.have_ref)
		return; /* section 1 failed (said in "errors"), or no refagent */
	jb = program_time_of(M_JIBRIL);
	em = jb ? program_time_of(M_EMPTY) : NULL;
	if (!jb || !em) {
		json_decref(jb);
		return;
	}
	own = json_object();
	for (int w = 0; w < NWL; w++) {
		char k[64];
		double d;

		snprintf(k, sizeof(k), "%s.ns_per_op", wl_name[w]);
		d = jd(jb, k) - jd(em, k);
		snprintf(k, sizeof(k), "workloads.%s.none.median_ns", wl_name[w]);
		json_object_set_new(own, wl_name[w],
				    json_pack("{s:o, s:o}", "ns_per_op", jnum(d), "pct_of_op",
					      jnum(d / jd(S, k) * 100.0)));
	}
	P = json_pack("{s:s, s:o, s:o, s:o}", "method",
		      "kernel.bpf_stats (bpf_enable_stats) on during one untimed run of each workload "
		      "per agent, each agent started afresh; run_time_ns and run_cnt summed over the "
		      "programs the agent holds, per operation: every run on the host during the "
		      "workload counts, the agent's own activity (its cadence) included; own = jibril "
		      "- refagent --empty, and as a share of the median no-agent ns/op",
		      "jibril", jb, "refagent_empty", em, "own", own);
	json_object_set_new(S, "program_time", P);
}
