/*
 * The configuration file (/etc/herald/herald.conf, libconfig syntax) read
 * into a struct config.  Every key is described once, in a table in
 * config.c, with its type, default and bounds; the same table drives
 * parsing, the detection of unknown keys and the defaults.
 * herald.conf(5) documents every key.
 */
#ifndef HERALD_CONFIG_H
#define HERALD_CONFIG_H

#include "errlist.h"

/* How the SMTP connection is protected. */
enum config_tls {
	CONFIG_TLS_AUTO,	/* only in the file: resolved by config_load */
	CONFIG_TLS_NONE,	/* plain text */
	CONFIG_TLS_STARTTLS,	/* STARTTLS required (CURLUSESSL_ALL) */
	CONFIG_TLS_IMPLICIT,	/* TLS from the first byte (smtps://) */
	CONFIG_TLS_OPPORTUNISTIC, /* STARTTLS when offered (CURLUSESSL_TRY) */
};

/*
 * Strings are allocated and owned by the struct; NULL means "not set".
 * Durations are in seconds, sizes in bytes, rates in messages; 0 in a
 * rate or limit means "unlimited" where herald.conf(5) says so.
 */
struct config {
	char	*path;			/* the file read; NULL for defaults */

	char	*database;		/* SQLite file */
	char	*templates;		/* folder of template folders */
	int	 log_level;		/* LOG_LEVEL_* of log.h */

	struct {
		char	*from_address;	/* required */
		char	*from_name;
		char	*reply_to;
		char	*message_id_domain;	/* default: domain of from_address */
		char	*postal_address;	/* may hold newlines */
	} sender;

	struct {
		char	*url;		/* smtp://host:port or smtps://host:port */
		char	*username;
		char	*password_file;
		int	 tls;		/* enum config_tls, never AUTO after load */
		char	*ca_file;
		int	 connections;
		int	 messages_per_connection;	/* 0: unlimited */
		int	 rate_per_second;		/* 0: unlimited */
		int	 rate_per_minute;
		int	 rate_per_hour;
		int	 rate_per_day;
		int	 connect_timeout;
		int	 response_timeout;
		int	 low_speed_limit;	/* bytes per second */
		int	 low_speed_time;	/* seconds below it; 0: off */
	} smtp;

	struct {
		char	*listen;	/* as written: "127.0.0.1:8025" */
		char	*listen_host;	/* without brackets: "::1"; NULL: none */
		int	 listen_port;
		char	*base_url;	/* required; no trailing slash */
		char	*secret_file;
		int	 token_expiry;		/* confirmation tokens */
		int	 max_body;		/* bytes */
		int	 subscribes_per_ip_per_hour;	/* 0: unlimited */
		int	 subscribes_per_address_per_day;
		int	 max_connections;
		int	 connection_timeout;
		int	 threads;		/* serving threads */
		int	 trust_proxy;		/* bool: X-Forwarded-For */
	} http;

	struct {
		int	 max_age;		/* give up on a message after */
		int	 backoff_initial;
		int	 backoff_max;
		int	 pause_after_policy_failures;	/* 0: never pause */
		int	 shutdown_grace;
		int	 sync_interval;	/* seconds; 0: fsync every commit */
		int	 batch_size;		/* results per commit */
		int	 verp;			/* bool */
		char	*bounce_domain;		/* default: domain of from_address */
	} delivery;
};

/*
 * Read path into a fresh struct.  Every error is added to errs as
 * "FILE:LINE: message"; the result is NULL when there was any.
 * password_file and secret_file are checked for their mode when they
 * exist; a missing one is only an error for config_read_secret().
 * Relative paths in the file are taken relative to its folder.
 */
struct config	*config_load(const char *path, struct errlist *errs);
/* Every default, no required key set (sender.from_address is NULL). */
struct config	*config_defaults(void);
void		 config_free(struct config *);
/* SYSCONFDIR "/herald/herald.conf" */
const char	*config_default_path(void);
/* A duration as the configuration writes it ("90s", "15m", "4h", "2d",
 * "1w", or seconds): seconds, or -1 when malformed. */
long long	 config_parse_duration(const char *);
const char	*config_tls_name(int);
/* The host of a URL after "scheme://", without brackets; NULL if none. */
char		*config_url_host(const char *url);

/*
 * Read a secret (password, HMAC key) from path into *out (allocated;
 * the caller wipes it with explicit_bzero or freezero_str).  Refuses a
 * file that is not regular, is readable or writable by group or others,
 * is empty or holds a NUL byte; strips one trailing newline.  Returns 0,
 * or -1 with *cause allocated.
 */
int	config_read_secret(const char *path, char **out, char **cause);

#endif
