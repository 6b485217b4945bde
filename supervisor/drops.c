/*
 * drops.c - what the router had to drop to stay within [agent]
 * backlog_bytes, made visible: counted per (producer or printer, reason),
 * and turned into `dropped_detections` events on the summary timer and at
 * shutdown (docs/EVENTS.md), like limits.c does for `suppressed_detections`.
 *
 * Invariants:
 *  - bounded: one entry per (name, reason); names are kind names (at most
 *    JB_KINDS_MAX of them) and "agent", so DROP_MAX entries always suffice;
 *    past that (a test's table) drops are still counted in `unnamed`.
 *  - a period's counts are cleared only when its event was kept by the
 *    router: an event that does not fit is retried at the next summary, so
 *    a drop is never forgotten, only reported late.
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

#define DROP_MAX (2 * (JB_KINDS_MAX + 1))

struct drop {
	char who[IPC_NAME_MAX];
	enum sup_drop_why why;
	uint64_t dropped;	/* since the last summary that was kept */
	uint64_t total;
	uint64_t limit;		/* bytes, at the last drop */
	int64_t first_ns, last_ns;
};

struct sup_drops {
	struct drop e[DROP_MAX];
	size_t n;
	uint64_t unnamed;
	uint64_t seq;
};

static const char *const why_name[SUP_DROP_WHY_MAX] = {
	[SUP_DROP_SHARE] = "backlog_share_full",
	[SUP_DROP_BEHIND] = "printer_behind",
};

struct sup_drops *sup_drops_new(void)
{
	return calloc(1, sizeof(struct sup_drops));
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

static struct drop *find(struct sup_drops *d, const char *who, enum sup_drop_why why, int create)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->e[i].why == why && !strcmp(d->e[i].who, who))
			return &d->e[i];
	if (!create || d->n == DROP_MAX)
		return NULL;
	snprintf(d->e[d->n].who, sizeof(d->e[d->n].who), "%s", who);
	d->e[d->n].why = why;
	return &d->e[d->n++];
}

int sup_drops_count(struct sup_drops *d, const char *who, enum sup_drop_why why, uint64_t limit)
{
	struct drop *e = find(d, who, why, 1);
	int64_t now = real_ns();

	if (!e) {
		d->unnamed++;
		return 0;
	}
	if (!e->dropped)
		e->first_ns = now;
	e->last_ns = now;
	e->limit = limit;
	e->total++;
	return e->dropped++ == 0;
}

uint64_t sup_drops_total(const struct sup_drops *d, const char *who, enum sup_drop_why why)
{
	struct drop *e = find((struct sup_drops *)d, who, why, 0);
	return e ? e->total : 0;
}

size_t sup_drops_summary(struct sup_drops *d, const char *hostname, sup_drops_emit_fn emit,
			 void *arg)
{
	char now[64], since[64], until[64], dedup[64];
	size_t kept = 0;

	jb_iso_time(real_ns(), now, sizeof(now));
	for (size_t i = 0; i < d->n; i++) {
		struct drop *e = &d->e[i];
		json_t *ev;
		char *out;

		if (!e->dropped)
			continue;
		jb_iso_time(e->first_ns, since, sizeof(since));
		jb_iso_time(e->last_ns, until, sizeof(until));
		ev = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:s}",
			       "timestamp", now, "kind", "dropped_detections", "name",
			       "Detections dropped: the alert backlog was full", "mechanism", "agent",
			       "importance", "high", "hostname", hostname, "reason",
			       why_name[e->why], e->why == SUP_DROP_SHARE ? "worker" : "printer",
			       e->who, "dropped", (json_int_t)e->dropped, "dropped_total",
			       (json_int_t)e->total, "limit_bytes", (json_int_t)e->limit, "since",
			       since, "until", until);
		if (!ev)
			continue;
		out = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
		json_decref(ev);
		if (!out)
			continue;
		snprintf(dedup, sizeof(dedup), "dropped/%llu", (unsigned long long)++d->seq);
		if (emit(arg, dedup, out, strlen(out)) == 0) {
			e->dropped = 0;
			kept++;
		}
		free(out);
	}
	return kept;
}
