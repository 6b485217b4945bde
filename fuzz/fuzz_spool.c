/*
 * fuzz_spool.c - libFuzzer target for reading a spool directory
 * (printers/spool.c): the disk is outside input (a damaged disk, a crash,
 * whoever can write as the printer's uid).
 *
 *   make fuzz; build/fuzz/fuzz_spool DIR  (a copy of fuzz/corpus/spool)
 *
 * The input becomes the directory's files: a first byte n (0..3 segments),
 * then the cursor and each segment, each preceded by a 2-byte length
 * (little endian; the last takes what is left). The spool is opened over
 * them and drained.
 *
 * Besides "never crash", it checks:
 *  - every batch is whole lines, each ended by '\n', with none inside;
 *  - a peeked batch peeked again is the same (key, lines, bytes);
 *  - draining ends (bounded) with no line and no byte held;
 *  - a line appended and synced afterwards comes back whole, after a
 *    reopen too;
 *  - a loss reported (from the cursor's counts or found on disk) is not
 *    reported again by the reopen.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "fuzz/broken.h"
#include "printers/spool.h"

static char dir[64];
static int dfd = -1;

static uint64_t reported;

static void quiet_loss(void *arg, const char *cause, uint64_t count, const char *detail)
{
	reported += count;
}

static void clear_dir(void)
{
	DIR *d = fdopendir(openat(dfd, ".", O_RDONLY | O_DIRECTORY));
	struct dirent *e;

	if (!d)
		abort();
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			unlinkat(dfd, e->d_name, 0);
	closedir(d);
}

static void put_file(const char *name, const uint8_t *p, size_t n)
{
	int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || (n && write(fd, p, n) != (ssize_t)n))
		abort();
	close(fd);
}

static void check_batch(const struct prn_spool_batch *b)
{
	size_t lines = 0;

	if (!b->len || b->buf[b->len - 1] != '\n')
		broken("a batch of %zu bytes does not end a line", b->len);
	for (size_t i = 0; i < b->len; i++) {
		if (b->buf[i] == '\n') {
			if (i == 0 || b->buf[i - 1] == '\n')
				broken("an empty line in a batch");
			lines++;
		}
	}
	if (lines != b->lines)
		broken("a batch says %zu lines and holds %zu", b->lines, lines);
}

static void drain(struct prn_spool *s)
{
	struct prn_spool_batch b = {0}, again = {0};
	int r = 0;

	for (int rounds = 0; rounds < 10000 && (r = prn_spool_peek(s, 3, 4096, &b)) == 1;
	     rounds++) {
		check_batch(&b);
		if (prn_spool_peek(s, 100, 1 << 20, &again) != 1 || strcmp(b.key, again.key) ||
		    b.lines != again.lines || b.len != again.len || memcmp(b.buf, again.buf, b.len))
			broken("a batch peeked twice differs");
		if (prn_spool_consume(s, &b) < 0)
			broken("consume failed");
	}
	if (r != 0)
		broken("draining did not end (last peek %d)", r);
	if (prn_spool_lines(s) || prn_spool_bytes(s))
		broken("drained, yet %llu lines, %llu bytes held",
		       (unsigned long long)prn_spool_lines(s), (unsigned long long)prn_spool_bytes(s));
	prn_spool_batch_free(&b);
	prn_spool_batch_free(&again);
}

/* the run's directory goes with the process (libFuzzer exits through exit) */
static void remove_dir(void)
{
	clear_dir();
	rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char line[] = "{\"uuid\":\"fuzz\"}";
	struct prn_spool_batch b = {0};
	struct prn_spool *s;
	char err[256], name[32];
	size_t nseg;

	if (dfd < 0) {
		log_init("fuzz_spool", LOG_L_ERR);
		snprintf(dir, sizeof(dir), "/tmp/fuzz_spool.XXXXXX");
		if (!mkdtemp(dir) || (dfd = open(dir, O_RDONLY | O_DIRECTORY)) < 0)
			abort();
		atexit(remove_dir);
	}
	clear_dir();
	if (size < 1)
		return 0;
	nseg = data[0] % 4;
	data++, size--;
	for (size_t i = 0; i <= nseg; i++) {
		size_t n = size;

		if (i < nseg) {
			if (size < 2)
				break;
			n = (size_t)data[0] | (size_t)data[1] << 8;
			data += 2, size -= 2;
			if (n > size)
				n = size;
		}
		if (i == 0) {
			put_file("cursor", data, n);
		} else {
			snprintf(name, sizeof(name), "%016llx.seg", (unsigned long long)i * 3 - 2);
			put_file(name, data, n);
		}
		data += n, size -= n;
	}
	s = prn_spool_open(dfd, 1 << 20, err, sizeof(err));
	if (!s)
		return 0;
	prn_spool_on_loss(s, quiet_loss, NULL);
	drain(s);
	if (prn_spool_append(s, line, sizeof(line) - 1) < 0 || prn_spool_sync(s) < 0)
		broken("append after a drain failed");
	prn_spool_close(s);
	s = prn_spool_open(dfd, 1 << 20, err, sizeof(err));
	if (!s)
		broken("reopen failed: %s", err);
	reported = 0;
	prn_spool_on_loss(s, quiet_loss, NULL);
	if (reported)
		broken("%llu lost lines reported again at a reopen", (unsigned long long)reported);
	int pr = prn_spool_peek(s, 10, 1 << 20, &b);
	if (pr != 1 || b.lines != 1 ||
	    b.len != sizeof(line) || memcmp(b.buf, line, sizeof(line) - 1))
		broken("the line appended last did not come back whole (%zu lines, %zu bytes, %s)", b.lines, b.len, dir);
	prn_spool_batch_free(&b);
	prn_spool_close(s);
	return 0;
}
