/*
 * detect.h - what the plugin workers share besides the recipe engine
 * (rcp/): the event builder.
 *
 * Each worker walks the records of a snapshot that changed since its last
 * acknowledged snapshot (which records: its kind's row, common/kind.h) and
 * asks each of its recipes (rcp/recipe.h) whether it matches; a match
 * becomes an event (event.c).
 */
#ifndef JB_DETECT_H
#define JB_DETECT_H

#include <stddef.h>
#include <stdint.h>

#include "bpf/jibril.h"

struct recipe;
/* Build the JSON event for a match (event.c). Returns a malloc'd
 * NUL-terminated line (no newline) or NULL. obj_key goes into dedup_key. */
struct jb_snap_view;
struct jb_snap_file;
struct jb_kind;
struct wrk_event_ctx {
	const char *hostname;
	const char *boot_id;
	int64_t mono_to_real_ns; /* add to CLOCK_MONOTONIC ns to get realtime */
	int64_t boot_real_ns;	 /* realtime of boot, for start ticks */
	/* the kind table, to name the agent process a tamper record's
	 * target_row points at (may be NULL) */
	const struct jb_kind *kinds;
	size_t nkinds;
};
struct rcp_subject;
char *wrk_event_json(const struct wrk_event_ctx *ctx, const struct recipe *r,
		     const struct rcp_subject *s, const struct jb_snap_file *file,
		     uint64_t event_ns);

/* The router's dedup key of a detection (event.c): the task's key and
 * obj_key (the file, flow or tamper record), and for a tamper record its
 * last_ns, so a repeat after a query is a new detection (its times limits
 * summarise a persistent attacker; the dedup only drops what a restarted
 * worker reports again). */
void wrk_dedup_key(const struct rcp_subject *s, uint64_t obj_key, char *out, size_t len);

#endif
