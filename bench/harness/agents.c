/*
 * agents.c - see agents.h.
 *
 * Invariants:
 *  - jibril always runs with a temp copy of the given config: [printers]
 *    stdout = no, file = O.tmp/events.N.jsonl, [audit] O.tmp/audit.N.log and
 *    .key (agents never share a chain); the query-cost instance also
 *    gets log_level = debug and files and links maps of at least
 *    QC_MIN_ENTRIES. Nothing else is changed: which workers run is the
 *    given config's choice.
 *  - no kind of child is named here: the agent's table of kinds is the one
 *    place for them. Its children are found by parent pid and named by
 *    the comm each sets ("jb-KIND"), their number by its "running" line.
 *  - every start has a deadline (20 s) and every stop one (10 s); what an
 *    agent printed last goes into J's errors when it fails.
 *  - each instance gets its own numbered files, kept until the end of the
 *    run for inspection.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/harness/agents.h"
#include "bench/harness/bench.h"
#include "bench/harness/children.h"
#include "bench/harness/report.h"
#include "bench/harness/stats.h"
#include "bench/harness/workloads.h"
#include "tests/lib/clock.h"
#include "tests/lib/conf.h"
#include "tests/lib/file.h"
#include "tests/lib/procfs.h"

static int instance_no;

void seen_add(struct seen *s, pid_t pid)
{
	if (seen_find(s, pid, NULL))
		return;
	if (s->n == s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 256;
		struct seen_pid *nv = realloc(s->v, nc * sizeof(*nv));
		if (!nv)
			return;
		s->v = nv;
		s->cap = nc;
	}
	s->v[s->n].pid = pid;
	s->v[s->n].t = tl_now_ns();
	s->n++;
}

int seen_find(const struct seen *s, pid_t pid, uint64_t *t)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].pid == pid) {
			if (t)
				*t = s->v[i].t;
			return 1;
		}
	return 0;
}

void seen_free(struct seen *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

int seen_wait(struct seen *s, pid_t pid, uint64_t deadline, seen_poll_fn *poll, void *arg,
	      unsigned step_ms, uint64_t *t)
{
	while (!seen_find(s, pid, t) && tl_now_ns() < deadline) {
		poll(arg, s);
		if (!seen_find(s, pid, NULL))
			tl_sleep_ms(step_ms);
	}
	return seen_find(s, pid, t);
}

json_t *needle_trials(struct seen *hits, seen_poll_fn *poll, void *arg, unsigned wait_ms,
		      const char *key, int *counted)
{
	json_t *trials = json_array();

	*counted = 0;
	for (unsigned i = 0; i < O.needle_trials; i++) {
		pid_t sp, np;
		uint64_t nns, seen_t;
		double sms;

		if (storm(O.d_hay, O.hay_files, 1, i, &sp, &np, &nns, &sms) < 0) {
			json_decref(trials);
			return NULL;
		}
		if (seen_wait(hits, np, tl_now_ns() + wait_ms * 1000000ull, poll, arg, 5, &seen_t)) {
			(*counted)++;
			json_array_append_new(trials, json_pack("{s:i, s:b, s:f, s:f}", "pid", (json_int_t)np,
								key, 1, "latency_ms",
								(double)(seen_t - nns) / 1e6, "storm_ms", sms));
		} else {
			json_array_append_new(trials, json_pack("{s:i, s:b, s:f}", "pid", (json_int_t)np,
								key, 0, "storm_ms", sms));
		}
	}
	return trials;
}

/* a state line "...: KIND[PID] gen G: OLD -> READY": kept, the oldest
 * dropped when full (a child restarting over and over) */
static void note_ready(struct jib *j, const char *line)
{
	char kind[16];
	int pid;

	for (const char *p = strstr(line, ": "); p; p = strstr(p + 2, ": ")) {
		if (sscanf(p + 2, "%15[^[ ][%d] gen ", kind, &pid) != 2)
			continue;
		if (j->nready == JIB_MAX_READY) {
			memmove(j->ready, j->ready + 1, sizeof(j->ready[0]) * (JIB_MAX_READY - 1));
			j->nready--;
		}
		j->ready[j->nready].pid = pid;
		snprintf(j->ready[j->nready].kind, sizeof(j->ready[0].kind), "%s", kind);
		j->nready++;
		return;
	}
}

static int on_jlog_line(char *line, void *arg)
{
	struct jib *j = arg;
	char *p;

	if (strstr(line, "-> READY"))
		note_ready(j, line);
	if (!j->nkids && (p = strstr(line, " running: cadence ")))
		sscanf(p, " running: cadence %*u ms, %d children", &j->nkids);
	if (strstr(line, "restarting in"))
		j->restarts++;
	if ((p = strstr(line, "kernel loss so far")))
		snprintf(j->loss, sizeof(j->loss), "%s", p);
	if ((p = strstr(line, ": cadence "))) {
		struct cad c;
		memset(&c, 0, sizeof(c));
		/* the collector reads the files maps only for changed links:
		 * its line has no files count (c.files stays 0) */
		if (sscanf(p, ": cadence %llu: query %lf ms, snapshot %lf ms, hand-off %lf ms; maps %u "
			      "tasks %u links %u flows; sent %*u tasks %*u files %u links",
			   &c.seq, &c.query, &c.snap, &c.handoff, &c.tasks, &c.links, &c.flows,
			   &c.sent_links) >= 7) {
			if (j->ncad == j->capcad) {
				size_t nc = j->capcad ? j->capcad * 2 : 64;
				struct cad *nb = realloc(j->cads, nc * sizeof(*nb));
				if (!nb)
					return 0;
				j->cads = nb;
				j->capcad = nc;
			}
			j->cads[j->ncad++] = c;
		}
	}
	return 0;
}

int jib_alive(struct jib *j)
{
	if (j->reaped)
		return 0;
	if (waitpid(j->pid, &j->status, WNOHANG) == j->pid) {
		j->reaped = 1;
		child_forget(j->pid);
		return 0;
	}
	return 1;
}

void jib_poll(struct jib *j)
{
	tl_tail_read(&j->logt, on_jlog_line, j);
}

/* pid has a READY line whose kind is the one its comm names: a child sets
 * comm to "jb-KIND", cut to TL_COMM_LEN as PR_SET_NAME cuts it */
static int was_ready(const struct jib *j, pid_t pid, const char *comm)
{
	char want[TL_COMM_LEN];

	for (int i = 0; i < j->nready; i++) {
		if (j->ready[i].pid != pid)
			continue;
		snprintf(want, sizeof(want), "jb-%s", j->ready[i].kind);
		if (!strcmp(want, comm))
			return 1;
	}
	return 0;
}

/* every child the supervisor said it started is there and READY */
static int all_ready(const struct jib *j)
{
	pid_t kids[JIB_MAX_READY];
	int n;

	if (j->nkids <= 0 || j->nready < j->nkids)
		return 0;
	n = tl_proc_children(j->pid, kids, JIB_MAX_READY);
	if (n != j->nkids)
		return 0;
	for (int i = 0; i < n; i++) {
		struct tl_stat st;

		if (tl_proc_stat(kids[i], &st) < 0 || !was_ready(j, kids[i], st.comm))
			return 0;
	}
	return 1;
}

static void log_tail_to_errors(const char *path)
{
	size_t n;
	char *s = tl_slurp(path, &n), *p;
	int lines = 0;

	if (!s)
		return;
	p = s + n;
	while (p > s && lines < 8)
		if (*--p == '\n')
			lines++;
	error_("last lines of %s:\n%s", path, p);
	free(s);
}

/* the config of this instance: the given one, with what the bench needs */
static int jib_write_conf(struct jib *j, int query_cost)
{
	struct tl_conf_keys k = {0};
	FILE *f = fopen(j->conf, "w");
	int r;

	if (!f)
		return -1;
	/* jibril refuses a configuration others may write, whatever the umask */
	if (fchmod(fileno(f), 0600) < 0) {
		fclose(f);
		return -1;
	}
	tl_conf_set(&k, "printers", "stdout", "%s", "no");
	tl_conf_set(&k, "printers", "file", "%s", j->events);
	/* each instance its own audit chain (a second agent on one log is refused) */
	tl_conf_set(&k, "audit", "file", "%s/audit.%d.log", O.tmp, instance_no);
	tl_conf_set(&k, "audit", "key", "%s/audit.%d.key", O.tmp, instance_no);
	/* pins of its own: never an operator's agent's (/sys/fs/bpf/jibril),
	 * and a clean stop removes them */
	tl_conf_set(&k, "bpf", "pin_dir", "/sys/fs/bpf/jbbench_%d_%d", (int)getpid(), instance_no);
	if (query_cost) {
		tl_conf_set(&k, "agent", "log_level", "%s", "debug");
		tl_conf_set(&k, "maps", "files", "%u", O.files > QC_MIN_ENTRIES ? O.files : QC_MIN_ENTRIES);
		tl_conf_set(&k, "maps", "links", "%u", O.links > QC_MIN_ENTRIES ? O.links : QC_MIN_ENTRIES);
	}
	fprintf(f, "# generated by bench/harness from %s\n", O.conf);
	r = tl_conf_write(f, O.conf_text, &k);
	return fclose(f) < 0 ? -1 : r;
}

static int jib_start_(struct jib *j, int query_cost, char **conf_text)
{
	int lf;
	uint64_t deadline;
	char *argv[4];

	memset(j, 0, sizeof(*j));
	j->pid = -1;
	instance_no++;
	snprintf(j->conf, sizeof(j->conf), "%s/jibril.%d.conf", O.tmp, instance_no);
	snprintf(j->log, sizeof(j->log), "%s/jibril.%d.log", O.tmp, instance_no);
	snprintf(j->events, sizeof(j->events), "%s/events.%d.jsonl", O.tmp, instance_no);
	if (jib_write_conf(j, query_cost) < 0) {
		error_("cannot write %s: %s", j->conf, strerror(errno));
		return -1;
	}
	if (conf_text && !*conf_text)
		*conf_text = tl_slurp(j->conf, NULL);
	if (tl_tail_open(&j->logt, j->log) < 0) {
		error_("out of memory");
		return -1;
	}
	lf = open(j->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (lf < 0)
		return -1;
	argv[0] = (char *)O.jibril;
	argv[1] = "--config";
	argv[2] = j->conf;
	argv[3] = NULL;
	j->pid = child_spawn(argv[0], argv, -1, -1, lf);
	close(lf);
	if (j->pid < 0) {
		error_("cannot start %s", O.jibril);
		return -1;
	}
	deadline = tl_now_ns() + 20000ull * 1000000ull;
	while (!all_ready(j)) {
		jib_poll(j);
		if (!jib_alive(j)) {
			error_("jibril exited during start-up (status 0x%x)", j->status);
			log_tail_to_errors(j->log);
			return -1;
		}
		if (tl_now_ns() > deadline) {
			error_("jibril: not every child READY within 20 s");
			log_tail_to_errors(j->log);
			return -1;
		}
		tl_sleep_ms(10);
	}
	return 0;
}

int jib_start(struct jib *j, int query_cost, char **conf_text)
{
	int r = jib_start_(j, query_cost, conf_text);

	if (r < 0 && j->pid > 0 && jib_alive(j)) {
		kill(j->pid, SIGTERM);
		if (child_wait(j->pid, 5000) >= 0)
			j->reaped = 1;
	}
	if (r < 0)
		tl_tail_close(&j->logt);
	return r;
}

int jib_stop(struct jib *j)
{
	uint64_t deadline;

	if (j->pid <= 0)
		return -1;
	jib_poll(j);
	if (j->restarts)
		note("jibril instance %s: %u child restart(s) logged", j->log, j->restarts);
	if (j->loss[0])
		note("jibril instance %s: %s", j->log, j->loss);
	tl_tail_close(&j->logt);
	if (!jib_alive(j)) {
		error_("jibril died before it was stopped (status 0x%x)", j->status);
		log_tail_to_errors(j->log);
		return -1;
	}
	kill(j->pid, SIGTERM);
	deadline = tl_now_ns() + 10000ull * 1000000ull;
	while (jib_alive(j) && tl_now_ns() < deadline)
		tl_sleep_ms(10);
	if (!j->reaped) {
		kill(j->pid, SIGKILL);
		child_wait(j->pid, 2000);
		error_("jibril did not stop within 10 s of SIGTERM");
		return -1;
	}
	if (!WIFEXITED(j->status) || WEXITSTATUS(j->status) != 0)
		note("jibril ended with wait status 0x%x on SIGTERM", j->status);
	return 0;
}

int jib_wait_cadences(struct jib *j, unsigned long long after, unsigned n, unsigned timeout_ms)
{
	uint64_t deadline = tl_now_ns() + (uint64_t)timeout_ms * 1000000ull;

	for (;;) {
		unsigned k = 0;
		jib_poll(j);
		for (size_t i = 0; i < j->ncad; i++)
			k += j->cads[i].seq > after;
		if (k >= n)
			return 0;
		if (tl_now_ns() > deadline || !jib_alive(j))
			return -1;
		tl_sleep_ms(20);
	}
}

unsigned long long jib_last_seq(struct jib *j)
{
	jib_poll(j);
	return j->ncad ? j->cads[j->ncad - 1].seq : 0;
}

/* a file printer line: credentials_files_access -> its process.pid */
static int on_read_line(char *line, void *arg)
{
	struct seen *seen = arg;
	json_t *ev, *pid;
	const char *kind;

	if (!strstr(line, "credentials_files_access"))
		return 0;
	ev = json_loads(line, 0, NULL);
	if (!ev)
		return 0;
	kind = json_string_value(json_object_get(ev, "kind"));
	pid = jget(ev, "process.pid");
	if (kind && !strcmp(kind, "credentials_files_access") && json_is_integer(pid))
		seen_add(seen, (pid_t)json_integer_value(pid));
	json_decref(ev);
	return 0;
}

void jib_poll_reads(void *events, struct seen *seen)
{
	tl_tail_read(events, on_read_line, seen);
}

static int on_ref_line(char *line, void *arg)
{
	struct ref *r = arg;
	int pid;

	if (!strcmp(line, "READY"))
		r->ready = 1;
	else if (sscanf(line, "HIT %d", &pid) == 1)
		seen_add(&r->hits, pid);
	else if (line[0] == '{') {
		json_t *o = json_loads(line, 0, NULL);
		if (o) {
			json_decref(r->summary);
			r->summary = o;
		}
	}
	return 0;
}

static int ref_start_(struct ref *r, char *const *argv)
{
	int of, ef;
	uint64_t deadline;
	const char *name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];

	instance_no++;
	snprintf(r->out, sizeof(r->out), "%s/%s.%d.out", O.tmp, name, instance_no);
	snprintf(r->err, sizeof(r->err), "%s/%s.%d.err", O.tmp, name, instance_no);
	if (tl_tail_open(&r->t, r->out) < 0) {
		error_("out of memory");
		return -1;
	}
	of = open(r->out, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	ef = open(r->err, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	r->pid = of < 0 || ef < 0 ? -1 : child_spawn(argv[0], argv, -1, of, ef);
	if (of >= 0)
		close(of);
	if (ef >= 0)
		close(ef);
	if (r->pid < 0)
		return -1;
	deadline = tl_now_ns() + 20000ull * 1000000ull;
	while (!r->ready) {
		ref_poll(r);
		if (waitpid(r->pid, &r->status, WNOHANG) == r->pid) {
			r->reaped = 1;
			child_forget(r->pid);
			error_("%s exited during start-up (status 0x%x)", name, r->status);
			log_tail_to_errors(r->err);
			return -1;
		}
		if (tl_now_ns() > deadline) {
			error_("%s: no READY within 20 s", name);
			log_tail_to_errors(r->err);
			kill(r->pid, SIGTERM);
			child_wait(r->pid, 5000);
			return -1;
		}
		tl_sleep_ms(5);
	}
	return 0;
}

int ref_start_argv(struct ref *r, char *const *argv)
{
	int rc;

	memset(r, 0, sizeof(*r));
	rc = ref_start_(r, argv);
	if (rc < 0) {
		tl_tail_close(&r->t);
		seen_free(&r->hits);
	}
	return rc;
}

int ref_start(struct ref *r, const char *const *extra)
{
	char *argv[24], ring[16];
	int n = 0;

	snprintf(ring, sizeof(ring), "%u", O.ring_kb);
	argv[n++] = O.ref;
	argv[n++] = "--ring-kb";
	argv[n++] = ring;
	for (int i = 0; extra && extra[i] && n < 22; i++)
		argv[n++] = (char *)extra[i];
	argv[n] = NULL;
	return ref_start_argv(r, argv);
}

void ref_poll(struct ref *r)
{
	tl_tail_read(&r->t, on_ref_line, r);
}

int ref_stop(struct ref *r)
{
	int st;

	if (r->pid <= 0)
		return -1;
	kill(r->pid, SIGINT);
	st = child_wait(r->pid, 10000);
	ref_poll(r);
	tl_tail_close(&r->t);
	seen_free(&r->hits);
	if (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		error_("%s did not exit 0 on SIGINT (status 0x%x)", r->out, st);
		log_tail_to_errors(r->err);
		return -1;
	}
	if (!r->summary) {
		error_("%s: no JSON summary line", r->out);
		return -1;
	}
	return 0;
}
