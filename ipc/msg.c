/*
 * msg.c - encoders, the strict decoder and the role table for the control
 * messages of msg.h.
 *
 * Invariants:
 * - Every message is at most IPC_MAX_MSG bytes. Encoders pack straight into
 *   the caller's buffer through a write callback that refuses to go past
 *   min(cap, IPC_MAX_MSG), so they never allocate and never overrun.
 * - Encoders refuse (return -1) anything the decoder would refuse: NULL or
 *   over-long strings, strings holding a NUL, a HELLO role that is not one
 *   role bit, an unknown log level, a LOSS cause outside [a-z0-9_] or a
 *   LOSS count of 0. What we send, the peer accepts.
 * - The decoder is strict and never crashes: exactly one msgpack array over
 *   exactly len bytes, [version, type, fields...] with exactly the fields
 *   the table lists for the type, uints only as positive integers, strings
 *   only as str, no NUL inside a string, per-field length limits. On error
 *   it returns -1, a reason in err, and *m zeroed up to strbuf.
 * - msgpack-c allocates a container's declared element count up front, so
 *   a five-byte "array32 of 2^32 elements" would ask for 64 GiB. frame_check()
 *   therefore walks the packet first and rejects a top-level element count
 *   above IPC_MAX_ELEMS and any nested container (the schema has none)
 *   before msgpack sees it; allocation stays O(IPC_MAX_ELEMS).
 * - Decoded strings are copied into m->strbuf, NUL terminated; their total
 *   (each length + 1) cannot exceed the packet length, hence strbuf.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "common/text.h"
#include "ipc/msg.h"

#define IPC_ID_MAX 256	  /* dedup_key, boot_id, hostname */
#define IPC_MAX_ELEMS 16  /* frame_check bound; every type needs far fewer */

#define ROLE_CHILD (IPC_ROLE_WORKER | IPC_ROLE_PRINTER | IPC_ROLE_EXPORTER)

/*
 * The schema and role table in one (OpenSSH mon_table): for each type its
 * field count, the roles that may send it, and whether it may be sent only
 * once per peer lifetime.
 */
static const struct msg_desc {
	uint32_t type;
	uint32_t nfields;
	uint32_t from;
	int once;
} msg_table[] = {
	{ IPC_CONFIG,        5, IPC_ROLE_SUPERVISOR, 0 },
	{ IPC_SNAPSHOT,      3, IPC_ROLE_SUPERVISOR, 0 },
	{ IPC_PRINT,         2, IPC_ROLE_SUPERVISOR, 0 },
	{ IPC_RECIPE,        3, IPC_ROLE_SUPERVISOR, 0 },
	{ IPC_STATUS,        1, IPC_ROLE_SUPERVISOR, 0 },
	{ IPC_HELLO,         4, ROLE_CHILD,          1 },
	{ IPC_READY,         0, ROLE_CHILD,          1 },
	{ IPC_HEARTBEAT,     2, ROLE_CHILD,          0 },
	{ IPC_LOG,           2, ROLE_CHILD,          0 },
	{ IPC_SNAPSHOT_DONE, 1, IPC_ROLE_WORKER,     0 },
	{ IPC_DETECTION,     4, IPC_ROLE_WORKER,     0 },
	{ IPC_PRINTED,       1, IPC_ROLE_PRINTER,    0 },
	{ IPC_LOSS,          3, IPC_ROLE_PRINTER,    0 },
	{ IPC_PRN_STATS,     7, IPC_ROLE_PRINTER,    0 },
	{ IPC_SUMMARY,       6, IPC_ROLE_PRINTER,    0 },
};

static const struct msg_desc *msg_lookup(uint64_t type)
{
	size_t i;

	for (i = 0; i < sizeof(msg_table) / sizeof(msg_table[0]); i++)
		if (msg_table[i].type == type)
			return &msg_table[i];
	return NULL;
}

static int role_valid(uint64_t role)
{
	return role == IPC_ROLE_SUPERVISOR || role == IPC_ROLE_WORKER ||
	       role == IPC_ROLE_PRINTER || role == IPC_ROLE_EXPORTER;
}

int ipc_msg_allowed(uint32_t type, uint32_t from_role)
{
	const struct msg_desc *d = msg_lookup(type);

	/* from_role must be one role, not a mask that happens to overlap */
	return d != NULL && role_valid(from_role) && (d->from & from_role) != 0;
}

int ipc_msg_once(uint32_t type)
{
	const struct msg_desc *d = msg_lookup(type);

	return d != NULL && d->once;
}

const char *ipc_msg_name(uint32_t type)
{
#define CASE(x) case x: return #x
	switch (type) {
	CASE(IPC_CONFIG);
	CASE(IPC_SNAPSHOT);
	CASE(IPC_PRINT);
	CASE(IPC_RECIPE);
	CASE(IPC_STATUS);
	CASE(IPC_HELLO);
	CASE(IPC_READY);
	CASE(IPC_HEARTBEAT);
	CASE(IPC_LOG);
	CASE(IPC_SNAPSHOT_DONE);
	CASE(IPC_DETECTION);
	CASE(IPC_PRINTED);
	CASE(IPC_LOSS);
	CASE(IPC_PRN_STATS);
	CASE(IPC_SUMMARY);
	default:
		return "IPC_UNKNOWN";
	}
#undef CASE
}

const char *ipc_role_name(uint32_t role)
{
	switch (role) {
	case IPC_ROLE_SUPERVISOR:
		return "supervisor";
	case IPC_ROLE_WORKER:
		return "worker";
	case IPC_ROLE_PRINTER:
		return "printer";
	case IPC_ROLE_EXPORTER:
		return "exporter";
	default:
		return "unknown";
	}
}

/* ------------------------------------------------------------------------
 * Encoders
 */

struct enc {
	msgpack_packer pk;
	char *buf;
	size_t len, cap;
	int failed;		/* sticky: once set, enc_end() returns -1 */
	uint32_t want, have;	/* fields the table lists / fields packed */
};

static int enc_write(void *data, const char *p, size_t n)
{
	struct enc *e = data;

	if (n > e->cap - e->len)
		return -1;
	if (n > 0)
		memcpy(e->buf + e->len, p, n);
	e->len += n;
	return 0;
}

static void enc_begin(struct enc *e, char *buf, size_t cap, uint32_t type)
{
	const struct msg_desc *d = msg_lookup(type);

	if (d == NULL)
		abort();	/* an encoder for a type not in the table */
	memset(e, 0, sizeof(*e));
	e->buf = buf;
	e->cap = cap < IPC_MAX_MSG ? cap : IPC_MAX_MSG;
	e->want = d->nfields;
	msgpack_packer_init(&e->pk, e, enc_write);
	if (buf == NULL ||
	    msgpack_pack_array(&e->pk, 2 + d->nfields) != 0 ||
	    msgpack_pack_uint32(&e->pk, IPC_PROTO_VERSION) != 0 ||
	    msgpack_pack_uint32(&e->pk, type) != 0)
		e->failed = 1;
}

static void put_u64(struct enc *e, uint64_t v)
{
	e->have++;
	if (!e->failed && msgpack_pack_uint64(&e->pk, v) != 0)
		e->failed = 1;
}

static void put_str(struct enc *e, const char *s, size_t n, size_t max)
{
	e->have++;
	if (e->failed)
		return;
	if (s == NULL || n > max || memchr(s, '\0', n) != NULL ||
	    msgpack_pack_str(&e->pk, n) != 0 ||
	    msgpack_pack_str_body(&e->pk, s, n) != 0)
		e->failed = 1;
}

static void put_cstr(struct enc *e, const char *s, size_t max)
{
	put_str(e, s, s != NULL ? strnlen(s, max + 1) : 0, max);
}

static int enc_end(struct enc *e)
{
	if (e->have != e->want)
		abort();	/* encoder disagrees with msg_table */
	return e->failed ? -1 : (int)e->len;
}

int ipc_enc_config(char *buf, size_t cap, uint64_t generation, uint64_t heartbeat_ms,
		   uint64_t fault_hooks, const char *boot_id, const char *hostname)
{
	struct enc e;

	enc_begin(&e, buf, cap, IPC_CONFIG);
	put_u64(&e, generation);
	put_u64(&e, heartbeat_ms);
	put_u64(&e, fault_hooks);
	put_cstr(&e, boot_id, IPC_ID_MAX);
	put_cstr(&e, hostname, IPC_ID_MAX);
	return enc_end(&e);
}

int ipc_enc_snapshot(char *buf, size_t cap, uint64_t seq, uint64_t slot, uint64_t since_ns)
{
	struct enc e;

	enc_begin(&e, buf, cap, IPC_SNAPSHOT);
	put_u64(&e, seq);
	put_u64(&e, slot);
	put_u64(&e, since_ns);
	return enc_end(&e);
}

int ipc_enc_print(char *buf, size_t cap, uint64_t seq, const char *json, size_t json_len)
{
	struct enc e;

	enc_begin(&e, buf, cap, IPC_PRINT);
	put_u64(&e, seq);
	put_str(&e, json, json_len, IPC_MAX_STR);
	return enc_end(&e);
}

int ipc_enc_hello(char *buf, size_t cap, uint64_t role, const char *kind, uint64_t generation,
		  uint64_t pid)
{
	struct enc e;

	enc_begin(&e, buf, cap, IPC_HELLO);
	if (!role_valid(role))
		e.failed = 1;
	put_u64(&e, role);
	put_cstr(&e, kind, IPC_NAME_MAX);
	put_u64(&e, generation);
	put_u64(&e, pid);
	return enc_end(&e);
}

int ipc_enc_ready(char *buf, size_t cap)
{
	struct enc e;

	enc_begin(&e, buf, cap, IPC_READY);
	return enc_end(&e);
}

int ipc_enc_heartbeat(char *buf, size_t cap, uint64_t processed, uint64_t detections)
{
	struct enc e;

	enc_begin(&e, buf, cap, IPC_HEARTBEAT);
	put_u64(&e, processed);
	put_u64(&e, detections);
	return enc_end(&e);
}

int ipc_enc_log(char *buf, size_t cap, uint64_t level, const char *text)
{
	struct enc e;

	enc_begin(&e, buf, cap, IPC_LOG);
	if (level > IPC_LOG_DEBUG)
		e.failed = 1;
	put_u64(&e, level);
	put_cstr(&e, text, IPC_MAX_STR);
	return enc_end(&e);
}

int ipc_enc_snapshot_done(char *buf, size_t cap, uint64_t seq)
{
	struct enc e;

	enc_begin(&e, buf, cap, IPC_SNAPSHOT_DONE);
	put_u64(&e, seq);
	return enc_end(&e);
}

int ipc_enc_detection(char *buf, size_t cap, const char *kind, const char *dedup_key,
		      const char *json, size_t json_len, const char *limits)
{
	struct enc e;

	enc_begin(&e, buf, cap, IPC_DETECTION);
	put_cstr(&e, kind, IPC_NAME_MAX);
	put_cstr(&e, dedup_key, IPC_ID_MAX);
	put_str(&e, json, json_len, IPC_MAX_STR);
	put_cstr(&e, limits, IPC_LIMITS_MAX);
	return enc_end(&e);
}

int ipc_enc_recipe(char *buf, size_t cap, const char *name, const char *data, size_t len,
		   uint64_t flags)
{
	struct enc e;

	enc_begin(&e, buf, cap, IPC_RECIPE);
	if (flags >> 4)
		e.failed = 1;
	put_cstr(&e, name, IPC_PATH_MAX);
	put_str(&e, data, len, IPC_RECIPE_CHUNK);
	put_u64(&e, flags);
	return enc_end(&e);
}

int ipc_enc_printed(char *buf, size_t cap, uint64_t seq)
{
	struct enc e;

	enc_begin(&e, buf, cap, IPC_PRINTED);
	put_u64(&e, seq);
	return enc_end(&e);
}

int ipc_enc_status(char *buf, size_t cap, const char *json, size_t json_len)
{
	struct enc e;

	enc_begin(&e, buf, cap, IPC_STATUS);
	put_str(&e, json, json_len, IPC_MAX_STR);
	return enc_end(&e);
}

int ipc_loss_cause_valid(const char *cause)
{
	size_t n = 0;

	if (cause == NULL)
		return 0;
	for (; cause[n]; n++)
		if (n == IPC_CAUSE_MAX ||
		    !((cause[n] >= 'a' && cause[n] <= 'z') || (cause[n] >= '0' && cause[n] <= '9') ||
		      cause[n] == '_'))
			return 0;
	return n > 0;
}

int ipc_enc_loss(char *buf, size_t cap, const char *cause, uint64_t count, const char *detail)
{
	struct enc e;

	enc_begin(&e, buf, cap, IPC_LOSS);
	if (!ipc_loss_cause_valid(cause) || count == 0)
		e.failed = 1;
	put_cstr(&e, cause, IPC_CAUSE_MAX);
	put_u64(&e, count);
	put_cstr(&e, detail, IPC_DETAIL_MAX);
	return enc_end(&e);
}

int ipc_enc_prn_stats(char *buf, size_t cap, uint64_t queue_lines, uint64_t queue_bytes,
		      uint64_t spool_lines, uint64_t spool_bytes, uint64_t delivered,
		      uint64_t retries, uint64_t rejected)
{
	struct enc e;

	enc_begin(&e, buf, cap, IPC_PRN_STATS);
	put_u64(&e, queue_lines);
	put_u64(&e, queue_bytes);
	put_u64(&e, spool_lines);
	put_u64(&e, spool_bytes);
	put_u64(&e, delivered);
	put_u64(&e, retries);
	put_u64(&e, rejected);
	return enc_end(&e);
}

int ipc_summary_counts_valid(const char *counts)
{
	const char *p = counts;

	if (counts == NULL)
		return 0;
	while (*p) {
		size_t n;

		if (!strncmp(p, "kind\t", 5))
			p += 5;
		else if (!strncmp(p, "importance\t", 11))
			p += 11;
		else
			return 0;
		n = strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789_.-");
		if (n < 1 || n > 64 || p[n] != '\t')
			return 0;
		p += n + 1;
		n = strspn(p, "0123456789");
		if (n < 1 || n > 19 || p[n] != '\n')
			return 0;
		p += n + 1;
	}
	return 1;
}

static int model_valid(const char *model)
{
	size_t n = 0;

	if (model == NULL)
		return 0;
	for (; model[n]; n++)
		if (n == IPC_MODEL_MAX || model[n] < 0x20 || model[n] > 0x7e)
			return 0;
	return n > 0;
}

static int text_valid(const char *text, size_t len)
{
	size_t i = 0, k;

	if (text == NULL || len == 0 || len > IPC_SUMMARY_MAX)
		return 0;
	while (i < len) {
		if (!(k = jb_utf8_seq((const unsigned char *)text + i, len - i)))
			return 0;
		i += k;
	}
	return 1;
}

int ipc_enc_summary(char *buf, size_t cap, uint64_t start_ms, uint64_t end_ms,
		    uint64_t detections, const char *model, const char *counts, const char *text,
		    size_t text_len)
{
	struct enc e;

	enc_begin(&e, buf, cap, IPC_SUMMARY);
	if (start_ms > end_ms || !model_valid(model) || !ipc_summary_counts_valid(counts) ||
	    !text_valid(text, text_len))
		e.failed = 1;
	put_u64(&e, start_ms);
	put_u64(&e, end_ms);
	put_u64(&e, detections);
	put_cstr(&e, model, IPC_MODEL_MAX);
	put_cstr(&e, counts, IPC_COUNTS_MAX);
	put_str(&e, text, text_len, IPC_SUMMARY_MAX);
	return enc_end(&e);
}

/* ------------------------------------------------------------------------
 * Decoder
 */

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static uint32_t be16(const uint8_t *p) { return (uint32_t)p[0] << 8 | p[1]; }
static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

enum { SC_OK, SC_TRUNC, SC_CONTAINER, SC_BAD };

/*
 * Size of the scalar msgpack object at p (n bytes available) in *size.
 * Containers are reported, not skipped: the schema has none.
 */
static int scalar_size(const uint8_t *p, size_t n, size_t *size)
{
	static const uint8_t fixed[256] = {
		/* total size of fixed-size formats; 0: variable or special */
		[0xc0] = 1, [0xc2] = 1, [0xc3] = 1,
		[0xca] = 5, [0xcb] = 9,
		[0xcc] = 2, [0xcd] = 3, [0xce] = 5, [0xcf] = 9,
		[0xd0] = 2, [0xd1] = 3, [0xd2] = 5, [0xd3] = 9,
		[0xd4] = 3, [0xd5] = 4, [0xd6] = 6, [0xd7] = 10, [0xd8] = 18,
	};
	uint8_t b = p[0];
	size_t hdr, body;

	if (b <= 0x7f || b >= 0xe0) {		/* positive / negative fixint */
		*size = 1;
		return SC_OK;
	}
	if (b <= 0x9f || (b >= 0xdc && b <= 0xdf))	/* fixmap, fixarray, map/array 16/32 */
		return SC_CONTAINER;
	if (b <= 0xbf) {			/* fixstr */
		hdr = 1;
		body = b & 0x1f;
	} else if (fixed[b] != 0) {
		hdr = fixed[b];
		body = 0;
	} else {
		switch (b) {
		case 0xc4: case 0xd9: hdr = 2; break;		/* bin8, str8 */
		case 0xc5: case 0xda: hdr = 3; break;		/* bin16, str16 */
		case 0xc6: case 0xdb: hdr = 5; break;		/* bin32, str32 */
		case 0xc7: hdr = 3; break;			/* ext8: len, type */
		case 0xc8: hdr = 4; break;			/* ext16 */
		case 0xc9: hdr = 6; break;			/* ext32 */
		default:
			return SC_BAD;				/* 0xc1, never used */
		}
		if (n < hdr)
			return SC_TRUNC;
		switch (b) {
		case 0xc4: case 0xd9: case 0xc7: body = p[1]; break;
		case 0xc5: case 0xda: case 0xc8: body = be16(p + 1); break;
		default: body = be32(p + 1); break;
		}
	}
	if (n < hdr || n - hdr < body)
		return SC_TRUNC;
	*size = hdr + body;
	return SC_OK;
}

/*
 * Walk the framing before msgpack-c does (see the top comment): a top-level
 * array of at most IPC_MAX_ELEMS scalars that covers exactly len bytes.
 */
static int frame_check(const uint8_t *p, size_t len, char *err, size_t errlen)
{
	size_t off, sz;
	uint32_t count, i;

	if (p[0] >= 0x90 && p[0] <= 0x9f) {
		count = p[0] & 0x0f;
		off = 1;
	} else if (p[0] == 0xdc) {
		if (len < 3)
			return fail(err, errlen, "truncated");
		count = be16(p + 1);
		off = 3;
	} else if (p[0] == 0xdd) {
		if (len < 5)
			return fail(err, errlen, "truncated");
		count = be32(p + 1);
		off = 5;
	} else
		return fail(err, errlen, "not an array");

	if (count > IPC_MAX_ELEMS)
		return fail(err, errlen, "too many elements (%u)", count);
	for (i = 0; i < count; i++) {
		if (off == len)
			return fail(err, errlen, "truncated");
		switch (scalar_size(p + off, len - off, &sz)) {
		case SC_OK:
			break;
		case SC_TRUNC:
			return fail(err, errlen, "truncated");
		case SC_CONTAINER:
			return fail(err, errlen, "element %u: nested array or map", i);
		default:
			return fail(err, errlen, "parse error");
		}
		off += sz;
	}
	if (off != len)
		return fail(err, errlen, "trailing bytes");
	return 0;
}

struct dec {
	const msgpack_object_array *a;
	const char *name;	/* message name, for errors */
	struct ipc_msg *m;
	size_t used;		/* bytes of m->strbuf in use */
	char *err;
	size_t errlen;
};

/* Typed getters (OpenSMTPD m_get_*): field i is element i + 1 of the array. */
static int get_u64(struct dec *d, uint32_t field, uint64_t *out)
{
	const msgpack_object *o;

	if (field + 1 >= d->a->size)
		return fail(d->err, d->errlen, "field %u of %s: missing", field, d->name);
	o = &d->a->ptr[field + 1];
	if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return fail(d->err, d->errlen, "field %u of %s: want uint", field, d->name);
	*out = o->via.u64;
	return 0;
}

static int get_str(struct dec *d, uint32_t field, size_t max, const char **out, size_t *lenp)
{
	const msgpack_object *o;
	size_t n;
	char *dst;

	if (field + 1 >= d->a->size)
		return fail(d->err, d->errlen, "field %u of %s: missing", field, d->name);
	o = &d->a->ptr[field + 1];
	if (o->type != MSGPACK_OBJECT_STR)
		return fail(d->err, d->errlen, "field %u of %s: want str", field, d->name);
	n = o->via.str.size;
	if (n > max)
		return fail(d->err, d->errlen, "field %u of %s: string too long (%zu > %zu)",
			    field, d->name, n, max);
	if (n > 0 && memchr(o->via.str.ptr, '\0', n) != NULL)
		return fail(d->err, d->errlen, "field %u of %s: string holds a NUL", field,
			    d->name);
	if (n + 1 > sizeof(d->m->strbuf) - d->used)	/* cannot happen, see top */
		return fail(d->err, d->errlen, "field %u of %s: no string space", field, d->name);
	dst = d->m->strbuf + d->used;
	if (n > 0)
		memcpy(dst, o->via.str.ptr, n);
	dst[n] = '\0';
	d->used += n + 1;
	*out = dst;
	if (lenp != NULL)
		*lenp = n;
	return 0;
}

static int decode_fields(struct dec *d, uint32_t type)
{
	struct ipc_msg *m = d->m;

	switch (type) {
	case IPC_CONFIG:
		return get_u64(d, 1, &m->u.config.generation) ||
		       get_u64(d, 2, &m->u.config.heartbeat_ms) ||
		       get_u64(d, 3, &m->u.config.fault_hooks) ||
		       get_str(d, 4, IPC_ID_MAX, &m->u.config.boot_id, NULL) ||
		       get_str(d, 5, IPC_ID_MAX, &m->u.config.hostname, NULL) ? -1 : 0;
	case IPC_SNAPSHOT:
		return get_u64(d, 1, &m->u.snapshot.seq) ||
		       get_u64(d, 2, &m->u.snapshot.slot) ||
		       get_u64(d, 3, &m->u.snapshot.since_ns) ? -1 : 0;
	case IPC_PRINT:
		return get_u64(d, 1, &m->u.print.seq) ||
		       get_str(d, 2, IPC_MAX_STR, &m->u.print.json, &m->u.print.json_len) ? -1 : 0;
	case IPC_HELLO:
		if (get_u64(d, 1, &m->u.hello.role) ||
		    get_str(d, 2, IPC_NAME_MAX, &m->u.hello.kind, NULL) ||
		    get_u64(d, 3, &m->u.hello.generation) ||
		    get_u64(d, 4, &m->u.hello.pid))
			return -1;
		if (!role_valid(m->u.hello.role))
			return fail(d->err, d->errlen, "field 1 of %s: bad role %llu", d->name,
				    (unsigned long long)m->u.hello.role);
		return 0;
	case IPC_READY:
		return 0;
	case IPC_HEARTBEAT:
		return get_u64(d, 1, &m->u.heartbeat.processed) ||
		       get_u64(d, 2, &m->u.heartbeat.detections) ? -1 : 0;
	case IPC_LOG:
		if (get_u64(d, 1, &m->u.log.level) ||
		    get_str(d, 2, IPC_MAX_STR, &m->u.log.text, NULL))
			return -1;
		if (m->u.log.level > IPC_LOG_DEBUG)
			return fail(d->err, d->errlen, "field 1 of %s: bad level %llu", d->name,
				    (unsigned long long)m->u.log.level);
		return 0;
	case IPC_SNAPSHOT_DONE:
		return get_u64(d, 1, &m->u.done.seq);
	case IPC_DETECTION:
		return get_str(d, 1, IPC_NAME_MAX, &m->u.detection.kind, NULL) ||
		       get_str(d, 2, IPC_ID_MAX, &m->u.detection.dedup_key, NULL) ||
		       get_str(d, 3, IPC_MAX_STR, &m->u.detection.json,
			       &m->u.detection.json_len) ||
		       get_str(d, 4, IPC_LIMITS_MAX, &m->u.detection.limits, NULL) ? -1 : 0;
	case IPC_RECIPE:
		if (get_str(d, 1, IPC_PATH_MAX, &m->u.recipe.name, NULL) ||
		    get_str(d, 2, IPC_RECIPE_CHUNK, &m->u.recipe.data, &m->u.recipe.data_len) ||
		    get_u64(d, 3, &m->u.recipe.flags))
			return -1;
		if (m->u.recipe.flags >> 4)
			return fail(d->err, d->errlen, "field 3 of %s: unknown flags %llu", d->name,
				    (unsigned long long)m->u.recipe.flags);
		return 0;
	case IPC_PRINTED:
		return get_u64(d, 1, &m->u.printed.seq);
	case IPC_STATUS:
		return get_str(d, 1, IPC_MAX_STR, &m->u.status.json, &m->u.status.json_len);
	case IPC_LOSS:
		if (get_str(d, 1, IPC_CAUSE_MAX, &m->u.loss.cause, NULL) ||
		    get_u64(d, 2, &m->u.loss.count) ||
		    get_str(d, 3, IPC_DETAIL_MAX, &m->u.loss.detail, NULL))
			return -1;
		if (!ipc_loss_cause_valid(m->u.loss.cause))
			return fail(d->err, d->errlen, "field 1 of %s: bad cause", d->name);
		if (m->u.loss.count == 0)
			return fail(d->err, d->errlen, "field 2 of %s: count 0", d->name);
		return 0;
	case IPC_PRN_STATS:
		return get_u64(d, 1, &m->u.prn_stats.queue_lines) ||
		       get_u64(d, 2, &m->u.prn_stats.queue_bytes) ||
		       get_u64(d, 3, &m->u.prn_stats.spool_lines) ||
		       get_u64(d, 4, &m->u.prn_stats.spool_bytes) ||
		       get_u64(d, 5, &m->u.prn_stats.delivered) ||
		       get_u64(d, 6, &m->u.prn_stats.retries) ||
		       get_u64(d, 7, &m->u.prn_stats.rejected) ? -1 : 0;
	case IPC_SUMMARY:
		if (get_u64(d, 1, &m->u.summary.start_ms) || get_u64(d, 2, &m->u.summary.end_ms) ||
		    get_u64(d, 3, &m->u.summary.detections) ||
		    get_str(d, 4, IPC_MODEL_MAX, &m->u.summary.model, NULL) ||
		    get_str(d, 5, IPC_COUNTS_MAX, &m->u.summary.counts, NULL) ||
		    get_str(d, 6, IPC_SUMMARY_MAX, &m->u.summary.text, &m->u.summary.text_len))
			return -1;
		if (m->u.summary.start_ms > m->u.summary.end_ms)
			return fail(d->err, d->errlen, "%s: the period ends before it starts", d->name);
		if (!model_valid(m->u.summary.model))
			return fail(d->err, d->errlen, "field 4 of %s: bad model", d->name);
		if (!ipc_summary_counts_valid(m->u.summary.counts))
			return fail(d->err, d->errlen, "field 5 of %s: bad counts", d->name);
		if (!text_valid(m->u.summary.text, m->u.summary.text_len))
			return fail(d->err, d->errlen, "field 6 of %s: empty, or not UTF-8", d->name);
		return 0;
	}
	abort();	/* a type in msg_table without a case here */
}

static int decode(const void *pkt, size_t len, struct ipc_msg *m, char *err, size_t errlen)
{
	msgpack_unpacked up;
	const msgpack_object_array *a;
	const struct msg_desc *desc;
	struct dec d;
	size_t off = 0;
	int rc = -1, r;

	if (pkt == NULL || len == 0)
		return fail(err, errlen, "empty");
	if (len > IPC_MAX_MSG)
		return fail(err, errlen, "oversize (%zu > %d)", len, IPC_MAX_MSG);
	if (frame_check(pkt, len, err, errlen) == -1)
		return -1;

	msgpack_unpacked_init(&up);
	r = msgpack_unpack_next(&up, pkt, len, &off);
	if (r == MSGPACK_UNPACK_CONTINUE) {
		fail(err, errlen, "truncated");
		goto out;
	}
	if (r != MSGPACK_UNPACK_SUCCESS) {
		fail(err, errlen, r == MSGPACK_UNPACK_NOMEM_ERROR ? "out of memory" : "parse error");
		goto out;
	}
	if (off != len) {
		fail(err, errlen, "trailing bytes");
		goto out;
	}
	if (up.data.type != MSGPACK_OBJECT_ARRAY) {
		fail(err, errlen, "not an array");
		goto out;
	}
	a = &up.data.via.array;
	if (a->size < 2) {
		fail(err, errlen, "%u elements: want version and type", a->size);
		goto out;
	}
	if (a->ptr[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
		fail(err, errlen, "version: want uint");
		goto out;
	}
	if (a->ptr[0].via.u64 != IPC_PROTO_VERSION) {
		fail(err, errlen, "version %llu, want %d",
		     (unsigned long long)a->ptr[0].via.u64, IPC_PROTO_VERSION);
		goto out;
	}
	if (a->ptr[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
		fail(err, errlen, "type: want uint");
		goto out;
	}
	if ((desc = msg_lookup(a->ptr[1].via.u64)) == NULL) {
		fail(err, errlen, "unknown type %llu", (unsigned long long)a->ptr[1].via.u64);
		goto out;
	}
	m->version = IPC_PROTO_VERSION;
	m->type = desc->type;
	if (a->size - 2 != desc->nfields) {
		fail(err, errlen, "%s: want %u fields, got %u", ipc_msg_name(desc->type),
		     desc->nfields, a->size - 2);
		goto out;
	}

	d.a = a;
	d.name = ipc_msg_name(desc->type);
	d.m = m;
	d.used = 0;
	d.err = err;
	d.errlen = errlen;
	rc = decode_fields(&d, desc->type);
out:
	msgpack_unpacked_destroy(&up);
	return rc;
}

int ipc_decode(const void *pkt, size_t len, struct ipc_msg *m, char *err, size_t errlen)
{
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (m == NULL)
		return fail(err, errlen, "no message");
	memset(m, 0, offsetof(struct ipc_msg, strbuf));
	m->strbuf[0] = '\0';
	if (decode(pkt, len, m, err, errlen) == -1) {
		/* leave nothing half-decoded behind */
		memset(m, 0, offsetof(struct ipc_msg, strbuf));
		return -1;
	}
	return 0;
}
