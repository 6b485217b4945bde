/*
 * agent_harness.c - see agent_harness.h.
 *
 * Invariants:
 *  - every wait polls with a deadline; nothing sleeps in place of a
 *    synchronisation, except where the test means "wait the full window".
 *  - an agent never outlives the test that started it (or the test case,
 *    when a Check unchecked fixture started it in the runner for its tests
 *    to share): it gets PR_SET_PDEATHSIG(SIGKILL) (Check's fork mode ends a
 *    failed test with _exit, so atexit would not run), and its pid is
 *    recorded in a shared registry that the runner process sweeps
 *    (jbh_kill_leftovers) after each test case and at the end.
 *  - the agent's stderr (its log) and the file printer's output live in a
 *    fresh mkdtemp dir; it is removed only when the test stopped the agent
 *    cleanly, so a failure leaves the evidence (its path is in the message).
 *  - processes, /proc, files, configuration text and time come from
 *    tests/lib, which the bench shares; this file adds Check's assertions
 *    and what only the suites need.
 */
#include <check.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent_harness.h"
#include "bpf/jibril.h"
#include "workers/detect.h"
#include "rcp/recipe.h"
#include "tests/lib/clock.h"
#include "tests/lib/conf.h"
#include "tests/lib/file.h"
#include "tests/lib/procfs.h"
#include "tests/lib/spawn.h"
#include "tests/lib/tail.h"

#define REG_SLOTS 256

struct jbh_reg_entry {
	pid_t pid;
	char dir[64];
	unsigned long long start; /* /proc/PID/stat field 22: guards against pid reuse */
};

static struct jbh_reg {
	int n;
	struct jbh_reg_entry e[REG_SLOTS];
} *reg;

uint64_t jbh_now_ms(void)
{
	return tl_now_ms();
}

uint64_t jbh_real_ms(void)
{
	return tl_real_ms();
}

void jbh_sleep_ms(unsigned ms)
{
	tl_sleep_ms(ms);
}

const char *jbh_bin(void)
{
	const char *b = getenv("JIBRIL_BIN");
	return b && *b ? b : "build/jibril";
}

const char *jbh_src(void)
{
	const char *s = getenv("JIBRIL_SRC");
	return s && *s ? s : ".";
}

void jbh_helper(char *buf, size_t n, const char *name)
{
	char tmp[4096];

	snprintf(tmp, sizeof(tmp), "%s", jbh_bin());
	snprintf(buf, n, "%s/tests/helpers/%s", dirname(tmp), name);
}

char *jbh_slurp(const char *path, size_t *len)
{
	return tl_slurp(path, len);
}

/* --- /proc --------------------------------------------------------------- */

int jbh_pid_gone(pid_t pid)
{
	return tl_pid_gone(pid);
}

pid_t jbh_child_pid(const struct jbh_agent *a, const char *kind)
{
	pid_t kids[64];
	int n = tl_proc_children(a->pid, kids, 64);
	char want[32];

	snprintf(want, sizeof(want), "jb-%s", kind);
	for (int i = 0; i < n; i++) {
		struct tl_stat st;

		if (tl_proc_stat(kids[i], &st) == 0 && st.state != 'Z' && !strcmp(st.comm, want))
			return kids[i];
	}
	return -1;
}

/* --- registry of started agents ------------------------------------------ */

void jbh_main_init(const char *suite)
{
	struct stat st;

	if (geteuid() != 0) {
		printf("SKIP: %s: needs root (the agent loads BPF programs)\n", suite);
		exit(77);
	}
	if (stat("/sys/kernel/btf/vmlinux", &st) < 0) {
		printf("SKIP: %s: the kernel has no BTF (/sys/kernel/btf/vmlinux)\n", suite);
		exit(77);
	}
	if (access(jbh_bin(), X_OK) < 0) {
		/* a missing build is a failure, not a skip */
		fprintf(stderr, "%s: no agent binary at %s (set JIBRIL_BIN)\n", suite, jbh_bin());
		exit(1);
	}
	reg = mmap(NULL, sizeof(*reg), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (reg == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	memset(reg, 0, sizeof(*reg));
}

static void reg_add(pid_t pid, const char *dir)
{
	struct tl_stat st = {0};
	int i;

	if (!reg)
		return;
	tl_proc_stat(pid, &st);
	i = __sync_fetch_and_add(&reg->n, 1);
	if (i < REG_SLOTS) {
		reg->e[i].start = st.start;
		snprintf(reg->e[i].dir, sizeof(reg->e[i].dir), "%s", dir);
		reg->e[i].pid = pid;
	}
}

static void unpin_own(const char *dir);

void jbh_kill_leftovers(void)
{
	if (!reg)
		return;
	for (int i = 0; i < reg->n && i < REG_SLOTS; i++) {
		struct tl_stat st;

		if (reg->e[i].pid <= 0)
			continue;
		/* PR_SET_PDEATHSIG is already killing it if its test died: give
		 * that a moment before saying anything */
		for (int k = 0; k < 500; k++) {
			if (tl_proc_stat(reg->e[i].pid, &st) < 0 || st.start != reg->e[i].start ||
			    st.state == 'Z')
				break;
			if (k == 499) {
				fprintf(stderr, "harness: agent %d outlived its test: SIGKILL\n",
					(int)reg->e[i].pid);
				kill(reg->e[i].pid, SIGKILL);
			}
			jbh_sleep_ms(10);
		}
		unpin_own(reg->e[i].dir);
		/* jbh_stop removes it after a clean stop: still here = a failure */
		if (access(reg->e[i].dir, F_OK) == 0)
			fprintf(stderr, "harness: kept %s (log, config, events) for inspection\n",
				reg->e[i].dir);
		reg->e[i].pid = 0;
	}
	/* whatever a killed agent (a test's, a benchmark's) left pinned keeps
	 * its programs attached, costing every later test: gone, unless a
	 * live supervisor holds it */
	jbh_unpin_stale();
}

/* --- pins ---------------------------------------------------------------- */

/* The pin directory of the agent whose directory is dir (bpffs refuses
 * dots in names: jbtest.XXXXXX becomes jbtest_XXXXXX). */
static void own_pin_dir(const char *dir, char *out, size_t len)
{
	const char *b = strrchr(dir, '/');
	char *d;

	snprintf(out, len, "/sys/fs/bpf/%s", b ? b + 1 : dir);
	for (d = out + strlen("/sys/fs/bpf/"); *d; d++)
		if (*d == '.')
			*d = '_';
}

int jbh_unpin(const char *dir)
{
	static const char *const subs[] = {"links", "maps"}; /* links first */
	char path[512];
	int ret = 0;

	for (size_t i = 0; i < 2; i++) {
		DIR *d;
		struct dirent *de;

		snprintf(path, sizeof(path), "%s/%s", dir, subs[i]);
		if (!(d = opendir(path)))
			continue;
		while ((de = readdir(d)) != NULL) {
			char f[1024];

			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			snprintf(f, sizeof(f), "%s/%s", path, de->d_name);
			if (unlink(f) < 0)
				ret = -1;
		}
		closedir(d);
		if (rmdir(path) < 0)
			ret = -1;
	}
	if (rmdir(dir) < 0 && errno != ENOENT)
		ret = -1;
	return ret;
}

int jbh_unpin_stale(void)
{
	static const char *const prefixes[] = {"jbtest", "jbbench"};
	DIR *d = opendir("/sys/fs/bpf");
	struct dirent *de;
	int n = 0;

	while (d && (de = readdir(d)) != NULL) {
		char path[512];
		int fd, ours = 0;

		for (size_t i = 0; i < 2; i++)
			ours |= !strncmp(de->d_name, prefixes[i], strlen(prefixes[i]));
		if (!ours)
			continue;
		snprintf(path, sizeof(path), "/sys/fs/bpf/%s", de->d_name);
		fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			continue;
		/* a running supervisor holds its pin directory locked */
		if (flock(fd, LOCK_EX | LOCK_NB) == 0 && jbh_unpin(path) == 0)
			n++;
		close(fd);
	}
	if (d)
		closedir(d);
	return n;
}

/* After an agent ended: what it left pinned (killed, not stopped) goes. */
static void unpin_own(const char *dir)
{
	char pin[128];

	own_pin_dir(dir, pin, sizeof(pin));
	if (access(pin, F_OK) == 0)
		jbh_unpin(pin);
}

/* --- start / stop -------------------------------------------------------- */

static void write_config(struct jbh_agent *a)
{
	struct tl_conf_keys k = {0};
	FILE *f = fopen(a->conf, "w");

	ck_assert_msg(f != NULL, "cannot write %s: %s", a->conf, strerror(errno));
	/* root's and not writable by others, whatever the umask: else refused */
	ck_assert_int_eq(fchmod(fileno(f), 0600), 0);
	tl_conf_set(&k, "agent", "cadence_ms", "%u", a->o.cadence_ms);
	tl_conf_set(&k, "agent", "heartbeat_ms", "%u", a->o.heartbeat_ms);
	tl_conf_set(&k, "agent", "heartbeat_deadline_ms", "%u", a->o.deadline_ms);
	tl_conf_set(&k, "agent", "handshake_ms", "5000");
	tl_conf_set(&k, "agent", "log_level", "%s",
		    a->o.log_level ? a->o.log_level : a->o.debug_log ? "debug" : "info");
	tl_conf_set(&k, "printers", "stdout", "%s", a->o.stdout_printer ? "yes" : "no");
	tl_conf_set(&k, "printers", "file", "%s", a->events);
	tl_conf_set(&k, "restart", "backoff_initial_ms", "%u", a->o.backoff_initial_ms);
	tl_conf_set(&k, "restart", "backoff_max_ms", "%u", a->o.backoff_max_ms);
	tl_conf_set(&k, "restart", "stable_ms", "60000");
	tl_conf_set(&k, "debug", "fault_hooks", "%s", a->o.no_fault_hooks ? "no" : "yes");
	tl_conf_set(&k, "audit", "file", "%s", a->audit);
	tl_conf_set(&k, "audit", "key", "%s", a->audit_key);
	tl_conf_set(&k, "bpf", "pin_dir", "%s", a->pin_dir);
	tl_conf_set(&k, "agent", "status_socket", "%s", a->status_sock);
	fprintf(f, "# generated by tests/agent_harness.c\n");
	ck_assert_int_eq(tl_conf_write(f, NULL, &k), 0);
	if (a->o.extra_conf)
		fputs(a->o.extra_conf, f);
	ck_assert_int_eq(fclose(f), 0);
}

/* The supervisor, on a->conf, its stdout and stderr appended to a->out
 * and a->log: what jbh_start and jbh_restart share. */
static void launch(struct jbh_agent *a)
{
	char *argv[] = {"jibril", "--config", a->conf, NULL};
	struct tl_io io = {NULL, -1, -1, -1};

	io.out = open(a->out, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	io.err = open(a->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	ck_assert_msg(io.out >= 0 && io.err >= 0, "cannot create %s or %s: %s", a->out, a->log,
		      strerror(errno));
	/* dies with the test, whichever way it ends (PDEATHSIG) */
	a->pid = tl_spawn(jbh_bin(), argv, &io);
	close(io.out);
	close(io.err);
	ck_assert_msg(a->pid > 0, "fork: %s", strerror(errno));
	reg_add(a->pid, a->dir);
}

void jbh_start(struct jbh_agent *a, const struct jbh_opts *o)
{
	static const struct jbh_opts none;

	memset(a, 0, sizeof(*a));
	a->pid = -1;
	a->o = o ? *o : none;
	if (!a->o.cadence_ms) a->o.cadence_ms = 200;
	if (!a->o.heartbeat_ms) a->o.heartbeat_ms = 100;
	if (!a->o.deadline_ms) a->o.deadline_ms = 1000;
	if (!a->o.backoff_initial_ms) a->o.backoff_initial_ms = 50;
	if (!a->o.backoff_max_ms) a->o.backoff_max_ms = 500;
	a->kinds[a->nkinds++] = "file_access";
	a->kinds[a->nkinds++] = "execution";
	a->kinds[a->nkinds++] = "network";
	a->kinds[a->nkinds++] = "tamper";
	if (a->o.stdout_printer)
		a->kinds[a->nkinds++] = "stdout";
	a->kinds[a->nkinds++] = "file";

	snprintf(a->dir, sizeof(a->dir), "/tmp/jbtest.XXXXXX");
	ck_assert_msg(mkdtemp(a->dir) != NULL, "mkdtemp: %s", strerror(errno));
	snprintf(a->conf, sizeof(a->conf), "%s/jibril.conf", a->dir);
	ck_assert(snprintf(a->events, sizeof(a->events), "%s/%s", a->dir,
			   a->o.events_name ? a->o.events_name : "events.json") <
		  (int)sizeof(a->events));
	snprintf(a->log, sizeof(a->log), "%s/supervisor.log", a->dir);
	snprintf(a->out, sizeof(a->out), "%s/stdout.json", a->dir);
	snprintf(a->audit, sizeof(a->audit), "%s/audit.log", a->dir);
	snprintf(a->audit_key, sizeof(a->audit_key), "%s/audit.key", a->dir);
	own_pin_dir(a->dir, a->pin_dir, sizeof(a->pin_dir));
	if (a->o.pin_dir)
		snprintf(a->pin_dir, sizeof(a->pin_dir), "%s", a->o.pin_dir);
	if (a->o.status_socket)
		snprintf(a->status_sock, sizeof(a->status_sock), "%s", a->o.status_socket);
	else
		snprintf(a->status_sock, sizeof(a->status_sock), "%s/status.sock", a->dir);
	write_config(a);
	launch(a);
}

void jbh_restart(struct jbh_agent *a)
{
	ck_assert_msg(a->reaped, "restart of agent %d before it was reaped", (int)a->pid);
	a->reaped = 0;
	a->status = 0;
	a->pid = -1;
	launch(a);
}

int jbh_alive(struct jbh_agent *a)
{
	int st;
	pid_t r;

	if (a->reaped)
		return 0;
	r = waitpid(a->pid, &st, WNOHANG);
	if (r == a->pid) {
		a->reaped = 1;
		a->status = st;
		return 0;
	}
	return r == 0;
}

int jbh_running(const struct jbh_agent *a)
{
	struct tl_stat st;

	if (a->reaped || a->pid <= 0 || tl_proc_stat(a->pid, &st) < 0 || st.state == 'Z')
		return 0;
	/* the registry holds its start time: a reused pid is not it */
	for (int i = 0; reg && i < reg->n && i < REG_SLOTS; i++)
		if (reg->e[i].pid == a->pid)
			return reg->e[i].start == st.start;
	return 1;
}

/* 1 and its wait status (field 52 of /proc/PID/stat, since Linux 3.5) if
 * pid is a zombie; 0 if it runs, -1 if it is gone */
static int zombie_status(pid_t pid, int *status)
{
	char path[64], *s, *p;
	int r = 0;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	s = jbh_slurp(path, NULL);
	if (!s)
		return -1;
	p = strrchr(s, ')');
	if (p && p[1] == ' ' && p[2] == 'Z') {
		char *last = strrchr(p, ' ');

		/* the stat line ends with exit_code and a newline */
		while (last && last > p && last[1] == '\0') {
			*last = '\0';
			last = strrchr(p, ' ');
		}
		*status = last ? atoi(last + 1) : -1;
		r = 1;
	}
	free(s);
	return r;
}

/* the checks of a stop that both jbh_stop and jbh_stop_unparented make */
static void stopped_cleanly(struct jbh_agent *a, const pid_t *kids)
{
	ck_assert_msg(WIFEXITED(a->status) && WEXITSTATUS(a->status) == 0,
		      "the supervisor ended with wait status 0x%x on SIGTERM, not exit 0 (log %s)",
		      a->status, a->log);
	for (int i = 0; i < a->nkinds; i++)
		ck_assert_msg(kids[i] < 0 || jbh_pid_gone(kids[i]),
			      "%s child %d is still there after the supervisor exited",
			      a->kinds[i], (int)kids[i]);
	ck_assert_msg(jbh_log_has(a, "stopped: children ended, BPF programs detached"),
		      "no clean-stop line in %s", a->log);
	/* a clean stop unpins (unless the test asked to keep them) */
	if (!(a->o.extra_conf && strstr(a->o.extra_conf, "keep_on_stop")))
		ck_assert_msg(access(a->pin_dir, F_OK) < 0 && errno == ENOENT,
			      "%s is still there after a clean stop (log %s)", a->pin_dir, a->log);
	if (!a->o.keep_dir)
		tl_rm_tree(a->dir, "/tmp/jbtest.");
}

void jbh_stop_unparented(struct jbh_agent *a, unsigned timeout_ms)
{
	pid_t kids[JBH_MAX_KIDS];
	uint64_t deadline;
	int z = 0;

	ck_assert_msg(jbh_running(a), "the supervisor died before the test stopped it (log %s)",
		      a->log);
	for (int i = 0; i < a->nkinds; i++)
		kids[i] = jbh_child_pid(a, a->kinds[i]);
	ck_assert_int_eq(kill(a->pid, SIGTERM), 0);
	deadline = jbh_now_ms() + timeout_ms;
	while ((z = zombie_status(a->pid, &a->status)) == 0 && jbh_now_ms() < deadline)
		jbh_sleep_ms(10);
	ck_assert_msg(z >= 0, "supervisor %d was reaped by its parent before the test read its "
		      "exit status", (int)a->pid);
	if (z == 0) {
		kill(a->pid, SIGKILL);
		ck_abort_msg("the supervisor did not exit within %u ms of SIGTERM (log %s)",
			     timeout_ms, a->log);
	}
	stopped_cleanly(a, kids);
}

void jbh_start_ready(struct jbh_agent *a, const struct jbh_opts *o, unsigned timeout_ms)
{
	uint64_t deadline;

	jbh_start(a, o);
	deadline = jbh_now_ms() + timeout_ms;
	for (int i = 0; i < a->nkinds; i++) {
		uint64_t now = jbh_now_ms();
		int alive;

		if (jbh_wait_ready(a, a->kinds[i], -1,
				   deadline > now ? (unsigned)(deadline - now) : 1) > 0)
			continue;
		alive = jbh_alive(a);
		if (alive)
			kill(a->pid, SIGKILL);
		if (!a->reaped && waitpid(a->pid, &a->status, 0) == a->pid)
			a->reaped = 1;
		ck_abort_msg("%s did not become READY within %u ms (agent %s; log %s)", a->kinds[i],
			     timeout_ms, alive ? "alive: killed" : "dead", a->log);
	}
}

void jbh_reap(struct jbh_agent *a)
{
	int st;

	if (a->reaped || a->pid <= 0)
		return;
	if (zombie_status(a->pid, &st) == 0) {
		fprintf(stderr, "harness: agent %d was still running at the end of its TCase: "
			"SIGKILL (log %s)\n", (int)a->pid, a->log);
		kill(a->pid, SIGKILL);
	}
	if (waitpid(a->pid, &a->status, 0) == a->pid)
		a->reaped = 1;
	if (!a->o.pin_dir)
		unpin_own(a->dir);
}

/* The first READY of every kind follows the load of the BPF object, which
 * the verifier makes CPU-bound: seconds on a quiet machine, tens of seconds
 * on a loaded one. A deadline only bounds the wait (nothing here asserts
 * speed), so it is never shorter than JBH_START_MS. */
#define JBH_START_MS 90000u
void jbh_wait_all_ready(struct jbh_agent *a, unsigned timeout_ms)
{
	uint64_t deadline;

	if (timeout_ms < JBH_START_MS)
		timeout_ms = JBH_START_MS;
	deadline = jbh_now_ms() + timeout_ms;

	for (int i = 0; i < a->nkinds; i++) {
		uint64_t now = jbh_now_ms();
		pid_t p = jbh_wait_ready(a, a->kinds[i], -1,
					 deadline > now ? (unsigned)(deadline - now) : 1);

		ck_assert_msg(p > 0, "%s did not become READY within %u ms (agent %s; log %s)",
			      a->kinds[i], timeout_ms, jbh_alive(a) ? "alive" : "dead", a->log);
	}
}

uint64_t jbh_detect_deadline(const struct jbh_agent *a)
{
	return jbh_now_ms() + 3 * a->o.cadence_ms + 1000;
}

void jbh_stop(struct jbh_agent *a, unsigned timeout_ms)
{
	pid_t kids[JBH_MAX_KIDS];
	uint64_t deadline;

	ck_assert_msg(jbh_alive(a), "the supervisor died before the test stopped it (status 0x%x, "
		      "log %s)", a->status, a->log);
	for (int i = 0; i < a->nkinds; i++)
		kids[i] = jbh_child_pid(a, a->kinds[i]);
	ck_assert_int_eq(kill(a->pid, SIGTERM), 0);
	deadline = jbh_now_ms() + timeout_ms;
	while (jbh_alive(a) && jbh_now_ms() < deadline)
		jbh_sleep_ms(10);
	if (!a->reaped) {
		kill(a->pid, SIGKILL);
		jbh_wait_exit(a->pid, 2000);
		ck_abort_msg("the supervisor did not exit within %u ms of SIGTERM (log %s)",
			     timeout_ms, a->log);
	}
	stopped_cleanly(a, kids);
}

/* --- log ----------------------------------------------------------------- */

char *jbh_log_read(const struct jbh_agent *a)
{
	char *s = jbh_slurp(a->log, NULL);
	return s ? s : strdup("");
}

int jbh_log_has(const struct jbh_agent *a, const char *needle)
{
	char *s = jbh_log_read(a);
	int r = strstr(s, needle) != NULL;

	free(s);
	return r;
}

int jbh_log_wait(const struct jbh_agent *a, const char *needle, unsigned timeout_ms)
{
	uint64_t deadline = jbh_now_ms() + timeout_ms;

	do {
		if (jbh_log_has(a, needle))
			return 1;
		jbh_sleep_ms(10);
	} while (jbh_now_ms() < deadline);
	return jbh_log_has(a, needle);
}

/* Calls fn on each line that is a state line of kind: ": KIND[PID] gen G: ...". */
static int each_kind_line(const struct jbh_agent *a, const char *kind,
			  int (*fn)(const char *line, pid_t pid, uint64_t gen, void *arg), void *arg)
{
	char *s = jbh_log_read(a), *line, *save = NULL, want[48];
	int r = 0;
	size_t wl;

	snprintf(want, sizeof(want), ": %s[", kind);
	wl = strlen(want);
	for (line = strtok_r(s, "\n", &save); line && !r; line = strtok_r(NULL, "\n", &save)) {
		char *p = strstr(line, want), *q;
		long pid;

		if (!p)
			continue;
		pid = strtol(p + wl, &q, 10);
		if (strncmp(q, "] gen ", 6) != 0)
			continue;
		r = fn(line, (pid_t)pid, strtoull(q + 6, NULL, 10), arg);
	}
	free(s);
	return r;
}

struct ready_q {
	pid_t pid;
	uint64_t gen;
	const char *substr;
};

static int is_ready_line(const char *line, pid_t pid, uint64_t gen, void *arg)
{
	struct ready_q *q = arg;
	return pid == q->pid && strstr(line, "-> READY") != NULL;
}

pid_t jbh_wait_ready(struct jbh_agent *a, const char *kind, pid_t not_pid, unsigned timeout_ms)
{
	uint64_t deadline = jbh_now_ms() + timeout_ms;

	do {
		struct ready_q q = {jbh_child_pid(a, kind), 0, NULL};

		if (q.pid > 0 && q.pid != not_pid && each_kind_line(a, kind, is_ready_line, &q))
			return q.pid;
		jbh_sleep_ms(10);
	} while (jbh_now_ms() < deadline);
	return -1;
}

static int gen_line(const char *line, pid_t pid, uint64_t gen, void *arg)
{
	struct ready_q *q = arg;
	if (pid == q->pid) {
		q->gen = gen;
		return 1;
	}
	return 0;
}

uint64_t jbh_gen_of(struct jbh_agent *a, const char *kind, pid_t pid)
{
	struct ready_q q = {pid, 0, NULL};

	each_kind_line(a, kind, gen_line, &q);
	return q.gen;
}

static int gen_sub_line(const char *line, pid_t pid, uint64_t gen, void *arg)
{
	struct ready_q *q = arg;
	return gen == q->gen && strstr(line, q->substr) != NULL;
}

int jbh_log_gen_line(const struct jbh_agent *a, const char *kind, uint64_t gen, const char *substr)
{
	struct ready_q q = {0, gen, substr};
	return each_kind_line(a, kind, gen_sub_line, &q);
}

int jbh_log_gen_wait(const struct jbh_agent *a, const char *kind, uint64_t gen, const char *substr,
		     unsigned timeout_ms)
{
	uint64_t deadline = jbh_now_ms() + timeout_ms;

	do {
		if (jbh_log_gen_line(a, kind, gen, substr))
			return 1;
		jbh_sleep_ms(10);
	} while (jbh_now_ms() < deadline);
	return jbh_log_gen_line(a, kind, gen, substr);
}

int jbh_log_restart_delays(const struct jbh_agent *a, const char *kind, unsigned *out, int max)
{
	char *s = jbh_log_read(a), *p = s, want[64];
	int n = 0;

	snprintf(want, sizeof(want), ": %s: restarting in ", kind);
	while (n < max && (p = strstr(p, want))) {
		p += strlen(want);
		out[n++] = (unsigned)strtoul(p, NULL, 10);
	}
	free(s);
	return n;
}

/* --- JSON ---------------------------------------------------------------- */

static json_t *jget(json_t *o, const char *dotted)
{
	char buf[128], *tok, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", dotted);
	for (tok = strtok_r(buf, ".", &save); tok && o; tok = strtok_r(NULL, ".", &save))
		o = json_is_object(o) ? json_object_get(o, tok) : NULL;
	return o;
}

const char *jbh_jstr(json_t *o, const char *dotted)
{
	json_t *v = jget(o, dotted);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

long long jbh_jint(json_t *o, const char *dotted, long long dflt)
{
	json_t *v = jget(o, dotted);
	return json_is_integer(v) ? (long long)json_integer_value(v) : dflt;
}

int jbh_jarr_has(json_t *o, const char *dotted, const char *s)
{
	json_t *arr = jget(o, dotted), *v;
	size_t i;

	if (!json_is_array(arr))
		return 0;
	json_array_foreach(arr, i, v)
		if (json_is_string(v) && !strcmp(json_string_value(v), s))
			return 1;
	return 0;
}

int jbh_match(json_t *ev, void *arg)
{
	const struct jbh_match *m = arg;
	const char *k = jbh_jstr(ev, "kind"), *p;

	if (m->kind && (!k || strcmp(k, m->kind)))
		return 0;
	if (m->pid && jbh_jint(ev, "process.pid", -1) != (long long)m->pid)
		return 0;
	if (m->path && (!(p = jbh_jstr(ev, "file.path")) || strcmp(p, m->path)))
		return 0;
	return 1;
}

struct scan {
	const char *file;
	jbh_pred pred;
	void *arg;
	json_t *hit; /* the first line that matched (counting: NULL) */
	int *count;  /* NULL: stop at the first match */
};

/* One line of a printer's output: every line must be one JSON object. */
static int scan_line(char *line, void *arg)
{
	struct scan *sc = arg;
	json_error_t jerr;
	json_t *ev = json_loads(line, JSON_REJECT_DUPLICATES, &jerr);

	ck_assert_msg(json_is_object(ev), "%s: a line is not a JSON object (%s): %.200s", sc->file,
		      jerr.text, line);
	if (!sc->pred(ev, sc->arg)) {
		json_decref(ev);
		return 0;
	}
	if (sc->count) {
		(*sc->count)++;
		json_decref(ev);
		return 0;
	}
	sc->hit = ev;
	return 1;
}

json_t *jbh_wait_event_in(const char *file, jbh_pred pred, void *arg, uint64_t deadline_ms)
{
	struct scan sc = {file, pred, arg, NULL, NULL};
	struct tl_tail t;

	ck_assert_int_eq(tl_tail_open(&t, file), 0);
	for (;;) {
		tl_tail_read(&t, scan_line, &sc);
		if (sc.hit || jbh_now_ms() >= deadline_ms)
			break;
		jbh_sleep_ms(20);
	}
	tl_tail_close(&t);
	return sc.hit;
}

json_t *jbh_wait_event(const struct jbh_agent *a, jbh_pred pred, void *arg, uint64_t deadline_ms)
{
	return jbh_wait_event_in(a->events, pred, arg, deadline_ms);
}

int jbh_count_events(const struct jbh_agent *a, jbh_pred pred, void *arg)
{
	int n = 0;
	struct scan sc = {a->events, pred, arg, NULL, &n};
	struct tl_tail t;

	ck_assert_int_eq(tl_tail_open(&t, a->events), 0);
	tl_tail_read(&t, scan_line, &sc);
	tl_tail_close(&t);
	return n;
}

/* A detection's uuid: version 8 (router.c record_uuid: from the record's
 * identity), RFC 9562 variant. */
static int is_uuid8(const char *u)
{
	if (!u || strlen(u) != 36)
		return 0;
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (u[i] != '-')
				return 0;
		} else if (!isxdigit((unsigned char)u[i]) || isupper((unsigned char)u[i])) {
			return 0;
		}
	}
	return u[14] == '8' && strchr("89ab", u[19]) != NULL;
}

static int builtin_list(const char *from, const char *path, struct rcp_source *out, char *err,
			size_t errlen, void *arg)
{
	char name[4096];

	if (rcp_resolve(from, path, name, sizeof(name)) == 0)
		for (size_t i = 0; i < rcp_builtin_files_n; i++)
			if (!strcmp(rcp_builtin_files[i].name, name)) {
				*out = rcp_builtin_files[i];
				return 0;
			}
	snprintf(err, errlen, "no built-in list %s", path);
	return -1;
}

const struct recipe *jbh_recipe(const char *kind)
{
	static struct rcp_set set;
	static int loaded;
	char err[1024];

	if (!loaded) {
		ck_assert_msg(rcp_load(&set, rcp_builtin, rcp_builtin_n, NULL, 0, builtin_list,
				       NULL, err, sizeof(err)) == 0,
			      "built-in recipes do not load: %s", err);
		loaded = 1;
	}
	return rcp_find(&set, kind);
}

void jbh_check_event(json_t *ev, const char *kind, pid_t pid, pid_t ppid, const char *exe,
		     uint64_t spawned_real_ms)
{
	const struct recipe *def = jbh_recipe(kind);
	json_t *anc = json_object_get(json_object_get(ev, "background"), "ancestry"), *last;
	long long ts, et, start, now = (long long)jbh_real_ms();
	char host[256] = "";
	char *dump = json_dumps(ev, JSON_COMPACT);
	size_t n;

	ck_assert_msg(def != NULL, "no built-in recipe %s", kind);
	ck_assert_str_eq(jbh_jstr(ev, "kind"), kind);
	ck_assert_msg(jbh_jstr(ev, "mechanism") &&
			      !strcmp(jbh_jstr(ev, "mechanism"), rcp_mech_name(def->mech)),
		      "mechanism of %s is not %s: %s", kind, rcp_mech_name(def->mech), dump);
	ck_assert_msg(jbh_jstr(ev, "name") && !strcmp(jbh_jstr(ev, "name"), def->name), "%s", dump);
	ck_assert_msg(jbh_jstr(ev, "importance") && !strcmp(jbh_jstr(ev, "importance"), def->importance),
		      "%s", dump);
	ck_assert_msg(jbh_jstr(ev, "description") &&
			      !strcmp(jbh_jstr(ev, "description"), def->description), "%s", dump);
	ck_assert_msg(jbh_jstr(ev, "mitre.tactic") && !strcmp(jbh_jstr(ev, "mitre.tactic"), def->tactic),
		      "mitre.tactic: %s", dump);
	ck_assert_msg(jbh_jstr(ev, "mitre.technique") &&
			      !strcmp(jbh_jstr(ev, "mitre.technique"), def->technique) &&
			      def->technique[0] == 'T',
		      "mitre.technique: %s", dump);
	ck_assert_msg(is_uuid8(jbh_jstr(ev, "uuid")), "uuid is not a version-8 UUID: %s", dump);
	gethostname(host, sizeof(host) - 1);
	ck_assert_msg(jbh_jstr(ev, "hostname") && !strcmp(jbh_jstr(ev, "hostname"), host),
		      "hostname is not %s: %s", host, dump);

	/* times: the detection was made after the trigger, and recently */
	ts = tl_iso_ms(jbh_jstr(ev, "timestamp"));
	et = tl_iso_ms(jbh_jstr(ev, "event_time"));
	ck_assert_msg(ts > 0 && et > 0, "timestamp/event_time not ISO-8601 UTC with µs: %s", dump);
	ck_assert_msg(ts >= (long long)spawned_real_ms - 1000 && ts <= now + 1000,
		      "timestamp %lld outside [spawn %llu, now %lld]: %s", ts,
		      (unsigned long long)spawned_real_ms, now, dump);
	ck_assert_msg(et >= (long long)spawned_real_ms - 1000 && et <= ts + 1000,
		      "event_time %lld not between the trigger (%llu) and the detection (%lld)", et,
		      (unsigned long long)spawned_real_ms, ts);

	/* the process that did it */
	ck_assert_msg(json_is_object(json_object_get(ev, "process")), "no process: %s", dump);
	ck_assert_msg(jbh_jint(ev, "process.pid", -1) == pid, "process.pid is not %d: %s", (int)pid,
		      dump);
	if (exe)
		ck_assert_msg(jbh_jstr(ev, "process.exe") && !strcmp(jbh_jstr(ev, "process.exe"), exe),
			      "process.exe is not %s: %s", exe, dump);
	ck_assert_msg(jbh_jint(ev, "process.ppid", -1) == ppid, "process.ppid is not %d: %s",
		      (int)ppid, dump);
	ck_assert_msg(jbh_jstr(ev, "process.id") && strlen(jbh_jstr(ev, "process.id")) == 16,
		      "process.id: %s", dump);
	start = tl_iso_ms(jbh_jstr(ev, "process.start"));
	ck_assert_msg(start > 0 && llabs(start - (long long)spawned_real_ms) < 5000,
		      "process.start %lld is not when the test started it (%llu): %s", start,
		      (unsigned long long)spawned_real_ms, dump);

	/* its parent (the test) and the ancestry up to init */
	ck_assert_msg(json_is_object(json_object_get(ev, "parent")), "no parent: %s", dump);
	ck_assert_msg(jbh_jint(ev, "parent.pid", -1) == ppid, "parent.pid is not %d: %s", (int)ppid,
		      dump);
	ck_assert_msg(json_is_array(anc) && (n = json_array_size(anc)) > 0, "empty ancestry: %s", dump);
	ck_assert_msg(jbh_jint(json_array_get(anc, 0), "pid", -1) == ppid,
		      "ancestry[0] is not the parent %d: %s", (int)ppid, dump);
	last = json_array_get(anc, n - 1);
	ck_assert_msg(jbh_jint(last, "pid", -1) == 1, "ancestry does not end at pid 1: %s", dump);
	for (size_t i = 0; i + 1 < n; i++)
		ck_assert_msg(jbh_jint(json_array_get(anc, i), "pid", -1) != 1,
			      "pid 1 in the middle of the ancestry: %s", dump);
	ck_assert_msg(jbh_jstr(ev, "agent.version") != NULL, "no agent.version: %s", dump);
	free(dump);
}

/* --- processes ----------------------------------------------------------- */

pid_t jbh_spawn(const char *path, char *const argv[], const struct jbh_io *io)
{
	struct tl_io tio = {NULL, -1, -1, -1};
	pid_t pid;

	if (io) {
		tio.cwd = io->cwd;
		tio.in = io->in;
		tio.out = io->out;
		tio.err = io->err;
	}
	pid = tl_spawn(path, argv, &tio);
	ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
	return pid;
}

int jbh_wait_exit(pid_t pid, unsigned timeout_ms)
{
	return tl_wait_exit(pid, timeout_ms);
}

int jbh_run(const char *path, char *const argv[], unsigned timeout_ms, pid_t *pid_out)
{
	pid_t pid = jbh_spawn(path, argv, NULL);

	if (pid_out)
		*pid_out = pid;
	return jbh_wait_exit(pid, timeout_ms);
}

void jbh_copy_file(const char *from, const char *to, mode_t mode)
{
	ck_assert_msg(tl_copy_file(from, to, mode) == 0, "cannot copy %s to %s: %s", from, to,
		      strerror(errno));
}

pid_t jbh_trigger_for(struct jbh_agent *a, const char *kind, struct jbh_match *m)
{
	pid_t pid = -1;
	int st;

	memset(m, 0, sizeof(*m));
	if (!strcmp(kind, "execution")) {
		char *argv[] = {"base64", NULL};
		st = jbh_run("/usr/bin/base64", argv, 5000, &pid);
		m->kind = "data_encoder_exec";
	} else if (!strcmp(kind, "network")) {
		char helper[4096];
		char *argv[] = {"tcpconn", "connect", "127.0.0.1", "3333", NULL};
		jbh_helper(helper, sizeof(helper), "tcpconn");
		st = jbh_run(helper, argv, 5000, &pid);
		st = WIFEXITED(st) && WEXITSTATUS(st) <= 1 ? 0 : st; /* refused is fine */
		m->kind = "stratum_port_access";
	} else if (!strcmp(kind, "tamper")) {
		/* the kernel's tamper hooks are not this test's business: a
		 * record for a fresh process (its own key, so neither dedup nor
		 * times_per_proc hides it), a signal 0 to the supervisor */
		struct jb_tamper t;
		pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			pause();
			_exit(0);
		}
		memset(&t, 0, sizeof(t));
		t.klass = JB_TAMPER_SIGNAL;
		t.target_pid = (uint32_t)a->pid;
		t.target_row = JB_AGENT_ROW_SUPERVISOR;
		jbh_tamper_inject(a, pid, &t);
		kill(pid, SIGKILL);
		st = jbh_wait_exit(pid, 5000);
		st = WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL ? 0 : st;
		m->kind = "tamper_agent_signal";
	} else {
		/* file_access, and any printer */
		char *argv[] = {"cat", "/etc/shadow", NULL};
		st = jbh_run("/usr/bin/cat", argv, 5000, &pid);
		m->kind = "credentials_files_access";
	}
	ck_assert_msg(st == 0, "the %s trigger failed (wait status 0x%x)", kind, st);
	m->pid = pid;
	return pid;
}
