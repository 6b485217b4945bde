/*
 * kinds.c - the table of child kinds (common/kind.h): one row per kind,
 * and the supervisor hooks of the two roles.
 *
 * Everything that differs between kinds is in its row: the executable
 * the supervisor starts it from, the entry point that child runs, its
 * seccomp policy and writable fds, the descriptor it is handed, how
 * jibril.conf enables it ([workers] or [printers] <name>), what a worker
 * walks and which recipe mechanisms it runs, a printer's output, and the
 * hooks below. common/child_main.c dispatches --kind through it, config.c
 * derives its keys from it, procs.c makes a slot per enabled row. Adding a
 * kind is adding a row here and the file that implements it
 * (docs/ARCHITECTURE.md, "Adding a kind").
 *
 * Invariants:
 *  - names are unique and valid config keys (a-z, 0-9, _), at most
 *    JB_KINDS_MAX rows (check_procs proves both);
 *  - every recipe mechanism runs in exactly one worker kind (the router
 *    refuses a detection from a worker whose row lacks its mechanism).
 *  - this file is compiled once per binary (Makefile): for the supervisor
 *    every field is set; for a child binary (-DJB_KINDS_WORKER, ...) every
 *    row keeps its name, role, bin and data, but only the rows of that
 *    binary name code (entry, output, settings: the macros below) and no
 *    row has supervisor hooks. So jibril-worker links no curl, a printer
 *    no pcre2, and no child libbpf. A row whose bin and macro disagree has
 *    no entry in its own binary, which refuses to start it (child_main.c).
 */
#include <stddef.h>
#include <string.h>

#include "common/child.h"
#include "common/sandbox.h"
#include "exporter/exporter.h"
#include "printers/nats.h"
#include "printers/printer.h"
#include "rcp/recipe.h"
#include "supervisor/exporter.h"
#include "supervisor/outfile.h"
#include "supervisor/sup.h"

#define MECH(m) (1u << (m))

#if defined(JB_KINDS_WORKER) || defined(JB_KINDS_PRINTER) || defined(JB_KINDS_NETPRINTER) || \
	defined(JB_KINDS_EXPORTER)
#define CHILD_BIN 1
#endif
#ifdef CHILD_BIN
#define SUPERVISOR(x) NULL
#else
#define SUPERVISOR(x) x
#endif
#if !defined(CHILD_BIN) || defined(JB_KINDS_WORKER)
#define WORKER(x) x
#else
#define WORKER(x) NULL
#endif
#if !defined(CHILD_BIN) || defined(JB_KINDS_PRINTER)
#define PRINTER(x) x
#else
#define PRINTER(x) NULL
#endif
#if !defined(CHILD_BIN) || defined(JB_KINDS_NETPRINTER)
#define NETPRINTER(x) x
#else
#define NETPRINTER(x) NULL
#endif
#if !defined(CHILD_BIN) || defined(JB_KINDS_EXPORTER)
#define EXPORTER(x) x
#else
#define EXPORTER(x) NULL
#endif

const char *const jb_bin_names[JB_BIN_N] = {
	[JB_BIN_WORKER] = "jibril-worker",
	[JB_BIN_PRINTER] = "jibril-printer",
	[JB_BIN_NETPRINTER] = "jibril-netprinter",
	[JB_BIN_EXPORTER] = "jibril-exporter",
};

#if defined(JB_KINDS_WORKER)
const int jb_kinds_bin = JB_BIN_WORKER;
#elif defined(JB_KINDS_PRINTER)
const int jb_kinds_bin = JB_BIN_PRINTER;
#elif defined(JB_KINDS_NETPRINTER)
const int jb_kinds_bin = JB_BIN_NETPRINTER;
#elif defined(JB_KINDS_EXPORTER)
const int jb_kinds_bin = JB_BIN_EXPORTER;
#else
const int jb_kinds_bin = -1;
#endif

#ifndef CHILD_BIN /* the supervisor's hooks */

/* --- workers: snapshots in, detections out -------------------------------- */

static int worker_configured(struct sup *s, struct sup_proc *p, const char **why)
{
	if (sup_recipes_send(&s->recipes, p->peer) < 0) {
		*why = "cannot send the recipes";
		return -1;
	}
	return 0;
}

static int worker_message(struct sup *s, struct sup_proc *p, const struct ipc_msg *m,
			  const char **why)
{
	switch (m->type) {
	case IPC_SNAPSHOT_DONE:
		return sup_collector_done(s, p, m->u.done.seq, why);
	case IPC_DETECTION:
		return sup_router_detection(s, p, m->u.detection.kind, m->u.detection.dedup_key,
					    m->u.detection.json, m->u.detection.json_len,
					    m->u.detection.limits, why);
	}
	*why = "unexpected message";
	return -1;
}

static void worker_reload(struct sup *s, struct sup_proc *p)
{
	if (sup_recipes_send(&s->recipes, p->peer) < 0)
		sup_proc_kill(s, p, "cannot send the new recipes");
}

static const struct sup_hooks worker_hooks = {
	.configured = worker_configured,
	.ready = sup_collector_catch_up,
	.message = worker_message,
	.gone = sup_collector_proc_gone,
	.reload = worker_reload,
};

/* --- printers: lines in, acknowledgements out ------------------------------ */

static int printer_message(struct sup *s, struct sup_proc *p, const struct ipc_msg *m,
			   const char **why)
{
	if (m->type == IPC_PRINTED)
		return sup_router_printed(s, p, m->u.printed.seq, why);
	if (m->type == IPC_LOSS)
		return sup_router_loss(s, p, m->u.loss.cause, m->u.loss.count, m->u.loss.detail);
	if (m->type == IPC_PRN_STATS) {
		sup_status_prn_stats(p, m);
		return 0;
	}
	*why = "unexpected message";
	return -1;
}

static const struct sup_hooks printer_hooks = {
	.ready = sup_router_printer_ready,
	.message = printer_message,
	.gone = sup_router_printer_gone,
	.drain = sup_router_drain,
};

/* The summary printer: a printer, and its summaries (IPC_SUMMARY, which
 * every other printer kind is killed for) become detection_summary
 * events for the other printers. */
static int summary_printer_message(struct sup *s, struct sup_proc *p, const struct ipc_msg *m,
				   const char **why)
{
	if (m->type == IPC_SUMMARY)
		return sup_summary_event(s, p, m, why);
	return printer_message(s, p, m, why);
}

static const struct sup_hooks summary_printer_hooks = {
	.ready = sup_router_printer_ready,
	.message = summary_printer_message,
	.gone = sup_router_printer_gone,
	.drain = sup_router_drain,
};

/* A printer whose output is a file the supervisor opened: the same, and
 * the file is rotated by size or reopened on SIGUSR1 (outfile.c). */
static int file_printer_message(struct sup *s, struct sup_proc *p, const struct ipc_msg *m,
				const char **why)
{
	if (printer_message(s, p, m, why) < 0)
		return -1;
	if (m->type == IPC_PRINTED)
		sup_outfile_printed(s, p);
	return 0;
}

static void file_printer_ready(struct sup *s, struct sup_proc *p)
{
	sup_router_printer_ready(s, p);
	sup_outfile_ready(s, p);
}

static void file_printer_gone(struct sup *s, struct sup_proc *p)
{
	sup_router_printer_gone(s, p);
	sup_outfile_gone(s, p);
}

static size_t file_printer_drain(struct sup *s, struct sup_proc *p)
{
	sup_outfile_drain(s, p);
	return sup_router_drain(s, p);
}

static const struct sup_hooks file_printer_hooks = {
	.ready = file_printer_ready,
	.message = file_printer_message,
	.gone = file_printer_gone,
	.drain = file_printer_drain,
};

#endif /* !CHILD_BIN */

/* --- the table -------------------------------------------------------------- */

const struct jb_kind jb_kinds[] = {
	{
		.name = "file_access",
		.role = IPC_ROLE_WORKER,
		.bin = JB_BIN_WORKER,
		.entry = WORKER(wrk_main),
		.policy = &jb_policy_worker,
		.aux = JB_AUX_SNAPSHOT,
		.enable = JB_EN_ON,
		.source = JB_SRC_LINKS,
		.mechs = MECH(RCP_FILE_ACCESS),
		.hooks = SUPERVISOR(&worker_hooks),
	},
	{
		.name = "execution",
		.role = IPC_ROLE_WORKER,
		.bin = JB_BIN_WORKER,
		.entry = WORKER(wrk_main),
		.policy = &jb_policy_worker,
		.aux = JB_AUX_SNAPSHOT,
		.enable = JB_EN_ON,
		.source = JB_SRC_EXECS,
		.mechs = MECH(RCP_EXECUTION) | MECH(RCP_ENV_VARS),
		.hooks = SUPERVISOR(&worker_hooks),
	},
	{
		.name = "network",
		.role = IPC_ROLE_WORKER,
		.bin = JB_BIN_WORKER,
		.entry = WORKER(wrk_main),
		.policy = &jb_policy_worker,
		.aux = JB_AUX_SNAPSHOT,
		.enable = JB_EN_ON,
		.source = JB_SRC_FLOWS,
		.mechs = MECH(RCP_NETWORK_PEERS),
		.hooks = SUPERVISOR(&worker_hooks),
	},
	{
		/* somebody acting on the agent: the tamper section */
		.name = "tamper",
		.role = IPC_ROLE_WORKER,
		.bin = JB_BIN_WORKER,
		.entry = WORKER(wrk_main),
		.policy = &jb_policy_worker,
		.aux = JB_AUX_SNAPSHOT,
		.enable = JB_EN_ON,
		.source = JB_SRC_TAMPER,
		.mechs = MECH(RCP_TAMPER),
		.hooks = SUPERVISOR(&worker_hooks),
	},
	{
		.name = "stdout",
		.role = IPC_ROLE_PRINTER,
		.bin = JB_BIN_PRINTER,
		.entry = PRINTER(prn_main),
		.policy = &jb_policy_printer_stdout,
		.aux = JB_AUX_NONE,
		.operator_stdout = 1,
		.enable = JB_EN_ON,
		.output = PRINTER(&prn_stdout),
		.hooks = SUPERVISOR(&printer_hooks),
	},
	{
		.name = "file",
		.role = IPC_ROLE_PRINTER,
		.bin = JB_BIN_PRINTER,
		.entry = PRINTER(prn_main),
		.policy = &jb_policy_printer_file,
		.aux = JB_AUX_OUTPUT,
		.enable = JB_EN_PATH,
		.path_off = offsetof(struct jb_config, printer_file),
		.output = PRINTER(&prn_file),
		.hooks = SUPERVISOR(&file_printer_hooks),
	},
	{
		/* detections to an HTTPS endpoint, through a disk spool */
		.name = "https",
		.role = IPC_ROLE_PRINTER,
		.bin = JB_BIN_NETPRINTER,
		.entry = NETPRINTER(prn_main),
		.policy = &jb_policy_printer_https,
		.aux = JB_AUX_DIR,
		.enable = JB_EN_OFF,
		.output = NETPRINTER(&prn_https),
		.settings = NETPRINTER(&prn_https_settings),
		.max_fds = 32,
		.hooks = SUPERVISOR(&printer_hooks),
	},
	{
		/* a fleet's event bus: NATS JetStream, spool on disk */
		.name = "nats",
		.role = IPC_ROLE_PRINTER,
		.bin = JB_BIN_NETPRINTER,
		.entry = NETPRINTER(prn_main),
		.policy = &jb_policy_printer_nats,
		.aux = JB_AUX_DIR,
		.enable = JB_EN_OFF,
		.output = NETPRINTER(&prn_nats),
		.settings = NETPRINTER(&prn_nats_settings),
		.max_fds = 64, /* sockets to the servers, spool segments, libnats' pipes */
		.hooks = SUPERVISOR(&printer_hooks),
	},
	{
		/* a digest of the detections to an OpenAI-compatible endpoint,
		 * its answer back as a detection_summary event */
		.name = "summary",
		.role = IPC_ROLE_PRINTER,
		.bin = JB_BIN_NETPRINTER,
		.entry = NETPRINTER(prn_main),
		.policy = &jb_policy_printer_summary,
		.aux = JB_AUX_NONE,
		.enable = JB_EN_OFF,
		.output = NETPRINTER(&prn_summary),
		.pseudonymise = 1, /* its digest leaves the host: [privacy] clear = summary to opt out */
		.settings = NETPRINTER(&prn_summary_settings),
		.max_fds = 16, /* curl's socket and wake-up pair, libevent's */
		.hooks = SUPERVISOR(&summary_printer_hooks),
	},
	{
		/* /metrics and /healthz over HTTP on a socket the supervisor bound */
		.name = "exporter",
		.role = IPC_ROLE_EXPORTER,
		.bin = JB_BIN_EXPORTER,
		.entry = EXPORTER(exp_main),
		.policy = &jb_policy_exporter,
		.aux = JB_AUX_LISTEN,
		.enable = JB_EN_SETTING, /* [exporter] listen not empty */
		.settings = EXPORTER(&exp_settings),
		.max_fds = 128, /* the clients it serves at once */
		.hooks = SUPERVISOR(&sup_exporter_hooks),
	},
};
const size_t jb_nkinds = sizeof(jb_kinds) / sizeof(jb_kinds[0]);
_Static_assert(sizeof(jb_kinds) / sizeof(jb_kinds[0]) <= JB_KINDS_MAX, "too many kinds");

const struct jb_kind *jb_kind_find(const struct jb_kind *kinds, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(kinds[i].name, name))
			return &kinds[i];
	return NULL;
}
