/*
 * sandbox.h - confining a child: rlimits, its kind's own uid/gid with no
 * capabilities, no_new_privs, and the seccomp allow-list of its role, which
 * also says which descriptors it may write to.
 */
#ifndef JB_SANDBOX_H
#define JB_SANDBOX_H

#include <stddef.h>
#include <stdint.h>

/* One allow-list per role (sandbox.c); a kind's row names one. */
struct jb_policy;
extern const struct jb_policy jb_policy_worker;		/* writes: stderr */
extern const struct jb_policy jb_policy_printer_stdout;	/* writes: stdout, stderr */
extern const struct jb_policy jb_policy_printer_file;	/* writes: fd 4, stderr */
extern const struct jb_policy jb_policy_printer_https;	/* stderr; its own sockets and
							 * spool files (fd >= 5) */
extern const struct jb_policy jb_policy_printer_nats;	/* the same, and threads */
extern const struct jb_policy jb_policy_printer_summary;	/* stderr; its own TCP socket
							 * (fd >= 5), no files */
extern const struct jb_policy jb_policy_exporter;	/* stderr; the clients it accepted on
							 * fd 4 (fd >= 5) */

/* 1 if the policy lets the child write to fd. */
int jb_policy_may_write(const struct jb_policy *p, int fd);

/* The bring-up steps after the role has opened what it needs; each step
 * is fatal on failure (the caller exits, the supervisor sees a bad start).
 * Returns 0 or -1 with a sentence in err. */
int jb_sandbox_rlimits(int max_fds, char *err, size_t errlen);
/* Become uid/gid uid (never 0) with no capabilities, no supplementary
 * groups, no_new_privs. */
int jb_sandbox_drop_privs(uint32_t uid, char *err, size_t errlen);
/* The Landlock domain of the policy (common/landlock.h): a network
 * printer's spool directory (fd 4) and endpoint ports, nothing for the
 * others. Prepared before the rlimits (it needs a descriptor), enforced
 * after no_new_privs and before seccomp (preparing then if not yet done). */
int jb_sandbox_landlock_prepare(const struct jb_policy *p, char *err, size_t errlen);
int jb_sandbox_landlock(const struct jb_policy *p, char *err, size_t errlen);
int jb_sandbox_seccomp(const struct jb_policy *p, char *err, size_t errlen);

#endif
