/*
 * collect_dns.c - each cadence, copy the jb_dns map (addresses from DNS
 * answers to queries the same namespace and port sent, and the names that
 * led to them, bpf/dns.bpf.h) into the snapshot's domains section, where
 * jb_snap_flow_names() finds a flow's names in the flow's own namespace.
 *
 * Invariants:
 *  - the whole map goes into every snapshot, not a delta: a flow can start
 *    long after the answer that named its peer. The map is bounded
 *    (JB_DNS_ENTRIES) and so is the section (jb_snap_create reserves as
 *    many; a region made smaller keeps the first records the map yields).
 *  - every record is checked before it is copied (len within names, the
 *    byte before len a NUL): a reader may trust that each name is NUL
 *    terminated inside the record.
 *  - one walk of the map per cadence (mapwalk.c: batch reads, per-key reads
 *    if the kernel lacks them); a failed read leaves the section empty for
 *    this cadence, logged.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "common/log.h"
#include "collect_dns.h"
#include "loader.h"
#include "mapwalk.h"

_Static_assert(JB_STAT_DNS_CUT == JB_STAT_DNS_NEW + 3 && JB_STAT_DNS_REJECT == JB_STAT_DNS_NEW + 4,
	       "the DNS counters stay together");

struct sup_dns {
	struct jb_dns_key *keys;
	struct jb_dns *vals;
	uint32_t cap;
	uint64_t stats_prev[5]; /* JB_STAT_DNS_NEW .. JB_STAT_DNS_REJECT */
	uint32_t count_prev;
};

struct sup_dns *sup_dns_new(void)
{
	struct sup_dns *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->cap = JB_DNS_ENTRIES;
	d->keys = calloc(d->cap, sizeof(*d->keys));
	d->vals = calloc(d->cap, sizeof(*d->vals));
	d->count_prev = UINT32_MAX;
	if (!d->keys || !d->vals) {
		sup_dns_free(d);
		return NULL;
	}
	return d;
}

void sup_dns_free(struct sup_dns *d)
{
	if (!d)
		return;
	free(d->keys);
	free(d->vals);
	free(d);
}

static int sane(const struct jb_dns_key *k, const struct jb_dns *d)
{
	return k->netns != 0 && (k->family == 2 || k->family == 10) && d->len > 0 &&
	       d->len <= sizeof(d->names) && d->names[d->len - 1] == '\0';
}

void sup_dns_collect(struct sup_dns *d, struct jb_bpf *b, struct jb_snap_region *r,
		     struct jb_snap_slot_hdr *h)
{
	uint32_t room, out = 0;
	struct jb_snap_domain *dom = jb_snap_domains(r, h, &room);
	int fd = jb_bpf_dns_fd(b);
	struct sup_walk w = {.fd = fd, .max_entries = JB_DNS_ENTRIES, .keys = d->keys,
			     .vals = d->vals, .ksz = sizeof(*d->keys), .vsz = sizeof(*d->vals),
			     .cap = d->cap, .append = 1};

	h->ndomains = 0;
	if (fd < 0 || room == 0)
		return;
	if (sup_map_walk(b, &w) < 0) {
		log_warn("reading the DNS map");
		return;
	}
	for (uint32_t i = 0; i < w.n; i++) {
		if (!sane(&d->keys[i], &d->vals[i]))
			continue;
		if (out == room)
			break; /* a region sized below the map (not the default) */
		dom[out].key = d->keys[i];
		dom[out].dns = d->vals[i];
		out++;
	}
	h->ndomains = out;
	if (out != d->count_prev ||
	    memcmp(d->stats_prev, &h->lost[JB_STAT_DNS_NEW], sizeof(d->stats_prev))) {
		log_debug("dns: %u addresses with names (answers recorded %llu, failed %llu, "
			  "malformed %llu, cut %llu, rejected %llu)",
			  out, (unsigned long long)h->lost[JB_STAT_DNS_NEW],
			  (unsigned long long)h->lost[JB_STAT_DNS_FAIL],
			  (unsigned long long)h->lost[JB_STAT_DNS_BAD],
			  (unsigned long long)h->lost[JB_STAT_DNS_CUT],
			  (unsigned long long)h->lost[JB_STAT_DNS_REJECT]);
		d->count_prev = out;
		memcpy(d->stats_prev, &h->lost[JB_STAT_DNS_NEW], sizeof(d->stats_prev));
	}
}
