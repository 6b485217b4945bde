/*
 * exporter.h - the metrics and health exporter: a child of its own kind
 * that serves /metrics (Prometheus text format 0.0.4) and /healthz over
 * HTTP on a socket the supervisor bound and hands it as fd 4, from the
 * status document (supervisor/status.h) the supervisor sends it as
 * IPC_STATUS after every cadence. It opens nothing itself.
 *
 * listen.c: its section of jibril.conf and the listen address;
 * doc.c: the document, parsed and checked (input from another process);
 * metrics.c: the exposition text; health.c: the /healthz verdict;
 * exporter.c: the child (evhttp on fd 4, IPC).
 */
#ifndef JB_EXPORTER_H
#define JB_EXPORTER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <jansson.h>

#include "common/kind.h"

/* [exporter]: listen (empty: off), allow_non_loopback, healthz_backoff_ms */
extern const struct jb_settings_def exp_settings;
enum { EXP_K_LISTEN, EXP_K_ALLOW, EXP_K_BACKOFF, EXP_K_N };

/* "127.0.0.1:9464", "[::1]:9464": an address and a port (1..65535), no
 * name (nothing is resolved). 0 with *ss filled, or -1 with a sentence. */
int exp_listen_parse(const char *text, struct sockaddr_storage *ss, socklen_t *len, char *err,
		     size_t errlen);
/* 1 when the address is a loopback one (127.0.0.0/8, ::1, ::ffff:127.x). */
int exp_addr_loopback(const struct sockaddr_storage *ss);

/* The document (supervisor/status.h), checked: a JSON object of at most
 * max bytes whose "version" is 1 and whose "agent" holds the integers the
 * exporter needs. A new reference, or NULL with a sentence in err. */
json_t *exp_doc_parse(const char *text, size_t len, char *err, size_t errlen);

/* The exposition text of doc at the exporter's CLOCK_MONOTONIC now_ms
 * (doc NULL: before the first document: the build info and jibril_up 0
 * alone), malloc'd and NUL-terminated, its length in *len; NULL when out
 * of memory. Every name and label follows Prometheus' rules whatever the
 * document holds; a malformed part is left out. */
char *exp_metrics_render(const json_t *doc, uint64_t now_ms, const char *version, size_t *len);
/* The i-th metric family exp_metrics_render can emit, NULL past the last
 * (docs/METRICS.md lists the same set: check_exporter compares them). */
const char *exp_metric_name(size_t i);

/* Is text valid exposition as this exporter promises it (lint.c: names,
 * labels, escapes, a TYPE before every sample, counters in _total)? 0, or
 * -1 with "line N: why". For the tests and the fuzz harness. */
int exp_metrics_lint(const char *text, size_t len, char *err, size_t errlen);

/* 1 when doc was built within two cadences (at least EXP_FRESH_MIN_MS) of
 * now_ms: the supervisor's loop is alive. */
#define EXP_FRESH_MIN_MS 1000
int exp_doc_fresh(const json_t *doc, uint64_t now_ms);

/* /healthz: 1 (healthy, reason "ok") or 0 with a one-line reason, for doc
 * received at the exporter's CLOCK_MONOTONIC now_ms (doc NULL: none yet). */
int exp_health(const json_t *doc, uint64_t now_ms, uint64_t backoff_limit_ms, char *reason,
	       size_t len);

/* The child's entry point (the row's entry): never returns. */
void exp_main(const struct jb_kind *k, const struct jb_child_args *a) __attribute__((noreturn));

#endif
