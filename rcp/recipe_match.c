/*
 * recipe_match.c - evaluate one recipe against one candidate (a task and
 * the file it touched or executed, a flow and the names of its peer, or a
 * tamper record and its actor).
 *
 * Invariants:
 *  - pure: no I/O, no allocation except PCRE2 match data and context
 *    (created on first use and kept), no state between calls that changes
 *    an answer; each regex match is capped (match, depth and heap limits)
 *    against attacker-shaped subjects, and a capped match errs towards
 *    reporting: counted (rcp_match_limit_hits) and logged, rate-limited,
 *    with the recipe it happened in (the only I/O).
 *  - every walk is bounded: ancestry by RCP_ANCESTRY_MAX with a cycle check,
 *    names by what the caller passes, strings by their record fields.
 *  - a field that is not known (no task for an ingress flow, no parent)
 *    never matches a pattern, so an irrelevant group cannot be satisfied by
 *    missing data and a pertinent one cannot either (a tamper record's own
 *    comm, uid and pid stand in for its actor when the snapshot lacks the
 *    task).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "common/log.h"
#include "common/text.h"
#include "ipc/snapshot.h"
#include "rcp/recipe.h"
#include "rcp/task.h"

#define RCP_ANCESTRY_MAX 32

static pcre2_match_data *md;
static pcre2_match_context *mctx;

/* Subjects come from the kernel and may be an attacker's: a pattern that
 * backtracks badly must not stall the worker past its heartbeat, so the
 * work per match is capped: steps, backtracking depth and the heap its
 * frames may use (KiB). A capped match is undecided, never "no match":
 * see tri-state below. */
#define RCP_MATCH_LIMIT 100000
#define RCP_DEPTH_LIMIT 10000
#define RCP_HEAP_LIMIT_KIB 4096
#define RCP_LIMIT_LOG_NS (10 * 1000000000LL) /* one report line per 10 s at most */

/*
 * Tri-state: a regex test is 1 (matched), 0 (did not) or RE_UNDECIDED
 * (PCRE2 gave up: a limit, or no memory). Undecided must never quietly
 * become "no match" — an attacker who pads a path or an argument until a
 * pattern gives up would sidestep the recipe. group_match turns it into
 * the answer that lets the recipe report; a bases regex counts it as a
 * match. Each one is counted and reported (rate-limited, naming the
 * recipe) by limit_report.
 */
#define RE_UNDECIDED (-1)

static const struct recipe *cur;	/* the recipe being evaluated, for the report */
static uint64_t limit_hits, limit_unreported;
static int64_t limit_logged_ns;

uint64_t rcp_match_limit_hits(void) { return limit_hits; }

static void limit_report(int rc, size_t len)
{
	struct timespec ts;
	int64_t now;
	PCRE2_UCHAR why[96];

	limit_hits++;
	limit_unreported++;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
	if (limit_logged_ns && now - limit_logged_ns < RCP_LIMIT_LOG_NS)
		return;
	if (pcre2_get_error_message(rc, why, sizeof(why)) < 0)
		snprintf((char *)why, sizeof(why), "error %d", rc);
	log_warnx("recipe %s (%s:%d): a regex gave up on a subject of %zu bytes (%s); counted "
		  "towards reporting the detection (%llu such since the last report)",
		  cur ? cur->kind : "?", cur ? cur->source : "?", cur ? cur->line : 0, len,
		  (const char *)why, (unsigned long long)limit_unreported);
	limit_logged_ns = now;
	limit_unreported = 0;
}

static int re_match(void *re, const char *s, size_t len)
{
	int rc;

	if (!md && !(md = pcre2_match_data_create(16, NULL))) {
		limit_report(PCRE2_ERROR_NOMEMORY, len);
		return RE_UNDECIDED;
	}
	if (!mctx) {
		if (!(mctx = pcre2_match_context_create(NULL))) {
			limit_report(PCRE2_ERROR_NOMEMORY, len);
			return RE_UNDECIDED;
		}
		pcre2_set_match_limit(mctx, RCP_MATCH_LIMIT);
		pcre2_set_depth_limit(mctx, RCP_DEPTH_LIMIT);
		pcre2_set_heap_limit(mctx, RCP_HEAP_LIMIT_KIB);
	}
	rc = pcre2_match(re, (PCRE2_SPTR)s, len, 0, 0, md, mctx);
	if (rc >= 0)
		return 1;
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	limit_report(rc, len);
	return RE_UNDECIDED;
}

/* Either of two tests: a match wins, then undecided. */
static int re_or(int a, int b)
{
	return a == 1 || b == 1 ? 1 : a == RE_UNDECIDED || b == RE_UNDECIDED ? RE_UNDECIDED : 0;
}

static const struct jb_task *parent_of(const struct rcp_subject *s, const struct jb_task *t)
{
	return t && t->parent_key && s->v ? jb_snap_task(s->v, t->parent_key) : NULL;
}

static int text_match(void *re, const char *field, size_t cap)
{
	return re_match(re, field, strnlen(field, cap));
}

static int cidr_has(const struct rcp_cidr *c, int family, const uint8_t *addr)
{
	const uint8_t *a = addr;
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	if (c->family == AF_INET && family == AF_INET6 && !memcmp(addr, mapped, 12))
		a = addr + 12; /* an IPv4 CIDR matches a v4-mapped peer */
	else if (c->family != family)
		return 0;
	size_t full = c->bits / 8, rest = c->bits % 8;
	if (memcmp(a, c->addr, full))
		return 0;
	if (rest) {
		uint8_t mask = (uint8_t)(0xff << (8 - rest));
		if ((a[full] & mask) != (c->addr[full] & mask))
			return 0;
	}
	return 1;
}

static int any_cidr(const struct rcp_cidr *v, size_t n, int family, const uint8_t *addr)
{
	for (size_t i = 0; i < n; i++)
		if (cidr_has(&v[i], family, addr))
			return 1;
	return 0;
}

static int num_match(const struct rcp_item *it, int64_t x)
{
	switch (it->when) {
	case RCP_WHEN_SMALLER:
		return x < it->nums[0];
	case RCP_WHEN_BIGGER:
		return x > it->nums[0];
	default:
		for (size_t i = 0; i < it->nnums; i++)
			if (x == it->nums[i])
				return 1;
		return 0;
	}
}

/* Shannon entropy (bits per character, x100) of the longest label. */
static int64_t label_entropy(const char *name)
{
	const char *best = name, *p = name;
	size_t bestlen = 0;

	while (*p) {
		const char *e = strchr(p, '.');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (l > bestlen)
			best = p, bestlen = l;
		p += l + (e ? 1 : 0);
	}
	if (!bestlen)
		return 0;
	unsigned cnt[256] = {0};
	double h = 0;
	for (size_t i = 0; i < bestlen; i++)
		cnt[(unsigned char)best[i]]++;
	for (int i = 0; i < 256; i++)
		if (cnt[i]) {
			double q = (double)cnt[i] / (double)bestlen;
			h -= q * log2(q);
		}
	return (int64_t)(h * 100.0 + 0.5);
}

/* The entry of t's environment block (NUL separated, cut at JB_ENV_LEN)
 * that starts at *off: its start, *len its length (0 for an empty one),
 * *off moved to the next; NULL after the last. Both matchers of the
 * environment walk it with this one bound. */
static const char *env_next(const struct jb_task *t, size_t *off, size_t *len)
{
#ifdef JB_ENV_LEN
	size_t n = t->env_len < JB_ENV_LEN ? t->env_len : JB_ENV_LEN;
	const char *e;

	if (*off >= n)
		return NULL;
	e = t->env + *off;
	*len = strnlen(e, n - *off);
	*off += *len + 1;
	return e;
#else
	(void)t;
	(void)off;
	(void)len;
	return NULL;
#endif
}

static int env_match(const struct rcp_item *it, const struct jb_task *t)
{
	const char *e;
	size_t off = 0, l;
	int r = 0;

	while ((e = env_next(t, &off, &l)) && r != 1)
		if (l)
			r = re_or(r, re_match(it->re, e, l));
	return r;
}

/* The task's flags as words, space separated, in a fixed order: what a
 * task_flags pattern is matched against ("execed io_uring"). */
static size_t task_flag_words(const struct jb_task *t, char *buf, size_t n)
{
	static const struct { uint32_t bit; const char *name; } w[] = {
		{JB_TASK_EXITED, "exited"},   {JB_TASK_EXECED, "execed"},
		{JB_TASK_ARGS_CUT, "args_cut"}, {JB_TASK_EXE_CUT, "exe_cut"},
		{JB_TASK_ENV_CUT, "env_cut"}, {JB_TASK_IO_URING, "io_uring"},
	};
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
		if (!(t->flags & w[i].bit))
			continue;
		int k = snprintf(buf + o, n - o, "%s%s", o ? " " : "", w[i].name);
		if (k < 0 || (size_t)k >= n - o)
			break;
		o += (size_t)k;
	}
	return o;
}

/* The item's own test, before which: irrelevant negates it: 1, 0 or
 * RE_UNDECIDED (a field of several values: any match wins, then any
 * undecided). */
static int item_raw(const struct rcp_item *it, const struct rcp_subject *s)
{
	const struct jb_task *t = s->task, *p;
	char buf[JB_ARGS_LEN + 1];
	int r = 0;

	switch (it->what) {
	case RCP_W_EXE:
		return t ? text_match(it->re, t->exe, sizeof(t->exe)) : 0;
	case RCP_W_COMM:
		if (!t && s->tamper) /* the actor's task left the snapshot: its record */
			return text_match(it->re, s->tamper->comm, sizeof(s->tamper->comm));
		return t ? text_match(it->re, t->comm, sizeof(t->comm)) : 0;
	case RCP_W_ARGS:
		return t ? re_match(it->re, buf, rcp_task_args(t, buf, sizeof(buf))) : 0;
	case RCP_W_UID:
		if (!t && s->tamper)
			return num_match(it, s->tamper->uid);
		return t && num_match(it, t->uid);
	case RCP_W_PID:
		if (!t && s->tamper)
			return num_match(it, s->tamper->tgid);
		return t && num_match(it, t->tgid);
	case RCP_W_PPID:
		return t && num_match(it, t->ppid);
	case RCP_W_PARENT_EXE:
		return (p = parent_of(s, t)) ? text_match(it->re, p->exe, sizeof(p->exe)) : 0;
	case RCP_W_PARENT_COMM:
		return (p = parent_of(s, t)) ? text_match(it->re, p->comm, sizeof(p->comm)) : 0;
	case RCP_W_PARENT_ARGS:
		return (p = parent_of(s, t))
			       ? re_match(it->re, buf, rcp_task_args(p, buf, sizeof(buf)))
			       : 0;
	case RCP_W_TASK_OR_PARENT_EXE:
		if (t && (r = text_match(it->re, t->exe, sizeof(t->exe))) == 1)
			return 1;
		if ((p = parent_of(s, t)))
			r = re_or(r, text_match(it->re, p->exe, sizeof(p->exe)));
		return r;
	case RCP_W_ANCIENT_EXE: {
		uint64_t seen[RCP_ANCESTRY_MAX];
		int depth = 0;
		for (p = parent_of(s, t); p && depth < RCP_ANCESTRY_MAX; p = parent_of(s, p)) {
			for (int k = 0; k < depth; k++)
				if (seen[k] == p->key)
					return r; /* a cycle: stop */
			seen[depth++] = p->key;
			if ((r = re_or(r, text_match(it->re, p->exe, sizeof(p->exe)))) == 1)
				return 1;
			if (p->tgid == 1)
				break;
		}
		return r;
	}
	case RCP_W_FILE:
		return s->path ? re_match(it->re, s->path, strlen(s->path)) : 0;
	case RCP_W_DOMAIN:
		for (int i = 0; i < s->nnames && r != 1; i++)
			r = re_or(r, re_match(it->re, s->names[i], strlen(s->names[i])));
		return r;
	case RCP_W_DOMAIN_ENTROPY:
		for (int i = 0; i < s->nnames; i++)
			if (num_match(it, label_entropy(s->names[i])))
				return 1;
		return 0;
	case RCP_W_REMOTE_PORT:
		return s->flow && num_match(it, s->flow->dport);
	case RCP_W_REMOTE_IP:
		return s->flow && any_cidr(it->cidrs, it->ncidrs, s->flow->family, s->flow->daddr);
	case RCP_W_ENV:
		return t ? env_match(it, t) : 0;
	case RCP_W_TASK_FLAGS:
		return t ? re_match(it->re, buf, task_flag_words(t, buf, sizeof(buf))) : 0;
	default:
		return 0;
	}
}

/* An item whose regex gave up takes the value that lets the recipe
 * report, whatever its which: true in a pertinent group (the group can
 * still require the detection), false in an irrelevant one (it cannot
 * suppress it). Both how: AND and how: OR are monotone, so one item can
 * only move the group towards that answer. */
static int group_match(const struct rcp_group *g, const struct rcp_subject *s)
{
	for (size_t i = 0; i < g->nitems; i++) {
		int raw = item_raw(&g->items[i], s);
		int m = raw == RE_UNDECIDED ? !g->irrelevant : raw ^ g->items[i].negate;
		if (g->all && !m)
			return 0;
		if (!g->all && m)
			return 1;
	}
	return g->all;
}

/* a path split once for all the bases of a recipe */
struct split_path {
	const char *path, *name;
	size_t len, dirlen;
};

static void split(struct split_path *sp, const char *path)
{
	const char *slash = strrchr(path, '/');

	sp->path = path;
	sp->len = strlen(path);
	sp->name = slash ? slash + 1 : path;
	sp->dirlen = slash ? (size_t)(slash - path) : 0;
	if (sp->dirlen == 0 && slash)
		sp->dirlen = 1; /* parent is "/" */
}

static int base_match(const struct rcp_base *b, const struct split_path *sp)
{
	if (b->base && strcmp(sp->name, b->base))
		return 0;
	if (b->dir && (strlen(b->dir) != sp->dirlen || strncmp(sp->path, b->dir, sp->dirlen)))
		return 0;
	return !b->re || re_match(b->re, sp->path, sp->len) != 0; /* undecided: a match */
}

static int in_sorted(const struct recipe *r, const char *key)
{
	size_t lo = 0, hi = r->ndomains;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(r->domains[mid], key);
		if (!c)
			return 1;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/* The list is sorted: one binary search per label boundary of the name
 * (suffix: "a.b.c", "b.c", "c"; prefix: "a", "a.b", "a.b.c"). */
static int domain_in(const struct recipe *r, const char *name)
{
	char buf[256];
	size_t len = strlen(name);

	switch (r->trie) {
	case RCP_TRIE_SUFFIX:
		for (const char *p = name; p; p = strchr(p, '.') ? strchr(p, '.') + 1 : NULL)
			if (in_sorted(r, p))
				return 1;
		return 0;
	case RCP_TRIE_PREFIX:
		if (len >= sizeof(buf))
			return 0;
		memcpy(buf, name, len + 1);
		for (size_t k = 0; k <= len; k++)
			if (name[k] == '.' || name[k] == '\0') {
				buf[k] = '\0';
				int hit = in_sorted(r, buf);
				buf[k] = name[k];
				if (hit)
					return 1;
			}
		return 0;
	default:
		return in_sorted(r, name);
	}
}

static uint32_t flow_actions_of(const struct rcp_subject *s)
{
	uint32_t a = RCP_FA_CREATED | RCP_FA_STARTED;

	if (s->flow->dir == JB_FLOW_EGRESS)
		a |= RCP_FA_EGRESS | RCP_FA_OUTGOING;
	else
		a |= RCP_FA_INGRESS | RCP_FA_INCOMING;
	if (s->task && (s->task->flags & JB_TASK_EXITED))
		a |= RCP_FA_ENDED;
	else
		a |= RCP_FA_ONGOING;
	return a;
}

static int flow_match(const struct recipe *r, const struct rcp_subject *s)
{
	const struct jb_flow *f = s->flow;

	if (!f)
		return 0;
	if (r->proto && f->proto != r->proto)
		return 0;
	if (r->remote_port && f->dport != r->remote_port)
		return 0;
	if (r->local_port && f->sport != r->local_port)
		return 0;
	if (r->nlocal_cidrs && !any_cidr(r->local_cidrs, r->nlocal_cidrs, f->family, f->saddr))
		return 0;
	if (r->flow_actions) {
		uint32_t have = flow_actions_of(s) & r->flow_actions;
		if (r->flow_actions_all ? have != r->flow_actions : !have)
			return 0;
	}
	/* the peer: by address or by name, either is enough */
	if (r->nremote_cidrs || r->ndomains) {
		int peer = r->nremote_cidrs &&
			   any_cidr(r->remote_cidrs, r->nremote_cidrs, f->family, f->daddr);
		for (int i = 0; !peer && r->ndomains && i < s->nnames; i++)
			peer = domain_in(r, s->names[i]);
		if (!peer)
			return 0;
	}
	return 1;
}

static int env_vars_match(const struct recipe *r, const struct jb_task *t)
{
	const char *e;
	size_t off = 0, l;

	while ((e = env_next(t, &off, &l)))
		for (size_t k = 0; k < r->nenv_names; k++) {
			size_t kl = strlen(r->env_names[k]);
			if (l > kl && !strncmp(e, r->env_names[k], kl) && e[kl] == '=')
				return 1;
		}
	return 0;
}

int rcp_match_bases(const struct recipe *r, const char *path)
{
	struct split_path sp;

	cur = r;
	if (!r->nbases)
		return 1;
	split(&sp, path);
	for (size_t i = 0; i < r->nbases; i++)
		if (base_match(&r->bases[i], &sp))
			return 1;
	return 0;
}

int rcp_match(const struct recipe *r, const struct rcp_subject *s)
{
	return rcp_match_known(r, s, -1);
}

int rcp_needs_bases(const struct recipe *r, uint32_t actions)
{
	uint32_t have = actions & r->actions;

	if (!r->enabled || (r->mech != RCP_FILE_ACCESS && r->mech != RCP_EXECUTION))
		return 0;
	return r->actions_all ? have == r->actions : have != 0;
}

int rcp_match_known(const struct recipe *r, const struct rcp_subject *s, int bases_hit)
{
	if (!r->enabled)
		return 0;
	cur = r;
	switch (r->mech) {
	case RCP_FILE_ACCESS:
	case RCP_EXECUTION: {
		if (!s->path || !rcp_needs_bases(r, s->actions))
			return 0;
		if (bases_hit < 0)
			bases_hit = rcp_match_bases(r, s->path);
		if (!bases_hit)
			return 0;
		break;
	}
	case RCP_NETWORK_PEERS:
		if (!flow_match(r, s))
			return 0;
		break;
	case RCP_ENV_VARS: {
		int cut = s->task && (s->task->flags & JB_TASK_ENV_CUT);

		if (!s->task || !(s->actions & JB_ACT_EXEC))
			return 0;
		/* a cut environment may hold the variables in the part not
		 * read: env_vars_cut says whether that alone is a match */
		if (r->env_cut == RCP_ENV_CUT_ONLY ? !cut
		    : !(env_vars_match(r, s->task) || (cut && r->env_cut == RCP_ENV_CUT_ALSO)))
			return 0;
		break;
	}
	case RCP_TAMPER:
		if (!s->tamper || s->tamper->klass >= 32 ||
		    !(r->tamper_classes & (1u << s->tamper->klass)))
			return 0;
		break;
	default:
		return 0;
	}
	for (size_t i = 0; i < r->ngroups; i++) {
		int m = group_match(&r->groups[i], s);
		if (r->groups[i].irrelevant ? m : !m)
			return 0;
	}
	return 1;
}

/* --- times keys ------------------------------------------------------------------ */
static void printable(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

void rcp_times_key(enum rcp_times_kind k, const struct rcp_subject *s, const char *boot_id,
		   char *out, size_t len)
{
	const struct jb_task *t = s->task, *p;
	char id[17];

	out[0] = '\0';
	switch (k) {
	case RCP_T_PROC:
		if (t) {
			rcp_process_id(boot_id, t->tgid, t->start_ticks, id);
			snprintf(out, len, "process %s (pid %u)", id, t->tgid);
		} else if (s->tamper) {
			/* an actor whose task record is gone: its pid still
			 * separates it from other actors */
			snprintf(out, len, "pid %u (%.*s)", s->tamper->tgid,
				 (int)strnlen(s->tamper->comm, sizeof(s->tamper->comm)),
				 s->tamper->comm);
		}
		break;
	case RCP_T_EXE:
		if (t)
			snprintf(out, len, "%.*s", (int)strnlen(t->exe, sizeof(t->exe)), t->exe);
		break;
	case RCP_T_PARENT_PROC:
		if ((p = parent_of(s, t))) {
			rcp_process_id(boot_id, p->tgid, p->start_ticks, id);
			snprintf(out, len, "process %s (pid %u)", id, p->tgid);
		}
		break;
	case RCP_T_PARENT_EXE:
		if ((p = parent_of(s, t)))
			snprintf(out, len, "%.*s", (int)strnlen(p->exe, sizeof(p->exe)), p->exe);
		break;
	case RCP_T_FULL_ANCESTRY: {
		/* the chain of executables up to pid 1, hashed; the first few
		 * names kept readable */
		uint64_t h = JB_FNV_INIT, seen[RCP_ANCESTRY_MAX];
		int depth = 0;
		size_t o = 0;
		for (p = t; p && depth < RCP_ANCESTRY_MAX; p = parent_of(s, p)) {
			int cycle = 0;
			for (int q = 0; q < depth; q++)
				cycle |= seen[q] == p->key;
			if (cycle)
				break;
			seen[depth++] = p->key;
			h = jb_fnv1a(h, p->exe, strnlen(p->exe, sizeof(p->exe)));
			h = jb_fnv1a(h, "\xff", 1); /* separates the exes */
			if (depth <= 4 && o + 2 < len) {
				const char *b = jb_basename(p->exe);
				o += (size_t)snprintf(out + o, len - o, "%s%.40s", depth > 1 ? "<" : "",
						      b);
				if (o >= len)
					o = len - 1;
			}
			if (p->tgid == 1)
				break;
		}
		if (t && o + 20 < len)
			snprintf(out + o, len - o, " #%016llx", (unsigned long long)h);
		break;
	}
	case RCP_T_HOST:
	case RCP_T_TOTAL:
	default:
		snprintf(out, len, "*");
		break;
	}
	if (!out[0])
		snprintf(out, len, "(unknown)");
	printable(out);
}
