/*
 * tally.c - detections counted per recipe kind (status document: "detections",
 * "suppressed"). The router calls it for each detection of a recipe of the
 * running set.
 *
 * Invariants:
 *  - bounded: at most TALLY_MAX kinds (more than a recipe set holds; kinds
 *    are names the supervisor validated, not a worker's free text), the rest
 *    under "other": a count is never dropped.
 *  - a lookup is a hash probe, no allocation after sup_tally_new: it runs
 *    for every detection.
 */
#include <stdlib.h>
#include <string.h>

#include "ipc/msg.h"
#include "supervisor/tally.h"

#define TALLY_MAX 1024
#define TALLY_SLOTS (2 * TALLY_MAX)	/* open addressing, half full at most */

struct tally_ent {
	char kind[IPC_NAME_MAX + 1];
	uint64_t n[SUP_TALLY_MAX];
};

struct sup_tally {
	struct tally_ent e[TALLY_MAX];	/* in the order first seen */
	size_t n;
	int16_t slot[TALLY_SLOTS];	/* index + 1 into e, 0 = empty */
	struct tally_ent other;		/* what found no room */
};

struct sup_tally *sup_tally_new(void)
{
	struct sup_tally *t = calloc(1, sizeof(*t));

	if (t)
		strcpy(t->other.kind, "other");
	return t;
}

void sup_tally_free(struct sup_tally *t)
{
	free(t);
}

static uint32_t hash(const char *s)
{
	uint32_t h = 2166136261u;	/* FNV-1a: names, not an attacker's keys */

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

static struct tally_ent *find(struct sup_tally *t, const char *kind)
{
	uint32_t i = hash(kind) % TALLY_SLOTS;

	if (strlen(kind) > IPC_NAME_MAX)
		return &t->other;
	for (;;) {
		int16_t at = t->slot[i];

		if (!at)
			break;
		if (!strcmp(t->e[at - 1].kind, kind))
			return &t->e[at - 1];
		i = (i + 1) % TALLY_SLOTS;
	}
	if (t->n == TALLY_MAX)
		return &t->other;
	strcpy(t->e[t->n].kind, kind);
	t->slot[i] = (int16_t)++t->n;
	return &t->e[t->n - 1];
}

void sup_tally_add(struct sup_tally *t, const char *kind, enum sup_tally_what what)
{
	struct tally_ent *e;

	if (!t || !kind || what >= SUP_TALLY_MAX)
		return;
	e = find(t, kind);
	if (e->n[what] != UINT64_MAX)
		e->n[what]++;
}

void sup_tally_each(const struct sup_tally *t,
		    void (*fn)(void *arg, const char *kind, uint64_t accepted, uint64_t suppressed),
		    void *arg)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		fn(arg, t->e[i].kind, t->e[i].n[SUP_TALLY_ACCEPTED], t->e[i].n[SUP_TALLY_SUPPRESSED]);
	if (t->other.n[SUP_TALLY_ACCEPTED] || t->other.n[SUP_TALLY_SUPPRESSED])
		fn(arg, "other", t->other.n[SUP_TALLY_ACCEPTED], t->other.n[SUP_TALLY_SUPPRESSED]);
}
