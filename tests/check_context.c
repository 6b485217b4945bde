/*
 * check_context.c - every detection says where it happened: the cgroup v2
 * path of the process and the systemd unit, container and Kubernetes pod
 * the path names (bpf fill_identity -> jb_task.cgroup_id; back-fill;
 * supervisor/cgctx.c -> the snapshot's cgroup section; workers/cgpath.c ->
 * process.cgroup/unit/container_id/pod_uid).
 *
 * Invariants checked:
 *  - the parser (no root): systemd units, docker, containerd, cri-o and
 *    podman ids (systemd and cgroupfs drivers), pod uids (systemd slices
 *    with '_', cgroupfs directories, static pods' 32-digit hashes) in the
 *    shapes real hosts make; nested containers give the innermost; ids of
 *    the wrong length or alphabet, uids of the wrong shape, invalid unit
 *    names and malformed paths give nothing; a cut path never uses its
 *    last name.
 *  - the snapshot's cgroup section (no root): what the writer adds the
 *    reader finds by id, a path too long is cut and flagged, the section
 *    holds at most cap_tasks and never id 0.
 *  - the event builder (no root): process and parent carry cgroup, unit,
 *    container_id and pod_uid (null each when the id has no path or the
 *    path names none), in that order after args_truncated; a cut path is
 *    shown but its cut last name names no container.
 *  - the resolver (root, real cgroups on the cgroup2 mount): an id of a
 *    cgroup made by the test resolves to its path with one walk; a known
 *    id costs no walk; an id of a removed cgroup is unresolved and costs
 *    no second walk; a cgroup made after a walk is found by the next
 *    cadence's; a live process names its new cgroup through /proc without
 *    a walk, and a pid that is not in that cgroup cannot name it; the id
 *    back-fill computes from a path is the walk's.
 *  - the real agent (root): a process moved into a docker-shaped, a
 *    kubepods-shaped (systemd and cgroupfs drivers) or a unit-shaped
 *    cgroup before it acts carries that path, container id, pod uid and
 *    unit; its parent (this test) carries its own cgroup and no container;
 *    a process that was already in a container-shaped cgroup when the
 *    agent started (a back-filled record, checked in jb_tasks) carries it
 *    too, and so does one forked while the agent ran and moved there
 *    without an exec (the cgroup_attach_task hook).
 * The cgroups are made under the cgroup2 mount with names that hold this
 * run's pid and are removed at the end of each test (and by the runner's
 * teardown after a failure); top-level directories the test made are
 * removed when empty.
 * Not root: the agent and resolver cases print "SKIP:" and exit 77.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "agent_harness.h"
#include "bpf/jibril.h"
#include "common/cgroup2.h"
#include "ipc/snapshot.h"
#include "supervisor/cgctx.h"
#include "rcp/recipe.h"
#include "workers/cgpath.h"
#include "workers/detect.h"

#define READY_MS 60000 /* BPF verification is slow on a loaded 2-core machine */
#define STOP_MS 5000
#define RUN_MS 5000

static struct jbh_agent A;
static pid_t run_pid;	/* the runner's pid: in every name the test makes */
static char cgroot[64]; /* the cgroup2 mount, "" when there is none */
/* top-level directories the shapes need, and whether they existed at start */
static const char *const tops[] = {"system.slice", "kubepods.slice", "kubepods"};
static int top_existed[3];

/* --- names ------------------------------------------------------------- */

/* a 64-hex container id that holds the run's pid and a variant digit */
static void cid(char out[65], int variant)
{
	snprintf(out, 65, "%08x%056x", (unsigned)run_pid, (unsigned)(0xc0de0 + variant));
}

/* a pod uid (8-4-4-4-12) that holds the run's pid */
static void puid(char out[37], char dash)
{
	snprintf(out, 37, "%08x%c1111%c2222%c3333%c%012x", (unsigned)run_pid, dash, dash, dash,
		 dash, 0xabcdefu);
}

/* every cgroup the agent cases may make, deepest first within each shape */
static int shape_paths(char paths[][PATH_MAX], int max)
{
	char h0[65], h1[65], h2[65], h3[65], u[37], u_[37];
	int n = 0;

	cid(h0, 0);
	cid(h1, 1);
	cid(h2, 2);
	cid(h3, 3);
	puid(u, '-');
	puid(u_, '_');
#define P(...) if (n < max) snprintf(paths[n++], PATH_MAX, __VA_ARGS__)
	P("/system.slice/docker-%s.scope", h0);
	P("/system.slice/docker-%s.scope", h3);
	cid(h3, 4);
	P("/system.slice/docker-%s.scope", h3);
	P("/system.slice/jbtest-%d.service", (int)run_pid);
	P("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod%s.slice/"
	  "cri-containerd-%s.scope", u_, h1);
	P("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod%s.slice", u_);
	P("/kubepods.slice/kubepods-burstable.slice");
	P("/kubepods/besteffort/pod%s/%s", u, h2);
	P("/kubepods/besteffort/pod%s", u);
	P("/kubepods/besteffort");
	P("/jbtest-ctx-%d/a.slice/b.service", (int)run_pid);
	P("/jbtest-ctx-%d/a.slice/gone", (int)run_pid);
	P("/jbtest-ctx-%d/a.slice/late", (int)run_pid);
	P("/jbtest-ctx-%d/a.slice/live", (int)run_pid);
	P("/jbtest-ctx-%d/a.slice", (int)run_pid);
	P("/jbtest-ctx-%d", (int)run_pid);
#undef P
	return n;
}

/* rmdir root+rel; a cgroup whose last process was just reaped may still
 * be busy for a moment: retried until the deadline. 0, or -1 (errno). */
static int rm_cg(const char *rel, unsigned timeout_ms)
{
	char p[PATH_MAX];
	uint64_t dl = jbh_now_ms() + timeout_ms;

	snprintf(p, sizeof(p), "%s%s", cgroot, rel);
	for (;;) {
		if (rmdir(p) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY || jbh_now_ms() > dl)
			return -1;
		jbh_sleep_ms(20);
	}
}

static void remove_all(void)
{
	static char paths[32][PATH_MAX];
	int n;

	if (!cgroot[0] || geteuid() != 0)
		return;
	n = shape_paths(paths, 32);
	for (int i = 0; i < n; i++)
		if (rm_cg(paths[i], 3000) < 0)
			fprintf(stderr, "check_context: cannot remove cgroup %s%s: %s\n", cgroot,
				paths[i], strerror(errno));
	for (size_t i = 0; i < sizeof(tops) / sizeof(tops[0]); i++) {
		char rel[64];

		snprintf(rel, sizeof(rel), "/%s", tops[i]);
		if (!top_existed[i])
			(void)rm_cg(rel, 0); /* fails (ENOTEMPTY) when someone else uses it */
	}
}

/* mkdir -p root+rel; every level made here is in shape_paths() */
static void mk_cg(const char *rel)
{
	char p[PATH_MAX];
	size_t base = strlen(cgroot);

	ck_assert_msg(cgroot[0], "no cgroup2 mount");
	snprintf(p, sizeof(p), "%s%s", cgroot, rel);
	for (char *s = p + base + 1;; s++) {
		if (*s == '/' || !*s) {
			char c = *s;
			*s = '\0';
			ck_assert_msg(mkdir(p, 0755) == 0 || errno == EEXIST, "mkdir %s: %s", p,
				      strerror(errno));
			*s = c;
			if (!c)
				break;
		}
	}
}

static uint64_t ino_of(const char *rel)
{
	char p[PATH_MAX];
	struct stat sb;

	snprintf(p, sizeof(p), "%s%s", cgroot, rel);
	ck_assert_msg(stat(p, &sb) == 0, "stat %s: %s", p, strerror(errno));
	return (uint64_t)sb.st_ino;
}

/* the "0::" path of /proc/PID/cgroup */
static void cg_of(pid_t pid, char *out, size_t len)
{
	char p[64], *text;
	size_t n;

	snprintf(p, sizeof(p), "/proc/%d/cgroup", (int)pid);
	text = jbh_slurp(p, &n);
	ck_assert_msg(text != NULL, "cannot read %s", p);
	ck_assert_msg(sup_cgroup_v2_line(text, n, out, len) == 0, "no 0:: line in %s: %s", p, text);
	free(text);
}

static void move_to(const char *rel, pid_t pid)
{
	char p[PATH_MAX], now[PATH_MAX];
	FILE *f;

	snprintf(p, sizeof(p), "%s%s/cgroup.procs", cgroot, rel);
	f = fopen(p, "w");
	ck_assert_msg(f != NULL, "open %s: %s", p, strerror(errno));
	fprintf(f, "%d\n", (int)pid);
	ck_assert_msg(fclose(f) == 0, "moving %d into %s: %s", (int)pid, rel, strerror(errno));
	cg_of(pid, now, sizeof(now));
	ck_assert_str_eq(now, rel);
}

/* Fork a child that waits until it is in cgroup rel, then execs argv
 * (stdio /dev/null). */
static pid_t spawn_in(const char *rel, char *const argv[])
{
	int p[2];
	pid_t pid;

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char c;
		int fd = open("/dev/null", O_RDWR);

		close(p[1]);
		if (read(p[0], &c, 1) != 1)
			_exit(120);
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	close(p[0]);
	move_to(rel, pid);
	ck_assert_int_eq(write(p[1], "x", 1), 1);
	close(p[1]);
	return pid;
}

static const char *real(const char *path)
{
	static char buf[PATH_MAX];

	ck_assert_msg(realpath(path, buf) != NULL, "realpath %s: %s", path, strerror(errno));
	return buf;
}

/* The agent cases share one agent (its start, the BPF load, is most of a
 * case's time): started by an unchecked fixture in the runner, which the
 * tests fork from, stopped by the TCase's last test (test_shared_stop);
 * the teardown reaps it. Each case acts in cgroups of its own and matches
 * its own pids. agent_backfill's process must be in its cgroup before the
 * agent starts: the fixture makes it first (bf_*), and the test tells it
 * when to act. The credentials_files_access recipe allows 5 detections per
 * chain of executables: the cat of every case has the same chain (cat <
 * this test < the runner), and the cases run 4 of them (docker 1,
 * kubepods 2, unit 1; the children of migrate and backfill do not exec and
 * have chains of their own). A case added here with more cats needs an
 * agent of its own. */
static pid_t bf_pid = -1; /* the runner's child, in its cgroup before the agent started */
static int bf_go = -1;	  /* a byte: act; another (or EOF): exit */
static int bf_res = -1;	  /* its answer: one byte, 0 when it read /etc/shadow */

static void backfill_child(int go, int res)
{
	char c, r = 0;
	int f;

	if (read(go, &c, 1) != 1)
		_exit(120);
	f = open("/etc/shadow", O_RDONLY);
	if (f < 0 || read(f, &c, 1) != 1)
		r = 121;
	if (f >= 0)
		close(f);
	if (write(res, &r, 1) != 1)
		_exit(122);
	(void)!read(go, &c, 1); /* alive until the test has read its record */
	_exit(0);
}

static void shared_up(void)
{
	char h[65], rel[128];
	int go[2], res[2];

	cid(h, 3);
	snprintf(rel, sizeof(rel), "/system.slice/docker-%s.scope", h);
	mk_cg(rel);
	ck_assert_int_eq(pipe2(go, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(res, O_CLOEXEC), 0);
	bf_pid = fork();
	ck_assert_int_ge(bf_pid, 0);
	if (bf_pid == 0) {
		close(go[1]);
		close(res[0]);
		backfill_child(go[0], res[1]);
	}
	close(go[0]);
	close(res[1]);
	bf_go = go[1];
	bf_res = res[0];
	move_to(rel, bf_pid);
	jbh_start_ready(&A, NULL, READY_MS);
}

static void shared_down(void)
{
	jbh_reap(&A);
	if (bf_pid > 0) {
		close(bf_go);
		close(bf_res);
		if (jbh_wait_exit(bf_pid, RUN_MS) < 0)
			fprintf(stderr, "check_context: the back-fill child %d hung: killed\n",
				(int)bf_pid);
		bf_pid = -1;
	}
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

static json_t *expect(const char *kind, pid_t pid, uint64_t deadline)
{
	struct jbh_match m = {kind, pid, NULL};
	json_t *ev = jbh_wait_event(&A, jbh_match, &m, deadline);

	ck_assert_msg(ev != NULL, "no %s for pid %d in time; events in %s", kind, (int)pid,
		      A.events);
	return ev;
}

/* dotted is a string equal to want, or null when want is NULL */
static void expect_str(json_t *ev, const char *dotted, const char *want)
{
	char *dump = json_dumps(ev, JSON_COMPACT);
	const char *got = jbh_jstr(ev, dotted);

	if (want) {
		ck_assert_msg(got && !strcmp(got, want), "%s is %s, not %s: %s", dotted,
			      got ? got : "(not a string)", want, dump);
	} else {
		/* present and null: the field is always there */
		char parent[64];
		const char *dot = strrchr(dotted, '.');
		json_t *o;

		if (dot) {
			snprintf(parent, sizeof(parent), "%.*s", (int)(dot - dotted), dotted);
			o = json_object_get(ev, parent);
		} else {
			o = ev;
		}
		ck_assert_msg(o && json_is_null(json_object_get(o, dot ? dot + 1 : dotted)),
			      "%s is not null: %s", dotted, dump);
	}
	free(dump);
}

/* --- the parser -------------------------------------------------------- */

#define H "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define HU "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"
#define H2 "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
#define U "1b4e28ba-2fa1-11d2-883f-0016d3cca427"
#define U_ "1b4e28ba_2fa1_11d2_883f_0016d3cca427"
#define S32 "6d3b9f1c0a1e3e7d8f9a0b1c2d3e4f50"

static const struct shape {
	const char *path;
	int cut, rc;
	const char *unit, *container, *pod, *runtime;
} shapes[] = {
	/* systemd units */
	{"/", 0, 0, "", "", "", NULL},
	{"/init.scope", 0, 0, "init.scope", "", "", NULL},
	{"/system.slice/nginx.service", 0, 0, "nginx.service", "", "", NULL},
	{"/system.slice/system-getty.slice/getty@tty1.service", 0, 0, "getty@tty1.service", "", "", NULL},
	{"/user.slice/user-1000.slice/session-2.scope", 0, 0, "session-2.scope", "", "", NULL},
	{"/user.slice/user-1000.slice/user@1000.service/app.slice/foo.service", 0, 0,
	 "user@1000.service", "", "", NULL},
	{"/system.slice/kubelet.service", 0, 0, "kubelet.service", "", "", NULL},
	{"/system.slice/nginx.service/worker", 0, 0, "nginx.service", "", "", NULL},
	{"/system.slice", 0, 0, "", "", "", NULL},
	{"/system.slice/cron.socket", 0, 0, "", "", "", NULL},
	{"/machine.slice/systemd-nspawn@web.service/payload", 0, 0, "systemd-nspawn@web.service",
	 "", "", NULL},
	/* docker */
	{"/system.slice/docker-" H ".scope", 0, 0, "docker-" H ".scope", H, "", "docker"},
	{"/system.slice/docker-" HU ".scope", 0, 0, "docker-" HU ".scope", H, "", "docker"},
	{"/docker/" H, 0, 0, "", H, "", "docker"},
	{"/docker/" H "/docker/" H2, 0, 0, "", H2, "", "docker"},
	{"/system.slice/docker-" H ".scope/system.slice/nginx.service", 0, 0, "docker-" H ".scope",
	 H, "", "docker"},
	{"/system.slice/docker-" H ".scope/init", 0, 0, "docker-" H ".scope", H, "", "docker"},
	/* containerd / cri-o under kubelet, systemd driver */
	{"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" U_ ".slice/cri-containerd-" H
	 ".scope", 0, 0, "cri-containerd-" H ".scope", H, U, "containerd"},
	{"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" U_ ".slice/crio-" H
	 ".scope", 0, 0, "crio-" H ".scope", H, U, "cri-o"},
	{"/kubepods.slice/kubepods-pod" U_ ".slice/crio-" H ".scope", 0, 0, "crio-" H ".scope", H, U,
	 "cri-o"},
	{"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" U_ ".slice/crio-conmon-" H
	 ".scope", 0, 0, "crio-conmon-" H ".scope", "", U, NULL},
	{"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" U_ ".slice", 0, 0, "", "",
	 U, NULL},
	{"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" S32
	 ".slice/cri-containerd-" H ".scope", 0, 0, "cri-containerd-" H ".scope", H, S32, "containerd"},
	/* kubelet's cgroupfs driver (k3s, older clusters) */
	{"/kubepods/besteffort/pod" U "/" H, 0, 0, "", H, U, "kubernetes"},
	{"/kubepods/pod" U "/" H, 0, 0, "", H, U, "kubernetes"},
	{"/kubepods/burstable/pod" U "/crio-" H, 0, 0, "", H, U, "cri-o"},
	{"/kubepods/burstable/pod" U, 0, 0, "", "", U, NULL},
	/* podman */
	{"/machine.slice/libpod-" H ".scope/container", 0, 0, "libpod-" H ".scope", H, "", "podman"},
	{"/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" H ".scope/container", 0, 0,
	 "user@1000.service", H, "", "podman"},
	{"/machine.slice/libpod-conmon-" H ".scope", 0, 0, "libpod-conmon-" H ".scope", "", "", NULL},
	/* look-alikes: wrong length, alphabet or place */
	{"/system.slice/docker-" "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde"
	 ".scope", 0, 0, "docker-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde.scope",
	 "", "", NULL},
	{"/system.slice/docker-" H "0.scope", 0, 0, "docker-" H "0.scope", "", "", NULL},
	{"/system.slice/docker-" "g123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	 ".scope", 0, 0, "docker-g123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.scope",
	 "", "", NULL},
	{"/docker/" H "x", 0, 0, "", "", "", NULL},
	{"/srv/" H, 0, 0, "", "", "", NULL},
	{"/system.slice/pod" U, 0, 0, "", "", "", NULL},
	{"/kubepods/besteffort/pod1b4e28ba2fa1-11d2-883f-0016d3cca4271", 0, 0, "", "", "", NULL},
	{"/kubepods.slice/kubepods-burstable-pod" U ".slice", 0, 0, "", "", "", NULL},
	{"/kubepods.slice/kubepods-burstable-pod" U_ "0.slice", 0, 0, "", "", "", NULL},
	{"/system.slice/bad name.service", 0, 0, "", "", "", NULL},
	{"/system.slice/@x.service", 0, 0, "", "", "", NULL},
	{"/system.slice/a@b@c.service", 0, 0, "", "", "", NULL},
	{"/system.slice/.service", 0, 0, "", "", "", NULL},
	{"/system.slice/caf\xc3\xa9.service", 0, 0, "", "", "", NULL},
	/* cut: the last name is not used */
	{"/system.slice/docker-" H ".scope", 1, 0, "", "", "", NULL},
	{"/system.slice/docker-" H ".scope/su", 1, 0, "docker-" H ".scope", H, "", "docker"},
	{"/system.slice/docker-" H ".sc", 1, 0, "", "", "", NULL},
	{"/kubepods/besteffort/pod" U "/" H, 1, 0, "", "", U, NULL},
	{"/", 1, 0, "", "", "", NULL},
	{"/a", 1, 0, "", "", "", NULL},
	/* malformed */
	{"", 0, -1, "", "", "", NULL},
	{"system.slice/x.service", 0, -1, "", "", "", NULL},
	{"//x.service", 0, -1, "", "", "", NULL},
	{"/system.slice//docker-" H ".scope", 0, -1, "", "", "", NULL},
	{"/system.slice/docker-" H ".scope/", 0, -1, "", "", "", NULL},
	{"/system.slice/../docker-" H ".scope", 0, -1, "", "", "", NULL},
	{"/./init.scope", 0, -1, "", "", "", NULL},
	{"/..", 0, -1, "", "", "", NULL},
};

START_TEST(parser_shapes)
{
	const struct shape *t = &shapes[_i];
	struct jb_cgctx cx;
	int rc = jb_cgpath_parse(t->path, strlen(t->path), t->cut, &cx);

	ck_assert_msg(rc == t->rc, "%s (cut %d): returned %d", t->path, t->cut, rc);
	ck_assert_msg(!strcmp(cx.unit, t->unit), "%s: unit '%s', not '%s'", t->path, cx.unit,
		      t->unit);
	ck_assert_msg(!strcmp(cx.container_id, t->container), "%s: container '%s', not '%s'",
		      t->path, cx.container_id, t->container);
	ck_assert_msg(!strcmp(cx.pod_uid, t->pod), "%s: pod '%s', not '%s'", t->path, cx.pod_uid,
		      t->pod);
	ck_assert_msg((!cx.runtime && !t->runtime) ||
			      (cx.runtime && t->runtime && !strcmp(cx.runtime, t->runtime)),
		      "%s: runtime %s, not %s", t->path, cx.runtime ? cx.runtime : "NULL",
		      t->runtime ? t->runtime : "NULL");
}
END_TEST

START_TEST(parser_bytes)
{
	struct jb_cgctx cx;
	static const char nul[] = "/system.slice/x.service\0/docker/" H;
	char big[1200];
	size_t n;

	/* a NUL inside the length: malformed, even if the rest looks good */
	ck_assert_int_eq(jb_cgpath_parse(nul, sizeof(nul) - 1, 0, &cx), -1);
	ck_assert_str_eq(cx.unit, "");
	ck_assert_str_eq(cx.container_id, "");
	/* only len bytes are read: a prefix of a longer buffer */
	ck_assert_int_eq(jb_cgpath_parse("/init.scopeXYZ", 11, 0, &cx), 0);
	ck_assert_str_eq(cx.unit, "init.scope");
	ck_assert_int_eq(jb_cgpath_parse(NULL, 0, 0, &cx), -1);
	/* a unit name of 256 bytes is not one (systemd's limit is 255) */
	n = (size_t)snprintf(big, sizeof(big), "/system.slice/");
	memset(big + n, 'a', 256 - 8);
	memcpy(big + n + 256 - 8, ".service", 9);
	ck_assert_int_eq(jb_cgpath_parse(big, strlen(big), 0, &cx), 0);
	ck_assert_str_eq(cx.unit, "");
	/* 255 is */
	memmove(big + n + 1, big + n + 2, strlen(big + n + 2) + 1);
	ck_assert_int_eq(jb_cgpath_parse(big, strlen(big), 0, &cx), 0);
	ck_assert_uint_eq(strlen(cx.unit), 255);
	/* a thousand levels: one pass, the innermost container */
	n = 0;
	for (int i = 0; i < 100; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "/a.slice");
	n += (size_t)snprintf(big + n, sizeof(big) - n, "/docker/" H);
	ck_assert_int_eq(jb_cgpath_parse(big, n, 0, &cx), 0);
	ck_assert_str_eq(cx.container_id, H);
}
END_TEST

/* --- the snapshot's cgroup section -------------------------------------- */

START_TEST(snapshot_section)
{
	struct jb_snap_region r;
	struct jb_snap_slot_hdr *h;
	struct jb_task *tasks;
	struct jb_snap_link *links;
	struct jb_flow *flows;
	const struct jb_snap_region_hdr *ro;
	struct jb_snap_view v;
	const struct jb_snap_cgroup *c;
	char longp[JB_CGROUP_PATH_LEN + 100];
	size_t size;
	char err[128];

	ck_assert_int_eq(jb_snap_create(&r, 2, 4, 1, 1, 1), 0);
	memset(longp, 'x', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	h = jb_snap_begin(&r, 1, 7, &tasks, &links, &flows);
	ck_assert_int_eq(jb_snap_add_cgroup(&r, h, 0, "/zero"), -1);
	ck_assert_int_eq(jb_snap_add_cgroup(&r, h, 900, "/system.slice/docker-" H ".scope"), 0);
	ck_assert_int_eq(jb_snap_add_cgroup(&r, h, 5, "/"), 0);
	ck_assert_int_eq(jb_snap_add_cgroup(&r, h, 77, longp), 0);
	ck_assert_int_eq(jb_snap_add_cgroup(&r, h, 78, "/d"), 0);
	ck_assert_int_eq(jb_snap_add_cgroup(&r, h, 79, "/e"), -1); /* cap_tasks = 4 */
	jb_snap_publish(h, 0, 0, 0);

	ro = jb_snap_map_ro(r.fd, &size, err, sizeof(err));
	ck_assert_msg(ro != NULL, "%s", err);
	ck_assert_int_eq(jb_snap_view(ro, size, 1, 7, &v), 0);
	ck_assert_uint_eq(v.ncgroups, 4);
	c = jb_snap_cgroup(&v, 900);
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(c->path, "/system.slice/docker-" H ".scope");
	ck_assert_uint_eq(c->flags, 0);
	c = jb_snap_cgroup(&v, 5);
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(c->path, "/");
	c = jb_snap_cgroup(&v, 77);
	ck_assert_ptr_nonnull(c);
	ck_assert_uint_eq(c->path_len, JB_CGROUP_PATH_LEN - 1);
	ck_assert_uint_eq(c->flags, JB_SNAP_CGROUP_CUT);
	ck_assert_int_eq(memcmp(c->path, longp, JB_CGROUP_PATH_LEN - 1), 0);
	ck_assert_ptr_null(jb_snap_cgroup(&v, 79));
	ck_assert_ptr_null(jb_snap_cgroup(&v, 0));
	ck_assert_ptr_null(jb_snap_cgroup(&v, 1));
	/* the other slot holds nothing */
	h = jb_snap_begin(&r, 0, 8, &tasks, &links, &flows);
	jb_snap_publish(h, 0, 0, 0);
	ck_assert_int_eq(jb_snap_view(ro, size, 0, 8, &v), 0);
	ck_assert_uint_eq(v.ncgroups, 0);
	ck_assert_ptr_null(jb_snap_cgroup(&v, 900));
	munmap((void *)ro, size);
	jb_snap_destroy(&r);
}
END_TEST

/* --- the event builder -------------------------------------------------- */

static void set_task(struct jb_task *t, uint64_t key, uint64_t parent, uint32_t pid,
		     uint64_t cgroup_id)
{
	memset(t, 0, sizeof(*t));
	t->key = key;
	t->parent_key = parent;
	t->tgid = pid;
	t->ppid = pid - 1;
	t->start_ticks = 100;
	t->cgroup_id = cgroup_id;
	snprintf(t->comm, sizeof(t->comm), "cat");
	snprintf(t->exe, sizeof(t->exe), "/usr/bin/cat");
	t->args_len = (uint32_t)snprintf(t->args, sizeof(t->args), "cat") + 1;
}

/* A snapshot of three tasks (child in a pod's container, its parent in a
 * cgroup no walk could name, the grandparent in a cgroup whose path was
 * cut) and the event of the child and of the grandchild... built by the
 * worker's own builder and parsed back. */
START_TEST(event_fields)
{
	static const struct wrk_event_ctx ctx = {.hostname = "h", .boot_id = "b"};
	char cut[JB_CGROUP_PATH_LEN + 80];
	struct jb_snap_region r;
	struct jb_snap_slot_hdr *h;
	struct jb_task *tasks;
	struct jb_snap_link *links;
	struct jb_flow *flows;
	struct jb_snap_view v;
	const struct recipe *rc = jbh_recipe("credentials_files_access");
	struct rcp_subject sub = {0};
	json_error_t jerr;
	json_t *ev;
	char *out;
	const char *pa, *pc, *pe;

	ck_assert_ptr_nonnull(rc);
	ck_assert_int_eq(jb_snap_create(&r, 1, 4, 1, 1, 1), 0);
	h = jb_snap_begin(&r, 0, 1, &tasks, &links, &flows);
	set_task(&tasks[0], 30, 20, 300, 7001);
	set_task(&tasks[1], 20, 10, 200, 7002); /* no path in the section */
	set_task(&tasks[2], 10, 0, 100, 7003);
	ck_assert_int_eq(jb_snap_add_cgroup(&r, h, 7001,
					    "/kubepods.slice/kubepods-besteffort.slice/"
					    "kubepods-besteffort-pod" U_ ".slice/crio-" H ".scope"),
			 0);
	/* a path cut right after 64 hex digits of a longer name ("/docker/"
	 * H "extra"): whole, that name is no container; cut, it would look
	 * like one, so the last name of a cut path is not used */
	memset(cut, 'x', sizeof(cut) - 1);
	cut[sizeof(cut) - 1] = '\0';
	memcpy(cut, "/system.slice/", 14);
	memcpy(cut + JB_CGROUP_PATH_LEN - 1 - 64 - 8, "/docker/" H "extra", 8 + 64 + 5);
	ck_assert_int_eq(jb_snap_add_cgroup(&r, h, 7003, cut), 0);
	jb_snap_publish(h, 3, 0, 0);
	ck_assert_int_eq(jb_snap_view(r.hdr, r.size, 0, 1, &v), 0);

	sub.v = &v;
	sub.task = jb_snap_task(&v, 30);
	sub.path = "/etc/shadow";
	sub.actions = JB_ACT_OPEN | JB_ACT_READ;
	out = wrk_event_json(&ctx, rc, &sub, NULL, 1);
	ck_assert_ptr_nonnull(out);
	ev = json_loads(out, JSON_REJECT_DUPLICATES, &jerr);
	ck_assert_msg(ev != NULL, "%s: %s", jerr.text, out);
	expect_str(ev, "process.cgroup",
		   "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" U_
		   ".slice/crio-" H ".scope");
	expect_str(ev, "process.unit", "crio-" H ".scope");
	expect_str(ev, "process.container_id", H);
	expect_str(ev, "process.pod_uid", U);
	expect_str(ev, "parent.cgroup", NULL);
	expect_str(ev, "parent.unit", NULL);
	expect_str(ev, "parent.container_id", NULL);
	expect_str(ev, "parent.pod_uid", NULL);
	/* in the process object: after args_truncated, before env */
	pa = strstr(out, "\"args_truncated\"");
	pc = strstr(out, "\"cgroup\"");
	pe = strstr(out, "\"env\"");
	ck_assert_msg(pa && pc && pe && pa < pc && pc < pe, "field order: %s", out);
	json_decref(ev);
	free(out);

	/* the grandparent's cut path: shown (cut), but names no container */
	sub.task = jb_snap_task(&v, 10);
	out = wrk_event_json(&ctx, rc, &sub, NULL, 1);
	ck_assert_ptr_nonnull(out);
	ev = json_loads(out, JSON_REJECT_DUPLICATES, &jerr);
	ck_assert_msg(ev != NULL, "%s: %s", jerr.text, out);
	ck_assert_uint_eq(strlen(jbh_jstr(ev, "process.cgroup")), JB_CGROUP_PATH_LEN - 1);
	ck_assert_str_eq(jbh_jstr(ev, "process.cgroup") + JB_CGROUP_PATH_LEN - 1 - 64 - 8,
			 "/docker/" H);
	expect_str(ev, "process.container_id", NULL);
	expect_str(ev, "process.unit", NULL);
	expect_str(ev, "parent", NULL);
	json_decref(ev);
	free(out);
	jb_snap_destroy(&r);
}
END_TEST

/* --- the resolver on real cgroups --------------------------------------- */

/* main() adds these cases only as root on a host with a cgroup2 mount */
static void need_root_cgroup2(void)
{
	ck_assert_msg(geteuid() == 0 && cgroot[0], "needs root and a cgroup2 mount");
}

START_TEST(resolver)
{
	char base[64], svc[128], gone[128], late[128], live[128];
	struct sup_cgctx *c;
	struct sup_cgctx_stats st;
	uint64_t id_svc, id_gone, id_late, id_root, id_live;
	const char *p;
	const char *where;
	int rootfd;

	need_root_cgroup2();
	snprintf(base, sizeof(base), "/jbtest-ctx-%d", (int)run_pid);
	snprintf(svc, sizeof(svc), "%s/a.slice/b.service", base);
	snprintf(gone, sizeof(gone), "%s/a.slice/gone", base);
	snprintf(late, sizeof(late), "%s/a.slice/late", base);
	snprintf(live, sizeof(live), "%s/a.slice/live", base);
	mk_cg(svc);
	mk_cg(gone);
	id_svc = ino_of(svc);
	id_gone = ino_of(gone);
	ck_assert_int_eq(rm_cg(gone, 1000), 0);

	/* back-fill's computation agrees with the inode */
	rootfd = jb_cgroup2_root(&where);
	ck_assert_int_ge(rootfd, 0);
	ck_assert_str_eq(where, cgroot);
	ck_assert_uint_eq(sup_cgroup_id_at(rootfd, svc), id_svc);
	id_root = sup_cgroup_id_at(rootfd, "/");
	ck_assert_uint_ne(id_root, 0);
	ck_assert_uint_eq(sup_cgroup_id_at(rootfd, "/no-such-cgroup-here"), 0);
	ck_assert_uint_eq(sup_cgroup_id_at(rootfd, "/../.."), 0);
	ck_assert_uint_eq(sup_cgroup_id_at(rootfd, "relative"), 0);

	c = sup_cgctx_new(NULL);
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(sup_cgctx_root(c), cgroot);
	sup_cgctx_begin(c);
	p = sup_cgctx_path(c, id_svc, 0);
	ck_assert_msg(p && !strcmp(p, svc), "id %llu resolved to %s, not %s",
		      (unsigned long long)id_svc, p ? p : "NULL", svc);
	sup_cgctx_stats(c, &st);
	ck_assert_uint_eq(st.walks, 1);
	ck_assert_uint_ge(st.walk_dirs, 3);
	p = sup_cgctx_path(c, id_root, 0);
	ck_assert_msg(p && !strcmp(p, "/"), "the root is %s", p ? p : "NULL");
	/* gone: unresolved, and no second walk in this cadence... */
	ck_assert_ptr_null(sup_cgctx_path(c, id_gone, 0));
	sup_cgctx_stats(c, &st);
	ck_assert_uint_eq(st.walks, 1);
	ck_assert_uint_eq(st.unresolved, 1);
	/* ...nor in the next: it is remembered */
	sup_cgctx_begin(c);
	ck_assert_ptr_null(sup_cgctx_path(c, id_gone, 0));
	ck_assert_ptr_null(sup_cgctx_path(c, 0, 0));
	sup_cgctx_stats(c, &st);
	ck_assert_uint_eq(st.walks, 1);
	/* made after the walk: a later cadence's unknown id walks once more,
	 * as soon as walks are not held back (at most a tenth of the time:
	 * until then the id is left unnamed, not remembered as unknown) */
	mk_cg(late);
	id_late = ino_of(late);
	{
		uint64_t dl = jbh_now_ms() + 5000;

		for (;;) {
			sup_cgctx_begin(c);
			if ((p = sup_cgctx_path(c, id_late, 0)) || jbh_now_ms() > dl)
				break;
			jbh_sleep_ms(1);
		}
	}
	ck_assert_msg(p && !strcmp(p, late), "late cgroup resolved to %s", p ? p : "NULL");
	p = sup_cgctx_path(c, id_svc, 0);
	ck_assert_msg(p && !strcmp(p, svc), "svc resolved to %s", p ? p : "NULL");
	sup_cgctx_stats(c, &st);
	ck_assert_uint_eq(st.walks, 2);
	printf("resolver: the second walk came after %llu held-back lookups\n",
	       (unsigned long long)st.deferred);
	/* a live process in a new cgroup: named through /proc, no walk; a
	 * wrong pid (its cgroup is not that id) cannot name it */
	{
		int go[2];
		pid_t kid;
		char c1;

		mk_cg(live);
		id_live = ino_of(live);
		ck_assert_int_eq(pipe2(go, O_CLOEXEC), 0);
		kid = fork();
		ck_assert_int_ge(kid, 0);
		if (kid == 0) {
			close(go[1]);
			(void)!read(go[0], &c1, 1);
			_exit(0);
		}
		close(go[0]);
		move_to(live, kid);
		sup_cgctx_free(c);
		c = sup_cgctx_new(NULL);
		ck_assert_ptr_nonnull(c);
		sup_cgctx_begin(c);
		/* our own pid is not in that cgroup: this lookup must walk */
		p = sup_cgctx_path(c, id_live, (uint32_t)getpid());
		ck_assert_msg(p && !strcmp(p, live), "live cgroup resolved to %s", p ? p : "NULL");
		sup_cgctx_stats(c, &st);
		ck_assert_uint_eq(st.via_task, 0);
		ck_assert_uint_eq(st.walks, 1);
		sup_cgctx_free(c);
		c = sup_cgctx_new(NULL);
		ck_assert_ptr_nonnull(c);
		sup_cgctx_begin(c);
		p = sup_cgctx_path(c, id_live, (uint32_t)kid);
		ck_assert_msg(p && !strcmp(p, live), "live cgroup via its task: %s", p ? p : "NULL");
		sup_cgctx_stats(c, &st);
		ck_assert_uint_eq(st.via_task, 1);
		ck_assert_uint_eq(st.walks, 0);
		close(go[1]);
		ck_assert_int_eq(jbh_wait_exit(kid, RUN_MS), 0);
	}
	sup_cgctx_free(c);

	/* a root that is not a cgroup2 mount resolves nothing */
	c = sup_cgctx_new("/tmp");
	ck_assert_ptr_nonnull(c);
	ck_assert_ptr_null(sup_cgctx_root(c));
	sup_cgctx_begin(c);
	ck_assert_ptr_null(sup_cgctx_path(c, id_svc, 0));
	sup_cgctx_free(c);
	close(rootfd);
	remove_all();
}
END_TEST

START_TEST(v2_line)
{
	static const char hybrid[] = "9:name=systemd:/\n4:memory:/x/y\n0::/system.slice/a.service\n";
	static const char pure[] = "0::/\n";
	static const char none[] = "4:memory:/x\n1:cpu:/\n";
	char out[64], tiny[4];

	ck_assert_int_eq(sup_cgroup_v2_line(hybrid, sizeof(hybrid) - 1, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "/system.slice/a.service");
	ck_assert_int_eq(sup_cgroup_v2_line(pure, sizeof(pure) - 1, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "/");
	ck_assert_int_eq(sup_cgroup_v2_line(pure, 4, out, sizeof(out)), 0); /* no newline */
	ck_assert_str_eq(out, "/");
	ck_assert_int_eq(sup_cgroup_v2_line(none, sizeof(none) - 1, out, sizeof(out)), -1);
	ck_assert_int_eq(sup_cgroup_v2_line(hybrid, sizeof(hybrid) - 1, tiny, sizeof(tiny)), -1);
	ck_assert_int_eq(sup_cgroup_v2_line("10::/x\n", 7, out, sizeof(out)), -1);
}
END_TEST

/* --- the real agent ----------------------------------------------------- */

/* cat /etc/shadow in cgroup rel; the detection, checked for its fields */
static json_t *cat_in(const char *rel)
{
	char *argv[] = {"/bin/cat", "/etc/shadow", NULL};
	uint64_t t = jbh_real_ms(), dl = jbh_detect_deadline(&A);
	pid_t pid;
	json_t *ev;
	char mine[PATH_MAX];

	mk_cg(rel);
	pid = spawn_in(rel, argv);
	ck_assert_int_eq(jbh_wait_exit(pid, RUN_MS), 0);
	ev = expect("credentials_files_access", pid, dl);
	jbh_check_event(ev, "credentials_files_access", pid, getpid(), real("/bin/cat"), t);
	expect_str(ev, "process.cgroup", rel);
	/* the parent is this test, in its own cgroup, in no container */
	cg_of(getpid(), mine, sizeof(mine));
	expect_str(ev, "parent.cgroup", mine);
	expect_str(ev, "parent.container_id", NULL);
	expect_str(ev, "parent.pod_uid", NULL);
	printf("context: %s -> unit %s, container %s, pod %s\n", rel,
	       jbh_jstr(ev, "process.unit") ? jbh_jstr(ev, "process.unit") : "null",
	       jbh_jstr(ev, "process.container_id") ? jbh_jstr(ev, "process.container_id") : "null",
	       jbh_jstr(ev, "process.pod_uid") ? jbh_jstr(ev, "process.pod_uid") : "null");
	return ev;
}

START_TEST(agent_docker)
{
	char h[65], rel[128], unit[128];
	json_t *ev;

	need_root_cgroup2();
	cid(h, 0);
	snprintf(rel, sizeof(rel), "/system.slice/docker-%s.scope", h);
	snprintf(unit, sizeof(unit), "docker-%s.scope", h);
	shared();
	ev = cat_in(rel);
	expect_str(ev, "process.container_id", h);
	expect_str(ev, "process.unit", unit);
	expect_str(ev, "process.pod_uid", NULL);
	json_decref(ev);
	remove_all();
}
END_TEST

START_TEST(agent_kubepods)
{
	char h1[65], h2[65], u[37], u_[37], rel[512], unit[128];
	json_t *ev;

	need_root_cgroup2();
	cid(h1, 1);
	cid(h2, 2);
	puid(u, '-');
	puid(u_, '_');
	shared();
	/* kubelet with the systemd driver, containerd */
	snprintf(rel, sizeof(rel),
		 "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod%s.slice/"
		 "cri-containerd-%s.scope", u_, h1);
	snprintf(unit, sizeof(unit), "cri-containerd-%s.scope", h1);
	ev = cat_in(rel);
	expect_str(ev, "process.container_id", h1);
	expect_str(ev, "process.pod_uid", u);
	expect_str(ev, "process.unit", unit);
	json_decref(ev);
	/* kubelet with the cgroupfs driver */
	snprintf(rel, sizeof(rel), "/kubepods/besteffort/pod%s/%s", u, h2);
	ev = cat_in(rel);
	expect_str(ev, "process.container_id", h2);
	expect_str(ev, "process.pod_uid", u);
	expect_str(ev, "process.unit", NULL);
	json_decref(ev);
	remove_all();
}
END_TEST

START_TEST(agent_unit)
{
	char rel[128], unit[64], comm[64] = "";
	char *c1;
	size_t n;
	json_t *ev;

	need_root_cgroup2();
	snprintf(unit, sizeof(unit), "jbtest-%d.service", (int)run_pid);
	snprintf(rel, sizeof(rel), "/system.slice/%s", unit);
	shared();
	ev = cat_in(rel);
	expect_str(ev, "process.unit", unit);
	expect_str(ev, "process.container_id", NULL);
	expect_str(ev, "process.pod_uid", NULL);
	json_decref(ev);
	remove_all();
	/* a unit systemd itself made (systemd-run) needs systemd as PID 1 */
	if ((c1 = jbh_slurp("/proc/1/comm", &n))) {
		snprintf(comm, sizeof(comm), "%.*s", (int)strcspn(c1, "\n"), c1);
		free(c1);
	}
	if (strcmp(comm, "systemd"))
		printf("SKIP: agent_unit: the systemd-run part: PID 1 is '%s', not systemd; the "
		       "unit-shaped cgroup above stands for it\n", comm);
	else
		printf("SKIP: agent_unit: the systemd-run part is not written yet (PID 1 is "
		       "systemd here)\n");
}
END_TEST

START_TEST(agent_backfill)
{
	char h[65], rel[128];
	struct pollfd pf = {.fd = bf_res, .events = POLLIN};
	char r = -1;
	pid_t pid = bf_pid;
	json_t *ev;
	uint64_t dl, key;
	struct jb_task t;
	int fd;

	need_root_cgroup2();
	shared();
	cid(h, 3);
	snprintf(rel, sizeof(rel), "/system.slice/docker-%s.scope", h);
	/* in the container before the agent started (shared_up): the agent
	 * saw no fork or exec of it, only back-fill wrote its record */
	ck_assert_int_gt(pid, 0);
	dl = jbh_detect_deadline(&A);
	ck_assert_int_eq(write(bf_go, "x", 1), 1);
	ev = expect("credentials_files_access", pid, dl);
	expect_str(ev, "process.cgroup", rel);
	expect_str(ev, "process.container_id", h);
	/* its back-filled record in the kernel's map (the process key: the
	 * image that acted is a copy the kernel adopted), with the same id */
	key = jbh_proc_key(&A, pid);
	fd = jbh_agent_map(&A, "jb_tasks");
	ck_assert_int_ge(fd, 0);
	if (bpf_map_lookup_elem(fd, &key, &t) != 0) {
		int hot = jbh_agent_map(&A, "jb_tasks_hot");
		ck_assert_msg(hot >= 0 && bpf_map_lookup_elem(hot, &key, &t) == 0,
			      "no task record of %d", (int)pid);
		close(hot);
	}
	close(fd);
	ck_assert_msg(t.flags & JB_TASK_BACKFILL, "the record of %d was not back-filled (flags %#x)",
		      (int)pid, t.flags);
	ck_assert_uint_eq(t.cgroup_id, ino_of(rel));
	/* it really read the file */
	ck_assert_int_eq(poll(&pf, 1, RUN_MS), 1);
	ck_assert_int_eq(read(bf_res, &r, 1), 1);
	ck_assert_msg(r == 0, "the back-fill child could not read /etc/shadow (%d)", r);
	json_decref(ev);
	/* it exits (the runner reaps it) and leaves its cgroup */
	ck_assert_int_eq(write(bf_go, "q", 1), 1);
	remove_all();
}
END_TEST

/* A process forked while the agent runs (its record made by the fork hook,
 * in this test's cgroup), then moved into a container-shaped cgroup, acts
 * without an exec: the move itself (cgroup_attach_task) updates its record. */
START_TEST(agent_migrate)
{
	char h[65], rel[128], mine[PATH_MAX];
	int go[2];
	pid_t pid;
	json_t *ev;
	uint64_t dl;

	need_root_cgroup2();
	cid(h, 4);
	snprintf(rel, sizeof(rel), "/system.slice/docker-%s.scope", h);
	mk_cg(rel);
	shared();
	ck_assert_int_eq(pipe2(go, O_CLOEXEC), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char c;
		int f;

		close(go[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(120);
		f = open("/etc/shadow", O_RDONLY);
		if (f < 0 || read(f, &c, 1) != 1)
			_exit(121);
		close(f);
		_exit(0);
	}
	close(go[0]);
	cg_of(pid, mine, sizeof(mine));
	ck_assert_str_ne(mine, rel);
	move_to(rel, pid);
	dl = jbh_detect_deadline(&A);
	ck_assert_int_eq(write(go[1], "x", 1), 1);
	close(go[1]);
	ck_assert_int_eq(jbh_wait_exit(pid, RUN_MS), 0);
	ev = expect("credentials_files_access", pid, dl);
	expect_str(ev, "process.cgroup", rel);
	expect_str(ev, "process.container_id", h);
	cg_of(getpid(), mine, sizeof(mine));
	expect_str(ev, "parent.cgroup", mine);
	json_decref(ev);
	remove_all();
}
END_TEST

/* --- suite --------------------------------------------------------------- */

static void sweep(void)
{
	jbh_kill_leftovers();
	remove_all();
}

int main(void)
{
	Suite *s = suite_create("context");
	SRunner *sr;
	TCase *tc;
	const char *where;
	int failed, fd;

	run_pid = getpid();
	fd = jb_cgroup2_root(&where);
	if (fd >= 0) {
		snprintf(cgroot, sizeof(cgroot), "%s", where);
		close(fd);
		for (size_t i = 0; i < sizeof(tops) / sizeof(tops[0]); i++) {
			char p[PATH_MAX];
			snprintf(p, sizeof(p), "%s/%s", cgroot, tops[i]);
			top_existed[i] = access(p, F_OK) == 0;
		}
	}

	tc = tcase_create("parser");
	tcase_add_loop_test(tc, parser_shapes, 0, (int)(sizeof(shapes) / sizeof(shapes[0])));
	tcase_add_test(tc, parser_bytes);
	tcase_add_test(tc, v2_line);
	suite_add_tcase(s, tc);
	tc = tcase_create("snapshot");
	tcase_add_test(tc, snapshot_section);
	tcase_add_test(tc, event_fields);
	suite_add_tcase(s, tc);

	if (geteuid() == 0 && cgroot[0]) {
		jbh_main_init("check_context");
		tc = tcase_create("resolver");
		tcase_add_unchecked_fixture(tc, NULL, sweep);
		tcase_add_test(tc, resolver);
		suite_add_tcase(s, tc);
		/* teardowns run in the reverse order of adding: the reap,
		 * then the sweep */
		tc = tcase_create("agent");
		tcase_set_timeout(tc, 240);
		tcase_add_unchecked_fixture(tc, NULL, sweep);
		tcase_add_unchecked_fixture(tc, shared_up, shared_down);
		tcase_add_test(tc, agent_backfill); /* first: its child leaves its cgroup */
		tcase_add_test(tc, agent_docker);
		tcase_add_test(tc, agent_kubepods);
		tcase_add_test(tc, agent_unit);
		tcase_add_test(tc, agent_migrate);
		tcase_add_test(tc, test_shared_stop);
		suite_add_tcase(s, tc);
	} else {
		printf("SKIP: resolver and agent cases: %s\n",
		       geteuid() ? "not root" : "no cgroup2 mount on this host");
	}
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	if (geteuid() == 0)
		jbh_kill_leftovers();
	remove_all();
	return failed ? 1 : 0;
}
