/*
 * peer.h - one IPC endpoint on libevent (tmux proc.c style): a
 * SOCK_SEQPACKET fd, the role of the other side, its pid and spawn
 * generation, a capped write queue.
 *
 * dispatch(peer, msg) is called for each valid message; dispatch(peer,
 * NULL) means the peer is gone: EOF, socket error, or a protocol
 * violation (peer->violation set, peer->why says what). After a NULL
 * dispatch the peer delivers nothing more; the owner frees it.
 */
#ifndef JB_IPC_PEER_H
#define JB_IPC_PEER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "msg.h"

struct event_base;
struct ipc_peer;

typedef void (*ipc_dispatch_cb)(struct ipc_peer *p, const struct ipc_msg *m, void *arg);

struct ipc_peer {
	int fd;
	uint32_t role;		/* role of the OTHER side */
	pid_t pid;
	uint64_t generation;
	int violation;		/* set when the peer broke the protocol */
	int dead;
	char why[160];
	uint32_t once_seen;	/* bit per once-only message already received */
	size_t queued;		/* packets waiting to be written */
	size_t queued_bytes;	/* and their bytes (the router caps what it hands a printer) */
	size_t queue_cap;
	void *arg;
	ipc_dispatch_cb dispatch;
	struct event *ev_read, *ev_write;
	struct qpkt *qhead, *qtail;
};

/* Wrap fd (non-blocking is set here). queue_cap: packets before send()
 * refuses (a peer that does not read counts as hung). */
struct ipc_peer *ipc_peer_new(struct event_base *base, int fd, uint32_t role, pid_t pid,
			      uint64_t generation, size_t queue_cap, ipc_dispatch_cb cb, void *arg);
/* Close the fd, drop the queue, free. */
void ipc_peer_free(struct ipc_peer *p);

/* Queue one encoded message. 0, or -1 when the queue is full or the peer
 * is dead (the message is not queued). */
int ipc_peer_send(struct ipc_peer *p, const void *buf, size_t len);

/* Read and dispatch, now, up to max messages already in the socket (the
 * last words of a child that has exited, or heartbeats the loop has not
 * read yet); the same checks and the same dispatch as the event path. */
void ipc_peer_drain(struct ipc_peer *p, int max);

/* Write the queue out synchronously (blocking up to timeout_ms); for a
 * child about to exit. */
void ipc_peer_flush(struct ipc_peer *p, int timeout_ms);

#endif
