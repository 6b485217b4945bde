/*
 * config.h - jibril.conf, parsed once with inih before anything is loaded.
 */
#ifndef JB_CONFIG_H
#define JB_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "common/kind.h"

#define JB_CONF_ERR_MAX 512
/* Default first uid of the children (0x70000000): above systemd's
 * container range, below its foreign range; no account should own it. */
#define JB_CONF_UID_BASE 1879048192u
/* [agent] backlog_bytes: 64 MiB by default (tens of thousands of typical
 * alerts), at least 4 MiB (each worker's share must hold several of the
 * largest, 56 KiB, detections). */
#define JB_CONF_BACKLOG_BYTES (64u << 20)
#define JB_CONF_BACKLOG_MIN (4u << 20)
#define JB_CONF_PIN_DIR "/sys/fs/bpf/jibril" /* [bpf] pin_dir default */
/* [printers] file_max_bytes: 100 MiB by default; 0 (never by size) or at
 * least 64 KiB, the largest message a line comes in (supervisor/outfile.c) */
#define JB_CONF_FILE_MAX_BYTES (100u << 20)
#define JB_CONF_FILE_MAX_MIN (64u << 10)
#define JB_CONF_FILE_KEEP 5
#define JB_CONF_FILE_KEEP_MAX 1000

/* what the values of the rows' own sections ([NAME]) may hold in all */
#define JB_CONF_SET_POOL 32768

/* [limits] defaults and the range of a memory limit (jibril.conf says why) */
#define JB_CONF_WORKER_MEMORY (256ull << 20)
#define JB_CONF_PRINTER_MEMORY (128ull << 20)
#define JB_CONF_MEMORY_MIN (16ull << 20)
#define JB_CONF_MEMORY_MAX (1ull << 40)

/* [limits] of one role (supervisor/cgroup.c); 0 = no limit ("max"). */
struct jb_limits {
	uint64_t memory;	/* bytes */
	uint32_t pids;		/* processes and threads */
	uint32_t cpu_pct;	/* percent of one CPU */
};

/* [bpf] backend: which programs carry the syscall hooks (backend.c) */
enum jb_backend { JB_BACKEND_AUTO, JB_BACKEND_TRACEPOINT, JB_BACKEND_FENTRY };

struct jb_config {
	/* [agent] */
	uint32_t cadence_ms;		/* map query cadence, 50..60000 */
	uint32_t heartbeat_ms;		/* child heartbeat interval, 50..60000 */
	uint32_t heartbeat_deadline_ms;	/* no heartbeat for this long: hung */
	uint32_t handshake_ms;		/* HELLO..READY must finish within */
	int log_level;			/* 0 err 1 warn 2 info 3 debug 4 trace */
	uint32_t child_uid_base;	/* kind i runs as uid/gid base + i */
	int child_uid_base_line;	/* its line in the file, 0 = unset */
	uint32_t backlog_bytes;		/* what the router may hold (router.c) */

	/* [maps] max entries */
	uint32_t map_tasks;
	uint32_t map_files;
	uint32_t map_links;
	uint32_t map_flows;
	/* protected maps for watched (sensitive) files: noise cannot evict */
	uint32_t map_hot_tasks;
	uint32_t map_hot_files;
	uint32_t map_hot_links;

	/* [workers] / [printers]: one key per row of the kind table
	 * (supervisor/kinds.c); kind_on[i] for a boolean row jb_kinds[i], a
	 * path row's value in its own field */
	int kind_on[JB_KINDS_MAX];
	char printer_file[4096];	/* "" = no file printer */
	uint32_t file_max_bytes;	/* rotate the file past this size; 0 = never */
	uint32_t file_keep;		/* rotated files kept: FILE.1 .. FILE.N */

	/* [restart] */
	uint32_t backoff_initial_ms;
	uint32_t backoff_max_ms;
	uint32_t stable_ms;		/* up this long: backoff resets */
	uint32_t throttle_ms;		/* wait after a failure before READY */

	/* [recipes] */
	char recipes_dir[4096];		/* "" = built-in recipes only */
	char recipes_disable[4096];	/* kinds, separated by spaces or commas */
	int recipes_disable_line;	/* line of 'disable' in the file, 0 = unset */
	uint32_t summary_s;		/* suppression summary period */

	/* [debug] */
	int fault_hooks;		/* test-only worker fault hooks */
	uint32_t query_gap_ms;		/* test-only: a pause in each query between the
					 * records and the tasks (check_attribution) */

	/* [tamper] */
	int tamper_raw_hook;		/* module calls via raw_syscalls when the
					 * kernel has no module tracepoints */
	/* [bpf] */
	int bpf_backend;		/* enum jb_backend */
	int bpf_backend_line;		/* its line in the file, 0 = unset */
	/* [agent] status_socket: the root-only status socket (statsock.c),
	 * "" = none; at most JB_CONF_STATUS_SOCKET_MAX bytes (sun_path) */
	char status_socket[4096];
	int status_socket_line;
	char bpf_pin_dir[4096];		/* maps and links pinned here (bpffs); "" = none */
	int bpf_pin_dir_line;		/* its line in the file, 0 = unset */
	int bpf_keep_on_stop;		/* a clean stop leaves the programs pinned */
	/* [audit] (supervisor/audit.c) */
	char audit_file[4096];		/* "" = no audit log */
	char audit_key[4096];		/* its HMAC key; the anchor is KEY.anchor */
	int audit_file_line;		/* their lines in the file, 0 = unset */
	int audit_key_line;
	/* [privacy] (common/privacy.h, supervisor/privacy.c): which printers
	 * pseudonymise (bit per row: listed in printers; or a row that does by
	 * default, kind.h pseudonymise, not listed in clear), what, the key */
	uint32_t privacy_printers, privacy_clear;
	uint32_t privacy_fields;	/* PRV_* bits */
	uint32_t privacy_ipv4_prefix, privacy_ipv6_prefix;
	char privacy_key[4096];
	int privacy_key_line;		/* its line in the file, 0 = unset */
	/* [limits]: each child's cgroup, by its role */
	struct jb_limits limits_worker, limits_printer;
	int limits_line;		/* first line that set a limit, 0 = none */
	/* Facts about the file itself, for the ownership checks of
	 * supervisor/owner.c: the fstat of the descriptor that was parsed
	 * (so what is checked is what was read), and the line of each key
	 * that names a file (0 = unset). */
	uint32_t conf_uid, conf_mode;
	int kind_line[JB_KINDS_MAX];	/* [workers]/[printers] key of row i */
	int recipes_dir_line;
	/* [NAME] of each row with settings (kind.h): the values the file set,
	 * NUL-terminated in set_pool (off 0: not set, its default applies) */
	char set_pool[JB_CONF_SET_POOL];
	uint32_t set_used;
	struct {
		uint32_t off;
		int line;
	} set_val[JB_KINDS_MAX][JB_SET_KEYS_MAX];
};

#define JB_CONF_AUDIT_FILE "/var/log/jibril/audit.log"
#define JB_CONF_STATUS_SOCKET "/run/jibril/status.sock"
#define JB_CONF_STATUS_SOCKET_MAX 107	/* sizeof(sun_path) - 1 */
#define JB_CONF_AUDIT_KEY "/var/lib/jibril/audit.key"
#define JB_CONF_PRIVACY_KEY "/var/lib/jibril/privacy.key"

/* Defaults, as documented in jibril.conf. */
void jb_config_defaults(struct jb_config *c);
/* Every key this parser knows, for the documentation tests: the i-th
 * one's name and, in *section, its section; NULL past the last. */
const char *jb_config_key_at(size_t i, const char **section);

/* The enable flag of the boolean kind named name (a row of jb_kinds), or
 * NULL when there is no such row. */
int *jb_config_kind(struct jb_config *c, const char *name);
/* Its value, or -1 when there is no such row. */
int jb_config_kind_on(const struct jb_config *c, const char *name);
/* Does c enable row k (its flag, or its path not empty; a row jb_kinds
 * does not have: its default)? */
int jb_config_kind_enabled(const struct jb_config *c, const struct jb_kind *k);
/* The section of row k's key: [workers] or [printers]. */
const char *jb_config_kind_section(const struct jb_kind *k);

/* Key i of row kind_index's own section (jb_kinds[kind_index].settings):
 * the value the file set, else its default ("" for a required key left
 * unset); *line (if line) its line, 0 when not set. */
const char *jb_config_setting(const struct jb_config *c, size_t kind_index, size_t i, int *line);
/* The same by key name; NULL when the row has no such key. */
const char *jb_config_setting_get(const struct jb_config *c, size_t kind_index, const char *name,
				  int *line);
/* A U32 or BYTES value as a number (what the child is handed). 0 or -1. */
int jb_config_setting_num(const struct jb_setting *k, const char *v, uint64_t *out);
/* 1 when a and b differ in any row's own section. */
int jb_config_settings_differ(const struct jb_config *a, const struct jb_config *b);

/* The PRV_* fields row kind_index's printer pseudonymises under c (0:
 * none: its lines go out as the workers built them). */
uint32_t jb_config_privacy(const struct jb_config *c, size_t kind_index);

/* The [limits] of a role (IPC_ROLE_WORKER or IPC_ROLE_PRINTER). */
const struct jb_limits *jb_config_limits(const struct jb_config *c, uint32_t role);

/* Can the children take their ids (child_uid_base + row)? None may be
 * known to the account database (another user could own it) and each
 * must be mapped in our user namespace. Called before start-up and by
 * --check-config, not on SIGHUP (an NSS lookup may block, and the ids
 * change only at a restart). 0, or -1 with "file[:line]: ..." in err. */
int jb_config_check_ids(const struct jb_config *c, const char *path, char *err, size_t errlen);

/* Parse 'path' into c (which must hold defaults). Returns 0, or -1 with
 * "file:line: what is wrong" (or "file: why it cannot be read") in err. */
int jb_config_load(struct jb_config *c, const char *path, char *err, size_t errlen);

#endif
