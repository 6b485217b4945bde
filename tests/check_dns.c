/*
 * check_dns.c - DNS answers parsed in the kernel (bpf/dns.bpf.h), the
 * snapshot's domains section (ipc/snapshot.c) and the agent end to end.
 *
 * Invariants checked:
 *  - parser (BPF_PROG_TEST_RUN of crafted packets through the real
 *    cgroup_skb program): the question name and every CNAME target of an
 *    answer land, lower case and dotted, in one record per A/AAAA address;
 *    compression pointers are followed; IPv4 with options and IPv6 work;
 *    anything that is not a response from port 53 with NOERROR is left
 *    alone; truncated messages, pointer loops, forward pointers, obsolete
 *    label types and over-long names are counted (DNS_BAD / DNS_CUT) and
 *    never stored half; bytes that do not belong in a host name are '?';
 *    the program always returns 1 (allow).
 *    Every answer there is preceded by its query through the egress
 *    program (run_pkt), as a client's would be.
 *  - answers: only an answer to a pending query of the same namespace,
 *    server, port, id and question (case aside) within 30 s is kept, and
 *    it uses the query up; unsolicited, wrong-id, other-question,
 *    other-server, other-port, late and other-namespace answers are counted
 *    (DNS_REJECT) and kept nowhere; what a namespace asks and is answered
 *    is kept under its own key only.
 *  - sockets: with the programs attached to a cgroup of the test's own and
 *    real sockets in a namespace of its own: a UDP answer past the 4 KiB
 *    copy keeps what was read (flagged) and counts CUT; DNS over TCP is
 *    parsed when a segment holds a whole message, rejected with a wrong
 *    id, and not followed across segments.
 *  - snapshot: jb_snap_flow_names() finds the names of a flow's remote
 *    address in the flow's own namespace only (v4, v6, v4-mapped v6 -> the
 *    IPv4 record), de-duplicated, bounded by max, and refuses records that
 *    are not NUL terminated.
 *  - agent: with the real attach on the cgroup2 root, a query answered by
 *    tests/helpers/dnsanswer on loopback puts the chain into the agent's
 *    jb_dns map, and the collector reports it in its debug line.
 * Not root: "SKIP:" and exit 77 (the snapshot cases need no root, but the
 * suite is one binary).
 */
#include <arpa/inet.h>
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/fsuid.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "agent_harness.h"
#include "bpf/jibril.h"
#include "common/cgroup2.h"
#include "ipc/snapshot.h"
#include "jibril.skel.h"

/* --- the program under BPF_PROG_TEST_RUN ---------------------------------- */

static struct jibril_bpf *skel;
static int prog_fd, egress_fd, dns_fd, queries_fd, stats_fd;
static uint64_t my_netns; /* this process's network namespace cookie */

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

/* The cookie of the namespace fd's socket lives in (what the kernel's
 * bpf_get_netns_cookie() gives for it). */
static uint64_t netns_cookie(void)
{
	uint64_t c = 0;
	socklen_t cl = sizeof(c);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_msg(getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &c, &cl) == 0,
		      "SO_NETNS_COOKIE: %s", strerror(errno));
	close(fd);
	ck_assert_uint_ne(c, 0);
	return c;
}

static void load(void)
{
	struct bpf_program *p;

	skel = jibril_bpf__open();
	ck_assert_ptr_nonnull(skel);
	bpf_object__for_each_program(p, skel->obj)
		bpf_program__set_autoload(p, p == skel->progs.jb_dns_ingress ||
						     p == skel->progs.jb_dns_egress);
	ck_assert_msg(jibril_bpf__load(skel) == 0, "the DNS programs do not load: %s",
		      strerror(errno));
	prog_fd = bpf_program__fd(skel->progs.jb_dns_ingress);
	egress_fd = bpf_program__fd(skel->progs.jb_dns_egress);
	dns_fd = bpf_map__fd(skel->maps.jb_dns);
	queries_fd = bpf_map__fd(skel->maps.jb_dns_queries);
	stats_fd = bpf_map__fd(skel->maps.jb_stats);
	my_netns = netns_cookie();
}

static uint64_t stat_sum(uint32_t idx)
{
	int n = libbpf_num_possible_cpus();
	uint64_t v[n > 0 ? n : 1], sum = 0;

	ck_assert_int_eq(bpf_map_lookup_elem(stats_fd, &idx, v), 0);
	for (int i = 0; i < n; i++)
		sum += v[i];
	return sum;
}

/* DNS message builder */
struct msg {
	uint8_t b[8192];
	size_t n;
};

static void m_u8(struct msg *m, unsigned v)
{
	ck_assert_uint_lt(m->n, sizeof(m->b));
	m->b[m->n++] = (uint8_t)v;
}

static void m_u16(struct msg *m, unsigned v)
{
	m_u8(m, v >> 8);
	m_u8(m, v & 0xff);
}

static void m_bytes(struct msg *m, const void *p, size_t n)
{
	ck_assert_uint_le(m->n + n, sizeof(m->b));
	memcpy(m->b + m->n, p, n);
	m->n += n;
}

/* "a.b.c" as labels; with root != 0 the terminating zero too */
static size_t m_labels(struct msg *m, const char *name, int root)
{
	size_t at = m->n;

	while (*name) {
		size_t l = strcspn(name, ".");
		m_u8(m, (unsigned)l);
		m_bytes(m, name, l);
		name += l + (name[l] == '.');
	}
	if (root)
		m_u8(m, 0);
	return at;
}

static void m_ptr(struct msg *m, unsigned off)
{
	m_u16(m, 0xc000 | off);
}

static void m_hdr(struct msg *m, unsigned flags, unsigned qd, unsigned an)
{
	m->n = 0;
	m_u16(m, 0x1234);
	m_u16(m, flags);
	m_u16(m, qd);
	m_u16(m, an);
	m_u16(m, 0);
	m_u16(m, 0);
}

#define RESP 0x8180 /* QR, RD, RA, NOERROR */

/* header + question "name" type A */
static void m_query(struct msg *m, unsigned flags, unsigned an, const char *name)
{
	m_hdr(m, flags, 1, an);
	m_labels(m, name, 1);
	m_u16(m, 1);
	m_u16(m, 1);
}

/* type, class IN, ttl, rdlength; returns where rdlength is */
static size_t m_rr(struct msg *m, unsigned type, unsigned rdlen)
{
	size_t at;

	m_u16(m, type);
	m_u16(m, 1);
	m_u16(m, 0);
	m_u16(m, 300);
	at = m->n;
	m_u16(m, rdlen);
	return at;
}

static void m_fix(struct msg *m, size_t rdlen_at)
{
	unsigned len = (unsigned)(m->n - rdlen_at - 2);
	m->b[rdlen_at] = (uint8_t)(len >> 8);
	m->b[rdlen_at + 1] = (uint8_t)len;
}

/* owner (pointer), A record */
static void m_a(struct msg *m, unsigned owner, const char *addr)
{
	uint8_t a[4];
	ck_assert_int_eq(inet_pton(AF_INET, addr, a), 1);
	m_ptr(m, owner);
	m_rr(m, 1, 4);
	m_bytes(m, a, 4);
}

static void m_aaaa(struct msg *m, unsigned owner, const char *addr)
{
	uint8_t a[16];
	ck_assert_int_eq(inet_pton(AF_INET6, addr, a), 1);
	m_ptr(m, owner);
	m_rr(m, 28, 16);
	m_bytes(m, a, 16);
}

/* owner (pointer) CNAME target (labels, then optionally a pointer);
 * returns the offset of the target name */
static size_t m_cname(struct msg *m, unsigned owner, const char *labels, int ptr)
{
	size_t rd, at;

	m_ptr(m, owner);
	rd = m_rr(m, 5, 0);
	at = m_labels(m, labels, ptr < 0);
	if (ptr >= 0)
		m_ptr(m, (unsigned)ptr);
	m_fix(m, rd);
	return at;
}

/* Ethernet + IPv4 (ihl words) + UDP + message */
static size_t pkt_v4(uint8_t *p, const struct msg *m, unsigned sport, unsigned ihl, unsigned proto)
{
	size_t ip = 14, udp = ip + ihl * 4, n = udp + 8 + m->n;

	memset(p, 0, udp + 8);
	p[12] = 0x08; /* ETH_P_IP */
	p[ip] = (uint8_t)(0x40 | ihl);
	p[ip + 2] = (uint8_t)((n - ip) >> 8);
	p[ip + 3] = (uint8_t)(n - ip);
	p[ip + 8] = 64;
	p[ip + 9] = (uint8_t)proto;
	p[ip + 12] = 127, p[ip + 15] = 53;  /* 127.0.0.53 -> 127.0.0.1 */
	p[ip + 16] = 127, p[ip + 19] = 1;
	p[udp] = (uint8_t)(sport >> 8);
	p[udp + 1] = (uint8_t)sport;
	p[udp + 2] = 0xa0;
	p[udp + 4] = (uint8_t)((m->n + 8) >> 8);
	p[udp + 5] = (uint8_t)(m->n + 8);
	memcpy(p + udp + 8, m->b, m->n);
	return n;
}

static size_t pkt_v6(uint8_t *p, const struct msg *m, unsigned sport)
{
	size_t ip = 14, udp = ip + 40, n = udp + 8 + m->n;

	memset(p, 0, udp + 8);
	p[12] = 0x86, p[13] = 0xdd;
	p[ip] = 0x60;
	p[ip + 4] = (uint8_t)((m->n + 8) >> 8);
	p[ip + 5] = (uint8_t)(m->n + 8);
	p[ip + 6] = 17;
	p[ip + 7] = 64;
	p[ip + 23] = 1; /* ::1 -> ::1 */
	p[ip + 39] = 1;
	p[udp] = (uint8_t)(sport >> 8);
	p[udp + 1] = (uint8_t)sport;
	p[udp + 2] = 0xa0;
	p[udp + 4] = (uint8_t)((m->n + 8) >> 8);
	p[udp + 5] = (uint8_t)(m->n + 8);
	memcpy(p + udp + 8, m->b, m->n);
	return n;
}

static void run_prog(int fd, const uint8_t *p, size_t n)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = p, .data_size_in = (__u32)n, .repeat = 1);

	ck_assert_msg(bpf_prog_test_run_opts(fd, &o) == 0, "test run: %s", strerror(errno));
	ck_assert_uint_eq(o.retval, 1); /* never drops */
}

/* The query that answer packet p asks for, as the client sent it: the
 * addresses and ports swapped, the header's id with QR, counts and the
 * answer bytes cleared, the question section copied. 0 when p has no
 * question to copy (too short, malformed, compressed). */
static size_t query_of(const uint8_t *p, size_t n, uint8_t *q)
{
	size_t ip = 14, udp, dns, at;

	if (n < ip + 40)
		return 0;
	if (p[12] == 0x08 && p[13] == 0x00) {
		udp = ip + (p[ip] & 0xf) * 4;
	} else if (p[12] == 0x86 && p[13] == 0xdd) {
		udp = ip + 40;
	} else {
		return 0;
	}
	dns = udp + 8;
	if (n < dns + 12 + 5)
		return 0;
	for (at = dns + 12; at < n && p[at]; at += 1 + p[at])
		if (p[at] & 0xc0)
			return 0;
	if (at + 5 > n)
		return 0;
	at += 5; /* the root label, type, class */
	memcpy(q, p, at);
	if (p[12] == 0x08) {
		memcpy(q + ip + 12, p + ip + 16, 4);
		memcpy(q + ip + 16, p + ip + 12, 4);
		q[ip + 2] = (uint8_t)((at - ip) >> 8);
		q[ip + 3] = (uint8_t)(at - ip);
	} else {
		memcpy(q + ip + 8, p + ip + 24, 16);
		memcpy(q + ip + 24, p + ip + 8, 16);
		q[ip + 4] = (uint8_t)((at - udp) >> 8);
		q[ip + 5] = (uint8_t)(at - udp);
	}
	memcpy(q + udp, p + udp + 2, 2);
	memcpy(q + udp + 2, p + udp, 2);
	q[udp + 4] = (uint8_t)((at - udp) >> 8);
	q[udp + 5] = (uint8_t)(at - udp);
	q[dns + 2] = 0x01, q[dns + 3] = 0x00; /* RD */
	memset(q + dns + 6, 0, 6);	       /* no answers */
	return at;
}

/* An answer nobody asked for: ingress only. */
static void run_unasked(const uint8_t *p, size_t n)
{
	run_prog(prog_fd, p, n);
}

/* An answer to a query: the query it answers goes out first (egress),
 * as a client's would. */
static void run_pkt(const uint8_t *p, size_t n)
{
	static uint8_t q[16384];
	size_t qn = query_of(p, n, q);

	if (qn)
		run_prog(egress_fd, q, qn);
	run_prog(prog_fd, p, n);
}

static void run_v4(const struct msg *m)
{
	static uint8_t p[16384];
	run_pkt(p, pkt_v4(p, m, 53, 5, 17));
}

static int lookup(int family, const char *addr, struct jb_dns *out)
{
	struct jb_dns_key k;

	memset(&k, 0, sizeof(k));
	k.netns = my_netns;
	k.family = (uint16_t)family;
	ck_assert_int_eq(inet_pton(family, addr, k.addr), 1);
	return bpf_map_lookup_elem(dns_fd, &k, out);
}

static int map_count(void)
{
	struct jb_dns_key k, next;
	void *prev = NULL;
	int n = 0;

	while (bpf_map_get_next_key(dns_fd, prev, &next) == 0) {
		k = next;
		prev = &k;
		n++;
	}
	return n;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int queries_count(void)
{
	uint8_t k[64], next[64];
	void *prev = NULL;
	int n = 0;

	ck_assert_uint_le(bpf_map__key_size(skel->maps.jb_dns_queries), sizeof(k));
	while (bpf_map_get_next_key(queries_fd, prev, next) == 0) {
		memcpy(k, next, sizeof(k));
		prev = k;
		n++;
	}
	return n;
}

/* the record holds exactly these names, NUL separated, zeros after */
static void expect_names(const struct jb_dns *d, const char *const *names, int n)
{
	char want[JB_DNS_NAMES_LEN] = {0};
	size_t len = 0;

	for (int i = 0; i < n; i++) {
		size_t l = strlen(names[i]) + 1;
		ck_assert_uint_le(len + l, sizeof(want));
		memcpy(want + len, names[i], l);
		len += l;
	}
	ck_assert_uint_eq(d->count, n);
	ck_assert_msg(d->len == len, "len %u, want %zu (first name '%s')", d->len, len, d->names);
	for (size_t i = 0; i < sizeof(want); i++)
		ck_assert_msg(d->names[i] == want[i], "names[%zu] = 0x%02x, want 0x%02x", i,
			      (unsigned char)d->names[i], (unsigned char)want[i]);
}

START_TEST(parse_simple_a)
{
	struct msg m;
	struct jb_dns d;
	static const char *const want[] = {"evil.example.test"};

	load();
	m_query(&m, RESP, 1, "Evil.EXAMPLE.test");
	m_a(&m, 12, "127.0.0.5");
	run_v4(&m);
	ck_assert_int_eq(lookup(AF_INET, "127.0.0.5", &d), 0);
	expect_names(&d, want, 1);
	ck_assert_uint_eq(d.flags, 0);
	ck_assert_uint_eq(d.ttl, 300);
	ck_assert_uint_gt(d.first_ns, 0);
	ck_assert_uint_eq(d.first_ns, d.last_ns);
	ck_assert_uint_eq(stat_sum(JB_STAT_DNS_NEW), 1);
	ck_assert_uint_eq(stat_sum(JB_STAT_DNS_BAD), 0);
	ck_assert_int_eq(map_count(), 1);
}
END_TEST

START_TEST(parse_cname_chain)
{
	struct msg m;
	struct jb_dns d;
	size_t mid, tgt;
	static const char *const want[] = {"evil.example.test", "mid.example.test",
					   "target.cdn.test"};

	load();
	m_query(&m, RESP, 4, "evil.example.test");
	/* mid -> pointer to "example.test" inside the question */
	mid = m_cname(&m, 12, "mid", 12 + 5);
	tgt = m_cname(&m, (unsigned)mid, "target.cdn.test", -1);
	m_a(&m, (unsigned)tgt, "10.1.2.3");
	m_a(&m, (unsigned)tgt, "10.1.2.4");
	run_v4(&m);
	ck_assert_int_eq(lookup(AF_INET, "10.1.2.3", &d), 0);
	expect_names(&d, want, 3);
	ck_assert_int_eq(lookup(AF_INET, "10.1.2.4", &d), 0);
	expect_names(&d, want, 3);
	ck_assert_int_eq(map_count(), 2);
	ck_assert_uint_eq(stat_sum(JB_STAT_DNS_NEW), 2);
}
END_TEST

START_TEST(parse_aaaa_ipv6)
{
	struct msg m;
	struct jb_dns d;
	static uint8_t p[8192];
	static const char *const want[] = {"six.example.test", "v6.cdn.test"};
	size_t t;

	load();
	m_query(&m, RESP, 2, "six.example.test");
	t = m_cname(&m, 12, "v6.cdn.test", -1);
	m_aaaa(&m, (unsigned)t, "2001:db8::5");
	run_pkt(p, pkt_v6(p, &m, 53));
	ck_assert_int_eq(lookup(AF_INET6, "2001:db8::5", &d), 0);
	expect_names(&d, want, 2);
	/* and an AAAA answer inside an IPv4 packet */
	m_query(&m, RESP, 1, "other.test");
	m_aaaa(&m, 12, "2001:db8::6");
	run_v4(&m);
	ck_assert_int_eq(lookup(AF_INET6, "2001:db8::6", &d), 0);
	ck_assert_str_eq(d.names, "other.test");
}
END_TEST

START_TEST(parse_ip_options)
{
	struct msg m;
	struct jb_dns d;
	static uint8_t p[8192];

	load();
	m_query(&m, RESP, 1, "opt.test");
	m_a(&m, 12, "10.9.9.9");
	run_pkt(p, pkt_v4(p, &m, 53, 7, 17)); /* 8 bytes of options */
	ck_assert_int_eq(lookup(AF_INET, "10.9.9.9", &d), 0);
	ck_assert_str_eq(d.names, "opt.test");
}
END_TEST

START_TEST(parse_ignores)
{
	struct msg m;
	static uint8_t p[8192];

	load();
	/* not from port 53 */
	m_query(&m, RESP, 1, "a.test");
	m_a(&m, 12, "10.0.0.1");
	run_pkt(p, pkt_v4(p, &m, 5353, 5, 17));
	/* TCP, from port 53 */
	run_pkt(p, pkt_v4(p, &m, 53, 5, 6));
	/* a query (QR clear), an NXDOMAIN, a non-zero opcode, two questions */
	m_query(&m, 0x0100, 1, "a.test");
	m_a(&m, 12, "10.0.0.1");
	run_v4(&m);
	m_query(&m, RESP | 3, 1, "a.test");
	m_a(&m, 12, "10.0.0.1");
	run_v4(&m);
	m_query(&m, RESP | 0x0800, 1, "a.test");
	m_a(&m, 12, "10.0.0.1");
	run_v4(&m);
	m_hdr(&m, RESP, 2, 1);
	m_labels(&m, "a.test", 1);
	m_u16(&m, 1), m_u16(&m, 1);
	m_labels(&m, "b.test", 1);
	m_u16(&m, 1), m_u16(&m, 1);
	m_a(&m, 12, "10.0.0.1");
	run_v4(&m);
	/* no answer at all; a header only; less than a header; no payload */
	m_query(&m, RESP, 0, "a.test");
	run_v4(&m);
	m_hdr(&m, RESP, 0, 0);
	run_v4(&m);
	m.n = 5;
	run_v4(&m);
	m.n = 0;
	run_v4(&m);
	/* not IP at all */
	m_query(&m, RESP, 1, "a.test");
	m_a(&m, 12, "10.0.0.1");
	{
		size_t n = pkt_v4(p, &m, 53, 5, 17);
		p[12] = 0x08, p[13] = 0x06; /* ARP */
		run_pkt(p, n);
	}
	ck_assert_int_eq(map_count(), 0);
	ck_assert_uint_eq(stat_sum(JB_STAT_DNS_NEW), 0);
}
END_TEST

START_TEST(parse_truncated)
{
	struct msg m;
	struct jb_dns d;
	size_t full;

	load();
	m_query(&m, RESP, 2, "trunc.test");
	m_a(&m, 12, "10.0.0.7");
	m_a(&m, 12, "10.0.0.8");
	full = m.n;
	/* every cut inside the second record keeps the first, flagged */
	for (size_t cut = full - 15; cut < full; cut++) {
		uint64_t bad = stat_sum(JB_STAT_DNS_BAD);
		m.n = cut;
		run_v4(&m);
		ck_assert_int_eq(lookup(AF_INET, "10.0.0.7", &d), 0);
		ck_assert_msg(d.flags & JB_DNS_TRUNC, "cut at %zu: not flagged", cut);
		ck_assert_int_ne(lookup(AF_INET, "10.0.0.8", &d), 0);
		ck_assert_uint_eq(stat_sum(JB_STAT_DNS_BAD), bad + 1);
	}
	/* cuts inside the question or the only record store nothing */
	m_query(&m, RESP, 1, "other.test");
	m_a(&m, 12, "10.0.0.9");
	full = m.n;
	for (size_t cut = 12; cut < full; cut++) {
		struct msg t = m;
		t.n = cut;
		run_v4(&t);
		ck_assert_msg(lookup(AF_INET, "10.0.0.9", &d) != 0, "cut at %zu stored", cut);
	}
	ck_assert_int_eq(map_count(), 1);
	m.n = full;
	run_v4(&m);
	ck_assert_int_eq(lookup(AF_INET, "10.0.0.9", &d), 0);
}
END_TEST

START_TEST(parse_pointer_loops)
{
	struct msg m;
	uint64_t bad;
	size_t self, a;

	load();
	bad = stat_sum(JB_STAT_DNS_BAD);
	/* a CNAME target that points at itself */
	m_query(&m, RESP, 2, "loop.test");
	m_ptr(&m, 12);
	m_rr(&m, 5, 2);
	self = m.n;
	m_ptr(&m, (unsigned)self);
	m_a(&m, 12, "10.0.1.1");
	run_v4(&m);
	ck_assert_uint_eq(stat_sum(JB_STAT_DNS_BAD), bad + 1);
	/* two names pointing at each other: a -> b -> a */
	m_query(&m, RESP, 3, "loop.test");
	m_ptr(&m, 12);
	m_rr(&m, 5, 4);
	a = m.n;
	m_labels(&m, "x", 0);
	m_ptr(&m, (unsigned)a + 6); /* forward, into the next record's name */
	m_ptr(&m, 12);
	m_rr(&m, 5, 4);
	m_labels(&m, "y", 0);
	m_ptr(&m, (unsigned)a);
	m_a(&m, 12, "10.0.1.2");
	run_v4(&m);
	ck_assert_uint_eq(stat_sum(JB_STAT_DNS_BAD), bad + 2);
	/* a forward pointer */
	m_query(&m, RESP, 2, "fwd.test");
	m_ptr(&m, 12);
	m_rr(&m, 5, 2);
	m_ptr(&m, (unsigned)m.n + 2);
	m_a(&m, 12, "10.0.1.3");
	run_v4(&m);
	ck_assert_uint_eq(stat_sum(JB_STAT_DNS_BAD), bad + 3);
	/* a pointer into the header, and a compressed question */
	m_query(&m, RESP, 2, "hdr.test");
	m_ptr(&m, 12);
	m_rr(&m, 5, 2);
	m_ptr(&m, 4);
	m_a(&m, 12, "10.0.1.4");
	run_v4(&m);
	ck_assert_uint_eq(stat_sum(JB_STAT_DNS_BAD), bad + 4);
	m_hdr(&m, RESP, 1, 1);
	m_ptr(&m, 12);
	m_u16(&m, 1), m_u16(&m, 1);
	m_a(&m, 12, "10.0.1.5");
	run_v4(&m);
	ck_assert_uint_eq(stat_sum(JB_STAT_DNS_BAD), bad + 5);
	/* obsolete label types 0x40 and 0x80 */
	m_query(&m, RESP, 2, "old.test");
	m_ptr(&m, 12);
	m_rr(&m, 5, 2);
	m_u8(&m, 0x41), m_u8(&m, 'a');
	m_a(&m, 12, "10.0.1.6");
	run_v4(&m);
	ck_assert_uint_eq(stat_sum(JB_STAT_DNS_BAD), bad + 6);
	m_hdr(&m, RESP, 1, 1);
	m_u8(&m, 0x81), m_u8(&m, 'a'), m_u8(&m, 0);
	m_u16(&m, 1), m_u16(&m, 1);
	m_a(&m, 12, "10.0.1.7");
	run_v4(&m);
	ck_assert_uint_eq(stat_sum(JB_STAT_DNS_BAD), bad + 7);
	ck_assert_int_eq(map_count(), 0);
}
END_TEST

START_TEST(parse_many_answers)
{
	struct msg m;
	struct jb_dns d;
	char a[32];

	load();
	m_query(&m, RESP, 10, "ten.test");
	for (int i = 0; i < 10; i++) {
		snprintf(a, sizeof(a), "10.2.0.%d", i);
		m_a(&m, 12, a);
	}
	run_v4(&m);
	ck_assert_int_eq(map_count(), 10);
	for (int i = 0; i < 10; i++) {
		snprintf(a, sizeof(a), "10.2.0.%d", i);
		ck_assert_int_eq(lookup(AF_INET, a, &d), 0);
		ck_assert_str_eq(d.names, "ten.test");
	}
	ck_assert_uint_eq(stat_sum(JB_STAT_DNS_CUT), 0);
	/* 70: the first 64 are kept, the rest counted as cut */
	m_query(&m, RESP, 70, "seventy.test");
	for (int i = 0; i < 70; i++) {
		snprintf(a, sizeof(a), "10.3.0.%d", i);
		m_a(&m, 12, a);
	}
	run_v4(&m);
	ck_assert_int_eq(map_count(), 74);
	ck_assert_int_eq(lookup(AF_INET, "10.3.0.63", &d), 0);
	ck_assert_str_eq(d.names, "seventy.test");
	ck_assert_int_ne(lookup(AF_INET, "10.3.0.64", &d), 0);
	ck_assert_uint_eq(stat_sum(JB_STAT_DNS_CUT), 1);
	/* other record types in between are skipped */
	m_query(&m, RESP, 3, "mixed.test");
	m_ptr(&m, 12);
	m_rr(&m, 16, 4); /* TXT */
	m_bytes(&m, "\x03" "abc", 4);
	m_a(&m, 12, "10.4.0.1");
	m_ptr(&m, 12);
	m_rr(&m, 1, 3); /* an A record of the wrong size */
	m_bytes(&m, "abc", 3);
	run_v4(&m);
	ck_assert_int_eq(lookup(AF_INET, "10.4.0.1", &d), 0);
	ck_assert_int_eq(map_count(), 75);
}
END_TEST

START_TEST(parse_long_names)
{
	struct msg m;
	struct jb_dns d;
	char q[300], l63[64];
	size_t t;

	load();
	/* a 249-byte question name (4 x 61 + dots) fills names: the CNAME
	 * target after it does not fit and is left out whole */
	memset(l63, 'a', 61);
	l63[61] = '\0';
	snprintf(q, sizeof(q), "%s.%s.%s.%s.abcd", l63, l63, l63, l63);
	ck_assert_uint_eq(strlen(q), 252);
	m_query(&m, RESP, 2, q);
	t = m_cname(&m, 12, "target.test", -1);
	m_a(&m, (unsigned)t, "10.5.0.1");
	run_v4(&m);
	ck_assert_int_eq(lookup(AF_INET, "10.5.0.1", &d), 0);
	ck_assert_str_eq(d.names, q);
	ck_assert_uint_eq(d.len, 253);
	ck_assert_uint_eq(d.count, 1);
	ck_assert(d.flags & JB_DNS_CUT);
	for (size_t i = d.len; i < sizeof(d.names); i++)
		ck_assert_int_eq(d.names[i], 0);
	/* a name longer than 255 wire bytes is malformed */
	{
		uint64_t bad = stat_sum(JB_STAT_DNS_BAD);
		m_hdr(&m, RESP, 1, 1);
		for (int i = 0; i < 5; i++)
			m_labels(&m, l63, 0);
		m_u8(&m, 0);
		m_u16(&m, 1), m_u16(&m, 1);
		m_a(&m, 12, "10.5.0.2");
		run_v4(&m);
		ck_assert_uint_eq(stat_sum(JB_STAT_DNS_BAD), bad + 1);
		ck_assert_int_ne(lookup(AF_INET, "10.5.0.2", &d), 0);
	}
	/* after 23 bytes of names (q.test, c1.test, c2.test), a 232-char
	 * target fits exactly (NUL at names[255]); a 233-char one does not and
	 * a short one after it still does */
	for (int extra = 0; extra < 2; extra++) {
		char big[240], lab[61];
		size_t c1, c2, c3;

		memset(lab, 'b', 60);
		lab[60] = '\0';
		snprintf(big, sizeof(big), "%s.%s.%s.%.*s", lab, lab, lab, 49 + extra,
			 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
		ck_assert_uint_eq(strlen(big), 232 + (size_t)extra);
		m_query(&m, RESP, 5, "q.test");
		c1 = m_cname(&m, 12, "c1.test", -1);
		c2 = m_cname(&m, (unsigned)c1, "c2.test", -1);
		c3 = m_cname(&m, (unsigned)c2, big, -1);
		t = m_cname(&m, (unsigned)c3, "z", -1);
		m_a(&m, (unsigned)t, extra ? "10.5.0.4" : "10.5.0.3");
		run_v4(&m);
		ck_assert_int_eq(lookup(AF_INET, extra ? "10.5.0.4" : "10.5.0.3", &d), 0);
		if (!extra) {
			const char *const want[] = {"q.test", "c1.test", "c2.test", big};
			expect_names(&d, want, 4); /* "z" no longer fits */
			ck_assert_uint_eq(d.len, 256);
			ck_assert(d.flags & JB_DNS_CUT);
		} else {
			const char *const want[] = {"q.test", "c1.test", "c2.test", "z"};
			expect_names(&d, want, 4);
			ck_assert(d.flags & JB_DNS_CUT);
		}
	}
}
END_TEST

START_TEST(parse_odd_bytes)
{
	struct msg m;
	struct jb_dns d;

	load();
	m_hdr(&m, RESP, 1, 1);
	m_u8(&m, 9);
	m_bytes(&m, "ba\0d.n\x01Z\xff", 9);
	m_labels(&m, "Test", 1);
	m_u16(&m, 1), m_u16(&m, 1);
	m_a(&m, 12, "10.6.0.1");
	run_v4(&m);
	ck_assert_int_eq(lookup(AF_INET, "10.6.0.1", &d), 0);
	ck_assert_str_eq(d.names, "ba?d?n?z?.test");
	ck_assert_uint_eq(d.len, 15);
	/* a question for the root has no name to give: nothing stored, and
	 * not malformed; a CNAME to the root adds no empty name */
	m_hdr(&m, RESP, 1, 1);
	m_u8(&m, 0);
	m_u16(&m, 1), m_u16(&m, 1);
	m_a(&m, 12, "10.6.0.2");
	run_v4(&m);
	ck_assert_int_ne(lookup(AF_INET, "10.6.0.2", &d), 0);
	ck_assert_uint_eq(stat_sum(JB_STAT_DNS_BAD), 0);
	m_query(&m, RESP, 2, "root.test");
	m_ptr(&m, 12);
	m_rr(&m, 5, 1);
	m_u8(&m, 0);
	m_a(&m, 12, "10.6.0.3");
	run_v4(&m);
	ck_assert_int_eq(lookup(AF_INET, "10.6.0.3", &d), 0);
	ck_assert_uint_eq(d.count, 1);
	ck_assert_uint_eq(d.len, 10);
}
END_TEST

START_TEST(parse_update_rules)
{
	struct msg m;
	struct jb_dns d1, d2, d3;
	size_t t;
	static const char *const want[] = {"second.test", "cdn.test"};

	load();
	m_query(&m, RESP, 1, "first.test");
	m_a(&m, 12, "10.7.0.1");
	run_v4(&m);
	ck_assert_int_eq(lookup(AF_INET, "10.7.0.1", &d1), 0);
	/* the same names again: last_ns moves, first_ns stays */
	run_v4(&m);
	ck_assert_int_eq(lookup(AF_INET, "10.7.0.1", &d2), 0);
	ck_assert_uint_eq(d2.first_ns, d1.first_ns);
	ck_assert_uint_gt(d2.last_ns, d1.last_ns);
	ck_assert_uint_eq(d2.names_hash, d1.names_hash);
	/* other names for the same address: the newest wins, first_ns stays */
	m_query(&m, RESP, 2, "second.test");
	t = m_cname(&m, 12, "cdn.test", -1);
	m_a(&m, (unsigned)t, "10.7.0.1");
	run_v4(&m);
	ck_assert_int_eq(lookup(AF_INET, "10.7.0.1", &d3), 0);
	expect_names(&d3, want, 2);
	ck_assert_uint_eq(d3.first_ns, d1.first_ns);
	ck_assert_uint_ne(d3.names_hash, d1.names_hash);
	ck_assert_uint_eq(stat_sum(JB_STAT_DNS_NEW), 1);
	ck_assert_int_eq(map_count(), 1);
}
END_TEST

/* (a message past what the program copies needs a packet bigger than a
 * test run takes: sockets_udp_big sends one over a real socket) */
START_TEST(parse_big_message)
{
	struct msg m;
	struct jb_dns d;
	size_t rd;
	static uint8_t pad[3400];

	load();
	/* a 3.4 KiB message, past the old 2 KiB copy, parses whole */
	m_query(&m, RESP, 2, "mid.test");
	m_ptr(&m, 12);
	rd = m_rr(&m, 16, 0);
	m_bytes(&m, pad, sizeof(pad));
	m_fix(&m, rd);
	m_a(&m, 12, "10.8.0.3");
	ck_assert_uint_gt(m.n, 2048);
	run_v4(&m);
	ck_assert_int_eq(lookup(AF_INET, "10.8.0.3", &d), 0);
	ck_assert_uint_eq(d.flags, 0);
	ck_assert_uint_eq(stat_sum(JB_STAT_DNS_CUT), 0);
	ck_assert_uint_eq(stat_sum(JB_STAT_DNS_BAD), 0);
}
END_TEST

/* random garbage after a valid header never crashes or drops */
START_TEST(parse_fuzz)
{
	struct msg m;
	unsigned seed = 12345;

	load();
	for (int i = 0; i < 2000; i++) {
		size_t n = 12 + (size_t)(rand_r(&seed) % 300);
		m_hdr(&m, RESP, 1, 1 + (unsigned)(rand_r(&seed) % 20));
		while (m.n < n) {
			unsigned r = (unsigned)rand_r(&seed);
			/* bias toward structure: pointers, small labels, zeros */
			m_u8(&m, r % 7 == 0 ? 0xc0 : r % 5 == 0 ? 0 : r % 3 == 0 ? (r >> 8) % 64
											: r >> 8);
		}
		run_v4(&m);
		/* the same bytes as a query, sent: the egress program walks
		 * them as one (a query has QR clear) */
		{
			static uint8_t p[16384], q[16384];
			size_t pn;

			m.b[2] &= 0x7f;
			pn = pkt_v4(p, &m, 53, 5, 17);
			/* swap the addresses and ports: from the client to port 53 */
			memcpy(q, p, pn);
			memcpy(q + 14 + 12, p + 14 + 16, 4);
			memcpy(q + 14 + 16, p + 14 + 12, 4);
			memcpy(q + 34, p + 36, 2);
			memcpy(q + 36, p + 34, 2);
			run_prog(egress_fd, q, pn);
		}
	}
	ck_assert_int_gt(queries_count(), 0); /* some were well-formed questions */
	ck_assert_int_le(queries_count(), 2000);
	/* whatever was stored is well formed */
	{
		struct jb_dns_key k, next;
		struct jb_dns d;
		void *prev = NULL;

		while (bpf_map_get_next_key(dns_fd, prev, &next) == 0) {
			k = next;
			prev = &k;
			ck_assert_int_eq(bpf_map_lookup_elem(dns_fd, &k, &d), 0);
			ck_assert_uint_ge(d.len, 2);
			ck_assert_uint_le(d.len, JB_DNS_NAMES_LEN);
			ck_assert_int_eq(d.names[d.len - 1], 0);
			for (size_t j = d.len; j < sizeof(d.names); j++)
				ck_assert_int_eq(d.names[j], 0);
		}
	}
}
END_TEST

/* --- answers must answer a query ------------------------------------------- */

#define DNS_AT (14 + 20 + 8) /* the message in a pkt_v4(ihl 5) packet */

/* the question's type (after the name at 12) */
static void set_qtype(uint8_t *msg, unsigned type)
{
	size_t at = 12;

	while (msg[at])
		at += 1 + msg[at];
	msg[at + 1] = 0, msg[at + 2] = (uint8_t)type;
}

START_TEST(answer_needs_query)
{
	struct msg m, o;
	struct jb_dns d;
	static uint8_t p[8192], q[8192], p2[8192];
	size_t n, qn, n2;
	uint64_t last;

	load();
	m_query(&m, RESP, 1, "asked.test");
	m_a(&m, 12, "10.0.0.7");
	n = pkt_v4(p, &m, 53, 5, 17);
	qn = query_of(p, n, q);
	ck_assert_uint_gt(qn, 0);

	/* unsolicited: no query at all */
	run_unasked(p, n);
	ck_assert_uint_eq(stat_sum(JB_STAT_DNS_REJECT), 1);
	ck_assert_int_eq(map_count(), 0);

	/* the query goes out; an answer with another id is not its answer,
	 * and does not use it up */
	run_prog(egress_fd, q, qn);
	ck_assert_int_eq(queries_count(), 1);
	p[DNS_AT + 1] ^= 0x01;
	run_unasked(p, n);
	ck_assert_uint_eq(stat_sum(JB_STAT_DNS_REJECT), 2);
	ck_assert_int_eq(map_count(), 0);
	ck_assert_int_eq(queries_count(), 1);
	/* from another server, to another port: neither */
	p[DNS_AT + 1] ^= 0x01;
	p[14 + 15] = 54; /* 127.0.0.54 */
	run_unasked(p, n);
	p[14 + 15] = 53;
	p[14 + 20 + 3] = 1; /* port 40961 */
	run_unasked(p, n);
	p[14 + 20 + 3] = 0;
	ck_assert_uint_eq(stat_sum(JB_STAT_DNS_REJECT), 4);
	ck_assert_int_eq(map_count(), 0);
	/* another question with its id, to its port, from its server */
	m_query(&o, RESP, 1, "other.test");
	m_a(&o, 12, "10.0.0.7");
	n2 = pkt_v4(p2, &o, 53, 5, 17);
	run_unasked(p2, n2);
	memcpy(p2, p, n);
	set_qtype(p2 + DNS_AT, 28); /* the same name, AAAA */
	run_unasked(p2, n);
	ck_assert_uint_eq(stat_sum(JB_STAT_DNS_REJECT), 6);
	ck_assert_int_eq(map_count(), 0);

	/* the real answer: stored, and the query is used up */
	run_unasked(p, n);
	ck_assert_uint_eq(stat_sum(JB_STAT_DNS_REJECT), 6);
	ck_assert_int_eq(lookup(AF_INET, "10.0.0.7", &d), 0);
	ck_assert_str_eq(d.names, "asked.test");
	ck_assert_int_eq(queries_count(), 0);
	last = d.last_ns;
	/* so the same answer again is a forgery (or a duplicate): not stored */
	run_unasked(p, n);
	ck_assert_uint_eq(stat_sum(JB_STAT_DNS_REJECT), 7);
	ck_assert_int_eq(lookup(AF_INET, "10.0.0.7", &d), 0);
	ck_assert_uint_eq(d.last_ns, last);
	ck_assert_uint_eq(stat_sum(JB_STAT_DNS_NEW), 1);

	/* an NXDOMAIN uses its query up too: a positive "answer" after it
	 * is no answer */
	m_query(&o, RESP, 1, "gone.test");
	m_a(&o, 12, "10.0.0.17");
	n2 = pkt_v4(p2, &o, 53, 5, 17);
	qn = query_of(p2, n2, q);
	run_prog(egress_fd, q, qn);
	ck_assert_int_eq(queries_count(), 1);
	p2[DNS_AT + 3] |= 3; /* NXDOMAIN */
	run_unasked(p2, n2);
	ck_assert_int_eq(queries_count(), 0);
	ck_assert_uint_eq(stat_sum(JB_STAT_DNS_REJECT), 7); /* not counted */
	p2[DNS_AT + 3] &= ~3;
	run_unasked(p2, n2);
	ck_assert_uint_eq(stat_sum(JB_STAT_DNS_REJECT), 8);
	ck_assert_int_ne(lookup(AF_INET, "10.0.0.17", &d), 0);
}
END_TEST

/* The server may echo the question in another case (0x20 mixing); A and
 * AAAA asked in parallel with one id on one port are both answered. */
START_TEST(answer_case_and_parallel)
{
	struct msg m;
	struct jb_dns d;
	static uint8_t p[8192], q[8192], p6[8192], q6[8192];
	size_t n, qn, n6, qn6;

	load();
	m_query(&m, RESP, 1, "MiXeD.Example.TEST");
	m_a(&m, 12, "10.0.0.8");
	n = pkt_v4(p, &m, 53, 5, 17);
	qn = query_of(p, n, q);
	m_query(&m, RESP, 1, "mixed.example.test");
	set_qtype(m.b, 28);
	m_aaaa(&m, 12, "2001:db8::8");
	n6 = pkt_v4(p6, &m, 53, 5, 17);
	qn6 = query_of(p6, n6, q6);
	/* the client asked in lower case, the server answers in mixed case */
	memcpy(q + DNS_AT + 12, p6 + DNS_AT + 12, qn - DNS_AT - 12 - 4);
	run_prog(egress_fd, q, qn);
	run_prog(egress_fd, q6, qn6);
	ck_assert_int_eq(queries_count(), 2);
	run_unasked(p6, n6);
	run_unasked(p, n);
	ck_assert_uint_eq(stat_sum(JB_STAT_DNS_REJECT), 0);
	ck_assert_int_eq(lookup(AF_INET, "10.0.0.8", &d), 0);
	ck_assert_str_eq(d.names, "mixed.example.test");
	ck_assert_int_eq(lookup(AF_INET6, "2001:db8::8", &d), 0);
	ck_assert_int_eq(queries_count(), 0);
	/* an answer to a query that is not a DNS query (a response sent to
	 * port 53, QR set) is no answer */
	p[DNS_AT + 2] |= 0x80;
	query_of(p, n, q);
	q[DNS_AT + 2] |= 0x80;
	run_prog(egress_fd, q, qn);
	ck_assert_int_eq(queries_count(), 0);
}
END_TEST

/* An answer later than the time limit does not count, and frees its query. */
START_TEST(answer_too_late)
{
	struct msg m;
	struct jb_dns d;
	static uint8_t p[8192], q[8192];
	uint8_t k[64], next[64];
	uint64_t sent;
	size_t n, qn;

	load();
	m_query(&m, RESP, 1, "late.test");
	m_a(&m, 12, "10.0.0.9");
	n = pkt_v4(p, &m, 53, 5, 17);
	qn = query_of(p, n, q);
	run_prog(egress_fd, q, qn);
	ck_assert_int_eq(bpf_map_get_next_key(queries_fd, NULL, next), 0);
	memcpy(k, next, sizeof(k));
	ck_assert_int_eq(bpf_map_lookup_elem(queries_fd, k, &sent), 0);
	ck_assert_uint_le(sent, mono_ns());
	sent = mono_ns() - 31ULL * 1000000000ULL; /* JB_DNS_QUERY_NS is 30 s */
	ck_assert_int_eq(bpf_map_update_elem(queries_fd, k, &sent, BPF_EXIST), 0);
	run_unasked(p, n);
	ck_assert_uint_eq(stat_sum(JB_STAT_DNS_REJECT), 1);
	ck_assert_int_ne(lookup(AF_INET, "10.0.0.9", &d), 0);
	ck_assert_int_eq(queries_count(), 0);
	/* 29 s is still in time */
	run_prog(egress_fd, q, qn);
	ck_assert_int_eq(bpf_map_get_next_key(queries_fd, NULL, next), 0);
	memcpy(k, next, sizeof(k));
	sent = mono_ns() - 29ULL * 1000000000ULL;
	ck_assert_int_eq(bpf_map_update_elem(queries_fd, k, &sent, BPF_EXIST), 0);
	run_unasked(p, n);
	ck_assert_int_eq(lookup(AF_INET, "10.0.0.9", &d), 0);
}
END_TEST

/* A query of one network namespace is not answered in another, and what
 * one namespace is told is kept under its own key. */
START_TEST(answer_other_netns)
{
	struct msg m;
	struct jb_dns d;
	struct jb_dns_key k;
	static uint8_t p[8192], q[8192];
	uint64_t host;
	size_t n, qn;

	load();
	host = my_netns;
	m_query(&m, RESP, 1, "harmless.duckdns.org");
	m_a(&m, 12, "127.0.0.2");
	n = pkt_v4(p, &m, 53, 5, 17);
	qn = query_of(p, n, q);
	run_prog(egress_fd, q, qn); /* asked on the host */
	ck_assert_msg(unshare(CLONE_NEWNET) == 0, "unshare(CLONE_NEWNET): %s", strerror(errno));
	my_netns = netns_cookie();
	ck_assert_uint_ne(my_netns, host);
	run_unasked(p, n); /* answered in another namespace */
	ck_assert_uint_eq(stat_sum(JB_STAT_DNS_REJECT), 1);
	ck_assert_int_eq(map_count(), 0);
	/* asked and answered there: kept, under that namespace only */
	run_pkt(p, n);
	ck_assert_int_eq(lookup(AF_INET, "127.0.0.2", &d), 0);
	ck_assert_str_eq(d.names, "harmless.duckdns.org");
	ck_assert_int_eq(map_count(), 1);
	memset(&k, 0, sizeof(k));
	k.netns = host;
	k.family = AF_INET;
	k.addr[0] = 127, k.addr[3] = 2;
	ck_assert_int_ne(bpf_map_lookup_elem(dns_fd, &k, &d), 0);
	/* the host's query is still waiting for its answer */
	ck_assert_int_eq(queries_count(), 1);
}
END_TEST

/* --- real sockets: the programs attached to a cgroup of the test's own ------ */

static char cg_path[256];
static const char *cg_root;
static struct bpf_link *cg_links[2];

static void write_pid(const char *dir)
{
	char path[300], pid[32];
	int fd, n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	fd = open(path, O_WRONLY);
	ck_assert_msg(fd >= 0, "%s: %s", path, strerror(errno));
	ck_assert_int_eq(write(fd, pid, (size_t)n), n);
	close(fd);
}

/* This process alone, in a network namespace of its own (lo up), in a
 * cgroup of its own with both DNS programs attached: real packets. */
static void own_cgroup_and_netns(void)
{
	struct ifreq ifr;
	int rfd, cfd, fd;

	load();
	rfd = jb_cgroup2_root(&cg_root);
	ck_assert_msg(rfd >= 0, "no cgroup2 hierarchy");
	close(rfd);
	snprintf(cg_path, sizeof(cg_path), "%s/jbdns-test-%d", cg_root, (int)getpid());
	ck_assert_msg(mkdir(cg_path, 0755) == 0, "%s: %s", cg_path, strerror(errno));
	write_pid(cg_path);
	cfd = open(cg_path, O_RDONLY | O_DIRECTORY);
	ck_assert_int_ge(cfd, 0);
	cg_links[0] = bpf_program__attach_cgroup(skel->progs.jb_dns_egress, cfd);
	cg_links[1] = bpf_program__attach_cgroup(skel->progs.jb_dns_ingress, cfd);
	close(cfd);
	ck_assert_ptr_nonnull(cg_links[0]);
	ck_assert_ptr_nonnull(cg_links[1]);
	ck_assert_msg(unshare(CLONE_NEWNET) == 0, "unshare(CLONE_NEWNET): %s", strerror(errno));
	my_netns = netns_cookie();
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	ck_assert_int_eq(ioctl(fd, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP;
	ck_assert_int_eq(ioctl(fd, SIOCSIFFLAGS, &ifr), 0);
	close(fd);
}

static void leave_cgroup(void)
{
	bpf_link__destroy(cg_links[0]);
	bpf_link__destroy(cg_links[1]);
	write_pid(cg_root);
	ck_assert_msg(rmdir(cg_path) == 0, "rmdir %s: %s", cg_path, strerror(errno));
}

static int sock_on(int type, unsigned port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, type, 0), one = 1;

	ck_assert_int_ge(fd, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	ck_assert_msg(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0, "bind: %s", strerror(errno));
	return fd;
}

/* the query that answer m answers: its header and question */
static size_t query_msg(const struct msg *m, uint8_t *q)
{
	size_t at = 12;

	while (m->b[at])
		at += 1 + m->b[at];
	at += 5;
	memcpy(q, m->b, at);
	q[2] = 0x01, q[3] = 0;
	memset(q + 6, 0, 6);
	return at;
}

static void read_all(int fd, uint8_t *b, size_t n)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	for (size_t at = 0; at < n;) {
		ssize_t r;

		ck_assert_msg(poll(&p, 1, 5000) == 1, "nothing to read");
		r = read(fd, b + at, n - at);
		ck_assert_int_gt(r, 0);
		at += (size_t)r;
	}
}

/* UDP over loopback, with a real query first: an answer bigger than what
 * the program copies keeps what it read (flagged), loses the rest (cut) */
START_TEST(sockets_udp_big)
{
	struct msg m;
	struct jb_dns d;
	static uint8_t pad[5000], q[512], r[8192];
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	uint64_t cut;
	size_t rd, qn;
	int srv, cli;

	own_cgroup_and_netns();
	m_query(&m, RESP, 3, "big.test");
	m_a(&m, 12, "10.8.0.1");
	m_ptr(&m, 12);
	rd = m_rr(&m, 16, 0);
	m_bytes(&m, pad, sizeof(pad));
	m_fix(&m, rd);
	m_a(&m, 12, "10.8.0.2");
	qn = query_msg(&m, q);
	srv = sock_on(SOCK_DGRAM, 53);
	cli = sock_on(SOCK_DGRAM, 0);
	{
		struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(53)};

		to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		ck_assert_int_eq(sendto(cli, q, qn, 0, (struct sockaddr *)&to, sizeof(to)),
				 (ssize_t)qn);
	}
	ck_assert_int_eq(recvfrom(srv, r, sizeof(r), 0, (struct sockaddr *)&from, &fl), (ssize_t)qn);
	cut = stat_sum(JB_STAT_DNS_CUT);
	ck_assert_int_eq(sendto(srv, m.b, m.n, 0, (struct sockaddr *)&from, fl), (ssize_t)m.n);
	read_all(cli, r, m.n);
	ck_assert_int_eq(lookup(AF_INET, "10.8.0.1", &d), 0);
	ck_assert_str_eq(d.names, "big.test");
	ck_assert(d.flags & JB_DNS_TRUNC);
	ck_assert_int_ne(lookup(AF_INET, "10.8.0.2", &d), 0);
	ck_assert_uint_eq(stat_sum(JB_STAT_DNS_CUT), cut + 1);
	ck_assert_uint_eq(stat_sum(JB_STAT_DNS_REJECT), 0);
	close(srv);
	close(cli);
	leave_cgroup();
}
END_TEST

/* DNS over TCP: a whole message in one segment is parsed (query and
 * answer); an answer spread over two segments is not (a documented limit);
 * an answer with another id on the same connection is rejected. */
START_TEST(sockets_tcp)
{
	struct msg m;
	struct jb_dns d;
	uint8_t q[512 + 2], b[8192 + 2];
	size_t qn;
	int lst, srv, cli, one = 1;
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(53)};

	own_cgroup_and_netns();
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lst = sock_on(SOCK_STREAM, 53);
	ck_assert_int_eq(listen(lst, 4), 0);
	cli = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_eq(connect(cli, (struct sockaddr *)&to, sizeof(to)), 0);
	srv = accept(lst, NULL, NULL);
	ck_assert_int_ge(srv, 0);
	setsockopt(srv, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(cli, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

	/* one query, one answer, each in one write: parsed */
	m_query(&m, RESP, 1, "tcp.test");
	m_a(&m, 12, "10.8.1.1");
	qn = query_msg(&m, q + 2);
	q[0] = (uint8_t)(qn >> 8), q[1] = (uint8_t)qn;
	ck_assert_int_eq(write(cli, q, qn + 2), (ssize_t)qn + 2);
	read_all(srv, b, qn + 2);
	b[0] = (uint8_t)(m.n >> 8), b[1] = (uint8_t)m.n;
	memcpy(b + 2, m.b, m.n);
	ck_assert_int_eq(write(srv, b, m.n + 2), (ssize_t)m.n + 2);
	read_all(cli, b, m.n + 2);
	ck_assert_int_eq(lookup(AF_INET, "10.8.1.1", &d), 0);
	ck_assert_str_eq(d.names, "tcp.test");
	ck_assert_uint_eq(stat_sum(JB_STAT_DNS_REJECT), 0);

	/* another id on the same connection: rejected */
	m_query(&m, RESP, 1, "tcp2.test");
	m_a(&m, 12, "10.8.1.2");
	qn = query_msg(&m, q + 2);
	q[0] = (uint8_t)(qn >> 8), q[1] = (uint8_t)qn;
	ck_assert_int_eq(write(cli, q, qn + 2), (ssize_t)qn + 2);
	read_all(srv, b, qn + 2);
	m.b[1] ^= 0x01;
	b[0] = (uint8_t)(m.n >> 8), b[1] = (uint8_t)m.n;
	memcpy(b + 2, m.b, m.n);
	ck_assert_int_eq(write(srv, b, m.n + 2), (ssize_t)m.n + 2);
	read_all(cli, b, m.n + 2);
	ck_assert_int_ne(lookup(AF_INET, "10.8.1.2", &d), 0);
	ck_assert_uint_eq(stat_sum(JB_STAT_DNS_REJECT), 1);

	/* the answer in two segments (length first, the client reads it
	 * before the rest is sent): not followed */
	m.b[1] ^= 0x01;
	ck_assert_int_eq(write(cli, q, qn + 2), (ssize_t)qn + 2);
	read_all(srv, b, qn + 2);
	b[0] = (uint8_t)(m.n >> 8), b[1] = (uint8_t)m.n;
	ck_assert_int_eq(write(srv, b, 2), 2);
	read_all(cli, b, 2);
	ck_assert_int_eq(write(srv, m.b, m.n), (ssize_t)m.n);
	read_all(cli, b, m.n);
	ck_assert_int_ne(lookup(AF_INET, "10.8.1.2", &d), 0);
	close(cli);
	close(srv);
	close(lst);
	leave_cgroup();
}
END_TEST

/* One user's query flood is remembered at the rate of its bucket only, so
 * it cannot evict everybody's pending queries; root's are not limited. */
START_TEST(sockets_query_rate)
{
	struct msg m;
	uint8_t q[512];
	size_t qn;
	int user, rootfd, n = 6000, pending, srv;
	uint64_t t0, t1;
	double secs;
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(53)};

	own_cgroup_and_netns();
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	srv = sock_on(SOCK_DGRAM, 53); /* a receiver, so nothing bounces */
	setfsuid(65534);	       /* the socket's owner: nobody */
	user = socket(AF_INET, SOCK_DGRAM, 0);
	setfsuid(0);
	ck_assert_int_ge(user, 0);
	m_query(&m, RESP, 1, "flood.test");
	qn = query_msg(&m, q);
	t0 = mono_ns();
	for (int i = 0; i < n; i++) {
		q[0] = (uint8_t)(i >> 8), q[1] = (uint8_t)i; /* a new id each */
		ck_assert_int_eq(sendto(user, q, qn, 0, (struct sockaddr *)&to, sizeof(to)),
				 (ssize_t)qn);
	}
	t1 = mono_ns();
	secs = (double)(t1 - t0) / 1e9;
	pending = queries_count();
	/* the burst, then 1000 a second: never the whole flood when it took
	 * less than the 4 s it would need */
	ck_assert_int_ge(pending, 2000);
	ck_assert_msg(pending <= 2000 + (int)(1000 * secs) + 2,
		      "%d of %d queries remembered in %.3f s", pending, n, secs);
	if (secs < 3.0)
		ck_assert_int_lt(pending, n);
	/* root's queries are remembered whatever nobody did */
	rootfd = socket(AF_INET, SOCK_DGRAM, 0);
	for (int i = 0; i < 3000; i++) {
		q[0] = 0x80 | (uint8_t)(i >> 8), q[1] = (uint8_t)i;
		ck_assert_int_eq(sendto(rootfd, q, qn, 0, (struct sockaddr *)&to, sizeof(to)),
				 (ssize_t)qn);
	}
	ck_assert_int_ge(queries_count(), pending + 3000 - 2);
	close(rootfd);
	close(user);
	close(srv);
	leave_cgroup();
}
END_TEST

/* --- the snapshot's domains ------------------------------------------------ */

static void dom(struct jb_snap_domain *d, int family, const char *addr, const char *names,
		size_t len)
{
	memset(d, 0, sizeof(*d));
	d->key.netns = 7;
	d->key.family = (uint16_t)family;
	ck_assert_int_eq(inet_pton(family, addr, d->key.addr), 1);
	memcpy(d->dns.names, names, len);
	d->dns.len = (uint16_t)len;
}

START_TEST(snap_flow_names)
{
	struct jb_snap_region r;
	struct jb_task *t;
	struct jb_snap_link *l;
	struct jb_flow *fl, flow;
	struct jb_snap_slot_hdr *h;
	struct jb_snap_domain *d;
	const struct jb_snap_region_hdr *ro;
	struct jb_snap_view v;
	const char *names[8];
	char err[128];
	size_t size;
	uint32_t cap;

	ck_assert_int_eq(jb_snap_create_dns(&r, 2, 4, 4, 4, 4, 8), 0);
	h = jb_snap_begin(&r, 1, 7, &t, &l, &fl);
	d = jb_snap_domains(&r, h, &cap);
	ck_assert_uint_eq(cap, 8);
	ck_assert_uint_eq(h->ndomains, 0);
	/* unsorted on purpose */
	dom(&d[0], AF_INET6, "2001:db8::5", "six.test\0cdn.test", 18);
	dom(&d[1], AF_INET, "127.0.0.5", "evil.example.test\0mid.example.test\0target.cdn.test",
	    51);
	dom(&d[2], AF_INET6, "::ffff:127.0.0.5", "mapped.test\0target.cdn.test", 28);
	dom(&d[3], AF_INET, "10.0.0.9", "unterminated", 12);
	dom(&d[4], AF_INET, "10.0.0.1", "a.test", 7);
	h->ndomains = 5;
	jb_snap_publish(h, 0, 0, 0);

	ro = jb_snap_map_ro(r.fd, &size, err, sizeof(err));
	ck_assert_msg(ro != NULL, "%s", err);
	ck_assert_uint_eq(ro->cap_domains, 8);
	ck_assert_int_eq(jb_snap_view(ro, size, 1, 7, &v), 0);
	ck_assert_uint_eq(v.ndomains, 5);
	for (uint32_t i = 1; i < v.ndomains; i++)
		ck_assert_int_lt(memcmp(&v.domains[i - 1].key, &v.domains[i].key,
					sizeof(struct jb_dns_key)), 0);

	memset(&flow, 0, sizeof(flow));
	flow.netns = 7; /* the namespace of every record above */
	flow.family = AF_INET;
	inet_pton(AF_INET, "127.0.0.5", flow.daddr);
	ck_assert_int_eq(jb_snap_flow_names(&v, &flow, names, 8), 3);
	ck_assert_str_eq(names[0], "evil.example.test");
	ck_assert_str_eq(names[1], "mid.example.test");
	ck_assert_str_eq(names[2], "target.cdn.test");
	ck_assert((const char *)names[0] > (const char *)ro &&
		  (const char *)names[2] < (const char *)ro + size); /* into the snapshot */
	ck_assert_int_eq(jb_snap_flow_names(&v, &flow, names, 2), 2);
	ck_assert_int_eq(jb_snap_flow_names(&v, &flow, names, 0), 0);
	/* v4-mapped: its own record first, then the IPv4 one, de-duplicated */
	flow.family = AF_INET6;
	inet_pton(AF_INET6, "::ffff:127.0.0.5", flow.daddr);
	ck_assert_int_eq(jb_snap_flow_names(&v, &flow, names, 8), 4);
	ck_assert_str_eq(names[0], "mapped.test");
	ck_assert_str_eq(names[1], "target.cdn.test");
	ck_assert_str_eq(names[2], "evil.example.test");
	ck_assert_str_eq(names[3], "mid.example.test");
	inet_pton(AF_INET6, "2001:db8::5", flow.daddr);
	ck_assert_int_eq(jb_snap_flow_names(&v, &flow, names, 8), 2);
	ck_assert_str_eq(names[1], "cdn.test");
	/* unknown address, unknown family, a record without its NUL */
	inet_pton(AF_INET6, "2001:db8::6", flow.daddr);
	ck_assert_int_eq(jb_snap_flow_names(&v, &flow, names, 8), 0);
	flow.family = 1;
	ck_assert_int_eq(jb_snap_flow_names(&v, &flow, names, 8), 0);
	flow.family = AF_INET;
	memset(flow.daddr, 0, sizeof(flow.daddr));
	inet_pton(AF_INET, "10.0.0.9", flow.daddr);
	ck_assert_int_eq(jb_snap_flow_names(&v, &flow, names, 8), 0);
	inet_pton(AF_INET, "10.0.0.1", flow.daddr);
	ck_assert_int_eq(jb_snap_flow_names(&v, &flow, names, 8), 1);
	ck_assert_int_eq(jb_snap_flow_names(NULL, &flow, names, 8), 0);
	/* another namespace, or an unknown one, has no names for it */
	flow.netns = 8;
	ck_assert_int_eq(jb_snap_flow_names(&v, &flow, names, 8), 0);
	flow.netns = 0;
	ck_assert_int_eq(jb_snap_flow_names(&v, &flow, names, 8), 0);
	ck_assert_ptr_null(jb_snap_domain(&v, 8, AF_INET, flow.daddr));
	ck_assert_ptr_nonnull(jb_snap_domain(&v, 7, AF_INET, flow.daddr));

	munmap((void *)ro, size);
	jb_snap_destroy(&r);
}
END_TEST

START_TEST(snap_domains_bounds)
{
	struct jb_snap_region r;
	struct jb_task *t;
	struct jb_snap_link *l;
	struct jb_flow *fl;
	struct jb_snap_slot_hdr *h;
	const struct jb_snap_region_hdr *ro;
	struct jb_snap_view v;
	char err[128];
	size_t size;
	uint32_t cap;

	/* the default region reserves the jb_dns map's size (and jb_tamper's) */
	ck_assert_int_eq(jb_snap_create(&r, 2, 4, 4, 4, 4), 0);
	ck_assert_uint_eq(r.hdr->cap_domains, JB_DNS_ENTRIES);
	ck_assert_uint_eq(r.hdr->slot_size,
			  jb_snap_slot_size_all(4, 4, 4, 4, JB_DNS_ENTRIES, JB_TAMPER_ENTRIES));
	h = jb_snap_begin(&r, 0, 3, &t, &l, &fl);
	(void)jb_snap_domains(&r, h, &cap);
	ck_assert_uint_eq(cap, JB_DNS_ENTRIES);
	h->ndomains = JB_DNS_ENTRIES + 1;
	jb_snap_publish(h, 0, 0, 0);
	ro = jb_snap_map_ro(r.fd, &size, err, sizeof(err));
	ck_assert_msg(ro != NULL, "%s", err);
	ck_assert_int_eq(jb_snap_view(ro, size, 0, 3, &v), -1);
	h = jb_snap_begin(&r, 0, 4, &t, &l, &fl);
	h->ndomains = 2;
	h->off_domains = r.hdr->slot_size - sizeof(struct jb_snap_domain);
	jb_snap_publish(h, 0, 0, 0); /* the second record would cross the slot's end */
	ck_assert_int_eq(jb_snap_view(ro, size, 0, 4, &v), -1);
	munmap((void *)ro, size);
	/* a domain capacity that does not give the slot size is refused */
	r.hdr->cap_domains = JB_DNS_ENTRIES - 100;
	ck_assert_ptr_null(jb_snap_map_ro(r.fd, &size, err, sizeof(err)));
	r.hdr->cap_domains = JB_DNS_ENTRIES;
	ro = jb_snap_map_ro(r.fd, &size, err, sizeof(err));
	ck_assert_msg(ro != NULL, "%s", err);
	munmap((void *)ro, size);
	jb_snap_destroy(&r);
}
END_TEST

/* --- the agent, end to end ------------------------------------------------- */

static pid_t start_server(const char *addr, char *const extra[], int *ok)
{
	char helper[4096];
	char *argv[24];
	int pfd[2], n = 0;
	pid_t pid;
	char line[64] = {0};
	struct pollfd p;
	struct jbh_io io = {.in = -1, .err = -1};

	jbh_helper(helper, sizeof(helper), "dnsanswer");
	argv[n++] = helper;
	argv[n++] = "--addr";
	argv[n++] = (char *)addr;
	argv[n++] = "--once";
	argv[n++] = "--timeout";
	argv[n++] = "8";
	for (int i = 0; extra[i]; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	ck_assert_int_eq(pipe(pfd), 0);
	io.out = pfd[1];
	pid = jbh_spawn(helper, argv, &io);
	close(pfd[1]);
	p.fd = pfd[0];
	p.events = POLLIN;
	*ok = poll(&p, 1, 20000) == 1 && read(pfd[0], line, sizeof(line) - 1) > 0 &&
	      !strncmp(line, "ready", 5);
	close(pfd[0]);
	return pid;
}

static int query(const char *name, const char *type, const char *server)
{
	char helper[4096];
	char *argv[] = {helper, "--query", (char *)name, "--type", (char *)type, "--server",
			(char *)server, NULL};

	jbh_helper(helper, sizeof(helper), "dnsanswer");
	return jbh_run(helper, argv, 5000, NULL);
}

/* Some loaded map named jb_dns (the agent's) has this address with these
 * names as the first ones. */
static int agent_map_has(int family, const char *addr, const char *names, size_t len)
{
	__u32 id = 0;
	struct jb_dns_key k;
	struct jb_dns d;
	int found = 0;

	memset(&k, 0, sizeof(k));
	k.netns = netns_cookie();
	k.family = (uint16_t)family;
	ck_assert_int_eq(inet_pton(family, addr, k.addr), 1);
	while (!found && bpf_map_get_next_id(id, &id) == 0) {
		struct bpf_map_info info;
		__u32 il = sizeof(info);
		int fd = bpf_map_get_fd_by_id(id);

		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(fd, &info, &il) == 0 && !strcmp(info.name, "jb_dns") &&
		    info.key_size == sizeof(k) && info.value_size == sizeof(d) &&
		    bpf_map_lookup_elem(fd, &k, &d) == 0)
			found = d.len == len && !memcmp(d.names, names, len);
		close(fd);
	}
	return found;
}

/* the last "dns: N addresses" the collector logged */
static long last_dns_count(const struct jbh_agent *a)
{
	char *log = jbh_log_read(a), *p = log, *hit = NULL;
	long n = -1;

	while ((p = strstr(p, "dns: ")))
		hit = p++;
	if (hit)
		n = strtol(hit + 5, NULL, 10);
	free(log);
	return n;
}

START_TEST(agent_end_to_end)
{
	struct jbh_agent a;
	struct jbh_opts o = {.debug_log = 1};
	static const char chain[] = "evil.example.test\0mid.example.test\0target.cdn.test";
	char *srv4[] = {"--name", "target.cdn.test=127.0.0.5", "--cname",
			"evil.example.test=mid.example.test", "--cname",
			"mid.example.test=target.cdn.test", NULL};
	char *srv6[] = {"--name", "target6.cdn.test=2001:db8::5", "--cname",
			"six.example.test=target6.cdn.test", NULL};
	pid_t pid;
	int ok, st;
	uint64_t deadline;

	jbh_start(&a, &o);
	jbh_wait_all_ready(&a, 90000); /* a loaded machine can take a minute */
	ck_assert_msg(jbh_log_wait(&a, "DNS answers parsed on the cgroup2 root", 1000),
		      "the DNS program was not attached");

	pid = start_server("127.0.0.153", srv4, &ok);
	ck_assert_msg(ok, "dnsanswer did not start (port 53 on 127.0.0.153 in use?)");
	st = query("Evil.Example.Test", "A", "127.0.0.153");
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "query failed: %d", st);
	ck_assert_int_eq(jbh_wait_exit(pid, 5000) >= 0, 1);
	ck_assert_msg(agent_map_has(AF_INET, "127.0.0.5", chain, sizeof(chain)),
		      "the agent's jb_dns has no record of 127.0.0.5 with the chain");

	/* IPv6 transport and an AAAA answer */
	pid = start_server("::1", srv6, &ok);
	if (ok) {
		static const char six[] = "six.example.test\0target6.cdn.test";
		st = query("six.example.test", "AAAA", "[::1]:53");
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "v6 query failed: %d", st);
		ck_assert_msg(agent_map_has(AF_INET6, "2001:db8::5", six, sizeof(six)),
			      "no record of 2001:db8::5");
	} else {
		printf("note: no ::1 here, IPv6 part skipped\n");
	}
	jbh_wait_exit(pid, 5000);

	/* and the collector puts them into the snapshot */
	deadline = jbh_detect_deadline(&a);
	while (last_dns_count(&a) < 1 && jbh_now_ms() < deadline)
		jbh_sleep_ms(50);
	ck_assert_msg(last_dns_count(&a) >= 1, "the collector never reported the DNS records");
	jbh_stop(&a, 5000);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dns");
	TCase *tc;
	SRunner *sr;
	int failed;

	jbh_main_init("check_dns");
	tc = tcase_create("parser");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, parse_simple_a);
	tcase_add_test(tc, parse_cname_chain);
	tcase_add_test(tc, parse_aaaa_ipv6);
	tcase_add_test(tc, parse_ip_options);
	tcase_add_test(tc, parse_ignores);
	tcase_add_test(tc, parse_truncated);
	tcase_add_test(tc, parse_pointer_loops);
	tcase_add_test(tc, parse_many_answers);
	tcase_add_test(tc, parse_long_names);
	tcase_add_test(tc, parse_odd_bytes);
	tcase_add_test(tc, parse_update_rules);
	tcase_add_test(tc, parse_big_message);
	tcase_add_test(tc, parse_fuzz);
	suite_add_tcase(s, tc);
	tc = tcase_create("answers");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, answer_needs_query);
	tcase_add_test(tc, answer_case_and_parallel);
	tcase_add_test(tc, answer_too_late);
	tcase_add_test(tc, answer_other_netns);
	suite_add_tcase(s, tc);
	tc = tcase_create("sockets");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, sockets_udp_big);
	tcase_add_test(tc, sockets_tcp);
	tcase_add_test(tc, sockets_query_rate);
	suite_add_tcase(s, tc);
	tc = tcase_create("snapshot");
	tcase_add_test(tc, snap_flow_names);
	tcase_add_test(tc, snap_domains_bounds);
	suite_add_tcase(s, tc);
	tc = tcase_create("agent");
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, agent_end_to_end);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	{
		/* the cgroups of the socket cases, if one failed before its
		 * rmdir (empty by now: their process is gone) */
		const char *root;
		int fd = jb_cgroup2_root(&root);
		char path[300];

		if (fd >= 0) {
			DIR *dir = fdopendir(fd);
			struct dirent *e;

			while (dir && (e = readdir(dir)))
				if (!strncmp(e->d_name, "jbdns-test-", 11)) {
					snprintf(path, sizeof(path), "%s/%s", root, e->d_name);
					rmdir(path);
				}
			if (dir)
				closedir(dir);
			else
				close(fd);
		}
	}
	jbh_kill_leftovers();
	return failed ? 1 : 0;
}
