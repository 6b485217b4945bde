/*
 * log.c - process-name-prefixed logging to stderr (or an IPC sink).
 * Invariant: never allocates, so it is safe on error paths and inside the
 * seccomp sandbox; a line is written with one write(2) so lines from
 * several processes sharing stderr do not interleave. At LOG_L_TRACE the
 * caller's file:function:line starts the message itself, so it travels
 * with the text through a sink (a child's IPC_LOG) or a stderr pipe.
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

void log_vmsg_at(const char *file, const char *func, int line, int level, int with_errno,
		 const char *fmt, va_list ap)
{
	char msg[1024];
	int saved = errno, n = 0;

	if (level > log_level)
		return;
	if (log_level >= LOG_L_TRACE && file) {
		n = snprintf(msg, sizeof(msg), "%s:%s:%d: ", file, func, line);
		if (n < 0 || n >= (int)sizeof(msg))
			n = 0;
	}
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	if (with_errno) {
		size_t len = strlen(msg);
		snprintf(msg + len, sizeof(msg) - len, ": %s", strerror(saved));
	}
	if (log_sink)
		log_sink(level, msg);
	else
		log_stderr(msg);
	errno = saved;
}

#define LOGFN(name, level, err)                                                                    \
	void name(const char *file, const char *func, int line, const char *fmt, ...)              \
	{                                                                                          \
		va_list ap;                                                                        \
		va_start(ap, fmt);                                                                 \
		log_vmsg_at(file, func, line, level, err, fmt, ap);                                \
		va_end(ap);                                                                        \
	}
LOGFN(log_warn_at, LOG_L_WARN, 1)
LOGFN(log_warnx_at, LOG_L_WARN, 0)
LOGFN(log_info_at, LOG_L_INFO, 0)
LOGFN(log_debug_at, LOG_L_DEBUG, 0)

void fatal_at(const char *file, const char *func, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg_at(file, func, line, LOG_L_ERR, 1, fmt, ap);
	va_end(ap);
	exit(1);
}

void fatalx_at(const char *file, const char *func, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg_at(file, func, line, LOG_L_ERR, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
