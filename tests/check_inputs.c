/*
 * check_inputs.c - the real jibril binary, as root, against inputs it must
 * not trust (docs/SECURITY.md, "Inputs the supervisor does not trust"):
 *
 *  - started with fds 0, 1 and 2 closed and a stray descriptor 7 open, the
 *    supervisor has /dev/null on 0-2 and no longer holds the stray file;
 *  - its oom_score_adj is -900 and every child's 500 (/proc);
 *  - a jibril.conf others may write (mode 0666, turning on the fault
 *    hooks), an output file owned by nobody, and a recipe directory under
 *    a directory others may write are each refused by --check-config and
 *    by --config (exit 78, before anything is loaded), naming the file and
 *    line; the output file receives nothing;
 *  - a SIGHUP after jibril.conf became writable by others is refused and
 *    the agent goes on; once fixed, the next SIGHUP reloads.
 * Every wait polls with a deadline.
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
#include "lib/procfs.h"
#include "lib/spawn.h"

static char dir[64];

static void dir_setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/jbinputs.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void dir_teardown(void)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "chmod -R u+rwx '%s'; rm -rf '%s'", dir, dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

static void write_mode(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	ck_assert_msg(fd >= 0, "%s: %s", path, strerror(errno));
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	ck_assert_int_eq(fchmod(fd, mode), 0);
	close(fd);
}

/* jibril ARGS with stderr into dir/err; its wait status, stderr in err */
static int jibril(char *const args[], char *err, size_t errlen)
{
	char pe[160], *argv[8] = {"jibril"};
	struct tl_io io = {NULL, -1, -1, -1};
	char *text;
	int st, i;
	pid_t pid;

	for (i = 0; args[i] && i < 6; i++)
		argv[i + 1] = args[i];
	argv[i + 1] = NULL;
	snprintf(pe, sizeof(pe), "%s/cmd.err", dir);
	io.err = open(pe, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert(io.err >= 0);
	pid = tl_spawn(jbh_bin(), argv, &io);
	close(io.err);
	ck_assert(pid > 0);
	st = tl_wait_exit(pid, 20000);
	text = jbh_slurp(pe, NULL);
	snprintf(err, errlen, "%s", text ? text : "");
	free(text);
	return st;
}

/* Both --check-config and --config refuse conf with want in the message. */
static void refused(const char *conf, const char *want)
{
	char err[4096];
	int st;

	st = jibril((char *const[]){"--check-config", (char *)conf, NULL}, err, sizeof(err));
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 78, "--check-config: status 0x%x, %s",
		      st, err);
	ck_assert_msg(strstr(err, want), "--check-config: no '%s' in: %s", want, err);
	st = jibril((char *const[]){"--config", (char *)conf, NULL}, err, sizeof(err));
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 78, "--config: status 0x%x, %s", st, err);
	ck_assert_msg(strstr(err, want), "--config: no '%s' in: %s", want, err);
}

static void accepted(const char *conf)
{
	char err[4096];
	int st = jibril((char *const[]){"--check-config", (char *)conf, NULL}, err, sizeof(err));

	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "refused: %s", err);
}

START_TEST(test_conf_writable_by_others)
{
	char conf[160], text[1024], want[1024];

	snprintf(conf, sizeof(conf), "%s/jibril.conf", dir);
	snprintf(text, sizeof(text), "[printers]\nstdout = no\nfile = %s/ev.json\n"
		 "[debug]\nfault_hooks = yes\n", dir);
	write_mode(conf, text, 0666);
	snprintf(want, sizeof(want), "%s: mode 0666 lets group or others write it", conf);
	refused(conf, want);
	ck_assert_int_eq(chmod(conf, 0620), 0);
	snprintf(want, sizeof(want), "%s: mode 0620", conf);
	refused(conf, want);
	ck_assert_int_eq(chown(conf, 65534, 0), 0);
	ck_assert_int_eq(chmod(conf, 0600), 0);
	snprintf(want, sizeof(want), "%s: owned by uid 65534, not root", conf);
	refused(conf, want);
	ck_assert_int_eq(chown(conf, 0, 0), 0);
	accepted(conf);
	ck_assert_int_eq(chmod(conf, 0644), 0); /* readable is fine */
	accepted(conf);
}
END_TEST

START_TEST(test_output_owned_by_nobody)
{
	char conf[160], ev[160], text[1024], want[1024];
	struct stat st;

	snprintf(conf, sizeof(conf), "%s/jibril.conf", dir);
	snprintf(ev, sizeof(ev), "%s/ev.json", dir);
	snprintf(text, sizeof(text), "[printers]\nstdout = no\nfile = %s\n", ev);
	write_mode(conf, text, 0600);
	write_mode(ev, "", 0644);
	ck_assert_int_eq(chown(ev, 65534, 65534), 0);
	snprintf(want, sizeof(want), "%s:3: [printers] file: %s: owned by uid 65534, not root", conf,
		 ev);
	refused(conf, want);
	ck_assert_int_eq(stat(ev, &st), 0);
	ck_assert_int_eq(st.st_size, 0);
	/* root's but writable by others */
	ck_assert_int_eq(chown(ev, 0, 0), 0);
	ck_assert_int_eq(chmod(ev, 0666), 0);
	snprintf(want, sizeof(want), "%s:3: [printers] file: %s: mode 0666", conf, ev);
	refused(conf, want);
	/* a symbolic link, and a FIFO (which must not block the supervisor) */
	ck_assert_int_eq(unlink(ev), 0);
	ck_assert_int_eq(symlink("/etc/passwd", ev), 0);
	refused(conf, "symbolic links are refused");
	ck_assert_int_eq(unlink(ev), 0);
	ck_assert_int_eq(mkfifo(ev, 0600), 0);
	refused(conf, "not a regular file");
	ck_assert_int_eq(unlink(ev), 0);
	accepted(conf); /* absent: it will be created root's, 0600 */
}
END_TEST

START_TEST(test_recipe_dir_under_open_dir)
{
	char conf[160], open_dir[160], rdir[200], text[1024], want[1024];

	snprintf(conf, sizeof(conf), "%s/jibril.conf", dir);
	snprintf(open_dir, sizeof(open_dir), "%s/open", dir);
	snprintf(rdir, sizeof(rdir), "%s/rcp", open_dir);
	ck_assert_int_eq(mkdir(open_dir, 0755), 0);
	ck_assert_int_eq(mkdir(rdir, 0700), 0);
	snprintf(text, sizeof(text), "[printers]\nstdout = yes\n\n[recipes]\ndir = %s\n", rdir);
	write_mode(conf, text, 0600);
	accepted(conf);
	ck_assert_int_eq(chmod(open_dir, 0777), 0);
	snprintf(want, sizeof(want), "%s:5: [recipes] dir: %s: mode 0777 lets group or others write",
		 conf, open_dir);
	refused(conf, want);
	ck_assert_int_eq(chmod(open_dir, 01777), 0); /* sticky, like /tmp */
	accepted(conf);
}
END_TEST

/* --- descriptors and oom_score_adj of a running agent --------------------------- */

static int fd_target(pid_t pid, int fd, char *out, size_t len)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, fd);
	n = readlink(path, out, len - 1);
	out[n > 0 ? n : 0] = '\0';
	return n > 0 ? 0 : -1;
}

static int oom_adj(pid_t pid)
{
	char path[64], *text;
	int v;

	snprintf(path, sizeof(path), "/proc/%d/oom_score_adj", (int)pid);
	text = jbh_slurp(path, NULL);
	ck_assert_ptr_nonnull(text);
	v = atoi(text);
	free(text);
	return v;
}

/* CAP_SYS_RESOURCE (24) in our effective set: the supervisor's too */
static int has_sys_resource(void)
{
	char *st = jbh_slurp("/proc/self/status", NULL), *p;
	unsigned long long eff = 0;

	ck_assert_ptr_nonnull(st);
	p = strstr(st, "CapEff:");
	if (p)
		eff = strtoull(p + 7, NULL, 16);
	free(st);
	return (eff >> 24) & 1;
}

START_TEST(test_fds_closed_and_stray_and_oom)
{
	char conf[160], ev[160], stray[160], text[1024], t[PATH_MAX];
	pid_t pid, kids[16];
	uint64_t deadline;
	int n = 0, st;

	snprintf(conf, sizeof(conf), "%s/jibril.conf", dir);
	snprintf(ev, sizeof(ev), "%s/ev.json", dir);
	snprintf(stray, sizeof(stray), "%s/stray", dir);
	snprintf(text, sizeof(text), "[agent]\ncadence_ms = 200\nheartbeat_ms = 100\n"
		 "heartbeat_deadline_ms = 1000\n[printers]\nstdout = no\nfile = %s\n", ev);
	write_mode(conf, text, 0600);
	write_mode(stray, "", 0600);
	fflush(NULL);
	pid = fork();
	ck_assert(pid >= 0);
	if (pid == 0) {
		int fd = open(stray, O_RDWR); /* no CLOEXEC: an inherited stray */

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (fd < 0 || dup2(fd, 7) < 0)
			_exit(126);
		close(fd);
		close(0);
		close(1);
		close(2);
		execl(jbh_bin(), "jibril", "--config", conf, (char *)NULL);
		_exit(127);
	}
	/* running: its four children are there (its log went to /dev/null) */
	deadline = jbh_now_ms() + 20000;
	while (jbh_now_ms() < deadline && (n = tl_proc_children(pid, kids, 16)) < 4 &&
	       !jbh_pid_gone(pid))
		jbh_sleep_ms(50);
	ck_assert_msg(n >= 4, "the agent did not start its children (%d)", n);
	for (int fd = 0; fd <= 2; fd++) {
		ck_assert_int_eq(fd_target(pid, fd, t, sizeof(t)), 0);
		ck_assert_msg(!strcmp(t, "/dev/null"), "fd %d is %s", fd, t);
	}
	for (int fd = 3; fd < 1024; fd++)
		if (fd_target(pid, fd, t, sizeof(t)) == 0)
			ck_assert_msg(strcmp(t, stray), "the stray file is still open as fd %d", fd);
	/* lowering it needs CAP_SYS_RESOURCE, which some containers drop: then
	 * the supervisor keeps what it inherited (ours) and says so */
	if (has_sys_resource())
		ck_assert_int_eq(oom_adj(pid), -900);
	else {
		printf("NOTE: no CAP_SYS_RESOURCE here: the supervisor keeps oom_score_adj %d\n",
		       oom_adj(getpid()));
		ck_assert_int_eq(oom_adj(pid), oom_adj(getpid()));
	}
	/* a child just forked still shows the supervisor's value until spawn.c
	 * writes its own (before exec): poll each with a deadline */
	deadline = jbh_now_ms() + 5000;
	for (int i = 0; i < n; i++) {
		while (oom_adj(kids[i]) != 500 && jbh_now_ms() < deadline)
			jbh_sleep_ms(20);
		ck_assert_msg(oom_adj(kids[i]) == 500, "child %d: oom_score_adj %d", (int)kids[i],
			      oom_adj(kids[i]));
	}
	ck_assert_int_eq(kill(pid, SIGTERM), 0);
	st = tl_wait_exit(pid, 10000);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "exit status 0x%x", st);
}
END_TEST

/* --- SIGHUP ------------------------------------------------------------------ */

START_TEST(test_reload_refused_when_conf_writable)
{
	struct jbh_agent a;
	char want[512];

	jbh_start(&a, NULL);
	jbh_wait_all_ready(&a, 20000);
	ck_assert_int_eq(chmod(a.conf, 0666), 0);
	ck_assert_int_eq(kill(a.pid, SIGHUP), 0);
	snprintf(want, sizeof(want), "reload refused, the running configuration and recipes stay: "
		 "%s: mode 0666", a.conf);
	ck_assert_msg(jbh_log_wait(&a, want, 5000), "no '%s' in %s", want, a.log);
	ck_assert(!jbh_log_has(&a, "SIGHUP: reloaded"));
	ck_assert(jbh_alive(&a));
	ck_assert_int_eq(chmod(a.conf, 0600), 0);
	ck_assert_int_eq(kill(a.pid, SIGHUP), 0);
	ck_assert_msg(jbh_log_wait(&a, "SIGHUP: reloaded", 5000), "not reloaded (log %s)", a.log);
	jbh_stop(&a, 10000);
}
END_TEST

static void sweep(void) { jbh_kill_leftovers(); }

int main(void)
{
	Suite *s = suite_create("inputs");
	TCase *tc;
	SRunner *sr;
	int failed;

	jbh_main_init("check_inputs");
	tc = tcase_create("ownership");
	tcase_add_checked_fixture(tc, dir_setup, dir_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_conf_writable_by_others);
	tcase_add_test(tc, test_output_owned_by_nobody);
	tcase_add_test(tc, test_recipe_dir_under_open_dir);
	suite_add_tcase(s, tc);
	tc = tcase_create("process");
	tcase_add_checked_fixture(tc, dir_setup, dir_teardown);
	tcase_add_unchecked_fixture(tc, NULL, sweep);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_fds_closed_and_stray_and_oom);
	tcase_add_test(tc, test_reload_refused_when_conf_writable);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	jbh_kill_leftovers();
	return failed ? 1 : 0;
}
