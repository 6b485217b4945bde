/*
 * spawn.c - start one child of a slot's kind: socketpair, stderr pipe,
 * fork, lay out the descriptors, execute the kind's binary (OpenBSD
 * re-exec rule: a fresh address space, nothing of the supervisor's memory;
 * and only the libraries of its kinds: kinds.c) through the descriptor
 * bins.c opened at start; and read what the child writes to stderr into
 * the supervisor's log.
 *
 * Invariants:
 *  - the child gets exactly: fd 0 /dev/null; fd 1 the operator's stdout if
 *    its row says so (the stdout printer), else /dev/null; fd 2 the write
 *    end of a pipe only this supervisor reads; fd 3 its IPC socket; fd 4
 *    its row's aux descriptor (the read-only snapshot, an output file, the
 *    kind's own directory, the exporter's listening socket) or nothing; fd 5 the sealed memfd of its
 *    settings when its row has its own section (common/settings.h), or a
 *    printer pseudonymises ([privacy]: supervisor/privacy.c). Everything else is closed before the exec. A compromised
 *    child cannot write into the operator's stream or the supervisor's
 *    log file: what it writes to stderr goes through childlog.c like its
 *    IPC_LOG lines (prefixed with its kind and pid, made printable, rate
 *    limited); a NUL in it hides nothing.
 *  - the child's oom_score_adj is SUP_OOM_ADJ_CHILD (startup.c), set before
 *    the exec: it would otherwise inherit the supervisor's.
 *  - both pipe ends are non-blocking: a child never blocks on stderr, and
 *    the supervisor never blocks reading it.
 *  - the child moves into its kind's cgroups (supervisor/cgroup.c) first
 *    thing after the fork, so what it allocates from then on is charged to
 *    them and held to its limits; one that cannot does not run.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/child.h"
#include "common/settings.h"
#include "common/log.h"
#include "self.h"
#include "sup.h"
#include "supervisor/cgroup.h"

#define PEER_QUEUE_CAP 4096

static char *const child_env[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", NULL};

/* Runs in the forked child: lay out the fds and execute the kind's binary. */
static void __attribute__((noreturn)) child_exec(struct sup *s, struct sup_proc *p, int sock,
						 int err_w)
{
	char gen[32], lvl[8], uid[16], err[PATH_MAX + 128];
	int aux = -1, set = -1, out, devnull, bin, last;
	sigset_t none;

	if (sup_cgroup_join(s, p->kind, err, sizeof(err)) < 0) {
		/* the pipe is read into the log as this child's stderr */
		dprintf(err_w, "%s\n", err);
		_exit(127);
	}
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* not the supervisor's -900 (startup.c): a child is what the OOM killer
	 * should pick; raising it needs no privilege */
	if (sup_self_oom_adj(SUP_OOM_ADJ_CHILD) < 0)
		_exit(127);
	/* SIGUSR1 stays ignored through the exec: `pkill -USR1 -f jibril`
	 * (meant for the supervisor: logrotate) must not end a child before
	 * it ignores it itself (common/child.c) */
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, sig == SIGUSR1 ? SIG_IGN : SIG_DFL);
	/* move everything we keep above the target numbers first */
	sock = fcntl(sock, F_DUPFD_CLOEXEC, 10);
	err_w = fcntl(err_w, F_DUPFD_CLOEXEC, 10);
	out = p->kind->operator_stdout ? fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 10)
				       : open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (p->kind->aux == JB_AUX_SNAPSHOT)
		aux = fcntl(s->snap_ro_fd, F_DUPFD_CLOEXEC, 10);
	else if (p->kind->aux == JB_AUX_OUTPUT || p->kind->aux == JB_AUX_DIR ||
		 p->kind->aux == JB_AUX_LISTEN)
		aux = fcntl(p->aux_fd, F_DUPFD_CLOEXEC, 10);
	if (p->set_fd >= 0) /* its settings, or [privacy]'s key (procs.c) */
		set = fcntl(p->set_fd, F_DUPFD_CLOEXEC, 10);
	devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	/* what is executed: the file bins.c opened at start, whatever the path
	 * holds now (close-on-exec: it is gone once the exec is done) */
	bin = fcntl(s->bin_fd[p->kind->bin], F_DUPFD_CLOEXEC, 10);
	if (sock < 0 || err_w < 0 || out < 0 || devnull < 0 || bin < 0 || (p->kind->aux && aux < 0) ||
	    (p->set_fd >= 0 && set < 0))
		_exit(127);
	if (dup2(devnull, 0) < 0 || dup2(out, 1) < 0 || dup2(err_w, 2) < 0 ||
	    dup2(sock, JB_CHILD_IPC_FD) < 0 || (aux >= 0 && dup2(aux, JB_CHILD_AUX_FD) < 0) ||
	    (set >= 0 && dup2(set, JB_CHILD_SETTINGS_FD) < 0))
		_exit(127);
	if (set >= 0 && aux < 0) /* no fd 4 between them: keep the numbers fixed */
		close(JB_CHILD_AUX_FD);
	last = set >= 0 ? JB_CHILD_SETTINGS_FD : aux >= 0 ? JB_CHILD_AUX_FD : JB_CHILD_IPC_FD;
	close_range((unsigned)last + 1, (unsigned)bin - 1, 0); /* bin >= 10 > last */
	close_range((unsigned)bin + 1, ~0U, 0);
	snprintf(gen, sizeof(gen), "%llu", (unsigned long long)p->generation);
	snprintf(lvl, sizeof(lvl), "%d", log_getlevel());
	snprintf(uid, sizeof(uid), "%u", (unsigned)p->uid);
	/* an environment of its own, not the supervisor's: nothing the agent
	 * was started with (LD_PRELOAD, HTTPS_PROXY, OPENSSL_CONF, systemd's
	 * NOTIFY_SOCKET) reaches a child; none reads a variable of its own */
	char *argv[] = {(char *)jb_bin_names[p->kind->bin], "--role",
			(char *)ipc_role_name(p->kind->role), "--kind", (char *)p->kind->name,
			"--generation", gen, "--uid", uid, "--log-level", lvl, NULL};
	execveat(bin, "", argv, child_env, AT_EMPTY_PATH);
	dprintf(2, "cannot execute %s: %s\n", jb_bin_names[p->kind->bin], strerror(errno));
	_exit(127);
}

static void err_read(evutil_socket_t fd, short what, void *arg)
{
	struct sup_proc *p = arg;

	for (int rounds = 0; rounds < 16; rounds++) {
		ssize_t n = read(p->err_fd, p->err_buf + p->err_len,
				 sizeof(p->err_buf) - 1 - p->err_len);
		char *nl, *start;

		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			/* EOF: every writer is gone */
			if (p->err_len) {
				p->err_buf[p->err_len] = '\0';
				sup_child_log(p, LOG_L_WARN, "stderr", p->err_buf);
				p->err_len = 0;
			}
			if (p->err_ev)
				event_del(p->err_ev);
			return;
		}
		if (n < 0)
			return;
		/* a NUL must not hide what follows it */
		for (char *c = p->err_buf + p->err_len; c < p->err_buf + p->err_len + n; c++)
			if (!*c)
				*c = '?';
		p->err_len += (size_t)n;
		p->err_buf[p->err_len] = '\0';
		start = p->err_buf;
		while ((nl = memchr(start, '\n', p->err_len - (size_t)(start - p->err_buf)))) {
			*nl = '\0';
			sup_child_log(p, LOG_L_WARN, "stderr", start);
			start = nl + 1;
		}
		p->err_len -= (size_t)(start - p->err_buf);
		memmove(p->err_buf, start, p->err_len);
		if (p->err_len == sizeof(p->err_buf) - 1) {
			/* a line longer than the buffer: log it in pieces */
			p->err_buf[p->err_len] = '\0';
			sup_child_log(p, LOG_L_WARN, "stderr", p->err_buf);
			p->err_len = 0;
		}
	}
}

void sup_spawn_stderr_close(struct sup_proc *p)
{
	if (p->err_fd < 0)
		return;
	err_read(p->err_fd, EV_READ, p); /* what is left in the pipe */
	if (p->err_ev)
		event_free(p->err_ev);
	p->err_ev = NULL;
	close(p->err_fd);
	p->err_fd = -1;
	p->err_len = 0;
}

int sup_spawn(struct sup *s, struct sup_proc *p)
{
	int sv[2], ep[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		log_warn("%s: socketpair", p->kind->name);
		return -1;
	}
	if (pipe2(ep, O_CLOEXEC | O_NONBLOCK) < 0) {
		log_warn("%s: pipe", p->kind->name);
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	p->generation++;
	pid = fork();
	if (pid < 0) {
		log_warn("%s: fork", p->kind->name);
		close(sv[0]);
		close(sv[1]);
		close(ep[0]);
		close(ep[1]);
		return -1;
	}
	if (pid == 0) {
		close(sv[0]);
		close(ep[0]);
		child_exec(s, p, sv[1], ep[1]);
	}
	close(sv[1]);
	close(ep[1]);
	p->pid = pid;
	/* the kernel knows it is the agent's since the fork; now its kind */
	jb_self_child(s->bpf, pid, (uint32_t)(p->kind - s->kinds));
	p->reaped = 0;
	sup_child_log_start(p, pid);
	p->err_fd = ep[0];
	p->err_len = 0;
	p->err_ev = event_new(s->base, ep[0], EV_READ | EV_PERSIST, err_read, p);
	if (!p->err_ev || event_add(p->err_ev, NULL) < 0)
		log_warnx("%s[%d]: cannot watch its stderr", p->kind->name, (int)pid);
	p->peer = ipc_peer_new(s->base, sv[0], p->kind->role, pid, p->generation, PEER_QUEUE_CAP,
			       sup_proc_dispatch, p);
	if (!p->peer)
		close(sv[0]); /* proc_start kills the child at once */
	return 0;
}
