/*
 * check_peer.c - the IPC peer layer (ipc/peer.c) over a SOCK_SEQPACKET
 * socketpair and a real libevent loop.
 *
 * Invariants checked: a valid message is dispatched with its fields on the
 * other side; a message of a type the sender's role may not send, a
 * malformed or oversize packet, or a second once-only message ends the
 * peer with dispatch(NULL), violation set and a reason, and nothing is
 * dispatched after it; EOF is dispatch(NULL) without violation; the write
 * queue is capped, delivers in order once the reader drains it, and write
 * interest is armed only while it is non-empty.
 *
 * The loop is driven with event_base_loop(EVLOOP_ONCE) plus a short
 * periodic timer (so ONCE always returns) until a condition holds or a
 * deadline passes: no sleeps stand in for synchronisation.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <event2/event.h>

#include "ipc/msg.h"
#include "ipc/peer.h"

#define MAXREC 4096

/* What one side's dispatch callback saw. */
struct rec {
	int nmsg;
	int nnull;
	int after_null;		/* messages dispatched after the NULL one */
	struct ipc_peer *peer_seen;
	void *arg_seen;
	uint32_t types[MAXREC];
	uint64_t a[MAXREC], b[MAXREC];	/* first two numeric fields */
	char str[128];		/* last string field seen */
	int violation;
	char why[160];
};

static void on_msg(struct ipc_peer *p, const struct ipc_msg *m, void *arg)
{
	struct rec *r = arg;

	r->peer_seen = p;
	r->arg_seen = arg;
	if (!m) {
		r->nnull++;
		r->violation = p->violation;
		snprintf(r->why, sizeof(r->why), "%s", p->why);
		return;
	}
	if (r->nnull)
		r->after_null++;
	if (r->nmsg < MAXREC) {
		r->types[r->nmsg] = m->type;
		switch (m->type) {
		case IPC_HEARTBEAT:
			r->a[r->nmsg] = m->u.heartbeat.processed;
			r->b[r->nmsg] = m->u.heartbeat.detections;
			break;
		case IPC_SNAPSHOT:
			r->a[r->nmsg] = m->u.snapshot.seq;
			r->b[r->nmsg] = m->u.snapshot.slot;
			break;
		case IPC_HELLO:
			r->a[r->nmsg] = m->u.hello.role;
			r->b[r->nmsg] = m->u.hello.generation;
			snprintf(r->str, sizeof(r->str), "%s", m->u.hello.kind);
			break;
		case IPC_LOG:
			r->a[r->nmsg] = m->u.log.level;
			snprintf(r->str, sizeof(r->str), "%s", m->u.log.text);
			break;
		case IPC_CONFIG:
			r->a[r->nmsg] = m->u.config.generation;
			snprintf(r->str, sizeof(r->str), "%s", m->u.config.hostname);
			break;
		}
	}
	r->nmsg++;
}

/* A connected pair: 'sup' is the supervisor's end (its peer is a child of
 * role child_role), 'chd' the child's end (its peer is the supervisor). */
struct pair {
	struct event_base *base;
	struct event *tick;
	int fd[2];
	struct ipc_peer *sup, *chd;
	struct rec rsup, rchd;
};

static void tick_cb(evutil_socket_t fd, short what, void *arg) {}

static void pair_open(struct pair *pr, uint32_t child_role, size_t qcap, int wrap_sup,
		      int wrap_chd)
{
	struct timeval tv = {0, 20000};

	memset(pr, 0, sizeof(*pr));
	pr->base = event_base_new();
	ck_assert_ptr_nonnull(pr->base);
	pr->tick = event_new(pr->base, -1, EV_PERSIST, tick_cb, NULL);
	ck_assert_ptr_nonnull(pr->tick);
	ck_assert_int_eq(event_add(pr->tick, &tv), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pr->fd), 0);
	if (wrap_sup) {
		pr->sup = ipc_peer_new(pr->base, pr->fd[0], child_role, 1234, 7, qcap, on_msg,
				       &pr->rsup);
		ck_assert_ptr_nonnull(pr->sup);
	}
	if (wrap_chd) {
		pr->chd = ipc_peer_new(pr->base, pr->fd[1], IPC_ROLE_SUPERVISOR, 1, 7, qcap, on_msg,
				       &pr->rchd);
		ck_assert_ptr_nonnull(pr->chd);
	}
}

static void pair_close(struct pair *pr)
{
	if (pr->sup)
		ipc_peer_free(pr->sup);
	else if (pr->fd[0] >= 0)
		close(pr->fd[0]);
	if (pr->chd)
		ipc_peer_free(pr->chd);
	else if (pr->fd[1] >= 0)
		close(pr->fd[1]);
	event_free(pr->tick);
	event_base_free(pr->base);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Run the loop until cond(arg) holds; 0, or -1 at the deadline. */
static int pump(struct event_base *base, int (*cond)(void *), void *arg)
{
	double deadline = now_s() + 5.0;

	while (!cond(arg)) {
		if (now_s() > deadline)
			return -1;
		ck_assert_int_ge(event_base_loop(base, EVLOOP_ONCE), 0);
	}
	return 0;
}

/* Run the loop a few rounds with nothing expected, to see that nothing
 * more happens (bounded, not timed). */
static void pump_idle(struct event_base *base, int rounds)
{
	for (int i = 0; i < rounds; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
}

static int got_null(void *arg) { return ((struct rec *)arg)->nnull > 0; }

struct want { struct rec *r; int n; };
static int got_n(void *arg)
{
	struct want *w = arg;
	return w->r->nmsg >= w->n || w->r->nnull > 0;
}

static char buf[IPC_MAX_MSG + 64];

static int enc_hb(uint64_t a, uint64_t b) { return ipc_enc_heartbeat(buf, sizeof(buf), a, b); }

/* ---------------------------------------------------------------------- */

START_TEST(dispatch_fields)
{
	struct pair pr;
	struct want w;
	int n;

	pair_open(&pr, IPC_ROLE_WORKER, 16, 1, 1);
	n = ipc_enc_hello(buf, sizeof(buf), IPC_ROLE_WORKER, "file_access", 7, 4321);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(ipc_peer_send(pr.chd, buf, (size_t)n), 0);
	n = enc_hb(41, 3);
	ck_assert_int_eq(ipc_peer_send(pr.chd, buf, (size_t)n), 0);
	n = ipc_enc_log(buf, sizeof(buf), IPC_LOG_WARN, "hello from the worker");
	ck_assert_int_eq(ipc_peer_send(pr.chd, buf, (size_t)n), 0);
	w = (struct want){&pr.rsup, 3};
	ck_assert_int_eq(pump(pr.base, got_n, &w), 0);
	ck_assert_int_eq(pr.rsup.nnull, 0);
	ck_assert_int_eq(pr.rsup.nmsg, 3);
	ck_assert_ptr_eq(pr.rsup.peer_seen, pr.sup);
	ck_assert_ptr_eq(pr.rsup.arg_seen, &pr.rsup);
	ck_assert_uint_eq(pr.rsup.types[0], IPC_HELLO);
	ck_assert_uint_eq(pr.rsup.a[0], IPC_ROLE_WORKER);
	ck_assert_uint_eq(pr.rsup.b[0], 7);
	ck_assert_uint_eq(pr.rsup.types[1], IPC_HEARTBEAT);
	ck_assert_uint_eq(pr.rsup.a[1], 41);
	ck_assert_uint_eq(pr.rsup.b[1], 3);
	ck_assert_uint_eq(pr.rsup.types[2], IPC_LOG);
	ck_assert_uint_eq(pr.rsup.a[2], IPC_LOG_WARN);
	ck_assert_str_eq(pr.rsup.str, "hello from the worker");
	ck_assert_int_eq(pr.sup->violation, 0);
	ck_assert_int_eq(pr.sup->dead, 0);
	ck_assert_uint_eq(pr.sup->pid, 1234);
	ck_assert_uint_eq(pr.sup->generation, 7);

	/* and the other way */
	n = ipc_enc_snapshot(buf, sizeof(buf), 99, 1, 5000);
	ck_assert_int_eq(ipc_peer_send(pr.sup, buf, (size_t)n), 0);
	n = ipc_enc_config(buf, sizeof(buf), 7, 1000, 0, "boot", "host-x");
	ck_assert_int_eq(ipc_peer_send(pr.sup, buf, (size_t)n), 0);
	w = (struct want){&pr.rchd, 2};
	ck_assert_int_eq(pump(pr.base, got_n, &w), 0);
	ck_assert_int_eq(pr.rchd.nmsg, 2);
	ck_assert_uint_eq(pr.rchd.types[0], IPC_SNAPSHOT);
	ck_assert_uint_eq(pr.rchd.a[0], 99);
	ck_assert_uint_eq(pr.rchd.b[0], 1);
	ck_assert_uint_eq(pr.rchd.types[1], IPC_CONFIG);
	ck_assert_str_eq(pr.rchd.str, "host-x");
	pair_close(&pr);
}
END_TEST

START_TEST(send_args)
{
	struct pair pr;

	pair_open(&pr, IPC_ROLE_WORKER, 4, 1, 1);
	ck_assert_int_eq(ipc_peer_send(pr.chd, buf, 0), -1);
	ck_assert_int_eq(ipc_peer_send(pr.chd, buf, IPC_MAX_MSG + 1), -1);
	ck_assert_uint_eq(pr.chd->queued, 0);
	pump_idle(pr.base, 4);
	ck_assert_int_eq(pr.rsup.nmsg + pr.rsup.nnull, 0);
	pair_close(&pr);
}
END_TEST

/* ---------------------------------------------------------------------- */

/* Send one packet from the child end, expect a violation on 'sup'. */
static void expect_violation(struct pair *pr, const void *pkt, size_t len, const char *why)
{
	ck_assert_int_eq(send(pr->fd[1], pkt, len, MSG_NOSIGNAL), (ssize_t)len);
	ck_assert_int_eq(pump(pr->base, got_null, &pr->rsup), 0);
	ck_assert_int_eq(pr->rsup.nnull, 1);
	ck_assert_int_eq(pr->rsup.violation, 1);
	ck_assert_int_eq(pr->sup->violation, 1);
	ck_assert_int_eq(pr->sup->dead, 1);
	ck_assert(pr->rsup.why[0] != '\0');
	if (why)
		ck_assert_msg(strstr(pr->rsup.why, why) != NULL, "why '%s', want '%s'",
			      pr->rsup.why, why);
	/* a dead peer takes no more to send */
	ck_assert_int_eq(ipc_peer_send(pr->sup, buf, 3), -1);
}

START_TEST(role_violation)
{
	struct pair pr;
	int n;

	/* a worker sending a supervisor-only message */
	pair_open(&pr, IPC_ROLE_WORKER, 16, 1, 0);
	n = ipc_enc_config(buf, sizeof(buf), 1, 1, 0, "b", "h");
	expect_violation(&pr, buf, (size_t)n, "may not send");
	ck_assert_int_eq(pr.rsup.nmsg, 0);
	pair_close(&pr);

	/* a worker sending what only printers send */
	pair_open(&pr, IPC_ROLE_WORKER, 16, 1, 0);
	n = ipc_enc_printed(buf, sizeof(buf), 1);
	expect_violation(&pr, buf, (size_t)n, "may not send");
	pair_close(&pr);

	/* a printer sending what only workers send */
	pair_open(&pr, IPC_ROLE_PRINTER, 16, 1, 0);
	n = ipc_enc_detection(buf, sizeof(buf), "k", "d", "{}", 2, "");
	expect_violation(&pr, buf, (size_t)n, "may not send");
	pair_close(&pr);
	pair_open(&pr, IPC_ROLE_PRINTER, 16, 1, 0);
	n = ipc_enc_snapshot_done(buf, sizeof(buf), 1);
	expect_violation(&pr, buf, (size_t)n, "may not send");
	pair_close(&pr);

	/* the supervisor sending a child's message to a child */
	pair_open(&pr, IPC_ROLE_WORKER, 16, 0, 1);
	n = enc_hb(1, 1);
	ck_assert_int_eq(send(pr.fd[0], buf, (size_t)n, 0), n);
	ck_assert_int_eq(pump(pr.base, got_null, &pr.rchd), 0);
	ck_assert_int_eq(pr.rchd.violation, 1);
	ck_assert_int_eq(pr.rchd.nmsg, 0);
	pair_close(&pr);

	/* and what the role may send passes */
	pair_open(&pr, IPC_ROLE_PRINTER, 16, 1, 0);
	n = ipc_enc_printed(buf, sizeof(buf), 5);
	ck_assert_int_eq(send(pr.fd[1], buf, (size_t)n, 0), n);
	{
		struct want w = {&pr.rsup, 1};
		ck_assert_int_eq(pump(pr.base, got_n, &w), 0);
	}
	ck_assert_int_eq(pr.rsup.nmsg, 1);
	ck_assert_int_eq(pr.rsup.nnull, 0);
	pair_close(&pr);
}
END_TEST

START_TEST(malformed)
{
	static const struct {
		const char *bytes;
		size_t len;
	} bad[] = {
		{"\xc1", 1},			  /* never-used msgpack byte */
		{"garbage!", 8},		  /* not an array */
		{"\x93\x01\xcc\xc8", 4},	  /* truncated array */
		{"\x92\x02\xcc\xca", 4},	  /* wrong version (HEARTBEAT) */
		{"\x92\x01\xcd\x03\xe7", 5},	  /* unknown type 999 */
		{"\x93\x01\xcc\xc9\x00", 5},	  /* READY with a field */
		{"\x92\x01\xcc\xc9\x00", 5},	  /* trailing byte */
	};
	struct pair pr;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		pair_open(&pr, IPC_ROLE_WORKER, 16, 1, 0);
		expect_violation(&pr, bad[i].bytes, bad[i].len, "malformed");
		ck_assert_int_eq(pr.rsup.nmsg, 0);
		pair_close(&pr);
	}
}
END_TEST

/* A zero-length packet is a packet that fails the decoder ("empty"), not
 * the end of the stream: on SOCK_SEQPACKET it must count as a violation. */
START_TEST(malformed_empty_packet)
{
	struct pair pr;

	pair_open(&pr, IPC_ROLE_WORKER, 16, 1, 0);
	ck_assert_int_eq(send(pr.fd[1], "", 0, 0), 0);
	ck_assert_int_eq(pump(pr.base, got_null, &pr.rsup), 0);
	ck_assert_msg(pr.rsup.violation == 1, "empty packet reported as '%s', violation %d",
		      pr.rsup.why, pr.rsup.violation);
	pair_close(&pr);
}
END_TEST

START_TEST(oversize)
{
	static char big[IPC_MAX_MSG + 1];
	struct pair pr;
	int sz = 4 * IPC_MAX_MSG;
	int n;

	pair_open(&pr, IPC_ROLE_WORKER, 16, 1, 0);
	ck_assert_int_eq(setsockopt(pr.fd[1], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)), 0);
	/* starts like a valid message, so only the size can refuse it */
	n = enc_hb(1, 2);
	memset(big, 0, sizeof(big));
	memcpy(big, buf, (size_t)n);
	expect_violation(&pr, big, sizeof(big), "exceeds");
	ck_assert_int_eq(pr.rsup.nmsg, 0);
	pair_close(&pr);

	/* exactly IPC_MAX_MSG is not "oversize" (but this one is malformed) */
	pair_open(&pr, IPC_ROLE_WORKER, 16, 1, 0);
	ck_assert_int_eq(setsockopt(pr.fd[1], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)), 0);
	expect_violation(&pr, big, IPC_MAX_MSG, "malformed");
	pair_close(&pr);
}
END_TEST

START_TEST(once_only)
{
	struct pair pr;
	struct want w;
	int n;

	/* HELLO, READY, HEARTBEAT, then HELLO again */
	pair_open(&pr, IPC_ROLE_WORKER, 16, 1, 1);
	n = ipc_enc_hello(buf, sizeof(buf), IPC_ROLE_WORKER, "network", 7, 1);
	ck_assert_int_eq(ipc_peer_send(pr.chd, buf, (size_t)n), 0);
	n = ipc_enc_ready(buf, sizeof(buf));
	ck_assert_int_eq(ipc_peer_send(pr.chd, buf, (size_t)n), 0);
	n = enc_hb(1, 0);
	ck_assert_int_eq(ipc_peer_send(pr.chd, buf, (size_t)n), 0);
	w = (struct want){&pr.rsup, 3};
	ck_assert_int_eq(pump(pr.base, got_n, &w), 0);
	ck_assert_int_eq(pr.rsup.nmsg, 3);
	ck_assert_int_eq(pr.rsup.nnull, 0);
	ck_assert_str_eq(pr.rsup.str, "network");
	n = ipc_enc_hello(buf, sizeof(buf), IPC_ROLE_WORKER, "network", 7, 1);
	expect_violation(&pr, buf, (size_t)n, "second");
	ck_assert_int_eq(pr.rsup.nmsg, 3);
	pair_close(&pr);

	/* a second READY likewise */
	pair_open(&pr, IPC_ROLE_PRINTER, 16, 1, 0);
	n = ipc_enc_ready(buf, sizeof(buf));
	ck_assert_int_eq(send(pr.fd[1], buf, (size_t)n, 0), n);
	expect_violation(&pr, buf, (size_t)n, "second");
	ck_assert_int_eq(pr.rsup.nmsg, 1);
	pair_close(&pr);

	/* heartbeats are not once-only */
	pair_open(&pr, IPC_ROLE_WORKER, 16, 1, 0);
	for (int i = 0; i < 5; i++) {
		n = enc_hb((uint64_t)i, 0);
		ck_assert_int_eq(send(pr.fd[1], buf, (size_t)n, 0), n);
	}
	w = (struct want){&pr.rsup, 5};
	ck_assert_int_eq(pump(pr.base, got_n, &w), 0);
	ck_assert_int_eq(pr.rsup.nmsg, 5);
	ck_assert_int_eq(pr.rsup.nnull, 0);
	pair_close(&pr);
}
END_TEST

START_TEST(nothing_after_violation)
{
	struct pair pr;
	int n;

	pair_open(&pr, IPC_ROLE_WORKER, 16, 1, 0);
	/* good, bad, good, good: all in the socket before the loop runs */
	n = enc_hb(1, 0);
	ck_assert_int_eq(send(pr.fd[1], buf, (size_t)n, 0), n);
	ck_assert_int_eq(send(pr.fd[1], "\xc1", 1, 0), 1);
	ck_assert_int_eq(send(pr.fd[1], buf, (size_t)n, 0), n);
	ck_assert_int_eq(send(pr.fd[1], buf, (size_t)n, 0), n);
	ck_assert_int_eq(pump(pr.base, got_null, &pr.rsup), 0);
	pump_idle(pr.base, 8);
	ck_assert_int_eq(pr.rsup.nmsg, 1);
	ck_assert_int_eq(pr.rsup.nnull, 1);
	ck_assert_int_eq(pr.rsup.after_null, 0);
	ck_assert_int_eq(pr.rsup.violation, 1);
	/* more input after the violation is not even read */
	ck_assert_int_eq(send(pr.fd[1], buf, (size_t)n, 0), n);
	pump_idle(pr.base, 8);
	ck_assert_int_eq(pr.rsup.nmsg, 1);
	ck_assert_int_eq(pr.rsup.nnull, 1);
	pair_close(&pr);
}
END_TEST

START_TEST(eof)
{
	struct pair pr;
	int n;

	pair_open(&pr, IPC_ROLE_WORKER, 16, 1, 1);
	/* a message, then the child goes away */
	n = enc_hb(9, 9);
	ck_assert_int_eq(ipc_peer_send(pr.chd, buf, (size_t)n), 0);
	ipc_peer_free(pr.chd);
	pr.chd = NULL;
	pr.fd[1] = -1;
	ck_assert_int_eq(pump(pr.base, got_null, &pr.rsup), 0);
	ck_assert_int_eq(pr.rsup.nmsg, 1); /* what was sent before EOF still arrives */
	ck_assert_int_eq(pr.rsup.nnull, 1);
	ck_assert_int_eq(pr.rsup.violation, 0);
	ck_assert_int_eq(pr.sup->violation, 0);
	ck_assert_int_eq(pr.sup->dead, 1);
	ck_assert(pr.rsup.why[0] != '\0');
	pump_idle(pr.base, 8);
	ck_assert_int_eq(pr.rsup.nnull, 1); /* reported once */
	n = enc_hb(1, 1);
	ck_assert_int_eq(ipc_peer_send(pr.sup, buf, (size_t)n), -1);
	pair_close(&pr);
}
END_TEST

/* The last words of a child that ended: messages it sent before it ended
 * are still read when the peer was marked dead by a failed send to it
 * (EPIPE: the supervisor wrote to it after it ended), but never after a
 * violation. Before, a send that failed first lost them (a dying
 * printer's acknowledgement, the log line saying why it ends). */
START_TEST(last_words_after_send_failure)
{
	struct pair pr;
	int n;

	for (int violation = 0; violation <= 1; violation++) {
		pair_open(&pr, IPC_ROLE_WORKER, 16, 1, 1);
		for (int i = 0; i < 2; i++) {
			n = enc_hb((uint64_t)i, 0);
			ck_assert_int_eq(ipc_peer_send(pr.chd, buf, (size_t)n), 0);
		}
		ipc_peer_free(pr.chd);
		pr.chd = NULL;
		pr.fd[1] = -1;
		/* as peer_gone leaves it after a failed send (or a violation) */
		pr.sup->dead = 1;
		pr.sup->violation = violation;
		ipc_peer_drain(pr.sup, 16);
		ck_assert_int_eq(pr.rsup.nmsg, violation ? 0 : 2);
		ck_assert_int_eq(pr.rsup.nnull, 0); /* its end was reported already */
		pair_close(&pr);
	}
}
END_TEST

/* ---------------------------------------------------------------------- */

#define QCAP 8

START_TEST(queue_cap)
{
	struct pair pr;
	struct want w;
	int sent = 0, n;

	/* the supervisor end is not read (not wrapped yet) */
	pair_open(&pr, IPC_ROLE_WORKER, QCAP, 0, 1);
	ck_assert_int_eq(event_pending(pr.chd->ev_write, EV_WRITE, NULL), 0);
	for (;;) {
		n = enc_hb((uint64_t)sent, 0xabc);
		if (ipc_peer_send(pr.chd, buf, (size_t)n) < 0)
			break;
		sent++;
		ck_assert_msg(sent < 1000000, "the queue never filled");
		if (pr.chd->queued > 0)
			ck_assert(event_pending(pr.chd->ev_write, EV_WRITE, NULL));
	}
	ck_assert_uint_eq(pr.chd->queued, QCAP);
	ck_assert_int_gt(sent, QCAP); /* the socket took some before the queue */
	ck_assert_int_le(sent, MAXREC);
	ck_assert(event_pending(pr.chd->ev_write, EV_WRITE, NULL));
	/* still refused while nobody reads */
	pump_idle(pr.base, 4);
	ck_assert_int_eq(ipc_peer_send(pr.chd, buf, (size_t)n), -1);
	ck_assert_int_eq(pr.chd->dead, 0);

	/* the reader starts: everything arrives, in order, nothing lost */
	pr.sup = ipc_peer_new(pr.base, pr.fd[0], IPC_ROLE_WORKER, 1, 1, QCAP, on_msg, &pr.rsup);
	ck_assert_ptr_nonnull(pr.sup);
	w = (struct want){&pr.rsup, sent};
	ck_assert_int_eq(pump(pr.base, got_n, &w), 0);
	ck_assert_int_eq(pr.rsup.nnull, 0);
	ck_assert_int_eq(pr.rsup.nmsg, sent);
	for (int i = 0; i < sent; i++) {
		ck_assert_uint_eq(pr.rsup.types[i], IPC_HEARTBEAT);
		ck_assert_uint_eq(pr.rsup.a[i], (uint64_t)i);
		ck_assert_uint_eq(pr.rsup.b[i], 0xabc);
	}
	ck_assert_uint_eq(pr.chd->queued, 0);
	/* write interest is dropped once the queue is empty */
	ck_assert_int_eq(event_pending(pr.chd->ev_write, EV_WRITE, NULL), 0);
	/* and the peer sends again */
	n = enc_hb(123456, 0);
	ck_assert_int_eq(ipc_peer_send(pr.chd, buf, (size_t)n), 0);
	w = (struct want){&pr.rsup, sent + 1};
	ck_assert_int_eq(pump(pr.base, got_n, &w), 0);
	ck_assert_uint_eq(pr.rsup.a[sent], 123456);
	pair_close(&pr);
}
END_TEST

START_TEST(flush)
{
	struct pair pr;
	struct want w;
	int sent = 0, n;

	/* ipc_peer_flush writes out what the queue holds once the reader
	 * reads; with no reader it gives up at its timeout */
	pair_open(&pr, IPC_ROLE_WORKER, QCAP, 0, 1);
	for (;;) {
		n = enc_hb((uint64_t)sent, 1);
		if (ipc_peer_send(pr.chd, buf, (size_t)n) < 0)
			break;
		sent++;
	}
	ipc_peer_flush(pr.chd, 10);
	ck_assert_uint_eq(pr.chd->queued, QCAP);
	pr.sup = ipc_peer_new(pr.base, pr.fd[0], IPC_ROLE_WORKER, 1, 1, QCAP, on_msg, &pr.rsup);
	w = (struct want){&pr.rsup, sent};
	ck_assert_int_eq(pump(pr.base, got_n, &w), 0);
	ck_assert_int_eq(pr.rsup.nmsg, sent);
	for (int i = 0; i < sent; i++)
		ck_assert_uint_eq(pr.rsup.a[i], (uint64_t)i);
	pair_close(&pr);
}
END_TEST

/* ---------------------------------------------------------------------- */

static void add(Suite *s, const char *name, const TTest *tests[])
{
	TCase *tc = tcase_create(name);

	tcase_set_timeout(tc, 30);
	for (int i = 0; tests[i] != NULL; i++)
		tcase_add_test(tc, tests[i]);
	suite_add_tcase(s, tc);
}

static Suite *peer_suite(void)
{
	Suite *s = suite_create("peer");

	add(s, "dispatch", (const TTest *[]){ dispatch_fields, send_args, NULL });
	add(s, "role_table", (const TTest *[]){ role_violation, NULL });
	add(s, "malformed", (const TTest *[]){ malformed, malformed_empty_packet, NULL });
	add(s, "oversize", (const TTest *[]){ oversize, NULL });
	add(s, "once_only", (const TTest *[]){ once_only, NULL });
	add(s, "after_violation", (const TTest *[]){ nothing_after_violation, NULL });
	add(s, "eof", (const TTest *[]){ eof, last_words_after_send_failure, NULL });
	add(s, "queue_cap", (const TTest *[]){ queue_cap, flush, NULL });
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(peer_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
