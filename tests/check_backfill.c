/*
 * check_backfill.c - the /proc/PID/stat parser of supervisor/backfill.c
 * (jb_parse_proc_stat), which back-fill uses to compute task keys exactly
 * as the kernel does.
 *
 * Invariants checked: on the real /proc/self/stat it yields getppid() and
 * field 22 (start time in ticks) as an independent parse finds it; a comm
 * holding spaces and parentheses does not shift the fields; a line that
 * ends before field 22, or is not a stat line, is refused; comm is cut to
 * commlen and always NUL terminated, and never written when not asked for.
 * jb_env_keep (the wanted entries of /proc/PID/environ, with the kernel's
 * rules): only entries whose name is in the set are kept, in order, and
 * other variables take no room however many; one that does not fit is cut
 * and NUL terminated and the result says "cut"; a wanted entry after a
 * full buffer, and a block of JB_ENV_SCAN bytes or more, say "cut" too.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>

#include "bpf/jibril.h"
#include "supervisor/envnames.h"
#include "supervisor/loader.h"


static size_t read_self_stat(char *buf, size_t len)
{
	int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	ck_assert_int_ge(fd, 0);
	n = read(fd, buf, len - 1);
	close(fd);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	return (size_t)n;
}

/* Field 'want' (1-based, as proc(5) numbers them) of a stat line, found
 * independently: fields after the LAST ')' start at 3. */
static unsigned long long field_of(const char *line, int want)
{
	const char *p = strrchr(line, ')');
	int field = 3;
	char copy[4096], *save = NULL, *tok;

	ck_assert_ptr_nonnull(p);
	snprintf(copy, sizeof(copy), "%s", p + 1);
	for (tok = strtok_r(copy, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save), field++)
		if (field == want)
			return strtoull(tok, NULL, 10);
	ck_abort_msg("no field %d", want);
	return 0;
}

/* "PID (COMM) S PPID f5 ... f21 START f23 ... f52" */
static void make_line(char *out, size_t len, const char *comm, unsigned ppid,
		      unsigned long long start)
{
	size_t o = (size_t)snprintf(out, len, "4321 (%s) S %u", comm, ppid);

	for (int f = 5; f <= 52; f++) {
		if (f == 22)
			o += (size_t)snprintf(out + o, len - o, " %llu", start);
		else
			o += (size_t)snprintf(out + o, len - o, " %d", f * 11);
	}
	snprintf(out + o, len - o, "\n");
}

/* ---------------------------------------------------------------------- */

START_TEST(real_self_stat)
{
	char line[4096], comm[64], name[17] = "";
	uint32_t ppid = 0xdeadbeef;
	uint64_t start = 0;

	read_self_stat(line, sizeof(line));
	ck_assert_int_eq(jb_parse_proc_stat(line, &ppid, &start, comm, sizeof(comm)), 0);
	ck_assert_uint_eq(ppid, (uint32_t)getppid());
	ck_assert_uint_eq(ppid, field_of(line, 4));
	ck_assert_uint_eq(start, field_of(line, 22));
	ck_assert_uint_gt(start, 0);
	ck_assert_int_eq(prctl(PR_GET_NAME, name), 0);
	ck_assert_str_eq(comm, name);
}
END_TEST

START_TEST(real_self_stat_renamed)
{
	/* our own comm made awkward: spaces and parentheses, as any process
	 * may name itself */
	char line[4096], comm[64];
	uint32_t ppid = 0;
	uint64_t start = 0;

	ck_assert_int_eq(prctl(PR_SET_NAME, "x) (y) 1 2 3 )"), 0);
	read_self_stat(line, sizeof(line));
	ck_assert_int_eq(jb_parse_proc_stat(line, &ppid, &start, comm, sizeof(comm)), 0);
	ck_assert_str_eq(comm, "x) (y) 1 2 3 )");
	ck_assert_uint_eq(ppid, (uint32_t)getppid());
	ck_assert_uint_eq(start, field_of(line, 22));
}
END_TEST

START_TEST(comm_awkward)
{
	static const char *const comms[] = {
		"a b) c)", "a b", ")", "((", "x (y)", "", "S 1 2", ") S 999 ", "  ",
	};
	char line[2048], comm[32];

	for (size_t i = 0; i < sizeof(comms) / sizeof(comms[0]); i++) {
		uint32_t ppid = 0;
		uint64_t start = 0;
		make_line(line, sizeof(line), comms[i], 77, 987654321ULL + i);
		ck_assert_msg(jb_parse_proc_stat(line, &ppid, &start, comm, sizeof(comm)) == 0,
			      "refused comm '%s'", comms[i]);
		ck_assert_str_eq(comm, comms[i]);
		ck_assert_uint_eq(ppid, 77);
		ck_assert_uint_eq(start, 987654321ULL + i);
	}
	/* the example from the brief, by hand */
	{
		uint32_t ppid = 0;
		uint64_t start = 0;
		make_line(line, sizeof(line), "a b) c)", 1, 5);
		ck_assert(strncmp(line, "4321 (a b) c)) S 1 ", 19) == 0);
		ck_assert_int_eq(jb_parse_proc_stat(line, &ppid, &start, comm, sizeof(comm)), 0);
		ck_assert_str_eq(comm, "a b) c)");
		ck_assert_uint_eq(ppid, 1);
		ck_assert_uint_eq(start, 5);
	}
	/* large values, and no trailing newline */
	{
		uint32_t ppid = 0;
		uint64_t start = 0;
		make_line(line, sizeof(line), "k", 4194304, 18446744073709551615ULL);
		line[strcspn(line, "\n")] = '\0';
		ck_assert_int_eq(jb_parse_proc_stat(line, &ppid, &start, NULL, 0), 0);
		ck_assert_uint_eq(ppid, 4194304);
		ck_assert_uint_eq(start, 18446744073709551615ULL);
	}
}
END_TEST

START_TEST(truncated)
{
	char line[4096], cut[4096];
	const char *r;
	size_t len, f22 = 0;
	int field = 2; /* the space after ')' starts field 3 */

	/* every prefix that ends before field 22 begins is refused */
	read_self_stat(line, sizeof(line));
	len = strlen(line);
	r = strrchr(line, ')');
	ck_assert_ptr_nonnull(r);
	for (const char *p = r + 1; *p; p++) {
		if (*p == ' ' && p[1] != ' ' && ++field == 22) {
			f22 = (size_t)(p + 1 - line);
			break;
		}
	}
	ck_assert_uint_gt(f22, 0);
	ck_assert_uint_lt(f22, len);
	ck_assert_uint_eq(strtoull(line + f22, NULL, 10), field_of(line, 22));
	for (size_t n = 0; n <= f22; n++) {
		uint32_t ppid;
		uint64_t start;
		char comm[32];
		memcpy(cut, line, n);
		cut[n] = '\0';
		ck_assert_msg(jb_parse_proc_stat(cut, &ppid, &start, comm, sizeof(comm)) == -1,
			      "accepted a line cut at %zu of %zu: '%s'", n, len, cut);
	}
	/* the same with a synthetic line whose comm is awkward */
	make_line(line, sizeof(line), "a b) c)", 1, 5);
	r = strstr(line, " 5 ");
	ck_assert_ptr_nonnull(r);
	for (size_t n = 0; n <= (size_t)(r - line) + 1; n++) {
		uint32_t ppid;
		uint64_t start;
		memcpy(cut, line, n);
		cut[n] = '\0';
		ck_assert_msg(jb_parse_proc_stat(cut, &ppid, &start, NULL, 0) == -1,
			      "accepted '%s'", cut);
	}
}
END_TEST

START_TEST(garbage)
{
	static const char *const bad[] = {
		"",
		"hello",
		"no parentheses 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23",
		"1 ) ( S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23",
		"1 (x S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23",
		"1 x) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23",
		/* ppid not a number */
		"1 (x) S abc 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23",
		/* start not a number */
		"1 (x) S 1 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 xyz 23",
		/* start out of range */
		"1 (x) S 1 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 99999999999999999999999 23",
		"()",
		"(",
		")",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint32_t ppid;
		uint64_t start;
		char comm[16];
		ck_assert_msg(jb_parse_proc_stat(bad[i], &ppid, &start, comm, sizeof(comm)) == -1,
			      "accepted '%s'", bad[i]);
	}
	/* random bytes never crash it, and what it accepts has a ')' */
	for (int k = 0; k < 20000; k++) {
		char b[128];
		uint32_t ppid;
		uint64_t start;
		char comm[16] = "";
		size_t n = (size_t)(rand() % (int)sizeof(b));
		for (size_t i = 0; i < n; i++) {
			static const char alpha[] = "() 0123456789aS\n\t-+";
			b[i] = alpha[rand() % (int)(sizeof(alpha) - 1)];
		}
		b[n] = '\0';
		if (jb_parse_proc_stat(b, &ppid, &start, comm, sizeof(comm)) == 0)
			ck_assert_ptr_nonnull(strchr(b, ')'));
		ck_assert_uint_lt(strlen(comm), sizeof(comm));
	}
}
END_TEST

START_TEST(comm_truncation)
{
	char line[2048], comm[16];
	uint32_t ppid;
	uint64_t start;

	make_line(line, sizeof(line), "abcdefgh", 2, 3);

	memset(comm, 'Z', sizeof(comm));
	ck_assert_int_eq(jb_parse_proc_stat(line, &ppid, &start, comm, 4), 0);
	ck_assert_str_eq(comm, "abc");
	ck_assert_int_eq(comm[4], 'Z'); /* nothing written past commlen */
	ck_assert_uint_eq(start, 3);

	memset(comm, 'Z', sizeof(comm));
	ck_assert_int_eq(jb_parse_proc_stat(line, &ppid, &start, comm, 1), 0);
	ck_assert_str_eq(comm, "");
	ck_assert_int_eq(comm[1], 'Z');

	memset(comm, 'Z', sizeof(comm));
	ck_assert_int_eq(jb_parse_proc_stat(line, &ppid, &start, comm, 9), 0);
	ck_assert_str_eq(comm, "abcdefgh"); /* exactly fits */
	ck_assert_int_eq(comm[9], 'Z');

	memset(comm, 'Z', sizeof(comm));
	ck_assert_int_eq(jb_parse_proc_stat(line, &ppid, &start, comm, 8), 0);
	ck_assert_str_eq(comm, "abcdefg");

	/* commlen 0: comm untouched */
	memset(comm, 'Z', sizeof(comm));
	ck_assert_int_eq(jb_parse_proc_stat(line, &ppid, &start, comm, 0), 0);
	ck_assert_int_eq(comm[0], 'Z');
	/* comm NULL */
	ck_assert_int_eq(jb_parse_proc_stat(line, &ppid, &start, NULL, 16), 0);
	ck_assert_uint_eq(ppid, 2);
}
END_TEST

/* --- wanted environment entries ------------------------------------------ */

static int cmp_names(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct jb_env_name));
}

/* A name set as the supervisor derives it (sorted, distinct). */
static struct sup_envnames names_of(const char *const *v)
{
	struct sup_envnames n = {0};
	size_t k = 0;

	while (v[k])
		k++;
	n.v = calloc(k ? k : 1, sizeof(*n.v));
	ck_assert_ptr_nonnull(n.v);
	for (size_t i = 0; i < k; i++)
		memcpy(n.v[i].name, v[i], strlen(v[i]));
	qsort(n.v, k, sizeof(*n.v), cmp_names);
	n.n = k;
	return n;
}

static const char *const ld_names[] = {"LD_A", "LD_BIG", "LD_FOO", "LD_LIBRARY_PATH",
				       "LD_PRELOAD", "LD_X", "LD_Y", "LD_Z", "X", NULL};

START_TEST(env_ld_pick)
{
	/* only wanted names: xLD_A, OLD_X, LD_OTHER, "LD_" (no "=") and
	 * "LD_PRELOAD_X" are not LD_PRELOAD; "X=1" is the one-letter name */
	static const char env[] = "HOME=/root\0LD_PRELOAD=/tmp/x.so\0PATH=/bin\0xLD_A=1\0"
				  "LD_OTHER=2\0LD_LIBRARY_PATH=/a:/b\0LD_\0LD_PRELOAD_X=3\0\0X=1\0"
				  "OLD_X=1";
	static const char want[] = "LD_PRELOAD=/tmp/x.so\0LD_LIBRARY_PATH=/a:/b\0X=1";
	struct sup_envnames names = names_of(ld_names);
	char out[JB_ENV_LEN];
	uint32_t n = 99;

	/* no final NUL on the last entry: environ may end without one */
	ck_assert_int_eq(jb_env_keep(env, sizeof(env) - 1, &names, out, &n), 0);
	ck_assert_uint_eq(n, sizeof(want));
	ck_assert(memcmp(out, want, sizeof(want)) == 0);
	for (size_t i = n; i < sizeof(out); i++)
		ck_assert_int_eq(out[i], 0);
	ck_assert_int_eq(jb_env_keep("A=1\0B=2", 7, &names, out, &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(jb_env_keep("", 0, &names, out, &n), 0);
	ck_assert_uint_eq(n, 0);
	/* no names: nothing kept, nothing cut */
	{
		struct sup_envnames none = {0};
		ck_assert_int_eq(jb_env_keep(env, sizeof(env) - 1, &none, out, &n), 0);
		ck_assert_uint_eq(n, 0);
	}
	free(names.v);
}
END_TEST

START_TEST(env_ld_cut)
{
	char env[1024], out[JB_ENV_LEN], *big;
	struct sup_envnames names = names_of(ld_names);
	size_t o = 0;
	uint32_t n;

	/* exactly full: 255 characters + NUL, not cut */
	memset(env, 'v', sizeof(env));
	memcpy(env, "LD_X=", 5);
	env[JB_ENV_LEN - 1] = '\0';
	ck_assert_int_eq(jb_env_keep(env, JB_ENV_LEN, &names, out, &n), 0);
	ck_assert_uint_eq(n, JB_ENV_LEN);
	ck_assert_uint_eq(strlen(out), JB_ENV_LEN - 1);
	/* ... then one more wanted entry: no room, cut */
	memcpy(env + JB_ENV_LEN, "LD_Y=1", 7);
	ck_assert_int_eq(jb_env_keep(env, JB_ENV_LEN + 7, &names, out, &n), 1);
	ck_assert_uint_eq(n, JB_ENV_LEN);
	/* ... but an unwanted one takes no room */
	memcpy(env + JB_ENV_LEN, "LD_Q=1", 7);
	ck_assert_int_eq(jb_env_keep(env, JB_ENV_LEN + 7, &names, out, &n), 0);
	/* a second entry that overflows: kept cut, NUL terminated */
	o = (size_t)snprintf(env, sizeof(env), "LD_A=1") + 1;
	memset(env + o, 'w', 600);
	memcpy(env + o, "LD_BIG=", 7);
	env[o + 600] = '\0';
	ck_assert_int_eq(jb_env_keep(env, o + 601, &names, out, &n), 1);
	ck_assert_uint_eq(n, JB_ENV_LEN);
	ck_assert_str_eq(out, "LD_A=1");
	ck_assert_int_eq(out[JB_ENV_LEN - 1], 0);
	ck_assert(strncmp(out + 7, "LD_BIG=www", 10) == 0);
	ck_assert_uint_eq(strlen(out + 7), JB_ENV_LEN - 1 - 7);
	/* padding with other variables does not push a wanted one out... */
	big = malloc(JB_ENV_SCAN + 4096);
	ck_assert_ptr_nonnull(big);
	memset(big, 'x', JB_ENV_SCAN + 4096);
	for (o = 0; o + 200 < JB_ENV_SCAN - 100; o += 200) {
		memcpy(big + o, "LD_PAD=", 7);
		big[o + 199] = '\0';
	}
	memcpy(big + o, "LD_Z=1", 7);
	ck_assert_int_eq(jb_env_keep(big, o + 7, &names, out, &n), 0);
	ck_assert_uint_eq(n, 7);
	ck_assert_str_eq(out, "LD_Z=1");
	/* ... but an entry past the scanned JB_ENV_SCAN bytes is not seen,
	 * and that is "cut" */
	memset(big, 'x', JB_ENV_SCAN + 4096);
	memcpy(big, "Q=", 2);
	big[JB_ENV_SCAN + 10] = '\0';
	memcpy(big + JB_ENV_SCAN + 11, "LD_Z=1", 7);
	ck_assert_int_eq(jb_env_keep(big, JB_ENV_SCAN + 18, &names, out, &n), 1);
	ck_assert_uint_eq(n, 0);
	free(big);
	free(names.v);
}
END_TEST

START_TEST(env_ld_self)
{
	/* the real file of a process started with a known environment */
	char *const envp[] = {"A=1", "LD_FOO=bar baz", "B=2", "LD_PRELOAD=", NULL};
	char *const argv[] = {"sleep", "5", NULL};
	char path[64], buf[4096], out[JB_ENV_LEN];
	static const char want[] = "LD_FOO=bar baz\0LD_PRELOAD=";
	struct sup_envnames names = names_of(ld_names);
	pid_t pid = fork();
	ssize_t len = -1;
	uint32_t n;
	int fd;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		execve("/bin/sleep", argv, envp);
		_exit(127);
	}
	snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
	/* poll until the exec happened: the environ then holds envp */
	for (int i = 0; i < 500; i++) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		len = fd >= 0 ? read(fd, buf, sizeof(buf)) : -1;
		if (fd >= 0)
			close(fd);
		if (len > 0 && memmem(buf, (size_t)len, "LD_FOO", 6))
			break;
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	ck_assert_int_gt(len, 0);
	ck_assert_int_eq(jb_env_keep(buf, (size_t)len, &names, out, &n), 0);
	ck_assert_uint_eq(n, sizeof(want));
	ck_assert(memcmp(out, want, sizeof(want)) == 0);
	free(names.v);
}
END_TEST

/* ---------------------------------------------------------------------- */

static Suite *backfill_suite(void)
{
	Suite *s = suite_create("backfill");
	TCase *tc;

	tc = tcase_create("real_stat");
	tcase_add_test(tc, real_self_stat);
	tcase_add_test(tc, real_self_stat_renamed);
	suite_add_tcase(s, tc);
	tc = tcase_create("comm_awkward");
	tcase_add_test(tc, comm_awkward);
	suite_add_tcase(s, tc);
	tc = tcase_create("truncated");
	tcase_add_test(tc, truncated);
	suite_add_tcase(s, tc);
	tc = tcase_create("garbage");
	tcase_add_test(tc, garbage);
	suite_add_tcase(s, tc);
	tc = tcase_create("comm_truncation");
	tcase_add_test(tc, comm_truncation);
	suite_add_tcase(s, tc);
	tc = tcase_create("env_ld");
	tcase_add_test(tc, env_ld_pick);
	tcase_add_test(tc, env_ld_cut);
	tcase_add_test(tc, env_ld_self);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(backfill_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
