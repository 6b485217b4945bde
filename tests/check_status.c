/*
 * check_status.c - the status document (supervisor/status.c, schema in
 * status.h), the root-only status socket (statsock.c) and `jibril status`.
 *
 * "document": a struct sup of the test's own (no BPF, no children): every
 * key of the schema with its type, a printer's counters across restarts,
 * escaping, and the cost of one build.
 * "agent" (root, one shared agent): the document of a running agent against
 * /proc (pid, uid, parent, comm of each child), a worker killed from outside
 * (new pid and generation, restarts +1 with reason "killed"), the file
 * printer's delivered count, the table and --json of `jibril status`, the
 * socket's owner and mode, a client that is not root refused; a stale
 * socket file replaced at start and a second agent refused.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "supervisor/status.h"
#include "supervisor/sup.h"

/* --- the document, without an agent ------------------------------------------------ */

static struct sup S;

static void fake_sup(void)
{
	memset(&S, 0, sizeof(S));
	jb_config_defaults(&S.cfg);
	S.kinds = jb_kinds;
	S.nkinds = jb_nkinds;
	snprintf(S.hostname, sizeof(S.hostname), "h\"o\\st\n\x01\xc3\xa9");
	S.started_s = 1700000000;
	S.started_ms = sup_now_ms() - 5000;
	for (size_t i = 0; i < jb_nkinds; i++) {
		struct sup_proc *p = &S.procs[S.nprocs];

		p->sup = &S;
		p->kind = &jb_kinds[i];
		p->index = S.nprocs++;
		p->uid = 0x70000000u + (uint32_t)i;
		p->pid = -1;
	}
	ck_assert_int_eq(sup_router_init(&S), 0);
}

static json_t *build(void)
{
	json_error_t jerr;
	size_t len = 0;
	char *doc = sup_status_json(&S, &len);
	json_t *j;

	ck_assert_ptr_nonnull(doc);
	ck_assert_uint_eq(strlen(doc), len);
	j = json_loadb(doc, len, JSON_REJECT_DUPLICATES, &jerr);
	ck_assert_msg(j != NULL, "not JSON (%s at %d): %s", jerr.text, jerr.position, doc);
	free(doc);
	return j;
}

/* "key:t" pairs, t: i integer, s string, b boolean, a array, o object,
 * n number, I integer or null, S string or null */
static void has_keys(json_t *o, const char *what, const char *const *keys)
{
	ck_assert_msg(json_is_object(o), "%s is not an object", what);
	for (; *keys; keys++) {
		char k[64];
		const char *colon = strchr(*keys, ':');
		json_t *v;
		int ok = 0;

		snprintf(k, sizeof(k), "%.*s", (int)(colon - *keys), *keys);
		v = json_object_get(o, k);
		ck_assert_msg(v != NULL, "%s: no key %s", what, k);
		switch (colon[1]) {
		case 'i': ok = json_is_integer(v) && json_integer_value(v) >= 0; break;
		case 's': ok = json_is_string(v); break;
		case 'b': ok = json_is_boolean(v); break;
		case 'a': ok = json_is_array(v); break;
		case 'o': ok = json_is_object(v); break;
		case 'n': ok = json_is_number(v); break;
		case 'I': ok = json_is_null(v) || json_is_integer(v); break;
		case 'S': ok = json_is_null(v) || json_is_string(v); break;
		}
		ck_assert_msg(ok, "%s: %s has the wrong type", what, k);
	}
}

static const char *const top_keys[] = {
	"version:i", "agent:o", "children:a", "restarts:a", "cadence_seconds:o", "maps:a",
	"kernel_loss:a", "detections:a", "suppressed:a", "data_loss:a", "router:o",
	"printers:a", NULL};
static const char *const agent_keys[] = {
	"pid:i", "hostname:s", "started:s", "uptime_s:i", "mono_ms:i", "cadence_ms:i",
	"last_cadence_mono_ms:i", "stopping:b", "bpf:o", NULL};
static const char *const bpf_keys[] = {"backend:s", "pin_dir:S", "resumed:b", NULL};
static const char *const child_keys[] = {
	"kind:s", "role:s", "state:s", "pid:I", "generation:i", "uid:i", "restarts:i",
	"backoff_ms:i", "last_heartbeat_ms_ago:I", "processed:i", "detections:i", NULL};
static const char *const restart_keys[] = {"kind:s", "reason:s", "count:i", NULL};
static const char *const cadence_keys[] = {"le:a", "counts:a", "count:i", "sum:n", NULL};
static const char *const map_keys[] = {"name:s", "entries:i", "max_entries:i", "evictions:i",
				       NULL};
static const char *const kloss_keys[] = {"counter:s", "count:i", NULL};
static const char *const kind_keys[] = {"kind:s", "count:i", NULL};
static const char *const loss_keys[] = {"who:s", "cause:s", "count:i", NULL};
static const char *const router_keys[] = {"backlog_lines:i", "backlog_bytes:i", NULL};
static const char *const printer_keys[] = {
	"kind:s", "unacked_lines:i", "queue_lines:i", "queue_bytes:i", "spool_lines:i",
	"spool_bytes:i", "delivered:i", "retries:i", "rejected:i", NULL};

static void each_has(json_t *doc, const char *arr, const char *const *keys)
{
	json_t *a = json_object_get(doc, arr), *v;
	size_t i;

	json_array_foreach(a, i, v) {
		char what[64];
		snprintf(what, sizeof(what), "%s[%zu]", arr, i);
		has_keys(v, what, keys);
	}
}

/* Every key of status.h, with its type, in a document (shared with the
 * agent tests, and what `jibril status --json` must print). */
static void schema_complete(json_t *doc)
{
	const char *states[] = {"ready", "spawning", "handshake", "stopping", "idle",
				"throttled", "disabled"};
	json_t *v, *c = json_object_get(doc, "cadence_seconds");
	size_t i;

	has_keys(doc, "document", top_keys);
	ck_assert_int_eq(json_integer_value(json_object_get(doc, "version")), SUP_STATUS_VERSION);
	has_keys(json_object_get(doc, "agent"), "agent", agent_keys);
	has_keys(json_object_get(json_object_get(doc, "agent"), "bpf"), "agent.bpf", bpf_keys);
	each_has(doc, "children", child_keys);
	each_has(doc, "restarts", restart_keys);
	has_keys(c, "cadence_seconds", cadence_keys);
	ck_assert_uint_eq(json_array_size(json_object_get(c, "le")), 11);
	ck_assert_uint_eq(json_array_size(json_object_get(c, "counts")), 11);
	each_has(doc, "maps", map_keys);
	ck_assert_uint_eq(json_array_size(json_object_get(doc, "maps")), SUP_MAP_MAX);
	each_has(doc, "kernel_loss", kloss_keys);
	each_has(doc, "detections", kind_keys);
	each_has(doc, "suppressed", kind_keys);
	each_has(doc, "data_loss", loss_keys);
	has_keys(json_object_get(doc, "router"), "router", router_keys);
	each_has(doc, "printers", printer_keys);
	json_array_foreach(json_object_get(doc, "children"), i, v) {
		const char *st = json_string_value(json_object_get(v, "state"));
		size_t k;

		for (k = 0; k < sizeof(states) / sizeof(states[0]) && strcmp(st, states[k]); k++)
			;
		ck_assert_msg(k < sizeof(states) / sizeof(states[0]), "state %s", st);
	}
	json_array_foreach(json_object_get(doc, "restarts"), i, v) {
		const char *r = json_string_value(json_object_get(v, "reason"));
		ck_assert_msg(!strcmp(r, "crash") || !strcmp(r, "hang") || !strcmp(r, "killed") ||
			      !strcmp(r, "protocol") || !strcmp(r, "planned") || !strcmp(r, "other"),
			      "reason %s", r);
	}
}

static json_t *find_in(json_t *doc, const char *arr, const char *key, const char *val)
{
	json_t *v;
	size_t i;

	json_array_foreach(json_object_get(doc, arr), i, v)
		if (!strcmp(json_string_value(json_object_get(v, key)) ?: "", val))
			return v;
	return NULL;
}

static uint64_t geti(json_t *o, const char *key)
{
	return (uint64_t)json_integer_value(json_object_get(o, key));
}

START_TEST(doc_has_every_key)
{
	json_t *doc, *v;

	fake_sup();
	S.procs[0].state = ST_READY;
	S.procs[0].pid = 4242;
	S.procs[0].generation = 3;
	S.procs[0].last_beat_ms = sup_now_ms() - 100;
	S.procs[0].restarts[SUP_RESTART_KILLED] = 2;
	S.procs[0].restarts[SUP_RESTART_CRASH] = 1;
	S.procs[1].state = ST_IDLE;
	S.procs[1].restart_delay_ms = 640;
	sup_router_count_loss(&S, "kernel", "kernel_evicted", "records", 7, NULL);
	doc = build();
	schema_complete(doc);
	ck_assert_uint_eq(json_array_size(json_object_get(doc, "children")), jb_nkinds);
	ck_assert_uint_eq(json_array_size(json_object_get(doc, "restarts")),
			  jb_nkinds * SUP_RESTART_MAX);
	/* values where they belong */
	v = json_array_get(json_object_get(doc, "children"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(v, "kind")), jb_kinds[0].name);
	ck_assert_str_eq(json_string_value(json_object_get(v, "state")), "ready");
	ck_assert_uint_eq(geti(v, "pid"), 4242);
	ck_assert_uint_eq(geti(v, "generation"), 3);
	ck_assert_uint_eq(geti(v, "restarts"), 3);
	ck_assert_uint_eq(geti(v, "uid"), 0x70000000u);
	ck_assert_uint_ge(geti(v, "last_heartbeat_ms_ago"), 100);
	ck_assert_uint_lt(geti(v, "last_heartbeat_ms_ago"), 5000);
	v = json_array_get(json_object_get(doc, "children"), 1);
	ck_assert(json_is_null(json_object_get(v, "pid")));
	ck_assert(json_is_null(json_object_get(v, "last_heartbeat_ms_ago")));
	ck_assert_uint_eq(geti(v, "backoff_ms"), 640);
	v = find_in(doc, "data_loss", "cause", "kernel_evicted");
	ck_assert_ptr_nonnull(v);
	ck_assert_uint_eq(geti(v, "count"), 7);
	ck_assert_str_eq(json_string_value(json_object_get(v, "who")), "kernel");
	v = json_object_get(doc, "agent");
	ck_assert_str_eq(json_string_value(json_object_get(v, "started")), "2023-11-14T22:13:20Z");
	ck_assert_uint_ge(geti(v, "uptime_s"), 5);
	ck_assert_uint_eq(geti(v, "pid"), (uint64_t)getpid());
	/* the host name's quote, backslash and control bytes escaped, the
	 * non-ASCII bytes made '?' (status.c) */
	ck_assert_str_eq(json_string_value(json_object_get(v, "hostname")), "h\"o\\st\n\x01??");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(v, "bpf"), "backend")),
			 "none");
	json_decref(doc);
	sup_router_free(&S);
}
END_TEST

static struct sup_proc *printer_slot(void)
{
	for (int i = 0; i < S.nprocs; i++)
		if (S.procs[i].kind->role == IPC_ROLE_PRINTER)
			return &S.procs[i];
	ck_abort_msg("no printer kind in the table");
	return NULL;
}

static void stats(struct sup_proc *p, uint64_t q, uint64_t spool, uint64_t delivered,
		  uint64_t retries)
{
	struct ipc_msg m;

	memset(&m, 0, sizeof(m));
	m.type = IPC_PRN_STATS;
	m.u.prn_stats.queue_lines = q;
	m.u.prn_stats.queue_bytes = q * 100;
	m.u.prn_stats.spool_lines = spool;
	m.u.prn_stats.spool_bytes = spool * 100;
	m.u.prn_stats.delivered = delivered;
	m.u.prn_stats.retries = retries;
	sup_status_prn_stats(p, &m);
}

/* A printer's counters are its process's; the document adds those of the
 * generations before it, and its memory queue is gone with its process. */
START_TEST(doc_printer_counters_survive_restarts)
{
	struct sup_proc *p;
	json_t *doc, *v;

	fake_sup();
	p = printer_slot();
	p->state = ST_READY;
	p->generation = 1;
	stats(p, 4, 10, 50, 2);
	stats(p, 3, 11, 60, 3); /* the same process: figures replaced */
	doc = build();
	v = find_in(doc, "printers", "kind", p->kind->name);
	ck_assert_ptr_nonnull(v);
	ck_assert_uint_eq(geti(v, "delivered"), 60);
	ck_assert_uint_eq(geti(v, "retries"), 3);
	ck_assert_uint_eq(geti(v, "queue_lines"), 3);
	ck_assert_uint_eq(geti(v, "queue_bytes"), 300);
	ck_assert_uint_eq(geti(v, "spool_lines"), 11);
	json_decref(doc);
	/* it ended: its memory went with it, its spool stays */
	p->state = ST_IDLE;
	doc = build();
	v = find_in(doc, "printers", "kind", p->kind->name);
	ck_assert_uint_eq(geti(v, "queue_lines"), 0);
	ck_assert_uint_eq(geti(v, "spool_lines"), 11);
	ck_assert_uint_eq(geti(v, "delivered"), 60);
	json_decref(doc);
	/* its successor counts from 0 again */
	p->state = ST_READY;
	p->generation = 2;
	stats(p, 1, 5, 7, 0);
	doc = build();
	v = find_in(doc, "printers", "kind", p->kind->name);
	ck_assert_uint_eq(geti(v, "delivered"), 67);
	ck_assert_uint_eq(geti(v, "retries"), 3);
	ck_assert_uint_eq(geti(v, "queue_lines"), 1);
	json_decref(doc);
	sup_router_free(&S);
}
END_TEST

/* Built every cadence for the exporter: it must stay cheap (status.c). */
START_TEST(doc_is_cheap)
{
	struct timespec a, b;
	double us;
	size_t len;
	int n = 2000;

	fake_sup();
	for (int i = 0; i < 20; i++) {
		char who[16];
		snprintf(who, sizeof(who), "w%d", i);
		sup_router_count_loss(&S, who, "backlog_share_full", "detections", 1, NULL);
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < n; i++)
		free(sup_status_json(&S, &len));
	clock_gettime(CLOCK_MONOTONIC, &b);
	us = ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / 1e3 / n;
	fprintf(stderr, "check_status: one document (%zu bytes) in %.1f us\n", len, us);
	/* ~100 us is the budget; 1 ms leaves room for a loaded CI machine */
	ck_assert_msg(us < 1000, "one document took %.1f us", us);
	sup_router_free(&S);
}
END_TEST

/* ------------------------------------------------------------------------- */

static Suite *status_suite(void)
{
	Suite *s = suite_create("status");
	TCase *tc = tcase_create("document");

	tcase_add_test(tc, doc_has_every_key);
	tcase_add_test(tc, doc_printer_counters_survive_restarts);
	tcase_add_test(tc, doc_is_cheap);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(status_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
