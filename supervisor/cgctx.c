/*
 * cgctx.c - resolve the kernel's cgroup v2 ids (jb_task.cgroup_id) to
 * paths below the cgroup2 mount, for the snapshot's cgroup section.
 *
 * The id is the cgroup directory's kernfs node id, which is also its inode
 * number on the cgroup2 mount (64-bit ino_t). An id not yet known is looked
 * up first through its task, if that is still alive: the "0::" line of
 * /proc/PID/cgroup names a path, accepted only if the directory there has
 * that very inode (so a moved process or a reused pid can only miss, never
 * name the wrong cgroup). Otherwise one readdir of the hierarchy gives every
 * id with its name, without a stat per directory. Nothing is read per
 * event: a known id costs one hash lookup.
 *
 * Invariants:
 *  - a cache keyed by id holds every path seen and every id no walk found
 *    (ids are never reused while the system runs, so an id a walk did not
 *    find is gone for good: it never costs a second walk).
 *  - at most one walk per cadence (sup_cgctx_begin), and only when an id
 *    is neither in the cache nor named by its live task; and walks take at
 *    most a tenth of the time (after a walk of T, none for 9 T): whoever
 *    can make cgroups and short-lived processes cannot make the supervisor
 *    walk all the time. An id met while walks are held back is simply not
 *    named this cadence (not remembered as unknown). A walk is bounded in directories (CG_WALK_MAX),
 *    depth (CG_DEPTH_MAX) and path length (PATH_MAX); what lies beyond a
 *    bound stays unresolved, and that is logged once.
 *  - the cache is bounded (CG_CACHE_MAX ids); when full it starts again
 *    empty (counted), so memory stays bounded whatever a host creates.
 *  - the walk opens directories with O_NOFOLLOW below an fd on the mount
 *    root (there are no symlinks in cgroupfs; a path never leaves it), and a
 *    directory that vanishes under it is skipped.
 *  - paths are taken as the directory names are: whoever creates a cgroup
 *    chooses its name, so the worker that parses them (workers/cgpath.c)
 *    trusts none of it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "common/cgroup2.h"
#include "common/log.h"
#include "cgctx.h"

_Static_assert(sizeof(ino_t) == sizeof(uint64_t), "a cgroup's id is its inode number");

#define CG_CACHE_MAX 65536u		/* ids cached, known and unknown */
#define CG_CACHE_SLOTS (CG_CACHE_MAX * 2) /* open addressing, load <= 1/2 */
/* directories one walk records: ~45 us each measured here (a cgroup
 * directory lists ~30 files), so at most ~0.7 s of the supervisor's loop */
#define CG_WALK_MAX 16384u
#define CG_DEPTH_MAX 32			/* levels below the root */
#define WALK_SHARE 10 /* a walk of T ms is followed by (WALK_SHARE - 1) T ms without one */

struct cg_ent {
	uint64_t id;	/* 0: empty slot */
	char *path;	/* NULL: no walk found it */
	uint64_t stamp; /* the cadence that last put it into a snapshot */
};

struct sup_cgctx {
	int rootfd;
	char *root;
	struct cg_ent *tab; /* CG_CACHE_SLOTS */
	uint32_t n;
	uint64_t cadence;
	int walked;	  /* this cadence */
	uint64_t next_walk_ns; /* CLOCK_MONOTONIC: no walk before (WALK_SHARE) */
	int warned_cut;
	struct sup_cgctx_stats st;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct sup_cgctx *sup_cgctx_new(const char *root)
{
	struct sup_cgctx *c = calloc(1, sizeof(*c));
	const char *where = NULL;

	if (!c)
		return NULL;
	c->rootfd = -1;
	c->tab = calloc(CG_CACHE_SLOTS, sizeof(*c->tab));
	if (!c->tab) {
		free(c);
		return NULL;
	}
	if (root) {
		struct statfs sfs;

		if (statfs(root, &sfs) == 0 && sfs.f_type == JB_CGROUP2_MAGIC)
			c->rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		where = root;
	} else {
		c->rootfd = jb_cgroup2_root(&where);
	}
	if (c->rootfd >= 0 && !(c->root = strdup(where))) {
		sup_cgctx_free(c);
		return NULL;
	}
	if (c->rootfd < 0)
		log_warnx("no cgroup2 hierarchy%s%s: detections carry no cgroup, unit or container",
			  root ? " at " : "", root ? root : "");
	else
		log_debug("cgroup2 hierarchy at %s: detections name their cgroup", c->root);
	return c;
}

static void flush(struct sup_cgctx *c)
{
	for (uint32_t i = 0; i < CG_CACHE_SLOTS; i++)
		free(c->tab[i].path);
	memset(c->tab, 0, CG_CACHE_SLOTS * sizeof(*c->tab));
	c->n = 0;
}

void sup_cgctx_free(struct sup_cgctx *c)
{
	if (!c)
		return;
	if (c->tab)
		flush(c);
	free(c->tab);
	if (c->rootfd >= 0)
		close(c->rootfd);
	free(c->root);
	free(c);
}

const char *sup_cgctx_root(const struct sup_cgctx *c)
{
	return c ? c->root : NULL;
}

static uint32_t slot_of(uint64_t id)
{
	return (uint32_t)(jb_mix64(id) & (CG_CACHE_SLOTS - 1));
}

static struct cg_ent *find(struct sup_cgctx *c, uint64_t id)
{
	for (uint32_t i = slot_of(id);; i = (i + 1) & (CG_CACHE_SLOTS - 1)) {
		if (c->tab[i].id == id)
			return &c->tab[i];
		if (!c->tab[i].id)
			return NULL;
	}
}

/* Record id -> path (a copy; NULL: unknown). A known path replaces what
 * was there (a renamed cgroup). NULL only when out of memory. */
static struct cg_ent *put(struct sup_cgctx *c, uint64_t id, const char *path)
{
	struct cg_ent *e = find(c, id);
	char *copy = NULL;

	if (path && !(copy = strdup(path)))
		return NULL;
	if (!e) {
		uint32_t i;

		if (c->n >= CG_CACHE_MAX) {
			flush(c);
			c->st.flushes++;
		}
		for (i = slot_of(id); c->tab[i].id; i = (i + 1) & (CG_CACHE_SLOTS - 1))
			;
		e = &c->tab[i];
		e->id = id;
		c->n++;
	} else if (!path) {
		return e; /* an unknown never hides a known path */
	}
	free(e->path);
	e->path = copy;
	return e;
}

struct walk_frame {
	DIR *d;
	size_t len; /* of the path of this directory */
};

/* One depth-first readdir of the hierarchy: every directory's d_ino (its
 * cgroup id) with its path. Bounded by CG_WALK_MAX directories,
 * CG_DEPTH_MAX levels and PATH_MAX bytes of path. */
static void walk(struct sup_cgctx *c)
{
	struct walk_frame fr[CG_DEPTH_MAX + 1];
	char path[PATH_MAX];
	struct stat sb;
	uint64_t t0 = mono_ns();
	uint32_t dirs = 0;
	int top = 0, cut = 0, fd;

	c->st.walks++;
	/* the walk must fit in what is left: start again rather than flush
	 * half way through (a walk records at most CG_WALK_MAX) */
	if (c->n > CG_CACHE_MAX - CG_WALK_MAX) {
		flush(c);
		c->st.flushes++;
	}
	if (fstat(c->rootfd, &sb) == 0)
		put(c, (uint64_t)sb.st_ino, "/");
	fd = openat(c->rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || !(fr[0].d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		log_warn("cgroup walk of %s", c->root);
		return;
	}
	fr[0].len = 0;
	path[0] = '\0';
	while (top >= 0) {
		struct dirent *de;
		size_t nl, len;
		int sub;

		errno = 0;
		de = readdir(fr[top].d);
		if (!de) {
			closedir(fr[top--].d);
			continue;
		}
		if (de->d_name[0] == '.' &&
		    (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2])))
			continue;
		if (de->d_type != DT_DIR) {
			if (de->d_type != DT_UNKNOWN ||
			    fstatat(dirfd(fr[top].d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0 ||
			    !S_ISDIR(sb.st_mode))
				continue;
		}
		if (dirs >= CG_WALK_MAX) {
			cut = 1;
			break;
		}
		dirs++;
		nl = strlen(de->d_name);
		len = fr[top].len;
		if (len + 1 + nl >= sizeof(path)) {
			cut = 1;
			continue;
		}
		path[len] = '/';
		memcpy(path + len + 1, de->d_name, nl + 1);
		put(c, (uint64_t)de->d_ino, path);
		if (top == CG_DEPTH_MAX) {
			cut = 1; /* recorded, not entered */
			path[len] = '\0';
			continue;
		}
		sub = openat(dirfd(fr[top].d), de->d_name,
			     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub >= 0 && (fr[top + 1].d = fdopendir(sub))) {
			fr[++top].len = len + 1 + nl;
		} else {
			if (sub >= 0)
				close(sub);
			path[len] = '\0'; /* gone, or not ours to read */
		}
	}
	while (top >= 0)
		closedir(fr[top--].d);
	c->st.walk_dirs = dirs;
	c->st.walk_cut += cut;
	if (cut && !c->warned_cut) {
		c->warned_cut = 1;
		log_warnx("cgroup walk of %s stopped at a bound (%u directories, depth %d, "
			  "PATH_MAX): cgroups beyond it are left unresolved",
			  c->root, CG_WALK_MAX, CG_DEPTH_MAX);
	}
	{
		uint64_t t1 = mono_ns();

		c->next_walk_ns = t1 + (WALK_SHARE - 1) * (t1 - t0);
		log_debug("cgroup walk of %s: %u directories in %.3f ms", c->root, dirs,
			  (t1 - t0) / 1e6);
	}
}

void sup_cgctx_begin(struct sup_cgctx *c)
{
	c->walked = 0;
	c->cadence++;
}

/* The path of id through a live task: its /proc/PID/cgroup "0::" line, if
 * the directory there is that cgroup (NULL otherwise). */
static struct cg_ent *via_task(struct sup_cgctx *c, uint64_t id, uint32_t tgid)
{
	char p[64], text[4096], rel[PATH_MAX];
	ssize_t n;
	int fd;

	snprintf(p, sizeof(p), "/proc/%u/cgroup", tgid);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	n = read(fd, text, sizeof(text));
	close(fd);
	if (n <= 0 || sup_cgroup_v2_line(text, (size_t)n, rel, sizeof(rel)) < 0 ||
	    sup_cgroup_id_at(c->rootfd, rel) != id)
		return NULL;
	c->st.via_task++;
	return put(c, id, rel);
}

static struct cg_ent *resolve(struct sup_cgctx *c, uint64_t id, uint32_t tgid)
{
	struct cg_ent *e;

	if (!id || c->rootfd < 0)
		return NULL;
	if ((e = find(c, id)))
		return e;
	if (tgid && (e = via_task(c, id, tgid)))
		return e;
	if (!c->walked) {
		if (mono_ns() < c->next_walk_ns) {
			c->st.deferred++;
			return NULL; /* not now: the id is tried again next cadence */
		}
		c->walked = 1;
		walk(c);
		if ((e = find(c, id)))
			return e;
	}
	/* the cgroup existed when the kernel wrote the task, which was
	 * before this cadence's walk: it is gone (or beyond a bound) */
	c->st.unresolved++;
	log_debug("cgroup id %llu is not under %s (gone)", (unsigned long long)id, c->root);
	return put(c, id, NULL);
}

const char *sup_cgctx_path(struct sup_cgctx *c, uint64_t id, uint32_t tgid)
{
	struct cg_ent *e = resolve(c, id, tgid);

	return e ? e->path : NULL;
}

void sup_cgctx_stats(const struct sup_cgctx *c, struct sup_cgctx_stats *st)
{
	*st = c->st;
	st->entries = c->n;
}

void sup_cgctx_collect(struct sup_cgctx *c, struct jb_snap_region *r, struct jb_snap_slot_hdr *h,
		       const struct jb_task *tasks, uint32_t n)
{
	if (!c)
		return;
	sup_cgctx_begin(c);
	for (uint32_t i = 0; i < n; i++) {
		const struct jb_task *t = &tasks[i];
		struct cg_ent *e = resolve(c, t->cgroup_id,
					   t->flags & JB_TASK_EXITED ? 0 : t->tgid);

		if (!e || !e->path || e->stamp == c->cadence)
			continue;
		/* stamped even when the slot is full: it stays full */
		e->stamp = c->cadence;
		jb_snap_add_cgroup(r, h, e->id, e->path);
	}
}

uint64_t sup_cgroup_id_at(int rootfd, const char *rel)
{
	struct stat sb;
	const char *p = rel;

	if (rootfd < 0 || !rel || rel[0] != '/')
		return 0;
	/* no way out of the mount: a path shown relative to another cgroup
	 * namespace (it starts "/..") is not below our root */
	for (const char *s = p; (s = strstr(s, "/..")); s += 3)
		if (s[3] == '/' || !s[3])
			return 0;
	while (*p == '/')
		p++;
	if (fstatat(rootfd, *p ? p : ".", &sb, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(sb.st_mode))
		return 0;
	return (uint64_t)sb.st_ino;
}

int sup_cgroup_v2_line(const char *text, size_t len, char *out, size_t outlen)
{
	for (size_t at = 0; at < len;) {
		const char *nl = memchr(text + at, '\n', len - at);
		size_t ll = nl ? (size_t)(nl - (text + at)) : len - at;

		if (ll >= 3 && !memcmp(text + at, "0::", 3)) {
			if (ll - 3 >= outlen || memchr(text + at + 3, '\0', ll - 3))
				return -1;
			memcpy(out, text + at + 3, ll - 3);
			out[ll - 3] = '\0';
			return 0;
		}
		at += ll + 1;
	}
	return -1;
}
