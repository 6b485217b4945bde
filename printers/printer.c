/*
 * printer.c - the printer runtime: for each PRINT, re-validate the JSON
 * (a worker may be compromised; the line must stay one valid JSON object),
 * write it as one line, flush, and acknowledge with PRINTED.
 *
 * Invariants:
 *  - PRINTED seq is sent only after the line is written and flushed: the
 *    supervisor keeps every unacknowledged line and sends it again to a
 *    restarted printer (at-least-once; a crash between write and ack can
 *    repeat a line, never lose one).
 *  - a line that fails to write makes the printer exit non-zero so it is
 *    restarted, rather than acknowledging what it did not print.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "common/child.h"
#include "common/log.h"
#include "printers/printer.h"

static const struct prn_output *out;
static int out_fd = -1;
static uint64_t printed, invalid;

int prn_write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int prn_setup(const char *kind, char *err, size_t errlen)
{
	if (!strcmp(kind, prn_stdout.name))
		out = &prn_stdout;
	else if (!strcmp(kind, prn_file.name))
		out = &prn_file;
	else {
		snprintf(err, errlen, "unknown printer kind '%s'", kind);
		return -1;
	}
	out_fd = out->setup(err, errlen);
	return out_fd < 0 ? -1 : 0;
}

static void prn_counters(uint64_t *p, uint64_t *d)
{
	*p = printed;
	*d = invalid;
}

static void prn_message(const struct ipc_msg *m)
{
	json_error_t jerr;
	json_t *j;
	char *line, ack[64];
	int n;

	if (m->type != IPC_PRINT) {
		log_warnx("unexpected %s", ipc_msg_name(m->type));
		exit(1);
	}
	j = json_loadb(m->u.print.json, m->u.print.json_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!j || !json_is_object(j)) {
		invalid++;
		log_warnx("detection %llu is not a JSON object (%s): dropped",
			  (unsigned long long)m->u.print.seq, j ? "not an object" : jerr.text);
		json_decref(j);
	} else {
		line = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
		json_decref(j);
		if (!line)
			fatalx("out of memory");
		n = (int)strlen(line);
		line[n] = '\n'; /* json_dumps left room: it NUL-terminated at n */
		if (prn_write_all(out_fd, line, (size_t)n + 1) < 0 || out->flush(out_fd) < 0)
			fatal("%s printer: write", out->name);
		free(line);
		printed++;
	}
	n = ipc_enc_printed(ack, sizeof(ack), m->u.print.seq);
	if (n < 0 || jb_child_send(ack, (size_t)n) < 0)
		fatalx("cannot acknowledge line %llu", (unsigned long long)m->u.print.seq);
}

static const struct jb_child_ops printer_ops = {
	.role = IPC_ROLE_PRINTER,
	.policy = JB_POLICY_PRINTER,
	.setup = prn_setup,
	.on_message = prn_message,
	.counters = prn_counters,
};

void prn_main(const char *kind, uint64_t generation)
{
	jb_child_main(&printer_ops, kind, generation);
}
