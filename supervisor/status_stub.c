/*
 * status_stub.c - a stand-in for sup_status_json (supervisor/status.h)
 * until the status module lands: the agent and its children only, the
 * rest of the document empty. Weak: the real builder replaces it at link
 * time. Delete this file when supervisor/status.c is merged.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "supervisor/status.h"
#include "sup.h"

static const char *state_name(enum sup_state st)
{
	static const char *const names[] = {
		[ST_IDLE] = "idle",	      [ST_SPAWNING] = "spawning", [ST_HANDSHAKE] = "handshake",
		[ST_READY] = "ready",	      [ST_STOPPING] = "stopping", [ST_THROTTLED] = "throttled",
		[ST_DISABLED] = "disabled",
	};

	return (unsigned)st < sizeof(names) / sizeof(names[0]) ? names[st] : "idle";
}

__attribute__((weak)) char *sup_status_json(struct sup *s, size_t *len)
{
	uint64_t now = sup_now_ms();
	json_t *kids = json_array(), *doc;
	char *text;

	for (int i = 0; kids && i < s->nprocs; i++) {
		const struct sup_proc *p = &s->procs[i];

		json_array_append_new(
			kids, json_pack("{s:s,s:s,s:s,s:o,s:I,s:I,s:I,s:I,s:o,s:I,s:I}", "kind",
					p->kind->name, "role", ipc_role_name(p->kind->role), "state",
					state_name(p->state), "pid",
					p->pid > 0 ? json_integer(p->pid) : json_null(), "generation",
					(json_int_t)p->generation, "uid", (json_int_t)p->uid,
					"restarts", (json_int_t)0, "backoff_ms",
					(json_int_t)(p->state == ST_THROTTLED ? s->cfg.throttle_ms
									      : p->backoff_ms),
					"last_heartbeat_ms_ago",
					p->state == ST_READY && now >= p->last_beat_ms
						? json_integer((json_int_t)(now - p->last_beat_ms))
						: json_null(),
					"processed", (json_int_t)p->processed, "detections",
					(json_int_t)p->detections));
	}
	doc = json_pack("{s:i,s:{s:i,s:s,s:I,s:I,s:I,s:b},s:o}", "version", SUP_STATUS_VERSION,
			"agent", "pid", (int)getpid(), "hostname", s->hostname, "mono_ms",
			(json_int_t)now, "cadence_ms", (json_int_t)s->cfg.cadence_ms,
			"last_cadence_mono_ms", (json_int_t)0, "stopping", s->stopping_since_ms != 0,
			"children", kids ? kids : json_array());
	text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (text)
		*len = strlen(text);
	return text;
}
