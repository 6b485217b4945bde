/*
 * check_env.c - the environment at exec against padding, on the real
 * kernel with the real agent: the kernel keeps only the variables recipes
 * name (supervisor/envnames.c, bpf/jibril.bpf.c fill_env), so padding the
 * environment with other variables cannot push LD_PRELOAD out of the
 * record; an environment it could not read whole is itself reported
 * (dynamic_linker_env_unread); the set of names follows the recipes on
 * SIGHUP.
 *
 * Each attack is an execve() with a crafted environment and its benign twin
 * the same padding without any LD_* variable. The twins' silence is read
 * after a barrier: a last attack whose detection can only appear once the
 * agent has examined every exec before it. Every wait polls with a
 * deadline.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>

#include "agent_harness.h"
#include "bpf/jibril.h"

#define TRUE_BIN "/bin/true"

/* An environment being built: malloc'd "NAME=value" strings, NULL ended. */
struct env {
	char *v[1024];
	int n;
};

static void env_add(struct env *e, const char *name, char fill, size_t vlen)
{
	size_t l = strlen(name);
	char *s = malloc(l + 1 + vlen + 1);

	ck_assert_ptr_nonnull(s);
	ck_assert_int_lt(e->n, 1023);
	memcpy(s, name, l);
	s[l] = '=';
	memset(s + l + 1, fill, vlen);
	s[l + 1 + vlen] = '\0';
	e->v[e->n++] = s;
	e->v[e->n] = NULL;
}

static void env_put(struct env *e, const char *entry)
{
	ck_assert_int_lt(e->n, 1023);
	e->v[e->n] = strdup(entry);
	ck_assert_ptr_nonnull(e->v[e->n]);
	e->v[++e->n] = NULL;
}

static size_t env_bytes(const struct env *e)
{
	size_t b = 0;

	for (int i = 0; i < e->n; i++)
		b += strlen(e->v[i]) + 1;
	return b;
}

static void env_free(struct env *e)
{
	for (int i = 0; i < e->n; i++)
		free(e->v[i]);
	e->n = 0;
	e->v[0] = NULL;
}

/* the parent run_env() gave each pid it started */
static struct {
	pid_t pid, ppid;
} runs[64];
static int nruns;

static pid_t parent_of(pid_t pid)
{
	for (int i = 0; i < nruns; i++)
		if (runs[i].pid == pid)
			return runs[i].ppid;
	ck_abort_msg("pid %d was not started by run_env", (int)pid);
	return -1;
}

/* execve(argv[0], argv, env) in a grandchild with stdio on /dev/null
 * (ld.so says the preloaded file does not exist), waited for. Its parent
 * is a fresh process each time: the recipes' times_per_parent_proc would
 * otherwise count every exec of this suite together. Returns its pid. */
static pid_t run_env(char *const argv[], const struct env *e)
{
	int p[2], st;
	pid_t mid, pid = -1;

	ck_assert_int_eq(pipe(p), 0);
	mid = fork();
	ck_assert_int_ge(mid, 0);
	if (mid == 0) {
		pid_t g = fork();
		int fd;

		if (g < 0)
			_exit(126);
		if (g == 0) {
			fd = open("/dev/null", O_RDWR);
			if (fd >= 0) {
				dup2(fd, 0);
				dup2(fd, 1);
				dup2(fd, 2);
			}
			execve(argv[0], argv, e->v);
			_exit(127);
		}
		if (write(p[1], &g, sizeof(g)) != sizeof(g))
			_exit(126);
		if (waitpid(g, &st, 0) != g)
			_exit(126);
		_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 125);
	}
	close(p[1]);
	ck_assert_int_eq(read(p[0], &pid, sizeof(pid)), sizeof(pid));
	close(p[0]);
	st = jbh_wait_exit(mid, 10000);
	ck_assert_int_lt(nruns, 64);
	runs[nruns].pid = pid;
	runs[nruns++].ppid = mid;
	ck_assert_msg(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) < 125, "%s did not run (%d)",
		      argv[0], st);
	return pid;
}

static pid_t run_true(const struct env *e)
{
	char *const argv[] = {TRUE_BIN, NULL};

	return run_env(argv, e);
}

/* A value of LD_PRELOAD unique to this run: it must appear in the event. */
static void preload_value(char *out, size_t len, const char *tag)
{
	snprintf(out, len, "/tmp/jb-envpad-%d-%s/evil.so", (int)getpid(), tag);
}

static void padding(struct env *e, int nvars, size_t vlen, const char *prefix)
{
	char name[64];

	for (int i = 0; i < nvars; i++) {
		snprintf(name, sizeof(name), "%s_%03d", prefix, i);
		env_add(e, name, 'p', vlen);
	}
}

/* The detection of kind for pid: asserts its env names the LD_PRELOAD
 * value (when given) and whether env_truncated is set. */
static void expect(struct jbh_agent *a, const char *kind, pid_t pid, const char *preload,
		   int truncated, const char *what, uint64_t spawned)
{
	struct jbh_match m = {.kind = kind, .pid = pid};
	json_t *ev = jbh_wait_event(a, jbh_match, &m, jbh_detect_deadline(a) + 10000);
	char want[512];
	char *dump;

	ck_assert_msg(ev != NULL, "%s: no %s detection for pid %d", what, kind, (int)pid);
	dump = json_dumps(ev, JSON_COMPACT);
	jbh_check_event(ev, kind, pid, parent_of(pid), NULL, spawned);
	if (preload) {
		snprintf(want, sizeof(want), "LD_PRELOAD=%s", preload);
		ck_assert_msg(jbh_jarr_has(ev, "process.env", want), "%s: env lacks %s: %s", what,
			      want, dump);
	}
	ck_assert_msg(json_is_boolean(json_object_get(json_object_get(ev, "process"),
						      "env_truncated")) &&
			      json_is_true(json_object_get(json_object_get(ev, "process"),
							   "env_truncated")) == !!truncated,
		      "%s: env_truncated is not %s: %s", what, truncated ? "true" : "false", dump);
	free(dump);
	json_decref(ev);
}

static int env_kinds(json_t *ev, void *arg)
{
	pid_t pid = *(pid_t *)arg;
	const char *k = jbh_jstr(ev, "kind");

	return jbh_jint(ev, "process.pid", -1) == pid && k &&
	       (!strcmp(k, "dynamic_linker_attacks") || !strcmp(k, "dynamic_linker_env_unread"));
}

static void expect_none(struct jbh_agent *a, pid_t pid, const char *what)
{
	ck_assert_msg(jbh_count_events(a, env_kinds, &pid) == 0,
		      "%s (pid %d): an environment detection fired", what, (int)pid);
}

/* A last attack, waited for: everything exec'd before it was examined. */
static void barrier(struct jbh_agent *a)
{
	char pre[256], s[300];
	struct env e = {0};
	uint64_t t = jbh_real_ms();
	pid_t pid;

	preload_value(pre, sizeof(pre), "barrier");
	snprintf(s, sizeof(s), "LD_PRELOAD=%s", pre);
	env_put(&e, "PATH=/usr/bin:/bin");
	env_put(&e, s);
	pid = run_true(&e);
	expect(a, "dynamic_linker_attacks", pid, pre, 0, "barrier", t);
	env_free(&e);
}

/* How many times needle is in the supervisor's log. */
static int log_count(const struct jbh_agent *a, const char *needle)
{
	char *log = jbh_log_read(a);
	int n = 0;

	for (const char *p = log; (p = strstr(p, needle)); p++)
		n++;
	free(log);
	return n;
}

static int log_wait_count(const struct jbh_agent *a, const char *needle, int n, unsigned ms)
{
	uint64_t end = jbh_now_ms() + ms;

	while (log_count(a, needle) < n) {
		if (jbh_now_ms() >= end)
			return 0;
		jbh_sleep_ms(20);
	}
	return 1;
}

/* --- padding cannot hide LD_PRELOAD ------------------------------------- */

START_TEST(padding_does_not_hide)
{
	struct jbh_agent a;
	struct jbh_opts o = {.no_fault_hooks = 1};
	struct env e = {0};
	char pre[3][256], s[400];
	pid_t atk[3], twin[5];
	uint64_t t0;

	jbh_start(&a, &o);
	jbh_wait_all_ready(&a, 90000);
	ck_assert_msg(jbh_log_wait(&a, "the kernel records", 5000),
		      "the supervisor did not say which variables the kernel records");
	ck_assert_msg(jbh_log_has(&a, "LD_PRELOAD"), "LD_PRELOAD is not among the recorded names");
	t0 = jbh_real_ms();

	/* 1. env LD_PAD=<130 bytes> LD_PRELOAD=... /bin/true: 130 bytes of
	 * an LD_ variable filled the old 128-byte area by itself */
	{
		char pad[160], jpad[160];
		char *const argv[] = {"/usr/bin/env", pad, s, TRUE_BIN, NULL};
		char *const targv[] = {"/usr/bin/env", pad, TRUE_BIN, NULL};
		char *const jargv[] = {"/usr/bin/env", jpad, TRUE_BIN, NULL};

		preload_value(pre[0], sizeof(pre[0]), "pad130");
		memcpy(pad, "LD_PAD=", 7);
		memset(pad + 7, 'x', 130);
		pad[137] = '\0';
		memcpy(jpad, "JB_PAD=", 7);
		memcpy(jpad + 7, pad + 7, 131);
		snprintf(s, sizeof(s), "LD_PRELOAD=%s", pre[0]);
		env_put(&e, "PATH=/usr/bin:/bin");
		atk[0] = run_env(argv, &e);
		/* its twins: the same padding without LD_PRELOAD, and the same
		 * bytes in a variable that is not LD_* */
		twin[0] = run_env(targv, &e);
		twin[4] = run_env(jargv, &e);
		env_free(&e);
	}

	/* 2. 16 KiB of environment before LD_PRELOAD */
	preload_value(pre[1], sizeof(pre[1]), "16k");
	padding(&e, 128, 120, "JB_PAD16K");
	ck_assert_uint_ge(env_bytes(&e), 16384);
	snprintf(s, sizeof(s), "LD_PRELOAD=%s", pre[1]);
	env_put(&e, s);
	atk[1] = run_true(&e);
	env_free(&e);
	padding(&e, 128, 120, "JB_PAD16K");
	twin[1] = run_true(&e);
	env_free(&e);

	/* 3. LD_PRELOAD the last of 200 variables */
	preload_value(pre[2], sizeof(pre[2]), "last200");
	padding(&e, 199, 24, "JB_VAR");
	snprintf(s, sizeof(s), "LD_PRELOAD=%s", pre[2]);
	env_put(&e, s);
	ck_assert_int_eq(e.n, 200);
	atk[2] = run_true(&e);
	env_free(&e);
	padding(&e, 200, 24, "JB_VAR");
	twin[2] = run_true(&e);
	env_free(&e);

	/* a big CI-like environment (8 KiB of ordinary variables): scanned
	 * whole, nothing to say */
	padding(&e, 128, 56, "CI_JOB");
	ck_assert_uint_ge(env_bytes(&e), 8192);
	twin[3] = run_true(&e);
	env_free(&e);

	expect(&a, "dynamic_linker_attacks", atk[0], pre[0], 0, "LD_PAD of 130 bytes", t0);
	expect(&a, "dynamic_linker_attacks", atk[1], pre[1], 0, "16 KiB before LD_PRELOAD", t0);
	expect(&a, "dynamic_linker_attacks", atk[2], pre[2], 0, "LD_PRELOAD last of 200", t0);
	barrier(&a);
	for (int i = 0; i < 3; i++) {
		struct jbh_match m = {.kind = "dynamic_linker_env_unread", .pid = atk[i]};
		ck_assert_msg(jbh_count_events(&a, jbh_match, &m) == 0,
			      "attack %d was scanned whole yet reported unread", i);
	}
	expect_none(&a, twin[0], "LD_PAD's twin");
	expect_none(&a, twin[4], "JB_PAD's twin");
	expect_none(&a, twin[1], "16 KiB twin");
	expect_none(&a, twin[2], "200-variable twin");
	expect_none(&a, twin[3], "8 KiB CI environment");
	jbh_stop(&a, 10000);
}
END_TEST

/* --- what cannot be read is reported ------------------------------------ */

START_TEST(unread_is_reported)
{
	struct jbh_agent a;
	struct jbh_opts o = {.no_fault_hooks = 1};
	struct env e = {0};
	char pre[2][256], s[600];
	pid_t big, over, twin;
	uint64_t t0;

	jbh_start(&a, &o);
	jbh_wait_all_ready(&a, 90000);
	t0 = jbh_real_ms();

	/* more environment than the kernel scans, LD_PRELOAD past it */
	preload_value(pre[0], sizeof(pre[0]), "toobig");
	padding(&e, 80, 1024, "JB_BIG");
	ck_assert_uint_gt(env_bytes(&e), JB_ENV_SCAN);
	snprintf(s, sizeof(s), "LD_PRELOAD=%s", pre[0]);
	env_put(&e, s);
	big = run_true(&e);
	env_free(&e);

	/* wanted entries overflow the record: a benign-looking, padded
	 * LD_LIBRARY_PATH (the fakeroot form, ":" repeated) ahead of
	 * LD_PRELOAD. What is kept looks harmless; the cut is the signal. */
	preload_value(pre[1], sizeof(pre[1]), "overflow");
	memset(s, 0, sizeof(s));
	strcpy(s, "LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/libfakeroot");
	memset(s + strlen(s), ':', JB_ENV_LEN);
	env_put(&e, "PATH=/usr/bin:/bin");
	env_put(&e, s);
	snprintf(s, sizeof(s), "LD_PRELOAD=%s", pre[1]);
	env_put(&e, s);
	over = run_true(&e);
	env_free(&e);

	/* the same size of environment, scanned whole: silent */
	padding(&e, 60, 1024, "JB_BIG");
	ck_assert_uint_lt(env_bytes(&e), JB_ENV_SCAN - 1);
	twin = run_true(&e);
	env_free(&e);

	expect(&a, "dynamic_linker_env_unread", big, NULL, 1, "environment past the scan", t0);
	expect(&a, "dynamic_linker_env_unread", over, NULL, 1, "LD_* entries overflow", t0);
	barrier(&a);
	{
		/* the LD_PRELOAD past the scan was not seen, and is not claimed */
		struct jbh_match m = {.kind = "dynamic_linker_attacks", .pid = big};
		ck_assert_int_eq(jbh_count_events(&a, jbh_match, &m), 0);
	}
	expect_none(&a, twin, "60 KiB environment");
	jbh_stop(&a, 10000);
}
END_TEST

/* --- the names follow the recipes on SIGHUP ------------------------------ */

static char rdir[64];

static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static pid_t run_with(const char *entry)
{
	struct env e = {0};
	pid_t pid;

	env_put(&e, "PATH=/usr/bin:/bin");
	padding(&e, 100, 100, "JB_RELOAD_PAD");
	env_put(&e, entry);
	pid = run_true(&e);
	env_free(&e);
	return pid;
}

START_TEST(names_follow_reload)
{
	static const char recipe[] =
		"- kind: test_env_reload\n"
		"  name: a variable only an operator recipe names\n"
		"  mechanism: env_vars\n"
		"  importance: low\n"
		"  tactic: defense_evasion\n"
		"  technique: \"T1574 Hijack Execution Flow\"\n"
		"  env_vars: [JB_ENVPAD_RELOADED]\n";
	struct jbh_agent a;
	char extra[256], path[128];
	struct jbh_opts o = {.no_fault_hooks = 1, .extra_conf = extra};
	struct jbh_match m = {.kind = "test_env_reload"};
	json_t *ev;
	pid_t before, after;

	snprintf(rdir, sizeof(rdir), "/tmp/jb-envrcp.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(rdir));
	ck_assert_int_eq(chmod(rdir, 0700), 0);
	snprintf(extra, sizeof(extra), "[recipes]\ndir = %s\n", rdir);
	snprintf(path, sizeof(path), "%s/env.yaml", rdir);
	jbh_start(&a, &o);
	jbh_wait_all_ready(&a, 90000);
	ck_assert_msg(!jbh_log_has(&a, "JB_ENVPAD_RELOADED"), "a name no recipe has is recorded");
	before = run_with("JB_ENVPAD_RELOADED=before");

	write_file(path, recipe);
	ck_assert_int_eq(kill(a.pid, SIGHUP), 0);
	ck_assert_msg(jbh_log_wait(&a, "SIGHUP: reloaded", 10000), "no reload in the log");
	ck_assert_msg(jbh_log_wait(&a, "JB_ENVPAD_RELOADED", 5000),
		      "the reloaded name was not handed to the kernel");
	ck_assert_msg(jbh_log_wait(&a, "recipes loaded", 5000), "workers did not load the set");
	after = run_with("JB_ENVPAD_RELOADED=after");
	m.pid = after;
	ev = jbh_wait_event(&a, jbh_match, &m, jbh_detect_deadline(&a) + 10000);
	ck_assert_msg(ev != NULL, "the variable named by the reloaded recipe was not recorded");
	ck_assert(jbh_jarr_has(ev, "process.env", "JB_ENVPAD_RELOADED=after"));
	json_decref(ev);
	/* the exec before the reload was made while no recipe named it: its
	 * record holds nothing, so the new recipe cannot fire on it */
	m.pid = before;
	ck_assert_int_eq(jbh_count_events(&a, jbh_match, &m), 0);

	/* the recipe removed: the name leaves the kernel's set */
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(kill(a.pid, SIGHUP), 0);
	ck_assert_msg(log_wait_count(&a, "SIGHUP: reloaded", 2, 10000), "no second reload");
	{
		char *log = jbh_log_read(&a);
		const char *last = NULL;

		for (const char *p = log; (p = strstr(p, "the kernel records")); p++)
			last = p;
		ck_assert_ptr_nonnull(last);
		ck_assert_msg(!memmem(last, strcspn(last, "\n"), "JB_ENVPAD_RELOADED", 18) &&
				      memmem(last, strcspn(last, "\n"), "LD_PRELOAD", 10),
			      "the kernel's set after the recipe left: %.300s", last);
		free(log);
	}
	jbh_stop(&a, 10000);
	rmdir(rdir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("env");
	TCase *tc;
	SRunner *sr;
	int failed;

	jbh_main_init("check_env");
	tc = tcase_create("padding");
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, padding_does_not_hide);
	suite_add_tcase(s, tc);
	tc = tcase_create("unread");
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, unread_is_reported);
	suite_add_tcase(s, tc);
	tc = tcase_create("reload");
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, names_follow_reload);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	jbh_kill_leftovers();
	return failed ? 1 : 0;
}
