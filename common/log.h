/*
 * log.h - one logging API for every process (OpenSMTPD log.h style).
 * Lines go to stderr as "jibril[role:pid]: message". Sandboxed children
 * may also forward lines to the supervisor over IPC (log_set_sink).
 */
#ifndef JB_LOG_H
#define JB_LOG_H

#include <stdarg.h>

/* LOG_L_TRACE is everything of LOG_L_DEBUG, each line prefixed with the
 * source file, function and line that logged it ("log_level = trace"). */
enum { LOG_L_ERR = 0, LOG_L_WARN, LOG_L_INFO, LOG_L_DEBUG, LOG_L_TRACE };

void log_init(const char *procname, int level);
void log_setlevel(int level);
int log_getlevel(void);
/* Optional sink for sandboxed children; called instead of stderr. */
void log_set_sink(void (*sink)(int level, const char *line));
/* One finished line to stderr, with the prefix, in one write(2), whatever
 * the sink (what a sink uses when it cannot deliver). */
void log_stderr(const char *msg);

/* Every logging call passes where it was made; the location is formatted
 * only at LOG_L_TRACE (off: one comparison more). A NULL file means the
 * line has no location of ours (a child's words, which carry their own). */
#define JB_LOG_AT __FILE__, __func__, __LINE__
#define JB_LOG_FMT(n) __attribute__((format(printf, (n), (n) + 1)))
void log_warn_at(const char *file, const char *func, int line, const char *fmt, ...)
	JB_LOG_FMT(4);	/* adds errno */
void log_warnx_at(const char *file, const char *func, int line, const char *fmt, ...)
	JB_LOG_FMT(4);
void log_info_at(const char *file, const char *func, int line, const char *fmt, ...)
	JB_LOG_FMT(4);
void log_debug_at(const char *file, const char *func, int line, const char *fmt, ...)
	JB_LOG_FMT(4);
void fatal_at(const char *file, const char *func, int line, const char *fmt, ...)
	JB_LOG_FMT(4) __attribute__((noreturn));	/* adds errno */
void fatalx_at(const char *file, const char *func, int line, const char *fmt, ...)
	JB_LOG_FMT(4) __attribute__((noreturn));
void log_vmsg_at(const char *file, const char *func, int line, int level, int with_errno,
		 const char *fmt, va_list ap) __attribute__((format(printf, 6, 0)));

#define log_warn(...) log_warn_at(JB_LOG_AT, __VA_ARGS__)
#define log_warnx(...) log_warnx_at(JB_LOG_AT, __VA_ARGS__)
#define log_info(...) log_info_at(JB_LOG_AT, __VA_ARGS__)
#define log_debug(...) log_debug_at(JB_LOG_AT, __VA_ARGS__)
#define fatal(...) fatal_at(JB_LOG_AT, __VA_ARGS__)
#define fatalx(...) fatalx_at(JB_LOG_AT, __VA_ARGS__)
#define log_vmsg(level, with_errno, fmt, ap) log_vmsg_at(JB_LOG_AT, level, with_errno, fmt, ap)

#endif
