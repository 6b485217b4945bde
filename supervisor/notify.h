/*
 * notify.h - the supervisor under systemd (Type=notify): READY, STATUS,
 * WATCHDOG, RELOADING and STOPPING through sd_notify(3). Every call is a
 * no-op when NOTIFY_SOCKET is unset (a run from a terminal or a test).
 */
#ifndef JB_SUP_NOTIFY_H
#define JB_SUP_NOTIFY_H

#include <stdint.h>

struct sup;

/* After the BPF programs are attached and the loop and its timers exist
 * (before the children start): arms the status and watchdog timers.
 * 0, or -1 when a timer cannot be made (logged; the agent runs on, and
 * systemd restarts it if it expected a watchdog). */
int sup_notify_init(struct sup *s);
void sup_notify_cadence(struct sup *s);		/* a cadence query ran */
void sup_notify_reloading(struct sup *s);	/* SIGHUP: before the reload */
void sup_notify_reloaded(struct sup *s);	/* and after it (applied or refused) */
void sup_notify_stopping(struct sup *s);	/* shutdown begins */
void sup_notify_free(struct sup *s);

/* The watchdog's rule, apart so a test can drive it: the loop is healthy
 * when a cadence query ran (or, before the first, the loop started) at
 * most SUP_NOTIFY_CADENCES cadences + 1 s before now. */
#define SUP_NOTIFY_CADENCES 3
int sup_notify_healthy(uint64_t now_ms, uint64_t last_cadence_ms, uint32_t cadence_ms);
/* Half of WATCHDOG_USEC in ms (sd_watchdog_enabled: WATCHDOG_PID, when
 * set, must be ours), or 0 when systemd expects no watchdog from us. */
uint64_t sup_notify_watchdog_ms(void);

#endif
