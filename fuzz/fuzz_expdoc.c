/*
 * fuzz_expdoc.c - libFuzzer target for the exporter's reading of the
 * status document (exporter/doc.c), and what it makes of one it accepts
 * (metrics.c, health.c): the document comes from another process.
 *
 *   make fuzz; build/fuzz/fuzz_expdoc DIR  (a copy of fuzz/corpus/expdoc)
 *
 * Besides "never crash", it checks, for every document accepted:
 *  - the /metrics text passes exp_metrics_lint (names, escaped labels, a
 *    TYPE before every sample, counters in _total), at two clocks;
 *  - /healthz gives 0 or 1 and a reason of one line, "ok" exactly when 1.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "exporter/exporter.h"
#include "fuzz/broken.h"

static void health(const json_t *doc, uint64_t now, uint64_t limit)
{
	char why[256];
	int ok = exp_health(doc, now, limit, why, sizeof(why));

	if (ok != 0 && ok != 1)
		broken("fuzz_expdoc: exp_health returned %d", ok);
	if (!why[0] || strchr(why, '\n') || (ok != !strcmp(why, "ok")))
		broken("fuzz_expdoc: reason '%s' for %d", why, ok);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	json_t *doc = exp_doc_parse((const char *)data, size, err, sizeof(err));
	static const uint64_t clocks[] = {0, 1ull << 40};

	if (!doc) {
		if (!err[0])
			broken("fuzz_expdoc: refused without a reason");
		return 0;
	}
	for (size_t i = 0; i < 2; i++) {
		size_t len;
		char *text = exp_metrics_render(doc, clocks[i], "0.1.0", &len);

		if (!text)
			broken("fuzz_expdoc: nothing rendered");
		if (strlen(text) != len)
			broken("fuzz_expdoc: length %zu, text %zu", len, strlen(text));
		if (exp_metrics_lint(text, len, err, sizeof(err)) < 0)
			broken("fuzz_expdoc: bad exposition: %s", err);
		free(text);
		health(doc, clocks[i], i ? 0 : 5000);
	}
	json_decref(doc);
	return 0;
}
