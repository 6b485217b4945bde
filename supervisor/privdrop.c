/*
 * privdrop.c - least privilege in the supervisor: once the BPF object is
 * loaded and attached, /proc back-filled, the snapshot region created and
 * the output files opened, the supervisor installs a seccomp deny-list
 * and keeps only the capabilities it still uses (docs/SECURITY.md, "Least
 * privilege in the supervisor").
 *
 * Invariants:
 *  - called once, before the first child is spawned: children inherit the
 *    filter and the bounding set (they add their own stricter filter and
 *    drop everything in common/sandbox.c).
 *  - the filter goes in first, while CAP_SYS_ADMIN is still held, so
 *    PR_SET_NO_NEW_PRIVS is NOT set: with no_new_privs a child's exec
 *    could not gain the bounding set back (the kernel caps the new
 *    permitted set at the old one), and a child could not change its uid.
 *  - the filter's default is ALLOW and a listed call fails with EPERM,
 *    never a kill: a stray call in a library must not take the agent down.
 *  - what is kept is exactly the table below, read back from the kernel
 *    after the change; anything else is an error and the agent stops.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cap-ng.h>
#include <linux/bpf.h>
#include <linux/capability.h>
#include <seccomp.h>

#include "common/log.h"
#include "supervisor/privdrop.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* --- capabilities ----------------------------------------------------------- */

enum keep_in {
	KEEP_RUN,	/* effective and permitted: the supervisor uses it */
	KEEP_EXEC,	/* bounding set only: a child re-executed as root gets it back */
	KEEP_EXIT,	/* permitted only: raised for one step at exit (sup_privdrop_raise) */
};

static const struct {
	unsigned cap;
	const char *name;
	enum keep_in in;
	const char *why;
} kept_caps[] = {
	{CAP_KILL, "kill", KEEP_RUN,
	 "signal the children, which run as uids of their own: stop, heartbeat escalation, "
	 "kill on a protocol violation"},
	{CAP_SETGID, "setgid", KEEP_EXEC,
	 "a child is re-executed as root (its permitted set is then the bounding set) and "
	 "changes to its kind's gid and drops supplementary groups itself (common/sandbox.c)"},
	{CAP_SETUID, "setuid", KEEP_EXEC, "the same child changes to its kind's uid"},
	{CAP_SETPCAP, "setpcap", KEEP_EXEC,
	 "the same child empties its own bounding set (PR_CAPBSET_DROP)"},
	{CAP_DAC_OVERRIDE, "dac_override", KEEP_EXIT,
	 "at exit, to remove the agent's cgroup made directly under a cgroup v1 hierarchy's "
	 "root, which is mode 0555 (supervisor/cgroup.c); never effective while it runs"},
};

/* Before 6.5, with kernel.unprivileged_bpf_disabled set, every bpf()
 * command (a lookup on a map fd already held too) wants CAP_BPF, or
 * CAP_SYS_ADMIN before 5.8. Kept only where a probe shows it is needed. */
static unsigned bpf_fallback_cap(void)
{
	char buf[16] = "";
	int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return n > 0 && atoi(buf) >= CAP_BPF ? CAP_BPF : CAP_SYS_ADMIN;
}

/* 1 when a map read through a held fd works with the current effective
 * set, 0 when the kernel refuses it for want of a capability. */
static int map_read_works(int map_fd)
{
	unsigned char next[512]; /* larger than any key of ours */
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_fd = (unsigned)map_fd;
	a.key = 0; /* NULL: the first key */
	a.next_key = (unsigned long)next;
	return syscall(SYS_bpf, BPF_MAP_GET_NEXT_KEY, &a, sizeof(a)) == 0 || errno != EPERM;
}

/* The kernel's view after the change must be exactly what we asked for. */
static int caps_are(unsigned extra_run, char *err, size_t errlen)
{
	unsigned last = CAP_LAST_CAP;

	if (capng_get_caps_process() != 0) {
		snprintf(err, errlen, "cannot read back the supervisor's capabilities");
		return -1;
	}
	for (unsigned c = 0; c <= last; c++) {
		int run = c == extra_run, exec = 0, later = 0;

		for (size_t i = 0; i < N(kept_caps); i++)
			if (kept_caps[i].cap == c) {
				run |= kept_caps[i].in == KEEP_RUN;
				exec |= kept_caps[i].in == KEEP_EXEC;
				later |= kept_caps[i].in == KEEP_EXIT;
			}
		if (capng_have_capability(CAPNG_EFFECTIVE, c) != run ||
		    capng_have_capability(CAPNG_PERMITTED, c) != (run || later) ||
		    capng_have_capability(CAPNG_INHERITABLE, c) ||
		    capng_have_capability(CAPNG_BOUNDING_SET, c) != exec) {
			snprintf(err, errlen, "capability %u is not as dropped: the kernel refused the "
				 "change", c);
			return -1;
		}
	}
	return 0;
}

static int drop_caps(int probe_map_fd, char *err, size_t errlen)
{
	unsigned bpf_cap = bpf_fallback_cap(), extra = ~0u;

	capng_clear(CAPNG_SELECT_ALL);
	for (size_t i = 0; i < N(kept_caps); i++)
		capng_update(CAPNG_ADD,
			     kept_caps[i].in == KEEP_RUN    ? CAPNG_EFFECTIVE | CAPNG_PERMITTED
			     : kept_caps[i].in == KEEP_EXIT ? CAPNG_PERMITTED
							    : CAPNG_BOUNDING_SET,
			     kept_caps[i].cap);
	/* permitted but not effective: raised again if the probe needs it */
	capng_update(CAPNG_ADD, CAPNG_PERMITTED, bpf_cap);
	/* the bounding set first, while CAP_SETPCAP is still effective */
	if (capng_apply(CAPNG_SELECT_ALL) != 0) {
		snprintf(err, errlen, "cannot drop capabilities (capng_apply)");
		return -1;
	}
	if (map_read_works(probe_map_fd)) {
		capng_update(CAPNG_DROP, CAPNG_PERMITTED, bpf_cap);
	} else {
		capng_update(CAPNG_ADD, CAPNG_EFFECTIVE, bpf_cap);
		extra = bpf_cap;
		log_warnx("this kernel refuses map reads through held fds without %s "
			  "(kernel.unprivileged_bpf_disabled before Linux 6.5): it is kept",
			  bpf_cap == CAP_BPF ? "CAP_BPF" : "CAP_SYS_ADMIN");
	}
	if (capng_apply(CAPNG_SELECT_CAPS) != 0) {
		snprintf(err, errlen, "cannot drop capabilities (capng_apply)");
		return -1;
	}
	if (extra != ~0u && !map_read_works(probe_map_fd)) {
		snprintf(err, errlen, "map reads fail even with %s kept",
			 bpf_cap == CAP_BPF ? "CAP_BPF" : "CAP_SYS_ADMIN");
		return -1;
	}
	return caps_are(extra, err, errlen);
}

/* --- seccomp deny-list ---------------------------------------------------------- */

/* What the supervisor never does once it runs, refused with EPERM. Each
 * was checked against the running supervisor: the event loop, the
 * collector (map lookups, batch lookups, updates, deletes through held
 * fds), fork + exec of children, SIGHUP (reads jibril.conf and the recipe
 * files), shutdown (closing link fds detaches the programs). */
static const struct {
	int nr;
	const char *why;
} deny_syscalls[] = {
	/* the kernel itself */
	{SCMP_SYS(init_module), "no module loading: the agent has none"},
	{SCMP_SYS(finit_module), "same"},
	{SCMP_SYS(delete_module), "no module unloading"},
	{SCMP_SYS(kexec_load), "never replaces the running kernel"},
	{SCMP_SYS(kexec_file_load), "same"},
	{SCMP_SYS(reboot), "never reboots"},
	{SCMP_SYS(swapon), "never touches swap"},
	{SCMP_SYS(swapoff), "same"},
	{SCMP_SYS(acct), "never switches process accounting"},
	{SCMP_SYS(settimeofday), "never sets the clock (detections carry its times)"},
	{SCMP_SYS(clock_settime), "same"},
	{SCMP_SYS(adjtimex), "same"},
	/* other processes */
	{SCMP_SYS(ptrace), "never traces: back-fill reads /proc before this point"},
	{SCMP_SYS(process_vm_readv), "never reads another process's memory"},
	{SCMP_SYS(process_vm_writev), "never writes another process's memory"},
	/* the file system tree and namespaces */
	{SCMP_SYS(mount), "tracefs is mounted in preflight, before this point"},
	{SCMP_SYS(umount2), "never unmounts"},
	{SCMP_SYS(move_mount), "new mount API: never mounts"},
	{SCMP_SYS(fsmount), "same"},
	{SCMP_SYS(fsopen), "same"},
	{SCMP_SYS(fsconfig), "same"},
	{SCMP_SYS(open_tree), "same"},
	{SCMP_SYS(pivot_root), "never changes its root"},
	{SCMP_SYS(chroot), "same"},
	{SCMP_SYS(unshare), "never leaves the host's namespaces (its view of /proc and "
			    "pids must be the kernel's)"},
	{SCMP_SYS(setns), "same"},
	{SCMP_SYS(open_by_handle_at), "never opens files by handle (a way around paths and "
				      "their permissions)"},
	{SCMP_SYS(name_to_handle_at), "never asks for file handles"},
	/* kernel interfaces it has no use for */
	{SCMP_SYS(keyctl), "no kernel keyrings (the audit key is a file)"},
	{SCMP_SYS(add_key), "same"},
	{SCMP_SYS(request_key), "same"},
	{SCMP_SYS(perf_event_open), "tracepoints are attached before this point"},
	{SCMP_SYS(userfaultfd), "no use; a classic aid to kernel exploits"},
};

/* unshare's twin: a new namespace made at fork (clone's argument 0 has a
 * CLONE_NEW* bit). fork() itself is plain clone and stays allowed. */
static const unsigned long clone_new_flags[] = {
	CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC,
	CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET,
};
/* clone3 passes its flags in memory, which a filter cannot read: it fails
 * with ENOSYS, as on a kernel without it, so libc falls back to clone. */

/* bpf() commands (argument 0) the supervisor never issues once the object
 * is attached. Map reads and writes through held fds stay allowed. */
static const struct {
	int cmd;
	const char *why;
} deny_bpf[] = {
	{BPF_MAP_CREATE, "every map is created at load"},
	{BPF_PROG_LOAD, "every program is loaded at start"},
	{BPF_BTF_LOAD, "BTF is loaded with the object"},
	{BPF_PROG_ATTACH, "every program is attached at start"},
	{BPF_PROG_DETACH, "shutdown detaches by closing link fds"},
	{BPF_LINK_CREATE, "same as attach"},
	{BPF_LINK_UPDATE, "never swaps a program under a link"},
	{BPF_LINK_DETACH, "shutdown closes link fds instead"},
	{BPF_RAW_TRACEPOINT_OPEN, "same as attach"},
	{BPF_OBJ_PIN, "every map and link is pinned at start (supervisor/pins.c)"},
	{BPF_MAP_FREEZE, "never freezes a map: a frozen map could not take its own updates"},
};

int sup_privdrop_denied_syscall(size_t i)
{
	return i < N(deny_syscalls) ? deny_syscalls[i].nr : -1;
}

int sup_privdrop_denied_bpf_cmd(size_t i)
{
	return i < N(deny_bpf) ? deny_bpf[i].cmd : -1;
}

static int install_filter(char *err, size_t errlen)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	const char *what = "seccomp_init";
	int rc = 0;

	if (!ctx) {
		snprintf(err, errlen, "seccomp_init failed");
		return -1;
	}
	/* a foreign ABI (int 0x80, x32) would walk around the list: refused
	 * whole, the supervisor never uses one */
	rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ERRNO(EPERM));
	/* see the header: no_new_privs would break the children's exec */
	if (rc == 0)
		rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	if (rc == 0)
		rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	for (size_t i = 0; i < N(deny_syscalls) && rc == 0; i++) {
		what = "a syscall rule";
		if (deny_syscalls[i].nr < 0)
			continue; /* not a syscall of this architecture: nothing to deny */
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), deny_syscalls[i].nr, 0);
	}
	for (size_t i = 0; i < N(clone_new_flags) && rc == 0; i++) {
		what = "a clone rule";
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
				      SCMP_A0(SCMP_CMP_MASKED_EQ, clone_new_flags[i],
					      clone_new_flags[i]));
	}
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	/* cmd is an int: compare the low 32 bits only, so that garbage in the
	 * upper half of the register cannot slip past an exact match */
	for (size_t i = 0; i < N(deny_bpf) && rc == 0; i++) {
		what = "a bpf() rule";
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(bpf), 1,
				      SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffffu,
					      (scmp_datum_t)deny_bpf[i].cmd));
	}
	if (rc == 0) {
		what = "seccomp_load";
		rc = seccomp_load(ctx);
	}
	seccomp_release(ctx);
	if (rc < 0) {
		snprintf(err, errlen, "the supervisor's seccomp filter: %s: %s", what,
			 strerror(-rc));
		return -1;
	}
	return 0;
}

int sup_privdrop(int probe_map_fd, char *err, size_t errlen)
{
	char kept[128] = "", exec[128] = "", later[128] = "";

	/* the filter first: loading it without no_new_privs needs
	 * CAP_SYS_ADMIN, which the next step drops */
	if (install_filter(err, errlen) < 0 || drop_caps(probe_map_fd, err, errlen) < 0)
		return -1;
	for (size_t i = 0; i < N(kept_caps); i++) {
		char *b = kept_caps[i].in == KEEP_RUN	 ? kept
			  : kept_caps[i].in == KEEP_EXIT ? later
							 : exec;
		size_t n = strlen(b);
		snprintf(b + n, sizeof(kept) - n, "%s%s", n ? " " : "", kept_caps[i].name);
	}
	log_info("privileges dropped: capabilities kept: %s; for the children's exec only: %s; "
		 "permitted for one step at exit: %s; %zu syscalls, clone into new namespaces and "
		 "%zu bpf() commands refused", kept, exec, later, N(deny_syscalls),
		 N(deny_bpf));
	return 0;
}

int sup_privdrop_raise(unsigned cap)
{
	if (capng_get_caps_process() != 0 || !capng_have_capability(CAPNG_PERMITTED, cap))
		return -1;
	if (capng_have_capability(CAPNG_EFFECTIVE, cap))
		return 0; /* in effect already (no drop happened: tests) */
	if (capng_update(CAPNG_ADD, CAPNG_EFFECTIVE, cap) != 0 ||
	    capng_apply(CAPNG_SELECT_CAPS) != 0)
		return -1;
	return 1;
}

void sup_privdrop_lower(unsigned cap)
{
	if (capng_get_caps_process() == 0 && capng_update(CAPNG_DROP, CAPNG_EFFECTIVE, cap) == 0)
		capng_apply(CAPNG_SELECT_CAPS);
}
