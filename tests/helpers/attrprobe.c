/*
 * attrprobe.c - test helper for tests/check_attribution.c: acts whose
 * detections must name the image that acted.
 *   attrprobe read FILE          open FILE, read a byte, exit 0
 *   attrprobe actexec FILE       open FILE, read a byte, then exec /bin/true
 *                                (the act belongs to this image, not true's)
 *   attrprobe storm N FILE EXE   N times: fork; the child execs EXE with
 *                                "read FILE" (so it acts right after its
 *                                exec); wait for it. Prints each child's
 *                                pid on stdout, one per line, then exits 0
 *                                (1 if a child failed)
 *   attrprobe spin SECONDS       burn CPU for SECONDS (load for the storm)
 * Every mode gives up after 120 s (alarm), so a test can never hang on it.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int touch(const char *file)
{
	char c;
	int fd = open(file, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (read(fd, &c, 1) < 0) {
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	alarm(120);
	if (argc == 3 && !strcmp(argv[1], "read"))
		return touch(argv[2]) ? 1 : 0;
	if (argc == 3 && !strcmp(argv[1], "actexec")) {
		if (touch(argv[2]))
			return 1;
		execl("/bin/true", "true", (char *)NULL);
		return 127;
	}
	if (argc == 5 && !strcmp(argv[1], "storm")) {
		int n = atoi(argv[2]), bad = 0;

		for (int i = 0; i < n; i++) {
			int st;
			pid_t pid = fork();

			if (pid < 0)
				return 1;
			if (pid == 0) {
				execl(argv[4], "attrprobe", "read", argv[3], (char *)NULL);
				_exit(127);
			}
			printf("%d\n", (int)pid);
			fflush(stdout);
			if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
				bad = 1;
		}
		return bad;
	}
	if (argc == 3 && !strcmp(argv[1], "spin")) {
		time_t end = time(NULL) + atoi(argv[2]);
		volatile unsigned long x = 0;

		while (time(NULL) < end)
			for (int i = 0; i < 1000000; i++)
				x += (unsigned long)i;
		return 0;
	}
	fprintf(stderr, "usage: attrprobe read|actexec FILE | storm N FILE EXE | spin S\n");
	return 2;
}
