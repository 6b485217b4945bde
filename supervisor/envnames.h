/*
 * envnames.h - the environment variables the kernel records at exec: the
 * names the loaded recipes read, derived from the recipe set, and the
 * kernel's keep rule applied to an environment block (back-fill, tests).
 */
#ifndef JB_SUP_ENVNAMES_H
#define JB_SUP_ENVNAMES_H

#include <stddef.h>
#include <stdint.h>

#include "bpf/jibril.h"

struct rcp_set;

struct sup_envnames {
	struct jb_env_name *v; /* sorted by name, distinct, NUL padded */
	size_t n;	       /* at most JB_ENV_NAMES_MAX */
};

/* The names the enabled recipes of set read: every env_vars list, and the
 * NAME of each env item whose pattern begins "^NAME=" (rcp_item.env_name).
 * Warns (log) about an env item that names no variable, and about names
 * past JB_ENV_NAMES_MAX (left out). 0, or -1 when out of memory. */
int sup_envnames_derive(const struct rcp_set *set, struct sup_envnames *out);
void sup_envnames_free(struct sup_envnames *n);
/* Is the name (len bytes, no NUL needed) in the set? */
int sup_envnames_has(const struct sup_envnames *n, const char *name, size_t len);
/* The prefilter bit of a name (bpf/jibril.h jb_env_pre). */
uint32_t sup_envnames_prebit(const char *name);

/*
 * The entries of an environment block (NUL separated "NAME=value", len
 * bytes, the last one may lack its NUL) that the kernel's fill_env() keeps:
 * those whose NAME is in names, in order, into out (JB_ENV_LEN bytes); *out_len
 * gets the bytes used. Returns 1 when something may be left out, as the
 * kernel flags JB_TASK_ENV_CUT: a wanted entry cut to fit or with no room
 * left (nothing is kept after it), or a block of JB_ENV_SCAN bytes or more
 * (entries starting past its first JB_ENV_SCAN - 1 bytes are not looked at).
 */
int jb_env_keep(const char *env, size_t len, const struct sup_envnames *names, char *out,
		uint32_t *out_len);

#endif
