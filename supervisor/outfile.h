/*
 * outfile.h - the file printer's output file in production (outfile.c):
 * rotated by size, reopened on SIGUSR1 (the logrotate convention).
 */
#ifndef JB_SUP_OUTFILE_H
#define JB_SUP_OUTFILE_H

#include <stddef.h>

struct sup;
struct sup_proc;

/* Why a slot's output file is to be reopened (sup_proc.reopen, a mask). */
enum sup_reopen {
	SUP_REOPEN_SIZE = 1,	/* over [printers] file_max_bytes: rotate it first */
	SUP_REOPEN_SIGNAL = 2,	/* SIGUSR1: its path names another file, or none */
};

/* Start-up (procs.c, the file just opened): a file already over its size
 * is rotated before the first child gets it. */
void sup_outfile_start(struct sup *s, struct sup_proc *p);
/* SIGUSR1: every output file whose path no longer names the file the
 * supervisor holds (renamed, removed) is reopened; one still in place is
 * left alone, so the signal alone can never make a printer restart. */
void sup_outfile_signal(struct sup *s);
/* The hooks of a printer row with an output file (kinds.c), each after
 * the router's: an acknowledgement (the size is checked), READY, the
 * child gone (a pending reopen is done then: nobody writes the file),
 * shutdown's drain (no reopen then: what is pending waits for the next
 * start or SIGUSR1, and the printer is handed everything). */
void sup_outfile_printed(struct sup *s, struct sup_proc *p);
void sup_outfile_ready(struct sup *s, struct sup_proc *p);
void sup_outfile_gone(struct sup *s, struct sup_proc *p);
void sup_outfile_drain(struct sup *s, struct sup_proc *p);

/* A printer ended (any printer: procs.c, before its gone hooks), or the
 * file printer's file was opened at start-up: when its output (that file,
 * or stdout when it is a regular file) ends inside a line, that
 * unacknowledged fragment is cut off. */
void sup_outfile_mend(struct sup *s, struct sup_proc *p);

/* The rotation itself, in the directory dfd: NAME.K beyond keep removed,
 * NAME.(keep-1) -> NAME.keep ... NAME.1 -> NAME.2, NAME -> NAME.1 (rename
 * replaces: the oldest goes). A name that is not there is skipped. 0, or
 * -1 with "why" in err (what was renamed stays renamed). */
int sup_outfile_shift(int dfd, const char *name, unsigned keep, char *err, size_t errlen);

#endif
