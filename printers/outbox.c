/*
 * outbox.c - a network printer's delivery (outbox.h): memory first, the
 * spool when the endpoint does not confirm in time, the spool drained
 * oldest first.
 *
 * Invariants:
 *  - a line is acknowledged (ack) only once it is durable: the endpoint
 *    confirmed the batch that held it, or it is in the spool and the spool
 *    was synced; acknowledgements go out in the order lines came in (the
 *    supervisor's PRINTED is cumulative);
 *  - while the spool holds anything, new lines go behind it into the
 *    spool, so delivery stays oldest first; memory is used only while the
 *    endpoint keeps up;
 *  - at most one batch is with the transport at a time; a send that is
 *    not answered within send_timeout_ms counts as failed, and its late
 *    answer is ignored; a spilled line may also reach the endpoint through
 *    a batch still in flight: it is then sent again from the spool with
 *    the same event (the endpoint drops repeats by the event's uuid);
 *  - a spool that cannot take or sync a line ends the printer: nothing is
 *    acknowledged that is not durable, and the supervisor, which keeps
 *    every unacknowledged line, sends them again to the next printer;
 *  - memory is bounded: past memory_bytes (or spill_ms for the oldest
 *    line) everything held goes to the spool, which is bounded itself
 *    (its oldest dropped and reported, spool.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <event2/event.h>

#include "common/log.h"
#include "printers/outbox.h"
#include "printers/spool.h"

enum { E_WAIT, E_SENT, E_DONE, E_SPILL, E_SYNCED };

struct ent {
	uint64_t seq;
	char *line;	/* NULL: nothing to send, only its place */
	size_t len;
	uint64_t t_ms;	/* when it came */
	int st;
};

struct prn_outbox {
	struct prn_outbox_conf c;
	struct prn_transport t;
	struct prn_spool *sp;
	void (*ack)(void *arg, uint64_t seq);
	void *ack_arg;
	struct ent *e;
	size_t head, n, cap;	/* live entries are e[head..n) */
	uint64_t bytes;		/* of lines in memory */
	/* the batch with the transport */
	int busy, busy_spool;
	uint64_t token, busy_since, busy_first, busy_last;
	struct prn_spool_batch sb;
	char *mbuf;		/* a memory batch's lines */
	size_t mcap;
	uint64_t retry_at, backoff_ms;
	int unsynced;		/* lines appended to the spool, not yet synced */
	int spooling;		/* said that lines go to the spool, not yet that it drained */
	uint64_t id;		/* memory batches' keys: "m-ID-FIRST-N" */
	struct event *tick, *flush;
	struct prn_outbox_stats st;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void pump(struct prn_outbox *ob);

/* Acknowledge the longest durable prefix. */
static void ack_prefix(struct prn_outbox *ob)
{
	uint64_t last = 0;
	int any = 0;

	while (ob->head < ob->n && (ob->e[ob->head].st == E_DONE || ob->e[ob->head].st == E_SYNCED)) {
		struct ent *x = &ob->e[ob->head++];

		last = x->seq;
		any = 1;
		ob->bytes -= x->len;
		free(x->line);
	}
	if (ob->head == ob->n) {
		ob->head = ob->n = 0;
	} else if (ob->head > ob->cap / 2) {
		memmove(ob->e, ob->e + ob->head, (ob->n - ob->head) * sizeof(*ob->e));
		ob->n -= ob->head;
		ob->head = 0;
	}
	if (any)
		ob->ack(ob->ack_arg, last);
}

/* Everything in memory not yet confirmed goes to the spool; synced at the
 * end of this turn of the loop (one fsync for a burst). */
static void spill(struct prn_outbox *ob)
{
	for (size_t i = ob->head; i < ob->n; i++) {
		struct ent *x = &ob->e[i];

		if (x->st != E_WAIT && x->st != E_SENT)
			continue;
		if (x->line && prn_spool_append(ob->sp, x->line, x->len) < 0)
			fatal("spool: cannot keep line %llu", (unsigned long long)x->seq);
		x->st = E_SPILL;
		if (!ob->spooling && x->line) {
			ob->spooling = 1;
			log_info("%s: lines go to the spool (the endpoint is away or slow)",
				 ob->c.name);
		}
		ob->unsynced = 1;
		ob->st.spilled += x->line != NULL;
	}
	if (ob->unsynced)
		event_active(ob->flush, EV_TIMEOUT, 0);
}

static void on_flush(evutil_socket_t fd, short what, void *arg)
{
	struct prn_outbox *ob = arg;

	if (!ob->unsynced)
		return;
	if (prn_spool_sync(ob->sp) < 0)
		fatal("spool: cannot sync");
	ob->unsynced = 0;
	for (size_t i = ob->head; i < ob->n; i++)
		if (ob->e[i].st == E_SPILL)
			ob->e[i].st = E_SYNCED;
	ack_prefix(ob);
	pump(ob);
}

static int must_spill(const struct prn_outbox *ob, uint64_t now)
{
	if (prn_spool_lines(ob->sp) > 0 || ob->bytes > ob->c.memory_bytes)
		return 1;
	for (size_t i = ob->head; i < ob->n; i++)
		if (ob->e[i].st == E_WAIT || ob->e[i].st == E_SENT)
			return now - ob->e[i].t_ms >= ob->c.spill_ms;
	return 0;
}

static void failed(struct prn_outbox *ob, const char *why)
{
	uint64_t jitter;

	ob->st.failures++;
	ob->backoff_ms = ob->backoff_ms ? ob->backoff_ms * 2 : ob->c.retry_min_ms;
	if (ob->backoff_ms > ob->c.retry_max_ms)
		ob->backoff_ms = ob->c.retry_max_ms;
	/* up to half again, so a fleet that lost one endpoint does not come
	 * back in step */
	jitter = (uint64_t)random() % (ob->backoff_ms / 2 + 1);
	ob->retry_at = now_ms() + ob->backoff_ms + jitter;
	log_warnx("delivery failed (%s): retrying in %llu ms", why ? why : "?",
		  (unsigned long long)(ob->backoff_ms + jitter));
}

/* The oldest lines of memory not yet sent, as one batch. */
static int send_memory(struct prn_outbox *ob)
{
	size_t len = 0, lines = 0, i, first = ob->n;
	char key[64];
	struct prn_batch b;

	for (i = ob->head; i < ob->n; i++) {
		struct ent *x = &ob->e[i];

		if (x->st != E_WAIT)
			continue;
		if (x->line && lines && (lines >= ob->c.batch_lines ||
					 len + x->len + 1 > ob->c.batch_bytes))
			break;
		if (first == ob->n)
			first = i;
		if (!x->line)
			continue;
		if (len + x->len + 1 > ob->mcap) {
			size_t nc = (len + x->len + 1) * 2;
			char *nb = realloc(ob->mbuf, nc);

			if (!nb)
				fatalx("out of memory");
			ob->mbuf = nb;
			ob->mcap = nc;
		}
		memcpy(ob->mbuf + len, x->line, x->len);
		ob->mbuf[len + x->len] = '\n';
		len += x->len + 1;
		lines++;
	}
	if (first == ob->n)
		return 0;
	ob->busy_first = ob->e[first].seq;
	ob->busy_last = ob->e[i - 1].seq;
	for (size_t k = first; k < i; k++)
		if (ob->e[k].st == E_WAIT)
			ob->e[k].st = lines ? E_SENT : E_DONE;
	if (!lines) {
		ack_prefix(ob); /* only places, nothing to send */
		return 0;
	}
	snprintf(key, sizeof(key), "m-%016llx-%llu-%zu", (unsigned long long)ob->id,
		 (unsigned long long)ob->busy_first, lines);
	b = (struct prn_batch){ob->mbuf, len, lines, key, 0};
	ob->token++;
	if (ob->t.send(ob->t.arg, &b, ob->token) < 0) {
		for (size_t k = first; k < i; k++)
			if (ob->e[k].st == E_SENT)
				ob->e[k].st = E_WAIT;
		return -1;
	}
	ob->busy = 1;
	ob->busy_spool = 0;
	ob->busy_since = now_ms();
	return 1;
}

static int send_spool(struct prn_outbox *ob)
{
	struct prn_batch b;
	int r = prn_spool_peek(ob->sp, ob->c.batch_lines, ob->c.batch_bytes, &ob->sb);

	if (r < 0)
		fatal("spool: cannot read");
	if (r == 0)
		return 0;
	b = (struct prn_batch){ob->sb.buf, ob->sb.len, ob->sb.lines, ob->sb.key, 1};
	ob->token++;
	if (ob->t.send(ob->t.arg, &b, ob->token) < 0)
		return -1;
	ob->busy = 1;
	ob->busy_spool = 1;
	ob->busy_since = now_ms();
	return 1;
}

/* Send the next batch if nothing is in flight and the transport is up. */
static void pump(struct prn_outbox *ob)
{
	uint64_t now = now_ms();

	if (must_spill(ob, now))
		spill(ob);
	if (ob->busy || now < ob->retry_at || !ob->t.ready(ob->t.arg))
		return;
	/* the spool first (synced lines only): oldest first */
	if (prn_spool_lines(ob->sp) > 0) {
		if (send_spool(ob) < 0)
			failed(ob, "the transport refused a batch");
		return;
	}
	if (send_memory(ob) < 0)
		failed(ob, "the transport refused a batch");
}

void prn_outbox_done(struct prn_outbox *ob, uint64_t token, int ok, const char *why)
{
	if (!ob->busy || token != ob->token)
		return; /* timed out already: its lines are in the spool or sent again */
	ob->busy = 0;
	if (!ok) {
		for (size_t i = ob->head; i < ob->n; i++)
			if (ob->e[i].st == E_SENT)
				ob->e[i].st = E_WAIT;
		failed(ob, why);
		pump(ob);
		return;
	}
	ob->backoff_ms = 0;
	ob->retry_at = 0;
	if (ob->busy_spool) {
		ob->st.sent_spool += ob->sb.lines;
		if (prn_spool_consume(ob->sp, &ob->sb) < 0)
			fatal("spool: cannot consume a delivered batch");
		if (ob->spooling && prn_spool_lines(ob->sp) == 0) {
			ob->spooling = 0;
			log_info("%s: the spool is drained (%llu lines sent from it so far)",
				 ob->c.name, (unsigned long long)ob->st.sent_spool);
		}
	} else {
		for (size_t i = ob->head; i < ob->n; i++) {
			struct ent *x = &ob->e[i];

			if (x->st == E_SENT && x->seq >= ob->busy_first && x->seq <= ob->busy_last) {
				x->st = E_DONE;
				ob->st.sent_memory += x->line != NULL;
			}
		}
		ack_prefix(ob);
	}
	pump(ob);
}

void prn_outbox_take(struct prn_outbox *ob, uint64_t seq, const char *line, size_t len)
{
	struct ent *x;

	if (line && (len == 0 || len > PRN_SPOOL_LINE_MAX)) {
		log_warnx("line %llu: %zu bytes: not sent", (unsigned long long)seq, len);
		line = NULL;
	}
	if (ob->n == ob->cap) {
		size_t nc = ob->cap ? ob->cap * 2 : 256;
		struct ent *ne = realloc(ob->e, nc * sizeof(*ne));

		if (!ne)
			fatalx("out of memory");
		ob->e = ne;
		ob->cap = nc;
	}
	x = &ob->e[ob->n++];
	*x = (struct ent){seq, NULL, 0, now_ms(), E_WAIT};
	if (line) {
		if (!(x->line = malloc(len)))
			fatalx("out of memory");
		memcpy(x->line, line, len);
		x->len = len;
		ob->bytes += len;
	}
	pump(ob);
}

void prn_outbox_kick(struct prn_outbox *ob)
{
	pump(ob);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct prn_outbox *ob = arg;

	if (ob->busy && now_ms() - ob->busy_since >= ob->c.send_timeout_ms) {
		ob->busy = 0; /* its late answer is ignored */
		for (size_t i = ob->head; i < ob->n; i++)
			if (ob->e[i].st == E_SENT)
				ob->e[i].st = E_WAIT;
		failed(ob, "no answer in time");
	}
	pump(ob);
}

struct prn_outbox *prn_outbox_new(struct event_base *base, struct prn_spool *sp,
				  const struct prn_outbox_conf *c, const struct prn_transport *t,
				  void (*ack)(void *arg, uint64_t seq), void *ack_arg)
{
	struct prn_outbox *ob = calloc(1, sizeof(*ob));
	struct timeval tv = {0, 100 * 1000};

	if (!ob)
		return NULL;
	ob->c = *c;
	ob->t = *t;
	ob->sp = sp;
	ob->ack = ack;
	ob->ack_arg = ack_arg;
	if (getrandom(&ob->id, sizeof(ob->id), GRND_NONBLOCK) != sizeof(ob->id))
		ob->id = (uint64_t)now_ms() ^ ((uint64_t)(uintptr_t)ob << 16);
	srandom((unsigned)ob->id);
	ob->tick = event_new(base, -1, EV_PERSIST, on_tick, ob);
	ob->flush = event_new(base, -1, 0, on_flush, ob);
	if (!ob->tick || !ob->flush || event_add(ob->tick, &tv) < 0) {
		if (ob->tick)
			event_free(ob->tick);
		if (ob->flush)
			event_free(ob->flush);
		free(ob);
		return NULL;
	}
	return ob;
}

void prn_outbox_stats(const struct prn_outbox *ob, struct prn_outbox_stats *st)
{
	*st = ob->st;
	st->memory_lines = ob->n - ob->head;
	st->memory_bytes = ob->bytes;
}
