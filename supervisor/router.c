/*
 * router.c - detections from workers to every printer.
 *
 * Invariants:
 *  - exact duplicates (same kind and dedup key) are dropped; the set of
 *    keys seen is bounded (DEDUP_SLOTS, oldest forgotten first) and hashed
 *    with SipHash under a key drawn at start (common/siphash.c), so a
 *    worker cannot choose dedup keys that collide.
 *  - then the recipe's times limits (limits.c) may suppress it; that is
 *    counted and summarised, never silent. A kind that is not an enabled
 *    recipe of the running set (a reload raced the worker) is dropped and
 *    counted; a kind another worker runs is a protocol violation (it would
 *    spend that worker's limits).
 *  - every line gets a sequence number and stays in the backlog until each
 *    printer acknowledged it (PRINTED is cumulative: printers handle lines
 *    in order). A printer that restarts is sent everything after its last
 *    acknowledgement again, so a kill -9 loses no alert.
 *  - memory is bounded in bytes by [agent] backlog_bytes (the cap), and
 *    every byte the router holds counts: a quarter of the cap is the
 *    window of copies queued to printer peers (split between the
 *    printers; a printer is handed a line only while its peer's queue
 *    holds less than its window, or nothing), the rest is split evenly
 *    between the producers (each worker slot, and the agent's own events).
 *    A line is charged to its producer until every printer acknowledged
 *    it; a producer whose share (bytes, or lines: the BACKLOG_MAX ring is
 *    split the same way) is full cannot push out another's alerts: first
 *    its own lines that some printer already printed are dropped for the
 *    printers still behind (tombstones keep the sequence contiguous), and
 *    if that is not enough its new detection is dropped. Every drop is
 *    counted (drops.c), logged once per summary period per producer and
 *    reason, and reported in a `data_loss` event on the summary timer and
 *    at shutdown: never silent. A `data_loss` event that does not fit is
 *    not a loss (its counts wait for the next summary) and is not counted. A dropped detection is not
 *    remembered by dedup, so a later copy can still get through.
 *  - a printer that fails STUCK_LIMIT times in a row (kills from outside
 *    do not count) on the same first unacknowledged line skips that line,
 *    logged and counted: one line must not stop a printer for good.
 *  - a line may name a printer kind it is not for (except): a summary
 *    printer's detection_summary goes to every printer but the summary
 *    printers, never back into a digest. For that kind it counts as
 *    acknowledged, like a tombstone.
 *  - every event the agent makes itself (suppressed_detections, data_loss)
 *    gets its uuid when it is queued (enqueue_agent), like a worker's
 *    detection: the line is handed again as it is, so a repeat to a
 *    restarted printer carries the same uuid.
 *  - the router owns the delivery state of each printer slot (what it was
 *    handed, what it acknowledged), indexed by the slot's index; the slot
 *    machine (procs.c) never touches it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/log.h"
#include "common/text.h"
#include "supervisor/audit.h"
#include "common/siphash.h"
#include "supervisor/drops.h"
#include "supervisor/limits.h"
#include "supervisor/tally.h"
#include "supervisor/loader.h"
#include "sup.h"

#define DEDUP_SLOTS 65536
#define BACKLOG_MAX 100000	/* the ring: lines, whatever their size */
#define PER_PUMP_MAX 512	/* lines handed to one peer per pump */
#define STUCK_LIMIT 3		/* failures on the same line before it is skipped */
#define AGENT_OWNER SUP_MAX_PROCS /* producer of the agent's own events */
#define UUID_PRE "{\"uuid\":\"" /* how every event begins */

struct line {
	uint64_t seq;
	size_t len;
	int owner;	/* the producing worker's slot index, or AGENT_OWNER */
	int gone;	/* a tombstone: dropped under pressure, never handed again */
	const struct jb_kind *except; /* the printer kind it is not for, or NULL */
	char json[];
};

struct sup_router {
	struct jb_sipkey key;	/* random per start: dedup slots are unpredictable */
	unsigned char uuid_key[32]; /* a detection's uuid (record_uuid): from the seed */
	uint64_t dedup_hash[DEDUP_SLOTS];    /* open addressing, 0 = empty */
	uint64_t dedup_ring[DEDUP_SLOTS / 2]; /* insertion order, for eviction */
	size_t dedup_count, dedup_next;
	struct line **backlog; /* ring of BACKLOG_MAX, seq order */
	size_t bl_head, bl_len;
	size_t bl_bytes;			   /* what the lines cost */
	size_t owner_bytes[SUP_MAX_PROCS + 1];	   /* charged to each producer */
	size_t owner_lines[SUP_MAX_PROCS + 1];
	uint64_t next_seq;
	uint64_t dropped_dups, dropped_unknown;
	/* per printer slot (by slot index) */
	uint64_t printed_seq[SUP_MAX_PROCS]; /* highest PRINTED ack */
	uint64_t sent_seq[SUP_MAX_PROCS];    /* highest PRINT handed to the peer */
	uint64_t stuck_seq[SUP_MAX_PROCS];   /* printed_seq at its last failures */
	int stuck_fails[SUP_MAX_PROCS];
	uint64_t dropped_poison;
	int retry_later;	   /* enqueue: a refused line is kept by its caller */
	const struct jb_kind *except; /* enqueue: the next line is not for this kind */
	struct sup_limits *limits; /* the recipes' times limits */
	struct sup_drops *drops;   /* what the cap made us drop */
	struct sup_tally *tally;   /* per recipe kind: let through, suppressed */
	char sendbuf[IPC_MAX_MSG];
};

/* What the cap allows now (it follows the slots and a reload of the cap). */
struct budget {
	size_t window;		/* bytes queued to one printer peer */
	size_t share;		/* bytes charged to one producer */
	size_t share_lines;
};

static size_t line_cost(size_t len)
{
	return sizeof(struct line) + len + 1;
}

static int is_printer(const struct sup_proc *p)
{
	return p->kind->role == IPC_ROLE_PRINTER;
}

static void budget(const struct sup *s, struct budget *b)
{
	size_t cap = s->cfg.backlog_bytes, np = 0, nw = 0, for_printers;

	for (int i = 0; i < s->nprocs; i++)
		if (is_printer(&s->procs[i]))
			np++;
		else
			nw++;
	for_printers = np ? cap / 4 : 0;
	b->window = np ? for_printers / np : 0;
	b->share = (cap - for_printers) / (nw + 1);
	b->share_lines = BACKLOG_MAX / (nw + 1);
}

static uint64_t keyed(const struct sup_router *rt, const char *a, const char *b)
{
	struct jb_siphash h;
	uint64_t v;

	jb_siphash_init(&h, &rt->key);
	jb_siphash_update(&h, a, strlen(a) + 1); /* NUL separates */
	jb_siphash_update(&h, b, strlen(b));
	v = jb_siphash_final(&h);
	return v ? v : 1;
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

static int dedup_has(const struct sup_router *rt, uint64_t h)
{
	return rt->dedup_hash[dedup_find(rt, h)] != 0;
}

/* Remember h (not already there). */
static void dedup_add(struct sup_router *rt, uint64_t h)
{
	/* keep the table at most half full: forget the oldest key */
	if (rt->dedup_count >= DEDUP_SLOTS / 2)
		dedup_remove(rt, rt->dedup_ring[rt->dedup_next]);
	rt->dedup_hash[dedup_find(rt, h)] = h;
	rt->dedup_ring[rt->dedup_next] = h;
	rt->dedup_next = (rt->dedup_next + 1) % (DEDUP_SLOTS / 2);
	rt->dedup_count++;
}

int sup_router_init(struct sup *s)
{
	struct sup_router *rt = calloc(1, sizeof(*rt));

	if (!rt || jb_siphash_key_random(&rt->key) < 0 ||
	    (!s->bpf && jb_siphash_key_random((struct jb_sipkey *)(void *)rt->uuid_key) < 0) ||
	    !(rt->backlog = calloc(BACKLOG_MAX, sizeof(*rt->backlog))) ||
	    !(rt->limits = sup_limits_new()) || !(rt->drops = sup_drops_new()) ||
	    !(rt->tally = sup_tally_new())) {
		if (rt) {
			free(rt->backlog);
			sup_limits_free(rt->limits);
			sup_drops_free(rt->drops);
		}
		free(rt);
		return -1;
	}
	rt->next_seq = 1;
	/* from the maps' seed, so a supervisor resuming them gives a record
	 * the uuid its predecessor gave it; random without BPF (tests) */
	if (s->bpf) {
		memcpy(rt->uuid_key, "jibril-event-uuid-v1", 20);
		memcpy(rt->uuid_key + 20, &s->bpf->seed, sizeof(s->bpf->seed));
	}
	s->rt = rt;
	return 0;
}

uint64_t sup_router_last_seq(const struct sup *s)
{
	return s->rt->next_seq - 1;
}

uint64_t sup_router_settled(const struct sup *s)
{
	uint64_t m = s->rt->next_seq - 1;

	for (int i = 0; i < s->nprocs; i++)
		if (is_printer(&s->procs[i]) && s->procs[i].state != ST_DISABLED &&
		    s->rt->printed_seq[i] < m)
			m = s->rt->printed_seq[i];
	return m;
}

/* A detection's uuid from what it is about: HMAC-SHA256 under a key from
 * the maps' seed of its kind and dedup key (the task's image, the file or
 * flow: the record's identity), shaped as an RFC 9562 version-8 UUID. The
 * same record gives the same uuid in a supervisor that resumed the pinned
 * maps, so a repeat after a crash is one a receiver can drop. */
static void record_uuid(const struct sup_router *rt, const char *kind, const char *dedup_key,
			char out[JB_UUID_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE], msg[IPC_NAME_MAX + 256];
	unsigned int mdlen = 0;
	size_t kl = strnlen(kind, IPC_NAME_MAX), dl = strnlen(dedup_key, 255);

	memcpy(msg, kind, kl);
	msg[kl] = '\0';
	memcpy(msg + kl + 1, dedup_key, dl);
	if (!HMAC(EVP_sha256(), rt->uuid_key, sizeof(rt->uuid_key), msg, kl + 1 + dl, md, &mdlen))
		memset(md, 0, sizeof(md));
	md[6] = (unsigned char)((md[6] & 0x0f) | 0x80); /* version 8 */
	md[8] = (unsigned char)((md[8] & 0x3f) | 0x80); /* the RFC's variant */
	snprintf(out, JB_UUID_LEN + 1,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", md[0],
		 md[1], md[2], md[3], md[4], md[5], md[6], md[7], md[8], md[9], md[10], md[11],
		 md[12], md[13], md[14], md[15]);
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
	sup_drops_free(rt->drops);
	sup_tally_free(rt->tally);
	free(rt);
	s->rt = NULL;
}

static struct line *bl_at(const struct sup_router *rt, size_t i)
{
	return rt->backlog[(rt->bl_head + i) % BACKLOG_MAX];
}

/* The line numbered seq, or NULL when it is not in the backlog. */
static struct line *bl_seq(const struct sup_router *rt, uint64_t seq)
{
	if (!rt->bl_len || seq < bl_at(rt, 0)->seq || seq - bl_at(rt, 0)->seq >= rt->bl_len)
		return NULL;
	return bl_at(rt, (size_t)(seq - bl_at(rt, 0)->seq));
}

static size_t charge(const struct line *l)
{
	return l->gone ? line_cost(0) : line_cost(l->len);
}

static void bl_pop(struct sup_router *rt)
{
	struct line *l = bl_at(rt, 0);

	rt->bl_bytes -= charge(l);
	rt->owner_bytes[l->owner] -= charge(l);
	rt->owner_lines[l->owner]--;
	free(l);
	rt->bl_head = (rt->bl_head + 1) % BACKLOG_MAX;
	rt->bl_len--;
}

/* Nothing to hand printer kind k: a tombstone, or a line not for it. */
static int skipped_for(const struct line *l, const struct jb_kind *k)
{
	return l->gone || (l->except && l->except == k);
}

/* A printer acknowledges in order: tombstones (and lines not for it)
 * right after what it acknowledged, and that it was handed, count as
 * acknowledged. */
static void skip_gone(struct sup_router *rt, int i, const struct jb_kind *k)
{
	struct line *l;

	while (rt->printed_seq[i] < rt->sent_seq[i] && (l = bl_seq(rt, rt->printed_seq[i] + 1)) &&
	       skipped_for(l, k))
		rt->printed_seq[i]++;
}

/* Drop lines every printer has acknowledged. */
static void bl_trim(struct sup *s)
{
	struct sup_router *rt = s->rt;
	uint64_t settled = sup_router_settled(s);

	while (rt->bl_len && bl_at(rt, 0)->seq <= settled)
		bl_pop(rt);
}

/* Hand printer p what it has not been handed yet (at most PER_PUMP_MAX,
 * and no more than its window of queued bytes). */
static void pump_one(struct sup *s, struct sup_proc *p, const struct budget *b)
{
	struct sup_router *rt = s->rt;
	int sent = 0, i = p->index;

	/* a retiring printer is to be replaced (outfile.c): nothing more */
	if (!is_printer(p) || p->state != ST_READY || !p->peer || p->retiring)
		return;
	/* sequence numbers are contiguous in the backlog: start right after
	 * what this printer was last handed */
	size_t k = rt->bl_len && rt->sent_seq[i] >= bl_at(rt, 0)->seq
			   ? rt->sent_seq[i] + 1 - bl_at(rt, 0)->seq
			   : 0;
	for (; k < rt->bl_len && sent < PER_PUMP_MAX; k++) {
		struct line *l = bl_at(rt, k);
		int n;

		if (skipped_for(l, p->kind)) {
			rt->sent_seq[i] = l->seq; /* nothing to hand */
			continue;
		}
		n = ipc_enc_print(rt->sendbuf, sizeof(rt->sendbuf), l->seq, l->json, l->len);
		if (n < 0 || (p->peer->queued_bytes && p->peer->queued_bytes + (size_t)n > b->window) ||
		    ipc_peer_send(p->peer, rt->sendbuf, (size_t)n) < 0)
			break; /* window or queue full: the next ack pumps again */
		rt->sent_seq[i] = l->seq;
		sent++;
	}
	skip_gone(rt, i, p->kind);
}

void sup_router_pump(struct sup *s)
{
	struct budget b;

	budget(s, &b);
	for (int i = 0; i < s->nprocs; i++)
		pump_one(s, &s->procs[i], &b);
}

static const char *owner_name(const struct sup *s, int owner)
{
	return owner == AGENT_OWNER ? "agent" : s->procs[owner].kind->name;
}

static int fits(const struct sup_router *rt, int owner, size_t cost, const struct budget *b)
{
	return rt->owner_bytes[owner] + cost <= b->share &&
	       rt->owner_lines[owner] < b->share_lines && rt->bl_len < BACKLOG_MAX;
}

/* Under pressure: owner's lines that some printer already printed become
 * tombstones for the printers still behind (oldest first), until a line
 * of cost fits in its share. Lines no printer has printed are never
 * touched: those are only ever refused at the door. */
static void evict_printed(struct sup *s, int owner, size_t cost, const struct budget *b)
{
	struct sup_router *rt = s->rt;
	uint64_t max_acked = 0;

	for (int i = 0; i < s->nprocs; i++)
		if (is_printer(&s->procs[i]) && rt->printed_seq[i] > max_acked)
			max_acked = rt->printed_seq[i];
	for (size_t k = 0; k < rt->bl_len && !fits(rt, owner, cost, b); k++) {
		struct line *l = bl_at(rt, k), *small;

		if (l->seq > max_acked)
			break;
		if (l->owner != owner || l->gone)
			continue;
		for (int i = 0; i < s->nprocs; i++) {
			struct sup_proc *p = &s->procs[i];
			if (is_printer(p) && p->state != ST_DISABLED && rt->printed_seq[i] < l->seq &&
			    sup_drops_count(rt->drops, p->kind->name, SUP_DROP_BEHIND, b->share))
				sup_warn_loss(s, "printer_behind",
					      "%s is behind: alert %llu of %s (printed by another "
					      "printer) dropped for it to make room; counted, reported "
					      "in a data_loss event",
					      p->kind->name, (unsigned long long)l->seq,
					      owner_name(s, owner));
		}
		rt->bl_bytes -= charge(l);
		rt->owner_bytes[owner] -= charge(l);
		l->gone = 1;
		l->len = 0;
		rt->bl_bytes += charge(l);
		rt->owner_bytes[owner] += charge(l);
		if ((small = realloc(l, line_cost(0))))
			rt->backlog[(rt->bl_head + k) % BACKLOG_MAX] = small;
	}
}

static void count_drop(struct sup *s, int owner, const char *kind, const struct budget *b)
{
	struct sup_router *rt = s->rt;
	const char *who = owner_name(s, owner);

	if (rt->retry_later)
		return; /* a data_loss event: its counts stay for the next summary */
	if (sup_drops_count(rt->drops, who, SUP_DROP_SHARE, b->share))
		sup_warn_loss(s, "backlog_share_full", "%s: %s dropped: its share of the alert backlog (%zu bytes, %zu lines of "
			  "[agent] backlog_bytes %u) is full, the printers are behind; further drops "
			  "are counted and reported in a data_loss event",
			  who, kind ? kind : "agent event", b->share, b->share_lines,
			  s->cfg.backlog_bytes);
}

/* Queue one line from producer owner (kind NULL: an event of the agent
 * itself: no recipe, no limits). 0 when it was queued or rightly dropped
 * (a duplicate, a suppression), -1 when it was lost (counted). */
static int enqueue(struct sup *s, int owner, const char *kind, const char *dedup_key,
		   const char *json, size_t len, const char *limits, const char *uuid)
{
	struct sup_router *rt = s->rt;
	const struct recipe *r = kind ? rcp_find(&s->recipes.set, kind) : NULL;
	uint64_t h = keyed(rt, kind ? kind : "agent", dedup_key);
	size_t cost = line_cost(len);
	struct budget b;
	struct line *l;

	if (dedup_has(rt, h)) {
		rt->dropped_dups++;
		log_debug("duplicate %s %s dropped", kind ? kind : "agent", dedup_key);
		return 0;
	}
	budget(s, &b);
	if (!fits(rt, owner, cost, &b))
		evict_printed(s, owner, cost, &b);
	if (!fits(rt, owner, cost, &b)) {
		/* before dedup and limits: a later copy must still get through */
		count_drop(s, owner, kind, &b);
		return -1;
	}
	if (!(l = malloc(cost))) {
		if (!rt->retry_later &&
		    sup_drops_add(rt->drops, "agent", "router_memory", "detections", 1, 0, NULL))
			sup_warn_loss(s, "router_memory", "out of memory: alert %s dropped",
				      kind ? kind : dedup_key);
		return -1;
	}
	dedup_add(rt, h);
	if (r && !sup_limits_check(rt->limits, r, limits)) {
		log_debug("%s %s suppressed by its times limit", kind, dedup_key);
		sup_tally_add(rt->tally, kind, SUP_TALLY_SUPPRESSED);
		free(l);
		return 0;
	}
	if (r)
		sup_tally_add(rt->tally, kind, SUP_TALLY_ACCEPTED);
	l->seq = rt->next_seq++;
	l->len = len;
	l->owner = owner;
	l->gone = 0;
	l->except = rt->except;
	memcpy(l->json, json, len);
	l->json[len] = '\0';
	if (uuid) /* in place of the worker's: sup_router_detection checked the room */
		memcpy(l->json + sizeof(UUID_PRE) - 1, uuid, JB_UUID_LEN);
	rt->backlog[(rt->bl_head + rt->bl_len) % BACKLOG_MAX] = l;
	rt->bl_len++;
	rt->bl_bytes += cost;
	rt->owner_bytes[owner] += cost;
	rt->owner_lines[owner]++;
	/* the audit log keeps every tamper detection let through (one
	 * suppressed by its times limit is in the suppressed_detections
	 * summary, itself printed) */
	if (r && r->mech == RCP_TAMPER)
		sup_audit_detection(s, kind, l->json);
	sup_router_pump(s);
	return 0;
}

int sup_router_detection(struct sup *s, struct sup_proc *p, const char *kind,
			 const char *dedup_key, const char *json, size_t len, const char *limits,
			 const char **why)
{
	struct sup_router *rt = s->rt;
	const struct recipe *r = rcp_find(&s->recipes.set, kind);
	char uuid[JB_UUID_LEN + 1];

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
	if (len < sizeof(UUID_PRE) + JB_UUID_LEN || memcmp(json, UUID_PRE, sizeof(UUID_PRE) - 1) ||
	    json[sizeof(UUID_PRE) - 1 + JB_UUID_LEN] != '"') {
		*why = "DETECTION whose event does not begin with its uuid";
		return -1;
	}
	record_uuid(rt, kind, dedup_key, uuid);
	enqueue(s, p->index, kind, dedup_key, json, len, limits, uuid);
	return 0;
}

/* Queue one event of the agent itself (a JSON object). Its uuid is given
 * here, as the first key like a worker's: the line is kept and handed
 * again as it is, so a repeat to a restarted printer carries the same
 * uuid, which a receiver (an HTTPS endpoint, a NATS message id) drops it
 * by. As enqueue. */
static int enqueue_agent(struct sup *s, const char *dedup_key, const char *json, size_t len)
{
	static const char pre[] = "{\"uuid\":\"";
	char uuid[JB_UUID_LEN + 1], *line;
	size_t n;
	int rc;

	if (len < 2 || json[0] != '{' || json[len - 1] != '}' || !strncmp(json, pre, sizeof(pre) - 1))
		return enqueue(s, AGENT_OWNER, NULL, dedup_key, json, len, NULL, NULL);
	if (!(line = malloc(sizeof(pre) + JB_UUID_LEN + len + 2))) {
		if (!s->rt->retry_later &&
		    sup_drops_add(s->rt->drops, "agent", "router_memory", "detections", 1, 0, NULL))
			sup_warn_loss(s, "router_memory", "out of memory: agent event %s dropped",
				      dedup_key);
		return -1;
	}
	jb_uuid4(uuid);
	n = (size_t)sprintf(line, "%s%s\"%s", pre, uuid, json[1] == '}' ? "" : ",");
	memcpy(line + n, json + 1, len - 1);
	n += len - 1;
	line[n] = '\0';
	rc = enqueue(s, AGENT_OWNER, NULL, dedup_key, line, n, NULL, NULL);
	free(line);
	return rc;
}

static void emit_summary(void *arg, const char *dedup_key, const char *json, size_t len)
{
	enqueue_agent(arg, dedup_key, json, len);
}

void sup_router_agent_event(struct sup *s, const char *dedup_key, const char *json)
{
	if (enqueue_agent(s, dedup_key, json, strlen(json)) == 0)
		sup_router_pump(s);
}

int sup_router_agent_event_except(struct sup *s, const char *dedup_key, const char *json,
				  const struct jb_kind *except)
{
	int rc;

	/* not a detection: one the cap refuses is its caller's to log, not
	 * a loss to count */
	s->rt->except = except;
	s->rt->retry_later = 1;
	rc = enqueue_agent(s, dedup_key, json, strlen(json));
	s->rt->retry_later = 0;
	s->rt->except = NULL;
	if (rc == 0)
		sup_router_pump(s);
	return rc;
}

static int emit_drops(void *arg, const char *dedup_key, const char *json, size_t len)
{
	struct sup *s = arg;
	int rc;

	s->rt->retry_later = 1;
	rc = enqueue_agent(s, dedup_key, json, len);
	s->rt->retry_later = 0;
	return rc;
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
	n = sup_drops_summary(s->rt->drops, s->hostname, emit_drops, s);
	if (n)
		log_warnx("%zu data_loss reports printed", n);
}

size_t sup_router_bytes(const struct sup *s, int owner)
{
	const struct sup_router *rt = s->rt;
	size_t n = 0;

	if (owner >= 0)
		return owner <= AGENT_OWNER ? rt->owner_bytes[owner] : 0;
	for (int i = 0; i < s->nprocs; i++)
		if (is_printer(&s->procs[i]) && s->procs[i].peer)
			n += s->procs[i].peer->queued_bytes;
	return rt->bl_bytes + n;
}

uint64_t sup_router_dropped(const struct sup *s, const char *who)
{
	return sup_drops_total(s->rt->drops, who, SUP_DROP_SHARE) +
	       sup_drops_total(s->rt->drops, who, SUP_DROP_BEHIND);
}

int sup_router_loss(struct sup *s, struct sup_proc *p, const char *cause, uint64_t count,
		    const char *detail)
{
	char d[IPC_DETAIL_MAX + 1];

	/* the printer's words, into the log and an event: made printable */
	snprintf(d, sizeof(d), "%s", detail);
	jb_text_printable(d);
	if (sup_drops_add_reported(s->rt->drops, p->kind->name, cause, count, d))
		sup_warn_loss(s, "printer_loss", "%s lost %llu detections (%s)%s%s; further losses "
			      "of this cause are counted and reported in a data_loss event",
			      p->kind->name, (unsigned long long)count, cause, d[0] ? ": " : "", d);
	else
		sup_audit_loss(s, "printer_loss", "%s lost %llu detections (%s)%s%s", p->kind->name,
			       (unsigned long long)count, cause, d[0] ? ": " : "", d);
	return 0;
}

uint64_t sup_router_lost(const struct sup *s, const char *who, const char *cause)
{
	return sup_drops_total_of(s->rt->drops, who, cause);
}

int sup_router_count_loss(struct sup *s, const char *who, const char *cause, const char *unit,
			  uint64_t n, const char *detail)
{
	if (!s->rt)
		return 0; /* a test's supervisor without a router */
	return sup_drops_add(s->rt->drops, who, cause, unit, n, 0, detail);
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
	skip_gone(rt, p->index, p->kind);
	bl_trim(s);
	sup_router_pump(s);
	return 0;
}

size_t sup_router_drain(struct sup *s, struct sup_proc *p)
{
	struct sup_router *rt = s->rt;
	struct budget b;
	size_t left = 0;

	budget(s, &b);
	pump_one(s, p, &b);
	for (size_t k = rt->bl_len; k > 0 && bl_at(rt, k - 1)->seq > rt->printed_seq[p->index];
	     k--)
		left += !skipped_for(bl_at(rt, k - 1), p->kind);
	return left;
}

uint64_t sup_router_in_hand(const struct sup *s, const struct sup_proc *p)
{
	return s->rt->sent_seq[p->index] - s->rt->printed_seq[p->index];
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
			sup_drops_add(rt->drops, p->kind->name, "printer_poison", "detections", 1, 0,
				      NULL);
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

void sup_router_backlog(const struct sup *s, uint64_t *lines, uint64_t *bytes)
{
	*lines = s->rt ? s->rt->bl_len : 0;
	*bytes = s->rt ? s->rt->bl_bytes : 0;
}

/* Lines after its last acknowledgement (lines dropped for it under
 * pressure and not yet trimmed included: a bound, cheap). */
uint64_t sup_router_unacked(const struct sup *s, const struct sup_proc *p)
{
	const struct sup_router *rt = s->rt;

	return rt && rt->next_seq - 1 > rt->printed_seq[p->index]
		       ? rt->next_seq - 1 - rt->printed_seq[p->index] : 0;
}

void sup_router_each_kind(const struct sup *s,
			  void (*fn)(void *arg, const char *kind, uint64_t accepted,
				     uint64_t suppressed), void *arg)
{
	if (s->rt)
		sup_tally_each(s->rt->tally, fn, arg);
}

void sup_router_each_loss(const struct sup *s,
			  void (*fn)(void *arg, const char *who, const char *cause,
				     uint64_t total), void *arg)
{
	if (s->rt)
		sup_drops_each(s->rt->drops, fn, arg);
}
