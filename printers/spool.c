/*
 * spool.c - a printer's durable queue (spool.h): segment files of framed
 * records in the kind's own directory, and a cursor.
 *
 * On disk:
 *   SEG.seg   SEG: 16 hex digits, increasing, never reused (the cursor
 *             remembers the next); records back to back, each
 *             u32 magic "JRL1", u32 length (1..PRN_SPOOL_LINE_MAX),
 *             u32 CRC-32 of the length's 4 bytes and the line, the line.
 *             A segment may end in a cut marker, u32 "JCUT", where a bad
 *             record was found while reading (its loss counted then).
 *   cursor    two 128-byte slots written in turn (a torn write spoils one
 *             at most): the spool's random id, the head (first line not
 *             delivered), the pinned batch, the next segment number, the
 *             lines lost and not yet reported (full, corrupt) and those of
 *             a batch in flight a drop took, a generation and a CRC
 *             ("JCU2"; a "JCU1" slot, without the counts, is read as
 *             zeros). The newest valid slot wins.
 *
 * Invariants:
 *  - a line is durable once prn_spool_sync returned 0: its segment is
 *    fdatasync'ed and, for a new segment, the directory fsync'ed;
 *  - only synced lines are ever handed out (peek), so a pinned batch never
 *    names bytes a crash can take back;
 *  - the head moves only forward, by consume (delivered) or by dropping the
 *    oldest segment when full; every line dropped is reported (never
 *    silent): its count is in the synced cursor before the unlink, and
 *    leaves it only once the report is out (a killed printer's is made at
 *    the next open: twice rather than never). Lines of the batch in
 *    flight a drop takes are lost only if that batch is not delivered
 *    (consumed) after all;
 *  - a torn tail found at open (a write a crash interrupted: never synced,
 *    never acknowledged) is cut off and logged, not a loss; a damaged
 *    record (a bad checksum, an older segment) is counted lost, and one
 *    found while reading ends its segment with a cut marker, the lines
 *    still buffered going on in a new segment;
 *  - a write the disk refuses part-way is finished by the next flush,
 *    never repeated; a failed fdatasync makes every later sync fail;
 *  - a batch keeps its key (spool id and place) until consumed, across
 *    restarts, so a receiver can drop a batch it already has; each line
 *    also carries its event's uuid;
 *  - everything read from disk is outside input: lengths and checksums are
 *    checked before use; a bad record ends what is read of its segment.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "printers/printer.h"
#include "printers/spool.h"

#define REC_MAGIC 0x314c524au	/* "JRL1" */
#define REC_HDR 12
#define CUT_MAGIC 0x5455434au	/* "JCUT": the segment ends here (cut_seg) */
#define CUR_MAGIC1 0x3155434au	/* "JCU1": a cursor without loss counts */
#define CUR_MAGIC 0x3255434au	/* "JCU2" */
#define CUR_LEN 92		/* bytes of a slot the CRC covers (JCU1: 68) */
#define CUR_SLOT 128
#define WBUF_MAX (64u << 10)	/* appended bytes kept before a write(2) */

struct seg {
	uint64_t id;
	uint64_t size;		/* bytes of whole records, buffered ones too */
	uint64_t nrec;		/* records in it */
};

/* why lines were lost: full (the oldest dropped), corrupt (a bad record) */
enum { L_FULL, L_CORRUPT, L_N };
static const char *const loss_cause[L_N] = {"spool_full", "spool_corrupt"};

struct prn_spool {
	int dirfd, curfd, wfd;	/* wfd: the last segment's, open for appending */
	int lockfd;		/* "lock", flock'ed while the spool is open */
	int dir_dirty;		/* a segment was made since the directory's last fsync */
	uint64_t max_bytes, seg_max;
	struct seg *segs;	/* oldest first; the last is the one written */
	size_t nsegs, capsegs;
	uint64_t wsynced;	/* bytes of the last segment on disk and synced */
	char *wbuf;		/* appended, not yet written */
	size_t wlen, wcap;
	size_t wdone;		/* bytes of wbuf already written (a write cut short) */
	uint64_t wrecs;		/* records in wbuf */
	int broken;		/* a sync failed: what was not synced cannot be trusted */
	uint64_t head_seg, head_off, head_rec;	/* first line not delivered */
	int pinned;
	uint64_t pin_end_seg, pin_end_off;
	uint64_t next_seg, gen;
	unsigned char id[8];
	char *rbuf;		/* one record read back */
	size_t rcap;
	struct prn_spool_stats st;
	void (*loss)(void *arg, const char *cause, uint64_t count, const char *detail);
	void *loss_arg;
	/* the batch last handed out, until consumed or replaced: a drop that
	 * takes its lines counts them in doubt, lost only if it is not
	 * delivered (consumed) after all */
	int fl;
	uint64_t fl_end_seg, fl_end_rec;
	uint64_t doubt;
	/* lines lost and not yet reported, per cause: in the cursor, synced
	 * before the unlink or cut that loses them; held: the part of a
	 * report the printer runtime keeps until READY */
	uint64_t unrep[L_N], held[L_N];
	char why[L_N][160];
};

/* the printer's loss report: a data_loss event (printers/printer.h) */
static void default_loss(void *arg, const char *cause, uint64_t count, const char *detail)
{
	log_warnx("spool: %llu lines lost (%s): %s", (unsigned long long)count, cause, detail);
	prn_loss(cause, count, detail);
}

static int cursor_write(struct prn_spool *s);

/* Report the lines lost and not yet reported. The count on disk is
 * cleared only once the report went out (prn_loss_held: a printer holds
 * what it reports before READY); a crash before that reports it again at
 * the next open: a repeated report beats none. */
static void report(struct prn_spool *s)
{
	int changed = 0, held = 0;

	for (int c = 0; c < L_N; c++)
		held |= s->held[c] != 0;
	if (held) {
		if (prn_loss_held())
			return; /* READY has not come yet */
		for (int c = 0; c < L_N; c++) {
			s->unrep[c] -= s->held[c];
			s->held[c] = 0;
		}
		changed = 1;
		held = 0;
	}
	for (int c = 0; c < L_N; c++)
		if (s->unrep[c]) {
			s->loss(s->loss_arg, loss_cause[c], s->unrep[c], s->why[c]);
			s->held[c] = s->unrep[c];
			held = 1;
		}
	if (held && !prn_loss_held()) {
		for (int c = 0; c < L_N; c++) {
			s->unrep[c] -= s->held[c];
			s->held[c] = 0;
		}
		changed = 1;
	}
	if (changed && s->curfd >= 0 && cursor_write(s) < 0)
		log_warn("spool: cannot clear its count of lost lines: they are reported again at "
			 "the next start");
}

/* count lines lost for cause c: counted now, reported by report() */
static void lost(struct prn_spool *s, int c, uint64_t count)
{
	s->unrep[c] += count;
	if (c == L_FULL)
		s->st.dropped += count;
}

/* --- CRC-32 (IEEE, zlib's) --------------------------------------------------- */

static uint32_t crc_table[256];

static uint32_t crc32_update(uint32_t crc, const void *data, size_t len)
{
	const unsigned char *p = data;

	if (!crc_table[1])
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;
			for (int k = 0; k < 8; k++)
				c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
			crc_table[i] = c;
		}
	crc = ~crc;
	while (len--)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static uint32_t rec_crc(uint32_t len, const void *line)
{
	unsigned char l[4] = {(unsigned char)len, (unsigned char)(len >> 8),
			      (unsigned char)(len >> 16), (unsigned char)(len >> 24)};
	return crc32_update(crc32_update(0, l, 4), line, len);
}

static void put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put64(unsigned char *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static uint64_t get64(const unsigned char *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

/* --- small I/O helpers ---------------------------------------------------------- */

static int pread_all(int fd, void *buf, size_t len, uint64_t off)
{
	size_t got = 0;

	while (got < len) {
		ssize_t r = pread(fd, (char *)buf + got, len - got, (off_t)(off + got));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			return 1; /* short: the file ends */
		got += (size_t)r;
	}
	return 0;
}

static void seg_name(char *buf, size_t n, uint64_t id)
{
	snprintf(buf, n, "%016llx.seg", (unsigned long long)id);
}

static int open_seg(struct prn_spool *s, uint64_t id, int flags)
{
	char name[32];

	seg_name(name, sizeof(name), id);
	return openat(s->dirfd, name, flags | O_NOFOLLOW | O_CLOEXEC, 0600);
}

/* Read the record at off of segment fd into s->rbuf: its line length, 0
 * at a clean end, or -1 (torn, corrupt, or an I/O error: errno EIO for a
 * bad record). */
static long read_rec(struct prn_spool *s, int fd, uint64_t off, uint64_t limit)
{
	unsigned char h[REC_HDR];
	uint32_t len;
	int r;

	if (off == limit)
		return 0;
	if (limit - off < REC_HDR || (r = pread_all(fd, h, REC_HDR, off)) != 0)
		goto torn;
	len = get32(h + 4);
	if (get32(h) != REC_MAGIC || len == 0 || len > PRN_SPOOL_LINE_MAX ||
	    limit - off - REC_HDR < len)
		goto torn;
	if (s->rcap < len + 1) {
		char *nb = realloc(s->rbuf, len + 1);
		if (!nb)
			return -1;
		s->rbuf = nb;
		s->rcap = len + 1;
	}
	if ((r = pread_all(fd, s->rbuf, len, off + REC_HDR)) != 0 ||
	    rec_crc(len, s->rbuf) != get32(h + 8))
		goto torn;
	s->rbuf[len] = '\0';
	return (long)len;
torn:
	errno = EIO;
	return -1;
}

/* --- the cursor ------------------------------------------------------------------- */

static int cursor_write(struct prn_spool *s)
{
	unsigned char b[CUR_SLOT] = {0};

	s->gen++;
	put32(b, CUR_MAGIC);
	put64(b + 4, s->gen);
	memcpy(b + 12, s->id, 8);
	put64(b + 20, s->head_seg);
	put64(b + 28, s->head_off);
	put64(b + 36, s->pinned);
	put64(b + 44, s->pin_end_seg);
	put64(b + 52, s->pin_end_off);
	put64(b + 60, s->next_seg);
	put64(b + 68, s->unrep[L_FULL]);
	put64(b + 76, s->unrep[L_CORRUPT]);
	put64(b + 84, s->doubt);
	put32(b + CUR_LEN, crc32_update(0, b, CUR_LEN));
	for (;;) {
		ssize_t w = pwrite(s->curfd, b, sizeof(b), (off_t)((s->gen % 2) * CUR_SLOT));

		if (w < 0 && errno == EINTR)
			continue;
		if (w != (ssize_t)sizeof(b))
			return w < 0 ? -1 : (errno = EIO, -1);
		break;
	}
	return fdatasync(s->curfd);
}

/* The newest valid slot into s; 0, or -1 when there is none (a new spool). */
static int cursor_read(struct prn_spool *s)
{
	unsigned char b[2 * CUR_SLOT];
	ssize_t n = pread(s->curfd, b, sizeof(b), 0);
	int best = -1;
	uint64_t bestgen = 0;

	for (int i = 0; n > 0 && i < 2; i++) {
		const unsigned char *p = b + i * CUR_SLOT;

		if ((size_t)n < (size_t)(i + 1) * CUR_SLOT ||
		    !(get32(p) == CUR_MAGIC1 ? get32(p + 68) == crc32_update(0, p, 68)
					     : get32(p) == CUR_MAGIC &&
						       get32(p + CUR_LEN) == crc32_update(0, p, CUR_LEN)))
			continue;
		if (best < 0 || get64(p + 4) > bestgen) {
			best = i;
			bestgen = get64(p + 4);
		}
	}
	if (best < 0)
		return -1;
	const unsigned char *p = b + best * CUR_SLOT;
	s->gen = bestgen;
	memcpy(s->id, p + 12, 8);
	s->head_seg = get64(p + 20);
	s->head_off = get64(p + 28);
	s->pinned = get64(p + 36) == 1;
	s->pin_end_seg = get64(p + 44);
	s->pin_end_off = get64(p + 52);
	s->next_seg = get64(p + 60);
	if (get32(p) == CUR_MAGIC) {
		s->unrep[L_FULL] = get64(p + 68);
		s->unrep[L_CORRUPT] = get64(p + 76);
		s->doubt = get64(p + 84);
	}
	return 0;
}

/* --- segments ------------------------------------------------------------------------ */

static struct seg *find_seg(struct prn_spool *s, uint64_t id, size_t *idx)
{
	for (size_t i = 0; i < s->nsegs; i++)
		if (s->segs[i].id == id) {
			if (idx)
				*idx = i;
			return &s->segs[i];
		}
	return NULL;
}

static int add_seg(struct prn_spool *s, uint64_t id, uint64_t size, uint64_t nrec)
{
	if (s->nsegs == s->capsegs) {
		size_t cap = s->capsegs ? s->capsegs * 2 : 16;
		struct seg *n = realloc(s->segs, cap * sizeof(*n));

		if (!n)
			return -1;
		s->segs = n;
		s->capsegs = cap;
	}
	s->segs[s->nsegs++] = (struct seg){id, size, nrec};
	return 0;
}

static void remove_seg(struct prn_spool *s, size_t i)
{
	char name[32];

	seg_name(name, sizeof(name), s->segs[i].id);
	if (unlinkat(s->dirfd, name, 0) < 0 && errno != ENOENT)
		log_warn("spool: cannot remove %s", name);
	memmove(&s->segs[i], &s->segs[i + 1], (s->nsegs - i - 1) * sizeof(*s->segs));
	s->nsegs--;
}

static int is_writer(const struct prn_spool *s, size_t i)
{
	return s->wfd >= 0 && i == s->nsegs - 1;
}

/* Bytes of segment i that may be handed out: synced ones only. */
static uint64_t readable(const struct prn_spool *s, size_t i)
{
	return is_writer(s, i) ? s->wsynced : s->segs[i].size;
}

/* Write out what is buffered (no sync). A write cut short (ENOSPC) is
 * remembered: the next flush goes on from where it stopped, so nothing is
 * written twice or half. */
static int flush_wbuf(struct prn_spool *s)
{
	while (s->wdone < s->wlen) {
		ssize_t w = write(s->wfd, s->wbuf + s->wdone, s->wlen - s->wdone);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -1 : (errno = EIO, -1);
		s->wdone += (size_t)w;
	}
	s->wlen = s->wdone = 0;
	s->wrecs = 0;
	return 0;
}

/* A failed write leaves the spool as it was (retry later); a failed
 * fdatasync does not (the kernel may have dropped the pages it could not
 * write and call them clean): from then on every sync fails, EIO. */
static int sync_writer(struct prn_spool *s)
{
	if (s->wfd < 0)
		return 0;
	if (s->broken) {
		errno = EIO;
		return -1;
	}
	if (flush_wbuf(s) < 0)
		return -1;
	if (fdatasync(s->wfd) < 0 || (s->dir_dirty && fsync(s->dirfd) < 0)) {
		s->broken = errno ? errno : EIO;
		log_warn("spool: sync failed: nothing more is taken");
		errno = EIO;
		return -1;
	}
	s->dir_dirty = 0;
	s->wsynced = s->segs[s->nsegs - 1].size;
	return 0;
}

/* Close the segment being written (synced) and start the next. */
static int rotate(struct prn_spool *s)
{
	int fd;

	if (sync_writer(s) < 0)
		return -1;
	if (s->wfd >= 0)
		close(s->wfd);
	s->wfd = -1;
	fd = open_seg(s, s->next_seg, O_WRONLY | O_CREAT | O_EXCL | O_APPEND);
	if (fd < 0)
		return -1;
	if (add_seg(s, s->next_seg, 0, 0) < 0) {
		close(fd);
		return -1;
	}
	s->next_seg++;
	s->wfd = fd;
	s->wsynced = 0;
	s->dir_dirty = 1;
	return 0;
}

/* The head is past segment 0 (or at its end and it is not written to):
 * remove the segments wholly delivered. */
static void trim(struct prn_spool *s)
{
	while (s->nsegs) {
		struct seg *g = &s->segs[0];

		if (g->id < s->head_seg) {
			remove_seg(s, 0);
		} else if (g->id == s->head_seg && s->head_off >= g->size && !is_writer(s, 0)) {
			remove_seg(s, 0);
			s->head_seg = s->nsegs ? s->segs[0].id : s->next_seg;
			s->head_off = s->head_rec = 0;
		} else {
			break;
		}
	}
	if (!s->nsegs) {
		s->head_seg = s->next_seg;
		s->head_off = s->head_rec = 0;
	}
}

/* Full: drop the oldest segment (rotating first when it is the one being
 * written). Its lines not yet delivered are lost, and counted in the
 * cursor before the unlink (a crash between the two reports them at the
 * next open); those of the batch in flight are only in doubt: lost if it
 * is not delivered after all (prn_spool_peek, prn_spool_open). 0 or -1. */
static int drop_oldest(struct prn_spool *s)
{
	uint64_t first, n, flight = 0, head_seg = s->head_seg, head_off = s->head_off;
	uint64_t head_rec = s->head_rec;
	int pinned = s->pinned;
	struct seg *g;

	if (!s->nsegs)
		return -1;
	if (is_writer(s, 0) && rotate(s) < 0)
		return -1;
	g = &s->segs[0];
	first = g->id == s->head_seg ? s->head_rec : 0;
	n = g->nrec - first;
	if (s->fl && g->id < s->fl_end_seg)
		flight = n;
	else if (s->fl && g->id == s->fl_end_seg && s->fl_end_rec > first)
		flight = s->fl_end_rec - first < n ? s->fl_end_rec - first : n;
	if (g->id == s->head_seg || (s->pinned && s->pin_end_seg == g->id))
		s->pinned = 0; /* the pinned batch lost its start */
	s->head_seg = s->nsegs > 1 ? s->segs[1].id : s->next_seg;
	s->head_off = s->head_rec = 0;
	s->unrep[L_FULL] += n - flight;
	s->doubt += flight;
	if (cursor_write(s) < 0) {
		s->unrep[L_FULL] -= n - flight;
		s->doubt -= flight;
		s->head_seg = head_seg;
		s->head_off = head_off;
		s->head_rec = head_rec;
		s->pinned = pinned;
		return -1;
	}
	snprintf(s->why[L_FULL], sizeof(s->why[L_FULL]),
		 "spool full (spool_max_bytes %llu): segment %016llx dropped, oldest first",
		 (unsigned long long)s->max_bytes, (unsigned long long)g->id);
	s->st.dropped += n - flight;
	remove_seg(s, 0);
	report(s);
	return 0;
}

/* The batch in flight will not be delivered (a new one is formed, or the
 * spool was reopened): what a drop took of it is lost. */
static void doubt_lost(struct prn_spool *s, const char *when)
{
	s->fl = 0;
	if (!s->doubt)
		return;
	snprintf(s->why[L_FULL], sizeof(s->why[L_FULL]),
		 "spool full (spool_max_bytes %llu): lines of a batch in flight were dropped, "
		 "and it was %s", (unsigned long long)s->max_bytes, when);
	lost(s, L_FULL, s->doubt);
	s->doubt = 0;
}

/* --- open ------------------------------------------------------------------------------ */

static int cmp_seg(const void *a, const void *b)
{
	const struct seg *x = a, *y = b;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* Every SEG.seg file of the directory into s->segs, sorted. */
static int list_segs(struct prn_spool *s, char *err, size_t errlen)
{
	int fd = openat(s->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;

	if (!d) {
		snprintf(err, errlen, "spool: cannot list its directory: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while ((e = readdir(d))) {
		char *end;
		unsigned long long id;

		if (strlen(e->d_name) != 20 || strcmp(e->d_name + 16, ".seg") ||
		    strspn(e->d_name, "0123456789abcdef") != 16)
			continue;
		id = strtoull(e->d_name, &end, 16);
		if (add_seg(s, id, 0, 0) < 0) {
			closedir(d);
			snprintf(err, errlen, "spool: out of memory");
			return -1;
		}
	}
	closedir(d);
	if (s->nsegs)
		qsort(s->segs, s->nsegs, sizeof(*s->segs), cmp_seg);
	return 0;
}

/* Whether the bad record at off, up to size, has the shape a crash in the
 * middle of a write leaves: cut short (a header or line running past the
 * end) or, after a power loss, zeros to the end. A whole record with a
 * wrong checksum followed by data is damage instead. */
static int torn_shape(int fd, uint64_t off, uint64_t size)
{
	unsigned char b[4096];

	if (size - off < REC_HDR || (pread_all(fd, b, REC_HDR, off) == 0 && get32(b) == REC_MAGIC &&
				     get32(b + 4) > size - off - REC_HDR))
		return 1;
	while (off < size) {
		size_t n = size - off < sizeof(b) ? (size_t)(size - off) : sizeof(b);

		if (pread_all(fd, b, n, off) != 0)
			return 0;
		for (size_t k = 0; k < n; k++)
			if (b[k])
				return 0;
		off += n;
	}
	return 1;
}

/* Read segment i whole: its records counted, a bad record and what
 * follows cut off; the head's record index found when it lies here. A
 * torn tail of the newest segment (torn_shape) is a write a crash
 * interrupted, never synced, so never acknowledged (the supervisor sends
 * those lines again): logged, not a loss. Any other bad record (in an
 * older segment, synced whole when the next was started, or a damaged
 * one) is a loss of acknowledged lines: counted. A cut marker ends the
 * segment where cut_seg found a bad record (its loss was counted then). */
static int scan_seg(struct prn_spool *s, size_t i)
{
	struct seg *g = &s->segs[i];
	struct stat st;
	uint64_t off = 0, n = 0;
	int fd = open_seg(s, g->id, O_RDWR), head_ok = g->id != s->head_seg || s->head_off == 0;
	long len;

	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while ((len = read_rec(s, fd, off, (uint64_t)st.st_size)) > 0) {
		off += REC_HDR + (uint64_t)len;
		n++;
		if (g->id == s->head_seg && off == s->head_off) {
			s->head_rec = n;
			head_ok = 1;
		}
	}
	if (len < 0) {
		unsigned char m[4];
		long long cut = (long long)st.st_size - (long long)off;

		if (errno != EIO) {
			close(fd);
			return -1;
		}
		if (pread_all(fd, m, 4, off) == 0 && get32(m) == CUT_MAGIC) {
			log_info("spool: segment %016llx ends at byte %llu, where a bad record was "
				 "found (reported then)",
				 (unsigned long long)g->id, (unsigned long long)off);
		} else if (i == s->nsegs - 1 && torn_shape(fd, off, (uint64_t)st.st_size)) {
			log_warnx("spool: segment %016llx: a torn tail at byte %llu (%lld bytes) cut "
				  "off: a write a crash interrupted, never acknowledged, so sent again "
				  "by the supervisor: not a loss",
				  (unsigned long long)g->id, (unsigned long long)off, cut);
			s->st.torn++;
		} else {
			snprintf(s->why[L_CORRUPT], sizeof(s->why[L_CORRUPT]),
				 "spool: segment %016llx: a corrupt record at byte %llu: %lld bytes "
				 "cut off (at least one line)",
				 (unsigned long long)g->id, (unsigned long long)off, cut);
			log_warnx("%s", s->why[L_CORRUPT]);
			s->st.torn++;
			lost(s, L_CORRUPT, 1);
		}
		if (ftruncate(fd, (off_t)off) < 0 || fdatasync(fd) < 0)
			log_warn("spool: cannot cut segment %016llx", (unsigned long long)g->id);
	}
	close(fd);
	g->size = off;
	g->nrec = n;
	if (!head_ok) {
		/* a cursor that names no record boundary: start the segment
		 * again (repeats carry their uuid) */
		log_warnx("spool: the head %llu is not a record of segment %016llx: it is read "
			  "again from its start",
			  (unsigned long long)s->head_off, (unsigned long long)g->id);
		s->head_off = s->head_rec = 0;
		s->pinned = 0;
	}
	return 0;
}

struct prn_spool *prn_spool_open(int dirfd, uint64_t max_bytes, char *err, size_t errlen)
{
	struct prn_spool *s = calloc(1, sizeof(*s));
	int fresh;

	if (!s) {
		snprintf(err, errlen, "spool: out of memory");
		return NULL;
	}
	s->dirfd = dirfd;
	s->wfd = s->curfd = -1;
	/* one spool, one writer: a second agent pointed at the same
	 * directory would interleave cursors and segments. The lock is the
	 * open file's, so it ends with the process however it ends. */
	s->lockfd = openat(dirfd, "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (s->lockfd < 0) {
		snprintf(err, errlen, "spool: cannot open its lock file: %s", strerror(errno));
		goto fail;
	}
	if (flock(s->lockfd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;

		snprintf(err, errlen, "spool: %s", e == EWOULDBLOCK
				      ? "its directory is in use by another process (its lock is held)"
				      : strerror(e));
		prn_spool_close(s);
		errno = e;
		return NULL;
	}
	s->max_bytes = max_bytes;
	s->seg_max = max_bytes / 16;
	if (s->seg_max > (64u << 20))
		s->seg_max = 64u << 20;
	if (s->seg_max < 4096)
		s->seg_max = 4096;
	s->loss = default_loss;
	s->curfd = openat(dirfd, "cursor", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (s->curfd < 0) {
		snprintf(err, errlen, "spool: cannot open its cursor: %s", strerror(errno));
		goto fail;
	}
	fresh = cursor_read(s) < 0;
	for (int c = 0; c < L_N; c++)
		snprintf(s->why[c], sizeof(s->why[c]),
			 "spool: lines lost before the printer restarted (%s), reported now: this may "
			 "repeat a report already made", c == L_FULL ? "full: its oldest dropped"
								       : "a corrupt record");
	/* a new cursor: nothing of an unreadable one may win over it later */
	if (fresh && (ftruncate(s->curfd, 0) < 0 ||
		      getrandom(s->id, sizeof(s->id), 0) != (ssize_t)sizeof(s->id))) {
		snprintf(err, errlen, "spool: a new cursor: %s", strerror(errno));
		goto fail;
	}
	if (list_segs(s, err, errlen) < 0)
		goto fail;
	if (fresh && s->nsegs) {
		log_warnx("spool: no valid cursor: every segment is sent again from the oldest "
			  "(repeats carry their uuid)");
		s->head_seg = s->segs[0].id;
	}
	/* segments before the head were delivered (their removal was cut short) */
	while (s->nsegs && s->segs[0].id < s->head_seg)
		remove_seg(s, 0);
	if (s->nsegs && s->segs[0].id > s->head_seg) {
		s->head_seg = s->segs[0].id;
		s->head_off = s->head_rec = 0;
		s->pinned = 0;
	}
	for (size_t i = 0; i < s->nsegs; i++)
		if (scan_seg(s, i) < 0) {
			snprintf(err, errlen, "spool: cannot read segment %016llx: %s",
				 (unsigned long long)s->segs[i].id, strerror(errno));
			goto fail;
		}
	if (s->nsegs && s->head_off > s->segs[0].size)
		s->head_off = s->segs[0].size; /* cut short by the torn tail */
	if (s->nsegs && s->segs[s->nsegs - 1].id >= s->next_seg)
		s->next_seg = s->segs[s->nsegs - 1].id + 1;
	if (!s->nsegs && s->head_seg > s->next_seg)
		s->next_seg = s->head_seg;
	trim(s);
	if (s->pinned && (!find_seg(s, s->pin_end_seg, NULL) ||
			  s->pin_end_seg < s->head_seg ||
			  (s->pin_end_seg == s->head_seg && s->pin_end_off <= s->head_off)))
		s->pinned = 0;
	/* a batch in flight when the last printer ended lost lines to a
	 * drop: whether it arrived is unknown; counted lost (a report too
	 * many rather than one missing) */
	doubt_lost(s, "not known to be delivered when the printer restarted");
	if (cursor_write(s) < 0) {
		snprintf(err, errlen, "spool: cannot write its cursor: %s", strerror(errno));
		goto fail;
	}
	/* in a printer before READY the runtime keeps the report and sends
	 * it at READY; elsewhere (a test) it waits for prn_spool_on_loss or
	 * the first operation */
	if (prn_loss_held())
		report(s);
	return s;
fail:
	prn_spool_close(s);
	return NULL;
}

void prn_spool_close(struct prn_spool *s)
{
	if (!s)
		return;
	if (s->wfd >= 0) {
		if (sync_writer(s) < 0)
			log_warn("spool: last sync at close");
		close(s->wfd);
	}
	if (s->curfd >= 0)
		close(s->curfd);
	if (s->lockfd >= 0)
		close(s->lockfd);
	free(s->segs);
	free(s->wbuf);
	free(s->rbuf);
	free(s);
}

void prn_spool_on_loss(struct prn_spool *s,
		       void (*fn)(void *arg, const char *cause, uint64_t count, const char *detail),
		       void *arg)
{
	s->loss = fn ? fn : default_loss;
	s->loss_arg = arg;
	report(s);
}

/* --- append and sync ------------------------------------------------------------------- */

int prn_spool_append(struct prn_spool *s, const char *line, size_t len)
{
	size_t rec = REC_HDR + len;
	struct seg *w;

	if (len == 0 || memchr(line, '\n', len)) {
		errno = EINVAL;
		return -1;
	}
	if (len > PRN_SPOOL_LINE_MAX || rec > s->max_bytes) {
		errno = EMSGSIZE;
		return -1;
	}
	if (s->broken) {
		errno = EIO;
		return -1;
	}
	report(s);
	while (prn_spool_bytes(s) + rec > s->max_bytes && prn_spool_lines(s))
		if (drop_oldest(s) < 0)
			return -1;
	if (s->wfd < 0 || (s->segs[s->nsegs - 1].size && s->segs[s->nsegs - 1].size + rec > s->seg_max))
		if (rotate(s) < 0)
			return -1;
	if (s->wlen + rec > s->wcap) {
		size_t cap = s->wlen + rec > WBUF_MAX ? s->wlen + rec : WBUF_MAX;
		char *nb = realloc(s->wbuf, cap);

		if (!nb)
			return -1;
		s->wbuf = nb;
		s->wcap = cap;
	}
	put32((unsigned char *)s->wbuf + s->wlen, REC_MAGIC);
	put32((unsigned char *)s->wbuf + s->wlen + 4, (uint32_t)len);
	put32((unsigned char *)s->wbuf + s->wlen + 8, rec_crc((uint32_t)len, line));
	memcpy(s->wbuf + s->wlen + REC_HDR, line, len);
	s->wlen += rec;
	s->wrecs++;
	w = &s->segs[s->nsegs - 1];
	w->size += rec;
	w->nrec++;
	s->st.appended++;
	if (s->wlen >= WBUF_MAX && flush_wbuf(s) < 0) {
		int e = errno;

		if (s->wdone > s->wlen - rec)
			return 0; /* partly written: it stays, the next flush ends it */
		/* none of its bytes reached the file: take it back */
		s->wlen -= rec;
		s->wrecs--;
		w->size -= rec;
		w->nrec--;
		s->st.appended--;
		errno = e;
		return -1;
	}
	return 0;
}

int prn_spool_sync(struct prn_spool *s)
{
	report(s);
	return sync_writer(s);
}

/* --- peek and consume ------------------------------------------------------------------ */

static int batch_add(struct prn_spool_batch *b, const char *line, size_t len)
{
	if (b->len + len + 1 > b->cap) {
		size_t cap = (b->len + len + 1) * 2;
		char *nb = realloc(b->buf, cap);

		if (!nb)
			return -1;
		b->buf = nb;
		b->cap = cap;
	}
	memcpy(b->buf + b->len, line, len);
	b->buf[b->len + len] = '\n';
	b->len += len + 1;
	b->lines++;
	return 0;
}

/* Mark segment id as ending at off (a reopen stops there and does not
 * count its loss again). */
static void mark_cut(struct prn_spool *s, uint64_t id, uint64_t off)
{
	unsigned char m[4];
	int fd = open_seg(s, id, O_WRONLY);

	put32(m, CUT_MAGIC);
	if (fd < 0 || pwrite(fd, m, sizeof(m), (off_t)off) != (ssize_t)sizeof(m) ||
	    fdatasync(fd) < 0)
		log_warn("spool: cannot mark segment %016llx cut at byte %llu (a reopen counts "
			 "its loss again)", (unsigned long long)id, (unsigned long long)off);
	if (fd >= 0)
		close(fd);
}

/* A bad record met while reading back (the disk changed under us): the
 * rest of segment i is lost, counted, and the segment ends there. When i
 * is the segment being written, the lines still buffered are not lost:
 * they go on in a new segment (appending after the bad bytes would make
 * every later line of it unreadable). */
static void cut_seg(struct prn_spool *s, size_t i, uint64_t off, uint64_t recs_before)
{
	struct seg *g = &s->segs[i];
	uint64_t n = g->nrec - recs_before, id = g->id;
	int writer = is_writer(s, i);

	snprintf(s->why[L_CORRUPT], sizeof(s->why[L_CORRUPT]),
		 "spool: segment %016llx: a bad record at byte %llu: the rest of it dropped",
		 (unsigned long long)g->id, (unsigned long long)off);
	log_warnx("%s", s->why[L_CORRUPT]);
	g->size = off;
	g->nrec = recs_before;
	if (writer) {
		close(s->wfd);
		s->wfd = -1;
		n -= s->wrecs;
		if (s->wlen) {
			int fd = open_seg(s, s->next_seg, O_WRONLY | O_CREAT | O_EXCL | O_APPEND);

			if (fd < 0 || add_seg(s, s->next_seg, s->wlen, s->wrecs) < 0) {
				log_warn("spool: cannot start a segment for the buffered lines");
				if (fd >= 0)
					close(fd);
				n += s->wrecs; /* lost too */
				s->wlen = s->wdone = 0;
				s->wrecs = 0;
			} else {
				s->next_seg++;
				s->wfd = fd;
				s->wdone = 0;
				s->wsynced = 0;
				s->dir_dirty = 1;
			}
		}
	}
	mark_cut(s, id, off);
	s->st.torn++;
	lost(s, L_CORRUPT, n);
	if (cursor_write(s) < 0)
		log_warn("spool: cannot write its cursor");
	report(s);
}

int prn_spool_peek(struct prn_spool *s, size_t max_lines, size_t max_bytes,
		   struct prn_spool_batch *b)
{
	size_t i = 0;
	uint64_t off, rec;
	int pinned;

	report(s);
	if (!s->pinned && s->fl) {
		/* a new batch: the one handed out before was given up */
		uint64_t d = s->doubt;

		doubt_lost(s, "not delivered");
		if (d && cursor_write(s) < 0)
			return -1;
		report(s);
	}
	off = s->head_off;
	rec = s->head_rec;
	pinned = s->pinned;
	b->len = b->lines = 0;
	if (!find_seg(s, s->head_seg, &i))
		return 0;
	b->seg = s->head_seg;
	b->off = s->head_off;
	for (; i < s->nsegs; i++, off = 0, rec = 0) {
		struct seg *g = &s->segs[i];
		uint64_t lim = readable(s, i);
		int fd;
		long len;

		if (off >= lim) {
			if (off < g->size || is_writer(s, i))
				break; /* what follows is not synced yet */
			continue;
		}
		fd = open_seg(s, g->id, O_RDONLY);
		if (fd < 0)
			return -1;
		for (;;) {
			if (pinned ? g->id == s->pin_end_seg && off >= s->pin_end_off
				   : b->lines >= max_lines)
				break;
			len = read_rec(s, fd, off, lim);
			if (len == 0)
				break;
			if (len < 0) {
				if (errno != EIO) {
					close(fd);
					return -1;
				}
				cut_seg(s, i, off, rec);
				g = &s->segs[i]; /* cut_seg may have added a segment */
				lim = off;
				break;
			}
			if (!pinned && b->lines && b->len + (size_t)len + 1 > max_bytes)
				break;
			if (batch_add(b, s->rbuf, (size_t)len) < 0) {
				close(fd);
				return -1;
			}
			off += REC_HDR + (uint64_t)len;
			rec++;
		}
		close(fd);
		b->end_seg = g->id;
		b->end_off = off;
		b->end_rec = rec;
		if (pinned ? g->id == s->pin_end_seg
			   : b->lines >= max_lines || off < lim || (b->lines && b->len >= max_bytes))
			break;
		if (pinned && g->id > s->pin_end_seg)
			break;
	}
	if (pinned && (b->end_seg != s->pin_end_seg || b->end_off != s->pin_end_off)) {
		/* the pinned batch cannot be read back whole: form a new one */
		s->pinned = 0;
		return prn_spool_peek(s, max_lines, max_bytes, b);
	}
	if (!b->lines)
		return 0;
	if (!pinned) {
		s->pinned = 1;
		s->pin_end_seg = b->end_seg;
		s->pin_end_off = b->end_off;
		if (cursor_write(s) < 0) {
			s->pinned = 0;
			return -1;
		}
	}
	s->fl = 1;
	s->fl_end_seg = b->end_seg;
	s->fl_end_rec = b->end_rec;
	snprintf(b->key, sizeof(b->key), "%02x%02x%02x%02x%02x%02x%02x%02x-%llx.%llx-%llx.%llx",
		 s->id[0], s->id[1], s->id[2], s->id[3], s->id[4], s->id[5], s->id[6], s->id[7],
		 (unsigned long long)b->seg, (unsigned long long)b->off,
		 (unsigned long long)b->end_seg, (unsigned long long)b->end_off);
	return 1;
}

int prn_spool_consume(struct prn_spool *s, const struct prn_spool_batch *b)
{
	if (!b->lines)
		return 0;
	report(s);
	if (s->fl && b->end_seg == s->fl_end_seg && b->end_rec == s->fl_end_rec) {
		s->fl = 0;
		s->doubt = 0; /* delivered: what a drop took of it was not lost */
	}
	/* only forward: a drop may already have moved the head past it */
	if (b->end_seg > s->head_seg || (b->end_seg == s->head_seg && b->end_off > s->head_off)) {
		s->head_seg = b->end_seg;
		s->head_off = b->end_off;
		s->head_rec = b->end_rec;
		s->st.consumed += b->lines;
	}
	s->pinned = 0;
	trim(s);
	return cursor_write(s);
}

void prn_spool_batch_free(struct prn_spool_batch *b)
{
	free(b->buf);
	memset(b, 0, sizeof(*b));
}

uint64_t prn_spool_bytes(const struct prn_spool *s)
{
	uint64_t n = 0;

	for (size_t i = 0; i < s->nsegs; i++)
		n += s->segs[i].size;
	return s->nsegs && s->segs[0].id == s->head_seg ? n - s->head_off : n;
}

uint64_t prn_spool_lines(const struct prn_spool *s)
{
	uint64_t n = 0;

	for (size_t i = 0; i < s->nsegs; i++)
		n += s->segs[i].nrec;
	return s->nsegs && s->segs[0].id == s->head_seg ? n - s->head_rec : n;
}

void prn_spool_stats(const struct prn_spool *s, struct prn_spool_stats *st)
{
	*st = s->st;
	st->segments = s->nsegs;
}
