/*
 * watch.c - the watch list: the files of the enabled file_access recipes
 * whose kernel records live in the protected maps (the loader hashes them
 * into jb_watch before the programs attach). Runs in the root supervisor
 * only: it reads the account database and lists directories.
 *
 * Invariants:
 *  - a {dir, base} entry is watched whether or not the file exists yet;
 *    a {dir}-only entry contributes the files in dir now (at most
 *    WATCH_DIR_MAX of them); base-only entries cannot be enumerated.
 *  - regex-only entries are looked for where the recipes say (their search
 *    and expect places, pooled over the enabled file_access recipes): the
 *    files now in each search directory (at most WATCH_DIR_MAX) and each
 *    expect file, existing or not, are added when a regex-only entry of an
 *    enabled file_access recipe matches them. "~" is the home of each
 *    account (at most WATCH_HOMES_MAX homes); what lies directly in a home
 *    is looked at only for people (/root, /home/NAME): system accounts
 *    have homes such as /bin or /dev.
 *  - pure of global state: the recipe set is a parameter.
 */
#include <dirent.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/log.h"
#include "rcp/recipe.h"
#include "supervisor/watch.h"

#define WATCH_DIR_MAX 256 /* entries read from one directory */
#define WATCH_HOMES_MAX 1024

static int file_regex_only(const struct recipe *r, const struct rcp_base *e)
{
	return r->enabled && r->mech == RCP_FILE_ACCESS && e->re && !e->dir && !e->base;
}

/* Does path match a regex-only bases entry of an enabled file_access recipe? */
static int regex_watched(const struct rcp_set *watch_set, const char *path)
{
	for (size_t i = 0; watch_set && i < watch_set->n; i++) {
		const struct recipe *r = &watch_set->r[i];
		for (size_t b = 0; b < r->nbases; b++) {
			const struct rcp_base *e = &r->bases[b];
			if (file_regex_only(r, e)) {
				struct rcp_base only = {.re = e->re};
				struct recipe one = {.bases = &only, .nbases = 1};
				if (rcp_match_bases(&one, path))
					return 1;
			}
		}
	}
	return 0;
}

static int add_if(const struct rcp_set *set, void (*add)(const char *, void *), void *arg,
		  const char *path)
{
	if (!regex_watched(set, path))
		return 0;
	add(path, arg);
	return 1;
}

/* Files in dir (at most WATCH_DIR_MAX entries read): those a regex-only
 * entry of set matches, or every one when set is NULL. */
static int scan_dir(const struct rcp_set *set, void (*add)(const char *, void *), void *arg,
		    const char *dir)
{
	char path[JB_PATH_LEN];
	const char *dd = strcmp(dir, "/") ? dir : "";
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0, k = 0;

	while (d && (de = readdir(d)) && k++ < WATCH_DIR_MAX) {
		if ((de->d_name[0] == '.' && (!de->d_name[1] || !strcmp(de->d_name, ".."))) ||
		    snprintf(path, sizeof(path), "%s/%s", dd, de->d_name) >= (int)sizeof(path))
			continue;
		if (!set) {
			add(path, arg);
			n++;
		} else {
			n += add_if(set, add, arg, path);
		}
	}
	if (d)
		closedir(d);
	return n;
}

/* The search (expect = 0) or expect (1) places of the enabled file_access
 * recipes, each once, in set order, NULL terminated; NULL when out of
 * memory. The strings are the set's. */
static const char **places(const struct rcp_set *set, int expect)
{
	const char **v;
	size_t cap = 1, n = 0;

	for (size_t i = 0; i < set->n; i++)
		for (size_t b = 0; b < set->r[i].nbases; b++)
			cap += expect ? set->r[i].bases[b].nexpect : set->r[i].bases[b].nsearch;
	if (!(v = calloc(cap, sizeof(*v))))
		return NULL;
	for (size_t i = 0; i < set->n; i++) {
		const struct recipe *r = &set->r[i];
		for (size_t b = 0; b < r->nbases; b++) {
			const struct rcp_base *e = &r->bases[b];
			size_t m = expect ? e->nexpect : e->nsearch;
			if (!file_regex_only(r, e))
				continue;
			for (size_t j = 0; j < m; j++) {
				const char *p = expect ? e->expect[j] : e->search[j];
				size_t k = 0;
				while (k < n && strcmp(v[k], p))
					k++;
				if (k == n)
					v[n++] = p;
			}
		}
	}
	return v;
}

/* The places below one home: search directories and expect files. */
static int watch_home(const struct rcp_set *set, void (*add)(const char *, void *), void *arg,
		      const char *home, int person, const char **dirs, const char **files)
{
	char path[JB_PATH_LEN];
	int n = 0;

	for (; *dirs; dirs++)
		if ((*dirs)[0] == '~' && (person || (*dirs)[1]) &&
		    snprintf(path, sizeof(path), "%s%s", home, *dirs + 1) < (int)sizeof(path))
			n += scan_dir(set, add, arg, path);
	for (; *files; files++)
		if ((*files)[0] == '~' && (person || strchr(*files + 2, '/')) &&
		    snprintf(path, sizeof(path), "%s%s", home, *files + 1) < (int)sizeof(path))
			n += add_if(set, add, arg, path);
	return n;
}

/* Every account's home once (/etc/passwd and the other account databases;
 * "/home/a/" is "/home/a"); "/", relative and missing homes are skipped. */
static int watch_homes(const struct rcp_set *set, void (*add)(const char *, void *), void *arg,
		       const char **dirs, const char **files)
{
	char seen[WATCH_HOMES_MAX][64];
	struct passwd *pw;
	int n = 0, homes = 0;

	setpwent();
	while ((pw = getpwent()) && homes < WATCH_HOMES_MAX) {
		struct stat st;
		char *home = seen[homes];
		size_t len = pw->pw_dir ? strlen(pw->pw_dir) : 0;
		int dup = 0;

		while (len > 1 && pw->pw_dir[len - 1] == '/')
			len--;
		if (len < 2 || pw->pw_dir[0] != '/' || len >= sizeof(seen[0]))
			continue;
		memcpy(home, pw->pw_dir, len);
		home[len] = '\0';
		if (stat(home, &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		for (int h = 0; h < homes && !dup; h++)
			dup = !strcmp(seen[h], home);
		if (dup)
			continue;
		homes++;
		n += watch_home(set, add, arg, home,
				!strcmp(home, "/root") || !strncmp(home, "/home/", 6), dirs, files);
	}
	endpwent();
	return n;
}

/* Regex-only entries cannot be enumerated in general: their files are
 * looked for in the places their recipes name. */
static int watch_regex_paths(const struct rcp_set *set, void (*add)(const char *, void *),
			     void *arg)
{
	const char **dirs = places(set, 0), **files = places(set, 1);
	int n = 0, below_homes = 0;

	if (!dirs || !files) {
		log_warnx("watch list: out of memory: files of regex-only recipes not protected");
		goto out;
	}
	for (const char **p = dirs; *p; p++) {
		if ((*p)[0] == '/')
			n += scan_dir(set, add, arg, *p);
		below_homes |= (*p)[0] == '~';
	}
	for (const char **p = files; *p; p++) {
		if ((*p)[0] == '/')
			n += add_if(set, add, arg, *p);
		below_homes |= (*p)[0] == '~';
	}
	if (below_homes)
		n += watch_homes(set, add, arg, dirs, files);
out:
	free(dirs);
	free(files);
	return n;
}

int sup_watch_paths(const struct rcp_set *watch_set, void (*add)(const char *path, void *arg),
		    void *arg)
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
				n += scan_dir(NULL, add, arg, e->dir); /* every file there */
			}
		}
	}
	return watch_set ? n + watch_regex_paths(watch_set, add, arg) : n;
}
