/* SPDX-License-Identifier: GPL-2.0 */
/*
 * io_uring.bpf.h - file and connect work submitted through io_uring,
 * recorded like the syscalls it replaces. An IORING_OP_OPENAT fires none
 * of the syscalls: tracepoints, so without this an authorized_keys opened
 * and written through a ring left no trace. Included at the end of
 * jibril.bpf.c: it uses that file's record_file(), ensure_task(),
 * egress_flow(), tamper_proc_open() and maps.
 *
 * Hooks (tp_btf: no tracefs; the loader turns them off on a kernel whose
 * BTF has no io_uring tracepoints):
 *   io_uring_create      the task gets JB_TASK_IO_URING (io_uring_setup
 *                        succeeded)
 *   io_uring_submit_req  each request after its prep, in the submitting
 *                        task (io_uring_enter's caller or the ring's SQPOLL
 *                        thread: a thread of the submitting process):
 *                        OPENAT/OPENAT2 (the name as given, the flags'
 *                        intent), RENAMEAT, UNLINKAT, LINKAT, SYMLINKAT (the
 *                        kernel's copy of each name, against the request's
 *                        dirfd, as the syscall's enter program does),
 *                        FSYNC, SYNC_FILE_RANGE, FTRUNCATE (the request's
 *                        file, walked each time: no jb_seen), CONNECT of
 *                        anything but TCP (the address in the caller's
 *                        memory, as jb_connect_e reads it)
 *   io_uring_complete    OPENAT/OPENAT2 that succeeded: the opened file
 *                        itself (fd, or the fixed-file slot) with the
 *                        actions of its f_mode, as the open syscalls' exit
 *                        program records it (walked each time: no jb_seen,
 *                        see uring_fd_act()); CONNECT that succeeded: the
 *                        peer the socket holds
 * TCP connects through a ring need nothing here: jb_sock_state sees the
 * SYN_SENT transition whoever calls tcp_v4_connect().
 *
 * Invariants:
 *  - every record is attributed to the process that submitted the
 *    request: current at submit is that process's thread (caller or SQPOLL
 *    thread); at completion current is a thread of that process too
 *    (the caller, an io-wq worker, task work), and a completion run by
 *    anything else (a kernel worker finishing the requests of an exiting
 *    task) is skipped rather than pinned on the wrong process.
 *  - the agent's own processes are skipped (is_agent()), as everywhere.
 *  - a process that never creates or submits to a ring pays nothing: no
 *    program here runs outside io_uring's own tracepoints.
 *  - an open is recorded twice on purpose: at submit by the name as given
 *    (so a completion that never reaches the tracepoint, e.g. a CQ ring
 *    left full so the CQE overflows, still leaves the attempt), and at
 *    completion by the file actually opened (symlinks and ".." resolved,
 *    CREATE only if the open created it). Both merge into one link when
 *    the names agree. Submit-time bits: OPEN, READ / WRITE from O_ACCMODE
 *    (neither for O_PATH), TRUNCATE for O_TRUNC on a writable open; never
 *    CREATE (O_CREAT on an existing file creates nothing).
 *  - a rename through a ring bumps jb_pathgen.gen at submit and at
 *    completion, never busy (a completion that is lost would leave busy
 *    up for good and switch the open cache off for every process). A
 *    directory renamed between the two leaves a window in which a re-open
 *    below it can still be recorded under the directory's old name.
 */
#ifndef JB_IO_URING_BPF_H
#define JB_IO_URING_BPF_H

/* uapi opcodes (enum io_uring_op: stable numbers) */
#define JB_IORING_OP_FSYNC 3
#define JB_IORING_OP_SYNC_FILE_RANGE 8
#define JB_IORING_OP_CONNECT 16
#define JB_IORING_OP_OPENAT 18
#define JB_IORING_OP_OPENAT2 28
#define JB_IORING_OP_RENAMEAT 35
#define JB_IORING_OP_UNLINKAT 36
#define JB_IORING_OP_SYMLINKAT 38
#define JB_IORING_OP_LINKAT 39
#define JB_IORING_OP_FTRUNCATE 55
#define JB_IORING_FILE_INDEX_ALLOC (~0U)
/* io_kiocb.flags: the request's fd is an index in the ring's file table */
#define JB_REQ_F_FIXED_FILE 1ULL
/* io_rsrc_node.file_ptr: low bits are flags (FFS_NOWAIT, FFS_ISREG) */
#define JB_FFS_MASK (~3UL)
#define JB_O_ACCMODE 3
#define JB_O_WRONLY 1
#define JB_O_RDWR 2
#define JB_O_PATH 010000000

/* Mark the process (and its protected copy) as an io_uring user. A plain
 * or, as jb_exit sets EXITED: the bit is only ever added. */
static __always_inline void uring_mark(__u64 tkey)
{
	struct jb_task *t = bpf_map_lookup_elem(&jb_tasks, &tkey);
	__u64 now;

	if (t && !(t->flags & JB_TASK_IO_URING)) {
		now = bpf_ktime_get_ns();
		t->flags |= JB_TASK_IO_URING;
		t->last_ns = now;
		t = bpf_map_lookup_elem(&jb_tasks_hot, &tkey);
		if (t) {
			t->flags |= JB_TASK_IO_URING;
			t->last_ns = now;
		}
	}
}

SEC("tp_btf/io_uring_create")
int BPF_PROG(jb_uring_create, int fd, void *ring, __u32 sq_entries, __u32 cq_entries, __u32 flags)
{
	struct task_struct *task = bpf_get_current_task_btf();

	if (is_agent(task))
		return 0;
	uring_mark(ensure_task(task));
	return 0;
}

/* Slot idx of the ring's fixed-file table (NULL if empty or out of range).
 * Rare (fixed files are an optimisation few programs use): a probe read
 * for the slot is fine. */
static __always_inline struct file *fixed_file(struct io_ring_ctx *ctx, __u32 idx)
{
	struct io_rsrc_node *node = NULL;
	__u64 nodes;

	ctx = as_btf(ctx, struct io_ring_ctx);
	if (idx >= ctx->file_table.data.nr)
		return NULL;
	nodes = (__u64)ctx->file_table.data.nodes;
	if (!nodes || bpf_probe_read_kernel(&node, sizeof(node), (void *)(nodes + idx * 8)) ||
	    !node)
		return NULL;
	node = as_btf(node, struct io_rsrc_node);
	return (struct file *)(node->file_ptr & JB_FFS_MASK);
}

/* The file a request names with sqe->fd (still in cqe.fd before issue). */
static __always_inline struct file *req_file(struct task_struct *task, struct io_kiocb *req)
{
	int fd = req->cqe.fd;

	if (req->flags & JB_REQ_F_FIXED_FILE)
		return fixed_file(req->ctx, (__u32)fd);
	return fd_to_file(task, fd);
}

/* One name of a request (a kernel struct filename, passed as a number)
 * against its dirfd, like on_path() for the syscalls (user strings there).
 * A global function, so the verifier checks it once for the program; as a
 * static one it was checked again for every opcode's constant action and
 * dirfd (165k instructions instead of ~20k). The task is current: every
 * caller runs in the submitting thread. */
__noinline int jb_uring_name(__u64 tkey, __u64 name, int dfd, __u32 act)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct jb_scratch *s = scratch_path();
	struct filename *n;

	if (!s || !name)
		return 0;
	n = as_btf((void *)name, struct filename);
	if (str_path(s, task, n->name, dfd, 1) == 0)
		record_file(s, tkey, act, NULL, 0);
	else
		stat_inc(JB_STAT_PATH_FAIL);
	return 0;
}

/* The open flags' intent at submit (see the header). */
static __always_inline __u32 open_intent(__u64 fl)
{
	__u32 act = JB_ACT_OPEN;

	if (fl & JB_O_PATH)
		return act;
	if ((fl & JB_O_ACCMODE) == JB_O_WRONLY || (fl & JB_O_ACCMODE) == JB_O_RDWR) {
		act |= JB_ACT_WRITE;
		if (fl & JB_O_TRUNC)
			act |= JB_ACT_TRUNCATE;
	}
	if ((fl & JB_O_ACCMODE) != JB_O_WRONLY)
		act |= JB_ACT_READ;
	return act;
}

/* The names of a request that names files: one or two, with their dirfds
 * and the action, picked per opcode; then the task (ensure_task() may reuse
 * the scratch that str_path() fills) and each name. One subprogram with
 * the names handed to jb_uring_name(). */
static __noinline int uring_names(struct task_struct *task, struct io_kiocb *req, __u32 op)
{
	__u64 n1 = 0, n2 = 0; /* struct filename *, read as numbers (see jb_uring_name) */
	int d1 = 0, d2 = 0;
	__u32 act;
	__u64 tkey;

	if (op == JB_IORING_OP_OPENAT || op == JB_IORING_OP_OPENAT2) {
		struct io_open *o = as_btf(req, struct io_open);

		BPF_CORE_READ_INTO(&n1, o, filename);
		d1 = o->dfd;
		act = open_intent(o->how.flags);
	} else if (op == JB_IORING_OP_UNLINKAT) {
		struct io_unlink *u = as_btf(req, struct io_unlink);

		BPF_CORE_READ_INTO(&n1, u, filename);
		d1 = u->dfd;
		act = JB_ACT_UNLINK;
	} else {
		/* RENAMEAT, LINKAT, SYMLINKAT: struct io_rename and struct
		 * io_link name their fields alike */
		struct io_link *l = as_btf(req, struct io_link);
		struct io_rename *r = as_btf(req, struct io_rename);

		if (op == JB_IORING_OP_RENAMEAT) {
			BPF_CORE_READ_INTO(&n1, r, oldpath);
			d1 = r->old_dfd;
			BPF_CORE_READ_INTO(&n2, r, newpath);
			d2 = r->new_dfd;
			act = JB_ACT_RENAME;
		} else if (op == JB_IORING_OP_LINKAT) {
			BPF_CORE_READ_INTO(&n1, l, oldpath);
			d1 = l->old_dfd;
			BPF_CORE_READ_INTO(&n2, l, newpath);
			d2 = l->new_dfd;
			act = JB_ACT_LINK;
		} else {
			/* a symlink: only the new name is a file (jb_symlinkat) */
			BPF_CORE_READ_INTO(&n1, l, newpath);
			d1 = l->new_dfd;
			act = JB_ACT_LINK;
		}
	}
	tkey = ensure_task(task);
	uring_mark(tkey);
	jb_uring_name(tkey, n1, d1, act);
	if (n2)
		jb_uring_name(tkey, n2, d2, act);
	return 0;
}

/* The INET socket of a connect request that is not TCP (TCP: jb_sock_state
 * sees it), or NULL. */
static __always_inline struct sock *uring_udp_sock(struct file *f)
{
	struct socket *sock;
	struct sock *sk;
	__u16 family, proto;

	if (!f)
		return NULL;
	f = as_btf(f, struct file);
	if ((f->f_inode->i_mode & JB_S_IFMT) != JB_S_IFSOCK)
		return NULL;
	sock = as_btf(f->private_data, struct socket);
	sk = sock->sk;
	if (!sk)
		return NULL;
	family = sk->__sk_common.skc_family;
	if (family != JB_AF_INET && family != JB_AF_INET6)
		return NULL;
	proto = sk->sk_protocol;
	if (proto == JB_IPPROTO_TCP || proto == JB_IPPROTO_MPTCP)
		return NULL;
	return sk;
}

/* A connect of anything but TCP, at submit, as jb_connect_e: the peer as
 * the caller gave it, read from its memory (current shares the caller's
 * address space, SQPOLL thread included). The kernel's own copy is not
 * used: where prep puts it (async_data) has changed between kernel
 * versions (6.18 keeps a bare sockaddr there, not an io_async_msghdr). */
static __noinline int uring_connect(struct task_struct *task, struct io_kiocb *req)
{
	struct io_connect *c = as_btf(req, struct io_connect);
	__u8 daddr[16] = {};
	__u16 family, dport;
	struct sock *sk = uring_udp_sock(req_file(task, req));

	if (!sk || user_peer(c->addr, c->addr_len, &family, daddr, &dport))
		return 0;
	uring_mark(ensure_task(task));
	return egress_flow(sk, family, (__u8)sk->sk_protocol, daddr, dport);
}

/* A connect of anything but TCP that succeeded: the peer the socket now
 * holds (the kernel's truth; the same flow key as the submit's record when
 * the caller's memory said the same, so the two fold into one). */
static __noinline int uring_connect_done(struct io_kiocb *req)
{
	struct sock *sk = uring_udp_sock(req->file);

	if (!sk)
		return 0;
	sk = as_btf(sk, struct sock);
	return egress_flow(sk, sk->__sk_common.skc_family, (__u8)sk->sk_protocol, NULL,
			   bpf_ntohs(sk->__sk_common.skc_dport));
}

/* FSYNC, SYNC_FILE_RANGE, FTRUNCATE: the request's file, walked and
 * recorded each time. Not through file_cached() as their syscalls are:
 * that subprogram costs the verifier ~150k instructions (1.5 s of agent
 * start on this class of machine) per program that calls it, and a walk
 * (~1 us) is small beside the flush it stands next to. */
static __noinline int uring_fd_act(struct task_struct *task, struct io_kiocb *req, __u32 act)
{
	struct jb_scratch *s = scratch_path();
	__u64 tkey;

	if (!s)
		return 0;
	tkey = ensure_task(task); /* before the walk: it may reuse the scratch */
	uring_mark(tkey);
	if (walk_file(s, req_file(task, req)) < 0) {
		stat_inc(JB_STAT_PATH_FAIL);
		return 0;
	}
	record_file(s, tkey, act, NULL, 0);
	return 0;
}

static __always_inline void uring_pathgen_bump(void)
{
	__u32 zero = 0;
	struct jb_pathgen *g = bpf_map_lookup_elem(&jb_pathgen, &zero);

	if (g)
		__sync_fetch_and_add(&g->gen, 1);
}

SEC("tp_btf/io_uring_submit_req")
int BPF_PROG(jb_uring_submit, struct io_kiocb *req)
{
	struct task_struct *task;
	__u8 op = req->opcode;

	/* reads, writes, polls, sends...: one compare chain and out */
	if (op != JB_IORING_OP_OPENAT && op != JB_IORING_OP_OPENAT2 &&
	    op != JB_IORING_OP_RENAMEAT && op != JB_IORING_OP_UNLINKAT &&
	    op != JB_IORING_OP_LINKAT && op != JB_IORING_OP_SYMLINKAT &&
	    op != JB_IORING_OP_CONNECT && op != JB_IORING_OP_FSYNC &&
	    op != JB_IORING_OP_SYNC_FILE_RANGE && op != JB_IORING_OP_FTRUNCATE)
		return 0;
	if (op == JB_IORING_OP_RENAMEAT)
		uring_pathgen_bump(); /* before is_agent(): every rename counts */
	task = bpf_get_current_task_btf();
	if (is_agent(task))
		return 0;

	if (op == JB_IORING_OP_CONNECT)
		return uring_connect(task, req);
	if (op == JB_IORING_OP_FSYNC || op == JB_IORING_OP_SYNC_FILE_RANGE ||
	    op == JB_IORING_OP_FTRUNCATE)
		return uring_fd_act(task, req,
				    op == JB_IORING_OP_FTRUNCATE ? JB_ACT_TRUNCATE : JB_ACT_FSYNC);
	return uring_names(task, req, op);
}

/* A completed open: the file it opened, as on_open_exit() records one. */
static __noinline int uring_open_done(struct task_struct *task, struct io_kiocb *req, int res)
{
	struct io_open *o = as_btf(req, struct io_open);
	__u32 slot = o->file_slot, mode, act = JB_ACT_OPEN;
	struct jb_scratch *s;
	struct file *f;
	__u64 tkey;

	if (!slot)
		f = fd_to_file(task, res);
	else
		f = fixed_file(req->ctx, slot == JB_IORING_FILE_INDEX_ALLOC ? (__u32)res : slot - 1);
	if (!f) {
		stat_inc(JB_STAT_PATH_FAIL);
		return 0;
	}
	f = as_btf(f, struct file);
	if (f->f_inode->i_sb->s_magic == JB_PROC_SUPER_MAGIC)
		tamper_proc_open(f);
	mode = f->f_mode;
	if (mode & JB_FMODE_READ)
		act |= JB_ACT_READ;
	if (mode & JB_FMODE_WRITE) {
		act |= JB_ACT_WRITE;
		/* O_TRUNC is gone from f_flags; the request still holds it */
		if (o->how.flags & JB_O_TRUNC)
			act |= JB_ACT_TRUNCATE;
	}
	if (mode & JB_FMODE_CREATED)
		act |= JB_ACT_CREATE;
	/* walked each time, not through file_cached() (see uring_fd_act()):
	 * the submission has walked the name already, and this program
	 * would cost the verifier 150k instructions more */
	s = scratch_path();
	if (!s)
		return 0;
	tkey = ensure_task(task); /* before the walk: it may reuse the scratch */
	if (walk_file(s, f) < 0) {
		stat_inc(JB_STAT_PATH_FAIL);
		return 0;
	}
	record_file(s, tkey, act, NULL, 0);
	return 0;
}

SEC("tp_btf/io_uring_complete")
int BPF_PROG(jb_uring_complete, void *ring, void *req_, struct io_uring_cqe *cqe)
{
	struct task_struct *task, *owner;
	struct io_kiocb *req;
	__u8 op;
	int res;

	if (!req_)
		return 0; /* an auxiliary CQE (no request) */
	req = as_btf(req_, struct io_kiocb);
	op = req->opcode;
	if (op == JB_IORING_OP_RENAMEAT) {
		uring_pathgen_bump();
		return 0;
	}
	if (op != JB_IORING_OP_OPENAT && op != JB_IORING_OP_OPENAT2 &&
	    op != JB_IORING_OP_CONNECT)
		return 0;
	res = cqe->res;
	if (res < 0)
		return 0;
	task = bpf_get_current_task_btf();
	/* the submitter's process, or nobody's (see the header) */
	owner = req->tctx ? req->tctx->task : NULL;
	if (!owner || owner->tgid != task->tgid || (task->flags & 0x00200000 /* PF_KTHREAD */))
		return 0;
	if (is_agent(task))
		return 0;
	if (op == JB_IORING_OP_CONNECT)
		return uring_connect_done(req);
	return uring_open_done(task, req, res);
}

#endif
