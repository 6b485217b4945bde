/*
 * check_resume.c - the kernel side outlives the supervisor (root, real
 * kernel, real agents): maps and links pinned under [bpf] pin_dir.
 *
 * Invariants checked:
 *  - a supervisor that exited (SIGKILL, a keep_on_stop stop) is no longer
 *    the agent for the programs it left: a process that gets its pid
 *    next, and that one's child, are watched like any other;
 *  - a supervisor killed with SIGKILL leaves its programs attached: what
 *    processes do while none runs (a file, an exec and a connection, one
 *    for each worker kind) is reported once each by the next supervisor,
 *    which resumes the same maps; what the first one had printed is not
 *    printed again (or, if it is, with the same uuid);
 *  - pins of another layout, or of other [maps] sizes, are replaced, the
 *    log says so, and a data_loss (not_resumed) reports what they held;
 *  - a root process that writes its own pid as the agent's into the pinned
 *    .bss (through a mapping: no bpf() write) is reported within a cadence
 *    (tamper_agent_state) and the agent's pid is put back;
 *  - one supervisor per pin directory: --unload is refused while one runs;
 *  - keep_on_stop = yes leaves the programs pinned at a clean stop, still
 *    recording (an act before the next start is reported by it, once),
 *    and `jibril --unload` removes them (the directory is gone); a clean stop
 *    without it removes them itself (the harness checks that at every
 *    clean stop);
 *  - pins that no agent holds (pin_dir changed after a crash) are named in
 *    a warning at start, with how to remove them; held ones are not;
 *  - a pinned .bss of the same size whose variables moved (another build)
 *    is not resumed: neither written nor reused.
 * Not root or no BPF: "SKIP:" and exit 77.
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>

#include "agent_harness.h"
#include "bpf/jibril.h"
#include "jibril.skel.h"
#include "common/log.h"
#include "supervisor/pins.h"

#define READY_MS 10000
#define STOP_MS 15000

static struct jbh_agent A, B;
static char pin[128];
static const char *const tests[] = {"resume", "layout", "keep", "empty", "sizes", "orphan",
				    "vars"};
static pid_t suite_pid; /* set before the tests fork: their pin dirs' names */

static void pin_dir_for(const char *what)
{
	snprintf(pin, sizeof(pin), "/sys/fs/bpf/jbtest-%s-%d", what, (int)suite_pid);
	jbh_unpin(pin);
}

/* In the suite's process, after each test (a failed one too): its agents
 * and whatever it left pinned. */
static void sweep(void)
{
	jbh_kill_leftovers();
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		pin_dir_for(tests[i]);
}

/* Entries in PIN/sub (-1: no such directory). */
static int count_pins(const char *sub)
{
	char cmd[700], buf[64] = "";
	FILE *p;

	snprintf(cmd, sizeof(cmd), "[ -d %s/%s ] && ls -A %s/%s | wc -l || echo -1", pin, sub, pin,
		 sub);
	p = popen(cmd, "r");
	ck_assert(p != NULL);
	if (!fgets(buf, sizeof(buf), p))
		buf[0] = '\0';
	pclose(p);
	return atoi(buf);
}

/* jibril --config conf --unload: its exit status, its output in out. */
static int unload(const char *conf, char *out, size_t len)
{
	char cmd[512];
	size_t n;
	FILE *p;
	int st;

	snprintf(cmd, sizeof(cmd), "%s --config %s --unload 2>&1", jbh_bin(), conf);
	p = popen(cmd, "r");
	ck_assert(p != NULL);
	n = fread(out, 1, len - 1, p);
	out[n] = '\0';
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 255;
}

/* The jb_agent_tgid of the pinned .bss, read, and written when set is
 * not 0 (as any root process could: a mapping, no bpf() write). */
static uint32_t bss_tgid(uint32_t set)
{
	char path[256];
	long page = sysconf(_SC_PAGESIZE);
	size_t sz = (sizeof(struct jibril_bpf__bss) + (size_t)page - 1) & ~((size_t)page - 1);
	uint32_t v, *p;
	void *m;
	int fd;

	snprintf(path, sizeof(path), "%s/maps/jibril_b_bss", pin);
	fd = bpf_obj_get(path);
	ck_assert_msg(fd >= 0, "%s: %s", path, strerror(errno));
	m = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ck_assert(m != MAP_FAILED);
	p = (uint32_t *)(void *)((char *)m + offsetof(struct jibril_bpf__bss, jb_agent_tgid));
	if (set)
		__atomic_store_n(p, set, __ATOMIC_SEQ_CST);
	v = __atomic_load_n(p, __ATOMIC_SEQ_CST);
	munmap(m, sz);
	close(fd);
	return v;
}

/* a data_loss event of cause arg */
static int loss_of(json_t *ev, void *arg)
{
	const char *k = jbh_jstr(ev, "kind"), *c = jbh_jstr(ev, "cause");

	return k && c && !strcmp(k, "data_loss") && !strcmp(c, arg);
}

static void uuid_of(const struct jbh_agent *a, struct jbh_match *m, char *uuid, size_t len)
{
	json_t *ev = jbh_wait_event(a, jbh_match, m, jbh_detect_deadline(a));
	const char *u;

	ck_assert_msg(ev != NULL, "no %s detection of pid %d (log %s)", m->kind, (int)m->pid,
		      a->log);
	u = jbh_jstr(ev, "uuid");
	ck_assert(u != NULL);
	snprintf(uuid, len, "%s", u);
	json_decref(ev);
}

static pid_t act_as_pid_tries(pid_t pid);

/* ns_last_pid as it is now (-1: unreadable) */
static long last_pid(void)
{
	FILE *f = fopen("/proc/sys/kernel/ns_last_pid", "r");
	long v = -1;

	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

/* A process that gets pid (the killed supervisor's, free now: the pid
 * the next free one, as CRIU restores pids: ns_last_pid) and, as its
 * child, reads /etc/shadow; the reader's pid, or 0 when no fork got pid
 * within the tries (another process took it). Then ns_last_pid back
 * where it was: the pids after the dead supervisor's are the downtime
 * acts' and its children's, and a process that got one of them next (a
 * later trigger of this test, or any other process) would be counted as
 * that act reported twice. */
static pid_t act_as_pid(pid_t pid)
{
	long before = last_pid();
	pid_t r = act_as_pid_tries(pid);
	long now = last_pid();
	FILE *f = fopen("/proc/sys/kernel/ns_last_pid", "w");

	ck_assert(f != NULL && before > 0);
	fprintf(f, "%ld", before > now ? before : now);
	fclose(f);
	return r;
}

static pid_t act_as_pid_tries(pid_t pid)
{
	for (int i = 0; i < 200; i++) {
		int fds[2], st;
		pid_t c, reader = 0;
		FILE *f = fopen("/proc/sys/kernel/ns_last_pid", "w");

		ck_assert(f != NULL && pipe(fds) == 0);
		fprintf(f, "%d", (int)pid - 1);
		fclose(f);
		c = fork();
		ck_assert_int_ge(c, 0);
		if (c == 0) {
			char *argv[] = {"cat", "/etc/shadow", NULL};
			pid_t g;

			if (getpid() != pid)
				_exit(3);
			g = jbh_spawn("/usr/bin/cat", argv, NULL);
			if (write(fds[1], &g, sizeof(g)) != sizeof(g) || jbh_wait_exit(g, 5000) != 0)
				_exit(4);
			_exit(0);
		}
		close(fds[1]);
		st = jbh_wait_exit(c, 10000);
		if (c == pid && (st != 0 || read(fds[0], &reader, sizeof(reader)) != sizeof(reader)))
			reader = 0;
		close(fds[0]);
		if (c == pid)
			return reader;
	}
	return 0;
}

START_TEST(test_killed_supervisor_resumed)
{
	struct jbh_opts o = {.pin_dir = pin};
	struct jbh_match before, during[3], after, reuse = {0};
	static const char *const kinds[3] = {"file_access", "execution", "network"};
	char uuid1[64], uuid1b[64] = "";
	int st, n;

	pin_dir_for("resume");
	jbh_start(&A, &o);
	jbh_wait_all_ready(&A, READY_MS);
	ck_assert_msg(count_pins("links") > 20, "the links are not pinned under %s", pin);

	/* printed before the crash */
	jbh_trigger_for(&A, "file_access", &before);
	uuid_of(&A, &before, uuid1, sizeof(uuid1));

	/* SIGKILL: nothing of the supervisor runs to clean up */
	ck_assert_int_eq(kill(A.pid, SIGKILL), 0);
	ck_assert_int_eq(waitpid(A.pid, &st, 0), A.pid);
	A.reaped = 1;
	A.status = st;
	ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	ck_assert_msg(count_pins("links") > 20 && count_pins("maps") > 10,
		      "the killed supervisor's pins are gone from %s", pin);

	/* while no supervisor runs: one act for each worker kind */
	for (int i = 0; i < 3; i++)
		ck_assert_int_gt(jbh_trigger_for(&A, kinds[i], &during[i]), 0);
	/* the dead supervisor's pid is nobody's: the programs still running
	 * must not take a process that gets it next for the agent (whose
	 * own acts, and its children's, they skip) */
	ck_assert_msg(bss_tgid(0) == JB_AGENT_NONE,
		      "the programs still take the dead supervisor's pid %d for the agent (%u)",
		      (int)A.pid, bss_tgid(0));
	reuse.kind = "credentials_files_access";
	reuse.pid = act_as_pid(A.pid);
	ck_assert_msg(reuse.pid > 0, "no process got the dead supervisor's pid %d", (int)A.pid);

	jbh_start(&B, &o);
	jbh_wait_all_ready(&B, READY_MS);
	ck_assert_msg(jbh_log_has(&B, "resumed the maps pinned under"),
		      "the second supervisor did not resume (log %s)", B.log);

	/* each act of the downtime reported; then a marker after the restart,
	 * so that every snapshot that could repeat anything is printed */
	for (int i = 0; i < 3; i++) {
		char u[64];
		uuid_of(&B, &during[i], u, sizeof(u));
	}
	{
		char u[64];
		uuid_of(&B, &reuse, u, sizeof(u)); /* the child of the pid's new owner */
	}
	jbh_trigger_for(&B, "file_access", &after);
	uuid_of(&B, &after, uuid1b, sizeof(uuid1b));
	for (int i = 0; i < 3; i++) {
		n = jbh_count_events(&B, jbh_match, &during[i]);
		ck_assert_msg(n == 1, "%s of pid %d reported %d times after the restart (log %s)",
			      during[i].kind, (int)during[i].pid, n, B.log);
	}
	/* printed before the crash: not again, or with its uuid */
	n = jbh_count_events(&B, jbh_match, &before);
	if (n) {
		json_t *ev = jbh_wait_event(&B, jbh_match, &before, jbh_now_ms());
		ck_assert(ev != NULL);
		ck_assert_msg(!strcmp(jbh_jstr(ev, "uuid"), uuid1),
			      "the detection printed before the crash came again with another uuid "
			      "(%s, was %s)", jbh_jstr(ev, "uuid"), uuid1);
		json_decref(ev);
	}
	ck_assert_int_le(n, 1);
	jbh_stop(&B, STOP_MS);
	ck_assert_msg(count_pins("links") < 0, "a clean stop left %s", pin);
	{
		char cmd[300];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", A.dir); /* killed: not removed */
		ck_assert_int_eq(system(cmd), 0);
	}
}
END_TEST

/* Pins that are not ours (another layout) are replaced, said in the log;
 * the running agent holds the directory: --unload is refused. */
START_TEST(test_other_layout_replaced_and_locked)
{
	struct jbh_opts o = {.pin_dir = pin, .keep_dir = 1};
	char path[256], out[1024];
	int fd, rc;

	pin_dir_for("layout");
	ck_assert_int_eq(mkdir(pin, 0700), 0);
	snprintf(path, sizeof(path), "%s/maps", pin);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	/* a jb_meta of another (older, smaller) layout */
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "jb_meta", 4, 16, 1, NULL);
	ck_assert_int_ge(fd, 0);
	snprintf(path, sizeof(path), "%s/maps/jb_meta", pin);
	ck_assert_int_eq(bpf_obj_pin(fd, path), 0);
	close(fd);

	jbh_start(&A, &o);
	jbh_wait_all_ready(&A, READY_MS);
	ck_assert_msg(jbh_log_has(&A, "have layout 0, this jibril"),
		      "no line saying the old pins were replaced (log %s)", A.log);
	ck_assert_msg(count_pins("links") > 20, "the new links are not pinned");

	/* root rewrites which process the programs take for the agent (the
	 * pinned .bss, through a mapping): reported, and put back */
	{
		struct jbh_match m = {.kind = "tamper_agent_state"};
		pid_t me = getpid();
		json_t *ev;

		ck_assert_uint_eq(bss_tgid(0), (uint32_t)A.pid);
		bss_tgid((uint32_t)me);
		ev = jbh_wait_event(&A, jbh_match, &m, jbh_detect_deadline(&A));
		ck_assert_msg(ev != NULL, "no tamper_agent_state after the .bss was rewritten (log %s)",
			      A.log);
		ck_assert_int_eq(jbh_jint(ev, "tamper.found_pid", -1), me);
		ck_assert_int_eq(jbh_jint(ev, "tamper.restored_pid", -1), A.pid);
		json_decref(ev);
		ck_assert_uint_eq(bss_tgid(0), (uint32_t)A.pid);
	}

	rc = unload(A.conf, out, sizeof(out));
	ck_assert_msg(rc != 0 && strstr(out, "held by another jibril"),
		      "--unload while the agent runs: exit %d, '%s'", rc, out);
	ck_assert_msg(jbh_alive(&A) && count_pins("links") > 20,
		      "the refused --unload touched the running agent");
	jbh_stop(&A, STOP_MS);
	/* those pins had no link: no program ran on them, nothing was lost
	 * (what a start killed during its load leaves) */
	{
		char cmd[300];

		ck_assert_msg(jbh_count_events(&A, loss_of, "not_resumed") == 0,
			      "a loss reported for pins no program used (events %s)", A.events);
		snprintf(cmd, sizeof(cmd), "rm -rf %s", A.dir);
		ck_assert_int_eq(system(cmd), 0);
	}
}
END_TEST

/* [maps] sizes changed while no supervisor ran: the next one cannot
 * resume the maps, replaces them, and reports what their programs had
 * recorded since the last query (never examined) as a data_loss. */
START_TEST(test_sizes_changed_loss_reported)
{
	struct jbh_opts o = {.pin_dir = pin};
	struct jbh_opts o2 = {.pin_dir = pin, .keep_dir = 1,
			      .extra_conf = "[maps]\ntasks = 16384\n"};
	struct jbh_match during;
	json_t *ev;
	char cmd[400];
	int st;

	pin_dir_for("sizes");
	jbh_start(&A, &o);
	jbh_wait_all_ready(&A, READY_MS);
	ck_assert_int_eq(kill(A.pid, SIGKILL), 0);
	ck_assert_int_eq(waitpid(A.pid, &st, 0), A.pid);
	A.reaped = 1;
	A.status = st;
	jbh_trigger_for(&A, "file_access", &during); /* a process: a record at least */

	jbh_start(&B, &o2);
	jbh_wait_all_ready(&B, READY_MS);
	ck_assert_msg(jbh_log_has(&B, "sizes changed?"), "no line saying why (log %s)", B.log);
	jbh_stop(&B, STOP_MS);
	ev = jbh_wait_event(&B, loss_of, "not_resumed", jbh_now_ms());
	ck_assert_msg(ev != NULL, "the replaced maps' records were lost silently (events %s)",
		      B.events);
	ck_assert_str_eq(jbh_jstr(ev, "who"), "kernel");
	ck_assert_int_ge(jbh_jint(ev, "count", 0), 1);
	ck_assert_msg(strstr(jbh_jstr(ev, "detail"), "jb_tasks differs") != NULL, "detail: %s",
		      jbh_jstr(ev, "detail"));
	json_decref(ev);
	snprintf(cmd, sizeof(cmd), "rm -rf %s %s", A.dir, B.dir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* keep_on_stop: a clean stop leaves the programs; --unload removes them. */
START_TEST(test_keep_on_stop_then_unload)
{
	struct jbh_opts o = {.pin_dir = pin, .keep_dir = 1,
			     .extra_conf = "[bpf]\nkeep_on_stop = yes\n"};
	char conf[256], out[1024];
	int rc;

	pin_dir_for("keep");
	jbh_start(&A, &o);
	jbh_wait_all_ready(&A, READY_MS);
	snprintf(conf, sizeof(conf), "%s", A.conf);
	jbh_stop(&A, STOP_MS);
	ck_assert_msg(count_pins("links") > 20 && count_pins("maps") > 10,
		      "keep_on_stop = yes: the clean stop removed the pins");
	ck_assert_msg(jbh_log_has(&A, "the programs stay attached, pinned under"),
		      "no line saying the programs stay (log %s)", A.log);
	/* and they do record: an act while none runs is reported by the next */
	{
		struct jbh_match m;

		ck_assert_msg(bss_tgid(0) == JB_AGENT_NONE, "the stopped supervisor's pid %d is "
			      "still the agent's (%u)", (int)A.pid, bss_tgid(0));
		jbh_trigger_for(&A, "file_access", &m);
		jbh_start(&B, &o);
		jbh_wait_all_ready(&B, READY_MS);
		ck_assert_msg(jbh_log_has(&B, "resumed the maps pinned under"),
			      "the next supervisor did not resume (log %s)", B.log);
		json_decref(jbh_wait_event(&B, jbh_match, &m, jbh_detect_deadline(&B)));
		ck_assert_msg(jbh_count_events(&B, jbh_match, &m) == 1,
			      "the act between a keep_on_stop stop and the next start was not "
			      "reported once (log %s)", B.log);
		jbh_stop(&B, STOP_MS);
		ck_assert_msg(count_pins("links") > 20, "keep_on_stop = yes: the second stop "
			      "removed the pins");
	}

	rc = unload(conf, out, sizeof(out));
	ck_assert_msg(rc == 0 && strstr(out, "removed") && strstr(out, "pins under"),
		      "--unload: exit %d, '%s'", rc, out);
	ck_assert_msg(count_pins("links") < 0 && access(pin, F_OK) < 0,
		      "--unload left %s", pin);
	rc = unload(conf, out, sizeof(out));
	ck_assert_msg(rc == 0 && strstr(out, "nothing pinned"), "--unload again: exit %d, '%s'",
		      rc, out);
	{
		char cmd[300];
		snprintf(cmd, sizeof(cmd), "rm -rf %s %s", A.dir, B.dir);
		ck_assert_int_eq(system(cmd), 0);
	}
}
END_TEST

/* A start that ends before anything was pinned (its load failed, or it
 * was another agent's) leaves no directory behind; one with a pin keeps
 * it. */
START_TEST(test_nothing_pinned_nothing_left)
{
	struct jb_pins p;
	char err[512], path[256];
	int fd;

	pin_dir_for("empty");
	ck_assert_msg(jb_pins_open(&p, pin, "test", err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(count_pins("maps"), 0);
	jb_pins_close(&p, 0);
	ck_assert_msg(access(pin, F_OK) < 0 && errno == ENOENT,
		      "a start that pinned nothing left %s behind", pin);

	ck_assert_msg(jb_pins_open(&p, pin, "test", err, sizeof(err)) == 0, "%s", err);
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "jb_meta", 4, 16, 1, NULL);
	ck_assert_int_ge(fd, 0);
	snprintf(path, sizeof(path), "%s/maps/jb_meta", pin);
	ck_assert_int_eq(bpf_obj_pin(fd, path), 0);
	close(fd);
	jb_pins_close(&p, 0);
	ck_assert_int_eq(count_pins("maps"), 1);
}
END_TEST

/* Lines the pins code logged (log_set_sink) that name pin. */
static char orphan_lines[4096];

static void orphan_sink(int level, const char *line)
{
	size_t n = strlen(orphan_lines);

	if (strstr(line, pin))
		snprintf(orphan_lines + n, sizeof(orphan_lines) - n, "%s\n", line);
}

static int orphan_warned(const char *own)
{
	orphan_lines[0] = '\0';
	jb_pins_warn_orphans(own);
	return strstr(orphan_lines, "no agent runs") && strstr(orphan_lines, "links pinned: 1") &&
	       strstr(orphan_lines, "--unload");
}

/* Programs left pinned where no agent will look (pin_dir changed after a
 * crash, or emptied) keep recording for nobody: a start says so, naming
 * the directory; never a directory a running agent holds (locked), its
 * own, or one with nothing attached. */
START_TEST(test_abandoned_pins_warned)
{
	char path[256];
	int fd, dfd;

	pin_dir_for("orphan");
	log_set_sink(orphan_sink);
	ck_assert_int_eq(mkdir(pin, 0700), 0);
	snprintf(path, sizeof(path), "%s/maps", pin);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/links", pin);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	ck_assert_msg(!orphan_warned(NULL), "warned of a directory without jb_meta: %s",
		      orphan_lines);
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "jb_meta", 4, 16, 1, NULL);
	ck_assert_int_ge(fd, 0);
	snprintf(path, sizeof(path), "%s/maps/jb_meta", pin);
	ck_assert_int_eq(bpf_obj_pin(fd, path), 0);
	ck_assert_msg(!orphan_warned(NULL), "warned of pins with nothing attached: %s",
		      orphan_lines);
	snprintf(path, sizeof(path), "%s/links/jb_prog", pin); /* a stand-in for a link */
	ck_assert_int_eq(bpf_obj_pin(fd, path), 0);
	close(fd);
	ck_assert_msg(orphan_warned(NULL), "no warning naming the abandoned %s: '%s'", pin,
		      orphan_lines);
	ck_assert_msg(!orphan_warned(pin), "warned of its own pin_dir: %s", orphan_lines);
	dfd = open(pin, O_RDONLY | O_DIRECTORY);
	ck_assert(dfd >= 0 && flock(dfd, LOCK_EX) == 0); /* as a running agent holds it */
	ck_assert_msg(!orphan_warned(NULL), "warned of a directory a running agent holds: %s",
		      orphan_lines);
	close(dfd);
	ck_assert(orphan_warned(NULL));
	log_set_sink(NULL);
}
END_TEST

/* Pin, as PIN/maps/<.bss's pin name>, a one-element array of the .bss's
 * size whose BTF is a DATASEC with the variables of ours, every one as a
 * byte array of its size; swap: the first two of equal size trade places
 * (what a reordered build of the same size gives). */
static void pin_bss_like(struct jibril_bpf *skel, int swap)
{
	const struct btf *ob = bpf_object__btf(skel->obj);
	int sid = btf__find_by_name_kind(ob, ".bss", BTF_KIND_DATASEC);
	const struct btf_type *sec = btf__type_by_id(ob, (__u32)sid);
	const struct btf_var_secinfo *vs = btf_var_secinfos(sec);
	struct btf *nb = btf__new_empty();
	int n = btf_vlen(sec), a = -1, b = -1, u8, ds, bfd, fd;
	LIBBPF_OPTS(bpf_map_create_opts, mo);
	char path[256], name[64];
	__u32 off[n];

	ck_assert(sid > 0 && nb != NULL && n >= 2);
	for (int i = 0; i < n; i++) {
		off[i] = vs[i].offset;
		for (int j = i + 1; swap && a < 0 && j < n; j++)
			if (vs[j].size == vs[i].size)
				a = i, b = j;
	}
	ck_assert_msg(!swap || a >= 0, "no two variables of the same size in .bss");
	if (swap) {
		off[a] = vs[b].offset;
		off[b] = vs[a].offset;
	}
	u8 = btf__add_int(nb, "u8", 1, 0);
	ck_assert_int_gt(u8, 0);
	for (int i = 0; i < n; i++) {
		const struct btf_type *v = btf__type_by_id(ob, vs[i].type);
		int arr = btf__add_array(nb, u8, u8, vs[i].size);
		int var = btf__add_var(nb, btf__name_by_offset(ob, v->name_off), BTF_VAR_GLOBAL_ALLOCATED,
				       arr);

		ck_assert(arr > 0 && var > 0);
	}
	ds = btf__add_datasec(nb, ".bss", bpf_map__value_size(skel->maps.bss));
	ck_assert_int_gt(ds, 0);
	/* secinfos in offset order, as the kernel wants: the vars are
	 * numbered 3, 5, 7 ... (u8, then an array and a var each) */
	for (__u32 at = 0, done = 0; done < (__u32)n; at++)
		for (int i = 0; i < n; i++)
			if (off[i] == at) {
				ck_assert_int_eq(btf__add_datasec_var_info(nb, 3 + 2 * i, off[i],
									   vs[i].size), 0);
				done++;
			}
	ck_assert_int_eq(btf__load_into_kernel(nb), 0);
	bfd = btf__fd(nb);
	mo.btf_fd = (__u32)bfd;
	mo.btf_value_type_id = (__u32)ds;
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "fake_bss", 4, bpf_map__value_size(skel->maps.bss), 1,
			    &mo);
	ck_assert_msg(fd >= 0, "map with a .bss BTF: %s", strerror(errno));
	snprintf(name, sizeof(name), "%s", bpf_map__name(skel->maps.bss));
	for (char *c = name; *c; c++)
		*c = *c == '.' ? '_' : *c;
	snprintf(path, sizeof(path), "%s/maps/%s", pin, name);
	unlink(path);
	ck_assert_int_eq(bpf_obj_pin(fd, path), 0);
	close(fd);
	btf__free(nb);
}

/* A pinned .bss of the same size as ours, with our variables at other
 * offsets (another build): refused (never written, never resumed), and
 * one with ours where they are accepted. */
START_TEST(test_moved_variables_not_resumed)
{
	struct jibril_bpf *skel = jibril_bpf__open();
	struct jb_pins p;
	char err[512], why[256] = "";

	ck_assert(skel != NULL);
	pin_dir_for("vars");
	ck_assert_msg(jb_pins_open(&p, pin, "test", err, sizeof(err)) == 0, "%s", err);
	pin_bss_like(skel, 1);
	ck_assert_msg(jb_pins_check_vars(&p, skel->obj, skel->maps.bss, why, sizeof(why)) < 0,
		      "a .bss with two variables swapped was taken for ours");
	ck_assert_msg(strstr(why, "variable") && strstr(why, "there"), "why: %s", why);
	pin_bss_like(skel, 0);
	ck_assert_msg(jb_pins_check_vars(&p, skel->obj, skel->maps.bss, why, sizeof(why)) == 0,
		      "a .bss with our variables was refused: %s", why);
	jb_pins_close(&p, 1);
	jibril_bpf__destroy(skel);
}
END_TEST

/* The kernel side knows the agent by its pid in the host's pid namespace:
 * a supervisor in a namespace of its own (a container without
 * --pid=host) would give the programs its pid there, 1 here, and they
 * would skip the host process with that pid and its children (pid 1:
 * every service the host's init starts). It refuses to start, saying so. */
START_TEST(test_refused_in_own_pid_namespace)
{
	char dir[] = "/tmp/jbpidns.XXXXXX", conf[128], logp[128], *out;
	pid_t pid;
	FILE *f;
	int st;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(conf, sizeof(conf), "%s/jibril.conf", dir);
	snprintf(logp, sizeof(logp), "%s/log", dir);
	ck_assert_ptr_nonnull(f = fopen(conf, "w"));
	fputs("[agent]\nstatus_socket =\n[bpf]\npin_dir =\n[audit]\nfile =\n", f);
	fclose(f);
	chmod(conf, 0600);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int lfd = open(logp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		pid_t c;

		if (lfd < 0 || dup2(lfd, 1) < 0 || dup2(lfd, 2) < 0 || unshare(CLONE_NEWPID) < 0)
			_exit(90);
		c = fork();
		if (c == 0) {
			/* pid 1 of the new namespace; it ends with its parent */
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			execl(jbh_bin(), "jibril", "--config", conf, (char *)NULL);
			_exit(91);
		}
		if (c < 0 || waitpid(c, &st, 0) != c)
			_exit(92);
		_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 93);
	}
	st = jbh_wait_exit(pid, 30000);
	out = jbh_slurp(logp, NULL);
	ck_assert_ptr_nonnull(out);
	ck_assert_msg(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) != 0 &&
		      WEXITSTATUS(st) < 90 && strstr(out, "pid namespace of its own"),
		      "a supervisor in its own pid namespace: wait status 0x%x, log:\n%s", st, out);
	ck_assert_ptr_null(strstr(out, "BPF object loaded"));
	free(out);
	unlink(logp);
	unlink(conf);
	rmdir(dir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("resume");
	TCase *tc = tcase_create("pins");
	SRunner *sr;
	int failed;

	jbh_main_init("check_resume");
	tcase_set_timeout(tc, 180);
	suite_pid = getpid();
	tcase_add_unchecked_fixture(tc, NULL, sweep);
	tcase_add_test(tc, test_killed_supervisor_resumed);
	tcase_add_test(tc, test_other_layout_replaced_and_locked);
	tcase_add_test(tc, test_keep_on_stop_then_unload);
	tcase_add_test(tc, test_sizes_changed_loss_reported);
	tcase_add_test(tc, test_nothing_pinned_nothing_left);
	tcase_add_test(tc, test_refused_in_own_pid_namespace);
	tcase_add_test(tc, test_abandoned_pins_warned);
	tcase_add_test(tc, test_moved_variables_not_resumed);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
