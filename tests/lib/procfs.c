/*
 * procfs.c - reading /proc for tests/ and bench/ (see procfs.h).
 *
 * Invariants:
 *  - the stat line is split at the LAST ')': a comm may hold spaces and
 *    parentheses (a test names a process "x) (y) 1 2 3 )").
 *  - a process that ends between the directory scan and the read is
 *    skipped, never an error: the scans race with exits by nature.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/lib/file.h"
#include "tests/lib/procfs.h"

int tl_proc_stat(pid_t pid, struct tl_stat *st)
{
	char path[64], buf[1024], *l, *r;
	unsigned long ut, stt;
	int fd, n, pp;
	size_t cl;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = (int)read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	l = strchr(buf, '(');
	r = strrchr(buf, ')');
	if (!l || !r || r[1] != ' ')
		return -1;
	/* fields 3 (state) to 22 (starttime), man 5 proc */
	if (sscanf(r + 2, "%c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %*d %*d %*d %*d %*d %*d %llu",
		   &st->state, &pp, &ut, &stt, &st->start) != 5)
		return -1;
	st->ppid = pp;
	st->ticks = (unsigned long long)ut + stt;
	cl = (size_t)(r - l - 1);
	if (cl >= sizeof(st->comm))
		cl = sizeof(st->comm) - 1;
	memcpy(st->comm, l + 1, cl);
	st->comm[cl] = '\0';
	return 0;
}

int tl_pid_gone(pid_t pid)
{
	char path[64];
	struct stat sb;

	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	return stat(path, &sb) < 0 && errno == ENOENT;
}

/* the scan behind both tl_proc_children*(): into pids or kids */
static int children(pid_t parent, pid_t *pids, struct tl_child *kids, int max)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;

	if (!d)
		return 0;
	while (n < max && (e = readdir(d))) {
		struct tl_stat st;
		pid_t pid;

		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		pid = (pid_t)atoi(e->d_name);
		if (tl_proc_stat(pid, &st) < 0 || st.ppid != parent || st.state == 'Z' ||
		    st.state == 'X')
			continue;
		if (pids)
			pids[n] = pid;
		if (kids)
			kids[n] = (struct tl_child){pid, st};
		n++;
	}
	closedir(d);
	return n;
}

int tl_proc_children(pid_t parent, pid_t *out, int max)
{
	return children(parent, out, NULL, max);
}

int tl_proc_children_stat(pid_t parent, struct tl_child *out, int max)
{
	return children(parent, NULL, out, max);
}

long tl_proc_kib(pid_t pid, const char *file, const char *field)
{
	char path[64], *s, *p;
	long v = -1;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	s = tl_slurp(path, NULL);
	if (!s)
		return -1;
	p = strstr(s, field);
	if (p)
		v = strtol(p + strlen(field), NULL, 10);
	free(s);
	return v;
}
