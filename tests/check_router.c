/*
 * check_router.c - the router's memory cap under a flood (supervisor/
 * router.c, drops.c) and the keyed hash its tables use (common/siphash.c).
 *
 * Like check_procs, the test process plays the supervisor: a struct sup of
 * its own with fake kinds, the real slot machine and spawn code, the real
 * router, and tests/helpers/fakechild as every child (no root, no BPF):
 * a worker "flood" that sends 2 500 detections of 50 KiB (125 MB), a
 * worker "steady" that sends one small detection per SIGUSR1, and a
 * printer "stall" that reads nothing until SIGUSR1.
 *
 * What it proves: with the printer stalled the router holds no more than
 * [agent] backlog_bytes (its own count, and the test process's resident
 * set), the flooding worker is held to its share and its drops are
 * counted and logged once, the other worker's detections are still
 * queued, and once the printer reads it prints them and a data_loss
 * event that names the flooding worker. The loss table (drops.c) keeps a
 * period's counts until its event is kept, a printer inventing causes
 * cannot crowd out the agent's own, counts never print negative, and a
 * printer's IPC_LOSS comes
 * out as a data_loss event on the other printer (with a uuid, as every
 * event the agent makes itself), while a malformed LOSS,
 * or one from a worker, kills its sender and nothing else. SipHash gives
 * the reference vectors of its paper for every split of the input.
 * Every wait polls a condition with a deadline.
 */
#include <check.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "common/log.h"
#include "common/siphash.h"
#include "lib/procfs.h"
#include "supervisor/drops.h"
#include "supervisor/sup.h"

/* --- SipHash-2-4 ------------------------------------------------------------ */

/* The paper's vectors: key 00..0f, message 00..(n-1); checked against
 * OpenSSL's EVP_MAC "SIPHASH" (openssl mac -macopt hexkey:0001..0f SIPHASH). */
static const struct {
	size_t n;
	uint64_t h;
} sip_vectors[] = {
	{0, 0x726fdb47dd0e0e31ULL},
	{1, 0x74f839c593dc67fdULL},
	{7, 0xab0200f58b01d137ULL},
	{8, 0x93f5f5799a932462ULL},
	{15, 0xa129ca6149be45e5ULL},
	{63, 0x958a324ceb064572ULL},
};

START_TEST(test_siphash_vectors)
{
	struct jb_sipkey k;
	unsigned char key[16], m[64];

	for (int i = 0; i < 16; i++)
		key[i] = (unsigned char)i;
	for (int i = 0; i < 64; i++)
		m[i] = (unsigned char)i;
	memcpy(&k.k0, key, 8);
	memcpy(&k.k1, key + 8, 8);
	for (size_t v = 0; v < sizeof(sip_vectors) / sizeof(sip_vectors[0]); v++) {
		size_t n = sip_vectors[v].n;

		ck_assert_msg(jb_siphash(&k, m, n) == sip_vectors[v].h, "%zu bytes: %016llx", n,
			      (unsigned long long)jb_siphash(&k, m, n));
		/* every split into two pieces gives the same */
		for (size_t cut = 0; cut <= n; cut++) {
			struct jb_siphash h;
			jb_siphash_init(&h, &k);
			jb_siphash_update(&h, m, cut);
			jb_siphash_update(&h, m + cut, n - cut);
			ck_assert(jb_siphash_final(&h) == sip_vectors[v].h);
		}
	}
}
END_TEST

START_TEST(test_siphash_key_is_random)
{
	struct jb_sipkey a, b;

	ck_assert_int_eq(jb_siphash_key_random(&a), 0);
	ck_assert_int_eq(jb_siphash_key_random(&b), 0);
	ck_assert(a.k0 != b.k0 || a.k1 != b.k1);
	ck_assert(jb_siphash(&a, "dedup", 5) != jb_siphash(&b, "dedup", 5));
}
END_TEST

/* --- the flood -------------------------------------------------------------- */

#define CAP (4u << 20) /* [agent] backlog_bytes: the minimum */

static struct sup S;
static struct event *ev_chld, *ev_tick;
static char logbuf[512 * 1024];
static size_t loglen;

static void capture(int level, const char *line)
{
	int n = snprintf(logbuf + loglen, sizeof(logbuf) - loglen, "%s\n", line);
	if (n > 0 && (size_t)n < sizeof(logbuf) - loglen)
		loglen += (size_t)n;
}

static int log_has(const char *needle) { return strstr(logbuf, needle) != NULL; }

static int log_count(const char *needle)
{
	int n = 0;
	for (const char *p = logbuf; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

/* the real kinds' hooks (supervisor/kinds.c), for fake rows */
static int worker_message(struct sup *s, struct sup_proc *p, const struct ipc_msg *m,
			  const char **why)
{
	if (m->type == IPC_DETECTION)
		return sup_router_detection(s, p, m->u.detection.kind, m->u.detection.dedup_key,
					    m->u.detection.json, m->u.detection.json_len,
					    m->u.detection.limits, why);
	*why = "unexpected message";
	return -1;
}

static int printer_message(struct sup *s, struct sup_proc *p, const struct ipc_msg *m,
			   const char **why)
{
	if (m->type == IPC_PRINTED)
		return sup_router_printed(s, p, m->u.printed.seq, why);
	if (m->type == IPC_LOSS)
		return sup_router_loss(s, p, m->u.loss.cause, m->u.loss.count, m->u.loss.detail);
	*why = "unexpected message";
	return -1;
}

static const struct sup_hooks worker_hooks = {.message = worker_message};
static const struct sup_hooks printer_hooks = {
	.ready = sup_router_printer_ready,
	.message = printer_message,
	.gone = sup_router_printer_gone,
	.drain = sup_router_drain,
};

static const struct jb_kind kinds[] = {
	{.name = "flood", .role = IPC_ROLE_WORKER, .enable = JB_EN_ON,
	 .mechs = 1u << RCP_FILE_ACCESS, .hooks = &worker_hooks},
	{.name = "steady", .role = IPC_ROLE_WORKER, .enable = JB_EN_ON,
	 .mechs = 1u << RCP_EXECUTION, .hooks = &worker_hooks},
	{.name = "stall", .role = IPC_ROLE_PRINTER, .enable = JB_EN_ON, .hooks = &printer_hooks},
	{.name = "reader", .role = IPC_ROLE_PRINTER, .enable = JB_EN_ON, .hooks = &printer_hooks},
};
enum { FLOOD, STEADY, STALL, READER };

/* the loss reports: a printer that reports a loss and one that reads */
static const struct jb_kind loss_kinds[] = {
	{.name = "reader", .role = IPC_ROLE_PRINTER, .enable = JB_EN_ON, .hooks = &printer_hooks},
	{.name = "lossy", .role = IPC_ROLE_PRINTER, .enable = JB_EN_ON, .hooks = &printer_hooks},
	{.name = "badloss", .role = IPC_ROLE_PRINTER, .enable = JB_EN_ON, .hooks = &printer_hooks},
	{.name = "workerloss", .role = IPC_ROLE_WORKER, .enable = JB_EN_ON,
	 .mechs = 1u << RCP_EXECUTION, .hooks = &worker_hooks},
};

/* the summary printer's hooks (kinds.c): IPC_SUMMARY from it alone */
static int summary_message(struct sup *s, struct sup_proc *p, const struct ipc_msg *m,
			   const char **why)
{
	if (m->type == IPC_SUMMARY)
		return sup_summary_event(s, p, m, why);
	return printer_message(s, p, m, why);
}

static const struct sup_hooks summary_hooks = {
	.ready = sup_router_printer_ready,
	.message = summary_message,
	.gone = sup_router_printer_gone,
	.drain = sup_router_drain,
};

static const struct jb_kind summary_kinds[] = {
	{.name = "reader", .role = IPC_ROLE_PRINTER, .enable = JB_EN_ON, .hooks = &printer_hooks},
	{.name = "summarizer", .role = IPC_ROLE_PRINTER, .enable = JB_EN_ON,
	 .hooks = &summary_hooks},
	{.name = "badsum", .role = IPC_ROLE_PRINTER, .enable = JB_EN_ON, .hooks = &printer_hooks},
};

#define RECIPE(kind, mech, what)                                                         \
	"- kind: " kind "\n  name: Test " kind "\n  mechanism: " mech "\n"                \
	"  tactic: discovery\n  technique: T1082 System Information Discovery\n"         \
	"  importance: low\n" what

static void on_chld(evutil_socket_t fd, short what, void *arg) { sup_procs_reap(&S); }
static void on_tick(evutil_socket_t fd, short what, void *arg) { sup_procs_tick(&S); }

/* A supervisor with the first nkinds rows of table. */
static void sup_up_with(const struct jb_kind *table, size_t nkinds)
{
	static const char y[] =
		RECIPE("flood", "file_access", "  file_actions: [open]\n  bases:\n    - {dir: /nowhere, base: x}\n")
		RECIPE("steady", "execution", "  file_actions: [execve]\n  base: ls\n");
	static char exe[PATH_MAX];
	struct rcp_source src = {"test.yaml", y, sizeof(y) - 1};
	const char *bin = getenv("JIBRIL_BIN");
	struct timeval tv = {0, 20000};
	char err[512];

	ck_assert_msg(bin != NULL, "JIBRIL_BIN is not set");
	snprintf(exe, sizeof(exe), "%.*s/tests/helpers/fakechild",
		 (int)(strrchr(bin, '/') ? strrchr(bin, '/') - bin : 1), bin);
	ck_assert_msg(access(exe, X_OK) == 0, "%s is missing: make check builds it", exe);
	memset(&S, 0, sizeof(S));
	loglen = 0;
	logbuf[0] = '\0';
	log_init("test", LOG_L_INFO);
	log_set_sink(capture);
	jb_config_defaults(&S.cfg);
	S.cfg.backlog_bytes = CAP;
	S.cfg.heartbeat_ms = 50;
	S.cfg.heartbeat_deadline_ms = 5000; /* the flood keeps its sender busy */
	S.cfg.handshake_ms = 3000;
	ck_assert_msg(rcp_load(&S.recipes.set, &src, 1, NULL, 0, NULL, NULL, err, sizeof(err)) == 0,
		      "%s", err);
	S.kinds = table;
	S.nkinds = nkinds;
	/* every kind runs the fake child, opened as the supervisor opens its own */
	for (int b = 0; b < JB_BIN_N; b++) {
		char why[PATH_MAX + 128];

		S.bin_fd[b] = sup_bin_open(exe, why, sizeof(why));
		ck_assert_msg(S.bin_fd[b] >= 0, "%s", why);
	}
	S.snap_ro_fd = -1;
	snprintf(S.hostname, sizeof(S.hostname), "host");
	S.base = event_base_new();
	ck_assert_ptr_nonnull(S.base);
	ev_chld = evsignal_new(S.base, SIGCHLD, on_chld, NULL);
	ev_tick = event_new(S.base, -1, EV_PERSIST, on_tick, NULL);
	ck_assert(ev_chld && ev_tick && event_add(ev_chld, NULL) == 0 &&
		  event_add(ev_tick, &tv) == 0);
	ck_assert_int_eq(sup_router_init(&S), 0);
	ck_assert_int_eq(sup_procs_init(&S), 0);
	ck_assert_int_eq(S.nprocs, (int)nkinds);
	sup_procs_start(&S);
}

/* A supervisor with the first nkinds rows of kinds[]. */
static void sup_up(size_t nkinds)
{
	sup_up_with(kinds, nkinds);
}

static void sup_down(void)
{
	sup_procs_stop(&S);
	sup_router_free(&S);
	rcp_set_free(&S.recipes.set);
	event_free(ev_chld);
	event_free(ev_tick);
	event_base_free(S.base);
	log_set_sink(NULL);
}

static int run_until(int (*cond)(void), unsigned timeout_ms)
{
	uint64_t deadline = sup_now_ms() + timeout_ms;

	while (!cond() && sup_now_ms() < deadline) {
		struct timeval tv = {0, 5000};
		event_base_loopexit(S.base, &tv);
		event_base_dispatch(S.base);
	}
	return cond();
}

static int all_ready(void)
{
	for (int i = 0; i < S.nprocs; i++)
		if (S.procs[i].state != ST_READY)
			return 0;
	return 1;
}

/* the flood worker beats again once its 2 500 sends went through, and the
 * socket is read in order: then every detection has been routed */
static uint64_t flood_sent_ms;
static int flood_done(void)
{
	return sup_router_dropped(&S, "flood") > 0 && S.procs[FLOOD].last_beat_ms > flood_sent_ms;
}
static int steady_queued(void) { return sup_router_bytes(&S, STEADY) > 0; }
static int printed_all(void)
{
	return log_has("steady-0") && log_has("\"kind\":\"data_loss\"") &&
	       sup_router_bytes(&S, -1) == 0;
}

/* A version-4 UUID as workers/event.c writes it. */
static int uuid_ok(const char *u)
{
	if (!u || strlen(u) != 36 || u[14] != '4' || !strchr("89ab", u[19]))
		return 0;
	for (int i = 0; i < 36; i++)
		if (i == 8 || i == 13 || i == 18 || i == 23 ? u[i] != '-'
							    : !strchr("0123456789abcdef", u[i]))
			return 0;
	return 1;
}

static long rss_kib(void) { return tl_proc_kib(getpid(), "status", "VmRSS:"); }

START_TEST(test_flood_is_bounded_and_reported)
{
	long rss0, rss1;
	size_t held, flood_held;
	const char *got;
	json_t *ev;

	sup_up(3);
	ck_assert_msg(run_until(all_ready, 5000), "not all READY; log:\n%s", logbuf);
	rss0 = rss_kib();
	ck_assert_int_gt(rss0, 0);
	/* the flood began at READY; wait for the beat that follows its end */
	flood_sent_ms = sup_now_ms();
	ck_assert_msg(run_until(flood_done, 30000), "the flood was not routed; log:\n%.3000s",
		      logbuf);
	held = sup_router_bytes(&S, -1);
	flood_held = sup_router_bytes(&S, FLOOD);
	rss1 = rss_kib();
	/* what the router holds is within the cap (a printer may be handed one
	 * message past its window), and so is what the process grew by: 125 MB
	 * came in */
	ck_assert_msg(held <= CAP + IPC_MAX_MSG, "router holds %zu bytes, cap %u", held, CAP);
	ck_assert_msg(rss1 - rss0 < (long)(CAP / 1024) + 16 * 1024,
		      "resident set grew by %ld KiB under a flood, cap %u KiB", rss1 - rss0,
		      CAP / 1024);
	/* the flooding worker is held to its share: (3/4 cap) / (2 workers + agent) */
	ck_assert_uint_le(flood_held, (CAP - CAP / 4) / 3);
	ck_assert_uint_gt(flood_held, 0);
	ck_assert_uint_gt(sup_router_dropped(&S, "flood"), 2000);
	ck_assert_msg(log_count("its share of the alert backlog") == 1,
		      "the drops were not logged exactly once; log:\n%.3000s", logbuf);
	/* the other worker still gets through */
	ck_assert_int_eq(kill(S.procs[STEADY].pid, SIGUSR1), 0);
	ck_assert_msg(run_until(steady_queued, 3000), "steady's detection was not queued");
	ck_assert_uint_eq(sup_router_dropped(&S, "steady"), 0);
	/* the summary reports the drop as an event, then the printer reads */
	sup_router_summary(&S);
	ck_assert_msg(log_has("data_loss reports printed"), "log:\n%.3000s", logbuf);
	ck_assert_uint_eq(sup_router_dropped(&S, "agent"), 0);
	ck_assert_int_eq(kill(S.procs[STALL].pid, SIGUSR1), 0);
	ck_assert_msg(run_until(printed_all, 20000),
		      "the printer did not get steady's detection and the report; log:\n%.4000s",
		      logbuf + (loglen > 4000 ? loglen - 4000 : 0));
	/* the line the printer got: "got: " and the event, on one line */
	for (got = strstr(logbuf, "got: "); got; got = strstr(got + 1, "got: ")) {
		const char *eol = strchr(got, '\n');
		const char *k = strstr(got, "\"kind\":\"data_loss\"");
		if (k && (!eol || k < eol))
			break;
	}
	ck_assert_ptr_nonnull(got);
	ev = json_loads(got + 5, JSON_DISABLE_EOF_CHECK, NULL);
	ck_assert_msg(ev != NULL, "not JSON: %.300s", got);
	ck_assert_str_eq(json_string_value(json_object_get(ev, "cause")), "backlog_share_full");
	ck_assert_msg(uuid_ok(json_string_value(json_object_get(ev, "uuid"))), "%.300s", got);
	ck_assert_str_eq(json_string_value(json_object_get(ev, "who")), "flood");
	ck_assert_str_eq(json_string_value(json_object_get(ev, "unit")), "detections");
	ck_assert_str_eq(json_string_value(json_object_get(ev, "importance")), "high");
	ck_assert_int_eq(json_integer_value(json_object_get(ev, "count_total")),
			 (json_int_t)sup_router_dropped(&S, "flood"));
	ck_assert_int_eq(json_integer_value(json_object_get(ev, "count")),
			 (json_int_t)sup_router_dropped(&S, "flood"));
	ck_assert_int_eq(json_integer_value(json_object_get(ev, "limit_bytes")),
			 (json_int_t)((CAP - CAP / 4) / 3));
	json_decref(ev);
	sup_down();
}
END_TEST

/* Two printers, one stalled: lines the other printed make room (they are
 * lost for the stalled one only, counted and reported), the router stays
 * within its cap, and once the stalled printer reads it gets everything
 * that was kept, steady's detection and the report included, and the
 * backlog empties (the dropped lines do not hold it up). */
static int stall_behind(void)
{
	return sup_router_dropped(&S, "stall") > 0 && S.procs[FLOOD].last_beat_ms > flood_sent_ms;
}

START_TEST(test_lagging_printer_loses_only_printed_lines)
{
	size_t held;

	sup_up(4);
	ck_assert_msg(run_until(all_ready, 5000), "not all READY; log:\n%s", logbuf);
	flood_sent_ms = sup_now_ms();
	ck_assert_msg(run_until(stall_behind, 30000), "no line was dropped for the stalled printer; "
		      "log:\n%.3000s", logbuf);
	held = sup_router_bytes(&S, -1);
	ck_assert_msg(held <= CAP + 2 * IPC_MAX_MSG, "router holds %zu bytes, cap %u", held, CAP);
	ck_assert_uint_le(sup_router_bytes(&S, FLOOD), (CAP - CAP / 4) / 3);
	ck_assert_uint_eq(sup_router_dropped(&S, "reader"), 0);
	ck_assert_msg(log_count("stall is behind") == 1, "log:\n%.3000s", logbuf);
	ck_assert_int_eq(kill(S.procs[STEADY].pid, SIGUSR1), 0);
	ck_assert_msg(run_until(steady_queued, 3000), "steady's detection was not queued");
	sup_router_summary(&S);
	ck_assert_int_eq(kill(S.procs[STALL].pid, SIGUSR1), 0);
	ck_assert_msg(run_until(printed_all, 20000), "log:\n%.4000s",
		      logbuf + (loglen > 4000 ? loglen - 4000 : 0));
	ck_assert_msg(log_has("\"cause\":\"printer_behind\"") && log_has("\"who\":\"stall\""),
		      "no printer_behind report for stall; log:\n%.4000s",
		      logbuf + (loglen > 4000 ? loglen - 4000 : 0));
	/* both printers got steady's detection (its uuid first: the router's) */
	ck_assert_int_ge(log_count("\"kind\":\"steady\",\"mark\""), 2);
	sup_down();
}
END_TEST

/* --- the loss table (drops.c) --------------------------------------------- */

static char emitted[8][2048];
static int nemitted, emit_refuse;
static const char *emit_only; /* keep only events holding this (NULL: all) */

static int emit_rec(void *arg, const char *dedup_key, const char *json, size_t len)
{
	if (emit_refuse || nemitted == 8 || (emit_only && !strstr(json, emit_only)))
		return -1;
	ck_assert_uint_lt(len, sizeof(emitted[0]));
	memcpy(emitted[nemitted], json, len);
	emitted[nemitted++][len] = '\0';
	return 0;
}

/* The one event emitted, parsed (checked as a data_loss event). */
static json_t *the_event(int i)
{
	json_t *ev = json_loads(emitted[i], 0, NULL);

	ck_assert_msg(ev != NULL, "not JSON: %s", emitted[i]);
	ck_assert_str_eq(json_string_value(json_object_get(ev, "kind")), "data_loss");
	ck_assert_str_eq(json_string_value(json_object_get(ev, "mechanism")), "agent");
	ck_assert_str_eq(json_string_value(json_object_get(ev, "hostname")), "host");
	ck_assert_ptr_nonnull(json_string_value(json_object_get(ev, "name")));
	ck_assert_ptr_nonnull(json_string_value(json_object_get(ev, "since")));
	ck_assert_ptr_nonnull(json_string_value(json_object_get(ev, "until")));
	return ev;
}

START_TEST(test_loss_table_counts_and_retries)
{
	struct sup_drops *d = sup_drops_new();
	json_t *ev;

	ck_assert_ptr_nonnull(d);
	nemitted = emit_refuse = 0;
	/* nothing lost: no entry, no event */
	ck_assert_int_eq(sup_drops_add(d, "kernel", "kernel_evicted", "records", 0, 0, NULL), 0);
	ck_assert_uint_eq(sup_drops_summary(d, "host", emit_rec, NULL), 0);
	ck_assert_int_eq(nemitted, 0);
	/* the first of a period says so (the caller logs it), the rest not */
	ck_assert_int_eq(sup_drops_add(d, "kernel", "kernel_evicted", "records", 5, 0, NULL), 1);
	ck_assert_int_eq(sup_drops_add(d, "kernel", "kernel_evicted", "records", 3, 0, NULL), 0);
	ck_assert_int_eq(sup_drops_add(d, "file", "spool_full", "detections", 2, 0, "first"), 1);
	ck_assert_int_eq(sup_drops_add(d, "file", "spool_full", "detections", 1, 0, "last"), 0);
	ck_assert_uint_eq(sup_drops_total_of(d, "kernel", "kernel_evicted"), 8);
	/* an event that is not kept keeps its counts for the next summary */
	emit_refuse = 1;
	ck_assert_uint_eq(sup_drops_summary(d, "host", emit_rec, NULL), 0);
	ck_assert_int_eq(sup_drops_add(d, "kernel", "kernel_evicted", "records", 1, 0, NULL), 0);
	emit_refuse = 0;
	ck_assert_uint_eq(sup_drops_summary(d, "host", emit_rec, NULL), 2);
	ck_assert_int_eq(nemitted, 2);
	ev = the_event(0);
	ck_assert_str_eq(json_string_value(json_object_get(ev, "cause")), "kernel_evicted");
	ck_assert_str_eq(json_string_value(json_object_get(ev, "who")), "kernel");
	ck_assert_str_eq(json_string_value(json_object_get(ev, "unit")), "records");
	ck_assert_int_eq(json_integer_value(json_object_get(ev, "count")), 9);
	ck_assert_int_eq(json_integer_value(json_object_get(ev, "count_total")), 9);
	ck_assert_ptr_null(json_object_get(ev, "detail"));
	ck_assert_ptr_null(json_object_get(ev, "limit_bytes"));
	json_decref(ev);
	ev = the_event(1);
	ck_assert_str_eq(json_string_value(json_object_get(ev, "cause")), "spool_full");
	ck_assert_str_eq(json_string_value(json_object_get(ev, "who")), "file");
	ck_assert_int_eq(json_integer_value(json_object_get(ev, "count")), 3);
	ck_assert_str_eq(json_string_value(json_object_get(ev, "detail")), "last");
	json_decref(ev);
	/* reported: the next summary has nothing; a new loss starts a period
	 * and the running total goes on */
	ck_assert_uint_eq(sup_drops_summary(d, "host", emit_rec, NULL), 0);
	ck_assert_int_eq(sup_drops_add(d, "kernel", "kernel_evicted", "records", 2, 0, NULL), 1);
	ck_assert_uint_eq(sup_drops_summary(d, "host", emit_rec, NULL), 1);
	ev = the_event(2);
	ck_assert_int_eq(json_integer_value(json_object_get(ev, "count")), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(ev, "count_total")), 11);
	json_decref(ev);
	/* the router's own causes: limit_bytes */
	ck_assert_int_eq(sup_drops_count(d, "execution", SUP_DROP_SHARE, 4096), 1);
	ck_assert_uint_eq(sup_drops_total(d, "execution", SUP_DROP_SHARE), 1);
	ck_assert_uint_eq(sup_drops_summary(d, "host", emit_rec, NULL), 1);
	ev = the_event(3);
	ck_assert_str_eq(json_string_value(json_object_get(ev, "cause")), "backlog_share_full");
	ck_assert_int_eq(json_integer_value(json_object_get(ev, "limit_bytes")), 4096);
	json_decref(ev);
	sup_drops_free(d);
}
END_TEST

START_TEST(test_loss_table_full_and_bad_text)
{
	struct sup_drops *d = sup_drops_new();
	char cause[32], who[32], detail[300];
	size_t kept;
	json_t *ev;

	nemitted = emit_refuse = 0;
	/* a printer inventing causes: 8 named, the rest under its own
	 * "other", its last cause in the detail; still counted, all */
	for (int i = 0; i < 200; i++) {
		snprintf(cause, sizeof(cause), "made_up_%d", i);
		sup_drops_add_reported(d, "rogue", cause, 1, "invented");
	}
	ck_assert_uint_eq(sup_drops_total_of(d, "rogue", "made_up_7"), 1);
	ck_assert_uint_eq(sup_drops_total_of(d, "rogue", "made_up_8"), 0); /* not an entry */
	ck_assert_uint_eq(sup_drops_total_of(d, "rogue", "other"), 200 - 8);
	ck_assert_uint_eq(sup_drops_total_of(d, "agent", "unclassified"), 0);
	emit_only = "\"cause\":\"other\"";
	kept = sup_drops_summary(d, "host", emit_rec, NULL);
	emit_only = NULL;
	ck_assert_uint_eq(kept, 1);
	ev = the_event(0);
	ck_assert_str_eq(json_string_value(json_object_get(ev, "who")), "rogue");
	ck_assert_int_eq(json_integer_value(json_object_get(ev, "count")), 200 - 8);
	ck_assert_str_eq(json_string_value(json_object_get(ev, "detail")), "made_up_199: invented");
	json_decref(ev);
	/* every printer kind doing it: the table's part for the agent's own
	 * causes stays free, a kernel loss is still named (and the reported
	 * part, once full, goes to "unclassified", never lost) */
	for (int k = 0; k < JB_KINDS_MAX + 4; k++)
		for (int i = 0; i < 20; i++) {
			snprintf(who, sizeof(who), "rogue%d", k);
			snprintf(cause, sizeof(cause), "made_up_%d", i);
			sup_drops_add_reported(d, who, cause, 1, NULL);
		}
	ck_assert_int_eq(sup_drops_add(d, "kernel", "kernel_evicted", "records", 3, 0, NULL), 1);
	ck_assert_uint_eq(sup_drops_total_of(d, "kernel", "kernel_evicted"), 3);
	for (int k = 0; k < JB_KINDS_MAX; k++) {
		snprintf(who, sizeof(who), "worker%d", k);
		sup_drops_count(d, who, SUP_DROP_SHARE, 4096);
		ck_assert_uint_eq(sup_drops_total(d, who, SUP_DROP_SHARE), 1);
	}
	nemitted = 0;
	emit_only = "unclassified";
	kept = sup_drops_summary(d, "host", emit_rec, NULL);
	emit_only = NULL;
	ck_assert_uint_eq(kept, 1);
	ev = the_event(0);
	ck_assert_str_eq(json_string_value(json_object_get(ev, "who")), "agent");
	ck_assert_msg(strstr(json_string_value(json_object_get(ev, "detail")), "rogue"), "%s",
		      emitted[0]);
	/* whatever went where, every one of them is counted */
	{
		uint64_t sum = (uint64_t)json_integer_value(json_object_get(ev, "count"));

		for (int k = 0; k < JB_KINDS_MAX + 4; k++) {
			snprintf(who, sizeof(who), "rogue%d", k);
			sum += sup_drops_total_of(d, who, "other");
			for (int i = 0; i < 20; i++) {
				snprintf(cause, sizeof(cause), "made_up_%d", i);
				sum += sup_drops_total_of(d, who, cause);
			}
		}
		ck_assert_uint_eq(sum, (JB_KINDS_MAX + 4) * 20);
	}
	json_decref(ev);
	sup_drops_free(d);

	/* counts saturate, and a JSON integer is never negative */
	d = sup_drops_new();
	sup_drops_add(d, "kernel", "kernel_evicted", "records", UINT64_MAX - 1, 0, NULL);
	sup_drops_add(d, "kernel", "kernel_evicted", "records", 5, 0, NULL);
	sup_drops_add_reported(d, "file", "spool_full", (uint64_t)INT64_MAX + 10, NULL);
	ck_assert_uint_eq(sup_drops_total_of(d, "kernel", "kernel_evicted"), UINT64_MAX);
	nemitted = 0;
	ck_assert_uint_eq(sup_drops_summary(d, "host", emit_rec, NULL), 2);
	for (int i = 0; i < 2; i++) {
		ev = the_event(i);
		ck_assert_int_eq(json_integer_value(json_object_get(ev, "count")), INT64_MAX);
		ck_assert_int_eq(json_integer_value(json_object_get(ev, "count_total")), INT64_MAX);
		json_decref(ev);
	}
	sup_drops_free(d);

	/* a detail cut inside a UTF-8 sequence, and ill-formed bytes: the
	 * event is still made (json_pack would refuse it otherwise, and the
	 * counts would wait forever) */
	d = sup_drops_new();
	memset(detail, 'a', sizeof(detail));
	for (int i = 250; i + 1 < 290; i += 2) {
		detail[i] = (char)0xc3;
		detail[i + 1] = (char)0xa9;
	}
	detail[sizeof(detail) - 1] = '\0';
	detail[10] = (char)0xff;
	sup_drops_add(d, "file", "batch_rejected", "detections", 4, 0, detail);
	nemitted = 0;
	ck_assert_uint_eq(sup_drops_summary(d, "host", emit_rec, NULL), 1);
	ev = the_event(0);
	ck_assert_int_eq(json_integer_value(json_object_get(ev, "count")), 4);
	json_decref(ev);
	sup_drops_free(d);
}
END_TEST

/* --- a printer's loss reports --------------------------------------------- */

static int lossy_counted(void) { return sup_router_lost(&S, "lossy", "spool_full") >= 7; }
static int reader_got_loss(void)
{
	return log_has("got: ") && log_has("\"cause\":\"spool_full\"");
}
static int loss_violations(void)
{
	return log_has("badloss[") && log_has("workerloss[") &&
	       log_count("protocol violation") >= 2;
}

/* A printer's IPC_LOSS is logged, counted and comes out as a data_loss
 * event on the other printer; a malformed one (a cause that is not a
 * name) and one from a worker kill their sender, not the supervisor. */
START_TEST(test_printer_loss_reported)
{
	const char *got;
	json_t *ev = NULL;

	sup_up_with(loss_kinds, 2);
	ck_assert_msg(run_until(all_ready, 5000), "not all READY; log:\n%s", logbuf);
	ck_assert_msg(run_until(lossy_counted, 5000), "lossy's loss was not counted; log:\n%s",
		      logbuf);
	ck_assert_uint_eq(sup_router_lost(&S, "lossy", "spool_full"), 7);
	ck_assert_msg(log_has("lossy lost 7 detections (spool_full): oldest spool file dropped"),
		      "log:\n%s", logbuf);
	ck_assert_msg(!log_has("\x1b") && !log_has("\nforged"), "the detail was not made printable:"
		      "\n%s", logbuf);
	sup_router_summary(&S);
	ck_assert_msg(run_until(reader_got_loss, 5000), "no data_loss event for reader; log:\n%s",
		      logbuf);
	for (got = strstr(logbuf, "got: "); got && !ev; got = strstr(got + 1, "got: ")) {
		ev = json_loads(got + 5, JSON_DISABLE_EOF_CHECK, NULL);
		if (ev && !json_object_get(ev, "cause")) {
			json_decref(ev);
			ev = NULL;
		}
	}
	ck_assert_ptr_nonnull(ev);
	ck_assert_str_eq(json_string_value(json_object_get(ev, "kind")), "data_loss");
	/* the agent's own event has a uuid like a worker's, its first key */
	ck_assert_msg(uuid_ok(json_string_value(json_object_get(ev, "uuid"))), "uuid: %s",
		      json_string_value(json_object_get(ev, "uuid")));
	ck_assert_msg(log_has("got: {\"uuid\":\""), "log:\n%s", logbuf);
	ck_assert_str_eq(json_string_value(json_object_get(ev, "who")), "lossy");
	ck_assert_int_eq(json_integer_value(json_object_get(ev, "count")), 7);
	ck_assert_int_eq(json_integer_value(json_object_get(ev, "count_total")), 7);
	ck_assert_str_eq(json_string_value(json_object_get(ev, "name")),
			 "Detections lost by a printer");
	ck_assert_msg(strncmp(json_string_value(json_object_get(ev, "detail")),
			      "oldest spool file dropped ?[2J?forged", 36) == 0,
		      "detail: %s", json_string_value(json_object_get(ev, "detail")));
	json_decref(ev);
	ck_assert_int_eq(S.procs[1].state, ST_READY); /* a loss report is no violation */
	sup_down();
}
END_TEST

START_TEST(test_bad_loss_kills_the_sender)
{
	const struct jb_kind rows[] = {loss_kinds[0], loss_kinds[2], loss_kinds[3]};

	sup_up_with(rows, 3);
	ck_assert_msg(run_until(loss_violations, 5000), "no violation for both senders; log:\n%s",
		      logbuf);
	ck_assert_msg(log_has("badloss[") && log_has("field 1 of IPC_LOSS: bad cause"),
		      "log:\n%s", logbuf);
	ck_assert_msg(log_has("worker may not send IPC_LOSS"), "log:\n%s", logbuf);
	/* nothing of theirs was counted, and the rest goes on */
	ck_assert_uint_eq(sup_router_lost(&S, "badloss", "spool_full"), 0);
	ck_assert_uint_eq(sup_router_lost(&S, "workerloss", "spool_full"), 0);
	ck_assert_int_eq(S.procs[0].state, ST_READY);
	sup_down();
}
END_TEST

/* --- a summary printer's summaries ---------------------------------------- */

static int summary_seen(void)
{
	return log_has("got: ") && log_has("fake summary of summarizer") && log_has("badsum[") &&
	       log_has("protocol violation");
}

static int backlog_empty(void)
{
	uint64_t lines, bytes;

	sup_router_backlog(&S, &lines, &bytes);
	return lines == 0;
}

/* IPC_SUMMARY from the summary kind becomes a detection_summary event for
 * the other printers, never handed back to the summary printer; from any
 * other printer kind it kills the sender and prints nothing. */
START_TEST(test_summary_event_routed)
{
	const char *got;
	json_t *ev = NULL;

	sup_up_with(summary_kinds, 3);
	ck_assert_msg(run_until(summary_seen, 5000), "no summary for reader, or badsum not "
		      "refused; log:\n%s", logbuf);
	for (got = strstr(logbuf, "got: "); got && !ev; got = strstr(got + 1, "got: ")) {
		ev = json_loads(got + 5, JSON_DISABLE_EOF_CHECK, NULL);
		if (ev && !json_object_get(ev, "summary")) {
			json_decref(ev);
			ev = NULL;
		}
	}
	ck_assert_ptr_nonnull(ev);
	ck_assert_msg(uuid_ok(json_string_value(json_object_get(ev, "uuid"))), "uuid");
	ck_assert_str_eq(json_string_value(json_object_get(ev, "kind")), "detection_summary");
	ck_assert_str_eq(json_string_value(json_object_get(ev, "summary")),
			 "fake summary of summarizer");
	ck_assert_str_eq(json_string_value(json_object_get(ev, "model")), "fake-model");
	ck_assert_str_eq(json_string_value(json_object_get(ev, "by")), "summarizer");
	ck_assert_int_eq(json_integer_value(json_object_get(ev, "detections")), 2);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(ev, "period"), "start")),
			 "2023-11-14T22:13:20.000000Z");
	ck_assert_int_eq(json_integer_value(json_object_get(
				 json_object_get(json_object_get(ev, "counts"), "by_kind"), "steady")),
			 2);
	json_decref(ev);
	/* the summary printer itself is never handed it; badsum's never exists */
	for (const char *l = logbuf; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		ck_assert_msg(strncmp(l, "summarizer[", 11) || !strstr(l, "]: stderr: got: ") ||
				      strstr(l, "]: stderr: got: ") > strchr(l, '\n'),
			      "the summary went back to the summary printer; log:\n%s", logbuf);
	ck_assert_msg(!log_has("fake summary of badsum"), "badsum's summary was printed; log:\n%s",
		      logbuf);
	ck_assert_msg(log_has("unexpected message"), "log:\n%s", logbuf);
	ck_assert_int_eq(S.procs[0].state, ST_READY);
	ck_assert_int_eq(S.procs[1].state, ST_READY);
	/* the line is trimmed once the printers that get it acknowledged it:
	 * the summary printer's tombstone counts as acknowledged */
	ck_assert_msg(run_until(backlog_empty, 5000), "lines still in the backlog; log:\n%s",
		      logbuf);
	sup_down();
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("router");
	TCase *tc = tcase_create("siphash");

	tcase_add_test(tc, test_siphash_vectors);
	tcase_add_test(tc, test_siphash_key_is_random);
	suite_add_tcase(s, tc);
	tc = tcase_create("flood");
	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, test_flood_is_bounded_and_reported);
	tcase_add_test(tc, test_lagging_printer_loses_only_printed_lines);
	suite_add_tcase(s, tc);
	tc = tcase_create("loss");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_loss_table_counts_and_retries);
	tcase_add_test(tc, test_loss_table_full_and_bad_text);
	tcase_add_test(tc, test_printer_loss_reported);
	tcase_add_test(tc, test_bad_loss_kills_the_sender);
	suite_add_tcase(s, tc);
	tc = tcase_create("summary");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_summary_event_routed);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *r = srunner_create(suite());
	int failed;

	srunner_run_all(r, CK_NORMAL);
	failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed ? 1 : 0;
}
