/*
 * child.h - the runtime shared by every sandboxed child (workers and
 * printers): fixed fds, bring-up, handshake, heartbeats, the event loop.
 */
#ifndef JB_CHILD_H
#define JB_CHILD_H

#include <stddef.h>
#include <stdint.h>

#include "common/sandbox.h"
#include "ipc/msg.h"

#define JB_CHILD_IPC_FD 3	/* SOCK_SEQPACKET to the supervisor */
#define JB_CHILD_AUX_FD 4	/* snapshot (workers) or output file (printers) */
#define JB_CHILD_EX_CONFIG 78	/* "do not respawn" */

struct jb_child_ops {
	uint32_t role;			/* IPC_ROLE_WORKER / IPC_ROLE_PRINTER */
	enum jb_policy policy;
	/* before confinement: open/map what the role needs. 0 or -1. */
	int (*setup)(const char *kind, char *err, size_t errlen);
	/* CONFIG arrived (before READY is sent). */
	void (*on_config)(const struct ipc_msg *m);
	/* any other message from the supervisor. */
	void (*on_message)(const struct ipc_msg *m);
	/* heartbeat counters */
	void (*counters)(uint64_t *processed, uint64_t *detections);
};

/* Never returns. */
void jb_child_main(const struct jb_child_ops *ops, const char *kind, uint64_t generation)
	__attribute__((noreturn));

/* Send one encoded message to the supervisor; -1 if the queue is full. */
int jb_child_send(const void *buf, size_t len);
/* Same, but when the queue is full first write it out (waiting up to
 * 2 s for the supervisor to read). -1 only if there is still no room. */
int jb_child_send_wait(const void *buf, size_t len);

/* Main entry points for the two roles (workers/worker.c, printers/printer.c). */
void wrk_main(const char *kind, uint64_t generation) __attribute__((noreturn));
void prn_main(const char *kind, uint64_t generation) __attribute__((noreturn));

#endif
