/*
 * detect.h - the plugin workers' mechanisms and the helpers they share.
 *
 * Each worker walks the records of a snapshot that changed since its last
 * acknowledged snapshot and asks each of its recipes (recipe.h) whether it
 * matches; the matchers are pure functions of the records.
 */
#ifndef JB_DETECT_H
#define JB_DETECT_H

#include <stddef.h>
#include <stdint.h>

#include "bpf/jibril.h"

enum wrk_source { WRK_SRC_LINKS, WRK_SRC_EXECS, WRK_SRC_FLOWS };

/* A plugin worker: which records it walks. Its detections are the recipes
 * (recipe.h) whose mechanism runs in it (rcp_mech_worker). */
struct wrk_mechanism {
	const char *name;	/* worker kind: file_access, execution, network */
	enum wrk_source source;
};

extern const struct wrk_mechanism wrk_file_access;
extern const struct wrk_mechanism wrk_execution;
extern const struct wrk_mechanism wrk_network;

struct recipe;
/* NULL for an unknown kind. */
const struct wrk_mechanism *wrk_mechanism_by_name(const char *name);

/* Build the JSON event for a match (event.c). Returns a malloc'd
 * NUL-terminated line (no newline) or NULL. obj_key goes into dedup_key. */
struct jb_snap_view;
struct jb_snap_file;
struct wrk_event_ctx {
	const char *hostname;
	const char *boot_id;
	int64_t mono_to_real_ns; /* add to CLOCK_MONOTONIC ns to get realtime */
	int64_t boot_real_ns;	 /* realtime of boot, for start ticks */
};
struct rcp_subject;
char *wrk_event_json(const struct wrk_event_ctx *ctx, const struct recipe *r,
		     const struct rcp_subject *s, const struct jb_snap_file *file,
		     uint64_t event_ns);

#endif
