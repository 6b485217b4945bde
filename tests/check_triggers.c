/*
 * check_triggers.c - every built-in recipe proven on the real kernel: its
 * trigger script (tests/triggers/<mechanism>/<kind>.sh) performs the
 * behaviour for real and the recipe must fire with that process in
 * `process`; its benign twin (<kind>.benign.sh) does something close and
 * nothing at all may fire in the twin's process tree; a repeated trigger
 * stays within the recipe's `times` limit and the suppression shows up in a
 * summary event. The tamper recipes act on the running agent itself, which
 * a script cannot name: their triggers and twins are C tests in
 * tests/check_tamper.c, declared there by "tamper-trigger KIND:" and
 * "tamper-twin KIND:" comment lines (tests/triggers/coverage.sh).
 *
 * Script contract (tests/triggers/README): run as `bash -eu SCRIPT` in a
 * fresh temp dir ($JB_TMP), helpers in $JB_HELPERS, one stdout line
 * "pid N" naming the process that performs the behaviour, exit 0; exit 77
 * with a reason on stderr means "cannot run here" and is reported as SKIP.
 *
 * Synchronisation: every wait polls the events file with a deadline. The
 * twins' silence is checked after a barrier: a last, unique trigger whose
 * event can only appear once the agent has processed everything before it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>

#include "agent_harness.h"
#include "rcp/recipe.h"

#define MAX_SCRIPTS 256
#define SCRIPT_TIMEOUT_MS 20000

struct script {
	char mech[32];
	char kind[64];
	char path[1024];   /* trigger */
	char benign[1024]; /* twin */
};

static struct script scripts[MAX_SCRIPTS];
/* The test helpers, copied out of the build dir: a build under /tmp would
 * make every helper an "execution from an unusual directory". */
static char helper_dir[64];
static int nscripts;
static struct rcp_set builtin;

static int cmp_script(const void *a, const void *b)
{
	const struct script *x = a, *y = b;
	int c = strcmp(x->mech, y->mech);
	return c ? c : strcmp(x->kind, y->kind);
}

static void find_scripts(void)
{
	static const char *const mechs[] = {"file_access", "execution", "network_peers", "env_vars"};
	char dir[512];

	nscripts = 0;
	for (size_t m = 0; m < sizeof(mechs) / sizeof(mechs[0]); m++) {
		snprintf(dir, sizeof(dir), "%s/tests/triggers/%s", jbh_src(), mechs[m]);
		DIR *d = opendir(dir);
		struct dirent *de;
		while (d && (de = readdir(d))) {
			size_t l = strlen(de->d_name);
			if (l < 4 || strcmp(de->d_name + l - 3, ".sh") ||
			    (l > 10 && !strcmp(de->d_name + l - 10, ".benign.sh")))
				continue;
			ck_assert_int_lt(nscripts, MAX_SCRIPTS);
			struct script *s = &scripts[nscripts++];
			char kind[64];
			snprintf(kind, sizeof(kind), "%.*s", (int)(l - 3), de->d_name);
			snprintf(s->mech, sizeof(s->mech), "%s", mechs[m]);
			snprintf(s->kind, sizeof(s->kind), "%s", kind);
			snprintf(s->path, sizeof(s->path), "%s/%.255s", dir, de->d_name);
			snprintf(s->benign, sizeof(s->benign), "%s/%s.benign.sh", dir, kind);
		}
		if (d)
			closedir(d);
	}
	qsort(scripts, (size_t)nscripts, sizeof(scripts[0]), cmp_script);
}

static int builtin_list(const char *from, const char *path, struct rcp_source *out, char *err,
			size_t errlen, void *arg)
{
	char name[4096];

	if (rcp_resolve(from, path, name, sizeof(name)) == 0)
		for (size_t i = 0; i < rcp_builtin_files_n; i++)
			if (!strcmp(rcp_builtin_files[i].name, name)) {
				*out = rcp_builtin_files[i];
				return 0;
			}
	snprintf(err, errlen, "no built-in list %s", path);
	return -1;
}

static void load_builtin(void)
{
	char err[1024];
	if (builtin.n)
		return;
	ck_assert_msg(rcp_load(&builtin, rcp_builtin, rcp_builtin_n, NULL, 0, builtin_list, NULL,
			       err, sizeof(err)) == 0,
		      "built-in recipes do not load: %s", err);
}

/* Run one script; returns its exit code (-1: killed at the timeout), the
 * "pid N" it printed in *pid (0 if none), its own pid in *spid and its
 * stderr (first line) in why. */
static int run_script(const char *path, pid_t *pid, pid_t *spid, char *why, size_t whylen)
{
	char tmpl[] = "/tmp/jb-trigger.XXXXXX", helpers[4096], errpath[600], out[4096];
	int pfd[2];
	size_t got = 0;
	uint64_t deadline = jbh_now_ms() + SCRIPT_TIMEOUT_MS;
	pid_t child;
	int st;

	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	snprintf(helpers, sizeof(helpers), "%s", helper_dir);
	snprintf(errpath, sizeof(errpath), "%s/.stderr", tmpl);
	ck_assert_int_eq(pipe2(pfd, O_CLOEXEC), 0);
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		int e = open(errpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		int n = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (e < 0 || n < 0 || chdir(tmpl) < 0)
			_exit(126);
		dup2(n, 0);
		dup2(pfd[1], 1);
		dup2(e, 2);
		setenv("JB_TMP", tmpl, 1);
		setenv("JB_HELPERS", helpers, 1);
		setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 1);
		execl("/bin/bash", "bash", "-eu", path, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	*spid = child;
	for (;;) {
		struct pollfd p = {.fd = pfd[0], .events = POLLIN};
		int64_t left = (int64_t)deadline - (int64_t)jbh_now_ms();
		if (left <= 0)
			break;
		if (poll(&p, 1, (int)left) <= 0)
			continue;
		ssize_t n = read(pfd[0], out + got, sizeof(out) - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
		if (got == sizeof(out) - 1)
			break;
	}
	close(pfd[0]);
	out[got] = '\0';
	st = jbh_wait_exit(child, (unsigned)((int64_t)deadline - (int64_t)jbh_now_ms() > 1000
						     ? deadline - jbh_now_ms()
						     : 1000));
	*pid = 0;
	for (char *line = out; line && *line;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		if (!strncmp(line, "pid ", 4))
			*pid = (pid_t)atoi(line + 4);
		line = nl ? nl + 1 : NULL;
	}
	why[0] = '\0';
	char *err = jbh_slurp(errpath, NULL);
	if (err) {
		snprintf(why, whylen, "%.*s", (int)strcspn(err, "\n"), err);
		free(err);
	}
	/* the script cleans up its own residue; remove the temp dir */
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpl);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpl);
	if (st == -1)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

/* An event whose process, or an ancestor, is pid. */
static int in_tree(json_t *ev, pid_t pid)
{
	json_t *anc = json_object_get(json_object_get(ev, "background"), "ancestry");
	size_t i;
	json_t *p;

	if (jbh_jint(ev, "process.pid", -1) == pid)
		return 1;
	json_array_foreach(anc, i, p)
		if (jbh_jint(p, "pid", -1) == pid)
			return 1;
	return 0;
}

static json_t *all_events(const struct jbh_agent *a)
{
	json_t *arr = json_array();
	char *text = jbh_slurp(a->events, NULL);

	for (char *line = text; line && *line;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		json_t *ev = json_loads(line, 0, NULL);
		if (ev)
			json_array_append_new(arr, ev);
		line = nl ? nl + 1 : NULL;
	}
	free(text);
	return arr;
}

/* The barrier: a unique executable reads /etc/shadow; once its event is
 * printed, every earlier behaviour went through a snapshot too. */
static void barrier(struct jbh_agent *a, const char *tag)
{
	char exe[128];
	struct jbh_match m = {.kind = "credentials_files_access"};
	char *argv[] = {exe, "/etc/shadow", NULL};
	json_t *ev;
	int st;

	snprintf(exe, sizeof(exe), "/tmp/jb-barrier-%s-%d", tag, (int)getpid());
	jbh_copy_file("/usr/bin/cat", exe, 0755);
	st = jbh_run(exe, argv, 5000, &m.pid);
	unlink(exe);
	ck_assert_int_eq(st, 0);
	ev = jbh_wait_event(a, jbh_match, &m, jbh_detect_deadline(a) + 2000);
	ck_assert_msg(ev != NULL, "barrier event (%s) never arrived", tag);
	json_decref(ev);
}

/* tests/check_tamper.c declares a trigger and a twin for kind */
static int tamper_declared(const char *kind)
{
	char path[4200], want[128];
	char *src;
	int ok;

	snprintf(path, sizeof(path), "%s/tests/check_tamper.c", jbh_src());
	if (!(src = jbh_slurp(path, NULL)))
		return 0;
	snprintf(want, sizeof(want), "/* tamper-trigger %s: ", kind);
	ok = strstr(src, want) != NULL;
	snprintf(want, sizeof(want), "/* tamper-twin %s: ", kind);
	ok = ok && strstr(src, want) != NULL;
	free(src);
	return ok;
}

START_TEST(every_recipe_has_a_trigger_and_a_twin)
{
	char missing[4096] = "";
	size_t o = 0;

	load_builtin();
	find_scripts();
	for (size_t i = 0; i < builtin.n; i++) {
		const struct recipe *r = &builtin.r[i];
		int found = r->mech == RCP_TAMPER && tamper_declared(r->kind);
		for (int k = 0; k < nscripts; k++)
			if (!strcmp(scripts[k].kind, r->kind) &&
			    !strcmp(scripts[k].mech, rcp_mech_name(r->mech)) &&
			    access(scripts[k].benign, R_OK) == 0)
				found = 1;
		if (!found && o < sizeof(missing) - 80)
			o += (size_t)snprintf(missing + o, sizeof(missing) - o, " %s/%s",
					      rcp_mech_name(r->mech), r->kind);
	}
	ck_assert_msg(o == 0, "recipes without tests/triggers/<mechanism>/<kind>.sh and "
			      ".benign.sh (tamper: without tamper-trigger and tamper-twin lines in "
			      "tests/check_tamper.c):%s", missing);
	for (int k = 0; k < nscripts; k++)
		ck_assert_msg(rcp_find(&builtin, scripts[k].kind) != NULL,
			      "trigger %s names no built-in recipe", scripts[k].path);
}
END_TEST

/* docs/DETECTIONS.md holds exactly what tests/triggers/coverage.sh writes */
START_TEST(detections_doc_is_current)
{
	char cmd[4200], path[4200];
	static char want[262144];
	size_t n = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "sh '%s/tests/triggers/coverage.sh'", jbh_src());
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	n = fread(want, 1, sizeof(want) - 1, p);
	want[n] = '\0';
	ck_assert_int_eq(pclose(p), 0);
	snprintf(path, sizeof(path), "%s/docs/DETECTIONS.md", jbh_src());
	char *doc = jbh_slurp(path, NULL);
	ck_assert_msg(doc != NULL, "cannot read %s", path);
	char *b = strstr(doc, "<!-- coverage:begin -->\n"), *e = strstr(doc, "<!-- coverage:end -->");
	ck_assert_msg(b && e && e > b, "%s has no coverage markers", path);
	b += strlen("<!-- coverage:begin -->\n");
	*e = '\0';
	ck_assert_msg(!strcmp(b, want), "docs/DETECTIONS.md is out of date: run "
		      "tests/triggers/coverage.sh and paste its output between the markers");
	free(doc);
}
END_TEST

START_TEST(triggers_fire_and_twins_stay_silent)
{
	struct jbh_opts o = {.no_fault_hooks = 1,
			     .extra_conf = "[recipes]\nsummary_s = 1\n"};
	struct jbh_agent a;
	char failures[16384] = "", why[512];
	size_t fo = 0;
	pid_t twin_spid[MAX_SCRIPTS] = {0}, trig_pid[MAX_SCRIPTS] = {0};
	uint64_t trig_dl[MAX_SCRIPTS] = {0};
	int ran = 0, skipped = 0;

	find_scripts();
	ck_assert_int_gt(nscripts, 0);
	jbh_start(&a, &o);
	jbh_wait_all_ready(&a, 10000);

	/* every trigger runs first, then each detection is looked for: the
	 * agent examines the acts of many scripts in one cadence instead of
	 * the suite waiting out a cadence per script. Each trigger is its own
	 * process and is matched by its pid and kind; the times limits count
	 * the same acts either way. Its wait ends at its own detection
	 * deadline from when it ran, or a full one from when it is looked
	 * for, whichever is later. */
	for (int k = 0; k < nscripts; k++) {
		const struct script *s = &scripts[k];
		pid_t pid, spid;
		int rc = run_script(s->path, &pid, &spid, why, sizeof(why));

		if (rc == 77) {
			printf("SKIP: trigger %s/%s: %s\n", s->mech, s->kind, why);
			skipped++;
			continue;
		}
		if (rc != 0 || pid <= 0) {
			fo += (size_t)snprintf(failures + fo, sizeof(failures) - fo,
					       "\n  %s/%s: script exit %d, pid %d: %s", s->mech,
					       s->kind, rc, (int)pid, why);
			if (fo > sizeof(failures) - 600)
				break;
			continue;
		}
		trig_pid[k] = pid;
		trig_dl[k] = jbh_detect_deadline(&a);
	}
	for (int k = 0; k < nscripts && fo <= sizeof(failures) - 600; k++) {
		const struct script *s = &scripts[k];
		uint64_t dl = jbh_detect_deadline(&a);

		if (!trig_pid[k])
			continue;
		struct jbh_match m = {.kind = s->kind, .pid = trig_pid[k]};
		json_t *ev = jbh_wait_event(&a, jbh_match, &m, trig_dl[k] > dl ? trig_dl[k] : dl);
		if (!ev)
			fo += (size_t)snprintf(failures + fo, sizeof(failures) - fo,
					       "\n  %s/%s: no %s event for pid %d", s->mech,
					       s->kind, s->kind, (int)trig_pid[k]);
		json_decref(ev);
		ran++;
	}
	for (int k = 0; k < nscripts; k++) {
		const struct script *s = &scripts[k];
		pid_t pid;
		int rc = run_script(s->benign, &pid, &twin_spid[k], why, sizeof(why));
		if (rc == 77) {
			printf("SKIP: twin %s/%s: %s\n", s->mech, s->kind, why);
			twin_spid[k] = 0;
			continue;
		}
		if (rc != 0) {
			fo += (size_t)snprintf(failures + fo, sizeof(failures) - fo,
					       "\n  %s/%s.benign: script exit %d: %s", s->mech,
					       s->kind, rc, why);
			twin_spid[k] = 0;
		}
		if (fo > sizeof(failures) - 600)
			break;
	}
	barrier(&a, "twins");
	json_t *evs = all_events(&a), *ev;
	size_t i;
	json_array_foreach(evs, i, ev)
		for (int k = 0; k < nscripts; k++)
			if (twin_spid[k] && in_tree(ev, twin_spid[k]) && fo < sizeof(failures) - 600)
				fo += (size_t)snprintf(failures + fo, sizeof(failures) - fo,
						       "\n  %s/%s.benign fired %s (pid %lld, %s)",
						       scripts[k].mech, scripts[k].kind,
						       jbh_jstr(ev, "kind"),
						       jbh_jint(ev, "process.pid", -1),
						       jbh_jstr(ev, "process.exe"));
	json_decref(evs);
	jbh_stop(&a, 10000);
	printf("triggers: %d ran, %d skipped, %d scripts\n", ran, skipped, nscripts);
	ck_assert_msg(fo == 0, "%s", failures);
}
END_TEST

/* A trigger repeated past its recipe's limit: at most max events for the
 * key, and a summary that counts the rest. */
/* a suppressed_detections summary of the recipe arg */
static int summary_of(json_t *ev, void *arg)
{
	const char *k = jbh_jstr(ev, "kind"), *r = jbh_jstr(ev, "recipe");

	return k && r && !strcmp(k, "suppressed_detections") && !strcmp(r, (const char *)arg);
}

START_TEST(times_limit_holds_and_is_summarised)
{
	struct jbh_opts o = {.no_fault_hooks = 1,
			     .extra_conf = "[recipes]\nsummary_s = 1\n"};
	struct jbh_agent a;
	const struct script *pick = NULL;
	uint32_t max = 0;
	char why[512];

	load_builtin();
	find_scripts();
	/* the first trigger whose recipe limits per executable */
	for (int k = 0; k < nscripts && !pick; k++) {
		const struct recipe *r = rcp_find(&builtin, scripts[k].kind);
		for (size_t t = 0; r && t < r->ntimes; t++)
			if (r->times[t].kind == RCP_T_EXE && r->times[t].max <= 3 &&
			    r->mech == RCP_EXECUTION) {
				pick = &scripts[k];
				max = r->times[t].max;
			}
	}
	ck_assert_msg(pick != NULL, "no execution recipe with times_per_exe <= 3 to test with");
	jbh_start(&a, &o);
	jbh_wait_all_ready(&a, 10000);
	pid_t pids[8];
	int runs = (int)max + 2;
	for (int i = 0; i < runs; i++) {
		pid_t spid;
		int rc = run_script(pick->path, &pids[i], &spid, why, sizeof(why));
		ck_assert_msg(rc == 0 && pids[i] > 0, "%s: exit %d: %s", pick->path, rc, why);
	}
	/* the summary of the suppressed ones is the barrier (of this recipe:
	 * another agent starting on the host meanwhile makes tamper_bpf_program
	 * detections, which have limits and summaries of their own) */
	json_t *sum = jbh_wait_event(&a, summary_of, (void *)pick->kind,
				     jbh_detect_deadline(&a) + 3000);
	ck_assert_msg(sum != NULL, "no suppressed_detections summary for %s", pick->kind);
	ck_assert_str_eq(jbh_jstr(sum, "recipe"), pick->kind);
	ck_assert_str_eq(jbh_jstr(sum, "limit.kind"), "times_per_exe");
	ck_assert_int_eq(jbh_jint(sum, "limit.max", -1), (long long)max);
	ck_assert_int_ge(jbh_jint(sum, "suppressed", 0), 1);
	json_decref(sum);
	struct jbh_match m = {.kind = pick->kind};
	int n = jbh_count_events(&a, jbh_match, &m);
	ck_assert_msg(n == (int)max, "%s fired %d times for %d runs with times_per_exe max %u",
		      pick->kind, n, runs, max);
	jbh_stop(&a, 10000);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("triggers");
	TCase *tc = tcase_create("triggers");
	SRunner *sr;
	int failed;

	jbh_main_init("triggers");
	/* copy the helpers somewhere ordinary (removed below) */
	char src[4096], cmd[8400];
	snprintf(helper_dir, sizeof(helper_dir), "/opt/jibril-test-helpers.XXXXXX");
	if (mkdir("/opt", 0755) < 0 && errno != EEXIST) {
		printf("SKIP: cannot create /opt: %s\n", strerror(errno));
		return 77;
	}
	if (!mkdtemp(helper_dir)) {
		printf("cannot create %s: %s\n", helper_dir, strerror(errno));
		return 1;
	}
	chmod(helper_dir, 0755);
	jbh_helper(src, sizeof(src), "");
	snprintf(cmd, sizeof(cmd), "cp -a '%s'/. '%s'/", src, helper_dir);
	if (system(cmd) != 0) {
		printf("cannot copy the test helpers from %s\n", src);
		return 1;
	}
	tcase_set_timeout(tc, 900);
	tcase_add_test(tc, every_recipe_has_a_trigger_and_a_twin);
	tcase_add_test(tc, detections_doc_is_current);
	tcase_add_test(tc, triggers_fire_and_twins_stay_silent);
	tcase_add_test(tc, times_limit_holds_and_is_summarised);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", helper_dir);
	if (system(cmd) != 0)
		printf("could not remove %s\n", helper_dir);
	return failed ? 1 : 0;
}
