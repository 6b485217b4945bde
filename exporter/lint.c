/*
 * lint.c - a checker of Prometheus text exposition (format 0.0.4), strict
 * about what this exporter promises: what check_exporter reads from a
 * running agent and what the fuzz harness renders from any document must
 * pass it. Not used by the exporter itself.
 *
 * Checks: every line is "# HELP NAME text", "# TYPE NAME TYPE" or a
 * sample "NAME{LABEL="VALUE",...} NUMBER"; names match
 * [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]*; values
 * hold only the escapes \\ \" \n; every sample's family has a TYPE line
 * before it (a histogram's _bucket, _sum and _count belong to it, and a
 * _bucket has an le label); a counter's name ends in _total; a family's
 * TYPE comes once; the text ends with a newline.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exporter/exporter.h"

#define LINT_FAMS 256

struct fam {
	char name[128];
	char type[16];
};

static int name_ok(const char *s, size_t n, int colon)
{
	if (n == 0 || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') ||
			s[0] == '_' || (colon && s[0] == ':')))
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || (colon && s[i] == ':')))
			return 0;
	return 1;
}

static size_t name_len(const char *s, const char *end)
{
	size_t n = 0;

	while (s + n < end && s[n] != ' ' && s[n] != '{')
		n++;
	return n;
}

static const struct fam *find(const struct fam *f, size_t nf, const char *s, size_t n)
{
	for (size_t i = 0; i < nf; i++)
		if (strlen(f[i].name) == n && !memcmp(f[i].name, s, n))
			return &f[i];
	return NULL;
}

static int ends(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);

	return n > k && !memcmp(s + n - k, suffix, k);
}

/* The family a sample name belongs to (a histogram's suffixes stripped). */
static const struct fam *family_of(const struct fam *f, size_t nf, const char *s, size_t n,
				   int *bucket)
{
	static const char *const sfx[] = {"_bucket", "_sum", "_count"};
	const struct fam *h = find(f, nf, s, n);

	*bucket = 0;
	if (h)
		return h;
	for (size_t i = 0; i < 3; i++)
		if (ends(s, n, sfx[i]) && (h = find(f, nf, s, n - strlen(sfx[i]))) &&
		    !strcmp(h->type, "histogram")) {
			*bucket = i == 0;
			return h;
		}
	return NULL;
}

#define FAIL(fmt, ...) (snprintf(err, errlen, "line %zu: " fmt, ln, ##__VA_ARGS__), -1)

static int sample(const struct fam *f, size_t nf, const char *p, const char *end, size_t ln,
		  char *err, size_t errlen)
{
	size_t n = name_len(p, end);
	int bucket, has_le = 0;
	const struct fam *fm;
	char num[64], *e;

	if (!name_ok(p, n, 1))
		return FAIL("bad metric name '%.*s'", (int)(n > 64 ? 64 : n), p);
	if (!(fm = family_of(f, nf, p, n, &bucket)))
		return FAIL("sample '%.*s' without a TYPE before it", (int)(n > 64 ? 64 : n), p);
	p += n;
	if (p < end && *p == '{') {
		p++;
		while (p < end && *p != '}') {
			const char *l = p;

			while (p < end && *p != '=')
				p++;
			if (p >= end || !name_ok(l, (size_t)(p - l), 0))
				return FAIL("bad label name");
			has_le |= p - l == 2 && !memcmp(l, "le", 2);
			if (++p >= end || *p != '"')
				return FAIL("label value not quoted");
			for (p++; p < end && *p != '"'; p++)
				if (*p == '\\' && (++p >= end || (*p != '\\' && *p != '"' && *p != 'n')))
					return FAIL("bad escape in a label value");
			if (p >= end)
				return FAIL("unterminated label value");
			p++;
			if (p < end && *p == ',')
				p++;
			else if (p >= end || *p != '}')
				return FAIL("labels not separated by ','");
		}
		if (p >= end)
			return FAIL("unterminated labels");
		p++;
	}
	if (bucket && !has_le)
		return FAIL("a histogram bucket without le");
	if (p >= end || *p != ' ' || (size_t)(end - p - 1) >= sizeof(num) || end - p < 2)
		return FAIL("no value");
	memcpy(num, p + 1, (size_t)(end - p - 1));
	num[end - p - 1] = '\0';
	if (strcmp(num, "+Inf") && strcmp(num, "-Inf") && strcmp(num, "NaN") &&
	    (strtod(num, &e), *e != '\0'))
		return FAIL("value '%s' is not a number", num);
	return 0;
}

int exp_metrics_lint(const char *text, size_t len, char *err, size_t errlen)
{
	struct fam *f = calloc(LINT_FAMS, sizeof(*f));
	const char *p = text, *end = text + len;
	size_t nf = 0, ln = 0;
	int rc = 0;

	if (!f)
		return (snprintf(err, errlen, "out of memory"), -1);
	if (len == 0 || text[len - 1] != '\n')
		rc = (snprintf(err, errlen, "does not end with a newline"), -1);
	while (rc == 0 && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;

		ln++;
		if (memchr(p, '\0', (size_t)(le - p)))
			rc = FAIL("a NUL");
		else if (le - p >= 7 && !memcmp(p, "# TYPE ", 7)) {
			const char *nm = p + 7;
			size_t n = name_len(nm, le);
			const char *t = nm + n + 1;

			if (!name_ok(nm, n, 1) || n >= sizeof(f[0].name) || t >= le)
				rc = FAIL("bad TYPE line");
			else if (find(f, nf, nm, n))
				rc = FAIL("a second TYPE for %.*s", (int)n, nm);
			else if (nf == LINT_FAMS)
				rc = FAIL("too many families");
			else if ((size_t)(le - t) >= sizeof(f[0].type) ||
				 (strncmp(t, "counter", 7) && strncmp(t, "gauge", 5) &&
				  strncmp(t, "histogram", 9) && strncmp(t, "summary", 7) &&
				  strncmp(t, "untyped", 7)))
				rc = FAIL("unknown type");
			else {
				memcpy(f[nf].name, nm, n);
				memcpy(f[nf].type, t, (size_t)(le - t));
				if (!strcmp(f[nf].type, "counter") && !ends(nm, n, "_total"))
					rc = FAIL("counter %.*s does not end in _total", (int)n, nm);
				nf++;
			}
		} else if (le - p >= 7 && !memcmp(p, "# HELP ", 7)) {
			size_t n = name_len(p + 7, le);

			if (!name_ok(p + 7, n, 1))
				rc = FAIL("bad HELP line");
		} else if (le > p && *p == '#') {
			/* a comment */
		} else if (le == p) {
			rc = FAIL("an empty line");
		} else {
			rc = sample(f, nf, p, le, ln, err, errlen);
		}
		p = nl ? nl + 1 : end;
	}
	free(f);
	return rc;
}
