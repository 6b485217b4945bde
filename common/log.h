/*
 * log.h - one logging API for every process (OpenSMTPD log.h style).
 * Lines go to stderr as "jibril[role:pid]: message". Sandboxed children
 * may also forward lines to the supervisor over IPC (log_set_sink).
 */
#ifndef JB_LOG_H
#define JB_LOG_H

#include <stdarg.h>

enum { LOG_L_ERR = 0, LOG_L_WARN, LOG_L_INFO, LOG_L_DEBUG };

void log_init(const char *procname, int level);
void log_setlevel(int level);
int log_getlevel(void);
/* Optional sink for sandboxed children; called instead of stderr. */
void log_set_sink(void (*sink)(int level, const char *line));
/* One finished line to stderr, with the prefix, in one write(2), whatever
 * the sink (what a sink uses when it cannot deliver). */
void log_stderr(const char *msg);

void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));  /* adds errno */
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));  /* adds errno */
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void log_vmsg(int level, int with_errno, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

#endif
