/*
 * bins.c - the children's executables (jibril-worker, jibril-printer,
 * jibril-netprinter, jibril-exporter: common/kind.h): where they are,
 * checked, and held open for the supervisor's whole life.
 *
 * One rule for where (jibril(8), docs/ARCHITECTURE.md): D is the directory
 * of the supervisor's own executable (realpath of /proc/self/exe). If D
 * holds jibril-worker, every child is taken from D (a build tree:
 * build/jibril next to build/jibril-worker); otherwise from
 * D/../libexec/jibril (an installed tree: $(PREFIX)/sbin/jibril and
 * $(PREFIX)/libexec/jibril/). The probe only picks the directory: what is
 * found there is checked all the same.
 *
 * Invariants:
 *  - each binary is opened once, at start, O_PATH|O_CLOEXEC, and spawn.c
 *    executes that descriptor (execveat AT_EMPTY_PATH): a rename or a new
 *    file over the path later changes nothing the agent runs;
 *  - the agent refuses to start, naming the path, when one is missing, not
 *    a regular file, not executable, writable by its group or others, or
 *    (when the supervisor runs as root) not owned by root: it is executed
 *    as root before it drops to its kind's uid.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/kind.h"
#include "sup.h"

int sup_bins_dir(char *dir, size_t len, char *err, size_t errlen)
{
	char self[PATH_MAX], probe[PATH_MAX + 32], *slash;
	struct stat st;

	if (!realpath("/proc/self/exe", self)) {
		snprintf(err, errlen, "cannot resolve /proc/self/exe: %s", strerror(errno));
		return -1;
	}
	slash = strrchr(self, '/');
	*slash = '\0'; /* realpath is absolute: there is one */
	snprintf(probe, sizeof(probe), "%s/%s", self, jb_bin_names[JB_BIN_WORKER]);
	if (lstat(probe, &st) == 0) {
		if ((size_t)snprintf(dir, len, "%s", self) < len)
			return 0;
	} else {
		/* D/../libexec/jibril, written without the ".." */
		slash = strrchr(self, '/');
		if (slash)
			*slash = '\0';
		if ((size_t)snprintf(dir, len, "%s/libexec/jibril", self) < len)
			return 0;
	}
	snprintf(err, errlen, "the children's directory next to %s is too long a path", self);
	return -1;
}

int sup_bin_open(const char *path, char *err, size_t errlen)
{
	struct stat st;
	int fd = open(path, O_PATH | O_CLOEXEC);

	if (fd < 0) {
		snprintf(err, errlen, "%s: %s (a child executable: make builds it next to jibril, "
			 "make install puts it there)", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		goto fail;
	}
	if (!(st.st_mode & S_IXUSR)) {
		snprintf(err, errlen, "%s: not executable (mode %04o)", path,
			 (unsigned)st.st_mode & 07777);
		goto fail;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(err, errlen, "%s: writable by its group or others (mode %04o): it runs "
			 "as root; chmod go-w it", path, (unsigned)st.st_mode & 07777);
		goto fail;
	}
	if (st.st_uid != 0 && (geteuid() == 0 || st.st_uid != geteuid())) {
		snprintf(err, errlen, "%s: owned by uid %u, not root: it runs as root", path,
			 (unsigned)st.st_uid);
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

int sup_bins_open(struct sup *s, char *err, size_t errlen)
{
	char dir[PATH_MAX], path[PATH_MAX + 32];

	for (int b = 0; b < JB_BIN_N; b++)
		s->bin_fd[b] = -1;
	if (sup_bins_dir(dir, sizeof(dir), err, errlen) < 0)
		return -1;
	for (int b = 0; b < JB_BIN_N; b++) {
		snprintf(path, sizeof(path), "%s/%s", dir, jb_bin_names[b]);
		s->bin_fd[b] = sup_bin_open(path, err, errlen);
		if (s->bin_fd[b] < 0) {
			sup_bins_close(s);
			return -1;
		}
	}
	return 0;
}

void sup_bins_close(struct sup *s)
{
	for (int b = 0; b < JB_BIN_N; b++) {
		if (s->bin_fd[b] >= 0)
			close(s->bin_fd[b]);
		s->bin_fd[b] = -1;
	}
}
