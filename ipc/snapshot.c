/*
 * snapshot.c - create, write, publish and read the snapshot region.
 *
 * Invariants:
 *  - only the supervisor holds a writable mapping; the memfd is sealed
 *    against growth, shrinking and any future writable mapping before its
 *    fd is handed to a worker, so a worker cannot corrupt what others read.
 *  - a reader validates every offset and count against the region size
 *    before touching a record, and each file record against the pool
 *    before returning it: the region is trusted, but a bug must show up
 *    as a refused snapshot or an absent file, not as a wild read.
 *  - a file record is written whole, zero padding included, and the pool
 *    reserves cap_files records of the longest path, so appending up to
 *    cap_files files never needs a bounds check beyond the count.
 *  - each tamper record is checked before it is returned (class, NULs,
 *    count, times), like each file record; each cgroup record like a file
 *    record (the same pool rules, JB_CGROUP_PATH_LEN for the path).
 *  - every task reserves one cgroup index entry and one record of the
 *    longest cgroup path, so up to cap_tasks cgroups never overflow.
 *  - seq_begin is written first and seq_end last, with release ordering;
 *    readers check both (before and after reading).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "snapshot.h"

_Static_assert(sizeof(struct jb_task) % 8 == 0, "jb_task must stay 8-byte sized");
_Static_assert(sizeof(struct jb_snap_file) == 24, "jb_snap_file header layout");
_Static_assert(sizeof(struct jb_snap_file_ix) == 16, "jb_snap_file_ix layout");
_Static_assert(sizeof(struct jb_snap_link) == 40, "jb_snap_link layout");
_Static_assert(sizeof(struct jb_flow) == 88, "jb_flow layout");
_Static_assert(sizeof(struct jb_snap_slot_hdr) <= 512, "slot header fits its reserve");
_Static_assert(sizeof(struct jb_dns_key) == 32, "jb_dns_key layout");
_Static_assert(sizeof(struct jb_dns) == 296, "jb_dns layout");
_Static_assert(sizeof(struct jb_snap_domain) % 8 == 0, "jb_snap_domain must stay 8-byte sized");
_Static_assert(sizeof(struct jb_tamper) == 472, "jb_tamper layout");
_Static_assert(__builtin_offsetof(struct jb_task, key) == 0, "find_key needs key first");
_Static_assert(__builtin_offsetof(struct jb_snap_file_ix, key) == 0, "find_key needs key first");
_Static_assert(__builtin_offsetof(struct jb_snap_cgroup_ix, id) == 0, "find_key needs id first");
_Static_assert(sizeof(struct jb_snap_cgroup) == 16, "jb_snap_cgroup header layout");
_Static_assert(sizeof(struct jb_snap_cgroup_ix) == 16, "jb_snap_cgroup_ix layout");

#define SLOT_HDR_RESERVE 512
/* what one file may take: its index entry and its longest record */
#define FILE_MAX (sizeof(struct jb_snap_file_ix) + JB_SNAP_FILE_SIZE(JB_PATH_LEN - 1))
/* what one task may add to the cgroup section */
#define CGROUP_MAX (sizeof(struct jb_snap_cgroup_ix) + JB_SNAP_CGROUP_SIZE(JB_CGROUP_PATH_LEN - 1))

static size_t align_up(size_t v, size_t a) { return (v + a - 1) & ~(a - 1); }

size_t jb_snap_slot_size_all(uint32_t tasks, uint32_t files, uint32_t links, uint32_t flows,
			     uint32_t domains, uint32_t tampers)
{
	size_t s = SLOT_HDR_RESERVE;
	s += (size_t)tasks * (sizeof(struct jb_task) + CGROUP_MAX);
	s += (size_t)files * FILE_MAX;
	s += (size_t)links * sizeof(struct jb_snap_link);
	s += (size_t)flows * sizeof(struct jb_flow);
	s += (size_t)domains * sizeof(struct jb_snap_domain);
	s += (size_t)tampers * sizeof(struct jb_tamper);
	return align_up(s, 4096);
}

size_t jb_snap_slot_size_dns(uint32_t tasks, uint32_t files, uint32_t links, uint32_t flows,
			     uint32_t domains)
{
	return jb_snap_slot_size_all(tasks, files, links, flows, domains, 0);
}

size_t jb_snap_slot_size(uint32_t tasks, uint32_t files, uint32_t links, uint32_t flows)
{
	return jb_snap_slot_size_dns(tasks, files, links, flows, 0);
}

int jb_snap_create(struct jb_snap_region *r, uint32_t nslots, uint32_t tasks, uint32_t files,
		   uint32_t links, uint32_t flows)
{
	return jb_snap_create_all(r, nslots, tasks, files, links, flows, JB_DNS_ENTRIES,
				  JB_TAMPER_ENTRIES);
}

int jb_snap_create_dns(struct jb_snap_region *r, uint32_t nslots, uint32_t tasks,
		       uint32_t files, uint32_t links, uint32_t flows, uint32_t domains)
{
	return jb_snap_create_all(r, nslots, tasks, files, links, flows, domains, 0);
}

int jb_snap_create_all(struct jb_snap_region *r, uint32_t nslots, uint32_t tasks,
		       uint32_t files, uint32_t links, uint32_t flows, uint32_t domains,
		       uint32_t tampers)
{
	size_t slot = jb_snap_slot_size_all(tasks, files, links, flows, domains, tampers);
	size_t size = JB_SNAP_HDR_SIZE + slot * nslots;
	int fd;

	memset(r, 0, sizeof(*r));
	r->fd = -1;
	fd = memfd_create("jibril-snapshot", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -1;
	if (ftruncate(fd, (off_t)size) < 0)
		goto fail;
	r->base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (r->base == MAP_FAILED) {
		r->base = NULL;
		goto fail;
	}
	/* FUTURE_WRITE keeps our mapping writable but refuses any new one */
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE | F_SEAL_SEAL) <
	    0)
		goto fail;
	r->fd = fd;
	r->size = size;
	r->hdr = (struct jb_snap_region_hdr *)r->base;
	r->hdr->magic = JB_SNAP_MAGIC;
	r->hdr->version = JB_SNAP_VERSION;
	r->hdr->nslots = nslots;
	r->hdr->layout_version = JB_LAYOUT_VERSION;
	r->hdr->slot_size = slot;
	r->hdr->region_size = size;
	r->hdr->cap_tasks = tasks;
	r->hdr->cap_files = files;
	r->hdr->cap_links = links;
	r->hdr->cap_flows = flows;
	r->hdr->cap_domains = domains;
	r->hdr->cap_tampers = tampers;
	return 0;
fail: {
	int e = errno;
	if (r->base)
		munmap(r->base, size);
	r->base = NULL;
	close(fd);
	errno = e;
	return -1;
}
}

void jb_snap_destroy(struct jb_snap_region *r)
{
	if (r->base)
		munmap(r->base, r->size);
	if (r->fd >= 0)
		close(r->fd);
	memset(r, 0, sizeof(*r));
	r->fd = -1;
}

static uint8_t *slot_base(const struct jb_snap_region_hdr *h, uint32_t slot)
{
	return (uint8_t *)h + JB_SNAP_HDR_SIZE + (size_t)slot * h->slot_size;
}

struct jb_snap_slot_hdr *jb_snap_begin(struct jb_snap_region *r, uint32_t slot, uint64_t seq,
				       struct jb_task **tasks, struct jb_snap_link **links,
				       struct jb_flow **flows)
{
	const struct jb_snap_region_hdr *rh = r->hdr;
	uint8_t *b = slot_base(rh, slot);
	struct jb_snap_slot_hdr *h = (struct jb_snap_slot_hdr *)b;
	size_t off = SLOT_HDR_RESERVE;

	/* invalidate first: a reader racing with us sees begin != end */
	__atomic_store_n(&h->seq_end, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&h->seq_begin, seq, __ATOMIC_RELEASE);
	h->off_tasks = off;
	off += (size_t)rh->cap_tasks * sizeof(struct jb_task);
	h->off_files = off;
	off += (size_t)rh->cap_files * sizeof(struct jb_snap_file_ix);
	h->off_file_pool = off;
	off += (size_t)rh->cap_files * JB_SNAP_FILE_SIZE(JB_PATH_LEN - 1);
	h->off_links = off;
	off += (size_t)rh->cap_links * sizeof(struct jb_snap_link);
	h->off_flows = off;
	off += (size_t)rh->cap_flows * sizeof(struct jb_flow);
	h->off_domains = off;
	off += (size_t)rh->cap_domains * sizeof(struct jb_snap_domain);
	h->off_tampers = off;
	off += (size_t)rh->cap_tampers * sizeof(struct jb_tamper);
	h->off_cgroups = off;
	off += (size_t)rh->cap_tasks * sizeof(struct jb_snap_cgroup_ix);
	h->off_cgroup_pool = off;
	h->ncgroups = 0;
	h->cgroup_pool_len = 0;
	h->ntampers = 0;
	h->ndomains = 0;
	h->nfiles = 0;
	h->file_pool_len = 0;
	*tasks = (struct jb_task *)(b + h->off_tasks);
	*links = (struct jb_snap_link *)(b + h->off_links);
	*flows = (struct jb_flow *)(b + h->off_flows);
	return h;
}

int jb_snap_add_file(struct jb_snap_region *r, struct jb_snap_slot_hdr *h,
		     const struct jb_file *f)
{
	uint8_t *b = (uint8_t *)h;
	struct jb_snap_file_ix *ix;
	struct jb_snap_file *rec;
	size_t len = strnlen(f->path, JB_PATH_LEN - 1), size = JB_SNAP_FILE_SIZE(len);

	if (h->nfiles >= r->hdr->cap_files)
		return -1;
	ix = (struct jb_snap_file_ix *)(b + h->off_files);
	rec = (struct jb_snap_file *)(b + h->off_file_pool + h->file_pool_len);
	rec->key = f->key;
	rec->first_ns = f->first_ns;
	/* the kernel terminates every path; one that is not is cut here */
	rec->flags = f->flags | (f->path[len] ? JB_FILE_PATH_CUT : 0);
	rec->path_len = (uint32_t)len;
	memcpy(rec->path, f->path, len);
	/* the NUL and the padding: no stale bytes of an older snapshot */
	memset(rec->path + len, 0, size - sizeof(*rec) - len);
	ix[h->nfiles].key = f->key;
	ix[h->nfiles].off = h->file_pool_len;
	h->nfiles++;
	h->file_pool_len += size;
	return 0;
}

int jb_snap_add_cgroup(struct jb_snap_region *r, struct jb_snap_slot_hdr *h, uint64_t id,
		       const char *path)
{
	uint8_t *b = (uint8_t *)h;
	struct jb_snap_cgroup_ix *ix;
	struct jb_snap_cgroup *rec;
	size_t len = strnlen(path, JB_CGROUP_PATH_LEN - 1), size = JB_SNAP_CGROUP_SIZE(len);

	if (h->ncgroups >= r->hdr->cap_tasks || !id)
		return -1;
	ix = (struct jb_snap_cgroup_ix *)(b + h->off_cgroups);
	rec = (struct jb_snap_cgroup *)(b + h->off_cgroup_pool + h->cgroup_pool_len);
	rec->id = id;
	rec->flags = path[len] ? JB_SNAP_CGROUP_CUT : 0;
	rec->path_len = (uint32_t)len;
	memcpy(rec->path, path, len);
	/* the NUL and the padding: no stale bytes of an older snapshot */
	memset(rec->path + len, 0, size - sizeof(*rec) - len);
	ix[h->ncgroups].id = id;
	ix[h->ncgroups].off = h->cgroup_pool_len;
	h->ncgroups++;
	h->cgroup_pool_len += size;
	return 0;
}

struct jb_snap_domain *jb_snap_domains(struct jb_snap_region *r, struct jb_snap_slot_hdr *h,
				       uint32_t *cap)
{
	*cap = r->hdr->cap_domains;
	return (struct jb_snap_domain *)((uint8_t *)h + h->off_domains);
}

int jb_snap_add_tamper(struct jb_snap_region *r, struct jb_snap_slot_hdr *h,
		       const struct jb_tamper *t)
{
	struct jb_tamper *out;
	size_t cl, nl, tl;

	if (h->ntampers >= r->hdr->cap_tampers)
		return -1;
	out = (struct jb_tamper *)((uint8_t *)h + h->off_tampers) + h->ntampers;
	*out = *t;
	/* the kernel terminates both strings; one that is not is cut here,
	 * and no stale byte after a NUL reaches a reader */
	cl = strnlen(t->comm, sizeof(t->comm) - 1);
	nl = strnlen(t->name, sizeof(t->name) - 1);
	tl = strnlen(t->target, sizeof(t->target) - 1);
	if (t->name[nl] || t->target[tl])
		out->flags |= JB_TAMPER_NAME_CUT;
	memset(out->comm + cl, 0, sizeof(out->comm) - cl);
	memset(out->name + nl, 0, sizeof(out->name) - nl);
	memset(out->target + tl, 0, sizeof(out->target) - tl);
	h->ntampers++;
	return 0;
}

static int cmp_domain(const void *a, const void *b)
{
	return memcmp(&((const struct jb_snap_domain *)a)->key,
		      &((const struct jb_snap_domain *)b)->key, sizeof(struct jb_dns_key));
}

static int cmp_task(const void *a, const void *b)
{
	uint64_t x = ((const struct jb_task *)a)->key, y = ((const struct jb_task *)b)->key;
	return x < y ? -1 : x > y;
}

static int cmp_file_ix(const void *a, const void *b)
{
	uint64_t x = ((const struct jb_snap_file_ix *)a)->key,
		 y = ((const struct jb_snap_file_ix *)b)->key;
	return x < y ? -1 : x > y;
}

void jb_snap_publish(struct jb_snap_slot_hdr *h, uint32_t ntasks, uint32_t nlinks,
		     uint32_t nflows)
{
	uint8_t *b = (uint8_t *)h;

	qsort(b + h->off_tasks, ntasks, sizeof(struct jb_task), cmp_task);
	qsort(b + h->off_files, h->nfiles, sizeof(struct jb_snap_file_ix), cmp_file_ix);
	qsort(b + h->off_domains, h->ndomains, sizeof(struct jb_snap_domain), cmp_domain);
	qsort(b + h->off_cgroups, h->ncgroups, sizeof(struct jb_snap_cgroup_ix), cmp_file_ix);
	h->ntasks = ntasks;
	h->nlinks = nlinks;
	h->nflows = nflows;
	__atomic_store_n(&h->seq_end, h->seq_begin, __ATOMIC_RELEASE);
}

const struct jb_snap_region_hdr *jb_snap_map_ro(int fd, size_t *size, char *err, size_t errlen)
{
	off_t end = lseek(fd, 0, SEEK_END);
	const struct jb_snap_region_hdr *h;

	if (end < (off_t)JB_SNAP_HDR_SIZE) {
		snprintf(err, errlen, "snapshot fd: size %lld too small", (long long)end);
		return NULL;
	}
	h = mmap(NULL, (size_t)end, PROT_READ, MAP_SHARED, fd, 0);
	if (h == MAP_FAILED) {
		snprintf(err, errlen, "snapshot mmap: %s", strerror(errno));
		return NULL;
	}
	if (h->magic != JB_SNAP_MAGIC || h->version != JB_SNAP_VERSION ||
	    h->layout_version != JB_LAYOUT_VERSION || h->region_size != (uint64_t)end ||
	    h->nslots == 0 || h->slot_size == 0 ||
	    /* divide, never multiply: a hostile header must not wrap around */
	    h->nslots > ((uint64_t)end - JB_SNAP_HDR_SIZE) / h->slot_size ||
	    jb_snap_slot_size_all(h->cap_tasks, h->cap_files, h->cap_links, h->cap_flows,
				  h->cap_domains, h->cap_tampers) != h->slot_size) {
		snprintf(err, errlen, "snapshot region header is invalid");
		munmap((void *)h, (size_t)end);
		return NULL;
	}
	*size = (size_t)end;
	return h;
}

/* n records of recsz bytes at off: aligned, past the header, inside the slot */
static int range_ok(uint64_t off, uint64_t n, size_t recsz, uint64_t slot_size)
{
	return off % 8 == 0 && off >= SLOT_HDR_RESERVE && off <= slot_size &&
	       n <= (slot_size - off) / recsz;
}

int jb_snap_view(const struct jb_snap_region_hdr *r, size_t size, uint32_t slot, uint64_t seq,
		 struct jb_snap_view *v)
{
	const uint8_t *b;
	const struct jb_snap_slot_hdr *h;

	/* a slot smaller than its header's reserve would be read past its
	 * end, an unaligned size would misalign every slot after the first */
	if (slot >= r->nslots || size < JB_SNAP_HDR_SIZE || r->slot_size < SLOT_HDR_RESERVE ||
	    r->slot_size % 8 || (uint64_t)slot + 1 > (size - JB_SNAP_HDR_SIZE) / r->slot_size)
		return -1;
	b = slot_base(r, slot);
	h = (const struct jb_snap_slot_hdr *)b;
	if (__atomic_load_n(&h->seq_end, __ATOMIC_ACQUIRE) != seq ||
	    __atomic_load_n(&h->seq_begin, __ATOMIC_ACQUIRE) != seq)
		return -1;
	memset(v, 0, sizeof(*v));
	v->seq = seq;
	v->hdr = h;
	v->ntasks = h->ntasks;
	v->nfiles = h->nfiles;
	v->nlinks = h->nlinks;
	v->nflows = h->nflows;
	v->ndomains = h->ndomains;
	v->ntampers = h->ntampers;
	v->ncgroups = h->ncgroups;
	if (v->ncgroups > r->cap_tasks ||
	    (v->ncgroups &&
	     (!range_ok(h->off_cgroups, v->ncgroups, sizeof(struct jb_snap_cgroup_ix),
			r->slot_size) ||
	      !range_ok(h->off_cgroup_pool, h->cgroup_pool_len, 1, r->slot_size))))
		return -1;
	if (v->ntasks > r->cap_tasks || v->nfiles > r->cap_files || v->nlinks > r->cap_links ||
	    v->nflows > r->cap_flows || v->ndomains > r->cap_domains ||
	    v->ntampers > r->cap_tampers ||
	    (v->ndomains &&
	     !range_ok(h->off_domains, v->ndomains, sizeof(struct jb_snap_domain), r->slot_size)) ||
	    (v->ntampers &&
	     !range_ok(h->off_tampers, v->ntampers, sizeof(struct jb_tamper), r->slot_size)) ||
	    !range_ok(h->off_tasks, v->ntasks, sizeof(struct jb_task), r->slot_size) ||
	    !range_ok(h->off_files, v->nfiles, sizeof(struct jb_snap_file_ix), r->slot_size) ||
	    !range_ok(h->off_file_pool, h->file_pool_len, 1, r->slot_size) ||
	    !range_ok(h->off_links, v->nlinks, sizeof(struct jb_snap_link), r->slot_size) ||
	    !range_ok(h->off_flows, v->nflows, sizeof(struct jb_flow), r->slot_size))
		return -1;
	v->tasks = (const struct jb_task *)(b + h->off_tasks);
	v->file_ix = (const struct jb_snap_file_ix *)(b + h->off_files);
	v->file_pool = b + h->off_file_pool;
	v->file_pool_len = h->file_pool_len;
	v->links = (const struct jb_snap_link *)(b + h->off_links);
	v->flows = (const struct jb_flow *)(b + h->off_flows);
	v->domains = v->ndomains ? (const struct jb_snap_domain *)(b + h->off_domains) : NULL;
	v->tampers = v->ntampers ? (const struct jb_tamper *)(b + h->off_tampers) : NULL;
	if (v->ncgroups) {
		v->cgroup_ix = (const struct jb_snap_cgroup_ix *)(b + h->off_cgroups);
		v->cgroup_pool = b + h->off_cgroup_pool;
		v->cgroup_pool_len = h->cgroup_pool_len;
	}
	return 0;
}

int jb_snap_still_valid(const struct jb_snap_view *v)
{
	return __atomic_load_n(&v->hdr->seq_begin, __ATOMIC_ACQUIRE) == v->seq &&
			       __atomic_load_n(&v->hdr->seq_end, __ATOMIC_ACQUIRE) == v->seq
		       ? 0
		       : -1;
}

/* Tasks and file index entries both start with their u64 key and are
 * sorted by it. */
static const void *find_key(const void *base, size_t n, size_t recsz, uint64_t key)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint64_t k = *(const uint64_t *)((const uint8_t *)base + mid * recsz);
		if (k == key)
			return (const uint8_t *)base + mid * recsz;
		if (k < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct jb_task *jb_snap_task(const struct jb_snap_view *v, uint64_t key)
{
	return find_key(v->tasks, v->ntasks, sizeof(*v->tasks), key);
}

const struct jb_tamper *jb_snap_tamper(const struct jb_snap_view *v, uint32_t i)
{
	const struct jb_tamper *t;

	if (i >= v->ntampers || !v->tampers)
		return NULL;
	t = &v->tampers[i];
	/* callers print comm and name as strings and name the class */
	if (t->klass == 0 || t->klass >= JB_TAMPER_CLASS_MAX || t->count == 0 ||
	    t->first_ns > t->last_ns || !memchr(t->comm, '\0', sizeof(t->comm)) ||
	    !memchr(t->name, '\0', sizeof(t->name)) || !memchr(t->target, '\0', sizeof(t->target)))
		return NULL;
	return t;
}

const struct jb_snap_file *jb_snap_file(const struct jb_snap_view *v, uint64_t key)
{
	const struct jb_snap_file_ix *ix = find_key(v->file_ix, v->nfiles, sizeof(*ix), key);
	const struct jb_snap_file *f;
	uint64_t off, room;
	uint32_t len;

	if (!ix)
		return NULL;
	/* each value read once, each check before the read it guards */
	off = ix->off;
	if (off % 8 || off > v->file_pool_len)
		return NULL;
	room = v->file_pool_len - off;
	if (room < JB_SNAP_FILE_SIZE(0))
		return NULL; /* not even the smallest record fits */
	f = (const struct jb_snap_file *)(v->file_pool + off);
	len = f->path_len;
	/* path_len is strlen(path): callers use both, for matching and output */
	if (f->key != key || len >= JB_PATH_LEN || JB_SNAP_FILE_SIZE(len) > room ||
	    f->path[len] != '\0' || memchr(f->path, '\0', len))
		return NULL;
	return f;
}

const struct jb_snap_cgroup *jb_snap_cgroup(const struct jb_snap_view *v, uint64_t id)
{
	const struct jb_snap_cgroup_ix *ix;
	const struct jb_snap_cgroup *c;
	uint64_t off, room;
	uint32_t len;

	if (!id || !v->ncgroups || !v->cgroup_ix)
		return NULL;
	ix = find_key(v->cgroup_ix, v->ncgroups, sizeof(*ix), id);
	if (!ix)
		return NULL;
	/* each value read once, each check before the read it guards */
	off = ix->off;
	if (off % 8 || off > v->cgroup_pool_len)
		return NULL;
	room = v->cgroup_pool_len - off;
	if (room < JB_SNAP_CGROUP_SIZE(0))
		return NULL;
	c = (const struct jb_snap_cgroup *)(v->cgroup_pool + off);
	len = c->path_len;
	if (c->id != id || len >= JB_CGROUP_PATH_LEN || JB_SNAP_CGROUP_SIZE(len) > room ||
	    c->path[len] != '\0' || memchr(c->path, '\0', len))
		return NULL;
	return c;
}

const struct jb_snap_domain *jb_snap_domain(const struct jb_snap_view *v, uint64_t netns,
					    uint16_t family, const uint8_t *addr)
{
	struct jb_snap_domain k;

	if (!v->ndomains || (family != AF_INET && family != AF_INET6))
		return NULL;
	memset(&k.key, 0, sizeof(k.key));
	k.key.netns = netns;
	k.key.family = family;
	memcpy(k.key.addr, addr, family == AF_INET ? 4 : 16);
	return bsearch(&k, v->domains, v->ndomains, sizeof(*v->domains), cmp_domain);
}

/* Append the names of d not already in names[0..n). */
static int add_names(const struct jb_snap_domain *d, const char **names, int n, int max)
{
	uint32_t len = d->dns.len, at = 0;

	if (len > sizeof(d->dns.names))
		len = sizeof(d->dns.names);
	while (at < len && n < max) {
		const char *nm = d->dns.names + at;
		size_t l = strnlen(nm, len - at);
		int dup = 0;

		if (l == len - at)
			break; /* not NUL terminated inside len: refuse the rest */
		for (int i = 0; i < n && !dup; i++)
			dup = strcmp(names[i], nm) == 0;
		if (l && !dup)
			names[n++] = nm;
		at += (uint32_t)l + 1;
	}
	return n;
}

int jb_snap_flow_names(const struct jb_snap_view *v, const struct jb_flow *f, const char **names,
		       int max)
{
	static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	const struct jb_snap_domain *d;
	int n = 0;

	if (!v || !f || !names || max <= 0)
		return 0;
	/* only the flow's own namespace: an answer received in another one
	 * (a container, an unprivileged user's namespace) says nothing about
	 * the address here; a flow whose namespace is unknown gets no names */
	if (!f->netns)
		return 0;
	d = jb_snap_domain(v, f->netns, f->family, f->daddr);
	if (d)
		n = add_names(d, names, n, max);
	if (f->family == AF_INET6 && memcmp(f->daddr, v4mapped, sizeof(v4mapped)) == 0) {
		d = jb_snap_domain(v, f->netns, AF_INET, f->daddr + 12);
		if (d)
			n = add_names(d, names, n, max);
	}
	return n;
}
