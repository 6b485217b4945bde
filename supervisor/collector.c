/*
 * collector.c - one cadence: read the kernel maps (batch lookups into
 * preallocated arrays), write what changed into a free snapshot slot,
 * announce it to the workers, and account for what the kernel lost.
 *
 * What a snapshot holds: every task (workers need parents and ancestry),
 * the links and flows whose last_ns is newer than the oldest point any
 * worker has acknowledged, and the files those links name. Each worker is
 * told its own 'since' and looks only at records newer than that, so a
 * restarted worker catches up on what its predecessor never finished.
 *
 * Invariants:
 *  - a worker is announced at most one snapshot at a time; with more slots
 *    than workers there is always a slot that nobody holds unless every
 *    worker is stuck, in which case the cadence is skipped (the maps keep
 *    the data; the next snapshot carries it) and the heartbeat deadline
 *    replaces the stuck workers.
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

#define STUCK_LIMIT 3
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

struct file_ix {
	uint64_t key;
	uint32_t idx;
};

static struct jb_bpf *bpf;
static struct slot_state slots[SUP_SNAP_SLOTS];
static int latest_slot = -1;
static uint64_t seq, last_query_ns, skipped;
static struct dump d_tasks, d_files, d_links, d_flows;
static struct file_ix *file_index;
static uint32_t *file_copied; /* stamp: seq when copied into this snapshot */
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
		  "maps %u tasks %u files %u links %u flows; sent %u tasks %u files %u links "
		  "%u flows",
		  (unsigned long long)st->seq, st->query_ns / 1e6, st->publish_ns / 1e6,
		  (mono_ns() - st->taken_ns) / 1e6, st->in_maps[0], st->in_maps[1],
		  st->in_maps[2], st->in_maps[3], st->sent[0], st->sent[1], st->sent[2],
		  st->sent[3]);
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

/* Read every entry of a hash map into d (batch when the kernel has it). */
static int dump_map(int fd, struct dump *d)
{
	d->n = 0;
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

static int cmp_ix(const void *a, const void *b)
{
	uint64_t x = ((const struct file_ix *)a)->key, y = ((const struct file_ix *)b)->key;
	return x < y ? -1 : x > y;
}

static const struct file_ix *find_file(uint64_t key)
{
	struct file_ix k = {.key = key};
	return bsearch(&k, file_index, d_files.n, sizeof(k), cmp_ix);
}

int sup_collector_init(struct sup *s, struct jb_bpf *b)
{
	const struct jb_config *c = &s->cfg;

	bpf = b;
	if (dump_alloc(&d_tasks, c->map_tasks, sizeof(uint64_t), sizeof(struct jb_task)) < 0 ||
	    dump_alloc(&d_files, c->map_files, sizeof(uint64_t), sizeof(struct jb_file)) < 0 ||
	    dump_alloc(&d_links, c->map_links, sizeof(struct jb_link_key), sizeof(struct jb_link)) < 0 ||
	    dump_alloc(&d_flows, c->map_flows, sizeof(uint64_t), sizeof(struct jb_flow)) < 0)
		return -1;
	file_index = calloc(c->map_files, sizeof(*file_index));
	file_copied = calloc(c->map_files, sizeof(*file_copied));
	if (!file_index || !file_copied)
		return -1;
	return 0;
}

void sup_collector_free(void)
{
	struct dump *all[] = {&d_tasks, &d_files, &d_links, &d_flows};
	for (size_t i = 0; i < 4; i++) {
		free(all[i]->keys);
		free(all[i]->vals);
	}
	free(file_index);
	free(file_copied);
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
	uint64_t created = stats[JB_STAT_TASK_NEW] + stats[JB_STAT_FILE_NEW] +
			   stats[JB_STAT_LINK_NEW] + stats[JB_STAT_FLOW_NEW];
	uint64_t fails = 0, fails_prev = 0;

	/* created since the last query but not seen by this one: evicted */
	if (created - created_total_prev > seen_new)
		lost_unseen += created - created_total_prev - seen_new;
	created_total_prev = created;
	for (int i = JB_STAT_TASK_FAIL; i <= JB_STAT_PATH_FAIL; i++) {
		fails += stats[i];
		fails_prev += stats_prev[i];
	}
	if ((fails != fails_prev || lost_unseen) && now - last_loss_log_ns > LOSS_LOG_EVERY_NS) {
		log_warnx("kernel loss so far: %llu records evicted before any query saw them, "
			  "%llu failed inserts (tasks %llu files %llu links %llu flows %llu), "
			  "%llu unreadable paths; consider larger [maps] sizes",
			  (unsigned long long)lost_unseen,
			  (unsigned long long)(stats[JB_STAT_TASK_FAIL] + stats[JB_STAT_FILE_FAIL] +
					       stats[JB_STAT_LINK_FAIL] + stats[JB_STAT_FLOW_FAIL]),
			  (unsigned long long)stats[JB_STAT_TASK_FAIL],
			  (unsigned long long)stats[JB_STAT_FILE_FAIL],
			  (unsigned long long)stats[JB_STAT_LINK_FAIL],
			  (unsigned long long)stats[JB_STAT_FLOW_FAIL],
			  (unsigned long long)stats[JB_STAT_PATH_FAIL]);
		last_loss_log_ns = now;
	}
	memcpy(stats_prev, stats, sizeof(stats_prev));
}

void sup_collector_tick(struct sup *s)
{
	struct jb_task *tasks;
	struct jb_file *files;
	struct jb_snap_link *links;
	struct jb_flow *flows;
	struct jb_snap_slot_hdr *h;
	uint64_t stats[JB_STAT_MAX], taken, since, prev_query;
	uint32_t nfiles = 0, nlinks = 0, nflows = 0;
	int slot = free_slot();

	if (slot < 0) {
		skipped++;
		log_debug("every snapshot slot is held by a worker: cadence skipped (%llu so far)",
			  (unsigned long long)skipped);
		return;
	}
	taken = mono_ns();
	prev_query = last_query_ns;
	if (jb_bpf_stats(bpf, stats) < 0)
		memcpy(stats, stats_prev, sizeof(stats));
	since = global_since(s);
	seq++;
	h = jb_snap_begin(&s->snap, (uint32_t)slot, seq, &tasks, &files, &links, &flows);
	slots[slot].seq = seq;
	slots[slot].taken_ns = taken;
	slots[slot].holders = 0;

	/* tasks go straight into the slot: the value holds its key */
	{
		struct dump td = d_tasks;
		td.vals = tasks;
		if (dump_map(bpf->fd_tasks, &td) < 0)
			log_warn("reading the tasks map");
		d_tasks.n = td.n;
	}
	if (dump_map(bpf->fd_files, &d_files) < 0)
		log_warn("reading the files map");
	if (dump_map(bpf->fd_links, &d_links) < 0)
		log_warn("reading the links map");
	if (dump_map(bpf->fd_flows, &d_flows) < 0)
		log_warn("reading the flows map");
	slots[slot].query_ns = mono_ns() - taken;

	seen_new = 0;
	for (uint32_t i = 0; i < d_tasks.n; i++)
		if (tasks[i].first_ns > prev_query && !(tasks[i].flags & JB_TASK_BACKFILL))
			seen_new++;
	for (uint32_t i = 0; i < d_files.n; i++) {
		const struct jb_file *f = (const struct jb_file *)d_files.vals + i;
		file_index[i].key = ((const uint64_t *)d_files.keys)[i];
		file_index[i].idx = i;
		seen_new += f->first_ns > prev_query;
	}
	qsort(file_index, d_files.n, sizeof(*file_index), cmp_ix);

	for (uint32_t i = 0; i < d_links.n; i++) {
		const struct jb_link_key *k = (const struct jb_link_key *)d_links.keys + i;
		const struct jb_link *l = (const struct jb_link *)d_links.vals + i;
		const struct file_ix *fx;

		seen_new += l->first_ns > prev_query;
		if (l->last_ns <= since)
			continue;
		links[nlinks].key = *k;
		links[nlinks].link = *l;
		links[nlinks].new_actions = 0;
		nlinks++;
		fx = find_file(k->file_key);
		if (fx && file_copied[fx->idx] != (uint32_t)seq) {
			file_copied[fx->idx] = (uint32_t)seq;
			files[nfiles++] = ((const struct jb_file *)d_files.vals)[fx->idx];
		}
	}
	for (uint32_t i = 0; i < d_flows.n; i++) {
		const struct jb_flow *f = (const struct jb_flow *)d_flows.vals + i;
		seen_new += f->first_ns > prev_query;
		if (f->last_ns > since)
			flows[nflows++] = *f;
	}
	last_query_ns = taken;
	account_loss(taken, stats);

	h->taken_ns = taken;
	h->since_ns = since;
	memcpy(h->lost, stats, sizeof(h->lost));
	h->lost_unseen = lost_unseen;
	jb_snap_publish(h, d_tasks.n, nfiles, nlinks, nflows);
	latest_slot = slot;
	{
		struct slot_state *st = &slots[slot];
		st->publish_ns = mono_ns() - taken - st->query_ns;
		st->reported = 0;
		st->in_maps[0] = d_tasks.n;
		st->in_maps[1] = d_files.n;
		st->in_maps[2] = d_links.n;
		st->in_maps[3] = d_flows.n;
		st->sent[0] = d_tasks.n;
		st->sent[1] = nfiles;
		st->sent[2] = nlinks;
		st->sent[3] = nflows;
	}

	for (int i = 0; i < s->nprocs; i++)
		if (s->procs[i].kind->role == IPC_ROLE_WORKER)
			announce(s, &s->procs[i], slot);
	if (!slots[slot].holders)
		report_cost(&slots[slot]);
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
	if (latest_slot >= 0)
		announce(s, p, latest_slot);
}
