/*
 * bpfinfo.c - see bpfinfo.h.
 *
 * Invariants:
 *  - read-only: nothing here changes a map or a program; every fd opened
 *    from an id is closed before returning.
 *  - an object listed twice (two fds on one map) is counted once, by id.
 *  - every walk is bounded: ids, fds and map keys.
 */
#include <ctype.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/harness/bpfinfo.h"
#include "bench/harness/report.h"
#include "bench/harness/stats.h"
#include "tests/lib/clock.h"
#include "tests/lib/file.h"

void map_name_of(__u32 id, char *name, size_t nl, __u32 *ksz, __u32 *vsz)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	int fd = bpf_map_get_fd_by_id(id);

	snprintf(name, nl, "?");
	if (fd < 0)
		return;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0) {
		snprintf(name, nl, "%s", info.name);
		if (ksz)
			*ksz = info.key_size;
		if (vsz)
			*vsz = info.value_size;
	}
	close(fd);
}

/* the fdinfo text of pid's descriptor named fd (an entry of /proc/PID/fd)
 * when it is a BPF object of that kind (anon: "anon_inode:bpf-map" or
 * "-prog"), else NULL; the caller frees it */
static char *bpf_fdinfo(pid_t pid, const char *fd, const char *anon)
{
	char lnk[128], fi[PATH_MAX];
	ssize_t k;

	if (!isdigit((unsigned char)fd[0]))
		return NULL;
	snprintf(fi, sizeof(fi), "/proc/%d/fd/%s", (int)pid, fd);
	k = readlink(fi, lnk, sizeof(lnk) - 1);
	if (k <= 0)
		return NULL;
	lnk[k] = '\0';
	if (strcmp(lnk, anon))
		return NULL;
	snprintf(fi, sizeof(fi), "/proc/%d/fdinfo/%s", (int)pid, fd);
	return tl_slurp(fi, NULL);
}

int pid_bpf_ids(pid_t pid, int prog, __u32 *ids, int max)
{
	const char *anon = prog ? "anon_inode:bpf-prog" : "anon_inode:bpf-map";
	const char *field = prog ? "prog_id:" : "map_id:";
	char path[64];
	DIR *d;
	struct dirent *e;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return 0;
	while ((e = readdir(d)) && n < max) {
		char *s, *p;
		__u32 id;
		int dup = 0;

		if (!(s = bpf_fdinfo(pid, e->d_name, anon)))
			continue;
		p = strstr(s, field);
		id = p ? (__u32)strtoul(p + strlen(field), NULL, 10) : 0;
		free(s);
		for (int i = 0; i < n; i++)
			dup |= ids[i] == id;
		if (id && !dup)
			ids[n++] = id;
	}
	closedir(d);
	return n;
}

json_t *pid_maps(pid_t pid)
{
	char path[64];
	DIR *d;
	struct dirent *e;
	json_t *list = json_array();
	unsigned long long sum = 0;
	__u32 seen_ids[256];
	int nids = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	while (d && (e = readdir(d))) {
		char *s, *p, name[32];
		unsigned long long memlock = 0;
		unsigned type = 0, maxe = 0;
		__u32 id = 0;
		int dup = 0;

		if (!(s = bpf_fdinfo(pid, e->d_name, "anon_inode:bpf-map")))
			continue;
		if ((p = strstr(s, "map_type:")))
			type = (unsigned)strtoul(p + 9, NULL, 10);
		if ((p = strstr(s, "max_entries:")))
			maxe = (unsigned)strtoul(p + 12, NULL, 10);
		if ((p = strstr(s, "memlock:")))
			memlock = strtoull(p + 8, NULL, 10);
		if ((p = strstr(s, "map_id:")))
			id = (__u32)strtoul(p + 7, NULL, 10);
		free(s);
		for (int i = 0; i < nids; i++)
			dup |= seen_ids[i] == id;
		if (dup)
			continue;
		if (nids < 256)
			seen_ids[nids++] = id;
		map_name_of(id, name, sizeof(name), NULL, NULL);
		sum += memlock;
		json_array_append_new(list, json_pack("{s:s, s:i, s:i, s:I}", "name", name, "map_type",
						      (json_int_t)type, "max_entries", (json_int_t)maxe,
						      "memlock", (json_int_t)memlock));
	}
	if (d)
		closedir(d);
	return json_pack("{s:I, s:f, s:o}", "memlock_bytes", (json_int_t)sum, "memlock_mib",
			 sum / 1048576.0, "list", list);
}

/* BPF programs loaded right now (someone else's agent disturbs "no agent"):
 * {count, names: distinct names} */
json_t *bpf_progs_loaded(void)
{
	json_t *names = json_array();
	__u32 id = 0;
	int n = 0;

	while (n < 100000 && bpf_prog_get_next_id(id, &id) == 0) {
		struct bpf_prog_info info;
		__u32 len = sizeof(info);
		int fd = bpf_prog_get_fd_by_id(id), dup = 0;

		n++;
		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && json_array_size(names) < 64) {
			for (size_t i = 0; i < json_array_size(names); i++)
				dup |= !strcmp(json_string_value(json_array_get(names, i)), info.name);
			if (!dup)
				json_array_append_new(names, json_string(info.name));
		}
		close(fd);
	}
	return json_pack("{s:i, s:o}", "count", (json_int_t)n, "names", names);
}

void prog_totals(const __u32 *ids, int n, double *ns, double *runs)
{
	*ns = *runs = 0;
	for (int i = 0; i < n; i++) {
		struct bpf_prog_info info;
		__u32 len = sizeof(info);
		int fd = bpf_prog_get_fd_by_id(ids[i]);

		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0) {
			*ns += (double)info.run_time_ns;
			*runs += (double)info.run_cnt;
		}
		close(fd);
	}
}

int map_each(int fd, size_t ksz, size_t vsz, void (*fn)(const void *k, const void *v, void *a),
	     void *arg)
{
	unsigned char cur[64], prev[64];
	void *val = malloc(vsz), *pk = NULL;
	int n = 0;

	if (!val || ksz > sizeof(cur)) {
		free(val);
		return -1;
	}
	while (n < 20000000 && bpf_map_get_next_key(fd, pk, cur) == 0) {
		if (bpf_map_lookup_elem(fd, cur, val) == 0)
			fn(cur, val, arg);
		memcpy(prev, cur, ksz);
		pk = prev;
		n++;
	}
	free(val);
	return n;
}

json_t *bpf_wait_none(int round)
{
	/* the previous agent's programs are freed after an RCU grace period
	 * (for each of its links): wait for them, bounded */
	json_t *bp = bpf_progs_loaded();

	for (int k = 0; k < 200 && jd(bp, "count") > 0; k++) {
		json_decref(bp);
		tl_sleep_ms(50);
		bp = bpf_progs_loaded();
	}
	if (jd(bp, "count") > 0)
		note("round %d: %.0f BPF program(s) loaded during a no-agent run (%s...; another "
		     "agent, or ours still being freed): this round's figures may be disturbed",
		     round, jd(bp, "count"), json_string_value(jget(bp, "names.0")) ?: "?");
	return bp;
}
