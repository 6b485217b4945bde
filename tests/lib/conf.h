/*
 * conf.h - jibril.conf text for a test or bench run: read one value of a
 * given configuration, and write one with keys set (replaced where the
 * base has them, added to their section where it does not).
 */
#ifndef TL_CONF_H
#define TL_CONF_H

#include <limits.h>
#include <stddef.h>
#include <stdio.h>

#define TL_CONF_MAX 24

struct tl_conf_keys {
	int n;
	struct {
		const char *sec, *key;
		char val[PATH_MAX];
	} e[TL_CONF_MAX];
};

/* value of [sec] key in text (an inline " ;" comment cut, trimmed); 0 when found */
int tl_conf_get(const char *text, const char *sec, const char *key, char *out, size_t outsz);
/* adds "[sec] key = printf(fmt, ...)" to k; more than TL_CONF_MAX aborts */
void tl_conf_set(struct tl_conf_keys *k, const char *sec, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* base (NULL: empty) with the keys of k applied, to f; 0 unless a write failed */
int tl_conf_write(FILE *f, const char *base, const struct tl_conf_keys *k);

#endif
