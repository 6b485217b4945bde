/*
 * summary_event.c - a summary printer's IPC_SUMMARY made into the
 * `detection_summary` event (docs/EVENTS.md) and queued for every printer
 * but the summary printers themselves (never a loop back into a digest).
 *
 * Invariants:
 *  - the message was decoded strictly (ipc/msg.c: the period in order, a
 *    printable model, counts lines of known groups and names, UTF-8 text);
 *    the event is built here with jansson from those typed fields, so a
 *    compromised printer cannot shape the JSON, only fill its strings;
 *  - only a kind whose row names this hook (kinds.c) gets here: any other
 *    printer sending IPC_SUMMARY is killed by its own hook;
 *  - a summary is not a detection: one the backlog cannot take is logged
 *    and dropped, never reported as a loss.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "common/log.h"
#include "common/text.h"
#include "sup.h"

static int64_t real_ns_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static json_int_t clamp(uint64_t v)
{
	return v > (uint64_t)INT64_MAX ? (json_int_t)INT64_MAX : (json_int_t)v;
}

static int64_t ms_to_ns(uint64_t ms)
{
	return ms > (uint64_t)INT64_MAX / 1000000 ? INT64_MAX : (int64_t)ms * 1000000;
}

/* "GROUP\tNAME\tN\n" lines (checked by the decoder) into by_kind and
 * by_importance. */
static json_t *counts_json(const char *c)
{
	json_t *o = json_pack("{s:{}, s:{}}", "by_kind", "by_importance");

	while (o && *c) {
		const char *t1 = strchr(c, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
		const char *nl = t2 ? strchr(t2 + 1, '\n') : NULL;
		char name[65];
		size_t n;

		if (!nl || (n = (size_t)(t2 - t1 - 1)) >= sizeof(name))
			break; /* the decoder refuses this: cannot happen */
		memcpy(name, t1 + 1, n);
		name[n] = '\0';
		json_object_set_new(json_object_get(o, !strncmp(c, "kind", 4) ? "by_kind"
									       : "by_importance"),
				    name, json_integer(clamp(strtoull(t2 + 1, NULL, 10))));
		c = nl + 1;
	}
	return o;
}

int sup_summary_event(struct sup *s, struct sup_proc *p, const struct ipc_msg *m,
		      const char **why)
{
	static uint64_t n;
	char now[64], start[64], end[64], dedup[64];
	json_t *ev, *counts = counts_json(m->u.summary.counts);
	char *out;

	jb_iso_time(real_ns_now(), now, sizeof(now));
	jb_iso_time(ms_to_ns(m->u.summary.start_ms), start, sizeof(start));
	jb_iso_time(ms_to_ns(m->u.summary.end_ms), end, sizeof(end));
	ev = counts ? json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s}, s:I, s:o, s:s, s:s%, "
				"s:s}",
				"timestamp", now, "kind", "detection_summary", "name",
				"Summary of detections", "mechanism", "agent", "importance", "low",
				"hostname", s->hostname, "period", "start", start, "end", end,
				"detections", clamp(m->u.summary.detections), "counts", counts,
				"model", m->u.summary.model, "summary", m->u.summary.text,
				m->u.summary.text_len, "by", p->kind->name)
		    : NULL;
	if (!ev) {
		/* the text was checked as UTF-8: only memory is missing */
		log_warnx("%s: summary of %llu detections dropped: out of memory", p->kind->name,
			  (unsigned long long)m->u.summary.detections);
		return 0;
	}
	out = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(ev);
	if (!out) {
		log_warnx("%s: summary dropped: out of memory", p->kind->name);
		return 0;
	}
	snprintf(dedup, sizeof(dedup), "summary/%llu", (unsigned long long)++n);
	if (sup_router_agent_event_except(s, dedup, out, p->kind) < 0)
		log_warnx("%s: summary of %s .. %s not queued (the backlog is full); a summary is "
			  "not a detection: nothing else is lost", p->kind->name, start, end);
	else
		log_info("%s: summary of %llu detections (%s .. %s) queued", p->kind->name,
			 (unsigned long long)m->u.summary.detections, start, end);
	free(out);
	(void)why;
	return 0;
}
