/*
 * limits.c - the `times` limits of the recipes, applied centrally in the
 * supervisor (a restarted worker does not reset them), and the summaries
 * that make suppression visible.
 *
 * A detection carries, from its worker, the key of each limit kind of its
 * recipe ("TIMES_KIND\tKEY\n" lines: the task's process id, its exe, ...).
 * The maxima come from the supervisor's own recipe set, never from the
 * worker. A detection passes only if every limit of its recipe allows it;
 * then every counter is bumped. A suppressed one is counted per (recipe,
 * limit kind, key), with the time of the first and last, and
 * sup_limits_summary() turns those counts into summary events.
 *
 * Invariants:
 *  - the table is hashed with SipHash under a key drawn at start
 *    (common/siphash.c): the keys come from workers, which must not be
 *    able to make them collide into one probe chain.
 *  - bounded: at most LIM_MAX counters. When the table is full a detection
 *    whose counter cannot be created is let through (never lose an alert
 *    for want of memory) and that is logged once per summary period.
 *  - a SIGHUP reload keeps the counters (a recipe whose max changed is
 *    judged by the new max). A counter with nothing suppressed that saw no
 *    detection for LIM_IDLE_NS is forgotten at the next summary (most keys
 *    name a process, and processes end): its key then starts afresh, so a
 *    limit means "at most max per key while the key stays active".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "common/log.h"
#include "common/siphash.h"
#include "common/text.h"
#include "supervisor/limits.h"

#define LIM_SLOTS 131072 /* power of two; at most half used */
#define LIM_MAX (LIM_SLOTS / 2)
#define LIM_KEY 256
#define LIM_IDLE_NS (15ll * 60 * 1000000000) /* 15 minutes */

struct lim {
	uint64_t h;
	uint32_t count;		/* detections let through */
	uint64_t suppressed;	/* since the last summary */
	uint64_t suppressed_total;
	int64_t first_ns, last_ns; /* realtime of the first/last suppressed one */
	int64_t active_ns;	/* realtime of the last detection under this key */
	uint8_t tkind;
	uint32_t max;
	char recipe[64];
	char key[LIM_KEY];
};

struct sup_limits {
	struct jb_sipkey key; /* random per start: workers cannot aim at a slot */
	struct lim **slots; /* LIM_SLOTS, open addressing */
	size_t nlim;
	uint64_t full_misses;
	uint64_t summary_seq;
};

struct sup_limits *sup_limits_new(void)
{
	struct sup_limits *t = calloc(1, sizeof(*t));

	if (t && (jb_siphash_key_random(&t->key) < 0 ||
		  !(t->slots = calloc(LIM_SLOTS, sizeof(*t->slots))))) {
		free(t);
		t = NULL;
	}
	return t;
}

static int64_t real_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Keyed (SipHash, common/siphash.c): the key strings come from workers. */
static uint64_t hash3(const struct sup_limits *t, const char *recipe, unsigned tkind,
		      const char *key)
{
	unsigned char sep = (unsigned char)tkind;
	struct jb_siphash h;

	jb_siphash_init(&h, &t->key);
	jb_siphash_update(&h, recipe, strlen(recipe) + 1); /* NUL separates */
	jb_siphash_update(&h, &sep, 1);
	jb_siphash_update(&h, key, strlen(key));
	return jb_siphash_final(&h);
}

static struct lim *lookup(struct sup_limits *t, const char *recipe, unsigned tkind,
			  const char *key, int create)
{
	struct lim **slots = t->slots;
	uint64_t h = hash3(t, recipe, tkind, key);
	size_t i = h & (LIM_SLOTS - 1);

	for (; slots[i]; i = (i + 1) & (LIM_SLOTS - 1))
		if (slots[i]->h == h && slots[i]->tkind == tkind && !strcmp(slots[i]->recipe, recipe) &&
		    !strcmp(slots[i]->key, key))
			return slots[i];
	if (!create || t->nlim >= LIM_MAX)
		return NULL;
	struct lim *l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->h = h;
	l->tkind = (uint8_t)tkind;
	snprintf(l->recipe, sizeof(l->recipe), "%s", recipe);
	snprintf(l->key, sizeof(l->key), "%s", key);
	slots[i] = l;
	t->nlim++;
	return l;
}

/* The key the worker sent for limit kind k ("(unknown)" if none). */
static void key_of(const char *limits, unsigned k, char *out, size_t len)
{
	snprintf(out, len, "(unknown)");
	for (const char *p = limits; p && *p;) {
		const char *nl = strchr(p, '\n'), *tab = strchr(p, '\t');
		size_t linelen = nl ? (size_t)(nl - p) : strlen(p);
		if (tab && tab < p + linelen && (unsigned)atoi(p) == k) {
			size_t kl = linelen - (size_t)(tab + 1 - p);
			if (kl >= len)
				kl = len - 1;
			memcpy(out, tab + 1, kl);
			out[kl] = '\0';
			/* bytes a worker copied from an exe path: json_pack
			 * refuses invalid UTF-8 (and a cut may split a sequence) */
			jb_utf8_fix(out);
			return;
		}
		p += linelen + (nl ? 1 : 0);
	}
}

int sup_limits_check(struct sup_limits *t, const struct recipe *r, const char *limits)
{
	struct lim *l[RCP_T_MAX] = {0};
	char key[LIM_KEY];
	int allow = 1;
	int64_t now = real_ns();

	for (size_t i = 0; i < r->ntimes; i++) {
		key_of(limits, r->times[i].kind, key, sizeof(key));
		l[i] = lookup(t, r->kind, r->times[i].kind, key, 1);
		if (!l[i]) {
			if (!t->full_misses++)
				log_warnx("times limits: table full (%d counters): detections without "
					  "a counter are let through", LIM_MAX);
			continue;
		}
		l[i]->max = r->times[i].max;
		l[i]->active_ns = now;
		if (l[i]->count >= r->times[i].max)
			allow = 0;
	}
	if (allow) {
		for (size_t i = 0; i < r->ntimes; i++)
			if (l[i])
				l[i]->count++;
		return 1;
	}
	/* count the suppression under every limit that was exhausted */
	for (size_t i = 0; i < r->ntimes; i++)
		if (l[i] && l[i]->count >= r->times[i].max) {
			if (!l[i]->suppressed)
				l[i]->first_ns = now;
			l[i]->last_ns = now;
			l[i]->suppressed++;
			l[i]->suppressed_total++;
		}
	return 0;
}


/* Forget idle counters (see the invariants) and rebuild the probe chains. */
static void expire(struct sup_limits *t, int64_t now)
{
	struct lim **old = t->slots, **fresh = calloc(LIM_SLOTS, sizeof(*fresh));

	if (!fresh)
		return; /* try again at the next summary */
	t->nlim = 0;
	for (size_t i = 0; i < LIM_SLOTS; i++) {
		struct lim *l = old[i];
		if (!l)
			continue;
		if (!l->suppressed && now - l->active_ns > LIM_IDLE_NS) {
			free(l);
			continue;
		}
		size_t j = l->h & (LIM_SLOTS - 1);
		while (fresh[j])
			j = (j + 1) & (LIM_SLOTS - 1);
		fresh[j] = l;
		t->nlim++;
	}
	t->slots = fresh;
	free(old);
}

size_t sup_limits_summary(struct sup_limits *t, const char *hostname, sup_limits_emit_fn emit,
			  void *arg)
{
	size_t n = 0;
	char now[64], since[64], until[64];

	if (t->full_misses > 1)
		log_warnx("times limits: table full: %llu detections let through without a counter",
			  (unsigned long long)t->full_misses);
	t->full_misses = 0;
	jb_iso_time(real_ns(), now, sizeof(now));
	for (size_t i = 0; i < LIM_SLOTS; i++) {
		struct lim *l = t->slots[i];
		json_t *ev;
		char *out, dedup[64];

		if (!l || !l->suppressed)
			continue;
		jb_iso_time(l->first_ns, since, sizeof(since));
		jb_iso_time(l->last_ns, until, sizeof(until));
		ev = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s, s:i}, s:s, s:I, s:I, s:s, "
			       "s:s}",
			       "timestamp", now, "kind", "suppressed_detections", "name",
			       "Detections suppressed by a times limit", "mechanism", "agent",
			       "importance", "low", "hostname", hostname, "recipe", l->recipe,
			       "limit", "kind", rcp_times_name((enum rcp_times_kind)l->tkind), "max",
			       (int)l->max, "key", l->key, "suppressed", (json_int_t)l->suppressed,
			       "suppressed_total", (json_int_t)l->suppressed_total, "since", since,
			       "until", until);
		if (!ev)
			continue;
		out = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
		json_decref(ev);
		if (!out)
			continue;
		snprintf(dedup, sizeof(dedup), "summary/%llu", (unsigned long long)++t->summary_seq);
		emit(arg, dedup, out, strlen(out));
		free(out);
		l->suppressed = 0;
		n++;
	}
	expire(t, real_ns());
	return n;
}

void sup_limits_free(struct sup_limits *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < LIM_SLOTS; i++)
		free(t->slots[i]);
	free(t->slots);
	free(t);
}

uint64_t sup_limits_full_misses(const struct sup_limits *t)
{
	return t->full_misses;
}
