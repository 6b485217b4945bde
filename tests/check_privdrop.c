/*
 * check_privdrop.c - least privilege in the supervisor (supervisor/privdrop.c).
 *
 * In the test process itself (root, forked by Check): after sup_privdrop()
 * the kernel shows exactly the kept capabilities, a filter and no
 * no_new_privs; every row of the deny-list fails with EPERM and the
 * process lives on (a bpf() command with garbage in the upper half of its
 * register too, and a foreign-ABI call); reading and writing a map through
 * a fd opened before the drop still works; a root exec gets the bounding
 * set, which is what lets a child change its uid.
 *
 * Against the real agent: the running supervisor's /proc status says the
 * same, its children hold nothing, and after the drop a SIGHUP reload with
 * a new recipe takes effect, a killed worker is restarted and real
 * triggers are still detected on the cadence.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <check.h>
#include <linux/bpf.h>

#include "agent_harness.h"
#include "supervisor/privdrop.h"

/* CAP_KILL (5); CAP_SETGID (6), CAP_SETUID (7), CAP_SETPCAP (8); and
 * CAP_DAC_OVERRIDE (1) permitted, not effective (raised at exit only) */
#define WANT_RUN "0000000000000020"
#define WANT_PRM "0000000000000022"
#define WANT_BND "00000000000001c0"

static char *status_field(const char *status, const char *name, char *buf, size_t n)
{
	char want[32];
	const char *p;
	size_t len;

	snprintf(want, sizeof(want), "\n%s:", name);
	p = strstr(status, want);
	if (!p)
		return NULL;
	p += strlen(want);
	while (*p == ' ' || *p == '\t')
		p++;
	len = strcspn(p, "\n");
	if (len >= n)
		len = n - 1;
	memcpy(buf, p, len);
	buf[len] = '\0';
	return buf;
}

/* the fields of /proc/PID/status that privdrop sets, as the kernel says */
static void assert_dropped(pid_t pid)
{
	static const struct {
		const char *field, *want;
	} want[] = {
		{"CapInh", "0000000000000000"}, {"CapPrm", WANT_PRM}, {"CapEff", WANT_RUN},
		{"CapBnd", WANT_BND},		{"CapAmb", "0000000000000000"},
		{"NoNewPrivs", "0"},		{"Seccomp", "2"},
	};
	char path[64], f[64], *status;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	status = jbh_slurp(path, NULL);
	ck_assert_msg(status != NULL, "cannot read %s", path);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		ck_assert_msg(status_field(status, want[i].field, f, sizeof(f)) &&
				      !strcmp(f, want[i].want),
			      "pid %d %s: %s, want %s", (int)pid, want[i].field, f, want[i].want);
	free(status);
}

static int drop_with_map(void)
{
	char err[256] = "";
	int fd = bpf_map_create(BPF_MAP_TYPE_HASH, "jb_test", 4, 8, 16, NULL);

	ck_assert_msg(fd >= 0, "bpf_map_create: %s", strerror(errno));
	ck_assert_msg(sup_privdrop(fd, err, sizeof(err)) == 0, "sup_privdrop: %s", err);
	return fd;
}

/* --- in this process ----------------------------------------------------------- */

START_TEST(drop_keeps_exactly_the_table)
{
	drop_with_map();
	assert_dropped(getpid());
}
END_TEST

START_TEST(held_maps_still_work)
{
	int fd = drop_with_map();
	__u32 k = 7, next, keys[16], batch;
	__u64 v = 42, out = 0, vals[16];
	__u32 count = 16;

	ck_assert_msg(bpf_map_update_elem(fd, &k, &v, BPF_ANY) == 0, "update: %s", strerror(errno));
	ck_assert_msg(bpf_map_lookup_elem(fd, &k, &out) == 0 && out == 42, "lookup: %s",
		      strerror(errno));
	ck_assert_msg(bpf_map_get_next_key(fd, NULL, &next) == 0 && next == 7, "next key: %s",
		      strerror(errno));
	int rc = bpf_map_lookup_batch(fd, NULL, &batch, keys, vals, &count, NULL);
	ck_assert_msg((rc == 0 || errno == ENOENT) && count == 1 && keys[0] == 7,
		      "batch lookup: %s, %u records", strerror(errno), count);
	ck_assert_msg(bpf_map_delete_elem(fd, &k) == 0, "delete: %s", strerror(errno));
	/* but no new map */
	ck_assert_int_lt(bpf_map_create(BPF_MAP_TYPE_HASH, "jb_test2", 4, 8, 16, NULL), 0);
}
END_TEST

START_TEST(denied_calls_fail_with_eperm_and_the_process_lives)
{
	union bpf_attr a;
	int n = 0;

	drop_with_map();
	for (size_t i = 0; sup_privdrop_denied_syscall(i) != -1; i++, n++) {
		long nr = sup_privdrop_denied_syscall(i);

		errno = 0;
		ck_assert_msg(syscall(nr, 0, 0, 0, 0, 0, 0) == -1 && errno == EPERM,
			      "syscall %ld: %s, not EPERM", nr, strerror(errno));
	}
	ck_assert_int_ge(n, 30);
	memset(&a, 0, sizeof(a));
	for (size_t i = 0; sup_privdrop_denied_bpf_cmd(i) != -1; i++) {
		unsigned long cmd = (unsigned long)sup_privdrop_denied_bpf_cmd(i);

		errno = 0;
		ck_assert_msg(syscall(SYS_bpf, cmd, &a, sizeof(a)) == -1 && errno == EPERM,
			      "bpf cmd %lu: %s, not EPERM", cmd, strerror(errno));
		/* the kernel reads an int: bits above it must not get past */
		errno = 0;
		ck_assert_msg(syscall(SYS_bpf, cmd | (1ul << 32), &a, sizeof(a)) == -1 &&
				      errno == EPERM,
			      "bpf cmd %lu with high bits: %s, not EPERM", cmd, strerror(errno));
	}
	/* a namespace at fork is unshare's twin; clone3 hides its flags */
	for (unsigned long f = CLONE_NEWNS; f; f = f == CLONE_NEWNS ? CLONE_NEWUSER : 0) {
		long r = syscall(SYS_clone, f | SIGCHLD, 0, 0, 0, 0);

		if (r == 0)
			_exit(0); /* the filter let it through: the parent fails */
		ck_assert_msg(r == -1 && errno == EPERM, "clone(%#lx): %ld, %s", f, r,
			      strerror(errno));
	}
	errno = 0;
	ck_assert_msg(syscall(SYS_clone3, NULL, 0) == -1 && errno == ENOSYS, "clone3: %s",
		      strerror(errno));
	/* what is not listed goes through to the kernel */
	errno = 0;
	ck_assert_msg(syscall(SYS_bpf, BPF_MAP_LOOKUP_ELEM, &a, sizeof(a)) == -1 && errno != EPERM,
		      "a map lookup was refused: %s", strerror(errno));
	ck_assert_int_eq(syscall(SYS_getpid), getpid());
}
END_TEST

#ifdef __x86_64__
static long int80_getpid(void)
{
	long r;
	__asm__ volatile("int $0x80" : "=a"(r) : "a"(20L) : "memory");
	return r;
}

/* the i386 ABI (int 0x80) cannot walk around the list */
START_TEST(foreign_abi_is_refused)
{
	pid_t pid = fork();
	int st;

	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(int80_getpid() == getpid() ? 0 : 1);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		printf("SKIP: this kernel has no i386 ABI\n");
		return;
	}
	drop_with_map();
	ck_assert_int_eq(int80_getpid(), -EPERM);
}
END_TEST
#endif

/* Children are re-executed as root and must get setuid/setgid/setpcap
 * back from the bounding set (no no_new_privs, or they could not drop to
 * their own uid). */
START_TEST(root_exec_gets_the_bounding_set)
{
	char path[64], buf[8192], f[64];
	int p[2], st;
	ssize_t n, got = 0;
	pid_t pid;

	drop_with_map();
	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(p[1], 1);
		snprintf(path, sizeof(path), "/proc/self/status");
		execl("/bin/cat", "cat", path, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	while ((n = read(p[0], buf + got, sizeof(buf) - 1 - (size_t)got)) > 0)
		got += n;
	buf[got] = '\0';
	close(p[0]);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "cat failed");
	ck_assert_msg(status_field(buf, "CapPrm", f, sizeof(f)) && !strcmp(f, WANT_BND),
		      "exec'd root CapPrm %s, want %s", f, WANT_BND);
	ck_assert_msg(status_field(buf, "CapEff", f, sizeof(f)) && !strcmp(f, WANT_BND),
		      "exec'd root CapEff %s, want %s", f, WANT_BND);
	ck_assert_msg(status_field(buf, "Seccomp_filters", f, sizeof(f)) && !strcmp(f, "1"),
		      "the filter is not inherited: %s", f);
}
END_TEST

/* --- the real agent --------------------------------------------------------------- */

static char rdir[64];

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	ck_assert_msg(fd >= 0, "%s: %s", path, strerror(errno));
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	ck_assert_int_eq(fchmod(fd, mode), 0);
	close(fd);
}

static void rdir_setup(void)
{
	snprintf(rdir, sizeof(rdir), "/tmp/jb-priv.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(rdir));
	ck_assert_int_eq(chmod(rdir, 0700), 0);
}

static void rdir_teardown(void)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s.d'", rdir, rdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup failed\n");
}

/* a file_access recipe on files named base */
static const char *recipe(const char *kind, const char *base)
{
	static char buf[1024];
	snprintf(buf, sizeof(buf),
		 "- kind: %s\n"
		 "  name: Test recipe\n"
		 "  mechanism: file_access\n"
		 "  breed: file_access\n"
		 "  importance: low\n"
		 "  tactic: discovery\n"
		 "  technique: \"T1083 File and Directory Discovery\"\n"
		 "  file_actions: [open]\n"
		 "  bases:\n"
		 "    - {base: %s}\n",
		 kind, base);
	return buf;
}

/* open a file named base (a real open by a real process); its pid */
static pid_t trigger(const char *base)
{
	char dir[128], path[256], helper[4096];
	pid_t pid;

	snprintf(dir, sizeof(dir), "%s.d", rdir);
	mkdir(dir, 0700);
	snprintf(path, sizeof(path), "%s/%s", dir, base);
	write_file(path, "x", 0600);
	jbh_helper(helper, sizeof(helper), "openfile");
	char *argv[] = {"openfile", "read", path, "1", "0", NULL};
	ck_assert_int_eq(jbh_run(helper, argv, 5000, &pid), 0);
	unlink(path);
	return pid;
}

static void assert_detected(struct jbh_agent *a, const char *kind, const char *base)
{
	pid_t pid = trigger(base);
	struct jbh_match m = {.kind = kind, .pid = pid};
	json_t *ev = jbh_wait_event(a, jbh_match, &m, jbh_detect_deadline(a));

	ck_assert_msg(ev != NULL, "no %s detection for pid %d", kind, (int)pid);
	json_decref(ev);
}

START_TEST(running_supervisor_is_dropped_and_children_hold_nothing)
{
	struct jbh_agent a;
	struct jbh_opts o = {.stdout_printer = 1};
	char path[64], f[64], *status;

	jbh_start(&a, &o);
	jbh_wait_all_ready(&a, 10000);
	assert_dropped(a.pid);
	ck_assert(jbh_log_has(&a, "privileges dropped: capabilities kept: kill;"));
	for (int i = 0; i < a.nkinds; i++) {
		pid_t pid = jbh_child_pid(&a, a.kinds[i]);

		ck_assert_msg(pid > 0, "no %s child", a.kinds[i]);
		snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
		status = jbh_slurp(path, NULL);
		ck_assert_ptr_nonnull(status);
		for (const char *const *cap = (const char *const[]){"CapPrm", "CapEff", "CapBnd",
								       NULL}; *cap; cap++)
			ck_assert_msg(status_field(status, *cap, f, sizeof(f)) &&
					      !strcmp(f, "0000000000000000"),
				      "%s %s: %s", a.kinds[i], *cap, f);
		/* its own filter on top of the supervisor's */
		ck_assert_msg(status_field(status, "Seccomp_filters", f, sizeof(f)) &&
				      !strcmp(f, "2"), "%s Seccomp_filters: %s", a.kinds[i], f);
		free(status);
	}
	jbh_stop(&a, 10000);
}
END_TEST

/* the worker of kind has said "N recipes loaded" at least times times */
static int recipes_loaded_wait(struct jbh_agent *a, const char *kind, int times,
			       unsigned timeout_ms)
{
	uint64_t end = jbh_now_ms() + timeout_ms;
	char prefix[64];

	snprintf(prefix, sizeof(prefix), "%s[", kind);
	for (;;) {
		char *log = jbh_log_read(a);
		int n = 0;

		for (char *p = log; (p = strstr(p, prefix)); p++) {
			char *eol = strchr(p, '\n');
			char *hit = strstr(p, " recipes loaded");

			if (hit && (!eol || hit < eol))
				n++;
		}
		free(log);
		if (n >= times)
			return 1;
		if (jbh_now_ms() >= end)
			return 0;
		jbh_sleep_ms(50);
	}
}

START_TEST(reload_restart_and_cadence_work_after_the_drop)
{
	struct jbh_agent a;
	char extra[256], path[256];
	struct jbh_opts o = {.no_fault_hooks = 1, .extra_conf = extra};
	pid_t old, fresh;

	snprintf(path, sizeof(path), "%s/first.yaml", rdir);
	write_file(path, recipe("test_priv_first", "jb-priv-first"), 0600);
	snprintf(extra, sizeof(extra), "[recipes]\ndir = %s\n", rdir);
	jbh_start(&a, &o);
	jbh_wait_all_ready(&a, 10000);
	assert_dropped(a.pid);

	/* the cadence: a real open is detected */
	assert_detected(&a, "test_priv_first", "jb-priv-first");

	/* SIGHUP reads root-only files with no CAP_DAC_*: a new recipe fires */
	snprintf(path, sizeof(path), "%s/second.yaml", rdir);
	write_file(path, recipe("test_priv_second", "jb-priv-second"), 0600);
	ck_assert_int_eq(kill(a.pid, SIGHUP), 0);
	ck_assert_msg(jbh_log_wait(&a, "SIGHUP: reloaded", 5000), "no reload in the log");
	ck_assert(!jbh_log_has(&a, "reload refused"));
	/* the worker swaps its set when the whole new one loaded: a trigger
	 * before that is judged by the old set */
	ck_assert_msg(recipes_loaded_wait(&a, "file_access", 2, 5000),
		      "file_access did not load the new recipe set (log %s)", a.log);
	assert_detected(&a, "test_priv_second", "jb-priv-second");

	/* a worker (its own uid) killed from outside comes back, and works */
	old = jbh_child_pid(&a, "file_access");
	ck_assert_int_gt(old, 0);
	ck_assert_int_eq(kill(old, SIGKILL), 0);
	fresh = jbh_wait_ready(&a, "file_access", old, 10000);
	ck_assert_msg(fresh > 0 && fresh != old, "file_access was not restarted");
	assert_detected(&a, "test_priv_second", "jb-priv-second");

	/* the supervisor stops a child running as another uid: SIGTERM at
	 * shutdown needs CAP_KILL, and every child must be gone */
	ck_assert(jbh_alive(&a));
	jbh_stop(&a, 10000);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("privdrop");
	TCase *self = tcase_create("self"), *agent = tcase_create("agent");
	SRunner *sr;
	int failed;

	jbh_main_init("privdrop");
	tcase_add_test(self, drop_keeps_exactly_the_table);
	tcase_add_test(self, held_maps_still_work);
	tcase_add_test(self, denied_calls_fail_with_eperm_and_the_process_lives);
#ifdef __x86_64__
	tcase_add_test(self, foreign_abi_is_refused);
#endif
	tcase_add_test(self, root_exec_gets_the_bounding_set);
	suite_add_tcase(s, self);
	tcase_set_timeout(agent, 120);
	tcase_add_checked_fixture(agent, rdir_setup, rdir_teardown);
	tcase_add_test(agent, running_supervisor_is_dropped_and_children_hold_nothing);
	tcase_add_test(agent, reload_restart_and_cadence_work_after_the_drop);
	suite_add_tcase(s, agent);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
