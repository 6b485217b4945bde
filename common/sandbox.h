/*
 * sandbox.h - confining a child: rlimits, uid/gid nobody with no
 * capabilities, no_new_privs, and a seccomp allow-list per role.
 */
#ifndef JB_SANDBOX_H
#define JB_SANDBOX_H

enum jb_policy { JB_POLICY_WORKER, JB_POLICY_PRINTER };

/* The bring-up steps after the role has opened what it needs; each step
 * is fatal on failure (the caller exits, the supervisor sees a bad start).
 * Returns 0 or -1 with a sentence in err. */
int jb_sandbox_rlimits(int max_fds, char *err, size_t errlen);
int jb_sandbox_drop_privs(char *err, size_t errlen);
int jb_sandbox_seccomp(enum jb_policy pol, char *err, size_t errlen);

#endif
