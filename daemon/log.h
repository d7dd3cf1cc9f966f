/*
 * Logging in the OpenBSD vocabulary.  log_warn appends strerror(errno),
 * log_warnx does not.  Lines go to stderr; under systemd (JOURNAL_STREAM
 * set, or log_init(..., 1)) each line carries a <N> priority prefix that
 * journald understands.
 */
#ifndef HERALD_LOG_H
#define HERALD_LOG_H

#include <stdarg.h>

enum log_level {
	LOG_LEVEL_ERR = 3,
	LOG_LEVEL_WARNING = 4,
	LOG_LEVEL_NOTICE = 5,
	LOG_LEVEL_INFO = 6,
	LOG_LEVEL_DEBUG = 7,
};

void	log_init(const char *progname, int prefix);
void	log_setlevel(int);
int	log_getlevel(void);
int	log_level_parse(const char *);	/* -1 when unknown */
const char *log_level_name(int);

#define LOGFMT __attribute__((format(printf, 1, 2)))
void	log_warn(const char *, ...) LOGFMT;
void	log_warnx(const char *, ...) LOGFMT;
void	log_notice(const char *, ...) LOGFMT;
void	log_info(const char *, ...) LOGFMT;
void	log_debug(const char *, ...) LOGFMT;
void	fatal(const char *, ...) LOGFMT __attribute__((noreturn));
void	fatalx(const char *, ...) LOGFMT __attribute__((noreturn));
#undef LOGFMT

#endif
