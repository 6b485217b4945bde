/*
 * status.h - the agent's state as one JSON document: what `jibril status`
 * prints (the root-only status socket) and what the exporter child turns
 * into Prometheus metrics and /healthz (it is pushed to it over IPC after
 * every cadence). One builder, so the two can never disagree.
 *
 * The document (version 1). Counters are totals since this supervisor
 * started; "mono_ms" values are CLOCK_MONOTONIC milliseconds (one clock
 * for the whole host, so a reader on the same host can age them):
 *
 * {"version": 1,
 *  "agent": {"pid": N, "hostname": "...", "started": "ISO 8601", "uptime_s": N,
 *            "mono_ms": N,                 // when this document was built
 *            "cadence_ms": N,              // the configured cadence
 *            "last_cadence_mono_ms": N,    // when the last query ran (0: none yet)
 *            "stopping": false,
 *            "bpf": {"backend": "tracepoint", "pin_dir": "/sys/fs/bpf/jibril" | null,
 *                    "resumed": false}},
 *  "children": [{"kind": "file_access", "role": "worker"|"printer"|"exporter",
 *                "state": "ready"|"spawning"|"handshake"|"stopping"|"idle"|"throttled"|"disabled",
 *                "pid": N | null, "generation": N, "uid": N, "restarts": N,
 *                "backoff_ms": N,          // delay before its next respawn when idle/throttled
 *                "last_heartbeat_ms_ago": N | null,
 *                "processed": N, "detections": N}],
 *  "restarts": [{"kind": "...", "reason": "crash"|"hang"|"killed"|"protocol"|"planned"|"other",
 *                "count": N}],
 *  "cadence_seconds": {"le": [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
 *                      "counts": [cumulative count per bound], "count": N, "sum": S},
 *  "maps": [{"name": "jb_tasks", "entries": N, "max_entries": N, "evictions": N}],
 *  "kernel_loss": [{"counter": "...", "count": N}],
 *  "detections": [{"kind": "...", "count": N}],   // accepted by the router
 *  "suppressed": [{"kind": "...", "count": N}],   // by the recipes' limits
 *  "data_loss": [{"who": "...", "cause": "...", "count": N}],
 *  "router": {"backlog_lines": N, "backlog_bytes": N},
 *  "printers": [{"kind": "https", "unacked_lines": N,   // router lines it has not acknowledged
 *                "queue_lines": N, "queue_bytes": N,    // in the printer's memory
 *                "spool_lines": N, "spool_bytes": N,    // on its disk spool (0: none)
 *                "delivered": N, "retries": N, "rejected": N}]}
 */
#ifndef JB_SUP_STATUS_H
#define JB_SUP_STATUS_H

#include <stddef.h>

struct sup;

#define SUP_STATUS_VERSION 1

/* The document above, NUL-terminated, malloc'd (*len its length without
 * the NUL), or NULL when out of memory. Cheap enough to build every
 * cadence. */
char *sup_status_json(struct sup *s, size_t *len);

#endif
