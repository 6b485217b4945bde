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
 *    no NUL, is not empty and is cut only between two UTF-8 sequences;
 *  - it holds no control character but newline and tab, and no
 *    bidirectional override: each is U+FFFD. The text is the endpoint's
 *    (a compromised or malicious one's) and goes to every other printer,
 *    the stdout printer's terminal too: jansson escapes C0 in JSON, not
 *    C1 (U+009B is a CSI to terminals that read 8-bit controls) nor
 *    U+202E, which makes a line read in another order than it is.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "common/text.h"
#include "printers/summary.h"

/* 1 for a code point the text must not carry (see the top). */
static int unsafe(unsigned long c)
{
	return (c < 0x20 && c != '\n' && c != '\t') || (c >= 0x7f && c <= 0x9f) ||
	       (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
}

/* The UTF-8 sequence s[0..k) as a code point. */
static unsigned long code_point(const unsigned char *s, size_t k)
{
	unsigned long c = k == 1 ? s[0] : k == 2 ? s[0] & 0x1fu : k == 3 ? s[0] & 0x0fu : s[0] & 0x07u;

	for (size_t i = 1; i < k; i++)
		c = (c << 6) | (s[i] & 0x3fu);
	return c;
}

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
	/* copied a sequence at a time, unsafe ones as U+FFFD, while they fit */
	{
		size_t i = 0, o = 0, k;

		while (i < n) {
			k = jb_utf8_seq((const unsigned char *)text + i, n - i);
			if (!k)
				k = 1; /* jansson's strings are UTF-8: cannot happen */
			if (unsafe(code_point((const unsigned char *)text + i, k))) {
				if (o + 3 > cap - 1)
					break;
				memcpy(out + o, "\xef\xbf\xbd", 3);
				o += 3;
			} else {
				if (o + k > cap - 1)
					break;
				memcpy(out + o, text + i, k);
				o += k;
			}
			i += k;
		}
		out[o] = '\0';
		*outlen = o;
		if (!o) {
			snprintf(why, whylen, "choices[0].message.content: nothing fits %zu bytes",
				 cap - 1);
			goto out;
		}
	}
	rc = 0;
out:
	if (rc < 0)
		jb_text_printable(why); /* jansson quotes the input it stopped at */
	json_decref(j);
	return rc;
}
