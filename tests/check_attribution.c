/*
 * check_attribution.c - a detection names the image that acted: never the
 * image a process had before an exec (its parent's, copied at fork) nor
 * the one it execs into after acting; never dropped, never repeated.
 * Real agent, real kernel, a recipe of the test's own (attr_probe: any read
 * of DIR/secret, no times limit that the test could reach).
 *
 *  - act then exec: a process reads the secret, then execs /bin/true at
 *    once; each detection names that process's own exe, not true's.
 *  - fork, exec, act under load: a parent forks 300 children, each execs
 *    the reader and reads the secret right away, while two spinners keep
 *    both CPUs busy and the agent queries every 50 ms, pausing 30 ms in
 *    each query between the records and the tasks ([debug] query_gap_ms:
 *    with the tasks read first, a child forked in that pause was reported
 *    with its parent's exe, or with none): every child is
 *    reported exactly once, with the reader's exe and the parent's pid;
 *    no detection names the parent's exe or no process at all.
 *  - an image whose only act is its exec: a static program without libc
 *    that execs /bin/true at once (nothing opened, mapped or connected in
 *    between) is still reported as executed, each time, by its own exe.
 * "Exactly once" is checked after a marker read by one more process has
 * been reported: the file_access worker judges snapshots in order, so a
 * repeat from an earlier snapshot would have come before it.
 * Every wait polls with a deadline.
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent_harness.h"

#define STORM 300

static char dir[64], secret[128], recipes[128];

static void write_text(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	ck_assert_int_ge(fputs(text, f), 0);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(path, mode), 0);
}

static void setup_dir(void)
{
	char path[256], recipe[2048], helper[256];

	snprintf(dir, sizeof(dir), "/tmp/jbattr.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(chmod(dir, 0755), 0);
	snprintf(secret, sizeof(secret), "%s/secret", dir);
	write_text(secret, "not really\n", 0644);
	snprintf(recipes, sizeof(recipes), "%s/recipes", dir);
	ck_assert_int_eq(mkdir(recipes, 0700), 0);
	snprintf(recipe, sizeof(recipe),
		 "- kind: attr_probe\n"
		 "  name: Attribution probe\n"
		 "  enabled: true\n"
		 "  version: \"1.0\"\n"
		 "  description: any read of the test's secret\n"
		 "  documentation: tests/check_attribution.c\n"
		 "  breed: file_access\n"
		 "  mechanism: file_access\n"
		 "  tactic: discovery\n"
		 "  technique: \"test\"\n"
		 "  subtechnique: \"\"\n"
		 "  importance: low\n"
		 "  times:\n"
		 "    - kind: times_per_proc\n"
		 "      max: 100\n"
		 "  file_actions: [read]\n"
		 "  file_actions_how: any\n"
		 "  bases:\n"
		 "    - {dir: %s, base: secret}\n", dir);
	snprintf(path, sizeof(path), "%s/attr_probe.yaml", recipes);
	write_text(path, recipe, 0600);
	snprintf(recipe, sizeof(recipe),
		 "- kind: attr_exec\n"
		 "  name: Attribution exec probe\n"
		 "  enabled: true\n"
		 "  version: \"1.0\"\n"
		 "  description: any exec of the test's hop\n"
		 "  documentation: tests/check_attribution.c\n"
		 "  breed: execution\n"
		 "  mechanism: execution\n"
		 "  tactic: execution\n"
		 "  technique: \"test\"\n"
		 "  subtechnique: \"\"\n"
		 "  importance: low\n"
		 "  times:\n"
		 "    - kind: times_per_proc\n"
		 "      max: 100\n"
		 "  file_actions: [execve]\n"
		 "  file_actions_how: any\n"
		 "  bases:\n"
		 "    - {dir: %s, base: hop}\n", dir);
	snprintf(path, sizeof(path), "%s/attr_exec.yaml", recipes);
	write_text(path, recipe, 0600);
	jbh_helper(helper, sizeof(helper), "exechop");
	snprintf(path, sizeof(path), "%s/hop", dir);
	jbh_copy_file(helper, path, 0755);
	jbh_helper(helper, sizeof(helper), "attrprobe");
	snprintf(path, sizeof(path), "%s/storm", dir);
	jbh_copy_file(helper, path, 0755);
	snprintf(path, sizeof(path), "%s/reader", dir);
	jbh_copy_file(helper, path, 0755);
	snprintf(path, sizeof(path), "%s/actor", dir);
	jbh_copy_file(helper, path, 0755);
}

static void teardown_dir(void)
{
	char cmd[160];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

/* gap_ms: [debug] query_gap_ms, a pause in each query between reading the
 * records (links, flows) and reading the tasks: the window in which a
 * process can fork, exec and act, held open on purpose */
static void start(struct jbh_agent *a, unsigned gap_ms)
{
	char extra[256];
	struct jbh_opts o = {.cadence_ms = 50, .no_fault_hooks = 1, .extra_conf = extra};

	snprintf(extra, sizeof(extra), "[recipes]\ndir = %s\n[debug]\nquery_gap_ms = %u\n",
		 recipes, gap_ms);
	jbh_start(a, &o);
	jbh_wait_all_ready(a, 30000);
}

/* test_act_then_exec and test_exec_only_image share one agent with no
 * query gap (its start, the BPF load, is most of a test's time): the
 * directory and the agent are made by an unchecked fixture in the runner,
 * which the tests fork from; the last test (test_shared_stop) stops it and
 * the teardown reaps it and removes the directory. Each test tallies its
 * own pids (attr_probe, attr_exec); the recipes' limit is 100 per process. */
static struct jbh_agent A;

static void shared_up(void)
{
	char extra[256];
	struct jbh_opts o = {.cadence_ms = 50, .no_fault_hooks = 1, .extra_conf = extra};

	setup_dir();
	snprintf(extra, sizeof(extra), "[recipes]\ndir = %s\n[debug]\nquery_gap_ms = 0\n",
		 recipes);
	jbh_start_ready(&A, &o, 30000);
}

static void shared_down(void)
{
	jbh_reap(&A);
	teardown_dir();
}

static struct jbh_agent *shared(void)
{
	ck_assert_msg(jbh_running(&A), "the shared supervisor is gone (log %s)", A.log);
	return &A;
}

START_TEST(test_shared_stop)
{
	jbh_stop_unparented(&A, 10000);
}
END_TEST

/* attr_probe detections, tallied by process.pid over pids[0..n) */
struct tally {
	const pid_t *pids;
	int n;
	int *count;	    /* per pid */
	const char *exe;    /* every tallied one must have this exe */
	char bad[512];	    /* the first wrong one, described */
	int others;	    /* attr_probe detections for none of the pids */
};

static int tally_one(json_t *ev, void *arg)
{
	struct tally *t = arg;
	const char *kind = jbh_jstr(ev, "kind"), *exe;
	long long pid;

	if (!kind || strcmp(kind, "attr_probe"))
		return 0;
	pid = jbh_jint(ev, "process.pid", -1);
	exe = jbh_jstr(ev, "process.exe");
	for (int i = 0; i < t->n; i++) {
		if (t->pids[i] != (pid_t)pid)
			continue;
		t->count[i]++;
		if ((!exe || strcmp(exe, t->exe)) && !t->bad[0])
			snprintf(t->bad, sizeof(t->bad), "pid %lld reported with exe %s, not %s",
				 pid, exe ? exe : "(none)", t->exe);
		return 0;
	}
	t->others++;
	if (pid < 0 && !t->bad[0])
		snprintf(t->bad, sizeof(t->bad), "a detection with no process");
	return 0;
}

static int tally_exec(json_t *ev, void *arg)
{
	const char *kind = jbh_jstr(ev, "kind");

	if (!kind || strcmp(kind, "attr_exec"))
		return 0;
	/* tally_one counts attr_probe: hand it the same event relabelled */
	json_object_set_new(ev, "kind", json_string("attr_probe"));
	return tally_one(ev, arg);
}

static void tally(const struct jbh_agent *a, struct tally *t)
{
	memset(t->count, 0, sizeof(int) * (size_t)t->n);
	t->bad[0] = 0;
	t->others = 0;
	jbh_count_events(a, tally_one, t);
}

static int all_seen(const struct tally *t)
{
	for (int i = 0; i < t->n; i++)
		if (!t->count[i])
			return 0;
	return 1;
}

/* Poll until every pid has a detection (or the deadline), then have one
 * more process read the secret and wait for its detection: nothing from an
 * earlier snapshot can still be on its way. */
static void settle(struct jbh_agent *a, struct tally *t, unsigned ms)
{
	char reader[256];
	struct jbh_match m = {.kind = "attr_probe"};
	uint64_t deadline = jbh_now_ms() + ms;
	pid_t marker;
	json_t *ev;
	int st;

	do {
		tally(a, t);
		if (all_seen(t))
			break;
		jbh_sleep_ms(100);
	} while (jbh_now_ms() < deadline);
	snprintf(reader, sizeof(reader), "%s/reader", dir);
	st = jbh_run(reader, (char *const[]){"attrprobe", "read", secret, NULL}, 10000, &marker);
	ck_assert_int_eq(st, 0);
	m.pid = marker;
	ev = jbh_wait_event(a, jbh_match, &m, jbh_now_ms() + 20000);
	ck_assert_msg(ev != NULL, "the marker read (pid %d) was not reported", (int)marker);
	json_decref(ev);
	tally(a, t);
}

START_TEST(test_act_then_exec)
{
	struct jbh_agent *a;
	char actor[256];
	pid_t pids[20];
	int count[20];
	struct tally t = {pids, 20, count, actor, "", 0};

	snprintf(actor, sizeof(actor), "%s/actor", dir);
	a = shared();
	for (int i = 0; i < 20; i++) {
		int st = jbh_run(actor, (char *const[]){"attrprobe", "actexec", secret, NULL}, 10000,
				 &pids[i]);
		ck_assert_msg(st == 0, "actexec %d: status %d", i, st);
	}
	settle(a, &t, 30000);
	for (int i = 0; i < 20; i++)
		ck_assert_msg(count[i] == 1, "pid %d: %d detections, want 1", (int)pids[i],
			      count[i]);
	ck_assert_msg(!t.bad[0], "%s", t.bad);
}
END_TEST

START_TEST(test_fork_exec_act_under_load)
{
	struct jbh_agent a;
	char storm[256], reader[256], n[16], line[32], spin_path[256], wrong[512] = "";
	static pid_t pids[STORM];
	static int count[STORM];
	struct tally t = {pids, 0, count, reader, "", 0};
	pid_t spinners[2], storm_pid;
	struct jbh_io io = {NULL, -1, -1, -1};
	int fds[2], np = 0, st, missing = 0, repeated = 0;
	FILE *f;

	snprintf(storm, sizeof(storm), "%s/storm", dir);
	snprintf(reader, sizeof(reader), "%s/reader", dir);
	snprintf(spin_path, sizeof(spin_path), "%s/actor", dir);
	start(&a, 30);
	for (int i = 0; i < 2; i++) {
		spinners[i] = jbh_spawn(spin_path, (char *const[]){"attrprobe", "spin", "60", NULL},
					NULL);
		ck_assert(spinners[i] > 0);
	}
	ck_assert_int_eq(pipe(fds), 0);
	io.out = fds[1];
	snprintf(n, sizeof(n), "%d", STORM);
	storm_pid = jbh_spawn(storm, (char *const[]){"attrprobe", "storm", n, secret, reader, NULL},
			      &io);
	close(fds[1]);
	ck_assert(storm_pid > 0);
	f = fdopen(fds[0], "r");
	ck_assert_ptr_nonnull(f);
	while (np < STORM && fgets(line, sizeof(line), f))
		pids[np++] = (pid_t)atoi(line);
	fclose(f);
	st = jbh_wait_exit(storm_pid, 60000);
	for (int i = 0; i < 2; i++) {
		kill(spinners[i], SIGKILL);
		jbh_wait_exit(spinners[i], 10000);
	}
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "storm status 0x%x", st);
	ck_assert_int_eq(np, STORM);
	t.n = np;
	settle(&a, &t, 60000);
	for (int i = 0; i < np; i++) {
		missing += count[i] == 0;
		repeated += count[i] > 1;
	}
	printf("attribution: %d children, %d reported, %d missing, %d repeated, %d others%s%s\n",
	       np, np - missing, missing, repeated, t.others, t.bad[0] ? ": " : "", t.bad);
	snprintf(wrong, sizeof(wrong), "%s", t.bad);
	ck_assert_msg(!wrong[0], "%s", wrong);
	ck_assert_msg(missing == 0, "%d of %d children were not reported", missing, np);
	ck_assert_msg(repeated == 0, "%d of %d children were reported more than once", repeated,
		      np);
	/* the marker only: nothing was pinned on the parent or on nobody */
	ck_assert_msg(t.others == 1, "%d attr_probe detections for other processes", t.others - 1);
	jbh_stop(&a, 10000);
}
END_TEST

/* An image whose only act is its own exec (hop execs /bin/true before any
 * syscall of its own): its exec is its act, so its record outlives the
 * next exec, and every run is reported as hop. */
START_TEST(test_exec_only_image)
{
	struct jbh_agent *a;
	char hop[256];
	pid_t pids[10];
	int count[10];
	struct tally t = {pids, 10, count, hop, "", 0};
	struct jbh_match m = {.kind = "attr_exec"};
	json_t *ev;
	int st;

	snprintf(hop, sizeof(hop), "%s/hop", dir);
	st = jbh_run(hop, (char *const[]){"hop", NULL}, 10000, NULL);
	if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
		printf("SKIP: exec_only_image: the static hop helper does not run here (status "
		       "0x%x: x86_64 only)\n", st);
		return;
	}
	a = shared();
	for (int i = 0; i < 10; i++) {
		st = jbh_run(hop, (char *const[]){"hop", NULL}, 10000, &pids[i]);
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "hop %d: status 0x%x", i, st);
	}
	/* every run reported: poll each pid with a deadline */
	for (int i = 0; i < 10; i++) {
		m.pid = pids[i];
		ev = jbh_wait_event(a, jbh_match, &m, jbh_now_ms() + 20000);
		ck_assert_msg(ev != NULL, "the exec of hop by pid %d was not reported", (int)pids[i]);
		json_decref(ev);
	}
	/* each once, as hop (attr_exec detections tallied like attr_probe's) */
	memset(count, 0, sizeof(count));
	jbh_count_events(a, tally_exec, &t);
	for (int i = 0; i < 10; i++)
		ck_assert_msg(count[i] == 1, "pid %d: %d exec detections, want 1", (int)pids[i],
			      count[i]);
	ck_assert_msg(!t.bad[0], "%s", t.bad);
}
END_TEST

static void sweep(void) { jbh_kill_leftovers(); }

int main(void)
{
	Suite *s = suite_create("attribution");
	TCase *tc = tcase_create("attribution");
	SRunner *sr;
	int failed;

	jbh_main_init("check_attribution");
	/* one agent, no query gap (see shared_up); teardowns run in the
	 * reverse order of adding: the reap, then the sweep */
	tcase_add_unchecked_fixture(tc, NULL, sweep);
	tcase_add_unchecked_fixture(tc, shared_up, shared_down);
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, test_act_then_exec);
	tcase_add_test(tc, test_exec_only_image);
	tcase_add_test(tc, test_shared_stop);
	suite_add_tcase(s, tc);
	/* a query gap of 30 ms: an agent of its own */
	tc = tcase_create("under_load");
	tcase_add_checked_fixture(tc, setup_dir, teardown_dir);
	tcase_add_unchecked_fixture(tc, NULL, sweep);
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, test_fork_exec_act_under_load);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
