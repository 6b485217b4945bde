/*
 * check_bench.c - smoke test of the benchmark harness: as root, run
 * `$JIBRIL_BENCH_DIR/bench --quick --sections 12345` against the real agent and kernel and
 * check that it exits 0 and that results.json has every section with
 * numbers in it.
 *
 * The bench's waits are counted in cadences (the first back-fill, the
 * workloads' last records, each query level, each detection trial), so it
 * is given $JIBRIL_SRC/jibril.conf with a 200 ms cadence (the agent
 * harness's) instead of the shipped 1 s: every section still runs and is
 * checked, in less time. `make bench` measures with the shipped config.
 *
 * Invariants:
 *  - asserts behaviour, never speed: the budget verdicts are not checked,
 *    only that each figure was measured (a number, not null).
 *  - the run is bounded: the bench is killed at 85 s (it takes ~45 s); it
 *    gets PR_SET_PDEATHSIG(SIGTERM) so a test killed by Check's timeout
 *    still makes it clean up its agents and temp files.
 *  - the reference agent's figures are required only when
 *    $JIBRIL_BENCH_DIR/refagent exists (the bench marks them n/a otherwise).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "tests/lib/conf.h"
#include "tests/lib/file.h"

#define BENCH_DEADLINE_S 85
#define SMOKE_CADENCE_MS 200

static char dir[64];

static const char *env_or(const char *name, const char *dflt)
{
	const char *v = getenv(name);
	return v && *v ? v : dflt;
}

static void rm_dir(void)
{
	char p[128];

	if (!dir[0])
		return;
	snprintf(p, sizeof(p), "%s/results.json", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/bench.out", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/jibril.conf", dir);
	unlink(p);
	rmdir(dir);
}

/* a number at "a.b.c" (arrays by index) */
static json_t *get(json_t *o, const char *path)
{
	char buf[256], *save = NULL, *tok;

	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, ".", &save); tok && o; tok = strtok_r(NULL, ".", &save))
		o = json_is_array(o) ? json_array_get(o, strtoul(tok, NULL, 10)) : json_object_get(o, tok);
	return o;
}

static void need_num(json_t *root, const char *path)
{
	json_t *v = get(root, path);
	ck_assert_msg(json_is_number(v), "results.json: %s is not a number (%s)", path,
		      v ? (json_is_null(v) ? "null" : "wrong type") : "missing");
}

START_TEST(test_quick_run)
{
	const char *bdir = env_or("JIBRIL_BENCH_DIR", "build/bench");
	const char *bin = env_or("JIBRIL_BIN", "build/jibril");
	const char *src = env_or("JIBRIL_SRC", ".");
	char bench[4096], conf[4096], out[128], log[128], ref[4096], smoke[128], *text;
	struct tl_conf_keys keys = {0};
	FILE *cf;
	char *argv[14];
	json_error_t jerr;
	json_t *root, *v;
	time_t t0 = time(NULL);
	int st = -1, have_ref;
	pid_t p, parent = getpid();

	snprintf(bench, sizeof(bench), "%s/bench", bdir);
	snprintf(ref, sizeof(ref), "%s/refagent", bdir);
	snprintf(conf, sizeof(conf), "%s/jibril.conf", src);
	ck_assert_msg(access(bench, X_OK) == 0, "no bench at %s (JIBRIL_BENCH_DIR)", bench);
	ck_assert_msg(access(bin, X_OK) == 0, "no agent at %s (JIBRIL_BIN)", bin);
	ck_assert_msg(access(conf, R_OK) == 0, "no %s (JIBRIL_SRC)", conf);
	have_ref = access(ref, X_OK) == 0;

	snprintf(dir, sizeof(dir), "/tmp/jbcheckbench.XXXXXX");
	ck_assert_msg(mkdtemp(dir) != NULL, "mkdtemp: %s", strerror(errno));
	snprintf(out, sizeof(out), "%s/results.json", dir);
	snprintf(log, sizeof(log), "%s/bench.out", dir);
	/* the shipped configuration with a shorter cadence (see the top) */
	snprintf(smoke, sizeof(smoke), "%s/jibril.conf", dir);
	text = tl_slurp(conf, NULL);
	ck_assert_msg(text != NULL, "cannot read %s", conf);
	tl_conf_set(&keys, "agent", "cadence_ms", "%u", SMOKE_CADENCE_MS);
	cf = fopen(smoke, "w");
	ck_assert_msg(cf != NULL, "%s: %s", smoke, strerror(errno));
	ck_assert_int_eq(fchmod(fileno(cf), 0600), 0);
	ck_assert_int_eq(tl_conf_write(cf, text, &keys), 0);
	ck_assert_int_eq(fclose(cf), 0);
	free(text);
	argv[0] = bench;
	argv[1] = "--quick";
	argv[2] = "--jibril";
	argv[3] = (char *)bin;
	argv[4] = "--conf";
	argv[5] = smoke;
	argv[6] = "--bin-dir";
	argv[7] = (char *)bdir;
	argv[8] = "--out";
	argv[9] = out;
	/* not section 6: real workloads take minutes (make bench-real) */
	argv[10] = "--sections";
	argv[11] = "12345";
	argv[12] = NULL;

	fflush(NULL);
	p = fork();
	ck_assert_int_ge(p, 0);
	if (p == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent || fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(127);
		execv(bench, argv);
		_exit(127);
	}
	while (time(NULL) - t0 < BENCH_DEADLINE_S) {
		pid_t r = waitpid(p, &st, WNOHANG);
		if (r == p)
			break;
		st = -1;
		usleep(100 * 1000);
	}
	if (st == -1) {
		kill(p, SIGTERM); /* it cleans up on SIGTERM */
		sleep(5);
		kill(p, SIGKILL);
		waitpid(p, NULL, 0);
		ck_abort_msg("bench --quick did not finish within %d s (output in %s)", BENCH_DEADLINE_S,
			     log);
	}
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		      "bench --quick ended with wait status 0x%x (output in %s)", st, log);

	root = json_load_file(out, 0, &jerr);
	ck_assert_msg(root != NULL, "%s: %s (line %d)", out, jerr.text, jerr.line);
	ck_assert_msg(json_is_true(json_object_get(root, "ok")), "results.json: ok is not true");
	ck_assert_int_eq(json_array_size(json_object_get(root, "errors")), 0);
	ck_assert_msg(json_is_string(get(root, "machine.kernel")), "no machine.kernel");
	ck_assert_msg(json_is_true(get(root, "run.quick")), "not a --quick run");
	ck_assert_msg(json_integer_value(get(root, "run.cadence_ms")) == SMOKE_CADENCE_MS,
		      "the bench did not run at the smoke cadence of %d ms", SMOKE_CADENCE_MS);
	need_num(root, "machine.cpus");

	/* 1. host overhead, every workload, every mode, raw rounds */
	{
		static const char *wl[] = {"open", "exec", "connect", "mixed"};
		char k[128];

		for (int i = 0; i < 4; i++) {
			snprintf(k, sizeof(k), "overhead.workloads.%s.none.median_ns", wl[i]);
			need_num(root, k);
			snprintf(k, sizeof(k), "overhead.workloads.%s.jibril.ratio_median", wl[i]);
			need_num(root, k);
			snprintf(k, sizeof(k), "overhead.workloads.%s.jibril.ratio_min", wl[i]);
			need_num(root, k);
			snprintf(k, sizeof(k), "overhead.workloads.%s.jibril.ratio_max", wl[i]);
			need_num(root, k);
			if (have_ref) {
				snprintf(k, sizeof(k), "overhead.workloads.%s.refagent.ratio_median", wl[i]);
				need_num(root, k);
				snprintf(k, sizeof(k), "overhead.workloads.%s.refagent_empty.ratio_median",
					 wl[i]);
				need_num(root, k);
			}
			snprintf(k, sizeof(k), "overhead.rounds.0.none.%s", wl[i]);
			need_num(root, k);
			if (have_ref) {
				snprintf(k, sizeof(k), "overhead.program_time.own.%s.pct_of_op", wl[i]);
				need_num(root, k);
			}
		}
		/* rounds plus the closing no-agent run, and each round's
		 * ratio taken against the no-agent runs either side of it */
		{
			size_t nr = json_array_size(get(root, "overhead.rounds"));
			double a, b, j, r;

			ck_assert_uint_ge(nr, 3);
			snprintf(k, sizeof(k), "overhead.rounds.%zu.closing_baseline", nr - 1);
			ck_assert_msg(json_is_true(get(root, k)), "no closing no-agent run");
			snprintf(k, sizeof(k), "overhead.rounds.%zu.jibril", nr - 1);
			ck_assert_msg(get(root, k) == NULL, "the closing run ran an agent");
			a = json_number_value(get(root, "overhead.rounds.0.none.open"));
			b = json_number_value(get(root, "overhead.rounds.1.none.open"));
			j = json_number_value(get(root, "overhead.rounds.0.jibril.open"));
			r = json_number_value(get(root, "overhead.workloads.open.jibril.ratios.0"));
			ck_assert_msg(a > 0 && b > 0 && fabs(r - j / ((a + b) / 2)) < 1e-9 * r,
				      "round 1's open ratio %.6f is not jibril %.1f over the mean of "
				      "%.1f and %.1f", r, j, a, b);
		}
	}
	/* program time: the programs counted are the agents' own (every open
	 * runs one openat program of each agent) and the statistics were on
	 * (their run time grew) */
	if (have_ref) {
		double jr = json_number_value(get(root, "overhead.program_time.jibril.open.runs_per_op"));
		double er = json_number_value(
			get(root, "overhead.program_time.refagent_empty.open.runs_per_op"));
		double jn = json_number_value(get(root, "overhead.program_time.jibril.open.ns_per_op"));
		double en = json_number_value(
			get(root, "overhead.program_time.refagent_empty.open.ns_per_op"));

		ck_assert_msg(jr >= 1.0 && er >= 1.0, "program runs per open: jibril %.2f, empty %.2f",
			      jr, er);
		ck_assert_msg(jn > 0 && en > 0, "program time per open: jibril %.1f ns, empty %.1f ns",
			      jn, en);
	}
	/* 2. agent cost */
	need_num(root, "agent_cost.jibril.cpu_pct_per_workload_s.median");
	need_num(root, "agent_cost.jibril.idle.cpu_pct");
	need_num(root, "agent_cost.jibril.rss.sum_kib");
	ck_assert_int_ge(json_array_size(get(root, "agent_cost.jibril.rss.processes")), 2);
	need_num(root, "agent_cost.jibril.maps.memlock_bytes");
	ck_assert_msg(json_number_value(get(root, "agent_cost.jibril.maps.memlock_bytes")) > 0,
		      "no map memory found");
	if (have_ref)
		need_num(root, "agent_cost.refagent.cpu_pct_per_workload_s.median");
	/* 3. query cost: every level, growth */
	v = get(root, "query_cost.levels");
	ck_assert_int_ge(json_array_size(v), 2);
	for (size_t i = 0; i < json_array_size(v); i++) {
		static const char *f[] = {"files", "links", "query_ms", "snapshot_ms", "handoff_ms",
					  "cadence_ms"};
		for (int k = 0; k < 6; k++)
			need_num(json_array_get(v, i), f[k]);
	}
	need_num(root, "query_cost.growth_per_10x.0.ratio_per_10x");
	/* 4. latency */
	need_num(root, "latency.p50_ms");
	need_num(root, "latency.p99_ms");
	need_num(root, "latency.detected");
	/* 5. needle and pairs */
	need_num(root, "needle.haystack_files");
	need_num(root, "needle.jibril.reported");
	need_num(root, "pairs.truth");
	need_num(root, "pairs.jibril.pairs");
	if (have_ref) {
		need_num(root, "needle.refagent.seen");
		need_num(root, "pairs.refagent.pairs");
	}
	/* what was found is behaviour, not speed: every latency trial and every
	 * needle detected (the haystack overflows the files map, so the
	 * snapshot's files come from the chunked scan of both files maps), and
	 * every (process, file) pair of the storm that fits in the maps */
	ck_assert_int_eq(json_number_value(get(root, "latency.detected")),
			 json_number_value(get(root, "latency.trials")));
	ck_assert_int_eq(json_number_value(get(root, "needle.jibril.reported")),
			 json_number_value(get(root, "needle.trials")));
	ck_assert_int_eq(json_number_value(get(root, "pairs.jibril.pairs")),
			 json_number_value(get(root, "pairs.truth")));
	/* budget: present, one verdict per line (not asserted: speed is not behaviour) */
	ck_assert_int_ge(json_array_size(json_object_get(root, "budget")), 8);
	json_decref(root);
	rm_dir();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("bench");
	TCase *tc = tcase_create("quick_run");
	SRunner *sr;
	int failed;

	if (geteuid() != 0) {
		printf("SKIP: check_bench: needs root (the bench loads BPF programs)\n");
		return 77;
	}
	tcase_set_timeout(tc, BENCH_DEADLINE_S + 10);
	tcase_add_test(tc, test_quick_run);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
