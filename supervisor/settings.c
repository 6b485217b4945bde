/*
 * settings.c - a kind's own section, the supervisor's side: judge the
 * files its keys name, read them, seal everything the child needs into a
 * memfd, and make the kind's directory (supervisor/settings.h).
 *
 * Invariants:
 *  - the child is handed contents, never paths: it opens no configuration
 *    file, and a secret stays readable by root alone on disk;
 *  - what is checked is what is read: the file is opened below the checked
 *    chain of directories (sup_owner_parent, O_NOFOLLOW), then judged by
 *    fstat of that descriptor and read from it;
 *  - a secret must be root's with no group or other permission at all
 *    (0600, 0400): a token readable by others is already leaked, and the
 *    start is refused with the key's line rather than going on with it;
 *  - the kind's directory belongs to the kind's uid (mode 0700), so only
 *    that child (and root) reads what it spools; it is given to that uid
 *    only when start-up has just made it. An existing one owned by anyone
 *    else (root included: /var/lib/jibril holds the audit key) is refused,
 *    never taken over, and so is one that is, holds or lies in the audit
 *    log's, an output file's, the recipes' or the config's directory, or
 *    is or holds the audit key's (the default spool lies below that one).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/settings.h"
#include "ipc/msg.h"
#include "supervisor/owner.h"
#include "supervisor/privacy.h"
#include "supervisor/settings.h"

/* "CONF:LINE: [NAME] key: " into err; its length */
static size_t where(char *err, size_t errlen, const char *conf_path, int line,
		    const struct jb_kind *k, const struct jb_setting *key)
{
	int n = line > 0 ? snprintf(err, errlen, "%s:%d: [%s] %s: ", conf_path, line, k->name,
				    key->name)
			 : snprintf(err, errlen, "%s: [%s] %s (default): ", conf_path, k->name,
				    key->name);
	return n < 0 || (size_t)n >= errlen ? errlen - 1 : (size_t)n;
}

/* Open a SECRET or FILE key's file below its checked directories and judge
 * it; the descriptor, or -1 with err. */
static int open_file(const char *conf_path, int line, const struct jb_kind *k,
		     const struct jb_setting *key, const char *path, char *err, size_t errlen)
{
	char kname[128];
	const char *base;
	struct stat st;
	size_t n;
	int dfd, fd;

	snprintf(kname, sizeof(kname), "[%s] %s", k->name, key->name);
	dfd = sup_owner_parent(path, conf_path, line, kname, &base, err, errlen);
	if (dfd < 0)
		return -1;
	fd = openat(dfd, base, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	close(dfd);
	n = where(err, errlen, conf_path, line, k, key);
	if (fd < 0) {
		snprintf(err + n, errlen - n, "%s: cannot open: %s%s", path, strerror(errno),
			 errno == ELOOP ? " (symbolic links are refused)" : "");
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		snprintf(err + n, errlen - n, "%s: cannot stat: %s", path, strerror(errno));
		goto bad;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err + n, errlen - n, "%s: not a regular file", path);
		goto bad;
	}
	if (st.st_uid != 0) {
		snprintf(err + n, errlen - n,
			 "%s: owned by uid %u, not root: its owner could change what the agent "
			 "trusts (chown root %s)",
			 path, (unsigned)st.st_uid, path);
		goto bad;
	}
	if (key->type == JB_SET_SECRET && (st.st_mode & 077)) {
		snprintf(err + n, errlen - n,
			 "%s: mode %04o: a secret must be readable by root alone (chmod 600 %s)",
			 path, (unsigned)(st.st_mode & 07777), path);
		goto bad;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(err + n, errlen - n,
			 "%s: mode %04o lets group or others write it (chmod go-w %s)", path,
			 (unsigned)(st.st_mode & 07777), path);
		goto bad;
	}
	if ((uint64_t)st.st_size > key->max) {
		snprintf(err + n, errlen - n, "%s: %lld bytes, more than the %llu this key takes",
			 path, (long long)st.st_size, (unsigned long long)key->max);
		goto bad;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	err[0] = '\0';
	return fd;
bad:
	close(fd);
	return -1;
}

/* A DIR key's directory as it is now: a directory owned by uid (or by
 * root when created says start-up just made it): 0; -1 with err. */
static int judge_dir(int fd, const char *path, uint32_t uid, int created, char *err,
		     size_t errlen)
{
	struct stat st;

	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "%s: cannot stat: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: not a directory", path);
		return -1;
	}
	if (st.st_uid != uid && !(created && st.st_uid == 0)) {
		snprintf(err, errlen,
			 "%s: exists, owned by uid %u, not this kind's uid %u: it is not taken over "
			 "(name a directory of its own that does not exist yet, or if it is this "
			 "kind's and child_uid_base changed: chown -R %u:%u %s)",
			 path, (unsigned)st.st_uid, (unsigned)uid, (unsigned)uid, (unsigned)uid, path);
		return -1;
	}
	return 0;
}

/* path resolved (realpath of it, or of its parent and its last name when
 * it does not exist yet; else as written), no trailing '/' */
static void resolve(const char *path, char *out, size_t n)
{
	char tmp[PATH_MAX], real[PATH_MAX];
	const char *slash;

	if (realpath(path, real)) {
		snprintf(out, n, "%s", real);
		return;
	}
	snprintf(out, n, "%s", path);
	slash = strrchr(path, '/');
	if (slash && slash[1] && slash > path) {
		snprintf(tmp, sizeof(tmp), "%.*s", (int)(slash - path), path);
		if (realpath(tmp, real) && strlen(real) + strlen(slash) < n) {
			/* "/" + "/x" is "/x" */
			size_t l = strcmp(real, "/") ? strlen(real) : 0;

			memcpy(out, real, l);
			memcpy(out + l, slash, strlen(slash) + 1);
		}
	}
	for (size_t l = strlen(out); l > 1 && out[l - 1] == '/'; l--)
		out[l - 1] = '\0';
}

/* 1 if a is b or lies below it */
static int below_or_is(const char *a, const char *b)
{
	size_t n = strlen(b);

	if (!strcmp(b, "/"))
		return 1;
	return !strncmp(a, b, n) && (a[n] == '\0' || a[n] == '/');
}

/* A DIR key's directory against the ones the supervisor trusts (its
 * uid would own it): 0, or -1 with err after n bytes of "where". */
static int dir_apart(const struct jb_config *c, const char *conf_path, const char *path,
		     char *err, size_t errlen)
{
	struct {
		const char *what, *file; /* a file: its directory; else a directory */
		const char *dir;
		int below_ok;
	} t[JB_KINDS_MAX + 5];
	size_t nt = 0;
	char me[PATH_MAX], other[PATH_MAX], cfile[PATH_MAX], dir[PATH_MAX];

	if (c->audit_file[0]) {
		t[nt++] = (typeof(t[0])){"the audit log's directory", c->audit_file, NULL, 0};
		t[nt++] = (typeof(t[0])){"the audit key's directory", c->audit_key, NULL, 1};
	}
	for (size_t r = 0; r < jb_nkinds && nt < JB_KINDS_MAX + 3; r++)
		if (jb_kinds[r].enable == JB_EN_PATH && ((const char *)c + jb_kinds[r].path_off)[0])
			t[nt++] = (typeof(t[0])){"an output file's directory",
						 (const char *)c + jb_kinds[r].path_off, NULL, 0};
	if (c->recipes_dir[0])
		t[nt++] = (typeof(t[0])){"the recipes' directory", NULL, c->recipes_dir, 0};
	resolve(conf_path, cfile, sizeof(cfile));
	t[nt++] = (typeof(t[0])){"the config's directory", cfile, NULL, 0};
	resolve(path, me, sizeof(me));
	for (size_t i = 0; i < nt; i++) {
		if (t[i].file) {
			const char *slash = strrchr(t[i].file, '/');

			if (!slash)
				continue;
			snprintf(dir, sizeof(dir), "%.*s", (int)(slash - t[i].file), t[i].file);
			resolve(dir[0] ? dir : "/", other, sizeof(other));
		} else {
			resolve(t[i].dir, other, sizeof(other));
		}
		if (below_or_is(other, me) || (!t[i].below_ok && below_or_is(me, other))) {
			snprintf(err, errlen,
				 "%s: %s %s %s: this kind's uid would own or write in a directory "
				 "the supervisor trusts (give it a directory of its own, e.g. "
				 "/var/lib/jibril/spool/KIND)",
				 path, t[i].below_ok ? "is or holds" : "is, holds or lies in", t[i].what,
				 other);
			return -1;
		}
	}
	return 0;
}

/* Open (mk: make first) a DIR key's directory; the O_DIRECTORY fd, -2 when
 * absent and !mk, or -1 with err. */
static int open_dir(const char *conf_path, int line, const struct jb_kind *k,
		    const struct jb_setting *key, const char *path, uint32_t uid, int mk, char *err,
		    size_t errlen)
{
	char kname[128], tmp[PATH_MAX];
	const char *base;
	size_t n;
	int dfd, fd, created = 0;

	if (mk) {
		/* the missing parents, root's 0755 (sup_owner_parent judges them) */
		snprintf(tmp, sizeof(tmp), "%s", path);
		for (char *c = tmp + 1; (c = strchr(c, '/')); c++) {
			*c = '\0';
			if (mkdir(tmp, 0755) < 0 && errno != EEXIST) {
				n = where(err, errlen, conf_path, line, k, key);
				snprintf(err + n, errlen - n, "%s: cannot make: %s", tmp,
					 strerror(errno));
				return -1;
			}
			*c = '/';
		}
	}
	snprintf(kname, sizeof(kname), "[%s] %s", k->name, key->name);
	dfd = sup_owner_parent(path, conf_path, line, kname, &base, err, errlen);
	if (dfd < 0) {
		if (!mk && strstr(err, "No such file"))
			return err[0] = '\0', -2;
		return -1;
	}
	n = where(err, errlen, conf_path, line, k, key);
	if (mk && mkdirat(dfd, base, 0700) == 0)
		created = 1;
	else if (mk && errno != EEXIST) {
		snprintf(err + n, errlen - n, "%s: cannot make: %s", path, strerror(errno));
		close(dfd);
		return -1;
	}
	fd = openat(dfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	close(dfd);
	if (fd < 0) {
		if (errno == ENOENT && !mk)
			return err[0] = '\0', -2;
		snprintf(err + n, errlen - n, "%s: cannot open: %s%s", path, strerror(errno),
			 errno == ELOOP || errno == ENOTDIR ? " (a symbolic link or not a directory)"
							    : "");
		return -1;
	}
	if (judge_dir(fd, path, uid, created, err + n, errlen - n) < 0) {
		close(fd);
		return -1;
	}
	/* only what start-up just made, or what is already the kind's */
	if (mk && (fchown(fd, uid, uid) < 0 || fchmod(fd, 0700) < 0)) {
		snprintf(err + n, errlen - n, "%s: cannot give it to uid %u: %s", path,
			 (unsigned)uid, strerror(errno));
		close(fd);
		return -1;
	}
	err[0] = '\0';
	return fd;
}

int sup_settings_check(const struct jb_config *c, const char *conf_path, char *err,
		       size_t errlen)
{
	for (size_t r = 0; r < jb_nkinds; r++) {
		const struct jb_kind *k = &jb_kinds[r];
		uint32_t uid = c->child_uid_base + (uint32_t)r;

		if (!k->settings || !jb_config_kind_enabled(c, k))
			continue;
		for (size_t i = 0; i < k->settings->nkeys; i++) {
			const struct jb_setting *key = &k->settings->keys[i];
			int line, fd = -1;
			const char *v = jb_config_setting(c, r, i, &line);

			if (!v || !v[0])
				continue;
			if (key->type == JB_SET_SECRET || key->type == JB_SET_FILE)
				fd = open_file(conf_path, line, k, key, v, err, errlen);
			else if (key->type == JB_SET_DIR) {
				size_t n = where(err, errlen, conf_path, line, k, key);

				if (dir_apart(c, conf_path, v, err + n, errlen - n) < 0)
					return -1;
				fd = open_dir(conf_path, line, k, key, v, uid, 0, err, errlen);
			}
			else
				continue;
			if (fd == -1)
				return -1;
			if (fd >= 0)
				close(fd);
		}
	}
	err[0] = '\0';
	return 0;
}

/* All of fd (at most max bytes, checked by open_file) into *buf. */
static int slurp(int fd, uint64_t max, char **buf, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *b = malloc(cap);

	while (b) {
		ssize_t r;

		if (n == cap) {
			char *nb = cap > max ? NULL : realloc(b, cap * 2);
			if (!nb)
				break;
			b = nb;
			cap *= 2;
		}
		r = read(fd, b + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		if (r == 0) {
			if (n > max)
				break; /* it grew since the fstat */
			*buf = b;
			*len = n;
			return 0;
		}
		n += (size_t)r;
	}
	free(b);
	return -1;
}

int sup_settings_prepare(const struct jb_config *c, const char *conf_path, size_t kind_index,
			 uint32_t uid, int *set_fd, int *dir_fd, char *err, size_t errlen)
{
	const struct jb_kind *k = &jb_kinds[kind_index];
	struct jb_settings_buf b = {0};
	int ret = -1;

	*set_fd = *dir_fd = -1;
	for (size_t i = 0; k->settings && i < k->settings->nkeys; i++) {
		const struct jb_setting *key = &k->settings->keys[i];
		int line, fd;
		const char *v = jb_config_setting(c, kind_index, i, &line);
		char num[24], *data = NULL;
		size_t len = 0;
		uint64_t u;

		switch (key->type) {
		case JB_SET_STR:
			if (jb_settings_put(&b, key->name, v, strlen(v)) < 0)
				goto nomem;
			break;
		case JB_SET_U32:
		case JB_SET_BYTES:
			if (jb_config_setting_num(key, v, &u) < 0) {
				snprintf(err, errlen, "%s: [%s] %s: '%s' is not a number", conf_path,
					 k->name, key->name, v);
				goto out;
			}
			snprintf(num, sizeof(num), "%llu", (unsigned long long)u);
			if (jb_settings_put(&b, key->name, num, strlen(num)) < 0)
				goto nomem;
			break;
		case JB_SET_SECRET:
		case JB_SET_FILE:
			if (!v[0]) /* not set: the child is told nothing */
				break;
			fd = open_file(conf_path, line, k, key, v, err, errlen);
			if (fd < 0)
				goto out;
			if (slurp(fd, key->max, &data, &len) < 0) {
				size_t n = where(err, errlen, conf_path, line, k, key);
				snprintf(err + n, errlen - n, "%s: cannot read it whole (at most %llu "
					 "bytes)", v, (unsigned long long)key->max);
				close(fd);
				goto out;
			}
			close(fd);
			if (jb_settings_put(&b, key->name, data, len) < 0) {
				free(data);
				goto nomem;
			}
			/* a secret lives no longer than needed in our memory */
			explicit_bzero(data, len);
			free(data);
			break;
		case JB_SET_DIR:
			if (*dir_fd >= 0 || !v[0])
				break; /* one per kind (check_procs proves it) */
			fd = (int)where(err, errlen, conf_path, line, k, key);
			if (dir_apart(c, conf_path, v, err + fd, errlen - (size_t)fd) < 0)
				goto out;
			*dir_fd = open_dir(conf_path, line, k, key, v, uid, 1, err, errlen);
			if (*dir_fd < 0)
				goto out;
			if (jb_settings_put(&b, key->name, v, strlen(v)) < 0)
				goto nomem;
			break;
		}
	}
	/* a printer that pseudonymises: its key and the names, with the rest */
	if (sup_privacy_put(c, kind_index, &b) < 0)
		goto nomem;
	*set_fd = jb_settings_memfd(&b);
	if (*set_fd < 0) {
		snprintf(err, errlen, "%s: settings: memfd: %s", k->name, strerror(errno));
		goto out;
	}
	ret = 0;
	goto out;
nomem:
	snprintf(err, errlen, "%s: settings: %s", k->name, strerror(errno ? errno : ENOMEM));
out:
	if (b.data)
		explicit_bzero(b.data, b.len);
	jb_settings_buf_free(&b);
	if (ret < 0 && *dir_fd >= 0) {
		close(*dir_fd);
		*dir_fd = -1;
	}
	return ret;
}
