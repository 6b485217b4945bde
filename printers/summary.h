/*
 * summary.h - the summary printer's parser of outside input: the answer of
 * an OpenAI-compatible chat-completions endpoint (summary_answer.c,
 * fuzzed by fuzz/fuzz_summary.c).
 */
#ifndef JB_PRN_SUMMARY_H
#define JB_PRN_SUMMARY_H

#include <stddef.h>

#define PRN_SUMMARY_ANSWER_MAX (256u << 10) /* bytes of an answer read at most */

/* choices[0].message.content of the answer body (len bytes, at most
 * PRN_SUMMARY_ANSWER_MAX): one JSON object, no duplicate keys, choices a
 * non-empty array whose first element has a message object with a
 * non-empty string content without NUL. The text, its control characters
 * (but newline and tab) and bidirectional overrides made U+FFFD, cut to at
 * most cap - 1 bytes on a UTF-8 boundary, NUL-terminated, in out (its
 * length in *outlen); 0, or -1 with a short printable reason in why. */
int prn_summary_answer(const char *body, size_t len, char *out, size_t cap, size_t *outlen,
		       char *why, size_t whylen);

#endif
