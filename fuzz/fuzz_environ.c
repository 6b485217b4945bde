/*
 * fuzz_environ.c - libFuzzer target for the environment keep rule that
 * back-fill applies to /proc/PID/environ (supervisor/envnames.c,
 * jb_env_keep()): a process's own bytes, anything at all.
 *
 *   make fuzz; build/fuzz/fuzz_environ -dict=fuzz/environ.dict DIR
 *
 * The input is the block. The wanted names are a fixed set (one-letter,
 * LD_*, a name that is another's prefix). Besides "never crash", it checks
 * the result against a model written apart from the code: the entries
 * whose name (the bytes before the first "=") is wanted and that start in
 * the first JB_ENV_SCAN - 1 bytes, in order, NUL separated; the first that
 * does not fit is cut to the buffer and ends the list; "cut" exactly when
 * something wanted was cut or left out, or the block is JB_ENV_SCAN bytes
 * or more; the bytes after out_len are zero.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/broken.h"
#include "supervisor/envnames.h"

static const char *const wanted[] = {"A", "LD_AUDIT", "LD_PRELOAD", "LD_PRELOAD_X", NULL};
static struct sup_envnames names;
static struct jb_env_name v[4];

static int is_wanted(const char *e, size_t l)
{
	const char *eq = memchr(e, '=', l);

	if (!eq)
		return 0;
	for (int i = 0; wanted[i]; i++)
		if ((size_t)(eq - e) == strlen(wanted[i]) && !memcmp(e, wanted[i], (size_t)(eq - e)))
			return 1;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[JB_ENV_LEN], want[JB_ENV_LEN];
	const char *env = (const char *)data;
	size_t used = 0, scan = size < JB_ENV_SCAN ? size : JB_ENV_SCAN - 1;
	uint32_t n = 0xdead;
	int cut, wcut = size >= JB_ENV_SCAN;

	if (!names.n) {
		for (int i = 0; wanted[i]; i++)
			memcpy(v[i].name, wanted[i], strlen(wanted[i]));
		names.v = v; /* already sorted */
		names.n = 4;
	}
	memset(want, 0, sizeof(want));
	for (size_t i = 0; i < scan;) {
		const char *nul = memchr(env + i, '\0', size - i);
		size_t l = nul ? (size_t)(nul - (env + i)) : size - i;

		if (l && is_wanted(env + i, l)) {
			if (used + l + 1 <= JB_ENV_LEN) {
				memcpy(want + used, env + i, l);
				used += l + 1;
			} else {
				if (used < JB_ENV_LEN) {
					memcpy(want + used, env + i, JB_ENV_LEN - 1 - used);
					used = JB_ENV_LEN;
				}
				wcut = 1;
				break;
			}
		}
		i += l + 1;
	}
	cut = jb_env_keep(env, size, &names, out, &n);
	if (n != used)
		broken("out_len %u, the model says %zu", n, used);
	if (cut != wcut)
		broken("cut %d, the model says %d (size %zu, out_len %zu)", cut, wcut, size, used);
	if (memcmp(out, want, sizeof(out)))
		broken("kept bytes differ from the model's (out_len %zu)", used);
	return 0;
}
