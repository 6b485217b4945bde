/*
 * text.c - UTF-8 validation and ISO 8601 times (text.h).
 * Invariant: never reads past the bytes it is given (avail / the NUL).
 */
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "common/text.h"

size_t jb_utf8_seq(const unsigned char *s, size_t avail)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t need;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		need = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		need = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (avail < need || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t k = 2; k < need; k++)
		if (s[k] < 0x80 || s[k] > 0xbf)
			return 0;
	return need;
}

void jb_utf8_fix(char *s)
{
	size_t len = strlen(s);

	for (size_t i = 0; i < len;) {
		size_t need = jb_utf8_seq((const unsigned char *)s + i, len - i);
		if (!need)
			s[i++] = '?';
		else
			i += need;
	}
}

/* Code points a log line must not carry: C1 controls, line and paragraph
 * separators, bidirectional overrides and marks. */
static int unprintable_cp(uint32_t cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || cp == 0x200e || cp == 0x200f ||
	       (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

void jb_text_printable(char *s)
{
	size_t len = strlen(s);

	for (size_t i = 0; i < len;) {
		unsigned char c = (unsigned char)s[i];
		size_t need = jb_utf8_seq((const unsigned char *)s + i, len - i);
		uint32_t cp;

		if (!need || c < 0x20 || c == 0x7f) {
			s[i++] = '?';
			continue;
		}
		if (need == 1) {
			i++;
			continue;
		}
		cp = c & (0xff >> (need + 1));
		for (size_t k = 1; k < need; k++)
			cp = (cp << 6) | ((unsigned char)s[i + k] & 0x3f);
		if (unprintable_cp(cp))
			memset(s + i, '?', need);
		i += need;
	}
}

void jb_iso_time(int64_t real_ns, char *out, size_t len)
{
	time_t sec = (time_t)(real_ns / 1000000000);
	struct tm tm;

	gmtime_r(&sec, &tm);
	snprintf(out, len, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)((real_ns % 1000000000) / 1000));
}

const char *jb_basename(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

void jb_uuid4(char out[JB_UUID_LEN + 1])
{
	uint8_t b[16];

	if (getrandom(b, sizeof(b), 0) != sizeof(b))
		memset(b, 0, sizeof(b)); /* never fails for 16 bytes once the pool is ready */
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	snprintf(out, JB_UUID_LEN + 1,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
		 b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
		 b[15]);
}
