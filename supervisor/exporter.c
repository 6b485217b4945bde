/*
 * exporter.c - the supervisor's side of the exporter kind: the listening
 * socket it binds at start-up, and the status document it pushes to the
 * exporter after every cadence and when one becomes READY.
 *
 * Invariants:
 *  - the socket is bound before anything loads (main.c): an address this
 *    host lacks, or a privileged port, stops start-up with jibril.conf:LINE;
 *    a port in use does not: any local user may bind a port above 1024,
 *    and one who took ours while no supervisor ran (at boot, in the gap of
 *    a restart after a crash) would otherwise keep the agent from ever
 *    starting (exit 78: systemd does not retry). The agent then runs
 *    without its exporter (no slot, procs.c), and says so with the line.
 *    Once bound, the socket is kept for the agent's life and every
 *    exporter gets a copy as fd 4, so a restarted exporter answers on the
 *    same port at once and never opens a socket itself;
 *  - the document goes only to READY exporters; one that cannot take it
 *    (its queue full) misses that one and gets the next: it ages, and the
 *    exporter says so on /healthz. A document over IPC_MAX_STR is not
 *    sent (logged once): the exporter then reports the supervisor silent
 *    rather than figures cut short.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "exporter/exporter.h"
#include "supervisor/exporter.h"
#include "supervisor/status.h"
#include "sup.h"

#define EXP_BACKLOG 128

int sup_exporter_listen(struct sup *s, const char *conf_path, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t len;
	const char *text;
	int line = 0, fd, one = 1;
	size_t r;

	s->exp_listen_fd = -1;
	if (s->kinds != jb_kinds)
		return 0; /* a test's own table: no sections of its own */
	for (r = 0; r < s->nkinds; r++)
		if (s->kinds[r].aux == JB_AUX_LISTEN && jb_config_kind_enabled(&s->cfg, &s->kinds[r]))
			break;
	if (r == s->nkinds)
		return 0; /* no exporter */
	text = jb_config_setting(&s->cfg, r, EXP_K_LISTEN, &line);
	if (!text || exp_listen_parse(text, &ss, &len, err, errlen) < 0)
		return -1; /* config.c refused it already */
	/* non-blocking: the exporter's accept loop must end when no client
	 * waits (the flag belongs to the socket, which every copy shares) */
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(err, errlen, "%s:%d: [exporter] listen: socket: %s", conf_path, line,
			 strerror(errno));
		return -1;
	}
	/* a restart of the agent rebinds at once (connections in TIME_WAIT) */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, EXP_BACKLOG) < 0) {
		int e = errno;

		if (e == EADDRINUSE) {
			log_warnx("%s:%d: [exporter] listen: cannot listen on %s: %s (another "
				  "program, or another jibril, listens there): the agent runs "
				  "without its exporter (no /metrics, no /healthz) until a start "
				  "finds the port free; stop what holds it, or choose another port",
				  conf_path, line, text, strerror(e));
			close(fd);
			return 0;
		}
		snprintf(err, errlen, "%s:%d: [exporter] listen: cannot listen on %s: %s%s", conf_path,
			 line, text, strerror(e),
			 e == EADDRNOTAVAIL ? " (no interface of this host has that address)"
			 : e == EACCES ? " (a port below 1024 needs privilege: choose another)"
				       : "");
		close(fd);
		return -1;
	}
	s->exp_listen_fd = fd;
	log_info("exporter: listening on %s (/metrics, /healthz)", text);
	return 0;
}

void sup_exporter_close(struct sup *s)
{
	if (s->exp_listen_fd >= 0)
		close(s->exp_listen_fd);
	s->exp_listen_fd = -1;
}

int sup_exporter_aux(struct sup *s)
{
	return s->exp_listen_fd >= 0 ? fcntl(s->exp_listen_fd, F_DUPFD_CLOEXEC, 3) : -1;
}

static void send_to(struct sup_proc *p, const char *json, size_t len)
{
	static char buf[IPC_MAX_MSG];
	int n;

	if (!p->peer || p->state != ST_READY)
		return;
	n = ipc_enc_status(buf, sizeof(buf), json, len);
	if (n < 0) {
		static int said;

		if (!said++)
			log_warnx("exporter: the status document (%zu bytes) exceeds one message "
				  "(%d): not sent, /healthz will call the supervisor silent",
				  len, IPC_MAX_STR);
		return;
	}
	if (ipc_peer_send(p->peer, buf, (size_t)n) < 0)
		log_debug("%s[%d]: its queue is full: this status document skipped",
			  p->kind->name, (int)p->pid);
}

/* one document for every READY exporter (or just only, when not NULL) */
static void push(struct sup *s, struct sup_proc *only)
{
	char *json = NULL;
	size_t len = 0;

	for (int i = 0; i < s->nprocs; i++) {
		struct sup_proc *p = &s->procs[i];

		if ((only && p != only) || p->kind->role != IPC_ROLE_EXPORTER || p->state != ST_READY)
			continue;
		if (!json && !(json = sup_status_json(s, &len))) {
			log_warnx("exporter: cannot build the status document (out of memory)");
			return;
		}
		send_to(p, json, len);
	}
	free(json);
}

void sup_exporter_push(struct sup *s)
{
	push(s, NULL);
}

static void exporter_ready(struct sup *s, struct sup_proc *p)
{
	push(s, p);
}

const struct sup_hooks sup_exporter_hooks = {
	.ready = exporter_ready,
};
