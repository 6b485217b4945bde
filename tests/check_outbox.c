/*
 * check_outbox.c - the network printers' delivery (printers/outbox.c)
 * without a network: a fake transport that records every batch it is
 * handed and answers when the test says, a real spool in a temp dir, a
 * real libevent loop run until a condition holds (with a deadline).
 *
 * What it proves: a confirmed batch is acknowledged in order (places
 * included); a batch that failed spills at once and is sent again from
 * the spool with the same lines and the same key, not before the
 * transport's "not before"; a rejected batch goes to the dead-letter
 * file, is reported lost once and never sent again; lines spill on
 * spill_ms and on memory_max_bytes and are acknowledged once synced; a
 * send never answered times out and its late answer is ignored; a memory
 * batch confirmed after its lines spilled is not sent again; a spool
 * left by a predecessor is sent first; batches wait batch_ms to fill.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "printers/outbox.h"
#include "printers/spool.h"

#define SENT_MAX 64

static char dir[64];
static int dfd;
static struct event_base *base;
static struct prn_spool *sp;
static struct prn_outbox *ob;

/* what the ack callback saw */
static uint64_t acks[256];
static int nacks;
/* what the loss callback saw */
static uint64_t lost;
static char lost_cause[64], lost_detail[1024];

/* the fake transport */
static struct {
	int ready, refuse;
	int n;
	struct {
		char *buf;
		size_t len, lines;
		char key[64];
		int spooled;
		uint64_t token, t_ms;
	} b[SENT_MAX];
} T;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int tr_ready(void *arg)
{
	return T.ready;
}

static int tr_send(void *arg, const struct prn_batch *b, uint64_t token)
{
	ck_assert_int_lt(T.n, SENT_MAX);
	if (T.refuse)
		return -1;
	T.b[T.n].buf = strndup(b->buf, b->len);
	T.b[T.n].len = b->len;
	T.b[T.n].lines = b->lines;
	snprintf(T.b[T.n].key, sizeof(T.b[T.n].key), "%s", b->key);
	T.b[T.n].spooled = b->spooled;
	T.b[T.n].token = token;
	T.b[T.n].t_ms = now_ms();
	T.n++;
	return 0;
}

static void on_ack(void *arg, uint64_t seq)
{
	ck_assert_int_lt(nacks, 256);
	acks[nacks++] = seq;
}

static void on_loss(void *arg, const char *cause, uint64_t n, const char *detail)
{
	lost += n;
	snprintf(lost_cause, sizeof(lost_cause), "%s", cause);
	snprintf(lost_detail, sizeof(lost_detail), "%s", detail);
}

static uint64_t last_ack(void)
{
	return nacks ? acks[nacks - 1] : 0;
}

/* Run the loop until cond() or ms pass; cond()'s last value. */
static int run_until(int (*cond)(void), unsigned ms)
{
	uint64_t dl = now_ms() + ms;

	while (!cond() && now_ms() < dl) {
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		usleep(2000);
	}
	return cond();
}

static void run_for(unsigned ms)
{
	uint64_t dl = now_ms() + ms;

	while (now_ms() < dl) {
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		usleep(2000);
	}
}

static int want_sent;
static uint64_t want_ack;
static int sent_reached(void)
{
	return T.n >= want_sent;
}
static int ack_reached(void)
{
	return last_ack() >= want_ack;
}
static int spool_empty(void)
{
	return prn_spool_lines(sp) == 0;
}

static void wait_sent(int n, unsigned ms)
{
	want_sent = n;
	ck_assert_msg(run_until(sent_reached, ms), "%d batches sent, not %d, within %u ms", T.n, n,
		      ms);
}

static void wait_ack(uint64_t seq, unsigned ms)
{
	want_ack = seq;
	ck_assert_msg(run_until(ack_reached, ms), "acknowledged up to %llu, not %llu",
		      (unsigned long long)last_ack(), (unsigned long long)seq);
}

static struct prn_outbox_conf conf(void)
{
	return (struct prn_outbox_conf){
		.name = "test",
		.memory_bytes = 1u << 20,
		.spill_ms = 60000,
		.send_timeout_ms = 60000,
		.batch_lines = 100,
		.batch_bytes = 1u << 20,
		.batch_ms = 0,
		.retry_min_ms = 50,
		.retry_max_ms = 200,
		.dead_dirfd = dfd,
		.dead_max_bytes = 1u << 20,
		.reject_cause = "test_rejected",
		.loss = on_loss,
	};
}

static void open_all(const struct prn_outbox_conf *c)
{
	char err[256] = "";
	struct prn_transport t = {tr_ready, tr_send, NULL};

	sp = prn_spool_open(dfd, 4u << 20, err, sizeof(err));
	ck_assert_msg(sp != NULL, "spool: %s", err);
	prn_spool_on_loss(sp, on_loss, NULL);
	ob = prn_outbox_new(base, sp, c, &t, on_ack, NULL);
	ck_assert_ptr_nonnull(ob);
}

static void close_all(void)
{
	prn_outbox_free(ob);
	ob = NULL;
	prn_spool_close(sp);
	sp = NULL;
}

static void take(uint64_t seq)
{
	char line[64];
	int n = snprintf(line, sizeof(line), "{\"uuid\":\"u-%04llu\"}", (unsigned long long)seq);

	prn_outbox_take(ob, seq, line, (size_t)n);
}

/* Lines 1..n taken while the endpoint is away, then it is back: one batch. */
static void take_together(int n)
{
	T.ready = 0;
	for (int i = 1; i <= n; i++)
		take((uint64_t)i);
	T.ready = 1;
	prn_outbox_kick(ob);
}

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/check_outbox.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(dfd, 0);
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	for (int i = 0; i < T.n; i++)
		free(T.b[i].buf);
	memset(&T, 0, sizeof(T));
	T.ready = 1;
	nacks = 0;
	lost = 0;
	lost_cause[0] = lost_detail[0] = '\0';
}

static void teardown(void)
{
	char cmd[128];

	if (ob || sp)
		close_all();
	event_base_free(base);
	close(dfd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

/* --- ok, and the order of acknowledgements -------------------------------------- */

START_TEST(test_ok_in_order)
{
	struct prn_outbox_conf c = conf();

	open_all(&c);
	take(1);
	wait_sent(1, 2000);
	ck_assert_uint_eq(T.b[0].lines, 1);
	ck_assert_int_eq(T.b[0].spooled, 0);
	ck_assert_str_eq(T.b[0].buf, "{\"uuid\":\"u-0001\"}\n");
	ck_assert_msg(!strncmp(T.b[0].key, "jb1-", 4) && strlen(T.b[0].key) == 36, "key %s",
		      T.b[0].key);
	/* while it is out: more lines, a place (nothing to send) among them */
	take(2);
	prn_outbox_take(ob, 3, NULL, 0);
	take(4);
	run_for(50);
	ck_assert_int_eq(T.n, 1); /* one batch at a time */
	ck_assert_int_eq(nacks, 0); /* nothing confirmed yet */
	prn_outbox_done(ob, T.b[0].token, PRN_SENT_OK, 0, NULL);
	ck_assert_uint_eq(last_ack(), 1);
	wait_sent(2, 2000);
	ck_assert_uint_eq(T.b[1].lines, 2);
	ck_assert_str_eq(T.b[1].buf, "{\"uuid\":\"u-0002\"}\n{\"uuid\":\"u-0004\"}\n");
	/* an unknown token changes nothing */
	prn_outbox_done(ob, T.b[1].token + 7, PRN_SENT_OK, 0, NULL);
	ck_assert_uint_eq(last_ack(), 1);
	prn_outbox_done(ob, T.b[1].token, PRN_SENT_OK, 0, NULL);
	ck_assert_uint_eq(last_ack(), 4);
	for (int i = 1; i < nacks; i++)
		ck_assert_uint_gt(acks[i], acks[i - 1]);
	ck_assert_uint_eq(prn_spool_lines(sp), 0);
	ck_assert_uint_eq(lost, 0);
	/* the key is the lines': the same lines, the same key */
	{
		char k1[64];

		take(5);
		wait_sent(3, 2000);
		snprintf(k1, sizeof(k1), "%s", T.b[2].key);
		ck_assert_str_ne(k1, T.b[1].key);
		prn_outbox_done(ob, T.b[2].token, PRN_SENT_OK, 0, NULL);
	}
}
END_TEST

/* --- retry: spilled at once, the same lines and key from the spool, not before -------- */

START_TEST(test_retry_not_before)
{
	struct prn_outbox_conf c = conf();
	uint64_t t0;

	c.retry_max_ms = 1000;
	open_all(&c);
	take_together(2);
	wait_sent(1, 2000);
	ck_assert_uint_eq(T.b[0].lines, 2);
	take(3); /* behind the batch: spilled with it */
	t0 = now_ms();
	prn_outbox_done(ob, T.b[0].token, PRN_SENT_RETRY, 400, "HTTP 429");
	/* durable in the spool, so acknowledged */
	wait_ack(3, 2000);
	ck_assert_uint_eq(prn_spool_lines(sp), 3);
	wait_sent(2, 3000);
	ck_assert_msg(T.b[1].t_ms - t0 >= 390, "sent again after %llu ms, not before 400",
		      (unsigned long long)(T.b[1].t_ms - t0));
	ck_assert_int_eq(T.b[1].spooled, 1);
	ck_assert_str_eq(T.b[1].buf, T.b[0].buf); /* exactly the failed batch */
	ck_assert_str_eq(T.b[1].key, T.b[0].key);
	/* failed again, no not-before: the back-off; same batch, same key */
	prn_outbox_done(ob, T.b[1].token, PRN_SENT_RETRY, 0, "HTTP 500");
	wait_sent(3, 3000);
	ck_assert_str_eq(T.b[2].key, T.b[0].key);
	prn_outbox_done(ob, T.b[2].token, PRN_SENT_OK, 0, NULL);
	/* then the line that waited behind it */
	wait_sent(4, 3000);
	ck_assert_int_eq(T.b[3].spooled, 1);
	ck_assert_str_eq(T.b[3].buf, "{\"uuid\":\"u-0003\"}\n");
	prn_outbox_done(ob, T.b[3].token, PRN_SENT_OK, 0, NULL);
	ck_assert(run_until(spool_empty, 1000));
	ck_assert_uint_eq(lost, 0);
	/* the spool drained: memory again */
	take(4);
	wait_sent(5, 2000);
	ck_assert_int_eq(T.b[4].spooled, 0);
	prn_outbox_done(ob, T.b[4].token, PRN_SENT_OK, 0, NULL);
	ck_assert_uint_eq(last_ack(), 4);
}
END_TEST

/* --- rejected: dead letter, reported lost once, never again ------------------------- */

static void dead_has(const char *needle, int want)
{
	char path[128], buf[4096] = "";
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/" PRN_DEAD_LETTER, dir);
	fd = open(path, O_RDONLY);
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = '\0';
		close(fd);
	}
	ck_assert_msg(!!strstr(buf, needle) == want, "'%s' %s in the dead-letter file: '%s'",
		      needle, want ? "not" : "", buf);
}

START_TEST(test_rejected)
{
	struct prn_outbox_conf c = conf();

	open_all(&c);
	take_together(2);
	wait_sent(1, 2000);
	prn_outbox_done(ob, T.b[0].token, PRN_SENT_REJECTED, 0, "HTTP 400: bad");
	ck_assert_uint_eq(last_ack(), 2);
	ck_assert_uint_eq(lost, 2);
	ck_assert_str_eq(lost_cause, "test_rejected");
	ck_assert_msg(strstr(lost_detail, "HTTP 400: bad") && strstr(lost_detail, T.b[0].key) &&
		      strstr(lost_detail, "moved to " PRN_DEAD_LETTER), "%s", lost_detail);
	dead_has("u-0001", 1);
	dead_has("u-0002", 1);
	run_for(300); /* several back-off periods: it must not come again */
	ck_assert_int_eq(T.n, 1);
	ck_assert_uint_eq(prn_spool_lines(sp), 0);

	/* a batch from the spool refused: consumed, dead-lettered, reported */
	T.ready = 0;
	c.spill_ms = 50;
	close_all();
	open_all(&c);
	take(3);
	wait_ack(3, 2000); /* spilled */
	ck_assert_uint_eq(prn_spool_lines(sp), 1);
	T.ready = 1;
	prn_outbox_kick(ob);
	wait_sent(2, 2000);
	ck_assert_int_eq(T.b[1].spooled, 1);
	prn_outbox_done(ob, T.b[1].token, PRN_SENT_REJECTED, 0, "HTTP 403");
	ck_assert_uint_eq(lost, 3);
	ck_assert_uint_eq(prn_spool_lines(sp), 0);
	dead_has("u-0003", 1);
	run_for(300);
	ck_assert_int_eq(T.n, 2);

	/* no dead-letter directory: dropped, still reported */
	close_all();
	c.dead_dirfd = -1;
	open_all(&c);
	take(4);
	wait_sent(3, 2000);
	prn_outbox_done(ob, T.b[2].token, PRN_SENT_REJECTED, 0, "HTTP 400");
	ck_assert_uint_eq(lost, 4);
	ck_assert_msg(strstr(lost_detail, "dropped"), "%s", lost_detail);
	dead_has("u-0004", 0);
}
END_TEST

/* --- spill on spill_ms and on memory_max_bytes -------------------------------------- */

START_TEST(test_spill_on_time)
{
	struct prn_outbox_conf c = conf();

	c.spill_ms = 150;
	T.ready = 0; /* the endpoint away */
	open_all(&c);
	take(1);
	take(2);
	run_for(50);
	ck_assert_int_eq(nacks, 0); /* in memory only: not durable */
	ck_assert_uint_eq(prn_spool_lines(sp), 0);
	wait_ack(2, 2000);
	ck_assert_uint_eq(prn_spool_lines(sp), 2);
	/* behind the spool, new lines go to the spool too */
	take(3);
	wait_ack(3, 2000);
	ck_assert_uint_eq(prn_spool_lines(sp), 3);
	T.ready = 1;
	wait_sent(1, 2000);
	ck_assert_int_eq(T.b[0].spooled, 1);
	ck_assert_uint_eq(T.b[0].lines, 3);
	prn_outbox_done(ob, T.b[0].token, PRN_SENT_OK, 0, NULL);
	ck_assert(run_until(spool_empty, 1000));
	ck_assert_uint_eq(lost, 0);
}
END_TEST

START_TEST(test_spill_on_memory)
{
	struct prn_outbox_conf c = conf();

	c.memory_bytes = 40; /* two lines of 17 bytes fit, the third does not */
	T.ready = 0;
	open_all(&c);
	take(1);
	take(2);
	run_for(50);
	ck_assert_int_eq(nacks, 0);
	take(3);
	wait_ack(3, 1000); /* spilled at once, not after spill_ms (a minute) */
	ck_assert_uint_eq(prn_spool_lines(sp), 3);
}
END_TEST

/* A line the spool can never hold (longer than its whole bound) is
 * reported lost when it would spill, not a reason to end the printer; the
 * lines around it are kept and acknowledged. */
START_TEST(test_spill_too_big_for_spool)
{
	struct prn_outbox_conf c = conf();
	struct prn_transport t = {tr_ready, tr_send, NULL};
	char err[256] = "", big[6000];
	int n;

	c.spill_ms = 100;
	T.ready = 0;
	sp = prn_spool_open(dfd, 4096, err, sizeof(err));
	ck_assert_msg(sp != NULL, "spool: %s", err);
	prn_spool_on_loss(sp, on_loss, NULL);
	ob = prn_outbox_new(base, sp, &c, &t, on_ack, NULL);
	ck_assert_ptr_nonnull(ob);
	take(1);
	n = snprintf(big, sizeof(big), "{\"uuid\":\"u-0002\",\"pad\":\"%05000d\"}", 0);
	prn_outbox_take(ob, 2, big, (size_t)n);
	take(3);
	wait_ack(3, 2000);
	ck_assert_uint_eq(prn_spool_lines(sp), 2);
	ck_assert_uint_eq(lost, 1);
	ck_assert_str_eq(lost_cause, "line_too_big");
}
END_TEST

/* --- a send never answered; a batch confirmed after its lines spilled ------------------ */

START_TEST(test_timeout_and_late_answer)
{
	struct prn_outbox_conf c = conf();

	c.send_timeout_ms = 150;
	open_all(&c);
	take(1);
	wait_sent(1, 2000);
	wait_ack(1, 2000); /* timed out: spilled, durable */
	ck_assert_uint_eq(prn_spool_lines(sp), 1);
	wait_sent(2, 2000); /* again, from the spool, same key */
	ck_assert_int_eq(T.b[1].spooled, 1);
	ck_assert_str_eq(T.b[1].key, T.b[0].key);
	/* the first send's late answer is ignored: the spool keeps the line */
	prn_outbox_done(ob, T.b[0].token, PRN_SENT_OK, 0, NULL);
	ck_assert_uint_eq(prn_spool_lines(sp), 1);
	prn_outbox_done(ob, T.b[1].token, PRN_SENT_OK, 0, NULL);
	ck_assert_uint_eq(prn_spool_lines(sp), 0);
}
END_TEST

START_TEST(test_confirmed_after_spill)
{
	struct prn_outbox_conf c = conf();

	c.spill_ms = 100;
	open_all(&c);
	take_together(2);
	wait_sent(1, 2000);
	ck_assert_uint_eq(T.b[0].lines, 2);
	wait_ack(2, 2000); /* out longer than spill_ms: spilled, acknowledged */
	ck_assert_uint_eq(prn_spool_lines(sp), 2);
	take(3); /* behind the spool */
	wait_ack(3, 2000);
	/* the endpoint confirms the batch after all: it is not sent again */
	prn_outbox_done(ob, T.b[0].token, PRN_SENT_OK, 0, NULL);
	wait_sent(2, 2000);
	ck_assert_int_eq(T.b[1].spooled, 1);
	ck_assert_str_eq(T.b[1].buf, "{\"uuid\":\"u-0003\"}\n");
	prn_outbox_done(ob, T.b[1].token, PRN_SENT_OK, 0, NULL);
	ck_assert(run_until(spool_empty, 1000));
	run_for(100);
	ck_assert_int_eq(T.n, 2);
	ck_assert_uint_eq(lost, 0);
}
END_TEST

/* --- a predecessor's spool; a transport that refuses; batch_ms ------------------------ */

START_TEST(test_restart_with_spool)
{
	struct prn_outbox_conf c = conf();
	char err[256];

	sp = prn_spool_open(dfd, 4u << 20, err, sizeof(err));
	ck_assert_ptr_nonnull(sp);
	ck_assert_int_eq(prn_spool_append(sp, "{\"uuid\":\"old-1\"}", 16), 0);
	ck_assert_int_eq(prn_spool_append(sp, "{\"uuid\":\"old-2\"}", 16), 0);
	ck_assert_int_eq(prn_spool_sync(sp), 0);
	prn_spool_close(sp);
	sp = NULL;

	T.ready = 0;
	open_all(&c);
	take(1); /* a new line: behind the old ones */
	wait_ack(1, 2000);
	ck_assert_uint_eq(prn_spool_lines(sp), 3);
	T.ready = 1;
	prn_outbox_kick(ob);
	wait_sent(1, 2000);
	ck_assert_int_eq(T.b[0].spooled, 1);
	ck_assert_str_eq(T.b[0].buf,
			 "{\"uuid\":\"old-1\"}\n{\"uuid\":\"old-2\"}\n{\"uuid\":\"u-0001\"}\n");
	/* not confirmed, the printer "restarts": the same batch, the same key */
	close_all();
	open_all(&c);
	prn_outbox_kick(ob);
	wait_sent(2, 2000);
	ck_assert_str_eq(T.b[1].buf, T.b[0].buf);
	ck_assert_str_eq(T.b[1].key, T.b[0].key);
	prn_outbox_done(ob, T.b[1].token, PRN_SENT_OK, 0, NULL);
	ck_assert_uint_eq(prn_spool_lines(sp), 0);
}
END_TEST

START_TEST(test_refused_and_batch_ms)
{
	struct prn_outbox_conf c = conf();
	uint64_t t0;

	c.batch_ms = 300;
	c.batch_lines = 3;
	open_all(&c);
	/* a transport that cannot send: back-off, lines kept */
	T.refuse = 1;
	take(1);
	take(2);
	take(3); /* full: goes at once, refused */
	run_for(100);
	ck_assert_int_eq(nacks, 0);
	T.refuse = 0;
	wait_sent(1, 2000);
	ck_assert_uint_eq(T.b[0].lines, 3);
	prn_outbox_done(ob, T.b[0].token, PRN_SENT_OK, 0, NULL);
	ck_assert_uint_eq(last_ack(), 3);
	/* one line waits batch_ms for company */
	t0 = now_ms();
	take(4);
	wait_sent(2, 2000);
	ck_assert_msg(T.b[1].t_ms - t0 >= 250, "sent after %llu ms, batch_ms 300",
		      (unsigned long long)(T.b[1].t_ms - t0));
	prn_outbox_done(ob, T.b[1].token, PRN_SENT_OK, 0, NULL);
	ck_assert_uint_eq(last_ack(), 4);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("outbox");
	TCase *tc = tcase_create("outbox");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_ok_in_order);
	tcase_add_test(tc, test_retry_not_before);
	tcase_add_test(tc, test_rejected);
	tcase_add_test(tc, test_spill_on_time);
	tcase_add_test(tc, test_spill_on_memory);
	tcase_add_test(tc, test_spill_too_big_for_spool);
	tcase_add_test(tc, test_timeout_and_late_answer);
	tcase_add_test(tc, test_confirmed_after_spill);
	tcase_add_test(tc, test_restart_with_spool);
	tcase_add_test(tc, test_refused_and_batch_ms);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
