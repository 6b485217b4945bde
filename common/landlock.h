/*
 * landlock.h - a child's Landlock domain: which paths and TCP ports it may
 * reach after confinement (landlock.c).
 */
#ifndef JB_LANDLOCK_H
#define JB_LANDLOCK_H

#include <stddef.h>

#define JB_LANDLOCK_PORTS_MAX 16

/* The running kernel's Landlock ABI, 0 if it has none (or it is off). */
int jb_landlock_abi(void);

/* Before confinement, by a network printer resolving its endpoints: TCP
 * connect to port is allowed once restricted (ABI >= 4). */
void jb_landlock_allow_connect(unsigned port);

/* The ruleset of what follows, as a descriptor (JB_LANDLOCK_NONE when the
 * kernel has no Landlock), or -1 with err: built before RLIMIT_NOFILE is
 * lowered, enforced after no_new_privs (which restrict_self needs). */
#define JB_LANDLOCK_NONE (-2)
int jb_landlock_prepare(int spool_dirfd, int tcp, char *err, size_t errlen);
/* Restrict the calling (single-threaded) process to ruleset rfd, closed. */
int jb_landlock_enforce(int rfd, char *err, size_t errlen);

/* Both at once. Restrict the calling (single-threaded) process: every filesystem right
 * refused except, with spool_dirfd >= 0, files beneath that directory;
 * TCP bind refused; connect refused unless tcp and the port was allowed;
 * no signal or abstract unix socket outside. Needs no_new_privs. 0 (also
 * when the kernel has no Landlock) or -1 with err. */
int jb_landlock_restrict(int spool_dirfd, int tcp, char *err, size_t errlen);

/* Supervisor start-up: log once what this kernel does not enforce. */
void jb_landlock_report(void);

#endif
