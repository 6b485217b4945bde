/*
 * workload.c - the host workloads that bench/harness/ times, one per run:
 *
 *   workload mkfiles --dir D --files N          create D/f000000.. (64 bytes each)
 *   workload open    --dir D --files N --iters I  openat+read+close, cycling over N files
 *   workload exec    --tiny PATH --iters I        fork + execve(tiny) + waitpid
 *   workload connect --iters I                    TCP connect+close to our own 127.0.0.1 listener
 *   workload mixed   --dir D --files N --tiny PATH --iters I
 *                                                 one op = 32 opens, 4 connects, 1 exec
 *   workload storm   --dir D --files N [--first K] [--needle PATH] [--reader EXE]
 *                                                 one pass over N distinct files; with --needle,
 *                                                 "cat PATH" is started halfway through (EXE,
 *                                                 default /bin/cat, is the cat it runs)
 *
 * Each prints one line of key=value pairs on stdout: op, iters, ns (timed
 * wall time, CLOCK_MONOTONIC), ns_per_op, pid, and for storm needle_pid and
 * needle_mono_ns (taken just before the fork).
 *
 * Invariants:
 *  - every loop is bounded by its count, and the whole run by --max-ms
 *    (alarm: the default SIGALRM action ends us), 120 s by default.
 *  - network traffic goes to 127.0.0.1 only, to a listener we own.
 *  - the timed loop does no allocation and no formatting: names are made
 *    before the clock starts; a short untimed warm-up runs first.
 *  - connects close with SO_LINGER 0 (RST): no TIME_WAIT, so long runs do
 *    not exhaust the ephemeral ports.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#define MAX_FILES 4000000u
#define MAX_ITERS 100000000ull
#define NAME_LEN 8 /* "f000000" + NUL */

static const char *o_dir, *o_tiny, *o_needle, *o_reader = "/bin/cat";
static unsigned o_files, o_first;
static unsigned long long o_iters;
static unsigned o_max_ms = 120000;

static int dirfd_ = -1;
static char *names; /* o_files names of NAME_LEN bytes */
static char rbuf[256];

static int lfd = -1;
static struct sockaddr_in laddr;
static volatile int lstop;
static pthread_t lthread;

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "workload: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void usage(void)
{
	fprintf(stderr, "usage: workload mkfiles|open|exec|connect|mixed|storm [--dir D] [--files N] "
			"[--first K] [--iters I] [--tiny PATH] [--needle PATH] [--max-ms M]\n");
	exit(2);
}

static void make_names(void)
{
	if (!o_dir || !o_files || o_files > MAX_FILES || o_first > MAX_FILES)
		usage();
	names = malloc((size_t)o_files * NAME_LEN);
	if (!names)
		die("malloc");
	for (unsigned i = 0; i < o_files; i++)
		snprintf(names + (size_t)i * NAME_LEN, NAME_LEN, "f%06u", o_first + i);
}

static void open_dir(void)
{
	dirfd_ = open(o_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd_ < 0)
		die(o_dir);
}

/* one openat+read+close; a missing file is a setup error */
static inline void one_open(unsigned i)
{
	int fd = openat(dirfd_, names + (size_t)i * NAME_LEN, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die("openat");
	if (read(fd, rbuf, sizeof(rbuf)) < 0)
		die("read");
	close(fd);
}

static inline void one_exec(void)
{
	static char *const argv[] = {"tiny", NULL};
	static char *const envp[] = {NULL};
	int st;
	pid_t p = fork();

	if (p < 0)
		die("fork");
	if (p == 0) {
		execve(o_tiny, argv, envp);
		_exit(127);
	}
	while (waitpid(p, &st, 0) < 0)
		if (errno != EINTR)
			die("waitpid");
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "workload: %s exited with status 0x%x\n", o_tiny, st);
		exit(1);
	}
}

static void *acceptor(void *arg)
{
	(void)arg;
	while (!lstop) {
		int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (c >= 0)
			close(c);
		else if (errno != EINTR && errno != ECONNABORTED)
			break; /* shutdown() of the listener ends us */
	}
	return NULL;
}

static void listener_start(void)
{
	socklen_t l = sizeof(laddr);
	int one = 1;

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		die("socket");
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&laddr, 0, sizeof(laddr));
	laddr.sin_family = AF_INET;
	laddr.sin_addr.s_addr = htonl(INADDR_LOOPBACK); /* 127.0.0.1 only */
	if (bind(lfd, (struct sockaddr *)&laddr, sizeof(laddr)) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&laddr, &l) < 0 || listen(lfd, 4096) < 0)
		die("listen on 127.0.0.1");
	if (pthread_create(&lthread, NULL, acceptor, NULL) != 0)
		die("pthread_create");
}

static void listener_stop(void)
{
	lstop = 1;
	shutdown(lfd, SHUT_RDWR);
	pthread_join(lthread, NULL);
	close(lfd);
}

static inline void one_connect(void)
{
	struct linger lg = {1, 0};
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		die("socket");
	while (connect(s, (struct sockaddr *)&laddr, sizeof(laddr)) < 0) {
		if (errno != EINTR)
			die("connect 127.0.0.1");
	}
	setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(s);
}

static void report(const char *op, unsigned long long iters, uint64_t ns)
{
	printf("op=%s iters=%llu ns=%llu ns_per_op=%.1f pid=%d", op, iters, (unsigned long long)ns,
	       iters ? (double)ns / (double)iters : 0.0, (int)getpid());
}

static int cmd_mkfiles(void)
{
	char buf[64];
	uint64_t t0 = mono_ns();

	memset(buf, 'j', sizeof(buf));
	buf[sizeof(buf) - 1] = '\n';
	if (mkdir(o_dir, 0755) < 0 && errno != EEXIST)
		die(o_dir);
	make_names();
	open_dir();
	for (unsigned i = 0; i < o_files; i++) {
		int fd = openat(dirfd_, names + (size_t)i * NAME_LEN,
				O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0 || write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
			die("create");
		close(fd);
	}
	report("mkfiles", o_files, mono_ns() - t0);
	printf("\n");
	return 0;
}

static int cmd_open(void)
{
	uint64_t t0, ns;
	unsigned j = 0;

	make_names();
	open_dir();
	for (unsigned i = 0; i < o_files && i < 10000; i++) /* warm-up */
		one_open(i);
	t0 = mono_ns();
	for (unsigned long long i = 0; i < o_iters; i++) {
		one_open(j);
		if (++j == o_files)
			j = 0;
	}
	ns = mono_ns() - t0;
	report("open", o_iters, ns);
	printf("\n");
	return 0;
}

static int cmd_exec(void)
{
	uint64_t t0, ns;

	if (!o_tiny)
		usage();
	for (int i = 0; i < 5; i++)
		one_exec();
	t0 = mono_ns();
	for (unsigned long long i = 0; i < o_iters; i++)
		one_exec();
	ns = mono_ns() - t0;
	report("exec", o_iters, ns);
	printf("\n");
	return 0;
}

static int cmd_connect(void)
{
	uint64_t t0, ns;

	listener_start();
	for (int i = 0; i < 50; i++)
		one_connect();
	t0 = mono_ns();
	for (unsigned long long i = 0; i < o_iters; i++)
		one_connect();
	ns = mono_ns() - t0;
	listener_stop();
	report("connect", o_iters, ns);
	printf("\n");
	return 0;
}

static void mixed_block(unsigned *j)
{
	for (int k = 0; k < 32; k++) {
		one_open(*j);
		if (++*j == o_files)
			*j = 0;
	}
	for (int k = 0; k < 4; k++)
		one_connect();
	one_exec();
}

static int cmd_mixed(void)
{
	uint64_t t0, ns;
	unsigned j = 0;

	if (!o_tiny)
		usage();
	make_names();
	open_dir();
	listener_start();
	for (int i = 0; i < 3; i++)
		mixed_block(&j);
	t0 = mono_ns();
	for (unsigned long long i = 0; i < o_iters; i++)
		mixed_block(&j);
	ns = mono_ns() - t0;
	listener_stop();
	report("mixed", o_iters, ns);
	printf("\n");
	return 0;
}

static int cmd_storm(void)
{
	uint64_t t0, ns, needle_ns = 0;
	unsigned mid;
	pid_t needle = -1;

	make_names();
	open_dir();
	mid = o_files / 2;
	t0 = mono_ns();
	for (unsigned i = 0; i < o_files; i++) {
		if (o_needle && i == mid) {
			needle_ns = mono_ns();
			needle = fork();
			if (needle < 0)
				die("fork");
			if (needle == 0) {
				int nul = open("/dev/null", O_WRONLY);
				if (nul < 0 || dup2(nul, 1) < 0)
					_exit(126);
				execl(o_reader, "cat", o_needle, (char *)NULL);
				_exit(127);
			}
		}
		one_open(i);
	}
	ns = mono_ns() - t0;
	if (needle > 0) {
		int st;
		while (waitpid(needle, &st, 0) < 0)
			if (errno != EINTR)
				die("waitpid");
	}
	report("storm", o_files, ns);
	if (o_needle)
		printf(" needle_pid=%d needle_mono_ns=%llu", (int)needle, (unsigned long long)needle_ns);
	printf("\n");
	return 0;
}

static unsigned long long num(const char *s)
{
	char *e;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &e, 10);
	if (errno || e == s || *e)
		usage();
	return v;
}

int main(int argc, char **argv)
{
	const char *cmd;

	if (argc < 2)
		usage();
	cmd = argv[1];
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v)
			usage();
		if (!strcmp(a, "--dir")) o_dir = v;
		else if (!strcmp(a, "--files")) o_files = (unsigned)num(v);
		else if (!strcmp(a, "--first")) o_first = (unsigned)num(v);
		else if (!strcmp(a, "--iters")) o_iters = num(v);
		else if (!strcmp(a, "--tiny")) o_tiny = v;
		else if (!strcmp(a, "--needle")) o_needle = v;
		else if (!strcmp(a, "--reader")) o_reader = v;
		else if (!strcmp(a, "--max-ms")) o_max_ms = (unsigned)num(v);
		else usage();
		i++;
	}
	if (o_iters > MAX_ITERS || o_max_ms == 0)
		usage();
	alarm((o_max_ms + 999) / 1000);
	setvbuf(stdout, NULL, _IOLBF, 0);

	if (!strcmp(cmd, "mkfiles")) return cmd_mkfiles();
	if (!strcmp(cmd, "open")) return cmd_open();
	if (!strcmp(cmd, "exec")) return cmd_exec();
	if (!strcmp(cmd, "connect")) return cmd_connect();
	if (!strcmp(cmd, "mixed")) return cmd_mixed();
	if (!strcmp(cmd, "storm")) return cmd_storm();
	usage();
	return 2;
}
