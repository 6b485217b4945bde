/*
 * arbitrary.c - a recipe's process filters: groups {how, which, items} of
 * items {what, which, pattern | number(s) | cidr, when} (RECIPES.md).
 *
 * Invariants:
 *  - an item has exactly one value kind, and the one its field needs:
 *    numbers for uid, pid, ppid, domain_entropy and remote_port, a CIDR for
 *    remote_ip, a pattern for every other (text) field.
 *  - a group has an items key; how defaults to all (AND). A group whose
 *    items are empty (items: [] or nothing) is true for AND, false for OR:
 *    one that therefore filters nothing is dropped, one that would stop
 *    every detection is refused.
 *  - time items are refused (not supported yet).
 */
#include <string.h>

#include "rcp/load.h"

static const char *const what_names[RCP_W_MAX] = {
	"exe",	      "comm",	    "args",	     "uid",	       "pid",
	"ppid",	      "parent_exe", "parent_comm",   "parent_args",   "task_or_parent_exe",
	"ancient_exe", "file",	    "domain",	     "domain_entropy", "remote_port",
	"remote_ip",  "env",	    "task_flags"};
/* "which" of an item and of a group alike: index 1, irrelevant, negates */
static const char *const which_names[] = {"pertinent", "irrelevant", NULL};

/* The length of NAME when pattern begins "^NAME=" with NAME literal (no
 * regex syntax) and short enough for the kernel to record, else 0. */
static size_t env_pattern_name(const char *pattern)
{
	size_t l = 0;

	if (pattern[0] != '^')
		return 0;
	while (pattern[1 + l] && !strchr("=\\.[]()*+?{}|^$", pattern[1 + l]))
		l++;
	return pattern[1 + l] == '=' && l < JB_ENV_NAME_MAX ? l : 0;
}

static int parse_item(struct rcp_ctx *c, yaml_node_t *m, struct rcp_item *it)
{
	int have_what = 0, have_which = 0, have_when = 0, tmp;
	const char *pattern = NULL;
	struct rcp_nums nums = {0};
	struct rcp_cidrs cidrs = {0};

	memset(it, 0, sizeof(*it));
	if (m->type != YAML_MAPPING_NODE)
		return rcp_fail(c, m,
				"each item must be a mapping {what, pattern|number|numbers|cidr}");
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		yaml_node_t *k = rcp_node(c, p->key), *v = rcp_node(c, p->value);
		const char *key = rcp_scalar(c, k, "key");
		if (!key)
			return -1;
		if (!strcmp(key, "what") && !have_what) {
			const char *w = rcp_scalar(c, v, "what");
			if (w && !strcmp(w, "cmd"))
				tmp = RCP_W_ARGS; /* RECIPES.md: cmd is args */
			else if (rcp_pick(c, v, "what", what_names, RCP_W_MAX, &tmp) < 0)
				return -1;
			it->what = (enum rcp_what)tmp;
			have_what = 1;
		} else if (!strcmp(key, "which") && !have_which) {
			if (rcp_pick(c, v, "which", which_names, 2, &it->negate) < 0)
				return -1;
			have_which = 1;
		} else if (!strcmp(key, "when") && !have_when) {
			static const char *const w[] = {"equal", "smaller", "bigger", NULL};
			if (rcp_pick(c, v, "when", w, 3, &tmp) < 0)
				return -1;
			it->when = (enum rcp_when)tmp;
			have_when = 1;
		} else if (!strcmp(key, "pattern") && !it->re) {
			const char *s = rcp_scalar(c, v, "pattern");
			if (!s || !(it->re = rcp_regex(c, v, s)))
				return -1;
			pattern = s;
		} else if ((!strcmp(key, "number") || !strcmp(key, "numbers")) && !nums.n) {
			if (rcp_each_elem(c, v, key, 0, rcp_elem_number, &nums) < 0)
				return -1;
		} else if (!strcmp(key, "cidr") && !cidrs.n) {
			if (rcp_each_elem(c, v, "cidr", 0, rcp_elem_cidr, &cidrs) < 0)
				return -1;
		} else if (!strcmp(key, "time")) {
			return rcp_fail(c, k, "time items are not supported yet");
		} else {
			return rcp_fail(c, k, "unknown or repeated key '%s' in an arbitrary item",
					key);
		}
	}
	if (!have_what)
		return rcp_fail(c, m, "arbitrary item without 'what'");
	if (!!it->re + !!nums.n + !!cidrs.n != 1)
		return rcp_fail(c, m,
				"an arbitrary item needs exactly one of pattern, number(s), cidr");
	int numeric = it->what == RCP_W_UID || it->what == RCP_W_PID || it->what == RCP_W_PPID ||
		      it->what == RCP_W_DOMAIN_ENTROPY || it->what == RCP_W_REMOTE_PORT;
	if (numeric && !nums.n)
		return rcp_fail(c, m, "'%s' is a number: use number or numbers",
				what_names[it->what]);
	if (it->what == RCP_W_REMOTE_IP && !cidrs.n)
		return rcp_fail(c, m, "remote_ip needs cidr");
	if (!numeric && it->what != RCP_W_REMOTE_IP && !it->re)
		return rcp_fail(c, m, "'%s' is text: use pattern", what_names[it->what]);
	if (it->what == RCP_W_ENV && pattern) {
		size_t l = env_pattern_name(pattern);
		if (l && !(it->env_name = rcp_dup(c, pattern + 1, l)))
			return rcp_fail(c, m, "out of memory");
	}
	it->nums = nums.v;
	it->nnums = nums.n;
	it->cidrs = cidrs.v;
	it->ncidrs = cidrs.n;
	return 0;
}

int rcp_group(struct rcp_ctx *c, yaml_node_t *m, struct rcp_group *g)
{
	int have_how = 0, have_which = 0, have_items = 0;
	struct rcp_item *items = NULL;
	size_t n = 0;

	memset(g, 0, sizeof(*g));
	g->all = 1;
	if (m->type != YAML_MAPPING_NODE)
		return rcp_fail(c, m, "each arbitrary group must be a mapping {how, which, items}");
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		yaml_node_t *k = rcp_node(c, p->key), *v = rcp_node(c, p->value);
		const char *key = rcp_scalar(c, k, "key");
		if (!key)
			return -1;
		if (!strcmp(key, "how") && !have_how) {
			if (rcp_get_how(c, v, "how", &g->all) < 0)
				return -1;
			have_how = 1;
		} else if (!strcmp(key, "which") && !have_which) {
			if (rcp_pick(c, v, "which", which_names, 2, &g->irrelevant) < 0)
				return -1;
			have_which = 1;
		} else if (!strcmp(key, "items") && !have_items) {
			have_items = 1;
			if (rcp_is_null(v))
				continue; /* "items:" alone: none */
			if (v->type != YAML_SEQUENCE_NODE)
				return rcp_fail(c, v, "items must be a list");
			for (yaml_node_item_t *it = v->data.sequence.items.start;
			     it < v->data.sequence.items.top; it++) {
				items = rcp_grow(c, items, n, sizeof(*items));
				if (!items)
					return rcp_fail(c, v, "out of memory");
				if (parse_item(c, rcp_node(c, *it), &items[n++]) < 0)
					return -1;
			}
		} else {
			return rcp_fail(c, k, "unknown or repeated key '%s' in an arbitrary group",
					key);
		}
	}
	if (!have_items) /* a typo'd or forgotten key, not an empty list */
		return rcp_fail(c, m, "arbitrary group without items");
	if (!n) {
		/* every one of no items holds, none of them matches: an empty
		 * AND is true, an empty OR false. A pertinent AND or an
		 * irrelevant OR then filters nothing (the original's
		 * global_shlib_modification has "how: AND, which: pertinent,
		 * items: []"); the other two would silently stop every
		 * detection of the recipe */
		if (g->all != g->irrelevant)
			return 1;
		return rcp_fail(c, m, "arbitrary group without items and with how: %s, which: %s "
				"would stop every detection of the recipe (give it items, or "
				"drop it)", g->all ? "AND" : "OR",
				g->irrelevant ? "irrelevant" : "pertinent");
	}
	g->items = items;
	g->nitems = n;
	return 0;
}
