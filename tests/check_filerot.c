/*
 * check_filerot.c - the file printer in production (root, real kernel):
 * rotation by size, SIGUSR1 and a real logrotate, the file and its
 * directory created root's (supervisor/outfile.c, owner.c).
 *
 * Triggers: a fresh copy of cat per trigger, named cat.jbfr<run>_<seq> and
 * kept next to the agent binary (not under /tmp: one recipe only), reads
 * /etc/shadow: one credentials_files_access detection each, which no
 * `times` limit suppresses (its own process and executable). A detection
 * is a trigger's when its process.exe carries the trigger's marker; lines
 * of other processes (the host is shared) are only checked to be whole
 * JSON objects.
 *
 * Every file the printer wrote is read: FILE and FILE.1 .. FILE.N are
 * polled between triggers and each new inode is opened and kept open, so a
 * rotated file the agent removed later (beyond file_keep) is still read.
 *
 * Invariants checked:
 *  - size rotation under a steady trigger load: every trigger's detection
 *    is in exactly one file, once; every file ends with a newline and holds
 *    whole JSON lines; each rotated file reached file_max_bytes; at most
 *    file_keep rotated files exist; each printer restart for it was planned
 *    (no back-off); missing directories were made 0700 root, files 0600;
 *  - a real logrotate (`rotate`, `create 0600 root root`, then `nocreate`,
 *    then contrib/logrotate/jibril as shipped, each with a postrotate
 *    sending SIGUSR1 to the supervisor) run while triggers flow: 0 lost, 0
 *    duplicated, the new file 0600 root; the SIGUSR1 is not a tamper
 *    detection (the supervisor's control signal);
 *  - SIGUSR1 kills no child (each keeps its pid) and is reported as
 *    tamper when sent to a child; to the supervisor with the file in place
 *    it changes nothing;
 *  - a printer stopped and then killed while its file is being reopened
 *    loses nothing and repeats nothing (it had acknowledged everything
 *    before it was stopped: at-least-once repeats only what a printer
 *    wrote without acknowledging);
 *  - unit: the shift of FILE.N (keep, gaps, an error), and a missing
 *    directory under one others may write refused by --check-config with
 *    FILE:LINE.
 * Not root or no BTF: "SKIP:" and exit 77; no logrotate: that test says
 * "SKIP:" and passes (make check installs it).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "agent_harness.h"
#include "lib/file.h"
#include "lib/spawn.h"
#include "supervisor/outfile.h"

#define READY_MS 10000
#define STOP_MS 8000
#define SEEN_MS 30000	/* every trigger's detection is in a file by then */
#define MARK "jbfr"
#define MAX_TRIG 128
#define MAX_FILES 64

static struct jbh_agent A;
static char dir_bin[PATH_MAX];
static unsigned run_id;

/* --- triggers ------------------------------------------------------------- */

static void make_bin_dir(void)
{
	char bin[PATH_MAX], *real;

	snprintf(bin, sizeof(bin), "%s", jbh_bin());
	real = realpath(dirname(bin), NULL);
	ck_assert_msg(real != NULL, "realpath of %s: %s", jbh_bin(), strerror(errno));
	ck_assert(snprintf(dir_bin, sizeof(dir_bin), "%s/filerot.XXXXXX", real) < 160);
	free(real);
	ck_assert_msg(mkdtemp(dir_bin) != NULL, "mkdtemp %s: %s", dir_bin, strerror(errno));
	run_id = (unsigned)getpid();
}

static void rm_bin_dir(void)
{
	if (dir_bin[0])
		rmdir(dir_bin);
	dir_bin[0] = '\0';
}

/* cat.jbfr<run>_<seq> reads /etc/shadow; the copy is removed after it */
static void trigger(int seq)
{
	char exe[PATH_MAX];
	char *argv[] = {exe, "/etc/shadow", NULL};
	int st;

	ck_assert(snprintf(exe, sizeof(exe), "%s/cat." MARK "%u_%d", dir_bin, run_id, seq) < 200);
	jbh_copy_file("/usr/bin/cat", exe, 0755);
	st = jbh_run(exe, argv, 5000, NULL);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "trigger %d: wait status 0x%x", seq, st);
	unlink(exe);
}

/* --- the files the printer wrote ------------------------------------------ */

struct files {
	int n;
	struct {
		dev_t dev;
		ino_t ino;
		int fd;
		char name[PATH_MAX];
	} f[MAX_FILES];
};

/* Open each regular file among path and path.1 .. path.max (and extra,
 * if not NULL) whose inode was not seen yet, and keep it open. */
static void files_poll(struct files *fs, const char *path, unsigned max, const char *extra)
{
	char name[PATH_MAX];

	for (unsigned i = 0; i <= max + 1; i++) {
		struct stat st;
		int fd, known = 0;

		if (i == max + 1) {
			if (!extra)
				break;
			snprintf(name, sizeof(name), "%s", extra);
		} else if (i == 0) {
			snprintf(name, sizeof(name), "%s", path);
		} else {
			snprintf(name, sizeof(name), "%s.%u", path, i);
		}
		fd = open(name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0)
			continue;
		ck_assert_int_eq(fstat(fd, &st), 0);
		for (int k = 0; k < fs->n; k++)
			known |= fs->f[k].dev == st.st_dev && fs->f[k].ino == st.st_ino;
		if (known || !S_ISREG(st.st_mode)) {
			close(fd);
			continue;
		}
		ck_assert_msg(fs->n < MAX_FILES, "more than %d files", MAX_FILES);
		fs->f[fs->n].dev = st.st_dev;
		fs->f[fs->n].ino = st.st_ino;
		fs->f[fs->n].fd = fd;
		snprintf(fs->f[fs->n].name, sizeof(fs->f[0].name), "%s", name);
		fs->n++;
	}
}

static void files_close(struct files *fs)
{
	for (int k = 0; k < fs->n; k++)
		close(fs->f[k].fd);
	fs->n = 0;
}

/* The whole content of an open file (malloc'd, NUL terminated). */
static char *read_fd(int fd, size_t *len)
{
	struct stat st;
	char *buf;
	size_t got = 0;

	ck_assert_int_eq(fstat(fd, &st), 0);
	buf = malloc((size_t)st.st_size + 1);
	ck_assert_ptr_nonnull(buf);
	while (got < (size_t)st.st_size) {
		ssize_t n = pread(fd, buf + got, (size_t)st.st_size - got, (off_t)got);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	*len = got;
	return buf;
}

struct tally {
	int ntrig;
	int count[MAX_TRIG];		/* lines of each trigger */
	char uuid[MAX_TRIG][40];	/* the first one's uuid */
	int redelivered;		/* a repeat with the same uuid */
	int distinct;			/* a second detection (another uuid) */
	int bad;			/* a line that is not a JSON object */
	int torn;			/* a file that does not end with a newline */
	int usr1_sup;			/* tamper: SIGUSR1 to the supervisor */
	int lines;
};

/* The trigger seq whose marker s carries, or -1. */
static int marker_seq(const char *s)
{
	char want[32];
	const char *p;
	int seq;

	snprintf(want, sizeof(want), MARK "%u_", run_id);
	if (!s || !(p = strstr(s, want)) || sscanf(p + strlen(want), "%d", &seq) != 1 || seq < 0 ||
	    seq >= MAX_TRIG)
		return -1;
	return seq;
}

static void tally_line(struct tally *t, const char *line, size_t len)
{
	json_t *ev = json_loadb(line, len, 0, NULL);
	const char *kind, *uuid;
	int seq;

	t->lines++;
	if (!ev || !json_is_object(ev)) {
		t->bad++;
		json_decref(ev);
		return;
	}
	kind = jbh_jstr(ev, "kind");
	if (kind && !strcmp(kind, "tamper_agent_signal") &&
	    jbh_jint(ev, "tamper.op", -1) == SIGUSR1 && jbh_jstr(ev, "tamper.target.process.role") &&
	    !strcmp(jbh_jstr(ev, "tamper.target.process.role"), "supervisor"))
		t->usr1_sup++;
	seq = marker_seq(jbh_jstr(ev, "process.exe"));
	uuid = jbh_jstr(ev, "uuid");
	if (seq >= 0 && seq < t->ntrig && kind && !strcmp(kind, "credentials_files_access")) {
		if (t->count[seq]++ == 0)
			snprintf(t->uuid[seq], sizeof(t->uuid[0]), "%s", uuid ? uuid : "");
		else if (uuid && !strcmp(uuid, t->uuid[seq]))
			t->redelivered++;
		else
			t->distinct++;
	}
	json_decref(ev);
}

static void tally(const struct files *fs, int ntrig, struct tally *t)
{
	memset(t, 0, sizeof(*t));
	t->ntrig = ntrig;
	for (int k = 0; k < fs->n; k++) {
		size_t len;
		char *buf = read_fd(fs->f[k].fd, &len), *p = buf, *nl;

		if (len && buf[len - 1] != '\n')
			t->torn++;
		while ((nl = memchr(p, '\n', len - (size_t)(p - buf)))) {
			tally_line(t, p, (size_t)(nl - p));
			p = nl + 1;
		}
		if (p < buf + len)
			tally_line(t, p, len - (size_t)(p - buf));
		free(buf);
	}
}

static int missing(const struct tally *t)
{
	int n = 0;

	for (int i = 0; i < t->ntrig; i++)
		n += t->count[i] == 0;
	return n;
}

/* Poll and tally until every trigger's detection is there (or SEEN_MS). */
static void wait_seen(struct files *fs, const char *path, unsigned max, const char *extra,
		      int ntrig, struct tally *t)
{
	uint64_t deadline = jbh_now_ms() + SEEN_MS;

	for (;;) {
		files_poll(fs, path, max, extra);
		tally(fs, ntrig, t);
		if (!missing(t) || jbh_now_ms() > deadline)
			break;
		jbh_sleep_ms(50);
	}
}

static void report(const char *what, const struct tally *t, const struct files *fs)
{
	fprintf(stderr, "%s: %d triggers, %d missing, %d redelivered, %d distinct repeats, %d lines "
		"in %d files, %d bad, %d torn\n", what, t->ntrig, missing(t), t->redelivered,
		t->distinct, t->lines, fs->n, t->bad, t->torn);
}

static void assert_root_0600(const char *path)
{
	struct stat st;

	ck_assert_msg(lstat(path, &st) == 0, "%s: %s", path, strerror(errno));
	ck_assert_msg(S_ISREG(st.st_mode) && st.st_uid == 0 && (st.st_mode & 07777) == 0600,
		      "%s: uid %u mode %04o, not a root file of mode 0600", path, (unsigned)st.st_uid,
		      (unsigned)(st.st_mode & 07777));
}

/* Where the current test's part of the supervisor's log begins: 0 for a
 * test with an agent of its own; on the shared agent, its length when the
 * test began (log_begin), so that an earlier test's lines cannot answer
 * for a later one. */
static size_t log_from;

static void log_begin(void)
{
	char *log = jbh_log_read(&A);

	log_from = strlen(log);
	free(log);
}

/* The log from log_from on (malloc'd), and the whole of it in *all. */
static char *log_part(char **all)
{
	*all = jbh_log_read(&A);
	return *all + (strlen(*all) >= log_from ? log_from : strlen(*all));
}

static int log_has(const char *needle)
{
	char *all, *p = log_part(&all);
	int r = strstr(p, needle) != NULL;

	free(all);
	return r;
}

static int log_wait(const char *needle, unsigned timeout_ms)
{
	uint64_t deadline = jbh_now_ms() + timeout_ms;

	while (!log_has(needle) && jbh_now_ms() < deadline)
		jbh_sleep_ms(10);
	return log_has(needle);
}

/* How many times needle is in the supervisor's log (from log_from on). */
static int log_count(const char *needle)
{
	char *log, *p = log_part(&log);
	int n = 0;

	while ((p = strstr(p, needle))) {
		n++;
		p += strlen(needle);
	}
	free(log);
	return n;
}

static int log_wait_count(const char *needle, int n, unsigned timeout_ms)
{
	uint64_t deadline = jbh_now_ms() + timeout_ms;

	while (log_count(needle) < n) {
		if (jbh_now_ms() > deadline)
			return 0;
		jbh_sleep_ms(20);
	}
	return 1;
}

static void stop_and_clean(void)
{
	char cmd[PATH_MAX];

	jbh_stop(&A, STOP_MS);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", A.dir);
	ck_assert_int_eq(system(cmd), 0);
	rm_bin_dir();
}

/* --- one agent for the SIGUSR1, printer-kill and logrotate tests ------------- */

/* They run, in this order, on one agent (an agent start each saved): the
 * SIGUSR1s to the children first (no child replaced before it, so the
 * pids it compares are the first ones), the printer killed while its file
 * is reopened, logrotate last; each reads the log from where it began
 * (log_begin), and the triggers of each carry its own run id. The options
 * are what each needs: file_max_bytes = 0 (rotation only by SIGUSR1), a
 * heartbeat deadline of 8 s (the printer killed is stopped for a while
 * before, and must not be replaced as hung). */
static void shared_up(void)
{
	const struct jbh_opts o = {.keep_dir = 1, .deadline_ms = 8000,
				   .extra_conf = "[printers]\nfile_max_bytes = 0\n"};

	jbh_start_ready(&A, &o, READY_MS);
}

/* Check runs no teardown for a failed unchecked setup, and has no report
 * for a failure in an unchecked teardown: this only ends an agent the last
 * test did not stop. */
static void shared_down(void)
{
	jbh_reap(&A);
	jbh_kill_leftovers();
}

/* The start of a test on the shared agent: it still runs; log from here. */
static void shared_begin(void)
{
	ck_assert_msg(jbh_running(&A), "the shared agent is gone (log %s)", A.log);
	log_begin();
}

/* The end of a test on the shared agent: it still runs (the last test
 * stops it). */
static void shared_done(void)
{
	ck_assert_msg(jbh_running(&A), "the shared agent died (log %s)", A.log);
	rm_bin_dir();
}

/* The last test on the shared agent: a clean stop after all of them. */
START_TEST(test_shared_stop)
{
	char cmd[PATH_MAX];

	jbh_stop_unparented(&A, STOP_MS);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", A.dir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* --- size rotation ---------------------------------------------------------- */

#define SIZE_MAX_BYTES 65536
#define SIZE_KEEP 2
#define SIZE_TRIGGERS 90

/* Every trigger once across every file the printer wrote, rotations by
 * size under the load, at most SIZE_KEEP rotated files left, and the
 * directories the agent made for them. */
START_TEST(test_size_rotation)
{
	struct jbh_opts o = {.events_name = "logs/deep/events.json", .keep_dir = 1,
			     .extra_conf = "[printers]\nfile_max_bytes = 65536\nfile_keep = 2\n"};
	static struct files fs;
	static struct tally t;
	char path[PATH_MAX];
	struct stat st;
	int rotated;

	make_bin_dir();
	jbh_start(&A, &o);
	jbh_wait_all_ready(&A, READY_MS);
	/* the directories were made, root's and 0700; the file 0600 */
	snprintf(path, sizeof(path), "%s/logs", A.dir);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_msg(S_ISDIR(st.st_mode) && st.st_uid == 0 && (st.st_mode & 07777) == 0700,
		      "%s: uid %u mode %04o", path, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
	snprintf(path, sizeof(path), "%s/logs/deep", A.dir);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_msg(S_ISDIR(st.st_mode) && st.st_uid == 0 && (st.st_mode & 07777) == 0700,
		      "%s: uid %u mode %04o", path, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
	assert_root_0600(A.events);

	for (int i = 0; i < SIZE_TRIGGERS; i++) {
		trigger(i);
		files_poll(&fs, A.events, SIZE_KEEP, NULL);
		jbh_sleep_ms(10);
	}
	wait_seen(&fs, A.events, SIZE_KEEP, NULL, SIZE_TRIGGERS, &t);
	report("size rotation", &t, &fs);
	ck_assert_msg(missing(&t) == 0, "%d of %d triggers lost (log %s)", missing(&t),
		      SIZE_TRIGGERS, A.log);
	ck_assert_msg(t.redelivered == 0 && t.distinct == 0,
		      "%d lines repeated, %d second detections", t.redelivered, t.distinct);
	ck_assert_msg(t.bad == 0 && t.torn == 0, "%d broken lines, %d files cut mid-line", t.bad,
		      t.torn);
	rotated = log_count("rotated at ");
	ck_assert_msg(rotated >= 3 && fs.n >= 4, "%d rotations, %d files: the load was meant to "
		      "rotate the file at least 3 times (log %s)", rotated, fs.n, A.log);
	/* each rotated file (all but the current one) had reached the size */
	for (int k = 0; k < fs.n; k++) {
		struct stat cur, f;

		ck_assert_int_eq(fstat(fs.f[k].fd, &f), 0);
		if (stat(A.events, &cur) == 0 && cur.st_ino == f.st_ino)
			continue;
		ck_assert_msg(f.st_size >= SIZE_MAX_BYTES, "a rotated file of %lld bytes",
			      (long long)f.st_size);
	}
	/* at most file_keep rotated files are left, each root's 0600 */
	for (int i = 1; i <= SIZE_KEEP; i++) {
		snprintf(path, sizeof(path), "%s.%d", A.events, i);
		assert_root_0600(path);
	}
	snprintf(path, sizeof(path), "%s.%d", A.events, SIZE_KEEP + 1);
	ck_assert_msg(access(path, F_OK) < 0, "%s exists: more than file_keep %d", path, SIZE_KEEP);
	assert_root_0600(A.events);
	/* each printer restart was a planned one */
	ck_assert_int_eq(log_count("file: restarting now (planned: its file is rotated)"), rotated);
	ck_assert_msg(!jbh_log_has(&A, "file: restarting in"), "a file printer restart that was "
		      "not planned (log %s)", A.log);
	files_close(&fs);
	stop_and_clean();
}
END_TEST

/* --- logrotate -------------------------------------------------------------- */


/* Text with every from replaced by to (malloc'd). */
static char *replace(const char *text, const char *from, const char *to)
{
	size_t n = 0, fl = strlen(from), tl = strlen(to);
	const char *p;
	char *out, *o;

	for (p = text; (p = strstr(p, from)); p += fl)
		n++;
	out = malloc(strlen(text) + n * tl + 1);
	ck_assert_ptr_nonnull(out);
	for (o = out, p = text;;) {
		const char *q = strstr(p, from);

		if (!q) {
			strcpy(o, p);
			break;
		}
		memcpy(o, p, (size_t)(q - p));
		o += q - p;
		memcpy(o, to, tl);
		o += tl;
		p = q + fl;
	}
	return out;
}

/* how: the directive that makes (or not) the new file; NULL: the shipped
 * contrib/logrotate/jibril for our file, its postrotate aimed at our
 * supervisor alone (pkill -x jibril would reach every agent this host
 * runs: other tests' too) */
static void write_logrotate_conf(const char *conf, const char *how)
{
	FILE *f = fopen(conf, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fchmod(fileno(f), 0600), 0);
	if (how) {
		fprintf(f, "%s {\n    rotate 5\n    %s\n    missingok\n    postrotate\n"
			"        /bin/kill -USR1 %d\n    endscript\n}\n", A.events, how, (int)A.pid);
	} else {
		char src[PATH_MAX], kill_it[64], *text, *a, *b;

		snprintf(src, sizeof(src), "%s/contrib/logrotate/jibril", jbh_src());
		text = jbh_slurp(src, NULL);
		ck_assert_msg(text != NULL, "cannot read %s", src);
		snprintf(kill_it, sizeof(kill_it), "/bin/kill -USR1 %d", (int)A.pid);
		a = replace(text, "/var/log/jibril/detections.json", A.events);
		b = replace(a, "pkill -USR1 -x jibril", kill_it);
		ck_assert_msg(strcmp(a, text) && strcmp(a, b), "%s changed: no file or no pkill", src);
		fputs(b, f);
		free(text);
		free(a);
		free(b);
	}
	ck_assert_int_eq(fclose(f), 0);
}

/* Triggers run by a process of their own, one every ~30 ms until told to
 * stop, so that detections are being printed whenever logrotate runs. */
struct loop {
	volatile int stop, n, failed;
};

static struct loop *loop_start(pid_t *pid)
{
	struct loop *l = mmap(NULL, sizeof(*l), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
			      -1, 0);

	ck_assert(l != MAP_FAILED);
	memset((void *)l, 0, sizeof(*l));
	*pid = fork();
	ck_assert_int_ge(*pid, 0);
	if (*pid == 0) {
		for (int seq = 0; seq < MAX_TRIG && !l->stop; seq++) {
			char exe[PATH_MAX];
			char *argv[] = {exe, "/etc/shadow", NULL};
			pid_t c;

			if (snprintf(exe, sizeof(exe), "%s/cat." MARK "%u_%d", dir_bin, run_id, seq) >=
				    (int)sizeof(exe) ||
			    tl_copy_file("/usr/bin/cat", exe, 0755) < 0 ||
			    tl_run(exe, argv, 5000, &c) != 0)
				l->failed++;
			unlink(exe);
			l->n = seq + 1;
			jbh_sleep_ms(30);
		}
		_exit(0);
	}
	return l;
}

static int loop_stop(struct loop *l, pid_t pid)
{
	int n, st;

	l->stop = 1;
	st = jbh_wait_exit(pid, 20000);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "trigger loop: 0x%x", st);
	ck_assert_msg(l->failed == 0, "%d triggers failed", l->failed);
	n = l->n;
	munmap((void *)l, sizeof(*l));
	return n;
}

/* Wait until at least n of the loop's triggers are in the files. */
static void wait_count(struct files *fs, int n, struct tally *t)
{
	uint64_t deadline = jbh_now_ms() + SEEN_MS;

	for (;;) {
		int seen = 0;

		files_poll(fs, A.events, 5, NULL);
		tally(fs, MAX_TRIG, t);
		for (int i = 0; i < MAX_TRIG; i++)
			seen += t->count[i] > 0;
		if (seen >= n)
			return;
		ck_assert_msg(jbh_now_ms() < deadline, "only %d of %d triggers printed (log %s)", seen,
			      n, A.log);
		jbh_sleep_ms(50);
	}
}

/* logrotate -f with this configuration (write_logrotate_conf) */
static void logrotate(const char *how, struct files *fs)
{
	char conf[PATH_MAX], state[PATH_MAX];
	char *argv[] = {"logrotate", "-f", "-s", state, conf, NULL};
	struct jbh_io io = {NULL, -1, -1, -1};
	pid_t pid;
	int st;

	snprintf(conf, sizeof(conf), "%s/logrotate.conf", A.dir);
	snprintf(state, sizeof(state), "%s/logrotate.state", A.dir);
	write_logrotate_conf(conf, how);
	io.err = open(A.log, O_WRONLY | O_APPEND | O_CLOEXEC); /* its complaints, in our log */
	pid = jbh_spawn("/usr/sbin/logrotate", argv, &io);
	if (io.err >= 0)
		close(io.err);
	st = jbh_wait_exit(pid, 20000);
	files_poll(fs, A.events, 5, NULL);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "logrotate (%s): wait status 0x%x "
		      "(log %s)", how ? how : "contrib/logrotate/jibril", st, A.log);
}

START_TEST(test_logrotate)
{
	static const char *const how[] = {"create 0600 root root", "nocreate", NULL};
	static struct files fs;
	static struct tally t;
	char path[PATH_MAX];
	struct loop *l;
	pid_t lp;
	int n;

	if (access("/usr/sbin/logrotate", X_OK) < 0) {
		printf("SKIP: check_filerot: logrotate: /usr/sbin/logrotate is not installed "
		       "(make check installs it)\n");
		return;
	}
	make_bin_dir();
	shared_begin();
	l = loop_start(&lp);
	/* logrotate makes the new file itself, then lets jibril make it, then
	 * the configuration this repository ships (nocreate, compress,
	 * delaycompress); each while detections are being printed */
	for (int r = 0; r < 3; r++) {
		wait_count(&fs, 8 * (r + 1), &t);
		logrotate(how[r], &fs);
		ck_assert_msg(log_wait_count("reopened (SIGUSR1)", r + 1, 10000), "no reopen "
			      "(log %s)", A.log);
		assert_root_0600(A.events);
	}
	wait_count(&fs, 8 * 4, &t);
	n = loop_stop(l, lp);
	wait_seen(&fs, A.events, 5, NULL, n, &t);
	/* the tamper worker had as long for the SIGUSR1s as for the triggers;
	 * a few more cadences, and the last look */
	jbh_sleep_ms(3 * A.o.cadence_ms);
	files_poll(&fs, A.events, 5, NULL);
	tally(&fs, n, &t);
	report("logrotate", &t, &fs);
	ck_assert_msg(missing(&t) == 0, "%d of %d triggers lost (log %s)", missing(&t), n, A.log);
	ck_assert_msg(t.redelivered == 0 && t.distinct == 0,
		      "%d lines repeated, %d second detections", t.redelivered, t.distinct);
	ck_assert_msg(t.bad == 0 && t.torn == 0, "%d broken lines, %d files cut mid-line", t.bad,
		      t.torn);
	ck_assert_int_eq(log_count("reopened (SIGUSR1)"), 3);
	ck_assert_msg(t.usr1_sup == 0, "%d tamper detections of the supervisor's SIGUSR1",
		      t.usr1_sup);
	/* four files written (the first, logrotate's, two of jibril's); the
	 * last rotation's .1 and a .2.gz the third run compressed (delaycompress:
	 * the file rotated before), all root's 0600 */
	ck_assert_msg(fs.n == 4, "%d files written, not 4", fs.n);
	snprintf(path, sizeof(path), "%s.1", A.events);
	assert_root_0600(path);
	snprintf(path, sizeof(path), "%s.2.gz", A.events);
	assert_root_0600(path);
	ck_assert_msg(!log_has("file: restarting in"), "a file printer restart that was "
		      "not planned (log %s)", A.log);
	files_close(&fs);
	shared_done();
}
END_TEST

/* --- SIGUSR1 and the children ------------------------------------------------- */

static void usr1_from_child(pid_t to)
{
	pid_t pid = fork();
	int st;

	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(kill(to, SIGUSR1) == 0 ? 0 : 1);
	st = jbh_wait_exit(pid, 5000);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "kill -USR1 %d failed", (int)to);
}

struct usr1_match {
	const char *role;
};

static int usr1_to(json_t *ev, void *arg)
{
	const struct usr1_match *m = arg;
	const char *kind = jbh_jstr(ev, "kind"), *role = jbh_jstr(ev, "tamper.target.process.role");

	return kind && !strcmp(kind, "tamper_agent_signal") && jbh_jint(ev, "tamper.op", -1) == SIGUSR1 &&
	       role && !strcmp(role, m->role);
}

START_TEST(test_usr1_children)
{
	struct usr1_match file = {"file"}, fa = {"file_access"}, sup = {"supervisor"};
	pid_t p_file, p_fa;
	json_t *ev;

	make_bin_dir();
	shared_begin();
	p_file = jbh_child_pid(&A, "file");
	p_fa = jbh_child_pid(&A, "file_access");
	ck_assert(p_file > 0 && p_fa > 0);
	/* to the supervisor, with the file in place: nothing to do */
	usr1_from_child(A.pid);
	ck_assert_msg(log_wait("SIGUSR1: ", 5000) && log_wait("nothing to reopen", 5000),
		      "no word of SIGUSR1 (log %s)", A.log);
	/* to two children: ignored by both, reported as tamper */
	usr1_from_child(p_file);
	usr1_from_child(p_fa);
	ev = jbh_wait_event(&A, usr1_to, &file, jbh_detect_deadline(&A));
	ck_assert_msg(ev != NULL, "SIGUSR1 to the file printer not reported (events %s)", A.events);
	json_decref(ev);
	ev = jbh_wait_event(&A, usr1_to, &fa, jbh_detect_deadline(&A));
	ck_assert_msg(ev != NULL, "SIGUSR1 to file_access not reported (events %s)", A.events);
	json_decref(ev);
	ck_assert_int_eq(jbh_count_events(&A, usr1_to, &sup), 0);
	ck_assert_int_eq(jbh_child_pid(&A, "file"), p_file);
	ck_assert_int_eq(jbh_child_pid(&A, "file_access"), p_fa);
	ck_assert_msg(!log_has("signal 10"), "a child ended by SIGUSR1 (log %s)", A.log);
	shared_done();
}
END_TEST

/* --- a printer killed while its file is reopened ------------------------------- */

#define KILL_BEFORE 10
#define KILL_TRIGGERS 30

START_TEST(test_printer_killed)
{
	static struct files fs;
	static struct tally t;
	char moved[PATH_MAX];
	pid_t p1, p2;

	make_bin_dir();
	shared_begin();
	ck_assert_msg(A.o.deadline_ms >= 8000, "the agent's heartbeat deadline is too short");
	snprintf(moved, sizeof(moved), "%s.moved", A.events);
	for (int i = 0; i < KILL_BEFORE; i++)
		trigger(i);
	wait_seen(&fs, A.events, 0, moved, KILL_BEFORE, &t);
	ck_assert_int_eq(missing(&t), 0);
	/* every line so far acknowledged (printed, then PRINTED within ms) */
	jbh_sleep_ms(500);
	p1 = jbh_child_pid(&A, "file");
	ck_assert_int_gt(p1, 0);
	ck_assert_int_eq(kill(p1, SIGSTOP), 0);
	for (int i = KILL_BEFORE; i < KILL_TRIGGERS; i++)
		trigger(i);
	/* their lines reach the stopped printer's socket, unacknowledged */
	jbh_sleep_ms(4 * A.o.cadence_ms + 500);
	/* logrotate's part, by hand: rename, then SIGUSR1; the printer is to
	 * be replaced once it acknowledged them, and it is killed first */
	ck_assert_int_eq(rename(A.events, moved), 0);
	ck_assert_int_eq(kill(A.pid, SIGUSR1), 0);
	ck_assert(log_wait("printer gets a new one", 5000));
	jbh_sleep_ms(200);
	ck_assert_msg(!log_has("its file is reopened"), "a printer holding lines was "
		      "retired (log %s)", A.log);
	ck_assert_int_eq(kill(p1, SIGKILL), 0);
	p2 = jbh_wait_ready(&A, "file", p1, 10000);
	ck_assert_msg(p2 > 0, "no new file printer (log %s)", A.log);
	wait_seen(&fs, A.events, 0, moved, KILL_TRIGGERS, &t);
	report("printer killed", &t, &fs);
	ck_assert_msg(missing(&t) == 0, "%d of %d triggers lost (log %s)", missing(&t),
		      KILL_TRIGGERS, A.log);
	ck_assert_msg(t.redelivered == 0 && t.distinct == 0,
		      "%d lines repeated, %d second detections", t.redelivered, t.distinct);
	ck_assert_msg(t.bad == 0 && t.torn == 0, "%d broken lines, %d files cut mid-line", t.bad,
		      t.torn);
	ck_assert_msg(log_has("reopened (SIGUSR1)"), "no reopen (log %s)", A.log);
	assert_root_0600(A.events);
	files_close(&fs);
	shared_done();
}
END_TEST

/* --- units -------------------------------------------------------------------- */

static char udir[64];

static void put(int dfd, const char *name, const char *text)
{
	int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* the content of name in dfd, or "-" when it is not there */
static const char *got(int dfd, const char *name)
{
	static char buf[8][32];
	static int k;
	char *b = buf[k++ % 8];
	int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return "-";
	n = read(fd, b, 31);
	close(fd);
	b[n > 0 ? n : 0] = '\0';
	return b;
}

START_TEST(test_shift)
{
	char err[256] = "";
	int dfd;

	snprintf(udir, sizeof(udir), "/tmp/check_filerot.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(udir));
	dfd = open(udir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(dfd, 0);
	/* keep 2: .3 and .4 (left by a larger keep) go, the rest moves up */
	put(dfd, "f", "0");
	put(dfd, "f.1", "1");
	put(dfd, "f.2", "2");
	put(dfd, "f.3", "3");
	put(dfd, "f.4", "4");
	ck_assert_int_eq(sup_outfile_shift(dfd, "f", 2, err, sizeof(err)), 0);
	ck_assert_str_eq(got(dfd, "f"), "-");
	ck_assert_str_eq(got(dfd, "f.1"), "0");
	ck_assert_str_eq(got(dfd, "f.2"), "1");
	ck_assert_str_eq(got(dfd, "f.3"), "-");
	ck_assert_str_eq(got(dfd, "f.4"), "-");
	/* keep 3 with a gap: f.2 moves, the missing f.1 is skipped */
	put(dfd, "g", "0");
	put(dfd, "g.2", "2");
	ck_assert_int_eq(sup_outfile_shift(dfd, "g", 3, err, sizeof(err)), 0);
	ck_assert_str_eq(got(dfd, "g.1"), "0");
	ck_assert_str_eq(got(dfd, "g.2"), "-");
	ck_assert_str_eq(got(dfd, "g.3"), "2");
	/* a rename that fails is reported and stops the shift: h stays */
	put(dfd, "h", "0");
	ck_assert_int_eq(mkdirat(dfd, "h.1", 0700), 0);
	put(dfd, "h.2", "2");
	ck_assert_int_eq(sup_outfile_shift(dfd, "h", 2, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "cannot rename h.1 to h.2") != NULL, "error: %s", err);
	ck_assert_str_eq(got(dfd, "h"), "0");
	close(dfd);
}
END_TEST

static void udir_clean(void)
{
	char cmd[128];

	if (!udir[0])
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", udir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", udir);
	udir[0] = '\0';
}

/* A missing directory is made only below directories the owner.c rules
 * accept: under one that group may write, --check-config refuses with the
 * file printer's FILE:LINE and makes nothing. */
START_TEST(test_dir_refused)
{
	char conf[256], open_dir[128], cmd[PATH_MAX * 2], out[1024] = "", want[PATH_MAX];
	FILE *f, *p;
	size_t n;
	int st;

	snprintf(udir, sizeof(udir), "/tmp/check_filerot.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(udir));
	snprintf(open_dir, sizeof(open_dir), "%s/shared", udir);
	ck_assert_int_eq(mkdir(open_dir, 0700), 0);
	ck_assert_int_eq(chmod(open_dir, 0775), 0);
	snprintf(conf, sizeof(conf), "%s/jibril.conf", udir);
	f = fopen(conf, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fchmod(fileno(f), 0600), 0);
	fprintf(f, "[printers]\nstdout = no\nfile = %s/logs/events.json\n[audit]\nfile =\n", open_dir);
	ck_assert_int_eq(fclose(f), 0);
	snprintf(cmd, sizeof(cmd), "'%s' --check-config '%s' 2>&1", jbh_bin(), conf);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	st = pclose(p);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 78, "--check-config: 0x%x: %s", st, out);
	snprintf(want, sizeof(want), "%s:3: [printers] file: %s: mode 0775", conf, open_dir);
	ck_assert_msg(strstr(out, want) != NULL, "'%s' not in: %s", want, out);
	snprintf(want, sizeof(want), "%s/logs", open_dir);
	ck_assert_msg(access(want, F_OK) < 0, "%s was made", want);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("filerot");
	TCase *tc;
	SRunner *sr;
	int failed;

	jbh_main_init("check_filerot");
	tc = tcase_create("units");
	tcase_add_checked_fixture(tc, NULL, udir_clean);
	tcase_add_test(tc, test_shift);
	tcase_add_test(tc, test_dir_refused);
	suite_add_tcase(s, tc);
	tc = tcase_create("agent");
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, NULL, rm_bin_dir);
	tcase_add_test(tc, test_size_rotation);
	suite_add_tcase(s, tc);
	/* one agent (see shared_up); Check runs teardowns in the reverse
	 * order of adding: rm_bin_dir in each test, shared_down at the end */
	tc = tcase_create("agent_shared");
	tcase_set_timeout(tc, 120);
	tcase_add_unchecked_fixture(tc, shared_up, shared_down);
	tcase_add_checked_fixture(tc, NULL, rm_bin_dir);
	tcase_add_test(tc, test_usr1_children);
	tcase_add_test(tc, test_printer_killed);
	tcase_add_test(tc, test_logrotate);
	tcase_add_test(tc, test_shared_stop);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	jbh_kill_leftovers();
	return failed ? 1 : 0;
}
