/*
 * Readiness and status for systemd (sd_notify).  Every function does
 * nothing when NOTIFY_SOCKET is unset or herald was built without
 * libsystemd, so heraldd runs the same in the foreground.
 */
#ifndef HERALD_NOTIFY_H
#define HERALD_NOTIFY_H

#include <stdint.h>

void	notify_ready(void);
void	notify_reloading(void);
void	notify_stopping(void);
void	notify_status(const char *, ...) __attribute__((format(printf, 1, 2)));
/* Microseconds between WATCHDOG=1 pings to send, 0 when not asked. */
uint64_t notify_watchdog_usec(void);
void	notify_watchdog(void);

#endif
