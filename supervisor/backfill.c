/*
 * backfill.c - give the tasks map a record for every process that was
 * running before the programs attached, read from /proc.
 *
 * Invariants:
 *  - keys are computed exactly as the kernel computes them (tgid and start
 *    time in USER_HZ ticks, the same number /proc/PID/stat field 22 shows),
 *    so links made later by the kernel point at these records.
 *  - BPF_NOEXIST: a record the kernel already wrote (it saw a fork or exec
 *    while we were reading /proc) is fresher than ours and wins.
 *  - a process that vanishes while being read is skipped, not an error.
 *  - the wanted environment entries are picked from /proc/PID/environ with
 *    the kernel's rules (jb_env_keep(): the names the kernel has, the same
 *    first JB_ENV_SCAN bytes, order, cut and flag): only what was read differs, since the
 *    environ file shows the area as the process left it, not as exec
 *    built it.
 *  - the cgroup id is the kernel's number for the "0::" line of
 *    /proc/PID/cgroup (the directory's inode on the cgroup2 mount:
 *    sup_cgroup_id_at), so back-filled and live records agree; 0 when the
 *    host has no cgroup2 mount or the process moved away meanwhile.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "common/cgroup2.h"
#include "common/log.h"
#include "bpf/jibril.h"
#include "loader.h"
#include "cgctx.h"

_Static_assert(sizeof(struct jb_task) == 864, "jb_task layout (layout version 5)");
_Static_assert(__builtin_offsetof(struct jb_task, env) == 608, "jb_task.env offset");
_Static_assert(__builtin_offsetof(struct jb_task, cgroup_id) == 48, "jb_task.cgroup_id offset");
_Static_assert(sizeof(struct jb_task) % 8 == 0, "jb_task must stay 8-byte sized");

static ssize_t read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n, total = 0;

	if (fd < 0)
		return -1;
	while ((size_t)total < len && (n = read(fd, buf + total, len - total)) > 0)
		total += n;
	close(fd);
	return total;
}

int jb_parse_proc_stat(const char *buf, uint32_t *ppid, uint64_t *start_ticks, char *comm,
		       size_t commlen)
{
	/* "pid (comm) state ppid ..." - comm may hold spaces and ')' */
	const char *l = strchr(buf, '('), *r = strrchr(buf, ')');
	unsigned long long v = 0;
	int field = 3;
	const char *p;

	if (!l || !r || r < l)
		return -1;
	if (comm && commlen) {
		size_t n = (size_t)(r - l - 1);
		if (n >= commlen)
			n = commlen - 1;
		memcpy(comm, l + 1, n);
		comm[n] = '\0';
	}
	p = r + 1;
	while (*p) {
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		if (field == 4 || field == 22) {
			char *end;
			if (*p < '0' || *p > '9')
				return -1; /* strtoull would take "-1" */
			errno = 0;
			v = strtoull(p, &end, 10);
			if (errno || (*end != ' ' && *end != '\n' && *end != '\0'))
				return -1;
			if (field == 4)
				*ppid = (uint32_t)v;
			else {
				*start_ticks = v;
				return 0;
			}
		}
		while (*p && *p != ' ')
			p++;
		field++;
	}
	return -1;
}

struct proc_ent {
	uint32_t tgid, ppid;
	uint64_t start;
};

static int cmp_ent(const void *a, const void *b)
{
	uint32_t x = ((const struct proc_ent *)a)->tgid, y = ((const struct proc_ent *)b)->tgid;
	return x < y ? -1 : x > y;
}

static int fill_task(struct jb_bpf *b, const struct proc_ent *e, const struct proc_ent *all,
		     size_t n, uint64_t now, int cgfd)
{
	struct jb_task t;
	/* the environment's first JB_ENV_SCAN bytes and the longest entry
	 * the kernel would read on from there (one task at a time) */
	static char buf[JB_ENV_SCAN + JB_ENV_LEN];
	char path[64];
	struct proc_ent k = {.tgid = e->ppid};
	const struct proc_ent *parent;
	ssize_t len;

	memset(&t, 0, sizeof(t));
	t.tgid = e->tgid;
	t.ppid = e->ppid;
	t.start_ticks = e->start;
	t.key = jb_hash_task(b->seed, e->tgid, e->start);
	parent = e->ppid ? bsearch(&k, all, n, sizeof(*all), cmp_ent) : NULL;
	t.parent_key = parent ? jb_hash_task(b->seed, parent->tgid, parent->start) : 0;
	t.first_ns = t.last_ns = now;
	t.flags = JB_TASK_BACKFILL;
	if (e->tgid == (uint32_t)getpid())
		t.flags |= JB_TASK_AGENT; /* the supervisor itself */

	snprintf(path, sizeof(path), "/proc/%u/comm", e->tgid);
	if ((len = read_file(path, buf, sizeof(buf) - 1)) > 0) {
		buf[len] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		memcpy(t.comm, buf, strnlen(buf, sizeof(t.comm) - 1));
	}
	snprintf(path, sizeof(path), "/proc/%u/status", e->tgid);
	if ((len = read_file(path, buf, sizeof(buf) - 1)) > 0) {
		char *u;
		buf[len] = '\0';
		if ((u = strstr(buf, "\nUid:")))
			t.uid = (uint32_t)strtoul(u + 5, NULL, 10);
	}
	snprintf(path, sizeof(path), "/proc/%u/exe", e->tgid);
	len = readlink(path, t.exe, sizeof(t.exe) - 1);
	if (len < 0)
		t.exe[0] = '\0'; /* kernel threads have none */
	else if (len == (ssize_t)sizeof(t.exe) - 1)
		t.flags |= JB_TASK_EXE_CUT;
	snprintf(path, sizeof(path), "/proc/%u/cmdline", e->tgid);
	if ((len = read_file(path, t.args, sizeof(t.args))) > 0) {
		t.args_len = (uint32_t)len;
		if (len == (ssize_t)sizeof(t.args)) {
			t.flags |= JB_TASK_ARGS_CUT;
			t.args[sizeof(t.args) - 1] = '\0';
		}
	}
	snprintf(path, sizeof(path), "/proc/%u/cgroup", e->tgid);
	if (cgfd >= 0 && (len = read_file(path, buf, sizeof(buf) - 1)) > 0) {
		char rel[PATH_MAX];

		if (sup_cgroup_v2_line(buf, (size_t)len, rel, sizeof(rel)) == 0)
			t.cgroup_id = sup_cgroup_id_at(cgfd, rel);
	}
	snprintf(path, sizeof(path), "/proc/%u/environ", e->tgid);
	if ((len = read_file(path, buf, sizeof(buf))) > 0 &&
	    jb_env_keep(buf, (size_t)len, &b->env, t.env, &t.env_len))
		t.flags |= JB_TASK_ENV_CUT;
	if (bpf_map_update_elem(b->fd_tasks, &t.key, &t, BPF_NOEXIST) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

int jb_backfill(struct jb_bpf *b)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	struct proc_ent *all = NULL;
	size_t n = 0, cap = 0;
	struct timespec ts;
	uint64_t now;
	int written = 0, failed = 0, cgfd;
	const char *cgroot;

	if (!d)
		return -1;
	while ((de = readdir(d))) {
		char path[64], buf[1024];
		struct proc_ent e = {0};
		ssize_t len;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		e.tgid = (uint32_t)strtoul(de->d_name, NULL, 10);
		snprintf(path, sizeof(path), "/proc/%u/stat", e.tgid);
		if ((len = read_file(path, buf, sizeof(buf) - 1)) <= 0)
			continue; /* gone */
		buf[len] = '\0';
		if (jb_parse_proc_stat(buf, &e.ppid, &e.start, NULL, 0) < 0)
			continue;
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 1024;
			struct proc_ent *na = realloc(all, nc * sizeof(*all));
			if (!na)
				break;
			all = na;
			cap = nc;
		}
		all[n++] = e;
	}
	closedir(d);
	qsort(all, n, sizeof(*all), cmp_ent);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	cgfd = jb_cgroup2_root(&cgroot);
	for (size_t i = 0; i < n; i++) {
		if (fill_task(b, &all[i], all, n, now, cgfd) == 0)
			written++;
		else
			failed++;
	}
	free(all);
	if (cgfd >= 0)
		close(cgfd);
	if (failed)
		log_warnx("back-fill: %d of %zu processes could not be stored (tasks map full?)",
			  failed, n);
	return written;
}
