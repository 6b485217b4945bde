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
 *  - addresses keep the operator's prefix in clear.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/privacy.h"

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
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(privacy_unit_suite());
	int failed;

	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
