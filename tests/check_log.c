/*
 * check_log.c - the logging API (common/log.c) and TRACE mode.
 *
 * In this process: at LOG_L_TRACE every line starts with the caller's
 * file:function:line, whether it goes to stderr or to a sink (a child's
 * IPC), with errno text and for fatal errors too; below it no line has
 * one; a line logged without a location (a child's words relayed by the
 * supervisor) never gets ours.
 *
 * Against the real agent: with log_level = trace every line of the
 * supervisor's log carries a location, a child's lines carry the child's
 * own (e.g. workers/worker.c:recipes_load:N) through IPC_LOG, and with the
 * default level no line does.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>

#include "agent_harness.h"
#include "common/log.h"

/* --- in this process --------------------------------------------------------- */

static char errfile[64];
static int saved_stderr = -1;

/* fd 2 into a temp file for the test */
static void capture_setup(void)
{
	int fd;

	snprintf(errfile, sizeof(errfile), "/tmp/jb-log.XXXXXX");
	fd = mkstemp(errfile);
	ck_assert_int_ge(fd, 0);
	saved_stderr = dup(2);
	ck_assert_int_ge(dup2(fd, 2), 0);
	close(fd);
	log_set_sink(NULL);
}

static void capture_teardown(void)
{
	if (saved_stderr >= 0) {
		dup2(saved_stderr, 2);
		close(saved_stderr);
	}
	unlink(errfile);
}

static char *captured(void)
{
	char *s = jbh_slurp(errfile, NULL);
	ck_assert_ptr_nonnull(s);
	return s;
}

static char sunk[1200];
static int sunk_level = -1;

static void sink(int level, const char *line)
{
	sunk_level = level;
	snprintf(sunk, sizeof(sunk), "%s", line);
}

START_TEST(trace_adds_the_callers_location)
{
	char want[512], *out;
	int line;

	log_init("t", LOG_L_TRACE);
	line = __LINE__ + 1;
	log_info("hello %d", 7);
	errno = ENOENT;
	log_warn("gone");
	log_debug("debug shows at trace");
	out = captured();
	snprintf(want, sizeof(want), "jibril[t:%d]: %s:%s:%d: hello 7\n", (int)getpid(), __FILE__,
		 __func__, line);
	ck_assert_msg(strstr(out, want), "want '%s' in '%s'", want, out);
	snprintf(want, sizeof(want), "%s:%s:%d: gone: %s\n", __FILE__, __func__, line + 2,
		 strerror(ENOENT));
	ck_assert_msg(strstr(out, want), "want '%s' in '%s'", want, out);
	ck_assert_msg(strstr(out, ": debug shows at trace\n"), "%s", out);
	free(out);
}
END_TEST

START_TEST(no_location_below_trace)
{
	char want[128], *out;

	log_init("t", LOG_L_DEBUG);
	log_info("hello %d", 7);
	log_debug("dbg");
	out = captured();
	snprintf(want, sizeof(want), "jibril[t:%d]: hello 7\njibril[t:%d]: dbg\n", (int)getpid(),
		 (int)getpid());
	ck_assert_str_eq(out, want);
	free(out);
}
END_TEST

/* a child's lines go to a sink (IPC_LOG): the location is in the text */
START_TEST(the_sink_gets_the_location)
{
	char want[256];
	int line;

	log_init("t", LOG_L_TRACE);
	log_set_sink(sink);
	line = __LINE__ + 1;
	log_warnx("to the supervisor");
	snprintf(want, sizeof(want), "%s:%s:%d: to the supervisor", __FILE__, __func__, line);
	ck_assert_str_eq(sunk, want);
	ck_assert_int_eq(sunk_level, LOG_L_WARN);
	log_set_sink(NULL);
}
END_TEST

static void relay(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void relay(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg_at(NULL, NULL, 0, LOG_L_INFO, 0, fmt, ap);
	va_end(ap);
}

START_TEST(a_relayed_line_keeps_only_its_own_location)
{
	char want[256], *out;

	log_init("t", LOG_L_TRACE);
	relay("kid[1]: %s", "workers/worker.c:recipes_load:313: 27 recipes loaded");
	out = captured();
	snprintf(want, sizeof(want),
		 "jibril[t:%d]: kid[1]: workers/worker.c:recipes_load:313: 27 recipes loaded\n",
		 (int)getpid());
	ck_assert_str_eq(out, want);
	free(out);
}
END_TEST

/* fatalx exits: in a child of the test, whose stderr is the capture file */
START_TEST(fatal_carries_the_location)
{
	char *out, want[256];
	int st, line;
	pid_t pid;

	log_init("t", LOG_L_TRACE);
	line = __LINE__ + 3;
	pid = fork();
	if (pid == 0)
		fatalx("bye");
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1);
	out = captured();
	snprintf(want, sizeof(want), "%s:%s:%d: bye\n", __FILE__, __func__, line);
	ck_assert_msg(strstr(out, want), "want '%s' in '%s'", want, out);
	free(out);
}
END_TEST

/* --- the real agent ------------------------------------------------------------ */

#define IDENT "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"

/* s starts with "path/file.c:function:line: " */
static int located(const char *s)
{
	size_t n = strspn(s, IDENT "/.-");

	if (n < 3 || strncmp(s + n - 2, ".c", 2) || s[n] != ':')
		return 0;
	s += n + 1;
	n = strspn(s, IDENT);
	if (!n || s[n] != ':')
		return 0;
	s += n + 1;
	n = strspn(s, "0123456789");
	return n && !strncmp(s + n, ": ", 2);
}

/* after "KIND[PID]: " (and "stderr: jibril[KIND:PID]: "), or NULL when
 * msg is not a child's line */
static const char *child_text(const struct jbh_agent *a, const char *msg)
{
	for (int i = 0; i < a->nkinds; i++) {
		size_t n = strlen(a->kinds[i]);
		const char *p;

		if (strncmp(msg, a->kinds[i], n) || msg[n] != '[')
			continue;
		p = strstr(msg + n, "]: ");
		if (!p || strspn(msg + n + 1, "0123456789") != (size_t)(p - msg - n - 1))
			continue;
		p += 3;
		if (!strncmp(p, "stderr: jibril[", 15)) {
			p = strstr(p, "]: ");
			if (!p)
				return NULL;
			p += 3;
		}
		return p;
	}
	return NULL;
}

/* Walk every line; counts of located supervisor lines and child lines. */
static void scan(const struct jbh_agent *a, int *sup_located, int *kid_located, int *unlocated,
		 char *first_bad, size_t badlen)
{
	char *log = jbh_log_read(a), *line, *save = NULL;

	*sup_located = *kid_located = *unlocated = 0;
	first_bad[0] = '\0';
	for (line = strtok_r(log, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		const char *msg = strstr(line, "]: "), *kid;

		if (strncmp(line, "jibril[supervisor:", 18) || !msg) {
			(*unlocated)++;
		} else if (located(msg + 3)) {
			(*sup_located)++;
		} else if ((kid = child_text(a, msg + 3)) && located(kid)) {
			(*kid_located)++;
		} else {
			(*unlocated)++;
		}
		if (*unlocated && !first_bad[0])
			snprintf(first_bad, badlen, "%s", line);
	}
	free(log);
}

START_TEST(trace_level_locates_every_line_of_every_process)
{
	struct jbh_agent a;
	struct jbh_opts o = {.log_level = "trace", .no_fault_hooks = 1};
	int sup_n, kid_n, bad_n;
	char bad[1200], want[128];

	jbh_start(&a, &o);
	jbh_wait_all_ready(&a, 10000);
	ck_assert(jbh_log_wait(&a, "recipes loaded", 5000));
	/* a worker's own line, relayed over IPC_LOG with its location */
	for (int i = 0; i < a.nkinds; i++) {
		pid_t pid = jbh_child_pid(&a, a.kinds[i]);

		if (strcmp(a.kinds[i], "file_access"))
			continue;
		snprintf(want, sizeof(want), "file_access[%d]: workers/worker.c:recipes_load:",
			 (int)pid);
		ck_assert_msg(jbh_log_wait(&a, want, 5000), "no '%s' in the log", want);
	}
	/* a supervisor state change */
	ck_assert(jbh_log_has(&a, "supervisor/procs.c:set_state:"));
	/* before the stop: a clean stop removes the log with its directory */
	scan(&a, &sup_n, &kid_n, &bad_n, bad, sizeof(bad));
	ck_assert_msg(bad_n == 0, "%d lines without a location, the first: '%s'", bad_n, bad);
	ck_assert_int_gt(sup_n, 10);
	ck_assert_int_gt(kid_n, 0);
	jbh_stop(&a, 10000);
}
END_TEST

START_TEST(default_level_has_no_location)
{
	struct jbh_agent a;
	struct jbh_opts o = {.no_fault_hooks = 1};
	int sup_n, kid_n, bad_n;
	char bad[1200];

	jbh_start(&a, &o);
	jbh_wait_all_ready(&a, 10000);
	ck_assert(jbh_log_wait(&a, "recipes loaded", 5000));
	scan(&a, &sup_n, &kid_n, &bad_n, bad, sizeof(bad));
	ck_assert_msg(sup_n == 0 && kid_n == 0, "%d supervisor and %d child lines with a location",
		      sup_n, kid_n);
	ck_assert_int_gt(bad_n, 10);
	ck_assert(!jbh_log_has(&a, "supervisor/procs.c:"));
	jbh_stop(&a, 10000);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("log");
	TCase *self = tcase_create("self"), *agent = tcase_create("agent");
	SRunner *sr;
	int failed;

	jbh_main_init("log");
	tcase_add_checked_fixture(self, capture_setup, capture_teardown);
	tcase_add_test(self, trace_adds_the_callers_location);
	tcase_add_test(self, no_location_below_trace);
	tcase_add_test(self, the_sink_gets_the_location);
	tcase_add_test(self, a_relayed_line_keeps_only_its_own_location);
	tcase_add_test(self, fatal_carries_the_location);
	suite_add_tcase(s, self);
	tcase_set_timeout(agent, 60);
	tcase_add_test(agent, trace_level_locates_every_line_of_every_process);
	tcase_add_test(agent, default_level_has_no_location);
	suite_add_tcase(s, agent);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
