/*
 * fuzz_audit.c - libFuzzer target for the audit log verifier
 * (supervisor/audit_verify.c and audit_chain.c: what jibril --verify-audit
 * reads, a file whoever tampered with it wrote).
 *
 *   make fuzz; build/fuzz/fuzz_audit -dict=fuzz/audit.dict DIR  (a copy of fuzz/corpus/audit)
 *
 * The input is the whole log; the key is fixed (bytes 0..31), and the seeds
 * in fuzz/corpus/audit/ are sealed with it, so mutations start from real
 * chains. Besides "never crash", it checks:
 *  - a verified log is whole records: one per line, seq 1..N, every line
 *    ended by its newline;
 *  - a refused one names a line that exists (1..lines), with a reason on
 *    one line, and counts as good exactly the lines before it;
 *  - the good lines before a bad one verify on their own, and a record
 *    sealed after them (what the agent does when it resumes) verifies too.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/broken.h"
#include "supervisor/audit.h"

static unsigned char key[SUP_AUDIT_KEY_LEN];

static int verify(const uint8_t *d, size_t n, struct sup_audit_verdict *v)
{
	/* fmemopen of 0 bytes fails: an empty log is a 1-byte buffer read as 0 */
	static const char none[1];
	FILE *f = fmemopen(n ? (void *)d : (void *)none, n ? n : 1, "r");
	int rc;

	if (!f)
		abort();
	if (!n)
		fseek(f, 0, SEEK_END);
	rc = sup_audit_verify_stream(key, f, NULL, v);
	fclose(f);
	return rc;
}

static size_t count_lines(const uint8_t *d, size_t n)
{
	size_t lines = 0;

	for (size_t i = 0; i < n; i++)
		lines += d[i] == '\n';
	return lines + (n > 0 && d[n - 1] != '\n');
}

/* Offset where line number 'line' (1-based) starts. */
static size_t line_start(const uint8_t *d, size_t n, uint64_t line)
{
	size_t off = 0;

	for (uint64_t l = 1; l < line && off < n; off++)
		if (d[off] == '\n')
			l++;
	return off;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sup_audit_verdict v, w;
	size_t lines = count_lines(data, size), good_len, len;
	json_t *rec;
	char *line, *buf;
	struct sup_audit_link next;

	for (int i = 0; i < SUP_AUDIT_KEY_LEN; i++)
		key[i] = (unsigned char)i;
	if (verify(data, size, &v) == 0) {
		if (v.records != lines || v.last.seq != v.records || (size && data[size - 1] != '\n'))
			broken("accepted %zu lines as %llu records ending at seq %llu", lines,
			       (unsigned long long)v.records, (unsigned long long)v.last.seq);
		good_len = size;
	} else {
		if (v.bad_line < 1 || v.bad_line > lines || v.records != v.bad_line - 1)
			broken("bad line %llu of %zu lines after %llu good records: %s",
			       (unsigned long long)v.bad_line, lines,
			       (unsigned long long)v.records, v.why);
		if (!v.why[0] || strchr(v.why, '\n'))
			broken("the reason is not one line: '%s'", v.why);
		good_len = line_start(data, size, v.bad_line);
		if (verify(data, good_len, &w) != 0 || w.records != v.records)
			broken("the %llu good lines before line %llu do not verify alone: %s",
			       (unsigned long long)v.records, (unsigned long long)v.bad_line, w.why);
	}
	/* resume: one more record after the good part */
	rec = json_pack("{s:I,s:s,s:s,s:{s:s}}", "seq", (json_int_t)(v.last.seq + 1), "time",
			"2026-01-01T00:00:00.000000Z", "type", "fuzz", "data", "k", "v");
	line = rec ? sup_audit_seal(key, &v.last, rec, &len, &next) : NULL;
	json_decref(rec);
	if (!line || !(buf = malloc(good_len + len)))
		abort();
	memcpy(buf, data, good_len);
	memcpy(buf + good_len, line, len);
	if (verify((const uint8_t *)buf, good_len + len, &w) != 0 || w.records != v.records + 1 ||
	    memcmp(&w.last, &next, sizeof(next)))
		broken("a record sealed after %llu good records does not verify: %s",
		       (unsigned long long)v.records, w.why);
	free(buf);
	free(line);
	return 0;
}
