/*
 * outbox.c - a network printer's delivery (outbox.h): memory first, the
 * spool when the endpoint does not confirm in time, the spool drained
 * oldest first; three answers from the transport: ok, retry, rejected.
 *
 * Invariants:
 *  - a line is acknowledged (ack) only once it is durable: the endpoint
 *    confirmed the batch that held it, or it is in the spool and the spool
 *    was synced, or its batch was refused for good and is in the
 *    dead-letter file (or reported lost when that is full);
 *    acknowledgements go out in the order lines came in (the supervisor's
 *    PRINTED is cumulative);
 *  - while the spool holds anything, new lines go behind it into the
 *    spool, so delivery stays oldest first; memory is used only while the
 *    endpoint keeps up;
 *  - a memory batch that failed (retry, no answer in time) spills at once
 *    with everything behind it; the first batch then taken from the spool
 *    holds exactly its lines, so it travels again under the same key (the
 *    key is the SHA-256 of the lines): the same lines, the same key, from
 *    memory or the spool, before or after a restart;
 *  - at most one batch is with the transport at a time; a send that is
 *    not answered within send_timeout_ms counts as failed, and its late
 *    answer is ignored; a memory batch whose lines spilled while it was
 *    out and that is then confirmed (or refused) is taken out of the
 *    spool unsent, once the spool's first batch is seen to be it;
 *  - a refused batch is never sent again; its lines are counted lost
 *    (prn_loss), whether the dead-letter file kept them or not;
 *  - a spool that cannot take or sync a line ends the printer: nothing is
 *    acknowledged that is not durable, and the supervisor, which keeps
 *    every unacknowledged line, sends them again to the next printer; the
 *    one exception is a line longer than the spool can ever hold
 *    (EMSGSIZE), which is reported lost (line_too_big) instead;
 *  - memory is bounded: past memory_bytes (or spill_ms for the oldest
 *    line) everything held goes to the spool, which is bounded itself
 *    (its oldest dropped and reported, spool.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/sha.h>

#include "common/log.h"
#include "common/settings.h"
#include "printers/outbox.h"
#include "printers/printer.h"
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
	size_t busy_lines;
	char key[40];		/* its key */
	struct prn_spool_batch sb;
	char *mbuf;		/* a memory batch's lines */
	size_t mlen, mcap;
	uint64_t retry_at, backoff_ms;
	int unsynced;		/* lines appended to the spool, not yet synced */
	int spooling;		/* said that lines go to the spool, not yet that it drained */
	/* the spool's next batch is a memory batch that spilled: pin_lines
	 * lines whose key is pin_key; pin_drop: it was answered already (ok
	 * or refused), so it leaves the spool unsent */
	size_t pin_lines;
	int pin_drop;
	char pin_key[40];
	struct event *tick, *flush;
	struct prn_outbox_stats st;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* --- the settings every network printer shares ---------------------------------- */

enum { O_DIR, O_SPOOL_MAX, O_MEM, O_SPILL, O_LINES, O_BYTES, O_MS, O_RETRY_MIN, O_RETRY_MAX };

/* a value as config.c accepted it: digits and an optional K, M or G */
static uint64_t num(const char *v)
{
	uint64_t n = 0;

	for (; *v >= '0' && *v <= '9'; v++)
		n = n * 10 + (uint64_t)(*v - '0');
	if (*v == 'K' || *v == 'k')
		n <<= 10;
	else if (*v == 'M' || *v == 'm')
		n <<= 20;
	else if (*v == 'G' || *v == 'g')
		n <<= 30;
	return n;
}

int prn_outbox_check(const char *const *v, size_t *bad, char *err, size_t errlen)
{
	if (num(v[O_RETRY_MAX]) < num(v[O_RETRY_MIN])) {
		*bad = O_RETRY_MAX;
		snprintf(err, errlen, "retry_max_ms must be at least retry_initial_ms");
		return -1;
	}
	if (num(v[O_BYTES]) * 2 > num(v[O_SPOOL_MAX])) {
		*bad = O_SPOOL_MAX;
		snprintf(err, errlen, "spool_max_bytes must hold two batches (batch_bytes)");
		return -1;
	}
	if (num(v[O_MS]) >= num(v[O_SPILL])) {
		*bad = O_MS;
		snprintf(err, errlen, "batch_ms must be shorter than spill_ms (a batch goes out "
			 "before its lines spill)");
		return -1;
	}
	return 0;
}

int prn_outbox_conf_read(const struct jb_settings *s, struct prn_outbox_conf *c, char *err,
			 size_t errlen)
{
	static const char *const names[] = {"memory_max_bytes", "spill_ms", "batch_lines",
					    "batch_bytes", "batch_ms", "retry_initial_ms",
					    "retry_max_ms"};
	uint64_t v[7];

	for (size_t i = 0; i < 7; i++)
		if (jb_settings_u64(s, names[i], &v[i]) < 0) {
			snprintf(err, errlen, "%s: setting %s missing", c->name, names[i]);
			return -1;
		}
	c->memory_bytes = v[0];
	c->spill_ms = (uint32_t)v[1];
	c->batch_lines = (uint32_t)v[2];
	c->batch_bytes = (uint32_t)v[3];
	c->batch_ms = (uint32_t)v[4];
	c->retry_min_ms = (uint32_t)v[5];
	c->retry_max_ms = (uint32_t)v[6];
	return 0;
}

struct prn_spool *prn_outbox_spool_open(const char *name, int dirfd, const struct jb_settings *s,
					char *err, size_t errlen)
{
	uint64_t max;
	struct prn_spool *sp;

	if (jb_settings_u64(s, "spool_max_bytes", &max) < 0) {
		snprintf(err, errlen, "%s: setting spool_max_bytes missing", name);
		return NULL;
	}
	sp = prn_spool_open(dirfd, max, err, errlen);
	if (!sp && errno == EWOULDBLOCK) {
		const char *dir = jb_settings_get(s, "spool_dir", NULL);

		/* a restart would meet the same lock: a configuration error */
		log_warnx("%s: spool_dir %s is in use by another printer (another jibril's?): two "
			  "agents must not share one spool directory; this printer is disabled "
			  "(give each agent its own spool_dir)", name, dir ? dir : "?");
		exit(EX_CONFIG);
	}
	return sp;
}

/* --- delivery ---------------------------------------------------------------------- */

static void pump(struct prn_outbox *ob);

static void make_key(char *key, const char *buf, size_t len)
{
	unsigned char md[SHA256_DIGEST_LENGTH];

	SHA256((const unsigned char *)buf, len, md);
	memcpy(key, "jb1-", 4);
	for (int i = 0; i < 16; i++)
		snprintf(key + 4 + 2 * i, 3, "%02x", md[i]);
}

static void report_loss(struct prn_outbox *ob, const char *cause, uint64_t n, const char *detail)
{
	log_warnx("%s: %llu detections lost (%s): %s", ob->c.name, (unsigned long long)n, cause,
		  detail);
	if (ob->c.loss)
		ob->c.loss(ob->c.loss_arg, cause, n, detail);
	else
		prn_loss(cause, n, detail);
}

/* A refused batch: to the dead-letter file while it has room, and
 * reported lost either way (it never reaches the endpoint). */
static void dead_letter(struct prn_outbox *ob, const char *buf, size_t len, size_t lines,
			const char *why)
{
	char detail[1024];
	struct stat st;
	int fd = ob->c.dead_dirfd < 0 ? -1
				      : openat(ob->c.dead_dirfd, PRN_DEAD_LETTER,
					       O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
					       0600);
	int kept = 0;

	if (fd >= 0 && fstat(fd, &st) == 0 && (uint64_t)st.st_size + len <= ob->c.dead_max_bytes &&
	    prn_write_all(fd, buf, len) == 0 && fdatasync(fd) == 0)
		kept = 1;
	if (fd >= 0)
		close(fd);
	ob->st.rejected += lines;
	snprintf(detail, sizeof(detail), "%s (batch %s); %s", why ? why : "refused", ob->key,
		 kept ? "moved to " PRN_DEAD_LETTER " in the spool directory"
		      : ob->c.dead_dirfd < 0 ? "dropped"
					     : "the dead-letter file is full or unwritable: dropped");
	report_loss(ob, ob->c.reject_cause ? ob->c.reject_cause : "batch_rejected", lines, detail);
}

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
 * end of this turn of the loop (one fsync for a burst). A memory batch
 * out (or just failed) is first in the spool when the spool was empty:
 * the spool's next batch is made of exactly its lines. */
static void spill(struct prn_outbox *ob)
{
	size_t sent = 0;

	if (prn_spool_lines(ob->sp) == 0 && !ob->busy_spool) {
		for (size_t i = ob->head; i < ob->n; i++)
			sent += ob->e[i].st == E_SENT && ob->e[i].line;
		if (sent) {
			ob->pin_lines = sent;
			ob->pin_drop = 0;
			memcpy(ob->pin_key, ob->key, sizeof(ob->pin_key));
		}
	}
	for (size_t i = ob->head; i < ob->n; i++) {
		struct ent *x = &ob->e[i];

		if (x->st != E_WAIT && x->st != E_SENT)
			continue;
		if (x->line && prn_spool_append(ob->sp, x->line, x->len) < 0) {
			/* a line this spool can never hold (a small spool_max_bytes):
			 * lost, and said so; any other error (a full disk) ends the
			 * printer, and the supervisor sends the lines again */
			if (errno != EMSGSIZE)
				fatal("%s: spool: cannot keep line %llu", ob->c.name,
				      (unsigned long long)x->seq);
			report_loss(ob, "line_too_big", 1, "a detection larger than the spool takes");
			x->st = E_DONE;
			continue;
		}
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
		fatal("%s: spool: cannot sync", ob->c.name);
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

/* Exponential back-off with jitter: a wait drawn in [d/2, d], d doubling
 * from retry_min_ms up to retry_max_ms (a fleet that lost one endpoint
 * does not come back in step); a Retry-After (not_before) replaces it,
 * capped at retry_max_ms. */
static void failed(struct prn_outbox *ob, uint64_t not_before, const char *why)
{
	uint64_t d, wait;

	ob->st.failures++;
	d = ob->backoff_ms ? ob->backoff_ms * 2 : ob->c.retry_min_ms;
	if (d > ob->c.retry_max_ms)
		d = ob->c.retry_max_ms;
	ob->backoff_ms = d;
	wait = d / 2 + (uint64_t)random() % (d / 2 + 1);
	if (not_before)
		wait = not_before < ob->c.retry_max_ms ? not_before : ob->c.retry_max_ms;
	ob->retry_at = now_ms() + wait;
	log_warnx("%s: delivery failed (%s): retrying in %llu ms", ob->c.name, why ? why : "?",
		  (unsigned long long)wait);
}

/* The oldest lines of memory not yet sent, as one batch, when it is full
 * or its first line waited batch_ms. 1 sent, 0 nothing (yet), -1 refused. */
static int send_memory(struct prn_outbox *ob, uint64_t now)
{
	size_t len = 0, lines = 0, i, first = ob->n;
	uint64_t oldest = 0;
	int full = 0;
	struct prn_batch b;

	for (i = ob->head; i < ob->n; i++) {
		struct ent *x = &ob->e[i];

		if (x->st != E_WAIT)
			continue;
		if (x->line && lines && (lines >= ob->c.batch_lines ||
					 len + x->len + 1 > ob->c.batch_bytes)) {
			full = 1;
			break;
		}
		if (first == ob->n)
			first = i;
		if (!x->line)
			continue;
		if (!lines)
			oldest = x->t_ms;
		len += x->len + 1;
		lines++;
	}
	if (first == ob->n)
		return 0;
	if (lines && !full && lines < ob->c.batch_lines && len < ob->c.batch_bytes &&
	    now - oldest < ob->c.batch_ms)
		return 0; /* gather more */
	if (len > ob->mcap) {
		char *nb = realloc(ob->mbuf, len * 2);

		if (!nb)
			fatalx("out of memory");
		ob->mbuf = nb;
		ob->mcap = len * 2;
	}
	ob->mlen = 0;
	for (size_t k = first; k < i; k++) {
		struct ent *x = &ob->e[k];

		if (x->st != E_WAIT)
			continue;
		x->st = lines ? E_SENT : E_DONE;
		if (!x->line)
			continue;
		memcpy(ob->mbuf + ob->mlen, x->line, x->len);
		ob->mbuf[ob->mlen + x->len] = '\n';
		ob->mlen += x->len + 1;
	}
	if (!lines) {
		ack_prefix(ob); /* only places, nothing to send */
		return 0;
	}
	ob->busy_first = ob->e[first].seq;
	ob->busy_last = ob->e[i - 1].seq;
	ob->busy_lines = lines;
	make_key(ob->key, ob->mbuf, ob->mlen);
	b = (struct prn_batch){ob->mbuf, ob->mlen, lines, ob->key, 0};
	ob->token++;
	ob->busy = 1;
	ob->busy_spool = 0;
	ob->busy_since = now;
	if (ob->t.send(ob->t.arg, &b, ob->token) < 0) {
		ob->busy = 0;
		for (size_t k = first; k < i; k++)
			if (ob->e[k].st == E_SENT)
				ob->e[k].st = E_WAIT;
		return -1;
	}
	return 1;
}

/* The spool's oldest batch (synced lines only). 1 sent, 0 nothing, -1
 * refused by the transport. */
static int send_spool(struct prn_outbox *ob, uint64_t now)
{
	struct prn_batch b;
	int r;

	for (int rounds = 0; rounds < 4; rounds++) {
		r = prn_spool_peek(ob->sp, ob->pin_lines ? ob->pin_lines : ob->c.batch_lines,
				   ob->pin_lines ? SIZE_MAX : ob->c.batch_bytes, &ob->sb);
		if (r < 0)
			fatal("%s: spool: cannot read", ob->c.name);
		if (r == 0)
			return 0;
		make_key(ob->key, ob->sb.buf, ob->sb.len);
		if (ob->pin_lines && strcmp(ob->key, ob->pin_key))
			ob->pin_drop = 0; /* not it (the spool dropped its oldest?): send it */
		ob->pin_lines = 0;
		if (!ob->pin_drop)
			break;
		/* a memory batch answered while its lines were spilled */
		ob->pin_drop = 0;
		if (prn_spool_consume(ob->sp, &ob->sb) < 0)
			fatal("%s: spool: cannot consume", ob->c.name);
	}
	if (r == 0)
		return 0;
	b = (struct prn_batch){ob->sb.buf, ob->sb.len, ob->sb.lines, ob->key, 1};
	ob->token++;
	ob->busy = 1;
	ob->busy_spool = 1;
	ob->busy_since = now;
	if (ob->t.send(ob->t.arg, &b, ob->token) < 0) {
		ob->busy = 0;
		ob->busy_spool = 0;
		return -1;
	}
	return 1;
}

static void drained(struct prn_outbox *ob)
{
	if (ob->spooling && prn_spool_lines(ob->sp) == 0) {
		ob->spooling = 0;
		log_info("%s: the spool is drained (%llu lines sent from it so far)", ob->c.name,
			 (unsigned long long)ob->st.sent_spool);
	}
}

/* Send the next batch if nothing is in flight and the transport is up. */
static void pump(struct prn_outbox *ob)
{
	uint64_t now = now_ms();

	if (must_spill(ob, now))
		spill(ob);
	/* nothing is read from the spool while lines wait for its sync: a
	 * batch is never made of part of a burst */
	if (ob->busy || ob->unsynced || now < ob->retry_at || !ob->t.ready(ob->t.arg))
		return;
	/* the spool first: oldest first */
	if (prn_spool_lines(ob->sp) > 0) {
		if (send_spool(ob, now) < 0)
			failed(ob, 0, "the transport refused a batch");
		drained(ob);
		return;
	}
	if (send_memory(ob, now) < 0)
		failed(ob, 0, "the transport refused a batch");
}

/* A batch not taken: a memory one spills (its lines and all behind them),
 * then the back-off. */
static void not_taken(struct prn_outbox *ob, uint64_t not_before, const char *why)
{
	if (!ob->busy_spool)
		spill(ob);
	ob->busy_spool = 0;
	failed(ob, not_before, why);
}

void prn_outbox_done(struct prn_outbox *ob, uint64_t token, enum prn_sent how,
		     uint64_t not_before_ms, const char *why)
{
	if (!ob->busy || token != ob->token)
		return; /* timed out already: its lines are in the spool */
	ob->busy = 0;
	if (how == PRN_SENT_RETRY) {
		not_taken(ob, not_before_ms, why);
		pump(ob);
		return;
	}
	if (how == PRN_SENT_OK) {
		ob->backoff_ms = 0;
		ob->retry_at = 0;
	}
	if (ob->busy_spool) {
		if (how == PRN_SENT_OK)
			ob->st.sent_spool += ob->sb.lines;
		else
			dead_letter(ob, ob->sb.buf, ob->sb.len, ob->sb.lines, why);
		if (prn_spool_consume(ob->sp, &ob->sb) < 0)
			fatal("%s: spool: cannot consume a batch", ob->c.name);
		ob->busy_spool = 0;
		drained(ob);
	} else {
		if (how == PRN_SENT_REJECTED)
			dead_letter(ob, ob->mbuf, ob->mlen, ob->busy_lines, why);
		for (size_t i = ob->head; i < ob->n; i++) {
			struct ent *x = &ob->e[i];

			if (x->st == E_SENT && x->seq >= ob->busy_first && x->seq <= ob->busy_last) {
				x->st = E_DONE;
				ob->st.sent_memory += x->line != NULL && how == PRN_SENT_OK;
			}
		}
		/* spilled while out (spill() pinned its key): the spool's
		 * first batch is this one, answered already */
		if (ob->pin_lines && !strcmp(ob->pin_key, ob->key))
			ob->pin_drop = 1;
		ack_prefix(ob);
	}
	pump(ob);
}

void prn_outbox_take(struct prn_outbox *ob, uint64_t seq, const char *line, size_t len)
{
	struct ent *x;

	if (line && (len == 0 || len > PRN_SPOOL_LINE_MAX)) {
		report_loss(ob, "line_too_big", 1, "a detection larger than the spool takes");
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
		not_taken(ob, 0, "no answer in time");
	}
	pump(ob);
}

struct prn_outbox *prn_outbox_new(struct event_base *base, struct prn_spool *sp,
				  const struct prn_outbox_conf *c, const struct prn_transport *t,
				  void (*ack)(void *arg, uint64_t seq), void *ack_arg)
{
	struct prn_outbox *ob = calloc(1, sizeof(*ob));
	struct timeval tv = {0, 100 * 1000};
	unsigned seed;

	if (!ob)
		return NULL;
	ob->c = *c;
	if (!ob->c.batch_lines)
		ob->c.batch_lines = 1;
	if (!ob->c.retry_min_ms)
		ob->c.retry_min_ms = 1;
	if (ob->c.retry_max_ms < ob->c.retry_min_ms)
		ob->c.retry_max_ms = ob->c.retry_min_ms;
	ob->t = *t;
	ob->sp = sp;
	ob->ack = ack;
	ob->ack_arg = ack_arg;
	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed))
		seed = (unsigned)now_ms() ^ (unsigned)getpid();
	srandom(seed);
	ob->tick = event_new(base, -1, EV_PERSIST, on_tick, ob);
	ob->flush = event_new(base, -1, 0, on_flush, ob);
	if (!ob->tick || !ob->flush || event_add(ob->tick, &tv) < 0) {
		prn_outbox_free(ob);
		return NULL;
	}
	if (prn_spool_lines(sp) > 0)
		ob->spooling = 1; /* a predecessor's lines: say when they are gone */
	return ob;
}

void prn_outbox_free(struct prn_outbox *ob)
{
	if (!ob)
		return;
	if (ob->tick)
		event_free(ob->tick);
	if (ob->flush)
		event_free(ob->flush);
	for (size_t i = ob->head; i < ob->n; i++)
		free(ob->e[i].line);
	free(ob->e);
	free(ob->mbuf);
	prn_spool_batch_free(&ob->sb);
	free(ob);
}

void prn_outbox_stats(const struct prn_outbox *ob, struct prn_outbox_stats *st)
{
	*st = ob->st;
	st->memory_lines = ob->n - ob->head;
	st->memory_bytes = ob->bytes;
}

void prn_outbox_figures(const struct prn_outbox *ob, const struct prn_spool *sp,
			struct prn_figures *f)
{
	struct prn_outbox_stats st;

	memset(f, 0, sizeof(*f));
	if (ob) {
		prn_outbox_stats(ob, &st);
		f->queue_lines = st.memory_lines;
		f->queue_bytes = st.memory_bytes;
		f->delivered = st.sent_memory + st.sent_spool;
		f->retries = st.failures;
		f->rejected = st.rejected;
	}
	if (sp) {
		f->spool_lines = prn_spool_lines(sp);
		f->spool_bytes = prn_spool_bytes(sp);
	}
}
