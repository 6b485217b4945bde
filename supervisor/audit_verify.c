/*
 * audit_verify.c - jibril --verify-audit FILE: check every record's MAC,
 * the chain (seq + 1, prev = the previous MAC, from seq 1) and the end of
 * the log against the anchor; name the first bad record.
 *
 * Invariants:
 *  - the file is outside input (whoever tampered with it wrote it): lines
 *    are read with a hard cap (SUP_AUDIT_LINE_MAX), each is parsed on its
 *    own, nothing is trusted before its MAC and its place in the chain are.
 *  - the first bad line ends the check: after a break nothing can be
 *    vouched for, and naming more would only guess.
 *  - a last line without its newline is a cut record (the agent writes
 *    each record with its newline in one write(2)), even if it parses.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "supervisor/audit.h"

__attribute__((format(printf, 2, 3)))
static int verdict(struct sup_audit_verdict *v, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(v->why, sizeof(v->why), fmt, ap);
	va_end(ap);
	return -1;
}

int sup_audit_verify_stream(const unsigned char *key, FILE *f, const struct sup_audit_link *anchor,
			    struct sup_audit_verdict *v)
{
	unsigned char at_anchor[SUP_AUDIT_MAC_LEN];
	char *buf = malloc(SUP_AUDIT_LINE_MAX + 1);
	int seen_anchor = 0, rc = -1;

	memset(v, 0, sizeof(*v));
	if (!buf)
		return verdict(v, "out of memory");
	for (uint64_t line = 1;; line++) {
		struct sup_audit_link cur;
		size_t len = 0;
		int c = EOF, nl = 0;

		/* one line, capped: a longer one is bad, not a reason to allocate */
		while (len <= SUP_AUDIT_LINE_MAX && (c = getc(f)) != EOF) {
			if (c == '\n') {
				nl = 1;
				break;
			}
			buf[len++] = (char)c;
		}
		if (ferror(f)) {
			verdict(v, "cannot read: %s", strerror(errno));
			goto out;
		}
		if (len == 0 && c == EOF)
			break;
		if (len > SUP_AUDIT_LINE_MAX) {
			v->bad_line = line;
			verdict(v, "longer than %d bytes", SUP_AUDIT_LINE_MAX - 1);
			goto out;
		}
		if (!nl) {
			/* whatever it parses as: the agent never leaves a record
			 * without its newline */
			v->bad_line = line;
			v->bad_seq = v->last.seq + 1;
			verdict(v, "the last record is cut (no newline after it): the log was "
				   "truncated there, or the agent died in the middle of a write");
			goto out;
		}
		if (sup_audit_check_line(key, buf, len, &v->last, &cur, v->why, sizeof(v->why)) < 0) {
			v->bad_line = line;
			v->bad_seq = cur.seq;
			goto out;
		}
		v->last = cur;
		v->records++;
		if (anchor && cur.seq == anchor->seq) {
			memcpy(at_anchor, cur.mac, sizeof(at_anchor));
			seen_anchor = 1;
		}
	}
	rc = 0;
	if (!anchor)
		goto out;
	if (!seen_anchor) {
		rc = verdict(v, "the log ends at seq %llu but its anchor is at seq %llu: %llu "
			     "records removed from its end", (unsigned long long)v->last.seq,
			     (unsigned long long)anchor->seq,
			     (unsigned long long)(anchor->seq - v->last.seq));
		v->bad_line = v->records + 1;
	} else if (memcmp(at_anchor, anchor->mac, sizeof(at_anchor)) != 0) {
		rc = verdict(v, "the record of seq %llu is not the one the anchor names: the log "
			     "was replaced from there on", (unsigned long long)anchor->seq);
		v->bad_line = anchor->seq;
		v->bad_seq = anchor->seq;
	}
out:
	free(buf);
	return rc;
}

int sup_audit_verify(const char *file, const char *keypath, FILE *out)
{
	unsigned char key[SUP_AUDIT_KEY_LEN];
	struct sup_audit_verdict v;
	struct sup_audit_link anchor;
	char err[512], apath[4200];
	int created, ar, rc;
	FILE *f;

	/* not strict: a copy of the key kept elsewhere need not be root's */
	if (sup_audit_key_load(keypath, 0, 0, &created, key, err, sizeof(err)) < 0) {
		fprintf(out, "%s: %s\n", keypath, err);
		return EX_NOINPUT;
	}
	ar = sup_audit_anchor_read(keypath, key, &anchor, err, sizeof(err));
	f = fopen(file, "re");
	if (!f) {
		fprintf(out, "%s: cannot open: %s\n", file, strerror(errno));
		return EX_NOINPUT;
	}
	/* a bad anchor is reported after the records: a wrong key, say, is
	 * better named by the first record it fails on */
	rc = sup_audit_verify_stream(key, f, ar > 0 ? &anchor : NULL, &v);
	fclose(f);
	sup_audit_anchor_path(keypath, apath, sizeof(apath));
	if (rc == 0 && ar < 0)
		fprintf(out, "%s: %s\n", file, err), rc = -1;
	else if (rc < 0 && v.bad_line && v.bad_seq)
		fprintf(out, "%s:%llu: seq %llu: %s\n", file, (unsigned long long)v.bad_line,
			(unsigned long long)v.bad_seq, v.why);
	else if (rc < 0 && v.bad_line)
		fprintf(out, "%s:%llu: %s\n", file, (unsigned long long)v.bad_line, v.why);
	else if (rc < 0)
		fprintf(out, "%s: %s\n", file, v.why);
	else if (!ar && v.records)
		/* the agent writes the anchor with its first record */
		fprintf(out, "%s: no anchor %s: records removed from the end of the log cannot "
			"be detected without it\n", file, apath), rc = -1;
	else
		fprintf(out, "%s: ok: %llu records%s\n", file, (unsigned long long)v.records,
			ar ? ", the end matches the anchor" : "");
	return rc < 0 ? EX_DATAERR : 0;
}
