/*
 * procfs.h - what /proc says about a process: its stat line, its
 * children, the "Field: N kB" lines of its status files.
 */
#ifndef TL_PROCFS_H
#define TL_PROCFS_H

#include <sys/types.h>

#define TL_COMM_LEN 16 /* the kernel's TASK_COMM_LEN, NUL included */

struct tl_stat {
	char state;		  /* R, S, D, Z, ... */
	pid_t ppid;
	char comm[TL_COMM_LEN];	  /* as the process set it (PR_SET_NAME), cut to 15 bytes */
	unsigned long long ticks; /* utime + stime, in clock ticks */
	unsigned long long start; /* start time after boot, in clock ticks: tells a reused pid */
};

struct tl_child {
	pid_t pid;
	struct tl_stat st; /* as read when the scan chose it */
};

/* /proc/PID/stat; 0 on success, -1 when the process is gone */
int tl_proc_stat(pid_t pid, struct tl_stat *st);
/* no /proc entry: the process ended and was reaped */
int tl_pid_gone(pid_t pid);
/* up to max live (neither zombie nor dead) children of parent, in /proc
 * order; how many */
int tl_proc_children(pid_t parent, pid_t *out, int max);
/* the same, each with its stat line: state, start time, comm */
int tl_proc_children_stat(pid_t parent, struct tl_child *out, int max);
/* the number after field (e.g. "VmHWM:") in /proc/PID/file, in kB; -1 when absent */
long tl_proc_kib(pid_t pid, const char *file, const char *field);

#endif
