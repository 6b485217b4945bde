/*
 * sup.h - the supervisor's modules and the state they share.
 * One process, one libevent loop, no threads: every handler runs to
 * completion, so no locking anywhere.
 */
#ifndef JB_SUP_H
#define JB_SUP_H

#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "ipc/peer.h"
#include "ipc/snapshot.h"
#include "supervisor/recipes.h"

struct event_base;
struct event;

/* Two slots: a slow worker keeps one while the others go on in the other.
 * More would only help when two workers are slow at once (then a cadence
 * is skipped, which loses nothing), and every slot a worker has read stays
 * in its resident set. */
#define SUP_SNAP_SLOTS 2

/* Process states (one state machine per slot, see procs.c). */
enum sup_state {
	ST_IDLE = 0,	/* not running; restart timer armed (or disabled) */
	ST_SPAWNING,	/* forked, waiting for HELLO */
	ST_HANDSHAKE,	/* HELLO seen, CONFIG sent, waiting for READY */
	ST_READY,
	ST_STOPPING,	/* SIGTERM sent, SIGKILL when the grace ends */
	ST_THROTTLED,	/* crashed before READY: long back-off */
	ST_DISABLED,	/* exited with EX_CONFIG, or shutting down: no respawn */
};

/* One row of the table of process kinds (httpd procs[] style). */
struct sup_kind {
	const char *name;	/* file_access, execution, network, stdout, file */
	uint32_t role;		/* IPC_ROLE_WORKER or IPC_ROLE_PRINTER */
};

struct sup_proc {
	const struct sup_kind *kind;
	int index;		/* position in sup.procs */
	enum sup_state state;
	pid_t pid;
	uint64_t generation;	/* bumped on each spawn */
	struct ipc_peer *peer;
	struct event *timer;	/* deadline / grace / restart, by state */
	uint64_t spawned_ms, ready_ms, last_beat_ms;
	uint32_t backoff_ms;
	int we_killed;		/* the exit is one we caused */
	char kill_reason[96];
	int out_fd;		/* printers: fd to write to (-1 for stdout) */
	/* workers: snapshot progress, kept across restarts of the slot */
	uint64_t acked_taken_ns;
	uint64_t acked_seq;
	uint64_t snap_sent_seq;	/* announced and not yet acked when > acked_seq */
	int stuck_crashes;	/* crashes without acking anything new */
	/* printers: delivery progress (router.c) */
	uint64_t printed_seq;	/* highest PRINTED ack */
	uint64_t sent_seq;	/* highest PRINT handed to the peer */
	uint64_t processed, detections;	/* from the last heartbeat */
};

#define SUP_MAX_PROCS 8

struct sup {
	struct jb_config cfg;
	const char *conf_path;
	struct sup_recipes recipes;	/* the running set; replaced whole on reload */
	struct event_base *base;
	struct jb_snap_region snap;
	int snap_ro_fd;		/* read-only reopen of the memfd, for workers */
	struct sup_proc procs[SUP_MAX_PROCS];
	int nprocs;
	int stopping;
	char boot_id[64];
	char hostname[256];
	const char *self_exe;
};

/* --- procs.c ---------------------------------------------------------------- */
int sup_procs_init(struct sup *s);	/* build the table from the config */
void sup_procs_start(struct sup *s);	/* spawn everything */
void sup_procs_stop(struct sup *s);	/* SIGTERM all, wait briefly, SIGKILL */
void sup_procs_reap(struct sup *s);	/* SIGCHLD */
void sup_procs_tick(struct sup *s);	/* heartbeat / handshake deadlines */
void sup_proc_kill(struct sup *s, struct sup_proc *p, const char *why);
/* Send the current recipe set to every worker past HELLO (SIGHUP). */
void sup_procs_send_recipes(struct sup *s);
uint64_t sup_now_ms(void);

/* --- collector.c -------------------------------------------------------------- */
struct jb_bpf;
int sup_collector_init(struct sup *s, struct jb_bpf *bpf);
void sup_collector_tick(struct sup *s);	/* one cadence: query, snapshot, announce */
void sup_collector_done(struct sup *s, struct sup_proc *p, uint64_t seq);
void sup_collector_proc_gone(struct sup *s, struct sup_proc *p);
/* Announce the newest snapshot to a worker that just became READY. */
void sup_collector_catch_up(struct sup *s, struct sup_proc *p);
void sup_collector_free(void);

/* --- router.c ----------------------------------------------------------------- */
int sup_router_init(struct sup *s);
/* A detection from worker (its kind name): dedup, times limits, queue for
 * every printer. -1: the recipe runs in another worker (a violation). */
int sup_router_detection(struct sup *s, const char *worker, const char *kind,
			 const char *dedup_key, const char *json, size_t len, const char *limits);
/* Print a summary event for every (recipe, limit, key) that suppressed
 * detections since the last summary. */
void sup_router_summary(struct sup *s);
void sup_router_printed(struct sup *s, struct sup_proc *p, uint64_t seq);
void sup_router_printer_ready(struct sup *s, struct sup_proc *p);
void sup_router_pump(struct sup *s);
size_t sup_router_pending(void);	/* lines some printer has not acknowledged */
void sup_router_free(void);

#endif
