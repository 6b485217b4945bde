/*
 * query.c - section 3, query cost: the supervisor's own debug line per
 * cadence (query, snapshot and hand-off times, map entries) while the
 * maps hold 1k, 10k and 100k entries, and how the cadence grows per 10x.
 *
 * Invariants:
 *  - its own jibril instance: log_level debug and files/links maps of at
 *    least QC_MIN_ENTRIES, so the fills are not evicted as they grow.
 *  - each level is filled by one storm, then measured over the cadences
 *    after it; the first cadence after the fill (it may have started
 *    during it) is reported apart, not in the medians.
 */
#include <math.h>
#include <stdlib.h>

#include "bench/harness/agents.h"
#include "bench/harness/bench.h"
#include "bench/harness/report.h"
#include "bench/harness/stats.h"
#include "bench/harness/workloads.h"

void section_query(json_t *conf_texts)
{
	struct jib j;
	json_t *S = json_object(), *levels = json_array(), *growth = json_array();
	char *conf_text = NULL;
	double tot[MAX_LEVELS];
	int ok = 1;

	progress("3. query cost: starting jibril (maps >= %u, log_level debug)", QC_MIN_ENTRIES);
	if (jib_start(&j, 1, &conf_text) < 0) {
		error_("section 3 (query cost): jibril did not start");
		json_decref(S);
		json_decref(levels);
		json_decref(growth);
		free(conf_text);
		return;
	}
	if (conf_text)
		json_object_set_new(conf_texts, "query_cost", json_string(conf_text));
	free(conf_text);
	if (jib_wait_cadences(&j, 0, 1, 3 * O.cadence_ms + 5000) < 0) {
		error_("section 3: no cadence line in the debug log");
		ok = 0;
	}
	for (unsigned L = 0; L < O.nlevels && ok; L++) {
		unsigned long long after;
		double q[64], s[64], h[64], t[64], f[64], l[64], tk[64], burst = 0;
		json_t *raw = json_array();
		unsigned n = 0;
		pid_t sp;

		progress("3. query cost: fill %u files", O.levels[L]);
		if (storm(O.d_hay, O.levels[L], 0, 0, &sp, NULL, NULL, NULL) < 0) {
			ok = 0;
			json_decref(raw);
			break;
		}
		after = jib_last_seq(&j);
		/* skip the first cadence after the fill (it may have started during it) */
		if (jib_wait_cadences(&j, after, O.qc_cadences + 1,
				      (O.qc_cadences + 4) * O.cadence_ms + 10000) < 0) {
			error_("section 3: cadence lines stopped (level %u)", O.levels[L]);
			ok = 0;
			json_decref(raw);
			break;
		}
		for (size_t i = 0; i < j.ncad && n < 64; i++) {
			struct cad *c = &j.cads[i];
			if (c->seq <= after)
				continue;
			if (c->handoff > burst)
				burst = c->handoff;
			json_array_append_new(raw, json_pack("{s:I, s:f, s:f, s:f, s:i, s:i, s:i, s:i}", "seq",
							     (json_int_t)c->seq, "query_ms", c->query,
							     "snapshot_ms", c->snap, "handoff_ms", c->handoff,
							     "tasks", (json_int_t)c->tasks, "files",
							     (json_int_t)c->files, "links", (json_int_t)c->links,
							     "sent_links", (json_int_t)c->sent_links));
			if (c->seq == after + 1)
				continue;
			q[n] = c->query;
			s[n] = c->snap;
			h[n] = c->handoff;
			t[n] = c->handoff > c->query + c->snap ? c->handoff : c->query + c->snap;
			f[n] = c->files;
			l[n] = c->links;
			tk[n] = c->tasks;
			n++;
		}
		tot[L] = median(t, (int)n);
		json_array_append_new(levels,
				      json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:f, s:I, s:o}",
						"target", (json_int_t)O.levels[L], "files", jnum(median(f, (int)n)),
						"links", jnum(median(l, (int)n)), "tasks", jnum(median(tk, (int)n)),
						"query_ms", jnum(median(q, (int)n)), "snapshot_ms",
						jnum(median(s, (int)n)), "handoff_ms", jnum(median(h, (int)n)),
						"cadence_ms", jnum(tot[L]), "cadence_max_ms", jnum(vmax(t, (int)n)),
						"first_after_fill_ms", burst, "cadences", (json_int_t)n, "raw", raw));
	}
	jib_stop(&j);
	if (!ok) {
		error_("section 3 (query cost) did not complete");
		json_decref(S);
		json_decref(levels);
		json_decref(growth);
		return;
	}
	for (unsigned L = 1; L < O.nlevels; L++) {
		double dec = log10((double)O.levels[L] / O.levels[L - 1]);
		double r = pow(tot[L] / tot[L - 1], 1.0 / dec);
		json_array_append_new(growth, json_pack("{s:I, s:I, s:o}", "from", (json_int_t)O.levels[L - 1],
							"to", (json_int_t)O.levels[L], "ratio_per_10x",
							jnum(r)));
	}
	json_object_set_new(S, "note", json_string("from the supervisor's debug line per cadence; its "
						   "hand-off figure runs from the start of the query to "
						   "the last worker's acknowledgement, so it includes "
						   "query and snapshot; cadence_ms = max(hand-off, "
						   "query + snapshot); medians over the cadences after "
						   "each fill, the first one after the fill excluded"));
	json_object_set_new(S, "maps", json_pack("{s:I, s:I}", "files",
						 (json_int_t)(O.files > QC_MIN_ENTRIES ? O.files : QC_MIN_ENTRIES),
						 "links",
						 (json_int_t)(O.links > QC_MIN_ENTRIES ? O.links : QC_MIN_ENTRIES)));
	json_object_set_new(S, "agent_cadence_ms", json_integer(O.cadence_ms));
	json_object_set_new(S, "levels", levels);
	json_object_set_new(S, "growth_per_10x", growth);
	json_object_set_new(J, "query_cost", S);
}
