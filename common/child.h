/*
 * child.h - the runtime shared by every sandboxed child (workers and
 * printers): fixed fds, bring-up, handshake, heartbeats, the event loop.
 */
#ifndef JB_CHILD_H
#define JB_CHILD_H

#include <stddef.h>
#include <stdint.h>

#include "common/kind.h"
#include "ipc/msg.h"

/* The descriptors a child is started with (supervisor/spawn.c):
 * 0 /dev/null, 1 the operator's stdout (a kind whose row says so) or
 * /dev/null, 2 a pipe the supervisor reads and logs, 3 the IPC socket,
 * 4 the kind's aux descriptor (kind.h), nothing else. */
#define JB_CHILD_IPC_FD 3	/* SOCK_SEQPACKET to the supervisor */
#define JB_CHILD_AUX_FD 4	/* snapshot (workers) or output file (printers) */

struct jb_child_ops {
	/* before confinement: open/map what the role needs. 0 or -1. */
	int (*setup)(const struct jb_kind *k, char *err, size_t errlen);
	/* as the kind's own uid, before seccomp: what only that uid may open
	 * (a directory the supervisor gave it, mode 0700). 0 or -1 (fatal). */
	int (*setup_as_kind)(char *err, size_t errlen);
	/* CONFIG arrived (before READY is sent). */
	void (*on_config)(const struct ipc_msg *m);
	/* any other message from the supervisor. */
	void (*on_message)(const struct ipc_msg *m);
	/* heartbeat counters */
	void (*counters)(uint64_t *processed, uint64_t *detections);
	/* READY was sent: the role's own messages may follow (optional) */
	void (*on_ready)(void);
};

/* Bring up, confine with k->policy as uid a->uid, hand-shake, loop.
 * A setup failure exits with EX_CONFIG (<sysexits.h>): the supervisor
 * does not respawn the kind. Never returns. */
void jb_child_main(const struct jb_kind *k, const struct jb_child_ops *ops,
		   const struct jb_child_args *a) __attribute__((noreturn));

/* The child's event loop (after the IPC peer exists; NULL before). */
struct event_base *jb_child_base(void);

/* Send one encoded message to the supervisor; -1 if the queue is full. */
int jb_child_send(const void *buf, size_t len);
/* Same, but when the queue is full first write it out (waiting up to
 * 2 s for the supervisor to read). -1 only if there is still no room. */
int jb_child_send_wait(const void *buf, size_t len);
/* From a long piece of work (a big snapshot): send the heartbeat if it is
 * due, so a child that is busy, not hung, keeps its slot. Cheap to call
 * often (one clock read). */
void jb_child_beat_if_due(void);

/* Test-only fault hooks ([debug] fault_hooks = yes; the caller checks):
 * misbehave as WHAT says, to prove the supervisor and the sandbox hold.
 *   sigsys        a syscall outside the allow-list (socket)
 *   write-stdout  write(2) to fd 1, write-ipc: write(2) to the IPC socket
 *   signal-parent tgkill at the supervisor; kill-self: SIGKILL at itself
 *   open          openat, which the sandbox refuses with EACCES: logged,
 *                 and the child goes on
 *   open-abs      openat(4, "/etc/hostname") and openat(4, "../.."): the
 *                 spool's dirfd with a path that leaves it (Landlock
 *                 refuses; seccomp alone lets a network printer through)
 *   proc-mem      openat(4, "/proc/self/mem", O_RDWR): refused the same way
 *   garbage       a message that is not msgpack
 *   hang          block forever; crash: abort()
 *   alloc         allocate and touch memory without bound, heartbeating
 *                 (the memory limit of its cgroup ends it)
 *   spin          burn CPU for 3 s of wall time, heartbeating (held to
 *                 its cgroup's CPU share), then go on
 *   forkloop      fork in a loop (the sandbox kills it at the first fork)
 * Returns only for "open", "open-abs", "proc-mem", a write the sandbox allowed, "spin", a failed
 * allocation or fork, and unknown names. */
void jb_child_fault(const char *what);

/* Entry points of the two roles (workers/worker.c, printers/printer.c):
 * what a kind's row names as entry. */
void wrk_main(const struct jb_kind *k, const struct jb_child_args *a) __attribute__((noreturn));
void prn_main(const struct jb_kind *k, const struct jb_child_args *a) __attribute__((noreturn));

#endif
