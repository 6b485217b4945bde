/*
 * log.c - process-name-prefixed logging to stderr (or an IPC sink).
 * Invariant: never allocates, so it is safe on error paths and inside the
 * seccomp sandbox; a line is written with one write(2) so lines from
 * several processes sharing stderr do not interleave.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static char log_proc[48] = "jibril";
static int log_level = LOG_L_INFO;
static void (*log_sink)(int, const char *);

void log_init(const char *procname, int level)
{
	snprintf(log_proc, sizeof(log_proc), "%s", procname);
	log_level = level;
}

void log_setlevel(int level) { log_level = level; }
int log_getlevel(void) { return log_level; }
void log_set_sink(void (*sink)(int, const char *)) { log_sink = sink; }

void log_stderr(const char *msg)
{
	char line[1200];
	int n = snprintf(line, sizeof(line), "jibril[%s:%d]: %s\n", log_proc, (int)getpid(), msg);

	if (n > (int)sizeof(line))
		n = sizeof(line);
	if (n > 0 && write(STDERR_FILENO, line, (size_t)n) < 0) {
		/* nowhere left to report it */
	}
}

void log_vmsg(int level, int with_errno, const char *fmt, va_list ap)
{
	char msg[1024];
	int saved = errno;

	if (level > log_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (with_errno) {
		size_t n = strlen(msg);
		snprintf(msg + n, sizeof(msg) - n, ": %s", strerror(saved));
	}
	if (log_sink)
		log_sink(level, msg);
	else
		log_stderr(msg);
	errno = saved;
}

#define LOGFN(name, level, err)                                                                    \
	void name(const char *fmt, ...)                                                            \
	{                                                                                          \
		va_list ap;                                                                        \
		va_start(ap, fmt);                                                                 \
		log_vmsg(level, err, fmt, ap);                                                     \
		va_end(ap);                                                                        \
	}
LOGFN(log_warn, LOG_L_WARN, 1)
LOGFN(log_warnx, LOG_L_WARN, 0)
LOGFN(log_info, LOG_L_INFO, 0)
LOGFN(log_debug, LOG_L_DEBUG, 0)

void fatal(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(LOG_L_ERR, 1, fmt, ap);
	va_end(ap);
	exit(1);
}

void fatalx(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(LOG_L_ERR, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
