/*
 * sup.h - the supervisor's modules and the state they share.
 * One process, one libevent loop, no threads: every handler runs to
 * completion, so no locking anywhere. No module keeps file-static state
 * about the running agent: it all hangs off struct sup, so a test can
 * build one (tests/check_procs.c drives the slot machine with fake kinds).
 */
#ifndef JB_SUP_H
#define JB_SUP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/kind.h"
#include "ipc/msg.h"
#include "ipc/peer.h"
#include "ipc/snapshot.h"
#include "supervisor/config.h"
#include "supervisor/recipes.h"

struct event_base;
struct event;
struct sup;
struct sup_proc;
struct jb_bpf;

/* Two slots: a slow worker keeps one while the others go on in the other.
 * More would only help when two workers are slow at once (then a cadence
 * is skipped, which loses nothing), and every slot a worker has read stays
 * in its resident set. */
#define SUP_SNAP_SLOTS 2

/* Process states (one state machine per slot, see procs.c). */
enum sup_state {
	ST_IDLE = 0,	/* not running; restart timer armed */
	ST_SPAWNING,	/* forked, waiting for HELLO */
	ST_HANDSHAKE,	/* HELLO seen, CONFIG sent, waiting for READY */
	ST_READY,
	ST_STOPPING,	/* SIGTERM sent, SIGKILL when the grace ends */
	ST_THROTTLED,	/* failed before READY: waits throttle_ms */
	ST_DISABLED,	/* exited with EX_CONFIG, or shutting down: no respawn */
};

/* Why a slot's child ended before it was restarted (procs.c decides,
 * status.c names them: crash, hang, killed, protocol, planned, other). */
enum sup_restart_why {
	SUP_RESTART_CRASH = 0,	/* its own failure: a signal, an exit code, the OOM killer */
	SUP_RESTART_HANG,	/* a missed heartbeat or handshake deadline */
	SUP_RESTART_KILLED,	/* killed from outside */
	SUP_RESTART_PROTOCOL,	/* a protocol violation */
	SUP_RESTART_PLANNED,	/* replaced on purpose (outfile.c) */
	SUP_RESTART_OTHER,	/* a clean exit, or killed by us for another reason */
	SUP_RESTART_MAX,
};

/* A printer's own figures (IPC_PRN_STATS): gauges of now, and counters
 * since that printer process started. */
struct sup_prn_figures {
	uint64_t queue_lines, queue_bytes, spool_lines, spool_bytes;
	uint64_t delivered, retries, rejected;
};

/* What the supervisor does for a kind beyond the slot machine (the row's
 * hooks, supervisor/kinds.c). Every hook may be NULL. */
struct sup_hooks {
	/* CONFIG was sent; queue what the child needs before READY (workers:
	 * the recipes). 0, or -1 with *why: the child is killed. */
	int (*configured)(struct sup *s, struct sup_proc *p, const char **why);
	/* the child is READY */
	void (*ready)(struct sup *s, struct sup_proc *p);
	/* a message of the child's role other than HELLO, READY, HEARTBEAT and
	 * LOG (the IPC role table already let it through). 0, or -1 with
	 * *why: a protocol violation. */
	int (*message)(struct sup *s, struct sup_proc *p, const struct ipc_msg *m,
		       const char **why);
	/* the child's process ended (it is reaped; the slot restarts later) */
	void (*gone)(struct sup *s, struct sup_proc *p);
	/* SIGHUP: a new configuration and recipe set are in place */
	void (*reload)(struct sup *s, struct sup_proc *p);
	/* shutdown: push what is queued for this child and return how much it
	 * still has to acknowledge. Kinds with a drain hook are stopped last,
	 * after the others, once it returns 0 (bounded wait). */
	size_t (*drain)(struct sup *s, struct sup_proc *p);
};

/* One slot: one child of one kind, and its life across restarts. */
struct sup_proc {
	struct sup *sup;
	const struct jb_kind *kind;
	int index;		/* position in sup.procs: modules index their own state by it */
	uint32_t uid;		/* the kind's own uid and gid */
	enum sup_state state;
	pid_t pid;
	uint64_t generation;	/* bumped on each spawn */
	struct ipc_peer *peer;
	struct event *timer;	/* deadline / grace / restart, by state */
	uint64_t spawned_ms, ready_ms, last_beat_ms;
	uint32_t deadline_ms;	/* heartbeat deadline of the CONFIG it was sent */
	uint32_t backoff_ms;	/* delay after its next quick failure */
	int we_killed;		/* the exit is one we caused */
	int stopped;		/* stopped by a signal (SIGSTOP from outside) */
	int killed_stopped;	/* we killed it while it was stopped */
	int reaped;		/* its exit is being handled: its pid may be reused */
	int outside;		/* that exit was a kill from outside, not its failure */
	uint64_t oom_kills;	/* OOM kills of its cgroup (else the host's) when spawned */
	char kill_reason[96];
	int aux_fd;		/* JB_AUX_OUTPUT: the file; JB_AUX_DIR: the directory (init) */
	int set_fd;		/* a row with settings: their sealed memfd (init), else -1 */
	/* its output file to be rotated or reopened (outfile.c): the child
	 * is handed nothing more (retiring, read by router.c), and replaced
	 * once it acknowledged all it holds (planned: not a failure) */
	int reopen;		/* 0, or the SUP_REOPEN_* reasons pending */
	int retiring;
	int planned;		/* procs.c: its end is a planned restart */
	uint64_t reopen_retry_ms; /* a failed reopen is not tried again before */
	/* its stderr: a pipe read into the log (spawn.c) */
	int err_fd;
	struct event *err_ev;
	char err_buf[512];
	size_t err_len;
	/* what it says, into the log (childlog.c) */
	pid_t log_pid;
	uint64_t log_window_ms;
	uint32_t log_lines, log_dropped;
	uint64_t processed, detections;	/* from the last heartbeat */
	/* procs.c: restarts by why, the delay of the last one, and why we
	 * killed the running child (enum sup_restart_why) */
	uint64_t restarts[SUP_RESTART_MAX];
	uint32_t restart_delay_ms;
	int kill_why;
	/* status.c: a printer's last IPC_PRN_STATS (prn_gen: its generation)
	 * and the counters of its predecessors */
	struct sup_prn_figures prn, prn_past;
	uint64_t prn_gen;
};

#define SUP_MAX_PROCS JB_KINDS_MAX

struct sup_collector;
struct sup_router;
struct sup_audit;
struct sup_cgroup;
struct sup_statsock;
struct sup_notify;

struct sup {
	struct jb_config cfg;
	const char *conf_path;
	struct sup_recipes recipes;	/* the running set; replaced whole on reload */
	struct event_base *base;
	struct event *ev_cadence, *ev_tick, *ev_summary, *ev_flush;
	uint64_t stopping_since_ms;	/* SIGTERM/SIGINT: the last query is under way */
	uint64_t stop_final_seq;	/* its snapshot, once taken */
	struct jb_snap_region snap;
	int snap_ro_fd;		/* read-only reopen of the memfd, for workers */
	/* the kind table (jb_kinds; a test passes its own) and a slot per
	 * enabled row */
	const struct jb_kind *kinds;
	size_t nkinds;
	struct sup_proc procs[SUP_MAX_PROCS];
	int nprocs;
	int stopping;
	char boot_id[64];
	char hostname[256];
	int bin_fd[JB_BIN_N];	/* bins.c: each child executable, O_PATH, opened at
				 * start and executed by spawn.c (a test sets its own) */
	struct sup_collector *col;
	struct sup_router *rt;
	struct jb_bpf *bpf;	/* the kernel side (NULL in tests without BPF) */
	struct sup_audit *audit;	/* NULL: no audit log (audit.c) */
	struct sup_cgroup *cg;	/* cgroup.c: NULL when children run without limits */
	int exp_listen_fd;	/* exporter.c: the exporter's listening socket, or -1 */
	int64_t started_s;	/* real time of the start (status.c; 0 in tests) */
	uint64_t started_ms;	/* sup_now_ms() then */
	struct sup_statsock *statsock;	/* statsock.c: NULL when off */
	struct sup_notify *notify;	/* notify.c: NULL when not run by systemd */
};

/* --- procs.c ------------------------------------------------------------------ */
/* A slot per row of s->kinds that s->cfg enables. -1 on failure (out of
 * memory, an output file that cannot be opened: logged). */
int sup_procs_init(struct sup *s);
void sup_procs_start(struct sup *s);	/* spawn everything */
void sup_procs_stop(struct sup *s);	/* stop every child (drain hooks last) */
/* Shutdown's last query begins (s->stopping_since_ms set): a slot waiting
 * out its back-off restarts now. Until sup_procs_stop, children that end
 * are restarted at once (procs.c). */
void sup_procs_flush_begin(struct sup *s);
/* 1 when p is not READY but will be within the last query: IDLE (its
 * restart pending), SPAWNING, HANDSHAKE or STOPPING (it restarts after). */
int sup_proc_returning(const struct sup_proc *p);
void sup_procs_reap(struct sup *s);	/* SIGCHLD */
void sup_procs_tick(struct sup *s);	/* heartbeat / handshake deadlines */
void sup_proc_kill(struct sup *s, struct sup_proc *p, const char *why);
/* A planned restart (outfile.c): SIGTERM a child that holds nothing
 * unacknowledged; its end is not a failure and it is respawned at once. */
void sup_proc_retire(struct sup *s, struct sup_proc *p, const char *why);
/* The IPC dispatch callback of a slot's peer (arg: the slot). */
void sup_proc_dispatch(struct ipc_peer *peer, const struct ipc_msg *m, void *arg);
/* SIGHUP: call each running slot's reload hook. */
void sup_procs_reload(struct sup *s);
uint64_t sup_now_ms(void);
/* The name of a slot state in the status document ("ready", ...). */
const char *sup_state_label(enum sup_state st);

/* --- status.c (the document itself: status.h) ---------------------------------- */
/* A printer's IPC_PRN_STATS: kept for the status document; the counters
 * of an earlier generation of the slot are added to its past. */
void sup_status_prn_stats(struct sup_proc *p, const struct ipc_msg *m);

/* --- statsock.c: the root-only status socket ([agent] status_socket) ---------- */
/* Made at start-up (as root, before the privilege drop): a stale socket
 * file of a supervisor that is gone is replaced; one another supervisor
 * answers on is an error. 0 (also when off), or -1 with err. */
int sup_statsock_open(struct sup *s, char *err, size_t errlen);
/* Served on s->base from now on (after sup_statsock_open). */
int sup_statsock_start(struct sup *s);
void sup_statsock_close(struct sup *s);	/* closes clients, removes the file */

/* --- spawn.c ------------------------------------------------------------------ */
/* fork + re-exec one child of p's kind with its descriptors; 0, or -1
 * (logged) when nothing was started. */
int sup_spawn(struct sup *s, struct sup_proc *p);
/* Read what is left in the child's stderr pipe and close it. */
void sup_spawn_stderr_close(struct sup_proc *p);

/* --- startup.c ---------------------------------------------------------------- */
/* How the kernel's OOM killer ranks us (/proc/PID/oom_score_adj, -1000..1000):
 * the supervisor is nearly never its choice (not -1000, "never": a
 * supervisor that leaked despite its caps must not hang the host), a child
 * is a likely one (it is restarted, with back-off, and logged). */
#define SUP_OOM_ADJ_SUPERVISOR (-900)
#define SUP_OOM_ADJ_CHILD 500
/* First thing in main(): fds 0-2 open (/dev/null where closed) and every
 * other descriptor closed.
 * Exits EX_OSERR when it cannot. */
void sup_self_fds(void);
/* Write our /proc/self/oom_score_adj; 0, or -1 with errno. */
int sup_self_oom_adj(int value);

/* --- childlog.c --------------------------------------------------------------- */
/* One line a child said (IPC_LOG; channel "stderr" for its pipe) into the
 * log: prefixed with its kind and pid, made printable, rate-limited. */
void sup_child_log(struct sup_proc *p, int level, const char *channel, const char *text);
void sup_child_log_start(struct sup_proc *p, pid_t pid);	/* a new child */
void sup_child_log_tick(struct sup_proc *p);			/* a window over: drops counted */
void sup_child_log_end(struct sup_proc *p);			/* its exit: drops counted */

/* --- collector.c -------------------------------------------------------------- */
int sup_collector_init(struct sup *s, struct jb_bpf *bpf);
void sup_collector_tick(struct sup *s);	/* one cadence: query, snapshot, announce */
/* Shutdown, the printers drained: the resume point as far as it goes. */
void sup_collector_save_resume(struct sup *s);
int sup_collector_done(struct sup *s, struct sup_proc *p, uint64_t seq, const char **why);
void sup_collector_proc_gone(struct sup *s, struct sup_proc *p);
/* Announce the newest snapshot to a worker that just became READY. */
void sup_collector_catch_up(struct sup *s, struct sup_proc *p);
/* Shutdown: take a final snapshot (first call, *final_seq 0) and see it
 * through every worker that is READY or on its way back (sup_proc_returning:
 * a worker that died is restarted and acknowledges it then). 1 once all
 * have acknowledged it; call again (after their messages) until then, or
 * until the caller gives up. */
int sup_collector_flush(struct sup *s, uint64_t *final_seq);
void sup_collector_free(struct sup *s);
/* The maps the status document describes, and the collector's figures. */
enum sup_map_id {
	SUP_MAP_TASKS = 0, SUP_MAP_TASKS_HOT, SUP_MAP_FILES, SUP_MAP_FILES_HOT,
	SUP_MAP_LINKS, SUP_MAP_LINKS_HOT, SUP_MAP_FLOWS, SUP_MAP_TAMPER, SUP_MAP_MAX,
};
#define SUP_CADENCE_BOUNDS 11	/* 1 ms .. 2.5 s, status.h */
struct sup_col_figures {
	uint64_t last_query_ms;	/* CLOCK_MONOTONIC ms of the last query (0: none) */
	uint64_t cadences;	/* queries taken */
	uint64_t le[SUP_CADENCE_BOUNDS + 1]; /* per bound, not cumulative; last: +Inf */
	uint64_t sum_us;	/* their total duration */
	/* per map, at the last query: its entries (files maps: an upper
	 * bound, they are not read whole) and since the start the records
	 * evicted before any query saw them (kernel_evicted, per map) */
	uint64_t entries[SUP_MAP_MAX], evicted[SUP_MAP_MAX];
	uint64_t stats[JB_STAT_MAX];	/* the kernel's counters, last read */
	uint64_t lost_unseen, files_missing, tampers_dropped, skipped;
};
/* NULL before sup_collector_init. */
const struct sup_col_figures *sup_collector_figures(const struct sup *s);
extern const double sup_cadence_bounds[SUP_CADENCE_BOUNDS];

/* --- router.c ----------------------------------------------------------------- */
int sup_router_init(struct sup *s);
/* A detection from worker p: dedup, times limits, queue for every
 * printer. -1 with *why when the recipe runs in another worker kind. */
int sup_router_detection(struct sup *s, struct sup_proc *p, const char *kind,
			 const char *dedup_key, const char *json, size_t len, const char *limits,
			 const char **why);
/* Print a summary event for every (recipe, limit, key) that suppressed
 * detections since the last summary, and a data_loss event for every
 * (who, cause) that lost anything since its last report. */
void sup_router_summary(struct sup *s);
int sup_router_printed(struct sup *s, struct sup_proc *p, uint64_t seq, const char **why);
void sup_router_printer_ready(struct sup *s, struct sup_proc *p);
void sup_router_printer_gone(struct sup *s, struct sup_proc *p);
/* Lines printer p has not acknowledged, after handing it what it can take. */
size_t sup_router_drain(struct sup *s, struct sup_proc *p);
/* Lines printer p was handed and has not acknowledged yet. */
uint64_t sup_router_in_hand(const struct sup *s, const struct sup_proc *p);
void sup_router_pump(struct sup *s);
/* The seq of the last line queued, and the highest seq every running
 * printer acknowledged (all lines up to it are done). */
uint64_t sup_router_last_seq(const struct sup *s);
uint64_t sup_router_settled(const struct sup *s);
/* Queue an event of the agent itself (a JSON object without uuid: it gets
 * one) for every printer. */
void sup_router_agent_event(struct sup *s, const char *dedup_key, const char *json);
/* The same for every printer but those of kind except (a summary printer's
 * own detection_summary). 0 queued, -1 dropped (counted, as enqueue). */
int sup_router_agent_event_except(struct sup *s, const char *dedup_key, const char *json,
				  const struct jb_kind *except);
/* IPC_SUMMARY from a summary printer: its detection_summary event, for
 * every printer but the summary printers (summary_event.c). 0, or -1 with
 * why (the printer is killed). */
int sup_summary_event(struct sup *s, struct sup_proc *p, const struct ipc_msg *m,
		      const char **why);
void sup_router_free(struct sup *s);
/* For the status document: the backlog, and per recipe kind what the
 * router let through and what the times limits suppressed; each()
 * calls fn for every (who, cause) of drops.c with its total. */
void sup_router_backlog(const struct sup *s, uint64_t *lines, uint64_t *bytes);
uint64_t sup_router_unacked(const struct sup *s, const struct sup_proc *p);
void sup_router_each_kind(const struct sup *s,
			  void (*fn)(void *arg, const char *kind, uint64_t accepted,
				     uint64_t suppressed), void *arg);
void sup_router_each_loss(const struct sup *s,
			  void (*fn)(void *arg, const char *who, const char *cause,
				     uint64_t total), void *arg);
/* Bytes the router holds under [agent] backlog_bytes: with owner < 0 all
 * of it (the backlog and the copies queued to printer peers), else what is
 * charged to the producer in slot owner. */
size_t sup_router_bytes(const struct sup *s, int owner);
/* Since the start: for a worker kind (or "agent"), its detections dropped
 * because its share of the backlog was full; for a printer kind, lines
 * dropped for it while it lagged (another printer had printed them). */
uint64_t sup_router_dropped(const struct sup *s, const char *who);
/* Printer p reported (IPC_LOSS) that it lost count detections for cause:
 * logged (the first of its cause in a summary period; audited always) and
 * counted for the summary. 0 (a loss report is never a violation). */
int sup_router_loss(struct sup *s, struct sup_proc *p, const char *cause, uint64_t count,
		    const char *detail);
/* Since the start: what who (a kind, "agent" or "kernel") lost for cause. */
uint64_t sup_router_lost(const struct sup *s, const char *who, const char *cause);
/* n things (unit: "records", "snapshots", "detections") lost by who for
 * cause, for the next data_loss report (drops.c). 1 when it is the first
 * of its (who, cause) since the last report (the caller logs it), else 0. */
int sup_router_count_loss(struct sup *s, const char *who, const char *cause, const char *unit,
			  uint64_t n, const char *detail);

/* --- bins.c ------------------------------------------------------------------ */
/* The children's executables. sup_bins_dir: the directory they
 * are in (the rule at the top of bins.c); sup_bin_open: one, checked,
 * O_PATH|O_CLOEXEC, or -1 with err naming the path; sup_bins_open: every
 * one into s->bin_fd (-1 with err, none left open); sup_bins_close. */
int sup_bins_dir(char *dir, size_t len, char *err, size_t errlen);
int sup_bin_open(const char *path, char *err, size_t errlen);
int sup_bins_open(struct sup *s, char *err, size_t errlen);
void sup_bins_close(struct sup *s);

#endif
