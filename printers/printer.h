/*
 * printer.h - where a printer kind's lines go: one output per printer file
 * (stdout.c, file.c, ...), named by the kind's row (supervisor/kinds.c).
 */
#ifndef JB_PRINTER_H
#define JB_PRINTER_H

#include <stddef.h>
#include <stdint.h>

#include "common/kind.h"

struct jb_settings;

struct event_base;

/* What a printer reports of itself (IPC_PRN_STATS): lines held in memory
 * and in its spool now, and since it started the lines delivered (written
 * and flushed, or confirmed by the endpoint), the sends retried and the
 * lines refused for good. */
struct prn_figures {
	uint64_t queue_lines, queue_bytes, spool_lines, spool_bytes;
	uint64_t delivered, retries, rejected;
};

struct prn_output {
	/* before confinement: the fd lines go to, or -1 with err */
	int (*setup)(char *err, size_t errlen);
	/* after a line is written: make it visible/durable. 0 or -1. */
	int (*flush)(int fd);
	/* An output that acknowledges by itself (a network printer), else
	 * NULL. take is handed each re-validated line (NULL for one that was
	 * not a JSON object: nothing to keep, but its seq counts) and calls
	 * prn_acknowledge(seq) once every line up to seq is durable (spooled
	 * and synced, or delivered). start runs on CONFIG, confined, with
	 * the child's event loop. */
	void (*take)(uint64_t seq, const char *line, size_t len);
	int (*start)(struct event_base *base, char *err, size_t errlen);
	/* optional: as the kind's uid, before Landlock and seccomp: what
	 * reads the system's world-readable files (name resolution:
	 * resolv.conf, hosts; OpenSSL's configuration), never as root */
	int (*init_as_kind)(char *err, size_t errlen);
	/* optional: as the kind's uid, before seccomp (its spool: fd 4 is
	 * the kind's own directory, mode 0700, which root without
	 * CAP_DAC_OVERRIDE cannot read) */
	int (*setup_as_kind)(char *err, size_t errlen);
	/* optional: a take output's figures (its outbox and spool); without
	 * it a printer reports the lines it wrote and the invalid ones */
	void (*figures)(struct prn_figures *f);
};

extern const struct prn_output prn_stdout;
extern const struct prn_output prn_file;
extern const struct prn_output prn_https;
extern const struct prn_output prn_nats;	/* its section: printers/nats.h */
extern const struct jb_settings_def prn_https_settings;
extern const struct prn_output prn_summary;	/* printers/summary.c */
extern const struct jb_settings_def prn_summary_settings;

/* A take output: every line up to seq is durable; PRINTED seq goes to
 * the supervisor (cumulative). */
void prn_acknowledge(uint64_t seq);

/* The kind's own settings (common/settings.h), read from fd 5 before
 * out->setup runs and fd 5 closed; NULL for a kind without a section. */
const struct jb_settings *prn_settings(void);

/* This printer's [privacy] policy (common/privacy.h), set before
 * out->setup runs; NULL when it pseudonymises nothing. For what an output
 * sends besides the lines (the nats printer's subject names the host). */
struct prv_policy;
const struct prv_policy *prn_privacy(void);

/* Write all of buf to fd (retrying short writes and EINTR). 0 or -1. */
int prn_write_all(int fd, const char *buf, size_t len);

/* Report that this printer lost count detections for cause (a-z0-9_,
 * e.g. "spool_full", "batch_rejected"); detail is free text for the
 * operator. Sent to the supervisor as IPC_LOSS; never fails silently. */
void prn_loss(const char *cause, uint64_t count, const char *detail);
/* 1 while a report made now would wait in this process (before READY,
 * when the supervisor does not take it yet); 0 once reports go straight
 * out, or outside a printer (a test). What keeps a loss on disk (the
 * spool) clears it only when this is 0. */
int prn_loss_held(void);

#endif
