/* SPDX-License-Identifier: GPL-2.0 */
/*
 * syscall_hook.bpf.h - one body per syscall hook, two ways into it.
 *
 * Every syscall hook is written once, as the body of a JB_SYS_ENTER or
 * JB_SYS_EXIT, and gets two thin entry points:
 *   - the syscalls: tracepoint program, under its own spelt-out SEC line
 *     and name (tests and the loader know programs by both);
 *   - on x86-64, a twin NAME_fe in SEC("?fentry/__x64_sys_X") or
 *     SEC("?fexit/__x64_sys_X"), reading the same arguments from the
 *     struct pt_regs the syscall wrapper gets (di, si, dx, r10, r8, r9;
 *     orig_ax is the number), plus the return value at exit.
 * Enabling any syscalls: tracepoint sends every syscall of every task
 * down the kernel's slow path; fentry/fexit on the wrappers tax only the
 * syscalls hooked. The '?' keeps the twins out of autoload: they cost
 * nothing at load unless the loader picks them (supervisor/backend.c).
 *
 *	SEC("tracepoint/syscalls/sys_enter_unlinkat")
 *	int JB_SYS_ENTER(jb_unlinkat, unlinkat)
 *	{
 *		return on_path((const char *)a1, a0, NULL, 0, JB_ACT_UNLINK, 0);
 *	}
 *
 * An enter body sees id (the syscall number) and a0..a5 (the raw
 * arguments); an exit body sees ret. Nothing else of the context.
 *
 * Invariants:
 *  - the tracepoint program of a hook and its twin run the same body on
 *    the same values: what is recorded does not depend on the backend;
 *  - a twin runs with preemption disabled around its body. fentry/fexit
 *    programs only disable migration, so on a preemptible kernel another
 *    task could run on this CPU in the middle of the body, and every
 *    body relies on the per-CPU scratch maps being its own for the whole
 *    run (jibril.bpf.c: one program at a time per CPU), as tracepoint
 *    programs, which run with preemption off, have always had it;
 *  - fentry/fexit programs must return 0: a twin ignores the body's value;
 *  - the twins exist only where the __x64_sys_* wrappers do (x86-64);
 *    elsewhere the macros give the tracepoint program alone, and the
 *    loader finds no twin to pick.
 */
#ifndef JB_SYSCALL_HOOK_BPF_H
#define JB_SYSCALL_HOOK_BPF_H

#define JB_SYS_ARGS                                                                      \
	long id, unsigned long a0, unsigned long a1, unsigned long a2, unsigned long a3, \
		unsigned long a4, unsigned long a5

#if defined(__TARGET_ARCH_x86)
/* Linux 6.10; weak, so that a kernel without them still loads the
 * tracepoint programs (the loader checks for them before it picks the
 * twins, which are the only callers) */
extern void bpf_preempt_disable(void) __ksym __weak;
extern void bpf_preempt_enable(void) __ksym __weak;

#define JB_TWIN_ENTER(name, sys)                                                        \
	SEC("?fentry/__x64_sys_" #sys)                                                  \
	int name##_fe(unsigned long long *ctx)                                          \
	{                                                                               \
		const struct pt_regs *regs = (const struct pt_regs *)ctx[0];           \
                                                                                        \
		bpf_preempt_disable();                                                  \
		name##_do((long)regs->orig_ax, regs->di, regs->si, regs->dx, regs->r10, \
			  regs->r8, regs->r9);                                          \
		bpf_preempt_enable();                                                   \
		return 0;                                                               \
	}
#define JB_TWIN_EXIT(name, sys)                                                         \
	SEC("?fexit/__x64_sys_" #sys)                                                   \
	int name##_fe(unsigned long long *ctx)                                          \
	{                                                                               \
		bpf_preempt_disable();                                                  \
		name##_do((long)ctx[1]);                                                \
		bpf_preempt_enable();                                                   \
		return 0;                                                               \
	}
#else
#define JB_TWIN_ENTER(name, sys)
#define JB_TWIN_EXIT(name, sys)
#endif

/* Used as "int JB_SYS_ENTER(name, sys) { body }" right under the SEC
 * line of the tracepoint, as libbpf's BPF_PROG is: the SEC attribute
 * lands on the first declaration, name's. */
#define JB_SYS_ENTER(name, sys)                                                         \
	name(struct trace_event_raw_sys_enter *ctx);                                    \
	static __always_inline int name##_do(JB_SYS_ARGS);                              \
	int name(struct trace_event_raw_sys_enter *ctx)                                 \
	{                                                                               \
		return name##_do(ctx->id, ctx->args[0], ctx->args[1], ctx->args[2],    \
				 ctx->args[3], ctx->args[4], ctx->args[5]);             \
	}                                                                               \
	JB_TWIN_ENTER(name, sys)                                                        \
	static __always_inline int name##_do(JB_SYS_ARGS)

#define JB_SYS_EXIT(name, sys)                                                          \
	name(struct trace_event_raw_sys_exit *ctx);                                     \
	static __always_inline int name##_do(long ret);                                 \
	int name(struct trace_event_raw_sys_exit *ctx)                                  \
	{                                                                               \
		return name##_do(ctx->ret);                                             \
	}                                                                               \
	JB_TWIN_EXIT(name, sys)                                                         \
	static __always_inline int name##_do(long ret)

#endif
