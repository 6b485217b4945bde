/*
 * sandbox.c - the confinement every child goes through, and the seccomp
 * allow-lists, one reviewable table per role (OpenSSH
 * sandbox-seccomp-filter.c style: alphabetical allows, argument-limited
 * entries last, default KILL_PROCESS).
 *
 * Invariants:
 *  - order: rlimits -> uid/gid 65534 with every capability (bounding set
 *    included) dropped -> PR_SET_NO_NEW_PRIVS -> seccomp. Each step is
 *    checked; a child that cannot confine itself must not run.
 *  - the filters are loaded after the child has opened everything it will
 *    ever use: no open, socket, exec, fork or ptrace is allowed after.
 *  - nothing may map memory executable after the filter is in place.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cap-ng.h>
#include <seccomp.h>

#include "sandbox.h"

#define NOBODY 65534

struct sc_rule {
	int nr;
	int arg_noexec;		/* argument 2 must not ask for PROT_EXEC */
	const char *why;
};

/* What every child needs after confinement. */
static const struct sc_rule common_rules[] = {
	{SCMP_SYS(brk), 0, "malloc"},
	{SCMP_SYS(clock_gettime), 0, "timers (when the vDSO falls back)"},
	{SCMP_SYS(clock_nanosleep), 0, "libc sleep in error paths"},
	{SCMP_SYS(close), 0, "closing the IPC socket on exit"},
	{SCMP_SYS(epoll_ctl), 0, "libevent"},
	{SCMP_SYS(epoll_pwait), 0, "libevent"},
	{SCMP_SYS(epoll_wait), 0, "libevent"},
	{SCMP_SYS(exit), 0, "exit"},
	{SCMP_SYS(exit_group), 0, "exit"},
	{SCMP_SYS(fstat), 0, "stdio"},
	{SCMP_SYS(futex), 0, "libc internal locks"},
	{SCMP_SYS(getpid), 0, "HELLO carries the pid"},
	{SCMP_SYS(getrandom), 0, "detection uuids"},
	{SCMP_SYS(gettid), 0, "abort() asks for its tid before tgkill"},
	{SCMP_SYS(gettimeofday), 0, "libevent, timestamps"},
	{SCMP_SYS(madvise), 0, "malloc trimming"},
	{SCMP_SYS(munmap), 0, "malloc"},
	{SCMP_SYS(newfstatat), 0, "stdio"},
	{SCMP_SYS(poll), 0, "flushing the IPC queue before exit"},
	{SCMP_SYS(recvfrom), 0, "IPC receive"},
	{SCMP_SYS(recvmsg), 0, "IPC receive"},
	{SCMP_SYS(rt_sigprocmask), 0, "abort()"},
	{SCMP_SYS(rt_sigreturn), 0, "signal return"},
	{SCMP_SYS(sendmsg), 0, "IPC send"},
	{SCMP_SYS(sendto), 0, "IPC send"},
	{SCMP_SYS(tgkill), 0, "abort() raises SIGABRT on itself"},
	{SCMP_SYS(write), 0, "stderr fallback logging; printers' output"},
	{SCMP_SYS(writev), 0, "stdio"},
	{SCMP_SYS(mmap), 1, "malloc; never executable"},
	{SCMP_SYS(mprotect), 1, "malloc arenas; never executable"},
	{SCMP_SYS(mremap), 0, "realloc of large blocks"},
};

/* Printers add flushing of their output file. */
static const struct sc_rule printer_rules[] = {
	{SCMP_SYS(fdatasync), 0, "file printer: a line is durable before PRINTED"},
	{SCMP_SYS(fsync), 0, "file printer"},
};

int jb_sandbox_rlimits(int max_fds, char *err, size_t errlen)
{
	struct rlimit zero = {0, 0}, fds = {(rlim_t)max_fds, (rlim_t)max_fds};

	if (setrlimit(RLIMIT_CORE, &zero) < 0 || setrlimit(RLIMIT_NOFILE, &fds) < 0) {
		snprintf(err, errlen, "setrlimit: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int jb_sandbox_drop_privs(char *err, size_t errlen)
{
	if (getuid() == 0 || geteuid() == 0) {
		capng_clear(CAPNG_SELECT_BOTH);
		if (capng_change_id(NOBODY, NOBODY, CAPNG_DROP_SUPP_GRP | CAPNG_CLEAR_BOUNDING) != 0) {
			snprintf(err, errlen, "cannot become uid/gid %d with no capabilities", NOBODY);
			return -1;
		}
	}
	/* a root child that stayed root would be a bug: refuse to go on */
	if (getuid() == 0 || geteuid() == 0 || getgid() == 0 || getegid() == 0) {
		snprintf(err, errlen, "still root after dropping privileges");
		return -1;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		snprintf(err, errlen, "PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static int add_rules(scmp_filter_ctx ctx, const struct sc_rule *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int rc;
		if (r[i].arg_noexec)
			rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, r[i].nr, 1,
					      SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
		else
			rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, r[i].nr, 0);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int jb_sandbox_seccomp(enum jb_policy pol, char *err, size_t errlen)
{
#ifdef JB_SECCOMP_LOG
	uint32_t dflt = SCMP_ACT_LOG; /* debug builds: log instead of kill */
#else
	uint32_t dflt = SCMP_ACT_KILL_PROCESS;
#endif
	scmp_filter_ctx ctx = seccomp_init(dflt);
	int rc;

	if (!ctx) {
		snprintf(err, errlen, "seccomp_init failed");
		return -1;
	}
	/* a foreign architecture's syscall numbers are never ours */
	seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	rc = add_rules(ctx, common_rules, sizeof(common_rules) / sizeof(common_rules[0]));
	if (rc == 0 && pol == JB_POLICY_PRINTER)
		rc = add_rules(ctx, printer_rules, sizeof(printer_rules) / sizeof(printer_rules[0]));
	if (rc == 0)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc < 0) {
		snprintf(err, errlen, "seccomp: %s", strerror(-rc));
		return -1;
	}
	return 0;
}
