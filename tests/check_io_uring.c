/*
 * check_io_uring.c - work done through io_uring is seen like its syscalls
 * (bpf/io_uring.bpf.h). The real agent runs; tests/helpers/uring does each
 * operation through a ring only (raw io_uring_setup/mmap/io_uring_enter),
 * and the suite reads what the file printer wrote.
 *
 * Invariants checked:
 *  - IORING_OP_OPENAT + IORING_OP_WRITE of an authorized_keys, by absolute
 *    path, relative to a dirfd, into a fixed-file slot, and from an SQPOLL
 *    ring, each give ssh_auth_keys_modification with the helper's pid and
 *    exe (never an io-wq or SQPOLL thread's), the file's real path and the
 *    open's actions (create, write); the event says io_uring: true.
 *  - IORING_OP_RENAMEAT onto an authorized_keys and IORING_OP_UNLINKAT of
 *    one give the same detection with rename / unlink; IORING_OP_LINKAT and
 *    IORING_OP_SYMLINKAT naming one give it with link.
 *  - IORING_OP_CONNECT: TCP and UDP to a loopback reverse-shell port give
 *    suspicious_port_access with the helper's pid (TCP through the socket
 *    state tracepoint, UDP through the ring's own program).
 *  - an io_uring user reading /etc/shadow is io_uring_sensitive_file_access;
 *    the recipe's task_flags item sees the flag words (no kernel needed).
 *  - the benign twins (same operations on a known_hosts, a notes file, a
 *    harmless port, /etc/hostname) give nothing at all; they run first and
 *    are checked once a later trigger's detection proves the agent has
 *    processed everything before it.
 * Traffic goes only to 127.0.0.1; files only under a temp dir of the test.
 * Not root, no BPF, or io_uring disabled here: "SKIP:" and exit 77.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/io_uring.h>

#include "agent_harness.h"
#include "bpf/jibril.h"
#include "rcp/recipe.h"

#define READY_MS 60000 /* the BPF load alone takes 15 s on a busy 2-core machine */
#define STOP_MS 5000
#define RUN_MS 10000

static struct jbh_agent A;
static char helper[PATH_MAX], helper_real[PATH_MAX];
static char D[64]; /* the test's temp dir */

/* The kernel cases share one agent (its start, the BPF load, is most of a
 * case's time): started by an unchecked fixture in the runner, which the
 * tests fork from, stopped by the last test (test_shared_stop); the
 * teardown only reaps it. Each case has its own temp dir and matches its
 * own pids. The helper's acts all have one chain of executables (uring <
 * this test < the runner), and ssh_auth_keys_modification allows 10
 * detections per chain: the cases make 8 (open_write 4, rename_unlink 2,
 * link_symlink 2); suspicious_port_access allows 5 per exe (connect: 2).
 * A case that adds more needs an agent of its own. */
static void shared_up(void)
{
	jbh_start_ready(&A, NULL, READY_MS);
}

static void shared_down(void)
{
	jbh_reap(&A);
}

START_TEST(test_shared_stop)
{
	jbh_stop_unparented(&A, STOP_MS);
}
END_TEST

/* a case's start: the shared agent runs; the helper; a fresh temp dir */
static void up(void)
{
	ck_assert_msg(jbh_running(&A), "the shared supervisor is gone (log %s)", A.log);
	jbh_helper(helper, sizeof(helper), "uring");
	ck_assert_msg(realpath(helper, helper_real) != NULL, "realpath %s: %s", helper,
		      strerror(errno));
	strcpy(D, "/var/tmp/jbur.XXXXXX");
	ck_assert(mkdtemp(D) != NULL);
}

static void rm_rf(const char *path)
{
	char *argv[] = {"rm", "-rf", (char *)path, NULL};

	ck_assert_int_eq(jbh_run("/bin/rm", argv, RUN_MS, NULL), 0);
}

static void down(void)
{
	rm_rf(D);
}

static void mkdirs(const char *path)
{
	char *argv[] = {"mkdir", "-p", "-m", "700", (char *)path, NULL};

	ck_assert_int_eq(jbh_run("/bin/mkdir", argv, RUN_MS, NULL), 0);
}

/* Run the helper with args (NULL-terminated after the fixed ones); its pid. */
static pid_t uring(char *const args[])
{
	char *argv[16] = {"uring"};
	pid_t pid;
	int st, n = 1;

	for (int i = 0; args[i] && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	st = jbh_run(helper, argv, RUN_MS, &pid);
	ck_assert_msg(st != -1, "uring helper hung");
	ck_assert_msg(WIFEXITED(st), "uring helper died: status %d", st);
	ck_assert_msg(WEXITSTATUS(st) == 0, "uring %s failed: exit %d", args[0], WEXITSTATUS(st));
	return pid;
}

static json_t *expect(const char *kind, pid_t pid, const char *path, uint64_t deadline)
{
	struct jbh_match m = {kind, pid, path};
	json_t *ev = jbh_wait_event(&A, jbh_match, &m, deadline);

	ck_assert_msg(ev != NULL, "no %s for pid %d (%s) within three cadences (+1 s); events in %s",
		      kind, (int)pid, path ? path : "-", A.events);
	return ev;
}

/* A detection of pid other than one about the helper's own exec (where the
 * build lives under /tmp, as a CI checkout may, exec_from_unusual_dir
 * rightly reports the exec of the helper itself: not the twin's act). */
static int twin_pred(json_t *ev, void *arg)
{
	pid_t pid = *(pid_t *)arg;
	const char *mech = jbh_jstr(ev, "mechanism"), *path = jbh_jstr(ev, "file.path");

	if (jbh_jint(ev, "process.pid", -1) != pid)
		return 0;
	return !(mech && !strcmp(mech, "execution") && path &&
		 (!strcmp(path, helper) || !strcmp(path, helper_real)));
}

/* nothing was reported for pid but its own exec's place */
static void expect_none(pid_t pid)
{
	ck_assert_msg(jbh_count_events(&A, twin_pred, &pid) == 0,
		      "the benign twin (pid %d) was reported; events in %s", (int)pid, A.events);
}

static void check_file_event(json_t *ev, const char *kind, pid_t pid, uint64_t t, const char *path,
			     const char *action)
{
	jbh_check_event(ev, kind, pid, getpid(), helper_real, t);
	ck_assert_str_eq(jbh_jstr(ev, "file.path"), path);
	ck_assert_msg(jbh_jarr_has(ev, "file.actions", action), "%s: no %s in file.actions",
		      path, action);
	ck_assert_msg(json_is_true(json_object_get(json_object_get(ev, "process"), "io_uring")),
		      "process.io_uring is not true");
}

/* --- opens ---------------------------------------------------------------- */

START_TEST(test_open_write)
{
	char dir[128], keys[160], twin[160], keys2[160], keysf[160], keyss[160], rel[] = "authorized_keys2";
	pid_t tp, p1, p2, p3, p4;
	uint64_t t, dl;
	json_t *ev;

	up();
	snprintf(dir, sizeof(dir), "%s/home/.ssh", D);
	mkdirs(dir);
	snprintf(keys, sizeof(keys), "%s/authorized_keys", dir);
	snprintf(keys2, sizeof(keys2), "%s/authorized_keys2", dir);
	snprintf(twin, sizeof(twin), "%s/known_hosts", dir);
	t = jbh_real_ms();
	dl = jbh_detect_deadline(&A);
	/* benign twin first: a known_hosts in the same .ssh */
	tp = uring((char *[]){"open-write", twin, "127.0.0.1 ssh-ed25519 AAAA\n", NULL});
	p1 = uring((char *[]){"open-write", keys, "# jibril test\n", NULL});
	/* relative to a dirfd */
	p2 = uring((char *[]){"-d", dir, "open-write", rel, "# jibril test\n", NULL});
	ev = expect("ssh_auth_keys_modification", p1, keys, dl);
	check_file_event(ev, "ssh_auth_keys_modification", p1, t, keys, "write");
	ck_assert(jbh_jarr_has(ev, "file.actions", "create"));
	json_decref(ev);
	ev = expect("ssh_auth_keys_modification", p2, keys2, dl);
	check_file_event(ev, "ssh_auth_keys_modification", p2, t, keys2, "write");
	json_decref(ev);

	/* a fixed-file slot, and an SQPOLL ring (a kernel thread of the
	 * helper submits: still the helper's detection) */
	snprintf(keysf, sizeof(keysf), "%s/home/f/.ssh/authorized_keys", D);
	snprintf(keyss, sizeof(keyss), "%s/home/s/.ssh/authorized_keys", D);
	snprintf(dir, sizeof(dir), "%s/home/f/.ssh", D);
	mkdirs(dir);
	snprintf(dir, sizeof(dir), "%s/home/s/.ssh", D);
	mkdirs(dir);
	dl = jbh_detect_deadline(&A);
	p3 = uring((char *[]){"open-fixed-write", keysf, "# jibril test\n", NULL});
	p4 = uring((char *[]){"-s", "open-write", keyss, "# jibril test\n", NULL});
	ev = expect("ssh_auth_keys_modification", p3, keysf, dl);
	check_file_event(ev, "ssh_auth_keys_modification", p3, t, keysf, "create");
	json_decref(ev);
	ev = expect("ssh_auth_keys_modification", p4, keyss, dl);
	check_file_event(ev, "ssh_auth_keys_modification", p4, t, keyss, "write");
	json_decref(ev);
	expect_none(tp);
	down();
}
END_TEST

/* --- rename, unlink ------------------------------------------------------- */

static void make_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	ck_assert_msg(fd >= 0, "create %s: %s", path, strerror(errno));
	ck_assert_int_eq(write(fd, "# x\n", 4), 4);
	close(fd);
}

START_TEST(test_rename_unlink)
{
	char dir[128], tmpk[160], keys[160], a[160], b[160], notes[160], udir[128], ukeys[160];
	pid_t tr, tu, pr, pu;
	uint64_t t, dl;
	struct stat sb;
	json_t *ev;

	up();
	snprintf(dir, sizeof(dir), "%s/r/.ssh", D);
	snprintf(udir, sizeof(udir), "%s/u/.ssh", D);
	mkdirs(dir);
	mkdirs(udir);
	snprintf(tmpk, sizeof(tmpk), "%s/keys.new", dir);
	snprintf(keys, sizeof(keys), "%s/authorized_keys", dir);
	snprintf(a, sizeof(a), "%s/a.tmp", dir);
	snprintf(b, sizeof(b), "%s/b.txt", dir);
	snprintf(notes, sizeof(notes), "%s/notes.txt", udir);
	snprintf(ukeys, sizeof(ukeys), "%s/authorized_keys", udir);
	make_file(tmpk);
	make_file(a);
	make_file(notes);
	make_file(ukeys);
	t = jbh_real_ms();
	dl = jbh_detect_deadline(&A);
	tr = uring((char *[]){"-d", dir, "rename", "a.tmp", "b.txt", NULL});
	tu = uring((char *[]){"unlink", notes, NULL});
	pr = uring((char *[]){"-d", dir, "rename", "keys.new", "authorized_keys", NULL});
	pu = uring((char *[]){"unlink", ukeys, NULL});
	ck_assert_int_eq(stat(keys, &sb), 0);	/* the ring really did them */
	ck_assert_int_eq(stat(ukeys, &sb), -1);
	ev = expect("ssh_auth_keys_modification", pr, keys, dl);
	check_file_event(ev, "ssh_auth_keys_modification", pr, t, keys, "rename");
	json_decref(ev);
	ev = expect("ssh_auth_keys_modification", pu, ukeys, dl);
	check_file_event(ev, "ssh_auth_keys_modification", pu, t, ukeys, "unlink");
	json_decref(ev);
	expect_none(tr);
	expect_none(tu);
	down();
}
END_TEST

/* IORING_OP_LINKAT and IORING_OP_SYMLINKAT naming an authorized_keys: the
 * new name is a LINK action, as for link(2) and symlink(2) */
START_TEST(test_link_symlink)
{
	char dir[128], pub[160], keys[160], keys2[160];
	pid_t tl, pl, ps;
	uint64_t t, dl;
	json_t *ev;

	up();
	snprintf(dir, sizeof(dir), "%s/l/.ssh", D);
	mkdirs(dir);
	snprintf(pub, sizeof(pub), "%s/id.pub", dir);
	snprintf(keys, sizeof(keys), "%s/authorized_keys", dir);
	snprintf(keys2, sizeof(keys2), "%s/authorized_keys2", dir);
	make_file(pub);
	t = jbh_real_ms();
	dl = jbh_detect_deadline(&A);
	tl = uring((char *[]){"-d", dir, "link", "id.pub", "id2.pub", NULL});
	pl = uring((char *[]){"-d", dir, "link", "id.pub", "authorized_keys", NULL});
	ps = uring((char *[]){"-d", dir, "symlink", "id.pub", "authorized_keys2", NULL});
	ev = expect("ssh_auth_keys_modification", pl, keys, dl);
	check_file_event(ev, "ssh_auth_keys_modification", pl, t, keys, "link");
	json_decref(ev);
	ev = expect("ssh_auth_keys_modification", ps, keys2, dl);
	check_file_event(ev, "ssh_auth_keys_modification", ps, t, keys2, "link");
	json_decref(ev);
	expect_none(tl);
	down();
}
END_TEST

/* --- connect -------------------------------------------------------------- */

START_TEST(test_connect)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(4444)};
	pid_t tt, tu, pt, pu;
	uint64_t t, dl;
	json_t *ev;
	int one = 1, lfd;

	up();
	/* a loopback listener on the reverse-shell port if it is free (a
	 * refused connect is the same behaviour otherwise) */
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(lfd, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(lfd, 8) < 0)
		printf("note: 127.0.0.1:4444 is taken (%s): the TCP connect is refused\n",
		       strerror(errno));
	t = jbh_real_ms();
	dl = jbh_detect_deadline(&A);
	tt = uring((char *[]){"connect", "tcp", "127.0.0.1", "4446", NULL});
	tu = uring((char *[]){"connect", "udp", "127.0.0.1", "4446", NULL});
	pt = uring((char *[]){"connect", "tcp", "127.0.0.1", "4444", NULL});
	pu = uring((char *[]){"connect", "udp", "127.0.0.1", "4445", NULL});
	ev = expect("suspicious_port_access", pt, NULL, dl);
	jbh_check_event(ev, "suspicious_port_access", pt, getpid(), helper_real, t);
	ck_assert_int_eq(jbh_jint(ev, "flow.remote.port", 0), 4444);
	ck_assert_str_eq(jbh_jstr(ev, "flow.protocol"), "tcp");
	json_decref(ev);
	ev = expect("suspicious_port_access", pu, NULL, dl);
	jbh_check_event(ev, "suspicious_port_access", pu, getpid(), helper_real, t);
	ck_assert_int_eq(jbh_jint(ev, "flow.remote.port", 0), 4445);
	ck_assert_str_eq(jbh_jstr(ev, "flow.protocol"), "udp");
	json_decref(ev);
	expect_none(tt);
	expect_none(tu);
	close(lfd);
	down();
}
END_TEST

/* --- an io_uring user and a sensitive file --------------------------------- */

START_TEST(test_sensitive_file)
{
	pid_t tp, p;
	uint64_t t, dl;
	json_t *ev;

	up();
	t = jbh_real_ms();
	dl = jbh_detect_deadline(&A);
	tp = uring((char *[]){"open-read", "/etc/hostname", NULL});
	p = uring((char *[]){"open-read", "/etc/shadow", NULL});
	ev = expect("io_uring_sensitive_file_access", p, "/etc/shadow", dl);
	check_file_event(ev, "io_uring_sensitive_file_access", p, t, "/etc/shadow", "read");
	json_decref(ev);
	/* and the ordinary recipe sees the ring's open as it sees open(2) */
	ev = expect("credentials_files_access", p, "/etc/shadow", dl);
	json_decref(ev);
	expect_none(tp);
	down();
}
END_TEST

/* --- the recipe side, without the kernel ----------------------------------- */

/* task_flags sees the flag words; io_uring_sensitive_file_access needs the
 * io_uring mark and one of its files */
START_TEST(test_task_flags_match)
{
	static const char text[] =
		"- kind: t_flags\n  name: t\n  mechanism: file_access\n  importance: low\n"
		"  tactic: x\n  technique: x\n  file_actions: [read]\n  base: f\n"
		"  arbitrary:\n    - how: AND\n      which: pertinent\n      items:\n"
		"        - {what: task_flags, pattern: '^execed io_uring$'}\n";
	struct rcp_source src = {"t.yaml", text, sizeof(text) - 1};
	struct rcp_set set = {0}, builtin = {0};
	static struct jb_task task;
	const struct recipe *r;
	char err[512];
	struct rcp_subject sub = {.task = &task, .path = "/x/f", .actions = JB_ACT_OPEN | JB_ACT_READ};

	ck_assert_msg(rcp_load(&set, &src, 1, NULL, 0, NULL, NULL, err, sizeof(err)) == 0, "%s",
		      err);
	r = rcp_find(&set, "t_flags");
	ck_assert_ptr_nonnull(r);
	task.flags = JB_TASK_EXECED;
	ck_assert_int_eq(rcp_match(r, &sub), 0);
	task.flags = JB_TASK_EXECED | JB_TASK_IO_URING;
	ck_assert_int_eq(rcp_match(r, &sub), 1);
	task.flags = JB_TASK_EXECED | JB_TASK_IO_URING | JB_TASK_EXITED;
	ck_assert_int_eq(rcp_match(r, &sub), 0); /* "exited execed io_uring" */
	rcp_set_free(&set);

	/* the file_access recipes only: the network ones want their list files */
	ck_assert_msg(rcp_load(&builtin, rcp_builtin, rcp_builtin_n, NULL, 1u << RCP_FILE_ACCESS,
			       NULL, NULL, err, sizeof(err)) == 0, "%s", err);
	r = rcp_find(&builtin, "io_uring_sensitive_file_access");
	ck_assert_ptr_nonnull(r);
	sub.path = "/etc/shadow";
	task.flags = JB_TASK_EXECED;
	ck_assert_int_eq(rcp_match(r, &sub), 0);
	task.flags = JB_TASK_EXECED | JB_TASK_IO_URING;
	ck_assert_int_eq(rcp_match(r, &sub), 1);
	sub.path = "/etc/hostname";
	ck_assert_int_eq(rcp_match(r, &sub), 0);
	sub.path = "/srv/git/.ssh/authorized_keys";
	sub.actions = JB_ACT_RENAME;
	ck_assert_int_eq(rcp_match(r, &sub), 1);
	rcp_set_free(&builtin);
}
END_TEST

/* --- suite --------------------------------------------------------------- */

static void sweep(void)
{
	jbh_kill_leftovers();
}

/* io_uring refused here (kernel.io_uring_disabled, a seccomp filter): the
 * suite cannot say anything, and says so */
static int uring_usable(void)
{
	struct io_uring_params p;
	int fd;

	memset(&p, 0, sizeof(p));
	fd = (int)syscall(__NR_io_uring_setup, 2, &p);
	if (fd < 0) {
		printf("SKIP: io_uring_setup: %s (kernel.io_uring_disabled?)\n", strerror(errno));
		return 0;
	}
	close(fd);
	return 1;
}

static void add(Suite *s, const char *name, const TTest *t1)
{
	TCase *tc = tcase_create(name);

	tcase_set_timeout(tc, 90);
	tcase_add_unchecked_fixture(tc, NULL, sweep);
	tcase_add_test(tc, t1);
	suite_add_tcase(s, tc);
}

int main(void)
{
	Suite *s = suite_create("io_uring");
	TCase *tc;
	SRunner *sr;
	int failed;

	jbh_main_init("check_io_uring");
	if (!uring_usable())
		return 77;
	add(s, "task_flags_match", test_task_flags_match);
	/* one agent for the kernel cases (see shared_up); teardowns run in
	 * the reverse order of adding: the reap, then the sweep */
	tc = tcase_create("kernel");
	tcase_set_timeout(tc, 90);
	tcase_add_unchecked_fixture(tc, NULL, sweep);
	tcase_add_unchecked_fixture(tc, shared_up, shared_down);
	tcase_add_test(tc, test_open_write);
	tcase_add_test(tc, test_rename_unlink);
	tcase_add_test(tc, test_link_symlink);
	tcase_add_test(tc, test_connect);
	tcase_add_test(tc, test_sensitive_file);
	tcase_add_test(tc, test_shared_stop);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	jbh_kill_leftovers();
	return failed ? 1 : 0;
}
