/*
 * recipes.h - the supervisor's recipe set: built-in and operator recipes,
 * validated, listed, shipped to the workers (see recipes.c).
 */
#ifndef JB_SUP_RECIPES_H
#define JB_SUP_RECIPES_H

#include <stdio.h>

#include "ipc/peer.h"
#include "supervisor/config.h"
#include "rcp/recipe.h"

struct sup_rcp_src {
	char *name;
	char *data;
	size_t len;
	int list;	/* a domain list, not a recipe file */
	int owned;	/* data is ours to free (else built into the binary) */
};

struct sup_recipes {
	struct rcp_set set;		/* every recipe, every mechanism */
	struct sup_rcp_src *srcs;	/* recipe files, then the lists they name */
	size_t nsrcs;
	char **disabled;		/* kinds, NULL terminated */
};

/* Load and validate; -1 with "file:line: what is wrong" in err. */
int sup_recipes_load(const struct jb_config *cfg, const char *conf_path, struct sup_recipes *r,
		     char *err, size_t errlen);
void sup_recipes_free(struct sup_recipes *r);
/* Enabled recipes. */
size_t sup_recipes_enabled(const struct sup_recipes *r);
void sup_recipes_list(const struct sup_recipes *r, FILE *out);
/* Queue the whole set as IPC_RECIPE messages (the last one has IPC_RCP_END). */
int sup_recipes_send(const struct sup_recipes *r, struct ipc_peer *peer);

#endif
