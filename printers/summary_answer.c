/*
 * summary_answer.c - the one thing the summary printer reads from the
 * network: an OpenAI-compatible chat-completions answer, of which only
 * choices[0].message.content is kept (summary.h).
 *
 * Invariants:
 *  - the body is outside input: bounded before it gets here, parsed once
 *    by jansson (duplicate keys refused), every step of the path checked
 *    for its type; anything else is garbage with a printable reason of one
 *    line, never a crash;
 *  - the text handed on is UTF-8 (jansson guarantees it of a string), has
 *    no NUL, is not empty and is cut only between two UTF-8 sequences.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "common/text.h"
#include "printers/summary.h"

int prn_summary_answer(const char *body, size_t len, char *out, size_t cap, size_t *outlen,
		       char *why, size_t whylen)
{
	json_error_t jerr;
	json_t *j = NULL, *choices, *first, *msg, *content;
	const char *text;
	size_t n;
	int rc = -1;

	if (cap < 2 || len > PRN_SUMMARY_ANSWER_MAX) {
		snprintf(why, whylen, "an answer of %zu bytes (at most %u)", len,
			 PRN_SUMMARY_ANSWER_MAX);
		return -1;
	}
	j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!j) {
		snprintf(why, whylen, "not JSON (line %d: %.80s)", jerr.line, jerr.text);
		goto out;
	}
	if (!json_is_object(j)) {
		snprintf(why, whylen, "not a JSON object");
		goto out;
	}
	choices = json_object_get(j, "choices");
	if (!json_is_array(choices) || !json_array_size(choices)) {
		snprintf(why, whylen, "no choices (an array of at least one)");
		goto out;
	}
	first = json_array_get(choices, 0);
	msg = json_is_object(first) ? json_object_get(first, "message") : NULL;
	if (!json_is_object(msg)) {
		snprintf(why, whylen, "choices[0] has no message object");
		goto out;
	}
	content = json_object_get(msg, "content");
	if (!json_is_string(content)) {
		snprintf(why, whylen, "choices[0].message.content is not a string");
		goto out;
	}
	text = json_string_value(content);
	n = json_string_length(content);
	if (!n || memchr(text, '\0', n)) {
		snprintf(why, whylen, "choices[0].message.content is %s", n ? "holding a NUL" : "empty");
		goto out;
	}
	if (n > cap - 1) {
		n = cap - 1;
		while (n > 0 && ((unsigned char)text[n] & 0xc0) == 0x80)
			n--; /* text[n] would begin the cut-off part mid-sequence */
	}
	memcpy(out, text, n);
	out[n] = '\0';
	*outlen = n;
	rc = 0;
out:
	if (rc < 0)
		jb_text_printable(why); /* jansson quotes the input it stopped at */
	json_decref(j);
	return rc;
}
