/*
 * tail.c - line-by-line reading of a growing file (see tail.h).
 *
 * Invariants:
 *  - every byte is read once: the offset only moves forward, a partial
 *    last line stays in the buffer until its '\n' arrives, and lines not
 *    yet handed out (fn asked to stop) are kept for the next call.
 *  - bounded: the buffer is 1 MiB; a longer line is dropped, and one call
 *    reads at most 4096 buffers' worth.
 *  - the file is opened per call, so it may appear, or be rotated, later.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/lib/tail.h"

#define TAIL_BUF (1u << 20)

int tl_tail_open(struct tl_tail *t, const char *path)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->path, sizeof(t->path), "%s", path);
	t->cap = TAIL_BUF;
	t->buf = malloc(t->cap);
	return t->buf ? 0 : -1;
}

void tl_tail_close(struct tl_tail *t)
{
	free(t->buf);
	t->buf = NULL;
	t->n = 0;
}

/* hands out the complete lines in the buffer; 1 when fn said stop */
static int hand_out(struct tl_tail *t, int (*fn)(char *line, void *arg), void *arg, int *lines)
{
	char *s = t->buf, *nl;
	int stop = 0;

	while (!stop && (nl = memchr(s, '\n', t->n - (size_t)(s - t->buf)))) {
		*nl = '\0';
		stop = fn(s, arg);
		(*lines)++;
		s = nl + 1;
	}
	t->n -= (size_t)(s - t->buf);
	memmove(t->buf, s, t->n);
	return stop;
}

int tl_tail_read(struct tl_tail *t, int (*fn)(char *line, void *arg), void *arg)
{
	int fd, lines = 0;

	if (!t->buf || hand_out(t, fn, arg, &lines))
		return lines;
	fd = open(t->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return lines;
	for (int guard = 0; guard < 4096; guard++) {
		ssize_t r = pread(fd, t->buf + t->n, t->cap - 1 - t->n, t->off);

		if (r <= 0)
			break;
		t->off += r;
		t->n += (size_t)r;
		if (hand_out(t, fn, arg, &lines))
			break;
		if (t->n == t->cap - 1)
			t->n = 0; /* a line longer than the buffer: dropped */
	}
	close(fd);
	return lines;
}
