/*
 * check_snapshot.c - the shared-memory snapshot region (ipc/snapshot.c) and
 * the seeded key hashes of bpf/jibril.h.
 *
 * Invariants checked: a published slot reads back with its counts and with
 * tasks/files sorted and found by key; a file record takes the size of its
 * path (terminated, cut at JB_PATH_LEN - 1), not of the kernel's record;
 * the memfd is sealed so that nothing but the supervisor's own mapping can
 * ever write it; the seqlock refuses a slot that is being rewritten; a
 * reader refuses every header, offset or count that would make it read
 * outside the region, and a file record that is not wholly inside the pool
 * reads as absent; the path hash ignores the stale bytes after the NUL.
 * Fork mode (the Check default) contains a wild read to one test.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>

#include <check.h>

#include "bpf/jibril.h"
#include "ipc/snapshot.h"

#define SLOT_RESERVE 512 /* snapshot.c SLOT_HDR_RESERVE */
/* snapshot.c FILE_MAX: what one file reserves in a slot */
#define FILE_MAX (sizeof(struct jb_snap_file_ix) + JB_SNAP_FILE_SIZE(JB_PATH_LEN - 1))
/* snapshot.c: the cgroup room each task reserves */
#define TASK_CGROUP_MAX \
	(sizeof(struct jb_snap_cgroup_ix) + JB_SNAP_CGROUP_SIZE(JB_CGROUP_PATH_LEN - 1))

static char ERR[256];

/* nslots 2; 8 tasks, 8 files, 4 links, 4 flows */
static void make_region(struct jb_snap_region *r)
{
	ck_assert_int_eq(jb_snap_create(r, 2, 8, 8, 4, 4), 0);
	ck_assert_int_ge(r->fd, 0);
	ck_assert_ptr_nonnull(r->base);
}

/* A kernel file record: path copied into the full buffer, the rest zero. */
static struct jb_file kfile(uint64_t key, const char *path)
{
	struct jb_file f;

	memset(&f, 0, sizeof(f));
	f.key = key;
	f.first_ns = key * 1000;
	f.flags = (uint32_t)key & 1;
	snprintf(f.path, sizeof(f.path), "%s", path);
	return f;
}

static struct jb_snap_slot_hdr *slot_hdr(struct jb_snap_region *r, uint32_t slot)
{
	return (struct jb_snap_slot_hdr *)(r->base + JB_SNAP_HDR_SIZE + slot * r->hdr->slot_size);
}

static const uint64_t task_keys[] = {50, 10, 40, 20, 30};
static const uint64_t file_keys[] = {7, 3, 9};
#define NT (sizeof(task_keys) / sizeof(task_keys[0]))
#define NF (sizeof(file_keys) / sizeof(file_keys[0]))

/* Write snapshot 'seq' into 'slot', records deliberately unsorted; each
 * record carries a value derived from its key so a sort that moved keys
 * without their records shows up. */
static void write_snapshot(struct jb_snap_region *r, uint32_t slot, uint64_t seq)
{
	struct jb_task *t;
	struct jb_snap_link *l;
	struct jb_flow *fl;
	struct jb_snap_slot_hdr *h = jb_snap_begin(r, slot, seq, &t, &l, &fl);

	ck_assert_ptr_nonnull(h);
	for (size_t i = 0; i < NT; i++) {
		memset(&t[i], 0, sizeof(t[i]));
		t[i].key = task_keys[i];
		t[i].tgid = (uint32_t)(task_keys[i] * 3);
		snprintf(t[i].comm, sizeof(t[i].comm), "t%llu", (unsigned long long)task_keys[i]);
	}
	for (size_t i = 0; i < NF; i++) {
		char path[32];
		struct jb_file f;
		snprintf(path, sizeof(path), "/f/%llu", (unsigned long long)file_keys[i]);
		f = kfile(file_keys[i], path);
		ck_assert_int_eq(jb_snap_add_file(r, h, &f), 0);
	}
	memset(&l[0], 0, sizeof(l[0]));
	l[0].key.task_key = 10;
	l[0].key.file_key = 3;
	l[0].link.actions = JB_ACT_READ;
	memset(&fl[0], 0, sizeof(fl[0]));
	fl[0].key = 77;
	fl[0].dport = 443;
	jb_snap_publish(h, NT, 1, 1);
}

static const struct jb_snap_region_hdr *map_ro(int fd, size_t *size)
{
	const struct jb_snap_region_hdr *h;

	ERR[0] = '\0';
	h = jb_snap_map_ro(fd, size, ERR, sizeof(ERR));
	ck_assert_msg(h != NULL, "map_ro: %s", ERR);
	return h;
}

/* ---------------------------------------------------------------------- */

START_TEST(rw_roundtrip)
{
	struct jb_snap_region r;
	const struct jb_snap_region_hdr *ro;
	struct jb_snap_view v;
	size_t size = 0;

	make_region(&r);
	write_snapshot(&r, 0, 5);
	ro = map_ro(r.fd, &size);
	ck_assert_uint_eq(size, r.size);
	ck_assert_uint_eq(ro->nslots, 2);
	ck_assert_uint_eq(ro->cap_tasks, 8);
	ck_assert_uint_eq(ro->cap_flows, 4);

	ck_assert_int_eq(jb_snap_view(ro, size, 0, 5, &v), 0);
	ck_assert_uint_eq(v.seq, 5);
	ck_assert_uint_eq(v.ntasks, NT);
	ck_assert_uint_eq(v.nfiles, NF);
	ck_assert_uint_eq(v.nlinks, 1);
	ck_assert_uint_eq(v.nflows, 1);
	/* the view points into the read-only mapping, not the writer's */
	ck_assert((const uint8_t *)v.tasks > (const uint8_t *)ro &&
		  (const uint8_t *)(v.flows + v.nflows) <= (const uint8_t *)ro + size);
	for (uint32_t i = 1; i < v.ntasks; i++)
		ck_assert_uint_lt(v.tasks[i - 1].key, v.tasks[i].key);
	for (uint32_t i = 1; i < v.nfiles; i++)
		ck_assert_uint_lt(v.file_ix[i - 1].key, v.file_ix[i].key);
	ck_assert_uint_eq(v.links[0].key.task_key, 10);
	ck_assert_uint_eq(v.links[0].link.actions, JB_ACT_READ);
	ck_assert_uint_eq(v.flows[0].dport, 443);

	for (size_t i = 0; i < NT; i++) {
		const struct jb_task *t = jb_snap_task(&v, task_keys[i]);
		char comm[JB_COMM_LEN];
		ck_assert_ptr_nonnull(t);
		ck_assert_uint_eq(t->key, task_keys[i]);
		ck_assert_uint_eq(t->tgid, task_keys[i] * 3);
		snprintf(comm, sizeof(comm), "t%llu", (unsigned long long)task_keys[i]);
		ck_assert_str_eq(t->comm, comm);
	}
	for (size_t i = 0; i < NF; i++) {
		const struct jb_snap_file *f = jb_snap_file(&v, file_keys[i]);
		char path[32];
		ck_assert_ptr_nonnull(f);
		snprintf(path, sizeof(path), "/f/%llu", (unsigned long long)file_keys[i]);
		ck_assert_str_eq(f->path, path);
		ck_assert_uint_eq(f->path_len, strlen(path));
		ck_assert_uint_eq(f->key, file_keys[i]);
		ck_assert_uint_eq(f->first_ns, file_keys[i] * 1000);
		ck_assert_uint_eq(f->flags, file_keys[i] & 1);
	}
	{
		static const uint64_t absent[] = {0, 1, 15, 25, 35, 45, 55, UINT64_MAX};
		for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++)
			ck_assert_ptr_null(jb_snap_task(&v, absent[i]));
		ck_assert_ptr_null(jb_snap_file(&v, 0));
		ck_assert_ptr_null(jb_snap_file(&v, 5));
		ck_assert_ptr_null(jb_snap_file(&v, 8));
		ck_assert_ptr_null(jb_snap_file(&v, 10));
		ck_assert_ptr_null(jb_snap_file(&v, UINT64_MAX));
		/* a task key is not a file key */
		ck_assert_ptr_null(jb_snap_file(&v, 50));
	}
	ck_assert_int_eq(jb_snap_still_valid(&v), 0);
	jb_snap_destroy(&r);
	ck_assert_int_eq(r.fd, -1);
}
END_TEST

START_TEST(rw_empty_arrays)
{
	struct jb_snap_region r;
	struct jb_snap_slot_hdr *h;
	struct jb_task *t;
	struct jb_snap_link *l;
	struct jb_flow *fl;
	struct jb_file f = kfile(42, "/stale");
	const struct jb_snap_region_hdr *ro;
	struct jb_snap_view v;
	size_t size;

	make_region(&r);
	/* stale records in the arrays must not be found past the counts:
	 * an older snapshot in the same slot held file 42 */
	h = jb_snap_begin(&r, 1, 2, &t, &l, &fl);
	ck_assert_int_eq(jb_snap_add_file(&r, h, &f), 0);
	jb_snap_publish(h, 0, 0, 0);
	h = jb_snap_begin(&r, 1, 3, &t, &l, &fl);
	memset(&t[0], 0, sizeof(t[0]));
	t[0].key = 42;
	jb_snap_publish(h, 0, 0, 0);
	ck_assert_uint_eq(h->file_pool_len, 0);
	ro = map_ro(r.fd, &size);
	ck_assert_int_eq(jb_snap_view(ro, size, 1, 3, &v), 0);
	ck_assert_uint_eq(v.ntasks, 0);
	ck_assert_uint_eq(v.nfiles, 0);
	ck_assert_uint_eq(v.nlinks, 0);
	ck_assert_uint_eq(v.nflows, 0);
	ck_assert_ptr_null(jb_snap_task(&v, 42));
	ck_assert_ptr_null(jb_snap_task(&v, 0));
	ck_assert_ptr_null(jb_snap_file(&v, 42));
	ck_assert_ptr_null(jb_snap_file(&v, UINT64_MAX));
	jb_snap_destroy(&r);
}
END_TEST

START_TEST(rw_full_capacity)
{
	struct jb_snap_region r;
	struct jb_snap_slot_hdr *h;
	struct jb_task *t;
	struct jb_snap_link *l;
	struct jb_flow *fl;
	struct jb_file f;
	const struct jb_snap_region_hdr *ro;
	struct jb_snap_view v;
	size_t size;

	make_region(&r);
	h = jb_snap_begin(&r, 1, 9, &t, &l, &fl);
	/* exactly cap records, in reverse order, in both arrays; every file
	 * has the longest path, and the pool still ends before the links;
	 * the last flow ends at the end of the slot area we were given */
	memset(&f, 0, sizeof(f));
	memset(f.path, 'p', sizeof(f.path) - 1);
	for (uint32_t i = 0; i < 8; i++) {
		memset(&t[i], 0, sizeof(t[i]));
		t[i].key = 1000 - i;
		f.key = 2000 - i;
		ck_assert_int_eq(jb_snap_add_file(&r, h, &f), 0);
	}
	f.key = 3000;
	ck_assert_int_eq(jb_snap_add_file(&r, h, &f), -1); /* one past capacity */
	ck_assert_uint_eq(h->nfiles, 8);
	ck_assert_uint_le(h->off_file_pool + h->file_pool_len, h->off_links);
	for (uint32_t i = 0; i < 4; i++) {
		memset(&fl[i], 0, sizeof(fl[i]));
		fl[i].key = i + 1;
	}
	ck_assert((uint8_t *)(fl + 4) <= r.base + JB_SNAP_HDR_SIZE + 2 * r.hdr->slot_size);
	jb_snap_publish(h, 8, 0, 4);
	ro = map_ro(r.fd, &size);
	ck_assert_int_eq(jb_snap_view(ro, size, 1, 9, &v), 0);
	for (uint32_t i = 0; i < 8; i++) {
		ck_assert_uint_eq(v.tasks[i].key, 993 + i);
		ck_assert_ptr_nonnull(jb_snap_task(&v, 993 + i));
		ck_assert_ptr_nonnull(jb_snap_file(&v, 1993 + i));
		ck_assert_uint_eq(jb_snap_file(&v, 1993 + i)->path_len, JB_PATH_LEN - 1);
	}
	ck_assert_ptr_null(jb_snap_file(&v, 3000));
	ck_assert_ptr_null(jb_snap_task(&v, 992));
	ck_assert_ptr_null(jb_snap_task(&v, 1001));
	/* the other slot was never published */
	ck_assert_int_eq(jb_snap_view(ro, size, 0, 0, &v), -1);
	jb_snap_destroy(&r);
}
END_TEST

/* ---------------------------------------------------------------------- */

/* Paths of every edge length, a kernel record without a NUL, and stale
 * bytes after a NUL: each record takes its path's size, is terminated,
 * zero-padded, and round-trips its header. */
START_TEST(files_path_lengths)
{
	struct jb_snap_region r;
	struct jb_snap_slot_hdr *h;
	struct jb_task *t;
	struct jb_snap_link *l;
	struct jb_flow *fl;
	struct jb_file k[5];
	const struct jb_snap_region_hdr *ro;
	struct jb_snap_view v;
	size_t size, want_pool = 0;
	static const size_t want_len[5] = {0, 1, JB_PATH_LEN - 1, JB_PATH_LEN - 1, 1};

	make_region(&r);
	k[0] = kfile(105, "");
	k[1] = kfile(101, "/");
	k[2] = kfile(104, "");
	memset(k[2].path, 'a', JB_PATH_LEN - 1); /* the longest path, with its NUL */
	k[3] = kfile(102, "");
	memset(k[3].path, 'b', JB_PATH_LEN); /* no NUL at all */
	k[4] = kfile(103, "x");
	memset(k[4].path + 2, 0xee, JB_PATH_LEN - 2); /* stale bytes after the NUL */

	/* the slot held long paths before: no byte of them may show through */
	h = jb_snap_begin(&r, 0, 1, &t, &l, &fl);
	for (int i = 0; i < 5; i++) {
		struct jb_file old = kfile(900 + (uint64_t)i, "");
		memset(old.path, 0xee, JB_PATH_LEN - 1);
		ck_assert_int_eq(jb_snap_add_file(&r, h, &old), 0);
	}
	jb_snap_publish(h, 0, 0, 0);
	h = jb_snap_begin(&r, 0, 2, &t, &l, &fl);
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(jb_snap_add_file(&r, h, &k[i]), 0);
	jb_snap_publish(h, 0, 0, 0);
	ro = map_ro(r.fd, &size);
	ck_assert_int_eq(jb_snap_view(ro, size, 0, 2, &v), 0);
	ck_assert_uint_eq(v.nfiles, 5);
	for (uint32_t i = 0; i < 5; i++)
		ck_assert_uint_eq(v.file_ix[i].key, 101 + i);
	for (int i = 0; i < 5; i++) {
		const struct jb_snap_file *f = jb_snap_file(&v, k[i].key);
		const uint8_t *end;

		ck_assert_ptr_nonnull(f);
		ck_assert_uint_eq(f->key, k[i].key);
		ck_assert_uint_eq(f->first_ns, k[i].first_ns);
		ck_assert_uint_eq(f->path_len, want_len[i]);
		ck_assert_uint_eq(strlen(f->path), want_len[i]);
		ck_assert_int_eq(memcmp(f->path, k[i].path, want_len[i]), 0);
		/* the NUL and the padding are zero, and the record is in the pool */
		end = (const uint8_t *)f + JB_SNAP_FILE_SIZE(f->path_len);
		for (const uint8_t *p = (const uint8_t *)f->path + f->path_len; p < end; p++)
			ck_assert_uint_eq(*p, 0);
		ck_assert((const uint8_t *)f >= v.file_pool && end <= v.file_pool + v.file_pool_len);
		ck_assert_uint_eq(((const uint8_t *)f - v.file_pool) % 8, 0);
		want_pool += JB_SNAP_FILE_SIZE(want_len[i]);
	}
	ck_assert_uint_eq(JB_SNAP_FILE_SIZE(0), 32);
	ck_assert_uint_eq(JB_SNAP_FILE_SIZE(JB_PATH_LEN - 1), 280);
	ck_assert_uint_eq(v.file_pool_len, want_pool);
	/* the header's flags are kept; the unterminated path is flagged cut */
	ck_assert_uint_eq(jb_snap_file(&v, 105)->flags, 1);
	ck_assert_uint_eq(jb_snap_file(&v, 104)->flags, 0);
	ck_assert_uint_eq(jb_snap_file(&v, 102)->flags, JB_FILE_PATH_CUT);
	/* absent keys: below, between and above the present ones */
	ck_assert_ptr_null(jb_snap_file(&v, 0));
	ck_assert_ptr_null(jb_snap_file(&v, 100));
	ck_assert_ptr_null(jb_snap_file(&v, 106));
	ck_assert_ptr_null(jb_snap_file(&v, UINT64_MAX));
	munmap((void *)ro, size);
	jb_snap_destroy(&r);
}
END_TEST

/*
 * A published slot of write_snapshot() whose file index or records the
 * tests break, one thing at a time: the view is still accepted (every
 * section is in bounds) but the broken record reads as absent and the
 * others are still found. The pool holds "/f/7", "/f/3", "/f/9" in that
 * order, 32 bytes each; the index is sorted 3, 7, 9.
 */
struct fsnap {
	struct jb_snap_region r;
	const struct jb_snap_region_hdr *ro;
	size_t size, map_size;
	uint32_t slot;
	struct jb_snap_slot_hdr *h, good;
	struct jb_snap_file_ix *ix, good_ix[NF];
	uint8_t *pool, good_pool[NF * 32];
	struct jb_snap_file *f7, *f9;
};

/* at_end: in the last slot, the pool moved to end where the region ends,
 * read through a mapping followed by an inaccessible page, so that any
 * read past the pool faults instead of going unnoticed. */
static void fs_make(struct fsnap *fs, int at_end)
{
	uint8_t *p;

	make_region(&fs->r);
	fs->slot = at_end ? 1 : 0;
	write_snapshot(&fs->r, fs->slot, 5);
	fs->h = slot_hdr(&fs->r, fs->slot);
	ck_assert_uint_eq(fs->h->file_pool_len, sizeof(fs->good_pool));
	if (at_end) {
		uint64_t off = fs->r.hdr->slot_size - fs->h->file_pool_len;
		memmove((uint8_t *)fs->h + off, (uint8_t *)fs->h + fs->h->off_file_pool,
			fs->h->file_pool_len);
		fs->h->off_file_pool = off;
	}
	fs->size = fs->r.size;
	fs->map_size = fs->size + 4096;
	p = mmap(NULL, fs->map_size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert(p != MAP_FAILED);
	ck_assert(mmap(p, fs->size, PROT_READ, MAP_SHARED | MAP_FIXED, fs->r.fd, 0) == p);
	fs->ro = (const struct jb_snap_region_hdr *)p;
	fs->ix = (struct jb_snap_file_ix *)((uint8_t *)fs->h + fs->h->off_files);
	fs->pool = (uint8_t *)fs->h + fs->h->off_file_pool;
	ck_assert_uint_eq(fs->ix[1].key, 7);
	ck_assert_uint_eq(fs->ix[2].off + 32, fs->h->file_pool_len); /* 9 is the last */
	fs->f7 = (struct jb_snap_file *)(fs->pool + fs->ix[1].off);
	fs->f9 = (struct jb_snap_file *)(fs->pool + fs->ix[2].off);
	fs->good = *fs->h;
	memcpy(fs->good_ix, fs->ix, sizeof(fs->good_ix));
	memcpy(fs->good_pool, fs->pool, sizeof(fs->good_pool));
}

static void fs_restore(struct fsnap *fs)
{
	*fs->h = fs->good;
	memcpy(fs->ix, fs->good_ix, sizeof(fs->good_ix));
	memcpy(fs->pool, fs->good_pool, sizeof(fs->good_pool));
}

static void fs_free(struct fsnap *fs)
{
	munmap((void *)fs->ro, fs->map_size);
	jb_snap_destroy(&fs->r);
}

/* Write a well-formed record of file 9 after the pool's end (plus skew
 * bytes), its path len bytes of 'q', and point the index at it. */
static void fs_forge9(struct fsnap *fs, uint64_t skew, uint32_t len)
{
	uint64_t off = fs->h->file_pool_len + skew, buf[JB_SNAP_FILE_SIZE(JB_PATH_LEN) / 8];
	struct jb_snap_file *f = (struct jb_snap_file *)buf;

	memset(buf, 0, sizeof(buf));
	f->key = 9;
	f->path_len = len;
	memset(f->path, 'q', len);
	memcpy(fs->pool + off, buf, JB_SNAP_FILE_SIZE(len)); /* off may be misaligned */
	fs->ix[2].off = off;
	fs->h->file_pool_len = off + JB_SNAP_FILE_SIZE(len);
}

static void fs_expect(struct fsnap *fs, uint64_t absent, const char *what)
{
	struct jb_snap_view v;

	ck_assert_int_eq(jb_snap_view(fs->ro, fs->size, fs->slot, 5, &v), 0);
	ck_assert_msg(jb_snap_file(&v, absent) == NULL, "accepted: %s", what);
	for (size_t i = 0; i < NF; i++)
		if (file_keys[i] != absent)
			ck_assert_ptr_nonnull(jb_snap_file(&v, file_keys[i]));
}

#define BREAK(fs, absent, stmt)                                                        \
	do {                                                                           \
		fs_restore(fs);                                                        \
		stmt;                                                                  \
		fs_expect(fs, absent, #stmt);                                          \
	} while (0)

/* Every way to break one record (index offset, length, terminator, key),
 * each where the pool's end is the region's end too. */
static void fs_break_all(struct fsnap *fs)
{
	struct jb_snap_file *f7 = fs->f7, *f9 = fs->f9;
	struct jb_snap_file_ix *ix = fs->ix;
	uint64_t len = fs->h->file_pool_len;

	/* an index offset: misaligned, at or past the pool's end, wrapping,
	 * pointing at another file's record */
	BREAK(fs, 7, ix[1].off += 4);
	BREAK(fs, 7, ix[1].off += 1);
	BREAK(fs, 7, ix[1].off = len);
	BREAK(fs, 7, ix[1].off = len - 8);  /* the header crosses the end */
	BREAK(fs, 7, ix[1].off = len - 24); /* the header fits, no record does */
	BREAK(fs, 7, ix[1].off = len + 8);
	BREAK(fs, 7, ix[1].off = len + 4096);
	BREAK(fs, 7, ix[1].off = UINT64_MAX - 7);
	BREAK(fs, 7, ix[1].off = ix[0].off);
	/* a record: path_len past the limit, past the pool, short of the NUL;
	 * the NUL overwritten; its key not the index's */
	BREAK(fs, 7, f7->path_len = JB_PATH_LEN);
	BREAK(fs, 7, f7->path_len = UINT32_MAX);
	BREAK(fs, 9, f9->path_len += 8);
	BREAK(fs, 9, f9->path_len = UINT32_MAX);
	BREAK(fs, 7, f7->path_len -= 1);
	BREAK(fs, 7, f7->path[f7->path_len] = 'x');
	/* a NUL inside the path: strlen(path) != path_len (fuzz_snapshot) */
	BREAK(fs, 7, f7->path[1] = '\0');
	BREAK(fs, 9, f9->path[f9->path_len - 1] = '\0');
	BREAK(fs, 9, f9->path[f9->path_len] = 'x');
	BREAK(fs, 7, f7->key = 8);
	/* the pool's length cuts the last record */
	BREAK(fs, 9, fs->h->file_pool_len -= 8);
	BREAK(fs, 9, fs->h->file_pool_len -= 1);
}

START_TEST(files_corrupt_record)
{
	struct fsnap fs;
	struct jb_snap_view v;

	fs_make(&fs, 0);
	fs_break_all(&fs);
	/* records that are whole, terminated and inside the pool, and still
	 * refused: at a misaligned offset, or with a path of JB_PATH_LEN */
	fs_restore(&fs);
	fs_forge9(&fs, 0, 20);
	ck_assert_int_eq(jb_snap_view(fs.ro, fs.size, fs.slot, 5, &v), 0);
	ck_assert_uint_eq(jb_snap_file(&v, 9)->path_len, 20); /* the forgery itself is sound */
	BREAK(&fs, 9, fs_forge9(&fs, 4, 20));
	BREAK(&fs, 9, fs_forge9(&fs, 0, JB_PATH_LEN));

	fs_restore(&fs);
	ck_assert_int_eq(jb_snap_view(fs.ro, fs.size, fs.slot, 5, &v), 0);
	ck_assert_str_eq(jb_snap_file(&v, 7)->path, "/f/7");
	ck_assert_str_eq(jb_snap_file(&v, 9)->path, "/f/9");
	fs_free(&fs);
}
END_TEST

START_TEST(files_corrupt_at_region_end)
{
	struct fsnap fs;
	struct jb_snap_view v;

	fs_make(&fs, 1);
	ck_assert_int_eq(jb_snap_view(fs.ro, fs.size, fs.slot, 5, &v), 0);
	ck_assert(v.file_pool + v.file_pool_len == (const uint8_t *)fs.ro + fs.size);
	ck_assert_str_eq(jb_snap_file(&v, 9)->path, "/f/9");
	fs_break_all(&fs);
	fs_free(&fs);
}
END_TEST
#undef BREAK

/* What the files section writes for N files of typical paths, against the
 * N fixed-size kernel records it used to carry. */
START_TEST(files_compact)
{
	enum { N = 4096 };
	struct jb_snap_region r;
	struct jb_snap_slot_hdr *h;
	struct jb_task *t;
	struct jb_snap_link *l;
	struct jb_flow *fl;
	const struct jb_snap_region_hdr *ro;
	struct jb_snap_view v;
	size_t size, used;

	ck_assert_int_eq(jb_snap_create_dns(&r, 1, 0, N, 0, 0, 0), 0);
	h = jb_snap_begin(&r, 0, 1, &t, &l, &fl);
	for (uint32_t i = 0; i < N; i++) {
		char path[64];
		struct jb_file f;
		/* 40 bytes: about the average path the kernel records */
		snprintf(path, sizeof(path), "/usr/lib/x86_64-linux-gnu/libj%05u.so.6", i);
		ck_assert_uint_eq(strlen(path), 40);
		f = kfile(N - i, path);
		ck_assert_int_eq(jb_snap_add_file(&r, h, &f), 0);
	}
	jb_snap_publish(h, 0, 0, 0);
	ro = map_ro(r.fd, &size);
	ck_assert_int_eq(jb_snap_view(ro, size, 0, 1, &v), 0);
	ck_assert_uint_eq(v.nfiles, N);
	ck_assert_str_eq(jb_snap_file(&v, N)->path, "/usr/lib/x86_64-linux-gnu/libj00000.so.6");
	/* 16 bytes of index and 72 of record (24 + 41, padded) per file:
	 * under a third of sizeof(struct jb_file) (280) */
	used = (size_t)N * sizeof(struct jb_snap_file_ix) + v.file_pool_len;
	ck_assert_uint_eq(v.file_pool_len, (size_t)N * 72);
	ck_assert_uint_eq(used, (size_t)N * 88);
	ck_assert_uint_lt(3 * used, (size_t)N * sizeof(struct jb_file));
	/* the bytes the slot reserves for files are not what it writes */
	ck_assert_uint_ge(h->off_links - h->off_files, (size_t)N * FILE_MAX);
	munmap((void *)ro, size);
	jb_snap_destroy(&r);
}
END_TEST

/* ---------------------------------------------------------------------- */

START_TEST(seal_memfd)
{
	struct jb_snap_region r;
	void *p;
	int seals;

	make_region(&r);
	seals = fcntl(r.fd, F_GET_SEALS);
	ck_assert_int_ge(seals, 0);
	ck_assert_int_eq(seals & (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE | F_SEAL_SEAL),
			 F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE | F_SEAL_SEAL);

	errno = 0;
	p = mmap(NULL, r.size, PROT_READ | PROT_WRITE, MAP_SHARED, r.fd, 0);
	ck_assert_msg(p == MAP_FAILED, "a new writable shared mapping was allowed");
	ck_assert_int_eq(errno, EPERM);
	errno = 0;
	p = mmap(NULL, 4096, PROT_WRITE, MAP_SHARED, r.fd, JB_SNAP_HDR_SIZE);
	ck_assert(p == MAP_FAILED);
	ck_assert_int_eq(errno, EPERM);

	errno = 0;
	ck_assert_int_eq(write(r.fd, "x", 1), -1);
	ck_assert_int_eq(errno, EPERM);
	errno = 0;
	ck_assert_int_eq(pwrite(r.fd, "x", 1, JB_SNAP_HDR_SIZE), -1);
	ck_assert_int_eq(errno, EPERM);
	errno = 0;
	ck_assert_int_eq(ftruncate(r.fd, (off_t)r.size + 4096), -1);
	ck_assert_int_eq(errno, EPERM);
	errno = 0;
	ck_assert_int_eq(ftruncate(r.fd, (off_t)r.size - 4096), -1);
	ck_assert_int_eq(errno, EPERM);
	errno = 0;
	ck_assert_int_eq(ftruncate(r.fd, 0), -1);
	ck_assert_int_eq(errno, EPERM);
	/* and the seals themselves cannot be removed or changed */
	errno = 0;
	ck_assert_int_eq(fcntl(r.fd, F_ADD_SEALS, F_SEAL_WRITE), -1);
	ck_assert_int_eq(errno, EPERM);
	ck_assert_int_eq(lseek(r.fd, 0, SEEK_END), (off_t)r.size);
	jb_snap_destroy(&r);
}
END_TEST

START_TEST(seal_readonly_reopen)
{
	struct jb_snap_region r;
	char path[64];
	int rofd, rwfd;
	void *p;
	const struct jb_snap_region_hdr *ro;
	struct jb_snap_view v;
	size_t size;

	make_region(&r);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", r.fd);
	rofd = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(rofd, 0);

	errno = 0;
	p = mmap(NULL, r.size, PROT_READ | PROT_WRITE, MAP_SHARED, rofd, 0);
	ck_assert(p == MAP_FAILED);
	ck_assert(errno == EACCES || errno == EPERM);
	errno = 0;
	ck_assert_int_eq(write(rofd, "x", 1), -1);
	ck_assert_int_eq(errno, EBADF);

	/* what a worker does: map it read-only; it cannot be upgraded */
	ro = map_ro(rofd, &size);
	ck_assert_uint_eq(size, r.size);
	errno = 0;
	ck_assert_int_eq(mprotect((void *)ro, size, PROT_READ | PROT_WRITE), -1);
	ck_assert(errno == EACCES || errno == EPERM);

	/* the supervisor's own mapping stays writable and is what the
	 * reader sees */
	write_snapshot(&r, 1, 11);
	ck_assert_int_eq(jb_snap_view(ro, size, 1, 11, &v), 0);
	ck_assert_ptr_nonnull(jb_snap_task(&v, 40));

	/* a read-write reopen of the same memfd gets no writable mapping */
	rwfd = open(path, O_RDWR | O_CLOEXEC);
	if (rwfd >= 0) {
		errno = 0;
		p = mmap(NULL, r.size, PROT_READ | PROT_WRITE, MAP_SHARED, rwfd, 0);
		ck_assert(p == MAP_FAILED);
		ck_assert_int_eq(errno, EPERM);
		errno = 0;
		ck_assert_int_eq(write(rwfd, "x", 1), -1);
		ck_assert_int_eq(errno, EPERM);
		close(rwfd);
	}
	close(rofd);
	jb_snap_destroy(&r);
}
END_TEST

START_TEST(seal_mprotect_ro_mapping)
{
	struct jb_snap_region r;
	const struct jb_snap_region_hdr *ro;
	size_t size;

	/* even through the writer's own O_RDWR fd a read-only mapping made
	 * after sealing cannot become writable */
	make_region(&r);
	ro = map_ro(r.fd, &size);
	errno = 0;
	ck_assert_int_eq(mprotect((void *)ro, size, PROT_READ | PROT_WRITE), -1);
	ck_assert(errno == EACCES || errno == EPERM);
	jb_snap_destroy(&r);
}
END_TEST

/* ---------------------------------------------------------------------- */

START_TEST(seqlock_wrong_seq)
{
	struct jb_snap_region r;
	const struct jb_snap_region_hdr *ro;
	struct jb_snap_view v;
	size_t size;

	make_region(&r);
	write_snapshot(&r, 0, 5);
	ro = map_ro(r.fd, &size);
	ck_assert_int_eq(jb_snap_view(ro, size, 0, 4, &v), -1);
	ck_assert_int_eq(jb_snap_view(ro, size, 0, 6, &v), -1);
	ck_assert_int_eq(jb_snap_view(ro, size, 0, 0, &v), -1);
	/* right seq, wrong slot */
	ck_assert_int_eq(jb_snap_view(ro, size, 1, 5, &v), -1);
	ck_assert_int_eq(jb_snap_view(ro, size, 0, 5, &v), 0);
	jb_snap_destroy(&r);
}
END_TEST

START_TEST(seqlock_rewrite)
{
	struct jb_snap_region r;
	const struct jb_snap_region_hdr *ro;
	struct jb_snap_view old, v;
	struct jb_snap_slot_hdr *h;
	struct jb_task *t;
	struct jb_snap_link *l;
	struct jb_flow *fl;
	size_t size;

	make_region(&r);
	write_snapshot(&r, 0, 5);
	ro = map_ro(r.fd, &size);
	ck_assert_int_eq(jb_snap_view(ro, size, 0, 5, &old), 0);
	ck_assert_int_eq(jb_snap_still_valid(&old), 0);

	/* the writer starts snapshot 6 in the same slot */
	h = jb_snap_begin(&r, 0, 6, &t, &l, &fl);
	ck_assert_int_eq(jb_snap_view(ro, size, 0, 5, &v), -1);
	ck_assert_int_eq(jb_snap_still_valid(&old), -1);
	/* not published yet: the new seq is not readable either */
	ck_assert_int_eq(jb_snap_view(ro, size, 0, 6, &v), -1);

	memset(&t[0], 0, sizeof(t[0]));
	t[0].key = 99;
	jb_snap_publish(h, 1, 0, 0);
	ck_assert_int_eq(jb_snap_still_valid(&old), -1);
	ck_assert_int_eq(jb_snap_view(ro, size, 0, 5, &v), -1);
	ck_assert_int_eq(jb_snap_view(ro, size, 0, 6, &v), 0);
	ck_assert_int_eq(jb_snap_still_valid(&v), 0);
	ck_assert_ptr_nonnull(jb_snap_task(&v, 99));
	ck_assert_ptr_null(jb_snap_task(&v, 50));
	jb_snap_destroy(&r);
}
END_TEST

START_TEST(seqlock_torn_header)
{
	struct jb_snap_region r;
	const struct jb_snap_region_hdr *ro;
	struct jb_snap_slot_hdr *h;
	struct jb_snap_view v;
	size_t size;

	make_region(&r);
	write_snapshot(&r, 0, 5);
	ro = map_ro(r.fd, &size);
	h = (struct jb_snap_slot_hdr *)(r.base + JB_SNAP_HDR_SIZE);
	ck_assert_int_eq(jb_snap_view(ro, size, 0, 5, &v), 0);
	/* seq_begin moved on while seq_end still says 5 */
	h->seq_begin = 6;
	ck_assert_int_eq(jb_snap_still_valid(&v), -1);
	ck_assert_int_eq(jb_snap_view(ro, size, 0, 5, &v), -1);
	ck_assert_int_eq(jb_snap_view(ro, size, 0, 6, &v), -1);
	jb_snap_destroy(&r);
}
END_TEST

/* ---------------------------------------------------------------------- */

START_TEST(bounds_slot_index)
{
	struct jb_snap_region r;
	const struct jb_snap_region_hdr *ro;
	struct jb_snap_view v;
	size_t size;

	make_region(&r);
	write_snapshot(&r, 1, 5);
	ro = map_ro(r.fd, &size);
	ck_assert_int_eq(jb_snap_view(ro, size, 1, 5, &v), 0);
	ck_assert_int_eq(jb_snap_view(ro, size, 2, 5, &v), -1);
	ck_assert_int_eq(jb_snap_view(ro, size, 3, 5, &v), -1);
	ck_assert_int_eq(jb_snap_view(ro, size, UINT32_MAX, 5, &v), -1);
	/* a size that does not cover the slot */
	ck_assert_int_eq(jb_snap_view(ro, size - 1, 1, 5, &v), -1);
	jb_snap_destroy(&r);
}
END_TEST

/* A hand-built, unsealed region with one slot: valid, so that each test
 * can break exactly one thing in it. */
struct fake {
	int fd;
	uint8_t *base;
	size_t size;
	struct jb_snap_region_hdr *rh;
	struct jb_snap_slot_hdr *sh;
};

static void fake_make(struct fake *fk, uint32_t nslots)
{
	uint64_t slot = jb_snap_slot_size(4, 4, 2, 2);

	fk->size = JB_SNAP_HDR_SIZE + slot * nslots;
	fk->fd = memfd_create("fake-snapshot", MFD_CLOEXEC);
	ck_assert_int_ge(fk->fd, 0);
	ck_assert_int_eq(ftruncate(fk->fd, (off_t)fk->size), 0);
	fk->base = mmap(NULL, fk->size, PROT_READ | PROT_WRITE, MAP_SHARED, fk->fd, 0);
	ck_assert(fk->base != MAP_FAILED);
	fk->rh = (struct jb_snap_region_hdr *)fk->base;
	*fk->rh = (struct jb_snap_region_hdr){
		.magic = JB_SNAP_MAGIC,
		.version = JB_SNAP_VERSION,
		.nslots = nslots,
		.layout_version = JB_LAYOUT_VERSION,
		.slot_size = slot,
		.region_size = fk->size,
		.cap_tasks = 4,
		.cap_files = 4,
		.cap_links = 2,
		.cap_flows = 2,
	};
	fk->sh = (struct jb_snap_slot_hdr *)(fk->base + JB_SNAP_HDR_SIZE);
	fk->sh->seq_begin = fk->sh->seq_end = 1;
	fk->sh->ntasks = 4;
	fk->sh->nfiles = 4;
	fk->sh->nlinks = 2;
	fk->sh->nflows = 2;
	fk->sh->off_tasks = SLOT_RESERVE;
	fk->sh->off_files = fk->sh->off_tasks + 4 * sizeof(struct jb_task);
	fk->sh->off_file_pool = fk->sh->off_files + 4 * sizeof(struct jb_snap_file_ix);
	fk->sh->file_pool_len = 4 * JB_SNAP_FILE_SIZE(JB_PATH_LEN - 1);
	fk->sh->off_links = fk->sh->off_file_pool + fk->sh->file_pool_len;
	fk->sh->off_flows = fk->sh->off_links + 2 * sizeof(struct jb_snap_link);
}

static void fake_free(struct fake *fk)
{
	munmap(fk->base, fk->size);
	close(fk->fd);
}

START_TEST(bounds_corrupt_slot)
{
	struct fake fk;
	const struct jb_snap_region_hdr *ro;
	struct jb_snap_view v;
	struct jb_snap_slot_hdr good;
	size_t size;
	uint64_t ss;

	fake_make(&fk, 1);
	ro = map_ro(fk.fd, &size);
	ss = ro->slot_size;
	ck_assert_int_eq(jb_snap_view(ro, size, 0, 1, &v), 0); /* baseline */
	good = *fk.sh;

#define BREAK(stmt)                                                                    \
	do {                                                                           \
		*fk.sh = good;                                                         \
		stmt;                                                                  \
		ck_assert_msg(jb_snap_view(ro, size, 0, 1, &v) == -1, "accepted: %s", #stmt); \
	} while (0)

	/* counts beyond capacity (the arrays would still fit in the slot) */
	BREAK(fk.sh->ntasks = 5);
	BREAK(fk.sh->nfiles = 5);
	BREAK(fk.sh->nlinks = 3);
	BREAK(fk.sh->nflows = 3);
	BREAK(fk.sh->ntasks = UINT32_MAX);
	BREAK(fk.sh->nflows = UINT32_MAX);
	/* offsets into the slot header, past the slot, or wrapping */
	BREAK(fk.sh->off_tasks = 0);
	BREAK(fk.sh->off_files = SLOT_RESERVE - 8);
	BREAK(fk.sh->off_files = ss);
	BREAK(fk.sh->off_links = ss + 4096);
	BREAK(fk.sh->off_flows = UINT64_MAX);
	BREAK(fk.sh->off_flows = UINT64_MAX - 79);
	BREAK(fk.sh->off_tasks = (uint64_t)1 << 63);
	BREAK(fk.sh->off_file_pool = SLOT_RESERVE - 8);
	BREAK(fk.sh->off_file_pool = ss + 8);
	BREAK(fk.sh->off_file_pool = UINT64_MAX - 7);
	/* a misaligned section */
	BREAK(fk.sh->off_files += 4);
	BREAK(fk.sh->off_file_pool += 1);
	BREAK(fk.sh->off_links += 4);
	/* a pool longer than what is left of the slot */
	BREAK(fk.sh->file_pool_len = ss - fk.sh->off_file_pool + 1);
	BREAK(fk.sh->file_pool_len = UINT64_MAX);
	/* an array whose last record crosses the end of the slot */
	BREAK(fk.sh->off_flows = ss - 2 * sizeof(struct jb_flow) + 8);
	BREAK(fk.sh->off_tasks = ss - sizeof(struct jb_task));
	/* seqlock halves disagree */
	BREAK(fk.sh->seq_end = 2);
	BREAK(fk.sh->seq_begin = 0);
#undef BREAK

	/* and the edges that are still inside are accepted */
	*fk.sh = good;
	fk.sh->off_flows = ss - 2 * sizeof(struct jb_flow);
	ck_assert_int_eq(jb_snap_view(ro, size, 0, 1, &v), 0);
	ck_assert((const uint8_t *)(v.flows + v.nflows) <= (const uint8_t *)ro + size);
	*fk.sh = good;
	fk.sh->file_pool_len = ss - fk.sh->off_file_pool;
	ck_assert_int_eq(jb_snap_view(ro, size, 0, 1, &v), 0);
	ck_assert(v.file_pool + v.file_pool_len == (const uint8_t *)ro + JB_SNAP_HDR_SIZE + ss);
	munmap((void *)ro, size);
	fake_free(&fk);
}
END_TEST

static int try_map(int fd)
{
	const struct jb_snap_region_hdr *h;
	size_t size = 12345;

	ERR[0] = '\0';
	h = jb_snap_map_ro(fd, &size, ERR, sizeof(ERR));
	if (h) {
		munmap((void *)h, size);
		return 0;
	}
	ck_assert_msg(ERR[0] != '\0', "refused without a reason");
	ck_assert_uint_eq(size, 12345); /* untouched on refusal */
	return -1;
}

START_TEST(bounds_region_header)
{
	struct fake fk;
	struct jb_snap_region_hdr good;

	fake_make(&fk, 2);
	ck_assert_int_eq(try_map(fk.fd), 0); /* baseline */
	good = *fk.rh;

#define BREAK(stmt)                                                                    \
	do {                                                                           \
		*fk.rh = good;                                                         \
		stmt;                                                                  \
		ck_assert_msg(try_map(fk.fd) == -1, "accepted: %s", #stmt);            \
	} while (0)

	BREAK(fk.rh->magic = 0);
	BREAK(fk.rh->magic = JB_SNAP_MAGIC ^ 1);
	BREAK(fk.rh->version = JB_SNAP_VERSION + 1);
	BREAK(fk.rh->version = 0);
	BREAK(fk.rh->layout_version = JB_LAYOUT_VERSION + 1);
	BREAK(fk.rh->region_size = fk.size + 4096);
	BREAK(fk.rh->region_size = fk.size - 4096);
	BREAK(fk.rh->nslots = 0);
	BREAK(fk.rh->nslots = 3); /* does not fit the file */
	BREAK(fk.rh->slot_size = 0);
	BREAK(fk.rh->slot_size = good.slot_size + 4096);
	BREAK(fk.rh->cap_tasks = 400); /* caps no longer give slot_size */
	BREAK(fk.rh->cap_flows = 100);
#undef BREAK
	*fk.rh = good;
	ck_assert_int_eq(try_map(fk.fd), 0);

	/* the file grew behind the header's back: a size mismatch */
	ck_assert_int_eq(ftruncate(fk.fd, (off_t)fk.size + 4096), 0);
	ck_assert_int_eq(try_map(fk.fd), -1);
	fake_free(&fk);
}
END_TEST

START_TEST(bounds_small_fd)
{
	int fd = memfd_create("tiny", MFD_CLOEXEC);
	int pfd[2];
	struct jb_snap_region_hdr h = {
		.magic = JB_SNAP_MAGIC, .version = JB_SNAP_VERSION, .nslots = 1,
		.layout_version = JB_LAYOUT_VERSION,
	};

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(try_map(fd), -1); /* empty */
	ck_assert_int_eq(write(fd, &h, sizeof(h)), (ssize_t)sizeof(h));
	ck_assert_int_eq(try_map(fd), -1); /* a header, but less than a page */
	ck_assert_int_eq(ftruncate(fd, JB_SNAP_HDR_SIZE - 1), 0);
	ck_assert_int_eq(try_map(fd), -1);
	ck_assert_int_eq(ftruncate(fd, JB_SNAP_HDR_SIZE), 0);
	ck_assert_int_eq(try_map(fd), -1); /* a page, but no slot */
	close(fd);
	/* not a file at all */
	ck_assert_int_eq(pipe(pfd), 0);
	ck_assert_int_eq(try_map(pfd[0]), -1);
	close(pfd[0]);
	close(pfd[1]);
	ck_assert_int_eq(try_map(-1), -1);
}
END_TEST

/*
 * Capacities chosen so that slot_size == 2^41 and nslots == 2^23: the region
 * "needs" 2^64 bytes, which wraps to 0 in the u64 bounds checks. A reader
 * must still refuse it (the file is two pages).
 */
/* a task costs 864 bytes plus its cgroup path's room (16 + 528); the
 * slot is rounded up to a page: 1408 * t + 88 * 8 + 512 is 832 bytes
 * short of 2^41 */
#define OVF_TASKS 1561806288u
#define OVF_FLOWS 8u
#define OVF_NSLOTS (1u << 23)

static void ovf_header(struct jb_snap_region_hdr *h, size_t size)
{
	ck_assert_uint_eq(sizeof(struct jb_task) + TASK_CGROUP_MAX, 1408);
	ck_assert_uint_eq(jb_snap_slot_size(OVF_TASKS, 0, 0, OVF_FLOWS), (size_t)1 << 41);
	*h = (struct jb_snap_region_hdr){
		.magic = JB_SNAP_MAGIC,
		.version = JB_SNAP_VERSION,
		.nslots = OVF_NSLOTS,
		.layout_version = JB_LAYOUT_VERSION,
		.slot_size = (uint64_t)1 << 41,
		.region_size = size,
		.cap_tasks = OVF_TASKS,
		.cap_flows = OVF_FLOWS,
	};
}

START_TEST(overflow_map_ro)
{
	int fd = memfd_create("ovf", MFD_CLOEXEC);
	struct jb_snap_region_hdr h;

	ck_assert_int_ge(fd, 0);
	ovf_header(&h, 2 * 4096);
	ck_assert_int_eq(ftruncate(fd, 2 * 4096), 0);
	ck_assert_int_eq(pwrite(fd, &h, sizeof(h), 0), (ssize_t)sizeof(h));
	ck_assert_msg(try_map(fd) == -1,
		      "a header claiming 2^23 slots of 2^41 bytes in an 8 KiB file was accepted");
	close(fd);
}
END_TEST

START_TEST(overflow_view)
{
	/* jb_snap_view on its own (the header it gets is trusted to have
	 * passed map_ro, but the slot bounds check must not wrap either) */
	static uint64_t mem[2 * 4096 / 8];
	struct jb_snap_region_hdr *h = (struct jb_snap_region_hdr *)mem;
	struct jb_snap_view v;

	ovf_header(h, sizeof(mem));
	ck_assert_int_eq(jb_snap_view(h, sizeof(mem), OVF_NSLOTS - 1, 1, &v), -1);
	ck_assert_int_eq(jb_snap_view(h, sizeof(mem), 0, 1, &v), -1);
}
END_TEST

/*
 * A header that never passed map_ro, with slots smaller than a slot header
 * (found by fuzz/fuzz_snapshot.c): the view read the header past the slot
 * and past the region. The region ends where an inaccessible page starts,
 * so such a read faults here.
 */
START_TEST(small_slot_view)
{
	const size_t pg = 4096, slot = 16, size = JB_SNAP_HDR_SIZE + 16;
	uint8_t *m = mmap(NULL, 3 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct jb_snap_region_hdr *h;
	struct jb_snap_slot_hdr sh = { .seq_begin = 1, .seq_end = 1 };
	struct jb_snap_view v;

	ck_assert(m != MAP_FAILED);
	ck_assert_int_eq(mprotect(m + 2 * pg, pg, PROT_NONE), 0);
	h = (struct jb_snap_region_hdr *)(m + 2 * pg - size);
	*h = (struct jb_snap_region_hdr){ .magic = JB_SNAP_MAGIC, .version = JB_SNAP_VERSION,
		.nslots = 1, .layout_version = JB_LAYOUT_VERSION, .slot_size = slot,
		.region_size = size };
	memcpy((uint8_t *)h + JB_SNAP_HDR_SIZE, &sh, slot); /* seq_begin, taken_ns */
	ck_assert_int_eq(jb_snap_view(h, size, 0, 1, &v), -1);
	munmap(m, 3 * pg);
}
END_TEST

/* A slot size that is not a multiple of 8 misaligns every slot after the
 * first: refused as a whole, even where a slot holds a complete snapshot. */
START_TEST(unaligned_slot_view)
{
	static uint64_t mem[(JB_SNAP_HDR_SIZE + 2 * 4104) / 8];
	struct jb_snap_region_hdr *h = (struct jb_snap_region_hdr *)mem;
	struct jb_snap_slot_hdr sh = { .seq_begin = 1, .seq_end = 1, .off_tasks = SLOT_RESERVE,
		.off_files = SLOT_RESERVE, .off_file_pool = SLOT_RESERVE,
		.off_links = SLOT_RESERVE, .off_flows = SLOT_RESERVE };
	struct jb_snap_view v;

	*h = (struct jb_snap_region_hdr){ .magic = JB_SNAP_MAGIC, .version = JB_SNAP_VERSION,
		.nslots = 2, .layout_version = JB_LAYOUT_VERSION, .slot_size = 4100,
		.region_size = sizeof(mem) };
	memcpy((uint8_t *)mem + JB_SNAP_HDR_SIZE, &sh, sizeof(sh));
	memcpy((uint8_t *)mem + JB_SNAP_HDR_SIZE + 4100, &sh, sizeof(sh));
	ck_assert_int_eq(jb_snap_view(h, sizeof(mem), 0, 1, &v), -1);
	ck_assert_int_eq(jb_snap_view(h, sizeof(mem), 1, 1, &v), -1);
	/* the same slots, 4104 bytes apart, are fine */
	h->slot_size = 4104;
	memcpy((uint8_t *)mem + JB_SNAP_HDR_SIZE + 4104, &sh, sizeof(sh));
	ck_assert_int_eq(jb_snap_view(h, sizeof(mem), 0, 1, &v), 0);
	ck_assert_int_eq(jb_snap_view(h, sizeof(mem), 1, 1, &v), 0);
}
END_TEST

/* ---------------------------------------------------------------------- */

START_TEST(slot_size)
{
	static const uint32_t base[4] = {1, 1, 1, 1};
	size_t s0 = jb_snap_slot_size(0, 0, 0, 0);

	ck_assert_uint_eq(s0 % 4096, 0);
	ck_assert_uint_ge(s0, SLOT_RESERVE);
	ck_assert_uint_eq(s0, 4096);
	for (int which = 0; which < 4; which++) {
		size_t prev = jb_snap_slot_size(base[0], base[1], base[2], base[3]);
		for (uint32_t add = 1; add < 5000; add += 37) {
			uint32_t c[4] = {base[0], base[1], base[2], base[3]};
			size_t s;
			c[which] += add;
			s = jb_snap_slot_size(c[0], c[1], c[2], c[3]);
			ck_assert_uint_eq(s % 4096, 0);
			ck_assert_uint_ge(s, prev);
			prev = s;
		}
		/* enough records of this kind outgrow the base size */
		{
			uint32_t c[4] = {base[0], base[1], base[2], base[3]};
			c[which] += 1000;
			ck_assert_uint_gt(jb_snap_slot_size(c[0], c[1], c[2], c[3]),
					  jb_snap_slot_size(base[0], base[1], base[2], base[3]));
		}
	}
	/* it always holds the header reserve plus every array */
	for (uint32_t n = 0; n < 3000; n += 101) {
		size_t need = SLOT_RESERVE + n * (sizeof(struct jb_task) + TASK_CGROUP_MAX) +
			      2 * n * FILE_MAX +
			      3 * n * sizeof(struct jb_snap_link) + 4 * n * sizeof(struct jb_flow);
		size_t s = jb_snap_slot_size(n, 2 * n, 3 * n, 4 * n);
		ck_assert_uint_ge(s, need);
		ck_assert_uint_lt(s - need, 4096);
		ck_assert_uint_eq(s % 4096, 0);
	}
	/* large capacities do not wrap on 64-bit */
	ck_assert_uint_ge(jb_snap_slot_size(UINT32_MAX, UINT32_MAX, UINT32_MAX, UINT32_MAX),
			  (size_t)UINT32_MAX * (sizeof(struct jb_task) + TASK_CGROUP_MAX + FILE_MAX +
						  sizeof(struct jb_snap_link) + sizeof(struct jb_flow)));
}
END_TEST

/* ---------------------------------------------------------------------- */

struct pbuf {
	_Alignas(8) char b[JB_PATH_LEN];
};

static void rnd(void *p, size_t n)
{
	ck_assert_int_eq(getrandom(p, n, 0), (ssize_t)n);
}

/* path into a buffer whose bytes after the NUL are random (never NUL-free
 * guarantees: random bytes may include further NULs and 0x80s). */
static uint64_t hash_garbage(uint64_t seed, const char *path, size_t len)
{
	struct pbuf pb;

	rnd(pb.b, sizeof(pb.b));
	memcpy(pb.b, path, len);
	if (len < JB_PATH_LEN)
		pb.b[len] = '\0';
	return jb_hash_path(seed, pb.b);
}

static uint64_t hash_clean(uint64_t seed, const char *path, size_t len)
{
	struct pbuf pb;

	memset(pb.b, 0, sizeof(pb.b));
	memcpy(pb.b, path, len);
	return jb_hash_path(seed, pb.b);
}

START_TEST(hash_path_ignores_garbage)
{
	static const char *const paths[] = {
		"", "/", "/etc/shadow", "abcdefg", "abcdefgh", "abcdefghi",
		"/usr/lib/x86_64-linux-gnu/libc.so.6", "/tmp/\xff\xfe\x80\x81", "\x01\x01\x01",
	};
	char p255[JB_PATH_LEN];

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		size_t len = strlen(paths[i]);
		uint64_t want = hash_clean(0x1234, paths[i], len);
		for (int k = 0; k < 200; k++)
			ck_assert_msg(hash_garbage(0x1234, paths[i], len) == want,
				      "path '%s' hash depends on bytes after the NUL", paths[i]);
	}
	/* every length from 0 to 255, random contents without NUL */
	for (size_t len = 0; len < JB_PATH_LEN; len++) {
		char p[JB_PATH_LEN];
		uint64_t want;
		rnd(p, len);
		for (size_t j = 0; j < len; j++)
			if (!p[j])
				p[j] = 'a';
		want = hash_clean(7, p, len);
		for (int k = 0; k < 20; k++)
			ck_assert_msg(hash_garbage(7, p, len) == want, "len %zu", len);
	}
	/* a full buffer without NUL: hashes all 256 bytes, deterministically */
	memset(p255, 'x', sizeof(p255));
	ck_assert_uint_eq(hash_clean(1, p255, JB_PATH_LEN), hash_clean(1, p255, JB_PATH_LEN));
}
END_TEST

START_TEST(hash_path_distinct)
{
	static const size_t lens[] = {1, 7, 8, 9, 15, 16, 17, 255};
	uint64_t seen[64];
	size_t nseen = 0;

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		char a[JB_PATH_LEN], b[JB_PATH_LEN];
		size_t n = lens[i];
		memset(a, 'p', n);
		a[0] = '/';
		memcpy(b, a, n);
		b[n - 1] = 'q'; /* differ only in the last byte */
		ck_assert_uint_ne(hash_garbage(0, a, n), hash_garbage(0, b, n));
		/* and from the path one byte shorter / longer */
		if (n > 1)
			ck_assert_uint_ne(hash_garbage(0, a, n), hash_garbage(0, a, n - 1));
		if (n < JB_PATH_LEN - 1) {
			a[n] = 'p';
			ck_assert_uint_ne(hash_garbage(0, a, n), hash_garbage(0, a, n + 1));
		}
		seen[nseen++] = hash_garbage(0, a, n);
		seen[nseen++] = hash_garbage(0, b, n);
	}
	/* all of these are pairwise different */
	for (size_t i = 0; i < nseen; i++)
		for (size_t j = i + 1; j < nseen; j++)
			ck_assert_msg(seen[i] != seen[j], "collision %zu/%zu", i, j);
	ck_assert_uint_ne(hash_garbage(0, "/etc/passwd", 11), hash_garbage(0, "/etc/passwe", 11));
	ck_assert_uint_ne(hash_garbage(0, "/etc/shadow", 11), hash_garbage(0, "/etc/shadow-", 12));
	ck_assert_uint_ne(hash_garbage(0, "", 0), hash_garbage(0, "a", 1));
	/* high-bit bytes in the last word before the NUL */
	ck_assert_uint_ne(hash_garbage(0, "/tmp/\xff", 6), hash_garbage(0, "/tmp/\xfe", 6));
	ck_assert_uint_ne(hash_garbage(0, "abcdefg\x80", 8), hash_garbage(0, "abcdefg\x81", 8));
	/* the seed changes the key */
	ck_assert_uint_ne(hash_garbage(1, "/etc/shadow", 11), hash_garbage(2, "/etc/shadow", 11));
}
END_TEST

START_TEST(hash_never_zero)
{
	for (int i = 0; i < 20000; i++) {
		uint64_t seed;
		uint32_t tgid;
		uint64_t start;
		char p[JB_PATH_LEN];
		size_t len;
		rnd(&seed, sizeof(seed));
		rnd(&tgid, sizeof(tgid));
		rnd(&start, sizeof(start));
		rnd(&len, sizeof(len));
		len %= JB_PATH_LEN;
		rnd(p, len);
		ck_assert_uint_ne(jb_hash_task(seed, tgid, start), 0);
		ck_assert_uint_ne(hash_garbage(seed, p, len), 0);
	}
	ck_assert_uint_ne(jb_hash_task(0, 0, 0), 0);
	ck_assert_uint_ne(hash_clean(0, "", 0), 0);
}
END_TEST

START_TEST(hash_task)
{
	uint64_t h = jb_hash_task(42, 1000, 123456);

	ck_assert_uint_eq(h, jb_hash_task(42, 1000, 123456));
	ck_assert_uint_ne(h, jb_hash_task(43, 1000, 123456));
	ck_assert_uint_ne(h, jb_hash_task(42, 1001, 123456));
	ck_assert_uint_ne(h, jb_hash_task(42, 1000, 123457));
	/* tgid and start are not interchangeable */
	ck_assert_uint_ne(jb_hash_task(0, 5, 6), jb_hash_task(0, 6, 5));
	/* a pid reused later is a different task */
	ck_assert_uint_ne(jb_hash_task(42, 1000, 1), jb_hash_task(42, 1000, 2));
	/* many neighbouring tasks: no collision */
	{
		static uint64_t keys[4096];
		size_t n = 0;
		for (uint32_t pid = 1; pid <= 64; pid++)
			for (uint64_t st = 0; st < 64; st++)
				keys[n++] = jb_hash_task(7, pid, st);
		for (size_t i = 0; i < n; i++)
			for (size_t j = i + 1; j < n; j++)
				ck_assert(keys[i] != keys[j]);
	}
}
END_TEST

/* ---------------------------------------------------------------------- */
/* the tamper section                                                     */

static struct jb_tamper ktamper(uint64_t key, uint32_t klass, const char *name)
{
	struct jb_tamper t;

	memset(&t, 0, sizeof(t));
	t.key = key;
	t.task_key = key * 10;
	t.first_ns = key * 100;
	t.last_ns = key * 100 + 5;
	t.klass = klass;
	t.op = (uint32_t)key + 1;
	t.tgid = (uint32_t)key * 3;
	t.target_row = JB_AGENT_ROW_SUPERVISOR;
	t.count = (uint32_t)key;
	snprintf(t.comm, sizeof(t.comm), "c%llu", (unsigned long long)key);
	snprintf(t.name, sizeof(t.name), "%s", name);
	return t;
}

/* The default region reserves the jb_tamper map's size; records come back
 * as written, strings cut and zero-padded by the writer, and a new
 * snapshot in the slot starts with none. */
START_TEST(tampers_roundtrip)
{
	struct jb_snap_region r;
	const struct jb_snap_region_hdr *ro;
	struct jb_snap_view v;
	struct jb_task *t;
	struct jb_snap_link *l;
	struct jb_flow *fl;
	struct jb_snap_slot_hdr *h;
	struct jb_tamper a = ktamper(1, JB_TAMPER_MAP_WRITE, ""),
			 b = ktamper(2, JB_TAMPER_FILE, "/etc/jibril/jibril.conf"),
			 c = ktamper(3, JB_TAMPER_SIGNAL, "");
	const struct jb_tamper *got;
	size_t size;

	make_region(&r);
	ck_assert_uint_eq(r.hdr->cap_tampers, JB_TAMPER_ENTRIES);
	ck_assert_uint_eq(r.hdr->slot_size,
			  jb_snap_slot_size_all(8, 8, 4, 4, JB_DNS_ENTRIES, JB_TAMPER_ENTRIES));
	/* stale bytes after the NUL, a name and a comm without any */
	memcpy(b.name + strlen(b.name) + 1, "STALE", 5);
	memset(c.name, 'x', sizeof(c.name));
	memset(c.comm, 'y', sizeof(c.comm));
	h = jb_snap_begin(&r, 1, 9, &t, &l, &fl);
	ck_assert_int_eq(jb_snap_add_tamper(&r, h, &a), 0);
	ck_assert_int_eq(jb_snap_add_tamper(&r, h, &b), 0);
	ck_assert_int_eq(jb_snap_add_tamper(&r, h, &c), 0);
	jb_snap_publish(h, 0, 0, 0);
	ro = map_ro(r.fd, &size);
	ck_assert_uint_eq(ro->cap_tampers, JB_TAMPER_ENTRIES);
	ck_assert_int_eq(jb_snap_view(ro, size, 1, 9, &v), 0);
	ck_assert_uint_eq(v.ntampers, 3);
	ck_assert((const uint8_t *)v.tampers > (const uint8_t *)ro &&
		  (const uint8_t *)(v.tampers + 3) <= (const uint8_t *)ro + size);
	got = jb_snap_tamper(&v, 0);
	ck_assert_ptr_nonnull(got);
	ck_assert_int_eq(memcmp(got, &a, sizeof(a)), 0);
	got = jb_snap_tamper(&v, 1);
	ck_assert_ptr_nonnull(got);
	ck_assert_str_eq(got->name, "/etc/jibril/jibril.conf");
	ck_assert_uint_eq(got->flags, 0);
	ck_assert_int_eq(memcmp(got->name + strlen(got->name), (char[8]){0}, 8), 0);
	ck_assert_uint_eq(got->klass, JB_TAMPER_FILE);
	ck_assert_uint_eq(got->count, 2);
	ck_assert_uint_eq(got->task_key, 20);
	got = jb_snap_tamper(&v, 2);
	ck_assert_ptr_nonnull(got);
	ck_assert_uint_eq(strlen(got->name), JB_TAMPER_NAME_LEN - 1);
	ck_assert_uint_eq(got->flags, JB_TAMPER_NAME_CUT);
	ck_assert_uint_eq(strlen(got->comm), JB_COMM_LEN - 1);
	ck_assert_ptr_null(jb_snap_tamper(&v, 3));
	ck_assert_ptr_null(jb_snap_tamper(&v, UINT32_MAX));
	/* the next snapshot in that slot holds none */
	h = jb_snap_begin(&r, 1, 11, &t, &l, &fl);
	jb_snap_publish(h, 0, 0, 0);
	ck_assert_int_eq(jb_snap_view(ro, size, 1, 11, &v), 0);
	ck_assert_uint_eq(v.ntampers, 0);
	ck_assert_ptr_null(v.tampers);
	ck_assert_ptr_null(jb_snap_tamper(&v, 0));
	munmap((void *)ro, size);
	jb_snap_destroy(&r);
}
END_TEST

/* A full section refuses the next record; a region without one refuses
 * the first. */
START_TEST(tampers_capacity)
{
	struct jb_snap_region r;
	struct jb_task *t;
	struct jb_snap_link *l;
	struct jb_flow *fl;
	struct jb_snap_slot_hdr *h;
	struct jb_tamper a = ktamper(1, JB_TAMPER_PTRACE, "");

	ck_assert_int_eq(jb_snap_create_all(&r, 1, 1, 1, 1, 1, 0, 2), 0);
	h = jb_snap_begin(&r, 0, 1, &t, &l, &fl);
	ck_assert_int_eq(jb_snap_add_tamper(&r, h, &a), 0);
	ck_assert_int_eq(jb_snap_add_tamper(&r, h, &a), 0);
	ck_assert_int_eq(jb_snap_add_tamper(&r, h, &a), -1);
	ck_assert_uint_eq(h->ntampers, 2);
	jb_snap_destroy(&r);
	ck_assert_int_eq(jb_snap_create_dns(&r, 1, 1, 1, 1, 1, 1), 0);
	ck_assert_uint_eq(r.hdr->cap_tampers, 0);
	h = jb_snap_begin(&r, 0, 1, &t, &l, &fl);
	ck_assert_int_eq(jb_snap_add_tamper(&r, h, &a), -1);
	jb_snap_destroy(&r);
}
END_TEST

/* Each broken record reads as absent (the others still read); a count or
 * offset past the section refuses the view; a capacity that does not
 * give the slot size refuses the region. */
START_TEST(tampers_corrupt)
{
	struct jb_snap_region r;
	const struct jb_snap_region_hdr *ro;
	struct jb_snap_view v;
	struct jb_task *t;
	struct jb_snap_link *l;
	struct jb_flow *fl;
	struct jb_snap_slot_hdr *h;
	struct jb_tamper *rec;
	size_t size;
	enum { GOOD, NO_CLASS, BIG_CLASS, NO_COUNT, BACKWARDS, NAME_NUL, COMM_NUL, N };

	make_region(&r);
	h = jb_snap_begin(&r, 0, 3, &t, &l, &fl);
	for (int i = 0; i < N; i++) {
		struct jb_tamper a = ktamper((uint64_t)i + 1, JB_TAMPER_SIGNAL, "n");
		ck_assert_int_eq(jb_snap_add_tamper(&r, h, &a), 0);
	}
	/* the writer normalised them: break them behind its back */
	rec = (struct jb_tamper *)((uint8_t *)h + h->off_tampers);
	rec[NO_CLASS].klass = 0;
	rec[BIG_CLASS].klass = JB_TAMPER_CLASS_MAX;
	rec[NO_COUNT].count = 0;
	rec[BACKWARDS].first_ns = rec[BACKWARDS].last_ns + 1;
	memset(rec[NAME_NUL].name, 'a', sizeof(rec[NAME_NUL].name));
	memset(rec[COMM_NUL].comm, 'a', sizeof(rec[COMM_NUL].comm));
	jb_snap_publish(h, 0, 0, 0);
	ro = map_ro(r.fd, &size);
	ck_assert_int_eq(jb_snap_view(ro, size, 0, 3, &v), 0);
	ck_assert_uint_eq(v.ntampers, N);
	ck_assert_ptr_nonnull(jb_snap_tamper(&v, GOOD));
	for (int i = GOOD + 1; i < N; i++)
		ck_assert_msg(jb_snap_tamper(&v, (uint32_t)i) == NULL, "broken record %d read", i);

	h = jb_snap_begin(&r, 0, 4, &t, &l, &fl);
	h->ntampers = JB_TAMPER_ENTRIES + 1;
	jb_snap_publish(h, 0, 0, 0);
	ck_assert_int_eq(jb_snap_view(ro, size, 0, 4, &v), -1);
	h = jb_snap_begin(&r, 0, 5, &t, &l, &fl);
	h->ntampers = 2;
	h->off_tampers = r.hdr->slot_size - sizeof(struct jb_tamper);
	jb_snap_publish(h, 0, 0, 0); /* the second record would cross the slot's end */
	ck_assert_int_eq(jb_snap_view(ro, size, 0, 5, &v), -1);
	h = jb_snap_begin(&r, 0, 6, &t, &l, &fl);
	h->ntampers = 1;
	h->off_tampers += 4; /* misaligned */
	jb_snap_publish(h, 0, 0, 0);
	ck_assert_int_eq(jb_snap_view(ro, size, 0, 6, &v), -1);
	munmap((void *)ro, size);
	r.hdr->cap_tampers = JB_TAMPER_ENTRIES - 100; /* slot_size no longer agrees */
	ck_assert_ptr_null(jb_snap_map_ro(r.fd, &size, ERR, sizeof(ERR)));
	jb_snap_destroy(&r);
}
END_TEST

/* ---------------------------------------------------------------------- */

static void add(Suite *s, const char *name, const TTest *tests[], int timeout)
{
	TCase *tc = tcase_create(name);

	if (timeout > 0)
		tcase_set_timeout(tc, timeout);
	for (int i = 0; tests[i] != NULL; i++)
		tcase_add_test(tc, tests[i]);
	suite_add_tcase(s, tc);
}

static Suite *snapshot_suite(void)
{
	Suite *s = suite_create("snapshot");

	add(s, "write_read", (const TTest *[]){ rw_roundtrip, rw_empty_arrays, rw_full_capacity,
		NULL }, 0);
	add(s, "files", (const TTest *[]){ files_path_lengths, files_corrupt_record,
		files_corrupt_at_region_end, files_compact, NULL }, 0);
	add(s, "sealed", (const TTest *[]){ seal_memfd, seal_readonly_reopen,
		seal_mprotect_ro_mapping, NULL }, 0);
	add(s, "seqlock", (const TTest *[]){ seqlock_wrong_seq, seqlock_rewrite,
		seqlock_torn_header, NULL }, 0);
	add(s, "bounds", (const TTest *[]){ bounds_slot_index, bounds_corrupt_slot,
		bounds_region_header, bounds_small_fd, NULL }, 0);
	add(s, "size_overflow", (const TTest *[]){ overflow_map_ro, overflow_view, NULL }, 0);
	add(s, "small_slot", (const TTest *[]){ small_slot_view, unaligned_slot_view, NULL }, 0);
	add(s, "slot_size", (const TTest *[]){ slot_size, NULL }, 0);
	add(s, "tampers", (const TTest *[]){ tampers_roundtrip, tampers_capacity, tampers_corrupt,
		NULL }, 0);
	add(s, "hash_path", (const TTest *[]){ hash_path_ignores_garbage, hash_path_distinct,
		NULL }, 60);
	add(s, "hash_task", (const TTest *[]){ hash_task, hash_never_zero, NULL }, 60);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(snapshot_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
