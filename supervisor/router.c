/*
 * router.c - detections from workers to every printer.
 *
 * Invariants:
 *  - exact duplicates (same kind and dedup key) are dropped; the set of
 *    keys seen is bounded (DEDUP_SLOTS, oldest forgotten first).
 *  - then the recipe's times limits (limits.c) may suppress it; that is
 *    counted and summarised, never silent. A kind that is not an enabled
 *    recipe of the running set (a reload raced the worker) is dropped and
 *    counted; a kind another worker runs is a protocol violation (it would
 *    spend that worker's limits).
 *  - every line gets a sequence number and stays in the backlog until each
 *    printer acknowledged it (PRINTED is cumulative: printers handle lines
 *    in order). A printer that restarts is sent everything after its last
 *    acknowledgement again, so a kill -9 loses no alert.
 *  - the backlog is bounded (BACKLOG_MAX lines): when a printer stays
 *    down that long the oldest lines are dropped for it, counted and
 *    logged, never silently.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/text.h"
#include "supervisor/limits.h"
#include "sup.h"

#define DEDUP_SLOTS 65536
#define BACKLOG_MAX 100000
#define PER_PUMP_MAX 512 /* lines handed to one peer per pump */

struct line {
	uint64_t seq;
	size_t len;
	char json[];
};

static uint64_t dedup_hash[DEDUP_SLOTS]; /* open addressing, 0 = empty */
static uint64_t dedup_ring[DEDUP_SLOTS / 2]; /* insertion order, for eviction */
static size_t dedup_count, dedup_next;

static struct line **backlog; /* ring of BACKLOG_MAX, seq order */
static size_t bl_head, bl_len;
static uint64_t next_seq = 1;
static uint64_t dropped_dups, dropped_overflow;
static char sendbuf[IPC_MAX_MSG];

static uint64_t fnv(const char *a, const char *b)
{
	uint64_t h = jb_fnv1a(JB_FNV_INIT, a, strlen(a) + 1); /* NUL separates */
	h = jb_fnv1a(h, b, strlen(b));
	return h ? h : 1;
}

static size_t dedup_find(uint64_t h)
{
	size_t i = h & (DEDUP_SLOTS - 1);
	while (dedup_hash[i] && dedup_hash[i] != h)
		i = (i + 1) & (DEDUP_SLOTS - 1);
	return i;
}

static void dedup_remove(uint64_t h)
{
	size_t i = dedup_find(h), j;

	if (!dedup_hash[i])
		return;
	dedup_hash[i] = 0;
	/* re-insert the rest of the cluster (linear probing deletion) */
	for (j = (i + 1) & (DEDUP_SLOTS - 1); dedup_hash[j]; j = (j + 1) & (DEDUP_SLOTS - 1)) {
		uint64_t v = dedup_hash[j];
		dedup_hash[j] = 0;
		dedup_hash[dedup_find(v)] = v;
	}
	dedup_count--;
}

/* 1 if new (and remembered), 0 if seen before. */
static int dedup_add(uint64_t h)
{
	size_t i = dedup_find(h);

	if (dedup_hash[i])
		return 0;
	/* keep the table at most half full: forget the oldest key */
	if (dedup_count >= DEDUP_SLOTS / 2) {
		dedup_remove(dedup_ring[dedup_next]);
		i = dedup_find(h);
	}
	dedup_hash[i] = h;
	dedup_ring[dedup_next] = h;
	dedup_next = (dedup_next + 1) % (DEDUP_SLOTS / 2);
	dedup_count++;
	return 1;
}

int sup_router_init(struct sup *s)
{
	backlog = calloc(BACKLOG_MAX, sizeof(*backlog));
	return backlog ? 0 : -1;
}

void sup_router_free(void)
{
	for (size_t i = 0; i < bl_len; i++)
		free(backlog[(bl_head + i) % BACKLOG_MAX]);
	free(backlog);
	backlog = NULL;
	bl_len = 0;
}

static struct line *bl_at(size_t i) { return backlog[(bl_head + i) % BACKLOG_MAX]; }

/* Drop lines every printer has acknowledged. */
static void bl_trim(struct sup *s)
{
	uint64_t min_acked = UINT64_MAX;

	for (int i = 0; i < s->nprocs; i++)
		if (s->procs[i].kind->role == IPC_ROLE_PRINTER && s->procs[i].state != ST_DISABLED &&
		    s->procs[i].printed_seq < min_acked)
			min_acked = s->procs[i].printed_seq;
	while (bl_len && bl_at(0)->seq <= min_acked) {
		free(bl_at(0));
		bl_head = (bl_head + 1) % BACKLOG_MAX;
		bl_len--;
	}
}

void sup_router_pump(struct sup *s)
{
	for (int i = 0; i < s->nprocs; i++) {
		struct sup_proc *p = &s->procs[i];
		int sent = 0;

		if (p->kind->role != IPC_ROLE_PRINTER || p->state != ST_READY || !p->peer)
			continue;
		/* sequence numbers are contiguous in the backlog: start right
		 * after what this printer was last handed */
		size_t k = bl_len && p->sent_seq >= bl_at(0)->seq ? p->sent_seq + 1 - bl_at(0)->seq : 0;
		for (; k < bl_len && sent < PER_PUMP_MAX; k++) {
			struct line *l = bl_at(k);
			int n;

			n = ipc_enc_print(sendbuf, sizeof(sendbuf), l->seq, l->json, l->len);
			if (n < 0 || ipc_peer_send(p->peer, sendbuf, (size_t)n) < 0)
				break; /* queue full: the next ack pumps again */
			p->sent_seq = l->seq;
			sent++;
		}
	}
}

static void enqueue(struct sup *s, const char *kind, const char *dedup_key, const char *json,
		    size_t len, const char *limits);

static uint64_t dropped_unknown;

int sup_router_detection(struct sup *s, const char *worker, const char *kind,
			 const char *dedup_key, const char *json, size_t len, const char *limits)
{
	const struct recipe *r = rcp_find(&s->recipes.set, kind);

	if (r && strcmp(rcp_mech_worker(r->mech), worker) != 0)
		return -1; /* another worker's recipe: it would spend that one's limits */
	if (!r || !r->enabled) {
		/* a reload removed or disabled it while the worker still ran the
		 * old set: counted, logged once in a while */
		if (!(dropped_unknown++ % 1000))
			log_warnx("detection of %s recipe %s dropped (%llu so far): a reload raced "
				  "the worker", r ? "disabled" : "unknown", kind,
				  (unsigned long long)dropped_unknown);
		return 0;
	}
	enqueue(s, kind, dedup_key, json, len, limits);
	return 0;
}

static void emit_summary(void *arg, const char *dedup_key, const char *json, size_t len)
{
	enqueue(arg, NULL, dedup_key, json, len, NULL);
}

void sup_router_summary(struct sup *s)
{
	size_t n = sup_limits_summary(s->hostname, emit_summary, s);
	if (n)
		log_info("%zu suppression summaries printed", n);
}

/* kind NULL: an event of the agent itself (no recipe, no limits). */
static void enqueue(struct sup *s, const char *kind, const char *dedup_key, const char *json,
		    size_t len, const char *limits)
{
	const struct recipe *r = kind ? rcp_find(&s->recipes.set, kind) : NULL;
	struct line *l;

	l = malloc(sizeof(*l) + len + 1);

	if (!l) {
		/* before dedup: a later copy of this alert must still get through */
		log_warnx("out of memory: alert %s dropped", kind ? kind : dedup_key);
		return;
	}
	if (!dedup_add(fnv(kind ? kind : "agent", dedup_key))) {
		dropped_dups++;
		log_debug("duplicate %s %s dropped", kind ? kind : "agent", dedup_key);
		free(l);
		return;
	}
	if (r && !sup_limits_check(r, limits)) {
		log_debug("%s %s suppressed by its times limit", kind, dedup_key);
		free(l);
		return;
	}
	if (bl_len == BACKLOG_MAX) {
		/* a printer has been down for BACKLOG_MAX alerts: say so */
		struct line *old = bl_at(0);
		dropped_overflow++;
		log_warnx("printer backlog full: alert %llu dropped for printers that have not "
			  "printed it (%llu dropped so far)",
			  (unsigned long long)old->seq, (unsigned long long)dropped_overflow);
		free(old);
		bl_head = (bl_head + 1) % BACKLOG_MAX;
		bl_len--;
	}
	l->seq = next_seq++;
	l->len = len;
	memcpy(l->json, json, len);
	l->json[len] = '\0';
	backlog[(bl_head + bl_len) % BACKLOG_MAX] = l;
	bl_len++;
	sup_router_pump(s);
}

void sup_router_printed(struct sup *s, struct sup_proc *p, uint64_t seq)
{
	if (seq > p->sent_seq) {
		sup_proc_kill(s, p, "acknowledged a line it was never sent");
		return;
	}
	if (seq > p->printed_seq)
		p->printed_seq = seq;
	bl_trim(s);
	sup_router_pump(s);
}

size_t sup_router_pending(void)
{
	return bl_len;
}

void sup_router_printer_ready(struct sup *s, struct sup_proc *p)
{
	p->sent_seq = p->printed_seq;
	sup_router_pump(s);
}
