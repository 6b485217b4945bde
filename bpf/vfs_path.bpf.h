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
 * file, in its one canonical spelling: "//", ".", ".." folded, see
 * "Canonical spellings" below). Every result lands in the per-CPU scratch s->file.path, NUL
 * terminated, hashed-as-stored by the includer if it wants a key.
 *
 * Invariants:
 *  - the includer includes vmlinux.h, the libbpf headers and jibril.h first
 *    (this header needs struct jb_file and JB_PATH_LEN).
 *  - jb_scratch_path and jb_scratch_canon are declared here: every object
 *    that includes this header gets its own copy. They are per-CPU and
 *    must only be used from process-context programs (one program at a
 *    time per CPU); a program that can run in softirq must not touch them.
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
 * Canonical spellings. A path named by a string is stored as the one
 * spelling every other spelling of it folds to, lexically: joined to its
 * base, "//" folded, "." components dropped, ".." popping the component
 * before it (never above "/"), no trailing "/". So ".ssh//authorized_keys2",
 * "./././authorized_keys" and "x/../authorized_keys" get the key and the
 * text of the plain name, and a recipe or jb_watch sees what it expects.
 * Symbolic links are not followed (the string names what the kernel is
 * asked to act on; resolving a link would mean a walk the kernel has not
 * done yet), so ".." after a link folds lexically where the kernel would
 * go up from the link's target.
 *
 * The common case costs one read and a scan: the string is read into
 * s->file.path as before, and a word-at-a-time scan (8 bytes a round)
 * looks for "/" followed by "/", NUL, "." then "/", NUL or "."; an
 * absolute string without one is done. Anything else goes to jb_canon.buf
 * at JB_CANON_RAW (copied; re-read up to PATH_MAX when it filled path, so
 * a long spelling that folds short is recorded whole); a relative one gets
 * its base copied right before it ("BASE/STRING" contiguous), and the
 * byte-wise fold runs in place (the write index never passes the read
 * index). A result longer than JB_PATH_LEN - 1 keeps its tail from a
 * component boundary: the base name, what recipes match, survives.
 * Measured (BPF run-time stats of jb_rename, two paths per call, main and
 * this code attached at once, one rename loop, medians of 5): +22..26 ns
 * per rename with plain paths, +245..280 ns when both need folding.
 *
 * The loops run under bpf_loop() (a plain loop made jb_rename's
 * verification 5 times longer). The fold's state lives in the map value,
 * not the stack (the callback gets a stack pointer to the value's
 * address): the verifier sees unknown values and checks the callback once.
 */
#define JB_USTR_LEN 4096		      /* PATH_MAX: the kernel reads no more */
#define JB_CANON_RAW JB_PATH_LEN	      /* the string's offset in buf */
#define JB_CANON_LEN (JB_CANON_RAW + JB_USTR_LEN) /* base + "/" + string */
#define JB_CANON_DEPTH (JB_CANON_LEN / 2)     /* a component takes 2 bytes */

struct jb_canon {
	__u32 r, w;	/* fold: read and write index in buf */
	__u32 cs;	/* fold: where the current component starts */
	__u32 depth;	/* fold: components on stack */
	__u32 len;	/* tail: end of the result */
	__u32 pos;	/* str_path: the string needs folding; tail: start found */
	/* slack: a tail copy reads JB_PATH_LEN bytes from up to the end */
	char buf[JB_CANON_LEN + JB_PATH_LEN];
	__u16 stack[JB_CANON_DEPTH]; /* start of each kept component */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct jb_canon);
} jb_scratch_canon SEC(".maps");

#define JB_ONES 0x0101010101010101ULL
#define JB_LOW7 0x7f7f7f7f7f7f7f7fULL

/* 0x80 in each byte of x that is zero, exactly (no carry false positives) */
static __always_inline __u64 jb_zero_bytes(__u64 x)
{
	return ~(((x & JB_LOW7) + JB_LOW7) | x | JB_LOW7);
}

static __always_inline __u64 jb_eq_bytes(__u64 x, __u8 ch)
{
	return jb_zero_bytes(x ^ (JB_ONES * ch));
}

/* A short string (it fit in s->file.path) being scanned. */
struct scan_ctx {
	struct jb_scratch *s;
	__u64 len;   /* string length, below JB_PATH_LEN */
	__u64 found; /* it needs the fold */
};

/* One word of the string: is there a "/" followed by "/", NUL, "." then
 * ("/", NUL or ".")? (".." then a name, "/..x", is a rare false positive:
 * the fold handles it right, just slower.) The loads past the path run
 * into spill, inside the value. */
static long scan_step(__u32 i, void *data)
{
	struct scan_ctx *c = data;
	struct jb_scratch *s = c->s;
	__u64 off = (__u64)i * 8, len = c->len;
	__u64 v, w, u, m;

	if (!s || off >= len || off >= JB_PATH_LEN)
		return 1;
	v = *(__u64 *)&s->file.path[off];
	w = *(__u64 *)&s->file.path[off + 1];
	u = *(__u64 *)&s->file.path[off + 2];
	m = jb_eq_bytes(v, '/') &
	    (jb_eq_bytes(w, '/') | jb_zero_bytes(w) |
	     (jb_eq_bytes(w, '.') & (jb_eq_bytes(u, '/') | jb_zero_bytes(u) | jb_eq_bytes(u, '.'))));
	/* bytes at or past the NUL are stale; a "/" just before it (a
	 * trailing slash) is inside */
	if (len - off < 8)
		m &= (1ULL << ((len - off) * 8)) - 1;
	if (m) {
		c->found = 1;
		return 1;
	}
	return 0;
}

/* One byte of the fold: buf[r] joins the current component, or ends it
 * ("/" or NUL), which is then dropped ("", "."), pops the one before
 * (".."), or is kept with its "/" (anything else). */
static long fold_step(__u32 i, void *data)
{
	struct jb_canon *c = *(struct jb_canon **)data;

	if (!c)
		return 1;
	__u64 r = c->r, w = c->w, cs = c->cs, d = c->depth; /* 64-bit: as tail_step */
	char ch;

	if (r >= JB_CANON_LEN || w >= JB_CANON_LEN || cs >= JB_CANON_LEN - 1)
		return 1;
	ch = c->buf[r];
	c->r = r + 1;
	if (ch != '/' && ch) {
		c->buf[w] = ch;
		c->w = w + 1;
		return 0;
	}
	if (w == cs || (w == cs + 1 && c->buf[cs] == '.')) {
		w = cs;
	} else if (w == cs + 2 && c->buf[cs] == '.' && c->buf[cs + 1] == '.') {
		if (d > 0) {
			d--;
			barrier_var(d); /* checked in the register it indexes */
			if (d >= JB_CANON_DEPTH)
				return 1;
			w = c->stack[d];
			c->depth = d;
		} else {
			w = cs;
		}
	} else {
		if (d >= JB_CANON_DEPTH)
			return 1;
		c->stack[d] = cs;
		c->depth = d + 1;
		c->buf[w] = '/';
		w++;
	}
	c->w = w;
	c->cs = w;
	return ch ? 0 : 1;
}

/* The first "/" at or after c->pos, below c->len: where a cut result's
 * tail starts (c->pos stays put when there is none). */
static long tail_step(__u32 i, void *data)
{
	struct jb_canon *c = *(struct jb_canon **)data;

	if (!c)
		return 1;
	/* 64-bit: a 32-bit index is zero-extended again at each use, and
	 * the verifier would not see the checked copy */
	__u64 p = (__u64)c->pos + i;

	if (p >= c->len || p >= JB_CANON_LEN)
		return 1;
	if (c->buf[p] == '/') {
		c->pos = p;
		return 1;
	}
	return 0;
}

/*
 * Fold buf[start..] (a "/" first, NUL terminated, base part already
 * canonical) into s->file.path. Returns 0, or -1 if the state went out of
 * bounds (cannot happen with the sizes above; the caller keeps the string
 * as given then).
 */
static __noinline int canon_fold(struct jb_scratch *s, struct jb_canon *c, __u32 start)
{
	__u32 end, n;

	if (!s || !c || start > JB_CANON_RAW)
		return -1;
	c->r = start + 1;
	c->w = start + 1;
	c->cs = start + 1;
	c->depth = 0;
	bpf_loop(JB_CANON_LEN, fold_step, &c, 0);
	end = c->w;
	if (end > start + 1)
		end--; /* the "/" after the last component */
	if (end >= JB_CANON_LEN)
		return -1;
	c->buf[end] = 0;
	n = end - start; /* length of the result */
	if (n < JB_PATH_LEN) {
		bpf_probe_read_kernel(s->file.path, JB_PATH_LEN, &c->buf[start]);
		return 0;
	}
	/* too long: the tail, from the first "/" that leaves it short enough
	 * (none: a 255-byte last name, its last 255 bytes) */
	c->pos = end - (JB_PATH_LEN - 1);
	c->len = end;
	bpf_loop(JB_PATH_LEN, tail_step, &c, 0);
	if (c->pos >= JB_CANON_LEN)
		return -1;
	bpf_probe_read_kernel(s->file.path, JB_PATH_LEN, &c->buf[c->pos]);
	s->file.path[JB_PATH_LEN - 1] = 0;
	s->file.flags |= JB_FILE_PATH_CUT;
	return 0;
}

/*
 * Path named by a string (a syscall's user argument, or with kern set a
 * kernel string such as bprm->filename) relative to dirfd, into
 * s->file.path in its canonical spelling (above): absolute as given, else
 * base (cwd or dirfd's file, walked from dentries) + "/" + string, then
 * folded. "" (AT_EMPTY_PATH) names the base itself. If the base cannot be
 * had, the string is kept as given (its first 255 bytes) with
 * JB_FILE_RELATIVE. Returns -1 only when the string itself could not be
 * read (or no scratch).
 */
static __noinline int str_path(struct jb_scratch *s, struct task_struct *task,
			       const char *upath, int dirfd, int kern)
{
	__u32 zero = 0, len, blen, start, off;
	struct jb_canon *c;
	struct dentry *d;
	struct vfsmount *m;
	long n;
	int wb;

	c = bpf_map_lookup_elem(&jb_scratch_canon, &zero);
	if (!s || !c)
		return -1;
	s->file.flags = 0;
	/* the common case costs one read, the scan and nothing else: a short
	 * absolute string that needs no folding is read where it stays */
	n = read_str(s->file.path, JB_PATH_LEN, upath, kern);
	if (n <= 0)
		return -1; /* unreadable string: the caller counts it */
	if (n < JB_PATH_LEN) {
		struct scan_ctx sc = {.s = s, .len = (__u64)n - 1};

		if (n > 1)
			bpf_loop((__u32)n / 8 + 1, scan_step, &sc, 0);
		if (!sc.found && s->file.path[0] == '/')
			return 0;
		/* kept aside: a walk of the base overwrites path */
		bpf_probe_read_kernel(&c->buf[JB_CANON_RAW], (__u32)n & JB_PATH_MASK, s->file.path);
		c->pos = sc.found;
	} else {
		/* maybe longer: read it whole; it is folded (a tail at least) */
		n = read_str(&c->buf[JB_CANON_RAW], JB_USTR_LEN, upath, kern);
		if (n <= 0)
			return -1;
		if (n >= JB_USTR_LEN)
			s->file.flags |= JB_FILE_PATH_CUT; /* the kernel refuses it */
		c->pos = 1;
	}
	len = (__u32)n - 1;
	if (c->buf[JB_CANON_RAW] == '/')
		return canon_fold(s, c, JB_CANON_RAW) ? -1 : 0;

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
	wb = walk_path(s, d, m);
	if (wb <= 0 || wb >= JB_PATH_LEN)
		goto relative;
	blen = (__u32)wb;
	if (len == 0) /* "" (AT_EMPTY_PATH): the base itself */
		return 0;

	/* a leading "." component ("./x", "../x", ".", "..") folds too */
	if (!c->pos && c->buf[JB_CANON_RAW] == '.') {
		char c1 = c->buf[JB_CANON_RAW + 1];

		if (c1 == '/' || c1 == 0 ||
		    (c1 == '.' && (c->buf[JB_CANON_RAW + 2] == '/' || !c->buf[JB_CANON_RAW + 2])))
			c->pos = 1;
	}
	off = blen > 1 ? blen + 1 : 1; /* base "/" needs no separator */
	if (!c->pos && off + len < JB_PATH_LEN) {
		if (blen > 1)
			s->file.path[blen & JB_PATH_MASK] = '/';
		/* constant size: the copy may run into spill, the NUL is
		 * inside path (off + len < JB_PATH_LEN) */
		bpf_probe_read_kernel_str(&s->file.path[off & JB_PATH_MASK], JB_PATH_LEN,
					  &c->buf[JB_CANON_RAW]);
		return 0;
	}
	/* "BASE/STRING" in buf, then folded (a base cut by the walk stays
	 * cut: a ".." popping into it pops its tail) */
	start = (JB_CANON_RAW - 1 - blen) & JB_PATH_MASK;
	bpf_probe_read_kernel(&c->buf[start], blen & JB_PATH_MASK, s->file.path);
	c->buf[JB_CANON_RAW - 1] = '/';
	if (canon_fold(s, c, start))
		goto relative;
	return 0;

relative:
	s->file.flags = JB_FILE_RELATIVE;
	if (n >= JB_PATH_LEN)
		s->file.flags |= JB_FILE_PATH_CUT;
	bpf_probe_read_kernel(s->file.path, JB_PATH_LEN, &c->buf[JB_CANON_RAW]);
	s->file.path[JB_PATH_LEN - 1] = 0;
	return 0;
}
#endif
