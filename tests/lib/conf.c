/*
 * conf.c - configuration text for tests/ and bench/ (see conf.h).
 *
 * Invariants:
 *  - the base is copied line by line, unchanged, except for the lines of
 *    a key that is set: each key appears once in the output, so the
 *    agent's strict parser (a key at most once) accepts what it accepted.
 *  - a key set in a section the base has goes at the end of that section;
 *    sections the base lacks follow the base, in the order first set.
 *  - lines longer than 8191 bytes are cut (the agent refuses them anyway).
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "tests/lib/conf.h"

#define CONF_LINE 8192

static void trim(char *s)
{
	size_t n = strlen(s);
	char *p = s;

	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	while (isspace((unsigned char)*p))
		p++;
	memmove(s, p, strlen(p) + 1);
}

/* the next line of *p into line (NUL-terminated, cut to CONF_LINE - 1); *p moves past it */
static void next_line(const char **p, char *line)
{
	const char *nl = strchr(*p, '\n');
	size_t l = nl ? (size_t)(nl - *p) : strlen(*p);

	if (l >= CONF_LINE)
		l = CONF_LINE - 1;
	memcpy(line, *p, l);
	line[l] = '\0';
	*p = nl ? nl + 1 : NULL;
}

int tl_conf_get(const char *text, const char *sec, const char *key, char *out, size_t outsz)
{
	char cur[64] = "", line[CONF_LINE];
	const char *p = text;
	int found = -1;

	while (p && *p) {
		char *eq;

		next_line(&p, line);
		trim(line);
		if (line[0] == '[') {
			char *e = strchr(line, ']');
			if (e)
				*e = '\0';
			snprintf(cur, sizeof(cur), "%.63s", line + 1);
			continue;
		}
		if (!line[0] || line[0] == '#' || line[0] == ';' || !(eq = strchr(line, '=')))
			continue;
		*eq = '\0';
		trim(line);
		if (strcmp(cur, sec) || strcmp(line, key))
			continue;
		for (char *c = eq + 1; *c; c++)
			if (*c == ';' && c > eq + 1 && isspace((unsigned char)c[-1])) {
				*c = '\0';
				break;
			}
		snprintf(out, outsz, "%s", eq + 1);
		trim(out);
		found = 0;
	}
	return found;
}

void tl_conf_set(struct tl_conf_keys *k, const char *sec, const char *key, const char *fmt, ...)
{
	va_list ap;

	if (k->n >= TL_CONF_MAX)
		abort();
	k->e[k->n].sec = sec;
	k->e[k->n].key = key;
	va_start(ap, fmt);
	vsnprintf(k->e[k->n].val, sizeof(k->e[k->n].val), fmt, ap);
	va_end(ap);
	k->n++;
}

/* the keys of section sec not written yet */
static void emit_pending(FILE *f, const struct tl_conf_keys *k, char *done, const char *sec)
{
	for (int i = 0; i < k->n; i++)
		if (!done[i] && !strcmp(k->e[i].sec, sec)) {
			fprintf(f, "%s = %s\n", k->e[i].key, k->e[i].val);
			done[i] = 1;
		}
}

int tl_conf_write(FILE *f, const char *base, const struct tl_conf_keys *k)
{
	char cur[64] = "", line[CONF_LINE], done[TL_CONF_MAX] = {0};
	const char *p = base;

	while (p && *p) {
		char key[128], *eq;
		int replaced = 0;

		next_line(&p, line);
		if (line[0] == '[') {
			char *e = strchr(line, ']');
			emit_pending(f, k, done, cur);
			snprintf(cur, sizeof(cur), "%.*s", e ? (int)(e - line - 1) : 0, line + 1);
		} else if (line[0] != '#' && line[0] != ';' && (eq = strchr(line, '='))) {
			snprintf(key, sizeof(key), "%.*s", (int)(eq - line), line);
			trim(key);
			for (int i = 0; i < k->n; i++)
				if (!strcmp(k->e[i].sec, cur) && !strcmp(k->e[i].key, key)) {
					fprintf(f, "%s = %s\n", key, k->e[i].val);
					done[i] = 1;
					replaced = 1;
				}
		}
		if (!replaced)
			fprintf(f, "%s\n", line);
	}
	emit_pending(f, k, done, cur);
	for (int i = 0; i < k->n; i++)
		if (!done[i]) {
			fprintf(f, "[%s]\n", k->e[i].sec);
			emit_pending(f, k, done, k->e[i].sec);
		}
	return ferror(f) ? -1 : 0;
}
