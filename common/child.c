/*
 * child.c - bring-up and event loop of every sandboxed child.
 *
 * Order (each step fatal): role setup (open/map what it needs) -> rlimits
 * -> event base and IPC peer -> the kind's own uid/gid, no capabilities ->
 * no_new_privs -> what the kind's uid sets up itself (a network printer:
 * name resolution and its TLS library, which read world-readable system
 * files, and its own spool directory) -> Landlock (the kind's paths and
 * ports: beneath its directory at most) -> seccomp (the kind's policy) ->
 * HELLO -> CONFIG -> READY -> loop.
 *
 * Invariants:
 *  - the child only ever talks to the supervisor over fd 3; if that goes
 *    away (EOF, error, a malformed message) the child exits: a supervisor
 *    that restarts will spawn a fresh one.
 *  - heartbeats come from a timer in this loop, so a child that is stuck
 *    in its work (or stopped) misses them and is replaced.
 *  - log lines go to the supervisor as IPC_LOG while the peer is up.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sysexits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "common/child.h"
#include "common/log.h"
#include "common/sandbox.h"
#include "ipc/peer.h"

static struct event_base *base;
static struct ipc_peer *sup_peer;
static const struct jb_child_ops *ops;
static uint64_t my_gen;
static struct event *beat_ev;
static int configured;
static uint64_t beat_every_ns, last_beat_ns;
static pid_t sup_pid; /* getppid() is not in the allow-list */

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct event_base *jb_child_base(void)
{
	return base;
}

int jb_child_send(const void *buf, size_t len)
{
	if (!sup_peer)
		return -1;
	return ipc_peer_send(sup_peer, buf, len);
}

int jb_child_send_wait(const void *buf, size_t len)
{
	if (jb_child_send(buf, len) == 0)
		return 0;
	if (!sup_peer)
		return -1;
	ipc_peer_flush(sup_peer, 2000);
	return jb_child_send(buf, len);
}

/* Write out what is queued for the supervisor (waiting up to 2 s). */
static void jb_child_flush(void)
{
	if (sup_peer)
		ipc_peer_flush(sup_peer, 2000);
}

void jb_child_fault(const char *what)
{
	static const unsigned char junk[] = {0xc1, 0x00, 0xff};
	static const char forged[] = "{\"kind\":\"forged\"}\n";

	log_warnx("fault hook: %s", what);
	jb_child_flush(); /* the log line first: the child may not live on */
	if (!strcmp(what, "sigsys")) {
		syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
	} else if (!strcmp(what, "write-stdout")) {
		if (write(STDOUT_FILENO, forged, sizeof(forged) - 1) >= 0)
			log_warnx("fault hook: the write to fd 1 was allowed");
	} else if (!strcmp(what, "write-ipc")) {
		if (write(JB_CHILD_IPC_FD, junk, sizeof(junk)) >= 0)
			log_warnx("fault hook: the write to the IPC socket was allowed");
	} else if (!strcmp(what, "signal-parent")) {
		syscall(SYS_tgkill, sup_pid, sup_pid, SIGCONT);
	} else if (!strcmp(what, "kill-self")) {
		/* would pass for a kill from outside, which does not back off */
		syscall(SYS_tgkill, getpid(), (pid_t)syscall(SYS_gettid), SIGKILL);
	} else if (!strcmp(what, "open")) {
		int fd = openat(AT_FDCWD, "/etc/hostname", O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			log_warn("fault hook: open refused");
		else
			log_warnx("fault hook: open was allowed");
	} else if (!strcmp(what, "open-abs")) {
		/* with fd 4 as dirfd (which seccomp lets a network printer
		 * use), paths that leave it: Landlock's to refuse */
		static const char *const paths[] = {"/etc/hostname", "../.."};

		for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
			int fd = openat(JB_CHILD_AUX_FD, paths[i], O_RDONLY | O_CLOEXEC);

			if (fd < 0)
				log_warn("fault hook: open-abs %s refused", paths[i]);
			else
				log_warnx("fault hook: open-abs %s was allowed", paths[i]);
		}
	} else if (!strcmp(what, "proc-mem")) {
		/* its own memory, writable: would rewrite its code */
		int fd = openat(JB_CHILD_AUX_FD, "/proc/self/mem", O_RDWR | O_CLOEXEC);

		if (fd < 0)
			log_warn("fault hook: proc-mem refused");
		else
			log_warnx("fault hook: proc-mem was allowed");
	} else if (!strcmp(what, "garbage")) {
		jb_child_send(junk, sizeof(junk));
	} else if (!strcmp(what, "hang")) {
		for (;;)
			poll(NULL, 0, -1);
	} else if (!strcmp(what, "crash")) {
		abort();
	} else if (!strcmp(what, "alloc")) {
		/* a leak that keeps heartbeating: only its memory limit stops it */
		for (size_t mib = 0;; mib++) {
			char *m = malloc(1 << 20);

			if (!m) {
				log_warnx("fault hook: malloc failed after %zu MiB", mib);
				return;
			}
			memset(m, (int)(mib | 1), 1 << 20);
			__asm__ volatile("" : : "r"(m) : "memory"); /* kept: never freed */
			jb_child_beat_if_due();
		}
	} else if (!strcmp(what, "spin")) {
		/* busy, not hung: 3 s of wall time burnt in short slices, with
		 * heartbeats between them; its CPU share is what it gets */
		uint64_t end = mono_ns() + 3000000000ull;
		volatile uint64_t x = 0;

		while (mono_ns() < end) {
			for (int i = 0; i < 100000; i++)
				x += (uint64_t)i;
			jb_child_beat_if_due();
		}
		log_warnx("fault hook: spin done");
	} else if (!strcmp(what, "forkloop")) {
		/* the sandbox allows no fork or clone: SIGSYS at the first; in a
		 * SECCOMP_LOG build, pids.max is the wall behind it */
		for (int n = 0;; n++) {
			pid_t pid = fork();

			if (pid == 0)
				for (;;)
					poll(NULL, 0, -1);
			if (pid < 0) {
				log_warn("fault hook: fork refused after %d children", n);
				return;
			}
		}
	}
}

static void log_to_sup(int level, const char *line)
{
	char buf[1400];
	int n = ipc_enc_log(buf, sizeof(buf), (uint64_t)level, line);

	if (n < 0 || jb_child_send(buf, (size_t)n) < 0) {
		/* fall back to stderr, the pipe the supervisor reads (one
		 * write: stdio would need syscalls the sandbox refuses) */
		log_stderr(line);
	}
}

static void send_beat(evutil_socket_t fd, short what, void *arg)
{
	uint64_t processed = 0, detections = 0;
	char buf[64];
	int n;

	if (ops->counters)
		ops->counters(&processed, &detections);
	n = ipc_enc_heartbeat(buf, sizeof(buf), processed, detections);
	if (n > 0 && jb_child_send(buf, (size_t)n) == 0)
		last_beat_ns = mono_ns();
}

void jb_child_beat_if_due(void)
{
	if (beat_every_ns && mono_ns() - last_beat_ns >= beat_every_ns)
		send_beat(-1, 0, NULL);
}

static void on_sup(struct ipc_peer *p, const struct ipc_msg *m, void *arg)
{
	if (!m) {
		/* supervisor gone or spoke nonsense: nothing left to do */
		log_set_sink(NULL);
		if (p->violation)
			log_warnx("bad message from the supervisor: %s", p->why);
		exit(p->violation ? 1 : 0);
	}
	if (m->type == IPC_CONFIG) {
		struct timeval tv;
		char buf[32];
		int n;

		if (configured || m->u.config.generation != my_gen) {
			log_set_sink(NULL);
			log_warnx("unexpected CONFIG");
			exit(1);
		}
		configured = 1;
		if (ops->on_config)
			ops->on_config(m);
		tv.tv_sec = m->u.config.heartbeat_ms / 1000;
		tv.tv_usec = (m->u.config.heartbeat_ms % 1000) * 1000;
		beat_every_ns = m->u.config.heartbeat_ms * 1000000ull;
		last_beat_ns = mono_ns();
		beat_ev = event_new(base, -1, EV_PERSIST, send_beat, NULL);
		if (!beat_ev || event_add(beat_ev, &tv) < 0)
			fatalx("cannot arm the heartbeat timer");
		n = ipc_enc_ready(buf, sizeof(buf));
		if (n < 0 || jb_child_send(buf, (size_t)n) < 0)
			fatalx("cannot send READY");
		if (ops->on_ready)
			ops->on_ready();
		return;
	}
	if (!configured) {
		log_set_sink(NULL);
		log_warnx("%s before CONFIG", ipc_msg_name(m->type));
		exit(1);
	}
	ops->on_message(m);
}

void jb_child_main(const struct jb_kind *k, const struct jb_child_ops *o,
		   const struct jb_child_args *a)
{
	char err[256], buf[256];
	pid_t ppid = getppid();
	int n, type;
	socklen_t tlen = sizeof(type);

	ops = o;
	sup_pid = ppid;
	/* Ctrl-C reaches the whole process group: only the supervisor decides
	 * when children stop (it sends SIGTERM) */
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	/* the supervisor's control signal (logrotate): a `pkill -USR1 -f
	 * jibril` reaches the children too, and must not end them */
	signal(SIGUSR1, SIG_IGN);
	{
		/* "jb-file_access" in ps/top instead of "exe" */
		char comm[16];
		snprintf(comm, sizeof(comm), "jb-%s", k->name);
		prctl(PR_SET_NAME, comm, 0, 0, 0);
	}
	my_gen = a->generation;
	if (getsockopt(JB_CHILD_IPC_FD, SOL_SOCKET, SO_TYPE, &type, &tlen) < 0 ||
	    type != SOCK_SEQPACKET)
		fatalx("fd %d is not the supervisor's socket: run jibril without --role",
		       JB_CHILD_IPC_FD);
	if (ops->setup && ops->setup(k, err, sizeof(err)) < 0) {
		log_warnx("%s", err);
		exit(EX_CONFIG);
	}
	/* libc reads /etc/localtime on first use of time conversion: do it
	 * now, while open() is still allowed */
	tzset();
	/* jansson seeds its hash from /dev/urandom on first use: same reason */
	json_object_seed(0);
	/* the ruleset needs a descriptor: before the rlimits leave no room */
	if (jb_sandbox_landlock_prepare(k->policy, err, sizeof(err)) < 0 ||
	    jb_sandbox_rlimits(k->max_fds ? k->max_fds : 8, err, sizeof(err)) < 0)
		fatalx("%s", err);
	base = event_base_new();
	if (!base)
		fatalx("event_base_new failed");
	sup_peer = ipc_peer_new(base, JB_CHILD_IPC_FD, IPC_ROLE_SUPERVISOR, ppid, a->generation,
				4096, on_sup, NULL);
	if (!sup_peer)
		fatalx("cannot set up the IPC peer");
	/* what the kind's uid sets up (a printer's name resolution and TLS
	 * library, which read world-readable system files, and its spool)
	 * comes before Landlock, which then leaves it no path but its own */
	if (jb_sandbox_drop_privs(a->uid, err, sizeof(err)) < 0 ||
	    (ops->setup_as_kind && ops->setup_as_kind(err, sizeof(err)) < 0) ||
	    jb_sandbox_landlock(k->policy, err, sizeof(err)) < 0 ||
	    jb_sandbox_seccomp(k->policy, err, sizeof(err)) < 0)
		fatalx("%s", err);
	log_set_sink(log_to_sup);
	n = ipc_enc_hello(buf, sizeof(buf), k->role, k->name, a->generation, (uint64_t)getpid());
	if (n < 0 || jb_child_send(buf, (size_t)n) < 0)
		fatalx("cannot send HELLO");
	event_base_dispatch(base);
	exit(0);
}
