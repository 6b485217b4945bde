/*
 * outbox.h - how a network printer (https; nats) delivers: every line
 * first waits in memory for the endpoint to confirm it; a line that is not
 * confirmed soon enough (the endpoint away or slow, too many bytes held,
 * a send that failed) goes to the printer's spool (printers/spool.h),
 * fsynced; the spool is drained oldest first when the endpoint is back.
 * A line is acknowledged to the supervisor (prn_acknowledge) only once it
 * is durable: confirmed by the endpoint, or synced into the spool, or
 * (refused for good) in the dead-letter file and reported lost;
 * acknowledgements go out in order.
 *
 * The transport (the printer's own file) only sends batches: a batch is
 * lines, each ending in '\n', and an idempotency key; it answers each send
 * with prn_outbox_done, from the loop's thread, after send returned.
 */
#ifndef JB_PRN_OUTBOX_H
#define JB_PRN_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct jb_settings;
struct prn_spool;
struct prn_outbox;

/* What a transport is asked to deliver. */
struct prn_batch {
	const char *buf;	/* the lines, each followed by '\n' */
	size_t len, lines;
	/* "jb1-" and 32 hex digits of the SHA-256 of buf: the same for every
	 * send of the same lines, from memory or the spool, after a restart */
	const char *key;
	int spooled;		/* 1: from the spool (a repeat is possible), 0: from memory */
};

/* The answer to a send. */
enum prn_sent {
	PRN_SENT_OK,		/* the endpoint has every line of the batch */
	PRN_SENT_RETRY,		/* not taken (network, timeout, 5xx): the same lines later */
	PRN_SENT_REJECTED,	/* refused for good (a final 4xx): never sent again */
};

struct prn_transport {
	/* 1 when a batch may be sent now (connected, the stream there) */
	int (*ready)(void *arg);
	/* start delivering b (copy what is kept: b is gone on return);
	 * prn_outbox_done(token) follows, never from inside send. 0, or -1:
	 * not sent, try later */
	int (*send)(void *arg, const struct prn_batch *b, uint64_t token);
	void *arg;
};

struct prn_outbox_conf {
	const char *name;	/* for the log: the printer kind */
	uint64_t memory_bytes;	/* lines held in memory before they spill (memory_max_bytes) */
	/* a line not confirmed within this goes to the spool; at most 1 s, so
	 * that at shutdown every line is durable (and acknowledged) within
	 * the supervisor's 1.5 s drain of the printers (procs.c DRAIN_MS) */
	uint32_t spill_ms;
	uint32_t send_timeout_ms; /* a send not answered within this failed */
	uint32_t batch_lines;	/* at most this many lines in a batch */
	uint32_t batch_bytes;	/* about this many bytes (one line always fits) */
	uint32_t batch_ms;	/* a batch not full goes this long after its first line */
	uint32_t retry_min_ms, retry_max_ms; /* back-off after a failed send */
	/* a rejected batch: appended to dead-letter.jsonl in this directory
	 * (-1: none) while it stays under dead_max_bytes, and reported lost
	 * with reject_cause */
	int dead_dirfd;
	uint64_t dead_max_bytes;
	const char *reject_cause;
	/* who is told of a loss (NULL: prn_loss, a data_loss event) */
	void (*loss)(void *arg, const char *cause, uint64_t count, const char *detail);
	void *loss_arg;
};

#define PRN_DEAD_LETTER "dead-letter.jsonl"

/* The keys every network printer's section has, named and bounded alike
 * (jibril.conf documents them once per section): put them last in the
 * kind's settings table, from index FIRST on. */
#define PRN_OUTBOX_NKEYS 9
#define PRN_OUTBOX_SETTINGS(spool_dir_default, batch_ms_default)                     \
	{"spool_dir", JB_SET_DIR, spool_dir_default, 0, 0},                          \
	{"spool_max_bytes", JB_SET_BYTES, "256M", 1u << 20, 1ull << 40},             \
	{"memory_max_bytes", JB_SET_BYTES, "8M", 64u << 10, 1ull << 30},             \
	{"spill_ms", JB_SET_U32, "1000", 10, 1000},                                  \
	{"batch_lines", JB_SET_U32, "500", 1, 100000},                               \
	{"batch_bytes", JB_SET_BYTES, "1M", 1024, 16u << 20},                        \
	{"batch_ms", JB_SET_U32, batch_ms_default, 0, 999},                          \
	{"retry_initial_ms", JB_SET_U32, "500", 10, 600000},                         \
	{"retry_max_ms", JB_SET_U32, "60000", 100, 3600000}
/* The checks between those keys (v: their values, in that order; *bad is
 * set relative to the first). 0, or -1 with err. */
int prn_outbox_check(const char *const *v, size_t *bad, char *err, size_t errlen);
/* Those keys from a child's settings into c (the other fields stay).
 * 0, or -1 with err. */
int prn_outbox_conf_read(const struct jb_settings *s, struct prn_outbox_conf *c, char *err,
			 size_t errlen);
/* The kind's spool in its directory dirfd (the spool_dir of s), at most
 * max_bytes. A directory another agent's printer holds (its lock) ends
 * this printer with EX_CONFIG and says why: the supervisor disables the
 * slot rather than restart it in a loop. NULL with err on another failure. */
struct prn_spool *prn_outbox_spool_open(const char *name, int dirfd, const struct jb_settings *s,
					char *err, size_t errlen);

/* The outbox of a printer whose spool is sp (the outbox does not own it),
 * its timers on base; ack(ack_arg, seq) says every line up to seq is
 * durable (prn_acknowledge in a printer). NULL on no memory. */
struct prn_outbox *prn_outbox_new(struct event_base *base, struct prn_spool *sp,
				  const struct prn_outbox_conf *c, const struct prn_transport *t,
				  void (*ack)(void *arg, uint64_t seq), void *ack_arg);
void prn_outbox_free(struct prn_outbox *ob);
/* A line the supervisor handed over (line NULL: nothing to send, it only
 * holds its place). */
void prn_outbox_take(struct prn_outbox *ob, uint64_t seq, const char *line, size_t len);
/* The answer to send(token). RETRY: not before not_before_ms from now
 * (a Retry-After; 0: the back-off decides; capped at retry_max_ms).
 * why says what failed, for the log and a loss report. A late or
 * unknown token is ignored. */
void prn_outbox_done(struct prn_outbox *ob, uint64_t token, enum prn_sent how,
		     uint64_t not_before_ms, const char *why);
/* The transport became ready: send what waits. */
void prn_outbox_kick(struct prn_outbox *ob);

struct prn_outbox_stats {
	uint64_t memory_lines, memory_bytes;	/* held in memory now */
	uint64_t sent_memory;	/* lines confirmed straight from memory */
	uint64_t spilled;	/* lines written to the spool */
	uint64_t sent_spool;	/* lines confirmed from the spool */
	uint64_t failures;	/* sends that failed (retried) */
	uint64_t rejected;	/* lines refused for good (dead letter, reported) */
};
void prn_outbox_stats(const struct prn_outbox *ob, struct prn_outbox_stats *st);
struct prn_figures;
/* A network printer's figures (printer.h) from its outbox and spool
 * (either NULL before they exist: zeros). */
void prn_outbox_figures(const struct prn_outbox *ob, const struct prn_spool *sp,
			struct prn_figures *f);

#endif
