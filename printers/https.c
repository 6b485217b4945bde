/*
 * https.c - the HTTPS printer: detections in batches (JSON lines) to an
 * operator's endpoint over TLS, through a disk spool (printers/spool.h).
 *
 * Spool first, with group commit: each line handed over is appended to
 * the spool, and at the end of the loop turn (or when 256 KiB wait) the
 * spool is synced and every line taken so far acknowledged (PRINTED). The
 * router's backlog is the bounded memory queue in front; the spool, on
 * disk and bounded by spool_max_bytes, is what waits while the endpoint
 * is away. The sender peeks the oldest synced lines (batch_lines,
 * batch_bytes, or what batch_ms gathered), posts them with libcurl's
 * multi interface driven by this child's libevent loop (so lines keep
 * being taken and heartbeats keep flowing while a request is out), and
 * consumes them from the spool only on a 2xx.
 *
 * Invariants:
 *  - a line is acknowledged only once synced in the spool: a crash loses
 *    nothing the supervisor forgot;
 *  - a batch keeps its Idempotency-Key (the spool's pin) on every retry,
 *    after a restart too, and each line keeps its event's uuid: a receiver
 *    can drop repeats;
 *  - TLS verification is always on (peer and host name), with the CA the
 *    supervisor read (ca_file, the system bundle by default); https only,
 *    no redirects followed;
 *  - network errors, timeouts, TLS failures, 408, 429 and 5xx are retried
 *    with exponential back-off and full jitter (Retry-After honoured,
 *    capped at retry_max_ms), forever: the spool bound, which drops the
 *    oldest with a report, is what limits a long outage. Any other 4xx is
 *    final: logged with a bounded, printable piece of the answer, the
 *    batch moved to dead-letter.jsonl in the spool directory and reported
 *    as lost (prn_loss), never retried;
 *  - the child opens nothing but files of its spool directory (fd 4): the
 *    host name is resolved in setup, before confinement, and handed to
 *    curl (CURLOPT_RESOLVE); after reresolve_s of failing to connect the
 *    printer exits and is restarted, which resolves again.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <jansson.h>

#include "common/child.h"
#include "common/landlock.h"
#include "common/log.h"
#include "common/settings.h"
#include "printers/printer.h"
#include "printers/spool.h"

#define COMMIT_BYTES (256u << 10)	/* appended bytes that force a sync at once */
#define RESP_KEEP 512			/* bytes of an answer kept for the log */
#define DEAD_LETTER "dead-letter.jsonl"
#define TLS_LOG_EVERY_MS 60000

/* --- the settings ([https] of jibril.conf) ---------------------------------- */

enum {
	K_URL, K_TOKEN, K_AUTH_HEADER, K_AUTH_SCHEME, K_CA, K_CONNECT_MS, K_TIMEOUT_MS,
	K_BATCH_LINES, K_BATCH_BYTES, K_BATCH_MS, K_RETRY_INITIAL, K_RETRY_MAX, K_RERESOLVE,
	K_SPOOL_DIR, K_SPOOL_MAX, K_N
};

static const struct jb_setting keys[K_N] = {
	[K_URL] = {"url", JB_SET_STR, NULL, 9, 2048},
	[K_TOKEN] = {"token_file", JB_SET_SECRET, "", 0, 16384},
	[K_AUTH_HEADER] = {"auth_header", JB_SET_STR, "Authorization", 1, 64},
	[K_AUTH_SCHEME] = {"auth_scheme", JB_SET_STR, "Bearer", 0, 32},
	[K_CA] = {"ca_file", JB_SET_FILE, "/etc/ssl/certs/ca-certificates.crt", 0, 4u << 20},
	[K_CONNECT_MS] = {"connect_timeout_ms", JB_SET_U32, "5000", 100, 600000},
	[K_TIMEOUT_MS] = {"timeout_ms", JB_SET_U32, "30000", 100, 3600000},
	[K_BATCH_LINES] = {"batch_lines", JB_SET_U32, "500", 1, 100000},
	[K_BATCH_BYTES] = {"batch_bytes", JB_SET_BYTES, "1M", 1024, 16u << 20},
	[K_BATCH_MS] = {"batch_ms", JB_SET_U32, "1000", 0, 600000},
	[K_RETRY_INITIAL] = {"retry_initial_ms", JB_SET_U32, "500", 10, 600000},
	[K_RETRY_MAX] = {"retry_max_ms", JB_SET_U32, "60000", 100, 3600000},
	[K_RERESOLVE] = {"reresolve_s", JB_SET_U32, "300", 10, 86400},
	[K_SPOOL_DIR] = {"spool_dir", JB_SET_DIR, "/var/lib/jibril/spool/https", 0, 0},
	[K_SPOOL_MAX] = {"spool_max_bytes", JB_SET_BYTES, "256M", 1u << 20, 1ull << 40},
};

/* RFC 9110 token characters: a header name */
static int is_token(const char *s)
{
	return *s && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			       "0123456789!#$%&'*+-.^_`|~") == strlen(s);
}

static uint64_t num(const struct jb_setting *k, const char *v)
{
	uint64_t n = 0;

	for (; *v >= '0' && *v <= '9'; v++)
		n = n * 10 + (uint64_t)(*v - '0');
	if (*v == 'K' || *v == 'k')
		n <<= 10;
	else if (*v == 'M' || *v == 'm')
		n <<= 20;
	else if (*v == 'G' || *v == 'g')
		n <<= 30;
	return n;
}

/* Between keys (config.c runs it when the kind is on). */
static int https_check(const char *const *v, size_t *bad, char *err, size_t errlen)
{
	CURLU *u = curl_url();
	char *host = NULL, *scheme = NULL;
	int ok;

	if (!u)
		return snprintf(err, errlen, "out of memory"), *bad = K_URL, -1;
	ok = strncmp(v[K_URL], "https://", 8) == 0 &&
	     curl_url_set(u, CURLUPART_URL, v[K_URL], 0) == CURLUE_OK &&
	     curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	     !strcmp(scheme, "https") && curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
	     host[0];
	curl_free(host);
	curl_free(scheme);
	curl_url_cleanup(u);
	if (!ok) {
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
	if (num(&keys[K_RETRY_MAX], v[K_RETRY_MAX]) < num(&keys[K_RETRY_INITIAL], v[K_RETRY_INITIAL])) {
		*bad = K_RETRY_MAX;
		snprintf(err, errlen, "retry_max_ms must be at least retry_initial_ms");
		return -1;
	}
	if (num(&keys[K_BATCH_BYTES], v[K_BATCH_BYTES]) * 2 > num(&keys[K_SPOOL_MAX], v[K_SPOOL_MAX])) {
		*bad = K_SPOOL_MAX;
		snprintf(err, errlen, "spool_max_bytes must hold two batches (batch_bytes)");
		return -1;
	}
	return 0;
}

const struct jb_settings_def prn_https_settings = {keys, K_N, https_check};

/* --- state -------------------------------------------------------------------- */

static struct {
	struct prn_spool *spool;
	struct event_base *base;
	CURLM *multi;
	CURL *easy;
	struct curl_slist *resolve;
	struct event *ev_curl_timer, *ev_commit, *ev_batch, *ev_retry;
	/* settings */
	char *url, *auth, *host;	/* auth: the whole header line, or NULL */
	struct curl_blob ca;
	uint64_t connect_ms, timeout_ms, batch_lines, batch_bytes, batch_ms, retry_initial,
		retry_max, reresolve_ms, spool_max;
	int host_is_literal, no_address;
	/* taking lines */
	uint64_t taken, acked;
	size_t unsynced;
	/* sending */
	struct prn_spool_batch batch;
	char *body;
	size_t body_len, body_cap, body_lines;
	struct curl_slist *headers;
	int in_flight;
	char resp[RESP_KEEP + 1];
	size_t resp_len;
	uint64_t delay_ms;		/* the next back-off */
	uint64_t failing_since_ms;	/* first of a streak of failures to connect, 0 none */
	uint64_t tls_logged_ms;
	unsigned rng;
	uint64_t sent_lines, batches_ok;
} H;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void loss(const char *cause, uint64_t n, const char *detail)
{
	log_warnx("https: %llu detections lost (%s): %s", (unsigned long long)n, cause, detail);
	prn_loss(cause, n, detail); /* a data_loss event, through the other printers too */
}

static void spool_loss(void *arg, const char *cause, uint64_t n, const char *detail)
{
	loss(cause, n, detail);
}

static void arm(struct event *ev, uint64_t ms)
{
	struct timeval tv = {.tv_sec = (time_t)(ms / 1000), .tv_usec = (suseconds_t)(ms % 1000) * 1000};

	evtimer_add(ev, &tv);
}

/* --- setup (before confinement) --------------------------------------------------- */

static int get_num(const struct jb_settings *s, int k, uint64_t *out, char *err, size_t errlen)
{
	if (jb_settings_u64(s, keys[k].name, out) < 0) {
		snprintf(err, errlen, "https: setting %s missing", keys[k].name);
		return -1;
	}
	return 0;
}

/* The URL's host, resolved now (files and sockets are still allowed):
 * "host:port:addr,addr" for CURLOPT_RESOLVE. No address is not fatal: the
 * printer spools and exits later to try again. */
static int resolve_host(char *err, size_t errlen)
{
	CURLU *u = curl_url();
	char *host = NULL, *port = NULL, entry[1024], addr[INET6_ADDRSTRLEN];
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
	unsigned char tmp[16];
	size_t o;
	int rc;

	if (!u || curl_url_set(u, CURLUPART_URL, H.url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
		snprintf(err, errlen, "https: cannot parse url");
		curl_free(host);
		curl_url_cleanup(u);
		return -1;
	}
	curl_url_cleanup(u);
	jb_landlock_allow_connect((unsigned)strtoul(port, NULL, 10)); /* its one TCP port */
	H.host = strdup(host);
	if (host[0] == '[' || inet_pton(AF_INET, host, tmp) == 1) {
		H.host_is_literal = 1; /* nothing to resolve */
		goto out;
	}
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0) {
		log_warnx("https: cannot resolve %s: %s: detections are spooled, and the printer "
			  "restarts in %llu s to try again", host, gai_strerror(rc),
			  (unsigned long long)(H.reresolve_ms / 10000));
		H.no_address = 1;
		goto out;
	}
	o = (size_t)snprintf(entry, sizeof(entry), "%s:%s:", host, port);
	for (struct addrinfo *a = res; a && o < sizeof(entry) - 64; a = a->ai_next) {
		const void *ip = a->ai_family == AF_INET
					 ? (const void *)&((struct sockaddr_in *)a->ai_addr)->sin_addr
					 : (const void *)&((struct sockaddr_in6 *)a->ai_addr)->sin6_addr;

		if ((a->ai_family != AF_INET && a->ai_family != AF_INET6) ||
		    !inet_ntop(a->ai_family, ip, addr, sizeof(addr)) || strstr(entry, addr))
			continue;
		o += (size_t)snprintf(entry + o, sizeof(entry) - o, "%s%s%s%s",
				      entry[o - 1] == ':' ? "" : ",", a->ai_family == AF_INET6 ? "[" : "",
				      addr, a->ai_family == AF_INET6 ? "]" : "");
	}
	freeaddrinfo(res);
	H.resolve = curl_slist_append(NULL, entry);
	log_info("https: %s resolved to %s", host, entry + strlen(host) + strlen(port) + 2);
out:
	curl_free(host);
	curl_free(port);
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
	    get_num(s, K_CONNECT_MS, &H.connect_ms, err, errlen) < 0 ||
	    get_num(s, K_TIMEOUT_MS, &H.timeout_ms, err, errlen) < 0 ||
	    get_num(s, K_BATCH_LINES, &H.batch_lines, err, errlen) < 0 ||
	    get_num(s, K_BATCH_BYTES, &H.batch_bytes, err, errlen) < 0 ||
	    get_num(s, K_BATCH_MS, &H.batch_ms, err, errlen) < 0 ||
	    get_num(s, K_RETRY_INITIAL, &H.retry_initial, err, errlen) < 0 ||
	    get_num(s, K_RETRY_MAX, &H.retry_max, err, errlen) < 0 ||
	    get_num(s, K_RERESOLVE, &H.reresolve_ms, err, errlen) < 0 ||
	    get_num(s, K_SPOOL_MAX, &H.spool_max, err, errlen) < 0) {
		if (!err[0])
			snprintf(err, errlen, "https: no url");
		return -1;
	}
	H.reresolve_ms *= 1000;
	H.delay_ms = H.retry_initial;
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
	/* OpenSSL reads its configuration and seeds now, while files open */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(err, errlen, "https: curl_global_init failed");
		return -1;
	}
	if (resolve_host(err, errlen) < 0)
		return -1;
	if (getrandom(&H.rng, sizeof(H.rng), 0) != (ssize_t)sizeof(H.rng))
		H.rng = (unsigned)getpid();
	H.multi = curl_multi_init(); /* its wake-up socket pair: made now */
	H.easy = curl_easy_init();
	if (!H.multi || !H.easy) {
		snprintf(err, errlen, "https: curl init failed");
		return -1;
	}
	signal(SIGPIPE, SIG_IGN);
	return 0; /* no fd of its own: lines go through take */
}

/* The spool, read whole as the kind's uid (its directory is 0700) and
 * before seccomp (listing it needs getdents, cutting a torn tail
 * ftruncate). */
static int https_setup_as_kind(char *err, size_t errlen)
{
	H.spool = prn_spool_open(JB_CHILD_AUX_FD, H.spool_max, err, errlen);
	if (!H.spool)
		return -1;
	prn_spool_on_loss(H.spool, spool_loss, NULL);
	if (prn_spool_lines(H.spool))
		log_info("https: %llu detections wait in the spool",
			 (unsigned long long)prn_spool_lines(H.spool));
	return 0;
}

/* --- curl on libevent (curl's multi-socket interface) ------------------------------- */

static void check_done(void);

static void on_sock_event(evutil_socket_t fd, short what, void *arg)
{
	int running, action = (what & EV_READ ? CURL_CSELECT_IN : 0) |
			      (what & EV_WRITE ? CURL_CSELECT_OUT : 0);

	curl_multi_socket_action(H.multi, fd, action, &running);
	check_done();
}

static int on_sock(CURL *e, curl_socket_t s, int what, void *userp, void *sockp)
{
	struct event *ev = sockp;

	if (ev) {
		event_free(ev);
		curl_multi_assign(H.multi, s, NULL);
	}
	if (what == CURL_POLL_REMOVE)
		return 0;
	ev = event_new(H.base, s,
		       (what & CURL_POLL_IN ? EV_READ : 0) | (what & CURL_POLL_OUT ? EV_WRITE : 0) |
			       EV_PERSIST,
		       on_sock_event, NULL);
	if (!ev || event_add(ev, NULL) < 0)
		fatalx("https: cannot watch a socket");
	curl_multi_assign(H.multi, s, ev);
	return 0;
}

static void on_curl_timer(evutil_socket_t fd, short what, void *arg)
{
	int running;

	curl_multi_socket_action(H.multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done();
}

static int on_timer(CURLM *m, long ms, void *userp)
{
	if (ms < 0)
		evtimer_del(H.ev_curl_timer);
	else
		arm(H.ev_curl_timer, (uint64_t)ms);
	return 0;
}

static size_t on_body(char *p, size_t size, size_t n, void *userp)
{
	size_t len = size * n, room = RESP_KEEP - H.resp_len;

	memcpy(H.resp + H.resp_len, p, len < room ? len : room);
	H.resp_len += len < room ? len : room;
	return len;
}

/* --- sending ---------------------------------------------------------------------- */

static void send_next(void);

/* The body: each spooled line re-validated as a JSON object (the disk is
 * outside input), the others dropped and reported. */
static int build_body(void)
{
	const char *p = H.batch.buf, *end = H.batch.buf + H.batch.len;
	uint64_t bad = 0;

	H.body_len = H.body_lines = 0;
	if (H.body_cap < H.batch.len + 1) {
		char *nb = realloc(H.body, H.batch.len + 1);

		if (!nb)
			return -1;
		H.body = nb;
		H.body_cap = H.batch.len + 1;
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = (size_t)(nl - p);
		json_error_t jerr;
		json_t *j = json_loadb(p, len, JSON_REJECT_DUPLICATES, &jerr);

		if (j && json_is_object(j)) {
			memcpy(H.body + H.body_len, p, len + 1);
			H.body_len += len + 1;
			H.body_lines++;
		} else {
			bad++;
		}
		json_decref(j);
		p = nl + 1;
	}
	if (bad)
		loss("spool_invalid", bad, "https: a spooled line is not a JSON object");
	return 0;
}

static void start_request(void)
{
	char key[160];

	curl_slist_free_all(H.headers);
	H.headers = NULL;
	snprintf(key, sizeof(key), "Idempotency-Key: %s", H.batch.key);
	H.headers = curl_slist_append(H.headers, "Content-Type: application/x-ndjson");
	H.headers = curl_slist_append(H.headers, key);
	H.headers = curl_slist_append(H.headers, "Expect:");
	if (H.auth)
		H.headers = curl_slist_append(H.headers, H.auth);
	if (!H.headers)
		fatalx("https: out of memory");
	curl_easy_reset(H.easy);
	curl_easy_setopt(H.easy, CURLOPT_URL, H.url);
	curl_easy_setopt(H.easy, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(H.easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(H.easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(H.easy, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(H.easy, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(H.easy, CURLOPT_CAINFO, NULL); /* the blob only: no file opened */
	curl_easy_setopt(H.easy, CURLOPT_CAPATH, NULL);
	curl_easy_setopt(H.easy, CURLOPT_CAINFO_BLOB, &H.ca);
	curl_easy_setopt(H.easy, CURLOPT_RESOLVE, H.resolve);
	curl_easy_setopt(H.easy, CURLOPT_DNS_CACHE_TIMEOUT, -1L);
	curl_easy_setopt(H.easy, CURLOPT_CONNECTTIMEOUT_MS, (long)H.connect_ms);
	curl_easy_setopt(H.easy, CURLOPT_TIMEOUT_MS, (long)H.timeout_ms);
	curl_easy_setopt(H.easy, CURLOPT_USERAGENT, "jibril");
	curl_easy_setopt(H.easy, CURLOPT_HTTPHEADER, H.headers);
	curl_easy_setopt(H.easy, CURLOPT_POSTFIELDS, H.body);
	curl_easy_setopt(H.easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)H.body_len);
	curl_easy_setopt(H.easy, CURLOPT_WRITEFUNCTION, on_body);
	H.resp_len = 0;
	if (curl_multi_add_handle(H.multi, H.easy) != CURLM_OK)
		fatalx("https: cannot start a request");
	H.in_flight = 1;
}

/* Take the oldest synced lines and post them, unless a request is out or
 * a back-off runs. */
static void send_next(void)
{
	int r;

	if (H.in_flight || evtimer_pending(H.ev_retry, NULL) || H.no_address)
		return;
	evtimer_del(H.ev_batch);
	for (int rounds = 0; rounds < 1000; rounds++) {
		r = prn_spool_peek(H.spool, (size_t)H.batch_lines, (size_t)H.batch_bytes, &H.batch);
		if (r < 0)
			fatal("https: spool: read");
		if (r == 0)
			return;
		if (build_body() < 0)
			fatalx("https: out of memory");
		if (H.body_lines) {
			start_request();
			return;
		}
		if (prn_spool_consume(H.spool, &H.batch) < 0) /* nothing valid in it */
			fatal("https: spool: consume");
	}
}

/* New lines were synced: send now if a batch is full, else when batch_ms
 * has gathered more. */
static void maybe_send(void)
{
	if (H.in_flight || evtimer_pending(H.ev_retry, NULL))
		return;
	if (!H.batch_ms || prn_spool_lines(H.spool) >= H.batch_lines ||
	    prn_spool_bytes(H.spool) >= H.batch_bytes)
		send_next();
	else if (!evtimer_pending(H.ev_batch, NULL) && prn_spool_lines(H.spool))
		arm(H.ev_batch, H.batch_ms);
}

static void on_batch(evutil_socket_t fd, short what, void *arg)
{
	send_next();
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
	if (H.no_address) {
		log_warnx("https: %s still has no address: restarting to resolve it again", H.host);
		prn_spool_close(H.spool);
		exit(0);
	}
	send_next();
}

/* Exponential back-off with full jitter: a delay in [d/2, d], d doubling
 * up to retry_max; a Retry-After (seconds or a date: curl gives seconds)
 * overrides it, capped at retry_max. */
static void back_off(int64_t retry_after_s)
{
	uint64_t d = H.delay_ms, wait = d / 2 + (uint64_t)rand_r(&H.rng) % (d / 2 + 1);

	if (retry_after_s > 0)
		wait = (uint64_t)retry_after_s * 1000 < H.retry_max ? (uint64_t)retry_after_s * 1000
								    : H.retry_max;
	H.delay_ms = d * 2 < H.retry_max ? d * 2 : H.retry_max;
	arm(H.ev_retry, wait);
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

/* A final refusal (4xx): the batch to the dead-letter file, reported. */
static void dead_letter(long code)
{
	char detail[1024];
	struct stat st;
	int fd = openat(JB_CHILD_AUX_FD, DEAD_LETTER,
			O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	int kept = 0;

	if (fd >= 0 && fstat(fd, &st) == 0 &&
	    (uint64_t)st.st_size + H.body_len <= H.spool_max &&
	    prn_write_all(fd, H.body, H.body_len) == 0 && fdatasync(fd) == 0)
		kept = 1;
	if (fd >= 0)
		close(fd);
	snprintf(detail, sizeof(detail), "HTTP %ld from %s (batch %s): '%s'; %s", code, H.host,
		 H.batch.key, sanitised_resp(),
		 kept ? "moved to " DEAD_LETTER " in the spool directory"
		      : "the dead-letter file is full or unwritable: dropped");
	loss("http_rejected", H.body_lines, detail); /* logged there */
}

static void finish(CURLcode rc, long code, curl_off_t retry_after)
{
	uint64_t now = now_ms();

	if (rc == CURLE_OK && H.failing_since_ms) {
		/* an answer, whatever it says: the address works */
		log_info("https: %s answers again (HTTP %ld)", H.host, code);
		H.failing_since_ms = H.tls_logged_ms = 0;
	}
	if (rc == CURLE_OK && code >= 200 && code < 300) {
		if (prn_spool_consume(H.spool, &H.batch) < 0)
			fatal("https: spool: consume");
		H.sent_lines += H.body_lines;
		H.batches_ok++;
		H.delay_ms = H.retry_initial;
		send_next(); /* what waited meanwhile */
		return;
	}
	if (rc == CURLE_OK && code >= 400 && code < 500 && code != 408 && code != 429) {
		dead_letter(code);
		if (prn_spool_consume(H.spool, &H.batch) < 0)
			fatal("https: spool: consume");
		H.delay_ms = H.retry_initial;
		send_next();
		return;
	}
	if (rc == CURLE_OK) {
		/* 408, 429, 5xx (and anything unexpected, a 3xx: redirects are
		 * not followed): the same batch later, with the same key */
		log_warnx("https: HTTP %ld from %s for batch %s (%zu lines): '%s'; retried", code,
			  H.host, H.batch.key, H.body_lines, sanitised_resp());
		back_off(code == 429 || code == 503 ? (int64_t)retry_after : -1);
		return;
	}
	/* no answer: network, timeout, TLS (a wrong certificate is refused
	 * before a byte of the body is sent) */
	if (!H.failing_since_ms)
		H.failing_since_ms = now;
	if (!H.tls_logged_ms || now - H.tls_logged_ms >= TLS_LOG_EVERY_MS) {
		log_warnx("https: %s: %s%s; %llu detections wait in the spool, retried", H.host,
			  curl_easy_strerror(rc),
			  rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CONNECT_ERROR
				  ? " (the certificate is refused: check ca_file and the host name)"
				  : "",
			  (unsigned long long)prn_spool_lines(H.spool));
		H.tls_logged_ms = now;
	}
	if (!H.host_is_literal && now - H.failing_since_ms >= H.reresolve_ms &&
	    (rc == CURLE_COULDNT_CONNECT || rc == CURLE_OPERATION_TIMEDOUT)) {
		/* the address may have changed: a new printer resolves again */
		log_warnx("https: no connection to %s for %llu s: restarting to resolve it again",
			  H.host, (unsigned long long)((now - H.failing_since_ms) / 1000));
		prn_spool_close(H.spool);
		exit(0);
	}
	back_off(-1);
}

static void check_done(void)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(H.multi, &left))) {
		long code = 0;
		curl_off_t ra = -1;
		CURLcode rc;

		if (m->msg != CURLMSG_DONE)
			continue;
		rc = m->data.result;
		curl_easy_getinfo(H.easy, CURLINFO_RESPONSE_CODE, &code);
		curl_easy_getinfo(H.easy, CURLINFO_RETRY_AFTER, &ra);
		curl_multi_remove_handle(H.multi, H.easy);
		H.in_flight = 0;
		finish(rc, code, ra);
	}
}

/* --- taking lines: spool, group commit, acknowledge ------------------------------------ */

static void commit(void)
{
	if (prn_spool_sync(H.spool) < 0)
		fatal("https: spool: sync (the unacknowledged lines are sent again to the next "
		      "printer)");
	H.unsynced = 0;
	if (H.taken > H.acked) {
		H.acked = H.taken;
		prn_acknowledge(H.acked);
	}
	maybe_send();
}

static void on_commit(evutil_socket_t fd, short what, void *arg)
{
	commit();
}

static void https_take(uint64_t seq, const char *line, size_t len)
{
	if (line && prn_spool_append(H.spool, line, len) < 0) {
		if (errno != EINVAL)
			fatal("https: spool: append");
		loss("spool_line_too_big", 1, "https: a detection larger than the spool takes");
	}
	H.taken = seq;
	H.unsynced += len;
	if (H.unsynced >= COMMIT_BYTES)
		commit();
	else
		event_active(H.ev_commit, EV_TIMEOUT, 0); /* at the end of this loop turn */
}

static int https_start(struct event_base *base, char *err, size_t errlen)
{
	H.base = base;
	H.ev_curl_timer = evtimer_new(base, on_curl_timer, NULL);
	H.ev_commit = event_new(base, -1, 0, on_commit, NULL);
	H.ev_batch = evtimer_new(base, on_batch, NULL);
	H.ev_retry = evtimer_new(base, on_retry, NULL);
	if (!H.ev_curl_timer || !H.ev_commit || !H.ev_batch || !H.ev_retry) {
		snprintf(err, errlen, "https: cannot make its timers");
		return -1;
	}
	curl_multi_setopt(H.multi, CURLMOPT_SOCKETFUNCTION, on_sock);
	curl_multi_setopt(H.multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(H.multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, 1L);
	if (H.no_address) {
		/* spool until the restart that resolves again */
		arm(H.ev_retry, H.reresolve_ms / 10);
		H.failing_since_ms = now_ms();
		return 0;
	}
	send_next(); /* what a predecessor left in the spool */
	return 0;
}

const struct prn_output prn_https = {
	.setup = https_setup,
	.take = https_take,
	.start = https_start,
	.setup_as_kind = https_setup_as_kind,
};
