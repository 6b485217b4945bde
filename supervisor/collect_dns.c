/*
 * collect_dns.c - each cadence, copy the jb_dns map (addresses from DNS
 * answers and the names that led to them, bpf/dns.bpf.h) into the
 * snapshot's domains section, where jb_snap_flow_names() finds a flow's
 * names.
 *
 * Invariants:
 *  - the whole map goes into every snapshot, not a delta: a flow can start
 *    long after the answer that named its peer. The map is bounded
 *    (JB_DNS_ENTRIES) and so is the section (jb_snap_create reserves as
 *    many; a region made smaller keeps the first records the map yields).
 *  - every record is checked before it is copied (len within names, the
 *    byte before len a NUL): a reader may trust that each name is NUL
 *    terminated inside the record.
 *  - one batch read per cadence (per-key reads if the kernel lacks them);
 *    a failed read leaves the section empty for this cadence, logged.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "common/log.h"
#include "collect_dns.h"
#include "loader.h"

_Static_assert(JB_STAT_DNS_CUT == JB_STAT_DNS_NEW + 3, "the DNS counters stay together");

static struct jb_dns_key *keys;
static struct jb_dns *vals;
static uint32_t cap;
static uint64_t stats_prev[4];
static uint32_t count_prev = UINT32_MAX;

static int dump(const struct jb_bpf *b, int fd, uint32_t *n)
{
	*n = 0;
	if (b->batch_ok) {
		uint32_t in = 0, out = 0;
		void *inp = NULL;
		DECLARE_LIBBPF_OPTS(bpf_map_batch_opts, o);

		while (*n < cap) {
			__u32 count = cap - *n;
			int r = bpf_map_lookup_batch(fd, inp, &out, keys + *n, vals + *n, &count, &o);

			*n += count;
			if (r < 0)
				return errno == ENOENT ? 0 : -1; /* ENOENT: the whole map */
			in = out;
			inp = &in;
		}
		return 0;
	}
	{
		struct jb_dns_key prev, cur;
		void *pk = NULL;

		while (*n < cap && bpf_map_get_next_key(fd, pk, &cur) == 0) {
			if (bpf_map_lookup_elem(fd, &cur, vals + *n) == 0)
				keys[(*n)++] = cur;
			prev = cur;
			pk = &prev;
		}
	}
	return 0;
}

static int sane(const struct jb_dns_key *k, const struct jb_dns *d)
{
	return (k->family == 2 || k->family == 10) && d->len > 0 &&
	       d->len <= sizeof(d->names) && d->names[d->len - 1] == '\0';
}

void sup_dns_collect(struct jb_bpf *b, struct jb_snap_region *r, struct jb_snap_slot_hdr *h)
{
	uint32_t room, n = 0, out = 0;
	struct jb_snap_domain *dom = jb_snap_domains(r, h, &room);
	int fd = jb_bpf_dns_fd(b);

	h->ndomains = 0;
	if (fd < 0 || room == 0)
		return;
	if (!keys) {
		cap = JB_DNS_ENTRIES;
		keys = calloc(cap, sizeof(*keys));
		vals = calloc(cap, sizeof(*vals));
		if (!keys || !vals) {
			free(keys);
			free(vals);
			keys = NULL;
			vals = NULL;
			log_warn("DNS collector");
			return;
		}
	}
	if (dump(b, fd, &n) < 0) {
		log_warn("reading the DNS map");
		return;
	}
	for (uint32_t i = 0; i < n; i++) {
		if (!sane(&keys[i], &vals[i]))
			continue;
		if (out == room)
			break; /* a region sized below the map (not the default) */
		dom[out].key = keys[i];
		dom[out].dns = vals[i];
		out++;
	}
	h->ndomains = out;
	if (out != count_prev || memcmp(stats_prev, &h->lost[JB_STAT_DNS_NEW], sizeof(stats_prev))) {
		log_debug("dns: %u addresses with names (answers recorded %llu, failed %llu, "
			  "malformed %llu, cut %llu)",
			  out, (unsigned long long)h->lost[JB_STAT_DNS_NEW],
			  (unsigned long long)h->lost[JB_STAT_DNS_FAIL],
			  (unsigned long long)h->lost[JB_STAT_DNS_BAD],
			  (unsigned long long)h->lost[JB_STAT_DNS_CUT]);
		count_prev = out;
		memcpy(stats_prev, &h->lost[JB_STAT_DNS_NEW], sizeof(stats_prev));
	}
}
