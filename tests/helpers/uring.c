/*
 * uring.c - test helper: file and connect work done through io_uring only,
 * with the raw syscalls (io_uring_setup, mmap, io_uring_enter, and
 * io_uring_register for a fixed-file slot): no liburing. Each request is
 * submitted alone and its completion awaited before the next.
 *
 *   uring [-s] [-d DIR] CMD ARGS...
 *     -s                       SQPOLL ring: a kernel-side thread of this
 *                              process submits (root only)
 *     -d DIR                   path arguments are relative to DIR (opened
 *                              with O_PATH, passed as each request's dirfd)
 *   open-write PATH TEXT       OPENAT(O_WRONLY|O_CREAT|O_APPEND, 0600),
 *                              WRITE TEXT, CLOSE
 *   open-fixed-write PATH TEXT the same with the file in fixed slot 0
 *   open-read PATH             OPENAT(O_RDONLY), READ, CLOSE
 *   rename OLD NEW             RENAMEAT
 *   unlink PATH                UNLINKAT
 *   link OLD NEW               LINKAT
 *   symlink TARGET NEW         SYMLINKAT
 *   connect tcp|udp ADDR PORT  socket(2), then CONNECT through the ring
 *                              (a refused TCP connect is still exit 0: the
 *                              attempt is the behaviour)
 * Exit 0 when every request completed without error, 1 when one failed
 * (the request and its error on stderr), 2 on bad usage, 3 when io_uring
 * cannot be set up here (disabled by sysctl, seccomp, old kernel).
 * Invariants: every wait for a completion is bounded (at most 1000
 * io_uring_enter rounds); the ring is torn down by exit.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

struct ring {
	int fd;
	unsigned *sq_head, *sq_tail, *sq_mask, *sq_array, *sq_flags;
	unsigned *cq_head, *cq_tail, *cq_mask;
	struct io_uring_sqe *sqes;
	struct io_uring_cqe *cqes;
	int sqpoll;
};

static struct ring R;
static int dirfd_ = AT_FDCWD;

static int ring_setup(int sqpoll)
{
	struct io_uring_params p;
	size_t sq_sz, cq_sz;
	char *sq, *cq;

	memset(&p, 0, sizeof(p));
	if (sqpoll) {
		p.flags = IORING_SETUP_SQPOLL;
		p.sq_thread_idle = 2000;
	}
	R.fd = (int)syscall(__NR_io_uring_setup, 8, &p);
	if (R.fd < 0) {
		fprintf(stderr, "io_uring_setup: %s\n", strerror(errno));
		return -1;
	}
	R.sqpoll = sqpoll;
	sq_sz = p.sq_off.array + p.sq_entries * sizeof(unsigned);
	cq_sz = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	if (p.features & IORING_FEAT_SINGLE_MMAP) {
		if (cq_sz > sq_sz)
			sq_sz = cq_sz;
		cq_sz = sq_sz;
	}
	sq = mmap(NULL, sq_sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, R.fd,
		  IORING_OFF_SQ_RING);
	if (sq == MAP_FAILED)
		return -1;
	cq = sq;
	if (!(p.features & IORING_FEAT_SINGLE_MMAP)) {
		cq = mmap(NULL, cq_sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, R.fd,
			  IORING_OFF_CQ_RING);
		if (cq == MAP_FAILED)
			return -1;
	}
	R.sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_POPULATE, R.fd, IORING_OFF_SQES);
	if (R.sqes == MAP_FAILED)
		return -1;
	R.sq_head = (unsigned *)(sq + p.sq_off.head);
	R.sq_tail = (unsigned *)(sq + p.sq_off.tail);
	R.sq_mask = (unsigned *)(sq + p.sq_off.ring_mask);
	R.sq_array = (unsigned *)(sq + p.sq_off.array);
	R.sq_flags = (unsigned *)(sq + p.sq_off.flags);
	R.cq_head = (unsigned *)(cq + p.cq_off.head);
	R.cq_tail = (unsigned *)(cq + p.cq_off.tail);
	R.cq_mask = (unsigned *)(cq + p.cq_off.ring_mask);
	R.cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
	return 0;
}

/* Submit one request and wait for its completion: its res. */
static int run(const struct io_uring_sqe *in, const char *what)
{
	unsigned tail = *R.sq_tail, idx = tail & *R.sq_mask, head;
	int res;

	R.sqes[idx] = *in;
	R.sq_array[idx] = idx;
	__atomic_store_n(R.sq_tail, tail + 1, __ATOMIC_RELEASE);
	for (int round = 0; round < 1000; round++) {
		unsigned flags = IORING_ENTER_GETEVENTS;

		head = __atomic_load_n(R.cq_head, __ATOMIC_ACQUIRE);
		if (head != __atomic_load_n(R.cq_tail, __ATOMIC_ACQUIRE)) {
			res = R.cqes[head & *R.cq_mask].res;
			__atomic_store_n(R.cq_head, head + 1, __ATOMIC_RELEASE);
			if (res < 0)
				fprintf(stderr, "%s: %s\n", what, strerror(-res));
			return res;
		}
		if (R.sqpoll &&
		    (__atomic_load_n(R.sq_flags, __ATOMIC_ACQUIRE) & IORING_SQ_NEED_WAKEUP))
			flags |= IORING_ENTER_SQ_WAKEUP;
		if (syscall(__NR_io_uring_enter, R.fd, R.sqpoll ? 0 : (round == 0), 1, flags, NULL,
			    0) < 0 &&
		    errno != EINTR) {
			fprintf(stderr, "io_uring_enter: %s\n", strerror(errno));
			return -errno;
		}
	}
	fprintf(stderr, "%s: no completion\n", what);
	return -ETIMEDOUT;
}

static void sqe_init(struct io_uring_sqe *s, int op, int fd)
{
	memset(s, 0, sizeof(*s));
	s->opcode = (__u8)op;
	s->fd = fd;
}

/* OPENAT of path; slot >= 0: into fixed slot (res 0), else an fd */
static int u_open(const char *path, int flags, int slot)
{
	struct io_uring_sqe s;

	sqe_init(&s, IORING_OP_OPENAT, dirfd_);
	s.addr = (unsigned long)path;
	s.open_flags = (__u32)flags;
	s.len = 0600;
	if (slot >= 0)
		s.file_index = (__u32)slot + 1;
	return run(&s, "openat");
}

static int u_rw(int op, int fd, int fixed, void *buf, unsigned len)
{
	struct io_uring_sqe s;

	sqe_init(&s, op, fd);
	if (fixed)
		s.flags = IOSQE_FIXED_FILE;
	s.addr = (unsigned long)buf;
	s.len = len;
	s.off = (__u64)-1; /* the file position (O_APPEND: the end) */
	return run(&s, op == IORING_OP_WRITE ? "write" : "read");
}

static int u_close(int fd, int fixed)
{
	struct io_uring_sqe s;

	sqe_init(&s, IORING_OP_CLOSE, fixed ? 0 : fd);
	if (fixed)
		s.file_index = (__u32)fd + 1;
	return run(&s, "close");
}

static int u_two(int op, const char *a, const char *b)
{
	struct io_uring_sqe s;

	sqe_init(&s, op, dirfd_);
	s.addr = (unsigned long)a;
	s.addr2 = (unsigned long)b;
	if (op != IORING_OP_SYMLINKAT)
		s.len = (__u32)dirfd_; /* the new name's dirfd */
	if (op == IORING_OP_SYMLINKAT)
		s.fd = dirfd_;
	return run(&s, op == IORING_OP_RENAMEAT ? "renameat"
		       : op == IORING_OP_LINKAT ? "linkat" : "symlinkat");
}

static int u_connect(const char *proto, const char *addr, const char *port)
{
	struct sockaddr_in sin;
	struct io_uring_sqe s;
	int udp = !strcmp(proto, "udp"), fd, res;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)atoi(port));
	if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1)
		return 2;
	fd = socket(AF_INET, udp ? SOCK_DGRAM : SOCK_STREAM, 0);
	if (fd < 0)
		return 1;
	sqe_init(&s, IORING_OP_CONNECT, fd);
	s.addr = (unsigned long)&sin;
	s.off = sizeof(sin); /* addr2: the address length */
	res = run(&s, "connect");
	close(fd);
	return res < 0 && res != -ECONNREFUSED ? 1 : 0;
}

int main(int argc, char **argv)
{
	char buf[256];
	int sqpoll = 0, opt, fd, r;

	while ((opt = getopt(argc, argv, "+sd:")) != -1) {
		if (opt == 's') {
			sqpoll = 1;
		} else if (opt == 'd') {
			dirfd_ = open(optarg, O_PATH | O_DIRECTORY | O_CLOEXEC);
			if (dirfd_ < 0)
				return 1;
		} else {
			return 2;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		return 2;
	if (ring_setup(sqpoll) < 0)
		return 3;

	if (argc == 3 && !strcmp(argv[0], "open-write")) {
		if ((fd = u_open(argv[1], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, -1)) < 0)
			return 1;
		if (u_rw(IORING_OP_WRITE, fd, 0, argv[2], (unsigned)strlen(argv[2])) < 0)
			return 1;
		return u_close(fd, 0) < 0;
	}
	if (argc == 3 && !strcmp(argv[0], "open-fixed-write")) {
		int sparse = -1;

		if (syscall(__NR_io_uring_register, R.fd, IORING_REGISTER_FILES, &sparse, 1) < 0) {
			fprintf(stderr, "register files: %s\n", strerror(errno));
			return 1;
		}
		if (u_open(argv[1], O_WRONLY | O_CREAT | O_APPEND, 0) < 0)
			return 1;
		if (u_rw(IORING_OP_WRITE, 0, 1, argv[2], (unsigned)strlen(argv[2])) < 0)
			return 1;
		return u_close(0, 1) < 0;
	}
	if (argc == 2 && !strcmp(argv[0], "open-read")) {
		if ((fd = u_open(argv[1], O_RDONLY | O_CLOEXEC, -1)) < 0)
			return 1;
		if (u_rw(IORING_OP_READ, fd, 0, buf, sizeof(buf)) < 0)
			return 1;
		return u_close(fd, 0) < 0;
	}
	if (argc == 3 && !strcmp(argv[0], "rename"))
		return u_two(IORING_OP_RENAMEAT, argv[1], argv[2]) < 0;
	if (argc == 3 && !strcmp(argv[0], "link"))
		return u_two(IORING_OP_LINKAT, argv[1], argv[2]) < 0;
	if (argc == 3 && !strcmp(argv[0], "symlink"))
		return u_two(IORING_OP_SYMLINKAT, argv[1], argv[2]) < 0;
	if (argc == 2 && !strcmp(argv[0], "unlink")) {
		struct io_uring_sqe s;

		sqe_init(&s, IORING_OP_UNLINKAT, dirfd_);
		s.addr = (unsigned long)argv[1];
		return run(&s, "unlinkat") < 0;
	}
	if (argc == 4 && !strcmp(argv[0], "connect")) {
		r = u_connect(argv[1], argv[2], argv[3]);
		return r;
	}
	return 2;
}
