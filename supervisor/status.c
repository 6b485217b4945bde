/*
 * status.c - the agent's state as one JSON document (schema: status.h),
 * built from what the modules already keep: the slots (procs.c), the
 * collector's figures, the router's backlog, tallies and losses, and each
 * printer's own figures (IPC_PRN_STATS, kept here per slot).
 *
 * Invariants:
 *  - it reads, never changes, the agent's state: the status socket and the
 *    exporter may build it as often as they like.
 *  - cheap: written straight into one growing buffer (no tree of JSON
 *    objects), a handful of allocations at most; built every cadence.
 *  - always valid JSON: strings escaped (control bytes as \u00XX, bytes
 *    above 0x7f as '?': names are ASCII, the host name should be), and
 *    integers clamped to INT64_MAX (readers parse them as signed).
 *  - a printer's counters survive its restarts: a report from a new
 *    generation adds the previous generation's counters to the slot's past.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "loader.h"
#include "sup.h"
#include "supervisor/status.h"

struct jw {
	char *buf;
	size_t len, cap;
	int failed;
};

static void jw_grow(struct jw *w, size_t need)
{
	size_t cap = w->cap ? w->cap : 8192;
	char *nb;

	if (w->failed || w->len + need + 1 <= w->cap)
		return;
	while (cap < w->len + need + 1)
		cap *= 2;
	if (!(nb = realloc(w->buf, cap))) {
		w->failed = 1;
		return;
	}
	w->buf = nb;
	w->cap = cap;
}

static void jw_raw(struct jw *w, const char *s, size_t n)
{
	jw_grow(w, n);
	if (w->failed)
		return;
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	w->buf[w->len] = '\0';
}

static void jw_fmt(struct jw *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void jw_fmt(struct jw *w, const char *fmt, ...)
{
	char tmp[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		jw_raw(w, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

static void jw_str(struct jw *w, const char *s)
{
	jw_raw(w, "\"", 1);
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			char e[2] = {'\\', (char)c};
			jw_raw(w, e, 2);
		} else if (c < 0x20) {
			jw_fmt(w, "\\u%04x", c);
		} else {
			char o = c > 0x7e ? '?' : (char)c;
			jw_raw(w, &o, 1);
		}
	}
	jw_raw(w, "\"", 1);
}

static void jw_u64(struct jw *w, uint64_t v)
{
	jw_fmt(w, "%llu", (unsigned long long)(v > INT64_MAX ? INT64_MAX : v));
}

/* ,"key": then the value (first: no comma) */
static void jw_key(struct jw *w, int first, const char *key)
{
	if (!first)
		jw_raw(w, ",", 1);
	jw_str(w, key);
	jw_raw(w, ":", 1);
}

/* the next object of an array: "{" or ",{" */
static void jw_item(struct jw *w, int *n)
{
	jw_raw(w, *n ? ",{" : "{", *n ? 2 : 1);
	++*n;
}

static void jw_kv_u64(struct jw *w, int first, const char *key, uint64_t v)
{
	jw_key(w, first, key);
	jw_u64(w, v);
}

static void jw_kv_str(struct jw *w, int first, const char *key, const char *v)
{
	jw_key(w, first, key);
	jw_str(w, v);
}

static const char *const restart_name[SUP_RESTART_MAX] = {
	[SUP_RESTART_CRASH] = "crash",	   [SUP_RESTART_HANG] = "hang",
	[SUP_RESTART_KILLED] = "killed",   [SUP_RESTART_PROTOCOL] = "protocol",
	[SUP_RESTART_PLANNED] = "planned", [SUP_RESTART_OTHER] = "other",
};

static const char *const map_name[SUP_MAP_MAX] = {
	[SUP_MAP_TASKS] = "jb_tasks",	  [SUP_MAP_TASKS_HOT] = "jb_tasks_hot",
	[SUP_MAP_FILES] = "jb_files",	  [SUP_MAP_FILES_HOT] = "jb_files_hot",
	[SUP_MAP_LINKS] = "jb_links",	  [SUP_MAP_LINKS_HOT] = "jb_links_hot",
	[SUP_MAP_FLOWS] = "jb_flows",	  [SUP_MAP_TAMPER] = "jb_tamper",
};

static uint64_t map_max(const struct sup *s, int m)
{
	const struct jb_config *c = &s->cfg;

	switch (m) {
	case SUP_MAP_TASKS: return c->map_tasks;
	case SUP_MAP_TASKS_HOT: return c->map_hot_tasks;
	case SUP_MAP_FILES: return c->map_files;
	case SUP_MAP_FILES_HOT: return c->map_hot_files;
	case SUP_MAP_LINKS: return c->map_links;
	case SUP_MAP_LINKS_HOT: return c->map_hot_links;
	case SUP_MAP_FLOWS: return c->map_flows;
	case SUP_MAP_TAMPER: return JB_TAMPER_ENTRIES;
	}
	return 0;
}

void sup_status_prn_stats(struct sup_proc *p, const struct ipc_msg *m)
{
	if (p->prn_gen != p->generation) {
		/* the counters of the printer before this one are the past's */
		p->prn_past.delivered += p->prn.delivered;
		p->prn_past.retries += p->prn.retries;
		p->prn_past.rejected += p->prn.rejected;
		p->prn_gen = p->generation;
	}
	p->prn.queue_lines = m->u.prn_stats.queue_lines;
	p->prn.queue_bytes = m->u.prn_stats.queue_bytes;
	p->prn.spool_lines = m->u.prn_stats.spool_lines;
	p->prn.spool_bytes = m->u.prn_stats.spool_bytes;
	p->prn.delivered = m->u.prn_stats.delivered;
	p->prn.retries = m->u.prn_stats.retries;
	p->prn.rejected = m->u.prn_stats.rejected;
}

static void agent(struct jw *w, struct sup *s, uint64_t now)
{
	const struct sup_col_figures *f = sup_collector_figures(s);
	char started[32] = "1970-01-01T00:00:00Z";
	time_t t = (time_t)s->started_s;
	struct tm tm;

	if (gmtime_r(&t, &tm))
		strftime(started, sizeof(started), "%Y-%m-%dT%H:%M:%SZ", &tm);
	jw_raw(w, "\"agent\":{", 9);
	jw_kv_u64(w, 1, "pid", (uint64_t)getpid());
	jw_kv_str(w, 0, "hostname", s->hostname);
	jw_kv_str(w, 0, "started", started);
	jw_kv_u64(w, 0, "uptime_s", s->started_ms && now > s->started_ms
					    ? (now - s->started_ms) / 1000 : 0);
	jw_kv_u64(w, 0, "mono_ms", now);
	jw_kv_u64(w, 0, "cadence_ms", s->cfg.cadence_ms);
	jw_kv_u64(w, 0, "last_cadence_mono_ms", f ? f->last_query_ms : 0);
	jw_key(w, 0, "stopping");
	jw_raw(w, s->stopping_since_ms ? "true" : "false", s->stopping_since_ms ? 4 : 5);
	jw_raw(w, ",\"bpf\":{", 8);
	jw_kv_str(w, 1, "backend", !s->bpf ? "none"
				   : s->bpf->backend == JB_BACKEND_FENTRY ? "fentry" : "tracepoint");
	if (s->bpf && s->bpf->pins.dir_fd >= 0)
		jw_kv_str(w, 0, "pin_dir", s->bpf->pins.dir);
	else
		jw_raw(w, ",\"pin_dir\":null", 15);
	jw_key(w, 0, "resumed");
	jw_raw(w, s->bpf && s->bpf->resumed ? "true}}" : "false}}", s->bpf && s->bpf->resumed ? 6 : 7);
}

static void children(struct jw *w, struct sup *s, uint64_t now)
{
	jw_raw(w, ",\"children\":[", 13);
	for (int i = 0; i < s->nprocs; i++) {
		const struct sup_proc *p = &s->procs[i];
		uint64_t restarts = 0;
		int waiting = p->state == ST_IDLE || p->state == ST_THROTTLED;

		for (int r = 0; r < SUP_RESTART_MAX; r++)
			restarts += p->restarts[r];
		jw_raw(w, i ? ",{" : "{", i ? 2 : 1);
		jw_kv_str(w, 1, "kind", p->kind->name);
		jw_kv_str(w, 0, "role", ipc_role_name(p->kind->role));
		jw_kv_str(w, 0, "state", sup_state_label(p->state));
		jw_key(w, 0, "pid");
		if (p->pid > 0)
			jw_u64(w, (uint64_t)p->pid);
		else
			jw_raw(w, "null", 4);
		jw_kv_u64(w, 0, "generation", p->generation);
		jw_kv_u64(w, 0, "uid", p->uid);
		jw_kv_u64(w, 0, "restarts", restarts);
		jw_kv_u64(w, 0, "backoff_ms", waiting ? p->restart_delay_ms : 0);
		jw_key(w, 0, "last_heartbeat_ms_ago");
		if ((p->state == ST_READY || p->state == ST_STOPPING) && p->last_beat_ms)
			jw_u64(w, now > p->last_beat_ms ? now - p->last_beat_ms : 0);
		else
			jw_raw(w, "null", 4);
		jw_kv_u64(w, 0, "processed", p->processed);
		jw_kv_u64(w, 0, "detections", p->detections);
		jw_raw(w, "}", 1);
	}
	jw_raw(w, "]", 1);

	jw_raw(w, ",\"restarts\":[", 13);
	for (int i = 0, n = 0; i < s->nprocs; i++)
		for (int r = 0; r < SUP_RESTART_MAX; r++) {
			jw_item(w, &n);
			jw_kv_str(w, 1, "kind", s->procs[i].kind->name);
			jw_kv_str(w, 0, "reason", restart_name[r]);
			jw_kv_u64(w, 0, "count", s->procs[i].restarts[r]);
			jw_raw(w, "}", 1);
		}
	jw_raw(w, "]", 1);
}

static void collector(struct jw *w, struct sup *s)
{
	static const struct {
		const char *name;
		int stat;
	} kstats[] = {
		{"task_insert_failed", JB_STAT_TASK_FAIL}, {"file_insert_failed", JB_STAT_FILE_FAIL},
		{"link_insert_failed", JB_STAT_LINK_FAIL}, {"flow_insert_failed", JB_STAT_FLOW_FAIL},
		{"protected_insert_failed", JB_STAT_HOT_FAIL},
		{"tamper_insert_failed", JB_STAT_TAMPER_FAIL}, {"path_unreadable", JB_STAT_PATH_FAIL},
		{"dns_insert_failed", JB_STAT_DNS_FAIL}, {"dns_malformed", JB_STAT_DNS_BAD},
		{"dns_cut", JB_STAT_DNS_CUT}, {"dns_unsolicited", JB_STAT_DNS_REJECT},
	};
	static const struct sup_col_figures none;
	const struct sup_col_figures *f = sup_collector_figures(s);
	uint64_t cum = 0;

	if (!f)
		f = &none;
	jw_raw(w, ",\"cadence_seconds\":{\"le\":[", 26);
	for (int b = 0; b < SUP_CADENCE_BOUNDS; b++)
		jw_fmt(w, "%s%g", b ? "," : "", sup_cadence_bounds[b]);
	jw_raw(w, "],\"counts\":[", 12);
	for (int b = 0; b < SUP_CADENCE_BOUNDS; b++) {
		cum += f->le[b];
		if (b)
			jw_raw(w, ",", 1);
		jw_u64(w, cum);
	}
	jw_raw(w, "]", 1);
	jw_kv_u64(w, 0, "count", f->cadences);
	jw_fmt(w, ",\"sum\":%.6f}", f->sum_us / 1e6);

	jw_raw(w, ",\"maps\":[", 9);
	for (int m = 0; m < SUP_MAP_MAX; m++) {
		jw_raw(w, m ? ",{" : "{", m ? 2 : 1);
		jw_kv_str(w, 1, "name", map_name[m]);
		jw_kv_u64(w, 0, "entries", f->entries[m]);
		jw_kv_u64(w, 0, "max_entries", map_max(s, m));
		jw_kv_u64(w, 0, "evictions", f->evicted[m]);
		jw_raw(w, "}", 1);
	}
	jw_raw(w, "]", 1);

	jw_raw(w, ",\"kernel_loss\":[", 16);
	jw_raw(w, "{\"counter\":\"evicted_unseen\",\"count\":", 36);
	jw_u64(w, f->lost_unseen);
	jw_raw(w, "},{\"counter\":\"file_evicted\",\"count\":", 36);
	jw_u64(w, f->files_missing);
	jw_raw(w, "},{\"counter\":\"tamper_snapshot_room\",\"count\":", 44);
	jw_u64(w, f->tampers_dropped);
	jw_raw(w, "}", 1);
	for (size_t i = 0; i < sizeof(kstats) / sizeof(kstats[0]); i++) {
		jw_raw(w, ",{", 2);
		jw_kv_str(w, 1, "counter", kstats[i].name);
		jw_kv_u64(w, 0, "count", f->stats[kstats[i].stat]);
		jw_raw(w, "}", 1);
	}
	jw_raw(w, "]", 1);
}

struct each {
	struct jw *w;
	int n, which;
};

static void one_kind(void *arg, const char *kind, uint64_t accepted, uint64_t suppressed)
{
	struct each *e = arg;
	uint64_t v = e->which ? suppressed : accepted;

	if (!v)
		return;
	jw_item(e->w, &e->n);
	jw_kv_str(e->w, 1, "kind", kind);
	jw_kv_u64(e->w, 0, "count", v);
	jw_raw(e->w, "}", 1);
}

static void one_loss(void *arg, const char *who, const char *cause, uint64_t total)
{
	struct each *e = arg;

	jw_item(e->w, &e->n);
	jw_kv_str(e->w, 1, "who", who);
	jw_kv_str(e->w, 0, "cause", cause);
	jw_kv_u64(e->w, 0, "count", total);
	jw_raw(e->w, "}", 1);
}

static void router(struct jw *w, struct sup *s)
{
	struct each e = {.w = w};
	uint64_t lines, bytes;
	int n = 0;

	jw_raw(w, ",\"detections\":[", 15);
	sup_router_each_kind(s, one_kind, &e);
	jw_raw(w, "],\"suppressed\":[", 16);
	e.n = 0;
	e.which = 1;
	sup_router_each_kind(s, one_kind, &e);
	jw_raw(w, "],\"data_loss\":[", 15);
	e.n = 0;
	sup_router_each_loss(s, one_loss, &e);
	jw_raw(w, "]", 1);

	sup_router_backlog(s, &lines, &bytes);
	jw_raw(w, ",\"router\":{", 11);
	jw_kv_u64(w, 1, "backlog_lines", lines);
	jw_kv_u64(w, 0, "backlog_bytes", bytes);
	jw_raw(w, "},\"printers\":[", 14);
	for (int i = 0; i < s->nprocs; i++) {
		const struct sup_proc *p = &s->procs[i];
		/* its memory went with its process */
		int live = p->prn_gen == p->generation &&
			   (p->state == ST_READY || p->state == ST_STOPPING);
		const struct sup_prn_figures *f = &p->prn, *past = &p->prn_past;

		if (p->kind->role != IPC_ROLE_PRINTER)
			continue;
		jw_item(w, &n);
		jw_kv_str(w, 1, "kind", p->kind->name);
		jw_kv_u64(w, 0, "unacked_lines", s->rt ? sup_router_unacked(s, p) : 0);
		jw_kv_u64(w, 0, "queue_lines", live ? f->queue_lines : 0);
		jw_kv_u64(w, 0, "queue_bytes", live ? f->queue_bytes : 0);
		jw_kv_u64(w, 0, "spool_lines", f->spool_lines);
		jw_kv_u64(w, 0, "spool_bytes", f->spool_bytes);
		jw_kv_u64(w, 0, "delivered", past->delivered + f->delivered);
		jw_kv_u64(w, 0, "retries", past->retries + f->retries);
		jw_kv_u64(w, 0, "rejected", past->rejected + f->rejected);
		jw_raw(w, "}", 1);
	}
	jw_raw(w, "]", 1);
}

char *sup_status_json(struct sup *s, size_t *len)
{
	struct jw w = {0};
	uint64_t now = sup_now_ms();

	jw_fmt(&w, "{\"version\":%d,", SUP_STATUS_VERSION);
	agent(&w, s, now);
	children(&w, s, now);
	collector(&w, s);
	router(&w, s);
	jw_raw(&w, "}", 1);
	if (w.failed) {
		free(w.buf);
		return NULL;
	}
	if (len)
		*len = w.len;
	return w.buf;
}
