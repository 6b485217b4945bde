/*
 * sandbox.c - the confinement every child goes through, and the seccomp
 * allow-lists, one reviewable table per role (OpenSSH
 * sandbox-seccomp-filter.c order: architecture check, a few harmless
 * probes refused with an errno, the allows, argument-limited entries,
 * default KILL_PROCESS).
 *
 * Invariants:
 *  - order: rlimits -> the kind's own uid/gid with every capability
 *    (bounding set included) and every supplementary group dropped ->
 *    PR_SET_NO_NEW_PRIVS -> seccomp. Each step is checked; a child that
 *    cannot confine itself must not run.
 *  - the filters are loaded after the child has opened everything it will
 *    ever use: no open, socket, exec, fork or ptrace is allowed after.
 *  - confinement by descriptor as well as by syscall: write and writev only
 *    to the fds the policy names (stderr, which the supervisor reads, and
 *    the role's output), send and receive only on the IPC socket, signals
 *    only to the child itself.
 *  - nothing may map memory executable after the filter is in place.
 *  - the kernel reads a descriptor from the low 32 bits of its register:
 *    0x100000001 is fd 1. An "own descriptor" (>= 5) is matched on those
 *    bits only (masked compares: libseccomp 2.5's SCMP_A0_32 just casts the
 *    datum, its compare stays 64-bit); a named fd (EQ) on all 64, which
 *    refuses the high-bit spellings outright.
 *  - which paths and ports the allowed calls may reach is Landlock's
 *    (landlock.c, just before seccomp): openat on the spool's dirfd passes
 *    here, an absolute path or ".." given with it is refused there.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cap-ng.h>
#include <seccomp.h>

#include "common/child.h"
#include "common/landlock.h"
#include "common/sandbox.h"

/* How a rule limits the syscall's arguments. */
enum sc_arg {
	SC_ANY = 0,
	SC_NOEXEC,	/* argument 2 (prot) without PROT_EXEC */
	SC_IPC,		/* argument 0 is the IPC socket */
	SC_OUT,		/* argument 0 is one of the policy's writable fds */
	SC_SELF,	/* arguments 0 and 1 are this process and its thread, 2 SIGABRT */
	SC_AUX,		/* argument 0 is the role's output file or directory (fd 4) */
	SC_OWN,		/* argument 0 is a descriptor the child opened itself (5..1023: its
			 * sockets and spool files; 0-4 are the ones it was handed, and
			 * AT_FDCWD or any other negative is none of them) */
	SC_INET,	/* socket(AF_INET or AF_INET6, SOCK_STREAM[|flags], 0 or TCP) */
	SC_THREAD,	/* clone with exactly glibc's pthread_create flags, never a process */
	SC_NOSYS,	/* refused with ENOSYS, so libc falls back to a call we can check */
	SC_EPERM,	/* refused with EPERM: a library's harmless attempt */
	SC_CWD_EACCES,	/* argument 0 is AT_FDCWD (low 32 bits): refused with EACCES, a
			 * library's look at a path (the child has none to look at) */
	SC_FIONREAD,	/* ioctl(own descriptor, FIONREAD): how much there is to read */
};

struct sc_rule {
	int nr;
	enum sc_arg arg;
	const char *why;
};

/* Refused with an errno instead of killing: probes libraries may make
 * lazily that must fail cleanly (OpenSSH refuses open the same way). */
static const struct {
	int nr, err;
	const char *why;
} deny_rules[] = {
	{SCMP_SYS(open), EACCES, "a lazy file read by a library fails, not the child"},
	{SCMP_SYS(openat), EACCES, "same, the modern spelling"},
};

/* What every child needs after confinement (alphabetical, then limited). */
static const struct sc_rule common_rules[] = {
	{SCMP_SYS(brk), SC_ANY, "malloc"},
	{SCMP_SYS(clock_gettime), SC_ANY, "timers (when the vDSO falls back)"},
	{SCMP_SYS(close), SC_ANY, "closing the IPC socket on exit"},
	{SCMP_SYS(epoll_ctl), SC_ANY, "libevent"},
	{SCMP_SYS(epoll_pwait), SC_ANY, "libevent"},
	{SCMP_SYS(epoll_wait), SC_ANY, "libevent"},
	{SCMP_SYS(exit), SC_ANY, "exit"},
	{SCMP_SYS(exit_group), SC_ANY, "exit"},
	{SCMP_SYS(futex), SC_ANY, "libc internal locks"},
	{SCMP_SYS(getpid), SC_ANY, "HELLO carries the pid; abort() asks for it"},
	{SCMP_SYS(gettid), SC_ANY, "abort() asks for its tid before tgkill"},
	{SCMP_SYS(gettimeofday), SC_ANY, "libevent, timestamps"},
	{SCMP_SYS(madvise), SC_ANY, "malloc trimming"},
	{SCMP_SYS(mremap), SC_ANY, "realloc of large blocks"},
	{SCMP_SYS(munmap), SC_ANY, "malloc"},
	{SCMP_SYS(poll), SC_ANY, "flushing the IPC queue before exit; a printer waits for room"},
	{SCMP_SYS(restart_syscall), SC_ANY, "a poll() with a timeout resumed after SIGSTOP/SIGCONT"},
	{SCMP_SYS(rt_sigprocmask), SC_ANY, "abort()"},
	{SCMP_SYS(rt_sigreturn), SC_ANY, "signal return"},
	{SCMP_SYS(mmap), SC_NOEXEC, "malloc; never executable"},
	{SCMP_SYS(mprotect), SC_NOEXEC, "malloc arenas; never executable"},
	{SCMP_SYS(recvfrom), SC_IPC, "IPC receive (recv), on the IPC socket only"},
	{SCMP_SYS(sendto), SC_IPC, "IPC send (send), on the IPC socket only"},
	{SCMP_SYS(tgkill), SC_SELF, "abort() raises SIGABRT on itself: no other signal, no other "
				    "process (a SIGKILL of its own would pass for a kill from outside)"},
	{SCMP_SYS(write), SC_OUT, "stderr (to the supervisor); a printer's output"},
	{SCMP_SYS(writev), SC_OUT, "libc's fatal messages go to stderr with writev"},
};

/* A worker builds events, each with a random uuid. */
static const struct sc_rule worker_rules[] = {
	{SCMP_SYS(getrandom), SC_ANY, "detection uuids"},
};

/* A file printer makes each line durable before it acknowledges it. */
static const struct sc_rule file_printer_rules[] = {
	{SCMP_SYS(fdatasync), SC_AUX, "a line is on disk before PRINTED"},
};

/* The HTTPS printer: TLS to one endpoint with libcurl and OpenSSL, and its
 * spool in the directory it was handed (fd 4). Its own descriptors (>= 5)
 * are the sockets curl opens and the spool's files; it reads none of fds
 * 0-4 but its IPC socket, and writes none of them but stderr. */
static const struct sc_rule https_printer_rules[] = {
	{SCMP_SYS(connect), SC_OWN, "curl connects its socket to the endpoint"},
	{SCMP_SYS(fcntl), SC_OWN, "curl makes its socket non-blocking"},
	{SCMP_SYS(fdatasync), SC_OWN, "a spooled line is on disk before PRINTED"},
	{SCMP_SYS(fsync), SC_AUX, "a new spool segment's name is on disk (the directory)"},
	{SCMP_SYS(getpeername), SC_OWN, "curl: the connected address, for its log"},
	{SCMP_SYS(getrandom), SC_ANY, "OpenSSL's random numbers (TLS keys, nonces)"},
	{SCMP_SYS(getsockname), SC_OWN, "curl: the local address of a connection"},
	{SCMP_SYS(getsockopt), SC_OWN, "curl: SO_ERROR, whether a non-blocking connect worked"},
	{SCMP_SYS(newfstatat), SC_OWN, "fstat of the dead-letter file (its size bound)"},
	{SCMP_SYS(openat), SC_AUX, "spool segments, cursor and dead-letter file, with fd 4 as "
				   "dirfd (another dirfd: EACCES, the deny list's rule); Landlock "
				   "refuses an absolute path or '..' that leaves the directory"},
	{SCMP_SYS(pread64), SC_OWN, "reading spooled lines back"},
	{SCMP_SYS(pwrite64), SC_OWN, "the spool's cursor slots"},
	{SCMP_SYS(recvfrom), SC_OWN, "TLS records from the endpoint (recv)"},
	{SCMP_SYS(sendto), SC_OWN, "TLS records to the endpoint (send, MSG_NOSIGNAL)"},
	{SCMP_SYS(setsockopt), SC_OWN, "curl: TCP_NODELAY, keep-alive on its socket"},
	{SCMP_SYS(socket), SC_INET, "one TCP socket to the endpoint: IPv4 or IPv6 TCP only"},
	{SCMP_SYS(unlinkat), SC_AUX, "removing delivered spool segments (Landlock: beneath fd 4)"},
	{SCMP_SYS(write), SC_OWN, "appending to spool segments and the dead-letter file"},
};

/* The NATS printer: libnats' threads and TCP (or TLS) connections, its
 * eventfd, and its spool below fd 4 (the same calls as the https printer's). */
static const struct sc_rule nats_printer_rules[] = {
	{SCMP_SYS(clone), SC_THREAD, "libnats' threads (timers, reader, flusher, reconnect), "
				     "started after confinement so they inherit it; never a process"},
	{SCMP_SYS(clone3), SC_NOSYS, "glibc's pthread_create tries it first; its flags are in "
				     "memory the filter cannot read, ENOSYS makes glibc use clone"},
	{SCMP_SYS(clock_nanosleep), SC_ANY, "libnats waits between reconnects"},
	{SCMP_SYS(connect), SC_OWN, "to the servers (addresses resolved before confinement)"},
	{SCMP_SYS(fcntl), SC_OWN, "libnats makes its sockets non-blocking"},
	{SCMP_SYS(fdatasync), SC_OWN, "a spooled line is on disk before PRINTED"},
	{SCMP_SYS(fsync), SC_AUX, "a new spool segment's name is on disk (the directory)"},
	{SCMP_SYS(getpeername), SC_OWN, "libnats and OpenSSL ask a socket whom it reaches"},
	{SCMP_SYS(getrandom), SC_ANY, "OpenSSL's TLS handshakes"},
	{SCMP_SYS(getsockname), SC_OWN, "libnats asks a socket its address"},
	{SCMP_SYS(getsockopt), SC_OWN, "SO_ERROR of a non-blocking connect"},
	{SCMP_SYS(nanosleep), SC_ANY, "libnats' short waits"},
	{SCMP_SYS(newfstatat), SC_OWN, "fstat of a spool segment"},
	{SCMP_SYS(newfstatat), SC_CWD_EACCES, "OpenSSL stats /etc/ssl/certs to look a server's "
					      "issuer up there (libnats sets the default verify "
					      "paths): refused, ca_file alone is trusted, and a "
					      "certificate from another CA is refused, not a SIGSYS"},
	{SCMP_SYS(openat), SC_AUX, "spool segments and cursor, with fd 4 as dirfd (another: "
				   "EACCES, the deny list's rule); Landlock keeps them beneath it"},
	{SCMP_SYS(pread64), SC_OWN, "reading spooled lines back"},
	{SCMP_SYS(pwrite64), SC_OWN, "the spool's cursor slots"},
	{SCMP_SYS(read), SC_OWN, "its eventfd (libnats' threads wake the loop); TLS records"},
	{SCMP_SYS(recvfrom), SC_OWN, "libnats reads from its sockets"},
	{SCMP_SYS(rseq), SC_ANY, "glibc registers each new thread"},
	{SCMP_SYS(rt_sigaction), SC_EPERM, "nats_Open ignores SIGPIPE, which setup already "
					   "did: refused, no handler changes after confinement"},
	{SCMP_SYS(sched_yield), SC_ANY, "libnats' spin locks"},
	{SCMP_SYS(sendto), SC_OWN, "libnats writes to its sockets"},
	{SCMP_SYS(set_robust_list), SC_ANY, "glibc registers each new thread"},
	{SCMP_SYS(setsockopt), SC_OWN, "TCP_NODELAY and keep-alive on libnats' sockets"},
	{SCMP_SYS(shutdown), SC_OWN, "libnats shuts its socket down before a reconnect and on a "
				     "write timeout (without it: SIGSYS when a server goes away)"},
	{SCMP_SYS(socket), SC_INET, "TCP to the servers: IPv4 or IPv6 TCP only (no SCTP, MPTCP)"},
	{SCMP_SYS(unlinkat), SC_AUX, "removing delivered spool segments (Landlock: beneath fd 4)"},
	{SCMP_SYS(write), SC_OWN, "spool segments, its eventfd, TLS records"},
};

/* The summary printer: one TLS request at a time with libcurl and OpenSSL
 * to the endpoint it resolved before confinement; no files at all (no fd
 * 4: Landlock gives it no path), its own descriptors (>= 5) are curl's
 * socket and wake-up pair. */
static const struct sc_rule summary_printer_rules[] = {
	{SCMP_SYS(connect), SC_OWN, "curl connects its socket to the endpoint"},
	{SCMP_SYS(fcntl), SC_OWN, "curl makes its socket non-blocking"},
	{SCMP_SYS(getpeername), SC_OWN, "curl: the connected address, for its log"},
	{SCMP_SYS(getrandom), SC_ANY, "OpenSSL's random numbers (TLS keys, nonces)"},
	{SCMP_SYS(getsockname), SC_OWN, "curl: the local address of a connection"},
	{SCMP_SYS(getsockopt), SC_OWN, "curl: SO_ERROR, whether a non-blocking connect worked"},
	{SCMP_SYS(recvfrom), SC_OWN, "TLS records from the endpoint (recv)"},
	{SCMP_SYS(sendto), SC_OWN, "TLS records to the endpoint (send, MSG_NOSIGNAL)"},
	{SCMP_SYS(setsockopt), SC_OWN, "curl: TCP_NODELAY, keep-alive on its socket"},
	{SCMP_SYS(socket), SC_INET, "one TCP socket to the endpoint: IPv4 or IPv6 TCP only"},
};

/* The exporter: HTTP with evhttp on the listening socket it was handed
 * (fd 4); its own descriptors (>= 5) are the connections it accepted. It
 * opens nothing: no socket, bind, connect or open. */
static const struct sc_rule exporter_rules[] = {
	{SCMP_SYS(accept4), SC_AUX, "a client's connection, on the socket it was handed only"},
	{SCMP_SYS(fcntl), SC_OWN, "libevent makes an accepted connection non-blocking"},
	{SCMP_SYS(ioctl), SC_FIONREAD, "libevent asks how much a connection has to read "
				       "(FIONREAD only)"},
	{SCMP_SYS(read), SC_OWN, "requests from the connections it accepted"},
	{SCMP_SYS(readv), SC_OWN, "the same, libevent's spelling"},
	{SCMP_SYS(recvfrom), SC_OWN, "the same (recv)"},
	{SCMP_SYS(sendto), SC_OWN, "answers to the connections it accepted (send)"},
	{SCMP_SYS(shutdown), SC_OWN, "evhttp shuts a connection's write side before closing it"},
	{SCMP_SYS(write), SC_OWN, "answers to the connections it accepted"},
	{SCMP_SYS(writev), SC_OWN, "the same, libevent's spelling"},
};

struct jb_policy {
	const char *name;
	const struct sc_rule *extra;
	size_t nextra;
	int write_fds[3];	/* -1 terminated */
	int open_aux;		/* fd 4 is the spool directory: openat allowed with it as
				 * dirfd (an extra rule; the deny list's EACCES applies to
				 * every other dirfd), Landlock's one path rule beneath it,
				 * and TCP connect to the ports the printer resolved;
				 * POLICY_TCP_ONLY: that TCP connect, and no directory */
};
#define POLICY_TCP_ONLY 2

#define N(a) (sizeof(a) / sizeof((a)[0]))

const struct jb_policy jb_policy_worker = {
	"worker", worker_rules, N(worker_rules), {STDERR_FILENO, -1}, 0,
};
const struct jb_policy jb_policy_printer_stdout = {
	"stdout printer", NULL, 0, {STDOUT_FILENO, STDERR_FILENO, -1}, 0,
};
const struct jb_policy jb_policy_printer_file = {
	"file printer", file_printer_rules, N(file_printer_rules),
	{JB_CHILD_AUX_FD, STDERR_FILENO, -1}, 0,
};
const struct jb_policy jb_policy_printer_https = {
	"https printer", https_printer_rules, N(https_printer_rules), {STDERR_FILENO, -1}, 1,
};
const struct jb_policy jb_policy_printer_nats = {
	"nats printer", nats_printer_rules, N(nats_printer_rules), {STDERR_FILENO, -1}, 1,
};

const struct jb_policy jb_policy_printer_summary = {
	"summary printer", summary_printer_rules, N(summary_printer_rules), {STDERR_FILENO, -1},
	POLICY_TCP_ONLY,
};

const struct jb_policy jb_policy_exporter = {
	"exporter", exporter_rules, N(exporter_rules), {STDERR_FILENO, -1}, 0,
};

int jb_policy_may_write(const struct jb_policy *p, int fd)
{
	for (size_t i = 0; i < N(p->write_fds) && p->write_fds[i] >= 0; i++)
		if (p->write_fds[i] == fd)
			return 1;
	return 0;
}

int jb_sandbox_rlimits(int max_fds, char *err, size_t errlen)
{
	struct rlimit zero = {0, 0}, fds = {(rlim_t)max_fds, (rlim_t)max_fds};

	if (setrlimit(RLIMIT_CORE, &zero) < 0 || setrlimit(RLIMIT_NOFILE, &fds) < 0) {
		snprintf(err, errlen, "setrlimit: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int jb_sandbox_drop_privs(uint32_t uid, char *err, size_t errlen)
{
	if (uid == 0) {
		snprintf(err, errlen, "refusing to run a child as uid 0");
		return -1;
	}
	if (getuid() == 0 || geteuid() == 0) {
		capng_clear(CAPNG_SELECT_BOTH);
		if (capng_change_id((int)uid, (int)uid,
				    CAPNG_DROP_SUPP_GRP | CAPNG_CLEAR_BOUNDING) != 0) {
			snprintf(err, errlen, "cannot become uid/gid %u with no capabilities",
				 (unsigned)uid);
			return -1;
		}
	}
	/* a root child that stayed root would be a bug: refuse to go on */
	if (getuid() == 0 || geteuid() == 0 || getgid() == 0 || getegid() == 0) {
		snprintf(err, errlen, "still root after dropping privileges");
		return -1;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		snprintf(err, errlen, "PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* fd in 5..1023 on its low 32 bits (a child's RLIMIT_NOFILE is far
 * below 1024): one rule per power-of-two block, as libseccomp takes one
 * comparison per argument: 5, 6-7, 8-15, ..., 512-1023. AT_FDCWD and the
 * high-bit spellings of fds 0-4 match none. */
static int add_own_rule(scmp_filter_ctx ctx, int nr)
{
	/* a 32-bit mask: bits 32-63 of the register are not compared */
	int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
				  SCMP_A0_64(SCMP_CMP_MASKED_EQ, 0xffffffffu, JB_CHILD_AUX_FD + 1));

	rc = rc ? rc : seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
					SCMP_A0_64(SCMP_CMP_MASKED_EQ, 0xfffffffeu, 6));
	for (unsigned b = 3; b < 10 && rc == 0; b++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
				      SCMP_A0_64(SCMP_CMP_MASKED_EQ, (uint32_t)~((1u << b) - 1),
						 1u << b));
	return rc;
}

/* The same, with argument 1 exactly arg1 (an ioctl's request). */
static int add_own_rule_arg1(scmp_filter_ctx ctx, int nr, scmp_datum_t arg1)
{
	int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 2,
				  SCMP_A0_64(SCMP_CMP_MASKED_EQ, 0xffffffffu, JB_CHILD_AUX_FD + 1),
				  SCMP_A1(SCMP_CMP_EQ, arg1));

	rc = rc ? rc : seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 2,
					SCMP_A0_64(SCMP_CMP_MASKED_EQ, 0xfffffffeu, 6),
					SCMP_A1(SCMP_CMP_EQ, arg1));
	for (unsigned b = 3; b < 10 && rc == 0; b++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 2,
				      SCMP_A0_64(SCMP_CMP_MASKED_EQ, (uint32_t)~((1u << b) - 1),
						 1u << b),
				      SCMP_A1(SCMP_CMP_EQ, arg1));
	return rc;
}

/* The flags glibc 2.36's pthread_create passes to clone (nptl
 * pthread_create.c create_thread; clone3 is refused with ENOSYS, so its
 * fallback __clone_internal uses clone with these and exit signal 0). */
#define JB_PTHREAD_CLONE_FLAGS                                                             \
	(CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SYSVSEM | CLONE_SIGHAND | CLONE_THREAD | \
	 CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID)

static int add_rule(scmp_filter_ctx ctx, const struct jb_policy *p, const struct sc_rule *r)
{
	int rc = 0;

	switch (r->arg) {
	case SC_ANY:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, r->nr, 0);
	case SC_NOEXEC:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, r->nr, 1,
					SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	case SC_IPC:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, r->nr, 1,
					SCMP_A0(SCMP_CMP_EQ, JB_CHILD_IPC_FD));
	case SC_AUX:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, r->nr, 1,
					SCMP_A0(SCMP_CMP_EQ, JB_CHILD_AUX_FD));
	case SC_OWN:
		return add_own_rule(ctx, r->nr);
	case SC_FIONREAD:
		return add_own_rule_arg1(ctx, r->nr, FIONREAD);
	case SC_INET:
		/* the type's low bits are the type, NONBLOCK and CLOEXEC above;
		 * the protocol is TCP (0 picks it for a stream), never SCTP or
		 * MPTCP: their own code, reachable from a sandbox */
		for (int fam = 0; fam < 2 && rc == 0; fam++)
			for (int proto = 0; proto < 2 && rc == 0; proto++)
				rc = seccomp_rule_add(
					ctx, SCMP_ACT_ALLOW, r->nr, 3,
					SCMP_A0(SCMP_CMP_EQ, fam ? AF_INET6 : AF_INET),
					SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, SOCK_STREAM),
					SCMP_A2(SCMP_CMP_EQ, proto ? IPPROTO_TCP : 0));
		return rc;
	case SC_THREAD:
		/* all 64 bits: exactly these flags, exit signal 0 */
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, r->nr, 1,
					SCMP_A0_64(SCMP_CMP_EQ, JB_PTHREAD_CLONE_FLAGS));
	case SC_NOSYS:
		return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), r->nr, 0);
	case SC_EPERM:
		return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), r->nr, 0);
	case SC_CWD_EACCES:
		return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), r->nr, 1,
					SCMP_A0_64(SCMP_CMP_MASKED_EQ, 0xffffffffu,
						   (uint32_t)AT_FDCWD));
	case SC_SELF:
		/* single-threaded: the tid is the pid */
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, r->nr, 3,
					SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid()),
					SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)syscall(SYS_gettid)),
					SCMP_A2(SCMP_CMP_EQ, SIGABRT));
	case SC_OUT:
		/* one rule per writable fd (rules on a syscall are ORed) */
		for (size_t i = 0; i < N(p->write_fds) && p->write_fds[i] >= 0 && rc == 0; i++)
			rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, r->nr, 1,
					      SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)p->write_fds[i]));
		return rc;
	}
	return -EINVAL;
}

static int ll_fd = -1; /* the prepared ruleset, until enforced */

int jb_sandbox_landlock_prepare(const struct jb_policy *p, char *err, size_t errlen)
{
	struct rlimit rl;

	ll_fd = jb_landlock_prepare(p->open_aux == 1 ? JB_CHILD_AUX_FD : -1, p->open_aux != 0, err,
				    errlen);
	if (ll_fd == -1)
		return -1;
	/* out of the range the rlimits will leave the child (its max_fds,
	 * exactly what it needs): the highest number allowed now */
	if (ll_fd >= 0 && getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur > 64 &&
	    rl.rlim_cur != RLIM_INFINITY) {
		int high = fcntl(ll_fd, F_DUPFD_CLOEXEC, (int)(rl.rlim_cur - 1));

		if (high >= 0) {
			close(ll_fd);
			ll_fd = high;
		}
	}
	return 0;
}

int jb_sandbox_landlock(const struct jb_policy *p, char *err, size_t errlen)
{
	int rc;

	if (ll_fd == -1 && jb_sandbox_landlock_prepare(p, err, errlen) < 0)
		return -1;
	rc = jb_landlock_enforce(ll_fd, err, errlen);
	ll_fd = -1;
	return rc;
}

int jb_sandbox_seccomp(const struct jb_policy *p, char *err, size_t errlen)
{
#ifdef JB_SECCOMP_LOG
	uint32_t dflt = SCMP_ACT_LOG; /* debug builds: log instead of kill */
#else
	uint32_t dflt = SCMP_ACT_KILL_PROCESS;
#endif
	scmp_filter_ctx ctx = seccomp_init(dflt);
	int rc = 0;

	if (!ctx) {
		snprintf(err, errlen, "seccomp_init failed");
		return -1;
	}
	/* a foreign architecture's syscall numbers are never ours */
	seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	for (size_t i = 0; i < N(deny_rules) && rc == 0; i++)
		rc = p->open_aux == 1 && deny_rules[i].nr == SCMP_SYS(openat)
			     ? seccomp_rule_add(ctx, SCMP_ACT_ERRNO((uint32_t)deny_rules[i].err),
						deny_rules[i].nr, 1,
						SCMP_A0(SCMP_CMP_NE, JB_CHILD_AUX_FD))
			     : seccomp_rule_add(ctx, SCMP_ACT_ERRNO((uint32_t)deny_rules[i].err),
						deny_rules[i].nr, 0);
	for (size_t i = 0; i < N(common_rules) && rc == 0; i++)
		rc = add_rule(ctx, p, &common_rules[i]);
	for (size_t i = 0; i < p->nextra && rc == 0; i++)
		rc = add_rule(ctx, p, &p->extra[i]);
	if (rc == 0)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc < 0) {
		snprintf(err, errlen, "seccomp (%s): %s", p->name, strerror(-rc));
		return -1;
	}
	return 0;
}
