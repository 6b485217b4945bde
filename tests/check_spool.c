/*
 * check_spool.c - the printers' disk spool (printers/spool.c) and the
 * settings block a kind's child is handed (common/settings.c).
 *
 * What it proves: lines come out oldest first in batches bounded by lines
 * and bytes, only once synced; a peeked batch keeps its key on every peek
 * and after a reopen until consumed; consumed lines never come back; a
 * process that ends without closing (a crash) loses nothing it synced; a
 * record torn by a crash in the middle of a write (a segment cut short)
 * is found at open, cut off, not reported as a loss (it was never
 * acknowledged), and the lines before it survive; a byte flipped on disk
 * is caught by the checksum and reported; one found while reading the
 * segment being written loses only what it must, and later lines read
 * back; a full spool drops the oldest first, reports every line it
 * dropped (only those: a batch in flight that is delivered after all is
 * not lost), and stays within spool_max_bytes; a drop is reported even
 * when the printer dies right after it (the count is on disk first); a
 * write the disk refuses part-way is finished, not repeated; the settings block round-trips and its parser refuses
 * every malformed shape. No root needed; each test works in a mkdtemp dir.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/settings.h"
#include "printers/spool.h"

static char dir[64];
static int dfd = -1;
static uint64_t lost_count, lost_calls;
static char lost_cause[64];

static void on_loss(void *arg, const char *cause, uint64_t count, const char *detail)
{
	lost_count += count;
	lost_calls++;
	snprintf(lost_cause, sizeof(lost_cause), "%s", cause);
}

/* A printer killed (SIGKILL) right after the spool lost lines, before its
 * report reached anyone. */
static void die_on_loss(void *arg, const char *cause, uint64_t count, const char *detail)
{
	_exit(0);
}

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/check_spool.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(dfd, 0);
	lost_count = lost_calls = 0;
	lost_cause[0] = '\0';
}

static void teardown(void)
{
	char cmd[128];

	close(dfd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

static struct prn_spool *open_spool(uint64_t max)
{
	char err[256] = "";
	struct prn_spool *s = prn_spool_open(dfd, max, err, sizeof(err));

	ck_assert_msg(s != NULL, "open: %s", err);
	prn_spool_on_loss(s, on_loss, NULL);
	return s;
}

static void put(struct prn_spool *s, int i)
{
	char line[64];
	int n = snprintf(line, sizeof(line), "{\"uuid\":\"u-%06d\"}", i);

	ck_assert_int_eq(prn_spool_append(s, line, (size_t)n), 0);
}

/* the number in the line'th line of b ("u-NNNNNN"), -1 past the end */
static int nth(const struct prn_spool_batch *b, size_t line)
{
	const char *p = b->buf, *end = b->buf + b->len;

	for (size_t i = 0; i < line && p < end; i++)
		p = memchr(p, '\n', (size_t)(end - p)) + 1;
	if (p >= end)
		return -1;
	return atoi(p + strlen("{\"uuid\":\"u-"));
}

/* Every line still held comes out, oldest first, starting at first; the
 * count of them. */
static int drain(struct prn_spool *s, int first)
{
	struct prn_spool_batch b = {0};
	int n = 0, r;

	for (int rounds = 0; rounds < 100000 && (r = prn_spool_peek(s, 7, 1 << 20, &b)) == 1;
	     rounds++) {
		for (size_t i = 0; i < b.lines; i++)
			ck_assert_int_eq(nth(&b, i), first + n++);
		ck_assert_int_eq(prn_spool_consume(s, &b), 0);
	}
	ck_assert_int_eq(r, 0);
	prn_spool_batch_free(&b);
	ck_assert_uint_eq(prn_spool_lines(s), 0);
	ck_assert_uint_eq(prn_spool_bytes(s), 0);
	return n;
}

START_TEST(test_order_and_batches)
{
	struct prn_spool *s = open_spool(1 << 20);
	struct prn_spool_batch b = {0};
	char key[96];

	for (int i = 0; i < 20; i++)
		put(s, i);
	/* nothing is handed out before it is synced */
	ck_assert_int_eq(prn_spool_peek(s, 100, 1 << 20, &b), 0);
	ck_assert_uint_eq(prn_spool_lines(s), 20);
	ck_assert_int_eq(prn_spool_sync(s), 0);
	ck_assert_int_eq(prn_spool_peek(s, 5, 1 << 20, &b), 1);
	ck_assert_uint_eq(b.lines, 5);
	ck_assert_int_eq(nth(&b, 0), 0);
	ck_assert_int_eq(nth(&b, 4), 4);
	ck_assert_int_eq(b.buf[b.len - 1], '\n');
	snprintf(key, sizeof(key), "%s", b.key);
	/* peeking again, even with other bounds, gives the same batch */
	ck_assert_int_eq(prn_spool_peek(s, 1, 10, &b), 1);
	ck_assert_uint_eq(b.lines, 5);
	ck_assert_str_eq(b.key, key);
	ck_assert_int_eq(prn_spool_consume(s, &b), 0);
	ck_assert_uint_eq(prn_spool_lines(s), 15);
	/* the byte bound: one 19-byte line always fits, then whole lines */
	ck_assert_int_eq(prn_spool_peek(s, 100, 45, &b), 1);
	ck_assert_uint_eq(b.lines, 2);
	ck_assert_int_eq(nth(&b, 0), 5);
	ck_assert_str_ne(b.key, key);
	ck_assert_int_eq(prn_spool_consume(s, &b), 0);
	ck_assert_int_eq(drain(s, 7), 13);
	prn_spool_batch_free(&b);
	prn_spool_close(s);
	ck_assert_uint_eq(lost_count, 0);
}
END_TEST

START_TEST(test_bad_lines)
{
	struct prn_spool *s = open_spool(1 << 20);

	errno = 0;
	ck_assert_int_eq(prn_spool_append(s, "", 0), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(prn_spool_append(s, "{}\n{}", 5), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_uint_eq(prn_spool_lines(s), 0);
	prn_spool_close(s);
}
END_TEST

/* Reopened (the printer restarted): what was not consumed is there, the
 * pinned batch keeps its key, segments run on with new numbers. */
START_TEST(test_restart)
{
	struct prn_spool *s = open_spool(1 << 20);
	struct prn_spool_batch b = {0};
	char key[96];

	for (int i = 0; i < 10; i++)
		put(s, i);
	ck_assert_int_eq(prn_spool_sync(s), 0);
	ck_assert_int_eq(prn_spool_peek(s, 3, 1 << 20, &b), 1);
	ck_assert_int_eq(prn_spool_consume(s, &b), 0);
	ck_assert_int_eq(prn_spool_peek(s, 4, 1 << 20, &b), 1);
	snprintf(key, sizeof(key), "%s", b.key);
	prn_spool_close(s);

	s = open_spool(1 << 20);
	ck_assert_uint_eq(prn_spool_lines(s), 7);
	ck_assert_int_eq(prn_spool_peek(s, 100, 1 << 20, &b), 1);
	ck_assert_str_eq(b.key, key); /* the batch in flight, retried: same key */
	ck_assert_uint_eq(b.lines, 4);
	ck_assert_int_eq(nth(&b, 0), 3);
	ck_assert_int_eq(prn_spool_consume(s, &b), 0);
	for (int i = 10; i < 15; i++)
		put(s, i);
	ck_assert_int_eq(prn_spool_sync(s), 0);
	prn_spool_close(s);

	s = open_spool(1 << 20);
	ck_assert_int_eq(drain(s, 7), 8);
	prn_spool_batch_free(&b);
	prn_spool_close(s);
	ck_assert_uint_eq(lost_count, 0);
}
END_TEST

/* A process that ends without closing the spool keeps every line it
 * synced; lines it only appended (buffered) may be gone, never torn. */
START_TEST(test_crash_after_sync)
{
	struct prn_spool *s;
	pid_t pid = fork();
	int st;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char err[256];

		s = prn_spool_open(dfd, 1 << 20, err, sizeof(err));
		if (!s)
			_exit(2);
		for (int i = 0; i < 50; i++) {
			char line[64];
			int n = snprintf(line, sizeof(line), "{\"uuid\":\"u-%06d\"}", i);

			if (prn_spool_append(s, line, (size_t)n) < 0)
				_exit(3);
			if (i == 29 && prn_spool_sync(s) < 0)
				_exit(4);
		}
		_exit(0); /* no close, no sync: a crash */
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	s = open_spool(1 << 20);
	ck_assert_uint_eq(prn_spool_lines(s), 30);
	ck_assert_int_eq(drain(s, 0), 30);
	prn_spool_close(s);
	ck_assert_uint_eq(lost_count, 0);
}
END_TEST

/* The only segment file of dir (there is one in these tests). */
static void seg_path(char *buf, size_t n)
{
	char cmd[160];
	FILE *p;

	snprintf(cmd, sizeof(cmd), "ls %s/*.seg", dir);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_nonnull(fgets(buf, (int)n, p));
	buf[strcspn(buf, "\n")] = '\0';
	pclose(p);
}

/* A crash in the middle of a write: the last record cut short. */
START_TEST(test_torn_tail)
{
	struct prn_spool *s = open_spool(1 << 20);
	struct stat st;
	char path[256];

	for (int i = 0; i < 10; i++)
		put(s, i);
	ck_assert_int_eq(prn_spool_sync(s), 0);
	prn_spool_close(s);
	seg_path(path, sizeof(path));
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(truncate(path, st.st_size - 5), 0);

	s = open_spool(1 << 20);
	{
		struct prn_spool_stats ps;

		prn_spool_stats(s, &ps);
		ck_assert_uint_eq(ps.torn, 1);
	}
	/* never synced, so never acknowledged: the supervisor sends it
	 * again; not a data loss */
	ck_assert_uint_eq(lost_count, 0);
	ck_assert_uint_eq(prn_spool_lines(s), 9);
	/* the torn bytes are cut: a line appended now is read back whole */
	put(s, 9);
	ck_assert_int_eq(prn_spool_sync(s), 0);
	ck_assert_int_eq(drain(s, 0), 10);
	prn_spool_close(s);
}
END_TEST

/* A byte flipped in a synced record: the checksum catches it. */
START_TEST(test_corrupt_byte)
{
	struct prn_spool *s = open_spool(1 << 20);
	char path[256], c;
	int fd;

	for (int i = 0; i < 10; i++)
		put(s, i);
	ck_assert_int_eq(prn_spool_sync(s), 0);
	prn_spool_close(s);
	seg_path(path, sizeof(path));
	fd = open(path, O_RDWR);
	ck_assert_int_ge(fd, 0);
	/* record 4's line: 4 records of 12 + 19 bytes, its header, 3 bytes in */
	ck_assert_int_eq(pread(fd, &c, 1, 4 * 31 + 12 + 3), 1);
	c ^= 0x20;
	ck_assert_int_eq(pwrite(fd, &c, 1, 4 * 31 + 12 + 3), 1);
	close(fd);

	s = open_spool(1 << 20);
	ck_assert_uint_eq(prn_spool_lines(s), 4); /* 0..3; the rest cannot be framed */
	{
		struct prn_spool_stats ps;

		prn_spool_stats(s, &ps);
		ck_assert_uint_eq(ps.torn, 1);
	}
	/* acknowledged lines damaged: a loss (at least one line) */
	ck_assert_uint_eq(lost_count, 1);
	ck_assert_str_eq(lost_cause, "spool_corrupt");
	ck_assert_int_eq(drain(s, 0), 4);
	prn_spool_close(s);
}
END_TEST

/* Full: the oldest go first, every one reported, the bound kept. */
START_TEST(test_full)
{
	const uint64_t max = 64 << 10; /* 16 segments of 4 KiB */
	struct prn_spool *s = open_spool(max);
	struct prn_spool_batch b = {0};
	struct prn_spool_stats ps;
	int n = 10000, first;

	for (int i = 0; i < n; i++) {
		put(s, i);
		ck_assert_uint_le(prn_spool_bytes(s), max);
		if (i % 100 == 99)
			ck_assert_int_eq(prn_spool_sync(s), 0);
	}
	ck_assert_int_eq(prn_spool_sync(s), 0);
	prn_spool_stats(s, &ps);
	ck_assert_uint_gt(ps.dropped, 0);
	ck_assert_uint_eq(lost_count, ps.dropped);
	ck_assert_str_eq(lost_cause, "spool_full");
	ck_assert_uint_eq(ps.dropped + prn_spool_lines(s), (uint64_t)n);
	/* held within the bound, and not much below it */
	ck_assert_uint_ge(prn_spool_bytes(s), max - 2 * 4096);
	/* what is left is the newest, in order, none missing */
	ck_assert_int_eq(prn_spool_peek(s, 1, 1 << 20, &b), 1);
	first = nth(&b, 0);
	ck_assert_int_eq(first, (int)ps.dropped);
	prn_spool_batch_free(&b);
	ck_assert_int_eq(drain(s, first), n - first);
	prn_spool_close(s);
}
END_TEST

/* The batch in flight loses its start to a drop, then is delivered: the
 * head never goes back, nothing is handed out twice, and only the lines
 * really gone are reported lost (not the batch's, which arrived). */
START_TEST(test_full_while_in_flight)
{
	const uint64_t max = 64 << 10;
	struct prn_spool *s = open_spool(max);
	struct prn_spool_batch b = {0};
	struct prn_spool_stats ps;
	int first;

	for (int i = 0; i < 100; i++)
		put(s, i);
	ck_assert_int_eq(prn_spool_sync(s), 0);
	ck_assert_int_eq(prn_spool_peek(s, 50, 1 << 20, &b), 1);
	for (int i = 100; i < 5000; i++)
		put(s, i);
	ck_assert_int_eq(prn_spool_sync(s), 0);
	ck_assert_int_eq(prn_spool_consume(s, &b), 0); /* delivered after all */
	ck_assert_int_eq(prn_spool_peek(s, 1, 1 << 20, &b), 1);
	first = nth(&b, 0);
	ck_assert_int_gt(first, 100);
	ck_assert_uint_eq(lost_count, (uint64_t)first - 50); /* 50..first-1 */
	prn_spool_stats(s, &ps);
	ck_assert_uint_eq(ps.dropped, lost_count);
	prn_spool_batch_free(&b);
	ck_assert_int_eq(drain(s, first), 5000 - first);
	prn_spool_close(s);
}
END_TEST

/* The same batch not delivered: a new batch is formed, and then its lines
 * the drop took are reported lost too. */
START_TEST(test_full_in_flight_given_up)
{
	const uint64_t max = 64 << 10;
	struct prn_spool *s = open_spool(max);
	struct prn_spool_batch b = {0};
	int first;

	for (int i = 0; i < 100; i++)
		put(s, i);
	ck_assert_int_eq(prn_spool_sync(s), 0);
	ck_assert_int_eq(prn_spool_peek(s, 50, 1 << 20, &b), 1);
	for (int i = 100; i < 5000; i++)
		put(s, i);
	ck_assert_int_eq(prn_spool_sync(s), 0);
	/* its delivery failed: the next peek is a new batch */
	ck_assert_int_eq(prn_spool_peek(s, 1, 1 << 20, &b), 1);
	first = nth(&b, 0);
	ck_assert_int_gt(first, 100);
	ck_assert_uint_eq(lost_count, (uint64_t)first);
	ck_assert_str_eq(lost_cause, "spool_full");
	prn_spool_batch_free(&b);
	ck_assert_int_eq(drain(s, first), 5000 - first);
	prn_spool_close(s);
}
END_TEST

/* The printer dies right after a drop, its report sent nowhere: the count
 * was on disk first, so the next open reports it; once reported it is not
 * reported again. A batch in flight when it died whose lines a drop took
 * is counted lost too (whether it arrived is unknown). */
START_TEST(test_drop_reported_after_crash)
{
	for (int flight = 0; flight < 2; flight++) {
		struct prn_spool *s;
		struct prn_spool_batch b = {0};
		pid_t pid;
		int st, first;

		teardown();
		setup();
		pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			char err[256];

			s = prn_spool_open(dfd, 64 << 10, err, sizeof(err));
			if (!s)
				_exit(2);
			prn_spool_on_loss(s, die_on_loss, NULL);
			for (int i = 0; i < 5000; i++) {
				char line[64];
				int n = snprintf(line, sizeof(line), "{\"uuid\":\"u-%06d\"}", i);

				if (prn_spool_append(s, line, (size_t)n) < 0)
					_exit(3);
				if (i % 100 == 99 && prn_spool_sync(s) < 0)
					_exit(4);
				if (flight && i == 99 && prn_spool_peek(s, 50, 1 << 20, &b) != 1)
					_exit(5);
			}
			_exit(6); /* never dropped anything */
		}
		ck_assert_int_eq(waitpid(pid, &st, 0), pid);
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child: %d", st);
		s = open_spool(64 << 10);
		ck_assert_int_eq(prn_spool_peek(s, 1, 1 << 20, &b), 1);
		first = nth(&b, 0);
		if (flight) {
			/* the batch 0..49 was pinned and lost its start: a new one */
			ck_assert_int_ge(first, 50);
		}
		ck_assert_int_gt(first, 0);
		ck_assert_uint_eq(lost_count, (uint64_t)first); /* 0..first-1, all reported */
		ck_assert_str_eq(lost_cause, "spool_full");
		prn_spool_batch_free(&b);
		prn_spool_close(s);
		s = open_spool(64 << 10);
		ck_assert_uint_eq(lost_count, (uint64_t)first); /* not again */
		prn_spool_close(s);
	}
}
END_TEST

/* A bad record found by a peek in the segment being written: the rest of
 * it on disk is lost and reported, the lines still buffered are not, and
 * every line appended later reads back (before, they were appended after
 * the bad bytes and read as lost). A reopen does not report it again. */
START_TEST(test_cut_writer)
{
	struct prn_spool *s = open_spool(1 << 20);
	struct prn_spool_batch b = {0};
	char path[256], c;
	int fd;

	for (int i = 0; i < 10; i++)
		put(s, i);
	ck_assert_int_eq(prn_spool_sync(s), 0);
	seg_path(path, sizeof(path));
	fd = open(path, O_RDWR);
	ck_assert_int_ge(fd, 0);
	/* record 5's line, 3 bytes in (records of 12 + 19 bytes) */
	ck_assert_int_eq(pread(fd, &c, 1, 5 * 31 + 12 + 3), 1);
	c ^= 0x20;
	ck_assert_int_eq(pwrite(fd, &c, 1, 5 * 31 + 12 + 3), 1);
	close(fd);
	for (int i = 10; i < 15; i++)
		put(s, i); /* buffered */
	ck_assert_int_eq(prn_spool_peek(s, 100, 1 << 20, &b), 1);
	ck_assert_uint_eq(b.lines, 5);
	ck_assert_uint_eq(lost_count, 5); /* 5..9 */
	ck_assert_str_eq(lost_cause, "spool_corrupt");
	ck_assert_int_eq(prn_spool_consume(s, &b), 0);
	ck_assert_int_eq(prn_spool_sync(s), 0);
	for (int i = 15; i < 20; i++)
		put(s, i);
	ck_assert_int_eq(prn_spool_sync(s), 0);
	ck_assert_int_eq(drain(s, 10), 10);
	prn_spool_batch_free(&b);
	prn_spool_close(s);
	s = open_spool(1 << 20);
	ck_assert_uint_eq(lost_count, 5);
	put(s, 20);
	ck_assert_int_eq(prn_spool_sync(s), 0);
	ck_assert_int_eq(drain(s, 20), 1);
	prn_spool_close(s);
}
END_TEST

/* What append says: EINVAL not a line, EMSGSIZE a line this spool can
 * never hold (lost, the caller reports it and goes on), and a disk that
 * refuses a write part-way (here RLIMIT_FSIZE; ENOSPC takes the same
 * path) leaves nothing half-written or twice: the next sync goes on from
 * where the write stopped. */
START_TEST(test_append_errors)
{
	struct prn_spool *s = open_spool(4096);
	char big[5000];

	memset(big, 'x', sizeof(big));
	errno = 0;
	ck_assert_int_eq(prn_spool_append(s, big, sizeof(big)), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	ck_assert_uint_eq(prn_spool_lines(s), 0);
	prn_spool_close(s);
}
END_TEST

START_TEST(test_write_cut_short)
{
	struct prn_spool *s = open_spool(1 << 20);
	struct rlimit old, small = {10000, RLIM_INFINITY};
	int e1, r1, e2, r2, r3;

	for (int i = 0; i < 400; i++) /* 12 400 bytes, buffered */
		put(s, i);
	ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
	small.rlim_max = old.rlim_max;
	signal(SIGXFSZ, SIG_IGN);
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &small), 0);
	errno = 0;
	r1 = prn_spool_sync(s); /* 10 000 bytes written, then EFBIG */
	e1 = errno;
	r2 = prn_spool_sync(s);
	e2 = errno;
	setrlimit(RLIMIT_FSIZE, &old);
	ck_assert_int_eq(r1, -1);
	ck_assert_int_eq(e1, EFBIG);
	ck_assert_int_eq(r2, -1);
	ck_assert_int_eq(e2, EFBIG);
	r3 = prn_spool_sync(s);
	ck_assert_int_eq(r3, 0);
	ck_assert_int_eq(drain(s, 0), 400);
	prn_spool_close(s);
	s = open_spool(1 << 20);
	ck_assert_uint_eq(prn_spool_lines(s), 0);
	prn_spool_close(s);
	ck_assert_uint_eq(lost_count, 0);
}
END_TEST

/* Delivered segments are removed; the numbers go on after a reopen. */
START_TEST(test_segments_removed)
{
	struct prn_spool *s = open_spool(64 << 10);
	struct prn_spool_stats ps;

	for (int i = 0; i < 1000; i++)
		put(s, i);
	ck_assert_int_eq(prn_spool_sync(s), 0);
	prn_spool_stats(s, &ps);
	ck_assert_uint_gt(ps.segments, 3);
	ck_assert_int_eq(drain(s, 0), 1000);
	prn_spool_stats(s, &ps);
	ck_assert_uint_le(ps.segments, 1);
	prn_spool_close(s);
	s = open_spool(64 << 10);
	ck_assert_uint_eq(prn_spool_lines(s), 0);
	put(s, 5);
	ck_assert_int_eq(prn_spool_sync(s), 0);
	ck_assert_int_eq(drain(s, 5), 1);
	prn_spool_close(s);
}
END_TEST

/* One spool, one writer: a second open of the same directory (another
 * agent's printer) is refused while the first holds it, in this process
 * or another, and allowed again once it is closed or its process ended. */
START_TEST(test_lock)
{
	struct prn_spool *s = open_spool(1 << 20), *t;
	char err[256] = "";
	int p[2], st;
	pid_t pid;

	errno = 0;
	t = prn_spool_open(dfd, 1 << 20, err, sizeof(err));
	ck_assert_ptr_null(t);
	ck_assert_int_eq(errno, EWOULDBLOCK);
	ck_assert_msg(strstr(err, "in use by another process"), "%s", err);
	prn_spool_close(s);
	s = open_spool(1 << 20); /* released by close */
	prn_spool_close(s);

	/* held by another process until it ends, however it ends */
	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char e[256];

		if (!prn_spool_open(dfd, 1 << 20, e, sizeof(e)))
			_exit(2);
		if (write(p[1], "x", 1) != 1)
			_exit(3);
		pause();
		_exit(0);
	}
	close(p[1]);
	ck_assert_int_eq(read(p[0], &st, 1), 1); /* it holds the spool */
	close(p[0]);
	ck_assert_ptr_null(prn_spool_open(dfd, 1 << 20, err, sizeof(err)));
	ck_assert_int_eq(errno, EWOULDBLOCK);
	kill(pid, SIGKILL);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	s = open_spool(1 << 20);
	prn_spool_close(s);
}
END_TEST

/* --- the settings block ---------------------------------------------------------- */

START_TEST(test_settings_roundtrip)
{
	struct jb_settings_buf b = {0};
	struct jb_settings s;
	char err[128];
	size_t len;
	uint64_t u;
	int fd;

	ck_assert_int_eq(jb_settings_put(&b, "url", "https://x/", 10), 0);
	ck_assert_int_eq(jb_settings_put(&b, "token", "a\0b", 3), 0);
	ck_assert_int_eq(jb_settings_put(&b, "batch_lines", "500", 3), 0);
	ck_assert_int_eq(jb_settings_put(&b, "BAD", "x", 1), -1);
	fd = jb_settings_memfd(&b);
	ck_assert_int_ge(fd, 0);
	/* sealed: the child cannot change what the next one reads */
	ck_assert_int_eq(write(fd, "x", 1), -1);
	ck_assert_int_eq(jb_settings_read_fd(fd, &s, err, sizeof(err)), 0);
	close(fd);
	ck_assert_str_eq(jb_settings_get(&s, "url", NULL), "https://x/");
	ck_assert_ptr_nonnull(jb_settings_get(&s, "token", &len));
	ck_assert_uint_eq(len, 3);
	ck_assert_int_eq(memcmp(jb_settings_get(&s, "token", NULL), "a\0b", 3), 0);
	ck_assert_int_eq(jb_settings_u64(&s, "batch_lines", &u), 0);
	ck_assert_uint_eq(u, 500);
	ck_assert_int_eq(jb_settings_u64(&s, "url", &u), -1);
	ck_assert_ptr_null(jb_settings_get(&s, "nonesuch", NULL));
	jb_settings_free(&s);

	/* every cut of a good block is refused, as is a byte more */
	for (size_t cut = 0; cut < b.len; cut++)
		ck_assert_int_eq(jb_settings_parse(b.data, cut, &s, err, sizeof(err)), -1);
	{
		unsigned char more[512];

		memcpy(more, b.data, b.len);
		more[b.len] = 0;
		ck_assert_int_eq(jb_settings_parse(more, b.len + 1, &s, err, sizeof(err)), -1);
		ck_assert_msg(strstr(err, "after the last key"), "%s", err);
		/* a key given twice */
		memcpy(more, b.data, b.len);
		memcpy(more + 12, "tok", 3); /* "url" -> "tok": still unique */
		ck_assert_int_eq(jb_settings_parse(more, b.len, &s, err, sizeof(err)), 0);
		jb_settings_free(&s);
	}
	jb_settings_buf_free(&b);
}
END_TEST

static Suite *spool_suite(void)
{
	Suite *su = suite_create("spool");
	TCase *tc = tcase_create("spool");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_order_and_batches);
	tcase_add_test(tc, test_bad_lines);
	tcase_add_test(tc, test_restart);
	tcase_add_test(tc, test_crash_after_sync);
	tcase_add_test(tc, test_torn_tail);
	tcase_add_test(tc, test_corrupt_byte);
	tcase_add_test(tc, test_full);
	tcase_add_test(tc, test_full_while_in_flight);
	tcase_add_test(tc, test_full_in_flight_given_up);
	tcase_add_test(tc, test_drop_reported_after_crash);
	tcase_add_test(tc, test_cut_writer);
	tcase_add_test(tc, test_append_errors);
	tcase_add_test(tc, test_write_cut_short);
	tcase_add_test(tc, test_segments_removed);
	tcase_add_test(tc, test_lock);
	suite_add_tcase(su, tc);
	tc = tcase_create("settings");
	tcase_add_test(tc, test_settings_roundtrip);
	suite_add_tcase(su, tc);
	return su;
}

int main(void)
{
	SRunner *sr = srunner_create(spool_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
