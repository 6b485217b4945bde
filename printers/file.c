/*
 * file.c - the file printer: appends one JSON object per line to the file
 * the supervisor opened (O_APPEND, mode 0600) and passed as fd 4, and
 * fdatasync()s it before acknowledging, so an acknowledged alert survives
 * a crash of the host.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/child.h"
#include "printer.h"

static int file_setup(char *err, size_t errlen)
{
	int fl = fcntl(JB_CHILD_AUX_FD, F_GETFL);

	if (fl < 0 || !(fl & O_APPEND)) {
		snprintf(err, errlen, "fd %d is not an append-only output file", JB_CHILD_AUX_FD);
		return -1;
	}
	return JB_CHILD_AUX_FD;
}

static int file_flush(int fd)
{
	/* EINVAL: a pipe or character device stands in for the file */
	return fdatasync(fd) < 0 && errno != EINVAL ? -1 : 0;
}

const struct prn_output prn_file = {.setup = file_setup, .flush = file_flush};
