/*
 * exporter.c - the exporter child: /metrics and /healthz with libevent's
 * evhttp on the listening socket the supervisor bound (fd 4), from the
 * status documents the supervisor sends (IPC_STATUS).
 *
 * Invariants:
 *  - it opens nothing: no socket, bind or open; it accepts on fd 4 and
 *    reads and writes the connections it accepted (its seccomp policy,
 *    common/sandbox.c, allows nothing else; Landlock refuses every path
 *    and TCP bind/connect);
 *  - what a client may hold is bounded: a request line and headers of at
 *    most EXP_HEADERS_MAX bytes, no body beyond EXP_BODY_MAX, EXP_TIMEOUT_S
 *    to send a request or read an answer (an idle keep-alive connection
 *    is closed then), connections by RLIMIT_NOFILE (the row's max_fds);
 *    when accept runs out of descriptors it pauses EXP_ACCEPT_PAUSE_MS
 *    instead of spinning. A client can delay an answer, never wedge or
 *    crash the exporter; if it ends anyway, the supervisor restarts it on
 *    the same socket;
 *  - the latest valid document is kept; a document that does not parse
 *    is logged (once per exporter) and dropped: /healthz ages the old one.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include "common/child.h"
#include "common/log.h"
#include "common/settings.h"
#include "exporter/exporter.h"

#define EXP_HEADERS_MAX 8192
#define EXP_BODY_MAX 1024
#define EXP_TIMEOUT_S 3
#define EXP_ACCEPT_PAUSE_MS 100

#ifndef JIBRIL_VERSION
#define JIBRIL_VERSION "0.1.0"
#endif

static struct {
	struct evhttp *http;
	struct evconnlistener *listener;
	struct event *resume;
	json_t *doc;		/* the latest valid document, or NULL */
	uint64_t backoff_limit_ms;
	uint64_t requests, documents;
	int bad_doc_logged;
} E;

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void reply(struct evhttp_request *req, int code, const char *reason, const char *type,
		  const char *body, size_t len)
{
	struct evbuffer *b = evbuffer_new();
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	if (!b) {
		evhttp_send_error(req, 500, NULL);
		return;
	}
	evhttp_add_header(h, "Content-Type", type);
	evhttp_add_header(h, "Cache-Control", "no-store");
	if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
		/* the headers GET would have, no body (evhttp 2.1 would send it) */
		char n[24];

		snprintf(n, sizeof(n), "%zu", len);
		evhttp_add_header(h, "Content-Length", n);
		len = 0;
	}
	if (evbuffer_add(b, body, len) < 0) {
		evbuffer_free(b);
		evhttp_send_error(req, 500, NULL);
		return;
	}
	evhttp_send_reply(req, code, reason, b);
	evbuffer_free(b);
}

static void on_request(struct evhttp_request *req, void *arg)
{
	enum evhttp_cmd_type t = evhttp_request_get_command(req);
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	uint64_t now = mono_ms();

	E.requests++;
	if (t != EVHTTP_REQ_GET && t != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
		reply(req, 405, "Method Not Allowed", "text/plain; charset=utf-8",
		      "method not allowed\n", 19);
		return;
	}
	if (path && !strcmp(path, "/metrics")) {
		size_t len;
		char *text = exp_metrics_render(E.doc, now, JIBRIL_VERSION, &len);

		if (!text) {
			reply(req, 500, "Internal Server Error", "text/plain; charset=utf-8",
			      "out of memory\n", 14);
			return;
		}
		reply(req, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", text, len);
		free(text);
	} else if (path && !strcmp(path, "/healthz")) {
		char why[256], line[260];
		int ok = exp_health(E.doc, now, E.backoff_limit_ms, why, sizeof(why));
		int n = snprintf(line, sizeof(line), "%s\n", why);

		reply(req, ok ? 200 : 503, ok ? "OK" : "Service Unavailable",
		      "text/plain; charset=utf-8", line, (size_t)n < sizeof(line) ? (size_t)n : 0);
	} else {
		reply(req, 404, "Not Found", "text/plain; charset=utf-8",
		      "not found: /metrics, /healthz\n", 30);
	}
}

static void resume_accept(evutil_socket_t fd, short what, void *arg)
{
	evconnlistener_enable(E.listener);
}

/* accept failed for good (EMFILE: every descriptor holds a client):
 * pause rather than spin on a socket that stays readable */
static void on_accept_error(struct evconnlistener *l, void *arg)
{
	struct timeval tv = {0, EXP_ACCEPT_PAUSE_MS * 1000};

	evconnlistener_disable(l);
	evtimer_add(E.resume, &tv);
}

static int exp_setup(const struct jb_kind *k, char *err, size_t errlen)
{
	struct jb_settings set;
	int listening = 0, flags;
	socklen_t len = sizeof(listening);

	/* libevent writes answers with writev: a client gone before it read
	 * its answer must be an EPIPE, not a SIGPIPE that ends the exporter
	 * (no handler can be changed once confined) */
	signal(SIGPIPE, SIG_IGN);
	if (getsockopt(JB_CHILD_AUX_FD, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0 ||
	    !listening) {
		snprintf(err, errlen, "fd %d is not a listening socket", JB_CHILD_AUX_FD);
		return -1;
	}
	/* libevent accepts until accept fails: a blocking socket would hang
	 * the loop after the last client (the supervisor made it non-blocking
	 * already; this is the child's own guarantee) */
	flags = fcntl(JB_CHILD_AUX_FD, F_GETFL);
	if (flags < 0 || fcntl(JB_CHILD_AUX_FD, F_SETFL, flags | O_NONBLOCK) < 0) {
		snprintf(err, errlen, "fd %d: cannot make it non-blocking: %s", JB_CHILD_AUX_FD,
			 strerror(errno));
		return -1;
	}
	if (jb_settings_read_fd(JB_CHILD_SETTINGS_FD, &set, err, errlen) < 0)
		return -1;
	close(JB_CHILD_SETTINGS_FD);
	if (jb_settings_u64(&set, "healthz_backoff_ms", &E.backoff_limit_ms) < 0) {
		jb_settings_free(&set);
		snprintf(err, errlen, "its settings lack healthz_backoff_ms");
		return -1;
	}
	jb_settings_free(&set);
	return 0;
}

/* The event loop exists now; before seccomp: evhttp on fd 4 (libevent
 * makes it non-blocking here, while fcntl on it is still allowed). */
static int exp_setup_as_kind(char *err, size_t errlen)
{
	struct event_base *base = jb_child_base();
	struct evhttp_bound_socket *bound;

	E.http = base ? evhttp_new(base) : NULL;
	E.resume = base ? evtimer_new(base, resume_accept, NULL) : NULL;
	if (!E.http || !E.resume) {
		snprintf(err, errlen, "evhttp_new failed");
		return -1;
	}
	evhttp_set_max_headers_size(E.http, EXP_HEADERS_MAX);
	evhttp_set_max_body_size(E.http, EXP_BODY_MAX);
	evhttp_set_timeout(E.http, EXP_TIMEOUT_S);
	/* every method evhttp parses reaches on_request, which answers 405 */
	evhttp_set_allowed_methods(E.http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
						   EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
						   EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
						   EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	evhttp_set_gencb(E.http, on_request, NULL);
	bound = evhttp_accept_socket_with_handle(E.http, JB_CHILD_AUX_FD);
	E.listener = bound ? evhttp_bound_socket_get_listener(bound) : NULL;
	if (!E.listener) {
		snprintf(err, errlen, "evhttp cannot accept on fd %d", JB_CHILD_AUX_FD);
		return -1;
	}
	evconnlistener_set_error_cb(E.listener, on_accept_error);
	return 0;
}

static void exp_on_message(const struct ipc_msg *m)
{
	char err[128];
	json_t *doc;

	if (m->type != IPC_STATUS)
		return; /* the role table lets nothing else through */
	doc = exp_doc_parse(m->u.status.json, m->u.status.json_len, err, sizeof(err));
	if (!doc) {
		if (!E.bad_doc_logged++)
			log_warnx("status document refused: %s", err);
		return;
	}
	json_decref(E.doc);
	E.doc = doc;
	E.documents++;
}

static void exp_counters(uint64_t *processed, uint64_t *detections)
{
	*processed = E.requests;
	*detections = E.documents;
}

static const struct jb_child_ops exp_ops = {
	.setup = exp_setup,
	.setup_as_kind = exp_setup_as_kind,
	.on_message = exp_on_message,
	.counters = exp_counters,
};

void exp_main(const struct jb_kind *k, const struct jb_child_args *a)
{
	jb_child_main(k, &exp_ops, a);
}
