// SPDX-License-Identifier: GPL-2.0
/*
 * jibril.bpf.c - the kernel side of jibril: one CO-RE object that keeps a
 * compact, de-duplicated picture of what processes do, in maps only.
 *
 * Hooks (no kprobes: this class of kernel has none; every syscall hook is
 * a syscalls: tracepoint program with an fentry/fexit twin on its
 * __x64_sys_* wrapper, one body for both: syscall_hook.bpf.h; the loader
 * picks one of the two sets, supervisor/backend.c):
 *   tp_btf/sched_process_{fork,exec,exit}  -> jb_tasks (+ jb_files/jb_links
 *                                             for the executed file)
 *   tp_btf/cgroup_attach_task               -> jb_tasks cgroup_id (a move)
 *   syscalls: exit of open/openat/openat2/creat, enter of mmap,
 *   ftruncate, truncate, fsync, fdatasync, sync_file_range, flock,
 *   fcntl (F_SETFL|O_ASYNC only), unlink(at), rename(at/at2), link(at),
 *   symlink(at), chmod/fchmod/fchmodat(2)     -> jb_files + jb_links
 *   (not close or lseek: see enum jb_action; the path-named ones also at
 *   exit, for a string unreadable at entry: jb_path_retry)
 *   tp_btf/inet_sock_set_state                -> jb_flows (TCP egress at
 *                                                SYN_SENT, accepted ingress)
 *   syscalls: enter of connect                -> jb_flows (egress, not TCP)
 *   cgroup_skb/egress, cgroup_skb/ingress     -> jb_dns_queries, jb_dns
 *                                                (dns.bpf.h: UDP DNS queries
 *                                                and their answers)
 *   bpf, ptrace, process_vm_*, *chown*, signal_generate, module calls, and
 *   the open exit on procfs                   -> jb_tamper (tamper.bpf.h)
 * A file whose key user space put in jb_watch goes to jb_files_hot and
 * jb_links_hot instead, with a copy of its task in jb_tasks_hot: maps that
 * ordinary activity never touches, so a storm cannot evict them.
 * tp_btf where the event has one (cheaper, needs no tracefs); syscall
 * events only exist as tracefs tracepoints, or as fentry/fexit on the
 * syscall wrappers where the kernel accepts those. A missing optional
 * syscall tracepoint is the loader's business (it turns the program off).
 *
 * Why no ring/perf buffer: per-event streaming is what this product exists
 * to avoid: every repetition costs a record, a copy and user-space work
 * (bench/refagent, open+read+close loop on 6.18: +200 % with a wake-up per
 * record, +50 % with batched wake-ups; jibril +40 %). Every event is folded
 * into an LRU hash record keyed by a seeded hash, so repeated behaviour
 * costs a lookup or three, and user space reads the maps at its own pace.
 *
 * Paths are rebuilt from dentries, up to the root of the task's mount
 * namespace: a container sees its own paths, a chroot does not hide the
 * real location. Symlinks are resolved, "." / ".." never appear from the
 * walk; only strings taken from syscall arguments may carry them. That
 * code lives in vfs_path.bpf.h, shared with the benchmark's reference agent.
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
 *    A link's last_ns is refreshed by every new action bit, and by a
 *    repeated one only once it is JB_LINK_REFRESH_NS old; a flow's by a
 *    repeated connect only once per tick (see flow_bump()).
 *  - a jb_seen entry short-cuts a repeat only in the query epoch
 *    (jb_epoch) it was written in: every query sees repeated activity.
 *  - a key in jb_watch is never in jb_files (jb_watch is filled before
 *    attach): record_file() relies on it to skip the watch lookup.
 *  - the per-CPU scratch maps are used only from process context programs
 *    (syscall and sched tracepoints run with preemption disabled, and the
 *    fentry/fexit twins disable it around their body: one program at a
 *    time per CPU). The inet_sock_set_state program can run in
 *    softirq on top of them and therefore must use the stack only, except
 *    on its SYN_SENT branch, which only ever runs inside connect()/sendto()
 *    (tcp_v4_connect/tcp_v6_connect, process context).
 *  - events of the agent's own processes (is_agent(): the supervisor
 *    jb_agent_tgid and the children it forks) are dropped, except task
 *    records, which carry JB_TASK_AGENT; acts of other tasks on the agent
 *    are tamper records (tamper.bpf.h).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>
#include "jibril.h"
#include "vfs_path.bpf.h"
#include "syscall_hook.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* set by the loader before load */
const volatile __u64 jb_seed = 0;
/* The supervisor's tgid. In .bss, not .rodata: the maps (.bss among them)
 * are pinned and outlive a supervisor that crashed, and the programs keep
 * running; the next supervisor writes its own tgid here before it does
 * anything the programs would record, so the programs still attached from
 * before know it as the agent (supervisor/pins.c). When the supervisor
 * exits (a crash, SIGKILL, a stop that keeps the pins) jb_exit makes it
 * JB_AGENT_NONE: its pid is free, and a process that got it next, with its
 * children, would otherwise be skipped as the agent until a supervisor
 * runs again. */
volatile __u32 jb_agent_tgid = 0;

/* The query epoch: user space bumps it at the start of each query, after
 * reading its clock and before reading the maps (jb_bpf_new_epoch()). A
 * jb_seen entry short-cuts repeats only within the epoch it was written
 * in, so the first repeat after each query refreshes the link's last_ns
 * for the next query, and the repeats after it cost a lookup. Read with a
 * plain load (.bss, mmapped by user space). */
volatile __u64 jb_epoch = 0;
/* The clock (bpf_ktime_get_ns) of the latest query's start, stored by user
 * space just before it bumps jb_epoch: a task record created after it is
 * not yet counted as seen (the collector counts first_ns in (previous
 * query, this query]), so deleting one may take its TASK_NEW back. */
volatile __u64 jb_query_ns = 0;

/* uapi / kernel constants that vmlinux.h does not carry (macros) */
#define JB_EEXIST 17
#define JB_AF_INET 2
#define JB_AF_INET6 10
#define JB_O_TRUNC 01000
#define JB_S_IFMT 0170000
#define JB_S_IFSOCK 0140000
#define JB_TCP_ESTABLISHED 1
#define JB_TCP_SYN_SENT 2
#define JB_TCP_SYN_RECV 3
#define JB_IPPROTO_TCP 6
#define JB_IPPROTO_MPTCP 262
/* fs.h bits. FMODE_CREATED has been 0x100000 since it appeared (4.19);
 * checked on 6.18: an O_CREAT open of an existing file does not get it, a
 * new file does (so it is not FMODE_OPENED, which every open has) */
#define JB_FMODE_READ 0x1
#define JB_FMODE_WRITE 0x2
#define JB_FMODE_CREATED 0x100000
/* a link touched again with no new action within this long keeps its
 * last_ns (see link_upsert) */
#define JB_LINK_REFRESH_NS 2000000ULL
/* /proc/PID/stat field 22 is start_boottime in USER_HZ (100) ticks */
#define JB_NSEC_PER_TICK 10000000ULL

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

/* Protected ("hot") records. jb_watch holds the file keys user space wants
 * never to lose (jb_hash_path of /etc/shadow, ...), written after load and
 * before attach. A file whose key is in it gets its file and link records
 * in jb_files_hot / jb_links_hot instead of jb_files / jb_links, and the
 * task gets a copy in jb_tasks_hot: a storm of other file activity churns
 * only the ordinary LRU maps and can never evict these before a query. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, __u32); /* enum jb_watch_flag */
} jb_watch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, struct jb_task);
} jb_tasks_hot SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, struct jb_file);
} jb_files_hot SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct jb_link_key);
	__type(value, struct jb_link);
} jb_links_hot SEC(".maps");

/* Tamper records (jibril.h, struct jb_tamper): somebody acting on the
 * agent. Rare by nature; LRU so a flood cannot fail inserts. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, JB_TAMPER_ENTRIES);
	__type(key, __u64);
	__type(value, struct jb_tamper);
} jb_tamper SEC(".maps");

/* The agent's own processes by tgid (jibril.h, struct jb_agent). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, JB_AGENT_ENTRIES);
	__type(key, __u32);
	__type(value, struct jb_agent);
} jb_agent SEC(".maps");

/* The ids of the agent's own maps (key map id, value 1), written by the
 * loader after load: a bpf() write to one of them by another task is
 * tampering. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u32);
} jb_agent_maps SEC(".maps");

/* Per-process "recently opened" cache: lets a re-open that would change no
 * record skip the path walk and hash. Key: the process (task key) and the
 * opened struct file's f_path (dentry and vfsmount pointers, which name one
 * path, unlike an inode: hard links, bind mounts). Value: what record_file()
 * left in the link, and what makes the entry trustworthy (see
 * on_open_exit()). Kernel-internal: user space never reads it. */
struct jb_seen_key {
	__u64 task_key;
	__u64 dentry;
	__u64 mnt;
};

struct jb_seen {
	__u32 acts;    /* the link's action bits after the last full path */
	__u32 hot;     /* the file is watched (protected maps) */
	__u64 fkey;    /* the file's key (hash of the walked path) */
	__u64 epoch;   /* jb_epoch of the last full or known-file path */
	__u64 gen;     /* jb_pathgen.gen when the path was walked */
	__u64 inode;   /* guards against a freed dentry's address being */
	__u64 parent;  /* reused for another name: inode, d_parent and */
	__u64 hashlen; /* d_name.hash_len (seeded with the parent) */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct jb_seen_key);
	__type(value, struct jb_seen);
} jb_seen SEC(".maps");

/* Renames and mount-tree changes can change the path of a (dentry, mount)
 * without changing either pointer: every such syscall counts itself busy at
 * entry, and at exit bumps gen and leaves busy. A jb_seen entry is trusted
 * only if no such syscall finished since its walk (same gen) and none is
 * under way (busy <= 0). The exit programs come first in this file, so
 * they attach first: a call that straddles attach can only leave busy too
 * low (clamped at 0 where it can be), never stuck above 0. */
struct jb_pathgen {
	__s64 busy; /* such syscalls under way (never left below 0) */
	__u64 gen;  /* such syscalls finished */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct jb_pathgen);
} jb_pathgen SEC(".maps");

/* a jb_task is 864 bytes: too big for the 512-byte stack. spill follows
 * env so that a constant-size string copy to env + (offset & 255) always
 * stays inside the value (see fill_env()). */
struct jb_task_scratch {
	struct jb_task t;
	char spill[JB_ENV_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct jb_task_scratch);
} jb_scratch_task SEC(".maps");

/* --- small helpers ------------------------------------------------------- */

static __always_inline void stat_inc(__u32 idx)
{
	__u64 *v;

	if (idx >= JB_STAT_MAX)
		return; /* "do not count" (a constant at every call site) */
	v = bpf_map_lookup_elem(&jb_stats, &idx);

	/* atomic: the softirq ingress program may interrupt a counter update */
	if (v)
		__sync_fetch_and_add(v, 1);
}

/* Take back one TASK_NEW: a record deleted before any query could see it
 * was never lost. Counters are per-CPU: this CPU's may wrap below zero,
 * the sum user space takes (mod 2^64) is still right. */
static __always_inline void stat_untask(void)
{
	__u32 idx = JB_STAT_TASK_NEW;
	__u64 *v = bpf_map_lookup_elem(&jb_stats, &idx);

	if (v)
		__sync_fetch_and_add(v, (__u64)-1);
}

static __always_inline struct jb_task *scratch_task(void)
{
	__u32 zero = 0;

	struct jb_task_scratch *ts = bpf_map_lookup_elem(&jb_scratch_task, &zero);

	return ts ? &ts->t : NULL;
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

/* The key of the task's current image (bpf/jibril.h, jb_hash_image): one
 * field load more than the process's own key. Every thread of a process
 * has the same self_exec_id: clone copies it, and exec, which changes it,
 * leaves one thread. */
static __always_inline __u64 task_key_of(struct task_struct *task)
{
	return jb_hash_image(jb_seed, task->tgid, start_ticks_of(task), task->self_exec_id);
}

/* The process's key as back-fill writes it (no image: /proc cannot tell) */
static __always_inline __u64 proc_key_of(struct task_struct *task)
{
	return jb_hash_task(jb_seed, task->tgid, start_ticks_of(task));
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
	t->key = task_key_of(task);
	t->ppid = ppid;
	t->parent_key = ppid ? task_key_of(parent) : 0;
	t->uid = task->cred->uid.val;
	t->last_ns = now;
	t->exit_ns = 0;
	/* cgroup v2 id, on pure v2 and hybrid hosts alike: probe reads, since
	 * task->cgroups is RCU-protected (not a trusted pointer here) */
	t->cgroup_id = BPF_CORE_READ(task, cgroups, dfl_cgrp, kn, id);
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

/*
 * The environment's wanted entries into t->env: the "NAME=value" strings
 * whose NAME a loaded recipe asks for (jb_env_names, filled by the
 * supervisor: supervisor/envnames.c), read from the *current* address
 * space like fill_args(). Only wanted names take room, so padding the
 * environment with other variables, however many or long, cannot push a
 * wanted one out of the record.
 *
 * The area is read in JB_ENV_CHUNK-byte chunks and scanned 8 bytes at a
 * time for NULs: each NUL followed by a non-NUL byte starts an entry. One
 * bpf_loop step looks at up to JB_ENV_WORDS words, up to the first that
 * holds an entry's start; each entry costs one more step: its first two
 * bytes are tested in jb_env_pre (one load), and only when they may begin
 * a wanted name is the name (up to "=", at most JB_ENV_NAME_MAX - 1 bytes,
 * taken from the chunk buffer, which holds JB_ENV_NAME_MAX bytes past the
 * chunk) read, a word a step, and looked up in jb_env_names. The scan
 * starts one byte before env_start, at the NUL that ends the last argv
 * string, so the first entry is found like the others.
 *
 * JB_TASK_ENV_CUT says the record may lack a wanted entry: the area is
 * bigger than JB_ENV_SCAN (entries starting past it are not looked at),
 * the wanted entries did not all fit in JB_ENV_LEN (the scan stops at the
 * first that does not), or the area could not be read. The chunk buffer is
 * the path scratch's walk area: callers have finished any walk by then and
 * only s->file survives a walk, which this does not touch.
 */
#define JB_ENV_CHUNK 256
/* words looked at per step while none starts an entry */
#define JB_ENV_WORDS 4
/* bytes read per chunk: the chunk, a word past it (the byte after a
 * chunk's last NUL), and the longest name starting in it */
#define JB_ENV_READ (JB_ENV_CHUNK + JB_ENV_NAME_MAX + 8)
/* bpf_loop steps, at most: one per word read (8192 for 64 KiB), one per
 * entry (an entry and its NUL take 2 bytes or more: 32768), and for the
 * entries whose two first bytes pass the prefilter (4 bytes or more), one
 * per word of the name (8192 + 16384). Steps left over mean the scan
 * finished; none left, it is reported as cut. */
#define JB_ENV_STEPS (JB_ENV_SCAN + JB_ENV_SCAN / 8)

/* the name being looked up is built in the walk area too, after the chunk
 * (the stack is short: fill_env runs under ensure_task's callers) */
#define JB_ENV_KEY_AT (sizeof(((struct jb_scratch *)0)->walk) - JB_ENV_NAME_MAX)
_Static_assert(JB_ENV_READ <= JB_ENV_KEY_AT,
	       "a chunk, the longest name after it and the key fit in the walk area");

/* The wanted names. Written by user space before attach and on reload. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 2 * JB_ENV_NAMES_MAX); /* a reload adds, then removes */
	__type(key, struct jb_env_name);
	__type(value, __u32);
} jb_env_names SEC(".maps");

/* Prefilter of jb_env_names on a name's first two bytes (jibril.h).
 * User space sets bits before it adds names and clears them after it
 * removed them, so a reader never misses a name that is in the map. */
volatile __u64 jb_env_pre[JB_ENV_PRE_WORDS];

/* On the caller's stack, which is short (ensure_task's callers): offsets
 * from base are 32 bits (an exec's strings are a few MiB at most, and lim
 * is clamped), small fields are small. */
struct env_ctx {
	struct jb_task *t;
	char *buf;  /* JB_ENV_CHUNK + JB_ENV_NAME_MAX + 8 bytes from pos */
	__u64 base; /* user address of the scan's first byte (env_start - 1) */
	__u64 m;    /* entries of the current word not looked at yet: 0x80
		     * in byte j for an entry starting at w - 8 + j + 1 */
	__u32 pos;  /* offset of buf[0] */
	__u32 end;  /* entries starting here or later are not looked at */
	__u32 lim;  /* env_end: bytes are read up to here */
	__u16 w;    /* offset in buf of the next word */
	__u16 len;  /* bytes used in t->env */
	__u16 p;    /* offset in buf of the entry whose name is being read */
	__u8 nw;    /* 1 + the word of that name to read next; 0: none */
	__u8 cut;
	__u8 done;  /* the scan reached end */
};

/* 0x80 in each byte of v that is zero, exactly (no borrow false positives) */
static __always_inline __u64 zero_bytes(__u64 v)
{
	const __u64 m = 0x7f7f7f7f7f7f7f7fULL;

	return ~(((v & m) + m) | v | m);
}

/* copy the entry at user address u into t->env; 1: no more room */
static __always_inline int env_take(struct env_ctx *c, __u64 u)
{
	__u32 off = c->len;
	long n;

	if (off >= JB_ENV_LEN) {
		c->cut = 1;
		return 1;
	}
	/* constant size: what runs past env goes into the scratch's spill */
	n = bpf_probe_read_user_str(&c->t->env[off & (JB_ENV_LEN - 1)], JB_ENV_LEN, (void *)u);
	if (n <= 0)
		return 0;
	if (off + n >= JB_ENV_LEN) {
		/* full: cut unless this entry ended exactly at the end (an
		 * n of JB_ENV_LEN cannot tell a 255-byte entry from a longer
		 * one: counted as cut; back-fill can tell, and does not) */
		if (off + n > JB_ENV_LEN || n == JB_ENV_LEN)
			c->cut = 1;
		c->t->env[JB_ENV_LEN - 1] = 0;
		c->len = JB_ENV_LEN;
		return c->cut;
	}
	c->len = off + n;
	return 0;
}

/* An entry starts at buf[p]: when its first two bytes may begin a wanted
 * name, the name steps (env_name_word) look at it next. */
static __always_inline void env_entry(struct env_ctx *c, __u32 p)
{
	__u32 b = (__u8)c->buf[p] | (__u32)(__u8)c->buf[p + 1] << 8;
	__u64 *k = (__u64 *)&c->buf[JB_ENV_KEY_AT];

	if (!((jb_env_pre[(b >> 6) & (JB_ENV_PRE_WORDS - 1)] >> (b & 63)) & 1))
		return;
#pragma unroll
	for (int i = 0; i < JB_ENV_NAME_MAX / 8; i++)
		k[i] = 0;
	c->p = p;
	c->nw = 1;
}

/* One word of the name of the entry at buf[c->p] into the key: the name is
 * the bytes before the first "=" (a NUL first: no name). One word a step:
 * eight words in one step spill to the stack, which is short, and their
 * branches multiply the verifier's work. At the name's end, the lookup,
 * and the entry taken when the name is wanted. */
static __always_inline long env_name_word(struct env_ctx *c)
{
	__u64 *k = (__u64 *)&c->buf[JB_ENV_KEY_AT], v, e, z, low;
	__u32 i = (c->nw - 1) & (JB_ENV_NAME_MAX / 8 - 1), p = c->p;

	if (p > JB_ENV_CHUNK)
		return 1; /* cannot happen: env_entry sets it */
	v = *(__u64 *)&c->buf[p + 8 * i];
	e = zero_bytes(v ^ 0x3d3d3d3d3d3d3d3dULL); /* '=' */
	z = zero_bytes(v);
	if (!(e | z)) {
		k[i] = v;
		/* no "=" in JB_ENV_NAME_MAX bytes: not a name we have */
		c->nw = c->nw < JB_ENV_NAME_MAX / 8 ? c->nw + 1 : 0;
		return 0;
	}
	c->nw = 0;
	low = (e | z) & -(e | z);
	if (low & z)
		return 0; /* the entry ends before any "=" */
	k[i] = v & ((low >> 7) - 1);
	if (bpf_map_lookup_elem(&jb_env_names, k) && env_take(c, c->base + c->pos + p))
		return 1; /* no more room: cut */
	return 0;
}

/* One step: a word of a name, or the next entry starting in the current
 * word, or the next words. */
static long env_step(__u32 i, void *data)
{
	struct env_ctx *c = data;
	__u64 m = c->m, low, k;
	__u32 w, n, rem;

	if (c->nw)
		return env_name_word(c);
	if (!m) {
		w = c->w;
		if (w >= JB_ENV_CHUNK) {
			c->pos += JB_ENV_CHUNK;
			w = 0;
		}
		if (w == 0) {
			if (c->pos >= c->end) {
				c->done = 1;
				return 1;
			}
			rem = c->lim - c->pos;
			n = rem < JB_ENV_READ ? rem : JB_ENV_READ;
			/* a mask the compiler cannot drop: it narrows rem
			 * in a way the verifier cannot follow (JB_ENV_READ
			 * < 512) */
			asm volatile("%0 &= 511" : "+r"(n));
			if (bpf_probe_read_user(c->buf, n, (void *)(c->base + c->pos))) {
				c->cut = 1;
				return 1;
			}
		}
		rem = c->end - c->pos;
		/* up to JB_ENV_WORDS words, to the first with an entry: a
		 * NUL followed by a byte that is not one starts an entry.
		 * Bytes past what was read are stale, and no entry starts
		 * at end or later (the last byte of the area is a NUL). */
#pragma unroll
		for (int q = 0; q < JB_ENV_WORDS; q++) {
			if (w >= JB_ENV_CHUNK)
				break;
			if (w + 1 >= rem) {
				w = JB_ENV_CHUNK; /* past end: the next step ends */
				break;
			}
			w &= JB_ENV_CHUNK - 8;
			m = zero_bytes(*(__u64 *)&c->buf[w]) &
			    ~zero_bytes(*(__u64 *)&c->buf[w + 1]);
			if (w + 9 > rem)
				m &= (1ULL << ((rem - w - 1) * 8)) - 1;
			w += 8;
			if (m)
				break;
		}
		c->w = w;
		c->m = m;
		return 0;
	}
	c->m = m & (m - 1);
	low = m & -m;
	/* byte index of the lowest set bit, without ctz */
	k = (((low >> 7) * 0x0001020304050607ULL) >> 56) & 7;
	env_entry(c, ((c->w - 8) & (JB_ENV_CHUNK - 8)) + (__u32)k + 1);
	return 0;
}

/*
 * The scan proper, a global function: the verifier checks it (and its loop
 * callback) once, on its own, instead of under every caller's state in
 * every program that can build a task record, which cost seconds at load.
 * ts and s are checked for NULL as a global function's pointers must be;
 * ts is the task scratch, whose spill the entry copies may run into, and
 * the verifier holds callers to that size; start < end is the caller's.
 */
__noinline int jb_env_fill(struct jb_task_scratch *ts, struct jb_scratch *s, __u64 start,
			   __u64 end)
{
	struct env_ctx c = {};
	struct jb_task *t;

	if (!ts || !s)
		return 0;
	t = &ts->t;
	c.t = t;
	c.buf = s->walk;
	c.base = start - 1;
	/* nothing past JB_ENV_SCAN + JB_ENV_READ is ever read */
	c.lim = end - c.base < JB_ENV_SCAN + JB_ENV_READ ? end - c.base
							  : JB_ENV_SCAN + JB_ENV_READ;
	c.end = c.lim;
	if (end - c.base > JB_ENV_SCAN) {
		c.end = JB_ENV_SCAN;
		c.cut = 1;
	}
	bpf_loop(JB_ENV_STEPS, env_step, &c, 0);
	t->env_len = c.len;
	if (c.cut || !c.done)
		t->flags |= JB_TASK_ENV_CUT;
	return 0;
}

static __always_inline void fill_env(struct jb_task *t, struct jb_scratch *s,
				     struct task_struct *task)
{
	struct mm_struct *mm = BPF_CORE_READ(task, mm);
	__u64 start, end;

	t->env_len = 0;
	t->flags &= ~JB_TASK_ENV_CUT;
	__builtin_memset(t->env, 0, JB_ENV_LEN);
	if (!mm)
		return; /* kernel thread */
	start = BPF_CORE_READ(mm, env_start);
	end = BPF_CORE_READ(mm, env_end);
	if (!start || end <= start)
		return;
	/* t is the task scratch's (every caller's comes from scratch_task()) */
	jb_env_fill((struct jb_task_scratch *)t, s, start, end);
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

/* A minimal record of a live process in the task scratch (clobbers the
 * path scratch: exe is walked there). NULL only if a scratch is missing. */
static __always_inline struct jb_task *build_task(struct task_struct *task)
{
	struct jb_task *t = scratch_task();
	struct jb_scratch *s = scratch_path();
	__u64 now;

	if (!t || !s)
		return NULL;
	now = bpf_ktime_get_ns();
	t->flags = 0;
	t->first_ns = now;
	fill_identity(t, task, now);
	fill_exe(t, s, BPF_CORE_READ(task, mm, exe_file));
	fill_args(t, task);
	fill_env(t, s, task);
	return t;
}

/* The back-filled record of task's process (jb_hash_task key), copied
 * under the current image's key (the task scratch): what back-fill read
 * from /proc at start (exe, args, the parent's back-fill key) stays the
 * image's context. NULL if back-fill wrote none. The copy is a record the
 * kernel creates (TASK_NEW), so it is no longer BACKFILL. */
static __always_inline struct jb_task *adopt_backfill(struct task_struct *task, __u64 key)
{
	__u64 pkey = proc_key_of(task);
	struct jb_task *b = bpf_map_lookup_elem(&jb_tasks, &pkey);
	struct jb_task *t;
	__u64 parent_key;
	__u32 ppid;

	/* a REPLACED one is the image before an exec we saw: not this one */
	if (!b || (b->flags & (JB_TASK_BACKFILL | JB_TASK_REPLACED)) != JB_TASK_BACKFILL)
		return NULL;
	t = scratch_task();
	if (!t)
		return NULL;
	bpf_probe_read_kernel(t, sizeof(*t), b);
	parent_key = t->parent_key;
	ppid = t->ppid;
	/* what can change without an exec (uid, comm, cgroup, parent) is
	 * taken from the live task; the parent stays back-fill's record
	 * while it is the same process */
	fill_identity(t, task, bpf_ktime_get_ns());
	if (t->ppid == ppid)
		t->parent_key = parent_key;
	t->flags &= ~(JB_TASK_BACKFILL | JB_TASK_EXITED);
	t->first_ns = t->last_ns;
	return t;
}

/* Key of the current process's image, creating a minimal record if it
 * has none (it predates the agent, or we lost a fork race), and marking
 * the image ACTED: the caller is about to record something under the key,
 * so the image's record must outlive its exec. */
static __noinline __u64 ensure_task(struct task_struct *task)
{
	__u64 key = task_key_of(task);
	struct jb_task *t = bpf_map_lookup_elem(&jb_tasks, &key);

	if (t) {
		/* a plain store: a bit another CPU sets at the same instant may be
		 * lost (clang 14 has no 32-bit atomic or for BPF v1-v2) */
		if (!(t->flags & JB_TASK_ACTED))
			t->flags |= JB_TASK_ACTED;
		return key;
	}
	t = adopt_backfill(task, key);
	if (!t)
		t = build_task(task);
	if (t) {
		t->flags |= JB_TASK_ACTED;
		task_insert(t);
	}
	return key;
}

/* One of the agent's own processes: the supervisor, or a child it forked
 * (the workers and printers, and each of them between fork and exec).
 * By identity in the kernel, never by name: a process called jibril
 * elsewhere is watched like any other. The children cannot fork (their
 * seccomp policy), so "the supervisor or its child" is the whole agent
 * (jb_agent holds the same set by tgid, for acts on them). task: the
 * current task, which the caller has at hand anyway (field loads: a
 * helper call costs ~10 ns here, 7 % of a cached re-open) */
static __always_inline int is_agent(const struct task_struct *task)
{
	return task->tgid == jb_agent_tgid || task->real_parent->tgid == jb_agent_tgid;
}

#include "tamper.bpf.h"

/* --- files and links ----------------------------------------------------- */

/* map, st_new and st_fail are constants at each (inlined) call site, so
 * every map helper call keeps one map and stays inlinable by the verifier */
/* Returns the link's last_ns after the upsert (0: no link) and its action
 * bits in *acts_out: what file_cached() caches in jb_seen. force: always
 * store last_ns (file_cached(), whose cache skips every repeat after this
 * one until the next query: the 2 ms rule below must not leave last_ns
 * before that query's start). */
static __always_inline __u64 link_upsert(void *map, __u64 task_key, __u64 file_key, __u32 act,
					 __u64 now, __u32 st_new, __u32 st_fail,
					 __u32 *acts_out, int force)
{
	struct jb_link_key k = { .task_key = task_key, .file_key = file_key };
	struct jb_link *l = bpf_map_lookup_elem(map, &k);

	if (!l) {
		struct jb_link v = { .first_ns = now, .last_ns = now, .actions = act };
		long err = bpf_map_update_elem(map, &k, &v, BPF_NOEXIST);

		if (!err) {
			stat_inc(st_new);
			*acts_out = act;
			return now;
		}
		if (err != -JB_EEXIST) {
			stat_inc(st_fail);
			return 0;
		}
		/* another CPU created it between lookup and insert */
		l = bpf_map_lookup_elem(map, &k);
		if (!l)
			return 0;
	}
	/* Nothing new and touched moments ago: leave the record alone, so a
	 * hot link costs a lookup and no write (no cache line bouncing when
	 * many CPUs repeat one action). Safe for "changed since" queries:
	 * every new action bit still stores last_ns, and the skipped touch
	 * only makes last_ns lag by under JB_LINK_REFRESH_NS. */
	if (!force && (l->actions & act) == act && now - l->last_ns < JB_LINK_REFRESH_NS) {
		*acts_out = l->actions;
		return l->last_ns;
	}
	/* 64-bit atomic or over {actions, _pad}: clang 14 without -mcpu=v3
	 * has no 32-bit atomic or. actions is the low half (little endian,
	 * offset 16, 8-aligned); _pad stays 0 since act < 2^32. */
	if ((l->actions & act) != act)
		__sync_fetch_and_or((__u64 *)&l->actions, (__u64)act);
	l->last_ns = now;
	*acts_out = l->actions | act;
	return now;
}

/* Insert s->file, known to be absent. st_new JB_STAT_MAX: not counted. */
static __always_inline void file_insert(void *map, struct jb_scratch *s, __u64 fkey, __u64 now,
					__u32 st_new, __u32 st_fail)
{
	long err;

	s->file.key = fkey;
	s->file.first_ns = now;
	s->file._pad = 0;
	err = bpf_map_update_elem(map, &fkey, &s->file, BPF_NOEXIST);
	if (!err)
		stat_inc(st_new);
	else if (err != -JB_EEXIST)
		stat_inc(st_fail);
}

/* Copy the current process's record into jb_tasks_hot (upsert), so that a
 * protected link never names a task the ordinary map has evicted. Skipped
 * when the copy is already current (exec and exit refresh it themselves).
 * Clobbers both scratches when the ordinary record is missing. */
static __noinline void task_hot_copy(__u64 task_key)
{
	struct jb_task *t = bpf_map_lookup_elem(&jb_tasks, &task_key);
	struct jb_task *h = bpf_map_lookup_elem(&jb_tasks_hot, &task_key);

	if (!t) {
		/* evicted between ensure_task() and here, or never inserted:
		 * every caller runs in the context of the task it names */
		t = build_task(bpf_get_current_task_btf());
		if (!t || t->key != task_key) {
			stat_inc(JB_STAT_HOT_FAIL);
			return;
		}
	} else if (h && h->last_ns == t->last_ns && h->flags == t->flags) {
		return;
	}
	if (bpf_map_update_elem(&jb_tasks_hot, &task_key, t, BPF_ANY))
		stat_inc(JB_STAT_HOT_FAIL);
}

/*
 * Store s->file (path already built) if new, then link it to the task: in
 * the protected maps when user space watches this file, else the ordinary
 * ones. A watched file never enters jb_files (jb_watch is filled before
 * attach), so a file found there is not watched and jb_watch is consulted
 * only for files jb_files lacks: no extra lookup for the files a workload
 * keeps opening. A watch added at run time must therefore delete its key
 * from jb_files (and its links from jb_links) to take effect at once.
 */
static __noinline __u64 record_file(struct jb_scratch *s, __u64 task_key, __u32 act,
				   struct jb_seen *seen, __u32 mode)
{
	__u64 now = bpf_ktime_get_ns();
	__u64 fkey, ns;
	__u32 acts = 0;

	if (!s)
		return 0;
	fkey = jb_hash_path(jb_seed, s->file.path);
	if (seen) {
		seen->fkey = fkey;
		seen->hot = 0;
	}
	if (!bpf_map_lookup_elem(&jb_files, &fkey)) {
		__u32 *wf = bpf_map_lookup_elem(&jb_watch, &fkey);

		if (wf) {
			if (*wf & JB_WATCH_AGENT)
				tamper_file(s, task_key, act, *wf, mode);
			/* hot file creations are not FILE_NEW: that counter is
			 * for records an LRU may evict before a query sees them */
			if (!bpf_map_lookup_elem(&jb_files_hot, &fkey))
				file_insert(&jb_files_hot, s, fkey, now, JB_STAT_MAX,
					    JB_STAT_HOT_FAIL);
			ns = link_upsert(&jb_links_hot, task_key, fkey, act, now,
					 JB_STAT_HOT_NEW, JB_STAT_HOT_FAIL, &acts, seen != NULL);
			if (seen)
				seen->hot = 1;
			task_hot_copy(task_key); /* last: may reuse the scratches */
			goto out;
		}
		file_insert(&jb_files, s, fkey, now, JB_STAT_FILE_NEW, JB_STAT_FILE_FAIL);
	}
	ns = link_upsert(&jb_links, task_key, fkey, act, now, JB_STAT_LINK_NEW,
			 JB_STAT_LINK_FAIL, &acts, seen != NULL);
out:
	/* for jb_seen: the link's action bits (never 0: act is in them) */
	return ns ? acts : 0;
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
	/* the child runs the forking process's image, even with CLONE_PARENT;
	 * forking is an act of that image: its record must outlive an exec,
	 * the child's record names it as parent */
	pkey = task_key_of(parent);
	old = bpf_map_lookup_elem(&jb_tasks, &pkey);
	if (!old) {
		struct jb_task *a = adopt_backfill(parent, pkey);

		if (a) {
			task_insert(a);
			old = bpf_map_lookup_elem(&jb_tasks, &pkey);
		}
	}
	if (old && !(old->flags & JB_TASK_ACTED))
		old->flags |= JB_TASK_ACTED;
	if (old) {
		bpf_probe_read_kernel(t, sizeof(*t), old);
		t->flags &= ~(JB_TASK_EXECED | JB_TASK_BACKFILL | JB_TASK_EXITED | JB_TASK_ACTED |
			      JB_TASK_REPLACED);
	} else {
		t->flags = 0;
		fill_exe(t, s, BPF_CORE_READ(child, mm, exe_file));
		fill_args(t, child);
		fill_env(t, s, child);
	}
	t->first_ns = now;
	fill_identity(t, child, now);
	if (parent->tgid == jb_agent_tgid) {
		/* the agent forks only its children: one of its own (by its
		 * process key, which its exec does not change) */
		struct jb_agent a = { .task_key = proc_key_of(child), .row = JB_AGENT_ROW_UNKNOWN };
		__u32 tgid = t->tgid;

		t->flags |= JB_TASK_AGENT;
		bpf_map_update_elem(&jb_agent, &tgid, &a, BPF_ANY);
	}
	task_insert(t);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(jb_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct jb_scratch *s = scratch_path();
	struct jb_task *t = scratch_task();
	struct jb_task *old, *h;
	struct file *file;
	const char *fname;
	__u64 now = bpf_ktime_get_ns();
	__u64 key, old_key;
	long err;

	if (!s || !t)
		return 0;
	fill_identity(t, p, now);
	key = t->key; /* t is scratch: record_file() below may rebuild it */
	/* the image that ran until now: begin_new_exec() has already counted
	 * this exec in self_exec_id. It keeps its record, marked REPLACED, if
	 * anything names it; else it goes (a fork child before its exec). A
	 * back-filled process is named by its back-fill key. */
	old_key = jb_hash_image(jb_seed, t->tgid, t->start_ticks, p->self_exec_id - 1);
	old = bpf_map_lookup_elem(&jb_tasks, &old_key);
	if (!old) {
		old_key = proc_key_of(p);
		old = bpf_map_lookup_elem(&jb_tasks, &old_key);
		if (old && (old->flags & (JB_TASK_BACKFILL | JB_TASK_REPLACED)) != JB_TASK_BACKFILL)
			old = NULL; /* an image before an earlier exec: not this one's */
	}
	t->first_ns = now;
	t->flags = old ? old->flags & JB_TASK_AGENT : 0;
	/* the exec is this image's first act (its EXEC link below) */
	t->flags |= JB_TASK_EXECED | JB_TASK_ACTED;
	/* the parent is the image that forked this process, as the record
	 * before this exec says, while it is the same parent process; not the
	 * parent's image of now (it may have exec'd since) */
	if (old && old->ppid == t->ppid && old->parent_key)
		t->parent_key = old->parent_key;
	if (is_agent(p))
		t->flags |= JB_TASK_AGENT; /* also when its record was evicted */

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
	fill_env(t, s, p); /* s->file (the exe path) is kept for below */

	err = bpf_map_update_elem(&jb_tasks, &t->key, t, BPF_NOEXIST);
	if (!err)
		stat_inc(JB_STAT_TASK_NEW);
	else if (err == -JB_EEXIST)
		err = bpf_map_update_elem(&jb_tasks, &t->key, t, BPF_ANY);
	if (err)
		stat_inc(JB_STAT_TASK_FAIL);
	/* the old image: an LRU value may be reused under our feet, so it is
	 * looked up again rather than trusted from above */
	old = bpf_map_lookup_elem(&jb_tasks, &old_key);
	if (old && !(old->flags & (JB_TASK_ACTED | JB_TASK_BACKFILL))) {
		/* created after the latest query began: no query counted it
		 * as seen, so its creation is taken back; an older one was
		 * counted (seen, or lost) already */
		__u64 born = old->first_ns;

		if (!bpf_map_delete_elem(&jb_tasks, &old_key) && born > jb_query_ns)
			stat_untask();
	} else if (old) {
		old->flags |= JB_TASK_REPLACED;
		old->exit_ns = now;
		old->last_ns = now;
	}
	/* and its protected copy, if it touched a watched file (the new
	 * image gets one of its own when it does) */
	h = bpf_map_lookup_elem(&jb_tasks_hot, &old_key);
	if (h) {
		h->flags |= JB_TASK_REPLACED;
		h->exit_ns = now;
		h->last_ns = now;
	}

	if (is_agent(p))
		return 0;
	/* s->file still holds the exe path from above. The kernel opened and
	 * mapped it for this exec (no syscall of the task's did): both are
	 * recorded, so "opened, mapped, executed, then unlinked by the same
	 * task" (a binary that deletes itself) is one link's actions. */
	if (file && t->exe[0])
		record_file(s, key, JB_ACT_EXEC | JB_ACT_OPEN | JB_ACT_MMAP, NULL, 0);
	/* A script also gets its own EXEC link: that is the file a dropper
	 * wrote, the interpreter is just /bin/sh. Its struct file is already
	 * released here, but binfmt_script/misc point bprm->interp away from
	 * bprm->filename, the name that was executed (relative to the cwd,
	 * or /dev/fd/N for execveat(AT_EMPTY_PATH)). */
	fname = BPF_CORE_READ(bprm, filename);
	if (fname && fname != BPF_CORE_READ(bprm, interp)) {
		/* opened by the kernel to read its "#!" line, not mapped */
		if (str_path(s, p, fname, JB_AT_FDCWD, 1) == 0)
			record_file(s, key, JB_ACT_EXEC | JB_ACT_OPEN, NULL, 0);
		else
			stat_inc(JB_STAT_PATH_FAIL);
	}
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
	now = bpf_ktime_get_ns();
	{
		__u32 tgid = p->tgid;
		struct jb_agent *a = bpf_map_lookup_elem(&jb_agent, &tgid);

		if (a && a->task_key == proc_key_of(p))
			bpf_map_delete_elem(&jb_agent, &tgid);
		/* the supervisor is gone, its pid free for the next process:
		 * nobody is the agent until the next one says it is */
		if (tgid == jb_agent_tgid)
			jb_agent_tgid = JB_AGENT_NONE;
	}
	t = bpf_map_lookup_elem(&jb_tasks, &key);
	if (!t) {
		/* a process that predates the agent and never acted since:
		 * its back-filled record (not one an exec replaced) */
		key = proc_key_of(p);
		t = bpf_map_lookup_elem(&jb_tasks, &key);
		if (t && (t->flags & (JB_TASK_BACKFILL | JB_TASK_REPLACED)) != JB_TASK_BACKFILL)
			t = NULL;
	}
	if (t) {
		t->flags |= JB_TASK_EXITED;
		t->exit_ns = now;
		t->last_ns = now;
	}
	/* and its protected copy, if it touched a watched file */
	t = bpf_map_lookup_elem(&jb_tasks_hot, &key);
	if (t) {
		t->flags |= JB_TASK_EXITED;
		t->exit_ns = now;
		t->last_ns = now;
	}
	return 0;
}

/* --- path generation (jb_pathgen, for jb_seen) --------------------------- */

static __always_inline void pathgen_enter(void)
{
	__u32 zero = 0;
	struct jb_pathgen *g = bpf_map_lookup_elem(&jb_pathgen, &zero);

	if (g)
		__sync_fetch_and_add(&g->busy, 1);
}

static __always_inline int pathgen_exit(void)
{
	__u32 zero = 0;
	struct jb_pathgen *g = bpf_map_lookup_elem(&jb_pathgen, &zero);

	if (!g)
		return 0;
	/* gen first: busy must not read 0 before the generation moved */
	__sync_fetch_and_add(&g->gen, 1);
	if (g->busy > 0)
		__sync_fetch_and_add(&g->busy, -1);
	return 0;
}

/* Exit programs of every syscall that can change an existing path without
 * a new dentry or mount: renames (their entry programs are further down,
 * with the RENAME records) and mount-tree changes, which also get entry
 * programs here. Kept ahead of all entry programs (their fexit twins too,
 * which the macros put right after each): see struct jb_pathgen. The SEC
 * lines are spelt out: tests read program names from here. */
/* with the path-named calls below: a string unreadable at entry */
static __always_inline int path_retry(int two);

SEC("tracepoint/syscalls/sys_exit_rename")
int JB_SYS_EXIT(jb_pgx_ren, rename)
{
	pathgen_exit();
	return path_retry(1);
}

SEC("tracepoint/syscalls/sys_exit_renameat")
int JB_SYS_EXIT(jb_pgx_renat, renameat)
{
	pathgen_exit();
	return path_retry(1);
}

SEC("tracepoint/syscalls/sys_exit_renameat2")
int JB_SYS_EXIT(jb_pgx_renat2, renameat2)
{
	pathgen_exit();
	return path_retry(1);
}

SEC("tracepoint/syscalls/sys_exit_mount")
int JB_SYS_EXIT(jb_pgx_mnt, mount)
{
	return pathgen_exit();
}

SEC("tracepoint/syscalls/sys_exit_move_mount")
int JB_SYS_EXIT(jb_pgx_mvmnt, move_mount)
{
	return pathgen_exit();
}

SEC("tracepoint/syscalls/sys_exit_umount")
int JB_SYS_EXIT(jb_pgx_umnt, umount)
{
	return pathgen_exit();
}

SEC("tracepoint/syscalls/sys_exit_pivot_root")
int JB_SYS_EXIT(jb_pgx_pivot, pivot_root)
{
	return pathgen_exit();
}

SEC("tracepoint/syscalls/sys_exit_unshare")
int JB_SYS_EXIT(jb_pgx_unshr, unshare)
{
	return pathgen_exit();
}

SEC("tracepoint/syscalls/sys_exit_setns")
int JB_SYS_EXIT(jb_pgx_setns, setns)
{
	return pathgen_exit();
}

SEC("tracepoint/syscalls/sys_enter_mount")
int JB_SYS_ENTER(jb_pge_mnt, mount)
{
	pathgen_enter();
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_move_mount")
int JB_SYS_ENTER(jb_pge_mvmnt, move_mount)
{
	pathgen_enter();
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_umount")
int JB_SYS_ENTER(jb_pge_umnt, umount)
{
	pathgen_enter();
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_pivot_root")
int JB_SYS_ENTER(jb_pge_pivot, pivot_root)
{
	pathgen_enter();
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_unshare")
int JB_SYS_ENTER(jb_pge_unshr, unshare)
{
	pathgen_enter();
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_setns")
int JB_SYS_ENTER(jb_pge_setns, setns)
{
	pathgen_enter();
	return 0;
}

/* --- file syscalls ------------------------------------------------------- */

enum { JB_OPEN, JB_OPENAT, JB_OPENAT2, JB_CREAT };

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

/*
 * Open, mmap, ftruncate, fsync, flock and fasync, through the per-process
 * cache jb_seen. The entry of (task, dentry, mount) is trusted only while
 * the path of that (dentry, mount) cannot have changed since it was walked:
 * no rename or mount-tree syscall finished since or is under way
 * (jb_pathgen), and the dentry still has its inode, parent and name hash (a
 * freed dentry's address may be reused). A trusted entry gives the file's
 * key, so:
 *  - hit: the link already holds every action bit and was written in this
 *    query epoch (after the last query read the maps): the next query
 *    would learn nothing, nothing is written;
 *  - known file: a new action bit, or the first repeat after a query, only
 *    upserts the link (no walk, no hash), once the task and file records
 *    are found still there; a watched file always takes the full path (its
 *    task copy lives in the protected maps);
 *  - anything else takes the full path (walk, hash, record_file()).
 * Both writing paths store last_ns unconditionally (link_upsert()'s force),
 * with the epoch read before: as the supervisor reads its clock *before* it
 * bumps the epoch, a repeat that sees the new epoch stores a last_ns after
 * the query's start. So every query sees a link repeated since the one
 * before. Only records evicted from jb_links (or a watch added at run time)
 * come back up to one cadence later than without the cache.
 */
static __noinline int file_cached(struct task_struct *task, struct file *f, __u32 act)
{
	struct jb_scratch *s;
	struct jb_pathgen *g;
	struct jb_seen_key sk;
	struct jb_seen *c, nc;
	struct dentry *d;
	__u64 tkey, acts;
	__u32 zero = 0;

	s = scratch_path();
	g = bpf_map_lookup_elem(&jb_pathgen, &zero);
	if (!s || !g || !f)
		return 0;
	f = as_btf(f, struct file);
	d = f->f_path.dentry;
	__builtin_memset(&sk, 0, sizeof(sk));
	sk.task_key = task_key_of(task);
	sk.dentry = (__u64)d;
	sk.mnt = (__u64)f->f_path.mnt;
	nc.gen = g->gen; /* before the walk: a rename after it must miss */
	nc.epoch = jb_epoch; /* and so must a query after it */
	nc.inode = (__u64)d->d_inode;
	nc.parent = (__u64)d->d_parent;
	nc.hashlen = d->d_name.hash_len;
	c = bpf_map_lookup_elem(&jb_seen, &sk);
	if (c && c->gen == nc.gen && g->busy <= 0 && c->inode == nc.inode &&
	    c->parent == nc.parent && c->hashlen == nc.hashlen) {
		__u64 fkey = c->fkey;
		__u32 have = 0;

		if (c->epoch == nc.epoch && (act & ~c->acts) == 0)
			return 0;
		if (!c->hot && bpf_map_lookup_elem(&jb_tasks, &sk.task_key) &&
		    bpf_map_lookup_elem(&jb_files, &fkey)) {
			if (!link_upsert(&jb_links, sk.task_key, fkey, act, bpf_ktime_get_ns(),
					 JB_STAT_LINK_NEW, JB_STAT_LINK_FAIL, &have, 1))
				return 0; /* counted; the full path would fail too */
			/* a new value, not stores through c: an LRU node can
			 * be reused for another key under our feet */
			nc.acts = have;
			nc.hot = 0;
			nc.fkey = fkey;
			bpf_map_update_elem(&jb_seen, &sk, &nc, BPF_ANY);
			return 0;
		}
	}

	tkey = ensure_task(task); /* before the walk: it reuses the scratch */
	if (walk_file(s, f) < 0) {
		stat_inc(JB_STAT_PATH_FAIL);
		return 0;
	}
	acts = record_file(s, tkey, act, &nc, 0);
	if (!acts) {
		if (c)
			bpf_map_delete_elem(&jb_seen, &sk);
		return 0;
	}
	nc.acts = (__u32)acts;
	bpf_map_update_elem(&jb_seen, &sk, &nc, BPF_ANY);
	return 0;
}

static __always_inline int on_open_exit(long ret, int kind)
{
	struct task_struct *task;
	struct file *f;
	__u32 mode, act = JB_ACT_OPEN;

	if (ret < 0)
		return 0;
	task = bpf_get_current_task_btf();
	if (is_agent(task))
		return 0;
	f = fd_to_file(task, ret);
	if (!f) {
		stat_inc(JB_STAT_PATH_FAIL);
		return 0;
	}
	/* /proc/PID/mem of an agent process (tamper.bpf.h): three loads on
	 * every open, the rest only on procfs */
	if (f->f_inode->i_sb->s_magic == JB_PROC_SUPER_MAGIC)
		tamper_proc_open(f);
	mode = f->f_mode; /* f is typed (fd_to_file): a plain load */
	if (mode & JB_FMODE_READ)
		act |= JB_ACT_READ;
	if (mode & JB_FMODE_WRITE) {
		act |= JB_ACT_WRITE;
		if (kind == JB_CREAT || open_truncates(kind))
			act |= JB_ACT_TRUNCATE;
	}
	if (mode & JB_FMODE_CREATED)
		act |= JB_ACT_CREATE;
	return file_cached(task, f, act);
}

SEC("tracepoint/syscalls/sys_exit_openat")
int JB_SYS_EXIT(jb_openat_x, openat)
{
	return on_open_exit(ret, JB_OPENAT);
}

SEC("tracepoint/syscalls/sys_exit_openat2")
int JB_SYS_EXIT(jb_openat2_x, openat2)
{
	return on_open_exit(ret, JB_OPENAT2);
}

SEC("tracepoint/syscalls/sys_exit_open")
int JB_SYS_EXIT(jb_open_x, open)
{
	return on_open_exit(ret, JB_OPEN);
}

/* creat() is open(O_CREAT|O_WRONLY|O_TRUNC) */
SEC("tracepoint/syscalls/sys_exit_creat")
int JB_SYS_EXIT(jb_creat_x, creat)
{
	return on_open_exit(ret, JB_CREAT);
}

/*
 * mmap() of a file, whatever the protection and flags: an executable or
 * shared mapping is the interesting kind, but a read-only private one
 * reads the file as surely as read() does. Taken at entry (an attempt
 * counts, as for the path-named actions); anonymous mappings leave first.
 * The dynamic loader maps each library several times in a row: after the
 * first, jb_seen makes them a lookup each, as for re-opens.
 */
#define JB_MAP_ANONYMOUS 0x20

SEC("tracepoint/syscalls/sys_enter_mmap")
int JB_SYS_ENTER(jb_mmap, mmap)
{
	struct task_struct *task;
	int fd = (int)a4;

	if ((a3 & JB_MAP_ANONYMOUS) || fd < 0)
		return 0;
	task = bpf_get_current_task_btf();
	if (is_agent(task))
		return 0;
	return file_cached(task, fd_to_file(task, fd), JB_ACT_MMAP);
}

/* ftruncate(): the file behind the fd, through jb_seen (log rotation and
 * databases call it often on files they keep open) */
SEC("tracepoint/syscalls/sys_enter_ftruncate")
int JB_SYS_ENTER(jb_ftruncate, ftruncate)
{
	struct task_struct *task;

	task = bpf_get_current_task_btf();
	if (is_agent(task))
		return 0;
	return file_cached(task, fd_to_file(task, (int)a0), JB_ACT_TRUNCATE);
}

/* fsync(), fdatasync() and sync_file_range(): a flush of one file, through
 * jb_seen like ftruncate (a database or a log writer flushes the same file
 * again and again: one lookup each after the first). syncfs() and sync()
 * name no file and are not recorded. */
static __always_inline int on_fd_action(int fd, __u32 act)
{
	struct task_struct *task;

	task = bpf_get_current_task_btf();
	if (is_agent(task))
		return 0;
	return file_cached(task, fd_to_file(task, fd), act);
}

SEC("tracepoint/syscalls/sys_enter_fsync")
int JB_SYS_ENTER(jb_fsync, fsync)
{
	return on_fd_action((int)a0, JB_ACT_FSYNC);
}

SEC("tracepoint/syscalls/sys_enter_fdatasync")
int JB_SYS_ENTER(jb_fdatasync, fdatasync)
{
	return on_fd_action((int)a0, JB_ACT_FSYNC);
}

SEC("tracepoint/syscalls/sys_enter_sync_file_range")
int JB_SYS_ENTER(jb_sync_range, sync_file_range)
{
	return on_fd_action((int)a0, JB_ACT_FSYNC);
}

/* flock(2) taking a lock (LOCK_SH or LOCK_EX, blocking or not, granted or
 * not: taken at entry); LOCK_UN releases and is not recorded. POSIX locks
 * (fcntl F_SETLK...) are not recorded: see jb_fcntl. */
#define JB_LOCK_SH 1
#define JB_LOCK_EX 2

SEC("tracepoint/syscalls/sys_enter_flock")
int JB_SYS_ENTER(jb_flock, flock)
{
	if (!(a1 & (JB_LOCK_SH | JB_LOCK_EX)))
		return 0;
	return on_fd_action((int)a0, JB_ACT_FLOCK);
}

/* fcntl(F_SETFL) with O_ASYNC: the file will signal its owner on I/O.
 * fcntl() is frequent (F_GETFL, F_SETFD, F_DUPFD_CLOEXEC, locks): the
 * command and flag tests come before anything else, and what leaves there
 * costs two compares. A socket or a pipe (the usual O_ASYNC targets) has
 * no path: skipped. Setting the flag with ioctl(FIOASYNC) is not seen. */
#define JB_F_SETFL 4
#define JB_O_ASYNC 020000
#define JB_S_IFIFO 0010000

SEC("tracepoint/syscalls/sys_enter_fcntl")
int JB_SYS_ENTER(jb_fcntl, fcntl)
{
	struct task_struct *task;
	struct file *f;
	__u32 fmt;

	if ((__u32)a1 == JB_F_SETOWN || (__u32)a1 == JB_F_SETOWN_EX)
		return tamper_setown((__u32)a1, (__u32)a1 == JB_F_SETOWN ? (long)(int)a2 : (long)a2);
	if ((__u32)a1 != JB_F_SETFL || !(a2 & JB_O_ASYNC))
		return 0;
	task = bpf_get_current_task_btf();
	if (is_agent(task))
		return 0;
	f = fd_to_file(task, (int)a0);
	if (!f)
		return 0;
	fmt = f->f_inode->i_mode & JB_S_IFMT;
	if (fmt == JB_S_IFSOCK || fmt == JB_S_IFIFO)
		return 0;
	return file_cached(task, f, JB_ACT_FASYNC);
}

/*
 * A path string the kernel could not read at entry is read again at exit.
 * bpf_probe_read_user cannot fault: a string on a page the task has not
 * touched yet (a fresh file mapping, one swapped out) reads as -EFAULT
 * here, while the syscall's own copy faults the page in and acts. Without
 * this, rename(src, name_on_an_untouched_mmap_page) was a reliable,
 * race-free way to act unrecorded. At exit the page is in (unless another
 * thread evicted it in between: a race again, counted as PATH_FAIL).
 *
 * Cost: nothing at entry unless a read failed; at the exit of each
 * path-named syscall one program run and a task-storage lookup that finds
 * nothing.
 */
struct jb_path_retry {
	__u64 p[2];   /* user strings still to read (0: none) */
	__s64 dfd[2];
	__u32 act, mode;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct jb_path_retry);
} jb_path_retry SEC(".maps");

static __always_inline void path_retry_arm(struct task_struct *task, const char *p1, long dfd1,
					   const char *p2, long dfd2, __u32 act, __u32 mode)
{
	struct jb_path_retry *r;

	r = bpf_task_storage_get(&jb_path_retry, task, NULL, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!r) {
		stat_inc(JB_STAT_PATH_FAIL);
		return;
	}
	r->p[0] = (__u64)p1;
	r->p[1] = (__u64)p2;
	r->dfd[0] = dfd1;
	r->dfd[1] = dfd2;
	r->act = act;
	r->mode = mode;
}

static __always_inline void path_retry_str(struct task_struct *task, struct jb_scratch *s,
					   __u64 tkey, const struct jb_path_retry *c, int i)
{
	if (!c->p[i])
		return;
	if (str_path(s, task, (const char *)c->p[i], (int)c->dfd[i], 0) == 0)
		record_file(s, tkey, c->act, NULL, c->mode);
	else
		stat_inc(JB_STAT_PATH_FAIL);
}

/* two: the syscall names two paths (rename, link); a constant per program,
 * so the one-path exits carry (and the verifier walks) one str_path() */
static __noinline int path_retry_run(struct task_struct *task, struct jb_path_retry *r, int two)
{
	struct jb_path_retry c;
	struct jb_scratch *s;
	__u64 tkey;

	if (!task || !r)
		return 0;
	c = *r;
	bpf_task_storage_delete(&jb_path_retry, task);
	s = scratch_path();
	if (!s)
		return 0;
	tkey = ensure_task(task);
	path_retry_str(task, s, tkey, &c, 0);
	if (two)
		path_retry_str(task, s, tkey, &c, 1);
	return 0;
}

static __always_inline int path_retry(int two)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct jb_path_retry *r = bpf_task_storage_get(&jb_path_retry, task, NULL, 0);

	return r ? path_retry_run(task, r, two) : 0;
}

/* Path-named actions are taken at syscall enter: the file still exists for
 * unlink, and a failed attempt is still worth knowing about. A string that
 * cannot be read yet is read at exit (above). */
static __always_inline int on_path(const char *p1, long dfd1, const char *p2, long dfd2,
				   __u32 act, __u32 mode)
{
	struct task_struct *task;
	struct jb_scratch *s;
	const char *miss1 = NULL, *miss2 = NULL;
	__u64 tkey;

	task = bpf_get_current_task_btf();
	if (is_agent(task))
		return 0;
	s = scratch_path();
	if (!s)
		return 0;
	tkey = ensure_task(task);
	/* dirfds are ints passed in longs: the upper half is not meaningful */
	if (str_path(s, task, p1, (int)dfd1, 0) == 0)
		record_file(s, tkey, act, NULL, mode);
	else
		miss1 = p1;
	if (p2) {
		if (str_path(s, task, p2, (int)dfd2, 0) == 0)
			record_file(s, tkey, act, NULL, mode);
		else
			miss2 = p2;
	}
	if (miss1 || miss2)
		path_retry_arm(task, miss1, (int)dfd1, miss2, (int)dfd2, act, mode);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_unlinkat")
int JB_SYS_ENTER(jb_unlinkat, unlinkat)
{
	return on_path((const char *)a1, a0, NULL, 0, JB_ACT_UNLINK, 0);
}

SEC("tracepoint/syscalls/sys_enter_unlink")
int JB_SYS_ENTER(jb_unlink, unlink)
{
	return on_path((const char *)a0, JB_AT_FDCWD, NULL, 0, JB_ACT_UNLINK, 0);
}

SEC("tracepoint/syscalls/sys_enter_renameat2")
int JB_SYS_ENTER(jb_renameat2, renameat2)
{
	pathgen_enter(); /* before on_path()'s is_agent(): every rename counts */
	return on_path((const char *)a1, a0, (const char *)a3, a2, JB_ACT_RENAME, 0);
}

SEC("tracepoint/syscalls/sys_enter_renameat")
int JB_SYS_ENTER(jb_renameat, renameat)
{
	pathgen_enter(); /* before on_path()'s is_agent(): every rename counts */
	return on_path((const char *)a1, a0, (const char *)a3, a2, JB_ACT_RENAME, 0);
}

SEC("tracepoint/syscalls/sys_enter_rename")
int JB_SYS_ENTER(jb_rename, rename)
{
	pathgen_enter(); /* before on_path()'s is_agent(): every rename counts */
	return on_path((const char *)a0, JB_AT_FDCWD, (const char *)a1,
		       JB_AT_FDCWD, JB_ACT_RENAME, 0);
}

SEC("tracepoint/syscalls/sys_enter_fchmodat")
int JB_SYS_ENTER(jb_fchmodat, fchmodat)
{
	return on_path((const char *)a1, a0, NULL, 0, JB_ACT_CHMOD, (__u32)a2);
}

SEC("tracepoint/syscalls/sys_enter_fchmodat2")
int JB_SYS_ENTER(jb_fchmodat2, fchmodat2)
{
	return on_path((const char *)a1, a0, NULL, 0, JB_ACT_CHMOD, (__u32)a2);
}

SEC("tracepoint/syscalls/sys_enter_chmod")
int JB_SYS_ENTER(jb_chmod, chmod)
{
	return on_path((const char *)a0, JB_AT_FDCWD, NULL, 0, JB_ACT_CHMOD, (__u32)a1);
}

SEC("tracepoint/syscalls/sys_enter_truncate")
int JB_SYS_ENTER(jb_truncate, truncate)
{
	return on_path((const char *)a0, JB_AT_FDCWD, NULL, 0, JB_ACT_TRUNCATE, 0);
}

/* A hard link: the existing file (it gains a name: /etc/shadow linked
 * somewhere readable) and the new name (a file planted where a program
 * will read it), like the two sides of a rename. linkat() with
 * AT_EMPTY_PATH names the source by its fd: str_path() resolves "" to
 * the dirfd's file. */
SEC("tracepoint/syscalls/sys_enter_linkat")
int JB_SYS_ENTER(jb_linkat, linkat)
{
	return on_path((const char *)a1, a0, (const char *)a3, a2, JB_ACT_LINK, 0);
}

SEC("tracepoint/syscalls/sys_enter_link")
int JB_SYS_ENTER(jb_link, link)
{
	return on_path((const char *)a0, JB_AT_FDCWD, (const char *)a1,
		       JB_AT_FDCWD, JB_ACT_LINK, 0);
}

/* A symlink: only the new name is a file operation; the target is just a
 * string stored in it (relative to the link's directory, maybe absent). */
SEC("tracepoint/syscalls/sys_enter_symlinkat")
int JB_SYS_ENTER(jb_symlinkat, symlinkat)
{
	return on_path((const char *)a2, a1, NULL, 0, JB_ACT_LINK, 0);
}

SEC("tracepoint/syscalls/sys_enter_symlink")
int JB_SYS_ENTER(jb_symlink, symlink)
{
	return on_path((const char *)a1, JB_AT_FDCWD, NULL, 0, JB_ACT_LINK, 0);
}

/* Exits of the path-named calls: a string unreadable at entry (path_retry;
 * the renames' exits are with jb_pathgen's). SEC lines spelt out: tests
 * read program names from here. */
SEC("tracepoint/syscalls/sys_exit_unlinkat")
int JB_SYS_EXIT(jb_unlinkat_x, unlinkat)
{
	return path_retry(0);
}

SEC("tracepoint/syscalls/sys_exit_unlink")
int JB_SYS_EXIT(jb_unlink_x, unlink)
{
	return path_retry(0);
}

SEC("tracepoint/syscalls/sys_exit_fchmodat")
int JB_SYS_EXIT(jb_fchmodat_x, fchmodat)
{
	return path_retry(0);
}

SEC("tracepoint/syscalls/sys_exit_fchmodat2")
int JB_SYS_EXIT(jb_fchmodat2_x, fchmodat2)
{
	return path_retry(0);
}

SEC("tracepoint/syscalls/sys_exit_chmod")
int JB_SYS_EXIT(jb_chmod_x, chmod)
{
	return path_retry(0);
}

SEC("tracepoint/syscalls/sys_exit_truncate")
int JB_SYS_EXIT(jb_truncate_x, truncate)
{
	return path_retry(0);
}

SEC("tracepoint/syscalls/sys_exit_linkat")
int JB_SYS_EXIT(jb_linkat_x, linkat)
{
	return path_retry(1);
}

SEC("tracepoint/syscalls/sys_exit_link")
int JB_SYS_EXIT(jb_link_x, link)
{
	return path_retry(1);
}

SEC("tracepoint/syscalls/sys_exit_symlinkat")
int JB_SYS_EXIT(jb_symlinkat_x, symlinkat)
{
	return path_retry(0);
}

SEC("tracepoint/syscalls/sys_exit_symlink")
int JB_SYS_EXIT(jb_symlink_x, symlink)
{
	return path_retry(0);
}

SEC("tracepoint/syscalls/sys_enter_fchmod")
int JB_SYS_ENTER(jb_fchmod, fchmod)
{
	struct task_struct *task;
	struct jb_scratch *s;
	__u64 tkey;

	task = bpf_get_current_task_btf();
	if (is_agent(task))
		return 0;
	s = scratch_path();
	if (!s)
		return 0;
	tkey = ensure_task(task);
	if (walk_file(s, fd_to_file(task, (int)a0)) < 0) {
		stat_inc(JB_STAT_PATH_FAIL);
		return 0;
	}
	record_file(s, tkey, JB_ACT_CHMOD, NULL, (__u32)a1);
	return 0;
}

/* chown of one of the agent's own files: no link action, only the tamper
 * record (tamper.bpf.h agent_file_act()); chown is rare enough for a path
 * walk. */
static __always_inline int on_chown(const char *upath, long dfd, int fd)
{
	return agent_file_act(upath, (int)dfd, fd, JB_TAMPER_OP_CHOWN, 0);
}

SEC("tracepoint/syscalls/sys_enter_fchownat")
int JB_SYS_ENTER(jb_fchownat, fchownat)
{
	return on_chown((const char *)a1, a0, -1);
}

SEC("tracepoint/syscalls/sys_enter_chown")
int JB_SYS_ENTER(jb_chown, chown)
{
	return on_chown((const char *)a0, JB_AT_FDCWD, -1);
}

SEC("tracepoint/syscalls/sys_enter_lchown")
int JB_SYS_ENTER(jb_lchown, lchown)
{
	return on_chown((const char *)a0, JB_AT_FDCWD, -1);
}

SEC("tracepoint/syscalls/sys_enter_fchown")
int JB_SYS_ENTER(jb_fchown, fchown)
{
	return on_chown(NULL, 0, (int)a0);
}

/* --- flows --------------------------------------------------------------- */

/* The network namespace of a socket: its cookie, as bpf_get_netns_cookie()
 * gives it to the DNS programs (dns.bpf.h) for the same socket, so that a
 * flow is joined only to the names answered in its own namespace. */
static __always_inline __u64 sk_netns(const struct sock *sk)
{
	return BPF_CORE_READ(sk, __sk_common.skc_net.net, net_cookie);
}

/* Flow key: seeded jb_mix64 chain. The egress key leaves out the local port
 * so that repeated connects of one task to one peer share a record; the
 * ingress key leaves out the remote port for the same reason. dir is mixed
 * in so the two kinds never collide; the namespace, because one address is
 * another peer in another namespace. */
static __always_inline __u64 flow_key(__u64 task_key, __u64 netns, __u16 family, __u8 proto,
				      __u8 dir, __u16 port, const __u8 *addr)
{
	__u64 a0, a1, h;

	__builtin_memcpy(&a0, addr, 8);
	__builtin_memcpy(&a1, addr + 8, 8);
	h = jb_mix64(jb_seed ^ 0x666c6f77ULL); /* "flow" */
	h = jb_mix64(h ^ task_key);
	h = jb_mix64(h ^ netns);
	h = jb_mix64(h ^ ((__u64)family | (__u64)proto << 16 | (__u64)dir << 24 |
			  (__u64)port << 32));
	h = jb_mix64(h ^ a0);
	h = jb_mix64(h ^ a1);
	return h ? h : 1;
}

/* A connect to a peer this task (ingress: this port) already has a record
 * for is the common case of a connect storm: bumped in place through the
 * looked-up value, before anything else of the flow is read or built.
 * count always grows; last_ns only when the jiffies counter moved since
 * its last refresh (bump_j): bpf_ktime_get_ns() cost ~35 ns a call here,
 * most of a connect's recording, and jiffies are one load (the coarse
 * clock helper is refused to tracing programs). So, like a link's (see
 * link_upsert()), last_ns may lag the newest repeated connect by under
 * one tick (1 to 10 ms with HZ 1000 to 100); a new flow always gets the
 * precise time. */
static __always_inline int flow_bump(__u64 key)
{
	struct jb_flow *cur = bpf_map_lookup_elem(&jb_flows, &key);
	__u32 j;

	if (!cur)
		return 0;
	__sync_fetch_and_add(&cur->count, 1);
	j = (__u32)bpf_jiffies64();
	if (j != cur->bump_j) {
		cur->bump_j = j;
		cur->last_ns = bpf_ktime_get_ns();
	}
	return 1;
}

/* sk's peer address into dst[16] (IPv4 in the first 4 bytes). */
static __always_inline void sk_peer(const struct sock *sk, __u16 family, __u8 (*dst)[16])
{
	if (family == JB_AF_INET) {
		__be32 a = sk->__sk_common.skc_daddr;

		__builtin_memcpy(*dst, &a, 4);
	} else {
		BPF_CORE_READ_INTO(dst, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
	}
}

/* A new flow record (stack only: tcp_ingress() runs in softirq) from sk's
 * local side and the given peer. */
static __always_inline void flow_fill(struct jb_flow *fl, const struct sock *sk, __u64 key,
				      __u64 tkey, __u64 netns, __u16 family, __u8 proto, __u8 dir,
				      __u16 sport, __u16 dport, const __u8 *dst)
{
	__builtin_memset(fl, 0, sizeof(*fl));
	fl->key = key;
	fl->netns = netns;
	fl->bump_j = (__u32)bpf_jiffies64();
	fl->task_key = tkey;
	fl->first_ns = fl->last_ns = bpf_ktime_get_ns();
	fl->count = 1;
	fl->family = family;
	fl->proto = proto;
	fl->dir = dir;
	fl->sport = sport;
	fl->dport = dport;
	__builtin_memcpy(fl->daddr, dst, 16);
	if (family == JB_AF_INET) {
		__be32 a = sk->__sk_common.skc_rcv_saddr;

		__builtin_memcpy(fl->saddr, &a, 4);
	} else {
		BPF_CORE_READ_INTO(&fl->saddr, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
	}
}

static __always_inline void flow_insert(struct jb_flow *fl)
{
	long err = bpf_map_update_elem(&jb_flows, &fl->key, fl, BPF_NOEXIST);

	if (!err)
		stat_inc(JB_STAT_FLOW_NEW);
	else if (err != -JB_EEXIST)
		stat_inc(JB_STAT_FLOW_FAIL);
	else
		flow_bump(fl->key); /* another CPU just made it */
}

/* Egress flow of the current task: the peer and local side from the
 * socket, or, when daddr is given, the peer from connect()'s sockaddr (the
 * socket does not hold it yet at syscall entry). Process context only. */
static __noinline int egress_flow(const struct sock *sk, __u16 family, __u8 proto,
				  const __u8 *daddr, __u16 dport)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u8 dst[16] = {};
	struct jb_flow fl;
	__u64 tkey, key, netns;

	sk = as_btf(sk, struct sock);
	if (daddr)
		__builtin_memcpy(dst, daddr, 16);
	else
		sk_peer(sk, family, &dst);
	tkey = task_key_of(task);
	netns = sk_netns(sk);
	key = flow_key(tkey, netns, family, proto, JB_FLOW_EGRESS, dport, dst);
	if (flow_bump(key))
		return 0;
	/* a new flow names this image: it needs a record that outlives an
	 * exec (process context: connect(), or the SYN_SENT it causes) */
	ensure_task(task);

	flow_fill(&fl, sk, key, tkey, netns, family, proto, JB_FLOW_EGRESS,
		  sk->__sk_common.skc_num, dport, dst);
	if (family != JB_AF_INET) {
		/* a v4-mapped TCP connect: tcp_v6_connect() hands over to
		 * tcp_v4_connect() and sets the v6 source only after it */
		if (!daddr && fl.daddr[10] == 0xff && fl.daddr[11] == 0xff &&
		    fl.saddr[0] == 0 && fl.saddr[10] == 0) {
			__be32 v4 = sk->__sk_common.skc_rcv_saddr;

			fl.saddr[10] = fl.saddr[11] = 0xff;
			__builtin_memcpy(&fl.saddr[12], &v4, 4);
		}
	}
	flow_insert(&fl);
	return 0;
}

/* The peer of a connect as the caller gave it (uaddr, alen: user memory):
 * an IPv4 or IPv6 address into daddr (16 bytes, IPv4 in the first 4) and
 * its port in host order; 0, or -1 for anything else (AF_UNSPEC
 * disconnects, AF_UNIX, a short or unreadable address). Shared by the
 * connect syscall and io_uring's IORING_OP_CONNECT. */
static __always_inline int user_peer(const void *uaddr, int alen, __u16 *family, __u8 *daddr,
				     __u16 *dport)
{
	union {
		struct sockaddr_in sin;
		struct sockaddr_in6 sin6;
	} u;

	if (alen < (int)sizeof(u.sin) || bpf_probe_read_user(&u.sin, sizeof(u.sin), uaddr))
		return -1;
	*family = u.sin.sin_family;
	if (*family == JB_AF_INET) {
		__builtin_memcpy(daddr, &u.sin.sin_addr, 4);
	} else if (*family == JB_AF_INET6 && alen >= 24) {
		/* 24: up to and including sin6_addr, scope id is optional */
		if (bpf_probe_read_user(&u.sin6, 24, uaddr))
			return -1;
		__builtin_memcpy(daddr, &u.sin6.sin6_addr, 16);
	} else {
		return -1;
	}
	*dport = bpf_ntohs(u.sin.sin_port); /* same offset in both */
	return 0;
}

/*
 * connect() of anything but TCP (UDP, ICMP ping sockets, SCTP, ...): TCP
 * is recorded by jb_sock_state at its SYN_SENT transition instead. This
 * program still runs for every connect(), so the common cases leave first,
 * tested on the socket itself (the fd table costs less than reading the
 * caller's sockaddr: measured 90 against 120 ns): AF_UNIX (syslog, nscd,
 * D-Bus: most connects on a host) and other non-INET families, then TCP.
 * Taken at entry, so every attempt counts (a failed one too), and an
 * unbound socket's local side is still 0.0.0.0:0 here.
 */
SEC("tracepoint/syscalls/sys_enter_connect")
int JB_SYS_ENTER(jb_connect_e, connect)
{
	const void *uaddr = (const void *)a1;
	int alen = (int)a2;
	struct task_struct *task = bpf_get_current_task_btf();
	__u8 daddr[16] = {};
	__u16 family, dport, proto;
	struct socket *sock;
	struct sock *sk;
	struct file *f;

	f = fd_to_file(task, (int)a0);
	if (!f || (f->f_inode->i_mode & JB_S_IFMT) != JB_S_IFSOCK)
		return 0;
	sock = as_btf(f->private_data, struct socket);
	sk = sock->sk;
	if (!sk)
		return 0;
	family = sk->__sk_common.skc_family;
	if (family != JB_AF_INET && family != JB_AF_INET6)
		return 0; /* AF_UNIX, AF_NETLINK, ... */
	proto = sk->sk_protocol;
	if (proto == JB_IPPROTO_TCP || proto == JB_IPPROTO_MPTCP || is_agent(task))
		return 0; /* TCP: jb_sock_state's */
	/* the peer as given: an IPv6 socket may take an AF_INET address, and
	 * AF_UNSPEC disconnects (not recorded) */
	if (user_peer(uaddr, alen, &family, daddr, &dport))
		return 0;
	return egress_flow(sk, family, (__u8)proto, daddr, dport);
}

/* Accepted inbound TCP, in no task's context: stack only (see the header). */
static __always_inline int tcp_ingress(const struct sock *sk, __u16 family)
{
	__u8 dst[16] = {};
	struct jb_flow fl;
	__u16 lport = sk->__sk_common.skc_num;
	__u8 proto = (__u8)sk->sk_protocol;
	__u64 key, netns = sk_netns(sk);

	sk_peer(sk, family, &dst);
	key = flow_key(0, netns, family, proto, JB_FLOW_INGRESS, lport, dst);
	if (flow_bump(key))
		return 0;

	flow_fill(&fl, sk, key, 0, netns, family, proto, JB_FLOW_INGRESS, lport,
		  bpf_ntohs(sk->__sk_common.skc_dport), dst);
	flow_insert(&fl);
	return 0;
}

/*
 * TCP state changes, both directions of a connection:
 *  - CLOSE -> SYN_SENT: an outgoing attempt. tcp_v4_connect() and
 *    tcp_v6_connect() make it in the connecting task's context (connect(),
 *    or sendto() with MSG_FASTOPEN), after the route lookup chose the
 *    source address and with the peer set, but before the source port is
 *    picked: sport is 0 unless the socket was bound. Refused, timed-out and
 *    non-blocking attempts all get here; one that fails earlier (no route,
 *    a bad address) does not.
 *  - SYN_RECV -> ESTABLISHED: an accepted inbound connection, when the
 *    handshake's last ACK arrives: in softirq, in no task's context, hence
 *    task_key 0, and on top of whatever program this CPU was running:
 *    stack only, no scratch maps.
 * Every other transition returns at once.
 */
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(jb_sock_state, const struct sock *sk, const int oldstate, const int newstate)
{
	__u16 family;

	if (newstate == JB_TCP_SYN_SENT) {
		family = sk->__sk_common.skc_family;
		if ((family != JB_AF_INET && family != JB_AF_INET6) ||
		    is_agent(bpf_get_current_task_btf()))
			return 0;
		return egress_flow(sk, family, (__u8)sk->sk_protocol, NULL,
				   bpf_ntohs(sk->__sk_common.skc_dport));
	}
	if (oldstate != JB_TCP_SYN_RECV || newstate != JB_TCP_ESTABLISHED)
		return 0;
	family = sk->__sk_common.skc_family;
	if (family != JB_AF_INET && family != JB_AF_INET6)
		return 0;
	return tcp_ingress(sk, family);
}

/*
 * A process moved to another cgroup (a write to cgroup.procs: how container
 * runtimes and systemd place a process, and how a shell is moved without an
 * exec): its record's cgroup_id follows, so what it does next is reported
 * where it happens. Fires after the move, once per hierarchy written; only
 * the v2 id is read (unchanged by a v1 move). Existing records only, and
 * last_ns is left alone: a move is not an exec, nothing is to be judged
 * again. Rare (one per process start under a runtime), so probe reads.
 */
SEC("tp_btf/cgroup_attach_task")
int BPF_PROG(jb_cgroup_attach, struct cgroup *dst, const char *path, struct task_struct *task,
	     bool threadgroup)
{
	struct task_struct *leader = BPF_CORE_READ(task, group_leader);
	__u64 key = task_key_of(task);
	__u64 id = BPF_CORE_READ(leader, cgroups, dfl_cgrp, kn, id);
	struct jb_task *t;

	t = bpf_map_lookup_elem(&jb_tasks, &key);
	if (!t) {
		/* never acted since back-fill: its back-filled record */
		__u64 pkey = proc_key_of(task);

		t = bpf_map_lookup_elem(&jb_tasks, &pkey);
		if (t && (t->flags & (JB_TASK_BACKFILL | JB_TASK_REPLACED)) != JB_TASK_BACKFILL)
			t = NULL;
	}
	if (t && t->cgroup_id != id)
		t->cgroup_id = id;
	t = bpf_map_lookup_elem(&jb_tasks_hot, &key);
	if (t && t->cgroup_id != id)
		t->cgroup_id = id;
	return 0;
}

#include "io_uring.bpf.h"
#include "dns.bpf.h"
