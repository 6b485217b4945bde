/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dns.bpf.h - DNS answers -> jb_dns, in the kernel (included at the end of
 * jibril.bpf.c: it uses stat_inc() and the JB_AF_* and JB_IPPROTO_TCP
 * constants from there).
 *
 * Two cgroup_skb programs, attached by the loader to the cgroup2 root, see
 * every packet a socket sends or is delivered (loopback included):
 *  - egress: a UDP query to port 53 (QR clear, opcode 0, one question) is
 *    remembered in jb_dns_queries: {network namespace, server address,
 *    local port, id, protocol, hash of the question} -> time sent; at most
 *    JB_DNS_QRATE a second per socket owner but root (dns_query_allowed()).
 *  - ingress: a UDP response from port 53 is parsed: the question name,
 *    then up to JB_DNS_MAX_ANSWERS answer records; CNAME targets are
 *    decoded (compression pointers followed), A and AAAA addresses are
 *    remembered, and at the end every address gets a jb_dns record (key:
 *    the namespace and the address) holding the question name and the
 *    CNAME targets (see jibril.h). It is stored only if a query with the
 *    same namespace, server (the answer's source), local port (its
 *    destination port), id and question was sent less than
 *    JB_DNS_QUERY_NS ago; that query is consumed. Any other answer is
 *    counted (JB_STAT_DNS_REJECT) and dropped from the picture, never from
 *    the network. Without this, anybody who can deliver a UDP packet from
 *    port 53 to some socket (an unprivileged user in a user and network
 *    namespace of their own, over its own loopback) could name any address
 *    (frame it) or rename a real one (wash it).
 * Neither program drops anything: both always return 1.
 *
 * Cost: every packet pays a protocol check and two or three loads from the
 * linear header (direct packet access) before anything else; only UDP to
 * (egress) or from (ingress) port 53 goes further: a copy of the message
 * (<= JB_DNS_MSG_MAX bytes, one bpf_skb_load_bytes), the question walk
 * (bpf_loop, one callback call per name byte), one hash of the question;
 * answers also pay the parse of their records.
 *
 * Invariants:
 *  - every message index is masked into the scratch buffer and checked
 *    against the copied length; a name is at most 255 wire bytes and
 *    follows at most JB_DNS_MAX_HOPS pointers, each pointing strictly
 *    below the previous target (or the name's own start): pointer loops
 *    and forward pointers are malformed (JB_STAT_DNS_BAD), never loops.
 *  - the per-CPU scratch is guarded by a busy flag (compare-and-swap):
 *    these programs run in softirq and in process context (socket backlog,
 *    sendmsg; migration, not preemption, disabled), so a nested run on the
 *    same CPU gives up (JB_STAT_DNS_FAIL) rather than clobber the outer
 *    run's buffer. No other program uses it.
 *  - bytes of names[] past len are zero, so names_hash and the snapshot
 *    see no stale bytes; a CNAME target that does not fit is left out
 *    whole (JB_DNS_CUT), never stored half.
 *  - a jb_dns record is written only for an answer that matched a pending
 *    query of its own namespace, and under that namespace's key: what one
 *    namespace receives never names an address for another.
 */

#define JB_DNS_MSG_MAX 4096 /* message bytes parsed (power of 2; the usual EDNS
			     * buffer size); past it: CUT */
#define JB_DNS_MSG_MASK (JB_DNS_MSG_MAX - 1)
#define JB_DNS_MAX_ANSWERS 64 /* answer records walked; more: CUT */
#define JB_DNS_MAX_ADDRS 64   /* addresses kept of one answer (power of 2); more: CUT */
#define JB_DNS_MAX_HOPS 16    /* compression pointers followed per name */
#define JB_DNS_NAME_STEPS 320 /* one step per wire byte or pointer: 255 + hops */
#define JB_DNS_HDR 12
#define JB_ETH_P_IP 0x0800
#define JB_ETH_P_IPV6 0x86DD
#define JB_IPPROTO_UDP 17
#define JB_DNS_T_A 1
#define JB_DNS_T_CNAME 5
#define JB_DNS_T_AAAA 28
#define JB_DNS_C_IN 1
#define JB_DNS_QUERIES 8192   /* pending queries remembered (LRU) */
#define JB_DNS_QRATE 1000     /* queries a second remembered per user (not root) */
#define JB_DNS_QBURST 2000    /* ... at once */
#define JB_DNS_QUERY_NS (30ULL * 1000000000ULL) /* an answer later than this: rejected */
#define JB_DNS_QWORDS 33      /* question hash: 8-byte words, >= 256 + 4 bytes */
#define JB_DNS_QUERY_MAX 512  /* query bytes copied (power of 2): the question fits */

/* A query sent and not yet answered. The question's hash is part of the
 * key so that two queries with one id on one port (A and AAAA in parallel,
 * by chance or design) do not replace each other. */
struct jb_dns_qkey {
	__u64 netns;     /* network namespace cookie of the socket */
	__u64 qhash;     /* jb_dns_qhash() of the question section */
	__u8 server[16]; /* the query's destination = the answer's source */
	__u16 family;
	__u16 lport;     /* the query's source port, network byte order */
	__u16 id;        /* DNS id, network byte order */
	__u8 proto;      /* UDP or TCP: the same port number is another socket */
	__u8 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, JB_DNS_QUERIES);
	__type(key, struct jb_dns_qkey);
	__type(value, __u64); /* bpf_ktime_get_ns() when sent */
} jb_dns_queries SEC(".maps");

/* Queries a socket owner may still have remembered (dns_query_allowed()). */
struct jb_dns_qrate {
	__u64 last_ns; /* tokens were last added up to here */
	__u64 tokens;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32); /* uid */
	__type(value, struct jb_dns_qrate);
} jb_dns_qrate SEC(".maps");

/* One name walk. It lives in the scratch map, not on the stack: values
 * read from a map are unknown to the verifier, so the bpf_loop callback is
 * verified once instead of once per distinct counter value. */
struct jb_dns_name {
	__u32 off;    /* next byte to read */
	__u32 end;    /* offset just after the name where it stands; 0 = not yet */
	__u32 lim;    /* the next pointer must point below this */
	__u32 out;    /* next write position in s->val.names */
	__u32 left;   /* bytes of the current label still to copy */
	__u32 wire;   /* wire length so far (<= 255) */
	__u32 hops;
	__u32 labels;
	__u8 copy;    /* 1: decode into names; 0: only find the end */
	__u8 cut;     /* names is full: walk on without writing */
	__s8 state;   /* 0 running, 1 done, -1 malformed, -2 past the copy */
	__u8 _pad;
};

struct jb_dns_scratch {
	__u64 busy;    /* 64 bits: clang 14 has no 32-bit cmpxchg for -mcpu=v1 */
	__u32 len;     /* bytes of msg that hold the message */
	__u32 clipped; /* the message was longer than JB_DNS_MSG_MAX */
	__u32 naddr;
	__u32 _pad;
	struct jb_dns_qkey qk;            /* the packet's query key (qhash: once known) */
	__u16 addr_off[JB_DNS_MAX_ADDRS]; /* rdata offsets of A/AAAA answers */
	__u16 addr_fam[JB_DNS_MAX_ADDRS];
	__u32 addr_ttl[JB_DNS_MAX_ADDRS];
	struct jb_dns_name nm;            /* the name walk under way */
	struct jb_dns val;                /* the record being built */
	__u8 msg[JB_DNS_MSG_MAX + 16];    /* + room for a masked 16-byte read */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct jb_dns_scratch);
} jb_dns_scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, JB_DNS_ENTRIES);
	__type(key, struct jb_dns_key);
	__type(value, struct jb_dns);
} jb_dns SEC(".maps");

static __always_inline __u32 dns_u16(const struct jb_dns_scratch *s, __u32 o)
{
	return ((__u32)s->msg[o & JB_DNS_MSG_MASK] << 8) | s->msg[(o + 1) & JB_DNS_MSG_MASK];
}

static __always_inline void dns_put(struct jb_dns_name *c, struct jb_dns_scratch *s, __u8 b)
{
	if (c->cut)
		return;
	if (c->out >= JB_DNS_NAMES_LEN - 1) { /* keep one byte for the NUL */
		c->cut = 1;
		return;
	}
	s->val.names[c->out & (JB_DNS_NAMES_LEN - 1)] = b;
	c->out++;
}

static long dns_name_step(__u32 i, void *arg)
{
	__u32 zero = 0;
	struct jb_dns_scratch *s = bpf_map_lookup_elem(&jb_dns_scratch, &zero);
	struct jb_dns_name *c;
	__u32 off;
	__u8 b;

	if (!s)
		return 1;
	c = &s->nm;
	off = c->off;
	if (off >= s->len) {
		c->state = s->clipped ? -2 : -1;
		return 1;
	}
	b = s->msg[off & JB_DNS_MSG_MASK];
	if (c->left) {
		c->left--;
		c->off = off + 1;
		if (b >= 'A' && b <= 'Z')
			b += 'a' - 'A';
		else if (b <= ' ' || b >= 0x7f || b == '.')
			b = '?'; /* cannot end a name early or fake a label */
		dns_put(c, s, b);
		return 0;
	}
	if (b == 0) {
		c->off = off + 1;
		if (!c->end)
			c->end = off + 1;
		c->state = 1;
		return 1;
	}
	if ((b & 0xc0) == 0xc0) {
		__u32 ptr;

		if (off + 1 >= s->len) {
			c->state = s->clipped ? -2 : -1;
			return 1;
		}
		if (!c->end)
			c->end = off + 2;
		if (!c->copy) {
			c->state = 1; /* only the end was wanted */
			return 1;
		}
		ptr = ((__u32)(b & 0x3f) << 8) | s->msg[(off + 1) & JB_DNS_MSG_MASK];
		if (ptr < JB_DNS_HDR || ptr >= c->lim || ++c->hops > JB_DNS_MAX_HOPS) {
			c->state = -1;
			return 1;
		}
		c->lim = ptr;
		c->off = ptr;
		return 0;
	}
	if (b & 0xc0) { /* 0x40 / 0x80: obsolete label types */
		c->state = -1;
		return 1;
	}
	c->wire += b + 1;
	if (c->wire > 255) {
		c->state = -1;
		return 1;
	}
	if (!c->copy) {
		c->off = off + 1 + b;
		return 0;
	}
	if (c->labels++)
		dns_put(c, s, '.');
	c->left = b;
	c->off = off + 1;
	return 0;
}

/* Walk the name at off. copy: append it, NUL terminated, to val.names
 * (left out whole if it does not fit). Returns the offset after the name,
 * or a negative state (-1 malformed, -2 runs past the copied part).
 * Global: the verifier checks it once, whatever the caller's state. */
__noinline int jb_dns_name(__u32 off, __u32 copy)
{
	__u32 zero = 0;
	struct jb_dns_scratch *s = bpf_map_lookup_elem(&jb_dns_scratch, &zero);
	struct jb_dns_name *c;

	if (!s)
		return -1;
	c = &s->nm;
	__builtin_memset(c, 0, sizeof(*c));
	c->off = off;
	c->lim = off;
	c->out = s->val.len;
	c->copy = copy ? 1 : 0;
	bpf_loop(JB_DNS_NAME_STEPS, dns_name_step, NULL, 0);
	if (c->state != 1)
		return c->state < 0 ? c->state : -1; /* steps exhausted: malformed */
	if (copy) {
		__u32 out = c->out;

		if (c->cut || out >= JB_DNS_NAMES_LEN) {
			s->val.flags |= JB_DNS_CUT; /* dns_seal() clears what it wrote */
		} else if (out > s->val.len) { /* the root name "" is not kept */
			s->val.names[out & (JB_DNS_NAMES_LEN - 1)] = 0;
			s->val.len = (__u16)(out + 1);
			s->val.count++;
		}
	}
	return (int)(c->end & 0xffff);
}

/* Hash of the question section msg[JB_DNS_HDR, end) (name, type, class)
 * into s->qk.qhash, ASCII letters folded to lower case (a server may echo
 * a 0x20-mixed name in another case), bytes past end left out. end <=
 * JB_DNS_HDR + JB_DNS_QWORDS * 8 (the walker bounds a name to 256 wire
 * bytes, +4). Global: verified once. */
__noinline int jb_dns_qhash(__u32 end)
{
	__u32 zero = 0;
	struct jb_dns_scratch *s = bpf_map_lookup_elem(&jb_dns_scratch, &zero);
	__u64 h;

	if (!s)
		return -1;
	h = jb_mix64(0x7175657279ULL ^ end); /* "query" */
	for (int i = 0; i < JB_DNS_QWORDS; i++) {
		__u32 at = JB_DNS_HDR + (__u32)i * 8;
		__u64 x, b7, ge_a, gt_z;

		if (at >= end)
			break;
		__builtin_memcpy(&x, &s->msg[at], 8);
		if (at + 8 > end)
			x &= (1ULL << ((end - at) * 8)) - 1; /* little endian */
		/* bytes 'A'..'Z' (high bit clear) get 0x20: SWAR on 7-bit parts */
		b7 = x & 0x7f7f7f7f7f7f7f7fULL;
		ge_a = b7 + 0x3f3f3f3f3f3f3f3fULL; /* high bit: >= 0x41 */
		gt_z = b7 + 0x2525252525252525ULL; /* high bit: >= 0x5b */
		x |= ((ge_a & ~gt_z & ~x) & 0x8080808080808080ULL) >> 2;
		h = jb_mix64(h ^ x);
	}
	s->qk.qhash = h;
	return 0;
}

/* Clear names past len and hash what is left. */
static __always_inline void dns_seal(struct jb_dns *v)
{
	__u64 *w = (__u64 *)v->names;
	__u64 h = jb_mix64(0x646e73ULL ^ v->len); /* "dns" */
	__u32 len = v->len;

	for (int i = 0; i < JB_DNS_NAMES_LEN / 8; i++) {
		__u32 at = (__u32)i * 8;
		__u64 x = w[i];

		if (at >= len)
			x = 0;
		else if (at + 8 > len)
			x &= (1ULL << ((len - at) * 8)) - 1; /* little endian */
		w[i] = x;
		h = jb_mix64(h ^ x);
	}
	v->names_hash = h;
}

/* The j-th address of the answer gets the names in s->val. Global: the
 * verifier checks it once, not once per address. */
__noinline int jb_dns_store(__u32 j, __u64 now)
{
	__u32 zero = 0;
	struct jb_dns_scratch *s = bpf_map_lookup_elem(&jb_dns_scratch, &zero);
	struct jb_dns_key k = {};
	struct jb_dns *e;
	__u32 o;
	long r;

	if (!s || j >= JB_DNS_MAX_ADDRS)
		return 0;
	/* the verifier needs the bound on the register the index uses: hide
	 * the comparison above from clang, then mask (a no-op here) */
	asm volatile("" : "+r"(j));
	j &= JB_DNS_MAX_ADDRS - 1;
	o = s->addr_off[j] & JB_DNS_MSG_MASK;
	k.netns = s->qk.netns;
	k.family = s->addr_fam[j];
	if (k.family == JB_AF_INET)
		__builtin_memcpy(k.addr, &s->msg[o], 4);
	else
		__builtin_memcpy(k.addr, &s->msg[o], 16);
	e = bpf_map_lookup_elem(&jb_dns, &k);
	if (e && e->names_hash == s->val.names_hash) {
		e->last_ns = now; /* the same names again: refresh only */
		e->ttl = s->addr_ttl[j];
		e->flags = s->val.flags;
		return 0;
	}
	s->val.ttl = s->addr_ttl[j];
	s->val.first_ns = e ? e->first_ns : now;
	s->val.last_ns = now;
	if (!e) {
		r = bpf_map_update_elem(&jb_dns, &k, &s->val, BPF_NOEXIST);
		if (r == 0) {
			stat_inc(JB_STAT_DNS_NEW);
			return 0;
		}
		if (r != -JB_EEXIST) {
			stat_inc(JB_STAT_DNS_FAIL);
			return 0;
		}
	}
	/* other names for a known address: the newest answer wins */
	if (bpf_map_update_elem(&jb_dns, &k, &s->val, BPF_ANY) < 0)
		stat_inc(JB_STAT_DNS_FAIL);
	return 0;
}

/* May the owner of this socket have one more query remembered? Pending
 * queries share one LRU for the host, so a user who floods queries (in a
 * namespace of their own, on its loopback, for free) would evict everyone's
 * and wash the names of the answers to them. A token bucket per socket
 * owner (the uid as the host sees it: a user namespace maps to its
 * creator's) lets each user have JB_DNS_QRATE queries a second remembered,
 * JB_DNS_QBURST at once; root's are not limited (root is not who this
 * stops). With the default sizes a flood by one user evicts only queries
 * pending for longer than JB_DNS_QUERIES / JB_DNS_QRATE (8 s). Updates
 * race between CPUs: the bucket is approximate, never negative. */
static __always_inline int dns_query_allowed(__u32 uid, __u64 now)
{
	struct jb_dns_qrate *r, fresh = {};
	__u64 add;

	if (uid == 0)
		return 1;
	r = bpf_map_lookup_elem(&jb_dns_qrate, &uid);
	if (!r) {
		fresh.last_ns = now;
		fresh.tokens = JB_DNS_QBURST - 1;
		bpf_map_update_elem(&jb_dns_qrate, &uid, &fresh, BPF_NOEXIST);
		return 1;
	}
	if (now > r->last_ns) {
		__u64 dt = now - r->last_ns;

		if (dt > 10ULL * 1000000000ULL)
			dt = 10ULL * 1000000000ULL; /* (full anyway; no overflow) */
		add = dt * JB_DNS_QRATE / 1000000000ULL;
		if (add) {
			/* keep the fraction: advance by what was added */
			r->last_ns += add * 1000000000ULL / JB_DNS_QRATE;
			if (now - r->last_ns > 10ULL * 1000000000ULL)
				r->last_ns = now;
			r->tokens = r->tokens + add > JB_DNS_QBURST ? JB_DNS_QBURST
								    : r->tokens + add;
		}
	}
	if (r->tokens == 0)
		return 0;
	r->tokens--;
	return 1;
}

/* A query: the message at byte 'off' of the packet, 'len' bytes long, sent
 * by a socket of namespace s->qk.netns from port s->qk.lport to server
 * s->qk.server port 53. Remembered in jb_dns_queries when it is a standard
 * query with one well-formed question. Global, so verified once. */
__noinline int jb_dns_query(struct __sk_buff *skb, __u32 off, __u32 len)
{
	__u32 flags, qd, zero = 0;
	struct jb_dns_scratch *s = bpf_map_lookup_elem(&jb_dns_scratch, &zero);
	__u64 now;
	long r;

	if (!s)
		return 0;
	if (len > JB_DNS_QUERY_MAX)
		len = JB_DNS_QUERY_MAX; /* the question is within the first 272 */
	if (len < JB_DNS_HDR + 5)
		return 0; /* header, root name, type, class */
	asm volatile("" : "+r"(len));
	len = ((len - 1) & (JB_DNS_QUERY_MAX - 1)) + 1;
	if (bpf_skb_load_bytes(skb, off, s->msg, len) < 0)
		return 0;
	s->len = len;
	s->clipped = 0;
	flags = dns_u16(s, 2);
	qd = dns_u16(s, 4);
	if ((flags & 0x8000) || (flags & 0x7800) || qd != 1)
		return 0; /* a response, another opcode, no or several questions */
	r = jb_dns_name(JB_DNS_HDR, 0);
	if (r < 0 || (__u32)r + 4 > s->len)
		return 0;
	jb_dns_qhash((__u32)r + 4);
	__builtin_memcpy(&s->qk.id, s->msg, 2);
	now = bpf_ktime_get_ns();
	if (!dns_query_allowed(bpf_get_socket_uid(skb), now))
		return 0; /* over its rate: its answer will be rejected (counted) */
	if (bpf_map_update_elem(&jb_dns_queries, &s->qk, &now, BPF_ANY) < 0)
		stat_inc(JB_STAT_DNS_FAIL);
	return 0;
}

/* Parse the message at byte 'off' of the packet, 'len' bytes long, that
 * server s->qk.server sent from port 53 to port s->qk.lport of a socket of
 * namespace s->qk.netns. Global, so verified once. */
__noinline int jb_dns_parse(struct __sk_buff *skb, __u32 off, __u32 len)
{
	__u32 flags, qd, an, pos, empty, zero = 0;
	struct jb_dns_scratch *s = bpf_map_lookup_elem(&jb_dns_scratch, &zero);
	long r;

	if (!s)
		return 0;

	s->clipped = len > JB_DNS_MSG_MAX;
	if (len > JB_DNS_MSG_MAX)
		len = JB_DNS_MSG_MAX;
	if (len < JB_DNS_HDR) {
		stat_inc(JB_STAT_DNS_BAD);
		return 0;
	}
	/* the verifier needs the bound on the register itself: hide the
	 * comparisons above from clang, then mask (a no-op for 12..4096) */
	asm volatile("" : "+r"(len));
	len = ((len - 1) & JB_DNS_MSG_MASK) + 1;
	if (bpf_skb_load_bytes(skb, off, s->msg, len) < 0) {
		stat_inc(JB_STAT_DNS_BAD);
		return 0;
	}
	s->len = len;
	flags = dns_u16(s, 2);
	qd = dns_u16(s, 4);
	an = dns_u16(s, 6);
	/* a response (QR) to a standard query (opcode 0) with one question;
	 * one with an error or no answer names nothing, but still answers
	 * (uses up) its query, so that nothing can answer it again */
	if (!(flags & 0x8000) || (flags & 0x7800) || qd != 1)
		return 0;
	empty = (flags & 0x000f) || an == 0;
	__builtin_memset(&s->val, 0, sizeof(s->val));
	s->naddr = 0;
	r = jb_dns_name(JB_DNS_HDR, 1);
	if (r < 0) {
		if (!empty)
			stat_inc(r == -2 ? JB_STAT_DNS_CUT : JB_STAT_DNS_BAD);
		return 0;
	}
	if (s->val.count == 0)
		return 0; /* a question for the root: no name to give */
	pos = (__u32)r + 4; /* qtype, qclass */
	if (pos > s->len) {
		if (!empty)
			stat_inc(s->clipped ? JB_STAT_DNS_CUT : JB_STAT_DNS_BAD);
		return 0;
	}
	/* the answer to a query this port sent to this server, in this
	 * namespace, with this id and question, not long ago: or nothing */
	jb_dns_qhash(pos);
	__builtin_memcpy(&s->qk.id, s->msg, 2);
	{
		__u64 *sent = bpf_map_lookup_elem(&jb_dns_queries, &s->qk);
		__u64 now = bpf_ktime_get_ns();

		if (empty) {
			if (sent)
				bpf_map_delete_elem(&jb_dns_queries, &s->qk);
			return 0;
		}
		if (!sent || now - *sent > JB_DNS_QUERY_NS) {
			stat_inc(JB_STAT_DNS_REJECT);
			if (sent)
				bpf_map_delete_elem(&jb_dns_queries, &s->qk);
			return 0;
		}
		/* consumed: a second answer to it is a forgery or a duplicate */
		bpf_map_delete_elem(&jb_dns_queries, &s->qk);
	}
	if (an > JB_DNS_MAX_ANSWERS) {
		an = JB_DNS_MAX_ANSWERS;
		stat_inc(JB_STAT_DNS_CUT);
	}
	for (__u32 i = 0; i < JB_DNS_MAX_ANSWERS; i++) {
		__u32 type, class, ttl, rdlen, rdata;

		if (i >= an)
			break;
		r = jb_dns_name(pos, 0);
		if (r < 0 || (__u32)r + 10 > s->len) {
			s->val.flags |= JB_DNS_TRUNC;
			stat_inc(r == -2 || s->clipped ? JB_STAT_DNS_CUT : JB_STAT_DNS_BAD);
			break;
		}
		pos = (__u32)r;
		type = dns_u16(s, pos);
		class = dns_u16(s, pos + 2);
		ttl = (dns_u16(s, pos + 4) << 16) | dns_u16(s, pos + 6);
		rdlen = dns_u16(s, pos + 8);
		rdata = pos + 10;
		if (rdata + rdlen > s->len) {
			s->val.flags |= JB_DNS_TRUNC;
			stat_inc(s->clipped ? JB_STAT_DNS_CUT : JB_STAT_DNS_BAD);
			break;
		}
		pos = rdata + rdlen;
		if (class != JB_DNS_C_IN)
			continue;
		if (type == JB_DNS_T_CNAME) {
			r = jb_dns_name(rdata, 1);
			if (r < 0 || (__u32)r != pos) {
				s->val.flags |= JB_DNS_TRUNC;
				stat_inc(JB_STAT_DNS_BAD);
				break;
			}
		} else if ((type == JB_DNS_T_A && rdlen == 4) ||
			   (type == JB_DNS_T_AAAA && rdlen == 16)) {
			__u32 n = s->naddr;

			if (n >= JB_DNS_MAX_ADDRS) {
				if (n == JB_DNS_MAX_ADDRS) /* counted once per answer */
					stat_inc(JB_STAT_DNS_CUT);
				s->naddr = JB_DNS_MAX_ADDRS + 1;
				continue;
			}
			s->addr_off[n] = (__u16)rdata;
			s->addr_fam[n] = type == JB_DNS_T_A ? JB_AF_INET : JB_AF_INET6;
			s->addr_ttl[n] = ttl;
			s->naddr = n + 1;
		}
	}
	if (!s->naddr)
		return 0;
	dns_seal(&s->val);
	{
		__u64 now = bpf_ktime_get_ns();

		for (__u32 j = 0; j < JB_DNS_MAX_ADDRS; j++) {
			if (j >= s->naddr)
				break;
			jb_dns_store(j, now);
		}
	}
	return 0;
}

/* One packet: IPv4 (any IHL) or IPv6 (no extension headers) carrying UDP
 * or TCP from port 53 (ingress: an answer) or to port 53 (egress: a query).
 * Over TCP a message is only seen when a segment begins with its 2-byte
 * length and holds all of it (the usual case for a query, and for an
 * answer that fits one segment); a message spread over several segments
 * is not followed. The query key's namespace, protocol, family, server and
 * local port come from here. */
static __always_inline int dns_hook(struct __sk_buff *skb, const int egress)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct jb_dns_scratch *s;
	__u32 l4, aoff, alen, off, len, zero = 0;
	__u16 port, lport, family;
	__u8 proto;

	if (skb->protocol == bpf_htons(JB_ETH_P_IP)) {
		__u8 *ip = data;

		if ((void *)(ip + 20) > end)
			return 1; /* headers are linear at socket delivery and send */
		proto = ip[9];
		l4 = (ip[0] & 0xf) * 4;
		if (l4 < 20)
			return 1;
		family = JB_AF_INET;
		aoff = egress ? 16 : 12; /* the server: destination or source */
		alen = 4;
	} else if (skb->protocol == bpf_htons(JB_ETH_P_IPV6)) {
		__u8 *ip6 = data;

		if ((void *)(ip6 + 40) > end)
			return 1;
		proto = ip6[6]; /* extension headers are not followed */
		l4 = 40;
		family = JB_AF_INET6;
		aoff = egress ? 24 : 8;
		alen = 16;
	} else {
		return 1;
	}
	if (proto != JB_IPPROTO_UDP && proto != JB_IPPROTO_TCP)
		return 1;
	if (data + l4 + 8 > end)
		return 1;
	/* ingress: from port 53 to lport; egress: from lport to port 53 */
	__builtin_memcpy(&port, data + l4 + (egress ? 2 : 0), 2);
	if (port != bpf_htons(53))
		return 1;
	__builtin_memcpy(&lport, data + l4 + (egress ? 0 : 2), 2);
	if (proto == JB_IPPROTO_UDP) {
		if (skb->len < l4 + 8)
			return 1;
		off = l4 + 8;
		len = skb->len - off;
	} else {
		__u8 *th = data + l4;
		__u16 pfx;

		if ((void *)(th + 20) > end)
			return 1;
		off = (th[12] >> 4) * 4; /* data offset */
		if (off < 20)
			return 1;
		off += l4;
		if (skb->len < off + 2 + JB_DNS_HDR)
			return 1; /* handshake, ACKs, FIN: no message here */
		if (bpf_skb_load_bytes(skb, off, &pfx, 2) < 0)
			return 1;
		len = bpf_ntohs(pfx);
		off += 2;
		if (len < JB_DNS_HDR || len > skb->len - off)
			return 1; /* not the start of a whole message */
	}

	/* DNS: from here on the cost only hits port-53 traffic */
	s = bpf_map_lookup_elem(&jb_dns_scratch, &zero);
	if (!s)
		return 1;
	/* atomic: in process context another task may run us on this CPU */
	if (__sync_val_compare_and_swap(&s->busy, 0, 1) != 0) {
		stat_inc(JB_STAT_DNS_FAIL);
		return 1;
	}
	__builtin_memset(&s->qk, 0, sizeof(s->qk));
	s->qk.netns = bpf_get_netns_cookie(skb); /* the socket's namespace */
	s->qk.family = family;
	s->qk.proto = proto;
	s->qk.lport = lport;
	if (alen == 4) {
		if (data + 20 <= end)
			__builtin_memcpy(s->qk.server, data + aoff, 4);
	} else {
		if (data + 40 <= end)
			__builtin_memcpy(s->qk.server, data + aoff, 16);
	}
	if (egress)
		jb_dns_query(skb, off, len);
	else
		jb_dns_parse(skb, off, len);
	s->busy = 0;
	return 1;
}

SEC("cgroup_skb/ingress")
int jb_dns_ingress(struct __sk_buff *skb)
{
	return dns_hook(skb, 0);
}

SEC("cgroup_skb/egress")
int jb_dns_egress(struct __sk_buff *skb)
{
	return dns_hook(skb, 1);
}
