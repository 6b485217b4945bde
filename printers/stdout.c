/*
 * stdout.c - the stdout printer: one JSON object per line on fd 1, which
 * the supervisor's own stdout is (a terminal, a pipe, journald).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "printer.h"

static int stdout_setup(char *err, size_t errlen)
{
	if (fcntl(STDOUT_FILENO, F_GETFD) < 0) {
		snprintf(err, errlen, "stdout is closed");
		return -1;
	}
	return STDOUT_FILENO;
}

static int stdout_flush(int fd)
{
	return 0; /* write(2) on fd 1 is unbuffered */
}

const struct prn_output prn_stdout = {.setup = stdout_setup, .flush = stdout_flush};
