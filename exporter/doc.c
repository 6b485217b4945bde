/*
 * doc.c - the status document as the exporter receives it (IPC_STATUS):
 * input from another process, so parsed with limits and checked before
 * anything reads it (fuzz/fuzz_expdoc.c).
 *
 * Invariants:
 *  - accepted: one JSON object (no trailing data, no duplicate keys, no
 *    NUL in a string) of at most IPC_MAX_STR bytes, "version" 1, "agent"
 *    an object whose mono_ms and cadence_ms are non-negative integers
 *    (what /healthz needs); everything else is optional and checked where
 *    it is read (metrics.c, health.c skip what has the wrong type).
 *  - nesting is bounded by jansson (JSON_PARSER_MAX_DEPTH) and the size by
 *    the IPC message: the parse allocates O(len).
 */
#include <stdio.h>
#include <string.h>

#include "exporter/exporter.h"
#include "ipc/msg.h"

static int nonneg_int(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_integer(v) && json_integer_value(v) >= 0;
}

json_t *exp_doc_parse(const char *text, size_t len, char *err, size_t errlen)
{
	json_error_t je;
	json_t *doc, *agent, *ver;

	if (len > IPC_MAX_STR) {
		snprintf(err, errlen, "document of %zu bytes (at most %d)", len, IPC_MAX_STR);
		return NULL;
	}
	doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!doc) {
		snprintf(err, errlen, "not JSON: %.80s (offset %d)", je.text, je.position);
		return NULL;
	}
	ver = json_object_get(doc, "version");
	agent = json_object_get(doc, "agent");
	if (!json_is_object(doc))
		snprintf(err, errlen, "not a JSON object");
	else if (!json_is_integer(ver) || json_integer_value(ver) != 1)
		snprintf(err, errlen, "version is not 1");
	else if (!json_is_object(agent) || !nonneg_int(agent, "mono_ms") ||
		 !nonneg_int(agent, "cadence_ms"))
		snprintf(err, errlen, "agent.mono_ms and agent.cadence_ms are not integers >= 0");
	else
		return doc;
	json_decref(doc);
	return NULL;
}
