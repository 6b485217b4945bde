/*
 * pins.c - the kernel side outlives the supervisor. Every writable map
 * and every link is pinned under [bpf] pin_dir (bpffs), so a supervisor
 * that crashes, is killed or is wedged and restarted leaves the programs
 * recording into the maps; the next one resumes them (loader.c).
 *
 *   PIN_DIR/maps/NAME     every map but the read-only ones (.rodata,
 *                         .kconfig: made anew, with the pinned seed);
 *                         bpffs refuses dots in names (EPERM): '.' -> '_'
 *   PIN_DIR/links/PROG    one link per attached program
 *
 * Invariants:
 *  - one supervisor per pin directory: it holds an exclusive flock on the
 *    directory for its whole life (and `jibril --unload` takes it too), so
 *    two agents never share maps and an unload never pulls the maps from
 *    under a running agent;
 *  - the maps are resumed only when jb_meta's layout version is ours and
 *    every pinned map has the type, key, value, size and flags this
 *    binary and configuration would create; anything else is replaced
 *    whole (old links unpinned: the old programs detach) and logged with
 *    the reason, never half-resumed;
 *  - a new link replaces the old one of the same program by rename(), so
 *    at every instant one of the two is attached: resuming opens no gap.
 *    Old links of programs this binary no longer has are removed;
 *  - removing the pins (unload, a clean stop without keep_on_stop) unlinks
 *    the links first, then the maps, then the directories.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "common/log.h"
#include "supervisor/pins.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif
#define BPFFS_ROOT "/sys/fs/bpf"
#define LOCK_TRIES 40	    /* x LOCK_WAIT_US: 2 s for the directory's lock */
#define LOCK_WAIT_US 50000
#define TMP_PREFIX "new_" /* a link pinned beside its old one (no program is named so) */

static int on_bpffs(const char *path)
{
	struct statfs sfs;

	return statfs(path, &sfs) == 0 && (unsigned long)sfs.f_type == BPF_FS_MAGIC;
}

/* The nearest existing ancestor of dir (itself included) into out. */
static void existing_ancestor(const char *dir, char *out, size_t len)
{
	struct stat st;
	char *slash;

	snprintf(out, len, "%s", dir);
	while (stat(out, &st) < 0 && (slash = strrchr(out, '/')) != NULL) {
		if (slash == out) {
			out[1] = '\0';
			return;
		}
		*slash = '\0';
	}
}

static int mkdir_0700(int at, const char *name)
{
	if (mkdirat(at, name, 0700) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

/* Remove every entry of directory name (beneath at), then the directory. */
static int remove_dir(int at, const char *name, int *count)
{
	int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC), ret = 0;
	DIR *d;
	struct dirent *de;

	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (unlinkat(fd, de->d_name, 0) < 0)
			ret = -1;
		else if (count)
			(*count)++;
	}
	closedir(d);
	if (unlinkat(at, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		ret = -1;
	return ret;
}

int jb_pins_open(struct jb_pins *p, const char *dir, const char *where, char *err, size_t errlen)
{
	char anc[PATH_MAX];
	int fd, locked;

	memset(p, 0, sizeof(*p));
	p->dir_fd = -1;
	if (!dir || !dir[0])
		return 0; /* pinning off */
	snprintf(p->dir, sizeof(p->dir), "%s", dir);
	existing_ancestor(dir, anc, sizeof(anc));
	if (!on_bpffs(anc)) {
		/* the usual place, not mounted (a minimal container, an early
		 * boot): mount it, as systemd and iproute2 do */
		if (strncmp(dir, BPFFS_ROOT "/", sizeof(BPFFS_ROOT)) != 0 || !strcmp(anc, "/") ||
		    (mount("bpf", BPFFS_ROOT, "bpf", 0, "mode=0700") < 0 && errno != EBUSY) ||
		    !on_bpffs(BPFFS_ROOT)) {
			snprintf(err, errlen,
				 "%s: pin_dir %s is not on a BPF filesystem (%s is not bpffs%s): mount "
				 "one (mount -t bpf bpf %s), or set pin_dir = \"\" to run without "
				 "surviving a crash of the supervisor",
				 where, dir, anc,
				 strncmp(dir, BPFFS_ROOT "/", sizeof(BPFFS_ROOT)) == 0 ?
					 ", and mounting it there failed" : "",
				 BPFFS_ROOT);
			return -1;
		}
		log_info("mounted a BPF filesystem on %s for the pins", BPFFS_ROOT);
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		const char *b = strrchr(dir, '/');
		snprintf(err, errlen, "%s: cannot make pin_dir %s: %s", where, dir,
			 errno == EPERM && b && strchr(b, '.') ?
				 "a BPF filesystem refuses '.' in names: choose a name without one" :
				 strerror(errno));
		return -1;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || !on_bpffs(dir)) {
		snprintf(err, errlen, "%s: pin_dir %s: %s", where, dir,
			 fd < 0 ? strerror(errno) : "not on a BPF filesystem");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	/* a moment's holder (a `jibril --unload` or a sweep that found the
	 * directory idle) is waited out; a running agent holds it for good */
	for (int i = 0;; i++) {
		locked = flock(fd, LOCK_EX | LOCK_NB) == 0;
		if (locked || errno != EWOULDBLOCK || i == LOCK_TRIES)
			break;
		usleep(LOCK_WAIT_US);
	}
	if (!locked) {
		snprintf(err, errlen, "%s: pin_dir %s is held by another jibril (%s): stop it first, "
			 "or give this one a pin_dir of its own", where, dir,
			 errno == EWOULDBLOCK ? "locked" : strerror(errno));
		close(fd);
		return -1;
	}
	if (fchmod(fd, 0700) < 0 || mkdir_0700(fd, "maps") < 0 || mkdir_0700(fd, "links") < 0) {
		snprintf(err, errlen, "%s: cannot set up pin_dir %s: %s", where, dir,
			 strerror(errno));
		close(fd);
		return -1;
	}
	p->dir_fd = fd;
	return 0;
}

/* 1 when some process holds a flock on the file of st (/proc/locks:
 * "N: FLOCK ADVISORY WRITE PID MAJ:MIN:INO ..."; major and minor in hex). */
static int flock_held(const struct stat *st)
{
	FILE *f = fopen("/proc/locks", "re");
	char line[256], type[16];
	unsigned int maj, min;
	unsigned long ino;
	int held = 0;

	if (!f)
		return 1; /* cannot tell: say nothing rather than something wrong */
	while (!held && fgets(line, sizeof(line), f))
		held = sscanf(line, "%*s %15s %*s %*s %*d %x:%x:%lu", type, &maj, &min, &ino) == 4 &&
		       !strcmp(type, "FLOCK") && maj == major(st->st_dev) &&
		       min == minor(st->st_dev) && ino == st->st_ino;
	fclose(f);
	return held;
}

/* The number of entries of directory name beneath at, or -1. */
static int count_entries(int at, const char *name)
{
	int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW), n = 0;
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	for (struct dirent *de; (de = readdir(d)) != NULL;)
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	return n;
}

void jb_pins_warn_orphans(const char *own)
{
	DIR *d;
	struct dirent *de;

	if (!on_bpffs(BPFFS_ROOT) || !(d = opendir(BPFFS_ROOT)))
		return;
	while ((de = readdir(d)) != NULL) {
		char path[PATH_MAX];
		struct stat st;
		int n;

		if (de->d_name[0] == '.' ||
		    snprintf(path, sizeof(path), BPFFS_ROOT "/%s", de->d_name) >= (int)sizeof(path) ||
		    (own && !strcmp(path, own)) ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISDIR(st.st_mode))
			continue;
		{
			int fd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
					O_NOFOLLOW);

			if (fd < 0)
				continue;
			/* jibril's: a jb_meta pinned; abandoned: links, and no lock */
			n = faccessat(fd, "maps/jb_meta", F_OK, 0) == 0 ? count_entries(fd, "links") : -1;
			close(fd);
		}
		if (n > 0 && !flock_held(&st))
			log_warnx("%s holds the pins of a jibril that no agent runs (another pin_dir, "
				  "or one given up; links pinned: %d): its programs still record and "
				  "nobody reads them; remove them with `jibril --unload` and a "
				  "configuration whose [bpf] pin_dir is %s", path, n, path);
	}
	closedir(d);
}

int jb_pins_read_meta(struct jb_pins *p, struct jb_meta *meta)
{
	char path[PATH_MAX + 16];
	struct bpf_map_info info;
	__u32 len = sizeof(info), zero = 0;
	int fd, ret = -1;

	if (p->dir_fd < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/maps/jb_meta", p->dir);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -1;
	memset(&info, 0, sizeof(info));
	memset(meta, 0, sizeof(*meta));
	if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && info.value_size == sizeof(*meta) &&
	    info.key_size == sizeof(zero) && bpf_map_lookup_elem(fd, &zero, meta) == 0)
		ret = 0;
	else
		meta->layout_version = 0; /* another layout: its struct is not ours */
	close(fd);
	return ret < 0 ? 1 : 0;
}

/* PIN_DIR/maps/NAME, with the dots bpffs refuses made '_'. */
static void map_path(const struct jb_pins *p, const char *name, char *out, size_t len)
{
	int n = snprintf(out, len, "%s/maps/", p->dir);

	for (size_t i = 0; n > 0 && (size_t)n + 1 < len && name[i]; i++)
		out[n++] = name[i] == '.' ? '_' : name[i];
	if (n > 0 && (size_t)n < len)
		out[n] = '\0';
}

int jb_pins_map_fd(const struct jb_pins *p, const char *name)
{
	char path[PATH_MAX + 80];

	if (p->dir_fd < 0)
		return -1;
	map_path(p, name, path, sizeof(path));
	return bpf_obj_get(path);
}

/* 1 when maps/ (first 0) or links/ (1) up to last hold an entry, 0 when
 * none does (or is there), -1 when one cannot be read. */
static int pins_in(const struct jb_pins *p, int first, int last)
{
	char path[PATH_MAX + 16];
	DIR *d;
	struct dirent *de;
	int n = 0;

	if (p->dir_fd < 0)
		return 0;
	for (int i = first; i <= last && !n; i++) {
		snprintf(path, sizeof(path), "%s/%s", p->dir, i ? "links" : "maps");
		if (!(d = opendir(path))) {
			if (errno == ENOENT)
				continue;
			return -1;
		}
		while ((de = readdir(d)) != NULL)
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				n++;
		closedir(d);
	}
	return n > 0;
}

int jb_pins_any(const struct jb_pins *p)
{
	return pins_in(p, 0, 1) != 0; /* unreadable: maybe */
}

int jb_pins_linked(const struct jb_pins *p)
{
	return pins_in(p, 1, 1) != 0;
}

/* Pinned or not: the read-only maps are made anew by every load. */
static int pinnable(const struct bpf_map *m)
{
	const char *n = bpf_map__name(m);

	return !(bpf_map__is_internal(m) && (strstr(n, ".rodata") || strstr(n, ".kconfig")));
}

/* The name of the i-th variable of DATASEC t in btf ("" when unnamed). */
static const char *var_name(const struct btf *btf, const struct btf_type *t, int i)
{
	const struct btf_type *v = btf__type_by_id(btf, btf_var_secinfos(t)[i].type);
	const char *n = v ? btf__name_by_offset(btf, v->name_off) : NULL;

	return n ? n : "";
}

/* A global-data map (.bss, .data) holds variables: the pinned one must
 * hold the same ones at the same offsets (its BTF, kept by the kernel),
 * not only have the same size: a binary whose variables moved would have
 * each program, and adopt_early's write, use another's. 0 when the same,
 * or when obj has no such section in its BTF (nothing to compare). */
static int same_vars(const struct bpf_map *m, struct bpf_object *obj,
		     const struct bpf_map_info *info, char *why, size_t len)
{
	const struct btf *ob = bpf_object__btf(obj);
	const char *sec = strchr(bpf_map__name(m), '.');
	const struct btf_type *t, *k;
	struct btf *kb;
	int id = ob && sec ? btf__find_by_name_kind(ob, sec, BTF_KIND_DATASEC) : -1, ret = 0;

	if (id < 0 || !(t = btf__type_by_id(ob, (__u32)id)))
		return 0;
	if (!info->btf_id || !(kb = btf__load_from_kernel_by_id(info->btf_id))) {
		snprintf(why, len, "map %s: its variables cannot be read (no BTF)", bpf_map__name(m));
		return -1;
	}
	k = btf__type_by_id(kb, info->btf_value_type_id);
	if (!k || !btf_is_datasec(k) || btf_vlen(k) != btf_vlen(t)) {
		snprintf(why, len, "map %s holds %d variables there, %d here", bpf_map__name(m),
			 k && btf_is_datasec(k) ? btf_vlen(k) : -1, btf_vlen(t));
		ret = -1;
	}
	for (int i = 0; !ret && i < btf_vlen(t); i++) {
		const struct btf_var_secinfo *a = &btf_var_secinfos(k)[i], *b = &btf_var_secinfos(t)[i];

		if (strcmp(var_name(kb, k, i), var_name(ob, t, i)) || a->offset != b->offset ||
		    a->size != b->size) {
			snprintf(why, len, "map %s: variable %d is %s at %u (%u bytes) there, %s at "
				 "%u (%u) here", bpf_map__name(m), i, var_name(kb, k, i), a->offset,
				 a->size, var_name(ob, t, i), b->offset, b->size);
			ret = -1;
		}
	}
	btf__free(kb);
	return ret;
}

int jb_pins_check_vars(const struct jb_pins *p, struct bpf_object *obj, const struct bpf_map *m,
		       char *why, size_t len)
{
	struct bpf_map_info info;
	__u32 ilen = sizeof(info);
	int fd = jb_pins_map_fd(p, bpf_map__name(m)), ret;

	memset(&info, 0, sizeof(info));
	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &ilen) < 0) {
		snprintf(why, len, "map %s: %s", bpf_map__name(m),
			 fd < 0 ? "not pinned" : strerror(errno));
		ret = -1;
	} else {
		ret = same_vars(m, obj, &info, why, len);
	}
	if (fd >= 0)
		close(fd);
	return ret;
}

int jb_pins_check_maps(const struct jb_pins *p, struct bpf_object *obj, char *why, size_t len)
{
	struct bpf_map *m;

	bpf_object__for_each_map(m, obj) {
		struct bpf_map_info info;
		__u32 ilen = sizeof(info);
		int fd;

		if (!pinnable(m))
			continue;
		fd = jb_pins_map_fd(p, bpf_map__name(m));
		if (fd < 0) {
			snprintf(why, len, "map %s is not pinned", bpf_map__name(m));
			return -1;
		}
		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(fd, &info, &ilen) < 0) {
			snprintf(why, len, "map %s: %s", bpf_map__name(m), strerror(errno));
			close(fd);
			return -1;
		}
		close(fd);
		if (info.type != bpf_map__type(m) || info.key_size != bpf_map__key_size(m) ||
		    info.value_size != bpf_map__value_size(m) ||
		    (bpf_map__max_entries(m) && info.max_entries != bpf_map__max_entries(m)) ||
		    info.map_flags != bpf_map__map_flags(m)) {
			snprintf(why, len,
				 "map %s differs (type %u/%u, key %u/%u, value %u/%u, entries %u/%u: "
				 "pinned/this one; [maps] sizes changed?)",
				 bpf_map__name(m), info.type, (unsigned)bpf_map__type(m),
				 info.key_size, bpf_map__key_size(m), info.value_size,
				 bpf_map__value_size(m), info.max_entries, bpf_map__max_entries(m));
			return -1;
		}
		if (bpf_map__is_internal(m) && same_vars(m, obj, &info, why, len) < 0)
			return -1;
	}
	return 0;
}

int jb_pins_set_paths(const struct jb_pins *p, struct bpf_object *obj)
{
	struct bpf_map *m;
	char path[PATH_MAX + 80];

	if (p->dir_fd < 0)
		return 0;
	bpf_object__for_each_map(m, obj) {
		if (!pinnable(m))
			continue;
		map_path(p, bpf_map__name(m), path, sizeof(path));
		if (bpf_map__set_pin_path(m, path) < 0)
			return -1;
	}
	return 0;
}

int jb_pins_links(const struct jb_pins *p, const struct bpf_object_skeleton *s)
{
	char path[PATH_MAX + 80], tmp[PATH_MAX + 96];
	int links_fd, ret = 0, n = 0;
	DIR *d;
	struct dirent *de;

	if (p->dir_fd < 0)
		return 0;
	for (int i = 0; i < s->prog_cnt; i++) {
		const struct bpf_prog_skeleton *ps =
			(const void *)((const char *)s->progs + (size_t)i * (size_t)s->prog_skel_sz);
		struct bpf_link *l = *ps->link;

		if (!l)
			continue;
		snprintf(path, sizeof(path), "%s/links/%s", p->dir, ps->name);
		snprintf(tmp, sizeof(tmp), "%s/links/" TMP_PREFIX "%s", p->dir, ps->name);
		unlink(tmp);
		/* pinned beside, then renamed over the old one: the old link is
		 * released (its program detaches) only once this one runs */
		if (bpf_link__pin(l, tmp) < 0 || rename(tmp, path) < 0) {
			log_warn("cannot pin the link of %s: it will not outlive this supervisor",
				 ps->name);
			unlink(tmp);
			ret = -1;
			continue;
		}
		n++;
	}
	/* links of programs this object has not attached: theirs detach */
	links_fd = openat(p->dir_fd, "links", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	d = links_fd >= 0 ? fdopendir(links_fd) : NULL;
	while (d && (de = readdir(d)) != NULL) {
		int ours = 0;

		if (de->d_name[0] == '.' || !strncmp(de->d_name, TMP_PREFIX, strlen(TMP_PREFIX)))
			continue;
		for (int i = 0; i < s->prog_cnt && !ours; i++) {
			const struct bpf_prog_skeleton *ps = (const void *)((const char *)s->progs +
									     (size_t)i * (size_t)s->prog_skel_sz);
			ours = *ps->link && !strcmp(ps->name, de->d_name);
		}
		if (!ours) {
			log_info("removing the pinned link %s: this agent does not attach it",
				 de->d_name);
			unlinkat(links_fd, de->d_name, 0);
		}
	}
	if (d)
		closedir(d);
	else if (links_fd >= 0)
		close(links_fd);
	log_debug("%d links pinned under %s/links", n, p->dir);
	return ret;
}

/* Unpin everything: the links and maps directories go, links first (the
 * programs detach before their maps go). The number of pins, or -1. */
static int unpin_all(struct jb_pins *p)
{
	int n = 0;

	if (remove_dir(p->dir_fd, "links", &n) < 0 || remove_dir(p->dir_fd, "maps", &n) < 0)
		return -1;
	log_debug("removed %d pins under %s", n, p->dir);
	return n;
}

int jb_pins_remove(struct jb_pins *p)
{
	int n;

	if (p->dir_fd < 0)
		return 0;
	n = unpin_all(p);
	/* the directories again, for the pins that replace them */
	if (mkdir_0700(p->dir_fd, "maps") < 0 || mkdir_0700(p->dir_fd, "links") < 0)
		return -1;
	return n;
}

void jb_pins_close(struct jb_pins *p, int remove_dir_too)
{
	if (p->dir_fd < 0)
		return;
	/* nothing pinned, for sure (a start that failed before its load):
	 * the directories it made go too, rather than stay behind empty */
	if (remove_dir_too || pins_in(p, 0, 1) == 0) {
		unpin_all(p);
		if (rmdir(p->dir) < 0 && errno != ENOENT)
			log_warn("cannot remove %s", p->dir);
	}
	close(p->dir_fd); /* and the lock with it */
	p->dir_fd = -1;
}
