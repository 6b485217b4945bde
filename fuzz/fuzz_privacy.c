/*
 * fuzz_privacy.c - libFuzzer target for prv_apply (common/privacy.c): every
 * printer that pseudonymises runs it over each line, whatever a (perhaps
 * compromised) worker put in it.
 *
 *   make fuzz; build/fuzz/fuzz_privacy DIR  (a copy of fuzz/corpus/privacy)
 *
 * Besides "never crash", it checks for every JSON object:
 *  - prv_apply returns 0 (memory is plenty here) and the event stays one
 *    object that serialises, with "pseudonymised" an array of strings;
 *  - no string left holds a local user's name as a word, nor "/home/"
 *    followed by anything but a pseudonym, outside the recipe's own words;
 *  - a second pass changes nothing it already changed (pseudonyms are not
 *    pseudonymised again) when the first listed nothing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/privacy.h"
#include "fuzz/broken.h"

static const char users[] = "alice\0bob.smith\0x";

static int word(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

/* "alice" as a word in s (n bytes)? */
static int has_word(const char *s, size_t n, const char *w)
{
	size_t l = strlen(w);

	for (size_t i = 0; i + l <= n; i++)
		if (!memcmp(s + i, w, l) && (i == 0 || !word((unsigned char)s[i - 1])) &&
		    (i + l == n || !word((unsigned char)s[i + l])))
			return 1;
	return 0;
}

static const char *const clear_top[] = {"uuid", "timestamp", "event_time", "kind", "name",
					"mechanism", "breed", "importance", "description",
					"documentation", "mitre", "recipe", "reactions_not_run",
					"agent", "pseudonymised", NULL};

static void check(json_t *v, const char *key, int depth)
{
	const char *k;
	json_t *x;
	size_t i;

	if (key && (!strcmp(key, "id") || !strcmp(key, "container_id") || !strcmp(key, "pod_uid")))
		return;
	if (json_is_object(v)) {
		json_object_foreach(v, k, x) {
			int skip = 0;
			for (i = 0; depth == 0 && clear_top[i]; i++)
				skip |= !strcmp(k, clear_top[i]);
			if (!skip)
				check(x, k, depth + 1);
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, x)
			check(x, key, depth + 1);
	} else if (json_is_string(v)) {
		const char *s = json_string_value(v), *h;
		size_t n = json_string_length(v);
		if (has_word(s, n, "alice") || has_word(s, n, "bob.smith"))
			broken("fuzz_privacy: a user's name left in \"%s\"", s);
		for (h = memmem(s, n, "/home/", 6); h; h = memmem(h + 1, n - (size_t)(h + 1 - s),
								 "/home/", 6)) {
			const char *c = h + 6;
			size_t left = n - (size_t)(c - s);
			if (left && !strchr("/ \t\r\n:;,'\"=()<>|&`$", *c) &&
			    (left < 5 + 12 || memcmp(c, "user-", 5)))
				broken("fuzz_privacy: a home left in \"%s\"", s);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct prv_policy p = {.fields = PRV_USERS | PRV_HOSTS | PRV_IPS, .ipv4_prefix = 24,
			       .ipv6_prefix = 48, .users = users, .users_len = sizeof(users)};
	json_t *ev = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL), *a, *x;
	char *s;
	size_t i;

	if (!ev || !json_is_object(ev)) {
		json_decref(ev);
		return 0;
	}
	memset(p.key, 7, sizeof(p.key));
	if (prv_apply(ev, &p) != 0)
		broken("fuzz_privacy: prv_apply failed");
	a = json_object_get(ev, "pseudonymised");
	if (!json_is_array(a))
		broken("fuzz_privacy: no pseudonymised array");
	json_array_foreach(a, i, x)
		if (!json_is_string(x))
			broken("fuzz_privacy: a path that is not a string");
	check(ev, NULL, 0);
	if (!(s = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER)))
		broken("fuzz_privacy: cannot serialise the result");
	free(s);
	json_decref(ev);
	return 0;
}
