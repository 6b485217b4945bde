/*
 * check_dataloss.c - loss is an event: the real agent reports what it lost
 * as `data_loss` events through its printers (supervisor/drops.c,
 * docs/EVENTS.md).
 *
 *  - kernel loss: an agent with the smallest maps ([maps] tasks, files and
 *    links = 64) and a 1 s cadence; the test opens 2 000 files of its own
 *    within one cadence, so most of their link records are evicted before
 *    any query sees them; a data_loss event with cause kernel_evicted, who
 *    "kernel" and a count > 0 must reach stdout.
 *  - a printer's own loss: the file printer's test-only fault hook "loss"
 *    (printers/printer.c) reports 3 detections lost (IPC_LOSS, cause
 *    fault_hook); the data_loss event must reach the other printer
 *    (stdout) and the file printer itself, and the supervisor log it.
 * Both agents summarise every second ([recipes] summary_s = 1). Every wait
 * has a deadline. Not root, or no BPF: "SKIP:" and exit 77.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent_harness.h"

#define READY_MS 30000
#define STOP_MS 5000
#define NFILES 2000

struct want {
	const char *cause, *who;
	long long count; /* 0: any count > 0 */
};

static int is_loss(json_t *ev, void *arg)
{
	const struct want *w = arg;
	const char *kind = jbh_jstr(ev, "kind"), *cause = jbh_jstr(ev, "cause"),
		   *who = jbh_jstr(ev, "who");
	long long n = jbh_jint(ev, "count", 0);

	return kind && !strcmp(kind, "data_loss") && cause && !strcmp(cause, w->cause) && who &&
	       !strcmp(who, w->who) && (w->count ? n == w->count : n > 0);
}

/* Every field docs/EVENTS.md promises. */
static void check_loss_event(json_t *ev, const char *unit)
{
	ck_assert_str_eq(jbh_jstr(ev, "mechanism"), "agent");
	ck_assert_str_eq(jbh_jstr(ev, "importance"), "high");
	ck_assert_str_eq(jbh_jstr(ev, "unit"), unit);
	ck_assert_ptr_nonnull(jbh_jstr(ev, "name"));
	ck_assert_ptr_nonnull(jbh_jstr(ev, "hostname"));
	ck_assert_ptr_nonnull(jbh_jstr(ev, "timestamp"));
	ck_assert_ptr_nonnull(jbh_jstr(ev, "since"));
	ck_assert_ptr_nonnull(jbh_jstr(ev, "until"));
	ck_assert_int_ge(jbh_jint(ev, "count_total", 0), jbh_jint(ev, "count", 0));
}

START_TEST(test_kernel_loss_is_an_event)
{
	static const char maps[] = "[maps]\ntasks = 64\nfiles = 64\nlinks = 64\n"
				   "[recipes]\nsummary_s = 1\n";
	const struct jbh_opts o = {.stdout_printer = 1, .cadence_ms = 1000, .extra_conf = maps};
	struct want w = {"kernel_evicted", "kernel", 0};
	struct jbh_agent A;
	char dir[96], path[160];
	json_t *ev;

	jbh_start(&A, &o);
	jbh_wait_all_ready(&A, READY_MS);
	snprintf(dir, sizeof(dir), "%s/many", A.dir);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	/* created first, then opened in one burst: far more links than the
	 * map holds, within one cadence */
	for (int i = 0; i < NFILES; i++) {
		int fd;
		snprintf(path, sizeof(path), "%s/f%d", dir, i);
		fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		ck_assert_msg(fd >= 0, "%s: %s", path, strerror(errno));
		close(fd);
	}
	for (int i = 0; i < NFILES; i++) {
		int fd;
		snprintf(path, sizeof(path), "%s/f%d", dir, i);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		ck_assert_msg(fd >= 0, "%s: %s", path, strerror(errno));
		close(fd);
	}
	/* a cadence to count it, a summary to report it, and slack */
	ev = jbh_wait_event_in(A.out, is_loss, &w, jbh_now_ms() + 20000);
	ck_assert_msg(ev != NULL, "no data_loss event for kernel_evicted on stdout (%s, log %s)",
		      A.out, A.log);
	check_loss_event(ev, "records");
	json_decref(ev);
	/* and the log said it too */
	ck_assert_msg(jbh_log_has(&A, "records evicted before any query saw them"), "log %s",
		      A.log);
	jbh_stop(&A, STOP_MS);
}
END_TEST

START_TEST(test_printer_loss_goes_through_the_others)
{
	const struct jbh_opts o = {.stdout_printer = 1, .extra_conf = "[recipes]\nsummary_s = 1\n"};
	struct want w = {"fault_hook", "file", 3};
	char *argv[] = {"base64", "jibril-fault.file.loss", NULL};
	struct jbh_agent A;
	json_t *ev;

	jbh_start(&A, &o);
	jbh_wait_all_ready(&A, READY_MS);
	/* a detection naming the hook (data_encoder_exec), which the file
	 * printer prints, acknowledges, then reports 3 detections lost */
	jbh_run("/usr/bin/base64", argv, 5000, NULL); /* fails: no such file; it ran */
	ev = jbh_wait_event_in(A.out, is_loss, &w, jbh_detect_deadline(&A) + 3000);
	ck_assert_msg(ev != NULL, "the file printer's loss is not on stdout (%s, log %s)", A.out,
		      A.log);
	check_loss_event(ev, "detections");
	ck_assert_str_eq(jbh_jstr(ev, "detail"), "test-only fault hook: 3 detections reported lost");
	ck_assert_int_eq(jbh_jint(ev, "count_total", 0), 3);
	json_decref(ev);
	/* the printer that lost them still works, and prints it too */
	ev = jbh_wait_event_in(A.events, is_loss, &w, jbh_now_ms() + 3000);
	ck_assert_msg(ev != NULL, "the file printer did not print its own loss (%s)", A.events);
	json_decref(ev);
	ck_assert_msg(jbh_log_has(&A, "file lost 3 detections (fault_hook)"), "log %s", A.log);
	/* a loss report is not a violation: the printer was not replaced */
	ck_assert_msg(!jbh_log_has(&A, "protocol violation"), "log %s", A.log);
	jbh_stop(&A, STOP_MS);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dataloss");
	TCase *tc = tcase_create("agent");
	SRunner *sr;
	int failed;

	jbh_main_init("check_dataloss");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_kernel_loss_is_an_event);
	tcase_add_test(tc, test_printer_loss_goes_through_the_others);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	jbh_kill_leftovers(); /* an agent a failed test left running */
	return failed ? 1 : 0;
}
