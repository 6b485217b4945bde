/*
 * audit.c - the supervisor's audit log: every decision (start, reload,
 * child state changes and restarts, losses, tamper detections, shutdown)
 * appended as one sealed JSON line (format: audit_chain.c and
 * docs/SECURITY.md).
 *
 * Invariants:
 *  - the log and its key are root's and private (0600; their directories
 *    root's and writable by no one else); anything else is refused at
 *    start-up with the config's file:line, never repaired.
 *  - one agent per log: the file is flock()ed for the agent's life.
 *  - one write(2) per record, O_APPEND, then fdatasync; a write that fails
 *    or is short is cut off again (ftruncate to the last good size), and
 *    the next record says how many could not be written ("unwritten").
 *    The agent never stops for its audit log: detection matters more.
 *  - the anchor (KEY.anchor) is moved after each record is durable, so it
 *    never names a record the log does not have; in the event loop once per
 *    burst (the records one callback writes: a reap's state changes), as
 *    each fsync costs milliseconds; at close before the log is unlocked.
 *  - resuming: from the log's last record when it is sound and not behind
 *    the anchor; otherwise from the anchor (so the break stays in the chain
 *    for --verify-audit to name); the start record says which.
 *  - no file statics about the running agent: the state hangs off struct sup.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "common/log.h"
#include "common/text.h"
#include "supervisor/audit.h"
#include "supervisor/sup.h"

#define LOSS_KINDS 8
#define LOSS_WINDOW_MS 10000
#define LOSS_BURST 5

struct loss {
	char what[32];
	uint64_t window_ms;	/* start of the current window */
	unsigned in_window;	/* records written in it */
	unsigned folded;	/* reports not written since the last record */
	char detail[256];	/* the last folded one */
};

struct sup_audit {
	int fd;
	off_t size;		/* the file's size after the last good write */
	char path[4096], keypath[4096];
	unsigned char key[SUP_AUDIT_KEY_LEN];
	struct sup_audit_link link;
	int anchor_due;		/* link is ahead of the anchor */
	struct event *anchor_ev; /* moves it at the end of this loop iteration */
	uint64_t unwritten;	/* records that could not be written since the last */
	uint64_t err_log_ms;
	char resumed[1024];	/* how the chain was resumed (the start record) */
	struct loss loss[LOSS_KINDS];
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* "CONF:LINE: [audit] KEY PATH" (or "CONF: [audit] KEY (default) PATH") */
static void where(char *out, size_t len, const struct sup *s, const char *key, int line,
		  const char *path)
{
	if (line > 0)
		snprintf(out, len, "%s:%d: [audit] %s %s", s->conf_path, line, key, path);
	else
		snprintf(out, len, "%s: [audit] %s (default) %s", s->conf_path, key, path);
}

/* Make the directories above path that are missing (0700), then check the
 * one that holds it: root's, and writable by no one else (else anyone who
 * can write it can swap the file). 0, or -1 with why. */
int sup_audit_parent_ok(const char *path, char *why, size_t whylen)
{
	char dir[4096], *p;
	struct stat st;

	snprintf(dir, sizeof(dir), "%s", path);
	p = strrchr(dir, '/');
	if (!p || p == dir)
		snprintf(dir, sizeof(dir), "/");
	else
		*p = '\0';
	for (p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
			snprintf(why, whylen, "cannot create %s: %s", dir, strerror(errno));
			return -1;
		}
		*p = '/';
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		snprintf(why, whylen, "cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		snprintf(why, whylen, "%s: not a directory", dir);
		return -1;
	}
	if (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		snprintf(why, whylen, "its directory %s (uid %u, mode %04o) must be root's and "
			 "writable by no one else", dir, (unsigned)st.st_uid,
			 (unsigned)(st.st_mode & 07777));
		return -1;
	}
	return 0;
}

/* The log's last complete line into a malloc'd buffer; *partial when the
 * file does not end with a newline. 0 (no line: *line NULL), or -1. */
static int last_line(int fd, off_t size, char **line, size_t *len, int *partial)
{
	size_t want = size > SUP_AUDIT_LINE_MAX + 1 ? SUP_AUDIT_LINE_MAX + 1 : (size_t)size;
	char *buf, *end, *start;
	ssize_t n;

	*line = NULL;
	*partial = 0;
	if (size == 0)
		return 0;
	if (!(buf = malloc(want + 1)))
		return -1;
	n = pread(fd, buf, want, size - (off_t)want);
	if (n != (ssize_t)want) {
		free(buf);
		return -1;
	}
	*partial = buf[want - 1] != '\n';
	/* the last newline that ends a line, then the one before it */
	end = memrchr(buf, '\n', want);
	if (!end) {
		free(buf);
		return 0;
	}
	start = end > buf ? memrchr(buf, '\n', (size_t)(end - buf)) : NULL;
	if (!start && (off_t)want < size) {
		free(buf);
		return 0; /* longer than any record: not one */
	}
	start = start ? start + 1 : buf;
	*len = (size_t)(end - start);
	memmove(buf, start, *len);
	buf[*len] = '\0';
	*line = buf;
	return 0;
}

/* Where the chain goes on from (see the invariants). */
static void resume(struct sup_audit *a, const char *conf)
{
	struct sup_audit_link last = {0}, anchor;
	char why[256] = "", aerr[512];
	char *line = NULL;
	size_t len = 0;
	int partial, ar, sound = 0;

	memset(&a->link, 0, sizeof(a->link));
	if (last_line(a->fd, a->size, &line, &len, &partial) < 0)
		snprintf(why, sizeof(why), "cannot read its end: %s", strerror(errno));
	else if (line)
		sound = sup_audit_check_line(a->key, line, len, NULL, &last, why, sizeof(why)) == 0;
	else if (a->size)
		snprintf(why, sizeof(why), "no complete record at its end");
	free(line);
	ar = sup_audit_anchor_read(a->keypath, a->key, &anchor, aerr, sizeof(aerr));
	if (partial && sound) {
		sound = 0;
		snprintf(why, sizeof(why), "it ends in a cut record");
	}
	if (sound && (ar != 1 || last.seq >= anchor.seq) &&
	    !(ar == 1 && last.seq == anchor.seq && memcmp(last.mac, anchor.mac, sizeof(last.mac)))) {
		a->link = last; /* the agent may have died before moving the anchor: fine */
		snprintf(a->resumed, sizeof(a->resumed), "continued after seq %llu%s",
			 (unsigned long long)last.seq, ar == 1 ? "" : " (it had no anchor)");
		if (ar < 0)
			log_warnx("audit log %s: %s; ignored", a->path, aerr);
		return;
	}
	if (!a->size && ar == 0) {
		snprintf(a->resumed, sizeof(a->resumed), "new");
		return;
	}
	if (!a->size && ar == 1) {
		/* rotated (or emptied: the verifier of this file alone says so) */
		a->link = anchor;
		snprintf(a->resumed, sizeof(a->resumed), "continued from the anchor (seq %llu) in "
			 "an empty log: a rotated log verifies with the files before it, "
			 "concatenated", (unsigned long long)anchor.seq);
		log_warnx("audit log %s: %s", a->path, a->resumed);
		return;
	}
	if (sound)
		snprintf(why, sizeof(why), "its last record (seq %llu) is not the one its anchor "
			 "names (seq %llu): records were removed from its end or replaced",
			 (unsigned long long)last.seq, (unsigned long long)anchor.seq);
	if (ar == 1) {
		a->link = anchor;
		snprintf(a->resumed, sizeof(a->resumed), "broken: %s; continued from the anchor "
			 "(seq %llu)", why, (unsigned long long)anchor.seq);
	} else {
		snprintf(a->resumed, sizeof(a->resumed), "broken: %s; %s; a new chain starts",
			 why, ar < 0 ? aerr : "no anchor");
	}
	log_warnx("audit log %s: %s (jibril --verify-audit %s -c %s names the first bad record)",
		  a->path, a->resumed, a->path, conf);
}

int sup_audit_open(struct sup *s, char *err, size_t errlen)
{
	const struct jb_config *c = &s->cfg;
	struct sup_audit *a;
	char fw[4400], kw[4400], why[8400];
	struct stat st;
	int created;

	s->audit = NULL;
	if (!c->audit_file[0]) {
		log_warnx("%s: [audit] file is empty: no audit log is kept", s->conf_path);
		return 0;
	}
	where(fw, sizeof(fw), s, "file", c->audit_file_line, c->audit_file);
	where(kw, sizeof(kw), s, "key", c->audit_key_line, c->audit_key);
	if (!(a = calloc(1, sizeof(*a)))) {
		snprintf(err, errlen, "%s: out of memory", fw);
		return -1;
	}
	a->fd = -1;
	snprintf(a->path, sizeof(a->path), "%s", c->audit_file);
	snprintf(a->keypath, sizeof(a->keypath), "%s", c->audit_key);
	if (sup_audit_parent_ok(a->keypath, why, sizeof(why)) < 0 ||
	    sup_audit_key_load(a->keypath, 1, 1, &created, a->key, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s: %s", kw, why);
		goto fail;
	}
	if (created)
		log_info("audit key %s created", a->keypath);
	if (sup_audit_parent_ok(a->path, why, sizeof(why)) < 0)
		goto fail_file;
	a->fd = open(a->path, O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
	if (a->fd < 0) {
		snprintf(why, sizeof(why), "cannot open: %s%s", strerror(errno),
			 errno == ELOOP ? " (symbolic links are refused)" : "");
		goto fail_file;
	}
	if (fstat(a->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(why, sizeof(why), "not a regular file");
		goto fail_file;
	}
	if (st.st_uid != 0) {
		snprintf(why, sizeof(why), "owned by uid %u, not root (chown root %s)",
			 (unsigned)st.st_uid, a->path);
		goto fail_file;
	}
	if (st.st_mode & 077) {
		snprintf(why, sizeof(why), "mode %04o lets group or others at it: the audit log "
			 "must be private to root (chmod 600 %s)", (unsigned)(st.st_mode & 07777),
			 a->path);
		goto fail_file;
	}
	if (flock(a->fd, LOCK_EX | LOCK_NB) < 0) {
		snprintf(why, sizeof(why), "%s", errno == EWOULDBLOCK
			 ? "locked by another process: another jibril is writing to it (give each "
			   "agent its own audit file)" : strerror(errno));
		goto fail_file;
	}
	a->size = st.st_size;
	resume(a, s->conf_path);
	if (a->size && pread(a->fd, why, 1, a->size - 1) == 1 && why[0] != '\n') {
		/* a cut record stays as evidence; ours starts on a line of its own */
		if (write(a->fd, "\n", 1) == 1)
			a->size++;
	}
	s->audit = a;
	return 0;
fail_file:
	snprintf(err, errlen, "%s: %s", fw, why);
fail:
	if (a->fd >= 0)
		close(a->fd);
	OPENSSL_cleanse(a->key, sizeof(a->key));
	free(a);
	return -1;
}

/* rate-limited: a full disk must not flood the log either */
static void write_failed(struct sup_audit *a, const char *what)
{
	uint64_t now = now_ms();

	if (now - a->err_log_ms < LOSS_WINDOW_MS && a->err_log_ms)
		return;
	a->err_log_ms = now;
	log_warn("audit log %s: %s (%llu records not written so far)", a->path, what,
		 (unsigned long long)a->unwritten);
}

static void anchor_flush(struct sup_audit *a)
{
	if (!a->anchor_due)
		return;
	a->anchor_due = 0;
	if (sup_audit_anchor_write(a->keypath, a->key, &a->link) < 0)
		write_failed(a, "cannot move the anchor");
}

static void anchor_cb(evutil_socket_t fd, short what, void *arg)
{
	anchor_flush(arg);
}

static void append(struct sup *s, const char *type, json_t *data)
{
	struct sup_audit *a = s->audit;
	struct sup_audit_link next;
	char ts[64], *line;
	size_t len;
	ssize_t n;
	json_t *rec;
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	jb_iso_time((int64_t)now.tv_sec * 1000000000 + now.tv_nsec, ts, sizeof(ts));
	rec = json_pack("{s:I,s:s,s:s}", "seq", (json_int_t)(a->link.seq + 1), "time", ts, "type",
			type);
	if (!rec)
		goto lost;
	if (data)
		json_object_set(rec, "data", data);
	if (a->unwritten)
		json_object_set_new(rec, "unwritten", json_integer((json_int_t)a->unwritten));
	line = sup_audit_seal(a->key, &a->link, rec, &len, &next);
	if (line && len > SUP_AUDIT_LINE_MAX) {
		/* never in practice (our records are small): keep the record, cut its data */
		free(line);
		json_object_set_new(rec, "data", json_pack("{s:b,s:I}", "cut", 1, "bytes",
							   (json_int_t)len));
		line = sup_audit_seal(a->key, &a->link, rec, &len, &next);
	}
	json_decref(rec);
	if (!line)
		goto lost;
	n = write(a->fd, line, len);
	free(line);
	if (n != (ssize_t)len) {
		int e = n < 0 ? errno : ENOSPC;
		if (n > 0 && ftruncate(a->fd, a->size) < 0)
			log_warn("audit log %s: cannot cut a short write", a->path);
		errno = e;
		a->unwritten++;
		write_failed(a, "cannot write a record");
		return;
	}
	a->size += (off_t)len;
	a->link = next;
	a->unwritten = 0;
	if (fdatasync(a->fd) < 0)
		write_failed(a, "fdatasync");
	a->anchor_due = 1;
	if (s->base && !a->anchor_ev)
		a->anchor_ev = event_new(s->base, -1, 0, anchor_cb, a);
	if (a->anchor_ev)
		event_active(a->anchor_ev, EV_TIMEOUT, 0);
	else
		anchor_flush(a);
	return;
lost:
	a->unwritten++;
	errno = ENOMEM;
	write_failed(a, "cannot build a record");
}

void sup_audit(struct sup *s, const char *type, json_t *data)
{
	if (s->audit)
		append(s, type, data);
	json_decref(data);
}

/* sha256 of a whole file, or "" when it cannot be read (then why in it). */
static json_t *file_sha256(const char *path)
{
	char hexs[65], *buf = NULL;
	size_t cap = 0, len = 0;
	FILE *f = fopen(path, "re");
	json_t *o;

	if (!f)
		return json_pack("{s:s,s:s}", "path", path, "error", strerror(errno));
	for (;;) {
		if (len == cap) {
			char *nb = realloc(buf, cap = cap ? 2 * cap : 65536);
			if (!nb)
				break;
			buf = nb;
		}
		size_t n = fread(buf + len, 1, cap - len, f);
		if (!n)
			break;
		len += n;
	}
	sup_audit_sha256_hex(buf ? buf : "", len, hexs);
	o = ferror(f) || !buf ? json_pack("{s:s,s:s}", "path", path, "error", "cannot read")
			      : json_pack("{s:s,s:s}", "path", path, "sha256", hexs);
	fclose(f);
	free(buf);
	return o;
}

/* The built-in recipes and lists, as one digest: each source's name, NUL,
 * length (8 bytes, little endian), bytes, in the order the binary has them. */
static void builtin_sha256(char *out)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char md[32];
	unsigned int n = 0;

	if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL))
		goto fail;
	for (int set = 0; set < 2; set++) {
		const struct rcp_source *v = set ? rcp_builtin_files : rcp_builtin;
		size_t nv = set ? rcp_builtin_files_n : rcp_builtin_n;
		for (size_t i = 0; i < nv; i++) {
			unsigned char l[8];
			for (int b = 0; b < 8; b++)
				l[b] = (unsigned char)((uint64_t)v[i].len >> (8 * b));
			EVP_DigestUpdate(ctx, v[i].name, strlen(v[i].name) + 1);
			EVP_DigestUpdate(ctx, l, sizeof(l));
			EVP_DigestUpdate(ctx, v[i].data, v[i].len);
		}
	}
	if (!EVP_DigestFinal_ex(ctx, md, &n))
		goto fail;
	EVP_MD_CTX_free(ctx);
	for (unsigned i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", md[i]);
	return;
fail:
	EVP_MD_CTX_free(ctx);
	snprintf(out, 65, "unknown");
}

void sup_audit_config(struct sup *s, const char *type, const char *version)
{
	char h[65], host[256] = "";
	json_t *d, *files = json_array();

	if (!s->audit)
		return;
	for (size_t i = 0; i < s->recipes.nsrcs; i++) {
		const struct sup_rcp_src *src = &s->recipes.srcs[i];
		if (!src->owned)
			continue; /* built in: in the digest below */
		/* the bytes validated and sent to the workers, not a re-read */
		sup_audit_sha256_hex(src->data, src->len, h);
		json_array_append_new(files, json_pack("{s:s,s:s}", "path", src->name, "sha256", h));
	}
	builtin_sha256(h);
	d = json_pack("{s:o,s:o,s:s,s:I,s:I}", "config", file_sha256(s->conf_path), "recipe_files",
		      files, "builtin_sha256", h, "recipes", (json_int_t)s->recipes.set.n,
		      "recipes_enabled", (json_int_t)sup_recipes_enabled(&s->recipes));
	if (d && version) {
		gethostname(host, sizeof(host) - 1);
		json_object_set_new(d, "version", json_string(version));
		json_object_set_new(d, "pid", json_integer(getpid()));
		json_object_set_new(d, "host", json_string(host));
		json_object_set_new(d, "chain", json_string(s->audit->resumed));
	}
	if (d && !strcmp(type, "reload"))
		json_object_set_new(d, "result", json_string("accepted"));
	sup_audit(s, type, d);
}

void sup_audit_refused(struct sup *s, const char *why)
{
	sup_audit(s, "reload", json_pack("{s:s,s:s}", "result", "refused", "why", why));
}

void sup_audit_state(struct sup *s, const char *kind, long pid, uint64_t gen, const char *from,
		     const char *to, const char *why)
{
	if (s->audit)
		sup_audit(s, "child_state", json_pack("{s:s,s:I,s:I,s:s,s:s,s:s?}", "kind", kind,
						      "pid", (json_int_t)pid, "generation",
						      (json_int_t)gen, "from", from, "to", to,
						      "why", why));
}

void sup_audit_restart(struct sup *s, const char *kind, uint32_t delay_ms, const char *policy)
{
	if (s->audit)
		sup_audit(s, "child_restart", json_pack("{s:s,s:I,s:s}", "kind", kind, "delay_ms",
							(json_int_t)delay_ms, "policy", policy));
}

static struct loss *loss_of(struct sup_audit *a, const char *what)
{
	for (int i = 0; i < LOSS_KINDS; i++) {
		struct loss *l = &a->loss[i];
		if (!l->what[0])
			snprintf(l->what, sizeof(l->what), "%s", what);
		if (!strcmp(l->what, what))
			return l;
	}
	return &a->loss[LOSS_KINDS - 1]; /* more kinds than slots: share the last */
}

static void loss_record(struct sup *s, struct loss *l, const char *what, const char *detail)
{
	sup_audit(s, "loss", json_pack("{s:s,s:s,s:I}", "what", what, "detail", detail, "folded",
				       (json_int_t)l->folded));
	l->folded = 0;
}

static void loss_v(struct sup *s, int log, const char *what, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));
static void loss_v(struct sup *s, int log, const char *what, const char *fmt, va_list ap)
{
	struct loss *l;
	char text[256];
	uint64_t now = now_ms();

	vsnprintf(text, sizeof(text), fmt, ap);
	if (log)
		log_warnx("%s", text);
	if (!s->audit)
		return;
	l = loss_of(s->audit, what);
	if (now - l->window_ms >= LOSS_WINDOW_MS) {
		l->window_ms = now;
		l->in_window = 0;
	}
	if (l->in_window >= LOSS_BURST) {
		/* a storm (a printer down under an alert flood): fold it */
		l->folded++;
		snprintf(l->detail, sizeof(l->detail), "%s", text);
		return;
	}
	l->in_window++;
	loss_record(s, l, what, text);
}

void sup_warn_loss(struct sup *s, const char *what, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	loss_v(s, 1, what, fmt, ap);
	va_end(ap);
}

void sup_audit_loss(struct sup *s, const char *what, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	loss_v(s, 0, what, fmt, ap);
	va_end(ap);
}

void sup_audit_detection(struct sup *s, const char *kind, const char *json)
{
	json_t *ev;

	if (!s->audit)
		return;
	ev = json_loads(json, 0, NULL);
	sup_audit(s, "detection", json_pack("{s:s,s:o}", "kind", kind,
					    "event", ev ? ev : json_string(json)));
}

void sup_audit_close(struct sup *s, const char *why)
{
	struct sup_audit *a = s->audit;

	if (!a)
		return;
	for (int i = 0; i < LOSS_KINDS; i++)
		if (a->loss[i].folded)
			loss_record(s, &a->loss[i], a->loss[i].what, a->loss[i].detail);
	sup_audit(s, "stopped", json_pack("{s:s}", "why", why));
	anchor_flush(a);
	if (a->anchor_ev)
		event_free(a->anchor_ev);
	close(a->fd); /* and the lock with it */
	OPENSSL_cleanse(a->key, sizeof(a->key));
	free(a);
	s->audit = NULL;
}
