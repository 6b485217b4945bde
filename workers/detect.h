/*
 * detect.h - detections as tables, one table per mechanism.
 *
 * Each mechanism's worker walks the records of a snapshot that changed
 * since its last acknowledged snapshot and asks each definition whether it
 * matches. The matchers are pure functions of the records (no I/O, no
 * state), so they are unit-testable and a later recipe engine can replace
 * the tables without touching the runtime.
 */
#ifndef JB_DETECT_H
#define JB_DETECT_H

#include <stddef.h>
#include <stdint.h>

#include "bpf/jibril.h"

struct wrk_def {
	const char *kind;	/* unique id, also the event name */
	const char *name;	/* human title */
	const char *importance;	/* low | medium | high | critical */
	const char *tactic;	/* MITRE ATT&CK tactic */
	const char *technique;	/* MITRE ATT&CK technique id and name */
	const char *description;
	/* file_access: a task<->file link with its accumulated actions */
	int (*match_link)(const struct jb_task *t, const char *path, uint32_t actions);
	/* execution: the task and the binary it executed */
	int (*match_exec)(const struct jb_task *t, const char *path);
	/* network: a flow and its task (NULL when unknown) */
	int (*match_flow)(const struct jb_task *t, const struct jb_flow *f);
	/* file_access: globs of the files this detection is about, NULL
	 * terminated; the kernel protects their records from eviction */
	const char *const *watch;
};

enum wrk_source { WRK_SRC_LINKS, WRK_SRC_EXECS, WRK_SRC_FLOWS };

struct wrk_mechanism {
	const char *name;	/* worker kind: file_access, execution, network */
	enum wrk_source source;
	const struct wrk_def *defs;
	size_t ndefs;
};

extern const struct wrk_mechanism wrk_file_access;
extern const struct wrk_mechanism wrk_execution;
extern const struct wrk_mechanism wrk_network;

/* Call add() for every path the kernel should protect: each watched glob
 * without wildcards as is (the file may appear later), and the files that
 * match the others now (glob(3)). Returns the number of paths. */
int wrk_watch_paths(void (*add)(const char *path, void *arg), void *arg);

/* NULL for an unknown kind. */
const struct wrk_mechanism *wrk_mechanism_by_name(const char *name);

/* Path helpers for matchers. */
const char *wrk_basename(const char *path);
int wrk_path_under(const char *path, const char *dir); /* dir ends with '/' */
/* The IPv4 remote address of a flow: AF_INET, or AF_INET6 holding an
 * IPv4-mapped address (::ffff:a.b.c.d, what a dual-stack socket uses).
 * NULL for a real IPv6 peer. */
const uint8_t *wrk_flow_v4(const struct jb_flow *f);

/* Build the JSON event for a match (event.c). Returns a malloc'd
 * NUL-terminated line (no newline) or NULL. obj_key goes into dedup_key. */
struct jb_snap_view;
struct wrk_event_ctx {
	const char *hostname;
	const char *boot_id;
	int64_t mono_to_real_ns; /* add to CLOCK_MONOTONIC ns to get realtime */
	int64_t boot_real_ns;	 /* realtime of boot, for start ticks */
};
char *wrk_event_json(const struct wrk_event_ctx *ctx, const struct wrk_mechanism *mech,
		     const struct wrk_def *def, const struct jb_snap_view *v,
		     const struct jb_task *t, const struct jb_file *file, uint32_t actions,
		     const struct jb_flow *flow, uint64_t event_ns);
/* Stable process id: boot id + pid + start time, as 16 hex digits. */
void wrk_process_id(const char *boot_id, uint32_t pid, uint64_t start_ticks, char out[17]);

#endif
