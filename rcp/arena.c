/*
 * arena.c - the memory of a recipe set: every string, list and regex a
 * recipe points to is allocated here and freed at once with the set.
 *
 * Invariants:
 *  - allocations are zeroed and 16-byte aligned, and never move or get
 *    freed one by one: a grown array leaves its old copy behind.
 *  - the head block owns the list of compiled regexes; freeing the arena
 *    frees them first, then every block.
 */
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "rcp/load.h"

struct rcp_arena {
	struct rcp_arena *next;
	struct rcp_arena *cur;	/* head only: the block allocations come from */
	void **codes; /* pcre2 codes to free */
	size_t ncodes, capcodes;
	size_t used, cap;
	char mem[];
};

void *rcp_arena_alloc(struct rcp_arena **ap, size_t n)
{
	struct rcp_arena *head = *ap, *a = head ? (head->cur ? head->cur : head) : NULL;

	n = (n + 15) & ~(size_t)15;
	if (!a || a->used + n > a->cap) {
		size_t cap = n > 65536 ? n : 65536;
		struct rcp_arena *b = calloc(1, sizeof(*b) + cap);
		if (!b)
			return NULL;
		b->cap = cap;
		if (head) { /* the head keeps the code list; allocate from b now */
			b->next = head->next;
			head->next = b;
			head->cur = b;
		} else {
			*ap = b;
		}
		a = b;
	}
	void *p = a->mem + a->used;
	a->used += n;
	memset(p, 0, n);
	return p;
}

int rcp_arena_keep_code(struct rcp_arena *a, void *code)
{
	if (a->ncodes == a->capcodes) {
		size_t cap = a->capcodes ? a->capcodes * 2 : 32;
		void **p = realloc(a->codes, cap * sizeof(*p));
		if (!p) {
			pcre2_code_free(code);
			return -1;
		}
		a->codes = p;
		a->capcodes = cap;
	}
	a->codes[a->ncodes++] = code;
	return 0;
}

void rcp_arena_free(struct rcp_arena *a)
{
	if (a) {
		for (size_t i = 0; i < a->ncodes; i++)
			pcre2_code_free(a->codes[i]);
		free(a->codes);
	}
	while (a) {
		struct rcp_arena *n = a->next;
		free(a);
		a = n;
	}
}
