/*
 * worker.c - the plugin worker runtime: map the snapshot read-only, load
 * the recipes the supervisor sends (IPC_RECIPE, after CONFIG and again on
 * every reload), and for each announced snapshot run this worker's recipes
 * over the records that changed since the snapshot's 'since' (links,
 * execs, flows or tamper records: the row's source), send the
 * detections (each with the keys of its recipe's times limits, which the
 * supervisor applies), then SNAPSHOT_DONE.
 *
 * Invariants:
 *  - the worker holds no BPF fd, no printer fd, no secret: only fd 3 (IPC),
 *    the mapping of the sealed snapshot (PROT_READ; fd 4 is closed once
 *    mapped) and libevent's own epoll fd and internal pipe.
 *  - a snapshot is acknowledged only after every detection from it was
 *    queued; an unreadable or torn snapshot (a broken invariant: the
 *    supervisor never rewrites a slot a worker holds) makes the worker exit
 *    unacknowledged, so its replacement is sent the same changes again.
 *  - a recipe set is swapped only once a whole set has arrived and loaded;
 *    a set that does not load (the supervisor validated the same bytes, so
 *    this is a broken invariant, or memory ran out) ends the worker, which
 *    the supervisor restarts.
 *  - a big snapshot keeps the heartbeat going (every 1024 records the
 *    worker sends it if it is due), so only a worker that is really stuck
 *    misses its deadline.
 *  - test-only fault hooks act only when CONFIG enables them, and only on
 *    records newer than this process, so a replacement does not repeat the
 *    fault of its predecessor.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/child.h"
#include "common/log.h"
#include "ipc/snapshot.h"
#include "common/text.h"
#include "workers/detect.h"
#include "rcp/recipe.h"

#define WRK_NAMES_MAX 8 /* domain names per flow handed to the matchers */

/* A set being received: sources in arrival order. */
struct pending_src {
	char *name;
	char *data;
	size_t len;
	int list;
};
static struct pending_src *pend;
static size_t npend;
static char *pend_disabled;
static struct rcp_set recipes;
static int have_recipes;
static int pend_cont; /* the last source continues in the next message */

static const struct jb_kind *kind;
static const struct jb_snap_region_hdr *region;
static size_t region_size;
static struct wrk_event_ctx ectx;
static char hostname[256], boot_id[64];
static int fault_hooks;
static uint64_t start_mono_ns, processed, detections;
static char msgbuf[IPC_MAX_MSG];

static uint64_t clock_ns(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int wrk_setup(const struct jb_kind *k, char *err, size_t errlen)
{
	kind = k;
	region = jb_snap_map_ro(JB_CHILD_AUX_FD, &region_size, err, errlen);
	if (!region)
		return -1;
	close(JB_CHILD_AUX_FD); /* the mapping stays; the fd is not needed */
	start_mono_ns = clock_ns(CLOCK_MONOTONIC);
	return 0;
}

static void wrk_config(const struct ipc_msg *m)
{
	uint64_t mono = clock_ns(CLOCK_MONOTONIC), real = clock_ns(CLOCK_REALTIME),
		 boot = clock_ns(CLOCK_BOOTTIME);

	snprintf(hostname, sizeof(hostname), "%s", m->u.config.hostname);
	snprintf(boot_id, sizeof(boot_id), "%s", m->u.config.boot_id);
	fault_hooks = m->u.config.fault_hooks != 0;
	ectx.hostname = hostname;
	ectx.boot_id = boot_id;
	ectx.mono_to_real_ns = (int64_t)real - (int64_t)mono;
	ectx.boot_real_ns = (int64_t)real - (int64_t)boot;
	ectx.kinds = jb_kinds; /* names the agent process a tamper record targets */
	ectx.nkinds = jb_nkinds;
}

static void wrk_counters(uint64_t *p, uint64_t *d)
{
	*p = processed;
	*d = detections;
}

/* Test-only: "jibril-fault.<kind>.<what>" opened after we started. */
static void fault_hook(const struct jb_snap_file *f, uint64_t last_ns)
{
	char want[96];
	const char *b = jb_basename(f->path);
	size_t n;

	n = (size_t)snprintf(want, sizeof(want), "jibril-fault.%s.", kind->name);
	if (!fault_hooks || last_ns < start_mono_ns || strncmp(b, want, n) != 0)
		return;
	jb_child_fault(b + n);
}

static void emit(const struct recipe *r, const struct rcp_subject *s,
		 const struct jb_snap_file *file, uint64_t obj_key, uint64_t event_ns)
{
	char dedup[80], limits[IPC_LIMITS_MAX], key[512];
	char *json = wrk_event_json(&ectx, r, s, file, event_ns);
	size_t o = 0;
	int n;

	if (!json) {
		log_warnx("%s: could not build the event", r->kind);
		return;
	}
	wrk_dedup_key(s, obj_key, dedup, sizeof(dedup));
	limits[0] = '\0';
	for (size_t i = 0; i < r->ntimes; i++) {
		rcp_times_key(r->times[i].kind, s, boot_id, key, sizeof(key));
		n = snprintf(limits + o, sizeof(limits) - o, "%d\t%s\n", (int)r->times[i].kind, key);
		if (n < 0 || (size_t)n >= sizeof(limits) - o)
			break;
		o += (size_t)n;
	}
	n = ipc_enc_detection(msgbuf, sizeof(msgbuf), r->kind, dedup, json, strlen(json), limits);
	free(json);
	if (n < 0) {
		log_warnx("%s: event too large for one message", r->kind);
		return;
	}
	if (jb_child_send_wait(msgbuf, (size_t)n) < 0) {
		/* never acknowledge a snapshot whose detections were not all
		 * sent: exit, and the replacement re-reads it (dedup drops the
		 * ones that did get through) */
		log_set_sink(NULL);
		log_warnx("%s: the supervisor is not reading; exiting unacknowledged", r->kind);
		exit(1);
	}
	detections++;
}

/*
 * Which recipes' bases a path matches depends on the path alone, and the
 * same files come back every cadence (a busy task re-opens them): keep the
 * answer per file key in a small direct-mapped cache (bit d: recipe d of
 * the current set; recipes past 64 are always evaluated). A bit is worked
 * out only when a link's actions make recipe d look at its bases
 * (rcp_needs_bases): a read never costs the bases of the write recipes. A
 * new set empties the cache.
 */
#define BASES_CACHE 8192 /* power of two; 256 KiB */
static struct bases_entry {
	uint64_t key, mask, known;
	char check[8]; /* first bytes of the path (a record holds at least 8,
			* zero-padded): a cheap guard on a key clash */
} bases_cache[BASES_CACHE];

static struct bases_entry *bases_entry(const struct jb_snap_file *f)
{
	struct bases_entry *e = &bases_cache[(size_t)(f->key ^ (f->key >> 32)) & (BASES_CACHE - 1)];

	if (e->key != f->key || memcmp(e->check, f->path, 8)) {
		e->key = f->key;
		e->mask = e->known = 0;
		memcpy(e->check, f->path, 8);
	}
	return e;
}

/* recipe d's bases on f's path: 0/1, or -1 when d is past the cache */
static int bases_hit(struct bases_entry *e, const struct jb_snap_file *f, size_t d)
{
	uint64_t bit = 1ull << d;

	if (d >= 64)
		return -1;
	if (!(e->known & bit)) {
		if (rcp_match_bases(&recipes.r[d], f->path))
			e->mask |= bit;
		e->known |= bit;
	}
	return (e->mask & bit) != 0;
}

static void run_links(const struct jb_snap_view *v, uint64_t since)
{
	for (uint32_t i = 0; i < v->nlinks; i++) {
		const struct jb_snap_link *l = &v->links[i];
		const struct jb_snap_file *f;
		const struct jb_task *t;

		int wanted;

		if (l->link.last_ns <= since)
			continue;
		wanted = kind->source == JB_SRC_LINKS ||
			 (kind->source == JB_SRC_EXECS && (l->link.actions & JB_ACT_EXEC));
		/* touch a file record only when this mechanism (or a test fault
		 * hook) needs it: every page read stays resident in this process */
		if (!wanted && !fault_hooks)
			continue;
		f = jb_snap_file(v, l->key.file_key);
		if (!f)
			continue;
		fault_hook(f, l->link.last_ns);
		if (!wanted)
			continue;
		t = jb_snap_task(v, l->key.task_key);
		if (!t || (t->flags & JB_TASK_AGENT))
			continue; /* the agent's own: the kernel drops them already */
		if (!(++processed & 1023))
			jb_child_beat_if_due(); /* busy, not hung */
		struct rcp_subject sub = {.v = v, .task = t, .path = f->path,
					  .actions = l->link.actions};
		struct bases_entry *e = bases_entry(f);
		for (size_t d = 0; d < recipes.n; d++) {
			/* a recipe that would not look at its bases (another
			 * mechanism, or actions that do not concern it) gets
			 * -1: rcp_match_known() never works them out then */
			int hit = rcp_needs_bases(&recipes.r[d], l->link.actions)
					  ? bases_hit(e, f, d) : -1;
			if (rcp_match_known(&recipes.r[d], &sub, hit))
				emit(&recipes.r[d], &sub, f, f->key, l->link.last_ns);
		}
	}
}

static void run_flows(const struct jb_snap_view *v, uint64_t since)
{
	for (uint32_t i = 0; i < v->nflows; i++) {
		const struct jb_flow *fl = &v->flows[i];
		const struct jb_task *t;

		if (fl->last_ns <= since)
			continue;
		t = fl->task_key ? jb_snap_task(v, fl->task_key) : NULL;
		if (t && (t->flags & JB_TASK_AGENT))
			continue;
		if (!(++processed & 1023))
			jb_child_beat_if_due(); /* busy, not hung */
		const char *names[WRK_NAMES_MAX];
		struct rcp_subject sub = {.v = v, .task = t, .flow = fl, .names = names};
		sub.nnames = jb_snap_flow_names(v, fl, names, WRK_NAMES_MAX);
		if (sub.nnames < 0)
			sub.nnames = 0;
		for (size_t d = 0; d < recipes.n; d++)
			if (rcp_match(&recipes.r[d], &sub))
				emit(&recipes.r[d], &sub, NULL, fl->key, fl->last_ns);
	}
}

/* Tamper records: the actor's task when the snapshot has it (the record's
 * own pid, uid and comm stand in otherwise); the agent_files class's
 * path is its name, for `file` items. */
static void run_tampers(const struct jb_snap_view *v, uint64_t since)
{
	for (uint32_t i = 0; i < v->ntampers; i++) {
		const struct jb_tamper *t = jb_snap_tamper(v, i);

		if (!t) {
			log_warnx("tamper record %u of snapshot %llu is malformed: skipped", i,
				  (unsigned long long)v->seq);
			continue;
		}
		if (t->last_ns <= since)
			continue;
		if (!(++processed & 1023))
			jb_child_beat_if_due(); /* busy, not hung */
		struct rcp_subject sub = {.v = v, .tamper = t,
					  .task = t->task_key ? jb_snap_task(v, t->task_key) : NULL,
					  .path = t->klass == JB_TAMPER_FILE ? t->name : NULL};
		for (size_t d = 0; d < recipes.n; d++)
			if (rcp_match(&recipes.r[d], &sub))
				emit(&recipes.r[d], &sub, NULL, t->key, t->last_ns);
	}
}

static void pending_free(void)
{
	for (size_t i = 0; i < npend; i++) {
		free(pend[i].name);
		free(pend[i].data);
	}
	free(pend);
	pend = NULL;
	npend = 0;
	free(pend_disabled);
	pend_disabled = NULL;
}

static int list_fn(const char *from, const char *path, struct rcp_source *out, char *err,
		   size_t errlen, void *arg)
{
	char name[4096];

	if (rcp_resolve(from, path, name, sizeof(name)) == 0)
		for (size_t i = 0; i < npend; i++)
			if (pend[i].list && !strcmp(pend[i].name, name)) {
				*out = (struct rcp_source){pend[i].name, pend[i].data, pend[i].len};
				return 0;
			}
	snprintf(err, errlen, "not sent by the supervisor");
	return -1;
}

/* Load the set that just arrived completely. */
static void recipes_load(void)
{
	struct rcp_source *v = calloc(npend + 1, sizeof(*v));
	size_t nv = 0, nd = 0, count = 1;
	struct rcp_set next;
	char err[1024];

	for (char *p = pend_disabled; p && *p; p++)
		count += *p == '\n';
	const char **dis = calloc(count + 1, sizeof(*dis));
	if (!v || !dis) {
		log_warnx("out of memory loading recipes");
		exit(1);
	}
	for (size_t i = 0; i < npend; i++)
		if (!pend[i].list)
			v[nv++] = (struct rcp_source){pend[i].name, pend[i].data, pend[i].len};
	for (char *save = NULL, *t = pend_disabled ? strtok_r(pend_disabled, "\n", &save) : NULL; t;
	     t = strtok_r(NULL, "\n", &save))
		dis[nd++] = t;
	if (rcp_load(&next, v, nv, dis, kind->mechs, list_fn, NULL, err, sizeof(err)) < 0) {
		/* the supervisor validated these bytes: out of memory, most
		 * likely; exit 1 so the slot is restarted (not disabled) */
		log_set_sink(NULL);
		log_warnx("the recipes the supervisor sent do not load: %s", err);
		exit(1);
	}
	free(v);
	free(dis);
	if (have_recipes)
		rcp_set_free(&recipes);
	recipes = next;
	have_recipes = 1;
	memset(bases_cache, 0, sizeof(bases_cache)); /* masks index the old set */
	size_t on = 0;
	for (size_t i = 0; i < recipes.n; i++)
		on += recipes.r[i].enabled != 0;
	log_info("%zu recipes loaded, %zu enabled", recipes.n, on);
	pending_free();
}

static void recipe_part(const struct ipc_msg *m)
{
	const char *name = m->u.recipe.name;
	uint64_t f = m->u.recipe.flags;
	struct pending_src *last = npend ? &pend[npend - 1] : NULL;

	if (f & IPC_RCP_DISABLED) {
		size_t old = pend_disabled ? strlen(pend_disabled) : 0;
		char *p = realloc(pend_disabled, old + m->u.recipe.data_len + 1);
		if (!p)
			exit(1);
		memcpy(p + old, m->u.recipe.data, m->u.recipe.data_len);
		p[old + m->u.recipe.data_len] = '\0';
		pend_disabled = p;
	} else {
		/* a continuation appends to the source before it */
		if (!pend_cont || !last || strcmp(last->name, name) ||
		    last->list != !!(f & IPC_RCP_LIST)) {
			struct pending_src *p = realloc(pend, (npend + 1) * sizeof(*p));
			if (!p)
				exit(1);
			pend = p;
			last = &pend[npend++];
			memset(last, 0, sizeof(*last));
			last->name = strdup(name);
			last->data = calloc(1, 1);
			last->list = !!(f & IPC_RCP_LIST);
			if (!last->name || !last->data)
				exit(1);
		}
		char *p = realloc(last->data, last->len + m->u.recipe.data_len + 1);
		if (!p)
			exit(1);
		memcpy(p + last->len, m->u.recipe.data, m->u.recipe.data_len);
		last->len += m->u.recipe.data_len;
		p[last->len] = '\0';
		last->data = p;
	}
	pend_cont = (f & IPC_RCP_CONT) != 0;
	if (f & IPC_RCP_END)
		recipes_load();
}

static void wrk_message(const struct ipc_msg *m)
{
	struct jb_snap_view v;
	char buf[64];
	int n;

	if (m->type == IPC_RECIPE) {
		recipe_part(m);
		return;
	}
	if (m->type != IPC_SNAPSHOT || !have_recipes) {
		log_warnx("unexpected %s%s", ipc_msg_name(m->type),
			  have_recipes ? "" : " before the recipes");
		exit(1);
	}
	/* an unreadable or torn snapshot is a broken invariant (the
	 * supervisor never rewrites a slot a worker holds): exit without
	 * acknowledging, so the replacement is sent it again */
	if (jb_snap_view(region, region_size, (uint32_t)m->u.snapshot.slot, m->u.snapshot.seq,
			 &v) < 0) {
		log_set_sink(NULL);
		log_warnx("snapshot %llu in slot %llu is not readable",
			  (unsigned long long)m->u.snapshot.seq, (unsigned long long)m->u.snapshot.slot);
		exit(1);
	}
	if (kind->source == JB_SRC_FLOWS)
		run_flows(&v, m->u.snapshot.since_ns);
	if (kind->source == JB_SRC_TAMPER)
		run_tampers(&v, m->u.snapshot.since_ns);
	/* the network and tamper workers walk the links only for the fault hooks */
	if (kind->source == JB_SRC_LINKS || kind->source == JB_SRC_EXECS || fault_hooks)
		run_links(&v, m->u.snapshot.since_ns);
	if (jb_snap_still_valid(&v) < 0) {
		log_set_sink(NULL);
		log_warnx("snapshot %llu was overwritten while being read", (unsigned long long)v.seq);
		exit(1);
	}
	n = ipc_enc_snapshot_done(buf, sizeof(buf), m->u.snapshot.seq);
	if (n < 0 || jb_child_send_wait(buf, (size_t)n) < 0) {
		log_set_sink(NULL);
		log_warnx("cannot acknowledge snapshot %llu", (unsigned long long)m->u.snapshot.seq);
		exit(1);
	}
}

static const struct jb_child_ops worker_ops = {
	.setup = wrk_setup,
	.on_config = wrk_config,
	.on_message = wrk_message,
	.counters = wrk_counters,
};

void wrk_main(const struct jb_kind *k, const struct jb_child_args *a)
{
	jb_child_main(k, &worker_ops, a);
}
