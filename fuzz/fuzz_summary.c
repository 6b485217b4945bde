/*
 * fuzz_summary.c - libFuzzer target for the summary printer's reading of
 * an endpoint's answer (printers/summary_answer.c): the body comes from
 * the network.
 *
 *   make fuzz; build/fuzz/fuzz_summary DIR  (a copy of fuzz/corpus/summary)
 *
 * Besides "never crash", it checks, for every answer accepted, at a small
 * and a large cap: the text is not empty, NUL-terminated at its length,
 * within the cap, holds no NUL and is well-formed UTF-8 (what IPC_SUMMARY
 * requires: ipc_enc_summary takes it), and no control character but
 * newline and tab nor a bidirectional override (it reaches terminals); for
 * every answer refused, a printable reason of one line.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/text.h"
#include "fuzz/broken.h"
#include "ipc/msg.h"
#include "printers/summary.h"

static char text[IPC_SUMMARY_MAX + 1], buf[IPC_MAX_MSG];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t caps[] = {7, sizeof(text)};

	if (size > PRN_SUMMARY_ANSWER_MAX)
		return 0;
	for (size_t c = 0; c < 2; c++) {
		char why[160];
		size_t len = 0;

		why[0] = '\0';
		if (prn_summary_answer((const char *)data, size, text, caps[c], &len, why,
				       sizeof(why)) < 0) {
			if (!why[0] || strchr(why, '\n'))
				broken("fuzz_summary: refused without a reason of one line");
			continue;
		}
		if (!len || len >= caps[c] || text[len] || strlen(text) != len)
			broken("fuzz_summary: text of %zu bytes, cap %zu", len, caps[c]);
		for (size_t i = 0, k; i < len; i += k) {
			const unsigned char *u = (const unsigned char *)text + i;
			if (!(k = jb_utf8_seq(u, len - i)))
				broken("fuzz_summary: not UTF-8 at byte %zu", i);
			if ((*u < 0x20 && *u != '\n' && *u != '\t') || *u == 0x7f ||
			    (u[0] == 0xc2 && u[1] <= 0x9f) ||
			    (u[0] == 0xe2 && u[1] == 0x80 && u[2] >= 0xaa && u[2] <= 0xae) ||
			    (u[0] == 0xe2 && u[1] == 0x81 && u[2] >= 0xa6 && u[2] <= 0xa9))
				broken("fuzz_summary: a control character at byte %zu", i);
		}
		if (ipc_enc_summary(buf, sizeof(buf), 1, 2, 3, "m", "", text, len) < 0)
			broken("fuzz_summary: IPC_SUMMARY refuses the text");
	}
	return 0;
}
