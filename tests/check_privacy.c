/*
 * check_privacy.c - keyed pseudonymisation (common/privacy.c, issue 16;
 * docs/PRIVACY.md).
 *
 * Invariants checked:
 *  - a pseudonym is type-xxxxxxxxxxxx, the same for the same key and value,
 *    different under another key, different between types;
 *  - prv_apply replaces every personal identifier it covers wherever it
 *    sits in the event (nested arrays and objects too), leaves the rest
 *    byte for byte, lists what it changed in "pseudonymised", and a policy
 *    of 0 leaves the event untouched;
 *  - addresses keep the operator's prefix in clear, and one inet_pton
 *    cannot read is one pseudonym, never left in clear;
 *  - a pseudonym already in a string (a detection_summary's text) is kept;
 *  - 20 000 local accounts cost an event little CPU (a hash set);
 *  - (key TCase) `jibril --reveal` prints, per type, what prv_apply
 *    writes, and for a host both its full name's and first label's.
 * With the real agent (root, BPF; SKIP otherwise), one agent shared by the
 * TCase: a test user with a distinctive name reads its own SSH key; the
 * file printer (policy on) has no trace of the name, the uid or the host
 * name in any string of the event and lists what it changed, `jibril
 * --reveal NAME` prints the pseudonym the event holds; the stdout printer
 * (no policy) prints the same detection as it came. The key is created
 * 0600; a key of a wrong mode refuses the start and --reveal, naming
 * FILE:LINE.
 */
#include <check.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "agent_harness.h"
#include "common/privacy.h"
#include "tests/lib/file.h"

static const unsigned char K1[PRV_KEY_LEN] = "0123456789abcdef0123456789abcde";
static const unsigned char K2[PRV_KEY_LEN] = "fedcba9876543210fedcba987654321";

/* a policy over K1 with these users (NUL-separated, literal) */
static struct prv_policy pol(uint32_t fields, const char *users, size_t ulen)
{
	struct prv_policy p = {.fields = fields, .ipv4_prefix = 24, .ipv6_prefix = 48};

	memcpy(p.key, K1, PRV_KEY_LEN);
	p.users = users;
	p.users_len = ulen;
	return p;
}

static int is_pseudo(const char *s, const char *type)
{
	size_t tl = strlen(type);

	if (strncmp(s, type, tl) || s[tl] != '-' || strlen(s) != tl + 1 + 12)
		return 0;
	return strspn(s + tl + 1, "0123456789abcdef") == 12;
}

START_TEST(test_pseudonym)
{
	char a[PRV_PSEUDO_MAX], b[PRV_PSEUDO_MAX], c[PRV_PSEUDO_MAX], d[PRV_PSEUDO_MAX];

	prv_pseudonym(K1, "user", "alice", a);
	prv_pseudonym(K1, "user", "alice", b);
	ck_assert_msg(is_pseudo(a, "user"), "%s", a);
	ck_assert_str_eq(a, b); /* determinism */
	prv_pseudonym(K2, "user", "alice", c);
	ck_assert_str_ne(a, c); /* per key */
	prv_pseudonym(K1, "host", "alice", d);
	ck_assert_msg(is_pseudo(d, "host"), "%s", d);
	ck_assert_str_ne(a + 5, d + 5); /* per type: not only the prefix */
	prv_pseudonym(K1, "user", "alicf", c);
	ck_assert_str_ne(a, c);
	prv_pseudonym_n(K1, "user", "alice-and-more", 5, c);
	ck_assert_str_eq(a, c);
	ck_assert(prv_uid_personal(1000) && prv_uid_personal(60000) && !prv_uid_personal(0) &&
		  !prv_uid_personal(999) && !prv_uid_personal(65534));
}
END_TEST

/* Every string anywhere in j: does any contain needle? (recursively) */
static int any_string_has(json_t *j, const char *needle)
{
	const char *k;
	json_t *v;
	size_t i;

	if (json_is_string(j))
		return strstr(json_string_value(j), needle) != NULL;
	if (json_is_array(j)) {
		json_array_foreach(j, i, v)
			if (any_string_has(v, needle))
				return 1;
	}
	if (json_is_object(j)) {
		json_object_foreach(j, k, v)
			if (strstr(k, needle) || any_string_has(v, needle))
				return 1;
	}
	return 0;
}

static int listed(json_t *ev, const char *path)
{
	json_t *a = json_object_get(ev, "pseudonymised"), *v;
	size_t i;

	json_array_foreach(a, i, v)
		if (!strcmp(json_string_value(v), path))
			return 1;
	return 0;
}

#define EVENT                                                                                      \
	"{\"uuid\":\"u\",\"kind\":\"k\",\"name\":\"alice's recipe\",\"description\":\"root "     \
	"and alice\",\"hostname\":\"web-17.example.org\","                                        \
	"\"process\":{\"id\":\"00alice0\",\"pid\":5,\"exe\":\"/home/alice/bin/x\","             \
	"\"args\":\"x --user alice -f /home/bob/f /home/alice\",\"uid\":1001,\"comm\":\"x\","    \
	"\"cgroup\":\"/user.slice/user-1001.slice/session-3.scope\",\"unit\":\"user@1001.service\"," \
	"\"env\":[\"HOME=/home/alice\",\"LD_PRELOAD=/tmp/alice.so\",\"X=alicex\"]},"              \
	"\"parent\":{\"uid\":0,\"args\":\"sshd: alice@pts/0 on web-17\"},"                       \
	"\"file\":{\"path\":\"/run/user/1001/secret\",\"actions\":[\"open\"]},"                   \
	"\"flow\":{\"local\":{\"address\":\"10.0.0.5\",\"port\":1},"                              \
	"\"remote\":{\"address\":\"192.168.7.200\",\"port\":443},\"remote_names\":[\"a.b\"]},"   \
	"\"background\":{\"ancestry\":[{\"uid\":1001,\"args\":\"bash /home/alice/.x\"}],"         \
	"\"files\":[{\"path\":\"/var/mail/alice\"}],\"flows\":[{\"remote\":"                      \
	"{\"address\":\"2001:db8:1:2::9\",\"port\":1}}]},\"agent\":{\"version\":\"1\"}}"

START_TEST(test_apply)
{
	static const char users[] = "alice\0bob\0alice.b";
	struct prv_policy p = pol(PRV_USERS | PRV_HOSTS | PRV_IPS, users, sizeof(users));
	json_error_t e;
	json_t *ev = json_loads(EVENT, 0, &e);
	char ua[PRV_PSEUDO_MAX], ub[PRV_PSEUDO_MAX], uid[PRV_PSEUDO_MAX], want[256];
	const char *s;

	ck_assert_msg(ev != NULL, "%s", e.text);
	ck_assert_int_eq(prv_apply(ev, &p), 0);
	prv_pseudonym(K1, "user", "alice", ua);
	prv_pseudonym(K1, "user", "bob", ub);
	prv_pseudonym(K1, "uid", "1001", uid);
	/* no trace left outside the recipe's own words */
	json_t *c = json_deep_copy(ev);
	json_object_del(c, "name");
	json_object_del(c, "description");
	json_object_del(json_object_get(c, "process"), "id"); /* opaque: "00alice0" stays */
	json_array_remove(json_object_get(json_object_get(c, "process"), "env"), 2); /* alicex */
	ck_assert_msg(!any_string_has(c, "alice"), "%s", json_dumps(c, 0));
	ck_assert(!any_string_has(c, "1001"));
	ck_assert(!any_string_has(c, "web-17"));
	ck_assert(!any_string_has(c, "192.168.7.200"));
	json_decref(c);
	/* the recipe's words and opaque ids untouched */
	ck_assert_str_eq(json_string_value(json_object_get(ev, "description")), "root and alice");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(ev, "process"), "id")),
			 "00alice0");
	json_t *proc = json_object_get(ev, "process");
	snprintf(want, sizeof(want), "/home/%s/bin/x", ua);
	ck_assert_str_eq(json_string_value(json_object_get(proc, "exe")), want);
	snprintf(want, sizeof(want), "x --user %s -f /home/%s/f /home/%s", ua, ub, ua);
	ck_assert_str_eq(json_string_value(json_object_get(proc, "args")), want);
	ck_assert_str_eq(json_string_value(json_object_get(proc, "uid")), uid);
	snprintf(want, sizeof(want), "/user.slice/user-%s.slice/session-3.scope", uid);
	ck_assert_str_eq(json_string_value(json_object_get(proc, "cgroup")), want);
	snprintf(want, sizeof(want), "LD_PRELOAD=/tmp/%s.so", ua);
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(proc, "env"), 1)), want);
	/* a word that only begins with a user's name is not one */
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(proc, "env"), 2)),
			 "X=alicex");
	/* system accounts stay in clear, as a string (one type per field) */
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(ev, "parent"), "uid")),
			 "0");
	s = json_string_value(json_object_get(ev, "hostname"));
	ck_assert_msg(is_pseudo(s, "host"), "%s", s);
	/* addresses: the peer's network in clear, this host's end untouched */
	json_t *fl = json_object_get(ev, "flow");
	s = json_string_value(json_object_get(json_object_get(fl, "remote"), "address"));
	ck_assert_msg(!strncmp(s, "192.168.7.0/24~ip-", 18) && is_pseudo(s + 15, "ip"), "%s", s);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(fl, "local"), "address")),
			 "10.0.0.5");
	s = json_string_value(json_object_get(
		json_object_get(json_array_get(json_object_get(json_object_get(ev, "background"),
							       "flows"),
					       0),
				"remote"),
		"address"));
	ck_assert_msg(!strncmp(s, "2001:db8:1::/48~ip-", 19), "%s", s);
	ck_assert(listed(ev, "process.exe") && listed(ev, "process.uid") &&
		  listed(ev, "process.env[]") && listed(ev, "hostname") &&
		  listed(ev, "flow.remote.address") && listed(ev, "background.ancestry[].args") &&
		  listed(ev, "background.files[].path") && listed(ev, "parent.args") &&
		  listed(ev, "file.path") && listed(ev, "parent.uid"));
	ck_assert(!listed(ev, "flow.local.address") && !listed(ev, "kind"));
	json_decref(ev);
}
END_TEST

START_TEST(test_fields_and_off)
{
	struct prv_policy p = pol(PRV_USERS, "alice", 6);
	json_t *ev = json_loads(EVENT, 0, NULL), *orig = json_deep_copy(ev);
	char *a, *b;

	/* users only: the host and the peer stay */
	ck_assert_int_eq(prv_apply(ev, &p), 0);
	ck_assert_str_eq(json_string_value(json_object_get(ev, "hostname")), "web-17.example.org");
	ck_assert(!listed(ev, "hostname") && !listed(ev, "flow.remote.address"));
	json_decref(ev);
	/* a policy of nothing: not a byte changed, no "pseudonymised" */
	p.fields = 0;
	ev = json_deep_copy(orig);
	ck_assert_int_eq(prv_apply(ev, &p), 0);
	a = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
	b = json_dumps(orig, JSON_COMPACT | JSON_PRESERVE_ORDER);
	ck_assert_str_eq(a, b);
	free(a);
	free(b);
	json_decref(ev);
	json_decref(orig);
}
END_TEST

START_TEST(test_ip_forms)
{
	struct prv_policy p = pol(PRV_IPS, NULL, 0);
	char a[PRV_IP_MAX], b[PRV_IP_MAX];

	ck_assert_int_eq(prv_ip(&p, "2001:db8::1", a, sizeof(a)), 0);
	ck_assert_int_eq(prv_ip(&p, "2001:0db8:0:0::0001", b, sizeof(b)), 0);
	ck_assert_str_eq(a, b); /* one address, one pseudonym, however written */
	ck_assert_int_eq(prv_ip(&p, "not-an-ip", a, sizeof(a)), -1);
	p.ipv4_prefix = 0;
	ck_assert_int_eq(prv_ip(&p, "8.8.8.8", a, sizeof(a)), 0);
	ck_assert_msg(is_pseudo(a, "ip"), "%s", a);
	p.ipv4_prefix = 16;
	ck_assert_int_eq(prv_ip(&p, "8.8.8.8", b, sizeof(b)), 0);
	ck_assert_str_eq(b + strlen("8.8.0.0/16~"), a); /* the same pseudonym */
	/* an IPv4 peer of a dual-stack socket is that IPv4 address, with its
	 * IPv4 network (::/48 kept nothing, and its pseudonym differed) */
	p.ipv4_prefix = 24;
	ck_assert_int_eq(prv_ip(&p, "192.168.7.200", a, sizeof(a)), 0);
	ck_assert_int_eq(prv_ip(&p, "::ffff:192.168.7.200", b, sizeof(b)), 0);
	ck_assert_str_eq(b, a);
	ck_assert_msg(!strncmp(a, "192.168.7.0/24~ip-", 18), "%s", a);
}
END_TEST

/* Text made of pseudonymised events (a detection_summary's answer) goes
 * through a printer's policy again: its pseudonyms come out as they went
 * in (not the pseudonym of a pseudonym, nor "user-1234abcd..." read as the
 * uid 1234), while a raw name beside them is still replaced. */
START_TEST(test_pseudonyms_kept)
{
	static const char users[] = "alice";
	struct prv_policy p = pol(PRV_USERS | PRV_HOSTS, users, sizeof(users));
	char ua[PRV_PSEUDO_MAX], text[512], want[512];
	json_t *ev;

	prv_pseudonym(K1, "user", "alice", ua);
	snprintf(text, sizeof(text),
		 "%s read /home/%s/.ssh/id_rsa; user-1234abcdef01 and uid-1234567890ab ran "
		 "on host-0123456789ab; alice too",
		 ua, ua);
	ev = json_pack("{s:s, s:s, s:s}", "kind", "detection_summary", "hostname",
		       "web-17.example.org", "summary", text);
	ck_assert_ptr_nonnull(ev);
	ck_assert_int_eq(prv_apply(ev, &p), 0);
	snprintf(want, sizeof(want),
		 "%s read /home/%s/.ssh/id_rsa; user-1234abcdef01 and uid-1234567890ab ran "
		 "on host-0123456789ab; %s too",
		 ua, ua, ua);
	ck_assert_str_eq(json_string_value(json_object_get(ev, "summary")), want);
	json_decref(ev);
}
END_TEST

/* With ips, a remote address inet_pton cannot read (a scope, a port) is
 * never left in clear: one pseudonym for the whole value. */
START_TEST(test_ip_unreadable_not_clear)
{
	struct prv_policy p = pol(PRV_IPS, NULL, 0);
	json_t *ev = json_loads("{\"flow\":{\"remote\":{\"address\":\"fe80::1%eth0\"}},"
				"\"background\":{\"flows\":[{\"remote\":{\"address\":"
				"\"10.1.2.3:80\"}}]}}",
				0, NULL);
	const char *s;

	ck_assert_ptr_nonnull(ev);
	ck_assert_int_eq(prv_apply(ev, &p), 0);
	s = json_string_value(json_object_get(json_object_get(json_object_get(ev, "flow"),
							      "remote"),
					      "address"));
	ck_assert_msg(is_pseudo(s, "ip"), "%s", s);
	ck_assert(!any_string_has(ev, "fe80") && !any_string_has(ev, "10.1.2"));
	ck_assert(listed(ev, "flow.remote.address") &&
		  listed(ev, "background.flows[].remote.address"));
	json_decref(ev);
}
END_TEST

/* A host with many accounts and an event of many short words (what an
 * attacker's argv and paths can be): each event still costs little CPU.
 * Comparing every word with every account's name cost about 0.5 s per
 * such event with 20 000 accounts, so an attacker's detections held a
 * pseudonymising printer (the SIEM's) back; the bound is 50 times what
 * the hash set needs on a loaded machine. The longest name still wins. */
START_TEST(test_many_users_fast)
{
	size_t cap = 20000 * 10 + 64, len = 0;
	char *users = malloc(cap), args[257], ua[PRV_PSEUDO_MAX], want[64];
	struct prv_policy p;
	struct timespec a, b;
	json_t *anc = json_array(), *ev;
	double ms;
	int i;

	ck_assert_ptr_nonnull(users);
	for (i = 0; i < 20000; i++)
		len += (size_t)sprintf(users + len, "u%07d", i) + 1;
	len += (size_t)sprintf(users + len, "anna") + 1;
	len += (size_t)sprintf(users + len, "anna.b") + 1;
	p = pol(PRV_USERS | PRV_HOSTS, users, len);
	for (i = 0; i < 256; i += 2) {
		args[i] = 'a';
		args[i + 1] = ' ';
	}
	args[256] = '\0';
	for (i = 0; i < 32; i++)
		json_array_append_new(anc, json_pack("{s:s, s:s}", "exe", "/a/b/c/d/e", "args", args));
	ev = json_pack("{s:s, s:{s:s}, s:{s:o}}", "hostname", "web-17", "process", "args",
		       "cat /tmp/anna.b u0019999", "background", "ancestry", anc);
	ck_assert_ptr_nonnull(ev);
	ck_assert_int_eq(prv_apply(ev, &p), 0); /* the index built once */
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
	for (i = 0; i < 10; i++) {
		json_t *c = json_deep_copy(ev);
		ck_assert_int_eq(prv_apply(c, &p), 0);
		json_decref(c);
	}
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
	ms = ((double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6) / 10;
	ck_assert_msg(ms < 50, "%.1f ms of CPU per event with 20 000 accounts", ms);
	prv_pseudonym(K1, "user", "anna.b", ua);
	prv_pseudonym(K1, "user", "u0019999", want);
	char exp[128];
	snprintf(exp, sizeof(exp), "cat /tmp/%s %s", ua, want);
	ck_assert_str_eq(jbh_jstr(ev, "process.args"), exp);
	json_decref(ev);
	free(users);
}
END_TEST

Suite *privacy_unit_suite(void);
Suite *privacy_unit_suite(void)
{
	Suite *s = suite_create("privacy");
	TCase *tc = tcase_create("unit");

	tcase_add_test(tc, test_pseudonym);
	tcase_add_test(tc, test_apply);
	tcase_add_test(tc, test_fields_and_off);
	tcase_add_test(tc, test_ip_forms);
	tcase_add_test(tc, test_pseudonyms_kept);
	tcase_add_test(tc, test_ip_unreadable_not_clear);
	tcase_add_test(tc, test_many_users_fast);
	suite_add_tcase(s, tc);
	return s;
}


/* --- with the real agent ------------------------------------------------- */

static struct jbh_agent A;
static char kdir[64] = "", keyp[128], uname_[32], home[96];
static uid_t tuid;
static int have_user;

static int run_cmd(char *const argv[])
{
	return jbh_run(argv[0], argv, 30000, NULL);
}

/* The test user, made once by the fixture; removed by the teardown. */
static void user_del(void)
{
	if (!have_user)
		return;
	char *del[] = {"/usr/sbin/userdel", "-r", "-f", uname_, NULL};
	if (run_cmd(del) != 0)
		fprintf(stderr, "check_privacy: cannot remove user %s (userdel -r %s)\n", uname_,
			uname_);
	have_user = 0;
}

static void shared_up(void)
{
	static char extra[512];
	struct jbh_opts o = {.stdout_printer = 1, .no_fault_hooks = 1, .extra_conf = extra};
	struct passwd *pw;
	char key[160];
	int fd;

	/* a name nothing else on the host holds, and a home under /home */
	snprintf(uname_, sizeof(uname_), "jbprv%ld", (long)getpid() % 100000);
	snprintf(home, sizeof(home), "/home/%s", uname_);
	char *add[] = {"/usr/sbin/useradd", "-m", "-d", home, "-s", "/bin/sh", uname_, NULL};
	ck_assert_msg(run_cmd(add) == 0, "useradd %s failed", uname_);
	have_user = 1;
	ck_assert_ptr_nonnull(pw = getpwnam(uname_));
	tuid = pw->pw_uid;
	ck_assert_msg(prv_uid_personal(tuid), "useradd gave %s uid %u", uname_, (unsigned)tuid);
	snprintf(key, sizeof(key), "%s/.ssh", home);
	ck_assert_int_eq(mkdir(key, 0700), 0);
	ck_assert_int_eq(chown(key, tuid, pw->pw_gid), 0);
	snprintf(key, sizeof(key), "%s/.ssh/id_rsa", home);
	fd = open(key, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "not a key\n", 10), 10);
	close(fd);
	ck_assert_int_eq(chown(key, tuid, pw->pw_gid), 0);
	/* the key's directory: root's, 0700 (mkdtemp); the key made by the agent */
	snprintf(kdir, sizeof(kdir), "/tmp/check_privacy.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(kdir));
	snprintf(keyp, sizeof(keyp), "%s/keys/privacy.key", kdir);
	snprintf(extra, sizeof(extra),
		 "[privacy]\nprinters = file\nfields = users, hosts, ips\nkey_file = %s\n", keyp);
	jbh_start_ready(&A, &o, 30000);
}

static void shared_down(void)
{
	jbh_reap(&A);
	user_del();
	if (kdir[0])
		tl_rm_tree(kdir, "/tmp/check_privacy.");
}

START_TEST(test_shared_stop)
{
	jbh_stop_unparented(&A, 10000);
}
END_TEST

static void read_key(unsigned char key[PRV_KEY_LEN])
{
	struct stat st;
	int fd = open(keyp, O_RDONLY);

	ck_assert_msg(fd >= 0, "%s: %s", keyp, strerror(errno));
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert_uint_eq(st.st_uid, 0);
	ck_assert_int_eq(st.st_size, PRV_KEY_LEN);
	ck_assert_int_eq(read(fd, key, PRV_KEY_LEN), PRV_KEY_LEN);
	close(fd);
}

START_TEST(test_key_created)
{
	unsigned char k[PRV_KEY_LEN], zero[PRV_KEY_LEN] = {0};

	ck_assert_msg(jbh_running(&A), "the shared supervisor is gone (log %s)", A.log);
	read_key(k);
	ck_assert(memcmp(k, zero, sizeof(k)) != 0);
	ck_assert_msg(jbh_log_has(&A, "privacy key"), "no 'privacy key ... created' in %s", A.log);
}
END_TEST

/* the test user, as itself, reads its SSH key: "cat HOME/.ssh/id_rsa NAME-notes" */
static pid_t trigger(void)
{
	char path[160], notes[64];
	pid_t pid;

	snprintf(path, sizeof(path), "%s/.ssh/id_rsa", home);
	snprintf(notes, sizeof(notes), "%s-notes", uname_);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 1);
		dup2(null, 2);
		if (setgroups(0, NULL) < 0 || setgid(tuid) < 0 || setuid(tuid) < 0)
			_exit(126);
		execl("/bin/cat", "cat", path, notes, (char *)NULL);
		_exit(127);
	}
	return pid;
}

struct want {
	pid_t pid;
	int pseudo; /* 1: the pseudonymised line (has "pseudonymised") */
};

static int is_ours(json_t *ev, void *arg)
{
	const struct want *w = arg;
	const char *k = jbh_jstr(ev, "kind");

	return k && !strcmp(k, "reading_of_ssh_keys") &&
	       jbh_jint(ev, "process.pid", 0) == w->pid &&
	       (json_object_get(ev, "pseudonymised") != NULL) == w->pseudo;
}

/* s holds w as a word (not inside a longer run of letters and digits)? */
static int has_token(const char *s, const char *w)
{
	size_t l = strlen(w);

	for (const char *p = strstr(s, w); p; p = strstr(p + 1, w)) {
		int before = p > s && (isalnum((unsigned char)p[-1]) || p[-1] == '_');
		int after = isalnum((unsigned char)p[l]) || p[l] == '_';
		if (!before && !after)
			return 1;
	}
	return 0;
}

/* The first string anywhere in j (keys too) holding needle, as a word if
 * token; NULL when none. */
static const char *find_string(json_t *j, const char *needle, int token)
{
	const char *k, *s, *r;
	json_t *v;
	size_t i;

	if (json_is_string(j)) {
		s = json_string_value(j);
		return (token ? has_token(s, needle) : strstr(s, needle) != NULL) ? s : NULL;
	}
	if (json_is_array(j))
		json_array_foreach(j, i, v)
			if ((r = find_string(v, needle, token)))
				return r;
	if (json_is_object(j))
		json_object_foreach(j, k, v) {
			if (token ? has_token(k, needle) : strstr(k, needle) != NULL)
				return k;
			if ((r = find_string(v, needle, token)))
				return r;
		}
	return NULL;
}

START_TEST(test_user_trigger)
{
	unsigned char key[PRV_KEY_LEN];
	char host[256], uid_s[16], pu[PRV_PSEUDO_MAX], pid_[PRV_PSEUDO_MAX], want[256];
	char out[256] = "", *line;
	const char *bad, *s;
	json_t *ev, *raw;
	struct want w;
	int st;

	ck_assert_msg(jbh_running(&A), "the shared supervisor is gone (log %s)", A.log);
	read_key(key);
	ck_assert_int_eq(gethostname(host, sizeof(host)), 0);
	snprintf(uid_s, sizeof(uid_s), "%u", (unsigned)tuid);
	w.pid = trigger();
	st = jbh_wait_exit(w.pid, 10000);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) < 126, "the trigger did not run (%d)", st);
	w.pseudo = 1;
	ev = jbh_wait_event(&A, is_ours, &w, jbh_detect_deadline(&A));
	ck_assert_msg(ev != NULL, "no reading_of_ssh_keys for pid %d in %s", (int)w.pid, A.events);
	line = json_dumps(ev, JSON_COMPACT);
	/* no trace of the person or the host, in any string */
	ck_assert_msg(!(bad = find_string(ev, uname_, 0)), "the user's name in \"%s\": %s", bad,
		      line);
	ck_assert_msg(!(bad = find_string(ev, uid_s, 1)), "the uid in \"%s\": %s", bad, line);
	ck_assert_msg(!(bad = find_string(ev, host, strlen(host) < 4 ? 1 : 0)) ||
			      (strlen(host) < 4 && strcmp(bad, host) && !strstr(bad, "hostname")),
		      "the host name in \"%s\": %s", bad, line);
	ck_assert_str_ne(jbh_jstr(ev, "hostname"), host);
	/* the pseudonyms are those of the key on disk */
	prv_pseudonym(key, "user", uname_, pu);
	prv_pseudonym(key, "uid", uid_s, pid_);
	snprintf(want, sizeof(want), "/home/%s/.ssh/id_rsa", pu);
	ck_assert_str_eq(jbh_jstr(ev, "file.path"), want);
	ck_assert_str_eq(jbh_jstr(ev, "process.uid"), pid_);
	snprintf(want, sizeof(want), "cat /home/%s/.ssh/id_rsa %s-notes", pu, pu);
	ck_assert_str_eq(jbh_jstr(ev, "process.args"), want);
	ck_assert(jbh_jarr_has(ev, "pseudonymised", "file.path"));
	ck_assert(jbh_jarr_has(ev, "pseudonymised", "process.uid"));
	ck_assert(jbh_jarr_has(ev, "pseudonymised", "process.args"));
	ck_assert(jbh_jarr_has(ev, "pseudonymised", "hostname"));
	free(line);
	/* what an investigator searches for: jibril --reveal NAME */
	{
		char cmd[512];
		FILE *p;
		snprintf(cmd, sizeof(cmd), "%s --config %s --reveal %s --type user", jbh_bin(),
			 A.conf, uname_);
		ck_assert_ptr_nonnull(p = popen(cmd, "r"));
		ck_assert_ptr_nonnull(fgets(out, sizeof(out), p));
		ck_assert_int_eq(pclose(p), 0);
		snprintf(want, sizeof(want), "user\t%s\n", pu);
		ck_assert_str_eq(out, want);
	}
	/* the stdout printer has no policy: the same detection, as it came */
	w.pseudo = 0;
	raw = jbh_wait_event_in(A.out, is_ours, &w, jbh_detect_deadline(&A));
	ck_assert_msg(raw != NULL, "no raw line in %s", A.out);
	snprintf(want, sizeof(want), "%s/.ssh/id_rsa", home);
	ck_assert_str_eq(jbh_jstr(raw, "file.path"), want);
	ck_assert_int_eq(jbh_jint(raw, "process.uid", -1), (long long)tuid);
	ck_assert_str_eq((s = jbh_jstr(raw, "hostname")) ? s : "", host);
	ck_assert_str_eq(jbh_jstr(raw, "uuid"), jbh_jstr(ev, "uuid"));
	json_decref(raw);
	json_decref(ev);
}
END_TEST

/* A config of the agent's with the key below dir (mode of the key file) */
static void write_conf(const char *dir, const char *conf, const char *key)
{
	FILE *f = fopen(conf, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fchmod(fileno(f), 0600), 0);
	fprintf(f, "[agent]\nstatus_socket = %s/s.sock\n[printers]\nstdout = yes\n"
		   "[audit]\nfile = %s/audit.log\nkey = %s/audit.key\n[bpf]\npin_dir =\n"
		   "[privacy]\nprinters = stdout\nkey_file = %s\n",
		dir, dir, dir, key);
	ck_assert_int_eq(fclose(f), 0);
}

static char bdir[64];

static void bad_setup(void)
{
	snprintf(bdir, sizeof(bdir), "/tmp/check_privacy.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(bdir));
}

static void bad_teardown(void)
{
	tl_rm_tree(bdir, "/tmp/check_privacy.");
}

/* run jibril with args: its exit status, its stderr in err */
static int run_jibril(char *const argv[], char *err, size_t errlen)
{
	int fds[2], st;
	ssize_t n, got = 0;
	pid_t pid;

	ck_assert_int_eq(pipe(fds), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		dup2(fds[1], 2);
		execv(jbh_bin(), argv);
		_exit(127);
	}
	close(fds[1]);
	while ((size_t)got + 1 < errlen && (n = read(fds[0], err + got, errlen - 1 - got)) > 0)
		got += n;
	err[got] = '\0';
	close(fds[0]);
	st = jbh_wait_exit(pid, 60000);
	ck_assert_msg(st >= 0 && WIFEXITED(st), "jibril did not exit (%d): %s", st, err);
	return WEXITSTATUS(st);
}

START_TEST(test_bad_key_refused)
{
	char conf[128], key[128], err[4096], want[512];
	int fd;

	snprintf(conf, sizeof(conf), "%s/jibril.conf", bdir);
	snprintf(key, sizeof(key), "%s/privacy.key", bdir);
	write_conf(bdir, conf, key);
	fd = open(key, O_WRONLY | O_CREAT | O_EXCL, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fchmod(fd, 0644), 0);
	ck_assert_int_eq(write(fd, "0123456789abcdef0123456789abcdef", 32), 32);
	close(fd);
	/* the key_file line is the 12th of write_conf's text */
	snprintf(want, sizeof(want), "%s:12: [privacy] key_file %s: mode 0644", conf, key);
	char *start[] = {"jibril", "--config", conf, NULL};
	ck_assert_int_eq(run_jibril(start, err, sizeof(err)), 78);
	ck_assert_msg(strstr(err, want), "want '%s' in: %s", want, err);
	char *reveal[] = {"jibril", "--config", conf, "--reveal", "alice", NULL};
	ck_assert_int_eq(run_jibril(reveal, err, sizeof(err)), 78);
	ck_assert_msg(strstr(err, want), "want '%s' in: %s", want, err);
	/* made right, --reveal answers every type the value can be */
	ck_assert_int_eq(chmod(key, 0600), 0);
	char *r2[] = {"jibril", "--config", conf, "--reveal", "10.1.2.3", "--type", "ip", NULL};
	ck_assert_int_eq(run_jibril(r2, err, sizeof(err)), 0);
	char *r3[] = {"jibril", "--config", conf, "--reveal", "x", "--type", "pet", NULL};
	ck_assert_int_eq(run_jibril(r3, err, sizeof(err)), 64);
	ck_assert_msg(strstr(err, "--type pet: one of user, uid, host, ip"), "%s", err);
}
END_TEST

/* jibril --reveal VALUE --type T prints the pseudonym prv_apply writes
 * for VALUE in an event, for each type (a personal uid, a user under
 * /home, an address with the configured prefix), and for a host's full
 * name both what the hostname field becomes and what its first label in
 * text ("ssh laptop-17") becomes: each is searched for in the events. */
static void reveal_out(const char *conf, const char *value, const char *type, char *out,
		       size_t len)
{
	char cmd[512];
	size_t got;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "%s --config %s --reveal %s --type %s", jbh_bin(), conf, value,
		 type);
	ck_assert_ptr_nonnull(p = popen(cmd, "r"));
	got = fread(out, 1, len - 1, p);
	out[got] = '\0';
	ck_assert_int_eq(pclose(p), 0);
}

START_TEST(test_reveal_matches_events)
{
	static const unsigned char raw[] = "0123456789abcdef0123456789abcdef";
	struct prv_policy p = pol(PRV_USERS | PRV_HOSTS | PRV_IPS, NULL, 0);
	char conf[128], key[128], out[512], want[512], *args, *q;
	json_t *ev;
	int fd;

	snprintf(conf, sizeof(conf), "%s/jibril.conf", bdir);
	snprintf(key, sizeof(key), "%s/privacy.key", bdir);
	write_conf(bdir, conf, key);
	fd = open(key, O_WRONLY | O_CREAT | O_EXCL, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, raw, PRV_KEY_LEN), PRV_KEY_LEN);
	close(fd);
	memcpy(p.key, raw, PRV_KEY_LEN);
	ev = json_loads("{\"hostname\":\"laptop-17.example.org\",\"process\":{\"uid\":1001,"
			"\"args\":\"ssh laptop-17 /home/alice\"},\"flow\":{\"remote\":"
			"{\"address\":\"192.168.7.200\"}}}",
			0, NULL);
	ck_assert_ptr_nonnull(ev);
	ck_assert_int_eq(prv_apply(ev, &p), 0);
	args = strdup(jbh_jstr(ev, "process.args")); /* "ssh HOST /home/USER" */
	ck_assert_ptr_nonnull(args);
	ck_assert_ptr_nonnull(q = strchr(args + 4, ' '));
	*q = '\0';
	reveal_out(conf, "laptop-17.example.org", "host", out, sizeof(out));
	snprintf(want, sizeof(want), "host\t%s\nhost\t%s\n", jbh_jstr(ev, "hostname"), args + 4);
	ck_assert_str_eq(out, want);
	reveal_out(conf, "alice", "user", out, sizeof(out));
	snprintf(want, sizeof(want), "user\t%s\n", q + 1 + strlen("/home/"));
	ck_assert_str_eq(out, want);
	reveal_out(conf, "1001", "uid", out, sizeof(out));
	snprintf(want, sizeof(want), "uid\t%s\n", jbh_jstr(ev, "process.uid"));
	ck_assert_str_eq(out, want);
	reveal_out(conf, "192.168.7.200", "ip", out, sizeof(out));
	snprintf(want, sizeof(want), "ip\t%s\n", jbh_jstr(ev, "flow.remote.address"));
	ck_assert_str_eq(out, want);
	free(args);
	json_decref(ev);
}
END_TEST

static Suite *privacy_suite(void)
{
	Suite *s = privacy_unit_suite();
	TCase *tc = tcase_create("agent");

	/* one agent (its start is most of the time): the fixture in the
	 * runner, the tests fork from it, the last one stops it */
	tcase_add_unchecked_fixture(tc, NULL, jbh_kill_leftovers);
	tcase_add_unchecked_fixture(tc, shared_up, shared_down);
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, test_key_created);
	tcase_add_test(tc, test_user_trigger);
	tcase_add_test(tc, test_shared_stop);
	suite_add_tcase(s, tc);
	tc = tcase_create("key");
	tcase_add_checked_fixture(tc, bad_setup, bad_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_bad_key_refused);
	tcase_add_test(tc, test_reveal_matches_events);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	/* the unit tests need nothing; the rest needs root and BPF */
	if (geteuid() != 0 || access("/sys/kernel/btf/vmlinux", F_OK) != 0) {
		printf("SKIP: check_privacy agent tests: need root and BTF (the unit tests run)\n");
		sr = srunner_create(privacy_unit_suite());
	} else {
		jbh_main_init("check_privacy");
		sr = srunner_create(privacy_suite());
	}

	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	jbh_kill_leftovers();
	return failed ? 1 : 0;
}
