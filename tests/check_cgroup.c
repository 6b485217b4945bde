/*
 * check_cgroup.c - per-child resource limits (supervisor/cgroup.c).
 *
 * Without root, on directories of the test's own (fake mode: no kernel):
 *  - v2: the controllers are enabled in the parent and the jibril cgroup,
 *    each slot's memory.max, memory.swap.max, pids.max, cpu.max say what
 *    [limits] says ("max" where it says max), a child joins with "0",
 *    memory.events' oom_kill is read, a taken name is passed over, and
 *    everything is removed;
 *  - v1: the same in the memory, pids and cpu,cpuacct hierarchies;
 *  - no cgroups: a warning and no limits, or, with a limit set in the
 *    file, an error naming its line.
 * As root, on the real kernel (cgroup v1 on these machines; v2 where the
 * host offers its controllers):
 *  - pids.max: a test process placed by sup_cgroup_join() in a cgroup made
 *    by sup_cgroup_init() forks until fork fails with EAGAIN, at pids.max;
 *  - the agent: each child in its own cgroup with the configured limits,
 *    all of them gone after it stops; a worker that allocates without
 *    bound is OOM-killed at its limit, logged as such, restarted with
 *    back-off while the other children and detection go on; a worker that
 *    spins gets no more than its CPU share (its cgroup's usage over wall
 *    time); a fork loop dies of SIGSYS at its first fork (the sandbox is
 *    the first wall; pids.max the second, proven above).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent_harness.h"
#include "common/cgroup2.h"
#include "common/log.h"
#include "ipc/msg.h"
#include "supervisor/cgroup.h"
#include "supervisor/sup.h"

/* every path here is a short one under a mkdtemp dir or /sys/fs/cgroup */
#pragma GCC diagnostic ignored "-Wformat-truncation"

#define READY_MS 10000
#define STOP_MS 5000

static const struct jb_kind test_kinds[] = {
	{.name = "w", .role = IPC_ROLE_WORKER, .enable = JB_EN_ON},
	{.name = "p", .role = IPC_ROLE_PRINTER, .enable = JB_EN_ON},
};

static struct sup S;
static char tmp[64];

static void sup_setup(void)
{
	memset(&S, 0, sizeof(S));
	jb_config_defaults(&S.cfg);
	S.kinds = test_kinds;
	S.nkinds = 2;
	S.conf_path = "test.conf";
}

static void sup_teardown(void)
{
	sup_cgroup_free(&S);
}

static void tmp_setup(void)
{
	sup_setup();
	snprintf(tmp, sizeof(tmp), "/tmp/check_cgroup.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmp));
}

static void tmp_teardown(void)
{
	char cmd[128];

	sup_cgroup_free(&S);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmp);
}

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

static void mkdirs(const char *path)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", path);
	ck_assert_int_eq(system(cmd), 0);
}

/* dir/file holds exactly want (a trailing newline ignored) */
static void expect_file(const char *dir, const char *file, const char *want)
{
	char path[PATH_MAX], *got;
	size_t len;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	got = jbh_slurp(path, &len);
	ck_assert_msg(got != NULL, "%s: missing", path);
	if (len && got[len - 1] == '\n')
		got[len - 1] = '\0';
	ck_assert_msg(!strcmp(got, want), "%s: '%s', expected '%s'", path, got, want);
	free(got);
}

static int exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* --- fake hierarchies ------------------------------------------------------ */

START_TEST(test_v2_files)
{
	struct sup_cg_env env = {.fake = 1, .force = SUP_CG_V2};
	char v2[PATH_MAX], self[PATH_MAX], parent[PATH_MAX], top[PATH_MAX], slot[PATH_MAX],
	    err[512], taken[PATH_MAX];
	const char *names;
	uint64_t n = 99;
	pid_t pid;
	int st;

	snprintf(v2, sizeof(v2), "%s/v2", tmp);
	snprintf(self, sizeof(self), "%s/self", tmp);
	snprintf(parent, sizeof(parent), "%s/a/b", v2);
	mkdirs(parent);
	put(self, "0::/a/b\n");
	snprintf(top, sizeof(top), "%s/cgroup.controllers", parent);
	put(top, "cpuset cpu io memory hugetlb pids rdma misc\n");
	snprintf(top, sizeof(top), "%s/cgroup.subtree_control", parent);
	put(top, "cpu\n");
	/* another agent's name, or a stale one: passed over */
	snprintf(taken, sizeof(taken), "%s/jibril-%d", parent, (int)getpid());
	mkdirs(taken);
	env.v2_root = v2;
	env.self = self;
	S.cfg.limits_worker = (struct jb_limits){96ull << 20, 12, 40};
	S.cfg.limits_printer = (struct jb_limits){0, 0, 0};

	ck_assert_int_eq(sup_cgroup_init(&S, &env, err, sizeof(err)), 0);
	ck_assert_int_eq(sup_cgroup_mode(&S), SUP_CG_V2);
	/* what the parent lacked, then all three in ours */
	expect_file(parent, "cgroup.subtree_control", "+memory +pids");
	snprintf(top, sizeof(top), "%s/jibril-%d.1", parent, (int)getpid());
	ck_assert_str_eq(sup_cgroup_dir(&S, &test_kinds[0], 0, &names), top);
	ck_assert_str_eq(names, "memory,pids,cpu");
	ck_assert_ptr_null(sup_cgroup_dir(&S, &test_kinds[0], 1, NULL));
	expect_file(top, "cgroup.subtree_control", "+memory +pids +cpu");
	snprintf(slot, sizeof(slot), "%s/w", top);
	expect_file(slot, "memory.max", "100663296");
	expect_file(slot, "memory.swap.max", "0");
	expect_file(slot, "pids.max", "12");
	expect_file(slot, "cpu.max", "40000 100000");
	snprintf(slot, sizeof(slot), "%s/p", top);
	expect_file(slot, "memory.max", "max");
	expect_file(slot, "pids.max", "max");
	expect_file(slot, "cpu.max", "max 100000");
	snprintf(taken, sizeof(taken), "%s/memory.swap.max", slot);
	ck_assert_msg(!exists(taken), "swap limited without a memory limit");
	ck_assert_uint_eq(sup_cgroup_memory_limit(&S, &test_kinds[0]), 96ull << 20);
	ck_assert_uint_eq(sup_cgroup_memory_limit(&S, &test_kinds[1]), 0);

	/* a child joins with "0" */
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(sup_cgroup_join(&S, &test_kinds[1], err, sizeof(err)) == 0 ? 0 : 1);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	expect_file(slot, "cgroup.procs", "0");

	/* the OOM count comes from memory.events */
	snprintf(slot, sizeof(slot), "%s/w/memory.events", top);
	put(slot, "low 0\nhigh 0\nmax 31\noom 2\noom_kill 3\noom_group_kill 0\n");
	ck_assert_int_eq(sup_cgroup_oom_kills(&S, &test_kinds[0], &n), 0);
	ck_assert_uint_eq(n, 3);

	sup_cgroup_free(&S);
	ck_assert_ptr_null(S.cg);
	ck_assert_msg(!exists(top), "%s is still there", top);
	snprintf(taken, sizeof(taken), "%s/jibril-%d", parent, (int)getpid());
	ck_assert_msg(exists(taken), "someone else's %s was removed", taken);
	ck_assert_int_eq(sup_cgroup_oom_kills(&S, &test_kinds[0], &n), -1);
}
END_TEST

START_TEST(test_v1_files)
{
	struct sup_cg_env env = {.fake = 1};
	char self[PATH_MAX], d[PATH_MAX], top[PATH_MAX], slot[PATH_MAX], err[512];
	const char *names;
	uint64_t n = 99;

	snprintf(self, sizeof(self), "%s/self", tmp);
	/* cpu and cpuacct mounted together, as most v1 hosts do; no cgroup2 */
	put(self, "9:name=systemd:/\n8:pids:/\n4:memory:/svc/x\n2:cpu,cpuacct:/\n0::/\n");
	snprintf(d, sizeof(d), "%s/v1/memory/svc/x", tmp);
	mkdirs(d);
	snprintf(d, sizeof(d), "%s/v1/pids", tmp);
	mkdirs(d);
	snprintf(d, sizeof(d), "%s/v1/cpu", tmp);
	mkdirs(d);
	snprintf(d, sizeof(d), "%s/v1", tmp);
	env.v1_root = d;
	snprintf(top, sizeof(top), "%s/none", tmp);
	env.v2_root = top; /* no such directory */
	env.self = self;
	S.cfg.limits_worker = (struct jb_limits){32ull << 20, 5, 150};

	ck_assert_int_eq(sup_cgroup_init(&S, &env, err, sizeof(err)), 0);
	ck_assert_int_eq(sup_cgroup_mode(&S), SUP_CG_V1);
	/* in the order of /proc/self/cgroup: pids, memory, cpu,cpuacct */
	snprintf(top, sizeof(top), "%s/v1/pids/jibril-%d", tmp, (int)getpid());
	ck_assert_str_eq(sup_cgroup_dir(&S, &test_kinds[0], 0, &names), top);
	ck_assert_str_eq(names, "pids");
	snprintf(slot, sizeof(slot), "%s/w", top);
	expect_file(slot, "pids.max", "5");
	snprintf(top, sizeof(top), "%s/v1/memory/svc/x/jibril-%d", tmp, (int)getpid());
	ck_assert_str_eq(sup_cgroup_dir(&S, &test_kinds[0], 1, &names), top);
	ck_assert_str_eq(names, "memory");
	snprintf(slot, sizeof(slot), "%s/w", top);
	expect_file(slot, "memory.limit_in_bytes", "33554432");
	expect_file(slot, "memory.memsw.limit_in_bytes", "33554432");
	snprintf(slot, sizeof(slot), "%s/w/memory.oom_control", top);
	put(slot, "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
	ck_assert_int_eq(sup_cgroup_oom_kills(&S, &test_kinds[0], &n), 0);
	ck_assert_uint_eq(n, 2);
	snprintf(top, sizeof(top), "%s/v1/cpu/jibril-%d", tmp, (int)getpid());
	ck_assert_str_eq(sup_cgroup_dir(&S, &test_kinds[0], 2, &names), top);
	ck_assert_str_eq(names, "cpu,cpuacct");
	ck_assert_ptr_null(sup_cgroup_dir(&S, &test_kinds[0], 3, NULL));
	snprintf(slot, sizeof(slot), "%s/w", top);
	expect_file(slot, "cpu.cfs_period_us", "100000");
	expect_file(slot, "cpu.cfs_quota_us", "150000");
	/* the printer: the defaults */
	snprintf(slot, sizeof(slot), "%s/p", top);
	expect_file(slot, "cpu.cfs_quota_us", "50000");

	sup_cgroup_free(&S);
	ck_assert_msg(!exists(top), "%s is still there", top);
}
END_TEST

START_TEST(test_unavailable)
{
	struct sup_cg_env env = {.fake = 1};
	char self[PATH_MAX], none[PATH_MAX], err[512] = "";

	snprintf(self, sizeof(self), "%s/self", tmp);
	put(self, "4:memory:/\n0::/\n");
	snprintf(none, sizeof(none), "%s/none", tmp);
	env.v1_root = none;
	env.v2_root = none;
	env.self = self;
	/* the defaults: warned, no limits */
	ck_assert_int_eq(sup_cgroup_init(&S, &env, err, sizeof(err)), 0);
	ck_assert_int_eq(sup_cgroup_mode(&S), SUP_CG_NONE);
	ck_assert_ptr_null(S.cg);
	/* a limit the operator set: refused, with its line */
	S.cfg.limits_line = 7;
	ck_assert_int_eq(sup_cgroup_init(&S, &env, err, sizeof(err)), -1);
	ck_assert_msg(!strncmp(err, "test.conf:7: [limits] sets a limit, but cgroups are unavailable",
			       63), "%s", err);
	ck_assert_msg(strstr(err, "no v1 memory hierarchy") != NULL, "%s", err);
	ck_assert_ptr_null(S.cg);
}
END_TEST

/* --- real kernel: pids.max against a real fork loop ------------------------ */

START_TEST(test_pids_max_forkloop)
{
	char err[512], proc[64], *cg;
	const char *top;
	int fds[2], st, count = -1, e = 0;
	pid_t pid;

	S.cfg.limits_worker.pids = 6;
	ck_assert_msg(sup_cgroup_init(&S, NULL, err, sizeof(err)) == 0, "%s", err);
	ck_assert_msg(sup_cgroup_mode(&S) != SUP_CG_NONE, "no cgroups on this host");
	top = sup_cgroup_dir(&S, &test_kinds[0], 0, NULL);
	ck_assert_ptr_nonnull(top);
	/* the fork loop's children come back to us when it is killed */
	ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	ck_assert_int_eq(pipe(fds), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int n = 0, r[2];

		close(fds[0]);
		setpgid(0, 0);
		if (sup_cgroup_join(&S, &test_kinds[0], err, sizeof(err)) < 0)
			_exit(2);
		for (;;) {
			pid_t c = fork();

			if (c == 0)
				for (;;)
					pause();
			if (c < 0)
				break;
			n++;
		}
		r[0] = n;
		r[1] = errno;
		if (write(fds[1], r, sizeof(r)) != sizeof(r))
			_exit(3);
		for (;;)
			pause();
	}
	close(fds[1]);
	{
		int r[2];
		ck_assert_int_eq(read(fds[0], r, sizeof(r)), (ssize_t)sizeof(r));
		count = r[0];
		e = r[1];
	}
	close(fds[0]);
	snprintf(proc, sizeof(proc), "/proc/%d/cgroup", (int)pid);
	cg = jbh_slurp(proc, NULL);
	kill(-pid, SIGKILL);
	while (waitpid(-1, &st, 0) > 0)
		;
	ck_assert_msg(cg && strstr(cg, strrchr(top, '/')), "the loop was not in %s: %s", top, cg);
	free(cg);
	/* itself and 5 children: pids.max 6 */
	ck_assert_msg(count == 5 && e == EAGAIN, "forked %d children, then %s", count, strerror(e));
	sup_cgroup_free(&S);
	ck_assert_msg(!exists(top), "%s is still there", top);
}
END_TEST

/* An agent that was SIGKILLed leaves its cgroups: the next start removes
 * them (its pid no longer runs). */
START_TEST(test_stale_removed)
{
	char err[512], parent[PATH_MAX], stale[PATH_MAX], slot[PATH_MAX];
	pid_t dead = fork();

	ck_assert_int_ge(dead, 0);
	if (dead == 0)
		_exit(0);
	ck_assert_int_eq(waitpid(dead, NULL, 0), dead);
	ck_assert_msg(sup_cgroup_init(&S, NULL, err, sizeof(err)) == 0, "%s", err);
	ck_assert_msg(sup_cgroup_mode(&S) != SUP_CG_NONE, "no cgroups on this host");
	snprintf(parent, sizeof(parent), "%s", sup_cgroup_dir(&S, &test_kinds[0], 0, NULL));
	*strrchr(parent, '/') = '\0';
	sup_cgroup_free(&S);
	snprintf(stale, sizeof(stale), "%s/jibril-%d.3", parent, (int)dead);
	snprintf(slot, sizeof(slot), "%s/execution", stale);
	ck_assert_int_eq(mkdir(stale, 0755), 0);
	ck_assert_int_eq(mkdir(slot, 0755), 0);
	ck_assert_msg(sup_cgroup_init(&S, NULL, err, sizeof(err)) == 0, "%s", err);
	ck_assert_msg(!exists(stale), "the stale %s is still there", stale);
	sup_cgroup_free(&S);
}
END_TEST

/* --- the agent --------------------------------------------------------------- */

static struct jbh_agent A;

/* Where pid's cgroup of controller ctrl is (v1 /sys/fs/cgroup/CTRL/..., or
 * the cgroup2 one when that is where its limits are); 0 if found. */
static int cg_of(pid_t pid, const char *ctrl, char *out, size_t n)
{
	char path[64], *text, *save = NULL;
	const char *v2 = NULL;
	int fd, found = -1;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	if (!(text = jbh_slurp(path, NULL)))
		return -1;
	for (char *l = strtok_r(text, "\n", &save); l && found; l = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(l, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;

		if (!c2)
			continue;
		*c1 = *c2 = '\0'; /* ID, controllers, path */
		if (!strcmp(l, "0") && c2 == c1 + 1 && strstr(c2 + 1, "/jibril-")) {
			if ((fd = jb_cgroup2_root(&v2)) >= 0)
				close(fd);
			snprintf(out, n, "%s%s", v2 ? v2 : "/sys/fs/cgroup", c2 + 1);
			found = 0;
		} else {
			for (char *t = strtok(c1 + 1, ","); t; t = strtok(NULL, ","))
				if (!strcmp(t, ctrl)) {
					snprintf(out, n, "/sys/fs/cgroup/%s%s", ctrl, c2 + 1);
					found = 0;
				}
		}
	}
	free(text);
	return found;
}

static int is_v2(const char *dir)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/cgroup.controllers", dir);
	return exists(p);
}

/* a number in dir/file, or the value of "key N" in it */
static unsigned long long cg_num(const char *dir, const char *file, const char *key)
{
	char p[PATH_MAX], *t, *at;
	unsigned long long v;

	snprintf(p, sizeof(p), "%s/%s", dir, file);
	t = jbh_slurp(p, NULL);
	ck_assert_msg(t != NULL, "cannot read %s", p);
	at = t;
	if (key) {
		size_t kl = strlen(key);
		for (at = t; at && (strncmp(at, key, kl) || at[kl] != ' ');
		     at = strchr(at, '\n'), at = at ? at + 1 : NULL)
			;
		ck_assert_msg(at != NULL, "no %s in %s", key, p);
		at += kl + 1;
	}
	v = strtoull(at, NULL, 10);
	free(t);
	return v;
}

/* The CPU time of pid's cgroup, in ns. */
static unsigned long long cpu_ns(pid_t pid)
{
	char d[PATH_MAX];

	if (cg_of(pid, "cpuacct", d, sizeof(d)) == 0 && !is_v2(d))
		return cg_num(d, "cpuacct.usage", NULL);
	ck_assert_int_eq(cg_of(pid, "cpu", d, sizeof(d)), 0);
	return cg_num(d, "cpu.stat", "usage_usec") * 1000;
}

static unsigned long long throttled(pid_t pid)
{
	char d[PATH_MAX];

	ck_assert_int_eq(cg_of(pid, "cpu", d, sizeof(d)), 0);
	return cg_num(d, "cpu.stat", "nr_throttled");
}

static void fire_hook(const char *kind, const char *what)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/jibril-fault.%s.%s", A.dir, kind, what);
	fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0600);
	ck_assert_msg(fd >= 0, "%s: %s", path, strerror(errno));
	close(fd);
}

static void still_detects(const char *kind)
{
	struct jbh_match m;
	uint64_t dl = jbh_detect_deadline(&A);
	json_t *ev;

	jbh_trigger_for(&A, kind, &m);
	ev = jbh_wait_event(&A, jbh_match, &m, dl);
	ck_assert_msg(ev != NULL, "no %s for pid %d from %s (events %s, log %s)", m.kind,
		      (int)m.pid, kind, A.events, A.log);
	json_decref(ev);
}

static pid_t replaced(const char *kind, pid_t old, unsigned timeout_ms)
{
	pid_t np = jbh_wait_ready(&A, kind, old, timeout_ms);

	ck_assert_msg(np > 0, "%s[%d] was not replaced within %u ms (log %s)", kind, (int)old,
		      timeout_ms, A.log);
	ck_assert_msg(jbh_running(&A), "the supervisor died (log %s)", A.log);
	return np;
}

/* test_agent_oom and test_agent_forkloop share one agent with workers
 * limited to 32 MiB (its start, the BPF load, is most of a test's time):
 * started by an unchecked fixture in the runner, which the tests fork
 * from, stopped by the last test (test_shared_stop); the teardown only
 * reaps it. The OOM test runs first: it asserts that no other child was
 * restarted, and forkloop's restart of network comes after. */
static void shared_up(void)
{
	const struct jbh_opts o = {.extra_conf = "[limits]\nworker_memory = 32M\n"};

	jbh_start_ready(&A, &o, READY_MS);
}

static void shared_down(void)
{
	jbh_reap(&A);
}

static void shared(void)
{
	ck_assert_msg(jbh_running(&A), "the shared supervisor is gone (log %s)", A.log);
}

START_TEST(test_shared_stop)
{
	jbh_stop_unparented(&A, STOP_MS);
}
END_TEST

static const char limits_conf[] = "[limits]\n"
				  "worker_memory = 96M\nworker_pids = 12\nworker_cpu = 40%\n"
				  "printer_memory = 48M\nprinter_pids = 8\nprinter_cpu = 25%\n";

START_TEST(test_agent_layout)
{
	static const char *const kinds[] = {"file_access", "execution", "network", "file"};
	static const char *const ctrls[] = {"memory", "pids", "cpu"};
	struct jbh_opts o = {.extra_conf = limits_conf};
	char dirs[4][3][PATH_MAX], want[64];

	jbh_start(&A, &o);
	jbh_wait_all_ready(&A, READY_MS);
	for (int i = 0; i < 4; i++) {
		pid_t pid = jbh_child_pid(&A, kinds[i]);
		int printer = !strcmp(kinds[i], "file");

		snprintf(want, sizeof(want), "/jibril-%d", (int)A.pid);
		for (int c = 0; c < 3; c++) {
			char *d = dirs[i][c], *at;

			ck_assert_msg(cg_of(pid, ctrls[c], d, PATH_MAX) == 0,
				      "%s[%d] has no %s cgroup", kinds[i], (int)pid, ctrls[c]);
			/* .../jibril-SUPPID[.N]/KIND */
			at = strstr(d, want);
			ck_assert_msg(at && strchr(at + strlen(want), '/') &&
					      !strcmp(strrchr(d, '/') + 1, kinds[i]),
				      "%s[%d] is in %s", kinds[i], (int)pid, d);
		}
		if (is_v2(dirs[i][0])) {
			ck_assert_uint_eq(cg_num(dirs[i][0], "memory.max", NULL),
					  printer ? 48ull << 20 : 96ull << 20);
			ck_assert_uint_eq(cg_num(dirs[i][1], "pids.max", NULL), printer ? 8 : 12);
			ck_assert_uint_eq(cg_num(dirs[i][2], "cpu.max", NULL),
					  printer ? 25000 : 40000);
		} else {
			ck_assert_uint_eq(cg_num(dirs[i][0], "memory.limit_in_bytes", NULL),
					  printer ? 48ull << 20 : 96ull << 20);
			ck_assert_uint_eq(cg_num(dirs[i][1], "pids.max", NULL), printer ? 8 : 12);
			ck_assert_uint_eq(cg_num(dirs[i][2], "cpu.cfs_period_us", NULL), 100000);
			ck_assert_uint_eq(cg_num(dirs[i][2], "cpu.cfs_quota_us", NULL),
					  printer ? 25000 : 40000);
		}
		/* its own: no other process is in it */
		{
			char p[PATH_MAX], *procs, *nl;
			snprintf(p, sizeof(p), "%s/cgroup.procs", dirs[i][0]);
			procs = jbh_slurp(p, NULL);
			ck_assert_msg(procs && atoi(procs) == pid && (nl = strchr(procs, '\n')) &&
					      !nl[1],
				      "%s holds '%s', not just %d", p, procs ? procs : "?", (int)pid);
			free(procs);
		}
	}
	ck_assert(jbh_log_has(&A, "limits of workers: memory 96 MiB, pids 12, cpu 40%"));
	jbh_stop(&A, STOP_MS);
	for (int i = 0; i < 4; i++)
		for (int c = 0; c < 3; c++) {
			char *parent = dirs[i][c];
			ck_assert_msg(!exists(parent), "%s is still there after the stop", parent);
			*strrchr(parent, '/') = '\0'; /* the jibril cgroup */
			ck_assert_msg(!exists(parent), "%s is still there after the stop", parent);
		}
}
END_TEST

START_TEST(test_agent_oom)
{
	static const char *const others[] = {"file_access", "network", "file"};
	char d[PATH_MAX], want[96];
	pid_t old, np, other[3];
	uint64_t gen;

	shared();
	for (int i = 0; i < 3; i++)
		other[i] = jbh_child_pid(&A, others[i]);
	old = jbh_child_pid(&A, "execution");
	gen = jbh_gen_of(&A, "execution", old);
	ck_assert_int_eq(cg_of(old, "memory", d, sizeof(d)), 0);

	fire_hook("execution", "alloc");
	np = replaced("execution", old, 5000 + A.o.cadence_ms);
	ck_assert_msg(jbh_log_gen_wait(&A, "execution", gen,
				       "-> IDLE: killed by the OOM killer at its memory limit of "
				       "32 MiB", 2000),
		      "no OOM line for execution gen %llu (log %s)", (unsigned long long)gen, A.log);
	/* a failure of the child: the back-off, not "killed from outside" */
	snprintf(want, sizeof(want), ": execution: restarting in %u ms\n", A.o.backoff_initial_ms);
	ck_assert_msg(jbh_log_has(&A, want), "no '%s' in %s", want, A.log);
	ck_assert_uint_ge(cg_num(d, is_v2(d) ? "memory.events" : "memory.oom_control", "oom_kill"),
			  1);

	/* again: the delay doubles */
	gen = jbh_gen_of(&A, "execution", np);
	fire_hook("execution", "alloc");
	np = replaced("execution", np, 5000 + A.o.cadence_ms);
	ck_assert(jbh_log_gen_wait(&A, "execution", gen, "killed by the OOM killer", 2000));
	snprintf(want, sizeof(want), ": execution: restarting in %u ms\n",
		 2 * A.o.backoff_initial_ms);
	ck_assert_msg(jbh_log_has(&A, want), "no '%s' in %s", want, A.log);

	/* nothing else was touched, and everything still works */
	for (int i = 0; i < 3; i++)
		ck_assert_msg(jbh_child_pid(&A, others[i]) == other[i], "%s was restarted too",
			      others[i]);
	still_detects("execution");
	still_detects("file_access");
	still_detects("network");
	still_detects("file");
}
END_TEST

START_TEST(test_agent_spin)
{
	/* every worker gets 20%: compiling the recipes at start takes several
	 * times longer, so a deadline of 3 s rather than the harness's 1 s */
	struct jbh_opts o = {.extra_conf = "[limits]\nworker_cpu = 20%\n", .deadline_ms = 3000};
	unsigned long long u0, u1, th0, th1;
	uint64_t t0, t1;
	double share;
	pid_t pid;

	jbh_start(&A, &o);
	jbh_wait_all_ready(&A, READY_MS);
	pid = jbh_child_pid(&A, "file_access");
	fire_hook("file_access", "spin");
	ck_assert_msg(jbh_log_wait(&A, "fault hook: spin", 5000), "the hook did not fire (%s)",
		      A.log);
	th0 = throttled(pid);
	u0 = cpu_ns(pid);
	t0 = jbh_now_ms();
	jbh_sleep_ms(2000); /* the window measured: the spin lasts 3 s */
	u1 = cpu_ns(pid);
	t1 = jbh_now_ms();
	th1 = throttled(pid);
	share = (double)(u1 - u0) / 1e6 / (double)(t1 - t0);
	printf("timing: spinning worker at 20%%: %.1f%% of one CPU over %llu ms, throttled %llu "
	       "times\n",
	       share * 100, (unsigned long long)(t1 - t0), th1 - th0);
	ck_assert_msg(share <= 0.25, "a spinning worker got %.1f%% of a CPU, its share is 20%%",
		      share * 100);
	ck_assert_msg(share >= 0.05, "the worker did not spin (%.1f%%)", share * 100);
	ck_assert_msg(th1 - th0 >= 5, "throttled only %llu times", th1 - th0);
	/* busy, not hung: it heartbeated through it and goes on */
	ck_assert_msg(jbh_log_wait(&A, "fault hook: spin done", 3000), "no end of spin (%s)",
		      A.log);
	ck_assert_int_eq(jbh_child_pid(&A, "file_access"), pid);
	ck_assert_msg(!jbh_log_gen_line(&A, "file_access", jbh_gen_of(&A, "file_access", pid),
					"hung"),
		      "the spinning worker was called hung (%s)", A.log);
	still_detects("file_access");
	jbh_stop(&A, STOP_MS);
}
END_TEST

START_TEST(test_agent_forkloop)
{
	pid_t old;
	uint64_t gen;

	shared();
	old = jbh_child_pid(&A, "network");
	gen = jbh_gen_of(&A, "network", old);
	fire_hook("network", "forkloop");
	replaced("network", old, 5000 + A.o.cadence_ms);
	ck_assert(jbh_log_has(&A, "fault hook: forkloop"));
	/* the first wall: no fork at all */
	ck_assert_msg(jbh_log_gen_wait(&A, "network", gen, "-> IDLE: killed by signal 31", 2000),
		      "the fork loop did not die of SIGSYS (log %s)", A.log);
	ck_assert(!jbh_log_has(&A, "fault hook: fork refused"));
	still_detects("network");
}
END_TEST

static void sweep(void)
{
	jbh_kill_leftovers();
}

int main(void)
{
	Suite *s = suite_create("cgroup");
	TCase *t = tcase_create("fake_hierarchies");
	SRunner *sr;
	int failed;

	log_init("check_cgroup", LOG_L_ERR);
	tcase_add_checked_fixture(t, tmp_setup, tmp_teardown);
	tcase_add_test(t, test_v2_files);
	tcase_add_test(t, test_v1_files);
	tcase_add_test(t, test_unavailable);
	suite_add_tcase(s, t);
	if (geteuid() == 0) {
		jbh_main_init("check_cgroup");
		t = tcase_create("pids_max");
		tcase_add_checked_fixture(t, sup_setup, sup_teardown);
		tcase_add_test(t, test_pids_max_forkloop);
		tcase_add_test(t, test_stale_removed);
		suite_add_tcase(s, t);
		t = tcase_create("agent");
		tcase_set_timeout(t, 60);
		tcase_add_unchecked_fixture(t, NULL, sweep);
		tcase_add_test(t, test_agent_layout);
		tcase_add_test(t, test_agent_spin);
		suite_add_tcase(s, t);
		/* one agent, workers at 32 MiB (see shared_up); teardowns run in
		 * the reverse order of adding: the reap, then the sweep */
		t = tcase_create("agent_32M");
		tcase_set_timeout(t, 60);
		tcase_add_unchecked_fixture(t, NULL, sweep);
		tcase_add_unchecked_fixture(t, shared_up, shared_down);
		tcase_add_test(t, test_agent_oom);
		tcase_add_test(t, test_agent_forkloop);
		tcase_add_test(t, test_shared_stop);
		suite_add_tcase(s, t);
	} else {
		printf("SKIP: check_cgroup: the real-kernel cases need root\n");
	}
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	if (geteuid() == 0)
		jbh_kill_leftovers();
	return failed ? 1 : 0;
}
