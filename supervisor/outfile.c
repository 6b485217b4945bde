/*
 * outfile.c - the file printer's output file in production: rotated by
 * size ([printers] file_max_bytes, file_keep), reopened on SIGUSR1 (the
 * logrotate convention: it renames FILE, then signals; lines already in
 * the renamed file stay there, new lines go to a fresh FILE), created
 * root's, mode 0600, in a directory made if it is missing (owner.c).
 *
 * The supervisor owns the file (the printer's seccomp policy refuses
 * open). A new file reaches the printer by a planned restart: the slot is
 * marked retiring, so the router hands it nothing more; once it has
 * acknowledged every line it was handed it is sent SIGTERM (procs.c
 * sup_proc_retire: not a failure, no back-off) and, when it is gone and
 * nobody writes the old file, the rotation or reopen is done and the next
 * child gets the new descriptor as its fd 4. Docs: ARCHITECTURE.md,
 * "Rotation and reopening of the output file".
 *
 * Invariants:
 *  - the file is switched only between two children: every line the old
 *    one acknowledged is whole in the old file, and the router hands the
 *    new one only what was never acknowledged. A line is never split
 *    across files; with a printer that ends as planned, none is written
 *    twice or lost. A printer that dies while retiring (killed, crashed,
 *    stopped past its heartbeat deadline) is handled as any dead printer:
 *    the lines it had not acknowledged go to the new file again
 *    (at-least-once, the same uuid).
 *  - a rotation renames FILE only while FILE still names the file the
 *    supervisor holds (logrotate may have moved it already) and it is
 *    still over the size; the rotated names are handled in FILE's own
 *    directory, through the descriptor owner.c walked and checked.
 *  - a reopen that fails (a directory or file the owner.c rules refuse,
 *    a full disk) loses nothing: the printer goes on with the file it
 *    had, the failure is logged and audited, and a size rotation is not
 *    tried again for REOPEN_RETRY_MS (a SIGUSR1 tries at once).
 *  - SIGUSR1 reopens only a file whose path no longer names it, so the
 *    signal alone never restarts a printer (bpf/tamper.bpf.h does not
 *    report it to the supervisor, like SIGHUP: docs/SECURITY.md).
 *  - a printer killed inside write(2) (the kernel stops a write to a file
 *    between pages on a fatal signal) leaves the start of a line it never
 *    acknowledged: before the next child, the supervisor cuts that
 *    fragment from the file (the file printer's, or stdout when it is a
 *    regular file), so the output stays one JSON object per line and the
 *    line comes again whole (sup_outfile_mend); at start-up too, for the
 *    file printer's file (the printer of a supervisor killed with it);
 *  - nothing is restarted once shutdown began: what is pending waits for
 *    the next start (a file over its size is rotated before the first
 *    child) or the next SIGUSR1.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "supervisor/audit.h"
#include "supervisor/outfile.h"
#include "supervisor/owner.h"
#include "sup.h"

#define REOPEN_RETRY_MS 10000
#define MEND_SCAN_MAX (1 << 20) /* far beyond the longest line (IPC_MAX_STR) */

static const char *path_of(const struct sup *s, const struct sup_proc *p)
{
	return (const char *)&s->cfg + p->kind->path_off;
}

static const char *reason(int why)
{
	return why & SUP_REOPEN_SIZE ? "size" : "signal";
}

int sup_outfile_shift(int dfd, const char *name, unsigned keep, char *err, size_t errlen)
{
	char from[NAME_MAX + 16], to[NAME_MAX + 16];

	/* what a smaller file_keep (or someone) left beyond the newest keep */
	for (unsigned i = keep + 1; i <= JB_CONF_FILE_KEEP_MAX + 1; i++) {
		snprintf(to, sizeof(to), "%s.%u", name, i);
		if (unlinkat(dfd, to, 0) < 0) {
			if (errno == ENOENT)
				break;
			snprintf(err, errlen, "cannot remove %s: %s", to, strerror(errno));
			return -1;
		}
	}
	for (unsigned i = keep; i >= 1; i--) {
		if (i > 1)
			snprintf(from, sizeof(from), "%s.%u", name, i - 1);
		else
			snprintf(from, sizeof(from), "%s", name);
		snprintf(to, sizeof(to), "%s.%u", name, i);
		if (renameat(dfd, from, dfd, to) < 0 && errno != ENOENT) {
			snprintf(err, errlen, "cannot rename %s to %s: %s", from, to, strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* The printer is gone (or there is none): rotate and reopen now. */
static void perform(struct sup *s, struct sup_proc *p)
{
	const char *path = path_of(s, p), *base;
	size_t row = (size_t)(p->kind - s->kinds);
	const char *conf = s->conf_path ? s->conf_path : "";
	int why = p->reopen, rotated = 0, dfd, fd;
	char err[1024];
	struct stat held, named;
	long long size = -1;

	p->reopen = 0;
	p->retiring = 0;
	dfd = sup_owner_output_dir(&s->cfg, conf, p->kind, row, &base, err, sizeof(err));
	if (dfd < 0)
		goto fail;
	if (p->aux_fd >= 0 && fstat(p->aux_fd, &held) == 0)
		size = (long long)held.st_size;
	if ((why & SUP_REOPEN_SIZE) && s->cfg.file_max_bytes && size >= (long long)s->cfg.file_max_bytes &&
	    fstatat(dfd, base, &named, AT_SYMLINK_NOFOLLOW) == 0 && named.st_dev == held.st_dev &&
	    named.st_ino == held.st_ino) {
		int n = snprintf(err, sizeof(err), "%s: ", path);

		if (sup_outfile_shift(dfd, base, s->cfg.file_keep, err + n, sizeof(err) - (size_t)n) < 0) {
			close(dfd);
			goto fail;
		}
		rotated = 1;
	}
	close(dfd);
	fd = sup_owner_open_output(&s->cfg, conf, p->kind, row, err, sizeof(err));
	if (fd < 0)
		goto fail;
	if (p->aux_fd >= 0)
		close(p->aux_fd);
	p->aux_fd = fd;
	if (rotated)
		log_info("%s printer: %s rotated at %lld bytes ([printers] file_max_bytes %u): it is "
			 "now %s.1 (%u kept); new lines go to a new %s", p->kind->name, path, size,
			 s->cfg.file_max_bytes, path, s->cfg.file_keep, path);
	else
		log_info("%s printer: %s reopened (%s): new lines go there", p->kind->name, path,
			 why & SUP_REOPEN_SIGNAL ? "SIGUSR1" : "renamed by someone else meanwhile");
	sup_audit(s, "output_file", json_pack("{s:s,s:s,s:s,s:s,s:b,s:I}", "kind", p->kind->name,
					      "file", path, "reason", reason(why), "result",
					      "reopened", "rotated", rotated, "size", (json_int_t)size));
	return;
fail:
	p->reopen_retry_ms = sup_now_ms() + REOPEN_RETRY_MS;
	log_warnx("%s printer: cannot %s its file, its lines go on to the file it had (nothing is "
		  "lost; retried after %d s or at the next SIGUSR1): %s", p->kind->name,
		  why & SUP_REOPEN_SIZE ? "rotate" : "reopen", REOPEN_RETRY_MS / 1000, err);
	sup_audit(s, "output_file", json_pack("{s:s,s:s,s:s,s:s,s:s}", "kind", p->kind->name, "file",
					      path, "reason", reason(why), "result", "failed", "why",
					      err));
}

/* A reopen is pending: do it now if no child writes the file, else retire
 * the child once it holds nothing unacknowledged. */
static void step(struct sup *s, struct sup_proc *p)
{
	if (!p->reopen)
		return;
	if (p->pid <= 0) {
		perform(s, p);
		return;
	}
	if (s->stopping_since_ms) {
		/* no restart at shutdown: it prints everything where it is */
		if (p->retiring) {
			p->retiring = 0;
			sup_router_pump(s);
		}
		return;
	}
	if (!p->retiring)
		log_debug("%s printer: its file is to be %s: it is handed nothing more and replaced "
			  "once it has acknowledged its %llu lines", p->kind->name,
			  p->reopen & SUP_REOPEN_SIZE ? "rotated" : "reopened",
			  (unsigned long long)sup_router_in_hand(s, p));
	p->retiring = 1;
	if (p->state == ST_READY && sup_router_in_hand(s, p) == 0)
		sup_proc_retire(s, p, p->reopen & SUP_REOPEN_SIZE ? "its file is rotated"
								  : "its file is reopened");
}

void sup_outfile_start(struct sup *s, struct sup_proc *p)
{
	struct stat st;

	if (s->cfg.file_max_bytes && p->aux_fd >= 0 && fstat(p->aux_fd, &st) == 0 &&
	    (uint64_t)st.st_size >= s->cfg.file_max_bytes) {
		p->reopen |= SUP_REOPEN_SIZE;
		step(s, p);
	}
}

void sup_outfile_printed(struct sup *s, struct sup_proc *p)
{
	struct stat st;

	if (!(p->reopen & SUP_REOPEN_SIZE) && s->cfg.file_max_bytes && p->aux_fd >= 0 &&
	    sup_now_ms() >= p->reopen_retry_ms && fstat(p->aux_fd, &st) == 0 &&
	    (uint64_t)st.st_size >= s->cfg.file_max_bytes)
		p->reopen |= SUP_REOPEN_SIZE;
	step(s, p);
}

void sup_outfile_ready(struct sup *s, struct sup_proc *p)
{
	step(s, p);
}

void sup_outfile_gone(struct sup *s, struct sup_proc *p)
{
	if (p->reopen)
		perform(s, p);
	p->retiring = 0;
}

void sup_outfile_drain(struct sup *s, struct sup_proc *p)
{
	p->retiring = 0;
}

/* The offset just after the last '\n' of the regular file fd (read
 * through rfd), looking back at most MEND_SCAN_MAX bytes from size; 0
 * when the file has none (all of it is the fragment); -1 when none lies
 * within the scan or it cannot be read. */
static off_t after_last_newline(int rfd, off_t size)
{
	char buf[4096];
	off_t end = size;

	while (end > 0 && size - end < MEND_SCAN_MAX) {
		size_t n = end < (off_t)sizeof(buf) ? (size_t)end : sizeof(buf);
		ssize_t r = pread(rfd, buf, n, end - (off_t)n);

		if (r != (ssize_t)n)
			return -1;
		for (size_t i = n; i > 0; i--)
			if (buf[i - 1] == '\n')
				return end - (off_t)n + (off_t)i;
		end -= (off_t)n;
	}
	return end == 0 ? 0 : -1;
}

void sup_outfile_mend(struct sup *s, struct sup_proc *p)
{
	int fd = p->kind->operator_stdout ? STDOUT_FILENO
		 : p->kind->aux == JB_AUX_OUTPUT ? p->aux_fd : -1, rfd;
	char path[64], last = '\n';
	struct stat st;
	off_t cut;

	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0)
		return; /* a pipe, a terminal, journald's socket: nothing to mend */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if ((rfd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		log_warn("%s printer: cannot read back its output to check its last line", p->kind->name);
		return;
	}
	if (pread(rfd, &last, 1, st.st_size - 1) == 1 && last != '\n') {
		cut = after_last_newline(rfd, st.st_size);
		/* the offset too: a stdout opened without O_APPEND shares it
		 * with the next child, which would write past a hole */
		if (cut < 0 || ftruncate(fd, cut) < 0 || lseek(fd, cut, SEEK_SET) < 0)
			log_warnx("%s printer: its output ends inside a line it did not finish, and "
				  "that could not be cut (%s)", p->kind->name,
				  cut < 0 ? "no line end near the end" : strerror(errno));
		else
			log_warnx("%s printer: its output ends inside a line (a printer killed inside "
				  "a write); the %lld bytes of it are cut (the line was not "
				  "acknowledged: the next printer writes it whole)", p->kind->name,
				  (long long)(st.st_size - cut));
	}
	close(rfd);
}

void sup_outfile_signal(struct sup *s)
{
	int n = 0;

	for (int i = 0; i < s->nprocs; i++) {
		struct sup_proc *p = &s->procs[i];
		const char *path = path_of(s, p);
		struct stat held, named;

		if (p->kind->aux != JB_AUX_OUTPUT || p->aux_fd < 0)
			continue;
		n++;
		if (fstat(p->aux_fd, &held) == 0 && lstat(path, &named) == 0 &&
		    named.st_dev == held.st_dev && named.st_ino == held.st_ino) {
			log_info("SIGUSR1: %s still names the %s printer's file: nothing to reopen",
				 path, p->kind->name);
			continue;
		}
		log_info("SIGUSR1: %s was renamed or removed: the %s printer gets a new one once it "
			 "has acknowledged what it holds (its lines so far stay in the old one)", path,
			 p->kind->name);
		p->reopen |= SUP_REOPEN_SIGNAL;
		step(s, p);
	}
	if (!n)
		log_info("SIGUSR1: no output file to reopen");
}
