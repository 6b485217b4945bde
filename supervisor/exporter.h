/*
 * exporter.h - the supervisor's side of the exporter kind (exporter.c):
 * its listening socket and the status document pushed to it.
 */
#ifndef JB_SUP_EXPORTER_H
#define JB_SUP_EXPORTER_H

#include <stddef.h>

struct sup;
struct sup_hooks;

/* Start-up, before anything loads: when the exporter row is enabled, bind
 * and listen on its [exporter] listen address (s->exp_listen_fd; -1 when
 * there is none). 0, or -1 with "CONF:LINE: [exporter] listen: ..." */
int sup_exporter_listen(struct sup *s, const char *conf_path, char *err, size_t errlen);
void sup_exporter_close(struct sup *s);
/* A copy of the socket for a slot (its fd 4), or -1. */
int sup_exporter_aux(struct sup *s);
/* After a cadence: the status document to every READY exporter. */
void sup_exporter_push(struct sup *s);
/* The row's hooks: READY gets the latest document at once. */
extern const struct sup_hooks sup_exporter_hooks;

#endif
