/*
 * load.h - internal to rcp/ (and its unit test): what the files of the
 * recipe loader share. recipe_load.c reads sources into documents and
 * documents into a set; recipe_parse.c turns one recipe mapping into a
 * struct recipe through its key table, with the help of bases.c,
 * arbitrary.c and lists.c for the values that are lists of things;
 * yaml_get.c reads typed values out of document nodes and reports errors;
 * arena.c owns the memory.
 *
 * Every function that takes a node and returns -1 has already written
 * "source:line: what is wrong" into the context (rcp_fail).
 */
#ifndef JB_RCP_LOAD_H
#define JB_RCP_LOAD_H

#include <stddef.h>
#include <stdint.h>

#include <yaml.h>

#include "rcp/recipe.h"

/* --- arena.c ------------------------------------------------------------------ */
void *rcp_arena_alloc(struct rcp_arena **ap, size_t n);
/* The arena frees code (a pcre2_code *) with itself; -1 (code freed) when
 * it cannot keep it. */
int rcp_arena_keep_code(struct rcp_arena *a, void *code);
void rcp_arena_free(struct rcp_arena *a);

/* --- yaml_get.c ------------------------------------------------------------------ */
/* One load: the arena everything goes into, the document being walked and
 * where errors go. */
struct rcp_ctx {
	struct rcp_arena **arena;
	yaml_document_t *doc;
	const char *src;	/* name of the source being read */
	char *err;
	size_t errlen;
	rcp_file_fn file_fn;
	void *file_arg;
	uint32_t mechs;		/* keep only recipes of these mechanisms (bit per enum
				 * rcp_mech; 0: all) */
	struct rcp_kindref *skipped;	/* the recipes not parsed (another worker's):
					 * their kinds still replace built-in ones and
					 * count for the variants' numbers */
	size_t nskipped;
	unsigned order;			/* recipes met so far, parsed or not */
};

/* A recipe's kind and where it is, for the checks across sources. */
struct rcp_kindref {
	const char *kind, *source;
	int line;
	unsigned order;
};

/* "src:line: " + the message, line of n (0 without a node); returns -1. */
int rcp_fail(struct rcp_ctx *c, const yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
char *rcp_dup(struct rcp_ctx *c, const char *s, size_t n);
/* Room for element n of an array in the arena (see yaml_get.c). */
void *rcp_grow(struct rcp_ctx *c, void *old, size_t n, size_t size);
yaml_node_t *rcp_node(struct rcp_ctx *c, int i);

/* A YAML null (an empty plain value, ~ or null): "times:" and
 * "arbitrary:" with nothing after them say nothing. */
int rcp_is_null(const yaml_node_t *n);
/* Typed values of a node; 'what' names it in errors. */
const char *rcp_scalar(struct rcp_ctx *c, yaml_node_t *n, const char *what);
int rcp_get_bool(struct rcp_ctx *c, yaml_node_t *n, const char *what, int *out);
int rcp_get_int(struct rcp_ctx *c, yaml_node_t *n, const char *what, int64_t lo, int64_t hi,
		int64_t *out);
/* The index of the value in names[0..count) (NULL ends it early). */
int rcp_pick(struct rcp_ctx *c, yaml_node_t *n, const char *what, const char *const *names,
	     size_t count, int *out);
/* any/or: 0, all/and: 1. */
int rcp_get_how(struct rcp_ctx *c, yaml_node_t *n, const char *what, int *all);
/* A PCRE2 regex compiled once and kept by the arena, or NULL. */
void *rcp_regex(struct rcp_ctx *c, yaml_node_t *n, const char *re);

/* A list of scalars: a sequence, or one scalar (split on '|' when split is
 * set). fn is called for each element with its node, for error lines. */
typedef int (*rcp_elem_fn)(struct rcp_ctx *c, yaml_node_t *n, const char *s, void *arg);
int rcp_each_elem(struct rcp_ctx *c, yaml_node_t *n, const char *what, int split, rcp_elem_fn fn,
		  void *arg);

/* --- lists.c: rcp_elem_fn callbacks, arg the list they append to ------------------- */
struct rcp_strs {
	const char **v;
	size_t n;
};
struct rcp_cidrs {
	struct rcp_cidr *v;
	size_t n;
};
struct rcp_nums {
	int64_t *v;
	size_t n;
};

int rcp_elem_cidr(struct rcp_ctx *c, yaml_node_t *n, const char *s, void *cidrs);
int rcp_elem_domain(struct rcp_ctx *c, yaml_node_t *n, const char *s, void *strs);
int rcp_elem_env(struct rcp_ctx *c, yaml_node_t *n, const char *s, void *strs);
int rcp_elem_number(struct rcp_ctx *c, yaml_node_t *n, const char *s, void *nums);
/* remote_domains_file: the names of the list at path (n: the value's node). */
int rcp_domain_file(struct rcp_ctx *c, yaml_node_t *n, const char *path, struct rcp_strs *l);
void rcp_sort_strs(struct rcp_strs *l);

/* --- bases.c, arbitrary.c ---------------------------------------------------------- */
struct rcp_bases {
	struct rcp_base *v;
	size_t n;
	const yaml_node_t *places;	/* first search or expect key, for errors */
};

/* One entry of bases (m: its mapping) appended to l. */
int rcp_base_entry(struct rcp_ctx *c, yaml_node_t *m, struct rcp_bases *l);
/* One group of arbitrary (m: its mapping). Returns 1 for a group without
 * items that filters nothing (AND pertinent, OR irrelevant: the caller
 * drops it); one without items that would stop every detection is
 * refused. */
int rcp_group(struct rcp_ctx *c, yaml_node_t *m, struct rcp_group *g);

/* --- recipe_load.c: the names rcp_mech_name() and rcp_times_name() give ----------- */
extern const char *const rcp_mech_names[RCP_MECH_MAX];
extern const char *const rcp_times_names[RCP_T_MAX];
/* indexed by enum jb_tamper_class; [0] is NULL */
extern const char *const rcp_tamper_names[JB_TAMPER_CLASS_MAX];

/* --- recipe_parse.c ------------------------------------------------------------------ */
/* The name of key i of the recipe table, NULL past the last (for tests). */
const char *rcp_key_name(size_t i);
/* One recipe (m: its mapping) into r. */
int rcp_parse_recipe(struct rcp_ctx *c, yaml_node_t *m, struct recipe *r);

#endif
