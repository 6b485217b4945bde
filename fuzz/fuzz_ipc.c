/*
 * fuzz_ipc.c - libFuzzer target for the strict IPC decoder (ipc/msg.c).
 *
 *   make fuzz; build/fuzz/fuzz_ipc -max_len=70000 DIR  (a copy of fuzz/corpus/ipc)
 *
 * Besides "never crash", it checks the round-trip property: whatever the
 * decoder accepts, the encoder can re-encode, and decoding that gives the
 * same message back.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ipc/msg.h"

static struct ipc_msg m1, m2;
static char buf[IPC_MAX_MSG];

static int reencode(const struct ipc_msg *m)
{
	switch (m->type) {
	case IPC_CONFIG:
		return ipc_enc_config(buf, sizeof(buf), m->u.config.generation,
				      m->u.config.heartbeat_ms, m->u.config.fault_hooks,
				      m->u.config.boot_id, m->u.config.hostname);
	case IPC_SNAPSHOT:
		return ipc_enc_snapshot(buf, sizeof(buf), m->u.snapshot.seq, m->u.snapshot.slot,
					m->u.snapshot.since_ns);
	case IPC_PRINT:
		return ipc_enc_print(buf, sizeof(buf), m->u.print.seq, m->u.print.json,
				     m->u.print.json_len);
	case IPC_HELLO:
		return ipc_enc_hello(buf, sizeof(buf), m->u.hello.role, m->u.hello.kind,
				     m->u.hello.generation, m->u.hello.pid);
	case IPC_READY:
		return ipc_enc_ready(buf, sizeof(buf));
	case IPC_HEARTBEAT:
		return ipc_enc_heartbeat(buf, sizeof(buf), m->u.heartbeat.processed,
					 m->u.heartbeat.detections);
	case IPC_LOG:
		return ipc_enc_log(buf, sizeof(buf), m->u.log.level, m->u.log.text);
	case IPC_SNAPSHOT_DONE:
		return ipc_enc_snapshot_done(buf, sizeof(buf), m->u.done.seq);
	case IPC_DETECTION:
		return ipc_enc_detection(buf, sizeof(buf), m->u.detection.kind,
					 m->u.detection.dedup_key, m->u.detection.json,
					 m->u.detection.json_len, m->u.detection.limits);
	case IPC_RECIPE:
		return ipc_enc_recipe(buf, sizeof(buf), m->u.recipe.name, m->u.recipe.data,
				      m->u.recipe.data_len, m->u.recipe.flags);
	case IPC_PRINTED:
		return ipc_enc_printed(buf, sizeof(buf), m->u.printed.seq);
	case IPC_LOSS:
		return ipc_enc_loss(buf, sizeof(buf), m->u.loss.cause, m->u.loss.count,
				    m->u.loss.detail);
	case IPC_STATUS:
		return ipc_enc_status(buf, sizeof(buf), m->u.status.json, m->u.status.json_len);
	case IPC_PRN_STATS:
		return ipc_enc_prn_stats(buf, sizeof(buf), m->u.prn_stats.queue_lines,
					 m->u.prn_stats.queue_bytes, m->u.prn_stats.spool_lines,
					 m->u.prn_stats.spool_bytes, m->u.prn_stats.delivered,
					 m->u.prn_stats.retries, m->u.prn_stats.rejected);
	case IPC_SUMMARY:
		return ipc_enc_summary(buf, sizeof(buf), m->u.summary.start_ms, m->u.summary.end_ms,
				       m->u.summary.detections, m->u.summary.model,
				       m->u.summary.counts, m->u.summary.text, m->u.summary.text_len);
	}
	abort();	/* decoder accepted a type the encoders do not know */
}

static int same_str(const char *a, const char *b) { return strcmp(a, b) == 0; }

static int same(const struct ipc_msg *a, const struct ipc_msg *b)
{
	if (a->version != b->version || a->type != b->type)
		return 0;
	switch (a->type) {
	case IPC_CONFIG:
		return a->u.config.generation == b->u.config.generation &&
		       a->u.config.heartbeat_ms == b->u.config.heartbeat_ms &&
		       a->u.config.fault_hooks == b->u.config.fault_hooks &&
		       same_str(a->u.config.boot_id, b->u.config.boot_id) &&
		       same_str(a->u.config.hostname, b->u.config.hostname);
	case IPC_SNAPSHOT:
		return a->u.snapshot.seq == b->u.snapshot.seq &&
		       a->u.snapshot.slot == b->u.snapshot.slot;
	case IPC_PRINT:
		return a->u.print.seq == b->u.print.seq &&
		       a->u.print.json_len == b->u.print.json_len &&
		       same_str(a->u.print.json, b->u.print.json);
	case IPC_HELLO:
		return a->u.hello.role == b->u.hello.role &&
		       same_str(a->u.hello.kind, b->u.hello.kind) &&
		       a->u.hello.generation == b->u.hello.generation &&
		       a->u.hello.pid == b->u.hello.pid;
	case IPC_READY:
		return 1;
	case IPC_HEARTBEAT:
		return a->u.heartbeat.processed == b->u.heartbeat.processed &&
		       a->u.heartbeat.detections == b->u.heartbeat.detections;
	case IPC_LOG:
		return a->u.log.level == b->u.log.level && same_str(a->u.log.text, b->u.log.text);
	case IPC_SNAPSHOT_DONE:
		return a->u.done.seq == b->u.done.seq;
	case IPC_DETECTION:
		return same_str(a->u.detection.kind, b->u.detection.kind) &&
		       same_str(a->u.detection.dedup_key, b->u.detection.dedup_key) &&
		       a->u.detection.json_len == b->u.detection.json_len &&
		       same_str(a->u.detection.json, b->u.detection.json) &&
		       same_str(a->u.detection.limits, b->u.detection.limits);
	case IPC_RECIPE:
		return same_str(a->u.recipe.name, b->u.recipe.name) &&
		       a->u.recipe.data_len == b->u.recipe.data_len &&
		       same_str(a->u.recipe.data, b->u.recipe.data) &&
		       a->u.recipe.flags == b->u.recipe.flags;
	case IPC_PRINTED:
		return a->u.printed.seq == b->u.printed.seq;
	case IPC_STATUS:
		return a->u.status.json_len == b->u.status.json_len &&
		       same_str(a->u.status.json, b->u.status.json);
	case IPC_LOSS:
		return same_str(a->u.loss.cause, b->u.loss.cause) &&
		       a->u.loss.count == b->u.loss.count &&
		       same_str(a->u.loss.detail, b->u.loss.detail);
	case IPC_PRN_STATS:
		return !memcmp(&a->u.prn_stats, &b->u.prn_stats, sizeof(a->u.prn_stats));
	case IPC_SUMMARY:
		return a->u.summary.start_ms == b->u.summary.start_ms &&
		       a->u.summary.end_ms == b->u.summary.end_ms &&
		       a->u.summary.detections == b->u.summary.detections &&
		       same_str(a->u.summary.model, b->u.summary.model) &&
		       same_str(a->u.summary.counts, b->u.summary.counts) &&
		       a->u.summary.text_len == b->u.summary.text_len &&
		       same_str(a->u.summary.text, b->u.summary.text);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[128];
	int n;

	if (ipc_decode(data, size, &m1, err, sizeof(err)) == -1) {
		if (err[0] == '\0')
			abort();	/* every rejection carries a reason */
		return 0;
	}
	if ((n = reencode(&m1)) < 0)
		abort();	/* accepted, yet the encoder refuses it */
	if (ipc_decode(buf, n, &m2, err, sizeof(err)) == -1 || !same(&m1, &m2))
		abort();
	return 0;
}
