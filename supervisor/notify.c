/*
 * notify.c - the supervisor as a systemd Type=notify service
 * (contrib/systemd/jibril.service): READY=1 once it can be relied on,
 * a one-line STATUS= every few seconds, WATCHDOG=1 while its loop is
 * healthy, RELOADING=1/READY=1 around SIGHUP and STOPPING=1 at shutdown.
 *
 * Invariants:
 *  - nothing happens, and no timer exists, without NOTIFY_SOCKET: a run
 *    from a terminal or a test without it is untouched.
 *  - READY=1 is sent once, after the BPF programs are attached (this
 *    module starts after them) and every child reached READY once, or
 *    when handshake_ms + 1 s passed since the children were started:
 *    by then each child had its full handshake window, and one that did
 *    not make it is the slot machine's business (throttle, back-off); the
 *    kernel side records meanwhile, so holding systemd's start (and its
 *    dependants) longer would buy nothing. STATUS= says which are missing.
 *  - WATCHDOG=1 is fed from a timer of the supervisor's own libevent loop
 *    at half of WATCHDOG_USEC, and only while a cadence query ran within
 *    SUP_NOTIFY_CADENCES cadences (+1 s): a loop that is stuck sends
 *    nothing, and one that runs but whose cadence stopped withholds it,
 *    so systemd's WatchdogSignal ends a wedged supervisor either way.
 *  - everything read here is state the supervisor keeps anyway; a STATUS
 *    line costs a walk over the slots and one datagram.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <systemd/sd-daemon.h>

#include "common/log.h"
#include "supervisor/loader.h"
#include "supervisor/notify.h"
#include "sup.h"

#define STATUS_MS 5000		/* STATUS= refresh once READY was sent */
#define STARTING_POLL_MS 100	/* until then: is every child READY yet? */

struct sup_notify {
	struct event *ev_status, *ev_watchdog;
	uint64_t started_ms;		/* the children were about to start */
	uint64_t last_cadence_ms;	/* 0: none yet */
	uint64_t watchdog_ms;		/* feed period, 0: no watchdog */
	unsigned char seen_ready[SUP_MAX_PROCS]; /* the slot was READY once */
	int ready_sent, stopping;
	int withheld;			/* feeds withheld since the last one sent */
	int send_failed;		/* a failure was logged (once) */
};

int sup_notify_healthy(uint64_t now_ms, uint64_t last_cadence_ms, uint32_t cadence_ms)
{
	uint64_t limit = (uint64_t)cadence_ms * SUP_NOTIFY_CADENCES + 1000;

	return now_ms < last_cadence_ms || now_ms - last_cadence_ms <= limit;
}

uint64_t sup_notify_watchdog_ms(void)
{
	uint64_t usec = 0;

	if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
		return 0;
	return usec / 2000 ? usec / 2000 : 1;
}

static void notify_send(struct sup_notify *n, const char *text)
{
	int r = sd_notify(0, text);

	if (r < 0 && !n->send_failed) {
		n->send_failed = 1;
		log_warnx("sd_notify to $NOTIFY_SOCKET failed: %s (\"%.40s\"; logged once)",
			  strerror(-r), text);
	}
}

static struct timeval ms_tv(uint64_t ms)
{
	struct timeval tv = {.tv_sec = (time_t)(ms / 1000), .tv_usec = (long)(ms % 1000) * 1000};
	return tv;
}

/* Children READY now / in all; the names of those never READY go to missing. */
static int count_ready(struct sup *s, struct sup_notify *n, int *total, char *missing, size_t len)
{
	int ready = 0;
	size_t used = 0;

	missing[0] = '\0';
	for (int i = 0; i < s->nprocs && i < SUP_MAX_PROCS; i++) {
		struct sup_proc *p = &s->procs[i];

		if (p->state == ST_READY) {
			n->seen_ready[i] = 1;
			ready++;
		} else if (!n->seen_ready[i] && used + strlen(p->kind->name) + 2 < len) {
			used += (size_t)snprintf(missing + used, len - used, "%s%s", used ? " " : "",
						 p->kind->name);
		}
	}
	*total = s->nprocs;
	return ready;
}

/* The one-line summary after "STATUS=" */
static void status_text(struct sup *s, struct sup_notify *n, const char *what, char *buf,
			size_t len)
{
	char missing[128], age[48];
	int total, ready = count_ready(s, n, &total, missing, sizeof(missing));
	uint64_t now = sup_now_ms();

	if (n->last_cadence_ms)
		snprintf(age, sizeof(age), "last query %.1f s ago",
			 (double)(now - n->last_cadence_ms) / 1000.0);
	else
		snprintf(age, sizeof(age), "no query yet");
	snprintf(buf, len, "STATUS=%s: %d/%d children ready%s%s%s, %s, %llu events routed, "
		 "backend %s",
		 what, ready, total, missing[0] ? " (never ready: " : "", missing,
		 missing[0] ? ")" : "", age, (unsigned long long)sup_router_last_seq(s),
		 !s->bpf ? "none" : s->bpf->backend == JB_BACKEND_FENTRY ? "fentry" : "tracepoint");
}

static void on_status(evutil_socket_t fd, short what, void *arg)
{
	struct sup *s = arg;
	struct sup_notify *n = s->notify;
	char buf[512], missing[128];
	int total, ready;

	if (n->stopping)
		return;
	if (n->ready_sent) {
		status_text(s, n, "running", buf, sizeof(buf));
		notify_send(n, buf);
		return;
	}
	ready = count_ready(s, n, &total, missing, sizeof(missing));
	if (ready < total && sup_now_ms() - n->started_ms < (uint64_t)s->cfg.handshake_ms + 1000)
		return; /* the poll goes on */
	/* "READY=1\n" then the status line: one datagram, both at once */
	memcpy(buf, "READY=1\n", 8);
	status_text(s, n, "running", buf + 8, sizeof(buf) - 8);
	notify_send(n, buf);
	n->ready_sent = 1;
	if (ready < total)
		log_warnx("told systemd we are ready after %u ms with %d of %d children ready "
			  "(never ready: %s); they go on restarting",
			  s->cfg.handshake_ms + 1000, ready, total, missing);
	else
		log_info("told systemd we are ready: %d children ready", total);
	struct timeval tv = ms_tv(STATUS_MS);

	event_del(n->ev_status);
	event_add(n->ev_status, &tv);
}

static void on_watchdog(evutil_socket_t fd, short what, void *arg)
{
	struct sup *s = arg;
	struct sup_notify *n = s->notify;
	uint64_t now = sup_now_ms(), last = n->last_cadence_ms ? n->last_cadence_ms : n->started_ms;

	if (!sup_notify_healthy(now, last, s->cfg.cadence_ms)) {
		if (!n->withheld++)
			log_warnx("the last cadence query ran %llu ms ago (cadence %u ms): the "
				  "systemd watchdog is no longer fed, and systemd ends the "
				  "supervisor if this lasts",
				  (unsigned long long)(now - last), s->cfg.cadence_ms);
		return;
	}
	if (n->withheld)
		log_info("cadence queries run again: feeding the systemd watchdog again "
			 "(%d feeds were withheld)", n->withheld);
	n->withheld = 0;
	notify_send(n, "WATCHDOG=1");
}

int sup_notify_init(struct sup *s)
{
	const char *sock = getenv("NOTIFY_SOCKET");
	struct sup_notify *n;
	struct timeval tv;

	s->notify = NULL;
	if (!sock || !*sock)
		return 0;
	n = calloc(1, sizeof(*n));
	if (!n) {
		log_warnx("out of memory: systemd is not notified");
		return -1;
	}
	s->notify = n;
	n->started_ms = sup_now_ms();
	n->watchdog_ms = sup_notify_watchdog_ms();
	n->ev_status = event_new(s->base, -1, EV_PERSIST, on_status, s);
	n->ev_watchdog = n->watchdog_ms ? event_new(s->base, -1, EV_PERSIST, on_watchdog, s) : NULL;
	tv = ms_tv(STARTING_POLL_MS);
	if (!n->ev_status || event_add(n->ev_status, &tv) < 0 ||
	    (n->watchdog_ms && !n->ev_watchdog)) {
		log_warnx("cannot make the sd_notify timers: systemd is not notified");
		sup_notify_free(s);
		return -1;
	}
	if (n->ev_watchdog) {
		tv = ms_tv(n->watchdog_ms);
		event_add(n->ev_watchdog, &tv);
	}
	notify_send(n, "STATUS=starting: BPF programs attached, starting the children");
	log_info("systemd notification socket %s%s%llu ms", sock,
		 n->watchdog_ms ? ": watchdog fed every " : " (no watchdog)",
		 (unsigned long long)n->watchdog_ms);
	return 0;
}

void sup_notify_cadence(struct sup *s)
{
	if (s->notify)
		s->notify->last_cadence_ms = sup_now_ms();
}

void sup_notify_reloading(struct sup *s)
{
	char buf[96];
	struct timespec ts;

	if (!s->notify || s->notify->stopping)
		return;
	/* MONOTONIC_USEC: what systemd 253+ (Type=notify-reload) matches
	 * the reload with; older ones ignore it */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(buf, sizeof(buf), "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading",
		 (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000);
	notify_send(s->notify, buf);
}

void sup_notify_reloaded(struct sup *s)
{
	struct sup_notify *n = s->notify;
	char buf[512];

	if (!n || n->stopping)
		return;
	/* READY=1 ends the reload for systemd even when start-up had not sent
	 * it yet: the reload happened, and the loop runs */
	memcpy(buf, "READY=1\n", 8);
	status_text(s, n, "running", buf + 8, sizeof(buf) - 8);
	notify_send(n, buf);
	if (!n->ready_sent) {
		struct timeval tv = ms_tv(STATUS_MS);

		n->ready_sent = 1;
		event_del(n->ev_status);
		event_add(n->ev_status, &tv);
	}
}

void sup_notify_stopping(struct sup *s)
{
	if (!s->notify || s->notify->stopping)
		return;
	s->notify->stopping = 1;
	notify_send(s->notify, "STOPPING=1\nSTATUS=stopping: a last query, then the children");
}

void sup_notify_free(struct sup *s)
{
	struct sup_notify *n = s->notify;

	if (!n)
		return;
	if (n->ev_status)
		event_free(n->ev_status);
	if (n->ev_watchdog)
		event_free(n->ev_watchdog);
	free(n);
	s->notify = NULL;
}
