/*
 * curlev.h - what the two curl printers (https.c, summary.c) share: an
 * https URL checked and split, its host resolved before confinement,
 * libcurl's multi interface driven by the child's libevent loop, and one
 * easy handle set up for TLS with verification always on.
 */
#ifndef JB_PRN_CURLEV_H
#define JB_PRN_CURLEV_H

#include <stddef.h>

#include <curl/curl.h>

struct event_base;
struct event;

/* 1 when url is an https:// URL with a host (the settings' check). */
int prn_curl_https_url(const char *url);

/* The endpoint of one printer: its URL split, its host's addresses. */
struct prn_curl_peer {
	const char *who;	/* log prefix: the kind's name */
	char *host, *port;
	int host_is_literal;	/* an IP address: nothing to resolve */
	int no_address;		/* resolving failed */
	struct curl_slist *resolve; /* "host:port:addr,..." for CURLOPT_RESOLVE */
};
/* As root, before anything else: the URL's host and port (the port is
 * allowed to Landlock's TCP connect). 0, or -1 with err. */
int prn_curl_peer_parse(struct prn_curl_peer *p, const char *who, const char *url, char *err,
			size_t errlen);
/* As the kind's uid, before confinement (resolv.conf and hosts are
 * world-readable): resolve the host; no address sets no_address and logs
 * why_next (what the printer does about it). */
void prn_curl_peer_resolve(struct prn_curl_peer *p, const char *why_next);

/* libcurl's multi interface on a libevent loop. */
struct prn_curl {
	CURLM *multi;
	struct event_base *base;
	struct event *timer;
	/* a transfer ended (rc CURLE_OK or why not); the handle is already
	 * removed from multi */
	void (*done)(void *arg, CURL *easy, CURLcode rc);
	void *arg;
};
/* As the kind's uid, before confinement: curl_global_init (OpenSSL reads
 * its configuration and seeds now) and the multi handle (its wake-up
 * socket pair). 0, or -1 with err. */
int prn_curl_init(struct prn_curl *c, const char *who, char *err, size_t errlen);
/* Confined, on CONFIG: drive it from base. 0, or -1. */
int prn_curl_start(struct prn_curl *c, struct event_base *base,
		   void (*done)(void *arg, CURL *easy, CURLcode rc), void *arg);
/* Start e (set up by the caller) on the loop: 0, or -1. */
int prn_curl_add(struct prn_curl *c, CURL *e);
/* Give up e before it ended (no done call). */
void prn_curl_remove(struct prn_curl *c, CURL *e);

/* A fresh set-up of e for one POST to url over TLS: https only, no
 * redirects, peer and host name verified against ca (the CA bundle the
 * supervisor read: no file opened), the peer's resolved addresses,
 * timeouts in ms, no signals. The caller adds headers, body and writer. */
void prn_curl_tls(CURL *e, const char *url, const struct curl_blob *ca,
		  const struct prn_curl_peer *p, long connect_ms, long timeout_ms);

#endif
