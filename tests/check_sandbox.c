/*
 * check_sandbox.c - the children's two walls (common/sandbox.c seccomp,
 * common/landlock.c Landlock), policy by policy, in real processes.
 *
 * Each probe runs in a process of its own (forked from the Check test),
 * confined exactly as a child is after bring-up: fd 4 a spool directory
 * owned by the probe's uid (65534), fd 3 taken (the IPC socket's place),
 * the uid dropped with no_new_privs, then Landlock and/or seccomp. The
 * probe reports through its exit code only (exit_group is in every
 * allow-list); a SIGSYS is seccomp's kill. A probe is also run with one
 * wall left out, and the call then succeeds: that is what shows which
 * wall refuses, and that the test could fail.
 * Not root: "SKIP:" and exit 77. No Landlock: those tests say SKIP.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/child.h"
#include "common/landlock.h"
#include "common/sandbox.h"

#define PROBE_UID 65534
#define WALL_LANDLOCK 1
#define WALL_SECCOMP 2

static const struct {
	const char *name;
	const struct jb_policy *p;
} policies[] = {
	{"worker", &jb_policy_worker},		{"stdout", &jb_policy_printer_stdout},
	{"file", &jb_policy_printer_file},	{"https", &jb_policy_printer_https},
	{"nats", &jb_policy_printer_nats},	{"summary", &jb_policy_printer_summary},
};
#define NPOL ((int)(sizeof(policies) / sizeof(policies[0])))
#define FIRST_NET 3 /* https, nats: the spool directory on fd 4 */
#define END_SPOOL 5 /* summary: TCP to its endpoint, and no path at all */

static char spool[64] = "";
/* >= 0: the probe's fd 4 is this socket instead of the spool (the exporter's) */
static int aux_listen = -1;

/* 0 (and a SKIP line: Check counts the test passed, the line says it
 * did not run) on a kernel without Landlock */
static int have_landlock(void)
{
	if (jb_landlock_abi() > 0)
		return 1;
	printf("SKIP: this kernel has no Landlock\n");
	return 0;
}

/* Run probe(arg) in a process confined by the walls of policy p; its
 * wait status. */
static int run_probe(const struct jb_policy *p, int walls, int (*probe)(void *), void *arg)
{
	char err[256];
	int st = 0;
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int d = aux_listen >= 0 ? dup(aux_listen)
					: open(spool, O_RDONLY | O_DIRECTORY | O_CLOEXEC),
		    n = open("/dev/null", O_RDWR);
		struct rlimit tight = {JB_CHILD_AUX_FD + 1, 64}, room = {64, 64};

		if (d < 0 || n < 0 || dup2(n, JB_CHILD_IPC_FD) < 0 || dup2(d, JB_CHILD_AUX_FD) < 0)
			_exit(100);
		if (d != JB_CHILD_AUX_FD)
			close(d);
		if (n != JB_CHILD_IPC_FD)
			close(n);
		/* the child's order: the ruleset, then a descriptor limit that
		 * leaves no room for another (as the file printer's 5), the
		 * uid, Landlock; the limit is raised again for the probe's
		 * own files and sockets */
		if (((walls & WALL_LANDLOCK) && jb_sandbox_landlock_prepare(p, err, sizeof(err)) < 0) ||
		    setrlimit(RLIMIT_NOFILE, &tight) < 0 ||
		    jb_sandbox_drop_privs(PROBE_UID, err, sizeof(err)) < 0 ||
		    ((walls & WALL_LANDLOCK) && jb_sandbox_landlock(p, err, sizeof(err)) < 0) ||
		    setrlimit(RLIMIT_NOFILE, &room) < 0 ||
		    ((walls & WALL_SECCOMP) && jb_sandbox_seccomp(p, err, sizeof(err)) < 0)) {
			fprintf(stderr, "probe: %s\n", err);
			_exit(101);
		}
		_exit(probe(arg));
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	return st;
}

static void expect_exit(int st, int code, const char *what)
{
	ck_assert_msg(WIFEXITED(st), "%s: killed by signal %d", what,
		      WIFSIGNALED(st) ? WTERMSIG(st) : -1);
	ck_assert_msg(WEXITSTATUS(st) == code, "%s: exit %d, want %d", what, WEXITSTATUS(st),
		      code);
}

static void expect_sigsys(int st, const char *what)
{
	ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS, "%s: not killed by SIGSYS (%s %d)",
		      what, WIFEXITED(st) ? "exit" : "signal",
		      WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
}

/* --- the probes: 0 is what the test wants, another value says which step --- */

/* 0 if openat(4, path, flags) is refused with EACCES, 1 if it opened. */
static int try_open(const char *path, int flags)
{
	int fd = openat(JB_CHILD_AUX_FD, path, flags | O_CLOEXEC, 0600);

	if (fd >= 0)
		return 1;
	return errno == EACCES ? 0 : 2;
}

static int probe_escapes(void *arg)
{
	static const struct {
		const char *path;
		int flags;
	} out[] = {
		{"/etc/hostname", O_RDONLY},  {"../..", O_RDONLY | O_DIRECTORY},
		{"../../etc/hostname", O_RDONLY}, {"/tmp/jb-sandbox-probe", O_WRONLY | O_CREAT},
		{"/proc/self/mem", O_RDWR},
	};
	for (size_t i = 0; i < sizeof(out) / sizeof(out[0]); i++)
		if (try_open(out[i].path, out[i].flags) != 0)
			return 10 + (int)i;
	return 0;
}

/* What the spool does beneath its directory still works. */
static int probe_spool_works(void *arg)
{
	int fd = openat(JB_CHILD_AUX_FD, "seg-1", O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	if (fd < 0)
		return 20;
	if (write(fd, "x\n", 2) != 2)
		return 21;
	if (pwrite(fd, "y", 1, 0) != 1)
		return 22;
	if (unlinkat(JB_CHILD_AUX_FD, "seg-1", 0) < 0)
		return 23;
	return 0;
}

/* An absolute path opened with any dirfd (AT_FDCWD as libc's open). */
static int probe_open_fdcwd(void *arg)
{
	int fd = open("/etc/hostname", O_RDONLY | O_CLOEXEC);

	return fd >= 0 ? 1 : errno == EACCES ? 0 : 2;
}

static int probe_connect(void *arg)
{
	int port = *(int *)arg, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};

	if (fd < 0)
		return 30;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return 1;
	return errno == EACCES ? 0 : 31;
}

static int probe_bind(void *arg)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};

	if (fd < 0)
		return 30;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return 1;
	return errno == EACCES ? 0 : 31;
}

static int probe_write_fd(void *arg)
{
	/* the kernel takes the low 32 bits: this is fd 1 */
	return syscall(SYS_write, *(unsigned long long *)arg, "jb-sandbox-probe\n", 17) == 17 ? 1
											       : 2;
}

static int probe_stat_fdcwd(void *arg)
{
	struct stat st;

	if (syscall(SYS_newfstatat, AT_FDCWD, "/etc/hostname", &st, 0) == 0)
		return 1;
	return errno == EACCES ? 3 : 2;
}

static int probe_socket(void *arg)
{
	int proto = *(int *)arg, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, proto);

	return fd >= 0 ? 0 : 40;
}

static void *thread_fn(void *arg)
{
	return arg;
}

static int probe_pthread(void *arg)
{
	pthread_t t;
	void *r = NULL;

	if (pthread_create(&t, NULL, thread_fn, (void *)7) != 0 || pthread_join(t, &r) != 0)
		return 50;
	return r == (void *)7 ? 0 : 51;
}

static int probe_clone_flags(void *arg)
{
	/* a thread's flags plus one glibc never passes (CLONE_NEWNS: with
	 * CLONE_FS the kernel refuses it, so nothing starts if it passes) */
	unsigned long f = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SYSVSEM | CLONE_SIGHAND |
			  CLONE_THREAD | CLONE_NEWNS;

	return syscall(SYS_clone, f, 0, 0, 0, 0) < 0 ? 60 : 61;
}

/* --- tests ------------------------------------------------------------------ */

static void mkspool(void)
{
	snprintf(spool, sizeof(spool), "/tmp/jb-check-sandbox.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(spool));
	ck_assert_int_eq(chown(spool, PROBE_UID, PROBE_UID), 0);
	ck_assert_int_eq(chmod(spool, 0700), 0);
}

static void rmspool(void)
{
	char cmd[128];

	if (spool[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", spool);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", spool);
	}
	unlink("/tmp/jb-sandbox-probe");
}

/* A network printer: seccomp lets openat through with the spool's dirfd;
 * with Landlock an absolute path, "..", /proc/self/mem are refused, and
 * the spool's own files still work. */
START_TEST(test_net_printer_escapes_refused)
{
	const struct jb_policy *p = policies[_i].p;

	if (!have_landlock())
		return;
	expect_exit(run_probe(p, WALL_LANDLOCK | WALL_SECCOMP, probe_escapes, NULL), 0,
		    policies[_i].name);
	expect_exit(run_probe(p, WALL_LANDLOCK | WALL_SECCOMP, probe_spool_works, NULL), 0,
		    "spool files beneath fd 4");
	/* Landlock alone refuses them too: it is the wall, not seccomp */
	expect_exit(run_probe(p, WALL_LANDLOCK, probe_escapes, NULL), 0, "Landlock alone");
}
END_TEST

/* The hole Landlock closes: seccomp alone lets the first escape through
 * (exit 10: /etc/hostname opened with the spool's dirfd). */
START_TEST(test_net_printer_seccomp_alone_leaks)
{
	expect_exit(run_probe(policies[_i].p, WALL_SECCOMP, probe_escapes, NULL), 10,
		    "seccomp alone");
}
END_TEST

/* Every other child: no path at all once Landlock is on, whatever seccomp
 * says (here it is left out to show Landlock's own refusal). */
START_TEST(test_other_children_no_paths)
{
	const struct jb_policy *p = policies[_i].p;

	if (!have_landlock())
		return;
	expect_exit(run_probe(p, 0, probe_open_fdcwd, NULL), 1, "unconfined control");
	expect_exit(run_probe(p, WALL_LANDLOCK, probe_open_fdcwd, NULL), 0, policies[_i].name);
	expect_exit(run_probe(p, WALL_LANDLOCK, probe_escapes, NULL), 0, policies[_i].name);
	expect_exit(run_probe(p, WALL_LANDLOCK, probe_spool_works, NULL), 20,
		    "no rule beneath fd 4");
}
END_TEST

static int listener(int *port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(fd, 4), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

/* TCP: connect only to a recorded port, bind nothing. */
START_TEST(test_net_printer_ports)
{
	const struct jb_policy *p = policies[_i].p;
	int yes, no, a = listener(&yes), b = listener(&no);

	if (!have_landlock())
		return;
	if (jb_landlock_abi() < 4) {
		printf("SKIP: Landlock ABI %d has no TCP rules\n", jb_landlock_abi());
		return;
	}
	jb_landlock_allow_connect((unsigned)yes); /* inherited by the probes */
	expect_exit(run_probe(p, WALL_SECCOMP, probe_connect, &no), 1, "seccomp alone: any port");
	expect_exit(run_probe(p, WALL_LANDLOCK | WALL_SECCOMP, probe_connect, &yes), 1,
		    "the endpoint's port");
	expect_exit(run_probe(p, WALL_LANDLOCK | WALL_SECCOMP, probe_connect, &no), 0,
		    "another port");
	expect_exit(run_probe(p, 0, probe_bind, NULL), 1, "unconfined bind");
	expect_exit(run_probe(p, WALL_LANDLOCK, probe_bind, NULL), 0, "bind under Landlock");
	close(a);
	close(b);
}
END_TEST

/* A descriptor is its low 32 bits: 0x100000001 is fd 1 (the operator's
 * stdout), never one of the printer's own (>= 5). */
START_TEST(test_fd_high_bits)
{
	unsigned long long fd1 = 0x100000001ULL, fd2 = 0x100000002ULL;

	expect_sigsys(run_probe(policies[_i].p, WALL_SECCOMP, probe_write_fd, &fd1),
		      "write to 0x100000001");
	/* stderr is named by all 64 bits: its high-bit spelling is refused too */
	expect_sigsys(run_probe(policies[_i].p, WALL_SECCOMP, probe_write_fd, &fd2),
		      "write to 0x100000002");
	/* AT_FDCWD is not a descriptor of its own either (the nats printer's
	 * stat of a path is refused with EACCES: OpenSSL's look at the
	 * system's certificate directory, sandbox.c) */
	if (policies[_i].p == &jb_policy_printer_nats)
		expect_exit(run_probe(policies[_i].p, WALL_SECCOMP, probe_stat_fdcwd, NULL), 3,
			    "newfstatat(AT_FDCWD) refused with EACCES");
	else
		expect_sigsys(run_probe(policies[_i].p, WALL_SECCOMP, probe_stat_fdcwd, NULL),
			      "newfstatat(AT_FDCWD)");
}
END_TEST

/* TCP, and nothing else that is a stream socket. */
START_TEST(test_inet_protocol)
{
	int tcp = IPPROTO_TCP, zero = 0, sctp = IPPROTO_SCTP, mptcp = 262 /* IPPROTO_MPTCP */;

	expect_exit(run_probe(policies[_i].p, WALL_SECCOMP, probe_socket, &zero), 0, "proto 0");
	expect_exit(run_probe(policies[_i].p, WALL_SECCOMP, probe_socket, &tcp), 0, "TCP");
	expect_sigsys(run_probe(policies[_i].p, WALL_SECCOMP, probe_socket, &sctp), "SCTP");
	expect_sigsys(run_probe(policies[_i].p, WALL_SECCOMP, probe_socket, &mptcp), "MPTCP");
}
END_TEST

/* The exporter: fd 4 is the listening socket it was handed. */
static int probe_serve(void *arg)
{
	char buf[8];
	int fd = accept4(JB_CHILD_AUX_FD, NULL, NULL, SOCK_CLOEXEC), n = 0;

	if (fd < 0)
		return 70;
	if (ioctl(fd, FIONREAD, &n) < 0 || n != 4)
		return 71;
	if (read(fd, buf, sizeof(buf)) != 4)
		return 72;
	if (write(fd, "pong", 4) != 4 || shutdown(fd, SHUT_WR) < 0 || close(fd) < 0)
		return 73;
	return 0;
}

static int probe_accept_other(void *arg)
{
	return accept4(*(int *)arg, NULL, NULL, SOCK_CLOEXEC) < 0 ? 80 : 81;
}

static int probe_ioctl_other(void *arg)
{
	int fd = accept4(JB_CHILD_AUX_FD, NULL, NULL, SOCK_CLOEXEC), one = 1;

	return fd < 0 ? 90 : ioctl(fd, FIONBIO, &one) < 0 ? 91 : 92;
}

static int probe_connect_accepted(void *arg)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(9),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = accept4(JB_CHILD_AUX_FD, NULL, NULL, SOCK_CLOEXEC);

	return fd < 0 ? 95 : connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? 96 : 97;
}

/* a client of the listener at port, "ping" sent; its fd */
static int client(int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(write(fd, "ping", 4), 4);
	return fd;
}

/* It serves the clients of the socket it was handed, and can do nothing
 * else with the network: no socket, no accept on another descriptor, no
 * ioctl but FIONREAD, no connect; no path either. */
START_TEST(test_exporter)
{
	const struct jb_policy *p = &jb_policy_exporter;
	int port, other_port, other, c, zero = 0;
	char buf[8] = "";

	/* above the numbers run_probe lays out (3, 4) */
	other = listener(&other_port);
	aux_listen = listener(&port);
	ck_assert_int_eq(dup2(other, 21), 21);
	ck_assert_int_eq(dup2(aux_listen, 20), 20);
	close(other);
	close(aux_listen);
	other = 21;
	aux_listen = 20;
	c = client(port);
	expect_exit(run_probe(p, WALL_LANDLOCK | WALL_SECCOMP, probe_serve, NULL), 0, "serve");
	ck_assert_int_eq(read(c, buf, sizeof(buf)), 4);
	ck_assert(!memcmp(buf, "pong", 4));
	close(c);
	expect_sigsys(run_probe(p, WALL_SECCOMP, probe_socket, &zero), "socket");
	expect_sigsys(run_probe(p, WALL_SECCOMP, probe_accept_other, &other), "accept elsewhere");
	c = client(port);
	expect_sigsys(run_probe(p, WALL_SECCOMP, probe_ioctl_other, NULL), "ioctl FIONBIO");
	close(c);
	c = client(port);
	expect_sigsys(run_probe(p, WALL_SECCOMP, probe_connect_accepted, NULL), "connect");
	close(c);
	/* open: refused with EACCES by seccomp, and by Landlock alone */
	expect_exit(run_probe(p, WALL_SECCOMP, probe_open_fdcwd, NULL), 0, "open, seccomp");
	if (have_landlock())
		expect_exit(run_probe(p, WALL_LANDLOCK, probe_open_fdcwd, NULL), 0,
			    "open, Landlock");
	close(other);
	close(aux_listen);
	aux_listen = -1;
}
END_TEST

/* The nats printer's threads: glibc's pthread_create works, other clone
 * flags are killed. */
START_TEST(test_thread_clone)
{
	expect_exit(run_probe(&jb_policy_printer_nats, WALL_LANDLOCK | WALL_SECCOMP, probe_pthread,
			      NULL),
		    0, "pthread_create");
	expect_sigsys(run_probe(&jb_policy_printer_nats, WALL_SECCOMP, probe_clone_flags, NULL),
		      "clone with CLONE_NEWNS");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sandbox");
	SRunner *sr;
	TCase *c;
	int failed;

	if (geteuid() != 0) {
		printf("SKIP: check_sandbox needs root (it drops to uid %d)\n", PROBE_UID);
		return 77;
	}
	c = tcase_create("landlock");
	tcase_add_checked_fixture(c, mkspool, rmspool);
	tcase_add_loop_test(c, test_net_printer_escapes_refused, FIRST_NET, END_SPOOL);
	tcase_add_loop_test(c, test_net_printer_seccomp_alone_leaks, FIRST_NET, END_SPOOL);
	tcase_add_loop_test(c, test_other_children_no_paths, 0, FIRST_NET);
	tcase_add_loop_test(c, test_other_children_no_paths, END_SPOOL, NPOL);
	tcase_add_loop_test(c, test_net_printer_ports, FIRST_NET, NPOL);
	suite_add_tcase(s, c);
	c = tcase_create("seccomp");
	tcase_add_checked_fixture(c, mkspool, rmspool);
	tcase_add_loop_test(c, test_fd_high_bits, FIRST_NET, NPOL);
	tcase_add_loop_test(c, test_inet_protocol, FIRST_NET, NPOL);
	tcase_add_test(c, test_thread_clone);
	tcase_add_test(c, test_exporter);
	suite_add_tcase(s, c);
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
