/*
 * check_tamper.c - the tamper hooks on the real kernel (root): each class
 * of act on the running agent, performed for real by a process of the
 * test's own, must come out of the printer as a critical tamper_*
 * detection naming that process; each benign twin must not.
 *
 * How a twin is proven silent without a sleep: the twin runs first, then a
 * real trigger of the same class from another process; once the trigger's
 * detection is out, the cadence that carried the twin's act (if it left
 * one) has been examined too, and the events file holds nothing for the
 * twin's pid.
 *
 * Each act runs in a forked child so that its pid names it alone (and the
 * times limits, per process, never hide one act behind another).
 *
 * The coverage table (tests/triggers/coverage.sh, docs/DETECTIONS.md) reads
 * the tamper-trigger / tamper-twin lines below.
 */
/* tamper-trigger tamper_bpf_map_write: bpf() update, delete, batch update, batch delete and freeze of the running agent's own maps, each from a process of its own */
/* tamper-twin tamper_bpf_map_write: the supervisor's own map writes (a restarted child's row in jb_agent) and bpftool reading the agent's maps */
/* tamper-trigger tamper_bpf_program: load a cgroup_skb program, attach and detach it on a test cgroup, create and detach a link */
/* tamper-twin tamper_bpf_program: bpftool prog list (read-only queries) */
/* tamper-trigger tamper_kernel_module: delete_module, finit_module and init_module attempts with [tamper] raw_syscall_hook = yes (this kernel has no modules: each fails) */
/* tamper-twin tamper_kernel_module: a process making ordinary syscalls (uname, getpid) */
/* tamper-trigger tamper_agent_signal: SIGSTOP and SIGKILL to workers, SIGTERM to a worker, SIGSTOP/SIGCONT to the supervisor, fcntl(F_SETOWN) of a pipe to a worker, SIGTERM to the supervisor (reported by its last query) */
/* tamper-twin tamper_agent_signal: the supervisor's own SIGTERM and SIGKILL of a hung worker */
/* tamper-trigger tamper_agent_ptrace: PTRACE_SEIZE and PTRACE_ATTACH of a worker, then detach */
/* tamper-twin tamper_agent_ptrace: PTRACE_SEIZE of a process that is not the agent's */
/* tamper-trigger tamper_agent_memory: process_vm_readv and process_vm_writev on a worker, open of /proc/PID/mem, pidfd_getfd of a worker's descriptor */
/* tamper-twin tamper_agent_memory: open of /proc/PID/status of a worker, and /proc/PID/mem of a process that is not the agent's */
/* tamper-trigger tamper_agent_files: append to jibril.conf, chmod 0644 and chown of a recipe, truncate, rename and unlink recipes, rename the running binary */
/* tamper-twin tamper_agent_files: read jibril.conf, list and read the recipes, chmod 0600 of a recipe */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <linux/filter.h>

#include "agent_harness.h"
#include "common/cgroup2.h"
#include "common/kind.h"

#define READY_MS 10000
#define STOP_MS 10000

static struct jbh_agent A;

/* --- helpers ------------------------------------------------------------- */

/* Run fn(arg) in a forked child that exits with its result (0 ok); the
 * child's pid, after it ended. */
static pid_t act(int (*fn)(void *), void *arg)
{
	int st;
	pid_t p = fork();

	ck_assert_int_ge(p, 0);
	if (p == 0)
		_exit(fn(arg));
	ck_assert_int_eq(waitpid(p, &st, 0), p);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "act %d failed: status %#x", (int)p,
		      st);
	return p;
}

struct tmatch {
	const char *kind;
	pid_t pid;
	const char *operation; /* NULL: any */
};

static int tmatch(json_t *ev, void *arg)
{
	const struct tmatch *m = arg;
	const char *k = jbh_jstr(ev, "kind"), *op = jbh_jstr(ev, "tamper.operation");

	return k && !strcmp(k, m->kind) && jbh_jint(ev, "process.pid", -1) == m->pid &&
	       (!m->operation || (op && !strcmp(op, m->operation)));
}

/* the detection of kind by pid (with that operation): critical, a tamper
 * object, the actor's context */
static json_t *wait_tamper(const char *kind, pid_t pid, const char *operation)
{
	struct tmatch m = {kind, pid, operation};
	json_t *ev = jbh_wait_event(&A, tmatch, &m, jbh_detect_deadline(&A) + 2000);

	ck_assert_msg(ev != NULL, "no %s (%s) for pid %d (events %s, log %s)", kind,
		      operation ? operation : "any", (int)pid, A.events, A.log);
	ck_assert_str_eq(jbh_jstr(ev, "importance"), "critical");
	ck_assert_str_eq(jbh_jstr(ev, "mechanism"), "tamper");
	ck_assert_int_eq(jbh_jint(ev, "tamper.actor.pid", -1), pid);
	ck_assert_int_eq(jbh_jint(ev, "process.ppid", -1), getpid());
	return ev;
}

static int count_for(const char *kind, pid_t pid)
{
	struct tmatch m = {kind, pid, NULL};

	return jbh_count_events(&A, tmatch, &m);
}

static void up(const char *extra)
{
	struct jbh_opts o = {.extra_conf = extra};

	jbh_start(&A, &o);
	jbh_wait_all_ready(&A, READY_MS);
}

/* --- an agent shared by the tests of a TCase ------------------------------ */

/* Starting an agent (the BPF load) is most of a test's time, so the tests
 * that need the same configuration share one: started by an unchecked
 * fixture in the runner, which the tests fork from; its last test stops it
 * (test_shared_stop) and the teardown only reaps it. Sharing is sound
 * here: every act is its own process and every assertion names its pid;
 * the tamper recipes' times limits (per exe: 20) hold every act of a TCase;
 * no shared test kills the supervisor or looks for a log line another test
 * would write. */
static void shared_up(void)
{
	jbh_start_ready(&A, NULL, READY_MS);
}

static void shared_up_raw_hook(void)
{
	const struct jbh_opts o = {.extra_conf = "[tamper]\nraw_syscall_hook = yes\n"};

	jbh_start_ready(&A, &o, READY_MS);
}

static void shared_down(void)
{
	jbh_reap(&A);
}

/* In a shared test: the agent is up and every kind READY (an earlier
 * test's restart of a child has finished). */
static void shared(void)
{
	ck_assert_msg(jbh_running(&A), "the shared supervisor is gone (log %s)", A.log);
	for (int i = 0; i < A.nkinds; i++)
		ck_assert_msg(jbh_wait_ready(&A, A.kinds[i], -1, READY_MS) > 0,
			      "no READY %s child (log %s)", A.kinds[i], A.log);
}

/* The last test of a shared TCase: after all its acts, SIGTERM still stops
 * the supervisor with exit 0, every child gone (as jbh_stop). */
START_TEST(test_shared_stop)
{
	jbh_stop_unparented(&A, STOP_MS);
}
END_TEST

/* --- maps ---------------------------------------------------------------- */

struct map_act {
	const char *map;
	int cmd;
};

static int map_act(void *arg)
{
	const struct map_act *m = arg;
	int fd = jbh_agent_map(&A, m->map);
	__u32 key = 0, count = 1;
	__u64 meta[2];

	if (fd < 0)
		return 10;
	switch (m->cmd) {
	case BPF_MAP_UPDATE_ELEM: /* the same value back: harmless */
		if (bpf_map_lookup_elem(fd, &key, meta) < 0)
			return 11;
		return bpf_map_update_elem(fd, &key, meta, BPF_ANY) < 0 ? 12 : 0;
	case BPF_MAP_UPDATE_BATCH:
		if (bpf_map_lookup_elem(fd, &key, meta) < 0)
			return 13;
		return bpf_map_update_batch(fd, &key, meta, &count, NULL) < 0 ? 14 : 0;
	case BPF_MAP_DELETE_ELEM: /* a key no one uses: the attempt counts */
		key = 0xfffffff0;
		bpf_map_delete_elem(fd, &key);
		return 0;
	case BPF_MAP_DELETE_BATCH:
		key = 0xfffffff1;
		bpf_map_delete_batch(fd, &key, &count, NULL);
		return 0;
	case BPF_MAP_FREEZE: /* jb_meta is written once, at load */
		return bpf_map_freeze(fd) < 0 ? 15 : 0;
	}
	return 1;
}

static int bpftool_read(void *arg)
{
	(void)arg;
	execlp("bpftool", "bpftool", "map", "dump", "name", "jb_meta", (char *)NULL);
	return 127;
}

START_TEST(map_writes)
{
	static const struct {
		struct map_act a;
		const char *op;
	} acts[] = {
		{{"jb_meta", BPF_MAP_UPDATE_ELEM}, "BPF_MAP_UPDATE_ELEM"},
		{{"jb_agent_maps", BPF_MAP_DELETE_ELEM}, "BPF_MAP_DELETE_ELEM"},
		{{"jb_meta", BPF_MAP_UPDATE_BATCH}, "BPF_MAP_UPDATE_BATCH"},
		{{"jb_agent_maps", BPF_MAP_DELETE_BATCH}, "BPF_MAP_DELETE_BATCH"},
		{{"jb_meta", BPF_MAP_FREEZE}, "BPF_MAP_FREEZE"},
	};
	pid_t pids[5], old, twin = -1, last;
	json_t *ev;

	shared();
	/* twin: the supervisor writes jb_agent when it restarts a child */
	old = jbh_child_pid(&A, "network");
	ck_assert_int_gt(old, 0);
	ck_assert_int_eq(kill(old, SIGKILL), 0);
	ck_assert_int_gt(jbh_wait_ready(&A, "network", old, READY_MS), 0);
	if (access("/usr/sbin/bpftool", X_OK) == 0) {
		int st;

		twin = fork();
		ck_assert_int_ge(twin, 0);
		if (twin == 0) {
			int nul = open("/dev/null", O_WRONLY);
			dup2(nul, 1);
			dup2(nul, 2);
			_exit(bpftool_read(NULL));
		}
		ck_assert_int_eq(waitpid(twin, &st, 0), twin);
	}
	for (int i = 0; i < 5; i++)
		pids[i] = act(map_act, (void *)&acts[i].a);
	for (int i = 0; i < 5; i++) {
		ev = wait_tamper("tamper_bpf_map_write", pids[i], acts[i].op);
		ck_assert_str_eq(jbh_jstr(ev, "tamper.target.map_name"), acts[i].a.map);
		ck_assert_int_gt(jbh_jint(ev, "tamper.target.map_id", 0), 0);
		json_decref(ev);
	}
	/* the sentinel: a write after the twins, seen: the twins were not
	 * (a delete: jb_meta is frozen now) */
	last = act(map_act, (void *)&acts[1].a);
	json_decref(wait_tamper("tamper_bpf_map_write", last, NULL));
	ck_assert_int_eq(count_for("tamper_bpf_map_write", A.pid), 0);
	if (twin > 0)
		ck_assert_int_eq(count_for("tamper_bpf_map_write", twin), 0);
	/* every tamper detection is in the audit log too */
	{
		char *audit = jbh_slurp(A.audit, NULL), needle[64];

		ck_assert_msg(audit != NULL, "no audit log %s", A.audit);
		snprintf(needle, sizeof(needle), "\"pid\":%d,", (int)last);
		ck_assert_msg(strstr(audit, "\"type\":\"detection\"") &&
				      strstr(audit, "\"kind\":\"tamper_bpf_map_write\"") &&
				      strstr(audit, needle),
			      "the audit log %s has no detection record of pid %d", A.audit,
			      (int)last);
		free(audit);
	}
}
END_TEST

/* --- programs -------------------------------------------------------------- */

static char cg_path[PATH_MAX];

/* The program is loaded with the raw syscall: libbpf's bpf_prog_load()
 * first loads probe programs of its own, which are acts of this process
 * too and would use up its times limit. */
static int prog_act(void *arg)
{
	struct bpf_insn insns[] = {
		{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 1},
		{.code = BPF_JMP | BPF_EXIT},
	};
	union bpf_attr attr;
	int prog, cg, link;

	(void)arg;
	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_CGROUP_SKB;
	attr.insns = (__u64)(unsigned long)insns;
	attr.insn_cnt = 2;
	attr.license = (__u64)(unsigned long)"GPL";
	snprintf(attr.prog_name, sizeof(attr.prog_name), "jbtest_rogue");
	prog = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
	if (prog < 0)
		return 20;
	cg = open(cg_path, O_RDONLY | O_DIRECTORY);
	if (cg < 0)
		return 21;
	if (bpf_prog_attach(prog, cg, BPF_CGROUP_INET_EGRESS, 0) < 0)
		return 22;
	if (bpf_prog_detach2(prog, cg, BPF_CGROUP_INET_EGRESS) < 0)
		return 23;
	link = bpf_link_create(prog, cg, BPF_CGROUP_INET_EGRESS, NULL);
	if (link < 0)
		return 24;
	if (bpf_link_detach(link) < 0)
		return 25;
	return 0;
}

static int bpftool_list(void *arg)
{
	int nul = open("/dev/null", O_WRONLY);

	(void)arg;
	dup2(nul, 1);
	dup2(nul, 2);
	execlp("bpftool", "bpftool", "prog", "list", (char *)NULL);
	return 127;
}

START_TEST(programs)
{
	static const char *const ops[] = {"BPF_PROG_LOAD", "BPF_PROG_ATTACH", "BPF_PROG_DETACH",
					  "BPF_LINK_CREATE", "BPF_LINK_DETACH"};
	const char *root;
	int rfd = jb_cgroup2_root(&root);
	pid_t p, twin = -1;
	json_t *ev;

	ck_assert_msg(rfd >= 0, "no cgroup2 hierarchy to attach to");
	close(rfd);
	snprintf(cg_path, sizeof(cg_path), "%s/jbtest-tamper-%d", root, (int)getpid());
	ck_assert_msg(mkdir(cg_path, 0755) == 0 || errno == EEXIST, "mkdir %s: %s", cg_path,
		      strerror(errno));
	shared();
	if (access("/usr/sbin/bpftool", X_OK) == 0)
		twin = act(bpftool_list, NULL);
	p = act(prog_act, NULL);
	rmdir(cg_path);
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		ev = wait_tamper("tamper_bpf_program", p, ops[i]);
		ck_assert_str_eq(jbh_jstr(ev, "tamper.target.program_type"), "cgroup_skb");
		if (i == 0) {
			ck_assert_str_eq(jbh_jstr(ev, "tamper.target.program_name"),
					 "jbtest_rogue");
		} else if (i < 4) {
			ck_assert_str_eq(jbh_jstr(ev, "tamper.target.program_name"),
					 "jbtest_rogue");
			ck_assert_str_eq(jbh_jstr(ev, "tamper.target.attach_type"),
					 "cgroup_inet_egress");
			ck_assert_msg(jbh_jstr(ev, "tamper.target.attached_to") &&
					      strstr(jbh_jstr(ev, "tamper.target.attached_to"),
						     "jbtest-tamper-"),
				      "%s: no target path", ops[i]);
		}
		json_decref(ev);
	}
	/* the twin ran before the trigger, whose detections are out */
	if (twin > 0)
		ck_assert_int_eq(count_for("tamper_bpf_program", twin), 0);
}
END_TEST

/* --- modules --------------------------------------------------------------- */

static int module_act(void *arg)
{
	int fd = open("/dev/null", O_RDONLY);

	(void)arg;
	syscall(SYS_delete_module, "jbtest_nomod", 0);
	syscall(SYS_finit_module, fd, "", 0);
	syscall(SYS_init_module, NULL, 0, "");
	return 0;
}

static int plain_act(void *arg)
{
	struct utsname u;

	(void)arg;
	uname(&u);
	return getpid() > 0 ? 0 : 1;
}

START_TEST(modules_raw_hook)
{
	pid_t twin, p;
	json_t *ev;
	int modules = access("/proc/modules", F_OK) == 0;

	shared();
	twin = act(plain_act, NULL);
	p = act(module_act, NULL);
	ev = wait_tamper("tamper_kernel_module", p, "delete_module");
	ck_assert_str_eq(jbh_jstr(ev, "tamper.target.module"), "jbtest_nomod");
	if (!modules)
		ck_assert_msg(json_is_true(json_object_get(json_object_get(ev, "tamper"), "failed")),
			      "a kernel without modules: the attempt must be flagged failed");
	json_decref(ev);
	ev = wait_tamper("tamper_kernel_module", p, "finit_module");
	ck_assert_str_eq(jbh_jstr(ev, "tamper.target.module"), "/dev/null");
	json_decref(ev);
	json_decref(wait_tamper("tamper_kernel_module", p, "init_module"));
	ck_assert_int_eq(count_for("tamper_kernel_module", twin), 0);
}
END_TEST

/* Without the option, a kernel without module tracepoints says so at start. */
START_TEST(modules_said_at_start)
{
	if (access("/sys/kernel/tracing/events/syscalls/sys_enter_finit_module", F_OK) == 0)
		return; /* this kernel has them: always watched (nothing to say) */
	shared();
	ck_assert_msg(jbh_log_has(&A, "attempts are not watched"),
		      "no start-up line about module calls (log %s)", A.log);
}
END_TEST

/* --- 32-bit syscalls ---------------------------------------------------------- */

#if defined(__x86_64__)
/* a 32-bit syscall from this 64-bit process (IA32 emulation): the
 * arguments must be addresses below 4 GiB */
static long int80(long nr, long a, long b, long c)
{
	long ret;

	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
	return ret;
}

static char *low; /* MAP_32BIT page */

static int compat_map_delete(void *arg)
{
	int fd = jbh_agent_map(&A, "jb_agent_maps");
	union bpf_attr *attr = (union bpf_attr *)low;
	__u32 *key = (__u32 *)(low + 512);

	(void)arg;
	if (fd < 0)
		return 80;
	memset(attr, 0, sizeof(*attr));
	*key = 0xfffffff2;
	attr->map_fd = (__u32)fd;
	attr->key = (__u64)(unsigned long)key;
	int80(357, BPF_MAP_DELETE_ELEM, (long)(unsigned long)attr, sizeof(*attr));
	return 0;
}

static int compat_chmod(void *arg)
{
	snprintf(low + 1024, 1024, "%s", (const char *)arg);
	/* writable by others: a chmod that opens the agent's configuration */
	return int80(15, (long)(unsigned long)(low + 1024), 0666, 0) < 0 ? 81 : 0;
}

static int compat_getpid(void *arg)
{
	(void)arg;
	return int80(20, 0, 0, 0) == getpid() ? 0 : 82;
}

START_TEST(compat_syscalls)
{
	char conf_copy[PATH_MAX];
	pid_t twin, p_bpf, p_chmod;
	json_t *ev;

	if (access("/proc/sys/abi/vsyscall32", F_OK) != 0) {
		printf("SKIP: compat_syscalls: this kernel has no IA32 emulation\n");
		return;
	}
	low = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1,
		   0);
	ck_assert_ptr_ne(low, MAP_FAILED);
	shared();
	ck_assert_msg(jbh_log_has(&A, "32-bit syscalls on the agent's maps"), "log %s", A.log);
	twin = act(compat_getpid, NULL);
	p_bpf = act(compat_map_delete, NULL);
	ck_assert_ptr_nonnull(realpath(A.conf, conf_copy));
	p_chmod = act(compat_chmod, conf_copy);
	ev = wait_tamper("tamper_bpf_map_write", p_bpf, "BPF_MAP_DELETE_ELEM");
	ck_assert_str_eq(jbh_jstr(ev, "tamper.target.map_name"), "jb_agent_maps");
	json_decref(ev);
	ev = wait_tamper("tamper_agent_files", p_chmod, NULL);
	ck_assert_str_eq(jbh_jstr(ev, "tamper.target.path"), conf_copy);
	ck_assert_str_eq(jbh_jstr(ev, "tamper.target.mode"), "0666");
	json_decref(ev);
	ck_assert_int_eq(count_for("tamper_bpf_map_write", twin), 0);
	ck_assert_int_eq(count_for("tamper_agent_files", twin), 0);
	ck_assert_int_eq(chmod(conf_copy, 0600), 0);
}
END_TEST

/* Without the hook, the agent says at start that 32-bit calls are blind. */
START_TEST(compat_said_at_start)
{
	if (access("/proc/sys/abi/vsyscall32", F_OK) != 0)
		return;
	shared();
	ck_assert_msg(jbh_log_has(&A, "32-bit syscalls (int $0x80) are possible"), "log %s",
		      A.log);
}
END_TEST
#endif

/* --- the agent never reports itself ---------------------------------------------- */

/* the copy of the binary that the agent of never_reports_itself and
 * agent_files runs from: OWN_DIR/jibril (see own_up) */
static char self_bin[300];

static int run_copy(void *arg)
{
	int nul = open("/dev/null", O_WRONLY);

	(void)arg;
	dup2(nul, 1);
	dup2(nul, 2);
	execl(self_bin, "jibril", "--version", (char *)NULL);
	return 127;
}

static int same_exe(json_t *ev, void *arg)
{
	const char *k = jbh_jstr(ev, "kind"), *exe = jbh_jstr(ev, "process.exe");

	return k && !strcmp(k, "exec_from_unusual_dir") && exe && !strcmp(exe, (const char *)arg);
}

/* Run from /tmp (an unusual directory for executables), the agent's own
 * supervisor and children, restarts included, are never reported; the
 * same binary run by anyone else is. */
START_TEST(never_reports_itself)
{
	struct jbh_match m = {.kind = "exec_from_unusual_dir"};
	pid_t old, other;
	json_t *ev;

	shared();
	/* a restart is a new exec of the same binary */
	old = jbh_child_pid(&A, "execution");
	ck_assert_int_gt(old, 0);
	ck_assert_int_eq(kill(old, SIGKILL), 0);
	ck_assert_int_gt(jbh_wait_ready(&A, "execution", old, READY_MS), 0);
	/* the twin of the exclusion: the same file, run by a process that is
	 * not the agent's, is reported (by name it is "jibril" too) */
	other = act(run_copy, NULL);
	m.pid = other;
	ev = jbh_wait_event(&A, jbh_match, &m, jbh_detect_deadline(&A) + 2000);
	ck_assert_msg(ev != NULL, "the copy run by pid %d was not reported (events %s)", (int)other,
		      A.events);
	json_decref(ev);
	/* that detection came after the agent's own execs: none of them is there */
	ck_assert_int_eq(jbh_count_events(&A, same_exe, self_bin), 1);
}
END_TEST

/* --- signals, ptrace, memory ------------------------------------------------ */

struct sig_act {
	pid_t pid;
	int sig, cont;
};

static int sig_act(void *arg)
{
	const struct sig_act *s = arg;

	if (kill(s->pid, s->sig) < 0)
		return 30;
	if (s->cont)
		kill(s->pid, SIGCONT);
	return 0;
}

/* a pipe whose I/O signals would go to an agent process (never raised:
 * the pipe is closed unused) */
static pid_t setown_pid;

static int setown_act(void *arg)
{
	int fds[2];

	(void)arg;
	if (pipe(fds) < 0 || fcntl(fds[0], F_SETOWN, setown_pid) < 0)
		return 35;
	close(fds[0]);
	close(fds[1]);
	return 0;
}

START_TEST(signals)
{
	struct sig_act stop_net, kill_fa, term_ex, stop_sup;
	pid_t p_stop, p_kill, p_term, p_sup, p_own, hung, sup;
	json_t *ev;
	char fault[256];
	int fd;

	up(NULL);
	sup = A.pid;
	/* twin first: a worker that hangs is SIGTERMed, then SIGKILLed, by
	 * the supervisor itself */
	hung = jbh_child_pid(&A, "file_access");
	ck_assert_int_gt(hung, 0);
	snprintf(fault, sizeof(fault), "%s/jibril-fault.file_access.hang", A.dir);
	fd = open(fault, O_CREAT | O_RDWR, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_gt(jbh_wait_ready(&A, "file_access", hung, READY_MS + 5000), 0);
	ck_assert_msg(jbh_log_has(&A, "killed by signal"), "the hung worker was not killed (log %s)",
		      A.log);

	stop_net = (struct sig_act){jbh_child_pid(&A, "network"), SIGSTOP, 1};
	kill_fa = (struct sig_act){jbh_child_pid(&A, "file_access"), SIGKILL, 0};
	term_ex = (struct sig_act){jbh_child_pid(&A, "execution"), SIGTERM, 0};
	stop_sup = (struct sig_act){sup, SIGSTOP, 1};
	setown_pid = stop_net.pid;
	p_own = act(setown_act, NULL);
	p_stop = act(sig_act, &stop_net);
	p_kill = act(sig_act, &kill_fa);
	p_term = act(sig_act, &term_ex);
	p_sup = act(sig_act, &stop_sup);

	ev = wait_tamper("tamper_agent_signal", p_stop, "SIGSTOP");
	ck_assert_str_eq(jbh_jstr(ev, "tamper.target.process.role"), "network");
	ck_assert_int_eq(jbh_jint(ev, "tamper.target.process.pid", -1), stop_net.pid);
	json_decref(ev);
	ev = wait_tamper("tamper_agent_signal", p_kill, "SIGKILL");
	ck_assert_str_eq(jbh_jstr(ev, "tamper.target.process.role"), "file_access");
	json_decref(ev);
	ev = wait_tamper("tamper_agent_signal", p_term, "SIGTERM");
	ck_assert_str_eq(jbh_jstr(ev, "tamper.target.process.role"), "execution");
	json_decref(ev);
	ev = wait_tamper("tamper_agent_signal", p_sup, "SIGSTOP");
	ck_assert_str_eq(jbh_jstr(ev, "tamper.target.process.role"), "supervisor");
	json_decref(ev);
	ev = wait_tamper("tamper_agent_signal", p_own, NULL); /* SIGIO, or SIGPOLL by name */
	ck_assert_int_eq(jbh_jint(ev, "tamper.op", -1), SIGIO);
	ck_assert_int_eq(jbh_jint(ev, "tamper.target.process.pid", -1), setown_pid);
	json_decref(ev);
	/* the hung worker's end came from the supervisor: no detection */
	ck_assert_int_eq(count_for("tamper_agent_signal", sup), 0);

	/* SIGTERM to the supervisor: its last query reports the sender */
	A.o.keep_dir = 1;
	jbh_stop(&A, STOP_MS);
	{
		struct tmatch m = {"tamper_agent_signal", getpid(), "SIGTERM"};

		ev = jbh_wait_event(&A, tmatch, &m, jbh_now_ms());
		ck_assert_msg(ev != NULL, "the SIGTERM that stopped the supervisor was not reported "
			      "by its last query (events %s)", A.events);
		ck_assert_str_eq(jbh_jstr(ev, "tamper.target.process.role"), "supervisor");
		json_decref(ev);
	}
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", A.dir);
		ck_assert_int_eq(system(cmd), 0);
	}
}
END_TEST

struct pt_act {
	pid_t pid;
	long req;
};

static int ptrace_act(void *arg)
{
	const struct pt_act *a = arg;
	int st;

	if (ptrace(a->req, a->pid, 0, 0) < 0)
		return 40;
	if (a->req != PTRACE_ATTACH)
		return 0; /* a seized tracee runs on; our exit detaches it */
	if (waitpid(a->pid, &st, __WALL) != a->pid)
		return 41;
	return ptrace(PTRACE_DETACH, a->pid, 0, 0) < 0 ? 42 : 0;
}

struct mem_act {
	pid_t pid;
	int how; /* 0 readv, 1 writev, 2 open mem, 3 open status, 4 pidfd_getfd */
};

static int mem_act(void *arg)
{
	const struct mem_act *m = arg;
	char buf[16], path[64];
	struct iovec local = {buf, sizeof(buf)}, remote = {(void *)8, sizeof(buf)};
	int fd;

	switch (m->how) {
	case 0: /* address 8: EFAULT, nothing read; the attempt counts */
		process_vm_readv(m->pid, &local, 1, &remote, 1, 0);
		return 0;
	case 1:
		process_vm_writev(m->pid, &local, 1, &remote, 1, 0);
		return 0;
	case 4: /* its fd 0 (/dev/null): the act, nothing taken that matters */
		fd = (int)syscall(SYS_pidfd_open, m->pid, 0);
		if (fd < 0 || syscall(SYS_pidfd_getfd, fd, 0, 0) < 0)
			return 51;
		return 0;
	case 2:
	case 3:
		snprintf(path, sizeof(path), "/proc/%d/%s", (int)m->pid,
			 m->how == 2 ? "mem" : "status");
		fd = open(path, O_RDONLY);
		if (fd < 0)
			return 50;
		close(fd);
		return 0;
	}
	return 1;
}

START_TEST(ptrace_and_memory)
{
	pid_t w, other, p_seize, p_attach, p_rd, p_wr, p_mem, p_getfd, t_pt, t_status, t_mem;
	struct pt_act seize, attach, other_seize;
	struct mem_act rd, wr, mem, getfd, status, other_mem;
	json_t *ev;

	shared();
	w = jbh_child_pid(&A, "network");
	ck_assert_int_gt(w, 0);
	other = fork(); /* a process that is not the agent's */
	ck_assert_int_ge(other, 0);
	if (other == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		pause();
		_exit(0);
	}
	/* twins */
	other_seize = (struct pt_act){other, PTRACE_SEIZE};
	status = (struct mem_act){w, 3};
	other_mem = (struct mem_act){other, 2};
	t_pt = act(ptrace_act, &other_seize);
	t_status = act(mem_act, &status);
	t_mem = act(mem_act, &other_mem);
	/* triggers */
	seize = (struct pt_act){w, PTRACE_SEIZE};
	attach = (struct pt_act){w, PTRACE_ATTACH};
	rd = (struct mem_act){w, 0};
	wr = (struct mem_act){w, 1};
	mem = (struct mem_act){w, 2};
	getfd = (struct mem_act){w, 4};
	p_seize = act(ptrace_act, &seize);
	p_attach = act(ptrace_act, &attach);
	p_rd = act(mem_act, &rd);
	p_wr = act(mem_act, &wr);
	p_mem = act(mem_act, &mem);
	p_getfd = act(mem_act, &getfd);

	ev = wait_tamper("tamper_agent_ptrace", p_seize, "PTRACE_SEIZE");
	ck_assert_str_eq(jbh_jstr(ev, "tamper.target.process.role"), "network");
	json_decref(ev);
	json_decref(wait_tamper("tamper_agent_ptrace", p_attach, "PTRACE_ATTACH"));
	ev = wait_tamper("tamper_agent_memory", p_rd, "process_vm_readv");
	ck_assert_int_eq(jbh_jint(ev, "tamper.target.process.pid", -1), w);
	json_decref(ev);
	json_decref(wait_tamper("tamper_agent_memory", p_wr, "process_vm_writev"));
	json_decref(wait_tamper("tamper_agent_memory", p_mem, NULL));
	json_decref(wait_tamper("tamper_agent_memory", p_getfd, "pidfd_getfd"));
	ck_assert_int_eq(count_for("tamper_agent_ptrace", t_pt), 0);
	ck_assert_int_eq(count_for("tamper_agent_memory", t_status), 0);
	ck_assert_int_eq(count_for("tamper_agent_memory", t_mem), 0);
	kill(other, SIGKILL);
	waitpid(other, NULL, 0);
}
END_TEST

/* --- the agent's files ------------------------------------------------------ */

static char rdir[256], bin_copy[300];

static const char recipe_text[] =
	"- kind: test_tamper_file_%s\n"
	"  name: Test recipe\n"
	"  mechanism: file_access\n"
	"  breed: file_access\n"
	"  importance: low\n"
	"  tactic: discovery\n"
	"  technique: \"T1083 File and Directory Discovery\"\n"
	"  file_actions: [open]\n"
	"  bases:\n"
	"    - {base: jbtest-never-opened}\n";

static void write_recipe(const char *name)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s.yaml", rdir, name);
	fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_gt(dprintf(fd, recipe_text, name), 0); /* kind: its file's letter */
	ck_assert_int_eq(fchmod(fd, 0600), 0);
	close(fd);
}

struct file_act {
	int how;
	const char *a, *b;
};

static int file_act(void *arg)
{
	const struct file_act *f = arg;
	char buf[256];
	int fd;

	switch (f->how) {
	case 0: /* append to the configuration */
		fd = open(f->a, O_WRONLY | O_APPEND);
		if (fd < 0 || write(fd, "# x\n", 4) != 4)
			return 60;
		close(fd);
		return 0;
	case 1:
		return chmod(f->a, 0644) < 0 ? 61 : 0;
	case 2:
		return chown(f->a, 65534, 65534) < 0 ? 62 : 0;
	case 3:
		fd = open(f->a, O_WRONLY | O_TRUNC);
		if (fd < 0)
			return 63;
		close(fd);
		return 0;
	case 4:
		return rename(f->a, f->b) < 0 ? 64 : 0;
	case 5:
		return unlink(f->a) < 0 ? 65 : 0;
	case 10: /* twins: read the configuration and a recipe, list, chmod 0600 */
		fd = open(f->a, O_RDONLY);
		if (fd < 0 || read(fd, buf, sizeof(buf)) < 0)
			return 70;
		close(fd);
		fd = open(f->b, O_RDONLY);
		if (fd < 0 || read(fd, buf, sizeof(buf)) < 0)
			return 71;
		close(fd);
		return chmod(f->b, 0600) < 0 ? 72 : 0;
	}
	return 1;
}

/* never_reports_itself and agent_files share an agent that runs from a
 * copy of the binary, OWN_DIR/jibril (named jibril, like the real one, its
 * children's executables copied beside it),
 * and loads the recipes of OWN_DIR/recipes too: the first restarts a
 * worker from that file and runs the file itself, the second then renames
 * it (and back) and changes the recipes. Made, started, reaped and
 * removed by unchecked fixtures in the runner. */
static char own_dir[64];

static void own_up(void)
{
	char extra[PATH_MAX + 64], *saved;
	struct jbh_opts o = {.extra_conf = extra};

	snprintf(own_dir, sizeof(own_dir), "/tmp/jbtest-tamper-own.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(own_dir));
	ck_assert_int_eq(chmod(own_dir, 0700), 0);
	snprintf(rdir, sizeof(rdir), "%s/recipes", own_dir);
	ck_assert_int_eq(mkdir(rdir, 0700), 0);
	write_recipe("a");
	write_recipe("b");
	write_recipe("c");
	write_recipe("d");
	write_recipe("e");
	snprintf(bin_copy, sizeof(bin_copy), "%s/jibril", own_dir);
	snprintf(self_bin, sizeof(self_bin), "%s", bin_copy);
	jbh_copy_file(jbh_bin(), bin_copy, 0755);
	/* and the children's executables: the supervisor takes them from
	 * beside its own (supervisor/bins.c) */
	for (int b = 0; b < JB_BIN_N; b++) {
		char from[PATH_MAX + 32], to[PATH_MAX], dir[PATH_MAX], *slash;

		snprintf(dir, sizeof(dir), "%s", jbh_bin());
		slash = strrchr(dir, '/');
		ck_assert_ptr_nonnull(slash);
		*slash = '\0';
		snprintf(from, sizeof(from), "%s/%s", dir, jb_bin_names[b]);
		snprintf(to, sizeof(to), "%s/%s", own_dir, jb_bin_names[b]);
		jbh_copy_file(from, to, 0755);
	}
	snprintf(extra, sizeof(extra), "[recipes]\ndir = %s\n", rdir);
	saved = strdup(jbh_bin());
	setenv("JIBRIL_BIN", bin_copy, 1);
	jbh_start_ready(&A, &o, READY_MS);
	setenv("JIBRIL_BIN", saved, 1);
	free(saved);
}

static void own_down(void)
{
	char cmd[128];

	jbh_reap(&A);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", own_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "check_tamper: cannot remove %s\n", own_dir);
}

START_TEST(agent_files)
{
	char conf[PATH_MAX], r1[PATH_MAX], r2[PATH_MAX], r3[PATH_MAX], r4[PATH_MAX], r5[PATH_MAX],
		moved[PATH_MAX], bin_moved[PATH_MAX];
	struct file_act twin, append, chmod_open, chown_r, trunc_r, mv_r, rm_r, mv_bin;
	pid_t t, p_app, p_chmod, p_chown, p_trunc, p_mv, p_rm, p_bin;
	json_t *ev;

	shared();
	ck_assert_ptr_nonnull(realpath(A.conf, conf));
	snprintf(r1, sizeof(r1), "%s/a.yaml", rdir);
	snprintf(r2, sizeof(r2), "%s/b.yaml", rdir);
	snprintf(r3, sizeof(r3), "%s/c.yaml", rdir);
	snprintf(r4, sizeof(r4), "%s/d.yaml", rdir);
	snprintf(r5, sizeof(r5), "%s/e.yaml", rdir);
	snprintf(moved, sizeof(moved), "%s/moved.yaml", rdir);
	snprintf(bin_moved, sizeof(bin_moved), "%s.moved", bin_copy);

	twin = (struct file_act){10, conf, r1};
	t = act(file_act, &twin);
	append = (struct file_act){0, conf, NULL};
	chmod_open = (struct file_act){1, r1, NULL};
	chown_r = (struct file_act){2, r2, NULL};
	trunc_r = (struct file_act){3, r3, NULL};
	mv_r = (struct file_act){4, r4, moved};
	rm_r = (struct file_act){5, r5, NULL};
	mv_bin = (struct file_act){4, bin_copy, bin_moved};
	p_app = act(file_act, &append);
	p_chmod = act(file_act, &chmod_open);
	p_chown = act(file_act, &chown_r);
	p_trunc = act(file_act, &trunc_r);
	p_mv = act(file_act, &mv_r);
	p_rm = act(file_act, &rm_r);
	p_bin = act(file_act, &mv_bin);

	ev = wait_tamper("tamper_agent_files", p_app, NULL);
	ck_assert_str_eq(jbh_jstr(ev, "tamper.target.path"), conf);
	ck_assert(jbh_jarr_has(ev, "tamper.target.actions", "write"));
	json_decref(ev);
	ev = wait_tamper("tamper_agent_files", p_chmod, NULL);
	ck_assert_str_eq(jbh_jstr(ev, "tamper.target.path"), r1);
	ck_assert_str_eq(jbh_jstr(ev, "tamper.target.mode"), "0644");
	json_decref(ev);
	ev = wait_tamper("tamper_agent_files", p_chown, NULL);
	ck_assert(json_is_true(json_object_get(json_object_get(json_object_get(ev, "tamper"),
							       "target"), "chown")));
	json_decref(ev);
	ev = wait_tamper("tamper_agent_files", p_trunc, NULL);
	ck_assert(jbh_jarr_has(ev, "tamper.target.actions", "truncate"));
	json_decref(ev);
	ev = wait_tamper("tamper_agent_files", p_mv, NULL);
	ck_assert(jbh_jarr_has(ev, "tamper.target.actions", "rename"));
	ck_assert_str_eq(jbh_jstr(ev, "tamper.target.path"), r4);
	json_decref(ev);
	ev = wait_tamper("tamper_agent_files", p_rm, NULL);
	ck_assert(jbh_jarr_has(ev, "tamper.target.actions", "unlink"));
	json_decref(ev);
	ev = wait_tamper("tamper_agent_files", p_bin, NULL);
	ck_assert_str_eq(jbh_jstr(ev, "tamper.target.path"), bin_copy);
	json_decref(ev);
	ck_assert_int_eq(count_for("tamper_agent_files", t), 0);

	ck_assert_int_eq(rename(bin_moved, bin_copy), 0);
}
END_TEST

static void sweep(void)
{
	jbh_kill_leftovers();
}

/* A TCase whose tests share an agent started by up_fn and reaped by
 * down_fn (see shared_up); Check runs the teardowns in the reverse order of
 * adding: the reap, then the sweep. */
static TCase *shared_tcase(Suite *s, const char *name, void (*up_fn)(void),
			   void (*down_fn)(void))
{
	TCase *tc = tcase_create(name);

	tcase_set_timeout(tc, 120);
	tcase_add_unchecked_fixture(tc, NULL, sweep);
	tcase_add_unchecked_fixture(tc, up_fn, down_fn);
	suite_add_tcase(s, tc);
	return tc;
}

int main(void)
{
	Suite *s = suite_create("tamper");
	TCase *tc;
	SRunner *sr;
	int nf;

	jbh_main_init("check_tamper");
	/* the default configuration */
	tc = shared_tcase(s, "tamper", shared_up, shared_down);
	tcase_add_test(tc, map_writes);
	tcase_add_test(tc, programs);
	tcase_add_test(tc, modules_said_at_start);
	tcase_add_test(tc, ptrace_and_memory);
#if defined(__x86_64__)
	tcase_add_test(tc, compat_said_at_start);
#endif
	tcase_add_test(tc, test_shared_stop);
	/* [tamper] raw_syscall_hook = yes */
	tc = shared_tcase(s, "raw_hook", shared_up_raw_hook, shared_down);
	tcase_add_test(tc, modules_raw_hook);
#if defined(__x86_64__)
	tcase_add_test(tc, compat_syscalls);
#endif
	tcase_add_test(tc, test_shared_stop);
	/* a copy of the binary and recipes of the test's own (see own_up);
	 * never_reports_itself first: agent_files renames the binary */
	tc = shared_tcase(s, "own_binary", own_up, own_down);
	tcase_add_test(tc, never_reports_itself);
	tcase_add_test(tc, agent_files);
	tcase_add_test(tc, test_shared_stop);
	/* an agent of its own: signals stops the supervisor and reads its
	 * log for its own kill */
	tc = tcase_create("signals");
	tcase_set_timeout(tc, 120);
	tcase_add_unchecked_fixture(tc, NULL, sweep);
	tcase_add_test(tc, signals);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	jbh_kill_leftovers();
	return nf ? 1 : 0;
}
