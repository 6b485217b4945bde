/*
 * check_detect.c - the workers' shared helpers (match.c) and the event JSON
 * (event.c), built from a recipe (workers/recipe.h) and a subject.
 *
 * Invariants checked: an event is valid JSON with every documented field
 * whatever bytes the kernel records hold (invalid UTF-8 becomes U+FFFD,
 * never a dropped or null field); its identity comes from the recipe; the
 * background ancestry (background.ancestry) is parent first, bounded, stops
 * at a cycle or a hole; background files and flows list the task's other
 * records, bounded, never the event's own; the process id is stable; a
 * tamper record's event names its class, operation and target in words
 * (tamper.c) and its dedup key separates distinct records and repeats.
 * Matching itself is tested in check_recipe.c.
 */
#include <arpa/inet.h>
#include <regex.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>

#include <check.h>
#include <linux/bpf.h>
#include <jansson.h>

#include "bpf/jibril.h"
#include "ipc/msg.h"
#include "ipc/snapshot.h"
#include "common/kind.h"
#include "workers/detect.h"
#include "workers/tamper.h"
#include "rcp/recipe.h"
#include "rcp/task.h"
#include "common/text.h"

/* ---- recipes the events are built from ------------------------------------ */
static const char recipes_yaml[] =
	"- kind: credentials_files_access\n"
	"  name: Credentials files access\n"
	"  version: \"1.2\"\n"
	"  description: A process read a credentials file\n"
	"  documentation: https://example.invalid/doc\n"
	"  mechanism: file_access\n"
	"  tactic: credential_access\n"
	"  technique: T1552 Unsecured Credentials\n"
	"  subtechnique: T1552.001 Credentials In Files\n"
	"  importance: high\n"
	"  file_actions: read\n"
	"  bases:\n"
	"    - {base: shadow, dir: /etc}\n"
	"- kind: binary_self_deletion\n"
	"  name: Binary self deletion\n"
	"  mechanism: file_access\n"
	"  tactic: defense_evasion\n"
	"  technique: T1070.004 File Deletion\n"
	"  importance: critical\n"
	"  file_actions: execve|unlink\n"
	"  file_actions_how: all\n"
	"  regex: '.'\n"
	"- kind: exec_from_unusual_dir\n"
	"  name: Execution from an unusual directory\n"
	"  mechanism: execution\n"
	"  tactic: execution\n"
	"  technique: T1059 Command and Scripting Interpreter\n"
	"  importance: medium\n"
	"  regex: '^/tmp/'\n"
	"- kind: cloud_metadata_access\n"
	"  name: Cloud metadata access\n"
	"  mechanism: network_peers\n"
	"  breed: remote_cidrs\n"
	"  tactic: discovery\n"
	"  technique: T1552.005 Cloud Instance Metadata API\n"
	"  importance: medium\n"
	"  remote_cidrs: [169.254.169.254/32]\n"
	"- kind: tamper_test\n"
	"  name: Tamper test\n"
	"  mechanism: tamper\n"
	"  tactic: defense_evasion\n"
	"  technique: T1562 Impair Defenses\n"
	"  importance: critical\n"
	"  tamper: any\n";

static struct rcp_set SET;

static const struct recipe *recipe(const char *kind)
{
	if (!SET.n) {
		struct rcp_source src = {"builtin:recipes/test.yaml", recipes_yaml,
					 sizeof(recipes_yaml) - 1};
		char err[512];
		ck_assert_msg(rcp_load(&SET, &src, 1, NULL, 0, NULL, NULL, err, sizeof(err)) == 0,
			      "%s", err);
	}
	const struct recipe *r = rcp_find(&SET, kind);
	ck_assert_msg(r != NULL, "no recipe %s", kind);
	return r;
}

/* ---------------------------------------------------------------------- */

START_TEST(mechanisms_by_name)
{
	const struct jb_kind *fa = jb_kind_find(jb_kinds, jb_nkinds, "file_access"),
			     *ex = jb_kind_find(jb_kinds, jb_nkinds, "execution"),
			     *nw = jb_kind_find(jb_kinds, jb_nkinds, "network"),
			     *so = jb_kind_find(jb_kinds, jb_nkinds, "stdout");

	ck_assert(fa && ex && nw && so);
	ck_assert_int_eq(fa->role, IPC_ROLE_WORKER);
	ck_assert_int_eq(ex->role, IPC_ROLE_WORKER);
	ck_assert_int_eq(nw->role, IPC_ROLE_WORKER);
	ck_assert_int_eq(so->role, IPC_ROLE_PRINTER); /* a kind, but not a mechanism */
	ck_assert_ptr_null(jb_kind_find(jb_kinds, jb_nkinds, "unknown"));
	ck_assert_ptr_null(jb_kind_find(jb_kinds, jb_nkinds, ""));
	ck_assert_ptr_null(jb_kind_find(jb_kinds, jb_nkinds, "File_access"));
	ck_assert_ptr_null(jb_kind_find(jb_kinds, jb_nkinds, "file_access "));
	ck_assert_ptr_null(jb_kind_find(jb_kinds, jb_nkinds, "network_peers"));
	ck_assert_int_eq(fa->source, JB_SRC_LINKS);
	ck_assert_int_eq(ex->source, JB_SRC_EXECS);
	ck_assert_int_eq(nw->source, JB_SRC_FLOWS);
	/* that each mechanism runs in exactly one worker kind is check_procs'
	 * kind_table_is_sound; here: which one */
	ck_assert(fa->mechs & (1u << RCP_FILE_ACCESS));
	ck_assert(ex->mechs & (1u << RCP_EXECUTION) && ex->mechs & (1u << RCP_ENV_VARS));
	ck_assert(nw->mechs & (1u << RCP_NETWORK_PEERS));
	const struct jb_kind *tk = jb_kind_find(jb_kinds, jb_nkinds, "tamper");
	ck_assert(tk && tk->role == IPC_ROLE_WORKER && tk->source == JB_SRC_TAMPER);
	ck_assert_uint_eq(tk->mechs, 1u << RCP_TAMPER);
}
END_TEST

START_TEST(helpers_basename)
{
	ck_assert_str_eq(jb_basename("/usr/bin/ls"), "ls");
	ck_assert_str_eq(jb_basename("ls"), "ls");
	ck_assert_str_eq(jb_basename("/ls"), "ls");
	ck_assert_str_eq(jb_basename("/"), "");
	ck_assert_str_eq(jb_basename("/a/b/"), "");
	ck_assert_str_eq(jb_basename(""), "");
	ck_assert_str_eq(jb_basename("/tmp/.x"), ".x");
	ck_assert_str_eq(jb_basename("a/b"), "b");
	{
		const char *p = "/x/y/z";
		ck_assert_ptr_eq(jb_basename(p), p + 5); /* points into the input */
	}
}
END_TEST

/* ---------------------------------------------------------------------- */

/* A hand-built snapshot view: pid 1 <- grandparent <- parent <- child,
 * task keys chosen so that the array sorted by key is not in chain order. */
#define K_INIT 10
#define K_GP 70
#define K_PARENT 30
#define K_CHILD 50

#define NFILES 24
static struct jb_task tasks[8];
static struct jb_file files[NFILES]; /* as the kernel records them: snap_files() */
static struct jb_snap_link links[NFILES + 4];
static struct jb_flow flows[24];
static struct jb_snap_view view;

static void set_task(struct jb_task *t, uint64_t key, uint64_t parent_key, uint32_t tgid,
		     uint32_t ppid, const char *comm, const char *exe, const char *args,
		     size_t args_len)
{
	memset(t, 0, sizeof(*t));
	t->key = key;
	t->parent_key = parent_key;
	t->tgid = tgid;
	t->ppid = ppid;
	t->uid = 1000 + tgid;
	t->start_ticks = 100 * tgid;
	strncpy(t->comm, comm, sizeof(t->comm));
	strncpy(t->exe, exe, sizeof(t->exe));
	memcpy(t->args, args, args_len);
	t->args_len = (uint32_t)args_len;
}

static int cmp_task(const void *a, const void *b)
{
	uint64_t x = ((const struct jb_task *)a)->key, y = ((const struct jb_task *)b)->key;
	return x < y ? -1 : x > y;
}

static struct jb_flow make_flow(int family, const char *daddr, uint16_t dport, int dir)
{
	struct jb_flow f;

	memset(&f, 0, sizeof(f));
	f.key = 900;
	f.task_key = K_CHILD;
	f.family = (uint16_t)family;
	f.proto = 6;
	f.dir = (uint8_t)dir;
	f.dport = dport;
	f.sport = 40000;
	f.count = 1;
	ck_assert_int_eq(inet_pton(family, daddr, f.daddr), 1);
	return f;
}

/* Build the chain, one file (/etc/shadow, key 5) and no links or flows;
 * returns the child. */
static const struct jb_task *build_view(void)
{
	set_task(&tasks[0], K_CHILD, K_PARENT, 400, 300, "cat", "/usr/bin/cat",
		 "cat\0/etc/shadow\0", 16);
	set_task(&tasks[1], K_PARENT, K_GP, 300, 200, "bash", "/usr/bin/bash", "bash\0-i\0", 8);
	set_task(&tasks[2], K_GP, K_INIT, 200, 1, "sshd", "/usr/sbin/sshd", "sshd\0-D\0", 8);
	set_task(&tasks[3], K_INIT, 0, 1, 0, "systemd", "/usr/lib/systemd/systemd",
		 "/sbin/init\0", 11);
	qsort(tasks, 4, sizeof(tasks[0]), cmp_task);
	memset(files, 0, sizeof(files));
	files[0].key = 5;
	strcpy(files[0].path, "/etc/shadow");
	memset(links, 0, sizeof(links));
	memset(flows, 0, sizeof(flows));
	memset(&view, 0, sizeof(view));
	view.seq = 1;
	view.tasks = tasks;
	view.ntasks = 4;
	view.nfiles = 1;
	view.links = links;
	view.flows = flows;
	ck_assert_ptr_nonnull(jb_snap_task(&view, K_CHILD));
	return jb_snap_task(&view, K_CHILD);
}

/* n more files (keys 100.., sorted) each linked to task_key; link 0 links
 * the event's own file /etc/shadow to the child. */
static void add_files(int n, uint64_t task_key)
{
	links[0].key.task_key = K_CHILD;
	links[0].key.file_key = 5;
	links[0].link.actions = JB_ACT_OPEN | JB_ACT_READ;
	for (int i = 0; i < n; i++) {
		struct jb_file *f = &files[1 + i];
		f->key = 100 + (uint64_t)i;
		snprintf(f->path, sizeof(f->path), "/var/tmp/f%02d", i);
		links[1 + i].key.task_key = task_key;
		links[1 + i].key.file_key = f->key;
		links[1 + i].link.actions = JB_ACT_WRITE | JB_ACT_CREATE;
	}
	view.nfiles = 1 + (uint32_t)n;
	view.nlinks = 1 + (uint32_t)n;
}

/* The view's files section: files[0..view.nfiles) written into a real
 * snapshot slot (a new seq each time, so a test may edit the kernel records
 * between events). Returns f as the snapshot carries it. */
static const struct jb_snap_file *snap_files(const struct jb_file *f)
{
	static struct jb_snap_region region;
	static uint64_t seq;
	struct jb_snap_slot_hdr *h;
	struct jb_task *t;
	struct jb_snap_link *l;
	struct jb_flow *fl;
	struct jb_snap_view sv;

	if (!region.base)
		ck_assert_int_eq(jb_snap_create_dns(&region, 1, 0, NFILES, 0, 0, 0), 0);
	h = jb_snap_begin(&region, 0, ++seq, &t, &l, &fl);
	for (uint32_t i = 0; i < view.nfiles; i++)
		ck_assert_int_eq(jb_snap_add_file(&region, h, &files[i]), 0);
	jb_snap_publish(h, 0, 0, 0);
	ck_assert_int_eq(jb_snap_view(region.hdr, region.size, 0, seq, &sv), 0);
	view.file_ix = sv.file_ix;
	view.file_pool = sv.file_pool;
	view.file_pool_len = sv.file_pool_len;
	return f ? jb_snap_file(&view, f->key) : NULL;
}

static struct jb_task *task_mut(uint64_t key)
{
	return (struct jb_task *)jb_snap_task(&view, key);
}

/* 2024-01-01T00:00:00Z; event at 2024-01-02T03:04:05.123456Z */
#define BOOT_REAL_NS 1704067200000000000LL
#define EVENT_NS 123456789ULL
#define MONO_TO_REAL (1704164645000000000LL - 789LL)

static const struct wrk_event_ctx CTX = {
	.hostname = "host-1",
	.boot_id = "7c4b2d0e-1111-2222-3333-444455556666",
	.mono_to_real_ns = MONO_TO_REAL,
	.boot_real_ns = BOOT_REAL_NS,
};

/* Build one event and parse it back; the caller json_decref()s. */
static json_t *event_names(const char *kind, const struct jb_task *t, const struct jb_file *f,
			   uint32_t actions, const struct jb_flow *fl, const char *const *names,
			   int nnames)
{
	const struct jb_snap_file *sf = snap_files(f);
	struct rcp_subject s = {.v = &view, .task = t, .path = sf ? sf->path : NULL,
				.actions = actions, .flow = fl, .names = names, .nnames = nnames};
	char *out = wrk_event_json(&CTX, recipe(kind), &s, sf, EVENT_NS);
	json_error_t err;
	json_t *j;

	ck_assert_ptr_nonnull(out);
	ck_assert_ptr_null(strchr(out, '\n'));
	j = json_loads(out, JSON_REJECT_DUPLICATES, &err);
	ck_assert_msg(j != NULL, "invalid JSON (%s): %s", err.text, out);
	ck_assert(json_is_object(j));
	free(out);
	return j;
}

static json_t *event(const char *kind, const struct jb_task *t, const struct jb_file *f,
		     uint32_t actions, const struct jb_flow *fl)
{
	return event_names(kind, t, f, actions, fl, NULL, 0);
}

static json_t *bg_of(json_t *j)
{
	json_t *bg = json_object_get(j, "background");
	ck_assert_msg(json_is_object(bg), "no background object");
	return bg;
}

static json_t *anc_of(json_t *j)
{
	json_t *a = json_object_get(bg_of(j), "ancestry");
	ck_assert_msg(json_is_array(a), "background.ancestry is not an array");
	return a;
}

static const char *str_at(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	ck_assert_msg(json_is_string(v), "'%s' is not a string", key);
	return json_string_value(v);
}

static json_int_t int_at(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	ck_assert_msg(json_is_integer(v), "'%s' is not an integer", key);
	return json_integer_value(v);
}

static int matches(const char *re, const char *s)
{
	regex_t r;
	int rc;

	ck_assert_int_eq(regcomp(&r, re, REG_EXTENDED | REG_NOSUB), 0);
	rc = regexec(&r, s, 0, NULL, 0);
	regfree(&r);
	return rc == 0;
}

#define UUID4_RE "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
#define ISO_RE "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6}Z$"

static void check_process(json_t *p, const struct jb_task *t, int full)
{
	char id[17];

	ck_assert_msg(json_is_object(p), "process is not an object");
	rcp_process_id(CTX.boot_id, t->tgid, t->start_ticks, id);
	ck_assert_str_eq(str_at(p, "id"), id);
	ck_assert_int_eq(int_at(p, "pid"), t->tgid);
	ck_assert_str_eq(str_at(p, "exe"), t->exe);
	ck_assert(json_is_string(json_object_get(p, "args")));
	ck_assert(matches(ISO_RE, str_at(p, "start")));
	if (full) {
		ck_assert_int_eq(int_at(p, "ppid"), t->ppid);
		ck_assert_int_eq(int_at(p, "uid"), t->uid);
		ck_assert_str_eq(str_at(p, "comm"), t->comm);
		ck_assert(json_is_boolean(json_object_get(p, "exited")));
	} else {
		ck_assert_ptr_null(json_object_get(p, "ppid"));
	}
}

START_TEST(event_file_fields)
{
	const struct jb_task *child = build_view();
	json_t *j = event("credentials_files_access", child, &files[0], JB_ACT_OPEN | JB_ACT_READ,
			  NULL);
	const struct recipe *r = recipe("credentials_files_access");
	json_t *mitre, *proc, *par, *anc, *f, *acts, *rc, *bg;

	ck_assert(matches(UUID4_RE, str_at(j, "uuid")));
	ck_assert(matches(ISO_RE, str_at(j, "timestamp")));
	ck_assert_str_eq(str_at(j, "event_time"), "2024-01-02T03:04:05.123456Z");
	ck_assert_str_eq(str_at(j, "kind"), "credentials_files_access");
	ck_assert_str_eq(str_at(j, "name"), r->name);
	ck_assert_str_eq(str_at(j, "mechanism"), "file_access");
	ck_assert_str_eq(str_at(j, "breed"), "file_access");
	ck_assert_str_eq(str_at(j, "importance"), "high");
	ck_assert_str_eq(str_at(j, "description"), "A process read a credentials file");
	ck_assert_str_eq(str_at(j, "documentation"), "https://example.invalid/doc");
	mitre = json_object_get(j, "mitre");
	ck_assert(json_is_object(mitre));
	ck_assert_str_eq(str_at(mitre, "tactic"), "credential_access");
	ck_assert_str_eq(str_at(mitre, "technique"), "T1552 Unsecured Credentials");
	ck_assert_str_eq(str_at(mitre, "subtechnique"), "T1552.001 Credentials In Files");
	rc = json_object_get(j, "recipe");
	ck_assert(json_is_object(rc));
	ck_assert_str_eq(str_at(rc, "source"), "builtin:recipes/test.yaml");
	ck_assert_int_eq(int_at(rc, "line"), 1);
	ck_assert_str_eq(str_at(rc, "version"), "1.2");
	ck_assert_str_eq(str_at(j, "hostname"), "host-1");
	ck_assert(json_is_string(json_object_get(json_object_get(j, "agent"), "version")));

	proc = json_object_get(j, "process");
	check_process(proc, child, 1);
	ck_assert_int_eq(int_at(proc, "pid"), 400);
	ck_assert_int_eq(int_at(proc, "ppid"), 300);
	ck_assert_str_eq(str_at(proc, "comm"), "cat");
	ck_assert_str_eq(str_at(proc, "args"), "cat /etc/shadow");
	ck_assert(json_is_array(json_object_get(proc, "env")));
	ck_assert(json_is_false(json_object_get(proc, "env_truncated")));
	/* boot + 400 * 100 ticks at USER_HZ 100 = 400 s after boot */
	ck_assert_str_eq(str_at(proc, "start"), "2024-01-01T00:06:40.000000Z");

	par = json_object_get(j, "parent");
	check_process(par, task_mut(K_PARENT), 1);
	ck_assert_int_eq(int_at(par, "pid"), 300);

	/* the ancestry moved under background */
	ck_assert_ptr_null(json_object_get(j, "ancestry"));
	anc = anc_of(j);
	ck_assert_uint_eq(json_array_size(anc), 3);
	check_process(json_array_get(anc, 0), task_mut(K_PARENT), 0);
	check_process(json_array_get(anc, 1), task_mut(K_GP), 0);
	check_process(json_array_get(anc, 2), task_mut(K_INIT), 0);
	ck_assert_int_eq(int_at(json_array_get(anc, 2), "pid"), 1);
	ck_assert_str_eq(str_at(json_array_get(anc, 1), "args"), "sshd -D");

	f = json_object_get(j, "file");
	ck_assert(json_is_object(f));
	ck_assert_str_eq(str_at(f, "path"), "/etc/shadow");
	ck_assert(json_is_false(json_object_get(f, "path_truncated")));
	acts = json_object_get(f, "actions");
	ck_assert(json_is_array(acts));
	ck_assert_uint_eq(json_array_size(acts), 2);
	ck_assert_str_eq(json_string_value(json_array_get(acts, 0)), "open");
	ck_assert_str_eq(json_string_value(json_array_get(acts, 1)), "read");
	ck_assert_ptr_null(json_object_get(j, "flow"));

	bg = bg_of(j);
	ck_assert_uint_eq(json_array_size(json_object_get(bg, "files")), 0);
	ck_assert_int_eq(int_at(bg, "files_omitted"), 0);
	ck_assert_uint_eq(json_array_size(json_object_get(bg, "flows")), 0);
	ck_assert_int_eq(int_at(bg, "flows_omitted"), 0);
	json_decref(j);
}
END_TEST

START_TEST(event_flow_fields)
{
	const struct jb_task *child = build_view();
	struct jb_flow fl = make_flow(AF_INET, "169.254.169.254", 80, JB_FLOW_EGRESS);
	struct jb_flow fl6 = make_flow(AF_INET6, "fd00:ec2::254", 80, JB_FLOW_EGRESS);
	const char *names[2] = {"metadata.google.internal", "x.\xff.example"};
	json_t *j, *flow, *remote, *local, *rn;

	ck_assert_int_eq(inet_pton(AF_INET, "10.1.2.3", fl.saddr), 1);
	fl.count = 3;
	j = event_names("cloud_metadata_access", child, NULL, 0, &fl, names, 2);
	ck_assert_str_eq(str_at(j, "mechanism"), "network_peers");
	ck_assert_str_eq(str_at(j, "breed"), "remote_cidrs");
	ck_assert_str_eq(str_at(json_object_get(j, "mitre"), "subtechnique"), "");
	ck_assert_ptr_null(json_object_get(j, "file"));
	flow = json_object_get(j, "flow");
	ck_assert(json_is_object(flow));
	ck_assert_str_eq(str_at(flow, "protocol"), "tcp");
	ck_assert_str_eq(str_at(flow, "family"), "ipv4");
	ck_assert_str_eq(str_at(flow, "direction"), "egress");
	ck_assert_int_eq(int_at(flow, "count"), 3);
	local = json_object_get(flow, "local");
	remote = json_object_get(flow, "remote");
	ck_assert(json_is_object(local) && json_is_object(remote));
	ck_assert_str_eq(str_at(local, "address"), "10.1.2.3");
	ck_assert_int_eq(int_at(local, "port"), 40000);
	ck_assert_str_eq(str_at(remote, "address"), "169.254.169.254");
	ck_assert_int_eq(int_at(remote, "port"), 80);
	rn = json_object_get(flow, "remote_names");
	ck_assert(json_is_array(rn));
	ck_assert_uint_eq(json_array_size(rn), 2);
	ck_assert_str_eq(json_string_value(json_array_get(rn, 0)), "metadata.google.internal");
	ck_assert_str_eq(json_string_value(json_array_get(rn, 1)), "x.\xef\xbf\xbd.example");
	json_decref(j);

	fl6.proto = 17;
	fl6.dir = JB_FLOW_INGRESS;
	j = event("cloud_metadata_access", child, NULL, 0, &fl6);
	flow = json_object_get(j, "flow");
	ck_assert_str_eq(str_at(flow, "protocol"), "udp");
	ck_assert_str_eq(str_at(flow, "family"), "ipv6");
	ck_assert_str_eq(str_at(flow, "direction"), "ingress");
	ck_assert_str_eq(str_at(json_object_get(flow, "remote"), "address"), "fd00:ec2::254");
	ck_assert_uint_eq(json_array_size(json_object_get(flow, "remote_names")), 0);
	json_decref(j);

	/* an ingress flow with no known task */
	j = event("cloud_metadata_access", NULL, NULL, 0, &fl);
	ck_assert(json_is_null(json_object_get(j, "process")));
	ck_assert(json_is_null(json_object_get(j, "parent")));
	ck_assert_uint_eq(json_array_size(anc_of(j)), 0);
	ck_assert_uint_eq(json_array_size(json_object_get(bg_of(j), "files")), 0);
	json_decref(j);
}
END_TEST

/* background.files: the task's other files, never the event's own, at
 * most 16 listed and the rest counted; other tasks' files never. */
START_TEST(event_background_files)
{
	const struct jb_task *c = build_view();
	json_t *j, *bf, *e;

	add_files(3, K_CHILD);
	j = event("credentials_files_access", c, &files[0], JB_ACT_READ, NULL);
	bf = json_object_get(bg_of(j), "files");
	ck_assert_uint_eq(json_array_size(bf), 3);
	e = json_array_get(bf, 0);
	ck_assert_str_eq(str_at(e, "path"), "/var/tmp/f00");
	ck_assert_uint_eq(json_array_size(json_object_get(e, "actions")), 2);
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(e, "actions"), 0)),
			 "write");
	for (size_t i = 0; i < json_array_size(bf); i++)
		ck_assert_str_ne(str_at(json_array_get(bf, i), "path"), "/etc/shadow");
	ck_assert_int_eq(int_at(bg_of(j), "files_omitted"), 0);
	json_decref(j);

	/* bounded */
	build_view();
	add_files(NFILES - 1, K_CHILD);
	j = event("credentials_files_access", c, &files[0], JB_ACT_READ, NULL);
	ck_assert_uint_eq(json_array_size(json_object_get(bg_of(j), "files")), 16);
	ck_assert_int_eq(int_at(bg_of(j), "files_omitted"), NFILES - 1 - 16);
	json_decref(j);

	/* another task's files are not this task's background */
	build_view();
	add_files(5, K_PARENT);
	j = event("credentials_files_access", c, &files[0], JB_ACT_READ, NULL);
	ck_assert_uint_eq(json_array_size(json_object_get(bg_of(j), "files")), 0);
	json_decref(j);

	/* without a file (an exec event) the task's own file is background */
	build_view();
	add_files(1, K_CHILD);
	j = event("exec_from_unusual_dir", c, NULL, 0, NULL);
	ck_assert_uint_eq(json_array_size(json_object_get(bg_of(j), "files")), 2);
	json_decref(j);
}
END_TEST

START_TEST(event_background_flows)
{
	const struct jb_task *c = build_view();
	json_t *j, *bf;

	for (int i = 0; i < 20; i++) {
		flows[i] = make_flow(AF_INET, "192.0.2.1", (uint16_t)(1000 + i), JB_FLOW_EGRESS);
		flows[i].key = 900 + (uint64_t)i;
	}
	flows[3].task_key = K_PARENT; /* not the child's */
	view.nflows = 5;
	/* the event's own flow (a pointer into the view) is not repeated */
	j = event("cloud_metadata_access", c, NULL, 0, &flows[0]);
	bf = json_object_get(bg_of(j), "flows");
	ck_assert_uint_eq(json_array_size(bf), 3);
	ck_assert_int_eq(int_at(json_object_get(json_array_get(bf, 0), "remote"), "port"), 1001);
	ck_assert_int_eq(int_at(json_object_get(json_array_get(bf, 2), "remote"), "port"), 1004);
	ck_assert_int_eq(int_at(bg_of(j), "flows_omitted"), 0);
	json_decref(j);

	/* bounded */
	flows[3].task_key = K_CHILD;
	view.nflows = 20;
	j = event("credentials_files_access", c, &files[0], JB_ACT_READ, NULL);
	ck_assert_uint_eq(json_array_size(json_object_get(bg_of(j), "flows")), 16);
	ck_assert_int_eq(int_at(bg_of(j), "flows_omitted"), 4);
	json_decref(j);
}
END_TEST

/* A hand-built chain longer than the bound: the ancestry stays bounded. */
START_TEST(event_ancestry_bounded)
{
	static struct jb_task chain[40];
	json_t *j, *anc;

	build_view();
	for (int i = 0; i < 40; i++) {
		char comm[16];
		snprintf(comm, sizeof(comm), "p%d", i);
		set_task(&chain[i], 1000 + (uint64_t)i, i ? 1000 + (uint64_t)i - 1 : 0,
			 (uint32_t)(5000 + i), (uint32_t)(5000 + i - 1), comm, "/bin/p", "p\0", 2);
	}
	view.tasks = chain;
	view.ntasks = 40;
	j = event("exec_from_unusual_dir", &chain[39], NULL, 0, NULL);
	anc = anc_of(j);
	ck_assert_uint_eq(json_array_size(anc), 32);
	ck_assert_int_eq(int_at(json_array_get(anc, 0), "pid"), 5038); /* parent first */
	ck_assert_int_eq(int_at(json_array_get(anc, 31), "pid"), 5038 - 31);
	json_decref(j);
}
END_TEST

START_TEST(event_args)
{
	struct jb_task *c;
	json_t *j;

	build_view();
	c = task_mut(K_CHILD);
	/* NULs become spaces, trailing NULs are dropped */
	memcpy(c->args, "sh\0-c\0echo hi\0\0\0", 17);
	c->args_len = 17;
	j = event("exec_from_unusual_dir", c, NULL, 0, NULL);
	ck_assert_str_eq(str_at(json_object_get(j, "process"), "args"), "sh -c echo hi");
	json_decref(j);
	/* args_len beyond the buffer (a corrupt record) is clipped */
	memset(c->args, 'A', sizeof(c->args));
	c->args_len = 100000;
	j = event("exec_from_unusual_dir", c, NULL, 0, NULL);
	ck_assert_uint_eq(strlen(str_at(json_object_get(j, "process"), "args")), JB_ARGS_LEN);
	json_decref(j);
	/* empty */
	c->args_len = 0;
	j = event("exec_from_unusual_dir", c, NULL, 0, NULL);
	ck_assert_str_eq(str_at(json_object_get(j, "process"), "args"), "");
	json_decref(j);
}
END_TEST

/* env: the kept entries in order, empty ones skipped, nothing past
 * env_len or the buffer; env_truncated is the record's ENV_CUT flag */
START_TEST(event_env)
{
	static const char env[] = "LD_PRELOAD=/tmp/x.so\0\0LD_AUDIT=a.so\0LD_GONE=1";
	struct jb_task *c;
	json_t *j, *p, *e;

	build_view();
	c = task_mut(K_CHILD);
	memcpy(c->env, env, sizeof(env));
	c->env_len = 36; /* LD_GONE=1 lies past it */
	j = event("exec_from_unusual_dir", c, NULL, 0, NULL);
	p = json_object_get(j, "process");
	e = json_object_get(p, "env");
	ck_assert_uint_eq(json_array_size(e), 2);
	ck_assert_str_eq(json_string_value(json_array_get(e, 0)), "LD_PRELOAD=/tmp/x.so");
	ck_assert_str_eq(json_string_value(json_array_get(e, 1)), "LD_AUDIT=a.so");
	ck_assert(json_is_false(json_object_get(p, "env_truncated")));
	/* the parent's env is not printed: only the detected process's */
	ck_assert_ptr_null(json_object_get(json_object_get(j, "parent"), "env"));
	json_decref(j);
	/* cut, and an env_len beyond the buffer (a corrupt record) is clipped:
	 * the last entry runs to the buffer's end */
	c->flags |= JB_TASK_ENV_CUT;
	memset(c->env, 'v', sizeof(c->env));
	memcpy(c->env, "LD_X=", 5);
	c->env_len = 100000;
	j = event("exec_from_unusual_dir", c, NULL, 0, NULL);
	p = json_object_get(j, "process");
	e = json_object_get(p, "env");
	ck_assert_uint_eq(json_array_size(e), 1);
	ck_assert_uint_eq(strlen(json_string_value(json_array_get(e, 0))), JB_ENV_LEN);
	ck_assert(json_is_true(json_object_get(p, "env_truncated")));
	json_decref(j);
	c->flags &= ~JB_TASK_ENV_CUT;
	c->env_len = 0;
}
END_TEST

START_TEST(event_invalid_utf8)
{
	struct jb_task *c;
	json_t *j;

	build_view();
	c = task_mut(K_CHILD);
	strcpy(files[0].path, "/tmp/\xff\xfe");
	strcpy(c->comm, "x\xc3");	      /* truncated sequence */
	strcpy(c->exe, "/tmp/\xe2\x82"); /* truncated 3-byte sequence */
	j = event("credentials_files_access", c, &files[0], JB_ACT_READ, NULL);
	ck_assert_str_eq(str_at(json_object_get(j, "file"), "path"), "/tmp/\xef\xbf\xbd\xef\xbf\xbd");
	ck_assert_str_eq(str_at(json_object_get(j, "process"), "comm"), "x\xef\xbf\xbd");
	ck_assert_str_eq(str_at(json_object_get(j, "process"), "exe"),
			 "/tmp/\xef\xbf\xbd\xef\xbf\xbd");
	json_decref(j);
	/* valid multi-byte UTF-8 is kept as is */
	strcpy(files[0].path, "/home/j\xc3\xa9r\xc3\xb4me/\xe2\x82\xac/\xf0\x9f\x94\x91");
	j = event("credentials_files_access", c, &files[0], JB_ACT_READ, NULL);
	ck_assert_str_eq(str_at(json_object_get(j, "file"), "path"),
			 "/home/j\xc3\xa9r\xc3\xb4me/\xe2\x82\xac/\xf0\x9f\x94\x91");
	json_decref(j);
	/* a full path buffer with no NUL: the snapshot cuts it at its
	 * longest and flags it truncated */
	memset(files[0].path, 'a', sizeof(files[0].path));
	j = event("credentials_files_access", c, &files[0], JB_ACT_READ, NULL);
	ck_assert_uint_eq(strlen(str_at(json_object_get(j, "file"), "path")), JB_PATH_LEN - 1);
	ck_assert(json_is_true(json_object_get(json_object_get(j, "file"), "path_truncated")));
	json_decref(j);
}
END_TEST

/* Byte sequences that look like UTF-8 lead/continuation bytes but are not
 * valid UTF-8: overlong forms, UTF-16 surrogates, code points past
 * U+10FFFF. A file name is attacker-chosen; the path must still be shown
 * (with U+FFFD), not dropped. */
START_TEST(event_invalid_utf8_wellformed_looking)
{
	static const char *const bad[] = {
		"/tmp/\xc0\xaf",	 /* overlong '/' */
		"/tmp/\xe0\x80\xaf",	 /* overlong 3-byte */
		"/tmp/\xed\xa0\x80",	 /* surrogate U+D800 */
		"/tmp/\xf4\x90\x80\x80", /* U+110000 */
		"/tmp/\xf7\xbf\xbf\xbf", /* beyond U+10FFFF */
	};
	struct jb_task *c;

	build_view();
	c = task_mut(K_CHILD);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *j, *p;
		memset(files[0].path, 0, sizeof(files[0].path));
		strcpy(files[0].path, bad[i]);
		j = event("credentials_files_access", c, &files[0], JB_ACT_READ,
			  NULL);
		p = json_object_get(json_object_get(j, "file"), "path");
		ck_assert_msg(json_is_string(p), "path %zu became %s", i,
			      json_is_null(p) ? "null" : "not a string");
		ck_assert(strncmp(json_string_value(p), "/tmp/", 5) == 0);
		ck_assert_ptr_nonnull(strstr(json_string_value(p), "\xef\xbf\xbd"));
		json_decref(j);
	}
}
END_TEST

START_TEST(event_ancestry_cycle)
{
	struct jb_task *c;
	json_t *j, *anc;

	build_view();
	/* the grandparent claims the child as its parent */
	task_mut(K_GP)->parent_key = K_CHILD;
	c = task_mut(K_CHILD);
	j = event("credentials_files_access", c, &files[0], JB_ACT_READ, NULL);
	anc = anc_of(j);
	ck_assert(json_is_array(anc));
	ck_assert_uint_ge(json_array_size(anc), 2);
	ck_assert_uint_le(json_array_size(anc), 32);
	ck_assert_int_eq(int_at(json_array_get(anc, 0), "pid"), 300);
	ck_assert_int_eq(int_at(json_array_get(anc, 1), "pid"), 200);
	json_decref(j);

	/* a task that is its own parent */
	build_view();
	task_mut(K_PARENT)->parent_key = K_PARENT;
	j = event("credentials_files_access", task_mut(K_CHILD), &files[0],
		  JB_ACT_READ, NULL);
	ck_assert_uint_eq(json_array_size(anc_of(j)), 1);
	json_decref(j);
}
END_TEST

/* event.c promises the walk "stops at a cycle": no process is listed twice. */
START_TEST(event_ancestry_cycle_no_repeats)
{
	json_t *j, *anc;

	build_view();
	task_mut(K_GP)->parent_key = K_CHILD;
	j = event("credentials_files_access", task_mut(K_CHILD), &files[0],
		  JB_ACT_READ, NULL);
	anc = anc_of(j);
	for (size_t a = 0; a < json_array_size(anc); a++)
		for (size_t b = a + 1; b < json_array_size(anc); b++)
			ck_assert_msg(strcmp(str_at(json_array_get(anc, a), "id"),
					     str_at(json_array_get(anc, b), "id")) != 0,
				      "ancestry of %zu entries repeats entry %zu at %zu",
				      json_array_size(anc), a, b);
	json_decref(j);
}
END_TEST

START_TEST(event_missing_parent)
{
	struct jb_task *c;
	json_t *j;

	build_view();
	c = task_mut(K_CHILD);
	c->parent_key = 999; /* not in the snapshot */
	j = event("credentials_files_access", c, &files[0], JB_ACT_READ, NULL);
	ck_assert(json_is_object(json_object_get(j, "process")));
	ck_assert(json_is_null(json_object_get(j, "parent")));
	ck_assert(json_is_array(anc_of(j)));
	ck_assert_uint_eq(json_array_size(anc_of(j)), 0);
	json_decref(j);

	c->parent_key = 0; /* parent unknown */
	j = event("credentials_files_access", c, &files[0], JB_ACT_READ, NULL);
	ck_assert(json_is_null(json_object_get(j, "parent")));
	ck_assert_uint_eq(json_array_size(anc_of(j)), 0);
	json_decref(j);

	/* a hole further up ends the ancestry there */
	build_view();
	task_mut(K_GP)->parent_key = 12345;
	j = event("credentials_files_access", task_mut(K_CHILD), &files[0],
		  JB_ACT_READ, NULL);
	ck_assert_uint_eq(json_array_size(anc_of(j)), 2);
	json_decref(j);
}
END_TEST

START_TEST(event_uuid_unique)
{
	const struct jb_task *c = build_view();
	char seen[64][37];

	for (int i = 0; i < 64; i++) {
		json_t *j = event("credentials_files_access", c, &files[0],
				  JB_ACT_READ, NULL);
		const char *u = str_at(j, "uuid");
		ck_assert(matches(UUID4_RE, u));
		ck_assert_uint_eq(strlen(u), 36);
		strcpy(seen[i], u);
		for (int k = 0; k < i; k++)
			ck_assert_str_ne(seen[k], seen[i]);
		json_decref(j);
	}
}
END_TEST

START_TEST(event_hostname)
{
	const struct jb_task *c = build_view();
	const struct jb_snap_file *f = snap_files(&files[0]);
	struct wrk_event_ctx ctx = CTX;
	struct rcp_subject s = {.v = &view, .task = c, .path = f->path,
				.actions = JB_ACT_EXEC | JB_ACT_UNLINK};
	char *out;
	json_t *j;

	ctx.hostname = "h\xff\"\\\n";
	out = wrk_event_json(&ctx, recipe("binary_self_deletion"), &s, f, EVENT_NS);
	ck_assert_ptr_nonnull(out);
	j = json_loads(out, 0, NULL);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(str_at(j, "hostname"), "h\xef\xbf\xbd\"\\\n");
	ck_assert_uint_eq(json_array_size(json_object_get(json_object_get(j, "file"), "actions")),
			  2);
	json_decref(j);
	free(out);
}
END_TEST

/* The worst event an attacker can shape: every string it controls (argv,
 * exe and file names: control characters that JSON escapes 6x) at its
 * bound, a full ancestry, full background lists. It must still fit one
 * IPC_DETECTION (with room for the limits field), or the worker drops the
 * detection ("event too large"): a way to evade every recipe. */
START_TEST(event_worst_case_fits)
{
	static struct jb_task chain[40];
	char *out;
	size_t len;

	build_view();
	for (int i = 0; i < 40; i++) {
		struct jb_task *t = &chain[i];
		memset(t, 0, sizeof(*t));
		t->key = 1000 + (uint64_t)i;
		t->parent_key = i ? t->key - 1 : 0;
		t->tgid = (uint32_t)(5000 + i);
		memset(t->comm, '\x01', sizeof(t->comm));
		memset(t->exe, '\x01', sizeof(t->exe));
		memset(t->args, '\x01', sizeof(t->args));
		t->args_len = sizeof(t->args);
		memset(t->env, '\x01', sizeof(t->env));
		t->env_len = sizeof(t->env);
		t->flags |= JB_TASK_ENV_CUT;
	}
	view.tasks = chain;
	view.ntasks = 40;
	add_files(NFILES - 1, chain[39].key);
	/* kernel records without a NUL: the snapshot carries each cut at
	 * its longest, JB_PATH_LEN - 1 bytes */
	for (int i = 0; i < NFILES; i++)
		memset(files[i].path, '\x01', sizeof(files[i].path));
	links[0].key.task_key = chain[39].key;
	for (int i = 0; i < 20; i++) {
		flows[i] = make_flow(AF_INET6, "2001:db8::1", (uint16_t)i, JB_FLOW_EGRESS);
		flows[i].task_key = chain[39].key;
	}
	view.nflows = 20;
	{
		const struct jb_snap_file *f = snap_files(&files[0]);
		struct rcp_subject s = {.v = &view, .task = &chain[39], .path = f->path,
					.actions = 0x1ff};
		for (int i = 0; i < NFILES; i++)
			ck_assert_uint_eq(jb_snap_file(&view, files[i].key)->path_len,
					  JB_PATH_LEN - 1);
		out = wrk_event_json(&CTX, recipe("credentials_files_access"), &s, f, EVENT_NS);
	}
	ck_assert_ptr_nonnull(out);
	len = strlen(out);
	ck_assert_msg(json_loads(out, 0, NULL) != NULL, "invalid JSON");
	free(out);
	ck_assert_msg(len + IPC_LIMITS_MAX <= IPC_MAX_STR,
		      "worst-case event is %zu bytes: with the limits field it exceeds IPC_MAX_STR "
		      "(%d), so the worker drops it",
		      len, IPC_MAX_STR);
}
END_TEST

/* ---- tamper events ------------------------------------------------------- */

static struct jb_tamper mk_tamper(uint32_t klass, uint32_t op)
{
	struct jb_tamper t;

	memset(&t, 0, sizeof(t));
	t.key = 0x1234500 + klass;
	t.task_key = K_CHILD;
	t.first_ns = EVENT_NS - 100000000ULL; /* 0.1 s before last */
	t.last_ns = EVENT_NS;
	t.klass = klass;
	t.op = op;
	t.tgid = 400;
	t.uid = 1400;
	t.count = 3;
	t.target_row = JB_AGENT_ROW_SUPERVISOR;
	t.target_pid = 4321;
	strcpy(t.comm, "cat");
	return t;
}

/* The tamper_test event of record t (actor task, may be NULL), with the
 * real kind table; the caller json_decref()s. */
static json_t *tevent(const struct jb_tamper *t, const struct jb_task *task)
{
	struct wrk_event_ctx ctx = CTX;
	struct rcp_subject s = {.v = &view, .task = task, .tamper = t,
				.path = t->klass == JB_TAMPER_FILE ? t->name : NULL};
	json_error_t err;
	json_t *j;
	char *out;

	ctx.kinds = jb_kinds;
	ctx.nkinds = jb_nkinds;
	ck_assert_int_eq(rcp_match(recipe("tamper_test"), &s), 1);
	out = wrk_event_json(&ctx, recipe("tamper_test"), &s, NULL, t->last_ns);
	ck_assert_ptr_nonnull(out);
	j = json_loads(out, JSON_REJECT_DUPLICATES, &err);
	ck_assert_msg(j != NULL, "invalid JSON (%s): %s", err.text, out);
	free(out);
	return j;
}

static json_t *tamper_of(json_t *j)
{
	json_t *o = json_object_get(j, "tamper");
	ck_assert_msg(json_is_object(o), "no tamper object");
	return o;
}

static json_t *target_of(json_t *j)
{
	json_t *o = json_object_get(tamper_of(j), "target");
	ck_assert_msg(json_is_object(o), "no tamper.target object");
	return o;
}

/* the envelope, the actor's process context, and the tamper object */
START_TEST(event_tamper_fields)
{
	const struct jb_task *child = build_view();
	struct jb_tamper t = mk_tamper(JB_TAMPER_MAP_WRITE, BPF_MAP_UPDATE_ELEM);
	json_t *j, *tp, *actor;

	t.target_id = 77;
	j = tevent(&t, child);
	ck_assert(matches(UUID4_RE, str_at(j, "uuid")));
	ck_assert(matches(ISO_RE, str_at(j, "timestamp")));
	ck_assert_str_eq(str_at(j, "event_time"), "2024-01-02T03:04:05.123456Z");
	ck_assert_str_eq(str_at(j, "kind"), "tamper_test");
	ck_assert_str_eq(str_at(j, "mechanism"), "tamper");
	ck_assert_str_eq(str_at(j, "breed"), "tamper");
	ck_assert_str_eq(str_at(j, "importance"), "critical");
	ck_assert_str_eq(str_at(j, "hostname"), "host-1");
	check_process(json_object_get(j, "process"), child, 1);
	check_process(json_object_get(j, "parent"), task_mut(K_PARENT), 1);
	ck_assert_uint_eq(json_array_size(anc_of(j)), 3);
	ck_assert_ptr_null(json_object_get(j, "file"));
	ck_assert_ptr_null(json_object_get(j, "flow"));

	tp = tamper_of(j);
	ck_assert_str_eq(str_at(tp, "class"), "map_write");
	ck_assert_str_eq(str_at(tp, "operation"), "BPF_MAP_UPDATE_ELEM");
	ck_assert_int_eq(int_at(tp, "op"), BPF_MAP_UPDATE_ELEM);
	ck_assert_int_eq(int_at(target_of(j), "map_id"), 77);
	ck_assert_int_eq(int_at(tp, "count"), 3);
	ck_assert_str_eq(str_at(tp, "first_seen"), "2024-01-02T03:04:05.023456Z");
	ck_assert_str_eq(str_at(tp, "last_seen"), "2024-01-02T03:04:05.123456Z");
	actor = json_object_get(tp, "actor");
	ck_assert_int_eq(int_at(actor, "pid"), 400);
	ck_assert_int_eq(int_at(actor, "uid"), 1400);
	ck_assert_str_eq(str_at(actor, "comm"), "cat");
	ck_assert(json_is_false(json_object_get(tp, "name_truncated")));
	ck_assert(json_is_false(json_object_get(tp, "failed")));
	json_decref(j);

	/* the actor's task is not in the snapshot: no process, the record's
	 * own pid, uid and comm remain */
	t.task_key = 999;
	j = tevent(&t, NULL);
	ck_assert(json_is_null(json_object_get(j, "process")));
	ck_assert_int_eq(int_at(json_object_get(tamper_of(j), "actor"), "pid"), 400);
	json_decref(j);
}
END_TEST

/* each class: the operation in words and the target */
START_TEST(event_tamper_classes)
{
	const struct jb_task *child = build_view();
	size_t net_row = (size_t)(jb_kind_find(jb_kinds, jb_nkinds, "network") - jb_kinds);
	struct jb_tamper t;
	json_t *j, *tg, *acts;

	t = mk_tamper(JB_TAMPER_BPF_PROG, BPF_PROG_LOAD);
	t.target_id = BPF_PROG_TYPE_KPROBE;
	strcpy(t.name, "evil_prog");
	j = tevent(&t, child);
	tg = target_of(j);
	ck_assert_str_eq(str_at(tamper_of(j), "class"), "bpf_program");
	ck_assert_str_eq(str_at(tamper_of(j), "operation"), "BPF_PROG_LOAD");
	ck_assert_str_eq(str_at(tg, "program_type"), "kprobe");
	ck_assert_str_eq(str_at(tg, "program_name"), "evil_prog");
	ck_assert_ptr_null(json_object_get(tg, "attached_to"));
	json_decref(j);
	/* attach: the program's type and name, the attach type, the target's path */
	t.op = BPF_PROG_ATTACH;
	t.arg = BPF_CGROUP_INET_INGRESS;
	t.target_id = BPF_PROG_TYPE_CGROUP_SKB;
	strcpy(t.target, "/sys/fs/cgroup/unified/x");
	j = tevent(&t, child);
	tg = target_of(j);
	ck_assert_str_eq(str_at(tamper_of(j), "operation"), "BPF_PROG_ATTACH");
	ck_assert_str_eq(str_at(tg, "program_type"), "cgroup_skb");
	ck_assert_str_eq(str_at(tg, "program_name"), "evil_prog");
	ck_assert_str_eq(str_at(tg, "attach_type"), "cgroup_inet_ingress");
	ck_assert_str_eq(str_at(tg, "attached_to"), "/sys/fs/cgroup/unified/x");
	json_decref(j);
	/* a raw tracepoint: its name is the target */
	t.op = BPF_RAW_TRACEPOINT_OPEN;
	t.target_id = BPF_PROG_TYPE_RAW_TRACEPOINT;
	strcpy(t.target, "sys_enter");
	j = tevent(&t, child);
	ck_assert_str_eq(str_at(target_of(j), "tracepoint"), "sys_enter");
	ck_assert_ptr_null(json_object_get(target_of(j), "attach_type"));
	json_decref(j);
	/* a link detach: the link's type */
	t.op = BPF_LINK_DETACH;
	t.arg = BPF_LINK_TYPE_CGROUP;
	t.target[0] = 0;
	j = tevent(&t, child);
	ck_assert_str_eq(str_at(target_of(j), "link_type"), "cgroup");
	json_decref(j);
	t.op = 99; /* a command this build does not know: its number */
	j = tevent(&t, child);
	ck_assert_str_eq(str_at(tamper_of(j), "operation"), "BPF command 99");
	json_decref(j);

	t = mk_tamper(JB_TAMPER_MODULE, SYS_delete_module);
	strcpy(t.name, "nf_tables");
	t.flags = JB_TAMPER_FAILED;
	j = tevent(&t, child);
	ck_assert_str_eq(str_at(tamper_of(j), "class"), "kernel_module");
	ck_assert_str_eq(str_at(tamper_of(j), "operation"), "delete_module");
	ck_assert_str_eq(str_at(target_of(j), "module"), "nf_tables");
	ck_assert(json_is_true(json_object_get(tamper_of(j), "failed")));
	json_decref(j);
	t.op = SYS_finit_module;
	j = tevent(&t, child);
	ck_assert_str_eq(str_at(tamper_of(j), "operation"), "finit_module");
	json_decref(j);

	t = mk_tamper(JB_TAMPER_SIGNAL, SIGKILL);
	j = tevent(&t, child);
	tg = json_object_get(target_of(j), "process");
	ck_assert_str_eq(str_at(tamper_of(j), "class"), "signal");
	ck_assert_str_eq(str_at(tamper_of(j), "operation"), "SIGKILL");
	ck_assert_int_eq(int_at(tg, "pid"), 4321);
	ck_assert_str_eq(str_at(tg, "role"), "supervisor");
	json_decref(j);
	t.op = SIGSTOP;
	t.target_row = (uint32_t)net_row;
	j = tevent(&t, child);
	ck_assert_str_eq(str_at(tamper_of(j), "operation"), "SIGSTOP");
	ck_assert_str_eq(str_at(json_object_get(target_of(j), "process"), "role"), "network");
	json_decref(j);
	t.op = 70;
	t.target_row = JB_AGENT_ROW_UNKNOWN;
	j = tevent(&t, child);
	ck_assert_str_eq(str_at(tamper_of(j), "operation"), "signal 70");
	ck_assert_str_eq(str_at(json_object_get(target_of(j), "process"), "role"), "unknown");
	json_decref(j);
	t.target_row = (uint32_t)jb_nkinds; /* past the table */
	j = tevent(&t, child);
	ck_assert_str_eq(str_at(json_object_get(target_of(j), "process"), "role"), "unknown");
	json_decref(j);

	t = mk_tamper(JB_TAMPER_PTRACE, PTRACE_SEIZE);
	j = tevent(&t, child);
	ck_assert_str_eq(str_at(tamper_of(j), "class"), "ptrace");
	ck_assert_str_eq(str_at(tamper_of(j), "operation"), "PTRACE_SEIZE");
	ck_assert_str_eq(str_at(json_object_get(target_of(j), "process"), "role"), "supervisor");
	json_decref(j);

	t = mk_tamper(JB_TAMPER_PROC_MEM, 0);
	j = tevent(&t, child);
	ck_assert_str_eq(str_at(tamper_of(j), "class"), "process_memory");
	ck_assert_str_eq(str_at(tamper_of(j), "operation"), "open");
	json_decref(j);
	t.op = SYS_process_vm_writev;
	j = tevent(&t, child);
	ck_assert_str_eq(str_at(tamper_of(j), "operation"), "process_vm_writev");
	ck_assert_int_eq(int_at(json_object_get(target_of(j), "process"), "pid"), 4321);
	json_decref(j);

	t = mk_tamper(JB_TAMPER_FILE, JB_ACT_WRITE | JB_ACT_TRUNCATE | JB_ACT_CHMOD);
	t.arg = 0100644;
	strcpy(t.name, "/etc/jibril/recipes");
	t.flags = JB_TAMPER_NAME_CUT;
	j = tevent(&t, child);
	tg = target_of(j);
	ck_assert_str_eq(str_at(tamper_of(j), "class"), "agent_files");
	ck_assert_str_eq(str_at(tg, "path"), "/etc/jibril/recipes");
	ck_assert_str_eq(str_at(tg, "mode"), "0644");
	acts = json_object_get(tg, "actions");
	ck_assert_uint_eq(json_array_size(acts), 3);
	ck_assert_str_eq(json_string_value(json_array_get(acts, 0)), "write");
	ck_assert_str_eq(json_string_value(json_array_get(acts, 1)), "chmod");
	ck_assert_str_eq(json_string_value(json_array_get(acts, 2)), "truncate");
	ck_assert(json_is_true(json_object_get(tamper_of(j), "name_truncated")));
	json_decref(j);
	t.op = JB_ACT_UNLINK; /* no chmod: no mode */
	j = tevent(&t, child);
	ck_assert_ptr_null(json_object_get(target_of(j), "mode"));
	json_decref(j);
}
END_TEST

/* bytes an attacker chose (a comm, a program or module name) stay valid
 * JSON */
START_TEST(event_tamper_invalid_utf8)
{
	const struct jb_task *child = build_view();
	struct jb_tamper t = mk_tamper(JB_TAMPER_MODULE, SYS_init_module);
	json_t *j;

	strcpy(t.comm, "a\xff\x01b");
	strcpy(t.name, "m\xc3\x28\"}");
	j = tevent(&t, child);
	ck_assert_str_eq(str_at(json_object_get(tamper_of(j), "actor"), "comm"),
			 "a\xef\xbf\xbd\x01b");
	ck_assert_str_eq(str_at(target_of(j), "module"), "m\xef\xbf\xbd(\"}");
	json_decref(j);
}
END_TEST

/* two different acts of one process are two detections; a repeat after a
 * query is a new one; the same record seen again is the same one */
START_TEST(tamper_dedup_key)
{
	const struct jb_task *child = build_view();
	struct jb_tamper a = mk_tamper(JB_TAMPER_SIGNAL, SIGKILL),
			 b = mk_tamper(JB_TAMPER_SIGNAL, SIGSTOP);
	struct rcp_subject sa = {.v = &view, .task = child, .tamper = &a},
			   sb = {.v = &view, .task = child, .tamper = &b};
	char ka[80], kb[80], k2[80];

	b.key = a.key + 1; /* the kernel's {class, actor, op, target} hash */
	wrk_dedup_key(&sa, a.key, ka, sizeof(ka));
	wrk_dedup_key(&sb, b.key, kb, sizeof(kb));
	ck_assert_str_ne(ka, kb);
	wrk_dedup_key(&sa, a.key, k2, sizeof(k2));
	ck_assert_str_eq(ka, k2);
	a.last_ns += 1000;
	wrk_dedup_key(&sa, a.key, k2, sizeof(k2));
	ck_assert_str_ne(ka, k2);
	/* a file event's key is as before: task and file */
	struct rcp_subject sf = {.v = &view, .task = child};
	wrk_dedup_key(&sf, 5, k2, sizeof(k2));
	ck_assert_str_eq(k2, "0000000000000032/0000000000000005");
}
END_TEST

/* ---------------------------------------------------------------------- */

START_TEST(process_id)
{
	char a[17], b[17];

	memset(a, 'Z', sizeof(a));
	rcp_process_id("boot-a", 1234, 5678, a);
	ck_assert_uint_eq(strlen(a), 16);
	ck_assert_uint_eq(strspn(a, "0123456789abcdef"), 16);
	rcp_process_id("boot-a", 1234, 5678, b);
	ck_assert_str_eq(a, b);
	rcp_process_id("boot-b", 1234, 5678, b);
	ck_assert_str_ne(a, b);
	rcp_process_id("boot-a", 1235, 5678, b);
	ck_assert_str_ne(a, b);
	rcp_process_id("boot-a", 1234, 5679, b);
	ck_assert_str_ne(a, b);
	rcp_process_id("", 0, 0, b);
	ck_assert_uint_eq(strlen(b), 16);
	ck_assert_uint_eq(strspn(b, "0123456789abcdef"), 16);
	/* pid and start are not interchangeable */
	rcp_process_id("boot-a", 5, 6, a);
	rcp_process_id("boot-a", 6, 5, b);
	ck_assert_str_ne(a, b);
}
END_TEST

static void add(Suite *s, const char *name, const TTest *tests[])
{
	TCase *tc = tcase_create(name);

	for (int i = 0; tests[i] != NULL; i++)
		tcase_add_test(tc, tests[i]);
	suite_add_tcase(s, tc);
}

static Suite *detect_suite(void)
{
	Suite *s = suite_create("detect");

	add(s, "mechanisms", (const TTest *[]){ mechanisms_by_name, NULL });
	add(s, "helpers", (const TTest *[]){ helpers_basename, NULL });
	add(s, "event_fields", (const TTest *[]){ event_file_fields, event_flow_fields,
		event_hostname, NULL });
	add(s, "event_background", (const TTest *[]){ event_background_files,
		event_background_flows, NULL });
	add(s, "event_args", (const TTest *[]){ event_args, NULL });
	add(s, "event_env", (const TTest *[]){ event_env, NULL });
	add(s, "event_utf8", (const TTest *[]){ event_invalid_utf8,
		event_invalid_utf8_wellformed_looking, NULL });
	add(s, "event_ancestry", (const TTest *[]){ event_ancestry_cycle,
		event_ancestry_cycle_no_repeats, event_missing_parent, event_ancestry_bounded, NULL });
	add(s, "event_uuid", (const TTest *[]){ event_uuid_unique, NULL });
	add(s, "event_size", (const TTest *[]){ event_worst_case_fits, NULL });
	add(s, "process_id", (const TTest *[]){ process_id, NULL });
	add(s, "event_tamper", (const TTest *[]){ event_tamper_fields, event_tamper_classes,
		event_tamper_invalid_utf8, tamper_dedup_key, NULL });
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(detect_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	rcp_set_free(&SET);
	return failed == 0 ? 0 : 1;
}
