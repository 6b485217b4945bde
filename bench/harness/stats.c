/*
 * stats.c - see stats.h.
 *
 * Invariants:
 *  - nothing here sorts its input in place: callers keep their samples
 *    in the order they were taken (the raw rounds are reported as such).
 *  - a missing figure is NAN inside the bench and null in the JSON, never
 *    a made-up zero.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench/harness/stats.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;

void rnd_seed(uint64_t seed)
{
	rng ^= seed;
}

uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

double median(const double *v, int n)
{
	double t[1024];

	if (n <= 0 || n > 1024)
		return NAN;
	memcpy(t, v, sizeof(double) * (size_t)n);
	qsort(t, (size_t)n, sizeof(double), cmp_dbl);
	return n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
}

double pct(const double *v, int n, double p)
{
	double t[1024];
	int k;

	if (n <= 0 || n > 1024)
		return NAN;
	memcpy(t, v, sizeof(double) * (size_t)n);
	qsort(t, (size_t)n, sizeof(double), cmp_dbl);
	k = (int)ceil(p / 100.0 * n) - 1;
	if (k < 0)
		k = 0;
	if (k >= n)
		k = n - 1;
	return t[k];
}

double vmin(const double *v, int n)
{
	double m = INFINITY;
	for (int i = 0; i < n; i++)
		if (v[i] < m)
			m = v[i];
	return n ? m : NAN;
}

double vmax(const double *v, int n)
{
	double m = -INFINITY;
	for (int i = 0; i < n; i++)
		if (v[i] > m)
			m = v[i];
	return n ? m : NAN;
}

json_t *jnum(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

json_t *jarr(const double *v, int n)
{
	json_t *a = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(a, jnum(v[i]));
	return a;
}

json_t *jget(json_t *o, const char *path)
{
	char buf[256], *save = NULL, *tok;

	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, ".", &save); tok && o; tok = strtok_r(NULL, ".", &save)) {
		if (json_is_array(o))
			o = json_array_get(o, strtoul(tok, NULL, 10));
		else
			o = json_object_get(o, tok);
	}
	return o;
}

double jd(json_t *o, const char *path)
{
	json_t *v = jget(o, path);
	return json_is_number(v) ? json_number_value(v) : NAN;
}
