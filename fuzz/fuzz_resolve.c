/*
 * fuzz_resolve.c - libFuzzer target for rcp_resolve(), the pure string
 * work that turns a remote_domains_file path into the name of a list,
 * relative to the recipe source that names it (rcp/lists.c).
 *
 *   make fuzz; build/fuzz/fuzz_resolve DIR  (a copy of fuzz/corpus/resolve)
 *
 * The input is "FROM\nPATH" (no newline: FROM is "fuzz/input.yaml").
 * Besides "never crash" (a long run of "../" once overflowed a stack
 * array: ASan), it checks what an accepted name looks like:
 *  - it fits: shorter than the room given, and the same answer with
 *    exactly that much room, refused with one byte less;
 *  - "builtin:" when FROM has it and PATH is relative; absolute when
 *    either is;
 *  - folded: no empty or "." component, ".." only as a leading run of a
 *    relative name, none in an absolute one;
 *  - resolving it again (as an absolute path, or relative to a source
 *    without a directory) gives it back.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/broken.h"
#include "rcp/recipe.h"

static void check_folded(const char *name, const char *from, const char *path)
{
	int absolute = name[0] == '/', leading = 1;
	const char *p = name + absolute;

	if (!*p)
		return; /* "/" or "" */
	for (;;) {
		const char *e = strchr(p, '/');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (!l || (l == 1 && p[0] == '.'))
			broken("'%s' (from '%s', path '%s') holds an empty or '.' component",
			       name, from, path);
		if (l == 2 && !strncmp(p, "..", 2)) {
			if (absolute || !leading)
				broken("'%s' (from '%s', path '%s') keeps a '..' it could fold",
				       name, from, path);
		} else {
			leading = 0;
		}
		if (!e)
			break;
		p = e + 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char out[4096], again[4096], tight[4096];
	char *buf = malloc(size + 1), *from = "fuzz/input.yaml", *path, *nl;
	const char *name;
	size_t len;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	path = buf;
	if ((nl = memchr(buf, '\n', size))) {
		*nl = '\0';
		from = buf;
		path = nl + 1;
	}
	if (rcp_resolve(from, path, out, sizeof(out)) < 0) {
		free(buf);
		return 0;
	}
	len = strlen(out);
	if (len >= sizeof(out))
		broken("a name of %zu bytes in %zu", len, sizeof(out));
	if (rcp_resolve(from, path, tight, len + 1) < 0 || strcmp(tight, out))
		broken("'%s' does not resolve the same in exactly its room", out);
	if (len && rcp_resolve(from, path, tight, len) == 0)
		broken("'%s' (%zu bytes) fits in %zu", out, len, len);
	/* (a relative name from a source without a directory may itself
	 * start "builtin:"; the supervisor's sources are absolute or
	 * builtin:, so its names are too) */
	int has_prefix = !strncmp(from, "builtin:", 8) && path[0] != '/';
	if (has_prefix && strncmp(out, "builtin:", 8))
		broken("'%s' from '%s', path '%s': no builtin: prefix", out, from, path);
	if ((from[0] == '/' || path[0] == '/') && out[0] != '/')
		broken("'%s' from '%s', path '%s' is not absolute", out, from, path);
	name = out + (has_prefix ? 8 : 0);
	check_folded(name, from, path);
	/* a fixed point */
	if (name[0] == '/') {
		if (rcp_resolve("/a.yaml", name, again, sizeof(again)) < 0 || strcmp(again, name))
			broken("'%s' resolves again to '%s'", name, again);
	} else if (*name) {
		if (rcp_resolve(has_prefix ? "builtin:a.yaml" : "a.yaml", name, again,
				sizeof(again)) < 0 ||
		    strcmp(again, out))
			broken("'%s' resolves again to '%s'", out, again);
	}
	free(buf);
	return 0;
}
