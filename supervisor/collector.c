/*
 * collector.c - one cadence: read the kernel maps (batch lookups into
 * preallocated arrays), write what changed into a free snapshot slot,
 * announce it to the workers, and account for what the kernel lost.
 *
 * What a snapshot holds: the links and flows whose last_ns is newer than
 * the oldest point any worker has acknowledged, the files those links
 * name, and the tasks they name with their ancestors (for the events'
 * parent and ancestry). Each worker is
 * told its own 'since' and looks only at records newer than that, so a
 * restarted worker catches up on what its predecessor never finished.
 *
 * Invariants:
 *  - a worker is announced at most one snapshot at a time, so one slow
 *    worker holds one slot and the others go on in the other; when no slot
 *    is free (two workers slow at once) the cadence is skipped: the maps
 *    keep the data, the next snapshot carries it, and the heartbeat
 *    deadline replaces workers that are stuck for good.
 *  - a worker that dies three times without acknowledging anything is
 *    moved past the snapshot it keeps dying on (logged), so one poisonous
 *    record cannot stop detection for good.
 *  - loss: the kernel counts records it created; we count the records we
 *    saw for the first time. Created but never seen = evicted before any
 *    query: reported, never guessed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>

#include "common/log.h"
#include "loader.h"
#include "sup.h"
#include "collect_dns.h"

#define STUCK_LIMIT 3
#define FILE_LOOKUP_MAX 4096 /* beyond this many files, one batch read is cheaper */
#define FILE_CHUNK 512	     /* file records read per batch when scanning the maps */
#define LOSS_LOG_EVERY_NS (10ull * 1000000000ull)

struct slot_state {
	uint64_t seq;
	uint64_t taken_ns;
	uint32_t holders; /* bit per proc index: announced, not yet acked */
	/* cost of this cadence, logged once every holder has acked */
	uint64_t query_ns, publish_ns;
	uint32_t in_maps[4], sent[4]; /* tasks files links flows */
	int reported;
};

struct dump {
	void *keys, *vals;
	uint32_t cap, n;
	size_t ksz, vsz;
};

/* a dumped record by key: its index in the dump (the tasks index) */
struct key_ix {
	uint64_t key;
	uint32_t idx;
};

static struct jb_bpf *bpf;
static struct slot_state slots[SUP_SNAP_SLOTS];
static int latest_slot = -1;
static uint64_t seq, last_query_ns, skipped;
static struct dump d_tasks, d_files, d_links, d_flows; /* d_files: one chunk */
static struct key_ix *task_index;
static uint8_t *file_found; /* per distinct file key of this cadence */
static uint32_t scan_bound;  /* entries of the biggest map scan_map() walks */
static uint32_t *task_stamp; /* seq when copied into this snapshot */
static uint64_t files_missing; /* changed links whose file record was gone */
static uint64_t *link_file_keys; /* file keys of the selected links */
static uint64_t seen_new, created_total_prev, lost_unseen, last_loss_log_ns;
static uint64_t stats_prev[JB_STAT_MAX];

static uint64_t mono_ns(void);

/* One line per cadence, at debug level; make bench parses it. */
static void report_cost(struct slot_state *st)
{
	if (st->reported)
		return;
	st->reported = 1;
	log_debug("cadence %llu: query %.3f ms, snapshot %.3f ms, hand-off %.3f ms; "
		  "maps %u tasks %u links %u flows; sent %u tasks %u files %u links %u flows",
		  (unsigned long long)st->seq, st->query_ns / 1e6, st->publish_ns / 1e6,
		  (mono_ns() - st->taken_ns) / 1e6, st->in_maps[0], st->in_maps[2],
		  st->in_maps[3], st->sent[0], st->sent[1], st->sent[2], st->sent[3]);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int dump_alloc(struct dump *d, uint32_t cap, size_t ksz, size_t vsz)
{
	d->cap = cap;
	d->ksz = ksz;
	d->vsz = vsz;
	d->keys = calloc(cap, ksz);
	d->vals = calloc(cap, vsz);
	return d->keys && d->vals ? 0 : -1;
}

/* Append every entry of a hash map to d (batch when the kernel has it). */
static int dump_map(int fd, struct dump *d)
{
	if (bpf->batch_ok) {
		uint64_t in[2] = {0, 0}, out[2] = {0, 0};
		void *inp = NULL;
		DECLARE_LIBBPF_OPTS(bpf_map_batch_opts, o);

		while (d->n < d->cap) {
			__u32 count = d->cap - d->n;
			int r = bpf_map_lookup_batch(fd, inp, out, (char *)d->keys + d->n * d->ksz,
						     (char *)d->vals + d->n * d->vsz, &count, &o);
			d->n += count;
			if (r < 0) {
				if (errno == ENOENT)
					return 0; /* walked the whole map */
				return -1;
			}
			memcpy(in, out, sizeof(in));
			inp = in;
		}
		return 0;
	}
	/* per-key fallback: get_next_key + lookup */
	{
		uint64_t prev[2], cur[2];
		void *pk = NULL;

		while (d->n < d->cap && bpf_map_get_next_key(fd, pk, cur) == 0) {
			memcpy((char *)d->keys + d->n * d->ksz, cur, d->ksz);
			if (bpf_map_lookup_elem(fd, cur, (char *)d->vals + d->n * d->vsz) == 0)
				d->n++;
			memcpy(prev, cur, sizeof(prev));
			pk = prev;
		}
	}
	return 0;
}

/* Every entry of a hash map, chunk by chunk through d (d->cap entries at a
 * time, d->n of them valid in each), handed to fn. 0, or -1 on an error. */
static int scan_map(int fd, struct dump *d, void (*fn)(const struct dump *d, void *arg), void *arg)
{
	if (bpf->batch_ok) {
		uint64_t in[2] = {0, 0}, out[2] = {0, 0};
		void *inp = NULL;
		DECLARE_LIBBPF_OPTS(bpf_map_batch_opts, o);

		for (;;) {
			__u32 count = d->cap;
			int r = bpf_map_lookup_batch(fd, inp, out, d->keys, d->vals, &count, &o);
			int e = errno;

			/* ENOENT: the last chunk (count valid); any other
			 * error leaves count unreliable: nothing of it */
			d->n = r < 0 && e != ENOENT ? 0 : count;
			fn(d, arg);
			if (r < 0)
				return e == ENOENT ? 0 : -1;
			memcpy(in, out, sizeof(in));
			inp = in;
		}
	}
	/* per-key fallback: get_next_key + lookup, one entry per chunk. A key
	 * evicted meanwhile makes the walk restart from the first bucket, so
	 * it is bounded: twice the entries of the biggest files map. */
	{
		uint64_t prev[2], cur[2], steps = 0;
		void *pk = NULL;

		while (bpf_map_get_next_key(fd, pk, cur) == 0) {
			if (++steps > 2ull * scan_bound)
				return -1;
			memcpy(d->keys, cur, d->ksz);
			d->n = bpf_map_lookup_elem(fd, cur, d->vals) == 0;
			fn(d, arg);
			memcpy(prev, cur, sizeof(prev));
			pk = prev;
		}
	}
	return 0;
}

int sup_collector_init(struct sup *s, struct jb_bpf *b)
{
	const struct jb_config *c = &s->cfg;

	bpf = b;
	/* the protected (hot) maps are read into the same arrays, after the
	 * ordinary ones: the snapshot makes no difference between them (files
	 * are scanned in chunks, see collect_files()) */
	uint32_t tasks = c->map_tasks + c->map_hot_tasks;
	uint32_t links = c->map_links + c->map_hot_links;
	if (dump_alloc(&d_tasks, tasks, sizeof(uint64_t), sizeof(struct jb_task)) < 0 ||
	    dump_alloc(&d_files, FILE_CHUNK, sizeof(uint64_t), sizeof(struct jb_file)) < 0 ||
	    dump_alloc(&d_links, links, sizeof(struct jb_link_key), sizeof(struct jb_link)) < 0 ||
	    dump_alloc(&d_flows, c->map_flows, sizeof(uint64_t), sizeof(struct jb_flow)) < 0)
		return -1;
	scan_bound = c->map_files > c->map_hot_files ? c->map_files : c->map_hot_files;
	link_file_keys = calloc(links, sizeof(*link_file_keys));
	file_found = calloc(links, sizeof(*file_found));
	task_index = calloc(tasks, sizeof(*task_index));
	task_stamp = calloc(tasks, sizeof(*task_stamp));
	if (!file_found || !task_index || !task_stamp || !link_file_keys)
		return -1;
	return 0;
}

void sup_collector_free(void)
{
	struct dump *all[] = {&d_tasks, &d_files, &d_links, &d_flows};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		free(all[i]->keys);
		free(all[i]->vals);
	}
	free(file_found);
	free(task_index);
	free(task_stamp);
	free(link_file_keys);
}

static int free_slot(void)
{
	int best = -1;

	for (int i = 0; i < SUP_SNAP_SLOTS; i++)
		if (!slots[i].holders && (best < 0 || slots[i].seq < slots[best].seq))
			best = i;
	return best;
}

/* Oldest point any live worker kind still needs. */
static uint64_t global_since(struct sup *s)
{
	uint64_t m = UINT64_MAX;

	for (int i = 0; i < s->nprocs; i++) {
		struct sup_proc *p = &s->procs[i];
		if (p->kind->role == IPC_ROLE_WORKER && p->state != ST_DISABLED &&
		    p->acked_taken_ns < m)
			m = p->acked_taken_ns;
	}
	return m == UINT64_MAX ? last_query_ns : m;
}

static void announce(struct sup *s, struct sup_proc *p, int slot)
{
	char buf[128];
	int n;

	if (p->state != ST_READY || !p->peer || p->snap_sent_seq > p->acked_seq || slot < 0)
		return;
	n = ipc_enc_snapshot(buf, sizeof(buf), slots[slot].seq, (uint64_t)slot, p->acked_taken_ns);
	if (n < 0 || ipc_peer_send(p->peer, buf, (size_t)n) < 0) {
		sup_proc_kill(s, p, "its IPC queue is full");
		return;
	}
	p->snap_sent_seq = slots[slot].seq;
	slots[slot].holders |= 1u << p->index;
}

static void account_loss(uint64_t now, const uint64_t *stats)
{
	/* files are read only when a changed link names them: their loss
	 * shows as files_missing instead */
	uint64_t created = stats[JB_STAT_TASK_NEW] + stats[JB_STAT_LINK_NEW] +
			   stats[JB_STAT_FLOW_NEW] + stats[JB_STAT_HOT_NEW];
	uint64_t fails = 0, fails_prev = 0;

	/* created since the last query but not seen by this one: evicted */
	if (created - created_total_prev > seen_new)
		lost_unseen += created - created_total_prev - seen_new;
	created_total_prev = created;
	static const int fail_stats[] = {JB_STAT_TASK_FAIL, JB_STAT_FILE_FAIL, JB_STAT_LINK_FAIL,
					 JB_STAT_FLOW_FAIL, JB_STAT_PATH_FAIL, JB_STAT_HOT_FAIL};
	for (size_t i = 0; i < sizeof(fail_stats) / sizeof(fail_stats[0]); i++) {
		fails += stats[fail_stats[i]];
		fails_prev += stats_prev[fail_stats[i]];
	}
	if ((fails != fails_prev || lost_unseen || files_missing) &&
	    now - last_loss_log_ns > LOSS_LOG_EVERY_NS) {
		log_warnx("kernel loss so far: %llu records evicted before any query saw them, "
			  "%llu changed links whose file was already evicted, "
			  "%llu failed inserts (tasks %llu files %llu links %llu flows %llu "
			  "protected %llu), %llu unreadable paths; consider larger [maps] sizes",
			  (unsigned long long)lost_unseen, (unsigned long long)files_missing,
			  (unsigned long long)(fails - stats[JB_STAT_PATH_FAIL]),
			  (unsigned long long)stats[JB_STAT_TASK_FAIL],
			  (unsigned long long)stats[JB_STAT_FILE_FAIL],
			  (unsigned long long)stats[JB_STAT_LINK_FAIL],
			  (unsigned long long)stats[JB_STAT_FLOW_FAIL],
			  (unsigned long long)stats[JB_STAT_HOT_FAIL],
			  (unsigned long long)stats[JB_STAT_PATH_FAIL]);
		last_loss_log_ns = now;
	}
	memcpy(stats_prev, stats, sizeof(stats_prev));
}

/* Index of the dumped tasks by key; where a key is in both the ordinary
 * and the hot map the ordinary record (lower index) is found first. */
static int cmp_ix_stable(const void *a, const void *b)
{
	const struct key_ix *x = a, *y = b;
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static const struct key_ix *find_task(uint64_t key)
{
	size_t lo = 0, hi = d_tasks.n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (task_index[mid].key < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < d_tasks.n && task_index[lo].key == key ? &task_index[lo] : NULL;
}

/* Put a task and its ancestors (bounded) into the snapshot, once each. */
static void add_task_chain(uint64_t key, struct jb_task *out, uint32_t *n)
{
	for (int depth = 0; key && depth < 64; depth++) {
		const struct key_ix *tx = find_task(key);
		const struct jb_task *t;

		if (!tx || task_stamp[tx->idx] == (uint32_t)seq)
			return; /* unknown, or already there with its ancestors */
		task_stamp[tx->idx] = (uint32_t)seq;
		t = (const struct jb_task *)d_tasks.vals + tx->idx;
		out[(*n)++] = *t;
		key = t->parent_key;
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

struct file_scan {
	struct sup *s;
	struct jb_snap_slot_hdr *h;
	uint32_t nkeys, found;
};

/* One chunk of a files map: the records whose key a selected link names,
 * each once, go into the snapshot. */
static void add_wanted_files(const struct dump *d, void *arg)
{
	struct file_scan *fs = arg;

	for (uint32_t i = 0; i < d->n; i++) {
		uint64_t key = ((const uint64_t *)d->keys)[i];
		const uint64_t *k = bsearch(&key, link_file_keys, fs->nkeys, sizeof(key), cmp_u64);
		size_t at;

		if (!k || file_found[at = (size_t)(k - link_file_keys)])
			continue;
		if (jb_snap_add_file(&fs->s->snap, fs->h, (const struct jb_file *)d->vals + i) < 0)
			continue; /* slot full: counted missing below */
		file_found[at] = 1;
		fs->found++;
	}
}

/* Put the file records named by the selected links into the snapshot
 * (cut to their paths there). Few: one lookup each (ordinary map, then
 * hot). Many: a scan of both maps, FILE_CHUNK records at a time, so the
 * supervisor never holds a copy of the whole files map. A file not found
 * counts as missing, and so would one found past the slot's capacity
 * (the LRU maps change while we read them). */
static void collect_files(struct sup *s, struct jb_snap_slot_hdr *h,
			  const struct jb_snap_link *links, uint32_t nlinks)
{
	uint64_t *keys = link_file_keys;
	uint32_t nkeys = 0;
	struct jb_file f;

	/* the distinct file keys, so a missing file counts once either way */
	for (uint32_t i = 0; i < nlinks; i++)
		keys[i] = links[i].key.file_key;
	qsort(keys, nlinks, sizeof(*keys), cmp_u64);
	for (uint32_t i = 0; i < nlinks; i++)
		if (!nkeys || keys[i] != keys[nkeys - 1])
			keys[nkeys++] = keys[i];

	if (nkeys <= FILE_LOOKUP_MAX) {
		for (uint32_t i = 0; i < nkeys; i++) {
			int found = bpf_map_lookup_elem(bpf->fd_files, &keys[i], &f) == 0 ||
				    bpf_map_lookup_elem(bpf->fd_files_hot, &keys[i], &f) == 0;
			if (!found || jb_snap_add_file(&s->snap, h, &f) < 0)
				files_missing++;
		}
		return;
	}
	{
		struct file_scan fs = {.s = s, .h = h, .nkeys = nkeys};

		memset(file_found, 0, nkeys);
		/* each on its own: a failed scan of one must not hide the
		 * other (the watched files live in the hot one) */
		if (scan_map(bpf->fd_files, &d_files, add_wanted_files, &fs) < 0)
			log_warn("reading the files map");
		if (scan_map(bpf->fd_files_hot, &d_files, add_wanted_files, &fs) < 0)
			log_warn("reading the protected files map");
		files_missing += nkeys - fs.found;
	}
}

void sup_collector_tick(struct sup *s)
{
	struct jb_task *tasks;
	struct jb_snap_link *links;
	struct jb_flow *flows;
	struct jb_snap_slot_hdr *h;
	struct slot_state *st;
	uint64_t stats[JB_STAT_MAX], taken, since, prev_query;
	uint32_t ntasks = 0, nlinks = 0, nflows = 0, n_tasks_ordinary;
	int slot = free_slot();

	if (slot < 0) {
		skipped++;
		log_debug("every snapshot slot is held by a worker: cadence skipped (%llu so far)",
			  (unsigned long long)skipped);
		return;
	}
	/* first the clock, then the epoch: a repeat that sees the new epoch
	 * stores a last_ns after taken (the next query's since), so the next
	 * query sees it; one between the two is one the query below reads */
	taken = mono_ns();
	jb_bpf_new_epoch(bpf);
	prev_query = last_query_ns;
	if (jb_bpf_stats(bpf, stats) < 0)
		memcpy(stats, stats_prev, sizeof(stats));
	since = global_since(s);
	seq++;
	st = &slots[slot];
	h = jb_snap_begin(&s->snap, (uint32_t)slot, seq, &tasks, &links, &flows);
	st->seq = seq;
	st->taken_ns = taken;
	st->holders = 0;

	/* read: tasks (ordinary, then hot copies), links (both), flows */
	d_tasks.n = d_links.n = d_flows.n = 0;
	if (dump_map(bpf->fd_tasks, &d_tasks) < 0)
		log_warn("reading the tasks map");
	n_tasks_ordinary = d_tasks.n;
	if (dump_map(bpf->fd_tasks_hot, &d_tasks) < 0)
		log_warn("reading the hot tasks map");
	if (dump_map(bpf->fd_links, &d_links) < 0 || dump_map(bpf->fd_links_hot, &d_links) < 0)
		log_warn("reading the links maps");
	if (dump_map(bpf->fd_flows, &d_flows) < 0)
		log_warn("reading the flows map");

	/* first sightings, against the kernel's *_NEW counters (hot task
	 * copies have no counter of their own; hot links do) */
	seen_new = 0;
	for (uint32_t i = 0; i < d_tasks.n; i++) {
		const struct jb_task *t = (const struct jb_task *)d_tasks.vals + i;
		task_index[i].key = t->key;
		task_index[i].idx = i;
		seen_new += i < n_tasks_ordinary && t->first_ns > prev_query &&
			    !(t->flags & JB_TASK_BACKFILL);
	}
	qsort(task_index, d_tasks.n, sizeof(*task_index), cmp_ix_stable);

	/* select what changed since the oldest acknowledged point */
	for (uint32_t i = 0; i < d_links.n; i++) {
		const struct jb_link *l = (const struct jb_link *)d_links.vals + i;

		seen_new += l->first_ns > prev_query;
		if (l->last_ns <= since)
			continue;
		links[nlinks].key = ((const struct jb_link_key *)d_links.keys)[i];
		links[nlinks].link = *l;
		add_task_chain(links[nlinks].key.task_key, tasks, &ntasks);
		nlinks++;
	}
	for (uint32_t i = 0; i < d_flows.n; i++) {
		const struct jb_flow *f = (const struct jb_flow *)d_flows.vals + i;
		seen_new += f->first_ns > prev_query;
		if (f->last_ns <= since)
			continue;
		flows[nflows++] = *f;
		add_task_chain(f->task_key, tasks, &ntasks);
	}
	collect_files(s, h, links, nlinks);
	st->query_ns = mono_ns() - taken;
	last_query_ns = taken;
	account_loss(taken, stats);

	h->taken_ns = taken;
	h->since_ns = since;
	memcpy(h->lost, stats, sizeof(h->lost));
	h->lost_unseen = lost_unseen;
	sup_dns_collect(bpf, &s->snap, h); /* the domains section (collect_dns.c) */
	jb_snap_publish(h, ntasks, nlinks, nflows);
	latest_slot = slot;
	st->publish_ns = mono_ns() - taken - st->query_ns;
	st->reported = 0;
	st->in_maps[0] = d_tasks.n;
	st->in_maps[1] = 0; /* the files maps are not read whole any more */
	st->in_maps[2] = d_links.n;
	st->in_maps[3] = d_flows.n;
	st->sent[0] = ntasks;
	st->sent[1] = h->nfiles;
	st->sent[2] = nlinks;
	st->sent[3] = nflows;

	for (int i = 0; i < s->nprocs; i++)
		if (s->procs[i].kind->role == IPC_ROLE_WORKER)
			announce(s, &s->procs[i], slot);
	if (!st->holders)
		report_cost(st);
}

void sup_collector_done(struct sup *s, struct sup_proc *p, uint64_t done_seq)
{
	for (int i = 0; i < SUP_SNAP_SLOTS; i++) {
		if (slots[i].seq == done_seq && (slots[i].holders & (1u << p->index))) {
			slots[i].holders &= ~(1u << p->index);
			if (!slots[i].holders)
				report_cost(&slots[i]);
			p->acked_seq = done_seq;
			p->acked_taken_ns = slots[i].taken_ns;
			p->stuck_crashes = 0;
			return;
		}
	}
	sup_proc_kill(s, p, "acknowledged a snapshot it does not hold");
}

void sup_collector_proc_gone(struct sup *s, struct sup_proc *p)
{
	int held = 0;

	for (int i = 0; i < SUP_SNAP_SLOTS; i++) {
		if (slots[i].holders & (1u << p->index)) {
			slots[i].holders &= ~(1u << p->index);
			held = 1;
		}
	}
	/* whatever it was sent and did not finish is sent again */
	p->snap_sent_seq = p->acked_seq;
	if (held && ++p->stuck_crashes >= STUCK_LIMIT && latest_slot >= 0) {
		log_warnx("%s died %d times on the same snapshot: skipping to snapshot %llu "
			  "(changes before it are not examined by this worker kind)",
			  p->kind->name, p->stuck_crashes, (unsigned long long)slots[latest_slot].seq);
		p->acked_taken_ns = slots[latest_slot].taken_ns;
		p->acked_seq = p->snap_sent_seq = 0;
		p->stuck_crashes = 0;
	}
}

void sup_collector_catch_up(struct sup *s, struct sup_proc *p)
{
	/* nothing to catch up on if it already acknowledged the newest */
	if (latest_slot >= 0 && slots[latest_slot].seq != p->acked_seq)
		announce(s, p, latest_slot);
}
