/*
 * agent_tamper.c - write a jb_tamper record into the running agent's own
 * map, as the kernel would, to drive the tamper pipeline (collector ->
 * snapshot -> tamper worker -> router -> printer) end to end without the
 * kernel hooks (agent_harness.h: jbh_tamper_inject).
 *
 * Invariants:
 *  - the map is the one the agent under test holds: found through the
 *    bpf-map descriptors in /proc/<supervisor>/fdinfo, never by name alone
 *    (other agents may run on the same host).
 *  - the actor's task key is its live image's, found in the agent's
 *    jb_tasks by pid and start time (a key holds the image's self_exec_id,
 *    which /proc does not show), so the snapshot carries the actor's task
 *    and ancestry.
 *  - once the kernel reports foreign map writes, this write is one: callers
 *    look for the record they wrote, never for "exactly one detection".
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "agent_harness.h"
#include "bpf/jibril.h"
#include "tests/lib/procfs.h"

/* A descriptor of the agent's map called name, or -1. */
int jbh_agent_map(const struct jbh_agent *a, const char *name)
{
	char dir[64], path[320], line[128];
	struct dirent *de;
	DIR *d;
	int fd = -1;

	snprintf(dir, sizeof(dir), "/proc/%d/fdinfo", (int)a->pid);
	d = opendir(dir);
	if (!d)
		return -1;
	while (fd < 0 && (de = readdir(d))) {
		unsigned id = 0;
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (!(f = fopen(path, "r")))
			continue;
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "map_id: %u", &id) == 1)
				break;
		fclose(f);
		if (!id)
			continue;
		int m = bpf_map_get_fd_by_id(id);
		struct bpf_map_info info;
		__u32 len = sizeof(info);

		if (m < 0)
			continue;
		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(m, &info, &len) == 0 && !strcmp(info.name, name))
			fd = m;
		else
			close(m);
	}
	closedir(d);
	return fd;
}

uint64_t jbh_image_key(int tasks_fd, uint64_t seed, pid_t pid)
{
	uint64_t key, next, best = 0, best_ns = 0;
	struct jb_task t;
	struct tl_stat st;
	int more;

	ck_assert_int_eq(tl_proc_stat(pid, &st), 0);
	/* the live image's record: the newest of the process's not replaced */
	more = bpf_map_get_next_key(tasks_fd, NULL, &next) == 0;
	for (int i = 0; more && i < 1 << 22; i++) {
		key = next;
		more = bpf_map_get_next_key(tasks_fd, &key, &next) == 0;
		if (bpf_map_lookup_elem(tasks_fd, &key, &t))
			continue;
		if (t.tgid != (__u32)pid || t.start_ticks != st.start ||
		    (t.flags & (JB_TASK_REPLACED | JB_TASK_BACKFILL)))
			continue;
		if (!best || t.first_ns > best_ns) {
			best = key;
			best_ns = t.first_ns;
		}
	}
	return best ? best : jb_hash_task(seed, (__u32)pid, st.start);
}

uint64_t jbh_proc_key(const struct jbh_agent *a, pid_t pid)
{
	struct jb_meta meta;
	struct tl_stat st;
	__u32 zero = 0;
	int fd = jbh_agent_map(a, "jb_meta");

	ck_assert_msg(fd >= 0, "the agent %d holds no jb_meta map", (int)a->pid);
	ck_assert_int_eq(bpf_map_lookup_elem(fd, &zero, &meta), 0);
	close(fd);
	ck_assert_int_eq(tl_proc_stat(pid, &st), 0);
	return jb_hash_task(meta.seed, (__u32)pid, st.start);
}

uint64_t jbh_task_key(const struct jbh_agent *a, pid_t pid)
{
	struct jb_meta meta;
	__u32 zero = 0;
	uint64_t key;
	int fd = jbh_agent_map(a, "jb_meta"), tfd;

	ck_assert_msg(fd >= 0, "the agent %d holds no jb_meta map", (int)a->pid);
	ck_assert_int_eq(bpf_map_lookup_elem(fd, &zero, &meta), 0);
	close(fd);
	tfd = jbh_agent_map(a, "jb_tasks");
	ck_assert_msg(tfd >= 0, "the agent %d holds no jb_tasks map", (int)a->pid);
	key = jbh_image_key(tfd, meta.seed, pid);
	close(tfd);
	return key;
}

void jbh_tamper_inject(const struct jbh_agent *a, pid_t actor, struct jb_tamper *t)
{
	struct timespec ts;
	struct tl_stat st;
	char path[64];
	FILE *f;
	int fd = jbh_agent_map(a, "jb_tamper");

	ck_assert_msg(fd >= 0, "the agent %d holds no jb_tamper map", (int)a->pid);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	t->task_key = jbh_task_key(a, actor);
	t->tgid = (__u32)actor;
	t->first_ns = t->last_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	if (!t->count)
		t->count = 1;
	if (!t->key) /* distinct per write: a fresh record, never a repeat */
		t->key = jb_mix64(t->task_key ^ t->first_ns ^ t->klass) | 1;
	ck_assert_int_eq(tl_proc_stat(actor, &st), 0);
	memset(t->comm, 0, sizeof(t->comm));
	memcpy(t->comm, st.comm, strnlen(st.comm, sizeof(t->comm) - 1));
	snprintf(path, sizeof(path), "/proc/%d/status", (int)actor);
	if ((f = fopen(path, "r"))) {
		char line[128];
		unsigned uid;
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "Uid: %u", &uid) == 1)
				t->uid = uid;
		fclose(f);
	}
	ck_assert_msg(bpf_map_update_elem(fd, &t->key, t, BPF_ANY) == 0,
		      "writing the agent's jb_tamper map: %s", strerror(errno));
	close(fd);
}
