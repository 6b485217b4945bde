/*
 * clock.h - time for the test harness and the bench: monotonic and
 * wall-clock readings, the agent's timestamps read back, and a sleep that
 * a stop signal can end.
 */
#ifndef TL_CLOCK_H
#define TL_CLOCK_H

#include <stdint.h>

uint64_t tl_now_ns(void);  /* CLOCK_MONOTONIC */
uint64_t tl_now_ms(void);  /* CLOCK_MONOTONIC */
uint64_t tl_real_ms(void); /* CLOCK_REALTIME */
/* a timestamp as the agent prints it, "2026-01-02T03:04:05.123456Z", in
 * ms since the epoch (comparable with tl_real_ms()); -1 for anything else */
long long tl_iso_ms(const char *s);

/* Sleeps ms, across EINTR. After tl_exit_on_signals(), a SIGINT, SIGTERM
 * or SIGHUP ends the process instead (exit 128 + signal: atexit handlers
 * clean up), before, during or after the sleep. */
void tl_sleep_ms(unsigned ms);
/* From now on, those signals only set a flag that tl_sleep_ms() and
 * tl_check_signals() act on: a long run stops at its next wait. */
void tl_exit_on_signals(void);
/* exit(128 + signal) if one of those signals arrived */
void tl_check_signals(void);

#endif
