/*
 * drops.h - what the agent lost, counted per (who, cause) and reported as
 * `data_loss` events on the summary timer (drops.c).
 */
#ifndef JB_SUP_DROPS_H
#define JB_SUP_DROPS_H

#include <stddef.h>
#include <stdint.h>

/* Why the router dropped an alert (the event's cause). */
enum sup_drop_why {
	SUP_DROP_SHARE = 0,	/* its producer's share of the backlog was full: printed nowhere */
	SUP_DROP_BEHIND,	/* evicted for a printer that lagged; other printers had printed it */
	SUP_DROP_WHY_MAX,
};

struct sup_drops;
struct sup_drops *sup_drops_new(void);
void sup_drops_free(struct sup_drops *d);

/* n things lost by who (a kind, "agent" or "kernel") for cause, one of
 * the agent's own (1..31 bytes of [a-z0-9_]; docs/EVENTS.md lists them). unit says what n counts ("detections", "records",
 * "snapshots"); limit is a size in bytes the event reports (0: none);
 * detail (NULL: none) is kept, the last of the period, for the event.
 * Returns 1 when it is the first of its (who, cause) since the last report
 * (the caller logs that one), else 0. n == 0 does nothing and returns 0. */
int sup_drops_add(struct sup_drops *d, const char *who, const char *cause, const char *unit,
		  uint64_t n, uint64_t limit, const char *detail);
/* n detections a printer kind (who) reported lost for cause, a name it
 * chose (IPC_LOSS): counted in the printers' own part of the table, at
 * most 8 named causes per kind, the rest under its cause "other" (the
 * cause it gave leads the detail). As sup_drops_add. */
int sup_drops_add_reported(struct sup_drops *d, const char *who, const char *cause, uint64_t n,
			   const char *detail);
/* One alert dropped by the router: who is the worker kind that produced it
 * ("agent" for the agent's own events) for SUP_DROP_SHARE, the printer
 * kind that lost it for SUP_DROP_BEHIND; limit: the share or cap in bytes.
 * As sup_drops_add. */
int sup_drops_count(struct sup_drops *d, const char *who, enum sup_drop_why why, uint64_t limit);

/* emit() queues one event; it returns 0 when the event was kept, -1 when
 * it was not (its counts then stay for the next summary). */
typedef int (*sup_drops_emit_fn)(void *arg, const char *dedup_key, const char *json,
				 size_t len);
/* One `data_loss` event per (who, cause) with losses since the last
 * report that was kept; returns how many were kept. */
size_t sup_drops_summary(struct sup_drops *d, const char *hostname, sup_drops_emit_fn emit,
			 void *arg);
/* Everything lost since the start (tests, logs). */
uint64_t sup_drops_total(const struct sup_drops *d, const char *who, enum sup_drop_why why);
uint64_t sup_drops_total_of(const struct sup_drops *d, const char *who, const char *cause);
/* fn for every (who, cause) that lost anything since the start. */
void sup_drops_each(const struct sup_drops *d,
		    void (*fn)(void *arg, const char *who, const char *cause, uint64_t total),
		    void *arg);

#endif
