/*
 * outbox.h - how a network printer (nats; https) delivers: every line
 * first waits in memory for the endpoint to confirm it; a line that is not
 * confirmed soon enough (the endpoint away or slow, too many bytes held)
 * goes to the printer's spool (printers/spool.h), fsynced; the spool is
 * drained oldest first when the endpoint is back. A line is acknowledged
 * to the supervisor (prn_acknowledge) only once it is durable: confirmed by the
 * endpoint, or synced into the spool; acknowledgements go out in order.
 *
 * The transport (the printer's own file) only sends batches: a batch is
 * lines, each ending in '\n', and an idempotency key; it answers each send
 * with prn_outbox_done, from the loop's thread, within a bounded time.
 */
#ifndef JB_PRN_OUTBOX_H
#define JB_PRN_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct prn_spool;
struct prn_outbox;

/* What a transport is asked to deliver. */
struct prn_batch {
	const char *buf;	/* the lines, each followed by '\n' */
	size_t len, lines;
	const char *key;	/* the same for every send of the same spooled batch */
	int spooled;		/* 1: from the spool (a repeat is possible), 0: from memory */
};

struct prn_transport {
	/* 1 when a batch may be sent now (connected, the stream there) */
	int (*ready)(void *arg);
	/* start delivering b (copy what is kept: b is gone on return);
	 * prn_outbox_done(token) follows. 0, or -1: not sent, try later */
	int (*send)(void *arg, const struct prn_batch *b, uint64_t token);
	void *arg;
};

struct prn_outbox_conf {
	const char *name;	/* for the log: the printer kind */
	uint64_t memory_bytes;	/* lines held in memory before they spill (memory_max_bytes) */
	uint32_t spill_ms;	/* a line not confirmed within this goes to the spool */
	uint32_t send_timeout_ms; /* a send not answered within this failed */
	uint32_t batch_lines;	/* at most this many lines in a batch */
	uint32_t batch_bytes;	/* about this many bytes (one line always fits) */
	uint32_t retry_min_ms, retry_max_ms; /* back-off after a failed send */
};

/* The outbox of a printer whose spool is sp (the outbox does not own it),
 * its timers on base; ack(ack_arg, seq) says every line up to seq is
 * durable (prn_acknowledge in a printer). NULL on no memory. */
struct prn_outbox *prn_outbox_new(struct event_base *base, struct prn_spool *sp,
				  const struct prn_outbox_conf *c, const struct prn_transport *t,
				  void (*ack)(void *arg, uint64_t seq), void *ack_arg);
/* A line the supervisor handed over (line NULL: nothing to send, it only
 * holds its place). */
void prn_outbox_take(struct prn_outbox *ob, uint64_t seq, const char *line, size_t len);
/* The answer to send(token): ok 1 when the endpoint confirmed every line
 * of the batch; why says what failed. A late or unknown token is ignored. */
void prn_outbox_done(struct prn_outbox *ob, uint64_t token, int ok, const char *why);
/* The transport became ready: send what waits. */
void prn_outbox_kick(struct prn_outbox *ob);

struct prn_outbox_stats {
	uint64_t memory_lines, memory_bytes;	/* held in memory now */
	uint64_t sent_memory;	/* lines confirmed straight from memory */
	uint64_t spilled;	/* lines written to the spool */
	uint64_t sent_spool;	/* lines confirmed from the spool */
	uint64_t failures;	/* sends that failed */
};
void prn_outbox_stats(const struct prn_outbox *ob, struct prn_outbox_stats *st);

#endif
