/*
 * curlev.c - libcurl for the printers that speak HTTPS (curlev.h): the
 * endpoint's URL and addresses, curl's multi-socket interface on the
 * child's libevent loop, and the TLS set-up of a request.
 *
 * Invariants:
 *  - https only (the URL is checked when the configuration is read and
 *    again by curl: CURLOPT_PROTOCOLS_STR), redirects never followed, peer
 *    and host name always verified, against the CA bundle the supervisor
 *    read (a blob: no file is opened after confinement);
 *  - the host is resolved as the kind's uid before confinement and handed
 *    to curl (CURLOPT_RESOLVE): curl resolves nothing later, and only the
 *    URL's port is open to Landlock's TCP connect;
 *  - nothing on the loop's thread waits on the network: curl's sockets and
 *    timer are libevent events, and a finished transfer is reported
 *    through done() from the loop.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/event.h>

#include "common/landlock.h"
#include "common/log.h"
#include "printers/curlev.h"

int prn_curl_https_url(const char *url)
{
	CURLU *u = curl_url();
	char *host = NULL, *scheme = NULL;
	int ok;

	if (!u)
		return 0;
	ok = strncmp(url, "https://", 8) == 0 && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	     curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK && !strcmp(scheme, "https") &&
	     curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && host[0];
	curl_free(host);
	curl_free(scheme);
	curl_url_cleanup(u);
	return ok;
}

int prn_curl_peer_parse(struct prn_curl_peer *p, const char *who, const char *url, char *err,
			size_t errlen)
{
	CURLU *u = curl_url();
	char *host = NULL, *port = NULL;
	unsigned char tmp[16];
	int rc = -1;

	p->who = who;
	if (!u || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
		snprintf(err, errlen, "%s: cannot parse url", who);
		goto out;
	}
	if (!(p->host = strdup(host)) || !(p->port = strdup(port))) {
		snprintf(err, errlen, "%s: out of memory", who);
		goto out;
	}
	p->host_is_literal = host[0] == '[' || inet_pton(AF_INET, host, tmp) == 1;
	jb_landlock_allow_connect((unsigned)strtoul(port, NULL, 10)); /* its one TCP port */
	rc = 0;
out:
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return rc;
}

void prn_curl_peer_resolve(struct prn_curl_peer *p, const char *why_next)
{
	char entry[1024], addr[INET6_ADDRSTRLEN];
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
	size_t o;
	int rc;

	if (p->host_is_literal)
		return; /* nothing to resolve */
	rc = getaddrinfo(p->host, p->port, &hints, &res);
	if (rc != 0) {
		log_warnx("%s: cannot resolve %s: %s: %s", p->who, p->host, gai_strerror(rc),
			  why_next);
		p->no_address = 1;
		return;
	}
	o = (size_t)snprintf(entry, sizeof(entry), "%s:%s:", p->host, p->port);
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
	p->resolve = curl_slist_append(NULL, entry);
	log_info("%s: %s resolved to %s", p->who, p->host,
		 entry + strlen(p->host) + strlen(p->port) + 2);
}

int prn_curl_init(struct prn_curl *c, const char *who, char *err, size_t errlen)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(err, errlen, "%s: curl_global_init failed", who);
		return -1;
	}
	c->multi = curl_multi_init(); /* its wake-up socket pair: made now */
	if (!c->multi) {
		snprintf(err, errlen, "%s: curl init failed", who);
		return -1;
	}
	return 0;
}

static void arm(struct event *ev, long ms)
{
	struct timeval tv = {.tv_sec = (time_t)(ms / 1000), .tv_usec = (suseconds_t)(ms % 1000) * 1000};

	evtimer_add(ev, &tv);
}

static void check_done(struct prn_curl *c)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(c->multi, &left))) {
		CURL *e = m->easy_handle;
		CURLcode rc = m->data.result;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_multi_remove_handle(c->multi, e);
		c->done(c->arg, e, rc);
	}
}

static void on_sock_event(evutil_socket_t fd, short what, void *arg)
{
	struct prn_curl *c = arg;
	int running, action = (what & EV_READ ? CURL_CSELECT_IN : 0) |
			      (what & EV_WRITE ? CURL_CSELECT_OUT : 0);

	curl_multi_socket_action(c->multi, fd, action, &running);
	check_done(c);
}

static int on_sock(CURL *e, curl_socket_t s, int what, void *userp, void *sockp)
{
	struct prn_curl *c = userp;
	struct event *ev = sockp;

	if (ev) {
		event_free(ev);
		curl_multi_assign(c->multi, s, NULL);
	}
	if (what == CURL_POLL_REMOVE)
		return 0;
	ev = event_new(c->base, s,
		       (what & CURL_POLL_IN ? EV_READ : 0) | (what & CURL_POLL_OUT ? EV_WRITE : 0) |
			       EV_PERSIST,
		       on_sock_event, c);
	if (!ev || event_add(ev, NULL) < 0)
		fatalx("curl: cannot watch a socket");
	curl_multi_assign(c->multi, s, ev);
	return 0;
}

static void on_curl_timer(evutil_socket_t fd, short what, void *arg)
{
	struct prn_curl *c = arg;
	int running;

	curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(c);
}

static int on_timer(CURLM *m, long ms, void *userp)
{
	struct prn_curl *c = userp;

	if (ms < 0)
		evtimer_del(c->timer);
	else
		arm(c->timer, ms);
	return 0;
}

int prn_curl_start(struct prn_curl *c, struct event_base *base,
		   void (*done)(void *arg, CURL *easy, CURLcode rc), void *arg)
{
	c->base = base;
	c->done = done;
	c->arg = arg;
	if (!(c->timer = evtimer_new(base, on_curl_timer, c)))
		return -1;
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_sock);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, 1L);
	return 0;
}

int prn_curl_add(struct prn_curl *c, CURL *e)
{
	return curl_multi_add_handle(c->multi, e) == CURLM_OK ? 0 : -1;
}

void prn_curl_remove(struct prn_curl *c, CURL *e)
{
	curl_multi_remove_handle(c->multi, e);
}

void prn_curl_tls(CURL *e, const char *url, const struct curl_blob *ca,
		  const struct prn_curl_peer *p, long connect_ms, long timeout_ms)
{
	curl_easy_reset(e);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	/* straight to the configured host: never a proxy named by an
	 * environment variable the agent inherited (HTTPS_PROXY, ALL_PROXY),
	 * which would see where the lines go and, with its own CA, them */
	curl_easy_setopt(e, CURLOPT_PROXY, "");
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(e, CURLOPT_CAINFO, NULL); /* the blob only: no file opened */
	curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
	curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, ca);
	curl_easy_setopt(e, CURLOPT_RESOLVE, p->resolve);
	curl_easy_setopt(e, CURLOPT_DNS_CACHE_TIMEOUT, -1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "jibril");
}
