/*
 * check_ipc.c - the IPC message codec (ipc/msg.c): round trips, encoder
 * limits, a malformed-input battery for the strict decoder, and the role
 * table. Fork mode (the Check default) contains any crash to one test.
 * Protocol v2: IPC_DETECTION carries a 4th field (the times-limit keys) and
 * IPC_RECIPE {name, data, flags} ships recipe sources to the workers.
 * Protocol v3: IPC_LOSS {cause, count, detail}, a printer's lost detections.
 * Protocol v4: IPC_PRN_STATS {queue_lines, queue_bytes, spool_lines,
 * spool_bytes, delivered, retries, rejected}, a printer's own figures.
 * Protocol v5: IPC_SUMMARY {start_ms, end_ms, detections, model, counts,
 * text}, the summary printer's digest summarised.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <msgpack.h>

#include "ipc/msg.h"

#define ID_MAX 256	/* decoder limit for dedup_key, boot_id, hostname */

static struct ipc_msg M;		/* 64 KiB: keep it off the stack */
static char BUF[IPC_MAX_MSG + 16];
static char BIG[IPC_MAX_MSG + 16];
static char ERR[128];

static const uint32_t all_types[] = {
	IPC_CONFIG, IPC_SNAPSHOT, IPC_PRINT, IPC_HELLO, IPC_READY, IPC_HEARTBEAT,
	IPC_LOG, IPC_SNAPSHOT_DONE, IPC_DETECTION, IPC_PRINTED, IPC_RECIPE, IPC_LOSS,
	IPC_STATUS,
	IPC_PRN_STATS, IPC_SUMMARY,
};
#define NTYPES (sizeof(all_types) / sizeof(all_types[0]))

/* Field signature per type: 'u' uint, 's' str. Mirrors msg.h. */
static const char *sig_of(uint32_t type)
{
	switch (type) {
	case IPC_CONFIG: return "uuuss";
	case IPC_SNAPSHOT: return "uuu";
	case IPC_PRINT: return "us";
	case IPC_HELLO: return "usuu";
	case IPC_READY: return "";
	case IPC_HEARTBEAT: return "uu";
	case IPC_LOG: return "us";
	case IPC_SNAPSHOT_DONE: return "u";
	case IPC_DETECTION: return "ssss";
	case IPC_RECIPE: return "ssu";
	case IPC_PRINTED: return "u";
	case IPC_LOSS: return "sus";
	case IPC_STATUS: return "s";
	case IPC_PRN_STATS: return "uuuuuuu";
	case IPC_SUMMARY: return "uuusss";
	}
	return NULL;
}

static int dec(const void *p, size_t n)
{
	memset(ERR, 0, sizeof(ERR));
	return ipc_decode(p, n, &M, ERR, sizeof(ERR));
}

#define expect_reject(p, n, why)                                                          \
	do {                                                                              \
		ck_assert_int_eq(dec((p), (n)), -1);                                      \
		ck_assert_msg(strstr(ERR, (why)) != NULL, "err '%s', want '%s'", ERR, (why)); \
		ck_assert_uint_eq(M.type, 0);                                             \
	} while (0)

static int in_strbuf(const char *s)
{
	return s >= M.strbuf && s < M.strbuf + sizeof(M.strbuf);
}

/* Whatever the input: -1 with a reason and a zeroed header, or 0 with
 * fields that keep every promise of msg.h. */
static void check_sane(int rc)
{
	ck_assert(rc == 0 || rc == -1);
	if (rc == -1) {
		ck_assert(ERR[0] != '\0');
		ck_assert_uint_eq(M.version, 0);
		ck_assert_uint_eq(M.type, 0);
		return;
	}
	ck_assert_uint_eq(M.version, IPC_PROTO_VERSION);
	ck_assert_str_ne(ipc_msg_name(M.type), "IPC_UNKNOWN");
	switch (M.type) {
	case IPC_CONFIG:
		ck_assert(in_strbuf(M.u.config.boot_id) && in_strbuf(M.u.config.hostname));
		ck_assert_uint_le(strlen(M.u.config.boot_id), ID_MAX);
		ck_assert_uint_le(strlen(M.u.config.hostname), ID_MAX);
		break;
	case IPC_STATUS:
		ck_assert(in_strbuf(M.u.status.json));
		ck_assert_uint_eq(strlen(M.u.status.json), M.u.status.json_len);
		ck_assert_uint_le(M.u.status.json_len, IPC_MAX_STR);
		break;
	case IPC_PRINT:
		ck_assert(in_strbuf(M.u.print.json));
		ck_assert_uint_eq(strlen(M.u.print.json), M.u.print.json_len);
		ck_assert_uint_le(M.u.print.json_len, IPC_MAX_STR);
		break;
	case IPC_HELLO:
		ck_assert(in_strbuf(M.u.hello.kind));
		ck_assert_uint_le(strlen(M.u.hello.kind), IPC_NAME_MAX);
		ck_assert_str_ne(ipc_role_name(M.u.hello.role), "unknown");
		break;
	case IPC_LOG:
		ck_assert(in_strbuf(M.u.log.text));
		ck_assert_uint_le(strlen(M.u.log.text), IPC_MAX_STR);
		ck_assert_uint_le(M.u.log.level, IPC_LOG_DEBUG);
		break;
	case IPC_DETECTION:
		ck_assert(in_strbuf(M.u.detection.kind) && in_strbuf(M.u.detection.dedup_key) &&
			  in_strbuf(M.u.detection.json));
		ck_assert_uint_le(strlen(M.u.detection.kind), IPC_NAME_MAX);
		ck_assert_uint_le(strlen(M.u.detection.dedup_key), ID_MAX);
		ck_assert_uint_eq(strlen(M.u.detection.json), M.u.detection.json_len);
		ck_assert_uint_le(M.u.detection.json_len, IPC_MAX_STR);
		ck_assert(in_strbuf(M.u.detection.limits));
		ck_assert_uint_le(strlen(M.u.detection.limits), IPC_LIMITS_MAX);
		break;
	case IPC_RECIPE:
		ck_assert(in_strbuf(M.u.recipe.name) && in_strbuf(M.u.recipe.data));
		ck_assert_uint_le(strlen(M.u.recipe.name), IPC_PATH_MAX);
		ck_assert_uint_eq(strlen(M.u.recipe.data), M.u.recipe.data_len);
		ck_assert_uint_le(M.u.recipe.data_len, IPC_RECIPE_CHUNK);
		ck_assert_uint_eq(M.u.recipe.flags >> 4, 0);
		break;
	case IPC_LOSS:
		ck_assert(in_strbuf(M.u.loss.cause) && in_strbuf(M.u.loss.detail));
		ck_assert(ipc_loss_cause_valid(M.u.loss.cause));
		ck_assert_uint_le(strlen(M.u.loss.cause), IPC_CAUSE_MAX);
		ck_assert_uint_le(strlen(M.u.loss.detail), IPC_DETAIL_MAX);
		ck_assert_uint_gt(M.u.loss.count, 0);
		break;
	}
}

/* A string of n copies of c (n < sizeof(BIG)), NUL terminated. */
static const char *fill(size_t n, char c)
{
	memset(BIG, c, n);
	BIG[n] = '\0';
	return BIG;
}

/* ---- hand-built packets (msgpack sbuffer) for malformed input ---------- */

struct mb {
	msgpack_sbuffer sb;
	msgpack_packer pk;
};

static void mb_init(struct mb *b)
{
	msgpack_sbuffer_init(&b->sb);
	msgpack_packer_init(&b->pk, &b->sb, msgpack_sbuffer_write);
}

static void mb_hdr(struct mb *b, uint32_t nelem, uint64_t version, uint64_t type)
{
	mb_init(b);
	msgpack_pack_array(&b->pk, nelem);
	msgpack_pack_uint64(&b->pk, version);
	msgpack_pack_uint64(&b->pk, type);
}

static void mb_str(struct mb *b, const char *s, size_t n)
{
	msgpack_pack_str(&b->pk, n);
	msgpack_pack_str_body(&b->pk, s, n);
}

static void mb_free(struct mb *b) { msgpack_sbuffer_destroy(&b->sb); }

/* Kinds of values a field can be given. */
enum val { V_UINT, V_STR, V_NEG, V_FLOAT, V_NIL, V_BIN, V_MAP, V_ARRAY, V_BOOL, V_EXT, V_NVALS };

static void mb_val(struct mb *b, enum val v)
{
	switch (v) {
	case V_UINT: msgpack_pack_uint64(&b->pk, 1); break;
	case V_STR: mb_str(b, "x", 1); break;
	case V_NEG: msgpack_pack_int64(&b->pk, -1); break;
	case V_FLOAT: msgpack_pack_double(&b->pk, 1.0); break;
	case V_NIL: msgpack_pack_nil(&b->pk); break;
	case V_BIN: msgpack_pack_bin(&b->pk, 1); msgpack_pack_bin_body(&b->pk, "x", 1); break;
	case V_MAP:
		msgpack_pack_map(&b->pk, 1);
		msgpack_pack_uint64(&b->pk, 1);
		msgpack_pack_uint64(&b->pk, 1);
		break;
	case V_ARRAY: msgpack_pack_array(&b->pk, 1); msgpack_pack_uint64(&b->pk, 1); break;
	case V_BOOL: msgpack_pack_true(&b->pk); break;
	case V_EXT: msgpack_pack_ext(&b->pk, 1, 5); msgpack_pack_ext_body(&b->pk, "x", 1); break;
	default: break;
	}
}

/* A message of 'type' with its fields in order, except field 'bad' (1-based,
 * 0 for none) given value 'v'; nfields may differ from the signature (extra
 * fields are uints). */
static void mb_msg(struct mb *b, uint32_t type, uint32_t nfields, uint32_t bad, enum val v)
{
	const char *sig = sig_of(type);
	uint32_t i;

	mb_hdr(b, 2 + nfields, IPC_PROTO_VERSION, type);
	for (i = 1; i <= nfields; i++) {
		if (i == bad)
			mb_val(b, v);
		else if (type == IPC_SUMMARY && i == 5)
			mb_str(b, "", 0); /* counts: "x" is not a counts line, "" is none */
		else
			mb_val(b, i <= strlen(sig) && sig[i - 1] == 's' ? V_STR : V_UINT);
	}
}

/* ---- valid encodings, one per type ------------------------------------ */

static int enc_one(uint32_t type, char *buf, size_t cap)
{
	static const char json[] = "{\"a\":1,\"b\":[true,null]}";

	switch (type) {
	case IPC_CONFIG: return ipc_enc_config(buf, cap, 7, 1000, 0x5, "b00t-1d", "host.example");
	case IPC_SNAPSHOT: return ipc_enc_snapshot(buf, cap, 1234567, 3, 987654321);
	case IPC_PRINT: return ipc_enc_print(buf, cap, 99, json, strlen(json));
	case IPC_HELLO: return ipc_enc_hello(buf, cap, IPC_ROLE_WORKER, "file_access", 7, 4242);
	case IPC_READY: return ipc_enc_ready(buf, cap);
	case IPC_HEARTBEAT: return ipc_enc_heartbeat(buf, cap, 1ULL << 40, 17);
	case IPC_LOG: return ipc_enc_log(buf, cap, IPC_LOG_WARN, "something happened");
	case IPC_SNAPSHOT_DONE: return ipc_enc_snapshot_done(buf, cap, 1234567);
	case IPC_DETECTION:
		return ipc_enc_detection(buf, cap, "execution", "exec:/tmp/x:1", json, strlen(json),
					 "1\t/usr/bin/x\n");
	case IPC_PRINTED: return ipc_enc_printed(buf, cap, 99);
	case IPC_LOSS: return ipc_enc_loss(buf, cap, "spool_full", 17, "spool /var/x: 3 files");
	case IPC_STATUS: return ipc_enc_status(buf, cap, json, strlen(json));
	case IPC_PRN_STATS: return ipc_enc_prn_stats(buf, cap, 1, 2, 3, 4, 5, 6, 7);
	case IPC_SUMMARY:
		return ipc_enc_summary(buf, cap, 1000, 2000, 3, "gpt-test", "kind\tx\t3\n",
				       "three things", 12);
	case IPC_RECIPE:
		return ipc_enc_recipe(buf, cap, "builtin:recipes/execution/x.yaml", "- kind: x\n", 10,
				      IPC_RCP_END);
	}
	return -1;
}

/* ======================================================================== */

START_TEST(rt_config)
{
	int n = ipc_enc_config(BUF, sizeof(BUF), 3, 250, 0xdeadbeefULL, "1b4e28ba-2fa1", "node7");

	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(dec(BUF, n), 0);
	ck_assert_uint_eq(M.version, IPC_PROTO_VERSION);
	ck_assert_uint_eq(M.type, IPC_CONFIG);
	ck_assert_uint_eq(M.u.config.generation, 3);
	ck_assert_uint_eq(M.u.config.heartbeat_ms, 250);
	ck_assert_uint_eq(M.u.config.fault_hooks, 0xdeadbeefULL);
	ck_assert_str_eq(M.u.config.boot_id, "1b4e28ba-2fa1");
	ck_assert_str_eq(M.u.config.hostname, "node7");
}
END_TEST

START_TEST(rt_snapshot)
{
	int n = ipc_enc_snapshot(BUF, sizeof(BUF), UINT64_MAX, 0, 42);

	ck_assert_int_eq(dec(BUF, n), 0);
	ck_assert_uint_eq(M.type, IPC_SNAPSHOT);
	ck_assert_uint_eq(M.u.snapshot.seq, UINT64_MAX);
	ck_assert_uint_eq(M.u.snapshot.slot, 0);
	ck_assert_uint_eq(M.u.snapshot.since_ns, 42);
}
END_TEST

START_TEST(rt_print)
{
	const char *j = "{\"k\":\"v\"}";
	int n = ipc_enc_print(BUF, sizeof(BUF), 42, j, strlen(j));

	ck_assert_int_eq(dec(BUF, n), 0);
	ck_assert_uint_eq(M.type, IPC_PRINT);
	ck_assert_uint_eq(M.u.print.seq, 42);
	ck_assert_uint_eq(M.u.print.json_len, strlen(j));
	ck_assert_str_eq(M.u.print.json, j);
}
END_TEST

START_TEST(rt_print_unterminated)
{
	/* json is (pointer, length): bytes past json_len are not sent */
	int n = ipc_enc_print(BUF, sizeof(BUF), 1, "{}garbage", 2);

	ck_assert_int_eq(dec(BUF, n), 0);
	ck_assert_uint_eq(M.u.print.json_len, 2);
	ck_assert_str_eq(M.u.print.json, "{}");
}
END_TEST

START_TEST(rt_hello)
{
	static const uint32_t roles[] = { IPC_ROLE_SUPERVISOR, IPC_ROLE_WORKER, IPC_ROLE_PRINTER };
	size_t i;

	for (i = 0; i < 3; i++) {
		int n = ipc_enc_hello(BUF, sizeof(BUF), roles[i], "network", 12, 31337);

		ck_assert_int_eq(dec(BUF, n), 0);
		ck_assert_uint_eq(M.type, IPC_HELLO);
		ck_assert_uint_eq(M.u.hello.role, roles[i]);
		ck_assert_str_eq(M.u.hello.kind, "network");
		ck_assert_uint_eq(M.u.hello.generation, 12);
		ck_assert_uint_eq(M.u.hello.pid, 31337);
	}
}
END_TEST

START_TEST(rt_ready)
{
	int n = ipc_enc_ready(BUF, sizeof(BUF));

	ck_assert_int_eq(n, 4);	/* 92 01 cc c9: [1, 201] */
	ck_assert_int_eq(dec(BUF, n), 0);
	ck_assert_uint_eq(M.type, IPC_READY);
}
END_TEST

START_TEST(rt_heartbeat)
{
	static const uint64_t v[] = { 0, 127, 128, 255, 256, 65535, 65536, 0xffffffffULL,
				      0x100000000ULL, UINT64_MAX };
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		int n = ipc_enc_heartbeat(BUF, sizeof(BUF), v[i], v[sizeof(v) / sizeof(v[0]) - 1 - i]);

		ck_assert_int_eq(dec(BUF, n), 0);
		ck_assert_uint_eq(M.type, IPC_HEARTBEAT);
		ck_assert_uint_eq(M.u.heartbeat.processed, v[i]);
		ck_assert_uint_eq(M.u.heartbeat.detections, v[sizeof(v) / sizeof(v[0]) - 1 - i]);
	}
}
END_TEST

START_TEST(rt_log)
{
	int n = ipc_enc_log(BUF, sizeof(BUF), IPC_LOG_DEBUG, "worker: hello");

	ck_assert_int_eq(dec(BUF, n), 0);
	ck_assert_uint_eq(M.type, IPC_LOG);
	ck_assert_uint_eq(M.u.log.level, IPC_LOG_DEBUG);
	ck_assert_str_eq(M.u.log.text, "worker: hello");
}
END_TEST

START_TEST(rt_snapshot_done)
{
	int n = ipc_enc_snapshot_done(BUF, sizeof(BUF), 77);

	ck_assert_int_eq(dec(BUF, n), 0);
	ck_assert_uint_eq(M.type, IPC_SNAPSHOT_DONE);
	ck_assert_uint_eq(M.u.done.seq, 77);
}
END_TEST

START_TEST(rt_detection)
{
	const char *j = "{\"file\":\"/etc/shadow\"}";
	const char *lim = "0\tprocess 0123456789abcdef (pid 7)\n1\t/usr/bin/cat\n5\t*\n";
	int n = ipc_enc_detection(BUF, sizeof(BUF), "file_access", "fa:/etc/shadow:1000", j,
				  strlen(j), lim);

	ck_assert_int_eq(dec(BUF, n), 0);
	ck_assert_uint_eq(M.type, IPC_DETECTION);
	ck_assert_str_eq(M.u.detection.kind, "file_access");
	ck_assert_str_eq(M.u.detection.dedup_key, "fa:/etc/shadow:1000");
	ck_assert_str_eq(M.u.detection.json, j);
	ck_assert_uint_eq(M.u.detection.json_len, strlen(j));
	ck_assert_str_eq(M.u.detection.limits, lim);

	/* a recipe without times limits sends an empty limits field */
	n = ipc_enc_detection(BUF, sizeof(BUF), "k", "d", "{}", 2, "");
	ck_assert_int_eq(dec(BUF, n), 0);
	ck_assert_str_eq(M.u.detection.limits, "");
}
END_TEST

START_TEST(rt_recipe)
{
	static const uint64_t flags[] = {
		0, IPC_RCP_CONT, IPC_RCP_END, IPC_RCP_LIST, IPC_RCP_DISABLED,
		IPC_RCP_LIST | IPC_RCP_CONT, IPC_RCP_DISABLED | IPC_RCP_END,
		IPC_RCP_CONT | IPC_RCP_END | IPC_RCP_LIST | IPC_RCP_DISABLED,
	};
	const char *y = "- kind: a\n  name: 'x: \xc3\xa9'\n";

	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		int n = ipc_enc_recipe(BUF, sizeof(BUF), "/etc/jibril/recipes/a.yaml", y,
				       strlen(y), flags[i]);
		ck_assert_int_gt(n, 0);
		ck_assert_int_eq(dec(BUF, n), 0);
		ck_assert_uint_eq(M.type, IPC_RECIPE);
		ck_assert_str_eq(M.u.recipe.name, "/etc/jibril/recipes/a.yaml");
		ck_assert_str_eq(M.u.recipe.data, y);
		ck_assert_uint_eq(M.u.recipe.data_len, strlen(y));
		ck_assert_uint_eq(M.u.recipe.flags, flags[i]);
	}
	/* data is (pointer, length): bytes past len are not sent */
	int n = ipc_enc_recipe(BUF, sizeof(BUF), "n", "abcdef", 3, 0);
	ck_assert_int_eq(dec(BUF, n), 0);
	ck_assert_str_eq(M.u.recipe.data, "abc");
	ck_assert_uint_eq(M.u.recipe.data_len, 3);
	/* an empty chunk (e.g. no disabled kinds) */
	n = ipc_enc_recipe(BUF, sizeof(BUF), "disabled", "", 0, IPC_RCP_DISABLED | IPC_RCP_END);
	ck_assert_int_eq(dec(BUF, n), 0);
	ck_assert_str_eq(M.u.recipe.data, "");
	ck_assert_uint_eq(M.u.recipe.data_len, 0);
	ck_assert_uint_eq(M.u.recipe.flags, IPC_RCP_DISABLED | IPC_RCP_END);
}
END_TEST

/* The biggest IPC_RECIPE (longest name, a full chunk) fits one message. */
START_TEST(rt_recipe_max)
{
	static char name[IPC_PATH_MAX + 1];
	int n;

	memset(name, 'n', IPC_PATH_MAX);
	fill(IPC_RECIPE_CHUNK, 'y');
	n = ipc_enc_recipe(BUF, sizeof(BUF), name, BIG, IPC_RECIPE_CHUNK,
			   IPC_RCP_CONT | IPC_RCP_END | IPC_RCP_LIST | IPC_RCP_DISABLED);
	ck_assert_int_gt(n, IPC_RECIPE_CHUNK);
	ck_assert_int_le(n, IPC_MAX_MSG);
	ck_assert_int_eq(dec(BUF, n), 0);
	ck_assert_str_eq(M.u.recipe.name, name);
	ck_assert_uint_eq(M.u.recipe.data_len, IPC_RECIPE_CHUNK);
	ck_assert_int_eq(memcmp(M.u.recipe.data, BIG, IPC_RECIPE_CHUNK), 0);
}
END_TEST

/* Every field of a detection at its own decoder limit still fits one
 * message, so what a worker may legally build can always be sent (the
 * invariant of protocol v1: IPC_MAX_STR was sized for it). */
START_TEST(rt_detection_max_fits)
{
	static char kind[IPC_NAME_MAX + 1], id[ID_MAX + 1], lim[IPC_LIMITS_MAX + 1];
	int n;

	memset(kind, 'k', IPC_NAME_MAX);
	memset(id, 'i', ID_MAX);
	memset(lim, 'l', IPC_LIMITS_MAX);
	fill(IPC_MAX_STR, 'j');
	n = ipc_enc_detection(BUF, sizeof(BUF), kind, id, BIG, IPC_MAX_STR, lim);
	ck_assert_msg(n > 0, "a detection with a %d-byte JSON and %d bytes of limit keys cannot "
		      "be encoded: IPC_MAX_STR + IPC_LIMITS_MAX + names exceed IPC_MAX_MSG (%d)",
		      IPC_MAX_STR, IPC_LIMITS_MAX, IPC_MAX_MSG);
	ck_assert_int_eq(dec(BUF, n), 0);
}
END_TEST

START_TEST(rt_printed)
{
	int n = ipc_enc_printed(BUF, sizeof(BUF), 5);

	ck_assert_int_eq(dec(BUF, n), 0);
	ck_assert_uint_eq(M.type, IPC_PRINTED);
	ck_assert_uint_eq(M.u.printed.seq, 5);
}
END_TEST

START_TEST(rt_prn_stats)
{
	int n = ipc_enc_prn_stats(BUF, sizeof(BUF), 3, 1200, 10, 4096, UINT64_MAX, 2, 0);

	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(dec(BUF, n), 0);
	ck_assert_uint_eq(M.type, IPC_PRN_STATS);
	ck_assert_uint_eq(M.u.prn_stats.queue_lines, 3);
	ck_assert_uint_eq(M.u.prn_stats.queue_bytes, 1200);
	ck_assert_uint_eq(M.u.prn_stats.spool_lines, 10);
	ck_assert_uint_eq(M.u.prn_stats.spool_bytes, 4096);
	ck_assert_uint_eq(M.u.prn_stats.delivered, UINT64_MAX);
	ck_assert_uint_eq(M.u.prn_stats.retries, 2);
	ck_assert_uint_eq(M.u.prn_stats.rejected, 0);
	ck_assert_int_eq(IPC_PRN_STATS, 222);
}
END_TEST

START_TEST(rt_summary)
{
	static const char counts[] = "kind\tcredentials_files_access\t2\nimportance\tcritical\t2\n"
				     "importance\tlow\t1\n";
	static const char text[] = "Two reads of /etc/shadow \xc3\xa9t\xc3\xa9 \xe2\x80\x94 look.";
	int n = ipc_enc_summary(BUF, sizeof(BUF), 1700000000000ull, 1700000300000ull, 3,
				"gpt-4o-mini", counts, text, strlen(text));

	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(dec(BUF, n), 0);
	ck_assert_uint_eq(M.type, IPC_SUMMARY);
	ck_assert_int_eq(IPC_SUMMARY, 223);
	ck_assert_uint_eq(M.u.summary.start_ms, 1700000000000ull);
	ck_assert_uint_eq(M.u.summary.end_ms, 1700000300000ull);
	ck_assert_uint_eq(M.u.summary.detections, 3);
	ck_assert_str_eq(M.u.summary.model, "gpt-4o-mini");
	ck_assert_str_eq(M.u.summary.counts, counts);
	ck_assert_str_eq(M.u.summary.text, text);
	ck_assert_uint_eq(M.u.summary.text_len, strlen(text));
	/* no counts at all, a period of one instant */
	n = ipc_enc_summary(BUF, sizeof(BUF), 5, 5, 0, "m", "", "x", 1);
	ck_assert_int_eq(dec(BUF, n), 0);
	ck_assert_str_eq(M.u.summary.counts, "");
}
END_TEST

/* What the encoder refuses the decoder refuses too: one hand-built packet
 * per rule. */
static void summary_pkt(struct mb *b, uint64_t start, uint64_t end, const char *model,
			const char *counts, const char *text, size_t text_len)
{
	mb_hdr(b, 8, IPC_PROTO_VERSION, IPC_SUMMARY);
	msgpack_pack_uint64(&b->pk, start);
	msgpack_pack_uint64(&b->pk, end);
	msgpack_pack_uint64(&b->pk, 1);
	mb_str(b, model, strlen(model));
	mb_str(b, counts, strlen(counts));
	mb_str(b, text, text_len);
}

START_TEST(mal_summary)
{
	static const struct {
		uint64_t start, end;
		const char *model, *counts, *text, *why;
	} bad[] = {
		{2, 1, "m", "", "t", "ends before it starts"},
		{1, 2, "", "", "t", "bad model"},
		{1, 2, "a\tb", "", "t", "bad model"},
		{1, 2, "caf\xc3\xa9", "", "t", "bad model"},
		{1, 2, "m", "kind\tx\t1", "t", "bad counts"},		/* no line end */
		{1, 2, "m", "host\tx\t1\n", "t", "bad counts"},	/* unknown group */
		{1, 2, "m", "kind\tX\t1\n", "t", "bad counts"},	/* upper case */
		{1, 2, "m", "kind\t\t1\n", "t", "bad counts"},		/* empty name */
		{1, 2, "m", "kind\tx\t\n", "t", "bad counts"},		/* no number */
		{1, 2, "m", "kind\tx\t-1\n", "t", "bad counts"},
		{1, 2, "m", "kind\tx\t12345678901234567890\n", "t", "bad counts"},
		{1, 2, "m", "kind\tx\t1\n\n", "t", "bad counts"},
		{1, 2, "m", "", "", "empty, or not UTF-8"},
		{1, 2, "m", "", "a\xff", "empty, or not UTF-8"},
		{1, 2, "m", "", "\xc0\xaf", "empty, or not UTF-8"},	/* overlong '/' */
		{1, 2, "m", "", "\xed\xa0\x80", "empty, or not UTF-8"}, /* a surrogate */
	};
	char name[80];
	struct mb b;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		summary_pkt(&b, bad[i].start, bad[i].end, bad[i].model, bad[i].counts, bad[i].text,
			    strlen(bad[i].text));
		expect_reject(b.sb.data, b.sb.size, bad[i].why);
		mb_free(&b);
		ck_assert_int_eq(ipc_enc_summary(BUF, sizeof(BUF), bad[i].start, bad[i].end, 1,
						 bad[i].model, bad[i].counts, bad[i].text,
						 strlen(bad[i].text)),
				 -1);
	}
	/* a name of 64 bytes passes, 65 does not; the text's and model's caps */
	memset(name, 'a', 65);
	name[65] = '\0';
	ck_assert(!ipc_summary_counts_valid(NULL));
	snprintf(BIG, sizeof(BIG), "kind\t%.64s\t1\n", name);
	ck_assert(ipc_summary_counts_valid(BIG));
	snprintf(BIG, sizeof(BIG), "kind\t%.65s\t1\n", name);
	ck_assert(!ipc_summary_counts_valid(BIG));
	memset(BIG, 'y', IPC_SUMMARY_MAX + 1);
	ck_assert_int_gt(ipc_enc_summary(BUF, sizeof(BUF), 1, 2, 0, "m", "", BIG, IPC_SUMMARY_MAX),
			 0);
	ck_assert_int_eq(ipc_enc_summary(BUF, sizeof(BUF), 1, 2, 0, "m", "", BIG,
					 IPC_SUMMARY_MAX + 1),
			 -1);
	summary_pkt(&b, 1, 2, "m", "", BIG, IPC_SUMMARY_MAX + 1);
	expect_reject(b.sb.data, b.sb.size, "string too long");
	mb_free(&b);
	memset(BIG, 'm', IPC_MODEL_MAX + 1);
	BIG[IPC_MODEL_MAX + 1] = '\0';
	ck_assert_int_eq(ipc_enc_summary(BUF, sizeof(BUF), 1, 2, 0, BIG, "", "t", 1), -1);
	BIG[IPC_MODEL_MAX] = '\0';
	ck_assert_int_gt(ipc_enc_summary(BUF, sizeof(BUF), 1, 2, 0, BIG, "", "t", 1), 0);
}
END_TEST

START_TEST(rt_loss)
{
	static char cause[IPC_CAUSE_MAX + 1], detail[IPC_DETAIL_MAX + 1];
	int n = ipc_enc_loss(BUF, sizeof(BUF), "batch_rejected", UINT64_MAX, "HTTP 400: bad");

	ck_assert_int_eq(dec(BUF, n), 0);
	ck_assert_uint_eq(M.type, IPC_LOSS);
	ck_assert_str_eq(M.u.loss.cause, "batch_rejected");
	ck_assert_uint_eq(M.u.loss.count, UINT64_MAX);
	ck_assert_str_eq(M.u.loss.detail, "HTTP 400: bad");
	/* an empty detail, a one-byte cause, every allowed byte */
	n = ipc_enc_loss(BUF, sizeof(BUF), "x", 1, "");
	ck_assert_int_eq(dec(BUF, n), 0);
	ck_assert_str_eq(M.u.loss.cause, "x");
	ck_assert_str_eq(M.u.loss.detail, "");
	n = ipc_enc_loss(BUF, sizeof(BUF), "abcdefghijklmnopqrstuvwxyz_0189", 2, "d");
	ck_assert_int_eq(dec(BUF, n), 0);
	ck_assert_str_eq(M.u.loss.cause, "abcdefghijklmnopqrstuvwxyz_0189");
	/* both strings at their limits */
	memset(cause, 'c', IPC_CAUSE_MAX);
	memset(detail, 'd', IPC_DETAIL_MAX);
	n = ipc_enc_loss(BUF, sizeof(BUF), cause, 3, detail);
	ck_assert_int_eq(dec(BUF, n), 0);
	ck_assert_uint_eq(strlen(M.u.loss.cause), IPC_CAUSE_MAX);
	ck_assert_uint_eq(strlen(M.u.loss.detail), IPC_DETAIL_MAX);
}
END_TEST

START_TEST(rt_empty_strings)
{
	int n;

	n = ipc_enc_config(BUF, sizeof(BUF), 1, 2, 3, "", "");
	ck_assert_int_eq(dec(BUF, n), 0);
	ck_assert_str_eq(M.u.config.boot_id, "");
	ck_assert_str_eq(M.u.config.hostname, "");

	n = ipc_enc_print(BUF, sizeof(BUF), 1, "", 0);
	ck_assert_int_eq(dec(BUF, n), 0);
	ck_assert_str_eq(M.u.print.json, "");
	ck_assert_uint_eq(M.u.print.json_len, 0);

	n = ipc_enc_hello(BUF, sizeof(BUF), IPC_ROLE_PRINTER, "", 0, 0);
	ck_assert_int_eq(dec(BUF, n), 0);
	ck_assert_str_eq(M.u.hello.kind, "");

	n = ipc_enc_log(BUF, sizeof(BUF), IPC_LOG_ERR, "");
	ck_assert_int_eq(dec(BUF, n), 0);
	ck_assert_str_eq(M.u.log.text, "");

	n = ipc_enc_detection(BUF, sizeof(BUF), "", "", "", 0, "");
	ck_assert_int_eq(dec(BUF, n), 0);
	ck_assert_str_eq(M.u.detection.kind, "");
	ck_assert_str_eq(M.u.detection.dedup_key, "");
	ck_assert_str_eq(M.u.detection.json, "");
	ck_assert_uint_eq(M.u.detection.json_len, 0);
	ck_assert_str_eq(M.u.detection.limits, "");

	n = ipc_enc_recipe(BUF, sizeof(BUF), "", "", 0, 0);
	ck_assert_int_eq(dec(BUF, n), 0);
	ck_assert_str_eq(M.u.recipe.name, "");
	ck_assert_str_eq(M.u.recipe.data, "");
}
END_TEST

START_TEST(rt_max_strings)
{
	static char kind[IPC_NAME_MAX + 1], id[ID_MAX + 1], id2[ID_MAX + 1];
	int n;

	memset(kind, 'k', IPC_NAME_MAX);
	memset(id, 'i', ID_MAX);
	memset(id2, 'h', ID_MAX);

	n = ipc_enc_config(BUF, sizeof(BUF), 1, 2, 3, id, id2);
	ck_assert_int_eq(dec(BUF, n), 0);
	ck_assert_str_eq(M.u.config.boot_id, id);
	ck_assert_str_eq(M.u.config.hostname, id2);

	fill(IPC_MAX_STR, 'j');
	n = ipc_enc_print(BUF, sizeof(BUF), 1, BIG, IPC_MAX_STR);
	ck_assert_int_gt(n, IPC_MAX_STR);
	ck_assert_int_eq(dec(BUF, n), 0);
	ck_assert_uint_eq(M.u.print.json_len, IPC_MAX_STR);
	ck_assert_int_eq(memcmp(M.u.print.json, BIG, IPC_MAX_STR), 0);
	ck_assert_int_eq(M.u.print.json[IPC_MAX_STR], '\0');

	n = ipc_enc_hello(BUF, sizeof(BUF), IPC_ROLE_WORKER, kind, 1, 1);
	ck_assert_int_eq(dec(BUF, n), 0);
	ck_assert_str_eq(M.u.hello.kind, kind);

	n = ipc_enc_log(BUF, sizeof(BUF), IPC_LOG_INFO, BIG);
	ck_assert_int_eq(dec(BUF, n), 0);
	ck_assert_str_eq(M.u.log.text, BIG);

	/* the largest JSON with the longest names still fits IPC_MAX_MSG */
	n = ipc_enc_detection(BUF, sizeof(BUF), kind, id, BIG, IPC_MAX_STR, "");
	ck_assert_int_gt(n, 0);
	ck_assert_int_le(n, IPC_MAX_MSG);
	ck_assert_int_eq(dec(BUF, n), 0);
	ck_assert_str_eq(M.u.detection.kind, kind);
	ck_assert_str_eq(M.u.detection.dedup_key, id);
	ck_assert_uint_eq(M.u.detection.json_len, IPC_MAX_STR);
	ck_assert_int_eq(memcmp(M.u.detection.json, BIG, IPC_MAX_STR), 0);

	/* the longest limits field with a small JSON */
	{
		static char lim[IPC_LIMITS_MAX + 1];
		memset(lim, 'l', IPC_LIMITS_MAX);
		n = ipc_enc_detection(BUF, sizeof(BUF), kind, id, "{}", 2, lim);
		ck_assert_int_eq(dec(BUF, n), 0);
		ck_assert_str_eq(M.u.detection.limits, lim);
	}
}
END_TEST

/* ---- encoder limits ----------------------------------------------------- */

START_TEST(enc_cap)
{
	static char a[IPC_MAX_MSG], b[IPC_MAX_MSG];
	size_t t;

	for (t = 0; t < NTYPES; t++) {
		int n = enc_one(all_types[t], a, sizeof(a));
		size_t cap;

		ck_assert_int_gt(n, 0);
		for (cap = 0; cap < (size_t)n; cap++)
			ck_assert_msg(enc_one(all_types[t], b, cap) == -1, "%s fits in %zu < %d",
				      ipc_msg_name(all_types[t]), cap, n);
		ck_assert_int_eq(enc_one(all_types[t], b, n), n);
		ck_assert_int_eq(memcmp(a, b, n), 0);
	}
	ck_assert_int_eq(ipc_enc_ready(NULL, 100), -1);
}
END_TEST

START_TEST(enc_too_big)
{
	static char kind[IPC_NAME_MAX + 2], id[ID_MAX + 2];

	fill(IPC_MAX_STR + 1, 'j');
	ck_assert_int_eq(ipc_enc_print(BUF, sizeof(BUF), 1, BIG, IPC_MAX_STR + 1), -1);
	ck_assert_int_eq(ipc_enc_detection(BUF, sizeof(BUF), "k", "d", BIG, IPC_MAX_STR + 1, ""),
			 -1);
	ck_assert_int_eq(ipc_enc_detection(BUF, sizeof(BUF), "k", "d", "{}", 2,
					   fill(IPC_LIMITS_MAX + 1, 'l')), -1);
	ck_assert_int_eq(ipc_enc_recipe(BUF, sizeof(BUF), "n", fill(IPC_RECIPE_CHUNK + 1, 'y'),
					IPC_RECIPE_CHUNK + 1, 0), -1);
	ck_assert_int_eq(ipc_enc_recipe(BUF, sizeof(BUF), fill(IPC_PATH_MAX + 1, 'n'), "x", 1, 0),
			 -1);
	fill(IPC_MAX_STR + 1, 'j');
	ck_assert_int_eq(ipc_enc_log(BUF, sizeof(BUF), IPC_LOG_INFO, BIG), -1);

	memset(kind, 'k', IPC_NAME_MAX + 1);
	memset(id, 'i', ID_MAX + 1);
	ck_assert_int_eq(ipc_enc_hello(BUF, sizeof(BUF), IPC_ROLE_WORKER, kind, 1, 1), -1);
	ck_assert_int_eq(ipc_enc_detection(BUF, sizeof(BUF), kind, "d", "{}", 2, ""), -1);
	ck_assert_int_eq(ipc_enc_detection(BUF, sizeof(BUF), "k", id, "{}", 2, ""), -1);
	ck_assert_int_eq(ipc_enc_config(BUF, sizeof(BUF), 1, 1, 1, id, "h"), -1);
	ck_assert_int_eq(ipc_enc_config(BUF, sizeof(BUF), 1, 1, 1, "b", id), -1);

	/* a cap above IPC_MAX_MSG does not lift the limit */
	fill(IPC_MAX_STR, 'j');
	ck_assert_int_gt(ipc_enc_print(BUF, sizeof(BUF), 1, BIG, IPC_MAX_STR), IPC_MAX_STR);
}
END_TEST

START_TEST(enc_refuses_bad_values)
{
	/* NULL strings */
	ck_assert_int_eq(ipc_enc_config(BUF, sizeof(BUF), 1, 1, 1, NULL, "h"), -1);
	ck_assert_int_eq(ipc_enc_config(BUF, sizeof(BUF), 1, 1, 1, "b", NULL), -1);
	ck_assert_int_eq(ipc_enc_print(BUF, sizeof(BUF), 1, NULL, 0), -1);
	ck_assert_int_eq(ipc_enc_hello(BUF, sizeof(BUF), IPC_ROLE_WORKER, NULL, 1, 1), -1);
	ck_assert_int_eq(ipc_enc_log(BUF, sizeof(BUF), IPC_LOG_INFO, NULL), -1);
	ck_assert_int_eq(ipc_enc_detection(BUF, sizeof(BUF), NULL, "d", "{}", 2, ""), -1);
	ck_assert_int_eq(ipc_enc_detection(BUF, sizeof(BUF), "k", NULL, "{}", 2, ""), -1);
	ck_assert_int_eq(ipc_enc_detection(BUF, sizeof(BUF), "k", "d", NULL, 0, ""), -1);
	ck_assert_int_eq(ipc_enc_detection(BUF, sizeof(BUF), "k", "d", "{}", 2, NULL), -1);
	ck_assert_int_eq(ipc_enc_recipe(BUF, sizeof(BUF), NULL, "x", 1, 0), -1);
	ck_assert_int_eq(ipc_enc_recipe(BUF, sizeof(BUF), "n", NULL, 0, 0), -1);
	/* IPC_RECIPE flags: only the four known bits */
	ck_assert_int_eq(ipc_enc_recipe(BUF, sizeof(BUF), "n", "x", 1, 1u << 4), -1);
	ck_assert_int_eq(ipc_enc_recipe(BUF, sizeof(BUF), "n", "x", 1, UINT64_MAX), -1);
	ck_assert_int_eq(ipc_enc_recipe(BUF, sizeof(BUF), "n", "x\0y", 3, 0), -1);

	/* what the decoder would refuse */
	ck_assert_int_eq(ipc_enc_print(BUF, sizeof(BUF), 1, "{\0}", 3), -1);
	ck_assert_int_eq(ipc_enc_detection(BUF, sizeof(BUF), "k", "d", "{\0}", 3, ""), -1);
	ck_assert_int_eq(ipc_enc_hello(BUF, sizeof(BUF), 0, "k", 1, 1), -1);
	ck_assert_int_eq(ipc_enc_hello(BUF, sizeof(BUF), IPC_ROLE_WORKER | IPC_ROLE_PRINTER, "k",
					1, 1), -1);
	ck_assert_int_eq(ipc_enc_hello(BUF, sizeof(BUF), 16, "k", 1, 1), -1);
	ck_assert_int_eq(ipc_enc_status(BUF, sizeof(BUF), "{\0}", 3), -1);
	ck_assert_int_eq(ipc_enc_log(BUF, sizeof(BUF), IPC_LOG_DEBUG + 1, "x"), -1);

	/* IPC_LOSS: a cause of [a-z0-9_], 1..31 bytes; a count > 0; a detail
	 * of at most 255 bytes */
	static const char *const bad_causes[] = {
		"", "Spool", "spool-full", "spool full", "sp\xc3\xa9", "a.b", "x/", "\t",
		"abcdefghijklmnopqrstuvwxyz_01234", /* 32 bytes */
	};
	for (size_t i = 0; i < sizeof(bad_causes) / sizeof(bad_causes[0]); i++) {
		ck_assert_msg(ipc_enc_loss(BUF, sizeof(BUF), bad_causes[i], 1, "") == -1,
			      "cause '%s' accepted", bad_causes[i]);
		ck_assert(!ipc_loss_cause_valid(bad_causes[i]));
	}
	ck_assert(!ipc_loss_cause_valid(NULL));
	ck_assert_int_eq(ipc_enc_loss(BUF, sizeof(BUF), NULL, 1, ""), -1);
	ck_assert_int_eq(ipc_enc_loss(BUF, sizeof(BUF), "spool_full", 0, ""), -1);
	ck_assert_int_eq(ipc_enc_loss(BUF, sizeof(BUF), "spool_full", 1, NULL), -1);
	ck_assert_int_eq(ipc_enc_loss(BUF, sizeof(BUF), "spool_full", 1,
				      fill(IPC_DETAIL_MAX + 1, 'd')), -1);
	ck_assert_int_gt(ipc_enc_loss(BUF, sizeof(BUF), "spool_full", 1, fill(IPC_DETAIL_MAX, 'd')),
			 0);
}
END_TEST

/* ---- malformed input ---------------------------------------------------- */

START_TEST(mal_truncated)
{
	static char pkt[IPC_MAX_MSG];
	size_t t, k;
	int n;

	for (t = 0; t < NTYPES; t++) {
		n = enc_one(all_types[t], pkt, sizeof(pkt));
		ck_assert_int_gt(n, 0);
		for (k = 0; k < (size_t)n; k++)
			ck_assert_msg(dec(pkt, k) == -1, "%s: prefix %zu of %d accepted",
				      ipc_msg_name(all_types[t]), k, n);
	}
	/* long strings use str16 headers: cut everywhere in one too */
	fill(IPC_MAX_STR, 'j');
	n = ipc_enc_detection(pkt, sizeof(pkt), "kind", "key", BIG, IPC_MAX_STR, "6\t*\n");
	ck_assert_int_gt(n, 0);
	for (k = 0; k < (size_t)n; k++) {
		ck_assert_int_eq(dec(pkt, k), -1);
		check_sane(-1);
	}
	ck_assert_int_eq(dec(pkt, n), 0);
	expect_reject(pkt, 10, "truncated");
}
END_TEST

START_TEST(mal_trailing)
{
	size_t t;

	for (t = 0; t < NTYPES; t++) {
		int n = enc_one(all_types[t], BUF, sizeof(BUF));

		BUF[n] = 0;
		expect_reject(BUF, n + 1, "trailing bytes");
		/* a second complete message behind the first */
		memcpy(BUF + n, BUF, n);
		expect_reject(BUF, 2 * n, "trailing bytes");
	}
}
END_TEST

START_TEST(mal_version)
{
	char want[32];
	struct mb b;

	mb_hdr(&b, 2, 0, IPC_READY);
	expect_reject(b.sb.data, b.sb.size, "version 0");
	mb_free(&b);
	mb_hdr(&b, 2, IPC_PROTO_VERSION + 1, IPC_READY);
	snprintf(want, sizeof(want), "version %d", IPC_PROTO_VERSION + 1);
	expect_reject(b.sb.data, b.sb.size, want);
	mb_free(&b);
	/* protocol v1 (no limits field, no IPC_RECIPE), v2 (no IPC_LOSS),
	 * v3 (no IPC_STATUS, no IPC_PRN_STATS) and v4 (no IPC_SUMMARY) are
	 * refused too */
	ck_assert_int_eq(IPC_PROTO_VERSION, 5);
	mb_hdr(&b, 2, 4, IPC_READY);
	expect_reject(b.sb.data, b.sb.size, "version 4");
	mb_free(&b);
	mb_hdr(&b, 2, 3, IPC_READY);
	expect_reject(b.sb.data, b.sb.size, "version 3");
	mb_free(&b);
	mb_hdr(&b, 2, 1, IPC_READY);
	expect_reject(b.sb.data, b.sb.size, "version 1");
	mb_free(&b);
	mb_hdr(&b, 2, 2, IPC_READY);
	expect_reject(b.sb.data, b.sb.size, "version 2");
	mb_free(&b);
	mb_hdr(&b, 2, UINT64_MAX, IPC_READY);
	expect_reject(b.sb.data, b.sb.size, "version");
	mb_free(&b);

	mb_init(&b);
	msgpack_pack_array(&b.pk, 2);
	mb_str(&b, "1", 1);
	msgpack_pack_uint64(&b.pk, IPC_READY);
	expect_reject(b.sb.data, b.sb.size, "version: want uint");
	mb_free(&b);

	mb_init(&b);
	msgpack_pack_array(&b.pk, 2);
	msgpack_pack_int64(&b.pk, -1);
	msgpack_pack_uint64(&b.pk, IPC_READY);
	expect_reject(b.sb.data, b.sb.size, "version: want uint");
	mb_free(&b);
}
END_TEST

START_TEST(mal_unknown_type)
{
	static const uint64_t bad[] = { 0, 1, 99, 105, 199, 204, 212, 224, 999,
					(1ULL << 32) + IPC_READY, UINT64_MAX };
	struct mb b;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		mb_hdr(&b, 2, IPC_PROTO_VERSION, bad[i]);
		expect_reject(b.sb.data, b.sb.size, "unknown type");
		mb_free(&b);
	}
	mb_init(&b);
	msgpack_pack_array(&b.pk, 2);
	msgpack_pack_uint64(&b.pk, IPC_PROTO_VERSION);
	msgpack_pack_double(&b.pk, IPC_READY);
	expect_reject(b.sb.data, b.sb.size, "type: want uint");
	mb_free(&b);
}
END_TEST

START_TEST(mal_field_count)
{
	char want[64];
	struct mb b;
	size_t t;

	for (t = 0; t < NTYPES; t++) {
		uint32_t type = all_types[t], nf = strlen(sig_of(type));

		/* the builder itself makes valid messages */
		mb_msg(&b, type, nf, 0, V_UINT);
		ck_assert_msg(dec(b.sb.data, b.sb.size) == 0, "%s: %s", ipc_msg_name(type), ERR);
		mb_free(&b);

		snprintf(want, sizeof(want), "%s: want %u fields", ipc_msg_name(type), nf);
		if (nf > 0) {
			mb_msg(&b, type, nf - 1, 0, V_UINT);
			expect_reject(b.sb.data, b.sb.size, want);
			mb_free(&b);
		}
		mb_msg(&b, type, nf + 1, 0, V_UINT);
		expect_reject(b.sb.data, b.sb.size, want);
		mb_free(&b);
	}

	mb_init(&b);	/* [] */
	msgpack_pack_array(&b.pk, 0);
	expect_reject(b.sb.data, b.sb.size, "want version and type");
	mb_free(&b);
	mb_init(&b);	/* [1] */
	msgpack_pack_array(&b.pk, 1);
	msgpack_pack_uint64(&b.pk, IPC_PROTO_VERSION);
	expect_reject(b.sb.data, b.sb.size, "want version and type");
	mb_free(&b);
}
END_TEST

START_TEST(mal_field_types)
{
	char want[64];
	struct mb b;
	size_t t;
	uint32_t f;
	int v;

	for (t = 0; t < NTYPES; t++) {
		uint32_t type = all_types[t];
		const char *sig = sig_of(type);

		for (f = 1; f <= strlen(sig); f++) {
			for (v = 0; v < V_NVALS; v++) {
				if ((sig[f - 1] == 'u' && v == V_UINT) ||
				    (sig[f - 1] == 's' && v == V_STR))
					continue;
				mb_msg(&b, type, strlen(sig), f, v);
				if (v == V_MAP || v == V_ARRAY)
					snprintf(want, sizeof(want), "element %u: nested", f + 1);
				else
					snprintf(want, sizeof(want), "field %u of %s: want %s", f,
						 ipc_msg_name(type), sig[f - 1] == 'u' ? "uint" : "str");
				expect_reject(b.sb.data, b.sb.size, want);
				mb_free(&b);
			}
		}
	}
}
END_TEST

START_TEST(mal_bad_values)
{
	struct mb b;

	/* HELLO role must be exactly one role bit */
	static const uint64_t roles[] = { 0, 3, 5, 6, 7, 9, 16, 1ULL << 33 };
	size_t i;

	for (i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
		mb_hdr(&b, 6, IPC_PROTO_VERSION, IPC_HELLO);
		msgpack_pack_uint64(&b.pk, roles[i]);
		mb_str(&b, "k", 1);
		msgpack_pack_uint64(&b.pk, 1);
		msgpack_pack_uint64(&b.pk, 1);
		expect_reject(b.sb.data, b.sb.size, "bad role");
		mb_free(&b);
	}
	mb_hdr(&b, 4, IPC_PROTO_VERSION, IPC_LOG);
	msgpack_pack_uint64(&b.pk, IPC_LOG_DEBUG + 1);
	mb_str(&b, "x", 1);
	expect_reject(b.sb.data, b.sb.size, "bad level");
	mb_free(&b);

	/* IPC_RECIPE flags beyond the four known bits */
	static const uint64_t flags[] = { 1u << 4, 1u << 5, 0x1f, 1ULL << 63, UINT64_MAX };
	for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		mb_hdr(&b, 5, IPC_PROTO_VERSION, IPC_RECIPE);
		mb_str(&b, "n", 1);
		mb_str(&b, "x", 1);
		msgpack_pack_uint64(&b.pk, flags[i]);
		expect_reject(b.sb.data, b.sb.size, "field 3 of IPC_RECIPE: unknown flags");
		mb_free(&b);
	}
	for (i = 0; i < 16; i++) {
		mb_hdr(&b, 5, IPC_PROTO_VERSION, IPC_RECIPE);
		mb_str(&b, "n", 1);
		mb_str(&b, "x", 1);
		msgpack_pack_uint64(&b.pk, i);
		ck_assert_msg(dec(b.sb.data, b.sb.size) == 0, "flags %zu: %s", i, ERR);
		ck_assert_uint_eq(M.u.recipe.flags, i);
		mb_free(&b);
	}

	/* IPC_LOSS: the cause is a name ([a-z0-9_], 1..31 bytes), the count
	 * is not 0, whatever the sender's encoder did */
	static const char *const causes[] = { "", "Spool", "spool-full", "a b", "x\n", "\xff",
					      "\xc3\xa9t\xc3\xa9", "../x" };
	for (i = 0; i < sizeof(causes) / sizeof(causes[0]); i++) {
		mb_hdr(&b, 5, IPC_PROTO_VERSION, IPC_LOSS);
		mb_str(&b, causes[i], strlen(causes[i]));
		msgpack_pack_uint64(&b.pk, 1);
		mb_str(&b, "", 0);
		expect_reject(b.sb.data, b.sb.size, "field 1 of IPC_LOSS: bad cause");
		mb_free(&b);
	}
	mb_hdr(&b, 5, IPC_PROTO_VERSION, IPC_LOSS);
	mb_str(&b, "spool_full", 10);
	msgpack_pack_uint64(&b.pk, 0);
	mb_str(&b, "", 0);
	expect_reject(b.sb.data, b.sb.size, "field 2 of IPC_LOSS: count 0");
	mb_free(&b);
	/* a detail is free text: any byte but NUL */
	mb_hdr(&b, 5, IPC_PROTO_VERSION, IPC_LOSS);
	mb_str(&b, "spool_full", 10);
	msgpack_pack_uint64(&b.pk, 5);
	mb_str(&b, "\xff\n\x1b[31m", 7);
	ck_assert_msg(dec(b.sb.data, b.sb.size) == 0, "%s", ERR);
	ck_assert_uint_eq(M.u.loss.count, 5);
	mb_free(&b);
}
END_TEST

START_TEST(mal_embedded_nul)
{
	struct mb b;

	mb_hdr(&b, 6, IPC_PROTO_VERSION, IPC_DETECTION);
	mb_str(&b, "kind", 4);
	mb_str(&b, "key", 3);
	mb_str(&b, "{\"a\":\0\"b\"}", 10);
	mb_str(&b, "", 0);
	expect_reject(b.sb.data, b.sb.size, "field 3 of IPC_DETECTION: string holds a NUL");
	mb_free(&b);

	mb_hdr(&b, 6, IPC_PROTO_VERSION, IPC_DETECTION);
	mb_str(&b, "kind", 4);
	mb_str(&b, "key", 3);
	mb_str(&b, "{}", 2);
	mb_str(&b, "1\t/bin/x\0\n", 10);
	expect_reject(b.sb.data, b.sb.size, "field 4 of IPC_DETECTION: string holds a NUL");
	mb_free(&b);

	/* a recipe is text: a NUL in its bytes is refused on the wire */
	mb_hdr(&b, 5, IPC_PROTO_VERSION, IPC_RECIPE);
	mb_str(&b, "a.yaml", 6);
	mb_str(&b, "- kind: a\0", 10);
	msgpack_pack_uint64(&b.pk, 0);
	expect_reject(b.sb.data, b.sb.size, "field 2 of IPC_RECIPE: string holds a NUL");
	mb_free(&b);

	mb_hdr(&b, 6, IPC_PROTO_VERSION, IPC_HELLO);
	msgpack_pack_uint64(&b.pk, IPC_ROLE_WORKER);
	mb_str(&b, "\0", 1);
	msgpack_pack_uint64(&b.pk, 1);
	msgpack_pack_uint64(&b.pk, 1);
	expect_reject(b.sb.data, b.sb.size, "string holds a NUL");
	mb_free(&b);

	mb_hdr(&b, 4, IPC_PROTO_VERSION, IPC_LOG);
	msgpack_pack_uint64(&b.pk, 0);
	mb_str(&b, "abc\0", 4);
	expect_reject(b.sb.data, b.sb.size, "string holds a NUL");
	mb_free(&b);

	mb_hdr(&b, 5, IPC_PROTO_VERSION, IPC_LOSS);
	mb_str(&b, "spool\0full", 10);
	msgpack_pack_uint64(&b.pk, 1);
	mb_str(&b, "", 0);
	expect_reject(b.sb.data, b.sb.size, "field 1 of IPC_LOSS: string holds a NUL");
	mb_free(&b);
	mb_hdr(&b, 5, IPC_PROTO_VERSION, IPC_LOSS);
	mb_str(&b, "spool_full", 10);
	msgpack_pack_uint64(&b.pk, 1);
	mb_str(&b, "a\0b", 3);
	expect_reject(b.sb.data, b.sb.size, "field 3 of IPC_LOSS: string holds a NUL");
	mb_free(&b);
}
END_TEST

START_TEST(mal_long_strings)
{
	struct mb b;

	/* the decoder enforces the limits on its own, whatever the sender did */
	mb_hdr(&b, 6, IPC_PROTO_VERSION, IPC_HELLO);
	msgpack_pack_uint64(&b.pk, IPC_ROLE_WORKER);
	mb_str(&b, fill(IPC_NAME_MAX + 1, 'k'), IPC_NAME_MAX + 1);
	msgpack_pack_uint64(&b.pk, 1);
	msgpack_pack_uint64(&b.pk, 1);
	expect_reject(b.sb.data, b.sb.size, "field 2 of IPC_HELLO: string too long");
	mb_free(&b);

	mb_hdr(&b, 7, IPC_PROTO_VERSION, IPC_CONFIG);
	msgpack_pack_uint64(&b.pk, 1);
	msgpack_pack_uint64(&b.pk, 1);
	msgpack_pack_uint64(&b.pk, 1);
	mb_str(&b, "b", 1);
	mb_str(&b, fill(ID_MAX + 1, 'h'), ID_MAX + 1);
	expect_reject(b.sb.data, b.sb.size, "field 5 of IPC_CONFIG: string too long");
	mb_free(&b);

	mb_hdr(&b, 6, IPC_PROTO_VERSION, IPC_DETECTION);
	mb_str(&b, "k", 1);
	mb_str(&b, fill(ID_MAX + 1, 'd'), ID_MAX + 1);
	mb_str(&b, "{}", 2);
	mb_str(&b, "", 0);
	expect_reject(b.sb.data, b.sb.size, "field 2 of IPC_DETECTION: string too long");
	mb_free(&b);

	mb_hdr(&b, 6, IPC_PROTO_VERSION, IPC_DETECTION);
	mb_str(&b, "k", 1);
	mb_str(&b, "d", 1);
	mb_str(&b, "{}", 2);
	mb_str(&b, fill(IPC_LIMITS_MAX + 1, 'l'), IPC_LIMITS_MAX + 1);
	expect_reject(b.sb.data, b.sb.size, "field 4 of IPC_DETECTION: string too long");
	mb_free(&b);

	mb_hdr(&b, 5, IPC_PROTO_VERSION, IPC_RECIPE);
	mb_str(&b, fill(IPC_PATH_MAX + 1, 'n'), IPC_PATH_MAX + 1);
	mb_str(&b, "x", 1);
	msgpack_pack_uint64(&b.pk, 0);
	expect_reject(b.sb.data, b.sb.size, "field 1 of IPC_RECIPE: string too long");
	mb_free(&b);

	mb_hdr(&b, 5, IPC_PROTO_VERSION, IPC_RECIPE);
	mb_str(&b, "n", 1);
	mb_str(&b, fill(IPC_RECIPE_CHUNK + 1, 'y'), IPC_RECIPE_CHUNK + 1);
	msgpack_pack_uint64(&b.pk, 0);
	expect_reject(b.sb.data, b.sb.size, "field 2 of IPC_RECIPE: string too long");
	mb_free(&b);

	mb_hdr(&b, 4, IPC_PROTO_VERSION, IPC_PRINT);
	msgpack_pack_uint64(&b.pk, 1);
	mb_str(&b, fill(IPC_MAX_STR + 1, 'j'), IPC_MAX_STR + 1);
	expect_reject(b.sb.data, b.sb.size, "field 2 of IPC_PRINT: string too long");
	mb_free(&b);

	mb_hdr(&b, 5, IPC_PROTO_VERSION, IPC_LOSS);
	mb_str(&b, fill(IPC_CAUSE_MAX + 1, 'c'), IPC_CAUSE_MAX + 1);
	msgpack_pack_uint64(&b.pk, 1);
	mb_str(&b, "", 0);
	expect_reject(b.sb.data, b.sb.size, "field 1 of IPC_LOSS: string too long");
	mb_free(&b);
	mb_hdr(&b, 5, IPC_PROTO_VERSION, IPC_LOSS);
	mb_str(&b, "c", 1);
	msgpack_pack_uint64(&b.pk, 1);
	mb_str(&b, fill(IPC_DETAIL_MAX + 1, 'd'), IPC_DETAIL_MAX + 1);
	expect_reject(b.sb.data, b.sb.size, "field 3 of IPC_LOSS: string too long");
	mb_free(&b);
}
END_TEST

START_TEST(mal_oversize)
{
	struct mb b;
	int n = ipc_enc_ready(BUF, sizeof(BUF));

	ck_assert_int_gt(n, 0);
	expect_reject(BUF, IPC_MAX_MSG + 1, "oversize");
	expect_reject(BUF, SIZE_MAX, "oversize");

	/* a well-formed LOG of IPC_MAX_MSG + 1 bytes */
	mb_hdr(&b, 4, IPC_PROTO_VERSION, IPC_LOG);
	msgpack_pack_uint64(&b.pk, 0);
	mb_str(&b, fill(IPC_MAX_MSG - 7, 't'), IPC_MAX_MSG - 7);
	ck_assert_uint_eq(b.sb.size, IPC_MAX_MSG + 1);
	expect_reject(b.sb.data, b.sb.size, "oversize");
	mb_free(&b);
}
END_TEST

START_TEST(mal_not_array)
{
	struct mb b;

	mb_init(&b);
	msgpack_pack_map(&b.pk, 2);
	msgpack_pack_uint64(&b.pk, 0);
	msgpack_pack_uint64(&b.pk, IPC_PROTO_VERSION);
	msgpack_pack_uint64(&b.pk, 1);
	msgpack_pack_uint64(&b.pk, IPC_READY);
	expect_reject(b.sb.data, b.sb.size, "not an array");
	mb_free(&b);

	expect_reject("\xa2hi", 3, "not an array");		/* str */
	expect_reject("\x01", 1, "not an array");		/* fixint */
	expect_reject("\xc0", 1, "not an array");		/* nil */
	expect_reject("\xc1", 1, "not an array");		/* never used */
	expect_reject("\xdf\0\0\0\0", 5, "not an array");	/* map32 */
}
END_TEST

START_TEST(mal_empty)
{
	int n = ipc_enc_ready(BUF, sizeof(BUF));

	expect_reject(BUF, 0, "empty");
	expect_reject(NULL, 0, "empty");
	expect_reject(NULL, (size_t)n, "empty");
	ck_assert_int_eq(ipc_decode(BUF, n, NULL, ERR, sizeof(ERR)), -1);
}
END_TEST

START_TEST(mal_huge_counts)
{
	/* headers that claim far more than the packet holds must not make
	 * anyone allocate for them */
	static const unsigned char arr32[] = { 0xdd, 0xff, 0xff, 0xff, 0xff, 0x01, 0xcc, 0xc9 };
	static const unsigned char arr16[] = { 0xdc, 0xff, 0xff, 0x01 };
	static const unsigned char nested[] = { 0x93, 0x01, 0xcc, 0xc9,
						0xdd, 0xff, 0xff, 0xff, 0xff, 0x01 };
	static const unsigned char nmap[] = { 0x93, 0x01, 0xcc, 0xc9,
					      0xdf, 0xff, 0xff, 0xff, 0xff, 0x01 };
	static const unsigned char str32[] = { 0x93, 0x01, 0xcc, 0xc9,
					       0xdb, 0xff, 0xff, 0xff, 0xff, 'x' };
	static const unsigned char bin32[] = { 0x93, 0x01, 0xcc, 0xc9,
					       0xc6, 0x80, 0x00, 0x00, 0x00, 'x' };
	static const unsigned char ext32[] = { 0x93, 0x01, 0xcc, 0xc9,
					       0xc9, 0xff, 0xff, 0xff, 0xff, 0x01, 'x' };

	expect_reject(arr32, sizeof(arr32), "too many elements");
	expect_reject(arr16, sizeof(arr16), "too many elements");
	expect_reject(nested, sizeof(nested), "element 2: nested");
	expect_reject(nmap, sizeof(nmap), "element 2: nested");
	expect_reject(str32, sizeof(str32), "truncated");
	expect_reject(bin32, sizeof(bin32), "truncated");
	expect_reject(ext32, sizeof(ext32), "truncated");
	expect_reject("\xdd\0\0", 3, "truncated");
	expect_reject("\xdc\0", 2, "truncated");
}
END_TEST

START_TEST(mal_err_buffer)
{
	char small[4];
	struct mb b;

	mb_hdr(&b, 2, IPC_PROTO_VERSION, 999);
	memset(small, 'X', sizeof(small));
	ck_assert_int_eq(ipc_decode(b.sb.data, b.sb.size, &M, small, sizeof(small)), -1);
	ck_assert_str_eq(small, "unk");
	ck_assert_int_eq(ipc_decode(b.sb.data, b.sb.size, &M, NULL, 0), -1);
	ck_assert_int_eq(ipc_decode(b.sb.data, b.sb.size, &M, small, 0), -1);
	mb_free(&b);

	/* success clears a stale reason */
	strcpy(ERR, "stale");
	ck_assert_int_eq(ipc_decode(BUF, ipc_enc_ready(BUF, sizeof(BUF)), &M, ERR, sizeof(ERR)), 0);
	ck_assert_str_eq(ERR, "");
}
END_TEST

/* xorshift64*: deterministic, so a failure reproduces */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

START_TEST(fuzz_random_bytes)
{
	static unsigned char p[512];
	int i;
	size_t k, n;

	for (i = 0; i < 20000; i++) {
		n = rnd() % (sizeof(p) + 1);
		for (k = 0; k < n; k++)
			p[k] = rnd();
		/* half of them start like a message, to get past the first byte */
		if ((i & 1) && n >= 3) {
			p[0] = 0x90 | (rnd() % 8);
			p[1] = IPC_PROTO_VERSION;
			p[2] = 0xcc;
		}
		check_sane(dec(p, n));
	}
}
END_TEST

START_TEST(fuzz_bit_flips)
{
	static char pkt[1024];
	int i, j, n, accepted = 0;

	for (i = 0; i < 20000; i++) {
		n = enc_one(all_types[rnd() % NTYPES], pkt, sizeof(pkt));
		ck_assert_int_gt(n, 0);
		for (j = 1 + rnd() % 3; j > 0; j--)
			pkt[rnd() % n] ^= 1 << (rnd() % 8);
		n = rnd() % 8 == 0 ? (int)(rnd() % (n + 1)) : n;
		int rc = dec(pkt, n);
		check_sane(rc);
		accepted += rc == 0;
	}
	/* flips inside values leave valid messages: both paths were taken */
	ck_assert_int_gt(accepted, 0);
}
END_TEST

START_TEST(fuzz_structured)
{
	static const enum val vals[] = { V_UINT, V_UINT, V_STR, V_STR, V_NEG, V_FLOAT, V_NIL,
					 V_BIN, V_MAP, V_ARRAY, V_BOOL, V_EXT };
	struct mb b;
	int i, accepted = 0;
	uint32_t f, nf;

	/* well-framed arrays of random values under real headers */
	for (i = 0; i < 20000; i++) {
		uint32_t type = all_types[rnd() % NTYPES];

		nf = rnd() % 7;
		mb_hdr(&b, 2 + nf, rnd() % 16 ? IPC_PROTO_VERSION : rnd() % 3, type);
		for (f = 0; f < nf; f++) {
			if (rnd() % 4 == 0)
				mb_str(&b, "ab\0cdefghijklmnopqrstuvwxyz", rnd() % 28);
			else if (rnd() % 4 == 0)
				msgpack_pack_uint64(&b.pk, rnd() % 10);
			else
				mb_val(&b, vals[rnd() % (sizeof(vals) / sizeof(vals[0]))]);
		}
		int rc = dec(b.sb.data, b.sb.size);
		check_sane(rc);
		accepted += rc == 0;
		mb_free(&b);
	}
	ck_assert_int_gt(accepted, 0);
}
END_TEST

/* ---- role table --------------------------------------------------------- */

START_TEST(roles_table)
{
	const uint32_t S = IPC_ROLE_SUPERVISOR, W = IPC_ROLE_WORKER, P = IPC_ROLE_PRINTER;

	ck_assert(!ipc_msg_allowed(IPC_PRINTED, W));
	ck_assert(!ipc_msg_allowed(IPC_CONFIG, W));
	ck_assert(!ipc_msg_allowed(IPC_DETECTION, P));
	ck_assert(!ipc_msg_allowed(IPC_SNAPSHOT_DONE, P));
	ck_assert(ipc_msg_allowed(IPC_DETECTION, W));
	ck_assert(ipc_msg_allowed(IPC_PRINTED, P));
	/* a printer's loss report: printers only (a worker sending it is killed) */
	ck_assert(ipc_msg_allowed(IPC_LOSS, P));
	ck_assert(!ipc_msg_allowed(IPC_LOSS, W) && !ipc_msg_allowed(IPC_LOSS, S) &&
		  !ipc_msg_allowed(IPC_LOSS, W | P));
	ck_assert_int_eq(IPC_LOSS, 221);
	/* a printer's figures: printers only */
	ck_assert(ipc_msg_allowed(IPC_PRN_STATS, P));
	ck_assert(!ipc_msg_allowed(IPC_PRN_STATS, W) && !ipc_msg_allowed(IPC_PRN_STATS, S) &&
		  !ipc_msg_allowed(IPC_PRN_STATS, W | P));

	/* supervisor-only types, never from a child */
	ck_assert(ipc_msg_allowed(IPC_CONFIG, S) && ipc_msg_allowed(IPC_SNAPSHOT, S) &&
		  ipc_msg_allowed(IPC_PRINT, S));
	/* recipes go from the supervisor to the workers only */
	ck_assert(ipc_msg_allowed(IPC_RECIPE, S));
	ck_assert(!ipc_msg_allowed(IPC_RECIPE, W) && !ipc_msg_allowed(IPC_RECIPE, P));
	ck_assert(!ipc_msg_allowed(IPC_RECIPE, S | W));
	ck_assert(!ipc_msg_allowed(IPC_CONFIG, P) && !ipc_msg_allowed(IPC_SNAPSHOT, W) &&
		  !ipc_msg_allowed(IPC_SNAPSHOT, P) && !ipc_msg_allowed(IPC_PRINT, W) &&
		  !ipc_msg_allowed(IPC_PRINT, P));

	/* child types, never from the supervisor */
	ck_assert(ipc_msg_allowed(IPC_HELLO, W) && ipc_msg_allowed(IPC_HELLO, P));
	ck_assert(ipc_msg_allowed(IPC_READY, W) && ipc_msg_allowed(IPC_READY, P));
	ck_assert(ipc_msg_allowed(IPC_HEARTBEAT, W) && ipc_msg_allowed(IPC_HEARTBEAT, P));
	ck_assert(ipc_msg_allowed(IPC_LOG, W) && ipc_msg_allowed(IPC_LOG, P));
	ck_assert(!ipc_msg_allowed(IPC_HELLO, S) && !ipc_msg_allowed(IPC_READY, S) &&
		  !ipc_msg_allowed(IPC_HEARTBEAT, S) && !ipc_msg_allowed(IPC_LOG, S) &&
		  !ipc_msg_allowed(IPC_SNAPSHOT_DONE, S) && !ipc_msg_allowed(IPC_DETECTION, S) &&
		  !ipc_msg_allowed(IPC_PRINTED, S));

	/* the status document goes from the supervisor to the exporter only;
	 * the exporter sends nothing but the messages every child sends */
	{
		const uint32_t E = IPC_ROLE_EXPORTER;

		ck_assert_int_eq(IPC_STATUS, 104);
		ck_assert(ipc_msg_allowed(IPC_STATUS, S));
		ck_assert(!ipc_msg_allowed(IPC_STATUS, W) && !ipc_msg_allowed(IPC_STATUS, P) &&
			  !ipc_msg_allowed(IPC_STATUS, E) && !ipc_msg_allowed(IPC_STATUS, S | E));
		ck_assert(ipc_msg_allowed(IPC_HELLO, E) && ipc_msg_allowed(IPC_READY, E) &&
			  ipc_msg_allowed(IPC_HEARTBEAT, E) && ipc_msg_allowed(IPC_LOG, E));
		ck_assert(!ipc_msg_allowed(IPC_DETECTION, E) && !ipc_msg_allowed(IPC_PRINTED, E) &&
			  !ipc_msg_allowed(IPC_LOSS, E) && !ipc_msg_allowed(IPC_SNAPSHOT_DONE, E));
	}

	/* a summary comes from a printer only (the supervisor then takes it
	 * from the summary kind alone: supervisor/kinds.c) */
	ck_assert(ipc_msg_allowed(IPC_SUMMARY, P));
	ck_assert(!ipc_msg_allowed(IPC_SUMMARY, W) && !ipc_msg_allowed(IPC_SUMMARY, S) &&
		  !ipc_msg_allowed(IPC_SUMMARY, IPC_ROLE_EXPORTER));

	/* not a single role, or not a type */
	ck_assert(!ipc_msg_allowed(IPC_DETECTION, 0));
	ck_assert(!ipc_msg_allowed(IPC_PRINTED, W | P));
	ck_assert(!ipc_msg_allowed(IPC_CONFIG, S | W));
	ck_assert(!ipc_msg_allowed(IPC_LOG, 16));
	ck_assert(!ipc_msg_allowed(999, W));
	ck_assert(!ipc_msg_allowed(0, S));
}
END_TEST

START_TEST(roles_once)
{
	size_t t;

	for (t = 0; t < NTYPES; t++)
		ck_assert_int_eq(ipc_msg_once(all_types[t]),
				 all_types[t] == IPC_HELLO || all_types[t] == IPC_READY);
	ck_assert_int_eq(ipc_msg_once(999), 0);
}
END_TEST

/* ---- names -------------------------------------------------------------- */

START_TEST(names)
{
	size_t t;

	ck_assert_str_eq(ipc_msg_name(IPC_DETECTION), "IPC_DETECTION");
	ck_assert_str_eq(ipc_msg_name(IPC_SNAPSHOT_DONE), "IPC_SNAPSHOT_DONE");
	ck_assert_str_eq(ipc_msg_name(IPC_RECIPE), "IPC_RECIPE");
	ck_assert_int_eq(IPC_RECIPE, 103);
	ck_assert_str_eq(ipc_msg_name(999), "IPC_UNKNOWN");
	ck_assert_str_eq(ipc_msg_name(0), "IPC_UNKNOWN");
	for (t = 0; t < NTYPES; t++)
		ck_assert_str_ne(ipc_msg_name(all_types[t]), "IPC_UNKNOWN");
	ck_assert_str_eq(ipc_role_name(IPC_ROLE_SUPERVISOR), "supervisor");
	ck_assert_str_eq(ipc_role_name(IPC_ROLE_WORKER), "worker");
	ck_assert_str_eq(ipc_role_name(IPC_ROLE_PRINTER), "printer");
	ck_assert_str_eq(ipc_role_name(IPC_ROLE_EXPORTER), "exporter");
	ck_assert_str_eq(ipc_role_name(0), "unknown");
	ck_assert_str_eq(ipc_role_name(IPC_ROLE_WORKER | IPC_ROLE_PRINTER), "unknown");
}
END_TEST

/* ======================================================================== */

static void add(Suite *s, const char *name, const TTest *tests[], int timeout)
{
	TCase *tc = tcase_create(name);
	int i;

	if (timeout > 0)
		tcase_set_timeout(tc, timeout);
	for (i = 0; tests[i] != NULL; i++)
		tcase_add_test(tc, tests[i]);
	suite_add_tcase(s, tc);
}

static Suite *ipc_suite(void)
{
	Suite *s = suite_create("ipc");

	add(s, "roundtrip", (const TTest *[]){ rt_config, rt_snapshot, rt_print,
		rt_print_unterminated, rt_hello, rt_ready, rt_heartbeat, rt_log, rt_snapshot_done,
		rt_detection, rt_printed, rt_loss, rt_prn_stats, rt_summary, rt_recipe, rt_recipe_max, rt_empty_strings, rt_max_strings,
		NULL }, 0);
	/* protocol v2 budget: every detection field at its limit in one message */
	add(s, "detection_budget", (const TTest *[]){ rt_detection_max_fits, NULL }, 0);
	add(s, "encoder_limits", (const TTest *[]){ enc_cap, enc_too_big, enc_refuses_bad_values,
		NULL }, 0);
	add(s, "truncated", (const TTest *[]){ mal_truncated, NULL }, 120);
	add(s, "trailing", (const TTest *[]){ mal_trailing, NULL }, 0);
	add(s, "version", (const TTest *[]){ mal_version, NULL }, 0);
	add(s, "unknown_type", (const TTest *[]){ mal_unknown_type, NULL }, 0);
	add(s, "field_count", (const TTest *[]){ mal_field_count, NULL }, 0);
	add(s, "field_types", (const TTest *[]){ mal_field_types, NULL }, 0);
	add(s, "field_values", (const TTest *[]){ mal_bad_values, NULL }, 0);
	add(s, "summary_values", (const TTest *[]){ mal_summary, NULL }, 0);
	add(s, "embedded_nul", (const TTest *[]){ mal_embedded_nul, NULL }, 0);
	add(s, "long_strings", (const TTest *[]){ mal_long_strings, NULL }, 0);
	add(s, "oversize", (const TTest *[]){ mal_oversize, NULL }, 0);
	add(s, "not_array", (const TTest *[]){ mal_not_array, NULL }, 0);
	add(s, "empty", (const TTest *[]){ mal_empty, NULL }, 0);
	add(s, "huge_counts", (const TTest *[]){ mal_huge_counts, NULL }, 0);
	add(s, "err_buffer", (const TTest *[]){ mal_err_buffer, NULL }, 0);
	add(s, "random", (const TTest *[]){ fuzz_random_bytes, fuzz_bit_flips, fuzz_structured,
		NULL }, 300);
	add(s, "roles", (const TTest *[]){ roles_table, roles_once, NULL }, 0);
	add(s, "names", (const TTest *[]){ names, NULL }, 0);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(ipc_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
