/*
 * childlog.c - what a child says (IPC_LOG, or a line on its stderr pipe)
 * into the supervisor's log.
 *
 * Invariants:
 *  - a child's words are data: every line is prefixed with the kind and
 *    pid the supervisor knows (never what the child claims), and made
 *    printable (common/text.c: no newline, ESC, C1 control, bidi override
 *    can forge or hide a line of the supervisor's).
 *  - bounded: at most CHILDLOG_PER_S lines a second per slot, both
 *    channels together; the rest are counted and the count is logged when
 *    window is over (the next line or the next tick, whichever comes
 *    first) and when the child's exit is handled, under the pid that said
 *    them.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "common/text.h"
#include "sup.h"

#define CHILDLOG_PER_S 50

/* log_warnx, log_info or log_debug, as level says (IPC levels are ours).
 * No location of ours even at trace level: the child's text carries its
 * own file:function:line, and ours would only hide it. */
__attribute__((format(printf, 2, 3)))
static void log_at(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg_at(NULL, NULL, 0, level < LOG_L_WARN ? LOG_L_WARN : level, 0, fmt, ap);
	va_end(ap);
}

static void report_dropped(struct sup_proc *p)
{
	if (p->log_dropped)
		log_warnx("%s[%d]: %u log lines dropped (more than %d a second)", p->kind->name,
			  (int)p->log_pid, p->log_dropped, CHILDLOG_PER_S);
	p->log_dropped = 0;
}

void sup_child_log(struct sup_proc *p, int level, const char *channel, const char *text)
{
	uint64_t now = sup_now_ms();
	char line[1200];

	if (now - p->log_window_ms >= 1000) {
		report_dropped(p);
		p->log_window_ms = now;
		p->log_lines = 0;
	}
	if (p->log_lines++ >= CHILDLOG_PER_S) {
		p->log_dropped++;
		return;
	}
	snprintf(line, sizeof(line), "%s", text);
	jb_text_printable(line);
	log_at(level, "%s[%d]: %s%s%s", p->kind->name, (int)p->log_pid, channel ? channel : "",
	       channel ? ": " : "", line);
}

void sup_child_log_start(struct sup_proc *p, pid_t pid)
{
	p->log_pid = pid;
	p->log_window_ms = 0;
	p->log_lines = p->log_dropped = 0;
}

void sup_child_log_tick(struct sup_proc *p)
{
	if (p->log_dropped && sup_now_ms() - p->log_window_ms >= 1000)
		report_dropped(p);
}

void sup_child_log_end(struct sup_proc *p)
{
	report_dropped(p);
}
