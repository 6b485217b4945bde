/*
 * config.h - jibril.conf, parsed once with inih before anything is loaded.
 */
#ifndef JB_CONFIG_H
#define JB_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define JB_CONF_ERR_MAX 512

struct jb_config {
	/* [agent] */
	uint32_t cadence_ms;		/* map query cadence, 50..60000 */
	uint32_t heartbeat_ms;		/* child heartbeat interval, 50..60000 */
	uint32_t heartbeat_deadline_ms;	/* no heartbeat for this long: hung */
	uint32_t handshake_ms;		/* HELLO..READY must finish within */
	int log_level;			/* 0 err 1 warn 2 info 3 debug */

	/* [maps] max entries */
	uint32_t map_tasks;
	uint32_t map_files;
	uint32_t map_links;
	uint32_t map_flows;
	/* protected maps for watched (sensitive) files: noise cannot evict */
	uint32_t map_hot_tasks;
	uint32_t map_hot_files;
	uint32_t map_hot_links;

	/* [workers] which mechanisms run */
	int worker_file_access;
	int worker_execution;
	int worker_network;

	/* [printers] */
	int printer_stdout;
	char printer_file[4096];	/* "" = no file printer */

	/* [restart] */
	uint32_t backoff_initial_ms;
	uint32_t backoff_max_ms;
	uint32_t stable_ms;		/* up this long: backoff resets */

	/* [recipes] */
	char recipes_dir[4096];		/* "" = built-in recipes only */
	char recipes_disable[4096];	/* kinds, separated by spaces or commas */
	int recipes_disable_line;	/* line of 'disable' in the file, 0 = unset */
	uint32_t summary_s;		/* suppression summary period */

	/* [debug] */
	int fault_hooks;		/* test-only worker fault hooks */
};

/* Defaults, as documented in jibril.conf. */
void jb_config_defaults(struct jb_config *c);

/* Parse 'path' into c (which must hold defaults). Returns 0, or -1 with
 * "file:line: what is wrong" (or "file: why it cannot be read") in err. */
int jb_config_load(struct jb_config *c, const char *path, char *err, size_t errlen);

#endif
