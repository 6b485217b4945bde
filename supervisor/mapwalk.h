/*
 * mapwalk.h - the one way the supervisor reads a whole BPF hash map
 * (mapwalk.c), in the spirit of bcc's dump_hash: batch lookups when the
 * kernel has them, per-key reads otherwise, one rule for errors.
 */
#ifndef JB_SUP_MAPWALK_H
#define JB_SUP_MAPWALK_H

#include <stddef.h>
#include <stdint.h>

struct jb_bpf;
struct sup_walk;

/* A chunk of entries read: keys/vals of w from index first, n of them. */
typedef void (*sup_walk_fn)(const struct sup_walk *w, uint32_t first, uint32_t n, void *arg);

struct sup_walk {
	int fd;			/* the map */
	uint32_t max_entries;	/* its size: bounds a per-key walk that restarts */
	void *keys, *vals;	/* caller's buffers of cap entries */
	size_t ksz, vsz;
	uint32_t cap;
	int append;		/* 1: chunks accumulate in the buffers (n grows up to
				 * cap: a whole map in one array); 0: each chunk is
				 * read into the start of the buffers again */
	uint32_t n;		/* entries held: the total (append), the last chunk's */
	sup_walk_fn chunk;	/* called for every chunk read (may be NULL) */
	void *arg;
};

/*
 * Walk every entry of w->fd. The rule, for batch and per-key reads alike:
 * a chunk is handed on (and counted in w->n) only when the kernel vouched
 * for it: the batch call succeeded, or failed with ENOENT (the end of the
 * map: its count is valid). Any other error ends the walk with nothing of
 * that chunk and returns -1 (errno set). A full append buffer ends the
 * walk with 0. A per-key walk (kernels without batch lookups) whose
 * previous key is evicted under it restarts from the first bucket: in
 * append mode an entry may then be held twice (a repeated link is dropped
 * by the router's dedup, a repeated task is found by its key either way;
 * first sightings may be counted twice, which under-states the loss
 * figure); it gives up (-1, errno EAGAIN) after twice max_entries steps.
 */
int sup_map_walk(const struct jb_bpf *b, struct sup_walk *w);

#endif
