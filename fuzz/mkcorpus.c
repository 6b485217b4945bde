/*
 * mkcorpus.c - writes the seed corpus of the harnesses whose inputs are
 * binary: valid IPC messages of every type made by the real encoders
 * (DIR/ipc/), snapshot regions made by the real writer (DIR/snapshot/,
 * in fuzz_snapshot.c's compact form: the region header, then the region
 * from JB_SNAP_HDR_SIZE on), and audit logs sealed by the real sealer with
 * fuzz_audit.c's fixed key (DIR/audit/: whole, damaged, cut).
 *
 *   make fuzz-corpus     (runs build/fuzz/mkcorpus fuzz/corpus)
 *
 * Regions are kept small (capacities of a few records) so that the
 * checked-in seeds stay a few KiB each.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "ipc/msg.h"
#include "ipc/snapshot.h"
#include "supervisor/audit.h"

static const char *dir;

static void put(const char *sub, const char *name, const void *data, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name);
	f = fopen(path, "wb");
	if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

static void msg(const char *name, int len, const char *buf)
{
	if (len < 0) {
		fprintf(stderr, "mkcorpus: cannot encode %s\n", name);
		exit(1);
	}
	put("ipc", name, buf, (size_t)len);
}

static void ipc_seeds(void)
{
	static char b[IPC_MAX_MSG];
	static const char recipe[] = "- kind: x\n  name: x\n";
	static const char json[] = "{\"kind\":\"credentials_files_access\",\"pid\":42}";
	static const char status[] = "{\"version\":1,\"agent\":{\"mono_ms\":5,\"cadence_ms\":1000}}";

	msg("config", ipc_enc_config(b, sizeof(b), 3, 1000, 0, "0123456789abcdef", "host"), b);
	msg("snapshot", ipc_enc_snapshot(b, sizeof(b), 17, 1, 123456789), b);
	msg("print", ipc_enc_print(b, sizeof(b), 9, json, sizeof(json) - 1), b);
	msg("recipe", ipc_enc_recipe(b, sizeof(b), "builtin:recipes/x.yaml", recipe,
				     sizeof(recipe) - 1, IPC_RCP_CONT), b);
	msg("recipe-end", ipc_enc_recipe(b, sizeof(b), "disabled", "a_kind\nb_kind\n", 14,
					 IPC_RCP_DISABLED | IPC_RCP_END), b);
	msg("hello", ipc_enc_hello(b, sizeof(b), IPC_ROLE_WORKER, "file_access", 3, 4242), b);
	msg("ready", ipc_enc_ready(b, sizeof(b)), b);
	msg("heartbeat", ipc_enc_heartbeat(b, sizeof(b), 100000, 7), b);
	msg("log", ipc_enc_log(b, sizeof(b), IPC_LOG_WARN, "worker: something odd"), b);
	msg("snapshot-done", ipc_enc_snapshot_done(b, sizeof(b), 17), b);
	msg("detection", ipc_enc_detection(b, sizeof(b), "credentials_files_access",
					   "k:1:2", json, sizeof(json) - 1,
					   "0\tprocess 1\n4\tbash<sshd #00ff\n"), b);
	msg("printed", ipc_enc_printed(b, sizeof(b), 9), b);
	msg("loss", ipc_enc_loss(b, sizeof(b), "spool_full", 12, "spool: oldest file dropped"), b);
	msg("status", ipc_enc_status(b, sizeof(b), status, sizeof(status) - 1), b);
	msg("prn-stats", ipc_enc_prn_stats(b, sizeof(b), 3, 1200, 10, 4096, 77, 2, 1), b);
	msg("summary", ipc_enc_summary(b, sizeof(b), 1700000000000ull, 1700000300000ull, 3,
				       "gpt-4o-mini", "kind\tx\t3\nimportance\tcritical\t3\n",
				       "Three reads of a secret.", 24), b);
}

static void task(struct jb_task *t, uint64_t key, uint64_t parent, uint32_t pid, const char *exe)
{
	memset(t, 0, sizeof(*t));
	t->key = key;
	t->parent_key = parent;
	t->tgid = pid;
	t->ppid = pid > 1 ? pid - 1 : 0;
	t->start_ticks = pid * 10;
	t->first_ns = t->last_ns = pid * 1000;
	snprintf(t->comm, sizeof(t->comm), "%s", strrchr(exe, '/') + 1);
	snprintf(t->exe, sizeof(t->exe), "%s", exe);
	t->args_len = (uint32_t)snprintf(t->args, sizeof(t->args), "%s", exe) + 4;
	memcpy(t->args + t->args_len - 3, "-c", 3);
	t->env_len = 16;
	memcpy(t->env, "LD_PRELOAD=/x.so", 16);
}

static void file(struct jb_snap_region *r, struct jb_snap_slot_hdr *h, uint64_t key,
		 const char *path)
{
	struct jb_file f;

	memset(&f, 0, sizeof(f));
	f.key = key;
	f.first_ns = key;
	memset(f.path, 'a', sizeof(f.path)); /* no NUL: the writer cuts it */
	if (path)
		snprintf(f.path, sizeof(f.path), "%s", path);
	if (jb_snap_add_file(r, h, &f) < 0)
		exit(1);
}

/* the network namespace cookie of every flow and domain of the corpus */
#define CORPUS_NETNS 4096

static void domain(struct jb_snap_domain *d, uint16_t family, const char *addr,
		   const char *names, size_t len)
{
	memset(d, 0, sizeof(*d));
	d->key.netns = CORPUS_NETNS;
	d->key.family = family;
	inet_pton(family, addr, d->key.addr);
	memcpy(d->dns.names, names, len);
	d->dns.len = (uint16_t)len;
	d->dns.count = 2;
}

static void flow(struct jb_flow *f, uint64_t key, uint64_t task, uint16_t family,
		 const char *addr, uint16_t port)
{
	memset(f, 0, sizeof(*f));
	f->key = key;
	f->task_key = task;
	f->family = family;
	f->proto = 6;
	f->dir = 1;
	f->dport = port;
	f->count = 1;
	f->netns = CORPUS_NETNS; /* the domains' namespace: names join */
	inet_pton(family, addr, f->daddr);
}

static void tamper(struct jb_snap_region *r, struct jb_snap_slot_hdr *h, uint32_t klass,
		   uint64_t task, const char *name)
{
	struct jb_tamper t;

	memset(&t, 0, sizeof(t));
	t.key = klass * 1000 + task;
	t.task_key = task;
	t.first_ns = t.last_ns = h->taken_ns;
	t.klass = klass;
	t.op = 2;
	t.tgid = 40;
	t.target_pid = 1234;
	t.target_row = JB_AGENT_ROW_SUPERVISOR;
	t.count = 3;
	memcpy(t.comm, "cat", 3);
	memset(t.name, 'n', sizeof(t.name)); /* no NUL: the writer cuts it */
	if (name)
		snprintf(t.name, sizeof(t.name), "%s", name);
	if (jb_snap_add_tamper(r, h, &t) < 0)
		exit(1);
}

/* One snapshot: a chain init <- sshd <- bash <- cat, files, links, flows,
 * domains and tampers; 'v' varies it. */
static void fill(struct jb_snap_region *r, uint32_t slot, uint64_t seq, int v)
{
	static const char names[] = "example.com\0cdn.example.net";
	struct jb_task *t;
	struct jb_snap_link *l;
	struct jb_flow *fl;
	struct jb_snap_domain *d;
	struct jb_snap_slot_hdr *h = jb_snap_begin(r, slot, seq, &t, &l, &fl);
	uint32_t cap;

	h->taken_ns = seq * 1000000;
	h->since_ns = (seq - 1) * 1000000;
	task(&t[0], 400, 300, 40, "/usr/bin/cat");
	task(&t[1], 300, 200, 30, "/usr/bin/bash");
	task(&t[2], 200, v ? 100 : 0, 20, "/usr/sbin/sshd");
	task(&t[3], 100, 0, 1, "/sbin/init");
	/* cgroups: cat in a container, bash in a unit, init at the root; sshd's
	 * id has no path (a cgroup gone before the walk) */
	t[0].cgroup_id = 4000;
	t[1].cgroup_id = 3000;
	t[2].cgroup_id = 2000;
	t[3].cgroup_id = 1;
	jb_snap_add_cgroup(r, h, 4000, v ? "/kubepods/besteffort/pod1b4e28ba-2fa1-11d2-883f-"
				   "0016d3cca427/0123456789abcdef0123456789abcdef0123456789abcdef"
				   "0123456789abcdef"
				 : "/system.slice/docker-0123456789abcdef0123456789abcdef0123456789"
				   "abcdef0123456789abcdef.scope");
	jb_snap_add_cgroup(r, h, 3000, "/system.slice/ssh.service");
	jb_snap_add_cgroup(r, h, 1, "/");
	file(r, h, 900, "/etc/shadow");
	file(r, h, 800, v ? NULL : "/home/u/.ssh/id_rsa");
	file(r, h, 700, "/");
	memset(l, 0, 3 * sizeof(*l));
	l[0].key.task_key = 400;
	l[0].key.file_key = 900;
	l[0].link.actions = JB_ACT_OPEN | JB_ACT_READ;
	l[1].key.task_key = 300;
	l[1].key.file_key = 800;
	l[1].link.actions = JB_ACT_WRITE;
	l[2].key.task_key = 400;
	l[2].key.file_key = 1;	/* a file not in the snapshot */
	flow(&fl[0], 11, 400, AF_INET, "93.184.216.34", 443);
	flow(&fl[1], 12, 300, AF_INET6, "::ffff:93.184.216.34", 4444);
	flow(&fl[2], 13, 0, AF_INET6, "2001:db8::1", 53);
	d = jb_snap_domains(r, h, &cap);
	if (cap < 3)
		exit(1);
	domain(&d[0], AF_INET, "93.184.216.34", names, sizeof(names));
	domain(&d[1], AF_INET6, "2001:db8::1", names, v ? sizeof(names) - 1 : 12);
	domain(&d[2], AF_INET, "10.0.0.1", "", 0);
	h->ndomains = 3;
	tamper(r, h, JB_TAMPER_SIGNAL, 400, "");
	tamper(r, h, JB_TAMPER_FILE, 300, v ? NULL : "/etc/jibril/jibril.conf");
	jb_snap_publish(h, 4, 3, 3);
}

static void region(const char *name, uint32_t nslots, int v)
{
	struct jb_snap_region r;
	const size_t hsz = sizeof(struct jb_snap_region_hdr);
	uint8_t *out;
	size_t len;

	if (jb_snap_create_all(&r, nslots, 4, 4, 4, 4, 4, 2) < 0) {
		perror("jb_snap_create_all");
		exit(1);
	}
	for (uint32_t s = 0; s < nslots; s++)
		fill(&r, s, 7 + s, v ^ (int)s);
	len = hsz + r.size - JB_SNAP_HDR_SIZE;
	out = malloc(len);
	if (!out)
		exit(1);
	memcpy(out, r.base, hsz);
	memcpy(out + hsz, r.base + JB_SNAP_HDR_SIZE, r.size - JB_SNAP_HDR_SIZE);
	put("snapshot", name, out, len);
	free(out);
	jb_snap_destroy(&r);
}

/* An audit log of n records sealed with fuzz_audit.c's key (bytes 0..31). */
static size_t audit_log(char *out, size_t cap, int n)
{
	unsigned char key[SUP_AUDIT_KEY_LEN];
	struct sup_audit_link link = {0};
	size_t off = 0;

	for (int i = 0; i < SUP_AUDIT_KEY_LEN; i++)
		key[i] = (unsigned char)i;
	for (int i = 1; i <= n; i++) {
		json_t *rec = json_pack("{s:i,s:s,s:s,s:{s:s,s:i,s:s?}}", "seq", i, "time",
					"2026-01-01T00:00:00.000000Z", "type",
					i == 1 ? "start" : "child_state", "data", "kind", "file",
					"pid", 100 + i, "why", i % 2 ? "killed by signal 9" : NULL);
		size_t len;
		char *line = rec ? sup_audit_seal(key, &link, rec, &len, &link) : NULL;

		if (!line || off + len > cap)
			exit(1);
		memcpy(out + off, line, len);
		off += len;
		free(line);
		json_decref(rec);
	}
	return off;
}

static void audit_seeds(void)
{
	static char log[8192];
	size_t n = audit_log(log, sizeof(log), 5), first = strchr(log, '\n') - log + 1;

	put("audit", "clean.log", log, n);
	put("audit", "cut.log", log, n - 40);
	log[first + 20] ^= 1;
	put("audit", "edited.log", log, n);
	n = audit_log(log, sizeof(log), 1);
	put("audit", "one.log", log, n);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: mkcorpus DIR (writes DIR/ipc/, DIR/snapshot/ and DIR/audit/)\n");
		return 2;
	}
	dir = argv[1];
	ipc_seeds();
	region("one-slot", 1, 0);
	region("two-slots", 2, 1);
	audit_seeds();
	return 0;
}
