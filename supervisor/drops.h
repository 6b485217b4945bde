/*
 * drops.h - alerts the router could not keep, counted per producer or
 * printer and reported as `dropped_detections` events (drops.c).
 */
#ifndef JB_SUP_DROPS_H
#define JB_SUP_DROPS_H

#include <stddef.h>
#include <stdint.h>

/* Why an alert was dropped (the event's `reason`). */
enum sup_drop_why {
	SUP_DROP_SHARE = 0,	/* its producer's share of the backlog was full: printed nowhere */
	SUP_DROP_BEHIND,	/* evicted for a printer that lagged; other printers had printed it */
	SUP_DROP_WHY_MAX,
};

struct sup_drops;
struct sup_drops *sup_drops_new(void);
void sup_drops_free(struct sup_drops *d);

/* One alert dropped. who: the worker kind that produced it ("agent" for
 * the agent's own events) for SUP_DROP_SHARE, the printer kind that lost
 * it for SUP_DROP_BEHIND; limit: the share or cap in bytes, for the event.
 * Returns 1 when it is the first of its (who, why) since the last summary
 * (the caller logs that one), else 0. */
int sup_drops_count(struct sup_drops *d, const char *who, enum sup_drop_why why, uint64_t limit);

/* emit() queues one event; it returns 0 when the event was kept, -1 when
 * it was not (its counts then stay for the next summary). */
typedef int (*sup_drops_emit_fn)(void *arg, const char *dedup_key, const char *json,
				 size_t len);
/* One `dropped_detections` event per (who, why) with drops since the last
 * summary; returns how many were kept. */
size_t sup_drops_summary(struct sup_drops *d, const char *hostname, sup_drops_emit_fn emit,
			 void *arg);
/* Everything dropped since the start (tests, logs). */
uint64_t sup_drops_total(const struct sup_drops *d, const char *who, enum sup_drop_why why);

#endif
