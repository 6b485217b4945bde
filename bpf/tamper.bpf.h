/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tamper.bpf.h - somebody acting on the agent itself (included by
 * jibril.bpf.c after the task helpers). Each act becomes one jb_tamper
 * record per {class, actor task, op, target} (struct jb_tamper in
 * jibril.h); the collector reads the map every cadence and the tamper
 * worker's recipes turn records into critical detections.
 *
 * Hooks and what they see:
 *   syscalls/sys_enter_bpf        map writes to the agent's maps (by id,
 *                                 jb_agent_maps), program load / attach /
 *                                 detach, link create / update / detach,
 *                                 raw tracepoint open
 *   tp_btf/signal_generate        a signal sent to an agent process
 *   syscalls/sys_enter_ptrace     PTRACE_ATTACH / PTRACE_SEIZE of one
 *   syscalls/sys_enter_process_vm_readv / _writev   its memory
 *   (open exit, jibril.bpf.c)     an open of /proc/PID/mem of one
 *   syscalls/sys_enter_{init,finit,delete}_module   module calls, where
 *                                 the kernel has those tracepoints (built
 *                                 with modules); else, only when the
 *                                 operator asks, tp_btf/sys_enter (every
 *                                 syscall pays a compare)
 *   (record_file, jibril.bpf.c)   writes, truncation, renames, unlinks,
 *                                 links, opening chmods of the agent's own
 *                                 files (jb_watch JB_WATCH_AGENT), and
 *                                 syscalls/sys_enter_*chown* of them
 *
 * Invariants:
 *  - the actor is never the supervisor (jb_agent_tgid); signals a process
 *    sends itself and signals the kernel raises (SEND_SIG_PRIV, positive
 *    si_code: SIGCHLD, seccomp's SIGSYS, the OOM killer) are not acts of
 *    another task and are skipped;
 *  - a record is built in the per-CPU jb_scratch_tamper; callers have
 *    made sure the actor has a jb_tasks record (ensure_task()) before
 *    they use the path scratch, which ensure_task() clobbers;
 *  - every program here leaves after a compare or two on the calls it
 *    does not care about (bpf() is called often by monitoring tools).
 */
#ifndef JB_TAMPER_BPF_H
#define JB_TAMPER_BPF_H

#define JB_PROC_SUPER_MAGIC 0x9fa0
#define JB_SIGHUP 1
#define JB_SIGCHLD 17
#define JB_SIGCONT 18
#define JB_SIGURG 23
#define JB_SIGWINCH 28
#define JB_PTRACE_ATTACH 16
#define JB_PTRACE_SEIZE 0x4206
#define JB_SEND_SIG_PRIV 1

/* bpf() commands (uapi enum bpf_cmd values; vmlinux.h has them as enum
 * constants, spelt here so the switch reads as a list) */
#define JB_BPF_MAP_UPDATE_ELEM 2
#define JB_BPF_MAP_DELETE_ELEM 3
#define JB_BPF_PROG_LOAD 5
#define JB_BPF_PROG_ATTACH 8
#define JB_BPF_PROG_DETACH 9
#define JB_BPF_RAW_TRACEPOINT_OPEN 17
#define JB_BPF_MAP_LOOKUP_AND_DELETE_ELEM 21
#define JB_BPF_MAP_FREEZE 22
#define JB_BPF_MAP_LOOKUP_AND_DELETE_BATCH 25
#define JB_BPF_MAP_UPDATE_BATCH 26
#define JB_BPF_MAP_DELETE_BATCH 27
#define JB_BPF_LINK_CREATE 28
#define JB_BPF_LINK_UPDATE 29
#define JB_BPF_LINK_DETACH 34

/* set by the loader: the kernel has no module support, so module calls
 * can only fail (JB_TAMPER_FAILED) */
const volatile __u32 jb_no_modules = 0;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct jb_tamper);
} jb_scratch_tamper SEC(".maps");

/* The agent process with this tgid, or NULL. */
static __always_inline struct jb_agent *agent_of(__u32 tgid)
{
	return bpf_map_lookup_elem(&jb_agent, &tgid);
}

/* A fresh record for the current task in the scratch, fields zeroed but
 * the identity; the caller fills the class fields and calls
 * tamper_commit(). NULL if the scratch is missing. */
static __always_inline struct jb_tamper *tamper_begin(struct task_struct *task, __u64 tkey,
						       __u32 klass, __u32 op)
{
	__u32 zero = 0;
	struct jb_tamper *t = bpf_map_lookup_elem(&jb_scratch_tamper, &zero);

	if (!t)
		return NULL;
	__builtin_memset(t, 0, sizeof(*t));
	t->task_key = tkey;
	t->klass = klass;
	t->op = op;
	t->tgid = task->tgid;
	t->uid = task->cred->uid.val;
	bpf_get_current_comm(t->comm, sizeof(t->comm));
	return t;
}

/* Fold the scratch record into jb_tamper: a repeat of the same act
 * bumps count and last_ns, a new one is inserted. */
static __noinline int tamper_commit(struct jb_tamper *t)
{
	struct jb_tamper *old;
	__u64 now, key;
	long err;

	if (!t)
		return 0;
	key = jb_mix64(jb_seed ^ 0x74616d70ULL); /* "tamp" */
	key = jb_mix64(key ^ t->task_key);
	key = jb_mix64(key ^ ((__u64)t->klass | (__u64)t->op << 32));
	key = jb_mix64(key ^ ((__u64)t->target_pid | (__u64)t->target_id << 32));
	key = jb_mix64(key ^ t->arg);
	/* and the name's head: two programs of one type are two acts */
	key = jb_mix64(key ^ *(__u64 *)t->name);
	key = key ? key : 1;
	now = bpf_ktime_get_ns();
	old = bpf_map_lookup_elem(&jb_tamper, &key);
	if (old) {
		__sync_fetch_and_add(&old->count, 1);
		old->last_ns = now;
		return 0;
	}
	t->key = key;
	t->first_ns = now;
	t->last_ns = now;
	t->count = 1;
	err = bpf_map_update_elem(&jb_tamper, &key, t, BPF_NOEXIST);
	if (!err)
		stat_inc(JB_STAT_TAMPER_NEW);
	else if (err == -JB_EEXIST) {
		old = bpf_map_lookup_elem(&jb_tamper, &key);
		if (old)
			__sync_fetch_and_add(&old->count, 1);
	} else {
		stat_inc(JB_STAT_TAMPER_FAIL);
	}
	return 0;
}

/* name/target strings: a string that filled its buffer may be cut */
static __always_inline void tamper_str(struct jb_tamper *t, char *dst, __u32 size,
				       const void *src, int user)
{
	long n;

	if (!src)
		return;
	n = user ? bpf_probe_read_user_str(dst, size, src) : bpf_probe_read_kernel_str(dst, size, src);
	if (n <= 0)
		dst[0] = 0;
	else if (n >= size)
		t->flags |= JB_TAMPER_NAME_CUT;
}

/* --- acts on the agent's processes ---------------------------------------- */

/* One act of the current task on agent process tgid (SIGNAL, PTRACE,
 * PROC_MEM). */
static __noinline int tamper_process(__u32 klass, __u32 op, __u32 tgid, __u32 arg)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct jb_agent *a;
	struct jb_tamper *t;
	__u32 row;
	__u64 tkey;

	a = agent_of(tgid);
	if (!a || task->tgid == jb_agent_tgid || task->tgid == tgid)
		return 0;
	row = a->row;
	tkey = ensure_task(task);
	t = tamper_begin(task, tkey, klass, op);
	if (!t)
		return 0;
	t->target_pid = tgid;
	t->target_row = row;
	t->arg = arg;
	return tamper_commit(t);
}

/*
 * Every signal generated for a task of an agent process. The kernel's own
 * (SEND_SIG_PRIV: the OOM killer, a terminal's ^C; a positive si_code:
 * SIGCHLD, seccomp's SIGSYS, faults) are not another task's act; a
 * negative or zero si_code comes from kill(), tkill(), tgkill(),
 * rt_sigqueueinfo() or pidfd_send_signal() in the sender's context (an
 * agent process never asks for SIGIO, POSIX timers or mqueue
 * notifications, the kernel's other senders of such codes). Harmless
 * signals are skipped, and SIGHUP to the supervisor, its reload.
 */
SEC("tp_btf/signal_generate")
int BPF_PROG(jb_signal, int sig, struct kernel_siginfo *info, struct task_struct *task, int group,
	     int result)
{
	struct jb_agent *a;
	__u32 tgid;

	if (sig == JB_SIGCHLD || sig == JB_SIGCONT || sig == JB_SIGWINCH || sig == JB_SIGURG)
		return 0;
	tgid = task->tgid;
	a = agent_of(tgid);
	if (!a)
		return 0;
	if ((unsigned long)info == JB_SEND_SIG_PRIV)
		return 0;
	if (info && BPF_CORE_READ(info, si_code) > 0)
		return 0;
	if (sig == JB_SIGHUP && a->row == JB_AGENT_ROW_SUPERVISOR)
		return 0;
	return tamper_process(JB_TAMPER_SIGNAL, sig, tgid, result);
}

SEC("tracepoint/syscalls/sys_enter_ptrace")
int jb_ptrace(struct trace_event_raw_sys_enter *ctx)
{
	long req = ctx->args[0];

	if (req != JB_PTRACE_ATTACH && req != JB_PTRACE_SEIZE)
		return 0;
	return tamper_process(JB_TAMPER_PTRACE, req, (__u32)ctx->args[1], 0);
}

SEC("tracepoint/syscalls/sys_enter_process_vm_readv")
int jb_vm_readv(struct trace_event_raw_sys_enter *ctx)
{
	return tamper_process(JB_TAMPER_PROC_MEM, ctx->id, (__u32)ctx->args[0], 0);
}

SEC("tracepoint/syscalls/sys_enter_process_vm_writev")
int jb_vm_writev(struct trace_event_raw_sys_enter *ctx)
{
	return tamper_process(JB_TAMPER_PROC_MEM, ctx->id, (__u32)ctx->args[0], 0);
}

/* An open of /proc/PID/mem (or /proc/PID/task/TID/mem) of an agent
 * process: f is on procfs (the caller checked the superblock). The
 * proc inode names the process; op 0, arg the open's f_mode. */
static __noinline int tamper_proc_open(struct file *f)
{
	struct inode *inode;
	struct proc_inode *pi;
	struct pid *pid;
	char name[4] = {};
	__u32 nr;

	if (!f)
		return 0;
	f = as_btf(f, struct file);
	if (bpf_probe_read_kernel(name, sizeof(name), f->f_path.dentry->d_name.name) ||
	    name[0] != 'm' || name[1] != 'e' || name[2] != 'm' || name[3] != 0)
		return 0;
	inode = f->f_inode;
	pi = (void *)inode - bpf_core_field_offset(struct proc_inode, vfs_inode);
	pid = BPF_CORE_READ(pi, pid);
	if (!pid)
		return 0;
	nr = BPF_CORE_READ(pid, numbers[0].nr);
	return tamper_process(JB_TAMPER_PROC_MEM, 0, nr, f->f_mode);
}

/* --- bpf() ---------------------------------------------------------------- */

/* The struct bpf_map behind fd if its id is one of the agent's maps. */
static __always_inline struct bpf_map *agent_map_of(struct task_struct *task, int fd)
{
	struct file *f = fd_to_file(task, fd);
	struct bpf_map *m;
	__u32 id;

	if (!f)
		return NULL;
	m = (struct bpf_map *)f->private_data;
	if (!m)
		return NULL;
	id = BPF_CORE_READ(m, id);
	if (!id || !bpf_map_lookup_elem(&jb_agent_maps, &id))
		return NULL;
	return m;
}

/* bpf() write of a map of the agent's: op the command, target_id the map
 * id, name the map's name. */
static __noinline int tamper_map_write(__u32 cmd, const void *uattr, __u32 fd_off)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct jb_tamper *t;
	struct bpf_map *m;
	__u32 fd = 0, id;
	__u64 tkey;

	if (task->tgid == jb_agent_tgid)
		return 0;
	if (bpf_probe_read_user(&fd, sizeof(fd), uattr + fd_off))
		return 0;
	m = agent_map_of(task, (int)fd);
	if (!m)
		return 0;
	id = BPF_CORE_READ(m, id);
	tkey = ensure_task(task);
	t = tamper_begin(task, tkey, JB_TAMPER_MAP_WRITE, cmd);
	if (!t)
		return 0;
	t->target_id = id;
	tamper_str(t, t->name, JB_COMM_LEN, &m->name, 0);
	return tamper_commit(t);
}

/* A program's type and name into t (target_id, name). */
static __always_inline void prog_into(struct jb_tamper *t, struct bpf_prog *p)
{
	struct bpf_prog_aux *aux;

	if (!p)
		return;
	t->target_id = BPF_CORE_READ(p, type);
	aux = BPF_CORE_READ(p, aux);
	if (aux)
		tamper_str(t, t->name, JB_COMM_LEN, &aux->name, 0);
}

/* The path of the file behind fd (a cgroup directory, mostly) into
 * t->target. Clobbers the path scratch. */
static __always_inline void target_into(struct jb_tamper *t, struct task_struct *task, int fd)
{
	struct jb_scratch *s = scratch_path();
	struct file *f = fd_to_file(task, fd);

	if (!s || !f || walk_file(s, f) < 0)
		return;
	tamper_str(t, t->target, JB_TAMPER_TARGET_LEN, s->file.path, 0);
}

static __always_inline struct bpf_prog *prog_of_fd(struct task_struct *task, int fd)
{
	struct file *f = fd_to_file(task, fd);

	return f ? (struct bpf_prog *)f->private_data : NULL;
}

/*
 * Program and link operations by anyone but the supervisor. Read-only
 * queries (GET_NEXT_ID, GET_FD_BY_ID, OBJ_GET_INFO_BY_FD, lookups) are
 * not acts. The fds in the attributes are the caller's: resolved in its
 * fd table. A failed call is recorded as well (an attempt).
 */
static __noinline int tamper_prog(__u32 cmd, const void *uattr)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct jb_tamper *t;
	struct bpf_link *l;
	struct file *f;
	__u32 w[3] = {};
	__u64 tkey, name = 0;

	if (task->tgid == jb_agent_tgid)
		return 0;
	tkey = ensure_task(task);
	t = tamper_begin(task, tkey, JB_TAMPER_BPF_PROG, cmd);
	if (!t)
		return 0;
	switch (cmd) {
	case JB_BPF_PROG_LOAD:
		bpf_probe_read_user(&t->target_id, 4,
				    uattr + __builtin_offsetof(union bpf_attr, prog_type));
		bpf_probe_read_user(&t->arg, 4,
				    uattr + __builtin_offsetof(union bpf_attr, expected_attach_type));
		tamper_str(t, t->name, JB_COMM_LEN,
			   uattr + __builtin_offsetof(union bpf_attr, prog_name), 1);
		break;
	case JB_BPF_PROG_ATTACH:
	case JB_BPF_PROG_DETACH:
		/* target_fd, attach_bpf_fd, attach_type */
		if (bpf_probe_read_user(w, sizeof(w), uattr))
			break;
		t->arg = w[2];
		prog_into(t, prog_of_fd(task, (int)w[1]));
		target_into(t, task, (int)w[0]);
		break;
	case JB_BPF_LINK_CREATE:
		/* prog_fd, target_fd (or target_ifindex), attach_type */
		if (bpf_probe_read_user(w, sizeof(w), uattr))
			break;
		t->arg = w[2];
		prog_into(t, prog_of_fd(task, (int)w[0]));
		target_into(t, task, (int)w[1]);
		break;
	case JB_BPF_RAW_TRACEPOINT_OPEN:
		/* {__u64 name; __u32 prog_fd} */
		if (bpf_probe_read_user(&name, sizeof(name), uattr) ||
		    bpf_probe_read_user(&w[0], 4, uattr + 8))
			break;
		prog_into(t, prog_of_fd(task, (int)w[0]));
		if (name)
			tamper_str(t, t->target, JB_TAMPER_TARGET_LEN, (const void *)name, 1);
		break;
	case JB_BPF_LINK_UPDATE:
	case JB_BPF_LINK_DETACH:
		/* link_fd first; the program it runs */
		if (bpf_probe_read_user(&w[0], 4, uattr))
			break;
		f = fd_to_file(task, (int)w[0]);
		if (!f)
			break;
		l = (struct bpf_link *)f->private_data;
		if (l) {
			t->arg = BPF_CORE_READ(l, type);
			prog_into(t, BPF_CORE_READ(l, prog));
		}
		break;
	}
	return tamper_commit(t);
}

SEC("tracepoint/syscalls/sys_enter_bpf")
int jb_bpf_call(struct trace_event_raw_sys_enter *ctx)
{
	__u32 cmd = (__u32)ctx->args[0];
	const void *uattr = (const void *)ctx->args[1];

	switch (cmd) {
	case JB_BPF_MAP_UPDATE_ELEM:
	case JB_BPF_MAP_DELETE_ELEM:
	case JB_BPF_MAP_LOOKUP_AND_DELETE_ELEM:
	case JB_BPF_MAP_FREEZE:
		return tamper_map_write(cmd, uattr, __builtin_offsetof(union bpf_attr, map_fd));
	case JB_BPF_MAP_LOOKUP_AND_DELETE_BATCH:
	case JB_BPF_MAP_UPDATE_BATCH:
	case JB_BPF_MAP_DELETE_BATCH:
		return tamper_map_write(cmd, uattr,
					__builtin_offsetof(union bpf_attr, batch.map_fd));
	case JB_BPF_PROG_LOAD:
	case JB_BPF_PROG_ATTACH:
	case JB_BPF_PROG_DETACH:
	case JB_BPF_RAW_TRACEPOINT_OPEN:
	case JB_BPF_LINK_CREATE:
	case JB_BPF_LINK_UPDATE:
	case JB_BPF_LINK_DETACH:
		return tamper_prog(cmd, uattr);
	}
	return 0;
}

/* --- kernel modules --------------------------------------------------------- */

/* op the syscall number, name the module (delete_module) or the file
 * (finit_module) */
static __noinline int tamper_module(__u32 nr, const char *uname, int fd)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct jb_tamper *t;
	struct file *f;
	__u64 tkey;

	if (task->tgid == jb_agent_tgid)
		return 0;
	tkey = ensure_task(task);
	t = tamper_begin(task, tkey, JB_TAMPER_MODULE, nr);
	if (!t)
		return 0;
	if (jb_no_modules)
		t->flags |= JB_TAMPER_FAILED;
	if (uname)
		tamper_str(t, t->name, JB_TAMPER_NAME_LEN, uname, 1);
	if (fd >= 0) {
		struct jb_scratch *s = scratch_path();

		f = fd_to_file(task, fd);
		if (s && f && walk_file(s, f) >= 0)
			tamper_str(t, t->name, JB_TAMPER_NAME_LEN, s->file.path, 0);
	}
	return tamper_commit(t);
}

/* where the kernel has module support (these tracepoints exist only then;
 * the loader turns missing ones off) */
SEC("tracepoint/syscalls/sys_enter_init_module")
int jb_init_module(struct trace_event_raw_sys_enter *ctx)
{
	return tamper_module(ctx->id, NULL, -1);
}

SEC("tracepoint/syscalls/sys_enter_finit_module")
int jb_finit_module(struct trace_event_raw_sys_enter *ctx)
{
	return tamper_module(ctx->id, NULL, (int)ctx->args[0]);
}

SEC("tracepoint/syscalls/sys_enter_delete_module")
int jb_delete_module(struct trace_event_raw_sys_enter *ctx)
{
	return tamper_module(ctx->id, (const char *)ctx->args[0], -1);
}

/* Kernels without module support have no such tracepoints: only the raw
 * syscall entry sees the attempt, at the price of a program run on every
 * syscall of every task. Loaded only when [tamper] module_syscalls = raw
 * (the loader sets autoload); x86_64 syscall numbers. */
#define JB_NR_INIT_MODULE 175
#define JB_NR_DELETE_MODULE 176
#define JB_NR_FINIT_MODULE 313

SEC("tp_btf/sys_enter")
int BPF_PROG(jb_module_raw, struct pt_regs *regs, long id)
{
	if (id != JB_NR_INIT_MODULE && id != JB_NR_DELETE_MODULE && id != JB_NR_FINIT_MODULE)
		return 0;
	if (id == JB_NR_DELETE_MODULE)
		return tamper_module(id, (const char *)PT_REGS_PARM1_CORE_SYSCALL(regs), -1);
	if (id == JB_NR_FINIT_MODULE)
		return tamper_module(id, NULL, (int)PT_REGS_PARM1_CORE_SYSCALL(regs));
	return tamper_module(id, NULL, -1);
}

/* --- the agent's own files ---------------------------------------------------- */

#define JB_ACT_CHANGES (JB_ACT_WRITE | JB_ACT_TRUNCATE | JB_ACT_RENAME | JB_ACT_UNLINK | \
			JB_ACT_LINK | JB_ACT_CREATE)

/* s->file (its path just built) is one of the agent's files (watch flags
 * wf) and task_key's task did act to it (mode: a chmod's new mode). A
 * change of content or name is tampering; so is a chmod that lets group
 * or others write it, or read it when it is private (recipes). Called
 * from record_file() with the path in the scratch: nothing here may
 * clobber it before it is copied. */
static __noinline int tamper_file(struct jb_scratch *s, __u64 task_key, __u32 act, __u32 wf,
				  __u32 mode)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct jb_tamper *t;
	__u32 op = act & JB_ACT_CHANGES;

	if (!s)
		return 0;
	if ((act & JB_ACT_CHMOD) &&
	    ((mode & 022) || ((wf & JB_WATCH_PRIVATE) && (mode & 044))))
		op |= JB_ACT_CHMOD;
	if (act & JB_TAMPER_OP_CHOWN)
		op |= JB_TAMPER_OP_CHOWN;
	if (!op || task->tgid == jb_agent_tgid)
		return 0;
	t = tamper_begin(task, task_key, JB_TAMPER_FILE, op);
	if (!t)
		return 0;
	t->arg = mode;
	tamper_str(t, t->name, JB_TAMPER_NAME_LEN, s->file.path, 0);
	return tamper_commit(t);
}

#endif
