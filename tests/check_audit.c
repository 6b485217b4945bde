/*
 * check_audit.c - the audit log (supervisor/audit*.c): what the agent
 * writes verifies, and every kind of damage is caught at the first bad
 * record.
 *
 * Invariants checked:
 *  - a clean log verifies; an edited byte (every byte of a log, one at a
 *    time), a deleted line, a swapped pair, a tail cut mid-line and whole
 *    records removed from the end are each refused, naming the first bad
 *    record's line (and seq); a wrong key fails; the anchor is checked.
 *  - a chain resumed by a new agent verifies, and resuming does not hide a
 *    removal or a cut made before it.
 *  - refusals name the config's file:line: a key or log of the wrong
 *    owner, mode or size, a symbolic link, a directory others can write,
 *    a log another agent holds (flock).
 *  - loss reports are folded, never dropped: at most 5 records per kind in
 *    10 s and the rest in one record at close.
 *  - the real agent (root, BPF) records start, a refused and an accepted
 *    reload, a child killed and restarted, and its shutdown, and
 *    `jibril --verify-audit` says ok (and then no longer, once edited).
 * Needs root (ownership checks): SKIP otherwise.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent_harness.h"
#include "common/log.h"
#include "supervisor/audit.h"
#include "supervisor/config.h"
#include "supervisor/sup.h"
#include "tests/lib/file.h"

#define CONF "/etc/jibril-test/jibril.conf" /* named in errors only */

static char dir[64], logp[128], keyp[128];
static struct sup S, S2;

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/check_audit.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(logp, sizeof(logp), "%s/log/audit.log", dir);
	snprintf(keyp, sizeof(keyp), "%s/key/audit.key", dir);
}

static void teardown(void)
{
	tl_rm_tree(dir, "/tmp/check_audit.");
}

/* A supervisor with only its config: [audit] file on line 7, key on line 8. */
static int open_sup(struct sup *s, char *err, size_t errlen)
{
	memset(s, 0, sizeof(*s));
	jb_config_defaults(&s->cfg);
	snprintf(s->cfg.audit_file, sizeof(s->cfg.audit_file), "%s", logp);
	snprintf(s->cfg.audit_key, sizeof(s->cfg.audit_key), "%s", keyp);
	s->cfg.audit_file_line = 7;
	s->cfg.audit_key_line = 8;
	s->conf_path = CONF;
	err[0] = '\0';
	return sup_audit_open(s, err, errlen);
}

static void open_ok(struct sup *s)
{
	char err[1024];

	ck_assert_msg(open_sup(s, err, sizeof(err)) == 0, "open: %s", err);
	ck_assert_ptr_nonnull(s->audit);
}

/* n test records, then close ("stopped"): n + 1 records */
static void write_log(int n)
{
	open_ok(&S);
	for (int i = 1; i <= n; i++)
		sup_audit(&S, "test", json_pack("{s:i}", "n", i));
	sup_audit_close(&S, "test over");
}

/* jibril --verify-audit in-process: exit status, its line in out */
static int verify(const char *key, char *out, size_t outlen)
{
	FILE *f = fmemopen(out, outlen, "w");
	int rc;

	ck_assert_ptr_nonnull(f);
	rc = sup_audit_verify(logp, key ? key : keyp, f);
	fclose(f);
	return rc;
}

static void expect_ok(int records)
{
	char out[1024], want[64];

	ck_assert_msg(verify(NULL, out, sizeof(out)) == 0, "a clean log refused: %s", out);
	snprintf(want, sizeof(want), ": ok: %d records, the end matches the anchor", records);
	ck_assert_msg(strstr(out, want), "no '%s' in: %s", want, out);
}

/* refused, with "LOG:LINE: " (and why) at the start of the verdict */
static void expect_bad(int line, const char *why)
{
	char out[1024], want[256];

	ck_assert_int_eq(verify(NULL, out, sizeof(out)), 65);
	snprintf(want, sizeof(want), "%s:%d: ", logp, line);
	ck_assert_msg(!strncmp(out, want, strlen(want)), "'%s' does not start with '%s'", out, want);
	ck_assert_msg(strstr(out, why), "no '%s' in: %s", why, out);
}

/* --- the file as lines --------------------------------------------------- */

struct lines {
	char *l[64];
	int n;
};

static void read_lines(struct lines *ls)
{
	char *text = tl_slurp(logp, NULL), *save = NULL;

	ck_assert_ptr_nonnull(text);
	ls->n = 0;
	for (char *t = strtok_r(text, "\n", &save); t; t = strtok_r(NULL, "\n", &save)) {
		ck_assert_int_lt(ls->n, 64);
		ls->l[ls->n++] = strdup(t);
	}
	free(text);
}

/* write lines back (each with its newline), then drop the last cut bytes */
static void write_lines(struct lines *ls, size_t cut)
{
	FILE *f = fopen(logp, "w");
	long size;

	ck_assert_ptr_nonnull(f);
	for (int i = 0; i < ls->n; i++)
		fprintf(f, "%s\n", ls->l[i]);
	size = ftell(f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(truncate(logp, size - (long)cut), 0);
	for (int i = 0; i < ls->n; i++)
		free(ls->l[i]);
}

static void write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	ck_assert_msg(fd >= 0, "%s: %s", path, strerror(errno));
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	ck_assert_int_eq(fchmod(fd, mode), 0);
	close(fd);
}

/* --- a clean log, and each kind of damage ---------------------------------- */

START_TEST(clean_log_verifies)
{
	struct stat st;
	char anchor[256];

	write_log(5);
	expect_ok(6);
	/* created private to root */
	ck_assert_int_eq(stat(logp, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert_uint_eq(st.st_uid, 0);
	ck_assert_int_eq(stat(keyp, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert_int_eq(st.st_size, SUP_AUDIT_KEY_LEN);
	snprintf(anchor, sizeof(anchor), "%s.anchor", keyp);
	ck_assert_int_eq(stat(anchor, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	/* missing directories made 0700 */
	snprintf(anchor, sizeof(anchor), "%s/log", dir);
	ck_assert_int_eq(stat(anchor, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0700);
}
END_TEST

START_TEST(edited_byte_is_caught)
{
	struct lines ls;

	write_log(5);
	read_lines(&ls);
	char *p = strstr(ls.l[2], "\"n\":3");
	ck_assert_ptr_nonnull(p);
	p[4] = '4';
	write_lines(&ls, 0);
	expect_bad(3, "seq 3: its hmac does not match");
}
END_TEST

/* Every byte of a log flipped in turn: each is caught, at its own line. */
START_TEST(every_byte_matters)
{
	unsigned char key[SUP_AUDIT_KEY_LEN];
	struct sup_audit_link anchor;
	struct sup_audit_verdict v;
	char err[512];
	size_t len;
	int created;

	write_log(3);
	char *text = tl_slurp(logp, &len);
	ck_assert_ptr_nonnull(text);
	ck_assert_int_eq(sup_audit_key_load(keyp, 1, 0, &created, key, err, sizeof(err)), 0);
	ck_assert_int_eq(sup_audit_anchor_read(keyp, key, &anchor, err, sizeof(err)), 1);
	for (size_t i = 0, line = 1; i < len; line += text[i] == '\n', i++) {
		FILE *f;

		text[i] ^= 1;
		f = fmemopen(text, len, "r");
		ck_assert_msg(sup_audit_verify_stream(key, f, &anchor, &v) < 0,
			      "byte %zu (line %zu) flipped: still verifies", i, line);
		ck_assert_msg(v.bad_line == line, "byte %zu flipped: line %llu named, not %zu (%s)",
			      i, (unsigned long long)v.bad_line, line, v.why);
		fclose(f);
		text[i] ^= 1;
	}
	free(text);
}
END_TEST

START_TEST(deleted_line_is_caught)
{
	struct lines ls;

	write_log(5);
	read_lines(&ls);
	free(ls.l[2]);
	memmove(&ls.l[2], &ls.l[3], (size_t)(ls.n - 3) * sizeof(char *));
	ls.n--;
	write_lines(&ls, 0);
	expect_bad(3, "seq 4: seq 4 after seq 2: 1 records missing");
}
END_TEST

START_TEST(swapped_pair_is_caught)
{
	struct lines ls;
	char *t;

	write_log(5);
	read_lines(&ls);
	t = ls.l[1];
	ls.l[1] = ls.l[2];
	ls.l[2] = t;
	write_lines(&ls, 0);
	expect_bad(2, "seq 3: seq 3 after seq 1");
}
END_TEST

START_TEST(cut_tail_is_caught)
{
	struct lines ls;

	write_log(5);
	read_lines(&ls);
	write_lines(&ls, 30); /* into the middle of the last record */
	expect_bad(6, "seq 6: the last record is cut");
}
END_TEST

START_TEST(removed_last_records_are_caught)
{
	struct lines ls;

	write_log(5);
	read_lines(&ls);
	free(ls.l[5]);
	free(ls.l[4]);
	ls.n -= 2; /* whole lines: the chain itself is sound */
	write_lines(&ls, 0);
	expect_bad(5, "the log ends at seq 4 but its anchor is at seq 6: 2 records removed");
	/* and all of them: an empty log with an anchor */
	ls.n = 0;
	write_lines(&ls, 0);
	expect_bad(1, "the log ends at seq 0 but its anchor is at seq 6");
}
END_TEST

START_TEST(wrong_key_fails)
{
	char other[256], out[1024];
	unsigned char k[SUP_AUDIT_KEY_LEN];

	write_log(2);
	memset(k, 0x5a, sizeof(k));
	snprintf(other, sizeof(other), "%s/other.key", dir);
	write_file(other, k, sizeof(k), 0600);
	ck_assert_int_eq(verify(other, out, sizeof(out)), 65);
	ck_assert_msg(strstr(out, ":1: seq 1: its hmac does not match"), "got: %s", out);
	/* a key of the wrong size is not a key */
	write_file(other, k, 16, 0600);
	ck_assert_int_eq(verify(other, out, sizeof(out)), 66);
	ck_assert_msg(strstr(out, "16 bytes, not 32"), "got: %s", out);
}
END_TEST

START_TEST(anchor_is_checked)
{
	char anchor[256], out[1024];
	char *text;

	write_log(2);
	snprintf(anchor, sizeof(anchor), "%s.anchor", keyp);
	/* no anchor: the end cannot be checked, and that is not ok */
	text = tl_slurp(anchor, NULL);
	ck_assert_ptr_nonnull(text);
	ck_assert_int_eq(unlink(anchor), 0);
	ck_assert_int_eq(verify(NULL, out, sizeof(out)), 65);
	ck_assert_msg(strstr(out, "no anchor"), "got: %s", out);
	/* an anchor edited to name an earlier record */
	char *p = strstr(text, "\"seq\":3");
	ck_assert_msg(p != NULL, "anchor: %s", text);
	p[6] = '2';
	write_file(anchor, text, strlen(text), 0600);
	ck_assert_int_eq(verify(NULL, out, sizeof(out)), 65);
	ck_assert_msg(strstr(out, "its mac does not match"), "got: %s", out);
	free(text);
}
END_TEST

/* --- resuming ---------------------------------------------------------------- */

START_TEST(resumed_chain_verifies)
{
	write_log(3);
	write_log(2);
	expect_ok(7);
}
END_TEST

START_TEST(resuming_does_not_hide_a_removal)
{
	struct lines ls;

	write_log(5);
	read_lines(&ls);
	free(ls.l[5]);
	free(ls.l[4]);
	ls.n -= 2;
	write_lines(&ls, 0);
	write_log(1); /* continues from the anchor (seq 6), not from seq 4 */
	expect_bad(5, "seq 7: seq 7 after seq 4: 2 records missing");
}
END_TEST

START_TEST(resuming_does_not_hide_a_cut)
{
	struct lines ls;

	write_log(5);
	read_lines(&ls);
	write_lines(&ls, 30);
	write_log(1); /* the cut line stays, ended; new records after it */
	expect_bad(6, "not JSON");
}
END_TEST

/* --- refusals ------------------------------------------------------------------ */

static void expect_refused(const char *where, const char *why)
{
	char err[1024];

	ck_assert_int_eq(open_sup(&S2, err, sizeof(err)), -1);
	ck_assert_ptr_null(S2.audit);
	ck_assert_msg(!strncmp(err, where, strlen(where)), "'%s' does not start with '%s'", err,
		      where);
	ck_assert_msg(strstr(err, why), "no '%s' in: %s", why, err);
}

START_TEST(bad_key_is_refused)
{
	char where[256], target[256];
	unsigned char k[SUP_AUDIT_KEY_LEN] = {1};

	write_log(1);
	snprintf(where, sizeof(where), CONF ":8: [audit] key %s: ", keyp);
	ck_assert_int_eq(chmod(keyp, 0640), 0);
	expect_refused(where, "mode 0640 lets group or others at it");
	ck_assert_int_eq(chmod(keyp, 0600), 0);
	ck_assert_int_eq(chown(keyp, 65534, 65534), 0);
	expect_refused(where, "owned by uid 65534, not root");
	ck_assert_int_eq(chown(keyp, 0, 0), 0);
	write_file(keyp, k, 31, 0600);
	expect_refused(where, "31 bytes, not 32");
	snprintf(target, sizeof(target), "%s/elsewhere", dir);
	write_file(target, k, sizeof(k), 0600);
	ck_assert_int_eq(unlink(keyp), 0);
	ck_assert_int_eq(symlink(target, keyp), 0);
	expect_refused(where, "symbolic links are refused");
}
END_TEST

START_TEST(bad_log_is_refused)
{
	char where[256], d[128];

	write_log(1);
	snprintf(where, sizeof(where), CONF ":7: [audit] file %s: ", logp);
	ck_assert_int_eq(chmod(logp, 0640), 0);
	expect_refused(where, "mode 0640 lets group or others at it");
	ck_assert_int_eq(chmod(logp, 0600), 0);
	ck_assert_int_eq(chown(logp, 65534, 0), 0);
	expect_refused(where, "owned by uid 65534, not root");
	ck_assert_int_eq(chown(logp, 0, 0), 0);
	snprintf(d, sizeof(d), "%s/log", dir);
	ck_assert_int_eq(chmod(d, 0770), 0);
	expect_refused(where, "must be root's and writable by no one else");
	ck_assert_int_eq(chmod(d, 0700), 0);
	open_ok(&S2); /* all put right: accepted again */
	sup_audit_close(&S2, "test");
}
END_TEST

START_TEST(second_agent_is_refused)
{
	char where[256];

	open_ok(&S);
	snprintf(where, sizeof(where), CONF ":7: [audit] file %s: ", logp);
	expect_refused(where, "locked by another process: another jibril is writing to it");
	sup_audit_close(&S, "test");
	open_ok(&S2); /* the lock goes with the first */
	sup_audit_close(&S2, "test");
	expect_ok(2);
}
END_TEST

START_TEST(default_paths_are_named)
{
	char err[1024], where[256], d[128];

	snprintf(d, sizeof(d), "%s/log", dir);
	ck_assert_int_eq(mkdir(d, 0700), 0);
	ck_assert_int_eq(mkdir(logp, 0700), 0); /* the log's path is a directory */
	memset(&S2, 0, sizeof(S2));
	jb_config_defaults(&S2.cfg);
	snprintf(S2.cfg.audit_file, sizeof(S2.cfg.audit_file), "%s", logp);
	snprintf(S2.cfg.audit_key, sizeof(S2.cfg.audit_key), "%s", keyp);
	S2.conf_path = CONF;
	ck_assert_int_eq(sup_audit_open(&S2, err, sizeof(err)), -1);
	snprintf(where, sizeof(where), CONF ": [audit] file (default) %s: ", logp);
	ck_assert_msg(!strncmp(err, where, strlen(where)), "got: %s", err);
}
END_TEST

START_TEST(empty_file_turns_it_off)
{
	char err[256];

	memset(&S2, 0, sizeof(S2));
	jb_config_defaults(&S2.cfg);
	S2.cfg.audit_file[0] = '\0';
	S2.conf_path = CONF;
	ck_assert_int_eq(sup_audit_open(&S2, err, sizeof(err)), 0);
	ck_assert_ptr_null(S2.audit);
	sup_audit(&S2, "test", json_pack("{s:i}", "n", 1)); /* a no-op, no leak */
	sup_warn_loss(&S2, "test", "nothing kept");
	sup_audit_close(&S2, "test");
	ck_assert_int_eq(access(logp, F_OK), -1);
}
END_TEST

/* --- what is recorded ------------------------------------------------------------ */

static json_t *record(int line)
{
	struct lines ls;
	json_t *r;

	read_lines(&ls);
	ck_assert_int_lt(line - 1, ls.n);
	r = json_loads(ls.l[line - 1], 0, NULL);
	for (int i = 0; i < ls.n; i++)
		free(ls.l[i]);
	ck_assert_ptr_nonnull(r);
	return r;
}

START_TEST(losses_are_folded_not_dropped)
{
	json_t *r;

	open_ok(&S);
	for (int i = 0; i < 20; i++)
		sup_warn_loss(&S, "printer_backlog", "alert %d dropped", i);
	sup_audit_close(&S, "test");
	expect_ok(7); /* 5 at once, 1 folded at close, stopped */
	r = record(5);
	ck_assert_str_eq(json_string_value(json_object_get(r, "type")), "loss");
	ck_assert_str_eq(jbh_jstr(r, "data.detail"), "alert 4 dropped");
	ck_assert_int_eq(jbh_jint(r, "data.folded", -1), 0);
	json_decref(r);
	r = record(6);
	ck_assert_str_eq(jbh_jstr(r, "data.what"), "printer_backlog");
	ck_assert_str_eq(jbh_jstr(r, "data.detail"), "alert 19 dropped");
	ck_assert_int_eq(jbh_jint(r, "data.folded", -1), 15);
	json_decref(r);
	r = record(7);
	ck_assert_str_eq(json_string_value(json_object_get(r, "type")), "stopped");
	json_decref(r);
}
END_TEST

START_TEST(detections_are_recorded)
{
	json_t *r;

	open_ok(&S);
	sup_audit_detection(&S, "tamper_map_write", "{\"process\":{\"pid\":42}}");
	sup_audit_detection(&S, "tamper_odd", "not json");
	sup_audit_close(&S, "test");
	expect_ok(3);
	r = record(1);
	ck_assert_str_eq(json_string_value(json_object_get(r, "type")), "detection");
	ck_assert_str_eq(jbh_jstr(r, "data.kind"), "tamper_map_write");
	ck_assert_int_eq(jbh_jint(r, "data.event.process.pid", 0), 42);
	json_decref(r);
	r = record(2);
	ck_assert_str_eq(jbh_jstr(r, "data.event"), "not json");
	json_decref(r);
}
END_TEST

/* --- the real agent ---------------------------------------------------------------- */

/* jibril ARGS with stdout into out (malloc'd); the wait status */
static int jibril(char *const args[], char **out)
{
	char path[160], *argv[8] = {"jibril"};
	struct jbh_io io = {NULL, -1, -1, -1};
	int st, n = 1;

	for (; args[n - 1] && n < 7; n++)
		argv[n] = args[n - 1];
	argv[n] = NULL;
	snprintf(path, sizeof(path), "%s/verify.out", dir);
	io.out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_int_ge(io.out, 0);
	st = jbh_wait_exit(jbh_spawn(jbh_bin(), argv, &io), 10000);
	close(io.out);
	*out = tl_slurp(path, NULL);
	ck_assert_ptr_nonnull(*out);
	return st;
}

/* the first record of type (and, if set, whose data has key = val) */
static json_t *find(json_t *recs, const char *type, const char *key, const char *val)
{
	size_t i;
	json_t *r;

	json_array_foreach(recs, i, r) {
		const char *v = key ? jbh_jstr(r, key) : NULL;
		if (!strcmp(jbh_jstr(r, "type"), type) && (!key || (v && strstr(v, val))))
			return r;
	}
	return NULL;
}

START_TEST(agent_records_its_decisions)
{
	struct jbh_agent a;
	struct jbh_opts o = {.no_fault_hooks = 1, .keep_dir = 1};
	char *good, *text, *out, *save = NULL, sha[65], bad[4096];
	json_t *recs = json_array(), *r;
	size_t len;
	pid_t pid;
	int st, n = 0;

	jbh_start(&a, &o);
	jbh_wait_all_ready(&a, 10000);
	good = tl_slurp(a.conf, &len);
	ck_assert_ptr_nonnull(good);
	sup_audit_sha256_hex(good, len, sha);

	/* a bad configuration: refused, and recorded with why */
	snprintf(bad, sizeof(bad), "%s[nonsense]\n", good);
	write_file(a.conf, bad, strlen(bad), 0600);
	ck_assert_int_eq(kill(a.pid, SIGHUP), 0);
	ck_assert_msg(jbh_log_wait(&a, "reload refused", 5000), "no refusal (log %s)", a.log);
	/* a good one: accepted */
	write_file(a.conf, good, len, 0600);
	ck_assert_int_eq(kill(a.pid, SIGHUP), 0);
	ck_assert_msg(jbh_log_wait(&a, "SIGHUP: reloaded", 5000), "no reload (log %s)", a.log);
	/* a child killed from outside, and its restart */
	pid = jbh_child_pid(&a, "network");
	ck_assert_int_gt(pid, 0);
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	ck_assert_msg(jbh_wait_ready(&a, "network", pid, 5000) > 0, "network not restarted");
	jbh_stop(&a, 10000);

	text = tl_slurp(a.audit, NULL);
	ck_assert_ptr_nonnull(text);
	for (char *t = strtok_r(text, "\n", &save); t; t = strtok_r(NULL, "\n", &save), n++)
		ck_assert_int_eq(json_array_append_new(recs, json_loads(t, 0, NULL)), 0);
	free(text);
	r = json_array_get(recs, 0);
	ck_assert_str_eq(jbh_jstr(r, "type"), "start");
	ck_assert_str_eq(jbh_jstr(r, "data.version"), "0.1.0");
	ck_assert_str_eq(jbh_jstr(r, "data.config.path"), a.conf);
	ck_assert_str_eq(jbh_jstr(r, "data.config.sha256"), sha);
	ck_assert_int_eq(strlen(jbh_jstr(r, "data.builtin_sha256")), 64);
	ck_assert_str_eq(jbh_jstr(r, "data.chain"), "new");
	r = find(recs, "reload", "data.result", "refused");
	ck_assert_msg(r && strstr(jbh_jstr(r, "data.why"), "unknown section [nonsense]"),
		      "no refused reload with its reason in %s", a.audit);
	r = find(recs, "reload", "data.result", "accepted");
	ck_assert_msg(r && !strcmp(jbh_jstr(r, "data.config.sha256"), sha),
		      "no accepted reload in %s", a.audit);
	r = find(recs, "child_state", "data.why", "killed by signal 9");
	ck_assert_msg(r && !strcmp(jbh_jstr(r, "data.kind"), "network") &&
		      !strcmp(jbh_jstr(r, "data.from"), "READY") &&
		      !strcmp(jbh_jstr(r, "data.to"), "IDLE") && jbh_jint(r, "data.pid", 0) == pid,
		      "no READY -> IDLE of network[%d] in %s", (int)pid, a.audit);
	r = find(recs, "child_restart", "data.policy", "killed from outside");
	ck_assert_msg(r && !strcmp(jbh_jstr(r, "data.kind"), "network"), "no restart in %s",
		      a.audit);
	r = find(recs, "shutdown", NULL, NULL);
	ck_assert_msg(r && jbh_jint(r, "data.signal", 0) == SIGTERM, "no shutdown in %s", a.audit);
	ck_assert_str_eq(jbh_jstr(json_array_get(recs, (size_t)n - 1), "type"), "stopped");
	json_decref(recs);

	/* the command line: the key from the config, or given */
	char want[64];
	snprintf(want, sizeof(want), ": ok: %d records", n);
	st = jibril((char *const[]){"--verify-audit", a.audit, "-c", a.conf, NULL}, &out);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0 && strstr(out, want),
		      "--verify-audit: status 0x%x: %s", st, out);
	free(out);
	st = jibril((char *const[]){"--verify-audit", a.audit, "--audit-key", a.audit_key, NULL},
		    &out);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0 && strstr(out, want),
		      "--verify-audit --audit-key: status 0x%x: %s", st, out);
	free(out);
	/* one byte changed in the second record */
	text = tl_slurp(a.audit, &len);
	char *p = strchr(text, '\n') + 1;
	p = strstr(p, "\"time\":\"") + 9;
	*p = *p == '0' ? '1' : '0';
	write_file(a.audit, text, len, 0600);
	free(text);
	st = jibril((char *const[]){"--verify-audit", a.audit, "-c", a.conf, NULL}, &out);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 65 && strstr(out, ":2: seq 2: "),
		      "an edited log: status 0x%x: %s", st, out);
	free(out);
	free(good);
	tl_rm_tree(a.dir, "/tmp/jbtest.");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("audit");
	TCase *tc;
	SRunner *sr;
	struct stat st;
	int failed;

	if (geteuid() != 0) {
		printf("SKIP: audit: needs root (the log and key must be root's)\n");
		return 77;
	}
	log_init("check_audit", LOG_L_ERR);
	tc = tcase_create("chain");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, clean_log_verifies);
	tcase_add_test(tc, edited_byte_is_caught);
	tcase_add_test(tc, every_byte_matters);
	tcase_add_test(tc, deleted_line_is_caught);
	tcase_add_test(tc, swapped_pair_is_caught);
	tcase_add_test(tc, cut_tail_is_caught);
	tcase_add_test(tc, removed_last_records_are_caught);
	tcase_add_test(tc, wrong_key_fails);
	tcase_add_test(tc, anchor_is_checked);
	suite_add_tcase(s, tc);

	tc = tcase_create("resume");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, resumed_chain_verifies);
	tcase_add_test(tc, resuming_does_not_hide_a_removal);
	tcase_add_test(tc, resuming_does_not_hide_a_cut);
	suite_add_tcase(s, tc);

	tc = tcase_create("refusals");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, bad_key_is_refused);
	tcase_add_test(tc, bad_log_is_refused);
	tcase_add_test(tc, second_agent_is_refused);
	tcase_add_test(tc, default_paths_are_named);
	tcase_add_test(tc, empty_file_turns_it_off);
	suite_add_tcase(s, tc);

	tc = tcase_create("records");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, losses_are_folded_not_dropped);
	tcase_add_test(tc, detections_are_recorded);
	suite_add_tcase(s, tc);

	if (stat("/sys/kernel/btf/vmlinux", &st) == 0) {
		jbh_main_init("audit");
		tc = tcase_create("agent");
		tcase_set_timeout(tc, 60);
		tcase_add_checked_fixture(tc, setup, teardown);
		tcase_add_unchecked_fixture(tc, NULL, jbh_kill_leftovers);
		tcase_add_test(tc, agent_records_its_decisions);
		suite_add_tcase(s, tc);
	} else {
		printf("SKIP: audit: agent: the kernel has no BTF\n");
	}
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
