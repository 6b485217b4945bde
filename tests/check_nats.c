/*
 * check_nats.c - the NATS JetStream printer (printers/nats.c) against a
 * real nats-server with JetStream, started by the test on loopback (its
 * own port, its own store under the test's temp dir, -js), and the real
 * agent.
 *
 *  - delivery: every trigger's detection is in the stream once, on
 *    <prefix>.<host>.<mechanism>.<kind>, with the event's uuid as its
 *    message id and the event as its body (the same uuid the file printer
 *    wrote);
 *  - the server restarted mid-stream under a steady trigger load (the
 *    outage longer than spill_ms, so lines go through the spool): every
 *    trigger's detection is in the stream exactly once;
 *  - the server down when the agent starts, started later: everything
 *    arrives, once;
 *  - three addresses that drop every packet (loopback ports whose accept
 *    queue is full) before the server's: the printer is READY at once,
 *    never killed for its handshake or heartbeats, and delivers;
 *  - a token file others can read refuses the start with FILE:LINE.
 * Triggers are copies of cat, each with a marker in its name, reading
 * /etc/shadow (credentials_files_access). The stream is read back with
 * libnats (stream info, then each message by sequence). Every wait has a
 * deadline. Not root, no BPF: "SKIP:", exit 77; no nats-server (Debian's
 * nats-server package): "SKIP:" with the reason.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nats/nats.h>

#include "agent_harness.h"
#include "lib/file.h"
#include "printers/nats.h"

#define READY_MS 60000
#define STOP_MS 10000
#define MARK "jbnats"
#define MAXTRIG 256

static char server_bin[PATH_MAX];

/* --- the server ------------------------------------------------------------------ */

struct server {
	pid_t pid;
	int port;
	char dir[PATH_MAX];	/* store and log */
};

static int free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t l = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &l), 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static int accepts(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), ok;

	ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

static void server_start(struct server *sv)
{
	char store[PATH_MAX + 8], port[16], logf[PATH_MAX + 16];
	char *argv[] = {server_bin, "-js", "-sd", store, "-a", "127.0.0.1", "-p", port, NULL};
	struct jbh_io io = {NULL, -1, -1, -1};
	uint64_t end;

	snprintf(store, sizeof(store), "%s/store", sv->dir);
	snprintf(port, sizeof(port), "%d", sv->port);
	snprintf(logf, sizeof(logf), "%s/server.log", sv->dir);
	io.err = open(logf, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	ck_assert_int_ge(io.err, 0);
	sv->pid = jbh_spawn(server_bin, argv, &io);
	close(io.err);
	ck_assert_int_gt(sv->pid, 0);
	for (end = jbh_now_ms() + 20000; !accepts(sv->port) && jbh_now_ms() < end;)
		jbh_sleep_ms(50);
	ck_assert_msg(accepts(sv->port), "nats-server on port %d did not come up (%s)", sv->port,
		      logf);
}

static void server_stop(struct server *sv)
{
	if (sv->pid <= 0)
		return;
	kill(sv->pid, SIGTERM);
	if (jbh_wait_exit(sv->pid, 10000) < 0)
		fprintf(stderr, "nats-server %d: killed after 10 s\n", sv->pid);
	sv->pid = -1;
}

/* After a test that passed: its store, spool and server log. */
static void server_remove(struct server *sv)
{
	tl_rm_tree(sv->dir, "/tmp/nats.");
}

static void server_init(struct server *sv, const char *under)
{
	memset(sv, 0, sizeof(*sv));
	sv->pid = -1;
	sv->port = free_port();
	snprintf(sv->dir, sizeof(sv->dir), "%s/nats.XXXXXX", under);
	ck_assert_msg(mkdtemp(sv->dir) != NULL, "mkdtemp: %s", strerror(errno));
}

/* --- reading the stream back ------------------------------------------------------ */

struct got {
	char subject[256], id[80], uuid[80], exe[PATH_MAX];
};

/* Every message of the stream JIBRIL (at most max); how many, or -1 if
 * the stream cannot be read. */
static int read_stream(int port, struct got *g, int max)
{
	natsConnection *nc = NULL;
	jsCtx *js = NULL;
	jsStreamInfo *si = NULL;
	jsErrCode jerr = 0;
	char url[64];
	int n = -1;

	snprintf(url, sizeof(url), "nats://127.0.0.1:%d", port);
	if (natsConnection_ConnectTo(&nc, url) != NATS_OK)
		goto out;
	if (natsConnection_JetStream(&js, nc, NULL) != NATS_OK ||
	    js_GetStreamInfo(&si, js, "JIBRIL", NULL, &jerr) != NATS_OK)
		goto out;
	n = 0;
	for (uint64_t seq = si->State.FirstSeq; seq && seq <= si->State.LastSeq && n < max; seq++) {
		natsMsg *m = NULL;
		const char *id = NULL;
		json_t *j;

		if (js_GetMsg(&m, js, "JIBRIL", seq, NULL, &jerr) != NATS_OK)
			continue; /* a gap: none expected (no limits hit) */
		memset(&g[n], 0, sizeof(g[n]));
		snprintf(g[n].subject, sizeof(g[n].subject), "%s", natsMsg_GetSubject(m));
		if (natsMsgHeader_Get(m, "Nats-Msg-Id", &id) == NATS_OK && id)
			snprintf(g[n].id, sizeof(g[n].id), "%s", id);
		j = json_loadb(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), 0, NULL);
		if (j) {
			const char *u = jbh_jstr(j, "uuid"), *exe = jbh_jstr(j, "process.exe");

			snprintf(g[n].uuid, sizeof(g[n].uuid), "%s", u ? u : "");
			snprintf(g[n].exe, sizeof(g[n].exe), "%s", exe ? exe : "");
			json_decref(j);
		}
		natsMsg_Destroy(m);
		n++;
	}
out:
	jsStreamInfo_Destroy(si);
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	return n;
}

/* --- triggers ------------------------------------------------------------------ */

static char dir_bin[PATH_MAX];
static unsigned run_id;

static void make_bin_dir(void)
{
	char bin[PATH_MAX], *real;

	snprintf(bin, sizeof(bin), "%s", jbh_bin());
	real = realpath(dirname(bin), NULL);
	ck_assert(real != NULL);
	ck_assert(snprintf(dir_bin, sizeof(dir_bin), "%s/nats.XXXXXX", real) < 160);
	free(real);
	ck_assert_msg(mkdtemp(dir_bin) != NULL, "mkdtemp: %s", strerror(errno));
	run_id = (unsigned)getpid();
}

static void trigger(int seq)
{
	char exe[PATH_MAX];
	char *argv[] = {exe, "/etc/shadow", NULL};
	int st;

	ck_assert(snprintf(exe, sizeof(exe), "%s/cat." MARK "%u_%d", dir_bin, run_id, seq) <
		  (int)sizeof(exe));
	jbh_copy_file("/usr/bin/cat", exe, 0755);
	st = jbh_run(exe, argv, 10000, NULL);
	ck_assert_msg(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "trigger %d: 0x%x", seq, st);
	unlink(exe);
}

/* The trigger number in exe, or -1. */
static int marker(const char *exe)
{
	char want[64];
	const char *p;
	int n = snprintf(want, sizeof(want), MARK "%u_", run_id);

	p = strstr(exe, want);
	return p ? atoi(p + n) : -1;
}

/* Wait until every trigger 0..n-1 is in the stream; then check each is
 * there exactly once, on the right subject, with its uuid as message id. */
static void expect_stream(int port, int n, unsigned timeout_ms)
{
	static struct got g[4 * MAXTRIG];
	int count[MAXTRIG], have = 0, got = 0;
	uint64_t end = jbh_now_ms() + timeout_ms;
	char host[65], subj[256];
	struct utsname un;

	ck_assert_int_eq(uname(&un), 0);
	prn_nats_token(host, sizeof(host), un.nodename);
	snprintf(subj, sizeof(subj), "jibril.%s.file_access.credentials_files_access", host);
	do {
		memset(count, 0, sizeof(count));
		have = 0;
		got = read_stream(port, g, (int)(sizeof(g) / sizeof(g[0])));
		for (int i = 0; i < got; i++) {
			int m = marker(g[i].exe);

			/* a trigger's other detections (exec_from_unusual_dir when the
			 * build directory is under /tmp) are not what is counted */
			if (m >= 0 && m < n && !strcmp(g[i].subject, subj) && !count[m]++)
				have++;
		}
		if (have == n)
			break;
		jbh_sleep_ms(250);
	} while (jbh_now_ms() < end);
	ck_assert_msg(have == n, "%d of %d triggers in the stream after %u ms (%d messages)", have,
		      n, timeout_ms, got);
	for (int i = 0; i < got; i++) {
		int m = marker(g[i].exe);

		if (m < 0 || strcmp(g[i].subject, subj))
			continue; /* another detection of the host's, or of the trigger's */
		ck_assert_msg(count[m] == 1, "trigger %d is in the stream %d times", m, count[m]);
		ck_assert_msg(g[i].uuid[0] && !strcmp(g[i].id, g[i].uuid),
			      "message id '%s' is not the event's uuid '%s'", g[i].id, g[i].uuid);
		for (int j = 0; j < i; j++)
			ck_assert_msg(strcmp(g[j].id, g[i].id), "message id %s is in the stream twice",
				      g[i].id);
	}
}

/* --- the agent ------------------------------------------------------------------ */

static struct jbh_agent A;
static char conf_extra[8192];

/* The agent with the nats printer on url (NULL: the server's own port). */
static void agent_start_url(const struct server *sv, const char *url, const char *more)
{
	struct jbh_opts o = {.extra_conf = conf_extra, .no_fault_hooks = 1};
	char own[64];

	snprintf(own, sizeof(own), "nats://127.0.0.1:%d", sv->port);
	ck_assert(snprintf(conf_extra, sizeof(conf_extra),
		 "[printers]\nnats = yes\n[nats]\nurl = %s\n"
		 "spool_dir = %s/spool\nspill_ms = 500\nreconnect_wait_ms = 200\n%s",
		 url ? url : own, sv->dir, more ? more : "") < (int)sizeof(conf_extra));
	jbh_start(&A, &o);
	A.kinds[A.nkinds++] = "nats";
	jbh_wait_all_ready(&A, READY_MS);
}

static void agent_start(const struct server *sv, const char *more)
{
	agent_start_url(sv, NULL, more);
}

/* A loopback port that drops every connection attempt, as a firewall's
 * DROP would, with no netns and no outside address: a listener with a
 * backlog of 0 whose one queue slot a connection of the test's own fills
 * and that never accepts; the kernel drops later SYNs silently (the
 * client waits for its own connect timeout). */
struct blackhole {
	int lfd, fill, port;
};

static void blackhole_open(struct blackhole *b)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t l = sizeof(a);
	struct pollfd p;
	int probe;

	b->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(b->lfd, 0);
	ck_assert_int_eq(bind(b->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(b->lfd, 0), 0);
	ck_assert_int_eq(getsockname(b->lfd, (struct sockaddr *)&a, &l), 0);
	b->port = ntohs(a.sin_port);
	b->fill = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_eq(connect(b->fill, (struct sockaddr *)&a, sizeof(a)), 0);
	/* the proof: another connect gets no answer within 500 ms */
	probe = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	ck_assert_int_ge(probe, 0);
	ck_assert(connect(probe, (struct sockaddr *)&a, sizeof(a)) < 0 && errno == EINPROGRESS);
	p = (struct pollfd){.fd = probe, .events = POLLOUT};
	ck_assert_msg(poll(&p, 1, 500) == 0, "port %d answered a connect: not a black hole",
		      b->port);
	close(probe);
}

static void blackhole_close(struct blackhole *b)
{
	close(b->fill);
	close(b->lfd);
}

START_TEST(test_delivery)
{
	struct server sv;
	int n = 20;

	make_bin_dir();
	server_init(&sv, "/tmp");
	server_start(&sv);
	agent_start(&sv, NULL);
	for (int i = 0; i < n; i++)
		trigger(i);
	expect_stream(sv.port, n, 30000);
	/* the file printer has the same events: the uuid is the event's own */
	{
		static struct got g[4 * MAXTRIG];
		int got = read_stream(sv.port, g, 4 * MAXTRIG);
		char *events = jbh_slurp(A.events, NULL);

		ck_assert_ptr_nonnull(events);
		for (int i = 0; i < got; i++)
			if (marker(g[i].exe) >= 0)
				ck_assert_msg(strstr(events, g[i].uuid), "uuid %s not in %s", g[i].uuid,
					      A.events);
		free(events);
	}
	ck_assert_msg(jbh_log_has(&A, "nats: stream JIBRIL ready"), "log %s", A.log);
	jbh_stop(&A, STOP_MS);
	server_stop(&sv);
	server_remove(&sv);
	rmdir(dir_bin);
}
END_TEST

START_TEST(test_server_restarted_under_load)
{
	struct server sv;
	int n = 0, total = 90;

	make_bin_dir();
	server_init(&sv, "/tmp");
	server_start(&sv);
	agent_start(&sv, NULL);
	/* a steady load: one trigger every 100 ms; the server is stopped
	 * after 30 and started again (same store, same port) after 60 */
	for (; n < total; n++) {
		if (n == 30)
			server_stop(&sv);
		if (n == 60) {
			/* the outage outlasted spill_ms: lines went to the spool */
			ck_assert_msg(jbh_log_wait(&A, "nats: lines go to the spool", 5000),
				      "log %s", A.log);
			server_start(&sv);
		}
		trigger(n);
		jbh_sleep_ms(100);
	}
	expect_stream(sv.port, total, 60000);
	ck_assert_msg(jbh_log_wait(&A, "nats: the spool is drained", 10000), "log %s", A.log);
	ck_assert_msg(jbh_running(&A), "the agent died");
	jbh_stop(&A, STOP_MS);
	server_stop(&sv);
	server_remove(&sv);
	rmdir(dir_bin);
}
END_TEST

START_TEST(test_server_down_at_start)
{
	struct server sv;
	int n = 15;

	make_bin_dir();
	server_init(&sv, "/tmp");
	agent_start(&sv, NULL); /* nothing listens on that port yet */
	ck_assert_msg(jbh_log_wait(&A, "no server reachable yet", 10000), "log %s", A.log);
	for (int i = 0; i < n; i++)
		trigger(i);
	/* the printer stays up and keeps them (spool) */
	jbh_sleep_ms(2000);
	ck_assert_msg(jbh_child_pid(&A, "nats") > 0, "no nats printer");
	server_start(&sv);
	expect_stream(sv.port, n, 60000);
	jbh_stop(&A, STOP_MS);
	server_stop(&sv);
	server_remove(&sv);
	rmdir(dir_bin);
}
END_TEST

/* Three addresses that drop every packet, then the server's, which is
 * down at first: libnats' first sweep (2 s per address, in a random order)
 * takes past the 5 s handshake deadline. The printer must reach READY at
 * once all the same (the connect is not on its loop), never be killed for
 * its handshake or its heartbeats, and deliver once the server is up. */
START_TEST(test_unreachable_servers_first)
{
	struct server sv;
	struct blackhole bh[3];
	char url[256];
	int n = 10;
	pid_t pid;
	uint64_t t0;

	make_bin_dir();
	server_init(&sv, "/tmp");
	for (int i = 0; i < 3; i++)
		blackhole_open(&bh[i]);
	snprintf(url, sizeof(url), "nats://127.0.0.1:%d, nats://127.0.0.1:%d, nats://127.0.0.1:%d, "
		 "nats://127.0.0.1:%d", bh[0].port, bh[1].port, bh[2].port, sv.port);
	t0 = jbh_now_ms();
	agent_start_url(&sv, url, NULL);
	pid = jbh_child_pid(&A, "nats");
	ck_assert_int_gt(pid, 0);
	/* the first sweep ends (three connect timeouts) in the background */
	ck_assert_msg(jbh_log_wait(&A, "no server reachable yet", 30000), "log %s", A.log);
	ck_assert_msg(jbh_now_ms() - t0 >= 5000, "the first sweep took under 5 s: the test proves "
		      "nothing about the handshake deadline");
	for (int i = 0; i < n; i++)
		trigger(i);
	server_start(&sv);
	expect_stream(sv.port, n, 90000);
	ck_assert_msg(!jbh_log_has(&A, "no handshake before its deadline"), "log %s", A.log);
	ck_assert_msg(!jbh_log_has(&A, "hung: no heartbeat"), "log %s", A.log);
	ck_assert_int_eq(jbh_child_pid(&A, "nats"), pid);
	jbh_stop(&A, STOP_MS);
	for (int i = 0; i < 3; i++)
		blackhole_close(&bh[i]);
	server_stop(&sv);
	server_remove(&sv);
	rmdir(dir_bin);
}
END_TEST

/* A token file others may read: --check-config names the key's line. */
START_TEST(test_token_file_mode_refused)
{
	char dir[] = "/tmp/jbnatsconf.XXXXXX", conf[128], tok[128], out[4096];
	int fds[2], st, n;
	FILE *f;
	char *argv[] = {(char *)jbh_bin(), "--check-config", conf, NULL};
	struct jbh_io io = {NULL, -1, -1, -1};
	pid_t pid;

	ck_assert(mkdtemp(dir) != NULL);
	snprintf(conf, sizeof(conf), "%s/jibril.conf", dir);
	snprintf(tok, sizeof(tok), "%s/token", dir);
	f = fopen(tok, "w");
	ck_assert_ptr_nonnull(f);
	fputs("s3cret\n", f);
	fclose(f);
	ck_assert_int_eq(chmod(tok, 0644), 0);
	f = fopen(conf, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "[printers]\nnats = yes\n[nats]\nurl = nats://127.0.0.1:4222\n"
		   "spool_dir = %s.spool\ntoken_file = %s\n", dir, tok);
	fclose(f);
	ck_assert_int_eq(chmod(conf, 0600), 0);
	ck_assert_int_eq(pipe(fds), 0);
	io.out = fds[1];
	io.err = fds[1];
	pid = jbh_spawn(argv[0], argv, &io);
	close(fds[1]);
	n = (int)read(fds[0], out, sizeof(out) - 1);
	out[n > 0 ? n : 0] = '\0';
	close(fds[0]);
	st = jbh_wait_exit(pid, 10000);
	ck_assert_msg(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) != 0, "accepted: %s", out);
	ck_assert_msg(strstr(out, "jibril.conf:6: [nats] token_file") && strstr(out, "mode 0644"),
		      "%s", out);
	/* 0600: accepted */
	ck_assert_int_eq(chmod(tok, 0600), 0);
	ck_assert_int_eq(pipe(fds), 0);
	io.out = io.err = fds[1];
	pid = jbh_spawn(argv[0], argv, &io);
	close(fds[1]);
	n = (int)read(fds[0], out, sizeof(out) - 1);
	out[n > 0 ? n : 0] = '\0';
	close(fds[0]);
	st = jbh_wait_exit(pid, 10000);
	ck_assert_msg(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "refused: %s", out);
	unlink(tok);
	unlink(conf);
	rmdir(dir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("nats");
	TCase *tc = tcase_create("jetstream");
	TCase *tcc = tcase_create("config");
	SRunner *sr;
	int failed;
	const char *cands[] = {"/usr/sbin/nats-server", "/usr/bin/nats-server",
			       "/usr/local/bin/nats-server"};

	jbh_main_init("check_nats");
	for (size_t i = 0; i < sizeof(cands) / sizeof(cands[0]) && !server_bin[0]; i++)
		if (access(cands[i], X_OK) == 0)
			snprintf(server_bin, sizeof(server_bin), "%s", cands[i]);
	tcase_set_timeout(tcc, 30);
	tcase_add_test(tcc, test_token_file_mode_refused);
	suite_add_tcase(s, tcc);
	if (!server_bin[0]) {
		printf("SKIP: check_nats: no nats-server (Debian's nats-server package; make check "
		       "installs it): the JetStream tests did not run\n");
	} else {
		tcase_set_timeout(tc, 240);
		tcase_add_test(tc, test_delivery);
		tcase_add_test(tc, test_server_restarted_under_load);
		tcase_add_test(tc, test_server_down_at_start);
		tcase_add_test(tc, test_unreachable_servers_first);
		suite_add_tcase(s, tc);
	}
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	jbh_kill_leftovers();
	return failed ? 1 : 0;
}
