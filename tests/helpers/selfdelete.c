/*
 * selfdelete.c - test helper: unlinks the file it is running from (found
 * through /proc/self/exe) and exits, the pattern binary_self_deletion
 * detects. Exit 0 when the unlink worked.
 */
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	char path[4096];
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);

	if (n <= 0)
		return 1;
	path[n] = '\0';
	if (unlink(path) < 0) {
		perror(path);
		return 2;
	}
	return 0;
}
