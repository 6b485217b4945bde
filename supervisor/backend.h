/*
 * backend.h - which programs carry the syscall hooks: the syscalls:
 * tracepoints or their fentry/fexit twins (bpf/syscall_hook.bpf.h).
 */
#ifndef JB_BACKEND_H
#define JB_BACKEND_H

#include <stddef.h>

struct bpf_object;

/* Between open and load, after the programs of missing tracepoints were
 * turned off: pick the backend for want (enum jb_backend, [bpf] backend
 * on line of conf_path; 0 = unset) and set every program's autoload to
 * match; says which backend runs, and why not the other, in one info
 * line. veto (NULL: none) is a reason the twins must not be used, given
 * when the kernel refused the object with them. Returns the backend
 * taken (JB_BACKEND_TRACEPOINT or JB_BACKEND_FENTRY), or with one
 * sentence in err: -2 when fentry was asked for and is not possible here
 * ("FILE:LINE: ..."), -1 when a twin hooks another syscall than its
 * tracepoint (a broken object). */
int jb_bpf_backend(struct bpf_object *obj, int want, const char *veto, const char *conf_path,
		   int line, char *err, size_t errlen);

/* The twin of a syscalls: tracepoint program, and the syscall both hook.
 * 1 and the twin in *twin (sys: the X of sys_enter_X), 0 when prog has
 * none, -1 when the twin does not hook the same syscall at the same end
 * (reason in err). For the loader and the tests. */
struct bpf_program;
int jb_bpf_twin(struct bpf_object *obj, struct bpf_program *prog, struct bpf_program **twin,
		char *sys, size_t syslen, char *err, size_t errlen);

/* Load and attach a no-op fentry program on the kernel function fn, then
 * close it: 0, or -errno (the kernel's refusal, or -ESRCH when fn is not
 * in the kernel's BTF). */
int jb_bpf_fentry_probe(const char *fn);

#endif
