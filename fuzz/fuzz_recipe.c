/*
 * fuzz_recipe.c - libFuzzer target for the YAML recipe loader (rcp_load(),
 * through the public API of rcp/recipe.h only).
 *
 *   make fuzz; build/fuzz/fuzz_recipe -dict=fuzz/recipe.dict DIR  (a copy of fuzz/corpus/recipe)
 *
 * The input is one recipe source, "fuzz/input.yaml". If it holds a line
 * "#@list", what follows that line is the domain list any
 * remote_domains_file names (by its rcp_resolve()d name); else a fixed list.
 *
 * Besides "never crash" (and no leak, ASan's leak check), it checks:
 *  - a refused source yields "SOURCE:LINE: why" with LINE a line of it in
 *    libyaml's count (or the one after the last), or "LIST:LINE: why
 *    (listed from SOURCE)" for a bad domain list, and an empty set;
 *  - an accepted set keeps the loader's promises: kinds unique, event
 *    kinds 1..63 of a-z 0-9 _, a variant's kind KIND#N (N >= 2); required fields set; times kinds distinct, max 1..1000000;
 *    each mechanism's needs (bases, execve only, env names); bases, CIDRs,
 *    groups and items well formed; domains lower case and sorted;
 *    reactions labelled js#N or shell#N (N: their place); nothing
 *    "replaced" (there is no built-in source here);
 *  - what the supervisor accepts (worker NULL, nothing disabled) each worker
 *    accepts too, with its name and a kind disabled, as workers load it,
 *    and gets exactly the recipes of its mechanisms, with the same kinds
 *    (a variant's number too), every variant of the disabled kind off.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "fuzz/broken.h"
#include "common/kind.h"
#include "ipc/msg.h"
#include "rcp/recipe.h"

#define SRC "fuzz/input.yaml"

/* A property does not hold: say which, with the text it is about. */
static const char fixed_list[] = "# a list\nexample.com\nEvil.Example.ORG.\n\nzz.test # c\n";
static const char *list_data;
static size_t list_len;
static char list_name[4096];

static int file_fn(const char *from, const char *path, struct rcp_source *out, char *err,
		   size_t errlen, void *arg)
{
	/* as the supervisor's: a name that does not fit, or folds to nothing
	 * (which it cannot open), is no list */
	if (rcp_resolve(from, path, list_name, sizeof(list_name)) < 0 || !list_name[0]) {
		snprintf(err, errlen, "no such list");
		list_name[0] = '\0';
		return -1;
	}
	out->name = list_name;
	out->data = list_data;
	out->len = list_len;
	return 0;
}

/* Lines of a domain list: the loader splits it on '\n'. */
static size_t count_lines(const char *d, size_t n)
{
	size_t lines = 0;

	for (size_t i = 0; i < n; i++)
		lines += d[i] == '\n';
	return lines + (n > 0 && d[n - 1] != '\n');
}

/* The last line libyaml can name: YAML breaks lines at LF, CR, CRLF, and
 * the UTF-8 NEL, LS and PS, so a file of lone CRs has many lines; at the
 * end of the stream it ends an unterminated last line itself, so an error
 * there names the line after it. */
static size_t yaml_last_line(const char *d, size_t n)
{
	const unsigned char *u = (const unsigned char *)d;
	size_t breaks = 0, at = 0;	/* at: where the last line starts */

	for (size_t i = 0; i < n; i++) {
		if (u[i] == '\r' && i + 1 < n && u[i + 1] == '\n')
			i++;
		if (u[i] == '\r' || u[i] == '\n')
			breaks++;
		else if (u[i] == 0xc2 && i + 1 < n && u[i + 1] == 0x85)
			breaks++, i++;
		else if (u[i] == 0xe2 && i + 2 < n && u[i + 1] == 0x80 &&
			 (u[i + 2] == 0xa8 || u[i + 2] == 0xa9))
			breaks++, i += 2;
		else
			continue;
		at = i + 1;
	}
	return breaks + 1 + (at < n);
}

/* "NAME:LINE: " with 1 <= LINE <= max; returns what follows, or NULL. */
static const char *after_prefix(const char *err, const char *name, size_t max)
{
	size_t len = strlen(name);
	unsigned long line;
	char *end;

	if (strncmp(err, name, len) || err[len] != ':' || err[len + 1] < '1' || err[len + 1] > '9')
		return NULL;
	line = strtoul(err + len + 1, &end, 10);
	if (end[0] != ':' || end[1] != ' ' || line > max)
		return NULL;
	return end + 2;
}

static void check_error(const char *err, size_t src_lines)
{
	const char *rest;

	if (after_prefix(err, SRC, src_lines))
		return;
	rest = after_prefix(err, list_name, count_lines(list_data, list_len));
	if (list_name[0] && rest && strstr(rest, "(listed from " SRC ")"))
		return;
	broken("an error without SOURCE:LINE or LIST:LINE: %s", err);
}

static int kind_ok(const char *k)
{
	size_t n = k ? strlen(k) : 0;

	return n >= 1 && n <= 63 && strspn(k, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

static void check_cidrs(const struct rcp_cidr *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((v[i].family == AF_INET && v[i].bits <= 32) ||
		      (v[i].family == AF_INET6 && v[i].bits <= 128)))
			abort();
}

static void check_recipe(const struct rcp_set *set, size_t idx, size_t src_lines)
{
	const struct recipe *r = &set->r[idx];

	size_t ek = r->event_kind ? strlen(r->event_kind) : 0;

	/* kind: the event kind, or for a variant "KIND#N" (N >= 2) */
	if (!kind_ok(r->event_kind) || strncmp(r->kind, r->event_kind, ek) ||
	    (r->kind[ek] && (r->kind[ek] != '#' || r->kind[ek + 1] < '2' ||
			     strspn(r->kind + ek + 1, "0123456789") != strlen(r->kind + ek + 1))) ||
	    strlen(r->kind) > RCP_KIND_MAX || !r->name || !r->tactic || !r->technique || !r->importance ||
	    !r->breed || !r->version || !r->description || !r->documentation ||
	    !r->subtechnique || !r->source || strcmp(r->source, SRC) || r->line < 1 ||
	    (size_t)r->line > src_lines || r->mech >= RCP_MECH_MAX ||
	    (r->enabled != 0 && r->enabled != 1) || r->ntimes > RCP_T_MAX)
		abort();
	for (size_t j = 0; j < idx; j++)
		if (!strcmp(set->r[j].kind, r->kind))
			abort();
	if (rcp_find(set, r->kind) != r)
		abort();
	/* one source of the operator's: nothing replaced; reactions are
	 * labelled FORMAT#PLACE */
	if (r->replaces)
		broken("recipe %s replaces %s with nothing built in", r->kind, r->replaces);
	for (size_t i = 0; i < r->nreactions; i++) {
		char want[2][32];
		snprintf(want[0], sizeof(want[0]), "js#%zu", i + 1);
		snprintf(want[1], sizeof(want[1]), "shell#%zu", i + 1);
		if (!r->reactions[i] || (strcmp(r->reactions[i], want[0]) &&
					 strcmp(r->reactions[i], want[1])))
			broken("recipe %s: reaction %zu labelled '%s'", r->kind, i + 1,
			       r->reactions[i] ? r->reactions[i] : "(null)");
	}
	for (size_t i = 0; i < r->ntimes; i++) {
		if (r->times[i].kind >= RCP_T_MAX || r->times[i].max < 1 ||
		    r->times[i].max > 1000000)
			abort();
		for (size_t j = 0; j < i; j++)
			if (r->times[j].kind == r->times[i].kind)
				abort();
	}
	switch (r->mech) {
	case RCP_FILE_ACCESS:
		if (!r->nbases || !r->actions || r->ndomains || r->nenv_names || r->tamper_classes)
			abort();
		break;
	case RCP_EXECUTION:
		if (r->actions != JB_ACT_EXEC || (!r->nbases && !r->ngroups) || r->ndomains ||
		    r->nenv_names)
			abort();
		break;
	case RCP_NETWORK_PEERS:
		if (r->nbases || r->nenv_names)
			abort();
		break;
	case RCP_ENV_VARS:
		if (!r->nenv_names || r->nbases || r->ndomains)
			abort();
		break;
	case RCP_TAMPER:
		/* classes 1..JB_TAMPER_CLASS_MAX-1 only, and nothing of the others */
		if (!r->tamper_classes || (r->tamper_classes & ~(((1u << JB_TAMPER_CLASS_MAX) - 1) & ~1u)) ||
		    r->nbases || r->ndomains || r->nenv_names)
			abort();
		break;
	default:
		abort();
	}
	for (size_t i = 0; i < r->nbases; i++) {
		const struct rcp_base *b = &r->bases[i];
		size_t dl = b->dir ? strlen(b->dir) : 0;

		if ((!b->base && !b->dir && !b->re) || (b->base && (!*b->base || strchr(b->base, '/'))) ||
		    (b->dir && (b->dir[0] != '/' || (dl > 1 && b->dir[dl - 1] == '/'))))
			abort();
	}
	check_cidrs(r->local_cidrs, r->nlocal_cidrs);
	check_cidrs(r->remote_cidrs, r->nremote_cidrs);
	for (size_t i = 0; i < r->ndomains; i++) {
		const char *d = r->domains[i];
		size_t n = strlen(d);

		if (n < 1 || n > 253 || d[n - 1] == '.' ||
		    strspn(d, "abcdefghijklmnopqrstuvwxyz0123456789-._") != n ||
		    (i && strcmp(r->domains[i - 1], d) > 0))
			abort();
	}
	for (size_t i = 0; i < r->nenv_names; i++)
		if (!r->env_names[i][0] || strchr(r->env_names[i], '='))
			abort();
	for (size_t g = 0; g < r->ngroups; g++) {
		if (!r->groups[g].nitems)
			abort();
		for (size_t i = 0; i < r->groups[g].nitems; i++) {
			const struct rcp_item *it = &r->groups[g].items[i];

			if (it->what >= RCP_W_MAX || !!it->re + !!it->nnums + !!it->ncidrs != 1)
				abort();
			check_cidrs(it->cidrs, it->ncidrs);
		}
	}
	/* the compiled regexes and bases are usable */
	rcp_match_bases(r, "/etc/shadow");
	rcp_match_bases(r, "");
}

/* The workers are the worker rows of the kind table (supervisor/kinds.c):
 * rcp_load keeps the recipes of a row's mechanisms. */
#define FILTER(wk) ((wk)->mechs)

static int runs(const struct jb_kind *wk, enum rcp_mech m)
{
	return (wk->mechs >> m) & 1;
}

/* The worker's set: exactly the supervisor's recipes of its mechanisms. */
static void check_worker(const struct rcp_set *all, const struct jb_kind *wk, const char *src,
			 size_t len)
{
	struct rcp_source s = { SRC, src, len };
	const char *disabled[] = { all->r[all->n - 1].event_kind, NULL };
	struct rcp_set w;
	char err[512];
	size_t k = 0;

	if (rcp_load(&w, &s, 1, disabled, FILTER(wk), file_fn, NULL, err, sizeof(err)) < 0)
		broken("the supervisor accepts what worker %s refuses: %s", wk->name, err);
	for (size_t i = 0; i < all->n; i++) {
		const struct recipe *a = &all->r[i];

		if (!runs(wk, a->mech))
			continue;
		if (k >= w.n || strcmp(w.r[k].kind, a->kind) || w.r[k].line != a->line ||
		    w.r[k].mech != a->mech ||
		    w.r[k].enabled != (a->enabled && strcmp(a->event_kind, disabled[0]) != 0))
			broken("worker %s: recipe %s differs from the supervisor's", wk->name,
			       a->kind);
		k++;
	}
	if (k != w.n)
		broken("worker %s keeps %zu recipes, not %zu", wk->name, w.n, k);
	rcp_set_free(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *src = (const char *)data, *mark;
	size_t len = size, src_lines;
	struct rcp_source s;
	struct rcp_set set;
	/* room for a list name as long as rcp_resolve makes (4096) and its
	 * message: the "LIST:LINE:" promise is checked, not the truncation */
	static char err[8192];

	list_data = fixed_list;
	list_len = sizeof(fixed_list) - 1;
	list_name[0] = '\0';
	mark = memmem(src, size, "\n#@list\n", 8);
	if (mark) {
		len = (size_t)(mark - src) + 1;
		list_data = mark + 8;
		list_len = size - len - 7;
	}
	src_lines = yaml_last_line(src, len);
	s = (struct rcp_source){ SRC, src, len };
	/* as the supervisor loads: nothing disabled, every worker's recipes (0) */
	if (rcp_load(&set, &s, 1, NULL, 0, file_fn, NULL, err, sizeof(err)) < 0) {
		check_error(err, src_lines);
		if (set.n || set.r || set.arena)
			abort();
		return 0;
	}
	for (size_t i = 0; i < set.n; i++)
		check_recipe(&set, i, src_lines);
	if (set.n)
		for (size_t i = 0; i < jb_nkinds; i++)
			if (jb_kinds[i].role == IPC_ROLE_WORKER)
				check_worker(&set, &jb_kinds[i], src, len);
	rcp_set_free(&set);
	return 0;
}
