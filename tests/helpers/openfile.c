/*
 * openfile.c - test helper: file opens from one process.
 *   openfile read PATH COUNT GAP_MS  open+read+close PATH COUNT times,
 *                                    GAP_MS apart; exit 0 if all worked
 *   openfile create-unlink PATH      create PATH (O_EXCL: never touches an
 *                                    existing file), close, unlink it
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char buf[512];

	if (argc == 5 && !strcmp(argv[1], "read")) {
		int count = atoi(argv[3]), gap = atoi(argv[4]);

		for (int i = 0; i < count; i++) {
			int fd = open(argv[2], O_RDONLY);
			struct timespec ts = {gap / 1000, (long)(gap % 1000) * 1000000L};

			if (fd < 0 || read(fd, buf, sizeof(buf)) < 0)
				return 1;
			close(fd);
			if (i + 1 < count)
				nanosleep(&ts, NULL);
		}
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "create-unlink")) {
		int fd = open(argv[2], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

		if (fd < 0)
			return 1;
		close(fd);
		return unlink(argv[2]) == 0 ? 0 : 1;
	}
	return 2;
}
