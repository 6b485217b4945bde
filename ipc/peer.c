/*
 * peer.c - the IPC peer layer: receive, strictly decode, check the role
 * table, dispatch; queue and write.
 *
 * Invariants:
 *  - a packet longer than IPC_MAX_MSG, one that fails ipc_decode, one whose
 *    type the sender's role may not send, or a second once-only message is
 *    a violation: the peer is marked dead and reported with NULL dispatch,
 *    never parsed further. The receiver itself never exits because of it.
 *  - EV_WRITE is armed only while the queue is non-empty.
 *  - single-threaded: one static receive buffer serves every peer, since a
 *    message is fully dispatched before the next recv.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "peer.h"

struct qpkt {
	struct qpkt *next;
	size_t len;
	unsigned char data[];
};

static unsigned char rxbuf[IPC_MAX_MSG + 1];
static struct ipc_msg rxmsg;

static void peer_gone(struct ipc_peer *p, int violation, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void peer_gone(struct ipc_peer *p, int violation, const char *fmt, ...)
{
	va_list ap;

	if (p->dead)
		return;
	p->dead = 1;
	p->violation = violation;
	va_start(ap, fmt);
	vsnprintf(p->why, sizeof(p->why), fmt, ap);
	va_end(ap);
	event_del(p->ev_read);
	event_del(p->ev_write);
	p->dispatch(p, NULL, p->arg);
}

/* Read and dispatch up to max messages; stops early when none is left.
 * last: the peer's last words after it ended. A peer marked dead because
 * a send to it failed (it had ended: EPIPE) may still have left messages
 * it sent before, and they count (an acknowledgement, a detection, the
 * log line saying why it ends); one dead of a violation is read no
 * further. Then the end of its messages ends the reading quietly. */
static void read_some(struct ipc_peer *p, int fd, int max, int last)
{
	char err[128];

	if (last && p->violation)
		return;
	for (int i = 0; i < max && (!p->dead || last); i++) {
		ssize_t n = recv(fd, rxbuf, sizeof(rxbuf), MSG_DONTWAIT | MSG_TRUNC);
		if (last && p->dead && n <= 0)
			return;
		if (last && p->dead) {
			/* past a bad one nothing is trusted; HELLO/READY not again */
			if ((size_t)n > IPC_MAX_MSG ||
			    ipc_decode(rxbuf, (size_t)n, &rxmsg, err, sizeof(err)) < 0 ||
			    !ipc_msg_allowed(rxmsg.type, p->role) || ipc_msg_once(rxmsg.type))
				return;
			p->dispatch(p, &rxmsg, p->arg);
			continue;
		}
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			peer_gone(p, 0, "recv: %s", strerror(errno));
			return;
		}
		if (n == 0) {
			/* SOCK_SEQPACKET: 0 is EOF, or a zero-length packet; only
			 * a hang-up tells them apart */
			struct pollfd pf = {.fd = fd, .events = POLLRDHUP};
			if (poll(&pf, 1, 0) > 0 && (pf.revents & (POLLHUP | POLLRDHUP)))
				peer_gone(p, 0, "closed");
			else
				peer_gone(p, 1, "malformed message: empty");
			return;
		}
		if ((size_t)n > IPC_MAX_MSG) {
			peer_gone(p, 1, "message of %zd bytes exceeds %d", n, IPC_MAX_MSG);
			return;
		}
		if (ipc_decode(rxbuf, (size_t)n, &rxmsg, err, sizeof(err)) < 0) {
			peer_gone(p, 1, "malformed message: %s", err);
			return;
		}
		if (!ipc_msg_allowed(rxmsg.type, p->role)) {
			peer_gone(p, 1, "%s may not send %s", ipc_role_name(p->role),
				  ipc_msg_name(rxmsg.type));
			return;
		}
		if (ipc_msg_once(rxmsg.type)) {
			uint32_t bit = 1u << (rxmsg.type % 32);
			if (p->once_seen & bit) {
				peer_gone(p, 1, "second %s", ipc_msg_name(rxmsg.type));
				return;
			}
			p->once_seen |= bit;
		}
		p->dispatch(p, &rxmsg, p->arg);
	}
}

static void peer_read(evutil_socket_t fd, short what, void *arg)
{
	/* drain what is there, but yield to the loop after a bounded batch */
	read_some(arg, fd, 64, 0);
}

void ipc_peer_drain(struct ipc_peer *p, int max)
{
	read_some(p, p->fd, max, 1);
}

static int peer_write_some(struct ipc_peer *p)
{
	while (p->qhead) {
		struct qpkt *q = p->qhead;
		ssize_t n = send(p->fd, q->data, q->len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			return -1;
		}
		p->qhead = q->next;
		if (!p->qhead)
			p->qtail = NULL;
		p->queued--;
		p->queued_bytes -= q->len;
		free(q);
	}
	return 0;
}

static void peer_write(evutil_socket_t fd, short what, void *arg)
{
	struct ipc_peer *p = arg;

	if (peer_write_some(p) < 0) {
		peer_gone(p, 0, "send: %s", strerror(errno));
		return;
	}
	if (!p->qhead)
		event_del(p->ev_write);
}

struct ipc_peer *ipc_peer_new(struct event_base *base, int fd, uint32_t role, pid_t pid,
			      uint64_t generation, size_t queue_cap, ipc_dispatch_cb cb, void *arg)
{
	struct ipc_peer *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->fd = fd;
	p->role = role;
	p->pid = pid;
	p->generation = generation;
	p->queue_cap = queue_cap;
	p->dispatch = cb;
	p->arg = arg;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	p->ev_read = event_new(base, fd, EV_READ | EV_PERSIST, peer_read, p);
	p->ev_write = event_new(base, fd, EV_WRITE | EV_PERSIST, peer_write, p);
	if (!p->ev_read || !p->ev_write || event_add(p->ev_read, NULL) < 0) {
		if (p->ev_read)
			event_free(p->ev_read);
		if (p->ev_write)
			event_free(p->ev_write);
		free(p);
		return NULL;
	}
	return p;
}

void ipc_peer_free(struct ipc_peer *p)
{
	struct qpkt *q, *n;

	if (!p)
		return;
	event_free(p->ev_read);
	event_free(p->ev_write);
	for (q = p->qhead; q; q = n) {
		n = q->next;
		free(q);
	}
	if (p->fd >= 0)
		close(p->fd);
	free(p);
}

int ipc_peer_send(struct ipc_peer *p, const void *buf, size_t len)
{
	struct qpkt *q;

	if (p->dead || len == 0 || len > IPC_MAX_MSG || p->queued >= p->queue_cap)
		return -1;
	q = malloc(sizeof(*q) + len);
	if (!q)
		return -1;
	q->next = NULL;
	q->len = len;
	memcpy(q->data, buf, len);
	if (p->qtail)
		p->qtail->next = q;
	else
		p->qhead = q;
	p->qtail = q;
	p->queued++;
	p->queued_bytes += len;
	if (peer_write_some(p) < 0) {
		/* reported through the read side (EOF/error) or the next write */
		event_add(p->ev_write, NULL);
		return 0;
	}
	if (p->qhead)
		event_add(p->ev_write, NULL);
	return 0;
}

void ipc_peer_flush(struct ipc_peer *p, int timeout_ms)
{
	struct pollfd pfd = {.fd = p->fd, .events = POLLOUT};

	while (p->qhead && !p->dead) {
		if (poll(&pfd, 1, timeout_ms) <= 0)
			return;
		if (peer_write_some(p) < 0)
			return;
	}
}
