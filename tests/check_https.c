/*
 * check_https.c - the HTTPS printer (printers/https.c) against a real TLS
 * server on loopback: tests/helpers/https_server.py (Python's ssl and
 * http.server), with a CA and certificates this test makes with openssl in
 * its temp dir, driven through its mode file (200, 500, 429 with
 * Retry-After, 400, stall) and stopped and started again on the same
 * port; it records every request it got (headers, body, status, time).
 *
 * Triggers: copies of cat named jbhs<pid>_<n> (each its own executable, so
 * no `times` limit folds them) reading /etc/shadow; each gives one
 * credentials_files_access detection carrying its marker. A detection is
 * DELIVERED when a request answered 2xx held a line with its marker.
 *
 * What it proves:
 *  - the printer is confined (own uid, no capabilities, no_new_privs,
 *    seccomp) and stays the same process through a stalled request;
 *  - delivery: JSON lines bodies, every line a JSON object with a uuid,
 *    Content-Type application/x-ndjson, the token as "Authorization:
 *    Bearer", an Idempotency-Key; the same uuids the file printer wrote;
 *  - 500 and 429 are retried with the same Idempotency-Key, 429 after its
 *    Retry-After (one too long for 64-bit milliseconds waits the longest,
 *    never wraps short); a stalling server times out and the batch is
 *    retried; a 400 and a 302 (redirects are not followed) are not
 *    retried, their lines land in dead-letter.jsonl and a data_loss event
 *    (cause http_rejected) reaches the file printer;
 *  - the endpoint down for 30 s under a steady trigger load, then up:
 *    every trigger delivered (0 lost), a repeat only with the same uuid;
 *  - the agent SIGKILLed while the spool holds detections, the endpoint
 *    back, a new agent over the same spool_dir: the spool drains;
 *  - a server whose certificate another CA signed: refused, logged,
 *    nothing received;
 *  - a token file that is not 0600 root's: start refused, FILE:LINE;
 *  - a spool directory another agent's printer holds (its lock): this
 *    printer refused with the reason, disabled (exit 78), not restarted.
 * Traffic goes to 127.0.0.1 only. Not root, or no python3/openssl:
 * "SKIP:" and exit 77. Every wait polls with a deadline.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <dirent.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent_harness.h"
#include "lib/pki.h"

#define READY_MS 90000
#define STOP_MS 8000

static char tdir[64];		/* PKI, server files, spool: survives an agent */
static int port;
static pid_t srv = -1;
static int ntrig;

static void put_file(const char *name, const char *text, mode_t mode)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tdir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(path, mode), 0);
}

/* A CA and a server certificate for localhost and 127.0.0.1 signed by it
 * (good), and the same from another CA (wrong). */
static void make_pki(void)
{
	for (int i = 0; i < 2; i++) {
		const char *n = i ? "wrong" : "good";

		ck_assert_msg(tl_pki_ca(tdir, n) == 0 && tl_pki_cert(tdir, n, n) == 0,
			      "cannot make the %s certificates in %s", n, tdir);
	}
}

static void set_mode(const char *m)
{
	put_file("mode", m, 0644);
}

/* The server on the test's port with that certificate; waits until it
 * listens. */
static void srv_up(const char *cert)
{
	char script[PATH_MAX], crt[256], key[256], rec[256], mode[256], ready[256], p[16];
	char *argv[] = {"python3", script, "--port", p, "--cert", crt, "--key", key, "--record",
			rec, "--mode-file", mode, "--ready", ready, NULL};
	uint64_t dl = jbh_now_ms() + 20000;

	snprintf(script, sizeof(script), "%s/tests/helpers/https_server.py", jbh_src());
	snprintf(crt, sizeof(crt), "%s/%s.pem", tdir, cert);
	snprintf(key, sizeof(key), "%s/%s.key", tdir, cert);
	snprintf(rec, sizeof(rec), "%s/rec.jsonl", tdir);
	snprintf(mode, sizeof(mode), "%s/mode", tdir);
	snprintf(ready, sizeof(ready), "%s/ready", tdir);
	snprintf(p, sizeof(p), "%d", port);
	unlink(ready);
	srv = jbh_spawn("/usr/bin/python3", argv, NULL);
	ck_assert_int_gt(srv, 0);
	while (access(ready, F_OK) != 0) {
		ck_assert_msg(jbh_now_ms() < dl, "the test's HTTPS server did not start");
		ck_assert_msg(waitpid(srv, NULL, WNOHANG) == 0, "the test's HTTPS server died");
		jbh_sleep_ms(50);
	}
}

static void srv_down(void)
{
	if (srv > 0) {
		kill(srv, SIGKILL);
		waitpid(srv, NULL, 0);
	}
	srv = -1;
}

static int free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), p;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	p = ntohs(a.sin_port);
	close(fd);
	return p;
}

static void setup(void)
{
	snprintf(tdir, sizeof(tdir), "/tmp/check_https.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tdir));
	ck_assert_int_eq(chmod(tdir, 0755), 0); /* owner.c: root's, not writable by others */
	make_pki();
	put_file("token", "jibril-test-token-7\n", 0600);
	set_mode("200");
	port = free_port();
	ntrig = 0;
}

static void teardown(void)
{
	char cmd[128];

	srv_down();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tdir);
}

/* [printers] https = yes and its section; extra: more [https] keys. */
static const char *https_conf(const char *host, const char *ca, const char *extra)
{
	static char c[2048];

	snprintf(c, sizeof(c),
		 "[printers]\nhttps = yes\n[https]\nurl = https://%s:%d/ingest\n"
		 "token_file = %s/token\nca_file = %s/%s-ca.pem\nspool_dir = %s/spool\n"
		 "batch_ms = 200\nretry_initial_ms = 200\nretry_max_ms = 2000\n%s",
		 host, port, tdir, tdir, ca, tdir, extra ? extra : "");
	return c;
}

static void agent_up(struct jbh_agent *a, const char *conf)
{
	struct jbh_opts o = {.extra_conf = conf, .no_fault_hooks = 1};

	jbh_start(a, &o);
	jbh_wait_all_ready(a, READY_MS);
	ck_assert_msg(jbh_wait_ready(a, "https", -1, READY_MS) > 0, "no https printer READY (log %s)",
		      a->log);
}

/* One trigger: a copy of cat named by its marker reads /etc/shadow. */
static int trigger(void)
{
	char self[PATH_MAX], copy[PATH_MAX + 64];
	char *argv[] = {copy, "/etc/shadow", NULL};
	int n = ntrig++, st;

	snprintf(self, sizeof(self), "%s", jbh_bin());
	snprintf(copy, sizeof(copy), "%s/jbhs%d_%d", dirname(self), (int)getpid(), n);
	jbh_copy_file("/bin/cat", copy, 0755);
	st = jbh_run(copy, argv, 5000, NULL);
	unlink(copy);
	ck_assert_int_eq(st, 0);
	return n;
}

static void marker(char *buf, size_t len, int n)
{
	snprintf(buf, len, "jbhs%d_%d\"", (int)getpid(), n);
}

/* The server's record: every request. */
static json_t *records(void)
{
	char path[256];
	json_t *arr = json_array();
	char *all, *line, *save = NULL;

	snprintf(path, sizeof(path), "%s/rec.jsonl", tdir);
	all = jbh_slurp(path, NULL);
	for (line = all ? strtok_r(all, "\n", &save) : NULL; line; line = strtok_r(NULL, "\n", &save)) {
		json_t *r = json_loads(line, 0, NULL);

		if (r)
			json_array_append_new(arr, r);
	}
	free(all);
	return arr;
}

/* Per trigger: how many delivered lines carry its marker, and whether
 * those that repeat all share one uuid. */
struct tally {
	int lines, uuids_differ;
	char uuid[64];
};

static void tally(json_t *recs, struct tally *t, int n)
{
	size_t i;
	json_t *r;

	memset(t, 0, sizeof(*t) * (size_t)n);
	json_array_foreach(recs, i, r) {
		const char *body = jbh_jstr(r, "body");
		char *copy, *line, *save = NULL;

		if (jbh_jint(r, "status", 0) / 100 != 2 || !body)
			continue;
		copy = strdup(body);
		for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			json_t *ev = json_loads(line, 0, NULL);
			const char *u;

			ck_assert_msg(ev && json_is_object(ev), "a body line is not a JSON object: %.200s",
				      line);
			u = jbh_jstr(ev, "uuid");
			for (int k = 0; k < n; k++) {
				char m[64];

				marker(m, sizeof(m), k);
				if (!strstr(line, m) || !jbh_jstr(ev, "kind") ||
				    strcmp(jbh_jstr(ev, "kind"), "credentials_files_access"))
					continue;
				/* a detection's (the agent's own summaries have none) */
				ck_assert_msg(u && strlen(u) == 36, "a detection without a uuid");
				if (t[k].lines++ && strcmp(t[k].uuid, u))
					t[k].uuids_differ = 1;
				snprintf(t[k].uuid, sizeof(t[k].uuid), "%s", u);
			}
			json_decref(ev);
		}
		free(copy);
	}
}

/* Wait until triggers [from, to) are all delivered; the tallies. */
static void wait_delivered(int from, int to, unsigned ms, struct tally *t)
{
	uint64_t dl = jbh_now_ms() + ms;

	for (;;) {
		json_t *recs = records();
		int missing = 0;

		tally(recs, t, to);
		json_decref(recs);
		for (int k = from; k < to; k++)
			missing += t[k].lines == 0;
		if (!missing)
			return;
		ck_assert_msg(jbh_now_ms() < dl, "%d of triggers %d..%d not delivered within %u ms",
			      missing, from, to - 1, ms);
		jbh_sleep_ms(200);
	}
}

/* Requests with status st (0: any) and key (NULL: any). */
static int count_recs(int st, const char *key)
{
	json_t *recs = records(), *r;
	size_t i;
	int n = 0;

	json_array_foreach(recs, i, r) {
		if ((!st || jbh_jint(r, "status", 0) == st) &&
		    (!key || (jbh_jstr(r, "key") && !strcmp(jbh_jstr(r, "key"), key))))
			n++;
	}
	json_decref(recs);
	return n;
}

/* The key of the last request answered st, copied to buf ("" if none). */
static void last_key(int st, char *buf, size_t len)
{
	json_t *recs = records(), *r;
	size_t i;

	buf[0] = '\0';
	json_array_foreach(recs, i, r)
		if (jbh_jint(r, "status", 0) == st && jbh_jstr(r, "key"))
			snprintf(buf, len, "%s", jbh_jstr(r, "key"));
	json_decref(recs);
}

static void wait_count(int st, int at_least, unsigned ms)
{
	uint64_t dl = jbh_now_ms() + ms;

	while (count_recs(st, NULL) < at_least) {
		ck_assert_msg(jbh_now_ms() < dl, "no %d requests answered %d within %u ms", at_least,
			      st, ms);
		jbh_sleep_ms(100);
	}
}

/* --- delivery, 500, 429, stall, 400 ------------------------------------------------- */

START_TEST(test_delivery_and_answers)
{
	struct jbh_agent a;
	struct tally t[16];
	char key[128], m[64], path[256], *dead;
	json_t *recs, *r;
	size_t i;
	int first, n429;

	srv_up("good");
	/* a host name: resolved by the printer before its confinement; loss
	 * summaries every second */
	agent_up(&a, https_conf("localhost", "good", "timeout_ms = 1500\n[recipes]\nsummary_s = 1\n"));

	/* normal delivery */
	for (int k = 0; k < 3; k++)
		trigger();
	wait_delivered(0, 3, 15000, t);
	recs = records();
	json_array_foreach(recs, i, r) {
		ck_assert_str_eq(jbh_jstr(r, "auth"), "Bearer jibril-test-token-7");
		ck_assert_str_eq(jbh_jstr(r, "ctype"), "application/x-ndjson");
		ck_assert_str_eq(jbh_jstr(r, "path"), "/ingest");
		ck_assert_msg(jbh_jstr(r, "key") && strlen(jbh_jstr(r, "key")) > 16, "no key");
	}
	json_decref(recs);
	/* the same detection as the file printer's: its uuid */
	for (int k = 0; k < 3; k++) {
		char needle[64];
		snprintf(needle, sizeof(needle), "\"uuid\":\"%s\"", t[k].uuid);
		char *ev = jbh_slurp(a.events, NULL);
		ck_assert_msg(ev && strstr(ev, needle), "uuid %s not in the file printer's output",
			      t[k].uuid);
		free(ev);
	}

	/* the printer is confined like every child: its own uid, no
	 * capabilities, no_new_privs, a seccomp filter */
	{
		char spath[64], *st;
		pid_t hp = jbh_child_pid(&a, "https");

		ck_assert_int_gt(hp, 0);
		snprintf(spath, sizeof(spath), "/proc/%d/status", (int)hp);
		st = jbh_slurp(spath, NULL);
		ck_assert_ptr_nonnull(st);
		ck_assert_msg(!strstr(st, "\nUid:\t0\t") && strstr(st, "\nCapEff:\t0000000000000000") &&
			      strstr(st, "\nNoNewPrivs:\t1") && strstr(st, "\nSeccomp:\t2"),
			      "the https printer is not confined:\n%s", st);
		free(st);
	}

	/* 500: retried with the same key until it is taken */
	set_mode("500");
	first = trigger();
	wait_count(500, 2, 15000);
	last_key(500, key, sizeof(key));
	set_mode("200");
	wait_delivered(first, first + 1, 15000, t);
	ck_assert_int_ge(count_recs(200, key), 1);

	/* 429 with Retry-After: 2: the same key, not sooner than ~2 s */
	set_mode("429:2");
	first = trigger();
	wait_count(429, 1, 15000);
	last_key(429, key, sizeof(key));
	set_mode("200");
	wait_delivered(first, first + 1, 15000, t);
	recs = records();
	{
		double t429 = 0, t200 = 0;
		json_array_foreach(recs, i, r) {
			if (!jbh_jstr(r, "key") || strcmp(jbh_jstr(r, "key"), key))
				continue;
			if (jbh_jint(r, "status", 0) == 429)
				t429 = json_real_value(json_object_get(r, "t"));
			else if (jbh_jint(r, "status", 0) == 200 && !t200)
				t200 = json_real_value(json_object_get(r, "t"));
		}
		ck_assert_msg(t200 > 0, "the batch answered 429 was not sent again with its key");
		ck_assert_msg(t200 - t429 >= 1.8, "retried %.2f s after a Retry-After of 2 s",
			      t200 - t429);
	}
	json_decref(recs);

	/* a Retry-After whose milliseconds do not fit 64 bits (2^64 / 1000
	 * + 1 s, 384 ms once wrapped): read as long, so retry_max_ms (2 s)
	 * decides, not the wrapped 384 ms */
	n429 = count_recs(429, NULL);
	set_mode("429:18446744073709552");
	first = trigger();
	wait_count(429, n429 + 1, 15000);
	last_key(429, key, sizeof(key));
	set_mode("200");
	wait_delivered(first, first + 1, 15000, t);
	recs = records();
	{
		double t429 = 0, t200 = 0;
		json_array_foreach(recs, i, r) {
			if (!jbh_jstr(r, "key") || strcmp(jbh_jstr(r, "key"), key))
				continue;
			if (jbh_jint(r, "status", 0) == 429)
				t429 = json_real_value(json_object_get(r, "t"));
			else if (jbh_jint(r, "status", 0) == 200 && !t200)
				t200 = json_real_value(json_object_get(r, "t"));
		}
		ck_assert_msg(t200 > 0, "the batch answered 429 was not sent again with its key");
		ck_assert_msg(t200 - t429 >= 1.8, "retried %.2f s after a Retry-After past 2^64 ms",
			      t200 - t429);
	}
	json_decref(recs);

	/* a server that stalls past timeout_ms: the request times out, the
	 * batch goes again (same key) once it answers */
	{
		/* busy, not hung: the same printer, heartbeating, lines still taken */
		pid_t before = jbh_child_pid(&a, "https");

		set_mode("stall:4");
		first = trigger();
		ck_assert_msg(jbh_log_wait(&a, "Timeout", 20000), "no timeout logged (log %s)", a.log);
		trigger();
		set_mode("200");
		wait_delivered(first, first + 2, 20000, t);
		ck_assert_int_eq(jbh_child_pid(&a, "https"), before);
	}

	/* 400: not retried, its lines in the dead-letter file */
	set_mode("400");
	first = trigger();
	wait_count(400, 1, 15000);
	last_key(400, key, sizeof(key));
	ck_assert_msg(jbh_log_wait(&a, "HTTP 400", 10000), "the refusal is not logged");
	jbh_sleep_ms(2000); /* ten retry periods: it must not come again */
	ck_assert_int_eq(count_recs(400, key), 1);
	set_mode("200");
	marker(m, sizeof(m), first);
	snprintf(path, sizeof(path), "%s/spool/dead-letter.jsonl", tdir);
	dead = jbh_slurp(path, NULL);
	ck_assert_msg(dead && strstr(dead, m), "trigger %d not in %s", first, path);
	free(dead);
	/* and the loss is an event, through the file printer too */
	{
		uint64_t dl = jbh_now_ms() + 10000;
		char *ev;

		while (!((ev = jbh_slurp(a.events, NULL)) && strstr(ev, "\"cause\":\"http_rejected\"") &&
			 strstr(ev, "\"who\":\"https\""))) {
			free(ev);
			ck_assert_msg(jbh_now_ms() < dl, "no data_loss event for the refused batch in %s",
				      a.events);
			jbh_sleep_ms(200);
		}
		free(ev);
	}
	/* a redirect is not followed, nor retried: final like a 400 */
	set_mode("302");
	first = trigger();
	wait_count(302, 1, 15000);
	last_key(302, key, sizeof(key));
	ck_assert_msg(jbh_log_wait(&a, "HTTP 302", 10000), "the redirect is not logged");
	jbh_sleep_ms(2000); /* ten retry periods: it must not come again */
	ck_assert_int_eq(count_recs(302, key), 1);
	set_mode("200");
	marker(m, sizeof(m), first);
	dead = jbh_slurp(path, NULL);
	ck_assert_msg(dead && strstr(dead, m), "trigger %d (answered 302) not in %s", first, path);
	free(dead);
	/* and the printer goes on */
	first = trigger();
	wait_delivered(first, first + 1, 15000, t);
	jbh_stop(&a, STOP_MS);
}
END_TEST

/* --- one spool's life under one agent, then two ---------------------------------------- */

/* Starting an agent (the BPF load) is most of a test's time, so these
 * phases share the agents they need (one configuration throughout; the
 * server is restarted between them, the printer reconnects):
 *  1. a server whose certificate another CA signed: refused, logged,
 *     nothing received, the detections wait in the spool; the server with
 *     the right certificate: they are delivered;
 *  2. the endpoint down for 30 s under a steady load, then up: every
 *     trigger delivered, a repeat only with the same uuid;
 *  3. down again, the agent SIGKILLed while the spool holds detections, a
 *     new agent over the same spool_dir: the spool drains;
 *  3b. stopped while the endpoint stalls: the waiting detection is
 *     acknowledged and in the spool at shutdown;
 *  4. another agent over the same spool directory, started during phase 2's
 *     outage (its BPF load overlaps the outage, not a test of its own) while
 *     the first one's printer holds the spool's lock: its printer is refused
 *     with the reason, DISABLED, and not restarted until it is stopped after
 *     phase 2. */
/* Whether a spool segment of the test's spool_dir holds the text m. */
static int spool_has(const char *m)
{
	char dirp[256], path[512];
	DIR *d;
	struct dirent *e;
	int found = 0;

	snprintf(dirp, sizeof(dirp), "%s/spool", tdir);
	d = opendir(dirp);
	ck_assert_msg(d != NULL, "%s: %s", dirp, strerror(errno));
	while (!found && (e = readdir(d))) {
		size_t len = 0;
		char *buf;

		if (!strstr(e->d_name, ".seg"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dirp, e->d_name);
		buf = jbh_slurp(path, &len);
		found = buf && memmem(buf, len, m, strlen(m)) != NULL;
		free(buf);
	}
	closedir(d);
	return found;
}

/* Phase 4 of test_spool_life: b, started over a's spool directory while
 * a's printer held its lock, refused its printer with the reason, once,
 * and it is DISABLED, not restarted; then b stops cleanly. */
static void second_agent_refused(struct jbh_agent *b)
{
	ck_assert_msg(jbh_log_wait(b, "two agents must not share one spool directory", 30000),
		      "the shared spool is not logged (log %s)", b->log);
	{
		uint64_t dl = jbh_now_ms() + 10000;

		for (;;) {
			char *log = jbh_log_read(b), *l, *save = NULL;
			int found = 0;

			for (l = strtok_r(log, "\n", &save); l && !found; l = strtok_r(NULL, "\n", &save))
				found = strstr(l, "https[") && strstr(l, "-> DISABLED");
			free(log);
			if (found)
				break;
			ck_assert_msg(jbh_now_ms() < dl, "the https printer is not DISABLED (log %s)",
				      b->log);
			jbh_sleep_ms(100);
		}
	}
	jbh_sleep_ms(1000);
	ck_assert_int_eq(jbh_child_pid(b, "https"), -1);
	{
		char *log = jbh_log_read(b), *p = log;
		int refused = 0;

		while ((p = strstr(p, "must not share one spool directory")))
			refused++, p++;
		free(log);
		ck_assert_msg(refused == 1, "refused %d times: restarted in a loop", refused);
	}
	jbh_stop(b, STOP_MS);
}

START_TEST(test_spool_life)
{
	struct jbh_agent a, b;
	struct tally t[128];
	char spool[256];
	struct stat st;
	uint64_t end;
	int n, before_kill;

	/* 1. a certificate from another CA */
	srv_up("wrong");
	agent_up(&a, https_conf("127.0.0.1", "good", NULL));
	for (int k = 0; k < 2; k++)
		trigger();
	ck_assert_msg(jbh_log_wait(&a, "certificate is refused", 20000),
		      "the refused certificate is not logged (log %s)", a.log);
	jbh_sleep_ms(1500);
	ck_assert_int_eq(count_recs(0, NULL), 0); /* nothing sent */
	/* the detections wait in the spool */
	snprintf(spool, sizeof(spool), "%s/spool/0000000000000000.seg", tdir);
	ck_assert_int_eq(stat(spool, &st), 0);
	ck_assert_int_gt(st.st_size, 0);
	srv_down();
	srv_up("good");
	wait_delivered(0, 2, 15000, t);

	/* 2. down for 30 s under a steady load; meanwhile phase 4's agent
	 * starts over the same spool directory, whose lock a's printer holds */
	srv_down();
	{
		struct jbh_opts o = {.extra_conf = https_conf("127.0.0.1", "good", NULL),
				     .no_fault_hooks = 1};

		jbh_start(&b, &o);
	}
	end = jbh_now_ms() + 30000;
	while (jbh_now_ms() < end)
		(void)trigger(), jbh_sleep_ms(500);
	n = ntrig;
	srv_up("good");
	wait_delivered(0, n, 60000, t);
	for (int k = 0; k < n; k++)
		ck_assert_msg(!t[k].uuids_differ, "trigger %d delivered twice with two uuids", k);
	{
		int rep = 0;
		for (int k = 0; k < n; k++)
			rep += t[k].lines - 1;
		printf("outage: %d triggers, 0 lost, %d repeated (same uuid)\n", n, rep);
	}
	/* 4. the second agent: refused, DISABLED, not restarted; stopped */
	second_agent_refused(&b);

	/* 3. down again; detections wait in the spool; the agent is killed */
	srv_down();
	for (int k = 0; k < 5; k++)
		trigger();
	before_kill = ntrig;
	{
		/* each of them acknowledged, so in the spool: the file printer has them */
		uint64_t dl = jbh_now_ms() + 15000;
		for (;;) {
			char *ev = jbh_slurp(a.events, NULL), m[64];
			int have = 0;
			for (int k = n; k < before_kill; k++) {
				marker(m, sizeof(m), k);
				have += ev && strstr(ev, m) != NULL;
			}
			free(ev);
			if (have == before_kill - n)
				break;
			ck_assert_msg(jbh_now_ms() < dl, "the triggers were not detected");
			jbh_sleep_ms(200);
		}
		jbh_sleep_ms(1000); /* group commit: synced and acknowledged */
	}
	{
		/* SIGKILL the supervisor; its children end when their socket
		 * closes: the old printer must be gone before a new one opens
		 * the spool */
		pid_t old = jbh_child_pid(&a, "https");
		uint64_t dl = jbh_now_ms() + 10000;
		char cmd[128];

		ck_assert_int_gt(old, 0);
		kill(a.pid, SIGKILL);
		ck_assert_int_eq(waitpid(a.pid, &a.status, 0), a.pid);
		a.reaped = 1;
		while (!jbh_pid_gone(old)) {
			ck_assert_msg(jbh_now_ms() < dl, "the killed agent's printer lives on");
			jbh_sleep_ms(50);
		}
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", a.dir);
		ck_assert_int_eq(system(cmd), 0);
	}
	srv_up("good");
	agent_up(&a, https_conf("127.0.0.1", "good", NULL));
	wait_delivered(n, before_kill, 30000, t);

	/* 3b. stopped while the endpoint stalls: the detection waiting for it
	 * is in the spool within spill_ms (at most 1 s), inside the
	 * supervisor's 1.5 s drain, so the printer acknowledged it and the
	 * next start sends it (3. shows the spool drains) */
	set_mode("stall:60");
	{
		int k = trigger();
		uint64_t dl = jbh_now_ms() + 15000;
		char m[64], *ev;

		marker(m, sizeof(m), k);
		while (!((ev = jbh_slurp(a.events, NULL)) && strstr(ev, m))) {
			free(ev);
			ck_assert_msg(jbh_now_ms() < dl, "trigger %d not detected (log %s)", k, a.log);
			jbh_sleep_ms(100);
		}
		free(ev);
		jbh_stop(&a, STOP_MS);
		ck_assert_msg(!jbh_log_has(&a, "did not acknowledge"),
			      "the https printer left detections unacknowledged at shutdown (log %s)",
			      a.log);
		ck_assert_msg(spool_has(m), "trigger %d, stalled at shutdown, is not in the spool", k);
	}
	set_mode("200");
}
END_TEST

/* --- a token file others may read -------------------------------------------------------- */

START_TEST(test_token_mode_refused)
{
	char conf[256], *argv[] = {"jibril", "--check-config", conf, NULL}, *log;
	char out[256], want[512];
	int st, fd, line = 0;
	pid_t pid;
	struct jbh_io io = {NULL, -1, -1, -1};
	FILE *f;

	put_file("token", "jibril-test-token-7\n", 0644);
	snprintf(conf, sizeof(conf), "%s/jibril.conf", tdir);
	f = fopen(conf, "w");
	ck_assert_ptr_nonnull(f);
	fputs("[printers]\nstdout = yes\n", f);
	fputs(https_conf("127.0.0.1", "good", NULL), f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(conf, 0600), 0);
	/* [printers] stdout, [printers] https, [https] url, then token_file: line 7 */
	line = 7;
	snprintf(out, sizeof(out), "%s/check.out", tdir);
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	io.err = fd;
	pid = jbh_spawn(jbh_bin(), argv, &io);
	close(fd);
	st = jbh_wait_exit(pid, 20000);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 78, "--check-config exit 0x%x", st);
	log = jbh_slurp(out, NULL);
	snprintf(want, sizeof(want), "%s:%d: [https] token_file: %s/token: mode 0644", conf, line,
		 tdir);
	ck_assert_msg(log && strstr(log, want), "'%s' not in '%s'", want, log ? log : "");
	free(log);
	/* the agent itself refuses to start, before anything is loaded */
	argv[1] = "--config";
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	io.err = fd;
	pid = jbh_spawn(jbh_bin(), argv, &io);
	close(fd);
	st = jbh_wait_exit(pid, 20000);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 78, "agent exit 0x%x", st);
	log = jbh_slurp(out, NULL);
	ck_assert_msg(log && strstr(log, want), "'%s' not in '%s'", want, log ? log : "");
	free(log);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("https");
	TCase *tc = tcase_create("https");
	SRunner *sr;
	int failed;

	jbh_main_init("check_https");
	if (access("/usr/bin/python3", X_OK) != 0 || !tl_pki_openssl()) {
		printf("SKIP: check_https: needs /usr/bin/python3 and openssl for its TLS server\n");
		return 77;
	}
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_token_mode_refused);
	tcase_add_test(tc, test_delivery_and_answers);
	tcase_add_test(tc, test_spool_life);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	jbh_kill_leftovers();
	return failed ? 1 : 0;
}
