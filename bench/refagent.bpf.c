// SPDX-License-Identifier: GPL-2.0
/*
 * refagent.bpf.c - the benchmark's reference event-streaming agent: the way
 * event-streaming tools work, for comparison with jibril's folded maps.
 *
 * The SAME hooks as bpf/jibril.bpf.c, and the same path resolution (the
 * shared vfs_path.bpf.h), but every event reserves one BPF ring-buffer
 * record, fills it and submits it; user space (refagent.c) decodes every
 * record. A reserve that fails (ring full) is counted in ref_dropped.
 *
 * Two program sets on identical hooks, chosen by user space before load:
 *   ref_*  the streaming programs;
 *   nop_*  empty programs (return 0): the measured floor, the cost of
 *          merely hooking.
 *
 * Invariants:
 *  - the tgid of the agent itself (ref_agent_tgid) produces no record;
 *  - the per-CPU path scratch is used only from process context programs;
 *    ref_sock_state runs in softirq and uses the stack only (like jibril);
 *  - nothing here is slowed on purpose: records are fixed-size, reserved
 *    only once the event is known to be emitted, submitted with the
 *    default (adaptive) wake-up.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>
#include "jibril.h"
#include "vfs_path.bpf.h"
#include "refagent.h"

char LICENSE[] SEC("license") = "GPL";

/* set by user space before load */
const volatile __u32 ref_agent_tgid = 0;
/* 0: the kernel's default wake-up (the consumer is woken by any record
 * that finds it caught up, i.e. about once per event when it keeps up);
 * N: batched, wake it only once N bytes wait (perf's wakeup watermark,
 * Falco's no-wakeup polling): the consumer's poll timeout picks up the
 * tail of a burst */
const volatile __u64 ref_wake_bytes = 0;

#define REF_AF_INET 2
#define REF_AF_INET6 10
#define REF_O_TRUNC 01000
#define REF_S_IFMT 0170000
#define REF_S_IFSOCK 0140000
#define REF_TCP_ESTABLISHED 1
#define REF_TCP_SYN_SENT 2
#define REF_TCP_SYN_RECV 3
#define REF_IPPROTO_TCP 6
#define REF_IPPROTO_MPTCP 262
#define REF_FMODE_READ 0x1
#define REF_FMODE_WRITE 0x2
#define REF_FMODE_CREATED 0x100000

_Static_assert(REF_PATH_LEN == JB_PATH_LEN, "records carry the shared path buffer");

/* size set by user space (--ring-kb) */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} ref_ring SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} ref_dropped SEC(".maps");

static __always_inline void ev_submit(struct ref_event *e)
{
	__u64 flags = 0;

	if (ref_wake_bytes)
		flags = bpf_ringbuf_query(&ref_ring, BPF_RB_AVAIL_DATA) >= ref_wake_bytes
				? BPF_RB_FORCE_WAKEUP
				: BPF_RB_NO_WAKEUP;
	bpf_ringbuf_submit(e, flags);
}

static __always_inline int is_agent(void)
{
	return (bpf_get_current_pid_tgid() >> 32) == ref_agent_tgid;
}

/* One record of the current task, or NULL (counted) when the ring is full. */
static __always_inline struct ref_event *ev_new(__u32 type)
{
	struct ref_event *e = bpf_ringbuf_reserve(&ref_ring, sizeof(*e), 0);
	__u64 id;

	if (!e) {
		__u32 zero = 0;
		__u64 *d = bpf_map_lookup_elem(&ref_dropped, &zero);

		if (d)
			__sync_fetch_and_add(d, 1);
		return NULL;
	}
	id = bpf_get_current_pid_tgid();
	e->ts_ns = bpf_ktime_get_ns();
	e->type = type;
	e->pid = (__u32)id;
	e->tgid = id >> 32;
	e->ppid = 0;
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->actions = 0;
	e->flags = 0;
	e->family = 0;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	return e;
}

/* A record carrying the path in the scratch (as built by vfs_path.bpf.h). */
static __noinline int emit_path(struct jb_scratch *s, __u32 type, __u32 act)
{
	struct ref_event *e;

	if (!s)
		return 0;
	e = ev_new(type);
	if (!e)
		return 0;
	e->actions = act;
	e->flags = s->file.flags;
	__builtin_memcpy(e->path, s->file.path, REF_PATH_LEN);
	ev_submit(e);
	return 0;
}

/* --- task lifecycle ------------------------------------------------------ */

SEC("tp_btf/sched_process_fork")
int BPF_PROG(ref_fork, struct task_struct *parent, struct task_struct *child)
{
	struct ref_event *e;

	if (child->pid != child->tgid || is_agent())
		return 0; /* a thread, not a process */
	e = ev_new(REF_FORK);
	if (!e)
		return 0;
	e->tgid = child->tgid;
	e->pid = child->pid;
	e->ppid = parent->tgid;
	e->path[0] = 0;
	ev_submit(e);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(ref_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct jb_scratch *s;
	struct file *file;
	const char *fname;

	if (is_agent())
		return 0;
	s = scratch_path();
	if (!s)
		return 0;
	file = BPF_CORE_READ(bprm, file);
	if (file && walk_file(s, file) >= 0) {
		emit_path(s, REF_EXEC, JB_ACT_EXEC | JB_ACT_OPEN | JB_ACT_MMAP);
	} else {
		s->file.flags = 0;
		s->file.path[0] = 0;
		emit_path(s, REF_EXEC, JB_ACT_EXEC | JB_ACT_OPEN | JB_ACT_MMAP);
	}
	/* a script: the name that was executed, as jibril links it */
	fname = BPF_CORE_READ(bprm, filename);
	if (fname && fname != BPF_CORE_READ(bprm, interp) &&
	    str_path(s, p, fname, JB_AT_FDCWD, 1) == 0)
		emit_path(s, REF_FILE, JB_ACT_EXEC | JB_ACT_OPEN);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(ref_exit, struct task_struct *p)
{
	struct ref_event *e;

	/* the last thread of the process leaves (see jibril.bpf.c) */
	if (BPF_CORE_READ(p, signal, live.counter) != 0 || is_agent())
		return 0;
	e = ev_new(REF_EXIT);
	if (!e)
		return 0;
	e->path[0] = 0;
	ev_submit(e);
	return 0;
}

/* --- file syscalls ------------------------------------------------------- */

enum { REF_OPEN, REF_OPENAT, REF_OPENAT2, REF_CREAT };

static __always_inline int open_truncates(int kind)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	__u64 flags = 0;

	if (kind == REF_OPEN) {
		flags = PT_REGS_PARM2_CORE_SYSCALL(regs);
	} else if (kind == REF_OPENAT) {
		flags = PT_REGS_PARM3_CORE_SYSCALL(regs);
	} else {
		void *how = (void *)PT_REGS_PARM3_CORE_SYSCALL(regs);

		if (bpf_probe_read_user(&flags, sizeof(flags), how))
			return 0;
	}
	return (flags & REF_O_TRUNC) != 0;
}

static __always_inline int on_open_exit(long ret, int kind)
{
	struct task_struct *task;
	struct jb_scratch *s;
	struct file *f;
	__u32 mode, act = JB_ACT_OPEN;

	if (ret < 0 || is_agent())
		return 0;
	s = scratch_path();
	if (!s)
		return 0;
	task = bpf_get_current_task_btf();
	f = fd_to_file(task, ret);
	if (walk_file(s, f) < 0)
		return 0;
	mode = f->f_mode; /* f is typed (fd_to_file): a plain load */
	if (mode & REF_FMODE_READ)
		act |= JB_ACT_READ;
	if (mode & REF_FMODE_WRITE) {
		act |= JB_ACT_WRITE;
		if (kind == REF_CREAT || open_truncates(kind))
			act |= JB_ACT_TRUNCATE;
	}
	if (mode & REF_FMODE_CREATED)
		act |= JB_ACT_CREATE;
	return emit_path(s, REF_FILE, act);
}

SEC("tracepoint/syscalls/sys_exit_openat")
int ref_openat_x(struct trace_event_raw_sys_exit *ctx)
{
	return on_open_exit(ctx->ret, REF_OPENAT);
}

SEC("tracepoint/syscalls/sys_exit_openat2")
int ref_openat2_x(struct trace_event_raw_sys_exit *ctx)
{
	return on_open_exit(ctx->ret, REF_OPENAT2);
}

SEC("tracepoint/syscalls/sys_exit_open")
int ref_open_x(struct trace_event_raw_sys_exit *ctx)
{
	return on_open_exit(ctx->ret, REF_OPEN);
}

SEC("tracepoint/syscalls/sys_exit_creat")
int ref_creat_x(struct trace_event_raw_sys_exit *ctx)
{
	return on_open_exit(ctx->ret, REF_CREAT);
}

/* the file behind an fd, one record (jibril: mmap, ftruncate, fsync, flock,
 * fasync) */
static __always_inline int on_fd(int fd, __u32 act)
{
	struct jb_scratch *s = scratch_path();

	if (!s || walk_file(s, fd_to_file(bpf_get_current_task_btf(), fd)) < 0)
		return 0;
	return emit_path(s, REF_FILE, act);
}

SEC("tracepoint/syscalls/sys_enter_mmap")
int ref_mmap(struct trace_event_raw_sys_enter *ctx)
{
	int fd = (int)ctx->args[4];

	if ((ctx->args[3] & 0x20 /* MAP_ANONYMOUS */) || fd < 0 || is_agent())
		return 0;
	return on_fd(fd, JB_ACT_MMAP);
}

SEC("tracepoint/syscalls/sys_enter_ftruncate")
int ref_ftruncate(struct trace_event_raw_sys_enter *ctx)
{
	if (is_agent())
		return 0;
	return on_fd((int)ctx->args[0], JB_ACT_TRUNCATE);
}

/* fsync, flock, fasync: jibril's filters, in jibril's order */
SEC("tracepoint/syscalls/sys_enter_fsync")
int ref_fsync(struct trace_event_raw_sys_enter *ctx)
{
	if (is_agent())
		return 0;
	return on_fd((int)ctx->args[0], JB_ACT_FSYNC);
}

SEC("tracepoint/syscalls/sys_enter_fdatasync")
int ref_fdatasync(struct trace_event_raw_sys_enter *ctx)
{
	if (is_agent())
		return 0;
	return on_fd((int)ctx->args[0], JB_ACT_FSYNC);
}

SEC("tracepoint/syscalls/sys_enter_sync_file_range")
int ref_sync_range(struct trace_event_raw_sys_enter *ctx)
{
	if (is_agent())
		return 0;
	return on_fd((int)ctx->args[0], JB_ACT_FSYNC);
}

SEC("tracepoint/syscalls/sys_enter_flock")
int ref_flock(struct trace_event_raw_sys_enter *ctx)
{
	if (!(ctx->args[1] & 3 /* LOCK_SH | LOCK_EX */) || is_agent())
		return 0;
	return on_fd((int)ctx->args[0], JB_ACT_FLOCK);
}

SEC("tracepoint/syscalls/sys_enter_fcntl")
int ref_fcntl(struct trace_event_raw_sys_enter *ctx)
{
	struct file *f;
	__u32 fmt;

	if ((__u32)ctx->args[1] != 4 /* F_SETFL */ || !(ctx->args[2] & 020000 /* O_ASYNC */) ||
	    is_agent())
		return 0;
	f = fd_to_file(bpf_get_current_task_btf(), (int)ctx->args[0]);
	if (!f)
		return 0;
	fmt = f->f_inode->i_mode & 0170000;
	if (fmt == 0140000 /* socket */ || fmt == 0010000 /* pipe */)
		return 0;
	return on_fd((int)ctx->args[0], JB_ACT_FASYNC);
}

static __always_inline int on_path(const char *p1, long dfd1, const char *p2, long dfd2,
				   __u32 act)
{
	struct task_struct *task;
	struct jb_scratch *s;

	if (is_agent())
		return 0;
	s = scratch_path();
	if (!s)
		return 0;
	task = bpf_get_current_task_btf();
	if (str_path(s, task, p1, (int)dfd1, 0) == 0)
		emit_path(s, REF_FILE, act);
	if (p2 && str_path(s, task, p2, (int)dfd2, 0) == 0)
		emit_path(s, REF_FILE, act);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_unlinkat")
int ref_unlinkat(struct trace_event_raw_sys_enter *ctx)
{
	return on_path((const char *)ctx->args[1], ctx->args[0], NULL, 0, JB_ACT_UNLINK);
}

SEC("tracepoint/syscalls/sys_enter_unlink")
int ref_unlink(struct trace_event_raw_sys_enter *ctx)
{
	return on_path((const char *)ctx->args[0], JB_AT_FDCWD, NULL, 0, JB_ACT_UNLINK);
}

SEC("tracepoint/syscalls/sys_enter_renameat2")
int ref_renameat2(struct trace_event_raw_sys_enter *ctx)
{
	return on_path((const char *)ctx->args[1], ctx->args[0], (const char *)ctx->args[3],
		       ctx->args[2], JB_ACT_RENAME);
}

SEC("tracepoint/syscalls/sys_enter_renameat")
int ref_renameat(struct trace_event_raw_sys_enter *ctx)
{
	return on_path((const char *)ctx->args[1], ctx->args[0], (const char *)ctx->args[3],
		       ctx->args[2], JB_ACT_RENAME);
}

SEC("tracepoint/syscalls/sys_enter_rename")
int ref_rename(struct trace_event_raw_sys_enter *ctx)
{
	return on_path((const char *)ctx->args[0], JB_AT_FDCWD, (const char *)ctx->args[1],
		       JB_AT_FDCWD, JB_ACT_RENAME);
}

SEC("tracepoint/syscalls/sys_enter_fchmodat")
int ref_fchmodat(struct trace_event_raw_sys_enter *ctx)
{
	return on_path((const char *)ctx->args[1], ctx->args[0], NULL, 0, JB_ACT_CHMOD);
}

SEC("tracepoint/syscalls/sys_enter_fchmodat2")
int ref_fchmodat2(struct trace_event_raw_sys_enter *ctx)
{
	return on_path((const char *)ctx->args[1], ctx->args[0], NULL, 0, JB_ACT_CHMOD);
}

SEC("tracepoint/syscalls/sys_enter_chmod")
int ref_chmod(struct trace_event_raw_sys_enter *ctx)
{
	return on_path((const char *)ctx->args[0], JB_AT_FDCWD, NULL, 0, JB_ACT_CHMOD);
}

SEC("tracepoint/syscalls/sys_enter_truncate")
int ref_truncate(struct trace_event_raw_sys_enter *ctx)
{
	return on_path((const char *)ctx->args[0], JB_AT_FDCWD, NULL, 0, JB_ACT_TRUNCATE);
}

SEC("tracepoint/syscalls/sys_enter_linkat")
int ref_linkat(struct trace_event_raw_sys_enter *ctx)
{
	return on_path((const char *)ctx->args[1], ctx->args[0], (const char *)ctx->args[3],
		       ctx->args[2], JB_ACT_LINK);
}

SEC("tracepoint/syscalls/sys_enter_link")
int ref_link(struct trace_event_raw_sys_enter *ctx)
{
	return on_path((const char *)ctx->args[0], JB_AT_FDCWD, (const char *)ctx->args[1],
		       JB_AT_FDCWD, JB_ACT_LINK);
}

SEC("tracepoint/syscalls/sys_enter_symlinkat")
int ref_symlinkat(struct trace_event_raw_sys_enter *ctx)
{
	return on_path((const char *)ctx->args[2], ctx->args[1], NULL, 0, JB_ACT_LINK);
}

SEC("tracepoint/syscalls/sys_enter_symlink")
int ref_symlink(struct trace_event_raw_sys_enter *ctx)
{
	return on_path((const char *)ctx->args[1], JB_AT_FDCWD, NULL, 0, JB_ACT_LINK);
}

SEC("tracepoint/syscalls/sys_enter_fchmod")
int ref_fchmod(struct trace_event_raw_sys_enter *ctx)
{
	struct jb_scratch *s;

	if (is_agent())
		return 0;
	s = scratch_path();
	if (!s)
		return 0;
	if (walk_file(s, fd_to_file(bpf_get_current_task_btf(), (int)ctx->args[0])) < 0)
		return 0;
	return emit_path(s, REF_FILE, JB_ACT_CHMOD);
}

/* --- flows --------------------------------------------------------------- */

/* An egress record of the current task (as jibril's egress_flow()): the
 * peer from the socket, or from connect()'s sockaddr when daddr is given. */
static __noinline int emit_connect(const struct sock *sk, __u16 family, __u8 proto,
				   const __u8 *daddr, __u16 dport)
{
	struct ref_event *e = ev_new(REF_CONNECT);

	if (!e)
		return 0;
	sk = as_btf(sk, struct sock);
	e->family = family;
	e->proto = proto;
	e->dport = dport;
	e->sport = sk->__sk_common.skc_num;
	__builtin_memset(e->saddr, 0, 16);
	__builtin_memset(e->daddr, 0, 16);
	if (family == REF_AF_INET) {
		__be32 a = sk->__sk_common.skc_rcv_saddr;

		__builtin_memcpy(e->saddr, &a, 4);
		if (!daddr) {
			a = sk->__sk_common.skc_daddr;
			__builtin_memcpy(e->daddr, &a, 4);
		}
	} else {
		BPF_CORE_READ_INTO(&e->saddr, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
		if (!daddr)
			BPF_CORE_READ_INTO(&e->daddr, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
	}
	if (daddr)
		__builtin_memcpy(e->daddr, daddr, 16);
	e->path[0] = 0;
	ev_submit(e);
	return 0;
}

/* connect() of anything but TCP, same tests in the same order as jibril's
 * jb_connect_e (TCP is taken at SYN_SENT by ref_sock_state) */
SEC("tracepoint/syscalls/sys_enter_connect")
int ref_connect_e(struct trace_event_raw_sys_enter *ctx)
{
	const void *uaddr = (const void *)ctx->args[1];
	int alen = (int)ctx->args[2];
	union {
		struct sockaddr_in sin;
		struct sockaddr_in6 sin6;
	} u;
	__u8 daddr[16] = {};
	__u16 family, proto;
	struct socket *sock;
	struct sock *sk;
	struct file *f;

	f = fd_to_file(bpf_get_current_task_btf(), (int)ctx->args[0]);
	if (!f || (f->f_inode->i_mode & REF_S_IFMT) != REF_S_IFSOCK)
		return 0;
	sock = as_btf(f->private_data, struct socket);
	sk = sock->sk;
	if (!sk)
		return 0;
	family = sk->__sk_common.skc_family;
	if (family != REF_AF_INET && family != REF_AF_INET6)
		return 0;
	proto = sk->sk_protocol;
	if (proto == REF_IPPROTO_TCP || proto == REF_IPPROTO_MPTCP || is_agent())
		return 0;
	if (alen < (int)sizeof(u.sin) || bpf_probe_read_user(&u.sin, sizeof(u.sin), uaddr))
		return 0;
	family = u.sin.sin_family;
	if (family == REF_AF_INET) {
		__builtin_memcpy(daddr, &u.sin.sin_addr, 4);
	} else if (family == REF_AF_INET6 && alen >= 24) {
		if (bpf_probe_read_user(&u.sin6, 24, uaddr))
			return 0;
		__builtin_memcpy(daddr, &u.sin6.sin6_addr, 16);
	} else {
		return 0;
	}
	return emit_connect(sk, family, (__u8)proto, daddr, bpf_ntohs(u.sin.sin_port));
}

/* TCP: CLOSE -> SYN_SENT in the connecting task (an egress attempt), and
 * SYN_RECV -> ESTABLISHED in softirq (accepted ingress: no task context,
 * stack only), as in jibril's jb_sock_state. */
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(ref_sock_state, const struct sock *sk, const int oldstate, const int newstate)
{
	struct ref_event *e;
	__u16 family;

	if (newstate == REF_TCP_SYN_SENT) {
		family = sk->__sk_common.skc_family;
		if ((family != REF_AF_INET && family != REF_AF_INET6) || is_agent())
			return 0;
		return emit_connect(sk, family, (__u8)sk->sk_protocol, NULL,
				    bpf_ntohs(sk->__sk_common.skc_dport));
	}
	if (oldstate != REF_TCP_SYN_RECV || newstate != REF_TCP_ESTABLISHED)
		return 0;
	family = sk->__sk_common.skc_family;
	if (family != REF_AF_INET && family != REF_AF_INET6)
		return 0;
	e = bpf_ringbuf_reserve(&ref_ring, sizeof(*e), 0);
	if (!e) {
		__u32 zero = 0;
		__u64 *d = bpf_map_lookup_elem(&ref_dropped, &zero);

		if (d)
			__sync_fetch_and_add(d, 1);
		return 0;
	}
	__builtin_memset(e, 0, offsetof(struct ref_event, comm));
	e->ts_ns = bpf_ktime_get_ns();
	e->type = REF_ACCEPT;
	e->family = family;
	if (family == REF_AF_INET) {
		__be32 a = sk->__sk_common.skc_rcv_saddr;
		__be32 b = sk->__sk_common.skc_daddr;

		__builtin_memcpy(e->saddr, &a, 4);
		__builtin_memcpy(e->daddr, &b, 4);
	} else {
		BPF_CORE_READ_INTO(&e->saddr, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
		BPF_CORE_READ_INTO(&e->daddr, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
	}
	e->proto = (__u8)sk->sk_protocol;
	e->sport = sk->__sk_common.skc_num;
	e->dport = bpf_ntohs(sk->__sk_common.skc_dport);
	e->comm[0] = 0;
	e->path[0] = 0;
	ev_submit(e);
	return 0;
}

/* --- DNS answers ---------------------------------------------------------- */

/* jibril parses DNS answers in a cgroup_skb/ingress program on the cgroup2
 * root; a streaming tool ships every answer packet to user space instead:
 * one REF_DNS record per UDP datagram from port 53, the first REF_PATH_LEN
 * bytes of its payload in path. Headers are linear at socket delivery. */
#define REF_ETH_P_IP 0x0800
#define REF_ETH_P_IPV6 0x86DD
#define REF_IPPROTO_UDP 17

SEC("cgroup_skb/ingress")
int ref_dns(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ref_event *e;
	__u32 l4, n;
	__u8 *udp;

	if (skb->protocol == bpf_htons(REF_ETH_P_IP)) {
		__u8 *ip = data;

		if ((void *)(ip + 20) > end || ip[9] != REF_IPPROTO_UDP)
			return 1;
		l4 = (ip[0] & 0xf) * 4;
		if (l4 < 20)
			return 1;
	} else if (skb->protocol == bpf_htons(REF_ETH_P_IPV6)) {
		__u8 *ip6 = data;

		if ((void *)(ip6 + 40) > end || ip6[6] != REF_IPPROTO_UDP)
			return 1;
		l4 = 40;
	} else {
		return 1;
	}
	if (l4 > 60)
		return 1;
	udp = (__u8 *)data + l4;
	if ((void *)(udp + 8) > end || udp[0] != 0 || udp[1] != 53)
		return 1;
	e = bpf_ringbuf_reserve(&ref_ring, sizeof(*e), 0);
	if (!e) {
		__u32 zero = 0;
		__u64 *d = bpf_map_lookup_elem(&ref_dropped, &zero);

		if (d)
			__sync_fetch_and_add(d, 1);
		return 1;
	}
	__builtin_memset(e, 0, offsetof(struct ref_event, path));
	e->ts_ns = bpf_ktime_get_ns();
	e->type = REF_DNS;
	e->family = skb->family;
	e->proto = REF_IPPROTO_UDP;
	e->sport = 53;
	e->path[0] = 0;
	n = skb->len > l4 + 8 ? skb->len - l4 - 8 : 0;
	if (n > REF_PATH_LEN)
		n = REF_PATH_LEN;
	if (n > 0) {
		__u32 m = n - 1;

		asm volatile("%0 &= 0xff" : "+r"(m)); /* 1..256, a bound the verifier keeps */
		if (bpf_skb_load_bytes(skb, l4 + 8, e->path, m + 1) < 0)
			e->path[0] = 0;
	}
	ev_submit(e);
	return 1;
}

/* --- the floor: the same hooks, empty programs --------------------------- */

#define NOP(name, sec)                \
	SEC(sec)                      \
	int name(void *ctx)           \
	{                             \
		return 0;             \
	}

NOP(nop_fork, "tp_btf/sched_process_fork")
NOP(nop_exec, "tp_btf/sched_process_exec")
NOP(nop_exit, "tp_btf/sched_process_exit")
NOP(nop_openat_x, "tracepoint/syscalls/sys_exit_openat")
NOP(nop_openat2_x, "tracepoint/syscalls/sys_exit_openat2")
NOP(nop_open_x, "tracepoint/syscalls/sys_exit_open")
NOP(nop_creat_x, "tracepoint/syscalls/sys_exit_creat")
NOP(nop_mmap, "tracepoint/syscalls/sys_enter_mmap")
NOP(nop_ftruncate, "tracepoint/syscalls/sys_enter_ftruncate")
NOP(nop_truncate, "tracepoint/syscalls/sys_enter_truncate")
NOP(nop_fsync, "tracepoint/syscalls/sys_enter_fsync")
NOP(nop_fdatasync, "tracepoint/syscalls/sys_enter_fdatasync")
NOP(nop_sync_range, "tracepoint/syscalls/sys_enter_sync_file_range")
NOP(nop_flock, "tracepoint/syscalls/sys_enter_flock")
NOP(nop_fcntl, "tracepoint/syscalls/sys_enter_fcntl")
NOP(nop_linkat, "tracepoint/syscalls/sys_enter_linkat")
NOP(nop_link, "tracepoint/syscalls/sys_enter_link")
NOP(nop_symlinkat, "tracepoint/syscalls/sys_enter_symlinkat")
NOP(nop_symlink, "tracepoint/syscalls/sys_enter_symlink")
NOP(nop_unlinkat, "tracepoint/syscalls/sys_enter_unlinkat")
NOP(nop_unlink, "tracepoint/syscalls/sys_enter_unlink")
NOP(nop_renameat2, "tracepoint/syscalls/sys_enter_renameat2")
NOP(nop_renameat, "tracepoint/syscalls/sys_enter_renameat")
NOP(nop_rename, "tracepoint/syscalls/sys_enter_rename")
NOP(nop_fchmodat, "tracepoint/syscalls/sys_enter_fchmodat")
NOP(nop_fchmodat2, "tracepoint/syscalls/sys_enter_fchmodat2")
NOP(nop_chmod, "tracepoint/syscalls/sys_enter_chmod")
NOP(nop_fchmod, "tracepoint/syscalls/sys_enter_fchmod")
NOP(nop_connect_e, "tracepoint/syscalls/sys_enter_connect")
NOP(nop_sock_state, "tp_btf/inet_sock_set_state")

SEC("cgroup_skb/ingress")
int nop_dns(struct __sk_buff *skb)
{
	return 1; /* let the packet through, like jibril's parser */
}
