/*
 * check_evasion_paths.c - a path-named syscall (rename, unlink) spelt
 * another way must not evade a detection (issue 12): the real agent on the
 * real kernel, real renames and a real self-deleting binary.
 *
 * Each spelling the kernel accepts for a file -- "//", "/./", "..", a
 * 130 x "./" prefix longer than 255 bytes that folds short, a relative
 * "./././" from a cwd -- given to rename, chmod, truncate, link or unlink
 * must give the same detection as the plain spelling, with the canonical path in the event; a path whose canonical
 * form is itself longer than 255 bytes must keep its tail (the base name
 * the recipe matches) and say path_truncated. The benign twins do the same
 * spellings onto a name no recipe watches and must fire nothing. A watched
 * path (root's authorized_keys2, on jb_watch through the recipe's expect)
 * spelt oddly must land in the protected map under its canonical key. A
 * name on a page the caller never touched (unreadable to BPF at entry)
 * must still be seen (read again at exit).
 *
 * Invariants: every act is done by a forked child of its own, so an event
 * is tied to it by pid; the rename or unlink must succeed (the kernel took
 * the spelling); every wait polls with a deadline; the twins' silence is
 * checked after a barrier (a later act whose event proves the agent has
 * judged everything before it).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <check.h>

#include "agent_harness.h"
#include "bpf/jibril.h"

#define READY_MS 60000 /* loading verifies every program: slow on a busy machine */
#define STOP_MS 15000
#define SLACK_MS 8000 /* on top of the cadence deadline: a slow shared machine */
#define SSH_KIND "ssh_auth_keys_modification"
#define SELFDEL_KIND "binary_self_deletion"

static struct jbh_agent A;

/* the event's file.path_truncated: 1 true, 0 false, -1 absent */
static int truncated(json_t *ev)
{
	json_t *t = json_object_get(json_object_get(ev, "file"), "path_truncated");

	return json_is_boolean(t) ? json_is_true(t) : -1;
}

enum op { OP_RENAME, OP_CHMOD, OP_TRUNCATE, OP_LINK };
static const char *const op_name[] = {"rename", "chmod", "truncate", "link"};

/* One path-named call in a child whose cwd is cwd (NULL: ours): rename or
 * link src to dst, chmod or truncate dst. It must succeed; its pid. */
static pid_t do_op(enum op op, const char *cwd, const char *src, const char *dst)
{
	pid_t p = fork();
	int st, rc = -1;

	ck_assert_int_ge(p, 0);
	if (p == 0) {
		if (cwd && chdir(cwd) < 0)
			_exit(100);
		switch (op) {
		case OP_RENAME:
			rc = rename(src, dst);
			break;
		case OP_CHMOD:
			rc = chmod(dst, 0600);
			break;
		case OP_TRUNCATE:
			rc = truncate(dst, 0);
			break;
		case OP_LINK:
			rc = link(src, dst);
			break;
		}
		_exit(rc == 0 ? 0 : 100 + (errno & 63));
	}
	st = jbh_wait_exit(p, 10000);
	ck_assert_msg(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
		      "%s(%s, %.80s...) in %s failed: status 0x%x", op_name[op], src ? src : "-",
		      dst, cwd ? cwd : ".", st);
	return p;
}

static pid_t do_rename(const char *cwd, const char *src, const char *dst)
{
	return do_op(OP_RENAME, cwd, src, dst);
}

static void touch(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	ck_assert_msg(fd >= 0, "create %s: %s", path, strerror(errno));
	ck_assert_int_eq(write(fd, "# jibril test: no key\n", 22), 22);
	close(fd);
}

static void mkdir_ok(const char *path)
{
	ck_assert_msg(mkdir(path, 0700) == 0 || errno == EEXIST, "mkdir %s: %s", path,
		      strerror(errno));
}

static void exists(const char *path)
{
	struct stat sb;

	ck_assert_msg(stat(path, &sb) == 0, "%s is not there after the act", path);
}

/* the detection of kind for pid with exactly that file.path */
static json_t *expect_event(const char *kind, pid_t pid, const char *path)
{
	struct jbh_match m = {.kind = kind, .pid = pid, .path = path};
	json_t *ev = jbh_wait_event(&A, jbh_match, &m, jbh_detect_deadline(&A) + SLACK_MS);

	if (!ev) {
		struct jbh_match any = {.kind = kind, .pid = pid};
		json_t *other = jbh_wait_event(&A, jbh_match, &any, jbh_now_ms());
		ck_assert_msg(0, "no %s for pid %d with file.path %s (one with path %s; events %s)",
			      kind, (int)pid, path,
			      other ? jbh_jstr(other, "file.path") : "(none)", A.events);
	}
	ck_assert_int_eq(truncated(ev), 0);
	return ev;
}

/* an event of any kind in pid: the twins must have none of kind */
static void expect_silent(const char *kind, pid_t pid, const char *what)
{
	struct jbh_match m = {.kind = kind, .pid = pid};
	int n = jbh_count_events(&A, jbh_match, &m);

	ck_assert_msg(n == 0, "benign twin %s (pid %d) fired %s %d times", what, (int)pid, kind, n);
}

/* The barrier: a unique copy of cat reads /etc/shadow; once its event is
 * printed, every act before it went through a snapshot too. */
static void barrier(const char *dir)
{
	char exe[512];
	struct jbh_match m = {.kind = "credentials_files_access"};
	char *argv[] = {exe, "/etc/shadow", NULL};
	json_t *ev;

	snprintf(exe, sizeof(exe), "%s/barrier-cat", dir);
	jbh_copy_file("/usr/bin/cat", exe, 0755);
	ck_assert_int_eq(jbh_run(exe, argv, 10000, &m.pid), 0);
	unlink(exe);
	ev = jbh_wait_event(&A, jbh_match, &m, jbh_detect_deadline(&A) + SLACK_MS);
	ck_assert_msg(ev != NULL, "barrier event never arrived (events %s)", A.events);
	json_decref(ev);
}

static void rm_rf(const char *dir)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

/* A fresh directory named after the runner (our parent), which removes
 * what a failed test left (teardown) */
static void tmpdir(char *dir, size_t n)
{
	snprintf(dir, n, "/tmp/jb-evasion.%d.XXXXXX", (int)getppid());
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

/* A HOME-like directory: DIR/.ssh, DIR/.ssh/sub, DIR/other */
static void make_home(char *dir, size_t n)
{
	char p[600];

	tmpdir(dir, n);
	snprintf(p, sizeof(p), "%s/.ssh", dir);
	mkdir_ok(p);
	snprintf(p, sizeof(p), "%s/.ssh/sub", dir);
	mkdir_ok(p);
	snprintf(p, sizeof(p), "%s/other", dir);
	mkdir_ok(p);
}

/* One spelling, as a trigger (name = authorized_keys2) or as a twin
 * (name = known_hosts): the string handed to rename() and where it is run. */
enum spelling {
	SP_PLAIN,     /* DIR/.ssh/NAME */
	SP_SLASHES,   /* DIR/.ssh//NAME */
	SP_DOTS,      /* ./././NAME from DIR/.ssh */
	SP_LONGDOTS,  /* 130 x "./" NAME from DIR/.ssh (> 255 bytes, folds short) */
	SP_DOTDOT,    /* DIR/other/../.ssh/sub/../NAME */
	SP_MIXED,     /* DIR/.//.ssh///./NAME */
	SP_N
};

static const char *const sp_name[SP_N] = {"plain", "//", "./././ (relative)",
					  "130 x ./ (relative)", "..", "mixed"};

static void spell(enum spelling sp, const char *dir, const char *name, char *dst, size_t n,
		  const char **cwd, char *cwdbuf, size_t cn)
{
	size_t o = 0;

	*cwd = NULL;
	switch (sp) {
	case SP_PLAIN:
		snprintf(dst, n, "%s/.ssh/%s", dir, name);
		break;
	case SP_SLASHES:
		snprintf(dst, n, "%s/.ssh//%s", dir, name);
		break;
	case SP_DOTS:
		snprintf(cwdbuf, cn, "%s/.ssh", dir);
		*cwd = cwdbuf;
		snprintf(dst, n, "./././%s", name);
		break;
	case SP_LONGDOTS:
		snprintf(cwdbuf, cn, "%s/.ssh", dir);
		*cwd = cwdbuf;
		for (int i = 0; i < 130; i++)
			o += (size_t)snprintf(dst + o, n - o, "./");
		snprintf(dst + o, n - o, "%s", name);
		ck_assert_uint_gt(strlen(dst), 255);
		break;
	case SP_DOTDOT:
		snprintf(dst, n, "%s/other/../.ssh/sub/../%s", dir, name);
		break;
	case SP_MIXED:
		snprintf(dst, n, "%s/.//.ssh///./%s", dir, name);
		break;
	case SP_N:
		break;
	}
}

/* The other path-named calls of the recipe (chmod, truncate, link), each
 * with an odd spelling: the file it acts on, in the event, is the
 * canonical one. */
static const struct {
	enum op op;
	enum spelling sp;
	const char *name, *twin_name; /* dst: NAME in DIR/.ssh */
} other_ops[] = {
	{OP_CHMOD, SP_DOTDOT, "authorized_keys2", "known_hosts"},
	{OP_TRUNCATE, SP_SLASHES, "authorized_keys2", "known_hosts"},
	{OP_LINK, SP_DOTS, "authorized_keys", "known_hosts_link"},
};
#define N_OTHER (sizeof(other_ops) / sizeof(other_ops[0]))

/* The agent is shared by the cases after the first (its start, the BPF
 * load, is most of a case's time): started by an unchecked fixture in the
 * runner, which the tests fork from, stopped by the last test
 * (test_shared_stop); the teardown only reaps it. Each case acts in a
 * fresh directory and matches its own pids. ssh_auth_keys_modification
 * allows 10 detections per chain of executables, and every trigger here
 * has the same chain (this test < the runner): the shared cases make 4
 * (long path 2, watched key 1, untouched page 1); the first case makes 9
 * on its own and keeps an agent of its own. */
static void shared_up(void)
{
	const struct jbh_opts o = {.no_fault_hooks = 1};

	jbh_start_ready(&A, &o, READY_MS);
}

static void shared_down(void)
{
	jbh_reap(&A);
}

static void shared(void)
{
	ck_assert_msg(jbh_running(&A), "the shared supervisor is gone (log %s)", A.log);
}

START_TEST(test_shared_stop)
{
	jbh_stop_unparented(&A, STOP_MS);
}
END_TEST

START_TEST(rename_spellings_onto_authorized_keys)
{
	struct jbh_opts o = {.no_fault_hooks = 1};
	char dir[64], src[600], dst[1024], canon[600], cwdbuf[600];
	pid_t twin[SP_N], trig[SP_N], otwin[N_OTHER], otrig[N_OTHER];
	const char *cwd;

	make_home(dir, sizeof(dir));
	jbh_start(&A, &o);
	jbh_wait_all_ready(&A, READY_MS);

	/* twins first: the triggers' events then prove they were judged */
	for (int sp = 0; sp < SP_N; sp++) {
		snprintf(src, sizeof(src), "%s/twin-%d", dir, sp);
		touch(src);
		spell(sp, dir, "known_hosts", dst, sizeof(dst), &cwd, cwdbuf, sizeof(cwdbuf));
		twin[sp] = do_rename(cwd, src, dst);
	}
	snprintf(src, sizeof(src), "%s/link-src", dir);
	touch(src);
	for (size_t k = 0; k < N_OTHER; k++) {
		spell(other_ops[k].sp, dir, other_ops[k].twin_name, dst, sizeof(dst), &cwd, cwdbuf,
		      sizeof(cwdbuf));
		otwin[k] = do_op(other_ops[k].op, cwd, src, dst);
	}
	for (int sp = 0; sp < SP_N; sp++) {
		snprintf(src, sizeof(src), "%s/key-%d", dir, sp);
		touch(src);
		spell(sp, dir, "authorized_keys2", dst, sizeof(dst), &cwd, cwdbuf, sizeof(cwdbuf));
		trig[sp] = do_rename(cwd, src, dst);
	}
	snprintf(src, sizeof(src), "%s/link-src", dir);
	for (size_t k = 0; k < N_OTHER; k++) {
		spell(other_ops[k].sp, dir, other_ops[k].name, dst, sizeof(dst), &cwd, cwdbuf,
		      sizeof(cwdbuf));
		otrig[k] = do_op(other_ops[k].op, cwd, src, dst);
	}
	snprintf(canon, sizeof(canon), "%s/.ssh/authorized_keys2", dir);
	exists(canon);
	for (int sp = 0; sp < SP_N; sp++) {
		json_t *ev = expect_event(SSH_KIND, trig[sp], canon);
		ck_assert_msg(jbh_jarr_has(ev, "file.actions", "rename"),
			      "spelling %s: the event's actions lack rename", sp_name[sp]);
		json_decref(ev);
	}
	for (size_t k = 0; k < N_OTHER; k++) {
		snprintf(canon, sizeof(canon), "%s/.ssh/%s", dir, other_ops[k].name);
		exists(canon);
		json_t *ev = expect_event(SSH_KIND, otrig[k], canon);
		ck_assert_msg(jbh_jarr_has(ev, "file.actions", op_name[other_ops[k].op]),
			      "%s spelt %s: the event's actions lack it", op_name[other_ops[k].op],
			      sp_name[other_ops[k].sp]);
		json_decref(ev);
	}
	barrier(dir);
	for (int sp = 0; sp < SP_N; sp++)
		expect_silent(SSH_KIND, twin[sp], sp_name[sp]);
	for (size_t k = 0; k < N_OTHER; k++)
		expect_silent(SSH_KIND, otwin[k], op_name[other_ops[k].op]);
	jbh_stop(&A, STOP_MS);
	rm_rf(dir);
}
END_TEST

/* A real path longer than 255 bytes (three 90-byte directories under the
 * home): the recorded path is its tail from a "/", the recipe still sees
 * "/.ssh/authorized_keys" at its end, and the event says truncated. The
 * twin: the same depth onto known_hosts. */
START_TEST(long_path_keeps_its_tail)
{
	char dir[64], deep[1024], p[1200], src[600], seg[91];
	pid_t trig, twin, rel;
	json_t *ev;
	const char *path;

	make_home(dir, sizeof(dir));
	memset(seg, 'd', 90);
	seg[90] = 0;
	snprintf(deep, sizeof(deep), "%s", dir);
	for (int i = 0; i < 3; i++) {
		size_t l = strlen(deep);
		snprintf(deep + l, sizeof(deep) - l, "/%d%s", i, seg);
		mkdir_ok(deep);
	}
	snprintf(p, sizeof(p), "%s/.ssh", deep);
	mkdir_ok(p);
	shared();

	snprintf(src, sizeof(src), "%s/twin", dir);
	touch(src);
	snprintf(p, sizeof(p), "%s/.ssh//known_hosts", deep);
	twin = do_rename(NULL, src, p);
	snprintf(src, sizeof(src), "%s/key", dir);
	touch(src);
	snprintf(p, sizeof(p), "%s/./.ssh//authorized_keys", deep);
	ck_assert_uint_gt(strlen(p), 300);
	trig = do_rename(NULL, src, p);
	/* the same file relative to a cwd that is itself deeper than 255 */
	snprintf(src, sizeof(src), "%s/key2", dir);
	touch(src);
	snprintf(p, sizeof(p), "%s/.ssh", deep);
	rel = do_rename(p, src, "./authorized_keys2");

	struct jbh_match m = {.kind = SSH_KIND, .pid = trig};
	ev = jbh_wait_event(&A, jbh_match, &m, jbh_detect_deadline(&A) + SLACK_MS);
	ck_assert_msg(ev != NULL, "no %s for the %zu-byte path (events %s)", SSH_KIND,
		      strlen(deep) + 21, A.events);
	path = jbh_jstr(ev, "file.path");
	ck_assert_ptr_nonnull(path);
	snprintf(p, sizeof(p), "%s/.ssh/authorized_keys", deep);
	ck_assert_msg(path[0] == '/' && strlen(path) <= 255 &&
			      strlen(path) < strlen(p) &&
			      !strcmp(p + strlen(p) - strlen(path), path),
		      "file.path %s is not a tail of %s starting at a /", path, p);
	ck_assert_msg(truncated(ev) == 1, "path_truncated not set");
	json_decref(ev);

	m.pid = rel;
	ev = jbh_wait_event(&A, jbh_match, &m, jbh_detect_deadline(&A) + SLACK_MS);
	ck_assert_msg(ev != NULL, "no %s for the rename relative to a deep cwd (events %s)",
		      SSH_KIND, A.events);
	path = jbh_jstr(ev, "file.path");
	ck_assert_msg(path && strlen(path) > 22 &&
			      !strcmp(path + strlen(path) - 22, "/.ssh/authorized_keys2") &&
			      truncated(ev) == 1,
		      "relative: file.path %s", path ? path : "(none)");
	json_decref(ev);

	barrier(dir);
	expect_silent(SSH_KIND, twin, "long path onto known_hosts");
	rm_rf(dir);
}
END_TEST

/* Root's authorized_keys2 is on jb_watch (the recipe's expect): spelt
 * "/root//.ssh/./authorized_keys2" it must still land in the protected map
 * under the canonical key. Runs only when root has no such file (it is
 * created here and removed). */
START_TEST(watched_key_matches_an_odd_spelling)
{
	const char *canon = "/root/.ssh/authorized_keys2";
	char dir[64], src[600], buf[JB_PATH_LEN] __attribute__((aligned(8)));
	struct jb_meta meta;
	struct jb_file f;
	struct stat sb;
	__u32 zero = 0;
	__u64 key;
	int made_dir = 0, fd;
	pid_t p;
	json_t *ev;

	if (stat("/root", &sb) != 0 || lstat(canon, &sb) == 0) {
		printf("SKIP: %s exists (or no /root): not touching it\n", canon);
		return;
	}
	if (stat("/root/.ssh", &sb) != 0) {
		ck_assert_int_eq(mkdir("/root/.ssh", 0700), 0);
		made_dir = 1;
	}
	make_home(dir, sizeof(dir));
	shared();
	snprintf(src, sizeof(src), "%s/key", dir);
	touch(src);
	p = do_rename(NULL, src, "/root//.ssh/./authorized_keys2");
	ev = expect_event(SSH_KIND, p, canon);
	json_decref(ev);

	fd = jbh_agent_map(&A, "jb_meta");
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bpf_map_lookup_elem(fd, &zero, &meta), 0);
	close(fd);
	memset(buf, 0, sizeof(buf));
	snprintf(buf, sizeof(buf), "%s", canon);
	key = jb_hash_path(meta.seed, buf);
	fd = jbh_agent_map(&A, "jb_watch");
	ck_assert_int_ge(fd, 0);
	__u32 wf;
	ck_assert_msg(bpf_map_lookup_elem(fd, &key, &wf) == 0, "%s is not on jb_watch", canon);
	close(fd);
	fd = jbh_agent_map(&A, "jb_files_hot");
	ck_assert_int_ge(fd, 0);
	ck_assert_msg(bpf_map_lookup_elem(fd, &key, &f) == 0,
		      "no protected record under the canonical key of %s", canon);
	ck_assert_str_eq(f.path, canon);
	close(fd);

	unlink(canon);
	if (made_dir)
		rmdir("/root/.ssh");
	rm_rf(dir);
}
END_TEST

/* rename(src, NAME) where NAME lives on a page of a file mapping the
 * child has never touched: the kernel's nofault read at entry fails, the
 * syscall's own copy faults the page in and renames. The agent reads the
 * string again at exit. Its pid. */
static pid_t rename_from_untouched_page(const char *dir, const char *src, const char *name)
{
	char f[600];
	int fd, st;
	pid_t p;

	snprintf(f, sizeof(f), "%s/name-%d", dir, (int)getpid());
	fd = open(f, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, name, strlen(name) + 1), (ssize_t)strlen(name) + 1);
	p = fork();
	ck_assert_int_ge(p, 0);
	if (p == 0) {
		/* a fresh mapping: no page table entry until something faults */
		char *m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
		if (m == MAP_FAILED)
			_exit(99);
		_exit(rename(src, m) == 0 ? 0 : 100 + (errno & 63));
	}
	st = jbh_wait_exit(p, 10000);
	close(fd);
	unlink(f);
	ck_assert_msg(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
		      "rename(%s, page holding %s) failed: 0x%x", src, name, st);
	return p;
}

/* A name on a page the task has not touched cannot be read at entry (a
 * BPF read cannot fault): it is read at exit, so the rename is still seen,
 * in its canonical spelling. The twin: the same onto known_hosts. */
START_TEST(string_on_an_untouched_page)
{
	char dir[64], src[600], name[700], canon[700];
	pid_t trig, twin;

	make_home(dir, sizeof(dir));
	shared();
	snprintf(src, sizeof(src), "%s/twin", dir);
	touch(src);
	snprintf(name, sizeof(name), "%s/.ssh//known_hosts", dir);
	twin = rename_from_untouched_page(dir, src, name);
	snprintf(src, sizeof(src), "%s/key", dir);
	touch(src);
	snprintf(name, sizeof(name), "%s/.ssh//authorized_keys2", dir);
	trig = rename_from_untouched_page(dir, src, name);
	snprintf(canon, sizeof(canon), "%s/.ssh/authorized_keys2", dir);
	exists(canon);
	json_t *ev = expect_event(SSH_KIND, trig, canon);
	ck_assert(jbh_jarr_has(ev, "file.actions", "rename"));
	json_decref(ev);
	barrier(dir);
	expect_silent(SSH_KIND, twin, "untouched page onto known_hosts");
	rm_rf(dir);
}
END_TEST

/* A copy of perl runs and unlinks its own executable through a spelling
 * ("DIR//selfdel", "DIR/./x/../selfdel", "./selfdel" from DIR), and a perl
 * script executed as "DIR//./NAME" unlinks itself. The twins: the same
 * spellings unlinking another file. */
START_TEST(self_deletion_spellings)
{
	static const char *const what[] = {"DIR/NAME", "DIR//NAME", "DIR/./x/../NAME", "./NAME"};
	const size_t nfmt = sizeof(what) / sizeof(what[0]);
	char dir[64], bin[600], other[600], spelt[700], xdir[600];
	char rdir[64], *rp;
	pid_t trig[4], twin[4];

	tmpdir(dir, sizeof(dir));
	rp = realpath(dir, NULL);
	ck_assert_ptr_nonnull(rp);
	ck_assert_uint_lt(strlen(rp), sizeof(rdir));
	snprintf(rdir, sizeof(rdir), "%s", rp);
	free(rp);
	snprintf(xdir, sizeof(xdir), "%s/x", rdir);
	mkdir_ok(xdir);
	if (access("/usr/bin/perl", X_OK) != 0) {
		rm_rf(dir);
		ck_abort_msg("/usr/bin/perl is needed (the self-deleting binary)");
	}
	shared();

	for (int twin_pass = 1; twin_pass >= 0; twin_pass--)
		for (size_t i = 0; i < nfmt; i++) {
			int st;
			const char *name;
			snprintf(bin, sizeof(bin), "%s/selfdel-%d-%zu", rdir, twin_pass, i);
			snprintf(other, sizeof(other), "selfdel-other-%zu", i);
			jbh_copy_file("/usr/bin/perl", bin, 0755);
			name = twin_pass ? other : strrchr(bin, '/') + 1;
			if (i == 0)
				snprintf(spelt, sizeof(spelt), "%s/%s", rdir, name);
			else if (i == 1)
				snprintf(spelt, sizeof(spelt), "%s//%s", rdir, name);
			else if (i == 2)
				snprintf(spelt, sizeof(spelt), "%s/./x/../%s", rdir, name);
			else /* relative to the cwd */
				snprintf(spelt, sizeof(spelt), "./%s", name);
			if (twin_pass) {
				char o2[700];
				snprintf(o2, sizeof(o2), "%s/%s", rdir, other);
				touch(o2);
			}
			char *argv[] = {bin, "-e", "unlink($ARGV[0]) or die \"unlink: $!\\n\"",
					spelt, NULL};
			struct jbh_io io = {.cwd = rdir, .in = -1, .out = -1, .err = -1};
			pid_t p = jbh_spawn(bin, argv, &io);
			ck_assert_int_gt(p, 0);
			st = jbh_wait_exit(p, 15000);
			ck_assert_msg(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
				      "perl unlink of %s failed: 0x%x", spelt, st);
			if (twin_pass) {
				twin[i] = p;
				unlink(bin);
			} else {
				trig[i] = p;
				ck_assert_msg(access(bin, F_OK) != 0, "%s still exists", bin);
			}
		}
	/* A script that deletes itself, executed as "DIR//./NAME": the
	 * kernel string bprm->filename takes the same folding (the script's
	 * exec link), perl's $0 is that spelling, and its unlink folds to
	 * the same file. The twin's script unlinks another file. */
	pid_t strig = 0, stwin = 0;
	for (int twin_pass = 1; twin_pass >= 0; twin_pass--) {
		char script[600], body[700];
		int st, fd;

		snprintf(script, sizeof(script), "%s/selfdel-%d.pl", rdir, twin_pass);
		snprintf(other, sizeof(other), "%s/script-other", rdir);
		if (twin_pass)
			touch(other);
		snprintf(body, sizeof(body), "#!/usr/bin/perl\nunlink(%s) or die \"unlink: $!\\n\";\n",
			 twin_pass ? "'script-other'" : "$0");
		fd = open(script, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(write(fd, body, strlen(body)), (ssize_t)strlen(body));
		close(fd);
		snprintf(spelt, sizeof(spelt), "%s//./selfdel-%d.pl", rdir, twin_pass);
		char *argv[] = {spelt, NULL};
		struct jbh_io io = {.cwd = rdir, .in = -1, .out = -1, .err = -1};
		pid_t p = jbh_spawn(spelt, argv, &io);
		ck_assert_int_gt(p, 0);
		st = jbh_wait_exit(p, 15000);
		ck_assert_msg(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
			      "script %s failed: 0x%x", spelt, st);
		if (twin_pass) {
			stwin = p;
			unlink(script);
		} else {
			strig = p;
			ck_assert_msg(access(script, F_OK) != 0, "%s still exists", script);
		}
	}

	for (size_t i = 0; i < nfmt; i++) {
		snprintf(bin, sizeof(bin), "%s/selfdel-0-%zu", rdir, i);
		json_t *ev = expect_event(SELFDEL_KIND, trig[i], bin);
		ck_assert(jbh_jarr_has(ev, "file.actions", "unlink"));
		json_decref(ev);
	}
	snprintf(bin, sizeof(bin), "%s/selfdel-0.pl", rdir);
	json_t *sev = expect_event(SELFDEL_KIND, strig, bin);
	ck_assert(jbh_jarr_has(sev, "file.actions", "unlink"));
	ck_assert(jbh_jarr_has(sev, "file.actions", "execve"));
	json_decref(sev);
	barrier(rdir);
	for (size_t i = 0; i < nfmt; i++)
		expect_silent(SELFDEL_KIND, twin[i], what[i]);
	expect_silent(SELFDEL_KIND, stwin, "a script unlinking another file");
	rm_rf(dir);
}
END_TEST

/* What watched_key_matches_an_odd_spelling may create in /root, noted by
 * the runner before any test: a test that fails half-way (its process
 * exits at the assertion) leaves them, and the runner removes them. */
static int had_root_ssh, had_root_keys2;

static void setup(void)
{
	struct stat sb;

	had_root_ssh = stat("/root/.ssh", &sb) == 0;
	had_root_keys2 = lstat("/root/.ssh/authorized_keys2", &sb) == 0;
}

static void teardown(void)
{
	jbh_kill_leftovers();
	if (!had_root_keys2)
		unlink("/root/.ssh/authorized_keys2");
	if (!had_root_ssh)
		rmdir("/root/.ssh");
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf /tmp/jb-evasion.%d.*", (int)getpid());
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove /tmp/jb-evasion.%d.*\n", (int)getpid());
}

int main(void)
{
	Suite *s = suite_create("evasion_paths");
	TCase *tc = tcase_create("spellings");
	SRunner *sr;
	int failed;

	jbh_main_init("check_evasion_paths");
	tcase_set_timeout(tc, 400);
	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_add_test(tc, rename_spellings_onto_authorized_keys);
	suite_add_tcase(s, tc);
	/* one agent (see shared_up); teardowns run in the reverse order of
	 * adding: the reap, then the clean-up */
	tc = tcase_create("spellings_shared");
	tcase_set_timeout(tc, 400);
	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_add_unchecked_fixture(tc, shared_up, shared_down);
	tcase_add_test(tc, long_path_keeps_its_tail);
	tcase_add_test(tc, watched_key_matches_an_odd_spelling);
	tcase_add_test(tc, string_on_an_untouched_page);
	tcase_add_test(tc, self_deletion_spellings);
	tcase_add_test(tc, test_shared_stop);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
