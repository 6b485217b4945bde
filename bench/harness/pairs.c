/*
 * pairs.c - see pairs.h.
 *
 * Invariants:
 *  - maps are found by name on the supervisor's fds and read only if their
 *    key and value sizes are the ones bpf/jibril.h says; a mismatch is a
 *    note, never a misread.
 *  - each map and its protected ("hot") twin are read in turn: tasks, then
 *    files, then links against the sets the first two gave.
 *  - a pair is counted once however many links (or twins) hold it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/harness/bpfinfo.h"
#include "bench/harness/pairs.h"
#include "bench/harness/report.h"
#include "bpf/jibril.h"

struct tset { /* sorted u64 set */
	uint64_t *v;
	size_t n, cap;
};

static void tset_add(struct tset *s, uint64_t x)
{
	if (s->n == s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 1024;
		uint64_t *nv = realloc(s->v, nc * sizeof(*nv));
		if (!nv)
			return;
		s->v = nv;
		s->cap = nc;
	}
	s->v[s->n++] = x;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void tset_sort(struct tset *s)
{
	size_t k = 0;

	if (!s->n)
		return;
	qsort(s->v, s->n, sizeof(uint64_t), cmp_u64);
	for (size_t i = 1; i < s->n; i++)
		if (s->v[i] != s->v[k])
			s->v[++k] = s->v[i];
	s->n = k + 1;
}

static int tset_has(const struct tset *s, uint64_t x)
{
	return s->n && bsearch(&x, s->v, s->n, sizeof(uint64_t), cmp_u64) != NULL;
}

struct pairs_ctx {
	pid_t tgid;
	const char *prefix;
	size_t plen;
	struct tset tasks, files, pairs_task, pairs_any;
};

static void on_task(const void *k, const void *v, void *a)
{
	const struct jb_task *t = v;
	struct pairs_ctx *c = a;
	(void)k;
	if (t->tgid == (__u32)c->tgid)
		tset_add(&c->tasks, t->key);
}

static void on_file(const void *k, const void *v, void *a)
{
	const struct jb_file *f = v;
	struct pairs_ctx *c = a;
	(void)k;
	if (!strncmp(f->path, c->prefix, c->plen))
		tset_add(&c->files, f->key);
}

static void on_link(const void *k, const void *v, void *a)
{
	const struct jb_link_key *lk = k;
	struct pairs_ctx *c = a;
	(void)v;
	if (!tset_has(&c->files, lk->file_key))
		return;
	tset_add(&c->pairs_any, lk->task_key ^ jb_mix64(lk->file_key));
	if (tset_has(&c->tasks, lk->task_key))
		tset_add(&c->pairs_task, lk->task_key ^ jb_mix64(lk->file_key));
}

json_t *jib_pairs(pid_t sup, pid_t storm, const char *prefix)
{
	/* tasks, files and links, each with its protected ("hot") twin if present */
	static const char *want_names[] = {"jb_tasks", "jb_tasks_hot", "jb_files", "jb_files_hot",
					   "jb_links", "jb_links_hot"};
	static const size_t ksz[] = {8, 8, 8, 8, sizeof(struct jb_link_key), sizeof(struct jb_link_key)};
	static const size_t vsz[] = {sizeof(struct jb_task), sizeof(struct jb_task),
				     sizeof(struct jb_file), sizeof(struct jb_file),
				     sizeof(struct jb_link), sizeof(struct jb_link)};
	static void (*const fn[])(const void *, const void *, void *) = {on_task, on_task, on_file,
									   on_file, on_link, on_link};
	int fds[6] = {-1, -1, -1, -1, -1, -1};
	__u32 ids[256], id = 0;
	int nids = pid_bpf_ids(sup, 0, ids, 256), from_fdinfo = 1;
	struct pairs_ctx c;
	json_t *used = json_array(), *res;

	memset(&c, 0, sizeof(c));
	c.tgid = storm;
	c.prefix = prefix;
	c.plen = strlen(prefix);
	if (nids == 0) { /* fall back to every map in the system */
		from_fdinfo = 0;
		while (nids < 256 && bpf_map_get_next_id(id, &id) == 0)
			ids[nids++] = id;
	}
	for (int i = 0; i < nids; i++) {
		char name[32];
		__u32 ks = 0, vs = 0;

		map_name_of(ids[i], name, sizeof(name), &ks, &vs);
		for (int k = 0; k < 6; k++)
			if (fds[k] < 0 && !strcmp(name, want_names[k])) {
				if (ks != ksz[k] || vs != vsz[k]) {
					note("map %s has key/value size %u/%u, expected %zu/%zu: not read",
					     name, ks, vs, ksz[k], vsz[k]);
					continue;
				}
				fds[k] = bpf_map_get_fd_by_id(ids[i]);
				if (fds[k] >= 0)
					json_array_append_new(used, json_string(name));
			}
	}
	if (fds[0] < 0 || fds[2] < 0 || fds[4] < 0) {
		error_("pairs: jibril's jb_tasks/jb_files/jb_links maps not found (%s)",
		       from_fdinfo ? "supervisor fds" : "system-wide scan");
		for (int k = 0; k < 6; k++)
			if (fds[k] >= 0)
				close(fds[k]);
		json_decref(used);
		return NULL;
	}
	/* in order: tasks (both), files (both), then links against those sets */
	for (int k = 0; k < 6; k++) {
		if (k == 2)
			tset_sort(&c.tasks);
		if (k == 4)
			tset_sort(&c.files);
		if (fds[k] >= 0)
			map_each(fds[k], ksz[k], vsz[k], fn[k], &c);
	}
	tset_sort(&c.pairs_task);
	tset_sort(&c.pairs_any);
	res = json_pack("{s:I, s:I, s:I, s:I, s:o}", "pairs", (json_int_t)c.pairs_task.n,
			"links_in_dir_any_task", (json_int_t)c.pairs_any.n, "files_in_dir",
			(json_int_t)c.files.n, "storm_task_keys", (json_int_t)c.tasks.n, "maps_read", used);
	for (int k = 0; k < 6; k++)
		if (fds[k] >= 0)
			close(fds[k]);
	free(c.tasks.v);
	free(c.files.v);
	free(c.pairs_task.v);
	free(c.pairs_any.v);
	return res;
}
