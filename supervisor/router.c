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
 *  - a printer that fails STUCK_LIMIT times in a row (kills from outside
 *    do not count) on the same first unacknowledged line skips that line,
 *    logged and counted: one line must not stop a printer for good.
 *  - the router owns the delivery state of each printer slot (what it was
 *    handed, what it acknowledged), indexed by the slot's index; the slot
 *    machine (procs.c) never touches it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/text.h"
#include "supervisor/audit.h"
#include "supervisor/limits.h"
#include "sup.h"

#define DEDUP_SLOTS 65536
#define BACKLOG_MAX 100000
#define PER_PUMP_MAX 512 /* lines handed to one peer per pump */
#define STUCK_LIMIT 3	  /* failures on the same line before it is skipped */

struct line {
	uint64_t seq;
	size_t len;
	char json[];
};

struct sup_router {
	uint64_t dedup_hash[DEDUP_SLOTS];    /* open addressing, 0 = empty */
	uint64_t dedup_ring[DEDUP_SLOTS / 2]; /* insertion order, for eviction */
	size_t dedup_count, dedup_next;
	struct line **backlog; /* ring of BACKLOG_MAX, seq order */
	size_t bl_head, bl_len;
	uint64_t next_seq;
	uint64_t dropped_dups, dropped_overflow, dropped_unknown;
	/* per printer slot (by slot index) */
	uint64_t printed_seq[SUP_MAX_PROCS]; /* highest PRINTED ack */
	uint64_t sent_seq[SUP_MAX_PROCS];    /* highest PRINT handed to the peer */
	uint64_t stuck_seq[SUP_MAX_PROCS];   /* printed_seq at its last failures */
	int stuck_fails[SUP_MAX_PROCS];
	uint64_t dropped_poison;
	struct sup_limits *limits; /* the recipes' times limits */
	char sendbuf[IPC_MAX_MSG];
};

static uint64_t fnv(const char *a, const char *b)
{
	uint64_t h = jb_fnv1a(JB_FNV_INIT, a, strlen(a) + 1); /* NUL separates */
	h = jb_fnv1a(h, b, strlen(b));
	return h ? h : 1;
}

static size_t dedup_find(const struct sup_router *rt, uint64_t h)
{
	size_t i = h & (DEDUP_SLOTS - 1);
	while (rt->dedup_hash[i] && rt->dedup_hash[i] != h)
		i = (i + 1) & (DEDUP_SLOTS - 1);
	return i;
}

static void dedup_remove(struct sup_router *rt, uint64_t h)
{
	size_t i = dedup_find(rt, h), j;

	if (!rt->dedup_hash[i])
		return;
	rt->dedup_hash[i] = 0;
	/* re-insert the rest of the cluster (linear probing deletion) */
	for (j = (i + 1) & (DEDUP_SLOTS - 1); rt->dedup_hash[j]; j = (j + 1) & (DEDUP_SLOTS - 1)) {
		uint64_t v = rt->dedup_hash[j];
		rt->dedup_hash[j] = 0;
		rt->dedup_hash[dedup_find(rt, v)] = v;
	}
	rt->dedup_count--;
}

/* 1 if new (and remembered), 0 if seen before. */
static int dedup_add(struct sup_router *rt, uint64_t h)
{
	size_t i = dedup_find(rt, h);

	if (rt->dedup_hash[i])
		return 0;
	/* keep the table at most half full: forget the oldest key */
	if (rt->dedup_count >= DEDUP_SLOTS / 2) {
		dedup_remove(rt, rt->dedup_ring[rt->dedup_next]);
		i = dedup_find(rt, h);
	}
	rt->dedup_hash[i] = h;
	rt->dedup_ring[rt->dedup_next] = h;
	rt->dedup_next = (rt->dedup_next + 1) % (DEDUP_SLOTS / 2);
	rt->dedup_count++;
	return 1;
}

int sup_router_init(struct sup *s)
{
	struct sup_router *rt = calloc(1, sizeof(*rt));

	if (!rt || !(rt->backlog = calloc(BACKLOG_MAX, sizeof(*rt->backlog))) ||
	    !(rt->limits = sup_limits_new())) {
		if (rt)
			free(rt->backlog);
		free(rt);
		return -1;
	}
	rt->next_seq = 1;
	s->rt = rt;
	return 0;
}

void sup_router_free(struct sup *s)
{
	struct sup_router *rt = s->rt;

	if (!rt)
		return;
	for (size_t i = 0; i < rt->bl_len; i++)
		free(rt->backlog[(rt->bl_head + i) % BACKLOG_MAX]);
	free(rt->backlog);
	sup_limits_free(rt->limits);
	free(rt);
	s->rt = NULL;
}

static struct line *bl_at(const struct sup_router *rt, size_t i)
{
	return rt->backlog[(rt->bl_head + i) % BACKLOG_MAX];
}

static int is_printer(const struct sup_proc *p)
{
	return p->kind->role == IPC_ROLE_PRINTER;
}

/* Drop lines every printer has acknowledged. */
static void bl_trim(struct sup *s)
{
	struct sup_router *rt = s->rt;
	uint64_t min_acked = UINT64_MAX;

	for (int i = 0; i < s->nprocs; i++)
		if (is_printer(&s->procs[i]) && s->procs[i].state != ST_DISABLED &&
		    rt->printed_seq[i] < min_acked)
			min_acked = rt->printed_seq[i];
	while (rt->bl_len && bl_at(rt, 0)->seq <= min_acked) {
		free(bl_at(rt, 0));
		rt->bl_head = (rt->bl_head + 1) % BACKLOG_MAX;
		rt->bl_len--;
	}
}

/* Hand printer p what it has not been handed yet (at most PER_PUMP_MAX). */
static void pump_one(struct sup_router *rt, struct sup_proc *p)
{
	int sent = 0;

	if (!is_printer(p) || p->state != ST_READY || !p->peer)
		return;
	/* sequence numbers are contiguous in the backlog: start right after
	 * what this printer was last handed */
	size_t k = rt->bl_len && rt->sent_seq[p->index] >= bl_at(rt, 0)->seq
			   ? rt->sent_seq[p->index] + 1 - bl_at(rt, 0)->seq
			   : 0;
	for (; k < rt->bl_len && sent < PER_PUMP_MAX; k++) {
		struct line *l = bl_at(rt, k);
		int n = ipc_enc_print(rt->sendbuf, sizeof(rt->sendbuf), l->seq, l->json, l->len);

		if (n < 0 || ipc_peer_send(p->peer, rt->sendbuf, (size_t)n) < 0)
			break; /* queue full: the next ack pumps again */
		rt->sent_seq[p->index] = l->seq;
		sent++;
	}
}

void sup_router_pump(struct sup *s)
{
	for (int i = 0; i < s->nprocs; i++)
		pump_one(s->rt, &s->procs[i]);
}

static void enqueue(struct sup *s, const char *kind, const char *dedup_key, const char *json,
		    size_t len, const char *limits);

int sup_router_detection(struct sup *s, struct sup_proc *p, const char *kind,
			 const char *dedup_key, const char *json, size_t len, const char *limits,
			 const char **why)
{
	struct sup_router *rt = s->rt;
	const struct recipe *r = rcp_find(&s->recipes.set, kind);

	if (r && !(p->kind->mechs & (1u << r->mech))) {
		/* another worker's recipe: it would spend that one's limits */
		*why = "DETECTION of a recipe another worker runs";
		return -1;
	}
	if (!r || !r->enabled) {
		/* a reload removed or disabled it while the worker still ran the
		 * old set: counted, logged once in a while */
		if (!(rt->dropped_unknown++ % 1000))
			log_warnx("detection of %s recipe %s dropped (%llu so far): a reload raced "
				  "the worker", r ? "disabled" : "unknown", kind,
				  (unsigned long long)rt->dropped_unknown);
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
	uint64_t full = sup_limits_full_misses(s->rt->limits);
	size_t n;

	if (full)
		sup_audit_loss(s, "limits_table_full", "times limits: table full: %llu detections "
			       "let through without a counter", (unsigned long long)full);
	n = sup_limits_summary(s->rt->limits, s->hostname, emit_summary, s);
	if (n)
		log_info("%zu suppression summaries printed", n);
}

/* kind NULL: an event of the agent itself (no recipe, no limits). */
static void enqueue(struct sup *s, const char *kind, const char *dedup_key, const char *json,
		    size_t len, const char *limits)
{
	struct sup_router *rt = s->rt;
	const struct recipe *r = kind ? rcp_find(&s->recipes.set, kind) : NULL;
	struct line *l = malloc(sizeof(*l) + len + 1);

	if (!l) {
		/* before dedup: a later copy of this alert must still get through */
		sup_warn_loss(s, "router_memory", "out of memory: alert %s dropped",
			      kind ? kind : dedup_key);
		return;
	}
	if (!dedup_add(rt, fnv(kind ? kind : "agent", dedup_key))) {
		rt->dropped_dups++;
		log_debug("duplicate %s %s dropped", kind ? kind : "agent", dedup_key);
		free(l);
		return;
	}
	if (r && !sup_limits_check(rt->limits, r, limits)) {
		log_debug("%s %s suppressed by its times limit", kind, dedup_key);
		free(l);
		return;
	}
	if (rt->bl_len == BACKLOG_MAX) {
		/* a printer has been down for BACKLOG_MAX alerts: say so */
		struct line *old = bl_at(rt, 0);
		rt->dropped_overflow++;
		sup_warn_loss(s, "printer_backlog", "printer backlog full: alert %llu dropped for "
			      "printers that have not printed it (%llu dropped so far)",
			      (unsigned long long)old->seq, (unsigned long long)rt->dropped_overflow);
		free(old);
		rt->bl_head = (rt->bl_head + 1) % BACKLOG_MAX;
		rt->bl_len--;
	}
	l->seq = rt->next_seq++;
	l->len = len;
	memcpy(l->json, json, len);
	l->json[len] = '\0';
	rt->backlog[(rt->bl_head + rt->bl_len) % BACKLOG_MAX] = l;
	rt->bl_len++;
	sup_router_pump(s);
}

int sup_router_printed(struct sup *s, struct sup_proc *p, uint64_t seq, const char **why)
{
	struct sup_router *rt = s->rt;

	if (seq > rt->sent_seq[p->index]) {
		*why = "acknowledged a line it was never sent";
		return -1;
	}
	if (seq > rt->printed_seq[p->index])
		rt->printed_seq[p->index] = seq;
	bl_trim(s);
	sup_router_pump(s);
	return 0;
}

size_t sup_router_drain(struct sup *s, struct sup_proc *p)
{
	struct sup_router *rt = s->rt;
	size_t left = 0;

	pump_one(rt, p);
	for (size_t k = rt->bl_len; k > 0 && bl_at(rt, k - 1)->seq > rt->printed_seq[p->index];
	     k--)
		left++;
	return left;
}

void sup_router_printer_ready(struct sup *s, struct sup_proc *p)
{
	s->rt->sent_seq[p->index] = s->rt->printed_seq[p->index];
	sup_router_pump(s);
}

void sup_router_printer_gone(struct sup *s, struct sup_proc *p)
{
	struct sup_router *rt = s->rt;
	int i = p->index;

	/* a printer that fails again and again (not killed from outside)
	 * without acknowledging the line after printed_seq is stopped by
	 * that line: skip it for this printer, loudly, so that one line
	 * cannot stop its output for good */
	if (rt->sent_seq[i] > rt->printed_seq[i] && !p->outside) {
		if (rt->stuck_seq[i] != rt->printed_seq[i])
			rt->stuck_fails[i] = 0; /* it got further since */
		rt->stuck_seq[i] = rt->printed_seq[i];
		if (++rt->stuck_fails[i] >= STUCK_LIMIT) {
			rt->dropped_poison++;
			sup_warn_loss(s, "printer_poison", "%s failed %d times on line %llu: that "
				      "line is skipped for it, lost for this printer (%llu so far)",
				      p->kind->name, STUCK_LIMIT,
				      (unsigned long long)rt->printed_seq[i] + 1,
				      (unsigned long long)rt->dropped_poison);
			rt->printed_seq[i]++;
			rt->stuck_fails[i] = 0;
		}
	}
	/* what it was handed and did not acknowledge goes again */
	rt->sent_seq[i] = rt->printed_seq[i];
	bl_trim(s);
}
