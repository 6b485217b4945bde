/*
 * cgroup2.h - where the cgroup2 hierarchy's root is, for programs attached
 * to it (jibril's DNS parser, the benchmark's reference agent). Header
 * only: the benchmark programs link no object of the project.
 *
 * Pure v2 hosts mount it at /sys/fs/cgroup, hybrid ones (v1 controllers)
 * at /sys/fs/cgroup/unified; a directory counts only if statfs says it is
 * cgroup2, so a v1 tmpfs at /sys/fs/cgroup is passed over.
 */
#ifndef JB_COMMON_CGROUP2_H
#define JB_COMMON_CGROUP2_H

#include <fcntl.h>
#include <stddef.h>
#include <sys/vfs.h>

#define JB_CGROUP2_MAGIC 0x63677270

/* An O_RDONLY fd on the cgroup2 root and its path in *where, or -1 (with
 * *where NULL) if there is none. */
static inline int jb_cgroup2_root(const char **where)
{
	static const char *const roots[] = {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"};
	struct statfs sfs;

	*where = NULL;
	for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
		int fd;

		if (statfs(roots[i], &sfs) < 0 || sfs.f_type != JB_CGROUP2_MAGIC)
			continue;
		fd = open(roots[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0) {
			*where = roots[i];
			return fd;
		}
	}
	return -1;
}

#endif
