/*
 * recipes.c - the supervisor's side of the recipe engine: gather the
 * built-in recipes and the operator's recipe directory, refuse what is not
 * private to root, validate everything with the same loader the workers
 * run, and ship the validated bytes to the workers (IPC_RECIPE).
 *
 * Invariants:
 *  - a recipe directory, each recipe file in it and each domain list read
 *    from disk must be owned by root and neither readable nor writable by
 *    group or others (detection logic is private: what an attacker can read
 *    it can evade); it is opened with O_NOFOLLOW and checked with fstat on
 *    the open descriptor, so what is checked is what is read.
 *  - every directory above the recipe directory is root's and not
 *    writable by group or others unless sticky (owner.c): the directory is
 *    opened relative to the last of them, so nobody else can swap it.
 *  - workers are sent exactly the bytes validated here (never a path to
 *    re-read), so a file changed between validation and a worker's load
 *    cannot make a worker fail or see something else.
 *  - a set is replaced only by a set that loaded completely.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "supervisor/owner.h"
#include "supervisor/recipes.h"
#include "supervisor/sup.h"

#define RCP_FILE_MAX (4u << 20) /* a recipe file or list larger than this is refused */
#define RCP_DIR_MAX 1024	/* files in the recipe directory */

static int private_stat(const struct stat *st, const char *path, int dir, char *err,
			size_t errlen)
{
	if (dir ? !S_ISDIR(st->st_mode) : !S_ISREG(st->st_mode)) {
		snprintf(err, errlen, "%s: not a %s", path, dir ? "directory" : "regular file");
		return -1;
	}
	if (st->st_uid != 0) {
		snprintf(err, errlen,
			 "%s: owned by uid %u, not root: recipes must be private to root "
			 "(chown root %s)",
			 path, (unsigned)st->st_uid, path);
		return -1;
	}
	if (st->st_mode & (S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH)) {
		snprintf(err, errlen,
			 "%s: mode %04o lets group or others read or write it: recipes must be "
			 "private to root, an attacker who can read them can evade them "
			 "(chmod go-rw %s)",
			 path, (unsigned)(st->st_mode & 07777), path);
		return -1;
	}
	return 0;
}

/* Read a private file (relative to dirfd, or absolute with AT_FDCWD). */
static int read_private(int dirfd, const char *name, const char *shown, char **data, size_t *len,
			char *err, size_t errlen)
{
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	char *buf;
	size_t got = 0;

	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot open: %s%s", shown, strerror(errno),
			 errno == ELOOP ? " (symbolic links are refused)" : "");
		return -1;
	}
	if (fstat(fd, &st) < 0 || private_stat(&st, shown, 0, err, errlen) < 0) {
		if (!err[0])
			snprintf(err, errlen, "%s: cannot stat: %s", shown, strerror(errno));
		close(fd);
		return -1;
	}
	if ((uint64_t)st.st_size > RCP_FILE_MAX) {
		snprintf(err, errlen, "%s: larger than %u bytes", shown, RCP_FILE_MAX);
		close(fd);
		return -1;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		snprintf(err, errlen, "%s: out of memory", shown);
		close(fd);
		return -1;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, errlen, "%s: cannot read: %s", shown,
				 n < 0 ? strerror(errno) : "file shrank");
			free(buf);
			close(fd);
			return -1;
		}
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	*data = buf;
	*len = got;
	return 0;
}

static int add_source(struct sup_recipes *r, const char *name, char *data, size_t len, int list)
{
	struct sup_rcp_src *p = realloc(r->srcs, (r->nsrcs + 1) * sizeof(*p));

	if (!p)
		return -1;
	r->srcs = p;
	p[r->nsrcs].name = strdup(name);
	p[r->nsrcs].data = data;
	p[r->nsrcs].len = len;
	p[r->nsrcs].list = list;
	p[r->nsrcs].owned = data != NULL;
	if (!p[r->nsrcs].name)
		return -1;
	r->nsrcs++;
	return 0;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int has_suffix(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);
	return a >= b && !strcmp(s + a - b, suf);
}

/* The operator's directory: *.yaml and *.yml, in name order. */
static int load_dir(struct sup_recipes *r, const char *dir, const char *conf_path, int line,
		    char *err, size_t errlen)
{
	const char *base;
	/* every directory above it root's and not writable by others
	 * (owner.c); it is opened from the last of them */
	int pfd = sup_owner_parent(dir, conf_path, line, "[recipes] dir", &base, err, errlen);
	int dfd = pfd < 0 ? -1 : openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int e = errno;
	struct stat st;
	DIR *d;
	struct dirent *de;
	char *names[RCP_DIR_MAX];
	size_t n = 0;
	int rc = -1;

	if (pfd < 0)
		return -1;
	close(pfd);
	if (dfd < 0) {
		struct stat lst;
		int link = (e == ELOOP || e == ENOTDIR) && lstat(dir, &lst) == 0 && S_ISLNK(lst.st_mode);
		snprintf(err, errlen, "%s: cannot open the recipe directory: %s", dir,
			 link ? "it is a symbolic link (symbolic links are refused)" : strerror(e));
		return -1;
	}
	if (fstat(dfd, &st) < 0 || private_stat(&st, dir, 1, err, errlen) < 0) {
		if (!err[0])
			snprintf(err, errlen, "%s: cannot stat: %s", dir, strerror(errno));
		close(dfd);
		return -1;
	}
	d = fdopendir(dfd);
	if (!d) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		close(dfd);
		return -1;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' ||
		    !(has_suffix(de->d_name, ".yaml") || has_suffix(de->d_name, ".yml")))
			continue;
		if (n == RCP_DIR_MAX) {
			snprintf(err, errlen, "%s: more than %d recipe files", dir, RCP_DIR_MAX);
			goto out;
		}
		if (!(names[n] = strdup(de->d_name)))
			goto out;
		n++;
	}
	qsort(names, n, sizeof(names[0]), cmp_name);
	for (size_t i = 0; i < n; i++) {
		char shown[4600], *data;
		size_t len;
		if ((size_t)snprintf(shown, sizeof(shown), "%s/%s", dir, names[i]) >= IPC_PATH_MAX) {
			snprintf(err, errlen, "%s/%s: path longer than %d characters", dir, names[i],
				 IPC_PATH_MAX - 1);
			goto out;
		}
		if (read_private(dirfd(d), names[i], shown, &data, &len, err, errlen) < 0)
			goto out;
		if (add_source(r, shown, data, len, 0) < 0) {
			free(data);
			snprintf(err, errlen, "out of memory");
			goto out;
		}
	}
	rc = 0;
out:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	closedir(d);
	return rc;
}

/* remote_domains_file: a built-in list, or a private file on disk. */
static int file_fn(const char *from, const char *path, struct rcp_source *out, char *err,
		   size_t errlen, void *arg)
{
	struct sup_recipes *r = arg;
	char name[4096], *data;
	size_t len;

	if (rcp_resolve(from, path, name, sizeof(name)) < 0) {
		snprintf(err, errlen, "path too long");
		return -1;
	}
	for (size_t i = 0; i < r->nsrcs; i++)
		if (r->srcs[i].list && !strcmp(r->srcs[i].name, name))
			goto found;
	if (!strncmp(name, "builtin:", 8)) {
		for (size_t i = 0; i < rcp_builtin_files_n; i++)
			if (!strcmp(rcp_builtin_files[i].name, name)) {
				if (add_source(r, name, (char *)rcp_builtin_files[i].data,
					       rcp_builtin_files[i].len, 1) < 0)
					goto oom;
				r->srcs[r->nsrcs - 1].owned = 0;
				goto found;
			}
		snprintf(err, errlen, "no built-in list %s", name + 8);
		return -1;
	}
	err[0] = '\0';
	if (read_private(AT_FDCWD, name, name, &data, &len, err, errlen) < 0)
		return -1;
	if (add_source(r, name, data, len, 1) < 0) {
		free(data);
		goto oom;
	}
found:
	for (size_t i = 0; i < r->nsrcs; i++)
		if (r->srcs[i].list && !strcmp(r->srcs[i].name, name)) {
			out->name = r->srcs[i].name;
			out->data = r->srcs[i].data;
			out->len = r->srcs[i].len;
			return 0;
		}
oom:
	snprintf(err, errlen, "out of memory");
	return -1;
}

/* "a, b c" -> NULL-terminated array of kinds. */
static int split_kinds(struct sup_recipes *r, const char *text)
{
	char *dup = strdup(text), *save = NULL;
	size_t n = 0;

	if (!dup)
		return -1;
	r->disabled = calloc(strlen(text) / 2 + 2, sizeof(char *));
	if (!r->disabled) {
		free(dup);
		return -1;
	}
	for (char *t = strtok_r(dup, ", \t", &save); t; t = strtok_r(NULL, ", \t", &save))
		if (!(r->disabled[n++] = strdup(t))) {
			free(dup);
			return -1;
		}
	free(dup);
	return 0;
}

void sup_recipes_free(struct sup_recipes *r)
{
	rcp_set_free(&r->set);
	for (size_t i = 0; i < r->nsrcs; i++) {
		free(r->srcs[i].name);
		if (r->srcs[i].owned)
			free(r->srcs[i].data);
	}
	free(r->srcs);
	for (size_t i = 0; r->disabled && r->disabled[i]; i++)
		free(r->disabled[i]);
	free(r->disabled);
	memset(r, 0, sizeof(*r));
}

int sup_recipes_load(const struct jb_config *cfg, const char *conf_path, struct sup_recipes *r,
		     char *err, size_t errlen)
{
	struct rcp_source *v = NULL;
	size_t nv = 0;

	memset(r, 0, sizeof(*r));
	err[0] = '\0';
	for (size_t i = 0; i < rcp_builtin_n; i++)
		if (add_source(r, rcp_builtin[i].name, (char *)rcp_builtin[i].data,
			       rcp_builtin[i].len, 0) < 0)
			goto oom;
		else
			r->srcs[r->nsrcs - 1].owned = 0;
	if (cfg->recipes_dir[0] &&
	    load_dir(r, cfg->recipes_dir, conf_path, cfg->recipes_dir_line, err, errlen) < 0)
		goto fail;
	if (split_kinds(r, cfg->recipes_disable) < 0)
		goto oom;
	/* the loader sees the recipe files; lists are added as they are named */
	v = calloc(r->nsrcs + 1, sizeof(*v));
	if (!v)
		goto oom;
	for (size_t i = 0; i < r->nsrcs; i++)
		if (!r->srcs[i].list)
			v[nv++] = (struct rcp_source){r->srcs[i].name, r->srcs[i].data, r->srcs[i].len};
	if (rcp_load(&r->set, v, nv, NULL, 0, file_fn, r, err, errlen) < 0)
		goto fail;
	for (size_t i = 0; r->disabled[i]; i++) {
		size_t hit = 0;
		for (size_t j = 0; j < r->set.n; j++)
			if (!strcmp(r->set.r[j].event_kind, r->disabled[i])) {
				r->set.r[j].enabled = 0; /* every variant of the kind */
				hit++;
			}
		if (!hit) {
			snprintf(err, errlen, "%s:%d: [recipes] disable: there is no recipe '%s' "
				 "(jibril --list-recipes shows them)",
				 conf_path, cfg->recipes_disable_line, r->disabled[i]);
			goto fail;
		}
	}
	for (size_t i = 0; i < r->set.n; i++) {
		const struct recipe *x = &r->set.r[i];
		char names[256] = "";
		size_t o = 0;

		/* a warning, so that --check-config shows it too */
		if (x->replaces)
			log_warnx("recipe %s: %s replaces the built-in (%s)", x->kind, x->source,
				  x->replaces);
		if (!x->nreactions)
			continue;
		for (size_t k = 0; k < x->nreactions && o < sizeof(names); k++)
			o += (size_t)snprintf(names + o, sizeof(names) - o, "%s%s", k ? ", " : "",
					      x->reactions[k]);
		log_warnx("%s:%d: recipe %s: %zu reaction%s (%s) will not run: jibril does not "
			  "run reactions yet; each detection lists them in reactions_not_run",
			  x->source, x->line, x->kind, x->nreactions, x->nreactions > 1 ? "s" : "",
			  names);
	}
	free(v);
	return 0;
oom:
	snprintf(err, errlen, "out of memory loading recipes");
fail:
	free(v);
	sup_recipes_free(r);
	return -1;
}

size_t sup_recipes_enabled(const struct sup_recipes *r)
{
	size_t n = 0;

	for (size_t i = 0; i < r->set.n; i++)
		n += r->set.r[i].enabled != 0;
	return n;
}

void sup_recipes_list(const struct sup_recipes *r, FILE *out)
{
	fprintf(out, "%-34s %-14s %-9s %-8s %s\n", "KIND", "MECHANISM", "IMPORTANCE", "ENABLED",
		"SOURCE");
	for (size_t i = 0; i < r->set.n; i++) {
		const struct recipe *x = &r->set.r[i];
		fprintf(out, "%-34s %-14s %-10s %-8s %s:%d%s%s%s\n", x->kind, rcp_mech_name(x->mech),
			x->importance, x->enabled ? "yes" : "no", x->source, x->line,
			x->replaces ? " (replaces " : "", x->replaces ? x->replaces : "",
			x->replaces ? ")" : "");
	}
	fprintf(out, "%zu recipes, %zu enabled\n", r->set.n, sup_recipes_enabled(r));
}

static int send_chunked(struct ipc_peer *peer, const char *name, const char *data, size_t len,
			uint64_t flags)
{
	static char buf[IPC_MAX_MSG];
	size_t off = 0;

	do {
		size_t n = len - off > IPC_RECIPE_CHUNK ? IPC_RECIPE_CHUNK : len - off;
		uint64_t f = flags & ~(uint64_t)IPC_RCP_END;
		if (off + n < len)
			f |= IPC_RCP_CONT;
		else
			f |= flags & IPC_RCP_END;
		int k = ipc_enc_recipe(buf, sizeof(buf), name, data + off, n, f);
		if (k < 0 || ipc_peer_send(peer, buf, (size_t)k) < 0)
			return -1;
		off += n;
	} while (off < len);
	return 0;
}

int sup_recipes_send(const struct sup_recipes *r, struct ipc_peer *peer)
{
	char *dis;
	size_t len = 0;
	int rc;

	for (size_t i = 0; i < r->nsrcs; i++)
		if (send_chunked(peer, r->srcs[i].name, r->srcs[i].data, r->srcs[i].len,
				 r->srcs[i].list ? IPC_RCP_LIST : 0) < 0)
			return -1;
	for (size_t i = 0; r->disabled && r->disabled[i]; i++)
		len += strlen(r->disabled[i]) + 1;
	dis = malloc(len + 1);
	if (!dis)
		return -1;
	len = 0;
	for (size_t i = 0; r->disabled && r->disabled[i]; i++)
		len += (size_t)sprintf(dis + len, "%s\n", r->disabled[i]);
	rc = send_chunked(peer, "disabled", dis, len, IPC_RCP_DISABLED | IPC_RCP_END);
	free(dis);
	return rc;
}
