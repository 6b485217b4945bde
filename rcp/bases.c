/*
 * bases.c - one entry of a recipe's bases: which files it is about, as a
 * file name (base), a parent directory (dir), both, or a regex on the full
 * path. A regex-only entry may also say where the supervisor should look
 * for its files at start-up, so that their kernel records are protected
 * (search: directories, expect: files that may appear later); jibril's
 * extension of the format, see docs/DETECTIONS.md.
 *
 * Invariants:
 *  - an entry has at least one of base, dir, regex, each at most once.
 *  - base holds no '/'; dir is absolute and has no trailing slash (but "/"
 *    stays "/"), so a matcher compares it with a path's parent as is.
 *  - search and expect go with a regex and neither base nor dir; each of
 *    their entries is absolute, "~" or "~/PATH", with no trailing slash and
 *    no empty, "." or ".." component; an expect entry names a file (not
 *    "/" or "~").
 */
#include <string.h>

#include "rcp/load.h"

#define UNKNOWN_KEY "unknown or repeated key '%s' in bases (base, dir, regex, search, expect)"

struct places {
	const char **v;
	size_t n;
	const char *key;	/* search or expect */
	int files;		/* expect: each names a file */
	int given;
};

static int elem_place(struct rcp_ctx *c, yaml_node_t *n, const char *s, void *arg)
{
	struct places *l = arg;
	char *p = (char *)s;
	size_t len = strlen(p);

	if (p[0] != '/' && strcmp(p, "~") && strncmp(p, "~/", 2))
		return rcp_fail(c, n, "%s entries are absolute paths, ~ or ~/PATH, not '%s'",
				l->key, s);
	while (len > 1 && p[len - 1] == '/')
		p[--len] = '\0';
	for (const char *q = strchr(p, '/'); q; q = strchr(q + 1, '/'))
		if (q[1] == '/' || !strncmp(q, "/./", 3) || !strcmp(q, "/.") ||
		    !strncmp(q, "/../", 4) || !strcmp(q, "/.."))
			return rcp_fail(c, n, "%s entry '%s' holds an empty, '.' or '..' component",
					l->key, s);
	if (l->files && (!strcmp(p, "/") || !strcmp(p, "~")))
		return rcp_fail(c, n, "expect entries name files, not '%s'", s);
	l->v = rcp_grow(c, (void *)l->v, l->n, sizeof(*l->v));
	if (!l->v)
		return rcp_fail(c, n, "out of memory");
	l->v[l->n++] = p;
	return 0;
}

int rcp_base_entry(struct rcp_ctx *c, yaml_node_t *m, struct rcp_bases *l)
{
	struct rcp_base b = {0};
	struct places search = {.key = "search"}, expect = {.key = "expect", .files = 1};
	const yaml_node_t *places_key = NULL;

	if (m->type != YAML_MAPPING_NODE)
		return rcp_fail(c, m,
				"each entry of bases must be a mapping of base, dir or regex");
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		yaml_node_t *k = rcp_node(c, p->key), *v = rcp_node(c, p->value);
		const char *key = rcp_scalar(c, k, "key"), *s;
		struct places *pl;
		if (!key)
			return -1;
		pl = !strcmp(key, "search") ? &search : !strcmp(key, "expect") ? &expect : NULL;
		if (pl) {
			if (pl->given)
				return rcp_fail(c, k, UNKNOWN_KEY, key);
			if (rcp_each_elem(c, v, key, 0, elem_place, pl) < 0)
				return -1;
			pl->given = 1;
			if (!places_key)
				places_key = k;
			continue;
		}
		if (!(s = rcp_scalar(c, v, key)))
			return -1;
		if (!strcmp(key, "base") && !b.base) {
			if (!*s || strchr(s, '/'))
				return rcp_fail(c, v, "base is a file name (no '/'), not '%s'", s);
			b.base = s;
		} else if (!strcmp(key, "dir") && !b.dir) {
			size_t n = strlen(s);
			if (s[0] != '/')
				return rcp_fail(c, v, "dir must be an absolute path, not '%s'", s);
			while (n > 1 && ((char *)s)[n - 1] == '/')
				((char *)s)[--n] = '\0';
			b.dir = s;
		} else if (!strcmp(key, "regex") && !b.re) {
			if (!(b.re = rcp_regex(c, v, s)))
				return -1;
		} else {
			return rcp_fail(c, k, UNKNOWN_KEY, key);
		}
	}
	if (places_key && (!b.re || b.base || b.dir))
		return rcp_fail(c, places_key,
				"search and expect go with a regex, and neither base nor dir");
	if (!b.base && !b.dir && !b.re)
		return rcp_fail(c, m, "empty entry in bases");
	b.search = search.v;
	b.nsearch = search.n;
	b.expect = expect.v;
	b.nexpect = expect.n;
	if (places_key && !l->places)
		l->places = places_key;
	l->v = rcp_grow(c, l->v, l->n, sizeof(*l->v));
	if (!l->v)
		return rcp_fail(c, m, "out of memory");
	l->v[l->n++] = b;
	return 0;
}
