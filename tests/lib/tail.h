/*
 * tail.h - follow a file that another process appends lines to (the
 * agent's log, a printer's output), one complete line at a time.
 */
#ifndef TL_TAIL_H
#define TL_TAIL_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

struct tl_tail {
	char path[PATH_MAX];
	off_t off;	 /* bytes read so far */
	char *buf;	 /* the incomplete last line (and lines not yet handed out) */
	size_t n, cap;
};

/* From the start of path (which need not exist yet); 0, or -1 out of memory. */
int tl_tail_open(struct tl_tail *t, const char *path);
void tl_tail_close(struct tl_tail *t);
/* Calls fn on each new complete line (NUL-terminated, without its '\n'),
 * until fn returns non-zero; the lines after that one wait for the next
 * call. Returns how many lines fn was given. */
int tl_tail_read(struct tl_tail *t, int (*fn)(char *line, void *arg), void *arg);

#endif
