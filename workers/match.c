/*
 * match.c - the table of mechanisms (plugin workers), the helpers they
 * share, and the watch list: the files of the file_access recipes whose
 * kernel records live in the protected maps.
 */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "detect.h"
#include "recipe.h"

const struct wrk_mechanism wrk_file_access = {"file_access", WRK_SRC_LINKS};
const struct wrk_mechanism wrk_execution = {"execution", WRK_SRC_EXECS};
const struct wrk_mechanism wrk_network = {"network", WRK_SRC_FLOWS};

static const struct rcp_set *watch_set;

const char *wrk_basename(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

int wrk_path_under(const char *path, const char *dir)
{
	return strncmp(path, dir, strlen(dir)) == 0;
}

const uint8_t *wrk_flow_v4(const struct jb_flow *f)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	if (f->family == AF_INET)
		return f->daddr;
	if (f->family == AF_INET6 && !memcmp(f->daddr, mapped, sizeof(mapped)))
		return f->daddr + 12;
	return NULL;
}

void wrk_watch_set_recipes(const struct rcp_set *set)
{
	watch_set = set;
}

#define WATCH_DIR_MAX 256 /* files taken from one dir-only entry */

int wrk_watch_paths(void (*add)(const char *path, void *arg), void *arg)
{
	char path[JB_PATH_LEN];
	int n = 0;

	for (size_t i = 0; watch_set && i < watch_set->n; i++) {
		const struct recipe *r = &watch_set->r[i];
		if (!r->enabled || r->mech != RCP_FILE_ACCESS)
			continue;
		for (size_t b = 0; b < r->nbases; b++) {
			const struct rcp_base *e = &r->bases[b];
			if (e->dir && e->base) {
				if (snprintf(path, sizeof(path), "%s/%s", strcmp(e->dir, "/") ? e->dir : "",
					     e->base) < (int)sizeof(path)) {
					add(path, arg);
					n++;
				}
			} else if (e->dir && !e->re) {
				DIR *d = opendir(e->dir);
				struct dirent *de;
				int k = 0;
				while (d && (de = readdir(d)) && k < WATCH_DIR_MAX) {
					if (de->d_name[0] == '.' && (!de->d_name[1] ||
								     !strcmp(de->d_name, "..")))
						continue;
					if (snprintf(path, sizeof(path), "%s/%s", e->dir, de->d_name) <
					    (int)sizeof(path)) {
						add(path, arg);
						n++, k++;
					}
				}
				if (d)
					closedir(d);
			}
		}
	}
	return n;
}

const struct wrk_mechanism *wrk_mechanism_by_name(const char *name)
{
	static const struct wrk_mechanism *const all[] = {&wrk_file_access, &wrk_execution,
							   &wrk_network};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (!strcmp(all[i]->name, name))
			return all[i];
	return NULL;
}
