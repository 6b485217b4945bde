/*
 * tamper.c - a jb_tamper record in words: the "tamper" object of a tamper
 * detection (docs/EVENTS.md): its class, the operation (bpf command,
 * signal, ptrace request, syscall or file actions), the target (an agent
 * process and its role, a map id, a program, a module, a path), how often
 * and when, and its flags.
 *
 * Invariants:
 *  - every number the kernel put in the record is printed as a number as
 *    well as in words, and a number without a name is printed, never
 *    dropped or guessed: "BPF command 99", "signal 70".
 *  - strings (comm, name) are bounded by their fields and made valid UTF-8
 *    (wrk_json_str); the snapshot reader already checked their NULs.
 *  - the target's role comes from the kind table the worker runs with:
 *    target_row is a row index of it, or one of JB_AGENT_ROW_*.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>

#include <linux/bpf.h>

#include "common/kind.h"
#include "common/text.h"
#include "rcp/recipe.h"
#include "workers/bpfnames.h"
#include "workers/tamper.h"

#define N(x) [x] = #x
static const char *const bpf_cmds[] = {
	N(BPF_MAP_CREATE),	      N(BPF_MAP_LOOKUP_ELEM),	  N(BPF_MAP_UPDATE_ELEM),
	N(BPF_MAP_DELETE_ELEM),	      N(BPF_MAP_GET_NEXT_KEY),	  N(BPF_PROG_LOAD),
	N(BPF_OBJ_PIN),		      N(BPF_OBJ_GET),		  N(BPF_PROG_ATTACH),
	N(BPF_PROG_DETACH),	      N(BPF_PROG_TEST_RUN),	  N(BPF_PROG_GET_NEXT_ID),
	N(BPF_MAP_GET_NEXT_ID),	      N(BPF_PROG_GET_FD_BY_ID),	  N(BPF_MAP_GET_FD_BY_ID),
	N(BPF_OBJ_GET_INFO_BY_FD),    N(BPF_PROG_QUERY),	  N(BPF_RAW_TRACEPOINT_OPEN),
	N(BPF_BTF_LOAD),	      N(BPF_BTF_GET_FD_BY_ID),	  N(BPF_TASK_FD_QUERY),
	N(BPF_MAP_LOOKUP_AND_DELETE_ELEM), N(BPF_MAP_FREEZE),	  N(BPF_BTF_GET_NEXT_ID),
	N(BPF_MAP_LOOKUP_BATCH),      N(BPF_MAP_LOOKUP_AND_DELETE_BATCH),
	N(BPF_MAP_UPDATE_BATCH),      N(BPF_MAP_DELETE_BATCH),	  N(BPF_LINK_CREATE),
	N(BPF_LINK_UPDATE),	      N(BPF_LINK_GET_FD_BY_ID),	  N(BPF_LINK_GET_NEXT_ID),
	N(BPF_ENABLE_STATS),	      N(BPF_ITER_CREATE),	  N(BPF_LINK_DETACH),
	N(BPF_PROG_BIND_MAP),
};
#undef N

static const struct {
	uint32_t req;
	const char *name;
} ptrace_reqs[] = {
	{PTRACE_TRACEME, "PTRACE_TRACEME"},   {PTRACE_PEEKTEXT, "PTRACE_PEEKTEXT"},
	{PTRACE_PEEKDATA, "PTRACE_PEEKDATA"}, {PTRACE_POKETEXT, "PTRACE_POKETEXT"},
	{PTRACE_POKEDATA, "PTRACE_POKEDATA"}, {PTRACE_ATTACH, "PTRACE_ATTACH"},
	{PTRACE_SEIZE, "PTRACE_SEIZE"},	      {PTRACE_INTERRUPT, "PTRACE_INTERRUPT"},
};

static const struct {
	long nr;
	const char *name;
} syscalls[] = {
	{SYS_init_module, "init_module"},
	{SYS_finit_module, "finit_module"},
	{SYS_delete_module, "delete_module"},
	{SYS_process_vm_readv, "process_vm_readv"},
	{SYS_process_vm_writev, "process_vm_writev"},
	{SYS_pidfd_getfd, "pidfd_getfd"},
};

static void syscall_name(uint32_t nr, char *out, size_t len)
{
	for (size_t i = 0; i < sizeof(syscalls) / sizeof(syscalls[0]); i++)
		if (syscalls[i].nr == (long)nr) {
			snprintf(out, len, "%s", syscalls[i].name);
			return;
		}
	snprintf(out, len, "syscall %u", nr);
}

void wrk_tamper_op_name(const struct jb_tamper *t, char *out, size_t len)
{
	const char *abbr;

	switch (t->klass) {
	case JB_TAMPER_MAP_WRITE:
	case JB_TAMPER_BPF_PROG:
		if (t->op < sizeof(bpf_cmds) / sizeof(bpf_cmds[0]) && bpf_cmds[t->op])
			snprintf(out, len, "%s", bpf_cmds[t->op]);
		else
			snprintf(out, len, "BPF command %u", t->op);
		return;
	case JB_TAMPER_SIGNAL:
		abbr = t->op > 0 && t->op < 65 ? sigabbrev_np((int)t->op) : NULL;
		if (abbr)
			snprintf(out, len, "SIG%s", abbr);
		else if (t->op >= (uint32_t)SIGRTMIN && t->op <= (uint32_t)SIGRTMAX)
			snprintf(out, len, "SIGRTMIN+%u", t->op - (uint32_t)SIGRTMIN);
		else
			snprintf(out, len, "signal %u", t->op);
		return;
	case JB_TAMPER_PTRACE:
		for (size_t i = 0; i < sizeof(ptrace_reqs) / sizeof(ptrace_reqs[0]); i++)
			if (ptrace_reqs[i].req == t->op) {
				snprintf(out, len, "%s", ptrace_reqs[i].name);
				return;
			}
		snprintf(out, len, "ptrace request %u", t->op);
		return;
	case JB_TAMPER_PROC_MEM:
		if (t->op == 0) {
			snprintf(out, len, "open");
			return;
		}
		/* fall through */
	case JB_TAMPER_MODULE:
		syscall_name(t->op, out, len);
		return;
	case JB_TAMPER_FILE:
		snprintf(out, len, "file actions");
		return;
	default:
		snprintf(out, len, "operation %u", t->op);
	}
}

/* The agent process acted on: its pid and its role. */
static json_t *jagent(const struct wrk_event_ctx *ctx, const struct jb_tamper *t)
{
	const char *role = "unknown";

	if (t->target_row == JB_AGENT_ROW_SUPERVISOR)
		role = "supervisor";
	else if (ctx->kinds && t->target_row < ctx->nkinds)
		role = ctx->kinds[t->target_row].name;
	return json_pack("{s:I, s:s}", "pid", (json_int_t)t->target_pid, "role", role);
}

static json_t *jname(const struct jb_tamper *t)
{
	return wrk_json_str(t->name, sizeof(t->name));
}

/* What was acted on, per class (the fields jibril.h gives each class). */
static json_t *jtarget(const struct wrk_event_ctx *ctx, const struct jb_tamper *t)
{
	json_t *o;
	const char *s;

	switch (t->klass) {
	case JB_TAMPER_MAP_WRITE:
		return json_pack("{s:I, s:o}", "map_id", (json_int_t)t->target_id, "map_name",
				 jname(t));
	case JB_TAMPER_BPF_PROG:
		/* target_id the program's type, arg the attach type (the
		 * expected one at load; a link's type for a link update or
		 * detach), name the program's, target where it goes */
		o = json_object();
		s = wrk_bpf_prog_type_name(t->target_id);
		json_object_set_new(o, "program_type",
				    s ? json_string(s) : json_sprintf("%u", t->target_id));
		json_object_set_new(o, "program_name", jname(t));
		if (t->op == BPF_LINK_UPDATE || t->op == BPF_LINK_DETACH) {
			s = wrk_bpf_link_type_name(t->arg);
			json_object_set_new(o, "link_type",
					    s ? json_string(s) : json_sprintf("%u", t->arg));
		} else if (t->op != BPF_RAW_TRACEPOINT_OPEN) {
			s = wrk_bpf_attach_type_name(t->arg);
			json_object_set_new(o, "attach_type",
					    s ? json_string(s) : json_sprintf("%u", t->arg));
		}
		if (t->target[0])
			json_object_set_new(o, t->op == BPF_RAW_TRACEPOINT_OPEN ? "tracepoint"
										: "attached_to",
					    wrk_json_str(t->target, sizeof(t->target)));
		return o;
	case JB_TAMPER_MODULE:
		return json_pack("{s:o}", "module", jname(t));
	case JB_TAMPER_SIGNAL:
	case JB_TAMPER_PTRACE:
	case JB_TAMPER_PROC_MEM:
		return json_pack("{s:o}", "process", jagent(ctx, t));
	case JB_TAMPER_FILE:
		o = json_pack("{s:o, s:o}", "path", jname(t), "actions",
			      wrk_json_actions(t->op & ~JB_TAMPER_OP_CHOWN));
		if (t->op & JB_TAMPER_OP_CHOWN)
			json_object_set_new(o, "chown", json_true());
		if (t->op & JB_ACT_CHMOD)
			json_object_set_new(o, "mode", json_sprintf("%04o", t->arg & 07777));
		return o;
	default:
		return json_object();
	}
}

json_t *wrk_tamper_json(const struct wrk_event_ctx *ctx, const struct jb_tamper *t)
{
	char op[64], first[64], last[64];
	json_t *o = json_object();

	wrk_tamper_op_name(t, op, sizeof(op));
	jb_iso_time((int64_t)t->first_ns + ctx->mono_to_real_ns, first, sizeof(first));
	jb_iso_time((int64_t)t->last_ns + ctx->mono_to_real_ns, last, sizeof(last));
	json_object_set_new(o, "class", json_string(rcp_tamper_class_name(t->klass)));
	json_object_set_new(o, "operation", json_string(op));
	json_object_set_new(o, "op", json_integer(t->op));
	json_object_set_new(o, "target", jtarget(ctx, t));
	json_object_set_new(o, "count", json_integer(t->count));
	json_object_set_new(o, "first_seen", json_string(first));
	json_object_set_new(o, "last_seen", json_string(last));
	json_object_set_new(o, "actor", json_pack("{s:I, s:I, s:o}", "pid", (json_int_t)t->tgid, "uid",
						  (json_int_t)t->uid, "comm",
						  wrk_json_str(t->comm, sizeof(t->comm))));
	json_object_set_new(o, "name_truncated", json_boolean(t->flags & JB_TAMPER_NAME_CUT));
	json_object_set_new(o, "failed", json_boolean(t->flags & JB_TAMPER_FAILED));
	return o;
}
