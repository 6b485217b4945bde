/*
 * broken.h - how a fuzz harness reports a property the code under test
 * broke (as opposed to a crash, which the sanitizers report).
 */
#ifndef JB_FUZZ_BROKEN_H
#define JB_FUZZ_BROKEN_H

/* "HARNESS: what" on stderr, then abort(): libFuzzer keeps the input. */
void broken(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

#endif
