/*
 * clock.h - time for the test harness and the bench: monotonic and
 * wall-clock readings, and a sleep that a stop signal can end.
 */
#ifndef TL_CLOCK_H
#define TL_CLOCK_H

#include <stdint.h>

uint64_t tl_now_ns(void);  /* CLOCK_MONOTONIC */
uint64_t tl_now_ms(void);  /* CLOCK_MONOTONIC */
uint64_t tl_real_ms(void); /* CLOCK_REALTIME */

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
