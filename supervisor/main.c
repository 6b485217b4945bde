/*
 * main.c - the jibril binary: the supervisor and the command line. Its
 * sandboxed children are executables of their own (common/child_main.c,
 * found and opened by supervisor/bins.c).
 *
 * Supervisor start-up order, every step fatal with one clear sentence:
 * configuration and recipes (nothing is loaded before both are valid) ->
 * preflight (root, BTF, tracefs) -> the children's executables, checked
 * and held open (bins.c) -> the children's cgroups -> BPF load/attach ->
 * back-fill from /proc -> snapshot region -> children -> event loop. SIGINT/SIGTERM print the pending
 * suppression summaries, stop the children, detach every program and exit
 * 0. SIGHUP re-reads the configuration and the recipes: if both are valid
 * the new recipes are sent to the workers (kernel state and the BPF object
 * stay as they are); if not, the running set stays and the log says why.
 * SIGUSR1 reopens an output file someone renamed (logrotate; outfile.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/child.h"
#include "common/landlock.h"
#include "common/log.h"
#include "loader.h"
#include "privdrop.h"
#include "sup.h"
#include "supervisor/audit.h"
#include "supervisor/cgroup.h"
#include "supervisor/exporter.h"
#include "supervisor/limits.h"
#include "supervisor/notify.h"
#include "supervisor/outfile.h"
#include "supervisor/owner.h"
#include "supervisor/privacy.h"
#include "supervisor/status_cli.h"

#define JIBRIL_VERSION "0.1.0"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: jibril [--config FILE]\n"
		"       jibril --check-config FILE\n"
		"       jibril [--config FILE] --list-recipes\n"
		"       jibril [--config FILE] --verify-audit FILE [--audit-key KEYFILE]\n"
		"       jibril [--config FILE] --unload\n"
		"       jibril [--config FILE] --reveal VALUE [--type user|uid|host|ip]\n"
		"       jibril status [--json] [--conf FILE]\n"
		"       jibril --help | --version\n"
		"\n"
		"Runtime security agent: eBPF programs keep what tasks do in kernel maps;\n"
		"the supervisor queries them on a cadence and sandboxed workers turn them\n"
		"into detections, printed as JSON lines.\n"
		"\n"
		"  -c, --config FILE        run with this configuration (default /etc/jibril/jibril.conf)\n"
		"  -n, --check-config FILE  validate FILE and the recipes it names, print\n"
		"                           'FILE: ok' or the error, and exit\n"
		"  -L, --list-recipes       print every recipe loaded with the configuration\n"
		"                           (kind, mechanism, importance, enabled, source)\n"
		"      --verify-audit FILE  check the audit log FILE (every record's HMAC, the\n"
		"                           chain, its end against the anchor): print 'FILE: ok:\n"
		"                           N records' or the first bad record; exit 0, or 65\n"
		"                           when it is bad, 66 when it cannot be read\n"
		"      --audit-key KEYFILE  its key (default: [audit] key of the configuration)\n"
		"      --unload             remove the kernel side left pinned by a supervisor\n"
		"                           that crashed, was killed or kept it ([bpf] pin_dir,\n"
		"                           keep_on_stop): the programs detach; refused while\n"
		"                           a supervisor runs\n"
		"      --reveal VALUE       (root) print the pseudonym VALUE becomes under the\n"
		"                           [privacy] key, for each type it can be (or --type's),\n"
		"                           as TYPE<tab>PSEUDONYM: search the events for it\n"
		"      --type T             user, uid, host or ip\n"
		"  status                   (root) ask the running agent through its status socket\n"
		"                           ([agent] status_socket) and print every child, map\n"
		"                           fill, losses and printer backlogs; exit 69 when no\n"
		"                           agent answers\n"
		"      --json               print the status document as it came (status.h)\n"
		"      --conf FILE          the same as --config\n"
		"  -h, --help               this text\n"
		"  -V, --version            print the version\n");
}

static struct sup sup;

static struct timeval ms_tv(uint32_t ms);

/* A fatal error after the cgroups were made must not leave them behind. */
static void cgroups_atexit(void)
{
	sup_cgroup_free(&sup);
}

/* A start that fails after the status socket was made (a config error
 * further on, another agent holding the pins, fatalx) removes it: the
 * normal stop closed it already. Only in the process that made it. */
static pid_t statsock_pid;
static void statsock_atexit(void)
{
	if (getpid() == statsock_pid)
		sup_statsock_close(&sup);
}

/* SIGHUP: all or nothing. */
static void reload(void)
{
	struct jb_config cfg;
	struct sup_recipes r;
	char err[1024];
	struct timeval tv;

	jb_config_defaults(&cfg);
	if (jb_config_load(&cfg, sup.conf_path, err, sizeof(err)) < 0 ||
	    sup_owner_check(&cfg, sup.conf_path, sup.kinds, sup.nkinds, err, sizeof(err)) < 0 ||
	    sup_recipes_load(&cfg, sup.conf_path, &r, err, sizeof(err)) < 0) {
		log_warnx("SIGHUP: reload refused, the running configuration and recipes stay: %s",
			  err);
		sup_audit_refused(&sup, err);
		return;
	}
	/* what lives in the kernel or in the process table needs a restart */
	if (cfg.map_tasks != sup.cfg.map_tasks || cfg.map_files != sup.cfg.map_files ||
	    cfg.map_links != sup.cfg.map_links || cfg.map_flows != sup.cfg.map_flows ||
	    cfg.map_hot_tasks != sup.cfg.map_hot_tasks || cfg.map_hot_files != sup.cfg.map_hot_files ||
	    cfg.map_hot_links != sup.cfg.map_hot_links ||
	    memcmp(cfg.kind_on, sup.cfg.kind_on, sizeof(cfg.kind_on)) ||
	    strcmp(cfg.printer_file, sup.cfg.printer_file) || cfg.fault_hooks != sup.cfg.fault_hooks ||
	    cfg.child_uid_base != sup.cfg.child_uid_base ||
	    cfg.tamper_raw_hook != sup.cfg.tamper_raw_hook || cfg.bpf_backend != sup.cfg.bpf_backend ||
	    jb_config_settings_differ(&cfg, &sup.cfg))
		log_warnx("SIGHUP: changes to [maps], [workers], [printers], [debug], [tamper], [bpf], "
			  "a kind's own section and child_uid_base take effect at the next start; the "
			  "rest is applied now");
	if (strcmp(cfg.audit_file, sup.cfg.audit_file) || strcmp(cfg.audit_key, sup.cfg.audit_key))
		log_warnx("SIGHUP: [audit] changes take effect at the next start");
	if (cfg.privacy_printers != sup.cfg.privacy_printers ||
	    cfg.privacy_clear != sup.cfg.privacy_clear || cfg.privacy_fields != sup.cfg.privacy_fields ||
	    cfg.privacy_ipv4_prefix != sup.cfg.privacy_ipv4_prefix ||
	    cfg.privacy_ipv6_prefix != sup.cfg.privacy_ipv6_prefix ||
	    strcmp(cfg.privacy_key, sup.cfg.privacy_key))
		log_warnx("SIGHUP: [privacy] changes take effect at the next start (the printers "
			  "keep the policy and key they were started with)");
	if (strcmp(cfg.status_socket, sup.cfg.status_socket))
		log_warnx("SIGHUP: [agent] status_socket changes take effect at the next start");
	if (memcmp(&cfg.limits_worker, &sup.cfg.limits_worker, sizeof(cfg.limits_worker)) ||
	    memcmp(&cfg.limits_printer, &sup.cfg.limits_printer, sizeof(cfg.limits_printer)))
		log_warnx("SIGHUP: [limits] changes take effect at the next start");
	if (cfg.heartbeat_ms != sup.cfg.heartbeat_ms ||
	    cfg.heartbeat_deadline_ms != sup.cfg.heartbeat_deadline_ms)
		log_info("SIGHUP: the new heartbeat period and deadline apply to children started "
			 "from now on; running children keep theirs");
	/* re-arm a timer only when its period changed: a tool that sends
	 * SIGHUP often must not postpone cadences or summaries forever */
	int cadence_changed = cfg.cadence_ms != sup.cfg.cadence_ms,
	    summary_changed = cfg.summary_s != sup.cfg.summary_s;
	sup.cfg.cadence_ms = cfg.cadence_ms;
	sup.cfg.heartbeat_ms = cfg.heartbeat_ms;
	sup.cfg.heartbeat_deadline_ms = cfg.heartbeat_deadline_ms;
	sup.cfg.handshake_ms = cfg.handshake_ms;
	sup.cfg.backoff_initial_ms = cfg.backoff_initial_ms;
	sup.cfg.backoff_max_ms = cfg.backoff_max_ms;
	sup.cfg.stable_ms = cfg.stable_ms;
	sup.cfg.throttle_ms = cfg.throttle_ms;
	sup.cfg.log_level = cfg.log_level;
	sup.cfg.summary_s = cfg.summary_s;
	sup.cfg.backlog_bytes = cfg.backlog_bytes; /* the router reads it at each line */
	sup.cfg.file_max_bytes = cfg.file_max_bytes; /* outfile.c reads them at each check */
	sup.cfg.file_keep = cfg.file_keep;
	memcpy(sup.cfg.recipes_dir, cfg.recipes_dir, sizeof(cfg.recipes_dir));
	memcpy(sup.cfg.recipes_disable, cfg.recipes_disable, sizeof(cfg.recipes_disable));
	sup.cfg.recipes_disable_line = cfg.recipes_disable_line;
	log_setlevel(cfg.log_level);
	if (cadence_changed) {
		tv = ms_tv(sup.cfg.cadence_ms);
		event_add(sup.ev_cadence, &tv);
	}
	if (summary_changed) {
		tv = ms_tv(sup.cfg.summary_s * 1000);
		event_add(sup.ev_summary, &tv);
	}
	sup_recipes_free(&sup.recipes);
	sup.recipes = r;
	/* the environment variables the kernel records follow the recipes */
	if (sup.bpf)
		jb_bpf_env_names(sup.bpf, &sup.recipes.set);
	sup_procs_reload(&sup);
	sup_audit_config(&sup, "reload", NULL);
	log_info("SIGHUP: reloaded %s: %zu recipes, %zu enabled", sup.conf_path, sup.recipes.set.n,
		 sup_recipes_enabled(&sup.recipes));
}

/* The last query at shutdown: done once every worker examined it (one
 * that died meanwhile is restarted for it) and no printer is restarting
 * (it prints it after the loop), or after STOP_FLUSH_MS whatever happens. */
#define STOP_FLUSH_MS 1500

static int printers_returning(void)
{
	int n = 0;

	for (int i = 0; i < sup.nprocs; i++)
		n += sup.procs[i].kind->role == IPC_ROLE_PRINTER && sup_proc_returning(&sup.procs[i]);
	return n;
}

static void on_flush(evutil_socket_t fd, short what, void *arg)
{
	if (sup_collector_flush(&sup, &sup.stop_final_seq) && !printers_returning()) {
		event_base_loopbreak(sup.base);
		return;
	}
	if (sup_now_ms() - sup.stopping_since_ms >= STOP_FLUSH_MS) {
		log_warnx("the last query was not examined by every worker (or a printer was not "
			  "back) within %d ms", STOP_FLUSH_MS);
		event_base_loopbreak(sup.base);
	}
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	if (sig == SIGCHLD) {
		sup_procs_reap(&sup);
		sup_router_pump(&sup);
		return;
	}
	if (sig == SIGHUP) {
		sup_notify_reloading(&sup);
		reload();
		sup_notify_reloaded(&sup);
		return;
	}
	if (sig == SIGUSR1) {
		/* logrotate's postrotate: reopen what it renamed (outfile.c) */
		sup_outfile_signal(&sup);
		return;
	}
	if (sup.stopping_since_ms) {
		log_info("signal %d again: stopping now", (int)sig);
		event_base_loopbreak(sup.base);
		return;
	}
	/* what happened up to now (the signal's sender among it: a tamper
	 * record) is examined and printed before the workers stop */
	log_info("signal %d: stopping after a last query", (int)sig);
	sup_notify_stopping(&sup);
	sup_audit(&sup, "shutdown", json_pack("{s:i,s:s}", "signal", (int)sig, "name", strsignal(sig)));
	sup.stopping_since_ms = sup_now_ms();
	sup_procs_flush_begin(&sup);
	on_flush(-1, 0, NULL);
	if (sup.stopping_since_ms) {
		struct timeval tv = ms_tv(20);

		event_add(sup.ev_flush, &tv);
	}
}

static void on_cadence(evutil_socket_t fd, short what, void *arg)
{
	sup_collector_tick(&sup);
	sup_notify_cadence(&sup);
	sup_router_pump(&sup);
	sup_exporter_push(&sup);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	sup_procs_tick(&sup);
}

static void on_summary(evutil_socket_t fd, short what, void *arg)
{
	sup_router_summary(&sup);
}

static void read_boot_id(char *out, size_t len)
{
	int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, out, len - 1) : -1;

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		n = 0;
	out[n] = '\0';
	out[strcspn(out, "\n")] = '\0';
}

static struct timeval ms_tv(uint32_t ms)
{
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
	return tv;
}

static int run_supervisor(const char *config_path)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGCHLD, SIGHUP, SIGUSR1};
	struct event *sev[5];
	struct jb_bpf bpf;
	char err[1024], path[64];
	struct timeval tv;
	sigset_t usr1;
	int n;

	/* SIGUSR1 (logrotate's postrotate) would end us until the loop takes
	 * it: held back until then, and acted on then */
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, NULL);

	sup.started_s = (int64_t)time(NULL);
	sup.started_ms = sup_now_ms();
	jb_config_defaults(&sup.cfg);
	if (jb_config_load(&sup.cfg, config_path, err, sizeof(err)) < 0 ||
	    sup_owner_check(&sup.cfg, config_path, jb_kinds, jb_nkinds, err, sizeof(err)) < 0 ||
	    jb_config_check_ids(&sup.cfg, config_path, err, sizeof(err)) < 0) {
		fprintf(stderr, "jibril: %s\n", err);
		return EX_CONFIG;
	}
	log_init("supervisor", sup.cfg.log_level);
	sup.conf_path = config_path;
	if (sup_self_oom_adj(SUP_OOM_ADJ_SUPERVISOR) < 0)
		log_warn("cannot set our oom_score_adj to %d (lowering it needs "
			 "CAP_SYS_RESOURCE): the OOM killer may pick the supervisor before a child",
			 SUP_OOM_ADJ_SUPERVISOR);
	if (sup_recipes_load(&sup.cfg, config_path, &sup.recipes, err, sizeof(err)) < 0) {
		fprintf(stderr, "jibril: %s\n", err);
		return EX_CONFIG;
	}
	log_info("%zu recipes loaded, %zu enabled", sup.recipes.set.n,
		 sup_recipes_enabled(&sup.recipes));
	if (sup.cfg.query_gap_ms)
		log_warnx("[debug] query_gap_ms = %u: each query pauses between the maps it "
			  "reads (a test setting: it only delays detection)", sup.cfg.query_gap_ms);
	if (sup.cfg.fault_hooks)
		log_warnx("[debug] fault_hooks is on: workers obey test fault triggers; "
			  "never use this in production");
	if (jb_bpf_preflight(err, sizeof(err)) < 0)
		fatalx("%s", err);
	/* the children's executables, held from now on: one missing or
	 * writable by others is a set-up error, found before anything loads */
	if (sup_bins_open(&sup, err, sizeof(err)) < 0) {
		fprintf(stderr, "jibril: %s\n", err);
		return EX_CONFIG;
	}
	/* before anything is made or loaded: one agent per status socket */
	sup.started_s = (int64_t)time(NULL);
	sup.started_ms = sup_now_ms();
	if (sup_statsock_open(&sup, err, sizeof(err)) < 0) {
		fprintf(stderr, "jibril: %s\n", err);
		return EX_CONFIG;
	}
	statsock_pid = getpid();
	atexit(statsock_atexit);
	/* every cgroup is made now, before anything is loaded (and while
	 * the supervisor still holds every capability) */
	sup.kinds = jb_kinds;
	sup.nkinds = jb_nkinds;
	/* the exporter's port: taken before anything loads, kept to the end */
	if (sup_exporter_listen(&sup, config_path, err, sizeof(err)) < 0) {
		fprintf(stderr, "jibril: %s\n", err);
		return EX_CONFIG;
	}
	if (sup_cgroup_init(&sup, NULL, err, sizeof(err)) < 0) {
		fprintf(stderr, "jibril: %s\n", err);
		return EX_CONFIG;
	}
	atexit(cgroups_atexit);
	if (sup_audit_open(&sup, err, sizeof(err)) < 0) {
		fprintf(stderr, "jibril: %s\n", err);
		return EX_CONFIG;
	}
	/* the privacy key and the local users' names, for the printers that
	 * pseudonymise: read while root, handed over in sup_procs_init */
	if (sup_privacy_open(&sup.cfg, config_path, err, sizeof(err)) < 0) {
		fprintf(stderr, "jibril: %s\n", err);
		return EX_CONFIG;
	}
	sup_audit_config(&sup, "start", JIBRIL_VERSION);
	n = jb_bpf_load(&bpf, &sup.cfg, &sup.recipes.set, config_path, err, sizeof(err));
	if (n == JB_BPF_ECONFIG) {
		fprintf(stderr, "jibril: %s\n", err);
		return EX_CONFIG;
	}
	if (n < 0)
		fatalx("%s", err);
	sup.bpf = &bpf;
	n = jb_backfill(&bpf);
	log_info("back-filled %d running processes from /proc", n);

	if (jb_snap_create(&sup.snap, SUP_SNAP_SLOTS, sup.cfg.map_tasks + sup.cfg.map_hot_tasks,
			   sup.cfg.map_files + sup.cfg.map_hot_files,
			   sup.cfg.map_links + sup.cfg.map_hot_links, sup.cfg.map_flows) < 0)
		fatal("cannot create the snapshot region");
	snprintf(path, sizeof(path), "/proc/self/fd/%d", sup.snap.fd);
	sup.snap_ro_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (sup.snap_ro_fd < 0)
		fatal("cannot reopen the snapshot read-only");
	read_boot_id(sup.boot_id, sizeof(sup.boot_id));
	if (gethostname(sup.hostname, sizeof(sup.hostname) - 1) < 0)
		snprintf(sup.hostname, sizeof(sup.hostname), "unknown");
	signal(SIGPIPE, SIG_IGN);

	sup.base = event_base_new();
	if (!sup.base)
		fatalx("event_base_new failed");
	for (int i = 0; i < 5; i++) {
		sev[i] = evsignal_new(sup.base, sigs[i], on_signal, NULL);
		if (!sev[i] || event_add(sev[i], NULL) < 0)
			fatalx("cannot watch signal %d", sigs[i]);
	}
	sigprocmask(SIG_UNBLOCK, &usr1, NULL);
	if (sup_router_init(&sup) < 0 || sup_collector_init(&sup, &bpf) < 0 ||
	    sup_procs_init(&sup) < 0)
		fatalx("cannot set up the supervisor (out of memory or printer output unusable)");
	if (bpf.not_resumed[0]) {
		/* what the programs of the replaced pins recorded since the last
		 * query is gone: a data_loss, not only a log line */
		char detail[320];

		if (bpf.not_resumed_records)
			snprintf(detail, sizeof(detail), "%s: the records they created since the "
				 "last query were not examined", bpf.not_resumed);
		else
			snprintf(detail, sizeof(detail), "%s: what they recorded since the last "
				 "query is not known (counted as 1)", bpf.not_resumed);
		sup_router_count_loss(&sup, "kernel", "not_resumed", "records",
				      bpf.not_resumed_records ? bpf.not_resumed_records : 1, detail);
	}
	sup.ev_cadence = event_new(sup.base, -1, EV_PERSIST, on_cadence, NULL);
	sup.ev_tick = event_new(sup.base, -1, EV_PERSIST, on_tick, NULL);
	sup.ev_summary = event_new(sup.base, -1, EV_PERSIST, on_summary, NULL);
	sup.ev_flush = event_new(sup.base, -1, EV_PERSIST, on_flush, NULL);
	if (!sup.ev_cadence || !sup.ev_tick || !sup.ev_summary || !sup.ev_flush)
		fatalx("cannot create the supervisor's timers");
	tv = ms_tv(sup.cfg.cadence_ms);
	event_add(sup.ev_cadence, &tv);
	tv = ms_tv(sup.cfg.summary_s * 1000);
	event_add(sup.ev_summary, &tv);
	tv = ms_tv(100);
	event_add(sup.ev_tick, &tv);
	if (sup_statsock_start(&sup) < 0)
		fatalx("cannot serve the status socket");

	/* the last step before the children: whatever needs privilege (load,
	 * attach, back-fill, files, cgroups) goes above this line; the
	 * children inherit the filter and the bounding set */
	if (sup_privdrop(bpf.fd_meta, err, sizeof(err)) < 0)
		fatalx("%s", err);
	jb_landlock_report(); /* once: what the children's sandbox cannot enforce here */
	sup_notify_init(&sup); /* systemd (NOTIFY_SOCKET): READY once the children are */
	sup_procs_start(&sup);
	log_info("jibril %s running: cadence %u ms, %d children", JIBRIL_VERSION, sup.cfg.cadence_ms,
		 sup.nprocs);
	event_base_dispatch(sup.base);

	sup_notify_stopping(&sup); /* a second signal, or the loop ended otherwise */
	sup_router_summary(&sup); /* the printers drain it with the rest */
	sup_statsock_close(&sup);
	sup_procs_stop(&sup);
	sup_cgroup_free(&sup); /* the children are reaped */
	sup_exporter_close(&sup);
	event_free(sup.ev_cadence);
	event_free(sup.ev_tick);
	event_free(sup.ev_summary);
	event_free(sup.ev_flush);
	sup_notify_free(&sup);
	for (int i = 0; i < 5; i++)
		event_free(sev[i]);
	sup_collector_save_resume(&sup); /* the printers have drained */
	jb_bpf_unload(&bpf, sup.cfg.bpf_keep_on_stop);
	jb_snap_destroy(&sup.snap);
	close(sup.snap_ro_fd);
	sup_collector_free(&sup);
	sup_router_free(&sup);
	sup_bins_close(&sup);
	sup_recipes_free(&sup.recipes);
	sup_audit_close(&sup, "children ended, BPF programs detached"); /* before its event */
	event_base_free(sup.base);
	log_info("stopped: children ended, BPF programs detached");
	return 0;
}

/* --unload: remove the pinned maps and links (the programs detach). */
static int unload_pins(const char *config)
{
	struct jb_config cfg;
	char err[1024];
	int n;

	log_init("jibril", LOG_L_WARN);
	jb_config_defaults(&cfg);
	if (jb_config_load(&cfg, config, err, sizeof(err)) < 0) {
		fprintf(stderr, "jibril: %s\n", err);
		return EX_CONFIG;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "jibril: --unload must run as root\n");
		return EX_NOPERM;
	}
	n = jb_bpf_unpin(&cfg, config, err, sizeof(err));
	if (n < 0) {
		fprintf(stderr, "jibril: %s\n", err);
		return EX_UNAVAILABLE;
	}
	if (n)
		printf("removed %d pins under %s: jibril's programs are detached\n", n,
		       cfg.bpf_pin_dir);
	else
		printf("nothing pinned under %s\n", cfg.bpf_pin_dir);
	return 0;
}

/* --verify-audit FILE: the key given, or the configuration's. */
static int verify_audit(const char *file, const char *key, const char *config)
{
	struct jb_config cfg;
	char err[1024];

	log_init("jibril", LOG_L_WARN);
	if (!key) {
		jb_config_defaults(&cfg);
		if (jb_config_load(&cfg, config, err, sizeof(err)) < 0) {
			fprintf(stderr, "jibril: %s\n", err);
			return EX_CONFIG;
		}
		if (!cfg.audit_key[0]) {
			fprintf(stderr, "jibril: %s: [audit] key is empty: give --audit-key KEYFILE\n",
				config);
			return EX_USAGE;
		}
		key = cfg.audit_key;
	}
	return sup_audit_verify(file, key, stdout);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"check-config", required_argument, NULL, 'n'},
		{"list-recipes", no_argument, NULL, 'L'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{"verify-audit", required_argument, NULL, 'A'},
		{"audit-key", required_argument, NULL, 'K'},
		{"unload", no_argument, NULL, 'U'},
		{"conf", required_argument, NULL, 'c'},
		{"json", no_argument, NULL, 'j'},
		{"reveal", required_argument, NULL, 'R'},
		{"type", required_argument, NULL, 'T'},
		{NULL, 0, NULL, 0},
	};
	const char *config = "/etc/jibril/jibril.conf", *check = NULL;
	const char *verify = NULL, *audit_key = NULL, *reveal = NULL, *rtype = NULL;
	int c, list = 0, unload = 0, json = 0;

	/* before anything opens a file (OpenSSH sanitise_stdfd, closefrom);
	 * the children are other executables (common/child_main.c) */
	sup_self_fds();

	while ((c = getopt_long(argc, argv, "c:n:LhV", opts, NULL)) != -1) {
		switch (c) {
		case 'L': list = 1; break;
		case 'c': config = optarg; break;
		case 'n': check = optarg; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("jibril %s\n", JIBRIL_VERSION); return 0;
		case 'A': verify = optarg; break;
		case 'K': audit_key = optarg; break;
		case 'U': unload = 1; break;
		case 'j': json = 1; break;
		case 'R': reveal = optarg; break;
		case 'T': rtype = optarg; break;
		default: usage(stderr); return EX_USAGE;
		}
	}
	if (optind == argc - 1 && !strcmp(argv[optind], "status")) {
		log_init("jibril", LOG_L_WARN);
		return sup_status_cli(config, NULL, json, stdout);
	}
	if (optind != argc || json) {
		usage(stderr);
		return EX_USAGE;
	}
	if (verify)
		return verify_audit(verify, audit_key, config);
	if (rtype && !reveal) {
		usage(stderr);
		return EX_USAGE;
	}
	if (reveal)
		return sup_reveal(config, reveal, rtype);
	if (unload)
		return unload_pins(config);
	if (check || list) {
		struct jb_config cfg;
		struct sup_recipes r;
		const char *path = check ? check : config;
		char err[1024];
		log_init("jibril", LOG_L_WARN);
		jb_config_defaults(&cfg);
		if (jb_config_load(&cfg, path, err, sizeof(err)) < 0 ||
		    sup_owner_check(&cfg, path, jb_kinds, jb_nkinds, err, sizeof(err)) < 0 ||
		    jb_config_check_ids(&cfg, path, err, sizeof(err)) < 0 ||
		    sup_recipes_load(&cfg, path, &r, err, sizeof(err)) < 0) {
			fprintf(stderr, "jibril: %s\n", err);
			return EX_CONFIG;
		}
		if (list)
			sup_recipes_list(&r, stdout);
		else
			printf("%s: ok (%zu recipes, %zu enabled)\n", check, r.set.n,
			       sup_recipes_enabled(&r));
		sup_recipes_free(&r);
		return 0;
	}
	return run_supervisor(config);
}
