/*
 * drops.c - what the agent lost, made visible: counted per (who, cause)
 * and turned into `data_loss` events on the summary timer and at shutdown
 * (docs/EVENTS.md), like limits.c does for `suppressed_detections`. Who is
 * a kind, "agent" or "kernel"; the causes are the collector's (kernel
 * records evicted before any query, failed inserts, a snapshot skipped),
 * the router's (a backlog share full, a printer behind, a poison line
 * skipped) and whatever a printer reports in IPC_LOSS (a spool that
 * dropped its oldest, a batch given up). One event per (who, cause) and
 * period: an operator alerts on a cause, and no event grows with the
 * number of causes.
 *
 * Invariants:
 *  - bounded, and a printer cannot crowd out the agent's own causes: the
 *    built-in causes (kernel, collector, router: sup_drops_add) have
 *    DROP_BUILTIN_MAX entries of their own, more than their (who, cause)
 *    pairs can number; the causes printers report (sup_drops_add_reported,
 *    a compromised printer may invent any) have DROP_REPORTED_MAX, at most
 *    DROP_PER_KIND named ones per printer kind, past which that kind's
 *    losses are counted under its own cause "other" (the cause it gave in
 *    the detail). A loss that still finds no room is counted under the one
 *    entry ("agent", "unclassified") kept aside for that, its who and cause
 *    in the detail: never dropped.
 *  - counts saturate at UINT64_MAX and are written clamped to INT64_MAX
 *    (JSON integers are signed): never negative.
 *  - a period's counts are cleared only when its event was kept by the
 *    router: an event that does not fit is retried at the next summary, so
 *    a loss is never forgotten, only reported late.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "common/kind.h"
#include "common/text.h"
#include "ipc/msg.h"
#include "supervisor/drops.h"

/* the built-in causes' (who, cause) pairs: 5 kernel ones, 3 of the agent,
 * and at most 2 per kind (a worker's backlog_share_full and
 * snapshot_skipped, a printer's printer_behind and printer_poison) */
#define DROP_BUILTIN_MAX 64
#define DROP_PER_KIND 8		/* named causes one printer kind may report */
#define DROP_REPORTED_MAX (JB_KINDS_MAX * (DROP_PER_KIND + 1)) /* and its "other" */
#define DROP_MAX (DROP_BUILTIN_MAX + DROP_REPORTED_MAX)

struct drop {
	char who[IPC_NAME_MAX];
	char cause[IPC_CAUSE_MAX + 1];
	char unit[16];
	int reported;		/* made by a printer's report (its pool) */
	uint64_t count;		/* since the last report that was kept */
	uint64_t total;
	uint64_t limit;		/* bytes, at the last loss (0: none) */
	int64_t first_ns, last_ns;
	char detail[IPC_DETAIL_MAX + 1];
};

struct sup_drops {
	struct drop e[DROP_MAX];
	size_t n, nbuiltin, nreported;
	struct drop unclassified; /* what found no room in e[] */
	uint64_t seq;
};

static const char *const why_name[SUP_DROP_WHY_MAX] = {
	[SUP_DROP_SHARE] = "backlog_share_full",
	[SUP_DROP_BEHIND] = "printer_behind",
};

struct sup_drops *sup_drops_new(void)
{
	struct sup_drops *d = calloc(1, sizeof(struct sup_drops));

	if (d) {
		snprintf(d->unclassified.who, sizeof(d->unclassified.who), "agent");
		snprintf(d->unclassified.cause, sizeof(d->unclassified.cause), "unclassified");
	}
	return d;
}

void sup_drops_free(struct sup_drops *d)
{
	free(d);
}

static int64_t real_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static struct drop *find(const struct sup_drops *d, const char *who, const char *cause)
{
	for (size_t i = 0; i < d->n; i++)
		if (!strcmp(d->e[i].cause, cause) && !strcmp(d->e[i].who, who))
			return (struct drop *)&d->e[i];
	return NULL;
}

/* A new entry from the built-in or the reported pool, or NULL when that
 * pool is full. */
static struct drop *make(struct sup_drops *d, const char *who, const char *cause, int reported)
{
	struct drop *e;

	if (reported ? d->nreported == DROP_REPORTED_MAX : d->nbuiltin == DROP_BUILTIN_MAX)
		return NULL;
	if (reported)
		d->nreported++;
	else
		d->nbuiltin++;
	e = &d->e[d->n++];
	snprintf(e->who, sizeof(e->who), "%s", who);
	snprintf(e->cause, sizeof(e->cause), "%s", cause);
	e->reported = reported;
	return e;
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static int count(struct drop *e, const char *unit, uint64_t n, uint64_t limit, const char *detail)
{
	int64_t now = real_ns();
	int first = e->count == 0;

	if (first)
		e->first_ns = now;
	e->last_ns = now;
	e->limit = limit;
	snprintf(e->unit, sizeof(e->unit), "%s", unit);
	if (detail) {
		/* a cut may split a UTF-8 sequence, and json_pack refuses it */
		snprintf(e->detail, sizeof(e->detail), "%s", detail);
		jb_utf8_fix(e->detail);
	}
	e->count = add_sat(e->count, n);
	e->total = add_sat(e->total, n);
	return first;
}

/* No room: under ("agent", "unclassified"), who and cause in the detail. */
static int unclassified(struct sup_drops *d, const char *who, const char *cause, const char *unit,
			uint64_t n, uint64_t limit, const char *detail)
{
	char what[IPC_DETAIL_MAX + 1];

	snprintf(what, sizeof(what), "%.63s %.31s: %s", who, cause, detail ? detail : "");
	return count(&d->unclassified, unit, n, limit, what);
}

int sup_drops_add(struct sup_drops *d, const char *who, const char *cause, const char *unit,
		  uint64_t n, uint64_t limit, const char *detail)
{
	struct drop *e;

	if (!n)
		return 0;
	if (!(e = find(d, who, cause)) && !(e = make(d, who, cause, 0)))
		return unclassified(d, who, cause, unit, n, limit, detail);
	return count(e, unit, n, limit, detail);
}

int sup_drops_add_reported(struct sup_drops *d, const char *who, const char *cause, uint64_t n,
			   const char *detail)
{
	char what[IPC_DETAIL_MAX + 1];
	struct drop *e;
	size_t named = 0;

	if (!n)
		return 0;
	if ((e = find(d, who, cause)))
		return count(e, "detections", n, 0, detail);
	for (size_t i = 0; i < d->n; i++)
		named += d->e[i].reported && !strcmp(d->e[i].who, who) &&
			 strcmp(d->e[i].cause, "other");
	if (named < DROP_PER_KIND && strcmp(cause, "other") && (e = make(d, who, cause, 1)))
		return count(e, "detections", n, 0, detail);
	/* past its named causes: the kind's own "other", the cause in the detail */
	snprintf(what, sizeof(what), "%.31s: %s", cause, detail ? detail : "");
	if (!(e = find(d, who, "other")) && !(e = make(d, who, "other", 1)))
		return unclassified(d, who, cause, "detections", n, 0, detail);
	return count(e, "detections", n, 0, what);
}

int sup_drops_count(struct sup_drops *d, const char *who, enum sup_drop_why why, uint64_t limit)
{
	return sup_drops_add(d, who, why_name[why], "detections", 1, limit, NULL);
}

uint64_t sup_drops_total_of(const struct sup_drops *d, const char *who, const char *cause)
{
	struct drop *e = find(d, who, cause);
	return e ? e->total : 0;
}

uint64_t sup_drops_total(const struct sup_drops *d, const char *who, enum sup_drop_why why)
{
	return sup_drops_total_of(d, who, why_name[why]);
}

void sup_drops_each(const struct sup_drops *d,
		    void (*fn)(void *arg, const char *who, const char *cause, uint64_t total),
		    void *arg)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->e[i].total)
			fn(arg, d->e[i].who, d->e[i].cause, d->e[i].total);
	if (d->unclassified.total)
		fn(arg, d->unclassified.who, d->unclassified.cause, d->unclassified.total);
}

/* The event's name: what was lost, in words (a printer's own causes share
 * one). */
static const char *name_of(const char *cause)
{
	static const struct {
		const char *cause, *name;
	} names[] = {
		{"kernel_evicted", "Records lost: evicted from a kernel map before any query saw them"},
		{"kernel_insert_failed", "Records lost: a kernel map insert failed"},
		{"kernel_file_evicted", "Records lost: a changed link's file was evicted first"},
		{"kernel_path_unreadable", "Records lost: a path the kernel could not read"},
		{"snapshot_room", "Records lost: more tamper records than a snapshot holds"},
		{"snapshot_skipped", "Records not examined: a snapshot skipped for a worker kind"},
		{"not_resumed", "Records not examined: the maps a previous supervisor left were "
				"replaced, not resumed"},
		{"backlog_share_full", "Detections dropped: the alert backlog share was full"},
		{"printer_behind", "Detections dropped for a printer that lagged behind"},
		{"printer_poison", "Detection skipped by a printer that kept failing on it"},
		{"router_memory", "Detections dropped: out of memory"},
		{"unclassified", "Losses with no room in the loss table to be named"},
		{"other", "Detections lost by a printer (a cause past the ones it may name)"},
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(names[i].cause, cause))
			return names[i].name;
	return "Detections lost by a printer";
}

/* JSON integers are signed: a saturated count is written as INT64_MAX */
static json_int_t clamp(uint64_t v)
{
	return v > (uint64_t)INT64_MAX ? (json_int_t)INT64_MAX : (json_int_t)v;
}

static int report(struct sup_drops *d, struct drop *e, const char *hostname, const char *now,
		  sup_drops_emit_fn emit, void *arg)
{
	char since[64], until[64], dedup[64];
	json_t *ev;
	char *out;
	int rc;

	jb_iso_time(e->first_ns, since, sizeof(since));
	jb_iso_time(e->last_ns, until, sizeof(until));
	ev = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:s}",
		       "timestamp", now, "kind", "data_loss", "name", name_of(e->cause),
		       "mechanism", "agent", "importance", "high", "hostname", hostname, "cause",
		       e->cause, "who", e->who, "count", clamp(e->count), "count_total",
		       clamp(e->total), "unit", e->unit, "since", since, "until", until);
	if (ev && e->limit)
		json_object_set_new(ev, "limit_bytes", json_integer(clamp(e->limit)));
	if (ev && e->detail[0])
		json_object_set_new(ev, "detail", json_string(e->detail));
	if (!ev)
		return -1;
	out = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(ev);
	if (!out)
		return -1;
	snprintf(dedup, sizeof(dedup), "loss/%llu", (unsigned long long)++d->seq);
	rc = emit(arg, dedup, out, strlen(out));
	free(out);
	if (rc == 0)
		e->count = 0;
	return rc;
}

size_t sup_drops_summary(struct sup_drops *d, const char *hostname, sup_drops_emit_fn emit,
			 void *arg)
{
	char now[64];
	size_t kept = 0;

	jb_iso_time(real_ns(), now, sizeof(now));
	for (size_t i = 0; i < d->n; i++)
		if (d->e[i].count && report(d, &d->e[i], hostname, now, emit, arg) == 0)
			kept++;
	if (d->unclassified.count && report(d, &d->unclassified, hostname, now, emit, arg) == 0)
		kept++;
	return kept;
}
