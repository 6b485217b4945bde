/*
 * clock.c - time and sleeping for tests/ and bench/ (see clock.h).
 *
 * Invariants:
 *  - waits are measured on CLOCK_MONOTONIC; CLOCK_REALTIME only for
 *    comparing with the timestamps the agent prints.
 *  - the signal handler only stores the signal number; the exit happens
 *    in ordinary code (tl_sleep_ms, tl_check_signals), where atexit
 *    handlers may kill children and remove files.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/lib/clock.h"

static volatile sig_atomic_t stop_sig;

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t tl_now_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

uint64_t tl_now_ms(void)
{
	return clock_ns(CLOCK_MONOTONIC) / 1000000;
}

uint64_t tl_real_ms(void)
{
	return clock_ns(CLOCK_REALTIME) / 1000000;
}

long long tl_iso_ms(const char *s)
{
	struct tm tm = {0};
	char *end;
	long us;

	if (!s || strlen(s) != 27 || s[26] != 'Z' || s[19] != '.')
		return -1;
	end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!end || *end != '.')
		return -1;
	us = strtol(end + 1, &end, 10);
	if (*end != 'Z')
		return -1;
	return (long long)timegm(&tm) * 1000 + us / 1000;
}

void tl_check_signals(void)
{
	if (stop_sig)
		exit(128 + stop_sig);
}

void tl_sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	tl_check_signals();
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		tl_check_signals();
	tl_check_signals();
}

static void on_signal(int sig)
{
	stop_sig = sig;
}

void tl_exit_on_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}
