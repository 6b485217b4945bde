/*
 * fuzz_cgpath.c - libFuzzer target for the cgroup path parser
 * (workers/cgpath.c: jb_cgpath_parse), which reads names that whoever
 * created a cgroup chose.
 *
 *   make fuzz; build/fuzz/fuzz_cgpath -dict=fuzz/cgpath.dict DIR  (a copy of fuzz/corpus/cgpath)
 *
 * Input: byte 0 is the "cut" flag (its low bit), the rest the path (any
 * bytes, NULs included). Besides "never crash, never read past the
 * input", it checks:
 *  - a refused path reports nothing; an accepted one starts with '/';
 *  - container_id is "" or exactly 64 lower-case hex digits, and those
 *    digits appear in the path (case aside); with cut set, in the part
 *    before the last '/';
 *  - pod_uid is "" or 32 lower-case hex digits or a lower-case 8-4-4-4-12
 *    UUID; runtime is set exactly when container_id is;
 *  - unit is "" or a name of systemd's characters ending ".service" or
 *    ".scope", shorter than JB_CG_UNIT_MAX, found whole between slashes in
 *    the path;
 *  - the same input parses the same way twice (no hidden state).
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/broken.h"
#include "workers/cgpath.h"

static int lower_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* needle (lower-case) in hay[0..n) ignoring case */
static int has_nocase(const char *hay, size_t n, const char *needle)
{
	size_t l = strlen(needle);

	for (size_t i = 0; l && i + l <= n; i++) {
		size_t k = 0;
		while (k < l && tolower((unsigned char)hay[i + k]) == needle[k])
			k++;
		if (k == l)
			return 1;
	}
	return 0;
}

/* unit appears as a whole name of path[0..n) */
static int has_name(const char *path, size_t n, const char *unit)
{
	size_t l = strlen(unit);

	for (size_t i = 1; i + l <= n; i++)
		if (path[i - 1] == '/' && !memcmp(path + i, unit, l) && (i + l == n || path[i + l] == '/'))
			return 1;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jb_cgctx a, b;
	const char *path;
	size_t len, used;
	int cut, rc;

	if (size < 1)
		return 0;
	cut = data[0] & 1;
	len = size - 1;
	/* a heap copy of exactly len bytes: ASan sees any read past it */
	path = len ? malloc(len) : NULL;
	if (len && !path)
		abort();
	if (len)
		memcpy((char *)path, data + 1, len);
	rc = jb_cgpath_parse(path, len, cut, &a);
	if (memchr(a.unit, '\0', sizeof(a.unit)) == NULL ||
	    memchr(a.container_id, '\0', sizeof(a.container_id)) == NULL ||
	    memchr(a.pod_uid, '\0', sizeof(a.pod_uid)) == NULL)
		broken("an output field is not NUL-terminated");
	if (rc != 0 && rc != -1)
		broken("returned %d", rc);
	if (rc < 0) {
		if (a.unit[0] || a.container_id[0] || a.pod_uid[0] || a.runtime)
			broken("a refused path reported something");
		goto out;
	}
	if (!len || path[0] != '/')
		broken("accepted a path that does not start with '/'");
	used = len;
	if (cut) {
		while (used > 1 && path[used - 1] != '/')
			used--;
	}
	if (a.container_id[0]) {
		if (strlen(a.container_id) != 64 || !lower_hex(a.container_id, 64))
			broken("container_id '%s' is not 64 lower-case hex digits", a.container_id);
		if (!has_nocase(path, used, a.container_id))
			broken("container_id '%s' is not in the (uncut part of the) path", a.container_id);
	}
	if (!a.container_id[0] != !a.runtime)
		broken("runtime and container_id disagree");
	if (a.pod_uid[0]) {
		size_t l = strlen(a.pod_uid);
		int ok = l == 32 && lower_hex(a.pod_uid, 32);

		if (l == 36) {
			ok = 1;
			for (size_t i = 0; i < 36; i++) {
				int dash = i == 8 || i == 13 || i == 18 || i == 23;
				if (dash ? a.pod_uid[i] != '-' : !lower_hex(a.pod_uid + i, 1))
					ok = 0;
			}
		}
		if (!ok)
			broken("pod_uid '%s' is neither a UUID nor 32 hex digits", a.pod_uid);
	}
	if (a.unit[0]) {
		size_t l = strlen(a.unit);

		if (l >= JB_CG_UNIT_MAX ||
		    !((l > 8 && !strcmp(a.unit + l - 8, ".service")) ||
		      (l > 6 && !strcmp(a.unit + l - 6, ".scope"))))
			broken("unit '%s' is not a .service or .scope name", a.unit);
		for (size_t i = 0; i < l; i++)
			if (!isalnum((unsigned char)a.unit[i]) && !strchr(":-_.\\@", a.unit[i]))
				broken("unit '%s' holds byte 0x%02x", a.unit, (unsigned char)a.unit[i]);
		if (!has_name(path, used, a.unit))
			broken("unit '%s' is not a name of the path", a.unit);
	}
out:
	if (jb_cgpath_parse(path, len, cut, &b) != rc || memcmp(a.unit, b.unit, sizeof(a.unit)) ||
	    memcmp(a.container_id, b.container_id, sizeof(a.container_id)) ||
	    memcmp(a.pod_uid, b.pod_uid, sizeof(a.pod_uid)) || a.runtime != b.runtime)
		broken("the same input parsed twice gave two answers");
	free((char *)path);
	return 0;
}
