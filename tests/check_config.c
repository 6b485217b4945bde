/*
 * check_config.c - unit tests for supervisor/config.c (jibril.conf parser).
 *
 * Invariants checked: defaults match the documentation; the repo's
 * jibril.conf parses and equals the defaults; every good sample under
 * tests/data/conf/ parses to exactly the expected values; every bad sample
 * fails with exactly "FILE:LINE: message" (first error, exact line) and
 * leaves the caller's config untouched; inih's process-wide options are
 * restored after each load; [recipes]: dir is an absolute path, disable a
 * list of kinds (a-z 0-9 _, spaces or commas) whose line is remembered for
 * later errors, summary_s in 1..86400; [bpf] backend one of three names,
 * its line remembered. Sample files are found via
 * $JIBRIL_SRC (or ".").
 * Generated inputs (long lines, NUL bytes, boundaries) go to a mkdtemp dir.
 */
#include <check.h>
#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "ipc/msg.h"
#include "common/privacy.h"
#include "supervisor/config.h"
#include "supervisor/owner.h"
#include "supervisor/settings.h"
#include "printers/nats.h"

/* the enable flag of a boolean kind (a row of the kind table) */
#define ON(c, name) (*jb_config_kind((struct jb_config *)(c), (name)))

static char tmpdir[64];

static const char *src_dir(void)
{
	const char *s = getenv("JIBRIL_SRC");

	return s && *s ? s : ".";
}

static void sample_path(char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "%s/tests/data/conf/%s", src_dir(), name);
}

static void tmp_setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/check_config.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void tmp_teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
}

/* Write len bytes to tmpdir/name; path returned in buf. */
static void write_tmp(char *buf, size_t n, const char *name, const char *data, size_t len)
{
	FILE *f;

	snprintf(buf, n, "%s/%s", tmpdir, name);
	f = fopen(buf, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

static void assert_cfg_eq(const struct jb_config *a, const struct jb_config *b)
{
	ck_assert_uint_eq(a->cadence_ms, b->cadence_ms);
	ck_assert_uint_eq(a->heartbeat_ms, b->heartbeat_ms);
	ck_assert_uint_eq(a->heartbeat_deadline_ms, b->heartbeat_deadline_ms);
	ck_assert_uint_eq(a->handshake_ms, b->handshake_ms);
	ck_assert_int_eq(a->log_level, b->log_level);
	ck_assert_uint_eq(a->map_tasks, b->map_tasks);
	ck_assert_uint_eq(a->map_files, b->map_files);
	ck_assert_uint_eq(a->map_links, b->map_links);
	ck_assert_uint_eq(a->map_flows, b->map_flows);
	ck_assert_uint_eq(a->map_hot_tasks, b->map_hot_tasks);
	ck_assert_uint_eq(a->map_hot_files, b->map_hot_files);
	ck_assert_uint_eq(a->map_hot_links, b->map_hot_links);
	ck_assert_int_eq(ON(a, "file_access"), ON(b, "file_access"));
	ck_assert_int_eq(ON(a, "execution"), ON(b, "execution"));
	ck_assert_int_eq(ON(a, "network"), ON(b, "network"));
	ck_assert_int_eq(ON(a, "stdout"), ON(b, "stdout"));
	ck_assert_str_eq(a->printer_file, b->printer_file);
	ck_assert_uint_eq(a->file_max_bytes, b->file_max_bytes);
	ck_assert_uint_eq(a->file_keep, b->file_keep);
	ck_assert_uint_eq(a->backoff_initial_ms, b->backoff_initial_ms);
	ck_assert_uint_eq(a->backoff_max_ms, b->backoff_max_ms);
	ck_assert_uint_eq(a->stable_ms, b->stable_ms);
	ck_assert_uint_eq(a->throttle_ms, b->throttle_ms);
	ck_assert_uint_eq(a->child_uid_base, b->child_uid_base);
	ck_assert_uint_eq(a->backlog_bytes, b->backlog_bytes);
	ck_assert_str_eq(a->recipes_dir, b->recipes_dir);
	ck_assert_str_eq(a->recipes_disable, b->recipes_disable);
	ck_assert_int_eq(a->recipes_disable_line, b->recipes_disable_line);
	ck_assert_uint_eq(a->summary_s, b->summary_s);
	ck_assert_int_eq(a->fault_hooks, b->fault_hooks);
	ck_assert_int_eq(a->tamper_raw_hook, b->tamper_raw_hook);
	ck_assert_int_eq(a->bpf_backend, b->bpf_backend);
	ck_assert_str_eq(a->audit_file, b->audit_file);
	ck_assert_str_eq(a->status_socket, b->status_socket);
	ck_assert_str_eq(a->audit_key, b->audit_key);
	ck_assert_uint_eq(a->privacy_printers, b->privacy_printers);
	ck_assert_uint_eq(a->privacy_clear, b->privacy_clear);
	ck_assert_uint_eq(a->privacy_fields, b->privacy_fields);
	ck_assert_uint_eq(a->privacy_ipv4_prefix, b->privacy_ipv4_prefix);
	ck_assert_uint_eq(a->privacy_ipv6_prefix, b->privacy_ipv6_prefix);
	ck_assert_str_eq(a->privacy_key, b->privacy_key);
	ck_assert_uint_eq(a->limits_worker.memory, b->limits_worker.memory);
	ck_assert_uint_eq(a->limits_worker.pids, b->limits_worker.pids);
	ck_assert_uint_eq(a->limits_worker.cpu_pct, b->limits_worker.cpu_pct);
	ck_assert_uint_eq(a->limits_printer.memory, b->limits_printer.memory);
	ck_assert_uint_eq(a->limits_printer.pids, b->limits_printer.pids);
	ck_assert_uint_eq(a->limits_printer.cpu_pct, b->limits_printer.cpu_pct);
	ck_assert_int_eq(a->limits_line, b->limits_line);
}

/* Load 'path' over defaults; must fail with "PATH:LINE: ...substr...". */
static void expect_error(const char *path, int line, const char *substr)
{
	struct jb_config c, d;
	char err[JB_CONF_ERR_MAX], prefix[4200];

	jb_config_defaults(&c);
	jb_config_defaults(&d);
	ck_assert_int_eq(jb_config_load(&c, path, err, sizeof(err)), -1);
	if (line > 0)
		snprintf(prefix, sizeof(prefix), "%s:%d: ", path, line);
	else
		snprintf(prefix, sizeof(prefix), "%s: ", path);
	ck_assert_msg(strncmp(err, prefix, strlen(prefix)) == 0,
	    "error '%s' does not start with '%s'", err, prefix);
	ck_assert_msg(strstr(err + strlen(prefix), substr) != NULL,
	    "error '%s' does not contain '%s'", err, substr);
	assert_cfg_eq(&c, &d);	/* untouched on failure */
}

static void expect_sample_error(const char *name, int line, const char *substr)
{
	char path[4096];

	sample_path(path, sizeof(path), name);
	expect_error(path, line, substr);
}

static void load_ok(const char *path, struct jb_config *c)
{
	char err[JB_CONF_ERR_MAX] = "";

	jb_config_defaults(c);
	ck_assert_msg(jb_config_load(c, path, err, sizeof(err)) == 0,
	    "loading %s failed: %s", path, err);
}

/* --- defaults ------------------------------------------------------------ */

START_TEST(test_defaults)
{
	struct jb_config c;

	memset(&c, 0xa5, sizeof(c));
	jb_config_defaults(&c);
	ck_assert_uint_eq(c.cadence_ms, 1000);
	ck_assert_uint_eq(c.heartbeat_ms, 500);
	ck_assert_uint_eq(c.heartbeat_deadline_ms, 2000);
	ck_assert_uint_eq(c.handshake_ms, 5000);
	ck_assert_int_eq(c.log_level, LOG_L_INFO);
	ck_assert_uint_eq(c.map_tasks, 8192);
	ck_assert_uint_eq(c.map_files, 16384);
	ck_assert_uint_eq(c.map_links, 32768);
	ck_assert_uint_eq(c.map_flows, 8192);
	ck_assert_int_eq(ON(&c, "file_access"), 1);
	ck_assert_int_eq(ON(&c, "execution"), 1);
	ck_assert_int_eq(ON(&c, "network"), 1);
	ck_assert_int_eq(ON(&c, "tamper"), 1);
	ck_assert_int_eq(ON(&c, "stdout"), 1);
	ck_assert_str_eq(c.printer_file, "");
	ck_assert_uint_eq(c.file_max_bytes, 100u << 20);
	ck_assert_uint_eq(c.file_keep, 5);
	ck_assert_uint_eq(c.backoff_initial_ms, 250);
	ck_assert_uint_eq(c.backoff_max_ms, 30000);
	ck_assert_uint_eq(c.stable_ms, 60000);
	ck_assert_uint_eq(c.throttle_ms, 10000);
	ck_assert_uint_eq(c.child_uid_base, JB_CONF_UID_BASE);
	ck_assert_uint_eq(c.backlog_bytes, 64u << 20);
	ck_assert_str_eq(c.recipes_dir, "");
	ck_assert_str_eq(c.recipes_disable, "");
	ck_assert_int_eq(c.recipes_disable_line, 0);
	ck_assert_uint_eq(c.summary_s, 60);
	ck_assert_int_eq(c.fault_hooks, 0);
	ck_assert_int_eq(c.tamper_raw_hook, 0);
	ck_assert_int_eq(c.bpf_backend, JB_BACKEND_AUTO);
	ck_assert_int_eq(c.bpf_backend_line, 0);
	ck_assert_str_eq(c.audit_file, "/var/log/jibril/audit.log");
	ck_assert_str_eq(c.audit_key, "/var/lib/jibril/audit.key");
	ck_assert_int_eq(c.audit_file_line, 0);
	ck_assert_int_eq(c.audit_key_line, 0);
	ck_assert_str_eq(c.status_socket, "/run/jibril/status.sock");
	ck_assert_int_eq(c.status_socket_line, 0);
	/* [limits]: as jibril.conf documents them, and none set explicitly */
	ck_assert_uint_eq(c.limits_worker.memory, 256ull << 20);
	ck_assert_uint_eq(c.limits_worker.pids, 16);
	ck_assert_uint_eq(c.limits_worker.cpu_pct, 100);
	ck_assert_uint_eq(c.limits_printer.memory, 128ull << 20);
	ck_assert_uint_eq(c.limits_printer.pids, 16);
	ck_assert_uint_eq(c.limits_printer.cpu_pct, 50);
	ck_assert_int_eq(c.limits_line, 0);
	ck_assert_ptr_eq(jb_config_limits(&c, IPC_ROLE_WORKER), &c.limits_worker);
	ck_assert_ptr_eq(jb_config_limits(&c, IPC_ROLE_PRINTER), &c.limits_printer);
}
END_TEST

/* --- the repo's jibril.conf ------------------------------------------------ */

START_TEST(test_repo_conf)
{
	struct jb_config c, want;
	char path[4096];

	snprintf(path, sizeof(path), "%s/jibril.conf", src_dir());
	load_ok(path, &c);
	/* jibril.conf spells out every default; it intentionally changes
	 * nothing (stdout on, file off, all workers on, fault hooks off). */
	jb_config_defaults(&want);
	/* it spells out "disable =" too: the line is remembered, the list empty */
	ck_assert_int_gt(c.recipes_disable_line, 0);
	want.recipes_disable_line = c.recipes_disable_line;
	assert_cfg_eq(&c, &want);
	ck_assert_int_eq(ON(&c, "stdout"), 1);
	ck_assert_str_eq(c.printer_file, "");
	ck_assert_int_eq(c.fault_hooks, 0);
	/* it spells out [audit] too, at the defaults */
	ck_assert_int_gt(c.audit_file_line, 0);
	ck_assert_int_eq(c.audit_key_line, c.audit_file_line + 7);
	/* [agent] status_socket at its default */
	ck_assert_int_gt(c.status_socket_line, 0);
	/* and [bpf] backend = auto */
	ck_assert_int_gt(c.bpf_backend_line, 0);
}
END_TEST

/* --- good sample files ----------------------------------------------------- */

static void want_empty(struct jb_config *c) { (void)c; }

static void want_full(struct jb_config *c)
{
	c->cadence_ms = 50;
	c->heartbeat_ms = 200;
	c->heartbeat_deadline_ms = 600000;
	c->handshake_ms = 100;
	c->log_level = LOG_L_DEBUG;
	c->map_tasks = 64;
	c->map_files = 4194304;
	c->map_links = 1000;
	c->map_flows = 100;
	ON(c, "file_access") = 0;
	ON(c, "execution") = 0;
	ON(c, "network") = 0;
	ON(c, "tamper") = 0;
	ON(c, "stdout") = 0;
	strcpy(c->printer_file, "/var/log/jibril/detections.json");
	c->backoff_initial_ms = 10;
	c->backoff_max_ms = 3600000;
	c->stable_ms = 86400000;
	c->throttle_ms = 3600000;
	c->child_uid_base = 1879113728;
	c->fault_hooks = 1;
	strcpy(c->recipes_dir, "/etc/jibril/recipes");
	strcpy(c->recipes_disable, "data_encoder_exec, tracking_domain_access\tnet_scan_tool_exec");
	c->recipes_disable_line = 36;
	c->summary_s = 86400;
}

static void want_booleans(struct jb_config *c)
{
	ON(c, "file_access") = 1;
	ON(c, "execution") = 0;
	ON(c, "network") = 1;
	ON(c, "stdout") = 1;
	c->fault_hooks = 0;
	c->log_level = LOG_L_WARN;
}

static void want_inline(struct jb_config *c)
{
	c->cadence_ms = 2000;
	c->log_level = LOG_L_ERR;
	strcpy(c->printer_file, "/var/log/a;b.json");
}

static void want_bom_crlf(struct jb_config *c)
{
	c->handshake_ms = 7000;
	c->map_flows = 65536;
}

static void want_file_only(struct jb_config *c)
{
	ON(c, "stdout") = 0;
	c->cadence_ms = 500;
	strcpy(c->printer_file, "/tmp/jibril events.json");
}

static void want_no_newline(struct jb_config *c) { c->cadence_ms = 123; }

static void want_recipes(struct jb_config *c)
{
	c->summary_s = 1;
	strcpy(c->recipes_dir, "");
	strcpy(c->recipes_disable, "a,b , c_9");
	c->recipes_disable_line = 7;
}

static const struct {
	const char *name;
	void (*want)(struct jb_config *);
} good[] = {
	{ "good-empty.conf", want_empty },
	{ "good-full.conf", want_full },
	{ "good-booleans.conf", want_booleans },
	{ "good-inline-comments.conf", want_inline },
	{ "good-bom-crlf.conf", want_bom_crlf },
	{ "good-file-printer-only.conf", want_file_only },
	{ "good-no-final-newline.conf", want_no_newline },
	{ "good-recipes.conf", want_recipes },
};

START_TEST(test_good_file)
{
	struct jb_config c, want;
	char path[4096];

	sample_path(path, sizeof(path), good[_i].name);
	load_ok(path, &c);
	jb_config_defaults(&want);
	good[_i].want(&want);
	assert_cfg_eq(&c, &want);
}
END_TEST

/* --- bad sample files ------------------------------------------------------ */

static const struct {
	const char *name;
	int line;
	const char *msg;
} bad[] = {
	{ "bad-unknown-section.conf", 4, "unknown section [agnet]" },
	{ "bad-empty-unknown-section.conf", 2, "unknown section [Agent]" },
	{ "bad-unknown-key.conf", 3, "unknown key 'cadense_ms' in section [agent]" },
	{ "bad-key-wrong-section.conf", 2, "unknown key 'cadence_ms' in section [maps]" },
	{ "bad-out-of-range-low.conf", 4, "cadence_ms: 0 is out of range 50..60000" },
	{ "bad-out-of-range-high.conf", 2, "tasks: 4194305 is out of range 64..4194304" },
	{ "bad-overflow.conf", 2,
	  "stable_ms: 99999999999999999999999 is out of range 100..86400000" },
	{ "bad-u32-wrap.conf", 2, "stable_ms: 4294967396 is out of range 100..86400000" },
	{ "bad-not-a-number.conf", 2, "heartbeat_ms: 'fast' is not a number" },
	{ "bad-trailing-garbage.conf", 2,
	  "cadence_ms: '100ms' is not a number (trailing characters 'ms')" },
	{ "bad-negative.conf", 2,
	  "handshake_ms: '-1' is not a number (negative values are not allowed)" },
	{ "bad-plus-sign.conf", 2, "handshake_ms: '+500' is not a number" },
	{ "bad-hex.conf", 2, "links: '0x1000' is not a number (trailing characters 'x1000')" },
	{ "bad-empty-number.conf", 2, "files: '' is not a number" },
	{ "bad-semicolon-no-space.conf", 3, "cadence_ms: '100;comment' is not a number" },
	{ "bad-hash-inline.conf", 3, "stdout: 'yes # on' is not a boolean" },
	{ "bad-boolean.conf", 3, "network: 'maybe' is not a boolean" },
	{ "bad-log-level.conf", 2, "log_level: 'verbose' is not a log level" },
	{ "bad-relative-path.conf", 2, "file: 'jibril.json' is not an absolute path" },
	{ "bad-quoted-path.conf", 2, "file: '\"/var/log/jibril.json\"' is not an absolute path" },
	{ "bad-syntax-no-equals.conf", 2, "syntax error" },
	{ "bad-section-unterminated.conf", 3, "section header has no closing ']'" },
	{ "bad-section-trailing.conf", 1, "unexpected text after section header: 'extra'" },
	{ "bad-outside-section.conf", 2, "key 'cadence_ms' is outside of any [section]" },
	{ "bad-colon-separator.conf", 2, "':' is not accepted as a separator" },
	{ "bad-continuation.conf", 3, "continuation lines are not supported" },
	{ "bad-indented-key.conf", 2, "line starts with whitespace" },
	{ "bad-missing-name.conf", 2, "missing key name" },
	{ "bad-first-error-wins.conf", 3, "heartbeat_ms: 1 is out of range 50..60000" },
	{ "bad-recipes-relative-dir.conf", 2, "dir: 'etc/jibril/recipes' is not an absolute path" },
	{ "bad-recipes-disable-upper.conf", 3, "disable: 'D' cannot be part of a recipe kind" },
	{ "bad-recipes-disable-dash.conf", 2, "disable: '-' cannot be part of a recipe kind" },
	{ "bad-recipes-disable-semicolon.conf", 2, "disable: ';' cannot be part of a recipe kind" },
	{ "bad-recipes-summary-low.conf", 2, "summary_s: 0 is out of range 1..86400" },
	{ "bad-recipes-summary-high.conf", 2, "summary_s: 86401 is out of range 1..86400" },
	{ "bad-recipes-duplicate-dir.conf", 3,
	  "duplicate key 'dir' in section [recipes] (first set on line 2)" },
	{ "bad-recipes-key-wrong-section.conf", 2, "unknown key 'summary_s' in section [agent]" },
};

START_TEST(test_bad_file)
{
	expect_sample_error(bad[_i].name, bad[_i].line, bad[_i].msg);
}
END_TEST

/* Exact full text for the two examples of the spec. */
START_TEST(test_bad_exact_text)
{
	struct jb_config c;
	char err[JB_CONF_ERR_MAX], path[4096], want[4200];

	sample_path(path, sizeof(path), "bad-out-of-range-low.conf");
	jb_config_defaults(&c);
	ck_assert_int_eq(jb_config_load(&c, path, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:4: cadence_ms: 0 is out of range 50..60000", path);
	ck_assert_str_eq(err, want);

	sample_path(path, sizeof(path), "bad-unknown-key.conf");
	ck_assert_int_eq(jb_config_load(&c, path, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:3: unknown key 'cadense_ms' in section [agent]", path);
	ck_assert_str_eq(err, want);
}
END_TEST

/* --- missing / unreadable file --------------------------------------------- */

START_TEST(test_missing_file)
{
	char path[256], want[512], err[JB_CONF_ERR_MAX];
	struct jb_config c;

	snprintf(path, sizeof(path), "%s/does-not-exist.conf", tmpdir);
	snprintf(want, sizeof(want), "%s: cannot open: %s", path, strerror(ENOENT));
	jb_config_defaults(&c);
	ck_assert_int_eq(jb_config_load(&c, path, err, sizeof(err)), -1);
	ck_assert_str_eq(err, want);

	/* a directory opens but cannot be read */
	snprintf(want, sizeof(want), "%s: cannot read: %s", tmpdir, strerror(EISDIR));
	ck_assert_int_eq(jb_config_load(&c, tmpdir, err, sizeof(err)), -1);
	ck_assert_str_eq(err, want);

	/* a NULL or tiny error buffer is tolerated */
	ck_assert_int_eq(jb_config_load(&c, path, NULL, 0), -1);
	ck_assert_int_eq(jb_config_load(&c, path, err, 4), -1);
	ck_assert_str_eq(err, "/tm");
}
END_TEST

/* --- duplicate key --------------------------------------------------------- */

START_TEST(test_duplicate_key)
{
	expect_sample_error("bad-duplicate-key.conf", 8,
	    "duplicate key 'cadence_ms' in section [agent] (first set on line 2)");
}
END_TEST

/* --- cross-field checks ---------------------------------------------------- */

START_TEST(test_cross_field)
{
	struct jb_config c;
	char path[256], err[JB_CONF_ERR_MAX];
	static const char edge[] =
	    "[agent]\nheartbeat_ms = 1000\nheartbeat_deadline_ms = 1001\n"
	    "[restart]\nbackoff_initial_ms = 500\nbackoff_max_ms = 500\n"
	    "[printers]\nstdout = no\nfile = /x\n";

	expect_sample_error("bad-deadline.conf", 4,
	    "heartbeat_deadline_ms (2000) must be greater than heartbeat_ms (2000)");
	expect_sample_error("bad-deadline-heartbeat-later.conf", 3,
	    "heartbeat_deadline_ms (3000) must be greater than heartbeat_ms (4000)");
	expect_sample_error("bad-backoff.conf", 4,
	    "backoff_max_ms (100) must be at least backoff_initial_ms (200)");
	expect_sample_error("bad-no-printer.conf", 2, "no printer enabled");
	expect_sample_error("bad-no-printer-empty-file.conf", 3, "no printer enabled");

	/* boundaries are accepted */
	write_tmp(path, sizeof(path), "edge.conf", edge, sizeof(edge) - 1);
	load_ok(path, &c);
	ck_assert_uint_eq(c.heartbeat_deadline_ms, 1001);
	ck_assert_uint_eq(c.backoff_max_ms, 500);
	ck_assert_str_eq(c.printer_file, "/x");

	/* no key of the check in the file: "FILE: ..." without a line */
	sample_path(path, sizeof(path), "good-empty.conf");
	jb_config_defaults(&c);
	ON(&c, "stdout") = 0;
	ck_assert_int_eq(jb_config_load(&c, path, err, sizeof(err)), -1);
	ck_assert_msg(strncmp(err, path, strlen(path)) == 0 &&
	    strncmp(err + strlen(path), ": no printer enabled", 20) == 0, "got '%s'", err);
}
END_TEST

/* --- [audit] ------------------------------------------------------------------ */

START_TEST(test_audit_keys)
{
	struct jb_config c;
	char path[256];
	static const char set[] = "[audit]\n# mine\nkey = /srv/a.key\nfile = /srv/a.log\n";
	static const char off[] = "[audit]\nfile =\n";
	static const char nokey[] = "[audit]\nfile = /srv/a.log\n\nkey =\n";
	static const char same[] = "[audit]\nkey = /srv/a\nfile = /srv/a\n";
	static const char rel[] = "[audit]\nfile = audit.log\n";
	static const char unknown[] = "[audit]\nanchor = /x\n";
	static const char twice[] = "[audit]\nkey = /a\nkey = /b\n";

	write_tmp(path, sizeof(path), "set.conf", set, sizeof(set) - 1);
	load_ok(path, &c);
	ck_assert_str_eq(c.audit_file, "/srv/a.log");
	ck_assert_str_eq(c.audit_key, "/srv/a.key");
	ck_assert_int_eq(c.audit_file_line, 4);	/* for the errors of sup_audit_open */
	ck_assert_int_eq(c.audit_key_line, 3);
	/* empty file: no audit log, and then no key is needed */
	write_tmp(path, sizeof(path), "off.conf", off, sizeof(off) - 1);
	load_ok(path, &c);
	ck_assert_str_eq(c.audit_file, "");
	ck_assert_str_eq(c.audit_key, "/var/lib/jibril/audit.key");
	write_tmp(path, sizeof(path), "nokey.conf", nokey, sizeof(nokey) - 1);
	expect_error(path, 4, "[audit] key is empty: the audit log /srv/a.log needs a key file");
	write_tmp(path, sizeof(path), "same.conf", same, sizeof(same) - 1);
	expect_error(path, 3, "[audit] file and key are the same path (/srv/a)");
	write_tmp(path, sizeof(path), "rel.conf", rel, sizeof(rel) - 1);
	expect_error(path, 2, "file: 'audit.log' is not an absolute path");
	write_tmp(path, sizeof(path), "unknown.conf", unknown, sizeof(unknown) - 1);
	expect_error(path, 2, "unknown key 'anchor' in section [audit]");
	write_tmp(path, sizeof(path), "twice.conf", twice, sizeof(twice) - 1);
	expect_error(path, 3, "duplicate key 'key' in section [audit] (first set on line 2)");
}
END_TEST

/* --- [privacy] ---------------------------------------------------------------- */

static size_t row_of(const char *name);

START_TEST(test_privacy_keys)
{
	struct jb_config c;
	char path[256];
	static const char set[] = "[printers]\nfile = /x\n[privacy]\nprinters = stdout,file\n"
				  "fields = users ips\nipv4_prefix = 16\nipv6_prefix = 0\n"
				  "key_file = /srv/p.key\n";
	static const char worker[] = "[privacy]\n# x\nprinters = stdout, execution\n";
	static const char unknown[] = "[privacy]\nprinters = stdout, carrier_pigeon\n";
	static const char field[] = "[privacy]\nfields = users, names\n";
	static const char nofield[] = "[privacy]\nfields = ,\n";
	static const char both[] = "[privacy]\nprinters = stdout\nclear = stdout\n";
	static const char nokey[] = "[privacy]\nprinters = stdout\nkey_file =\n";
	static const char audit[] = "[audit]\nkey = /srv/a.key\n[privacy]\nprinters = stdout\n"
				    "key_file = /srv/a.key\n";
	static const char range[] = "[privacy]\nipv4_prefix = 33\n";
	static const char keyoff[] = "[privacy]\nkey_file =\n";

	/* the defaults: nobody pseudonymises but a row that does by default */
	jb_config_defaults(&c);
	ck_assert_uint_eq(c.privacy_fields, PRV_USERS | PRV_HOSTS);
	ck_assert_uint_eq(c.privacy_ipv4_prefix, 24);
	ck_assert_uint_eq(c.privacy_ipv6_prefix, 48);
	ck_assert_str_eq(c.privacy_key, "/var/lib/jibril/privacy.key");
	for (size_t i = 0; i < jb_nkinds; i++)
		ck_assert_uint_eq(jb_config_privacy(&c, i),
				  jb_kinds[i].role == IPC_ROLE_PRINTER && jb_kinds[i].pseudonymise
					  ? c.privacy_fields
					  : 0);
	write_tmp(path, sizeof(path), "set.conf", set, sizeof(set) - 1);
	load_ok(path, &c);
	ck_assert_uint_eq(jb_config_privacy(&c, row_of("stdout")), PRV_USERS | PRV_IPS);
	ck_assert_uint_eq(jb_config_privacy(&c, row_of("file")), PRV_USERS | PRV_IPS);
	ck_assert_uint_eq(jb_config_privacy(&c, row_of("https")), 0);
	ck_assert_uint_eq(jb_config_privacy(&c, row_of("execution")), 0);
	ck_assert_uint_eq(c.privacy_ipv4_prefix, 16);
	ck_assert_uint_eq(c.privacy_ipv6_prefix, 0);
	ck_assert_str_eq(c.privacy_key, "/srv/p.key");
	ck_assert_int_eq(c.privacy_key_line, 8);
	/* no printer pseudonymises: no key needed */
	write_tmp(path, sizeof(path), "keyoff.conf", keyoff, sizeof(keyoff) - 1);
	load_ok(path, &c);
	write_tmp(path, sizeof(path), "worker.conf", worker, sizeof(worker) - 1);
	expect_error(path, 3, "printers: 'execution' is not a printer (the printers: stdout");
	write_tmp(path, sizeof(path), "unknown.conf", unknown, sizeof(unknown) - 1);
	expect_error(path, 2, "printers: 'carrier_pigeon' is not a printer");
	write_tmp(path, sizeof(path), "field.conf", field, sizeof(field) - 1);
	expect_error(path, 2, "fields: 'names' is not users, hosts or ips");
	write_tmp(path, sizeof(path), "nofield.conf", nofield, sizeof(nofield) - 1);
	expect_error(path, 2, "fields: empty");
	write_tmp(path, sizeof(path), "both.conf", both, sizeof(both) - 1);
	expect_error(path, 3, "[privacy] stdout is in both printers and clear");
	write_tmp(path, sizeof(path), "nokey.conf", nokey, sizeof(nokey) - 1);
	expect_error(path, 3, "[privacy] key_file is empty");
	write_tmp(path, sizeof(path), "audit.conf", audit, sizeof(audit) - 1);
	expect_error(path, 5, "[privacy] key_file /srv/a.key is a file of [audit]");
	write_tmp(path, sizeof(path), "range.conf", range, sizeof(range) - 1);
	expect_error(path, 2, "ipv4_prefix: 33 is out of range 0..32");
}
END_TEST

/* [agent] status_socket: a path, absolute, that fits a sun_path; empty: off */
START_TEST(test_status_socket_key)
{
	struct jb_config c;
	char path[256], longer[256];
	static const char set[] = "[agent]\nstatus_socket = /srv/j/s.sock\n";
	static const char off[] = "[agent]\n\nstatus_socket =\n";
	static const char rel[] = "[agent]\nstatus_socket = s.sock\n";
	int n;

	write_tmp(path, sizeof(path), "set.conf", set, sizeof(set) - 1);
	load_ok(path, &c);
	ck_assert_str_eq(c.status_socket, "/srv/j/s.sock");
	ck_assert_int_eq(c.status_socket_line, 2);
	write_tmp(path, sizeof(path), "off.conf", off, sizeof(off) - 1);
	load_ok(path, &c);
	ck_assert_str_eq(c.status_socket, "");
	ck_assert_int_eq(c.status_socket_line, 3);
	write_tmp(path, sizeof(path), "rel.conf", rel, sizeof(rel) - 1);
	expect_error(path, 2, "status_socket: 's.sock' is not an absolute path");
	/* 108 bytes: one more than sun_path holds */
	n = snprintf(longer, sizeof(longer), "[agent]\n# x\nstatus_socket = /%0107d\n", 0);
	write_tmp(path, sizeof(path), "long.conf", longer, (size_t)n);
	expect_error(path, 3, "status_socket: a UNIX socket's path is at most 107 bytes (this one "
		     "has 108)");
	n = snprintf(longer, sizeof(longer), "[agent]\nstatus_socket = /%0106d\n", 0);
	write_tmp(path, sizeof(path), "fits.conf", longer, (size_t)n);
	load_ok(path, &c);
	ck_assert_uint_eq(strlen(c.status_socket), 107);
}
END_TEST

/* --- [nats]: the NATS JetStream printer's own section ----------------------- */

/* The row of kind name in jb_kinds. */
static size_t kind_index(const char *name)
{
	for (size_t i = 0; i < jb_nkinds; i++)
		if (!strcmp(jb_kinds[i].name, name))
			return i;
	ck_abort_msg("no kind %s", name);
	return 0;
}

/* --- a kind's directory (spool_dir): made, never taken over ---------------- */

static uid_t spool_uid; /* the nats kind's uid in the config (spool_try) */

/* conf in tmpdir/etc, the audit log in tmpdir/log, its key in
 * tmpdir/lib; the nats printer's spool_dir = spool (line 6). The start's
 * step (prepare, mk) and --check-config's (check); err "" when accepted. */
static int spool_try(const char *spool, int start, char *err, size_t errlen, char *conf,
		     size_t conflen)
{
	struct jb_config c;
	char text[1024], sub[256];
	int set_fd = -1, dir_fd = -1, rc;

	snprintf(sub, sizeof(sub), "%s/etc", tmpdir);
	mkdir(sub, 0755);
	snprintf(text, sizeof(text),
		 "[printers]\nnats = yes\n[nats]\nurl = nats://127.0.0.1:4222\n# the spool\n"
		 "spool_dir = %s\n[audit]\nfile = %s/log/audit.log\nkey = %s/lib/audit.key\n",
		 spool, tmpdir, tmpdir);
	write_tmp(conf, conflen, "etc/jibril.conf", text, strlen(text));
	load_ok(conf, &c);
	spool_uid = c.child_uid_base + (uid_t)kind_index("nats");
	err[0] = '\0';
	if (start)
		rc = sup_settings_prepare(&c, conf, kind_index("nats"), spool_uid, &set_fd,
					  &dir_fd, err, errlen);
	else
		rc = sup_settings_check(&c, conf, err, errlen);
	if (set_fd >= 0)
		close(set_fd);
	if (dir_fd >= 0)
		close(dir_fd);
	return rc;
}

static void spool_refused(const char *spool, const char *why)
{
	char err[1024], conf[256], want[400];

	for (int start = 0; start < 2; start++) {
		ck_assert_msg(spool_try(spool, start, err, sizeof(err), conf, sizeof(conf)) < 0,
			      "%s accepted (%s)", spool, start ? "start" : "check-config");
		snprintf(want, sizeof(want), "%s:6: [nats] spool_dir: ", conf);
		ck_assert_msg(!strncmp(err, want, strlen(want)) && strstr(err, why),
			      "'%s' is not '%s...%s'", err, want, why);
	}
}

START_TEST(test_spool_dir_not_taken_over)
{
	char spool[256], err[1024], conf[256];
	struct stat st;

	if (geteuid() != 0) {
		printf("SKIP: test_spool_dir_not_taken_over needs root (chown)\n");
		return;
	}
	/* an existing directory of root's: refused, and left root's 0755 */
	snprintf(spool, sizeof(spool), "%s/var", tmpdir);
	ck_assert_int_eq(mkdir(spool, 0755), 0);
	spool_refused(spool, "exists, owned by uid 0, not this kind's uid");
	ck_assert_int_eq(stat(spool, &st), 0);
	ck_assert_int_eq(st.st_uid, 0);
	ck_assert_int_eq(st.st_mode & 07777, 0755);
	/* someone else's: refused too */
	ck_assert_int_eq(chown(spool, 1234, 1234), 0);
	spool_refused(spool, "owned by uid 1234");
	ck_assert_int_eq(chown(spool, 0, 0), 0);
	/* one that does not exist: made, the kind's, 0700; then it is the
	 * kind's, so the next start takes it as it is */
	snprintf(spool, sizeof(spool), "%s/var/spool/nats", tmpdir);
	ck_assert_msg(spool_try(spool, 0, err, sizeof(err), conf, sizeof(conf)) == 0, "%s", err);
	ck_assert_int_eq(stat(spool, &st), -1); /* check-config makes nothing */
	ck_assert_msg(spool_try(spool, 1, err, sizeof(err), conf, sizeof(conf)) == 0, "%s", err);
	ck_assert_int_eq(stat(spool, &st), 0);
	ck_assert_int_eq(st.st_uid, spool_uid);
	ck_assert_int_eq(st.st_mode & 07777, 0700);
	ck_assert_msg(spool_try(spool, 1, err, sizeof(err), conf, sizeof(conf)) == 0, "%s", err);
	ck_assert_msg(spool_try(spool, 0, err, sizeof(err), conf, sizeof(conf)) == 0, "%s", err);
}
END_TEST

/* An output file right in a sticky world-writable directory (/tmp) is
 * refused: anyone could create it first. Higher up on the path is fine. */
START_TEST(test_output_dir_not_shared)
{
	struct jb_config c;
	char conf[256], text[512], err[1024], want[400];

	if (geteuid() != 0) {
		printf("SKIP: test_output_dir_not_shared needs root (root-owned chain)\n");
		return;
	}
	snprintf(text, sizeof(text), "[printers]\nfile = /tmp/jb-check-config-out.jsonl\n");
	write_tmp(conf, sizeof(conf), "shared.conf", text, strlen(text));
	load_ok(conf, &c);
	ck_assert_int_eq(sup_owner_check(&c, conf, jb_kinds, jb_nkinds, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:2: [printers] file: /tmp/jb-check-config-out.jsonl: its "
		 "directory is writable by group or others (mode 1777, sticky)", conf);
	ck_assert_msg(!strncmp(err, want, strlen(want)), "'%s' is not '%s'", err, want);
	/* the same below a directory of root's in /tmp: accepted */
	snprintf(text, sizeof(text), "[printers]\nfile = %s/out.jsonl\n", tmpdir);
	write_tmp(conf, sizeof(conf), "own.conf", text, strlen(text));
	load_ok(conf, &c);
	ck_assert_msg(sup_owner_check(&c, conf, jb_kinds, jb_nkinds, err, sizeof(err)) == 0, "%s",
		      err);
}
END_TEST

START_TEST(test_spool_dir_apart)
{
	char spool[256], err[1024], conf[256];

	snprintf(spool, sizeof(spool), "%s/lib", tmpdir);
	spool_refused(spool, "the audit key's directory");
	snprintf(spool, sizeof(spool), "%s/log", tmpdir);
	spool_refused(spool, "the audit log's directory");
	snprintf(spool, sizeof(spool), "%s/log/spool", tmpdir);
	spool_refused(spool, "is, holds or lies in the audit log's directory");
	snprintf(spool, sizeof(spool), "%s/etc/spool", tmpdir);
	spool_refused(spool, "the config's directory");
	snprintf(spool, sizeof(spool), "%s/etc/../etc", tmpdir); /* the same, spelled otherwise */
	spool_refused(spool, "the config's directory");
	snprintf(spool, sizeof(spool), "%s", tmpdir); /* above all of them */
	spool_refused(spool, "directory");
	/* below the audit key's directory is where the default spool lives */
	snprintf(spool, sizeof(spool), "%s/lib/spool/nats", tmpdir);
	ck_assert_msg(spool_try(spool, 0, err, sizeof(err), conf, sizeof(conf)) == 0, "%s", err);
}
END_TEST

START_TEST(test_nats_keys)
{
	struct jb_config c;
	char path[256];
	size_t r = kind_index("nats");
	const struct jb_settings_def *d = jb_kinds[r].settings;
	static const struct {
		const char *text;
		int line;
		const char *err;
	} nbad[] = {
		{"[printers]\nnats = yes\n", 2, "[nats] url is required when [printers] nats is on"},
		{"[printers]\nnats = yes\n[nats]\nurl =\n", 4, "[nats] url: no server"},
		{"[printers]\nnats = yes\n[nats]\nurl = http://a\n", 4, "is not nats://HOST"},
		{"[printers]\nnats = yes\n[nats]\nurl = nats://u:p@a\n", 4, "only a host and a port"},
		{"[printers]\nnats = yes\n[nats]\nurl = nats://a:70000\n", 4, "a port is 1..65535"},
		{"[printers]\nnats = yes\n[nats]\nurl = nats://a\nstream = a.b\n", 5,
		 "[nats] stream: 'a.b' is not"},
		{"[printers]\nnats = yes\n[nats]\nurl = nats://a\ncreate_stream = yep\n", 5,
		 "'yep' is not yes or no"},
		{"[printers]\nnats = yes\n[nats]\nurl = nats://a\nsubject_prefix = a..b\n", 5,
		 "[nats] subject_prefix"},
		{"[printers]\nnats = yes\n[nats]\nurl = nats://a\nsubject_prefix = a.*\n", 5,
		 "[nats] subject_prefix"},
		{"[printers]\nnats = yes\n[nats]\nurl = tls://a\n", 2, "needs ca_file"},
		{"[printers]\nnats = yes\n[nats]\nurl = nats://a\ncert_file = /c\n", 2,
		 "needs ca_file"},
		{"[printers]\nnats = yes\n[nats]\nurl = nats://a\nca_file = /ca\ncert_file = /c\n", 2,
		 "cert_file and key_file go together"},
		{"[printers]\nnats = yes\n[nats]\nurl = nats://a\ntoken_file = /t\ncreds_file = /c\n",
		 5, "one of token_file, creds_file and nkey_seed_file"},
		{"[printers]\nnats = yes\n[nats]\nurl = nats://a\nnkey = UABC\nnkey_seed_file = /s\n",
		 5, "not a user's public nkey"},
		{"[printers]\nnats = yes\n[nats]\nurl = nats://a\nspill_ms = 5\n", 5,
		 "spill_ms: '5' is not a number in 10..1000"},
		{"[printers]\nnats = yes\n[nats]\nurl = nats://a\nspool_max_bytes = 1K\n", 5,
		 "spool_max_bytes"},
		{"[printers]\nnats = yes\n[nats]\nurl = nats://a\ntoken_file = t\n", 5,
		 "not an absolute path"},
		{"[nats]\nurl = nats://a\nport = 1\n", 3, "unknown key 'port' in section [nats]"},
		/* a credential over nats:// only to this host itself */
		{"[printers]\nnats = yes\n[nats]\nurl = nats://127.0.0.1, nats://10.0.0.2:4222\n"
		 "token_file = /t\n", 4, "[nats] url: nats://10.0.0.2 is not a loopback address: "
		 "the token would cross the network in clear text"},
		{"[printers]\nnats = yes\n[nats]\nurl = nats://nats.example\ncreds_file = /c\n", 4,
		 "nats://nats.example is not a loopback address: the credentials"},
		{"[printers]\nnats = yes\n[nats]\nurl = tls://[::1], nats://[::2]\nca_file = /ca\n"
		 "nkey = UAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"
		 "nkey_seed_file = /s\n", 4, "nats://[::2] is not a loopback address"},
		{"[printers]\nnats = yes\n[nats]\nurl = nats://128.0.0.1\ntoken_file = /t\n", 4,
		 "use tls:// (with ca_file)"},
		/* the delivery keys it shares with [https] (outbox.h), checked alike */
		{"[printers]\nnats = yes\n[nats]\nurl = nats://a\nspill_ms = 800\nbatch_ms = 900\n", 6,
		 "[nats] batch_ms: batch_ms must be shorter than spill_ms"},
		/* every line durable within the supervisor's 1.5 s drain at shutdown */
		{"[printers]\nnats = yes\n[nats]\nurl = nats://a\nspill_ms = 2000\n", 5,
		 "spill_ms: '2000' is not a number in 10..1000"},
		{"[printers]\nnats = yes\n[nats]\nurl = nats://a\nretry_initial_ms = 900\n"
		 "retry_max_ms = 800\n", 6, "[nats] retry_max_ms: retry_max_ms must be at least"},
		{"[printers]\nnats = yes\n[nats]\nurl = nats://a\nbatch_bytes = 1M\n"
		 "spool_max_bytes = 1M\n", 6, "spool_max_bytes must hold two batches"},
		{"[printers]\nnats = yes\n[nats]\nurl = nats://a\nbatch_lines = 100001\n", 5,
		 "batch_lines: '100001' is not a number in 1..100000"},
	};
	static const char ngood[] = "[printers]\nnats = yes\n[nats]\n"
				   "url = nats://10.0.0.1, tls://[::1]:4443 ,nats://n.example\n"
				   "ca_file = /etc/ca.pem\nspool_max_bytes = 1G\n";

	/* jibril.conf writes every key at its default, and nats is off */
	snprintf(path, sizeof(path), "%s/jibril.conf", src_dir());
	load_ok(path, &c);
	ck_assert_int_eq(jb_config_kind_enabled(&c, &jb_kinds[r]), 0);
	for (size_t i = 0; i < d->nkeys; i++) {
		int line;
		const char *v = jb_config_setting(&c, r, i, &line);

		ck_assert_msg(line > 0, "[nats] %s is not in jibril.conf", d->keys[i].name);
		ck_assert_msg(!strcmp(v, d->keys[i].dflt ? d->keys[i].dflt : ""),
			      "[nats] %s = %s in jibril.conf, default %s", d->keys[i].name, v,
			      d->keys[i].dflt);
	}
	for (size_t i = 0; i < sizeof(nbad) / sizeof(nbad[0]); i++) {
		write_tmp(path, sizeof(path), "nats.conf", nbad[i].text, strlen(nbad[i].text));
		expect_error(path, nbad[i].line, nbad[i].err);
	}
	write_tmp(path, sizeof(path), "nats.conf", ngood, sizeof(ngood) - 1);
	load_ok(path, &c);
	/* credentials over nats:// to loopback addresses, or over tls:// */
	{
		static const char *const creds_ok[] = {
			"[printers]\nnats = yes\n[nats]\nurl = nats://127.0.0.1, nats://127.9.9.9:4223,"
			" nats://[::1], nats://LocalHost\ntoken_file = /t\n",
			"[printers]\nnats = yes\n[nats]\nurl = tls://10.0.0.1, nats://localhost\n"
			"ca_file = /ca\ncreds_file = /c\n",
			"[printers]\nnats = yes\n[nats]\nurl = nats://10.0.0.1\n", /* no credential */
		};
		struct jb_config c2;

		for (size_t i = 0; i < sizeof(creds_ok) / sizeof(creds_ok[0]); i++) {
			write_tmp(path, sizeof(path), "nats.conf", creds_ok[i], strlen(creds_ok[i]));
			load_ok(path, &c2);
		}
	}
	ck_assert_int_eq(jb_config_kind_enabled(&c, &jb_kinds[r]), 1);
	ck_assert_str_eq(jb_config_setting_get(&c, r, "stream", NULL), "JIBRIL");
	/* one delivery mechanism: every delivery key of [https] is in [nats]
	 * with the same type and range (only spool_dir's and batch_ms's
	 * defaults differ) */
	{
		const struct jb_settings_def *h = jb_kinds[kind_index("https")].settings;
		static const char *const shared[] = {"spool_dir", "spool_max_bytes",
						     "memory_max_bytes", "spill_ms", "batch_lines",
						     "batch_bytes", "batch_ms", "retry_initial_ms",
						     "retry_max_ms"};

		for (size_t k = 0; k < sizeof(shared) / sizeof(shared[0]); k++) {
			const struct jb_setting *a = NULL, *b = NULL;

			for (size_t i = 0; i < h->nkeys; i++)
				if (!strcmp(h->keys[i].name, shared[k]))
					a = &h->keys[i];
			for (size_t i = 0; i < d->nkeys; i++)
				if (!strcmp(d->keys[i].name, shared[k]))
					b = &d->keys[i];
			ck_assert_msg(a && b, "%s is not in both [https] and [nats]", shared[k]);
			ck_assert_msg(a->type == b->type && a->min == b->min && a->max == b->max,
				      "%s differs between [https] and [nats]", shared[k]);
			if (strcmp(shared[k], "spool_dir") && strcmp(shared[k], "batch_ms"))
				ck_assert_str_eq(a->dflt, b->dflt);
		}
	}
}
END_TEST

/* The url and .creds parsers and the subject tokens. */
START_TEST(test_nats_parsers)
{
	struct prn_nats_url u;
	char err[256], jwt[64], seed[64], tok[80];
	static const char creds[] =
		"-----BEGIN NATS USER JWT-----\neyJhbGciOi.x.y\n------END NATS USER JWT------\n\n"
		"************************* IMPORTANT *************************\n"
		"-----BEGIN USER NKEY SEED-----\nSUAIBDPBAUTW\n------END USER NKEY SEED------\n";

	ck_assert_int_eq(prn_nats_url_parse("tls://[fe80::1]:99", 18, &u, err, sizeof(err)), 0);
	ck_assert_int_eq(u.tls, 1);
	ck_assert_str_eq(u.host, "fe80::1");
	ck_assert_uint_eq(u.port, 99);
	ck_assert_int_eq(prn_nats_url_parse("nats://h", 8, &u, err, sizeof(err)), 0);
	ck_assert_uint_eq(u.port, 4222);
	ck_assert_int_eq(prn_nats_url_parse("nats://h:", 9, &u, err, sizeof(err)), -1);
	ck_assert_int_eq(prn_nats_url_parse("nats://[::1", 11, &u, err, sizeof(err)), -1);
	ck_assert_int_eq(prn_nats_url_parse("nats://h/x", 10, &u, err, sizeof(err)), -1);
	ck_assert_int_eq(prn_nats_creds_parse(creds, sizeof(creds) - 1, jwt, sizeof(jwt), seed,
					      sizeof(seed)), 0);
	ck_assert_str_eq(jwt, "eyJhbGciOi.x.y");
	ck_assert_str_eq(seed, "SUAIBDPBAUTW");
	/* no seed, or a value too long for its buffer: refused */
	ck_assert_int_eq(prn_nats_creds_parse(creds, 60, jwt, sizeof(jwt), seed, sizeof(seed)), -1);
	ck_assert_int_eq(prn_nats_creds_parse(creds, sizeof(creds) - 1, jwt, 8, seed, sizeof(seed)),
			 -1);
	prn_nats_token(tok, sizeof(tok), "web-1.prod *>");
	ck_assert_str_eq(tok, "web-1_prod___");
	prn_nats_token(tok, sizeof(tok), "");
	ck_assert_str_eq(tok, "_");
	prn_nats_token(tok, sizeof(tok), NULL);
	ck_assert_str_eq(tok, "_");
}
END_TEST

/* --- the kind-derived keys and the children's ids --------------------------- */

START_TEST(test_kind_keys)
{
	struct jb_config c;
	char path[256], err[JB_CONF_ERR_MAX];
	static const char kinds[] =
	    "[workers]\nnetwork = no\n[printers]\nfile = /var/log/j.json\nstdout = off\n";
	static const char unknown[] = "[workers]\nstdout = yes\n";
	static const char twice[] = "[printers]\nfile = /a\nfile = /b\n";

	/* every row of the table is a key of its role's section */
	write_tmp(path, sizeof(path), "kinds.conf", kinds, sizeof(kinds) - 1);
	load_ok(path, &c);
	ck_assert_int_eq(ON(&c, "network"), 0);
	ck_assert_int_eq(ON(&c, "file_access"), 1);
	ck_assert_int_eq(ON(&c, "stdout"), 0);
	ck_assert_str_eq(c.printer_file, "/var/log/j.json");
	ck_assert_ptr_null(jb_config_kind(&c, "file")); /* a path row: no boolean */
	ck_assert_int_eq(jb_config_kind_on(&c, "nonesuch"), -1);
	/* a printer is not a worker key, and a key is given once */
	write_tmp(path, sizeof(path), "unknown.conf", unknown, sizeof(unknown) - 1);
	expect_error(path, 2, "unknown key 'stdout' in section [workers]");
	write_tmp(path, sizeof(path), "twice.conf", twice, sizeof(twice) - 1);
	expect_error(path, 3, "duplicate key 'file' in section [printers] (first set on line 2)");
	/* the 'no printer' message names every printer row */
	sample_path(path, sizeof(path), "bad-no-printer.conf");
	jb_config_defaults(&c);
	ck_assert_int_eq(jb_config_load(&c, path, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "set [printers] stdout = yes or file = /absolute/path"), "got '%s'",
		      err);
}
END_TEST

/* A kind's own section ([https]: the row's settings table). */
static size_t row_of(const char *name)
{
	for (size_t i = 0; i < jb_nkinds; i++)
		if (!strcmp(jb_kinds[i].name, name))
			return i;
	ck_abort_msg("no kind %s", name);
	return 0;
}

START_TEST(test_kind_sections)
{
	struct jb_config c, d;
	char path[256];
	int line;
	size_t r = row_of("https");
	static const char on[] =
	    "[printers]\nhttps = yes\n[https]\nurl = https://siem.example.com:8443/in\n"
	    "batch_bytes = 64K\nspool_max_bytes = 2G\nauth_header = X-Api-Key\nauth_scheme =\n";
	static const char off[] = "[https]\nbatch_lines = 7\n";

	write_tmp(path, sizeof(path), "https.conf", on, sizeof(on) - 1);
	load_ok(path, &c);
	ck_assert_str_eq(jb_config_setting_get(&c, r, "url", &line), "https://siem.example.com:8443/in");
	ck_assert_int_eq(line, 4);
	ck_assert_str_eq(jb_config_setting_get(&c, r, "batch_bytes", NULL), "64K");
	ck_assert_str_eq(jb_config_setting_get(&c, r, "auth_scheme", NULL), "");
	/* what is not set is its default, with no line */
	ck_assert_str_eq(jb_config_setting_get(&c, r, "spool_dir", &line),
			 "/var/lib/jibril/spool/https");
	ck_assert_int_eq(line, 0);
	ck_assert_ptr_null(jb_config_setting_get(&c, r, "nonesuch", NULL));
	{
		/* sizes and numbers as the child gets them */
		const struct jb_setting *k = NULL;
		uint64_t n;

		for (size_t i = 0; i < jb_kinds[r].settings->nkeys; i++)
			if (!strcmp(jb_kinds[r].settings->keys[i].name, "spool_max_bytes"))
				k = &jb_kinds[r].settings->keys[i];
		ck_assert_ptr_nonnull(k);
		ck_assert_int_eq(jb_config_setting_num(k, "2G", &n), 0);
		ck_assert_uint_eq(n, 2ull << 30);
		ck_assert_int_eq(jb_config_setting_num(k, "1023K", &n), -1); /* below 1M */
		ck_assert_int_eq(jb_config_setting_num(k, "2X", &n), -1);
	}
	jb_config_defaults(&d);
	ck_assert(jb_config_settings_differ(&c, &d));
	ck_assert(!jb_config_settings_differ(&d, &d));
	/* a section of a kind that is off is parsed, not required */
	write_tmp(path, sizeof(path), "off.conf", off, sizeof(off) - 1);
	load_ok(path, &c);
	ck_assert_str_eq(jb_config_setting_get(&c, r, "batch_lines", NULL), "7");

	/* the errors, each at its line */
#define BAD(text, ln, msg)                                                          \
	do {                                                                        \
		static const char t[] = text;                                       \
		write_tmp(path, sizeof(path), "bad.conf", t, sizeof(t) - 1);        \
		expect_error(path, ln, msg);                                        \
	} while (0)
	BAD("[printers]\nhttps = yes\n", 2, "[https] url is required when [printers] https is on");
	BAD("[printers]\nhttps = yes\n[https]\nurl = http://siem.example.com/in\n", 4,
	    "[https] url: 'http://siem.example.com/in' is not an https:// URL");
	BAD("[printers]\nhttps = yes\n[https]\nurl = https://:8443/in\n", 4, "is not an https:// URL");
	BAD("[https]\nnonesuch = 1\n", 2, "unknown key 'nonesuch' in section [https]");
	BAD("[https]\nbatch_lines = 0\n", 2, "batch_lines: '0' is not a number in 1..100000");
	BAD("[https]\nbatch_bytes = 1T\n", 2, "batch_bytes: '1T' is not a size");
	BAD("[https]\ntoken_file = etc/token\n", 2, "token_file: 'etc/token' is not an absolute path");
	BAD("[https]\nurl = https://a/\x01\n", 2, "url: a control character");
	BAD("[https]\nauth_scheme =;x\n", 2, "auth_scheme: a value may not begin with ';'");
	BAD("[https]\nbatch_ms = 5\nbatch_ms = 6\n", 3, "duplicate key 'batch_ms' in section [https]");
	BAD("[printers]\nhttps = yes\n[https]\nurl = https://a.example/\nretry_initial_ms = 900\n"
	    "retry_max_ms = 800\n", 6, "retry_max_ms must be at least retry_initial_ms");
	BAD("[printers]\nhttps = yes\n[https]\nurl = https://a.example/\nbatch_bytes = 1M\n"
	    "spool_max_bytes = 1M\n", 6, "spool_max_bytes must hold two batches");
	BAD("[printers]\nhttps = yes\n[https]\nurl = https://a.example/\nspill_ms = 500\n"
	    "batch_ms = 500\n", 6, "[https] batch_ms: batch_ms must be shorter than spill_ms");
	BAD("[https]\nmemory_max_bytes = 1K\n", 2, "memory_max_bytes: '1K' is not a size");
	BAD("[printers]\nhttps = yes\n[https]\nurl = https://a.example/\nauth_header = a b\n", 5,
	    "'a b' is not a header name");
	BAD("[stdout]\nx = 1\n", 1, "unknown section [stdout]");
#undef BAD
}
END_TEST

/* [summary]: the summary printer's section; off by default, every key at
 * its default in jibril.conf, required keys and checks at their lines */
START_TEST(test_summary_keys)
{
	struct jb_config c;
	char path[4096];
	size_t r = row_of("summary");
	const struct jb_settings_def *d = jb_kinds[r].settings;
	static const char on[] = "[printers]\nsummary = yes\n[summary]\n"
				 "url = https://llm.example:8443/v1/chat/completions\n"
				 "model = gpt-4o-mini\napi_key_file = /etc/jibril/openai.key\n"
				 "interval_s = 2\nmax_detections = 5\nretries = 0\n";

	snprintf(path, sizeof(path), "%s/jibril.conf", src_dir());
	load_ok(path, &c);
	ck_assert_int_eq(jb_config_kind_enabled(&c, &jb_kinds[r]), 0);
	for (size_t i = 0; i < d->nkeys; i++) {
		int line;
		const char *v = jb_config_setting(&c, r, i, &line);

		ck_assert_msg(line > 0, "[summary] %s is not in jibril.conf", d->keys[i].name);
		ck_assert_msg(!strcmp(v, d->keys[i].dflt ? d->keys[i].dflt : ""),
			      "[summary] %s = %s in jibril.conf, default %s", d->keys[i].name, v,
			      d->keys[i].dflt);
	}
	write_tmp(path, sizeof(path), "sum.conf", on, sizeof(on) - 1);
	load_ok(path, &c);
	ck_assert_int_eq(jb_config_kind_enabled(&c, &jb_kinds[r]), 1);
	ck_assert_str_eq(jb_config_setting_get(&c, r, "interval_s", NULL), "2");
	ck_assert_str_eq(jb_config_setting_get(&c, r, "timeout_ms", NULL), "60000");

#define BAD(text, ln, msg)                                                          \
	do {                                                                        \
		static const char t[] = text;                                       \
		write_tmp(path, sizeof(path), "bad.conf", t, sizeof(t) - 1);        \
		expect_error(path, ln, msg);                                        \
	} while (0)
#define SUM_ON "[printers]\nsummary = yes\n[summary]\n"
	BAD("[printers]\nsummary = yes\n", 2,
	    "[summary] url is required when [printers] summary is on");
	BAD(SUM_ON "url = https://a.example/v1\napi_key_file = /k\n", 2,
	    "[summary] model is required when [printers] summary is on");
	BAD(SUM_ON "url = https://a.example/v1\nmodel = m\n", 2,
	    "[summary] api_key_file is required when [printers] summary is on");
	BAD(SUM_ON "url = http://a.example/v1\nmodel = m\napi_key_file = /k\n", 4,
	    "[summary] url: 'http://a.example/v1' is not an https:// URL");
	BAD(SUM_ON "url = https://a.example/v1\nmodel = gpt 4\napi_key_file = /k\n", 5,
	    "[summary] model: 'gpt 4' is not a model name");
	BAD(SUM_ON "url = https://a.example/v1\nmodel = m\napi_key_file = k\n", 6,
	    "api_key_file: 'k' is not an absolute path");
	BAD("[summary]\ninterval_s = 0\n", 2, "interval_s: '0' is not a number in 1..86400");
	BAD("[summary]\ninterval_s = 86401\n", 2, "interval_s: '86401' is not a number");
	BAD("[summary]\nmax_detections = 0\n", 2, "max_detections: '0' is not a number");
	BAD("[summary]\nretries = 11\n", 2, "retries: '11' is not a number in 0..10");
	BAD("[summary]\ntimeout_ms = 99\n", 2, "timeout_ms: '99' is not a number");
	BAD("[summary]\nmax_items = 1001\n", 2, "max_items: '1001' is not a number in 1..1000");
	BAD("[summary]\nverify = no\n", 2, "unknown key 'verify' in section [summary]");
#undef SUM_ON
#undef BAD
}
END_TEST

/* [exporter]: enabled by its own section's listen key, checked address */
START_TEST(test_exporter_keys)
{
	struct jb_config c;
	char path[4096];
	size_t r = row_of("exporter");
	const struct jb_settings_def *d = jb_kinds[r].settings;
	static const char on[] = "[exporter]\nlisten = 127.0.0.1:9464\nhealthz_backoff_ms = 0\n";
	static const char on6[] = "[exporter]\nlisten = [::1]:1\n";
	static const char wide[] = "[exporter]\nlisten = 0.0.0.0:9464\nallow_non_loopback = yes\n";

	/* jibril.conf writes every key at its default, and the exporter is off */
	snprintf(path, sizeof(path), "%s/jibril.conf", src_dir());
	load_ok(path, &c);
	ck_assert_int_eq(jb_config_kind_enabled(&c, &jb_kinds[r]), 0);
	for (size_t i = 0; i < d->nkeys; i++) {
		int line;
		const char *v = jb_config_setting(&c, r, i, &line);

		ck_assert_msg(line > 0, "[exporter] %s is not in jibril.conf", d->keys[i].name);
		ck_assert_msg(!strcmp(v, d->keys[i].dflt), "[exporter] %s = %s in jibril.conf, "
			      "default %s", d->keys[i].name, v, d->keys[i].dflt);
	}
	/* no [workers]/[printers] key of its own */
	ck_assert_ptr_null(jb_config_kind(&c, "exporter"));
	ck_assert_str_eq(jb_config_kind_section(&jb_kinds[r]), "exporter");
	write_tmp(path, sizeof(path), "exp.conf", on, sizeof(on) - 1);
	load_ok(path, &c);
	ck_assert_int_eq(jb_config_kind_enabled(&c, &jb_kinds[r]), 1);
	ck_assert_str_eq(jb_config_setting_get(&c, r, "healthz_backoff_ms", NULL), "0");
	write_tmp(path, sizeof(path), "exp.conf", on6, sizeof(on6) - 1);
	load_ok(path, &c);
	ck_assert_int_eq(jb_config_kind_enabled(&c, &jb_kinds[r]), 1);
	write_tmp(path, sizeof(path), "exp.conf", wide, sizeof(wide) - 1);
	load_ok(path, &c);

#define BAD(text, ln, msg)                                                          \
	do {                                                                        \
		static const char t[] = text;                                       \
		write_tmp(path, sizeof(path), "bad.conf", t, sizeof(t) - 1);        \
		expect_error(path, ln, msg);                                        \
	} while (0)
	BAD("[printers]\nexporter = yes\n", 2, "unknown key 'exporter' in section [printers]");
	BAD("[exporter]\nlisten = 10.0.0.1:9464\n", 2,
	    "[exporter] listen: 10.0.0.1:9464 is not a loopback address: the metrics would be "
	    "open to the network (set allow_non_loopback = yes to mean it)");
	BAD("[exporter]\nallow_non_loopback = no\nlisten = [::]:9464\n", 3,
	    "[::]:9464 is not a loopback address");
	BAD("[exporter]\nlisten = localhost:9464\n", 2,
	    "[exporter] listen: 'localhost:9464' is not ADDRESS:PORT");
	BAD("[exporter]\nlisten = 127.0.0.1\n", 2, "is not ADDRESS:PORT");
	BAD("[exporter]\nlisten = 127.0.0.1:0\n", 2, "is not ADDRESS:PORT");
	BAD("[exporter]\nlisten = 127.0.0.1:65536\n", 2, "is not ADDRESS:PORT");
	BAD("[exporter]\nlisten = 127.0.0.1:94x\n", 2, "is not ADDRESS:PORT");
	BAD("[exporter]\nlisten = ::1:9464\n", 2, "is not ADDRESS:PORT");
	BAD("[exporter]\nlisten = [::1:9464\n", 2, "is not ADDRESS:PORT");
	BAD("[exporter]\nlisten = 127.0.0.1:9464\nallow_non_loopback = maybe\n", 3,
	    "[exporter] allow_non_loopback: 'maybe' is not a boolean");
	BAD("[exporter]\nhealthz_backoff_ms = 3600001\n", 2,
	    "healthz_backoff_ms: '3600001' is not a number in 0..3600000");
	BAD("[exporter]\nport = 9464\n", 2, "unknown key 'port' in section [exporter]");
#undef BAD
}
END_TEST

START_TEST(test_child_ids)
{
	struct jb_config c;
	char path[256], err[JB_CONF_ERR_MAX], want[400];
	static const char daemon_uid[] = "# ids\n[agent]\nchild_uid_base = 1\n";
	static const char nobody[] = "[agent]\nchild_uid_base = 65530\n";

	/* the default base: no account owns it here */
	jb_config_defaults(&c);
	ck_assert_msg(jb_config_check_ids(&c, "x.conf", err, sizeof(err)) == 0, "%s", err);
	/* uid 1 is an account (daemon) on Debian: refused, with the key's line */
	write_tmp(path, sizeof(path), "ids.conf", daemon_uid, sizeof(daemon_uid) - 1);
	load_ok(path, &c);
	ck_assert_int_eq(c.child_uid_base_line, 3);
	ck_assert_int_eq(jb_config_check_ids(&c, path, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:3: child_uid_base: id 1 (kind file_access) is ", path);
	ck_assert_msg(!strncmp(err, want, strlen(want)) && strstr(err, "account database"),
		      "got '%s'", err);
	/* nobody's 65534 is in the range of the fifth kind */
	write_tmp(path, sizeof(path), "nobody.conf", nobody, sizeof(nobody) - 1);
	load_ok(path, &c);
	ck_assert_int_eq(jb_config_check_ids(&c, path, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, ":2: child_uid_base: id 65534"), "got '%s'", err);
}
END_TEST

/* --- inih options: inline comments etc. ------------------------------------ */

START_TEST(test_inih_options)
{
	bool ml = ini_allow_multiline, st = ini_use_stack, stop = ini_stop_on_first_error;
	int maxl = ini_max_line, init = ini_initial_alloc;
	char *pre = ini_inline_comment_prefixes;
	struct jb_config c;
	char path[4096];

	/* "key = value ; comment" is accepted (inih INI_ALLOW_INLINE_COMMENTS) */
	sample_path(path, sizeof(path), "good-inline-comments.conf");
	load_ok(path, &c);
	ck_assert_uint_eq(c.cadence_ms, 2000);
	ck_assert_int_eq(c.log_level, LOG_L_ERR);
	ck_assert_str_eq(c.printer_file, "/var/log/a;b.json");
	/* ...but "#" after a value, ";" without whitespace, continuation lines
	 * (inih INI_ALLOW_MULTILINE) and ':' separators are not */
	expect_sample_error("bad-hash-inline.conf", 3, "is not a boolean");
	expect_sample_error("bad-semicolon-no-space.conf", 3, "is not a number");
	expect_sample_error("bad-continuation.conf", 3, "continuation");
	expect_sample_error("bad-colon-separator.conf", 2, "separator");

	/* a caller's inih settings survive a load */
	ck_assert_int_eq(ini_allow_multiline, ml);
	ck_assert_int_eq(ini_use_stack, st);
	ck_assert_int_eq(ini_stop_on_first_error, stop);
	ck_assert_int_eq(ini_max_line, maxl);
	ck_assert_int_eq(ini_initial_alloc, init);
	ck_assert_ptr_eq(ini_inline_comment_prefixes, pre);
}
END_TEST

/* --- long lines, long paths, NUL bytes ------------------------------------- */

START_TEST(test_limits)
{
	static char buf[10000];
	char path[256];
	struct jb_config c;
	size_t n;

	/* a 4095-character absolute path fits (of names that leave room for
	 * the rotated copies' ".N") */
	n = (size_t)snprintf(buf, sizeof(buf), "[printers]\nfile = /");
	memset(buf + n, 'p', 4094);
	for (size_t i = 200; i < 4094; i += 200)
		buf[n + i] = '/';
	n += 4094;
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "\n[agent]\ncadence_ms = 77\n");
	write_tmp(path, sizeof(path), "path4095.conf", buf, n);
	load_ok(path, &c);
	ck_assert_uint_eq(strlen(c.printer_file), 4095);
	ck_assert_uint_eq(c.cadence_ms, 77);

	/* 4096 characters do not */
	n = (size_t)snprintf(buf, sizeof(buf), "[printers]\nfile = /");
	memset(buf + n, 'p', 4095);
	n += 4095;
	buf[n++] = '\n';
	write_tmp(path, sizeof(path), "path4096.conf", buf, n);
	expect_error(path, 2, "file: path is too long (4096 characters, max 4095)");

	/* an overlong line is an error on its own line, not split in two */
	n = (size_t)snprintf(buf, sizeof(buf), "[agent]\n# ");
	memset(buf + n, 'c', 9000);
	n += 9000;
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "\ncadence_ms = 100\n");
	write_tmp(path, sizeof(path), "longline.conf", buf, n);
	expect_error(path, 2, "line too long (max 8189 characters)");

	/* a NUL byte inside a line */
	static const char nul[] = "[agent]\ncadence_ms = 1\0" "00\n";
	write_tmp(path, sizeof(path), "nul.conf", nul, sizeof(nul) - 1);
	expect_error(path, 2, "line contains a NUL byte");

	/* [recipes] dir: 4095 characters fit, 4096 do not */
	n = (size_t)snprintf(buf, sizeof(buf), "[recipes]\ndir = /");
	memset(buf + n, 'd', 4094);
	n += 4094;
	buf[n++] = '\n';
	write_tmp(path, sizeof(path), "dir4095.conf", buf, n);
	load_ok(path, &c);
	ck_assert_uint_eq(strlen(c.recipes_dir), 4095);
	n = (size_t)snprintf(buf, sizeof(buf), "[recipes]\ndir = /");
	memset(buf + n, 'd', 4095);
	n += 4095;
	buf[n++] = '\n';
	write_tmp(path, sizeof(path), "dir4096.conf", buf, n);
	expect_error(path, 2, "dir: path is too long (4096 characters, max 4095)");

	/* [recipes] disable: 4095 characters fit, 4096 do not */
	n = (size_t)snprintf(buf, sizeof(buf), "\n[recipes]\ndisable = ");
	for (size_t k = 0; k < 4095; k++)
		buf[n++] = k % 8 == 7 ? ',' : 'k';
	buf[n++] = '\n';
	write_tmp(path, sizeof(path), "dis4095.conf", buf, n);
	load_ok(path, &c);
	ck_assert_uint_eq(strlen(c.recipes_disable), 4095);
	ck_assert_int_eq(c.recipes_disable_line, 3);
	buf[n - 1] = 'k';
	buf[n++] = '\n';
	write_tmp(path, sizeof(path), "dis4096.conf", buf, n);
	expect_error(path, 3, "disable: list is too long (max 4095 characters)");
}
END_TEST

/* An empty disable is allowed and still records its line (for the
 * supervisor's "no such recipe" errors it has nothing to name). */
START_TEST(test_recipes_keys)
{
	static const char empty[] = "[recipes]\n\ndisable =\nsummary_s = 30\n";
	char path[256];
	struct jb_config c;

	write_tmp(path, sizeof(path), "empty-disable.conf", empty, sizeof(empty) - 1);
	load_ok(path, &c);
	ck_assert_str_eq(c.recipes_disable, "");
	ck_assert_uint_eq(c.summary_s, 30);
	ck_assert_str_eq(c.recipes_dir, "");
}
END_TEST

/* [limits]: sizes with K/M/G/T, "max" for none, N% of one CPU; the first
 * line that sets a limit is remembered (cgroup.c refuses to start without
 * cgroups then, naming it); every mistake names its line. */
START_TEST(test_limits_keys)
{
	static const char set[] =
	    "[limits]\nworker_pids = max\nworker_memory = 1G\nworker_cpu = 250%\n"
	    "printer_memory = 16384k\nprinter_pids = 1\nprinter_cpu = max\n";
	static const char bytes[] = "[limits]\nworker_memory = 16777216\nprinter_memory = 1T\n";
	static const char all_max[] =
	    "[limits]\nworker_memory = max\nworker_pids = max\nworker_cpu = max\n";
	static const struct {
		const char *value, *msg;
	} bad_values[] = {
		{"worker_memory = 15M", "worker_memory: 15M is out of range 16M..1T"},
		{"worker_memory = 1025G", "worker_memory: 1025G is out of range 16M..1T"},
		{"worker_memory = 0", "worker_memory: 0 is out of range 16M..1T"},
		{"worker_memory = 99999999999999999999999", "is out of range 16M..1T"},
		{"printer_memory = 256MB", "printer_memory: '256MB' is not a size"},
		{"printer_memory = 256 M", "printer_memory: '256 M' is not a size"},
		{"printer_memory = -1", "printer_memory: '-1' is not a size"},
		{"printer_memory = M", "printer_memory: 'M' is not a size"},
		{"worker_memory =", "worker_memory: '' is not a size"},
		{"worker_cpu = 50", "worker_cpu: '50' is not a CPU share"},
		{"worker_cpu = 50 %", "worker_cpu: '50 %' is not a CPU share"},
		{"worker_cpu = %", "worker_cpu: '%' is not a CPU share"},
		{"printer_cpu = 0%", "printer_cpu: 0% is out of range 1%..10000%"},
		{"printer_cpu = 10001%", "printer_cpu: 10001% is out of range 1%..10000%"},
		{"worker_pids = 0", "worker_pids: 0 is out of range 1..4194304"},
		{"worker_pids = unlimited", "worker_pids: 'unlimited' is not a number"},
		{"worker_pids = MAX", "worker_pids: 'MAX' is not a number"},
		{"worker_swap = 0", "unknown key 'worker_swap' in section [limits]"},
	};
	char path[256], text[256];
	struct jb_config c;
	int n;

	write_tmp(path, sizeof(path), "limits.conf", set, sizeof(set) - 1);
	load_ok(path, &c);
	ck_assert_uint_eq(c.limits_worker.memory, 1ull << 30);
	ck_assert_uint_eq(c.limits_worker.pids, 0);
	ck_assert_uint_eq(c.limits_worker.cpu_pct, 250);
	ck_assert_uint_eq(c.limits_printer.memory, 16ull << 20);
	ck_assert_uint_eq(c.limits_printer.pids, 1);
	ck_assert_uint_eq(c.limits_printer.cpu_pct, 0);
	ck_assert_int_eq(c.limits_line, 3); /* "max" on line 2 is not a limit */

	write_tmp(path, sizeof(path), "bytes.conf", bytes, sizeof(bytes) - 1);
	load_ok(path, &c);
	ck_assert_uint_eq(c.limits_worker.memory, 16ull << 20);
	ck_assert_uint_eq(c.limits_printer.memory, 1ull << 40);
	ck_assert_int_eq(c.limits_line, 2);

	write_tmp(path, sizeof(path), "max.conf", all_max, sizeof(all_max) - 1);
	load_ok(path, &c);
	ck_assert_uint_eq(c.limits_worker.memory, 0);
	ck_assert_int_eq(c.limits_line, 0);
	ck_assert_uint_eq(c.limits_printer.memory, 128ull << 20); /* untouched: its default */

	for (size_t i = 0; i < sizeof(bad_values) / sizeof(bad_values[0]); i++) {
		n = snprintf(text, sizeof(text), "[agent]\ncadence_ms = 500\n\n[limits]\n%s\n",
			     bad_values[i].value);
		write_tmp(path, sizeof(path), "bad-limits.conf", text, (size_t)n);
		expect_error(path, 5, bad_values[i].msg);
	}
	n = snprintf(text, sizeof(text), "[limits]\nworker_cpu = 10%%\nworker_cpu = 20%%\n");
	write_tmp(path, sizeof(path), "twice-limits.conf", text, (size_t)n);
	expect_error(path, 3, "duplicate key 'worker_cpu' in section [limits] (first set on line 2)");
}
END_TEST

/* jibril.conf shows the [limits] keys commented out with their defaults:
 * uncommented, they load to exactly the built-in defaults (with the line
 * of the first one remembered). */
START_TEST(test_limits_documented)
{
	char path[4096], out[256], line[512];
	struct jb_config c, want;
	FILE *in, *f;
	int keys = 0, in_limits = 0;

	snprintf(path, sizeof(path), "%s/jibril.conf", src_dir());
	in = fopen(path, "r");
	ck_assert_ptr_nonnull(in);
	snprintf(out, sizeof(out), "%s/limits-uncommented.conf", tmpdir);
	f = fopen(out, "w");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), in)) {
		in_limits |= !strcmp(line, "[limits]\n");
		if (in_limits && (!strncmp(line, "# worker_", 9) || !strncmp(line, "# printer_", 10))) {
			fputs(line + 2, f);
			keys++;
		} else {
			fputs(line, f);
		}
	}
	fclose(in);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(keys, 6);
	load_ok(out, &c);
	jb_config_defaults(&want);
	ck_assert_int_gt(c.limits_line, 0);
	want.limits_line = c.limits_line;
	want.recipes_disable_line = c.recipes_disable_line;
	assert_cfg_eq(&c, &want);
}
END_TEST

/* [agent] backlog_bytes: 4 MiB..4 GiB-1; and what the load records for
 * supervisor/owner.c: the parsed file's owner and mode, the line of each
 * key that names a file. */
START_TEST(test_backlog_and_file_facts)
{
	static const char lo[] = "[agent]\nbacklog_bytes = 4194303\n";
	static const char ok[] = "[agent]\nbacklog_bytes = 4194304\n\n[recipes]\ndir = /etc/r\n"
				 "[printers]\nfile = /var/log/j.json\n";
	static const char hi[] = "[agent]\nbacklog_bytes = 4294967295\n";
	static const char over[] = "[agent]\nbacklog_bytes = 4294967296\n";
	const struct jb_kind *file = jb_kind_find(jb_kinds, jb_nkinds, "file");
	char path[256];
	struct jb_config c;
	struct stat st;

	write_tmp(path, sizeof(path), "lo.conf", lo, sizeof(lo) - 1);
	expect_error(path, 2, "backlog_bytes: 4194303 is out of range 4194304..4294967295");
	write_tmp(path, sizeof(path), "over.conf", over, sizeof(over) - 1);
	expect_error(path, 2, "backlog_bytes: 4294967296 is out of range");
	write_tmp(path, sizeof(path), "hi.conf", hi, sizeof(hi) - 1);
	load_ok(path, &c);
	ck_assert_uint_eq(c.backlog_bytes, 4294967295u);
	ck_assert_int_eq(c.recipes_dir_line, 0);
	write_tmp(path, sizeof(path), "ok.conf", ok, sizeof(ok) - 1);
	ck_assert_int_eq(chmod(path, 0640), 0);
	load_ok(path, &c);
	ck_assert_uint_eq(c.backlog_bytes, 4194304u);
	ck_assert_int_eq(c.recipes_dir_line, 5);
	ck_assert_ptr_nonnull(file);
	ck_assert_int_eq(c.kind_line[file - jb_kinds], 7);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(c.conf_uid, st.st_uid);
	ck_assert_uint_eq(c.conf_mode & 07777, 0640);
}
END_TEST

/* [printers] file_max_bytes (0, or 64 KiB..4 GiB-1) and file_keep
 * (1..1000): each bad value names its line; the file's name with ".N"
 * must be a valid file name (the later of the two lines). */
START_TEST(test_file_rotation_keys)
{
	static const struct {
		const char *text;
		int line;
		const char *err;
	} rot_bad[] = {
		{"[printers]\nfile_max_bytes = 65535\n", 2,
		 "file_max_bytes: 65535 is too small: 0 (never rotate by size) or at least 65536"},
		{"[printers]\nfile = /var/log/j.json\n\nfile_max_bytes = 1\n", 4,
		 "file_max_bytes: 1 is too small"},
		{"[printers]\nfile_max_bytes = 4294967296\n", 2,
		 "file_max_bytes: 4294967296 is out of range 0..4294967295"},
		{"[printers]\nfile_max_bytes = 1M\n", 2, "file_max_bytes: '1M' is not a number"},
		{"[printers]\nfile_max_bytes = -1\n", 2, "negative values are not allowed"},
		{"[printers]\nfile_keep = 0\n", 2, "file_keep: 0 is out of range 1..1000"},
		{"[printers]\nfile_keep = 1001\n", 2, "file_keep: 1001 is out of range 1..1000"},
		{"[printers]\nfile_keep = 2\nfile_keep = 3\n", 3,
		 "duplicate key 'file_keep' in section [printers] (first set on line 2)"},
		{"[agent]\nfile_keep = 2\n", 2, "unknown key 'file_keep' in section [agent]"},
	};
	char path[256], text[512], name[256];
	struct jb_config c;
	int n;

	for (size_t i = 0; i < sizeof(rot_bad) / sizeof(rot_bad[0]); i++) {
		write_tmp(path, sizeof(path), "rot.conf", rot_bad[i].text, strlen(rot_bad[i].text));
		expect_error(path, rot_bad[i].line, rot_bad[i].err);
	}
	n = snprintf(text, sizeof(text), "[printers]\nfile_max_bytes = 0\nfile_keep = 1000\n");
	write_tmp(path, sizeof(path), "rot.conf", text, (size_t)n);
	load_ok(path, &c);
	ck_assert_uint_eq(c.file_max_bytes, 0);
	ck_assert_uint_eq(c.file_keep, 1000);
	n = snprintf(text, sizeof(text), "[printers]\nfile_max_bytes = 65536\nfile_keep = 1\n"
		     "[agent]\ncadence_ms = 100\n[printers]\nfile_max_bytes_x = 1\n");
	write_tmp(path, sizeof(path), "rot.conf", text, (size_t)n);
	expect_error(path, 7, "unknown key 'file_max_bytes_x' in section [printers]");
	n = snprintf(text, sizeof(text), "[printers]\nfile_max_bytes = 4294967295\nfile_keep = 1\n");
	write_tmp(path, sizeof(path), "rot.conf", text, (size_t)n);
	load_ok(path, &c);
	ck_assert_uint_eq(c.file_max_bytes, 4294967295u);
	ck_assert_uint_eq(c.file_keep, 1);
	/* a name of 251 characters takes ".5" (253), ".1000" is one too many */
	memset(name, 'a', 251);
	name[251] = '\0';
	n = snprintf(text, sizeof(text), "[printers]\nfile = /var/log/%s\n", name);
	write_tmp(path, sizeof(path), "rot.conf", text, (size_t)n);
	load_ok(path, &c);
	n = snprintf(text, sizeof(text), "[printers]\nfile_keep = 1000\nfile = /var/log/%s\n", name);
	write_tmp(path, sizeof(path), "rot.conf", text, (size_t)n);
	expect_error(path, 3, "file: its name (251 characters) is too long for its rotated copies "
			      "(NAME.1000: at most 255 characters)");
}
END_TEST

/* Every level name, in any case; trace is the last and adds locations to
 * the log (common/log.h), so it must sort above debug. */
START_TEST(test_log_levels)
{
	static const struct {
		const char *text;
		int level;
	} levels[] = {
		{"error", LOG_L_ERR}, {"WARN", LOG_L_WARN}, {"Info", LOG_L_INFO},
		{"debug", LOG_L_DEBUG}, {"trace", LOG_L_TRACE}, {"TRACE", LOG_L_TRACE},
	};
	char path[256], text[64];
	struct jb_config c;

	ck_assert_int_gt(LOG_L_TRACE, LOG_L_DEBUG);
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		int n = snprintf(text, sizeof(text), "[agent]\nlog_level = %s\n", levels[i].text);

		write_tmp(path, sizeof(path), "level.conf", text, (size_t)n);
		load_ok(path, &c);
		ck_assert_msg(c.log_level == levels[i].level, "%s: %d", levels[i].text, c.log_level);
	}
	snprintf(text, sizeof(text), "[agent]\nlog_level = tracing\n");
	write_tmp(path, sizeof(path), "level.conf", text, strlen(text));
	expect_error(path, 2, "log_level: 'tracing' is not a log level "
			      "(use error, warn, info, debug or trace)");
}
END_TEST

/* [bpf] backend: auto, tracepoint or fentry in any case, its line kept
 * for the loader's error (a kernel that refuses fentry); anything else,
 * or the key twice, names its line. */
START_TEST(test_bpf_backend)
{
	static const struct {
		const char *text;
		int backend;
	} ok[] = {
		{"auto", JB_BACKEND_AUTO}, {"tracepoint", JB_BACKEND_TRACEPOINT},
		{"fentry", JB_BACKEND_FENTRY}, {"FEntry", JB_BACKEND_FENTRY},
		{"TRACEPOINT", JB_BACKEND_TRACEPOINT},
	};
	char path[256], text[128];
	struct jb_config c;
	int n;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		n = snprintf(text, sizeof(text), "# a comment\n[bpf]\nbackend = %s\n", ok[i].text);
		write_tmp(path, sizeof(path), "bpf.conf", text, (size_t)n);
		load_ok(path, &c);
		ck_assert_msg(c.bpf_backend == ok[i].backend, "%s: %d", ok[i].text, c.bpf_backend);
		ck_assert_int_eq(c.bpf_backend_line, 3);
	}
	n = snprintf(text, sizeof(text), "[bpf]\nbackend = kprobe\n");
	write_tmp(path, sizeof(path), "bpf.conf", text, (size_t)n);
	expect_error(path, 2, "backend: 'kprobe' is not a backend (use auto, tracepoint or fentry)");
	n = snprintf(text, sizeof(text), "[bpf]\nbackend =\n");
	write_tmp(path, sizeof(path), "bpf.conf", text, (size_t)n);
	expect_error(path, 2, "backend: '' is not a backend");
	n = snprintf(text, sizeof(text), "[bpf]\nbackend = auto\nbackend = fentry\n");
	write_tmp(path, sizeof(path), "bpf.conf", text, (size_t)n);
	expect_error(path, 3, "duplicate key 'backend' in section [bpf] (first set on line 2)");
	n = snprintf(text, sizeof(text), "[bpf]\nprograms = fentry\n");
	write_tmp(path, sizeof(path), "bpf.conf", text, (size_t)n);
	expect_error(path, 2, "unknown key 'programs' in section [bpf]");
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc;

	tc = tcase_create("defaults");
	tcase_add_test(tc, test_defaults);
	suite_add_tcase(s, tc);

	tc = tcase_create("repo_conf");
	tcase_add_test(tc, test_repo_conf);
	suite_add_tcase(s, tc);

	tc = tcase_create("good_files");
	tcase_add_loop_test(tc, test_good_file, 0, (int)(sizeof(good) / sizeof(good[0])));
	suite_add_tcase(s, tc);

	tc = tcase_create("bad_files");
	tcase_add_loop_test(tc, test_bad_file, 0, (int)(sizeof(bad) / sizeof(bad[0])));
	tcase_add_test(tc, test_bad_exact_text);
	suite_add_tcase(s, tc);

	tc = tcase_create("missing_file");
	tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_test(tc, test_missing_file);
	suite_add_tcase(s, tc);

	tc = tcase_create("duplicate_key");
	tcase_add_test(tc, test_duplicate_key);
	suite_add_tcase(s, tc);

	tc = tcase_create("cross_field");
	tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_test(tc, test_cross_field);
	suite_add_tcase(s, tc);

	tc = tcase_create("kinds_and_ids");
	tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_test(tc, test_kind_keys);
	tcase_add_test(tc, test_kind_sections);
	tcase_add_test(tc, test_exporter_keys);
	tcase_add_test(tc, test_summary_keys);
	tcase_add_test(tc, test_audit_keys);
	tcase_add_test(tc, test_privacy_keys);
	tcase_add_test(tc, test_status_socket_key);
	tcase_add_test(tc, test_child_ids);
	suite_add_tcase(s, tc);

	tc = tcase_create("inih_options");
	tcase_add_test(tc, test_inih_options);
	suite_add_tcase(s, tc);

	tc = tcase_create("log_level");
	tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_test(tc, test_log_levels);
	tcase_add_test(tc, test_bpf_backend);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_recipes_keys);
	tcase_add_test(tc, test_limits_keys);
	tcase_add_test(tc, test_limits_documented);
	tcase_add_test(tc, test_backlog_and_file_facts);
	tcase_add_test(tc, test_file_rotation_keys);
	tcase_add_test(tc, test_nats_keys);
	tcase_add_test(tc, test_nats_parsers);
	suite_add_tcase(s, tc);
	tc = tcase_create("spool_dir");
	tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_test(tc, test_spool_dir_not_taken_over);
	tcase_add_test(tc, test_spool_dir_apart);
	tcase_add_test(tc, test_output_dir_not_shared);
	suite_add_tcase(s, tc);

	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(config_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
