/*
 * fuzz_snapshot.c - libFuzzer target for the worker's side of the snapshot
 * region (ipc/snapshot.c: jb_snap_map_ro, jb_snap_view, jb_snap_still_valid,
 * jb_snap_task, jb_snap_file, jb_snap_domain, jb_snap_flow_names,
 * jb_snap_tamper, jb_snap_cgroup) and the
 * record readers the recipes and events use on it (rcp_task_args,
 * rcp_times_key, jb_cgpath_parse of a task's cgroup).
 *
 *   make fuzz; build/fuzz/fuzz_snapshot DIR  (a copy of fuzz/corpus/snapshot)
 *
 * The input is a region, compacted: its first sizeof(struct
 * jb_snap_region_hdr) bytes are the region header, the rest is the region
 * from JB_SNAP_HDR_SIZE on (the header page's other bytes are never read).
 * The region is rebuilt in a heap buffer of exactly its size, so ASan sees
 * any read past its end; jb_snap_map_ro gets the same bytes in a memfd.
 *
 * Besides "never crash" and "never read out of bounds", it checks:
 *  - jb_snap_map_ro accepts a header only if its slots fit the region;
 *  - jb_snap_view succeeds only for slot < nslots wholly inside the region,
 *    refuses any other seq, and every array it returns lies inside the
 *    slot; jb_snap_still_valid holds (nothing writes);
 *  - jb_snap_task/jb_snap_file return a record of the key asked, inside
 *    its array or pool, a file with its path NUL-terminated at path_len;
 *  - jb_snap_flow_names returns NUL-terminated names inside the domains.
 *  - jb_snap_tamper returns NULL or record i, inside the region, of a known
 *    class, with comm and name NUL-terminated.
 *  - jb_snap_cgroup returns a record of the id asked inside the cgroup
 *    pool, its path NUL-terminated at path_len < JB_CGROUP_PATH_LEN.
 * Every slot is read the way a worker reads it: each link's task and
 * file, each flow's task and names, and every recipe of a fixed set
 * (each mechanism, each 'what' of an arbitrary item) matched on each, so
 * the matchers walk the task's fields, its parent and its ancestry.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz/broken.h"
#include "ipc/snapshot.h"
#include "workers/cgpath.h"
#include "rcp/recipe.h"
#include "rcp/task.h"

#define NAMES_MAX 8

/* One recipe per mechanism, and an item of every 'what'. */
#define HEAD(kind, mech) "- {kind: " kind ", name: n, mechanism: " mech ", tactic: t, " \
	"technique: t, importance: low,\n"
static const char recipes[] =
	HEAD("f", "file_access") "  bases: [{dir: /etc}, {regex: 'sh'}, {base: id_rsa}],\n"
	"  arbitrary: [{how: any, items: [\n"
	"    {what: exe, pattern: a}, {what: comm, pattern: a}, {what: args, pattern: '-c'},\n"
	"    {what: uid, numbers: [0]}, {what: pid, number: 1, when: bigger},\n"
	"    {what: ppid, number: 9, when: smaller}, {what: parent_exe, pattern: a},\n"
	"    {what: parent_comm, pattern: a}, {what: parent_args, pattern: a},\n"
	"    {what: task_or_parent_exe, pattern: a}, {what: ancient_exe, pattern: init},\n"
	"    {what: file, pattern: shadow}, {what: env, pattern: LD_}]}]}\n"
	HEAD("x", "execution") "  bases: [{regex: '.'}],\n"
	"  arbitrary: [{how: all, which: irrelevant, items: [{what: ancient_exe, pattern: x}]}]}\n"
	HEAD("n", "network_peers") "  remote_domains: [example.com, b.example],\n"
	"  remote_domains_trie_type: suffix, remote_cidrs: ['93.184.216.0/24', '::/0'],\n"
	"  local_cidrs: [0.0.0.0/0], flow_actions: [egress, started],\n"
	"  arbitrary: [{how: any, items: [{what: domain, pattern: cdn},\n"
	"    {what: domain_entropy, number: 200, when: bigger},\n"
	"    {what: remote_port, numbers: [443, 53]}, {what: remote_ip, cidr: [10.0.0.0/8]}]}]}\n"
	HEAD("p", "network_peers") "  remote_port: 4444, protocol: tcp}\n"
	HEAD("e", "env_vars") "  env_vars: [LD_PRELOAD, LD_AUDIT]}\n"
	HEAD("t", "tamper") "  tamper: [map_write, agent_files, signal],\n"
	"  arbitrary: [{how: any, items: [{what: comm, pattern: a}, {what: file, pattern: etc},\n"
	"    {what: uid, numbers: [0]}, {what: pid, number: 1, when: bigger}]}]}\n";
static struct rcp_set set;

static const uint8_t *lo, *hi;	/* the region: [lo, hi) */

/* A property does not hold: say which. */
static void inside(const void *p, size_t n)
{
	const uint8_t *b = p;

	if (b < lo || b > hi || n > (size_t)(hi - b))
		broken("%zu bytes at region offset %td are not inside its %td", n, b - lo, hi - lo);
}

static void check_task(const struct jb_snap_view *v, const struct jb_task *t, uint64_t key)
{
	if (!t)
		return;
	inside(t, sizeof(*t));
	if (t->key != key || t < v->tasks || t >= v->tasks + v->ntasks ||
	    ((const uint8_t *)t - (const uint8_t *)v->tasks) % sizeof(*t))
		broken("jb_snap_task(%#llx): not a task of that key in the array",
		       (unsigned long long)key);
}

static void check_file(const struct jb_snap_view *v, const struct jb_snap_file *f, uint64_t key)
{
	if (!f)
		return;
	inside(f, sizeof(*f));
	if (f->key != key || f->path_len >= JB_PATH_LEN ||
	    (const uint8_t *)f < v->file_pool ||
	    JB_SNAP_FILE_SIZE(f->path_len) > v->file_pool_len ||
	    (uint64_t)((const uint8_t *)f - v->file_pool) > v->file_pool_len -
		    JB_SNAP_FILE_SIZE(f->path_len) ||
	    strlen(f->path) != f->path_len)
		broken("jb_snap_file(%#llx): not a sound record of that key in the pool",
		       (unsigned long long)key);
}

static void check_cgroup(const struct jb_snap_view *v, const struct jb_snap_cgroup *c, uint64_t id)
{
	struct jb_cgctx cx;

	if (!c)
		return;
	inside(c, sizeof(*c));
	if (c->id != id || !id || c->path_len >= JB_CGROUP_PATH_LEN ||
	    (const uint8_t *)c < v->cgroup_pool ||
	    JB_SNAP_CGROUP_SIZE(c->path_len) > v->cgroup_pool_len ||
	    (uint64_t)((const uint8_t *)c - v->cgroup_pool) > v->cgroup_pool_len -
		    JB_SNAP_CGROUP_SIZE(c->path_len) ||
	    strlen(c->path) != c->path_len)
		broken("jb_snap_cgroup(%#llx): not a sound record of that id in the pool",
		       (unsigned long long)id);
	/* what the event builder does with it */
	jb_cgpath_parse(c->path, c->path_len, !!(c->flags & JB_SNAP_CGROUP_CUT), &cx);
}

/* The worker's reads of one subject: its recipes' record readers. */
static void read_subject(const struct jb_snap_view *v, const struct jb_task *t, const char *path,
			 uint32_t actions, const struct jb_flow *fl, const char *const *names,
			 int nnames, const struct jb_tamper *tp)
{
	struct rcp_subject s = { v, t, path, actions, fl, names, nnames, tp };
	char buf[512];

	for (size_t i = 0; i < set.n; i++)
		rcp_match(&set.r[i], &s);
	if (t && rcp_task_args(t, buf, sizeof(buf)) >= sizeof(buf))
		abort();
	for (int k = 0; k < RCP_T_MAX; k++) {
		rcp_times_key((enum rcp_times_kind)k, &s, "0123456789abcdef", buf, sizeof(buf));
		if (strlen(buf) >= sizeof(buf))
			abort();
	}
}

static void read_view(const struct jb_snap_view *v)
{
	const char *names[NAMES_MAX];

	inside(v->hdr, sizeof(*v->hdr));
	inside(v->tasks, (size_t)v->ntasks * sizeof(*v->tasks));
	inside(v->file_ix, (size_t)v->nfiles * sizeof(*v->file_ix));
	inside(v->file_pool, v->file_pool_len);
	inside(v->links, (size_t)v->nlinks * sizeof(*v->links));
	inside(v->flows, (size_t)v->nflows * sizeof(*v->flows));
	if (v->ndomains)
		inside(v->domains, (size_t)v->ndomains * sizeof(*v->domains));
	if (jb_snap_still_valid(v) != 0)
		abort();
	if (v->ncgroups) {
		inside(v->cgroup_ix, (size_t)v->ncgroups * sizeof(*v->cgroup_ix));
		inside(v->cgroup_pool, v->cgroup_pool_len);
	}
	for (uint32_t i = 0; i < v->ntasks; i++) {
		check_task(v, jb_snap_task(v, v->tasks[i].key), v->tasks[i].key);
		check_cgroup(v, jb_snap_cgroup(v, v->tasks[i].cgroup_id), v->tasks[i].cgroup_id);
	}
	for (uint32_t i = 0; i < v->ncgroups; i++)
		check_cgroup(v, jb_snap_cgroup(v, v->cgroup_ix[i].id), v->cgroup_ix[i].id);
	for (uint32_t i = 0; i < v->nfiles; i++)
		check_file(v, jb_snap_file(v, v->file_ix[i].key), v->file_ix[i].key);
	for (uint32_t i = 0; i < v->nlinks; i++) {
		const struct jb_snap_link *l = &v->links[i];
		const struct jb_task *t = jb_snap_task(v, l->key.task_key);
		const struct jb_snap_file *f = jb_snap_file(v, l->key.file_key);

		check_task(v, t, l->key.task_key);
		check_file(v, f, l->key.file_key);
		read_subject(v, t, f ? f->path : NULL, l->link.actions, NULL, NULL, 0, NULL);
	}
	for (uint32_t i = 0; i < v->nflows; i++) {
		const struct jb_flow *fl = &v->flows[i];
		const struct jb_task *t = jb_snap_task(v, fl->task_key);
		int n = jb_snap_flow_names(v, fl, names, NAMES_MAX);

		check_task(v, t, fl->task_key);
		if (n < 0 || n > NAMES_MAX)
			abort();
		for (int k = 0; k < n; k++) {
			const uint8_t *p = (const uint8_t *)names[k];

			if (p < (const uint8_t *)v->domains ||
			    p >= (const uint8_t *)(v->domains + v->ndomains) ||
			    !memchr(p, '\0', (size_t)((const uint8_t *)(v->domains + v->ndomains) - p)))
				abort();
		}
		read_subject(v, t, NULL, 0, fl, names, n, NULL);
	}
	for (uint32_t i = 0; i < v->ndomains; i++) {
		const struct jb_snap_domain *d = jb_snap_domain(v, v->domains[i].key.netns,
								v->domains[i].key.family,
								v->domains[i].key.addr);
		if (d && (d < v->domains || d >= v->domains + v->ndomains))
			abort();
	}
	for (uint32_t i = 0; i < v->ntampers + 1; i++) {
		const struct jb_tamper *tp = jb_snap_tamper(v, i);

		if (!tp)
			continue;
		inside(tp, sizeof(*tp));
		if (i >= v->ntampers || tp != &v->tampers[i] || !tp->klass ||
		    tp->klass >= JB_TAMPER_CLASS_MAX || !memchr(tp->comm, '\0', sizeof(tp->comm)) ||
		    !memchr(tp->name, '\0', sizeof(tp->name)))
			broken("jb_snap_tamper(%u): not a sound record %u of the section", i, i);
		read_subject(v, jb_snap_task(v, tp->task_key),
			     tp->klass == JB_TAMPER_FILE ? tp->name : NULL, 0, NULL, NULL, 0, tp);
	}
}

/* The slot's own seq, when its header lies inside the region. */
static uint64_t slot_seq(const struct jb_snap_region_hdr *r, size_t size, uint32_t slot)
{
	uint64_t off;
	struct jb_snap_slot_hdr h;

	if (r->slot_size == 0 || slot > (size - JB_SNAP_HDR_SIZE) / r->slot_size)
		return 0;
	off = JB_SNAP_HDR_SIZE + (uint64_t)slot * r->slot_size;
	if (off > size || size - off < sizeof(h))
		return 0;
	memcpy(&h, (const uint8_t *)r + off, sizeof(h));
	return h.seq_begin;
}

static void map_ro(const uint8_t *region, size_t size)
{
	static int fd = -1;
	const struct jb_snap_region_hdr *h;
	size_t got = 0;
	char err[128];

	if (fd < 0 && (fd = memfd_create("fuzz-snapshot", MFD_CLOEXEC)) < 0)
		abort();
	if (ftruncate(fd, 0) < 0 || pwrite(fd, region, size, 0) != (ssize_t)size)
		abort();
	h = jb_snap_map_ro(fd, &got, err, sizeof(err));
	if (!h) {
		if (!err[0])
			abort();
		return;
	}
	if (got != size || h->slot_size < JB_SNAP_HDR_SIZE || h->nslots == 0 ||
	    h->nslots > (size - JB_SNAP_HDR_SIZE) / h->slot_size)
		broken("jb_snap_map_ro accepted slots that do not fit the region");
	munmap((void *)h, got);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const size_t hsz = sizeof(struct jb_snap_region_hdr);
	size_t rsize = JB_SNAP_HDR_SIZE + (size > hsz ? size - hsz : 0);
	const struct jb_snap_region_hdr *r;
	struct jb_snap_view v;
	uint8_t *region;

	if (!set.r) {
		struct rcp_source src = { "fuzz_snapshot", recipes, sizeof(recipes) - 1 };
		char err[512];

		if (rcp_load(&set, &src, 1, NULL, 0, NULL, NULL, err, sizeof(err)) < 0)
			broken("its recipes: %s", err);
	}
	region = calloc(1, rsize);
	if (!region)
		abort();
	memcpy(region, data, size < hsz ? size : hsz);
	if (size > hsz)
		memcpy(region + JB_SNAP_HDR_SIZE, data + hsz, size - hsz);
	lo = region;
	hi = region + rsize;
	r = (const struct jb_snap_region_hdr *)region;

	map_ro(region, rsize);
	/* every slot the header claims (a few), and the first one past them */
	for (uint32_t slot = 0; slot <= r->nslots && slot < 4; slot++) {
		uint64_t seq = slot_seq(r, rsize, slot);

		if (jb_snap_view(r, rsize, slot, seq, &v) < 0)
			continue;
		if (slot >= r->nslots || r->slot_size > (rsize - JB_SNAP_HDR_SIZE) / (slot + 1))
			broken("a view of slot %u, outside the region", slot);
		if (jb_snap_view(r, rsize, slot, seq + 1, &v) == 0)
			broken("a view of slot %u for a seq it does not hold", slot);
		if (jb_snap_view(r, rsize, slot, seq, &v) < 0)
			broken("slot %u: a second view refused", slot);
		read_view(&v);
	}
	free(region);
	return 0;
}
