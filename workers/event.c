/*
 * event.c - the JSON of a detection, built with jansson (never by hand).
 *
 * Invariants:
 *  - every string from the kernel is bounded by its record field and may
 *    hold any bytes: it is made well-formed UTF-8 (each invalid byte becomes
 *    U+FFFD) before json_stringn, so jansson never refuses, and never
 *    nulls, a field an attacker crafted with a strange file name.
 *  - the ancestry walk is bounded (JB_ANCESTRY_MAX) and stops at a cycle
 *    (a key seen before on the same walk); the background lists at most
 *    JB_BACKGROUND_MAX other files and flows and counts the rest.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <time.h>

#include <jansson.h>

#include "common/text.h"
#include "detect.h"
#include "ipc/msg.h"
#include "ipc/snapshot.h"
#include "rcp/recipe.h"
#include "rcp/task.h"
#include "workers/tamper.h"
#include "workers/cgpath.h"

#define JB_ANCESTRY_MAX 32
#define JB_BACKGROUND_MAX 16 /* other files, and other flows, per event */
#define JIBRIL_VERSION_STR "0.1.0"
/* the longest event: one IPC_DETECTION with room for its limits field */
#define JB_EVENT_MAX (IPC_MAX_STR - IPC_LIMITS_MAX - 1024)

/* Copy at most n bytes of s up to its NUL, replacing invalid UTF-8. */
static json_t *jstr(const char *s, size_t n)
{
	size_t len = strnlen(s, n), o = 0;
	char *out = malloc(len * 3 + 1);
	json_t *j;

	if (!out)
		return json_null();
	for (size_t i = 0; i < len;) {
		size_t need = jb_utf8_seq((const unsigned char *)s + i, len - i);
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
	size_t n = rcp_task_args(t, buf, sizeof(buf));

	return jstr(buf, n);
}

static json_t *jprocess(const struct wrk_event_ctx *ctx, const struct jb_task *t, int full)
{
	char id[17], start[64];
	json_t *o = json_object();

	rcp_process_id(ctx->boot_id, t->tgid, t->start_ticks, id);
	jb_iso_time(ctx->boot_real_ns + (int64_t)t->start_ticks * 10000000, start, sizeof(start));
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
		json_object_set_new(o, "io_uring", json_boolean(t->flags & JB_TASK_IO_URING));
	}
	return o;
}

/* Where the task runs: its cgroup v2 path (the snapshot's cgroup section,
 * resolved by the supervisor; null when it could not be) and the systemd
 * unit, container and pod the path names (cgpath.c; null when none). */
static void jcontext(json_t *o, const struct jb_snap_view *v, const struct jb_task *t)
{
	const struct jb_snap_cgroup *cg = v ? jb_snap_cgroup(v, t->cgroup_id) : NULL;
	struct jb_cgctx cx;

	if (!cg || jb_cgpath_parse(cg->path, cg->path_len, !!(cg->flags & JB_SNAP_CGROUP_CUT),
				   &cx) < 0)
		memset(&cx, 0, sizeof(cx));
	json_object_set_new(o, "cgroup", cg ? jstr(cg->path, cg->path_len) : json_null());
	json_object_set_new(o, "unit", cx.unit[0] ? json_string(cx.unit) : json_null());
	json_object_set_new(o, "container_id",
			    cx.container_id[0] ? json_string(cx.container_id) : json_null());
	json_object_set_new(o, "pod_uid", cx.pod_uid[0] ? json_string(cx.pod_uid) : json_null());
}

static json_t *jactions(uint32_t a)
{
	static const struct { uint32_t bit; const char *name; } names[] = {
		{JB_ACT_OPEN, "open"},	   {JB_ACT_READ, "read"},	{JB_ACT_WRITE, "write"},
		{JB_ACT_EXEC, "execve"},   {JB_ACT_CREATE, "create"},	{JB_ACT_UNLINK, "unlink"},
		{JB_ACT_RENAME, "rename"}, {JB_ACT_CHMOD, "chmod"},	{JB_ACT_TRUNCATE, "truncate"},
		{JB_ACT_MMAP, "mmap"},	   {JB_ACT_LINK, "link"},	{JB_ACT_CLOSE, "close"},
		{JB_ACT_FSYNC, "fsync"},   {JB_ACT_FLOCK, "flock"},	{JB_ACT_FASYNC, "fasync"},
		{JB_ACT_LLSEEK, "llseek"},
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

/* The task's environment at exec as the kernel kept it: the variables the
 * recipes name, "NAME=value" strings (env_truncated says some may be
 * missing). */
static json_t *jenv(const struct jb_task *t)
{
	json_t *arr = json_array();
#ifdef JB_ENV_LEN
	size_t n = t->env_len < JB_ENV_LEN ? t->env_len : JB_ENV_LEN;
	for (size_t i = 0; i < n;) {
		size_t l = strnlen(t->env + i, n - i);
		if (l)
			json_array_append_new(arr, jstr(t->env + i, l));
		i += l + 1;
	}
#else
	(void)t;
#endif
	return arr;
}

void wrk_dedup_key(const struct rcp_subject *s, uint64_t obj_key, char *out, size_t len)
{
	int n = snprintf(out, len, "%016llx/%016llx",
			 (unsigned long long)(s->task ? s->task->key : 0),
			 (unsigned long long)obj_key);

	if (s->tamper && n > 0 && (size_t)n < len)
		snprintf(out + n, len - (size_t)n, "/%016llx",
			 (unsigned long long)s->tamper->last_ns);
}

/* for tamper.c (workers/tamper.h) */
json_t *wrk_json_str(const char *s, size_t n) { return jstr(s, n); }
json_t *wrk_json_actions(uint32_t a) { return jactions(a); }

static json_t *jnames(const char *const *names, int n)
{
	json_t *arr = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(arr, jstr(names[i], 256));
	return arr;
}

/*
 * background: the task's ancestry (parent first, up to pid 1; bounded, stops
 * at a cycle) and, bounded, the other files it touched and flows it made
 * that this snapshot holds, newest first is not promised: snapshot order.
 */
static json_t *jbackground(const struct wrk_event_ctx *ctx, const struct rcp_subject *s,
			   const struct jb_snap_file *file)
{
	const struct jb_snap_view *v = s->v;
	const struct jb_task *t = s->task, *p;
	json_t *bg = json_object(), *anc = json_array(), *files = json_array(),
	       *flows = json_array();
	uint64_t seen[JB_ANCESTRY_MAX + 1];
	unsigned nfiles = 0, nflows = 0, more_files = 0, more_flows = 0;
	int depth = 0;

	p = t && t->parent_key ? jb_snap_task(v, t->parent_key) : NULL;
	seen[0] = t ? t->key : 0;
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
	for (uint32_t i = 0; t && i < v->nlinks; i++) {
		const struct jb_snap_link *l = &v->links[i];
		const struct jb_snap_file *f;
		if (l->key.task_key != t->key || (file && l->key.file_key == file->key))
			continue;
		if (nfiles == JB_BACKGROUND_MAX) {
			more_files++;
			continue;
		}
		if (!(f = jb_snap_file(v, l->key.file_key)))
			continue;
		json_array_append_new(files, json_pack("{s:o, s:o}", "path",
						       jstr(f->path, f->path_len), "actions",
						       jactions(l->link.actions)));
		nfiles++;
	}
	for (uint32_t i = 0; t && i < v->nflows; i++) {
		const struct jb_flow *fl = &v->flows[i];
		if (fl->task_key != t->key || fl == s->flow)
			continue;
		if (nflows == JB_BACKGROUND_MAX) {
			more_flows++;
			continue;
		}
		json_array_append_new(flows, jflow(fl));
		nflows++;
	}
	json_object_set_new(bg, "ancestry", anc);
	json_object_set_new(bg, "files", files);
	json_object_set_new(bg, "files_omitted", json_integer(more_files));
	json_object_set_new(bg, "flows", flows);
	json_object_set_new(bg, "flows_omitted", json_integer(more_flows));
	return bg;
}

char *wrk_event_json(const struct wrk_event_ctx *ctx, const struct recipe *r,
		     const struct rcp_subject *s, const struct jb_snap_file *file,
		     uint64_t event_ns)
{
	char uuid[JB_UUID_LEN + 1], now[64], when[64];
	struct timespec ts;
	json_t *ev = json_object(), *mitre = json_object();
	const struct jb_task *t = s->task, *p;
	char *out;

	clock_gettime(CLOCK_REALTIME, &ts);
	jb_iso_time((int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec, now, sizeof(now));
	jb_iso_time((int64_t)event_ns + ctx->mono_to_real_ns, when, sizeof(when));
	jb_uuid4(uuid);
	json_object_set_new(ev, "uuid", json_string(uuid));
	json_object_set_new(ev, "timestamp", json_string(now));
	json_object_set_new(ev, "event_time", json_string(when));
	json_object_set_new(ev, "kind", json_string(r->event_kind)); /* a variant's too */
	json_object_set_new(ev, "name", jstr(r->name, 1024));
	json_object_set_new(ev, "mechanism", json_string(rcp_mech_name(r->mech)));
	json_object_set_new(ev, "breed", json_string(r->breed));
	json_object_set_new(ev, "importance", json_string(r->importance));
	json_object_set_new(ev, "description", jstr(r->description, 4096));
	json_object_set_new(ev, "documentation", jstr(r->documentation, 4096));
	json_object_set_new(mitre, "tactic", jstr(r->tactic, 256));
	json_object_set_new(mitre, "technique", jstr(r->technique, 256));
	json_object_set_new(mitre, "subtechnique", jstr(r->subtechnique, 256));
	json_object_set_new(ev, "mitre", mitre);
	json_object_set_new(ev, "recipe", json_pack("{s:o, s:i, s:o}", "source",
						    jstr(r->source, 4096), "line", r->line,
						    "version", jstr(r->version, 64)));
	if (r->nreactions) { /* never silently: the reactions jibril did not run */
		json_t *nr = json_array();
		for (size_t i = 0; i < r->nreactions; i++)
			json_array_append_new(nr, json_string(r->reactions[i]));
		json_object_set_new(ev, "reactions_not_run", nr);
	}
	json_object_set_new(ev, "hostname", jstr(ctx->hostname, 256));

	if (t) {
		json_t *proc = jprocess(ctx, t, 1), *par = NULL;
		jcontext(proc, s->v, t);
		json_object_set_new(proc, "env", jenv(t));
		json_object_set_new(proc, "env_truncated", json_boolean(t->flags & JB_TASK_ENV_CUT));
		json_object_set_new(ev, "process", proc);
		p = t->parent_key ? jb_snap_task(s->v, t->parent_key) : NULL;
		if (p)
			jcontext(par = jprocess(ctx, p, 1), s->v, p);
		json_object_set_new(ev, "parent", par ? par : json_null());
	} else {
		json_object_set_new(ev, "process", json_null());
		json_object_set_new(ev, "parent", json_null());
	}
	if (file) {
		json_t *f = json_object();
		json_object_set_new(f, "path", jstr(file->path, file->path_len));
		json_object_set_new(f, "actions", jactions(s->actions));
		json_object_set_new(f, "path_truncated", json_boolean(file->flags & JB_FILE_PATH_CUT));
		json_object_set_new(ev, "file", f);
	}
	if (s->tamper)
		json_object_set_new(ev, "tamper", wrk_tamper_json(ctx, s->tamper));
	if (s->flow) {
		json_t *fl = jflow(s->flow);
		json_object_set_new(fl, "remote_names", jnames(s->names, s->nnames));
		json_object_set_new(ev, "flow", fl);
	}
	json_object_set_new(ev, "background", jbackground(ctx, s, file));
	json_object_set_new(ev, "agent", json_pack("{s:s}", "version", JIBRIL_VERSION_STR));
	out = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
	/* attacker-chosen strings (argv, exe and file names of control
	 * characters escape 6x) can make the event larger than one message
	 * carries: shed the background, most expendable first, never the
	 * detection itself */
	for (int step = 0; out && strlen(out) > JB_EVENT_MAX && step < 3; step++) {
		json_t *bg = json_object_get(ev, "background");
		json_t *anc = json_object_get(bg, "ancestry");
		free(out);
		if (step == 0) {
			json_object_set_new(bg, "files_omitted",
					    json_integer(json_integer_value(json_object_get(bg, "files_omitted")) +
							 (json_int_t)json_array_size(json_object_get(bg, "files"))));
			json_object_set_new(bg, "flows_omitted",
					    json_integer(json_integer_value(json_object_get(bg, "flows_omitted")) +
							 (json_int_t)json_array_size(json_object_get(bg, "flows"))));
			json_array_clear(json_object_get(bg, "files"));
			json_array_clear(json_object_get(bg, "flows"));
		} else if (step == 1) {
			for (size_t i = 0; i < json_array_size(anc); i++)
				json_object_del(json_array_get(anc, i), "args");
		} else {
			while (json_array_size(anc) > 4)
				json_array_remove(anc, json_array_size(anc) - 1);
		}
		json_object_set_new(bg, "truncated", json_true());
		out = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
	}
	json_decref(ev);
	return out;
}
