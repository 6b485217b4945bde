/*
 * limits.h - recipe `times` limits kept by the supervisor (limits.c).
 */
#ifndef JB_SUP_LIMITS_H
#define JB_SUP_LIMITS_H

#include <stddef.h>
#include <stdint.h>

#include "rcp/recipe.h"

/* The table of counters (the router owns one). NULL when out of memory. */
struct sup_limits;
struct sup_limits *sup_limits_new(void);
void sup_limits_free(struct sup_limits *t);

/* 1: let the detection through (counters bumped); 0: suppressed (counted). */
int sup_limits_check(struct sup_limits *t, const struct recipe *r, const char *limits);

typedef void (*sup_limits_emit_fn)(void *arg, const char *dedup_key, const char *json,
				   size_t len);
/* Detections let through without a counter (the table was full) since the
 * last summary. */
uint64_t sup_limits_full_misses(const struct sup_limits *t);

/* Emit one summary event per (recipe, limit, key) with suppressions since
 * the last call; returns how many. */
size_t sup_limits_summary(struct sup_limits *t, const char *hostname, sup_limits_emit_fn emit,
			  void *arg);

#endif
