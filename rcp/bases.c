/*
 * bases.c - one entry of a recipe's bases: which files it is about, as a
 * file name (base), a parent directory (dir), both, or a regex on the full
 * path.
 *
 * Invariants:
 *  - an entry has at least one of base, dir, regex, each at most once.
 *  - base holds no '/'; dir is absolute and has no trailing slash (but "/"
 *    stays "/"), so a matcher compares it with a path's parent as is.
 */
#include <string.h>

#include "rcp/load.h"

int rcp_base_entry(struct rcp_ctx *c, yaml_node_t *m, struct rcp_bases *l)
{
	struct rcp_base b = {0};

	if (m->type != YAML_MAPPING_NODE)
		return rcp_fail(c, m,
				"each entry of bases must be a mapping of base, dir or regex");
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		yaml_node_t *k = rcp_node(c, p->key), *v = rcp_node(c, p->value);
		const char *key = rcp_scalar(c, k, "key"), *s;
		if (!key)
			return -1;
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
			return rcp_fail(c, k,
					"unknown or repeated key '%s' in bases (base, dir, regex)",
					key);
		}
	}
	if (!b.base && !b.dir && !b.re)
		return rcp_fail(c, m, "empty entry in bases");
	l->v = rcp_grow(c, l->v, l->n, sizeof(*l->v));
	if (!l->v)
		return rcp_fail(c, m, "out of memory");
	l->v[l->n++] = b;
	return 0;
}
