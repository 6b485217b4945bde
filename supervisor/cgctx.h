/*
 * cgctx.h - cgroup v2 ids to paths (cgctx.c): the supervisor's side of
 * "where did it happen". The kernel records each task's cgroup v2 id
 * (jb_task.cgroup_id); each cadence the collector asks for the path of
 * every id in the snapshot and ships the paths in its cgroup section. The
 * workers (sandboxed, no view of /sys/fs/cgroup) parse them
 * (workers/cgpath.c).
 */
#ifndef JB_SUP_CGCTX_H
#define JB_SUP_CGCTX_H

#include <stddef.h>
#include <stdint.h>

#include "ipc/snapshot.h"

struct sup_cgctx;

/* Counters, for the log and the tests. */
struct sup_cgctx_stats {
	uint64_t via_task;   /* unknown ids named by their live task's /proc/PID/cgroup */
	uint64_t walks;	     /* walks of the hierarchy (each after an unknown id) */
	uint64_t deferred;   /* unknown ids left for a later cadence: walks held back */
	uint64_t walk_dirs;  /* directories the last walk saw */
	uint64_t walk_cut;   /* walks stopped by a bound (count, depth, path length) */
	uint64_t unresolved; /* ids no walk found (the cgroup was already gone) */
	uint64_t flushes;    /* the cache was full and started again */
	uint32_t entries;    /* ids cached now, known and unknown */
};

/* The resolver of the cgroup2 hierarchy at root (NULL: find it, as
 * common/cgroup2.h does: /sys/fs/cgroup, else /sys/fs/cgroup/unified). NULL
 * when out of memory; a host without a cgroup2 mount gives a resolver that
 * resolves nothing (sup_cgctx_root() NULL). */
struct sup_cgctx *sup_cgctx_new(const char *root);
void sup_cgctx_free(struct sup_cgctx *c);
const char *sup_cgctx_root(const struct sup_cgctx *c);

/* Start a cadence: allows one walk of the hierarchy for the ids that
 * follow (if the last walk is old enough: walks take at most a tenth of
 * the time). */
void sup_cgctx_begin(struct sup_cgctx *c);
/* The path of cgroup id relative to the mount ("/" for its root,
 * "/system.slice/x.service"...), or NULL: id 0, a cgroup that is gone or
 * outside the mount. An id not in the cache is looked up through the live
 * process tgid (0: none) if that is still in it, else the first such call
 * after sup_cgctx_begin() walks the hierarchy (bounded); an id the walk did
 * not find is remembered as unknown, so it never costs another walk. The
 * string lives until the cache is flushed (at most at the next call). */
const char *sup_cgctx_path(struct sup_cgctx *c, uint64_t id, uint32_t tgid);
void sup_cgctx_stats(const struct sup_cgctx *c, struct sup_cgctx_stats *st);

/* The collector's step: the path of each distinct cgroup_id of tasks[0..n)
 * into slot h's cgroup section (before jb_snap_publish). */
void sup_cgctx_collect(struct sup_cgctx *c, struct jb_snap_region *r, struct jb_snap_slot_hdr *h,
		       const struct jb_task *tasks, uint32_t n);

/* The cgroup v2 id of the cgroup at path rel (as the "0::" line of
 * /proc/PID/cgroup shows it: relative to the mount, starting with '/')
 * below the cgroup2 root rootfd; 0 when there is none. The same number the
 * kernel records (kernfs node id == inode number, 64-bit ino_t). */
uint64_t sup_cgroup_id_at(int rootfd, const char *rel);
/* The path of the "0::" line of a /proc/PID/cgroup text (len bytes) into
 * out (outlen bytes), NUL-terminated; 0, or -1 when there is no such line
 * or it does not fit. */
int sup_cgroup_v2_line(const char *text, size_t len, char *out, size_t outlen);

#endif
