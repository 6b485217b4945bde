/*
 * check_backend.c - the syscall hooks' two backends (bpf/syscall_hook.bpf.h,
 * supervisor/backend.c): syscalls: tracepoints, or their fentry/fexit
 * twins on the __x64_sys_* wrappers.
 *
 * Invariants checked:
 *  - every syscalls: tracepoint program of the object has a twin, on the
 *    same syscall at the same end (fentry for sys_enter_X, fexit for
 *    sys_exit_X), kept out of autoload, and every twin has its tracepoint;
 *  - the twins pass this kernel's verifier: loaded as fentry/fexit where
 *    the kernel allows it (and attached, then detached); where it refuses
 *    (EPERM on these machines), that part is reported "SKIP:" with the
 *    kernel's reason, and the same code is verified retargeted to
 *    tp_btf/sys_enter and sys_exit, whose context has the same types
 *    (struct pt_regs *, then a long), preemption kfuncs and all;
 *  - [bpf] backend = auto: one start-up line names the backend the agent
 *    runs and, when it is the tracepoints, the reason the kernel gave for
 *    refusing a probe fentry program; the agent holds the programs of that
 *    backend and none of the other;
 *  - [bpf] backend = fentry on a kernel that refuses it: start-up stops
 *    (EX_CONFIG) with "FILE:LINE: [bpf] backend = fentry, but ..." naming
 *    the line and the reason. On a kernel that accepts it: the fentry line.
 * Not root or no BTF: "SKIP:" and exit 77. Not x86-64 (no twins): the twin
 * cases say SKIP.
 */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "agent_harness.h"
#include "jibril.skel.h"
#include "supervisor/backend.h"
#include "supervisor/config.h"

#define STOP_MS 5000
#define EXIT_MS 90000 /* start-up up to the load: the harness's own bound */
#define PROBE_FN "__x64_sys_openat"

/* libbpf's last words, for a failure message (the verifier's log) */
static char lbuf[16384];
static size_t llen;

static int lprint(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	int n;

	if (level == LIBBPF_DEBUG)
		return 0;
	if (llen > sizeof(lbuf) - 512)
		llen = 0;
	n = vsnprintf(lbuf + llen, sizeof(lbuf) - llen, fmt, ap);
	if (n > 0)
		llen += (size_t)n < sizeof(lbuf) - llen ? (size_t)n : sizeof(lbuf) - llen - 1;
	return 0;
}

static int is_twin(struct bpf_program *p)
{
	const char *sec = bpf_program__section_name(p);

	return !strncmp(sec, "fentry/", 7) || !strncmp(sec, "fexit/", 6);
}

/* every program off but the twins; their number */
static int twins_only(struct jibril_bpf *skel)
{
	struct bpf_program *p;
	int n = 0;

	bpf_object__for_each_program(p, skel->obj)
	{
		bpf_program__set_autoload(p, is_twin(p));
		n += is_twin(p);
	}
	return n;
}

/* --- the object ------------------------------------------------------------ */

START_TEST(test_twins_pair)
{
	struct jibril_bpf *skel = jibril_bpf__open();
	struct bpf_program *p, *twin;
	char sys[64], err[512];
	int tps = 0, pairs = 0, twins = 0;

	ck_assert_ptr_nonnull(skel);
	bpf_object__for_each_program(p, skel->obj)
	{
		const char *sec = bpf_program__section_name(p);
		int r;

		if (is_twin(p)) {
			twins++;
			ck_assert_msg(!bpf_program__autoload(p), "twin %s is autoloaded",
				      bpf_program__name(p));
			continue;
		}
		if (strncmp(sec, "tracepoint/syscalls/", 20) != 0)
			continue;
		tps++;
		err[0] = '\0';
		r = jb_bpf_twin(skel->obj, p, &twin, sys, sizeof(sys), err, sizeof(err));
		ck_assert_msg(r >= 0, "%s", err);
		if (r == 1) {
			ck_assert_msg(strstr(sec, sys) && strlen(strstr(sec, sys)) == strlen(sys),
				      "%s: syscall '%s'", sec, sys);
			pairs++;
		} else {
			ck_assert_msg(twins == 0, "%s (%s) has no twin", bpf_program__name(p), sec);
		}
	}
	jibril_bpf__destroy(skel);
	ck_assert_int_gt(tps, 50);
	if (twins == 0) {
		printf("SKIP: twins_pair: this build has no fentry twins (not x86-64)\n");
		return;
	}
	ck_assert_int_eq(pairs, tps);
	ck_assert_msg(twins == pairs, "%d twins for %d tracepoint programs", twins, pairs);
	printf("note: %d syscall hooks, each with its twin\n", pairs);
}
END_TEST

START_TEST(test_twins_load)
{
	struct jibril_bpf *skel = jibril_bpf__open();
	struct bpf_program *p;
	int n, r, probe, attached = 0;

	ck_assert_ptr_nonnull(skel);
	n = twins_only(skel);
	if (n == 0) {
		jibril_bpf__destroy(skel);
		printf("SKIP: twins_load: this build has no fentry twins (not x86-64)\n");
		return;
	}
	probe = jb_bpf_fentry_probe(PROBE_FN);
	llen = 0;
	r = jibril_bpf__load(skel);
	if (r && probe < 0 && (r == probe || errno == -probe)) {
		/* the kernel refuses fentry here: not a verdict on our code */
		jibril_bpf__destroy(skel);
		printf("SKIP: twins_load: the kernel refuses fentry programs (%s): the %d twins "
		       "are not loaded or attached here (twins_verify checks their code)\n",
		       strerror(-probe), n);
		return;
	}
	ck_assert_msg(r == 0, "the kernel loads fentry programs (probe %d) but not the twins: "
		      "%s\n%s", probe, strerror(errno), lbuf);
	bpf_object__for_each_program(p, skel->obj)
	{
		struct bpf_link *l;

		if (!is_twin(p))
			continue;
		l = bpf_program__attach(p);
		ck_assert_msg(l != NULL, "%s (%s) does not attach: %s", bpf_program__name(p),
			      bpf_program__section_name(p), strerror(errno));
		bpf_link__destroy(l);
		attached++;
	}
	ck_assert_int_eq(attached, n);
	jibril_bpf__destroy(skel);
	printf("note: %d fentry/fexit twins loaded and attached\n", n);
}
END_TEST

/* The twins' code, fentry or not: an fentry twin of __x64_sys_X reads
 * ctx[0] as const struct pt_regs *, an fexit twin also ctx[1] as the
 * return value; tp_btf/sys_enter's context is (struct pt_regs *, long id)
 * and sys_exit's (struct pt_regs *, long ret). So the verifier walks the
 * same accesses, kfunc calls and bodies. */
START_TEST(test_twins_verify)
{
	struct jibril_bpf *skel = jibril_bpf__open();
	struct bpf_program *p;
	int n, r;

	ck_assert_ptr_nonnull(skel);
	n = twins_only(skel);
	if (n == 0) {
		jibril_bpf__destroy(skel);
		printf("SKIP: twins_verify: this build has no fentry twins (not x86-64)\n");
		return;
	}
	bpf_object__for_each_program(p, skel->obj)
	{
		int enter;

		if (!is_twin(p))
			continue;
		enter = !strncmp(bpf_program__section_name(p), "fentry/", 7);
		ck_assert_int_eq(bpf_program__set_expected_attach_type(p, BPF_TRACE_RAW_TP), 0);
		ck_assert_int_eq(bpf_program__set_attach_target(p, 0, enter ? "sys_enter"
									    : "sys_exit"), 0);
	}
	llen = 0;
	r = jibril_bpf__load(skel);
	ck_assert_msg(r == 0, "the twins do not pass the verifier: %s\n%s", strerror(errno), lbuf);
	jibril_bpf__destroy(skel);
	printf("note: the %d twins pass the verifier (as tp_btf)\n", n);
}
END_TEST

/* --- the agent ------------------------------------------------------------- */

static struct jbh_agent A;

/* names of the programs behind pid's bpf-prog fds */
static int agent_prog_names(pid_t pid, char names[][16], int max)
{
	char path[64], t[64], *info;
	int n = 0;

	for (int fd = 0; fd < 1024 && n < max; fd++) {
		struct bpf_prog_info pi;
		__u32 len = sizeof(pi);
		ssize_t r;
		int pfd;

		snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, fd);
		r = readlink(path, t, sizeof(t) - 1);
		if (r <= 0)
			continue;
		t[r] = '\0';
		if (strcmp(t, "anon_inode:bpf-prog") != 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", (int)pid, fd);
		info = jbh_slurp(path, NULL);
		pfd = info && strstr(info, "prog_id:")
			      ? bpf_prog_get_fd_by_id((__u32)strtoul(strstr(info, "prog_id:") + 8,
								     NULL, 10))
			      : -1;
		free(info);
		if (pfd < 0)
			continue;
		memset(&pi, 0, sizeof(pi));
		if (bpf_obj_get_info_by_fd(pfd, &pi, &len) == 0)
			snprintf(names[n++], 16, "%s", pi.name);
		close(pfd);
	}
	return n;
}

static int count_of(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

START_TEST(test_auto_line)
{
	struct jbh_opts o = {.extra_conf = "[bpf]\nbackend = auto\n"};
	int probe = jb_bpf_fentry_probe(PROBE_FN), n, tp = 0, twins = 0;
	char want[256], names[256][16], *log;

	if (probe < 0)
		snprintf(want, sizeof(want),
			 "syscall hooks: tracepoints (fentry refused by this kernel: %s)\n",
			 strerror(-probe));
	else
		snprintf(want, sizeof(want), "syscall hooks: fentry/fexit on ");
	jbh_start(&A, &o);
	jbh_wait_all_ready(&A, EXIT_MS);
	log = jbh_log_read(&A);
	ck_assert_msg(count_of(log, "syscall hooks: ") == 1, "not one start-up line on the "
		      "backend in %s", A.log);
	ck_assert_msg(strstr(log, want), "no '%s' in %s (the test's own probe of %s: %s)", want,
		      A.log, PROBE_FN, probe < 0 ? strerror(-probe) : "accepted");
	free(log);
	n = agent_prog_names(A.pid, names, 256);
	for (int i = 0; i < n; i++) {
		size_t l = strlen(names[i]);

		tp += !strcmp(names[i], "jb_openat_x") || !strcmp(names[i], "jb_unlinkat");
		twins += l > 3 && !strcmp(names[i] + l - 3, "_fe");
	}
	if (probe < 0)
		ck_assert_msg(tp > 0 && twins == 0, "tracepoints named, but the agent holds %d of "
			      "jb_openat_x/jb_unlinkat and %d twins", tp, twins);
	else
		ck_assert_msg(tp == 0 && twins > 0, "fentry named, but the agent holds %d of "
			      "jb_openat_x/jb_unlinkat and %d twins", tp, twins);
	jbh_stop(&A, STOP_MS);
}
END_TEST

/* the line of the generated config that says text */
static int conf_line(const struct jbh_agent *a, const char *text)
{
	char *conf = jbh_slurp(a->conf, NULL), *p;
	int line = 1;

	ck_assert_ptr_nonnull(conf);
	p = strstr(conf, text);
	ck_assert_msg(p != NULL, "no '%s' in %s", text, a->conf);
	for (char *q = conf; q < p; q++)
		line += *q == '\n';
	free(conf);
	return line;
}

START_TEST(test_fentry_config)
{
	struct jbh_opts o = {.extra_conf = "[bpf]\nbackend = fentry\n", .keep_dir = 1};
	int probe = jb_bpf_fentry_probe(PROBE_FN);
	uint64_t deadline;
	char want[512], *argv[] = {"rm", "-rf", A.dir, NULL};
	char *log;

	jbh_start(&A, &o);
	if (probe == 0) {
		/* a kernel that takes fentry: the agent runs on the twins */
		jbh_wait_all_ready(&A, EXIT_MS);
		ck_assert(jbh_log_has(&A, "syscall hooks: fentry/fexit on "));
		jbh_stop(&A, STOP_MS);
		ck_assert_int_eq(jbh_run("/bin/rm", argv, STOP_MS, NULL), 0);
		return;
	}
	snprintf(want, sizeof(want), "jibril: %s:%d: [bpf] backend = fentry, but fentry refused "
		 "by this kernel: %s", A.conf, conf_line(&A, "backend = fentry"), strerror(-probe));
	deadline = jbh_now_ms() + EXIT_MS;
	while (jbh_alive(&A) && jbh_now_ms() < deadline)
		jbh_sleep_ms(20);
	ck_assert_msg(A.reaped, "the agent still runs with backend = fentry on a kernel that "
		      "refuses fentry (log %s)", A.log);
	ck_assert_msg(WIFEXITED(A.status) && WEXITSTATUS(A.status) == 78,
		      "status 0x%x, not EX_CONFIG (log %s)", A.status, A.log);
	log = jbh_log_read(&A);
	ck_assert_msg(strstr(log, want), "no '%s' in %s:\n%s", want, A.log, log);
	ck_assert_msg(!strstr(log, "BPF object loaded"), "the agent loaded the object: %s", log);
	free(log);
	ck_assert_int_eq(jbh_run("/bin/rm", argv, STOP_MS, NULL), 0);
}
END_TEST

static void sweep(void)
{
	jbh_kill_leftovers();
}

static void add(Suite *s, const char *name, const TTest *t1)
{
	TCase *tc = tcase_create(name);

	tcase_set_timeout(tc, 180);
	tcase_add_unchecked_fixture(tc, NULL, sweep);
	tcase_add_test(tc, t1);
	suite_add_tcase(s, tc);
}

int main(void)
{
	Suite *s = suite_create("backend");
	SRunner *sr;
	int failed;

	jbh_main_init("check_backend");
	libbpf_set_print(lprint);
	add(s, "twins_pair", test_twins_pair);
	add(s, "twins_load", test_twins_load);
	add(s, "twins_verify", test_twins_verify);
	add(s, "auto_line", test_auto_line);
	add(s, "fentry_config", test_fentry_config);
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	jbh_kill_leftovers();
	return failed ? 1 : 0;
}
