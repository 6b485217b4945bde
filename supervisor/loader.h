/*
 * loader.h - the BPF object: preflight checks, load, attach, map fds.
 */
#ifndef JB_LOADER_H
#define JB_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "supervisor/envnames.h"
#include "supervisor/pins.h"

struct jibril_bpf;

struct jb_bpf {
	struct jibril_bpf *skel;
	int fd_tasks, fd_files, fd_links, fd_flows, fd_stats, fd_meta;
	int fd_watch, fd_tasks_hot, fd_files_hot, fd_links_hot;
	int fd_tamper, fd_agent, fd_agent_maps;
	int fd_dns;		/* -1 when the DNS program is not attached */
	int fd_env_names;	/* jb_env_names */
	volatile uint64_t *env_pre; /* jb_env_pre, JB_ENV_PRE_WORDS (mmapped .bss) */
	struct sup_envnames env; /* what the kernel records now */
	int nwatch;		/* paths whose records are protected */
	uint64_t seed;
	int ncpus;		/* possible CPUs: size of per-CPU values */
	int batch_ok;		/* kernel supports batch lookups on these maps */
	int backend;		/* of the syscall hooks: JB_BACKEND_TRACEPOINT or _FENTRY */
	struct jb_pins pins;	/* [bpf] pin_dir (pins.c); dir_fd -1 when off */
	int resumed;		/* the maps were the pinned ones of a previous supervisor */
	struct jb_meta meta;	/* what jb_meta holds */
	/* pins were found and replaced, not resumed: why ("" otherwise), and
	 * the records their programs had created since the last query of the
	 * supervisor that left them (0 when their layout is not ours): a loss
	 * main.c reports (data_loss, not_resumed). Pins without a link (a
	 * start killed during its load) recorded nothing: no loss */
	char not_resumed[200];
	uint64_t not_resumed_records;
};

/* Root, BTF, tracefs mounted (mounting it if missing). 0 or -1 with one
 * clear sentence in err. */
int jb_bpf_preflight(char *err, size_t errlen);
struct rcp_set;
/* Open, size the maps from cfg, seed, pick the syscall hooks' backend
 * ([bpf] backend, backend.c), load, protect the files of watch's
 * file_access recipes (watch.c), register the agent's own process, maps
 * and files (conf_path, the recipe directory: self.c), attach. 0, or -1
 * or JB_BPF_ECONFIG with err. */
int jb_bpf_load(struct jb_bpf *b, const struct jb_config *cfg, const struct rcp_set *watch,
		const char *conf_path, char *err, size_t errlen);
/* jb_bpf_load's return when the configuration asks for what this kernel
 * cannot do ([bpf] backend = fentry): err is "FILE:LINE: ...", a
 * configuration error (not worth a restart) */
#define JB_BPF_ECONFIG (-2)
/* Make the environment variables the kernel records at exec the ones the
 * enabled recipes of set read (envnames.c); done by jb_bpf_load before
 * attach, and on reload. A reader in the kernel sees the old set or the
 * new one, never less than both share. 0, or -1 (logged): the old set stays
 * in part. */
int jb_bpf_env_names(struct jb_bpf *b, const struct rcp_set *set);
/* Detach and close everything. With pins: keep_pins leaves them (the
 * programs go on recording for the next supervisor), else they are
 * removed too. */
void jb_bpf_unload(struct jb_bpf *b, int keep_pins);
/* The programs' jb_agent_tgid is ours? 0; else the tgid found there is
 * returned and ours written back. It lives in the pinned .bss (writable
 * through a mapping of the map, which no bpf() hook sees): a process of
 * root's that writes its own pid there is left out of detection until the
 * next cadence puts ours back and reports it (collector.c). */
uint32_t jb_bpf_agent_check(struct jb_bpf *b);
/* b->meta (resume_ns, count_ns, created: collector.c) into jb_meta, where
 * a resuming supervisor finds it. */
void jb_bpf_meta_store(struct jb_bpf *b);
/* jibril --unload: remove the pins under cfg's pin_dir (refused while a
 * supervisor holds them). The number removed, or -1 with err. */
int jb_bpf_unpin(const struct jb_config *cfg, const char *conf_path, char *err, size_t errlen);

/* Start a new query epoch (bpf/jibril.bpf.c jb_epoch): call after taking
 * the query's timestamp and before reading the maps, so that activity
 * repeated after it reaches the maps again with a later last_ns. */
void jb_bpf_new_epoch(struct jb_bpf *b);
/* The time (CLOCK_MONOTONIC ns) up to which the latest query counted the
 * kernel's created records: a task record the kernel deletes unseen takes
 * its creation back only when it is younger (bpf: jb_query_ns). */
void jb_bpf_count_bound(struct jb_bpf *b, uint64_t ns);

/* Sum of the per-CPU counters into out[JB_STAT_MAX]. */
int jb_bpf_stats(struct jb_bpf *b, uint64_t *out);

/* backfill.c: write a task record for every process already running.
 * Returns how many were written, -1 on error. */
int jb_backfill(struct jb_bpf *b);
/* Parse what back-fill needs from /proc/PID/stat text (exposed for tests):
 * ppid and start time in ticks. 0 or -1. */
int jb_parse_proc_stat(const char *buf, uint32_t *ppid, uint64_t *start_ticks, char *comm,
		       size_t commlen);

#endif
