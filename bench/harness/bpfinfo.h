/*
 * bpfinfo.h - the BPF objects an agent holds (its fds, through /proc
 * fdinfo) and what the kernel says about them (libbpf).
 */
#ifndef BENCH_BPFINFO_H
#define BENCH_BPFINFO_H

#include <stddef.h>
#include <sys/types.h>

#include <bpf/bpf.h>
#include <jansson.h>

/* the name (and key/value sizes, if not NULL) of map id; "?" if unknown */
void map_name_of(__u32 id, char *name, size_t nl, __u32 *ksz, __u32 *vsz);
/* the ids of the BPF maps (prog 0) or programs (prog 1) held by pid's fds,
 * each once; how many */
int pid_bpf_ids(pid_t pid, int prog, __u32 *ids, int max);
/* maps held by pid: {memlock_bytes, memlock_mib, list: [{name, map_type,
 * max_entries, memlock}]} */
json_t *pid_maps(pid_t pid);
/* BPF programs loaded right now, anyone's: {count, names: distinct names} */
json_t *bpf_progs_loaded(void);
/* waits (at most 10 s) until no BPF program is loaded, for a no-agent run
 * of round; what is still loaded then (a note says so): J's to keep */
json_t *bpf_wait_none(int round);
/* run time and run count (bpf_stats), summed over the programs ids name */
void prog_totals(const __u32 *ids, int n, double *ns, double *runs);
/* fn on every entry of map fd (get_next_key + lookup, at most 20M);
 * how many keys, -1 if ksz is over 64 */
int map_each(int fd, size_t ksz, size_t vsz, void (*fn)(const void *k, const void *v, void *a),
	     void *arg);

#endif
