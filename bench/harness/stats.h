/*
 * stats.h - the bench's arithmetic: order statistics over a run's
 * samples, a random phase, and the JSON numbers they become.
 */
#ifndef BENCH_STATS_H
#define BENCH_STATS_H

#include <stdint.h>

#include <jansson.h>

/* xorshift64; seed once (0 keeps the fixed start) */
void rnd_seed(uint64_t seed);
uint64_t rnd(void);
/* of v[0..n), n at most 1024; NAN when n is out of range */
double median(const double *v, int n);
double pct(const double *v, int n, double p); /* nearest rank */
double vmin(const double *v, int n);
double vmax(const double *v, int n);
/* a number, or null when not finite (JSON has no NaN) */
json_t *jnum(double v);
json_t *jarr(const double *v, int n);
/* "a.b.c" lookup, arrays by index ("levels.0.x"); NULL when absent */
json_t *jget(json_t *o, const char *path);
/* the number there, or NAN */
double jd(json_t *o, const char *path);

#endif
