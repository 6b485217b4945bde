/*
 * match.c - small helpers the detection tables share, and the table of
 * mechanisms.
 */
#include <glob.h>
#include <string.h>
#include <sys/socket.h>

#include "detect.h"

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

int wrk_watch_paths(void (*add)(const char *path, void *arg), void *arg)
{
	const struct wrk_mechanism *m = &wrk_file_access;
	int n = 0;

	for (size_t d = 0; d < m->ndefs; d++) {
		for (const char *const *w = m->defs[d].watch; w && *w; w++) {
			glob_t g;

			if (!strpbrk(*w, "*?[")) {
				add(*w, arg);
				n++;
				continue;
			}
			if (glob(*w, GLOB_NOSORT, NULL, &g) == 0) {
				for (size_t i = 0; i < g.gl_pathc; i++, n++)
					add(g.gl_pathv[i], arg);
				globfree(&g);
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
