/*
 * loader.c - open -> size maps -> seed -> load -> attach the one CO-RE
 * object, with libbpf's messages routed into our log.
 *
 * Invariants:
 *  - every refusal is one sentence that says what is missing (not root,
 *    no BTF, no tracefs, a missing tracepoint), before anything attaches.
 *  - the seed is random per load and recorded in jb_meta with the layout
 *    version, so that a later supervisor resuming from pinned maps can read
 *    it back instead of choosing a new one (keys would not match).
 *  - optional hooks (syscalls that some kernels lack) are disabled with a
 *    warning rather than failing the load; required ones are fatal.
 *  - the syscall hooks run as tracepoints or as their fentry/fexit twins
 *    (backend.c), never both; [bpf] backend = auto whose twins the kernel
 *    refuses at load is loaded again with the tracepoints.
 */
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "common/cgroup2.h"
#include "common/log.h"
#include "bpf/jibril.h"
#include "jibril.skel.h"
#include "loader.h"
#include "supervisor/backend.h"
#include "collect_dns.h"
#include "supervisor/self.h"
#include "supervisor/watch.h"

#define TRACEFS "/sys/kernel/tracing"
#define TRACEFS_MAGIC 0x74726163

/* Hooks jibril cannot work without: a kernel lacking one is refused. */
static const char *const required_tp[] = {
	"syscalls/sys_exit_openat",
	"syscalls/sys_enter_connect",
	"syscalls/sys_enter_unlinkat",
	NULL,
};

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char line[1024];
	size_t n;

	if (level == LIBBPF_DEBUG && log_getlevel() < LOG_L_DEBUG)
		return 0;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n && line[n - 1] == '\n')
		line[--n] = '\0';
	if (level == LIBBPF_WARN)
		log_warnx("libbpf: %s", line);
	else
		log_debug("libbpf: %s", line);
	return 0;
}

int jb_bpf_preflight(char *err, size_t errlen)
{
	struct statfs sfs;
	struct stat st;

	if (geteuid() != 0) {
		snprintf(err, errlen, "jibril must run as root: loading BPF programs needs it");
		return -1;
	}
	/* the programs know the agent by its tgid in the host's pid namespace
	 * (jb_agent_tgid, is_agent()): getpid() in a namespace of its own
	 * names another process there, 1 in a container's, whose acts and
	 * whose children's (every service the host's init starts) they would
	 * skip. 0xEFFFFFFC: the initial pid namespace's fixed inode
	 * (PROC_PID_INIT_INO) */
	if (stat("/proc/self/ns/pid", &st) == 0 && st.st_ino != 0xEFFFFFFCu) {
		snprintf(err, errlen, "jibril runs in a pid namespace of its own: it must run in "
			 "the host's (a container needs --pid=host, a Kubernetes pod hostPID: "
			 "true), or the kernel side would take the host process with its pid for "
			 "the agent and ignore what it and its children do");
		return -1;
	}
	if (stat("/sys/kernel/btf/vmlinux", &st) < 0) {
		snprintf(err, errlen,
			 "this kernel exposes no BTF (/sys/kernel/btf/vmlinux is missing): "
			 "jibril needs CONFIG_DEBUG_INFO_BTF");
		return -1;
	}
	{
		/* the path walk reads kernel pointers through this kfunc */
		struct btf *vmlinux = btf__load_vmlinux_btf();
		int id = vmlinux ? btf__find_by_name_kind(vmlinux, "bpf_rdonly_cast", BTF_KIND_FUNC)
				 : -1;
		btf__free(vmlinux);
		if (id < 0) {
			snprintf(err, errlen, "this kernel lacks the bpf_rdonly_cast kfunc: jibril "
				 "needs Linux 6.2 or newer");
			return -1;
		}
	}
	if (statfs(TRACEFS, &sfs) < 0 || sfs.f_type != TRACEFS_MAGIC) {
		if (mount("tracefs", TRACEFS, "tracefs", 0, NULL) < 0) {
			snprintf(err, errlen, "tracefs is not mounted and mounting it on %s failed: %s",
				 TRACEFS, strerror(errno));
			return -1;
		}
		log_info("mounted tracefs on %s", TRACEFS);
	}
	for (int i = 0; required_tp[i]; i++) {
		char path[256];
		snprintf(path, sizeof(path), TRACEFS "/events/%s", required_tp[i]);
		if (stat(path, &st) < 0) {
			snprintf(err, errlen, "the kernel has no tracepoint %s, which jibril needs",
				 required_tp[i]);
			return -1;
		}
	}
	return 0;
}

/* Disable programs whose tracepoint this kernel lacks (optional ones):
 * syscall tracepoints by their tracefs entry, tp_btf ones (io_uring's, on
 * a kernel built without it) by their btf_trace_NAME type in the kernel's
 * BTF. */
static void disable_missing(struct bpf_object *obj)
{
	struct btf *vmlinux = btf__load_vmlinux_btf();
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, obj)
	{
		const char *sec = bpf_program__section_name(prog);
		char path[256];
		struct stat st;

		if (strncmp(sec, "tp_btf/", 7) == 0 && vmlinux) {
			snprintf(path, sizeof(path), "btf_trace_%s", sec + 7);
			if (btf__find_by_name_kind(vmlinux, path, BTF_KIND_TYPEDEF) >= 0)
				continue;
			log_warnx("tracepoint %s is missing: %s disabled", sec + 7,
				  bpf_program__name(prog));
			bpf_program__set_autoload(prog, false);
			continue;
		}
		if (strncmp(sec, "tracepoint/", 11) != 0)
			continue;
		snprintf(path, sizeof(path), TRACEFS "/events/%s", sec + 11);
		if (stat(path, &st) == 0)
			continue;
		log_warnx("tracepoint %s is missing: %s disabled", sec + 11,
			  bpf_program__name(prog));
		bpf_program__set_autoload(prog, false);
	}
	btf__free(vmlinux);
}

/* 32-bit syscalls are possible: the kernel has IA32 emulation (the
 * vsyscall32 sysctl exists) and it was not turned off at boot. */
static int compat_syscalls(void)
{
	char cmd[4096] = "";
	struct stat st;
	int fd;
	ssize_t n;

	if (stat("/proc/sys/abi/vsyscall32", &st) < 0)
		return 0;
	fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
	n = fd >= 0 ? read(fd, cmd, sizeof(cmd) - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n > 0) {
		cmd[n] = '\0';
		for (const char *const *off = (const char *const[]){"ia32_emulation=0",
			"ia32_emulation=false", "ia32_emulation=off", "ia32_emulation=n", NULL};
		     *off; off++)
			if (strstr(cmd, *off))
				return 0;
	}
	return 1;
}

/* The raw syscall entry (bpf/tamper.bpf.h jb_raw_enter) runs on every
 * syscall of every task: loaded only on the operator's word ([tamper]
 * raw_syscall_hook). It sees what the syscalls: tracepoints cannot: module
 * calls on kernels built without modules (those have no tracepoints) and
 * 32-bit syscalls, which bypass every syscalls: tracepoint. Both gaps are
 * said at start-up either way. */
static void raw_hook(struct jibril_bpf *skel, const struct jb_config *cfg)
{
	struct stat st;
	int tps = stat(TRACEFS "/events/syscalls/sys_enter_finit_module", &st) == 0;
	int mods = stat("/proc/modules", &st) == 0;
	int compat = compat_syscalls();

	skel->rodata->jb_no_modules = !mods;
	skel->rodata->jb_raw_modules = !tps;
	if (cfg->tamper_raw_hook) {
		log_info("raw syscall hook on ([tamper] raw_syscall_hook = yes: every syscall pays "
			 "a compare): %s%s", tps ? "" : "module call attempts, ",
			 compat ? "32-bit syscalls on the agent's maps, processes and files"
				: "no 32-bit syscalls on this kernel");
		return;
	}
	bpf_program__set_autoload(skel->progs.jb_raw_enter, false);
	if (tps)
		log_info("kernel modules: module calls watched on their tracepoints "
			 "(jb_raw_enter disabled)");
	else
		log_info("kernel modules: this kernel has no module syscall tracepoints%s; "
			 "init_module/finit_module/delete_module attempts are not watched "
			 "(jb_raw_enter disabled; [tamper] raw_syscall_hook = yes watches them at a "
			 "cost to every syscall)",
			 mods ? "" : " (it is built without module support: such calls can only fail)");
	if (compat)
		log_warnx("32-bit syscalls (int $0x80) are possible on this kernel and bypass the "
			  "syscall tracepoints of every file and tamper hook; boot with "
			  "ia32_emulation=0, or set [tamper] raw_syscall_hook = yes to see them act on "
			  "the agent (docs/SECURITY.md)");
}

/* Protect one path's records: its key as the kernel computes it. */
static void watch_add(const char *path, void *arg)
{
	struct jb_bpf *b = arg;
	char buf[JB_PATH_LEN] __attribute__((aligned(8))) = {0};
	__u64 key;
	__u32 flags = 0;

	if (strlen(path) >= sizeof(buf))
		return;
	memcpy(buf, path, strlen(path));
	key = jb_hash_path(b->seed, buf);
	if (bpf_map_update_elem(b->fd_watch, &key, &flags, BPF_ANY) < 0)
		log_warn("cannot protect %s (jb_watch full?)", path);
	else
		b->nwatch++;
}

int jb_bpf_env_names(struct jb_bpf *b, const struct rcp_set *set)
{
	struct sup_envnames next;
	uint64_t bits[JB_ENV_PRE_WORDS] = {0};
	__u32 zero = 0;
	char list[1024];
	size_t o = 0;
	int ret = 0;

	if (sup_envnames_derive(set, &next) < 0) {
		log_warnx("environment names: out of memory; the kernel keeps recording the old set");
		return -1;
	}
	for (size_t i = 0; i < next.n; i++) {
		uint32_t bit = sup_envnames_prebit(next.v[i].name);
		bits[bit >> 6] |= 1ULL << (bit & 63);
	}
	/* the new names' bits, then the names, then the old ones out: a
	 * kernel reader meanwhile sees a superset of the old or of the new */
	for (int i = 0; i < JB_ENV_PRE_WORDS; i++)
		__atomic_fetch_or(&b->env_pre[i], bits[i], __ATOMIC_SEQ_CST);
	for (size_t i = 0; i < next.n; i++)
		if (bpf_map_update_elem(b->fd_env_names, &next.v[i], &zero, BPF_ANY) < 0) {
			log_warn("cannot hand the environment variable %s to the kernel: it is "
				 "not recorded", next.v[i].name);
			ret = -1;
		}
	for (size_t i = 0; i < b->env.n; i++)
		if (!sup_envnames_has(&next, b->env.v[i].name, strlen(b->env.v[i].name)) &&
		    bpf_map_delete_elem(b->fd_env_names, &b->env.v[i]) < 0 && errno != ENOENT)
			log_warn("cannot drop the environment variable %s from the kernel's set",
				 b->env.v[i].name);
	for (int i = 0; i < JB_ENV_PRE_WORDS; i++)
		__atomic_store_n(&b->env_pre[i], bits[i], __ATOMIC_SEQ_CST);
	for (size_t i = 0; i < next.n && o < sizeof(list); i++)
		o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s", i ? " " : "",
				      next.v[i].name);
	log_info("environment at exec: the kernel records %zu variable%s the recipes name%s%s",
		 next.n, next.n == 1 ? "" : "s", next.n ? ": " : "", list);
	sup_envnames_free(&b->env);
	b->env = next;
	return ret;
}

/* DNS (bpf/dns.bpf.h): cgroup_skb egress (queries) and ingress (answers)
 * on the cgroup2 root (common/cgroup2.h). Optional: without it flows
 * simply have no names (warned). Both or neither: an ingress program that
 * sees no queries would reject every answer. The links live in the
 * skeleton, so jibril_bpf__destroy() detaches them. */
static void dns_probe(struct jibril_bpf *skel)
{
	/* both programs key everything by the socket's network namespace: a
	 * kernel whose cgroup_skb programs cannot ask for it (the helper came
	 * to them in 2025; 6.18 has it) would refuse the whole object, so
	 * they are left out instead */
	if (libbpf_probe_bpf_helper(BPF_PROG_TYPE_CGROUP_SKB, BPF_FUNC_get_netns_cookie, NULL) > 0)
		return;
	log_warnx("this kernel does not give cgroup_skb programs bpf_get_netns_cookie(): DNS "
		  "answers are not parsed and flows get no names");
	bpf_program__set_autoload(skel->progs.jb_dns_ingress, false);
	bpf_program__set_autoload(skel->progs.jb_dns_egress, false);
}

static void dns_attach(struct jb_bpf *b, struct jibril_bpf *skel)
{
	const char *root;
	int fd;

	b->fd_dns = -1;
	if (bpf_program__fd(skel->progs.jb_dns_ingress) < 0)
		return; /* left out by dns_probe() */
	fd = jb_cgroup2_root(&root);
	if (fd < 0) {
		log_warnx("no cgroup2 hierarchy at /sys/fs/cgroup or /sys/fs/cgroup/unified: DNS "
			  "answers are not parsed and flows get no names");
		return;
	}
	skel->links.jb_dns_egress = bpf_program__attach_cgroup(skel->progs.jb_dns_egress, fd);
	if (skel->links.jb_dns_egress)
		skel->links.jb_dns_ingress =
			bpf_program__attach_cgroup(skel->progs.jb_dns_ingress, fd);
	close(fd);
	if (!skel->links.jb_dns_egress || !skel->links.jb_dns_ingress) {
		log_warn("cannot attach the DNS programs to %s: flows get no names", root);
		bpf_link__destroy(skel->links.jb_dns_egress);
		skel->links.jb_dns_egress = NULL;
		return;
	}
	b->fd_dns = bpf_map__fd(skel->maps.jb_dns);
	log_info("DNS answers parsed on the cgroup2 root %s", root);
}

int jb_bpf_dns_fd(const struct jb_bpf *b)
{
	return b->skel ? b->fd_dns : -1;
}

/* Open the object and set it up for load: rodata, map sizes, programs
 * the kernel lacks or the operator did not ask for, the syscall hooks'
 * backend (backend.c; veto: why not the fentry twins, NULL for none).
 * NULL with err. */
static struct jibril_bpf *open_object(struct jb_bpf *b, const struct jb_config *cfg,
				      const char *veto, const char *conf_path, char *err,
				      size_t errlen)
{
	struct jibril_bpf *skel = jibril_bpf__open();

	if (!skel) {
		snprintf(err, errlen, "cannot open the BPF object: %s", strerror(errno));
		return NULL;
	}
	skel->rodata->jb_seed = b->seed;
	skel->bss->jb_agent_tgid = (__u32)getpid(); /* a new .bss starts with it */
	bpf_map__set_max_entries(skel->maps.jb_tasks, cfg->map_tasks);
	bpf_map__set_max_entries(skel->maps.jb_files, cfg->map_files);
	bpf_map__set_max_entries(skel->maps.jb_links, cfg->map_links);
	bpf_map__set_max_entries(skel->maps.jb_flows, cfg->map_flows);
	bpf_map__set_max_entries(skel->maps.jb_tasks_hot, cfg->map_hot_tasks);
	bpf_map__set_max_entries(skel->maps.jb_files_hot, cfg->map_hot_files);
	bpf_map__set_max_entries(skel->maps.jb_links_hot, cfg->map_hot_links);
	disable_missing(skel->obj);
	raw_hook(skel, cfg);
	dns_probe(skel);
	b->backend = jb_bpf_backend(skel->obj, cfg->bpf_backend, veto, conf_path,
				    cfg->bpf_backend_line, err, errlen);
	if (b->backend < 0) {
		jibril_bpf__destroy(skel);
		return NULL;
	}
	return skel;
}

/* Pins about to be replaced: why, and (their layout being ours, so their
 * jb_stats and b->meta readable) how many records their programs created
 * after the last query that saw the maps: those no query will see. */
static void note_not_resumed(struct jb_bpf *b, const char *why)
{
	static const __u32 created[] = {JB_STAT_TASK_NEW, JB_STAT_LINK_NEW, JB_STAT_FLOW_NEW,
					JB_STAT_HOT_NEW, JB_STAT_TAMPER_NEW};
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	uint64_t vals[b->ncpus > 0 ? b->ncpus : 1], sum = 0;
	int fd, ok = 0;

	b->not_resumed_records = 0;
	b->not_resumed[0] = '\0';
	if (!jb_pins_linked(&b->pins))
		return; /* no program was left attached: nothing recorded meanwhile
			 * (a start killed during its load leaves maps alone) */
	snprintf(b->not_resumed, sizeof(b->not_resumed), "%s", why);
	if (b->meta.layout_version != JB_LAYOUT_VERSION ||
	    (fd = jb_pins_map_fd(&b->pins, "jb_stats")) < 0)
		return;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && info.value_size == sizeof(__u64) &&
	    info.type == BPF_MAP_TYPE_PERCPU_ARRAY && info.max_entries >= JB_STAT_MAX) {
		ok = 1;
		for (size_t i = 0; ok && i < sizeof(created) / sizeof(created[0]); i++) {
			ok = bpf_map_lookup_elem(fd, &created[i], vals) == 0;
			for (int c = 0; ok && c < b->ncpus; c++)
				sum += vals[c];
		}
	}
	close(fd);
	if (ok && sum > b->meta.created)
		b->not_resumed_records = sum - b->meta.created;
}

/* Pins found: resume them (same seed, same maps) when their layout is
 * ours, else remove them, saying why. 1: resume, with b->meta read. */
static int pins_decide(struct jb_bpf *b)
{
	int r = jb_pins_read_meta(&b->pins, &b->meta);
	char why[160];

	if (r == 0 && b->meta.layout_version == JB_LAYOUT_VERSION)
		return 1;
	if (r == 0 || r == 1) {
		log_warnx("the maps pinned under %s have layout %u, this jibril %u: replaced (what "
			  "the kernel recorded before this start is not resumed)", b->pins.dir,
			  r == 0 ? b->meta.layout_version : 0, JB_LAYOUT_VERSION);
		snprintf(why, sizeof(why), "the pinned maps have layout %u, this jibril %u",
			 r == 0 ? b->meta.layout_version : 0, JB_LAYOUT_VERSION);
		note_not_resumed(b, why);
	} else if (jb_pins_any(&b->pins)) {
		log_warnx("pins under %s without jb_meta: replaced", b->pins.dir);
		note_not_resumed(b, "pins without jb_meta");
	} else {
		return 0;
	}
	if (jb_pins_remove(&b->pins) < 0)
		log_warn("cannot remove every old pin under %s", b->pins.dir);
	return 0;
}

/* Resuming: before anything else the programs still attached from before
 * would record or report (the backend probe loads a program, the load
 * creates maps), tell them that we are the agent: our tgid into the
 * pinned .bss through a mapping of it, not a bpf() write they would
 * report as a stranger writing the agent's maps; then jb_agent. The
 * skeleton is only opened here (no bpf() write) for the map's name, size
 * and variables: a pinned .bss whose variables are not ours is never
 * written. */
static void adopt_early(struct jb_bpf *b)
{
	struct jibril_bpf *skel = jibril_bpf__open();
	long page = sysconf(_SC_PAGESIZE);
	__u32 tgid = (__u32)getpid();
	char err[256];
	size_t sz;
	void *m;
	int fd;

	if (!skel) {
		log_warn("cannot open the BPF object to tell the running programs our pid");
		return;
	}
	sz = ((size_t)bpf_map__value_size(skel->maps.bss) + (size_t)page - 1) & ~((size_t)page - 1);
	if (jb_pins_check_vars(&b->pins, skel->obj, skel->maps.bss, err, sizeof(err)) < 0) {
		/* another binary's variables: never written; open_pinned
		 * finds the same and replaces the pins */
		log_warnx("not telling the running programs our pid: %s", err);
		jibril_bpf__destroy(skel);
		return;
	}
	fd = jb_pins_map_fd(&b->pins, bpf_map__name(skel->maps.bss));
	m = fd >= 0 ? mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) : MAP_FAILED;
	if (m != MAP_FAILED) {
		__atomic_store_n((__u32 *)(void *)((char *)m +
						    offsetof(struct jibril_bpf__bss, jb_agent_tgid)),
				 tgid, __ATOMIC_SEQ_CST);
		munmap(m, sz);
	} else {
		log_warn("cannot map the pinned .bss to tell the running programs our pid: they "
			 "may report this start as tampering");
	}
	if (fd >= 0)
		close(fd);
	jibril_bpf__destroy(skel);
	b->fd_agent = jb_pins_map_fd(&b->pins, "jb_agent");
	if (b->fd_agent >= 0 && jb_self_supervisor(b, err, sizeof(err)) < 0)
		log_warnx("%s", err);
	if (b->fd_agent >= 0)
		close(b->fd_agent);
	b->fd_agent = -1;
}

/* Resumed: the agent's processes of the previous supervisor are gone
 * (their exit removes them, but not while no program ran): drop every
 * jb_agent entry whose process is not the one it names. */
static void agent_prune(struct jb_bpf *b)
{
	__u32 key, next, *prev = NULL;
	struct jb_agent a;
	__u32 stale[64];
	int n = 0;

	while (n < (int)(sizeof(stale) / sizeof(stale[0])) &&
	       bpf_map_get_next_key(b->fd_agent, prev, &next) == 0) {
		char path[64], buf[1024];
		uint64_t ticks;
		uint32_t ppid;
		ssize_t r = -1;
		int fd;

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(b->fd_agent, &key, &a) < 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%u/stat", key);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			r = read(fd, buf, sizeof(buf) - 1);
			close(fd);
		}
		if (r > 0) {
			buf[r] = '\0';
			if (jb_parse_proc_stat(buf, &ppid, &ticks, NULL, 0) == 0 &&
			    jb_hash_task(b->seed, key, ticks) == a.task_key)
				continue;
		}
		stale[n++] = key;
	}
	for (int i = 0; i < n; i++)
		bpf_map_delete_elem(b->fd_agent, &stale[i]);
	if (n)
		log_debug("dropped %d agent processes of the previous supervisor from jb_agent", n);
}

/* open_object, and with pins: check them (resume) and point the maps at
 * them. *resume is cleared when the pinned maps do not fit. */
static struct jibril_bpf *open_pinned(struct jb_bpf *b, const struct jb_config *cfg,
				      const char *veto, const char *conf_path, int *resume,
				      char *err, size_t errlen)
{
	struct jibril_bpf *skel = open_object(b, cfg, veto, conf_path, err, errlen);
	char why[256];

	if (!skel || b->pins.dir_fd < 0)
		return skel;
	if (*resume && jb_pins_check_maps(&b->pins, skel->obj, why, sizeof(why)) < 0) {
		log_warnx("cannot resume the maps pinned under %s: %s; replaced (what the kernel "
			  "recorded before this start is not resumed)", b->pins.dir, why);
		note_not_resumed(b, why);
		jb_pins_remove(&b->pins);
		*resume = 0;
	}
	if (jb_pins_set_paths(&b->pins, skel->obj) < 0) {
		snprintf(err, errlen, "cannot set the pin paths under %s", b->pins.dir);
		jibril_bpf__destroy(skel);
		return NULL;
	}
	return skel;
}

/* A second try after a refused load: open_pinned and load again; *e is
 * the load's errno (0: loaded). NULL with err (the pins' lock released)
 * when the object cannot even be opened. */
static struct jibril_bpf *load_again(struct jb_bpf *b, const struct jb_config *cfg,
				     const char *veto, const char *conf_path, int *resume, int *e,
				     char *err, size_t errlen)
{
	struct jibril_bpf *skel = open_pinned(b, cfg, veto, conf_path, resume, err, errlen);

	if (!skel) {
		jb_pins_close(&b->pins, 0);
		return NULL;
	}
	*e = jibril_bpf__load(skel) ? errno : 0;
	return skel;
}

int jb_bpf_load(struct jb_bpf *b, const struct jb_config *cfg, const struct rcp_set *watch,
		const char *conf_path, char *err, size_t errlen)
{
	struct jibril_bpf *skel;
	char where[4200];
	__u32 zero = 0;
	int e, resume = 0;

	memset(b, 0, sizeof(*b));
	b->pins.dir_fd = -1;
	libbpf_set_print(libbpf_print);
	b->ncpus = libbpf_num_possible_cpus();
	if (b->ncpus <= 0) {
		snprintf(err, errlen, "cannot count possible CPUs");
		return -1;
	}
	if (cfg->bpf_pin_dir_line)
		snprintf(where, sizeof(where), "%s:%d", conf_path, cfg->bpf_pin_dir_line);
	else
		snprintf(where, sizeof(where), "%s: [bpf] pin_dir (default)", conf_path);
	if (jb_pins_open(&b->pins, cfg->bpf_pin_dir, where, err, errlen) < 0)
		return JB_BPF_ECONFIG;
	jb_pins_warn_orphans(b->pins.dir_fd >= 0 ? b->pins.dir : NULL);
	if (b->pins.dir_fd >= 0)
		resume = pins_decide(b);
	if (resume) {
		b->seed = b->meta.seed;
		adopt_early(b);
	} else if (getrandom(&b->seed, sizeof(b->seed), 0) != sizeof(b->seed)) {
		snprintf(err, errlen, "getrandom: %s", strerror(errno));
		jb_pins_close(&b->pins, 0);
		return -1;
	}
	skel = open_pinned(b, cfg, NULL, conf_path, &resume, err, errlen);
	if (!skel) {
		jb_pins_close(&b->pins, 0);
		return b->backend == -2 ? JB_BPF_ECONFIG : -1;
	}
	e = jibril_bpf__load(skel) ? errno : 0;
	if (e && resume) {
		/* libbpf would not reuse a pinned map after all */
		log_warnx("cannot load the BPF object onto the maps pinned under %s (%s): replaced "
			  "(what the kernel recorded before this start is not resumed)",
			  b->pins.dir, strerror(e));
		note_not_resumed(b, "the BPF object could not be loaded onto the pinned maps");
		jibril_bpf__destroy(skel);
		jb_pins_remove(&b->pins);
		resume = 0;
		if (!(skel = load_again(b, cfg, NULL, conf_path, &resume, &e, err, errlen)))
			return -1;
	}
	if (e && b->backend == JB_BACKEND_FENTRY && cfg->bpf_backend == JB_BACKEND_AUTO) {
		/* the probe passed but the object did not: auto falls back */
		char veto[160];

		snprintf(veto, sizeof(veto), "the kernel refused the object with its fentry "
			 "programs: %s", strerror(e));
		log_warnx("syscall hooks: %s; loading it again with the tracepoints", veto);
		jibril_bpf__destroy(skel);
		if (!(skel = load_again(b, cfg, veto, conf_path, &resume, &e, err, errlen)))
			return -1;
	}
	if (e) {
		snprintf(err, errlen, "the kernel refused the BPF programs (%s); run with "
			 "log_level = debug for the verifier's reasons", strerror(e));
		goto fail;
	}
	b->resumed = resume;
	b->fd_tasks = bpf_map__fd(skel->maps.jb_tasks);
	b->fd_files = bpf_map__fd(skel->maps.jb_files);
	b->fd_links = bpf_map__fd(skel->maps.jb_links);
	b->fd_flows = bpf_map__fd(skel->maps.jb_flows);
	b->fd_stats = bpf_map__fd(skel->maps.jb_stats);
	b->fd_meta = bpf_map__fd(skel->maps.jb_meta);
	b->fd_watch = bpf_map__fd(skel->maps.jb_watch);
	b->fd_tasks_hot = bpf_map__fd(skel->maps.jb_tasks_hot);
	b->fd_files_hot = bpf_map__fd(skel->maps.jb_files_hot);
	b->fd_links_hot = bpf_map__fd(skel->maps.jb_links_hot);
	b->fd_tamper = bpf_map__fd(skel->maps.jb_tamper);
	b->fd_agent = bpf_map__fd(skel->maps.jb_agent);
	b->fd_agent_maps = bpf_map__fd(skel->maps.jb_agent_maps);
	b->fd_env_names = bpf_map__fd(skel->maps.jb_env_names);
	b->env_pre = (volatile uint64_t *)skel->bss->jb_env_pre;
	/* the programs of this load know us (a resumed .bss kept the old pid) */
	__atomic_store_n(&skel->bss->jb_agent_tgid, (__u32)getpid(), __ATOMIC_SEQ_CST);
	if (!resume)
		b->meta = (struct jb_meta){.seed = b->seed, .layout_version = JB_LAYOUT_VERSION};
	if (bpf_map_update_elem(b->fd_meta, &zero, &b->meta, BPF_ANY) < 0) {
		snprintf(err, errlen, "cannot write jb_meta: %s", strerror(errno));
		goto fail;
	}
	/* before attach, so no event on a watched file is ever missed, and
	 * no act on the agent either */
	b->nwatch = 0;
	sup_watch_paths(watch, watch_add, b);
	/* before attach too: an exec the kernel sees without the names
	 * records no variable, and the recipes would be blind to it */
	if (jb_bpf_env_names(b, watch) < 0) {
		snprintf(err, errlen, "cannot hand the environment variables the recipes name to "
			 "the kernel (jb_env_names)");
		goto fail;
	}
	jb_self_files(b, conf_path, cfg->recipes_dir);
	if (jb_self_maps(b, skel->obj, err, errlen) < 0 || jb_self_supervisor(b, err, errlen) < 0)
		goto fail;
	if (resume)
		agent_prune(b);
	if (jibril_bpf__attach(skel)) {
		e = errno;
		snprintf(err, errlen, "cannot attach the BPF programs: %s", strerror(e));
		goto fail;
	}
	dns_attach(b, skel);
	b->skel = skel;
	jb_pins_links(&b->pins, skel->skeleton);
	if (b->pins.dir_fd < 0)
		log_info("[bpf] pin_dir is empty: the programs end with this supervisor");
	else if (resume)
		log_info("resumed the maps pinned under %s: the programs kept recording while no "
			 "supervisor ran; queries start after what the previous one finished",
			 b->pins.dir);
	else
		log_info("maps and links pinned under %s: the programs outlive a crash of the "
			 "supervisor (jibril --unload removes them)", b->pins.dir);
	{
		/* probe batch lookups once: they need kernel >= 5.6 for hash maps */
		__u64 keys[1], out;
		struct jb_task vals[1];
		__u32 count = 1;
		DECLARE_LIBBPF_OPTS(bpf_map_batch_opts, o);
		int r = bpf_map_lookup_batch(b->fd_tasks, NULL, &out, keys, vals, &count, &o);
		b->batch_ok = (r == 0 || errno == ENOENT);
	}
	log_info("BPF object loaded and attached (%s lookups, %d protected paths)",
		 b->batch_ok ? "batch" : "per-key", b->nwatch);
	return 0;
fail:
	jibril_bpf__destroy(skel);
	sup_envnames_free(&b->env);
	/* our new links never got pinned; the old ones (resumed) still run.
	 * Not resumed: the maps the load pinned are this start's alone, and
	 * no program uses them */
	jb_pins_close(&b->pins, !resume);
	return -1;
}

/*
 * Detaching a tracepoint program waits for an RCU grace period (~80 ms
 * here): one after another, the object's links took 4-5 s to let go, which
 * every stop (and every restart by systemd) paid. Links are independent,
 * so they are destroyed by a few short-lived threads at once, whose waits
 * share grace periods; the skeleton then frees the rest. The supervisor
 * stays single-threaded in everything else: these threads live only here,
 * touch nothing but their own links, and are joined before it goes on. A
 * thread that cannot be started leaves its links to the skeleton (the old,
 * slower way).
 */
#define DETACH_THREADS 8
struct detach_job {
	struct bpf_link **links;
	size_t n, first;
};

static void *detach_some(void *arg)
{
	struct detach_job *j = arg;

	for (size_t i = j->first; i < j->n; i += DETACH_THREADS) {
		bpf_link__destroy(j->links[i]);
		j->links[i] = NULL;
	}
	return NULL;
}

static void detach_all(struct jibril_bpf *skel)
{
	struct detach_job jobs[DETACH_THREADS];
	pthread_t th[DETACH_THREADS];
	int started[DETACH_THREADS] = {0};
	struct bpf_link **links = (struct bpf_link **)&skel->links;
	size_t n = sizeof(skel->links) / sizeof(*links);

	for (int t = 0; t < DETACH_THREADS; t++) {
		jobs[t] = (struct detach_job){links, n, (size_t)t};
		started[t] = pthread_create(&th[t], NULL, detach_some, &jobs[t]) == 0;
	}
	for (int t = 0; t < DETACH_THREADS; t++)
		if (started[t])
			pthread_join(th[t], NULL);
}

void jb_bpf_unload(struct jb_bpf *b, int keep_pins)
{
	if (b->pins.dir_fd >= 0 && !keep_pins)
		jb_pins_remove(&b->pins); /* our fds hold them until below */
	if (b->skel) {
		detach_all(b->skel);
		jibril_bpf__destroy(b->skel);
	}
	b->skel = NULL;
	b->env_pre = NULL;
	sup_envnames_free(&b->env);
	if (b->pins.dir_fd >= 0 && keep_pins)
		log_info("the programs stay attached, pinned under %s (jibril --unload removes them)",
			 b->pins.dir);
	jb_pins_close(&b->pins, !keep_pins);
}

uint32_t jb_bpf_agent_check(struct jb_bpf *b)
{
	uint32_t found, ours = (uint32_t)getpid();

	if (!b->skel || !b->skel->bss)
		return 0;
	found = __atomic_load_n(&b->skel->bss->jb_agent_tgid, __ATOMIC_SEQ_CST);
	if (found == ours)
		return 0;
	__atomic_store_n(&b->skel->bss->jb_agent_tgid, ours, __ATOMIC_SEQ_CST);
	return found ? found : UINT32_MAX;
}

void jb_bpf_meta_store(struct jb_bpf *b)
{
	__u32 zero = 0;

	if (b->skel && bpf_map_update_elem(b->fd_meta, &zero, &b->meta, BPF_ANY) < 0)
		log_warn("cannot record the resume point in jb_meta");
}

int jb_bpf_unpin(const struct jb_config *cfg, const char *conf_path, char *err, size_t errlen)
{
	struct jb_pins p;
	int n;

	if (!cfg->bpf_pin_dir[0]) {
		snprintf(err, errlen, "%s: [bpf] pin_dir is empty: nothing is pinned", conf_path);
		return -1;
	}
	if (access(cfg->bpf_pin_dir, F_OK) < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", cfg->bpf_pin_dir, strerror(errno));
		return -1;
	}
	if (jb_pins_open(&p, cfg->bpf_pin_dir, conf_path, err, errlen) < 0)
		return -1;
	n = jb_pins_remove(&p);
	jb_pins_close(&p, 1);
	if (n < 0) {
		snprintf(err, errlen, "cannot remove every pin under %s", cfg->bpf_pin_dir);
		return -1;
	}
	return n;
}

void jb_bpf_new_epoch(struct jb_bpf *b)
{
	/* the skeleton's mmapped .bss: the programs see the store at once */
	if (b->skel && b->skel->bss)
		__atomic_fetch_add(&b->skel->bss->jb_epoch, 1, __ATOMIC_SEQ_CST);
}

void jb_bpf_count_bound(struct jb_bpf *b, uint64_t ns)
{
	if (b->skel && b->skel->bss)
		__atomic_store_n(&b->skel->bss->jb_query_ns, ns, __ATOMIC_SEQ_CST);
}

int jb_bpf_stats(struct jb_bpf *b, uint64_t *out)
{
	uint64_t vals[b->ncpus];

	for (__u32 i = 0; i < JB_STAT_MAX; i++) {
		out[i] = 0;
		if (bpf_map_lookup_elem(b->fd_stats, &i, vals) < 0)
			return -1;
		for (int c = 0; c < b->ncpus; c++)
			out[i] += vals[c];
	}
	return 0;
}
