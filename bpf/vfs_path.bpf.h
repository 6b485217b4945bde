/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vfs_path.bpf.h - kernel-only path resolution shared by every BPF object
 * that needs a file's name: jibril.bpf.c and the benchmark's reference
 * streaming agent (bench/refagent.bpf.c), so that both do exactly the same
 * kernel work to get a path.
 *
 * What it gives: fd_to_file() (fd -> struct file of a task), walk_file() /
 * walk_path() (absolute path of a struct file or dentry+vfsmount, rebuilt
 * from dentries up to the root of the mount namespace, mounts crossed) and
 * str_path() (a syscall's path string joined to the cwd or to a dirfd's
 * file). Every result lands in the per-CPU scratch s->file.path, NUL
 * terminated, hashed-as-stored by the includer if it wants a key.
 *
 * Invariants:
 *  - the includer includes vmlinux.h, the libbpf headers and jibril.h first
 *    (this header needs struct jb_file and JB_PATH_LEN).
 *  - jb_scratch_path is declared here: every object that includes this
 *    header gets its own copy. It is per-CPU and must only be used from
 *    process-context programs (one program at a time per CPU); a program
 *    that can run in softirq must not touch it.
 *  - every kernel pointer is typed: task pointers passed in are BTF
 *    pointers (tp_btf arguments or bpf_get_current_task_btf()), and what
 *    the verifier has no type for (the fd table's slots, private_data) is
 *    typed with bpf_rdonly_cast(), so fd -> struct file -> dentry -> mount
 *    chains are direct CO-RE loads (one guarded instruction each, a fault
 *    reads 0) instead of probe-read helper calls: that halved the cost of
 *    a walk, and took 45 ns off each open() (the fd slot).
 *    Only name bytes and user strings still go through probe reads.
 *    Needs the bpf_rdonly_cast kfunc (Linux 6.2+).
 *  - nothing here counts statistics: a failure is a return value, the
 *    includer decides what to count.
 */
#ifndef JB_VFS_PATH_BPF_H
#define JB_VFS_PATH_BPF_H

#define JB_AT_FDCWD (-100)

/* Dentry walk bound: path components plus mount crossings. A component
 * takes at least 2 of the 255 bytes, so 128 components fill the buffer
 * whatever happens; the rest is for mount crossings. Longer or deeper paths
 * are stored as their tail and flagged JB_FILE_PATH_CUT. */
#define JB_WALK_MAX 160
#define JB_PATH_MASK (JB_PATH_LEN - 1)

/* Typed view of a kernel pointer: loads through it are single guarded
 * instructions (a faulting one reads 0) instead of probe-read helper calls.
 * bpf_rdonly_cast() is a kfunc every program type may call since 6.2. */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym;
#define as_btf(ptr, type) \
	((type *)bpf_rdonly_cast((const void *)(ptr), bpf_core_type_id_kernel(type)))

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

static __always_inline struct jb_scratch *scratch_path(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&jb_scratch_path, &zero);
}

static __always_inline struct file *fd_to_file(struct task_struct *task, __s64 fd)
{
	struct files_struct *files = task->files;
	struct fdtable *fdt;

	if (!files || fd < 0)
		return NULL;
	fdt = files->fdt;
	if (!fdt || fd >= fdt->max_fds)
		return NULL;
	/* fd is a struct file **, an array the verifier has no type for. Seen
	 * through a files_struct placed so that its fd_array[0] (a typed
	 * struct file *) lies on the slot, the element is one guarded load
	 * instead of a probe-read call */
	return as_btf((void *)&fdt->fd[fd] - bpf_core_field_offset(struct files_struct, fd_array),
		      struct files_struct)->fd_array[0];
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
 * instructions; a callback's states converge after a few rounds (and the
 * kernel inlines the bpf_loop() call itself). Dentries and mounts are typed
 * pointers: an unreadable one reads as zeros, i.e. a nameless root, and
 * the walk ends there.
 */
struct walk_ctx {
	struct jb_scratch *s;
	struct dentry *dentry;
	struct mount *mnt;
	struct dentry *mnt_root;
	__u64 pos; /* index of the first byte of the path built so far */
	int done;  /* reached a root: the path is complete */
};

static long walk_step(__u32 i, void *data)
{
	struct walk_ctx *c = data;
	struct jb_scratch *s = c->s;
	struct dentry *dentry = c->dentry;
	struct dentry *parent;
	const unsigned char *name;
	__u64 len, pos = c->pos;
	int top;

	if (dentry == c->mnt_root) {
		struct mount *m = c->mnt;
		struct mount *up = m->mnt_parent;

		/* a mount is its own parent at the namespace root */
		if (!up || up == m) {
			c->done = 1;
			return 1;
		}
		c->dentry = m->mnt_mountpoint;
		c->mnt = up;
		c->mnt_root = up->mnt.mnt_root;
		return 0;
	}
	parent = dentry->d_parent;
	len = dentry->d_name.len;
	name = dentry->d_name.name;
	/* A dentry that is its own parent but not a mount root is a pseudo
	 * file (memfd, anon inode, pipe) or a detached tree. Its name is
	 * still the best path there is: "/memfd:x" for a fileless exe, as
	 * /proc/PID/exe shows it. Nameless ones (pipes) stay "/". */
	top = !parent || parent == dentry;
	if (top && len == 0) {
		c->done = 1;
		return 1;
	}
	if (len + 1 > pos)
		return 1; /* does not fit: keep the tail */
	/* the mask changes nothing (no wrap after the check) but keeps pos in
	 * one fixed range, so the verifier sees each round as the same state */
	pos = (pos - len - 1) & JB_PATH_MASK;
	bpf_probe_read_kernel(&s->walk[(pos + 1) & JB_PATH_MASK], len & JB_PATH_MASK, name);
	s->walk[pos & JB_PATH_MASK] = '/';
	c->pos = pos;
	c->dentry = parent;
	if (top) {
		c->done = 1;
		return 1;
	}
	return 0;
}

/* Returns the length, or -1 without a dentry and a mount to start from. */
static __noinline int walk_path(struct jb_scratch *s, struct dentry *dentry,
				struct vfsmount *vfsmnt)
{
	struct walk_ctx c = {};
	__u64 pos;

	if (!s || !dentry || !vfsmnt)
		return -1;
	vfsmnt = as_btf(vfsmnt, struct vfsmount);
	c.s = s;
	c.dentry = as_btf(dentry, struct dentry);
	c.mnt = as_btf((void *)vfsmnt - bpf_core_field_offset(struct mount, mnt), struct mount);
	c.mnt_root = vfsmnt->mnt_root;
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
	pos &= JB_PATH_MASK;
	/* the path and its NUL are walk[pos..255]: copy just those words (the
	 * last one may carry bytes past the NUL, which no reader looks at) */
	for (__u32 i = 0; i < JB_PATH_LEN; i += 8) {
		*(__u64 *)&s->file.path[i] = *(__u64 *)&s->walk[pos + i];
		if (pos + i + 8 >= JB_PATH_LEN)
			break;
	}
	return (int)(JB_PATH_LEN - 1 - pos);
}

static __always_inline int walk_file(struct jb_scratch *s, struct file *f)
{
	s->file.flags = 0;
	if (!f)
		return -1;
	f = as_btf(f, struct file);
	return walk_path(s, f->f_path.dentry, f->f_path.mnt);
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
 * Returns -1 only when the string itself could not be read.
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
	if (n <= 0)
		return -1; /* unreadable string: the caller counts it */
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
#endif
