/*
 * check_exporter.c - the metrics and health exporter (exporter/,
 * supervisor/exporter.c).
 *
 * "render" (no root): the exposition of sample documents that follow
 * supervisor/status.h (tests/data/exporter), escaping, a malformed
 * histogram left out, the /healthz verdicts, documents refused, the lint
 * refusing what is not valid exposition, and the metric names the
 * exporter can emit against those docs/METRICS.md lists.
 *
 * "agent" (root; one agent with the exporter on a free loopback port,
 * real HTTP from a client of the test's own): /metrics during a run (valid
 * exposition, every child present, detections growing after a trigger),
 * /healthz, 404 and 405; a worker killed: its restarts grow by one and
 * /healthz is 200 again; the exporter killed: the port keeps answering;
 * floods of idle connections, a huge request and half-sent ones do not
 * stop it answering; the supervisor stopped: 503 with the reason, then 200
 * once it is continued.
 *
 * "port_in_use" (root): an agent whose port another socket holds refuses
 * to start (exit 78) naming jibril.conf:LINE, before anything loads.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent_harness.h"
#include "exporter/exporter.h"
#include "ipc/msg.h"
#include "supervisor/config.h"

/* --- documents --------------------------------------------------------------- */

static char *slurp_src(const char *rel, size_t *len)
{
	char path[4096];
	char *t;

	snprintf(path, sizeof(path), "%s/%s", jbh_src(), rel);
	t = jbh_slurp(path, len);
	ck_assert_msg(t != NULL, "cannot read %s", path);
	return t;
}

static json_t *doc_of(const char *rel)
{
	char err[256];
	size_t len;
	char *t = slurp_src(rel, &len);
	json_t *d = exp_doc_parse(t, len, err, sizeof(err));

	ck_assert_msg(d != NULL, "%s refused: %s", rel, err);
	free(t);
	return d;
}

static char *render(const json_t *doc, uint64_t now)
{
	char err[256];
	size_t len;
	char *text = exp_metrics_render(doc, now, "9.9.9", &len);

	ck_assert_ptr_nonnull(text);
	ck_assert_uint_eq(strlen(text), len);
	ck_assert_msg(exp_metrics_lint(text, len, err, sizeof(err)) == 0, "%s\n%s", err, text);
	return text;
}

static void has_line(const char *text, const char *line)
{
	char want[512];

	snprintf(want, sizeof(want), "\n%s\n", line);
	ck_assert_msg(strstr(text, want) != NULL, "no line '%s' in:\n%s", line, text);
}

START_TEST(test_render_full)
{
	json_t *d = doc_of("tests/data/exporter/full.json");
	char *t = render(d, 1000500); /* mono_ms 1000000: 0.5 s old */

	has_line(t, "jibril_build_info{version=\"9.9.9\"} 1");
	has_line(t, "jibril_up 1");
	has_line(t, "jibril_status_age_seconds 0.5");
	has_line(t, "jibril_uptime_seconds 3600");
	has_line(t, "jibril_child_up{kind=\"file_access\",role=\"worker\"} 1");
	has_line(t, "jibril_child_up{kind=\"execution\",role=\"worker\"} 0");
	has_line(t, "jibril_child_state{kind=\"execution\",state=\"idle\"} 1");
	has_line(t, "jibril_child_state{kind=\"execution\",state=\"ready\"} 0");
	has_line(t, "jibril_child_backoff_seconds{kind=\"execution\"} 1");
	has_line(t, "jibril_child_restarts_total{kind=\"execution\",reason=\"crash\"} 1");
	has_line(t, "jibril_cadence_duration_seconds_bucket{le=\"0.0025\"} 1");
	has_line(t, "jibril_cadence_duration_seconds_bucket{le=\"+Inf\"} 3600");
	has_line(t, "jibril_cadence_duration_seconds_sum 61.5");
	has_line(t, "jibril_cadence_duration_seconds_count 3600");
	has_line(t, "jibril_map_entries{map=\"jb_tasks\"} 812");
	has_line(t, "jibril_map_max_entries{map=\"jb_files\"} 16384");
	has_line(t, "jibril_map_evictions_total{map=\"jb_files\"} 120");
	has_line(t, "jibril_kernel_lost_records_total{counter=\"links_full\"} 3");
	has_line(t, "jibril_detections_total{kind=\"credentials_files_access\"} 2");
	has_line(t, "jibril_detections_suppressed_total{kind=\"credentials_files_access\"} 5");
	has_line(t, "jibril_data_loss_total{who=\"kernel\",cause=\"kernel_evicted\"} 120");
	has_line(t, "jibril_router_backlog_bytes 4096");
	has_line(t, "jibril_printer_spool_bytes{printer=\"https\"} 10240");
	has_line(t, "jibril_printer_deliveries_total{printer=\"https\"} 100");
	has_line(t, "jibril_printer_retries_total{printer=\"https\"} 3");
	has_line(t, "jibril_printer_rejected_total{printer=\"https\"} 1");
	free(t);
	/* the same document 10 s later: the supervisor is silent */
	t = render(d, 1010000);
	has_line(t, "jibril_up 0");
	free(t);
	/* before any document: the build and jibril_up 0 alone */
	t = render(NULL, 5);
	has_line(t, "jibril_up 0");
	ck_assert_ptr_null(strstr(t, "jibril_child_up"));
	free(t);
	json_decref(d);
}
END_TEST

/* Labels escaped; parts of the wrong type left out, not guessed. */
START_TEST(test_render_odd)
{
	json_t *d = doc_of("tests/data/exporter/odd-labels.json");
	char *t = render(d, 5);

	has_line(t, "jibril_child_up{kind=\"we\\\"ird\\\\ki\\nnd\",role=\"wor ker\"} 0");
	has_line(t, "jibril_child_restarts_total{kind=\"x\",reason=\"a\\\"b\"} 1.5");
	/* bounds that fall: no histogram samples at all */
	ck_assert_ptr_null(strstr(t, "jibril_cadence_duration_seconds_bucket"));
	ck_assert_ptr_null(strstr(t, "jibril_cadence_duration_seconds_count"));
	/* a negative count, a string, an object for an array: left out */
	ck_assert_ptr_null(strstr(t, "jibril_child_processed_total{"));
	ck_assert_ptr_null(strstr(t, "jibril_map_entries{"));
	ck_assert_ptr_null(strstr(t, "jibril_printer_queue_lines{"));
	free(t);
	json_decref(d);
}
END_TEST

static int health(const char *rel, uint64_t now, uint64_t limit, char *why, size_t len)
{
	json_t *d = rel ? doc_of(rel) : NULL;
	int ok = exp_health(d, now, limit, why, len);

	json_decref(d);
	return ok;
}

START_TEST(test_health)
{
	char why[256];
	json_t *d;

	ck_assert_int_eq(health(NULL, 5, 5000, why, sizeof(why)), 0);
	ck_assert_str_eq(why, "no status from the supervisor yet");
	/* fresh, every kind READY or backing off for 1 s < 5 s */
	ck_assert_int_eq(health("tests/data/exporter/full.json", 1001000, 5000, why, sizeof(why)), 1);
	ck_assert_str_eq(why, "ok");
	/* two cadences (2 s) after the document: still fresh; then not */
	ck_assert_int_eq(health("tests/data/exporter/full.json", 1002000, 5000, why, sizeof(why)), 1);
	ck_assert_int_eq(health("tests/data/exporter/full.json", 1012300, 5000, why, sizeof(why)), 0);
	ck_assert_str_eq(why, "supervisor loop silent for 12.3 s");
	/* a back-off at the limit */
	ck_assert_int_eq(health("tests/data/exporter/full.json", 1000000, 1000, why, sizeof(why)), 0);
	ck_assert_str_eq(why, "worker execution: restarting, back-off 1.0 s");
	/* a disabled kind, named on one line whatever its name holds */
	ck_assert_int_eq(health("tests/data/exporter/odd-labels.json", 5, 5000, why, sizeof(why)), 0);
	ck_assert_str_eq(why, "wor ker we\"ird\\ki?nd: disabled, not restarted");
	/* a 200 ms cadence is still given a second */
	ck_assert_int_eq(health("tests/data/exporter/odd-labels.json", 1005, 5000, why, sizeof(why)),
			 0);
	ck_assert_ptr_null(strstr(why, "silent"));
	ck_assert_int_eq(health("tests/data/exporter/odd-labels.json", 1006, 5000, why, sizeof(why)),
			 0);
	ck_assert_str_eq(why, "supervisor loop silent for 1.0 s");
	/* stopping */
	d = doc_of("tests/data/exporter/full.json");
	json_object_set_new(json_object_get(d, "agent"), "stopping", json_true());
	ck_assert_int_eq(exp_health(d, 1000000, 5000, why, sizeof(why)), 0);
	ck_assert_str_eq(why, "agent stopping");
	json_decref(d);
}
END_TEST

START_TEST(test_doc_refused)
{
	static const char *const bad[] = {
		"", "[]", "{}", "nul", "{\"version\":2,\"agent\":{\"mono_ms\":1,\"cadence_ms\":1}}",
		"{\"version\":1,\"agent\":{\"cadence_ms\":1}}",
		"{\"version\":1,\"agent\":{\"mono_ms\":-1,\"cadence_ms\":1}}",
		"{\"version\":1,\"agent\":{\"mono_ms\":1.5,\"cadence_ms\":1}}",
		"{\"version\":1,\"agent\":{\"mono_ms\":1,\"cadence_ms\":1}} x",
		"{\"version\":1,\"version\":1,\"agent\":{\"mono_ms\":1,\"cadence_ms\":1}}",
		"{\"version\":1,\"agent\":{\"mono_ms\":1,\"cadence_ms\":1},\"k\":\"a\\u0000b\"}",
	};
	char err[256], *big;
	json_t *d;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		d = exp_doc_parse(bad[i], strlen(bad[i]), err, sizeof(err));
		ck_assert_msg(d == NULL, "accepted: %s", bad[i]);
		ck_assert_msg(err[0], "no reason for %s", bad[i]);
	}
	/* more than one message can hold */
	big = malloc(IPC_MAX_STR + 2);
	ck_assert_ptr_nonnull(big);
	memset(big, ' ', IPC_MAX_STR + 1);
	{
		static const char small[] = "{\"version\":1,\"agent\":{\"mono_ms\":1,\"cadence_ms\":1}}";

		memcpy(big, small, sizeof(small) - 1); /* then spaces */
	}
	ck_assert_ptr_null(exp_doc_parse(big, IPC_MAX_STR + 1, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "bytes"));
	ck_assert_ptr_nonnull(d = exp_doc_parse(big, IPC_MAX_STR, err, sizeof(err)));
	json_decref(d);
	free(big);
}
END_TEST

/* The lint can fail: each of these is refused. */
START_TEST(test_lint_refuses)
{
	static const char *const bad[] = {
		"x 1\n",						  /* no TYPE */
		"# TYPE x_total counter\nx_total 1",			  /* no final newline */
		"# TYPE x counter\nx 1\n",				  /* counter not _total */
		"# TYPE x gauge\nx{a=\"b\\q\"} 1\n",			  /* bad escape */
		"# TYPE x gauge\nx{a=\"b\n\"} 1\n",			  /* raw newline */
		"# TYPE 1x gauge\n1x 1\n",				  /* bad name */
		"# TYPE x gauge\nx{1a=\"b\"} 1\n",			  /* bad label name */
		"# TYPE x gauge\nx one\n",				  /* not a number */
		"# TYPE x gauge\n# TYPE x gauge\nx 1\n",		  /* TYPE twice */
		"# TYPE h histogram\nh_bucket 1\n",			  /* bucket without le */
		"# TYPE x gauge\n\nx 1\n",				  /* empty line */
	};
	static const char good[] = "# HELP h a histogram\n# TYPE h histogram\n"
				   "h_bucket{le=\"+Inf\"} 2\nh_sum 0.5\nh_count 2\n"
				   "# TYPE x_total counter\nx_total{a=\"\\\\\\\"\\n\"} 1e+20\n";
	char err[128];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(exp_metrics_lint(bad[i], strlen(bad[i]), err, sizeof(err)) == -1,
			      "accepted: %s", bad[i]);
	ck_assert_msg(exp_metrics_lint(good, strlen(good), err, sizeof(err)) == 0, "%s", err);
}
END_TEST

/* docs/METRICS.md lists exactly the families the exporter can emit, and
 * the full sample document makes every one of them appear. */
START_TEST(test_names_documented)
{
	char *doc = slurp_src("docs/METRICS.md", NULL), *p, *t;
	const char *name;
	json_t *d = doc_of("tests/data/exporter/full.json");
	size_t n = 0, listed = 0;

	t = render(d, 1000500);
	for (; (name = exp_metric_name(n)); n++) {
		char want[160];

		snprintf(want, sizeof(want), "| `%s` |", name);
		ck_assert_msg(strstr(doc, want) != NULL, "%s is not in docs/METRICS.md", name);
		snprintf(want, sizeof(want), "\n# TYPE %s ", name);
		ck_assert_msg(strstr(t, want) != NULL, "%s not emitted for full.json", name);
	}
	/* every row of the docs' table is a name the exporter knows */
	for (p = doc; (p = strstr(p, "\n| `jibril_")); p++) {
		char nm[128];
		size_t i;

		ck_assert_int_eq(sscanf(p, "\n| `%127[a-z_]` |", nm), 1);
		for (i = 0; exp_metric_name(i) && strcmp(exp_metric_name(i), nm); i++)
			;
		ck_assert_msg(exp_metric_name(i) != NULL, "docs/METRICS.md lists %s, which the "
			      "exporter does not emit", nm);
		listed++;
	}
	ck_assert_uint_eq(listed, n);
	free(t);
	free(doc);
	json_decref(d);
}
END_TEST

/* --- a tiny HTTP client --------------------------------------------------------- */

struct resp {
	int status;	/* 0: no answer */
	char head[2048];
	char *body;
	size_t len;
};

static int connect_to(int port, int timeout_ms)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	struct pollfd pfd = {fd, POLLOUT, 0};
	int e = 0;
	socklen_t el = sizeof(e);

	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS)
		goto bad;
	if (poll(&pfd, 1, timeout_ms) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0 ||
	    e)
		goto bad;
	return fd;
bad:
	close(fd);
	return -1;
}

/* One request, the answer read to its end (HTTP/1.0: the server closes). */
static void http(int port, const char *method, const char *path, int timeout_ms, struct resp *r)
{
	uint64_t deadline = jbh_now_ms() + (uint64_t)timeout_ms;
	char req[256], *buf = NULL, *eoh;
	size_t len = 0, cap = 0;
	int fd = connect_to(port, timeout_ms), n;

	memset(r, 0, sizeof(*r));
	if (fd < 0)
		return;
	n = snprintf(req, sizeof(req), "%s %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", method, path);
	if (write(fd, req, (size_t)n) != n)
		goto out;
	for (;;) {
		struct pollfd pfd = {fd, POLLIN, 0};
		int64_t left = (int64_t)(deadline - jbh_now_ms());
		ssize_t got;

		if (left <= 0 || poll(&pfd, 1, (int)left) != 1)
			goto out; /* no answer in time */
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 65536;
			buf = realloc(buf, cap + 1);
			ck_assert_ptr_nonnull(buf);
		}
		got = read(fd, buf + len, cap - len);
		if (got < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (got <= 0)
			break;
		len += (size_t)got;
	}
	if (!buf)
		goto out;
	buf[len] = '\0';
	if (sscanf(buf, "HTTP/1.%*d %d", &r->status) != 1 || !(eoh = strstr(buf, "\r\n\r\n"))) {
		r->status = 0;
		goto out;
	}
	snprintf(r->head, sizeof(r->head), "%.*s", (int)(eoh - buf), buf);
	r->len = len - (size_t)(eoh + 4 - buf);
	r->body = malloc(r->len + 1);
	ck_assert_ptr_nonnull(r->body);
	memcpy(r->body, eoh + 4, r->len);
	r->body[r->len] = '\0';
out:
	free(buf);
	close(fd);
}

static void resp_free(struct resp *r)
{
	free(r->body);
	r->body = NULL;
}

/* GET /healthz until its status is want (and its body holds substr), by
 * the deadline; the last answer stays in r */
static int health_wait(int port, int want, const char *substr, unsigned timeout_ms,
		       struct resp *r)
{
	uint64_t end = jbh_now_ms() + timeout_ms;

	for (;;) {
		http(port, "GET", "/healthz", 3000, r);
		if (r->status == want && (!substr || (r->body && strstr(r->body, substr))))
			return 1;
		if (jbh_now_ms() >= end)
			return 0;
		resp_free(r);
		jbh_sleep_ms(100);
	}
}

/* the value of the first sample line starting with prefix, summed over all
 * that do when sum; -1 when none */
static double metric(const char *text, const char *prefix, int sum)
{
	double total = -1;
	size_t n = strlen(prefix);

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		const char *sp;

		if (strncmp(p, prefix, n) || !(sp = strchr(p, ' ')))
			continue;
		total = (total < 0 ? 0 : total) + strtod(sp + 1, NULL);
		if (!sum)
			break;
	}
	return total;
}

static char *metrics(int port)
{
	struct resp r;
	char err[256];

	http(port, "GET", "/metrics", 5000, &r);
	ck_assert_msg(r.status == 200, "/metrics: status %d", r.status);
	ck_assert_msg(strstr(r.head, "Content-Type: text/plain; version=0.0.4") != NULL, "%s",
		      r.head);
	ck_assert_msg(exp_metrics_lint(r.body, r.len, err, sizeof(err)) == 0, "%s", err);
	return r.body;
}

/* --- the agent ------------------------------------------------------------------ */

static struct jbh_agent A;
static int port;

/* a port nothing listens on now (the agent binds it a moment later) */
static int free_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), p;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	p = ntohs(sa.sin_port);
	close(fd);
	return p;
}

static void shared_up(void)
{
	static char extra[128];
	struct jbh_opts o = {.extra_conf = extra};

	port = free_port();
	snprintf(extra, sizeof(extra), "[exporter]\nlisten = 127.0.0.1:%d\nhealthz_backoff_ms = 5000\n",
		 port);
	jbh_start_ready(&A, &o, 30000);
	if (jbh_wait_ready(&A, "exporter", -1, 30000) < 0) {
		jbh_reap(&A);
		ck_abort_msg("the exporter is not READY (log %s)", A.log);
	}
}

static void shared_down(void)
{
	jbh_reap(&A);
}

static struct jbh_agent *shared(void)
{
	ck_assert_msg(jbh_running(&A), "the shared supervisor is gone (log %s)", A.log);
	return &A;
}

START_TEST(test_shared_stop)
{
	jbh_stop_unparented(&A, 10000);
}
END_TEST

/* "Key:\tvalue" of a /proc/PID/status text, into out */
static void status_field(const char *status, const char *key, char *out, size_t len)
{
	char k[64];
	const char *p;

	snprintf(k, sizeof(k), "\n%s:\t", key);
	p = strstr(status, k);
	ck_assert_msg(p != NULL, "no %s", key);
	p += strlen(k);
	snprintf(out, len, "%.*s", (int)strcspn(p, "\n"), p);
}

/* Confined like every child: its own uid, no capabilities, no_new_privs,
 * seccomp, SIGPIPE ignored; fd 4 the socket the supervisor bound, fd 5 (its settings)
 * closed, no file of its own. */
START_TEST(test_confined)
{
	struct jbh_agent *a = shared();
	pid_t pid = jbh_child_pid(a, "exporter");
	const struct jb_kind *k = jb_kind_find(jb_kinds, jb_nkinds, "exporter");
	char path[64], f[256], want[64], link[256], *st;
	unsigned id;
	ssize_t n;

	ck_assert_int_gt(pid, 0);
	ck_assert_ptr_nonnull(k);
	id = JB_CONF_UID_BASE + (unsigned)(k - jb_kinds);
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	st = jbh_slurp(path, NULL);
	ck_assert_ptr_nonnull(st);
	snprintf(want, sizeof(want), "%u\t%u\t%u\t%u", id, id, id, id);
	status_field(st, "Uid", f, sizeof(f));
	ck_assert_str_eq(f, want);
	status_field(st, "CapEff", f, sizeof(f));
	ck_assert_str_eq(f, "0000000000000000");
	status_field(st, "CapBnd", f, sizeof(f));
	ck_assert_str_eq(f, "0000000000000000");
	status_field(st, "NoNewPrivs", f, sizeof(f));
	ck_assert_str_eq(f, "1");
	status_field(st, "Seccomp", f, sizeof(f));
	ck_assert_str_eq(f, "2");
	/* SIGPIPE ignored: a client gone before its answer is an EPIPE, not
	 * the end of the exporter */
	status_field(st, "SigIgn", f, sizeof(f));
	ck_assert_msg(strtoull(f, NULL, 16) & (1ull << (SIGPIPE - 1)), "SigIgn %s", f);
	free(st);
	snprintf(path, sizeof(path), "/proc/%d/fd/4", (int)pid);
	n = readlink(path, link, sizeof(link) - 1);
	ck_assert_int_gt(n, 0);
	link[n] = '\0';
	ck_assert_msg(!strncmp(link, "socket:[", 8), "fd 4 is %s", link);
	for (int fd = 5; fd < 64; fd++) {
		snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, fd);
		n = readlink(path, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		/* libevent's epoll and signal pipe, clients: nothing from a path */
		ck_assert_msg(link[0] != '/' && strncmp(link, "/memfd", 6),
			      "fd %d is %s", fd, link);
	}
}
END_TEST

START_TEST(test_metrics_during_run)
{
	struct jbh_agent *a = shared();
	struct jbh_match m;
	char line[160], *t;
	uint64_t end;
	double before, now;
	json_t *ev;

	ck_assert_msg(jbh_log_has(a, "exporter: listening on 127.0.0.1:"), "no listening line");
	t = metrics(port);
	has_line(t, "jibril_up 1");
	for (int i = 0; i < a->nkinds; i++) {
		snprintf(line, sizeof(line), "jibril_child_up{kind=\"%s\",", a->kinds[i]);
		ck_assert_msg(strstr(t, line) != NULL, "no %s in:\n%s", line, t);
	}
	ck_assert_ptr_nonnull(strstr(t, "jibril_child_up{kind=\"exporter\",role=\"exporter\"} 1"));
	ck_assert_ptr_nonnull(strstr(t, "\njibril_cadence_duration_seconds_count "));
	ck_assert_ptr_nonnull(strstr(t, "\njibril_map_max_entries{map=\"jb_tasks\"} "));
	before = metric(t, "jibril_detections_total{kind=\"data_encoder_exec\"}", 0);
	free(t);
	/* a detection the harness knows how to cause: the count grows */
	jbh_trigger_for(a, "execution", &m);
	ev = jbh_wait_event(a, jbh_match, &m, jbh_detect_deadline(a));
	ck_assert_msg(ev != NULL, "no %s detection", m.kind);
	json_decref(ev);
	end = jbh_now_ms() + 5000;
	do {
		t = metrics(port);
		now = metric(t, "jibril_detections_total{kind=\"data_encoder_exec\"}", 0);
		free(t);
		if (now > (before < 0 ? 0 : before))
			break;
		jbh_sleep_ms(100);
	} while (jbh_now_ms() < end);
	ck_assert_msg(now > (before < 0 ? 0 : before), "detections_total stayed %g", now);
}
END_TEST

START_TEST(test_http_answers)
{
	struct resp r;

	shared();
	ck_assert_msg(health_wait(port, 200, "ok\n", 5000, &r), "/healthz %d: %s", r.status,
		      r.body ? r.body : "");
	ck_assert_ptr_nonnull(strstr(r.head, "Content-Type: text/plain"));
	resp_free(&r);
	http(port, "HEAD", "/healthz", 3000, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_uint_eq(r.len, 0);
	resp_free(&r);
	http(port, "POST", "/metrics", 3000, &r);
	ck_assert_int_eq(r.status, 405);
	ck_assert_ptr_nonnull(strstr(r.head, "Allow: GET, HEAD"));
	resp_free(&r);
	http(port, "DELETE", "/healthz", 3000, &r);
	ck_assert_int_eq(r.status, 405);
	resp_free(&r);
	http(port, "GET", "/", 3000, &r);
	ck_assert_int_eq(r.status, 404);
	resp_free(&r);
	http(port, "GET", "/metrics/../etc/passwd", 3000, &r);
	ck_assert_int_eq(r.status, 404);
	resp_free(&r);
}
END_TEST

/* A worker killed: its restart is counted once, and health comes back. */
START_TEST(test_worker_killed)
{
	struct jbh_agent *a = shared();
	const char *restarts = "jibril_child_restarts_total{kind=\"network\",";
	pid_t old = jbh_child_pid(a, "network");
	char *t = metrics(port);
	double before = metric(t, restarts, 1), now = before;
	uint64_t end;
	struct resp r;

	free(t);
	ck_assert_msg(before >= 0, "no %s samples", restarts);
	ck_assert_int_gt(old, 0);
	ck_assert_int_eq(kill(old, SIGKILL), 0);
	ck_assert_msg(jbh_wait_ready(a, "network", old, 20000) > 0, "network not back");
	end = jbh_now_ms() + 5000;
	do {
		t = metrics(port);
		now = metric(t, restarts, 1);
		free(t);
		if (now == before + 1)
			break;
		jbh_sleep_ms(100);
	} while (jbh_now_ms() < end);
	ck_assert_msg(now == before + 1, "network restarts %g, then %g", before, now);
	ck_assert_msg(health_wait(port, 200, "ok", 10000, &r), "/healthz %d: %s", r.status,
		      r.body ? r.body : "");
	resp_free(&r);
}
END_TEST

/* The exporter killed: the port keeps answering (the supervisor holds the
 * socket; the next exporter takes the clients that waited). */
START_TEST(test_exporter_killed)
{
	struct jbh_agent *a = shared();
	pid_t old = jbh_child_pid(a, "exporter");
	struct resp r;
	int fd;

	ck_assert_int_gt(old, 0);
	ck_assert_int_eq(kill(old, SIGKILL), 0);
	/* connect works while no exporter runs: the backlog holds it */
	fd = connect_to(port, 1000);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_msg(jbh_wait_ready(a, "exporter", old, 20000) > 0, "exporter not back");
	ck_assert_msg(health_wait(port, 200, "ok", 10000, &r), "/healthz %d: %s", r.status,
		      r.body ? r.body : "");
	resp_free(&r);
	ck_assert_int_eq(jbh_child_pid(a, "exporter") != old, 1);
}
END_TEST

/* An unprivileged local user cannot stop it answering: idle connections
 * past its descriptors, a huge request, half-sent requests, clients that
 * reset the connection before their answer. */
START_TEST(test_floods)
{
	enum { IDLE = 300 };
	static int fds[IDLE];
	struct jbh_agent *a = shared();
	pid_t exp = jbh_child_pid(a, "exporter");
	int n = 0, fd;
	char *huge;
	struct resp r;
	uint64_t t0;

	for (int i = 0; i < IDLE; i++) {
		fds[i] = connect_to(port, 200); /* the backlog may fill: fine */
		if (fds[i] >= 0)
			n++;
	}
	ck_assert_int_gt(n, 100);
	/* half-sent requests among them */
	for (int i = 0; i < IDLE; i += 3)
		if (fds[i] >= 0 && write(fds[i], "GET /metrics HTTP/1.1\r\nHost:", 28) != 28)
			ck_abort_msg("write: %s", strerror(errno));
	/* a request of 1 MiB of headers */
	huge = malloc(1 << 20);
	ck_assert_ptr_nonnull(huge);
	memset(huge, 'a', 1 << 20);
	memcpy(huge, "GET /metrics HTTP/1.1\r\nX: ", 26);
	fd = connect_to(port, 1000);
	if (fd >= 0) {
		/* it may stop reading and close: a short write is its answer */
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
		struct timeval tv = {2, 0};
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (write(fd, huge, 1 << 20) < 0 && errno != EPIPE && errno != ECONNRESET &&
		    errno != EAGAIN)
			ck_abort_msg("huge write: %s", strerror(errno));
	}
	free(huge);
	/* clients that ask for /metrics twice and close without reading (a
	 * write to a socket the client reset is an EPIPE for it: SIGPIPE is
	 * ignored, test_confined checks that) */
	for (int i = 0; i < 50; i++) {
		int c = connect_to(port, 1000);
		static const char req[] = "GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n"
					  "GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n";

		if (c < 0)
			continue;
		if (write(c, req, sizeof(req) - 1) < 0)
			ck_abort_msg("write: %s", strerror(errno));
		close(c);
	}
	/* it still answers, within its client timeouts */
	t0 = jbh_now_ms();
	ck_assert_msg(health_wait(port, 200, "ok", 30000, &r), "/healthz %d under the flood",
		      r.status);
	resp_free(&r);
	printf("check_exporter: /healthz answered in %llu ms with %d idle connections\n",
	       (unsigned long long)(jbh_now_ms() - t0), n);
	for (int i = 0; i < IDLE; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (fd >= 0)
		close(fd);
	/* and it was the same exporter all along */
	ck_assert_int_eq(jbh_child_pid(a, "exporter"), exp);
	ck_assert_msg(health_wait(port, 200, "ok", 5000, &r), "/healthz %d after", r.status);
	resp_free(&r);
}
END_TEST

/* A wedged supervisor stops sending documents: 503 with the reason. */
START_TEST(test_supervisor_stopped)
{
	struct jbh_agent *a = shared();
	struct resp r;
	int stale;

	ck_assert_msg(health_wait(port, 200, "ok", 5000, &r), "/healthz %d before", r.status);
	resp_free(&r);
	ck_assert_int_eq(kill(a->pid, SIGSTOP), 0);
	stale = health_wait(port, 503, "supervisor loop silent for ", 6000, &r);
	kill(a->pid, SIGCONT);
	ck_assert_msg(stale, "/healthz %d '%s' with the supervisor stopped", r.status,
		      r.body ? r.body : "");
	resp_free(&r);
	ck_assert_msg(health_wait(port, 200, "ok", 10000, &r), "/healthz %d '%s' after SIGCONT",
		      r.status, r.body ? r.body : "");
	resp_free(&r);
}
END_TEST

/* Another socket holds the port (any local user may take one above 1024,
 * at boot or in the gap of a restart): the agent starts all the same,
 * without its exporter, and says so naming the line. It used to refuse to
 * start (exit 78, which systemd does not retry): a user could keep it
 * from ever watching again. */
START_TEST(test_port_in_use)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	int holder = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), p;
	char extra[128], text[256], *log, *at, *bol;
	struct jbh_opts o = {.extra_conf = extra};
	struct jbh_agent B;

	ck_assert_int_ge(holder, 0);
	ck_assert_int_eq(bind(holder, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(holder, 1), 0);
	ck_assert_int_eq(getsockname(holder, (struct sockaddr *)&sa, &len), 0);
	p = ntohs(sa.sin_port);
	snprintf(extra, sizeof(extra), "[exporter]\nlisten = 127.0.0.1:%d\n", p);
	snprintf(text, sizeof(text), "[exporter] listen: cannot listen on 127.0.0.1:%d: Address "
		 "already in use (another program, or another jibril, listens there): the agent "
		 "runs without its exporter", p);
	jbh_start(&B, &o);
	ck_assert_msg(jbh_log_wait(&B, text, 20000) && jbh_alive(&B),
		      "the agent did not start without its exporter (log %s)", B.log);
	jbh_wait_all_ready(&B, 30000);
	log = jbh_log_read(&B);
	at = strstr(log, text);
	ck_assert_msg(at != NULL, "want '%s' in:\n%s", text, log);
	for (bol = at; bol > log && bol[-1] != '\n'; bol--)
		;
	ck_assert_msg(strstr(bol, B.conf) && strstr(bol, B.conf) < at,
		      "the line does not name %s: %.*s", B.conf, (int)(at - bol), bol);
	free(log);
	ck_assert_int_eq(jbh_child_pid(&B, "exporter"), -1);
	jbh_stop(&B, 10000);
	close(holder);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("exporter");
	TCase *tc = tcase_create("render");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_render_full);
	tcase_add_test(tc, test_render_odd);
	tcase_add_test(tc, test_health);
	tcase_add_test(tc, test_doc_refused);
	tcase_add_test(tc, test_lint_refuses);
	tcase_add_test(tc, test_names_documented);
	suite_add_tcase(s, tc);
	if (geteuid() != 0) {
		printf("SKIP: check_exporter: the agent cases need root (the agent loads BPF)\n");
	} else {
		jbh_main_init("check_exporter");
		tc = tcase_create("agent");
		tcase_add_unchecked_fixture(tc, shared_up, shared_down);
		tcase_set_timeout(tc, 120);
		tcase_add_test(tc, test_confined);
		tcase_add_test(tc, test_metrics_during_run);
		tcase_add_test(tc, test_http_answers);
		tcase_add_test(tc, test_worker_killed);
		tcase_add_test(tc, test_exporter_killed);
		tcase_add_test(tc, test_floods);
		tcase_add_test(tc, test_supervisor_stopped);
		tcase_add_test(tc, test_shared_stop);
		suite_add_tcase(s, tc);
		tc = tcase_create("port_in_use");
		tcase_set_timeout(tc, 60);
		tcase_add_test(tc, test_port_in_use);
		suite_add_tcase(s, tc);
	}
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
