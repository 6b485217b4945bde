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
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "common/text.h"
#include "sup.h"

#define CHILDLOG_PER_S 50

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
	if (level <= LOG_L_WARN)
		log_warnx("%s[%d]: %s%s%s", p->kind->name, (int)p->log_pid, channel ? channel : "",
			  channel ? ": " : "", line);
	else if (level == LOG_L_INFO)
		log_info("%s[%d]: %s%s%s", p->kind->name, (int)p->log_pid, channel ? channel : "",
			 channel ? ": " : "", line);
	else
		log_debug("%s[%d]: %s%s%s", p->kind->name, (int)p->log_pid, channel ? channel : "",
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
