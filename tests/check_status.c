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

#include <grp.h>
#include <jansson.h>

#include "agent_harness.h"
#include "lib/procfs.h"
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

/* --- a running agent ------------------------------------------------------------ */

#define READY_MS 30000
#define STOP_MS 5000
#define POLL_MS 10000

static struct jbh_agent A;
static char stale_dir[64], stale_sock[96];

/* `jibril status [--json] --conf CONF` as uid (0: root): its exit status,
 * and what it printed (malloc'd) in *out, its stderr in *err */
static int run_status(const char *conf, int json, uid_t uid, char **out, char **err)
{
	char o[] = "/tmp/jbstatus-out.XXXXXX", e[] = "/tmp/jbstatus-err.XXXXXX";
	int fo = mkstemp(o), fe = mkstemp(e), st;
	pid_t pid;

	ck_assert(fo >= 0 && fe >= 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char *argv[] = {"jibril", "status", "--conf", (char *)conf, json ? "--json" : NULL,
				NULL};
		dup2(fo, 1);
		dup2(fe, 2);
		if (uid && (setgroups(0, NULL) < 0 || setgid(uid) < 0 || setuid(uid) < 0))
			_exit(120);
		execv(jbh_bin(), argv);
		_exit(121);
	}
	st = jbh_wait_exit(pid, 10000);
	close(fo);
	close(fe);
	*out = jbh_slurp(o, NULL);
	*err = jbh_slurp(e, NULL);
	unlink(o);
	unlink(e);
	ck_assert(*out && *err);
	ck_assert_msg(WIFEXITED(st), "jibril status did not exit (wait status %d)", st);
	return WEXITSTATUS(st);
}

/* The agent's document through `jibril status --json`. */
static json_t *agent_doc(void)
{
	json_error_t jerr;
	char *out, *err;
	json_t *doc;
	int rc = run_status(A.conf, 1, 0, &out, &err);

	ck_assert_msg(rc == 0, "jibril status --json: exit %d: %s", rc, err);
	doc = json_loads(out, JSON_REJECT_DUPLICATES, &jerr);
	ck_assert_msg(doc != NULL, "not JSON (%s): %s", jerr.text, out);
	free(out);
	free(err);
	return doc;
}

static int all_ready(json_t *doc)
{
	json_t *v;
	size_t i;

	json_array_foreach(json_object_get(doc, "children"), i, v)
		if (strcmp(json_string_value(json_object_get(v, "state")), "ready"))
			return 0;
	return 1;
}

/* Its directory first, then a socket bound there and closed unlistened:
 * what a supervisor that crashed leaves (connect: ECONNREFUSED). */
static void make_stale_socket(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	snprintf(stale_dir, sizeof(stale_dir), "/tmp/jbstatus.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(stale_dir));
	snprintf(stale_sock, sizeof(stale_sock), "%s/status.sock", stale_dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", stale_sock);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	close(fd);
}

static void shared_up(void)
{
	struct jbh_opts o = {.status_socket = stale_sock};

	make_stale_socket();
	jbh_start_ready(&A, &o, READY_MS);
}

static void shared_down(void)
{
	jbh_reap(&A);
	unlink(stale_sock);
	rmdir(stale_dir);
}

static void shared(void)
{
	ck_assert_msg(jbh_running(&A), "the shared supervisor is gone (log %s)", A.log);
}

/* A supervisor that crashed left its socket: the next one replaces it. */
START_TEST(test_stale_socket_replaced)
{
	struct stat st;
	json_t *doc;

	shared();
	ck_assert_msg(jbh_log_has(&A, "replaced a stale one"), "log %s", A.log);
	/* root's, 0600, a socket; its directory root's and closed to others */
	ck_assert_int_eq(lstat(stale_sock, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_uint_eq(st.st_uid, 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert_int_eq(stat(stale_dir, &st), 0);
	ck_assert_uint_eq(st.st_uid, 0);
	ck_assert_uint_eq(st.st_mode & 022, 0);
	doc = agent_doc();
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(doc, "agent"), "pid")),
			 A.pid);
	json_decref(doc);
}
END_TEST

/* Every child in the document is the process /proc shows: alive, the
 * supervisor's child, its kind's own uid, named jb-KIND. */
START_TEST(test_children_match_proc)
{
	uint64_t deadline = jbh_now_ms() + POLL_MS;
	json_t *doc = agent_doc(), *v;
	size_t i;

	shared();
	/* the first query comes a cadence after the loop starts: wait for it */
	while (!geti(json_object_get(doc, "agent"), "last_cadence_mono_ms") &&
	       jbh_now_ms() < deadline) {
		json_decref(doc);
		jbh_sleep_ms(50);
		doc = agent_doc();
	}
	schema_complete(doc);
	ck_assert_uint_eq(json_array_size(json_object_get(doc, "children")), (size_t)A.nkinds);
	for (int k = 0; k < A.nkinds; k++)
		ck_assert_msg(find_in(doc, "children", "kind", A.kinds[k]), "no child %s", A.kinds[k]);
	ck_assert(all_ready(doc));
	json_array_foreach(json_object_get(doc, "children"), i, v) {
		const char *kind = json_string_value(json_object_get(v, "kind"));
		pid_t pid = (pid_t)geti(v, "pid");
		char path[64], comm[32], *status, *uidl;
		struct tl_stat st;
		size_t row;

		for (row = 0; row < jb_nkinds && strcmp(jb_kinds[row].name, kind); row++)
			;
		ck_assert_uint_lt(row, jb_nkinds);
		ck_assert_msg(tl_proc_stat(pid, &st) == 0, "%s: pid %d is not there", kind, (int)pid);
		ck_assert_int_eq(st.ppid, A.pid);
		snprintf(comm, sizeof(comm), "jb-%s", kind);
		comm[15] = '\0';
		ck_assert_str_eq(st.comm, comm);
		snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
		status = jbh_slurp(path, NULL);
		ck_assert_ptr_nonnull(status);
		uidl = strstr(status, "\nUid:\t");
		ck_assert_ptr_nonnull(uidl);
		ck_assert_uint_eq(strtoull(uidl + 6, NULL, 10), JB_CONF_UID_BASE + row);
		ck_assert_uint_eq(geti(v, "uid"), JB_CONF_UID_BASE + row);
		ck_assert_uint_ge(geti(v, "generation"), 1);
		ck_assert_str_eq(json_string_value(json_object_get(v, "role")),
				 ipc_role_name(jb_kinds[row].role));
		ck_assert_msg(json_is_integer(json_object_get(v, "last_heartbeat_ms_ago")) &&
			      geti(v, "last_heartbeat_ms_ago") < 2000, "%s: heartbeat", kind);
		free(status);
	}
	v = json_object_get(doc, "agent");
	ck_assert_int_eq(json_integer_value(json_object_get(v, "pid")), A.pid);
	ck_assert_int_eq(json_integer_value(json_object_get(v, "cadence_ms")), 200);
	ck_assert_msg(json_integer_value(json_object_get(v, "last_cadence_mono_ms")) > 0, "agent: %s", json_dumps(v, 0));
	ck_assert_int_gt(geti(json_object_get(doc, "cadence_seconds"), "count"), 0);
	v = find_in(doc, "maps", "name", "jb_tasks");
	ck_assert_ptr_nonnull(v);
	ck_assert_uint_gt(geti(v, "entries"), 0); /* back-filled from /proc */
	ck_assert_uint_eq(geti(v, "max_entries"), 8192);
	json_decref(doc);
}
END_TEST

/* The table names every kind, the maps and the printers. */
START_TEST(test_table_names_every_kind)
{
	char *out, *err;
	int rc;

	shared();
	rc = run_status(A.conf, 0, 0, &out, &err);
	ck_assert_msg(rc == 0, "jibril status: exit %d: %s", rc, err);
	for (int k = 0; k < A.nkinds; k++)
		ck_assert_msg(strstr(out, A.kinds[k]) != NULL, "no %s in:\n%s", A.kinds[k], out);
	ck_assert_msg(strstr(out, "jb_tasks") && strstr(out, "PRINTER") && strstr(out, "ready") &&
		      strstr(out, "router backlog"), "table:\n%s", out);
	free(out);
	free(err);
}
END_TEST

static json_t *child_of(json_t *doc, const char *kind)
{
	json_t *v = find_in(doc, "children", "kind", kind);

	ck_assert_msg(v != NULL, "no child %s", kind);
	return v;
}

static uint64_t restarts_of(json_t *doc, const char *kind, const char *reason)
{
	json_t *v;
	size_t i;

	json_array_foreach(json_object_get(doc, "restarts"), i, v)
		if (!strcmp(json_string_value(json_object_get(v, "kind")), kind) &&
		    !strcmp(json_string_value(json_object_get(v, "reason")), reason))
			return geti(v, "count");
	ck_abort_msg("no restarts entry for %s %s", kind, reason);
	return 0;
}

/* kill -9 of a worker: the document shows its successor, a new
 * generation, and one more restart, "killed" (from outside). */
START_TEST(test_killed_worker_shows)
{
	json_t *doc = agent_doc(), *v;
	uint64_t gen, restarts, killed, deadline = jbh_now_ms() + POLL_MS;
	pid_t old;
	int seen = 0;

	shared();
	v = child_of(doc, "network");
	old = (pid_t)geti(v, "pid");
	gen = geti(v, "generation");
	restarts = geti(v, "restarts");
	killed = restarts_of(doc, "network", "killed");
	json_decref(doc);
	ck_assert_int_eq(kill(old, SIGKILL), 0);
	while (!seen && jbh_now_ms() < deadline) {
		doc = agent_doc();
		v = child_of(doc, "network");
		if (json_is_integer(json_object_get(v, "pid")) && (pid_t)geti(v, "pid") != old &&
		    !strcmp(json_string_value(json_object_get(v, "state")), "ready")) {
			seen = 1;
			ck_assert_uint_eq(geti(v, "generation"), gen + 1);
			ck_assert_uint_eq(geti(v, "restarts"), restarts + 1);
			ck_assert_uint_eq(restarts_of(doc, "network", "killed"), killed + 1);
			ck_assert_uint_eq(restarts_of(doc, "network", "crash"), 0);
			ck_assert(!jbh_pid_gone((pid_t)geti(v, "pid")));
		}
		json_decref(doc);
		if (!seen)
			jbh_sleep_ms(50);
	}
	ck_assert_msg(seen, "the status never showed network's successor of %d", (int)old);
}
END_TEST

static uint64_t delivered_of(json_t *doc, const char *kind)
{
	json_t *v = find_in(doc, "printers", "kind", kind);

	ck_assert_msg(v != NULL, "no printer %s", kind);
	return geti(v, "delivered");
}

/* A detection printed by the file printer: its delivered count grows
 * (IPC_PRN_STATS, at most a second late). */
START_TEST(test_printer_delivered_grows)
{
	char *argv[] = {"cat", "/etc/shadow", NULL};
	json_t *doc = agent_doc();
	uint64_t before = delivered_of(doc, "file"), deadline, now = 0;
	pid_t pid;

	shared();
	json_decref(doc);
	ck_assert_int_eq(jbh_run("/bin/cat", argv, 5000, &pid), 0);
	deadline = jbh_detect_deadline(&A) + 2000;
	while (jbh_now_ms() < deadline) {
		doc = agent_doc();
		now = delivered_of(doc, "file");
		ck_assert_uint_eq(geti(find_in(doc, "printers", "kind", "file"), "rejected"), 0);
		json_decref(doc);
		if (now > before)
			break;
		jbh_sleep_ms(100);
	}
	ck_assert_msg(now > before, "file printer delivered %llu, before the trigger %llu",
		      (unsigned long long)now, (unsigned long long)before);
}
END_TEST

/* Not root: `jibril status` says so; a connection as nobody is refused by
 * the socket's mode, and, when the mode would let it in, by the agent
 * (SO_PEERCRED), which closes it unanswered and logs it. */
START_TEST(test_not_root_refused)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char *out, *err, buf[64];
	int rc, st;
	pid_t pid;

	shared();
	rc = run_status(A.conf, 1, 65534, &out, &err);
	ck_assert_int_eq(rc, 77);
	ck_assert_msg(strstr(err, "only root may ask the agent") && !out[0], "stderr: %s", err);
	free(out);
	free(err);

	ck_assert_uint_lt(strlen(A.status_sock), sizeof(sa.sun_path));
	memcpy(sa.sun_path, A.status_sock, strlen(A.status_sock) + 1);
	for (int open_mode = 0; open_mode < 2; open_mode++) {
		if (open_mode) /* what the mode alone would let through */
			ck_assert_int_eq(chmod(stale_dir, 0711) || chmod(A.status_sock, 0666), 0);
		pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			int fd;
			ssize_t n;

			if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
				_exit(10);
			fd = socket(AF_UNIX, SOCK_STREAM, 0);
			if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
				_exit(errno == EACCES ? 20 : 21);
			n = read(fd, buf, sizeof(buf)); /* EOF: closed unanswered */
			_exit(n == 0 ? 30 : 31);
		}
		st = jbh_wait_exit(pid, 10000);
		if (open_mode)
			ck_assert_int_eq(chmod(A.status_sock, 0600) || chmod(stale_dir, 0700), 0);
		ck_assert(WIFEXITED(st));
		ck_assert_int_eq(WEXITSTATUS(st), open_mode ? 30 : 20);
	}
	ck_assert_msg(jbh_log_wait(&A, "closed a client unanswered (not root: uid 65534)", 5000),
		      "log %s", A.log);
}
END_TEST

/* A second agent on the same socket stops at start-up, before it loads
 * anything, and says why. */
START_TEST(test_second_agent_refused)
{
	struct jbh_opts o = {.status_socket = stale_sock};
	struct jbh_agent B;
	int st;

	shared();
	jbh_start(&B, &o);
	st = jbh_wait_exit(B.pid, 20000);
	B.reaped = 1;
	B.status = st;
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 78, "second agent: wait status %d", st);
	ck_assert_msg(jbh_log_has(&B, "another jibril is running"), "log %s", B.log);
	ck_assert_msg(jbh_log_has(&B, "status_socket"), "log %s", B.log);
	/* the first one's socket is untouched and still answers */
	json_decref(agent_doc());
	{
		char *rm[] = {"rm", "-rf", B.dir, NULL};
		ck_assert_int_eq(jbh_run("/bin/rm", rm, 5000, NULL), 0);
	}
}
END_TEST

/* A start that fails after the socket was made (here at the pin
 * directory, which is on no BPF filesystem) leaves no socket behind, and
 * the first agent's is untouched. */
START_TEST(test_failed_start_leaves_no_socket)
{
	struct jbh_opts o = {.pin_dir = "/tmp/jbstatus-not-bpffs"};
	struct jbh_agent B;
	int st;

	shared();
	jbh_start(&B, &o);
	st = jbh_wait_exit(B.pid, 20000);
	B.reaped = 1;
	B.status = st;
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 78, "failed start: wait status %d", st);
	ck_assert_msg(jbh_log_has(&B, "is not on a BPF filesystem"), "log %s", B.log);
	ck_assert_msg(access(B.status_sock, F_OK) < 0 && errno == ENOENT,
		      "the failed start left its status socket %s", B.status_sock);
	json_decref(agent_doc());
	{
		char *rm[] = {"rm", "-rf", B.dir, NULL};
		ck_assert_int_eq(jbh_run("/bin/rm", rm, 5000, NULL), 0);
	}
}
END_TEST

/* No agent: a clear message and a non-zero exit. */
START_TEST(test_no_agent)
{
	char conf[128], *out, *err;
	FILE *f;
	int rc;

	snprintf(conf, sizeof(conf), "%s/none.conf", stale_dir);
	f = fopen(conf, "w");
	ck_assert_ptr_nonnull(f);
	fchmod(fileno(f), 0600);
	fprintf(f, "[agent]\nstatus_socket = %s/nobody.sock\n", stale_dir);
	fclose(f);
	rc = run_status(conf, 0, 0, &out, &err);
	unlink(conf);
	ck_assert_int_eq(rc, 69);
	ck_assert_msg(strstr(err, "no agent answers on") && strstr(err, "no socket there"),
		      "stderr: %s", err);
	free(out);
	free(err);
}
END_TEST

START_TEST(test_shared_stop)
{
	jbh_stop_unparented(&A, STOP_MS);
	/* it removed its socket */
	ck_assert_int_eq(access(stale_sock, F_OK), -1);
}
END_TEST

static void sweep(void)
{
	jbh_kill_leftovers();
}

/* ------------------------------------------------------------------------- */

static Suite *status_suite(void)
{
	Suite *s = suite_create("status");
	TCase *tc = tcase_create("document");

	tcase_add_test(tc, doc_has_every_key);
	tcase_add_test(tc, doc_printer_counters_survive_restarts);
	tcase_add_test(tc, doc_is_cheap);
	suite_add_tcase(s, tc);
	if (geteuid() == 0) {
		jbh_main_init("check_status");
		/* one agent for all (shared_up); teardowns in reverse order */
		tc = tcase_create("agent");
		tcase_set_timeout(tc, 120);
		tcase_add_unchecked_fixture(tc, NULL, sweep);
		tcase_add_unchecked_fixture(tc, shared_up, shared_down);
		tcase_add_test(tc, test_stale_socket_replaced);
		tcase_add_test(tc, test_children_match_proc);
		tcase_add_test(tc, test_table_names_every_kind);
		tcase_add_test(tc, test_killed_worker_shows);
		tcase_add_test(tc, test_printer_delivered_grows);
		tcase_add_test(tc, test_not_root_refused);
		tcase_add_test(tc, test_second_agent_refused);
		tcase_add_test(tc, test_failed_start_leaves_no_socket);
		tcase_add_test(tc, test_no_agent);
		tcase_add_test(tc, test_shared_stop);
		suite_add_tcase(s, tc);
	} else {
		printf("SKIP: check_status: the agent cases need root\n");
	}
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(status_suite());
	int failed;

	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	if (geteuid() == 0)
		jbh_kill_leftovers();
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
