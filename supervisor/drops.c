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
 *  - bounded: at most DROP_MAX entries. A loss whose (who, cause) finds no
 *    room (a printer inventing causes) is still counted, under the one
 *    entry ("agent", "unclassified") kept aside for that, its who and cause
 *    in the detail: never dropped.
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

#define DROP_MAX 128

struct drop {
	char who[IPC_NAME_MAX];
	char cause[IPC_CAUSE_MAX + 1];
	char unit[16];
	uint64_t count;		/* since the last report that was kept */
	uint64_t total;
	uint64_t limit;		/* bytes, at the last loss (0: none) */
	int64_t first_ns, last_ns;
	char detail[IPC_DETAIL_MAX + 1];
};

struct sup_drops {
	struct drop e[DROP_MAX];
	size_t n;
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

static struct drop *find(struct sup_drops *d, const char *who, const char *cause, int create)
{
	struct drop *e;

	for (size_t i = 0; i < d->n; i++)
		if (!strcmp(d->e[i].cause, cause) && !strcmp(d->e[i].who, who))
			return &d->e[i];
	if (!create || d->n == DROP_MAX)
		return NULL;
	e = &d->e[d->n++];
	snprintf(e->who, sizeof(e->who), "%s", who);
	snprintf(e->cause, sizeof(e->cause), "%s", cause);
	return e;
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

int sup_drops_add(struct sup_drops *d, const char *who, const char *cause, const char *unit,
		  uint64_t n, uint64_t limit, const char *detail)
{
	struct drop *e = find(d, who, cause, 1);
	char what[IPC_DETAIL_MAX + 1];
	int64_t now = real_ns();
	int first;

	if (!n)
		return 0;
	if (!e) {
		e = &d->unclassified;
		snprintf(what, sizeof(what), "%.63s %.31s: %s", who, cause, detail ? detail : "");
		detail = what;
	}
	first = e->count == 0;
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

int sup_drops_count(struct sup_drops *d, const char *who, enum sup_drop_why why, uint64_t limit)
{
	return sup_drops_add(d, who, why_name[why], "detections", 1, limit, NULL);
}

uint64_t sup_drops_total_of(const struct sup_drops *d, const char *who, const char *cause)
{
	struct drop *e = find((struct sup_drops *)d, who, cause, 0);
	return e ? e->total : 0;
}

uint64_t sup_drops_total(const struct sup_drops *d, const char *who, enum sup_drop_why why)
{
	return sup_drops_total_of(d, who, why_name[why]);
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
		{"backlog_share_full", "Detections dropped: the alert backlog share was full"},
		{"printer_behind", "Detections dropped for a printer that lagged behind"},
		{"printer_poison", "Detection skipped by a printer that kept failing on it"},
		{"router_memory", "Detections dropped: out of memory"},
		{"unclassified", "Losses with no room in the loss table to be named"},
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(names[i].cause, cause))
			return names[i].name;
	return "Detections lost by a printer";
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
		       e->cause, "who", e->who, "count", (json_int_t)e->count, "count_total",
		       (json_int_t)e->total, "unit", e->unit, "since", since, "until", until);
	if (ev && e->limit)
		json_object_set_new(ev, "limit_bytes", json_integer((json_int_t)e->limit));
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
