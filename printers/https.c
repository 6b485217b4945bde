/*
 * https.c - the HTTPS printer: detections in batches (JSON lines) to an
 * operator's endpoint over TLS, delivered through the outbox (outbox.h),
 * like the nats printer: each line waits in memory until a 2xx confirms
 * its batch; one not confirmed within spill_ms, past memory_max_bytes or
 * whose batch failed goes to the disk spool (spool.h), fsynced before it
 * is acknowledged, and the spool drains oldest first. This file is only
 * the transport: one POST per batch with libcurl's multi interface driven
 * by this child's libevent loop (so lines keep being taken and heartbeats
 * keep flowing while a request is out), and the answer sorted into ok,
 * retry or rejected.
 *
 * Invariants:
 *  - each line is re-validated as a JSON object before it is sent (a
 *    spooled one was on disk: outside input), the others dropped and
 *    reported;
 *  - a batch's Idempotency-Key is the SHA-256 of its lines (outbox.h):
 *    the same on every retry, from the spool too and after a restart, and
 *    each line keeps its event's uuid: a receiver can drop repeats;
 *  - TLS verification is always on (peer and host name), with the CA the
 *    supervisor read (ca_file, the system bundle by default); https only,
 *    no redirects followed;
 *  - network errors, timeouts, TLS failures, 408, 429 and 5xx are retried
 *    (Retry-After of a 429 or 503, at most a day, handed to the outbox as
 *    "not before"), forever: the spool bound, which drops the oldest with
 *    a report, is what limits a long outage. Any other 4xx, and a 3xx (a
 *    redirect is not followed, on purpose: the same answer would come
 *    again), is final (rejected): the outbox moves the batch to
 *    dead-letter.jsonl in the spool directory and reports it lost, never
 *    retried;
 *  - the child opens nothing but files of its spool directory (fd 4): the
 *    host name is resolved as the kind's uid (never root), before
 *    confinement, and handed to curl (CURLOPT_RESOLVE), like curl's and
 *    OpenSSL's start-up; after reresolve_s of failing to connect the
 *    printer exits and is restarted, which resolves again;
 *  - nothing on the loop's thread waits on the network: curl runs on the
 *    loop through its multi interface, and a name that does not resolve
 *    costs at most the resolver's own timeout before the handshake.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <jansson.h>

#include "common/child.h"
#include "common/landlock.h"
#include "common/log.h"
#include "common/settings.h"
#include "printers/curlev.h"
#include "printers/outbox.h"
#include "printers/printer.h"
#include "printers/spool.h"

#define RESP_KEEP 512			/* bytes of an answer kept for the log */
#define RETRY_AFTER_MAX_S 86400		/* a longer Retry-After is read as a day */

/* --- the settings ([https] of jibril.conf) ---------------------------------- */

enum {
	K_URL, K_TOKEN, K_AUTH_HEADER, K_AUTH_SCHEME, K_CA, K_CONNECT_MS, K_TIMEOUT_MS,
	K_RERESOLVE, K_OUTBOX, K_N = K_OUTBOX + PRN_OUTBOX_NKEYS
};

static const struct jb_setting keys[K_N] = {
	[K_URL] = {"url", JB_SET_STR, NULL, 9, 2048},
	[K_TOKEN] = {"token_file", JB_SET_SECRET, "", 0, 16384},
	[K_AUTH_HEADER] = {"auth_header", JB_SET_STR, "Authorization", 1, 64},
	[K_AUTH_SCHEME] = {"auth_scheme", JB_SET_STR, "Bearer", 0, 32},
	[K_CA] = {"ca_file", JB_SET_FILE, "/etc/ssl/certs/ca-certificates.crt", 0, 4u << 20},
	[K_CONNECT_MS] = {"connect_timeout_ms", JB_SET_U32, "5000", 100, 600000},
	[K_TIMEOUT_MS] = {"timeout_ms", JB_SET_U32, "30000", 100, 3600000},
	[K_RERESOLVE] = {"reresolve_s", JB_SET_U32, "300", 10, 86400},
	[K_OUTBOX] = PRN_OUTBOX_SETTINGS("/var/lib/jibril/spool/https", "500"),
};

/* RFC 9110 token characters: a header name */
static int is_token(const char *s)
{
	return *s && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			       "0123456789!#$%&'*+-.^_`|~") == strlen(s);
}

/* Between keys (config.c runs it when the kind is on). */
static int https_check(const char *const *v, size_t *bad, char *err, size_t errlen)
{
	if (!prn_curl_https_url(v[K_URL])) {
		*bad = K_URL;
		snprintf(err, errlen, "'%.128s' is not an https:// URL with a host (https only: "
			 "detections never travel in clear text)", v[K_URL]);
		return -1;
	}
	if (!is_token(v[K_AUTH_HEADER])) {
		*bad = K_AUTH_HEADER;
		snprintf(err, errlen, "'%.64s' is not a header name", v[K_AUTH_HEADER]);
		return -1;
	}
	if (v[K_AUTH_SCHEME][0] && !is_token(v[K_AUTH_SCHEME])) {
		*bad = K_AUTH_SCHEME;
		snprintf(err, errlen, "'%.32s' is not an authentication scheme (a word, or empty "
			 "to send the token alone)", v[K_AUTH_SCHEME]);
		return -1;
	}
	if (prn_outbox_check(v + K_OUTBOX, bad, err, errlen) < 0) {
		*bad += K_OUTBOX;
		return -1;
	}
	return 0;
}

const struct jb_settings_def prn_https_settings = {keys, K_N, https_check};

/* --- state -------------------------------------------------------------------- */

static struct {
	struct prn_spool *spool;
	struct prn_outbox *ob;
	struct prn_curl curl;
	CURL *easy;
	struct prn_curl_peer peer;
	struct event *ev_empty, *ev_reresolve;
	/* settings */
	char *url, *auth;	/* auth: the whole header line, or NULL */
	struct curl_blob ca;
	uint64_t connect_ms, timeout_ms, reresolve_ms, spool_max;
	/* the request out */
	char *body;
	size_t body_len, body_cap, body_lines;
	struct curl_slist *headers;
	int in_flight;
	uint64_t token;
	char key[64];
	char resp[RESP_KEEP + 1];
	size_t resp_len;
	uint64_t failing_since_ms;	/* first of a streak of failures to connect, 0 none */
} H;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* --- setup (before confinement) --------------------------------------------------- */

static int get_num(const struct jb_settings *s, const char *name, uint64_t *out, char *err,
		   size_t errlen)
{
	if (jb_settings_u64(s, name, out) < 0) {
		snprintf(err, errlen, "https: setting %s missing", name);
		return -1;
	}
	return 0;
}

static int https_setup(char *err, size_t errlen)
{
	const struct jb_settings *s = prn_settings();
	const char *v, *scheme, *hdr;
	char *tok = NULL;
	size_t len;

	err[0] = '\0';
	if (!s) {
		snprintf(err, errlen, "https: no settings handed over");
		return -1;
	}
	if (!(v = jb_settings_get(s, "url", NULL)) || !(H.url = strdup(v)) ||
	    get_num(s, "connect_timeout_ms", &H.connect_ms, err, errlen) < 0 ||
	    get_num(s, "timeout_ms", &H.timeout_ms, err, errlen) < 0 ||
	    get_num(s, "reresolve_s", &H.reresolve_ms, err, errlen) < 0 ||
	    get_num(s, "spool_max_bytes", &H.spool_max, err, errlen) < 0) {
		if (!err[0])
			snprintf(err, errlen, "https: no url");
		return -1;
	}
	H.reresolve_ms *= 1000;
	/* the token: its file's content, without the line end an editor adds */
	if ((v = jb_settings_get(s, "token_file", &len)) && len) {
		while (len && (v[len - 1] == '\n' || v[len - 1] == '\r' || v[len - 1] == ' '))
			len--;
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f) {
				snprintf(err, errlen, "https: token_file: a control character in the "
					 "token (one line of printable text)");
				return -1;
			}
		if (!len) {
			snprintf(err, errlen, "https: token_file is empty");
			return -1;
		}
		tok = strndup(v, len);
		hdr = jb_settings_get(s, "auth_header", NULL);
		scheme = jb_settings_get(s, "auth_scheme", NULL);
		if (!tok || !hdr || !scheme ||
		    asprintf(&H.auth, "%s: %s%s%s", hdr, scheme, scheme[0] ? " " : "", tok) < 0) {
			free(tok);
			snprintf(err, errlen, "https: out of memory");
			return -1;
		}
		explicit_bzero(tok, len);
		free(tok);
	}
	/* the CA bundle the supervisor read (ca_file, the system's by default) */
	if ((v = jb_settings_get(s, "ca_file", &len)) && len) {
		H.ca.data = (void *)v;
		H.ca.len = len;
		H.ca.flags = CURL_BLOB_COPY;
	} else {
		snprintf(err, errlen, "https: no CA bundle (ca_file): TLS cannot be verified");
		return -1;
	}
	if (prn_curl_peer_parse(&H.peer, "https", H.url, err, errlen) < 0)
		return -1;
	signal(SIGPIPE, SIG_IGN);
	return 0; /* no fd of its own: lines go through take */
}

/* As the kind's uid, before Landlock and seccomp: what reads the
 * system's files, never as root. */
static int https_init_as_kind(char *err, size_t errlen)
{
	char why[128];

	/* OpenSSL reads its configuration and seeds now, while files open */
	if (prn_curl_init(&H.curl, "https", err, errlen) < 0)
		return -1;
	snprintf(why, sizeof(why), "detections are spooled, and the printer restarts in %llu s "
		 "to try again", (unsigned long long)(H.reresolve_ms / 10000));
	prn_curl_peer_resolve(&H.peer, why);
	H.easy = curl_easy_init();
	if (!H.easy) {
		snprintf(err, errlen, "https: curl init failed");
		return -1;
	}
	return 0;
}

static void spool_loss(void *arg, const char *cause, uint64_t n, const char *detail)
{
	log_warnx("https: %llu detections lost (%s): %s", (unsigned long long)n, cause, detail);
	prn_loss(cause, n, detail); /* a data_loss event, through the other printers too */
}

/* The spool, read whole as the kind's uid (its directory is 0700) and
 * before seccomp (listing it needs getdents, cutting a torn tail
 * ftruncate, its lock flock). */
static int https_setup_as_kind(char *err, size_t errlen)
{
	H.spool = prn_outbox_spool_open("https", JB_CHILD_AUX_FD, prn_settings(), err, errlen);
	if (!H.spool)
		return -1;
	prn_spool_on_loss(H.spool, spool_loss, NULL);
	if (prn_spool_lines(H.spool))
		log_info("https: %llu detections wait in the spool",
			 (unsigned long long)prn_spool_lines(H.spool));
	return 0;
}

/* --- the request ------------------------------------------------------------------ */

static size_t on_body(char *p, size_t size, size_t n, void *userp)
{
	size_t len = size * n, room = RESP_KEEP - H.resp_len;

	memcpy(H.resp + H.resp_len, p, len < room ? len : room);
	H.resp_len += len < room ? len : room;
	return len;
}

/* --- the transport ---------------------------------------------------------------- */

/* The body: each line re-validated as a JSON object (a spooled one was on
 * disk, outside input), the others dropped and reported. */
static int build_body(const struct prn_batch *b)
{
	const char *p = b->buf, *end = b->buf + b->len;
	uint64_t bad = 0;

	H.body_len = H.body_lines = 0;
	if (H.body_cap < b->len + 1) {
		char *nb = realloc(H.body, b->len + 1);

		if (!nb)
			return -1;
		H.body = nb;
		H.body_cap = b->len + 1;
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		json_error_t jerr;
		json_t *j = json_loadb(p, len, JSON_REJECT_DUPLICATES, &jerr);

		if (j && json_is_object(j)) {
			memcpy(H.body + H.body_len, p, len);
			H.body[H.body_len + len] = '\n';
			H.body_len += len + 1;
			H.body_lines++;
		} else {
			bad++;
		}
		json_decref(j);
		p = nl ? nl + 1 : end;
	}
	if (bad)
		spool_loss(NULL, "spool_invalid", bad, "https: a spooled line is not a JSON object");
	return 0;
}

static int tr_ready(void *arg)
{
	return !H.peer.no_address;
}

/* A batch whose every line was invalid: nothing to post, done at once
 * (never from inside send). */
static void on_empty(evutil_socket_t fd, short what, void *arg)
{
	prn_outbox_done(H.ob, H.token, PRN_SENT_OK, 0, NULL);
}

static int tr_send(void *arg, const struct prn_batch *b, uint64_t token)
{
	char key[160];

	if (H.in_flight) {
		/* the outbox gave up waiting for it: abandoned, its answer
		 * would come too late */
		prn_curl_remove(&H.curl, H.easy);
		H.in_flight = 0;
	}
	if (build_body(b) < 0)
		return -1;
	H.token = token;
	snprintf(H.key, sizeof(H.key), "%s", b->key);
	if (!H.body_lines) {
		event_active(H.ev_empty, EV_TIMEOUT, 0);
		return 0;
	}
	curl_slist_free_all(H.headers);
	H.headers = NULL;
	snprintf(key, sizeof(key), "Idempotency-Key: %s", b->key);
	H.headers = curl_slist_append(H.headers, "Content-Type: application/x-ndjson");
	H.headers = curl_slist_append(H.headers, key);
	H.headers = curl_slist_append(H.headers, "Expect:");
	if (H.auth)
		H.headers = curl_slist_append(H.headers, H.auth);
	if (!H.headers)
		return -1;
	prn_curl_tls(H.easy, H.url, &H.ca, &H.peer, (long)H.connect_ms, (long)H.timeout_ms);
	curl_easy_setopt(H.easy, CURLOPT_HTTPHEADER, H.headers);
	curl_easy_setopt(H.easy, CURLOPT_POSTFIELDS, H.body);
	curl_easy_setopt(H.easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)H.body_len);
	curl_easy_setopt(H.easy, CURLOPT_WRITEFUNCTION, on_body);
	H.resp_len = 0;
	if (prn_curl_add(&H.curl, H.easy) < 0)
		return -1;
	H.in_flight = 1;
	return 0;
}

static void on_reresolve(evutil_socket_t fd, short what, void *arg)
{
	log_warnx("https: %s still has no address: restarting to resolve it again", H.peer.host);
	prn_spool_close(H.spool);
	exit(0);
}

/* A printable, bounded piece of what the server said. */
static const char *sanitised_resp(void)
{
	for (size_t i = 0; i < H.resp_len; i++)
		if ((unsigned char)H.resp[i] < 0x20 || (unsigned char)H.resp[i] > 0x7e)
			H.resp[i] = ' ';
	H.resp[H.resp_len > 200 ? 200 : H.resp_len] = '\0';
	return H.resp;
}

/* The answer, sorted: 2xx ok; a 3xx (redirects are not followed: it
 * would answer the same again) and a 4xx but 408 and 429 rejected for
 * good; the rest (408, 429, 5xx, no answer at all) retried. */
static void finish(CURLcode rc, long code, curl_off_t retry_after)
{
	uint64_t now = now_ms();
	char why[512];

	if (rc == CURLE_OK && H.failing_since_ms) {
		/* an answer, whatever it says: the address works */
		log_info("https: %s answers again (HTTP %ld)", H.peer.host, code);
		H.failing_since_ms = 0;
	}
	if (rc == CURLE_OK && code >= 200 && code < 300) {
		prn_outbox_done(H.ob, H.token, PRN_SENT_OK, 0, NULL);
		return;
	}
	if (rc == CURLE_OK) {
		int final = (code >= 300 && code < 400) ||
			    (code >= 400 && code < 500 && code != 408 && code != 429);
		uint64_t not_before = 0;

		/* clamped before it is made milliseconds: a huge Retry-After
		 * must not wrap to a short one (the outbox caps it further) */
		if ((code == 429 || code == 503) && retry_after > 0)
			not_before = (uint64_t)(retry_after > RETRY_AFTER_MAX_S ? RETRY_AFTER_MAX_S
										 : retry_after) * 1000;

		snprintf(why, sizeof(why), "HTTP %ld from %.200s for %zu lines: '%.200s'", code, H.peer.host,
			 H.body_lines, sanitised_resp());
		prn_outbox_done(H.ob, H.token, final ? PRN_SENT_REJECTED : PRN_SENT_RETRY,
				not_before, why);
		return;
	}
	/* no answer: network, timeout, TLS (a wrong certificate is refused
	 * before a byte of the body is sent) */
	if (!H.failing_since_ms)
		H.failing_since_ms = now;
	snprintf(why, sizeof(why), "%.200s: %s%s", H.peer.host, curl_easy_strerror(rc),
		 rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CONNECT_ERROR
			 ? " (the certificate is refused: check ca_file and the host name)"
			 : "");
	if (!H.peer.host_is_literal && now - H.failing_since_ms >= H.reresolve_ms &&
	    (rc == CURLE_COULDNT_CONNECT || rc == CURLE_OPERATION_TIMEDOUT)) {
		/* the address may have changed: a new printer resolves again
		 * (what is not acknowledged the supervisor has) */
		log_warnx("https: no connection to %s for %llu s: restarting to resolve it again",
			  H.peer.host, (unsigned long long)((now - H.failing_since_ms) / 1000));
		prn_spool_close(H.spool);
		exit(0);
	}
	prn_outbox_done(H.ob, H.token, PRN_SENT_RETRY, 0, why);
}

/* curl ended the request (curlev.c). */
static void on_done(void *arg, CURL *e, CURLcode rc)
{
	long code = 0;
	curl_off_t ra = -1;

	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_getinfo(e, CURLINFO_RETRY_AFTER, &ra);
	H.in_flight = 0;
	finish(rc, code, ra);
}

/* --- taking lines ------------------------------------------------------------------- */

static void ack_line(void *arg, uint64_t seq)
{
	prn_acknowledge(seq);
}

static void https_take(uint64_t seq, const char *line, size_t len)
{
	prn_outbox_take(H.ob, seq, line, len);
}

/* On CONFIG, confined: curl on the loop, then the outbox, which sends
 * what a predecessor left in the spool first. */
static int https_start(struct event_base *base, char *err, size_t errlen)
{
	struct prn_outbox_conf c = {
		.name = "https",
		/* curl's own timeout answers first; this only catches a
		 * request curl never finishes */
		.send_timeout_ms = (uint32_t)(H.timeout_ms + 2000),
		.dead_dirfd = JB_CHILD_AUX_FD,
		.dead_max_bytes = H.spool_max,
		.reject_cause = "http_rejected",
	};
	struct prn_transport t = {tr_ready, tr_send, NULL};

	err[0] = '\0';
	H.ev_empty = event_new(base, -1, 0, on_empty, NULL);
	H.ev_reresolve = evtimer_new(base, on_reresolve, NULL);
	if (prn_curl_start(&H.curl, base, on_done, NULL) < 0 || !H.ev_empty || !H.ev_reresolve ||
	    prn_outbox_conf_read(prn_settings(), &c, err, errlen) < 0) {
		if (!err[0])
			snprintf(err, errlen, "https: cannot make its timers");
		return -1;
	}
	H.ob = prn_outbox_new(base, H.spool, &c, &t, ack_line, NULL);
	if (!H.ob) {
		snprintf(err, errlen, "https: cannot set up the outbox");
		return -1;
	}
	if (H.peer.no_address) {
		/* spool until the restart that resolves again */
		struct timeval tv = {.tv_sec = (time_t)(H.reresolve_ms / 10000),
				     .tv_usec = (suseconds_t)(H.reresolve_ms / 10 % 1000) * 1000};

		evtimer_add(H.ev_reresolve, &tv);
		return 0;
	}
	prn_outbox_kick(H.ob); /* what a predecessor left in the spool */
	return 0;
}

static void https_figures(struct prn_figures *f)
{
	prn_outbox_figures(H.ob, H.spool, f);
}

const struct prn_output prn_https = {
	.figures = https_figures,
	.setup = https_setup,
	.take = https_take,
	.start = https_start,
	.init_as_kind = https_init_as_kind,
	.setup_as_kind = https_setup_as_kind,
};
