/*
 * worker.c - the plugin worker runtime: map the snapshot read-only, and
 * for each announced snapshot run this worker's mechanism over the records
 * that changed since the snapshot's 'since', send the detections, then
 * SNAPSHOT_DONE.
 *
 * Invariants:
 *  - the worker holds no BPF fd, no printer fd, no secret: only fd 3 (IPC),
 *    the mapping of the sealed snapshot (PROT_READ; fd 4 is closed once
 *    mapped) and libevent's own epoll fd and internal pipe.
 *  - a snapshot is acknowledged only after every detection from it was
 *    queued; an unreadable or torn snapshot (a broken invariant: the
 *    supervisor never rewrites a slot a worker holds) makes the worker exit
 *    unacknowledged, so its replacement is sent the same changes again.
 *  - test-only fault hooks act only when CONFIG enables them, and only on
 *    records newer than this process, so a replacement does not repeat the
 *    fault of its predecessor.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/poll.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/child.h"
#include "common/log.h"
#include "ipc/snapshot.h"
#include "workers/detect.h"

static const struct wrk_mechanism *mech;
static const struct jb_snap_region_hdr *region;
static size_t region_size;
static struct wrk_event_ctx ectx;
static char hostname[256], boot_id[64];
static int fault_hooks;
static uint64_t start_mono_ns, processed, detections;
static char msgbuf[IPC_MAX_MSG];

static uint64_t clock_ns(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int wrk_setup(const char *kind, char *err, size_t errlen)
{
	mech = wrk_mechanism_by_name(kind);
	if (!mech) {
		snprintf(err, errlen, "unknown worker kind '%s'", kind);
		return -1;
	}
	region = jb_snap_map_ro(JB_CHILD_AUX_FD, &region_size, err, errlen);
	if (!region)
		return -1;
	close(JB_CHILD_AUX_FD); /* the mapping stays; the fd is not needed */
	start_mono_ns = clock_ns(CLOCK_MONOTONIC);
	return 0;
}

static void wrk_config(const struct ipc_msg *m)
{
	uint64_t mono = clock_ns(CLOCK_MONOTONIC), real = clock_ns(CLOCK_REALTIME),
		 boot = clock_ns(CLOCK_BOOTTIME);

	snprintf(hostname, sizeof(hostname), "%s", m->u.config.hostname);
	snprintf(boot_id, sizeof(boot_id), "%s", m->u.config.boot_id);
	fault_hooks = m->u.config.fault_hooks != 0;
	ectx.hostname = hostname;
	ectx.boot_id = boot_id;
	ectx.mono_to_real_ns = (int64_t)real - (int64_t)mono;
	ectx.boot_real_ns = (int64_t)real - (int64_t)boot;
}

static void wrk_counters(uint64_t *p, uint64_t *d)
{
	*p = processed;
	*d = detections;
}

/* Test-only: "jibril-fault.<kind>.<what>" opened after we started. */
static void fault_hook(const struct jb_file *f, uint64_t last_ns)
{
	char want[96];
	const char *b = wrk_basename(f->path), *what;
	size_t n;

	n = (size_t)snprintf(want, sizeof(want), "jibril-fault.%s.", mech->name);
	if (!fault_hooks || last_ns < start_mono_ns || strncmp(b, want, n) != 0)
		return;
	what = b + n;
	log_warnx("fault hook: %s", what);
	if (!strcmp(what, "sigsys")) {
		syscall(SYS_socket, 2, 1, 0); /* not in the allow-list: SIGSYS */
	} else if (!strcmp(what, "garbage")) {
		static const unsigned char junk[] = {0xc1, 0x00, 0xff};
		jb_child_send(junk, sizeof(junk));
	} else if (!strcmp(what, "hang")) {
		for (;;)
			poll(NULL, 0, -1);
	} else if (!strcmp(what, "crash")) {
		abort();
	}
}

static void emit(const struct wrk_def *def, const struct jb_snap_view *v, const struct jb_task *t,
		 const struct jb_file *file, uint32_t actions, const struct jb_flow *flow,
		 uint64_t obj_key, uint64_t event_ns)
{
	char dedup[80];
	char *json = wrk_event_json(&ectx, mech, def, v, t, file, actions, flow, event_ns);
	int n;

	if (!json) {
		log_warnx("%s: could not build the event", def->kind);
		return;
	}
	snprintf(dedup, sizeof(dedup), "%016llx/%016llx",
		 (unsigned long long)(t ? t->key : 0), (unsigned long long)obj_key);
	n = ipc_enc_detection(msgbuf, sizeof(msgbuf), def->kind, dedup, json, strlen(json));
	free(json);
	if (n < 0) {
		log_warnx("%s: event too large for one message", def->kind);
		return;
	}
	if (jb_child_send_wait(msgbuf, (size_t)n) < 0) {
		/* never acknowledge a snapshot whose detections were not all
		 * sent: exit, and the replacement re-reads it (dedup drops the
		 * ones that did get through) */
		log_set_sink(NULL);
		log_warnx("%s: the supervisor is not reading; exiting unacknowledged", def->kind);
		exit(1);
	}
	detections++;
}

static void run_links(const struct jb_snap_view *v, uint64_t since)
{
	for (uint32_t i = 0; i < v->nlinks; i++) {
		const struct jb_snap_link *l = &v->links[i];
		const struct jb_file *f;
		const struct jb_task *t;

		int wanted;

		if (l->link.last_ns <= since)
			continue;
		wanted = mech->source == WRK_SRC_LINKS ||
			 (mech->source == WRK_SRC_EXECS && (l->link.actions & JB_ACT_EXEC));
		/* touch a file record only when this mechanism (or a test fault
		 * hook) needs it: every page read stays resident in this process */
		if (!wanted && !fault_hooks)
			continue;
		f = jb_snap_file(v, l->key.file_key);
		if (!f)
			continue;
		fault_hook(f, l->link.last_ns);
		if (!wanted)
			continue;
		t = jb_snap_task(v, l->key.task_key);
		if (!t)
			continue;
		processed++;
		for (size_t d = 0; d < mech->ndefs; d++) {
			const struct wrk_def *def = &mech->defs[d];
			int hit = mech->source == WRK_SRC_EXECS
					  ? def->match_exec(t, f->path)
					  : def->match_link(t, f->path, l->link.actions);
			if (hit)
				emit(def, v, t, f, l->link.actions, NULL, f->key, l->link.last_ns);
		}
	}
}

static void run_flows(const struct jb_snap_view *v, uint64_t since)
{
	for (uint32_t i = 0; i < v->nflows; i++) {
		const struct jb_flow *fl = &v->flows[i];
		const struct jb_task *t;

		if (fl->last_ns <= since)
			continue;
		t = fl->task_key ? jb_snap_task(v, fl->task_key) : NULL;
		processed++;
		for (size_t d = 0; d < mech->ndefs; d++)
			if (mech->defs[d].match_flow(t, fl))
				emit(&mech->defs[d], v, t, NULL, 0, fl, fl->key, fl->last_ns);
	}
}

static void wrk_message(const struct ipc_msg *m)
{
	struct jb_snap_view v;
	char buf[64];
	int n;

	if (m->type != IPC_SNAPSHOT) {
		log_warnx("unexpected %s", ipc_msg_name(m->type));
		exit(1);
	}
	/* an unreadable or torn snapshot is a broken invariant (the
	 * supervisor never rewrites a slot a worker holds): exit without
	 * acknowledging, so the replacement is sent it again */
	if (jb_snap_view(region, region_size, (uint32_t)m->u.snapshot.slot, m->u.snapshot.seq,
			 &v) < 0) {
		log_set_sink(NULL);
		log_warnx("snapshot %llu in slot %llu is not readable",
			  (unsigned long long)m->u.snapshot.seq, (unsigned long long)m->u.snapshot.slot);
		exit(1);
	}
	if (mech->source == WRK_SRC_FLOWS)
		run_flows(&v, m->u.snapshot.since_ns);
	/* the network worker walks the links only for the fault hooks */
	if (mech->source != WRK_SRC_FLOWS || fault_hooks)
		run_links(&v, m->u.snapshot.since_ns);
	if (jb_snap_still_valid(&v) < 0) {
		log_set_sink(NULL);
		log_warnx("snapshot %llu was overwritten while being read", (unsigned long long)v.seq);
		exit(1);
	}
	n = ipc_enc_snapshot_done(buf, sizeof(buf), m->u.snapshot.seq);
	if (n < 0 || jb_child_send_wait(buf, (size_t)n) < 0) {
		log_set_sink(NULL);
		log_warnx("cannot acknowledge snapshot %llu", (unsigned long long)m->u.snapshot.seq);
		exit(1);
	}
}

static const struct jb_child_ops worker_ops = {
	.role = IPC_ROLE_WORKER,
	.policy = JB_POLICY_WORKER,
	.setup = wrk_setup,
	.on_config = wrk_config,
	.on_message = wrk_message,
	.counters = wrk_counters,
};

void wrk_main(const char *kind, uint64_t generation)
{
	jb_child_main(&worker_ops, kind, generation);
}
