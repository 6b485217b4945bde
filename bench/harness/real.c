/*
 * real.c - section 6, real workloads (`make bench-real` runs it alone):
 * programs nobody here wrote, timed whole, with no agent, jibril, the
 * floor of jibril's hooks (bench/floor.c: the same programs with empty
 * bodies), that floor without the syscall hooks, that floor with connect on
 * the cgroup sock_addr hooks instead of its syscall, the streaming reference
 * (bench/refagent) and auditd watching the same ground
 * (bench/real/auditd.sh). The workloads are bench/real/run.sh's: a C build
 * from clean, git and find/sha1sum over a source tree, nginx under ab with
 * and without keep-alive, and a fixed part of CPython's test suite.
 *
 * Each round runs every agent in turn, the workloads one after another
 * under it, starting one place further along the list each round (so no
 * agent, baseline included, always runs first or after the same one); a
 * closing no-agent run follows the last round; a round's ratios are taken
 * against the mean of the no-agent runs of that round and the next. During every workload, under every
 * agent alike, one hold-out trigger runs (a cat of its own reads
 * /etc/shadow); under jibril it must be reported, or the round says so.
 *
 * Invariants:
 *  - one agent at a time, each stopped (and, for auditd, the kernel's audit
 *    state put back) before the next starts; an auditd left running by a
 *    failed run is stopped at exit.
 *  - nothing leaves the host: nginx listens on 127.0.0.1 only; the sources
 *    are generated or copied from installed Debian packages (setup.sh).
 *  - a workload that fails, or runs past its bound, fails the section: a
 *    failed run is not a timing. Figures are written only when every round
 *    completed; otherwise the raw rounds so far and an error.
 */
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/harness/agents.h"
#include "bench/harness/bench.h"
#include "bench/harness/bpfinfo.h"
#include "bench/harness/children.h"
#include "bench/harness/cost.h"
#include "bench/harness/real.h"
#include "bench/harness/report.h"
#include "bench/harness/stats.h"
#include "bench/harness/workloads.h"
#include "tests/lib/clock.h"
#include "tests/lib/procfs.h"
#include "tests/lib/tail.h"

enum rmode { RM_NONE, RM_JIBRIL, RM_FLOOR, RM_NOSYS, RM_SOCKADDR, RM_REF, RM_AUDITD, RM_N };
static const char *const rm_name[RM_N] = {"none",	"jibril",	  "floor",    "floor_nosys",
					  "floor_sockaddr", "refagent", "auditd"};
static const char *const rm_label[RM_N] = {"no agent",	"jibril",   "floor", "floor -sys",
					   "floor sock_addr", "refagent", "auditd"};
#define NRW 5
static const char *const rw_name[NRW] = {"build", "files", "web_close", "web_keep", "tests"};
/* bound of one run: far above any on this kind of machine */
#define RUN_BOUND_MS 600000u

static struct {
	char dir[PATH_MAX], setup[PATH_MAX], run[PATH_MAX], auditd[PATH_MAX], floor[PATH_MAX],
		floor_obj[PATH_MAX];
	char port[16];
	int avail[RM_N];
	pid_t nginx;
	int auditd_on;
	/* per round (one more: the closing no-agent run), agent, workload */
	double t[MAX_ROUNDS + 1][RM_N][NRW];
	double cpu[MAX_ROUNDS][RM_N][NRW], rss[MAX_ROUNDS][RM_N][NRW];
	int trig_sent, trig_seen;
	int wl_on[NRW]; /* asked for (--real-workloads) */
} R;

/* name is an item of the comma-separated list */
static int in_list(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = list; (p = strstr(p, name)); p += n)
		if ((p == list || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
			return 1;
	return 0;
}

/* the round being run, for notes */
static int R_round;

/* an agent of this section, whichever kind */
struct agent {
	enum rmode m;
	struct jib j;
	struct ref r;
	struct tl_tail ev;
	struct seen hits;
	pid_t pid, kauditd;
};

static void auditd_cleanup(void)
{
	static pid_t owner;

	if (!owner) {
		owner = getpid();
		return;
	}
	if (R.auditd_on && getpid() == owner) {
		char *argv[] = {"/bin/sh", R.auditd, "stop", R.dir, NULL};
		char out[64];
		R.auditd_on = 0;
		child_capture(argv, out, sizeof(out), 20000, NULL);
	}
}

static int free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = -1;

	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

/* nginx is up when a connection to its port is accepted */
static int port_open(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				.sin_port = htons((uint16_t)atoi(R.port))};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), ok;

	ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

/* the workloads' files and nginx; 0 on success */
static int real_setup(void)
{
	char *argv[] = {"/bin/sh", R.setup, R.dir, R.port, NULL};
	char out[512], conf[PATH_MAX + 16], *nargv[] = {"/usr/sbin/nginx", "-c", conf, "-g",
							 "daemon off;", NULL};
	const char *src = getenv("JIBRIL_SRC") ?: ".";
	int port = free_port();
	uint64_t deadline;

	snprintf(R.dir, sizeof(R.dir), "%s/real", O.tmp);
	snprintf(R.setup, sizeof(R.setup), "%s/bench/real/setup.sh", src);
	snprintf(R.run, sizeof(R.run), "%s/bench/real/run.sh", src);
	snprintf(R.auditd, sizeof(R.auditd), "%s/bench/real/auditd.sh", src);
	snprintf(R.floor, sizeof(R.floor), "%s/floor", O.bindir);
	snprintf(R.floor_obj, sizeof(R.floor_obj), "%s/floor.bpf.o", O.bindir);
	if (port <= 0) {
		error_("6. real workloads: no free loopback port");
		return -1;
	}
	snprintf(R.port, sizeof(R.port), "%d", port);
	if (access(R.setup, R_OK) < 0) {
		error_("6. real workloads: %s is missing (run from the source tree or set JIBRIL_SRC)",
		       R.setup);
		return -1;
	}
	progress("6. real workloads: preparing %s (a generated C project, a copy of /usr/include "
		 "in git, nginx on 127.0.0.1:%s)", R.dir, R.port);
	if (child_capture(argv, out, sizeof(out), 300000, NULL) < 0) {
		error_("6. real workloads: setup.sh failed (its stderr is the bench's)");
		return -1;
	}
	snprintf(conf, sizeof(conf), "%s/www/nginx.conf", R.dir);
	R.nginx = child_spawn(nargv[0], nargv, -1, -1, -1);
	deadline = tl_now_ns() + 10000ull * 1000000ull;
	while (R.nginx > 0 && !port_open() && tl_now_ns() < deadline)
		tl_sleep_ms(20);
	if (R.nginx <= 0 || !port_open()) {
		error_("6. real workloads: nginx did not listen on 127.0.0.1:%s within 10 s", R.port);
		return -1;
	}
	R.avail[RM_NONE] = R.avail[RM_JIBRIL] = 1;
	R.avail[RM_FLOOR] = R.avail[RM_NOSYS] = R.avail[RM_SOCKADDR] =
		access(R.floor, X_OK) == 0 && access(R.floor_obj, R_OK) == 0;
	R.avail[RM_REF] = O.have_ref;
	R.avail[RM_AUDITD] = access("/usr/sbin/auditd", X_OK) == 0 &&
			     access("/usr/sbin/auditctl", X_OK) == 0 && access("/proc/self/loginuid", F_OK) == 0;
	for (int w = 0; w < NRW; w++)
		R.wl_on[w] = !O.real_workloads || in_list(O.real_workloads, rw_name[w]);
	if (R.avail[RM_AUDITD]) {
		char *sargv[] = {"/usr/sbin/auditctl", "-s", NULL}, st[1024], *pid;
		if (child_capture(sargv, st, sizeof(st), 10000, NULL) == 0 && (pid = strstr(st, "\npid ")) &&
		    atoi(pid + 5) > 0) {
			error_("6. real workloads: an auditd (pid %d) is already running: stop it "
			       "(systemctl stop auditd) so that the no-agent runs have no agent",
			       atoi(pid + 5));
			return -1;
		}
	}
	if (!R.avail[RM_FLOOR])
		note("6. no floor program at %s: its columns are n/a", R.floor);
	if (!R.avail[RM_AUDITD])
		note("6. auditd is not installed (or this kernel has no audit): its column is n/a");
	for (int m = 1; m < RM_N; m++) /* --real-modes */
		if (O.real_modes && !in_list(O.real_modes, rm_name[m]))
			R.avail[m] = 0;
	auditd_cleanup(); /* records the owner */
	atexit(auditd_cleanup);
	return 0;
}

/* the kernel thread that hands audit records to auditd (a child of
 * kthreadd): its CPU is part of auditd's cost */
static pid_t kauditd_pid(void)
{
	struct tl_child k[512];
	int n = tl_proc_children_stat(2, k, 512);

	for (int i = 0; i < n; i++)
		if (!strcmp(k[i].st.comm, "kauditd"))
			return k[i].pid;
	return 0;
}

static int agent_start(struct agent *a, enum rmode m)
{
	memset(a, 0, sizeof(*a));
	a->m = m;
	switch (m) {
	case RM_NONE:
		json_decref(bpf_wait_none(R_round + 1)); /* 0: the warm-up */
		return 0;
	case RM_JIBRIL:
		if (jib_start(&a->j, 0, NULL) < 0)
			return -1;
		a->pid = a->j.pid;
		if (tl_tail_open(&a->ev, a->j.events) < 0) {
			error_("6. out of memory");
			jib_stop(&a->j); /* nothing left running */
			return -1;
		}
		tl_sleep_ms(O.cadence_ms + 200); /* first cadence (back-fill) done */
		return 0;
	case RM_FLOOR:
	case RM_NOSYS:
	case RM_SOCKADDR: {
		char *argv[] = {R.floor, R.floor_obj,
				m == RM_NOSYS ? "--nosys" : m == RM_SOCKADDR ? "--sock-addr" : NULL, NULL};
		if (ref_start_argv(&a->r, argv) < 0)
			return -1;
		a->pid = a->r.pid;
		return 0;
	}
	case RM_REF:
		if (ref_start(&a->r, NULL) < 0)
			return -1;
		a->pid = a->r.pid;
		return 0;
	case RM_AUDITD: {
		char *argv[] = {"/bin/sh", R.auditd, "start", R.dir, NULL};
		char out[64];
		R.auditd_on = 1;
		if (child_capture(argv, out, sizeof(out), 30000, NULL) < 0)
			return -1;
		a->pid = (pid_t)atoi(out);
		a->kauditd = kauditd_pid();
		return a->pid > 0 ? 0 : -1;
	}
	default:
		return -1;
	}
}

static int agent_stop(struct agent *a)
{
	int rc = 0;

	switch (a->m) {
	case RM_JIBRIL:
		tl_tail_close(&a->ev);
		seen_free(&a->hits);
		return jib_stop(&a->j);
	case RM_FLOOR:
	case RM_NOSYS:
	case RM_SOCKADDR:
	case RM_REF:
		rc = ref_stop(&a->r);
		json_decref(a->r.summary);
		return rc;
	case RM_AUDITD: {
		char *argv[] = {"/bin/sh", R.auditd, "stop", R.dir, NULL};
		char out[64];
		R.auditd_on = 0;
		return child_capture(argv, out, sizeof(out), 30000, NULL);
	}
	default:
		return 0;
	}
}

static unsigned long long agent_ticks(const struct agent *a)
{
	unsigned long long t = a->pid > 0 ? tree_ticks(a->pid) : 0;
	struct tl_stat st;

	if (a->kauditd > 0 && tl_proc_stat(a->kauditd, &st) == 0)
		t += st.ticks;
	return t;
}

/* the agent's resident memory now: the sum of VmRSS over its tree, MiB */
static double agent_rss(const struct agent *a)
{
	long sum;
	json_t *procs;
	double kib = 0;

	if (a->pid <= 0)
		return NAN;
	procs = tree_rss(a->pid, &sum, NULL);
	for (size_t i = 0; i < json_array_size(procs); i++)
		kib += jd(json_array_get(procs, i), "vmrss_kib");
	json_decref(procs);
	return kib / 1024.0;
}

/* one timed run of workload w under agent a; its hold-out trigger's pid in
 * *trig; 0 on success */
static int run_one(struct agent *a, int r, int w, pid_t *trig)
{
	char *argv[] = {"/bin/sh", R.run, R.dir, R.port, (char *)rw_name[w], NULL};
	char *cargv[] = {NULL, "/etc/shadow", NULL};
	unsigned long long k0 = agent_ticks(a), k1;
	uint64_t t0 = tl_now_ns(), t1;
	pid_t p = child_spawn(argv[0], argv, -1, -1, 2), c;
	int st;

	*trig = 0;
	if (p < 0)
		return -1;
	/* the trigger, one second into the run (every workload lasts longer) */
	tl_sleep_ms(1000);
	cargv[0] = (char *)reader(3000 + (unsigned)(r * NRW + w));
	c = child_spawn(cargv[0], cargv, -1, -1, -1);
	if (c > 0) {
		*trig = c;
		child_wait(c, 10000);
	}
	st = child_wait(p, RUN_BOUND_MS);
	t1 = tl_now_ns();
	k1 = agent_ticks(a);
	if (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		error_("6. %s under %s, round %d: the workload failed (status 0x%x)", rw_name[w],
		       rm_name[a->m], r + 1, st);
		return -1;
	}
	R.t[r][a->m][w] = (double)(t1 - t0) / 1e9;
	if (a->m != RM_NONE && r < O.rounds_real) {
		R.cpu[r][a->m][w] = 100.0 * (double)(k1 - k0) / (double)O.clk_tck / R.t[r][a->m][w];
		R.rss[r][a->m][w] = agent_rss(a);
	}
	return 0;
}

/* every workload under agent m in round r; 0 on success */
static int run_mode(int r, enum rmode m, json_t *R_json)
{
	struct agent a;
	pid_t trig[NRW];
	json_t *M = json_object();
	int failed = 0;

	if (R_round < 0)
		progress("6. real workloads: warm-up, untimed");
	else if (r < O.rounds_real)
		progress("6. real workloads: round %d/%d, %s", r + 1, O.rounds_real, rm_name[m]);
	else
		progress("6. real workloads: closing no-agent run");
	if (agent_start(&a, m) < 0) {
		error_("6. %s did not start (round %d)", rm_name[m], r + 1);
		if (m == RM_AUDITD)
			agent_stop(&a);
		json_decref(M);
		return -1;
	}
	for (int w = 0; w < NRW && !failed; w++) {
		trig[w] = 0;
		if (!R.wl_on[w])
			continue;
		if (run_one(&a, r, w, &trig[w]) < 0)
			failed = 1;
		else
			json_object_set_new(M, rw_name[w],
					    json_pack("{s:o, s:o, s:o}", "s", jnum(R.t[r][m][w]),
						      "agent_cpu_pct", jnum(m && r < O.rounds_real
									    ? R.cpu[r][m][w] : NAN),
						      "agent_rss_mib", jnum(m && r < O.rounds_real
									    ? R.rss[r][m][w] : NAN)));
	}
	if (!failed && m == RM_JIBRIL) {
		/* every trigger of the round must be reported: within two
		 * cadences and 2 s of the last workload's end */
		uint64_t deadline = tl_now_ns() + (2ull * O.cadence_ms + 2000ull) * 1000000ull;
		json_t *missed = json_array();
		for (int w = 0; w < NRW; w++) {
			if (trig[w] <= 0)
				continue;
			R.trig_sent++;
			if (seen_wait(&a.hits, trig[w], deadline, jib_poll_reads, &a.ev, 50, NULL))
				R.trig_seen++;
			else
				json_array_append_new(missed, json_string(rw_name[w]));
		}
		if (json_array_size(missed))
			note("6. round %d: jibril did not report the hold-out trigger of %zu workload(s)",
			     r + 1, json_array_size(missed));
		json_object_set_new(M, "triggers_missed", missed);
	}
	if (agent_stop(&a) < 0)
		failed = 1;
	json_object_set_new(R_json, rm_name[m], M);
	return failed ? -1 : 0;
}

/* Program time (bpf_stats) of agent m (jibril or the floor) over one
 * untimed run of each workload: {workload: {ms, runs}}; NULL on failure.
 * Unlike the timed ratios it hardly moves from run to run, and jibril's
 * minus the floor's is what jibril's own code costs the kernel. */
static json_t *program_time(enum rmode m)
{
	struct agent a;
	__u32 ids[512];
	int n, sfd, failed = 0;
	json_t *X = json_object();

	progress("6. program time (bpf_stats): %s", rm_name[m]);
	if (agent_start(&a, m) < 0) {
		json_decref(X);
		return NULL;
	}
	n = pid_bpf_ids(a.pid, 1, ids, 512);
	sfd = n > 0 ? bpf_enable_stats(BPF_STATS_RUN_TIME) : -1;
	if (n <= 0 || sfd < 0) {
		error_("6. program time: %s", n <= 0 ? "no BPF program on the agent's fds"
						    : "bpf_enable_stats failed");
		failed = 1;
	}
	for (int w = 0; w < NRW && !failed; w++) {
		double ns0, ns1, r0, r1;
		pid_t trig;

		if (!R.wl_on[w])
			continue;
		prog_totals(ids, n, &ns0, &r0);
		failed = run_one(&a, O.rounds_real, w, &trig) < 0;
		prog_totals(ids, n, &ns1, &r1);
		json_object_set_new(X, rw_name[w],
				    json_pack("{s:o, s:o, s:o}", "ms", jnum((ns1 - ns0) / 1e6), "runs",
					      jnum(r1 - r0), "run_s", jnum(R.t[O.rounds_real][m][w])));
	}
	if (sfd >= 0)
		close(sfd);
	if (agent_stop(&a) < 0)
		failed = 1;
	if (failed) {
		json_decref(X);
		return NULL;
	}
	return X;
}

static json_t *summarise(void)
{
	json_t *W = json_object();
	int n = O.rounds_real;

	for (int w = 0; w < NRW; w++) {
		json_t *X = json_object();
		if (!R.wl_on[w]) {
			json_decref(X);
			continue;
		}
		for (int m = 0; m < RM_N; m++) {
			double v[MAX_ROUNDS + 1], ratio[MAX_ROUNDS], even[MAX_ROUNDS], odd[MAX_ROUNDS],
				cpu[MAX_ROUNDS], rss[MAX_ROUNDS];
			int ne = 0, no = 0, nv = m == RM_NONE ? n + 1 : n;
			json_t *A;

			if (!R.avail[m])
				continue;
			for (int r = 0; r < nv; r++)
				v[r] = R.t[r][m][w];
			A = json_pack("{s:o, s:o, s:o}", "median_s", jnum(median(v, nv)), "min_s",
				      jnum(vmin(v, nv)), "max_s", jnum(vmax(v, nv)));
			if (m != RM_NONE) {
				for (int r = 0; r < n; r++) {
					ratio[r] = R.t[r][m][w] / ((R.t[r][RM_NONE][w] + R.t[r + 1][RM_NONE][w]) / 2);
					if (r % 2)
						odd[no++] = ratio[r];
					else
						even[ne++] = ratio[r];
					cpu[r] = R.cpu[r][m][w];
					rss[r] = R.rss[r][m][w];
				}
				json_object_set_new(A, "ratio_median", jnum(median(ratio, n)));
				json_object_set_new(A, "ratio_min", jnum(vmin(ratio, n)));
				json_object_set_new(A, "ratio_max", jnum(vmax(ratio, n)));
				json_object_set_new(A, "ratios", jarr(ratio, n));
				/* stability: the medians of the odd and the even rounds */
				if (no && ne)
					json_object_set_new(A, "split_half_points",
							    jnum(100 * fabs(median(even, ne) - median(odd, no))));
				json_object_set_new(A, "agent_cpu_pct_median", jnum(median(cpu, n)));
				json_object_set_new(A, "agent_rss_mib_median", jnum(median(rss, n)));
				json_object_set_new(A, "agent_rss_mib_max", jnum(vmax(rss, n)));
			}
			json_object_set_new(X, rm_name[m], A);
		}
		json_object_set_new(W, rw_name[w], X);
	}
	return W;
}

void section_real(void)
{
	json_t *S = json_object(), *rounds = json_array(), *modes = json_array();
	int failed = 0;

	if (real_setup() < 0) {
		json_object_set_new(J, "real", S);
		json_decref(rounds);
		json_decref(modes);
		return;
	}
	for (int m = 0; m < RM_N; m++)
		if (R.avail[m])
			json_array_append_new(modes, json_string(rm_name[m]));
	/* one untimed pass first: the first build after setup ran twice as
	 * long as the next ones (cold caches), and the first round paid it */
	{
		json_t *warm = json_object();
		R_round = -1;
		failed = run_mode(O.rounds_real, RM_NONE, warm) < 0;
		json_decref(warm);
	}
	for (int r = 0; r <= O.rounds_real && !failed; r++) {
		json_t *Rj = json_pack("{s:i}", "round", (json_int_t)r + 1);
		R_round = r;
		/* round r runs the agents from the r-th on, around: each one,
		 * no agent included, takes every place in the order as often as
		 * any other (with no agent always first, its runs came after
		 * auditd's stop in every round and read several points slow) */
		for (int k = 0; k < (r < O.rounds_real ? RM_N : 1) && !failed; k++) {
			int m = r < O.rounds_real ? (r + k) % RM_N : RM_NONE;
			if (R.avail[m] && run_mode(r, m, Rj) < 0)
				failed = 1;
		}
		json_array_append_new(rounds, Rj);
	}
	if (!failed && R.avail[RM_FLOOR]) {
		json_t *pj = program_time(RM_JIBRIL), *pf = pj ? program_time(RM_FLOOR) : NULL;
		if (pj && pf)
			json_object_set_new(S, "program_time", json_pack("{s:o, s:o}", "jibril", pj,
									 "floor", pf));
		else
			json_decref(pj);
		failed = !pj || !pf;
	}
	if (R.nginx > 0) {
		kill(R.nginx, SIGQUIT);
		child_wait(R.nginx, 10000);
	}
	json_object_set_new(S, "modes", modes);
	json_object_set_new(S, "rounds", rounds);
	json_object_set_new(S, "rounds_n", json_integer(O.rounds_real));
	if (failed) {
		error_("section 6 (real workloads) did not complete");
		json_object_set_new(J, "real", S);
		return;
	}
	json_object_set_new(S, "workloads", summarise());
	json_object_set_new(S, "triggers", json_pack("{s:i, s:i}", "sent", (json_int_t)R.trig_sent,
						      "reported", (json_int_t)R.trig_seen));
	json_object_set_new(
		S, "method",
		json_string("each round starts every agent in turn, rotated by one place per round (no agent, jibril, the floor of "
			    "jibril's hooks, that floor without its syscall hooks, that floor with connect "
			    "on cgroup sock_addr hooks, refagent, auditd), "
			    "runs the five workloads (bench/real/run.sh) one after another under it, "
			    "then stops it; a closing no-agent run follows the last round; ratios are "
			    "per round against the mean of the no-agent runs of this round "
			    "and the next; split_half_points is the difference, in points, between "
			    "the median ratio of the odd and of the even rounds (how stable the "
			    "median is); agent CPU is utime+stime of its processes (auditd: with "
			    "kauditd) over the run's wall time, in % of one core; RSS is the sum of "
			    "VmRSS of its processes at the end of the run"));
	json_object_set_new(J, "real", S);
}

void real_table(void)
{
	json_t *W = jget(J, "real.workloads");

	printf("\n6. Real workloads: seconds with no agent (median); ratio to no agent, median "
	       "[min-max] over %d interleaved rounds, (split-half difference in points)\n",
	       O.rounds_real);
	if (!W) {
		printf("   (not measured)\n");
		return;
	}
	printf("   %-10s %-8s", "workload", "no agent");
	for (int m = 1; m < RM_N; m++)
		if (R.avail[m])
			printf(" %-23s", rm_label[m]);
	printf("\n");
	for (int w = 0; w < NRW; w++) {
		json_t *X = json_object_get(W, rw_name[w]);
		if (!X)
			continue;
		printf("   %-10s %6.2f s", rw_name[w], jd(X, "none.median_s"));
		for (int m = 1; m < RM_N; m++) {
			json_t *A = json_object_get(X, rm_name[m]);
			char b[64];
			if (!R.avail[m])
				continue;
			snprintf(b, sizeof(b), "%.3fx [%.2f-%.2f] (%.1f)", jd(A, "ratio_median"),
				 jd(A, "ratio_min"), jd(A, "ratio_max"), jd(A, "split_half_points"));
			printf(" %-23s", b);
		}
		printf("\n");
	}
	printf("   agent CPU during the run, %% of one core (median) / RSS MiB (median)\n");
	for (int w = 0; w < NRW; w++) {
		json_t *X = json_object_get(W, rw_name[w]);
		if (!X)
			continue;
		printf("   %-10s %-8s", rw_name[w], "");
		for (int m = 1; m < RM_N; m++) {
			json_t *A = json_object_get(X, rm_name[m]);
			char b[64];
			if (!R.avail[m])
				continue;
			snprintf(b, sizeof(b), "%.2f %% / %.1f", jd(A, "agent_cpu_pct_median"),
				 jd(A, "agent_rss_mib_median"));
			printf(" %-23s", b);
		}
		printf("\n");
	}
	printf("   hold-out triggers reported by jibril: %.0f/%.0f\n", jd(J, "real.triggers.reported"),
	       jd(J, "real.triggers.sent"));
	if (jget(J, "real.program_time")) {
		printf("   program time (bpf_stats, one untimed run each): jibril - floor = jibril's own "
		       "programs, in %% of the run\n");
		for (int w = 0; w < NRW; w++) {
			char k[96];
			double a, b, t;
			snprintf(k, sizeof(k), "real.program_time.jibril.%s.ms", rw_name[w]);
			a = jd(J, k);
			snprintf(k, sizeof(k), "real.program_time.floor.%s.ms", rw_name[w]);
			b = jd(J, k);
			snprintf(k, sizeof(k), "real.program_time.jibril.%s.run_s", rw_name[w]);
			t = jd(J, k);
			if (isnan(a))
				continue;
			printf("   %-10s %.0f ms - %.0f ms = %.0f ms, %.2f %%\n", rw_name[w], a, b, a - b,
			       (a - b) / 10.0 / t);
		}
	}
}
