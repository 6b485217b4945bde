/*
 * exechop.c - test helper for tests/check_attribution.c: an image whose
 * only act is its own exec. Built static and without libc (Makefile), so
 * that between the kernel's exec of it and its own execve("/bin/true")
 * nothing opens, maps or connects: no loader, no libc start-up.
 *   exechop     execs /bin/true at once (exit status: true's; 127 if the
 *               exec failed)
 * x86_64 only (raw syscalls); other architectures build a stub that
 * exits 2, and the test reports the case as skipped.
 */
#if defined(__x86_64__)
static long sys3(long nr, long a, long b, long c)
{
	long ret;

	__asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b), "d"(c)
			 : "rcx", "r11", "memory");
	return ret;
}

void _start(void)
{
	static const char path[] = "/bin/true";
	static char *const argv[] = {"true", 0};
	static char *const envp[] = {0};

	sys3(59 /* execve */, (long)path, (long)argv, (long)envp);
	sys3(60 /* exit */, 127, 0, 0);
	for (;;)
		;
}
#else
void _start(void)
{
	for (;;)
		;
}
#endif
