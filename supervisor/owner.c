/*
 * owner.c - the files the root supervisor trusts must be root's: anyone
 * else who can write jibril.conf can turn on the fault hooks or send the
 * alerts elsewhere, anyone who owns the output file reads and rewrites
 * every alert, and anyone who can write a directory above the recipe
 * directory can move it aside and put their own recipes (or none) in its
 * place.
 *
 * Invariants:
 *  - what is checked is what is used: jibril.conf by the fstat of the
 *    descriptor config.c parsed; directories by fstat of O_PATH
 *    descriptors opened one component at a time with O_NOFOLLOW from /
 *    (below the real path of the parent, so a symbolic link among the
 *    ancestors is followed once, by realpath, and every directory actually
 *    crossed is checked); the output file and the recipe directory are then
 *    opened relative to the last checked descriptor, with O_NOFOLLOW.
 *  - a directory may be writable by group or others only if it is sticky
 *    and root's (/tmp): then nobody else can rename or remove what root
 *    put in it. Not an output file's own directory: there anyone could
 *    create FILE first (before start, or between rotation's rename and
 *    its reopen), and the agent would find someone else's file.
 *  - an output file's missing directories are made 0700 below the deepest
 *    one that exists (checked first), one at a time through descriptors,
 *    and the whole chain is walked again before the file is opened.
 *  - every refusal names the key and its line: "CONF:LINE: [section] key:
 *    PATH: why (what to do)"; jibril.conf itself: "PATH: why".
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ipc/msg.h"
#include "supervisor/owner.h"
#include "supervisor/settings.h"

#define GO_W (S_IWGRP | S_IWOTH)

int sup_owner_config(const struct jb_config *c, const char *path, char *err, size_t errlen)
{
	if (c->conf_uid != 0) {
		snprintf(err, errlen,
			 "%s: owned by uid %u, not root: whoever can change the configuration "
			 "decides what the agent runs and where its alerts go (chown root %s)",
			 path, (unsigned)c->conf_uid, path);
		return -1;
	}
	if (c->conf_mode & GO_W) {
		snprintf(err, errlen,
			 "%s: mode %04o lets group or others write it: they could turn on the fault "
			 "hooks or send the alerts elsewhere (chmod go-w %s)",
			 path, (unsigned)(c->conf_mode & 07777), path);
		return -1;
	}
	return 0;
}

/* "CONF:LINE: KEY: " (or "CONF: KEY: " for a key not set in the file) */
static int where(char *err, size_t errlen, const char *conf_path, int line, const char *key)
{
	int n = line > 0 ? snprintf(err, errlen, "%s:%d: %s: ", conf_path, line, key)
			 : snprintf(err, errlen, "%s: %s: ", conf_path, key);
	return n < 0 || (size_t)n >= errlen ? (int)errlen - 1 : n;
}

/* A directory on the way: root's, and not writable by group or others
 * unless sticky. */
static int dir_ok(int fd, const char *shown, char *err, size_t errlen)
{
	struct stat st;

	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "%s: cannot stat: %s", shown, strerror(errno));
		return -1;
	}
	if (st.st_uid != 0) {
		snprintf(err, errlen,
			 "%s: owned by uid %u, not root: its owner could replace what lies under "
			 "it (chown root %s)",
			 shown, (unsigned)st.st_uid, shown);
		return -1;
	}
	if ((st.st_mode & GO_W) && !(st.st_mode & S_ISVTX)) {
		snprintf(err, errlen,
			 "%s: mode %04o lets group or others write it and it is not sticky: they "
			 "could rename what lies under it and put their own in its place "
			 "(chmod go-w %s)",
			 shown, (unsigned)(st.st_mode & 07777), shown);
		return -1;
	}
	return 0;
}

int sup_owner_parent(const char *path, const char *conf_path, int line, const char *key,
		     const char **base, char *err, size_t errlen)
{
	char parent[PATH_MAX], real[PATH_MAX], shown[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int n = where(err, errlen, conf_path, line, key), fd;
	char *e = err + n, *save = NULL;
	size_t elen = errlen - (size_t)n;

	/* config.c keeps paths absolute; "/x/" names x: not what we open */
	if (!slash || path[0] != '/' || !slash[1] || (size_t)(slash - path) >= sizeof(parent)) {
		snprintf(e, elen, "%s: not an absolute path to a file or directory", path);
		return -1;
	}
	*base = slash + 1;
	snprintf(parent, sizeof(parent), "%.*s", (int)(slash - path), path);
	if (!realpath(parent[0] ? parent : "/", real)) {
		snprintf(e, elen, "%s: cannot resolve: %s", parent[0] ? parent : "/",
			 strerror(errno));
		return -1;
	}
	fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || dir_ok(fd, "/", e, elen) < 0) {
		if (fd < 0)
			snprintf(e, elen, "/: cannot open: %s", strerror(errno));
		else
			close(fd);
		return -1;
	}
	shown[0] = '\0';
	for (char *c = strtok_r(real, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		int next = openat(fd, c, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		size_t used = strlen(shown);

		snprintf(shown + used, sizeof(shown) - used, "/%s", c);
		close(fd);
		if (next < 0) {
			/* it changed since realpath: someone is moving things */
			snprintf(e, elen, "%s: cannot open: %s", shown, strerror(errno));
			return -1;
		}
		fd = next;
		if (dir_ok(fd, shown, e, elen) < 0) {
			close(fd);
			return -1;
		}
	}
	err[0] = '\0';
	return fd;
}

static int file_ok(const struct stat *st, const char *path, char *e, size_t elen)
{
	if (!S_ISREG(st->st_mode)) {
		snprintf(e, elen, "%s: %s", path,
			 S_ISLNK(st->st_mode) ? "a symbolic link (symbolic links are refused)"
					      : "not a regular file");
		return -1;
	}
	if (st->st_uid != 0) {
		snprintf(e, elen,
			 "%s: owned by uid %u, not root: its owner could read and rewrite every "
			 "alert (chown root %s, or remove it: it is created root's, mode 0600)",
			 path, (unsigned)st->st_uid, path);
		return -1;
	}
	if (st->st_mode & GO_W) {
		snprintf(e, elen,
			 "%s: mode %04o lets group or others write it: they could forge or erase "
			 "alerts (chmod go-w %s)",
			 path, (unsigned)(st->st_mode & 07777), path);
		return -1;
	}
	return 0;
}

/* An output file's own directory (dfd): writable by root alone, sticky or
 * not. 0 or -1 with err (after its "where"). */
static int out_dir_ok(int dfd, const char *path, char *e, size_t elen)
{
	struct stat st;

	if (fstat(dfd, &st) < 0) {
		snprintf(e, elen, "%s: cannot stat its directory: %s", path, strerror(errno));
		return -1;
	}
	if (st.st_mode & GO_W) {
		snprintf(e, elen,
			 "%s: its directory is writable by group or others (mode %04o%s): anyone "
			 "could create the file before the agent does, or between a rotation's "
			 "rename and reopen (use a directory of root's, e.g. /var/log/jibril)",
			 path, (unsigned)(st.st_mode & 07777),
			 st.st_mode & S_ISVTX ? ", sticky" : "");
		return -1;
	}
	return 0;
}

/* key "[printers] NAME" and its line */
static void output_key(const struct jb_config *c, const struct jb_kind *k, size_t kind_index,
		       char *key, size_t keylen, int *line)
{
	snprintf(key, keylen, "[%s] %s", k->role == IPC_ROLE_WORKER ? "workers" : "printers",
		 k->name);
	*line = kind_index < JB_KINDS_MAX ? c->kind_line[kind_index] : 0;
}

/* opened: fd of the file (flags as given) after the parent chain; -1 */
static int open_checked(const struct jb_config *c, const char *conf_path,
			const struct jb_kind *k, size_t kind_index, int flags, char *err,
			size_t errlen)
{
	const char *path = (const char *)c + k->path_off, *base;
	char key[96];
	int line, dfd, fd, n;
	struct stat st;

	output_key(c, k, kind_index, key, sizeof(key), &line);
	dfd = sup_owner_parent(path, conf_path, line, key, &base, err, errlen);
	if (dfd < 0)
		return -1;
	n = where(err, errlen, conf_path, line, key);
	if (out_dir_ok(dfd, path, err + n, errlen - (size_t)n) < 0) {
		close(dfd);
		return -1;
	}
	/* O_NONBLOCK: a FIFO put there must not block us (it is refused below) */
	fd = openat(dfd, base, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
	if (fd < 0) {
		if (errno == ENOENT && !(flags & O_CREAT)) {
			err[0] = '\0';
			fd = -2; /* absent: created root's, 0600, when we start */
		} else {
			snprintf(err + n, errlen - (size_t)n, "%s: cannot open: %s%s", path,
				 strerror(errno),
				 errno == ELOOP ? " (symbolic links are refused)" : "");
		}
		close(dfd);
		return fd;
	}
	close(dfd);
	if (fstat(fd, &st) < 0 || file_ok(&st, path, err + n, errlen - (size_t)n) < 0) {
		if (!err[n])
			snprintf(err + n, errlen - (size_t)n, "%s: cannot stat: %s", path,
				 strerror(errno));
		close(fd);
		return -1;
	}
	if (!(flags & O_PATH))
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	err[0] = '\0';
	return fd;
}

/* How many directories above path, from its parent up, do not exist
 * (0: the parent is there). dir gets the deepest one that does. */
static int missing_below_dir(const char *path, char *dir, size_t len)
{
	struct stat st;
	char *slash;
	int n = 0;

	snprintf(dir, len, "%s", path);
	for (;;) {
		slash = strrchr(dir, '/');
		if (!slash || slash == dir) {
			snprintf(dir, len, "/");
			return n;
		}
		*slash = '\0';
		if (stat(dir, &st) == 0)
			return n;
		n++;
	}
}

static int missing_below(const char *path)
{
	char dir[PATH_MAX];

	return missing_below_dir(path, dir, sizeof(dir));
}

/* The deepest directory above row k's path that exists: its chain (owner.c
 * rules); the rest is made root's at start. 0 or -1 with err. */
static int dir_chain_ok(const struct jb_config *c, const char *conf_path, const struct jb_kind *k,
			size_t kind_index, char *err, size_t errlen)
{
	const char *path = (const char *)c + k->path_off, *base;
	char dir[PATH_MAX], probe[PATH_MAX + 2], key[96];
	int line, fd;

	missing_below_dir(path, dir, sizeof(dir));
	snprintf(probe, sizeof(probe), "%s/x", strcmp(dir, "/") ? dir : "");
	output_key(c, k, kind_index, key, sizeof(key), &line);
	fd = sup_owner_parent(probe, conf_path, line, key, &base, err, errlen);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

/* sup_owner_parent, and out_dir_ok of what it opened */
static int out_dir(const char *path, const char *conf_path, int line, const char *key,
		   const char **base, char *err, size_t errlen)
{
	int fd = sup_owner_parent(path, conf_path, line, key, base, err, errlen), n;

	if (fd < 0)
		return -1;
	n = where(err, errlen, conf_path, line, key);
	if (out_dir_ok(fd, path, err + n, errlen - (size_t)n) < 0) {
		close(fd);
		return -1;
	}
	err[0] = '\0';
	return fd;
}

int sup_owner_output_dir(const struct jb_config *c, const char *conf_path,
			 const struct jb_kind *k, size_t kind_index, const char **base, char *err,
			 size_t errlen)
{
	const char *path = (const char *)c + k->path_off, *b;
	char dir[PATH_MAX], parent[PATH_MAX], probe[PATH_MAX + 2], key[96], *save = NULL;
	int line, fd, n;

	output_key(c, k, kind_index, key, sizeof(key), &line);
	if (missing_below_dir(path, dir, sizeof(dir)) == 0)
		return out_dir(path, conf_path, line, key, base, err, errlen);
	/* the deepest directory there is, checked; then each missing one made
	 * below it, 0700, through descriptors (O_NOFOLLOW: what was made is
	 * what is entered) and checked in turn */
	snprintf(probe, sizeof(probe), "%s/x", strcmp(dir, "/") ? dir : "");
	fd = sup_owner_parent(probe, conf_path, line, key, &b, err, errlen);
	if (fd < 0)
		return -1;
	snprintf(parent, sizeof(parent), "%s", path);
	*strrchr(parent, '/') = '\0';
	n = where(err, errlen, conf_path, line, key);
	for (char *c1 = strtok_r(parent + (strcmp(dir, "/") ? strlen(dir) : 0), "/", &save); c1;
	     c1 = strtok_r(NULL, "/", &save)) {
		int next;

		if (mkdirat(fd, c1, 0700) < 0 && errno != EEXIST) {
			snprintf(err + n, errlen - (size_t)n, "%s: cannot create %s: %s", path, c1,
				 strerror(errno));
			close(fd);
			return -1;
		}
		next = openat(fd, c1, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		if (next < 0) {
			snprintf(err + n, errlen - (size_t)n, "%s: cannot open %s: %s", path, c1,
				 strerror(errno));
			return -1;
		}
		fd = next;
		if (dir_ok(fd, c1, err + n, errlen - (size_t)n) < 0) {
			close(fd);
			return -1;
		}
	}
	close(fd);
	/* and the whole chain once more, the way every other open walks it */
	return out_dir(path, conf_path, line, key, base, err, errlen);
}

int sup_owner_output(const struct jb_config *c, const char *conf_path, const struct jb_kind *k,
		     size_t kind_index, int fd, char *err, size_t errlen)
{
	const char *path = (const char *)c + k->path_off;
	char key[96];
	int line, n;
	struct stat st;

	if (fd < 0) {
		/* a directory that is missing is made at start (0700, root's):
		 * then only the part of the chain that exists can be checked */
		if (missing_below(path) > 0)
			return dir_chain_ok(c, conf_path, k, kind_index, err, errlen);
		fd = open_checked(c, conf_path, k, kind_index, O_PATH, err, errlen);
		if (fd == -2)
			return 0;
		if (fd < 0)
			return -1;
		close(fd);
		return 0;
	}
	output_key(c, k, kind_index, key, sizeof(key), &line);
	n = where(err, errlen, conf_path, line, key);
	if (fstat(fd, &st) < 0) {
		snprintf(err + n, errlen - (size_t)n, "%s: cannot stat: %s", path, strerror(errno));
		return -1;
	}
	if (file_ok(&st, path, err + n, errlen - (size_t)n) < 0)
		return -1;
	err[0] = '\0';
	return 0;
}

int sup_owner_open_output(const struct jb_config *c, const char *conf_path,
			  const struct jb_kind *k, size_t kind_index, char *err, size_t errlen)
{
	const char *base;
	int dfd = sup_owner_output_dir(c, conf_path, k, kind_index, &base, err, errlen);

	if (dfd < 0)
		return -1;
	close(dfd);
	return open_checked(c, conf_path, k, kind_index, O_WRONLY | O_APPEND | O_CREAT, err,
			    errlen);
}

int sup_owner_check(const struct jb_config *c, const char *conf_path, const struct jb_kind *kinds,
		    size_t n, char *err, size_t errlen)
{
	if (sup_owner_config(c, conf_path, err, errlen) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (kinds[i].enable == JB_EN_PATH && ((const char *)c + kinds[i].path_off)[0] &&
		    sup_owner_output(c, conf_path, &kinds[i], i, -1, err, errlen) < 0)
			return -1;
	/* the files and directories the rows' own sections name */
	if (kinds == jb_kinds && sup_settings_check(c, conf_path, err, errlen) < 0)
		return -1;
	return 0;
}
