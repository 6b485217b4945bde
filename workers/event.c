/*
 * event.c - the JSON of a detection, built with jansson (never by hand).
 *
 * Invariants:
 *  - every string from the kernel is bounded by its record field and may
 *    hold any bytes: it is made well-formed UTF-8 (each invalid byte becomes
 *    U+FFFD) before json_stringn, so jansson never refuses, and never
 *    nulls, a field an attacker crafted with a strange file name.
 *  - the ancestry walk is bounded (JB_ANCESTRY_MAX) and stops at a cycle
 *    (a key seen before on the same walk).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <time.h>

#include <jansson.h>

#include "detect.h"
#include "ipc/snapshot.h"

#define JB_ANCESTRY_MAX 32
#define JIBRIL_VERSION_STR "0.1.0"

/* Length of the well-formed UTF-8 sequence at s (RFC 3629 table 3-7:
 * no overlong forms, no surrogates, nothing above U+10FFFF), 0 if none. */
static size_t utf8_seq(const unsigned char *s, size_t avail)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t need;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		need = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		need = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (avail < need || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t k = 2; k < need; k++)
		if (s[k] < 0x80 || s[k] > 0xbf)
			return 0;
	return need;
}

/* Copy at most n bytes of s up to its NUL, replacing invalid UTF-8. */
static json_t *jstr(const char *s, size_t n)
{
	size_t len = strnlen(s, n), o = 0;
	char *out = malloc(len * 3 + 1);
	json_t *j;

	if (!out)
		return json_null();
	for (size_t i = 0; i < len;) {
		size_t need = utf8_seq((const unsigned char *)s + i, len - i);
		if (need) {
			memcpy(out + o, s + i, need);
			o += need;
			i += need;
		} else {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		}
	}
	j = json_stringn(out, o);
	free(out);
	return j ? j : json_null();
}

static json_t *jargs(const struct jb_task *t)
{
	char buf[JB_ARGS_LEN + 1];
	size_t n = t->args_len < JB_ARGS_LEN ? t->args_len : JB_ARGS_LEN;

	memcpy(buf, t->args, n);
	/* argv is NUL separated: show it space separated, trailing NUL dropped */
	while (n && buf[n - 1] == '\0')
		n--;
	for (size_t i = 0; i < n; i++)
		if (buf[i] == '\0')
			buf[i] = ' ';
	buf[n] = '\0';
	return jstr(buf, n);
}

static void iso_time(int64_t real_ns, char *out, size_t len)
{
	time_t sec = (time_t)(real_ns / 1000000000);
	struct tm tm;

	gmtime_r(&sec, &tm);
	snprintf(out, len, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (int)((real_ns % 1000000000) / 1000));
}

void wrk_process_id(const char *boot_id, uint32_t pid, uint64_t start_ticks, char out[17])
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (const char *p = boot_id; *p; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
	h = jb_mix64(h ^ pid);
	h = jb_mix64(h ^ start_ticks);
	snprintf(out, 17, "%016llx", (unsigned long long)h);
}

static json_t *jprocess(const struct wrk_event_ctx *ctx, const struct jb_task *t, int full)
{
	char id[17], start[64];
	json_t *o = json_object();

	wrk_process_id(ctx->boot_id, t->tgid, t->start_ticks, id);
	iso_time(ctx->boot_real_ns + (int64_t)t->start_ticks * 10000000, start, sizeof(start));
	json_object_set_new(o, "id", json_string(id));
	json_object_set_new(o, "pid", json_integer(t->tgid));
	json_object_set_new(o, "exe", jstr(t->exe, sizeof(t->exe)));
	json_object_set_new(o, "args", jargs(t));
	json_object_set_new(o, "start", json_string(start));
	if (full) {
		json_object_set_new(o, "ppid", json_integer(t->ppid));
		json_object_set_new(o, "uid", json_integer(t->uid));
		json_object_set_new(o, "comm", jstr(t->comm, sizeof(t->comm)));
		json_object_set_new(o, "exited", json_boolean(t->flags & JB_TASK_EXITED));
		json_object_set_new(o, "args_truncated", json_boolean(t->flags & JB_TASK_ARGS_CUT));
	}
	return o;
}

static json_t *jactions(uint32_t a)
{
	static const struct { uint32_t bit; const char *name; } names[] = {
		{JB_ACT_OPEN, "open"},	   {JB_ACT_READ, "read"},	{JB_ACT_WRITE, "write"},
		{JB_ACT_EXEC, "execve"},   {JB_ACT_CREATE, "create"},	{JB_ACT_UNLINK, "unlink"},
		{JB_ACT_RENAME, "rename"}, {JB_ACT_CHMOD, "chmod"},	{JB_ACT_TRUNCATE, "truncate"},
	};
	json_t *arr = json_array();
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (a & names[i].bit)
			json_array_append_new(arr, json_string(names[i].name));
	return arr;
}

static json_t *jendpoint(int family, const uint8_t *addr, uint16_t port)
{
	char ip[INET6_ADDRSTRLEN] = "";
	json_t *o = json_object();

	inet_ntop(family == AF_INET6 ? AF_INET6 : AF_INET, addr, ip, sizeof(ip));
	json_object_set_new(o, "address", json_string(ip));
	json_object_set_new(o, "port", json_integer(port));
	return o;
}

static json_t *jflow(const struct jb_flow *f)
{
	json_t *o = json_object();
	const char *proto = f->proto == 6 ? "tcp" : f->proto == 17 ? "udp" : "other";

	json_object_set_new(o, "protocol", json_string(proto));
	json_object_set_new(o, "family", json_string(f->family == AF_INET6 ? "ipv6" : "ipv4"));
	json_object_set_new(o, "direction",
			    json_string(f->dir == JB_FLOW_INGRESS ? "ingress" : "egress"));
	json_object_set_new(o, "local", jendpoint(f->family, f->saddr, f->sport));
	json_object_set_new(o, "remote", jendpoint(f->family, f->daddr, f->dport));
	json_object_set_new(o, "count", json_integer(f->count));
	return o;
}

static void uuid4(char out[37])
{
	uint8_t b[16];

	if (getrandom(b, sizeof(b), 0) != sizeof(b))
		memset(b, 0, sizeof(b)); /* still unique enough with the seq; never fails here */
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
		 b[13], b[14], b[15]);
}

char *wrk_event_json(const struct wrk_event_ctx *ctx, const struct wrk_mechanism *mech,
		     const struct wrk_def *def, const struct jb_snap_view *v,
		     const struct jb_task *t, const struct jb_file *file, uint32_t actions,
		     const struct jb_flow *flow, uint64_t event_ns)
{
	char uuid[37], now[64], when[64];
	struct timespec ts;
	json_t *ev = json_object(), *mitre = json_object(), *anc = json_array();
	const struct jb_task *p;
	char *out;
	int depth = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	iso_time((int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec, now, sizeof(now));
	iso_time((int64_t)event_ns + ctx->mono_to_real_ns, when, sizeof(when));
	uuid4(uuid);
	json_object_set_new(ev, "uuid", json_string(uuid));
	json_object_set_new(ev, "timestamp", json_string(now));
	json_object_set_new(ev, "event_time", json_string(when));
	json_object_set_new(ev, "kind", json_string(def->kind));
	json_object_set_new(ev, "name", json_string(def->name));
	json_object_set_new(ev, "mechanism", json_string(mech->name));
	json_object_set_new(ev, "importance", json_string(def->importance));
	json_object_set_new(ev, "description", json_string(def->description));
	json_object_set_new(mitre, "tactic", json_string(def->tactic));
	json_object_set_new(mitre, "technique", json_string(def->technique));
	json_object_set_new(ev, "mitre", mitre);
	json_object_set_new(ev, "hostname", jstr(ctx->hostname, 256));

	if (t) {
		json_object_set_new(ev, "process", jprocess(ctx, t, 1));
		p = t->parent_key ? jb_snap_task(v, t->parent_key) : NULL;
		json_object_set_new(ev, "parent", p ? jprocess(ctx, p, 1) : json_null());
		/* ancestry: parent first, up to pid 1 */
		uint64_t seen[JB_ANCESTRY_MAX + 1];
		seen[0] = t->key;
		for (; p && depth < JB_ANCESTRY_MAX; depth++) {
			int cycle = 0;
			for (int k = 0; k <= depth; k++)
				cycle |= seen[k] == p->key;
			if (cycle)
				break;
			seen[depth + 1] = p->key;
			json_array_append_new(anc, jprocess(ctx, p, 0));
			if (p->tgid == 1 || !p->parent_key)
				break;
			p = jb_snap_task(v, p->parent_key);
		}
	} else {
		json_object_set_new(ev, "process", json_null());
		json_object_set_new(ev, "parent", json_null());
	}
	json_object_set_new(ev, "ancestry", anc);
	if (file) {
		json_t *f = json_object();
		json_object_set_new(f, "path", jstr(file->path, sizeof(file->path)));
		json_object_set_new(f, "actions", jactions(actions));
		json_object_set_new(f, "path_truncated", json_boolean(file->flags & JB_FILE_PATH_CUT));
		json_object_set_new(ev, "file", f);
	}
	if (flow)
		json_object_set_new(ev, "flow", jflow(flow));
	json_object_set_new(ev, "agent", json_pack("{s:s}", "version", JIBRIL_VERSION_STR));
	out = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(ev);
	return out;
}
