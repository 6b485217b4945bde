/*
 * default_agent.c - sections 2, 4 and 5 on one jibril with the given
 * configuration, in this order: 2. its CPU over an idle window; 5. the
 * distinct (process, file) pairs of a storm that fits its maps; 4. the
 * detection latency of `cat /etc/shadow` to its line in the file printer;
 * 5. a needle (one `cat /etc/shadow`) in a storm over 10x the files map;
 * 2. its RSS and the kernel memory of its maps, after all that.
 *
 * Invariants:
 *  - one instance for all of them, started after section 1's have ended,
 *    and measured after two cadences (its back-fill is done).
 *  - each latency trial starts at a uniformly random phase against the
 *    cadence, with a cat of its own (workloads.c's reader()); a trial's
 *    detection is the first file-printer line naming the cat's pid.
 *  - every wait for a detection is bounded (latency: 3 cadences + 2 s,
 *    needle: 2 cadences + 1.5 s); a miss is counted, not retried.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "bench/harness/agents.h"
#include "bench/harness/bench.h"
#include "bench/harness/bpfinfo.h"
#include "bench/harness/children.h"
#include "bench/harness/cost.h"
#include "bench/harness/pairs.h"
#include "bench/harness/report.h"
#include "bench/harness/stats.h"
#include "bench/harness/workloads.h"
#include "tests/lib/clock.h"
#include "tests/lib/tail.h"

void section_main(json_t *conf_texts)
{
	struct jib j;
	struct tl_tail ev;
	struct seen seen = {0};
	json_t *cost = json_object(), *lat = NULL, *needle = NULL, *pairs = NULL;
	char *conf_text = NULL;

	progress("2/4/5: starting jibril (default config)");
	if (jib_start(&j, 0, &conf_text) < 0) {
		error_("sections 2, 4, 5: jibril did not start");
		json_decref(cost);
		free(conf_text);
		return;
	}
	if (conf_text && !json_object_get(conf_texts, "default"))
		json_object_set_new(conf_texts, "default", json_string(conf_text));
	free(conf_text);
	tl_sleep_ms(2 * O.cadence_ms + 200);
	if (tl_tail_open(&ev, j.events) < 0) {
		error_("out of memory");
		jib_stop(&j);
		json_decref(cost);
		return;
	}

	if (want('2')) {
		unsigned long long t0, t1;
		uint64_t a, b;

		progress("2. agent cost: idle window %u s", O.idle_s);
		a = tl_now_ns();
		t0 = tree_ticks(j.pid);
		tl_sleep_ms(O.idle_s * 1000);
		t1 = tree_ticks(j.pid);
		b = tl_now_ns();
		json_object_set_new(cost, "idle",
				    json_pack("{s:f, s:o, s:I}", "window_s", (double)(b - a) / 1e9, "cpu_pct",
					      jnum((double)(t1 - t0) / (double)O.clk_tck /
						   ((double)(b - a) / 1e9) * 100.0),
					      "ticks", (json_int_t)(t1 - t0)));
	}
	if (want('5')) {
		pid_t sp = -1;

		progress("5. pairs: jibril, storm over %u files", O.pairs_files);
		if (storm(O.d_pairs, O.pairs_files, 0, 0, &sp, NULL, NULL, NULL) == 0) {
			char prefix[160];
			tl_sleep_ms(O.cadence_ms + 300);
			snprintf(prefix, sizeof(prefix), "%s/", O.d_pairs);
			pairs = jib_pairs(j.pid, sp, prefix);
			if (pairs)
				json_object_set_new(pairs, "storm_pid", json_integer(sp));
		}
	}
	if (want('4')) {
		double lat_ms[1024];
		int nd = 0, missed = 0;
		json_t *samples = json_array();

		seen.n = 0;
		progress("4. detection latency: %u trials", O.lat_trials);
		for (unsigned i = 0; i < O.lat_trials && i < 1024; i++) {
			char *argv[] = {"cat", "/etc/shadow", NULL};
			const char *rd = reader(i);
			uint64_t t0, deadline, seen_t;
			pid_t p;
			int st;

			tl_sleep_ms((unsigned)(rnd() % O.cadence_ms)); /* uniform phase against the cadence */
			t0 = tl_now_ns();
			p = child_spawn(rd, argv, -1, -1, 2);
			if (p < 0) {
				error_("fork: %s", strerror(errno));
				break;
			}
			st = child_wait(p, 5000);
			if (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
				error_("cat /etc/shadow failed (status 0x%x)", st);
				break;
			}
			deadline = t0 + (3ull * O.cadence_ms + 2000) * 1000000ull;
			if (seen_wait(&seen, p, deadline, jib_poll_reads, &ev, 2, &seen_t)) {
				lat_ms[nd] = (double)(seen_t - t0) / 1e6;
				json_array_append_new(samples, json_real(lat_ms[nd]));
				nd++;
			} else {
				missed++;
				json_array_append_new(samples, json_null());
			}
		}
		lat = json_pack("{s:I, s:I, s:I, s:I, s:o, s:o, s:o, s:o, s:o}", "trials",
				(json_int_t)O.lat_trials, "detected", (json_int_t)nd, "missed",
				(json_int_t)missed, "cadence_ms", (json_int_t)O.cadence_ms, "p50_ms",
				jnum(nd ? pct(lat_ms, nd, 50) : NAN), "p99_ms",
				jnum(nd ? pct(lat_ms, nd, 99) : NAN), "min_ms", jnum(nd ? vmin(lat_ms, nd) : NAN),
				"max_ms", jnum(nd ? vmax(lat_ms, nd) : NAN), "samples_ms", samples);
	}
	if (want('5')) {
		json_t *trials;
		int reported;

		seen.n = 0;
		progress("5. needle: jibril, %u storms over %u files", O.needle_trials, O.hay_files);
		trials = needle_trials(&seen, jib_poll_reads, &ev, 2 * O.cadence_ms + 1500, "reported",
				       &reported);
		if (trials)
			needle = json_pack("{s:I, s:I, s:o}", "reported", (json_int_t)reported, "trials",
					   (json_int_t)O.needle_trials, "detail", trials);
	}
	if (want('2')) {
		long sum, pss;
		json_t *rss = tree_rss(j.pid, &sum, &pss);

		json_object_set_new(cost, "rss_main_instance", json_pack("{s:o, s:I, s:I}", "processes", rss,
									 "sum_kib", (json_int_t)sum,
									 "pss_sum_kib", (json_int_t)pss));
		cost_keep_peak(M_JIBRIL, json_deep_copy(rss), sum, pss);
		json_object_set_new(cost, "maps", pid_maps(j.pid));
	}
	jib_stop(&j);
	tl_tail_close(&ev);
	seen_free(&seen);

	json_object_update(cost_jibril(), cost);
	json_decref(cost);
	if (lat)
		json_object_set_new(J, "latency", lat);
	else if (want('4'))
		error_("section 4 (latency) did not complete");
	if (want('5')) {
		json_t *N = report_needle(), *P = report_pairs();

		if (needle)
			json_object_set_new(N, "jibril", needle);
		else
			error_("section 5 (needle, jibril) did not complete");
		if (pairs) {
			json_object_set_new(pairs, "pct", json_real(100.0 * jd(pairs, "pairs") / O.pairs_files));
			json_object_set_new(P, "jibril", pairs);
		} else {
			error_("section 5 (pairs, jibril) did not complete");
		}
	}
}
