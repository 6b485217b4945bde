/*
 * lists.c - the values of a recipe that are lists of things: CIDRs, domain
 * names (inline or in a remote_domains_file), environment variable names,
 * whole numbers; and where a remote_domains_file path points (rcp_resolve).
 *
 * Invariants:
 *  - a domain name is stored lower case, without surrounding blanks or a
 *    trailing dot, 1..253 characters of a-z 0-9 - . _ (no wildcards: a
 *    suffix trie says "and every name below"); rcp_sort_strs orders a list
 *    for the matcher's binary search.
 *  - an error inside a list file names the list file and its line, and the
 *    recipe source it was listed from.
 *  - rcp_resolve is pure string work (no file system): "." and ".." are
 *    folded, "builtin:" sources resolve to builtin: names; every component
 *    kept, a leading ".." too, is bounds-checked before it is stored.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "rcp/load.h"

static int parse_cidr(struct rcp_ctx *c, yaml_node_t *n, const char *s, struct rcp_cidr *out)
{
	char buf[64];
	const char *slash = strchr(s, '/');
	size_t l = slash ? (size_t)(slash - s) : strlen(s);
	long bits;
	char *end;

	if (l >= sizeof(buf))
		return rcp_fail(c, n, "bad CIDR '%s'", s);
	memcpy(buf, s, l);
	buf[l] = '\0';
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, buf, out->addr) == 1)
		out->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, out->addr) == 1)
		out->family = AF_INET6;
	else
		return rcp_fail(c, n, "bad CIDR '%s': not an IPv4 or IPv6 address", s);
	bits = out->family == AF_INET ? 32 : 128;
	if (slash) {
		long max = bits;
		errno = 0;
		bits = strtol(slash + 1, &end, 10);
		if (errno || end == slash + 1 || *end || bits < 0 || bits > max)
			return rcp_fail(c, n, "bad CIDR '%s': prefix length must be 0..%ld", s,
					max);
	}
	out->bits = (uint8_t)bits;
	return 0;
}

int rcp_elem_cidr(struct rcp_ctx *c, yaml_node_t *n, const char *s, void *cidrs)
{
	struct rcp_cidrs *l = cidrs;
	l->v = rcp_grow(c, l->v, l->n, sizeof(*l->v));
	if (!l->v)
		return rcp_fail(c, n, "out of memory");
	return parse_cidr(c, n, s, &l->v[l->n++]);
}

static int add_str(struct rcp_ctx *c, yaml_node_t *n, struct rcp_strs *l, const char *s)
{
	l->v = rcp_grow(c, (void *)l->v, l->n, sizeof(*l->v));
	if (!l->v)
		return rcp_fail(c, n, "out of memory");
	l->v[l->n++] = s;
	return 0;
}

static int add_domain(struct rcp_ctx *c, yaml_node_t *n, struct rcp_strs *l, const char *s,
		      size_t len)
{
	while (len && (s[len - 1] == '.' || isspace((unsigned char)s[len - 1])))
		len--;
	while (len && isspace((unsigned char)*s))
		s++, len--;
	if (!len)
		return rcp_fail(c, n, "empty domain name");
	if (len > 253)
		return rcp_fail(c, n, "domain name longer than 253 characters");
	char *d = rcp_dup(c, s, len);
	if (!d)
		return rcp_fail(c, n, "out of memory");
	for (char *p = d; *p; p++) {
		*p = (char)tolower((unsigned char)*p);
		if (*p == '*')
			return rcp_fail(c, n, "domain name '%s': wildcards are not supported (list "
				       "the name and use remote_domains_trie_type: suffix)", d);
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.' && *p != '_')
			return rcp_fail(c, n, "domain name '%s' holds '%c'", d, *p);
	}
	return add_str(c, n, l, d);
}

int rcp_elem_domain(struct rcp_ctx *c, yaml_node_t *n, const char *s, void *strs)
{
	return add_domain(c, n, strs, s, strlen(s));
}

int rcp_elem_env(struct rcp_ctx *c, yaml_node_t *n, const char *s, void *strs)
{
	if (!*s || strchr(s, '='))
		return rcp_fail(c, n, "env_vars entries are variable names, not '%s'", s);
	if (strlen(s) >= JB_ENV_NAME_MAX)
		return rcp_fail(c, n, "env_vars entry '%.20s...' is longer than %d bytes: the "
				"kernel does not record such variables", s, JB_ENV_NAME_MAX - 1);
	return add_str(c, n, strs, s);
}

int rcp_elem_number(struct rcp_ctx *c, yaml_node_t *n, const char *s, void *nums)
{
	struct rcp_nums *l = nums;
	char *end;
	errno = 0;
	long long x = strtoll(s, &end, 10);
	if (errno || end == s || *end)
		return rcp_fail(c, n, "'%s' is not a whole number", s);
	l->v = rcp_grow(c, l->v, l->n, sizeof(*l->v));
	if (!l->v)
		return rcp_fail(c, n, "out of memory");
	l->v[l->n++] = x;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void rcp_sort_strs(struct rcp_strs *l)
{
	if (l->n)
		qsort(l->v, l->n, sizeof(*l->v), cmp_str);
}

/* One name a line, '#' comments. */
int rcp_domain_file(struct rcp_ctx *c, yaml_node_t *n, const char *path, struct rcp_strs *l)
{
	struct rcp_source f;
	char why[256] = "";

	if (!c->file_fn)
		return rcp_fail(c, n, "remote_domains_file '%s': lists cannot be read here", path);
	if (c->file_fn(c->src, path, &f, why, sizeof(why), c->file_arg) < 0)
		return rcp_fail(c, n, "remote_domains_file '%s': %s", path, why);
	/* as a recipe source: a NUL would end a name early unseen, and the
	 * list could not be sent to the workers (IPC strings hold no NUL) */
	const char *nul = memchr(f.data, '\0', f.len);
	if (nul) {
		size_t line = 1;
		for (const char *q = f.data; q < nul; q++)
			line += *q == '\n';
		snprintf(c->err, c->errlen,
			 "%s:%zu: holds a NUL byte: not a text file (listed from %s)", f.name,
			 line, c->src);
		return -1;
	}
	for (size_t i = 0, lineno = 1; i < f.len; lineno++) {
		size_t j = i;
		while (j < f.len && f.data[j] != '\n')
			j++;
		size_t e = i;
		while (e < j && f.data[e] != '#')
			e++;
		const char *s = f.data + i;
		size_t len = e - i;
		while (len && isspace((unsigned char)*s))
			s++, len--;
		while (len && isspace((unsigned char)s[len - 1]))
			len--;
		if (len && add_domain(c, n, l, s, len) < 0) {
			char inner[512];
			snprintf(inner, sizeof(inner), "%s", c->err);
			snprintf(c->err, c->errlen, "%s:%zu: %s (listed from %s)", f.name, lineno,
				 strstr(inner, ": ") ? strstr(inner, ": ") + 2 : inner, c->src);
			return -1;
		}
		i = j + 1;
	}
	return 0;
}

int rcp_resolve(const char *from, const char *path, char *out, size_t len)
{
	char buf[4096], *parts[512], *save = NULL;
	const char *prefix = "";
	size_t np = 0, o = 0;
	int n;

	if (!strncmp(from, "builtin:", 8)) {
		prefix = "builtin:";
		from += 8;
	}
	if (path[0] == '/') {
		n = snprintf(buf, sizeof(buf), "%s", path);
		prefix = "";
	} else {
		const char *slash = strrchr(from, '/');
		n = snprintf(buf, sizeof(buf), "%.*s/%s", slash ? (int)(slash - from) : 1,
			     slash ? from : ".", path);
	}
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -1;
	int absolute = buf[0] == '/';
	for (char *t = strtok_r(buf, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
		if (!strcmp(t, "."))
			continue;
		if (!strcmp(t, "..") && np && strcmp(parts[np - 1], "..")) {
			np--; /* folds the component before it */
			continue;
		}
		if (!strcmp(t, "..") && absolute)
			continue; /* "/.." is "/" */
		/* one bound for every append: a relative path may keep a long
		 * run of leading ".." (as many as buf holds, more than parts) */
		if (np == sizeof(parts) / sizeof(parts[0]))
			return -1;
		parts[np++] = t;
	}
	n = snprintf(out, len, "%s%s", prefix, absolute ? "/" : "");
	if (n < 0 || (size_t)n >= len)
		return -1;
	o = (size_t)n;
	for (size_t i = 0; i < np; i++) {
		n = snprintf(out + o, len - o, "%s%s", i ? "/" : "", parts[i]);
		if (n < 0 || (size_t)n >= len - o)
			return -1;
		o += (size_t)n;
	}
	return 0;
}
