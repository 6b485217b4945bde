/*
 * tiny.c - the exec storm's target: it does nothing and exits 0, so that a
 * fork+exec+wait of it measures the kernel's exec path (and whatever an
 * agent hooks on it), not the program. gcc links with --as-needed here, so
 * it needs only libc despite the libraries every bench program is given.
 */
int main(void)
{
	return 0;
}
