/*
 * audit_chain.c - the audit log's format: sealing and checking one record,
 * the per-host key file and the anchor. No supervisor state: the agent
 * (audit.c), the verifier (audit_verify.c) and the fuzz harness share it.
 *
 * Invariants (docs/SECURITY.md, "Audit log", is the reference):
 *  - a record is one JSON object on one line, serialized canonically:
 *    jansson with JSON_SORT_KEYS | JSON_COMPACT | JSON_ENSURE_ASCII. Its
 *    "hmac" is HMAC-SHA256(key, P || C), P the previous record's MAC (32
 *    raw bytes; zeros before the first record), C the canonical bytes of
 *    the record without its "hmac" field (so with its "prev", P in hex).
 *  - the checker accepts a line only if it is exactly the canonical form
 *    of what it parses to: any byte changed, added or removed is caught,
 *    even one JSON would not notice (a space, an escape spelled otherwise).
 *  - MACs are compared in constant time (CRYPTO_memcmp).
 *  - the key is exactly SUP_AUDIT_KEY_LEN bytes of getrandom(), in a file
 *    made with O_EXCL and mode 0600; a file that is not that is refused,
 *    never repaired.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "supervisor/audit.h"

#define CANON_FLAGS (JSON_SORT_KEYS | JSON_COMPACT | JSON_ENSURE_ASCII)
#define ANCHOR_TYPE "jibril-audit-anchor"
#define ANCHOR_MAX 1024

static void hex(const unsigned char *b, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[b[i] >> 4];
		out[2 * i + 1] = d[b[i] & 15];
	}
	out[2 * n] = '\0';
}

/* Exactly 2 * n lower-case hex digits into n bytes; 0 or -1. */
static int unhex(const char *s, unsigned char *b, size_t n)
{
	if (strlen(s) != 2 * n)
		return -1;
	for (size_t i = 0; i < 2 * n; i++) {
		int v = s[i] >= '0' && s[i] <= '9' ? s[i] - '0'
			: s[i] >= 'a' && s[i] <= 'f' ? s[i] - 'a' + 10 : -1;
		if (v < 0)
			return -1;
		if (i % 2)
			b[i / 2] |= (unsigned char)v;
		else
			b[i / 2] = (unsigned char)(v << 4);
	}
	return 0;
}

void sup_audit_sha256_hex(const void *data, size_t len, char *out)
{
	unsigned char md[32];
	unsigned int n = 0;

	if (!EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) || n != 32)
		memset(md, 0, sizeof(md));
	hex(md, 32, out);
}

/* HMAC-SHA256(key, prev || text); 0 or -1 (out of memory). */
static int mac_of(const unsigned char *key, const unsigned char *prev, const char *text,
		  unsigned char *out)
{
	size_t n = strlen(text), plen = prev ? SUP_AUDIT_MAC_LEN : 0;
	unsigned char *buf = malloc(plen + n + 1);
	unsigned int outlen = 0;
	int rc = 0;

	if (!buf)
		return -1;
	if (plen)
		memcpy(buf, prev, plen);
	memcpy(buf + plen, text, n);
	if (!HMAC(EVP_sha256(), key, SUP_AUDIT_KEY_LEN, buf, plen + n, out, &outlen) ||
	    outlen != SUP_AUDIT_MAC_LEN)
		rc = -1;
	free(buf);
	return rc;
}

char *sup_audit_seal(const unsigned char *key, const struct sup_audit_link *link, json_t *rec,
		     size_t *len, struct sup_audit_link *next)
{
	char prevhex[2 * SUP_AUDIT_MAC_LEN + 1], machex[2 * SUP_AUDIT_MAC_LEN + 1];
	unsigned char mac[SUP_AUDIT_MAC_LEN];
	char *canon, *line, *nl;
	size_t n;

	hex(link->mac, SUP_AUDIT_MAC_LEN, prevhex);
	json_object_del(rec, "hmac");
	if (json_object_set_new(rec, "prev", json_string(prevhex)) < 0 ||
	    !(canon = json_dumps(rec, CANON_FLAGS)))
		return NULL;
	if (mac_of(key, link->mac, canon, mac) < 0) {
		free(canon);
		return NULL;
	}
	free(canon);
	hex(mac, SUP_AUDIT_MAC_LEN, machex);
	if (json_object_set_new(rec, "hmac", json_string(machex)) < 0 ||
	    !(line = json_dumps(rec, CANON_FLAGS)))
		return NULL;
	n = strlen(line);
	if (!(nl = realloc(line, n + 2))) {
		free(line);
		return NULL;
	}
	nl[n] = '\n';
	nl[n + 1] = '\0';
	*len = n + 1;
	next->seq = (uint64_t)json_integer_value(json_object_get(rec, "seq"));
	memcpy(next->mac, mac, SUP_AUDIT_MAC_LEN);
	return nl;
}

/* The reasons quote the input (a field name, jansson's "near" text): no
 * newline or terminal escape of it reaches the operator's screen. */
static void printable(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			*s = '?';
}

__attribute__((format(printf, 3, 4)))
static int bad(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return -1;
}

/* The fields a record may have, and whether it must. */
static const struct {
	const char *name;
	int required;
} rec_fields[] = {
	{"data", 0}, {"hmac", 1}, {"prev", 1}, {"seq", 1}, {"time", 1}, {"type", 1},
	{"unwritten", 0},
};

static int fields_ok(json_t *o, char *why, size_t whylen)
{
	const char *k;
	json_t *v;
	size_t n = sizeof(rec_fields) / sizeof(rec_fields[0]);

	json_object_foreach(o, k, v) {
		size_t i;
		for (i = 0; i < n && strcmp(k, rec_fields[i].name); i++)
			;
		if (i == n)
			return bad(why, whylen, "unknown field \"%.32s\"", k);
	}
	for (size_t i = 0; i < n; i++)
		if (rec_fields[i].required && !json_object_get(o, rec_fields[i].name))
			return bad(why, whylen, "no \"%s\" field", rec_fields[i].name);
	v = json_object_get(o, "seq");
	if (!json_is_integer(v) || json_integer_value(v) < 1)
		return bad(why, whylen, "\"seq\" is not a positive integer");
	if (!json_is_string(json_object_get(o, "time")) ||
	    !json_is_string(json_object_get(o, "type")) ||
	    !json_string_length(json_object_get(o, "type")))
		return bad(why, whylen, "\"time\" or \"type\" is not a string");
	v = json_object_get(o, "unwritten");
	if (v && (!json_is_integer(v) || json_integer_value(v) < 1))
		return bad(why, whylen, "\"unwritten\" is not a positive integer");
	return 0;
}

int sup_audit_check_line(const unsigned char *key, const char *line, size_t len,
			 const struct sup_audit_link *prev, struct sup_audit_link *out, char *why,
			 size_t whylen)
{
	unsigned char pmac[SUP_AUDIT_MAC_LEN], hmac[SUP_AUDIT_MAC_LEN], mac[SUP_AUDIT_MAC_LEN];
	json_error_t e;
	json_t *o = NULL;
	char *canon = NULL, *hstr = NULL;
	int rc = -1;

	out->seq = 0;
	if (len + 1 > SUP_AUDIT_LINE_MAX)
		return bad(why, whylen, "longer than %d bytes", SUP_AUDIT_LINE_MAX - 1);
	if (memchr(line, '\0', len))
		return bad(why, whylen, "contains a NUL byte");
	o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &e);
	if (!o) {
		bad(why, whylen, "not JSON (%s at column %d)", e.text, e.column);
		printable(why);
		return -1;
	}
	if (!json_is_object(o)) {
		bad(why, whylen, "not a JSON object");
		goto out;
	}
	if (fields_ok(o, why, whylen) < 0)
		goto out;
	out->seq = (uint64_t)json_integer_value(json_object_get(o, "seq"));
	if (!json_is_string(json_object_get(o, "prev")) ||
	    unhex(json_string_value(json_object_get(o, "prev")), pmac, sizeof(pmac)) < 0 ||
	    !json_is_string(json_object_get(o, "hmac")) ||
	    unhex(json_string_value(json_object_get(o, "hmac")), hmac, sizeof(hmac)) < 0) {
		bad(why, whylen, "\"prev\" or \"hmac\" is not %d lower-case hex digits",
		    2 * SUP_AUDIT_MAC_LEN);
		goto out;
	}
	if (!(hstr = strdup(json_string_value(json_object_get(o, "hmac")))))
		goto oom;
	json_object_del(o, "hmac");
	if (!(canon = json_dumps(o, CANON_FLAGS)) || mac_of(key, pmac, canon, mac) < 0)
		goto oom;
	if (CRYPTO_memcmp(mac, hmac, sizeof(mac)) != 0) {
		bad(why, whylen, "its hmac does not match: the record was changed, or sealed "
		    "with another key");
		goto out;
	}
	free(canon);
	if (json_object_set_new(o, "hmac", json_string(hstr)) < 0 ||
	    !(canon = json_dumps(o, CANON_FLAGS)))
		goto oom;
	if (strlen(canon) != len || memcmp(canon, line, len) != 0) {
		bad(why, whylen, "not in canonical form: the line was changed after it was sealed");
		goto out;
	}
	if (prev && out->seq != prev->seq + 1) {
		if (prev->seq == 0)
			bad(why, whylen, "the log starts at seq %llu, not 1: records removed from "
			    "its head (a rotated log verifies with the files before it, "
			    "concatenated in order)", (unsigned long long)out->seq);
		else if (out->seq <= prev->seq)
			bad(why, whylen, "seq %llu after seq %llu: records reordered or repeated",
			    (unsigned long long)out->seq, (unsigned long long)prev->seq);
		else
			bad(why, whylen, "seq %llu after seq %llu: %llu records missing",
			    (unsigned long long)out->seq, (unsigned long long)prev->seq,
			    (unsigned long long)(out->seq - prev->seq - 1));
		goto out;
	}
	if (prev && CRYPTO_memcmp(pmac, prev->mac, sizeof(pmac)) != 0) {
		bad(why, whylen, "its prev is not the hmac of the record before it: the chain is "
		    "broken there (a record replaced, or the log resumed after damage)");
		goto out;
	}
	memcpy(out->mac, mac, sizeof(mac));
	rc = 0;
	goto out;
oom:
	bad(why, whylen, "out of memory");
out:
	free(canon);
	free(hstr);
	json_decref(o);
	if (rc < 0)
		printable(why);
	return rc;
}

/* --- the key ---------------------------------------------------------------- */

static int create_key(const char *path, char *err, size_t errlen)
{
	unsigned char k[SUP_AUDIT_KEY_LEN];
	size_t got = 0;
	int fd;

	while (got < sizeof(k)) {
		ssize_t n = getrandom(k + got, sizeof(k) - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return bad(err, errlen, "getrandom: %s", strerror(errno));
		got += (size_t)n;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return errno == EEXIST ? 0 : bad(err, errlen, "cannot create: %s", strerror(errno));
	if (fchmod(fd, 0600) < 0 || write(fd, k, sizeof(k)) != (ssize_t)sizeof(k) ||
	    fsync(fd) < 0) {
		int e = errno;
		close(fd);
		unlink(path);
		return bad(err, errlen, "cannot write: %s", strerror(e ? e : EIO));
	}
	OPENSSL_cleanse(k, sizeof(k));
	close(fd);
	return 1;
}

int sup_audit_key_load(const char *path, int strict, int create, int *created,
		       unsigned char *key, char *err, size_t errlen)
{
	struct stat st;
	ssize_t n;
	int fd;

	*created = 0;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && create) {
		int r = create_key(path, err, errlen);
		if (r < 0)
			return -1;
		*created = r;
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	}
	if (fd < 0)
		return bad(err, errlen, "cannot open: %s%s", strerror(errno),
			   errno == ELOOP ? " (symbolic links are refused)" : "");
	if (fstat(fd, &st) < 0) {
		bad(err, errlen, "cannot stat: %s", strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		bad(err, errlen, "not a regular file");
		goto fail;
	}
	if (strict && st.st_uid != 0) {
		bad(err, errlen, "owned by uid %u, not root: the key must be root's (chown root %s)",
		    (unsigned)st.st_uid, path);
		goto fail;
	}
	if (strict && (st.st_mode & 077)) {
		bad(err, errlen, "mode %04o lets group or others at it: the key must be private to "
		    "root (chmod 600 %s)", (unsigned)(st.st_mode & 07777), path);
		goto fail;
	}
	if (st.st_size != SUP_AUDIT_KEY_LEN) {
		bad(err, errlen, "%lld bytes, not %d: not a jibril key (move it away and the agent "
		    "makes a new one: for the audit log a new chain, for [privacy] new "
		    "pseudonyms)", (long long)st.st_size, SUP_AUDIT_KEY_LEN);
		goto fail;
	}
	n = read(fd, key, SUP_AUDIT_KEY_LEN);
	if (n != SUP_AUDIT_KEY_LEN) {
		bad(err, errlen, "cannot read: %s", n < 0 ? strerror(errno) : "short read");
		goto fail;
	}
	close(fd);
	return 0;
fail:
	close(fd);
	return -1;
}

/* --- the anchor ------------------------------------------------------------- */

void sup_audit_anchor_path(const char *keypath, char *out, size_t len)
{
	snprintf(out, len, "%s.anchor", keypath);
}

/* The anchor's canonical body (without "mac"), malloc'd. */
static char *anchor_body(const struct sup_audit_link *a)
{
	char h[2 * SUP_AUDIT_MAC_LEN + 1];
	json_t *o;
	char *s;

	hex(a->mac, SUP_AUDIT_MAC_LEN, h);
	o = json_pack("{s:s,s:I,s:s}", "hmac", h, "seq", (json_int_t)a->seq, "type", ANCHOR_TYPE);
	s = o ? json_dumps(o, CANON_FLAGS) : NULL;
	json_decref(o);
	return s;
}

int sup_audit_anchor_read(const char *keypath, const unsigned char *key,
			  struct sup_audit_link *a, char *err, size_t errlen)
{
	char path[4200], buf[ANCHOR_MAX], *body = NULL;
	unsigned char mac[SUP_AUDIT_MAC_LEN], want[SUP_AUDIT_MAC_LEN];
	json_t *o = NULL, *seq;
	ssize_t n;
	int fd, rc = -1;

	sup_audit_anchor_path(keypath, path, sizeof(path));
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0)
		return bad(err, errlen, "%s: cannot open: %s", path, strerror(errno));
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return bad(err, errlen, "%s: cannot read: %s", path, strerror(errno));
	buf[n] = '\0';
	o = json_loads(buf, JSON_REJECT_DUPLICATES, NULL);
	seq = json_object_get(o, "seq");
	memset(a, 0, sizeof(*a));
	if (!json_is_object(o) || json_object_size(o) != 4 || !json_is_integer(seq) ||
	    json_integer_value(seq) < 1 ||
	    strcmp(json_string_value(json_object_get(o, "type")) ?: "", ANCHOR_TYPE) ||
	    unhex(json_string_value(json_object_get(o, "hmac")) ?: "", a->mac, sizeof(a->mac)) ||
	    unhex(json_string_value(json_object_get(o, "mac")) ?: "", want, sizeof(want))) {
		bad(err, errlen, "%s: not a jibril audit anchor", path);
		goto out;
	}
	a->seq = (uint64_t)json_integer_value(seq);
	if (!(body = anchor_body(a)) || mac_of(key, NULL, body, mac) < 0) {
		bad(err, errlen, "%s: out of memory", path);
		goto out;
	}
	if (CRYPTO_memcmp(mac, want, sizeof(mac)) != 0) {
		bad(err, errlen, "%s: its mac does not match: changed, or made with another key",
		    path);
		goto out;
	}
	rc = 1;
out:
	free(body);
	json_decref(o);
	return rc;
}

int sup_audit_anchor_write(const char *keypath, const unsigned char *key,
			   const struct sup_audit_link *a)
{
	char path[4200], tmp[4300], *body = anchor_body(a), line[ANCHOR_MAX];
	char h[2 * SUP_AUDIT_MAC_LEN + 1];
	unsigned char mac[SUP_AUDIT_MAC_LEN];
	int fd, n;

	if (!body || mac_of(key, NULL, body, mac) < 0) {
		free(body);
		errno = ENOMEM;
		return -1;
	}
	hex(mac, sizeof(mac), h);
	/* the body is a canonical object: add "mac" before its closing brace */
	n = snprintf(line, sizeof(line), "%.*s,\"mac\":\"%s\"}\n", (int)strlen(body) - 1, body, h);
	free(body);
	if (n < 0 || (size_t)n >= sizeof(line)) {
		errno = EOVERFLOW;
		return -1;
	}
	sup_audit_anchor_path(keypath, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if (write(fd, line, (size_t)n) != n || fsync(fd) < 0) {
		int e = errno ? errno : EIO;
		close(fd);
		unlink(tmp);
		errno = e;
		return -1;
	}
	close(fd);
	return rename(tmp, path);
}
