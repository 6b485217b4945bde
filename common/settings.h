/*
 * settings.h - what the supervisor hands a child of a kind with its own
 * section ([NAME] of jibril.conf, the row's settings): every key's value,
 * with secret and file keys replaced by the files' contents, in one sealed
 * memfd on fd 5 that the child reads before confinement and closes. The
 * child never opens a configuration file.
 *
 * Layout: "JBSET1\n", u32 count (little endian), then count records of
 * u8 key length (1..63), the key (a-z, 0-9, _), u32 value length, the
 * value's bytes. Keys are unique. At most JB_SET_KEYS_MAX records and
 * JB_SETTINGS_MAX bytes in all.
 */
#ifndef JB_SETTINGS_H
#define JB_SETTINGS_H

#include <stddef.h>
#include <stdint.h>

#include "common/kind.h"

#define JB_CHILD_SETTINGS_FD 5	/* a kind with settings: the sealed memfd */
#define JB_SETTINGS_MAX (8u << 20)
#define JB_SETTINGS_KEY_MAX 63

/* The child's view: key/value pairs, each value NUL-terminated after its
 * len bytes (a file's content may hold NULs: use len). */
struct jb_settings {
	size_t n;
	struct {
		char key[JB_SETTINGS_KEY_MAX + 1];
		const char *val;
		size_t len;
	} kv[JB_SET_KEYS_MAX];
	char *mem;	/* owns every val */
};

/* Parse len bytes of the layout above into s (strict: a bad magic, key,
 * length, a repeated key or trailing bytes is an error). 0, or -1 with err. */
int jb_settings_parse(const void *data, size_t len, struct jb_settings *s, char *err,
		      size_t errlen);
/* Read the whole memfd fd and parse it. 0, or -1 with err. */
int jb_settings_read_fd(int fd, struct jb_settings *s, char *err, size_t errlen);
void jb_settings_free(struct jb_settings *s);
/* The value of key (its length in *len if len), or NULL. */
const char *jb_settings_get(const struct jb_settings *s, const char *key, size_t *len);
/* key's value as a decimal number (the supervisor writes numbers and sizes
 * in decimal). 0, or -1 when absent or not a number. */
int jb_settings_u64(const struct jb_settings *s, const char *key, uint64_t *out);

/* The supervisor's side: build the layout, then seal it in a memfd. */
struct jb_settings_buf {
	unsigned char *data;
	size_t len, cap;
	uint32_t n;
};
/* Append one record. 0, or -1 (bad key, too many, too big, no memory). */
int jb_settings_put(struct jb_settings_buf *b, const char *key, const void *val, size_t len);
/* A memfd holding b, sealed against every change; -1 with errno. */
int jb_settings_memfd(const struct jb_settings_buf *b);
void jb_settings_buf_free(struct jb_settings_buf *b);

#endif
