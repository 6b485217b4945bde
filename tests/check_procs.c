/*
 * check_procs.c - the supervisor's slot machine (supervisor/procs.c and
 * spawn.c), driven for real without root and without BPF: a struct sup of
 * the test's own, a kind table of fake kinds, and a fake child program
 * (tests/helpers/fakechild.c) that speaks the real IPC protocol and
 * crashes, hangs, sends garbage, says a wrong HELLO or exits 78 on
 * request. The test process plays the supervisor's event loop: SIGCHLD ->
 * sup_procs_reap, a 20 ms tick -> sup_procs_tick.
 *
 * What it proves: back-off doubling and reset, THROTTLED with its own
 * delay, DISABLED, the HELLO generation check, the SIGTERM -> SIGKILL
 * escalation, that a child killed or stopped from outside is not a crash
 * loop, that a SIGHUP lowering the heartbeat does not kill children
 * configured with the old period, that what a child says (stderr and
 * IPC_LOG) is escaped and rate-limited, that the real kind table is sound,
 * and that a child executable is checked, and run as opened (bins.c).
 * Every wait polls a condition with a deadline.
 */
#include <check.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/child.h"
#include "common/log.h"
#include "common/sandbox.h"
#include "supervisor/sup.h"

static struct sup S;
static struct event *ev_chld, *ev_tick;
static char logbuf[256 * 1024];
static size_t loglen;
static int n_ready, n_gone;
static uint64_t gone_ms[64];

static void capture(int level, const char *line)
{
	int n = snprintf(logbuf + loglen, sizeof(logbuf) - loglen, "%s\n", line);
	if (n > 0 && (size_t)n < sizeof(logbuf) - loglen)
		loglen += (size_t)n;
}

static void hook_ready(struct sup *s, struct sup_proc *p) { n_ready++; }
static void hook_gone(struct sup *s, struct sup_proc *p)
{
	if (n_gone < 64)
		gone_ms[n_gone] = sup_now_ms();
	n_gone++;
}

static const struct sup_hooks test_hooks = {.ready = hook_ready, .gone = hook_gone};

static struct jb_kind fake[1];

static void on_chld(evutil_socket_t fd, short what, void *arg) { sup_procs_reap(&S); }
static void on_tick(evutil_socket_t fd, short what, void *arg) { sup_procs_tick(&S); }

/* A supervisor with one slot of the fake kind 'name'. */
static void sup_up(const char *name, void (*tune)(struct jb_config *))
{
	static char exe[PATH_MAX];
	const char *bin = getenv("JIBRIL_BIN");
	struct timeval tv = {0, 20000};

	ck_assert_msg(bin != NULL, "JIBRIL_BIN is not set");
	snprintf(exe, sizeof(exe), "%.*s/tests/helpers/fakechild",
		 (int)(strrchr(bin, '/') ? strrchr(bin, '/') - bin : 1), bin);
	ck_assert_msg(access(exe, X_OK) == 0, "%s is missing: make check builds it", exe);
	memset(&S, 0, sizeof(S));
	loglen = 0;
	logbuf[0] = '\0';
	n_ready = n_gone = 0;
	log_init("test", LOG_L_INFO);
	log_set_sink(capture);
	jb_config_defaults(&S.cfg);
	S.cfg.heartbeat_ms = 50;
	S.cfg.heartbeat_deadline_ms = 300;
	S.cfg.handshake_ms = 2000;
	S.cfg.backoff_initial_ms = 40;
	S.cfg.backoff_max_ms = 320;
	S.cfg.stable_ms = 10000;
	S.cfg.throttle_ms = 300;
	if (tune)
		tune(&S.cfg);
	fake[0] = (struct jb_kind){.name = name, .role = IPC_ROLE_WORKER, .enable = JB_EN_ON,
				   .hooks = &test_hooks};
	S.kinds = fake;
	S.nkinds = 1;
	/* every kind runs the fake child, opened as the supervisor opens its own */
	for (int b = 0; b < JB_BIN_N; b++) {
		char why[PATH_MAX + 128];

		S.bin_fd[b] = sup_bin_open(exe, why, sizeof(why));
		ck_assert_msg(S.bin_fd[b] >= 0, "%s", why);
	}
	S.snap_ro_fd = -1;
	snprintf(S.boot_id, sizeof(S.boot_id), "boot");
	snprintf(S.hostname, sizeof(S.hostname), "host");
	S.base = event_base_new();
	ck_assert_ptr_nonnull(S.base);
	ev_chld = evsignal_new(S.base, SIGCHLD, on_chld, NULL);
	ev_tick = event_new(S.base, -1, EV_PERSIST, on_tick, NULL);
	ck_assert(ev_chld && ev_tick && event_add(ev_chld, NULL) == 0 &&
		  event_add(ev_tick, &tv) == 0);
	ck_assert_int_eq(sup_procs_init(&S), 0);
	ck_assert_int_eq(S.nprocs, 1);
	sup_procs_start(&S);
}

static void sup_down(void)
{
	sup_procs_stop(&S);
	ck_assert_int_eq(S.procs[0].pid, -1); /* reaped */
	event_free(ev_chld);
	event_free(ev_tick);
	event_base_free(S.base);
	log_set_sink(NULL);
}

/* Run the loop until cond() or timeout_ms; returns cond(). */
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

static void run_for(unsigned ms)
{
	uint64_t deadline = sup_now_ms() + ms;

	while (sup_now_ms() < deadline) {
		struct timeval tv = {0, 5000};
		event_base_loopexit(S.base, &tv);
		event_base_dispatch(S.base);
	}
}

static struct sup_proc *P(void) { return &S.procs[0]; }
static int is_ready(void) { return P()->state == ST_READY; }
static int goal_gone;
static int gone_reached(void) { return n_gone >= goal_gone; }
static int is_disabled(void) { return P()->state == ST_DISABLED; }

static int log_has(const char *needle) { return strstr(logbuf, needle) != NULL; }

/* The N of every "NAME: restarting in N ms" / "next try in N ms", in order. */
static int delays(const char *what, unsigned *out, int max)
{
	char want[96];
	const char *p = logbuf;
	int n = 0;

	snprintf(want, sizeof(want), "%s: %s ", fake[0].name, what);
	while (n < max && (p = strstr(p, want))) {
		p += strlen(want);
		out[n++] = (unsigned)strtoul(p, NULL, 10);
	}
	return n;
}

static void wait_gone(int n, unsigned timeout_ms)
{
	goal_gone = n;
	ck_assert_msg(run_until(gone_reached, timeout_ms), "only %d of %d exits seen; log:\n%s",
		      n_gone, n, logbuf);
}

/* --- a well-behaved child --------------------------------------------------- */

START_TEST(test_ready_and_stop)
{
	sup_up("ok", NULL);
	ck_assert_msg(run_until(is_ready, 3000), "never READY; log:\n%s", logbuf);
	ck_assert_uint_eq(P()->generation, 1);
	ck_assert_int_eq(n_ready, 1);
	ck_assert_uint_eq(P()->deadline_ms, 300);
	ck_assert(log_has("SPAWNING -> HANDSHAKE") && log_has("HANDSHAKE -> READY"));
	run_for(400); /* heartbeats keep it alive past its 300 ms deadline */
	ck_assert_int_eq(P()->state, ST_READY);
	ck_assert_uint_ge(P()->last_beat_ms + 200, sup_now_ms());
	sup_down();
	ck_assert_int_eq(P()->state, ST_DISABLED);
	ck_assert_int_eq(n_gone, 1);
}
END_TEST

/* --- back-off ------------------------------------------------------------ */

START_TEST(test_backoff_doubles)
{
	unsigned d[8];
	int n;

	sup_up("crash", NULL); /* abort() 60 ms after READY: a crash loop */
	wait_gone(5, 8000);
	n = delays("restarting in", d, 8);
	ck_assert_int_ge(n, 5);
	ck_assert_uint_eq(d[0], 40);
	ck_assert_uint_eq(d[1], 80);
	ck_assert_uint_eq(d[2], 160);
	ck_assert_uint_eq(d[3], 320);
	ck_assert_uint_eq(d[4], 320); /* the cap */
	ck_assert_msg(log_has("killed by signal 6"), "log:\n%s", logbuf);
	/* the status document's reasons: each one a crash */
	ck_assert_uint_ge(P()->restarts[SUP_RESTART_CRASH], 5);
	ck_assert_uint_eq(P()->restarts[SUP_RESTART_KILLED] + P()->restarts[SUP_RESTART_HANG], 0);
	sup_down();
}
END_TEST

static void stable_200(struct jb_config *c) { c->stable_ms = 200; }

START_TEST(test_backoff_resets_when_stable)
{
	unsigned d[8];
	int n;

	sup_up("crashslow", stable_200); /* READY 400 ms, longer than stable_ms */
	wait_gone(3, 8000);
	n = delays("restarting in", d, 8);
	ck_assert_int_ge(n, 3);
	for (int i = 0; i < n; i++)
		ck_assert_msg(d[i] == 40, "restart %d after %u ms, not the initial 40", i, d[i]);
	sup_down();
}
END_TEST

/* --- failures before READY --------------------------------------------------- */

START_TEST(test_throttled_has_its_own_delay)
{
	unsigned d[4];
	uint64_t gap;

	sup_up("crashearly", NULL);
	wait_gone(1, 3000);
	ck_assert_int_eq(P()->state, ST_THROTTLED);
	ck_assert_msg(delays("failed before READY; next try in", d, 4) == 1 && d[0] == 300,
		      "log:\n%s", logbuf);
	wait_gone(2, 3000);
	/* the second try came after throttle_ms, not after the 40 ms back-off */
	gap = P()->spawned_ms - gone_ms[0];
	ck_assert_msg(gap >= 290, "respawned %llu ms after a bad start", (unsigned long long)gap);
	ck_assert_msg(delays("failed before READY; next try in", d, 4) == 2 && d[1] == 300,
		      "a second bad start: log:\n%s", logbuf);
	ck_assert(!log_has("restarting in"));
	sup_down();
}
END_TEST

START_TEST(test_exit78_disables)
{
	sup_up("exit78", NULL);
	ck_assert(run_until(is_disabled, 3000));
	ck_assert(log_has("configuration error: will not respawn"));
	run_for(500);
	ck_assert_int_eq(P()->state, ST_DISABLED);
	ck_assert_uint_eq(P()->generation, 1);
	ck_assert_int_eq(P()->pid, -1);
	sup_down();
}
END_TEST

START_TEST(test_wrong_hello_generation)
{
	sup_up("badhello", NULL);
	wait_gone(1, 3000);
	ck_assert_msg(log_has("protocol violation: HELLO does not match the slot"), "log:\n%s",
		      logbuf);
	ck_assert(log_has("killed by signal 9"));
	ck_assert_int_eq(n_ready, 0);
	ck_assert_int_eq(P()->state, ST_THROTTLED);
	sup_down();
}
END_TEST

static void handshake_200(struct jb_config *c) { c->handshake_ms = 200; }

START_TEST(test_handshake_deadline)
{
	sup_up("silent", handshake_200);
	wait_gone(1, 3000);
	ck_assert(log_has("SPAWNING -> STOPPING: no handshake before its deadline"));
	ck_assert(log_has("killed by signal 9"));
	ck_assert_int_eq(P()->state, ST_THROTTLED);
	ck_assert_uint_eq(P()->restarts[SUP_RESTART_HANG], 1);
	ck_assert_uint_eq(P()->restart_delay_ms, 300); /* throttle_ms */
	sup_down();
}
END_TEST

/* --- misbehaviour after READY ------------------------------------------------- */

START_TEST(test_garbage_is_killed_at_once)
{
	sup_up("garbage", NULL);
	wait_gone(1, 3000);
	ck_assert_msg(log_has("READY -> STOPPING: protocol violation"), "log:\n%s", logbuf);
	ck_assert(log_has("killed by signal 9"));
	ck_assert(!log_has("did not stop within"));
	ck_assert_uint_eq(P()->restarts[SUP_RESTART_PROTOCOL], 1);
	ck_assert_uint_eq(P()->restarts[SUP_RESTART_CRASH], 0);
	sup_down();
}
END_TEST

static uint64_t stopping_at;
static int saw_stopping(void)
{
	if (!stopping_at && P()->state == ST_STOPPING)
		stopping_at = sup_now_ms();
	return n_gone >= 1;
}

START_TEST(test_hang_escalates_to_sigkill)
{
	uint64_t took;

	stopping_at = 0;
	sup_up("hang", NULL); /* READY, then silent and deaf to SIGTERM */
	ck_assert(run_until(saw_stopping, 5000));
	took = gone_ms[0] - stopping_at;
	ck_assert(log_has("READY -> STOPPING: hung: no heartbeat before its deadline"));
	ck_assert_msg(log_has("did not stop within 1000 ms: SIGKILL"), "log:\n%s", logbuf);
	ck_assert(log_has("killed by signal 9"));
	ck_assert_msg(took >= 950 && took < 3000, "SIGKILL %llu ms after SIGTERM",
		      (unsigned long long)took);
	ck_assert_uint_eq(P()->restarts[SUP_RESTART_HANG], 1);
	sup_down();
}
END_TEST

/* --- killed or stopped from outside ---------------------------------------------- */

START_TEST(test_outside_kill_is_not_a_crash_loop)
{
	unsigned d[8];
	int n;

	sup_up("ok", NULL);
	for (int i = 0; i < 4; i++) {
		ck_assert(run_until(is_ready, 3000));
		ck_assert_uint_eq(P()->generation, (uint64_t)i + 1);
		ck_assert_int_eq(kill(P()->pid, SIGKILL), 0);
		wait_gone(i + 1, 3000);
	}
	n = delays("restarting in", d, 8);
	ck_assert_int_eq(n, 4);
	for (int i = 0; i < n; i++)
		ck_assert_msg(d[i] == 40, "restart %d after %u ms: the back-off grew", i, d[i]);
	ck_assert(log_has("killed from outside"));
	ck_assert_uint_eq(P()->restarts[SUP_RESTART_KILLED], 4);
	ck_assert_uint_eq(P()->restarts[SUP_RESTART_CRASH], 0);
	sup_down();
}
END_TEST

START_TEST(test_outside_stop_is_replaced)
{
	unsigned d[4];
	pid_t old;

	sup_up("ok", NULL);
	ck_assert(run_until(is_ready, 3000));
	old = P()->pid;
	ck_assert_int_eq(kill(old, SIGSTOP), 0);
	wait_gone(1, 5000);
	ck_assert_msg(log_has("was stopped by signal 19"), "log:\n%s", logbuf);
	ck_assert(log_has("hung: no heartbeat before its deadline"));
	ck_assert(log_has("killed by signal 9"));
	/* not its fault: the first delay, and the back-off did not grow */
	ck_assert_int_eq(delays("restarting in", d, 4), 1);
	ck_assert_uint_eq(d[0], 40);
	ck_assert_uint_eq(P()->backoff_ms, 40);
	/* a stopped child we killed as hung: a kill from outside */
	ck_assert_uint_eq(P()->restarts[SUP_RESTART_KILLED], 1);
	ck_assert(run_until(is_ready, 3000));
	ck_assert_int_ne(P()->pid, old);
	sup_down();
}
END_TEST

/* The loop was busy (a long cadence) past a child's deadline while the
 * child kept beating: the beats wait in its socket. The tick reads them
 * before it calls the child hung. */
START_TEST(test_late_loop_reads_beats_first)
{
	struct timespec busy = {0, 600 * 1000 * 1000};
	pid_t pid;

	sup_up("ok", NULL); /* beats every 50 ms, deadline 300 ms */
	ck_assert(run_until(is_ready, 3000));
	pid = P()->pid;
	nanosleep(&busy, NULL); /* no loop: nothing read for twice the deadline */
	sup_procs_tick(&S);
	ck_assert_msg(P()->state == ST_READY && P()->pid == pid,
		      "a beating child was called hung after a late loop; log:\n%s", logbuf);
	ck_assert(!log_has("hung"));
	sup_down();
}
END_TEST

/* --- SIGHUP ------------------------------------------------------------------ */

static void slow_beats(struct jb_config *c)
{
	c->heartbeat_ms = 600;
	c->heartbeat_deadline_ms = 1500;
}

START_TEST(test_reload_keeps_old_period)
{
	pid_t old;

	sup_up("ok", slow_beats);
	ck_assert(run_until(is_ready, 3000));
	old = P()->pid;
	/* what reload() in main.c does to the running configuration */
	S.cfg.heartbeat_ms = 100;
	S.cfg.heartbeat_deadline_ms = 400;
	sup_procs_reload(&S);
	run_for(1600); /* it beats every 600 ms: more than the new 400 ms deadline */
	ck_assert_msg(P()->pid == old && P()->state == ST_READY && n_gone == 0,
		      "a child configured with the old period was killed; log:\n%s", logbuf);
	ck_assert_uint_eq(P()->deadline_ms, 1500);
	/* a child started after the reload is held to the new deadline */
	ck_assert_int_eq(kill(old, SIGKILL), 0);
	wait_gone(1, 3000);
	ck_assert(run_until(is_ready, 3000));
	ck_assert_uint_eq(P()->deadline_ms, 400);
	run_for(1000);
	ck_assert_int_eq(P()->state, ST_READY);
	ck_assert_int_eq(n_gone, 1);
	sup_down();
}
END_TEST

/* --- generations ------------------------------------------------------------- */

START_TEST(test_generation_per_spawn)
{
	char who[64];
	pid_t first;

	sup_up("ok", NULL);
	ck_assert(run_until(is_ready, 3000));
	first = P()->pid;
	kill(first, SIGKILL);
	wait_gone(1, 3000);
	ck_assert(run_until(is_ready, 3000));
	ck_assert_uint_eq(P()->generation, 2);
	/* the line of the first child's death names its pid and generation */
	snprintf(who, sizeof(who), "ok[%d] gen 1: READY -> IDLE: killed by signal 9", (int)first);
	ck_assert_msg(log_has(who), "no '%s'; log:\n%s", who, logbuf);
	sup_down();
}
END_TEST

/* --- what a child says ------------------------------------------------------- */

static int log_line_count(const char *needle)
{
	int n = 0;
	for (const char *p = logbuf; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

/* Every line of the captured log that contains needle starts with the
 * prefix the supervisor gives the child. */
static void lines_prefixed(const char *needle, const char *prefix)
{
	for (const char *p = logbuf; (p = strstr(p, needle)); p++) {
		const char *bol = p;
		while (bol > logbuf && bol[-1] != '\n')
			bol--;
		ck_assert_msg(!strncmp(bol, prefix, strlen(prefix)), "a line not prefixed '%s': %.80s",
			      prefix, bol);
	}
}

static int flood_dropped(void) { return log_has("log lines dropped"); }

START_TEST(test_stderr_is_prefixed_clean_and_bounded)
{
	char prefix[64];

	sup_up("stderr", NULL);
	ck_assert(run_until(is_ready, 3000));
	snprintf(prefix, sizeof(prefix), "stderr[%d]: stderr: ", (int)P()->pid);
	ck_assert_msg(run_until(flood_dropped, 3000), "the flood was not cut; log:\n%.2000s", logbuf);
	/* each line the child wrote is one line of ours, under its name */
	lines_prefixed("real", prefix);
	lines_prefixed("forged", prefix);
	lines_prefixed("flood ", prefix);
	/* no line of ours begins with what the child forged, no ESC, and the
	 * NUL hid nothing */
	ck_assert(!strstr(logbuf, "\njibril[supervisor:1]"));
	ck_assert(!strchr(logbuf, '\x1b'));
	ck_assert_msg(log_has("x?HIDDEN"), "the NUL hid what followed it; log:\n%.2000s", logbuf);
	/* bounded: 50 lines a second, the rest counted */
	ck_assert_int_le(log_line_count(prefix), 60);
	sup_down();
}
END_TEST

START_TEST(test_ipc_log_is_prefixed_and_clean)
{
	char prefix[64];

	sup_up("logforge", NULL);
	ck_assert(run_until(is_ready, 3000));
	snprintf(prefix, sizeof(prefix), "logforge[%d]: said?jibril[supervisor:1]: forged",
		 (int)P()->pid);
	run_for(200);
	ck_assert_msg(log_has(prefix), "no '%s'; log:\n%s", prefix, logbuf);
	ck_assert(!strstr(logbuf, "\njibril[supervisor:1]"));
	sup_down();
}
END_TEST

/* IPC_LOG lines are held to the same bound as stderr (50 a second per
 * child, both channels together) and made printable: no ESC, no line of
 * ours that begins with what the child forged */
START_TEST(test_ipc_log_flood_is_clean_and_bounded)
{
	char prefix[64];

	sup_up("logflood", NULL); /* 200 lines at once, each with ESC and a newline */
	ck_assert(run_until(is_ready, 3000));
	snprintf(prefix, sizeof(prefix), "logflood[%d]: burst ", (int)P()->pid);
	ck_assert_msg(run_until(flood_dropped, 3000), "the flood was not cut; log:\n%.2000s", logbuf);
	ck_assert_int_ge(log_line_count(prefix), 1);
	ck_assert_int_le(log_line_count(prefix), 60);
	ck_assert_msg(log_has("log lines dropped (more than 50 a second)"), "log:\n%.2000s", logbuf);
	lines_prefixed("burst ", prefix);
	ck_assert(!strchr(logbuf, '\x1b'));
	ck_assert(!strstr(logbuf, "\njibril[supervisor:1]"));
	ck_assert(log_has("?[31mred?jibril[supervisor:1]: forged"));
	sup_down();
}
END_TEST

START_TEST(test_child_descriptors)
{
	char want[64];

	sup_up("fds", NULL); /* a worker row: no operator stdout, no aux fd */
	ck_assert(run_until(is_ready, 3000));
	run_for(200);
	ck_assert_msg(log_has("fds 0=/dev/null 1=/dev/null 2=pipe:["), "log:\n%s", logbuf);
	ck_assert(log_has(" 4=(none)"));
	/* fd 2 is a pipe whose read end is ours */
	snprintf(want, sizeof(want), "/proc/self/fd/%d", P()->err_fd);
	{
		char mine[64], *theirs = strstr(logbuf, " 2=pipe:[");
		ssize_t n = readlink(want, mine, sizeof(mine) - 1);
		ck_assert(n > 0 && theirs);
		mine[n] = '\0';
		ck_assert_msg(!strncmp(theirs + 3, mine, strlen(mine)), "fd 2 is not our pipe");
	}
	/* the OOM killer's favourite, whatever the supervisor's (spawn.c) */
	{
		char path[64], v[16] = "";
		FILE *f;
		snprintf(path, sizeof(path), "/proc/%d/oom_score_adj", (int)P()->pid);
		f = fopen(path, "re");
		ck_assert_ptr_nonnull(f);
		ck_assert_ptr_nonnull(fgets(v, sizeof(v), f));
		fclose(f);
		ck_assert_int_eq(atoi(v), SUP_OOM_ADJ_CHILD);
	}
	sup_down();
}
END_TEST

/* --- the real table ------------------------------------------------------------ */

START_TEST(test_kind_table_is_sound)
{
	ck_assert_uint_le(jb_nkinds, JB_KINDS_MAX);
	for (size_t i = 0; i < jb_nkinds; i++) {
		const struct jb_kind *k = &jb_kinds[i];

		ck_assert_msg(k->name[0] && strspn(k->name, "abcdefghijklmnopqrstuvwxyz0123456789_") ==
						    strlen(k->name), "kind name '%s'", k->name);
		ck_assert_msg(strlen(k->name) < 13, "%s: comm jb-NAME must fit 15 bytes", k->name);
		for (size_t j = 0; j < i; j++)
			ck_assert_str_ne(jb_kinds[j].name, k->name);
		ck_assert_ptr_eq(jb_kind_find(jb_kinds, jb_nkinds, k->name), k);
		ck_assert(k->entry && k->policy && k->hooks);
		/* the executable it runs in: a worker's links pcre2 and yaml, a
		 * printer's its outputs' libraries, the exporter's only its own */
		ck_assert_uint_lt(k->bin, JB_BIN_N);
		if (k->role == IPC_ROLE_WORKER)
			ck_assert_int_eq(k->bin, JB_BIN_WORKER);
		else if (k->role == IPC_ROLE_EXPORTER)
			ck_assert_int_eq(k->bin, JB_BIN_EXPORTER);
		else
			ck_assert(k->bin == JB_BIN_PRINTER || k->bin == JB_BIN_NETPRINTER);
		ck_assert(k->role == IPC_ROLE_WORKER || k->role == IPC_ROLE_PRINTER ||
			  k->role == IPC_ROLE_EXPORTER);
		if (k->role == IPC_ROLE_WORKER) {
			ck_assert_msg(k->mechs != 0, "worker %s runs no mechanism", k->name);
			ck_assert_int_eq(k->aux, JB_AUX_SNAPSHOT);
		} else if (k->role == IPC_ROLE_EXPORTER) {
			/* handed its listening socket, enabled by its own section,
			 * producing nothing the router or a printer takes */
			ck_assert_int_eq(k->aux, JB_AUX_LISTEN);
			ck_assert_int_eq(k->enable, JB_EN_SETTING);
			ck_assert(k->settings && !k->output && !k->mechs && !k->hooks->drain &&
				  !k->hooks->message);
		} else {
			ck_assert_msg(k->output != NULL, "printer %s has no output", k->name);
			ck_assert_msg(k->hooks->drain != NULL, "printer %s is not drained", k->name);
		}
		/* descriptors and sandbox agree: a child may write fd 1 exactly
		 * when it holds the operator's stdout, fd 4 exactly when it is
		 * an output file; every child may write its stderr pipe and
		 * none may write its IPC socket with write(2) */
		ck_assert_int_eq(jb_policy_may_write(k->policy, 1), !!k->operator_stdout);
		ck_assert_int_eq(jb_policy_may_write(k->policy, JB_CHILD_AUX_FD),
				 k->aux == JB_AUX_OUTPUT);
		ck_assert(jb_policy_may_write(k->policy, 2));
		ck_assert(!jb_policy_may_write(k->policy, JB_CHILD_IPC_FD));
		ck_assert(!jb_policy_may_write(k->policy, 0));
		if (k->enable == JB_EN_PATH)
			ck_assert_int_eq(k->aux, JB_AUX_OUTPUT);
		/* a kind enabled by its section has one, its first key the switch */
		if (k->enable == JB_EN_SETTING)
			ck_assert(k->settings && k->settings->nkeys > 0 &&
				  k->settings->keys[0].type == JB_SET_STR);
		/* its own section: keys the settings block can carry, and fd 4
		 * is its directory exactly when one key names it */
		{
			int dirs = 0;

			for (size_t j = 0; k->settings && j < k->settings->nkeys; j++) {
				const char *n = k->settings->keys[j].name;

				ck_assert_msg(strlen(n) > 0 && strlen(n) < 64 &&
					      strspn(n, "abcdefghijklmnopqrstuvwxyz0123456789_") ==
						      strlen(n), "%s: key '%s'", k->name, n);
				dirs += k->settings->keys[j].type == JB_SET_DIR;
			}
			ck_assert(!k->settings || k->settings->nkeys <= JB_SET_KEYS_MAX);
			ck_assert_int_le(dirs, 1);
			ck_assert_int_eq(dirs == 1, k->aux == JB_AUX_DIR);
		}
	}
	/* every recipe mechanism runs in exactly one worker kind */
	for (int m = 0; m < RCP_MECH_MAX; m++) {
		int runs = 0;
		for (size_t i = 0; i < jb_nkinds; i++)
			runs += jb_kinds[i].role == IPC_ROLE_WORKER && (jb_kinds[i].mechs & (1u << m));
		ck_assert_int_eq(runs, 1);
	}
}
END_TEST

/* sup_bin_open (bins.c): a child executable is refused when missing, not
 * a regular file, not executable, writable by group or others, or (as
 * root) not root's; what is executed is the file opened, whatever is put
 * over its path afterwards. */
static void copy(const char *from, const char *to, mode_t mode)
{
	char *argv[] = {"/bin/cp", (char *)from, (char *)to, NULL};
	pid_t pid = fork();
	int st;

	ck_assert(pid >= 0);
	if (pid == 0) {
		execv(argv[0], argv);
		_exit(127);
	}
	ck_assert(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	ck_assert_int_eq(chmod(to, mode), 0);
}

static void refused(const char *path, const char *why)
{
	char err[PATH_MAX + 128];

	err[0] = '\0';
	ck_assert_int_eq(sup_bin_open(path, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, path) && strstr(err, why), "%s: '%s', want '%s'", path, err, why);
}

START_TEST(test_child_binary_checks)
{
	char dir[] = "/tmp/jb-bins-XXXXXX", a[64], b[64], sub[64], err[PATH_MAX + 128];
	char *argv[] = {"x", NULL}, *env[] = {NULL};
	int fd, st;
	pid_t pid;

	ck_assert(mkdtemp(dir) != NULL);
	snprintf(a, sizeof(a), "%s/a", dir);
	snprintf(b, sizeof(b), "%s/b", dir);
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	refused(a, "No such file");
	ck_assert_int_eq(mkdir(sub, 0755), 0);
	refused(sub, "not a regular file");
	copy("/bin/true", a, 0644);
	refused(a, "not executable");
	ck_assert_int_eq(chmod(a, 0775), 0);
	refused(a, "writable by its group or others");
	ck_assert_int_eq(chmod(a, 0757), 0);
	refused(a, "writable by its group or others");
	if (geteuid() == 0) {
		ck_assert_int_eq(chmod(a, 0755), 0);
		ck_assert_int_eq(chown(a, 1, 1), 0);
		refused(a, "not root");
		ck_assert_int_eq(chown(a, 0, 0), 0);
	} else {
		printf("SKIP: check_procs: not root: a child executable of another owner was not "
		       "tried\n");
	}
	ck_assert_int_eq(chmod(a, 0755), 0);
	fd = sup_bin_open(a, err, sizeof(err));
	ck_assert_msg(fd >= 0, "%s", err);
	ck_assert(fcntl(fd, F_GETFL) & O_PATH);
	ck_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	/* /bin/false renamed over it: the descriptor still runs true */
	copy("/bin/false", b, 0755);
	ck_assert_int_eq(rename(b, a), 0);
	pid = fork();
	ck_assert(pid >= 0);
	if (pid == 0) {
		execveat(fd, "", argv, env, AT_EMPTY_PATH);
		_exit(99);
	}
	ck_assert(waitpid(pid, &st, 0) == pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		      "the opened file was not what ran (status %#x)", st);
	close(fd);
	unlink(a);
	rmdir(sub);
	rmdir(dir);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("procs");
	struct {
		const char *name;
		const TTest *t;
	} cases[] = {
		{"ready_and_stop", test_ready_and_stop},
		{"backoff_doubles", test_backoff_doubles},
		{"backoff_resets_when_stable", test_backoff_resets_when_stable},
		{"throttled_has_its_own_delay", test_throttled_has_its_own_delay},
		{"exit78_disables", test_exit78_disables},
		{"wrong_hello_generation", test_wrong_hello_generation},
		{"handshake_deadline", test_handshake_deadline},
		{"garbage_is_killed_at_once", test_garbage_is_killed_at_once},
		{"hang_escalates_to_sigkill", test_hang_escalates_to_sigkill},
		{"outside_kill_is_not_a_crash_loop", test_outside_kill_is_not_a_crash_loop},
		{"outside_stop_is_replaced", test_outside_stop_is_replaced},
		{"late_loop_reads_beats_first", test_late_loop_reads_beats_first},
		{"reload_keeps_old_period", test_reload_keeps_old_period},
		{"generation_per_spawn", test_generation_per_spawn},
		{"stderr_is_prefixed_clean_and_bounded", test_stderr_is_prefixed_clean_and_bounded},
		{"ipc_log_is_prefixed_and_clean", test_ipc_log_is_prefixed_and_clean},
		{"ipc_log_flood_is_clean_and_bounded", test_ipc_log_flood_is_clean_and_bounded},
		{"child_descriptors", test_child_descriptors},
		{"kind_table_is_sound", test_kind_table_is_sound},
		{"child_binary_checks", test_child_binary_checks},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		TCase *tc = tcase_create(cases[i].name);
		tcase_set_timeout(tc, 30);
		tcase_add_test(tc, cases[i].t);
		suite_add_tcase(s, tc);
	}
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
