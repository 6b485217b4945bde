/*
 * recipe_parse.c - one recipe of a YAML recipe file (the format of the
 * original Jibril agent, ../shared/RECIPES.md; how jibril reads it:
 * docs/DETECTIONS.md) into a struct recipe.
 *
 * recipe_keys[] has one row per key a recipe may hold: its name, the
 * handler that reads its value, the mechanisms that may use it and whether
 * it is required. Reading a recipe is one walk over its mapping that looks
 * each key up in the table; the checks that involve several keys come
 * after the walk.
 *
 * Invariants:
 *  - strict: a key not in the table, or given twice, is refused at its
 *    line; so is a value of the wrong type or an unknown name.
 *  - a key used by a mechanism other than the recipe's is refused, unless
 *    it says nothing (an empty list of bases, addresses, names or
 *    variables).
 *  - the top-level base/dir/regex shorthand is one bases entry, read after
 *    every other key (its errors come after theirs).
 *  - what a recipe points to lives in the load's arena.
 */
#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "rcp/load.h"

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

static const char *const breeds[] = {"file_access", "execution",  "remote_domains", "remote_cidrs",
				     "remote_ips",  "env_vars", "tamper", NULL};
static const char *const importances[] = {"low", "medium", "high", "critical", NULL};

/* Mechanisms that may use a key. */
#define M(m) (1u << (m))
#define M_FILE (M(RCP_FILE_ACCESS) | M(RCP_EXECUTION))
#define M_NET M(RCP_NETWORK_PEERS)
#define M_ENV M(RCP_ENV_VARS)
#define M_TAMPER M(RCP_TAMPER)
#define M_ALL (M(RCP_MECH_MAX) - 1)
/* What the keys a mechanism may not use are called in its error. */
static const char *const foreign_keys[RCP_MECH_MAX] = {
	[RCP_FILE_ACCESS] = "network, env_vars or tamper",
	[RCP_EXECUTION] = "network, env_vars or tamper",
	[RCP_NETWORK_PEERS] = "file, env_vars or tamper",
	[RCP_ENV_VARS] = "file, network or tamper",
	[RCP_TAMPER] = "file, network or env_vars"};

/* The tamper classes by name (rcp_tamper_names), and "any". */
#define ALL_TAMPER (((1u << JB_TAMPER_CLASS_MAX) - 1) & ~1u)

/* A recipe being read: the recipe, and what its keys gather before the
 * checks that involve several of them. */
struct draft {
	struct recipe r;
	unsigned foreign;		/* mechanisms some key said something they cannot use */
	struct rcp_bases bases;
	struct rcp_cidrs lc, rc;
	struct rcp_strs doms, envs;
	struct rcp_group *groups;
	uint32_t excl, fexcl;		/* file_actions_excl, flow_actions_excl */
	const yaml_node_t *tamper_key;	/* tamper, for its error line */
	const yaml_node_t *actions_key;	/* file_actions, for its error line */
	int trie_given;
	const yaml_node_pair_t *pair;	/* the key being read */
	yaml_node_pair_t short_pairs[3];	/* top-level base, dir, regex */
	size_t nshort;
};

struct recipe_key;
/* Reads the value v of key k into d. Returns -1 (error written), or 1 when
 * the value says something, 0 when it is an empty list. */
typedef int (*key_fn)(struct rcp_ctx *c, struct draft *d, const struct recipe_key *k,
		      yaml_node_t *v);

struct recipe_key {
	const char *name;
	key_fn fn;
	size_t off;		/* offsetof(struct draft, field) the handler fills */
	unsigned mechs;		/* M(): mechanisms that may use it */
	int required;
};

#define FIELD(d, k, type) ((type *)(void *)((char *)(d) + (k)->off))

/* --- handlers ----------------------------------------------------------------- */
static int key_text(struct rcp_ctx *c, struct draft *d, const struct recipe_key *k, yaml_node_t *v)
{
	const char *s = rcp_scalar(c, v, k->name);
	if (!s)
		return -1;
	*FIELD(d, k, const char *) = s;
	return 1;
}

static int key_kind(struct rcp_ctx *c, struct draft *d, const struct recipe_key *k, yaml_node_t *v)
{
	if (key_text(c, d, k, v) < 0)
		return -1;
	const char *s = d->r.kind;
	size_t l = strlen(s);
	if (!l || l >= 64)
		return rcp_fail(c, v, "kind must be 1..63 characters");
	for (const char *q = s; *q; q++)
		if (!islower((unsigned char)*q) && !isdigit((unsigned char)*q) && *q != '_')
			return rcp_fail(c, v, "kind '%s' may hold only a-z, 0-9 and _", s);
	return 1;
}

static int key_bool(struct rcp_ctx *c, struct draft *d, const struct recipe_key *k, yaml_node_t *v)
{
	return rcp_get_bool(c, v, k->name, FIELD(d, k, int)) < 0 ? -1 : 1;
}

static int key_breed(struct rcp_ctx *c, struct draft *d, const struct recipe_key *k, yaml_node_t *v)
{
	int i;
	if (rcp_pick(c, v, "breed", breeds, 7, &i) < 0)
		return -1;
	d->r.breed = breeds[i];
	return 1;
}

static int key_mechanism(struct rcp_ctx *c, struct draft *d, const struct recipe_key *k,
			 yaml_node_t *v)
{
	int i;
	if (rcp_pick(c, v, "mechanism", rcp_mech_names, RCP_MECH_MAX, &i) < 0)
		return -1;
	d->r.mech = (enum rcp_mech)i;
	return 1;
}

static int key_importance(struct rcp_ctx *c, struct draft *d, const struct recipe_key *k,
			  yaml_node_t *v)
{
	int i;
	if (rcp_pick(c, v, "importance", importances, 4, &i) < 0)
		return -1;
	d->r.importance = importances[i];
	return 1;
}

static int key_times(struct rcp_ctx *c, struct draft *d, const struct recipe_key *k, yaml_node_t *v)
{
	struct recipe *r = &d->r;

	if (rcp_is_null(v))
		return 0; /* "times:" alone, as in the original's recipes: no limit */
	if (v->type != YAML_SEQUENCE_NODE)
		return rcp_fail(c, v, "times must be a list of {kind, max}");
	for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
	     it++) {
		yaml_node_t *m = rcp_node(c, *it);
		int kind = -1;
		int64_t max = -1;

		if (m->type != YAML_MAPPING_NODE)
			return rcp_fail(c, m, "each times entry must be a mapping {kind, max}");
		for (yaml_node_pair_t *p = m->data.mapping.pairs.start;
		     p < m->data.mapping.pairs.top; p++) {
			yaml_node_t *key = rcp_node(c, p->key), *val = rcp_node(c, p->value);
			const char *name = rcp_scalar(c, key, "key");
			if (!name)
				return -1;
			if (!strcmp(name, "kind") && kind < 0) {
				if (rcp_pick(c, val, "times kind", rcp_times_names, RCP_T_MAX,
					     &kind) < 0)
					return -1;
			} else if (!strcmp(name, "max") && max < 0) {
				if (rcp_get_int(c, val, "max", 1, 1000000, &max) < 0)
					return -1;
			} else {
				return rcp_fail(c, key, "unknown or repeated key '%s' in times",
						name);
			}
		}
		if (kind < 0 || max < 0)
			return rcp_fail(c, m, "times entry needs kind and max");
		for (size_t i = 0; i < r->ntimes; i++)
			if ((int)r->times[i].kind == kind)
				return rcp_fail(c, m, "%s listed twice", rcp_times_names[kind]);
		r->times[r->ntimes].kind = (enum rcp_times_kind)kind;
		r->times[r->ntimes].max = (uint32_t)max;
		r->ntimes++;
	}
	return 1;
}

static int elem_action(struct rcp_ctx *c, yaml_node_t *n, const char *s, void *arg)
{
	for (size_t i = 0; i < sizeof(action_names) / sizeof(action_names[0]); i++)
		if (!strcmp(s, action_names[i].name)) {
			*(uint32_t *)arg |= action_names[i].bits;
			return 0;
		}
	return rcp_fail(c, n, "unknown file action '%s'", s);
}

static int elem_flow_action(struct rcp_ctx *c, yaml_node_t *n, const char *s, void *arg)
{
	for (size_t i = 0; i < sizeof(flow_action_names) / sizeof(flow_action_names[0]); i++)
		if (!strcmp(s, flow_action_names[i].name)) {
			*(uint32_t *)arg |= flow_action_names[i].bit;
			return 0;
		}
	return rcp_fail(c, n, "unknown flow action '%s'", s);
}

/* file_actions_excl (a mask of its own, removed at the end) */
static int key_actions(struct rcp_ctx *c, struct draft *d, const struct recipe_key *k,
		       yaml_node_t *v)
{
	return rcp_each_elem(c, v, k->name, 1, elem_action, FIELD(d, k, uint32_t)) < 0 ? -1 : 1;
}

static int key_file_actions(struct rcp_ctx *c, struct draft *d, const struct recipe_key *k,
			    yaml_node_t *v)
{
	if (key_actions(c, d, k, v) < 0)
		return -1;
	if (!d->r.actions) /* '', [] or '|': never "any" by accident */
		return rcp_fail(c, v, "file_actions is empty (omit it, or write any)");
	d->actions_key = rcp_node(c, d->pair->key);
	return 1;
}

static int key_flow_actions(struct rcp_ctx *c, struct draft *d, const struct recipe_key *k,
			    yaml_node_t *v)
{
	uint32_t *mask = FIELD(d, k, uint32_t);

	return rcp_each_elem(c, v, k->name, 1, elem_flow_action, mask) < 0 ? -1 : 1;
}

static int key_how(struct rcp_ctx *c, struct draft *d, const struct recipe_key *k, yaml_node_t *v)
{
	return rcp_get_how(c, v, k->name, FIELD(d, k, int)) < 0 ? -1 : 1;
}

static int key_bases(struct rcp_ctx *c, struct draft *d, const struct recipe_key *k, yaml_node_t *v)
{
	if (v->type != YAML_SEQUENCE_NODE)
		return rcp_fail(c, v, "bases must be a list of {base, dir, regex}");
	for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
	     it++)
		if (rcp_base_entry(c, rcp_node(c, *it), &d->bases) < 0)
			return -1;
	return v->data.sequence.items.top > v->data.sequence.items.start;
}

/* base, dir or regex at the top level: kept for one entry read at the end */
static int key_shorthand(struct rcp_ctx *c, struct draft *d, const struct recipe_key *k,
			 yaml_node_t *v)
{
	d->short_pairs[d->nshort++] = *d->pair;
	return 1;
}

static int key_protocol(struct rcp_ctx *c, struct draft *d, const struct recipe_key *k,
			yaml_node_t *v)
{
	static const char *const protos[] = {"tcp", "udp", "icmp", NULL};
	static const int nums[] = {6, 17, 1};
	int i;

	if (rcp_pick(c, v, "protocol", protos, 3, &i) < 0)
		return -1;
	d->r.proto = nums[i];
	return 1;
}

static int key_cidrs(struct rcp_ctx *c, struct draft *d, const struct recipe_key *k, yaml_node_t *v)
{
	struct rcp_cidrs *l = FIELD(d, k, struct rcp_cidrs);
	size_t before = l->n;

	if (rcp_each_elem(c, v, k->name, 0, rcp_elem_cidr, l) < 0)
		return -1;
	return l->n > before;
}

static int key_port(struct rcp_ctx *c, struct draft *d, const struct recipe_key *k, yaml_node_t *v)
{
	int64_t port;

	if (rcp_get_int(c, v, k->name, 0, 65535, &port) < 0)
		return -1;
	*FIELD(d, k, uint16_t) = (uint16_t)port;
	return 1;
}

static int key_domains(struct rcp_ctx *c, struct draft *d, const struct recipe_key *k,
		       yaml_node_t *v)
{
	size_t before = d->doms.n;

	if (rcp_each_elem(c, v, k->name, 0, rcp_elem_domain, &d->doms) < 0)
		return -1;
	return d->doms.n > before;
}

static int key_domains_file(struct rcp_ctx *c, struct draft *d, const struct recipe_key *k,
			    yaml_node_t *v)
{
	size_t before = d->doms.n;
	const char *s = rcp_scalar(c, v, k->name);

	if (!s || rcp_domain_file(c, v, s, &d->doms) < 0)
		return -1;
	return d->doms.n > before;
}

static int key_trie(struct rcp_ctx *c, struct draft *d, const struct recipe_key *k, yaml_node_t *v)
{
	static const char *const t[] = {"exact", "suffix", "prefix", NULL};
	int i;

	if (d->trie_given) /* remote_domains_trie_type and its other name */
		return rcp_fail(c, rcp_node(c, d->pair->key),
				"the trie type is given twice (remote_domains_trie_type and "
				"remote_domains_type are one key)");

	if (rcp_pick(c, v, "trie type", t, 3, &i) < 0)
		return -1;
	d->r.trie = (enum rcp_trie)i;
	d->trie_given = 1;
	return 1;
}

static int key_env_vars(struct rcp_ctx *c, struct draft *d, const struct recipe_key *k,
			yaml_node_t *v)
{
	if (rcp_each_elem(c, v, k->name, 0, rcp_elem_env, &d->envs) < 0)
		return -1;
	return d->envs.n > 0;
}

static int key_env_cut(struct rcp_ctx *c, struct draft *d, const struct recipe_key *k,
		       yaml_node_t *v)
{
	static const char *const t[] = {"ignore", "also", "only", NULL};
	int i;

	if (rcp_pick(c, v, k->name, t, 3, &i) < 0)
		return -1;
	d->r.env_cut = (enum rcp_env_cut)i;
	return 1;
}

static int key_arbitrary(struct rcp_ctx *c, struct draft *d, const struct recipe_key *k,
			 yaml_node_t *v)
{
	struct recipe *r = &d->r;

	if (rcp_is_null(v))
		return 0; /* "arbitrary:" alone: no filter */
	if (v->type != YAML_SEQUENCE_NODE)
		return rcp_fail(c, v, "arbitrary must be a list of groups");
	for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
	     it++) {
		int rc;
		d->groups = rcp_grow(c, d->groups, r->ngroups, sizeof(*d->groups));
		if (!d->groups)
			return rcp_fail(c, v, "out of memory");
		rc = rcp_group(c, rcp_node(c, *it), &d->groups[r->ngroups]);
		if (rc < 0)
			return -1;
		if (rc == 0) /* 1: filters nothing, dropped */
			r->ngroups++;
	}
	return 1;
}

static int elem_tamper(struct rcp_ctx *c, yaml_node_t *n, const char *s, void *arg)
{
	if (!strcmp(s, "any")) {
		*(uint32_t *)arg |= ALL_TAMPER;
		return 0;
	}
	for (uint32_t i = 1; i < JB_TAMPER_CLASS_MAX; i++)
		if (!strcmp(s, rcp_tamper_names[i])) {
			*(uint32_t *)arg |= 1u << i;
			return 0;
		}
	return rcp_fail(c, n, "unknown tamper class '%s'", s);
}

_Static_assert(JB_TAMPER_CLASS_MAX == 8, "the error below names every tamper class");

/* tamper: which classes of jb_tamper records the recipe is about */
static int key_tamper(struct rcp_ctx *c, struct draft *d, const struct recipe_key *k,
		      yaml_node_t *v)
{
	if (rcp_each_elem(c, v, k->name, 1, elem_tamper, &d->r.tamper_classes) < 0)
		return -1;
	d->tamper_key = rcp_node(c, d->pair->key);
	return d->r.tamper_classes != 0;
}

/*
 * reactions: a list of {format: js|shell, code} (the original runs each on
 * every detection). jibril does not run them yet; each is labelled
 * "FORMAT#N" so the load's log and every event can say which were not run.
 */
static int key_reactions(struct rcp_ctx *c, struct draft *d, const struct recipe_key *k,
			 yaml_node_t *v)
{
	static const char *const formats[] = {"js", "shell", NULL};
	struct rcp_strs l = {0};

	if (rcp_is_null(v))
		return 0;
	if (v->type != YAML_SEQUENCE_NODE)
		return rcp_fail(c, v, "reactions must be a list of {format, code}");
	for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
	     it++) {
		yaml_node_t *m = rcp_node(c, *it);
		int format = -1, have_code = 0;
		char label[32];

		if (m->type != YAML_MAPPING_NODE)
			return rcp_fail(c, m, "each reaction must be a mapping {format, code}");
		for (yaml_node_pair_t *p = m->data.mapping.pairs.start;
		     p < m->data.mapping.pairs.top; p++) {
			yaml_node_t *key = rcp_node(c, p->key), *val = rcp_node(c, p->value);
			const char *name = rcp_scalar(c, key, "key");
			if (!name)
				return -1;
			if (!strcmp(name, "format") && format < 0) {
				if (rcp_pick(c, val, "reaction format", formats, 2, &format) < 0)
					return -1;
			} else if (!strcmp(name, "code") && !have_code) {
				if (!rcp_scalar(c, val, "code"))
					return -1;
				have_code = 1;
			} else {
				return rcp_fail(c, key, "unknown or repeated key '%s' in a reaction",
						name);
			}
		}
		if (format < 0 || !have_code)
			return rcp_fail(c, m, "a reaction needs format and code");
		snprintf(label, sizeof(label), "%s#%zu", formats[format], l.n + 1);
		l.v = rcp_grow(c, (void *)l.v, l.n, sizeof(*l.v));
		if (!l.v || !(l.v[l.n] = rcp_dup(c, label, strlen(label))))
			return rcp_fail(c, m, "out of memory");
		l.n++;
	}
	d->r.reactions = l.v;
	d->r.nreactions = l.n;
	return l.n > 0;
}

/* --- the table ------------------------------------------------------------------ */
#define AT(f) offsetof(struct draft, f)
#define REQUIRED 1

/* The required keys are reported missing in this order. */
static const struct recipe_key recipe_keys[] = {
	{"kind", key_kind, AT(r.kind), M_ALL, REQUIRED},
	{"name", key_text, AT(r.name), M_ALL, REQUIRED},
	{"enabled", key_bool, AT(r.enabled), M_ALL, 0},
	{"version", key_text, AT(r.version), M_ALL, 0},
	{"description", key_text, AT(r.description), M_ALL, 0},
	{"documentation", key_text, AT(r.documentation), M_ALL, 0},
	{"breed", key_breed, 0, M_ALL, 0},
	{"mechanism", key_mechanism, 0, M_ALL, REQUIRED},
	{"importance", key_importance, 0, M_ALL, REQUIRED},
	{"tactic", key_text, AT(r.tactic), M_ALL, REQUIRED},
	{"technique", key_text, AT(r.technique), M_ALL, REQUIRED},
	{"subtechnique", key_text, AT(r.subtechnique), M_ALL, 0},
	{"times", key_times, 0, M_ALL, 0},
	{"file_actions", key_file_actions, AT(r.actions), M_FILE, 0},
	{"file_actions_how", key_how, AT(r.actions_all), M_FILE, 0},
	{"file_actions_excl", key_actions, AT(excl), M_FILE, 0},
	{"bases", key_bases, 0, M_FILE, 0},
	{"base", key_shorthand, 0, M_FILE, 0},
	{"dir", key_shorthand, 0, M_FILE, 0},
	{"regex", key_shorthand, 0, M_FILE, 0},
	{"protocol", key_protocol, 0, M_NET, 0},
	{"local_cidrs", key_cidrs, AT(lc), M_NET, 0},
	{"remote_cidrs", key_cidrs, AT(rc), M_NET, 0},
	{"local_port", key_port, AT(r.local_port), M_NET, 0},
	{"remote_port", key_port, AT(r.remote_port), M_NET, 0},
	{"remote_domains", key_domains, 0, M_NET, 0},
	{"remote_domains_trie_type", key_trie, 0, M_NET, 0},
	{"remote_domains_type", key_trie, 0, M_NET, 0}, /* the original's other name */
	{"remote_domains_file", key_domains_file, 0, M_NET, 0},
	{"flow_actions", key_flow_actions, AT(r.flow_actions), M_NET, 0},
	{"flow_actions_how", key_how, AT(r.flow_actions_all), M_NET, 0},
	{"flow_actions_excl", key_flow_actions, AT(fexcl), M_NET, 0},
	{"env_vars", key_env_vars, 0, M_ENV, 0},
	{"env_vars_cut", key_env_cut, 0, M_ENV, 0},
	{"tamper", key_tamper, 0, M_TAMPER, 0},
	{"arbitrary", key_arbitrary, 0, M_ALL, 0},
	{"reactions", key_reactions, 0, M_ALL, 0},
};
#define NKEYS (sizeof(recipe_keys) / sizeof(recipe_keys[0]))

const char *rcp_key_name(size_t i) { return i < NKEYS ? recipe_keys[i].name : NULL; }

/* --- one recipe ------------------------------------------------------------------ */
/* What a recipe of its mechanism needs, once every key is read. */
static int check_mechanism(struct rcp_ctx *c, yaml_node_t *m, struct draft *d)
{
	struct recipe *r = &d->r;

	if (r->mech == RCP_FILE_ACCESS && !d->bases.n)
		return rcp_fail(c, m, "file_access recipe %s needs bases (which files)", r->kind);
	if (d->foreign & M(r->mech))
		return rcp_fail(c, m, "%s recipe %s has %s keys", rcp_mech_names[r->mech], r->kind,
				foreign_keys[r->mech]);
	switch (r->mech) {
	case RCP_FILE_ACCESS:
		if (!r->actions)
			r->actions = ALL_ACTIONS;
		break;
	case RCP_EXECUTION:
		if (d->bases.places)
			return rcp_fail(c, d->bases.places,
					"execution recipe %s: search and expect are for "
					"file_access recipes", r->kind);
		if (r->actions & ~A(B_EXEC))
			return rcp_fail(c, d->actions_key ? d->actions_key : m,
					"execution recipe %s: the only action is execve", r->kind);
		r->actions = A(B_EXEC);
		if (!d->bases.n && !r->ngroups)
			return rcp_fail(c, m, "execution recipe %s needs bases or arbitrary",
					r->kind);
		break;
	case RCP_NETWORK_PEERS:
		if (d->trie_given && !d->doms.n)
			return rcp_fail(c, m, "recipe %s: trie type without remote_domains",
					r->kind);
		if (!d->rc.n && !d->doms.n && !d->lc.n && !r->remote_port && !r->local_port &&
		    !r->ngroups)
			return rcp_fail(c, m, "network_peers recipe %s matches every flow",
					r->kind);
		break;
	case RCP_ENV_VARS:
		if (!d->envs.n)
			return rcp_fail(c, m, "env_vars recipe %s needs env_vars (variable names)",
					r->kind);
		break;
	case RCP_TAMPER:
		if (!r->tamper_classes)
			return rcp_fail(c, d->tamper_key ? d->tamper_key : m,
					"tamper recipe %s needs tamper (which classes: %s, %s, %s, "
					"%s, %s, %s, %s or any)", r->kind,
					rcp_tamper_names[1], rcp_tamper_names[2],
					rcp_tamper_names[3], rcp_tamper_names[4],
					rcp_tamper_names[5], rcp_tamper_names[6],
					rcp_tamper_names[7]);
		break;
	default:
		break;
	}
	r->actions &= ~d->excl;
	if ((r->mech == RCP_FILE_ACCESS || r->mech == RCP_EXECUTION) && !r->actions)
		return rcp_fail(c, m, "recipe %s: file_actions_excl removes every action", r->kind);
	r->flow_actions &= ~d->fexcl; /* none given: any flow */
	return 0;
}

int rcp_parse_recipe(struct rcp_ctx *c, yaml_node_t *m, struct recipe *out)
{
	const yaml_node_t *seen[NKEYS] = {0};
	struct draft d = {0};
	struct recipe *r = &d.r;

	r->source = c->src;
	r->line = (int)m->start_mark.line + 1;
	r->enabled = 1;
	r->subtechnique = "";
	r->documentation = "";
	r->description = "";
	r->version = "";
	if (m->type != YAML_MAPPING_NODE)
		return rcp_fail(c, m, "each recipe must be a mapping of keys");
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		yaml_node_t *k = rcp_node(c, p->key);
		const char *key = rcp_scalar(c, k, "key");
		size_t i;
		int said;

		if (!key)
			return -1;
		for (i = 0; i < NKEYS && strcmp(key, recipe_keys[i].name); i++)
			;
		if (i == NKEYS)
			return rcp_fail(c, k, "unknown key '%s'", key);
		if (seen[i])
			return rcp_fail(c, k, "key '%s' given twice (first on line %zu)", key,
					seen[i]->start_mark.line + 1);
		seen[i] = k;
		d.pair = p;
		said = recipe_keys[i].fn(c, &d, &recipe_keys[i], rcp_node(c, p->value));
		if (said < 0)
			return -1;
		if (said)
			d.foreign |= M_ALL & ~recipe_keys[i].mechs;
	}
	if (d.nshort) {
		/* top-level base/dir/regex: one entry, as if under bases */
		yaml_node_t fake;
		memset(&fake, 0, sizeof(fake));
		fake.type = YAML_MAPPING_NODE;
		fake.start_mark = rcp_node(c, d.short_pairs[0].key)->start_mark;
		fake.data.mapping.pairs.start = d.short_pairs;
		fake.data.mapping.pairs.top = d.short_pairs + d.nshort;
		if (rcp_base_entry(c, &fake, &d.bases) < 0)
			return -1;
	}
	for (size_t i = 0; i < NKEYS; i++)
		if (recipe_keys[i].required && !seen[i])
			return rcp_fail(c, m, "recipe %s lacks '%s'",
					r->kind ? r->kind : "(no kind)", recipe_keys[i].name);
	if (!r->breed)
		r->breed = r->mech == RCP_NETWORK_PEERS ? "remote_domains"
							: rcp_mech_names[r->mech];
	if (check_mechanism(c, m, &d) < 0)
		return -1;
	r->bases = d.bases.v;
	r->nbases = d.bases.n;
	r->local_cidrs = d.lc.v;
	r->nlocal_cidrs = d.lc.n;
	r->remote_cidrs = d.rc.v;
	r->nremote_cidrs = d.rc.n;
	rcp_sort_strs(&d.doms);
	r->domains = d.doms.v;
	r->ndomains = d.doms.n;
	r->env_names = d.envs.v;
	r->nenv_names = d.envs.n;
	r->groups = d.groups;
	*out = *r;
	return 0;
}
