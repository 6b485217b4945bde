/*
 * check_dns_forge.c - forged DNS answers must neither frame nor wash an
 * address (bpf/dns.bpf.h, ipc/snapshot.c jb_snap_flow_names), end to end
 * with the real agent on the real kernel.
 *
 * The attack (reproduced against the agent before the fix: the host's
 * connect to 127.0.0.2 was reported as dyndns_domain_access with the forged
 * name): user nobody, in a user and network namespace of its own (`unshare
 * -Urn`), binds port 53 of that namespace's loopback and sends an A answer
 * "harmless.duckdns.org is 127.0.0.2" to a socket of its own (the helper
 * tests/helpers/dnsforge). Then a root process on the host connects to
 * 127.0.0.2:4444 (a listener of the test's own, loopback only).
 *
 * Invariants checked:
 *  - the unsolicited answer and an answer with a wrong id are delivered
 *    (the helper proves it) yet rejected and counted (JB_STAT_DNS_REJECT);
 *  - even an answer to the attacker's own query, in its own namespace, is
 *    kept under that namespace's key only: the agent's jb_dns has no record
 *    of 127.0.0.2 for the host's namespace;
 *  - the host's connect is judged (suspicious_port_access, port 4444) with
 *    no remote names, and no dyndns_domain_access names harmless.duckdns.org;
 *  - the genuine path still works: a query to a test resolver
 *    (tests/helpers/dnsanswer on 127.0.53.201:53) answered with
 *    real.duckdns.org = 127.0.0.3, then a connect to 127.0.0.3, fires
 *    dyndns_domain_access with that name for the connecting process.
 * Not root, or no user namespaces for nobody: "SKIP:" with the reason.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "agent_harness.h"
#include "bpf/jibril.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

#define FORGED "harmless.duckdns.org"
#define GENUINE "real.duckdns.org"
#define RESOLVER "127.0.53.201"

static char tmpdir[64]; /* helpers copied where nobody may run them */

static uint64_t netns_cookie(void)
{
	uint64_t c = 0;
	socklen_t cl = sizeof(c);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_msg(getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &c, &cl) == 0,
		      "SO_NETNS_COOKIE: %s", strerror(errno));
	close(fd);
	return c;
}

/* Run argv with stdout into buf (NUL terminated); the wait status. */
static int run_out(char *const argv[], char *buf, size_t len, unsigned timeout_ms)
{
	struct jbh_io io = {.in = -1, .err = -1};
	int pfd[2], st;
	size_t at = 0;
	uint64_t deadline = jbh_now_ms() + timeout_ms;
	pid_t pid;

	ck_assert_int_eq(pipe(pfd), 0);
	io.out = pfd[1];
	pid = jbh_spawn(argv[0], argv, &io);
	close(pfd[1]);
	while (at + 1 < len && jbh_now_ms() < deadline) {
		struct pollfd p = {.fd = pfd[0], .events = POLLIN};
		ssize_t r;

		if (poll(&p, 1, 100) != 1)
			continue;
		r = read(pfd[0], buf + at, len - 1 - at);
		if (r <= 0)
			break;
		at += (size_t)r;
	}
	buf[at] = 0;
	close(pfd[0]);
	st = jbh_wait_exit(pid, timeout_ms);
	return st;
}

/* nobody, in a user and network namespace of its own: dnsforge MODE;
 * returns that namespace's cookie */
static uint64_t forge(const char *mode, const char *addr)
{
	char helper[256], out[256];
	char *argv[] = {"/usr/sbin/runuser", "-u", "nobody", "--", "/usr/bin/unshare", "-Urn",
			helper, (char *)mode, FORGED, (char *)addr, NULL};
	unsigned long long ns = 0;
	int st;

	snprintf(helper, sizeof(helper), "%s/dnsforge", tmpdir);
	st = run_out(argv, out, sizeof(out), 15000);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0 && strstr(out, "delivered"),
		      "dnsforge %s failed (status %d, output '%s')", mode, st, out);
	ck_assert_int_eq(sscanf(out, "netns %llu", &ns), 1);
	return ns;
}

static uint64_t agent_stat(const struct jbh_agent *a, uint32_t idx)
{
	int fd = jbh_agent_map(a, "jb_stats"), n = libbpf_num_possible_cpus();
	uint64_t v[n > 0 ? n : 1], sum = 0;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bpf_map_lookup_elem(fd, &idx, v), 0);
	close(fd);
	for (int i = 0; i < n; i++)
		sum += v[i];
	return sum;
}

/* the agent's jb_dns record of addr in namespace netns: 1 found (names
 * copied to out), 0 not */
static int agent_dns(const struct jbh_agent *a, uint64_t netns, const char *addr,
		     struct jb_dns *out)
{
	int fd = jbh_agent_map(a, "jb_dns"), r;
	struct jb_dns_key k;

	ck_assert_int_ge(fd, 0);
	memset(&k, 0, sizeof(k));
	k.netns = netns;
	k.family = AF_INET;
	ck_assert_int_eq(inet_pton(AF_INET, addr, k.addr), 1);
	r = bpf_map_lookup_elem(fd, &k, out) == 0;
	close(fd);
	return r;
}

/* tcpconn listen ADDR 4444 (ready on stdout), then tcpconn connect: the
 * connecting process's pid */
static pid_t connect_to(const char *addr)
{
	char helper[4096], line[16] = {0};
	char *lv[] = {helper, "listen", (char *)addr, "4444", NULL};
	char *cv[] = {helper, "connect", (char *)addr, "4444", NULL};
	struct jbh_io io = {.in = -1, .err = -1};
	struct pollfd p;
	int pfd[2], st;
	pid_t lpid, cpid = 0;

	jbh_helper(helper, sizeof(helper), "tcpconn");
	ck_assert_int_eq(pipe(pfd), 0);
	io.out = pfd[1];
	lpid = jbh_spawn(helper, lv, &io);
	close(pfd[1]);
	p.fd = pfd[0];
	p.events = POLLIN;
	ck_assert_msg(poll(&p, 1, 10000) == 1 && read(pfd[0], line, sizeof(line) - 1) > 0 &&
			      !strncmp(line, "ready", 5),
		      "the listener on %s:4444 did not start", addr);
	close(pfd[0]);
	st = jbh_run(helper, cv, 15000, &cpid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "connect to %s:4444: status %d", addr,
		      st);
	jbh_wait_exit(lpid, 15000);
	return cpid;
}

struct names_has {
	const char *kind;
	pid_t pid;	  /* 0: any */
	const char *name; /* in flow.remote_names */
};

static int event_names_has(json_t *ev, void *arg)
{
	const struct names_has *m = arg;
	const char *k = jbh_jstr(ev, "kind");

	if (!k || strcmp(k, m->kind))
		return 0;
	if (m->pid && jbh_jint(ev, "process.pid", -1) != (long long)m->pid)
		return 0;
	return jbh_jarr_has(ev, "flow.remote_names", m->name);
}

START_TEST(forged_answers_name_nothing)
{
	struct jbh_agent a;
	struct jbh_opts o = {.debug_log = 1};
	struct jbh_match port_hit = {.kind = "suspicious_port_access"};
	struct names_has forged = {"dyndns_domain_access", 0, FORGED};
	struct names_has genuine = {"dyndns_domain_access", 0, GENUINE};
	char *srv[] = {NULL, "--addr", RESOLVER, "--name", GENUINE "=127.0.0.3", "--once",
		       "--timeout", "20", NULL};
	char helper[4096], ready[16] = {0};
	uint64_t host, ns_unasked, ns_wrongid, ns_asked, rej0, deadline;
	struct jb_dns d;
	json_t *ev, *names;
	pid_t pid, rpid;
	int pfd[2], st;

	host = netns_cookie();
	jbh_start(&a, &o);
	jbh_wait_all_ready(&a, 90000); /* a loaded machine can take a minute */
	ck_assert_msg(jbh_log_wait(&a, "DNS answers parsed on the cgroup2 root", 5000),
		      "the DNS programs were not attached");
	rej0 = agent_stat(&a, JB_STAT_DNS_REJECT);

	/* the attack: unsolicited, wrong id, and a true answer to the
	 * attacker's own question in its own namespace */
	ns_unasked = forge("unasked", "127.0.0.2");
	ns_wrongid = forge("wrongid", "127.0.0.2");
	ns_asked = forge("asked", "127.0.0.2");
	ck_assert_uint_ne(ns_unasked, host);
	ck_assert_uint_ne(ns_wrongid, host);
	ck_assert_uint_ne(ns_asked, host);
	/* the programs ran before delivery: counted by now */
	ck_assert_uint_ge(agent_stat(&a, JB_STAT_DNS_REJECT), rej0 + 2);
	ck_assert_msg(!agent_dns(&a, host, "127.0.0.2", &d),
		      "a forged answer named 127.0.0.2 for the host: '%s'", d.names);
	ck_assert_msg(!agent_dns(&a, ns_unasked, "127.0.0.2", &d), "the unsolicited answer was kept");
	ck_assert_msg(!agent_dns(&a, ns_wrongid, "127.0.0.2", &d), "the wrong-id answer was kept");
	ck_assert_msg(agent_dns(&a, ns_asked, "127.0.0.2", &d),
		      "the answer to the attacker's own query was not kept for its namespace");
	ck_assert_str_eq(d.names, FORGED);

	/* a root process on the host connects to the framed address */
	pid = connect_to("127.0.0.2");
	port_hit.pid = pid;
	ev = jbh_wait_event(&a, jbh_match, &port_hit, jbh_detect_deadline(&a));
	ck_assert_msg(ev != NULL, "the host's connect to 127.0.0.2:4444 was never judged");
	names = json_object_get(json_object_get(ev, "flow"), "remote_names");
	ck_assert_msg(json_is_array(names) && json_array_size(names) == 0,
		      "the host's flow to 127.0.0.2 got names: %s",
		      json_dumps(names, JSON_COMPACT));
	json_decref(ev);

	/* the genuine path: asked and answered on the host, then connected */
	jbh_helper(helper, sizeof(helper), "dnsanswer");
	srv[0] = helper;
	{
		struct jbh_io io = {.in = -1, .err = -1};
		struct pollfd p;

		ck_assert_int_eq(pipe(pfd), 0);
		io.out = pfd[1];
		rpid = jbh_spawn(helper, srv, &io);
		close(pfd[1]);
		p.fd = pfd[0];
		p.events = POLLIN;
		ck_assert_msg(poll(&p, 1, 10000) == 1 && read(pfd[0], ready, sizeof(ready) - 1) > 0 &&
				      !strncmp(ready, "ready", 5),
			      "the test resolver did not start on " RESOLVER ":53");
		close(pfd[0]);
	}
	{
		char *qv[] = {helper, "--query", GENUINE, "--type", "A", "--server", RESOLVER, NULL};

		st = jbh_run(helper, qv, 15000, NULL);
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the genuine query failed: %d",
			      st);
	}
	jbh_wait_exit(rpid, 15000);
	ck_assert_msg(agent_dns(&a, host, "127.0.0.3", &d), "the genuine answer was not kept");
	ck_assert_str_eq(d.names, GENUINE);
	pid = connect_to("127.0.0.3");
	genuine.pid = pid;
	deadline = jbh_detect_deadline(&a);
	ev = jbh_wait_event(&a, event_names_has, &genuine, deadline);
	ck_assert_msg(ev != NULL, "no dyndns_domain_access naming " GENUINE " for pid %d", (int)pid);
	json_decref(ev);
	/* that came from a later snapshot than the forged flow's: had the
	 * forged name been joined, its event would be there */
	ck_assert_int_eq(jbh_count_events(&a, event_names_has, &forged), 0);
	jbh_stop(&a, 10000);
}
END_TEST

/* main() runs outside any test: no ck_assert there, plain calls only. */
static int run_plain(char *const argv[])
{
	int st, fd;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		fd = open("/dev/null", O_RDWR);
		if (fd >= 0) {
			dup2(fd, 0), dup2(fd, 1), dup2(fd, 2);
		}
		alarm(20);
		execv(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return st;
}

/* The helper must be runnable by nobody: a copy in a directory of ours
 * that everybody may enter. */
static int setup_helpers(void)
{
	char src[4096], dst[128];
	char *cp[] = {"/bin/cp", src, dst, NULL};

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/jbforge.XXXXXX");
	if (!mkdtemp(tmpdir) || chmod(tmpdir, 0755) < 0)
		return -1;
	jbh_helper(src, sizeof(src), "dnsforge"); /* beside $JIBRIL_BIN */
	if (access(src, X_OK) < 0) {
		fprintf(stderr, "%s: %s (make build/tests/helpers/dnsforge)\n", src, strerror(errno));
		return -1;
	}
	snprintf(dst, sizeof(dst), "%s/dnsforge", tmpdir);
	if (run_plain(cp) != 0 || chmod(dst, 0755) < 0)
		return -1;
	return 0;
}

static void cleanup_helpers(void)
{
	char dst[128];

	snprintf(dst, sizeof(dst), "%s/dnsforge", tmpdir);
	unlink(dst);
	rmdir(tmpdir);
}

/* nobody may make a user and network namespace here (else: SKIP) */
static int userns_ok(void)
{
	char *argv[] = {"/usr/sbin/runuser", "-u", "nobody", "--", "/usr/bin/unshare", "-Urn",
			"/bin/true", NULL};
	int st;

	if (access(argv[0], X_OK) || access(argv[4], X_OK))
		return 0;
	st = run_plain(argv);
	return st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

int main(void)
{
	Suite *s = suite_create("dns_forge");
	TCase *tc;
	SRunner *sr;
	int failed;

	jbh_main_init("check_dns_forge");
	if (!userns_ok()) {
		printf("SKIP: user nobody cannot run unshare -Urn here (runuser, unshare, or "
		       "unprivileged user namespaces missing)\n");
		return 77;
	}
	if (setup_helpers() < 0) {
		fprintf(stderr, "cannot make a directory for the helpers: %s\n", strerror(errno));
		return 1;
	}
	tc = tcase_create("agent");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, forged_answers_name_nothing);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	cleanup_helpers();
	jbh_kill_leftovers();
	return failed ? 1 : 0;
}
