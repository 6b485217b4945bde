/*
 * watch.c - the watch list: the files of the enabled file_access recipes
 * whose kernel records live in the protected maps (the loader hashes them
 * into jb_watch before the programs attach). Runs in the root supervisor
 * only: it reads the account database and lists directories.
 *
 * Invariants:
 *  - a {dir, base} entry is watched whether or not the file exists yet;
 *    a {dir}-only entry contributes the files in dir now (at most
 *    WATCH_DIR_MAX of them); regex-only entries are searched for in the
 *    places credentials live (below), and only paths the regex matches are
 *    added. base-only entries cannot be enumerated.
 *  - pure of global state: the recipe set is a parameter.
 */
#include <dirent.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "rcp/recipe.h"
#include "supervisor/watch.h"

#define WATCH_DIR_MAX 256 /* files taken from one directory */
#define WATCH_HOMES_MAX 1024

/* Does path match a regex-only bases entry of an enabled file_access recipe? */
static int regex_watched(const struct rcp_set *watch_set, const char *path)
{
	for (size_t i = 0; watch_set && i < watch_set->n; i++) {
		const struct recipe *r = &watch_set->r[i];
		if (!r->enabled || r->mech != RCP_FILE_ACCESS)
			continue;
		for (size_t b = 0; b < r->nbases; b++) {
			const struct rcp_base *e = &r->bases[b];
			if (e->re && !e->dir && !e->base) {
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

/* Files in dir (and the names in also[], which may not exist yet) that a
 * regex-only entry matches. */
static int scan_dir(const struct rcp_set *set, void (*add)(const char *, void *), void *arg,
		    const char *dir, const char *const *also)
{
	char path[JB_PATH_LEN];
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0, k = 0;

	for (; also && *also; also++)
		if (snprintf(path, sizeof(path), "%s/%s", dir, *also) < (int)sizeof(path))
			n += add_if(set, add, arg, path);
	while (d && (de = readdir(d)) && k++ < WATCH_DIR_MAX)
		if (de->d_name[0] != '.' || (de->d_name[1] && strcmp(de->d_name, "..")))
			if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) < (int)sizeof(path))
				n += add_if(set, add, arg, path);
	if (d)
		closedir(d);
	return n;
}

/*
 * Regex-only entries cannot be enumerated in general; their files are
 * searched where credentials live: the home directory of every account
 * (/etc/passwd) and /etc/ssh, in the directories below, plus the
 * authorized_keys files that an attacker would create. Only paths a
 * recipe's regex matches are added.
 */
static int watch_regex_paths(const struct rcp_set *set, void (*add)(const char *, void *),
			     void *arg)
{
	static const char *const subdirs[] = {".ssh", ".aws", ".docker", ".kube", ".config/gcloud",
					      ".azure", ".gnupg", "", NULL};
	static const char *const ssh_new[] = {"authorized_keys", "authorized_keys2", NULL};
	char dir[JB_PATH_LEN], seen[WATCH_HOMES_MAX][64];
	struct passwd *pw;
	int n = scan_dir(set, add, arg, "/etc/ssh", NULL), homes = 0;

	setpwent();
	while ((pw = getpwent()) && homes < WATCH_HOMES_MAX) {
		struct stat st;
		int dup = 0;
		if (!pw->pw_dir || pw->pw_dir[0] != '/' || !strcmp(pw->pw_dir, "/") ||
		    strlen(pw->pw_dir) >= sizeof(seen[0]) || stat(pw->pw_dir, &st) < 0 ||
		    !S_ISDIR(st.st_mode))
			continue;
		for (int h = 0; h < homes && !dup; h++)
			dup = !strcmp(seen[h], pw->pw_dir);
		if (dup)
			continue;
		snprintf(seen[homes++], sizeof(seen[0]), "%s", pw->pw_dir);
		/* the home itself (dotfiles) only for people: system accounts
		 * have homes such as /bin or /dev */
		int person = !strcmp(pw->pw_dir, "/root") || !strncmp(pw->pw_dir, "/home/", 6);
		for (int i = 0; subdirs[i]; i++) {
			if (!subdirs[i][0] && !person)
				continue;
			if (snprintf(dir, sizeof(dir), "%s%s%s", pw->pw_dir, subdirs[i][0] ? "/" : "",
				     subdirs[i]) >= (int)sizeof(dir))
				continue;
			n += scan_dir(set, add, arg, dir, !strcmp(subdirs[i], ".ssh") ? ssh_new : NULL);
		}
	}
	endpwent();
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
				const char *dd = strcmp(e->dir, "/") ? e->dir : "";
				DIR *d = opendir(e->dir);
				struct dirent *de;
				int k = 0;
				while (d && (de = readdir(d)) && k < WATCH_DIR_MAX) {
					if (de->d_name[0] == '.' && (!de->d_name[1] ||
								     !strcmp(de->d_name, "..")))
						continue;
					if (snprintf(path, sizeof(path), "%s/%s", dd, de->d_name) <
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
	return n + watch_regex_paths(watch_set, add, arg);
}
