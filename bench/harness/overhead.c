/*
 * overhead.c - section 1, host overhead: ns/op of each workload with no
 * agent, jibril, the reference streaming agent and its floor (refagent
 * --empty: empty programs on the same hooks), interleaved A B C D per
 * round and a closing A; each round's ratios against the mean of the
 * no-agent runs either side of it; medians and min-max over the rounds.
 * Each agent's CPU per second of workload and peak RSS go to cost.c.
 *
 * Invariants:
 *  - one agent at a time: each is stopped before the next starts, and the
 *    no-agent run waits (bounded) until no BPF program is loaded; one that
 *    still is makes a note that the round may be disturbed.
 *  - jibril is measured after its first cadence (its back-fill) is done,
 *    and its CPU until one cadence after the last workload.
 *  - the figures are written only when every round completed; otherwise
 *    the raw rounds so far and an error.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench/harness/agents.h"
#include "bench/harness/bench.h"
#include "bench/harness/bpfinfo.h"
#include "bench/harness/cost.h"
#include "bench/harness/report.h"
#include "bench/harness/stats.h"
#include "bench/harness/workloads.h"
#include "tests/lib/clock.h"

/* ns/op per round, agent and workload; one more row than rounds: the
 * closing no-agent run */
static double ns_r[MAX_ROUNDS + 1][M_N][NWL];

static int modes_avail(enum mode m)
{
	return m == M_NONE || m == M_JIBRIL || O.have_ref;
}

void section_overhead(json_t *conf_texts)
{
	json_t *S = json_object(), *rounds = json_array(), *wls = json_object(), *modes = json_array();
	char *conf_text = NULL;
	int failed = 0;

	for (int m = 0; m < M_N; m++)
		if (modes_avail(m))
			json_array_append_new(modes, json_string(mode_name[m]));
	/* rounds A B C D ..., then a closing A: each round's ratios are taken
	 * against the mean of the no-agent runs on either side of it, so a
	 * slow drift of the machine (or one unlucky no-agent run) weighs on
	 * the agents of a round less, and alike wherever they sit in it */
	for (int r = 0; r <= O.rounds && !failed; r++) {
		json_t *R = json_pack("{s:i}", "round", (json_int_t)r + 1);

		if (r == O.rounds)
			json_object_set_new(R, "closing_baseline", json_true());
		for (int m = 0; m < (r < O.rounds ? M_N : M_NONE + 1) && !failed; m++) {
			struct jib j;
			struct ref rf;
			const char *empty[] = {"--empty", NULL};
			unsigned long long t0 = 0, t1;
			double wall = 0, cpu = NAN;
			json_t *M = json_object();

			memset(&j, 0, sizeof(j));
			memset(&rf, 0, sizeof(rf));
			if (!modes_avail(m))
				continue;
			if (r < O.rounds)
				progress("1. overhead: round %d/%d, %s", r + 1, O.rounds, mode_label[m]);
			else
				progress("1. overhead: closing %s run", mode_label[m]);
			if (m == M_JIBRIL) {
				if (jib_start(&j, 0, &conf_text) < 0) {
					failed = 1;
					break;
				}
				tl_sleep_ms(O.cadence_ms + 200); /* first cadence (back-fill) done */
				t0 = tree_ticks(j.pid);
			} else if (m == M_REF || m == M_EMPTY) {
				if (ref_start(&rf, m == M_EMPTY ? empty : NULL) < 0) {
					failed = 1;
					break;
				}
				tl_sleep_ms(200);
				t0 = tree_ticks(rf.pid);
			} else {
				json_object_set_new(M, "bpf_progs_loaded", bpf_wait_none(r + 1));
			}
			for (int w = 0; w < NWL && !failed; w++) {
				uint64_t a = tl_now_ns();
				if (wl_run(w, &ns_r[r][m][w]) < 0)
					failed = 1;
				wall += (double)(tl_now_ns() - a) / 1e9;
				json_object_set_new(M, wl_name[w], jnum(ns_r[r][m][w]));
			}
			if (m == M_JIBRIL) {
				long sum, pss;
				json_t *rss;

				/* what the workloads left is processed in the next cadence */
				tl_sleep_ms(O.cadence_ms + 300);
				t1 = tree_ticks(j.pid);
				cpu = cost_cpu_round(m, t1 - t0, wall);
				rss = tree_rss(j.pid, &sum, &pss);
				cost_keep_peak(M_JIBRIL, rss, sum, pss);
				if (jib_stop(&j) < 0)
					failed = 1;
			} else if (m == M_REF || m == M_EMPTY) {
				long sum;
				json_t *rss;

				tl_sleep_ms(300);
				t1 = tree_ticks(rf.pid);
				cpu = cost_cpu_round(m, t1 - t0, wall);
				rss = tree_rss(rf.pid, &sum, NULL);
				if (m == M_REF)
					cost_keep_peak(M_REF, rss, sum, -1);
				else
					json_decref(rss);
				if (ref_stop(&rf) < 0)
					failed = 1;
				else
					json_object_set(M, "summary", rf.summary);
				json_decref(rf.summary);
			}
			if (m != M_NONE)
				json_object_set_new(M, "agent_cpu_pct_per_workload_s", jnum(cpu));
			json_object_set_new(M, "workload_wall_s", json_real(wall));
			json_object_set_new(R, mode_name[m], M);
		}
		json_array_append_new(rounds, R);
	}
	if (conf_text) {
		json_object_set_new(conf_texts, "default", json_string(conf_text));
		free(conf_text);
	}
	if (failed) {
		error_("section 1 (host overhead) did not complete");
		json_object_set_new(S, "rounds", rounds);
		json_object_set_new(J, "overhead", S);
		json_decref(wls);
		json_decref(modes);
		return;
	}
	for (int w = 0; w < NWL; w++) {
		json_t *W = json_pack("{s:s, s:I}", "unit", w == 3 ? "ns per block (32 open, 4 connect, 1 exec)"
							       : "ns/op",
				      "iters", (json_int_t)O.iters[w]);
		for (int m = 0; m < M_N; m++) {
			double v[MAX_ROUNDS + 1], ratio[MAX_ROUNDS];
			int nv = m == M_NONE ? O.rounds + 1 : O.rounds;
			json_t *X;

			if (!modes_avail(m))
				continue;
			for (int r = 0; r < nv; r++)
				v[r] = ns_r[r][m][w];
			for (int r = 0; r < O.rounds; r++)
				ratio[r] = ns_r[r][m][w] /
					   ((ns_r[r][M_NONE][w] + ns_r[r + 1][M_NONE][w]) / 2);
			X = json_pack("{s:o, s:o, s:o}", "median_ns", jnum(median(v, nv)), "min_ns",
				      jnum(vmin(v, nv)), "max_ns", jnum(vmax(v, nv)));
			if (m != M_NONE) {
				double mr = median(ratio, O.rounds);
				json_object_set_new(X, "ratio_median", jnum(mr));
				json_object_set_new(X, "ratio_min", jnum(vmin(ratio, O.rounds)));
				json_object_set_new(X, "ratio_max", jnum(vmax(ratio, O.rounds)));
				json_object_set_new(X, "overhead_pct", jnum((mr - 1) * 100));
				json_object_set_new(X, "ratios", jarr(ratio, O.rounds));
			}
			json_object_set_new(W, mode_name[m], X);
		}
		json_object_set_new(wls, wl_name[w], W);
	}
	json_object_set_new(S, "method",
			    json_string("each round starts every agent in turn (A B C D), waits until it is "
					"ready (jibril: every child READY plus one cadence; refagent: READY), "
					"runs the four workloads as separate processes, then stops it; a "
					"closing no-agent run follows the last round; ratios are per round "
					"against the mean of the no-agent runs that open this round and the "
					"next one (or the closing run)"));
	json_object_set_new(S, "modes", modes);
	json_object_set_new(S, "workloads", wls);
	json_object_set_new(S, "rounds", rounds);
	json_object_set_new(J, "overhead", S);
}

