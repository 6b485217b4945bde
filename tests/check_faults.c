/*
 * check_faults.c - fault isolation: whatever happens to a child, the
 * supervisor stays up, replaces it, and detection goes on.
 *
 * The agents (tests/agent_harness.c) run with short heartbeats (100 ms,
 * deadline 1000 ms), a 50..500 ms restart back-off and the test-only fault
 * hooks on. A test hurts one child (kill -9, SIGSTOP, or a hook: the worker
 * of kind K obeys a file named jibril-fault.K.WHAT that was opened after it
 * started), and then checks:
 *  - a new pid of that kind reaches READY, the old one is gone;
 *  - the supervisor logged what happened (signal, hang, protocol violation),
 *    on the lines of that pid and generation;
 *  - a detection that only that kind produces, triggered after the
 *    replacement is READY, still arrives;
 *  - no alert is lost when the file printer dies with lines in flight;
 *  - restart delays double up to the cap;
 *  - the supervisor never died, and still stops with exit 0 on SIGTERM.
 * The tests of a fault per kind (loop tests) share one agent per TCase
 * (tc_shared), which saves an agent start and stop per test: the TCase's
 * unchecked fixture starts it in the runner process, each forked test
 * hurts its own kind's child of it and leaves the supervisor running, and
 * the TCase's last test (test_shared_stop) stops it (exit 0, every child
 * gone), after every fault of the TCase. The tests that assert the first
 * back-off (kill9, sigstop, hang) hurt each kind once on their agent, and
 * before anything else hurts it, so they see what a fresh agent shows;
 * the others assert no back-off. Every log check names the child's pid or
 * generation, so an earlier test's lines cannot answer for a later one.
 * The triggers are fresh copies of cat and base64 (run_fresh), each its own
 * executable, so the recipes' noise limits (times_per_full_ancestry hashes
 * the chain of executables) never fold one agent's triggers together: the
 * kills, every role's sandbox and the line in flight (a 5 s heartbeat
 * deadline) share one agent, started with the stdout printer and that
 * deadline; kill9 runs first on it. The tests of an agent's history share
 * one too: the back-off first, the gauntlet after it.
 * Not root: "SKIP:" and exit 77.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent_harness.h"

#define READY_MS 30000 /* a deadline, not a speed check: agents start slowly on a loaded machine */
#define STOP_MS 5000
#define KILL_GRACE_MS 1000 /* supervisor/procs.c: SIGTERM, then SIGKILL after this */

static const char *const workers[] = {"file_access", "execution", "network", "tamper"};
static const char *const kids[] = {"file_access", "execution", "network", "tamper", "file"};
#define NWORKERS ((int)(sizeof(workers) / sizeof(workers[0])))
#define NKIDS ((int)(sizeof(kids) / sizeof(kids[0])))

static struct jbh_agent A;

/* --- an agent shared by the tests of a TCase ----------------------------- */

/* unchecked fixtures: they run in the runner process, which the tests fork from */
static void shared_up(void)
{
	jbh_start_ready(&A, NULL, READY_MS);
}

/* the stdout printer (the sandbox tests hurt it too) and a heartbeat
 * deadline of 5 s, for test_printer_kill_line_in_flight (it stops the
 * file printer for a while) */
static void shared_up_line(void)
{
	const struct jbh_opts o = {.stdout_printer = 1, .deadline_ms = 5000};

	jbh_start_ready(&A, &o, READY_MS);
}

/* The stop was the TCase's last test (test_shared_stop); this only reaps
 * it, and ends it if that test did not: Check 0.15 has no report for a
 * failure in an unchecked teardown (the runner just exits). */
static void shared_down(void)
{
	jbh_reap(&A);
}

/* In a test: the shared supervisor is up and kind's child is READY (an
 * earlier test's replacement of it has finished); that child. */
static pid_t ready_child(const char *kind)
{
	pid_t p;

	ck_assert_msg(jbh_running(&A), "the shared supervisor is gone (log %s)", A.log);
	p = jbh_wait_ready(&A, kind, -1, READY_MS);
	ck_assert_msg(p > 0, "no READY %s child within %d ms (log %s)", kind, READY_MS, A.log);
	return p;
}

/* In a test: the end of one fault on the shared agent; test_shared_stop stops it. */
static void still_running(void)
{
	ck_assert_msg(jbh_running(&A), "the supervisor died (log %s)", A.log);
}

/* A line of the log that kind[pid] wrote (the supervisor prefixes each of
 * a child's lines with its kind and pid) and that contains substr. */
static int child_said(const char *kind, pid_t pid, const char *substr)
{
	char who[64], *log = jbh_log_read(&A), *line, *save = NULL;
	int found = 0;

	snprintf(who, sizeof(who), " %s[%d]: ", kind, (int)pid);
	for (line = strtok_r(log, "\n", &save); line && !found; line = strtok_r(NULL, "\n", &save))
		found = strstr(line, who) && strstr(line, substr);
	free(log);
	return found;
}

static int child_said_wait(const char *kind, pid_t pid, const char *substr, unsigned timeout_ms)
{
	uint64_t deadline = jbh_now_ms() + timeout_ms;

	while (!child_said(kind, pid, substr) && jbh_now_ms() < deadline)
		jbh_sleep_ms(10);
	return child_said(kind, pid, substr);
}

/* the longest a replacement may take after a hang: deadline + grace + back-off + slack */
static unsigned hang_budget(void)
{
	return A.o.deadline_ms + KILL_GRACE_MS + A.o.backoff_max_ms + 2000;
}

/* Runs a fresh copy of src named name, with arg (NULL: none), from a
 * directory of its own next to the agent binary (not under /tmp: no
 * recipe of unusual places), then removes it; its wait status, its pid in
 * *pid. A path no process ran before makes it an executable of its own, so
 * no `times` limit of the recipes folds it with an earlier trigger. */
static int run_fresh(const char *src, const char *name, const char *arg, pid_t *pid)
{
	char bin[PATH_MAX], dir[PATH_MAX], exe[PATH_MAX + 64];
	char *argv[] = {exe, (char *)arg, NULL};
	int st;

	snprintf(bin, sizeof(bin), "%s", jbh_bin());
	ck_assert(snprintf(dir, sizeof(dir), "%s/jbfaults.XXXXXX", dirname(bin)) <
		  (int)sizeof(dir));
	ck_assert_msg(mkdtemp(dir) != NULL, "mkdtemp %s: %s", dir, strerror(errno));
	snprintf(exe, sizeof(exe), "%s/%s", dir, name);
	jbh_copy_file(src, exe, 0755);
	st = jbh_run(exe, argv, 5000, pid);
	unlink(exe);
	rmdir(dir);
	return st;
}

/* jbh_trigger_for, with a fresh executable (run_fresh) for the detections
 * of files and execs: cat reading /etc/shadow (credentials_files_access,
 * file_access and the printers), base64 (data_encoder_exec, execution). */
static pid_t trigger_for(const char *kind, struct jbh_match *m)
{
	pid_t pid = -1;
	int st;

	if (!strcmp(kind, "network") || !strcmp(kind, "tamper"))
		return jbh_trigger_for(&A, kind, m);
	memset(m, 0, sizeof(*m));
	if (!strcmp(kind, "execution")) {
		st = run_fresh("/usr/bin/base64", "base64", NULL, &pid);
		m->kind = "data_encoder_exec";
	} else {
		st = run_fresh("/usr/bin/cat", "cat", "/etc/shadow", &pid);
		m->kind = "credentials_files_access";
	}
	ck_assert_msg(st == 0, "the %s trigger failed (wait status 0x%x)", kind, st);
	m->pid = pid;
	return pid;
}

/* A detection only kind handles, triggered now, arrives within 3 cadences. */
static void still_detects(const char *kind)
{
	struct jbh_match m;
	uint64_t dl = jbh_detect_deadline(&A);
	json_t *ev;

	trigger_for(kind, &m);
	ev = jbh_wait_event(&A, jbh_match, &m, dl);
	ck_assert_msg(ev != NULL, "after %s was replaced, no %s for pid %d within three cadences "
		      "(events %s, log %s)", kind, m.kind, (int)m.pid, A.events, A.log);
	json_decref(ev);
}

/* The child of kind that replaced old: READY, old gone, supervisor alive. */
static pid_t replaced(const char *kind, pid_t old, unsigned timeout_ms)
{
	pid_t np = jbh_wait_ready(&A, kind, old, timeout_ms);

	ck_assert_msg(np > 0, "%s[%d] was not replaced by a READY child within %u ms (log %s)",
		      kind, (int)old, timeout_ms, A.log);
	ck_assert_msg(jbh_pid_gone(old), "the old %s[%d] is still there", kind, (int)old);
	ck_assert_msg(jbh_running(&A), "the supervisor died (log %s)", A.log);
	return np;
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

static void expect_gen_line(const char *kind, uint64_t gen, const char *what)
{
	ck_assert_msg(jbh_log_gen_wait(&A, kind, gen, what, 2000),
		      "no '%s' for %s gen %llu in %s", what, kind, (unsigned long long)gen, A.log);
}

/* --- kill -9 ------------------------------------------------------------- */

START_TEST(test_kill9)
{
	const char *kind = kids[_i];
	pid_t old, np;
	uint64_t gen;
	unsigned delays[4];
	int n;

	old = ready_child(kind);
	gen = jbh_gen_of(&A, kind, old);
	ck_assert(old > 0 && gen > 0);
	ck_assert_int_eq(kill(old, SIGKILL), 0);
	np = replaced(kind, old, 5000);
	ck_assert_uint_eq(jbh_gen_of(&A, kind, np), gen + 1);
	/* EOF first (READY -> STOPPING), then the exit (STOPPING -> IDLE) */
	expect_gen_line(kind, gen, "-> IDLE: killed by signal 9");
	/* the kind's one restart on this agent, after the first back-off */
	n = jbh_log_restart_delays(&A, kind, delays, 4);
	ck_assert_msg(n == 1 && delays[0] == A.o.backoff_initial_ms,
		      "%s: %d restarts logged, the first after %u ms, not one after %u ms (log %s)",
		      kind, n, n > 0 ? delays[0] : 0, A.o.backoff_initial_ms, A.log);
	still_detects(kind);
	still_running();
}
END_TEST

/* The state line of a child's death names the pid that died (as every
 * other state line does), so a log reader can tell which process it was. */
START_TEST(test_exit_line_names_pid)
{
	pid_t old;
	uint64_t gen;
	char who[64], *log, *line, *save = NULL;
	int found = 0;

	old = ready_child("network");
	gen = jbh_gen_of(&A, "network", old);
	ck_assert_int_eq(kill(old, SIGKILL), 0);
	replaced("network", old, 5000);
	expect_gen_line("network", gen, "-> IDLE: killed by signal 9");
	snprintf(who, sizeof(who), ": network[%d] gen %llu: ", (int)old, (unsigned long long)gen);
	log = jbh_log_read(&A);
	for (line = strtok_r(log, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		found |= strstr(line, who) && strstr(line, "-> IDLE: killed by signal 9");
	free(log);
	ck_assert_msg(found, "the line of the death of network gen %llu does not name pid %d "
		      "(log %s)", (unsigned long long)gen, (int)old, A.log);
	still_running();
}
END_TEST

/* --- no alert lost across a printer kill --------------------------------- */

START_TEST(test_printer_kill_right_after_trigger)
{
	struct jbh_match m;
	pid_t printer;
	uint64_t dl;
	json_t *ev;

	printer = ready_child("file");
	dl = jbh_detect_deadline(&A) + A.o.backoff_max_ms;
	trigger_for("file_access", &m);
	ck_assert_int_eq(kill(printer, SIGKILL), 0);
	replaced("file", printer, 5000);
	ev = jbh_wait_event(&A, jbh_match, &m, dl);
	ck_assert_msg(ev != NULL, "the alert of pid %d was lost with the printer", (int)m.pid);
	json_decref(ev);
	still_running();
}
END_TEST

/* The line provably reached the router (the stdout printer printed it)
 * while the file printer was stopped; then the file printer dies. Its
 * replacement must print the line. On the agent of the kills and the
 * sandboxes, which has the stdout printer and a 5 s heartbeat deadline
 * (shared_up_line), so that the stopped printer is not replaced as hung
 * before the test kills it. */
START_TEST(test_printer_kill_line_in_flight)
{
	struct jbh_match m;
	pid_t printer;
	uint64_t dl;
	json_t *ev;

	ck_assert_msg(A.o.stdout_printer && A.o.deadline_ms >= 5000,
		      "this TCase's agent has no stdout printer or a short heartbeat deadline");
	printer = ready_child("file");
	ck_assert_int_eq(kill(printer, SIGSTOP), 0);
	dl = jbh_detect_deadline(&A);
	trigger_for("file_access", &m);
	ev = jbh_wait_event_in(A.out, jbh_match, &m, dl);
	ck_assert_msg(ev != NULL, "the stdout printer never printed the alert of pid %d", (int)m.pid);
	json_decref(ev);
	ck_assert_msg(jbh_count_events(&A, jbh_match, &m) == 0,
		      "a stopped file printer printed a line");
	ck_assert_int_eq(kill(printer, SIGKILL), 0);
	replaced("file", printer, 5000);
	ev = jbh_wait_event(&A, jbh_match, &m, jbh_detect_deadline(&A));
	ck_assert_msg(ev != NULL, "the alert of pid %d was lost with the file printer", (int)m.pid);
	json_decref(ev);
	ck_assert_msg(jbh_count_events(&A, jbh_match, &m) == 1, "the alert was printed %d times",
		      jbh_count_events(&A, jbh_match, &m));
	still_running();
}
END_TEST

/* --- hangs --------------------------------------------------------------- */

START_TEST(test_sigstop_worker)
{
	const char *kind = workers[_i];
	pid_t old;
	uint64_t gen, t0, took;
	char want[96];

	old = ready_child(kind);
	gen = jbh_gen_of(&A, kind, old);
	t0 = jbh_now_ms();
	ck_assert_int_eq(kill(old, SIGSTOP), 0);
	replaced(kind, old, hang_budget());
	took = jbh_now_ms() - t0;
	printf("timing: SIGSTOPped %s replaced after %llu ms\n", kind, (unsigned long long)took);
	/* not before its deadline (its last beat may predate the stop by one period) */
	ck_assert_msg(took >= A.o.deadline_ms - A.o.heartbeat_ms,
		      "replaced after %llu ms, before the %u ms deadline", (unsigned long long)took,
		      A.o.deadline_ms);
	/* and promptly: deadline, then the SIGTERM grace, then the first back-off */
	ck_assert_msg(took <= A.o.deadline_ms + KILL_GRACE_MS + A.o.backoff_initial_ms + 1000,
		      "replaced only after %llu ms", (unsigned long long)took);
	expect_gen_line(kind, gen, "READY -> STOPPING: hung: no heartbeat before its deadline");
	/* a stopped process cannot act on SIGTERM: the grace ends in SIGKILL */
	snprintf(want, sizeof(want), ": %s[%d] did not stop within", kind, (int)old);
	ck_assert_msg(jbh_log_has(&A, want), "no '%s' in %s", want, A.log);
	expect_gen_line(kind, gen, "killed by signal 9");
	still_detects(kind);
	still_running();
}
END_TEST

START_TEST(test_hook_hang)
{
	const char *kind = workers[_i];
	pid_t old;
	uint64_t gen, t0, took;

	old = ready_child(kind);
	gen = jbh_gen_of(&A, kind, old);
	t0 = jbh_now_ms();
	fire_hook(kind, "hang");
	replaced(kind, old, hang_budget() + A.o.cadence_ms);
	took = jbh_now_ms() - t0;
	printf("timing: hung %s replaced after %llu ms\n", kind, (unsigned long long)took);
	ck_assert_msg(took >= A.o.deadline_ms - A.o.heartbeat_ms,
		      "replaced after %llu ms, before the %u ms deadline", (unsigned long long)took,
		      A.o.deadline_ms);
	/* the hook fires at the next snapshot; SIGTERM ends it with no grace */
	ck_assert_msg(took <= A.o.cadence_ms + A.o.deadline_ms + A.o.backoff_initial_ms + 1000,
		      "replaced only after %llu ms", (unsigned long long)took);
	expect_gen_line(kind, gen, "READY -> STOPPING: hung: no heartbeat before its deadline");
	/* it is blocked, not stopped: SIGTERM's default action ends it */
	expect_gen_line(kind, gen, "killed by signal 15");
	still_detects(kind);
	still_running();
}
END_TEST

/* --- seccomp and protocol ------------------------------------------------ */

START_TEST(test_hook_sigsys)
{
	const char *kind = workers[_i];
	pid_t old;
	uint64_t gen;

	old = ready_child(kind);
	gen = jbh_gen_of(&A, kind, old);
	fire_hook(kind, "sigsys");
	replaced(kind, old, 5000);
	expect_gen_line(kind, gen, "-> IDLE: killed by signal 31");
	ck_assert_msg(child_said_wait(kind, old, "fault hook: sigsys", 2000),
		      "%s[%d] did not log its fault hook (log %s)", kind, (int)old, A.log);
	still_detects(kind);
	still_running();
}
END_TEST

START_TEST(test_hook_garbage)
{
	const char *kind = workers[_i];
	pid_t old;
	uint64_t gen;
	char want[64];

	old = ready_child(kind);
	gen = jbh_gen_of(&A, kind, old);
	fire_hook(kind, "garbage");
	replaced(kind, old, 5000);
	snprintf(want, sizeof(want), ": %s[%d]: protocol violation", kind, (int)old);
	ck_assert_msg(jbh_log_has(&A, want), "no '%s' in %s", want, A.log);
	expect_gen_line(kind, gen, "READY -> STOPPING: protocol violation");
	/* a protocol violation gets SIGKILL at once, no grace */
	expect_gen_line(kind, gen, "killed by signal 9");
	still_detects(kind);
	still_running();
}
END_TEST

/* abort() in a sandboxed worker must end in SIGABRT, the signal of a
 * broken invariant, not in SIGSYS (which reads as a sandbox escape
 * attempt); the allow-list says it permits abort(). */
START_TEST(test_hook_crash)
{
	const char *kind = workers[_i];
	pid_t old;
	uint64_t gen;

	old = ready_child(kind);
	gen = jbh_gen_of(&A, kind, old);
	fire_hook(kind, "crash");
	replaced(kind, old, 5000);
	ck_assert_msg(jbh_log_gen_wait(&A, kind, gen, "-> IDLE: killed by signal", 2000),
		      "no death line for %s gen %llu", kind, (unsigned long long)gen);
	still_detects(kind);
	ck_assert_msg(jbh_log_gen_line(&A, kind, gen, "-> IDLE: killed by signal 6 "),
		      "abort() in %s did not end in SIGABRT (log %s: %s)", kind, A.log,
		      jbh_log_gen_line(&A, kind, gen, "signal 31") ? "SIGSYS" : "other");
	still_running();
}
END_TEST

/* --- each role's sandbox ------------------------------------------------- */

/* What each role may not do, tried from inside the child (fault hooks):
 * a syscall outside its allow-list, write(2) to a descriptor its policy
 * does not name (fd 1 is the operator's stdout only for the stdout
 * printer; the IPC socket takes send(2) only), a signal to another
 * process (the supervisor), or any signal but SIGABRT to itself (a SIGKILL
 * of its own would pass for a kill from outside, which does not back
 * off). Each ends that child with SIGSYS, which the supervisor logs
 * before it starts a new one.
 * All on the agent of the kills (after them): its triggers are fresh
 * executables (run_fresh), which the recipes' noise limits do not fold
 * together. */
static const struct {
	const char *kind, *what;
} forbidden[] = {
	{"file_access", "sigsys"}, {"file_access", "write-stdout"},
	{"file_access", "write-ipc"}, {"file_access", "signal-parent"},
	{"execution", "kill-self"},
	{"stdout", "sigsys"}, {"stdout", "write-ipc"}, {"stdout", "signal-parent"},
	{"file", "sigsys"}, {"file", "write-stdout"}, {"file", "write-ipc"},
	{"file", "signal-parent"},
};
#define NFORBIDDEN ((int)(sizeof(forbidden) / sizeof(forbidden[0])))

static int is_printer(const char *kind)
{
	return !strcmp(kind, "stdout") || !strcmp(kind, "file");
}

/* A printer obeys a line that names "jibril-fault.KIND.WHAT": an
 * encoder run with it as argument is one (data_encoder_exec). */
static void fire_printer_hook(const char *kind, const char *what)
{
	char marker[96];

	snprintf(marker, sizeof(marker), "jibril-fault.%s.%s", kind, what);
	run_fresh("/usr/bin/base64", "base64", marker, NULL); /* fails: no such file; it ran */
}

/* The stdout printer's lines go to the supervisor's stdout (A.out). */
static void still_prints_stdout(void)
{
	struct jbh_match m;
	uint64_t dl = jbh_detect_deadline(&A);
	json_t *ev;

	trigger_for("stdout", &m);
	ev = jbh_wait_event_in(A.out, jbh_match, &m, dl);
	ck_assert_msg(ev != NULL, "after stdout was replaced, no %s for pid %d on stdout (%s)",
		      m.kind, (int)m.pid, A.out);
	json_decref(ev);
}

START_TEST(test_sandbox_forbidden)
{
	const char *kind = forbidden[_i].kind, *what = forbidden[_i].what;
	char want[96], *out;
	pid_t old;
	uint64_t gen;

	ck_assert_msg(A.o.stdout_printer, "this TCase's agent has no stdout printer");
	old = ready_child(kind);
	gen = jbh_gen_of(&A, kind, old);
	if (is_printer(kind))
		fire_printer_hook(kind, what);
	else
		fire_hook(kind, what);
	replaced(kind, old, 5000 + A.o.cadence_ms);
	expect_gen_line(kind, gen, "-> IDLE: killed by signal 31");
	/* it was this child that tried (the agent is shared: its pid) */
	snprintf(want, sizeof(want), "fault hook: %s", what);
	ck_assert_msg(child_said_wait(kind, old, want, 2000), "no '%s' from %s[%d] in %s", want,
		      kind, (int)old, A.log);
	/* no child of this agent, in this test or before it, was allowed one */
	snprintf(want, sizeof(want), "fault hook: the write to");
	ck_assert_msg(!jbh_log_has(&A, want), "a forbidden write was allowed (%s)", A.log);
	/* nothing forged reached the operator's stream */
	out = jbh_slurp(A.out, NULL);
	ck_assert_msg(!out || !strstr(out, "forged"), "a forged line is on stdout (%s)", A.out);
	free(out);
	if (!strcmp(kind, "stdout"))
		still_prints_stdout();
	else
		still_detects(kind);
	still_running();
}
END_TEST

/* A probe the sandbox refuses with an errno (open) does not kill: the
 * child logs the refusal and goes on working. */
START_TEST(test_sandbox_open_refused)
{
	const char *kind = workers[_i];
	pid_t pid;

	pid = ready_child(kind);
	fire_hook(kind, "open");
	ck_assert_msg(child_said_wait(kind, pid, "fault hook: open refused: Permission denied",
				      5000),
		      "no refusal logged by %s[%d] (%s)", kind, (int)pid, A.log);
	ck_assert_msg(!jbh_log_has(&A, "fault hook: open was allowed"), "open was allowed");
	/* fd 4 as dirfd with a path that leaves it, and its own memory */
	fire_hook(kind, "open-abs");
	ck_assert_msg(child_said_wait(kind, pid, "fault hook: open-abs ../.. refused: Permission denied",
				      5000) &&
			      child_said_wait(kind, pid,
					      "fault hook: open-abs /etc/hostname refused: Permission "
					      "denied", 1000),
		      "open-abs: no refusal logged by %s[%d] (%s)", kind, (int)pid, A.log);
	fire_hook(kind, "proc-mem");
	ck_assert_msg(child_said_wait(kind, pid, "fault hook: proc-mem refused: Permission denied",
				      5000),
		      "proc-mem: no refusal logged by %s[%d] (%s)", kind, (int)pid, A.log);
	ck_assert_msg(!jbh_log_has(&A, "was allowed"), "a probe was allowed (%s)", A.log);
	still_detects(kind);
	ck_assert_int_eq(jbh_child_pid(&A, kind), pid);
	ck_assert_msg(!jbh_pid_gone(pid), "%s[%d] died of a refused open", kind, (int)pid);
	still_running();
}
END_TEST

/* --- back-off ------------------------------------------------------------ */

START_TEST(test_restart_backoff)
{
	const char *kind = "execution";
	enum { N = 5 };
	unsigned logged[N + 2], gap[N];
	pid_t cur;
	int n;

	/* first on its agent: the delays from the first restart of kind */
	cur = ready_child(kind);
	for (int i = 0; i < N; i++) {
		uint64_t gen = jbh_gen_of(&A, kind, cur), deadline, t_gone, t_new;
		pid_t np = -1;

		fire_hook(kind, "crash");
		deadline = jbh_now_ms() + 3000;
		while (!jbh_pid_gone(cur) && jbh_now_ms() < deadline)
			jbh_sleep_ms(2);
		t_gone = jbh_now_ms();
		ck_assert_msg(jbh_pid_gone(cur), "crash %d: %s[%d] did not die", i, kind, (int)cur);
		deadline = t_gone + 3000;
		while ((np = jbh_child_pid(&A, kind)) <= 0 && jbh_now_ms() < deadline)
			jbh_sleep_ms(2);
		t_new = jbh_now_ms();
		ck_assert_msg(np > 0, "crash %d: no new %s", i, kind);
		gap[i] = (unsigned)(t_new - t_gone);
		/* any death will do here; test_hook_crash checks which signal */
		expect_gen_line(kind, gen, "-> IDLE: killed by signal");
		cur = replaced(kind, cur, 5000);
	}
	n = jbh_log_restart_delays(&A, kind, logged, N + 2);
	ck_assert_int_eq(n, N);
	printf("timing: back-off");
	for (int i = 0; i < n; i++)
		printf(" %u ms (respawn seen after %u ms)", logged[i], gap[i]);
	printf("\n");
	ck_assert_uint_eq(logged[0], A.o.backoff_initial_ms);
	for (int i = 1; i < n; i++) {
		unsigned want = logged[i - 1] * 2 > A.o.backoff_max_ms ? A.o.backoff_max_ms
								      : logged[i - 1] * 2;
		ck_assert_msg(logged[i] == want, "restart %d: %u ms, expected %u", i, logged[i], want);
	}
	ck_assert_uint_gt(logged[n - 1], logged[0]);
	ck_assert_uint_eq(logged[n - 1], A.o.backoff_max_ms);
	/* and the delay is real: the respawn comes no earlier than announced */
	for (int i = 0; i < n; i++)
		ck_assert_msg(gap[i] + 25 >= logged[i], "restart %d came after %u ms, announced %u",
			      i, gap[i], logged[i]);
	still_detects(kind);
	still_running();
}
END_TEST

/* --- all of it, one supervisor ------------------------------------------- */

START_TEST(test_gauntlet)
{
	pid_t sup, p;

	/* after test_restart_backoff on its agent: a history of restarts
	 * already, which only makes the gauntlet longer */
	for (size_t i = 0; i < sizeof(kids) / sizeof(kids[0]); i++)
		ready_child(kids[i]);
	sup = A.pid;
	for (size_t i = 0; i < sizeof(kids) / sizeof(kids[0]); i++) {
		p = jbh_child_pid(&A, kids[i]);
		ck_assert_int_eq(kill(p, SIGKILL), 0);
		replaced(kids[i], p, 5000);
	}
	p = jbh_child_pid(&A, "network");
	kill(p, SIGSTOP);
	replaced("network", p, hang_budget());
	p = jbh_child_pid(&A, "execution");
	fire_hook("execution", "sigsys");
	replaced("execution", p, 5000);
	p = jbh_child_pid(&A, "file_access");
	fire_hook("file_access", "garbage");
	replaced("file_access", p, 5000);
	p = jbh_child_pid(&A, "network");
	fire_hook("network", "hang");
	replaced("network", p, hang_budget() + A.o.cadence_ms);
	p = jbh_child_pid(&A, "execution");
	fire_hook("execution", "crash");
	replaced("execution", p, 5000);

	/* SIGHUP reloads (the same configuration): it does not stop anything */
	ck_assert_int_eq(kill(sup, SIGHUP), 0);
	ck_assert(jbh_log_wait(&A, "SIGHUP: reloaded", 2000));

	for (size_t i = 0; i < sizeof(kids) / sizeof(kids[0]); i++)
		still_detects(kids[i]);
	ck_assert_int_eq(A.pid, sup);
	still_running();
}
END_TEST

/* --- the end of a shared agent -------------------------------------------- */

/* The last test of a shared TCase: after all its faults, SIGTERM still
 * stops the supervisor with exit 0, every child gone (as jbh_stop). */
START_TEST(test_shared_stop)
{
	jbh_stop_unparented(&A, STOP_MS);
}
END_TEST

/* --- suite --------------------------------------------------------------- */

static void sweep(void)
{
	jbh_kill_leftovers();
}

/* A TCase whose tests share one agent started by setup (see the top):
 * add them, then shared_end(). Check runs teardowns in the reverse order
 * of adding: the reap, then the sweep. */
static TCase *tc_shared(Suite *s, const char *name, void (*setup)(void))
{
	TCase *c = tcase_create(name);

	tcase_set_timeout(c, 60);
	tcase_add_unchecked_fixture(c, NULL, sweep);
	tcase_add_unchecked_fixture(c, setup, shared_down);
	suite_add_tcase(s, c);
	return c;
}

/* the last test of a shared TCase stops its agent */
static void shared_end(TCase *c)
{
	tcase_add_test(c, test_shared_stop);
}

int main(void)
{
	Suite *s = suite_create("faults");
	SRunner *sr;
	TCase *c;
	int failed;

	jbh_main_init("check_faults");
	c = tc_shared(s, "kill9+sandbox_forbidden+line_in_flight", shared_up_line);
	tcase_add_loop_test(c, test_kill9, 0, NKIDS);
	/* after the loop, which asserts each kind's first restart: two more
	 * kills, every role's sandbox, and the file printer stopped, then
	 * killed, with a line in flight */
	tcase_add_test(c, test_exit_line_names_pid);
	tcase_add_test(c, test_printer_kill_right_after_trigger);
	tcase_add_loop_test(c, test_sandbox_forbidden, 0, NFORBIDDEN);
	tcase_add_test(c, test_printer_kill_line_in_flight);
	shared_end(c);
	c = tc_shared(s, "sigstop_worker+sandbox_open_refused", shared_up);
	tcase_add_loop_test(c, test_sigstop_worker, 0, NWORKERS);
	tcase_add_loop_test(c, test_sandbox_open_refused, 0, NWORKERS);
	shared_end(c);
	/* each worker hurt four times: the hang first (it asserts the first
	 * back-off), then three faults that assert none; 4 triggers of each */
	c = tc_shared(s, "hook_hang+sigsys+garbage+crash", shared_up);
	tcase_add_loop_test(c, test_hook_hang, 0, NWORKERS);
	tcase_add_loop_test(c, test_hook_sigsys, 0, NWORKERS);
	tcase_add_loop_test(c, test_hook_garbage, 0, NWORKERS);
	tcase_add_loop_test(c, test_hook_crash, 0, NWORKERS);
	shared_end(c);
	/* the back-off first (it asserts the first delays of execution), then
	 * the gauntlet on the same agent */
	c = tc_shared(s, "restart_backoff+gauntlet", shared_up);
	tcase_add_test(c, test_restart_backoff);
	tcase_add_test(c, test_gauntlet);
	shared_end(c);
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	jbh_kill_leftovers();
	return failed ? 1 : 0;
}
