/*
 * procs.c - the table of child kinds, and one state machine per child:
 * spawn, handshake, heartbeat deadlines, kill, reap, restart with back-off.
 *
 * Invariants:
 *  - every state change goes through set_state(), which logs "old -> new".
 *  - each spawn bumps the slot's generation; HELLO must carry it, and a
 *    peer of an older generation is never looked at again (it is freed at
 *    reap time together with its process).
 *  - a child that breaks the protocol is SIGKILLed at once; a hung one gets
 *    SIGTERM, then SIGKILL after a grace period (SIGSTOPped ones included).
 *    Nothing a child sends can make the supervisor exit.
 *  - restart delay doubles on each failure up to backoff_max_ms and resets
 *    after stable_ms of uptime; a failure before READY is a "bad start"
 *    and throttles; exit code EX_CONFIG (78) means "do not respawn". Kills
 *    sent while shutting down are not failures.
 *  - the child gets exactly: fd 0 /dev/null, fd 1 and 2 inherited, fd 3 its
 *    IPC socket, fd 4 the read-only snapshot (workers) or its output file
 *    (file printer). Everything else is closed before the re-exec.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/log.h"
#include "common/child.h"
#include "sup.h"

#define KILL_GRACE_MS 1000
#define PEER_QUEUE_CAP 4096
#define EX_CONFIG 78

static const struct sup_kind kinds[] = {
	{"file_access", IPC_ROLE_WORKER},
	{"execution", IPC_ROLE_WORKER},
	{"network", IPC_ROLE_WORKER},
	{"stdout", IPC_ROLE_PRINTER},
	{"file", IPC_ROLE_PRINTER},
};

static const char *state_name(enum sup_state s)
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
		 (unsigned long long)p->generation, state_name(p->state), state_name(st),
		 why ? ": " : "", why ? why : "");
	p->state = st;
}

static void arm_timer(struct sup_proc *p, uint32_t ms)
{
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
	evtimer_add(p->timer, &tv);
}

static struct sup *g_sup; /* for the dispatch callback's context */

static void proc_dispatch(struct ipc_peer *peer, const struct ipc_msg *m, void *arg);

static int enabled(const struct jb_config *c, const char *name)
{
	if (!strcmp(name, "file_access")) return c->worker_file_access;
	if (!strcmp(name, "execution")) return c->worker_execution;
	if (!strcmp(name, "network")) return c->worker_network;
	if (!strcmp(name, "stdout")) return c->printer_stdout;
	if (!strcmp(name, "file")) return c->printer_file[0] != '\0';
	return 0;
}

static void proc_spawn(struct sup *s, struct sup_proc *p);

static void proc_timer(evutil_socket_t fd, short what, void *arg)
{
	struct sup_proc *p = arg;

	switch (p->state) {
	case ST_STOPPING:
		log_warnx("%s[%d] did not stop within %d ms: SIGKILL", p->kind->name, (int)p->pid,
			  KILL_GRACE_MS);
		kill(p->pid, SIGKILL);
		break;
	case ST_IDLE:
	case ST_THROTTLED:
		if (!g_sup->stopping)
			proc_spawn(g_sup, p);
		break;
	default:
		/* its socket closed KILL_GRACE_MS ago and it is still there */
		if (p->peer && p->peer->dead && p->pid > 0)
			sup_proc_kill(g_sup, p, "did not exit after closing its IPC socket");
		break;
	}
}

int sup_procs_init(struct sup *s)
{
	g_sup = s;
	s->nprocs = 0;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		struct sup_proc *p;

		if (!enabled(&s->cfg, kinds[i].name))
			continue;
		p = &s->procs[s->nprocs];
		memset(p, 0, sizeof(*p));
		p->kind = &kinds[i];
		p->index = s->nprocs++;
		p->pid = -1;
		p->out_fd = -1;
		p->backoff_ms = s->cfg.backoff_initial_ms;
		p->timer = evtimer_new(s->base, proc_timer, p);
		if (!p->timer)
			return -1;
		if (!strcmp(p->kind->name, "file")) {
			p->out_fd = open(s->cfg.printer_file,
					 O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
			if (p->out_fd < 0) {
				log_warn("file printer: cannot open %s", s->cfg.printer_file);
				return -1;
			}
		}
	}
	return 0;
}

/* Runs in the forked child: lay out the fds and re-exec ourselves. */
static void __attribute__((noreturn)) child_exec(struct sup *s, struct sup_proc *p, int sock)
{
	char gen[32], lvl[8];
	int keep4 = -1, devnull;
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	/* move everything we keep above the target numbers first */
	sock = fcntl(sock, F_DUPFD_CLOEXEC, 10);
	if (p->kind->role == IPC_ROLE_WORKER)
		keep4 = fcntl(s->snap_ro_fd, F_DUPFD_CLOEXEC, 10);
	else if (p->out_fd >= 0)
		keep4 = fcntl(p->out_fd, F_DUPFD_CLOEXEC, 10);
	if (sock < 0 || dup2(sock, JB_CHILD_IPC_FD) < 0)
		_exit(127);
	if (keep4 >= 0 && dup2(keep4, JB_CHILD_AUX_FD) < 0)
		_exit(127);
	devnull = open("/dev/null", O_RDONLY);
	if (devnull >= 0 && devnull != 0) {
		dup2(devnull, 0);
		close(devnull);
	}
	close_range(JB_CHILD_AUX_FD + (keep4 >= 0 ? 1 : 0), ~0U, 0);
	snprintf(gen, sizeof(gen), "%llu", (unsigned long long)p->generation);
	snprintf(lvl, sizeof(lvl), "%d", log_getlevel());
	execl(s->self_exe, "jibril", "--role", p->kind->role == IPC_ROLE_WORKER ? "worker" : "printer",
	      "--kind", p->kind->name, "--generation", gen, "--log-level", lvl, (char *)NULL);
	_exit(127);
}

static void proc_spawn(struct sup *s, struct sup_proc *p)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		log_warn("%s: socketpair", p->kind->name);
		arm_timer(p, p->backoff_ms);
		return;
	}
	p->generation++;
	pid = fork();
	if (pid < 0) {
		log_warn("%s: fork", p->kind->name);
		close(sv[0]);
		close(sv[1]);
		arm_timer(p, p->backoff_ms);
		return;
	}
	if (pid == 0) {
		close(sv[0]);
		child_exec(s, p, sv[1]);
	}
	close(sv[1]);
	p->pid = pid;
	p->we_killed = 0;
	p->kill_reason[0] = '\0';
	p->spawned_ms = sup_now_ms();
	p->ready_ms = 0;
	p->peer = ipc_peer_new(s->base, sv[0], p->kind->role, pid, p->generation, PEER_QUEUE_CAP,
			       proc_dispatch, p);
	set_state(p, ST_SPAWNING, NULL);
	if (!p->peer) {
		close(sv[0]);
		sup_proc_kill(s, p, "cannot set up its IPC peer");
	}
}

void sup_procs_start(struct sup *s)
{
	for (int i = 0; i < s->nprocs; i++)
		proc_spawn(s, &s->procs[i]);
}

void sup_proc_kill(struct sup *s, struct sup_proc *p, const char *why)
{
	if (p->pid <= 0 || p->state == ST_STOPPING)
		return;
	p->we_killed = 1;
	snprintf(p->kill_reason, sizeof(p->kill_reason), "%s", why);
	if (p->peer && !p->peer->dead && p->state != ST_READY) {
		/* never got going: no point in a grace period */
		kill(p->pid, SIGKILL);
	} else if (p->peer && p->peer->violation) {
		kill(p->pid, SIGKILL);
	} else {
		kill(p->pid, SIGTERM);
	}
	set_state(p, ST_STOPPING, why);
	arm_timer(p, KILL_GRACE_MS);
}

static void send_config(struct sup *s, struct sup_proc *p)
{
	char buf[1024];
	int n = ipc_enc_config(buf, sizeof(buf), p->generation, s->cfg.heartbeat_ms,
			       (uint64_t)s->cfg.fault_hooks, s->boot_id, s->hostname);
	if (n < 0 || ipc_peer_send(p->peer, buf, (size_t)n) < 0)
		sup_proc_kill(s, p, "cannot send CONFIG");
	else if (p->kind->role == IPC_ROLE_WORKER && sup_recipes_send(&s->recipes, p->peer) < 0)
		sup_proc_kill(s, p, "cannot send the recipes");
}

void sup_procs_send_recipes(struct sup *s)
{
	for (int i = 0; i < s->nprocs; i++) {
		struct sup_proc *p = &s->procs[i];
		if (p->kind->role != IPC_ROLE_WORKER || !p->peer ||
		    (p->state != ST_HANDSHAKE && p->state != ST_READY))
			continue;
		if (sup_recipes_send(&s->recipes, p->peer) < 0)
			sup_proc_kill(s, p, "cannot send the new recipes");
	}
}

static void proc_violation(struct sup *s, struct sup_proc *p, const char *why)
{
	p->peer->violation = 1;
	log_warnx("%s[%d]: protocol violation: %s", p->kind->name, (int)p->pid, why);
	sup_proc_kill(s, p, "protocol violation");
}

static void proc_dispatch(struct ipc_peer *peer, const struct ipc_msg *m, void *arg)
{
	struct sup_proc *p = arg;
	struct sup *s = g_sup;

	if (peer != p->peer)
		return; /* stale generation: ignore */
	if (!m) {
		if (peer->violation) {
			log_warnx("%s[%d]: protocol violation: %s", p->kind->name, (int)p->pid,
				  peer->why);
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
		if (p->kind->role == IPC_ROLE_WORKER)
			sup_collector_catch_up(s, p);
		else
			sup_router_printer_ready(s, p);
		break;
	case IPC_HEARTBEAT:
		p->last_beat_ms = sup_now_ms();
		p->processed = m->u.heartbeat.processed;
		p->detections = m->u.heartbeat.detections;
		break;
	case IPC_LOG:
		if (m->u.log.level <= IPC_LOG_WARN)
			log_warnx("%s[%d]: %s", p->kind->name, (int)p->pid, m->u.log.text);
		else if (m->u.log.level == IPC_LOG_INFO)
			log_info("%s[%d]: %s", p->kind->name, (int)p->pid, m->u.log.text);
		else
			log_debug("%s[%d]: %s", p->kind->name, (int)p->pid, m->u.log.text);
		break;
	case IPC_SNAPSHOT_DONE:
		if (p->state != ST_READY) {
			proc_violation(s, p, "SNAPSHOT_DONE before READY");
			return;
		}
		sup_collector_done(s, p, m->u.done.seq);
		break;
	case IPC_DETECTION:
		if (p->state != ST_READY) {
			proc_violation(s, p, "DETECTION before READY");
			return;
		}
		if (sup_router_detection(s, p->kind->name, m->u.detection.kind,
					 m->u.detection.dedup_key, m->u.detection.json,
					 m->u.detection.json_len, m->u.detection.limits) < 0)
			proc_violation(s, p, "DETECTION of a recipe another worker runs");
		break;
	case IPC_PRINTED:
		sup_router_printed(s, p, m->u.printed.seq);
		break;
	default:
		proc_violation(s, p, "unexpected message");
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

static void proc_exited(struct sup *s, struct sup_proc *p, int status)
{
	uint64_t now = sup_now_ms();
	int was_ready = p->ready_ms != 0;
	char how[96], why[320];

	describe_exit(status, how, sizeof(how));
	evtimer_del(p->timer);
	if (p->peer) {
		ipc_peer_free(p->peer);
		p->peer = NULL;
	}
	if (p->kind->role == IPC_ROLE_WORKER)
		sup_collector_proc_gone(s, p);
	else
		p->sent_seq = p->printed_seq; /* unacked lines go again */
	snprintf(why, sizeof(why), "%s%s%s (last heartbeat: %llu %s, %llu %s)", how,
		 p->we_killed ? " after " : "", p->we_killed ? p->kill_reason : "",
		 (unsigned long long)p->processed,
		 p->kind->role == IPC_ROLE_WORKER ? "records" : "lines printed",
		 (unsigned long long)p->detections,
		 p->kind->role == IPC_ROLE_WORKER ? "detections" : "invalid lines dropped");
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
	if (was_ready && now - p->ready_ms >= s->cfg.stable_ms)
		p->backoff_ms = s->cfg.backoff_initial_ms; /* it had been stable */
	if (!was_ready) {
		set_state(p, ST_THROTTLED, why);
		log_warnx("%s: failed before READY; next try in %u ms", p->kind->name,
			  p->backoff_ms);
	} else {
		set_state(p, ST_IDLE, why);
		log_info("%s: restarting in %u ms", p->kind->name, p->backoff_ms);
	}
	p->pid = -1;
	arm_timer(p, p->backoff_ms);
	p->backoff_ms = p->backoff_ms * 2 > s->cfg.backoff_max_ms ? s->cfg.backoff_max_ms
								  : p->backoff_ms * 2;
}

void sup_procs_reap(struct sup *s)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (int i = 0; i < s->nprocs; i++) {
			if (s->procs[i].pid == pid) {
				proc_exited(s, &s->procs[i], status);
				break;
			}
		}
	}
}

void sup_procs_tick(struct sup *s)
{
	uint64_t now = sup_now_ms();

	for (int i = 0; i < s->nprocs; i++) {
		struct sup_proc *p = &s->procs[i];

		if ((p->state == ST_SPAWNING || p->state == ST_HANDSHAKE) &&
		    now - p->spawned_ms > s->cfg.handshake_ms)
			sup_proc_kill(s, p, "no handshake before its deadline");
		else if (p->state == ST_READY && now - p->last_beat_ms > s->cfg.heartbeat_deadline_ms)
			sup_proc_kill(s, p, "hung: no heartbeat before its deadline");
	}
}

static void term_role(struct sup *s, uint32_t role)
{
	for (int i = 0; i < s->nprocs; i++) {
		struct sup_proc *p = &s->procs[i];
		if (p->kind->role != role)
			continue;
		evtimer_del(p->timer);
		if (p->pid > 0) {
			p->we_killed = 1;
			snprintf(p->kill_reason, sizeof(p->kill_reason), "shutdown");
			kill(p->pid, SIGTERM);
		}
	}
}

static int printers_ready(struct sup *s)
{
	for (int i = 0; i < s->nprocs; i++)
		if (s->procs[i].kind->role == IPC_ROLE_PRINTER && s->procs[i].state == ST_READY)
			return 1;
	return 0;
}

/* Stop the workers, let the printers print and acknowledge what is left
 * (bounded), then stop the printers: an alert is lost at shutdown only if
 * a printer cannot take it within the grace, and then it is counted. */
void sup_procs_stop(struct sup *s)
{
	uint64_t deadline;
	int alive;

	s->stopping = 1;
	term_role(s, IPC_ROLE_WORKER);
	deadline = sup_now_ms() + 1500;
	while (sup_router_pending() && printers_ready(s) && sup_now_ms() < deadline) {
		struct timespec ts = {0, 5 * 1000 * 1000};
		event_base_loop(s->base, EVLOOP_NONBLOCK);
		sup_router_pump(s);
		nanosleep(&ts, NULL);
	}
	if (sup_router_pending())
		log_warnx("shutdown: %zu alerts were not acknowledged by every printer",
			  sup_router_pending());
	term_role(s, IPC_ROLE_PRINTER);
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
	for (int i = 0; i < s->nprocs; i++) {
		if (s->procs[i].pid > 0) {
			kill(s->procs[i].pid, SIGKILL);
			if (waitpid(s->procs[i].pid, NULL, 0) > 0)
				s->procs[i].pid = -1;
		}
		if (s->procs[i].peer) {
			ipc_peer_free(s->procs[i].peer);
			s->procs[i].peer = NULL;
		}
		if (s->procs[i].timer)
			event_free(s->procs[i].timer);
		s->procs[i].timer = NULL;
		if (s->procs[i].out_fd >= 0)
			close(s->procs[i].out_fd);
		s->procs[i].out_fd = -1;
	}
}
