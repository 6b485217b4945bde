/*
 * unitfilter.c - run a program under the seccomp side of the hardening in
 * contrib/systemd/jibril.service, as systemd 252 builds it, for a machine
 * whose PID 1 is not systemd: check_install runs the real agent under it
 * end to end (READY, a detection, a clean stop).
 *
 *   unitfilter PROGRAM [ARG...]
 *
 * Emulated, each with the errno systemd returns: LockPersonality=yes,
 * RestrictRealtime=yes, RestrictSUIDSGID=yes, RestrictNamespaces=yes,
 * SystemCallArchitectures=native, RestrictAddressFamilies=AF_UNIX AF_INET
 * AF_INET6 AF_NETLINK, MemoryDenyWriteExecute=yes. Like systemd as root,
 * it does not set no_new_privs (the agent's children need exec to keep
 * their bounding set). check_install fails if the unit sets a hardening
 * directive this list does not have.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <seccomp.h>

#define DENY(err, call, ...) \
	do { \
		if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(err), SCMP_SYS(call), __VA_ARGS__) < 0) { \
			fprintf(stderr, "unitfilter: rule for %s failed\n", #call); \
			return 126; \
		} \
	} while (0)

int main(int argc, char **argv)
{
	static const unsigned long ns[] = {CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC,
					    CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET};
	/* SystemCallArchitectures=native: a new filter holds the native ABI only */
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);

	if (argc < 2 || !ctx) {
		fprintf(stderr, "usage: unitfilter PROGRAM [ARG...]\n");
		return 126;
	}
	/* LockPersonality: only the default persona */
	DENY(EPERM, personality, 1, SCMP_A0(SCMP_CMP_NE, 0));
	/* RestrictRealtime */
	DENY(EPERM, sched_setscheduler, 1, SCMP_A1(SCMP_CMP_EQ, SCHED_FIFO));
	DENY(EPERM, sched_setscheduler, 1, SCMP_A1(SCMP_CMP_EQ, SCHED_RR));
	DENY(EPERM, sched_setattr, 0);
	/* RestrictSUIDSGID */
	for (mode_t bit = S_ISGID; bit <= S_ISUID; bit <<= 1) {
		DENY(EPERM, chmod, 1, SCMP_A1(SCMP_CMP_MASKED_EQ, bit, bit));
		DENY(EPERM, fchmod, 1, SCMP_A1(SCMP_CMP_MASKED_EQ, bit, bit));
		DENY(EPERM, fchmodat, 1, SCMP_A2(SCMP_CMP_MASKED_EQ, bit, bit));
		DENY(EPERM, open, 2, SCMP_A1(SCMP_CMP_MASKED_EQ, O_CREAT, O_CREAT),
		     SCMP_A2(SCMP_CMP_MASKED_EQ, bit, bit));
		DENY(EPERM, openat, 2, SCMP_A2(SCMP_CMP_MASKED_EQ, O_CREAT, O_CREAT),
		     SCMP_A3(SCMP_CMP_MASKED_EQ, bit, bit));
		DENY(EPERM, creat, 1, SCMP_A1(SCMP_CMP_MASKED_EQ, bit, bit));
	}
	/* RestrictNamespaces: no namespace flag, no setns; clone3's flags are
	 * in memory, so systemd refuses it with ENOSYS (libc falls back) */
	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		DENY(EPERM, unshare, 1, SCMP_A0(SCMP_CMP_MASKED_EQ, ns[i], ns[i]));
		DENY(EPERM, clone, 1, SCMP_A0(SCMP_CMP_MASKED_EQ, ns[i], ns[i]));
	}
	DENY(EPERM, setns, 0);
	DENY(ENOSYS, clone3, 0);
	/* RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK */
	DENY(EAFNOSUPPORT, socket, 1, SCMP_A0(SCMP_CMP_GT, AF_NETLINK));
	for (int fam = 0; fam < AF_NETLINK; fam++)
		if (fam != AF_UNIX && fam != AF_INET && fam != AF_INET6)
			DENY(EAFNOSUPPORT, socket, 1, SCMP_A0(SCMP_CMP_EQ, fam));
	/* MemoryDenyWriteExecute */
	DENY(EPERM, mmap, 1, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC | PROT_WRITE, PROT_EXEC | PROT_WRITE));
	DENY(EPERM, mprotect, 1, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, PROT_EXEC));
	DENY(EPERM, pkey_mprotect, 1, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, PROT_EXEC));
	DENY(EPERM, shmat, 1, SCMP_A2(SCMP_CMP_MASKED_EQ, SHM_EXEC, SHM_EXEC));
	if (seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0) < 0 || seccomp_load(ctx) < 0) {
		fprintf(stderr, "unitfilter: cannot load the filter (root needed)\n");
		return 126;
	}
	seccomp_release(ctx);
	execv(argv[1], argv + 1);
	fprintf(stderr, "unitfilter: %s: %s\n", argv[1], strerror(errno));
	return 127;
}
