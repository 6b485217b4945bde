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

struct rcp_set;
struct recipe;
/* The recipes whose files the kernel protects (set before the BPF load). */
void wrk_watch_set_recipes(const struct rcp_set *set);

/* Call add() for every path the kernel should protect: for each enabled
 * file_access recipe, each bases entry with both dir and base as one path
 * (the file may appear later), and the files now in each dir-only entry's
 * directory. Regex-only and base-only entries cannot be enumerated; their
 * files live in the ordinary maps. Returns the number of paths. */
int wrk_watch_paths(void (*add)(const char *path, void *arg), void *arg);

/* NULL for an unknown kind. */
const struct wrk_mechanism *wrk_mechanism_by_name(const char *name);

/* Path helpers for matchers. */
const char *wrk_basename(const char *path);

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
/* Stable process id: boot id + pid + start time, as 16 hex digits. */
void wrk_process_id(const char *boot_id, uint32_t pid, uint64_t start_ticks, char out[17]);

#endif
