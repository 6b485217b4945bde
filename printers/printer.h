/*
 * printer.h - where a printer kind's lines go: one output per printer file
 * (stdout.c, file.c, ...), named by the kind's row (supervisor/kinds.c).
 */
#ifndef JB_PRINTER_H
#define JB_PRINTER_H

#include <stddef.h>
#include <stdint.h>

struct jb_settings;

struct prn_output {
	/* before confinement: the fd lines go to, or -1 with err */
	int (*setup)(char *err, size_t errlen);
	/* after a line is written: make it visible/durable. 0 or -1. */
	int (*flush)(int fd);
	/* A network output (NULL for a descriptor one): after READY, in the
	 * sandbox, start its threads and connections; then each line is
	 * handed over with take (line NULL: an invalid line, nothing to send,
	 * but its place in the order) and acknowledged later, in order, with
	 * prn_ack once it is durable (delivered, or in its spool). */
	void (*start)(void);
	void (*take)(uint64_t seq, const char *line, size_t len);
	/* optional: as the kind's own uid, before seccomp, open what it owns
	 * (its spool directory, fd 4). -1 with err. */
	int (*owned)(char *err, size_t errlen);
};

extern const struct prn_output prn_stdout;
extern const struct prn_output prn_file;
extern const struct prn_output prn_nats;

/* A network output: every line handed over up to seq is durable. Sends
 * PRINTED seq; a failure ends the printer (the supervisor sends again
 * what was not acknowledged). */
void prn_ack(uint64_t seq);

/* The kind's own settings (common/settings.h), read from fd 5 before
 * out->setup runs and fd 5 closed; NULL for a kind without a section. */
const struct jb_settings *prn_settings(void);

/* Write all of buf to fd (retrying short writes and EINTR). 0 or -1. */
int prn_write_all(int fd, const char *buf, size_t len);

/* Report that this printer lost count detections for cause (a-z0-9_,
 * e.g. "spool_full", "batch_rejected"); detail is free text for the
 * operator. Sent to the supervisor as IPC_LOSS; never fails silently. */
void prn_loss(const char *cause, uint64_t count, const char *detail);

#endif
