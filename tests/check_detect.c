/*
 * check_detect.c - the detection tables (workers/file_access.c,
 * execution.c, network.c), their helpers (match.c) and the event JSON
 * (event.c).
 *
 * Invariants checked: every mechanism's table is complete and its matchers
 * fit its record source; every definition fires on its positive cases and
 * stays quiet on its negatives (a meta-test proves each definition has
 * both); an event is valid JSON with every documented field whatever bytes
 * the kernel records hold, its ancestry is ordered and bounded, and the
 * process id is stable.
 */
#include <arpa/inet.h>
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <check.h>
#include <jansson.h>

#include "bpf/jibril.h"
#include "ipc/snapshot.h"
#include "workers/detect.h"

static const struct wrk_mechanism *const mechs[] = {&wrk_file_access, &wrk_execution,
						     &wrk_network};
#define NMECH (sizeof(mechs) / sizeof(mechs[0]))

static const struct wrk_def *def_of(const struct wrk_mechanism *m, const char *kind)
{
	for (size_t i = 0; i < m->ndefs; i++)
		if (!strcmp(m->defs[i].kind, kind))
			return &m->defs[i];
	ck_abort_msg("no definition '%s' in %s", kind, m->name);
	return NULL;
}

/* ---------------------------------------------------------------------- */

START_TEST(tables_by_name)
{
	ck_assert_ptr_eq(wrk_mechanism_by_name("file_access"), &wrk_file_access);
	ck_assert_ptr_eq(wrk_mechanism_by_name("execution"), &wrk_execution);
	ck_assert_ptr_eq(wrk_mechanism_by_name("network"), &wrk_network);
	ck_assert_ptr_null(wrk_mechanism_by_name("unknown"));
	ck_assert_ptr_null(wrk_mechanism_by_name(""));
	ck_assert_ptr_null(wrk_mechanism_by_name("File_access"));
	ck_assert_ptr_null(wrk_mechanism_by_name("file_access "));
	ck_assert_ptr_null(wrk_mechanism_by_name("file"));
	ck_assert_ptr_null(wrk_mechanism_by_name("stdout"));
}
END_TEST

START_TEST(tables_complete)
{
	static const char *const imp[] = {"low", "medium", "high", "critical"};

	ck_assert_int_eq(wrk_file_access.source, WRK_SRC_LINKS);
	ck_assert_int_eq(wrk_execution.source, WRK_SRC_EXECS);
	ck_assert_int_eq(wrk_network.source, WRK_SRC_FLOWS);
	for (size_t m = 0; m < NMECH; m++) {
		const struct wrk_mechanism *me = mechs[m];
		ck_assert_ptr_nonnull(me->name);
		ck_assert_ptr_nonnull(me->defs);
		ck_assert_uint_ge(me->ndefs, 3);
		for (size_t i = 0; i < me->ndefs; i++) {
			const struct wrk_def *d = &me->defs[i];
			int ok = 0;
			ck_assert_msg(d->kind && *d->kind, "%s[%zu]: no kind", me->name, i);
			ck_assert_msg(d->name && *d->name, "%s: no name", d->kind);
			ck_assert_msg(d->tactic && *d->tactic, "%s: no tactic", d->kind);
			ck_assert_msg(d->technique && *d->technique, "%s: no technique", d->kind);
			ck_assert_msg(d->description && *d->description, "%s: no description",
				      d->kind);
			ck_assert_msg(d->importance != NULL, "%s: no importance", d->kind);
			for (size_t k = 0; k < 4; k++)
				ok |= !strcmp(d->importance, imp[k]);
			ck_assert_msg(ok, "%s: importance '%s'", d->kind, d->importance);
			/* the technique starts with its ATT&CK id */
			ck_assert_msg(d->technique[0] == 'T' && d->technique[1] >= '0' &&
					      d->technique[1] <= '9',
				      "%s: technique '%s'", d->kind, d->technique);
			/* exactly the matcher of the mechanism's source */
			ck_assert_msg((d->match_link != NULL) == (me->source == WRK_SRC_LINKS) &&
					      (d->match_exec != NULL) == (me->source == WRK_SRC_EXECS) &&
					      (d->match_flow != NULL) == (me->source == WRK_SRC_FLOWS),
				      "%s: matcher does not fit source %d", d->kind, me->source);
		}
	}
	/* kinds are unique across all mechanisms (they name events) */
	for (size_t m = 0; m < NMECH; m++)
		for (size_t i = 0; i < mechs[m]->ndefs; i++)
			for (size_t n = 0; n < NMECH; n++)
				for (size_t j = 0; j < mechs[n]->ndefs; j++)
					if (m != n || i != j)
						ck_assert_str_ne(mechs[m]->defs[i].kind,
								 mechs[n]->defs[j].kind);
}
END_TEST

/* ---------------------------------------------------------------------- */

#define R JB_ACT_READ
#define W JB_ACT_WRITE
#define O JB_ACT_OPEN
#define X JB_ACT_EXEC
#define C JB_ACT_CREATE
#define U JB_ACT_UNLINK
#define MV JB_ACT_RENAME
#define CH JB_ACT_CHMOD
#define TR JB_ACT_TRUNCATE

static const struct link_case {
	const char *kind;
	const char *path;
	uint32_t actions;
	int want;
} link_cases[] = {
	{"credentials_files_access", "/etc/shadow", R, 1},
	{"credentials_files_access", "/etc/shadow", O | R, 1},
	{"credentials_files_access", "/etc/gshadow", R, 1},
	{"credentials_files_access", "/etc/shadow-", R, 1},
	{"credentials_files_access", "/root/.ssh/id_ed25519", R, 1},
	{"credentials_files_access", "/root/.ssh/id_rsa", O | R | W, 1},
	{"credentials_files_access", "/home/bob/.ssh/id_rsa", R, 1},
	{"credentials_files_access", "/home/bob/.aws/credentials", R, 1},
	{"credentials_files_access", "/root/.kube/config", R, 1},
	{"credentials_files_access", "/home/alice/.docker/config.json", R, 1},
	{"credentials_files_access", "/root/.config/gcloud/credentials.db", R, 1},
	{"credentials_files_access", "/etc/shadow", W, 0},
	{"credentials_files_access", "/etc/shadow", O, 0},
	{"credentials_files_access", "/etc/shadow", U | MV | CH, 0},
	{"credentials_files_access", "/root/.ssh/id_rsa.pub", R, 0},
	{"credentials_files_access", "/home/bob/.ssh/id_ed25519.pub", R, 0},
	{"credentials_files_access", "/etc/hostname", R, 0},
	{"credentials_files_access", "/etc/passwd", R, 0},
	{"credentials_files_access", "/etc/shadowx", R, 0},
	{"credentials_files_access", "/root/.ssh/known_hosts", R, 0},
	{"credentials_files_access", "/home/bob/x/.ssh/id_rsa", R, 0},
	{"credentials_files_access", "/tmp/etc/shadow", R, 0},
	{"credentials_files_access", "", R, 0},

	{"binary_self_deletion", "/tmp/payload", X | U, 1},
	{"binary_self_deletion", "/usr/bin/x", O | R | X | U, 1},
	{"binary_self_deletion", "/tmp/payload", X, 0},
	{"binary_self_deletion", "/tmp/payload", U, 0},
	{"binary_self_deletion", "/tmp/payload", X | W | MV, 0},
	{"binary_self_deletion", "/tmp/payload", 0, 0},

	{"auth_logs_tamper", "/var/log/wtmp", U, 1},
	{"auth_logs_tamper", "/var/log/btmp", TR, 1},
	{"auth_logs_tamper", "/var/log/lastlog", W | TR, 1},
	{"auth_logs_tamper", "/var/log/auth.log", MV, 1},
	{"auth_logs_tamper", "/var/log/secure", U, 1},
	{"auth_logs_tamper", "/run/utmp", U, 1},
	{"auth_logs_tamper", "/var/run/utmp", TR, 1},
	{"auth_logs_tamper", "/var/log/wtmp", W, 0},
	{"auth_logs_tamper", "/var/log/wtmp", O | R | W | C, 0},
	{"auth_logs_tamper", "/var/log/syslog", U, 0},
	{"auth_logs_tamper", "/var/log/wtmp.1", U, 0},
	{"auth_logs_tamper", "/tmp/var/log/wtmp", U, 0},

	{"ssh_auth_keys_modification", "/root/.ssh/authorized_keys", W, 1},
	{"ssh_auth_keys_modification", "/root/.ssh/authorized_keys2", C, 1},
	{"ssh_auth_keys_modification", "/home/bob/.ssh/authorized_keys", O | W, 1},
	{"ssh_auth_keys_modification", "/home/bob/.ssh/authorized_keys", U, 1},
	{"ssh_auth_keys_modification", "/home/bob/.ssh/authorized_keys", MV, 1},
	{"ssh_auth_keys_modification", "/home/bob/.ssh/authorized_keys", CH, 1},
	{"ssh_auth_keys_modification", "/home/bob/.ssh/authorized_keys", TR, 1},
	{"ssh_auth_keys_modification", "/root/.ssh/authorized_keys", R, 0},
	{"ssh_auth_keys_modification", "/root/.ssh/authorized_keys", O | R | X, 0},
	{"ssh_auth_keys_modification", "/root/.ssh/authorized_keys.bak", W, 0},
	{"ssh_auth_keys_modification", "/home/bob/.ssh/config", W, 0},
	{"ssh_auth_keys_modification", "/home/a/b/.ssh/authorized_keys", W, 0},

	{"sudoers_modification", "/etc/sudoers", W, 1},
	{"sudoers_modification", "/etc/sudoers", MV, 1},
	{"sudoers_modification", "/etc/sudoers.d/x", C, 1},
	{"sudoers_modification", "/etc/sudoers.d/90-cloud-init-users", W | CH, 1},
	{"sudoers_modification", "/etc/sudoers.d/x", U, 1},
	{"sudoers_modification", "/etc/sudoers", R, 0},
	{"sudoers_modification", "/etc/sudoers.d/x", O | R, 0},
	{"sudoers_modification", "/etc/sudoers.bak", W, 0},
	{"sudoers_modification", "/etc/sudoersx", W, 0},
	{"sudoers_modification", "/tmp/etc/sudoers", W, 0},
};

static const struct exec_case {
	const char *kind;
	const char *path;
	int want;
} exec_cases[] = {
	{"exec_from_unusual_dir", "/tmp/x", 1},
	{"exec_from_unusual_dir", "/dev/shm/x", 1},
	{"exec_from_unusual_dir", "/var/tmp/x", 1},
	{"exec_from_unusual_dir", "/tmp/a/b/c", 1},
	{"exec_from_unusual_dir", "/run/user/1000/x", 1},
	{"exec_from_unusual_dir", "/proc/self/fd/3", 1},
	{"exec_from_unusual_dir", "/usr/bin/ls", 0},
	{"exec_from_unusual_dir", "/tmpfoo/x", 0},
	{"exec_from_unusual_dir", "/tmp", 0},
	{"exec_from_unusual_dir", "/home/bob/tmp/x", 0},
	{"exec_from_unusual_dir", "/opt/dev/x", 0},
	{"exec_from_unusual_dir", "", 0},

	{"hidden_elf_exec", "/tmp/.x", 1},
	{"hidden_elf_exec", "/home/bob/.hidden", 1},
	{"hidden_elf_exec", "/.x", 1},
	{"hidden_elf_exec", "/tmp/...", 1},
	{"hidden_elf_exec", "/usr/bin/x", 0},
	{"hidden_elf_exec", "/a/.", 0},
	{"hidden_elf_exec", "/a/..", 0},
	{"hidden_elf_exec", "/home/bob/.local/bin/tool", 0},
	{"hidden_elf_exec", "/usr/bin/x.", 0},
	{"hidden_elf_exec", "", 0},

	{"net_scan_tool_exec", "/usr/bin/nmap", 1},
	{"net_scan_tool_exec", "/opt/masscan/bin/masscan", 1},
	{"net_scan_tool_exec", "/usr/sbin/zmap", 1},
	{"net_scan_tool_exec", "/usr/sbin/hping3", 1},
	{"net_scan_tool_exec", "nmap", 1},
	{"net_scan_tool_exec", "/usr/bin/nmapper", 0},
	{"net_scan_tool_exec", "/usr/bin/xnmap", 0},
	{"net_scan_tool_exec", "/nmap/bin/ls", 0},
	{"net_scan_tool_exec", "/usr/bin/nmap.sh", 0},

	{"data_encoder_exec", "/usr/bin/base64", 1},
	{"data_encoder_exec", "/usr/bin/base32", 1},
	{"data_encoder_exec", "/usr/bin/xxd", 1},
	{"data_encoder_exec", "/usr/bin/basenc", 1},
	{"data_encoder_exec", "/usr/bin/base64x", 0},
	{"data_encoder_exec", "/usr/bin/gzip", 0},
	{"data_encoder_exec", "/base64/ls", 0},
};

enum { EG = JB_FLOW_EGRESS, IN = JB_FLOW_INGRESS };

static const struct flow_case {
	const char *kind;
	int family;
	const char *daddr;
	uint16_t dport;
	int dir;
	int want;
} flow_cases[] = {
	{"cloud_metadata_access", AF_INET, "169.254.169.254", 80, EG, 1},
	{"cloud_metadata_access", AF_INET, "169.254.169.254", 443, EG, 1},
	{"cloud_metadata_access", AF_INET, "100.100.100.200", 80, EG, 1},
	{"cloud_metadata_access", AF_INET6, "fd00:ec2::254", 80, EG, 1},
	{"cloud_metadata_access", AF_INET, "169.254.169.254", 80, IN, 0},
	{"cloud_metadata_access", AF_INET6, "fd00:ec2::254", 80, IN, 0},
	{"cloud_metadata_access", AF_INET, "169.254.169.253", 80, EG, 0},
	{"cloud_metadata_access", AF_INET, "10.0.0.1", 80, EG, 0},
	{"cloud_metadata_access", AF_INET6, "fd00:ec2::253", 80, EG, 0},
	{"cloud_metadata_access", AF_INET, "169.254.169.254", 80, 0, 0},

	{"stratum_port_access", AF_INET, "203.0.113.5", 3333, EG, 1},
	{"stratum_port_access", AF_INET, "203.0.113.5", 14444, EG, 1},
	{"stratum_port_access", AF_INET6, "2001:db8::1", 5555, EG, 1},
	{"stratum_port_access", AF_INET, "203.0.113.5", 80, EG, 0},
	{"stratum_port_access", AF_INET, "203.0.113.5", 3333, IN, 0},
	{"stratum_port_access", AF_INET, "203.0.113.5", 3334, EG, 0},

	{"suspicious_port_access", AF_INET, "203.0.113.5", 4444, EG, 1},
	{"suspicious_port_access", AF_INET, "203.0.113.5", 31337, EG, 1},
	{"suspicious_port_access", AF_INET6, "2001:db8::1", 6667, EG, 1},
	{"suspicious_port_access", AF_INET, "203.0.113.5", 443, EG, 0},
	{"suspicious_port_access", AF_INET, "203.0.113.5", 4444, IN, 0},
	{"suspicious_port_access", AF_INET, "203.0.113.5", 0, EG, 0},
};

static struct jb_task dummy_task(void)
{
	struct jb_task t;

	memset(&t, 0, sizeof(t));
	t.key = 1;
	t.tgid = 4242;
	strcpy(t.comm, "sh");
	strcpy(t.exe, "/bin/sh");
	return t;
}

static struct jb_flow make_flow(int family, const char *daddr, uint16_t dport, int dir)
{
	struct jb_flow f;

	memset(&f, 0, sizeof(f));
	f.family = (uint16_t)family;
	f.proto = 6;
	f.dir = (uint8_t)dir;
	f.dport = dport;
	f.sport = 40000;
	ck_assert_int_eq(inet_pton(family, daddr, f.daddr), 1);
	return f;
}

START_TEST(match_links)
{
	struct jb_task t = dummy_task();

	for (size_t i = 0; i < sizeof(link_cases) / sizeof(link_cases[0]); i++) {
		const struct link_case *c = &link_cases[i];
		const struct wrk_def *d = def_of(&wrk_file_access, c->kind);
		ck_assert_msg(!!d->match_link(&t, c->path, c->actions) == c->want,
			      "%s('%s', 0x%x) != %d", c->kind, c->path, c->actions, c->want);
	}
}
END_TEST

START_TEST(match_execs)
{
	struct jb_task t = dummy_task();

	for (size_t i = 0; i < sizeof(exec_cases) / sizeof(exec_cases[0]); i++) {
		const struct exec_case *c = &exec_cases[i];
		const struct wrk_def *d = def_of(&wrk_execution, c->kind);
		ck_assert_msg(!!d->match_exec(&t, c->path) == c->want, "%s('%s') != %d", c->kind,
			      c->path, c->want);
	}
}
END_TEST

START_TEST(match_flows)
{
	struct jb_task t = dummy_task();

	for (size_t i = 0; i < sizeof(flow_cases) / sizeof(flow_cases[0]); i++) {
		const struct flow_case *c = &flow_cases[i];
		const struct wrk_def *d = def_of(&wrk_network, c->kind);
		struct jb_flow f = make_flow(c->family, c->daddr, c->dport, c->dir);
		ck_assert_msg(!!d->match_flow(&t, &f) == c->want, "%s(%s port %u dir %d) != %d",
			      c->kind, c->daddr, c->dport, c->dir, c->want);
		/* a flow without a known task (t == NULL) is judged the same */
		ck_assert_msg(!!d->match_flow(NULL, &f) == c->want, "%s(%s, no task)", c->kind,
			      c->daddr);
	}
}
END_TEST

/* An AF_INET6 socket reaches 169.254.169.254 through its v4-mapped form;
 * the kernel side records such a connect as family AF_INET6. */
START_TEST(match_flow_v4_mapped)
{
	const struct wrk_def *d = def_of(&wrk_network, "cloud_metadata_access");
	struct jb_flow f = make_flow(AF_INET6, "::ffff:169.254.169.254", 80, EG);

	ck_assert_msg(d->match_flow(NULL, &f), "connect to ::ffff:169.254.169.254 not detected");
}
END_TEST

/* Every definition has at least one positive and one negative case above. */
START_TEST(cases_cover_every_def)
{
	for (size_t m = 0; m < NMECH; m++) {
		for (size_t i = 0; i < mechs[m]->ndefs; i++) {
			const char *k = mechs[m]->defs[i].kind;
			int pos = 0, neg = 0;
			for (size_t j = 0; j < sizeof(link_cases) / sizeof(link_cases[0]); j++)
				if (!strcmp(link_cases[j].kind, k))
					link_cases[j].want ? pos++ : neg++;
			for (size_t j = 0; j < sizeof(exec_cases) / sizeof(exec_cases[0]); j++)
				if (!strcmp(exec_cases[j].kind, k))
					exec_cases[j].want ? pos++ : neg++;
			for (size_t j = 0; j < sizeof(flow_cases) / sizeof(flow_cases[0]); j++)
				if (!strcmp(flow_cases[j].kind, k))
					flow_cases[j].want ? pos++ : neg++;
			ck_assert_msg(pos >= 1 && neg >= 1, "%s: %d positive, %d negative cases", k,
				      pos, neg);
		}
	}
}
END_TEST

/* ---------------------------------------------------------------------- */

START_TEST(helpers_basename)
{
	ck_assert_str_eq(wrk_basename("/usr/bin/ls"), "ls");
	ck_assert_str_eq(wrk_basename("ls"), "ls");
	ck_assert_str_eq(wrk_basename("/ls"), "ls");
	ck_assert_str_eq(wrk_basename("/"), "");
	ck_assert_str_eq(wrk_basename("/a/b/"), "");
	ck_assert_str_eq(wrk_basename(""), "");
	ck_assert_str_eq(wrk_basename("/tmp/.x"), ".x");
	ck_assert_str_eq(wrk_basename("a/b"), "b");
	{
		const char *p = "/x/y/z";
		ck_assert_ptr_eq(wrk_basename(p), p + 5); /* points into the input */
	}
}
END_TEST

START_TEST(helpers_path_under)
{
	ck_assert_int_ne(wrk_path_under("/tmp/x", "/tmp/"), 0);
	ck_assert_int_ne(wrk_path_under("/tmp/a/b", "/tmp/"), 0);
	ck_assert_int_ne(wrk_path_under("/tmp/", "/tmp/"), 0);
	ck_assert_int_eq(wrk_path_under("/tmpfoo/x", "/tmp/"), 0);
	ck_assert_int_eq(wrk_path_under("/tmp", "/tmp/"), 0);
	ck_assert_int_eq(wrk_path_under("", "/tmp/"), 0);
	ck_assert_int_eq(wrk_path_under("/var/tmp/x", "/tmp/"), 0);
	ck_assert_int_eq(wrk_path_under("/TMP/x", "/tmp/"), 0);
	ck_assert_int_ne(wrk_path_under("/anything", "/"), 0);
}
END_TEST

/* ---------------------------------------------------------------------- */

/* A hand-built snapshot view: pid 1 <- grandparent <- parent <- child,
 * task keys chosen so that the array sorted by key is not in chain order. */
#define K_INIT 10
#define K_GP 70
#define K_PARENT 30
#define K_CHILD 50

static struct jb_task tasks[8];
static struct jb_file files[2];
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

/* Build the chain; returns the child. */
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
	memset(&view, 0, sizeof(view));
	view.seq = 1;
	view.tasks = tasks;
	view.ntasks = 4;
	view.files = files;
	view.nfiles = 1;
	ck_assert_ptr_nonnull(jb_snap_task(&view, K_CHILD));
	return jb_snap_task(&view, K_CHILD);
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
static json_t *event(const struct wrk_mechanism *m, const char *kind, const struct jb_task *t,
		     const struct jb_file *f, uint32_t actions, const struct jb_flow *fl)
{
	char *s = wrk_event_json(&CTX, m, def_of(m, kind), &view, t, f, actions, fl, EVENT_NS);
	json_error_t err;
	json_t *j;

	ck_assert_ptr_nonnull(s);
	ck_assert_ptr_null(strchr(s, '\n'));
	j = json_loads(s, JSON_REJECT_DUPLICATES, &err);
	ck_assert_msg(j != NULL, "invalid JSON (%s): %s", err.text, s);
	ck_assert(json_is_object(j));
	free(s);
	return j;
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
	wrk_process_id(CTX.boot_id, t->tgid, t->start_ticks, id);
	ck_assert_str_eq(str_at(p, "id"), id);
	ck_assert_int_eq(int_at(p, "pid"), t->tgid);
	ck_assert_str_eq(str_at(p, "exe"), t->exe);
	ck_assert(json_is_string(json_object_get(p, "args")));
	ck_assert(matches(ISO_RE, str_at(p, "start")));
	if (full) {
		ck_assert_int_eq(int_at(p, "ppid"), t->ppid);
		ck_assert_int_eq(int_at(p, "uid"), t->uid);
		ck_assert_str_eq(str_at(p, "comm"), t->comm);
	}
}

START_TEST(event_file_fields)
{
	const struct jb_task *child = build_view();
	json_t *j = event(&wrk_file_access, "credentials_files_access", child, &files[0],
			  JB_ACT_OPEN | JB_ACT_READ, NULL);
	const struct wrk_def *d = def_of(&wrk_file_access, "credentials_files_access");
	json_t *mitre, *proc, *par, *anc, *f, *acts;

	ck_assert(matches(UUID4_RE, str_at(j, "uuid")));
	ck_assert(matches(ISO_RE, str_at(j, "timestamp")));
	ck_assert_str_eq(str_at(j, "event_time"), "2024-01-02T03:04:05.123456Z");
	ck_assert_str_eq(str_at(j, "kind"), "credentials_files_access");
	ck_assert_str_eq(str_at(j, "name"), d->name);
	ck_assert_str_eq(str_at(j, "mechanism"), "file_access");
	ck_assert_str_eq(str_at(j, "importance"), d->importance);
	mitre = json_object_get(j, "mitre");
	ck_assert(json_is_object(mitre));
	ck_assert_str_eq(str_at(mitre, "tactic"), d->tactic);
	ck_assert_str_eq(str_at(mitre, "technique"), d->technique);
	ck_assert_str_eq(str_at(j, "hostname"), "host-1");

	proc = json_object_get(j, "process");
	check_process(proc, child, 1);
	ck_assert_int_eq(int_at(proc, "pid"), 400);
	ck_assert_int_eq(int_at(proc, "ppid"), 300);
	ck_assert_str_eq(str_at(proc, "comm"), "cat");
	ck_assert_str_eq(str_at(proc, "args"), "cat /etc/shadow");
	/* boot + 400 * 100 ticks at USER_HZ 100 = 400 s after boot */
	ck_assert_str_eq(str_at(proc, "start"), "2024-01-01T00:06:40.000000Z");

	par = json_object_get(j, "parent");
	check_process(par, task_mut(K_PARENT), 1);
	ck_assert_int_eq(int_at(par, "pid"), 300);

	anc = json_object_get(j, "ancestry");
	ck_assert(json_is_array(anc));
	ck_assert_uint_eq(json_array_size(anc), 3);
	check_process(json_array_get(anc, 0), task_mut(K_PARENT), 0);
	check_process(json_array_get(anc, 1), task_mut(K_GP), 0);
	check_process(json_array_get(anc, 2), task_mut(K_INIT), 0);
	ck_assert_int_eq(int_at(json_array_get(anc, 2), "pid"), 1);
	ck_assert_str_eq(str_at(json_array_get(anc, 1), "args"), "sshd -D");

	f = json_object_get(j, "file");
	ck_assert(json_is_object(f));
	ck_assert_str_eq(str_at(f, "path"), "/etc/shadow");
	acts = json_object_get(f, "actions");
	ck_assert(json_is_array(acts));
	ck_assert_uint_eq(json_array_size(acts), 2);
	ck_assert_str_eq(json_string_value(json_array_get(acts, 0)), "open");
	ck_assert_str_eq(json_string_value(json_array_get(acts, 1)), "read");
	ck_assert_ptr_null(json_object_get(j, "flow"));
	json_decref(j);
}
END_TEST

START_TEST(event_flow_fields)
{
	const struct jb_task *child = build_view();
	struct jb_flow fl = make_flow(AF_INET, "169.254.169.254", 80, JB_FLOW_EGRESS);
	struct jb_flow fl6 = make_flow(AF_INET6, "fd00:ec2::254", 80, JB_FLOW_EGRESS);
	json_t *j, *flow, *remote, *local;

	ck_assert_int_eq(inet_pton(AF_INET, "10.1.2.3", fl.saddr), 1);
	j = event(&wrk_network, "cloud_metadata_access", child, NULL, 0, &fl);
	ck_assert_str_eq(str_at(j, "mechanism"), "network");
	ck_assert_ptr_null(json_object_get(j, "file"));
	flow = json_object_get(j, "flow");
	ck_assert(json_is_object(flow));
	ck_assert_str_eq(str_at(flow, "protocol"), "tcp");
	ck_assert_str_eq(str_at(flow, "direction"), "egress");
	local = json_object_get(flow, "local");
	remote = json_object_get(flow, "remote");
	ck_assert(json_is_object(local) && json_is_object(remote));
	ck_assert_str_eq(str_at(local, "address"), "10.1.2.3");
	ck_assert_int_eq(int_at(local, "port"), 40000);
	ck_assert_str_eq(str_at(remote, "address"), "169.254.169.254");
	ck_assert_int_eq(int_at(remote, "port"), 80);
	json_decref(j);

	fl6.proto = 17;
	fl6.dir = JB_FLOW_INGRESS;
	j = event(&wrk_network, "cloud_metadata_access", child, NULL, 0, &fl6);
	flow = json_object_get(j, "flow");
	ck_assert_str_eq(str_at(flow, "protocol"), "udp");
	ck_assert_str_eq(str_at(flow, "direction"), "ingress");
	ck_assert_str_eq(str_at(json_object_get(flow, "remote"), "address"), "fd00:ec2::254");
	json_decref(j);

	/* an ingress flow with no known task */
	j = event(&wrk_network, "cloud_metadata_access", NULL, NULL, 0, &fl);
	ck_assert(json_is_null(json_object_get(j, "process")));
	ck_assert(json_is_null(json_object_get(j, "parent")));
	ck_assert_uint_eq(json_array_size(json_object_get(j, "ancestry")), 0);
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
	j = event(&wrk_execution, "exec_from_unusual_dir", c, NULL, 0, NULL);
	ck_assert_str_eq(str_at(json_object_get(j, "process"), "args"), "sh -c echo hi");
	json_decref(j);
	/* args_len beyond the buffer (a corrupt record) is clipped */
	memset(c->args, 'A', sizeof(c->args));
	c->args_len = 100000;
	j = event(&wrk_execution, "exec_from_unusual_dir", c, NULL, 0, NULL);
	ck_assert_uint_eq(strlen(str_at(json_object_get(j, "process"), "args")), JB_ARGS_LEN);
	json_decref(j);
	/* empty */
	c->args_len = 0;
	j = event(&wrk_execution, "exec_from_unusual_dir", c, NULL, 0, NULL);
	ck_assert_str_eq(str_at(json_object_get(j, "process"), "args"), "");
	json_decref(j);
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
	j = event(&wrk_file_access, "credentials_files_access", c, &files[0], JB_ACT_READ, NULL);
	ck_assert_str_eq(str_at(json_object_get(j, "file"), "path"), "/tmp/\xef\xbf\xbd\xef\xbf\xbd");
	ck_assert_str_eq(str_at(json_object_get(j, "process"), "comm"), "x\xef\xbf\xbd");
	ck_assert_str_eq(str_at(json_object_get(j, "process"), "exe"),
			 "/tmp/\xef\xbf\xbd\xef\xbf\xbd");
	json_decref(j);
	/* valid multi-byte UTF-8 is kept as is */
	strcpy(files[0].path, "/home/j\xc3\xa9r\xc3\xb4me/\xe2\x82\xac/\xf0\x9f\x94\x91");
	j = event(&wrk_file_access, "credentials_files_access", c, &files[0], JB_ACT_READ, NULL);
	ck_assert_str_eq(str_at(json_object_get(j, "file"), "path"),
			 "/home/j\xc3\xa9r\xc3\xb4me/\xe2\x82\xac/\xf0\x9f\x94\x91");
	json_decref(j);
	/* a full path buffer with no NUL stays bounded */
	memset(files[0].path, 'a', sizeof(files[0].path));
	j = event(&wrk_file_access, "credentials_files_access", c, &files[0], JB_ACT_READ, NULL);
	ck_assert_uint_eq(strlen(str_at(json_object_get(j, "file"), "path")), JB_PATH_LEN);
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
		j = event(&wrk_file_access, "credentials_files_access", c, &files[0], JB_ACT_READ,
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
	j = event(&wrk_file_access, "credentials_files_access", c, &files[0], JB_ACT_READ, NULL);
	anc = json_object_get(j, "ancestry");
	ck_assert(json_is_array(anc));
	ck_assert_uint_ge(json_array_size(anc), 2);
	ck_assert_uint_le(json_array_size(anc), 32);
	ck_assert_int_eq(int_at(json_array_get(anc, 0), "pid"), 300);
	ck_assert_int_eq(int_at(json_array_get(anc, 1), "pid"), 200);
	json_decref(j);

	/* a task that is its own parent */
	build_view();
	task_mut(K_PARENT)->parent_key = K_PARENT;
	j = event(&wrk_file_access, "credentials_files_access", task_mut(K_CHILD), &files[0],
		  JB_ACT_READ, NULL);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "ancestry")), 1);
	json_decref(j);
}
END_TEST

/* event.c promises the walk "stops at a cycle": no process is listed twice. */
START_TEST(event_ancestry_cycle_no_repeats)
{
	json_t *j, *anc;

	build_view();
	task_mut(K_GP)->parent_key = K_CHILD;
	j = event(&wrk_file_access, "credentials_files_access", task_mut(K_CHILD), &files[0],
		  JB_ACT_READ, NULL);
	anc = json_object_get(j, "ancestry");
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
	j = event(&wrk_file_access, "credentials_files_access", c, &files[0], JB_ACT_READ, NULL);
	ck_assert(json_is_object(json_object_get(j, "process")));
	ck_assert(json_is_null(json_object_get(j, "parent")));
	ck_assert(json_is_array(json_object_get(j, "ancestry")));
	ck_assert_uint_eq(json_array_size(json_object_get(j, "ancestry")), 0);
	json_decref(j);

	c->parent_key = 0; /* parent unknown */
	j = event(&wrk_file_access, "credentials_files_access", c, &files[0], JB_ACT_READ, NULL);
	ck_assert(json_is_null(json_object_get(j, "parent")));
	ck_assert_uint_eq(json_array_size(json_object_get(j, "ancestry")), 0);
	json_decref(j);

	/* a hole further up ends the ancestry there */
	build_view();
	task_mut(K_GP)->parent_key = 12345;
	j = event(&wrk_file_access, "credentials_files_access", task_mut(K_CHILD), &files[0],
		  JB_ACT_READ, NULL);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "ancestry")), 2);
	json_decref(j);
}
END_TEST

START_TEST(event_uuid_unique)
{
	const struct jb_task *c = build_view();
	char seen[64][37];

	for (int i = 0; i < 64; i++) {
		json_t *j = event(&wrk_file_access, "credentials_files_access", c, &files[0],
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
	struct wrk_event_ctx ctx = CTX;
	char *s;
	json_t *j;

	ctx.hostname = "h\xff\"\\\n";
	s = wrk_event_json(&ctx, &wrk_file_access, def_of(&wrk_file_access, "binary_self_deletion"),
			   &view, c, &files[0], JB_ACT_EXEC | JB_ACT_UNLINK, NULL, EVENT_NS);
	ck_assert_ptr_nonnull(s);
	j = json_loads(s, 0, NULL);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(str_at(j, "hostname"), "h\xef\xbf\xbd\"\\\n");
	ck_assert_uint_eq(json_array_size(json_object_get(json_object_get(j, "file"), "actions")),
			  2);
	json_decref(j);
	free(s);
}
END_TEST

/* ---------------------------------------------------------------------- */

START_TEST(process_id)
{
	char a[17], b[17];

	memset(a, 'Z', sizeof(a));
	wrk_process_id("boot-a", 1234, 5678, a);
	ck_assert_uint_eq(strlen(a), 16);
	ck_assert_uint_eq(strspn(a, "0123456789abcdef"), 16);
	wrk_process_id("boot-a", 1234, 5678, b);
	ck_assert_str_eq(a, b);
	wrk_process_id("boot-b", 1234, 5678, b);
	ck_assert_str_ne(a, b);
	wrk_process_id("boot-a", 1235, 5678, b);
	ck_assert_str_ne(a, b);
	wrk_process_id("boot-a", 1234, 5679, b);
	ck_assert_str_ne(a, b);
	wrk_process_id("", 0, 0, b);
	ck_assert_uint_eq(strlen(b), 16);
	ck_assert_uint_eq(strspn(b, "0123456789abcdef"), 16);
	/* pid and start are not interchangeable */
	wrk_process_id("boot-a", 5, 6, a);
	wrk_process_id("boot-a", 6, 5, b);
	ck_assert_str_ne(a, b);
}
END_TEST

/* ---------------------------------------------------------------------- */

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

	add(s, "tables", (const TTest *[]){ tables_by_name, tables_complete, NULL });
	add(s, "file_access", (const TTest *[]){ match_links, NULL });
	add(s, "execution", (const TTest *[]){ match_execs, NULL });
	add(s, "network", (const TTest *[]){ match_flows, match_flow_v4_mapped, NULL });
	add(s, "case_coverage", (const TTest *[]){ cases_cover_every_def, NULL });
	add(s, "helpers", (const TTest *[]){ helpers_basename, helpers_path_under, NULL });
	add(s, "event_fields", (const TTest *[]){ event_file_fields, event_flow_fields,
		event_hostname, NULL });
	add(s, "event_args", (const TTest *[]){ event_args, NULL });
	add(s, "event_utf8", (const TTest *[]){ event_invalid_utf8,
		event_invalid_utf8_wellformed_looking, NULL });
	add(s, "event_ancestry", (const TTest *[]){ event_ancestry_cycle,
		event_ancestry_cycle_no_repeats, event_missing_parent, NULL });
	add(s, "event_uuid", (const TTest *[]){ event_uuid_unique, NULL });
	add(s, "process_id", (const TTest *[]){ process_id, NULL });
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(detect_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
