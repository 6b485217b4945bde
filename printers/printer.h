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
};

extern const struct prn_output prn_stdout;
extern const struct prn_output prn_file;

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
