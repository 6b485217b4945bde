/*
 * cost.c - see cost.h.
 *
 * Invariants:
 *  - the tree is the process and its direct children (jibril's children
 *    are direct), read afresh each time: a child restarted in between is
 *    counted as the new one.
 *  - the CPU of a round is kept only for rounds that measured it; the
 *    peaks only ever grow. This file alone writes them.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bench/harness/bench.h"
#include "bench/harness/cost.h"
#include "bench/harness/report.h"
#include "bench/harness/stats.h"
#include "tests/lib/procfs.h"

/* section 1's rounds, per agent, in the order they ran */
static struct {
	double pct[MAX_ROUNDS], ticks[MAX_ROUNDS], wall[MAX_ROUNDS];
	int n;
} cpu[M_N];

/* the largest VmHWM sum per agent, with its processes */
static struct {
	json_t *procs;
	long sum, pss;
} peak[M_N] = {[M_JIBRIL] = {NULL, -1, -1}, [M_REF] = {NULL, -1, -1}};

/* root and its live direct children */
static int tree_pids(pid_t root, pid_t *out, int max)
{
	out[0] = root;
	return 1 + tl_proc_children(root, out + 1, max - 1);
}

unsigned long long tree_ticks(pid_t root)
{
	pid_t p[64];
	int n = tree_pids(root, p, 64);
	unsigned long long sum = 0;

	for (int i = 0; i < n; i++) {
		struct tl_stat st;

		if (tl_proc_stat(p[i], &st) == 0)
			sum += st.ticks;
	}
	return sum;
}

json_t *tree_rss(pid_t root, long *sum, long *pss)
{
	pid_t p[64];
	int n = tree_pids(root, p, 64);
	json_t *a = json_array();

	*sum = 0;
	if (pss)
		*pss = 0;
	for (int i = 0; i < n; i++) {
		struct tl_stat st = {.comm = "?"};
		long hwm = tl_proc_kib(p[i], "status", "VmHWM:"), rss = tl_proc_kib(p[i], "status", "VmRSS:");
		long shm = tl_proc_kib(p[i], "status", "RssShmem:");
		long ps = tl_proc_kib(p[i], "smaps_rollup", "Pss:");

		tl_proc_stat(p[i], &st);
		if (hwm < 0)
			continue;
		*sum += hwm;
		if (pss && ps > 0)
			*pss += ps;
		json_array_append_new(a, json_pack("{s:i, s:s, s:i, s:i, s:i, s:i}", "pid", (json_int_t)p[i],
						   "comm", st.comm, "vmhwm_kib", (json_int_t)hwm, "vmrss_kib",
						   (json_int_t)rss, "rss_shmem_kib", (json_int_t)shm, "pss_kib",
						   (json_int_t)ps));
	}
	return a;
}

double cost_cpu_round(enum mode m, unsigned long long ticks, double wall_s)
{
	double share = (double)ticks / (double)O.clk_tck / wall_s * 100.0;

	if (cpu[m].n < MAX_ROUNDS) {
		cpu[m].pct[cpu[m].n] = share;
		cpu[m].ticks[cpu[m].n] = (double)ticks;
		cpu[m].wall[cpu[m].n] = wall_s;
		cpu[m].n++;
	}
	return share;
}

void cost_keep_peak(enum mode m, json_t *procs, long sum, long pss)
{
	if (sum <= peak[m].sum) {
		json_decref(procs);
		return;
	}
	json_decref(peak[m].procs);
	peak[m].procs = procs;
	peak[m].sum = sum;
	peak[m].pss = pss;
}

static json_t *cost_stats(enum mode m)
{
	const double *v = cpu[m].pct;
	double ticks = 0, wall = 0;
	int n = cpu[m].n;

	for (int r = 0; r < n; r++) {
		ticks += cpu[m].ticks[r];
		wall += cpu[m].wall[r];
	}
	/* all rounds together: less quantised by the 10 ms tick than any one round */
	return json_pack("{s:o, s:o, s:o, s:o, s:o}", "median", jnum(median(v, n)), "min",
			 jnum(vmin(v, n)), "max", jnum(vmax(v, n)), "all_rounds",
			 jnum(wall > 0 ? ticks / (double)O.clk_tck / wall * 100.0 : NAN), "rounds",
			 jarr(v, n));
}

json_t *cost_jibril(void)
{
	json_t *ac = json_object_get(J, "agent_cost"), *jc;

	if (!ac) {
		ac = json_object();
		json_object_set_new(J, "agent_cost", ac);
	}
	jc = json_object_get(ac, "jibril");
	if (!jc) {
		jc = json_object();
		json_object_set_new(ac, "jibril", jc);
	}
	return jc;
}

void cost_report(void)
{
	json_t *jc = cost_jibril(), *ac = json_object_get(J, "agent_cost");

	if (want('1'))
		json_object_set_new(jc, "cpu_pct_per_workload_s", cost_stats(M_JIBRIL));
	if (peak[M_JIBRIL].procs)
		json_object_set_new(jc, "rss", json_pack("{s:O, s:I, s:f, s:I, s:s}", "processes",
							 peak[M_JIBRIL].procs, "sum_kib",
							 (json_int_t)peak[M_JIBRIL].sum, "sum_mib",
							 peak[M_JIBRIL].sum / 1024.0, "pss_sum_kib",
							 (json_int_t)peak[M_JIBRIL].pss, "note",
							 "VmHWM of the default-config instance with the "
							 "largest sum; the sum counts shared pages (the "
							 "snapshot memfd) once per process, pss_sum_kib "
							 "(current PSS) counts them once"));
	if (want('1') && O.have_ref) {
		json_object_set_new(ac, "refagent",
				    json_pack("{s:o, s:{s:o, s:I}}", "cpu_pct_per_workload_s",
					      cost_stats(M_REF), "rss", "processes",
					      peak[M_REF].procs ? json_incref(peak[M_REF].procs)
								: json_null(),
					      "sum_kib", (json_int_t)peak[M_REF].sum));
		json_object_set_new(ac, "refagent_empty",
				    json_pack("{s:o}", "cpu_pct_per_workload_s", cost_stats(M_EMPTY)));
	}
	json_object_set_new(ac, "method",
			    json_string("utime+stime (/proc/PID/stat) of the supervisor and every "
					"process whose PPid is the supervisor; per second of workload "
					"wall time, measured from before the first workload to one "
					"cadence after the last; idle over a window with no workload"));
}
