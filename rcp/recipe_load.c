/*
 * recipe_load.c - recipe sources into a recipe set: each source is read as
 * YAML documents (libyaml), each document must be a list of recipes, and
 * each recipe is read by recipe_parse.c. Then the set as a whole: a kind
 * is unique across every source (an operator's recipe replaces the
 * built-in one of its kind), the disabled kinds are turned off, and a
 * worker keeps only the recipes of its mechanisms.
 *
 * Invariants:
 *  - every error names "source:line" (1-based) and what is wrong.
 *  - all memory a recipe points to lives in the set's arena; a failed load
 *    frees everything and leaves the set empty, never half built.
 *  - a worker does not parse the recipes of other workers' mechanisms
 *    (their lists and regexes cost it nothing); the supervisor parses all.
 *  - YAML aliases are refused (refuse_aliases), so what a load costs is
 *    linear in the size of its sources.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rcp/load.h"

const char *const rcp_mech_names[RCP_MECH_MAX] = {"file_access", "execution", "network_peers",
						     "env_vars", "tamper"};
/* the names the tamper key takes, and the events' tamper.class */
const char *const rcp_tamper_names[JB_TAMPER_CLASS_MAX] = {
	[JB_TAMPER_MAP_WRITE] = "map_write",	 [JB_TAMPER_BPF_PROG] = "bpf_program",
	[JB_TAMPER_MODULE] = "kernel_module",	 [JB_TAMPER_SIGNAL] = "signal",
	[JB_TAMPER_PTRACE] = "ptrace",		 [JB_TAMPER_PROC_MEM] = "process_memory",
	[JB_TAMPER_FILE] = "agent_files",
};
const char *const rcp_times_names[RCP_T_MAX] = {
	"times_per_proc",	   "times_per_exe",  "times_per_parent_proc", "times_per_parent_exe",
	"times_per_full_ancestry", "times_per_host", "times_in_total"};
const char *rcp_mech_name(enum rcp_mech m) { return m < RCP_MECH_MAX ? rcp_mech_names[m] : "?"; }
const char *rcp_tamper_class_name(uint32_t klass)
{
	return klass && klass < JB_TAMPER_CLASS_MAX ? rcp_tamper_names[klass] : "?";
}
const char *rcp_times_name(enum rcp_times_kind k)
{
	return k < RCP_T_MAX ? rcp_times_names[k] : "?";
}

/* The scalar value of key name in mapping m, or NULL. */
static const char *scalar_of(struct rcp_ctx *c, yaml_node_t *m, const char *name)
{
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		yaml_node_t *k = rcp_node(c, p->key), *v = rcp_node(c, p->value);
		if (k->type == YAML_SCALAR_NODE && v->type == YAML_SCALAR_NODE &&
		    !strcmp((const char *)k->data.scalar.value, name))
			return (const char *)v->data.scalar.value;
	}
	return NULL;
}

/* A recipe whose mechanism this loader does not keep (only when filtering;
 * a recipe without a readable mechanism or kind is parsed, to be refused).
 * Its kind is kept in c->skipped: an operator's recipe replaces the
 * built-in one of its kind even when this worker runs only one of them. */
static int other_worker(struct rcp_ctx *c, yaml_node_t *m)
{
	const char *mech, *kind;
	struct rcp_kindref *p;

	if (!c->mechs || m->type != YAML_MAPPING_NODE || !(mech = scalar_of(c, m, "mechanism")) ||
	    !(kind = scalar_of(c, m, "kind")))
		return 0;
	for (int i = 0; i < RCP_MECH_MAX; i++)
		if (!strcmp(mech, rcp_mech_names[i])) {
			if (c->mechs & (1u << i))
				return 0;
			p = rcp_grow(c, c->skipped, c->nskipped, sizeof(*p));
			if (!p)
				return 0; /* out of memory: parsed, costs more, same answer */
			c->skipped = p;
			if (!(p[c->nskipped].kind = rcp_dup(c, kind, strlen(kind))))
				return 0;
			p[c->nskipped].source = c->src;
			p[c->nskipped].line = (int)m->start_mark.line + 1;
			p[c->nskipped].order = c->order;
			c->nskipped++;
			return 1;
		}
	return 0;
}

static int builtin(const char *source) { return !strncmp(source, "builtin:", 8); }

/*
 * Kinds across sources. The recipes of a kind come from one source: the
 * operator's recipes of a kind replace every built-in one of it (the
 * original ships its built-in recipes as files of the same format, and
 * operators edit copies of them; Falco's rule override does the same), and
 * two built-in sources, or two of the operator's, with one kind are an
 * error that names both. Within one source, several recipes of one kind
 * are variants (the original's os_status_fingerprint has eleven, told
 * apart by name): the second and later get kind "KIND#N" (N: its place
 * among them), so that detections, limits and the router, keyed by kind,
 * keep them apart; event_kind stays KIND.
 *
 * rv[0..n) are the parsed recipes, c->skipped the kinds of the others
 * (another worker's); both carry their place in the load (order), so the
 * numbers of variants are the same in the supervisor and in every worker.
 * A replaced built-in recipe leaves rv.
 */
static int by_kind_order(const void *x, const void *y)
{
	const struct rcp_kindref *a = *(const struct rcp_kindref *const *)x,
				 *b = *(const struct rcp_kindref *const *)y;
	int c = strcmp(a->kind, b->kind);

	return c ? c : a->order < b->order ? -1 : a->order > b->order;
}

/* Sorted by kind then load order, each kind is one run: O(n log n), for
 * a file of tens of thousands of recipes loads in every worker too. */
static int unique_kinds(struct rcp_ctx *c, struct recipe *rv, size_t *n)
{
	size_t total = *n + c->nskipped, k = 0;
	struct rcp_kindref *all = calloc(total ? total : 1, sizeof(*all));
	struct rcp_kindref **v = calloc(total ? total : 1, sizeof(*v));
	char *gone = calloc(total ? total : 1, 1);
	const struct rcp_kindref *dup_a = NULL, *dup_b = NULL; /* the first clash */
	int rc = -1;

	if (!all || !v || !gone) {
		snprintf(c->err, c->errlen, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < *n; i++)
		all[i] = (struct rcp_kindref){rv[i].kind, rv[i].source, rv[i].line, rv[i].order};
	for (size_t i = 0; i < c->nskipped; i++)
		all[*n + i] = c->skipped[i];
	for (size_t i = 0; i < total; i++)
		v[i] = &all[i];
	qsort(v, total, sizeof(*v), by_kind_order);
	for (size_t lo = 0, hi; lo < total; lo = hi) {
		const struct rcp_kindref *first_bi = NULL, *first = NULL;
		int operator = 0;
		unsigned nth = 0;

		for (hi = lo; hi < total && !strcmp(v[hi]->kind, v[lo]->kind); hi++) {
			operator |= !builtin(v[hi]->source);
			if (builtin(v[hi]->source) && !first_bi)
				first_bi = v[hi];
		}
		for (size_t x = lo; x < hi; x++) {
			size_t i = (size_t)(v[x] - all);
			if (operator && builtin(v[x]->source)) {
				gone[i] = 1; /* the operator's replace the built-in ones */
				continue;
			}
			if (!first) {
				first = v[x];
			} else if (strcmp(first->source, v[x]->source)) {
				if (!dup_b || v[x]->order < dup_b->order)
					dup_a = first, dup_b = v[x];
				continue;
			}
			nth++;
			if (i >= *n)
				continue; /* another worker's: counted, not kept */
			if (operator && first_bi && !rv[i].replaces) {
				char where[512];
				snprintf(where, sizeof(where), "%s:%d", first_bi->source, first_bi->line);
				if (!(rv[i].replaces = rcp_dup(c, where, strlen(where)))) {
					snprintf(c->err, c->errlen, "out of memory");
					goto out;
				}
			}
			rv[i].event_kind = rv[i].kind;
			if (nth > 1) { /* a variant: KIND#N from the second on */
				char id[RCP_KIND_MAX + 16];
				snprintf(id, sizeof(id), "%s#%u", rv[i].kind, nth);
				if (strlen(id) > RCP_KIND_MAX) {
					snprintf(c->err, c->errlen,
						 "%s:%d: recipe %s: as recipe %u of its kind in this "
						 "file it is named %s, longer than %d characters: "
						 "shorten the kind",
						 rv[i].source, rv[i].line, rv[i].kind, nth, id,
						 RCP_KIND_MAX);
					goto out;
				}
				if (!(rv[i].kind = rcp_dup(c, id, strlen(id)))) {
					snprintf(c->err, c->errlen, "out of memory");
					goto out;
				}
			}
		}
	}
	if (dup_b) { /* one source per kind: the first clash in load order */
		snprintf(c->err, c->errlen, "%s:%d: recipe %s is already defined at %s:%d",
			 dup_b->source, dup_b->line, dup_b->kind, dup_a->source, dup_a->line);
		goto out;
	}
	for (size_t i = 0; i < *n; i++)
		if (!gone[i])
			rv[k++] = rv[i];
	*n = k;
	rc = 0;
out:
	free(all);
	free(v);
	free(gone);
	return rc;
}

/*
 * YAML aliases are refused before the documents are built. libyaml shares
 * an aliased node, but the loader walks every reference of it, copying its
 * strings and compiling its regexes each time: a 120 KB file with one
 * 100 KB anchor named 5000 times made the supervisor and every worker use
 * half a gigabyte. No recipe needs them (the built-in ones and the public
 * ones of the original have none), so the cost of a recipe file stays
 * linear in its size. One pass over the events, stopping at the first
 * alias; a syntax error is left to the load that follows.
 */
static int refuse_aliases(struct rcp_ctx *c, const struct rcp_source *src)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	int rc = 0;

	if (!yaml_parser_initialize(&parser)) {
		snprintf(c->err, c->errlen, "%s: out of memory", src->name);
		return -1;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)src->data, src->len);
	while (yaml_parser_parse(&parser, &ev)) {
		yaml_event_type_t t = ev.type;
		if (t == YAML_ALIAS_EVENT) {
			snprintf(c->err, c->errlen,
				 "%s:%zu: YAML aliases are not accepted (*%.40s): write the value out",
				 src->name, ev.start_mark.line + 1, (const char *)ev.data.alias.anchor);
			rc = -1;
		}
		yaml_event_delete(&ev);
		if (rc < 0 || t == YAML_STREAM_END_EVENT)
			break;
	}
	yaml_parser_delete(&parser);
	return rc;
}

static int load_one(struct rcp_ctx *c, const struct rcp_source *src, struct recipe **rv, size_t *n,
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
	if (refuse_aliases(c, src) < 0)
		return -1;
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
			rc = rcp_fail(c, root,
				      "a recipe file is a list of recipes ('- kind: ...')");
		} else {
			for (yaml_node_item_t *it = root->data.sequence.items.start;
			     rc == 0 && it < root->data.sequence.items.top; it++) {
				if (*n == *cap) {
					size_t nc = *cap ? *cap * 2 : 64;
					struct recipe *p = realloc(*rv, nc * sizeof(*p));
					if (!p) {
						rc = rcp_fail(c, root, "out of memory");
						break;
					}
					*rv = p;
					*cap = nc;
				}
				if (other_worker(c, rcp_node(c, *it))) {
					c->order++;
					continue; /* not parsed: its lists and regexes cost nothing */
				}
				rc = rcp_parse_recipe(c, rcp_node(c, *it), &(*rv)[*n]);
				if (rc == 0)
					(*rv)[(*n)++].order = c->order++;
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
	     const char *const *disabled, uint32_t mechs, rcp_file_fn file_fn, void *file_arg,
	     char *err, size_t errlen)
{
	struct rcp_arena *arena = NULL;
	struct recipe *rv = NULL;
	size_t nr = 0, cap = 0;
	struct rcp_ctx c = {&arena, NULL, NULL, err, errlen, file_fn, file_arg, mechs, NULL, 0, 0};

	memset(set, 0, sizeof(*set));
	if (!rcp_arena_alloc(&arena, 16)) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		/* recipes outlive the caller's sources: keep the name */
		c.src = rcp_dup(&c, sources[i].name, strlen(sources[i].name));
		if (!c.src) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		if (load_one(&c, &sources[i], &rv, &nr, &cap) < 0)
			goto fail;
	}
	if (unique_kinds(&c, rv, &nr) < 0)
		goto fail;
	for (size_t i = 0; disabled && disabled[i]; i++) {
		size_t hit = 0;
		for (size_t j = 0; j < nr; j++)
			if (!strcmp(rv[j].event_kind, disabled[i])) {
				rv[j].enabled = 0; /* every variant of the kind */
				hit++;
			}
		if (!hit && !mechs) { /* (a worker: maybe another worker's) */
			snprintf(err, errlen, "disabled recipe '%s' does not exist", disabled[i]);
			goto fail;
		}
	}
	if (mechs) {
		size_t k = 0;
		for (size_t j = 0; j < nr; j++)
			if (mechs & (1u << rv[j].mech))
				rv[k++] = rv[j];
		nr = k;
	}
	set->r = rv;
	set->n = nr;
	set->arena = arena;
	return 0;
fail:
	free(rv);
	rcp_arena_free(arena);
	return -1;
}

void rcp_set_free(struct rcp_set *set)
{
	free(set->r);
	rcp_arena_free(set->arena);
	memset(set, 0, sizeof(*set));
}

const struct recipe *rcp_find(const struct rcp_set *set, const char *kind)
{
	for (size_t i = 0; i < set->n; i++)
		if (!strcmp(set->r[i].kind, kind))
			return &set->r[i];
	return NULL;
}
