/*
 * self.c - the agent's own identity in the kernel: which process is the
 * supervisor (jb_agent), which maps are its own (jb_agent_maps), and which
 * files are its own (jb_watch with JB_WATCH_AGENT). The kernel side uses
 * them to leave the agent out of ordinary detections and to report others
 * acting on it (bpf/tamper.bpf.h).
 *
 * Invariants:
 *  - everything here runs after the load and before the attach, so no
 *    act on the agent is missed between the two;
 *  - paths are resolved with realpath() first: the kernel records the real
 *    path (dentry walk), so a symbolic link in the configured path must not
 *    make the key differ;
 *  - a failure to protect one file is logged and the agent goes on (the
 *    rest of the detections must still run); a failure to register the
 *    supervisor or a map is fatal: without it the agent would report
 *    itself, or miss writes to its maps.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf/jibril.h"
#include "common/log.h"
#include "supervisor/loader.h"
#include "supervisor/self.h"
#include "supervisor/sup.h"

/* One file or directory of the agent's into jb_watch. */
static void protect(struct jb_bpf *b, const char *path, uint32_t flags)
{
	char real[PATH_MAX];
	char buf[JB_PATH_LEN] __attribute__((aligned(8))) = {0};
	__u64 key;
	__u32 cur = 0;
	size_t n;

	if (!realpath(path, real)) {
		log_warn("cannot protect %s: realpath", path);
		return;
	}
	n = strlen(real);
	if (n >= sizeof(buf)) {
		log_warnx("cannot protect %s: the path is longer than %d bytes", real,
			  JB_PATH_LEN - 1);
		return;
	}
	memcpy(buf, real, n);
	key = jb_hash_path(b->seed, buf);
	/* a recipe may watch it already (flags 0): keep its entry, add ours */
	if (bpf_map_lookup_elem(b->fd_watch, &key, &cur) < 0)
		cur = 0;
	else
		b->nwatch--; /* counted again below */
	cur |= flags;
	if (bpf_map_update_elem(b->fd_watch, &key, &cur, BPF_ANY) < 0) {
		log_warn("cannot protect %s (jb_watch full?)", real);
		return;
	}
	b->nwatch++;
	log_debug("protected agent file %s (flags %#x)", real, cur);
}

void jb_self_files(struct jb_bpf *b, const char *conf_path, const char *recipes_dir)
{
	DIR *d;
	struct dirent *de;
	char path[PATH_MAX], err[PATH_MAX + 128];

	protect(b, "/proc/self/exe", JB_WATCH_AGENT);
	/* the children's executables, where bins.c found them */
	if (sup_bins_dir(path, sizeof(path), err, sizeof(err)) == 0) {
		for (int i = 0; i < JB_BIN_N; i++) {
			char bin[PATH_MAX + 32];

			snprintf(bin, sizeof(bin), "%s/%s", path, jb_bin_names[i]);
			protect(b, bin, JB_WATCH_AGENT);
		}
	} else {
		log_warnx("cannot protect the children's executables: %s", err);
	}
	if (conf_path && conf_path[0])
		protect(b, conf_path, JB_WATCH_AGENT);
	if (!recipes_dir || !recipes_dir[0])
		return;
	protect(b, recipes_dir, JB_WATCH_AGENT | JB_WATCH_PRIVATE);
	d = opendir(recipes_dir);
	if (!d) {
		log_warn("cannot list %s to protect its recipes", recipes_dir);
		return;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", recipes_dir, de->d_name) >=
		    sizeof(path))
			continue;
		protect(b, path, JB_WATCH_AGENT | JB_WATCH_PRIVATE);
	}
	closedir(d);
}

int jb_self_maps(struct jb_bpf *b, struct bpf_object *obj, char *err, size_t errlen)
{
	struct bpf_map *m;
	__u32 one = 1;

	bpf_object__for_each_map(m, obj)
	{
		struct bpf_map_info info;
		__u32 len = sizeof(info);
		int fd = bpf_map__fd(m);

		memset(&info, 0, sizeof(info));
		if (fd < 0)
			continue; /* not created (none today) */
		if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0 ||
		    bpf_map_update_elem(b->fd_agent_maps, &info.id, &one, BPF_ANY) < 0) {
			snprintf(err, errlen, "cannot register map %s as the agent's: %s",
				 bpf_map__name(m), strerror(errno));
			return -1;
		}
	}
	return 0;
}

int jb_self_supervisor(struct jb_bpf *b, char *err, size_t errlen)
{
	struct jb_agent a = {.row = JB_AGENT_ROW_SUPERVISOR};
	char buf[1024];
	uint64_t ticks;
	uint32_t ppid, pid = (uint32_t)getpid();
	ssize_t n;
	int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);

	n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n <= 0) {
		snprintf(err, errlen, "cannot read /proc/self/stat: %s", strerror(errno));
		return -1;
	}
	buf[n] = '\0';
	if (jb_parse_proc_stat(buf, &ppid, &ticks, NULL, 0) < 0) {
		snprintf(err, errlen, "cannot parse /proc/self/stat");
		return -1;
	}
	a.task_key = jb_hash_task(b->seed, pid, ticks);
	if (bpf_map_update_elem(b->fd_agent, &pid, &a, BPF_ANY) < 0) {
		snprintf(err, errlen, "cannot register the supervisor in jb_agent: %s",
			 strerror(errno));
		return -1;
	}
	return 0;
}

void jb_self_child(struct jb_bpf *b, pid_t pid, uint32_t row)
{
	struct jb_agent a;
	__u32 key = (__u32)pid;

	if (!b || b->fd_agent < 0)
		return;
	/* the fork hook wrote the entry with the task key; only the row is
	 * news. Gone already (the child died at once): nothing to do. */
	if (bpf_map_lookup_elem(b->fd_agent, &key, &a) < 0)
		return;
	a.row = row;
	bpf_map_update_elem(b->fd_agent, &key, &a, BPF_EXIST);
}
