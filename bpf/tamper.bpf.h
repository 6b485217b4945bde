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
#define JB_PIDFS_MAGIC 0x50494446
#define JB_SIGHUP 1
#define JB_SIGUSR1 10
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

/* Only a privileged task can act on the agent: its processes run as uids of
 * their own, its maps are reached by id only with CAP_SYS_ADMIN, its files
 * are root's and writable by no one else (owner.c), modules and programs
 * need capabilities. An unprivileged attempt fails in the kernel, and
 * recording it would let any user flood jb_tamper and evict real records:
 * attempts (syscall entries) are recorded only for tasks that are root or
 * hold a capability, in the initial user namespace. */
static __always_inline int privileged(struct task_struct *task)
{
	const struct cred *c = task->cred;

	return c->user_ns->level == 0 && (c->euid.val == 0 || c->cap_effective.val != 0);
}

/* f is an anonymous-inode file of that name ("bpf-map", "bpf-prog",
 * "bpf_link", "[pidfd]"): what a BPF object's or pidfd's private_data is
 * may only be read then. */
static __always_inline int anon_is(struct file *f, const char *want, int len)
{
	char name[10] = {};

	if (!f || len > 9)
		return 0;
	f = as_btf(f, struct file);
	if (bpf_probe_read_kernel_str(name, sizeof(name), f->f_path.dentry->d_name.name) != len + 1)
		return 0;
	for (int i = 0; i < len; i++)
		if (name[i] != want[i])
			return 0;
	return 1;
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
	/* a signal got past the kernel's permission check already */
	if (klass != JB_TAMPER_SIGNAL && !privileged(task))
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
 * SIGCHLD, seccomp's SIGSYS, faults, SIGIO) are not sent from the
 * sender's context, so the current task is not the one to blame: a
 * SIGIO (any signal chosen with F_SETSIG) aimed at the agent is recorded
 * where it is set up, by the fcntl(F_SETOWN) that names an agent process
 * (tamper_setown()). A negative or zero si_code comes from kill(),
 * tkill(), tgkill(), rt_sigqueueinfo() or pidfd_send_signal() in the
 * sender's context (an agent process never asks for POSIX timers or
 * mqueue notifications, the kernel's other senders of such codes).
 * Harmless signals are skipped, and the supervisor's two control signals
 * to it: SIGHUP (reload) and SIGUSR1 (reopen an output file someone
 * renamed; one still in place is left alone, so the signal cannot make a
 * printer restart: supervisor/outfile.c). Both to a child are reported.
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
	if ((sig == JB_SIGHUP || sig == JB_SIGUSR1) && a->row == JB_AGENT_ROW_SUPERVISOR)
		return 0;
	return tamper_process(JB_TAMPER_SIGNAL, sig, tgid, result);
}

SEC("tracepoint/syscalls/sys_enter_ptrace")
int JB_SYS_ENTER(jb_ptrace, ptrace)
{
	long req = a0;

	if (req != JB_PTRACE_ATTACH && req != JB_PTRACE_SEIZE)
		return 0;
	return tamper_process(JB_TAMPER_PTRACE, req, (__u32)a1, 0);
}

SEC("tracepoint/syscalls/sys_enter_process_vm_readv")
int JB_SYS_ENTER(jb_vm_readv, process_vm_readv)
{
	return tamper_process(JB_TAMPER_PROC_MEM, id, (__u32)a0, 0);
}

SEC("tracepoint/syscalls/sys_enter_process_vm_writev")
int JB_SYS_ENTER(jb_vm_writev, process_vm_writev)
{
	return tamper_process(JB_TAMPER_PROC_MEM, id, (__u32)a0, 0);
}

/* pidfd_getfd(): a copy of one of an agent process's descriptors (its
 * IPC socket, the snapshot), without ptrace. op the syscall number. */
static __noinline int tamper_pidfd_getfd(long nr, int pidfd)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct file *f = fd_to_file(task, pidfd);
	struct pid *pid;

	/* a pidfd: on pidfs (6.9 and later: the pid is the inode's), or an
	 * anonymous "[pidfd]" file (the pid is the file's) */
	if (!f)
		return 0;
	f = as_btf(f, struct file);
	if (f->f_inode->i_sb->s_magic == JB_PIDFS_MAGIC)
		pid = (struct pid *)f->f_inode->i_private;
	else if (anon_is(f, "[pidfd]", 7))
		pid = (struct pid *)f->private_data;
	else
		return 0;
	if (!pid)
		return 0;
	return tamper_process(JB_TAMPER_PROC_MEM, nr, BPF_CORE_READ(pid, numbers[0].nr), 0);
}

SEC("tracepoint/syscalls/sys_enter_pidfd_getfd")
int JB_SYS_ENTER(jb_pidfd_getfd, pidfd_getfd)
{
	return tamper_pidfd_getfd(id, (int)a0);
}

/* fcntl(F_SETOWN / F_SETOWN_EX) naming an agent process (or, negative,
 * its process group): its I/O signals (any signal, with F_SETSIG: SIGKILL
 * too) would go to the agent, sent later from wherever the I/O happens.
 * Recorded here, in the task that asks for it, as a signal (op SIGIO,
 * arg the fcntl command). Called from jb_fcntl() for those commands. */
#define JB_SIGIO 29
#define JB_F_SETOWN 8
#define JB_F_SETOWN_EX 15

static __noinline int tamper_setown(long cmd, long arg)
{
	long pid = arg;

	/* setting an owner is not checked; the signal later is (an
	 * unprivileged owner's SIGIO to the agent's uids is refused) */
	if (!privileged(bpf_get_current_task_btf()))
		return 0;

	if (cmd == JB_F_SETOWN_EX) {
		struct {
			int type;
			int pid;
		} ex = {};

		if (bpf_probe_read_user(&ex, sizeof(ex), (void *)arg))
			return 0;
		pid = ex.pid;
	}
	if (pid < 0)
		pid = -pid;
	if (pid <= 0)
		return 0;
	return tamper_process(JB_TAMPER_SIGNAL, JB_SIGIO, (__u32)pid, (__u32)cmd);
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

	if (!anon_is(f, "bpf-map", 7))
		return NULL;
	m = (struct bpf_map *)as_btf(f, struct file)->private_data;
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

	if (task->tgid == jb_agent_tgid || !privileged(task))
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

	/* an fd 0 that is just stdin (an optional field left 0) names nothing */
	if (!s || !f || fd <= 0 || walk_file(s, f) < 0)
		return;
	tamper_str(t, t->target, JB_TAMPER_TARGET_LEN, s->file.path, 0);
}

static __always_inline struct bpf_prog *prog_of_fd(struct task_struct *task, int fd)
{
	struct file *f = fd_to_file(task, fd);

	return anon_is(f, "bpf-prog", 8) ? (struct bpf_prog *)as_btf(f, struct file)->private_data
					 : NULL;
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

	if (task->tgid == jb_agent_tgid || !privileged(task))
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
		if (!anon_is(f, "bpf_link", 8))
			break;
		l = (struct bpf_link *)as_btf(f, struct file)->private_data;
		if (l) {
			t->arg = BPF_CORE_READ(l, type);
			prog_into(t, BPF_CORE_READ(l, prog));
		}
		break;
	}
	return tamper_commit(t);
}

/* one bpf() call: cmd and its attributes in user memory */
static __always_inline int on_bpf(__u32 cmd, const void *uattr)
{
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

SEC("tracepoint/syscalls/sys_enter_bpf")
int JB_SYS_ENTER(jb_bpf_call, bpf)
{
	return on_bpf((__u32)a0, (const void *)a1);
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

	if (task->tgid == jb_agent_tgid || !privileged(task))
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
int JB_SYS_ENTER(jb_init_module, init_module)
{
	return tamper_module(id, NULL, -1);
}

SEC("tracepoint/syscalls/sys_enter_finit_module")
int JB_SYS_ENTER(jb_finit_module, finit_module)
{
	return tamper_module(id, NULL, (int)a0);
}

SEC("tracepoint/syscalls/sys_enter_delete_module")
int JB_SYS_ENTER(jb_delete_module, delete_module)
{
	return tamper_module(id, (const char *)a0, -1);
}

/* --- the raw syscall entry (opt-in: [tamper] raw_syscall_hook) ------------ */

/* x86_64 syscall numbers of the module calls */
#define JB_NR_INIT_MODULE 175
#define JB_NR_DELETE_MODULE 176
#define JB_NR_FINIT_MODULE 313
#define JB_NR_PROCESS_VM_READV 310
#define JB_NR_PROCESS_VM_WRITEV 311

/* set by the loader: the module calls have no syscalls: tracepoints here,
 * so the raw entry watches them */
const volatile __u32 jb_raw_modules = 0;

static __noinline int agent_file_act(const char *upath, int dfd, int fd, __u32 act, __u32 mode);

#if defined(__TARGET_ARCH_x86)
/*
 * 32-bit syscalls (int $0x80, also from a 64-bit program, where the kernel
 * has IA32 emulation) never reach the syscalls: tracepoints: every file
 * and tamper hook on them is blind to such a call. The raw entry sees
 * them; here the acts on the agent are sent to the same handlers (i386
 * numbers, arguments in bx, cx, dx, si). Ordinary file detections of
 * 32-bit calls are not made here: that is the evasion this raw hook
 * reports for the agent's own objects only (docs/SECURITY.md).
 */
#define JB_TS_COMPAT 0x0002
#define JB_O_ACCMODE 3
#define JB_O_CREAT 0100
#define JB_ACT_CHANGES_O (JB_O_ACCMODE | JB_O_CREAT)

static __noinline int compat_enter(struct pt_regs *regs, long id)
{
	__u32 a0 = (__u32)BPF_CORE_READ(regs, bx), a1 = (__u32)BPF_CORE_READ(regs, cx);
	__u32 a2 = (__u32)BPF_CORE_READ(regs, dx), a3 = (__u32)BPF_CORE_READ(regs, si);
	const char *p0 = (const char *)(unsigned long)a0, *p1 = (const char *)(unsigned long)a1;
	const char *p3 = (const char *)(unsigned long)a3;
	__u32 act;

	switch (id) {
	case 357: /* bpf */
		return on_bpf(a0, p1);
	case 26: /* ptrace */
		if (a0 != JB_PTRACE_ATTACH && a0 != JB_PTRACE_SEIZE)
			return 0;
		return tamper_process(JB_TAMPER_PTRACE, a0, a1, 0);
	case 347:
		return tamper_process(JB_TAMPER_PROC_MEM, JB_NR_PROCESS_VM_READV, a0, 0);
	case 348:
		return tamper_process(JB_TAMPER_PROC_MEM, JB_NR_PROCESS_VM_WRITEV, a0, 0);
	case 438: /* pidfd_getfd */
		return tamper_pidfd_getfd(438, (int)a0);
	case 128:
		return tamper_module(JB_NR_INIT_MODULE, NULL, -1);
	case 129:
		return tamper_module(JB_NR_DELETE_MODULE, p0, -1);
	case 350:
		return tamper_module(JB_NR_FINIT_MODULE, NULL, (int)a0);
	case 55:  /* fcntl */
	case 221: /* fcntl64 */
		if (a1 == JB_F_SETOWN || a1 == JB_F_SETOWN_EX)
			return tamper_setown(a1, a1 == JB_F_SETOWN ? (long)(int)a2 : (long)a2);
		return 0;
	case 5: /* open(path, flags) */
	case 295: /* openat(dfd, path, flags) */
		if (id == 295) {
			p0 = p1;
			a1 = a2;
		}
		act = (a1 & JB_ACT_CHANGES_O) ? JB_ACT_WRITE : 0;
		if (a1 & JB_O_TRUNC)
			act |= JB_ACT_TRUNCATE;
		if (!act)
			return 0;
		return agent_file_act(p0, id == 295 ? (int)a0 : JB_AT_FDCWD, -1, act, 0);
	case 8: /* creat */
		return agent_file_act(p0, JB_AT_FDCWD, -1, JB_ACT_WRITE | JB_ACT_TRUNCATE, 0);
	case 10: /* unlink */
		return agent_file_act(p0, JB_AT_FDCWD, -1, JB_ACT_UNLINK, 0);
	case 301: /* unlinkat */
		return agent_file_act(p1, (int)a0, -1, JB_ACT_UNLINK, 0);
	case 38: /* rename */
		agent_file_act(p0, JB_AT_FDCWD, -1, JB_ACT_RENAME, 0);
		return agent_file_act(p1, JB_AT_FDCWD, -1, JB_ACT_RENAME, 0);
	case 302: /* renameat */
	case 353: /* renameat2 */
		agent_file_act(p1, (int)a0, -1, JB_ACT_RENAME, 0);
		return agent_file_act(p3, (int)a2, -1, JB_ACT_RENAME, 0);
	case 15: /* chmod */
		return agent_file_act(p0, JB_AT_FDCWD, -1, JB_ACT_CHMOD, a1);
	case 306: /* fchmodat */
	case 452: /* fchmodat2 */
		return agent_file_act(p1, (int)a0, -1, JB_ACT_CHMOD, a2);
	case 94: /* fchmod */
		return agent_file_act(NULL, 0, (int)a0, JB_ACT_CHMOD, a1);
	case 92:  /* truncate */
	case 193: /* truncate64 */
		return agent_file_act(p0, JB_AT_FDCWD, -1, JB_ACT_TRUNCATE, 0);
	case 93:  /* ftruncate */
	case 194: /* ftruncate64 */
		return agent_file_act(NULL, 0, (int)a0, JB_ACT_TRUNCATE, 0);
	case 16:  /* lchown */
	case 182: /* chown */
	case 198: /* lchown32 */
	case 212: /* chown32 */
		return agent_file_act(p0, JB_AT_FDCWD, -1, JB_TAMPER_OP_CHOWN, 0);
	case 95:  /* fchown */
	case 207: /* fchown32 */
		return agent_file_act(NULL, 0, (int)a0, JB_TAMPER_OP_CHOWN, 0);
	case 298: /* fchownat */
		return agent_file_act(p1, (int)a0, -1, JB_TAMPER_OP_CHOWN, 0);
	case 9: /* link */
		return agent_file_act(p0, JB_AT_FDCWD, -1, JB_ACT_LINK, 0);
	case 303: /* linkat */
		return agent_file_act(p1, (int)a0, -1, JB_ACT_LINK, 0);
	}
	return 0;
}
#endif

/*
 * Every syscall of every task passes here, so it leaves at once unless
 * the call is 32-bit (x86: the task is in a compat syscall) or, on kernels
 * without module tracepoints, a module call. Loaded only on the
 * operator's word; what it costs is measured in docs/SECURITY.md.
 */
SEC("tp_btf/sys_enter")
int BPF_PROG(jb_raw_enter, struct pt_regs *regs, long id)
{
#if defined(__TARGET_ARCH_x86)
	if (bpf_get_current_task_btf()->thread_info.status & JB_TS_COMPAT)
		return compat_enter(regs, id);
#endif
	if (!jb_raw_modules ||
	    (id != JB_NR_INIT_MODULE && id != JB_NR_DELETE_MODULE && id != JB_NR_FINIT_MODULE))
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
	if (!op || task->tgid == jb_agent_tgid || !privileged(task))
		return 0;
	t = tamper_begin(task, task_key, JB_TAMPER_FILE, op);
	if (!t)
		return 0;
	t->arg = mode;
	tamper_str(t, t->name, JB_TAMPER_NAME_LEN, s->file.path, 0);
	return tamper_commit(t);
}

/* An act named by a path (or an fd) on one of the agent's files, outside
 * the ordinary file hooks (chown, which has no link action; 32-bit calls):
 * resolved like the ordinary hooks resolve it, looked up in jb_watch. */
static __noinline int agent_file_act(const char *upath, int dfd, int fd, __u32 act, __u32 mode)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct jb_scratch *s;
	__u32 *wf;
	__u64 fkey, tkey;

	if (is_agent(task) || !privileged(task))
		return 0;
	s = scratch_path();
	if (!s)
		return 0;
	tkey = ensure_task(task); /* before the path: it reuses the scratch */
	if ((upath ? str_path(s, task, upath, dfd, 0) : walk_file(s, fd_to_file(task, fd))) < 0)
		return 0;
	fkey = jb_hash_path(jb_seed, s->file.path);
	wf = bpf_map_lookup_elem(&jb_watch, &fkey);
	if (wf && (*wf & JB_WATCH_AGENT))
		tamper_file(s, tkey, act, *wf, mode);
	return 0;
}

#endif
