/*
 * check_chaos.c - chaos test: the real agent, with jibril's own supervision
 * defaults, while its children are SIGKILLed and SIGSTOPped at random and
 * real triggers run; then what was lost, duplicated, wrongly attributed and
 * how late it came.
 *
 * One Check test, "chaos" (`make check`: JB_CHAOS_SECONDS=60; `make chaos`:
 * 300 and the same report, then 300 more with JB_CHAOS_SUPERVISOR_S=20,
 * which `make chaos-supervisor` runs alone):
 *  - The agent runs with jibril's built-in supervision defaults, whatever
 *    they are when the test is built (the point: measure the defaults, before
 *    and after a policy change), the file and stdout printers on and the
 *    fault hooks off. jbh_opts is filled from jb_config_defaults() (linked in
 *    from supervisor/config.c): the cadence, heartbeat period and deadline
 *    and both back-off bounds. The harness also writes handshake_ms and
 *    stable_ms values of its own, and the parser refuses a key given twice
 *    (so extra_conf cannot undo them); so once it is up, the configuration
 *    is rewritten with no [restart] key and no [agent] key but its status
 *    socket and reloaded (SIGHUP applies both sections at once). Reloading
 *    alone would not do: each slot's current back-off starts at the value
 *    of the start-up configuration.
 *  - For JB_CHAOS_SECONDS a chaos thread sends, every 0.2-1 s (random),
 *    SIGKILL or SIGSTOP to a random child of the supervisor: found by parent
 *    pid in /proc, never by kind name; signalled through a pidfd after its
 *    parent and start time were checked again, so neither the supervisor nor
 *    a recycled pid is ever hit. It never sends SIGCONT: a stopped child is
 *    the supervisor's to find (heartbeat deadline) and replace. Each stopped
 *    child is timed until it is gone; one still there JB_CHAOS_STOP_BOUND_MS
 *    after the stop is a failure of the supervisor's hang detection.
 *  - With JB_CHAOS_SUPERVISOR_S=N (0, off, by default) the chaos thread
 *    also SIGKILLs the supervisor itself, N/2 to 3N/2 s (random) after
 *    the last such kill, once the current one logged "running": our child,
 *    its start time checked after its pidfd is held. The main thread (it
 *    alone forks) reaps it and, after 0.5-3 s (systemd's Restart=always),
 *    starts it again: the same rewritten configuration, the same [bpf]
 *    pin_dir (/sys/fs/bpf/jbchaos_PID: outside the harness's sweep of
 *    unheld jbtest* pins, which another suite could run while no
 *    supervisor holds it), the same log, file printer's file and stdout
 *    (appended), so the observer and the analysis see one pair of outputs.
 *    While it is down the chaos thread picks no child; its children must
 *    end by themselves on the closed socket (a stopped one cannot: it gets
 *    the SIGKILL systemd's KillMode=mixed would send) within ORPHAN_MS.
 *  - Meanwhile the main thread runs a trigger every JB_CHAOS_TRIGGER_MS, in
 *    turn: a copy of cat reading /etc/shadow (credentials_files_access: the
 *    file_access worker), a copy of true run from /tmp (exec_from_unusual_dir:
 *    execution), a copy of the tcpconn helper connecting to 127.0.0.1:3333
 *    (stratum_port_access: network; loopback only, a refusal is enough). Each
 *    copy's name carries the marker jbcm<run>_<seq>, so each trigger is its
 *    own process and its own executable and no `times` limit (per process,
 *    exe, parent or chain of executables) can suppress it. The cat and
 *    tcpconn copies live next to the agent binary, not under /tmp, so that
 *    they fire their own recipe only.
 *  - An observer thread samples every 100 ms: the supervisor log (which
 *    child of each kind is READY), /proc (that child there and not stopped;
 *    the supervisor alive), and both printers' outputs (when each line first
 *    appeared: its arrival).
 *  - The end: stop the chaos, SIGCONT what is still stopped, wait (at most
 *    JB_CHAOS_SETTLE_S) until every kind is READY and every trigger is in
 *    both outputs, wait a few seconds more for late duplicates, stop the
 *    agent with SIGTERM (the harness asserts exit 0 and that every child is
 *    gone), read the outputs a last time, print the report, then assert.
 *
 * Definitions (per printer output):
 *  - LOST: a trigger with no detection of its kind that carries its marker.
 *  - DUPLICATED: a trigger with more than one such line; "redelivered" when
 *    a further line repeats a uuid already printed (at-least-once delivery
 *    by design), "distinct" when it is a new uuid (a second detection).
 *  - WRONGLY ATTRIBUTED: a line of one of the three kinds whose exe or args
 *    carry a marker but whose pid, exe, args or object (file, port) are not
 *    that trigger's, or whose pid is a trigger's without its marker.
 *  - LATE: arrival minus the trigger's start (and, as "built", the event's
 *    own timestamp minus the start: the share the workers account for).
 *  - availability: the share of the chaos window's samples in which a kind
 *    had a child that the log says is READY and /proc says runs.
 *
 * Asserted: chaos happened (a turn at least every 1.25 s on average, a signal
 * per 10 s), every trigger ran, the supervisor was alive in every sample and
 * exited 0 on SIGTERM, every line is a JSON object, 0 lost and 0 wrongly
 * attributed in each output, no stopped child outlived the bound, and the p99
 * arrival lateness of each output is within JB_CHAOS_P99_MS (default 6000: six
 * default cadences, with room for a child and a printer stopped together; 0
 * reports it without asserting).
 * With supervisor kills: the same, but "alive in every sample" becomes
 * "every supervisor the test started ended by the test's SIGKILL (and was
 * dead only after it), the last one exits 0 on SIGTERM"; LOST 0 covers the
 * triggers made while none ran; DUPLICATED lines are all redelivered (the
 * same uuid: router.c record_uuid), 0 with a distinct uuid; every restart
 * logged "running" and resumed the pins (neither replaced nor fresh); no
 * child outlived its killed supervisor by ORPHAN_MS; the p99 lateness is
 * only reported (a restart's BPF load takes seconds). The report adds the
 * kills, restarts, each one's time from the kill to "running" and its log
 * line saying it resumed.
 *
 * Knobs (environment): JB_CHAOS_SECONDS (60) of chaos, JB_CHAOS_TRIGGER_MS
 * (250) between triggers, JB_CHAOS_SETTLE_S (120) at most to settle after
 * it, JB_CHAOS_P99_MS (6000) the lateness bound, JB_CHAOS_STOP_BOUND_MS
 * (20000) for a stopped child to be gone, JB_CHAOS_SEED (from the clock;
 * printed in the report) for the choice of victims, signals and intervals,
 * JB_CHAOS_MAPS_X (1) multiplies the [maps] sizes tasks, files, links and
 * flows: the records of the exec and connect triggers live in the ordinary
 * (LRU) maps, and while a worker kind is down the whole host's activity can
 * evict them before its replacement looks (the report shows the kernel's
 * loss counters); a larger factor tells that apart from supervision;
 * JB_CHAOS_SUPERVISOR_S (0: off) the mean seconds between supervisor kills.
 *
 * Invariants: every loop is bounded in count and in time; every wait polls
 * a condition against a deadline (the 100 ms sampling period and the final
 * quiet window are periods, not synchronisation); only the main thread forks
 * (PR_SET_PDEATHSIG follows the forking thread) and only it calls ck_*; the
 * report is printed before the first assertion, so a failure still shows it.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent_harness.h"
#include "supervisor/config.h"
#include "tests/lib/clock.h"
#include "tests/lib/procfs.h"

#define READY_MS 20000
#define RELOAD_MS 5000
#define STOP_MS 10000
#define SAMPLE_MS 100
#define QUIET_MS 3000		/* after settling: late duplicates still arrive */
#define TRIGGER_EXIT_MS 10000	/* tcpconn gives up after 10 s by itself */
#define MAX_STOPPED 4096
#define NPRINTERS 2
#define MARK "jbcm"
#define MAX_SUPS 1024		/* supervisors one run may start */
#define SUP_REAP_MS 5000	/* a SIGKILLed supervisor is reaped within this */
#define ORPHAN_MS 5000		/* a killed supervisor's children end by themselves within this */
#define ORPHANS_MAX 64

/* --- settings (environment) ---------------------------------------------- */

static struct {
	unsigned chaos_s, trigger_ms, settle_s, p99_ms, stop_bound_ms;
	unsigned seed, maps_x, sup_s;
} cfg;

static struct jb_config def; /* jibril's built-in defaults */

static unsigned env_uint(const char *name, unsigned dflt, unsigned lo, unsigned hi)
{
	const char *s = getenv(name);
	char *end;
	unsigned long v;

	if (!s || !*s)
		return dflt;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < lo || v > hi) {
		fprintf(stderr, "check_chaos: %s=%s: want a number in %u..%u\n", name, s, lo, hi);
		exit(2);
	}
	return (unsigned)v;
}

static void read_settings(void)
{
	cfg.chaos_s = env_uint("JB_CHAOS_SECONDS", 60, 5, 86400);
	cfg.trigger_ms = env_uint("JB_CHAOS_TRIGGER_MS", 250, 20, 60000);
	cfg.settle_s = env_uint("JB_CHAOS_SETTLE_S", 120, 5, 3600);
	cfg.p99_ms = env_uint("JB_CHAOS_P99_MS", 6000, 0, 3600000);
	cfg.stop_bound_ms = env_uint("JB_CHAOS_STOP_BOUND_MS", 20000, 1000, 3600000);
	cfg.maps_x = env_uint("JB_CHAOS_MAPS_X", 1, 1, 64);
	cfg.sup_s = env_uint("JB_CHAOS_SUPERVISOR_S", 0, 0, 86400);
	cfg.seed = env_uint("JB_CHAOS_SEED", (unsigned)time(NULL) ^ (unsigned)getpid(), 0,
			    UINT_MAX);
}

/* --- triggers -------------------------------------------------------------- */

enum { TK_FILE, TK_EXEC, TK_NET, TK_N };

static const struct tdef {
	const char *recipe;	/* the detection it must produce */
	const char *base;	/* the copy's name, before the marker */
	int in_tmp;		/* copy under /tmp (else next to the agent binary) */
} tdefs[TK_N] = {
	[TK_FILE] = {"credentials_files_access", "cat", 0},
	[TK_EXEC] = {"exec_from_unusual_dir", "true", 1},
	[TK_NET] = {"stratum_port_access", "tcpconn", 0},
};

struct trigger {
	int tk;
	pid_t pid;
	int ran_ok;
	int down;		/* started while no supervisor was running */
	uint64_t start_mono, start_real;
	char exe[PATH_MAX];
	/* filled by analyse() */
	int lines[NPRINTERS], redelivered[NPRINTERS], distinct[NPRINTERS];
	uint64_t arrival[NPRINTERS];	/* monotonic ms of the first line */
	long long built[NPRINTERS];	/* its timestamp, real ms */
};

static struct trigger *trig;
static int ntrig, maxtrig, trig_failed;
static unsigned run_id;

/* --- what the printers wrote ----------------------------------------------- */

struct det {
	int printer;
	int tk;			/* the trigger kind of its recipe; -1: another recipe */
	char kind[64];
	char uuid[40];
	pid_t pid;
	long seq_exe, seq_args; /* -1 no marker, -2 markers that disagree or another run */
	char *exe, *args, *fpath;
	long rport;
	long long ts_real, pstart; /* the event's timestamp, process.start (real ms) */
	uint64_t arrival;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct det *dets;	/* under mu */
static size_t ndets, capdets;
static struct {
	unsigned lines, bad_lines, foreign, summaries_ours, summaries_other;
} pst[NPRINTERS];		/* under mu */

static const char *const pname[NPRINTERS] = {"file", "stdout"};

/* --- shared state of the threads ------------------------------------------- */

static struct jbh_agent A;
static atomic_int chaos_stop, obs_stop, chaos_on;
static atomic_uint sup_dead_samples, samples_all;

struct kstate {
	pid_t pid;
	int ready;
	unsigned readies, restarts, throttles, max_delay;
	unsigned avail, win_samples;
};
static struct kstate kst[JBH_MAX_KIDS]; /* under mu */

/* agent log lines that say something was given up on */
static const char *const loss_lines[] = {
	"times on the same snapshot: skipping",	/* a worker kind skipped changes */
	"printer backlog full",			/* alerts dropped for a printer */
	"alerts were not acknowledged",		/* at shutdown */
	"kernel loss so far",			/* records evicted before a query */
};
#define NLOSS (sizeof(loss_lines) / sizeof(loss_lines[0]))
static unsigned loss_seen[NLOSS]; /* under mu */
/* "kernel loss so far: N records evicted ..., M changed links whose file was
 * already evicted": the last figures logged, totals since the agent started
 * (under mu) */
static unsigned long long kloss_evicted, kloss_links;

static struct {
	unsigned ticks, kill, stop, none_found, raced;
	unsigned by_kind[JBH_MAX_KIDS + 1][2]; /* last row: not yet exec'd (comm "jibril") */
	unsigned stopped_gone, stopped_over_bound, stopped_pending, conted_at_end;
	unsigned stopped_orphaned; /* still stopped when their supervisor was killed */
	unsigned *gone_ms;
} chaos;

/* Supervisor kills (JB_CHAOS_SUPERVISOR_S): one row per supervisor the
 * test started, the current one last (under mu). The chaos thread alone
 * sets sup_down (just before its SIGKILL), the main thread alone clears it
 * (once it started the next one): while it is clear, the last row's pid
 * is the running supervisor. */
struct suprun {
	pid_t pid;
	unsigned long long start;	/* /proc start time: a reused pid is not it */
	uint64_t started, running, all_ready, killed; /* monotonic ms; 0: not (yet) */
	unsigned ready_kinds;		/* bit k: kind k was READY under it */
	int status;			/* wait status once reaped */
	unsigned resumed, replaced, fresh; /* its start-up lines about the pins */
	char resumed_line[200];
};
static struct suprun sups[MAX_SUPS];
static int nsups, sup_down;
static uint64_t restart_at, chaos_t0;
static struct tl_child orphans[ORPHANS_MAX]; /* the killed one's children */
static int norphans;
static struct {
	unsigned kills, not_ours, orphans_ended, orphans_stopped, orphans_over, turns_down;
} supk;

/* --- small helpers ---------------------------------------------------------- */

/* there, and neither stopped nor a zombie */
static int runs(pid_t pid)
{
	struct tl_stat st;

	return pid > 0 && tl_proc_stat(pid, &st) == 0 && st.state != 'T' && st.state != 't' &&
	       st.state != 'Z' && st.state != 'X';
}

static int kind_index(const char *kind)
{
	for (int i = 0; i < A.nkinds; i++)
		if (!strcmp(A.kinds[i], kind))
			return i;
	return -1;
}

static unsigned rnd(unsigned *s) /* xorshift32; never 0 with a seed != 0 */
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* The marker in s: its seq, -1 none, -2 two of ours that disagree, -3
 * only another run's (a chaos test of another checkout on the same host:
 * its processes are none of ours). */
static long marker_in(const char *s)
{
	long seq = -1;
	int others = 0;
	const char *p = s;

	for (int guard = 0; p && (p = strstr(p, MARK)) && guard < 64; guard++) {
		unsigned r, q;
		int n = 0;

		if (sscanf(p, MARK "%u_%u%n", &r, &q, &n) == 2 && n > 0) {
			if (r != run_id)
				others++;
			else if (seq >= 0 && seq != (long)q)
				return -2;
			else
				seq = (long)q;
		}
		p += strlen(MARK);
	}
	return seq == -1 && others ? -3 : others ? -2 : seq;
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s ? s : "");

	if (!d)
		abort(); /* a test that cannot allocate a path has no result to give */
	return d;
}

/* --- reading files as they grow -------------------------------------------- */

struct tail {
	const char *path;
	int fd;
	char *buf;
	size_t len, cap;
};

/* Calls fn on every complete line added since the last call. */
static void tail_poll(struct tail *t, void (*fn)(char *line, void *arg), void *arg)
{
	char *line, *nl;
	size_t used;

	if (t->fd < 0 && (t->fd = open(t->path, O_RDONLY | O_CLOEXEC)) < 0)
		return; /* not written yet */
	for (int guard = 0; guard < 1 << 20; guard++) {
		ssize_t r;

		if (t->cap - t->len < 65536) {
			size_t ncap = t->cap ? t->cap * 2 : 1 << 20;
			char *nb = realloc(t->buf, ncap);

			if (!nb)
				abort();
			t->buf = nb;
			t->cap = ncap;
		}
		r = read(t->fd, t->buf + t->len, t->cap - t->len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		t->len += (size_t)r;
	}
	if (!t->buf)
		return;
	t->buf[t->len] = '\0';
	for (line = t->buf; (nl = strchr(line, '\n')); line = nl + 1) {
		*nl = '\0';
		fn(line, arg);
	}
	used = (size_t)(line - t->buf);
	memmove(t->buf, line, t->len - used);
	t->len -= used;
}

static void tail_close(struct tail *t)
{
	if (t->fd >= 0)
		close(t->fd);
	free(t->buf);
	t->fd = -1;
	t->buf = NULL;
	t->len = t->cap = 0;
}

/* --- the observer: log, /proc, outputs every 100 ms ------------------------ */

/* "...: KIND[PID] gen G: OLD -> NEW[: why]" and "...: KIND: restarting in N ms" */
static void on_log_line(char *line, void *arg)
{
	unsigned long long ev, fl;
	const char *kl;

	struct suprun *r = nsups ? &sups[nsups - 1] : NULL;

	for (size_t i = 0; i < NLOSS; i++)
		loss_seen[i] += strstr(line, loss_lines[i]) != NULL;
	/* start-up lines: only the last supervisor started writes any */
	if (r && (kl = strstr(line, "resumed the maps pinned under "))) {
		if (!r->resumed++)
			snprintf(r->resumed_line, sizeof(r->resumed_line), "%s", kl);
	} else if (r && strstr(line, "pinned under ") && strstr(line, "replaced")) {
		r->replaced++;
	} else if (r && strstr(line, "maps and links pinned under ")) {
		r->fresh++;
	} else if (r && !r->running && strstr(line, " running: cadence ")) {
		r->running = jbh_now_ms();
	}
	if ((kl = strstr(line, "kernel loss so far: ")) &&
	    sscanf(kl, "kernel loss so far: %llu records evicted before any query saw them, "
		   "%llu changed links", &ev, &fl) == 2) {
		kloss_evicted = ev;
		kloss_links = fl;
	}
	for (int k = 0; k < A.nkinds; k++) {
		char want[48];
		const char *p, *q, *arrow;
		size_t wl;

		snprintf(want, sizeof(want), ": %s[", A.kinds[k]);
		wl = strlen(want);
		if ((p = strstr(line, want))) {
			char *end;
			long pid = strtol(p + wl, &end, 10);

			if (strncmp(end, "] gen ", 6) != 0 || !(arrow = strstr(end, " -> ")))
				continue;
			q = arrow + 4;
			if (!strncmp(q, "READY", 5) && (q[5] == '\0' || q[5] == ':')) {
				if (r && (r->ready_kinds |= 1U << k) == (1U << A.nkinds) - 1 &&
				    !r->all_ready)
					r->all_ready = jbh_now_ms();
				kst[k].ready = 1;
				kst[k].pid = (pid_t)pid;
				kst[k].readies++;
			} else {
				kst[k].ready = 0;
			}
			return;
		}
		snprintf(want, sizeof(want), ": %s: ", A.kinds[k]);
		if ((p = strstr(line, want))) {
			unsigned ms;

			p += strlen(want);
			if (sscanf(p, "restarting in %u ms", &ms) == 1) {
				kst[k].restarts++;
			} else if ((q = strstr(p, "next try in ")) &&
				   sscanf(q, "next try in %u", &ms) == 1) {
				kst[k].throttles++;
			} else {
				continue;
			}
			if (ms > kst[k].max_delay)
				kst[k].max_delay = ms;
			return;
		}
	}
}

static void add_det(const struct det *d)
{
	if (ndets == capdets) {
		size_t ncap = capdets ? capdets * 2 : 1024;
		struct det *nd = realloc(dets, ncap * sizeof(*nd));

		if (!nd)
			abort();
		dets = nd;
		capdets = ncap;
	}
	dets[ndets++] = *d;
}

static void on_output_line(char *line, void *arg)
{
	int printer = (int)(intptr_t)arg;
	json_error_t jerr;
	json_t *ev = json_loads(line, JSON_REJECT_DUPLICATES, &jerr);
	const char *kind, *exe, *args;
	struct det d = {.printer = printer, .tk = -1, .rport = -1};

	pthread_mutex_lock(&mu);
	pst[printer].lines++;
	if (!json_is_object(ev)) {
		pst[printer].bad_lines++;
		fprintf(stderr, "chaos: a %s line is not a JSON object (%s): %.200s\n",
			pname[printer], jerr.text, line);
		goto out;
	}
	kind = jbh_jstr(ev, "kind");
	if (kind && !strcmp(kind, "suppressed_detections")) {
		const char *key = jbh_jstr(ev, "key");

		/* a trigger's exe, or its name in a chain of executables; a
		 * per-process key names a pid, which the host recycles */
		if (key && marker_in(key) != -1 && marker_in(key) != -3)
			pst[printer].summaries_ours++;
		else
			pst[printer].summaries_other++;
		goto out;
	}
	for (int t = 0; kind && t < TK_N; t++)
		if (!strcmp(kind, tdefs[t].recipe))
			d.tk = t;
	exe = jbh_jstr(ev, "process.exe");
	args = jbh_jstr(ev, "process.args");
	d.seq_exe = exe ? marker_in(exe) : -1;
	d.seq_args = args ? marker_in(args) : -1;
	d.pid = (pid_t)jbh_jint(ev, "process.pid", -1);
	/* a line of another recipe is kept only when a trigger made it; the
	 * trigger kinds' lines are all kept (a pid of a trigger without its
	 * marker is a wrong attribution, found later) */
	if ((d.tk < 0 && d.seq_exe == -1 && d.seq_args == -1) ||
	    (d.seq_exe == -3 && d.seq_args <= -1 && d.seq_args != -2) ||
	    (d.seq_args == -3 && d.seq_exe == -1)) {
		pst[printer].foreign++; /* the host's, or another run's */
		goto out;
	}
	snprintf(d.kind, sizeof(d.kind), "%s", kind ? kind : "?");
	snprintf(d.uuid, sizeof(d.uuid), "%s", jbh_jstr(ev, "uuid") ? jbh_jstr(ev, "uuid") : "");
	d.exe = xstrdup(exe);
	d.args = xstrdup(args);
	d.fpath = xstrdup(jbh_jstr(ev, "file.path"));
	d.rport = (long)jbh_jint(ev, "flow.remote.port", -1);
	d.ts_real = tl_iso_ms(jbh_jstr(ev, "timestamp"));
	d.pstart = tl_iso_ms(jbh_jstr(ev, "process.start"));
	d.arrival = jbh_now_ms();
	add_det(&d);
out:
	pthread_mutex_unlock(&mu);
	json_decref(ev);
}

static struct tail log_tail = {.fd = -1}, out_tail[NPRINTERS] = {{.fd = -1}, {.fd = -1}};

static void observe_once(void)
{
	struct tl_stat st;

	pthread_mutex_lock(&mu);
	tail_poll(&log_tail, on_log_line, NULL);
	samples_all++;
	/* dead while no kill of ours is under way */
	if (!sup_down && (tl_proc_stat(sups[nsups - 1].pid, &st) < 0 || st.state == 'Z' ||
			  st.state == 'X'))
		sup_dead_samples++;
	if (chaos_on) {
		for (int k = 0; k < A.nkinds; k++) {
			kst[k].win_samples++;
			kst[k].avail += kst[k].ready && runs(kst[k].pid);
		}
	}
	pthread_mutex_unlock(&mu);
	for (int p = 0; p < NPRINTERS; p++)
		tail_poll(&out_tail[p], on_output_line, (void *)(intptr_t)p);
}

static void *observer(void *arg)
{
	uint64_t hard_end = *(uint64_t *)arg;

	while (!obs_stop && jbh_now_ms() < hard_end) {
		uint64_t t0 = jbh_now_ms(), t1;

		observe_once();
		t1 = jbh_now_ms();
		if (t1 < t0 + SAMPLE_MS)
			jbh_sleep_ms((unsigned)(t0 + SAMPLE_MS - t1));
	}
	return NULL;
}

/* --- chaos ----------------------------------------------------------------- */

/* the pidfd of k if it is still that child of parent (0: of anyone, an
 * orphan), else -1 */
static int pin_kid(const struct tl_child *k, pid_t parent)
{
	struct tl_stat st;
	int pfd = pidfd_open(k->pid, 0);

	if (pfd < 0)
		return -1;
	/* checked after the pidfd is held: a recycled pid shows another start */
	if (tl_proc_stat(k->pid, &st) < 0 || (parent && st.ppid != parent) ||
	    st.start != k->st.start || k->pid == parent || st.state == 'Z') {
		close(pfd);
		return -1;
	}
	return pfd;
}

struct stopped {
	pid_t pid;
	unsigned long long start;
	uint64_t at;
	int done;
};

static struct stopped stopped[MAX_STOPPED];
static int nstopped;

/* the supervisor's job: gone (reaped or replaced) within the bound */
static void watch_stopped(uint64_t now)
{
	for (int i = 0; i < nstopped; i++) {
		struct stopped *s = &stopped[i];
		struct tl_stat st;

		if (s->done)
			continue; /* 3: its supervisor was killed first (supk) */
		if (tl_proc_stat(s->pid, &st) < 0 || st.start != s->start || st.state == 'Z' ||
		    st.state == 'X') {
			s->done = 1;
			chaos.gone_ms[chaos.stopped_gone++] = (unsigned)(now - s->at);
		} else if (now - s->at > cfg.stop_bound_ms) {
			s->done = 2;
			chaos.stopped_over_bound++;
			fprintf(stderr, "chaos: stopped child %d still there after %u ms\n",
				(int)s->pid, cfg.stop_bound_ms);
		}
	}
}

/* the next supervisor kill: N/2 to 3N/2 s from now (N = JB_CHAOS_SUPERVISOR_S) */
static uint64_t next_sup_kill(uint64_t now, unsigned *seed)
{
	return now + cfg.sup_s * 500ULL + rnd(seed) % (cfg.sup_s * 1000U + 1);
}

/* SIGKILL the running supervisor, once it has said "running" (a kill
 * before would measure nothing): checked like a child (our child, its
 * start time) after its pidfd is held. Its children are noted for the
 * main thread, which restarts it after 0.5-3 s. 1 if killed. */
static int kill_supervisor(uint64_t now, unsigned *seed)
{
	struct tl_child sup;
	struct tl_stat st;
	int pfd, ok;

	pthread_mutex_lock(&mu);
	ok = !sup_down && sups[nsups - 1].running && nsups < MAX_SUPS;
	sup.pid = sups[nsups - 1].pid;
	sup.st.start = sups[nsups - 1].start;
	pthread_mutex_unlock(&mu);
	if (!ok || (pfd = pidfd_open(sup.pid, 0)) < 0)
		return 0;
	if (tl_proc_stat(sup.pid, &st) < 0 || st.ppid != getpid() || st.start != sup.st.start ||
	    st.state == 'Z') {
		close(pfd);
		return 0; /* dead already: the main thread finds that no kill of ours */
	}
	pthread_mutex_lock(&mu);
	norphans = tl_proc_children_stat(sup.pid, orphans, ORPHANS_MAX);
	sup_down = 1;
	restart_at = now + 500 + rnd(seed) % 2501;
	sups[nsups - 1].killed = now;
	pthread_mutex_unlock(&mu);
	ok = pidfd_send_signal(pfd, SIGKILL, NULL, 0) == 0;
	close(pfd);
	if (!ok) {
		pthread_mutex_lock(&mu);
		sup_down = 0;
		sups[nsups - 1].killed = 0;
		pthread_mutex_unlock(&mu);
		return 0;
	}
	supk.kills++;
	/* its stopped children are not the supervisor's to replace now */
	for (int i = 0; i < nstopped; i++)
		if (!stopped[i].done) {
			stopped[i].done = 3;
			chaos.stopped_orphaned++;
		}
	return 1;
}

static void *chaos_thread(void *arg)
{
	unsigned seed = cfg.seed ? cfg.seed : 1;
	uint64_t end = *(uint64_t *)arg, next = jbh_now_ms() + 200 + rnd(&seed) % 801;
	uint64_t next_sup = cfg.sup_s ? next_sup_kill(jbh_now_ms(), &seed) : UINT64_MAX;

	while (!chaos_stop && jbh_now_ms() < end) {
		struct tl_child kids[64];
		int n, sig, pfd, row, down;
		struct tl_child *k;
		pid_t sup;
		uint64_t now = jbh_now_ms();

		watch_stopped(now);
		if (now >= next_sup && kill_supervisor(now, &seed))
			next_sup = next_sup_kill(now, &seed);
		if (now < next) {
			jbh_sleep_ms((unsigned)(next - now < 20 ? next - now : 20));
			continue;
		}
		next = now + 200 + rnd(&seed) % 801;
		chaos.ticks++;
		pthread_mutex_lock(&mu);
		down = sup_down;
		sup = sups[nsups - 1].pid;
		pthread_mutex_unlock(&mu);
		if (down) {
			/* its children are no one's: theirs is to end by themselves */
			supk.turns_down++;
			continue;
		}
		n = tl_proc_children_stat(sup, kids, 64);
		if (n == 0) {
			chaos.none_found++;
			continue;
		}
		k = &kids[rnd(&seed) % (unsigned)n];
		sig = rnd(&seed) % 2 ? SIGKILL : SIGSTOP;
		if ((pfd = pin_kid(k, sup)) < 0) {
			chaos.raced++;
			continue;
		}
		if (pidfd_send_signal(pfd, sig, NULL, 0) == 0) {
			row = !strncmp(k->st.comm, "jb-", 3) ? kind_index(k->st.comm + 3) : -1;
			row = row < 0 ? JBH_MAX_KIDS : row;
			chaos.by_kind[row][sig == SIGSTOP]++;
			if (sig == SIGKILL) {
				chaos.kill++;
			} else {
				chaos.stop++;
				if (k->st.state != 'T' && nstopped < MAX_STOPPED)
					stopped[nstopped++] =
						(struct stopped){k->pid, k->st.start, now, 0};
			}
		}
		close(pfd);
	}
	return NULL;
}

/* --- triggers -------------------------------------------------------------- */

static char dir_tmp[64], dir_bin[PATH_MAX];
static char src[TK_N][PATH_MAX];

static void make_dirs(void)
{
	char bin[PATH_MAX], *real;

	snprintf(dir_tmp, sizeof(dir_tmp), "/tmp/jbchaos.XXXXXX");
	ck_assert_msg(mkdtemp(dir_tmp) != NULL, "mkdtemp: %s", strerror(errno));
	snprintf(bin, sizeof(bin), "%s", jbh_bin());
	real = realpath(dirname(bin), NULL);
	ck_assert_msg(real != NULL, "realpath of %s: %s", jbh_bin(), strerror(errno));
	/* the copies' paths must fit the kernel's 256-byte path records */
	ck_assert_msg(snprintf(dir_bin, sizeof(dir_bin), "%s/chaos.XXXXXX", real) < 160,
		      "%s: too long a path for the trigger copies", real);
	free(real);
	ck_assert_msg(mkdtemp(dir_bin) != NULL, "mkdtemp %s: %s", dir_bin, strerror(errno));
	snprintf(src[TK_FILE], sizeof(src[0]), "/usr/bin/cat");
	snprintf(src[TK_EXEC], sizeof(src[0]), "/usr/bin/true");
	jbh_helper(src[TK_NET], sizeof(src[0]), "tcpconn");
	for (int t = 0; t < TK_N; t++)
		ck_assert_msg(access(src[t], X_OK) == 0, "no %s (make check builds the helpers)",
			      src[t]);
}

/* One trigger: a fresh copy with the marker in its name, run, reaped, removed. */
static void run_trigger(int seq)
{
	struct trigger *t = &trig[seq];
	char *av_file[] = {t->exe, "/etc/shadow", NULL};
	char *av_exec[] = {t->exe, NULL};
	char *av_net[] = {t->exe, "connect", "127.0.0.1", "3333", NULL};
	char **av;
	const struct tdef *d;
	int st;

	t->tk = seq % TK_N;
	d = &tdefs[t->tk];
	av = t->tk == TK_FILE ? av_file : t->tk == TK_EXEC ? av_exec : av_net;
	ck_assert(snprintf(t->exe, sizeof(t->exe), "%s/%s." MARK "%u_%d",
			   d->in_tmp ? dir_tmp : dir_bin, d->base, run_id, seq) < 200);
	jbh_copy_file(src[t->tk], t->exe, 0755);

	t->start_mono = jbh_now_ms();
	t->start_real = jbh_real_ms();
	pthread_mutex_lock(&mu);
	t->down = sup_down || !sups[nsups - 1].running;
	pthread_mutex_unlock(&mu);
	t->pid = jbh_spawn(t->exe, av, NULL);
	st = jbh_wait_exit(t->pid, TRIGGER_EXIT_MS);
	/* tcpconn: 0 connected, 1 refused; both are the behaviour */
	t->ran_ok = st >= 0 && WIFEXITED(st) &&
		    (WEXITSTATUS(st) == 0 || (t->tk == TK_NET && WEXITSTATUS(st) == 1));
	if (!t->ran_ok) {
		trig_failed++;
		fprintf(stderr, "chaos: trigger %d (%s) ended with wait status 0x%x\n", seq, t->exe,
			st);
	}
	/* the agent reads what it needs from the kernel, never the file */
	unlink(t->exe);
}

/* --- analysis --------------------------------------------------------------- */

/* The trigger that was process pid when it started (pid_max may be 32768:
 * the host recycles pids within a minute); -1 if none. */
static int trig_of_proc(pid_t pid, long long start)
{
	for (int i = 0; i < ntrig; i++)
		if (trig[i].pid == pid &&
		    (start < 0 || llabs(start - (long long)trig[i].start_real) < 2000))
			return i;
	return -1;
}

struct tally {
	unsigned ran, found, lost, dup, redelivered, distinct, wrong, other_kind;
	unsigned lost_by[TK_N];
	unsigned nlate, nbuilt;
};

static struct tally tal[NPRINTERS];
static unsigned *late[NPRINTERS], *built[NPRINTERS]; /* ms, one per trigger found */
static unsigned wrong_shown;

/* the trigger's process: its pid, its exe, argv[0] its exe, one marker */
static int same_process(const struct det *d, const struct trigger *t)
{
	size_t n = strlen(t->exe);

	return d->seq_exe >= 0 && d->seq_exe == d->seq_args && d->pid == t->pid &&
	       !strcmp(d->exe, t->exe) && !strncmp(d->args, t->exe, n) &&
	       (d->args[n] == '\0' || d->args[n] == ' ');
}

/* what the trigger did: the file it read or ran, the port it connected to */
static int same_object(const struct det *d, const struct trigger *t)
{
	switch (t->tk) {
	case TK_FILE: return !strcmp(d->fpath, "/etc/shadow");
	case TK_EXEC: return !strcmp(d->fpath, t->exe);
	default: return d->rport == 3333;
	}
}

/* Walks every line (under mu): per trigger and printer the lines, the first
 * arrival and the duplicates; per printer the wrong attributions. With
 * final, fills the lateness arrays. Returns the (trigger, printer) pairs
 * that have a detection. */
static unsigned analyse(int final)
{
	unsigned pairs = 0;

	pthread_mutex_lock(&mu);
	memset(tal, 0, sizeof(tal));
	for (int i = 0; i < ntrig; i++)
		for (int p = 0; p < NPRINTERS; p++)
			trig[i].lines[p] = trig[i].redelivered[p] = trig[i].distinct[p] = 0;
	for (size_t j = 0; j < ndets; j++) {
		struct det *d = &dets[j];
		long seq = d->seq_exe >= 0 ? d->seq_exe : d->seq_args;
		struct trigger *t = seq >= 0 && seq < ntrig ? &trig[seq] : NULL;
		int p = d->printer, pi;

		if (!t) {
			pi = trig_of_proc(d->pid, d->pstart);
			if (d->tk < 0 || (pi < 0 && d->seq_exe == -1 && d->seq_args == -1))
				continue; /* a process of the host, not ours */
			t = pi >= 0 ? &trig[pi] : NULL;
			goto wrong;
		}
		if (!same_process(d, t))
			goto wrong;
		if (d->tk != t->tk) {
			/* another recipe on a trigger's own process: reported, not judged */
			tal[p].other_kind++;
			continue;
		}
		if (!same_object(d, t))
			goto wrong;
		if (t->lines[p]++ == 0) {
			t->arrival[p] = d->arrival;
			t->built[p] = d->ts_real;
		} else {
			int same = 0;

			for (size_t k = 0; k < j && !same; k++)
				same = dets[k].printer == p && !strcmp(dets[k].uuid, d->uuid);
			if (same)
				t->redelivered[p]++;
			else
				t->distinct[p]++;
		}
		continue;
wrong:
		tal[p].wrong++;
		if (final && wrong_shown++ < 10)
			fprintf(stderr, "chaos: WRONGLY ATTRIBUTED in %s: %s pid %d exe %s "
				"args %.100s file %s port %ld (trigger %s pid %d)\n", pname[p],
				d->kind, (int)d->pid, d->exe, d->args, d->fpath, d->rport,
				t ? t->exe : "none", t ? (int)t->pid : -1);
	}
	for (int i = 0; i < ntrig; i++) {
		struct trigger *t = &trig[i];

		for (int p = 0; p < NPRINTERS && t->ran_ok; p++) {
			struct tally *y = &tal[p];

			y->ran++;
			if (!t->lines[p]) {
				y->lost++;
				y->lost_by[t->tk]++;
				if (final && y->lost <= 10)
					fprintf(stderr, "chaos: LOST in %s: trigger %d %s pid %d\n",
						pname[p], i, t->exe, (int)t->pid);
				continue;
			}
			pairs++;
			y->found++;
			y->dup += t->lines[p] > 1;
			y->redelivered += (unsigned)t->redelivered[p];
			y->distinct += (unsigned)t->distinct[p];
			if (!final)
				continue;
			late[p][y->nlate++] = (unsigned)(t->arrival[p] - t->start_mono);
			if (t->built[p] > 0)
				built[p][y->nbuilt++] = t->built[p] > (long long)t->start_real
					? (unsigned)(t->built[p] - (long long)t->start_real) : 0;
		}
	}
	pthread_mutex_unlock(&mu);
	return pairs;
}

static int cmp_u(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	return x < y ? -1 : x > y;
}

/* nearest rank; 0 for an empty set */
static unsigned pct(unsigned *v, unsigned n, unsigned p)
{
	size_t r;

	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_u);
	r = ((size_t)n * p + 99) / 100;
	return v[r ? r - 1 : 0];
}

static void print_lat(const char *what, unsigned *v, unsigned n)
{
	printf("    %-8s p50 %6.2f s   p99 %6.2f s   max %6.2f s   (%u)\n", what,
	       pct(v, n, 50) / 1000.0, pct(v, n, 99) / 1000.0, pct(v, n, 100) / 1000.0, n);
}

/* the supervisor kills: what each restart took and what it did with the pins */
static void report_sup(void)
{
	unsigned down = 0, found[NPRINTERS] = {0}, up[MAX_SUPS], nup = 0, rdy[MAX_SUPS], nrdy = 0;

	for (int i = 0; i < ntrig; i++) {
		down += trig[i].down && trig[i].ran_ok;
		for (int p = 0; p < NPRINTERS; p++)
			found[p] += trig[i].down && trig[i].ran_ok && trig[i].lines[p] > 0;
	}
	for (int i = 1; i < nsups; i++)
		if (sups[i].running && sups[i - 1].killed) {
			up[nup++] = (unsigned)(sups[i].running - sups[i - 1].killed);
			if (sups[i].all_ready)
				rdy[nrdy++] = (unsigned)(sups[i].all_ready - sups[i - 1].killed);
		}
	printf("  supervisor kills (JB_CHAOS_SUPERVISOR_S=%u): %u, restarts %d, killed by another "
	       "hand %u; chaos turns while it was down %u\n", cfg.sup_s, supk.kills, nsups - 1,
	       supk.not_ours, supk.turns_down);
	printf("    kill to the next one's \"running\": p50 %.1f s, max %.1f s (%u); to every "
	       "kind READY under it: p50 %.1f s, max %.1f s (%u)\n", pct(up, nup, 50) / 1000.0,
	       pct(up, nup, 100) / 1000.0, nup, pct(rdy, nrdy, 50) / 1000.0,
	       pct(rdy, nrdy, 100) / 1000.0, nrdy);
	printf("    the killed ones' children: %u ended by themselves, %u stopped ones SIGKILLed "
	       "as systemd would, %u still ran %u ms later (stopped by us before the kill: %u)\n",
	       supk.orphans_ended, supk.orphans_stopped, supk.orphans_over, ORPHAN_MS,
	       chaos.stopped_orphaned);
	printf("    triggers while no supervisor was running (kill to \"running\"): %u; found "
	       "in file %u, stdout %u\n", down, found[0], found[1]);
	for (int i = 1; i < nsups; i++) {
		const struct suprun *r = &sups[i], *prev = &sups[i - 1];

		printf("    restart %d: killed %.1f s into the chaos, started after %.1f s, "
		       "\"running\" after %.1f s, all READY after %.1f s: %s%s%s\n", i,
		       ((long long)prev->killed - (long long)chaos_t0) / 1000.0,
		       (r->started - prev->killed) / 1000.0,
		       r->running ? (r->running - prev->killed) / 1000.0 : -1.0,
		       r->all_ready ? (r->all_ready - prev->killed) / 1000.0 : -1.0,
		       r->resumed == 1 && !r->replaced && !r->fresh ? "" : "NOT RESUMED: ",
		       r->replaced ? "replaced " : r->fresh ? "fresh pins " : "",
		       r->resumed ? r->resumed_line : "(no line saying it resumed)");
	}
}

static void report(void)
{
	unsigned bykind[TK_N] = {0};
	unsigned sent = chaos.kill + chaos.stop;

	for (int i = 0; i < ntrig; i++)
		bykind[trig[i].tk]++;
	printf("\n=== chaos report: %u s of chaos, seed %u, a trigger every %u ms, maps x%u "
	       "===\n", cfg.chaos_s, cfg.seed, cfg.trigger_ms, cfg.maps_x);
	printf("  jibril's defaults: cadence %u ms, heartbeat %u ms, deadline %u ms, handshake "
	       "%u ms, back-off %u..%u ms, stable after %u ms\n", def.cadence_ms,
	       def.heartbeat_ms, def.heartbeat_deadline_ms, def.handshake_ms,
	       def.backoff_initial_ms, def.backoff_max_ms, def.stable_ms);
	printf("  signals: %u (SIGKILL %u, SIGSTOP %u) in %u turns; no child there to pick %u "
	       "times, raced %u\n", sent, chaos.kill, chaos.stop, chaos.ticks, chaos.none_found,
	       chaos.raced);
	printf("    by kind (KILL/STOP):");
	for (int k = 0; k <= A.nkinds; k++) {
		int row = k < A.nkinds ? k : JBH_MAX_KIDS;

		if (k < A.nkinds || chaos.by_kind[row][0] + chaos.by_kind[row][1])
			printf(" %s %u/%u", k < A.nkinds ? A.kinds[k] : "(not yet exec'd)",
			       chaos.by_kind[row][0], chaos.by_kind[row][1]);
	}
	printf("\n    stopped children gone (the supervisor's hang kill, or a later SIGKILL of "
	       "ours) after: p50 %.1f s, max %.1f s (%u); still there after %u ms: %u; within "
	       "the bound when the chaos ended: %u; SIGCONT at the end: %u\n",
	       pct(chaos.gone_ms, chaos.stopped_gone, 50) / 1000.0,
	       pct(chaos.gone_ms, chaos.stopped_gone, 100) / 1000.0, chaos.stopped_gone,
	       cfg.stop_bound_ms, chaos.stopped_over_bound, chaos.stopped_pending,
	       chaos.conted_at_end);
	printf("  triggers: %d (", ntrig);
	for (int t = 0; t < TK_N; t++)
		printf("%s%s %u", t ? ", " : "", tdefs[t].recipe, bykind[t]);
	printf("); failed to run: %d\n", trig_failed);
	for (int p = 0; p < NPRINTERS; p++) {
		struct tally *y = &tal[p];

		printf("  %s printer: %u lines (%u not JSON), detections found %u/%u\n", pname[p],
		       pst[p].lines, pst[p].bad_lines, y->found, y->ran);
		printf("    LOST %u (%s %u, %s %u, %s %u)\n", y->lost, tdefs[0].recipe,
		       y->lost_by[0], tdefs[1].recipe, y->lost_by[1], tdefs[2].recipe,
		       y->lost_by[2]);
		printf("    DUPLICATED %u (extra lines: redelivered same uuid %u, distinct uuid %u)"
		       "   WRONGLY ATTRIBUTED %u\n", y->dup, y->redelivered, y->distinct, y->wrong);
		printf("    other recipes on trigger processes %u; suppression summaries for the "
		       "trigger recipes %u (others %u); the host's own detections %u\n",
		       y->other_kind, pst[p].summaries_ours, pst[p].summaries_other,
		       pst[p].foreign);
		print_lat("LATE", late[p], y->nlate);
		print_lat("built", built[p], y->nbuilt);
	}
	printf("  availability (READY and running, %u samples of %d ms in the chaos window):\n",
	       A.nkinds ? kst[0].win_samples : 0, SAMPLE_MS);
	for (int k = 0; k < A.nkinds; k++)
		printf("    %-12s %5.1f %%   READY %u times, restarts %u, throttled %u, longest "
		       "delay %u ms\n", A.kinds[k],
		       kst[k].win_samples ? 100.0 * kst[k].avail / kst[k].win_samples : 0.0,
		       kst[k].readies, kst[k].restarts, kst[k].throttles, kst[k].max_delay);
	printf("  agent log: snapshots skipped after repeated deaths %u, printer backlog "
	       "overflows %u, unacknowledged at shutdown %u\n", loss_seen[0], loss_seen[1],
	       loss_seen[2]);
	printf("    kernel loss since the agent started (the whole host's activity fills the "
	       "maps): %llu records evicted before any query saw them, %llu changed links "
	       "whose file was evicted (%u warnings)\n", kloss_evicted, kloss_links,
	       loss_seen[3]);
	printf("  supervisor: dead in %u of %u samples without a kill of ours; wait status on "
	       "SIGTERM 0x%x\n", (unsigned)sup_dead_samples, (unsigned)samples_all, A.status);
	if (cfg.sup_s)
		report_sup();
	fflush(stdout);
}

/* --- the test --------------------------------------------------------------- */

static char maps_conf[256]; /* "" or a [maps] section (JB_CHAOS_MAPS_X) */

static void make_maps_conf(void)
{
	unsigned long long x = cfg.maps_x, max = 4194304;

	if (x == 1)
		return;
	snprintf(maps_conf, sizeof(maps_conf),
		 "[maps]\ntasks = %llu\nfiles = %llu\nlinks = %llu\nflows = %llu\n",
		 x * def.map_tasks < max ? x * def.map_tasks : max,
		 x * def.map_files < max ? x * def.map_files : max,
		 x * def.map_links < max ? x * def.map_links : max,
		 x * def.map_flows < max ? x * def.map_flows : max);
}

/* the agent's configuration without [agent] and [restart]: jibril's defaults */
static void use_default_supervision(void)
{
	char tmp[sizeof(A.conf) + 8];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.new", A.conf);
	f = fopen(tmp, "w");
	ck_assert_msg(f != NULL, "%s: %s", tmp, strerror(errno));
	fprintf(f,
		"# written by tests/check_chaos.c: no [restart] key and no [agent] key but\n"
		"# the status socket, so every cadence, deadline and back-off is jibril's\n"
		"# built-in default; a restarted supervisor reads this file too\n"
		"%s"
		"[printers]\n"
		"stdout = yes\n"
		"file = %s\n"
		"[debug]\n"
		"fault_hooks = no\n"
		"[audit]\n"
		"file = %s\n"
		"key = %s\n"
		"[agent]\n"
		"status_socket = %s\n"
		"[bpf]\n"
		"pin_dir = %s\n",
		maps_conf, A.events, A.audit, A.audit_key, A.status_sock, A.pin_dir);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(tmp, 0600), 0); /* a reload refuses one others may write */
	ck_assert_msg(rename(tmp, A.conf) == 0, "rename %s: %s", tmp, strerror(errno));
	ck_assert_int_eq(kill(A.pid, SIGHUP), 0);
	ck_assert_msg(jbh_log_wait(&A, "SIGHUP: reloaded", RELOAD_MS),
		      "the agent did not reload %s (log %s)", A.conf, A.log);
	ck_assert_msg(!jbh_log_has(&A, "SIGHUP: changes to"),
		      "the reload changed more than [agent] and [restart] (log %s)", A.log);
}

/* --- supervisor kills: the restart (main thread: it forks) ----------------- */

static int orphan_there(const struct tl_child *k)
{
	struct tl_stat st;

	return tl_proc_stat(k->pid, &st) == 0 && st.start == k->st.start && st.state != 'Z' &&
	       st.state != 'X';
}

static void orphan_kill(const struct tl_child *k)
{
	int pfd = pin_kid(k, 0);

	if (pfd >= 0) {
		pidfd_send_signal(pfd, SIGKILL, NULL, 0);
		close(pfd);
	}
}

/* The killed supervisor's children end by themselves once they read its
 * closed socket. A stopped one cannot: it gets the SIGKILL systemd's
 * KillMode=mixed sends what is left of the unit before a restart (there
 * after TimeoutStopSec, here at once). One still running ORPHAN_MS later
 * outlived its supervisor: counted, and killed. */
static void end_orphans(const struct tl_child *o, int n)
{
	uint64_t deadline = jbh_now_ms() + ORPHAN_MS;
	int left = n, stopped_seen[ORPHANS_MAX] = {0};

	while (left > 0 && jbh_now_ms() < deadline) {
		left = 0;
		for (int i = 0; i < n; i++) {
			struct tl_stat st;

			if (!orphan_there(&o[i]))
				continue;
			if (tl_proc_stat(o[i].pid, &st) == 0 && (st.state == 'T' || st.state == 't')) {
				if (!stopped_seen[i]++)
					supk.orphans_stopped++;
				orphan_kill(&o[i]);
			}
			left++;
		}
		if (left)
			jbh_sleep_ms(20);
	}
	for (int i = 0; i < n; i++) {
		if (!orphan_there(&o[i])) {
			supk.orphans_ended += !stopped_seen[i];
			continue;
		}
		supk.orphans_over++;
		fprintf(stderr, "chaos: %s %d still runs %u ms after its supervisor was killed\n",
			o[i].st.comm, (int)o[i].pid, ORPHAN_MS);
		orphan_kill(&o[i]);
	}
}

/* In the main loop: reap a supervisor the chaos thread killed and start
 * the next, same configuration, pins and outputs, once its delay is over.
 * -1 when the supervisor died without a kill of ours. */
static int sup_tend(void)
{
	struct tl_child o[ORPHANS_MAX];
	struct suprun *r;
	struct tl_stat st = {0};
	int down, n;
	uint64_t due;

	pthread_mutex_lock(&mu);
	down = sup_down;
	due = restart_at;
	pthread_mutex_unlock(&mu);
	if (!down) {
		if (jbh_alive(&A))
			return 0;
		pthread_mutex_lock(&mu);
		down = sup_down; /* a kill of ours may have come meanwhile */
		due = restart_at;
		pthread_mutex_unlock(&mu);
		if (!down) {
			supk.not_ours++;
			return -1;
		}
	}
	if (jbh_now_ms() < due)
		return 0;
	if (!A.reaped) {
		A.status = jbh_wait_exit(A.pid, SUP_REAP_MS);
		A.reaped = 1;
	}
	pthread_mutex_lock(&mu);
	r = &sups[nsups - 1];
	r->status = A.status;
	supk.not_ours += !(r->killed && A.status != -1 && WIFSIGNALED(A.status) &&
			   WTERMSIG(A.status) == SIGKILL);
	n = norphans;
	memcpy(o, orphans, sizeof(o));
	pthread_mutex_unlock(&mu);
	end_orphans(o, n);

	pthread_mutex_lock(&mu);
	r = &sups[nsups++]; /* the log lines from now on are the new one's */
	memset(r, 0, sizeof(*r));
	r->started = jbh_now_ms();
	pthread_mutex_unlock(&mu);
	jbh_restart(&A);
	tl_proc_stat(A.pid, &st);
	pthread_mutex_lock(&mu);
	r->pid = A.pid;
	r->start = st.start;
	sup_down = 0;
	pthread_mutex_unlock(&mu);
	return 0;
}

/* Supervisor kills use a pin directory of their own, outside the
 * harness's sweep of unheld jbtest* directories: another suite's sweep
 * must not remove it while no supervisor holds it (between a kill and
 * the restart's lock). The suite removes it after the test, and at
 * start what a killed check_chaos left (its pid in the name is gone). */
#define CHAOS_PINS "/sys/fs/bpf/jbchaos_"
static pid_t suite_pid;

static void chaos_pin_dir(char *buf, size_t n, pid_t pid)
{
	snprintf(buf, n, CHAOS_PINS "%d", (int)pid);
}

static void unpin_dead_chaos(void)
{
	DIR *d = opendir("/sys/fs/bpf");
	struct dirent *de;

	while (d && (de = readdir(d)) != NULL) {
		char path[512];
		int pid;

		if (sscanf(de->d_name, "jbchaos_%d", &pid) != 1 || pid <= 0 ||
		    (kill(pid, 0) == 0 || errno != ESRCH))
			continue;
		snprintf(path, sizeof(path), "/sys/fs/bpf/%s", de->d_name);
		jbh_unpin(path);
	}
	if (d)
		closedir(d);
}

static int all_ready(void)
{
	int ok = 1;

	pthread_mutex_lock(&mu);
	for (int k = 0; k < A.nkinds; k++)
		ok &= kst[k].ready && runs(kst[k].pid);
	pthread_mutex_unlock(&mu);
	return ok;
}

static void cont_stopped(void)
{
	struct tl_child kids[64];
	int n = tl_proc_children_stat(A.pid, kids, 64);

	for (int i = 0; i < n; i++) {
		int pfd;

		if (kids[i].st.state != 'T' || (pfd = pin_kid(&kids[i], A.pid)) < 0)
			continue;
		if (pidfd_send_signal(pfd, SIGCONT, NULL, 0) == 0)
			chaos.conted_at_end++;
		close(pfd);
	}
}

START_TEST(test_chaos)
{
	struct jbh_opts o = {.stdout_printer = 1, .no_fault_hooks = 1};
	pthread_t th_obs, th_chaos;
	uint64_t chaos_end, settle_end, obs_end, next;
	unsigned want;

	jb_config_defaults(&def);
	o.cadence_ms = def.cadence_ms;
	o.heartbeat_ms = def.heartbeat_ms;
	o.deadline_ms = def.heartbeat_deadline_ms;
	o.backoff_initial_ms = def.backoff_initial_ms;
	o.backoff_max_ms = def.backoff_max_ms;
	make_maps_conf();
	o.extra_conf = maps_conf[0] ? maps_conf : NULL;
	if (cfg.sup_s) {
		static char pins[128];

		chaos_pin_dir(pins, sizeof(pins), suite_pid);
		jbh_unpin(pins);
		o.pin_dir = pins;
	}

	run_id = (unsigned)getpid();
	maxtrig = (int)((uint64_t)cfg.chaos_s * 1000 / cfg.trigger_ms + 16);
	trig = calloc((size_t)maxtrig, sizeof(*trig));
	chaos.gone_ms = calloc(MAX_STOPPED, sizeof(unsigned));
	ck_assert(trig && chaos.gone_ms);
	make_dirs();

	jbh_start(&A, &o);
	nsups = 1;
	sups[0].pid = A.pid;
	sups[0].started = jbh_now_ms();
	{
		struct tl_stat st = {0};

		tl_proc_stat(A.pid, &st);
		sups[0].start = st.start;
	}
	jbh_wait_all_ready(&A, READY_MS);
	sups[0].running = jbh_now_ms(); /* the observer reads its line later */
	use_default_supervision();
	log_tail.path = A.log;
	out_tail[0].path = A.events;
	out_tail[1].path = A.out;
	obs_end = jbh_now_ms() + (cfg.chaos_s + cfg.settle_s) * 1000ULL + 60000;
	ck_assert_int_eq(pthread_create(&th_obs, NULL, observer, &obs_end), 0);

	/* chaos and triggers */
	chaos_t0 = jbh_now_ms();
	chaos_end = chaos_t0 + cfg.chaos_s * 1000ULL;
	chaos_on = 1;
	ck_assert_int_eq(pthread_create(&th_chaos, NULL, chaos_thread, &chaos_end), 0);
	next = jbh_now_ms();
	while (jbh_now_ms() < chaos_end && ntrig < maxtrig) {
		uint64_t now = jbh_now_ms();

		if (cfg.sup_s && sup_tend() < 0)
			break; /* died without a kill of ours: reported below */
		if (now < next) {
			jbh_sleep_ms((unsigned)(next - now));
			continue;
		}
		next += cfg.trigger_ms;
		run_trigger(ntrig++); /* the threads never read trig[]: no lock */
	}
	chaos_stop = 1;
	pthread_join(th_chaos, NULL);
	chaos_on = 0;
	/* a supervisor killed last is started again (3 s of delay at most) */
	for (uint64_t end = jbh_now_ms() + 3000 + ORPHAN_MS + SUP_REAP_MS + 5000;
	     cfg.sup_s && sup_down && !supk.not_ours && jbh_now_ms() < end; jbh_sleep_ms(50))
		sup_tend();
	watch_stopped(jbh_now_ms());
	for (int i = 0; i < nstopped; i++)
		chaos.stopped_pending += !stopped[i].done;
	cont_stopped();

	/* settle: every kind READY again, every trigger in both outputs */
	settle_end = jbh_now_ms() + cfg.settle_s * 1000ULL;
	want = (unsigned)(ntrig - trig_failed) * NPRINTERS;
	while (jbh_now_ms() < settle_end && jbh_alive(&A) && !(all_ready() && analyse(0) >= want))
		jbh_sleep_ms(200);
	printf("chaos: settled in %.1f s: every kind READY %s, %u of %u detections printed\n",
	       (jbh_now_ms() - chaos_end) / 1000.0, all_ready() ? "yes" : "NO", analyse(0), want);
	fflush(stdout);
	jbh_sleep_ms(QUIET_MS); /* the window for late duplicates */
	obs_stop = 1;
	pthread_join(th_obs, NULL);

	if (!jbh_alive(&A)) {
		/* jbh_stop would fail at once: show the figures first */
		for (int p = 0; p < NPRINTERS; p++) {
			late[p] = calloc((size_t)ntrig + 1, sizeof(unsigned));
			built[p] = calloc((size_t)ntrig + 1, sizeof(unsigned));
		}
		analyse(1);
		report();
		ck_abort_msg("the supervisor died (wait status 0x%x, log %s)", A.status, A.log);
	}
	jbh_stop(&A, STOP_MS); /* asserts exit 0 and that every child is gone */
	/* what shutdown printed and logged; the fds outlive the removed dir */
	pthread_mutex_lock(&mu);
	tail_poll(&log_tail, on_log_line, NULL);
	pthread_mutex_unlock(&mu);
	tail_poll(&out_tail[0], on_output_line, (void *)(intptr_t)0);
	tail_poll(&out_tail[1], on_output_line, (void *)(intptr_t)1);
	tail_close(&log_tail);
	tail_close(&out_tail[0]);
	tail_close(&out_tail[1]);

	for (int p = 0; p < NPRINTERS; p++) {
		late[p] = calloc((size_t)ntrig + 1, sizeof(unsigned));
		built[p] = calloc((size_t)ntrig + 1, sizeof(unsigned));
		ck_assert(late[p] && built[p]);
	}
	analyse(1);
	report();
	rmdir(dir_tmp); /* empty: each copy was removed after its run */
	rmdir(dir_bin);
	for (size_t j = 0; j < ndets; j++) {
		free(dets[j].exe);
		free(dets[j].args);
		free(dets[j].fpath);
	}

	/* a turn every 0.2-1 s; a turn finds no child while every kind waits
	 * out its back-off, so the signals are bounded loosely */
	ck_assert_msg(chaos.ticks >= cfg.chaos_s * 4 / 5 && chaos.kill + chaos.stop >=
		      cfg.chaos_s / 10, "%u turns and %u signals in %u s: the chaos did not "
		      "happen", chaos.ticks, chaos.kill + chaos.stop, cfg.chaos_s);
	ck_assert_msg(ntrig > 0 && trig_failed == 0, "%d of %d triggers failed to run", trig_failed,
		      ntrig);
	ck_assert_msg(sup_dead_samples == 0, "the supervisor was dead in %u samples",
		      (unsigned)sup_dead_samples);
	ck_assert_msg(supk.not_ours == 0, "%u supervisors ended without a SIGKILL of the test",
		      supk.not_ours);
	if (cfg.sup_s) {
		ck_assert_msg(supk.kills > 0 || cfg.chaos_s < cfg.sup_s * 3 / 2,
			      "no supervisor kill in %u s (JB_CHAOS_SUPERVISOR_S=%u)", cfg.chaos_s,
			      cfg.sup_s);
		ck_assert_msg(supk.orphans_over == 0, "%u children still ran %u ms after their "
			      "supervisor was killed", supk.orphans_over, ORPHAN_MS);
		for (int i = 1; i < nsups; i++)
			ck_assert_msg(sups[i].running && sups[i].resumed == 1 && !sups[i].replaced &&
				      !sups[i].fresh, "restart %d did not resume the pins (running %s, "
				      "resumed %u, replaced %u, fresh %u; log %s)", i,
				      sups[i].running ? "yes" : "no", sups[i].resumed,
				      sups[i].replaced, sups[i].fresh, A.log);
	}
	ck_assert_msg(chaos.stopped_over_bound == 0,
		      "%u stopped children were still there %u ms later: hang detection failed",
		      chaos.stopped_over_bound, cfg.stop_bound_ms);
	for (int p = 0; p < NPRINTERS; p++) {
		ck_assert_msg(pst[p].bad_lines == 0, "%u %s lines are not JSON objects",
			      pst[p].bad_lines, pname[p]);
		ck_assert_msg(tal[p].lost == 0, "%u of %u triggers LOST in the %s printer's output "
			      "(the maps evicted %llu records before any query saw them since the "
			      "agent started)", tal[p].lost, tal[p].ran, pname[p], kloss_evicted);
		ck_assert_msg(tal[p].wrong == 0, "%u WRONGLY ATTRIBUTED detections in the %s "
			      "printer's output", tal[p].wrong, pname[p]);
		/* a supervisor restart repeats what was printed before the
		 * kill with its uuid (router.c record_uuid), never anew */
		ck_assert_msg(!cfg.sup_s || tal[p].distinct == 0, "%u DUPLICATED lines with a "
			      "distinct uuid in the %s printer's output", tal[p].distinct, pname[p]);
	}
	/* with supervisor kills, a restart's BPF load takes seconds: reported only */
	for (int p = 0; p < NPRINTERS && cfg.p99_ms && !cfg.sup_s; p++) {
		unsigned p99 = pct(late[p], tal[p].nlate, 99);

		ck_assert_msg(p99 <= cfg.p99_ms, "p99 lateness in the %s printer's output is "
			      "%u ms, over the bound of %u ms (JB_CHAOS_P99_MS)", pname[p], p99,
			      cfg.p99_ms);
	}
}
END_TEST

static void sweep(void)
{
	char pins[128];

	jbh_kill_leftovers();
	chaos_pin_dir(pins, sizeof(pins), suite_pid);
	jbh_unpin(pins); /* a failed test's; a clean stop removed it already */
}

int main(void)
{
	Suite *s = suite_create("chaos");
	TCase *t = tcase_create("chaos");
	SRunner *sr;
	int failed;

	jbh_main_init("check_chaos");
	read_settings();
	suite_pid = getpid();
	unpin_dead_chaos();
	/* start-up, chaos, settling, the quiet window, the stop, and slack */
	tcase_set_timeout(t, (double)cfg.chaos_s + cfg.settle_s + 120);
	tcase_add_unchecked_fixture(t, NULL, sweep);
	tcase_add_test(t, test_chaos);
	suite_add_tcase(s, t);
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	jbh_kill_leftovers();
	return failed ? 1 : 0;
}
