/*
 * health.c - the /healthz verdict from the latest status document and the
 * exporter's own clock.
 *
 * Healthy when:
 *  - a document arrived, the agent is not stopping, and the document is
 *    fresh: built (agent.mono_ms, CLOCK_MONOTONIC, one clock for the whole
 *    host) at most two cadences ago, and never less than EXP_FRESH_MIN_MS
 *    (a 50 ms cadence would flap on a loaded host). The supervisor sends
 *    one after every cadence: a supervisor whose loop is wedged or stopped
 *    stops sending, and the document ages;
 *  - every child in it (one per enabled kind) is READY, or restarting
 *    (idle, throttled, spawning, handshake, stopping) with a back-off below
 *    the limit (healthz_backoff_ms). A DISABLED kind is unhealthy.
 * The reason is one line naming the first thing wrong; pure function of
 * its arguments (check_exporter and the fuzz harness drive it).
 */
#include <stdio.h>
#include <string.h>

#include "exporter/exporter.h"

static long long int_of(const json_t *o, const char *key, long long dflt)
{
	const json_t *v = json_object_get(o, key);

	return json_is_integer(v) ? json_integer_value(v) : dflt;
}

static const char *str_of(const json_t *o, const char *key, const char *dflt)
{
	const json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : dflt;
}

static uint64_t fresh_ms(long long cadence)
{
	uint64_t f = cadence > 86400000 ? 172800000 : (uint64_t)cadence * 2;

	return f < EXP_FRESH_MIN_MS ? EXP_FRESH_MIN_MS : f;
}

int exp_doc_fresh(const json_t *doc, uint64_t now_ms)
{
	const json_t *agent = json_object_get(doc, "agent");
	long long mono = int_of(agent, "mono_ms", -1), cadence = int_of(agent, "cadence_ms", -1);

	if (!doc || mono < 0 || cadence < 0)
		return 0;
	return now_ms <= (uint64_t)mono || now_ms - (uint64_t)mono <= fresh_ms(cadence);
}

static int verdict(const json_t *doc, uint64_t now_ms, uint64_t backoff_limit_ms, char *reason,
		   size_t len)
{
	const json_t *agent = json_object_get(doc, "agent"), *kids, *c;
	long long mono, cadence;
	size_t i;

	if (!doc || !json_is_object(agent)) {
		snprintf(reason, len, "no status from the supervisor yet");
		return 0;
	}
	mono = int_of(agent, "mono_ms", -1);
	cadence = int_of(agent, "cadence_ms", -1);
	if (mono < 0 || cadence < 0) {
		snprintf(reason, len, "no status from the supervisor yet");
		return 0;
	}
	if (!exp_doc_fresh(doc, now_ms)) {
		snprintf(reason, len, "supervisor loop silent for %.1f s",
			 (double)(now_ms - (uint64_t)mono) / 1000.0);
		return 0;
	}
	if (json_is_true(json_object_get(agent, "stopping"))) {
		snprintf(reason, len, "agent stopping");
		return 0;
	}
	kids = json_object_get(doc, "children");
	json_array_foreach(kids, i, c) {
		const char *kind = str_of(c, "kind", "?"), *role = str_of(c, "role", "child"),
			   *state = str_of(c, "state", "?");
		long long backoff = int_of(c, "backoff_ms", 0);

		if (!strcmp(state, "ready"))
			continue;
		if (!strcmp(state, "disabled")) {
			snprintf(reason, len, "%.16s %.64s: disabled, not restarted", role, kind);
			return 0;
		}
		if (backoff < 0 || (uint64_t)backoff >= backoff_limit_ms) {
			snprintf(reason, len, "%.16s %.64s: %s, back-off %.1f s", role, kind,
				 !strcmp(state, "throttled") ? "throttled after a bad start"
							     : "restarting",
				 (double)backoff / 1000.0);
			return 0;
		}
	}
	snprintf(reason, len, "ok");
	return 1;
}

int exp_health(const json_t *doc, uint64_t now_ms, uint64_t backoff_limit_ms, char *reason,
	       size_t len)
{
	int ok = verdict(doc, now_ms, backoff_limit_ms, reason, len);

	/* one line, whatever a kind name held */
	for (char *c = reason; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	return ok;
}
