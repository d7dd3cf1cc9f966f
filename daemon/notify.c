/* sd_notify wrapper: READY, RELOADING, STOPPING, STATUS and WATCHDOG. */
#include "autoconf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "notify.h"

static void
notify_send(const char *msg)
{
#ifdef HAVE_SYSTEMD
	if (getenv("NOTIFY_SOCKET") != NULL)
		sd_notify(0, msg);
#else
	(void)msg;
#endif
}

void
notify_ready(void)
{
	notify_send("READY=1");
}

void
notify_reloading(void)
{
	notify_send("RELOADING=1");
}

void
notify_stopping(void)
{
	notify_send("STOPPING=1");
}

void
notify_status(const char *fmt, ...)
{
	char	msg[512];
	va_list	ap;
	int	n;

	n = snprintf(msg, sizeof(msg), "STATUS=");
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	notify_send(msg);
}

uint64_t
notify_watchdog_usec(void)
{
#ifdef HAVE_SYSTEMD
	uint64_t	usec;

	if (sd_watchdog_enabled(0, &usec) > 0)
		return usec;
#endif
	return 0;
}

void
notify_watchdog(void)
{
	notify_send("WATCHDOG=1");
}
