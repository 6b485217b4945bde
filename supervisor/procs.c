/*
 * procs.c - one state machine per child slot: handshake, heartbeat
 * deadlines, kill, reap, restart. What a kind does beyond that is its
 * row's hooks (supervisor/kinds.c); this file names no kind.
 *
 * Invariants:
 *  - every state change goes through set_state(), which logs "old -> new".
 *  - each spawn bumps the slot's generation; HELLO must carry it, and a
 *    peer of an older generation is never looked at again (it is freed at
 *    reap time together with its process).
 *  - a child that breaks the protocol is SIGKILLed at once; a hung one gets
 *    SIGTERM, then SIGKILL after a grace period (1 s; 100 ms for one we know
 *    is stopped: it cannot act on SIGTERM, and its detections wait).
 *    Nothing a child sends can make the supervisor exit.
 *  - restart policy (Postfix master, bgpd):
 *      exit code EX_CONFIG (78)             -> DISABLED, never respawned;
 *      killed by the OOM killer (its cgroup's oom_kill count grew: at its
 *      [limits] memory)                     -> a failure of the child, below;
 *      replaced on purpose (sup_proc_retire: its output file was
 *      reopened, outfile.c)                 -> IDLE, back at once;
 *      killed from outside (SIGKILL/SIGTERM we did not send, or a hang of
 *      a child someone stopped)             -> IDLE, back in backoff_initial_ms,
 *                                              the back-off does not grow:
 *                                              it is not a crash loop;
 *      any other end before READY           -> THROTTLED for throttle_ms;
 *      any other end after READY            -> IDLE after the slot's back-off,
 *                                              which doubles up to backoff_max_ms
 *                                              and resets once the child had
 *                                              been READY for stable_ms.
 *    Kills sent while shutting down are not failures.
 *  - shutdown has two phases. The last query (main.c on_flush, from the
 *    first SIGTERM/SIGINT until the loop ends): a child that ends is
 *    restarted as above, but within FLUSH_RESTART_MS whatever its back-off,
 *    so that the final snapshot is still examined and printed when a
 *    worker or printer died with the supervisor's stop (pkill, systemd's
 *    control-group SIGTERM); a kind throttled for failing before READY is
 *    not (it would not get further). Then sup_procs_stop sets s->stopping:
 *    from there nothing is ever respawned (every end is DISABLED), and
 *    every wait is bounded: a child that even SIGKILL cannot end (frozen by
 *    a cgroup v1 freezer) is named in the log and left behind.
 *  - each child is held to the heartbeat deadline of the CONFIG it was
 *    sent: a SIGHUP that changes the period applies to children started
 *    after it (a running child keeps beating at its old period).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/log.h"
#include "supervisor/exporter.h"
#include "supervisor/outfile.h"
#include "supervisor/owner.h"
#include "supervisor/settings.h"
#include "sup.h"
#include "supervisor/audit.h"
#include "supervisor/cgroup.h"

#define KILL_GRACE_MS 1000
#define STOPPED_GRACE_MS 100 /* a stopped child cannot act on SIGTERM anyway */
#define DRAIN_MS 1500	/* shutdown: how long drain hooks may take (> a network printer's spill_ms, at most 1 s) */
#define FLUSH_RESTART_MS 20 /* the last query: a child that ended is back this soon */
#define KILL_WAIT_MS 1000 /* shutdown: a SIGKILLed child not reaped by then is left behind */

static const char *sup_state_name(enum sup_state s)
{
	switch (s) {
	case ST_IDLE: return "IDLE";
	case ST_SPAWNING: return "SPAWNING";
	case ST_HANDSHAKE: return "HANDSHAKE";
	case ST_READY: return "READY";
	case ST_STOPPING: return "STOPPING";
	case ST_THROTTLED: return "THROTTLED";
	case ST_DISABLED: return "DISABLED";
	}
	return "?";
}

const char *sup_state_label(enum sup_state st)
{
	switch (st) {
	case ST_IDLE: return "idle";
	case ST_SPAWNING: return "spawning";
	case ST_HANDSHAKE: return "handshake";
	case ST_READY: return "ready";
	case ST_STOPPING: return "stopping";
	case ST_THROTTLED: return "throttled";
	case ST_DISABLED: return "disabled";
	}
	return "?";
}

uint64_t sup_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void set_state(struct sup_proc *p, enum sup_state st, const char *why)
{
	if (p->state == st)
		return;
	log_info("%s[%d] gen %llu: %s -> %s%s%s", p->kind->name, (int)p->pid,
		 (unsigned long long)p->generation, sup_state_name(p->state), sup_state_name(st),
		 why ? ": " : "", why ? why : "");
	sup_audit_state(p->sup, p->kind->name, p->pid, p->generation, sup_state_name(p->state),
			sup_state_name(st), why);
	p->state = st;
}

static void arm_timer(struct sup_proc *p, uint32_t ms)
{
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
	evtimer_add(p->timer, &tv);
}

/* The host's count of OOM kills (/proc/vmstat oom_kill), 0 if unknown. */
static uint64_t oom_kills(void)
{
	char buf[8192], *p;
	FILE *f = fopen("/proc/vmstat", "re");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

	if (f)
		fclose(f);
	buf[n] = '\0';
	p = strstr(buf, "\noom_kill ");
	return p ? strtoull(p + 10, NULL, 10) : 0;
}

/* The OOM kills counted in p's memory cgroup (1), or, without cgroups,
 * the host's (0: a guess, any process may have been the victim). */
static int oom_count(struct sup *s, struct sup_proc *p, uint64_t *n)
{
	if (sup_cgroup_oom_kills(s, p->kind, n) == 0)
		return 1;
	*n = oom_kills();
	return 0;
}

/* The last query is under way (main.c): restarts are not delayed. */
static int flushing(const struct sup *s)
{
	return s->stopping_since_ms && !s->stopping;
}

static uint32_t restart_delay(const struct sup *s, uint32_t ms)
{
	return flushing(s) && ms > FLUSH_RESTART_MS ? FLUSH_RESTART_MS : ms;
}

static void proc_start(struct sup *s, struct sup_proc *p)
{
	uint64_t ooms;

	oom_count(s, p, &ooms);

	if (sup_spawn(s, p) < 0) {
		/* nothing started (fork, socketpair, pipe): try again later */
		p->restart_delay_ms = restart_delay(s, p->backoff_ms);
		arm_timer(p, p->restart_delay_ms);
		return;
	}
	p->oom_kills = ooms;
	p->we_killed = p->killed_stopped = p->stopped = p->planned = 0;
	p->kill_why = SUP_RESTART_OTHER;
	p->kill_reason[0] = '\0';
	p->spawned_ms = sup_now_ms();
	p->ready_ms = 0;
	set_state(p, ST_SPAWNING, NULL);
	if (!p->peer)
		sup_proc_kill(s, p, "cannot set up its IPC peer");
}

static void proc_timer(evutil_socket_t fd, short what, void *arg)
{
	struct sup_proc *p = arg;
	struct sup *s = p->sup;

	switch (p->state) {
	case ST_STOPPING:
		log_warnx("%s[%d] did not stop within %d ms: SIGKILL", p->kind->name, (int)p->pid,
			  p->killed_stopped ? STOPPED_GRACE_MS : KILL_GRACE_MS);
		p->killed_stopped |= p->stopped;
		kill(p->pid, SIGKILL);
		break;
	case ST_IDLE:
	case ST_THROTTLED:
		if (!s->stopping)
			proc_start(s, p);
		break;
	default:
		/* its socket closed KILL_GRACE_MS ago and it is still there */
		if (p->peer && p->peer->dead && p->pid > 0) {
			sup_proc_kill(s, p, "did not exit after closing its IPC socket");
			p->kill_why = SUP_RESTART_HANG;
		}
		break;
	}
}

int sup_procs_init(struct sup *s)
{
	s->nprocs = 0;
	for (size_t i = 0; i < s->nkinds; i++) {
		const struct jb_kind *k = &s->kinds[i];
		struct sup_proc *p;

		if (!jb_config_kind_enabled(&s->cfg, k))
			continue;
		if (k->aux == JB_AUX_LISTEN && s->kinds == jb_kinds && s->exp_listen_fd < 0)
			continue; /* its port was in use at start-up (exporter.c): none */
		if (s->nprocs == SUP_MAX_PROCS) {
			log_warnx("more than %d kinds enabled", SUP_MAX_PROCS);
			return -1;
		}
		p = &s->procs[s->nprocs];
		memset(p, 0, sizeof(*p));
		p->sup = s;
		p->kind = k;
		p->index = s->nprocs++;
		p->uid = s->cfg.child_uid_base + (uint32_t)i;
		p->pid = -1;
		p->aux_fd = -1;
		p->set_fd = -1;
		p->err_fd = -1;
		p->backoff_ms = s->cfg.backoff_initial_ms;
		p->timer = evtimer_new(s->base, proc_timer, p);
		if (!p->timer)
			return -1;
		if (k->aux == JB_AUX_OUTPUT) {
			/* root's, not writable by others, nor any directory above
			 * it (owner.c), checked on the descriptors it is opened by */
			char err[1024];
			p->aux_fd = sup_owner_open_output(&s->cfg, s->conf_path ? s->conf_path : "",
							  k, i, err, sizeof(err));
			if (p->aux_fd < 0) {
				log_warnx("%s printer: %s", k->name, err);
				return -1;
			}
			/* a line the printer of an agent killed meanwhile had begun */
			sup_outfile_mend(s, p);
			sup_outfile_start(s, p); /* already over its size: rotated now */
		}
		if ((k->settings || jb_config_privacy(&s->cfg, i)) && s->kinds == jb_kinds) {
			/* its own section (and [privacy]'s key): files read, its
			 * directory made, while we still may (before the privilege
			 * drop) */
			char err[1024];
			int dir;

			if (sup_settings_prepare(&s->cfg, s->conf_path ? s->conf_path : "", i, p->uid,
						 &p->set_fd, &dir, err, sizeof(err)) < 0) {
				log_warnx("%s: %s", k->name, err);
				return -1;
			}
			if (k->aux == JB_AUX_DIR)
				p->aux_fd = dir;
			else if (dir >= 0)
				close(dir);
		}
		if (k->aux == JB_AUX_LISTEN && (p->aux_fd = sup_exporter_aux(s)) < 0) {
			/* bound at start-up (main.c): kept across its restarts */
			log_warnx("%s: no listening socket", k->name);
			return -1;
		}
	}
	return 0;
}

void sup_procs_start(struct sup *s)
{
	for (int i = 0; i < s->nprocs; i++)
		proc_start(s, &s->procs[i]);
}

void sup_proc_kill(struct sup *s, struct sup_proc *p, const char *why)
{
	/* a reaped pid may already name another process: never signal it */
	if (p->pid <= 0 || p->reaped || p->state == ST_STOPPING)
		return;
	p->we_killed = 1;
	p->killed_stopped = p->stopped;
	snprintf(p->kill_reason, sizeof(p->kill_reason), "%s", why);
	if (!p->peer || (!p->peer->dead && p->state != ST_READY)) {
		/* never got going: no point in a grace period */
		kill(p->pid, SIGKILL);
	} else if (p->peer && p->peer->violation) {
		kill(p->pid, SIGKILL);
	} else {
		kill(p->pid, SIGTERM);
	}
	set_state(p, ST_STOPPING, why);
	arm_timer(p, p->stopped ? STOPPED_GRACE_MS : KILL_GRACE_MS);
}

void sup_proc_retire(struct sup *s, struct sup_proc *p, const char *why)
{
	if (p->pid <= 0 || p->reaped || p->state == ST_STOPPING)
		return;
	sup_proc_kill(s, p, why);
	p->planned = p->state == ST_STOPPING;
}

static void send_config(struct sup *s, struct sup_proc *p)
{
	const char *why = NULL;
	char buf[1024];
	int n = ipc_enc_config(buf, sizeof(buf), p->generation, s->cfg.heartbeat_ms,
			       (uint64_t)s->cfg.fault_hooks, s->boot_id, s->hostname);

	if (n < 0 || ipc_peer_send(p->peer, buf, (size_t)n) < 0) {
		sup_proc_kill(s, p, "cannot send CONFIG");
		return;
	}
	/* held to the deadline of the period it was told */
	p->deadline_ms = s->cfg.heartbeat_deadline_ms;
	if (p->kind->hooks && p->kind->hooks->configured &&
	    p->kind->hooks->configured(s, p, &why) < 0)
		sup_proc_kill(s, p, why);
}

void sup_procs_reload(struct sup *s)
{
	for (int i = 0; i < s->nprocs; i++) {
		struct sup_proc *p = &s->procs[i];
		if (p->peer && (p->state == ST_HANDSHAKE || p->state == ST_READY) &&
		    p->kind->hooks && p->kind->hooks->reload)
			p->kind->hooks->reload(s, p);
	}
}

static void proc_violation(struct sup *s, struct sup_proc *p, const char *why)
{
	p->peer->violation = 1;
	log_warnx("%s[%d]: protocol violation: %s", p->kind->name, (int)p->pid, why);
	if (p->state != ST_STOPPING)
		p->kill_why = SUP_RESTART_PROTOCOL;
	sup_proc_kill(s, p, "protocol violation");
}

void sup_proc_dispatch(struct ipc_peer *peer, const struct ipc_msg *m, void *arg)
{
	struct sup_proc *p = arg;
	struct sup *s = p->sup;
	const struct sup_hooks *h = p->kind->hooks;
	const char *why = NULL;

	if (peer != p->peer)
		return; /* stale generation: ignore */
	if (!m) {
		if (peer->violation) {
			log_warnx("%s[%d]: protocol violation: %s", p->kind->name, (int)p->pid,
				  peer->why);
			if (p->state != ST_STOPPING)
				p->kill_why = SUP_RESTART_PROTOCOL;
			sup_proc_kill(s, p, "protocol violation");
		} else if (p->state != ST_STOPPING) {
			/* EOF: the exit (and its reason) follows; if it does not
			 * within the grace period, proc_timer kills it */
			log_debug("%s[%d]: IPC %s", p->kind->name, (int)p->pid, peer->why);
			arm_timer(p, KILL_GRACE_MS);
		}
		return;
	}
	if (p->state == ST_SPAWNING && m->type != IPC_HELLO) {
		proc_violation(s, p, "first message is not HELLO");
		return;
	}
	switch (m->type) {
	case IPC_HELLO:
		if (m->u.hello.generation != p->generation || m->u.hello.role != p->kind->role ||
		    strcmp(m->u.hello.kind, p->kind->name) != 0 ||
		    m->u.hello.pid != (uint64_t)p->pid) {
			proc_violation(s, p, "HELLO does not match the slot");
			return;
		}
		set_state(p, ST_HANDSHAKE, NULL);
		send_config(s, p);
		break;
	case IPC_READY:
		if (p->state != ST_HANDSHAKE) {
			proc_violation(s, p, "READY out of order");
			return;
		}
		p->ready_ms = p->last_beat_ms = sup_now_ms();
		set_state(p, ST_READY, NULL);
		if (h && h->ready)
			h->ready(s, p);
		break;
	case IPC_HEARTBEAT:
		p->last_beat_ms = sup_now_ms();
		p->processed = m->u.heartbeat.processed;
		p->detections = m->u.heartbeat.detections;
		break;
	case IPC_LOG:
		sup_child_log(p, (int)m->u.log.level, NULL, m->u.log.text);
		break;
	default:
		/* the role's own messages, once READY (and while stopping: the
		 * acknowledgements of a child being replaced still count) */
		if (p->state != ST_READY && p->state != ST_STOPPING) {
			char w[96];
			snprintf(w, sizeof(w), "%s before READY", ipc_msg_name(m->type));
			proc_violation(s, p, w);
		} else if (!h || !h->message) {
			proc_violation(s, p, "unexpected message");
		} else if (h->message(s, p, m, &why) < 0) {
			proc_violation(s, p, why ? why : "unexpected message");
		}
		break;
	}
}

static void describe_exit(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else
		snprintf(buf, len, "ended with wait status 0x%x", status);
}

/* A SIGKILL we did not send, while the OOM killer struck: in its own
 * memory cgroup (certain: the victim was this child), or without cgroups
 * on the host (a guess). A child that runs out of memory is failing and
 * backs off like any crash. How it ended goes into how. */
static int oom_killed(struct sup *s, struct sup_proc *p, int status, char *how, size_t len)
{
	uint64_t now, limit = sup_cgroup_memory_limit(s, p->kind);
	int own;
	char lim[32];

	if (p->we_killed || !WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
		return 0;
	own = oom_count(s, p, &now);
	if (now == p->oom_kills)
		return 0;
	sup_cgroup_size_text(limit, lim, sizeof(lim));
	if (own && limit)
		snprintf(how, len, "killed by the OOM killer at its memory limit of %s", lim);
	else if (own)
		snprintf(how, len, "killed by the OOM killer (it has no memory limit of its own: "
			 "the host or a parent cgroup ran out)");
	else
		snprintf(how, len, "killed by signal 9 (Killed), and the host's OOM killer struck "
			 "meanwhile: out of memory, probably");
	return 1;
}

/* Killed from outside: a SIGKILL or SIGTERM we did not send (a child can
 * signal only itself, and only with SIGABRT: common/sandbox.c), or our
 * kill of a child someone had stopped. Not a failure of the child. */
static int killed_from_outside(const struct sup_proc *p, int status)
{
	if (p->we_killed)
		return p->killed_stopped;
	return WIFSIGNALED(status) && (WTERMSIG(status) == SIGKILL || WTERMSIG(status) == SIGTERM);
}

/* Why p's child ended, for the status document (status.h's names). */
static int restart_why(const struct sup_proc *p, int status, int oom, int outside)
{
	if (oom)
		return SUP_RESTART_CRASH;
	if (outside)
		return p->planned ? SUP_RESTART_PLANNED : SUP_RESTART_KILLED;
	if (p->we_killed)
		return p->kill_why;
	if (WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) != 0))
		return SUP_RESTART_CRASH;
	return SUP_RESTART_OTHER;
}

static void proc_exited(struct sup *s, struct sup_proc *p, int status)
{
	const struct jb_config *c = &s->cfg;
	char how[128], why[352];
	int was_ready = p->ready_ms != 0, oom = oom_killed(s, p, status, how, sizeof(how)),
	    outside = !oom && (p->planned || killed_from_outside(p, status));
	uint32_t delay;

	if (!oom)
		describe_exit(status, how, sizeof(how));
	evtimer_del(p->timer);
	p->reaped = 1;
	p->outside = outside; /* for the gone hook: not a poisoned record */
	if (p->peer) {
		/* its last words: detections, acknowledgements it sent before
		 * it ended are still in the socket (nothing it says now can
		 * get a signal sent to its reaped pid) */
		ipc_peer_drain(p->peer, 4096);
		ipc_peer_free(p->peer);
		p->peer = NULL;
	}
	sup_spawn_stderr_close(p);
	sup_child_log_end(p);
	if (p->kind->role == IPC_ROLE_PRINTER)
		sup_outfile_mend(s, p);
	if (p->kind->hooks && p->kind->hooks->gone)
		p->kind->hooks->gone(s, p);
	snprintf(why, sizeof(why), "%s%s%s (last heartbeat: %llu %s, %llu %s)", how,
		 p->we_killed ? " after " : "", p->we_killed ? p->kill_reason : "",
		 (unsigned long long)p->processed,
		 p->kind->role == IPC_ROLE_WORKER     ? "records"
		 : p->kind->role == IPC_ROLE_EXPORTER ? "requests"
						      : "lines printed",
		 (unsigned long long)p->detections,
		 p->kind->role == IPC_ROLE_WORKER     ? "detections"
		 : p->kind->role == IPC_ROLE_EXPORTER ? "status documents"
						      : "invalid lines dropped");
	p->processed = p->detections = 0;

	/* the state line names the pid that ended; then it is forgotten */
	if (s->stopping) {
		set_state(p, ST_DISABLED, why);
		p->pid = -1;
		return;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == EX_CONFIG) {
		set_state(p, ST_DISABLED, "configuration error: will not respawn");
		p->pid = -1;
		return;
	}
	if (p->planned && outside) {
		/* replaced on purpose (its output file was reopened): at once */
		set_state(p, ST_IDLE, why);
		delay = 0;
		log_info("%s: restarting now (planned: %s)", p->kind->name, p->kill_reason);
		sup_audit_restart(s, p->kind->name, delay, "planned restart: not a failure");
	} else if (outside) {
		set_state(p, ST_IDLE, why);
		delay = restart_delay(s, c->backoff_initial_ms);
		log_info("%s: restarting in %u ms (killed from outside: not a crash loop%s)",
			 p->kind->name, delay, flushing(s) ? "; for the last query" : "");
		sup_audit_restart(s, p->kind->name, delay, "killed from outside: not a crash loop");
	} else if (!was_ready) {
		set_state(p, ST_THROTTLED, why);
		delay = c->throttle_ms;
		log_warnx("%s: failed before READY; next try in %u ms", p->kind->name, delay);
		sup_audit_restart(s, p->kind->name, delay, "failed before READY: throttled");
	} else {
		if (sup_now_ms() - p->ready_ms >= c->stable_ms)
			p->backoff_ms = c->backoff_initial_ms; /* it had been stable */
		set_state(p, ST_IDLE, why);
		delay = restart_delay(s, p->backoff_ms);
		log_info("%s: restarting in %u ms%s", p->kind->name, delay,
			 flushing(s) ? " (for the last query)" : "");
		sup_audit_restart(s, p->kind->name, delay, "failed after READY: back-off");
		p->backoff_ms = p->backoff_ms > c->backoff_max_ms / 2 ? c->backoff_max_ms
								      : p->backoff_ms * 2;
	}
	p->pid = -1;
	p->restarts[restart_why(p, status, oom, outside)]++;
	p->restart_delay_ms = delay;
	arm_timer(p, delay);
}

static struct sup_proc *slot_of(struct sup *s, pid_t pid)
{
	for (int i = 0; i < s->nprocs; i++)
		if (s->procs[i].pid == pid)
			return &s->procs[i];
	return NULL;
}

void sup_procs_reap(struct sup *s)
{
	struct sup_proc *p;
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG | WUNTRACED | WCONTINUED)) > 0) {
		if (!(p = slot_of(s, pid)))
			continue;
		if (WIFSTOPPED(status)) {
			/* someone stopped it: its heartbeat deadline replaces it
			 * unless it is continued first; not its fault */
			p->stopped = 1;
			log_warnx("%s[%d] was stopped by signal %d (%s)", p->kind->name, (int)pid,
				  WSTOPSIG(status), strsignal(WSTOPSIG(status)));
			sup_audit_state(s, p->kind->name, pid, p->generation, "running", "stopped",
					strsignal(WSTOPSIG(status)));
		} else if (WIFCONTINUED(status)) {
			p->stopped = 0;
			log_info("%s[%d] continued", p->kind->name, (int)pid);
			sup_audit_state(s, p->kind->name, pid, p->generation, "stopped", "running",
					"continued");
		} else {
			proc_exited(s, p, status);
		}
	}
}

void sup_procs_tick(struct sup *s)
{
	uint64_t now = sup_now_ms();

	for (int i = 0; i < s->nprocs; i++) {
		struct sup_proc *p = &s->procs[i];

		sup_child_log_tick(p);
		/* deadlines as sums, never differences: a heartbeat read below
		 * stamps last_beat_ms after now, and now - last_beat_ms would wrap */
		if ((p->state == ST_SPAWNING || p->state == ST_HANDSHAKE) &&
		    now > p->spawned_ms + s->cfg.handshake_ms) {
			p->kill_why = SUP_RESTART_HANG;
			sup_proc_kill(s, p, "no handshake before its deadline");
		}
		else if (p->state == ST_READY && now > p->last_beat_ms + p->deadline_ms) {
			/* a long cadence may have kept the loop from reading its
			 * heartbeats: read them before calling it hung */
			if (p->peer)
				ipc_peer_drain(p->peer, 64);
			if (p->state == ST_READY && now > p->last_beat_ms + p->deadline_ms) {
				p->kill_why = SUP_RESTART_HANG;
				sup_proc_kill(s, p, "hung: no heartbeat before its deadline");
			}
		}
	}
}

void sup_procs_flush_begin(struct sup *s)
{
	for (int i = 0; i < s->nprocs; i++) {
		struct sup_proc *p = &s->procs[i];

		if (p->state != ST_IDLE || p->pid > 0)
			continue;
		log_info("%s: restarting in %u ms, not after its back-off, for the last query",
			 p->kind->name, FLUSH_RESTART_MS);
		arm_timer(p, FLUSH_RESTART_MS);
	}
}

int sup_proc_returning(const struct sup_proc *p)
{
	if (p->sup->stopping)
		return 0;
	switch (p->state) {
	case ST_IDLE:
	case ST_SPAWNING:
	case ST_HANDSHAKE:
	case ST_STOPPING:
		return 1;
	default:
		return 0; /* READY, or THROTTLED / DISABLED: not back in time */
	}
}

/* SIGTERM every live child with (drain 1) or without (drain 0) a drain hook. */
static void term_some(struct sup *s, int drain)
{
	for (int i = 0; i < s->nprocs; i++) {
		struct sup_proc *p = &s->procs[i];
		if ((p->kind->hooks && p->kind->hooks->drain) != !!drain)
			continue;
		evtimer_del(p->timer);
		if (p->pid > 0) {
			p->we_killed = 1;
			snprintf(p->kill_reason, sizeof(p->kill_reason), "shutdown");
			kill(p->pid, SIGTERM);
		}
	}
}

/* What children with a drain hook still have to acknowledge: READY ones
 * (being handed it) when ready_only, every one that is not DISABLED
 * otherwise (a printer restarting at shutdown loses its lines too). */
static size_t undrained(struct sup *s, int ready_only, int log)
{
	size_t left = 0;

	for (int i = 0; i < s->nprocs; i++) {
		struct sup_proc *p = &s->procs[i];
		size_t n;

		if (!p->kind->hooks || !p->kind->hooks->drain || p->state == ST_DISABLED ||
		    (ready_only && p->state != ST_READY))
			continue;
		n = p->kind->hooks->drain(s, p);
		if (n && log)
			sup_warn_loss(s, "printer_drain", "shutdown: %s (%s) did not acknowledge %zu "
				      "lines", p->kind->name, sup_state_name(p->state), n);
		left += n;
	}
	return left;
}

/* Children without a drain hook that have not been reaped. */
static int producers_alive(struct sup *s)
{
	int n = 0;

	for (int i = 0; i < s->nprocs; i++)
		n += s->procs[i].pid > 0 && !(s->procs[i].kind->hooks &&
					      s->procs[i].kind->hooks->drain);
	return n;
}

static void loop_a_little(struct sup *s)
{
	struct timespec ts = {0, 5 * 1000 * 1000};

	sup_procs_reap(s);
	event_base_loop(s->base, EVLOOP_NONBLOCK);
	nanosleep(&ts, NULL);
}

/* A child's state letter in /proc/PID/stat and its v1 freezer cgroup
 * ("" when it has none or is in the root one), for the log. */
static char proc_state(pid_t pid, char *freezer, size_t len)
{
	char path[64], buf[512], *q;
	FILE *f;
	char st = '?';

	freezer[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "re"))) {
		if (fgets(buf, sizeof(buf), f) && (q = strrchr(buf, ')')) && q[1] == ' ')
			st = q[2];
		fclose(f);
	}
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	if ((f = fopen(path, "re"))) {
		while (fgets(buf, sizeof(buf), f))
			if ((q = strstr(buf, ":freezer:")) && strcmp(q + 9, "/\n") != 0) {
				q[strcspn(q, "\n")] = '\0';
				snprintf(freezer, len, "%s", q + 9);
				break;
			}
		fclose(f);
	}
	return st;
}

/* SIGKILL every child still there and reap it, within KILL_WAIT_MS: a
 * child frozen by a cgroup v1 freezer (freezer.state FROZEN) does not die
 * before it is thawed (cgroup v2's cgroup.freeze lets SIGKILL through), and
 * a blocking waitpid would hang the shutdown for as long as whoever froze
 * it likes. Such a child is named and left behind: its SIGKILL is pending,
 * it ends when thawed (reaped by init then). */
static void kill_the_rest(struct sup *s)
{
	uint64_t deadline = sup_now_ms() + KILL_WAIT_MS;
	int alive;

	for (int i = 0; i < s->nprocs; i++)
		if (s->procs[i].pid > 0)
			kill(s->procs[i].pid, SIGKILL);
	for (;;) {
		struct timespec ts = {0, 10 * 1000 * 1000};

		alive = 0;
		for (int i = 0; i < s->nprocs; i++) {
			struct sup_proc *p = &s->procs[i];
			pid_t r;

			if (p->pid <= 0)
				continue;
			r = waitpid(p->pid, NULL, WNOHANG);
			if (r > 0 || (r < 0 && errno == ECHILD))
				p->pid = -1;
			else
				alive++;
		}
		if (!alive || sup_now_ms() >= deadline)
			break;
		nanosleep(&ts, NULL);
	}
	for (int i = 0; alive && i < s->nprocs; i++) {
		struct sup_proc *p = &s->procs[i];
		char freezer[256], why[384];
		char st;

		if (p->pid <= 0)
			continue;
		st = proc_state(p->pid, freezer, sizeof(freezer));
		snprintf(why, sizeof(why), "still there %d ms after SIGKILL (state %c%s%s%s): left "
			 "behind, it ends when it can run again", KILL_WAIT_MS, st,
			 freezer[0] ? ", in the freezer cgroup " : "", freezer,
			 freezer[0] ? ": frozen?" : "");
		log_warnx("%s[%d]: %s", p->kind->name, (int)p->pid, why);
		sup_audit_state(s, p->kind->name, p->pid, p->generation, sup_state_name(p->state),
				"left behind", why);
		p->pid = -1;
	}
}

/* Stop the children that produce, let those with a drain hook (printers)
 * finish and acknowledge what is queued for them (bounded), then stop
 * them: an alert is lost at shutdown only if a printer cannot take it
 * within the grace, and then it is counted. */
void sup_procs_stop(struct sup *s)
{
	uint64_t deadline;
	int alive;

	s->stopping = 1;
	log_info("stopping the children (none is restarted from now on)");
	term_some(s, 0);
	/* their exits first: what they sent before they ended is read then
	 * (proc_exited drains the socket) and queued for the printers */
	deadline = sup_now_ms() + 1000;
	while (producers_alive(s) && sup_now_ms() < deadline)
		loop_a_little(s);
	deadline = sup_now_ms() + DRAIN_MS;
	while (undrained(s, 1, 0) && sup_now_ms() < deadline)
		loop_a_little(s);
	undrained(s, 0, 1);
	term_some(s, 1);
	deadline = sup_now_ms() + 2000;
	do {
		struct timespec ts = {0, 20 * 1000 * 1000};
		sup_procs_reap(s);
		alive = 0;
		for (int i = 0; i < s->nprocs; i++)
			alive += s->procs[i].pid > 0;
		if (alive)
			nanosleep(&ts, NULL);
	} while (alive && sup_now_ms() < deadline);
	kill_the_rest(s);
	for (int i = 0; i < s->nprocs; i++) {
		struct sup_proc *p = &s->procs[i];

		if (p->peer) {
			ipc_peer_free(p->peer);
			p->peer = NULL;
		}
		sup_spawn_stderr_close(p);
		if (p->timer)
			event_free(p->timer);
		p->timer = NULL;
		if (p->aux_fd >= 0)
			close(p->aux_fd);
		p->aux_fd = -1;
		if (p->set_fd >= 0)
			close(p->set_fd);
		p->set_fd = -1;
	}
}
