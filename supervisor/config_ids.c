/*
 * config_ids.c - whether the children can take the uids and gids
 * child_uid_base gives them (jb_config_check_ids, config.h).
 *
 * Invariants:
 *  - an id the account database knows is refused: another user (or a
 *    future one) could own processes or files with it; 65534 is refused
 *    whatever the database says (nobody is shared by design).
 *  - an id our user namespace does not map is refused up front, with the
 *    file and line of the key: a child that cannot become it would fail
 *    at every start instead.
 *  - runs at start-up and for --check-config only: account lookups may go
 *    to the network (NSS) and must not block the running event loop.
 */
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>

#include "supervisor/config.h"

/* Is id inside one of the ranges of /proc/self/{uid,gid}_map? A missing
 * file (no user namespaces) maps everything. */
static int mapped(const char *map, uint32_t id)
{
	FILE *f = fopen(map, "re");
	unsigned long long inside, outside, count;
	int ok = 0;

	if (!f)
		return 1;
	while (!ok && fscanf(f, "%llu %llu %llu", &inside, &outside, &count) == 3)
		ok = id >= inside && id - inside < count;
	fclose(f);
	return ok;
}

int jb_config_check_ids(const struct jb_config *c, const char *path, char *err, size_t errlen)
{
	char where[4200];

	if (c->child_uid_base_line > 0)
		snprintf(where, sizeof(where), "%s:%d", path, c->child_uid_base_line);
	else
		snprintf(where, sizeof(where), "%s", path);
	for (size_t i = 0; i < jb_nkinds; i++) {
		uint32_t id = c->child_uid_base + (uint32_t)i;
		struct passwd *pw = getpwuid((uid_t)id);
		struct group *gr = getgrgid((gid_t)id);

		if (pw || gr || id == 65534) {
			snprintf(err, errlen,
				 "%s: child_uid_base: id %" PRIu32 " (kind %s) is %s%s%s in the account "
				 "database: the children need uids and gids that no account uses",
				 where, id, jb_kinds[i].name, pw ? "user '" : gr ? "group '" : "",
				 pw ? pw->pw_name : gr ? gr->gr_name : "nobody's", pw || gr ? "'" : "");
			return -1;
		}
		if (!mapped("/proc/self/uid_map", id) || !mapped("/proc/self/gid_map", id)) {
			snprintf(err, errlen,
				 "%s: child_uid_base: id %" PRIu32 " (kind %s) is not mapped in this "
				 "user namespace (/proc/self/uid_map, gid_map): choose a base inside a "
				 "mapped range", where, id, jb_kinds[i].name);
			return -1;
		}
	}
	return 0;
}
