/*
 * collect_dns.h - the DNS part of a cadence: jb_dns -> the snapshot's
 * domains section (collect_dns.c), and the loader's piece of it.
 */
#ifndef JB_COLLECT_DNS_H
#define JB_COLLECT_DNS_H

#include "ipc/snapshot.h"

struct jb_bpf;

/* loader.c: fd of the jb_dns map, -1 when the DNS program is not attached
 * (no cgroup2 mount, attach refused). */
int jb_bpf_dns_fd(const struct jb_bpf *b);

/* The DNS collector's buffers (a whole map's worth) and what it last
 * logged; NULL when out of memory. */
struct sup_dns;
struct sup_dns *sup_dns_new(void);
void sup_dns_free(struct sup_dns *d);

/* Copy the whole jb_dns map into slot h's domains and set h->ndomains
 * (before jb_snap_publish, which sorts them). */
void sup_dns_collect(struct sup_dns *d, struct jb_bpf *b, struct jb_snap_region *r,
		     struct jb_snap_slot_hdr *h);

#endif
