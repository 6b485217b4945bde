/*
 * yaml_get.c - typed values out of libyaml document nodes, for the recipe
 * loader: a scalar, a boolean, a bounded whole number, one of a list of
 * names, a list of scalars, a regex. Each getter either returns the value
 * or fails with "source:line: what is wrong", the line being the node's.
 *
 * Invariants:
 *  - a scalar holding a NUL byte is refused (C strings would cut it).
 *  - what a getter returns lives in the load's arena, never in the
 *    document, which is freed before the set is used.
 *  - rcp_fail never writes past errlen, and only the first failure of a
 *    load is reported: every caller returns -1 at once.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "rcp/load.h"

int rcp_fail(struct rcp_ctx *c, const yaml_node_t *n, const char *fmt, ...)
{
	va_list ap;
	int k = snprintf(c->err, c->errlen, "%s:%zu: ", c->src, n ? n->start_mark.line + 1 : 0);

	va_start(ap, fmt);
	if (k >= 0 && (size_t)k < c->errlen)
		vsnprintf(c->err + k, c->errlen - (size_t)k, fmt, ap);
	va_end(ap);
	return -1;
}

char *rcp_dup(struct rcp_ctx *c, const char *s, size_t n)
{
	char *p = rcp_arena_alloc(c->arena, n + 1);
	if (p)
		memcpy(p, s, n);
	return p;
}

/* Capacity doubles at each power of two (4, 8, 16...), so a list of n
 * entries costs O(n) memory (the old copies stay in the arena until the
 * set is freed). */
void *rcp_grow(struct rcp_ctx *c, void *old, size_t n, size_t size)
{
	if (old && (n < 4 || (n & (n - 1))))
		return old; /* still room: capacity is max(4, next power of two) */
	size_t cap = n < 4 ? 4 : 2 * n;
	void *p = rcp_arena_alloc(c->arena, cap * size);
	if (p && old)
		memcpy(p, old, n * size);
	return p;
}

yaml_node_t *rcp_node(struct rcp_ctx *c, int i) { return yaml_document_get_node(c->doc, i); }

int rcp_is_null(const yaml_node_t *n)
{
	const char *v;

	if (!n || n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	v = (const char *)n->data.scalar.value;
	return n->data.scalar.length == strlen(v) &&
	       (!*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
		!strcmp(v, "NULL"));
}

const char *rcp_scalar(struct rcp_ctx *c, yaml_node_t *n, const char *what)
{
	if (!n || n->type != YAML_SCALAR_NODE) {
		rcp_fail(c, n, "%s must be a single value", what);
		return NULL;
	}
	if (memchr(n->data.scalar.value, '\0', n->data.scalar.length)) {
		rcp_fail(c, n, "%s holds a NUL byte", what);
		return NULL;
	}
	const char *s = rcp_dup(c, (const char *)n->data.scalar.value, n->data.scalar.length);
	if (!s)
		rcp_fail(c, n, "out of memory");
	return s;
}

int rcp_get_bool(struct rcp_ctx *c, yaml_node_t *n, const char *what, int *out)
{
	const char *s = rcp_scalar(c, n, what);
	if (!s)
		return -1;
	if (!strcasecmp(s, "true") || !strcasecmp(s, "yes") || !strcasecmp(s, "on")) {
		*out = 1;
	} else if (!strcasecmp(s, "false") || !strcasecmp(s, "no") || !strcasecmp(s, "off")) {
		*out = 0;
	} else {
		return rcp_fail(c, n, "%s must be true or false, not '%s'", what, s);
	}
	return 0;
}

int rcp_get_int(struct rcp_ctx *c, yaml_node_t *n, const char *what, int64_t lo, int64_t hi,
		int64_t *out)
{
	const char *s = rcp_scalar(c, n, what);
	char *end;
	long long v;

	if (!s)
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return rcp_fail(c, n, "%s must be a whole number from %lld to %lld, not '%s'", what,
				(long long)lo, (long long)hi, s);
	*out = v;
	return 0;
}

int rcp_pick(struct rcp_ctx *c, yaml_node_t *n, const char *what, const char *const *names,
	     size_t count, int *out)
{
	const char *s = rcp_scalar(c, n, what);
	if (!s)
		return -1;
	for (size_t i = 0; i < count && names[i]; i++)
		if (!strcmp(s, names[i])) {
			*out = (int)i;
			return 0;
		}
	char list[512] = "";
	size_t k = 0;
	for (size_t i = 0; i < count && names[i] && k < sizeof(list); i++)
		k += (size_t)snprintf(list + k, sizeof(list) - k, "%s%s", i ? ", " : "", names[i]);
	return rcp_fail(c, n, "unknown %s '%s' (one of: %s)", what, s, list);
}

int rcp_get_how(struct rcp_ctx *c, yaml_node_t *n, const char *what, int *all)
{
	const char *s = rcp_scalar(c, n, what);
	if (!s)
		return -1;
	if (!strcasecmp(s, "any") || !strcasecmp(s, "or"))
		*all = 0;
	else if (!strcasecmp(s, "all") || !strcasecmp(s, "and"))
		*all = 1;
	else
		return rcp_fail(c, n, "%s must be any or all, not '%s'", what, s);
	return 0;
}

/* UTF mode that still matches subjects that are not valid UTF-8 (an
 * attacker's path with one bad byte); no JIT: the workers' seccomp policy
 * never maps executable memory. */
void *rcp_regex(struct rcp_ctx *c, yaml_node_t *n, const char *re)
{
	int ec;
	PCRE2_SIZE off;
	pcre2_code *code = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED,
					 PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &ec, &off, NULL);

	if (!code) {
		PCRE2_UCHAR msg[128];
		pcre2_get_error_message(ec, msg, sizeof(msg));
		rcp_fail(c, n, "bad regex '%s' at offset %zu: %s", re, (size_t)off, (char *)msg);
		return NULL;
	}
	if (rcp_arena_keep_code(*c->arena, code) < 0) {
		rcp_fail(c, n, "out of memory");
		return NULL;
	}
	return code;
}

int rcp_each_elem(struct rcp_ctx *c, yaml_node_t *n, const char *what, int split, rcp_elem_fn fn,
		  void *arg)
{
	if (n && n->type == YAML_SEQUENCE_NODE) {
		for (yaml_node_item_t *it = n->data.sequence.items.start;
		     it < n->data.sequence.items.top; it++) {
			yaml_node_t *e = rcp_node(c, *it);
			const char *s = rcp_scalar(c, e, what);
			if (!s || fn(c, e, s, arg) < 0)
				return -1;
		}
		return 0;
	}
	const char *s = rcp_scalar(c, n, what);
	if (!s)
		return -1;
	if (!split)
		return fn(c, n, s, arg);
	char *dup = rcp_dup(c, s, strlen(s)), *save = NULL;
	if (!dup)
		return rcp_fail(c, n, "out of memory");
	for (char *tok = strtok_r(dup, "|", &save); tok; tok = strtok_r(NULL, "|", &save)) {
		while (*tok == ' ')
			tok++;
		size_t l = strlen(tok);
		while (l && tok[l - 1] == ' ')
			tok[--l] = '\0';
		if (fn(c, n, tok, arg) < 0)
			return -1;
	}
	return 0;
}
