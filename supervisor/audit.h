/*
 * audit.h - the tamper-evident audit log: one JSON line per decision of the
 * supervisor, each sealed with an HMAC-SHA256 chained over the previous one
 * (format: docs/SECURITY.md, "Audit log").
 *
 * audit_chain.c: the record format, the key file and the anchor (no
 * supervisor state: the verifier and the fuzz harness use it alone);
 * audit.c: the supervisor's log (open, lock, resume, append);
 * audit_verify.c: jibril --verify-audit.
 */
#ifndef JB_SUP_AUDIT_H
#define JB_SUP_AUDIT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

struct sup;

#define SUP_AUDIT_KEY_LEN 32
#define SUP_AUDIT_MAC_LEN 32
/* A record line (with its newline) is at most this long: the writer cuts a
 * record's data to fit, the verifier refuses a longer line. */
#define SUP_AUDIT_LINE_MAX (128 * 1024)

/* Where a chain stands: the last record's seq and MAC (seq 0 and a zero
 * MAC before the first record). */
struct sup_audit_link {
	uint64_t seq;
	unsigned char mac[SUP_AUDIT_MAC_LEN];
};

/* --- audit_chain.c: format, key, anchor ------------------------------------ */
/* Seal rec (an object with seq, time, type and optional data / unwritten)
 * after *link: sets "prev", computes "hmac", returns the line with its
 * newline (malloc'd, *len its length) and the new position in *next.
 * NULL when out of memory. */
char *sup_audit_seal(const unsigned char *key, const struct sup_audit_link *link, json_t *rec,
		     size_t *len, struct sup_audit_link *next);
/* Check one line (without its newline) as a record sealed with key; when
 * prev is not NULL it must also follow it (seq + 1, "prev" its MAC). 0 with
 * the record's position in *out, or -1 with why (one sentence) in why. */
int sup_audit_check_line(const unsigned char *key, const char *line, size_t len,
			 const struct sup_audit_link *prev, struct sup_audit_link *out, char *why,
			 size_t whylen);
/* Load the key at path: a regular file of exactly SUP_AUDIT_KEY_LEN bytes,
 * not a symbolic link. strict: also owned by root and private (no group or
 * other bits), as the agent requires. create: make it (O_EXCL, 0600, random
 * bytes from getrandom) when it does not exist; *created says so. 0, or -1
 * with why in err (no path prefix). */
int sup_audit_key_load(const char *path, int strict, int create, int *created,
		       unsigned char *key, char *err, size_t errlen);
/* path's directory (audit.c): made if missing (0700), and root's and
 * writable by no one else, as a key's or the log's must be (the privacy
 * key's too). 0, or -1 with why. */
int sup_audit_parent_ok(const char *path, char *why, size_t whylen);
/* The anchor of a log keyed by the key at keypath: KEY.anchor, holding the
 * last record's seq and MAC, itself MACed with the key. */
void sup_audit_anchor_path(const char *keypath, char *out, size_t len);
/* 1 with *a, 0 when there is none, -1 with why in err (unreadable, not an
 * anchor, or MACed with another key). */
int sup_audit_anchor_read(const char *keypath, const unsigned char *key,
			  struct sup_audit_link *a, char *err, size_t errlen);
/* Replace it (temp file, fsync, rename). 0, or -1 with errno set. */
int sup_audit_anchor_write(const char *keypath, const unsigned char *key,
			   const struct sup_audit_link *a);
/* Lower-case hex of SHA-256 of len bytes (out: 65 bytes). */
void sup_audit_sha256_hex(const void *data, size_t len, char *out);

/* --- audit_verify.c ------------------------------------------------------------ */
struct sup_audit_verdict {
	uint64_t records;	/* good records before the first bad one */
	struct sup_audit_link last;
	uint64_t bad_line;	/* 0: every line good */
	uint64_t bad_seq;	/* the bad record's seq when it could be read, else 0 */
	char why[256];
};
/* Check every line of f in order, stopping at the first bad one; then,
 * when anchor is not NULL, the end of the chain against it: the record of
 * the anchor's seq must be there with the anchor's MAC (records after it
 * are accepted: the agent appends before it moves the anchor). 0 when all
 * is good, -1 with the verdict filled in. */
int sup_audit_verify_stream(const unsigned char *key, FILE *f, const struct sup_audit_link *anchor,
			    struct sup_audit_verdict *v);
/* jibril --verify-audit FILE --audit-key KEY: prints "FILE: ok: N records"
 * or "FILE:LINE: seq S: why" on out, and returns the exit status: 0, 65
 * (EX_DATAERR: a bad record, a cut or broken chain) or 66 (EX_NOINPUT: the
 * log or key cannot be read). */
int sup_audit_verify(const char *file, const char *keypath, FILE *out);

/* --- audit.c: the supervisor's log ---------------------------------------------- */
/* Open (creating what is missing) and lock s->cfg's audit file, load or
 * create its key, find where the chain stands. 0 (also when [audit] file is
 * empty: no log), or -1 with "CONF:LINE: [audit] ...: why" in err. */
int sup_audit_open(struct sup *s, char *err, size_t errlen);
/* Append one record of type with data (an object or NULL; the reference is
 * taken, also when there is no log). A record that cannot be written is
 * counted in the next one ("unwritten"); the agent goes on. */
void sup_audit(struct sup *s, const char *type, json_t *data);
/* "start" / "reload": the version, the config file and its sha256, the
 * sha256 of every operator recipe file and of the built-in set. */
void sup_audit_config(struct sup *s, const char *type, const char *version);
/* A reload refused, and why. */
void sup_audit_refused(struct sup *s, const char *why);
/* A child's state change (procs.c set_state) and its restart. */
void sup_audit_state(struct sup *s, const char *kind, long pid, uint64_t gen, const char *from,
		     const char *to, const char *why);
void sup_audit_restart(struct sup *s, const char *kind, uint32_t delay_ms, const char *policy);
/* A loss report: log_warnx(fmt) and a "loss" record of what (at most 5
 * records per what in 10 s; the rest are folded into the next one, and
 * flushed at close). */
void sup_warn_loss(struct sup *s, const char *what, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The same without the log line (the caller logs it its own way). */
void sup_audit_loss(struct sup *s, const char *what, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A tamper detection the router saw (json: the event). */
void sup_audit_detection(struct sup *s, const char *kind, const char *json);
/* Flush folded loss reports, write "stopped", move the anchor, unlock and
 * close (before s->base is freed). */
void sup_audit_close(struct sup *s, const char *why);

#endif
