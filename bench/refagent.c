/*
 * refagent.c - the benchmark's reference event-streaming agent (user side).
 *
 * Loads bench/refagent.bpf.c on the same hooks jibril uses, then does what
 * such a tool minimally does with the stream: consume every ring-buffer
 * record (ring_buffer__poll, 100 ms timeout, no sleeping in between),
 * decode it and keep a hash set of the distinct (tgid, path) pairs.
 *
 *   refagent [--ring-kb N] [--wake-kb N] [--empty] [--watch PATH]...
 *            [--pairs-out FILE --pairs-prefix DIR]
 *
 * Wake-ups: by default the kernel wakes the consumer only once a quarter of
 * the ring waits (--wake-kb, perf's wakeup watermark / Falco's no-wakeup
 * polling), and every 100 ms poll timeout drains the rest, so a record is
 * seen within ~100 ms. --wake-kb 0 is libbpf's plain default: a wake-up for
 * nearly every record while the consumer keeps up. Measured here (open+read
 * +close loop): the per-record wake-ups triple the cost of an open and
 * still drop records, the watermark costs about a sixth of that and drops
 * none, so the watermark is what a reasonable streaming tool does.
 *
 * stdout protocol (line-buffered by hand, every line flushed):
 *   READY                   once everything is attached
 *   HIT <tgid> <path>       a record whose path equals a --watch PATH
 *   {"events":N,"dropped":M,"pairs":K,"ring_kb":R,"empty":bool}
 *                           on SIGINT/SIGTERM, then exit 0
 * Errors go to stderr, exit 1. --empty attaches empty programs on exactly
 * the same hooks instead: the cost of merely hooking.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf/jibril.h"
#include "common/cgroup2.h"
#include "bench/refagent.h"
#include "refagent.skel.h"

_Static_assert(sizeof(struct ref_event) == 352, "ref_event layout");

#define TRACEFS "/sys/kernel/tracing"
#define TRACEFS_MAGIC 0x74726163
#define MAX_WATCH 64
#define WAKE_KB_DEFAULT (-1ul) /* a quarter of the ring */

static volatile sig_atomic_t stop;
static const char *watch[MAX_WATCH];
static size_t nwatch;
static uint64_t events;

/* --- the (tgid, path) set: open addressing, linear probing ------------- */

struct pair {
	uint64_t hash; /* 0: empty slot */
	uint32_t tgid;
	char *path;
};

static struct pair *set;
static size_t set_cap = 1u << 16, set_n;

static uint64_t pair_hash(uint32_t tgid, const char *p, size_t len)
{
	uint64_t h = 1469598103934665603ULL ^ tgid; /* FNV-1a */

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)p[i];
		h *= 1099511628211ULL;
	}
	return h ? h : 1;
}

static void set_put(struct pair *tab, size_t cap, uint64_t h, uint32_t tgid, char *path)
{
	size_t i = h & (cap - 1);

	while (tab[i].hash)
		i = (i + 1) & (cap - 1);
	tab[i].hash = h;
	tab[i].tgid = tgid;
	tab[i].path = path;
}

static void set_add(uint32_t tgid, const char *path, size_t len)
{
	uint64_t h = pair_hash(tgid, path, len);
	size_t i = h & (set_cap - 1);
	char *copy;

	for (; set[i].hash; i = (i + 1) & (set_cap - 1))
		if (set[i].hash == h && set[i].tgid == tgid && strncmp(set[i].path, path, len) == 0 &&
		    set[i].path[len] == 0)
			return;
	if ((set_n + 1) * 2 > set_cap) {
		size_t ncap = set_cap * 2;
		struct pair *n = calloc(ncap, sizeof(*n));

		if (!n) {
			fprintf(stderr, "refagent: out of memory\n");
			exit(1);
		}
		for (size_t j = 0; j < set_cap; j++)
			if (set[j].hash)
				set_put(n, ncap, set[j].hash, set[j].tgid, set[j].path);
		free(set);
		set = n;
		set_cap = ncap;
	}
	copy = strndup(path, len);
	if (!copy) {
		fprintf(stderr, "refagent: out of memory\n");
		exit(1);
	}
	set_put(set, set_cap, h, tgid, copy);
	set_n++;
}

/* --- the consumer ------------------------------------------------------ */

static int on_event(void *ctx, void *data, size_t size)
{
	const struct ref_event *e = data;
	size_t len;

	if (size < sizeof(*e))
		return 0;
	events++;
	if (e->type != REF_FILE && e->type != REF_EXEC)
		return 0;
	len = strnlen(e->path, sizeof(e->path));
	if (len == 0)
		return 0;
	set_add(e->tgid, e->path, len);
	for (size_t i = 0; i < nwatch; i++)
		if (strlen(watch[i]) == len && memcmp(watch[i], e->path, len) == 0) {
			printf("HIT %u %.*s\n", e->tgid, (int)len, e->path);
			fflush(stdout);
		}
	return 0;
}

static void on_signal(int sig)
{
	stop = 1;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static int tracefs_ready(void)
{
	struct statfs sfs;

	if (statfs(TRACEFS, &sfs) == 0 && sfs.f_type == TRACEFS_MAGIC)
		return 0;
	if (mount("tracefs", TRACEFS, "tracefs", 0, NULL) < 0) {
		fprintf(stderr, "refagent: mounting tracefs on %s: %s\n", TRACEFS, strerror(errno));
		return -1;
	}
	return 0;
}

/* Program set (ref_ or nop_), minus tracepoints this kernel lacks (the
 * same rule as jibril's loader). Returns how many programs will attach. */
static int choose_programs(struct bpf_object *obj, bool empty)
{
	const char *want = empty ? "nop_" : "ref_";
	struct bpf_program *prog;
	int n = 0;

	bpf_object__for_each_program(prog, obj)
	{
		const char *sec = bpf_program__section_name(prog);
		bool on = strncmp(bpf_program__name(prog), want, 4) == 0;
		char path[256];
		struct stat st;

		if (on && strncmp(sec, "tracepoint/", 11) == 0) {
			snprintf(path, sizeof(path), TRACEFS "/events/%s", sec + 11);
			if (stat(path, &st) < 0) {
				fprintf(stderr, "refagent: tracepoint %s is missing: %s disabled\n",
					sec + 11, bpf_program__name(prog));
				on = false;
			}
		}
		bpf_program__set_autoload(prog, on);
		n += on;
	}
	return n;
}

/* The DNS program (ref_dns or nop_dns) on the cgroup2 root, as jibril's
 * loader does (bpf_object__attach_skeleton skips cgroup programs). A host
 * without cgroup2 runs without it in both agents. */
static struct bpf_link *dns_attach(struct bpf_program *prog)
{
	struct bpf_link *link;
	const char *root;
	int fd = jb_cgroup2_root(&root);

	if (fd < 0) {
		fprintf(stderr, "refagent: no cgroup2 hierarchy: %s not attached\n",
			bpf_program__name(prog));
		return NULL;
	}
	link = bpf_program__attach_cgroup(prog, fd);
	close(fd);
	if (!link)
		fprintf(stderr, "refagent: cannot attach %s to %s: %s\n", bpf_program__name(prog),
			root, strerror(errno));
	return link;
}

static void usage(void)
{
	fprintf(stderr, "usage: refagent [--ring-kb N] [--wake-kb N] [--empty] [--watch PATH]... "
			"[--pairs-out FILE --pairs-prefix DIR]\n");
	exit(1);
}

static int write_pairs(const char *file, const char *prefix)
{
	size_t plen = strlen(prefix);
	FILE *f = fopen(file, "w");

	if (!f) {
		fprintf(stderr, "refagent: %s: %s\n", file, strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < set_cap; i++)
		if (set[i].hash && strncmp(set[i].path, prefix, plen) == 0)
			fprintf(f, "%u %s\n", set[i].tgid, set[i].path);
	if (fclose(f) != 0) {
		fprintf(stderr, "refagent: %s: %s\n", file, strerror(errno));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"ring-kb", required_argument, NULL, 'r'},
		{"empty", no_argument, NULL, 'e'},
		{"wake-kb", required_argument, NULL, 'k'},
		{"watch", required_argument, NULL, 'w'},
		{"pairs-out", required_argument, NULL, 'o'},
		{"pairs-prefix", required_argument, NULL, 'p'},
		{NULL, 0, NULL, 0},
	};
	const char *pairs_out = NULL, *pairs_prefix = NULL;
	struct ring_buffer *rb = NULL;
	struct bpf_link *dns_link = NULL;
	struct refagent_bpf *skel;
	struct sigaction sa;
	unsigned long ring_kb = 256, wake_kb = WAKE_KB_DEFAULT;
	uint64_t dropped = 0;
	bool empty = false;
	int c, nprogs, rc = 1;
	char *end;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			errno = 0;
			ring_kb = strtoul(optarg, &end, 10);
			/* a ring is a power-of-two number of pages */
			if (errno || *end || ring_kb < 4 || ring_kb > (1ul << 20) ||
			    (ring_kb & (ring_kb - 1))) {
				fprintf(stderr, "refagent: --ring-kb must be a power of two, 4..1048576\n");
				return 1;
			}
			break;
		case 'e':
			empty = true;
			break;
		case 'k':
			errno = 0;
			wake_kb = strtoul(optarg, &end, 10);
			if (errno || *end || wake_kb > (1ul << 20)) {
				fprintf(stderr, "refagent: --wake-kb must be 0..1048576\n");
				return 1;
			}
			break;
		case 'w':
			if (nwatch == MAX_WATCH) {
				fprintf(stderr, "refagent: at most %d --watch\n", MAX_WATCH);
				return 1;
			}
			watch[nwatch++] = optarg;
			break;
		case 'o':
			pairs_out = optarg;
			break;
		case 'p':
			pairs_prefix = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || (!pairs_out != !pairs_prefix))
		usage();
	if (wake_kb == WAKE_KB_DEFAULT)
		wake_kb = ring_kb / 4;
	else if (wake_kb >= ring_kb)
		wake_kb = ring_kb / 2;
	set = calloc(set_cap, sizeof(*set));
	if (!set) {
		fprintf(stderr, "refagent: out of memory\n");
		return 1;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: poll returns EINTR */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	libbpf_set_print(libbpf_print);
	if (tracefs_ready() < 0)
		return 1;
	skel = refagent_bpf__open();
	if (!skel) {
		fprintf(stderr, "refagent: cannot open the BPF object: %s\n", strerror(errno));
		return 1;
	}
	skel->rodata->ref_agent_tgid = (__u32)getpid();
	skel->rodata->ref_wake_bytes = wake_kb * 1024;
	bpf_map__set_max_entries(skel->maps.ref_ring, (__u32)(ring_kb * 1024));
	nprogs = choose_programs(skel->obj, empty);
	if (refagent_bpf__load(skel)) {
		fprintf(stderr, "refagent: the kernel refused the BPF programs: %s\n",
			strerror(errno));
		goto out;
	}
	if (!empty) {
		rb = ring_buffer__new(bpf_map__fd(skel->maps.ref_ring), on_event, NULL, NULL);
		if (!rb) {
			fprintf(stderr, "refagent: ring_buffer__new: %s\n", strerror(errno));
			goto out;
		}
	}
	if (refagent_bpf__attach(skel)) {
		fprintf(stderr, "refagent: cannot attach: %s\n", strerror(errno));
		goto out;
	}
	dns_link = dns_attach(empty ? skel->progs.nop_dns : skel->progs.ref_dns);
	fprintf(stderr, "refagent: %d %s programs attached, ring %lu KiB, wake-up %s%.0lu%s\n",
		nprogs, empty ? "empty" : "streaming", ring_kb, wake_kb ? "at " : "per record",
		wake_kb, wake_kb ? " KiB" : "");
	printf("READY\n");
	fflush(stdout);

	while (!stop) {
		if (!rb) {
			pause();
			continue;
		}
		int n = ring_buffer__poll(rb, 100);
		if (n < 0 && n != -EINTR) {
			fprintf(stderr, "refagent: ring_buffer__poll: %s\n", strerror(-n));
			goto out;
		}
		/* a timeout: the tail of a burst below the wake-up mark */
		if (n == 0)
			ring_buffer__consume(rb);
	}
	bpf_link__destroy(dns_link);
	dns_link = NULL;
	refagent_bpf__detach(skel);
	if (rb)
		ring_buffer__consume(rb); /* what was submitted before detach */
	{
		int ncpus = libbpf_num_possible_cpus();
		__u32 zero = 0;

		if (ncpus > 0) {
			uint64_t vals[ncpus];

			if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.ref_dropped), &zero, vals) == 0)
				for (int i = 0; i < ncpus; i++)
					dropped += vals[i];
		}
	}
	if (pairs_out && write_pairs(pairs_out, pairs_prefix) < 0)
		goto out;
	printf("{\"events\":%llu,\"dropped\":%llu,\"pairs\":%zu,\"ring_kb\":%lu,\"empty\":%s}\n",
	       (unsigned long long)events, (unsigned long long)dropped, set_n, ring_kb,
	       empty ? "true" : "false");
	fflush(stdout);
	rc = 0;
out:
	bpf_link__destroy(dns_link);
	ring_buffer__free(rb);
	refagent_bpf__destroy(skel);
	return rc;
}
