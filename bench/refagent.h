/*
 * refagent.h - the record layout of the benchmark's reference streaming
 * agent, shared by bench/refagent.bpf.c and bench/refagent.c.
 *
 * One fixed-size record per event, the way event-streaming tools work:
 * fixed-width types only, explicitly padded, identical for clang -target
 * bpf and gcc x86_64 (checked by _Static_assert in user space).
 */
#ifndef JB_REFAGENT_H
#define JB_REFAGENT_H

#ifndef __BPF__
#include <linux/types.h>
#endif

#define REF_COMM_LEN 16
#define REF_PATH_LEN 256 /* = JB_PATH_LEN: the same shared path code fills it */

enum ref_type {
	REF_FORK = 1, /* tgid = child, ppid = parent */
	REF_EXEC,     /* path = the executed file (bprm->file) */
	REF_EXIT,
	REF_FILE,     /* path + actions (enum jb_action bits) */
	REF_CONNECT,  /* 5-tuple, egress attempt */
	REF_ACCEPT,   /* 5-tuple, accepted ingress (no task context) */
	REF_DNS,      /* a UDP datagram from port 53: path = its first bytes */
};

struct ref_event {
	__u64 ts_ns;
	__u32 type;    /* enum ref_type */
	__u32 pid;
	__u32 tgid;
	__u32 ppid;
	__u32 uid;
	__u32 actions; /* enum jb_action bits (REF_FILE, REF_EXEC) */
	__u32 flags;   /* enum jb_file_flag of path */
	__u16 family;
	__u8 proto;
	__u8 _pad;
	__u16 sport;   /* host byte order */
	__u16 dport;
	__u32 _pad2;
	__u8 saddr[16];
	__u8 daddr[16];
	char comm[REF_COMM_LEN];
	char path[REF_PATH_LEN];
};

#endif
