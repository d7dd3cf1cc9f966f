/* Logging to stderr, with journald priority prefixes under systemd. */
#include "autoconf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"

static const char	*log_progname = "herald";
static int		 log_prefix;
static int		 log_level = LOG_LEVEL_INFO;

/*
 * Start logging as progname.  With prefix < 0, decide from the
 * environment: journald sets JOURNAL_STREAM on the services it captures.
 */
void
log_init(const char *progname, int prefix)
{
	log_progname = progname;
	if (prefix < 0)
		prefix = getenv("JOURNAL_STREAM") != NULL;
	log_prefix = prefix;
}

void
log_setlevel(int level)
{
	log_level = level;
}

int
log_getlevel(void)
{
	return log_level;
}

static const struct {
	const char	*name;
	int		 level;
} log_levels[] = {
	{ "error", LOG_LEVEL_ERR },
	{ "warning", LOG_LEVEL_WARNING },
	{ "notice", LOG_LEVEL_NOTICE },
	{ "info", LOG_LEVEL_INFO },
	{ "debug", LOG_LEVEL_DEBUG },
};

int
log_level_parse(const char *s)
{
	size_t	i;

	for (i = 0; i < sizeof(log_levels) / sizeof(log_levels[0]); i++)
		if (strcasecmp(s, log_levels[i].name) == 0)
			return log_levels[i].level;
	return -1;
}

const char *
log_level_name(int level)
{
	size_t	i;

	for (i = 0; i < sizeof(log_levels) / sizeof(log_levels[0]); i++)
		if (log_levels[i].level == level)
			return log_levels[i].name;
	return "unknown";
}

static void
log_vwrite(int pri, const char *fmt, va_list ap, const char *err)
{
	char	line[8192];
	int	n;

	if (pri > log_level)
		return;
	n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n < 0)
		return;
	if (log_prefix)
		fprintf(stderr, "<%d>%s%s%s\n", pri, line,
		    err ? ": " : "", err ? err : "");
	else
		fprintf(stderr, "%s: %s%s%s\n", log_progname, line,
		    err ? ": " : "", err ? err : "");
}

#define LOG_BODY(pri, err) do {				\
	va_list	ap;					\
	va_start(ap, fmt);				\
	log_vwrite((pri), fmt, ap, (err));		\
	va_end(ap);					\
} while (0)

void
log_warn(const char *fmt, ...)
{
	const char	*e = strerror(errno);

	LOG_BODY(LOG_LEVEL_WARNING, e);
}

void
log_warnx(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_WARNING, NULL);
}

void
log_notice(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_NOTICE, NULL);
}

void
log_info(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_INFO, NULL);
}

void
log_debug(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_DEBUG, NULL);
}

void
fatal(const char *fmt, ...)
{
	const char	*e = strerror(errno);

	LOG_BODY(LOG_LEVEL_ERR, e);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_ERR, NULL);
	exit(1);
}
