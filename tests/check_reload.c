/*
 * check_reload.c - recipes as the operator meets them: --list-recipes,
 * --check-config with a recipe directory, refusal of bad or non-private
 * recipe files with a message that says where and why, [recipes] disable,
 * and SIGHUP: a good reload makes a new recipe fire without restarting the
 * workers or the BPF object; a bad reload keeps the old set running.
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

static char rdir[64], conf[96], outp[96], errp[96];

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	ck_assert_msg(fd >= 0, "%s: %s", path, strerror(errno));
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	ck_assert_int_eq(fchmod(fd, mode), 0);
	close(fd);
}

/* A private recipe dir and a config naming it. */
static void setup(void)
{
	char buf[512];

	snprintf(rdir, sizeof(rdir), "/tmp/jb-rcp.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(rdir));
	ck_assert_int_eq(chmod(rdir, 0700), 0);
	snprintf(conf, sizeof(conf), "%s.conf", rdir);
	snprintf(outp, sizeof(outp), "%s.out", rdir);
	snprintf(errp, sizeof(errp), "%s.err", rdir);
	snprintf(buf, sizeof(buf), "[recipes]\ndir = %s\n", rdir);
	write_file(conf, buf, 0600);
}

static void teardown(void)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s.d' '%s' '%s' '%s'", rdir, rdir, conf, outp, errp);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup failed\n");
}

/* Run jibril with args; exit code, stdout/stderr in outp/errp. */
static int jibril(const char *a1, const char *a2, const char *a3)
{
	char *argv[] = {"jibril", (char *)a1, (char *)a2, (char *)a3, NULL};
	int out = open(outp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int err = open(errp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	struct jbh_io io = {.in = -1, .out = out, .err = err};
	pid_t pid = jbh_spawn(jbh_bin(), argv, &io);
	int st = jbh_wait_exit(pid, 20000);
	close(out);
	close(err);
	ck_assert_msg(st != -1, "jibril %s did not finish", a1);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *slurp_or_empty(const char *p)
{
	char *s = jbh_slurp(p, NULL);
	return s ? s : strdup("");
}

static const char *custom(const char *kind, const char *base)
{
	static char buf[1024];
	snprintf(buf, sizeof(buf),
		 "# a test recipe\n"
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

START_TEST(list_recipes_prints_every_recipe)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/mine.yaml", rdir);
	write_file(path, custom("test_listed", "jb-listed"), 0600);
	ck_assert_int_eq(jibril("--config", conf, "--list-recipes"), 0);
	char *out = slurp_or_empty(outp);
	ck_assert_msg(strstr(out, "KIND") && strstr(out, "MECHANISM") && strstr(out, "IMPORTANCE"),
		      "no header: %s", out);
	ck_assert_msg(strstr(out, "test_listed") && strstr(out, "mine.yaml:2"),
		      "operator recipe not listed with its source: %s", out);
	ck_assert_msg(strstr(out, "builtin:recipes/"), "no built-in recipe listed: %s", out);
	/* every built-in kind is listed */
	ck_assert_ptr_nonnull(jbh_recipe("stratum_port_access"));
	ck_assert_msg(strstr(out, "stratum_port_access"), "%s", out);
	free(out);
}
END_TEST

START_TEST(bad_recipe_is_refused_with_file_and_line)
{
	char path[256], want[300];
	snprintf(path, sizeof(path), "%s/bad.yaml", rdir);
	write_file(path,
		   "- kind: test_bad\n"
		   "  name: Bad\n"
		   "  mechanism: file_access\n"
		   "  importance: low\n"
		   "  tactic: discovery\n"
		   "  technique: T1083\n"
		   "  file_actions: [open, sniff]\n"
		   "  base: x\n",
		   0600);
	ck_assert_int_eq(jibril("--check-config", conf, NULL), 78);
	char *err = slurp_or_empty(errp);
	snprintf(want, sizeof(want), "%s:7: unknown file action 'sniff'", path);
	ck_assert_msg(strstr(err, want), "want '%s' in: %s", want, err);
	free(err);
	/* and the agent does not start with it */
	ck_assert_int_eq(jibril("--config", conf, NULL), 78);
}
END_TEST

START_TEST(non_private_recipes_are_refused)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/mine.yaml", rdir);
	write_file(path, custom("test_private", "jb-private"), 0644);
	ck_assert_int_eq(jibril("--check-config", conf, NULL), 78);
	char *err = slurp_or_empty(errp);
	ck_assert_msg(strstr(err, path) && strstr(err, "0644") && strstr(err, "group or others"),
		      "file mode not refused clearly: %s", err);
	free(err);
	ck_assert_int_eq(chmod(path, 0600), 0);
	ck_assert_int_eq(chown(path, 65534, 65534), 0);
	ck_assert_int_eq(jibril("--check-config", conf, NULL), 78);
	err = slurp_or_empty(errp);
	ck_assert_msg(strstr(err, path) && strstr(err, "not root"), "owner not refused: %s", err);
	free(err);
	ck_assert_int_eq(chown(path, 0, 0), 0);
	ck_assert_int_eq(chmod(rdir, 0755), 0);
	ck_assert_int_eq(jibril("--check-config", conf, NULL), 78);
	err = slurp_or_empty(errp);
	ck_assert_msg(strstr(err, rdir) && strstr(err, "0755"), "dir mode not refused: %s", err);
	free(err);
	ck_assert_int_eq(chmod(rdir, 0700), 0);
	ck_assert_int_eq(jibril("--check-config", conf, NULL), 0);
}
END_TEST

START_TEST(disable_by_kind)
{
	char buf[512];
	snprintf(buf, sizeof(buf), "[recipes]\ndir = %s\ndisable = stratum_port_access\n", rdir);
	write_file(conf, buf, 0600);
	ck_assert_int_eq(jibril("--config", conf, "--list-recipes"), 0);
	char *out = slurp_or_empty(outp), *line = strstr(out, "stratum_port_access");
	ck_assert_msg(line && strstr(line, " no "), "not shown as disabled: %s", out);
	free(out);
	snprintf(buf, sizeof(buf), "[recipes]\ndir = %s\n\ndisable = no_such_recipe\n", rdir);
	write_file(conf, buf, 0600);
	ck_assert_int_eq(jibril("--check-config", conf, NULL), 78);
	char *err = slurp_or_empty(errp), want[300];
	snprintf(want, sizeof(want), "%s:4: [recipes] disable: there is no recipe 'no_such_recipe'",
		 conf);
	ck_assert_msg(strstr(err, want), "want '%s' in: %s", want, err);
	free(err);
}
END_TEST

/* open a file named base in a temp dir; the pid that did it */
static pid_t touch_open(const char *base)
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
	rmdir(dir);
	return pid;
}

START_TEST(sighup_reload_good_and_bad)
{
	struct jbh_agent a;
	char extra[256], path[256];
	struct jbh_opts o = {.no_fault_hooks = 1, .extra_conf = extra};
	pid_t before[3], pid;
	const char *kinds[] = {"file_access", "execution", "network"};

	snprintf(extra, sizeof(extra), "[recipes]\ndir = %s\n", rdir);
	jbh_start(&a, &o);
	jbh_wait_all_ready(&a, 10000);
	for (int i = 0; i < 3; i++)
		before[i] = jbh_child_pid(&a, kinds[i]);

	/* a recipe added to the directory fires after SIGHUP */
	snprintf(path, sizeof(path), "%s/new.yaml", rdir);
	write_file(path, custom("test_reloaded", "jb-reloaded"), 0600);
	ck_assert_int_eq(kill(a.pid, SIGHUP), 0);
	ck_assert_msg(jbh_log_wait(&a, "SIGHUP: reloaded", 5000), "no reload in the log");
	ck_assert_msg(jbh_log_wait(&a, "recipes loaded", 5000), "workers did not load the set");
	pid = touch_open("jb-reloaded");
	struct jbh_match m = {.kind = "test_reloaded", .pid = pid};
	json_t *ev = jbh_wait_event(&a, jbh_match, &m, jbh_detect_deadline(&a));
	ck_assert_msg(ev != NULL, "the reloaded recipe did not fire");
	ck_assert_str_eq(jbh_jstr(ev, "recipe.source"), path);
	json_decref(ev);

	/* a broken file: refused, logged with file:line, old set keeps running */
	char bad[256];
	snprintf(bad, sizeof(bad), "%s/broken.yaml", rdir);
	write_file(bad, "- kind: test_broken\n  name: [unclosed\n", 0600);
	ck_assert_int_eq(kill(a.pid, SIGHUP), 0);
	ck_assert_msg(jbh_log_wait(&a, "reload refused", 5000), "bad reload not refused");
	ck_assert_msg(jbh_log_wait(&a, bad, 1000), "refusal does not name %s", bad);
	pid = touch_open("jb-reloaded");
	m.pid = pid;
	ev = jbh_wait_event(&a, jbh_match, &m, jbh_detect_deadline(&a));
	ck_assert_msg(ev != NULL, "the running set stopped working after a bad reload");
	json_decref(ev);
	for (int i = 0; i < 3; i++)
		ck_assert_msg(jbh_child_pid(&a, kinds[i]) == before[i],
			      "%s worker was restarted by a reload", kinds[i]);
	ck_assert(jbh_alive(&a));
	jbh_stop(&a, 10000);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("reload");
	TCase *tc = tcase_create("recipes");
	SRunner *sr;
	int failed;

	jbh_main_init("reload");
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, list_recipes_prints_every_recipe);
	tcase_add_test(tc, bad_recipe_is_refused_with_file_and_line);
	tcase_add_test(tc, non_private_recipes_are_refused);
	tcase_add_test(tc, disable_by_kind);
	tcase_add_test(tc, sighup_reload_good_and_bad);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
