/*
 * jibril.h - the ONE header of record layouts shared by the kernel programs
 * (bpf/jibril.bpf.c) and user space (supervisor, workers, tests).
 *
 * Invariants:
 *  - fixed-width types only; no vmlinux.h, no libc: both sides include this.
 *  - every struct is padded explicitly so the layout is identical for clang
 *    -target bpf and for gcc x86_64 (checked by _Static_assert in user space).
 *  - JB_LAYOUT_VERSION is bumped whenever anything here changes: it is stored
 *    in the jb_meta map so that a supervisor resuming from pinned maps can
 *    refuse maps of another layout.
 *  - keys are seeded hashes (jb_hash_*), computed identically on both sides:
 *    the task key links task -> file links -> flows like a foreign key.
 */
#ifndef JIBRIL_SHARED_H
#define JIBRIL_SHARED_H

#ifdef __BPF__
/* vmlinux.h provides __u8 .. __u64 */
#else
#include <linux/types.h>
#endif

#define JB_LAYOUT_VERSION 6

#define JB_COMM_LEN 16
#define JB_PATH_LEN 256 /* paths longer than this are cut and flagged */
#define JB_ARGS_LEN 256 /* argv, NUL separated, cut and flagged */
#define JB_ENV_LEN 256  /* wanted environment entries, NUL separated */
/* The environment at exec: the kernel scans its first JB_ENV_SCAN bytes
 * (a normal environment, even a big CI one, is a few KiB) and keeps the
 * entries whose NAME is in jb_env_names, the variables the loaded recipes
 * name (supervisor/envnames.c). Names are 1..JB_ENV_NAME_MAX-1 bytes. */
#define JB_ENV_SCAN 65536
#define JB_ENV_NAME_MAX 64
#define JB_ENV_NAMES_MAX 256 /* jb_env_names entries */
/* prefilter (jb_env_pre, .bss): bit b0 | b1 << 8 is set when a wanted name
 * starts with the bytes b0 b1 ("X=" for the one-letter name X) */
#define JB_ENV_PRE_WORDS 1024

/* File actions: one bit each in jb_link.actions. The kernel records every
 * bit but close and llseek, which stay reserved names of the recipe format
 * that it never sets: both are per-call events on open files, on the hot
 * path of the commonest file work (open+read+close, read loops), and tell
 * nothing a detection needs: a close is implied by the open, an llseek
 * only refines a read. */
enum jb_action {
	JB_ACT_OPEN = 1u << 0,   /* open*() / creat(); also the executed file
				  * (the kernel opens it for execve) */
	JB_ACT_READ = 1u << 1,   /* opened for reading (FMODE_READ) */
	JB_ACT_WRITE = 1u << 2,  /* opened for writing (FMODE_WRITE) */
	JB_ACT_EXEC = 1u << 3,   /* executed (bprm file at sched_process_exec) */
	JB_ACT_CREATE = 1u << 4, /* open created it (FMODE_CREATED) */
	JB_ACT_UNLINK = 1u << 5,
	JB_ACT_RENAME = 1u << 6, /* source or target of a rename */
	JB_ACT_CHMOD = 1u << 7,
	JB_ACT_TRUNCATE = 1u << 8, /* O_TRUNC, creat(), truncate(), ftruncate() */
	JB_ACT_MMAP = 1u << 9,   /* mmap() of the file (any prot and flags);
				  * also the executed file (mapped by exec) */
	JB_ACT_LINK = 1u << 10,  /* source or new name of a hard link
				  * (link, linkat), new name of a symlink */
	JB_ACT_CLOSE = 1u << 11,  /* reserved: never set (see above) */
	JB_ACT_FSYNC = 1u << 12,  /* fsync(), fdatasync(), sync_file_range() */
	JB_ACT_FLOCK = 1u << 13,  /* flock() taking a lock (not LOCK_UN) */
	JB_ACT_FASYNC = 1u << 14, /* fcntl(F_SETFL) with O_ASYNC, not on a
				   * socket or pipe */
	JB_ACT_LLSEEK = 1u << 15, /* reserved: never set (see above) */
};

/* jb_task.flags */
enum jb_task_flag {
	JB_TASK_EXITED = 1u << 0,
	JB_TASK_EXECED = 1u << 1,    /* exe/args come from an exec we saw */
	JB_TASK_BACKFILL = 1u << 2,  /* written from /proc at agent start */
	JB_TASK_ARGS_CUT = 1u << 3,
	JB_TASK_EXE_CUT = 1u << 4,
	JB_TASK_ENV_CUT = 1u << 5,   /* env may lack wanted entries: they did
				      * not all fit in JB_ENV_LEN, or the
				      * environment was too big to scan whole
				      * (JB_ENV_SCAN) or could not be read */
	JB_TASK_AGENT = 1u << 6,     /* one of the agent's own processes (its
				      * supervisor or a child it forked): kept
				      * for context, never an ordinary detection */
	JB_TASK_ACTED = 1u << 8,     /* this image did something recorded (a
				      * file, flow or tamper record names its
				      * key, or it forked): kept when it execs */
	JB_TASK_REPLACED = 1u << 9,  /* this image ended by an exec of the same
				      * process (exit_ns: when); the new image
				      * has a record of its own */
	JB_TASK_IO_URING = 1u << 7,  /* set up an io_uring, or submitted file or
				      * connect work to one (bpf/io_uring.bpf.h);
				      * inherited at fork (the child shares the
				      * ring); a new image starts without it (ring
				      * fds are close-on-exec) */
};

/* jb_file.flags */
enum jb_file_flag {
	JB_FILE_PATH_CUT = 1u << 0,  /* deeper or longer than JB_PATH_LEN */
	JB_FILE_RELATIVE = 1u << 1,  /* could not be made absolute */
};

enum jb_flow_dir {
	JB_FLOW_EGRESS = 1,  /* this host connected out */
	JB_FLOW_INGRESS = 2, /* a peer connected in */
};

/* Per-CPU loss/health counters (jb_stats map, one u64 per index). */
enum jb_stat {
	JB_STAT_TASK_NEW = 0,   /* records created; user space subtracts the */
	JB_STAT_FILE_NEW,       /* new records it saw to count unseen evictions */
	JB_STAT_LINK_NEW,
	JB_STAT_FLOW_NEW,
	JB_STAT_TASK_FAIL,      /* bpf_map_update_elem failed */
	JB_STAT_FILE_FAIL,
	JB_STAT_LINK_FAIL,
	JB_STAT_FLOW_FAIL,
	JB_STAT_PATH_FAIL,      /* a path could not be read at all */
	JB_STAT_HOT_NEW,        /* protected link created (jb_links_hot) */
	JB_STAT_HOT_FAIL,       /* protected file/link/task insert failed */
	JB_STAT_DNS_NEW,        /* jb_dns address record created */
	JB_STAT_DNS_FAIL,       /* jb_dns update failed (or scratch busy) */
	JB_STAT_DNS_BAD,        /* DNS answer malformed, truncated, looping */
	JB_STAT_DNS_CUT,        /* names cut, or answers past the limit */
	JB_STAT_DNS_REJECT,     /* answer to no query this socket's port sent
				 * (unsolicited, wrong id, other question,
				 * other server, expired): not stored */
	JB_STAT_TAMPER_NEW,     /* jb_tamper record created */
	JB_STAT_TAMPER_FAIL,    /* jb_tamper insert failed */
	JB_STAT_MAX
};

/* Protected ("hot") maps hold the same records: jb_tasks_hot (key task key,
 * struct jb_task: a copy of the task's record, refreshed at exec and exit),
 * jb_files_hot (file key, struct jb_file), jb_links_hot (struct
 * jb_link_key, struct jb_link). A file whose key user space put in jb_watch
 * (key jb_hash_path(seed, path), value __u32 enum jb_watch_flag, 0 for a recipe's file) has its
 * file and link records there instead of in jb_files/jb_links. */

/* tasks: one record per process IMAGE, key = jb_hash_image(seed, tgid,
 * start ticks, the task's self_exec_id): an exec gives the process a new
 * record, so a file, flow or tamper record (which carries the key of the
 * image that acted) always names the image that acted, however soon the
 * process execs again. An image that did nothing recorded (no ACTED: a
 * fork child before its exec) is deleted when it execs. Back-fill (user
 * space cannot read self_exec_id) writes jb_hash_task(seed, tgid, start
 * ticks) keys with JB_TASK_BACKFILL; the kernel adopts such a record (a
 * copy under the image key) the first time it needs the process. */
struct jb_task {
	__u64 key;
	__u64 parent_key;  /* 0 when the parent is unknown */
	__u64 start_ticks; /* start_boottime in USER_HZ ticks, as /proc shows */
	__u64 first_ns;    /* CLOCK_MONOTONIC (bpf_ktime_get_ns) of creation */
	__u64 last_ns;     /* last change */
	__u64 exit_ns;
	/* the task's cgroup v2 id (kernfs node id of task->cgroups->dfl_cgrp;
	 * the inode number of its directory on the cgroup2 mount): as of the
	 * last fork, exec or migration the kernel saw, or the back-fill; 0
	 * when unknown. User space resolves it to a path (supervisor/cgctx.c) */
	__u64 cgroup_id;
	__u32 tgid;
	__u32 ppid;
	__u32 uid;
	__u32 flags;
	__u32 args_len;    /* bytes used in args, NULs included */
	__u32 env_len;     /* bytes used in env, NULs included */
	char comm[JB_COMM_LEN];
	char exe[JB_PATH_LEN];
	char args[JB_ARGS_LEN];
	/* the "NAME=value" entries of the environment at exec whose NAME is
	 * in jb_env_names, NUL separated, in environment order (an entry
	 * that does not fit is cut, NUL terminated, and flagged ENV_CUT) */
	char env[JB_ENV_LEN];
};

/* jb_env_names key: a wanted variable name, NUL padded (value __u32 0) */
struct jb_env_name {
	char name[JB_ENV_NAME_MAX];
};

/* files: key = jb_hash_path(seed, path) */
struct jb_file {
	__u64 key;
	__u64 first_ns;
	__u32 flags;
	__u32 _pad;
	char path[JB_PATH_LEN];
};

/* task<->file links: key = struct jb_link_key */
struct jb_link_key {
	__u64 task_key;
	__u64 file_key;
};

struct jb_link {
	__u64 first_ns;
	__u64 last_ns;
	__u32 actions; /* enum jb_action, accumulated */
	__u32 _pad;
};

/* flows: key = seeded jb_mix64 chain over task_key, netns, family, proto,
 * dir, remote port (local port for ingress) and remote address: repeated
 * connects from one task to one peer share a record and bump count. netns
 * is the socket's network namespace cookie (struct net's net_cookie, what
 * bpf_get_netns_cookie() and SO_NETNS_COOKIE give): addresses, and so the
 * DNS names of jb_dns, only mean something inside one namespace. */
struct jb_flow {
	__u64 key;
	__u64 task_key; /* 0 when no task is known (ingress) */
	__u64 first_ns;
	__u64 last_ns;  /* the newest connect, or one under a tick older */
	__u8 saddr[16]; /* IPv4 in the first 4 bytes */
	__u8 daddr[16];
	__u16 sport;    /* host byte order */
	__u16 dport;
	__u16 family;   /* AF_INET 2 / AF_INET6 10 */
	__u8 proto;     /* IPPROTO_TCP 6 / IPPROTO_UDP 17 */
	__u8 dir;       /* enum jb_flow_dir */
	__u32 count;    /* connects seen on this flow key */
	__u32 bump_j;   /* kernel only: low 32 bits of jiffies when last_ns
			 * was last set (last_ns is refreshed once a tick) */
	__u64 netns;    /* network namespace cookie of the socket (0: unknown) */
};

/* jb_meta map, one entry: what a resuming supervisor must know. */
struct jb_meta {
	__u64 seed;
	__u32 layout_version;
	__u32 _pad;
	/* CLOCK_MONOTONIC ns: every record whose last_ns is not newer was
	 * looked at by every worker, and what they found acknowledged by every
	 * printer. A supervisor resuming the pinned maps starts its queries
	 * after it (collector.c), so a crash repeats at most what came after. */
	__u64 resume_ns;
	/* the loss accounting of the last query (collector.c): its count_ns
	 * and the kernel's created records then, so that a resuming
	 * supervisor counts what was evicted while none ran, once */
	__u64 count_ns;
	__u64 created;
};

/* --- seeded hashing, identical in BPF and C ---------------------------- */

static inline __u64 jb_mix64(__u64 x)
{
	/* splitmix64 finaliser: cheap, good avalanche */
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

static inline __u64 jb_hash_task(__u64 seed, __u32 tgid, __u64 start_ticks)
{
	__u64 h = jb_mix64(seed ^ 0x7461736bULL); /* "task" */
	h = jb_mix64(h ^ tgid);
	h = jb_mix64(h ^ start_ticks);
	return h ? h : 1; /* 0 means "none" */
}

/* The key of one image of a process: self_exec_id is the kernel's count
 * of execs in the task's line (inherited at fork, one more at each exec). */
static inline __u64 jb_hash_image(__u64 seed, __u32 tgid, __u64 start_ticks, __u64 exec_id)
{
	__u64 h = jb_hash_task(seed, tgid, start_ticks);
	h = jb_mix64(h ^ 0x696d616765ULL ^ (exec_id << 8)); /* "image" */
	return h ? h : 1;
}

/* Hash of a NUL-terminated path in a JB_PATH_LEN buffer (8-byte aligned):
 * 8-byte words up to the one holding the NUL, bytes after the NUL masked,
 * so the loop bound is constant for the verifier and stale bytes past the
 * end of the string do not change the key. */
static inline __u64 jb_hash_path(__u64 seed, const char *path_buf)
{
	const __u64 *w = (const __u64 *)path_buf;
	__u64 h = jb_mix64(seed ^ 0x66696c65ULL); /* "file" */
	for (int i = 0; i < JB_PATH_LEN / 8; i++) {
		__u64 v = w[i];
		/* lowest 0x80 marks the first zero byte (little endian) */
		__u64 z = (v - 0x0101010101010101ULL) & ~v & 0x8080808080808080ULL;
		if (z) {
			/* keep only the bytes before the NUL: what follows it
			 * in the buffer is whatever was there before */
			v &= ((z & -z) >> 7) - 1;
			h = jb_mix64(h ^ v);
			break;
		}
		h = jb_mix64(h ^ v);
	}
	return h ? h : 1;
}

/* --- DNS answers (bpf/dns.bpf.h, cgroup_skb ingress and egress) --------
 * jb_dns: LRU hash (JB_DNS_ENTRIES), key struct jb_dns_key = one address
 * seen in an A/AAAA answer of a response from port 53 (UDP, or TCP when
 * one segment holds the whole message) in one network namespace (the
 * receiving socket's netns cookie), value struct jb_dns = the names that
 * led to it: the question name, then each CNAME target in answer order,
 * NUL separated (every name NUL terminated), lower case, dotted, no
 * trailing dot. Bytes that cannot be part of a host name (controls, space,
 * DEL, 8-bit, '.' inside a label) are stored as '?', so a crafted label
 * can neither end a name early nor fake a second one. The newest answer
 * for an address replaces its names.
 * Only an answer to a query is stored: the egress program remembers each
 * query to port 53 (netns, server address, local port, id, protocol,
 * question; at most 1000 a second per user but root) for JB_DNS_QUERY_NS
 * (30 s), and the answer must come from that server to that port in that
 * namespace with that id and question; it uses the query up (so does an
 * error or empty response). Any other answer counts JB_STAT_DNS_REJECT. A
 * flow is joined to the names of its remote address in its own namespace
 * only (jb_flow.netns). */
#define JB_DNS_ENTRIES 4096  /* map size; the snapshot reserves as many */
#define JB_DNS_NAMES_LEN 256 /* names that do not fit are left out: CUT */

enum jb_dns_flag {
	JB_DNS_CUT = 1u << 0,     /* some CNAME target did not fit in names */
	JB_DNS_TRUNC = 1u << 1,   /* the message was truncated or malformed
				   * after this address: names may be short */
};

struct jb_dns_key {
	__u64 netns;    /* network namespace cookie of the receiving socket */
	__u16 family;   /* AF_INET 2 / AF_INET6 10 */
	__u16 _pad;
	__u32 _pad2;
	__u8 addr[16];  /* IPv4 in the first 4 bytes, the rest zero */
};

struct jb_dns {
	__u64 first_ns; /* CLOCK_MONOTONIC: first answer with this address */
	__u64 last_ns;  /* last answer with it */
	__u64 names_hash; /* of names[0..len): same names -> only last_ns */
	__u32 ttl;      /* of the newest address record */
	__u16 len;      /* bytes used in names, NULs included */
	__u16 flags;    /* enum jb_dns_flag */
	__u16 count;    /* names in names[] */
	__u16 _pad[3];
	char names[JB_DNS_NAMES_LEN];
};

/* --- tamper records (jb_tamper) -----------------------------------------
 * Somebody acting on the agent itself: its maps, the kernel's BPF or
 * module state, its processes, its files. One LRU hash record per
 * {class, actor task, op, target}, key a seeded hash of those, value
 * struct jb_tamper: repeats bump count and last_ns, like jb_flows. The
 * actor is never the agent (the supervisor and its children are skipped
 * by identity: jb_agent below). Read every cadence by the collector
 * (section "tampers" of the snapshot) and judged by the tamper worker's
 * recipes (mechanism tamper). */
#define JB_TAMPER_ENTRIES 1024
#define JB_TAMPER_NAME_LEN JB_PATH_LEN
#define JB_TAMPER_TARGET_LEN 128

enum jb_tamper_class {
	JB_TAMPER_MAP_WRITE = 1, /* bpf(): update, delete, batch update/delete,
				  * lookup-and-delete, freeze of an agent map;
				  * op = bpf cmd, target_id = map id */
	JB_TAMPER_BPF_PROG,	 /* bpf(): program load, attach, detach, link
				  * create/detach/update, raw tracepoint open;
				  * op = bpf cmd, target_id = the program's type,
				  * arg = attach type (expected one at load, the
				  * link's type for a link update/detach), name =
				  * program name, target = where it is attached
				  * (cgroup path, raw tracepoint) */
	JB_TAMPER_MODULE,	 /* init_module, finit_module, delete_module
				  * attempts; op = syscall nr, name = module name
				  * (delete) */
	JB_TAMPER_SIGNAL,	 /* a signal sent by a task to an agent process;
				  * op = signal, target_pid, target_row */
	JB_TAMPER_PTRACE,	 /* ptrace attach/seize (op = request) */
	JB_TAMPER_PROC_MEM,	 /* process_vm_readv/writev (op = syscall nr) or
				  * an open of /proc/PID/mem (op = 0) */
	JB_TAMPER_FILE,		 /* the agent's own files: op = enum jb_action
				  * bits (| JB_TAMPER_OP_CHOWN), arg = mode of a
				  * chmod, name = path */
	JB_TAMPER_CLASS_MAX
};

/* JB_TAMPER_FILE op bit for chown/fchown/lchown/fchownat (no jb_action) */
#define JB_TAMPER_OP_CHOWN (1u << 31)

/* jb_watch values: flags of a protected path */
enum jb_watch_flag {
	JB_WATCH_AGENT = 1u << 0,   /* one of the agent's own files: changes by
				     * another task are JB_TAMPER_FILE */
	JB_WATCH_PRIVATE = 1u << 1, /* must stay unreadable to group and others
				     * (recipes): a chmod/chown that opens it is
				     * tampering */
};

/* jb_tamper.target_row when the target process is the supervisor, or a
 * child whose kind the supervisor has not told the kernel yet */
#define JB_AGENT_ROW_SUPERVISOR 0xffffffffu
#define JB_AGENT_ROW_UNKNOWN 0xfffffffeu
/* jb_agent_tgid (.bss) once the supervisor has exited: a tgid no process
 * has (above PID_MAX_LIMIT, 2^22), so no process is skipped as the agent
 * until the next supervisor writes its own (not 0: pid 1 and kthreadd
 * have parent tgid 0, and is_agent() would skip them) */
#define JB_AGENT_NONE 0xffffffffu

enum jb_tamper_flag {
	JB_TAMPER_NAME_CUT = 1u << 0, /* name or target was cut */
	JB_TAMPER_FAILED = 1u << 1,   /* known to have failed (module calls on
				       * a kernel without modules) */
};

struct jb_tamper {
	__u64 key;
	__u64 task_key;	  /* the actor (a jb_tasks record) */
	__u64 first_ns;	  /* CLOCK_MONOTONIC */
	__u64 last_ns;
	__u32 klass;	  /* enum jb_tamper_class */
	__u32 op;	  /* per class, see above */
	__u32 tgid;	  /* the actor */
	__u32 uid;
	__u32 target_pid; /* agent process acted on (SIGNAL, PTRACE, PROC_MEM) */
	__u32 target_row; /* its row in the kind table, or JB_AGENT_ROW_* */
	__u32 target_id;  /* per class, see above */
	__u32 arg;	  /* per class, see above */
	__u32 count;	  /* times seen */
	__u32 flags;	  /* enum jb_tamper_flag */
	char comm[JB_COMM_LEN]; /* the actor's comm when first seen */
	char name[JB_TAMPER_NAME_LEN];	  /* what: program, map, module name, path */
	char target[JB_TAMPER_TARGET_LEN]; /* BPF_PROG: where it is attached (the
					    * cgroup's path, the raw tracepoint) */
};

/* jb_agent: HASH keyed by tgid (global pid) of the agent's own processes:
 * the supervisor (written by the loader) and every process it forks
 * (added by the fork hook, removed at exit; the supervisor fills in the
 * row once it knows which slot the pid belongs to). */
#define JB_AGENT_ENTRIES 64
struct jb_agent {
	__u64 task_key;	/* the process key (jb_hash_task): an exec keeps it */
	__u32 row;	/* kind table row, or JB_AGENT_ROW_* */
	__u32 _pad;
};

#endif
