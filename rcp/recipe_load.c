/*
 * recipe_load.c - YAML recipe files (RECIPES.md) into a recipe set.
 *
 * libyaml builds each document as a node tree; this file walks it with one
 * strict rule: every key must be known, every value of the right type, and
 * every error names "source:line" (1-based) and what is wrong. Regexes are
 * compiled here, once (PCRE2 without JIT: the workers' seccomp policy never
 * maps executable memory).
 *
 * Invariants:
 *  - all memory a recipe points to lives in the set's arena; a failed load
 *    frees everything and leaves the set empty, never half built.
 *  - domain lists are kept sorted (lower case, no trailing dot) so that a
 *    lookup is a binary search per label boundary of a name.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <yaml.h>

#include "rcp/recipe.h"

/* The bits of enum jb_action by name, and the macros of RECIPES.md. */
#define A(x) (1u << (x))
enum { B_OPEN, B_READ, B_WRITE, B_EXEC, B_CREATE, B_UNLINK, B_RENAME, B_CHMOD, B_TRUNCATE,
       B_MMAP, B_LINK, B_CLOSE, B_FSYNC, B_FLOCK, B_FASYNC, B_LLSEEK };
#define ALL_ACTIONS (A(B_LLSEEK + 1) - 1)
#define ACCESS_RELATED (ALL_ACTIONS & ~(A(B_FASYNC) | A(B_FLOCK) | A(B_EXEC)))

static const struct {
	const char *name;
	uint32_t bits;
} action_names[] = {
	{"open", A(B_OPEN)},	   {"read", A(B_READ)},	    {"write", A(B_WRITE)},
	{"execve", A(B_EXEC)},	   {"create", A(B_CREATE)}, {"unlink", A(B_UNLINK)},
	{"rename", A(B_RENAME)},   {"chmod", A(B_CHMOD)},   {"truncate", A(B_TRUNCATE)},
	{"mmap", A(B_MMAP)},	   {"link", A(B_LINK)},	    {"close", A(B_CLOSE)},
	{"fsync", A(B_FSYNC)},	   {"flock", A(B_FLOCK)},   {"fasync", A(B_FASYNC)},
	{"llseek", A(B_LLSEEK)},
	{"any", ALL_ACTIONS},
	{"open_related", A(B_OPEN) | A(B_CLOSE)},
	{"read_related", A(B_READ) | A(B_MMAP) | A(B_LLSEEK)},
	{"modify_related", A(B_WRITE) | A(B_RENAME) | A(B_TRUNCATE) | A(B_UNLINK) | A(B_CREATE) |
				   A(B_LINK) | A(B_FSYNC) | A(B_CHMOD)},
	{"access_related", ACCESS_RELATED},
	{"access_no_mmap_related", ACCESS_RELATED & ~A(B_MMAP)},
	{"tamper_related", A(B_RENAME) | A(B_TRUNCATE) | A(B_UNLINK) | A(B_LINK)},
};

_Static_assert(JB_ACT_OPEN == A(B_OPEN) && JB_ACT_EXEC == A(B_EXEC) &&
		       JB_ACT_TRUNCATE == A(B_TRUNCATE),
	       "recipe action bits follow enum jb_action");

static const struct {
	const char *name;
	uint32_t bit;
} flow_action_names[] = {
	{"created", RCP_FA_CREATED},	 {"ingress", RCP_FA_INGRESS},
	{"egress", RCP_FA_EGRESS},	 {"incoming", RCP_FA_INCOMING},
	{"outgoing", RCP_FA_OUTGOING},	 {"ongoing", RCP_FA_ONGOING},
	{"started", RCP_FA_STARTED},	 {"ended", RCP_FA_ENDED},
	{"terminator", RCP_FA_TERMINATOR}, {"terminated", RCP_FA_TERMINATED},
};

static const char *const mech_names[RCP_MECH_MAX] = {"file_access", "execution", "network_peers",
						     "env_vars"};
static const char *const mech_workers[RCP_MECH_MAX] = {"file_access", "execution", "network",
						       "execution"};
static const char *const times_names[RCP_T_MAX] = {
	"times_per_proc",	   "times_per_exe",  "times_per_parent_proc", "times_per_parent_exe",
	"times_per_full_ancestry", "times_per_host", "times_in_total"};
static const char *const what_names[RCP_W_MAX] = {
	"exe",	      "comm",	    "args",	     "uid",	       "pid",
	"ppid",	      "parent_exe", "parent_comm",   "parent_args",   "task_or_parent_exe",
	"ancient_exe", "file",	    "domain",	     "domain_entropy", "remote_port",
	"remote_ip",  "env"};
static const char *const breeds[] = {"file_access", "execution",  "remote_domains", "remote_cidrs",
				     "remote_ips",  "env_vars", NULL};
static const char *const importances[] = {"low", "medium", "high", "critical", NULL};

const char *rcp_mech_name(enum rcp_mech m) { return m < RCP_MECH_MAX ? mech_names[m] : "?"; }
const char *rcp_mech_worker(enum rcp_mech m) { return m < RCP_MECH_MAX ? mech_workers[m] : "?"; }
const char *rcp_times_name(enum rcp_times_kind k) { return k < RCP_T_MAX ? times_names[k] : "?"; }

/* --- arena ----------------------------------------------------------------- */
struct rcp_arena {
	struct rcp_arena *next;
	struct rcp_arena *cur;	/* head only: the block allocations come from */
	void **codes; /* pcre2 codes to free */
	size_t ncodes, capcodes;
	size_t used, cap;
	char mem[];
};

static void *arena_alloc(struct rcp_arena **ap, size_t n)
{
	struct rcp_arena *head = *ap, *a = head ? (head->cur ? head->cur : head) : NULL;

	n = (n + 15) & ~(size_t)15;
	if (!a || a->used + n > a->cap) {
		size_t cap = n > 65536 ? n : 65536;
		struct rcp_arena *b = calloc(1, sizeof(*b) + cap);
		if (!b)
			return NULL;
		b->cap = cap;
		if (head) { /* the head keeps the code list; allocate from b now */
			b->next = head->next;
			head->next = b;
			head->cur = b;
		} else {
			*ap = b;
		}
		a = b;
	}
	void *p = a->mem + a->used;
	a->used += n;
	memset(p, 0, n);
	return p;
}

static void arena_free(struct rcp_arena *a)
{
	if (a) {
		for (size_t i = 0; i < a->ncodes; i++)
			pcre2_code_free(a->codes[i]);
		free(a->codes);
	}
	while (a) {
		struct rcp_arena *n = a->next;
		free(a);
		a = n;
	}
}

/* --- load context ------------------------------------------------------------- */
struct ctx {
	struct rcp_arena **arena;
	yaml_document_t *doc;
	const char *src;
	char *err;
	size_t errlen;
	rcp_file_fn file_fn;
	void *file_arg;
	const char *worker;	/* keep only recipes this worker runs (NULL: all) */
};

static int fail(struct ctx *c, const yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(struct ctx *c, const yaml_node_t *n, const char *fmt, ...)
{
	va_list ap;
	int k = snprintf(c->err, c->errlen, "%s:%zu: ", c->src, n ? n->start_mark.line + 1 : 0);

	va_start(ap, fmt);
	if (k >= 0 && (size_t)k < c->errlen)
		vsnprintf(c->err + k, c->errlen - (size_t)k, fmt, ap);
	va_end(ap);
	return -1;
}

static char *dup_str(struct ctx *c, const char *s, size_t n)
{
	char *p = arena_alloc(c->arena, n + 1);
	if (p)
		memcpy(p, s, n);
	return p;
}

static yaml_node_t *node(struct ctx *c, int i) { return yaml_document_get_node(c->doc, i); }

static const char *scalar(struct ctx *c, yaml_node_t *n, const char *what)
{
	if (!n || n->type != YAML_SCALAR_NODE) {
		fail(c, n, "%s must be a single value", what);
		return NULL;
	}
	if (memchr(n->data.scalar.value, '\0', n->data.scalar.length)) {
		fail(c, n, "%s holds a NUL byte", what);
		return NULL;
	}
	const char *s = dup_str(c, (const char *)n->data.scalar.value, n->data.scalar.length);
	if (!s)
		fail(c, n, "out of memory");
	return s;
}

static int get_bool(struct ctx *c, yaml_node_t *n, const char *what, int *out)
{
	const char *s = scalar(c, n, what);
	if (!s)
		return -1;
	if (!strcasecmp(s, "true") || !strcasecmp(s, "yes") || !strcasecmp(s, "on")) {
		*out = 1;
	} else if (!strcasecmp(s, "false") || !strcasecmp(s, "no") || !strcasecmp(s, "off")) {
		*out = 0;
	} else {
		return fail(c, n, "%s must be true or false, not '%s'", what, s);
	}
	return 0;
}

static int get_int(struct ctx *c, yaml_node_t *n, const char *what, int64_t lo, int64_t hi,
		   int64_t *out)
{
	const char *s = scalar(c, n, what);
	char *end;
	long long v;

	if (!s)
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return fail(c, n, "%s must be a whole number from %lld to %lld, not '%s'", what,
			    (long long)lo, (long long)hi, s);
	*out = v;
	return 0;
}

static int pick(struct ctx *c, yaml_node_t *n, const char *what, const char *const *names,
		size_t count, int *out)
{
	const char *s = scalar(c, n, what);
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
	return fail(c, n, "unknown %s '%s' (one of: %s)", what, s, list);
}

/* A list of scalars: a sequence, or one scalar split on '|'. Calls fn for
 * each element with the node for error lines. */
typedef int (*elem_fn)(struct ctx *c, yaml_node_t *n, const char *s, void *arg);

static int each_elem(struct ctx *c, yaml_node_t *n, const char *what, int split, elem_fn fn,
		     void *arg)
{
	if (n && n->type == YAML_SEQUENCE_NODE) {
		for (yaml_node_item_t *it = n->data.sequence.items.start;
		     it < n->data.sequence.items.top; it++) {
			yaml_node_t *e = node(c, *it);
			const char *s = scalar(c, e, what);
			if (!s || fn(c, e, s, arg) < 0)
				return -1;
		}
		return 0;
	}
	const char *s = scalar(c, n, what);
	if (!s)
		return -1;
	if (!split)
		return fn(c, n, s, arg);
	char *dup = dup_str(c, s, strlen(s)), *save = NULL;
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

static int elem_action(struct ctx *c, yaml_node_t *n, const char *s, void *arg)
{
	for (size_t i = 0; i < sizeof(action_names) / sizeof(action_names[0]); i++)
		if (!strcmp(s, action_names[i].name)) {
			*(uint32_t *)arg |= action_names[i].bits;
			return 0;
		}
	return fail(c, n, "unknown file action '%s'", s);
}

static int elem_flow_action(struct ctx *c, yaml_node_t *n, const char *s, void *arg)
{
	for (size_t i = 0; i < sizeof(flow_action_names) / sizeof(flow_action_names[0]); i++)
		if (!strcmp(s, flow_action_names[i].name)) {
			*(uint32_t *)arg |= flow_action_names[i].bit;
			return 0;
		}
	return fail(c, n, "unknown flow action '%s'", s);
}

static int get_how(struct ctx *c, yaml_node_t *n, const char *what, int *all)
{
	const char *s = scalar(c, n, what);
	if (!s)
		return -1;
	if (!strcasecmp(s, "any") || !strcasecmp(s, "or"))
		*all = 0;
	else if (!strcasecmp(s, "all") || !strcasecmp(s, "and"))
		*all = 1;
	else
		return fail(c, n, "%s must be any or all, not '%s'", what, s);
	return 0;
}

static void *compile(struct ctx *c, yaml_node_t *n, const char *re)
{
	int ec;
	PCRE2_SIZE off;
	pcre2_code *code = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &ec,
					 &off, NULL);
	struct rcp_arena *a = *c->arena;

	if (!code) {
		PCRE2_UCHAR msg[128];
		pcre2_get_error_message(ec, msg, sizeof(msg));
		fail(c, n, "bad regex '%s' at offset %zu: %s", re, (size_t)off, (char *)msg);
		return NULL;
	}
	if (a->ncodes == a->capcodes) {
		size_t cap = a->capcodes ? a->capcodes * 2 : 32;
		void **p = realloc(a->codes, cap * sizeof(*p));
		if (!p) {
			pcre2_code_free(code);
			fail(c, n, "out of memory");
			return NULL;
		}
		a->codes = p;
		a->capcodes = cap;
	}
	a->codes[a->ncodes++] = code;
	return code;
}

/* Growable array in the arena (old copies are simply left behind). */
/* Room for element n of an array in the arena: capacity doubles at each
 * power of two (4, 8, 16...), so a list of n entries costs O(n) memory
 * (the old copies stay in the arena until the set is freed). */
static void *grow(struct ctx *c, void *old, size_t n, size_t size)
{
	if (old && (n < 4 || (n & (n - 1))))
		return old; /* still room: capacity is max(4, next power of two) */
	size_t cap = n < 4 ? 4 : 2 * n;
	void *p = arena_alloc(c->arena, cap * size);
	if (p && old)
		memcpy(p, old, n * size);
	return p;
}

static int parse_cidr(struct ctx *c, yaml_node_t *n, const char *s, struct rcp_cidr *out)
{
	char buf[64];
	const char *slash = strchr(s, '/');
	size_t l = slash ? (size_t)(slash - s) : strlen(s);
	long bits;
	char *end;

	if (l >= sizeof(buf))
		return fail(c, n, "bad CIDR '%s'", s);
	memcpy(buf, s, l);
	buf[l] = '\0';
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, buf, out->addr) == 1)
		out->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, out->addr) == 1)
		out->family = AF_INET6;
	else
		return fail(c, n, "bad CIDR '%s': not an IPv4 or IPv6 address", s);
	bits = out->family == AF_INET ? 32 : 128;
	if (slash) {
		long max = bits;
		errno = 0;
		bits = strtol(slash + 1, &end, 10);
		if (errno || end == slash + 1 || *end || bits < 0 || bits > max)
			return fail(c, n, "bad CIDR '%s': prefix length must be 0..%ld", s, max);
	}
	out->bits = (uint8_t)bits;
	return 0;
}

struct cidr_list {
	struct rcp_cidr *v;
	size_t n;
};

static int elem_cidr(struct ctx *c, yaml_node_t *n, const char *s, void *arg)
{
	struct cidr_list *l = arg;
	l->v = grow(c, l->v, l->n, sizeof(*l->v));
	if (!l->v)
		return fail(c, n, "out of memory");
	return parse_cidr(c, n, s, &l->v[l->n++]);
}

struct str_list {
	const char **v;
	size_t n;
};

static int add_str(struct ctx *c, yaml_node_t *n, struct str_list *l, const char *s)
{
	l->v = grow(c, (void *)l->v, l->n, sizeof(*l->v));
	if (!l->v)
		return fail(c, n, "out of memory");
	l->v[l->n++] = s;
	return 0;
}

static int add_domain(struct ctx *c, yaml_node_t *n, struct str_list *l, const char *s, size_t len)
{
	while (len && (s[len - 1] == '.' || isspace((unsigned char)s[len - 1])))
		len--;
	while (len && isspace((unsigned char)*s))
		s++, len--;
	if (!len)
		return fail(c, n, "empty domain name");
	if (len > 253)
		return fail(c, n, "domain name longer than 253 characters");
	char *d = dup_str(c, s, len);
	if (!d)
		return fail(c, n, "out of memory");
	for (char *p = d; *p; p++) {
		*p = (char)tolower((unsigned char)*p);
		if (*p == '*')
			return fail(c, n, "domain name '%s': wildcards are not supported (list "
				    "the name and use remote_domains_trie_type: suffix)", d);
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.' && *p != '_')
			return fail(c, n, "domain name '%s' holds '%c'", d, *p);
	}
	return add_str(c, n, l, d);
}

static int elem_domain(struct ctx *c, yaml_node_t *n, const char *s, void *arg)
{
	return add_domain(c, n, arg, s, strlen(s));
}

static int elem_env(struct ctx *c, yaml_node_t *n, const char *s, void *arg)
{
	if (!*s || strchr(s, '='))
		return fail(c, n, "env_vars entries are variable names, not '%s'", s);
	return add_str(c, n, arg, s);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* remote_domains_file: one name a line, '#' comments. */
static int load_domain_file(struct ctx *c, yaml_node_t *n, const char *path, struct str_list *l)
{
	struct rcp_source f;
	char why[256] = "";

	if (!c->file_fn)
		return fail(c, n, "remote_domains_file '%s': lists cannot be read here", path);
	if (c->file_fn(c->src, path, &f, why, sizeof(why), c->file_arg) < 0)
		return fail(c, n, "remote_domains_file '%s': %s", path, why);
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

/* --- bases ------------------------------------------------------------------ */
struct base_list {
	struct rcp_base *v;
	size_t n;
};

static int parse_base_entry(struct ctx *c, yaml_node_t *m, struct base_list *l)
{
	struct rcp_base b = {0};

	if (m->type != YAML_MAPPING_NODE)
		return fail(c, m, "each entry of bases must be a mapping of base, dir or regex");
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node(c, p->key), *v = node(c, p->value);
		const char *key = scalar(c, k, "key"), *s;
		if (!key)
			return -1;
		if (!(s = scalar(c, v, key)))
			return -1;
		if (!strcmp(key, "base") && !b.base) {
			if (!*s || strchr(s, '/'))
				return fail(c, v, "base is a file name (no '/'), not '%s'", s);
			b.base = s;
		} else if (!strcmp(key, "dir") && !b.dir) {
			size_t n = strlen(s);
			if (s[0] != '/')
				return fail(c, v, "dir must be an absolute path, not '%s'", s);
			while (n > 1 && ((char *)s)[n - 1] == '/')
				((char *)s)[--n] = '\0';
			b.dir = s;
		} else if (!strcmp(key, "regex") && !b.re) {
			if (!(b.re = compile(c, v, s)))
				return -1;
		} else {
			return fail(c, k, "unknown or repeated key '%s' in bases (base, dir, regex)",
				    key);
		}
	}
	if (!b.base && !b.dir && !b.re)
		return fail(c, m, "empty entry in bases");
	l->v = grow(c, l->v, l->n, sizeof(*l->v));
	if (!l->v)
		return fail(c, m, "out of memory");
	l->v[l->n++] = b;
	return 0;
}

/* --- arbitrary ---------------------------------------------------------------- */
static int elem_number(struct ctx *c, yaml_node_t *n, const char *s, void *arg)
{
	struct {
		int64_t *v;
		size_t n;
	} *l = arg;
	char *end;
	errno = 0;
	long long x = strtoll(s, &end, 10);
	if (errno || end == s || *end)
		return fail(c, n, "'%s' is not a whole number", s);
	l->v = grow(c, l->v, l->n, sizeof(*l->v));
	if (!l->v)
		return fail(c, n, "out of memory");
	l->v[l->n++] = x;
	return 0;
}

static int parse_item(struct ctx *c, yaml_node_t *m, struct rcp_item *it)
{
	int have_what = 0, have_which = 0, have_when = 0, tmp;
	struct {
		int64_t *v;
		size_t n;
	} nums = {0};
	struct cidr_list cidrs = {0};

	memset(it, 0, sizeof(*it));
	if (m->type != YAML_MAPPING_NODE)
		return fail(c, m, "each item must be a mapping {what, pattern|number|numbers|cidr}");
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node(c, p->key), *v = node(c, p->value);
		const char *key = scalar(c, k, "key");
		if (!key)
			return -1;
		if (!strcmp(key, "what") && !have_what) {
			const char *w = scalar(c, v, "what");
			if (w && !strcmp(w, "cmd"))
				tmp = RCP_W_ARGS; /* RECIPES.md: cmd is args */
			else if (pick(c, v, "what", what_names, RCP_W_MAX, &tmp) < 0)
				return -1;
			it->what = (enum rcp_what)tmp;
			have_what = 1;
		} else if (!strcmp(key, "which") && !have_which) {
			static const char *const w[] = {"pertinent", "irrelevant", NULL};
			if (pick(c, v, "which", w, 2, &it->negate) < 0)
				return -1;
			have_which = 1;
		} else if (!strcmp(key, "when") && !have_when) {
			static const char *const w[] = {"equal", "smaller", "bigger", NULL};
			if (pick(c, v, "when", w, 3, &tmp) < 0)
				return -1;
			it->when = (enum rcp_when)tmp;
			have_when = 1;
		} else if (!strcmp(key, "pattern") && !it->re) {
			const char *s = scalar(c, v, "pattern");
			if (!s || !(it->re = compile(c, v, s)))
				return -1;
		} else if ((!strcmp(key, "number") || !strcmp(key, "numbers")) && !nums.n) {
			if (each_elem(c, v, key, 0, elem_number, &nums) < 0)
				return -1;
		} else if (!strcmp(key, "cidr") && !cidrs.n) {
			if (each_elem(c, v, "cidr", 0, elem_cidr, &cidrs) < 0)
				return -1;
		} else if (!strcmp(key, "time")) {
			return fail(c, k, "time items are not supported yet");
		} else {
			return fail(c, k, "unknown or repeated key '%s' in an arbitrary item", key);
		}
	}
	if (!have_what)
		return fail(c, m, "arbitrary item without 'what'");
	if (!!it->re + !!nums.n + !!cidrs.n != 1)
		return fail(c, m, "an arbitrary item needs exactly one of pattern, number(s), cidr");
	int numeric = it->what == RCP_W_UID || it->what == RCP_W_PID || it->what == RCP_W_PPID ||
		      it->what == RCP_W_DOMAIN_ENTROPY || it->what == RCP_W_REMOTE_PORT;
	if (numeric && !nums.n)
		return fail(c, m, "'%s' is a number: use number or numbers", what_names[it->what]);
	if (it->what == RCP_W_REMOTE_IP && !cidrs.n)
		return fail(c, m, "remote_ip needs cidr");
	if (!numeric && it->what != RCP_W_REMOTE_IP && !it->re)
		return fail(c, m, "'%s' is text: use pattern", what_names[it->what]);
	it->nums = nums.v;
	it->nnums = nums.n;
	it->cidrs = cidrs.v;
	it->ncidrs = cidrs.n;
	return 0;
}

static int parse_group(struct ctx *c, yaml_node_t *m, struct rcp_group *g)
{
	int have_how = 0, have_which = 0, have_items = 0;
	struct rcp_item *items = NULL;
	size_t n = 0;

	memset(g, 0, sizeof(*g));
	g->all = 1;
	if (m->type != YAML_MAPPING_NODE)
		return fail(c, m, "each arbitrary group must be a mapping {how, which, items}");
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node(c, p->key), *v = node(c, p->value);
		const char *key = scalar(c, k, "key");
		if (!key)
			return -1;
		if (!strcmp(key, "how") && !have_how) {
			if (get_how(c, v, "how", &g->all) < 0)
				return -1;
			have_how = 1;
		} else if (!strcmp(key, "which") && !have_which) {
			static const char *const w[] = {"pertinent", "irrelevant", NULL};
			if (pick(c, v, "which", w, 2, &g->irrelevant) < 0)
				return -1;
			have_which = 1;
		} else if (!strcmp(key, "items") && !have_items) {
			if (v->type != YAML_SEQUENCE_NODE)
				return fail(c, v, "items must be a list");
			for (yaml_node_item_t *it = v->data.sequence.items.start;
			     it < v->data.sequence.items.top; it++) {
				items = grow(c, items, n, sizeof(*items));
				if (!items)
					return fail(c, v, "out of memory");
				if (parse_item(c, node(c, *it), &items[n++]) < 0)
					return -1;
			}
			have_items = 1;
		} else {
			return fail(c, k, "unknown or repeated key '%s' in an arbitrary group", key);
		}
	}
	if (!n)
		return fail(c, m, "arbitrary group without items");
	g->items = items;
	g->nitems = n;
	return 0;
}

/* --- one recipe ---------------------------------------------------------------- */
enum key_id {
	K_KIND, K_NAME, K_ENABLED, K_VERSION, K_DESCRIPTION, K_DOCUMENTATION, K_BREED, K_MECHANISM,
	K_TACTIC, K_TECHNIQUE, K_SUBTECHNIQUE, K_IMPORTANCE, K_TIMES, K_FILE_ACTIONS,
	K_FILE_ACTIONS_HOW, K_FILE_ACTIONS_EXCL, K_BASES, K_BASE, K_DIR, K_REGEX, K_PROTOCOL,
	K_LOCAL_CIDRS, K_REMOTE_CIDRS, K_LOCAL_PORT, K_REMOTE_PORT, K_REMOTE_DOMAINS,
	K_REMOTE_DOMAINS_TRIE_TYPE, K_REMOTE_DOMAINS_FILE, K_FLOW_ACTIONS, K_FLOW_ACTIONS_HOW,
	K_FLOW_ACTIONS_EXCL, K_ENV_VARS, K_ARBITRARY, K_REACTIONS, K_MAX
};
static const char *const key_names[K_MAX] = {
	"kind", "name", "enabled", "version", "description", "documentation", "breed", "mechanism",
	"tactic", "technique", "subtechnique", "importance", "times", "file_actions",
	"file_actions_how", "file_actions_excl", "bases", "base", "dir", "regex", "protocol",
	"local_cidrs", "remote_cidrs", "local_port", "remote_port", "remote_domains",
	"remote_domains_trie_type", "remote_domains_file", "flow_actions", "flow_actions_how",
	"flow_actions_excl", "env_vars", "arbitrary", "reactions"};

static int parse_times(struct ctx *c, yaml_node_t *v, struct recipe *r)
{
	if (v->type != YAML_SEQUENCE_NODE)
		return fail(c, v, "times must be a list of {kind, max}");
	for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
	     it++) {
		yaml_node_t *m = node(c, *it);
		int kind = -1;
		int64_t max = -1;

		if (m->type != YAML_MAPPING_NODE)
			return fail(c, m, "each times entry must be a mapping {kind, max}");
		for (yaml_node_pair_t *p = m->data.mapping.pairs.start;
		     p < m->data.mapping.pairs.top; p++) {
			yaml_node_t *k = node(c, p->key), *val = node(c, p->value);
			const char *key = scalar(c, k, "key");
			if (!key)
				return -1;
			if (!strcmp(key, "kind") && kind < 0) {
				if (pick(c, val, "times kind", times_names, RCP_T_MAX, &kind) < 0)
					return -1;
			} else if (!strcmp(key, "max") && max < 0) {
				if (get_int(c, val, "max", 1, 1000000, &max) < 0)
					return -1;
			} else {
				return fail(c, k, "unknown or repeated key '%s' in times", key);
			}
		}
		if (kind < 0 || max < 0)
			return fail(c, m, "times entry needs kind and max");
		for (size_t i = 0; i < r->ntimes; i++)
			if ((int)r->times[i].kind == kind)
				return fail(c, m, "%s listed twice", times_names[kind]);
		r->times[r->ntimes].kind = (enum rcp_times_kind)kind;
		r->times[r->ntimes].max = (uint32_t)max;
		r->ntimes++;
	}
	return 0;
}

static int parse_recipe(struct ctx *c, yaml_node_t *m, struct recipe *r)
{
	const yaml_node_t *seen[K_MAX] = {0};
	struct base_list bases = {0};
	struct cidr_list lc = {0}, rc = {0};
	struct str_list doms = {0}, envs = {0};
	struct rcp_group *groups = NULL;
	uint32_t excl = 0, fexcl = 0;
	int tmp, have_file_how = 0;
	yaml_node_pair_t short_pairs[3];
	size_t nshort = 0;

	memset(r, 0, sizeof(*r));
	r->source = c->src;
	r->line = (int)m->start_mark.line + 1;
	r->enabled = 1;
	r->subtechnique = "";
	r->documentation = "";
	r->description = "";
	r->version = "";
	if (m->type != YAML_MAPPING_NODE)
		return fail(c, m, "each recipe must be a mapping of keys");
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node(c, p->key), *v = node(c, p->value);
		const char *key = scalar(c, k, "key");
		int id;

		if (!key)
			return -1;
		for (id = 0; id < K_MAX && strcmp(key, key_names[id]); id++)
			;
		if (id == K_MAX)
			return fail(c, k, "unknown key '%s'", key);
		if (seen[id])
			return fail(c, k, "key '%s' given twice (first on line %zu)", key,
				    seen[id]->start_mark.line + 1);
		seen[id] = k;
		switch (id) {
		case K_KIND: case K_NAME: case K_VERSION: case K_DESCRIPTION: case K_DOCUMENTATION:
		case K_TACTIC: case K_TECHNIQUE: case K_SUBTECHNIQUE: {
			const char *s = scalar(c, v, key);
			const char **dst[] = {
				[K_KIND] = &r->kind, [K_NAME] = &r->name, [K_VERSION] = &r->version,
				[K_DESCRIPTION] = &r->description, [K_DOCUMENTATION] = &r->documentation,
				[K_TACTIC] = &r->tactic, [K_TECHNIQUE] = &r->technique,
				[K_SUBTECHNIQUE] = &r->subtechnique};
			if (!s)
				return -1;
			*dst[id] = s;
			if (id == K_KIND) {
				size_t l = strlen(s);
				if (!l || l >= 64)
					return fail(c, v, "kind must be 1..63 characters");
				for (const char *q = s; *q; q++)
					if (!islower((unsigned char)*q) && !isdigit((unsigned char)*q) &&
					    *q != '_')
						return fail(c, v, "kind '%s' may hold only a-z, 0-9 and _", s);
			}
			break;
		}
		case K_ENABLED:
			if (get_bool(c, v, key, &r->enabled) < 0)
				return -1;
			break;
		case K_BREED:
			if (pick(c, v, "breed", breeds, 6, &tmp) < 0)
				return -1;
			r->breed = breeds[tmp];
			break;
		case K_MECHANISM:
			if (pick(c, v, "mechanism", mech_names, RCP_MECH_MAX, &tmp) < 0)
				return -1;
			r->mech = (enum rcp_mech)tmp;
			break;
		case K_IMPORTANCE:
			if (pick(c, v, "importance", importances, 4, &tmp) < 0)
				return -1;
			r->importance = importances[tmp];
			break;
		case K_TIMES:
			if (parse_times(c, v, r) < 0)
				return -1;
			break;
		case K_FILE_ACTIONS:
			if (each_elem(c, v, key, 1, elem_action, &r->actions) < 0)
				return -1;
			if (!r->actions) /* '', [] or '|': never "any" by accident */
				return fail(c, v, "file_actions is empty (omit it, or write any)");
			break;
		case K_FILE_ACTIONS_EXCL:
			if (each_elem(c, v, key, 1, elem_action, &excl) < 0)
				return -1;
			break;
		case K_FILE_ACTIONS_HOW:
			if (get_how(c, v, key, &r->actions_all) < 0)
				return -1;
			have_file_how = 1;
			break;
		case K_BASES:
			if (v->type != YAML_SEQUENCE_NODE)
				return fail(c, v, "bases must be a list of {base, dir, regex}");
			for (yaml_node_item_t *it = v->data.sequence.items.start;
			     it < v->data.sequence.items.top; it++)
				if (parse_base_entry(c, node(c, *it), &bases) < 0)
					return -1;
			break;
		case K_BASE: case K_DIR: case K_REGEX:
			/* shorthand, gathered into one entry below */
			short_pairs[nshort++] = *p;
			break;
		case K_PROTOCOL: {
			static const char *const protos[] = {"tcp", "udp", "icmp", NULL};
			static const int nums[] = {6, 17, 1};
			if (pick(c, v, "protocol", protos, 3, &tmp) < 0)
				return -1;
			r->proto = nums[tmp];
			break;
		}
		case K_LOCAL_CIDRS:
			if (each_elem(c, v, key, 0, elem_cidr, &lc) < 0)
				return -1;
			break;
		case K_REMOTE_CIDRS:
			if (each_elem(c, v, key, 0, elem_cidr, &rc) < 0)
				return -1;
			break;
		case K_LOCAL_PORT: case K_REMOTE_PORT: {
			int64_t port;
			if (get_int(c, v, key, 0, 65535, &port) < 0)
				return -1;
			*(id == K_LOCAL_PORT ? &r->local_port : &r->remote_port) = (uint16_t)port;
			break;
		}
		case K_REMOTE_DOMAINS:
			if (each_elem(c, v, key, 0, elem_domain, &doms) < 0)
				return -1;
			break;
		case K_REMOTE_DOMAINS_TRIE_TYPE: {
			static const char *const t[] = {"exact", "suffix", "prefix", NULL};
			if (pick(c, v, "trie type", t, 3, &tmp) < 0)
				return -1;
			r->trie = (enum rcp_trie)tmp;
			break;
		}
		case K_REMOTE_DOMAINS_FILE: {
			const char *s = scalar(c, v, key);
			if (!s || load_domain_file(c, v, s, &doms) < 0)
				return -1;
			break;
		}
		case K_FLOW_ACTIONS:
			if (each_elem(c, v, key, 1, elem_flow_action, &r->flow_actions) < 0)
				return -1;
			break;
		case K_FLOW_ACTIONS_EXCL:
			if (each_elem(c, v, key, 1, elem_flow_action, &fexcl) < 0)
				return -1;
			break;
		case K_FLOW_ACTIONS_HOW:
			if (get_how(c, v, key, &r->flow_actions_all) < 0)
				return -1;
			break;
		case K_ENV_VARS:
			if (each_elem(c, v, key, 0, elem_env, &envs) < 0)
				return -1;
			break;
		case K_ARBITRARY:
			if (v->type != YAML_SEQUENCE_NODE)
				return fail(c, v, "arbitrary must be a list of groups");
			for (yaml_node_item_t *it = v->data.sequence.items.start;
			     it < v->data.sequence.items.top; it++) {
				groups = grow(c, groups, r->ngroups, sizeof(*groups));
				if (!groups)
					return fail(c, v, "out of memory");
				if (parse_group(c, node(c, *it), &groups[r->ngroups++]) < 0)
					return -1;
			}
			break;
		case K_REACTIONS:
			/* parsed for shape only: reactions are a later issue */
			break;
		}
	}
	if (nshort) {
		/* top-level base/dir/regex: one entry, as if under bases */
		yaml_node_t fake;
		memset(&fake, 0, sizeof(fake));
		fake.type = YAML_MAPPING_NODE;
		fake.start_mark = node(c, short_pairs[0].key)->start_mark;
		fake.data.mapping.pairs.start = short_pairs;
		fake.data.mapping.pairs.top = short_pairs + nshort;
		if (parse_base_entry(c, &fake, &bases) < 0)
			return -1;
	}
	static const int required[] = {K_KIND, K_NAME, K_MECHANISM, K_IMPORTANCE, K_TACTIC,
				       K_TECHNIQUE};
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		if (!seen[required[i]])
			return fail(c, m, "recipe %s lacks '%s'", r->kind ? r->kind : "(no kind)",
				    key_names[required[i]]);
	if (!r->breed)
		r->breed = r->mech == RCP_NETWORK_PEERS ? "remote_domains" : mech_names[r->mech];

	/* what each mechanism needs, and nothing it cannot use */
	int file_keys = seen[K_FILE_ACTIONS] || seen[K_FILE_ACTIONS_EXCL] || have_file_how ||
			bases.n;
	int net_keys = seen[K_PROTOCOL] || lc.n || rc.n || seen[K_LOCAL_PORT] ||
		       seen[K_REMOTE_PORT] || doms.n || seen[K_FLOW_ACTIONS] ||
		       seen[K_FLOW_ACTIONS_EXCL] || seen[K_FLOW_ACTIONS_HOW] ||
		       seen[K_REMOTE_DOMAINS_TRIE_TYPE];
	switch (r->mech) {
	case RCP_FILE_ACCESS:
		if (!bases.n)
			return fail(c, m, "file_access recipe %s needs bases (which files)", r->kind);
		if (net_keys || envs.n)
			return fail(c, m, "file_access recipe %s has network or env_vars keys",
				    r->kind);
		if (!r->actions)
			r->actions = ALL_ACTIONS;
		break;
	case RCP_EXECUTION:
		if (net_keys || envs.n)
			return fail(c, m, "execution recipe %s has network or env_vars keys", r->kind);
		if (r->actions & ~A(B_EXEC))
			return fail(c, seen[K_FILE_ACTIONS] ? seen[K_FILE_ACTIONS] : m,
				    "execution recipe %s: the only action is execve", r->kind);
		r->actions = A(B_EXEC);
		if (!bases.n && !r->ngroups)
			return fail(c, m, "execution recipe %s needs bases or arbitrary", r->kind);
		break;
	case RCP_NETWORK_PEERS:
		if (file_keys || envs.n)
			return fail(c, m, "network_peers recipe %s has file or env_vars keys",
				    r->kind);
		if (seen[K_REMOTE_DOMAINS_TRIE_TYPE] && !doms.n)
			return fail(c, m, "recipe %s: trie type without remote_domains", r->kind);
		if (!rc.n && !doms.n && !lc.n && !r->remote_port && !r->local_port && !r->ngroups)
			return fail(c, m, "network_peers recipe %s matches every flow", r->kind);
		break;
	case RCP_ENV_VARS:
		if (file_keys || net_keys)
			return fail(c, m, "env_vars recipe %s has file or network keys", r->kind);
		if (!envs.n)
			return fail(c, m, "env_vars recipe %s needs env_vars (variable names)",
				    r->kind);
		break;
	default:
		break;
	}
	r->actions &= ~excl;
	if ((r->mech == RCP_FILE_ACCESS || r->mech == RCP_EXECUTION) && !r->actions)
		return fail(c, m, "recipe %s: file_actions_excl removes every action", r->kind);
	r->flow_actions &= ~fexcl; /* none given: any flow */
	r->bases = bases.v;
	r->nbases = bases.n;
	r->local_cidrs = lc.v;
	r->nlocal_cidrs = lc.n;
	r->remote_cidrs = rc.v;
	r->nremote_cidrs = rc.n;
	if (doms.n)
		qsort(doms.v, doms.n, sizeof(*doms.v), cmp_str);
	r->domains = doms.v;
	r->ndomains = doms.n;
	r->env_names = envs.v;
	r->nenv_names = envs.n;
	r->groups = groups;
	r->has_reactions = seen[K_REACTIONS] != NULL;
	return 0;
}

/* A recipe whose mechanism runs in another worker (only when filtering;
 * a recipe without a readable mechanism is parsed, to be refused). */
static int other_worker(struct ctx *c, yaml_node_t *m)
{
	if (!c->worker || m->type != YAML_MAPPING_NODE)
		return 0;
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node(c, p->key), *v = node(c, p->value);
		if (k->type != YAML_SCALAR_NODE || v->type != YAML_SCALAR_NODE ||
		    strcmp((const char *)k->data.scalar.value, "mechanism"))
			continue;
		for (int i = 0; i < RCP_MECH_MAX; i++)
			if (!strcmp((const char *)v->data.scalar.value, mech_names[i]))
				return strcmp(mech_workers[i], c->worker) != 0;
	}
	return 0;
}

static int load_one(struct ctx *c, const struct rcp_source *src, struct recipe **rv, size_t *n,
		    size_t *cap)
{
	yaml_parser_t parser;
	int rc = 0;

	const char *nul = memchr(src->data, '\0', src->len);
	if (nul) {
		size_t line = 1;
		for (const char *q = src->data; q < nul; q++)
			line += *q == '\n';
		snprintf(c->err, c->errlen, "%s:%zu: holds a NUL byte: not a YAML text file",
			 src->name, line);
		return -1;
	}
	if (!yaml_parser_initialize(&parser)) {
		snprintf(c->err, c->errlen, "%s: out of memory", src->name);
		return -1;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)src->data, src->len);
	for (;;) {
		yaml_document_t doc;
		yaml_node_t *root;

		if (!yaml_parser_load(&parser, &doc)) {
			snprintf(c->err, c->errlen, "%s:%zu: YAML syntax: %s%s%s", src->name,
				 parser.problem_mark.line + 1, parser.problem ? parser.problem : "error",
				 parser.context ? " " : "", parser.context ? parser.context : "");
			rc = -1;
			break;
		}
		root = yaml_document_get_root_node(&doc);
		if (!root) {
			yaml_document_delete(&doc);
			break;
		}
		c->doc = &doc;
		if (root->type != YAML_SEQUENCE_NODE) {
			rc = fail(c, root, "a recipe file is a list of recipes ('- kind: ...')");
		} else {
			for (yaml_node_item_t *it = root->data.sequence.items.start;
			     rc == 0 && it < root->data.sequence.items.top; it++) {
				if (*n == *cap) {
					size_t nc = *cap ? *cap * 2 : 64;
					struct recipe *p = realloc(*rv, nc * sizeof(*p));
					if (!p) {
						rc = fail(c, root, "out of memory");
						break;
					}
					*rv = p;
					*cap = nc;
				}
				if (other_worker(c, node(c, *it)))
					continue; /* not parsed: its lists and regexes cost nothing */
				rc = parse_recipe(c, node(c, *it), &(*rv)[*n]);
				if (rc == 0)
					(*n)++;
			}
		}
		c->doc = NULL;
		yaml_document_delete(&doc);
		if (rc < 0)
			break;
	}
	yaml_parser_delete(&parser);
	return rc;
}

int rcp_load(struct rcp_set *set, const struct rcp_source *sources, size_t n,
	     const char *const *disabled, const char *worker, rcp_file_fn file_fn, void *file_arg,
	     char *err, size_t errlen)
{
	struct rcp_arena *arena = NULL;
	struct recipe *rv = NULL;
	size_t nr = 0, cap = 0;
	struct ctx c = {&arena, NULL, NULL, err, errlen, file_fn, file_arg, worker};

	memset(set, 0, sizeof(*set));
	if (!arena_alloc(&arena, 16)) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		size_t before = nr;
		/* recipes outlive the caller's sources: keep the name */
		c.src = dup_str(&c, sources[i].name, strlen(sources[i].name));
		if (!c.src) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		if (load_one(&c, &sources[i], &rv, &nr, &cap) < 0)
			goto fail;
		/* a kind is unique across every source */
		for (size_t j = before; j < nr; j++)
			for (size_t k = 0; k < j; k++)
				if (!strcmp(rv[j].kind, rv[k].kind)) {
					snprintf(err, errlen, "%s:%d: recipe %s is already defined at %s:%d",
						 rv[j].source, rv[j].line, rv[j].kind, rv[k].source,
						 rv[k].line);
					goto fail;
				}
	}
	for (size_t i = 0; disabled && disabled[i]; i++) {
		size_t j;
		for (j = 0; j < nr && strcmp(rv[j].kind, disabled[i]); j++)
			;
		if (j == nr) {
			if (worker)
				continue; /* another worker's recipe (not parsed here) */
			snprintf(err, errlen, "disabled recipe '%s' does not exist", disabled[i]);
			goto fail;
		}
		rv[j].enabled = 0;
	}
	if (worker) {
		size_t k = 0;
		for (size_t j = 0; j < nr; j++)
			if (strcmp(rcp_mech_worker(rv[j].mech), worker) == 0)
				rv[k++] = rv[j];
		nr = k;
	}
	set->r = rv;
	set->n = nr;
	set->arena = arena;
	return 0;
fail:
	free(rv);
	arena_free(arena);
	return -1;
}

void rcp_set_free(struct rcp_set *set)
{
	free(set->r);
	arena_free(set->arena);
	memset(set, 0, sizeof(*set));
}

const struct recipe *rcp_find(const struct rcp_set *set, const char *kind)
{
	for (size_t i = 0; i < set->n; i++)
		if (!strcmp(set->r[i].kind, kind))
			return &set->r[i];
	return NULL;
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
		if (!strcmp(t, "..")) {
			if (np && strcmp(parts[np - 1], ".."))
				np--;
			else if (!absolute)
				parts[np++] = t;
			continue;
		}
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
