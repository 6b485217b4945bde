/*
 * privacy.c - keyed pseudonymisation of an event's personal identifiers
 * (privacy.h; what is covered and why: docs/PRIVACY.md).
 *
 * One walk over the whole event: every string and every "uid" number,
 * nested objects and arrays included, except the recipe's own metadata at
 * the top (kind, name, description, mitre...: written by the operator,
 * never about a person) and opaque ids ("id", "container_id", "pod_uid").
 *
 * Invariants:
 *  - a pseudonym is a pure function of (key, type, value): the same value
 *    gives the same pseudonym in every event, printer and host sharing the
 *    key, and `jibril --reveal` recomputes it from the value alone;
 *  - strings are rewritten in ONE pass over the original text: a pseudonym
 *    just written is never matched again, and the result never depends on
 *    the order of the rules;
 *  - on any allocation failure prv_apply returns -1 and the caller drops
 *    the event: a half-rewritten event must never be printed.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>

#include "common/privacy.h"

/* 12 hex digits (48 bits): with n distinct values the chance that two
 * share a pseudonym is about n^2 / 2^49: 2e-5 for 100 000 users or
 * peers, 2 % for 2.4 million peer addresses; 8 digits would already pass
 * 50 % at 77 000 addresses. Longer is harder to read and to say. */
#define PRV_HEX 12

/* uids below this are system accounts (Debian's UID_MIN), nobody (65534)
 * and (uid_t)-1 are not people either: they stay in clear */
#define PRV_UID_MIN 1000u

void prv_pseudonym(const unsigned char key[PRV_KEY_LEN], const char *type, const char *value,
		   char out[PRV_PSEUDO_MAX])
{
	prv_pseudonym_n(key, type, value, strlen(value), out);
}

void prv_pseudonym_n(const unsigned char key[PRV_KEY_LEN], const char *type, const char *value,
		     size_t len, char out[PRV_PSEUDO_MAX])
{
	static const char hex[] = "0123456789abcdef";
	static EVP_MAC *hmac;
	unsigned char mac[EVP_MAX_MD_SIZE];
	size_t tl = strlen(type), n, maclen = 0;
	char md[] = "SHA256";
	OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", md, 0),
			       OSSL_PARAM_construct_end()};
	EVP_MAC_CTX *c;

	/* type || 0 || value: "user" "1000" and "uid" "1000" differ */
	if (!hmac)
		hmac = EVP_MAC_fetch(NULL, "HMAC", NULL); /* kept for the process's life */
	c = hmac ? EVP_MAC_CTX_new(hmac) : NULL;
	if (!c || !EVP_MAC_init(c, key, PRV_KEY_LEN, params) ||
	    !EVP_MAC_update(c, (const unsigned char *)type, tl) ||
	    !EVP_MAC_update(c, (const unsigned char *)"", 1) ||
	    !EVP_MAC_update(c, (const unsigned char *)value, len) ||
	    !EVP_MAC_final(c, mac, &maclen, sizeof(mac)) || maclen < PRV_HEX / 2)
		abort(); /* OpenSSL out of memory: no pseudonym, and never the value instead */
	EVP_MAC_CTX_free(c);
	if (tl > PRV_PSEUDO_MAX - PRV_HEX - 2)
		tl = PRV_PSEUDO_MAX - PRV_HEX - 2;
	memcpy(out, type, tl);
	out[tl] = '-';
	for (n = 0; n < PRV_HEX; n++)
		out[tl + 1 + n] = hex[(mac[n / 2] >> (n % 2 ? 0 : 4)) & 0xf];
	out[tl + 1 + PRV_HEX] = '\0';
}

int prv_uid_personal(unsigned long long uid)
{
	return uid >= PRV_UID_MIN && uid != 65534 && uid != 4294967295ull;
}

/* --- one string ------------------------------------------------------ */

struct buf {
	char *p;
	size_t len, cap;
	int oom;
};

static void put(struct buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;
		char *p;
		while (cap < b->len + n + 1)
			cap *= 2;
		if (!(p = realloc(b->p, cap))) {
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* The local users' names as a hash set, built once per names block (a
 * printer's never changes) and kept: looking a word up costs one probe per
 * distinct name length, not a comparison per account (a host with 20 000
 * accounts, or an event of many short words, made each event cost
 * hundreds of milliseconds, and an attacker's detections could hold a
 * pseudonymising printer back). Single-threaded: the printer's loop. */
static int word_ch(unsigned char c);

struct users_index {
	char *block;		/* a copy of the block it was built from */
	size_t block_len;
	const char **name;	/* into block */
	size_t *len, n;
	uint32_t *slot;		/* name index + 1; 0 empty */
	size_t mask;
	size_t *lens, nlens;	/* the distinct lengths, longest first */
};

static uint32_t fnv(const char *s, size_t n)
{
	uint32_t h = 2166136261u;

	while (n--)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

static void users_index_free(struct users_index *x)
{
	free(x->block);
	free(x->name);
	free(x->len);
	free(x->slot);
	free(x->lens);
	memset(x, 0, sizeof(*x));
}

static int by_size_desc(const void *a, const void *b)
{
	size_t la = *(const size_t *)a, lb = *(const size_t *)b;

	return la < lb ? 1 : la > lb ? -1 : 0;
}

/* The index of p's names (built, or the one kept when p's block is the
 * same). NULL with no names; *oom set when it cannot be built. */
static const struct users_index *users_index(const struct prv_policy *p, int *oom)
{
	static struct users_index x;
	size_t i, n = 0, k;

	if (!p->users || !p->users_len) {
		return NULL;
	}
	if (x.block && x.block_len == p->users_len && !memcmp(x.block, p->users, p->users_len))
		return x.n ? &x : NULL;
	users_index_free(&x);
	if (!(x.block = malloc(p->users_len)))
		goto oom;
	memcpy(x.block, p->users, p->users_len);
	x.block_len = p->users_len;
	for (i = 0; i < p->users_len; i += strnlen(p->users + i, p->users_len - i) + 1)
		n++;
	x.name = calloc(n ? n : 1, sizeof(*x.name));
	x.len = calloc(n ? n : 1, sizeof(*x.len));
	x.lens = calloc(n ? n : 1, sizeof(*x.lens));
	for (x.mask = 15; x.mask < 2 * n; x.mask = x.mask * 2 + 1)
		;
	x.slot = calloc(x.mask + 1, sizeof(*x.slot));
	if (!x.name || !x.len || !x.lens || !x.slot)
		goto oom;
	for (i = 0; i < x.block_len;) {
		size_t l = strnlen(x.block + i, x.block_len - i);
		if (l && i + l < x.block_len) { /* NUL-terminated in the block */
			uint32_t h = fnv(x.block + i, l);
			size_t at = h & x.mask;
			for (; x.slot[at]; at = (at + 1) & x.mask)
				if (x.len[x.slot[at] - 1] == l &&
				    !memcmp(x.name[x.slot[at] - 1], x.block + i, l))
					break; /* a name twice (files and LDAP) */
			if (!x.slot[at]) {
				x.name[x.n] = x.block + i;
				x.len[x.n] = l;
				x.slot[at] = (uint32_t)++x.n;
				for (k = 0; k < x.nlens && x.lens[k] != l; k++)
					;
				if (k == x.nlens)
					x.lens[x.nlens++] = l;
			}
		}
		i += l + 1;
	}
	qsort(x.lens, x.nlens, sizeof(*x.lens), by_size_desc);
	return x.n ? &x : NULL;
oom:
	users_index_free(&x);
	*oom = 1;
	return NULL;
}

/* The length of the longest local user's name at s[i] that ends a word,
 * or 0. */
static size_t user_at(const struct users_index *x, const char *s, size_t n, size_t i)
{
	for (size_t k = 0; x && k < x->nlens; k++) {
		size_t l = x->lens[k], at;
		if (l > n - i || (i + l < n && word_ch((unsigned char)s[i + l])))
			continue;
		for (at = fnv(s + i, l) & x->mask; x->slot[at]; at = (at + 1) & x->mask)
			if (x->len[x->slot[at] - 1] == l &&
			    !memcmp(x->name[x->slot[at] - 1], s + i, l))
				return l;
	}
	return 0;
}

struct walk {
	const struct prv_policy *p;
	const struct users_index *ux; /* the local users' names, or NULL */
	const char *host, *label; /* the event's hostname and its first label */
	size_t hostlen, labellen;
	json_t *changed;	/* the "pseudonymised" array */
	int oom;
};

static int word_ch(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

static int host_ch(unsigned char c)
{
	return word_ch(c) || c == '-';
}

static int digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* the end of a path component or a user name in free text: user names
 * hold none of these (useradd refuses them) */
static int comp_end(unsigned char c)
{
	return !c || strchr("/ \t\r\n:;,'\"=()<>|&`$", c) != NULL;
}

static void put_pseudo(struct buf *b, const struct walk *w, const char *type, const char *v,
		       size_t n)
{
	char ps[PRV_PSEUDO_MAX];

	prv_pseudonym_n(w->p->key, type, v, n, ps);
	put(b, ps, strlen(ps));
}

/* At s[i] (i == 0 or s[i-1] not a word character): a run of digits that
 * is a personal uid, followed by a non-digit. Its length, or 0. */
static size_t uid_at(const char *s, size_t n, size_t i)
{
	size_t j = i;
	unsigned long long v = 0;

	while (j < n && digit((unsigned char)s[j]) && j - i < 11)
		v = v * 10 + (unsigned)(s[j++] - '0');
	if (j == i || (j < n && digit((unsigned char)s[j])) || !prv_uid_personal(v))
		return 0;
	return j - i;
}

static int starts(const char *s, size_t n, size_t i, const char *lit)
{
	size_t l = strlen(lit);

	return n - i >= l && !memcmp(s + i, lit, l);
}

/* At s[i]: a pseudonym this file writes ("user-", "uid-", "host-" or
 * "ip-" and PRV_HEX lower-case hex digits, not followed by a word
 * character). Its length, or 0. Text made of pseudonymised events (a
 * detection_summary's answer quoting /home/user-3fdb2d4cde45) goes through
 * a printer's policy again: a pseudonym must come out as it went in, not
 * as the pseudonym of a pseudonym (or, "user-1234abcd...", as a uid). */
static size_t pseudo_at(const char *s, size_t n, size_t i)
{
	static const char *const types[] = {"user-", "uid-", "host-", "ip-", NULL};
	size_t l, k;

	for (const char *const *t = types; *t; t++) {
		if (!starts(s, n, i, *t))
			continue;
		l = strlen(*t);
		for (k = 0; k < PRV_HEX && i + l + k < n; k++)
			if (!strchr("0123456789abcdef", s[i + l + k]) || !s[i + l + k])
				break;
		if (k == PRV_HEX && (i + l + k == n || !word_ch((unsigned char)s[i + l + k])))
			return l + k;
	}
	return 0;
}

/* Rewrite s (n bytes) into b; 1 if anything was replaced. */
static int rewrite(const struct walk *w, const char *s, size_t n, struct buf *b)
{
	uint32_t f = w->p->fields;
	int changed = 0;
	size_t i = 0, copied = 0;

	while (i < n) {
		int wstart = i == 0 || !word_ch((unsigned char)s[i - 1]);
		int hstart = i == 0 || !host_ch((unsigned char)s[i - 1]);
		const char *lit = NULL;
		size_t k, m = 0;

		if (wstart && (m = pseudo_at(s, n, i))) {
			i += m; /* already a pseudonym: kept as it is */
			continue;
		}
		if (f & PRV_USERS) {
			/* /home/NAME: any name, local or not (LDAP, sssd) */
			if (starts(s, n, i, "/home/")) {
				size_t j = i + 6;
				while (j < n && !comp_end((unsigned char)s[j]))
					j++;
				if (j > i + 6 && starts(s, n, i + 6, "user-") &&
				    pseudo_at(s, n, i + 6) == j - i - 6) {
					i = j; /* /home/user-xxxxxxxxxxxx: already one */
					continue;
				}
				if (j > i + 6) {
					put(b, s + copied, i + 6 - copied);
					put_pseudo(b, w, "user", s + i + 6, j - i - 6);
					i = copied = j;
					changed = 1;
					continue;
				}
			}
			/* a personal uid where systemd and logind write one:
			 * /run/user/UID, user-UID.slice, user@UID.service */
			if (starts(s, n, i, "/run/user/"))
				lit = "/run/user/";
			else if (wstart && (starts(s, n, i, "user-") || starts(s, n, i, "user@")))
				lit = "user-";
			if (lit && (m = uid_at(s, n, i + strlen(lit)))) {
				size_t at = i + strlen(lit);
				put(b, s + copied, at - copied);
				put_pseudo(b, w, "uid", s + at, m);
				i = copied = at + m;
				changed = 1;
				continue;
			}
			/* a local user's name as a word (the longest) */
			if (wstart && (k = user_at(w->ux, s, n, i))) {
				put(b, s + copied, i - copied);
				put_pseudo(b, w, "user", s + i, k);
				i = copied = i + k;
				changed = 1;
				continue;
			}
		}
		if ((f & PRV_HOSTS) && hstart) {
			/* this host's name (or its first label) as a word */
			const char *h = NULL;
			size_t l = 0;
			if (w->host && n - i >= w->hostlen && !memcmp(s + i, w->host, w->hostlen) &&
			    (i + w->hostlen == n || !host_ch((unsigned char)s[i + w->hostlen])))
				h = w->host, l = w->hostlen;
			else if (w->label && n - i >= w->labellen &&
				 !memcmp(s + i, w->label, w->labellen) &&
				 (i + w->labellen == n || !host_ch((unsigned char)s[i + w->labellen])))
				h = w->label, l = w->labellen;
			if (h) {
				put(b, s + copied, i - copied);
				put_pseudo(b, w, "host", h, l);
				i = copied = i + l;
				changed = 1;
				continue;
			}
		}
		i++;
	}
	if (changed)
		put(b, s + copied, n - copied);
	return changed;
}

/* --- the walk -------------------------------------------------------- */

static void note(struct walk *w, const char *path)
{
	size_t i;
	json_t *v;

	for (i = 0; i < json_array_size(w->changed); i++)
		if (!strcmp(json_string_value(json_array_get(w->changed, i)), path))
			return;
	if (!(v = json_string(path)) || json_array_append_new(w->changed, v) < 0)
		w->oom = 1;
}

/* Replace the string value *v (held by the caller's container) with s. */
static json_t *str_of(struct walk *w, const char *s, size_t n)
{
	json_t *v = json_stringn(s, n);

	if (!v)
		w->oom = 1;
	return v;
}

int prv_ip(const struct prv_policy *p, const char *addr, char *out, size_t outlen)
{
	unsigned char a[16];
	char net[INET6_ADDRSTRLEN], canon[INET6_ADDRSTRLEN], ps[PRV_PSEUDO_MAX];
	int fam = strchr(addr, ':') ? AF_INET6 : AF_INET, n;
	unsigned bits, max, i;

	if (inet_pton(fam, addr, a) != 1)
		return -1;
	if (fam == AF_INET6 && IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)a)) {
		/* an IPv4 peer of a dual-stack socket (::ffff:a.b.c.d): the
		 * same person as a.b.c.d, and its IPv4 network */
		memmove(a, a + 12, 4);
		fam = AF_INET;
	}
	bits = fam == AF_INET6 ? p->ipv6_prefix : p->ipv4_prefix;
	max = fam == AF_INET6 ? 128 : 32;
	if (bits > max)
		bits = max;
	/* the canonical text: every spelling of one address, one pseudonym */
	if (!inet_ntop(fam, a, canon, sizeof(canon)))
		return -1;
	prv_pseudonym(p->key, "ip", canon, ps);
	if (!bits) {
		n = snprintf(out, outlen, "%s", ps);
	} else {
		for (i = bits; i < max; i++)
			a[i / 8] &= (unsigned char)~(0x80u >> (i % 8));
		if (!inet_ntop(fam, a, net, sizeof(net)))
			return -1;
		n = snprintf(out, outlen, "%s/%u~%s", net, bits, ps);
	}
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

static json_t *ip_pseudo(struct walk *w, const char *s)
{
	char out[PRV_IP_MAX];

	if (prv_ip(w->p, s, out, sizeof(out)) < 0)
		return NULL;
	return str_of(w, out, strlen(out));
}

static const char *const top_clear[] = {
	/* the recipe's and the agent's own words, never about a person */
	"uuid", "timestamp", "event_time", "kind", "name", "mechanism", "breed", "importance",
	"description", "documentation", "mitre", "recipe", "reactions_not_run", "agent",
	"pseudonymised", NULL,
};
static const char *const any_clear[] = {"id", "container_id", "pod_uid", NULL};

static int in(const char *const *list, const char *k)
{
	for (; *list; list++)
		if (!strcmp(*list, k))
			return 1;
	return 0;
}

/* The new value for v (found under key, in an object under parent_key;
 * path names it), or NULL to keep it. Containers are walked in place. */
static json_t *walk_value(struct walk *w, json_t *v, const char *key, const char *parent_key,
			  char *path, size_t plen, size_t pcap, unsigned depth);

static void walk_object(struct walk *w, json_t *o, const char *self_key, char *path, size_t plen,
			size_t pcap, unsigned depth)
{
	const char *k;
	json_t *v, *nv;
	void *it;

	for (it = json_object_iter(o); it && !w->oom; it = json_object_iter_next(o, it)) {
		k = json_object_iter_key(it);
		v = json_object_iter_value(it);
		if (in(any_clear, k) || (depth == 0 && in(top_clear, k)))
			continue;
		int n = snprintf(path + plen, pcap - plen, "%s%s", plen ? "." : "", k);
		size_t nl = n < 0 ? plen : plen + (size_t)n >= pcap ? pcap - 1 : plen + (size_t)n;
		if ((nv = walk_value(w, v, k, self_key, path, nl, pcap, depth + 1))) {
			if (json_object_iter_set_new(o, it, nv) < 0)
				w->oom = 1;
			else
				note(w, path);
		}
		path[plen] = '\0';
	}
}

static json_t *walk_value(struct walk *w, json_t *v, const char *key, const char *parent_key,
			  char *path, size_t plen, size_t pcap, unsigned depth)
{
	uint32_t f = w->p->fields;

	if (json_is_object(v)) {
		walk_object(w, v, key, path, plen, pcap, depth);
		return NULL;
	}
	if (json_is_array(v)) {
		int n = snprintf(path + plen, pcap - plen, "[]");
		size_t nl = n < 0 || plen + (size_t)n >= pcap ? plen : plen + (size_t)n;
		for (size_t i = 0; i < json_array_size(v) && !w->oom; i++) {
			json_t *nv = walk_value(w, json_array_get(v, i), key, parent_key, path, nl,
						pcap, depth + 1);
			if (nv) {
				if (json_array_set_new(v, i, nv) < 0)
					w->oom = 1;
				else
					note(w, path);
			}
			path[nl] = '\0';
		}
		path[plen] = '\0';
		return NULL;
	}
	if ((f & PRV_USERS) && key && !strcmp(key, "uid") && json_is_integer(v)) {
		/* a number a printer policy covers is always a string, so a
		 * consumer's field keeps one type: "0" root, "uid-..." a person */
		char d[24], ps[PRV_PSEUDO_MAX];
		json_int_t u = json_integer_value(v);
		snprintf(d, sizeof(d), "%lld", (long long)u);
		if (u >= 0 && prv_uid_personal((unsigned long long)u)) {
			prv_pseudonym(w->p->key, "uid", d, ps);
			return str_of(w, ps, strlen(ps));
		}
		return str_of(w, d, strlen(d));
	}
	if (!json_is_string(v))
		return NULL;
	if ((f & PRV_HOSTS) && key && !strcmp(key, "hostname")) {
		char ps[PRV_PSEUDO_MAX];
		prv_pseudonym_n(w->p->key, "host", json_string_value(v), json_string_length(v), ps);
		return str_of(w, ps, strlen(ps));
	}
	if ((f & PRV_IPS) && key && !strcmp(key, "address") && parent_key &&
	    !strcmp(parent_key, "remote")) {
		json_t *nv = ip_pseudo(w, json_string_value(v));
		char ps[PRV_PSEUDO_MAX];
		if (nv || w->oom)
			return nv;
		/* not an address inet_pton reads (a scope "%eth0", a port, a
		 * form a later worker writes): never left in clear, the whole
		 * value becomes one pseudonym without a network */
		prv_pseudonym_n(w->p->key, "ip", json_string_value(v), json_string_length(v), ps);
		return str_of(w, ps, strlen(ps));
	}
	struct buf b = {0};
	json_t *nv = NULL;
	if (rewrite(w, json_string_value(v), json_string_length(v), &b)) {
		if (b.oom)
			w->oom = 1;
		else
			nv = str_of(w, b.p, b.len);
	}
	free(b.p);
	return nv;
}

int prv_apply(json_t *ev, const struct prv_policy *p)
{
	struct walk w = {.p = p};
	const char *hn;
	char path[256] = "";
	int rc = -1, oom = 0;

	if (!p->fields || !json_is_object(ev))
		return 0;
	/* the local user names (longest first: "anna.b" wins over "anna") */
	if ((p->fields & PRV_USERS) && (w.ux = users_index(p, &oom), oom))
		goto out;
	/* this host's name in free text: only a name of 4 bytes or more (a
	 * shorter one, "vm", "db", is an ordinary word of paths too) */
	hn = json_string_value(json_object_get(ev, "hostname"));
	if ((p->fields & PRV_HOSTS) && hn && strcmp(hn, "localhost")) {
		size_t hl = strlen(hn), ll = strcspn(hn, ".");
		if (hl >= 4) {
			w.host = hn;
			w.hostlen = hl;
		}
		if (ll >= 4 && ll < hl) {
			w.label = hn;
			w.labellen = ll;
		}
	}
	if (!(w.changed = json_array()))
		goto out;
	/* hn points into ev: keep the value alive while the walk replaces it */
	json_t *hold = json_incref(json_object_get(ev, "hostname"));
	walk_object(&w, ev, NULL, path, 0, sizeof(path), 0);
	json_decref(hold);
	if (!w.oom && json_object_set(ev, "pseudonymised", w.changed) == 0)
		rc = 0;
out:
	json_decref(w.changed);
	return rc;
}
