/*
 * check_torn.c - a printer killed inside write(2) leaves the start of a
 * line in its output (the kernel stops a write to a file between pages on
 * a fatal signal); the line was never acknowledged and comes again whole
 * from the next printer, so the supervisor cuts the fragment before that
 * one starts (supervisor/outfile.c, sup_outfile_mend). Root, real BPF, one
 * agent with the file and stdout printers (both regular files here).
 *
 * Invariants checked, for each of the two printers:
 *  - an output that ends with a whole line is left exactly as it was when
 *    its printer is killed: nothing is cut from a good file;
 *  - an output that ends inside a line (the fragment a torn write leaves,
 *    put there while the printer is stopped, then the printer killed) no
 *    longer holds the fragment once the next printer is READY, every line
 *    is a JSON object, the log says what was cut, and a detection after it
 *    is printed whole;
 *  - the same in the file printer's file when the supervisor is killed
 *    with its printer (SIGKILL, then a restart on the same outputs): the
 *    next supervisor cuts the fragment at start-up, before its printer.
 * Not root or no BPF: "SKIP:" and exit 77.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent_harness.h"

#define READY_MS 20000
#define STOP_MS 15000
#define FRAGMENT "{\"uuid\":\"00000000-torn-by-a-kill\",\"kind\":\"cut_here"

static struct jbh_agent A;

static const char *output_of(const char *kind)
{
	return !strcmp(kind, "file") ? A.events : A.out;
}

/* kill -9 the printer of kind, stopped first when stop; its successor's pid */
static pid_t replace(const char *kind, int stop, void (*while_stopped)(const char *))
{
	pid_t old = jbh_child_pid(&A, kind), now;

	ck_assert_msg(old > 0, "no %s printer", kind);
	if (stop) {
		ck_assert_int_eq(kill(old, SIGSTOP), 0);
		while_stopped(kind);
	}
	ck_assert_int_eq(kill(old, SIGKILL), 0);
	now = jbh_wait_ready(&A, kind, old, READY_MS);
	ck_assert_msg(now > 0, "the %s printer was not replaced (log %s)", kind, A.log);
	return now;
}

/* what a write cut short between two pages leaves: a line's start, no end */
static void tear(const char *kind)
{
	int fd = open(output_of(kind), O_WRONLY | O_APPEND);

	ck_assert_msg(fd >= 0, "%s: %s", output_of(kind), strerror(errno));
	ck_assert_int_eq(write(fd, FRAGMENT, strlen(FRAGMENT)), (ssize_t)strlen(FRAGMENT));
	close(fd);
}

static void nothing(const char *kind) {}

/* lines of the supervisor's log (all its starts) that hold needle */
static int log_count(const char *needle)
{
	char *log = jbh_log_read(&A), *at = log;
	int n = 0;

	while ((at = strstr(at, needle)) != NULL) {
		n++;
		at += strlen(needle);
	}
	free(log);
	return n;
}

/* a detection seen whole in both outputs (the harness asserts that every
 * line it reads is a JSON object) */
static void detection_in_both(void)
{
	struct jbh_match m;
	json_t *ev;

	ck_assert_int_gt(jbh_trigger_for(&A, "file_access", &m), 0);
	ev = jbh_wait_event_in(A.events, jbh_match, &m, jbh_detect_deadline(&A));
	ck_assert_msg(ev != NULL, "no detection in the file printer's output (log %s)", A.log);
	json_decref(ev);
	ev = jbh_wait_event_in(A.out, jbh_match, &m, jbh_detect_deadline(&A));
	ck_assert_msg(ev != NULL, "no detection in the stdout printer's output (log %s)", A.log);
	json_decref(ev);
}

START_TEST(test_torn_line_cut)
{
	static const char *const kinds[] = {"file", "stdout"};
	struct jbh_opts o = {.stdout_printer = 1};

	jbh_start(&A, &o);
	jbh_wait_all_ready(&A, READY_MS);
	detection_in_both();

	for (int i = 0; i < 2; i++) {
		const char *k = kinds[i];
		size_t before_len, after_len;
		char *before = jbh_slurp(output_of(k), &before_len), *after;

		/* a good file: nothing cut (lines may only be added) */
		ck_assert(before != NULL && before_len > 0 && before[before_len - 1] == '\n');
		replace(k, 0, nothing);
		after = jbh_slurp(output_of(k), &after_len);
		ck_assert_msg(after && after_len >= before_len && !memcmp(before, after, before_len),
			      "%s: the output changed under its replaced printer (%zu -> %zu bytes)",
			      k, before_len, after ? after_len : 0);
		ck_assert_msg(!jbh_log_has(&A, "its output ends inside a line"),
			      "a cut in a good file: log %s", A.log);
		free(before);
		free(after);
	}
	for (int i = 0; i < 2; i++) {
		const char *k = kinds[i];
		char *all;
		size_t len;

		replace(k, 1, tear);
		all = jbh_slurp(output_of(k), &len);
		ck_assert(all != NULL && len > 0);
		ck_assert_msg(!memmem(all, len, "torn-by-a-kill", 14),
			      "%s: the fragment of the torn line is still in %s", k, output_of(k));
		ck_assert_msg(all[len - 1] == '\n', "%s: the output still ends inside a line", k);
		free(all);
	}
	ck_assert_msg(jbh_log_has(&A, "file printer: its output ends inside a line"),
		      "no line saying what was cut from the file (log %s)", A.log);
	ck_assert_msg(jbh_log_has(&A, "stdout printer: its output ends inside a line"),
		      "no line saying what was cut from stdout (log %s)", A.log);
	detection_in_both();

	/* the printer and its supervisor killed together (the printer inside
	 * a write): the next supervisor cuts the fragment before its printer */
	{
		pid_t printer = jbh_child_pid(&A, "file");
		size_t len;
		char *all;
		int st;

		ck_assert(printer > 0 && kill(printer, SIGSTOP) == 0);
		tear("file");
		ck_assert_int_eq(kill(A.pid, SIGKILL), 0);
		ck_assert_int_eq(kill(printer, SIGKILL), 0);
		ck_assert_int_eq(waitpid(A.pid, &st, 0), A.pid);
		A.reaped = 1;
		A.status = st;
		jbh_restart(&A);
		jbh_wait_all_ready(&A, READY_MS);
		all = jbh_slurp(A.events, &len);
		ck_assert_msg(all && !memmem(all, len, "torn-by-a-kill", 14),
			      "the fragment a killed agent's printer left is still in %s", A.events);
		free(all);
		ck_assert_msg(log_count("file printer: its output ends inside a line") >= 2,
			      "no line saying what was cut at start-up (log %s)", A.log);
	}
	detection_in_both();
	jbh_stop(&A, STOP_MS);
}
END_TEST

static void sweep(void)
{
	jbh_kill_leftovers();
}

int main(void)
{
	Suite *s = suite_create("torn");
	TCase *tc = tcase_create("torn");
	SRunner *sr;
	int failed;

	jbh_main_init("check_torn");
	tcase_set_timeout(tc, 120);
	tcase_add_unchecked_fixture(tc, NULL, sweep);
	tcase_add_test(tc, test_torn_line_cut);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
