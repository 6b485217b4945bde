/*
 * text.h - small text helpers shared by the supervisor and the workers:
 * UTF-8 validation, base names, ISO 8601 times, event uuids, FNV-1a hashing.
 */
#ifndef JB_COMMON_TEXT_H
#define JB_COMMON_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* Length of the well-formed UTF-8 sequence at s (RFC 3629 table 3-7: no
 * overlong forms, no surrogates, nothing above U+10FFFF), 0 if none; at most
 * avail bytes are read. */
size_t jb_utf8_seq(const unsigned char *s, size_t avail);
/* Replace, in place, every byte of s that is not part of well-formed UTF-8
 * with '?'. */
void jb_utf8_fix(char *s);
/* Make s safe to put in a log line, in place: every ASCII control byte
 * (newline and ESC included), DEL, byte of ill-formed UTF-8, C1 control,
 * line or paragraph separator and bidirectional control becomes '?'. */
void jb_text_printable(char *s);
/* The part of path after its last '/' (all of it when there is none); a
 * pointer into path. */
const char *jb_basename(const char *path);
/* CLOCK_REALTIME ns as "YYYY-MM-DDTHH:MM:SS.uuuuuuZ". */
void jb_iso_time(int64_t real_ns, char *out, size_t len);
/* A random version-4 UUID, lower-case "8-4-4-4-12" hex: every event's
 * `uuid` (the workers' detections and the supervisor's own events). */
#define JB_UUID_LEN 36
void jb_uuid4(char out[JB_UUID_LEN + 1]);

#define JB_FNV_INIT 0xcbf29ce484222325ULL
/* FNV-1a over n bytes, continuing from h (start with JB_FNV_INIT). */
static inline uint64_t jb_fnv1a(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h;
}

#endif
