/*
 * reference.c - section 5 with the reference streaming agent: the needle
 * (does a `cat /etc/shadow` in a storm reach it through its ring buffer?)
 * and the distinct (process, file) pairs it captured of a storm that fits.
 *
 * Invariants:
 *  - the same storms, file sets and per-trial cats as jibril's part
 *    (default_agent.c; both run agents.c's needle_trials()), one refagent
 *    instance per part.
 *  - a needle counts as seen when its HIT line arrives within 2 s of the
 *    storm's end (refagent drains its ring every 100 ms).
 *  - the pairs figure is the lines of its pairs file that name the
 *    storm's pid: its own "pairs" counts every path it saw.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/harness/agents.h"
#include "bench/harness/bench.h"
#include "bench/harness/report.h"
#include "bench/harness/stats.h"
#include "bench/harness/workloads.h"
#include "tests/lib/clock.h"
#include "tests/lib/file.h"

static void poll_ref(void *r, struct seen *hits)
{
	ref_poll(r); /* its HIT lines go to its own hits */
}

/* the needle; -1 when refagent did not start */
static int ref_needle(json_t *N)
{
	struct ref r;
	const char *watch[] = {"--watch", "/etc/shadow", NULL};
	json_t *trials;
	int seen_n;

	progress("5. needle: refagent (ring %u KiB), %u storms", O.ring_kb, O.needle_trials);
	if (ref_start(&r, watch) < 0) {
		error_("section 5 (needle, refagent) did not complete");
		return -1;
	}
	trials = needle_trials(&r.hits, poll_ref, &r, 2000, "seen", &seen_n);
	if (ref_stop(&r) < 0 || !trials) {
		error_("section 5 (needle, refagent) did not complete");
		json_decref(trials);
	} else {
		json_object_set_new(N, "refagent",
				    json_pack("{s:I, s:I, s:I, s:o, s:O, s:o}", "seen", (json_int_t)seen_n,
					      "trials", (json_int_t)O.needle_trials, "ring_kb",
					      (json_int_t)O.ring_kb, "dropped",
					      jnum(jd(r.summary, "dropped")), "summary", r.summary,
					      "detail", trials));
	}
	json_decref(r.summary);
	return 0;
}

/* lines of the pairs file ("tgid path" each), and those of pid */
static void count_lines(const char *file, pid_t pid, long *lines, long *of_pid)
{
	char *s = tl_slurp(file, NULL);

	*lines = *of_pid = 0;
	for (char *l = s; l && *l;) {
		char *nl = strchr(l, '\n');
		(*lines)++;
		if (atoi(l) == pid)
			(*of_pid)++;
		if (!nl)
			break;
		l = nl + 1;
	}
	free(s);
}

static void ref_pairs(json_t *P)
{
	struct ref r;
	char pf[PATH_MAX], prefix[160];
	const char *args[] = {"--pairs-out", pf, "--pairs-prefix", prefix, NULL};
	pid_t sp = -1;
	int ok;

	snprintf(pf, sizeof(pf), "%s/refagent.pairs", O.tmp);
	snprintf(prefix, sizeof(prefix), "%s/", O.d_pairs);
	progress("5. pairs: refagent (ring %u KiB), storm over %u files", O.ring_kb, O.pairs_files);
	if (ref_start(&r, args) < 0) {
		error_("section 5 (pairs, refagent) did not complete");
		return;
	}
	ok = storm(O.d_pairs, O.pairs_files, 0, 0, &sp, NULL, NULL, NULL) == 0;
	tl_sleep_ms(300);
	if (ref_stop(&r) < 0 || !ok) {
		error_("section 5 (pairs, refagent) did not complete");
	} else {
		long lines, storm_lines;
		double k;

		/* its "pairs" counts every path it saw; the file holds those under
		 * the prefix, one "tgid path" line each: the storm's are the figure */
		count_lines(pf, sp, &lines, &storm_lines);
		k = (double)storm_lines;
		json_object_set_new(P, "refagent",
				    json_pack("{s:o, s:o, s:o, s:I, s:O}", "pairs", jnum(k), "pct",
					      jnum(100.0 * k / O.pairs_files), "dropped",
					      jnum(jd(r.summary, "dropped")), "pairs_file_lines",
					      (json_int_t)lines, "summary", r.summary));
	}
	json_decref(r.summary);
}

void section_ref(void)
{
	json_t *N = report_needle(), *P = report_pairs();

	if (ref_needle(N) == 0)
		ref_pairs(P);
}
