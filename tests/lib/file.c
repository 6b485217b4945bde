/*
 * file.c - small-file helpers for tests/ and bench/ (see file.h).
 *
 * Invariants:
 *  - reads are bounded (256 MiB) and survive EINTR; a file that grows
 *    while it is read is read up to where read() first returns 0.
 *  - a tree is removed only under the prefix its caller names, without
 *    following symbolic links, so a wrong path cannot reach outside it.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/lib/file.h"

#define SLURP_MAX (256u << 20)

char *tl_slurp(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t cap = 8192, n = 0;
	char *buf;
	ssize_t r;

	if (fd < 0)
		return NULL;
	buf = malloc(cap);
	while (buf) {
		if (cap - n < 2) {
			char *nb = cap < SLURP_MAX ? realloc(buf, cap * 2) : NULL;
			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		r = read(fd, buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (buf)
		buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

int tl_copy_file(const char *from, const char *to, mode_t mode)
{
	size_t len;
	char *data = tl_slurp(from, &len);
	int fd, r = -1;

	if (!data)
		return -1;
	fd = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd >= 0) {
		r = write(fd, data, len) == (ssize_t)len && fchmod(fd, mode) == 0 ? 0 : -1;
		if (close(fd) < 0)
			r = -1;
	}
	free(data);
	return r;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

void tl_rm_tree(const char *dir, const char *prefix)
{
	if (dir[0] && !strncmp(dir, prefix, strlen(prefix)))
		nftw(dir, rm_one, 32, FTW_DEPTH | FTW_PHYS);
}
