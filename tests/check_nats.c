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
 *  - a token file others can read refuses the start with FILE:LINE;
 *  - TLS (a CA and certificates tests/lib/pki.c makes with openssl, once):
 *    tls://127.0.0.1 with ca_file delivers once; a server certificate from
 *    another CA is refused and the reason logged, the printer not killed
 *    (seccomp) nor restarted, the lines spooled and none in the stream,
 *    then delivered once the server has the right certificate; a token with
 *    mutual TLS (verify: true) delivers; a wrong token is refused, logged,
 *    spooled, then delivered once the server takes it; an nkey user (a pair
 *    made here with OpenSSL's Ed25519, no nsc) delivers, and with [privacy]
 *    on for nats its subjects carry the host name's pseudonym.
 * Triggers are copies of cat, each with a marker in its name, reading
 * /etc/shadow (credentials_files_access). The stream is read back with
 * libnats (stream info, then each message by sequence). Every wait has a
 * deadline. Not root, no BPF: "SKIP:", exit 77; no nats-server (Debian's
 * nats-server package) or no openssl: "SKIP:" with the reason.
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
#include <openssl/evp.h>

#include "agent_harness.h"
#include "common/privacy.h"
#include "lib/file.h"
#include "lib/pki.h"
#include "printers/nats.h"

#define READY_MS 60000
#define STOP_MS 10000
#define MARK "jbnats"
#define MAXTRIG 256

static char server_bin[PATH_MAX];
/* the CAs and certificates (tests/lib/pki.c), made once by main: good-ca
 * signs good (the server's) and client; wrong-ca signs wrong */
static char pki[64];

/* --- the server ------------------------------------------------------------------ */

struct server {
	pid_t pid;
	int port;
	char dir[PATH_MAX];	/* store and log */
	char conf[2048];	/* more of its configuration: tls {}, authorization {} */
	/* how the test's own client reaches it (TLS: ca set) */
	char ca[PATH_MAX], cert[PATH_MAX], key[PATH_MAX], token[128], nkey[64], seed[PATH_MAX];
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

/* Its configuration file (loopback, its port, JetStream in its store,
 * then sv->conf), and the server started with it. */
static void server_start(struct server *sv)
{
	char conf[PATH_MAX + 16], logf[PATH_MAX + 16];
	char *argv[] = {server_bin, "-c", conf, NULL};
	struct jbh_io io = {NULL, -1, -1, -1};
	uint64_t end;
	FILE *f;

	snprintf(conf, sizeof(conf), "%s/server.conf", sv->dir);
	snprintf(logf, sizeof(logf), "%s/server.log", sv->dir);
	f = fopen(conf, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "listen: \"127.0.0.1:%d\"\njetstream {\n  store_dir: \"%s/store\"\n}\n%s\n",
		sv->port, sv->dir, sv->conf);
	ck_assert_int_eq(fclose(f), 0);
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
static int read_stream(const struct server *sv, struct got *g, int max)
{
	natsConnection *nc = NULL;
	natsOptions *o = NULL;
	jsCtx *js = NULL;
	jsStreamInfo *si = NULL;
	jsErrCode jerr = 0;
	char url[64];
	int n = -1;

	snprintf(url, sizeof(url), "%s://127.0.0.1:%d", sv->ca[0] ? "tls" : "nats", sv->port);
	if (natsOptions_Create(&o) != NATS_OK || natsOptions_SetURL(o, url) != NATS_OK ||
	    natsOptions_SetTimeout(o, 2000) != NATS_OK)
		goto out;
	if (sv->ca[0] && (natsOptions_SetSecure(o, true) != NATS_OK ||
			  natsOptions_LoadCATrustedCertificates(o, sv->ca) != NATS_OK))
		goto out;
	if (sv->cert[0] && natsOptions_LoadCertificatesChain(o, sv->cert, sv->key) != NATS_OK)
		goto out;
	if (sv->token[0] && natsOptions_SetToken(o, sv->token) != NATS_OK)
		goto out;
	if (sv->nkey[0] && natsOptions_SetNKeyFromSeed(o, sv->nkey, sv->seed) != NATS_OK)
		goto out;
	if (natsConnection_Connect(&nc, o) != NATS_OK)
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
	natsOptions_Destroy(o);
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
static char subj_host[80]; /* the HOST token expected, when not the node name */

static void expect_stream(const struct server *sv, int n, unsigned timeout_ms)
{
	static struct got g[4 * MAXTRIG];
	int count[MAXTRIG], have = 0, got = 0;
	uint64_t end = jbh_now_ms() + timeout_ms;
	char host[65], subj[256];
	struct utsname un;

	ck_assert_int_eq(uname(&un), 0);
	prn_nats_token(host, sizeof(host), un.nodename);
	snprintf(subj, sizeof(subj), "jibril.%s.file_access.credentials_files_access",
		 subj_host[0] ? subj_host : host);
	do {
		memset(count, 0, sizeof(count));
		have = 0;
		got = read_stream(sv, g, (int)(sizeof(g) / sizeof(g[0])));
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

	snprintf(own, sizeof(own), "%s://127.0.0.1:%d", sv->ca[0] ? "tls" : "nats", sv->port);
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

/* The agent's log's length now: a wait looks only past it (in a test whose
 * agent lived through earlier phases, their lines are there). */
static size_t log_mark(void)
{
	char *log = jbh_log_read(&A);
	size_t n = strlen(log);

	free(log);
	return n;
}

/* Wait until needle is in the log past mark. */
static int log_wait_after(size_t mark, const char *needle, unsigned ms)
{
	uint64_t end = jbh_now_ms() + ms;

	for (;;) {
		char *log = jbh_log_read(&A);
		int found = strlen(log) > mark && strstr(log + mark, needle) != NULL;

		free(log);
		if (found)
			return 1;
		if (jbh_now_ms() >= end)
			return 0;
		jbh_sleep_ms(100);
	}
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

/* --- one agent for the server down at its start, then delivery -------------------- */

/* The agent the TCase's tests share (starting an agent, the BPF load, is
 * most of a test's time), and the server on the port it was given: the
 * unchecked fixture starts the agent in the runner, with nothing listening
 * there yet (test_server_down_at_start, first, starts the server, and stops
 * it at its end); test_delivery_and_restart starts it again on the same
 * port and store; test_shared_stop stops the agent. */
static struct server SV;

static void shared_up(void)
{
	struct jbh_opts o = {.extra_conf = conf_extra, .no_fault_hooks = 1};

	server_init(&SV, "/tmp");
	ck_assert(snprintf(conf_extra, sizeof(conf_extra),
		 "[printers]\nnats = yes\n[nats]\nurl = nats://127.0.0.1:%d\n"
		 "spool_dir = %s/spool\nspill_ms = 500\nreconnect_wait_ms = 200\n", SV.port,
		 SV.dir) < (int)sizeof(conf_extra));
	jbh_start_ready(&A, &o, READY_MS);
	A.kinds[A.nkinds++] = "nats";
	if (jbh_wait_ready(&A, "nats", -1, READY_MS) <= 0) {
		jbh_reap(&A);
		ck_abort_msg("no nats printer READY within %d ms (log %s)", READY_MS, A.log);
	}
}

/* Check has no report for a failure in an unchecked teardown: this only
 * ends an agent that the last test did not stop. */
static void shared_down(void)
{
	jbh_reap(&A);
	jbh_kill_leftovers();
}

START_TEST(test_shared_stop)
{
	jbh_stop_unparented(&A, STOP_MS);
	server_remove(&SV);
}
END_TEST

/* Delivery, then the server restarted under load, on the shared agent
 * (after test_server_down_at_start: its printer reconnects to the server
 * started here, on the port and store of that test's):
 *  1. n triggers: each in the stream once, its uuid the file printer's;
 *  2. a steady load, one trigger every 100 ms; the server is stopped after
 *     30 and started again (same store, same port) after 60, the outage
 *     longer than spill_ms: every trigger of both phases in the stream
 *     exactly once, the spool drained. */
START_TEST(test_delivery_and_restart)
{
	struct server sv = SV;
	int n = 20, total = n + 90;
	size_t mark;

	ck_assert_msg(jbh_running(&A), "the shared agent is gone (log %s)", A.log);
	make_bin_dir();
	server_start(&sv);
	for (int i = 0; i < n; i++)
		trigger(i);
	expect_stream(&sv, n, 30000);
	/* the file printer has the same events: the uuid is the event's own */
	{
		static struct got g[4 * MAXTRIG];
		int got = read_stream(&sv, g, 4 * MAXTRIG);
		char *events = jbh_slurp(A.events, NULL);

		ck_assert_ptr_nonnull(events);
		for (int i = 0; i < got; i++)
			if (marker(g[i].exe) >= 0)
				ck_assert_msg(strstr(events, g[i].uuid), "uuid %s not in %s", g[i].uuid,
					      A.events);
		free(events);
	}
	ck_assert_msg(jbh_log_has(&A, "nats: stream JIBRIL ready"), "log %s", A.log);

	mark = log_mark();
	for (int k = 0; n < total; n++, k++) {
		if (k == 30)
			server_stop(&sv);
		if (k == 60) {
			/* the outage outlasted spill_ms: lines went to the spool */
			ck_assert_msg(log_wait_after(mark, "nats: lines go to the spool", 5000),
				      "log %s", A.log);
			server_start(&sv);
		}
		trigger(n);
		jbh_sleep_ms(100);
	}
	expect_stream(&sv, total, 60000);
	ck_assert_msg(log_wait_after(mark, "nats: the spool is drained", 10000), "log %s", A.log);
	ck_assert_msg(jbh_running(&A), "the agent died");
	server_stop(&sv);
	rmdir(dir_bin);
}
END_TEST

/* The shared agent's first test: nothing listened on its port when it
 * started. */
START_TEST(test_server_down_at_start)
{
	struct server sv = SV;
	int n = 15;

	ck_assert_msg(jbh_running(&A), "the shared agent is gone (log %s)", A.log);
	make_bin_dir();
	ck_assert_msg(!accepts(sv.port), "something listens on the agent's port %d", sv.port);
	ck_assert_msg(jbh_log_wait(&A, "no server reachable yet", 10000), "log %s", A.log);
	for (int i = 0; i < n; i++)
		trigger(i);
	/* the printer stays up and keeps them (spool) */
	jbh_sleep_ms(2000);
	ck_assert_msg(jbh_child_pid(&A, "nats") > 0, "no nats printer");
	server_start(&sv);
	expect_stream(&sv, n, 60000);
	ck_assert_msg(jbh_running(&A), "the agent died");
	server_stop(&sv);
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
	expect_stream(&sv, n, 90000);
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

/* --- TLS and credentials ---------------------------------------------------------- */

/* sv speaks TLS with the certificate cert (good or wrong); the test's own
 * client trusts ca (good or wrong). */
static void server_tls(struct server *sv, const char *cert, const char *ca, const char *more)
{
	ck_assert(snprintf(sv->conf, sizeof(sv->conf),
		 "tls {\n  cert_file: \"%s/%s.pem\"\n  key_file: \"%s/%s.key\"\n  timeout: 2\n%s}\n",
		 pki, cert, pki, cert, more ? more : "") < (int)sizeof(sv->conf));
	snprintf(sv->ca, sizeof(sv->ca), "%s/%s-ca.pem", pki, ca);
}

/* more [nats] keys: ca_file (the CA the agent trusts) and what follows */
static const char *agent_tls(const char *ca, const char *more)
{
	static char k[2048];

	ck_assert(snprintf(k, sizeof(k), "ca_file = %s/%s-ca.pem\n%s", pki, ca, more ? more : "") <
		  (int)sizeof(k));
	return k;
}

/* a 0600 file of the test's with text in it; its path in path */
static void secret_file(const struct server *sv, const char *name, const char *text, char *path,
			size_t len)
{
	FILE *f;

	ck_assert((size_t)snprintf(path, len, "%s/%s", sv->dir, name) < len);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(path, 0600), 0);
}

/* The printer cannot deliver (why is in its log past mark): it is not
 * killed by seccomp (and, pid > 0, it is still that process); the lines go
 * to the spool and no trigger from `from` on is in the stream. */
static void expect_held(const struct server *sv, size_t mark, int from, pid_t pid, const char *why)
{
	static struct got g[4 * MAXTRIG];
	int got;

	ck_assert_msg(log_wait_after(mark, why, 15000), "no '%s' in %s", why, A.log);
	ck_assert_msg(log_wait_after(mark, "nats: lines go to the spool", 10000), "log %s", A.log);
	got = read_stream(sv, g, (int)(sizeof(g) / sizeof(g[0])));
	for (int i = 0; i < got; i++)
		ck_assert_msg(marker(g[i].exe) < from, "trigger %d got through", marker(g[i].exe));
	ck_assert_msg(pid <= 0 || jbh_child_pid(&A, "nats") == pid,
		      "the nats printer was restarted (log %s)", A.log);
	ck_assert_msg(!jbh_log_has(&A, "Bad system call") && !jbh_log_has(&A, "signal 31"),
		      "the printer was killed by seccomp (log %s)", A.log);
}

static void finish(struct server *sv)
{
	ck_assert_msg(jbh_running(&A), "the agent died");
	jbh_stop(&A, STOP_MS);
	server_stop(sv);
	server_remove(sv);
	rmdir(dir_bin);
}

/* The server's TLS and authorization changed under one agent (starting an
 * agent, the BPF load, is most of a test's time): the agent trusts the
 * good CA and has a token file and a client certificate throughout (a
 * server without authorization ignores the token, one that does not ask
 * for a client certificate gets none); the server is restarted on the same
 * port and store with each phase's setup, and the printer reconnects. The
 * triggers are numbered on across phases, so the last expect_stream also
 * proves the first phase's detections are still there exactly once.
 *  1. a server certificate another CA signed (the printer's first
 *     connect): refused and said so, nothing arrives, the lines wait in
 *     the spool; the same port with the right certificate: tls:// to
 *     127.0.0.1 with the CA that signed it delivers them, once.
 *  2. mutual TLS (the server verifies the client's certificate) and the
 *     token: delivered. */
START_TEST(test_tls_and_mtls)
{
	struct server sv;
	char tok[PATH_MAX], more[2 * PATH_MAX + 64], verify[PATH_MAX + 64], auth[128];
	int n = 0, from;
	pid_t pid;

	make_bin_dir();
	server_init(&sv, "/tmp");
	snprintf(auth, sizeof(auth), "jb-tok-%u", (unsigned)getpid());
	secret_file(&sv, "token", auth, tok, sizeof(tok));
	ck_assert(snprintf(more, sizeof(more),
			   "token_file = %s\ncert_file = %s/client.pem\nkey_file = %s/client.key\n",
			   tok, pki, pki) < (int)sizeof(more));

	/* 1. the wrong CA, then the right one */
	server_tls(&sv, "wrong", "wrong", NULL);
	server_start(&sv);
	agent_start(&sv, agent_tls("good", more));
	pid = jbh_child_pid(&A, "nats");
	ck_assert_int_gt(pid, 0);
	for (; n < 6; n++)
		trigger(n);
	expect_held(&sv, 0, 0, pid, "unable to get local issuer certificate");
	server_stop(&sv);
	server_tls(&sv, "good", "good", NULL);
	server_start(&sv);
	expect_stream(&sv, n, 30000);
	ck_assert_msg(jbh_log_has(&A, "nats: stream JIBRIL ready"), "log %s", A.log);

	/* 2. mutual TLS and the token */
	server_stop(&sv);
	snprintf(verify, sizeof(verify), "  ca_file: \"%s/good-ca.pem\"\n  verify: true\n", pki);
	server_tls(&sv, "good", "good", verify);
	ck_assert(snprintf(sv.conf + strlen(sv.conf), sizeof(sv.conf) - strlen(sv.conf),
			   "authorization {\n  token: \"%s\"\n}\n", auth) > 0);
	snprintf(sv.token, sizeof(sv.token), "%s", auth);
	snprintf(sv.cert, sizeof(sv.cert), "%s/client.pem", pki);
	snprintf(sv.key, sizeof(sv.key), "%s/client.key", pki);
	server_start(&sv);
	for (from = n; n < from + 6; n++)
		trigger(n);
	expect_stream(&sv, n, 30000);
	ck_assert_int_eq(jbh_child_pid(&A, "nats"), pid);
	finish(&sv);
}
END_TEST

/* A wrong token: refused, said so, nothing lost (spooled); the server
 * given that token: everything arrives, once. Its own agent: the refusal
 * must come on the printer's first connect (on a reconnect after a
 * server's restart, no reason is logged within the wait: see the report
 * of fastcheck2). */
START_TEST(test_wrong_token)
{
	struct server sv;
	char tok[PATH_MAX], more[PATH_MAX + 32];
	int n = 6;
	pid_t pid;

	make_bin_dir();
	server_init(&sv, "/tmp");
	server_tls(&sv, "good", "good", "");
	strcat(sv.conf, "authorization {\n  token: \"the-right-one\"\n}\n");
	snprintf(sv.token, sizeof(sv.token), "the-right-one");
	secret_file(&sv, "token", "a-wrong-one\n", tok, sizeof(tok));
	snprintf(more, sizeof(more), "token_file = %s\n", tok);
	server_start(&sv);
	agent_start(&sv, agent_tls("good", more));
	pid = jbh_child_pid(&A, "nats");
	ck_assert_int_gt(pid, 0);
	for (int i = 0; i < n; i++)
		trigger(i);
	expect_held(&sv, 0, 0, pid, "uthorization");
	server_stop(&sv);
	server_tls(&sv, "good", "good", "");
	strcat(sv.conf, "authorization {\n  token: \"a-wrong-one\"\n}\n");
	snprintf(sv.token, sizeof(sv.token), "a-wrong-one");
	server_start(&sv);
	expect_stream(&sv, n, 30000);
	finish(&sv);
}
END_TEST

/* --- an nkey pair, as nsc would make one (no nsc needed) ------------------------------ */

/* CRC-16/XMODEM, the checksum nkeys append (little-endian) */
static uint16_t crc16(const unsigned char *p, size_t n)
{
	uint16_t c = 0;

	for (size_t i = 0; i < n; i++) {
		c ^= (uint16_t)(p[i] << 8);
		for (int b = 0; b < 8; b++)
			c = c & 0x8000 ? (uint16_t)((c << 1) ^ 0x1021) : (uint16_t)(c << 1);
	}
	return c;
}

/* RFC 4648 base32 without padding */
static void base32(const unsigned char *p, size_t n, char *out)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	unsigned buf = 0;
	int bits = 0;
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		buf = (buf << 8) | p[i];
		for (bits += 8; bits >= 5; bits -= 5)
			out[o++] = abc[(buf >> (bits - 5)) & 31];
	}
	if (bits)
		out[o++] = abc[(buf << (5 - bits)) & 31];
	out[o] = '\0';
}

/* A user's Ed25519 key pair: pub "U..." (56 characters), seed "SU..." (58). */
static void make_nkey(char pub[57], char seed[59])
{
	enum { PFX_USER = 20 << 3, PFX_SEED = 18 << 3 };
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	unsigned char raw[36];
	size_t len = 32;
	uint16_t c;

	ck_assert_ptr_nonnull(k);
	raw[0] = PFX_USER;
	ck_assert(EVP_PKEY_get_raw_public_key(k, raw + 1, &len) == 1 && len == 32);
	c = crc16(raw, 33);
	raw[33] = (unsigned char)(c & 0xff);
	raw[34] = (unsigned char)(c >> 8);
	base32(raw, 35, pub);
	raw[0] = PFX_SEED | (PFX_USER >> 5);
	raw[1] = (PFX_USER & 31) << 3;
	ck_assert(EVP_PKEY_get_raw_private_key(k, raw + 2, &len) == 1 && len == 32);
	c = crc16(raw, 34);
	raw[34] = (unsigned char)(c & 0xff);
	raw[35] = (unsigned char)(c >> 8);
	base32(raw, 36, seed);
	EVP_PKEY_free(k);
}

/* An nkey user (the server knows its public key; the printer signs the
 * server's nonce with the seed) over TLS: delivered. The printer
 * pseudonymises ([privacy] printers = nats): the HOST token of every
 * subject is the node name's pseudonym, never the name (the subject
 * travels with each message, outside the event the policy rewrites). */
START_TEST(test_nkey)
{
	struct server sv;
	char pub[57], seed[59], more[2 * PATH_MAX + 256], keyp[PATH_MAX];
	unsigned char key[PRV_KEY_LEN];
	char ps[PRV_PSEUDO_MAX];
	struct utsname un;
	int n = 6, fd;

	make_bin_dir();
	server_init(&sv, "/tmp");
	make_nkey(pub, seed);
	server_tls(&sv, "good", "good", "");
	snprintf(sv.conf + strlen(sv.conf), sizeof(sv.conf) - strlen(sv.conf),
		 "authorization {\n  users = [ { nkey: \"%s\" } ]\n}\n", pub);
	snprintf(sv.nkey, sizeof(sv.nkey), "%s", pub);
	secret_file(&sv, "seed", seed, sv.seed, sizeof(sv.seed));
	ck_assert((size_t)snprintf(keyp, sizeof(keyp), "%.*s/keys/privacy.key", PATH_MAX - 32,
				   sv.dir) < sizeof(keyp));
	snprintf(more, sizeof(more),
		 "nkey = %s\nnkey_seed_file = %s\n[privacy]\nprinters = nats\nkey_file = %s\n", pub,
		 sv.seed, keyp);
	server_start(&sv);
	agent_start(&sv, agent_tls("good", more));
	fd = open(keyp, O_RDONLY | O_CLOEXEC);
	ck_assert_msg(fd >= 0, "%s: %s", keyp, strerror(errno));
	ck_assert_int_eq(read(fd, key, sizeof(key)), (ssize_t)sizeof(key));
	close(fd);
	ck_assert_int_eq(uname(&un), 0);
	prv_pseudonym(key, "host", un.nodename, ps);
	prn_nats_token(subj_host, sizeof(subj_host), ps);
	for (int i = 0; i < n; i++)
		trigger(i);
	expect_stream(&sv, n, 30000);
	subj_host[0] = '\0';
	finish(&sv);
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
		TCase *ts = tcase_create("jetstream_shared");

		/* Check runs teardowns in the reverse order of adding */
		tcase_set_timeout(ts, 240);
		tcase_add_unchecked_fixture(ts, shared_up, shared_down);
		tcase_add_test(ts, test_server_down_at_start);
		tcase_add_test(ts, test_delivery_and_restart);
		tcase_add_test(ts, test_shared_stop);
		suite_add_tcase(s, ts);
		tcase_set_timeout(tc, 240);
		tcase_add_test(tc, test_unreachable_servers_first);
		suite_add_tcase(s, tc);
		snprintf(pki, sizeof(pki), "/tmp/natspki.XXXXXX");
		if (!tl_pki_openssl() || !mkdtemp(pki) || tl_pki_ca(pki, "good") < 0 ||
		    tl_pki_cert(pki, "good", "good") < 0 || tl_pki_cert(pki, "good", "client") < 0 ||
		    tl_pki_ca(pki, "wrong") < 0 || tl_pki_cert(pki, "wrong", "wrong") < 0) {
			printf("SKIP: check_nats: no openssl program (Debian's openssl package) or it "
			       "failed: the TLS and credential tests did not run\n");
		} else {
			TCase *tt = tcase_create("tls");

			tcase_set_timeout(tt, 180);
			tcase_add_test(tt, test_tls_and_mtls);
			tcase_add_test(tt, test_wrong_token);
			tcase_add_test(tt, test_nkey);
			suite_add_tcase(s, tt);
		}
	}
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	if (pki[0] && strcmp(pki, "/tmp/natspki.XXXXXX"))
		tl_rm_tree(pki, "/tmp/natspki.");
	jbh_kill_leftovers();
	return failed ? 1 : 0;
}
