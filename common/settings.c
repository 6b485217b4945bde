/*
 * settings.c - the layout of a kind's settings (settings.h): the
 * supervisor builds and seals it, the child parses it before confinement.
 *
 * Invariants:
 *  - the parser trusts no length: every record must lie wholly inside the
 *    buffer, keys are 1..63 bytes of a-z, 0-9 and _, unique, at most
 *    JB_SET_KEYS_MAX of them, nothing follows the last record;
 *  - the memfd is sealed (write, grow, shrink, seal) before any child sees
 *    it, so a child of one generation cannot change what the next reads.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/settings.h"

static const char magic[] = "JBSET1\n";
#define MAGIC_LEN (sizeof(magic) - 1)

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static int key_ok(const char *k, size_t len)
{
	if (len < 1 || len > JB_SETTINGS_KEY_MAX)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!((k[i] >= 'a' && k[i] <= 'z') || (k[i] >= '0' && k[i] <= '9') || k[i] == '_'))
			return 0;
	return 1;
}

int jb_settings_parse(const void *data, size_t len, struct jb_settings *s, char *err,
		      size_t errlen)
{
	const unsigned char *p = data, *end = p + len;
	size_t total = 0, n;
	char *mem;

	memset(s, 0, sizeof(*s));
	if (len > JB_SETTINGS_MAX || len < MAGIC_LEN + 4 || memcmp(p, magic, MAGIC_LEN)) {
		snprintf(err, errlen, "settings: not a settings block (%zu bytes)", len);
		return -1;
	}
	p += MAGIC_LEN;
	n = get32(p);
	p += 4;
	if (n > JB_SET_KEYS_MAX) {
		snprintf(err, errlen, "settings: %zu keys (at most %d)", n, JB_SET_KEYS_MAX);
		return -1;
	}
	/* first pass: check every record, size the copy */
	for (const unsigned char *q = p; q <= end; ) {
		size_t kl, vl;

		if (s->n == n) {
			if (q != end) {
				snprintf(err, errlen, "settings: %zu bytes after the last key",
					 (size_t)(end - q));
				return -1;
			}
			break;
		}
		if (end - q < 1 || (kl = q[0], (size_t)(end - q) < 1 + kl + 4)) {
			snprintf(err, errlen, "settings: key %zu is cut", s->n);
			return -1;
		}
		if (!key_ok((const char *)q + 1, kl)) {
			snprintf(err, errlen, "settings: key %zu is not a-z, 0-9, _ (1..%d bytes)",
				 s->n, JB_SETTINGS_KEY_MAX);
			return -1;
		}
		memcpy(s->kv[s->n].key, q + 1, kl);
		s->kv[s->n].key[kl] = '\0';
		for (size_t i = 0; i < s->n; i++)
			if (!strcmp(s->kv[i].key, s->kv[s->n].key)) {
				snprintf(err, errlen, "settings: key %s given twice", s->kv[i].key);
				return -1;
			}
		vl = get32(q + 1 + kl);
		q += 1 + kl + 4;
		if ((size_t)(end - q) < vl) {
			snprintf(err, errlen, "settings: the value of %s is cut", s->kv[s->n].key);
			return -1;
		}
		s->kv[s->n].len = vl;
		total += vl + 1;
		q += vl;
		s->n++;
	}
	mem = malloc(total ? total : 1);
	if (!mem) {
		snprintf(err, errlen, "settings: out of memory");
		return -1;
	}
	/* second pass: copy each value with a NUL after it */
	s->mem = mem;
	for (size_t i = 0; i < s->n; i++) {
		size_t kl = p[0], vl = s->kv[i].len;

		memcpy(mem, p + 1 + kl + 4, vl);
		mem[vl] = '\0';
		s->kv[i].val = mem;
		mem += vl + 1;
		p += 1 + kl + 4 + vl;
	}
	return 0;
}

int jb_settings_read_fd(int fd, struct jb_settings *s, char *err, size_t errlen)
{
	struct stat st;
	unsigned char *buf;
	size_t got = 0;
	int rc;

	if (fstat(fd, &st) < 0 || st.st_size < 0 || (uint64_t)st.st_size > JB_SETTINGS_MAX) {
		snprintf(err, errlen, "settings: fd %d: %s", fd,
			 errno ? strerror(errno) : "too big");
		return -1;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		snprintf(err, errlen, "settings: out of memory");
		return -1;
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = pread(fd, buf + got, (size_t)st.st_size - got, (off_t)got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			snprintf(err, errlen, "settings: read fd %d: %s", fd,
				 r < 0 ? strerror(errno) : "short");
			free(buf);
			return -1;
		}
		got += (size_t)r;
	}
	rc = jb_settings_parse(buf, got, s, err, errlen);
	free(buf);
	return rc;
}

void jb_settings_free(struct jb_settings *s)
{
	free(s->mem);
	memset(s, 0, sizeof(*s));
}

const char *jb_settings_get(const struct jb_settings *s, const char *key, size_t *len)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->kv[i].key, key)) {
			if (len)
				*len = s->kv[i].len;
			return s->kv[i].val;
		}
	return NULL;
}

int jb_settings_u64(const struct jb_settings *s, const char *key, uint64_t *out)
{
	size_t len;
	const char *v = jb_settings_get(s, key, &len);
	uint64_t n = 0;

	if (!v || len == 0 || len > 20)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9' || n > (UINT64_MAX - 9) / 10)
			return -1;
		n = n * 10 + (uint64_t)(v[i] - '0');
	}
	*out = n;
	return 0;
}

int jb_settings_put(struct jb_settings_buf *b, const char *key, const void *val, size_t len)
{
	size_t kl = strlen(key), need = 1 + kl + 4 + len;

	if (!key_ok(key, kl) || b->n >= JB_SET_KEYS_MAX || len > JB_SETTINGS_MAX) {
		errno = EINVAL;
		return -1;
	}
	if (!b->len)
		need += MAGIC_LEN + 4;
	if (b->len + need > JB_SETTINGS_MAX) {
		errno = E2BIG;
		return -1;
	}
	if (b->len + need > b->cap) {
		size_t cap = (b->len + need) * 2;
		unsigned char *d = realloc(b->data, cap);

		if (!d)
			return -1;
		b->data = d;
		b->cap = cap;
	}
	if (!b->len) {
		memcpy(b->data, magic, MAGIC_LEN);
		b->len = MAGIC_LEN + 4;
	}
	b->data[b->len] = (unsigned char)kl;
	memcpy(b->data + b->len + 1, key, kl);
	put32(b->data + b->len + 1 + kl, (uint32_t)len);
	if (len)
		memcpy(b->data + b->len + 1 + kl + 4, val, len);
	b->len += 1 + kl + 4 + len;
	put32(b->data + MAGIC_LEN, ++b->n);
	return 0;
}

int jb_settings_memfd(const struct jb_settings_buf *b)
{
	static const unsigned char empty[MAGIC_LEN + 4] = "JBSET1\n";
	const unsigned char *d = b->len ? b->data : empty;
	size_t len = b->len ? b->len : sizeof(empty), off = 0;
	int fd = memfd_create("jibril-settings", MFD_CLOEXEC | MFD_ALLOW_SEALING), e;

	if (fd < 0)
		return -1;
	while (off < len) {
		ssize_t w = write(fd, d + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto fail;
		off += (size_t)w;
	}
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) < 0)
		goto fail;
	return fd;
fail:
	e = errno ? errno : EIO;
	close(fd);
	errno = e;
	return -1;
}

void jb_settings_buf_free(struct jb_settings_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}
