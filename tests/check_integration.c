/*
 * check_integration.c - the real agent against the real kernel: one test
 * per behaviour. A test runs the behaviour as a real process whose pid it
 * records and reads what the file printer wrote, on an agent
 * (tests/agent_harness.c) that is either its own or shared by the tests of
 * its TCase (add_shared: the sandbox, every detection test and the
 * kernel-map tests, on an agent with the stdout printer too; an agent
 * start is most of the time a test takes). A shared agent is started by
 * the TCase's unchecked fixture in the runner process, which the tests
 * fork from; each test leaves it running, and the TCase's last test
 * (test_clean_stop) stops it (exit 0, every child gone, every program
 * unloaded). Every check of a test is by the pid of
 * its own trigger, and the recipes' noise limits (times_per_exe,
 * times_per_full_ancestry: kept by the supervisor for its whole life)
 * allow all their triggers on one agent (at most 3 of any one recipe from
 * this program's ancestry). The tests whose property needs a fresh agent
 * or other options (dedup, configuration errors) keep their own.
 *
 * Invariants checked:
 *  - each detection arrives within three cadences (+1 s for process
 *    start-up) with the fields of its definition (kind, mechanism, MITRE),
 *    the process that did it (pid, exe, args, start), its parent (the test),
 *    an ancestry that ends at pid 1, a v4 uuid and sane timestamps.
 *  - benign processes produce nothing; a repeated behaviour of one process
 *    is reported once.
 *  - every child is confined (a uid of its own, no capabilities, no_new_privs,
 *    seccomp filter) and holds only the fds it was given.
 *  - the fd actions no recipe uses yet (fsync, flock, fasync) reach jb_links,
 *    with their filters (LOCK_UN, other F_SETFL flags: nothing).
 *  - SIGTERM stops everything with exit 0 and leaves none of the agent's
 *    BPF programs loaded; a bad configuration is refused before anything
 *    is loaded.
 * Traffic goes only to 127.0.0.1 or to a network namespace the test made;
 * no system file is left changed (authorized_keys only when absent, and
 * removed again by the process that created it).
 * Not root: "SKIP:" and exit 77.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <seccomp.h>

#include "agent_harness.h"
#include "bpf/jibril.h"
#include "common/kind.h"
#include "supervisor/config.h"
#include "jibril.skel.h" /* struct jibril_bpf__bss: the agent's .bss layout */

#define READY_MS 30000 /* a deadline, not a speed check: agents start slowly on a loaded machine */
#define STOP_MS 5000
#define RUN_MS 5000

static struct jbh_agent A;
/* set by a shared TCase's fixture in the runner, so in each of its tests */
static int shared;

/* An agent of the test's own, or the TCase's shared one (default options,
 * maybe the stdout printer too), with every child READY. */
static void up(const struct jbh_opts *o)
{
	if (shared) {
		ck_assert_msg(!o || ((!o->stdout_printer || A.o.stdout_printer) && !o->debug_log &&
				     !o->log_level && !o->extra_conf),
			      "the shared agent of this TCase lacks an option the test needs");
		ck_assert_msg(jbh_running(&A), "the shared supervisor is gone (log %s)", A.log);
		jbh_wait_all_ready(&A, READY_MS);
		return;
	}
	jbh_start(&A, o);
	jbh_wait_all_ready(&A, READY_MS);
}

/* The end of a test: its own agent stops cleanly; a shared one runs on
 * (test_shared_stop stops it). */
static void down(void)
{
	if (shared)
		ck_assert_msg(jbh_running(&A), "the supervisor died (log %s)", A.log);
	else
		jbh_stop(&A, STOP_MS);
}

static const char *real(const char *path)
{
	static char buf[PATH_MAX];

	ck_assert_msg(realpath(path, buf) != NULL, "realpath %s: %s", path, strerror(errno));
	return buf;
}

static const char *ip_bin(void)
{
	static const char *const c[] = {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip", NULL};
	for (int i = 0; c[i]; i++)
		if (access(c[i], X_OK) == 0)
			return c[i];
	return NULL;
}

/* Wait for kind by pid; the deadline counts from before the spawn. */
static json_t *expect(const char *kind, pid_t pid, uint64_t deadline)
{
	struct jbh_match m = {kind, pid, NULL};
	uint64_t t0 = jbh_now_ms();
	json_t *ev = jbh_wait_event(&A, jbh_match, &m, deadline);

	ck_assert_msg(ev != NULL, "no %s for pid %d within three cadences (+1 s); events in %s",
		      kind, (int)pid, A.events);
	printf("timing: %s seen %llu ms after the trigger ended\n", kind,
	       (unsigned long long)(jbh_now_ms() - t0));
	return ev;
}

/* --- file access --------------------------------------------------------- */

START_TEST(test_credentials_absolute)
{
	char *argv[] = {"cat", "/etc/shadow", NULL};
	uint64_t t, dl;
	json_t *ev;
	pid_t pid;

	up(NULL);
	t = jbh_real_ms();
	dl = jbh_detect_deadline(&A);
	ck_assert_int_eq(jbh_run("/bin/cat", argv, RUN_MS, &pid), 0);
	ev = expect("credentials_files_access", pid, dl);
	jbh_check_event(ev, "credentials_files_access", pid, getpid(), real("/bin/cat"), t);
	ck_assert_str_eq(jbh_jstr(ev, "process.exe"), "/usr/bin/cat");
	ck_assert_str_eq(jbh_jstr(ev, "process.args"), "cat /etc/shadow");
	ck_assert_str_eq(jbh_jstr(ev, "process.comm"), "cat");
	ck_assert_str_eq(jbh_jstr(ev, "file.path"), "/etc/shadow");
	ck_assert(jbh_jarr_has(ev, "file.actions", "read"));
	ck_assert(jbh_jarr_has(ev, "file.actions", "open"));
	ck_assert(!jbh_jarr_has(ev, "file.actions", "write"));
	ck_assert(json_is_false(json_object_get(json_object_get(ev, "file"), "path_truncated")));
	json_decref(ev);
	down();
}
END_TEST

START_TEST(test_credentials_relative)
{
	char *argv[] = {"cat", "shadow", NULL};
	struct jbh_io io = {"/etc", -1, -1, -1};
	uint64_t t, dl;
	json_t *ev;
	pid_t pid;

	up(NULL);
	t = jbh_real_ms();
	dl = jbh_detect_deadline(&A);
	pid = jbh_spawn("/bin/cat", argv, &io);
	ck_assert_int_eq(jbh_wait_exit(pid, RUN_MS), 0);
	ev = expect("credentials_files_access", pid, dl);
	jbh_check_event(ev, "credentials_files_access", pid, getpid(), real("/bin/cat"), t);
	ck_assert_str_eq(jbh_jstr(ev, "file.path"), "/etc/shadow");
	ck_assert_str_eq(jbh_jstr(ev, "process.args"), "cat shadow");
	ck_assert(jbh_jarr_has(ev, "file.actions", "read"));
	json_decref(ev);
	down();
}
END_TEST

START_TEST(test_binary_self_deletion)
{
	char helper[PATH_MAX], copy[PATH_MAX], *argv[] = {"selfdel", NULL};
	uint64_t t, dl;
	json_t *ev;
	pid_t pid;

	up(NULL);
	jbh_helper(helper, sizeof(helper), "selfdelete");
	snprintf(copy, sizeof(copy), "%s/selfdel", A.dir);
	jbh_copy_file(helper, copy, 0755);
	t = jbh_real_ms();
	dl = jbh_detect_deadline(&A);
	ck_assert_int_eq(jbh_run(copy, argv, RUN_MS, &pid), 0);
	ck_assert_msg(access(copy, F_OK) < 0 && errno == ENOENT, "the helper did not delete itself");
	ev = expect("binary_self_deletion", pid, dl);
	jbh_check_event(ev, "binary_self_deletion", pid, getpid(), copy, t);
	ck_assert_str_eq(jbh_jstr(ev, "file.path"), copy);
	ck_assert(jbh_jarr_has(ev, "file.actions", "execve"));
	ck_assert(jbh_jarr_has(ev, "file.actions", "unlink"));
	json_decref(ev);
	down();
}
END_TEST

START_TEST(test_ssh_auth_keys_modification)
{
	const char *dir = "/root/.ssh", *keys = "/root/.ssh/authorized_keys";
	char helper[PATH_MAX], *argv[] = {"openfile", "create-unlink", (char *)keys, NULL};
	int made_dir = 0, st;
	struct stat sb;
	uint64_t t, dl;
	json_t *ev;
	pid_t pid;

	if (lstat(keys, &sb) == 0 || errno != ENOENT) {
		printf("SKIP: ssh_auth_keys_modification: %s exists; the test never touches it\n",
		       keys);
		return;
	}
	if (lstat(dir, &sb) < 0) {
		ck_assert_int_eq(errno, ENOENT);
		ck_assert_int_eq(mkdir(dir, 0700), 0);
		made_dir = 1;
	} else if (!S_ISDIR(sb.st_mode)) {
		printf("SKIP: ssh_auth_keys_modification: %s is not a directory\n", dir);
		return;
	}
	up(NULL);
	jbh_helper(helper, sizeof(helper), "openfile");
	t = jbh_real_ms();
	dl = jbh_detect_deadline(&A);
	/* the helper creates it with O_EXCL and removes it itself */
	st = jbh_run(helper, argv, RUN_MS, &pid);
	if (made_dir)
		rmdir(dir);
	ck_assert_int_eq(st, 0);
	ck_assert_msg(lstat(keys, &sb) < 0 && errno == ENOENT, "%s was left behind", keys);
	ck_assert_msg(!made_dir || (lstat(dir, &sb) < 0 && errno == ENOENT), "%s was left", dir);
	ev = expect("ssh_auth_keys_modification", pid, dl);
	jbh_check_event(ev, "ssh_auth_keys_modification", pid, getpid(), real(helper), t);
	ck_assert_str_eq(jbh_jstr(ev, "file.path"), keys);
	ck_assert(jbh_jarr_has(ev, "file.actions", "create"));
	ck_assert(jbh_jarr_has(ev, "file.actions", "write"));
	ck_assert(jbh_jarr_has(ev, "file.actions", "unlink"));
	json_decref(ev);
	down();
}
END_TEST

/* --- execution ----------------------------------------------------------- */

START_TEST(test_hidden_exec_from_tmp)
{
	char copy[PATH_MAX], *argv[] = {".hidden_x", "--flag", NULL};
	uint64_t t, dl;
	json_t *ev;
	pid_t pid;

	up(NULL);
	snprintf(copy, sizeof(copy), "%s/.hidden_x", A.dir);
	jbh_copy_file("/bin/true", copy, 0755);
	t = jbh_real_ms();
	dl = jbh_detect_deadline(&A);
	ck_assert_int_eq(jbh_run(copy, argv, RUN_MS, &pid), 0);

	ev = expect("hidden_elf_exec", pid, dl);
	jbh_check_event(ev, "hidden_elf_exec", pid, getpid(), copy, t);
	ck_assert_str_eq(jbh_jstr(ev, "file.path"), copy);
	ck_assert_str_eq(jbh_jstr(ev, "process.args"), ".hidden_x --flag");
	ck_assert(jbh_jarr_has(ev, "file.actions", "execve"));
	json_decref(ev);

	ev = expect("exec_from_unusual_dir", pid, dl);
	jbh_check_event(ev, "exec_from_unusual_dir", pid, getpid(), copy, t);
	ck_assert_str_eq(jbh_jstr(ev, "file.path"), copy);
	json_decref(ev);
	down();
}
END_TEST

/* A script run by a relative name: the script itself is what was
 * executed (the interpreter is just /bin/sh), named absolutely. */
START_TEST(test_hidden_script_relative)
{
	char script[PATH_MAX], *argv[] = {"./.hidden.sh", NULL};
	struct jbh_io io = {NULL, -1, -1, -1};
	struct jbh_match m = {"hidden_elf_exec", 0, NULL};
	uint64_t t, dl;
	FILE *f;
	json_t *ev;
	pid_t pid;

	up(NULL);
	snprintf(script, sizeof(script), "%s/.hidden.sh", A.dir);
	f = fopen(script, "w");
	ck_assert_ptr_nonnull(f);
	fputs("#!/bin/sh\nexit 0\n", f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(script, 0755), 0);
	io.cwd = A.dir;
	t = jbh_real_ms();
	dl = jbh_detect_deadline(&A);
	pid = jbh_spawn("./.hidden.sh", argv, &io);
	ck_assert_int_eq(jbh_wait_exit(pid, RUN_MS), 0);
	m.pid = pid;
	m.path = script;
	ev = jbh_wait_event(&A, jbh_match, &m, dl);
	ck_assert_msg(ev != NULL, "no hidden_elf_exec of %s for pid %d", script, (int)pid);
	jbh_check_event(ev, "hidden_elf_exec", pid, getpid(), real("/bin/sh"), t);
	ck_assert(jbh_jarr_has(ev, "file.actions", "execve"));
	json_decref(ev);
	m.kind = "exec_from_unusual_dir";
	ev = jbh_wait_event(&A, jbh_match, &m, dl);
	ck_assert_msg(ev != NULL, "no exec_from_unusual_dir of %s for pid %d", script, (int)pid);
	json_decref(ev);
	down();
}
END_TEST

START_TEST(test_data_encoder_exec)
{
	char *argv[] = {"base64", NULL};
	int p[2];
	struct jbh_io io = {NULL, -1, -1, -1};
	uint64_t t, dl;
	json_t *ev;
	pid_t pid;

	up(NULL);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	io.in = p[0];
	t = jbh_real_ms();
	dl = jbh_detect_deadline(&A);
	pid = jbh_spawn("/usr/bin/base64", argv, &io); /* echo hi | base64 */
	close(p[0]);
	ck_assert_int_eq(write(p[1], "hi\n", 3), 3);
	close(p[1]);
	ck_assert_int_eq(jbh_wait_exit(pid, RUN_MS), 0);
	ev = expect("data_encoder_exec", pid, dl);
	jbh_check_event(ev, "data_encoder_exec", pid, getpid(), real("/usr/bin/base64"), t);
	ck_assert_str_eq(jbh_jstr(ev, "process.args"), "base64");
	ck_assert_str_eq(jbh_jstr(ev, "file.path"), real("/usr/bin/base64"));
	json_decref(ev);
	down();
}
END_TEST

START_TEST(test_net_scan_tool_exec)
{
	char copy[PATH_MAX], *argv[] = {"nmap", "-sS", "127.0.0.1", NULL};
	uint64_t t, dl;
	json_t *ev;
	pid_t pid;

	up(NULL);
	snprintf(copy, sizeof(copy), "%s/nmap", A.dir);
	jbh_copy_file("/bin/true", copy, 0755);
	t = jbh_real_ms();
	dl = jbh_detect_deadline(&A);
	ck_assert_int_eq(jbh_run(copy, argv, RUN_MS, &pid), 0);
	ev = expect("net_scan_tool_exec", pid, dl);
	jbh_check_event(ev, "net_scan_tool_exec", pid, getpid(), copy, t);
	ck_assert_str_eq(jbh_jstr(ev, "process.args"), "nmap -sS 127.0.0.1");
	ck_assert_str_eq(jbh_jstr(ev, "file.path"), copy);
	json_decref(ev);
	down();
}
END_TEST

/* --- network ------------------------------------------------------------- */

static void check_flow(json_t *ev, const char *addr, int port)
{
	char *d = json_dumps(ev, JSON_COMPACT);

	ck_assert_msg(jbh_jstr(ev, "flow.remote.address") &&
			      !strcmp(jbh_jstr(ev, "flow.remote.address"), addr) &&
			      jbh_jint(ev, "flow.remote.port", -1) == port,
		      "flow.remote is not %s:%d: %s", addr, port, d);
	ck_assert_msg(jbh_jstr(ev, "flow.protocol") && !strcmp(jbh_jstr(ev, "flow.protocol"), "tcp"),
		      "%s", d);
	ck_assert_msg(jbh_jstr(ev, "flow.family") && !strcmp(jbh_jstr(ev, "flow.family"), "ipv4"),
		      "%s", d);
	ck_assert_msg(jbh_jstr(ev, "flow.direction") &&
			      !strcmp(jbh_jstr(ev, "flow.direction"), "egress"), "%s", d);
	ck_assert_msg(jbh_jint(ev, "flow.count", 0) >= 1, "%s", d);
	ck_assert_msg(json_object_get(ev, "file") == NULL, "a flow detection has a file: %s", d);
	free(d);
}

static void port_test(const char *kind, const char *port)
{
	char helper[PATH_MAX], *argv[] = {"tcpconn", "connect", "127.0.0.1", (char *)port, NULL};
	char args[64];
	uint64_t t, dl;
	json_t *ev;
	pid_t pid;
	int st;

	up(NULL);
	jbh_helper(helper, sizeof(helper), "tcpconn");
	t = jbh_real_ms();
	dl = jbh_detect_deadline(&A);
	st = jbh_run(helper, argv, RUN_MS, &pid);
	/* nothing listens: refused (1) is expected, connected (0) is fine too */
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) <= 1, "tcpconn: wait status 0x%x", st);
	ev = expect(kind, pid, dl);
	jbh_check_event(ev, kind, pid, getpid(), real(helper), t);
	snprintf(args, sizeof(args), "tcpconn connect 127.0.0.1 %s", port);
	ck_assert_str_eq(jbh_jstr(ev, "process.args"), args);
	check_flow(ev, "127.0.0.1", atoi(port));
	json_decref(ev);
	down();
}

START_TEST(test_stratum_port_access)
{
	port_test("stratum_port_access", "3333");
}
END_TEST

START_TEST(test_suspicious_port_access)
{
	port_test("suspicious_port_access", "4444");
}
END_TEST

START_TEST(test_suspicious_port_ipv6)
{
	char helper[PATH_MAX], *argv[] = {"tcpconn", "connect6", "::1", "4444", NULL};
	uint64_t t, dl;
	json_t *ev;
	pid_t pid;
	int st;

	up(NULL);
	jbh_helper(helper, sizeof(helper), "tcpconn");
	t = jbh_real_ms();
	dl = jbh_detect_deadline(&A);
	st = jbh_run(helper, argv, RUN_MS, &pid);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 3) {
		printf("SKIP: suspicious_port_access over IPv6: no IPv6 sockets here\n");
		down();
		return;
	}
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) <= 1, "tcpconn: wait status 0x%x", st);
	ev = expect("suspicious_port_access", pid, dl);
	jbh_check_event(ev, "suspicious_port_access", pid, getpid(), real(helper), t);
	ck_assert_str_eq(jbh_jstr(ev, "flow.family"), "ipv6");
	ck_assert_str_eq(jbh_jstr(ev, "flow.remote.address"), "::1");
	ck_assert_int_eq(jbh_jint(ev, "flow.remote.port", -1), 4444);
	ck_assert_str_eq(jbh_jstr(ev, "flow.direction"), "egress");
	json_decref(ev);
	down();
}
END_TEST

static int run_ip(char *const argv[])
{
	return jbh_run(ip_bin(), argv, RUN_MS, NULL);
}

START_TEST(test_cloud_metadata_access)
{
	char ns[32], helper[PATH_MAX], line[16] = "", args[PATH_MAX + 64];
	char *add[] = {"ip", "netns", "add", ns, NULL};
	char *del[] = {"ip", "netns", "del", ns, NULL};
	char *lo[] = {"ip", "-n", ns, "link", "set", "lo", "up", NULL};
	char *addr[] = {"ip", "-n", ns, "addr", "add", "169.254.169.254/32", "dev", "lo", NULL};
	char *srv[] = {"ip", "netns", "exec", ns, helper, "listen", "169.254.169.254", "80", NULL};
	char *cli[] = {"ip", "netns", "exec", ns, helper, "connect", "169.254.169.254", "80", NULL};
	struct jbh_io io = {NULL, -1, -1, -1};
	int p[2], st_setup, st_cli = -1, st_srv = -1, ready = 0;
	struct pollfd pfd;
	uint64_t t = 0, dl = 0;
	pid_t srv_pid = -1, cli_pid = -1;
	json_t *ev;

	if (!ip_bin()) {
		printf("SKIP: cloud_metadata_access: no ip(8)\n");
		return;
	}
	up(NULL);
	snprintf(ns, sizeof(ns), "jbtest%d", (int)getpid());
	jbh_helper(helper, sizeof(helper), "tcpconn");
	st_setup = run_ip(add);
	if (st_setup == 0)
		st_setup = run_ip(lo) | run_ip(addr);
	if (st_setup == 0) {
		ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
		io.out = p[1];
		srv_pid = jbh_spawn(ip_bin(), srv, &io);
		close(p[1]);
		pfd.fd = p[0];
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 5000) == 1 && read(p[0], line, sizeof(line) - 1) > 0)
			ready = strncmp(line, "ready", 5) == 0;
		close(p[0]);
		if (ready) {
			t = jbh_real_ms();
			dl = jbh_detect_deadline(&A);
			cli_pid = jbh_spawn(ip_bin(), cli, NULL);
			st_cli = jbh_wait_exit(cli_pid, RUN_MS);
		}
		st_srv = jbh_wait_exit(srv_pid, ready ? RUN_MS : 100);
	}
	/* the namespace goes before any assertion can end the test */
	run_ip(del);
	ck_assert_msg(st_setup == 0, "could not set up namespace %s", ns);
	ck_assert_msg(ready, "the listener in %s did not start", ns);
	ck_assert_msg(st_cli == 0, "connect to 169.254.169.254:80 in %s failed (0x%x)", ns, st_cli);
	ck_assert_msg(st_srv == 0, "the listener did not accept (0x%x)", st_srv);

	ev = expect("cloud_metadata_access", cli_pid, dl);
	/* ip netns exec execs the helper in place: same pid, the test is its parent */
	jbh_check_event(ev, "cloud_metadata_access", cli_pid, getpid(), real(helper), t);
	/* ip passes the command as argv[0] as it was given: the full path */
	snprintf(args, sizeof(args), "%s connect 169.254.169.254 80", helper);
	ck_assert_str_eq(jbh_jstr(ev, "process.args"), args);
	check_flow(ev, "169.254.169.254", 80);
	json_decref(ev);
	down();
}
END_TEST

/* UDP egress (recorded at connect() entry, unlike TCP's SYN_SENT): bash's
 * /dev/udp connects a datagram socket, inside a namespace of our own where
 * the metadata address is on lo; nothing needs to answer. */
START_TEST(test_cloud_metadata_udp)
{
	char ns[32];
	char *add[] = {"ip", "netns", "add", ns, NULL};
	char *del[] = {"ip", "netns", "del", ns, NULL};
	char *lo[] = {"ip", "-n", ns, "link", "set", "lo", "up", NULL};
	char *addr[] = {"ip", "-n", ns, "addr", "add", "169.254.169.254/32", "dev", "lo", NULL};
	char *cli[] = {"ip", "netns", "exec", ns, "/bin/bash", "-c",
		       "exec 3<>/dev/udp/169.254.169.254/53", NULL};
	int st_setup, st_cli = -1;
	uint64_t dl = 0;
	pid_t cli_pid = -1;
	json_t *ev;

	if (!ip_bin() || access("/bin/bash", X_OK) < 0) {
		printf("SKIP: cloud_metadata_udp: no ip(8) or bash\n");
		return;
	}
	up(NULL);
	snprintf(ns, sizeof(ns), "jbtestu%d", (int)getpid());
	st_setup = run_ip(add);
	if (st_setup == 0)
		st_setup = run_ip(lo) | run_ip(addr);
	if (st_setup == 0) {
		dl = jbh_detect_deadline(&A);
		cli_pid = jbh_spawn(ip_bin(), cli, NULL);
		st_cli = jbh_wait_exit(cli_pid, RUN_MS);
	}
	run_ip(del);
	ck_assert_msg(st_setup == 0, "could not set up namespace %s", ns);
	ck_assert_msg(st_cli == 0, "UDP connect to 169.254.169.254:53 in %s failed (0x%x)", ns,
		      st_cli);
	ev = expect("cloud_metadata_access", cli_pid, dl);
	ck_assert_str_eq(jbh_jstr(ev, "flow.protocol"), "udp");
	ck_assert_str_eq(jbh_jstr(ev, "flow.direction"), "egress");
	ck_assert_str_eq(jbh_jstr(ev, "flow.remote.address"), "169.254.169.254");
	ck_assert_int_eq(jbh_jint(ev, "flow.remote.port", -1), 53);
	json_decref(ev);
	down();
}
END_TEST

/* --- negative and dedup -------------------------------------------------- */

static int by_pid(json_t *ev, void *arg)
{
	return jbh_jint(ev, "process.pid", -1) == (long long)*(pid_t *)arg;
}

START_TEST(test_benign_controls)
{
	char *cat[] = {"cat", "/etc/hostname", NULL}, *tru[] = {"true", NULL};
	char *shadow[] = {"cat", "/etc/shadow", NULL};
	pid_t p_cat, p_true, p_sentinel;
	uint64_t window_end, dl;
	json_t *ev;

	up(NULL);
	window_end = jbh_detect_deadline(&A);
	ck_assert_int_eq(jbh_run("/bin/cat", cat, RUN_MS, &p_cat), 0);
	ck_assert_int_eq(jbh_run("/bin/true", tru, RUN_MS, &p_true), 0);
	/* a positive after them: once it is out, their records were examined */
	dl = jbh_detect_deadline(&A);
	ck_assert_int_eq(jbh_run("/bin/cat", shadow, RUN_MS, &p_sentinel), 0);
	ev = expect("credentials_files_access", p_sentinel, dl);
	json_decref(ev);
	/* and the full window, whatever the sentinel says */
	while (jbh_now_ms() < window_end)
		jbh_sleep_ms(20);
	ck_assert_msg(jbh_count_events(&A, by_pid, &p_cat) == 0, "cat /etc/hostname (%d) was "
		      "reported; see %s", (int)p_cat, A.events);
	ck_assert_msg(jbh_count_events(&A, by_pid, &p_true) == 0, "/bin/true (%d) was reported; "
		      "see %s", (int)p_true, A.events);
	down();
}
END_TEST

START_TEST(test_dedup_same_process)
{
	char helper[PATH_MAX], gap[16];
	char *argv[] = {"openfile", "read", "/etc/shadow", "2", gap, NULL};
	struct jbh_match m = {"credentials_files_access", 0, NULL};
	struct jbh_opts o = {.debug_log = 1};
	uint64_t dl;
	json_t *ev;
	pid_t pid;

	up(&o);
	jbh_helper(helper, sizeof(helper), "openfile");
	/* the second open lands in a later snapshot than the first */
	snprintf(gap, sizeof(gap), "%u", 3 * A.o.cadence_ms);
	ck_assert_int_eq(jbh_run(helper, argv, RUN_MS, &pid), 0);
	dl = jbh_detect_deadline(&A); /* counted from the second open */
	m.pid = pid;
	ev = expect("credentials_files_access", pid, dl);
	json_decref(ev);
	while (jbh_now_ms() < dl)
		jbh_sleep_ms(20);
	ck_assert_int_eq(jbh_count_events(&A, jbh_match, &m), 1);
	/* and the second open was examined: the router dropped its duplicate */
	ck_assert_msg(jbh_log_has(&A, "duplicate credentials_files_access"),
		      "the second open was never reported again, so dedup was not exercised "
		      "(log %s)", A.log);
	jbh_stop(&A, STOP_MS);
}
END_TEST

/* --- sandbox ------------------------------------------------------------- */

static char *status_field(const char *status, const char *name, char *buf, size_t n)
{
	char want[32];
	const char *p;
	size_t len;

	snprintf(want, sizeof(want), "\n%s:", name);
	p = strstr(status, want);
	if (!p)
		return NULL;
	p += strlen(want);
	while (*p == ' ' || *p == '\t')
		p++;
	len = strcspn(p, "\n");
	if (len >= n)
		len = n - 1;
	memcpy(buf, p, len);
	buf[len] = '\0';
	return buf;
}

static void fd_target(pid_t pid, int fd, char *buf, size_t n)
{
	char path[64];
	ssize_t r;

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, fd);
	r = readlink(path, buf, n - 1);
	buf[r > 0 ? r : 0] = '\0';
}

static int sup_has_target(const char *target)
{
	char buf[PATH_MAX];

	/* the supervisor holds a few hundred: BPF programs, maps, links */
	for (int fd = 0; fd < 1024; fd++) {
		fd_target(A.pid, fd, buf, sizeof(buf));
		if (buf[0] && !strcmp(buf, target))
			return 1;
	}
	return 0;
}

static void check_confined(const char *kind, pid_t pid)
{
	char path[64], f[128], t[PATH_MAX], want[PATH_MAX], *status;
	const struct jb_kind *k;
	unsigned id;
	int extra = 0;
	DIR *d;
	struct dirent *e;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	status = jbh_slurp(path, NULL);
	ck_assert_msg(status != NULL, "%s: cannot read %s", kind, path);
	/* a uid and gid of its own (child_uid_base + its row): not root, not
	 * nobody, shared with no other process on the host */
	k = jb_kind_find(jb_kinds, jb_nkinds, kind);
	ck_assert_msg(k != NULL, "%s is not a row of the kind table", kind);
	id = JB_CONF_UID_BASE + (unsigned)(k - jb_kinds);
	snprintf(want, sizeof(want), "%u\t%u\t%u\t%u", id, id, id, id);
	ck_assert_msg(status_field(status, "Uid", f, sizeof(f)) && !strcmp(f, want), "%s Uid: %s",
		      kind, f);
	ck_assert_msg(status_field(status, "Gid", f, sizeof(f)) && !strcmp(f, want), "%s Gid: %s",
		      kind, f);
	ck_assert_msg(status_field(status, "Groups", f, sizeof(f)) && f[0] == '\0',
		      "%s keeps supplementary groups: %s", kind, f);
	for (const char *const *cap = (const char *const[]){"CapInh", "CapPrm", "CapEff", "CapBnd",
							       "CapAmb", NULL}; *cap; cap++)
		ck_assert_msg(status_field(status, *cap, f, sizeof(f)) &&
				      !strcmp(f, "0000000000000000"), "%s %s: %s", kind, *cap, f);
	ck_assert_msg(status_field(status, "NoNewPrivs", f, sizeof(f)) && !strcmp(f, "1"),
		      "%s NoNewPrivs: %s", kind, f);
	ck_assert_msg(status_field(status, "Seccomp", f, sizeof(f)) && !strcmp(f, "2"),
		      "%s Seccomp: %s", kind, f);
	free(status);
	/* its environment is its own, not what the agent was started with
	 * (the harness starts it with the test's: HOME, JIBRIL_BIN...) */
	{
		static const char want_env[] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin\0LC_ALL=C\0";
		size_t n = 0;
		char *env;

		snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
		env = jbh_slurp(path, &n);
		ck_assert_msg(env != NULL, "%s: cannot read %s", kind, path);
		ck_assert_msg(n == sizeof(want_env) - 1 && !memcmp(env, want_env, n),
			      "%s's environment is not the children's own (%zu bytes)", kind, n);
		free(env);
	}

	/* fds: exactly what the supervisor handed over, plus what libevent
	 * made for itself (its epoll fd and its signal pipe), nothing else */
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	ck_assert_msg(d != NULL, "%s: %s", kind, path);
	while ((e = readdir(d))) {
		int fd;

		if (e->d_name[0] == '.')
			continue;
		fd = atoi(e->d_name);
		fd_target(pid, fd, t, sizeof(t));
		switch (fd) {
		case 0:
			ck_assert_msg(!strcmp(t, "/dev/null"), "%s fd 0 is %s", kind, t);
			break;
		case 1:
			/* only the stdout printer holds the operator's stdout: a
			 * compromised worker must not write detections into it */
			if (k->operator_stdout)
				ck_assert_msg(!strcmp(t, real(A.out)), "%s fd 1 is %s", kind, t);
			else
				ck_assert_msg(!strcmp(t, "/dev/null"), "%s fd 1 is %s, not /dev/null",
					      kind, t);
			break;
		case 2:
			/* a pipe only the supervisor reads (into its log) */
			ck_assert_msg(!strncmp(t, "pipe:[", 6) && sup_has_target(t),
				      "%s fd 2 is %s, not a pipe the supervisor reads", kind, t);
			ck_assert_msg(strcmp(t, real(A.log)) != 0, "%s holds the supervisor's log",
				      kind);
			break;
		case 3:
			ck_assert_msg(!strncmp(t, "socket:[", 8), "%s fd 3 is %s", kind, t);
			break;
		default:
			if (fd == 4 && !strcmp(kind, "file")) {
				snprintf(want, sizeof(want), "%s", real(A.events));
				ck_assert_msg(!strcmp(t, want), "file printer fd 4 is %s", t);
				break;
			}
			ck_assert_msg(!strcmp(t, "anon_inode:[eventpoll]") || !strncmp(t, "pipe:[", 6),
				      "%s[%d] holds fd %d -> %s", kind, (int)pid, fd, t);
			/* a pipe:[inode] names one pipe: not one of the supervisor's */
			ck_assert_msg(strncmp(t, "pipe:[", 6) || !sup_has_target(t),
				      "%s fd %d (%s) is shared with the supervisor", kind, fd, t);
			extra++;
		}
	}
	closedir(d);
	ck_assert_msg(extra <= 3, "%s holds %d fds beyond 0-3%s", kind, extra,
		      !strcmp(kind, "file") ? ",4" : "");
	if (!strcmp(kind, "file")) {
		fd_target(pid, 4, t, sizeof(t));
		ck_assert_msg(t[0] != '\0', "the file printer has no fd 4");
	}
}

/* The child runs its row's executable (common/kind.h, bin), the one next
 * to the supervisor's in the build tree: /proc/PID/exe names the file the
 * kernel executed, whatever argv[0] says. */
static void check_exe(const char *kind, pid_t pid)
{
	const struct jb_kind *k = jb_kind_find(jb_kinds, jb_nkinds, kind);
	char dir[PATH_MAX], want[PATH_MAX + 32], path[64], t[PATH_MAX + 32];
	ssize_t n;

	ck_assert_msg(k != NULL, "no row for kind %s", kind);
	ck_assert_msg(realpath(jbh_bin(), dir) != NULL, "%s: %s", jbh_bin(), strerror(errno));
	*strrchr(dir, '/') = '\0';
	snprintf(want, sizeof(want), "%s/%s", dir, jb_bin_names[k->bin]);
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	n = readlink(path, t, sizeof(t) - 1);
	ck_assert_msg(n > 0, "%s: %s", path, strerror(errno));
	t[n] = '\0';
	ck_assert_msg(!strcmp(t, want), "%s[%d] runs %s, not %s", kind, (int)pid, t, want);
}

START_TEST(test_sandbox)
{
	struct jbh_opts o = {.stdout_printer = 1};

	up(&o);
	ck_assert_int_eq(A.nkinds, 6);
	for (int i = 0; i < A.nkinds; i++) {
		pid_t pid = jbh_child_pid(&A, A.kinds[i]);

		ck_assert_msg(pid > 0, "no %s child", A.kinds[i]);
		check_confined(A.kinds[i], pid);
		check_exe(A.kinds[i], pid);
	}
	down();
}
END_TEST

/* --- clean stop ---------------------------------------------------------- */

/* names of the programs in one source file (the line after each SEC; a
 * syscall hook's "int JB_SYS_ENTER(name, sys)" names its tracepoint
 * program, whose fentry/fexit twin is name_fe: bpf/syscall_hook.bpf.h) */
static int bpf_names_in(const char *file, char names[][16], int max)
{
	char path[PATH_MAX], *src, *p;
	int n = 0;

	snprintf(path, sizeof(path), "%s/bpf/%s", jbh_src(), file);
	src = jbh_slurp(path, NULL);
	ck_assert_msg(src != NULL, "cannot read %s", path);
	for (p = src; n < max && (p = strstr(p, "\nSEC(\"")); ) {
		char *nl = strchr(p + 1, '\n'), *s, *e;

		if (!nl)
			break;
		s = nl + 1;
		if (!strncmp(s, "int BPF_PROG(", 13))
			s += 13;
		else if (!strncmp(s, "int JB_SYS_ENTER(", 17) || !strncmp(s, "int JB_SYS_EXIT(", 16))
			s = strchr(s, '(') + 1;
		else if (!strncmp(s, "int ", 4))
			s += 4;
		e = s + strcspn(s, "(,");
		if (e > s) {
			size_t l = (size_t)(e - s) < 15 ? (size_t)(e - s) : 15;
			memcpy(names[n], s, l);
			names[n][l] = '\0';
			n++;
		}
		p = nl;
	}
	free(src);
	return n;
}

/* the programs of bpf/jibril.bpf.c and the headers that hold programs
 * (tracepoints there; cgroup_skb for DNS in dns.bpf.h; the tamper hooks
 * in tamper.bpf.h) */
static int bpf_names(char names[][16], int max)
{
	int n = bpf_names_in("jibril.bpf.c", names, max);
	n += bpf_names_in("dns.bpf.h", names + n, max - n);
	n += bpf_names_in("io_uring.bpf.h", names + n, max - n);
	return n + bpf_names_in("tamper.bpf.h", names + n, max - n);
}

/* prog ids behind the supervisor's bpf-prog fds */
static int agent_prog_ids(pid_t pid, unsigned *ids, int max)
{
	char path[64], t[64], *info;
	int n = 0;

	for (int fd = 0; fd < 1024 && n < max; fd++) {
		snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, fd);
		ssize_t r = readlink(path, t, sizeof(t) - 1);
		if (r <= 0)
			continue;
		t[r] = '\0';
		if (strcmp(t, "anon_inode:bpf-prog") != 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", (int)pid, fd);
		info = jbh_slurp(path, NULL);
		if (info && strstr(info, "prog_id:"))
			ids[n++] = (unsigned)strtoul(strstr(info, "prog_id:") + 8, NULL, 10);
		free(info);
	}
	return n;
}

START_TEST(test_clean_stop)
{
	char names[128][16];
	unsigned ids[128];
	int nnames, nids, disabled = 0, left;
	uint64_t t0, deadline;
	char *log;

	nnames = bpf_names(names, 128);
	ck_assert_msg(nnames >= 10, "found only %d programs in bpf/jibril.bpf.c", nnames);
	up(NULL);
	/* the programs the start-up disabled: its lines before the load's */
	log = jbh_log_read(&A);
	{
		char *loaded = strstr(log, "BPF object loaded and attached");

		ck_assert_msg(loaded != NULL, "no load line in %s", A.log);
		*loaded = '\0';
	}
	for (char *p = log; (p = strstr(p, " disabled")); p++)
		disabled++;
	free(log);
	nids = agent_prog_ids(A.pid, ids, 128);
	ck_assert_msg(nids == nnames - disabled, "the agent holds %d programs; the source has %d "
		      "(%d disabled)", nids, nnames, disabled);
	for (int i = 0; i < nids; i++) {
		struct bpf_prog_info info;
		__u32 len = sizeof(info);
		int fd = bpf_prog_get_fd_by_id(ids[i]), known = 0;

		ck_assert_msg(fd >= 0, "prog id %u: %s", ids[i], strerror(errno));
		memset(&info, 0, sizeof(info));
		ck_assert_int_eq(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
		close(fd);
		for (int k = 0; k < nnames; k++) {
			char twin[32];

			snprintf(twin, sizeof(twin), "%.15s_fe", names[k]);
			twin[15] = '\0'; /* the kernel keeps 15 characters of a name */
			known |= !strcmp(info.name, names[k]) || !strcmp(info.name, twin);
		}
		ck_assert_msg(known, "program %u '%s' is not one of bpf/jibril.bpf.c", ids[i],
			      info.name);
	}
	t0 = jbh_now_ms();
	/* exit 0 within 5 s, children gone; the shared agent's last test */
	if (shared)
		jbh_stop_unparented(&A, STOP_MS);
	else
		jbh_stop(&A, STOP_MS);
	printf("timing: SIGTERM to exit %llu ms\n", (unsigned long long)(jbh_now_ms() - t0));

	/* the kernel frees a program when its last reference goes; allow the
	 * deferred part of that a moment */
	deadline = jbh_now_ms() + 3000;
	do {
		left = 0;
		for (int i = 0; i < nids; i++) {
			int fd = bpf_prog_get_fd_by_id(ids[i]);
			if (fd >= 0) {
				left++;
				close(fd);
			}
		}
		if (left)
			jbh_sleep_ms(20);
	} while (left && jbh_now_ms() < deadline);
	ck_assert_msg(left == 0, "%d of the agent's %d BPF programs are still loaded after it "
		      "exited", left, nids);
}
END_TEST

/* --- command line and configuration errors ------------------------------- */

/* Runs jibril ARGS with stdout/stderr in files; with no_bpf, under a
 * seccomp filter that kills it on bpf() or perf_event_open(), so "did not
 * load anything" is a fact rather than a guess. Returns the wait status. */
static int jibril_cmd(const char *dir, char *const args[], int no_bpf, char **out, char **err)
{
	char po[PATH_MAX], pe[PATH_MAX], *argv[8] = {"jibril"};
	int fo, fe, st, i;
	pid_t pid;

	for (i = 0; args[i] && i < 6; i++)
		argv[i + 1] = args[i];
	argv[i + 1] = NULL;
	snprintf(po, sizeof(po), "%s/cmd.out", dir);
	snprintf(pe, sizeof(pe), "%s/cmd.err", dir);
	fo = open(po, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	fe = open(pe, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert(fo >= 0 && fe >= 0);
	fflush(NULL);
	pid = fork();
	ck_assert(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (dup2(fo, 1) < 0 || dup2(fe, 2) < 0)
			_exit(126);
		if (no_bpf) {
			scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
			if (!ctx || seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS, SCMP_SYS(bpf), 0) ||
			    seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS, SCMP_SYS(perf_event_open), 0) ||
			    seccomp_load(ctx))
				_exit(125);
		}
		execv(jbh_bin(), argv);
		_exit(127);
	}
	close(fo);
	close(fe);
	st = jbh_wait_exit(pid, 10000);
	*out = jbh_slurp(po, NULL);
	*err = jbh_slurp(pe, NULL);
	ck_assert(*out && *err);
	return st;
}

START_TEST(test_config_errors)
{
	char dir[] = "/tmp/jbtest.XXXXXX", bad[PATH_MAX], good[PATH_MAX], ev[PATH_MAX];
	char want[PATH_MAX + 8], *out, *err;
	FILE *f;
	int st;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(bad, sizeof(bad), "%s/bad.conf", dir);
	snprintf(good, sizeof(good), "%s/good.conf", dir);
	snprintf(ev, sizeof(ev), "%s/events.json", dir);
	/* the error is on the last line, after a file printer is named */
	f = fopen(bad, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "[printers]\nstdout = no\nfile = %s\n[agent]\ncadence_ms = 10\n", ev);
	fclose(f);
	f = fopen(good, "w");
	ck_assert_ptr_nonnull(f);
	/* its own audit log: the default one may belong to a running agent */
	fprintf(f, "[printers]\nstdout = no\nfile = %s\n[agent]\ncadence_ms = 200\n"
		"[audit]\nfile = %s/audit.log\nkey = %s/audit.key\n", ev, dir, dir);
	fclose(f);
	ck_assert_int_eq(chmod(good, 0600), 0); /* jibril refuses one others may write */
	snprintf(want, sizeof(want), "%s:5:", bad);

	st = jibril_cmd(dir, (char *const[]){"--check-config", bad, NULL}, 0, &out, &err);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) != 0, "--check-config of a bad file: 0x%x", st);
	ck_assert_msg(strstr(err, want) != NULL, "no '%s' in: %s", want, err);
	free(out);
	free(err);

	st = jibril_cmd(dir, (char *const[]){"--check-config", good, NULL}, 0, &out, &err);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "--check-config of a good file: 0x%x",
		      st);
	snprintf(want, sizeof(want), "%s: ok", good);
	ck_assert_msg(strstr(out, want) != NULL, "no '%s' in: %s", want, out);
	free(out);
	free(err);

	/* --config with a bad file: refused before any bpf() */
	st = jibril_cmd(dir, (char *const[]){"--config", bad, NULL}, 1, &out, &err);
	ck_assert_msg(!WIFSIGNALED(st) || WTERMSIG(st) != SIGSYS,
		      "jibril --config BAD called bpf()/perf_event_open() before refusing it");
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) != 0, "--config BAD: wait status 0x%x", st);
	snprintf(want, sizeof(want), "%s:5:", bad);
	ck_assert_msg(strstr(err, want) != NULL, "no '%s' in: %s", want, err);
	ck_assert_msg(access(ev, F_OK) < 0, "the file printer's output was created");
	free(out);
	free(err);

	/* control: the same filter does stop a good configuration at its first
	 * bpf(), so the check above could fail */
	st = jibril_cmd(dir, (char *const[]){"--config", good, NULL}, 1, &out, &err);
	ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS,
		      "a good config under the no-bpf filter ended with 0x%x: %s", st, err);
	free(out);
	free(err);

	st = jibril_cmd(dir, (char *const[]){"--help", NULL}, 1, &out, &err);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "--help: 0x%x", st);
	ck_assert_msg(strstr(out, "usage: jibril") != NULL, "--help printed: %s", out);
	free(out);
	free(err);

	st = jibril_cmd(dir, (char *const[]){"--version", NULL}, 1, &out, &err);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "--version: 0x%x", st);
	ck_assert_msg(!strncmp(out, "jibril ", 7) && out[7] >= '0' && out[7] <= '9',
		      "--version printed: %s", out);
	free(out);
	free(err);

	st = jibril_cmd(dir, (char *const[]){"--no-such-option", NULL}, 1, &out, &err);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) != 0, "an unknown option: 0x%x", st);
	ck_assert_msg(strstr(err, "usage: jibril") != NULL, "an unknown option printed: %s", err);
	free(out);
	free(err);

	st = jibril_cmd(dir, (char *const[]){"--config", "/nonexistent/jibril.conf", NULL}, 1, &out,
			&err);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) != 0, "a missing config: 0x%x", st);
	ck_assert_msg(strstr(err, "/nonexistent/jibril.conf") != NULL, "missing config: %s", err);
	free(out);
	free(err);

	snprintf(want, sizeof(want), "rm -rf -- '%s'", dir);
	ck_assert_int_eq(system(want), 0);
}
END_TEST

/* --- kernel data: fd actions ------------------------------------------- */

/* The agent's own map named name: found through the supervisor's fds, so
 * that another agent on the machine cannot answer. -1: none. */
static int agent_map(const char *name)
{
	char dir[64], path[PATH_MAX], line[128];
	struct dirent *de;
	DIR *d;
	int found = -1;

	snprintf(dir, sizeof(dir), "/proc/%d/fdinfo", (int)A.pid);
	d = opendir(dir);
	ck_assert_msg(d != NULL, "%s: %s", dir, strerror(errno));
	while (found < 0 && (de = readdir(d)) != NULL) {
		unsigned id = 0;
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "map_id: %u", &id) == 1)
				break;
		fclose(f);
		if (id) {
			struct bpf_map_info info;
			__u32 len = sizeof(info);
			int fd = bpf_map_get_fd_by_id(id);

			if (fd < 0)
				continue;
			memset(&info, 0, sizeof(info));
			if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && !strcmp(info.name, name))
				found = fd;
			else
				close(fd);
		}
	}
	closedir(d);
	return found;
}

/* jb_links record of (process pid's live image, file path): 0, or -1 if
 * there is none */
static int link_get(int links_fd, uint64_t seed, pid_t pid, const char *path, struct jb_link *out)
{
	union {
		char c[JB_PATH_LEN];
		uint64_t w[JB_PATH_LEN / 8];
	} buf;
	struct jb_link_key k;
	int tasks_fd = agent_map("jb_tasks");

	ck_assert_msg(tasks_fd >= 0, "no jb_tasks map");
	memset(&buf, 0, sizeof(buf));
	snprintf(buf.c, sizeof(buf.c), "%s", path);
	k.task_key = jbh_image_key(tasks_fd, seed, pid);
	k.file_key = jb_hash_path(seed, buf.c);
	close(tasks_fd);
	return bpf_map_lookup_elem(links_fd, &k, out) ? -1 : 0;
}

/* jb_links actions of (process pid, file path); 0: no link */
static uint32_t link_actions(int links_fd, uint64_t seed, pid_t pid, const char *path)
{
	struct jb_link l;

	return link_get(links_fd, seed, pid, path, &l) ? 0 : l.actions;
}

/* fsync/fdatasync/sync_file_range -> fsync, flock(LOCK_EX) -> flock,
 * fcntl(F_SETFL, O_ASYNC) -> fasync, read straight from jb_links (no
 * recipe needs them yet); a file only opened, unlocked (LOCK_UN), given
 * another F_SETFL flag, lseek'd and closed gets none of them, nor close
 * or llseek, which are never recorded. */
START_TEST(test_fd_actions_in_map)
{
	char dir[] = "/tmp/jb-fdact.XXXXXX", a[256], b[256], cmd[64];
	const uint32_t flushlock = JB_ACT_FSYNC | JB_ACT_FLOCK | JB_ACT_FASYNC;
	int go[2], done[2], meta_fd, links_fd;
	uint32_t zero = 0, acts_a = 0, acts_b = 0;
	struct jb_meta meta;
	uint64_t dl;
	pid_t pid;
	char c;

	ck_assert(mkdtemp(dir) != NULL);
	/* real() of a fresh /tmp/jb-fdact.XXXXXX: short */
	ck_assert_int_lt(snprintf(a, sizeof(a), "%.200s/synced", real(dir)), (int)sizeof(a));
	ck_assert_int_lt(snprintf(b, sizeof(b), "%.200s/plain", real(dir)), (int)sizeof(b));
	up(NULL);
	ck_assert_int_eq(pipe(go), 0);
	ck_assert_int_eq(pipe(done), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int fa, fb, ok = 1;

		close(go[0]);
		close(done[1]);
		fa = open(a, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		fb = open(b, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		ok &= fa >= 0 && fb >= 0 && write(fa, "x", 1) == 1;
		ok &= fsync(fa) == 0 && fdatasync(fa) == 0;
		ok &= sync_file_range(fa, 0, 1, SYNC_FILE_RANGE_WRITE) == 0;
		ok &= flock(fa, LOCK_EX) == 0 && flock(fa, LOCK_UN) == 0;
		ok &= fcntl(fa, F_SETFL, O_ASYNC) == 0;
		ok &= flock(fb, LOCK_UN) == 0 && fcntl(fb, F_SETFL, O_NONBLOCK) == 0;
		ok &= lseek(fb, 0, SEEK_END) >= 0 && close(fb) == 0 && close(fa) == 0;
		c = ok ? 'y' : 'n';
		if (write(go[1], &c, 1) != 1)
			_exit(1);
		/* stay alive (the task key needs /proc/PID/stat) until the
		 * test is done or gone */
		if (read(done[0], &c, 1) < 0)
			_exit(1);
		_exit(0);
	}
	close(go[1]);
	close(done[0]);
	ck_assert_int_eq(read(go[0], &c, 1), 1);
	ck_assert_msg(c == 'y', "the child's file calls failed");

	meta_fd = agent_map("jb_meta");
	links_fd = agent_map("jb_links");
	ck_assert_msg(meta_fd >= 0 && links_fd >= 0, "the agent's jb_meta/jb_links not found");
	ck_assert_int_eq(bpf_map_lookup_elem(meta_fd, &zero, &meta), 0);
	ck_assert_uint_eq(meta.layout_version, JB_LAYOUT_VERSION);
	/* the programs ran inside the child's syscalls: the links are there
	 * already; the deadline only covers an unexpected delay */
	dl = jbh_now_ms() + 3000;
	do {
		acts_a = link_actions(links_fd, meta.seed, pid, a);
		acts_b = link_actions(links_fd, meta.seed, pid, b);
		if ((acts_a & flushlock) == flushlock && (acts_b & JB_ACT_OPEN))
			break;
		jbh_sleep_ms(50);
	} while (jbh_now_ms() < dl);
	close(done[1]);
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
	ck_assert_msg((acts_a & flushlock) == flushlock, "%s: actions 0x%x lack 0x%x", a, acts_a,
		      flushlock & ~acts_a);
	ck_assert(acts_a & JB_ACT_OPEN);
	ck_assert_msg(acts_b & JB_ACT_OPEN, "%s: no link (actions 0x%x)", b, acts_b);
	ck_assert_msg(!(acts_b & flushlock), "%s: actions 0x%x", b, acts_b);
	ck_assert(!((acts_a | acts_b) & (JB_ACT_CLOSE | JB_ACT_LLSEEK)));
	close(meta_fd);
	close(links_fd);
	down();
	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* The agent's query epoch (jb_epoch in the .bss of bpf/jibril.bpf.c). */
static uint64_t agent_epoch(int bss_fd)
{
	struct jibril_bpf__bss bss;
	uint32_t zero = 0;

	ck_assert_int_eq(bpf_map_lookup_elem(bss_fd, &zero, &bss), 0);
	return bss.jb_epoch;
}

static uint64_t wait_epoch_after(int bss_fd, uint64_t e, unsigned ms)
{
	uint64_t dl = jbh_now_ms() + ms, now;

	while ((now = agent_epoch(bss_fd)) == e && jbh_now_ms() < dl)
		jbh_sleep_ms(10);
	ck_assert_msg(now != e, "the agent's query epoch stayed at %llu for %u ms",
		      (unsigned long long)e, ms);
	return now;
}

/* jb_pathgen {busy, gen}: renames and mount-tree syscalls anywhere */
static void agent_pathgen(int fd, int64_t *busy, uint64_t *gen)
{
	uint64_t v[2];
	uint32_t zero = 0;

	ck_assert_int_eq(bpf_map_lookup_elem(fd, &zero, v), 0);
	memcpy(busy, &v[0], sizeof(*busy));
	*gen = v[1];
}

/* The re-open cache (jb_seen) and the query epoch: repeats of a link inside
 * one epoch (between two queries) change no record, the first repeat after
 * a query refreshes the link's last_ns, so the next query sees it again. */
START_TEST(test_reopen_epoch)
{
	char dir[] = "/tmp/jb-epoch.XXXXXX", f[256], cmd[64];
	int go[2], ctl[2], meta_fd, links_fd, bss_fd, gen_fd, attempt;
	int64_t busy0, busy1;
	uint64_t gen0, gen1;
	struct jb_link l1, l2;
	struct jb_meta meta;
	uint32_t zero = 0;
	uint64_t e0 = 0, e1 = 0;
	pid_t pid = -1;
	char c;

	ck_assert(mkdtemp(dir) != NULL);
	ck_assert_int_lt(snprintf(f, sizeof(f), "%.200s/reopened", real(dir)), (int)sizeof(f));
	{
		int fd = open(f, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

		ck_assert_int_ge(fd, 0);
		close(fd);
	}
	up(NULL);
	meta_fd = agent_map("jb_meta");
	bss_fd = agent_map("jibril_b.bss");
	links_fd = agent_map("jb_links");
	gen_fd = agent_map("jb_pathgen");
	ck_assert_msg(meta_fd >= 0 && links_fd >= 0 && bss_fd >= 0 && gen_fd >= 0,
		      "the agent's jb_meta/jb_links/jb_pathgen/.bss not found");
	ck_assert_int_eq(bpf_map_lookup_elem(meta_fd, &zero, &meta), 0);

	/* a child opens f once, then 2000 more times at once: retried until
	 * no query fell inside those opens (the epoch is the same after them)
	 * and no rename or mount-tree syscall anywhere on the host did either
	 * (either one rightly makes the cache walk the path again) */
	for (attempt = 0; attempt < 5; attempt++) {
		ck_assert_int_eq(pipe(go), 0);
		ck_assert_int_eq(pipe(ctl), 0);
		e0 = agent_epoch(bss_fd);
		agent_pathgen(gen_fd, &busy0, &gen0);
		pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			int ok = 1;

			close(go[0]);
			close(ctl[1]);
			for (int i = 0; i < 2001 && ok; i++) {
				int fd = open(f, O_RDONLY | O_CLOEXEC);

				ok = fd >= 0 && close(fd) == 0;
			}
			c = ok ? 'y' : 'n';
			if (write(go[1], &c, 1) != 1)
				_exit(1);
			/* 'r': open once more; EOF: done */
			while (read(ctl[0], &c, 1) == 1) {
				int fd = open(f, O_RDONLY | O_CLOEXEC);

				c = fd >= 0 && close(fd) == 0 ? 'y' : 'n';
				if (write(go[1], &c, 1) != 1)
					_exit(1);
			}
			_exit(0);
		}
		close(go[1]);
		close(ctl[0]);
		ck_assert_int_eq(read(go[0], &c, 1), 1);
		ck_assert_msg(c == 'y', "the child's opens failed");
		e1 = agent_epoch(bss_fd);
		agent_pathgen(gen_fd, &busy1, &gen1);
		if (e1 == e0 && gen1 == gen0 && busy0 <= 0 && busy1 <= 0)
			break;
		close(ctl[1]);
		close(go[0]);
		ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
	}
	ck_assert_msg(e1 == e0 && gen1 == gen0,
		      "a query or a rename fell inside 2001 opens in each of 5 tries");
	ck_assert_msg(link_get(links_fd, meta.seed, pid, f, &l1) == 0, "no link %d -> %s", (int)pid,
		      f);
	ck_assert_msg(l1.last_ns == l1.first_ns,
		      "2001 opens inside one query epoch rewrote the link (first %llu last %llu)",
		      (unsigned long long)l1.first_ns, (unsigned long long)l1.last_ns);

	/* after the next query: one more open refreshes last_ns */
	wait_epoch_after(bss_fd, e1, 5000);
	c = 'r';
	ck_assert_int_eq(write(ctl[1], &c, 1), 1);
	ck_assert_int_eq(read(go[0], &c, 1), 1);
	ck_assert_msg(c == 'y', "the child's re-open failed");
	ck_assert_int_eq(link_get(links_fd, meta.seed, pid, f, &l2), 0);
	ck_assert_uint_eq(l2.first_ns, l1.first_ns);
	ck_assert_msg(l2.last_ns > l1.last_ns, "a re-open after a query left last_ns at %llu",
		      (unsigned long long)l2.last_ns);

	close(ctl[1]);
	close(go[0]);
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
	close(meta_fd);
	close(links_fd);
	close(bss_fd);
	close(gen_fd);
	down();
	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* --- suite --------------------------------------------------------------- */

static void sweep(void)
{
	jbh_kill_leftovers();
}

/* unchecked fixtures of a shared TCase: in the runner process */
static void shared_up(void)
{
	const struct jbh_opts o = {.stdout_printer = 1};

	shared = 0;
	jbh_start_ready(&A, &o, READY_MS);
	shared = 1;
}

/* test_clean_stop stopped it; this reaps it (and ends it if that test did
 * not): Check 0.15 has no report for a failure in an unchecked teardown */
static void shared_down(void)
{
	jbh_reap(&A);
	shared = 0;
}

/* A TCase whose tests (NULL-terminated; the last stops it) share one
 * agent (see the top). Check runs teardowns in the reverse order of
 * adding: the reap, then the sweep. */
static void add_shared(Suite *s, const char *name, const TTest *const *t)
{
	TCase *tc = tcase_create(name);

	tcase_set_timeout(tc, 60);
	tcase_add_unchecked_fixture(tc, NULL, sweep);
	tcase_add_unchecked_fixture(tc, shared_up, shared_down);
	for (; *t; t++)
		tcase_add_test(tc, *t);
	suite_add_tcase(s, tc);
}

static void add(Suite *s, const char *name, const TTest *t1, const TTest *t2)
{
	TCase *tc = tcase_create(name);

	tcase_set_timeout(tc, 60);
	tcase_add_unchecked_fixture(tc, NULL, sweep);
	tcase_add_test(tc, t1);
	if (t2)
		tcase_add_test(tc, t2);
	suite_add_tcase(s, tc);
}

int main(void)
{
	Suite *s = suite_create("integration");
	SRunner *sr;
	int failed;

	jbh_main_init("check_integration");
	/* the sandbox first: it reads each child's fds before anything else ran */
	add_shared(s, "shared_agent", (const TTest *const[]){test_sandbox,
		   test_credentials_absolute, test_credentials_relative, test_binary_self_deletion,
		   test_ssh_auth_keys_modification, test_benign_controls,
		   test_hidden_exec_from_tmp, test_hidden_script_relative, test_data_encoder_exec,
		   test_net_scan_tool_exec,
		   test_stratum_port_access, test_suspicious_port_access, test_suspicious_port_ipv6,
		   test_cloud_metadata_access, test_cloud_metadata_udp,
		   test_fd_actions_in_map, test_reopen_epoch, test_clean_stop, NULL});
	add(s, "dedup", test_dedup_same_process, NULL);
	add(s, "config_errors", test_config_errors, NULL);
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	jbh_kill_leftovers();
	return failed ? 1 : 0;
}
