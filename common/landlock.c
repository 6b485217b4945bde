/*
 * landlock.c - the filesystem and TCP wall of every child (Landlock), the
 * first of two: seccomp (sandbox.c) decides which syscalls exist, Landlock
 * decides which paths and ports they may reach.
 *
 * Invariants:
 *  - a ruleset handles every filesystem right the running ABI knows, so
 *    whatever no rule grants is refused: an absolute path or ".." given
 *    with the spool's dirfd, /proc/self/mem, anything outside.
 *  - the only path rule is "beneath the spool directory (fd 4)", for the
 *    network printers; every other child gets no rule at all.
 *  - TCP (ABI >= 4): bind is refused to every child; connect only to the
 *    ports a network printer recorded while it resolved its endpoints
 *    (jb_landlock_allow_connect, before confinement), to none otherwise.
 *  - ABI >= 6: no signal and no abstract unix socket outside the child.
 *  - on a kernel without Landlock (or an older ABI) the child still runs:
 *    the supervisor says once at start-up what is not enforced
 *    (jb_landlock_report), seccomp stays as the other wall.
 *  - the ruleset is built before the child's rlimits (RLIMIT_NOFILE may
 *    leave no room for its fd: the file printer's is 5) and enforced after
 *    no_new_privs; restrict_self covers the calling thread and what it
 *    starts later: it runs while the child is single-threaded (before
 *    libnats' threads).
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/landlock.h>

#include "common/landlock.h"
#include "common/log.h"

/* Debian 12's <linux/landlock.h> stops at ABI 2: what later ABIs added,
 * spelled here (the kernel's uapi values; a larger attr is accepted by
 * any kernel whose ABI knows its fields, checked below). */
#define JB_LL_FS_TRUNCATE (1ULL << 14)	 /* ABI 3 */
#define JB_LL_FS_IOCTL_DEV (1ULL << 15) /* ABI 5 */
#define JB_LL_NET_BIND_TCP (1ULL << 0)	 /* ABI 4 */
#define JB_LL_NET_CONNECT_TCP (1ULL << 1)
#define JB_LL_RULE_NET_PORT 2
#define JB_LL_SCOPE_ABSTRACT_UNIX (1ULL << 0) /* ABI 6 */
#define JB_LL_SCOPE_SIGNAL (1ULL << 1)

struct jb_ll_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
	uint64_t scoped;
};

struct jb_ll_net_port_attr {
	uint64_t allowed_access;
	uint64_t port;
} __attribute__((packed));

static unsigned short ports[JB_LANDLOCK_PORTS_MAX];
static size_t nports;
static int ports_overflow;

int jb_landlock_abi(void)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);

	return abi < 0 ? 0 : (int)abi;
}

void jb_landlock_allow_connect(unsigned port)
{
	for (size_t i = 0; i < nports; i++)
		if (ports[i] == port)
			return;
	if (port == 0 || port > 65535)
		return;
	if (nports == JB_LANDLOCK_PORTS_MAX) {
		ports_overflow = 1; /* jb_landlock_restrict refuses to guess */
		return;
	}
	ports[nports++] = (unsigned short)port;
}

/* Every filesystem right the ABI knows. */
static uint64_t fs_rights(int abi)
{
	uint64_t r = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1; /* ABI 1: bits 0..12 */

	if (abi >= 2)
		r |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		r |= JB_LL_FS_TRUNCATE;
	if (abi >= 5)
		r |= JB_LL_FS_IOCTL_DEV;
	return r;
}

int jb_landlock_prepare(int spool_dirfd, int tcp, char *err, size_t errlen)
{
	int abi = jb_landlock_abi(), rfd;
	struct jb_ll_ruleset_attr ra = {0};
	size_t ralen;
	long rc = 0;

	if (abi <= 0)
		return JB_LANDLOCK_NONE; /* not enforced: the supervisor said so at start-up */
	if (ports_overflow) {
		snprintf(err, errlen, "landlock: more than %d endpoint ports", JB_LANDLOCK_PORTS_MAX);
		return -1;
	}
	ra.handled_access_fs = fs_rights(abi);
	ralen = sizeof(ra.handled_access_fs);
	if (abi >= 4) {
		ra.handled_access_net = JB_LL_NET_BIND_TCP | JB_LL_NET_CONNECT_TCP;
		ralen = offsetof(struct jb_ll_ruleset_attr, scoped);
	}
	if (abi >= 6) {
		ra.scoped = JB_LL_SCOPE_ABSTRACT_UNIX | JB_LL_SCOPE_SIGNAL;
		ralen = sizeof(ra);
	}
	rfd = (int)syscall(SYS_landlock_create_ruleset, &ra, ralen, 0);
	if (rfd < 0) {
		snprintf(err, errlen, "landlock_create_ruleset (ABI %d): %s", abi, strerror(errno));
		return -1;
	}
	if (spool_dirfd >= 0) {
		/* the spool's own files: create, read, write, cut, list, remove */
		struct landlock_path_beneath_attr pb = {
			.allowed_access = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE |
					  LANDLOCK_ACCESS_FS_READ_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |
					  LANDLOCK_ACCESS_FS_REMOVE_FILE |
					  (abi >= 3 ? JB_LL_FS_TRUNCATE : 0),
			.parent_fd = spool_dirfd,
		};

		rc = syscall(SYS_landlock_add_rule, rfd, LANDLOCK_RULE_PATH_BENEATH, &pb, 0);
		if (rc < 0)
			snprintf(err, errlen, "landlock: the spool directory (fd %d): %s", spool_dirfd,
				 strerror(errno));
	}
	for (size_t i = 0; tcp && abi >= 4 && i < nports && rc == 0; i++) {
		struct jb_ll_net_port_attr np = {JB_LL_NET_CONNECT_TCP, ports[i]};

		rc = syscall(SYS_landlock_add_rule, rfd, JB_LL_RULE_NET_PORT, &np, 0);
		if (rc < 0)
			snprintf(err, errlen, "landlock: connect to port %u: %s", ports[i],
				 strerror(errno));
	}
	if (rc < 0) {
		close(rfd);
		return -1;
	}
	return rfd;
}

int jb_landlock_enforce(int rfd, char *err, size_t errlen)
{
	long rc;

	if (rfd == JB_LANDLOCK_NONE)
		return 0;
	rc = syscall(SYS_landlock_restrict_self, rfd, 0);
	if (rc < 0)
		snprintf(err, errlen, "landlock_restrict_self: %s", strerror(errno));
	close(rfd);
	return rc < 0 ? -1 : 0;
}

int jb_landlock_restrict(int spool_dirfd, int tcp, char *err, size_t errlen)
{
	int rfd = jb_landlock_prepare(spool_dirfd, tcp, err, errlen);

	return rfd == -1 ? -1 : jb_landlock_enforce(rfd, err, errlen);
}

void jb_landlock_report(void)
{
	int abi = jb_landlock_abi();

	if (abi <= 0)
		log_warnx("landlock: not available in this kernel: children's file opens are limited "
			  "by seccomp alone (a network printer's spool dirfd does not stop an "
			  "absolute path or '..'), and their TCP ports not at all");
	else if (abi < 4)
		log_warnx("landlock: ABI %d: children's files are confined, their TCP ports are "
			  "not (needs ABI 4, Linux 6.7)", abi);
	else if (abi < 6)
		log_warnx("landlock: ABI %d: children's signals and abstract unix sockets are not "
			  "scoped (needs ABI 6, Linux 6.12); files and TCP are confined", abi);
	else
		log_info("landlock: ABI %d: children's files, TCP ports and signals are confined",
			 abi);
}
