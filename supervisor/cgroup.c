/*
 * cgroup.c - per-child resource limits: a jibril cgroup under the
 * supervisor's own cgroup in each hierarchy, and under it one cgroup per
 * slot (named after its kind) with the [limits] of the kind's role.
 *
 *   v2: PARENT/jibril-PID/KIND with memory.max (+ memory.swap.max 0),
 *       pids.max and cpu.max, when PARENT's cgroup.controllers offers
 *       memory, pids and cpu. If PARENT holds processes (ours) and its
 *       subtree_control lacks them, the supervisor first moves itself into
 *       the leaf jibril-PID/supervisor (the no-internal-process rule), and
 *       moves back at exit, taking back what it enabled in PARENT. Without
 *       that move (PARENT is the root) what it enabled stays: another
 *       agent may rely on it by then.
 *   v1: the same layout in the memory, pids and cpu hierarchies (and
 *       cpuacct, for accounting), with memory.limit_in_bytes (and the
 *       memsw limit: no swapping past it), pids.max and
 *       cpu.cfs_quota_us / cpu.cfs_period_us.
 *
 * Invariants:
 *  - all state hangs off struct sup (s->cg); nothing here is file-static.
 *  - every directory is made at start-up, while the supervisor still has
 *    all its capabilities. Later it only writes "0" to cgroup.procs in a
 *    forked child (as root, before exec), reads counters and removes
 *    directories: files and directories root owns, so DAC as their owner
 *    is enough and no capability is needed. The one exception: jibril-PID
 *    directly under a hierarchy's root (v1 here: /sys/fs/cgroup/pids is
 *    0555) can only be removed with CAP_DAC_OVERRIDE (kept permitted by the
 *    privilege drop and raised for that rmdir only); without it, it is
 *    left empty at exit and the next start removes it.
 *  - the jibril cgroup's name is unique in every hierarchy (mkdir is the
 *    test: jibril-PID, then jibril-PID.1, ...), so agents on one host
 *    never share or remove each other's cgroups; one left by an agent
 *    whose PID no longer runs (SIGKILLed) is removed at start-up if empty.
 *  - a failure while creating removes what was made; children then run
 *    without limits (one warning), unless [limits] was set explicitly:
 *    then start-up is refused with the line that set it.
 *  - sup_cgroup_join() runs in the forked child before exec and uses only
 *    open/write/close: nothing the child allocates after it is charged to
 *    the supervisor's cgroups.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include <linux/capability.h>

#include "common/cgroup2.h"
#include "common/log.h"
#include "supervisor/cgroup.h"
#include "supervisor/privdrop.h"
#include "sup.h"

#define CG_MEMORY 1u
#define CG_PIDS 2u
#define CG_CPU 4u
#define CG_CPUACCT 8u		/* v1 only: accounting, no limit */
#define CG_NEEDED (CG_MEMORY | CG_PIDS | CG_CPU)
#define CG_NCTRL 4
#define CG_HIER_MAX CG_NCTRL
#define CG_PERIOD_US 100000u	/* the CFS period the CPU share is a fraction of */
#define CG_V1_MAGIC 0x27e0ebu	/* CGROUP_SUPER_MAGIC */
#define CG_RMDIR_MS 1000	/* how long a busy cgroup is retried at exit */

static const char *const ctrl_names[CG_NCTRL] = {"memory", "pids", "cpu", "cpuacct"};

struct cg_hier {
	int id;			/* v1: hierarchy id in /proc/self/cgroup */
	unsigned ctrls;		/* CG_* it carries */
	char names[48];		/* "cpu,cpuacct" */
	char parent[PATH_MAX];	/* the supervisor's own cgroup in it */
	char top[PATH_MAX];	/* parent/jibril-PID[.N]; "" until made */
};

struct sup_cgroup {
	enum sup_cg_mode mode;
	int fake;
	int nh;
	struct cg_hier h[CG_HIER_MAX];
	char leaf[PATH_MAX];		/* v2: where the supervisor moved itself, or "" */
	int made[JB_KINDS_MAX];		/* the row's cgroups exist */
	uint64_t memory[JB_KINDS_MAX];	/* the row's memory limit, 0 = none */
};

static int row_of(const struct sup *s, const struct jb_kind *k)
{
	ptrdiff_t i = k - s->kinds;

	return s->cg && s->kinds && i >= 0 && (size_t)i < s->nkinds && i < JB_KINDS_MAX &&
			       s->cg->made[i]
		       ? (int)i
		       : -1;
}

static int join_path(char *buf, size_t n, const char *dir, const char *name)
{
	int r = snprintf(buf, n, "%s/%s", dir, name);

	return r < 0 || (size_t)r >= n ? -ENAMETOOLONG : 0;
}

/* Write val to dir/file: 0 or -errno. */
static int cg_write(const struct sup_cgroup *c, const char *dir, const char *file, const char *val)
{
	char path[PATH_MAX];
	size_t len = strlen(val);
	ssize_t n;
	int fd, r;

	if ((r = join_path(path, sizeof(path), dir, file)) < 0)
		return r;
	fd = open(path, O_WRONLY | O_CLOEXEC | (c->fake ? O_CREAT | O_TRUNC : 0), 0644);
	if (fd < 0)
		return -errno;
	n = write(fd, val, len);
	r = n < 0 ? -errno : (size_t)n != len ? -EIO : 0;
	close(fd);
	return r;
}

/* Read a whole small file (NUL terminated): its length, or -errno. */
static ssize_t read_text(const char *path, char *buf, size_t n)
{
	ssize_t got = 0, r = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while ((size_t)got < n - 1 && (r = read(fd, buf + got, n - 1 - (size_t)got)) > 0)
		got += r;
	if (r < 0)
		got = -errno;
	close(fd);
	buf[got > 0 ? got : 0] = '\0';
	return got;
}

static ssize_t cg_read(const char *dir, const char *file, char *buf, size_t n)
{
	char path[PATH_MAX];
	int r = join_path(path, sizeof(path), dir, file);

	buf[0] = '\0';
	return r < 0 ? r : read_text(path, buf, n);
}

/* Is word one of the words of list (separated by spaces, commas, newlines)? */
static int has_word(const char *list, const char *word)
{
	size_t wl = strlen(word);

	for (const char *p = list; *p;) {
		size_t l = strcspn(p, " ,\n");

		if (l == wl && !strncmp(p, word, wl))
			return 1;
		p += l;
		p += strspn(p, " ,\n");
	}
	return 0;
}

/* The value of "key N" in a flat-keyed file (memory.events, oom_control). */
static int keyed_value(const char *text, const char *key, uint64_t *out)
{
	size_t kl = strlen(key);

	for (const char *p = text; *p; p = strchrnul(p, '\n'), p += *p == '\n') {
		if (!strncmp(p, key, kl) && p[kl] == ' ') {
			*out = strtoull(p + kl + 1, NULL, 10);
			return 0;
		}
	}
	return -1;
}

void sup_cgroup_size_text(uint64_t bytes, char *buf, size_t n)
{
	if (bytes && !(bytes & ((1ull << 30) - 1)))
		snprintf(buf, n, "%llu GiB", (unsigned long long)(bytes >> 30));
	else if (bytes && !(bytes & ((1ull << 20) - 1)))
		snprintf(buf, n, "%llu MiB", (unsigned long long)(bytes >> 20));
	else
		snprintf(buf, n, "%llu bytes", (unsigned long long)bytes);
}

static void add_name(struct cg_hier *h, const char *name)
{
	size_t o = strlen(h->names);

	snprintf(h->names + o, sizeof(h->names) - o, "%s%s", o ? "," : "", name);
}

/* A usable cgroup directory: real cgroupfs of the right kind (a test's
 * plain directories pass in fake mode). */
static int is_cgroup_dir(const struct sup_cgroup *c, const char *dir, unsigned long magic)
{
	struct statfs sfs;
	struct stat st;

	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return 0;
	return c->fake || (statfs(dir, &sfs) == 0 && (unsigned long)sfs.f_type == magic);
}

/* v1: a hierarchy per distinct id among the controllers we use. 0, or -1
 * with why. */
static int probe_v1(struct sup_cgroup *c, const char *root, const char *self, char *why,
		    size_t wl)
{
	unsigned have = 0;
	char *save = NULL;

	for (char *line = strtok_r((char *)self, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL, ctrls[256];
		int id = atoi(line);

		if (!c2 || id <= 0 || (size_t)(c2 - c1 - 1) >= sizeof(ctrls))
			continue;
		snprintf(ctrls, sizeof(ctrls), "%.*s", (int)(c2 - c1 - 1), c1 + 1);
		for (int i = 0; i < CG_NCTRL; i++) {
			struct cg_hier *h = NULL;
			char dir[PATH_MAX];
			int r;

			if (!has_word(ctrls, ctrl_names[i]) || (have & (1u << i)))
				continue;
			for (int j = 0; j < c->nh; j++)
				if (c->h[j].id == id)
					h = &c->h[j];
			if (!h) {
				r = snprintf(dir, sizeof(dir), "%s/%s%s", root, ctrl_names[i],
					     strcmp(c2 + 1, "/") ? c2 + 1 : "");
				if (r < 0 || (size_t)r >= sizeof(dir) ||
				    !is_cgroup_dir(c, dir, CG_V1_MAGIC))
					continue; /* not mounted where we look: not usable */
				h = &c->h[c->nh++];
				h->id = id;
				memcpy(h->parent, dir, (size_t)r + 1);
			}
			h->ctrls |= 1u << i;
			add_name(h, ctrl_names[i]);
			have |= 1u << i;
		}
	}
	for (int i = 0; i < CG_NCTRL; i++) {
		if ((CG_NEEDED & (1u << i)) && !(have & (1u << i))) {
			snprintf(why, wl, "no v1 %s hierarchy of ours under %s", ctrl_names[i], root);
			return -1;
		}
	}
	return 0;
}

/* v2: the supervisor's cgroup offers memory, pids and cpu. */
static int probe_v2(struct sup_cgroup *c, const char *root, const char *self, char *why,
		    size_t wl)
{
	const char *p = strstr(self, "0::");
	char avail[512];
	size_t len;
	int r;

	if (p && p != self && p[-1] != '\n')
		p = NULL;
	if (!root || !p) {
		snprintf(why, wl, "no cgroup2 hierarchy");
		return -1;
	}
	len = strcspn(p + 3, "\n");
	r = snprintf(c->h[0].parent, sizeof(c->h[0].parent), "%s%.*s", root,
		     (int)(len == 1 && p[3] == '/' ? 0 : len), p + 3);
	if (r < 0 || (size_t)r >= sizeof(c->h[0].parent) ||
	    !is_cgroup_dir(c, c->h[0].parent, JB_CGROUP2_MAGIC)) {
		snprintf(why, wl, "our cgroup2 directory %s is not usable", c->h[0].parent);
		return -1;
	}
	if ((r = (int)cg_read(c->h[0].parent, "cgroup.controllers", avail, sizeof(avail))) < 0) {
		snprintf(why, wl, "cannot read %s/cgroup.controllers: %s", c->h[0].parent,
			 strerror(-r));
		return -1;
	}
	for (int i = 0; i < CG_NCTRL; i++) {
		if ((CG_NEEDED & (1u << i)) && !has_word(avail, ctrl_names[i])) {
			snprintf(why, wl, "the cgroup2 controller %s is not available in %s",
				 ctrl_names[i], c->h[0].parent);
			return -1;
		}
	}
	c->nh = 1;
	c->h[0].ctrls = CG_NEEDED;
	snprintf(c->h[0].names, sizeof(c->h[0].names), "memory,pids,cpu");
	return 0;
}

/* Remove dir, retrying a busy one while *budget_ms lasts (one budget for
 * a whole clean-up: a child left behind at shutdown, e.g. frozen, keeps
 * its cgroup and the ones above busy, and must not cost a wait for each);
 * a fake one is emptied of its files first. 0 or -errno (ENOENT counts as
 * done). */
static int cg_rmdir(const struct sup_cgroup *c, const char *dir, int *budget_ms)
{
	struct timespec ts = {0, 10 * 1000 * 1000};

	if (c->fake) {
		DIR *d = opendir(dir);
		struct dirent *e;
		char path[PATH_MAX];

		while (d && (e = readdir(d)))
			if (e->d_type == DT_REG && join_path(path, sizeof(path), dir, e->d_name) == 0)
				unlink(path);
		if (d)
			closedir(d);
	}
	for (;;) {
		if (rmdir(dir) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY || *budget_ms <= 0)
			return -errno;
		nanosleep(&ts, NULL);
		*budget_ms -= 10;
	}
}

/* A jibril-PID[.N] under dir whose PID no longer runs (an agent that was
 * SIGKILLed could not clean up): its empty slot cgroups and itself are
 * removed. rmdir refuses a cgroup that still holds a process or a child,
 * and a live agent's slots are never touched (its PID runs). */
static void remove_stale(const struct sup_cgroup *c, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	while (d && (e = readdir(d))) {
		char top[PATH_MAX], slot[PATH_MAX], *end;
		long pid;
		DIR *t;
		struct dirent *k;

		if (e->d_type != DT_DIR || strncmp(e->d_name, "jibril-", 7))
			continue;
		pid = strtol(e->d_name + 7, &end, 10);
		if (pid <= 0 || pid == getpid() || (*end && *end != '.') ||
		    kill((pid_t)pid, 0) == 0 || errno != ESRCH ||
		    join_path(top, sizeof(top), dir, e->d_name) < 0)
			continue;
		for (t = opendir(top); t && (k = readdir(t));)
			if (k->d_type == DT_DIR && k->d_name[0] != '.' &&
			    join_path(slot, sizeof(slot), top, k->d_name) == 0)
				rmdir(slot);
		if (t)
			closedir(t);
		if (!c->fake && rmdir(top) == 0)
			log_info("removed %s: the jibril that made it is gone", top);
	}
	if (d)
		closedir(d);
}

/* jibril-PID, or jibril-PID.N: free in every hierarchy (mkdir decides). */
static int make_top(struct sup_cgroup *c, char *why, size_t wl)
{
	for (int i = 0; i < c->nh; i++)
		remove_stale(c, c->h[i].parent);
	for (int n = 0; n < 100; n++) {
		char name[48];
		int i, busy = 0, e = 0;

		if (n)
			snprintf(name, sizeof(name), "jibril-%d.%d", (int)getpid(), n);
		else
			snprintf(name, sizeof(name), "jibril-%d", (int)getpid());
		for (i = 0; i < c->nh && !busy && !e; i++) {
			if (join_path(c->h[i].top, sizeof(c->h[i].top), c->h[i].parent, name) < 0)
				e = ENAMETOOLONG;
			else if (mkdir(c->h[i].top, 0755) < 0)
				*(errno == EEXIST ? &busy : &e) = errno;
			if (busy || e)
				c->h[i].top[0] = '\0';
		}
		if (!busy && !e)
			return 0;
		for (int j = 0, budget = CG_RMDIR_MS; j < i; j++) {
			if (c->h[j].top[0])
				cg_rmdir(c, c->h[j].top, &budget);
			c->h[j].top[0] = '\0';
		}
		if (e) {
			snprintf(why, wl, "cannot create %s/%s: %s", c->h[i - 1].parent, name,
				 strerror(e));
			return -1;
		}
	}
	snprintf(why, wl, "no free jibril-%d.N name under %s", (int)getpid(), c->h[0].parent);
	return -1;
}

static void ctrl_list(unsigned ctrls, char sign, char *buf, size_t n)
{
	size_t o = 0;

	buf[0] = '\0';
	for (int i = 0; i < CG_NCTRL && o < n; i++)
		if (ctrls & (1u << i))
			o += (size_t)snprintf(buf + o, n - o, "%s%c%s", o ? " " : "", sign,
					      ctrl_names[i]);
}

/* v2: the controllers reach the slots through PARENT and jibril-PID. */
static int enable_v2(struct sup_cgroup *c, char *why, size_t wl)
{
	struct cg_hier *h = &c->h[0];
	char on[64], have[512];
	unsigned missing = 0;
	int r;

	if (cg_read(h->parent, "cgroup.subtree_control", have, sizeof(have)) < 0)
		have[0] = '\0';
	for (int i = 0; i < CG_NCTRL; i++)
		if ((CG_NEEDED & (1u << i)) && !has_word(have, ctrl_names[i]))
			missing |= 1u << i;
	if (missing) {
		ctrl_list(missing, '+', on, sizeof(on));
		r = cg_write(c, h->parent, "cgroup.subtree_control", on);
		if (r == -EBUSY) {
			/* we are in PARENT: move into a leaf of our own first */
			if (join_path(c->leaf, sizeof(c->leaf), h->top, "supervisor") < 0 ||
			    mkdir(c->leaf, 0755) < 0) {
				r = -errno;
				c->leaf[0] = '\0';
			} else if ((r = cg_write(c, c->leaf, "cgroup.procs", "0")) == 0) {
				r = cg_write(c, h->parent, "cgroup.subtree_control", on);
			}
		}
		if (r < 0) {
			snprintf(why, wl, "cannot enable %s in %s/cgroup.subtree_control: %s", on,
				 h->parent, strerror(-r));
			return -1;
		}
	}
	ctrl_list(CG_NEEDED, '+', on, sizeof(on));
	if ((r = cg_write(c, h->top, "cgroup.subtree_control", on)) < 0) {
		snprintf(why, wl, "cannot enable %s in %s/cgroup.subtree_control: %s", on, h->top,
			 strerror(-r));
		return -1;
	}
	return 0;
}

/* The limits of one slot's cgroup in hierarchy h. */
static int set_limits(struct sup_cgroup *c, const struct cg_hier *h, const char *dir,
		      const struct jb_limits *l, char *why, size_t wl)
{
	struct cg_file {
		unsigned ctrl;
		const char *file, *val;
		int optional; /* ENOENT is fine: swap accounting is off */
	} w[4];
	char mem[32], pids[32], cpu[48], quota[32];
	int n = 0, r;

	snprintf(mem, sizeof(mem), "%llu", (unsigned long long)l->memory);
	snprintf(pids, sizeof(pids), "%u", l->pids);
	snprintf(quota, sizeof(quota), "%llu", (unsigned long long)l->cpu_pct * CG_PERIOD_US / 100);
	snprintf(cpu, sizeof(cpu), "%s %u", l->cpu_pct ? quota : "max", CG_PERIOD_US);
	if (c->mode == SUP_CG_V2) {
		w[n++] = (struct cg_file){CG_MEMORY, "memory.max", l->memory ? mem : "max", 0};
		if (l->memory)
			w[n++] = (struct cg_file){CG_MEMORY, "memory.swap.max", "0", 1};
		w[n++] = (struct cg_file){CG_PIDS, "pids.max", l->pids ? pids : "max", 0};
		w[n++] = (struct cg_file){CG_CPU, "cpu.max", cpu, 0};
	} else {
		if (l->memory) {
			w[n++] = (struct cg_file){CG_MEMORY, "memory.limit_in_bytes", mem, 0};
			/* after the limit: memsw may never be below it */
			w[n++] = (struct cg_file){CG_MEMORY, "memory.memsw.limit_in_bytes", mem, 1};
		}
		if (l->pids)
			w[n++] = (struct cg_file){CG_PIDS, "pids.max", pids, 0};
		if (l->cpu_pct) {
			snprintf(cpu, sizeof(cpu), "%u", CG_PERIOD_US);
			w[n++] = (struct cg_file){CG_CPU, "cpu.cfs_period_us", cpu, 0};
			w[n++] = (struct cg_file){CG_CPU, "cpu.cfs_quota_us", quota, 0};
		}
	}
	for (int i = 0; i < n; i++) {
		if (!(h->ctrls & w[i].ctrl))
			continue;
		r = cg_write(c, dir, w[i].file, w[i].val);
		if (r < 0 && !(w[i].optional && r == -ENOENT)) {
			snprintf(why, wl, "cannot write %s to %s/%s: %s", w[i].val, dir, w[i].file,
				 strerror(-r));
			return -1;
		}
	}
	return 0;
}

static int make_slots(struct sup *s, char *why, size_t wl)
{
	struct sup_cgroup *c = s->cg;

	for (size_t i = 0; i < s->nkinds && i < JB_KINDS_MAX; i++) {
		const struct jb_kind *k = &s->kinds[i];
		const struct jb_limits *l = jb_config_limits(&s->cfg, k->role);

		if (!jb_config_kind_enabled(&s->cfg, k))
			continue;
		for (int j = 0; j < c->nh; j++) {
			char dir[PATH_MAX];

			if (join_path(dir, sizeof(dir), c->h[j].top, k->name) < 0 ||
			    mkdir(dir, 0755) < 0) {
				snprintf(why, wl, "cannot create %s/%s: %s", c->h[j].top, k->name,
					 strerror(errno));
				return -1;
			}
			c->made[i] = 1; /* from now on, free() removes it */
			if (set_limits(c, &c->h[j], dir, l, why, wl) < 0)
				return -1;
		}
		c->memory[i] = l->memory;
	}
	return 0;
}

static void log_layout(const struct sup *s)
{
	const struct sup_cgroup *c = s->cg;
	const struct jb_limits *l[2] = {&s->cfg.limits_worker, &s->cfg.limits_printer};
	static const char *const role[2] = {"workers", "printers"};

	for (int j = 0; j < c->nh; j++)
		log_info("cgroup v%d (%s): children in %s/KIND", c->mode == SUP_CG_V2 ? 2 : 1,
			 c->h[j].names, c->h[j].top);
	if (c->leaf[0])
		log_info("cgroup v2: the supervisor moved itself into %s", c->leaf);
	for (int r = 0; r < 2; r++) {
		char mem[32], pids[16], cpu[16];

		sup_cgroup_size_text(l[r]->memory, mem, sizeof(mem));
		snprintf(pids, sizeof(pids), "%u", l[r]->pids);
		snprintf(cpu, sizeof(cpu), "%u%%", l[r]->cpu_pct);
		log_info("limits of %s: memory %s, pids %s, cpu %s", role[r],
			 l[r]->memory ? mem : "max", l[r]->pids ? pids : "max",
			 l[r]->cpu_pct ? cpu : "max");
	}
}

int sup_cgroup_init(struct sup *s, const struct sup_cg_env *env, char *err, size_t errlen)
{
	static const struct sup_cg_env real;
	const struct sup_cg_env *e = env ? env : &real;
	const char *v1 = e->v1_root ? e->v1_root : "/sys/fs/cgroup", *v2 = e->v2_root;
	char self[16384], why[PATH_MAX + 256] = "", copy[sizeof(self)];
	struct sup_cgroup *c;
	ssize_t n;
	int fd;

	if (!(c = calloc(1, sizeof(*c)))) {
		snprintf(err, errlen, "cgroup: out of memory");
		return -1;
	}
	s->cg = c;
	c->fake = e->fake;
	if (!v2 && (fd = jb_cgroup2_root(&v2)) >= 0)
		close(fd);
	if ((n = read_text(e->self ? e->self : "/proc/self/cgroup", self, sizeof(self))) < 0) {
		snprintf(why, sizeof(why), "cannot read our cgroups: %s", strerror((int)-n));
		goto unavailable;
	}
	memcpy(copy, self, sizeof(copy));
	if (e->force != SUP_CG_V1 && probe_v2(c, v2, self, why, sizeof(why)) == 0) {
		c->mode = SUP_CG_V2;
	} else if (e->force != SUP_CG_V2) {
		char why2[sizeof(why)];

		memset(c->h, 0, sizeof(c->h));
		c->nh = 0;
		if (probe_v1(c, v1, copy, why2, sizeof(why2)) == 0)
			c->mode = SUP_CG_V1;
		else if (e->force == SUP_CG_V1 || !why[0])
			snprintf(why, sizeof(why), "%s", why2);
		else {
			strncat(why, "; ", sizeof(why) - strlen(why) - 1);
			strncat(why, why2, sizeof(why) - strlen(why) - 1);
		}
	}
	if (c->mode == SUP_CG_NONE)
		goto unavailable;
	if (make_top(c, why, sizeof(why)) < 0 ||
	    (c->mode == SUP_CG_V2 && enable_v2(c, why, sizeof(why)) < 0) ||
	    make_slots(s, why, sizeof(why)) < 0) {
		sup_cgroup_free(s);
		goto unavailable;
	}
	log_layout(s);
	return 0;

unavailable:
	if (s->cg) {
		free(s->cg);
		s->cg = NULL;
	}
	if (s->cfg.limits_line > 0) {
		snprintf(err, errlen, "%s:%d: [limits] sets a limit, but cgroups are unavailable: %s",
			 s->conf_path ? s->conf_path : "jibril.conf", s->cfg.limits_line, why);
		return -1;
	}
	log_warnx("cgroups unavailable (%s): children run without memory, pids and CPU limits",
		  why);
	return 0;
}

enum sup_cg_mode sup_cgroup_mode(const struct sup *s)
{
	return s->cg ? s->cg->mode : SUP_CG_NONE;
}

int sup_cgroup_join(const struct sup *s, const struct jb_kind *k, char *err, size_t errlen)
{
	const struct sup_cgroup *c = s->cg;
	int i = row_of(s, k);

	if (!c)
		return 0; /* no cgroups: nothing to join */
	if (i < 0) {
		snprintf(err, errlen, "kind %s has no cgroup", k->name);
		return -1;
	}
	for (int j = 0; j < c->nh; j++) {
		char dir[PATH_MAX];
		int r = join_path(dir, sizeof(dir), c->h[j].top, k->name);

		if (r == 0)
			r = cg_write(c, dir, "cgroup.procs", "0");
		if (r < 0) {
			snprintf(err, errlen, "cannot join the cgroup %s/%s: %s", c->h[j].top,
				 k->name, strerror(-r));
			return -1;
		}
	}
	return 0;
}

int sup_cgroup_oom_kills(const struct sup *s, const struct jb_kind *k, uint64_t *n)
{
	const struct sup_cgroup *c = s->cg;
	int i = row_of(s, k);
	char dir[PATH_MAX], text[1024];

	if (i < 0)
		return -1;
	for (int j = 0; j < c->nh; j++) {
		if (!(c->h[j].ctrls & CG_MEMORY))
			continue;
		if (join_path(dir, sizeof(dir), c->h[j].top, k->name) < 0 ||
		    cg_read(dir, c->mode == SUP_CG_V2 ? "memory.events" : "memory.oom_control", text,
			    sizeof(text)) < 0)
			return -1;
		return keyed_value(text, "oom_kill", n);
	}
	return -1;
}

uint64_t sup_cgroup_memory_limit(const struct sup *s, const struct jb_kind *k)
{
	int i = row_of(s, k);

	return i < 0 ? 0 : s->cg->memory[i];
}

const char *sup_cgroup_dir(const struct sup *s, const struct jb_kind *k, int j,
			   const char **controllers)
{
	const struct sup_cgroup *c = s->cg;

	if (row_of(s, k) < 0 || j < 0 || j >= c->nh)
		return NULL;
	if (controllers)
		*controllers = c->h[j].names;
	return c->h[j].top;
}

void sup_cgroup_free(struct sup *s)
{
	struct sup_cgroup *c = s->cg;
	char dir[PATH_MAX], off[64];
	int r, raised, budget = CG_RMDIR_MS;

	if (!c)
		return;
	for (size_t i = 0; i < JB_KINDS_MAX && i < s->nkinds; i++) {
		if (!c->made[i])
			continue;
		for (int j = 0; j < c->nh; j++)
			if (c->h[j].top[0] &&
			    join_path(dir, sizeof(dir), c->h[j].top, s->kinds[i].name) == 0 &&
			    (r = cg_rmdir(c, dir, &budget)) < 0)
				log_warnx("cannot remove the cgroup %s: %s (left behind)", dir,
					  strerror(-r));
		c->made[i] = 0;
	}
	if (c->leaf[0]) {
		/* back where we came from: the parent must take processes again,
		 * so what we enabled in it goes (and first in our own cgroup) */
		ctrl_list(CG_NEEDED, '-', off, sizeof(off));
		cg_write(c, c->h[0].top, "cgroup.subtree_control", off);
		cg_write(c, c->h[0].parent, "cgroup.subtree_control", off);
		if ((r = cg_write(c, c->h[0].parent, "cgroup.procs", "0")) < 0)
			log_warnx("cannot move back into %s: %s", c->h[0].parent, strerror(-r));
		else if ((r = cg_rmdir(c, c->leaf, &budget)) < 0)
			log_warnx("cannot remove the cgroup %s: %s (left behind)", c->leaf,
				  strerror(-r));
		c->leaf[0] = '\0';
	}
	/* a v1 hierarchy's root is 0555: only CAP_DAC_OVERRIDE may remove
	 * what is in it. The privilege drop keeps it permitted, never
	 * effective, for this one step (supervisor/privdrop.c). */
	raised = !c->fake && sup_privdrop_raise(CAP_DAC_OVERRIDE) == 1;
	for (int j = 0; j < c->nh; j++) {
		r = c->h[j].top[0] ? cg_rmdir(c, c->h[j].top, &budget) : 0;
		if (r == -EACCES)
			log_warnx("cannot remove the cgroup %s: %s (its parent is not writable "
				  "without CAP_DAC_OVERRIDE); it is empty, and the next start "
				  "removes it", c->h[j].top, strerror(-r));
		else if (r < 0)
			log_warnx("cannot remove the cgroup %s: %s (left behind)", c->h[j].top,
				  strerror(-r));
		c->h[j].top[0] = '\0';
	}
	if (raised)
		sup_privdrop_lower(CAP_DAC_OVERRIDE);
	free(c);
	s->cg = NULL;
}
