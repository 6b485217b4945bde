/*
 * check_tamper_pipeline.c - the user-space half of tamper detection on the
 * real agent (root): a jb_tamper record written into the running agent's
 * own map, as the kernel writes one, must come out of the printer as a
 * critical tamper_* detection with the actor's process context and the
 * record in words; two different acts of one process are two detections;
 * repeats past a recipe's times limit are summarised, not lost; the tamper
 * worker is confined like the others.
 *
 * The kernel hooks that write such records are tested by the real actions
 * (tests/check_tamper.c). Once they are loaded, the test's own map write is
 * a foreign map write too: the assertions look for the records written
 * here (by kind, actor pid and fields), never for "exactly one event".
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>
#include <linux/bpf.h>

#include "agent_harness.h"
#include "bpf/jibril.h"
#include "rcp/recipe.h"

#define READY_MS 10000
#define STOP_MS 10000

static struct jbh_agent A;

/* A process the records name as their actor: a child of the test that
 * waits until killed (so its task is in jb_tasks, with us as its parent). */
static pid_t actor(void)
{
	pid_t p = fork();

	ck_assert_int_ge(p, 0);
	if (p == 0) {
		pause();
		_exit(0);
	}
	return p;
}

static void actor_end(pid_t p)
{
	kill(p, SIGKILL);
	jbh_wait_exit(p, 5000);
}

struct tmatch {
	const char *kind;
	pid_t pid;
	const char *klass;
	long long op;
};

static int tmatch(json_t *ev, void *arg)
{
	const struct tmatch *m = arg;
	const char *k = jbh_jstr(ev, "kind"), *c = jbh_jstr(ev, "tamper.class");

	return k && !strcmp(k, m->kind) && jbh_jint(ev, "process.pid", -1) == m->pid && c &&
	       !strcmp(c, m->klass) && jbh_jint(ev, "tamper.op", -1) == m->op;
}

static json_t *wait_tamper(const char *kind, pid_t pid, const char *klass, long long op)
{
	struct tmatch m = {kind, pid, klass, op};
	json_t *ev = jbh_wait_event(&A, tmatch, &m, jbh_detect_deadline(&A));

	ck_assert_msg(ev != NULL, "no %s (%s, op %lld) for pid %d (events %s, log %s)", kind,
		      klass, op, (int)pid, A.events, A.log);
	return ev;
}

/* the actor's ancestry reaches the test process */
static int ancestry_has(json_t *ev, pid_t pid)
{
	json_t *anc = json_object_get(json_object_get(ev, "background"), "ancestry"), *p;
	size_t i;

	json_array_foreach(anc, i, p)
		if (jbh_jint(p, "pid", -1) == pid)
			return 1;
	return 0;
}

/* records_become_detections and times_limit_summarises share one agent
 * (its start, the BPF load, is most of a test's time), with summary_s = 1
 * for the second: started by an unchecked fixture in the runner, which the
 * tests fork from, stopped by the last test (test_shared_stop); the
 * teardown only reaps it. Each test's records name an actor of its own,
 * and the first makes no tamper_agent_signal detection. */
static void shared_up(void)
{
	const struct jbh_opts o = {.no_fault_hooks = 1, .extra_conf = "[recipes]\nsummary_s = 1\n"};

	jbh_start_ready(&A, &o, READY_MS);
}

static void shared_down(void)
{
	jbh_reap(&A);
}

static void shared(void)
{
	ck_assert_msg(jbh_running(&A), "the shared supervisor is gone (log %s)", A.log);
}

START_TEST(test_shared_stop)
{
	jbh_stop_unparented(&A, STOP_MS);
}
END_TEST

/* a suppressed_detections summary of recipe arg */
static int summary_of(json_t *ev, void *arg)
{
	const char *k = jbh_jstr(ev, "kind"), *r = jbh_jstr(ev, "recipe");

	return k && !strcmp(k, "suppressed_detections") && r && !strcmp(r, (const char *)arg);
}

START_TEST(records_become_detections)
{
	struct jb_tamper map, file, prog;
	uint64_t t0;
	pid_t p;
	json_t *ev;

	shared();
	t0 = jbh_real_ms();
	p = actor();

	memset(&map, 0, sizeof(map));
	map.klass = JB_TAMPER_MAP_WRITE;
	map.op = BPF_MAP_UPDATE_ELEM;
	map.target_id = 4242;
	jbh_tamper_inject(&A, p, &map);
	memset(&file, 0, sizeof(file));
	file.klass = JB_TAMPER_FILE;
	file.op = JB_ACT_CHMOD;
	file.arg = 0100644;
	snprintf(file.name, sizeof(file.name), "/etc/jibril/recipes");
	jbh_tamper_inject(&A, p, &file);
	/* a second act of the same process and class: reported too */
	memset(&prog, 0, sizeof(prog));
	prog.klass = JB_TAMPER_BPF_PROG;
	prog.op = BPF_PROG_LOAD;
	prog.target_id = BPF_PROG_TYPE_KPROBE;
	prog.flags = JB_TAMPER_NAME_CUT;
	snprintf(prog.name, sizeof(prog.name), "rogue");
	jbh_tamper_inject(&A, p, &prog);
	prog.key = 0;
	prog.op = BPF_PROG_ATTACH;
	prog.arg = BPF_CGROUP_INET_EGRESS;
	prog.target_id = 7;
	jbh_tamper_inject(&A, p, &prog);

	ev = wait_tamper("tamper_bpf_map_write", p, "map_write", BPF_MAP_UPDATE_ELEM);
	jbh_check_event(ev, "tamper_bpf_map_write", p, getpid(), NULL, t0);
	ck_assert_str_eq(jbh_jstr(ev, "importance"), "critical");
	ck_assert_str_eq(jbh_jstr(ev, "mechanism"), "tamper");
	ck_assert_str_eq(jbh_jstr(ev, "tamper.operation"), "BPF_MAP_UPDATE_ELEM");
	ck_assert_int_eq(jbh_jint(ev, "tamper.target.map_id", -1), 4242);
	ck_assert_int_eq(jbh_jint(ev, "tamper.count", -1), 1);
	ck_assert_int_eq(jbh_jint(ev, "tamper.actor.pid", -1), p);
	ck_assert(jbh_jstr(ev, "tamper.first_seen") && jbh_jstr(ev, "tamper.last_seen"));
	ck_assert_int_eq(jbh_jint(ev, "process.ppid", -1), getpid());
	ck_assert_msg(ancestry_has(ev, getpid()), "the ancestry lacks the test process");
	json_decref(ev);

	ev = wait_tamper("tamper_agent_files", p, "agent_files", JB_ACT_CHMOD);
	ck_assert_str_eq(jbh_jstr(ev, "tamper.target.path"), "/etc/jibril/recipes");
	ck_assert_str_eq(jbh_jstr(ev, "tamper.target.mode"), "0644");
	ck_assert(jbh_jarr_has(ev, "tamper.target.actions", "chmod"));
	json_decref(ev);

	ev = wait_tamper("tamper_bpf_program", p, "bpf_program", BPF_PROG_LOAD);
	ck_assert_str_eq(jbh_jstr(ev, "tamper.target.program_type"), "kprobe");
	ck_assert_str_eq(jbh_jstr(ev, "tamper.target.program_name"), "rogue");
	ck_assert(json_is_true(json_object_get(json_object_get(ev, "tamper"), "name_truncated")));
	json_decref(ev);
	ev = wait_tamper("tamper_bpf_program", p, "bpf_program", BPF_PROG_ATTACH);
	ck_assert_str_eq(jbh_jstr(ev, "tamper.target.attach_type"), "cgroup_inet_egress");
	json_decref(ev);
	actor_end(p);
}
END_TEST

/* One actor signalling the supervisor and a worker more often than the
 * recipe's times_per_proc allows: that many events, and a summary that
 * counts the rest. */
START_TEST(times_limit_summarises)
{
	const struct recipe *r = jbh_recipe("tamper_agent_signal");
	pid_t p, worker;
	json_t *sum;
	uint32_t max = 0;
	int n, runs;

	ck_assert_ptr_nonnull(r);
	shared();
	worker = jbh_child_pid(&A, "network");
	ck_assert_int_gt(worker, 0);
	p = actor();
	/* the recipe's own limit, read from the catalogue */
	for (size_t i = 0; i < r->ntimes; i++)
		if (r->times[i].kind == RCP_T_PROC)
			max = r->times[i].max;
	ck_assert_uint_gt(max, 0);
	runs = (int)max + 2;
	for (int i = 0; i < runs; i++) {
		struct jb_tamper t;
		memset(&t, 0, sizeof(t));
		t.klass = JB_TAMPER_SIGNAL;
		t.op = i % 2 ? SIGKILL : SIGSTOP;
		t.target_pid = (uint32_t)(i % 2 ? worker : A.pid);
		t.target_row = i % 2 ? JB_AGENT_ROW_UNKNOWN : JB_AGENT_ROW_SUPERVISOR;
		jbh_tamper_inject(&A, p, &t);
	}
	sum = jbh_wait_event(&A, summary_of, "tamper_agent_signal",
			     jbh_detect_deadline(&A) + 3000);
	ck_assert_msg(sum != NULL, "no suppressed_detections summary (log %s)", A.log);
	ck_assert_str_eq(jbh_jstr(sum, "recipe"), "tamper_agent_signal");
	ck_assert_str_eq(jbh_jstr(sum, "limit.kind"), "times_per_proc");
	ck_assert_int_eq(jbh_jint(sum, "suppressed", 0), runs - (int)max);
	json_decref(sum);
	struct jbh_match m = {.kind = "tamper_agent_signal", .pid = p};
	n = jbh_count_events(&A, jbh_match, &m);
	ck_assert_msg(n == (int)max, "%d events for %d acts with times_per_proc %u", n, runs, max);
	actor_end(p);
}
END_TEST

/* [workers] tamper = no: no tamper child, and a record stays unreported */
START_TEST(worker_disabled)
{
	struct jbh_opts o = {.no_fault_hooks = 1, .extra_conf = "[workers]\ntamper = no\n"};
	struct jb_tamper t;
	struct jbh_match m = {.kind = "credentials_files_access"};
	pid_t p;
	json_t *ev;

	jbh_start(&A, &o);
	A.nkinds = 0; /* wait for the others by hand: the harness lists tamper */
	ck_assert_int_gt(jbh_wait_ready(&A, "file_access", -1, READY_MS), 0);
	ck_assert_int_gt(jbh_wait_ready(&A, "file", -1, READY_MS), 0);
	ck_assert_int_eq(jbh_child_pid(&A, "tamper"), -1);
	p = actor();
	memset(&t, 0, sizeof(t));
	t.klass = JB_TAMPER_PTRACE;
	t.op = 0x4206;
	jbh_tamper_inject(&A, p, &t);
	/* barrier: a file_access detection after the record */
	jbh_trigger_for(&A, "file_access", &m);
	ev = jbh_wait_event(&A, jbh_match, &m, jbh_detect_deadline(&A));
	ck_assert_ptr_nonnull(ev);
	json_decref(ev);
	struct jbh_match tm = {.kind = "tamper_agent_ptrace", .pid = p};
	ck_assert_int_eq(jbh_count_events(&A, jbh_match, &tm), 0);
	actor_end(p);
	jbh_stop(&A, STOP_MS);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("tamper_pipeline");
	TCase *tc = tcase_create("pipeline");
	SRunner *sr;
	int failed;

	jbh_main_init("check_tamper_pipeline");
	/* one agent (see shared_up); teardowns run in the reverse order of
	 * adding: the reap, then the sweep */
	tcase_set_timeout(tc, 120);
	tcase_add_unchecked_fixture(tc, NULL, jbh_kill_leftovers);
	tcase_add_unchecked_fixture(tc, shared_up, shared_down);
	tcase_add_test(tc, records_become_detections);
	tcase_add_test(tc, times_limit_summarises);
	tcase_add_test(tc, test_shared_stop);
	suite_add_tcase(s, tc);
	tc = tcase_create("disabled");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, worker_disabled);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	jbh_kill_leftovers();
	return failed ? 1 : 0;
}
