/*
 * status_cli.c - `jibril status [--json] [--conf FILE]`: asks the running
 * agent through its status socket (statsock.c) and prints the document
 * (status.h) as a table, or as it came with --json.
 *
 * Invariants:
 *  - root only (the socket is root's, and the agent answers uid 0 alone):
 *    said plainly rather than as a refused connection.
 *  - every wait is bounded (connect, then the whole answer, within
 *    STATUS_WAIT_MS) and the answer is bounded (ANSWER_MAX); no agent, a
 *    refusal, a timeout or an answer that is not the document each exit
 *    non-zero with one sentence that says which.
 *  - the table names every child and reads only what the schema promises;
 *    a key it does not know is ignored (an agent newer than this binary).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "supervisor/config.h"
#include "supervisor/status_cli.h"

#define STATUS_WAIT_MS 3000
#define ANSWER_MAX (8u << 20)

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The document from the agent at path (malloc'd), or NULL with why. */
static char *ask(const char *path, size_t *len, char *why, size_t whylen)
{
	uint64_t deadline = mono_ms() + STATUS_WAIT_MS;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t cap = 16384, n = 0;
	char *buf = NULL;
	int fd, soerr = 0;
	socklen_t sl = sizeof(soerr);
	struct pollfd p;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(why, whylen, "the path is too long for a UNIX socket");
		return NULL;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(why, whylen, "socket: %s", strerror(errno));
		return NULL;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno != EINPROGRESS && errno != EAGAIN) {
			snprintf(why, whylen, "%s", errno == ENOENT ? "no socket there: is jibril running?"
						  : errno == ECONNREFUSED
						  ? "connection refused: the agent that made it is gone"
						  : strerror(errno));
			goto fail;
		}
		p = (struct pollfd){.fd = fd, .events = POLLOUT};
		if (poll(&p, 1, STATUS_WAIT_MS) != 1 ||
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr) {
			snprintf(why, whylen, "%s", soerr ? strerror(soerr)
						  : "it did not accept the connection in time");
			goto fail;
		}
	}
	if (!(buf = malloc(cap)))
		goto nomem;
	for (;;) {
		int64_t left = (int64_t)(deadline - mono_ms());
		ssize_t r;

		if (n + 1 >= cap) {
			char *nb;

			if (cap >= ANSWER_MAX) {
				snprintf(why, whylen, "its answer is over %u bytes", ANSWER_MAX);
				goto fail;
			}
			if (!(nb = realloc(buf, cap *= 2)))
				goto nomem;
			buf = nb;
		}
		r = read(fd, buf + n, cap - n - 1);
		if (r > 0) {
			n += (size_t)r;
			continue;
		}
		if (r == 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN) {
			snprintf(why, whylen, "read: %s", strerror(errno));
			goto fail;
		}
		p = (struct pollfd){.fd = fd, .events = POLLIN};
		if (left <= 0 || poll(&p, 1, (int)left) == 0) {
			snprintf(why, whylen, "no answer within %d ms", STATUS_WAIT_MS);
			goto fail;
		}
	}
	close(fd);
	if (!n) {
		snprintf(why, whylen, "it closed the connection without an answer (not root?)");
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
nomem:
	snprintf(why, whylen, "out of memory");
fail:
	close(fd);
	free(buf);
	return NULL;
}

static uint64_t num(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_integer(v) && json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v)
							       : 0;
}

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "-";
}

static void duration(uint64_t s, char *out, size_t len)
{
	if (s >= 86400)
		snprintf(out, len, "%llud%02lluh", (unsigned long long)(s / 86400),
			 (unsigned long long)(s % 86400 / 3600));
	else if (s >= 3600)
		snprintf(out, len, "%lluh%02llum", (unsigned long long)(s / 3600),
			 (unsigned long long)(s % 3600 / 60));
	else
		snprintf(out, len, "%llum%02llus", (unsigned long long)(s / 60),
			 (unsigned long long)(s % 60));
}

static void table(json_t *doc, FILE *out)
{
	json_t *agent = json_object_get(doc, "agent"), *v, *r;
	uint64_t now = num(agent, "mono_ms"), last = num(agent, "last_cadence_mono_ms");
	uint64_t lost = 0;
	char up[32];
	size_t i, k;

	duration(num(agent, "uptime_s"), up, sizeof(up));
	fprintf(out, "jibril pid %llu on %s, up %s (since %s), cadence %llu ms, ",
		(unsigned long long)num(agent, "pid"), str(agent, "hostname"), up,
		str(agent, "started"), (unsigned long long)num(agent, "cadence_ms"));
	if (last)
		fprintf(out, "last query %.1f s ago", now > last ? (now - last) / 1000.0 : 0.0);
	else
		fprintf(out, "no query yet");
	fprintf(out, ", backend %s%s\n\n", str(json_object_get(agent, "bpf"), "backend"),
		json_is_true(json_object_get(agent, "stopping")) ? ", STOPPING" : "");

	fprintf(out, "%-12s %-8s %-9s %8s %5s %8s  %-16s %s\n", "KIND", "ROLE", "STATE", "PID", "GEN",
		"RESTARTS", "LAST HEARTBEAT", "WHY RESTARTED");
	json_array_foreach(json_object_get(doc, "children"), i, v) {
		char pid[24] = "-", beat[32] = "-", whys[160] = "";
		size_t wl = 0;
		json_t *b = json_object_get(v, "last_heartbeat_ms_ago");

		if (json_is_integer(json_object_get(v, "pid")))
			snprintf(pid, sizeof(pid), "%llu", (unsigned long long)num(v, "pid"));
		if (json_is_integer(b))
			snprintf(beat, sizeof(beat), "%.1f s ago", num(v, "last_heartbeat_ms_ago") / 1000.0);
		else if (num(v, "backoff_ms"))
			snprintf(beat, sizeof(beat), "back in %llu ms",
				 (unsigned long long)num(v, "backoff_ms"));
		json_array_foreach(json_object_get(doc, "restarts"), k, r) {
			int w;

			if (strcmp(str(r, "kind"), str(v, "kind")) || !num(r, "count"))
				continue;
			w = snprintf(whys + wl, sizeof(whys) - wl, "%s%s %llu", wl ? ", " : "",
				     str(r, "reason"), (unsigned long long)num(r, "count"));
			if (w > 0 && (size_t)w < sizeof(whys) - wl)
				wl += (size_t)w;
		}
		fprintf(out, "%-12s %-8s %-9s %8s %5llu %8llu  %-16s %s\n", str(v, "kind"),
			str(v, "role"), str(v, "state"), pid, (unsigned long long)num(v, "generation"),
			(unsigned long long)num(v, "restarts"), beat, whys);
	}

	fprintf(out, "\n%-14s %9s %9s %6s %10s\n", "MAP", "ENTRIES", "MAX", "FILL", "EVICTED");
	json_array_foreach(json_object_get(doc, "maps"), i, v) {
		uint64_t e = num(v, "entries"), m = num(v, "max_entries");

		fprintf(out, "%-14s %9llu %9llu %5.1f%% %10llu\n", str(v, "name"),
			(unsigned long long)e, (unsigned long long)m, m ? 100.0 * e / m : 0.0,
			(unsigned long long)num(v, "evictions"));
	}
	fprintf(out, "(entries at the last query; jb_files and jb_files_hot: an upper bound; "
		"evicted: before any query saw them)\n");

	fprintf(out, "\nloss:");
	json_array_foreach(json_object_get(doc, "kernel_loss"), i, v)
		lost += num(v, "count");
	fprintf(out, " kernel counters %llu", (unsigned long long)lost);
	k = 0;
	json_array_foreach(json_object_get(doc, "data_loss"), i, v) {
		fprintf(out, "%s %s/%s %llu", k++ ? "," : ";", str(v, "who"), str(v, "cause"),
			(unsigned long long)num(v, "count"));
	}
	if (!k)
		fprintf(out, "; no data_loss");
	fprintf(out, "\n");

	v = json_object_get(doc, "router");
	fprintf(out, "router backlog: %llu lines, %llu bytes\n\n",
		(unsigned long long)num(v, "backlog_lines"), (unsigned long long)num(v, "backlog_bytes"));
	fprintf(out, "%-12s %8s %8s %10s %8s %10s %9s %8s %8s\n", "PRINTER", "UNACKED", "QUEUED",
		"QUEUE B", "SPOOLED", "SPOOL B", "DELIVERED", "RETRIES", "REJECTED");
	json_array_foreach(json_object_get(doc, "printers"), i, v)
		fprintf(out, "%-12s %8llu %8llu %10llu %8llu %10llu %9llu %8llu %8llu\n",
			str(v, "kind"), (unsigned long long)num(v, "unacked_lines"),
			(unsigned long long)num(v, "queue_lines"),
			(unsigned long long)num(v, "queue_bytes"),
			(unsigned long long)num(v, "spool_lines"),
			(unsigned long long)num(v, "spool_bytes"),
			(unsigned long long)num(v, "delivered"), (unsigned long long)num(v, "retries"),
			(unsigned long long)num(v, "rejected"));
}

int sup_status_cli(const char *conf, const char *sock, int json, FILE *out)
{
	struct jb_config cfg;
	char err[1024], why[256];
	json_error_t jerr;
	json_t *doc;
	size_t len = 0;
	char *ans;

	if (geteuid() != 0) {
		fprintf(stderr, "jibril status: only root may ask the agent (its status socket is "
			"root's): run it as root\n");
		return EX_NOPERM;
	}
	if (!sock) {
		jb_config_defaults(&cfg);
		if (jb_config_load(&cfg, conf, err, sizeof(err)) < 0) {
			fprintf(stderr, "jibril status: %s\n", err);
			return EX_CONFIG;
		}
		if (!cfg.status_socket[0]) {
			fprintf(stderr, "jibril status: %s: [agent] status_socket is empty: the agent "
				"has no status socket\n", conf);
			return EX_CONFIG;
		}
		sock = cfg.status_socket;
	}
	if (!(ans = ask(sock, &len, why, sizeof(why)))) {
		fprintf(stderr, "jibril status: no agent answers on %s: %s\n", sock, why);
		return EX_UNAVAILABLE;
	}
	doc = json_loadb(ans, len, 0, &jerr);
	if (!json_is_object(doc) || !json_is_object(json_object_get(doc, "agent"))) {
		fprintf(stderr, "jibril status: %s: the answer is not a status document (%s)\n", sock,
			doc ? "not the schema" : jerr.text);
		json_decref(doc);
		free(ans);
		return EX_PROTOCOL;
	}
	if (json)
		fwrite(ans, 1, len, out);
	else
		table(doc, out);
	json_decref(doc);
	free(ans);
	return fflush(out) == 0 ? 0 : EX_IOERR;
}
