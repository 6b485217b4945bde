/*
 * metrics.c - the status document as Prometheus text exposition (format
 * 0.0.4): one family per row of the table below, HELP and TYPE first,
 * then its samples.
 *
 * Invariants:
 *  - every name is a literal of the table (jibril_ prefix, _total on
 *    counters, the unit in the name); what comes from the document is only
 *    ever a label value (escaped: backslash, double quote, newline) or a
 *    number, so no document can make a bad name or break a line;
 *  - a part of the document of the wrong type is left out, never guessed:
 *    a histogram whose bounds do not rise or whose counts are not
 *    cumulative is not emitted at all;
 *  - the text is bounded (EXP_OUT_MAX): the document is at most 56 KiB.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exporter/exporter.h"

#define EXP_OUT_MAX (4u << 20)

enum fam {
	F_BUILD, F_UP, F_AGE, F_UPTIME, F_CADENCE_INT, F_CHILD_UP, F_CHILD_STATE, F_CHILD_BACKOFF,
	F_CHILD_BEAT, F_CHILD_PROCESSED, F_RESTARTS, F_CADENCE, F_MAP_ENTRIES, F_MAP_MAX,
	F_MAP_EVICT, F_KLOSS, F_DETECT, F_SUPPRESSED, F_DATALOSS, F_BACKLOG_LINES,
	F_BACKLOG_BYTES, F_PRN_UNACKED, F_PRN_QLINES, F_PRN_QBYTES, F_PRN_SLINES, F_PRN_SBYTES,
	F_PRN_DELIVER, F_PRN_RETRY, F_PRN_REJECT, F_N
};

static const struct {
	const char *name, *type, *help;
} fams[F_N] = {
	[F_BUILD] = {"jibril_build_info", "gauge", "Always 1; the agent's version as a label."},
	[F_UP] = {"jibril_up", "gauge",
		  "1 when the supervisor's latest status is fresh (within two cadences), else 0."},
	[F_AGE] = {"jibril_status_age_seconds", "gauge",
		   "Age of the latest status document the supervisor sent."},
	[F_UPTIME] = {"jibril_uptime_seconds", "gauge", "Seconds since the supervisor started."},
	[F_CADENCE_INT] = {"jibril_cadence_interval_seconds", "gauge",
			   "The configured cadence of the map queries."},
	[F_CHILD_UP] = {"jibril_child_up", "gauge", "1 when the kind's child is READY."},
	[F_CHILD_STATE] = {"jibril_child_state", "gauge",
			   "1 for the state the kind's slot is in, 0 for the others."},
	[F_CHILD_BACKOFF] = {"jibril_child_backoff_seconds", "gauge",
			     "Delay before the kind's next respawn."},
	[F_CHILD_BEAT] = {"jibril_child_heartbeat_age_seconds", "gauge",
			  "Time since the kind's child last sent a heartbeat."},
	[F_CHILD_PROCESSED] = {"jibril_child_processed_total", "counter",
			       "Records (workers) or lines (printers) the kind's current child "
			       "handled, from its last heartbeat."},
	[F_RESTARTS] = {"jibril_child_restarts_total", "counter",
			"Restarts of the kind's child, by the reason its predecessor ended."},
	[F_CADENCE] = {"jibril_cadence_duration_seconds", "histogram",
		       "Time one cadence (map queries and snapshot) took."},
	[F_MAP_ENTRIES] = {"jibril_map_entries", "gauge", "Entries in the kernel map."},
	[F_MAP_MAX] = {"jibril_map_max_entries", "gauge", "Capacity of the kernel map."},
	[F_MAP_EVICT] = {"jibril_map_evictions_total", "counter",
			 "Entries the kernel map evicted (LRU) before they were read."},
	[F_KLOSS] = {"jibril_kernel_lost_records_total", "counter",
		     "Records the kernel programs could not keep, by counter."},
	[F_DETECT] = {"jibril_detections_total", "counter",
		      "Detections the router accepted, by recipe kind."},
	[F_SUPPRESSED] = {"jibril_detections_suppressed_total", "counter",
			  "Detections the recipes' limits suppressed, by recipe kind."},
	[F_DATALOSS] = {"jibril_data_loss_total", "counter",
			"Things the agent lost, by who lost them and why."},
	[F_BACKLOG_LINES] = {"jibril_router_backlog_lines", "gauge",
			     "Lines the router holds for printers."},
	[F_BACKLOG_BYTES] = {"jibril_router_backlog_bytes", "gauge",
			     "Bytes the router holds for printers."},
	[F_PRN_UNACKED] = {"jibril_printer_unacked_lines", "gauge",
			   "Router lines the printer has not acknowledged."},
	[F_PRN_QLINES] = {"jibril_printer_queue_lines", "gauge", "Lines in the printer's memory."},
	[F_PRN_QBYTES] = {"jibril_printer_queue_bytes", "gauge", "Bytes in the printer's memory."},
	[F_PRN_SLINES] = {"jibril_printer_spool_lines", "gauge",
			  "Lines in the printer's disk spool."},
	[F_PRN_SBYTES] = {"jibril_printer_spool_bytes", "gauge",
			  "Bytes in the printer's disk spool."},
	[F_PRN_DELIVER] = {"jibril_printer_deliveries_total", "counter",
			   "Lines the printer delivered."},
	[F_PRN_RETRY] = {"jibril_printer_retries_total", "counter",
			 "Deliveries the printer tried again."},
	[F_PRN_REJECT] = {"jibril_printer_rejected_total", "counter",
			  "Lines the endpoint refused for good (dead-lettered)."},
};

const char *exp_metric_name(size_t i)
{
	return i < F_N ? fams[i].name : NULL;
}

struct out {
	char *buf;
	size_t len, cap;
	int failed;
};

__attribute__((format(printf, 2, 3))) static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->failed)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			o->failed = 1;
			return;
		}
		if ((size_t)n < o->cap - o->len) {
			o->len += (size_t)n;
			return;
		}
		size_t cap = o->cap * 2;
		while (cap - o->len <= (size_t)n)
			cap *= 2;
		char *b = cap <= EXP_OUT_MAX ? realloc(o->buf, cap) : NULL;
		if (!b) {
			o->failed = 1;
			return;
		}
		o->buf = b;
		o->cap = cap;
	}
}

static void head(struct out *o, enum fam f)
{
	put(o, "# HELP %s %s\n# TYPE %s %s\n", fams[f].name, fams[f].help, fams[f].name,
	    fams[f].type);
}

/* A label value as the format wants it: \\, \" and \n escaped. */
static void put_label(struct out *o, const char *name, const char *v, int first)
{
	put(o, "%s%s=\"", first ? "" : ",", name);
	for (const char *c = v; *c && !o->failed; c++) {
		if (*c == '\\')
			put(o, "\\\\");
		else if (*c == '"')
			put(o, "\\\"");
		else if (*c == '\n')
			put(o, "\\n");
		else
			put(o, "%c", *c);
	}
	put(o, "\"");
}

static void put_num(struct out *o, double v)
{
	if (v == floor(v) && fabs(v) < 9007199254740992.0)
		put(o, " %.0f\n", v);
	else
		put(o, " %.15g\n", v);
}

/* One sample: name{l1="v1",l2="v2"} value; labels NULL-terminated pairs. */
static void sample(struct out *o, enum fam f, const char *suffix, double v, ...)
{
	const char *ln, *lv;
	va_list ap;
	int first = 1;

	put(o, "%s%s", fams[f].name, suffix ? suffix : "");
	va_start(ap, v);
	while ((ln = va_arg(ap, const char *)) != NULL) {
		lv = va_arg(ap, const char *);
		if (first)
			put(o, "{");
		put_label(o, ln, lv, first);
		first = 0;
	}
	va_end(ap);
	if (!first)
		put(o, "}");
	put_num(o, v);
}

static int num_of(const json_t *o, const char *key, double *v)
{
	const json_t *j = json_object_get(o, key);

	if (!json_is_number(j))
		return 0;
	*v = json_number_value(j);
	return isfinite(*v) && *v >= 0;
}

static const char *str_of(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key)); /* NULL: not a string */
}

/* A family over an array of objects: one sample per element with a
 * string label lkey and a number vkey (the ones without are left out). */
static void per(struct out *o, enum fam f, const json_t *arr, const char *label,
		const char *lkey, const char *vkey, double scale)
{
	const json_t *e;
	size_t i;
	double v;

	head(o, f);
	json_array_foreach(arr, i, e) {
		const char *l = str_of(e, lkey);

		if (l && num_of(e, vkey, &v))
			sample(o, f, NULL, v * scale, label, l, NULL);
	}
}

static const char *const states[] = {"ready",    "spawning", "handshake", "stopping",
				     "idle",     "throttled", "disabled"};

static void children(struct out *o, const json_t *kids)
{
	const json_t *c;
	size_t i;
	double v;

	head(o, F_CHILD_UP);
	json_array_foreach(kids, i, c) {
		const char *k = str_of(c, "kind"), *r = str_of(c, "role"), *st = str_of(c, "state");

		if (k && r && st)
			sample(o, F_CHILD_UP, NULL, !strcmp(st, "ready"), "kind", k, "role", r, NULL);
	}
	head(o, F_CHILD_STATE);
	json_array_foreach(kids, i, c) {
		const char *k = str_of(c, "kind"), *st = str_of(c, "state");

		for (size_t s = 0; k && st && s < sizeof(states) / sizeof(states[0]); s++)
			sample(o, F_CHILD_STATE, NULL, !strcmp(st, states[s]), "kind", k, "state",
			       states[s], NULL);
	}
	per(o, F_CHILD_BACKOFF, kids, "kind", "kind", "backoff_ms", 0.001);
	per(o, F_CHILD_BEAT, kids, "kind", "kind", "last_heartbeat_ms_ago", 0.001);
	head(o, F_CHILD_PROCESSED);
	json_array_foreach(kids, i, c) {
		const char *k = str_of(c, "kind"), *r = str_of(c, "role");

		if (k && r && num_of(c, "processed", &v))
			sample(o, F_CHILD_PROCESSED, NULL, v, "kind", k, "role", r, NULL);
	}
}

static void restarts(struct out *o, const json_t *arr)
{
	const json_t *e;
	size_t i;
	double v;

	head(o, F_RESTARTS);
	json_array_foreach(arr, i, e) {
		const char *k = str_of(e, "kind"), *r = str_of(e, "reason");

		if (k && r && num_of(e, "count", &v))
			sample(o, F_RESTARTS, NULL, v, "kind", k, "reason", r, NULL);
	}
}

/* _bucket{le=} cumulative and rising, +Inf = _count, _sum; or nothing. */
static void histogram(struct out *o, const json_t *h)
{
	const json_t *le = json_object_get(h, "le"), *counts = json_object_get(h, "counts");
	double count, sum, prev_le = -1, prev_n = 0;
	size_t n = json_array_size(le);

	head(o, F_CADENCE);
	if (!json_is_array(le) || !json_is_array(counts) || json_array_size(counts) != n ||
	    !num_of(h, "count", &count) || !num_of(h, "sum", &sum))
		return;
	for (size_t i = 0; i < n; i++) {
		const json_t *b = json_array_get(le, i), *c = json_array_get(counts, i);
		double bv = json_number_value(b), cv = json_number_value(c);

		if (!json_is_number(b) || !json_is_number(c) || !isfinite(bv) || !(bv > prev_le) ||
		    !isfinite(cv) || cv < prev_n || cv > count)
			return;
		prev_le = bv;
		prev_n = cv;
	}
	for (size_t i = 0; i < n; i++) {
		char b[32];

		snprintf(b, sizeof(b), "%g", json_number_value(json_array_get(le, i)));
		sample(o, F_CADENCE, "_bucket", json_number_value(json_array_get(counts, i)), "le",
		       b, NULL);
	}
	sample(o, F_CADENCE, "_bucket", count, "le", "+Inf", NULL);
	sample(o, F_CADENCE, "_sum", sum, NULL);
	sample(o, F_CADENCE, "_count", count, NULL);
}

static void data_loss(struct out *o, const json_t *arr)
{
	const json_t *e;
	size_t i;
	double v;

	head(o, F_DATALOSS);
	json_array_foreach(arr, i, e) {
		const char *w = str_of(e, "who"), *c = str_of(e, "cause");

		if (w && c && num_of(e, "count", &v))
			sample(o, F_DATALOSS, NULL, v, "who", w, "cause", c, NULL);
	}
}

static void one(struct out *o, enum fam f, const json_t *obj, const char *key, double scale)
{
	double v;

	head(o, f);
	if (num_of(obj, key, &v))
		sample(o, f, NULL, v * scale, NULL);
}

char *exp_metrics_render(const json_t *doc, uint64_t now_ms, const char *version, size_t *len)
{
	struct out o = {malloc(16384), 0, 16384, 0};
	const json_t *agent = json_object_get(doc, "agent"), *prn = json_object_get(doc, "printers");
	double mono;

	if (!o.buf)
		return NULL;
	o.buf[0] = '\0';
	head(&o, F_BUILD);
	sample(&o, F_BUILD, NULL, 1, "version", version, NULL);
	head(&o, F_UP);
	sample(&o, F_UP, NULL, exp_doc_fresh(doc, now_ms), NULL);
	if (doc) {
		head(&o, F_AGE);
		if (num_of(agent, "mono_ms", &mono))
			sample(&o, F_AGE, NULL,
			       now_ms > (uint64_t)mono ? (double)(now_ms - (uint64_t)mono) / 1000.0 : 0,
			       NULL);
		one(&o, F_UPTIME, agent, "uptime_s", 1);
		one(&o, F_CADENCE_INT, agent, "cadence_ms", 0.001);
		children(&o, json_object_get(doc, "children"));
		restarts(&o, json_object_get(doc, "restarts"));
		histogram(&o, json_object_get(doc, "cadence_seconds"));
		per(&o, F_MAP_ENTRIES, json_object_get(doc, "maps"), "map", "name", "entries", 1);
		per(&o, F_MAP_MAX, json_object_get(doc, "maps"), "map", "name", "max_entries", 1);
		per(&o, F_MAP_EVICT, json_object_get(doc, "maps"), "map", "name", "evictions", 1);
		per(&o, F_KLOSS, json_object_get(doc, "kernel_loss"), "counter", "counter", "count",
		    1);
		per(&o, F_DETECT, json_object_get(doc, "detections"), "kind", "kind", "count", 1);
		per(&o, F_SUPPRESSED, json_object_get(doc, "suppressed"), "kind", "kind", "count", 1);
		data_loss(&o, json_object_get(doc, "data_loss"));
		one(&o, F_BACKLOG_LINES, json_object_get(doc, "router"), "backlog_lines", 1);
		one(&o, F_BACKLOG_BYTES, json_object_get(doc, "router"), "backlog_bytes", 1);
		per(&o, F_PRN_UNACKED, prn, "printer", "kind", "unacked_lines", 1);
		per(&o, F_PRN_QLINES, prn, "printer", "kind", "queue_lines", 1);
		per(&o, F_PRN_QBYTES, prn, "printer", "kind", "queue_bytes", 1);
		per(&o, F_PRN_SLINES, prn, "printer", "kind", "spool_lines", 1);
		per(&o, F_PRN_SBYTES, prn, "printer", "kind", "spool_bytes", 1);
		per(&o, F_PRN_DELIVER, prn, "printer", "kind", "delivered", 1);
		per(&o, F_PRN_RETRY, prn, "printer", "kind", "retries", 1);
		per(&o, F_PRN_REJECT, prn, "printer", "kind", "rejected", 1);
	}
	if (o.failed) {
		free(o.buf);
		return NULL;
	}
	*len = o.len;
	return o.buf;
}
