/*
 * tally.h - detections counted per recipe kind, for the status document:
 * let through by the router, suppressed by a times limit (tally.c).
 */
#ifndef JB_SUP_TALLY_H
#define JB_SUP_TALLY_H

#include <stdint.h>

enum sup_tally_what { SUP_TALLY_ACCEPTED = 0, SUP_TALLY_SUPPRESSED, SUP_TALLY_MAX };

struct sup_tally;
struct sup_tally *sup_tally_new(void);	/* NULL when out of memory */
void sup_tally_free(struct sup_tally *t);
/* One detection of kind (a recipe kind the router found). */
void sup_tally_add(struct sup_tally *t, const char *kind, enum sup_tally_what what);
/* fn for every kind counted, in the order first seen. */
void sup_tally_each(const struct sup_tally *t,
		    void (*fn)(void *arg, const char *kind, uint64_t accepted, uint64_t suppressed),
		    void *arg);

#endif
