/*
 * task.h - what both the matchers (rcp/) and the event builder (workers/)
 * read off a task record: its argv as one line, its stable process id.
 */
#ifndef JB_RCP_TASK_H
#define JB_RCP_TASK_H

#include <stddef.h>
#include <stdint.h>

#include "bpf/jibril.h"

/* argv (NUL separated in the record) as one space-separated,
 * NUL-terminated string of at most cap - 1 bytes, trailing NULs dropped.
 * Returns its length. cap must be at least 1. */
size_t rcp_task_args(const struct jb_task *t, char *out, size_t cap);

/* Stable process id: boot id + pid + start time, as 16 hex digits. */
void rcp_process_id(const char *boot_id, uint32_t pid, uint64_t start_ticks, char out[17]);

#endif
