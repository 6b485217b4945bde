// SPDX-License-Identifier: GPL-2.0
/*
 * jibril.bpf.c - the kernel side of jibril: one CO-RE object that keeps a
 * compact, de-duplicated picture of what processes do, in maps only.
 *
 * Hooks (tracepoints only: this class of kernel has no kprobes and refuses
 * fentry/fexit/lsm with EPERM):
 *   tp_btf/sched_process_{fork,exec,exit}  -> jb_tasks (+ jb_files/jb_links
 *                                             for the executed file)
 *   syscalls: exit of open/openat/openat2, enter of unlink(at),
 *   rename(at/at2), chmod/fchmod/fchmodat(2)  -> jb_files + jb_links
 *   syscalls: enter+exit of connect           -> jb_flows (egress)
 *   tp_btf/inet_sock_set_state                -> jb_flows (ingress, accepted)
 * tp_btf where the event has one (cheaper, needs no tracefs); syscall
 * events only exist as tracefs tracepoints. A missing optional syscall
 * tracepoint is the loader's business (it turns the program off).
 *
 * Why no ring/perf buffer: per-event streaming is what this product exists
 * to avoid (measured ~150 % overhead per open). Every event is folded into
 * an LRU hash record keyed by a seeded hash, so repeated behaviour costs a
 * lookup and a few stores, and user space reads the maps at its own pace.
 *
 * Paths are rebuilt from dentries, up to the root of the task's mount
 * namespace: a container sees its own paths, a chroot does not hide the
 * real location. Symlinks are resolved, "." / ".." never appear from the
 * walk; only strings taken from syscall arguments may carry them.
 *
 * Invariants:
 *  - record layouts and key hashes come from jibril.h only; user space
 *    computes the same task and file keys (task key from /proc/PID/stat
 *    field 22, file key from the stored path buffer).
 *  - a stored path is NUL terminated inside its 256-byte buffer and hashed
 *    exactly as stored, from an 8-byte aligned map value field.
 *  - inserts use BPF_NOEXIST and count *_NEW only when they created the
 *    record, so user space can derive evictions; failures count *_FAIL.
 *  - links only ever gain action bits (atomic or); flows only gain count.
 *  - the per-CPU scratch maps are used only from process context programs
 *    (syscall and sched tracepoints run with preemption disabled, so one
 *    program at a time per CPU). The inet_sock_set_state program can run in
 *    softirq on top of them and therefore must use the stack only.
 *  - events of jb_agent_tgid are dropped, except task records.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>
#include "jibril.h"

char LICENSE[] SEC("license") = "GPL";

/* set by the loader before load */
const volatile __u64 jb_seed = 0;
const volatile __u32 jb_agent_tgid = 0;

/* uapi / kernel constants that vmlinux.h does not carry (macros) */
#define JB_AT_FDCWD (-100)
#define JB_EEXIST 17
#define JB_AF_INET 2
#define JB_AF_INET6 10
#define JB_O_TRUNC 01000
#define JB_S_IFMT 0170000
#define JB_S_IFSOCK 0140000
#define JB_TCP_ESTABLISHED 1
#define JB_TCP_SYN_RECV 3
/* fs.h bits. FMODE_CREATED has been 0x100000 since it appeared (4.19);
 * checked on 6.18: an O_CREAT open of an existing file does not get it, a
 * new file does (so it is not FMODE_OPENED, which every open has) */
#define JB_FMODE_READ 0x1
#define JB_FMODE_WRITE 0x2
#define JB_FMODE_CREATED 0x100000
/* /proc/PID/stat field 22 is start_boottime in USER_HZ (100) ticks */
#define JB_NSEC_PER_TICK 10000000ULL

/* Dentry walk bound: path components plus mount crossings. A component
 * takes at least 2 of the 255 bytes, so 128 components fill the buffer
 * whatever happens; the rest is for mount crossings. Longer or deeper paths
 * are stored as their tail and flagged JB_FILE_PATH_CUT. */
#define JB_WALK_MAX 160
#define JB_PATH_MASK (JB_PATH_LEN - 1)

/* --- maps ---------------------------------------------------------------- */

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u64);
	__type(value, struct jb_task);
} jb_tasks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct jb_file);
} jb_files SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 32768);
	__type(key, struct jb_link_key);
	__type(value, struct jb_link);
} jb_links SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u64);
	__type(value, struct jb_flow);
} jb_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, JB_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} jb_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct jb_meta);
} jb_meta SEC(".maps");

/* Path scratch. file.path is where a path ends up and is hashed (map values
 * are 8-byte aligned, path is at offset 24). spill directly follows it so a
 * constant-size copy to path + (offset & 255) always stays inside the value:
 * that is what lets the verifier accept appends without range tracking.
 * walk is where the dentry walk builds the path backwards (first half), the
 * second half absorbs the constant-size copy out of it. */
struct jb_scratch {
	struct jb_file file;
	char spill[JB_PATH_LEN];
	char walk[2 * JB_PATH_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct jb_scratch);
} jb_scratch_path SEC(".maps");

/* a jb_task is 600 bytes: too big for the 512-byte stack */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct jb_task);
} jb_scratch_task SEC(".maps");

/* connect(): the socket's local side is only known at exit, the peer only
 * at enter (user memory), so the peer waits here, keyed by pid_tgid. LRU so
 * that a thread killed inside connect() cannot leak an entry for ever. */
struct jb_pending_conn {
	__u8 daddr[16];
	__u16 dport;
	__u16 family;
	__s32 fd;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, struct jb_pending_conn);
} jb_pending_conn SEC(".maps");

/* --- small helpers ------------------------------------------------------- */

static __always_inline void stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&jb_stats, &idx);

	/* atomic: the softirq ingress program may interrupt a counter update */
	if (v)
		__sync_fetch_and_add(v, 1);
}

static __always_inline struct jb_scratch *scratch_path(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&jb_scratch_path, &zero);
}

static __always_inline struct jb_task *scratch_task(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&jb_scratch_task, &zero);
}

/*
 * Task pointers handed around here are always BTF pointers (tp_btf
 * arguments, bpf_get_current_task_btf()), so fields are read with direct
 * CO-RE loads: one instruction each instead of a bpf_probe_read_kernel()
 * call, which matters on the open() path. Pointers that come out of a probe
 * read (struct file from the fd table, dentries, mounts) are plain numbers
 * to the verifier and are read with BPF_CORE_READ.
 */
static __always_inline __u64 start_ticks_of(struct task_struct *task)
{
	/* the process start, not the thread's: the key names the process, and
	 * de_thread() gives an exec'ing thread its leader's start time */
	return task->group_leader->start_boottime / JB_NSEC_PER_TICK;
}

static __always_inline __u64 task_key_of(struct task_struct *task)
{
	return jb_hash_task(jb_seed, task->tgid, start_ticks_of(task));
}

static __always_inline struct file *fd_to_file(struct task_struct *task, __s64 fd)
{
	struct files_struct *files = task->files;
	struct fdtable *fdt;
	struct file *f = NULL;

	if (!files || fd < 0)
		return NULL;
	fdt = files->fdt;
	if (!fdt || fd >= fdt->max_fds)
		return NULL;
	/* fd is a struct file **: the verifier has no type for the element */
	if (bpf_probe_read_kernel(&f, sizeof(f), &fdt->fd[fd]))
		return NULL;
	return f;
}

/* --- paths --------------------------------------------------------------- */

/*
 * Absolute path of (dentry, vfsmount) into s->file.path, walking d_parent up
 * and crossing mounts up to the root of the mount namespace. Built backwards
 * in s->walk, components placed at masked offsets so every access is
 * provably inside the buffer. A path that does not fit keeps its tail and
 * gets JB_FILE_PATH_CUT. ".." is never normalised: dentries have none.
 *
 * The loop runs under bpf_loop(): as a plain bounded loop the verifier
 * walks every iteration with every branch combination and gives up at 1M
 * instructions; a callback's states converge after a few rounds.
 */
struct walk_ctx {
	struct jb_scratch *s;
	struct dentry *dentry;
	struct mount *mnt;
	struct dentry *mnt_root;
	__u64 pos; /* index of the first byte of the path built so far */
	int done;  /* reached a root: the path is complete */
};

/* d_parent is directly followed by d_name (struct qstr: hash, len, name) in
 * every kernel since 2.6, and mnt_parent by mnt_mountpoint and the embedded
 * vfsmount, whose first field is mnt_root: one probe read fetches each
 * group. The offsets are still CO-RE relocated and checked; the checks are
 * load-time constants, so the fallback costs nothing where unused. */
struct dentry_up {
	struct dentry *parent;
	__u32 hash;
	__u32 len;
	const unsigned char *name;
};

struct mount_up {
	struct mount *parent;
	struct dentry *mountpoint;
	struct dentry *root; /* parent->mnt.mnt_root */
};

static __always_inline int read_dentry_up(struct dentry_up *u, struct dentry *d)
{
	if (bpf_core_field_offset(struct dentry, d_name) ==
		    bpf_core_field_offset(struct dentry, d_parent) + 8 &&
	    bpf_core_field_offset(struct qstr, len) == 4 &&
	    bpf_core_field_offset(struct qstr, name) == 8)
		return bpf_probe_read_kernel(u, sizeof(*u), &d->d_parent);
	u->parent = BPF_CORE_READ(d, d_parent);
	u->len = BPF_CORE_READ(d, d_name.len);
	u->name = BPF_CORE_READ(d, d_name.name);
	return 0;
}

static __always_inline int read_mount_up(struct mount_up *u, struct mount *m)
{
	struct mount *parent;

	if (bpf_core_field_offset(struct mount, mnt_mountpoint) ==
		    bpf_core_field_offset(struct mount, mnt_parent) + 8 &&
	    bpf_core_field_offset(struct mount, mnt) ==
		    bpf_core_field_offset(struct mount, mnt_parent) + 16 &&
	    bpf_core_field_offset(struct vfsmount, mnt_root) == 0) {
		if (bpf_probe_read_kernel(u, 16, &m->mnt_parent))
			return -1;
		/* the root is the *parent's* mnt_root, one more read (via a
		 * local: BPF_CORE_READ would relocate u->parent itself) */
		parent = u->parent;
		u->root = BPF_CORE_READ(parent, mnt.mnt_root);
		return 0;
	}
	parent = BPF_CORE_READ(m, mnt_parent);
	u->parent = parent;
	u->mountpoint = BPF_CORE_READ(m, mnt_mountpoint);
	u->root = BPF_CORE_READ(parent, mnt.mnt_root);
	return 0;
}

static long walk_step(__u32 i, void *data)
{
	struct walk_ctx *c = data;
	struct jb_scratch *s = c->s;
	struct dentry *dentry = c->dentry;
	struct dentry_up u;
	__u64 len, pos = c->pos;
	int top;

	if (dentry == c->mnt_root) {
		struct mount_up m;

		/* a mount is its own parent at the namespace root */
		if (read_mount_up(&m, c->mnt) || !m.parent || m.parent == c->mnt) {
			c->done = 1;
			return 1;
		}
		c->dentry = m.mountpoint;
		c->mnt = m.parent;
		c->mnt_root = m.root;
		return 0;
	}
	if (read_dentry_up(&u, dentry))
		return 1;
	/* A dentry that is its own parent but not a mount root is a pseudo
	 * file (memfd, anon inode, pipe) or a detached tree. Its name is
	 * still the best path there is: "/memfd:x" for a fileless exe, as
	 * /proc/PID/exe shows it. Nameless ones (pipes) stay "/". */
	top = !u.parent || u.parent == dentry;
	len = u.len;
	if (top && len == 0) {
		c->done = 1;
		return 1;
	}
	if (len + 1 > pos)
		return 1; /* does not fit: keep the tail */
	/* the mask changes nothing (no wrap after the check) but keeps pos in
	 * one fixed range, so the verifier sees each round as the same state */
	pos = (pos - len - 1) & JB_PATH_MASK;
	bpf_probe_read_kernel(&s->walk[(pos + 1) & JB_PATH_MASK], len & JB_PATH_MASK, u.name);
	s->walk[pos & JB_PATH_MASK] = '/';
	c->pos = pos;
	c->dentry = u.parent;
	if (top) {
		c->done = 1;
		return 1;
	}
	return 0;
}

/* Returns the length, or -1 if nothing was readable. */
static __noinline int walk_path(struct jb_scratch *s, struct dentry *dentry,
				struct vfsmount *vfsmnt)
{
	struct walk_ctx c = {};
	__u64 pos;

	if (!s || !dentry || !vfsmnt)
		return -1;
	c.s = s;
	c.dentry = dentry;
	c.mnt = (void *)vfsmnt - bpf_core_field_offset(struct mount, mnt);
	c.mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
	c.pos = JB_PATH_LEN - 1;
	s->walk[JB_PATH_LEN - 1] = 0;
	bpf_loop(JB_WALK_MAX, walk_step, &c, 0);

	if (!c.done)
		s->file.flags |= JB_FILE_PATH_CUT;
	pos = c.pos;
	if (pos >= JB_PATH_LEN - 1) {
		/* the walk started at the root itself */
		pos = JB_PATH_LEN - 2;
		s->walk[pos] = '/';
	}
	if (bpf_probe_read_kernel(s->file.path, JB_PATH_LEN, &s->walk[pos & JB_PATH_MASK]))
		return -1;
	return (int)(JB_PATH_LEN - 1 - (pos & JB_PATH_MASK));
}

static __always_inline int walk_file(struct jb_scratch *s, struct file *f)
{
	struct path p;

	s->file.flags = 0;
	if (!f || BPF_CORE_READ_INTO(&p, f, f_path))
		return -1;
	return walk_path(s, p.dentry, p.mnt);
}

static __always_inline long read_str(void *dst, __u32 size, const void *src, int kern)
{
	return kern ? bpf_probe_read_kernel_str(dst, size, src)
		    : bpf_probe_read_user_str(dst, size, src);
}

/*
 * Path named by a string (a syscall's user argument, or with kern set a
 * kernel string such as bprm->filename) relative to dirfd, into
 * s->file.path: absolute as given, else base (cwd or dirfd's file) + "/" +
 * string. On any failure the string is kept as given with JB_FILE_RELATIVE.
 */
static __noinline int str_path(struct jb_scratch *s, struct task_struct *task,
			       const char *upath, int dirfd, int kern)
{
	struct dentry *d;
	struct vfsmount *m;
	long n;
	int blen;
	__u32 off, skip = 0;

	if (!s)
		return -1;
	s->file.flags = 0;
	n = read_str(s->file.path, JB_PATH_LEN, upath, kern);
	if (n <= 0) {
		stat_inc(JB_STAT_PATH_FAIL);
		return -1;
	}
	if (s->file.path[0] == '/') {
		/* 256 means the string filled the buffer: maybe cut */
		if (n >= JB_PATH_LEN)
			s->file.flags |= JB_FILE_PATH_CUT;
		return 0;
	}

	/* "./x" and "x" name the same file: drop a leading "./" (twice at
	 * most) so both get one key; "." alone names the base itself */
	if (s->file.path[0] == '.' && s->file.path[1] == '/') {
		skip = 2;
		if (s->file.path[2] == '.' && s->file.path[3] == '/')
			skip = 4;
	}
	if (s->file.path[0] == '.' && s->file.path[1] == 0)
		n = 1;

	if (dirfd == JB_AT_FDCWD) {
		struct fs_struct *fs = task->fs;

		if (!fs)
			goto relative;
		d = fs->pwd.dentry;
		m = fs->pwd.mnt;
	} else {
		struct file *f = fd_to_file(task, dirfd);
		struct path fp;

		if (!f || BPF_CORE_READ_INTO(&fp, f, f_path))
			goto relative;
		d = fp.dentry;
		m = fp.mnt;
	}
	blen = walk_path(s, d, m);
	if (blen <= 0)
		goto relative;
	if (n == 1) /* "" (AT_EMPTY_PATH) or ".": the base itself */
		return 0;

	off = blen;
	if (blen > 1) { /* base "/" needs no separator */
		if (off >= JB_PATH_LEN - 1) {
			s->file.flags |= JB_FILE_PATH_CUT;
			return 0;
		}
		s->file.path[off & JB_PATH_MASK] = '/';
		off++;
	}
	if (off >= JB_PATH_LEN - 1) {
		s->file.path[JB_PATH_LEN - 1] = 0;
		s->file.flags |= JB_FILE_PATH_CUT;
		return 0;
	}
	/* constant size: an overlong tail runs into spill, then is cut */
	n = read_str(&s->file.path[off & JB_PATH_MASK], JB_PATH_LEN, upath + skip, kern);
	if (n <= 0) {
		s->file.path[off & JB_PATH_MASK] = 0;
		s->file.flags |= JB_FILE_PATH_CUT;
		return 0;
	}
	if (off + n > JB_PATH_LEN) {
		s->file.path[JB_PATH_LEN - 1] = 0;
		s->file.flags |= JB_FILE_PATH_CUT;
	}
	return 0;

relative:
	s->file.flags = JB_FILE_RELATIVE;
	read_str(s->file.path, JB_PATH_LEN, upath, kern);
	return 0;
}

/* --- tasks --------------------------------------------------------------- */

/* identity fields that are always taken from the live task */
static __always_inline void fill_identity(struct jb_task *t, struct task_struct *task,
					  __u64 now)
{
	struct task_struct *parent = task->real_parent;
	__u32 ppid = parent ? parent->tgid : 0;

	t->start_ticks = start_ticks_of(task);
	t->tgid = task->tgid;
	t->key = jb_hash_task(jb_seed, t->tgid, t->start_ticks);
	t->ppid = ppid;
	t->parent_key = ppid ? task_key_of(parent) : 0;
	t->uid = task->cred->uid.val;
	t->last_ns = now;
	t->exit_ns = 0;
	t->_pad = 0;
	bpf_core_read_str(t->comm, sizeof(t->comm), &task->comm);
}

/* argv of the *current* address space (bpf_probe_read_user reads current's
 * mm): callers pass current, or a fork child whose mm is still a copy */
static __always_inline void fill_args(struct jb_task *t, struct task_struct *task)
{
	struct mm_struct *mm = BPF_CORE_READ(task, mm);
	__u64 start, end, len;

	t->args_len = 0;
	t->flags &= ~JB_TASK_ARGS_CUT;
	if (!mm)
		return; /* kernel thread */
	start = BPF_CORE_READ(mm, arg_start);
	end = BPF_CORE_READ(mm, arg_end);
	if (end <= start)
		return;
	len = end - start;
	if (len > JB_ARGS_LEN) {
		len = JB_ARGS_LEN;
		t->flags |= JB_TASK_ARGS_CUT;
	}
	if (bpf_probe_read_user(t->args, len, (void *)start) == 0)
		t->args_len = len;
}

static __always_inline void fill_exe(struct jb_task *t, struct jb_scratch *s, struct file *exe)
{
	t->flags &= ~JB_TASK_EXE_CUT;
	if (walk_file(s, exe) < 0) {
		t->exe[0] = 0;
		return;
	}
	bpf_probe_read_kernel(t->exe, JB_PATH_LEN, s->file.path);
	if (s->file.flags & JB_FILE_PATH_CUT)
		t->flags |= JB_TASK_EXE_CUT;
}

/* Insert-only: a record that exists is never replaced from here. */
static __always_inline void task_insert(struct jb_task *t)
{
	long err = bpf_map_update_elem(&jb_tasks, &t->key, t, BPF_NOEXIST);

	if (!err)
		stat_inc(JB_STAT_TASK_NEW);
	else if (err != -JB_EEXIST)
		stat_inc(JB_STAT_TASK_FAIL);
}

/* Key of the current process, creating a minimal record if it has none (it
 * predates the agent and back-fill missed it, or we lost a fork race). */
static __noinline __u64 ensure_task(struct task_struct *task)
{
	__u64 key = task_key_of(task);
	struct jb_scratch *s;
	struct jb_task *t;
	__u64 now;

	if (bpf_map_lookup_elem(&jb_tasks, &key))
		return key;
	t = scratch_task();
	s = scratch_path();
	if (!t || !s)
		return key;
	now = bpf_ktime_get_ns();
	t->flags = 0;
	t->first_ns = now;
	fill_identity(t, task, now);
	fill_exe(t, s, BPF_CORE_READ(task, mm, exe_file));
	fill_args(t, task);
	task_insert(t);
	return key;
}

/* --- files and links ----------------------------------------------------- */

static __always_inline void link_upsert(__u64 task_key, __u64 file_key, __u32 act, __u64 now)
{
	struct jb_link_key k = { .task_key = task_key, .file_key = file_key };
	struct jb_link *l = bpf_map_lookup_elem(&jb_links, &k);

	if (!l) {
		struct jb_link v = { .first_ns = now, .last_ns = now, .actions = act };
		long err = bpf_map_update_elem(&jb_links, &k, &v, BPF_NOEXIST);

		if (!err) {
			stat_inc(JB_STAT_LINK_NEW);
			return;
		}
		if (err != -JB_EEXIST) {
			stat_inc(JB_STAT_LINK_FAIL);
			return;
		}
		/* another CPU created it between lookup and insert */
		l = bpf_map_lookup_elem(&jb_links, &k);
		if (!l)
			return;
	}
	/* 64-bit atomic or over {actions, _pad}: clang 14 without -mcpu=v3
	 * has no 32-bit atomic or. actions is the low half (little endian,
	 * offset 16, 8-aligned); _pad stays 0 since act < 2^32. */
	__sync_fetch_and_or((__u64 *)&l->actions, (__u64)act);
	l->last_ns = now;
}

/* Store s->file (path already built) if new, then link it to the task. */
static __noinline int record_file(struct jb_scratch *s, __u64 task_key, __u32 act)
{
	__u64 now = bpf_ktime_get_ns();
	__u64 fkey;

	if (!s)
		return 0;
	fkey = jb_hash_path(jb_seed, s->file.path);
	if (!bpf_map_lookup_elem(&jb_files, &fkey)) {
		long err;

		s->file.key = fkey;
		s->file.first_ns = now;
		s->file._pad = 0;
		err = bpf_map_update_elem(&jb_files, &fkey, &s->file, BPF_NOEXIST);
		if (!err)
			stat_inc(JB_STAT_FILE_NEW);
		else if (err != -JB_EEXIST)
			stat_inc(JB_STAT_FILE_FAIL);
	}
	link_upsert(task_key, fkey, act, now);
	return 0;
}

static __always_inline int is_agent(void)
{
	return (bpf_get_current_pid_tgid() >> 32) == jb_agent_tgid;
}

/* --- task lifecycle ------------------------------------------------------ */

SEC("tp_btf/sched_process_fork")
int BPF_PROG(jb_fork, struct task_struct *parent, struct task_struct *child)
{
	struct jb_scratch *s;
	struct jb_task *t, *old;
	__u64 now, pkey;

	if (BPF_CORE_READ(child, pid) != BPF_CORE_READ(child, tgid))
		return 0; /* a thread, not a process */
	t = scratch_task();
	s = scratch_path();
	if (!t || !s)
		return 0;
	now = bpf_ktime_get_ns();
	/* the child runs the forking process's image, even with CLONE_PARENT */
	pkey = task_key_of(parent);
	old = bpf_map_lookup_elem(&jb_tasks, &pkey);
	if (old) {
		bpf_probe_read_kernel(t, sizeof(*t), old);
		t->flags &= ~(JB_TASK_EXECED | JB_TASK_BACKFILL | JB_TASK_EXITED);
	} else {
		t->flags = 0;
		fill_exe(t, s, BPF_CORE_READ(child, mm, exe_file));
		fill_args(t, child);
	}
	t->first_ns = now;
	fill_identity(t, child, now);
	task_insert(t);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(jb_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct jb_scratch *s = scratch_path();
	struct jb_task *t = scratch_task();
	struct jb_task *old;
	struct file *file;
	const char *fname;
	__u64 now = bpf_ktime_get_ns();
	long err;

	if (!s || !t)
		return 0;
	fill_identity(t, p, now);
	old = bpf_map_lookup_elem(&jb_tasks, &t->key);
	t->first_ns = old ? old->first_ns : now;
	t->flags = old ? old->flags & ~JB_TASK_BACKFILL : 0;
	t->flags |= JB_TASK_EXECED;

	/* bprm->file is what runs (the interpreter for a script), the same
	 * file /proc/PID/exe shows, so back-filled and live records agree */
	file = BPF_CORE_READ(bprm, file);
	if (file && walk_file(s, file) >= 0) {
		t->flags &= ~JB_TASK_EXE_CUT;
		bpf_probe_read_kernel(t->exe, JB_PATH_LEN, s->file.path);
		if (s->file.flags & JB_FILE_PATH_CUT)
			t->flags |= JB_TASK_EXE_CUT;
	} else {
		t->exe[0] = 0;
		stat_inc(JB_STAT_PATH_FAIL);
	}
	fill_args(t, p);

	if (old) {
		err = bpf_map_update_elem(&jb_tasks, &t->key, t, BPF_ANY);
	} else {
		err = bpf_map_update_elem(&jb_tasks, &t->key, t, BPF_NOEXIST);
		if (!err)
			stat_inc(JB_STAT_TASK_NEW);
		else if (err == -JB_EEXIST)
			err = bpf_map_update_elem(&jb_tasks, &t->key, t, BPF_ANY);
	}
	if (err)
		stat_inc(JB_STAT_TASK_FAIL);

	if (is_agent())
		return 0;
	/* s->file still holds the exe path from above */
	if (file && t->exe[0])
		record_file(s, t->key, JB_ACT_EXEC);
	/* A script also gets its own EXEC link: that is the file a dropper
	 * wrote, the interpreter is just /bin/sh. Its struct file is already
	 * released here, but binfmt_script/misc point bprm->interp away from
	 * bprm->filename, the name that was executed (relative to the cwd,
	 * or /dev/fd/N for execveat(AT_EMPTY_PATH)). */
	fname = BPF_CORE_READ(bprm, filename);
	if (fname && fname != BPF_CORE_READ(bprm, interp) &&
	    str_path(s, p, fname, JB_AT_FDCWD, 1) == 0)
		record_file(s, t->key, JB_ACT_EXEC);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(jb_exit, struct task_struct *p)
{
	struct jb_task *t;
	__u64 key, now;

	/* do_exit() drops signal->live before this tracepoint: 0 means the
	 * last thread is leaving, i.e. the process is gone (a leader that
	 * exits before its threads is not) */
	if (BPF_CORE_READ(p, signal, live.counter) != 0)
		return 0;
	key = task_key_of(p);
	t = bpf_map_lookup_elem(&jb_tasks, &key);
	if (!t)
		return 0;
	now = bpf_ktime_get_ns();
	t->flags |= JB_TASK_EXITED;
	t->exit_ns = now;
	t->last_ns = now;
	return 0;
}

/* --- file syscalls ------------------------------------------------------- */

enum { JB_OPEN, JB_OPENAT, JB_OPENAT2 };

/* O_TRUNC is cleared from f_flags by do_dentry_open(), so look at the
 * syscall's own flags argument in the saved user registers */
static __always_inline int open_truncates(int kind)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	__u64 flags = 0;

	if (kind == JB_OPEN) {
		flags = PT_REGS_PARM2_CORE_SYSCALL(regs);
	} else if (kind == JB_OPENAT) {
		flags = PT_REGS_PARM3_CORE_SYSCALL(regs);
	} else {
		void *how = (void *)PT_REGS_PARM3_CORE_SYSCALL(regs);

		/* struct open_how starts with __u64 flags */
		if (bpf_probe_read_user(&flags, sizeof(flags), how))
			return 0;
	}
	return (flags & JB_O_TRUNC) != 0;
}

static __always_inline int on_open_exit(long ret, int kind)
{
	struct task_struct *task;
	struct jb_scratch *s;
	struct file *f;
	__u64 tkey;
	__u32 mode, act = JB_ACT_OPEN;

	if (ret < 0 || is_agent())
		return 0;
	s = scratch_path();
	if (!s)
		return 0;
	task = bpf_get_current_task_btf();
	tkey = ensure_task(task); /* before the walk: it reuses the scratch */
	f = fd_to_file(task, ret);
	if (walk_file(s, f) < 0) {
		stat_inc(JB_STAT_PATH_FAIL);
		return 0;
	}
	mode = BPF_CORE_READ(f, f_mode);
	if (mode & JB_FMODE_READ)
		act |= JB_ACT_READ;
	if (mode & JB_FMODE_WRITE) {
		act |= JB_ACT_WRITE;
		if (open_truncates(kind))
			act |= JB_ACT_TRUNCATE;
	}
	if (mode & JB_FMODE_CREATED)
		act |= JB_ACT_CREATE;
	record_file(s, tkey, act);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_openat")
int jb_openat_x(struct trace_event_raw_sys_exit *ctx)
{
	return on_open_exit(ctx->ret, JB_OPENAT);
}

SEC("tracepoint/syscalls/sys_exit_openat2")
int jb_openat2_x(struct trace_event_raw_sys_exit *ctx)
{
	return on_open_exit(ctx->ret, JB_OPENAT2);
}

SEC("tracepoint/syscalls/sys_exit_open")
int jb_open_x(struct trace_event_raw_sys_exit *ctx)
{
	return on_open_exit(ctx->ret, JB_OPEN);
}

/* Path-named actions are taken at syscall enter: the file still exists for
 * unlink, and a failed attempt is still worth knowing about. */
static __always_inline int on_path(const char *p1, long dfd1, const char *p2, long dfd2,
				   __u32 act)
{
	struct task_struct *task;
	struct jb_scratch *s;
	__u64 tkey;

	if (is_agent())
		return 0;
	s = scratch_path();
	if (!s)
		return 0;
	task = bpf_get_current_task_btf();
	tkey = ensure_task(task);
	/* dirfds are ints passed in longs: the upper half is not meaningful */
	if (str_path(s, task, p1, (int)dfd1, 0) == 0)
		record_file(s, tkey, act);
	if (p2 && str_path(s, task, p2, (int)dfd2, 0) == 0)
		record_file(s, tkey, act);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_unlinkat")
int jb_unlinkat(struct trace_event_raw_sys_enter *ctx)
{
	return on_path((const char *)ctx->args[1], ctx->args[0], NULL, 0, JB_ACT_UNLINK);
}

SEC("tracepoint/syscalls/sys_enter_unlink")
int jb_unlink(struct trace_event_raw_sys_enter *ctx)
{
	return on_path((const char *)ctx->args[0], JB_AT_FDCWD, NULL, 0, JB_ACT_UNLINK);
}

SEC("tracepoint/syscalls/sys_enter_renameat2")
int jb_renameat2(struct trace_event_raw_sys_enter *ctx)
{
	return on_path((const char *)ctx->args[1], ctx->args[0], (const char *)ctx->args[3],
		       ctx->args[2], JB_ACT_RENAME);
}

SEC("tracepoint/syscalls/sys_enter_renameat")
int jb_renameat(struct trace_event_raw_sys_enter *ctx)
{
	return on_path((const char *)ctx->args[1], ctx->args[0], (const char *)ctx->args[3],
		       ctx->args[2], JB_ACT_RENAME);
}

SEC("tracepoint/syscalls/sys_enter_rename")
int jb_rename(struct trace_event_raw_sys_enter *ctx)
{
	return on_path((const char *)ctx->args[0], JB_AT_FDCWD, (const char *)ctx->args[1],
		       JB_AT_FDCWD, JB_ACT_RENAME);
}

SEC("tracepoint/syscalls/sys_enter_fchmodat")
int jb_fchmodat(struct trace_event_raw_sys_enter *ctx)
{
	return on_path((const char *)ctx->args[1], ctx->args[0], NULL, 0, JB_ACT_CHMOD);
}

SEC("tracepoint/syscalls/sys_enter_fchmodat2")
int jb_fchmodat2(struct trace_event_raw_sys_enter *ctx)
{
	return on_path((const char *)ctx->args[1], ctx->args[0], NULL, 0, JB_ACT_CHMOD);
}

SEC("tracepoint/syscalls/sys_enter_chmod")
int jb_chmod(struct trace_event_raw_sys_enter *ctx)
{
	return on_path((const char *)ctx->args[0], JB_AT_FDCWD, NULL, 0, JB_ACT_CHMOD);
}

SEC("tracepoint/syscalls/sys_enter_fchmod")
int jb_fchmod(struct trace_event_raw_sys_enter *ctx)
{
	struct task_struct *task;
	struct jb_scratch *s;
	__u64 tkey;

	if (is_agent())
		return 0;
	s = scratch_path();
	if (!s)
		return 0;
	task = bpf_get_current_task_btf();
	tkey = ensure_task(task);
	if (walk_file(s, fd_to_file(task, (int)ctx->args[0])) < 0) {
		stat_inc(JB_STAT_PATH_FAIL);
		return 0;
	}
	record_file(s, tkey, JB_ACT_CHMOD);
	return 0;
}

/* --- flows --------------------------------------------------------------- */

/* Flow key: seeded jb_mix64 chain. The egress key leaves out the local port
 * so that repeated connects of one task to one peer share a record; the
 * ingress key leaves out the remote port for the same reason. dir is mixed
 * in so the two kinds never collide. */
static __always_inline __u64 flow_key(__u64 task_key, __u16 family, __u8 proto, __u8 dir,
				      __u16 port, const __u8 *addr)
{
	__u64 a0, a1, h;

	__builtin_memcpy(&a0, addr, 8);
	__builtin_memcpy(&a1, addr + 8, 8);
	h = jb_mix64(jb_seed ^ 0x666c6f77ULL); /* "flow" */
	h = jb_mix64(h ^ task_key);
	h = jb_mix64(h ^ ((__u64)family | (__u64)proto << 16 | (__u64)dir << 24 |
			  (__u64)port << 32));
	h = jb_mix64(h ^ a0);
	h = jb_mix64(h ^ a1);
	return h ? h : 1;
}

static __always_inline void flow_upsert(struct jb_flow *fl)
{
	struct jb_flow *cur = bpf_map_lookup_elem(&jb_flows, &fl->key);

	if (!cur) {
		long err = bpf_map_update_elem(&jb_flows, &fl->key, fl, BPF_NOEXIST);

		if (!err) {
			stat_inc(JB_STAT_FLOW_NEW);
			return;
		}
		if (err != -JB_EEXIST) {
			stat_inc(JB_STAT_FLOW_FAIL);
			return;
		}
		cur = bpf_map_lookup_elem(&jb_flows, &fl->key);
		if (!cur)
			return;
	}
	__sync_fetch_and_add(&cur->count, 1);
	cur->last_ns = fl->last_ns;
}

SEC("tracepoint/syscalls/sys_enter_connect")
int jb_connect_e(struct trace_event_raw_sys_enter *ctx)
{
	struct jb_pending_conn pc = {};
	const void *uaddr = (const void *)ctx->args[1];
	int alen = (int)ctx->args[2];
	__u64 id = bpf_get_current_pid_tgid();
	__u16 family = 0;

	if ((id >> 32) == jb_agent_tgid)
		return 0;
	if (bpf_probe_read_user(&family, sizeof(family), uaddr))
		return 0;
	if (family == JB_AF_INET && alen >= (int)sizeof(struct sockaddr_in)) {
		struct sockaddr_in sin;

		if (bpf_probe_read_user(&sin, sizeof(sin), uaddr))
			return 0;
		pc.dport = bpf_ntohs(sin.sin_port);
		__builtin_memcpy(pc.daddr, &sin.sin_addr, 4);
	} else if (family == JB_AF_INET6 && alen >= 24) {
		/* 24: up to and including sin6_addr, scope id is optional */
		struct sockaddr_in6 sin6;

		if (bpf_probe_read_user(&sin6, 24, uaddr))
			return 0;
		pc.dport = bpf_ntohs(sin6.sin6_port);
		__builtin_memcpy(pc.daddr, &sin6.sin6_addr, 16);
	} else {
		return 0; /* AF_UNIX, AF_NETLINK, AF_UNSPEC (disconnect), ... */
	}
	pc.family = family;
	pc.fd = (int)ctx->args[0];
	bpf_map_update_elem(&jb_pending_conn, &id, &pc, BPF_ANY);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_connect")
int jb_connect_x(struct trace_event_raw_sys_exit *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct jb_pending_conn *pp = bpf_map_lookup_elem(&jb_pending_conn, &id);
	struct jb_pending_conn pc;
	struct task_struct *task;
	struct jb_flow fl = {};
	struct socket *sock;
	struct sock *sk;
	struct file *f;
	__u64 tkey;

	if (!pp)
		return 0;
	pc = *pp;
	bpf_map_delete_elem(&jb_pending_conn, &id);

	/* every attempt counts, refused and in-progress ones included:
	 * scanning and beaconing show up as failures */
	task = bpf_get_current_task_btf();
	f = fd_to_file(task, pc.fd);
	if (!f || (BPF_CORE_READ(f, f_inode, i_mode) & JB_S_IFMT) != JB_S_IFSOCK)
		return 0;
	sock = BPF_CORE_READ(f, private_data);
	sk = BPF_CORE_READ(sock, sk);
	if (!sk || BPF_CORE_READ(sk, __sk_common.skc_family) != pc.family)
		return 0;
	tkey = ensure_task(task);

	fl.task_key = tkey;
	fl.first_ns = fl.last_ns = bpf_ktime_get_ns();
	fl.family = pc.family;
	fl.proto = (__u8)BPF_CORE_READ(sk, sk_protocol);
	fl.dir = JB_FLOW_EGRESS;
	fl.dport = pc.dport;
	/* the local side is bound by now unless the attempt failed early */
	fl.sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	__builtin_memcpy(fl.daddr, pc.daddr, 16);
	if (pc.family == JB_AF_INET) {
		__be32 a = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);

		__builtin_memcpy(fl.saddr, &a, 4);
	} else {
		BPF_CORE_READ_INTO(&fl.saddr, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
	}
	fl.count = 1;
	fl.key = flow_key(tkey, fl.family, fl.proto, fl.dir, fl.dport, fl.daddr);
	flow_upsert(&fl);
	return 0;
}

/* Accepted inbound TCP: the child socket goes SYN_RECV -> ESTABLISHED when
 * the handshake's last ACK arrives. Runs in softirq, in no task's context,
 * hence task_key 0, and on top of whatever program this CPU was running:
 * stack only, no scratch maps. */
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(jb_sock_state, const struct sock *sk, const int oldstate, const int newstate)
{
	struct jb_flow fl = {};

	if (oldstate != JB_TCP_SYN_RECV || newstate != JB_TCP_ESTABLISHED)
		return 0;
	fl.family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (fl.family == JB_AF_INET) {
		__be32 a = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		__be32 b = BPF_CORE_READ(sk, __sk_common.skc_daddr);

		__builtin_memcpy(fl.saddr, &a, 4);
		__builtin_memcpy(fl.daddr, &b, 4);
	} else if (fl.family == JB_AF_INET6) {
		BPF_CORE_READ_INTO(&fl.saddr, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
		BPF_CORE_READ_INTO(&fl.daddr, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
	} else {
		return 0;
	}
	fl.proto = (__u8)BPF_CORE_READ(sk, sk_protocol);
	fl.dir = JB_FLOW_INGRESS;
	fl.sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	fl.dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	fl.first_ns = fl.last_ns = bpf_ktime_get_ns();
	fl.count = 1;
	fl.key = flow_key(0, fl.family, fl.proto, fl.dir, fl.sport, fl.daddr);
	flow_upsert(&fl);
	return 0;
}
