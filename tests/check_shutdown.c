/*
 * check_shutdown.c - how the real agent stops (root, real kernel): the last
 * query that the first SIGTERM starts, and a stop that nothing can hang.
 *
 * Invariants checked:
 *  - what happened just before a SIGTERM is examined by that last query
 *    and printed before the agent exits 0 (the cadence is 60 s, so no
 *    ordinary query ever sees the trigger);
 *  - a worker killed together with the supervisor (the test's SIGKILL,
 *    or a SIGTERM to every process as pkill -f or systemd's control-group
 *    stop send) is restarted for the last query (within its window, even
 *    with a 10 s back-off), examines it, and the detection is printed;
 *    after "stopping the children" nothing is ever spawned again;
 *  - a child frozen by a cgroup v1 freezer (SIGKILL is not delivered until
 *    it is thawed) does not hang the stop: the agent exits 0 in bounded
 *    time and names the child it left behind.
 * The three last-query tests each stop an agent of their own; the three
 * agents are started together by the TCase's fixture (their BPF loads,
 * most of a test's time, run side by side), each test stopping its own.
 * Every agent sees every test's trigger: a test matches its own by pid,
 * and an agent's last query finds its own test's trigger whatever others
 * it also prints.
 * Not root: "SKIP:" and exit 77. No v1 freezer hierarchy: that test says
 * "SKIP:" and passes.
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
#include "lib/procfs.h"

#define READY_MS 10000
#define STOP_MS 8000
#define FREEZER "/sys/fs/cgroup/freezer"

static struct jbh_agent A;
static char frozen_cg[128]; /* the freezer cgroup a test made, for the sweep */

/* Only the last query at shutdown looks at the maps after start-up; a
 * worker that dies waits 10 s before its ordinary restart. */
static const struct jbh_opts opts = {.cadence_ms = 60000, .backoff_initial_ms = 10000,
				     .backoff_max_ms = 30000, .keep_dir = 1};

static void up(void)
{
	jbh_start(&A, &opts);
	jbh_wait_all_ready(&A, READY_MS);
}

/* The last-query tests' agents, started together in the runner (see the
 * top); test i takes AG[i] as A. */
#define NSHARED 3
static struct jbh_agent AG[NSHARED];

static void agents_up(void)
{
	uint64_t deadline;

	for (int i = 0; i < NSHARED; i++)
		jbh_start(&AG[i], &opts);
	/* three loads side by side: the harness's 90 s, as jbh_wait_all_ready */
	deadline = jbh_now_ms() + 90000;
	for (int i = 0; i < NSHARED; i++)
		for (int k = 0; k < AG[i].nkinds; k++) {
			uint64_t now = jbh_now_ms();

			if (jbh_wait_ready(&AG[i], AG[i].kinds[k], -1,
					   deadline > now ? (unsigned)(deadline - now) : 1) > 0)
				continue;
			for (int j = 0; j < NSHARED; j++)
				jbh_reap(&AG[j]);
			ck_abort_msg("agent %d: %s did not become READY within 90 s (log %s)", i,
				     AG[i].kinds[k], AG[i].log);
		}
}

static void agents_down(void)
{
	for (int i = 0; i < NSHARED; i++)
		jbh_reap(&AG[i]);
}

/* In test i of the last-query TCase: its agent is A, and still running. */
static void take(int i)
{
	A = AG[i];
	ck_assert_msg(jbh_running(&A), "agent %d died before its test (log %s)", i, A.log);
}

/* 1 and its wait status (the last field of /proc/PID/stat) when pid is a
 * zombie its parent has not reaped; 0 while it runs; -1 when it is gone. */
static int zombie_status(pid_t pid, int *status)
{
	char path[64], *s, *p, *last;
	int r = 0;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (!(s = jbh_slurp(path, NULL)))
		return -1;
	p = strrchr(s, ')');
	if (p && p[1] == ' ' && p[2] == 'Z') {
		s[strcspn(s, "\n")] = '\0';
		last = strrchr(p, ' ');
		*status = last ? atoi(last + 1) : -1;
		r = 1;
	}
	free(s);
	return r;
}

/* The supervisor's exit within timeout_ms: asserts exit status 0. The
 * test is its parent (up), or the runner is (agents_up): then its exit
 * status is read while it is a zombie, which the runner, blocked until the
 * test ends, has not reaped. */
static void wait_exit_0(unsigned timeout_ms)
{
	uint64_t deadline = jbh_now_ms() + timeout_ms;
	struct tl_stat st;

	if (tl_proc_stat(A.pid, &st) == 0 && st.ppid != getpid()) {
		int z;

		while ((z = zombie_status(A.pid, &A.status)) == 0 && jbh_now_ms() < deadline)
			jbh_sleep_ms(10);
		ck_assert_msg(z >= 0, "supervisor %d was reaped before the test read its exit status",
			      (int)A.pid);
		if (z == 0) {
			kill(A.pid, SIGKILL);
			ck_abort_msg("the supervisor did not exit within %u ms of SIGTERM (log %s)",
				     timeout_ms, A.log);
		}
		A.reaped = 1;
	}
	while (jbh_alive(&A) && jbh_now_ms() < deadline)
		jbh_sleep_ms(10);
	if (!A.reaped) {
		kill(A.pid, SIGKILL);
		jbh_wait_exit(A.pid, 2000);
		ck_abort_msg("the supervisor did not exit within %u ms of SIGTERM (log %s)",
			     timeout_ms, A.log);
	}
	ck_assert_msg(WIFEXITED(A.status) && WEXITSTATUS(A.status) == 0,
		      "the supervisor ended with wait status 0x%x, not exit 0 (log %s)", A.status,
		      A.log);
	ck_assert_msg(jbh_log_has(&A, "stopped: children ended, BPF programs detached"),
		      "no clean-stop line in %s", A.log);
}

/* The trigger's detection is in the printed file (the agent has exited:
 * the file is complete). */
static void assert_printed(struct jbh_match *m)
{
	json_t *ev = jbh_wait_event(&A, jbh_match, m, jbh_now_ms());

	ck_assert_msg(ev != NULL, "the %s of pid %d, done just before the stop, was not printed "
		      "(events %s, log %s)", m->kind, (int)m->pid, A.events, A.log);
	json_decref(ev);
}

/* Between the last query's start and "stopping the children", kind was
 * restarted and READY; after that line, nothing was spawned. */
static void assert_restarted_in_window(const char *kind)
{
	char *log = jbh_log_read(&A), *flush, *stop, *p, want[64];
	int ready = 0;

	flush = strstr(log, "stopping after a last query");
	stop = flush ? strstr(flush, "stopping the children") : NULL;
	ck_assert_msg(flush && stop, "no last-query or stop line in %s", A.log);
	ck_assert_msg(!strstr(stop, "-> SPAWNING"), "a child was spawned after the children were "
		      "being stopped (log %s)", A.log);
	snprintf(want, sizeof(want), ": %s[", kind);
	for (p = flush; p < stop && (p = strstr(p, want)) && p < stop; p++) {
		char *eol = strchr(p, '\n');
		if (eol && memmem(p, (size_t)(eol - p), "HANDSHAKE -> READY", 18))
			ready = 1;
	}
	ck_assert_msg(ready, "%s was not back READY during the last query (log %s)", kind, A.log);
	free(log);
}

static void rm_dir(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", A.dir);
	ck_assert_int_eq(system(cmd), 0);
}

START_TEST(test_sigterm_after_trigger)
{
	struct jbh_match m;

	take(0);
	jbh_trigger_for(&A, "file_access", &m);
	ck_assert_int_eq(kill(A.pid, SIGTERM), 0);
	wait_exit_0(STOP_MS);
	assert_printed(&m);
	rm_dir();
}
END_TEST

START_TEST(test_worker_killed_with_supervisor)
{
	struct jbh_match m;
	pid_t fa;

	take(1);
	fa = jbh_child_pid(&A, "file_access");
	ck_assert_int_gt(fa, 0);
	jbh_trigger_for(&A, "file_access", &m);
	ck_assert_int_eq(kill(fa, SIGKILL), 0);
	ck_assert_int_eq(kill(A.pid, SIGTERM), 0);
	wait_exit_0(STOP_MS);
	assert_printed(&m);
	assert_restarted_in_window("file_access");
	rm_dir();
}
END_TEST

START_TEST(test_everyone_sigtermed)
{
	struct jbh_match m;
	pid_t kids[16];
	int n;

	take(2);
	jbh_trigger_for(&A, "file_access", &m);
	/* what pkill -f jibril, or systemd stopping the unit, does */
	n = tl_proc_children(A.pid, kids, 16);
	ck_assert_int_ge(n, 2);
	for (int i = 0; i < n; i++)
		kill(kids[i], SIGTERM);
	ck_assert_int_eq(kill(A.pid, SIGTERM), 0);
	wait_exit_0(STOP_MS);
	assert_printed(&m);
	assert_restarted_in_window("file_access");
	assert_restarted_in_window("file"); /* the printer came back to print it */
	rm_dir();
}
END_TEST

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[192];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

static int freezer_is(const char *state)
{
	char path[192], *s;
	int r;

	snprintf(path, sizeof(path), "%s/freezer.state", frozen_cg);
	s = jbh_slurp(path, NULL);
	r = s && !strncmp(s, state, strlen(state));
	free(s);
	return r;
}

START_TEST(test_frozen_child)
{
	char want[96];
	uint64_t t0, deadline;
	pid_t fa;

	if (access(FREEZER "/cgroup.procs", W_OK) < 0) {
		printf("SKIP: no cgroup v1 freezer hierarchy at %s\n", FREEZER);
		return;
	}
	up();
	fa = jbh_child_pid(&A, "file_access");
	ck_assert_int_gt(fa, 0);
	ck_assert_msg(mkdir(frozen_cg, 0755) == 0 || errno == EEXIST, "%s: %s", frozen_cg,
		      strerror(errno));
	snprintf(want, sizeof(want), "%d", (int)fa);
	write_file(frozen_cg, "cgroup.procs", want);
	write_file(frozen_cg, "freezer.state", "FROZEN");
	deadline = jbh_now_ms() + 5000;
	while (!freezer_is("FROZEN") && jbh_now_ms() < deadline)
		jbh_sleep_ms(10);
	ck_assert_msg(freezer_is("FROZEN"), "%s did not freeze", frozen_cg);

	t0 = jbh_now_ms();
	ck_assert_int_eq(kill(A.pid, SIGTERM), 0);
	wait_exit_0(15000); /* the flush, the stop's graces, 1 s after SIGKILL */
	printf("timing: stopped %llu ms after SIGTERM with a frozen worker\n",
	       (unsigned long long)(jbh_now_ms() - t0));
	ck_assert_msg(!jbh_pid_gone(fa), "the frozen worker %d died while frozen", (int)fa);
	snprintf(want, sizeof(want), "file_access[%d]: still there", (int)fa);
	ck_assert_msg(jbh_log_has(&A, want), "the frozen worker left behind is not named (log %s)",
		      A.log);
	ck_assert_msg(jbh_log_has(&A, "in the freezer cgroup /jbtest-frozen-"),
		      "the log does not name its freezer cgroup (log %s)", A.log);

	/* thawed, its pending SIGKILL ends it */
	write_file(frozen_cg, "freezer.state", "THAWED");
	deadline = jbh_now_ms() + 5000;
	while (!jbh_pid_gone(fa) && jbh_now_ms() < deadline)
		jbh_sleep_ms(10);
	ck_assert_msg(jbh_pid_gone(fa), "the worker %d did not end once thawed", (int)fa);
	deadline = jbh_now_ms() + 2000;
	while (rmdir(frozen_cg) < 0 && errno == EBUSY && jbh_now_ms() < deadline)
		jbh_sleep_ms(10);
	frozen_cg[0] = '\0';
	rm_dir();
}
END_TEST

/* Runs in the runner process whatever the test did: a worker left frozen
 * would never end. */
static void sweep(void)
{
	char path[192];
	FILE *f;

	if (frozen_cg[0]) {
		snprintf(path, sizeof(path), "%s/freezer.state", frozen_cg);
		if ((f = fopen(path, "w"))) {
			fputs("THAWED", f);
			fclose(f);
		}
	}
	jbh_kill_leftovers();
}

int main(void)
{
	Suite *s = suite_create("shutdown");
	TCase *tc = tcase_create("last_query");
	SRunner *sr;
	int failed;

	jbh_main_init("check_shutdown");
	/* the test process (forked by Check) names the cgroup; the runner's
	 * sweep finds it by the same name */
	snprintf(frozen_cg, sizeof(frozen_cg), FREEZER "/jbtest-frozen-%d", (int)getpid());
	tcase_set_timeout(tc, 60);
	/* Check runs teardowns in the reverse order of adding: the reaps,
	 * then the sweep */
	tcase_add_unchecked_fixture(tc, NULL, sweep);
	tcase_add_unchecked_fixture(tc, agents_up, agents_down);
	tcase_add_test(tc, test_sigterm_after_trigger);
	tcase_add_test(tc, test_worker_killed_with_supervisor);
	tcase_add_test(tc, test_everyone_sigtermed);
	suite_add_tcase(s, tc);
	tc = tcase_create("frozen_child");
	tcase_set_timeout(tc, 60);
	tcase_add_unchecked_fixture(tc, NULL, sweep);
	tcase_add_test(tc, test_frozen_child);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	jbh_kill_leftovers();
	if (frozen_cg[0])
		rmdir(frozen_cg);
	return failed ? 1 : 0;
}
