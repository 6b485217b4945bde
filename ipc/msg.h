/*
 * msg.h - every control message between the supervisor and its children.
 *
 * Bump IPC_PROTO_VERSION if anything here changes (types, field order,
 * field types): the version travels in every message and a mismatch is a
 * protocol error.
 *
 * Wire format: one msgpack array per SOCK_SEQPACKET packet,
 *   [ version(uint), type(uint), field1, field2, ... ]
 * with exactly the fields listed for the type, in order, no trailing data,
 * and at most IPC_MAX_MSG bytes.
 */
#ifndef JB_IPC_MSG_H
#define JB_IPC_MSG_H

#include <stddef.h>
#include <stdint.h>

#define IPC_PROTO_VERSION 5
#define IPC_MAX_MSG (64 * 1024)
#define IPC_MAX_STR (56 * 1024)	/* longest string field (detection JSON) */
#define IPC_NAME_MAX 64		/* kind / role names */
#define IPC_LIMITS_MAX 4096	/* detection times keys */
#define IPC_PATH_MAX 4096	/* recipe source names */
#define IPC_RECIPE_CHUNK (56 * 1024) /* recipe bytes per IPC_RECIPE */
#define IPC_CAUSE_MAX 31	/* IPC_LOSS cause: 1..31 bytes of [a-z0-9_] */
#define IPC_DETAIL_MAX 255	/* IPC_LOSS detail */
#define IPC_MODEL_MAX 128	/* IPC_SUMMARY model: printable ASCII */
#define IPC_COUNTS_MAX 4096	/* IPC_SUMMARY counts (ipc_summary_counts_valid) */
#define IPC_SUMMARY_MAX 16384	/* IPC_SUMMARY text: UTF-8, no NUL */

/* IPC_RECIPE flags */
enum ipc_recipe_flag {
	IPC_RCP_CONT = 1 << 0,	   /* this source continues in the next message */
	IPC_RCP_END = 1 << 1,	   /* last message of the set: load it now */
	IPC_RCP_LIST = 1 << 2,	   /* a domain list file, not a recipe file */
	IPC_RCP_DISABLED = 1 << 3, /* data: disabled kinds, one per line */
};

/* Numbered in ranges by direction. */
enum ipc_type {
	/* supervisor -> any child */
	IPC_CONFIG = 100,	 /* generation, heartbeat_ms, fault_hooks, boot_id, hostname */
	IPC_SNAPSHOT = 101,	 /* seq, slot, since_ns: a snapshot is readable (workers) */
	IPC_PRINT = 102,	 /* seq, json: print this detection (printers) */
	IPC_RECIPE = 103,	 /* name, data, flags: a recipe source (workers) */
	IPC_STATUS = 104,	 /* json: the status document, supervisor/status.h (exporter) */

	/* any child -> supervisor */
	IPC_HELLO = 200,	 /* role, kind, generation, pid */
	IPC_READY = 201,	 /* (no fields) */
	IPC_HEARTBEAT = 202,	 /* processed, detections */
	IPC_LOG = 203,		 /* level, text */

	/* worker -> supervisor */
	IPC_SNAPSHOT_DONE = 210, /* seq */
	IPC_DETECTION = 211,	 /* kind, dedup_key, json, limits */

	/* printer -> supervisor */
	IPC_PRINTED = 220,	 /* seq: written and flushed */
	IPC_LOSS = 221,		 /* cause, count, detail: detections this printer lost */
	IPC_PRN_STATS = 222,	 /* queue_lines, queue_bytes, spool_lines, spool_bytes,
				  * delivered, retries, rejected: its figures */
	IPC_SUMMARY = 223,	 /* start_ms, end_ms, detections, model, counts, text: a
				  * summary of the detections of that period (the summary
				  * printer's; the supervisor refuses it from other kinds) */
};

/* Roles a peer can have; bit values so the role table can OR them. */
enum ipc_role {
	IPC_ROLE_SUPERVISOR = 1 << 0,
	IPC_ROLE_WORKER = 1 << 1,
	IPC_ROLE_PRINTER = 1 << 2,
	IPC_ROLE_EXPORTER = 1 << 3,	/* metrics and health over HTTP (exporter/) */
};

enum ipc_log_level { IPC_LOG_ERR = 0, IPC_LOG_WARN, IPC_LOG_INFO, IPC_LOG_DEBUG };

/* Decoded message. Strings point into the caller's packet buffer copy
 * (ipc_decode copies them into 'strbuf'), NUL terminated. */
struct ipc_msg {
	uint32_t version;
	uint32_t type;
	union {
		struct {
			uint64_t generation;
			uint64_t heartbeat_ms;
			uint64_t fault_hooks;
			const char *boot_id;
			const char *hostname;
		} config;
		struct {
			uint64_t seq;
			uint64_t slot;
			uint64_t since_ns; /* look only at records changed after this */
		} snapshot;
		struct {
			uint64_t seq;
			const char *json;
			size_t json_len;
		} print;
		struct {
			const char *name;
			const char *data;
			size_t data_len;
			uint64_t flags; /* enum ipc_recipe_flag */
		} recipe;
		struct {
			const char *json; /* at most IPC_MAX_STR bytes, no NUL */
			size_t json_len;
		} status;
		struct {
			uint64_t role; /* enum ipc_role */
			const char *kind;
			uint64_t generation;
			uint64_t pid;
		} hello;
		struct {
			uint64_t processed;
			uint64_t detections;
		} heartbeat;
		struct {
			uint64_t level;
			const char *text;
		} log;
		struct {
			uint64_t seq;
		} done;
		struct {
			const char *kind;
			const char *dedup_key;
			const char *json;
			size_t json_len;
			/* "TIMES_KIND\tKEY\n" per limit of the recipe
			 * (rcp_times_kind number, printable key) */
			const char *limits;
		} detection;
		struct {
			uint64_t seq;
		} printed;
		struct {
			const char *cause;  /* 1..IPC_CAUSE_MAX bytes of [a-z0-9_] */
			uint64_t count;	    /* > 0 */
			const char *detail; /* free text, at most IPC_DETAIL_MAX bytes */
		} loss;
		struct {
			/* held in memory, and in its spool, now */
			uint64_t queue_lines, queue_bytes, spool_lines, spool_bytes;
			/* since this printer process started: lines delivered
			 * (written, or confirmed by the endpoint), sends that
			 * failed and were retried, lines refused for good */
			uint64_t delivered, retries, rejected;
		} prn_stats;
		struct {
			uint64_t start_ms, end_ms; /* the period, Unix ms, start <= end */
			uint64_t detections;	   /* digested in the period */
			const char *model;	   /* 1..IPC_MODEL_MAX printable ASCII */
			/* "GROUP\tNAME\tN\n" per line, GROUP kind or importance
			 * (ipc_summary_counts_valid); may be empty */
			const char *counts;
			const char *text;	   /* 1..IPC_SUMMARY_MAX bytes of UTF-8 */
			size_t text_len;
		} summary;
	} u;
	char strbuf[IPC_MAX_MSG]; /* backing store for the string fields */
};

/* Encoders: write one message into buf (cap bytes). Return its length, or
 * -1 if it would exceed cap or IPC_MAX_MSG (nothing sent in that case). */
int ipc_enc_config(char *buf, size_t cap, uint64_t generation, uint64_t heartbeat_ms,
		   uint64_t fault_hooks, const char *boot_id, const char *hostname);
int ipc_enc_snapshot(char *buf, size_t cap, uint64_t seq, uint64_t slot, uint64_t since_ns);
int ipc_enc_print(char *buf, size_t cap, uint64_t seq, const char *json, size_t json_len);
int ipc_enc_hello(char *buf, size_t cap, uint64_t role, const char *kind, uint64_t generation,
		  uint64_t pid);
int ipc_enc_ready(char *buf, size_t cap);
int ipc_enc_heartbeat(char *buf, size_t cap, uint64_t processed, uint64_t detections);
int ipc_enc_log(char *buf, size_t cap, uint64_t level, const char *text);
int ipc_enc_snapshot_done(char *buf, size_t cap, uint64_t seq);
int ipc_enc_detection(char *buf, size_t cap, const char *kind, const char *dedup_key,
		      const char *json, size_t json_len, const char *limits);
int ipc_enc_recipe(char *buf, size_t cap, const char *name, const char *data, size_t len,
		   uint64_t flags);
int ipc_enc_printed(char *buf, size_t cap, uint64_t seq);
int ipc_enc_status(char *buf, size_t cap, const char *json, size_t json_len);
/* -1 also for a cause that is not 1..IPC_CAUSE_MAX bytes of [a-z0-9_] or
 * a count of 0 (the decoder refuses both). */
int ipc_enc_loss(char *buf, size_t cap, const char *cause, uint64_t count, const char *detail);
/* 1 when cause is 1..IPC_CAUSE_MAX bytes of [a-z0-9_], else 0. */
int ipc_loss_cause_valid(const char *cause);
int ipc_enc_prn_stats(char *buf, size_t cap, uint64_t queue_lines, uint64_t queue_bytes,
		      uint64_t spool_lines, uint64_t spool_bytes, uint64_t delivered,
		      uint64_t retries, uint64_t rejected);

/* -1 also for what the decoder refuses (see ipc_summary_counts_valid, the
 * model, a text that is empty or not UTF-8, start after end). */
int ipc_enc_summary(char *buf, size_t cap, uint64_t start_ms, uint64_t end_ms,
		    uint64_t detections, const char *model, const char *counts, const char *text,
		    size_t text_len);
/* 1 when counts is lines "GROUP\tNAME\tN\n": GROUP "kind" or "importance",
 * NAME 1..64 bytes of [a-z0-9_.-], N 1..19 decimal digits; else 0. */
int ipc_summary_counts_valid(const char *counts);

/* Strict decoder. Returns 0 and fills *m, or -1 with a short reason in
 * err (errlen bytes): truncated, oversize, not an array, wrong version,
 * unknown type, wrong field count or type, string too long or holding a
 * NUL, trailing bytes. Never crashes on any input. */
int ipc_decode(const void *pkt, size_t len, struct ipc_msg *m, char *err, size_t errlen);

/* Role table: may a peer of role 'from' send 'type'? Once-only types
 * (HELLO, READY) are flagged through ipc_msg_once(). */
int ipc_msg_allowed(uint32_t type, uint32_t from_role);
int ipc_msg_once(uint32_t type);

const char *ipc_msg_name(uint32_t type);
const char *ipc_role_name(uint32_t role);

#endif
