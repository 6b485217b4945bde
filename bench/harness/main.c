/*
 * main.c - the benchmark harness behind `make bench`.
 *
 *   bench --jibril BIN --conf FILE --bin-dir DIR --out results.json
 *         [--quick] [--rounds N] [--sections 123456]
 *         [--real-modes jibril,floor,floor_nosys,floor_sockaddr,refagent,auditd]
 *         [--real-workloads build,files,web_close,web_keep,tests]
 *
 * Measures, on the real kernel, and prints one table (stdout) plus the same
 * figures in a JSON file (jansson):
 *   1. host overhead: ns/op of the workloads in bench/workload.c with no
 *      agent, jibril (the given config, every detection on, the file printer
 *      as the measured output), the reference streaming agent and its floor,
 *      interleaved; then the time the agents' programs ran per operation
 *      (bpf_stats), whose difference is jibril's own code;
 *   2. agent cost: CPU (utime+stime of the supervisor and its children) per
 *      second of workload and at idle, peak RSS (VmHWM), map kernel memory
 *      (memlock in the supervisor's map fdinfo);
 *   3. query cost: the supervisor's debug line per cadence, at 1k/10k/100k
 *      map entries;
 *   4. detection latency of `cat /etc/shadow` to its line in the file printer;
 *   5. a needle in a haystack (10x the files map), and distinct
 *      (process, file) pairs captured when the storm fits;
 * and a budget verdict per line (PASS/FAIL; the exit status does not depend
 * on it: benchmarks are not tests; it is 1 only when a measurement failed).
 * bench.h says which file does what.
 *
 * Invariants:
 *  - O is set here, before any section runs, and only read after that.
 *  - every loop is bounded in count and in time; every wait polls with a
 *    deadline; every child is recorded and ended at exit (children.c).
 *  - network traffic goes to 127.0.0.1 only (the workload's own listener).
 *  - the JSON is written even when a section fails, with the failure in
 *    "errors"; the table is printed from that JSON, so both always agree.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bench/harness/bench.h"
#include "bench/harness/children.h"
#include "bench/harness/cost.h"
#include "bench/harness/real.h"
#include "bench/harness/report.h"
#include "bench/harness/stats.h"
#include "bench/harness/workloads.h"
#include "tests/lib/clock.h"
#include "tests/lib/conf.h"
#include "tests/lib/file.h"

const char *const mode_name[M_N] = {"none", "jibril", "refagent", "refagent_empty"};
const char *const mode_label[M_N] = {"no agent", "jibril", "refagent", "refagent --empty"};
const char *const wl_name[NWL] = {"open", "exec", "connect", "mixed"};

struct opts O;

int want(char s)
{
	return strchr(O.sections, s) != NULL;
}

static void usage(void)
{
	fprintf(stderr, "usage: bench --jibril BIN --conf FILE --bin-dir DIR --out FILE [--quick] "
			"[--rounds N] [--sections 123456] [--real-modes M,M] [--real-workloads W,W]\n");
	exit(2);
}

/* the command line, and the sizes of a --quick or a full run */
static void options(int argc, char **argv)
{
	int rounds_opt = 0;

	O.sections = "123456";
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--quick")) {
			O.quick = 1;
			continue;
		}
		if (!v)
			usage();
		if (!strcmp(a, "--jibril")) O.jibril = v;
		else if (!strcmp(a, "--conf")) O.conf = v;
		else if (!strcmp(a, "--bin-dir")) O.bindir = v;
		else if (!strcmp(a, "--out")) O.out = v;
		else if (!strcmp(a, "--rounds")) rounds_opt = atoi(v);
		else if (!strcmp(a, "--sections")) O.sections = v;
		else if (!strcmp(a, "--real-modes")) O.real_modes = v;
		else if (!strcmp(a, "--real-workloads")) O.real_workloads = v;
		else usage();
		i++;
	}
	if (!O.jibril || !O.conf || !O.bindir || !O.out)
		usage();
	if (O.quick) {
		O.rounds = 2;
		O.rounds_real = 2;
		O.iters[0] = 20000, O.iters[1] = 60, O.iters[2] = 1500, O.iters[3] = 30;
		O.idle_s = 3, O.lat_trials = 5, O.needle_trials = 2, O.hay_mult = 2, O.pairs_files = 300;
		O.levels[0] = 1000, O.levels[1] = 10000, O.nlevels = 2, O.qc_cadences = 2;
	} else {
		O.rounds = 9;
		O.rounds_real = 9;
		/* each timed run lasts about 2 s, two default cadences: the
		 * agent's periodic query falls into every run in proportion,
		 * not into some runs and not others (0.6 s runs made connect
		 * and exec medians swing by several points between runs) */
		O.iters[0] = 1000000, O.iters[1] = 3000, O.iters[2] = 60000, O.iters[3] = 2000;
		O.idle_s = 60, O.lat_trials = 50, O.needle_trials = 20, O.hay_mult = 10, O.pairs_files = 2000;
		O.levels[0] = 1000, O.levels[1] = 10000, O.levels[2] = 100000, O.nlevels = 3;
		O.qc_cadences = 5;
	}
	if (rounds_opt > 0)
		O.rounds = O.rounds_real = rounds_opt < MAX_ROUNDS ? rounds_opt : MAX_ROUNDS;
	O.open_files = 64;
	O.ring_kb = 256;
}

static unsigned conf_u(const char *sec, const char *key, unsigned dflt)
{
	char v[64];

	return tl_conf_get(O.conf_text, sec, key, v, sizeof(v)) == 0 && v[0]
		       ? (unsigned)strtoul(v, NULL, 10)
		       : dflt;
}

/* our programs, the given config and what we read of it; 0 on success */
static int setup(void)
{
	O.clk_tck = sysconf(_SC_CLK_TCK);
	snprintf(O.workload, sizeof(O.workload), "%s/workload", O.bindir);
	snprintf(O.tiny, sizeof(O.tiny), "%s/tiny", O.bindir);
	snprintf(O.ref, sizeof(O.ref), "%s/refagent", O.bindir);
	if (access(O.workload, X_OK) < 0 || access(O.tiny, X_OK) < 0 || access(O.jibril, X_OK) < 0) {
		fprintf(stderr, "bench: missing %s, %s or %s\n", O.workload, O.tiny, O.jibril);
		return -1;
	}
	O.have_ref = access(O.ref, X_OK) == 0;
	O.conf_text = tl_slurp(O.conf, NULL);
	if (!O.conf_text) {
		fprintf(stderr, "bench: cannot read %s: %s\n", O.conf, strerror(errno));
		return -1;
	}
	O.cadence_ms = conf_u("agent", "cadence_ms", 1000);
	O.files = conf_u("maps", "files", 16384);
	O.links = conf_u("maps", "links", 32768);
	O.hay_files = O.hay_mult * O.files;
	if (O.hay_files < O.levels[O.nlevels - 1])
		O.hay_files = O.levels[O.nlevels - 1];
	return 0;
}

/* the temp dirs (removed at exit, children.c); 0 on success */
static int make_dirs(void)
{
	snprintf(O.tmp, sizeof(O.tmp), "/tmp/jbbench.XXXXXX");
	snprintf(O.shm, sizeof(O.shm), "/dev/shm/jbbench.XXXXXX");
	if (!mkdtemp(O.tmp)) {
		O.tmp[0] = '\0';
		fprintf(stderr, "bench: mkdtemp /tmp: %s\n", strerror(errno));
		return -1;
	}
	if (!mkdtemp(O.shm)) {
		O.shm[0] = '\0';
		fprintf(stderr, "bench: mkdtemp /dev/shm: %s\n", strerror(errno));
		return -1;
	}
	snprintf(O.d_open, sizeof(O.d_open), "%s/open", O.shm);
	snprintf(O.d_pairs, sizeof(O.d_pairs), "%s/pairs", O.shm);
	snprintf(O.d_hay, sizeof(O.d_hay), "%s/hay", O.shm);
	return 0;
}

static json_t *machine(void)
{
	struct utsname u;
	char *ci = tl_slurp("/proc/cpuinfo", NULL), model[256] = "?", *p;

	uname(&u);
	if (ci && (p = strstr(ci, "model name"))) {
		p = strchr(p, ':');
		if (p) {
			size_t k = strcspn(p + 2, "\n");
			snprintf(model, sizeof(model), "%.*s", (int)k, p + 2);
		}
	}
	free(ci);
	return json_pack("{s:s, s:i, s:s}", "kernel", u.release, "cpus",
			 (json_int_t)sysconf(_SC_NPROCESSORS_ONLN), "model", model);
}

/* J.run: the parameters of this run */
static json_t *run_params(time_t now)
{
	json_t *params, *lv = json_array();
	char started[64];

	strftime(started, sizeof(started), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	params = json_pack("{s:b, s:s, s:i, s:{s:I, s:I, s:I, s:I}, s:i, s:i, s:i, s:i, s:i, s:i, "
			   "s:i, s:i, s:i, s:s, s:b}",
			   "quick", O.quick, "started_utc", started, "rounds", (json_int_t)O.rounds,
			   "iters", "open", (json_int_t)O.iters[0], "exec", (json_int_t)O.iters[1], "connect",
			   (json_int_t)O.iters[2], "mixed", (json_int_t)O.iters[3], "open_files",
			   (json_int_t)O.open_files, "idle_s", (json_int_t)O.idle_s, "latency_trials",
			   (json_int_t)O.lat_trials, "needle_trials", (json_int_t)O.needle_trials,
			   "haystack_files", (json_int_t)O.hay_files, "pairs_files", (json_int_t)O.pairs_files,
			   "ring_kb", (json_int_t)O.ring_kb, "cadence_ms", (json_int_t)O.cadence_ms,
			   "cadences_per_level", (json_int_t)O.qc_cadences, "sections", O.sections,
			   "refagent_available", O.have_ref);
	for (unsigned i = 0; i < O.nlevels; i++)
		json_array_append_new(lv, json_integer(O.levels[i]));
	json_object_set_new(params, "fill_levels", lv);
	json_object_set_new(params, "tmpfs_dir", json_string(O.shm));
	json_object_set_new(params, "jibril", json_string(O.jibril));
	json_object_set_new(params, "conf", json_string(O.conf));
	return params;
}

int main(int argc, char **argv)
{
	json_t *conf_texts = json_object();
	uint64_t t_start = tl_now_ns();
	time_t now = time(NULL);

	setvbuf(stdout, NULL, _IOLBF, 0);
	report_init();
	options(argc, argv);
	if (geteuid() != 0) {
		fprintf(stderr, "bench: needs root (it loads BPF programs)\n");
		return 1;
	}
	rnd_seed((uint64_t)now * 0x2545f4914f6cdd1dull ^ (uint64_t)getpid());
	if (setup() < 0)
		return 1;
	children_init();
	if (make_dirs() < 0)
		return 1;

	json_object_set_new(J, "machine", machine());
	json_object_set_new(J, "run", run_params(now));
	json_object_set_new(J, "config", conf_texts);
	json_object_set_new(conf_texts, "given", json_string(O.conf_text));
	json_object_set_new(J, "errors", J_errors);
	json_object_set_new(J, "notes", J_notes);
	if (!O.have_ref)
		note("no reference agent at %s: its columns are n/a", O.ref);

	progress("creating file sets in %s (%u + %u + %u files)", O.shm, O.open_files, O.pairs_files,
		 O.hay_files);
	if (wl_mkfiles(O.d_open, O.open_files) < 0 || wl_mkfiles(O.d_pairs, O.pairs_files) < 0 ||
	    ((want('3') || want('5')) && wl_mkfiles(O.d_hay, O.hay_files) < 0)) {
		error_("cannot create the file sets");
	} else {
		if (want('1')) {
			section_overhead(conf_texts);
			section_program_time();
		}
		if (want('2') || want('4') || want('5'))
			section_main(conf_texts);
		if (want('5') && O.have_ref)
			section_ref();
		if (want('3'))
			section_query(conf_texts);
		if (want('6'))
			section_real();
	}

	cost_report();
	if (strspn(O.sections, "6") != strlen(O.sections))
		budget();
	json_object_set_new(J, "ok", json_boolean(json_array_size(J_errors) == 0));
	json_object_set_new(jget(J, "run"), "duration_s",
			    json_real((double)(tl_now_ns() - t_start) / 1e9));
	if (json_dump_file(J, O.out, JSON_INDENT(2)) < 0)
		fprintf(stderr, "bench: cannot write %s\n", O.out);
	if (strspn(O.sections, "6") != strlen(O.sections))
		print_table();
	if (want('6'))
		real_table();
	return json_array_size(J_errors) ? 1 : 0;
}
