/*
 * privdrop.h - the supervisor gives up what it no longer needs once it is
 * initialised (supervisor/privdrop.c).
 */
#ifndef JB_PRIVDROP_H
#define JB_PRIVDROP_H

#include <stddef.h>

/* Install the supervisor's seccomp deny-list, then keep only the
 * capabilities it still uses. Call once, after everything that needs
 * privilege is done and before the first child is spawned (children
 * inherit both). probe_map_fd: a BPF map the supervisor holds, used to
 * learn whether this kernel still lets it read maps without CAP_BPF.
 * 0, or -1 with one sentence in err. */
int sup_privdrop(int probe_map_fd, char *err, size_t errlen);

/* The deny-list, for tests: the syscall number of row i (-1 past the end)
 * and the bpf() command of row i (-1 past the end). */
int sup_privdrop_denied_syscall(size_t i);
/* Raise a capability kept in the permitted set for one step at exit
 * (CAP_DAC_OVERRIDE): 1 when raised (lower it again after the step), 0
 * when it was in effect already, -1 when it is not permitted. */
int sup_privdrop_raise(unsigned cap);
void sup_privdrop_lower(unsigned cap);
int sup_privdrop_denied_bpf_cmd(size_t i);

#endif
