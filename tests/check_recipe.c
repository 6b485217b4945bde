/*
 * check_recipe.c - the recipe engine: the YAML loader (rcp/recipe_load.c and
 * the files it uses), the matchers and times keys (rcp/recipe_match.c), the
 * supervisor's gathering of built-in and operator recipes with its
 * permission checks (supervisor/recipes.c) and the central times limits
 * (supervisor/limits.c).
 *
 * Invariants checked: every refused recipe names "source:line:" and what is
 * wrong, and leaves the set empty; macros and shorthands expand as
 * RECIPES.md says; each matcher fires on its positive cases and stays quiet
 * on its negatives (snapshot data is a hand-built, key-sorted view); times
 * keys are printable; a recipe directory or file that is not private to
 * root is refused with a reason naming it (those tests need root to chown:
 * they print "SKIP:" and pass otherwise); limits suppress exactly past max
 * and the summaries count what they suppressed, then reset; the files the
 * supervisor protects for the built-in catalogue on a fake host (a private
 * mount namespace: root only, else "SKIP:").
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>
#include <jansson.h>

#include "bpf/jibril.h"
#include "common/kind.h"
#include "ipc/msg.h"
#include "ipc/snapshot.h"
#include "supervisor/config.h"
#include "supervisor/envnames.h"
#include "supervisor/limits.h"
#include "supervisor/recipes.h"
#include "supervisor/watch.h"
#include "workers/detect.h"
#include "rcp/load.h"
#include "rcp/recipe.h"
#include "rcp/task.h"
#include "common/text.h"
#include "tests/lib/clock.h"

/* action bits beyond enum jb_action (the loader's numbering) */
#define A_MMAP (1u << 9)
#define A_LINK (1u << 10)
#define A_CLOSE (1u << 11)
#define A_FSYNC (1u << 12)
#define A_FLOCK (1u << 13)
#define A_FASYNC (1u << 14)
#define A_LLSEEK (1u << 15)
#define A_ALL 0xffffu

/* Six lines of identity: extra keys of a recipe start on line 7. */
#define HDR(kind, mech)                                                                  \
	"- kind: " kind "\n  name: Test " kind "\n  mechanism: " mech "\n"                \
	"  tactic: discovery\n  technique: T1082 System Information Discovery\n"         \
	"  importance: low\n"

static struct rcp_set S;
static struct sup_limits *LT; /* the times-limit counters under test */
static char ERR[2048];

/* ---- fake domain lists for remote_domains_file ---------------------------- */
static const struct rcp_source lists[] = {
	{"lists/good.txt", "# a comment\nexample.com\n  Foo.ORG.  # trailing comment\n\nbar.net\n",
	 0},
	{"lists/bad.txt", "ok.com\n# fine\nbad domain!\n", 0},
	{"/abs/list.txt", "abs.example\n", 0},
#define NUL_LIST "ok.example\nspaced.\0evil\n"
#define NUL_COMMENT_LIST "ok.example\n\nx.example # \0\n"
	{"lists/nul.txt", NUL_LIST, sizeof(NUL_LIST) - 1}, /* len: past the NUL */
	{"lists/nul-comment.txt", NUL_COMMENT_LIST, sizeof(NUL_COMMENT_LIST) - 1},
};

static int file_cb(const char *from, const char *path, struct rcp_source *out, char *err,
		   size_t errlen, void *arg)
{
	char name[4096];
	int *calls = arg;

	if (calls)
		(*calls)++;
	if (rcp_resolve(from, path, name, sizeof(name)) < 0) {
		snprintf(err, errlen, "path too long");
		return -1;
	}
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		if (!strcmp(lists[i].name, name)) {
			*out = lists[i];
			if (!out->len)
				out->len = strlen(lists[i].data);
			return 0;
		}
	snprintf(err, errlen, "no such list %s", name);
	return -1;
}

/* The mechanisms the worker kind named runs (its row), 0 for NULL: all. */
static uint32_t mechs_of(const char *worker)
{
	const struct jb_kind *k = worker ? jb_kind_find(jb_kinds, jb_nkinds, worker) : NULL;

	ck_assert_msg(!worker || (k && k->role == IPC_ROLE_WORKER), "no worker kind %s", worker);
	return k ? k->mechs : 0;
}

static int load_n(const struct rcp_source *src, size_t n, const char *const *disabled,
		  const char *worker)
{
	memset(ERR, 0, sizeof(ERR));
	rcp_set_free(&S);
	return rcp_load(&S, src, n, disabled, mechs_of(worker), file_cb, NULL, ERR, sizeof(ERR));
}

static int load1(const char *yaml)
{
	struct rcp_source src = {"t.yaml", yaml, strlen(yaml)};
	return load_n(&src, 1, NULL, NULL);
}

static const struct recipe *ok1(const char *yaml, const char *kind)
{
	const struct recipe *r;

	ck_assert_msg(load1(yaml) == 0, "load failed: %s\n--\n%s", ERR, yaml);
	r = rcp_find(&S, kind);
	ck_assert_msg(r != NULL, "no recipe %s", kind);
	return r;
}

/* The load must fail with "t.yaml:LINE: ...word..." and leave S empty. */
static void bad_at(const char *src, const char *yaml, size_t len, int line, const char *word)
{
	struct rcp_source s = {src, yaml, len};
	char prefix[256];

	ck_assert_msg(load_n(&s, 1, NULL, NULL) == -1, "accepted:\n%s", yaml);
	snprintf(prefix, sizeof(prefix), "%s:%d: ", src, line);
	ck_assert_msg(!strncmp(ERR, prefix, strlen(prefix)), "error '%s' does not start with '%s'",
		      ERR, prefix);
	ck_assert_msg(strstr(ERR + strlen(prefix), word) != NULL, "error '%s' lacks '%s'", ERR,
		      word);
	ck_assert_ptr_null(S.r);
	ck_assert_uint_eq(S.n, 0);
}

static void bad1(const char *yaml, int line, const char *word)
{
	bad_at("t.yaml", yaml, strlen(yaml), line, word);
}

static void teardown(void) { rcp_set_free(&S); }

/* ---- a hand-built snapshot view ---------------------------------------------
 * pid 1 <- sshd <- bash <- cat; keys chosen so that key order is not chain
 * order (the view needs tasks sorted by key). */
#define K_INIT 10
#define K_GP 70
#define K_PARENT 30
#define K_CHILD 50

static struct jb_task tasks[8];
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
	t->uid = tgid == 400 ? 1000 : 0;
	t->start_ticks = 100 * tgid;
	strncpy(t->comm, comm, sizeof(t->comm) - 1);
	strncpy(t->exe, exe, sizeof(t->exe) - 1);
	memcpy(t->args, args, args_len);
	t->args_len = (uint32_t)args_len;
}

static int cmp_task(const void *a, const void *b)
{
	uint64_t x = ((const struct jb_task *)a)->key, y = ((const struct jb_task *)b)->key;
	return x < y ? -1 : x > y;
}

static struct jb_task *task_mut(uint64_t key)
{
	return (struct jb_task *)jb_snap_task(&view, key);
}

static struct jb_task *build_view(void)
{
	set_task(&tasks[0], K_CHILD, K_PARENT, 400, 300, "cat", "/usr/bin/cat",
		 "cat\0/etc/shadow\0", 16);
	set_task(&tasks[1], K_PARENT, K_GP, 300, 200, "bash", "/usr/bin/bash", "bash\0-i\0", 8);
	set_task(&tasks[2], K_GP, K_INIT, 200, 1, "sshd", "/usr/sbin/sshd", "sshd\0-D\0", 8);
	set_task(&tasks[3], K_INIT, 0, 1, 0, "systemd", "/usr/lib/systemd/systemd",
		 "/sbin/init\0", 11);
	qsort(tasks, 4, sizeof(tasks[0]), cmp_task);
	memset(&view, 0, sizeof(view));
	view.seq = 1;
	view.tasks = tasks;
	view.ntasks = 4;
	ck_assert_ptr_nonnull(jb_snap_task(&view, K_CHILD));
	return task_mut(K_CHILD);
}

static int mfile(const struct recipe *r, const struct jb_task *t, const char *path, uint32_t acts)
{
	struct rcp_subject s = {.v = &view, .task = t, .path = path, .actions = acts};
	return rcp_match(r, &s);
}

static struct jb_flow mkflow(int family, const char *saddr, uint16_t sport, const char *daddr,
			     uint16_t dport, int proto, int dir)
{
	struct jb_flow f;

	memset(&f, 0, sizeof(f));
	f.key = 777;
	f.task_key = K_CHILD;
	f.family = (uint16_t)family;
	f.proto = (uint8_t)proto;
	f.dir = (uint8_t)dir;
	f.sport = sport;
	f.dport = dport;
	ck_assert_int_eq(inet_pton(family, saddr, f.saddr), 1);
	ck_assert_int_eq(inet_pton(family, daddr, f.daddr), 1);
	return f;
}

static int mflow(const struct recipe *r, const struct jb_task *t, const struct jb_flow *f,
		 const char *const *names, int n)
{
	struct rcp_subject s = {.v = &view, .task = t, .flow = f, .names = names, .nnames = n};
	return rcp_match(r, &s);
}

static int mdom(const struct recipe *r, const char *name)
{
	struct jb_flow f = mkflow(AF_INET, "10.0.0.2", 40000, "198.51.100.7", 443, 6,
				  JB_FLOW_EGRESS);
	const char *names[1] = {name};
	return mflow(r, NULL, &f, names, 1);
}

/* ======================================================================== */
/* loader errors                                                            */

START_TEST(err_unknown_key)
{
	bad1(HDR("a", "execution") "  base: ls\n  colour: red\n", 8, "unknown key 'colour'");
	/* unknown keys inside bases, times, arbitrary items are named too */
	bad1(HDR("a", "execution") "  bases:\n    - base: ls\n      size: 3\n", 9,
	     "unknown or repeated key 'size'");
	bad1(HDR("a", "execution") "  base: ls\n  times:\n    - kind: times_per_exe\n"
				   "      max: 1\n      every: 2\n",
	     11, "unknown or repeated key 'every'");
}
END_TEST

START_TEST(err_duplicate_key)
{
	bad1(HDR("a", "execution") "  base: ls\n  name: again\n", 8, "given twice");
	bad1(HDR("a", "execution") "  base: ls\n  name: again\n", 8, "first on line 2");
}
END_TEST

/* A value each key of the recipe table accepts: a key added to the table
 * without one here fails the test below. */
static const struct {
	const char *key, *value;
} key_samples[] = {
	{"kind", "a"},
	{"name", "A"},
	{"enabled", "true"},
	{"version", "'1.0'"},
	{"description", "d"},
	{"documentation", "d"},
	{"breed", "execution"},
	{"mechanism", "execution"},
	{"importance", "low"},
	{"tactic", "t"},
	{"technique", "T1"},
	{"subtechnique", "T1.1"},
	{"times", "[{kind: times_per_exe, max: 1}]"},
	{"file_actions", "execve"},
	{"file_actions_how", "any"},
	{"file_actions_excl", "open"},
	{"bases", "[{base: ls}]"},
	{"base", "ls"},
	{"dir", "/bin"},
	{"regex", "x"},
	{"protocol", "tcp"},
	{"local_cidrs", "[10.0.0.0/8]"},
	{"remote_cidrs", "[10.0.0.0/8]"},
	{"local_port", "1"},
	{"remote_port", "2"},
	{"remote_domains", "[example.com]"},
	{"remote_domains_trie_type", "suffix"},
	{"remote_domains_type", "suffix"},
	{"remote_domains_file", "lists/good.txt"},
	{"flow_actions", "egress"},
	{"flow_actions_how", "any"},
	{"flow_actions_excl", "ended"},
	{"env_vars", "[LD_PRELOAD]"},
	{"env_vars_cut", "only"},
	{"tamper", "[signal]"},
	{"arbitrary", "[{items: [{what: exe, pattern: x}]}]"},
	{"reactions", "[{format: js, code: x}]"},
};

/* Whatever the key, a second one is refused at its own line and names the
 * first one's. */
START_TEST(err_every_key_twice)
{
	for (size_t i = 0; rcp_key_name(i); i++) {
		const char *key = rcp_key_name(i), *value = NULL;
		char yaml[512], word[128];
		int kind = !strcmp(key, "kind");

		for (size_t j = 0; j < sizeof(key_samples) / sizeof(key_samples[0]); j++)
			if (!strcmp(key_samples[j].key, key))
				value = key_samples[j].value;
		ck_assert_msg(value != NULL, "recipe key '%s' has no sample value in this test",
			      key);
		if (kind) /* the first line of every recipe here */
			snprintf(yaml, sizeof(yaml), "- kind: a\n  kind: a\n");
		else
			snprintf(yaml, sizeof(yaml), "- kind: a\n  %s: %s\n  %s: %s\n", key, value,
				 key, value);
		snprintf(word, sizeof(word), "key '%s' given twice (first on line %d)", key,
			 kind ? 1 : 2);
		bad1(yaml, kind ? 2 : 3, word);
	}
}
END_TEST

/* Every key of the recipe table is in the format table of DETECTIONS.md. */
START_TEST(every_key_documented)
{
	char path[4096], doc[65536];
	const char *src = getenv("JIBRIL_SRC"), *from, *to;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/docs/DETECTIONS.md", src && *src ? src : ".");
	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	n = fread(doc, 1, sizeof(doc) - 1, f);
	fclose(f);
	doc[n] = '\0';
	from = strstr(doc, "## The format as jibril reads it");
	ck_assert_ptr_nonnull(from);
	to = strstr(from + 1, "\n## ");
	ck_assert_ptr_nonnull(to);
	for (size_t i = 0; rcp_key_name(i); i++) {
		char quoted[128];
		const char *hit;

		snprintf(quoted, sizeof(quoted), "`%s`", rcp_key_name(i));
		hit = strstr(from, quoted);
		ck_assert_msg(hit && hit < to, "recipe key '%s' is not documented in %s",
			      rcp_key_name(i), path);
	}
}
END_TEST

START_TEST(err_wrong_type)
{
	bad1("- kind: a\n  name: [x, y]\n  mechanism: execution\n", 2, "single value");
	bad1(HDR("a", "execution") "  base:\n    x: y\n", 8, "single value");
	bad1(HDR("a", "execution") "  bases: ls\n", 7, "bases must be a list");
	bad1(HDR("a", "execution") "  base: ls\n  times: 3\n", 8, "times must be a list");
	bad1(HDR("a", "execution") "  base: ls\n  enabled: maybe\n", 8, "true or false");
	bad1("kind: a\n", 1, "list of recipes");
}
END_TEST

START_TEST(err_bad_regex)
{
	bad1(HDR("a", "execution") "  regex: '(unclosed'\n", 7, "bad regex");
	bad1(HDR("a", "execution") "  bases:\n    - base: ls\n    - regex: 'a[b'\n", 9, "bad regex");
	bad1(HDR("a", "execution") "  arbitrary:\n    - how: AND\n      items:\n"
				   "        - what: exe\n          pattern: '*x'\n",
	     11, "bad regex");
}
END_TEST

START_TEST(err_unknown_action)
{
	bad1(HDR("a", "file_access") "  base: x\n  file_actions: open|frobnicate\n", 8,
	     "unknown file action 'frobnicate'");
	bad1(HDR("a", "file_access") "  base: x\n  file_actions:\n    - open\n    - nope\n", 10,
	     "unknown file action 'nope'");
	bad1(HDR("a", "file_access") "  base: x\n  file_actions_excl: opn\n", 8,
	     "unknown file action");
	bad1(HDR("a", "network_peers") "  remote_port: 1\n  flow_actions: sideways\n", 8,
	     "unknown flow action 'sideways'");
	bad1(HDR("a", "file_access") "  base: x\n  file_actions_how: most\n", 8, "any or all");
}
END_TEST

START_TEST(err_empty_actions_and_wildcard_domains)
{
	bad1(HDR("a", "file_access") "  base: x\n  file_actions: []\n", 8, "file_actions is empty");
	bad1(HDR("a", "file_access") "  base: x\n  file_actions: ''\n", 8, "file_actions is empty");
	bad1(HDR("a", "network_peers") "  remote_domains: ['*.example.com']\n", 7,
	     "wildcards are not supported");
}
END_TEST

START_TEST(err_unknown_times_kind)
{
	bad1(HDR("a", "execution") "  base: ls\n  times:\n    - kind: times_per_moon\n"
				   "      max: 1\n",
	     9, "unknown times kind 'times_per_moon'");
	bad1(HDR("a", "execution") "  base: ls\n  times:\n    - kind: times_per_exe\n"
				   "      max: 0\n",
	     10, "max must be a whole number");
	bad1(HDR("a", "execution") "  base: ls\n  times:\n    - kind: times_per_exe\n"
				   "      max: 1\n    - kind: times_per_exe\n      max: 2\n",
	     11, "listed twice");
	bad1(HDR("a", "execution") "  base: ls\n  times:\n    - max: 1\n", 9, "needs kind and max");
}
END_TEST

START_TEST(err_bad_cidr)
{
	bad1(HDR("a", "network_peers") "  remote_cidrs: [10.0.0.0/33]\n", 7, "bad CIDR");
	bad1(HDR("a", "network_peers") "  remote_cidrs:\n    - 10.0.0.0/8\n    - 10.0.0/8\n", 9,
	     "bad CIDR '10.0.0/8'");
	bad1(HDR("a", "network_peers") "  local_cidrs: ['::1/129']\n", 7, "bad CIDR");
	bad1(HDR("a", "network_peers") "  remote_cidrs: ['10.0.0.0/']\n", 7, "bad CIDR");
	bad1(HDR("a", "network_peers") "  remote_cidrs: ['10.0.0.0/-1']\n", 7, "bad CIDR");
	bad1(HDR("a", "network_peers") "  remote_port: 65536\n", 7, "remote_port must be");
}
END_TEST

START_TEST(err_bad_importance)
{
	bad1("- kind: a\n  name: A\n  mechanism: execution\n  tactic: t\n  technique: T1\n"
	     "  importance: extreme\n  base: ls\n",
	     6, "unknown importance 'extreme'");
	bad1("- kind: a\n  name: A\n  mechanism: executions\n", 3, "unknown mechanism");
	bad1(HDR("a", "execution") "  base: ls\n  breed: mutt\n", 8, "unknown breed");
}
END_TEST

START_TEST(err_missing_required)
{
	bad1("- kind: a\n  name: A\n  mechanism: execution\n  tactic: t\n  importance: low\n"
	     "  base: ls\n",
	     1, "lacks 'technique'");
	/* the line is that of the recipe lacking it, not the file's first */
	bad1(HDR("a", "execution") "  base: ls\n"
				   "- kind: b\n  mechanism: execution\n  tactic: t\n"
				   "  technique: T1\n  importance: low\n  base: ls\n",
	     8, "recipe b lacks 'name'");
	bad1("- name: A\n  mechanism: execution\n  tactic: t\n  technique: T1\n"
	     "  importance: low\n  base: ls\n",
	     1, "lacks 'kind'");
	bad1(HDR("A-b", "execution") "  base: ls\n", 1, "may hold only a-z");
}
END_TEST

START_TEST(err_kind_twice_across_sources)
{
	const char *a = HDR("dup", "execution") "  base: ls\n";
	const char *b = HDR("other", "execution") "  base: ls\n" HDR("dup", "execution")
		"  base: cat\n";
	struct rcp_source src[2] = {{"a.yaml", a, strlen(a)}, {"b.yaml", b, strlen(b)}};

	ck_assert_int_eq(load_n(src, 2, NULL, NULL), -1);
	ck_assert_msg(!strncmp(ERR, "b.yaml:8: ", 10), "got '%s'", ERR);
	ck_assert_ptr_nonnull(strstr(ERR, "recipe dup is already defined at a.yaml:1"));
	ck_assert_uint_eq(S.n, 0);
	/* in one source they are variants (variants_one_source) */
}
END_TEST

/*
 * The shapes of the original's public recipes (jibril-wahy): "times:" and
 * "arbitrary:" with nothing after them, an arbitrary group without items
 * (global_shlib_modification: how: AND, which: pertinent, items: []),
 * remote_domains_type, and reactions. Written here in the same shapes (not
 * copied).
 */
#define PUBLIC_HDR(kind)                                                                  \
	"#\n# A recipe in the original's public shape.\n#\n\n"                            \
	"- kind: " kind "\n  name: " kind "_high\n  enabled: true\n  version: 1.0\n"        \
	"  description: Public shape\n  documentation: |\n    https://example.invalid/x\n"  \
	"  breed: file_access\n  mechanism: file_access\n  tactic: persistence\n"          \
	"  technique: hijack_execution_flow\n  subtechnique: dynamic_linker_hijacking\n"   \
	"  importance: high\n"

START_TEST(public_shapes)
{
	struct jb_task *t = build_view();
	const struct recipe *r;

	r = ok1(PUBLIC_HDR("pub_a") "  times:\n  arbitrary:\n    - how: AND\n"
		"      which: pertinent\n      items: []\n  file_actions: modify_related\n"
		"  file_actions_how: any\n  bases:\n    - regex: /lib(64)?/libc.*\\.so(\\.\\d+)*$\n"
		"  reactions:\n    # yaml-embedded-languages: javascript\n    - format: js\n"
		"      code: |\n        function process(data) {\n          Info(\"x\");\n"
		"        }\n    - format: shell\n      code: |\n        echo hi\n",
		"pub_a");
	ck_assert_uint_eq(r->ntimes, 0);  /* empty times: no limit */
	ck_assert_uint_eq(r->ngroups, 0); /* the empty AND group filters nothing */
	ck_assert_uint_eq(r->nreactions, 2);
	ck_assert_str_eq(r->reactions[0], "js#1");
	ck_assert_str_eq(r->reactions[1], "shell#2");
	ck_assert_int_eq(mfile(r, t, "/lib64/libc.so.6", JB_ACT_WRITE), 1);
	ck_assert_int_eq(mfile(r, t, "/lib64/libm.so.6", JB_ACT_WRITE), 0);
	/* arbitrary: and times: alone, items: alone, null spelled out */
	r = ok1(PUBLIC_HDR("pub_b") "  times:\n  arbitrary:\n  bases:\n    - dir: /etc\n"
		"  reactions: ~\n", "pub_b");
	ck_assert_uint_eq(r->ngroups + r->ntimes + r->nreactions, 0);
	r = ok1(PUBLIC_HDR("pub_c") "  times: null\n  arbitrary:\n    - how: OR\n"
		"      which: irrelevant\n      items:\n    - items: [{what: comm, pattern: cat}]\n"
		"  bases: [{dir: /etc}]\n", "pub_c");
	ck_assert_uint_eq(r->ngroups, 1); /* the empty irrelevant OR is dropped */
	ck_assert_int_eq(mfile(r, t, "/etc/x", JB_ACT_OPEN), 1);
	/* the original's other name of the trie type */
	r = ok1(HDR("pub_d", "network_peers") "  remote_domains_type: suffix\n"
		"  remote_domains: [onion]\n", "pub_d");
	ck_assert_int_eq(r->trie, RCP_TRIE_SUFFIX);
	ck_assert_int_eq(mdom(r, "abc.onion"), 1);
	bad1(HDR("pub_d", "network_peers") "  remote_domains_type: suffix\n"
	     "  remote_domains_trie_type: exact\n  remote_domains: [onion]\n", 8, "given twice");
	/* a quoted empty string is a value, not nothing */
	bad1(HDR("a", "execution") "  base: ls\n  times: ''\n", 8, "times must be a list");
}
END_TEST

/* An empty group is true for AND and false for OR: the two that would stop
 * every detection of their recipe are refused, not loaded silently dead. */
START_TEST(err_empty_groups)
{
	bad1(HDR("a", "execution") "  base: ls\n  arbitrary:\n    - how: OR\n      items: []\n", 9,
	     "how: OR, which: pertinent would stop every detection");
	bad1(HDR("a", "execution") "  base: ls\n  arbitrary:\n    - which: irrelevant\n"
	     "      items:\n", 9, "how: AND, which: irrelevant would stop every detection");
	/* an execution recipe still needs bases or a group that says something */
	bad1(HDR("a", "execution") "  arbitrary: [{items: []}]\n", 1, "needs bases or arbitrary");
}
END_TEST

START_TEST(err_reactions_shape)
{
	bad1(HDR("a", "execution") "  base: ls\n  reactions: kill\n", 8, "list of {format, code}");
	bad1(HDR("a", "execution") "  base: ls\n  reactions: [kill]\n", 8, "mapping {format, code}");
	bad1(HDR("a", "execution") "  base: ls\n  reactions:\n    - format: python\n"
	     "      code: x\n", 9, "unknown reaction format 'python'");
	bad1(HDR("a", "execution") "  base: ls\n  reactions:\n    - format: js\n", 9,
	     "needs format and code");
	bad1(HDR("a", "execution") "  base: ls\n  reactions:\n    - {format: js, code: x, when: y}\n",
	     9, "unknown or repeated key 'when' in a reaction");
}
END_TEST

/* An operator's recipe replaces the built-in one of its kind, whichever
 * comes first and whichever worker loads the set; two of the operator's
 * of one kind stay an error naming both. */
START_TEST(override_builtin)
{
	const char *bi = HDR("other", "execution") "  base: ls\n" HDR("dup", "file_access")
		"  base: x\n";
	const char *op = "# mine\n" HDR("dup", "execution") "  base: nc\n";
	const char *op2 = HDR("dup", "execution") "  base: cat\n";
	struct rcp_source src[3] = {{"builtin:recipes/b.yaml", bi, strlen(bi)},
				    {"/etc/jibril/recipes/dup.yaml", op, strlen(op)},
				    {"/etc/jibril/recipes/zz.yaml", op2, strlen(op2)}};
	struct rcp_source rev[2] = {src[1], src[0]};
	const struct recipe *r;
	const char *const dis[] = {"dup", NULL};

	ck_assert_msg(load_n(src, 2, NULL, NULL) == 0, "%s", ERR);
	ck_assert_uint_eq(S.n, 2);
	r = rcp_find(&S, "dup");
	ck_assert_str_eq(r->source, "/etc/jibril/recipes/dup.yaml");
	ck_assert_int_eq(r->line, 2);
	ck_assert_int_eq(r->mech, RCP_EXECUTION);
	ck_assert_str_eq(r->replaces, "builtin:recipes/b.yaml:8");
	ck_assert_ptr_null(rcp_find(&S, "other")->replaces);
	ck_assert_msg(load_n(rev, 2, NULL, NULL) == 0, "%s", ERR);
	ck_assert_str_eq(rcp_find(&S, "dup")->source, "/etc/jibril/recipes/dup.yaml");
	/* a worker that runs only the built-in's mechanism keeps neither */
	ck_assert_msg(load_n(src, 2, NULL, "file_access") == 0, "%s", ERR);
	ck_assert_ptr_null(rcp_find(&S, "dup"));
	ck_assert_msg(load_n(src, 2, dis, "execution") == 0, "%s", ERR);
	r = rcp_find(&S, "dup");
	ck_assert_str_eq(r->source, "/etc/jibril/recipes/dup.yaml");
	ck_assert_int_eq(r->enabled, 0); /* [recipes] disable names the kind */
	/* two of the operator's */
	ck_assert_int_eq(load_n(src, 3, NULL, NULL), -1);
	ck_assert_msg(strstr(ERR, "/etc/jibril/recipes/zz.yaml:1: recipe dup is already defined "
				  "at /etc/jibril/recipes/dup.yaml:2"), "got '%s'", ERR);
	ck_assert_uint_eq(S.n, 0);
	/* two built-in ones */
	src[1].name = "builtin:recipes/c.yaml";
	ck_assert_int_eq(load_n(src, 2, NULL, NULL), -1);
	ck_assert_msg(strstr(ERR, "builtin:recipes/c.yaml:2: recipe dup is already defined at "
				  "builtin:recipes/b.yaml:8"), "got '%s'", ERR);
}
END_TEST

/*
 * Several recipes of one kind in one file, as the original ships (its
 * os_status_fingerprint has eleven, told apart by name): variants, kind
 * "KIND#N" from the second on, the same numbers in every worker whichever
 * recipes it parses, the event's kind KIND, [recipes] disable KIND turns
 * every one off, and an operator's variants replace the built-in recipe.
 */
START_TEST(variants_one_source)
{
	const char *y = "- kind: v\n  name: v_low\n  mechanism: file_access\n  tactic: t\n"
			"  technique: t\n  importance: low\n  dir: /etc\n"
			"- kind: v\n  name: v_exec\n  mechanism: execution\n  tactic: t\n"
			"  technique: t\n  importance: high\n  base: nc\n"
			"- kind: other\n  name: o\n  mechanism: file_access\n  tactic: t\n"
			"  technique: t\n  importance: low\n  dir: /tmp\n"
			"- kind: v\n  name: v_high\n  mechanism: file_access\n  tactic: t\n"
			"  technique: t\n  importance: high\n  dir: /root\n";
	struct rcp_source src[2] = {{"builtin:recipes/v.yaml", HDR("v", "file_access") "  dir: /x\n",
				     0},
				    {"/etc/jibril/recipes/v.yaml", y, strlen(y)}};
	const char *const dis[] = {"v", NULL};
	struct jb_task *t = build_view();
	struct wrk_event_ctx ctx = {.hostname = "h", .boot_id = "b"};
	struct rcp_subject sub = {.v = &view, .task = t, .path = "/root/x", .actions = JB_ACT_OPEN};
	const struct recipe *r;
	char *out;

	src[0].len = strlen(src[0].data);
	ck_assert_msg(load_n(&src[1], 1, NULL, NULL) == 0, "%s", ERR);
	ck_assert_uint_eq(S.n, 4);
	ck_assert_str_eq(rcp_find(&S, "v")->name, "v_low");
	ck_assert_str_eq(rcp_find(&S, "v#2")->name, "v_exec");
	ck_assert_str_eq(rcp_find(&S, "v#3")->name, "v_high");
	ck_assert_str_eq(rcp_find(&S, "v#3")->event_kind, "v");
	ck_assert_str_eq(rcp_find(&S, "other")->event_kind, "other");
	/* the event says the kind the file gives */
	r = rcp_find(&S, "v#3");
	ck_assert_int_eq(mfile(r, t, "/root/x", JB_ACT_OPEN), 1);
	out = wrk_event_json(&ctx, r, &sub, NULL, 1);
	ck_assert_ptr_nonnull(out);
	ck_assert_msg(strstr(out, "\"kind\":\"v\",\"name\":\"v_high\""), "%s", out);
	free(out);
	/* a worker that skips v#2 numbers v_high as the supervisor does */
	ck_assert_msg(load_n(&src[1], 1, NULL, "file_access") == 0, "%s", ERR);
	ck_assert_uint_eq(S.n, 3);
	ck_assert_str_eq(rcp_find(&S, "v#3")->name, "v_high");
	ck_assert_ptr_null(rcp_find(&S, "v#2"));
	ck_assert_msg(load_n(&src[1], 1, NULL, "execution") == 0, "%s", ERR);
	ck_assert_uint_eq(S.n, 1);
	ck_assert_str_eq(S.r[0].kind, "v#2");
	/* disable names the kind: every variant */
	ck_assert_msg(load_n(&src[1], 1, dis, NULL) == 0, "%s", ERR);
	ck_assert_int_eq(rcp_find(&S, "v")->enabled + rcp_find(&S, "v#2")->enabled +
				 rcp_find(&S, "v#3")->enabled, 0);
	ck_assert_int_eq(rcp_find(&S, "other")->enabled, 1);
	/* the operator's variants replace the built-in recipe, in each worker */
	ck_assert_msg(load_n(src, 2, NULL, NULL) == 0, "%s", ERR);
	ck_assert_uint_eq(S.n, 4);
	ck_assert_str_eq(rcp_find(&S, "v")->replaces, "builtin:recipes/v.yaml:1");
	ck_assert_str_eq(rcp_find(&S, "v#3")->replaces, "builtin:recipes/v.yaml:1");
	ck_assert_msg(load_n(src, 2, NULL, "execution") == 0, "%s", ERR);
	ck_assert_uint_eq(S.n, 1);
	ck_assert_str_eq(S.r[0].kind, "v#2");
	/* a variant's name must fit what a kind may be */
	bad1("- kind: " "a123456789012345678901234567890123456789012345678901234567890x"
	     "\n  name: a\n  mechanism: execution\n  tactic: t\n  technique: t\n  importance: low\n"
	     "  base: ls\n- kind: a123456789012345678901234567890123456789012345678901234567890x"
	     "\n  name: b\n  mechanism: execution\n  tactic: t\n  technique: t\n  importance: low\n"
	     "  base: ls\n", 8, "longer than 63 characters");
}
END_TEST

/* A detection of a recipe with reactions says which were not run. */
START_TEST(reactions_in_event)
{
	struct jb_task *t = build_view();
	struct wrk_event_ctx ctx = {.hostname = "h", .boot_id = "b"};
	struct rcp_subject sub = {.v = &view, .task = t, .path = "/etc/x", .actions = JB_ACT_OPEN};
	const struct recipe *r = ok1(HDR("x", "file_access") "  dir: /etc\n  reactions:\n"
				     "    - {format: shell, code: 'echo 1'}\n"
				     "    - {format: js, code: 'function process(d) {}'}\n", "x");
	json_error_t je;
	char *out = wrk_event_json(&ctx, r, &sub, NULL, 1);
	json_t *ev, *nr;

	ck_assert_ptr_nonnull(out);
	ev = json_loads(out, 0, &je);
	ck_assert_msg(ev != NULL, "%s", je.text);
	nr = json_object_get(ev, "reactions_not_run");
	ck_assert_msg(json_is_array(nr) && json_array_size(nr) == 2, "%s", out);
	ck_assert_str_eq(json_string_value(json_array_get(nr, 0)), "shell#1");
	ck_assert_str_eq(json_string_value(json_array_get(nr, 1)), "js#2");
	json_decref(ev);
	free(out);
	r = ok1(HDR("x", "file_access") "  dir: /etc\n", "x");
	out = wrk_event_json(&ctx, r, &sub, NULL, 1);
	ck_assert_ptr_nonnull(out);
	ck_assert_ptr_null(strstr(out, "reactions_not_run"));
	free(out);
}
END_TEST

START_TEST(err_disabled_unknown)
{
	const char *y = HDR("real", "execution") "  base: ls\n";
	struct rcp_source src = {"t.yaml", y, strlen(y)};
	const char *const dis_bad[] = {"real", "nope", NULL};
	const char *const dis_ok[] = {"real", NULL};

	ck_assert_int_eq(load_n(&src, 1, dis_bad, NULL), -1);
	ck_assert_msg(strstr(ERR, "'nope'") && strstr(ERR, "does not exist"), "got '%s'", ERR);
	ck_assert_uint_eq(S.n, 0);
	ck_assert_int_eq(load_n(&src, 1, dis_ok, NULL), 0);
	ck_assert_int_eq(rcp_find(&S, "real")->enabled, 0);
	/* a disabled recipe never matches */
	build_view();
	ck_assert_int_eq(mfile(rcp_find(&S, "real"), task_mut(K_CHILD), "/bin/ls", JB_ACT_EXEC), 0);
}
END_TEST

START_TEST(err_mechanism_shape)
{
	bad1(HDR("a", "file_access") "  file_actions: open\n", 1, "needs bases");
	bad1(HDR("a", "file_access") "  base: x\n  remote_port: 80\n", 1,
	     "network, env_vars or tamper");
	bad1(HDR("a", "file_access") "  base: x\n  tamper: [signal]\n", 1,
	     "network, env_vars or tamper");
	bad1(HDR("a", "tamper") "  enabled: true\n", 1, "needs tamper (which classes");
	bad1(HDR("a", "tamper") "  tamper: []\n", 7, "needs tamper");
	bad1(HDR("a", "tamper") "  tamper: [signal, sigkill]\n", 7, "unknown tamper class 'sigkill'");
	bad1(HDR("a", "tamper") "  tamper: signal\n  base: x\n", 1, "file, network or env_vars");
	bad1(HDR("a", "tamper") "  tamper: signal\n  remote_port: 1\n", 1,
	     "file, network or env_vars");
	bad1(HDR("a", "execution") "  tactic2: x\n", 7, "unknown key");
	bad1(HDR("a", "execution") "  enabled: true\n", 1, "needs bases or arbitrary");
	bad1(HDR("a", "execution") "  base: ls\n  file_actions: open\n", 8, "only action is execve");
	bad1(HDR("a", "network_peers") "  protocol: tcp\n", 1, "matches every flow");
	bad1(HDR("a", "network_peers") "  base: x\n  remote_port: 1\n", 1,
	     "file, env_vars or tamper");
	bad1(HDR("a", "network_peers") "  remote_port: 1\n  remote_domains_trie_type: suffix\n", 1,
	     "trie type without remote_domains");
	bad1(HDR("a", "env_vars") "  enabled: true\n", 1, "needs env_vars");
	bad1(HDR("a", "env_vars") "  env_vars: [LD_PRELOAD=x]\n", 7, "variable names");
	bad1(HDR("a", "file_access") "  base: x\n  file_actions: read\n  file_actions_excl: read\n",
	     1, "removes every action");
	bad1(HDR("a", "file_access") "  base: a/b\n", 7, "file name (no '/')");
	bad1(HDR("a", "file_access") "  dir: etc\n", 7, "absolute path");
	bad1(HDR("a", "file_access") "  bases:\n    - {}\n", 8, "empty entry");
}
END_TEST

START_TEST(err_yaml_syntax)
{
	/* a tab cannot indent YAML */
	bad1("- kind: a\n  name: A\n\tmechanism: execution\n", 3, "YAML syntax");
	/* an unterminated quoted scalar: found at the end of the stream */
	bad1(HDR("a", "execution") "  base: ls\n  description: 'open\n", 9, "YAML syntax");
	/* a second document with a syntax error is still reported */
	bad1(HDR("a", "execution") "  base: ls\n---\n- [x\n- y: : z\n", 10, "YAML syntax");
}
END_TEST

/* YAML aliases are refused at the line of the first one; an anchor alone
 * is harmless and loads. */
START_TEST(err_yaml_alias)
{
	bad1(HDR("a", "execution") "  base: &b ls\n" HDR("c", "execution") "  base: *b\n", 14,
	     "YAML aliases are not accepted (*b)");
	/* a merge key is an alias too */
	bad1("- &r\n  kind: a\n  name: A\n  mechanism: execution\n  tactic: t\n  technique: t\n"
	     "  importance: low\n  base: ls\n- <<: *r\n  kind: b\n", 9, "YAML aliases");
	/* in a later document */
	bad1(HDR("a", "execution") "  base: ls\n---\n- &x {kind: b}\n- *x\n", 10, "YAML aliases");
	ok1(HDR("a", "execution") "  base: &b ls\n", "a");
}
END_TEST

/*
 * An alias bomb: one 100 KB anchor named 5000 times. Each reference used
 * to be walked as a copy (its strings duplicated into the arena): ~500 MB
 * for a file of 200 KB, in the supervisor and in every worker. Now it is
 * refused, and the load stays within a 64 MiB address-space budget (the
 * old loader fails that budget with "out of memory" instead).
 */
START_TEST(alias_bomb_bounded)
{
	size_t cap = 700000, o = 0;
	char *y = malloc(cap), *big = malloc(100001);
	struct rlimit rl;
	FILE *f;
	unsigned long vm = 0;
	char line[256];

	ck_assert_ptr_nonnull(y);
	ck_assert_ptr_nonnull(big);
	memset(big, 'x', 100000);
	big[100000] = '\0';
	o += (size_t)snprintf(y + o, cap - o, HDR("a", "execution") "  description: &big '%s'\n"
			      "  base: nc\n" HDR("b", "execution") "  bases:\n", big);
	for (int i = 0; i < 5000; i++)
		o += (size_t)snprintf(y + o, cap - o, "    - {base: *big}\n");
	ck_assert_uint_lt(o, cap);
	/* this process's size now, plus 64 MiB (a forked test: only it) */
	f = fopen("/proc/self/status", "r");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmSize: %lu kB", &vm) == 1)
			break;
	fclose(f);
	ck_assert_uint_gt(vm, 0);
	rl.rlim_cur = rl.rlim_max = (rlim_t)(vm + 65536) * 1024;
	ck_assert_int_eq(setrlimit(RLIMIT_AS, &rl), 0);
	bad_at("bomb.yaml", y, o, 16, "YAML aliases are not accepted (*big)");
	free(y);
	free(big);
}
END_TEST

START_TEST(err_nul_byte)
{
	static const char y[] = "- kind: a\n  name: A\0B\n  mechanism: execution\n";
	static const char q[] = HDR("a", "execution") "  base: ls\n  description: \"x\\0y\"\n";

	/* an escaped NUL inside a double-quoted scalar */
	bad1(q, 8, "NUL");
	/* a raw NUL byte in the file: refused, naming the file ... */
	{
		struct rcp_source src = {"t.yaml", y, sizeof(y) - 1};
		ck_assert_int_eq(load_n(&src, 1, NULL, NULL), -1);
	}
	ck_assert_msg(!strncmp(ERR, "t.yaml:", 7) && strstr(ERR, "NUL"), "got '%s'", ERR);
	ck_assert_uint_eq(S.n, 0);
	/* ... and, as recipe.h promises for every error, its line */
	bad_at("t.yaml", y, sizeof(y) - 1, 2, "NUL");
}
END_TEST

START_TEST(err_time_items_and_shape)
{
	bad1(HDR("a", "execution") "  arbitrary:\n    - items:\n        - what: exe\n"
				   "          time: 3\n",
	     10, "not supported");
	bad1(HDR("a", "execution") "  arbitrary:\n    - items:\n        - what: uid\n"
				   "          pattern: x\n",
	     9, "is a number");
	bad1(HDR("a", "execution") "  arbitrary:\n    - items:\n        - what: exe\n"
				   "          number: 3\n",
	     9, "is text");
	bad1(HDR("a", "execution") "  arbitrary:\n    - items:\n        - what: exe\n"
				   "          pattern: x\n          number: 3\n",
	     9, "exactly one of");
	bad1(HDR("a", "execution") "  arbitrary:\n    - how: AND\n", 8, "without items");
	bad1(HDR("a", "execution") "  arbitrary:\n    - items:\n        - what: colour\n"
				   "          pattern: x\n",
	     9, "unknown what 'colour'");
	bad1(HDR("a", "execution") "  arbitrary:\n    - items:\n        - what: uid\n"
				   "          numbers: [1, x]\n",
	     10, "not a whole number");
}
END_TEST

/* ======================================================================== */
/* what loads                                                               */

START_TEST(load_identity)
{
	const struct recipe *r =
		ok1("# leading comment\n"
		    "- kind: full_one\n  name: 'Full: one'\n  enabled: false\n  version: \"1.0\"\n"
		    "  description: d\n  documentation: https://example/doc\n  breed: execution\n"
		    "  mechanism: execution\n  tactic: execution\n"
		    "  technique: T1059 Command and Scripting Interpreter\n"
		    "  subtechnique: T1059.004 Unix Shell\n  importance: critical\n"
		    "  base: sh\n  reactions:\n    - format: js\n      code: |\n"
		    "        function process(data) { KillCurrent(); }\n",
		    "full_one");

	ck_assert_str_eq(r->name, "Full: one");
	ck_assert_int_eq(r->enabled, 0);
	ck_assert_str_eq(r->version, "1.0");
	ck_assert_str_eq(r->importance, "critical");
	ck_assert_str_eq(r->subtechnique, "T1059.004 Unix Shell");
	ck_assert_str_eq(r->source, "t.yaml");
	ck_assert_int_eq(r->line, 2);
	ck_assert_int_eq(r->mech, RCP_EXECUTION);
	ck_assert_uint_eq(r->nreactions, 1);
	ck_assert_str_eq(r->reactions[0], "js#1");
	ck_assert_str_eq(rcp_mech_name(r->mech), "execution");

	/* defaults: enabled, empty optional texts, breed from the mechanism */
	r = ok1(HDR("minimal", "network_peers") "  remote_port: 4444\n", "minimal");
	ck_assert_int_eq(r->enabled, 1);
	ck_assert_str_eq(r->subtechnique, "");
	ck_assert_str_eq(r->description, "");
	ck_assert_str_eq(r->breed, "remote_domains");
	ck_assert_uint_eq(r->nreactions, 0);
	ck_assert_ptr_null(r->replaces);
	ck_assert_int_eq(r->ntimes, 0);
	/* an empty file or empty list is an empty set */
	ck_assert_int_eq(load1(""), 0);
	ck_assert_uint_eq(S.n, 0);
	ck_assert_int_eq(load1("[]\n"), 0);
	ck_assert_uint_eq(S.n, 0);
}
END_TEST

START_TEST(load_worker_filter)
{
	const char *y = HDR("f", "file_access") "  base: x\n" HDR("e", "execution") "  base: x\n"
		HDR("n", "network_peers") "  remote_port: 1\n" HDR("v", "env_vars")
		"  env_vars: [LD_PRELOAD]\n";
	struct rcp_source src = {"t.yaml", y, strlen(y)};

	ck_assert_int_eq(load_n(&src, 1, NULL, NULL), 0);
	ck_assert_uint_eq(S.n, 4);
	ck_assert_int_eq(load_n(&src, 1, NULL, "network"), 0);
	ck_assert_uint_eq(S.n, 1);
	ck_assert_ptr_nonnull(rcp_find(&S, "n"));
	ck_assert_int_eq(load_n(&src, 1, NULL, "execution"), 0);
	ck_assert_uint_eq(S.n, 2);
	ck_assert_ptr_nonnull(rcp_find(&S, "e"));
	ck_assert_ptr_nonnull(rcp_find(&S, "v"));
	ck_assert_int_eq(load_n(&src, 1, NULL, "file_access"), 0);
	ck_assert_uint_eq(S.n, 1);
	ck_assert(mechs_of("network") & (1u << RCP_NETWORK_PEERS));
	ck_assert(mechs_of("execution") & (1u << RCP_ENV_VARS));
}
END_TEST

/* ---- macros -------------------------------------------------------------- */

static uint32_t actions_of(const char *spec)
{
	char y[1024];
	snprintf(y, sizeof(y), HDR("m", "file_access") "  base: x\n%s", spec);
	return ok1(y, "m")->actions;
}

START_TEST(macros_expand)
{
	const uint32_t O = JB_ACT_OPEN, R = JB_ACT_READ, W = JB_ACT_WRITE, X = JB_ACT_EXEC,
		       C = JB_ACT_CREATE, U = JB_ACT_UNLINK, MV = JB_ACT_RENAME, CH = JB_ACT_CHMOD,
		       TR = JB_ACT_TRUNCATE;
	const uint32_t access = A_ALL & ~(A_FASYNC | A_FLOCK | X);

	ck_assert_uint_eq(actions_of("  file_actions: any\n"), A_ALL);
	ck_assert_uint_eq(actions_of(""), A_ALL); /* omitted: any */
	ck_assert_uint_eq(actions_of("  file_actions: open_related\n"), O | A_CLOSE);
	ck_assert_uint_eq(actions_of("  file_actions: read_related\n"), R | A_MMAP | A_LLSEEK);
	ck_assert_uint_eq(actions_of("  file_actions: modify_related\n"),
			  W | MV | TR | U | C | A_LINK | A_FSYNC | CH);
	ck_assert_uint_eq(actions_of("  file_actions: access_related\n"), access);
	ck_assert_uint_eq(actions_of("  file_actions: access_no_mmap_related\n"), access & ~A_MMAP);
	ck_assert_uint_eq(actions_of("  file_actions: tamper_related\n"), MV | TR | U | A_LINK);
	/* every single action by name */
	ck_assert_uint_eq(actions_of("  file_actions: open|read|write|execve|create|unlink|rename|"
				     "chmod|truncate|mmap|link|close|fsync|flock|fasync|llseek\n"),
			  A_ALL);
	/* "a | b" with spaces, a list, a macro mixed with an action */
	ck_assert_uint_eq(actions_of("  file_actions: open | read\n"), O | R);
	ck_assert_uint_eq(actions_of("  file_actions: [open, write]\n"), O | W);
	ck_assert_uint_eq(actions_of("  file_actions:\n    - tamper_related\n    - chmod\n"),
			  MV | TR | U | A_LINK | CH);
	/* _excl removes */
	ck_assert_uint_eq(actions_of("  file_actions: any\n  file_actions_excl: execve|mmap\n"),
			  A_ALL & ~(X | A_MMAP));
	ck_assert_uint_eq(actions_of("  file_actions_excl: read_related\n"),
			  A_ALL & ~(R | A_MMAP | A_LLSEEK));
	/* execution recipes: execve only */
	ck_assert_uint_eq(ok1(HDR("e", "execution") "  base: ls\n", "e")->actions, X);
	ck_assert_uint_eq(ok1(HDR("e", "execution") "  base: ls\n  file_actions: execve\n", "e")
				  ->actions,
			  X);
}
END_TEST

START_TEST(macros_match_any)
{
	const struct recipe *r;
	struct jb_task *t = build_view();

	r = ok1(HDR("m", "file_access") "  base: shadow\n  file_actions: read_related\n", "m");
	ck_assert_int_eq(r->actions_all, 0);
	ck_assert_int_eq(mfile(r, t, "/etc/shadow", JB_ACT_OPEN | JB_ACT_READ), 1);
	ck_assert_int_eq(mfile(r, t, "/etc/shadow", A_MMAP), 1);
	ck_assert_int_eq(mfile(r, t, "/etc/shadow", JB_ACT_OPEN), 0);
	ck_assert_int_eq(mfile(r, t, "/etc/shadow", JB_ACT_WRITE | JB_ACT_UNLINK), 0);
	ck_assert_int_eq(mfile(r, t, "/etc/shadow", 0), 0);
	ck_assert_int_eq(mfile(r, t, NULL, JB_ACT_READ), 0);

	r = ok1(HDR("m", "file_access") "  base: wtmp\n  file_actions: tamper_related\n", "m");
	ck_assert_int_eq(mfile(r, t, "/var/log/wtmp", JB_ACT_TRUNCATE), 1);
	ck_assert_int_eq(mfile(r, t, "/var/log/wtmp", JB_ACT_UNLINK), 1);
	ck_assert_int_eq(mfile(r, t, "/var/log/wtmp", JB_ACT_WRITE | JB_ACT_OPEN), 0);
}
END_TEST

/* binary_self_deletion: all of open, mmap, unlink and execve. */
START_TEST(macros_how_all)
{
	const uint32_t need = JB_ACT_OPEN | A_MMAP | JB_ACT_UNLINK | JB_ACT_EXEC;
	struct jb_task *t = build_view();
	const struct recipe *r =
		ok1(HDR("sd", "file_access") "  regex: '.'\n  file_actions: open|mmap|unlink|execve\n"
					     "  file_actions_how: all\n",
		    "sd");

	ck_assert_int_eq(r->actions_all, 1);
	ck_assert_uint_eq(r->actions, need);
	ck_assert_int_eq(mfile(r, t, "/tmp/payload", need), 1);
	ck_assert_int_eq(mfile(r, t, "/tmp/payload", need | JB_ACT_READ | JB_ACT_WRITE), 1);
	ck_assert_int_eq(mfile(r, t, "/tmp/payload", need & ~A_MMAP), 0);
	ck_assert_int_eq(mfile(r, t, "/tmp/payload", JB_ACT_EXEC | JB_ACT_UNLINK), 0);
	ck_assert_int_eq(mfile(r, t, "/tmp/payload", JB_ACT_EXEC), 0);
	/* how: any is the default and "any" */
	r = ok1(HDR("sd", "file_access") "  regex: '.'\n  file_actions: open|mmap|unlink|execve\n"
					 "  file_actions_how: any\n",
		"sd");
	ck_assert_int_eq(r->actions_all, 0);
	ck_assert_int_eq(mfile(r, t, "/tmp/payload", JB_ACT_EXEC), 1);
}
END_TEST

/* ---- bases ---------------------------------------------------------------- */

START_TEST(bases_kinds)
{
	struct jb_task *t = build_view();
	const uint32_t R = JB_ACT_READ;
	const struct recipe *r;

	/* base: the file name, any directory */
	r = ok1(HDR("b", "file_access") "  bases:\n    - base: shadow\n", "b");
	ck_assert_int_eq(mfile(r, t, "/etc/shadow", R), 1);
	ck_assert_int_eq(mfile(r, t, "/tmp/x/shadow", R), 1);
	ck_assert_int_eq(mfile(r, t, "shadow", R), 1);
	ck_assert_int_eq(mfile(r, t, "/etc/shadowx", R), 0);
	ck_assert_int_eq(mfile(r, t, "/etc/shadow/x", R), 0);
	ck_assert_int_eq(mfile(r, t, "/etc/xshadow", R), 0);

	/* dir: the exact parent, trailing slash folded */
	r = ok1(HDR("b", "file_access") "  bases:\n    - dir: /etc/sudoers.d/\n", "b");
	ck_assert_str_eq(r->bases[0].dir, "/etc/sudoers.d");
	ck_assert_int_eq(mfile(r, t, "/etc/sudoers.d/90-x", R), 1);
	ck_assert_int_eq(mfile(r, t, "/etc/sudoers.d/a/b", R), 0);
	ck_assert_int_eq(mfile(r, t, "/etc/sudoers.dx/y", R), 0);
	ck_assert_int_eq(mfile(r, t, "/etc/sudoers.d", R), 0);
	ck_assert_int_eq(mfile(r, t, "/etc/sudoers", R), 0);
	r = ok1(HDR("b", "file_access") "  dir: /\n", "b");
	ck_assert_int_eq(mfile(r, t, "/x", R), 1);
	ck_assert_int_eq(mfile(r, t, "/a/x", R), 0);

	/* base + dir: that one file */
	r = ok1(HDR("b", "file_access") "  bases:\n    - base: shadow\n      dir: /etc\n", "b");
	ck_assert_uint_eq(r->nbases, 1);
	ck_assert_int_eq(mfile(r, t, "/etc/shadow", R), 1);
	ck_assert_int_eq(mfile(r, t, "/tmp/shadow", R), 0);
	ck_assert_int_eq(mfile(r, t, "/etc/passwd", R), 0);
	ck_assert_int_eq(mfile(r, t, "/etc/x/shadow", R), 0);

	/* regex on the full path, unanchored unless anchored */
	r = ok1(HDR("b", "file_access") "  bases:\n    - regex: '^/home/[^/]+/\\.ssh/id_[a-z0-9]+$'\n"
					"    - regex: 'authorized_keys'\n",
		"b");
	ck_assert_uint_eq(r->nbases, 2);
	ck_assert_int_eq(mfile(r, t, "/home/bob/.ssh/id_rsa", R), 1);
	ck_assert_int_eq(mfile(r, t, "/home/bob/.ssh/id_rsa.pub", R), 0);
	ck_assert_int_eq(mfile(r, t, "/home/a/b/.ssh/id_rsa", R), 0);
	ck_assert_int_eq(mfile(r, t, "/root/.ssh/authorized_keys2", R), 1);
	ck_assert_int_eq(mfile(r, t, "/etc/hosts", R), 0);

	/* several entries: any one */
	r = ok1(HDR("b", "file_access") "  bases:\n    - base: wtmp\n    - {base: utmp, dir: /run}\n"
					"    - dir: /var/log/audit\n",
		"b");
	ck_assert_uint_eq(r->nbases, 3);
	ck_assert_int_eq(mfile(r, t, "/var/log/wtmp", R), 1);
	ck_assert_int_eq(mfile(r, t, "/run/utmp", R), 1);
	ck_assert_int_eq(mfile(r, t, "/var/run/utmp", R), 0);
	ck_assert_int_eq(mfile(r, t, "/var/log/audit/audit.log", R), 1);
	ck_assert_int_eq(mfile(r, t, "/var/log/syslog", R), 0);

	/* all keys of one entry must hold: base, dir and regex */
	r = ok1(HDR("b", "file_access") "  bases:\n    - {base: x.conf, dir: /etc, regex: '^/etc/'}\n",
		"b");
	ck_assert_int_eq(mfile(r, t, "/etc/x.conf", R), 1);
	ck_assert_int_eq(mfile(r, t, "/etc/y.conf", R), 0);
}
END_TEST

START_TEST(bases_shorthand_one_entry)
{
	struct jb_task *t = build_view();
	const struct recipe *r;

	/* top-level base + dir: ONE entry (that file), not two */
	r = ok1(HDR("s", "file_access") "  base: shadow\n  file_actions: read\n  dir: /etc\n", "s");
	ck_assert_uint_eq(r->nbases, 1);
	ck_assert_str_eq(r->bases[0].base, "shadow");
	ck_assert_str_eq(r->bases[0].dir, "/etc");
	ck_assert_int_eq(mfile(r, t, "/etc/shadow", JB_ACT_READ), 1);
	ck_assert_int_eq(mfile(r, t, "/tmp/shadow", JB_ACT_READ), 0);
	ck_assert_int_eq(mfile(r, t, "/etc/passwd", JB_ACT_READ), 0);

	/* base + dir + regex top level: one entry too */
	r = ok1(HDR("s", "file_access") "  regex: 'sha'\n  base: shadow\n  dir: /etc\n", "s");
	ck_assert_uint_eq(r->nbases, 1);
	ck_assert_ptr_nonnull(r->bases[0].re);

	/* shorthand next to a bases list: one more entry */
	r = ok1(HDR("s", "file_access") "  bases:\n    - base: gshadow\n  base: shadow\n  dir: /etc\n",
		"s");
	ck_assert_uint_eq(r->nbases, 2);
	ck_assert_int_eq(mfile(r, t, "/x/gshadow", JB_ACT_READ), 1);
	ck_assert_int_eq(mfile(r, t, "/x/shadow", JB_ACT_READ), 0);

	/* execution recipes: the executed binary */
	r = ok1(HDR("x", "execution") "  dir: /tmp\n", "x");
	ck_assert_int_eq(mfile(r, t, "/tmp/x", JB_ACT_EXEC), 1);
	ck_assert_int_eq(mfile(r, t, "/tmp/x", JB_ACT_OPEN | JB_ACT_READ), 0);
	ck_assert_int_eq(mfile(r, t, "/tmp/a/x", JB_ACT_EXEC), 0);
	ck_assert_int_eq(mfile(r, t, "/usr/bin/x", JB_ACT_EXEC), 0);
}
END_TEST

/* search and expect: where the supervisor looks for a regex's files. */
START_TEST(bases_search_expect)
{
	struct jb_task *t = build_view();
	const struct recipe *r;

	r = ok1(HDR("s", "file_access") "  bases:\n"
					"    - regex: '/\\.vault-token$'\n"
					"      search: ['/etc/vault/', '~', '~/.vault//']\n"
					"      expect: '~/.vault-token'\n"
					"    - regex: x\n",
		"s");
	ck_assert_uint_eq(r->nbases, 2);
	ck_assert_uint_eq(r->bases[0].nsearch, 3);
	ck_assert_str_eq(r->bases[0].search[0], "/etc/vault");
	ck_assert_str_eq(r->bases[0].search[1], "~");
	ck_assert_str_eq(r->bases[0].search[2], "~/.vault");
	ck_assert_uint_eq(r->bases[0].nexpect, 1);
	ck_assert_str_eq(r->bases[0].expect[0], "~/.vault-token");
	ck_assert_uint_eq(r->bases[1].nsearch + r->bases[1].nexpect, 0);
	/* they say where to look, not what matches */
	ck_assert_int_eq(mfile(r, t, "/opt/.vault-token", JB_ACT_READ), 1);

	bad1(HDR("a", "file_access") "  bases:\n    - dir: /etc\n      search: [/etc]\n", 9,
	     "go with a regex");
	bad1(HDR("a", "file_access") "  bases:\n    - search: [/etc]\n", 8, "go with a regex");
	bad1(HDR("a", "file_access") "  bases:\n    - regex: x\n      search: [etc]\n", 9,
	     "absolute paths, ~ or ~/PATH, not 'etc'");
	bad1(HDR("a", "file_access") "  bases:\n    - regex: x\n      search:\n"
				     "        - /etc\n        - '~root/.ssh'\n",
	     11, "not '~root/.ssh'");
	bad1(HDR("a", "file_access") "  bases:\n    - regex: x\n      search: ['~/a/../b']\n", 9,
	     "'..' component");
	bad1(HDR("a", "file_access") "  bases:\n    - regex: x\n      search: ['/a//b']\n", 9,
	     "empty");
	bad1(HDR("a", "file_access") "  bases:\n    - regex: x\n      expect: ['~/']\n", 9,
	     "expect entries name files");
	bad1(HDR("a", "file_access") "  bases:\n    - regex: x\n      search: [/a]\n"
				     "      search: [/b]\n",
	     10, "unknown or repeated key 'search'");
	bad1(HDR("a", "file_access") "  regex: x\n  search: [/etc]\n", 8, "unknown key 'search'");
	bad1(HDR("a", "execution") "  bases:\n    - regex: x\n      expect: [/bin/x]\n", 9,
	     "search and expect are for file_access recipes");
}
END_TEST

/* ---- network ---------------------------------------------------------------- */

START_TEST(net_cidrs)
{
	const struct recipe *r;
	struct jb_flow f;

	build_view();
	r = ok1(HDR("n", "network_peers") "  remote_cidrs: [169.254.169.254/32, 100.64.0.0/10, "
					  "'fd00:ec2::254/128', '2001:db8::/32']\n",
		"n");
	ck_assert_uint_eq(r->nremote_cidrs, 4);
	f = mkflow(AF_INET, "10.0.0.2", 40000, "169.254.169.254", 80, 6, JB_FLOW_EGRESS);
	ck_assert_int_eq(mflow(r, NULL, &f, NULL, 0), 1);
	f = mkflow(AF_INET, "10.0.0.2", 40000, "169.254.169.253", 80, 6, JB_FLOW_EGRESS);
	ck_assert_int_eq(mflow(r, NULL, &f, NULL, 0), 0);
	f = mkflow(AF_INET, "10.0.0.2", 40000, "100.127.255.255", 80, 6, JB_FLOW_EGRESS);
	ck_assert_int_eq(mflow(r, NULL, &f, NULL, 0), 1);
	f = mkflow(AF_INET, "10.0.0.2", 40000, "100.128.0.0", 80, 6, JB_FLOW_EGRESS);
	ck_assert_int_eq(mflow(r, NULL, &f, NULL, 0), 0);
	f = mkflow(AF_INET6, "::1", 40000, "fd00:ec2::254", 80, 6, JB_FLOW_EGRESS);
	ck_assert_int_eq(mflow(r, NULL, &f, NULL, 0), 1);
	f = mkflow(AF_INET6, "::1", 40000, "fd00:ec2::253", 80, 6, JB_FLOW_EGRESS);
	ck_assert_int_eq(mflow(r, NULL, &f, NULL, 0), 0);
	f = mkflow(AF_INET6, "::1", 40000, "2001:db8:ffff::1", 80, 6, JB_FLOW_EGRESS);
	ck_assert_int_eq(mflow(r, NULL, &f, NULL, 0), 1);
	f = mkflow(AF_INET6, "::1", 40000, "2001:db9::1", 80, 6, JB_FLOW_EGRESS);
	ck_assert_int_eq(mflow(r, NULL, &f, NULL, 0), 0);
	/* an IPv4 CIDR matches the v4-mapped form a dual-stack socket uses */
	f = mkflow(AF_INET6, "::1", 40000, "::ffff:169.254.169.254", 80, 6, JB_FLOW_EGRESS);
	ck_assert_int_eq(mflow(r, NULL, &f, NULL, 0), 1);
	f = mkflow(AF_INET6, "::1", 40000, "::ffff:169.254.169.253", 80, 6, JB_FLOW_EGRESS);
	ck_assert_int_eq(mflow(r, NULL, &f, NULL, 0), 0);
	/* ... but not the same bytes in a real IPv6 address */
	f = mkflow(AF_INET6, "::1", 40000, "::a9fe:a9fe", 80, 6, JB_FLOW_EGRESS);
	ck_assert_int_eq(mflow(r, NULL, &f, NULL, 0), 0);
	/* no flow: never */
	ck_assert_int_eq(mflow(r, NULL, NULL, NULL, 0), 0);

	/* prefix lengths that are not a byte multiple, and /0 */
	r = ok1(HDR("n", "network_peers") "  remote_cidrs: [192.168.128.0/17]\n", "n");
	f = mkflow(AF_INET, "10.0.0.2", 1, "192.168.200.1", 80, 6, JB_FLOW_EGRESS);
	ck_assert_int_eq(mflow(r, NULL, &f, NULL, 0), 1);
	f = mkflow(AF_INET, "10.0.0.2", 1, "192.168.127.1", 80, 6, JB_FLOW_EGRESS);
	ck_assert_int_eq(mflow(r, NULL, &f, NULL, 0), 0);
	r = ok1(HDR("n", "network_peers") "  remote_cidrs: [0.0.0.0/0]\n", "n");
	f = mkflow(AF_INET, "10.0.0.2", 1, "8.8.8.8", 80, 6, JB_FLOW_EGRESS);
	ck_assert_int_eq(mflow(r, NULL, &f, NULL, 0), 1);
	f = mkflow(AF_INET6, "::1", 1, "2001:db8::1", 80, 6, JB_FLOW_EGRESS);
	ck_assert_int_eq(mflow(r, NULL, &f, NULL, 0), 0);
	/* a bare address is a /32 */
	r = ok1(HDR("n", "network_peers") "  remote_cidrs: 10.1.2.3\n", "n");
	ck_assert_int_eq(r->remote_cidrs[0].bits, 32);

	/* local_cidrs: the local address */
	r = ok1(HDR("n", "network_peers") "  local_cidrs: [10.0.0.0/8]\n", "n");
	f = mkflow(AF_INET, "10.9.9.9", 1, "8.8.8.8", 80, 6, JB_FLOW_EGRESS);
	ck_assert_int_eq(mflow(r, NULL, &f, NULL, 0), 1);
	f = mkflow(AF_INET, "11.9.9.9", 1, "10.8.8.8", 80, 6, JB_FLOW_EGRESS);
	ck_assert_int_eq(mflow(r, NULL, &f, NULL, 0), 0);
}
END_TEST

START_TEST(net_ports_proto)
{
	const struct recipe *r;
	struct jb_flow f;

	build_view();
	r = ok1(HDR("n", "network_peers") "  protocol: udp\n  remote_port: 53\n", "n");
	ck_assert_int_eq(r->proto, 17);
	f = mkflow(AF_INET, "10.0.0.2", 40000, "8.8.8.8", 53, 17, JB_FLOW_EGRESS);
	ck_assert_int_eq(mflow(r, NULL, &f, NULL, 0), 1);
	f.proto = 6;
	ck_assert_int_eq(mflow(r, NULL, &f, NULL, 0), 0);
	f.proto = 17;
	f.dport = 54;
	ck_assert_int_eq(mflow(r, NULL, &f, NULL, 0), 0);

	r = ok1(HDR("n", "network_peers") "  protocol: tcp\n  local_port: 22\n", "n");
	ck_assert_int_eq(r->proto, 6);
	f = mkflow(AF_INET, "10.0.0.2", 22, "203.0.113.9", 51000, 6, JB_FLOW_INGRESS);
	ck_assert_int_eq(mflow(r, NULL, &f, NULL, 0), 1);
	f.sport = 23;
	ck_assert_int_eq(mflow(r, NULL, &f, NULL, 0), 0);

	/* remote_port 0 = any port (with another selector) */
	r = ok1(HDR("n", "network_peers") "  remote_port: 0\n  remote_cidrs: [8.8.8.8]\n", "n");
	f = mkflow(AF_INET, "10.0.0.2", 1, "8.8.8.8", 12345, 6, JB_FLOW_EGRESS);
	ck_assert_int_eq(mflow(r, NULL, &f, NULL, 0), 1);
	/* protocol omitted = any, icmp is 1 */
	ck_assert_int_eq(r->proto, 0);
	f.proto = 17;
	ck_assert_int_eq(mflow(r, NULL, &f, NULL, 0), 1);
	r = ok1(HDR("n", "network_peers") "  protocol: icmp\n  remote_cidrs: [8.8.8.8]\n", "n");
	ck_assert_int_eq(r->proto, 1);
}
END_TEST

START_TEST(net_domains)
{
	const struct recipe *r;
	const char *two[2] = {"cdn.provider.net", "a.example.com"};
	struct jb_flow f;

	build_view();
	/* suffix */
	r = ok1(HDR("d", "network_peers") "  remote_domains: [Example.COM., other.org]\n"
					  "  remote_domains_trie_type: suffix\n",
		"d");
	ck_assert_uint_eq(r->ndomains, 2);
	ck_assert_str_eq(r->domains[0], "example.com"); /* lower case, no dot, sorted */
	ck_assert_int_eq(r->trie, RCP_TRIE_SUFFIX);
	ck_assert_int_eq(mdom(r, "example.com"), 1);
	ck_assert_int_eq(mdom(r, "a.example.com"), 1);
	ck_assert_int_eq(mdom(r, "x.y.example.com"), 1);
	ck_assert_int_eq(mdom(r, "badexample.com"), 0);
	ck_assert_int_eq(mdom(r, "example.com.evil.net"), 0);
	ck_assert_int_eq(mdom(r, "com"), 0);
	ck_assert_int_eq(mdom(r, "other.org"), 1);
	/* any name of the chain (question + CNAMEs) */
	f = mkflow(AF_INET, "10.0.0.2", 1, "198.51.100.7", 443, 6, JB_FLOW_EGRESS);
	ck_assert_int_eq(mflow(r, NULL, &f, two, 2), 1);
	ck_assert_int_eq(mflow(r, NULL, &f, two, 1), 0);
	ck_assert_int_eq(mflow(r, NULL, &f, NULL, 0), 0);

	/* exact (the default) */
	r = ok1(HDR("d", "network_peers") "  remote_domains: [example.com]\n", "d");
	ck_assert_int_eq(r->trie, RCP_TRIE_EXACT);
	ck_assert_int_eq(mdom(r, "example.com"), 1);
	ck_assert_int_eq(mdom(r, "a.example.com"), 0);
	ck_assert_int_eq(mdom(r, "example.co"), 0);

	/* prefix: whole labels from the left */
	r = ok1(HDR("d", "network_peers") "  remote_domains: [login, 'mail.corp']\n"
					  "  remote_domains_trie_type: prefix\n",
		"d");
	ck_assert_int_eq(mdom(r, "login"), 1);
	ck_assert_int_eq(mdom(r, "login.evil.example"), 1);
	ck_assert_int_eq(mdom(r, "loginx.evil.example"), 0);
	ck_assert_int_eq(mdom(r, "mail.corp.evil.example"), 1);
	ck_assert_int_eq(mdom(r, "mail.corpx.example"), 0);
	ck_assert_int_eq(mdom(r, "www.login.example"), 0);

	/* remote peer by address or by name: either is enough */
	r = ok1(HDR("d", "network_peers") "  remote_cidrs: [10.0.0.0/8]\n"
					  "  remote_domains: [evil.example]\n",
		"d");
	ck_assert_int_eq(mdom(r, "evil.example"), 1);
	f = mkflow(AF_INET, "10.0.0.2", 1, "10.1.1.1", 443, 6, JB_FLOW_EGRESS);
	ck_assert_int_eq(mflow(r, NULL, &f, NULL, 0), 1);
	ck_assert_int_eq(mdom(r, "good.example"), 0);

	/* bad names */
	bad1(HDR("d", "network_peers") "  remote_domains: ['a b.com']\n", 7, "holds ' '");
	bad1(HDR("d", "network_peers") "  remote_domains: ['...']\n", 7, "empty domain");
}
END_TEST

START_TEST(net_domains_file)
{
	const struct recipe *r;
	int calls = 0;
	const char *y;
	struct rcp_source src;

	build_view();
	r = ok1(HDR("d", "network_peers") "  remote_domains_file: lists/good.txt\n"
					  "  remote_domains: [inline.example]\n"
					  "  remote_domains_trie_type: suffix\n",
		"d");
	ck_assert_uint_eq(r->ndomains, 4);
	ck_assert_int_eq(mdom(r, "www.example.com"), 1);
	ck_assert_int_eq(mdom(r, "foo.org"), 1); /* trimmed, lower case, dot dropped */
	ck_assert_int_eq(mdom(r, "x.bar.net"), 1);
	ck_assert_int_eq(mdom(r, "inline.example"), 1);
	ck_assert_int_eq(mdom(r, "a.comment"), 0);
	ck_assert_int_eq(mdom(r, "trailing"), 0);

	/* relative to the recipe source's directory; absolute as is */
	y = HDR("d", "network_peers") "  remote_domains_file: ../../lists/good.txt\n";
	src = (struct rcp_source){"recipes/t.yaml", y, strlen(y)};
	rcp_set_free(&S);
	ck_assert_int_eq(rcp_load(&S, &src, 1, NULL, 0, file_cb, &calls, ERR, sizeof(ERR)), -1);
	ck_assert_msg(strstr(ERR, "no such list ../lists/good.txt"), "got '%s'", ERR);
	src.name = "sub/dir/t.yaml";
	y = HDR("d", "network_peers") "  remote_domains_file: ../../lists/good.txt\n";
	src.data = y;
	src.len = strlen(y);
	ck_assert_int_eq(rcp_load(&S, &src, 1, NULL, 0, file_cb, &calls, ERR, sizeof(ERR)), 0);
	ck_assert_int_eq(calls, 2);
	ck_assert_uint_eq(rcp_find(&S, "d")->ndomains, 3);
	ok1(HDR("d", "network_peers") "  remote_domains_file: /abs/list.txt\n", "d");
	ck_assert_int_eq(mdom(rcp_find(&S, "d"), "abs.example"), 1);

	/* a bad entry: the list file's own line, and who listed it */
	y = HDR("d", "network_peers") "  remote_domains_file: lists/bad.txt\n";
	src = (struct rcp_source){"t.yaml", y, strlen(y)};
	ck_assert_int_eq(load_n(&src, 1, NULL, NULL), -1);
	ck_assert_msg(!strncmp(ERR, "lists/bad.txt:3: ", 17), "got '%s'", ERR);
	ck_assert_ptr_nonnull(strstr(ERR, "'bad domain!' holds ' '"));
	ck_assert_ptr_nonnull(strstr(ERR, "(listed from t.yaml)"));

	/* a NUL anywhere in a list, even in a comment: refused, neither a name
	 * cut short nor a list the workers cannot be sent (fuzz_recipe) */
	y = HDR("d", "network_peers") "  remote_domains_file: lists/nul.txt\n";
	src = (struct rcp_source){"t.yaml", y, strlen(y)};
	ck_assert_int_eq(load_n(&src, 1, NULL, NULL), -1);
	ck_assert_msg(!strncmp(ERR, "lists/nul.txt:2: ", 17) && strstr(ERR, "NUL byte") &&
			      strstr(ERR, "(listed from t.yaml)"),
		      "got '%s'", ERR);
	y = HDR("d", "network_peers") "  remote_domains_file: lists/nul-comment.txt\n";
	src = (struct rcp_source){"t.yaml", y, strlen(y)};
	ck_assert_int_eq(load_n(&src, 1, NULL, NULL), -1);
	ck_assert_msg(!strncmp(ERR, "lists/nul-comment.txt:3: ", 25), "got '%s'", ERR);

	/* the callback's refusal, and no callback at all */
	bad1(HDR("d", "network_peers") "  remote_domains_file: lists/none.txt\n", 7,
	     "remote_domains_file 'lists/none.txt': no such list");
	rcp_set_free(&S);
	ck_assert_int_eq(rcp_load(&S, &src, 1, NULL, 0, NULL, NULL, ERR, sizeof(ERR)), -1);
	ck_assert_msg(!strncmp(ERR, "t.yaml:7: ", 10) && strstr(ERR, "cannot be read"), "got '%s'",
		      ERR);
}
END_TEST

START_TEST(net_flow_actions)
{
	const struct recipe *r;
	struct jb_task *t = build_view();
	struct jb_flow eg = mkflow(AF_INET, "10.0.0.2", 40000, "8.8.8.8", 443, 6, JB_FLOW_EGRESS);
	struct jb_flow in = mkflow(AF_INET, "10.0.0.2", 22, "8.8.8.8", 50000, 6, JB_FLOW_INGRESS);

	r = ok1(HDR("f", "network_peers") "  remote_cidrs: [0.0.0.0/0]\n  flow_actions: egress\n", "f");
	ck_assert_uint_eq(r->flow_actions, RCP_FA_EGRESS);
	ck_assert_int_eq(mflow(r, t, &eg, NULL, 0), 1);
	ck_assert_int_eq(mflow(r, t, &in, NULL, 0), 0);
	r = ok1(HDR("f", "network_peers") "  remote_cidrs: [0.0.0.0/0]\n  flow_actions: ingress\n",
		"f");
	ck_assert_int_eq(mflow(r, t, &eg, NULL, 0), 0);
	ck_assert_int_eq(mflow(r, t, &in, NULL, 0), 1);
	ck_assert_int_eq(mflow(r, NULL, &in, NULL, 0), 1); /* no task known */
	r = ok1(HDR("f", "network_peers") "  remote_cidrs: [0.0.0.0/0]\n"
					  "  flow_actions: [outgoing, incoming]\n",
		"f");
	ck_assert_int_eq(mflow(r, t, &eg, NULL, 0), 1);
	ck_assert_int_eq(mflow(r, t, &in, NULL, 0), 1);
	/* none given: any flow */
	r = ok1(HDR("f", "network_peers") "  remote_cidrs: [0.0.0.0/0]\n", "f");
	ck_assert_uint_eq(r->flow_actions, 0);
	ck_assert_int_eq(mflow(r, t, &eg, NULL, 0), 1);
	ck_assert_int_eq(mflow(r, t, &in, NULL, 0), 1);
	/* how: all, and _excl */
	r = ok1(HDR("f", "network_peers") "  remote_cidrs: [0.0.0.0/0]\n"
					  "  flow_actions: egress|ongoing\n  flow_actions_how: all\n",
		"f");
	ck_assert_int_eq(mflow(r, t, &eg, NULL, 0), 1);
	t->flags |= JB_TASK_EXITED;
	ck_assert_int_eq(mflow(r, t, &eg, NULL, 0), 0);
	t->flags &= ~JB_TASK_EXITED;
	ck_assert_int_eq(mflow(r, t, &in, NULL, 0), 0);
	r = ok1(HDR("f", "network_peers") "  remote_cidrs: [0.0.0.0/0]\n"
					  "  flow_actions: egress|ingress\n  flow_actions_excl: ingress\n",
		"f");
	ck_assert_uint_eq(r->flow_actions, RCP_FA_EGRESS);
	ck_assert_int_eq(mflow(r, t, &in, NULL, 0), 0);
}
END_TEST

/* ---- arbitrary ------------------------------------------------------------------ */

#define EXEC_ARB(groups) HDR("x", "execution") "  arbitrary:\n" groups

static int mexec(const char *yaml, const struct jb_task *t)
{
	return mfile(ok1(yaml, "x"), t, "/usr/bin/whatever", JB_ACT_EXEC);
}

START_TEST(arb_and_or)
{
	struct jb_task *t = build_view();

	/* AND: every item */
	ck_assert_int_eq(mexec(EXEC_ARB("    - how: AND\n      items:\n"
					"        - {what: comm, pattern: '^cat$'}\n"
					"        - {what: exe, pattern: '/cat$'}\n"),
			       t),
			 1);
	ck_assert_int_eq(mexec(EXEC_ARB("    - how: AND\n      items:\n"
					"        - {what: comm, pattern: '^cat$'}\n"
					"        - {what: exe, pattern: '/dog$'}\n"),
			       t),
			 0);
	/* OR: one item */
	ck_assert_int_eq(mexec(EXEC_ARB("    - how: OR\n      items:\n"
					"        - {what: comm, pattern: '^dog$'}\n"
					"        - {what: args, pattern: '^cat /etc/shadow$'}\n"),
			       t),
			 1);
	ck_assert_int_eq(mexec(EXEC_ARB("    - how: or\n      items:\n"
					"        - {what: comm, pattern: '^dog$'}\n"
					"        - {what: args, pattern: 'passwd'}\n"),
			       t),
			 0);
	/* how omitted: AND */
	ck_assert_int_eq(mexec(EXEC_ARB("    - items:\n"
					"        - {what: comm, pattern: cat}\n"
					"        - {what: comm, pattern: dog}\n"),
			       t),
			 0);
	/* every pertinent group must match */
	ck_assert_int_eq(mexec(EXEC_ARB("    - items: [{what: comm, pattern: cat}]\n"
					"    - items: [{what: uid, number: 1000}]\n"),
			       t),
			 1);
	ck_assert_int_eq(mexec(EXEC_ARB("    - items: [{what: comm, pattern: cat}]\n"
					"    - items: [{what: uid, number: 0}]\n"),
			       t),
			 0);
}
END_TEST

/*
 * PCRE2 gives up on a catastrophic pattern (here exponential: 2^200 ways to
 * split 200 a's) and on a value long enough for any backtracking pattern.
 * Such a test used to count as "no match", so an attacker padding argv
 * sidestepped the recipe. Now it errs towards reporting, whatever the
 * item's and the group's which, and each one is counted (and logged).
 */
#define CATASTROPHIC "'^(a|aa)+$'"

static void long_args(struct jb_task *t)
{
	memset(t->args, 'a', 200);
	t->args[200] = '!'; /* no match: every split is tried */
	t->args_len = 201;
}

static int mexec_timed(const char *yaml, const struct jb_task *t, uint64_t *hits)
{
	uint64_t before = rcp_match_limit_hits();
	const struct recipe *r = ok1(yaml, "x");
	int64_t t0 = (int64_t)tl_now_ns(), took;
	int m = mfile(r, t, "/usr/bin/whatever", JB_ACT_EXEC);

	took = (int64_t)tl_now_ns() - t0;
	/* uncapped it would not end: the cap is what bounds it */
	ck_assert_msg(took < 5000000000LL, "one match took %lld ms", (long long)(took / 1000000));
	*hits = rcp_match_limit_hits() - before;
	return m;
}

START_TEST(arb_regex_limit)
{
	struct jb_task *t = build_view();
	uint64_t hits;

	long_args(t);
	/* a positive item of a pertinent group: a match */
	ck_assert_int_eq(mexec_timed(EXEC_ARB("    - items: [{what: args, pattern: " CATASTROPHIC
					      "}]\n"), t, &hits), 1);
	ck_assert_uint_eq(hits, 1);
	/* a negated item of a pertinent group ("report unless args is ..."):
	 * the group still lets the detection through */
	ck_assert_int_eq(mexec_timed(EXEC_ARB("    - items: [{what: args, which: irrelevant, "
					      "pattern: " CATASTROPHIC "}]\n"), t, &hits), 1);
	ck_assert_uint_eq(hits, 1);
	/* an irrelevant group cannot suppress it, with the item positive... */
	ck_assert_int_eq(mexec_timed(EXEC_ARB("    - which: irrelevant\n      items: [{what: args, "
					      "pattern: " CATASTROPHIC "}]\n"), t, &hits), 1);
	ck_assert_uint_eq(hits, 1);
	/* ...or negated (the inner test counts as matched) */
	ck_assert_int_eq(mexec_timed(EXEC_ARB("    - which: irrelevant\n      items: [{what: args, "
					      "which: irrelevant, pattern: " CATASTROPHIC "}]\n"),
				     t, &hits), 1);
	ck_assert_uint_eq(hits, 1);
	/* an OR group: the undecided item is enough; a decided match of
	 * another item still suppresses (the limit takes nothing away) */
	ck_assert_int_eq(mexec_timed(EXEC_ARB("    - how: OR\n      items:\n"
					      "        - {what: comm, pattern: '^zsh$'}\n"
					      "        - {what: args, pattern: " CATASTROPHIC "}\n"),
				     t, &hits), 1);
	ck_assert_uint_eq(hits, 1);
	ck_assert_int_eq(mexec_timed(EXEC_ARB("    - which: irrelevant\n      how: OR\n      items:\n"
					      "        - {what: comm, pattern: '^cat$'}\n"
					      "        - {what: args, pattern: " CATASTROPHIC "}\n"),
				     t, &hits), 0);
	/* the same patterns decide as before on values they can finish */
	memcpy(t->args, "aaaa", 4);
	t->args_len = 4;
	ck_assert_int_eq(mexec_timed(EXEC_ARB("    - which: irrelevant\n      items: [{what: args, "
					      "pattern: " CATASTROPHIC "}]\n"), t, &hits), 0);
	ck_assert_uint_eq(hits, 0);
	memcpy(t->args, "aab", 3);
	t->args_len = 3;
	ck_assert_int_eq(mexec_timed(EXEC_ARB("    - items: [{what: args, pattern: " CATASTROPHIC
					      "}]\n"), t, &hits), 0);
	ck_assert_uint_eq(hits, 0);
	/* ancient_exe walks several values: a later definite match still
	 * counts, an undecided one alone errs towards reporting */
	memset(task_mut(K_GP)->exe, 'a', 200);
	task_mut(K_GP)->exe[200] = '!';
	ck_assert_int_eq(mexec_timed(EXEC_ARB("    - which: irrelevant\n      items: [{what: "
					      "ancient_exe, pattern: '^(a|aa)+$|systemd'}]\n"),
				     t, &hits), 0);
	ck_assert_uint_eq(hits, 1);
	ck_assert_int_eq(mexec_timed(EXEC_ARB("    - which: irrelevant\n      items: [{what: "
					      "ancient_exe, pattern: '^(a|aa)+$'}]\n"),
				     t, &hits), 1);
	ck_assert_uint_eq(hits, 1);
}
END_TEST

/* A bases regex that gives up on a long path counts as a match. */
START_TEST(bases_regex_limit)
{
	struct jb_task *t = build_view();
	const struct recipe *r = ok1(HDR("x", "file_access") "  bases: [{regex: '^/(a|aa)+$'}]\n",
				     "x");
	char path[256];
	uint64_t before = rcp_match_limit_hits();

	path[0] = '/';
	memset(path + 1, 'a', 200);
	strcpy(path + 201, "!");
	ck_assert_int_eq(mfile(r, t, path, JB_ACT_OPEN), 1);
	ck_assert_uint_eq(rcp_match_limit_hits() - before, 1);
	ck_assert_int_eq(rcp_match_bases(r, path), 1);
	ck_assert_int_eq(mfile(r, t, "/aaab", JB_ACT_OPEN), 0);
	ck_assert_int_eq(mfile(r, t, "/aaa", JB_ACT_OPEN), 1);
	ck_assert_uint_eq(rcp_match_limit_hits() - before, 2);
}
END_TEST

/* RECIPES.md and the lead's reading: `cmd` is the same as `args`. */
START_TEST(arb_cmd_alias)
{
	struct jb_task *t = build_view();

	ck_assert_int_eq(mexec(EXEC_ARB("    - items: [{what: cmd, pattern: 'cat /etc/shadow'}]\n"),
			       t),
			 1);
}
END_TEST

START_TEST(arb_irrelevant)
{
	struct jb_task *t = build_view();

	/* an irrelevant group suppresses when it matches */
	ck_assert_int_eq(mexec(EXEC_ARB("    - which: irrelevant\n      items:\n"
					"        - {what: parent_comm, pattern: '^bash$'}\n"),
			       t),
			 0);
	ck_assert_int_eq(mexec(EXEC_ARB("    - which: irrelevant\n      items:\n"
					"        - {what: parent_comm, pattern: '^zsh$'}\n"),
			       t),
			 1);
	/* pertinent + irrelevant */
	ck_assert_int_eq(mexec(EXEC_ARB("    - which: pertinent\n      items: [{what: comm, "
					"pattern: cat}]\n"
					"    - which: irrelevant\n      how: OR\n      items:\n"
					"        - {what: uid, number: 0}\n"
					"        - {what: exe, pattern: '^/opt/'}\n"),
			       t),
			 1);
	t->uid = 0;
	ck_assert_int_eq(mexec(EXEC_ARB("    - which: pertinent\n      items: [{what: comm, "
					"pattern: cat}]\n"
					"    - which: irrelevant\n      how: OR\n      items:\n"
					"        - {what: uid, number: 0}\n"
					"        - {what: exe, pattern: '^/opt/'}\n"),
			       t),
			 0);
	t->uid = 1000;
	/* item which: irrelevant negates that item */
	ck_assert_int_eq(mexec(EXEC_ARB("    - items:\n"
					"        - {what: comm, pattern: cat}\n"
					"        - {what: exe, pattern: '^/usr/', which: irrelevant}\n"),
			       t),
			 0);
	ck_assert_int_eq(mexec(EXEC_ARB("    - items:\n"
					"        - {what: comm, pattern: cat}\n"
					"        - {what: exe, pattern: '^/opt/', which: irrelevant}\n"),
			       t),
			 1);
	/* missing data never matches: a task without a parent in the view */
	t->parent_key = 999;
	ck_assert_int_eq(mexec(EXEC_ARB("    - which: irrelevant\n      items:\n"
					"        - {what: parent_comm, pattern: '.*'}\n"),
			       t),
			 1);
	ck_assert_int_eq(mexec(EXEC_ARB("    - items:\n"
					"        - {what: parent_exe, pattern: '.*'}\n"),
			       t),
			 0);
}
END_TEST

START_TEST(arb_numbers)
{
	struct jb_task *t = build_view(); /* pid 400, ppid 300, uid 1000 */

	ck_assert_int_eq(mexec(EXEC_ARB("    - items: [{what: pid, numbers: [1, 400, 7]}]\n"), t), 1);
	ck_assert_int_eq(mexec(EXEC_ARB("    - items: [{what: pid, numbers: [1, 7]}]\n"), t), 0);
	ck_assert_int_eq(mexec(EXEC_ARB("    - items: [{what: ppid, number: 300, when: equal}]\n"),
			       t),
			 1);
	ck_assert_int_eq(mexec(EXEC_ARB("    - items: [{what: uid, number: 1000, when: smaller}]\n"),
			       t),
			 0);
	ck_assert_int_eq(mexec(EXEC_ARB("    - items: [{what: uid, number: 1001, when: smaller}]\n"),
			       t),
			 1);
	ck_assert_int_eq(mexec(EXEC_ARB("    - items: [{what: uid, number: 999, when: bigger}]\n"),
			       t),
			 1);
	ck_assert_int_eq(mexec(EXEC_ARB("    - items: [{what: uid, number: 1000, when: bigger}]\n"),
			       t),
			 0);
	ck_assert_int_eq(mexec(EXEC_ARB("    - items: [{what: uid, number: -5, when: bigger}]\n"), t),
			 1);
}
END_TEST

START_TEST(arb_ancestry)
{
	struct jb_task *t = build_view();

	ck_assert_int_eq(mexec(EXEC_ARB("    - items: [{what: parent_exe, pattern: '^/usr/bin/bash$'}]\n"),
			       t),
			 1);
	ck_assert_int_eq(mexec(EXEC_ARB("    - items: [{what: parent_exe, pattern: sshd}]\n"), t), 0);
	ck_assert_int_eq(mexec(EXEC_ARB("    - items: [{what: parent_args, pattern: '^bash -i$'}]\n"),
			       t),
			 1);
	ck_assert_int_eq(mexec(EXEC_ARB("    - items: [{what: task_or_parent_exe, pattern: bash}]\n"),
			       t),
			 1);
	ck_assert_int_eq(mexec(EXEC_ARB("    - items: [{what: task_or_parent_exe, pattern: cat}]\n"),
			       t),
			 1);
	ck_assert_int_eq(mexec(EXEC_ARB("    - items: [{what: task_or_parent_exe, pattern: sshd}]\n"),
			       t),
			 0);
	/* ancient_exe: any ancestor, not the task itself */
	ck_assert_int_eq(mexec(EXEC_ARB("    - items: [{what: ancient_exe, pattern: '/sshd$'}]\n"),
			       t),
			 1);
	ck_assert_int_eq(mexec(EXEC_ARB("    - items: [{what: ancient_exe, pattern: systemd}]\n"), t),
			 1);
	ck_assert_int_eq(mexec(EXEC_ARB("    - items: [{what: ancient_exe, pattern: bash}]\n"), t),
			 1);
	ck_assert_int_eq(mexec(EXEC_ARB("    - items: [{what: ancient_exe, pattern: '/cat$'}]\n"), t),
			 0);
	/* a cycle in the ancestry ends the walk */
	task_mut(K_GP)->parent_key = K_CHILD;
	ck_assert_int_eq(mexec(EXEC_ARB("    - items: [{what: ancient_exe, pattern: systemd}]\n"), t),
			 0);
	ck_assert_int_eq(mexec(EXEC_ARB("    - items: [{what: ancient_exe, pattern: sshd}]\n"), t),
			 1);
	/* no view: no parent */
	build_view();
	{
		const struct recipe *r =
			ok1(EXEC_ARB("    - items: [{what: ancient_exe, pattern: '.'}]\n"), "x");
		struct rcp_subject s = {.task = task_mut(K_CHILD), .path = "/x",
					.actions = JB_ACT_EXEC};
		ck_assert_int_eq(rcp_match(r, &s), 0);
	}
}
END_TEST

START_TEST(arb_domain_entropy)
{
	const struct recipe *r;

	build_view();
	r = ok1(HDR("x", "network_peers") "  remote_cidrs: [0.0.0.0/0]\n  arbitrary:\n"
					  "    - items: [{what: domain_entropy, number: 300, when: bigger}]\n",
		"x");
	ck_assert_int_eq(mdom(r, "x7f9kq2zpl3m.com"), 1);   /* 12 distinct: 358 */
	ck_assert_int_eq(mdom(r, "google.com"), 0);	      /* 192 */
	ck_assert_int_eq(mdom(r, "aaaaaaaaaaaaaaaa.com"), 0); /* 0 */
	ck_assert_int_eq(mdom(r, "www.x7f9kq2zpl3m.net"), 1); /* the longest label */
	r = ok1(HDR("x", "network_peers") "  remote_cidrs: [0.0.0.0/0]\n  arbitrary:\n"
					  "    - items: [{what: domain_entropy, number: 100}]\n",
		"x");
	ck_assert_int_eq(mdom(r, "ab.c"), 1); /* exactly 1 bit: 100 */
	ck_assert_int_eq(mdom(r, "abc.d"), 0);
	/* a flow without names has no entropy */
	{
		struct jb_flow f = mkflow(AF_INET, "10.0.0.2", 1, "8.8.8.8", 53, 17, JB_FLOW_EGRESS);
		ck_assert_int_eq(mflow(r, NULL, &f, NULL, 0), 0);
	}
	/* domain patterns, remote_port and remote_ip items */
	r = ok1(HDR("x", "network_peers") "  remote_cidrs: [0.0.0.0/0]\n  arbitrary:\n"
					  "    - how: AND\n      items:\n"
					  "        - {what: domain, pattern: '\\.onion$'}\n"
					  "        - {what: remote_port, numbers: [443, 9001]}\n"
					  "        - {what: remote_ip, cidr: [198.51.100.0/24]}\n",
		"x");
	ck_assert_int_eq(mdom(r, "abc.onion"), 1);
	ck_assert_int_eq(mdom(r, "abc.onion.example"), 0);
}
END_TEST

/* Paths, argv and names are attacker-chosen bytes, not UTF-8. A regex must
 * still match what it matches around an invalid byte: otherwise one \xff in
 * a file name or an argument evades every regex recipe. */
START_TEST(regex_invalid_utf8_subject)
{
	struct jb_task *t = build_view();
	const struct recipe *r;

	r = ok1(HDR("x", "execution") "  regex: '^/tmp/'\n", "x");
	ck_assert_int_eq(mfile(r, t, "/tmp/miner", JB_ACT_EXEC), 1);
	ck_assert_int_eq(mfile(r, t, "/tmp/\xc3\xa9", JB_ACT_EXEC), 1); /* valid UTF-8 */
	ck_assert_msg(mfile(r, t, "/tmp/\xff/miner", JB_ACT_EXEC) == 1,
		      "regex '^/tmp/' misses /tmp/\\xff/miner");
	ck_assert_msg(mfile(r, t, "/tmp/a\xc3/miner", JB_ACT_EXEC) == 1,
		      "regex '^/tmp/' misses a truncated sequence");

	r = ok1(EXEC_ARB("    - items: [{what: args, pattern: 'https?://[0-9.]+/'}]\n"), "x");
	memcpy(t->args, "curl\0http://192.0.2.1/x\0-A\0\xfe\0", 30);
	t->args_len = 30;
	ck_assert_msg(mfile(r, t, "/usr/bin/curl", JB_ACT_EXEC) == 1,
		      "an argument holding \\xfe hides the URL from an args pattern");

	r = ok1(HDR("x", "network_peers") "  remote_cidrs: [0.0.0.0/0]\n  arbitrary:\n"
					  "    - items: [{what: domain, pattern: 'evil\\.example$'}]\n",
		"x");
	ck_assert_int_eq(mdom(r, "a.evil.example"), 1);
	ck_assert_int_eq(mdom(r, "\xff.evil.example"), 1);
}
END_TEST

#ifdef JB_ENV_LEN
START_TEST(env_vars_match)
{
	const struct recipe *r;
	struct jb_task *t = build_view();
	static const char env[] = "LD_PRELOAD=/tmp/x.so\0LD_FOO=1\0";

	memcpy(t->env, env, sizeof(env));
	t->env_len = sizeof(env);
	r = ok1(HDR("v", "env_vars") "  env_vars: [LD_AUDIT, LD_PRELOAD]\n", "v");
	ck_assert_int_eq(mfile(r, t, "/usr/bin/x", JB_ACT_EXEC), 1);
	ck_assert_int_eq(mfile(r, t, "/usr/bin/x", JB_ACT_OPEN), 0);
	r = ok1(HDR("v", "env_vars") "  env_vars: [LD_PRELOA, LD_AUDIT]\n", "v");
	ck_assert_int_eq(mfile(r, t, "/usr/bin/x", JB_ACT_EXEC), 0);
}
END_TEST

/* env items and env_vars walk the same entries: an empty one matches
 * nothing, nothing past env_len is read */
START_TEST(env_walk)
{
	const struct recipe *r;
	struct jb_task *t = build_view();
	static const char env[] = "LD_A=1\0\0LD_B=2\0LD_C=3";

	memcpy(t->env, env, sizeof(env));
	t->env_len = 15; /* LD_A=1, an empty entry, LD_B=2; LD_C=3 lies past it */
	ck_assert_int_eq(mexec(EXEC_ARB("    - items:\n        - {what: env, pattern: '^LD_B=2$'}\n"),
			       t),
			 1);
	ck_assert_int_eq(mexec(EXEC_ARB("    - items:\n        - {what: env, pattern: 'LD_C'}\n"), t),
			 0);
	ck_assert_int_eq(mexec(EXEC_ARB("    - items:\n        - {what: env, pattern: '^$'}\n"), t),
			 0);
	r = ok1(HDR("v", "env_vars") "  env_vars: [LD_B]\n", "v");
	ck_assert_int_eq(mfile(r, t, "/usr/bin/x", JB_ACT_EXEC), 1);
	r = ok1(HDR("v", "env_vars") "  env_vars: [LD_C]\n", "v");
	ck_assert_int_eq(mfile(r, t, "/usr/bin/x", JB_ACT_EXEC), 0);
}
END_TEST

/* env_vars_cut: a task whose environment was not read whole
 * (JB_TASK_ENV_CUT) matches never, also, or only, whatever was read */
START_TEST(env_cut_match)
{
	const struct recipe *r;
	struct jb_task *t = build_view();
	static const char env[] = "LD_PRELOAD=/tmp/x.so\0";

	memcpy(t->env, env, sizeof(env));
	t->env_len = sizeof(env);
	/* ignore (the default): what was read decides */
	r = ok1(HDR("v", "env_vars") "  env_vars: [LD_AUDIT]\n", "v");
	ck_assert_int_eq(r->env_cut, RCP_ENV_CUT_IGNORE);
	t->flags |= JB_TASK_ENV_CUT;
	ck_assert_int_eq(mfile(r, t, "/usr/bin/x", JB_ACT_EXEC), 0);
	r = ok1(HDR("v", "env_vars") "  env_vars: [LD_PRELOAD]\n  env_vars_cut: ignore\n", "v");
	ck_assert_int_eq(mfile(r, t, "/usr/bin/x", JB_ACT_EXEC), 1);
	/* also: the cut alone matches, a variable read alone too */
	r = ok1(HDR("v", "env_vars") "  env_vars: [LD_AUDIT]\n  env_vars_cut: also\n", "v");
	ck_assert_int_eq(mfile(r, t, "/usr/bin/x", JB_ACT_EXEC), 1);
	ck_assert_int_eq(mfile(r, t, "/usr/bin/x", JB_ACT_OPEN), 0); /* still an exec only */
	t->flags &= ~JB_TASK_ENV_CUT;
	ck_assert_int_eq(mfile(r, t, "/usr/bin/x", JB_ACT_EXEC), 0);
	r = ok1(HDR("v", "env_vars") "  env_vars: [LD_PRELOAD]\n  env_vars_cut: also\n", "v");
	ck_assert_int_eq(mfile(r, t, "/usr/bin/x", JB_ACT_EXEC), 1);
	/* only: the cut, whatever was read */
	r = ok1(HDR("v", "env_vars") "  env_vars: [LD_PRELOAD]\n  env_vars_cut: only\n", "v");
	ck_assert_int_eq(mfile(r, t, "/usr/bin/x", JB_ACT_EXEC), 0);
	t->flags |= JB_TASK_ENV_CUT;
	ck_assert_int_eq(mfile(r, t, "/usr/bin/x", JB_ACT_EXEC), 1);
	t->env_len = 0;
	ck_assert_int_eq(mfile(r, t, "/usr/bin/x", JB_ACT_EXEC), 1);
	t->flags &= ~JB_TASK_ENV_CUT;
	/* the built-in pair: dynamic_linker_attacks reads, dynamic_linker_env_unread
	 * reports the cut */
	{
		struct rcp_set b = {0};
		char err[512];
		const struct recipe *u, *d;

		ck_assert_int_eq(rcp_load(&b, rcp_builtin, rcp_builtin_n, NULL, 0, NULL, NULL, err,
					  sizeof(err)), 0);
		u = rcp_find(&b, "dynamic_linker_env_unread");
		d = rcp_find(&b, "dynamic_linker_attacks");
		ck_assert_ptr_nonnull(u);
		ck_assert_ptr_nonnull(d);
		ck_assert_int_eq(u->env_cut, RCP_ENV_CUT_ONLY);
		ck_assert_int_eq(d->env_cut, RCP_ENV_CUT_IGNORE);
		t->flags |= JB_TASK_ENV_CUT;
		ck_assert_int_eq(mfile(u, t, "/usr/bin/x", JB_ACT_EXEC), 1);
		t->flags &= ~JB_TASK_ENV_CUT;
		ck_assert_int_eq(mfile(u, t, "/usr/bin/x", JB_ACT_EXEC), 0);
		rcp_set_free(&b);
	}
}
END_TEST
#endif

START_TEST(env_cut_bad)
{
	bad1(HDR("a", "env_vars") "  env_vars: [LD_X]\n  env_vars_cut: sometimes\n", 8,
	     "ignore, also, only");
	bad1(HDR("a", "execution") "  base: x\n  env_vars_cut: only\n", 1,
	     "network, env_vars or tamper");
	/* names the kernel cannot record are refused where they are written */
	bad1(HDR("a", "env_vars") "  env_vars: [LD_X, "
				  "A123456789012345678901234567890123456789012345678901234567890123]\n",
	     7, "longer than 63");
	ok1(HDR("a", "env_vars") "  env_vars: "
				 "[A12345678901234567890123456789012345678901234567890123456789012]\n",
	    "a");
}
END_TEST

/* the variable an env item reads, when its pattern names one literally */
START_TEST(env_item_name)
{
	static const struct {
		const char *pattern, *name;
	} cases[] = {
		{"^LD_PRELOAD=(?!$)", "LD_PRELOAD"},
		{"^LD_AUDIT=.", "LD_AUDIT"},
		{"^X=", "X"},
		{"^lower_case1=", "lower_case1"},
		{"LD_PRELOAD=", NULL},	   /* not anchored: any entry holding it */
		{"^LD_[A-Z]+=", NULL},	   /* a class: many names */
		{"^(?:LD_A|LD_B)=", NULL}, /* an alternation */
		{"(?i)^ld_preload=", NULL},
		{"^LD_PRELOAD", NULL},	   /* no "=": LD_PRELOAD_X too */
		{"^LD.PRELOAD=", NULL},
		{"^=", NULL},
	};
	char yaml[512];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct recipe *r;

		snprintf(yaml, sizeof(yaml),
			 EXEC_ARB("    - items:\n        - {what: env, pattern: '%s'}\n"),
			 cases[i].pattern);
		r = ok1(yaml, "x");
		if (cases[i].name)
			ck_assert_str_eq(r->groups[0].items[0].env_name, cases[i].name);
		else
			ck_assert_msg(r->groups[0].items[0].env_name == NULL, "%s named %s",
				      cases[i].pattern, r->groups[0].items[0].env_name);
	}
	/* only env items name variables */
	const struct recipe *r =
		ok1(EXEC_ARB("    - items:\n        - {what: args, pattern: '^LD_X='}\n"), "x");
	ck_assert_ptr_null(r->groups[0].items[0].env_name);
}
END_TEST

/* the supervisor's set: enabled recipes' env_vars and named env items,
 * sorted, distinct; looked up by exact name */
START_TEST(env_names_derive)
{
	static const char yaml[] =
		HDR("v", "env_vars") "  env_vars: [LD_PRELOAD, B_VAR, LD_PRELOAD]\n"
		HDR("w", "env_vars") "  enabled: false\n  env_vars: [OFF_VAR]\n"
		HDR("x", "execution") "  base: x\n  arbitrary:\n"
		"    - items:\n        - {what: env, pattern: '^A_VAR=1'}\n"
		"        - {what: env, pattern: 'UNNAMED'}\n"
		"        - {what: env, pattern: '^B_VAR='}\n";
	struct sup_envnames n;

	ck_assert_int_eq(load1(yaml), 0);
	ck_assert_int_eq(sup_envnames_derive(&S, &n), 0);
	ck_assert_uint_eq(n.n, 3);
	ck_assert_str_eq(n.v[0].name, "A_VAR");
	ck_assert_str_eq(n.v[1].name, "B_VAR");
	ck_assert_str_eq(n.v[2].name, "LD_PRELOAD");
	for (size_t i = 0; i < n.n; i++)
		for (size_t j = strlen(n.v[i].name); j < JB_ENV_NAME_MAX; j++)
			ck_assert_int_eq(n.v[i].name[j], 0); /* the kernel's key: NUL padded */
	ck_assert(sup_envnames_has(&n, "LD_PRELOAD=x", 10));
	ck_assert(!sup_envnames_has(&n, "LD_PRELOA", 9));
	ck_assert(!sup_envnames_has(&n, "OFF_VAR", 7));
	ck_assert(!sup_envnames_has(&n, "", 0));
	ck_assert_uint_eq(sup_envnames_prebit("LD_PRELOAD"), 'L' | 'D' << 8);
	ck_assert_uint_eq(sup_envnames_prebit("X"), 'X' | '=' << 8);
	sup_envnames_free(&n);
	/* no recipe: no name */
	ck_assert_int_eq(sup_envnames_derive(NULL, &n), 0);
	ck_assert_uint_eq(n.n, 0);
	sup_envnames_free(&n);
	/* the built-in set names the loader variables the recipes read */
	{
		struct rcp_set b = {0};
		char err[512];

		ck_assert_int_eq(rcp_load(&b, rcp_builtin, rcp_builtin_n, NULL, 0, NULL, NULL, err,
					  sizeof(err)), 0);
		ck_assert_int_eq(sup_envnames_derive(&b, &n), 0);
		ck_assert(sup_envnames_has(&n, "LD_PRELOAD", 10));
		ck_assert(sup_envnames_has(&n, "LD_LIBRARY_PATH", 15));
		ck_assert(sup_envnames_has(&n, "LD_AUDIT", 8));
		ck_assert(sup_envnames_has(&n, "LD_TRACE_LOADED_OBJECTS", 23));
		sup_envnames_free(&n);
		rcp_set_free(&b);
	}
}
END_TEST

/* ---- times keys -------------------------------------------------------------- */

static void assert_printable(const char *s)
{
	for (const char *p = s; *p; p++)
		ck_assert_msg((unsigned char)*p >= 0x20 && *p != 0x7f, "byte 0x%02x in key '%s'",
			      (unsigned char)*p, s);
}

START_TEST(times_keys)
{
	struct jb_task *t = build_view();
	struct rcp_subject s = {.v = &view, .task = t, .path = "/x", .actions = JB_ACT_EXEC};
	const char *boot = "b00t";
	char out[512], id[17], want[512];

	rcp_times_key(RCP_T_PROC, &s, boot, out, sizeof(out));
	rcp_process_id(boot, 400, 40000, id);
	snprintf(want, sizeof(want), "process %s (pid 400)", id);
	ck_assert_str_eq(out, want);
	rcp_times_key(RCP_T_EXE, &s, boot, out, sizeof(out));
	ck_assert_str_eq(out, "/usr/bin/cat");
	rcp_times_key(RCP_T_PARENT_PROC, &s, boot, out, sizeof(out));
	rcp_process_id(boot, 300, 30000, id);
	snprintf(want, sizeof(want), "process %s (pid 300)", id);
	ck_assert_str_eq(out, want);
	rcp_times_key(RCP_T_PARENT_EXE, &s, boot, out, sizeof(out));
	ck_assert_str_eq(out, "/usr/bin/bash");
	rcp_times_key(RCP_T_FULL_ANCESTRY, &s, boot, out, sizeof(out));
	ck_assert_msg(!strncmp(out, "cat<bash<sshd<systemd #", 23), "got '%s'", out);
	ck_assert_uint_eq(strlen(out), 23 + 16);
	rcp_times_key(RCP_T_HOST, &s, boot, out, sizeof(out));
	ck_assert_str_eq(out, "*");
	rcp_times_key(RCP_T_TOTAL, &s, boot, out, sizeof(out));
	ck_assert_str_eq(out, "*");

	/* the ancestry key differs when any executable of the chain does */
	{
		char a[512];
		rcp_times_key(RCP_T_FULL_ANCESTRY, &s, boot, a, sizeof(a));
		strcpy(task_mut(K_INIT)->exe, "/sbin/init2");
		rcp_times_key(RCP_T_FULL_ANCESTRY, &s, boot, out, sizeof(out));
		ck_assert_str_ne(a, out);
	}

	/* no parent */
	s.task = t;
	t->parent_key = 0;
	rcp_times_key(RCP_T_PARENT_EXE, &s, boot, out, sizeof(out));
	ck_assert_str_eq(out, "(unknown)");
	rcp_times_key(RCP_T_FULL_ANCESTRY, &s, boot, out, sizeof(out));
	ck_assert_msg(!strncmp(out, "cat #", 5), "got '%s'", out);

	/* no task (an ingress flow): "(unknown)" for every per-task kind */
	s.task = NULL;
	for (int k = 0; k < RCP_T_MAX; k++) {
		rcp_times_key((enum rcp_times_kind)k, &s, boot, out, sizeof(out));
		ck_assert_msg(out[0], "%s: empty key", rcp_times_name((enum rcp_times_kind)k));
		if (k != RCP_T_HOST && k != RCP_T_TOTAL)
			ck_assert_msg(!strcmp(out, "(unknown)"), "%s without a task: '%s'",
				      rcp_times_name((enum rcp_times_kind)k), out);
	}
}
END_TEST

START_TEST(times_keys_crafted)
{
	struct jb_task *t = build_view();
	struct rcp_subject s = {.v = &view, .task = t};
	char out[4200];

	/* an attacker names its binary with a tab and a newline (they would
	 * split the "KIND\tKEY\n" lines the worker sends) */
	strcpy(t->exe, "/tmp/a\tb\nc\r\x1b[31m\x7f");
	strcpy(task_mut(K_PARENT)->exe, "/tmp/p\n\t");
	for (int k = 0; k < RCP_T_MAX; k++) {
		rcp_times_key((enum rcp_times_kind)k, &s, "boot", out, sizeof(out));
		assert_printable(out);
	}
	rcp_times_key(RCP_T_EXE, &s, "boot", out, sizeof(out));
	ck_assert_str_eq(out, "/tmp/a?b?c??[31m?");
	/* an exe that fills its field (no NUL) stays bounded */
	memset(t->exe, 'e', sizeof(t->exe));
	rcp_times_key(RCP_T_EXE, &s, "boot", out, sizeof(out));
	ck_assert_uint_eq(strlen(out), sizeof(t->exe));
	/* a small buffer is never overrun and stays terminated */
	{
		char small[9];
		memset(small, 'Z', sizeof(small));
		for (int k = 0; k < RCP_T_MAX; k++) {
			rcp_times_key((enum rcp_times_kind)k, &s, "boot", small, sizeof(small));
			ck_assert_uint_lt(strlen(small), sizeof(small));
			assert_printable(small);
		}
	}
}
END_TEST

/* ---- rcp_resolve ---------------------------------------------------------------- */

START_TEST(resolve_paths)
{
	char out[256];

	ck_assert_int_eq(rcp_resolve("builtin:recipes/network_peers/x.yaml", "../lists/a.txt", out,
				     sizeof(out)),
			 0);
	ck_assert_str_eq(out, "builtin:recipes/lists/a.txt");
	ck_assert_int_eq(rcp_resolve("builtin:recipes/x.yaml", "./lists//b.txt", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "builtin:recipes/lists/b.txt");
	ck_assert_int_eq(rcp_resolve("/etc/jibril/recipes/a.yaml", "lists/b.txt", out, sizeof(out)),
			 0);
	ck_assert_str_eq(out, "/etc/jibril/recipes/lists/b.txt");
	ck_assert_int_eq(rcp_resolve("/etc/jibril/recipes/a.yaml", "../../x/./y/../z.txt", out,
				     sizeof(out)),
			 0);
	ck_assert_str_eq(out, "/etc/x/z.txt");
	/* absolute: as is (folded), also from a built-in recipe */
	ck_assert_int_eq(rcp_resolve("/r/a.yaml", "/var/lib/../lists/c.txt", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "/var/lists/c.txt");
	ck_assert_int_eq(rcp_resolve("builtin:recipes/a.yaml", "/etc/l.txt", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "/etc/l.txt");
	/* never above / */
	ck_assert_int_eq(rcp_resolve("/a.yaml", "../../../x", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "/x");
	ck_assert_int_eq(rcp_resolve("/r/a.yaml", "/..", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "/");
	/* a source without a directory */
	ck_assert_int_eq(rcp_resolve("a.yaml", "l.txt", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "l.txt");
	/* too long for out */
	ck_assert_int_eq(rcp_resolve("/r/a.yaml", "lists/b.txt", out, 8), -1);
	ck_assert_int_eq(rcp_resolve("/r/a.yaml", "lists/b.txt", out, 14), -1);
	ck_assert_int_eq(rcp_resolve("/r/a.yaml", "lists/b.txt", out, 15), 0);
	ck_assert_str_eq(out, "/r/lists/b.txt");
}
END_TEST

/* A long run of ".." in a relative name: each is kept (nothing to fold),
 * and the run is longer than the components rcp_resolve holds. Before the
 * fix the ".." append skipped the bound and wrote past its stack array
 * (ASan: stack-buffer-overflow); now it is refused. */
START_TEST(resolve_dotdot_run)
{
	char path[4096], out[4096];
	size_t o = 0;

	for (int i = 0; i < 1300; i++)
		o += (size_t)snprintf(path + o, sizeof(path) - o, "../");
	snprintf(path + o, sizeof(path) - o, "x");
	ck_assert_int_eq(rcp_resolve("a.yaml", path, out, sizeof(out)), -1);
	ck_assert_int_eq(rcp_resolve("builtin:a.yaml", path, out, sizeof(out)), -1);
	/* from a directory: the first ".." folds it, the rest are kept */
	ck_assert_int_eq(rcp_resolve("d/a.yaml", path, out, sizeof(out)), -1);
	/* a run that fits is kept as it is */
	o = 0;
	for (int i = 0; i < 500; i++)
		o += (size_t)snprintf(path + o, sizeof(path) - o, "../");
	snprintf(path + o, sizeof(path) - o, "x");
	ck_assert_int_eq(rcp_resolve("a.yaml", path, out, sizeof(out)), 0);
	ck_assert_str_eq(out, path);
	ck_assert_int_eq(rcp_resolve("d/a.yaml", path, out, sizeof(out)), 0);
	ck_assert_uint_eq(strlen(out), strlen(path) - 3);
	/* absolute: never above /, however many */
	ck_assert_int_eq(rcp_resolve("/r/a.yaml", path, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "/x");
}
END_TEST

/* ======================================================================== */
/* supervisor: gathering recipes, permissions                                */

static char tmpdir[64];
static char rdir[128];

static void tmp_setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/check_recipe.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(rdir, sizeof(rdir), "%s/rcp", tmpdir);
	ck_assert_int_eq(mkdir(rdir, 0700), 0);
	ck_assert_int_eq(chmod(rdir, 0700), 0);
}

static void tmp_teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
}

static void write_file(const char *path, const char *data, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	ck_assert_msg(fd >= 0, "%s: %s", path, strerror(errno));
	ck_assert_int_eq(write(fd, data, strlen(data)), (ssize_t)strlen(data));
	ck_assert_int_eq(fchmod(fd, mode), 0);
	ck_assert_int_eq(close(fd), 0);
}

static int need_root(void)
{
	if (geteuid() == 0)
		return 1;
	printf("SKIP: %s needs root (chown and root-owned recipe files)\n", tcase_name());
	fflush(stdout);
	return 0;
}

static struct jb_config CFG;
static struct sup_recipes SR;

static int sup_load(const char *dir, const char *disable)
{
	jb_config_defaults(&CFG);
	snprintf(CFG.recipes_dir, sizeof(CFG.recipes_dir), "%s", dir ? dir : "");
	snprintf(CFG.recipes_disable, sizeof(CFG.recipes_disable), "%s", disable ? disable : "");
	CFG.recipes_disable_line = disable ? 42 : 0;
	memset(ERR, 0, sizeof(ERR));
	return sup_recipes_load(&CFG, "/etc/jibril/jibril.conf", &SR, ERR, sizeof(ERR));
}

static void sup_refused(const char *dir, const char *names, const char *why)
{
	ck_assert_msg(sup_load(dir, NULL) == -1, "accepted");
	ck_assert_msg(!strncmp(ERR, names, strlen(names)), "error '%s' does not name '%s'", ERR,
		      names);
	ck_assert_msg(strstr(ERR, why) != NULL, "error '%s' lacks '%s'", ERR, why);
	ck_assert_uint_eq(SR.set.n, 0);
}

#define OPR(kind) HDR(kind, "execution") "  base: t1_" kind "\n"

START_TEST(sup_dir_ok)
{
	char p[256];
	const struct recipe *r;

	if (!need_root())
		return;
	snprintf(p, sizeof(p), "%s/b.yaml", rdir);
	write_file(p, OPR("t1_test_b"), 0600);
	snprintf(p, sizeof(p), "%s/a.yml", rdir);
	write_file(p, OPR("t1_test_a") HDR("t1_test_net", "network_peers")
		   "  remote_domains_file: lists/x.txt\n  remote_domains: [y.example]\n", 0400);
	snprintf(p, sizeof(p), "%s/lists", rdir);
	ck_assert_int_eq(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/lists/x.txt", rdir);
	write_file(p, "x.example\n", 0600);
	/* not recipes: ignored whatever their mode */
	snprintf(p, sizeof(p), "%s/README.txt", rdir);
	write_file(p, "not yaml: [", 0644);
	snprintf(p, sizeof(p), "%s/.hidden.yaml", rdir);
	write_file(p, "not yaml: [", 0644);

	ck_assert_msg(sup_load(rdir, "t1_test_b") == 0, "refused: %s", ERR);
	r = rcp_find(&SR.set, "t1_test_a");
	ck_assert_ptr_nonnull(r);
	snprintf(p, sizeof(p), "%s/a.yml", rdir);
	ck_assert_str_eq(r->source, p);
	ck_assert_int_eq(r->line, 1);
	ck_assert_int_eq(r->enabled, 1);
	ck_assert_int_eq(rcp_find(&SR.set, "t1_test_b")->enabled, 0);
	r = rcp_find(&SR.set, "t1_test_net");
	ck_assert_uint_eq(r->ndomains, 2);
	ck_assert_uint_eq(sup_recipes_enabled(&SR) + 1, SR.set.n);
	sup_recipes_free(&SR);
}
END_TEST

START_TEST(sup_dir_refused_mode)
{
	char p[256];
	static const mode_t bad_dir[] = {0750, 0720, 0705, 0702, 0755, 0777};
	static const mode_t bad_file[] = {0640, 0620, 0604, 0602, 0644, 0666};

	if (!need_root())
		return;
	snprintf(p, sizeof(p), "%s/a.yaml", rdir);
	write_file(p, OPR("t1_test_a"), 0600);
	for (size_t i = 0; i < sizeof(bad_dir) / sizeof(bad_dir[0]); i++) {
		ck_assert_int_eq(chmod(rdir, bad_dir[i]), 0);
		sup_refused(rdir, rdir, "group or others");
		ck_assert_ptr_nonnull(strstr(ERR, "private to root"));
	}
	/* execute-only for others is not reading */
	ck_assert_int_eq(chmod(rdir, 0711), 0);
	ck_assert_msg(sup_load(rdir, NULL) == 0, "0711 refused: %s", ERR);
	sup_recipes_free(&SR);
	ck_assert_int_eq(chmod(rdir, 0700), 0);
	for (size_t i = 0; i < sizeof(bad_file) / sizeof(bad_file[0]); i++) {
		ck_assert_int_eq(chmod(p, bad_file[i]), 0);
		sup_refused(rdir, p, "group or others");
	}
}
END_TEST

START_TEST(sup_dir_refused_owner)
{
	char p[256];

	if (!need_root())
		return;
	snprintf(p, sizeof(p), "%s/a.yaml", rdir);
	write_file(p, OPR("t1_test_a"), 0600);
	ck_assert_int_eq(chown(rdir, 65534, 65534), 0);
	sup_refused(rdir, rdir, "owned by uid 65534, not root");
	ck_assert_int_eq(chown(rdir, 0, 0), 0);
	ck_assert_int_eq(chown(p, 65534, 0), 0);
	sup_refused(rdir, p, "owned by uid 65534, not root");
	ck_assert_int_eq(chown(p, 0, 65534), 0); /* a group is fine while it cannot read */
	ck_assert_msg(sup_load(rdir, NULL) == 0, "refused: %s", ERR);
	sup_recipes_free(&SR);
}
END_TEST

START_TEST(sup_dir_refused_symlink)
{
	char p[256], q[256], real[256];

	if (!need_root())
		return;
	/* a recipe file that is a symbolic link */
	snprintf(real, sizeof(real), "%s/real.yaml", tmpdir);
	write_file(real, OPR("t1_test_a"), 0600);
	snprintf(p, sizeof(p), "%s/a.yaml", rdir);
	ck_assert_int_eq(symlink(real, p), 0);
	sup_refused(rdir, p, "symbolic links are refused");
	ck_assert_int_eq(unlink(p), 0);
	/* a domain list that is a symbolic link */
	snprintf(p, sizeof(p), "%s/n.yaml", rdir);
	write_file(p, HDR("t1_test_n", "network_peers") "  remote_domains_file: l.txt\n", 0600);
	snprintf(p, sizeof(p), "%s/real.txt", tmpdir);
	write_file(p, "x.example\n", 0600);
	snprintf(q, sizeof(q), "%s/l.txt", rdir);
	ck_assert_int_eq(symlink(p, q), 0);
	ck_assert_int_eq(sup_load(rdir, NULL), -1);
	ck_assert_msg(strstr(ERR, q) && strstr(ERR, "symbolic links"), "got '%s'", ERR);
	/* and a readable domain list */
	ck_assert_int_eq(unlink(q), 0);
	write_file(q, "x.example\n", 0644);
	ck_assert_int_eq(sup_load(rdir, NULL), -1);
	ck_assert_msg(strstr(ERR, q) && strstr(ERR, "group or others"), "got '%s'", ERR);
	ck_assert_int_eq(unlink(q), 0);
	/* the directory itself a symbolic link: refused (it is), and the
	 * message must say why ("Not a directory" alone does not) */
	snprintf(q, sizeof(q), "%s/link", tmpdir);
	ck_assert_int_eq(symlink(rdir, q), 0);
	sup_refused(q, q, "symbolic link");
}
END_TEST

/* Every directory above the recipe directory: root's, not writable by
 * group or others unless sticky (owner.c); refused naming the key's line */
START_TEST(sup_dir_refused_ancestor)
{
	char open_dir[200], sub[300], want[600];

	if (!need_root())
		return;
	snprintf(open_dir, sizeof(open_dir), "%s/open", tmpdir);
	ck_assert_int_eq(mkdir(open_dir, 0700), 0);
	snprintf(sub, sizeof(sub), "%s/rcp", open_dir);
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	ck_assert_int_eq(sup_load(sub, NULL), 0); /* /tmp above is sticky: fine */
	sup_recipes_free(&SR);
	/* writable by others, not sticky */
	ck_assert_int_eq(chmod(open_dir, 0777), 0);
	jb_config_defaults(&CFG);
	snprintf(CFG.recipes_dir, sizeof(CFG.recipes_dir), "%s", sub);
	CFG.recipes_dir_line = 7;
	ck_assert_int_eq(sup_recipes_load(&CFG, "/etc/jibril/jibril.conf", &SR, ERR, sizeof(ERR)), -1);
	snprintf(want, sizeof(want), "/etc/jibril/jibril.conf:7: [recipes] dir: %s: mode 0777", open_dir);
	ck_assert_msg(!strncmp(ERR, want, strlen(want)) && strstr(ERR, "not sticky"), "got '%s'",
		      ERR);
	/* writable by its group */
	ck_assert_int_eq(chmod(open_dir, 0770), 0);
	ck_assert_int_eq(sup_load(sub, NULL), -1);
	ck_assert_msg(strstr(ERR, "mode 0770 lets group or others write it"), "got '%s'", ERR);
	/* sticky: accepted, like /tmp */
	ck_assert_int_eq(chmod(open_dir, 01777), 0);
	ck_assert_msg(sup_load(sub, NULL) == 0, "a sticky root directory refused: %s", ERR);
	sup_recipes_free(&SR);
	/* owned by someone else, even sticky and 0755 */
	ck_assert_int_eq(chmod(open_dir, 0755), 0);
	ck_assert_int_eq(chown(open_dir, 65534, 0), 0);
	ck_assert_int_eq(sup_load(sub, NULL), -1);
	snprintf(want, sizeof(want), "%s: owned by uid 65534, not root", open_dir);
	ck_assert_msg(strstr(ERR, "[recipes] dir: ") && strstr(ERR, want), "got '%s'", ERR);
	ck_assert_uint_eq(SR.set.n, 0);
}
END_TEST

START_TEST(sup_dir_errors)
{
	char p[256], want[800];

	if (!need_root())
		return;
	/* a bad recipe in the directory: its path and line */
	snprintf(p, sizeof(p), "%s/bad.yaml", rdir);
	write_file(p, HDR("t1_test_bad", "execution") "  base: ls\n  colour: red\n", 0600);
	snprintf(want, sizeof(want), "%s:8: ", p);
	ck_assert_int_eq(sup_load(rdir, NULL), -1);
	ck_assert_msg(!strncmp(ERR, want, strlen(want)) && strstr(ERR, "unknown key"), "got '%s'",
		      ERR);
	ck_assert_int_eq(unlink(p), 0);
	/* a missing directory */
	snprintf(p, sizeof(p), "%s/none", tmpdir);
	sup_refused(p, p, "cannot open");
	/* a directory or a FIFO named like a recipe: refused, never read (a
	 * FIFO would block the supervisor) */
	snprintf(p, sizeof(p), "%s/sub.yaml", rdir);
	ck_assert_int_eq(mkdir(p, 0700), 0);
	sup_refused(rdir, p, "not a regular file");
	ck_assert_int_eq(rmdir(p), 0);
	snprintf(p, sizeof(p), "%s/fifo.yaml", rdir);
	ck_assert_int_eq(mkfifo(p, 0600), 0);
	sup_refused(rdir, p, "not a regular file");
	ck_assert_int_eq(unlink(p), 0);
	/* the directory is a file */
	snprintf(p, sizeof(p), "%s/file", tmpdir);
	write_file(p, "x", 0600);
	sup_refused(p, p, "");
	/* disable naming no recipe: the config file and line */
	ck_assert_int_eq(sup_load(rdir, "t1_nope"), -1);
	ck_assert_msg(!strncmp(ERR, "/etc/jibril/jibril.conf:42: ", 28) && strstr(ERR, "t1_nope"),
		      "got '%s'", ERR);
	ck_assert_uint_eq(SR.set.n, 0);
	/* a kind that a built-in recipe already has: the operator's file
	 * replaces it; a second operator file of that kind is an error naming
	 * both */
	if (rcp_builtin_n > 0) {
		struct rcp_set b;
		char e[512];
		ck_assert_int_eq(rcp_load(&b, rcp_builtin, 1, NULL, 0, NULL, NULL, e, sizeof(e)) ==
					 0 ||
				 strstr(e, "remote_domains_file"),
				 1);
		if (b.n) {
			char y[512];
			snprintf(y, sizeof(y),
				 "- kind: %s\n  name: n\n  mechanism: execution\n  tactic: t\n"
				 "  technique: T1\n  importance: low\n  base: x\n",
				 b.r[0].kind);
			const struct recipe *x;
			char p2[300];
			snprintf(p, sizeof(p), "%s/dup.yaml", rdir);
			write_file(p, y, 0600);
			ck_assert_msg(sup_load(rdir, NULL) == 0, "refused: %s", ERR);
			x = rcp_find(&SR.set, b.r[0].kind);
			ck_assert_str_eq(x->source, p);
			ck_assert_int_eq(x->mech, RCP_EXECUTION);
			snprintf(want, sizeof(want), "%s:%d", b.r[0].source, b.r[0].line);
			ck_assert_str_eq(x->replaces, want);
			sup_recipes_free(&SR);
			snprintf(p2, sizeof(p2), "%s/dup2.yaml", rdir);
			write_file(p2, y, 0600);
			ck_assert_int_eq(sup_load(rdir, NULL), -1);
			snprintf(want, sizeof(want), "%s:1: recipe %s is already defined at %s:1",
				 p2, b.r[0].kind, p);
			ck_assert_msg(!strncmp(ERR, want, strlen(want)), "got '%s'", ERR);
		}
		rcp_set_free(&b);
	}
}
END_TEST

/* Run the real binary with args (a shell word list) and ulimit -v kib
 * (0: none); its stdout and stderr together into out. Returns its exit
 * status. */
static int run_bin(const char *args, unsigned long kib, char *out, size_t len)
{
	const char *bin = getenv("JIBRIL_BIN");
	char cmd[1024];
	size_t n = 0;
	FILE *f;
	int st;

	if (!bin || !*bin)
		bin = "build/jibril";
	ck_assert_msg(access(bin, X_OK) == 0, "no agent binary at %s (set JIBRIL_BIN)", bin);
	snprintf(cmd, sizeof(cmd), "%s%lu%s'%s' %s 2>&1", kib ? "ulimit -v " : "", kib,
		 kib ? "; exec " : "", bin, args);
	if (!kib)
		snprintf(cmd, sizeof(cmd), "'%s' %s 2>&1", bin, args);
	f = popen(cmd, "r");
	ck_assert_ptr_nonnull(f);
	while (n + 1 < len && fgets(out + n, (int)(len - n), f))
		n += strlen(out + n);
	out[n] = '\0';
	st = pclose(f);
	ck_assert_msg(WIFEXITED(st), "%s: status %d", cmd, st);
	return WEXITSTATUS(st);
}

/*
 * Through the real binary: an operator's file in the original's public
 * shape (empty times, an empty AND group, reactions) whose kind is a
 * built-in one loads with --check-config and says it replaces it; a second
 * operator file of that kind is refused naming both; an alias bomb is
 * refused within a 256 MiB address space.
 */
START_TEST(check_config_override)
{
	char conf[256], p[256], p2[256], args[512], out[65536], want[1024];
	size_t cap = 700000, o = 0;
	char *bomb;

	if (!need_root())
		return;
	snprintf(conf, sizeof(conf), "%s/j.conf", tmpdir);
	snprintf(out, sizeof(out), "[recipes]\ndir = %s\n", rdir);
	write_file(conf, out, 0600);
	snprintf(p, sizeof(p), "%s/binary_self_deletion.yaml", rdir);
	write_file(p, "#\n# An edited copy of a built-in recipe.\n#\n\n"
		      "- kind: binary_self_deletion\n  name: binary_self_deletion\n"
		      "  enabled: true\n  version: 1.0\n  description: Binary execution and "
		      "self-deletion\n  documentation: |\n    https://example.invalid/x\n"
		      "  breed: file_access\n  mechanism: file_access\n  tactic: defense_evasion\n"
		      "  technique: indicator_removal\n  subtechnique: file_deletion\n"
		      "  importance: critical\n  times:\n  arbitrary:\n    - how: AND\n"
		      "      which: pertinent\n      items: []\n"
		      "  file_actions: open|mmap|unlink|execve\n  file_actions_how: all\n"
		      "  bases:\n    - regex: .*\n  reactions:\n    - format: js\n      code: |\n"
		      "        function process(data) {\n          Info(\"seen\");\n        }\n",
		   0600);
	snprintf(args, sizeof(args), "--check-config '%s'", conf);
	ck_assert_msg(run_bin(args, 0, out, sizeof(out)) == 0, "%.2000s", out);
	snprintf(want, sizeof(want), "recipe binary_self_deletion: %s replaces the built-in "
		 "(builtin:recipes/file_access/binary_self_deletion.yaml:", p);
	ck_assert_msg(strstr(out, want), "no '%s' in:\n%.2000s", want, out);
	ck_assert_msg(strstr(out, "recipe binary_self_deletion: 1 reaction (js#1) will not run"),
		      "%.2000s", out);
	ck_assert_msg(strstr(out, ": ok ("), "%.2000s", out);
	snprintf(args, sizeof(args), "-c '%s' --list-recipes", conf);
	ck_assert_msg(run_bin(args, 0, out, sizeof(out)) == 0, "%.2000s", out);
	snprintf(want, sizeof(want), "%s:5 (replaces builtin:recipes/file_access/", p);
	ck_assert_msg(strstr(out, want), "no '%s' in:\n%.2000s", want, out);
	/* two of the operator's */
	snprintf(p2, sizeof(p2), "%s/zz.yaml", rdir);
	write_file(p2, HDR("binary_self_deletion", "execution") "  base: x\n", 0600);
	snprintf(args, sizeof(args), "--check-config '%s'", conf);
	ck_assert_int_eq(run_bin(args, 0, out, sizeof(out)), 78);
	snprintf(want, sizeof(want), "%s:1: recipe binary_self_deletion is already defined at %s:5",
		 p2, p);
	ck_assert_msg(strstr(out, want), "no '%s' in:\n%.2000s", want, out);
	ck_assert_int_eq(unlink(p2), 0);
	/* the alias bomb, under a 256 MiB address space (it needed 716 MB) */
	bomb = malloc(cap);
	ck_assert_ptr_nonnull(bomb);
	o += (size_t)snprintf(bomb + o, cap - o, HDR("t1_a", "execution") "  base: nc\n"
			      "  description: &big '");
	memset(bomb + o, 'x', 100000);
	o += 100000;
	o += (size_t)snprintf(bomb + o, cap - o, "'\n" HDR("t1_b", "execution") "  bases:\n");
	for (int i = 0; i < 5000; i++)
		o += (size_t)snprintf(bomb + o, cap - o, "    - {base: *big}\n");
	snprintf(p2, sizeof(p2), "%s/bomb.yaml", rdir);
	write_file(p2, bomb, 0600);
	free(bomb);
	ck_assert_int_eq(run_bin(args, 262144, out, sizeof(out)), 78);
	snprintf(want, sizeof(want), "%s:16: YAML aliases are not accepted (*big)", p2);
	ck_assert_msg(strstr(out, want), "no '%s' in:\n%.2000s", want, out);
}
END_TEST

/* The catalogue compiled in (recipes/) loads with the repo's jibril.conf. */
START_TEST(sup_builtin_catalogue)
{
	char path[4096], err[JB_CONF_ERR_MAX] = "";
	const char *src = getenv("JIBRIL_SRC");
	struct jb_config c;

	snprintf(path, sizeof(path), "%s/jibril.conf", src && *src ? src : ".");
	jb_config_defaults(&c);
	ck_assert_msg(jb_config_load(&c, path, err, sizeof(err)) == 0, "%s", err);
	ck_assert_msg(sup_recipes_load(&c, path, &SR, ERR, sizeof(ERR)) == 0,
		      "built-in recipes refused: %s", ERR);
	for (size_t i = 0; i < SR.set.n; i++) {
		const struct recipe *r = &SR.set.r[i];
		ck_assert_msg(!strncmp(r->source, "builtin:recipes/", 16), "%s from %s", r->kind,
			      r->source);
		for (size_t j = 0; j < i; j++)
			ck_assert_msg(strcmp(r->kind, SR.set.r[j].kind) != 0, "kind %s twice",
				      r->kind);
	}
	sup_recipes_free(&SR);
}
END_TEST

/* ======================================================================== */
/* supervisor: the files whose kernel records are protected (watch.c)       */

/* Parents made as needed; a name ending in '/' is a directory. */
static void fake_file(const char *path)
{
	char p[512];

	snprintf(p, sizeof(p), "%s", path);
	for (char *s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		ck_assert_msg(mkdir(p, 0755) == 0 || errno == EEXIST, "%s: %s", p, strerror(errno));
		*s = '/';
	}
	if (p[strlen(p) - 1] != '/')
		write_file(p, "x", 0600);
}

/*
 * A host of our own in a private mount namespace (nothing leaks out: the
 * mounts are private and die with this test's process): /etc/passwd,
 * /root, /home and /etc/ssh replaced. Accounts: root, alice (/home/alice,
 * which carol shares and dave spells /home/alice//), svc (a system account
 * whose home is not a person's: tmpdir/svc), daemon (/usr/sbin, the real
 * one: no dotfiles there), bob (no home directory), and homes that are
 * skipped ("/", a relative one).
 */
static int fake_host(void)
{
	char path[512], passwd[1024];

	if (!need_root())
		return 0;
	if (access("/etc/ssh", F_OK) < 0) {
		printf("SKIP: %s needs /etc/ssh to mount over\n", tcase_name());
		return 0;
	}
	ck_assert_msg(unshare(CLONE_NEWNS) == 0, "unshare: %s", strerror(errno));
	ck_assert_int_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
	ck_assert_int_eq(mount("tmpfs", "/root", "tmpfs", 0, "mode=0700"), 0);
	ck_assert_int_eq(mount("tmpfs", "/home", "tmpfs", 0, "mode=0755"), 0);
	ck_assert_int_eq(mount("tmpfs", "/etc/ssh", "tmpfs", 0, "mode=0755"), 0);
	snprintf(passwd, sizeof(passwd),
		 "root:x:0:0:root:/root:/bin/bash\n"
		 "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
		 "svc:x:100:100::%s/svc:/bin/false\n"
		 "alice:x:1000:1000::/home/alice:/bin/bash\n"
		 "bob:x:1001:1001::/home/bob:/bin/bash\n"
		 "carol:x:1002:1002::/home/alice:/bin/bash\n"
		 "dave:x:1005:1005::/home/alice//:/bin/bash\n"
		 "slash:x:1003:1003::/:/bin/false\n"
		 "rel:x:1004:1004::home/rel:/bin/false\n",
		 tmpdir);
	snprintf(path, sizeof(path), "%s/passwd", tmpdir);
	write_file(path, passwd, 0644);
	ck_assert_int_eq(mount(path, "/etc/passwd", NULL, MS_BIND, NULL), 0);

	static const char *const files[] = {
		"/etc/ssh/ssh_host_rsa_key", "/etc/ssh/ssh_host_rsa_key.pub", "/etc/ssh/sshd_config",
		"/etc/ssh/authorized_keys.d/alice",
		"/root/.bashrc", "/root/.profile", "/root/.bash_history", "/root/notes.txt",
		"/root/.netrc", "/root/.git-credentials", "/root/xmrig.json",
		"/root/Documents/secret.key", "/root/.ssh/id_ed25519", "/root/.ssh/id_ed25519.pub",
		"/root/.ssh/known_hosts", "/root/.aws/credentials", "/root/.aws/config",
		"/root/.docker/config.json", "/root/.kube/config", "/root/.kube/cache/",
		"/root/.config/gcloud/credentials.db", "/root/.config/gcloud/configurations/",
		"/root/.azure/accessTokens.json", "/root/.gnupg/secring.gpg",
		"/root/.gnupg/private-keys-v1.d/ABCD.key", "/root/.mozilla/firefox/x/logins.json",
		"/home/alice/.ssh/authorized_keys", "/home/alice/.ssh/id_rsa",
		"/home/alice/.bashrc", "/home/alice/.zshrc", "/home/alice/.cache/",
		"@/svc/.ssh/authorized_keys2", "@/svc/.ssh/id_ecdsa", "@/svc/.aws/credentials",
		"@/svc/.bashrc", "/root/.vault/token", "/home/alice/.vault/other",
		"@/svc/.vault/token",
	};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", files[i][0] == '@' ? tmpdir : "",
			 files[i] + (files[i][0] == '@'));
		fake_file(path);
	}
	return 1;
}

struct paths {
	char v[256][JB_PATH_LEN];
	size_t n;
};

/* Keeps what the search of the fake host found: the {dir, base} and {dir}
 * entries of the catalogue protect files elsewhere (none below a home or
 * /etc/ssh). */
static void path_add(const char *path, void *arg)
{
	static const char *const roots[] = {"/etc/ssh/", "/root/", "/home/", "/usr/sbin/."};
	struct paths *p = arg;
	int found = !strncmp(path, tmpdir, strlen(tmpdir));

	for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++)
		found |= !strncmp(path, roots[i], strlen(roots[i]));
	if (!found)
		return;
	ck_assert_uint_lt(p->n, 256);
	snprintf(p->v[p->n++], JB_PATH_LEN, "%s", path);
}

static int cmp_path(const void *a, const void *b) { return strcmp(a, b); }

/* The set S protects on the fake host must be exactly want ('@' is tmpdir). */
static void watch_is(const char *const *want, size_t nwant)
{
	static struct paths got, exp;
	size_t n = 0;

	got.n = exp.n = 0;
	sup_watch_paths(&S, path_add, &got);
	qsort(got.v, got.n, sizeof(got.v[0]), cmp_path);
	for (size_t i = 0; i < got.n; i++) /* a path may be added twice */
		if (!n || strcmp(got.v[n - 1], got.v[i]))
			memmove(got.v[n++], got.v[i], JB_PATH_LEN);
	got.n = n;
	for (size_t i = 0; i < nwant; i++)
		snprintf(exp.v[exp.n++], JB_PATH_LEN, "%s%s", want[i][0] == '@' ? tmpdir : "",
			 want[i] + (want[i][0] == '@'));
	qsort(exp.v, exp.n, sizeof(exp.v[0]), cmp_path);
	for (size_t i = 0, j = 0; i < got.n || j < exp.n;) {
		int c = i == got.n ? 1 : j == exp.n ? -1 : strcmp(got.v[i], exp.v[j]);
		ck_assert_msg(c >= 0, "protected, but should not be: %s", got.v[i]);
		ck_assert_msg(c <= 0, "not protected: %s", exp.v[j]);
		i++, j++;
	}
}

/* The built-in file_access recipes, the kinds in disabled turned off. */
static void builtin_file_access(const char *const *disabled)
{
	ck_assert_msg(rcp_load(&S, rcp_builtin, rcp_builtin_n, disabled, mechs_of("file_access"), NULL, NULL,
			       ERR, sizeof(ERR)) == 0, "%s", ERR);
}

/*
 * Regex-only entries are looked for in the homes of the accounts: .ssh,
 * .aws, .docker, .kube, .config/gcloud, .azure, .gnupg (one level, every
 * account), the home itself (people only: /root and /home/NAME), /etc/ssh,
 * and authorized_keys / authorized_keys2 in every .ssh whether or not they
 * exist. binary_self_deletion's regex matches every path, so with it on,
 * every file found there is protected.
 */
START_TEST(sup_watch_builtin)
{
	static const char *const all_found[] = {
		"/etc/ssh/ssh_host_rsa_key", "/etc/ssh/ssh_host_rsa_key.pub", "/etc/ssh/sshd_config",
		"/etc/ssh/authorized_keys.d",
		"/root/.bashrc", "/root/.profile", "/root/.bash_history", "/root/notes.txt",
		"/root/.netrc", "/root/.git-credentials", "/root/xmrig.json", "/root/Documents",
		"/root/.ssh", "/root/.aws", "/root/.docker", "/root/.kube", "/root/.config",
		"/root/.azure", "/root/.gnupg", "/root/.mozilla", "/root/.vault",
		"/root/.ssh/authorized_keys", "/root/.ssh/authorized_keys2",
		"/root/.ssh/id_ed25519", "/root/.ssh/id_ed25519.pub", "/root/.ssh/known_hosts",
		"/root/.aws/credentials", "/root/.aws/config", "/root/.docker/config.json",
		"/root/.kube/config", "/root/.kube/cache", "/root/.config/gcloud/credentials.db",
		"/root/.config/gcloud/configurations", "/root/.azure/accessTokens.json",
		"/root/.gnupg/secring.gpg", "/root/.gnupg/private-keys-v1.d",
		"/home/alice/.ssh", "/home/alice/.bashrc", "/home/alice/.zshrc",
		"/home/alice/.cache", "/home/alice/.vault",
		"/home/alice/.ssh/authorized_keys", "/home/alice/.ssh/authorized_keys2",
		"/home/alice/.ssh/id_rsa",
		"@/svc/.ssh/authorized_keys", "@/svc/.ssh/authorized_keys2", "@/svc/.ssh/id_ecdsa",
		"@/svc/.aws/credentials",
		"/usr/sbin/.ssh/authorized_keys", "/usr/sbin/.ssh/authorized_keys2",
	};
	static const char *const matching[] = {
		"/etc/ssh/ssh_host_rsa_key",
		"/root/.bashrc", "/root/.profile", "/root/.bash_history", "/root/.netrc",
		"/root/.git-credentials",
		"/root/xmrig.json",
		"/root/.ssh/authorized_keys", "/root/.ssh/authorized_keys2", "/root/.ssh/id_ed25519",
		"/root/.aws/credentials", "/root/.docker/config.json", "/root/.kube/config",
		"/root/.config/gcloud/credentials.db", "/root/.azure/accessTokens.json",
		"/root/.gnupg/secring.gpg",
		"/home/alice/.bashrc", "/home/alice/.zshrc",
		"/home/alice/.ssh/authorized_keys", "/home/alice/.ssh/authorized_keys2",
		"/home/alice/.ssh/id_rsa",
		"@/svc/.ssh/authorized_keys", "@/svc/.ssh/authorized_keys2", "@/svc/.ssh/id_ecdsa",
		"@/svc/.aws/credentials",
		"/usr/sbin/.ssh/authorized_keys", "/usr/sbin/.ssh/authorized_keys2",
	};
	static const char *const no_self_deletion[] = {"binary_self_deletion", NULL};

	if (!fake_host())
		return;
	builtin_file_access(NULL);
	watch_is(all_found, sizeof(all_found) / sizeof(all_found[0]));
	builtin_file_access(no_self_deletion);
	watch_is(matching, sizeof(matching) / sizeof(matching[0]));
}
END_TEST

/* Only the places of enabled recipes are looked at: without
 * credentials_files_access nobody asks for .aws, .docker, .kube, gcloud,
 * .azure or .gnupg, nor for the dotfiles it is about (.netrc...). */
START_TEST(sup_watch_disabled_places)
{
	static const char *const want[] = {
		"/etc/ssh/ssh_host_rsa_key",
		"/root/.bashrc", "/root/.profile", "/root/.bash_history", "/root/xmrig.json",
		"/root/.ssh/authorized_keys", "/root/.ssh/authorized_keys2", "/root/.ssh/id_ed25519",
		"/home/alice/.bashrc", "/home/alice/.zshrc",
		"/home/alice/.ssh/authorized_keys", "/home/alice/.ssh/authorized_keys2",
		"/home/alice/.ssh/id_rsa",
		"@/svc/.ssh/authorized_keys", "@/svc/.ssh/authorized_keys2", "@/svc/.ssh/id_ecdsa",
		"/usr/sbin/.ssh/authorized_keys", "/usr/sbin/.ssh/authorized_keys2",
	};
	static const char *const off[] = {"binary_self_deletion", "credentials_files_access", NULL};

	if (!fake_host())
		return;
	builtin_file_access(off);
	watch_is(want, sizeof(want) / sizeof(want[0]));
}
END_TEST

/* An operator's recipe names its own places: a directory below every
 * home, a file directly in people's homes, one deeper in every home. */
START_TEST(sup_watch_operator_places)
{
	static const char *const want[] = {
		"/root/.vault/token", "@/svc/.vault/token",
		"/root/.vault-token", "/home/alice/.vault-token",
		"/root/.config/vault/token", "/home/alice/.config/vault/token",
		"@/svc/.config/vault/token", "/usr/sbin/.config/vault/token",
	};

	if (!fake_host())
		return;
	ok1(HDR("vault", "file_access") "  bases:\n"
	    "    - regex: '/\\.vault(/token|-token)$|/\\.config/vault/token$'\n"
	    "      search: ['~/.vault', /etc/ssh]\n"
	    "      expect: ['~/.vault-token', '~/.config/vault/token']\n",
	    "vault");
	watch_is(want, sizeof(want) / sizeof(want[0]));
	/* a disabled recipe asks for nothing */
	S.r[0].enabled = 0;
	watch_is(NULL, 0);
}
END_TEST

/* ======================================================================== */
/* supervisor: times limits                                                  */

struct emitted {
	json_t *ev[16];
	int n;
};

static void emit_cb(void *arg, const char *dedup_key, const char *json, size_t len)
{
	struct emitted *e = arg;
	json_error_t jerr;

	ck_assert_ptr_nonnull(dedup_key);
	ck_assert_uint_eq(strlen(json), len);
	ck_assert_int_lt(e->n, 16);
	e->ev[e->n] = json_loads(json, JSON_REJECT_DUPLICATES, &jerr);
	ck_assert_msg(e->ev[e->n] != NULL, "bad JSON %s: %s", jerr.text, json);
	e->n++;
}

static void emitted_free(struct emitted *e)
{
	for (int i = 0; i < e->n; i++)
		json_decref(e->ev[i]);
	e->n = 0;
}

static json_t *find_ev(struct emitted *e, const char *limit_kind, const char *key)
{
	for (int i = 0; i < e->n; i++) {
		json_t *l = json_object_get(e->ev[i], "limit");
		if (!strcmp(json_string_value(json_object_get(l, "kind")), limit_kind) &&
		    !strcmp(json_string_value(json_object_get(e->ev[i], "key")), key))
			return e->ev[i];
	}
	ck_abort_msg("no summary for %s key %s", limit_kind, key);
	return NULL;
}

static json_int_t ival(json_t *o, const char *k)
{
	ck_assert_msg(json_is_integer(json_object_get(o, k)), "%s is not an integer", k);
	return json_integer_value(json_object_get(o, k));
}

START_TEST(limits_per_exe)
{
	LT = sup_limits_new(); /* a table of its own */
	ck_assert_ptr_nonnull(LT);
	const struct recipe *r = ok1(HDR("t1_lim", "execution") "  base: ls\n  times:\n"
								"    - kind: times_per_exe\n      max: 2\n",
				     "t1_lim");
	struct emitted e = {0};
	json_t *ev;

	ck_assert_int_eq(sup_limits_check(LT, r, "1\t/usr/bin/a\n"), 1);
	ck_assert_int_eq(sup_limits_check(LT, r, "1\t/usr/bin/a\n"), 1);
	ck_assert_int_eq(sup_limits_check(LT, r, "1\t/usr/bin/a\n"), 0);
	ck_assert_int_eq(sup_limits_check(LT, r, "1\t/usr/bin/a\n"), 0);
	ck_assert_int_eq(sup_limits_check(LT, r, "1\t/usr/bin/b\n"), 1);
	/* keys of other kinds in the string are not this limit's key */
	ck_assert_int_eq(sup_limits_check(LT, r, "0\tprocess x\n1\t/usr/bin/b\n5\t*\n"), 1);
	ck_assert_int_eq(sup_limits_check(LT, r, "1\t/usr/bin/b\n"), 0);

	ck_assert_uint_eq(sup_limits_summary(LT, "host-1", emit_cb, &e), 2);
	ck_assert_int_eq(e.n, 2);
	ev = find_ev(&e, "times_per_exe", "/usr/bin/a");
	ck_assert_str_eq(json_string_value(json_object_get(ev, "kind")), "suppressed_detections");
	ck_assert_str_eq(json_string_value(json_object_get(ev, "recipe")), "t1_lim");
	ck_assert_str_eq(json_string_value(json_object_get(ev, "hostname")), "host-1");
	ck_assert_int_eq(ival(json_object_get(ev, "limit"), "max"), 2);
	ck_assert_int_eq(ival(ev, "suppressed"), 2);
	ck_assert_int_eq(ival(ev, "suppressed_total"), 2);
	ev = find_ev(&e, "times_per_exe", "/usr/bin/b");
	ck_assert_int_eq(ival(ev, "suppressed"), 1);
	emitted_free(&e);

	/* reset: nothing new, nothing emitted */
	ck_assert_uint_eq(sup_limits_summary(LT, "host-1", emit_cb, &e), 0);
	ck_assert_int_eq(e.n, 0);
	/* still at max: the next one is suppressed and counted afresh */
	ck_assert_int_eq(sup_limits_check(LT, r, "1\t/usr/bin/a\n"), 0);
	ck_assert_uint_eq(sup_limits_summary(LT, "host-1", emit_cb, &e), 1);
	ev = find_ev(&e, "times_per_exe", "/usr/bin/a");
	ck_assert_int_eq(ival(ev, "suppressed"), 1);
	ck_assert_int_eq(ival(ev, "suppressed_total"), 3);
	emitted_free(&e);
	sup_limits_free(LT);
	LT = NULL;
}
END_TEST

START_TEST(limits_every_limit)
{
	LT = sup_limits_new(); /* a table of its own */
	ck_assert_ptr_nonnull(LT);
	const struct recipe *r = ok1(HDR("t1_lim2", "execution") "  base: ls\n  times:\n"
				     "    - kind: times_per_exe\n      max: 3\n"
				     "    - kind: times_per_proc\n      max: 1\n",
				     "t1_lim2");
	struct emitted e = {0};

	/* process P1 may fire once, whatever the exe allows */
	ck_assert_int_eq(sup_limits_check(LT, r, "1\t/bin/x\n0\tP1\n"), 1);
	ck_assert_int_eq(sup_limits_check(LT, r, "1\t/bin/x\n0\tP1\n"), 0);
	/* a suppressed detection does not use up the other limit */
	ck_assert_int_eq(sup_limits_check(LT, r, "1\t/bin/x\n0\tP2\n"), 1);
	ck_assert_int_eq(sup_limits_check(LT, r, "1\t/bin/x\n0\tP3\n"), 1);
	/* now the exe is exhausted too */
	ck_assert_int_eq(sup_limits_check(LT, r, "1\t/bin/x\n0\tP4\n"), 0);
	ck_assert_int_eq(sup_limits_check(LT, r, "1\t/bin/y\n0\tP5\n"), 1);
	ck_assert_uint_eq(sup_limits_summary(LT, "h", emit_cb, &e), 2);
	ck_assert_int_eq(ival(find_ev(&e, "times_per_proc", "P1"), "suppressed"), 1);
	ck_assert_int_eq(ival(find_ev(&e, "times_per_exe", "/bin/x"), "suppressed"), 1);
	emitted_free(&e);

	/* a recipe without limits is never suppressed */
	r = ok1(HDR("t1_free", "execution") "  base: ls\n", "t1_free");
	for (int i = 0; i < 100; i++)
		ck_assert_int_eq(sup_limits_check(LT, r, ""), 1);
	ck_assert_uint_eq(sup_limits_summary(LT, "h", emit_cb, &e), 0);
	sup_limits_free(LT);
	LT = NULL;
}
END_TEST

START_TEST(limits_host_and_missing_key)
{
	LT = sup_limits_new(); /* a table of its own */
	ck_assert_ptr_nonnull(LT);
	const struct recipe *r = ok1(HDR("t1_lim3", "execution") "  base: ls\n  times:\n"
				     "    - kind: times_in_total\n      max: 1\n"
				     "    - kind: times_per_parent_exe\n      max: 5\n",
				     "t1_lim3");
	struct emitted e = {0};

	ck_assert_int_eq(sup_limits_check(LT, r, "6\t*\n3\t/p\n"), 1);
	ck_assert_int_eq(sup_limits_check(LT, r, "6\t*\n3\t/q\n"), 0);
	/* a worker that sent no key: counted under "(unknown)", its own key */
	ck_assert_int_eq(sup_limits_check(LT, r, ""), 1);
	ck_assert_int_eq(sup_limits_check(LT, r, ""), 0);
	ck_assert_uint_eq(sup_limits_summary(LT, "h", emit_cb, &e), 2);
	ck_assert_int_eq(ival(find_ev(&e, "times_in_total", "*"), "suppressed"), 1);
	ck_assert_int_eq(ival(find_ev(&e, "times_in_total", "(unknown)"), "suppressed"), 1);
	emitted_free(&e);
	sup_limits_free(LT);
	LT = NULL;
}
END_TEST

/* A times_per_exe key is the executable's path: bytes an attacker chose.
 * Its suppression must still be summarised (made visible), not dropped. */
START_TEST(limits_summary_non_utf8_key)
{
	LT = sup_limits_new(); /* a table of its own */
	ck_assert_ptr_nonnull(LT);
	const struct recipe *r = ok1(HDR("t1_lim4", "execution") "  base: ls\n  times:\n"
				     "    - kind: times_per_exe\n      max: 1\n",
				     "t1_lim4");
	struct emitted e = {0};

	ck_assert_int_eq(sup_limits_check(LT, r, "1\t/tmp/\xff\xfe\n"), 1);
	ck_assert_int_eq(sup_limits_check(LT, r, "1\t/tmp/\xff\xfe\n"), 0);
	ck_assert_int_eq(sup_limits_check(LT, r, "1\t/tmp/\xff\xfe\n"), 0);
	ck_assert_msg(sup_limits_summary(LT, "h", emit_cb, &e) == 1,
		      "2 detections suppressed under a non-UTF-8 key, but no summary event");
	emitted_free(&e);
	sup_limits_free(LT);
	LT = NULL;
}
END_TEST

/* ---- tamper ------------------------------------------------------------------- */

static struct jb_tamper mktamper(uint32_t klass, uint64_t task_key)
{
	struct jb_tamper t;

	memset(&t, 0, sizeof(t));
	t.key = 0x7a00 + klass;
	t.task_key = task_key;
	t.first_ns = 100;
	t.last_ns = 200;
	t.klass = klass;
	t.tgid = 4242;
	t.uid = 77;
	t.count = 1;
	strcpy(t.comm, "evil");
	if (klass == JB_TAMPER_FILE) {
		strcpy(t.name, "/etc/jibril/jibril.conf");
		t.op = JB_ACT_WRITE | JB_ACT_OPEN;
	}
	return t;
}

static int mtamper(const struct recipe *r, const struct jb_task *task, const struct jb_tamper *t)
{
	struct rcp_subject s = {.v = &view, .task = task, .tamper = t,
				.path = t->klass == JB_TAMPER_FILE ? t->name : NULL};
	return rcp_match(r, &s);
}

/* the classes a recipe lists, no others; "any" and the a|b string form */
START_TEST(tamper_classes)
{
	struct jb_task *task = build_view();
	const struct recipe *r = ok1(HDR("t", "tamper") "  tamper: [map_write, signal]\n", "t");

	ck_assert_str_eq(r->breed, "tamper");
	for (uint32_t k = 1; k < JB_TAMPER_CLASS_MAX; k++) {
		struct jb_tamper t = mktamper(k, K_CHILD);
		ck_assert_msg(mtamper(r, task, &t) == (k == JB_TAMPER_MAP_WRITE ||
						       k == JB_TAMPER_SIGNAL),
			      "class %s", rcp_tamper_class_name(k));
	}
	r = ok1(HDR("t", "tamper") "  tamper: 'ptrace|process_memory'\n", "t");
	for (uint32_t k = 1; k < JB_TAMPER_CLASS_MAX; k++) {
		struct jb_tamper t = mktamper(k, K_CHILD);
		ck_assert_int_eq(mtamper(r, task, &t),
				 k == JB_TAMPER_PTRACE || k == JB_TAMPER_PROC_MEM);
	}
	r = ok1(HDR("t", "tamper") "  tamper: any\n", "t");
	for (uint32_t k = 1; k < JB_TAMPER_CLASS_MAX; k++) {
		struct jb_tamper t = mktamper(k, K_CHILD);
		ck_assert_int_eq(mtamper(r, task, &t), 1);
	}
	/* a class the kernel may add later, a record of class 0: no match */
	struct jb_tamper odd = mktamper(JB_TAMPER_CLASS_MAX, K_CHILD);
	ck_assert_int_eq(mtamper(r, task, &odd), 0);
	odd.klass = 0;
	ck_assert_int_eq(mtamper(r, task, &odd), 0);
	odd.klass = 40;
	ck_assert_int_eq(mtamper(r, task, &odd), 0);
	/* no tamper record (a link or a flow): never */
	ck_assert_int_eq(mfile(r, task, "/etc/jibril/jibril.conf", JB_ACT_WRITE), 0);
	/* and a file_access recipe never matches a tamper record */
	r = ok1(HDR("f", "file_access") "  base: jibril.conf\n", "f");
	struct jb_tamper t = mktamper(JB_TAMPER_FILE, K_CHILD);
	ck_assert_int_eq(mtamper(r, task, &t), 0);
}
END_TEST

/* arbitrary groups work on the actor (its task, parent and ancestry) and on
 * the path of an agent_files record; without the task, the record's own
 * comm, uid and pid stand in and nothing else matches */
START_TEST(tamper_arbitrary)
{
	struct jb_task *task = build_view();
	struct jb_tamper sig = mktamper(JB_TAMPER_SIGNAL, K_CHILD);
	struct jb_tamper file = mktamper(JB_TAMPER_FILE, K_CHILD);
	const struct recipe *r;

	r = ok1(HDR("t", "tamper") "  tamper: [signal, agent_files]\n  arbitrary:\n"
		"    - which: irrelevant\n      items: [{what: parent_exe, pattern: '/bash$'}]\n",
		"t");
	ck_assert_int_eq(mtamper(r, task, &sig), 0); /* cat's parent is bash */
	strcpy(task_mut(K_PARENT)->exe, "/usr/bin/zsh");
	ck_assert_int_eq(mtamper(r, task, &sig), 1);
	r = ok1(HDR("t", "tamper") "  tamper: [signal, agent_files]\n  arbitrary:\n"
		"    - items: [{what: comm, pattern: '^cat$'}, {what: ancient_exe, pattern: sshd}]\n",
		"t");
	ck_assert_int_eq(mtamper(r, task, &sig), 1);
	ck_assert_int_eq(mtamper(r, NULL, &sig), 0); /* ancient_exe: unknown */
	r = ok1(HDR("t", "tamper") "  tamper: any\n  arbitrary:\n"
		"    - items: [{what: file, pattern: '^/etc/jibril/'}]\n", "t");
	ck_assert_int_eq(mtamper(r, task, &file), 1);
	ck_assert_int_eq(mtamper(r, task, &sig), 0);
	/* the task is gone from the snapshot: the record's comm, uid, pid */
	r = ok1(HDR("t", "tamper") "  tamper: any\n  arbitrary:\n"
		"    - items: [{what: comm, pattern: '^evil$'}, {what: uid, number: 77},\n"
		"              {what: pid, number: 4242}]\n", "t");
	ck_assert_int_eq(mtamper(r, NULL, &sig), 1);
	ck_assert_int_eq(mtamper(r, task, &sig), 0); /* the task says cat, uid 1000 */
	r = ok1(HDR("t", "tamper") "  tamper: any\n  arbitrary:\n"
		"    - items: [{what: exe, pattern: '.'}]\n", "t");
	ck_assert_int_eq(mtamper(r, NULL, &sig), 0);
}
END_TEST

/* times keys of a tamper detection: the actor's process id as for any
 * other, or its pid and comm when its task is gone; then the central
 * limits cut and count exactly as for other mechanisms */
START_TEST(tamper_times)
{
	struct jb_task *task = build_view();
	struct jb_tamper t = mktamper(JB_TAMPER_SIGNAL, K_CHILD);
	struct rcp_subject s = {.v = &view, .task = task, .tamper = &t};
	char out[512], id[17], want[512], lim[1024];
	const struct recipe *r;

	rcp_times_key(RCP_T_PROC, &s, "b00t", out, sizeof(out));
	rcp_process_id("b00t", 400, 40000, id);
	snprintf(want, sizeof(want), "process %s (pid 400)", id);
	ck_assert_str_eq(out, want);
	s.task = NULL;
	strcpy(t.comm, "k\ti\nll");
	rcp_times_key(RCP_T_PROC, &s, "b00t", out, sizeof(out));
	ck_assert_str_eq(out, "pid 4242 (k?i?ll)");
	rcp_times_key(RCP_T_EXE, &s, "b00t", out, sizeof(out));
	ck_assert_str_eq(out, "(unknown)");

	LT = sup_limits_new();
	ck_assert_ptr_nonnull(LT);
	r = ok1(HDR("t", "tamper") "  tamper: signal\n  times:\n"
		"    - {kind: times_per_proc, max: 2}\n", "t");
	s.task = task;
	rcp_times_key(RCP_T_PROC, &s, "b00t", out, sizeof(out));
	snprintf(lim, sizeof(lim), "%d\t%s\n", (int)RCP_T_PROC, out);
	ck_assert_int_eq(sup_limits_check(LT, r, lim), 1);
	ck_assert_int_eq(sup_limits_check(LT, r, lim), 1);
	ck_assert_int_eq(sup_limits_check(LT, r, lim), 0);
	/* another actor has a limit of its own */
	s.task = task_mut(K_PARENT);
	rcp_times_key(RCP_T_PROC, &s, "b00t", out, sizeof(out));
	snprintf(lim, sizeof(lim), "%d\t%s\n", (int)RCP_T_PROC, out);
	ck_assert_int_eq(sup_limits_check(LT, r, lim), 1);
	struct emitted e = {0};
	ck_assert_uint_eq(sup_limits_summary(LT, "h", emit_cb, &e), 1);
	ck_assert_str_eq(json_string_value(json_object_get(e.ev[0], "recipe")), "t");
	ck_assert_int_eq(ival(e.ev[0], "suppressed"), 1);
	emitted_free(&e);
	sup_limits_free(LT);
	LT = NULL;
}
END_TEST

/* The built-in tamper recipes: one per class, critical, limited per
 * process, each matching its own class only; the tamper worker keeps
 * exactly them. */
START_TEST(tamper_builtin)
{
	static const struct {
		const char *kind;
		uint32_t klass;
	} want[] = {
		{"tamper_bpf_map_write", JB_TAMPER_MAP_WRITE},
		{"tamper_bpf_program", JB_TAMPER_BPF_PROG},
		{"tamper_kernel_module", JB_TAMPER_MODULE},
		{"tamper_agent_signal", JB_TAMPER_SIGNAL},
		{"tamper_agent_ptrace", JB_TAMPER_PTRACE},
		{"tamper_agent_memory", JB_TAMPER_PROC_MEM},
		{"tamper_agent_files", JB_TAMPER_FILE},
	};
	struct jb_task *task = build_view();
	size_t ntamper = 0;

	ck_assert_msg(load_n(rcp_builtin, rcp_builtin_n, NULL, "tamper") == 0, "%s", ERR);
	for (size_t i = 0; i < S.n; i++)
		ck_assert_int_eq(S.r[i].mech, RCP_TAMPER);
	ck_assert_uint_eq(S.n, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct recipe *r = rcp_find(&S, want[i].kind);
		int per_proc = 0;

		ck_assert_msg(r != NULL, "no built-in %s", want[i].kind);
		ck_assert_str_eq(r->importance, "critical");
		ck_assert_int_eq(r->enabled, 1);
		for (size_t k = 0; k < r->ntimes; k++)
			per_proc |= r->times[k].kind == RCP_T_PROC && r->times[k].max <= 10;
		ck_assert_msg(per_proc, "%s: no times_per_proc limit of at most 10", r->kind);
		for (uint32_t k = 1; k < JB_TAMPER_CLASS_MAX; k++) {
			struct jb_tamper t = mktamper(k, K_CHILD);
			ck_assert_msg(mtamper(r, task, &t) == (k == want[i].klass), "%s on %s",
				      r->kind, rcp_tamper_class_name(k));
		}
		ntamper++;
	}
	ck_assert_uint_eq(ntamper, 7);
	/* the other workers keep none of them */
	ck_assert_int_eq(load_n(rcp_builtin, rcp_builtin_n, NULL, "file_access"), 0);
	for (size_t i = 0; i < S.n; i++)
		ck_assert_int_ne(S.r[i].mech, RCP_TAMPER);
}
END_TEST

/* tamper_bpf_program's one exception: systemd as pid 1 (its cgroup_skb
 * programs for IPAddressDeny=/IPAddressAllow= units), by both of its paths;
 * pid 1 running anything else, or systemd's binary as another pid, is
 * still reported, and so is an actor whose task is gone (its exe is
 * unknown) even with pid 1 in the record. */
START_TEST(tamper_bpf_program_systemd)
{
	struct jb_task *task = build_view(), *init = task_mut(K_INIT);
	struct jb_tamper t = mktamper(JB_TAMPER_BPF_PROG, K_INIT);
	const struct recipe *r;

	ck_assert_msg(load_n(rcp_builtin, rcp_builtin_n, NULL, "tamper") == 0, "%s", ERR);
	r = rcp_find(&S, "tamper_bpf_program");
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(init->tgid, 1);
	ck_assert_str_eq(init->exe, "/usr/lib/systemd/systemd");
	ck_assert_int_eq(mtamper(r, init, &t), 0);
	strcpy(init->exe, "/lib/systemd/systemd");
	ck_assert_int_eq(mtamper(r, init, &t), 0);
	/* pid 1 running another binary */
	strcpy(init->exe, "/tmp/systemd");
	ck_assert_int_eq(mtamper(r, init, &t), 1);
	strcpy(init->exe, "/usr/lib/systemd/systemd-journald");
	ck_assert_int_eq(mtamper(r, init, &t), 1);
	strcpy(init->exe, "/sbin/init");
	ck_assert_int_eq(mtamper(r, init, &t), 1);
	/* systemd's binary as another pid (a copy run by an attacker, a user
	 * manager) */
	strcpy(task->exe, "/usr/lib/systemd/systemd");
	t = mktamper(JB_TAMPER_BPF_PROG, K_CHILD);
	ck_assert_int_ne(task->tgid, 1);
	ck_assert_int_eq(mtamper(r, task, &t), 1);
	strcpy(task->exe, "/lib/systemd/systemd");
	ck_assert_int_eq(mtamper(r, task, &t), 1);
	/* task gone: the record says pid 1, the exe is unknown */
	t.tgid = 1;
	ck_assert_int_eq(mtamper(r, NULL, &t), 1);
}
END_TEST

/* ======================================================================== */

static void add(Suite *s, const char *name, const TTest *tests[], int tmp)
{
	TCase *tc = tcase_create(name);

	tcase_set_timeout(tc, 30);
	if (tmp)
		tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_checked_fixture(tc, NULL, teardown);
	for (int i = 0; tests[i] != NULL; i++)
		tcase_add_test(tc, tests[i]);
	suite_add_tcase(s, tc);
}

static Suite *recipe_suite(void)
{
	Suite *s = suite_create("recipe");

	add(s, "load_errors", (const TTest *[]){ err_unknown_key, err_duplicate_key, err_wrong_type,
		err_bad_regex, err_unknown_action, err_empty_actions_and_wildcard_domains, err_unknown_times_kind, err_bad_cidr,
		err_bad_importance, err_missing_required, err_kind_twice_across_sources,
		err_disabled_unknown, err_mechanism_shape, err_yaml_syntax, err_time_items_and_shape,
		err_every_key_twice, err_yaml_alias, err_empty_groups, err_reactions_shape, NULL }, 0);
	add(s, "public_shapes", (const TTest *[]){ public_shapes, override_builtin, reactions_in_event, variants_one_source, NULL }, 0);
	add(s, "alias_bomb", (const TTest *[]){ alias_bomb_bounded, NULL }, 0);
	add(s, "load_keys_documented", (const TTest *[]){ every_key_documented, NULL }, 0);
	add(s, "load_nul", (const TTest *[]){ err_nul_byte, NULL }, 0);
	add(s, "load", (const TTest *[]){ load_identity, load_worker_filter, NULL }, 0);
	add(s, "macros", (const TTest *[]){ macros_expand, macros_match_any, macros_how_all, NULL },
	    0);
	add(s, "bases", (const TTest *[]){ bases_kinds, bases_shorthand_one_entry,
		bases_search_expect, NULL }, 0);
	add(s, "network", (const TTest *[]){ net_cidrs, net_ports_proto, net_domains,
		net_domains_file, net_flow_actions, NULL }, 0);
	add(s, "arbitrary", (const TTest *[]){ arb_and_or, arb_irrelevant, arb_numbers,
		arb_ancestry, arb_domain_entropy, NULL }, 0);
	add(s, "arbitrary_cmd", (const TTest *[]){ arb_cmd_alias, NULL }, 0);
	add(s, "regex_limit", (const TTest *[]){ arb_regex_limit, bases_regex_limit, NULL }, 0);
	add(s, "regex_invalid_utf8", (const TTest *[]){ regex_invalid_utf8_subject, NULL }, 0);
#ifdef JB_ENV_LEN
	add(s, "env_vars", (const TTest *[]){ env_vars_match, env_walk, env_cut_match, NULL }, 0);
	add(s, "env_names", (const TTest *[]){ env_cut_bad, env_item_name, env_names_derive, NULL },
	    0);
#endif
	add(s, "times_keys", (const TTest *[]){ times_keys, times_keys_crafted, NULL }, 0);
	add(s, "tamper", (const TTest *[]){ tamper_classes, tamper_arbitrary, tamper_times,
		tamper_builtin, tamper_bpf_program_systemd, NULL }, 0);
	add(s, "resolve", (const TTest *[]){ resolve_paths, resolve_dotdot_run, NULL }, 0);
	add(s, "sup_recipes", (const TTest *[]){ sup_dir_ok, sup_dir_refused_mode,
		sup_dir_refused_owner, sup_dir_refused_symlink, sup_dir_refused_ancestor, sup_dir_errors, check_config_override, NULL }, 1);
	add(s, "sup_builtin", (const TTest *[]){ sup_builtin_catalogue, NULL }, 0);
	add(s, "sup_watch", (const TTest *[]){ sup_watch_builtin, sup_watch_disabled_places,
		sup_watch_operator_places, NULL }, 1);
	add(s, "sup_limits", (const TTest *[]){ limits_per_exe, limits_every_limit,
		limits_host_and_missing_key, NULL }, 0);
	add(s, "sup_limits_utf8", (const TTest *[]){ limits_summary_non_utf8_key, NULL }, 0);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(recipe_suite());
	int failed;

	srunner_set_fork_status(sr, CK_FORK); /* sup_watch unshares its mount namespace */
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
