/*
 * collector.c - one cadence: read the kernel maps (batch lookups into
 * preallocated arrays), write what changed into a free snapshot slot,
 * announce it to the workers, and account for what the kernel lost.
 *
 * What a snapshot holds: the links, flows and tamper records whose last_ns
 * is newer than the oldest point any worker has acknowledged, the files
 * those links name, and the tasks they name with their ancestors (for the
 * events' parent and ancestry). Each worker is
 * told its own 'since' and looks only at records newer than that, so a
 * restarted worker catches up on what its predecessor never finished.
 *
 * Invariants:
 *  - a worker is announced at most one snapshot at a time, so one slow
 *    worker holds one slot and the others go on in the other; when no slot
 *    is free (two workers slow at once) the cadence is skipped: the maps
 *    keep the data, the next snapshot carries it, and the heartbeat
 *    deadline replaces workers that are stuck for good.
 *  - a worker that fails three times (crashes, hangs: not kills from
 *    outside) without acknowledging anything is moved past the snapshot it
 *    keeps dying on (logged), so one poisonous record cannot stop
 *    detection for good, and killing it cannot make it skip one.
 *  - loss: the kernel counts records it created; we count the records we
 *    saw for the first time. Created but never seen = evicted before any
 *    query: reported, never guessed. Each cadence's growth of every loss
 *    counter goes to the router's loss table (a data_loss event on the
 *    summary timer), the totals to a log line at most every 10 s.
 *  - the collector owns the snapshot progress of each worker slot (what it
 *    was announced and acknowledged), indexed by the slot's index, and
 *    keeps it across restarts of the slot; every map is read with the one
 *    walker (mapwalk.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include <bpf/bpf.h>

#include "common/log.h"
#include "common/text.h"
#include "loader.h"
#include "sup.h"
#include "supervisor/audit.h"
#include "collect_dns.h"
#include "cgctx.h"
#include "mapwalk.h"

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

/* A worker slot's snapshot progress, kept across restarts of the slot. */
struct col_worker {
	uint64_t acked_taken_ns;
	uint64_t acked_seq;
	uint64_t snap_sent_seq;	/* announced and not yet acked when > acked_seq */
	int stuck_crashes;	/* crashes without acking anything new */
};

struct sup_collector {
	struct jb_bpf *bpf;
	struct slot_state slots[SUP_SNAP_SLOTS];
	int latest_slot;
	uint64_t seq, last_query_ns, skipped;
	/* loss accounting: the kernel's created counters were read at
	 * count_ns; a record is a first sighting when its first_ns lies in
	 * (the previous count_ns, count_ns], so one created between the read
	 * and the dumps is counted (created and seen) by the next query */
	uint64_t count_ns;
	struct dump d_tasks, d_files, d_links, d_flows; /* d_files: one chunk */
	struct dump d_tamper;	 /* the whole jb_tamper map (JB_TAMPER_ENTRIES) */
	uint64_t tampers_dropped; /* changed records past the slot's section */
	struct key_ix *task_index;
	struct key_ix *tgid_index; /* the same tasks by tgid (key = tgid) */
	uint8_t *file_found;	 /* per distinct file key of this cadence */
	uint32_t scan_bound;	 /* entries of the biggest files map */
	uint32_t *task_stamp;	 /* seq when copied into this snapshot */
	uint64_t files_missing;	 /* changed links whose file record was gone */
	uint64_t *link_file_keys; /* file keys of the selected links */
	uint64_t seen_new, created_total_prev, lost_unseen, last_loss_log_ns;
	/* what the last data_loss count was given (router.c, drops.c) */
	uint64_t reported_unseen, reported_files_missing, reported_tampers_dropped;
	uint64_t bpf_max_files, bpf_max_hot_files; /* [maps] files, hot_files */
	uint64_t stats_prev[JB_STAT_MAX];
	/* the resume point (jb_meta.resume_ns): candidates (since, the router's
	 * last seq then), oldest first; one is reached when every printer
	 * acknowledged that seq */
	struct { uint64_t since_ns, seq; } resume[16];
	int nresume;
	struct col_worker w[SUP_MAX_PROCS];
	struct sup_dns *dns;
	struct sup_cgctx *cg;	 /* cgroup ids -> paths (cgctx.c) */
	/* the status document's figures (status.c): seen_new per map, the
	 * kernel's created counters per map at the last query */
	uint64_t seen[SUP_MAP_MAX], created_prev[SUP_MAP_MAX];
	struct sup_col_figures fig;
};

const double sup_cadence_bounds[SUP_CADENCE_BOUNDS] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
};

const struct sup_col_figures *sup_collector_figures(const struct sup *s)
{
	return s->col ? &s->col->fig : NULL;
}

static uint64_t mono_ns(void);
static void observe(struct sup_collector *c, const struct slot_state *st, uint64_t taken,
		    uint32_t n_tasks_ordinary, uint32_t n_links_ordinary);

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

/* Append every entry of a hash map to d (up to its capacity). */
static int dump_map(struct sup_collector *c, int fd, uint32_t max_entries, struct dump *d)
{
	struct sup_walk w = {.fd = fd, .max_entries = max_entries,
			     .keys = d->keys, .vals = d->vals, .ksz = d->ksz, .vsz = d->vsz,
			     .cap = d->cap, .append = 1, .n = d->n};
	int r = sup_map_walk(c->bpf, &w);

	d->n = w.n;
	return r;
}

int sup_collector_init(struct sup *s, struct jb_bpf *b)
{
	const struct jb_config *cf = &s->cfg;
	struct sup_collector *c = calloc(1, sizeof(*c));

	if (!c)
		return -1;
	s->col = c;
	c->bpf = b;
	c->latest_slot = -1;
	if (b && b->resumed) {
		/* the previous supervisor finished everything up to resume_ns:
		 * every worker starts after it, and the loss accounting goes on
		 * from its last query (what was evicted while none ran counts) */
		for (int i = 0; i < SUP_MAX_PROCS; i++)
			c->w[i].acked_taken_ns = b->meta.resume_ns;
		c->count_ns = b->meta.count_ns;
		c->created_total_prev = b->meta.created;
		if (jb_bpf_stats(b, c->stats_prev) < 0)
			memset(c->stats_prev, 0, sizeof(c->stats_prev));
	}
	/* the protected (hot) maps are read into the same arrays, after the
	 * ordinary ones: the snapshot makes no difference between them (files
	 * are scanned in chunks, see collect_files()) */
	uint32_t tasks = cf->map_tasks + cf->map_hot_tasks;
	uint32_t links = cf->map_links + cf->map_hot_links;
	if (dump_alloc(&c->d_tasks, tasks, sizeof(uint64_t), sizeof(struct jb_task)) < 0 ||
	    dump_alloc(&c->d_files, FILE_CHUNK, sizeof(uint64_t), sizeof(struct jb_file)) < 0 ||
	    dump_alloc(&c->d_links, links, sizeof(struct jb_link_key), sizeof(struct jb_link)) < 0 ||
	    dump_alloc(&c->d_flows, cf->map_flows, sizeof(uint64_t), sizeof(struct jb_flow)) < 0 ||
	    dump_alloc(&c->d_tamper, JB_TAMPER_ENTRIES, sizeof(uint64_t),
		       sizeof(struct jb_tamper)) < 0)
		return -1;
	c->scan_bound = cf->map_files > cf->map_hot_files ? cf->map_files : cf->map_hot_files;
	c->bpf_max_files = cf->map_files;
	c->bpf_max_hot_files = cf->map_hot_files;
	c->link_file_keys = calloc(links, sizeof(*c->link_file_keys));
	c->file_found = calloc(links, sizeof(*c->file_found));
	c->task_index = calloc(tasks, sizeof(*c->task_index));
	c->tgid_index = calloc(tasks, sizeof(*c->tgid_index));
	c->task_stamp = calloc(tasks, sizeof(*c->task_stamp));
	c->dns = sup_dns_new();
	c->cg = sup_cgctx_new(NULL);
	if (!c->file_found || !c->task_index || !c->tgid_index || !c->task_stamp ||
	    !c->link_file_keys || !c->dns || !c->cg)
		return -1;
	return 0;
}

void sup_collector_free(struct sup *s)
{
	struct sup_collector *c = s->col;

	if (!c)
		return;
	struct dump *all[] = {&c->d_tasks, &c->d_files, &c->d_links, &c->d_flows, &c->d_tamper};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		free(all[i]->keys);
		free(all[i]->vals);
	}
	free(c->file_found);
	free(c->task_index);
	free(c->tgid_index);
	free(c->task_stamp);
	free(c->link_file_keys);
	sup_dns_free(c->dns);
	sup_cgctx_free(c->cg);
	free(c);
	s->col = NULL;
}

static int free_slot(const struct sup_collector *c)
{
	int best = -1;

	for (int i = 0; i < SUP_SNAP_SLOTS; i++)
		if (!c->slots[i].holders && (best < 0 || c->slots[i].seq < c->slots[best].seq))
			best = i;
	return best;
}

static int is_worker(const struct sup_proc *p)
{
	return p->kind->role == IPC_ROLE_WORKER;
}

/* Oldest point any live worker kind still needs. */
static uint64_t global_since(struct sup *s)
{
	const struct sup_collector *c = s->col;
	uint64_t m = UINT64_MAX;

	for (int i = 0; i < s->nprocs; i++) {
		struct sup_proc *p = &s->procs[i];
		if (is_worker(p) && p->state != ST_DISABLED && c->w[i].acked_taken_ns < m)
			m = c->w[i].acked_taken_ns;
	}
	return m == UINT64_MAX ? c->last_query_ns : m;
}

/* The resume point moves to the newest 'since' whose detections every
 * printer acknowledged: since is taken as a candidate with the router's
 * last seq of that moment (every worker acknowledged the snapshots up to
 * it, and sent their detections before that), and reached when the
 * router's settled seq passes it. Stored with the loss accounting in
 * jb_meta every cadence (one map update). */
static void resume_advance(struct sup *s, struct sup_collector *c, uint64_t since)
{
	const int max = (int)(sizeof(c->resume) / sizeof(c->resume[0]));
	uint64_t settled, best = 0;
	int k = 0;

	if (!c->bpf)
		return;
	if (since > c->bpf->meta.resume_ns &&
	    (!c->nresume || since > c->resume[c->nresume - 1].since_ns)) {
		if (c->nresume == max) { /* the oldest goes: the point only lags */
			memmove(c->resume, c->resume + 1, (size_t)(max - 1) * sizeof(c->resume[0]));
			c->nresume--;
		}
		c->resume[c->nresume].since_ns = since;
		c->resume[c->nresume].seq = sup_router_last_seq(s);
		c->nresume++;
	}
	settled = sup_router_settled(s);
	while (k < c->nresume && c->resume[k].seq <= settled)
		best = c->resume[k++].since_ns;
	memmove(c->resume, c->resume + k, (size_t)(c->nresume - k) * sizeof(c->resume[0]));
	c->nresume -= k;
	if (best > c->bpf->meta.resume_ns)
		c->bpf->meta.resume_ns = best;
	jb_bpf_meta_store(c->bpf);
}

/* Someone rewrote the programs' idea of which process is the agent (the
 * pinned .bss, through a mapping: no bpf() hook sees it): put ours back
 * and say so, as the tamper detections would. */
static void agent_guard(struct sup *s, struct sup_collector *c)
{
	uint32_t found = jb_bpf_agent_check(c->bpf);
	char now[64], dedup[64], *json;
	struct timespec ts;
	json_t *ev;

	if (!found)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	jb_iso_time((int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec, now, sizeof(now));
	snprintf(dedup, sizeof(dedup), "agent_tgid/%u/%lld", found, (long long)ts.tv_sec);
	log_warnx("the programs' agent pid was rewritten from outside to %u (the pinned .bss): "
		  "that process was left out of detection until now; restored", found);
	sup_audit_loss(s, "agent_tgid", "the agent pid in the kernel was rewritten to %u", found);
	ev = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s, s:I, s:I}}", "timestamp", now,
		       "kind", "tamper_agent_state", "name",
		       "The agent's identity in the kernel was rewritten", "mechanism", "agent",
		       "importance", "critical", "hostname", s->hostname, "tamper", "what",
		       "agent_tgid", "found_pid", (json_int_t)(found == UINT32_MAX ? 0 : found),
		       "restored_pid", (json_int_t)getpid());
	json = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
	if (json)
		sup_router_agent_event(s, dedup, json);
	free(json);
	json_decref(ev);
}

void sup_collector_save_resume(struct sup *s)
{
	if (s->col)
		resume_advance(s, s->col, global_since(s));
}

static void announce(struct sup *s, struct sup_proc *p, int slot)
{
	struct sup_collector *c = s->col;
	struct col_worker *w = &c->w[p->index];
	char buf[128];
	int n;

	if (p->state != ST_READY || !p->peer || w->snap_sent_seq > w->acked_seq || slot < 0)
		return;
	n = ipc_enc_snapshot(buf, sizeof(buf), c->slots[slot].seq, (uint64_t)slot,
			     w->acked_taken_ns);
	if (n < 0 || ipc_peer_send(p->peer, buf, (size_t)n) < 0) {
		sup_proc_kill(s, p, "its IPC queue is full");
		return;
	}
	w->snap_sent_seq = c->slots[slot].seq;
	c->slots[slot].holders |= 1u << p->index;
}

/* How much a counter grew (never negative: a counter read back whole). */
static uint64_t grown(uint64_t now, uint64_t before)
{
	return now > before ? now - before : 0;
}

/* Per map, for the status document: records created since the last
 * query that this one did not see (the maps without a counter of their
 * own: hot tasks, none; files, the changed links whose file was gone). */
static void account_maps(struct sup_collector *c, const uint64_t *stats)
{
	static const int created_stat[SUP_MAP_MAX] = {
		[SUP_MAP_TASKS] = JB_STAT_TASK_NEW, [SUP_MAP_LINKS] = JB_STAT_LINK_NEW,
		[SUP_MAP_LINKS_HOT] = JB_STAT_HOT_NEW, [SUP_MAP_FLOWS] = JB_STAT_FLOW_NEW,
		[SUP_MAP_TAMPER] = JB_STAT_TAMPER_NEW, [SUP_MAP_TASKS_HOT] = -1,
		[SUP_MAP_FILES] = -1, [SUP_MAP_FILES_HOT] = -1,
	};

	for (int m = 0; m < SUP_MAP_MAX; m++) {
		uint64_t created;

		if (created_stat[m] < 0)
			continue;
		created = stats[created_stat[m]];
		if (created - c->created_prev[m] > c->seen[m])
			c->fig.evicted[m] += created - c->created_prev[m] - c->seen[m];
		c->created_prev[m] = created;
	}
	c->fig.evicted[SUP_MAP_FILES] = c->files_missing;
	/* the files maps are not read whole: at most what was ever created */
	c->fig.entries[SUP_MAP_FILES] = stats[JB_STAT_FILE_NEW] < c->bpf_max_files
					    ? stats[JB_STAT_FILE_NEW] : c->bpf_max_files;
	c->fig.entries[SUP_MAP_FILES_HOT] = stats[JB_STAT_HOT_NEW] < c->bpf_max_hot_files
						? stats[JB_STAT_HOT_NEW] : c->bpf_max_hot_files;
	memcpy(c->fig.stats, stats, sizeof(c->fig.stats));
	c->fig.lost_unseen = c->lost_unseen;
	c->fig.files_missing = c->files_missing;
	c->fig.tampers_dropped = c->tampers_dropped;
}

static void account_loss(struct sup *s, struct sup_collector *c, uint64_t now,
			 const uint64_t *stats)
{
	/* files are read only when a changed link names them: their loss
	 * shows as files_missing instead */
	uint64_t created = stats[JB_STAT_TASK_NEW] + stats[JB_STAT_LINK_NEW] +
			   stats[JB_STAT_FLOW_NEW] + stats[JB_STAT_HOT_NEW] +
			   stats[JB_STAT_TAMPER_NEW];
	uint64_t fails = 0, fails_prev = 0;

	account_maps(c, stats);
	/* created since the last query but not seen by this one: evicted */
	if (created - c->created_total_prev > c->seen_new)
		c->lost_unseen += created - c->created_total_prev - c->seen_new;
	c->created_total_prev = created;
	if (c->bpf) {
		c->bpf->meta.count_ns = c->count_ns;
		c->bpf->meta.created = created;
	}
	static const int fail_stats[] = {JB_STAT_TASK_FAIL, JB_STAT_FILE_FAIL, JB_STAT_LINK_FAIL,
					 JB_STAT_FLOW_FAIL, JB_STAT_PATH_FAIL, JB_STAT_HOT_FAIL,
					 JB_STAT_TAMPER_FAIL};
	for (size_t i = 0; i < sizeof(fail_stats) / sizeof(fail_stats[0]); i++) {
		fails += stats[fail_stats[i]];
		fails_prev += c->stats_prev[fail_stats[i]];
	}
	if ((fails != fails_prev || c->lost_unseen || c->files_missing || c->tampers_dropped) &&
	    now - c->last_loss_log_ns > LOSS_LOG_EVERY_NS) {
		sup_warn_loss(s, "kernel_records", "kernel loss so far: %llu records evicted before any query saw them, "
			  "%llu changed links whose file was already evicted, "
			  "%llu failed inserts (tasks %llu files %llu links %llu flows %llu "
			  "protected %llu tamper %llu), %llu unreadable paths, %llu tamper records "
			  "past a snapshot's room; consider larger [maps] sizes",
			  (unsigned long long)c->lost_unseen, (unsigned long long)c->files_missing,
			  (unsigned long long)(fails - stats[JB_STAT_PATH_FAIL]),
			  (unsigned long long)stats[JB_STAT_TASK_FAIL],
			  (unsigned long long)stats[JB_STAT_FILE_FAIL],
			  (unsigned long long)stats[JB_STAT_LINK_FAIL],
			  (unsigned long long)stats[JB_STAT_FLOW_FAIL],
			  (unsigned long long)stats[JB_STAT_HOT_FAIL],
			  (unsigned long long)stats[JB_STAT_TAMPER_FAIL],
			  (unsigned long long)stats[JB_STAT_PATH_FAIL],
			  (unsigned long long)c->tampers_dropped);
		c->last_loss_log_ns = now;
	}
	/* the growth since the last cadence, for the next data_loss events */
	sup_router_count_loss(s, "kernel", "kernel_evicted", "records",
			      grown(c->lost_unseen, c->reported_unseen), NULL);
	sup_router_count_loss(s, "kernel", "kernel_file_evicted", "records",
			      grown(c->files_missing, c->reported_files_missing), NULL);
	sup_router_count_loss(s, "kernel", "kernel_insert_failed", "records",
			      grown(fails - stats[JB_STAT_PATH_FAIL],
				    fails_prev - c->stats_prev[JB_STAT_PATH_FAIL]), NULL);
	sup_router_count_loss(s, "kernel", "kernel_path_unreadable", "records",
			      grown(stats[JB_STAT_PATH_FAIL], c->stats_prev[JB_STAT_PATH_FAIL]), NULL);
	sup_router_count_loss(s, "agent", "snapshot_room", "records",
			      grown(c->tampers_dropped, c->reported_tampers_dropped), NULL);
	c->reported_unseen = c->lost_unseen;
	c->reported_files_missing = c->files_missing;
	c->reported_tampers_dropped = c->tampers_dropped;
	memcpy(c->stats_prev, stats, sizeof(c->stats_prev));
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

static const struct key_ix *find_task(const struct sup_collector *c, uint64_t key)
{
	size_t lo = 0, hi = c->d_tasks.n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (c->task_index[mid].key < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < c->d_tasks.n && c->task_index[lo].key == key ? &c->task_index[lo] : NULL;
}

/*
 * The parent of t when its parent_key names no record: a process that
 * predates the agent and never did anything since has only its back-fill
 * record (keyed without an image), and one the kernel built from the live
 * task names its parent's image key. A record of the parent's pid whose
 * process is not younger than t's: the newest image that existed when t's
 * record was made, else the oldest. 0 if none.
 */
static uint64_t parent_by_pid(const struct sup_collector *c, const struct jb_task *t)
{
	size_t lo = 0, hi = c->d_tasks.n;
	uint64_t best = 0, best_ns = 0;
	int best_before = 0;

	if (!t->ppid)
		return 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (c->tgid_index[mid].key < t->ppid)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < c->d_tasks.n && c->tgid_index[lo].key == t->ppid; lo++) {
		const struct jb_task *p = (const struct jb_task *)c->d_tasks.vals +
					  c->tgid_index[lo].idx;

		if (p->start_ticks > t->start_ticks || p->key == t->key)
			continue;
		/* the newest image that existed when t's did; else (records
		 * made later, back-fill after a fork) the oldest there is */
		if (p->first_ns <= t->first_ns) {
			if (!best || !best_before || p->first_ns > best_ns) {
				best = p->key;
				best_ns = p->first_ns;
				best_before = 1;
			}
		} else if (!best || (!best_before && p->first_ns < best_ns)) {
			best = p->key;
			best_ns = p->first_ns;
		}
	}
	return best;
}

/* Put a task and its ancestors (bounded) into the snapshot, once each. */
static void add_task_chain(struct sup_collector *c, uint64_t key, struct jb_task *out,
			   uint32_t *n)
{
	for (int depth = 0; key && depth < 64; depth++) {
		const struct key_ix *tx = find_task(c, key);
		const struct jb_task *t;
		struct jb_task *copy;

		if (!tx || c->task_stamp[tx->idx] == (uint32_t)c->seq)
			return; /* unknown, or already there with its ancestors */
		c->task_stamp[tx->idx] = (uint32_t)c->seq;
		t = (const struct jb_task *)c->d_tasks.vals + tx->idx;
		copy = &out[(*n)++];
		*copy = *t;
		key = t->parent_key;
		if (key && !find_task(c, key))
			key = copy->parent_key = parent_by_pid(c, t);
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
static void add_wanted_files(const struct sup_walk *w, uint32_t first, uint32_t n, void *arg)
{
	struct file_scan *fs = arg;
	struct sup_collector *c = fs->s->col;

	for (uint32_t i = first; i < first + n; i++) {
		uint64_t key = ((const uint64_t *)w->keys)[i];
		const uint64_t *k = bsearch(&key, c->link_file_keys, fs->nkeys, sizeof(key), cmp_u64);
		size_t at;

		if (!k || c->file_found[at = (size_t)(k - c->link_file_keys)])
			continue;
		if (jb_snap_add_file(&fs->s->snap, fs->h, (const struct jb_file *)w->vals + i) < 0)
			continue; /* slot full: counted missing below */
		c->file_found[at] = 1;
		fs->found++;
	}
}

/* Scan one files map chunk by chunk for the wanted records. */
static int scan_files(struct file_scan *fs, int fd)
{
	struct sup_collector *c = fs->s->col;
	struct sup_walk w = {.fd = fd, .max_entries = c->scan_bound,
			     .keys = c->d_files.keys, .vals = c->d_files.vals,
			     .ksz = c->d_files.ksz, .vsz = c->d_files.vsz, .cap = c->d_files.cap,
			     .append = 0, .chunk = add_wanted_files, .arg = fs};

	return sup_map_walk(c->bpf, &w);
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
	struct sup_collector *c = s->col;
	uint64_t *keys = c->link_file_keys;
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
			int found = bpf_map_lookup_elem(c->bpf->fd_files, &keys[i], &f) == 0 ||
				    bpf_map_lookup_elem(c->bpf->fd_files_hot, &keys[i], &f) == 0;
			if (!found || jb_snap_add_file(&s->snap, h, &f) < 0)
				c->files_missing++;
		}
		return;
	}
	{
		struct file_scan fs = {.s = s, .h = h, .nkeys = nkeys};

		memset(c->file_found, 0, nkeys);
		/* each on its own: a failed scan of one must not hide the
		 * other (the watched files live in the hot one) */
		if (scan_files(&fs, c->bpf->fd_files) < 0)
			log_warn("reading the files map");
		if (scan_files(&fs, c->bpf->fd_files_hot) < 0)
			log_warn("reading the protected files map");
		c->files_missing += nkeys - fs.found;
	}
}

/* The tamper section: every jb_tamper record changed since 'since', and
 * its actor with ancestors among the tasks. The section holds as many as
 * the map, so a record is dropped (and counted) only when the map changed
 * under the walk. */
static void collect_tampers(struct sup *s, struct jb_snap_slot_hdr *h, uint64_t since,
			    uint64_t prev_count, struct jb_task *tasks, uint32_t *ntasks)
{
	struct sup_collector *c = s->col;

	for (uint32_t i = 0; i < c->d_tamper.n; i++) {
		const struct jb_tamper *t = (const struct jb_tamper *)c->d_tamper.vals + i;

		c->seen[SUP_MAP_TAMPER] += t->first_ns > prev_count && t->first_ns <= c->count_ns;
		if (t->last_ns <= since)
			continue;
		if (jb_snap_add_tamper(&s->snap, h, t) < 0) {
			c->tampers_dropped++;
			continue;
		}
		add_task_chain(c, t->task_key, tasks, ntasks);
	}
}

void sup_collector_tick(struct sup *s)
{
	struct sup_collector *c = s->col;
	const struct jb_config *cf = &s->cfg;
	struct jb_bpf *bpf = c->bpf;
	struct jb_task *tasks;
	struct jb_snap_link *links;
	struct jb_flow *flows;
	struct jb_snap_slot_hdr *h;
	struct slot_state *st;
	uint64_t stats[JB_STAT_MAX], taken, since, prev_count;
	uint32_t ntasks = 0, nlinks = 0, nflows = 0, n_tasks_ordinary, n_links_ordinary;
	int slot = free_slot(c);

	if (slot < 0) {
		c->skipped++;
		log_debug("every snapshot slot is held by a worker: cadence skipped (%llu so far)",
			  (unsigned long long)c->skipped);
		return;
	}
	/* first the clock, then the epoch: a repeat that sees the new epoch
	 * stores a last_ns after taken (the next query's since), so the next
	 * query sees it; one between the two is one the query below reads */
	taken = mono_ns();
	jb_bpf_new_epoch(bpf);
	prev_count = c->count_ns;
	if (jb_bpf_stats(bpf, stats) < 0)
		memcpy(stats, c->stats_prev, sizeof(stats));
	c->count_ns = mono_ns();
	jb_bpf_count_bound(bpf, c->count_ns);
	since = global_since(s);
	c->seq++;
	st = &c->slots[slot];
	h = jb_snap_begin(&s->snap, (uint32_t)slot, c->seq, &tasks, &links, &flows);
	st->seq = c->seq;
	st->taken_ns = taken;
	st->holders = 0;

	/* read: links (ordinary, then protected), flows, tamper records, and
	 * only then the tasks (ordinary, then hot copies). Every record names
	 * an image the kernel wrote before the record itself, so a task read
	 * after it is there (unless evicted): never a copy older than the
	 * act, never a flow without its process. An image that execs after
	 * the act keeps its own record (REPLACED), so a read this late cannot
	 * name the new image for the old one's act either. Files are read
	 * after the links for the same reason (record_file() writes the file
	 * first). */
	c->d_tasks.n = c->d_links.n = c->d_flows.n = c->d_tamper.n = 0;
	if (dump_map(c, bpf->fd_links, cf->map_links, &c->d_links) < 0)
		log_warn("reading the links map");
	n_links_ordinary = c->d_links.n;
	if (dump_map(c, bpf->fd_links_hot, cf->map_hot_links, &c->d_links) < 0)
		log_warn("reading the hot links map");
	if (dump_map(c, bpf->fd_flows, cf->map_flows, &c->d_flows) < 0)
		log_warn("reading the flows map");
	if (dump_map(c, bpf->fd_tamper, JB_TAMPER_ENTRIES, &c->d_tamper) < 0)
		log_warn("reading the tamper map");
	if (cf->query_gap_ms) { /* test-only: widen the window between the two */
		struct timespec gap = {0, (long)cf->query_gap_ms * 1000000L};

		while (nanosleep(&gap, &gap) < 0 && errno == EINTR)
			;
	}
	if (dump_map(c, bpf->fd_tasks, cf->map_tasks, &c->d_tasks) < 0)
		log_warn("reading the tasks map");
	n_tasks_ordinary = c->d_tasks.n;
	if (dump_map(c, bpf->fd_tasks_hot, cf->map_hot_tasks, &c->d_tasks) < 0)
		log_warn("reading the hot tasks map");

	/* first sightings, against the kernel's *_NEW counters (hot task
	 * copies have no counter of their own; hot links do) */
	memset(c->seen, 0, sizeof(c->seen));
	for (uint32_t i = 0; i < c->d_tasks.n; i++) {
		const struct jb_task *t = (const struct jb_task *)c->d_tasks.vals + i;
		c->task_index[i].key = t->key;
		c->task_index[i].idx = i;
		c->tgid_index[i].key = t->tgid;
		c->tgid_index[i].idx = i;
		c->seen[SUP_MAP_TASKS] += i < n_tasks_ordinary && t->first_ns > prev_count &&
			       t->first_ns <= c->count_ns &&
			       !(t->flags & JB_TASK_BACKFILL);
	}
	qsort(c->task_index, c->d_tasks.n, sizeof(*c->task_index), cmp_ix_stable);
	qsort(c->tgid_index, c->d_tasks.n, sizeof(*c->tgid_index), cmp_ix_stable);

	/* select what changed since the oldest acknowledged point */
	for (uint32_t i = 0; i < c->d_links.n; i++) {
		const struct jb_link *l = (const struct jb_link *)c->d_links.vals + i;

		c->seen[i < n_links_ordinary ? SUP_MAP_LINKS : SUP_MAP_LINKS_HOT] +=
			l->first_ns > prev_count && l->first_ns <= c->count_ns;
		if (l->last_ns <= since)
			continue;
		links[nlinks].key = ((const struct jb_link_key *)c->d_links.keys)[i];
		links[nlinks].link = *l;
		add_task_chain(c, links[nlinks].key.task_key, tasks, &ntasks);
		nlinks++;
	}
	for (uint32_t i = 0; i < c->d_flows.n; i++) {
		const struct jb_flow *f = (const struct jb_flow *)c->d_flows.vals + i;
		c->seen[SUP_MAP_FLOWS] += f->first_ns > prev_count && f->first_ns <= c->count_ns;
		if (f->last_ns <= since)
			continue;
		flows[nflows++] = *f;
		add_task_chain(c, f->task_key, tasks, &ntasks);
	}
	collect_files(s, h, links, nlinks);
	collect_tampers(s, h, since, prev_count, tasks, &ntasks);
	st->query_ns = mono_ns() - taken;
	c->last_query_ns = taken;
	c->seen_new = 0;
	for (int m = 0; m < SUP_MAP_MAX; m++)
		c->seen_new += c->seen[m];
	account_loss(s, c, taken, stats);
	resume_advance(s, c, since);
	agent_guard(s, c);

	h->taken_ns = taken;
	h->since_ns = since;
	memcpy(h->lost, stats, sizeof(h->lost));
	h->lost_unseen = c->lost_unseen;
	sup_dns_collect(c->dns, bpf, &s->snap, h); /* the domains section (collect_dns.c) */
	sup_cgctx_collect(c->cg, &s->snap, h, tasks, ntasks); /* cgroup paths (cgctx.c) */
	jb_snap_publish(h, ntasks, nlinks, nflows);
	c->latest_slot = slot;
	st->publish_ns = mono_ns() - taken - st->query_ns;
	st->reported = 0;
	st->in_maps[0] = c->d_tasks.n;
	st->in_maps[1] = 0; /* the files maps are not read whole any more */
	st->in_maps[2] = c->d_links.n;
	st->in_maps[3] = c->d_flows.n;
	st->sent[0] = ntasks;
	st->sent[1] = h->nfiles;
	st->sent[2] = nlinks;
	st->sent[3] = nflows;
	observe(c, st, taken, n_tasks_ordinary, n_links_ordinary);

	for (int i = 0; i < s->nprocs; i++)
		if (is_worker(&s->procs[i]))
			announce(s, &s->procs[i], slot);
	if (!st->holders)
		report_cost(st);
}

/* The status document's figures of this query (status.c). */
static void observe(struct sup_collector *c, const struct slot_state *st, uint64_t taken,
		    uint32_t n_tasks_ordinary, uint32_t n_links_ordinary)
{
	struct sup_col_figures *f = &c->fig;
	uint64_t us = (st->query_ns + st->publish_ns) / 1000;
	int b = 0;

	while (b < SUP_CADENCE_BOUNDS && us > (uint64_t)(sup_cadence_bounds[b] * 1e6))
		b++;
	f->le[b]++;
	f->cadences++;
	f->sum_us += us;
	f->last_query_ms = taken / 1000000;
	f->skipped = c->skipped;
	f->entries[SUP_MAP_TASKS] = n_tasks_ordinary;
	f->entries[SUP_MAP_TASKS_HOT] = c->d_tasks.n - n_tasks_ordinary;
	f->entries[SUP_MAP_LINKS] = n_links_ordinary;
	f->entries[SUP_MAP_LINKS_HOT] = c->d_links.n - n_links_ordinary;
	f->entries[SUP_MAP_FLOWS] = c->d_flows.n;
	f->entries[SUP_MAP_TAMPER] = c->d_tamper.n;
}

int sup_collector_done(struct sup *s, struct sup_proc *p, uint64_t done_seq, const char **why)
{
	struct sup_collector *c = s->col;
	struct col_worker *w = &c->w[p->index];

	for (int i = 0; i < SUP_SNAP_SLOTS; i++) {
		if (c->slots[i].seq == done_seq && (c->slots[i].holders & (1u << p->index))) {
			c->slots[i].holders &= ~(1u << p->index);
			if (!c->slots[i].holders)
				report_cost(&c->slots[i]);
			w->acked_seq = done_seq;
			w->acked_taken_ns = c->slots[i].taken_ns;
			w->stuck_crashes = 0;
			return 0;
		}
	}
	*why = "acknowledged a snapshot it does not hold";
	return -1;
}

void sup_collector_proc_gone(struct sup *s, struct sup_proc *p)
{
	struct sup_collector *c = s->col;
	struct col_worker *w = &c->w[p->index];
	int held = 0;

	for (int i = 0; i < SUP_SNAP_SLOTS; i++) {
		if (c->slots[i].holders & (1u << p->index)) {
			c->slots[i].holders &= ~(1u << p->index);
			held = 1;
		}
	}
	/* whatever it was sent and did not finish is sent again; a kill from
	 * outside says nothing about the snapshot it held */
	w->snap_sent_seq = w->acked_seq;
	if (held && !p->outside && ++w->stuck_crashes >= STUCK_LIMIT && c->latest_slot >= 0) {
		sup_warn_loss(s, "snapshot_skipped", "%s died %d times on the same snapshot: "
			      "skipping to snapshot %llu (changes before it are not examined by "
			      "this worker kind)", p->kind->name, w->stuck_crashes,
			      (unsigned long long)c->slots[c->latest_slot].seq);
		sup_router_count_loss(s, p->kind->name, "snapshot_skipped", "snapshots", 1, NULL);
		w->acked_taken_ns = c->slots[c->latest_slot].taken_ns;
		w->acked_seq = w->snap_sent_seq = 0;
		w->stuck_crashes = 0;
	}
}

void sup_collector_catch_up(struct sup *s, struct sup_proc *p)
{
	struct sup_collector *c = s->col;

	/* nothing to catch up on if it already acknowledged the newest */
	if (c->latest_slot >= 0 && c->slots[c->latest_slot].seq != c->w[p->index].acked_seq)
		announce(s, p, c->latest_slot);
}

int sup_collector_flush(struct sup *s, uint64_t *final_seq)
{
	struct sup_collector *c = s->col;
	uint64_t skipped = c->skipped;
	int settled = 1;

	if (!*final_seq) {
		sup_collector_tick(s);
		if (c->skipped != skipped || c->latest_slot < 0)
			return 0; /* every slot held: try again on the next call */
		*final_seq = c->slots[c->latest_slot].seq;
	}
	for (int i = 0; i < s->nprocs; i++) {
		struct sup_proc *p = &s->procs[i];
		struct col_worker *w = &c->w[i];

		if (!is_worker(p) || w->acked_seq >= *final_seq)
			continue;
		if (p->state != ST_READY) {
			/* restarting: READY announces it the newest (catch_up) */
			if (sup_proc_returning(p))
				settled = 0;
			continue;
		}
		settled = 0;
		/* busy with an older one when the final was announced */
		if (w->snap_sent_seq <= w->acked_seq)
			sup_collector_catch_up(s, p);
	}
	return settled;
}
