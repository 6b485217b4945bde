/*
 * task.c - a task record's argv as one line, and its stable process id.
 *
 * Invariants: both are pure functions of their arguments; the process id
 * of a (boot, pid, start time) never changes, so an id printed in an event
 * names the same process in every later event and in times-limit keys.
 */
#include <stdio.h>
#include <string.h>

#include "common/text.h"
#include "rcp/task.h"

size_t rcp_task_args(const struct jb_task *t, char *out, size_t cap)
{
	size_t n = t->args_len < JB_ARGS_LEN ? t->args_len : JB_ARGS_LEN;

	if (n >= cap)
		n = cap - 1;
	memcpy(out, t->args, n);
	while (n && out[n - 1] == '\0')
		n--;
	for (size_t i = 0; i < n; i++)
		if (out[i] == '\0')
			out[i] = ' ';
	out[n] = '\0';
	return n;
}

void rcp_process_id(const char *boot_id, uint32_t pid, uint64_t start_ticks, char out[17])
{
	uint64_t h = jb_fnv1a(JB_FNV_INIT, boot_id, strlen(boot_id));

	h = jb_mix64(h ^ pid);
	h = jb_mix64(h ^ start_ticks);
	snprintf(out, 17, "%016llx", (unsigned long long)h);
}
