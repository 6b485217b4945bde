/*
 * check_summary.c - the summary printer (printers/summary.c) against an
 * OpenAI-compatible endpoint of the test's own on loopback:
 * tests/helpers/openai_server.py (Python's ssl and http.server, a CA and
 * certificate made with openssl in the test's temp dir), which checks each
 * request (method, path, bearer key, content type, the JSON shape of a
 * chat completion request), records it and answers as its mode file says.
 *
 * One agent for the whole suite (an unchecked fixture; the last test stops
 * it), with the file printer and the summary printer (max_detections = 1:
 * each detection is a digest at once; one retry 200 ms later; a 1 s
 * timeout), and the privacy key in the temp dir.
 *
 * Triggers: copies of cat in /home/jbsumPID/ (a home directory: its name is
 * a user name to pseudonymise) reading /etc/shadow, one
 * credentials_files_access detection each.
 *
 * What it proves:
 *  - a digest goes out as one good request: POST /v1/chat/completions,
 *    "Authorization: Bearer KEY", application/json, {model, messages:
 *    [system, user]}, the user message a JSON digest (period, counts by
 *    kind and importance, the executable pseudonymised: /home/user-...),
 *    and no raw user name nor host name anywhere in the body;
 *  - the answer comes back through the file printer as a
 *    detection_summary event (uuid, period, counts, model, the text,
 *    hostname), and never goes back to the summary printer (no request
 *    ever digests a detection_summary);
 *  - an endpoint answering garbage (not JSON), JSON without choices, HTTP
 *    500, stalling beyond the timeout, then down (connection refused):
 *    each digest is tried twice, then skipped with its reason in the log,
 *    while the file printer delivers every detection at once, and the
 *    summary printer is the same process throughout (never killed by its
 *    sandbox).
 *  - (no agent) the endpoint's text loses its C1 and other control
 *    characters and bidirectional overrides (U+FFFD each) before it
 *    reaches any printer.
 * Traffic goes to 127.0.0.1 only. Not root, or no python3/openssl:
 * "SKIP:" and exit 77. Every wait polls with a deadline.
 */
#include <check.h>
#include <libgen.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent_harness.h"
#include "lib/pki.h"
#include "printers/summary.h"

#define READY_MS 90000
#define STOP_MS 8000
#define API_KEY "sk-jibril-test-5ec7e7"
#define MODEL "test-model-1"

static struct jbh_agent A;
static char tdir[64], home[64], user[32], host[256];
static int port;
static pid_t srv = -1;
static pid_t summary_pid;

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

static void set_mode(const char *m)
{
	put_file("mode", m, 0644);
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

/* The server on the test's port; waits until it listens. */
static void srv_up(void)
{
	char script[PATH_MAX], crt[256], key[256], rec[256], mode[256], ready[256], p[16];
	char *argv[] = {"python3", script, "--port", p, "--cert", crt, "--key", key, "--api-key",
			API_KEY, "--record", rec, "--mode-file", mode, "--ready", ready, NULL};
	uint64_t dl = jbh_now_ms() + 20000;

	snprintf(script, sizeof(script), "%s/tests/helpers/openai_server.py", jbh_src());
	snprintf(crt, sizeof(crt), "%s/good.pem", tdir);
	snprintf(key, sizeof(key), "%s/good.key", tdir);
	snprintf(rec, sizeof(rec), "%s/rec.jsonl", tdir);
	snprintf(mode, sizeof(mode), "%s/mode", tdir);
	snprintf(ready, sizeof(ready), "%s/ready", tdir);
	snprintf(p, sizeof(p), "%d", port);
	unlink(ready);
	srv = jbh_spawn("/usr/bin/python3", argv, NULL);
	ck_assert_int_gt(srv, 0);
	while (access(ready, F_OK) != 0) {
		ck_assert_msg(jbh_now_ms() < dl, "the test's OpenAI-compatible server did not start");
		ck_assert_msg(waitpid(srv, NULL, WNOHANG) == 0, "the test's server died");
		jbh_sleep_ms(50);
	}
}

/* unchecked fixture (the runner process): PKI, key, server, agent */
static void up(void)
{
	static char conf[2048];
	struct jbh_opts o = {.extra_conf = conf, .no_fault_hooks = 1, .keep_dir = !!getenv("JB_KEEP")};

	snprintf(tdir, sizeof(tdir), "/tmp/check_summary.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tdir));
	ck_assert_int_eq(chmod(tdir, 0755), 0); /* owner.c: root's, not writable by others */
	ck_assert_msg(tl_pki_ca(tdir, "good") == 0 && tl_pki_cert(tdir, "good", "good") == 0,
		      "cannot make the certificates in %s", tdir);
	put_file("key", API_KEY "\n", 0600);
	set_mode("ok");
	port = free_port();
	srv_up();
	snprintf(user, sizeof(user), "jbsum%d", (int)getpid());
	snprintf(home, sizeof(home), "/home/%s", user);
	ck_assert_int_eq(mkdir(home, 0755), 0);
	ck_assert_int_eq(gethostname(host, sizeof(host)), 0);
	snprintf(conf, sizeof(conf),
		 "[printers]\nsummary = yes\n[summary]\n"
		 "url = https://127.0.0.1:%d/v1/chat/completions\nmodel = " MODEL "\n"
		 "api_key_file = %s/key\nca_file = %s/good-ca.pem\ninterval_s = 1\n"
		 "max_detections = 1\ntimeout_ms = 1000\nconnect_timeout_ms = 1000\nretries = 1\n"
		 "retry_initial_ms = 200\n[privacy]\nkey_file = %s/privacy.key\n",
		 port, tdir, tdir, tdir);
	jbh_start_ready(&A, &o, READY_MS);
	summary_pid = jbh_child_pid(&A, "summary");
}

static void down(void)
{
	char cmd[256];

	jbh_reap(&A);
	if (srv > 0) {
		kill(srv, SIGKILL);
		waitpid(srv, NULL, 0);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", tdir, home);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s, %s\n", tdir, home);
}

/* The server's record: every request, as a JSON array. */
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

static int requests_in(const char *mode)
{
	json_t *recs = records(), *r;
	size_t i;
	int n = 0;

	json_array_foreach(recs, i, r)
		n += jbh_jstr(r, "mode") && !strcmp(jbh_jstr(r, "mode"), mode);
	json_decref(recs);
	return n;
}

/* One trigger: a copy of cat in the home directory reads /etc/shadow; the
 * file printer must have its detection within the detection deadline (a
 * summary printer in trouble must not delay it). */
static void trigger_delivered(int n)
{
	char copy[128];
	char *argv[] = {copy, "/etc/shadow", NULL};
	struct jbh_match m = {.kind = "credentials_files_access"};
	json_t *ev;
	int st;

	snprintf(copy, sizeof(copy), "%s/jbsum_%d", home, n);
	jbh_copy_file("/bin/cat", copy, 0755);
	st = jbh_run(copy, argv, 5000, &m.pid);
	unlink(copy);
	ck_assert_int_eq(st, 0);
	ev = jbh_wait_event(&A, jbh_match, &m, jbh_detect_deadline(&A));
	ck_assert_msg(ev, "trigger %d not delivered by the file printer in time (log %s)", n, A.log);
	/* the file printer prints in clear unless [privacy] names it */
	ck_assert_msg(jbh_jstr(ev, "process.exe") && strstr(jbh_jstr(ev, "process.exe"), user),
		      "the file printer's exe: %s", jbh_jstr(ev, "process.exe"));
	json_decref(ev);
}

/* A detection_summary of a digest that counted a credentials read (the
 * host's other processes, other tests among them, may add digests of
 * their own: the assertions hold for every one). */
static int is_summary(json_t *ev, void *arg)
{
	const char *k = jbh_jstr(ev, "kind"), *t = jbh_jstr(ev, "summary");

	return k && !strcmp(k, "detection_summary") && t && !strncmp(t, "jibril test summary", 19) &&
	       jbh_jint(ev, "counts.by_kind.credentials_files_access", 0) >= 1;
}

/* No string of the digest is the host's name, or holds it as a path
 * component (the name may be short: "vm" is part of /usr/bin/vmstat). */
static void no_host_name(json_t *j)
{
	char comp[300];
	size_t i;
	const char *k;
	json_t *v;

	if (json_is_string(j)) {
		snprintf(comp, sizeof(comp), "/%s/", host);
		ck_assert_msg(strcmp(json_string_value(j), host) && !strstr(json_string_value(j), comp),
			      "the raw host name %s went out: %s", host, json_string_value(j));
	} else if (json_is_array(j)) {
		json_array_foreach(j, i, v)
			no_host_name(v);
	} else if (json_is_object(j)) {
		json_object_foreach(j, k, v) {
			ck_assert_msg(strcmp(k, host), "the raw host name %s is a key", host);
			no_host_name(v);
		}
	}
}

static void same_summary_printer(void)
{
	ck_assert_msg(jbh_running(&A), "the supervisor died (log %s)", A.log);
	ck_assert_msg(summary_pid > 0 && jbh_child_pid(&A, "summary") == summary_pid,
		      "the summary printer was replaced (%d, now %d; log %s)", (int)summary_pid,
		      (int)jbh_child_pid(&A, "summary"), A.log);
	ck_assert_msg(!jbh_log_has(&A, "SIGSYS"), "a child was killed by its sandbox (log %s)",
		      A.log);
}

START_TEST(test_summary_ok)
{
	json_t *ev, *recs, *r, *body = NULL, *digest = NULL, *exes, *x;
	const char *s;
	size_t i, k;
	int found = 0, ours = 0;

	ck_assert_msg(summary_pid > 0, "no summary printer (log %s)", A.log);
	trigger_delivered(0);
	ev = jbh_wait_event(&A, is_summary, NULL, jbh_now_ms() + 20000);
	ck_assert_msg(ev, "no detection_summary in the file printer's output (log %s)", A.log);
	ck_assert_uint_eq(strlen(jbh_jstr(ev, "uuid")), 36);
	ck_assert_ptr_nonnull(jbh_jstr(ev, "timestamp"));
	ck_assert_str_eq(jbh_jstr(ev, "mechanism"), "agent");
	ck_assert_str_eq(jbh_jstr(ev, "model"), MODEL);
	ck_assert_str_eq(jbh_jstr(ev, "by"), "summary");
	ck_assert_str_eq(jbh_jstr(ev, "hostname"), host);
	ck_assert_msg(jbh_jstr(ev, "period.start") && jbh_jstr(ev, "period.end") &&
			      strcmp(jbh_jstr(ev, "period.start"), jbh_jstr(ev, "period.end")) <= 0,
		      "period %s .. %s", jbh_jstr(ev, "period.start"), jbh_jstr(ev, "period.end"));
	ck_assert_int_ge(jbh_jint(ev, "detections", 0), 1);
	ck_assert_int_ge(jbh_jint(ev, "counts.by_kind.credentials_files_access", 0), 1);
	ck_assert_int_ge(jbh_jint(ev, "counts.by_importance.critical", 0) +
				 jbh_jint(ev, "counts.by_importance.high", 0),
			 1);
	json_decref(ev);

	/* the request that got that answer */
	recs = records();
	json_array_foreach(recs, i, r) {
		if (jbh_jint(r, "status", 0) != 200)
			continue;
		found++;
		ck_assert_msg(json_array_size(json_object_get(r, "problems")) == 0,
			      "the server found problems: %s",
			      json_dumps(json_object_get(r, "problems"), 0));
		ck_assert_str_eq(jbh_jstr(r, "method"), "POST");
		ck_assert_str_eq(jbh_jstr(r, "path"), "/v1/chat/completions");
		ck_assert_str_eq(jbh_jstr(r, "auth"), "Bearer " API_KEY);
		ck_assert_str_eq(jbh_jstr(r, "ctype"), "application/json");
		s = jbh_jstr(r, "body");
		ck_assert_msg(!strstr(s, user), "the raw user name %s went out: %s", user, s);
		ck_assert_msg(!strstr(s, "\"hostname\""), "a hostname went out: %s", s);
		ck_assert_msg(!strstr(s, "detection_summary"), "a summary was digested: %s", s);
		body = json_loads(s, 0, NULL);
		ck_assert_ptr_nonnull(body);
		ck_assert_str_eq(jbh_jstr(body, "model"), MODEL);
		ck_assert_uint_eq(json_array_size(json_object_get(body, "messages")), 2);
		ck_assert_str_eq(jbh_jstr(json_array_get(json_object_get(body, "messages"), 0), "role"),
				 "system");
		ck_assert_str_eq(jbh_jstr(json_array_get(json_object_get(body, "messages"), 1), "role"),
				 "user");
		digest = json_loads(jbh_jstr(json_array_get(json_object_get(body, "messages"), 1),
					     "content"),
				    0, NULL);
		ck_assert_msg(digest, "the user message is not a JSON digest");
		ck_assert_ptr_nonnull(jbh_jstr(digest, "period.start"));
		ck_assert_int_ge(jbh_jint(digest, "detections", 0), 1);
		no_host_name(digest);
		/* never a raw event: no uuid, no process object, no argv */
		ck_assert_ptr_null(json_object_get(digest, "uuid"));
		ck_assert_ptr_null(json_object_get(digest, "process"));
		/* the trigger's executable, pseudonymised: /home/user-HEX/jbsum_0 */
		exes = json_object_get(digest, "executables");
		json_array_foreach(exes, k, x) {
			const char *e = json_string_value(x);

			if (e && !strncmp(e, "/home/user-", 11) && strstr(e, "/jbsum_0"))
				ours++;
		}
		json_decref(digest);
		json_decref(body);
	}
	json_decref(recs);
	ck_assert_int_ge(found, 1);
	ck_assert_msg(ours >= 1, "no digest named the trigger's pseudonymised executable");
	same_summary_printer();
}
END_TEST

/* Each way an endpoint fails, and the reason the log gives. */
static const struct {
	const char *mode, *why;
} fails[] = {
	{"garbage", "the answer of 127.0.0.1 is not a completion: not JSON"},
	{"nochoices", "the answer of 127.0.0.1 is not a completion: no choices"},
	{"500", "HTTP 500 from 127.0.0.1"},
	{"stall:3", "127.0.0.1: Timeout was reached"},
	{"down", "127.0.0.1: Couldn't connect to server"},
};

START_TEST(test_summary_fails)
{
	char retried[256], skipped[256];

	ck_assert_msg(summary_pid > 0, "no summary printer (log %s)", A.log);
	if (!strcmp(fails[_i].mode, "down")) {
		kill(srv, SIGKILL); /* the runner reaps it */
		jbh_sleep_ms(100);
	}
	set_mode(fails[_i].mode);
	snprintf(retried, sizeof(retried), "attempt 1 of 2 failed: %s", fails[_i].why);
	snprintf(skipped, sizeof(skipped), "skipped after 2 attempts: %s", fails[_i].why);
	trigger_delivered(1 + _i);
	/* the digests of the host's other detections, if any, go the same way */
	ck_assert_msg(jbh_log_wait(&A, retried, 15000), "no '%s' in the log %s", retried, A.log);
	ck_assert_msg(jbh_log_wait(&A, skipped, 15000), "no '%s' in the log %s", skipped, A.log);
	if (strcmp(fails[_i].mode, "down"))
		ck_assert_int_ge(requests_in(fails[_i].mode), 2);
	same_summary_printer();
}
END_TEST

/* The last test: SIGTERM stops the agent (exit 0, every child gone). */
START_TEST(test_shared_stop)
{
	jbh_stop_unparented(&A, STOP_MS);
}
END_TEST

/* The endpoint's text reaches every other printer, the stdout printer's
 * terminal too: its C1 controls (U+009B is a CSI to a terminal that reads
 * 8-bit controls), other C0 than newline and tab, DEL and bidirectional
 * overrides (U+202E, U+2066) come out as U+FFFD; the rest (newline, tab,
 * any other letter) as it was; a cap still cuts between sequences. */
START_TEST(test_answer_no_controls)
{
	static const char body[] =
		"{\"choices\":[{\"message\":{\"content\":"
		"\"a\\u009b31mb\\u202ec\\u2066d\\u0007e\\u007ff\\n\\tg\\u00e9\\u4e2d\"}}]}";
	char out[128], why[160];
	size_t len = 0;

	ck_assert_int_eq(prn_summary_answer(body, strlen(body), out, sizeof(out), &len, why,
					    sizeof(why)), 0);
	ck_assert_str_eq(out, "a\xef\xbf\xbd" "31mb\xef\xbf\xbd" "c\xef\xbf\xbd" "d\xef\xbf\xbd"
			      "e\xef\xbf\xbd" "f\n\tg\xc3\xa9\xe4\xb8\xad");
	ck_assert_uint_eq(len, strlen(out));
	/* 6 bytes of room: "a" and one U+FFFD (4), not half of the next */
	ck_assert_int_eq(prn_summary_answer(body, strlen(body), out, 7, &len, why, sizeof(why)), 0);
	ck_assert_str_eq(out, "a\xef\xbf\xbd" "31");
}
END_TEST

static void sweep(void)
{
	jbh_kill_leftovers();
}

int main(void)
{
	Suite *s = suite_create("summary");
	TCase *tc = tcase_create("summary");
	SRunner *sr;
	int failed;

	jbh_main_init("check_summary");
	if (access("/usr/bin/python3", X_OK) != 0 || !tl_pki_openssl()) {
		printf("SKIP: check_summary: needs /usr/bin/python3 and openssl for its TLS server\n");
		return 77;
	}
	{
		TCase *ta = tcase_create("answer");
		tcase_add_test(ta, test_answer_no_controls);
		suite_add_tcase(s, ta);
	}
	tcase_set_timeout(tc, 120);
	tcase_add_unchecked_fixture(tc, NULL, sweep);
	tcase_add_unchecked_fixture(tc, up, down);
	tcase_add_test(tc, test_summary_ok);
	tcase_add_loop_test(tc, test_summary_fails, 0, sizeof(fails) / sizeof(fails[0]));
	tcase_add_test(tc, test_shared_stop);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	jbh_kill_leftovers();
	return failed ? 1 : 0;
}
