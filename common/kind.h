/*
 * kind.h - one row per kind of child process, in the spirit of OpenBSD
 * httpd's procs[] and Postfix's master.cf: everything the supervisor and
 * the child itself need to know about a kind lives in its row. The table is
 * supervisor/kinds.c; adding a kind is adding a row there and the file that
 * implements it (docs/ARCHITECTURE.md lists the steps).
 *
 * Read by both sides: the supervisor spawns, configures and supervises a
 * slot per enabled row, executing the row's binary; that child binary
 * (common/child_main.c) finds its row by name (--kind) and runs
 * row->entry. Each binary is built with its own copy of the table, in
 * which only its rows name code (kinds.c): a child links its kinds' code
 * and libraries, nothing else.
 */
#ifndef JB_KIND_H
#define JB_KIND_H

#include <stddef.h>
#include <stdint.h>

struct jb_policy;	/* common/sandbox.h: the seccomp table and writable fds */
struct prn_output;	/* printers/printer.h */
struct sup_hooks;	/* supervisor/sup.h */

/* The descriptor a child gets as fd 4 (JB_CHILD_AUX_FD), if any. */
enum jb_aux {
	JB_AUX_NONE = 0,
	JB_AUX_SNAPSHOT,	/* the sealed snapshot, read-only (workers) */
	JB_AUX_OUTPUT,		/* an append-only file the supervisor opened (file printer) */
	JB_AUX_DIR,		/* a directory of the kind's own: its JB_SET_DIR setting,
				 * made by the supervisor, owned by the kind's uid, 0700 */
	JB_AUX_LISTEN,		/* a TCP socket the supervisor bound and listens on at
				 * start-up and keeps across restarts (the exporter) */
};

/* The type of one key of a kind's own section ([NAME], its settings). */
enum jb_set_type {
	JB_SET_STR = 0,	/* text, at most max bytes (min: at least) */
	JB_SET_U32,	/* decimal, min..max */
	JB_SET_BYTES,	/* a size: digits and an optional K, M or G, min..max bytes */
	JB_SET_SECRET,	/* an absolute path to a file root owns, mode 0600 or 0400: the
			 * supervisor reads it (at most max bytes) and the child gets its
			 * content, never the path */
	JB_SET_FILE,	/* the same for a file root owns that others may read but not
			 * write (a CA bundle): its content, at most max bytes */
	JB_SET_DIR,	/* an absolute path: the kind's own directory, made if missing
			 * (its parents root's), owned by the kind's uid, mode 0700; the
			 * child gets it as fd 4 (JB_AUX_DIR). One per kind. */
};

/* One key of a kind's section. dflt NULL: required when the kind is on. */
struct jb_setting {
	const char *name;
	enum jb_set_type type;
	const char *dflt;
	uint64_t min, max;
};

/* A kind's own section of jibril.conf, [NAME]: its keys, and the checks
 * between them (run by config.c in the supervisor; vals[i] is keys[i]'s
 * value, its default when not set). check returns 0, or -1 with a sentence
 * in err and *bad the index of the key at fault. The supervisor hands the
 * child every value, with SECRET and FILE keys replaced by the files'
 * contents, as a sealed memfd on fd 5 (JB_CHILD_SETTINGS_FD; common/
 * settings.h), read in the child's setup before confinement. */
struct jb_settings_def {
	const struct jb_setting *keys;
	size_t nkeys;
	int (*check)(const char *const *vals, size_t *bad, char *err, size_t errlen);
};
#define JB_SET_KEYS_MAX 32

/* How jibril.conf enables a kind: the key is the row's name in [workers]
 * (workers) or [printers] (printers), or its own section's first key. */
enum jb_enable {
	JB_EN_ON = 0,		/* boolean, default yes */
	JB_EN_OFF,		/* boolean, default no */
	JB_EN_PATH,		/* an absolute path, enabled when not empty */
	JB_EN_SETTING,		/* no [workers]/[printers] key: enabled when the first
				 * key of its own section [NAME] is not empty */
};

/* The executables of the children: which one a kind runs is a column of
 * its row. Names in jb_bin_names (kinds.c); the supervisor finds them by
 * the rule of supervisor/bins.c. */
enum jb_bin {
	JB_BIN_WORKER = 0,	/* jibril-worker: snapshots, recipes (pcre2, yaml) */
	JB_BIN_PRINTER,		/* jibril-printer: the local printers (stdout, file) */
	JB_BIN_NETPRINTER,	/* jibril-netprinter: curl, nats, TLS (https, nats, summary) */
	JB_BIN_EXPORTER,	/* jibril-exporter: libevent's http */
	JB_BIN_N
};
extern const char *const jb_bin_names[JB_BIN_N];

/* What the supervisor tells a re-executed child on its command line. */
struct jb_child_args {
	uint64_t generation;	/* the slot's spawn count: HELLO must repeat it */
	uint32_t uid;		/* the kind's own uid and gid (never 0) */
};

/* Which records of a snapshot a worker walks. */
enum jb_source { JB_SRC_LINKS = 0, JB_SRC_EXECS, JB_SRC_FLOWS, JB_SRC_TAMPER };

struct jb_kind {
	const char *name;	/* --kind, the config key, log prefix, comm "jb-NAME" */
	uint32_t role;		/* IPC_ROLE_WORKER, IPC_ROLE_PRINTER or IPC_ROLE_EXPORTER */
	enum jb_bin bin;	/* the executable the supervisor starts it from */
	/* the child: entry point after the exec (never returns; NULL in the
	 * table of another binary than the row's), and the
	 * seccomp allow-list with the only fds it may write to */
	void (*entry)(const struct jb_kind *k, const struct jb_child_args *a);
	const struct jb_policy *policy;
	/* descriptors: fd 4, and whether fd 1 is the operator's stdout (else
	 * /dev/null: only a printer whose output is stdout holds it) */
	enum jb_aux aux;
	int operator_stdout;
	/* configuration */
	enum jb_enable enable;
	size_t path_off;	/* JB_EN_PATH: offsetof(struct jb_config, its path) */
	/* workers: the records walked and the recipe mechanisms run (bit
	 * per enum rcp_mech) */
	enum jb_source source;
	uint32_t mechs;
	/* printers: where lines go, and whether they are pseudonymised
	 * when [privacy] does not name the kind (clear = NAME opts it out) */
	const struct prn_output *output;
	int pseudonymise;
	/* its own section [NAME] and what the child is handed (NULL: none) */
	const struct jb_settings_def *settings;
	/* RLIMIT_NOFILE of the child (0: 8, what fds 0-4 and libevent need) */
	int max_fds;
	/* the supervisor's side: configured, ready, messages, gone */
	const struct sup_hooks *hooks;
};

/* The table (supervisor/kinds.c), in spawn order, and the binary this copy
 * of it was built for (-1: the supervisor's, with every row's code). */
extern const struct jb_kind jb_kinds[];
extern const size_t jb_nkinds;
extern const int jb_kinds_bin;
#define JB_KINDS_MAX 16

/* The row named name in kinds[0..n), or NULL. */
const struct jb_kind *jb_kind_find(const struct jb_kind *kinds, size_t n, const char *name);

#endif
