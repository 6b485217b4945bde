/*
 * spool.h - a printer's durable queue on disk: one directory per printer
 * kind (its `spool_dir`, made by the supervisor for the kind's uid, mode
 * 0700, and handed to the child as a directory fd), holding segment files
 * of length-framed, checksummed records and a cursor. Lines go in at the
 * tail, batches come out at the head, oldest first; it survives a restart
 * of the printer and of the whole agent (the kind's uid is stable).
 */
#ifndef JB_PRN_SPOOL_H
#define JB_PRN_SPOOL_H

#include <stddef.h>
#include <stdint.h>

struct prn_spool;

/* Lines taken from the head, not yet removed. */
struct prn_spool_batch {
	char *buf;		/* the lines, each followed by '\n' (a JSON lines body) */
	size_t len, cap;	/* bytes in buf, and its size */
	size_t lines;
	/* an idempotency key: the spool's own random id and the batch's place;
	 * the same for every peek of the same batch, across restarts too */
	char key[96];
	/* where it lies: [seg:off, end_seg:end_off), and the index of the
	 * record at its end within end_seg */
	uint64_t seg, off, end_seg, end_off, end_rec;
};

/* What the spool has done since it was opened. */
struct prn_spool_stats {
	uint64_t appended;	/* lines appended */
	uint64_t consumed;	/* lines delivered (consume) */
	uint64_t dropped;	/* lines dropped, oldest first, because it was full */
	uint64_t torn;		/* torn or corrupt records skipped at open */
	uint64_t segments;	/* segment files now */
};

/* The largest line a spool takes. */
#define PRN_SPOOL_LINE_MAX (1u << 20)

/* Open the spool kept in directory dirfd (reading every segment and the
 * cursor, cutting a torn tail), keeping at most max_bytes of lines. It
 * holds an flock on the file "lock" in it until closed (or the process
 * ends): a second open of the same directory fails with errno
 * EWOULDBLOCK. NULL with err (and errno) on failure. dirfd stays the
 * caller's. */
struct prn_spool *prn_spool_open(int dirfd, uint64_t max_bytes, char *err, size_t errlen);
void prn_spool_close(struct prn_spool *s);

/* Who is told of lines lost: "spool_full" (the oldest dropped), and
 * "spool_corrupt" (a damaged record and what follows it; a torn tail a
 * crash left is not a loss: never synced, so never acknowledged). By
 * default prn_loss() (printers/printer.h), the supervisor's data_loss
 * events; tests count them. The count is kept in the cursor, synced
 * before the lines go, until the report is out (prn_loss_held): a
 * printer killed in between reports it at the next open, so a report may
 * come twice, never not at all. Losses found at open (or left by a
 * killed printer) are reported at once in a printer, else when fn is set
 * or at the first operation. */
void prn_spool_on_loss(struct prn_spool *s,
		       void (*fn)(void *arg, const char *cause, uint64_t count, const char *detail),
		       void *arg);

/* Append one line (len bytes, no newline; at most PRN_SPOOL_LINE_MAX).
 * Buffered: durable only after prn_spool_sync. When the spool would
 * exceed max_bytes the oldest segments are dropped first (and reported).
 * 0, or -1 with errno, the line not kept:
 *   EINVAL    not a line (empty, or it holds a newline);
 *   EMSGSIZE  a line this spool can never hold (longer than
 *             PRN_SPOOL_LINE_MAX, or with its framing more than
 *             max_bytes): lost; the caller reports it (prn_loss) and goes on;
 *   ENOSPC, EDQUOT, EFBIG  the disk refused a write: the spool is as it
 *             was (a write cut short is finished by the next one, never
 *             repeated); the caller may retry later (after dropping what
 *             it can) or stop;
 *   EIO, other  a sync failed earlier, or the disk failed: stop. */
int prn_spool_append(struct prn_spool *s, const char *line, size_t len);
/* After 0, every appended line survives a crash. -1 with errno: ENOSPC,
 * EDQUOT or EFBIG from a write (nothing lost: the lines stay buffered, a
 * later sync may succeed; acknowledge nothing meanwhile), EIO when
 * fdatasync failed (the kernel may have dropped the pages: every later
 * sync fails too; stop, so the supervisor sends the unacknowledged lines
 * to the next printer). */
int prn_spool_sync(struct prn_spool *s);

/* The oldest synced lines, at most max_lines and about max_bytes (one line
 * always fits), without removing them; 1 with a batch, 0 when empty, -1
 * on error. A batch once peeked is pinned (written in the cursor): every
 * later peek returns exactly it, with the same key, until it is consumed,
 * also after a restart. b is reused across calls; free it with
 * prn_spool_batch_free. */
int prn_spool_peek(struct prn_spool *s, size_t max_lines, size_t max_bytes,
		   struct prn_spool_batch *b);
/* The batch b was delivered: remove it (durably: the cursor is synced).
 * 0 or -1. A full spool may drop the segments of the batch in flight (the
 * last peeked) meanwhile: those lines are lost only if it is not
 * consumed, i.e. when the next peek forms another batch, or the spool is
 * opened again first (then whether it arrived is unknown: reported lost). */
int prn_spool_consume(struct prn_spool *s, const struct prn_spool_batch *b);
void prn_spool_batch_free(struct prn_spool_batch *b);

/* Bytes of lines held (framing included), synced or not. */
uint64_t prn_spool_bytes(const struct prn_spool *s);
/* Lines held. */
uint64_t prn_spool_lines(const struct prn_spool *s);
void prn_spool_stats(const struct prn_spool *s, struct prn_spool_stats *st);

#endif
