/*
 * backend.c - the syscall hooks' backend: syscalls: tracepoints, or their
 * fentry/fexit twins on the __x64_sys_* wrappers (bpf/syscall_hook.bpf.h).
 *
 * Enabling any syscalls: tracepoint sends every syscall of every task down
 * the kernel's slow path; the twins tax only the syscalls they hook. Both
 * run one body per hook, so what is recorded is the same.
 *
 * Invariants:
 *  - all or nothing: the twins are taken only if the kernel loads and
 *    attaches a probe fentry program, and has every wrapper a twin needs
 *    and the preemption kfuncs the twins call; then every syscalls:
 *    program with a twin is off and its twin on. A program whose
 *    tracepoint is missing (turned off before) keeps its twin off too.
 *  - the tracepoints are the fallback, and the only backend where the
 *    twins are not built (not x86-64) or the kernel refuses them; auto
 *    never fails start-up, fentry on a kernel that cannot run it does,
 *    naming the line that asked.
 *  - exactly one info line says which backend runs and why the other
 *    was not taken (the probe's errno as text).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "common/log.h"
#include "supervisor/backend.h"
#include "supervisor/config.h"

#define TP_PREFIX "tracepoint/syscalls/sys_"
#define WRAPPER "__x64_sys_"
#define TWIN_SUFFIX "_fe"
#define MAX_HOOKS 256

/* the twins call these around their body (bpf/syscall_hook.bpf.h) */
static const char *const twin_kfuncs[] = {"bpf_preempt_disable", "bpf_preempt_enable", NULL};

int jb_bpf_twin(struct bpf_object *obj, struct bpf_program *prog, struct bpf_program **twin,
		char *sys, size_t syslen, char *err, size_t errlen)
{
	const char *sec = bpf_program__section_name(prog), *end, *want, *tsec;
	char name[128], expect[160];

	if (strncmp(sec, TP_PREFIX, strlen(TP_PREFIX)) != 0)
		return 0;
	end = sec + strlen(TP_PREFIX);
	if (strncmp(end, "enter_", 6) == 0)
		want = "fentry/";
	else if (strncmp(end, "exit_", 5) == 0)
		want = "fexit/";
	else
		return 0;
	end = strchr(end, '_') + 1;
	snprintf(name, sizeof(name), "%s" TWIN_SUFFIX, bpf_program__name(prog));
	*twin = bpf_object__find_program_by_name(obj, name);
	if (!*twin)
		return 0;
	snprintf(sys, syslen, "%s", end);
	snprintf(expect, sizeof(expect), "%s" WRAPPER "%s", want, end);
	tsec = bpf_program__section_name(*twin);
	if (strcmp(tsec, expect) != 0) {
		snprintf(err, errlen, "BPF program %s (%s) and its twin %s (%s) hook different "
			 "syscalls: the object is broken", bpf_program__name(prog), sec, name, tsec);
		return -1;
	}
	return 1;
}

int jb_bpf_fentry_probe(const char *fn)
{
	/* r0 = 0; exit */
	struct bpf_insn insns[] = {
		{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
		{.code = BPF_JMP | BPF_EXIT},
	};
	LIBBPF_OPTS(bpf_prog_load_opts, o, .expected_attach_type = BPF_TRACE_FENTRY);
	struct btf *vmlinux = btf__load_vmlinux_btf();
	int id, fd, link, e;

	if (!vmlinux)
		return -errno;
	id = btf__find_by_name_kind(vmlinux, fn, BTF_KIND_FUNC);
	btf__free(vmlinux);
	if (id < 0)
		return -ESRCH;
	o.attach_btf_id = (__u32)id;
	fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, "jb_fentry_probe", "GPL", insns, 2, &o);
	if (fd < 0)
		return -errno;
	link = bpf_link_create(fd, 0, BPF_TRACE_FENTRY, NULL);
	e = errno;
	close(fd);
	if (link < 0)
		return -e;
	close(link);
	return 0;
}

/* Why the twins cannot carry the hooks here ("" when they can): the
 * pairs in tp[]/tw[] (n of them), the wrappers and kfuncs in the kernel's
 * BTF, then the probe, on the first wrapper. */
static void fentry_why_not(struct bpf_program **tw, char (*sys)[64], int n, char *why,
			   size_t len)
{
	struct btf *vmlinux;
	char fn[96];
	int r;

	why[0] = '\0';
	if (n == 0) {
		snprintf(why, len, "this build has no fentry twins: they exist on x86-64 only");
		return;
	}
	vmlinux = btf__load_vmlinux_btf();
	if (!vmlinux) {
		snprintf(why, len, "cannot read the kernel's BTF: %s", strerror(errno));
		return;
	}
	for (int i = 0; twin_kfuncs[i] && !why[0]; i++)
		if (btf__find_by_name_kind(vmlinux, twin_kfuncs[i], BTF_KIND_FUNC) < 0)
			snprintf(why, len, "the kernel lacks the %s kfunc (Linux 6.10)",
				 twin_kfuncs[i]);
	for (int i = 0; i < n && !why[0]; i++) {
		snprintf(fn, sizeof(fn), WRAPPER "%.63s", sys[i]);
		if (btf__find_by_name_kind(vmlinux, fn, BTF_KIND_FUNC) < 0)
			snprintf(why, len, "the kernel's BTF has no %s (for %s)", fn,
				 bpf_program__name(tw[i]));
	}
	btf__free(vmlinux);
	if (why[0])
		return;
	snprintf(fn, sizeof(fn), WRAPPER "%.63s", sys[0]);
	r = jb_bpf_fentry_probe(fn);
	if (r < 0)
		snprintf(why, len, "fentry refused by this kernel: %s", strerror(-r));
}

int jb_bpf_backend(struct bpf_object *obj, int want, const char *veto, const char *conf_path,
		   int line, char *err, size_t errlen)
{
	struct bpf_program *tp[MAX_HOOKS], *tw[MAX_HOOKS];
	char sys[MAX_HOOKS][64];
	struct bpf_program *prog, *twin;
	char why[256] = "";
	int n = 0, alone = 0;

	bpf_object__for_each_program(prog, obj)
	{
		int r;

		if (strncmp(bpf_program__section_name(prog), TP_PREFIX, strlen(TP_PREFIX)) != 0 ||
		    !bpf_program__autoload(prog))
			continue;
		r = jb_bpf_twin(obj, prog, &twin, sys[n], sizeof(sys[n]), err, errlen);
		if (r < 0)
			return -1;
		if (r == 0 || n == MAX_HOOKS) {
			alone++;
			continue;
		}
		tp[n] = prog;
		tw[n++] = twin;
	}
	if (want == JB_BACKEND_TRACEPOINT) {
		log_info("syscall hooks: tracepoints ([bpf] backend = tracepoint)");
		return JB_BACKEND_TRACEPOINT;
	}
	if (veto)
		snprintf(why, sizeof(why), "%s", veto);
	else
		fentry_why_not(tw, sys, n, why, sizeof(why));
	if (why[0] && want == JB_BACKEND_FENTRY) {
		snprintf(err, errlen, "%s:%d: [bpf] backend = fentry, but %s (auto or tracepoint "
			 "use the syscall tracepoints)", conf_path, line, why);
		return -2;
	}
	if (why[0]) {
		log_info("syscall hooks: tracepoints (%s)", why);
		return JB_BACKEND_TRACEPOINT;
	}
	for (int i = 0; i < n; i++) {
		bpf_program__set_autoload(tp[i], false);
		bpf_program__set_autoload(tw[i], true);
	}
	if (alone)
		log_info("syscall hooks: fentry/fexit on %d syscall wrappers; %d hooks without a "
			 "twin stay syscalls: tracepoints, so every syscall still takes the slow path",
			 n, alone);
	else
		log_info("syscall hooks: fentry/fexit on %d syscall wrappers (no syscalls: "
			 "tracepoint: other syscalls keep the fast path)", n);
	return JB_BACKEND_FENTRY;
}
