/*
 * tamper.h - the "tamper" object of a tamper detection's event (tamper.c):
 * a jb_tamper record in words (docs/EVENTS.md).
 */
#ifndef JB_WORKERS_TAMPER_H
#define JB_WORKERS_TAMPER_H

#include <jansson.h>

#include "bpf/jibril.h"
#include "workers/detect.h"

/* The object for record t; the target's role is named from ctx's kind
 * table (ctx->kinds, may be NULL: roles then read "unknown"). */
json_t *wrk_tamper_json(const struct wrk_event_ctx *ctx, const struct jb_tamper *t);

/* The operation of a record in words (bpf command, signal, ptrace request,
 * syscall), into out; file actions are a list of their own (no words). */
void wrk_tamper_op_name(const struct jb_tamper *t, char *out, size_t len);

/* event.c's string and file action builders, shared with tamper.c: a
 * string of at most n bytes made valid UTF-8; enum jb_action bits as names. */
json_t *wrk_json_str(const char *s, size_t n);
json_t *wrk_json_actions(uint32_t a);

#endif
