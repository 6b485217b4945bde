/*
 * bench.c - the benchmark harness behind `make bench`.
 *
 *   bench --jibril BIN --conf FILE --bin-dir DIR --out results.json
 *         [--quick] [--rounds N] [--sections 12345]
 *
 * Measures, on the real kernel, and prints one table (stdout) plus the same
 * figures in a JSON file (jansson):
 *   1. host overhead: ns/op of the workloads in bench/workload.c with no
 *      agent, jibril (the given config, every detection on, the file printer
 *      as the measured output), the reference streaming agent and its floor
 *      (refagent --empty: empty programs on the same hooks), interleaved
 *      A B C D per round and a closing A; each round's ratios against the
 *      mean of the no-agent runs either side of it; medians, min-max; then
 *      jibril and the empty programs once more, untimed, with bpf_stats on:
 *      program time per operation, whose difference is jibril's own code;
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
 *
 * Invariants:
 *  - every loop is bounded in count and in time; every wait polls with a
 *    deadline; every child gets PR_SET_PDEATHSIG(SIGKILL) and is recorded,
 *    and an exit (normal, error or signal) kills what is left and removes
 *    the temp dirs (atexit; signals only set a flag that sleep_ms() acts on).
 *  - network traffic goes to 127.0.0.1 only (the workload's own listener).
 *  - jibril always runs with a temp copy of the given config: [printers]
 *    stdout = no, file = <tmp>/events.N.jsonl, every [workers] mechanism on;
 *    the query-cost instance also gets log_level = debug and files/links
 *    maps of at least 131072 entries. Nothing else is changed.
 *  - the JSON is written even when a section fails, with the failure in
 *    "errors"; the table is printed from that JSON, so both always agree.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <jansson.h>

#include "../bpf/jibril.h"

#define MAX_ROUNDS 50
#define MAX_LIVE 32
#define MAX_LEVELS 4
#define NWL 4
#define QC_MIN_ENTRIES 131072u

enum mode { M_NONE, M_JIBRIL, M_REF, M_EMPTY, M_N };
static const char *mode_name[M_N] = {"none", "jibril", "refagent", "refagent_empty"};
static const char *mode_label[M_N] = {"no agent", "jibril", "refagent", "refagent --empty"};
static const char *wl_name[NWL] = {"open", "exec", "connect", "mixed"};
static const char *jb_kinds[] = {"file_access", "execution", "network", "file"};
#define NKINDS 4

/* --- options ------------------------------------------------------------ */

static struct {
	const char *jibril, *conf, *bindir, *out, *sections;
	int quick, rounds;
	unsigned long long iters[NWL];
	unsigned open_files, idle_s, lat_trials, needle_trials, hay_mult, pairs_files;
	unsigned levels[MAX_LEVELS], nlevels, qc_cadences, ring_kb;
} O;

static char p_workload[PATH_MAX], p_tiny[PATH_MAX], p_ref[PATH_MAX];
static int have_ref;
static char g_tmp[64], g_shm[64], d_open[128], d_pairs[128], d_hay[128];
static unsigned cfg_cadence = 1000, cfg_files = 16384, cfg_links = 32768;
static unsigned hay_files;
static char *conf_src;	 /* the given config, verbatim */
static json_t *J, *J_errors, *J_notes;
static uint64_t rng = 0x9e3779b97f4a7c15ull;
static long clk_tck = 100;
static int instance_no;

static volatile sig_atomic_t g_sig;
static uint64_t g_t0;
static pid_t live[MAX_LIVE];
static pid_t main_pid;

/* --- small helpers ------------------------------------------------------ */

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void progress(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "[bench %6.1fs] ", (double)(mono_ns() - g_t0) / 1e9);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void error_(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "bench: error: %s\n", buf);
	json_array_append_new(J_errors, json_string(buf));
}

static void note(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "bench: note: %s\n", buf);
	json_array_append_new(J_notes, json_string(buf));
}

/* Sleeps, but a pending SIGINT/SIGTERM ends the run (cleanup via atexit). */
static void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	if (g_sig)
		exit(128 + g_sig);
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		if (g_sig)
			exit(128 + g_sig);
	if (g_sig)
		exit(128 + g_sig);
}

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(const double *v, int n)
{
	double t[1024];

	if (n <= 0 || n > 1024)
		return NAN;
	memcpy(t, v, sizeof(double) * (size_t)n);
	qsort(t, (size_t)n, sizeof(double), cmp_dbl);
	return n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
}

/* nearest-rank percentile */
static double pct(const double *v, int n, double p)
{
	double t[1024];
	int k;

	if (n <= 0 || n > 1024)
		return NAN;
	memcpy(t, v, sizeof(double) * (size_t)n);
	qsort(t, (size_t)n, sizeof(double), cmp_dbl);
	k = (int)ceil(p / 100.0 * n) - 1;
	if (k < 0)
		k = 0;
	if (k >= n)
		k = n - 1;
	return t[k];
}

static double vmin(const double *v, int n)
{
	double m = INFINITY;
	for (int i = 0; i < n; i++)
		if (v[i] < m)
			m = v[i];
	return n ? m : NAN;
}

static double vmax(const double *v, int n)
{
	double m = -INFINITY;
	for (int i = 0; i < n; i++)
		if (v[i] > m)
			m = v[i];
	return n ? m : NAN;
}

static json_t *jnum(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

static json_t *jarr(const double *v, int n)
{
	json_t *a = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(a, jnum(v[i]));
	return a;
}

/* "a.b.c" lookup; arrays by index ("levels.0.x") */
static json_t *jget(json_t *o, const char *path)
{
	char buf[256], *save = NULL, *tok;

	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, ".", &save); tok && o; tok = strtok_r(NULL, ".", &save)) {
		if (json_is_array(o))
			o = json_array_get(o, strtoul(tok, NULL, 10));
		else
			o = json_object_get(o, tok);
	}
	return o;
}

static double jd(json_t *o, const char *path)
{
	json_t *v = jget(o, path);
	return json_is_number(v) ? json_number_value(v) : NAN;
}

static char *slurp(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t cap = 8192, n = 0;
	char *buf;
	ssize_t r;

	if (fd < 0)
		return NULL;
	buf = malloc(cap);
	while (buf) {
		if (cap - n < 2) {
			char *nb = cap < (256u << 20) ? realloc(buf, cap * 2) : NULL;
			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		r = read(fd, buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (buf)
		buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

/* --- children: spawn, record, wait, clean up ----------------------------- */

static void live_add(pid_t p)
{
	for (int i = 0; i < MAX_LIVE; i++)
		if (live[i] <= 0) {
			live[i] = p;
			return;
		}
}

static void live_del(pid_t p)
{
	for (int i = 0; i < MAX_LIVE; i++)
		if (live[i] == p)
			live[i] = 0;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

static void rm_tree(const char *dir)
{
	if (dir[0] && (!strncmp(dir, "/tmp/jbbench.", 13) || !strncmp(dir, "/dev/shm/jbbench.", 17)))
		nftw(dir, rm_one, 32, FTW_DEPTH | FTW_PHYS);
}

static void cleanup(void)
{
	int any = 0;

	if (getpid() != main_pid)
		return;
	for (int i = 0; i < MAX_LIVE; i++)
		if (live[i] > 0) {
			kill(live[i], SIGTERM);
			any = 1;
		}
	/* give agents a moment to stop cleanly, then insist */
	for (int k = 0; any && k < 300; k++) {
		any = 0;
		for (int i = 0; i < MAX_LIVE; i++) {
			if (live[i] <= 0)
				continue;
			if (waitpid(live[i], NULL, WNOHANG) == live[i] || (kill(live[i], 0) < 0 && errno == ESRCH))
				live[i] = 0;
			else
				any = 1;
		}
		if (any) {
			struct timespec ts = {0, 10000000};
			nanosleep(&ts, NULL);
		}
	}
	for (int i = 0; i < MAX_LIVE; i++)
		if (live[i] > 0) {
			kill(live[i], SIGKILL);
			waitpid(live[i], NULL, 0);
			live[i] = 0;
		}
	rm_tree(g_shm);
	rm_tree(g_tmp);
}

static void on_signal(int sig)
{
	g_sig = sig;
}

/* fork+exec argv with fds in/out/err (-1: /dev/null); recorded for cleanup */
static pid_t spawn(char *const argv[], int in, int out, int err)
{
	pid_t parent = getpid(), p;

	fflush(NULL);
	p = fork();
	if (p < 0)
		return -1;
	if (p == 0) {
		int nul = open("/dev/null", O_RDWR);
		sigset_t none;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		signal(SIGPIPE, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (dup2(in >= 0 ? in : nul, 0) < 0 || dup2(out >= 0 ? out : nul, 1) < 0 ||
		    dup2(err >= 0 ? err : nul, 2) < 0)
			_exit(127);
		closefrom(3);
		execv(argv[0], argv);
		_exit(127);
	}
	live_add(p);
	return p;
}

/* wait status, or -1 after SIGKILL at the deadline */
static int wait_exit(pid_t p, unsigned timeout_ms)
{
	uint64_t deadline = mono_ns() + (uint64_t)timeout_ms * 1000000ull;
	int st;

	for (;;) {
		pid_t r = waitpid(p, &st, WNOHANG);
		if (r == p) {
			live_del(p);
			return st;
		}
		if (r < 0 && errno != EINTR) {
			live_del(p);
			return -1;
		}
		if (mono_ns() > deadline) {
			kill(p, SIGKILL);
			waitpid(p, &st, 0);
			live_del(p);
			return -1;
		}
		sleep_ms(2);
	}
}

/* Runs argv, its stdout captured into out; 0 when it exited 0. */
static int run_capture(char *const argv[], char *out, size_t outsz, unsigned timeout_ms, pid_t *pid_out)
{
	int pfd[2], st;
	size_t n = 0;
	pid_t p;
	uint64_t deadline = mono_ns() + (uint64_t)timeout_ms * 1000000ull;

	out[0] = '\0';
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	p = spawn(argv, -1, pfd[1], 2);
	close(pfd[1]);
	if (p < 0) {
		close(pfd[0]);
		return -1;
	}
	if (pid_out)
		*pid_out = p;
	for (;;) {
		struct pollfd pf = {pfd[0], POLLIN, 0};
		int r;

		if (mono_ns() > deadline) {
			kill(p, SIGKILL);
			break;
		}
		r = poll(&pf, 1, 50);
		if (g_sig)
			exit(128 + g_sig);
		if (r > 0) {
			char tmp[4096];
			ssize_t k = read(pfd[0], tmp, sizeof(tmp));
			if (k <= 0)
				break;
			if (n + (size_t)k < outsz) {
				memcpy(out + n, tmp, (size_t)k);
				n += (size_t)k;
				out[n] = '\0';
			}
		}
	}
	close(pfd[0]);
	st = wait_exit(p, mono_ns() > deadline ? 1000 : 5000);
	if (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		error_("%s %s: %s (output: %.200s)", argv[0], argv[1] ? argv[1] : "",
		       st < 0 ? "timed out" : "failed", out);
		return -1;
	}
	return 0;
}

/* value of " key=" in a key=value line; NAN when absent */
static double kv(const char *line, const char *key)
{
	size_t kl = strlen(key);

	for (const char *p = line; (p = strstr(p, key)); p += kl)
		if ((p == line || p[-1] == ' ') && p[kl] == '=')
			return strtod(p + kl + 1, NULL);
	return NAN;
}

/* bin-dir/workload CMD args... */
static int workload(char *out, size_t outsz, unsigned timeout_ms, pid_t *pid, const char *cmd, ...)
{
	char *argv[24];
	int n = 0;
	va_list ap;
	const char *a;

	argv[n++] = p_workload;
	argv[n++] = (char *)cmd;
	va_start(ap, cmd);
	while ((a = va_arg(ap, const char *)) && n < 20)
		argv[n++] = (char *)a;
	va_end(ap);
	argv[n] = NULL;
	return run_capture(argv, out, outsz, timeout_ms, pid);
}

/* --- following a growing file line by line ------------------------------ */

struct tail {
	char path[PATH_MAX];
	off_t off;
	char *buf;
	size_t n, cap;
};

static void tail_init(struct tail *t, const char *path)
{
	free(t->buf);
	memset(t, 0, sizeof(*t));
	snprintf(t->path, sizeof(t->path), "%s", path);
	t->cap = 1u << 20;
	t->buf = malloc(t->cap);
}

/* calls fn on each new complete line; returns how many */
static int tail_read(struct tail *t, void (*fn)(char *line, void *arg), void *arg)
{
	int fd, lines = 0;

	if (!t->buf || (fd = open(t->path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	for (int guard = 0; guard < 4096; guard++) {
		ssize_t r = pread(fd, t->buf + t->n, t->cap - 1 - t->n, t->off);
		char *s, *nl;

		if (r <= 0)
			break;
		t->off += r;
		t->n += (size_t)r;
		t->buf[t->n] = '\0';
		s = t->buf;
		while ((nl = memchr(s, '\n', t->n - (size_t)(s - t->buf)))) {
			*nl = '\0';
			fn(s, arg);
			lines++;
			s = nl + 1;
		}
		t->n -= (size_t)(s - t->buf);
		memmove(t->buf, s, t->n);
		if (t->n == t->cap - 1)
			t->n = 0; /* a line longer than 1 MiB: dropped */
	}
	close(fd);
	return lines;
}

/* pids seen in detections / HIT lines, with the time we first read them */
struct seen {
	pid_t pid;
	uint64_t t;
};
static struct seen *seen;
static size_t nseen, capseen;

static void seen_add(pid_t pid)
{
	for (size_t i = 0; i < nseen; i++)
		if (seen[i].pid == pid)
			return;
	if (nseen == capseen) {
		size_t nc = capseen ? capseen * 2 : 256;
		struct seen *ns = realloc(seen, nc * sizeof(*ns));
		if (!ns)
			return;
		seen = ns;
		capseen = nc;
	}
	seen[nseen].pid = pid;
	seen[nseen].t = mono_ns();
	nseen++;
}

static int seen_find(pid_t pid, uint64_t *t)
{
	for (size_t i = 0; i < nseen; i++)
		if (seen[i].pid == pid) {
			if (t)
				*t = seen[i].t;
			return 1;
		}
	return 0;
}

/* a file printer line: credentials_files_access -> its process.pid */
static void on_event_line(char *line, void *arg)
{
	json_t *ev, *pid;
	const char *kind;

	(void)arg;
	if (!strstr(line, "credentials_files_access"))
		return;
	ev = json_loads(line, 0, NULL);
	if (!ev)
		return;
	kind = json_string_value(json_object_get(ev, "kind"));
	pid = jget(ev, "process.pid");
	if (kind && !strcmp(kind, "credentials_files_access") && json_is_integer(pid))
		seen_add((pid_t)json_integer_value(pid));
	json_decref(ev);
}

/* --- /proc ---------------------------------------------------------------- */

static int proc_stat(pid_t pid, unsigned long long *ticks, pid_t *ppid, char *state, char *comm,
		     size_t cl)
{
	char path[64], buf[1024], *l, *r, st;
	unsigned long ut = 0, stt = 0;
	int fd, n, pp = 0;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = (int)read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	l = strchr(buf, '(');
	r = strrchr(buf, ')');
	if (!l || !r)
		return -1;
	if (sscanf(r + 2, "%c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &st, &pp, &ut, &stt) != 4)
		return -1;
	if (comm) {
		size_t k = (size_t)(r - l - 1);
		if (k >= cl)
			k = cl - 1;
		memcpy(comm, l + 1, k);
		comm[k] = '\0';
	}
	if (ticks)
		*ticks = ut + stt;
	if (ppid)
		*ppid = pp;
	if (state)
		*state = st;
	return 0;
}

/* root and its live direct children (jibril's children are direct) */
static int tree_pids(pid_t root, pid_t *out, int max)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;

	out[n++] = root;
	if (!d)
		return n;
	while ((e = readdir(d)) && n < max) {
		pid_t pid, pp;
		char st;

		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		pid = (pid_t)atoi(e->d_name);
		if (proc_stat(pid, NULL, &pp, &st, NULL, 0) == 0 && pp == root && st != 'Z')
			out[n++] = pid;
	}
	closedir(d);
	return n;
}

static unsigned long long tree_ticks(pid_t root)
{
	pid_t p[64];
	int n = tree_pids(root, p, 64);
	unsigned long long sum = 0, t;

	for (int i = 0; i < n; i++)
		if (proc_stat(p[i], &t, NULL, NULL, NULL, 0) == 0)
			sum += t;
	return sum;
}

/* a "Field:   N kB" value of /proc/PID/<file>; -1 when absent */
static long status_kib(pid_t pid, const char *file, const char *field)
{
	char path[64], *s, *p;
	long v = -1;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	s = slurp(path, NULL);
	if (!s)
		return -1;
	p = strstr(s, field);
	if (p)
		v = strtol(p + strlen(field), NULL, 10);
	free(s);
	return v;
}

/* VmHWM of root and its children: [{pid, comm, vmhwm_kib, vmrss_kib, rss_shmem_kib,
 * pss_kib}]; *sum is the sum of VmHWM, *pss the sum of the current PSS (which
 * counts pages shared between them, like the snapshot memfd, once) */
static json_t *tree_rss(pid_t root, long *sum, long *pss)
{
	pid_t p[64];
	int n = tree_pids(root, p, 64);
	json_t *a = json_array();

	*sum = 0;
	if (pss)
		*pss = 0;
	for (int i = 0; i < n; i++) {
		char comm[64] = "?";
		long hwm = status_kib(p[i], "status", "VmHWM:"), rss = status_kib(p[i], "status", "VmRSS:");
		long shm = status_kib(p[i], "status", "RssShmem:");
		long ps = status_kib(p[i], "smaps_rollup", "Pss:");

		proc_stat(p[i], NULL, NULL, NULL, comm, sizeof(comm));
		if (hwm < 0)
			continue;
		*sum += hwm;
		if (pss && ps > 0)
			*pss += ps;
		json_array_append_new(a, json_pack("{s:i, s:s, s:i, s:i, s:i, s:i}", "pid", (json_int_t)p[i],
						   "comm", comm, "vmhwm_kib", (json_int_t)hwm, "vmrss_kib",
						   (json_int_t)rss, "rss_shmem_kib", (json_int_t)shm, "pss_kib",
						   (json_int_t)ps));
	}
	return a;
}

static void map_name_of(__u32 id, char *name, size_t nl, __u32 *ksz, __u32 *vsz)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	int fd = bpf_map_get_fd_by_id(id);

	snprintf(name, nl, "?");
	if (fd < 0)
		return;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0) {
		snprintf(name, nl, "%s", info.name);
		if (ksz)
			*ksz = info.key_size;
		if (vsz)
			*vsz = info.value_size;
	}
	close(fd);
}

/* the ids of the BPF maps (prog 0) or programs (prog 1) held by pid's fds
 * (deduplicated) */
static int pid_bpf_ids(pid_t pid, int prog, __u32 *ids, int max)
{
	const char *anon = prog ? "anon_inode:bpf-prog" : "anon_inode:bpf-map";
	const char *field = prog ? "prog_id:" : "map_id:";
	char path[64], lnk[128], fi[PATH_MAX];
	DIR *d;
	struct dirent *e;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return 0;
	while ((e = readdir(d)) && n < max) {
		char *s, *p;
		ssize_t k;
		__u32 id;
		int dup = 0;

		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		snprintf(fi, sizeof(fi), "/proc/%d/fd/%s", (int)pid, e->d_name);
		k = readlink(fi, lnk, sizeof(lnk) - 1);
		if (k <= 0)
			continue;
		lnk[k] = '\0';
		if (strcmp(lnk, anon))
			continue;
		snprintf(fi, sizeof(fi), "/proc/%d/fdinfo/%s", (int)pid, e->d_name);
		s = slurp(fi, NULL);
		if (!s)
			continue;
		p = strstr(s, field);
		id = p ? (__u32)strtoul(p + strlen(field), NULL, 10) : 0;
		free(s);
		for (int i = 0; i < n; i++)
			dup |= ids[i] == id;
		if (id && !dup)
			ids[n++] = id;
	}
	closedir(d);
	return n;
}

/* maps held by pid: {memlock_bytes, memlock_mib, list: [{name, map_type, max_entries, memlock}]} */
static json_t *pid_maps(pid_t pid)
{
	char path[64], lnk[128], fi[PATH_MAX];
	DIR *d;
	struct dirent *e;
	json_t *list = json_array();
	unsigned long long sum = 0;
	__u32 seen_ids[256];
	int nids = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	while (d && (e = readdir(d))) {
		char *s, *p, name[32];
		ssize_t k;
		unsigned long long memlock = 0;
		unsigned type = 0, maxe = 0;
		__u32 id = 0;
		int dup = 0;

		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		snprintf(fi, sizeof(fi), "/proc/%d/fd/%s", (int)pid, e->d_name);
		k = readlink(fi, lnk, sizeof(lnk) - 1);
		if (k <= 0)
			continue;
		lnk[k] = '\0';
		if (strcmp(lnk, "anon_inode:bpf-map"))
			continue;
		snprintf(fi, sizeof(fi), "/proc/%d/fdinfo/%s", (int)pid, e->d_name);
		s = slurp(fi, NULL);
		if (!s)
			continue;
		if ((p = strstr(s, "map_type:")))
			type = (unsigned)strtoul(p + 9, NULL, 10);
		if ((p = strstr(s, "max_entries:")))
			maxe = (unsigned)strtoul(p + 12, NULL, 10);
		if ((p = strstr(s, "memlock:")))
			memlock = strtoull(p + 8, NULL, 10);
		if ((p = strstr(s, "map_id:")))
			id = (__u32)strtoul(p + 7, NULL, 10);
		free(s);
		for (int i = 0; i < nids; i++)
			dup |= seen_ids[i] == id;
		if (dup)
			continue;
		if (nids < 256)
			seen_ids[nids++] = id;
		map_name_of(id, name, sizeof(name), NULL, NULL);
		sum += memlock;
		json_array_append_new(list, json_pack("{s:s, s:i, s:i, s:I}", "name", name, "map_type",
						      (json_int_t)type, "max_entries", (json_int_t)maxe,
						      "memlock", (json_int_t)memlock));
	}
	if (d)
		closedir(d);
	return json_pack("{s:I, s:f, s:o}", "memlock_bytes", (json_int_t)sum, "memlock_mib",
			 sum / 1048576.0, "list", list);
}

/* BPF programs loaded right now (someone else's agent disturbs "no agent"):
 * {count, names: distinct names} */
static json_t *bpf_progs_loaded(void)
{
	json_t *names = json_array();
	__u32 id = 0;
	int n = 0;

	while (n < 100000 && bpf_prog_get_next_id(id, &id) == 0) {
		struct bpf_prog_info info;
		__u32 len = sizeof(info);
		int fd = bpf_prog_get_fd_by_id(id), dup = 0;

		n++;
		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && json_array_size(names) < 64) {
			for (size_t i = 0; i < json_array_size(names); i++)
				dup |= !strcmp(json_string_value(json_array_get(names, i)), info.name);
			if (!dup)
				json_array_append_new(names, json_string(info.name));
		}
		close(fd);
	}
	return json_pack("{s:i, s:o}", "count", (json_int_t)n, "names", names);
}

/* --- configuration: read values, write a modified copy -------------------- */

struct ov {
	const char *sec, *key;
	char val[PATH_MAX];
	int done;
};

static void trim(char *s)
{
	size_t n = strlen(s);
	char *p = s;

	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	while (isspace((unsigned char)*p))
		p++;
	memmove(s, p, strlen(p) + 1);
}

/* value of [sec] key in text (inline " ;" comments cut); 0 when found */
static int conf_get(const char *text, const char *sec, const char *key, char *out, size_t outsz)
{
	char cur[64] = "", line[8192];
	const char *p = text;
	int found = -1;

	while (p && *p) {
		const char *nl = strchr(p, '\n');
		size_t l = nl ? (size_t)(nl - p) : strlen(p);
		char *eq;

		if (l >= sizeof(line))
			l = sizeof(line) - 1;
		memcpy(line, p, l);
		line[l] = '\0';
		p = nl ? nl + 1 : NULL;
		trim(line);
		if (line[0] == '[') {
			char *e = strchr(line, ']');
			if (e)
				*e = '\0';
			snprintf(cur, sizeof(cur), "%.63s", line + 1);
			continue;
		}
		if (!line[0] || line[0] == '#' || line[0] == ';' || !(eq = strchr(line, '=')))
			continue;
		*eq = '\0';
		trim(line);
		if (strcmp(cur, sec) || strcmp(line, key))
			continue;
		for (char *c = eq + 1; *c; c++)
			if (*c == ';' && c > eq + 1 && isspace((unsigned char)c[-1])) {
				*c = '\0';
				break;
			}
		snprintf(out, outsz, "%s", eq + 1);
		trim(out);
		found = 0;
	}
	return found;
}

static unsigned conf_u(const char *sec, const char *key, unsigned dflt)
{
	char v[64];
	return conf_get(conf_src, sec, key, v, sizeof(v)) == 0 && v[0] ? (unsigned)strtoul(v, NULL, 10)
									 : dflt;
}

static void emit_pending(FILE *f, struct ov *ov, int n, const char *sec)
{
	for (int i = 0; i < n; i++)
		if (!ov[i].done && !strcmp(ov[i].sec, sec)) {
			fprintf(f, "%s = %s\n", ov[i].key, ov[i].val);
			ov[i].done = 1;
		}
}

/* the given config with overrides applied (added where missing); 0 on success */
static int conf_write(const char *dst, struct ov *ov, int n)
{
	FILE *f = fopen(dst, "w");
	char cur[64] = "", line[8192];
	const char *p = conf_src;

	if (!f)
		return -1;
	for (int i = 0; i < n; i++)
		ov[i].done = 0;
	fprintf(f, "# generated by bench/bench.c from %s\n", O.conf);
	while (p && *p) {
		const char *nl = strchr(p, '\n');
		size_t l = nl ? (size_t)(nl - p) : strlen(p);
		char key[128], *eq;
		int replaced = 0;

		if (l >= sizeof(line))
			l = sizeof(line) - 1;
		memcpy(line, p, l);
		line[l] = '\0';
		p = nl ? nl + 1 : NULL;
		if (line[0] == '[') {
			char *e = strchr(line, ']');
			emit_pending(f, ov, n, cur);
			snprintf(cur, sizeof(cur), "%.*s", e ? (int)(e - line - 1) : 0, line + 1);
		} else if (line[0] != '#' && line[0] != ';' && (eq = strchr(line, '='))) {
			snprintf(key, sizeof(key), "%.*s", (int)(eq - line), line);
			trim(key);
			for (int i = 0; i < n; i++)
				if (!strcmp(ov[i].sec, cur) && !strcmp(ov[i].key, key)) {
					fprintf(f, "%s = %s\n", key, ov[i].val);
					ov[i].done = 1;
					replaced = 1;
				}
		}
		if (!replaced)
			fprintf(f, "%s\n", line);
	}
	emit_pending(f, ov, n, cur);
	for (int i = 0; i < n; i++)
		if (!ov[i].done) {
			fprintf(f, "[%s]\n", ov[i].sec);
			emit_pending(f, ov, n, ov[i].sec);
		}
	return fclose(f);
}

/* --- agents ---------------------------------------------------------------- */

struct cad {
	unsigned long long seq;
	double query, snap, handoff;
	unsigned tasks, files, links, flows, sent_links;
};

struct jib {
	pid_t pid;
	int reaped, status;
	char conf[PATH_MAX], log[PATH_MAX], events[PATH_MAX];
	struct tail logt;
	unsigned ready_mask, restarts;
	struct cad *cads;
	size_t ncad, capcad;
	char loss[512];
};

static void on_jlog_line(char *line, void *arg)
{
	struct jib *j = arg;
	char *p;

	if (strstr(line, "-> READY"))
		for (int k = 0; k < NKINDS; k++) {
			char want[48];
			snprintf(want, sizeof(want), ": %s[", jb_kinds[k]);
			if (strstr(line, want))
				j->ready_mask |= 1u << k;
		}
	if (strstr(line, "restarting in"))
		j->restarts++;
	if ((p = strstr(line, "kernel loss so far")))
		snprintf(j->loss, sizeof(j->loss), "%s", p);
	if ((p = strstr(line, ": cadence "))) {
		struct cad c;
		memset(&c, 0, sizeof(c));
		/* the collector reads the files maps only for changed links:
		 * its line has no files count (c.files stays 0) */
		if (sscanf(p, ": cadence %llu: query %lf ms, snapshot %lf ms, hand-off %lf ms; maps %u "
			      "tasks %u links %u flows; sent %*u tasks %*u files %u links",
			   &c.seq, &c.query, &c.snap, &c.handoff, &c.tasks, &c.links, &c.flows,
			   &c.sent_links) >= 7) {
			if (j->ncad == j->capcad) {
				size_t nc = j->capcad ? j->capcad * 2 : 64;
				struct cad *nb = realloc(j->cads, nc * sizeof(*nb));
				if (!nb)
					return;
				j->cads = nb;
				j->capcad = nc;
			}
			j->cads[j->ncad++] = c;
		}
	}
}

static int jib_alive(struct jib *j)
{
	if (j->reaped)
		return 0;
	if (waitpid(j->pid, &j->status, WNOHANG) == j->pid) {
		j->reaped = 1;
		live_del(j->pid);
		return 0;
	}
	return 1;
}

static void jib_poll(struct jib *j)
{
	tail_read(&j->logt, on_jlog_line, j);
}

static void log_tail_to_errors(const char *path)
{
	size_t n;
	char *s = slurp(path, &n), *p;
	int lines = 0;

	if (!s)
		return;
	p = s + n;
	while (p > s && lines < 8)
		if (*--p == '\n')
			lines++;
	error_("last lines of %s:\n%s", path, p);
	free(s);
}

/* Writes a config for this instance and starts jibril; 0 once every child is READY. */
static int jib_start_(struct jib *j, int query_cost, char **conf_text);

/* a failed start leaves nothing running */
static int jib_start(struct jib *j, int query_cost, char **conf_text)
{
	int r = jib_start_(j, query_cost, conf_text);

	if (r < 0 && j->pid > 0 && jib_alive(j)) {
		kill(j->pid, SIGTERM);
		if (wait_exit(j->pid, 5000) >= 0)
			j->reaped = 1;
	}
	return r;
}

static int jib_start_(struct jib *j, int query_cost, char **conf_text)
{
	struct ov ov[12];
	int n = 0, lf;
	uint64_t deadline;
	char *argv[4];

	memset(j, 0, sizeof(*j));
	j->pid = -1;
	instance_no++;
	snprintf(j->conf, sizeof(j->conf), "%s/jibril.%d.conf", g_tmp, instance_no);
	snprintf(j->log, sizeof(j->log), "%s/jibril.%d.log", g_tmp, instance_no);
	snprintf(j->events, sizeof(j->events), "%s/events.%d.jsonl", g_tmp, instance_no);
#define OV(s, k, fmt, ...)                                                                         \
	do {                                                                                       \
		ov[n].sec = s;                                                                     \
		ov[n].key = k;                                                                     \
		snprintf(ov[n].val, sizeof(ov[n].val), fmt, __VA_ARGS__);                          \
		n++;                                                                               \
	} while (0)
	OV("printers", "stdout", "%s", "no");
	OV("printers", "file", "%s", j->events);
	OV("workers", "file_access", "%s", "yes");
	OV("workers", "execution", "%s", "yes");
	OV("workers", "network", "%s", "yes");
	if (query_cost) {
		OV("agent", "log_level", "%s", "debug");
		OV("maps", "files", "%u", cfg_files > QC_MIN_ENTRIES ? cfg_files : QC_MIN_ENTRIES);
		OV("maps", "links", "%u", cfg_links > QC_MIN_ENTRIES ? cfg_links : QC_MIN_ENTRIES);
	}
#undef OV
	if (conf_write(j->conf, ov, n) < 0) {
		error_("cannot write %s: %s", j->conf, strerror(errno));
		return -1;
	}
	if (conf_text && !*conf_text)
		*conf_text = slurp(j->conf, NULL);
	lf = open(j->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (lf < 0)
		return -1;
	argv[0] = (char *)O.jibril;
	argv[1] = "--config";
	argv[2] = j->conf;
	argv[3] = NULL;
	j->pid = spawn(argv, -1, -1, lf);
	close(lf);
	if (j->pid < 0) {
		error_("cannot start %s", O.jibril);
		return -1;
	}
	tail_init(&j->logt, j->log);
	deadline = mono_ns() + 20000ull * 1000000ull;
	while (j->ready_mask != (1u << NKINDS) - 1) {
		jib_poll(j);
		if (!jib_alive(j)) {
			error_("jibril exited during start-up (status 0x%x)", j->status);
			log_tail_to_errors(j->log);
			return -1;
		}
		if (mono_ns() > deadline) {
			error_("jibril: not every child READY within 20 s");
			log_tail_to_errors(j->log);
			return -1;
		}
		sleep_ms(10);
	}
	return 0;
}

static int jib_stop(struct jib *j)
{
	uint64_t deadline;

	if (j->pid <= 0)
		return -1;
	jib_poll(j);
	if (j->restarts)
		note("jibril instance %s: %u child restart(s) logged", j->log, j->restarts);
	if (j->loss[0])
		note("jibril instance %s: %s", j->log, j->loss);
	if (!jib_alive(j)) {
		error_("jibril died before it was stopped (status 0x%x)", j->status);
		log_tail_to_errors(j->log);
		return -1;
	}
	kill(j->pid, SIGTERM);
	deadline = mono_ns() + 10000ull * 1000000ull;
	while (jib_alive(j) && mono_ns() < deadline)
		sleep_ms(10);
	if (!j->reaped) {
		kill(j->pid, SIGKILL);
		wait_exit(j->pid, 2000);
		error_("jibril did not stop within 10 s of SIGTERM");
		return -1;
	}
	if (!WIFEXITED(j->status) || WEXITSTATUS(j->status) != 0)
		note("jibril ended with wait status 0x%x on SIGTERM", j->status);
	free(j->logt.buf);
	j->logt.buf = NULL;
	return 0;
}

/* waits until the log shows n cadence lines with seq > after; 0 when it does */
static int jib_wait_cadences(struct jib *j, unsigned long long after, unsigned n, unsigned timeout_ms)
{
	uint64_t deadline = mono_ns() + (uint64_t)timeout_ms * 1000000ull;

	for (;;) {
		unsigned k = 0;
		jib_poll(j);
		for (size_t i = 0; i < j->ncad; i++)
			k += j->cads[i].seq > after;
		if (k >= n)
			return 0;
		if (mono_ns() > deadline || !jib_alive(j))
			return -1;
		sleep_ms(20);
	}
}

static unsigned long long jib_last_seq(struct jib *j)
{
	jib_poll(j);
	return j->ncad ? j->cads[j->ncad - 1].seq : 0;
}

/* reference agent */
struct ref {
	pid_t pid;
	int reaped, status, ready;
	char out[PATH_MAX], err[PATH_MAX];
	struct tail t;
	json_t *summary;
};

static void on_ref_line(char *line, void *arg)
{
	struct ref *r = arg;
	int pid;

	if (!strcmp(line, "READY"))
		r->ready = 1;
	else if (sscanf(line, "HIT %d", &pid) == 1)
		seen_add(pid);
	else if (line[0] == '{') {
		json_t *o = json_loads(line, 0, NULL);
		if (o) {
			json_decref(r->summary);
			r->summary = o;
		}
	}
}

static int ref_start(struct ref *r, const char *const *extra)
{
	char *argv[24], ring[16];
	int n = 0, of, ef;
	uint64_t deadline;

	memset(r, 0, sizeof(*r));
	instance_no++;
	snprintf(r->out, sizeof(r->out), "%s/refagent.%d.out", g_tmp, instance_no);
	snprintf(r->err, sizeof(r->err), "%s/refagent.%d.err", g_tmp, instance_no);
	snprintf(ring, sizeof(ring), "%u", O.ring_kb);
	argv[n++] = p_ref;
	argv[n++] = "--ring-kb";
	argv[n++] = ring;
	for (int i = 0; extra && extra[i] && n < 22; i++)
		argv[n++] = (char *)extra[i];
	argv[n] = NULL;
	of = open(r->out, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	ef = open(r->err, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (of < 0 || ef < 0)
		return -1;
	r->pid = spawn(argv, -1, of, ef);
	close(of);
	close(ef);
	if (r->pid < 0)
		return -1;
	tail_init(&r->t, r->out);
	deadline = mono_ns() + 20000ull * 1000000ull;
	while (!r->ready) {
		tail_read(&r->t, on_ref_line, r);
		if (waitpid(r->pid, &r->status, WNOHANG) == r->pid) {
			r->reaped = 1;
			live_del(r->pid);
			error_("refagent exited during start-up (status 0x%x)", r->status);
			log_tail_to_errors(r->err);
			return -1;
		}
		if (mono_ns() > deadline) {
			error_("refagent: no READY within 20 s");
			log_tail_to_errors(r->err);
			kill(r->pid, SIGTERM);
			wait_exit(r->pid, 5000);
			return -1;
		}
		sleep_ms(5);
	}
	return 0;
}

static void ref_poll(struct ref *r)
{
	tail_read(&r->t, on_ref_line, r);
}

/* SIGINT, then its JSON summary line (r->summary) */
static int ref_stop(struct ref *r)
{
	int st;

	if (r->pid <= 0)
		return -1;
	kill(r->pid, SIGINT);
	st = wait_exit(r->pid, 10000);
	ref_poll(r);
	free(r->t.buf);
	r->t.buf = NULL;
	if (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		error_("refagent did not exit 0 on SIGINT (status 0x%x)", st);
		log_tail_to_errors(r->err);
		return -1;
	}
	if (!r->summary) {
		error_("refagent printed no JSON summary line");
		return -1;
	}
	return 0;
}

/* --- section 1: host overhead ---------------------------------------------- */

/* one more row than rounds: the closing no-agent run (see section_overhead()) */
static double ns_r[MAX_ROUNDS + 1][M_N][NWL];
static double cpu_r[MAX_ROUNDS][M_N];
static long rss_best_sum = -1, rss_best_pss = -1;
static double cpu_ticks_r[MAX_ROUNDS][M_N], wall_r[MAX_ROUNDS][M_N];
static json_t *rss_best, *ref_rss;
static long ref_rss_sum = -1;

static int run_wl(int w, double *ns)
{
	char out[1024], it[32], nf[32];

	snprintf(it, sizeof(it), "%llu", O.iters[w]);
	snprintf(nf, sizeof(nf), "%u", O.open_files);
	switch (w) {
	case 0:
		if (workload(out, sizeof(out), 120000, NULL, "open", "--dir", d_open, "--files", nf,
			     "--iters", it, NULL) < 0)
			return -1;
		break;
	case 1:
		if (workload(out, sizeof(out), 120000, NULL, "exec", "--tiny", p_tiny, "--iters", it,
			     NULL) < 0)
			return -1;
		break;
	case 2:
		if (workload(out, sizeof(out), 120000, NULL, "connect", "--iters", it, NULL) < 0)
			return -1;
		break;
	default:
		if (workload(out, sizeof(out), 120000, NULL, "mixed", "--dir", d_open, "--files", nf,
			     "--tiny", p_tiny, "--iters", it, NULL) < 0)
			return -1;
		break;
	}
	*ns = kv(out, "ns_per_op");
	return isfinite(*ns) ? 0 : -1;
}

static int modes_avail(int m)
{
	return m == M_NONE || m == M_JIBRIL || have_ref;
}

static void section_overhead(json_t *conf_texts)
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
			double wall = 0;
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
				sleep_ms(cfg_cadence + 200); /* first cadence (back-fill) done */
				t0 = tree_ticks(j.pid);
			} else if (m == M_REF || m == M_EMPTY) {
				if (ref_start(&rf, m == M_EMPTY ? empty : NULL) < 0) {
					failed = 1;
					break;
				}
				sleep_ms(200);
				t0 = tree_ticks(rf.pid);
			} else {
				/* the previous agent's programs are freed after
				 * an RCU grace period: wait for them, bounded */
				json_t *bp = bpf_progs_loaded();
				for (int k = 0; k < 100 && jd(bp, "count") > 0; k++) {
					json_decref(bp);
					sleep_ms(50);
					bp = bpf_progs_loaded();
				}
				if (jd(bp, "count") > 0)
					note("round %d: %.0f BPF program(s) loaded during the no-agent run "
					     "(%s...; another agent, or ours still being freed): this "
					     "round's figures may be disturbed",
					     r + 1, jd(bp, "count"),
					     json_string_value(jget(bp, "names.0")) ?: "?");
				json_object_set_new(M, "bpf_progs_loaded", bp);
			}
			for (int w = 0; w < NWL && !failed; w++) {
				uint64_t a = mono_ns();
				if (run_wl(w, &ns_r[r][m][w]) < 0)
					failed = 1;
				wall += (double)(mono_ns() - a) / 1e9;
				json_object_set_new(M, wl_name[w], jnum(ns_r[r][m][w]));
			}
			if (m == M_JIBRIL) {
				long sum, pss;
				json_t *rss;

				/* what the workloads left is processed in the next cadence */
				sleep_ms(cfg_cadence + 300);
				t1 = tree_ticks(j.pid);
				cpu_r[r][m] = (double)(t1 - t0) / (double)clk_tck / wall * 100.0;
				cpu_ticks_r[r][m] = (double)(t1 - t0);
				wall_r[r][m] = wall;
				rss = tree_rss(j.pid, &sum, &pss);
				if (sum > rss_best_sum) {
					rss_best_sum = sum;
					rss_best_pss = pss;
					json_decref(rss_best);
					rss_best = rss;
				} else {
					json_decref(rss);
				}
				if (jib_stop(&j) < 0)
					failed = 1;
			} else if (m == M_REF || m == M_EMPTY) {
				long sum;
				json_t *rss;

				sleep_ms(300);
				t1 = tree_ticks(rf.pid);
				cpu_r[r][m] = (double)(t1 - t0) / (double)clk_tck / wall * 100.0;
				cpu_ticks_r[r][m] = (double)(t1 - t0);
				wall_r[r][m] = wall;
				rss = tree_rss(rf.pid, &sum, NULL);
				if (m == M_REF && sum > ref_rss_sum) {
					ref_rss_sum = sum;
					json_decref(ref_rss);
					ref_rss = rss;
				} else {
					json_decref(rss);
				}
				if (ref_stop(&rf) < 0)
					failed = 1;
				else
					json_object_set(M, "summary", rf.summary);
				json_decref(rf.summary);
			}
			if (m != M_NONE)
				json_object_set_new(M, "agent_cpu_pct_per_workload_s", jnum(cpu_r[r][m]));
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

/* --- section 1, second part: program time per operation (bpf_stats) -------- */

/* run time and run count, summed over the programs ids name */
static void prog_totals(const __u32 *ids, int n, double *ns, double *runs)
{
	*ns = *runs = 0;
	for (int i = 0; i < n; i++) {
		struct bpf_prog_info info;
		__u32 len = sizeof(info);
		int fd = bpf_prog_get_fd_by_id(ids[i]);

		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0) {
			*ns += (double)info.run_time_ns;
			*runs += (double)info.run_cnt;
		}
		close(fd);
	}
}

/* One agent (M_JIBRIL or M_EMPTY) started afresh, every workload run once
 * with the kernel's run-time statistics on: the time its programs ran, per
 * operation. NULL when it could not be measured (said in "errors"). */
static json_t *program_time_of(int m)
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
	sleep_ms(m == M_JIBRIL ? cfg_cadence + 200 : 200);
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
		failed = run_wl(w, &op) < 0;
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

/* jibril's programs against empty ones on the same hooks, each in its own
 * untimed run: what jibril's code adds per operation, free of the timing
 * noise of the ratios (bpf_stats' own two clock reads per run are in both,
 * and cancel out). Written under overhead.program_time. */
static void section_program_time(void)
{
	json_t *S = jget(J, "overhead"), *P, *jb, *em, *own;

	if (!S || !jget(S, "workloads") || !have_ref)
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

/* --- sections 2, 4, 5 on one default-config jibril ------------------------- */

static int want(char s)
{
	return strchr(O.sections, s) != NULL;
}

static json_t *cost_stats(int m)
{
	double v[MAX_ROUNDS], ticks = 0, wall = 0;
	int n = 0;

	for (int r = 0; r < O.rounds; r++)
		if (isfinite(cpu_r[r][m])) {
			v[n++] = cpu_r[r][m];
			ticks += cpu_ticks_r[r][m];
			wall += wall_r[r][m];
		}
	/* all rounds together: less quantised by the 10 ms tick than any one round */
	return json_pack("{s:o, s:o, s:o, s:o, s:o}", "median", jnum(median(v, n)), "min", jnum(vmin(v, n)),
			 "max", jnum(vmax(v, n)), "all_rounds",
			 jnum(wall > 0 ? ticks / (double)clk_tck / wall * 100.0 : NAN), "rounds", jarr(v, n));
}

struct tset { /* sorted u64 set */
	uint64_t *v;
	size_t n, cap;
};

static void tset_add(struct tset *s, uint64_t x)
{
	if (s->n == s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 1024;
		uint64_t *nv = realloc(s->v, nc * sizeof(*nv));
		if (!nv)
			return;
		s->v = nv;
		s->cap = nc;
	}
	s->v[s->n++] = x;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void tset_sort(struct tset *s)
{
	size_t k = 0;

	if (!s->n)
		return;
	qsort(s->v, s->n, sizeof(uint64_t), cmp_u64);
	for (size_t i = 1; i < s->n; i++)
		if (s->v[i] != s->v[k])
			s->v[++k] = s->v[i];
	s->n = k + 1;
}

static int tset_has(const struct tset *s, uint64_t x)
{
	return s->n && bsearch(&x, s->v, s->n, sizeof(uint64_t), cmp_u64) != NULL;
}

/* iterate a map: get_next_key + lookup, bounded */
static int map_each(int fd, size_t ksz, size_t vsz, void (*fn)(const void *k, const void *v, void *a),
		    void *arg)
{
	unsigned char cur[64], prev[64];
	void *val = malloc(vsz), *pk = NULL;
	int n = 0;

	if (!val || ksz > sizeof(cur))
		return -1;
	while (n < 20000000 && bpf_map_get_next_key(fd, pk, cur) == 0) {
		if (bpf_map_lookup_elem(fd, cur, val) == 0)
			fn(cur, val, arg);
		memcpy(prev, cur, ksz);
		pk = prev;
		n++;
	}
	free(val);
	return n;
}

struct pairs_ctx {
	pid_t tgid;
	const char *prefix;
	size_t plen;
	struct tset tasks, files, pairs_task, pairs_any;
};

static void on_task(const void *k, const void *v, void *a)
{
	const struct jb_task *t = v;
	struct pairs_ctx *c = a;
	(void)k;
	if (t->tgid == (__u32)c->tgid)
		tset_add(&c->tasks, t->key);
}

static void on_file(const void *k, const void *v, void *a)
{
	const struct jb_file *f = v;
	struct pairs_ctx *c = a;
	(void)k;
	if (!strncmp(f->path, c->prefix, c->plen))
		tset_add(&c->files, f->key);
}

static void on_link(const void *k, const void *v, void *a)
{
	const struct jb_link_key *lk = k;
	struct pairs_ctx *c = a;
	(void)v;
	if (!tset_has(&c->files, lk->file_key))
		return;
	tset_add(&c->pairs_any, lk->task_key ^ jb_mix64(lk->file_key));
	if (tset_has(&c->tasks, lk->task_key))
		tset_add(&c->pairs_task, lk->task_key ^ jb_mix64(lk->file_key));
}

/* distinct (storm task, file under prefix) pairs in jibril's maps */
static json_t *jib_pairs(pid_t sup, pid_t storm, const char *prefix)
{
	/* tasks, files and links, each with its protected ("hot") twin if present */
	static const char *want_names[] = {"jb_tasks", "jb_tasks_hot", "jb_files", "jb_files_hot",
					   "jb_links", "jb_links_hot"};
	static const size_t ksz[] = {8, 8, 8, 8, sizeof(struct jb_link_key), sizeof(struct jb_link_key)};
	static const size_t vsz[] = {sizeof(struct jb_task), sizeof(struct jb_task), sizeof(struct jb_file),
				     sizeof(struct jb_file), sizeof(struct jb_link), sizeof(struct jb_link)};
	static void (*const fn[])(const void *, const void *, void *) = {on_task, on_task, on_file,
									   on_file, on_link, on_link};
	int fds[6] = {-1, -1, -1, -1, -1, -1};
	__u32 ids[256], id = 0;
	int nids = pid_bpf_ids(sup, 0, ids, 256), from_fdinfo = 1;
	struct pairs_ctx c;
	json_t *used = json_array(), *res;

	memset(&c, 0, sizeof(c));
	c.tgid = storm;
	c.prefix = prefix;
	c.plen = strlen(prefix);
	if (nids == 0) { /* fall back to every map in the system */
		from_fdinfo = 0;
		while (nids < 256 && bpf_map_get_next_id(id, &id) == 0)
			ids[nids++] = id;
	}
	for (int i = 0; i < nids; i++) {
		char name[32];
		__u32 ks = 0, vs = 0;

		map_name_of(ids[i], name, sizeof(name), &ks, &vs);
		for (int k = 0; k < 6; k++)
			if (fds[k] < 0 && !strcmp(name, want_names[k])) {
				if (ks != ksz[k] || vs != vsz[k]) {
					note("map %s has key/value size %u/%u, expected %zu/%zu: not read",
					     name, ks, vs, ksz[k], vsz[k]);
					continue;
				}
				fds[k] = bpf_map_get_fd_by_id(ids[i]);
				if (fds[k] >= 0)
					json_array_append_new(used, json_string(name));
			}
	}
	if (fds[0] < 0 || fds[2] < 0 || fds[4] < 0) {
		error_("pairs: jibril's jb_tasks/jb_files/jb_links maps not found (%s)",
		       from_fdinfo ? "supervisor fds" : "system-wide scan");
		for (int k = 0; k < 6; k++)
			if (fds[k] >= 0)
				close(fds[k]);
		json_decref(used);
		return NULL;
	}
	/* in order: tasks (both), files (both), then links against those sets */
	for (int k = 0; k < 6; k++) {
		if (k == 2)
			tset_sort(&c.tasks);
		if (k == 4)
			tset_sort(&c.files);
		if (fds[k] >= 0)
			map_each(fds[k], ksz[k], vsz[k], fn[k], &c);
	}
	tset_sort(&c.pairs_task);
	tset_sort(&c.pairs_any);
	res = json_pack("{s:I, s:I, s:I, s:I, s:o}", "pairs", (json_int_t)c.pairs_task.n,
			"links_in_dir_any_task", (json_int_t)c.pairs_any.n, "files_in_dir",
			(json_int_t)c.files.n, "storm_task_keys", (json_int_t)c.tasks.n, "maps_read", used);
	for (int k = 0; k < 6; k++)
		if (fds[k] >= 0)
			close(fds[k]);
	free(c.tasks.v);
	free(c.files.v);
	free(c.pairs_task.v);
	free(c.pairs_any.v);
	return res;
}

/*
 * The cat of trial i: a copy of /bin/cat of its own. The credentials recipe
 * limits detections per process and per chain of executables (times), so
 * fifty identical `cat /etc/shadow` from the same parent would be five
 * detections and a suppression summary, by design. A copy per trial makes
 * each trial a new chain: what is measured is detection, not the limit.
 */
static const char *reader(unsigned i)
{
	static char path[128];
	char buf[65536];
	ssize_t n;
	int in, out;

	snprintf(path, sizeof(path), "%s/cat.%u", g_tmp, i);
	if (access(path, X_OK) == 0)
		return path;
	in = open("/bin/cat", O_RDONLY | O_CLOEXEC);
	out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			break;
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	return access(path, X_OK) == 0 ? path : "/bin/cat";
}

/* one storm over d with an optional needle (read by reader(trial));
 * fills storm pid / needle pid and time */
static int storm(const char *dir, unsigned files, int needle, unsigned trial, pid_t *spid,
		 pid_t *npid, uint64_t *nns, double *storm_ms)
{
	char out[1024], nf[32];

	snprintf(nf, sizeof(nf), "%u", files);
	if (workload(out, sizeof(out), 180000, spid, "storm", "--dir", dir, "--files", nf, "--reader",
		     reader(1000 + trial), needle ? "--needle" : NULL, "/etc/shadow", NULL) < 0)
		return -1;
	if (storm_ms)
		*storm_ms = kv(out, "ns") / 1e6;
	if (needle) {
		double p = kv(out, "needle_pid"), t = kv(out, "needle_mono_ns");
		if (!isfinite(p) || !isfinite(t) || p <= 0)
			return -1;
		*npid = (pid_t)p;
		*nns = (uint64_t)t;
	}
	return 0;
}

static void section_main(json_t *conf_texts)
{
	struct jib j;
	struct tail ev;
	json_t *cost = json_object(), *lat = NULL, *needle = NULL, *pairs = NULL;
	char *conf_text = NULL;

	memset(&ev, 0, sizeof(ev));
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
	sleep_ms(2 * cfg_cadence + 200);
	tail_init(&ev, j.events);

	if (want('2')) {
		unsigned long long t0, t1;
		uint64_t a, b;

		progress("2. agent cost: idle window %u s", O.idle_s);
		a = mono_ns();
		t0 = tree_ticks(j.pid);
		sleep_ms(O.idle_s * 1000);
		t1 = tree_ticks(j.pid);
		b = mono_ns();
		json_object_set_new(cost, "idle",
				    json_pack("{s:f, s:o, s:I}", "window_s", (double)(b - a) / 1e9, "cpu_pct",
					      jnum((double)(t1 - t0) / (double)clk_tck /
						   ((double)(b - a) / 1e9) * 100.0),
					      "ticks", (json_int_t)(t1 - t0)));
	}
	if (want('5')) {
		pid_t sp = -1;

		progress("5. pairs: jibril, storm over %u files", O.pairs_files);
		if (storm(d_pairs, O.pairs_files, 0, 0, &sp, NULL, NULL, NULL) == 0) {
			char prefix[160];
			sleep_ms(cfg_cadence + 300);
			snprintf(prefix, sizeof(prefix), "%s/", d_pairs);
			pairs = jib_pairs(j.pid, sp, prefix);
			if (pairs)
				json_object_set_new(pairs, "storm_pid", json_integer(sp));
		}
	}
	if (want('4')) {
		double lat_ms[1024];
		int nd = 0, missed = 0;
		json_t *samples = json_array();

		nseen = 0;
		progress("4. detection latency: %u trials", O.lat_trials);
		for (unsigned i = 0; i < O.lat_trials && i < 1024; i++) {
			uint64_t t0, deadline, seen_t;
			pid_t p;
			int st;

			const char *rd = reader(i);
			sleep_ms((unsigned)(rnd() % cfg_cadence)); /* uniform phase against the cadence */
			t0 = mono_ns();
			p = fork();
			if (p < 0) {
				error_("fork: %s", strerror(errno));
				break;
			}
			if (p == 0) {
				int nul = open("/dev/null", O_RDWR);
				prctl(PR_SET_PDEATHSIG, SIGKILL);
				if (nul < 0 || dup2(nul, 0) < 0 || dup2(nul, 1) < 0)
					_exit(126);
				execl(rd, "cat", "/etc/shadow", (char *)NULL);
				_exit(127);
			}
			live_add(p);
			st = wait_exit(p, 5000);
			if (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
				error_("cat /etc/shadow failed (status 0x%x)", st);
				break;
			}
			deadline = t0 + (3ull * cfg_cadence + 2000) * 1000000ull;
			while (!seen_find(p, &seen_t) && mono_ns() < deadline) {
				tail_read(&ev, on_event_line, NULL);
				if (!seen_find(p, NULL))
					sleep_ms(2);
			}
			if (seen_find(p, &seen_t)) {
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
				(json_int_t)missed, "cadence_ms", (json_int_t)cfg_cadence, "p50_ms",
				jnum(nd ? pct(lat_ms, nd, 50) : NAN), "p99_ms",
				jnum(nd ? pct(lat_ms, nd, 99) : NAN), "min_ms", jnum(nd ? vmin(lat_ms, nd) : NAN),
				"max_ms", jnum(nd ? vmax(lat_ms, nd) : NAN), "samples_ms", samples);
	}
	if (want('5')) {
		json_t *trials = json_array();
		int reported = 0, ok = 1;

		nseen = 0;
		progress("5. needle: jibril, %u storms over %u files", O.needle_trials, hay_files);
		for (unsigned i = 0; i < O.needle_trials && ok; i++) {
			pid_t sp, np;
			uint64_t nns, deadline, seen_t;
			double sms;

			if (storm(d_hay, hay_files, 1, i, &sp, &np, &nns, &sms) < 0) {
				ok = 0;
				break;
			}
			deadline = mono_ns() + (2ull * cfg_cadence + 1500) * 1000000ull;
			while (!seen_find(np, NULL) && mono_ns() < deadline) {
				tail_read(&ev, on_event_line, NULL);
				if (!seen_find(np, NULL))
					sleep_ms(5);
			}
			if (seen_find(np, &seen_t)) {
				reported++;
				json_array_append_new(trials, json_pack("{s:i, s:b, s:f, s:f}", "pid", (json_int_t)np,
									"reported", 1, "latency_ms",
									(double)(seen_t - nns) / 1e6,
									"storm_ms", sms));
			} else {
				json_array_append_new(trials, json_pack("{s:i, s:b, s:f}", "pid", (json_int_t)np,
									"reported", 0, "storm_ms", sms));
			}
		}
		if (ok)
			needle = json_pack("{s:I, s:I, s:o}", "reported", (json_int_t)reported, "trials",
					   (json_int_t)O.needle_trials, "detail", trials);
		else
			json_decref(trials);
	}
	if (want('2')) {
		long sum, pss;
		json_t *rss = tree_rss(j.pid, &sum, &pss);

		json_object_set_new(cost, "rss_main_instance", json_pack("{s:o, s:I, s:I}", "processes", rss,
									 "sum_kib", (json_int_t)sum,
									 "pss_sum_kib", (json_int_t)pss));
		if (sum > rss_best_sum) {
			rss_best_sum = sum;
			rss_best_pss = pss;
			json_decref(rss_best);
			rss_best = json_deep_copy(rss);
		}
		json_object_set_new(cost, "maps", pid_maps(j.pid));
	}
	jib_stop(&j);
	free(ev.buf);

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
		json_object_update(jc, cost);
		json_decref(cost);
	}
	if (lat)
		json_object_set_new(J, "latency", lat);
	else if (want('4'))
		error_("section 4 (latency) did not complete");
	if (want('5')) {
		json_t *N = json_object_get(J, "needle"), *P = json_object_get(J, "pairs");
		if (!N) {
			N = json_pack("{s:I, s:I, s:I}", "haystack_files", (json_int_t)hay_files, "files_map",
				      (json_int_t)cfg_files, "trials", (json_int_t)O.needle_trials);
			json_object_set_new(J, "needle", N);
		}
		if (needle)
			json_object_set_new(N, "jibril", needle);
		else
			error_("section 5 (needle, jibril) did not complete");
		if (!P) {
			P = json_pack("{s:I, s:I}", "truth", (json_int_t)O.pairs_files, "files",
				      (json_int_t)O.pairs_files);
			json_object_set_new(J, "pairs", P);
		}
		if (pairs) {
			json_object_set_new(pairs, "pct", json_real(100.0 * jd(pairs, "pairs") / O.pairs_files));
			json_object_set_new(P, "jibril", pairs);
		} else {
			error_("section 5 (pairs, jibril) did not complete");
		}
	}
}

/* --- section 5 with the reference agent -------------------------------------- */

static void section_ref(void)
{
	struct ref r;
	const char *watch[] = {"--watch", "/etc/shadow", NULL};
	json_t *N = json_object_get(J, "needle"), *P = json_object_get(J, "pairs"), *trials;
	int seen_n = 0, ok = 1;

	if (!N) {
		N = json_pack("{s:I, s:I, s:I}", "haystack_files", (json_int_t)hay_files, "files_map",
			      (json_int_t)cfg_files, "trials", (json_int_t)O.needle_trials);
		json_object_set_new(J, "needle", N);
	}
	if (!P) {
		P = json_pack("{s:I, s:I}", "truth", (json_int_t)O.pairs_files, "files",
			      (json_int_t)O.pairs_files);
		json_object_set_new(J, "pairs", P);
	}
	progress("5. needle: refagent (ring %u KiB), %u storms", O.ring_kb, O.needle_trials);
	if (ref_start(&r, watch) < 0) {
		error_("section 5 (needle, refagent) did not complete");
		return;
	}
	trials = json_array();
	nseen = 0;
	for (unsigned i = 0; i < O.needle_trials && ok; i++) {
		pid_t sp, np;
		uint64_t nns, deadline, seen_t;
		double sms;

		if (storm(d_hay, hay_files, 1, i, &sp, &np, &nns, &sms) < 0) {
			ok = 0;
			break;
		}
		deadline = mono_ns() + 2000ull * 1000000ull;
		while (!seen_find(np, NULL) && mono_ns() < deadline) {
			ref_poll(&r);
			if (!seen_find(np, NULL))
				sleep_ms(5);
		}
		if (seen_find(np, &seen_t)) {
			seen_n++;
			json_array_append_new(trials, json_pack("{s:i, s:b, s:f, s:f}", "pid", (json_int_t)np,
								"seen", 1, "latency_ms",
								(double)(seen_t - nns) / 1e6, "storm_ms", sms));
		} else {
			json_array_append_new(trials, json_pack("{s:i, s:b, s:f}", "pid", (json_int_t)np,
								"seen", 0, "storm_ms", sms));
		}
	}
	if (ref_stop(&r) < 0 || !ok) {
		error_("section 5 (needle, refagent) did not complete");
		json_decref(trials);
	} else {
		json_object_set_new(N, "refagent",
				    json_pack("{s:I, s:I, s:I, s:o, s:O, s:o}", "seen", (json_int_t)seen_n,
					      "trials", (json_int_t)O.needle_trials, "ring_kb",
					      (json_int_t)O.ring_kb, "dropped",
					      jnum(jd(r.summary, "dropped")), "summary", r.summary,
					      "detail", trials));
	}
	json_decref(r.summary);

	/* pairs */
	{
		char pf[PATH_MAX], prefix[160];
		const char *args[] = {"--pairs-out", pf, "--pairs-prefix", prefix, NULL};
		pid_t sp = -1;

		snprintf(pf, sizeof(pf), "%s/refagent.pairs", g_tmp);
		snprintf(prefix, sizeof(prefix), "%s/", d_pairs);
		progress("5. pairs: refagent (ring %u KiB), storm over %u files", O.ring_kb, O.pairs_files);
		if (ref_start(&r, args) < 0) {
			error_("section 5 (pairs, refagent) did not complete");
			return;
		}
		ok = storm(d_pairs, O.pairs_files, 0, 0, &sp, NULL, NULL, NULL) == 0;
		sleep_ms(300);
		if (ref_stop(&r) < 0 || !ok) {
			error_("section 5 (pairs, refagent) did not complete");
		} else {
			double k;
			size_t len = 0;
			char *s = slurp(pf, &len);
			long lines = 0, storm_lines = 0;

			/* cross-check: lines of the pairs file that name the storm's pid */
			for (char *l = s; l && *l;) {
				char *nl = strchr(l, '\n');
				lines++;
				if (atoi(l) == sp)
					storm_lines++;
				if (!nl)
					break;
				l = nl + 1;
			}
			free(s);
			/* its "pairs" counts every path it saw; the file holds those under
			 * the prefix, one "tgid path" line each: the storm's are the figure */
			k = (double)storm_lines;
			json_object_set_new(P, "refagent",
					    json_pack("{s:o, s:o, s:o, s:I, s:O}", "pairs", jnum(k), "pct",
						      jnum(100.0 * k / O.pairs_files), "dropped",
						      jnum(jd(r.summary, "dropped")), "pairs_file_lines",
						      (json_int_t)lines, "summary", r.summary));
		}
		json_decref(r.summary);
	}
}

/* --- section 3: query cost ------------------------------------------------ */

static void section_query(json_t *conf_texts)
{
	struct jib j;
	json_t *S = json_object(), *levels = json_array(), *growth = json_array();
	char *conf_text = NULL;
	double tot[MAX_LEVELS];
	int ok = 1;

	progress("3. query cost: starting jibril (maps >= %u, log_level debug)", QC_MIN_ENTRIES);
	if (jib_start(&j, 1, &conf_text) < 0) {
		error_("section 3 (query cost): jibril did not start");
		json_decref(S);
		json_decref(levels);
		json_decref(growth);
		free(conf_text);
		return;
	}
	if (conf_text)
		json_object_set_new(conf_texts, "query_cost", json_string(conf_text));
	free(conf_text);
	if (jib_wait_cadences(&j, 0, 1, 3 * cfg_cadence + 5000) < 0) {
		error_("section 3: no cadence line in the debug log");
		ok = 0;
	}
	for (unsigned L = 0; L < O.nlevels && ok; L++) {
		unsigned long long after;
		double q[64], s[64], h[64], t[64], f[64], l[64], tk[64], burst = 0;
		json_t *raw = json_array();
		unsigned n = 0;
		pid_t sp;

		progress("3. query cost: fill %u files", O.levels[L]);
		if (storm(d_hay, O.levels[L], 0, 0, &sp, NULL, NULL, NULL) < 0) {
			ok = 0;
			json_decref(raw);
			break;
		}
		after = jib_last_seq(&j);
		/* skip the first cadence after the fill (it may have started during it) */
		if (jib_wait_cadences(&j, after, O.qc_cadences + 1,
				      (O.qc_cadences + 4) * cfg_cadence + 10000) < 0) {
			error_("section 3: cadence lines stopped (level %u)", O.levels[L]);
			ok = 0;
			json_decref(raw);
			break;
		}
		for (size_t i = 0; i < j.ncad && n < 64; i++) {
			struct cad *c = &j.cads[i];
			if (c->seq <= after)
				continue;
			if (c->handoff > burst)
				burst = c->handoff;
			json_array_append_new(raw, json_pack("{s:I, s:f, s:f, s:f, s:i, s:i, s:i, s:i}", "seq",
							     (json_int_t)c->seq, "query_ms", c->query,
							     "snapshot_ms", c->snap, "handoff_ms", c->handoff,
							     "tasks", (json_int_t)c->tasks, "files",
							     (json_int_t)c->files, "links", (json_int_t)c->links,
							     "sent_links", (json_int_t)c->sent_links));
			if (c->seq == after + 1)
				continue;
			q[n] = c->query;
			s[n] = c->snap;
			h[n] = c->handoff;
			t[n] = c->handoff > c->query + c->snap ? c->handoff : c->query + c->snap;
			f[n] = c->files;
			l[n] = c->links;
			tk[n] = c->tasks;
			n++;
		}
		tot[L] = median(t, (int)n);
		json_array_append_new(levels,
				      json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:f, s:I, s:o}",
						"target", (json_int_t)O.levels[L], "files", jnum(median(f, (int)n)),
						"links", jnum(median(l, (int)n)), "tasks", jnum(median(tk, (int)n)),
						"query_ms", jnum(median(q, (int)n)), "snapshot_ms",
						jnum(median(s, (int)n)), "handoff_ms", jnum(median(h, (int)n)),
						"cadence_ms", jnum(tot[L]), "cadence_max_ms", jnum(vmax(t, (int)n)),
						"first_after_fill_ms", burst, "cadences", (json_int_t)n, "raw", raw));
	}
	jib_stop(&j);
	if (!ok) {
		error_("section 3 (query cost) did not complete");
		json_decref(S);
		json_decref(levels);
		json_decref(growth);
		return;
	}
	for (unsigned L = 1; L < O.nlevels; L++) {
		double dec = log10((double)O.levels[L] / O.levels[L - 1]);
		double r = pow(tot[L] / tot[L - 1], 1.0 / dec);
		json_array_append_new(growth, json_pack("{s:I, s:I, s:o}", "from", (json_int_t)O.levels[L - 1],
							"to", (json_int_t)O.levels[L], "ratio_per_10x",
							jnum(r)));
	}
	json_object_set_new(S, "note", json_string("from the supervisor's debug line per cadence; its "
						   "hand-off figure runs from the start of the query to "
						   "the last worker's acknowledgement, so it includes "
						   "query and snapshot; cadence_ms = max(hand-off, "
						   "query + snapshot); medians over the cadences after "
						   "each fill, the first one after the fill excluded"));
	json_object_set_new(S, "maps", json_pack("{s:I, s:I}", "files",
						 (json_int_t)(cfg_files > QC_MIN_ENTRIES ? cfg_files : QC_MIN_ENTRIES),
						 "links",
						 (json_int_t)(cfg_links > QC_MIN_ENTRIES ? cfg_links : QC_MIN_ENTRIES)));
	json_object_set_new(S, "agent_cadence_ms", json_integer(cfg_cadence));
	json_object_set_new(S, "levels", levels);
	json_object_set_new(S, "growth_per_10x", growth);
	json_object_set_new(J, "query_cost", S);
}

/* --- budget and table --------------------------------------------------------- */

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

static void budget(void)
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
	verdict(B, "latency p99", jd(J, "latency.p99_ms"), cfg_cadence + 500.0, "ms", 1,
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

static void print_table(void)
{
	json_t *ov = jget(J, "overhead.workloads"), *B = jget(J, "budget");
	char b2[64], b3[64], b4[64];

	printf("jibril bench: %s; kernel %s, %lld CPUs, %s\n", O.quick ? "QUICK run (tiny sizes)" : "full run",
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
	if (have_ref)
		printf("; refagent %.2f, refagent --empty %.2f",
		       jd(J, "agent_cost.refagent.cpu_pct_per_workload_s.all_rounds"),
		       jd(J, "agent_cost.refagent_empty.cpu_pct_per_workload_s.all_rounds"));
	printf("\n   idle CPU over %.0f s: %.3f %% of one core\n", jd(J, "agent_cost.jibril.idle.window_s"),
	       jd(J, "agent_cost.jibril.idle.cpu_pct"));
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
		if (have_ref)
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
	       cfg_cadence, jd(J, "latency.p50_ms"), jd(J, "latency.p99_ms"), jd(J, "latency.min_ms"),
	       jd(J, "latency.max_ms"), jd(J, "latency.detected"), jd(J, "latency.trials"));

	printf("\n5. Needle in a haystack (%.0f distinct files per storm, files map %u):\n",
	       jd(J, "needle.haystack_files"), cfg_files);
	printf("   jibril reported %.0f/%.0f; refagent (ring %u KiB) saw %.0f/%.0f (dropped %.0f records)\n",
	       jd(J, "needle.jibril.reported"), jd(J, "needle.trials"), O.ring_kb, jd(J, "needle.refagent.seen"),
	       jd(J, "needle.trials"), jd(J, "needle.refagent.dropped"));
	printf("   distinct (process, file) pairs, one storm over %.0f files: jibril %.0f (%.1f %%), "
	       "refagent %.0f (%.1f %%, dropped %.0f)\n",
	       jd(J, "pairs.truth"), jd(J, "pairs.jibril.pairs"), jd(J, "pairs.jibril.pct"),
	       jd(J, "pairs.refagent.pairs"), jd(J, "pairs.refagent.pct"), jd(J, "pairs.refagent.dropped"));

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

/* --- main ---------------------------------------------------------------------- */

static void usage(void)
{
	fprintf(stderr, "usage: bench --jibril BIN --conf FILE --bin-dir DIR --out FILE [--quick] "
			"[--rounds N] [--sections 12345]\n");
	exit(2);
}

static json_t *machine(void)
{
	struct utsname u;
	char *ci = slurp("/proc/cpuinfo", NULL), model[256] = "?", *p;

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

static int mkfiles(const char *dir, unsigned n)
{
	char out[512], nf[32];

	snprintf(nf, sizeof(nf), "%u", n);
	return workload(out, sizeof(out), 300000, NULL, "mkfiles", "--dir", dir, "--files", nf, NULL);
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	json_t *params, *conf_texts = json_object();
	uint64_t t_start = g_t0 = mono_ns();
	time_t now = time(NULL);
	char started[64];
	int rounds_opt = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	O.sections = "12345";
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
		else usage();
		i++;
	}
	if (!O.jibril || !O.conf || !O.bindir || !O.out)
		usage();
	if (O.quick) {
		O.rounds = 2;
		O.iters[0] = 20000, O.iters[1] = 60, O.iters[2] = 1500, O.iters[3] = 30;
		O.idle_s = 3, O.lat_trials = 5, O.needle_trials = 2, O.hay_mult = 2, O.pairs_files = 300;
		O.levels[0] = 1000, O.levels[1] = 10000, O.nlevels = 2, O.qc_cadences = 2;
	} else {
		O.rounds = 9;
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
		O.rounds = rounds_opt < MAX_ROUNDS ? rounds_opt : MAX_ROUNDS;
	O.open_files = 64;
	O.ring_kb = 256;

	if (geteuid() != 0) {
		fprintf(stderr, "bench: needs root (it loads BPF programs)\n");
		return 1;
	}
	main_pid = getpid();
	clk_tck = sysconf(_SC_CLK_TCK);
	rng ^= (uint64_t)now * 0x2545f4914f6cdd1dull ^ (uint64_t)getpid();
	snprintf(p_workload, sizeof(p_workload), "%s/workload", O.bindir);
	snprintf(p_tiny, sizeof(p_tiny), "%s/tiny", O.bindir);
	snprintf(p_ref, sizeof(p_ref), "%s/refagent", O.bindir);
	if (access(p_workload, X_OK) < 0 || access(p_tiny, X_OK) < 0 || access(O.jibril, X_OK) < 0) {
		fprintf(stderr, "bench: missing %s, %s or %s\n", p_workload, p_tiny, O.jibril);
		return 1;
	}
	have_ref = access(p_ref, X_OK) == 0;
	conf_src = slurp(O.conf, NULL);
	if (!conf_src) {
		fprintf(stderr, "bench: cannot read %s: %s\n", O.conf, strerror(errno));
		return 1;
	}
	cfg_cadence = conf_u("agent", "cadence_ms", 1000);
	cfg_files = conf_u("maps", "files", 16384);
	cfg_links = conf_u("maps", "links", 32768);
	hay_files = O.hay_mult * cfg_files;
	if (hay_files < O.levels[O.nlevels - 1])
		hay_files = O.levels[O.nlevels - 1];

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	atexit(cleanup);

	snprintf(g_tmp, sizeof(g_tmp), "/tmp/jbbench.XXXXXX");
	snprintf(g_shm, sizeof(g_shm), "/dev/shm/jbbench.XXXXXX");
	if (!mkdtemp(g_tmp)) {
		g_tmp[0] = '\0';
		fprintf(stderr, "bench: mkdtemp /tmp: %s\n", strerror(errno));
		return 1;
	}
	if (!mkdtemp(g_shm)) {
		g_shm[0] = '\0';
		fprintf(stderr, "bench: mkdtemp /dev/shm: %s\n", strerror(errno));
		return 1;
	}
	snprintf(d_open, sizeof(d_open), "%s/open", g_shm);
	snprintf(d_pairs, sizeof(d_pairs), "%s/pairs", g_shm);
	snprintf(d_hay, sizeof(d_hay), "%s/hay", g_shm);

	J = json_object();
	J_errors = json_array();
	J_notes = json_array();
	strftime(started, sizeof(started), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	json_object_set_new(J, "machine", machine());
	params = json_pack("{s:b, s:s, s:i, s:{s:I, s:I, s:I, s:I}, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, "
			   "s:i, s:s, s:b}",
			   "quick", O.quick, "started_utc", started, "rounds", (json_int_t)O.rounds,
			   "iters", "open", (json_int_t)O.iters[0], "exec", (json_int_t)O.iters[1], "connect",
			   (json_int_t)O.iters[2], "mixed", (json_int_t)O.iters[3], "open_files",
			   (json_int_t)O.open_files, "idle_s", (json_int_t)O.idle_s, "latency_trials",
			   (json_int_t)O.lat_trials, "needle_trials", (json_int_t)O.needle_trials,
			   "haystack_files", (json_int_t)hay_files, "pairs_files", (json_int_t)O.pairs_files,
			   "ring_kb", (json_int_t)O.ring_kb, "cadence_ms", (json_int_t)cfg_cadence,
			   "cadences_per_level", (json_int_t)O.qc_cadences, "sections", O.sections,
			   "refagent_available", have_ref);
	{
		json_t *lv = json_array();
		for (unsigned i = 0; i < O.nlevels; i++)
			json_array_append_new(lv, json_integer(O.levels[i]));
		json_object_set_new(params, "fill_levels", lv);
		json_object_set_new(params, "tmpfs_dir", json_string(g_shm));
		json_object_set_new(params, "jibril", json_string(O.jibril));
		json_object_set_new(params, "conf", json_string(O.conf));
	}
	json_object_set_new(J, "run", params);
	json_object_set_new(J, "config", conf_texts);
	json_object_set_new(conf_texts, "given", json_string(conf_src));
	json_object_set_new(J, "errors", J_errors);
	json_object_set_new(J, "notes", J_notes);
	if (!have_ref)
		note("no reference agent at %s: its columns are n/a", p_ref);

	progress("creating file sets in %s (%u + %u + %u files)", g_shm, O.open_files, O.pairs_files,
		 hay_files);
	if (mkfiles(d_open, O.open_files) < 0 || mkfiles(d_pairs, O.pairs_files) < 0 ||
	    ((want('3') || want('5')) && mkfiles(d_hay, hay_files) < 0)) {
		error_("cannot create the file sets");
	} else {
		for (int r = 0; r < MAX_ROUNDS; r++)
			for (int m = 0; m < M_N; m++)
				cpu_r[r][m] = NAN;
		if (want('1')) {
			section_overhead(conf_texts);
			section_program_time();
		}
		if (want('2') || want('4') || want('5'))
			section_main(conf_texts);
		if (want('5') && have_ref)
			section_ref();
		if (want('3'))
			section_query(conf_texts);
	}

	/* agent cost figures gathered across sections */
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
		if (want('1'))
			json_object_set_new(jc, "cpu_pct_per_workload_s", cost_stats(M_JIBRIL));
		if (rss_best)
			json_object_set_new(jc, "rss", json_pack("{s:O, s:I, s:f, s:I, s:s}", "processes", rss_best,
								 "sum_kib", (json_int_t)rss_best_sum, "sum_mib",
								 rss_best_sum / 1024.0, "pss_sum_kib",
								 (json_int_t)rss_best_pss, "note",
								 "VmHWM of the default-config instance with the "
								 "largest sum; the sum counts shared pages (the "
								 "snapshot memfd) once per process, pss_sum_kib "
								 "(current PSS) counts them once"));
		if (want('1') && have_ref) {
			json_object_set_new(ac, "refagent",
					    json_pack("{s:o, s:{s:o, s:I}}", "cpu_pct_per_workload_s",
						      cost_stats(M_REF), "rss", "processes",
						      ref_rss ? json_incref(ref_rss) : json_null(), "sum_kib",
						      (json_int_t)ref_rss_sum));
			json_object_set_new(ac, "refagent_empty",
					    json_pack("{s:o}", "cpu_pct_per_workload_s", cost_stats(M_EMPTY)));
		}
		json_object_set_new(ac, "method",
				    json_string("utime+stime (/proc/PID/stat) of the supervisor and every "
						"process whose PPid is the supervisor; per second of workload "
						"wall time, measured from before the first workload to one "
						"cadence after the last; idle over a window with no workload"));
	}
	budget();
	json_object_set_new(J, "ok", json_boolean(json_array_size(J_errors) == 0));
	json_object_set_new(jget(J, "run"), "duration_s", json_real((double)(mono_ns() - t_start) / 1e9));
	if (json_dump_file(J, O.out, JSON_INDENT(2)) < 0)
		fprintf(stderr, "bench: cannot write %s\n", O.out);
	print_table();
	return json_array_size(J_errors) ? 1 : 0;
}
