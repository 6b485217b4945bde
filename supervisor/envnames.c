/*
 * envnames.c - which environment variables the kernel records: the names
 * the loaded recipes read (env_vars lists, "^NAME=" env items), handed to
 * the kernel (jb_env_names, jb_env_pre: loader.c jb_bpf_env_names) before
 * the programs attach and again on each reload; and the kernel's keep rule
 * for back-fill, which reads /proc/PID/environ instead of exec's area.
 *
 * Invariants:
 *  - the set depends on the enabled recipes only, and is sorted and
 *    distinct, so two sets compare entry by entry.
 *  - jb_env_keep() keeps exactly what bpf/jibril.bpf.c fill_env() keeps
 *    from the same bytes: the same names, order, bound and cut rule.
 *  - an env item whose pattern names no variable is loaded (the recipe
 *    format allows any regex) but said in the log: it only ever sees
 *    variables that some other recipe names.
 */
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "rcp/recipe.h"
#include "supervisor/envnames.h"

static int cmp_name(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct jb_env_name));
}

static int add(struct sup_envnames *n, size_t *cap, const char *name)
{
	size_t l = strlen(name);

	if (!l || l >= JB_ENV_NAME_MAX || memchr(name, '=', l))
		return 0; /* the parser refuses these: not a name the kernel can match */
	if (n->n == *cap) {
		size_t c = *cap ? *cap * 2 : 16;
		struct jb_env_name *v = realloc(n->v, c * sizeof(*v));
		if (!v)
			return -1;
		n->v = v;
		*cap = c;
	}
	memset(&n->v[n->n], 0, sizeof(n->v[n->n]));
	memcpy(n->v[n->n].name, name, l);
	n->n++;
	return 0;
}

int sup_envnames_derive(const struct rcp_set *set, struct sup_envnames *out)
{
	size_t cap = 0, k = 0;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; set && i < set->n; i++) {
		const struct recipe *r = &set->r[i];

		if (!r->enabled)
			continue;
		for (size_t e = 0; r->mech == RCP_ENV_VARS && e < r->nenv_names; e++)
			if (add(out, &cap, r->env_names[e]) < 0)
				goto oom;
		for (size_t g = 0; g < r->ngroups; g++)
			for (size_t j = 0; j < r->groups[g].nitems; j++) {
				const struct rcp_item *it = &r->groups[g].items[j];

				if (it->what != RCP_W_ENV)
					continue;
				if (!it->env_name) {
					log_warnx("recipe %s (%s:%d): an env item's pattern does not "
						  "begin with ^NAME=: the kernel records only the "
						  "variables recipes name, so it sees only those",
						  r->kind, r->source, r->line);
					continue;
				}
				if (add(out, &cap, it->env_name) < 0)
					goto oom;
			}
	}
	if (out->n)
		qsort(out->v, out->n, sizeof(*out->v), cmp_name);
	for (size_t i = 0; i < out->n; i++)
		if (!k || cmp_name(&out->v[k - 1], &out->v[i]))
			out->v[k++] = out->v[i];
	out->n = k;
	if (out->n > JB_ENV_NAMES_MAX) {
		log_warnx("recipes name %zu environment variables; the kernel records %d of them "
			  "(the first by name): the rest are never seen",
			  out->n, JB_ENV_NAMES_MAX);
		out->n = JB_ENV_NAMES_MAX;
	}
	return 0;
oom:
	sup_envnames_free(out);
	return -1;
}

void sup_envnames_free(struct sup_envnames *n)
{
	free(n->v);
	n->v = NULL;
	n->n = 0;
}

int sup_envnames_has(const struct sup_envnames *n, const char *name, size_t len)
{
	struct jb_env_name key;

	if (!n || !len || len >= JB_ENV_NAME_MAX)
		return 0;
	memset(&key, 0, sizeof(key));
	memcpy(key.name, name, len);
	return n->n && bsearch(&key, n->v, n->n, sizeof(*n->v), cmp_name) != NULL;
}

uint32_t sup_envnames_prebit(const char *name)
{
	unsigned char b0 = (unsigned char)name[0], b1 = (unsigned char)name[1];

	return b0 | (uint32_t)(b1 ? b1 : '=') << 8;
}

int jb_env_keep(const char *env, size_t len, const struct sup_envnames *names, char *out,
		uint32_t *out_len)
{
	size_t used = 0, i = 0, scan = len;
	int cut = 0;

	memset(out, 0, JB_ENV_LEN);
	/* the kernel's scan starts at the byte before the block (the NUL
	 * that ends argv): JB_ENV_SCAN counts it */
	if (len >= JB_ENV_SCAN) {
		scan = JB_ENV_SCAN - 1;
		cut = 1;
	}
	while (i < scan) {
		size_t l = strnlen(env + i, len - i);
		const char *eq = memchr(env + i, '=', l);

		if (eq && sup_envnames_has(names, env + i, (size_t)(eq - (env + i)))) {
			if (used >= JB_ENV_LEN) {
				cut = 1;
				break;
			}
			if (used + l + 1 > JB_ENV_LEN) {
				memcpy(out + used, env + i, JB_ENV_LEN - 1 - used);
				out[JB_ENV_LEN - 1] = '\0';
				used = JB_ENV_LEN;
				cut = 1;
				break;
			}
			memcpy(out + used, env + i, l);
			out[used + l] = '\0';
			used += l + 1;
		}
		i += l + 1;
	}
	*out_len = (uint32_t)used;
	return cut;
}
