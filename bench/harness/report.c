/*
 * report.c - see report.h.
 *
 * Invariants:
 *  - the table is printed from J alone, after J is complete: what the
 *    table says and what results.json holds always agree.
 *  - a verdict is PASS or FAIL only on a measured (finite) value; a
 *    missing figure is "n/a", whatever its limit. Verdicts never change
 *    the exit status: benchmarks are not tests.
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "bench/harness/bench.h"
#include "bench/harness/report.h"
#include "bench/harness/stats.h"
#include "tests/lib/clock.h"

json_t *J, *J_errors, *J_notes;
static uint64_t t0;

void report_init(void)
{
	t0 = tl_now_ns();
	J = json_object();
	J_errors = json_array();
	J_notes = json_array();
}

void progress(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "[bench %6.1fs] ", (double)(tl_now_ns() - t0) / 1e9);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* one line of error_() or note(): on stderr and in list, the same words */
static void __attribute__((format(printf, 3, 0)))
record(json_t *list, const char *what, const char *fmt, va_list ap)
{
	char buf[1024];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	fprintf(stderr, "bench: %s: %s\n", what, buf);
	json_array_append_new(list, json_string(buf));
}

void error_(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	record(J_errors, "error", fmt, ap);
	va_end(ap);
}

void note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	record(J_notes, "note", fmt, ap);
	va_end(ap);
}

json_t *report_needle(void)
{
	json_t *N = json_object_get(J, "needle");

	if (!N) {
		N = json_pack("{s:I, s:I, s:I}", "haystack_files", (json_int_t)O.hay_files, "files_map",
			      (json_int_t)O.files, "trials", (json_int_t)O.needle_trials);
		json_object_set_new(J, "needle", N);
	}
	return N;
}

json_t *report_pairs(void)
{
	json_t *P = json_object_get(J, "pairs");

	if (!P) {
		P = json_pack("{s:I, s:I}", "truth", (json_int_t)O.pairs_files, "files",
			      (json_int_t)O.pairs_files);
		json_object_set_new(J, "pairs", P);
	}
	return P;
}

static void verdict(json_t *B, const char *item, double value, double limit, const char *unit,
		    int le, const char *notefmt, ...)
{
	char nb[512] = "";
	va_list ap;
	int pass = isfinite(value) && (le ? value <= limit : value >= limit);

	if (notefmt) {
		va_start(ap, notefmt);
		vsnprintf(nb, sizeof(nb), notefmt, ap);
		va_end(ap);
	}
	json_array_append_new(B, json_pack("{s:s, s:o, s:f, s:s, s:s, s:s, s:s}", "item", item, "value",
					   jnum(value), "limit", limit, "unit", unit, "op", le ? "<=" : ">=",
					   "verdict", isfinite(value) ? (pass ? "PASS" : "FAIL") : "n/a", "note",
					   nb));
}

void budget(void)
{
	json_t *B = json_array();
	static const double lim[3] = {10, 5, 5};
	char key[128];

	for (int w = 0; w < 3; w++) {
		char item[64];
		snprintf(item, sizeof(item), "%s overhead (median ratio - 1)", wl_name[w]);
		snprintf(key, sizeof(key), "overhead.workloads.%s.", wl_name[w]);
		{
			char kj[160], kf[160], kr[160];
			snprintf(kj, sizeof(kj), "%sjibril.overhead_pct", key);
			snprintf(kf, sizeof(kf), "%srefagent_empty.overhead_pct", key);
			snprintf(kr, sizeof(kr), "%srefagent.overhead_pct", key);
			/* the floor is what the same hooks cost with empty
			 * programs: above the budget, no agent on these
			 * hooks can meet it here; program time (bpf_stats)
			 * is jibril's own share without the timing noise */
			double fl = jd(J, kf);
			char ko[128], own[96] = "";

			snprintf(ko, sizeof(ko), "overhead.program_time.own.%s.pct_of_op", wl_name[w]);
			if (isfinite(jd(J, ko)))
				snprintf(own, sizeof(own), "; jibril's programs %.2f %% of the op (bpf_stats)",
					 jd(J, ko));
			verdict(B, item, jd(J, kj), lim[w], "%", 1,
				"floor (refagent --empty) %.1f %%%s, jibril %.1f points %s it%s; "
				"refagent %.1f %%",
				fl, isfinite(fl) && fl > lim[w] ? " (over the budget by itself)" : "",
				fabs(jd(J, kj) - fl), jd(J, kj) >= fl ? "above" : "below", own, jd(J, kr));
		}
	}
	verdict(B, "idle CPU (one core)", jd(J, "agent_cost.jibril.idle.cpu_pct"), 1, "%", 1,
		"over %.0f s", jd(J, "agent_cost.jibril.idle.window_s"));
	verdict(B, "agent RSS sum (VmHWM)", jd(J, "agent_cost.jibril.rss.sum_kib") / 1024.0, 64, "MiB", 1,
		"PSS sum %.1f MiB (shared pages once)", jd(J, "agent_cost.jibril.rss.pss_sum_kib") / 1024.0);
	{
		json_t *lv = jget(J, "query_cost.levels");
		size_t n = json_array_size(lv);
		char item[96];
		double worst = NAN;

		if (n) {
			json_t *last = json_array_get(lv, n - 1);
			snprintf(item, sizeof(item), "one cadence at %.0f entries (target %.0f)",
				 jd(last, "links"), jd(last, "target"));
			verdict(B, item, jd(last, "cadence_ms"), 50, "ms", 1,
				jd(last, "target") < 100000 ? "quick run: the 100k level was not measured" : NULL);
		} else {
			verdict(B, "one cadence at 100k entries", NAN, 50, "ms", 1, NULL);
		}
		lv = jget(J, "query_cost.growth_per_10x");
		for (size_t i = 0; i < json_array_size(lv); i++) {
			double r = jd(json_array_get(lv, i), "ratio_per_10x");
			if (!isfinite(worst) || r > worst)
				worst = r;
		}
		verdict(B, "cadence growth per 10x entries (linear = 10)", worst, 10, "x", 1, NULL);
	}
	verdict(B, "latency p99", jd(J, "latency.p99_ms"), O.cadence_ms + 500.0, "ms", 1,
		"%.0f of %.0f detected", jd(J, "latency.detected"), jd(J, "latency.trials"));
	verdict(B, "needle reported by jibril", jd(J, "needle.jibril.reported"), O.needle_trials, "trials",
		0, "refagent saw %.0f", jd(J, "needle.refagent.seen"));
	verdict(B, "distinct pairs captured by jibril", jd(J, "pairs.jibril.pct"), 100, "%", 0,
		"refagent %.1f %%", jd(J, "pairs.refagent.pct"));
	json_object_set_new(J, "budget", B);
}

static void fmt_ratio(char *b, size_t n, json_t *X)
{
	if (!X || !isfinite(jd(X, "ratio_median")))
		snprintf(b, n, "%s", "n/a");
	else
		snprintf(b, n, "%.3f [%.3f-%.3f]", jd(X, "ratio_median"), jd(X, "ratio_min"),
			 jd(X, "ratio_max"));
}

static const char *human_ns(char *b, size_t n, double ns)
{
	if (!isfinite(ns))
		snprintf(b, n, "n/a");
	else if (ns >= 1e6)
		snprintf(b, n, "%.2f ms", ns / 1e6);
	else if (ns >= 1e4)
		snprintf(b, n, "%.1f us", ns / 1e3);
	else
		snprintf(b, n, "%.0f ns", ns);
	return b;
}

void print_table(void)
{
	json_t *ov = jget(J, "overhead.workloads"), *B = jget(J, "budget");
	char b2[64], b3[64], b4[64];

	printf("jibril bench: %s; kernel %s, %lld CPUs, %s\n",
	       O.quick ? "QUICK run (tiny sizes)" : "full run",
	       json_string_value(jget(J, "machine.kernel")), json_integer_value(jget(J, "machine.cpus")),
	       json_string_value(jget(J, "machine.model")));
	printf("\n1. Host overhead: ns/op median [min-max] with no agent; ratio to no agent (the mean "
	       "of the no-agent runs either side), median [min-max] over %d interleaved rounds\n",
	       O.rounds);
	printf("   %-8s %-28s %-22s %-22s %-22s\n", "workload", "no agent", "jibril", "refagent",
	       "refagent --empty");
	for (int w = 0; w < NWL && ov; w++) {
		json_t *W = json_object_get(ov, wl_name[w]);
		char base[64], n1[32], n2[32], n3[32];

		snprintf(base, sizeof(base), "%s [%s-%s]", human_ns(n1, sizeof(n1), jd(W, "none.median_ns")),
			 human_ns(n2, sizeof(n2), jd(W, "none.min_ns")),
			 human_ns(n3, sizeof(n3), jd(W, "none.max_ns")));
		fmt_ratio(b2, sizeof(b2), jget(W, "jibril"));
		fmt_ratio(b3, sizeof(b3), jget(W, "refagent"));
		fmt_ratio(b4, sizeof(b4), jget(W, "refagent_empty"));
		printf("   %-8s %-28s %-22s %-22s %-22s\n", wl_name[w], base, b2, b3, b4);
	}
	if (!ov)
		printf("   (not measured)\n");
	if (ov)
		printf("   (mixed: one op = 32 open + 4 connect + 1 exec)\n");
	if (jget(J, "overhead.program_time")) {
		json_t *P = jget(J, "overhead.program_time");

		printf("   program time per op (bpf_stats, one untimed run each): jibril - empty programs "
		       "= jibril's own code\n");
		for (int w = 0; w < NWL; w++) {
			char k[96], n1[32], n2[32], n3[32];

			snprintf(k, sizeof(k), "jibril.%s.ns_per_op", wl_name[w]);
			human_ns(n1, sizeof(n1), jd(P, k));
			snprintf(k, sizeof(k), "refagent_empty.%s.ns_per_op", wl_name[w]);
			human_ns(n2, sizeof(n2), jd(P, k));
			snprintf(k, sizeof(k), "own.%s.ns_per_op", wl_name[w]);
			human_ns(n3, sizeof(n3), jd(P, k));
			snprintf(k, sizeof(k), "own.%s.pct_of_op", wl_name[w]);
			printf("   %-8s %s - %s = %s, %.2f %% of the op\n", wl_name[w], n1, n2, n3, jd(P, k));
		}
	}

	printf("\n2. Agent cost\n");
	printf("   CPU per second of workload (%% of one core; median [min-max] of rounds, all rounds): "
	       "jibril %.2f [%.2f-%.2f], %.2f",
	       jd(J, "agent_cost.jibril.cpu_pct_per_workload_s.median"),
	       jd(J, "agent_cost.jibril.cpu_pct_per_workload_s.min"),
	       jd(J, "agent_cost.jibril.cpu_pct_per_workload_s.max"),
	       jd(J, "agent_cost.jibril.cpu_pct_per_workload_s.all_rounds"));
	if (O.have_ref)
		printf("; refagent %.2f, refagent --empty %.2f",
		       jd(J, "agent_cost.refagent.cpu_pct_per_workload_s.all_rounds"),
		       jd(J, "agent_cost.refagent_empty.cpu_pct_per_workload_s.all_rounds"));
	printf("\n   idle CPU over %.0f s: %.3f %% of one core\n",
	       jd(J, "agent_cost.jibril.idle.window_s"), jd(J, "agent_cost.jibril.idle.cpu_pct"));
	{
		json_t *P = jget(J, "agent_cost.jibril.rss.processes");
		printf("   peak RSS (VmHWM):");
		for (size_t i = 0; i < json_array_size(P); i++) {
			json_t *p = json_array_get(P, i);
			printf(" %s %.1f", json_string_value(json_object_get(p, "comm")),
			       jd(p, "vmhwm_kib") / 1024.0);
		}
		printf("; sum %.1f MiB (PSS sum %.1f)", jd(J, "agent_cost.jibril.rss.sum_kib") / 1024.0,
		       jd(J, "agent_cost.jibril.rss.pss_sum_kib") / 1024.0);
		if (O.have_ref)
			printf(" (refagent %.1f MiB)", jd(J, "agent_cost.refagent.rss.sum_kib") / 1024.0);
		printf("\n");
		P = jget(J, "agent_cost.jibril.maps.list");
		printf("   map kernel memory (memlock): %.2f MiB:",
		       jd(J, "agent_cost.jibril.maps.memlock_bytes") / 1048576.0);
		for (size_t i = 0; i < json_array_size(P); i++) {
			json_t *p = json_array_get(P, i);
			if (jd(p, "memlock") >= 65536)
				printf(" %s %.1f", json_string_value(json_object_get(p, "name")),
				       jd(p, "memlock") / 1048576.0);
		}
		printf(" (MiB)\n");
	}

	printf("\n3. Query cost per cadence (ms, medians; hand-off counts from the start of the query)\n");
	{
		json_t *L = jget(J, "query_cost.levels");
		printf("   %-8s %-9s %-9s %-9s %-9s %-10s %-10s %-14s\n", "fill", "files", "links", "query",
		       "snapshot", "hand-off", "cadence", "1st after fill");
		for (size_t i = 0; i < json_array_size(L); i++) {
			json_t *l = json_array_get(L, i);
			printf("   %-8.0f %-9.0f %-9.0f %-9.3f %-9.3f %-10.3f %-10.3f %-14.3f\n", jd(l, "target"),
			       jd(l, "files"), jd(l, "links"), jd(l, "query_ms"), jd(l, "snapshot_ms"),
			       jd(l, "handoff_ms"), jd(l, "cadence_ms"), jd(l, "first_after_fill_ms"));
		}
		L = jget(J, "query_cost.growth_per_10x");
		printf("   growth per 10x:");
		for (size_t i = 0; i < json_array_size(L); i++) {
			json_t *g = json_array_get(L, i);
			printf(" %.0f->%.0f %.2fx", jd(g, "from"), jd(g, "to"), jd(g, "ratio_per_10x"));
		}
		printf("\n");
	}

	printf("\n4. Detection latency (cat /etc/shadow -> file printer line, cadence %u ms): "
	       "p50 %.0f ms, p99 %.0f ms, min %.0f, max %.0f; detected %.0f/%.0f\n",
	       O.cadence_ms, jd(J, "latency.p50_ms"), jd(J, "latency.p99_ms"), jd(J, "latency.min_ms"),
	       jd(J, "latency.max_ms"), jd(J, "latency.detected"), jd(J, "latency.trials"));

	printf("\n5. Needle in a haystack (%.0f distinct files per storm, files map %u):\n",
	       jd(J, "needle.haystack_files"), O.files);
	printf("   jibril reported %.0f/%.0f; refagent (ring %u KiB) saw %.0f/%.0f "
	       "(dropped %.0f records)\n",
	       jd(J, "needle.jibril.reported"), jd(J, "needle.trials"), O.ring_kb,
	       jd(J, "needle.refagent.seen"), jd(J, "needle.trials"), jd(J, "needle.refagent.dropped"));
	printf("   distinct (process, file) pairs, one storm over %.0f files: jibril %.0f (%.1f %%), "
	       "refagent %.0f (%.1f %%, dropped %.0f)\n",
	       jd(J, "pairs.truth"), jd(J, "pairs.jibril.pairs"), jd(J, "pairs.jibril.pct"),
	       jd(J, "pairs.refagent.pairs"), jd(J, "pairs.refagent.pct"),
	       jd(J, "pairs.refagent.dropped"));

	printf("\nBudget\n");
	for (size_t i = 0; i < json_array_size(B); i++) {
		json_t *v = json_array_get(B, i);
		const char *nt = json_string_value(json_object_get(v, "note"));
		printf("   %-4s %-50s %10.2f %-3s (%s %g)%s%s\n",
		       json_string_value(json_object_get(v, "verdict")),
		       json_string_value(json_object_get(v, "item")), jd(v, "value"),
		       json_string_value(json_object_get(v, "unit")),
		       json_string_value(json_object_get(v, "op")), jd(v, "limit"), nt && *nt ? "; " : "",
		       nt ? nt : "");
	}
	if (json_array_size(J_errors)) {
		printf("\nErrors\n");
		for (size_t i = 0; i < json_array_size(J_errors); i++)
			printf("   %s\n", json_string_value(json_array_get(J_errors, i)));
	}
	if (json_array_size(J_notes)) {
		printf("\nNotes\n");
		for (size_t i = 0; i < json_array_size(J_notes); i++)
			printf("   %s\n", json_string_value(json_array_get(J_notes, i)));
	}
	printf("\nduration %.0f s; figures and raw rounds in %s\n", jd(J, "run.duration_s"), O.out);
}
