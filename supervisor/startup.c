/*
 * startup.c - the supervisor's own process, made safe before it trusts
 * anything: the descriptors it was started with, and how the kernel's OOM
 * killer ranks it against its children.
 *
 * Invariants:
 *  - before main() opens any file, fds 0-2 are open (/dev/null where they
 *    were closed: else the first file opened would become "stdout" and be
 *    handed to the stdout printer, or its log would land in a config file)
 *    and no other descriptor is left from whoever started us (a stray
 *    descriptor of a directory, a socket or a file would be inherited
 *    nowhere, since spawn.c closes it for children, but the supervisor
 *    itself must not hold someone else's open file while it runs as root).
 *    The children are other executables (common/child_main.c), which keep
 *    the fds spawn.c hands them.
 *  - the supervisor's oom_score_adj is SUP_OOM_ADJ_SUPERVISOR and every
 *    child's SUP_OOM_ADJ_CHILD (set in the forked child before exec: the
 *    value is inherited, and a child that kept the supervisor's would be
 *    shielded from the OOM killer it most deserves).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "sup.h"

void sup_self_fds(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) >= 0)
			continue;
		int nfd = open("/dev/null", O_RDWR);
		if (nfd != fd) {
			/* open returns the lowest free number: fd itself */
			fprintf(stderr, "jibril: cannot open /dev/null onto fd %d\n", fd);
			exit(EX_OSERR);
		}
	}
	if (close_range(3, ~0U, 0) == 0)
		return;
	/* an older kernel: walk /proc/self/fd, closing what is not the walk's
	 * own descriptor, until a walk finds nothing */
	for (int closed = 1; closed;) {
		DIR *d = opendir("/proc/self/fd");
		struct dirent *de;

		if (!d) {
			fprintf(stderr, "jibril: cannot close inherited descriptors: %s\n",
				strerror(errno));
			exit(EX_OSERR);
		}
		closed = 0;
		while ((de = readdir(d))) {
			int fd = atoi(de->d_name);
			if (de->d_name[0] != '.' && fd > 2 && fd != dirfd(d)) {
				close(fd);
				closed = 1;
			}
		}
		closedir(d);
	}
}

int sup_self_oom_adj(int value)
{
	char v[16];
	int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC), n, ok;

	if (fd < 0)
		return -1;
	n = snprintf(v, sizeof(v), "%d\n", value);
	ok = write(fd, v, (size_t)n) == n;
	if (!ok) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return close(fd);
}
