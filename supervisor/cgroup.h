/*
 * cgroup.h - one cgroup per child slot under a jibril cgroup of the
 * supervisor's own, with the [limits] of the child's role: memory, pids
 * and CPU share. cgroup v2 where the supervisor's v2 cgroup offers the
 * memory, pids and cpu controllers, else the v1 memory, pids and cpu (and
 * cpuacct, for accounting) hierarchies; none at all is a warning, or a
 * refusal to start when [limits] was set explicitly.
 */
#ifndef JB_SUP_CGROUP_H
#define JB_SUP_CGROUP_H

#include <stddef.h>
#include <stdint.h>

struct sup;
struct jb_kind;

enum sup_cg_mode { SUP_CG_NONE = 0, SUP_CG_V1, SUP_CG_V2 };

/* Where the hierarchies are. sup_cgroup_init(s, NULL, ...) uses the real
 * ones; a test may point them at its own directories. */
struct sup_cg_env {
	const char *v1_root;	/* v1 controllers at v1_root/NAME; NULL: /sys/fs/cgroup */
	const char *v2_root;	/* the cgroup2 mount; NULL: found (common/cgroup2.h) */
	const char *self;	/* our membership; NULL: /proc/self/cgroup */
	enum sup_cg_mode force;	/* SUP_CG_NONE: v2, else v1; else only this one */
	int fake;		/* plain directories, not cgroupfs: files are created
				 * when written, and removed before a rmdir */
};

/* Create the jibril cgroup and one cgroup per enabled row of s->kinds with
 * its role's limits (s->cfg). 0, also when cgroups are unavailable (logged
 * once; children then run without limits: none of the hierarchies, or
 * creating the cgroups failed and what was made is removed), or -1 with
 * "CONF:LINE: ..." in err when [limits] was set explicitly and cannot be
 * honoured. */
int sup_cgroup_init(struct sup *s, const struct sup_cg_env *env, char *err, size_t errlen);
enum sup_cg_mode sup_cgroup_mode(const struct sup *s);

/* In a forked child of row k, before exec: move the calling process into
 * k's cgroup in every hierarchy. 0, or -1 with why in err. Uses only open,
 * write and close (fork-safe: the supervisor has no threads). */
int sup_cgroup_join(const struct sup *s, const struct jb_kind *k, char *err, size_t errlen);

/* OOM kills counted in row k's memory cgroup so far (v1 memory.oom_control,
 * v2 memory.events): 0 with *n, or -1 when k has no memory cgroup. */
int sup_cgroup_oom_kills(const struct sup *s, const struct jb_kind *k, uint64_t *n);
/* Row k's memory limit in bytes, 0 if none. */
uint64_t sup_cgroup_memory_limit(const struct sup *s, const struct jb_kind *k);
/* "256 MiB", "1 GiB", "1000000 bytes" */
void sup_cgroup_size_text(uint64_t bytes, char *buf, size_t n);

/* Row k's cgroup in hierarchy i (0..), and the controllers it carries as
 * "memory,pids"; NULL past the last one or when k has none. For tests and
 * the start-up log. */
const char *sup_cgroup_dir(const struct sup *s, const struct jb_kind *k, int i,
			   const char **controllers);

/* Remove every cgroup made (after the children are reaped; a busy one is
 * retried for up to a second, then left and logged). Idempotent. */
void sup_cgroup_free(struct sup *s);

#endif
