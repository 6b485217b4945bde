/*
 * floor.c - the floor of jibril's hooks, for `make bench` (section 6,
 * bench/harness/real.c): loads the floor object (bench/floor-gen.sh:
 * jibril's programs, same names and hooks, empty bodies) and attaches the
 * programs jibril attaches with its default configuration. What a workload
 * pays with the floor attached is what the hooks alone cost (for syscall
 * tracepoints: every syscall of every task taking the kernel's slow path);
 * jibril's figure minus the floor's is its own programs and user space.
 *
 *   floor OBJ [--nosys | --sock-addr]
 *     --nosys      leave out every syscall hook (tracepoint/syscalls/..., the
 *                  raw syscall entry): the floor of a backend that would
 *                  carry the same data without taxing every syscall
 *     --sock-addr  connect on the cgroup sock_addr hooks (connect4/6,
 *                  sendmsg4/6 on the cgroup2 root) instead of
 *                  sys_enter_connect, everything else as is
 *   READY once everything is attached; on SIGINT or SIGTERM it detaches,
 *   prints {"programs":N,"variant":"..."} and exits 0.
 *
 * Invariants:
 *  - the same choice as supervisor/loader.c: a tracepoint the kernel lacks
 *    is left out, the opt-in raw syscall hook (jb_raw_enter) is never
 *    attached, cgroup programs go on the cgroup2 root (common/cgroup2.h).
 *  - any other load or attach failure is fatal (exit 1, the reason on
 *    stderr): a floor with a hook missing would flatter jibril.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "common/cgroup2.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int syscall_hook(const char *sec)
{
	return !strncmp(sec, "tracepoint/syscalls/", 20) || !strncmp(sec, "tracepoint/raw_syscalls/", 24) ||
	       !strncmp(sec, "tp_btf/sys_", 11) || !strncmp(sec, "raw_tp/sys_", 11);
}

/* the hook exists on this kernel (supervisor/loader.c disable_missing()) */
static int hook_exists(const char *sec, const struct btf *vmlinux)
{
	char path[256];
	struct stat st;

	if (!strncmp(sec, "tp_btf/", 7)) {
		snprintf(path, sizeof(path), "btf_trace_%s", sec + 7);
		return vmlinux && btf__find_by_name_kind(vmlinux, path, BTF_KIND_TYPEDEF) >= 0;
	}
	if (!strncmp(sec, "tracepoint/", 11)) {
		snprintf(path, sizeof(path), "/sys/kernel/tracing/events/%s", sec + 11);
		return stat(path, &st) == 0;
	}
	return 1;
}

int main(int argc, char **argv)
{
	struct bpf_object *obj;
	struct bpf_program *prog;
	struct bpf_link *links[256];
	struct btf *vmlinux;
	struct sigaction sa = {.sa_handler = on_signal};
	const char *root;
	const char *variant = argc > 2 ? argv[2] : "";
	int nosys = !strcmp(variant, "--nosys"), sockaddr = !strcmp(variant, "--sock-addr"), n = 0, cg;

	if (argc < 2 || argc > 3 || (argc == 3 && !nosys && !sockaddr)) {
		fprintf(stderr, "usage: floor OBJ [--nosys | --sock-addr]\n");
		return 2;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj) {
		fprintf(stderr, "floor: cannot open %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	vmlinux = btf__load_vmlinux_btf();
	bpf_object__for_each_program(prog, obj)
	{
		const char *sec = bpf_program__section_name(prog), *name = bpf_program__name(prog);

		if (!strcmp(name, "jb_raw_enter") || !hook_exists(sec, vmlinux) ||
		    (nosys && syscall_hook(sec)) || (sockaddr && !strcmp(name, "jb_connect_e")))
			bpf_program__set_autoload(prog, false);
		if (sockaddr && !strncmp(name, "floor_", 6))
			bpf_program__set_autoload(prog, true);
	}
	btf__free(vmlinux);
	if (bpf_object__load(obj)) {
		fprintf(stderr, "floor: the kernel refused %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	cg = jb_cgroup2_root(&root);
	bpf_object__for_each_program(prog, obj)
	{
		const char *sec = bpf_program__section_name(prog);

		if (!bpf_program__autoload(prog))
			continue;
		if (n == (int)(sizeof(links) / sizeof(links[0]))) {
			fprintf(stderr, "floor: more than %d programs\n", n);
			return 1;
		}
		if (!strncmp(sec, "cgroup", 6))
			links[n] = cg >= 0 ? bpf_program__attach_cgroup(prog, cg) : NULL;
		else
			links[n] = bpf_program__attach(prog);
		if (!links[n]) {
			fprintf(stderr, "floor: cannot attach %s (%s): %s\n", bpf_program__name(prog), sec,
				strerror(errno));
			return 1;
		}
		n++;
	}
	printf("READY\n");
	fflush(stdout);
	while (!stop)
		pause();
	for (int i = 0; i < n; i++)
		bpf_link__destroy(links[i]);
	bpf_object__close(obj);
	printf("{\"programs\":%d,\"variant\":\"%s\"}\n", n, variant[0] ? variant + 2 : "all");
	return 0;
}
