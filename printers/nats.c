/*
 * nats.c - the NATS JetStream printer: each detection is published to
 * <prefix>.<host>.<mechanism>.<kind> on a JetStream stream, with the
 * event's uuid as its message id (Nats-Msg-Id), so the server drops a
 * repeat within the stream's duplicate window. Delivery goes through the
 * outbox (outbox.h): a line is acknowledged to the supervisor once the
 * server's publish acknowledgement came, or once it is synced into the
 * spool, which is drained oldest first when the server is back.
 *
 * Invariants:
 *  - the child opens no file: settings, secrets, the CA and certificates
 *    come from the supervisor (fd 5), the spool directory is fd 4; server
 *    names are resolved before confinement (getaddrinfo reads files), as
 *    the kind's uid, never root, and libnats is given addresses; with TLS
 *    the certificate is checked against the name (tls_server_name, else
 *    the first url's host);
 *  - the loop's thread never waits on a server: the connect (2 s per
 *    address that drops packets), the stream's check and every publish
 *    run on a driver thread of ours, so READY follows CONFIG at once and
 *    heartbeats keep their time whatever the servers do;
 *  - the driver and libnats start their threads only after confinement
 *    (start runs on CONFIG, in the sandbox), so every thread inherits the
 *    seccomp filter and no_new_privs;
 *  - no other thread touches the outbox or the log (the IPC peer):
 *    acknowledgements, connection events and log lines are handed to the
 *    loop's thread under a mutex and an eventfd;
 *  - a publish counts only with the server's acknowledgement of that very
 *    message of the current send (a duplicate acknowledged as such counts:
 *    the server has the message); a late answer to an earlier send of the
 *    same ids is ignored; anything else fails the batch, which is sent
 *    again after a back-off;
 *  - a credential goes over nats:// (clear text) only to a loopback
 *    address (nats_check refuses the rest at start-up);
 *  - subject tokens are made safe (a-z, A-Z, 0-9, _ and -; anything else
 *    becomes _), so an event cannot choose another subject's hierarchy;
 *  - an event without a uuid (none today) gets the SHA-256 of its line as
 *    message id, so a repeat of it is still dropped.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <strings.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>
#include <nats/nats.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>

#include "common/child.h"
#include "common/kind.h"
#include "common/landlock.h"
#include "common/log.h"
#include "common/privacy.h"
#include "common/settings.h"
#include "printers/nats.h"
#include "printers/outbox.h"
#include "printers/printer.h"
#include "printers/spool.h"

/* --- the section [nats] ------------------------------------------------------ */

enum {
	K_URL, K_STREAM, K_CREATE, K_PREFIX, K_HOST, K_DUPWIN, K_MAXAGE, K_CA, K_CERT, K_KEY,
	K_SNI, K_TOKEN, K_CREDS, K_NKEY, K_SEED, K_ACK, K_RECONNECT, K_OUTBOX,
	K_NKEYS = K_OUTBOX + PRN_OUTBOX_NKEYS
};

static const struct jb_setting nats_keys[] = {
	[K_URL] = {"url", JB_SET_STR, NULL, 0, 4095}, /* check: not empty */
	[K_STREAM] = {"stream", JB_SET_STR, "JIBRIL", 1, 64},
	[K_CREATE] = {"create_stream", JB_SET_STR, "yes", 2, 3},
	[K_PREFIX] = {"subject_prefix", JB_SET_STR, "jibril", 1, 128},
	[K_HOST] = {"host", JB_SET_STR, "", 0, 64},
	[K_DUPWIN] = {"duplicate_window_s", JB_SET_U32, "3600", 1, 604800},
	[K_MAXAGE] = {"stream_max_age_s", JB_SET_U32, "604800", 0, 315360000},
	[K_CA] = {"ca_file", JB_SET_FILE, "", 0, 1u << 20},
	[K_CERT] = {"cert_file", JB_SET_FILE, "", 0, 1u << 20},
	[K_KEY] = {"key_file", JB_SET_SECRET, "", 0, 1u << 20},
	[K_SNI] = {"tls_server_name", JB_SET_STR, "", 0, 253},
	[K_TOKEN] = {"token_file", JB_SET_SECRET, "", 0, 4096},
	[K_CREDS] = {"creds_file", JB_SET_SECRET, "", 0, 65536},
	[K_NKEY] = {"nkey", JB_SET_STR, "", 0, 56},
	[K_SEED] = {"nkey_seed_file", JB_SET_SECRET, "", 0, 4096},
	[K_ACK] = {"ack_timeout_ms", JB_SET_U32, "5000", 100, 600000},
	[K_RECONNECT] = {"reconnect_wait_ms", JB_SET_U32, "1000", 10, 60000},
	/* batch_ms 0: a publish is one message each, nothing gained by waiting */
	[K_OUTBOX] = PRN_OUTBOX_SETTINGS("/var/lib/jibril/spool/nats", "0"),
};
_Static_assert(sizeof(nats_keys) / sizeof(nats_keys[0]) == K_NKEYS, "a key without a row");
_Static_assert(K_NKEYS <= JB_SET_KEYS_MAX, "too many keys");

static int token_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-';
}

/* 1 if s is n tokens of token characters joined by '.' (n: 1 when !dots) */
static int name_ok(const char *s, int dots)
{
	size_t tok = 0;

	for (; *s; s++) {
		if (dots && *s == '.') {
			if (!tok)
				return 0;
			tok = 0;
		} else if (!token_char(*s) || ++tok > 64) {
			return 0;
		}
	}
	return tok > 0;
}

int prn_nats_url_parse(const char *u, size_t len, struct prn_nats_url *out, char *err,
		       size_t errlen)
{
	const char *h, *end = u + len, *p;
	unsigned long port = 4222;

	memset(out, 0, sizeof(*out));
	if (len > 7 && !strncmp(u, "nats://", 7)) {
		h = u + 7;
	} else if (len > 6 && !strncmp(u, "tls://", 6)) {
		h = u + 6;
		out->tls = 1;
	} else {
		snprintf(err, errlen, "'%.*s' is not nats://HOST[:PORT] or tls://HOST[:PORT]",
			 (int)(len > 80 ? 80 : len), u);
		return -1;
	}
	for (p = h; p < end; p++)
		if (*p == '@' || *p == '/' || *p == '?' || *p <= ' ' || *p > '~') {
			snprintf(err, errlen, "'%.*s': only a host and a port (credentials go in "
				 "token_file, creds_file or nkey_seed_file)", (int)(len > 80 ? 80 : len), u);
			return -1;
		}
	if (*h == '[') {
		p = memchr(h, ']', (size_t)(end - h));
		if (!p || p == h + 1) {
			snprintf(err, errlen, "'%.*s': an IPv6 address without its ']'",
				 (int)(len > 80 ? 80 : len), u);
			return -1;
		}
		out->hostlen = (size_t)(p - h - 1);
		memcpy(out->host, h + 1, out->hostlen < sizeof(out->host) ? out->hostlen : 0);
		p++;
	} else {
		for (p = h; p < end && *p != ':'; p++)
			;
		out->hostlen = (size_t)(p - h);
		if (out->hostlen < sizeof(out->host))
			memcpy(out->host, h, out->hostlen);
	}
	if (out->hostlen == 0 || out->hostlen >= sizeof(out->host)) {
		snprintf(err, errlen, "'%.*s': a host of 1..%zu characters", (int)(len > 80 ? 80 : len),
			 u, sizeof(out->host) - 1);
		return -1;
	}
	out->host[out->hostlen] = '\0';
	if (p < end) {
		char num[8];
		char *e;

		if (*p != ':' || end - p - 1 < 1 || end - p - 1 > 5) {
			snprintf(err, errlen, "'%.*s': a port is 1..65535", (int)(len > 80 ? 80 : len), u);
			return -1;
		}
		memcpy(num, p + 1, (size_t)(end - p - 1));
		num[end - p - 1] = '\0';
		port = strtoul(num, &e, 10);
		if (*e || port < 1 || port > 65535 || num[0] < '0' || num[0] > '9') {
			snprintf(err, errlen, "'%.*s': a port is 1..65535", (int)(len > 80 ? 80 : len), u);
			return -1;
		}
	}
	out->port = (unsigned)port;
	return 0;
}

/* Each URL of a comma-separated list; fn per URL. 0, or -1 with err. */
static int each_url(const char *list, int (*fn)(void *arg, const struct prn_nats_url *u),
		    void *arg, char *err, size_t errlen)
{
	const char *p = list;
	int n = 0;

	while (*p) {
		const char *c = strchr(p, ',');
		size_t len = c ? (size_t)(c - p) : strlen(p);
		struct prn_nats_url u;

		while (len && *p == ' ')
			p++, len--;
		while (len && p[len - 1] == ' ')
			len--;
		if (prn_nats_url_parse(p, len, &u, err, errlen) < 0)
			return -1;
		if (++n > PRN_NATS_URLS_MAX) {
			snprintf(err, errlen, "more than %d servers", PRN_NATS_URLS_MAX);
			return -1;
		}
		if (fn && fn(arg, &u) < 0) {
			snprintf(err, errlen, "%s: cannot use it", u.host);
			return -1;
		}
		p += len + (c ? (size_t)(c - p) - len : 0);
		if (c)
			p = c + 1;
	}
	if (!n) {
		snprintf(err, errlen, "no server");
		return -1;
	}
	return 0;
}

/* 1 if host is a loopback address (127.0.0.0/8, ::1) or "localhost" */
static int loopback(const char *host)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (!strcasecmp(host, "localhost"))
		return 1;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return inet_pton(AF_INET6, host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

struct url_scan {
	int tls;		/* some url is tls:// */
	char clear[254];	/* the first nats:// url's host that is not loopback */
};

static int scan_url(void *arg, const struct prn_nats_url *u)
{
	struct url_scan *sc = arg;

	sc->tls |= u->tls;
	if (!u->tls && !sc->clear[0] && !loopback(u->host))
		snprintf(sc->clear, sizeof(sc->clear), strchr(u->host, ':') ? "[%.250s]" : "%s",
			 u->host);
	return 0;
}

static int nats_check(const char *const *v, size_t *bad, char *err, size_t errlen)
{
	struct url_scan sc = {0};
	int tls;

	if (each_url(v[K_URL], scan_url, &sc, err, errlen) < 0)
		return *bad = K_URL, -1;
	tls = sc.tls;
	if (!name_ok(v[K_STREAM], 0)) {
		snprintf(err, errlen, "'%s' is not 1..64 of A-Z, a-z, 0-9, _ and -", v[K_STREAM]);
		return *bad = K_STREAM, -1;
	}
	if (strcmp(v[K_CREATE], "yes") && strcmp(v[K_CREATE], "no")) {
		snprintf(err, errlen, "'%s' is not yes or no", v[K_CREATE]);
		return *bad = K_CREATE, -1;
	}
	if (!name_ok(v[K_PREFIX], 1)) {
		snprintf(err, errlen, "'%s' is not tokens of A-Z, a-z, 0-9, _ and - joined by dots",
			 v[K_PREFIX]);
		return *bad = K_PREFIX, -1;
	}
	if (v[K_HOST][0] && !name_ok(v[K_HOST], 0)) {
		snprintf(err, errlen, "'%s' is not one subject token (A-Z, a-z, 0-9, _ and -)",
			 v[K_HOST]);
		return *bad = K_HOST, -1;
	}
	if ((tls || v[K_CERT][0] || v[K_KEY][0] || v[K_SNI][0]) && !v[K_CA][0]) {
		snprintf(err, errlen, "TLS (a tls:// url, a client certificate or tls_server_name) "
			 "needs ca_file: the printer reads no system store (for a public CA, name "
			 "/etc/ssl/certs/ca-certificates.crt)");
		return *bad = K_CA, -1;
	}
	if (!v[K_CERT][0] != !v[K_KEY][0]) {
		snprintf(err, errlen, "cert_file and key_file go together");
		return *bad = v[K_CERT][0] ? K_KEY : K_CERT, -1;
	}
	if (!!v[K_TOKEN][0] + !!v[K_CREDS][0] + !!v[K_SEED][0] > 1) {
		snprintf(err, errlen, "one of token_file, creds_file and nkey_seed_file");
		return *bad = v[K_TOKEN][0] ? K_TOKEN : K_CREDS, -1;
	}
	if (!v[K_NKEY][0] != !v[K_SEED][0]) {
		snprintf(err, errlen, "nkey (the public key) and nkey_seed_file go together");
		return *bad = v[K_NKEY][0] ? K_SEED : K_NKEY, -1;
	}
	if (v[K_NKEY][0] && (strlen(v[K_NKEY]) != 56 || v[K_NKEY][0] != 'U')) {
		snprintf(err, errlen, "'%s' is not a user's public nkey (56 characters, U...)",
			 v[K_NKEY]);
		return *bad = K_NKEY, -1;
	}
	/* a credential over nats:// travels in clear text, and so does every
	 * event after it: only to this host itself */
	if ((v[K_TOKEN][0] || v[K_CREDS][0] || v[K_SEED][0]) && sc.clear[0]) {
		snprintf(err, errlen, "nats://%.200s is not a loopback address: %s would cross the "
			 "network in clear text, and the events too; use tls:// (with ca_file)",
			 sc.clear, v[K_TOKEN][0] ? "the token" : v[K_CREDS][0] ? "the credentials"
								 : "the nkey's signature");
		return *bad = K_URL, -1;
	}
	if (prn_outbox_check(v + K_OUTBOX, bad, err, errlen) < 0)
		return *bad += K_OUTBOX, -1;
	return 0;
}

const struct jb_settings_def prn_nats_settings = {nats_keys, K_NKEYS, nats_check};

int prn_nats_creds_parse(const char *buf, size_t len, char *jwt, size_t jwtlen, char *seed,
			 size_t seedlen)
{
	/* the .creds layout nsc writes: a JWT block, then a seed block, each
	 * a "-----BEGIN ...-----" line, the value on the next line that is not
	 * empty, an "------END ...------" line */
	const char *p = buf, *end = buf + len;
	int want = 0; /* 1: the JWT's line next, 2: the seed's */
	int got = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);

		while (l && (p[l - 1] == '\r' || p[l - 1] == ' '))
			l--;
		if (l >= 10 && !strncmp(p, "-----BEGIN", 10)) {
			want = memmem(p, l, "JWT", 3) ? 1 : memmem(p, l, "SEED", 4) ? 2 : 0;
		} else if (l && want) {
			char *to = want == 1 ? jwt : seed;
			size_t cap = want == 1 ? jwtlen : seedlen;

			if (l >= cap || (got & want))
				return -1;
			for (size_t i = 0; i < l; i++)
				if (p[i] <= ' ' || p[i] > '~')
					return -1;
			memcpy(to, p, l);
			to[l] = '\0';
			got |= want;
			want = 0;
		}
		p = nl ? nl + 1 : end;
	}
	return got == 3 ? 0 : -1;
}

void prn_nats_token(char *to, size_t cap, const char *s)
{
	size_t n = 0;

	for (; s && *s && n + 1 < cap && n < 64; s++)
		to[n++] = token_char(*s) ? *s : '_';
	if (!n)
		to[n++] = '_';
	to[n] = '\0';
}

/* --- the child ------------------------------------------------------------------ */

#define SERVERS_MAX 64
#define NOTES_MAX 8	/* log lines a thread left for the loop; more are counted */

/* A batch handed to the driver thread: its own copy of everything. */
struct job {
	uint64_t token;
	size_t n;
	char (*ids)[72];
	char (*subj)[400];
	size_t *off, *len;
	char *buf;
};

static struct {
	const struct jb_settings *set;
	struct prn_nats_url urls[PRN_NATS_URLS_MAX];
	int nurls;
	char *servers[SERVERS_MAX];
	int nservers, named;	/* named: some url names a host (re-resolved by a restart) */
	char sni[254], host[65], prefix[129], stream[65];
	int tls, create;
	uint64_t dupwin_s, maxage_s, ack_ms, reconnect_ms;
	struct prn_spool *spool;
	struct prn_outbox *ob;
	int efd;
	struct event *ev;
	int was_up;
	uint64_t next_ensure, down_since;
	char jwt[4096], seed[256];
	natsOptions *opts;	/* made on the loop's thread, used and freed by the driver */
	pthread_t driver;
	/* the driver's own: only it calls libnats (connect, stream, publish) */
	natsConnection *nc;
	jsCtx *js;
	char refused[200];	/* the last reason for no connection it logged */
	/* shared with the driver and libnats' threads, under mu */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	atomic_int up;		/* connected now */
	atomic_int started;	/* the driver's connect returned: nc and js are there */
	atomic_int stream_ok;	/* the stream was found (or made) since the last failure */
	atomic_int closed;	/* libnats gave the connection up (an auth error, twice) */
	int want_stream;	/* the loop asks the driver to check the stream */
	struct job *job;	/* the next batch for the driver */
	struct {
		int level;
		char text[300];
	} notes[NOTES_MAX];
	int nnotes, notes_lost;
	char fatal[300];	/* the driver cannot go on: the loop ends the printer */
	struct {
		int active, done, ok, dups;
		uint64_t token;
		size_t n, left, hint;
		/* the messages of the current send: an acknowledgement counts
		 * only for one of these (libnats hands back the very message
		 * published), never for its id alone, which a resend of the
		 * same lines repeats */
		natsMsg **msgs;
		unsigned char *acked;
		char why[160];
	} fl;
	uint64_t duplicates;
} N = {.efd = -1, .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void wake(void)
{
	uint64_t one = 1;

	if (write(N.efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_stderr("nats: cannot wake the loop");
}

/* A log line from a thread other than the loop's (the log goes through
 * the IPC peer, which only the loop's thread may use): kept for on_wake. */
static void note(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(int level, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&N.mu);
	if (N.nnotes < NOTES_MAX) {
		va_start(ap, fmt);
		vsnprintf(N.notes[N.nnotes].text, sizeof(N.notes[0].text), fmt, ap);
		va_end(ap);
		N.notes[N.nnotes++].level = level;
	} else {
		N.notes_lost++;
	}
	pthread_mutex_unlock(&N.mu);
	wake();
}

static const char *set_str(const char *key)
{
	const char *v = jb_settings_get(N.set, key, NULL);

	return v ? v : "";
}

static uint64_t set_num(const char *key, uint64_t dflt)
{
	uint64_t v;

	return jb_settings_u64(N.set, key, &v) < 0 ? dflt : v;
}

static int keep_url(void *arg, const struct prn_nats_url *u)
{
	if (!N.sni[0] && N.nurls == 0)
		snprintf(N.sni, sizeof(N.sni), "%s", u->host);
	jb_landlock_allow_connect(u->port); /* the only TCP ports it may reach */
	N.urls[N.nurls++] = *u; /* each_url stops at PRN_NATS_URLS_MAX */
	return 0;
}

/* Resolve u into addresses libnats connects to (as the kind's uid). */
static void add_server(const struct prn_nats_url *u)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL, *a;
	char port[8], addr[INET6_ADDRSTRLEN];
	int rc, numeric;

	snprintf(port, sizeof(port), "%u", u->port);
	hints.ai_flags = AI_NUMERICHOST;
	numeric = getaddrinfo(u->host, port, &hints, &ai) == 0;
	if (!numeric) {
		N.named = 1;
		hints.ai_flags = 0;
		if ((rc = getaddrinfo(u->host, port, &hints, &ai)) != 0) {
			/* not fatal: the spool keeps everything, and a restart
			 * resolves again (start says so) */
			log_warnx("nats: %s: %s", u->host, gai_strerror(rc));
			return;
		}
	}
	for (a = ai; a && N.nservers < SERVERS_MAX; a = a->ai_next) {
		char *s;
		const void *in = a->ai_family == AF_INET6
					 ? (const void *)&((struct sockaddr_in6 *)a->ai_addr)->sin6_addr
					 : (const void *)&((struct sockaddr_in *)a->ai_addr)->sin_addr;

		if ((a->ai_family != AF_INET && a->ai_family != AF_INET6) ||
		    !inet_ntop(a->ai_family, in, addr, sizeof(addr)))
			continue;
		if (asprintf(&s, a->ai_family == AF_INET6 ? "%s://[%s]:%u" : "%s://%s:%u",
			     u->tls ? "tls" : "nats", addr, u->port) < 0)
			break;
		N.servers[N.nservers++] = s;
	}
	freeaddrinfo(ai);
}

/* As root, before anything is dropped: only what the supervisor handed
 * over (the settings, fd 4) and the url list, parsed, not resolved. */
static int nats_setup(char *err, size_t errlen)
{
	struct utsname un;
	char hostps[PRV_PSEUDO_MAX];
	const char *h;

	N.set = prn_settings();
	if (!N.set) {
		snprintf(err, errlen, "nats: no settings");
		return -1;
	}
	if (fcntl(JB_CHILD_AUX_FD, F_GETFD) < 0) {
		snprintf(err, errlen, "nats: fd %d is not the spool directory", JB_CHILD_AUX_FD);
		return -1;
	}
	snprintf(N.sni, sizeof(N.sni), "%s", set_str("tls_server_name"));
	if (each_url(set_str("url"), keep_url, NULL, err, errlen) < 0)
		return -1;
	N.tls = set_str("ca_file")[0] != '\0';
	for (int i = 0; i < N.nurls; i++)
		N.tls |= N.urls[i].tls;
	h = set_str("host");
	if (!h[0] && uname(&un) == 0) {
		const struct prv_policy *prv = prn_privacy();

		h = un.nodename;
		if (prv && (prv->fields & PRV_HOSTS)) {
			/* the subject travels with every message: under a policy
			 * with hosts, the node name is the events' hostname
			 * (gethostname) and gets the same pseudonym */
			prv_pseudonym(prv->key, "host", un.nodename, hostps);
			h = hostps;
		}
	}
	prn_nats_token(N.host, sizeof(N.host), h);
	snprintf(N.prefix, sizeof(N.prefix), "%s", set_str("subject_prefix"));
	snprintf(N.stream, sizeof(N.stream), "%s", set_str("stream"));
	N.create = !strcmp(set_str("create_stream"), "yes");
	N.dupwin_s = set_num("duplicate_window_s", 3600);
	N.maxage_s = set_num("stream_max_age_s", 604800);
	N.ack_ms = set_num("ack_timeout_ms", 5000);
	N.reconnect_ms = set_num("reconnect_wait_ms", 1000);
	if (set_str("creds_file")[0]) {
		size_t len;
		const char *c = jb_settings_get(N.set, "creds_file", &len);

		if (prn_nats_creds_parse(c, len, N.jwt, sizeof(N.jwt), N.seed, sizeof(N.seed)) < 0) {
			snprintf(err, errlen, "nats: creds_file: not a user JWT and a seed block");
			return -1;
		}
	}
	N.efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (N.efd < 0) {
		snprintf(err, errlen, "nats: eventfd: %s", strerror(errno));
		return -1;
	}
	/* a TLS write to a server that went away must fail, not kill us
	 * (OpenSSL writes with write(2), not send(MSG_NOSIGNAL)) */
	signal(SIGPIPE, SIG_IGN);
	return JB_CHILD_AUX_FD;
}

/* As the kind's uid, before Landlock and seccomp: what reads the system's
 * files (world-readable ones: resolv.conf, hosts, nsswitch.conf,
 * openssl.cnf) is done without root. */
static int nats_init_as_kind(char *err, size_t errlen)
{
	/* OpenSSL reads its configuration file on first use: now, while
	 * open() is allowed (libnats' TLS is OpenSSL) */
	if (N.tls && OPENSSL_init_ssl(OPENSSL_INIT_LOAD_CONFIG, NULL) != 1) {
		snprintf(err, errlen, "nats: OpenSSL cannot start");
		return -1;
	}
	for (int i = 0; i < N.nurls; i++)
		add_server(&N.urls[i]);
	return 0;
}

/* As the kind's uid (its spool directory is 0700, its own), before seccomp. */
static int nats_owned(char *err, size_t errlen)
{
	N.spool = prn_outbox_spool_open("nats", JB_CHILD_AUX_FD, N.set, err, errlen);
	return N.spool ? 0 : -1;
}

static int nats_flush(int fd)
{
	return 0; /* never called: lines go through take */
}

/* --- libnats' threads: only the shared block and the eventfd ------------------ */

static void on_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure)
{
	pthread_mutex_lock(&N.mu);
	if (N.fl.active) {
		size_t i = 0, k;

		/* one of the current send's messages, not yet acknowledged; an
		 * older send's (its batch timed out and was sent again) is not
		 * in msgs: a late answer to it changes nothing */
		for (k = 0; k < N.fl.n; k++) {
			i = (N.fl.hint + k) % N.fl.n;
			if (!N.fl.acked[i] && N.fl.msgs[i] == msg)
				break;
		}
		if (k < N.fl.n) {
			N.fl.acked[i] = 1;
			N.fl.hint = i + 1;
			if (pa) {
				N.fl.dups += pa->Duplicate;
				if (--N.fl.left == 0) {
					N.fl.active = 0;
					N.fl.done = 1;
					N.fl.ok = 1;
				}
			} else {
				snprintf(N.fl.why, sizeof(N.fl.why), "publish: %s (%d)",
					 pae && pae->ErrText ? pae->ErrText
					     : natsStatus_GetText(pae ? pae->Err : NATS_ERR),
					 pae ? (int)pae->ErrCode : 0);
				N.fl.active = 0;
				N.fl.done = 1;
				N.fl.ok = 0;
			}
			if (N.fl.done)
				wake();
		}
	}
	pthread_mutex_unlock(&N.mu);
	natsMsg_Destroy(msg);
}

static void on_up(natsConnection *nc, void *closure)
{
	atomic_store(&N.up, 1);
	wake();
}

static void on_down(natsConnection *nc, void *closure)
{
	atomic_store(&N.up, 0);
	atomic_store(&N.stream_ok, 0);
	wake();
}

/* libnats closes the connection for good when a server refuses the same
 * credentials twice: a fresh printer (the supervisor's back-off between
 * tries) is the only way on. On libnats' callback thread. */
static void on_closed(natsConnection *nc, void *closure)
{
	const char *e = NULL;

	if (natsConnection_GetLastError(nc, &e) != NATS_OK && e && e[0])
		note(LOG_L_WARN, "nats: the connection is given up: %.190s", e);
	atomic_store(&N.up, 0);
	atomic_store(&N.stream_ok, 0);
	atomic_store(&N.closed, 1);
	wake();
}

static natsStatus on_jwt(char **jwt, char **errtxt, void *closure)
{
	return (*jwt = strdup(N.jwt)) ? NATS_OK : NATS_NO_MEMORY;
}

static natsStatus on_sign(char **errtxt, unsigned char **sig, int *siglen, const char *nonce,
			  void *closure)
{
	return nats_Sign(N.seed, nonce, sig, siglen);
}

/* --- the driver thread: every blocking libnats call ----------------------------- */

static const char *nats_err(natsStatus s)
{
	const char *e = nats_GetLastError(NULL);

	return e ? e : natsStatus_GetText(s);
}

/* While no server is connected: why, when libnats knows (a certificate
 * refused, credentials refused), each new reason once; libnats retries
 * without a word. The driver's thread only: the lock this takes is held
 * by libnats' reconnect thread through a whole connect attempt. */
static void why_down(void)
{
	const char *e = NULL;
	char now[sizeof(N.refused)];

	if (natsConnection_GetLastError(N.nc, &e) == NATS_OK || !e || !e[0])
		return;
	/* bounded: the buffer is libnats', its next attempt may rewrite it */
	snprintf(now, sizeof(now), "%.190s", e);
	if (strcmp(now, N.refused)) {
		memcpy(N.refused, now, sizeof(now));
		note(LOG_L_WARN, "nats: cannot connect: %s: detections wait in the spool", now);
	}
}

/* The stream is there (made when create_stream = yes). May block up to
 * twice ack_timeout_ms: on the driver thread only. 0 or -1. */
static int ensure_stream(void)
{
	jsStreamInfo *si = NULL;
	jsErrCode jerr = 0;
	jsOptions o;
	natsStatus s;
	char subj[160];
	const char *subjs[1] = {subj};

	jsOptions_Init(&o);
	o.Wait = (int64_t)N.ack_ms;
	if (N.create) {
		jsStreamConfig sc;

		jsStreamConfig_Init(&sc);
		snprintf(subj, sizeof(subj), "%s.>", N.prefix);
		sc.Name = N.stream;
		sc.Subjects = subjs;
		sc.SubjectsLen = 1;
		sc.Storage = js_FileStorage;
		sc.Duplicates = (int64_t)N.dupwin_s * 1000000000ll;
		sc.MaxAge = (int64_t)N.maxage_s * 1000000000ll;
		s = js_AddStream(&si, N.js, &sc, &o, &jerr);
		if (s != NATS_OK && jerr == JSStreamNameExistErr) {
			/* made by someone else, maybe with other limits: use it */
			jerr = 0;
			s = js_GetStreamInfo(&si, N.js, N.stream, &o, &jerr);
		}
	} else {
		s = js_GetStreamInfo(&si, N.js, N.stream, &o, &jerr);
	}
	if (s != NATS_OK) {
		note(LOG_L_WARN, "nats: stream %s: %s%s (%d); detections wait in the spool",
		     N.stream, nats_err(s),
		     jerr == JSStreamNotFoundErr && !N.create ? " and create_stream = no" : "",
		     (int)jerr);
		return -1;
	}
	if (si && si->Config && si->Config->Duplicates < (int64_t)N.dupwin_s * 1000000000ll)
		note(LOG_L_WARN, "nats: stream %s keeps message ids %lld s, less than "
		     "duplicate_window_s %llu: a repeat after a longer outage is not dropped",
		     N.stream, (long long)(si->Config->Duplicates / 1000000000ll),
		     (unsigned long long)N.dupwin_s);
	jsStreamInfo_Destroy(si);
	note(LOG_L_INFO, "nats: stream %s ready", N.stream);
	return 0;
}

static void job_free(struct job *j)
{
	if (!j)
		return;
	free(j->ids);
	free(j->subj);
	free(j->off);
	free(j->len);
	free(j->buf);
	free(j);
}

/* This send failed before every message was out (unless a newer one
 * replaced it meanwhile). */
static void send_failed(uint64_t token, const char *why)
{
	pthread_mutex_lock(&N.mu);
	if (N.fl.active && N.fl.token == token) {
		snprintf(N.fl.why, sizeof(N.fl.why), "%s", why);
		N.fl.active = 0;
		N.fl.done = 1;
		N.fl.ok = 0;
		wake();
	}
	pthread_mutex_unlock(&N.mu);
}

/* Publish a batch's messages; stops when a newer send replaced it. A
 * publish can block (a full socket buffer, the connection's lock held by
 * a reconnect): here, not on the loop's thread. */
static void publish(struct job *j)
{
	for (size_t i = 0; i < j->n; i++) {
		natsMsg *m = NULL;
		jsPubOptions po;
		natsStatus s;
		int current;

		jsPubOptions_Init(&po);
		po.MsgId = j->ids[i];
		po.MaxWait = (int64_t)N.ack_ms;
		s = natsMsg_Create(&m, j->subj[i], NULL, j->buf + j->off[i], (int)j->len[i]);
		if (s != NATS_OK) {
			send_failed(j->token, "publish: no memory");
			return;
		}
		/* recorded before it is out: its answer may come first */
		pthread_mutex_lock(&N.mu);
		current = N.fl.active && N.fl.token == j->token;
		if (current)
			N.fl.msgs[i] = m;
		pthread_mutex_unlock(&N.mu);
		if (!current) {
			natsMsg_Destroy(m);
			return;
		}
		s = js_PublishMsgAsync(N.js, &m, &po);
		if (s != NATS_OK) {
			char why[160];

			pthread_mutex_lock(&N.mu);
			if (N.fl.active && N.fl.token == j->token)
				N.fl.msgs[i] = NULL; /* still ours, and about to go */
			pthread_mutex_unlock(&N.mu);
			natsMsg_Destroy(m);
			snprintf(why, sizeof(why), "publish: %s", nats_err(s));
			atomic_store(&N.stream_ok, 0);
			send_failed(j->token, why);
			return;
		}
	}
}

static void *drive(void *arg)
{
	jsOptions jo;
	natsStatus s;

	/* libnats tries each address once, up to 2 s each; until one
	 * answers, we sweep again after reconnect_wait_ms, saying why when
	 * the reason changes (a refused certificate or credential: libnats'
	 * own retry on a failed connect loses the server after a refused
	 * handshake and closes for good, 3.4.1). Once connected, libnats
	 * reconnects by itself. */
	for (int sweep = 0;; sweep++) {
		char why[sizeof(N.refused)];

		s = natsConnection_Connect(&N.nc, N.opts);
		if (s == NATS_OK)
			break;
		snprintf(why, sizeof(why), "%.190s", nats_err(s));
		if (sweep == 0 || strcmp(why, N.refused))
			note(LOG_L_WARN, "nats: no server reachable yet (%s, ...): %s: detections "
			     "wait in the spool", N.servers[0], why);
		memcpy(N.refused, why, sizeof(why));
		nats_Sleep((int64_t)N.reconnect_ms);
	}
	N.refused[0] = '\0';
	natsOptions_Destroy(N.opts);
	N.opts = NULL;
	atomic_store(&N.up, 1);
	jsOptions_Init(&jo);
	jo.Wait = (int64_t)N.ack_ms;
	jo.PublishAsync.AckHandler = on_ack;
	if (natsConnection_JetStream(&N.js, N.nc, &jo) != NATS_OK) {
		pthread_mutex_lock(&N.mu);
		snprintf(N.fatal, sizeof(N.fatal), "nats: cannot make a JetStream context");
		pthread_mutex_unlock(&N.mu);
		wake();
		return NULL;
	}
	atomic_store(&N.started, 1);
	wake();
	for (;;) {
		struct job *j;
		int check;

		pthread_mutex_lock(&N.mu);
		while (!N.want_stream && !N.job && atomic_load(&N.up))
			pthread_cond_wait(&N.cv, &N.mu);
		if (!N.want_stream && !N.job) {
			/* down: a look at why once a second */
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec++;
			pthread_cond_timedwait(&N.cv, &N.mu, &ts);
		}
		check = N.want_stream;
		N.want_stream = 0;
		j = N.job;
		N.job = NULL;
		pthread_mutex_unlock(&N.mu);
		if (!atomic_load(&N.up))
			why_down();
		else
			N.refused[0] = '\0'; /* the same reason after a later outage is news */
		if (check && atomic_load(&N.up)) {
			atomic_store(&N.stream_ok, ensure_stream() == 0);
			wake();
		}
		if (j)
			publish(j);
		job_free(j);
	}
	return NULL;
}

/* --- the loop's thread ------------------------------------------------------------ */

static int tr_ready(void *arg)
{
	uint64_t now = mono_ms();

	if (!atomic_load(&N.started) || !atomic_load(&N.up)) {
		atomic_store(&N.stream_ok, 0);
		if (!N.down_since)
			N.down_since = now;
		/* the names were resolved at start: after a minute without a
		 * server, a fresh printer resolves them again (everything
		 * acknowledged is in the spool; the rest the supervisor has) */
		if (N.named && now - N.down_since > 60000) {
			log_warnx("nats: no server for 60 s: restarting to resolve the names again");
			exit(1);
		}
		return 0;
	}
	N.down_since = 0;
	if (!atomic_load(&N.stream_ok) && now >= N.next_ensure) {
		/* the driver checks it; on_wake kicks the outbox after */
		pthread_mutex_lock(&N.mu);
		N.want_stream = 1;
		pthread_cond_signal(&N.cv);
		pthread_mutex_unlock(&N.mu);
		N.next_ensure = now + 2000;
	}
	return atomic_load(&N.stream_ok);
}

/* The message id of a line: its event's uuid, or the SHA-256 of the line. */
static void msg_id(json_t *j, const char *line, size_t len, char *id, size_t cap)
{
	const char *u = json_string_value(json_object_get(j, "uuid"));
	unsigned char md[SHA256_DIGEST_LENGTH];

	if (u && strlen(u) < cap && strlen(u) > 0) {
		snprintf(id, cap, "%s", u);
		return;
	}
	SHA256((const unsigned char *)line, len, md);
	snprintf(id, cap, "sha256-");
	for (size_t i = 0; i < 16 && 7 + 2 * i + 2 < cap; i++)
		snprintf(id + 7 + 2 * i, cap - 7 - 2 * i, "%02x", md[i]);
}

/* The batch as a job for the driver (ids, subjects, its own copy of the
 * lines); it replaces any job the driver has not taken yet. */
static int tr_send(void *arg, const struct prn_batch *b, uint64_t token)
{
	const char *p = b->buf, *end = b->buf + b->len;
	size_t i, cap = b->lines ? b->lines : 1;
	struct job *j = calloc(1, sizeof(*j));
	natsMsg **msgs = calloc(cap, sizeof(*msgs));
	unsigned char *acked = calloc(cap, 1);

	if (j) {
		j->ids = calloc(cap, sizeof(*j->ids));
		j->subj = calloc(cap, sizeof(*j->subj));
		j->off = calloc(cap, sizeof(*j->off));
		j->len = calloc(cap, sizeof(*j->len));
		j->buf = malloc(b->len ? b->len : 1);
	}
	if (!j || !j->ids || !j->subj || !j->off || !j->len || !j->buf || !msgs || !acked) {
		job_free(j);
		free(msgs);
		free(acked);
		return -1;
	}
	memcpy(j->buf, b->buf, b->len);
	j->token = token;
	for (i = 0; p < end && i < b->lines; i++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		json_t *js = json_loadb(p, len, 0, NULL);
		char mech[65], kind[65];

		msg_id(js, p, len, j->ids[i], sizeof(j->ids[i]));
		prn_nats_token(mech, sizeof(mech), json_string_value(json_object_get(js, "mechanism")));
		prn_nats_token(kind, sizeof(kind), json_string_value(json_object_get(js, "kind")));
		json_decref(js);
		snprintf(j->subj[i], sizeof(j->subj[i]), "%s.%s.%s.%s", N.prefix, N.host, mech, kind);
		j->off[i] = (size_t)(p - b->buf);
		j->len[i] = len;
		p += len + 1;
	}
	j->n = i;
	pthread_mutex_lock(&N.mu);
	free(N.fl.msgs);
	free(N.fl.acked);
	N.fl.msgs = msgs;
	N.fl.acked = acked;
	N.fl.n = N.fl.left = i;
	N.fl.hint = 0;
	N.fl.token = token;
	N.fl.active = i > 0;
	N.fl.done = i == 0; /* nothing to publish: done at once (on_wake) */
	N.fl.ok = 1;
	N.fl.dups = 0;
	job_free(N.job);
	N.job = i ? j : NULL;
	if (i)
		pthread_cond_signal(&N.cv);
	pthread_mutex_unlock(&N.mu);
	if (!i) {
		job_free(j);
		wake();
	}
	return 0;
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
	uint64_t v;
	int done = 0, ok = 0, dups = 0, nnotes, lost;
	uint64_t token = 0;
	char why[160] = "", fatal[300];
	struct {
		int level;
		char text[300];
	} notes[NOTES_MAX];

	if (read(N.efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		fatal("nats: eventfd");
	pthread_mutex_lock(&N.mu);
	nnotes = N.nnotes;
	lost = N.notes_lost;
	memcpy(notes, N.notes, sizeof(notes[0]) * (size_t)nnotes);
	N.nnotes = N.notes_lost = 0;
	memcpy(fatal, N.fatal, sizeof(fatal));
	if (N.fl.done) {
		done = 1;
		ok = N.fl.ok;
		dups = N.fl.dups;
		token = N.fl.token;
		memcpy(why, N.fl.why, sizeof(why));
		N.fl.done = 0;
	}
	pthread_mutex_unlock(&N.mu);
	for (int i = 0; i < nnotes; i++)
		if (notes[i].level == LOG_L_WARN)
			log_warnx("%s", notes[i].text);
		else
			log_info("%s", notes[i].text);
	if (lost)
		log_warnx("nats: %d more log lines of its threads were dropped", lost);
	if (fatal[0])
		fatalx("%s", fatal);
	if (atomic_load(&N.closed)) {
		/* everything acknowledged is in the spool; the rest the
		 * supervisor has and hands to the next printer */
		log_warnx("nats: libnats gave the connection up: a fresh printer tries again");
		exit(1);
	}
	if (atomic_load(&N.up) != N.was_up) {
		N.was_up = !N.was_up;
		if (N.was_up)
			log_info("nats: connected");
		else
			log_warnx("nats: disconnected: detections wait in memory, then in the spool");
	}
	if (done) {
		if (dups) {
			N.duplicates += (uint64_t)dups;
			log_debug("nats: %d repeats dropped by the server (%llu in all)", dups,
				  (unsigned long long)N.duplicates);
		}
		if (!ok)
			atomic_store(&N.stream_ok, 0); /* a missing stream answers "no responders" */
		/* every failure is retried: a missing stream, a stream at its
		 * limits or a server away is the operator's to mend, and the
		 * spool's bound (its oldest dropped, reported) is what limits
		 * the wait; JetStream has no answer that says "this message,
		 * never" */
		prn_outbox_done(N.ob, token, ok ? PRN_SENT_OK : PRN_SENT_RETRY, 0, why);
	}
	prn_outbox_kick(N.ob);
}

static void ack_line(void *arg, uint64_t seq)
{
	prn_acknowledge(seq);
}

/* On CONFIG, confined: the outbox, libnats' options, then the driver
 * thread, which connects. Nothing here blocks: READY follows at once,
 * whatever the servers do. */
static int nats_start(struct event_base *base, char *err, size_t errlen)
{
	struct prn_outbox_conf c = {
		.name = "nats",
		.send_timeout_ms = (uint32_t)N.ack_ms + 1000,
		.dead_dirfd = -1, /* nothing is refused for good (on_wake) */
	};
	struct prn_transport t = {tr_ready, tr_send, NULL};
	natsOptions *o = NULL;
	natsStatus s;
	size_t len;
	const char *v;
	int rc;

	if (prn_outbox_conf_read(N.set, &c, err, errlen) < 0)
		return -1;
	N.ob = prn_outbox_new(base, N.spool, &c, &t, ack_line, NULL);
	N.ev = event_new(base, N.efd, EV_READ | EV_PERSIST, on_wake, NULL);
	if (!N.ob || !N.ev || event_add(N.ev, NULL) < 0) {
		snprintf(err, errlen, "nats: cannot set up the outbox");
		return -1;
	}
	if (!N.nservers) {
		log_warnx("nats: no server address (see above): detections wait in the spool");
		return 0;
	}
	s = nats_Open(-1);
	if (s == NATS_OK)
		s = natsOptions_Create(&o);
	if (s == NATS_OK)
		s = natsOptions_SetServers(o, (const char **)N.servers, N.nservers);
	if (s == NATS_OK)
		s = natsOptions_SetName(o, "jibril");
	if (s == NATS_OK)
		s = natsOptions_SetMaxReconnect(o, -1);
	if (s == NATS_OK)
		s = natsOptions_SetReconnectWait(o, (int64_t)N.reconnect_ms);
	if (s == NATS_OK)
		s = natsOptions_SetTimeout(o, 2000);
	if (s == NATS_OK)
		s = natsOptions_SetPingInterval(o, 10000);
	if (s == NATS_OK)
		s = natsOptions_SetMaxPingsOut(o, 2);
	if (s == NATS_OK)
		s = natsOptions_SetIgnoreDiscoveredServers(o, true); /* names we cannot resolve */
	if (s == NATS_OK)
		s = natsOptions_SetReconnectedCB(o, on_up, NULL);
	if (s == NATS_OK)
		s = natsOptions_SetDisconnectedCB(o, on_down, NULL);
	if (s == NATS_OK)
		s = natsOptions_SetClosedCB(o, on_closed, NULL);
	if (s == NATS_OK && N.tls) {
		s = natsOptions_SetSecure(o, true);
		if (s == NATS_OK)
			s = natsOptions_SetCATrustedCertificates(o, set_str("ca_file"));
		if (s == NATS_OK && N.sni[0])
			s = natsOptions_SetExpectedHostname(o, N.sni);
		if (s == NATS_OK && set_str("cert_file")[0])
			s = natsOptions_SetCertificatesChain(o, set_str("cert_file"),
							     set_str("key_file"));
	}
	if (s == NATS_OK && (v = jb_settings_get(N.set, "token_file", &len)) && len) {
		char tok[4097];

		/* one line: the trailing newline an editor leaves is not the token's */
		while (len && (v[len - 1] == '\n' || v[len - 1] == '\r'))
			len--;
		snprintf(tok, sizeof(tok), "%.*s", (int)len, v);
		s = natsOptions_SetToken(o, tok);
		explicit_bzero(tok, sizeof(tok));
	}
	if (s == NATS_OK && N.jwt[0])
		s = natsOptions_SetUserCredentialsCallbacks(o, on_jwt, NULL, on_sign, NULL);
	if (s == NATS_OK && set_str("nkey")[0]) {
		size_t sl;
		const char *seed = jb_settings_get(N.set, "nkey_seed_file", &sl);

		while (sl && (seed[sl - 1] == '\n' || seed[sl - 1] == '\r' || seed[sl - 1] == ' '))
			sl--;
		snprintf(N.seed, sizeof(N.seed), "%.*s", (int)sl, seed);
		s = natsOptions_SetNKey(o, set_str("nkey"), on_sign, NULL);
	}
	if (s != NATS_OK)
		fatalx("nats: options: %s", nats_err(s));
	N.opts = o;
	/* after confinement: the thread inherits seccomp and no_new_privs */
	rc = pthread_create(&N.driver, NULL, drive, NULL);
	if (rc != 0) {
		snprintf(err, errlen, "nats: cannot start its thread: %s", strerror(rc));
		return -1;
	}
	return 0;
}

static void nats_take(uint64_t seq, const char *line, size_t len)
{
	prn_outbox_take(N.ob, seq, line, len);
}

static void nats_figures(struct prn_figures *f)
{
	prn_outbox_figures(N.ob, N.spool, f);
}

const struct prn_output prn_nats = {
	.figures = nats_figures,
	.setup = nats_setup,
	.flush = nats_flush,
	.start = nats_start,
	.take = nats_take,
	.init_as_kind = nats_init_as_kind,
	.setup_as_kind = nats_owned,
};
