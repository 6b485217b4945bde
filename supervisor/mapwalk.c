/*
 * mapwalk.c - read a whole BPF hash map, chunk by chunk (mapwalk.h).
 *
 * Invariants:
 *  - one error rule for every caller: what the kernel did not vouch for is
 *    never counted or handed on (a failed batch call's count is not
 *    trusted), and the caller learns that the walk was cut (-1).
 *  - bounded: at most cap entries held, at most 2 * max_entries per-key
 *    steps.
 */
#include <errno.h>
#include <string.h>

#include <bpf/bpf.h>

#include "supervisor/loader.h"
#include "supervisor/mapwalk.h"

#define KEY_MAX 64 /* the largest key any jibril map has, in bytes */

static int walk_batch(struct sup_walk *w)
{
	uint8_t in[KEY_MAX], out[KEY_MAX];
	void *inp = NULL;
	DECLARE_LIBBPF_OPTS(bpf_map_batch_opts, o);

	for (;;) {
		uint32_t first = w->append ? w->n : 0;
		__u32 count = w->cap - first;
		int r, e;

		if (count == 0)
			return 0; /* the buffers are full */
		r = bpf_map_lookup_batch(w->fd, inp, out, (char *)w->keys + first * w->ksz,
					 (char *)w->vals + first * w->vsz, &count, &o);
		e = errno;
		if (r < 0 && e != ENOENT) {
			errno = e;
			return -1; /* count is not to be trusted: nothing of it */
		}
		w->n = first + count;
		if (w->chunk && count)
			w->chunk(w, first, count, w->arg);
		if (r < 0)
			return 0; /* ENOENT: that was the last chunk */
		memcpy(in, out, sizeof(in));
		inp = in;
	}
}

static int walk_keys(struct sup_walk *w)
{
	uint8_t prev[KEY_MAX], cur[KEY_MAX];
	uint64_t steps = 0;
	void *pk = NULL;

	if (!w->append)
		w->n = 0;
	while (bpf_map_get_next_key(w->fd, pk, cur) == 0) {
		uint32_t at = w->append ? w->n : 0;

		if (++steps > 2ull * w->max_entries) {
			errno = EAGAIN;
			return -1;
		}
		if (at == w->cap)
			return 0;
		memcpy(prev, cur, w->ksz);
		pk = prev;
		if (bpf_map_lookup_elem(w->fd, cur, (char *)w->vals + at * w->vsz) < 0)
			continue; /* evicted between the two calls */
		memcpy((char *)w->keys + at * w->ksz, cur, w->ksz);
		w->n = at + 1;
		if (w->chunk)
			w->chunk(w, at, 1, w->arg);
	}
	return errno == ENOENT ? 0 : -1;
}

int sup_map_walk(const struct jb_bpf *b, struct sup_walk *w)
{
	if (w->ksz > KEY_MAX) {
		errno = EINVAL;
		return -1;
	}
	if (!w->append)
		w->n = 0;
	return b->batch_ok ? walk_batch(w) : walk_keys(w);
}
