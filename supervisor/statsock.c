/*
 * statsock.c - the status socket ([agent] status_socket): a UNIX stream
 * socket on which a root client (`jibril status`) gets the status
 * document (status.c) and then EOF. Nothing is read from a client.
 *
 * Invariants:
 *  - root only, twice: the socket is mode 0600 in a root directory no
 *    group or other may write (owner.c's walk), and a peer whose
 *    SO_PEERCRED uid is not 0 is closed unanswered (logged once per
 *    REFUSED_LOG_MS, the rest counted into the next line).
 *  - it never blocks the supervisor's loop: the listener and the clients
 *    are non-blocking; a client gets at most one document (bounded by
 *    the document's size), at most MAX_CLIENTS are served at once (more
 *    are closed unanswered), and one that does not read its answer within
 *    CLIENT_MS is cut off.
 *  - made at start-up before the privilege drop (it may mkdir under /run);
 *    accept, getsockopt, write and close are all it needs afterwards, and
 *    the supervisor's seccomp deny-list refuses none of them.
 *  - one agent per socket: a socket file some live process answers on is a
 *    start-up error ("another jibril is running"); one nobody answers on
 *    (a supervisor that crashed) is replaced. Anything but a socket there
 *    is refused, never removed. At exit the file is removed only if it is
 *    still the one we bound (same inode).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/log.h"
#include "supervisor/owner.h"
#include "supervisor/status.h"
#include "sup.h"

#define MAX_CLIENTS 8
#define CLIENT_MS 2000		/* a client must have read its answer by then */
#define REFUSED_LOG_MS 60000	/* refused peers: one log line per period */
#define ACCEPT_PER_TURN 16	/* connections taken per wake-up of the loop */

struct client {
	int fd;
	struct event *ev;
	char *doc;
	size_t len, off;
};

struct sup_statsock {
	int fd;
	struct event *ev;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t dev;
	ino_t ino;
	struct client c[MAX_CLIENTS];
	uint64_t refused, refused_logged_ms, busy;
};

static int fill_addr(struct sockaddr_un *sa, const char *path)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -1;
	memcpy(sa->sun_path, path, strlen(path) + 1);
	return 0;
}

/* 1 when some process accepts connections on path within 500 ms, 0 when
 * nobody does (refused, absent), -1 when it cannot tell (err). */
static int someone_answers(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	struct pollfd p;
	int fd, r, soerr = 0;
	socklen_t sl = sizeof(soerr);

	if (fill_addr(&sa, path) < 0)
		return 0;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	if (r < 0 && errno == EAGAIN) {
		/* its backlog is full: something is there, and busy */
		close(fd);
		return 1;
	}
	if (r < 0 && errno == EINPROGRESS) {
		p = (struct pollfd){.fd = fd, .events = POLLOUT};
		r = poll(&p, 1, 500) == 1 &&
				    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && !soerr
			    ? 0 : -1;
	}
	close(fd);
	return r == 0;
}

/* "CONF:LINE: [agent] status_socket: " into err; its length */
static int prefix(const struct sup *s, char *err, size_t errlen)
{
	int n = snprintf(err, errlen, "%s:%d: [agent] status_socket: ",
			 s->conf_path ? s->conf_path : "", s->cfg.status_socket_line);

	return n < 0 || (size_t)n >= errlen ? 0 : n;
}

int sup_statsock_open(struct sup *s, char *err, size_t errlen)
{
	const char *path = s->cfg.status_socket, *base, *slash = strrchr(path, '/');
	struct sup_statsock *ss = NULL;
	struct sockaddr_un sa;
	char dir[sizeof(sa.sun_path)], why[256];
	struct stat st;
	int dfd = -1, n;
	mode_t old;

	if (!path[0])
		return 0;
	n = prefix(s, err, errlen);
	if (fill_addr(&sa, path) < 0 || !slash || !slash[1]) {
		snprintf(err + n, errlen - (size_t)n, "%s: not a socket path of at most %zu bytes",
			 path, sizeof(sa.sun_path) - 1);
		return -1;
	}
	/* its directory: made root's 0700 if missing (the parent must be there) */
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	if (dir[0] && mkdir(dir, 0700) < 0 && errno != EEXIST) {
		snprintf(err + n, errlen - (size_t)n, "%s: cannot make it: %s", dir, strerror(errno));
		return -1;
	}
	/* root's all the way down, nobody else may write (owner.c) */
	dfd = sup_owner_parent(path, s->conf_path ? s->conf_path : "", s->cfg.status_socket_line,
			       "[agent] status_socket", &base, err, errlen);
	if (dfd < 0)
		return -1;
	n = prefix(s, err, errlen); /* the walk cleared err */
	if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err + n, errlen - (size_t)n, "%s: there is something that is not a "
				 "socket there: remove it, or choose another path", path);
			goto fail;
		}
		switch (someone_answers(path, why, sizeof(why))) {
		case 1:
			snprintf(err + n, errlen - (size_t)n, "%s: another jibril is running (it "
				 "answers on this socket): stop it first, or give this one another "
				 "status_socket", path);
			goto fail;
		case -1:
			snprintf(err + n, errlen - (size_t)n, "%s: %s", path, why);
			goto fail;
		}
		/* a supervisor that is gone left it */
		if (unlinkat(dfd, base, 0) < 0 && errno != ENOENT) {
			snprintf(err + n, errlen - (size_t)n, "%s: cannot remove the stale socket: %s",
				 path, strerror(errno));
			goto fail;
		}
		log_info("status socket %s: replaced a stale one (nothing answered on it)", path);
	}
	if (!(ss = calloc(1, sizeof(*ss)))) {
		snprintf(err + n, errlen - (size_t)n, "out of memory");
		goto fail;
	}
	for (int i = 0; i < MAX_CLIENTS; i++)
		ss->c[i].fd = -1;
	snprintf(ss->path, sizeof(ss->path), "%s", path);
	ss->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ss->fd < 0) {
		snprintf(err + n, errlen - (size_t)n, "socket: %s", strerror(errno));
		goto fail;
	}
	old = umask(0177); /* made 0600: nobody but root can connect even for a moment */
	if (bind(ss->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		umask(old);
		snprintf(err + n, errlen - (size_t)n, "%s: bind: %s", path, strerror(errno));
		goto fail;
	}
	umask(old);
	if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISSOCK(st.st_mode) ||
	    fchmodat(dfd, base, 0600, 0) < 0 || listen(ss->fd, MAX_CLIENTS) < 0) {
		snprintf(err + n, errlen - (size_t)n, "%s: %s", path, strerror(errno));
		unlinkat(dfd, base, 0);
		goto fail;
	}
	ss->dev = st.st_dev;
	ss->ino = st.st_ino;
	close(dfd);
	s->statsock = ss;
	err[0] = '\0';
	return 0;
fail:
	if (ss && ss->fd >= 0)
		close(ss->fd);
	free(ss);
	close(dfd);
	return -1;
}

static void client_end(struct client *c)
{
	if (c->ev)
		event_free(c->ev);
	if (c->fd >= 0)
		close(c->fd);
	free(c->doc);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

/* Write what the client can take; 1 when all of it is out. */
static int client_write(struct client *c)
{
	while (c->off < c->len) {
		ssize_t w = send(c->fd, c->doc + c->off, c->len - c->off, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (w <= 0)
			return -1; /* it went away: nothing more to do */
		c->off += (size_t)w;
	}
	return 1;
}

static void on_client(evutil_socket_t fd, short what, void *arg)
{
	struct client *c = arg;

	if (what & EV_TIMEOUT) {
		log_warnx("status socket: a client did not read its answer within %d ms: cut off",
			  CLIENT_MS);
		client_end(c);
		return;
	}
	if (client_write(c) != 0)
		client_end(c);
}

static void refused(struct sup *s, struct sup_statsock *ss, const char *why, uid_t uid)
{
	uint64_t now = sup_now_ms();

	ss->refused++;
	if (ss->refused_logged_ms && now < ss->refused_logged_ms + REFUSED_LOG_MS)
		return;
	log_warnx("status socket: closed a client unanswered (%s%s%u); %llu refused so far, "
		  "logged once a minute", why, uid != (uid_t)-1 ? ": uid " : "",
		  uid != (uid_t)-1 ? (unsigned)uid : 0, (unsigned long long)ss->refused);
	ss->refused_logged_ms = now;
}

static void serve(struct sup *s, struct sup_statsock *ss, int fd)
{
	struct timeval tv = {CLIENT_MS / 1000, (CLIENT_MS % 1000) * 1000};
	struct ucred cr;
	socklen_t len = sizeof(cr);
	struct client *c = NULL;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0 || len != sizeof(cr)) {
		refused(s, ss, "no peer credentials", (uid_t)-1);
		close(fd);
		return;
	}
	if (cr.uid != 0) {
		refused(s, ss, "not root", cr.uid);
		close(fd);
		return;
	}
	for (int i = 0; i < MAX_CLIENTS && !c; i++)
		if (ss->c[i].fd < 0)
			c = &ss->c[i];
	if (!c) {
		refused(s, ss, "too many clients at once", (uid_t)-1);
		close(fd);
		return;
	}
	c->fd = fd;
	if (!(c->doc = sup_status_json(s, &c->len))) {
		log_warnx("status socket: out of memory for the document");
		client_end(c);
		return;
	}
	c->doc[c->len++] = '\n'; /* over its NUL: one line */
	if (client_write(c) != 0) {
		client_end(c);
		return;
	}
	c->ev = event_new(s->base, fd, EV_WRITE | EV_PERSIST, on_client, c);
	if (!c->ev || event_add(c->ev, &tv) < 0)
		client_end(c);
}

static void on_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct sup *s = arg;
	struct sup_statsock *ss = s->statsock;

	for (int i = 0; i < ACCEPT_PER_TURN; i++) {
		int fd = accept4(ss->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
			    errno != ECONNABORTED)
				log_warn("status socket: accept");
			return;
		}
		serve(s, ss, fd);
	}
}

int sup_statsock_start(struct sup *s)
{
	struct sup_statsock *ss = s->statsock;

	if (!ss)
		return 0;
	ss->ev = event_new(s->base, ss->fd, EV_READ | EV_PERSIST, on_accept, s);
	if (!ss->ev || event_add(ss->ev, NULL) < 0)
		return -1;
	log_info("status socket: %s (root only)", ss->path);
	return 0;
}

void sup_statsock_close(struct sup *s)
{
	struct sup_statsock *ss = s->statsock;
	struct stat st;

	if (!ss)
		return;
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (ss->c[i].fd >= 0)
			client_end(&ss->c[i]);
	if (ss->ev)
		event_free(ss->ev);
	close(ss->fd);
	/* only ours: another agent may have replaced a file it found stale */
	if (lstat(ss->path, &st) == 0 && st.st_dev == ss->dev && st.st_ino == ss->ino)
		unlink(ss->path);
	free(ss);
	s->statsock = NULL;
}
