/*
 * snapshot.h - the shared-memory snapshot region (one memfd).
 *
 * Layout:
 *   [region header, 4 KiB] [slot 0] [slot 1] ... [slot N-1]
 * Each slot (tasks: those the links and flows name, with their ancestors):
 *   [slot header] [tasks: struct jb_task, sorted by key]
 *                 [file index: struct jb_snap_file_ix, sorted by key]
 *                 [file pool: struct jb_snap_file records, variable size]
 *                 [links: struct jb_snap_link] [flows: struct jb_flow]
 *                 [domains: struct jb_snap_domain, sorted by key]
 *                 [tampers: struct jb_tamper, in map order]
 *                 [cgroup index: struct jb_snap_cgroup_ix, sorted by id]
 *                 [cgroup pool: struct jb_snap_cgroup records, variable size]
 * A file record is as long as its path (the kernel's struct jb_file always
 * carries JB_PATH_LEN bytes): the index entry gives its offset in the pool.
 * Every section is reserved for its worst case (the pool: cap_files
 * longest paths), but only the bytes written are ever touched, and a
 * memfd page never touched costs no memory.
 * The domains are the whole jb_dns map (every address a DNS answer gave,
 * with its names, per network namespace), not a delta: a flow may start
 * long after the answer.
 * The tampers are the jb_tamper records changed since the slot's since, like
 * links and flows; their actors' tasks (with ancestors) are in the tasks.
 * The cgroups are the paths of the tasks' cgroup v2 ids (jb_task.cgroup_id)
 * that the supervisor could resolve (supervisor/cgctx.c), each once, laid
 * out like the files: an index sorted by id and a pool of records as long
 * as their paths. There are at most as many as tasks (cap_tasks).
 *
 * Writer: the supervisor only (it maps the memfd read-write, then seals it
 * with F_SEAL_FUTURE_WRITE so no later mapping can write). Readers: workers
 * map it read-only.
 *
 * Slot reuse rule: snapshot 'seq' goes into any slot whose last snapshot
 * has been acknowledged (IPC_SNAPSHOT_DONE) by every worker it was
 * announced to, or whose workers have since died. If no slot is free the
 * supervisor does not write this cadence: the kernel maps keep the data
 * and the next snapshot carries the merged delta, so nothing is lost; a
 * worker that never acknowledges misses its heartbeat deadline and is
 * replaced. As a second line of defence each slot header carries seq at
 * its start and its end (a seqlock): a reader that sees them differ, or
 * differ from the announced seq, discards what it read.
 */
#ifndef JB_IPC_SNAPSHOT_H
#define JB_IPC_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "../bpf/jibril.h"

#define JB_SNAP_MAGIC 0x4a42534eu /* "JBSN" */
#define JB_SNAP_VERSION 6
#define JB_SNAP_HDR_SIZE 4096

struct jb_snap_region_hdr {
	uint32_t magic;
	uint32_t version;
	uint32_t nslots;
	uint32_t layout_version; /* JB_LAYOUT_VERSION of the records */
	uint64_t slot_size;
	uint64_t region_size;
	uint32_t cap_tasks, cap_files, cap_links, cap_flows;
	uint32_t cap_domains, cap_tampers;
};

/* A link as the snapshot carries it: the kernel's key and record. */
struct jb_snap_link {
	struct jb_link_key key;
	struct jb_link link;
};

/* A file as the snapshot carries it: the kernel's record cut to its path.
 * path is NUL-terminated, path_len == strlen(path) < JB_PATH_LEN, and the
 * record is padded with zeros to JB_SNAP_FILE_SIZE(path_len). */
struct jb_snap_file {
	uint64_t key;
	uint64_t first_ns;
	uint32_t flags;	/* JB_FILE_* */
	uint32_t path_len;
	char path[];
};
/* Bytes of the record of a path of len bytes: header, path, NUL, padding. */
#define JB_SNAP_FILE_SIZE(len) \
	((sizeof(struct jb_snap_file) + (size_t)(len) + 1 + 7) & ~(size_t)7)

/* A cgroup v2 path as the snapshot carries it: relative to the cgroup2
 * mount, starting with '/' ("/" for the root), NUL-terminated, path_len ==
 * strlen(path) < JB_CGROUP_PATH_LEN, padded with zeros to
 * JB_SNAP_CGROUP_SIZE(path_len). A longer path is cut and flagged
 * JB_SNAP_CGROUP_CUT (its last component may then be partial). */
#define JB_CGROUP_PATH_LEN 512
#define JB_SNAP_CGROUP_CUT 1u
struct jb_snap_cgroup {
	uint64_t id;	/* jb_task.cgroup_id */
	uint32_t flags;	/* JB_SNAP_CGROUP_* */
	uint32_t path_len;
	char path[];
};
#define JB_SNAP_CGROUP_SIZE(len) \
	((sizeof(struct jb_snap_cgroup) + (size_t)(len) + 1 + 7) & ~(size_t)7)
/* One entry of the cgroup index: off is the record's byte offset in the pool. */
struct jb_snap_cgroup_ix {
	uint64_t id;
	uint64_t off;
};

/* One entry of the file index: off is the record's byte offset in the pool. */
struct jb_snap_file_ix {
	uint64_t key;
	uint64_t off;
};

/* An address from a DNS answer and its names: the kernel's key and record. */
struct jb_snap_domain {
	struct jb_dns_key key;
	struct jb_dns dns;
};

struct jb_snap_slot_hdr {
	uint64_t seq_begin;	/* written first */
	uint64_t taken_ns;	/* CLOCK_MONOTONIC when the maps were read */
	uint64_t since_ns;	/* the previous snapshot's taken_ns */
	uint32_t ntasks, nfiles, nlinks, nflows; /* nfiles: entries of the file index */
	uint64_t off_tasks, off_files, off_links, off_flows; /* from slot start */
	uint32_t ndomains, ntampers;
	uint64_t off_domains;
	uint64_t off_tampers;	/* from slot start */
	uint64_t off_file_pool;	/* from slot start; off_files is the index */
	uint64_t file_pool_len;	/* bytes of records written into the pool */
	uint32_t ncgroups, _pad;	/* entries of the cgroup index */
	uint64_t off_cgroups;	/* the cgroup index, from slot start */
	uint64_t off_cgroup_pool; /* from slot start */
	uint64_t cgroup_pool_len; /* bytes of records written into the pool */
	uint64_t lost[JB_STAT_MAX]; /* running totals of the kernel counters */
	uint64_t lost_unseen;	/* records evicted before any query saw them */
	uint64_t seq_end;	/* written last; == seq_begin when complete */
};

/* Read-only view of one published slot. */
struct jb_snap_view {
	uint64_t seq;
	const struct jb_snap_slot_hdr *hdr;
	const struct jb_task *tasks;
	const struct jb_snap_file_ix *file_ix; /* nfiles entries */
	const uint8_t *file_pool;	       /* file_pool_len bytes */
	uint64_t file_pool_len;
	const struct jb_snap_link *links;
	const struct jb_flow *flows;
	const struct jb_snap_domain *domains;
	const struct jb_tamper *tampers; /* read them with jb_snap_tamper() */
	const struct jb_snap_cgroup_ix *cgroup_ix; /* ncgroups entries */
	const uint8_t *cgroup_pool;		  /* cgroup_pool_len bytes */
	uint64_t cgroup_pool_len;
	uint32_t ntasks, nfiles, nlinks, nflows, ndomains, ntampers, ncgroups;
};

/* Bytes one slot needs for these capacities (the first: no domains, the
 * first two: no tampers). Each task reserves room for one cgroup path. */
size_t jb_snap_slot_size(uint32_t tasks, uint32_t files, uint32_t links, uint32_t flows);
size_t jb_snap_slot_size_dns(uint32_t tasks, uint32_t files, uint32_t links, uint32_t flows,
			     uint32_t domains);
size_t jb_snap_slot_size_all(uint32_t tasks, uint32_t files, uint32_t links, uint32_t flows,
			     uint32_t domains, uint32_t tampers);

/* --- writer (supervisor) --------------------------------------------- */
struct jb_snap_region {
	int fd;			/* memfd, sealed */
	uint8_t *base;		/* read-write mapping */
	size_t size;
	struct jb_snap_region_hdr *hdr;
};

/* Create, size, map and seal the region. 0 or -1 (errno set). The first
 * reserves JB_DNS_ENTRIES domains and JB_TAMPER_ENTRIES tampers (the
 * jb_dns and jb_tamper maps' sizes); the second no tampers. */
int jb_snap_create(struct jb_snap_region *r, uint32_t nslots, uint32_t tasks, uint32_t files,
		   uint32_t links, uint32_t flows);
int jb_snap_create_dns(struct jb_snap_region *r, uint32_t nslots, uint32_t tasks,
		       uint32_t files, uint32_t links, uint32_t flows, uint32_t domains);
int jb_snap_create_all(struct jb_snap_region *r, uint32_t nslots, uint32_t tasks,
		       uint32_t files, uint32_t links, uint32_t flows, uint32_t domains,
		       uint32_t tampers);
void jb_snap_destroy(struct jb_snap_region *r);

/* Begin writing snapshot 'seq' into 'slot': returns pointers to the record
 * arrays (capacity from the region header); no files, no domains yet. */
struct jb_snap_slot_hdr *jb_snap_begin(struct jb_snap_region *r, uint32_t slot, uint64_t seq,
				       struct jb_task **tasks, struct jb_snap_link **links,
				       struct jb_flow **flows);
/* Append a kernel file record: its header and its path up to the NUL (a
 * path without one is cut at JB_PATH_LEN - 1). 0, or -1 when the slot
 * already holds cap_files files. */
int jb_snap_add_file(struct jb_snap_region *r, struct jb_snap_slot_hdr *h,
		     const struct jb_file *f);
/* The slot's domain array (after jb_snap_begin, which sets ndomains to 0);
 * its capacity in *cap. The writer fills it and sets h->ndomains before
 * publishing. */
struct jb_snap_domain *jb_snap_domains(struct jb_snap_region *r, struct jb_snap_slot_hdr *h,
				       uint32_t *cap);
/* Append a kernel tamper record (after jb_snap_begin, which sets ntampers
 * to 0). Its comm and name are cut at their last byte when the kernel left
 * no NUL (the name flagged JB_TAMPER_NAME_CUT) and zeroed past the NUL. 0,
 * or -1 when the slot already holds cap_tampers records. */
int jb_snap_add_tamper(struct jb_snap_region *r, struct jb_snap_slot_hdr *h,
		       const struct jb_tamper *t);
/* Append the path of cgroup id (after jb_snap_begin, which sets ncgroups to
 * 0): NUL-terminated, cut at JB_CGROUP_PATH_LEN - 1 bytes and flagged when
 * longer. The caller adds each id once. 0, or -1 when the slot already holds
 * cap_tasks cgroups or id is 0. */
int jb_snap_add_cgroup(struct jb_snap_region *r, struct jb_snap_slot_hdr *h, uint64_t id,
		       const char *path);
/* Set counts, sort tasks, the file and cgroup indexes and domains by key, then publish
 * (seq_end last). */
void jb_snap_publish(struct jb_snap_slot_hdr *h, uint32_t ntasks, uint32_t nlinks,
		     uint32_t nflows);

/* --- reader (workers) -------------------------------------------------- */
/* Map fd read-only and validate the region header. NULL on error, with a
 * reason in err. */
const struct jb_snap_region_hdr *jb_snap_map_ro(int fd, size_t *size, char *err, size_t errlen);

/* Fill v for (slot, seq). -1 if the slot does not hold a complete snapshot
 * 'seq' or any offset/count is out of bounds. */
int jb_snap_view(const struct jb_snap_region_hdr *r, size_t size, uint32_t slot, uint64_t seq,
		 struct jb_snap_view *v);
/* Re-check after reading: 0 if the slot still holds 'seq' (seqlock). */
int jb_snap_still_valid(const struct jb_snap_view *v);

const struct jb_task *jb_snap_task(const struct jb_snap_view *v, uint64_t key);
/* Tamper record i (< v->ntampers), or NULL when it fails a check (class
 * known, comm and name NUL-terminated, count at least 1, first_ns <=
 * last_ns): a corrupt record reads as absent. */
const struct jb_tamper *jb_snap_tamper(const struct jb_snap_view *v, uint32_t i);
/* The file record of key, or NULL: absent, or its record fails a check
 * (aligned and wholly inside the pool, its key, path_len < JB_PATH_LEN,
 * NUL at path_len and none before): a corrupt record reads as absent. */
const struct jb_snap_file *jb_snap_file(const struct jb_snap_view *v, uint64_t key);
/* The cgroup record of id (a task's cgroup_id), or NULL: unresolved, or its
 * record fails the same checks as a file's (path_len < JB_CGROUP_PATH_LEN). */
const struct jb_snap_cgroup *jb_snap_cgroup(const struct jb_snap_view *v, uint64_t id);

/* DNS names seen for the flow's remote address in the flow's own network
 * namespace (f->netns/f->family/f->daddr; a v4-mapped IPv6 address also
 * finds the IPv4 entry; netns 0, unknown, finds nothing): the question name and
 * each CNAME target of the chain, lower-case, dotted, no trailing dot. Fills
 * up to max pointers to NUL-terminated strings inside the snapshot and
 * returns how many (0 when none is known). */
int jb_snap_flow_names(const struct jb_snap_view *v, const struct jb_flow *f, const char **names,
		       int max);
/* The record of one address in namespace netns (family AF_INET: addr
 * holds 4 bytes), or NULL. */
const struct jb_snap_domain *jb_snap_domain(const struct jb_snap_view *v, uint64_t netns,
					    uint16_t family, const uint8_t *addr);

#endif
