/* The configuration file: libconfig syntax to struct config, every error reported. */
#include "autoconf.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <libconfig.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <unistr.h>

#include "buf.h"
#include "addr.h"
#include "config.h"
#include "errlist.h"
#include "log.h"
#include "xmalloc.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#ifndef PKGDATADIR
#define PKGDATADIR "/usr/share/herald"
#endif

#define CONFIG_SECRET_MAX	65536

enum ckey_type {
	CK_STRING,
	CK_INT,
	CK_BOOL,
	CK_ENUM,
	CK_DURATION,	/* seconds, or a string "90s", "15m", "4h", "4d", "1w" */
	CK_SIZE,	/* bytes, or a string "512", "64k", "1M" */
};

#define CK_REQUIRED	0x01	/* no default: the file must set it */
#define CK_PATH		0x02	/* relative to the folder of the file */
#define CK_SECRET	0x04	/* names a secret file: its mode is checked */
#define CK_EMPTY	0x08	/* "" is allowed */
#define CK_MULTILINE	0x10	/* newlines allowed */

struct cenum {
	const char	*name;
	int		 value;
};

/* One key of the file: its type, where it goes, its default and bounds. */
struct ckey {
	const char		*name;	/* full dotted path */
	enum ckey_type		 type;
	size_t			 off;	/* into struct config */
	int			 flags;
	const char		*sdef;	/* string default (NULL: unset) */
	long long		 idef;	/* numeric or enum default */
	long long		 min, max;
	const struct cenum	*values;	/* CK_ENUM */
	const char		*(*check)(const char *);	/* CK_STRING */
};

static const char	*check_address(const char *);
static const char	*check_domain(const char *);
static const char	*check_smtp_url(const char *);
static const char	*check_base_url(const char *);
static const char	*check_listen(const char *);

static const struct cenum tls_values[] = {
	{ "auto", CONFIG_TLS_AUTO },
	{ "none", CONFIG_TLS_NONE },
	{ "starttls", CONFIG_TLS_STARTTLS },
	{ "implicit", CONFIG_TLS_IMPLICIT },
	{ "opportunistic", CONFIG_TLS_OPPORTUNISTIC },
	{ NULL, 0 },
};

static const struct cenum log_values[] = {
	{ "error", LOG_LEVEL_ERR },
	{ "warning", LOG_LEVEL_WARNING },
	{ "notice", LOG_LEVEL_NOTICE },
	{ "info", LOG_LEVEL_INFO },
	{ "debug", LOG_LEVEL_DEBUG },
	{ NULL, 0 },
};

#define O(f)	offsetof(struct config, f)
#define MIN	60
#define HOUR	(60 * MIN)
#define DAY	(24 * HOUR)
#define KB	1024
#define MB	(1024 * KB)

#define STR(n, f, fl, d, ck) \
	{ n, CK_STRING, O(f), fl, d, 0, 0, 0, NULL, ck }
#define NUM(n, t, f, d, lo, hi) \
	{ n, t, O(f), 0, NULL, d, lo, hi, NULL, NULL }
#define ENUM(n, f, d, v) \
	{ n, CK_ENUM, O(f), 0, NULL, d, 0, 0, v, NULL }

/*
 * Every key herald knows, in the order of herald.conf(5).  The groups
 * are implied by the dotted names.
 */
static const struct ckey ckeys[] = {
	STR("database", database, CK_PATH, "/var/lib/herald/herald.db", NULL),
	STR("templates", templates, CK_PATH, PKGDATADIR "/templates", NULL),
	ENUM("log_level", log_level, LOG_LEVEL_INFO, log_values),

	STR("sender.from_address", sender.from_address, CK_REQUIRED, NULL,
	    check_address),
	STR("sender.from_name", sender.from_name, CK_EMPTY, NULL, NULL),
	STR("sender.reply_to", sender.reply_to, 0, NULL, check_address),
	STR("sender.message_id_domain", sender.message_id_domain, 0, NULL,
	    check_domain),
	STR("sender.postal_address", sender.postal_address,
	    CK_EMPTY | CK_MULTILINE, NULL, NULL),

	STR("smtp.url", smtp.url, 0, "smtp://127.0.0.1:25", check_smtp_url),
	STR("smtp.username", smtp.username, 0, NULL, NULL),
	STR("smtp.password_file", smtp.password_file, CK_PATH | CK_SECRET,
	    NULL, NULL),
	ENUM("smtp.tls", smtp.tls, CONFIG_TLS_AUTO, tls_values),
	STR("smtp.ca_file", smtp.ca_file, CK_PATH, NULL, NULL),
	NUM("smtp.connections", CK_INT, smtp.connections, 4, 1, 100),
	NUM("smtp.messages_per_connection", CK_INT,
	    smtp.messages_per_connection, 100, 0, 1000000),
	NUM("smtp.rate.per_second", CK_INT, smtp.rate_per_second, 0, 0,
	    1000000),
	NUM("smtp.rate.per_minute", CK_INT, smtp.rate_per_minute, 0, 0,
	    10000000),
	NUM("smtp.rate.per_hour", CK_INT, smtp.rate_per_hour, 0, 0,
	    100000000),
	NUM("smtp.rate.per_day", CK_INT, smtp.rate_per_day, 0, 0,
	    1000000000),
	NUM("smtp.timeout.connect", CK_DURATION, smtp.connect_timeout, 30, 1,
	    10 * MIN),
	NUM("smtp.timeout.response", CK_DURATION, smtp.response_timeout,
	    10 * MIN, 1, HOUR),
	NUM("smtp.timeout.low_speed_limit", CK_SIZE, smtp.low_speed_limit, 1,
	    0, 100 * MB),
	NUM("smtp.timeout.low_speed_time", CK_DURATION, smtp.low_speed_time,
	    MIN, 0, HOUR),

	STR("http.listen", http.listen, 0, "127.0.0.1:8025", check_listen),
	STR("http.base_url", http.base_url, CK_REQUIRED, NULL, check_base_url),
	STR("http.secret_file", http.secret_file, CK_PATH | CK_SECRET,
	    SYSCONFDIR "/herald/secret", NULL),
	NUM("http.token_expiry", CK_DURATION, http.token_expiry, 7 * DAY, HOUR,
	    365 * DAY),
	NUM("http.max_body", CK_SIZE, http.max_body, 16 * KB, 1 * KB, 16 * MB),
	NUM("http.subscribes_per_ip_per_hour", CK_INT,
	    http.subscribes_per_ip_per_hour, 20, 0, 1000000),
	NUM("http.subscribes_per_address_per_day", CK_INT,
	    http.subscribes_per_address_per_day, 3, 0, 1000000),
	NUM("http.max_connections", CK_INT, http.max_connections, 64, 1,
	    10000),
	NUM("http.connection_timeout", CK_DURATION, http.connection_timeout, 30,
	    1, HOUR),
	NUM("http.threads", CK_INT, http.threads, 2, 1, 64),
	NUM("http.trust_proxy", CK_BOOL, http.trust_proxy, 1, 0, 1),

	NUM("delivery.max_age", CK_DURATION, delivery.max_age, 4 * DAY, HOUR,
	    30 * DAY),
	NUM("delivery.backoff_initial", CK_DURATION, delivery.backoff_initial,
	    5 * MIN, 1, DAY),
	NUM("delivery.backoff_max", CK_DURATION, delivery.backoff_max, 4 * HOUR,
	    1, 7 * DAY),
	NUM("delivery.pause_after_policy_failures", CK_INT,
	    delivery.pause_after_policy_failures, 10, 0, 1000000),
	NUM("delivery.shutdown_grace", CK_DURATION, delivery.shutdown_grace, 30,
	    0, HOUR),
	NUM("delivery.sync_interval", CK_DURATION, delivery.sync_interval, 1,
	    0, MIN),
	NUM("delivery.batch_size", CK_INT, delivery.batch_size, 100, 1, 100000),
	NUM("delivery.verp", CK_BOOL, delivery.verp, 0, 0, 1),
	STR("delivery.bounce_domain", delivery.bounce_domain, 0, NULL,
	    check_domain),
};

#undef STR
#undef NUM
#undef ENUM
#undef O

#define NKEYS	(sizeof(ckeys) / sizeof(ckeys[0]))

/* The state of one config_load. */
struct cload {
	struct config	*conf;
	struct errlist	*errs;
	config_t	*cfg;
	const char	*path;
	char		*dir;		/* folder of path, for relative paths */
	const char	*kfile[NKEYS];	/* where each key was set */
	int		 kline[NKEYS];	/* 0: not in the file */
};

static char **
ckey_str(struct config *conf, const struct ckey *k)
{
	return (char **)((char *)conf + k->off);
}

static int *
ckey_int(struct config *conf, const struct ckey *k)
{
	return (int *)((char *)conf + k->off);
}

static const struct ckey *
ckey_find(const char *name, size_t *idx)
{
	size_t	i;

	for (i = 0; i < NKEYS; i++)
		if (strcmp(ckeys[i].name, name) == 0) {
			if (idx != NULL)
				*idx = i;
			return &ckeys[i];
		}
	return NULL;
}

/* Is name a group, that is a proper prefix of some key? */
static int
ckey_is_group(const char *name)
{
	size_t	i, n = strlen(name);

	for (i = 0; i < NKEYS; i++)
		if (strncmp(ckeys[i].name, name, n) == 0 &&
		    ckeys[i].name[n] == '.')
			return 1;
	return 0;
}

const char *
config_default_path(void)
{
	return SYSCONFDIR "/herald/herald.conf";
}

const char *
config_tls_name(int tls)
{
	size_t	i;

	for (i = 0; tls_values[i].name != NULL; i++)
		if (tls_values[i].value == tls)
			return tls_values[i].name;
	return "unknown";
}

/* --- checks of single values; each returns why the value is bad, or NULL */

static const char *
check_domain(const char *s)
{
	const char	*p;
	size_t		 label = 0;

	if (*s == '\0')
		return "is empty";
	for (p = s; *p != '\0'; p++) {
		unsigned char	c = *p;

		if (c == '.') {
			if (label == 0)
				return "has an empty label";
			label = 0;
			continue;
		}
		if (!(c >= 0x80 || (c >= 'a' && c <= 'z') ||
		    (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-'))
			return "is not a domain name";
		if (++label > 63)
			return "has a label longer than 63 octets";
	}
	if (label == 0)
		return "ends with a dot";
	return NULL;
}

/* The same address check as for subscribers (addr.c). */
static const char *
check_address(const char *s)
{
	static char	 why[ADDR_WHY_MAX + 32];
	char		 w[ADDR_WHY_MAX];
	char		*norm = NULL;

	if (addr_check_r(s, &norm, w, sizeof(w)) != 0) {
		snprintf(why, sizeof(why), "is not an address: %s", w);
		return why;
	}
	free(norm);
	return NULL;
}

/* Split "host:port" or "[v6]:port"; *host allocated. */
static const char *
listen_split(const char *s, char **host, int *port)
{
	const char	*colon, *h, *he;
	char		*end;
	long		 n;

	if (*s == '[') {
		h = s + 1;
		if ((he = strchr(h, ']')) == NULL)
			return "has a [ without ]";
		if (he[1] != ':')
			return "needs a port: \"[ADDRESS]:PORT\"";
		colon = he + 1;
	} else {
		h = s;
		if ((colon = strrchr(s, ':')) == NULL)
			return "needs a port: \"ADDRESS:PORT\"";
		if (memchr(s, ':', colon - s) != NULL)
			return "is an IPv6 address: write it \"[ADDRESS]:PORT\"";
		he = colon;
	}
	if (he == h)
		return "has an empty address";
	errno = 0;
	n = strtol(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || errno != 0 || n < 1 ||
	    n > 65535)
		return "has a port that is not a number from 1 to 65535";
	if (host != NULL)
		*host = xstrndup(h, he - h);
	if (port != NULL)
		*port = (int)n;
	return NULL;
}

static const char *
check_listen(const char *s)
{
	if (strcmp(s, "none") == 0)
		return NULL;
	return listen_split(s, NULL, NULL);
}

char *
config_url_host(const char *url)
{
	const char	*p, *e;

	if ((p = strstr(url, "://")) == NULL)
		return NULL;
	p += 3;
	if (strchr(p, '@') != NULL && strchr(p, '@') < p + strcspn(p, "/"))
		p = strchr(p, '@') + 1;
	if (*p == '[') {
		if ((e = strchr(p, ']')) == NULL)
			return NULL;
		return xstrndup(p + 1, e - p - 1);
	}
	e = p + strcspn(p, ":/?#");
	if (e == p)
		return NULL;
	return xstrndup(p, e - p);
}

static int
host_is_loopback(const char *h)
{
	return strcasecmp(h, "localhost") == 0 || strcmp(h, "::1") == 0 ||
	    strncmp(h, "127.", 4) == 0;
}

static const char *
check_smtp_url(const char *s)
{
	char	*h;

	if (strncasecmp(s, "smtp://", 7) != 0 &&
	    strncasecmp(s, "smtps://", 8) != 0)
		return "must start with smtp:// or smtps://";
	if (strchr(s, '@') != NULL)
		return "must not hold credentials: use smtp.username and "
		    "smtp.password_file";
	if ((h = config_url_host(s)) == NULL)
		return "has no host";
	free(h);
	return NULL;
}

static const char *
check_base_url(const char *s)
{
	char	*h;

	if (strncasecmp(s, "https://", 8) != 0 &&
	    strncasecmp(s, "http://", 7) != 0)
		return "must start with https:// (or http://)";
	if (strpbrk(s, "?#") != NULL)
		return "must not have a query or fragment";
	if ((h = config_url_host(s)) == NULL)
		return "has no host";
	free(h);
	return NULL;
}

/* Control characters, invalid UTF-8, U+2028 and U+2029 can forge headers. */
static const char *
check_text(const char *s, int multiline)
{
	const unsigned char	*p;

	if (u8_check((const uint8_t *)s, strlen(s)) != NULL)
		return "is not valid UTF-8";
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '\n' && multiline)
			continue;
		if (*p < 0x20 || *p == 0x7f)
			return multiline ? "holds a control character" :
			    "holds a control character (a newline?)";
		if (p[0] == 0xe2 && p[1] == 0x80 &&
		    (p[2] == 0xa8 || p[2] == 0xa9))
			return "holds a Unicode line or paragraph separator";
	}
	return NULL;
}

/* --- durations and sizes */

static const char *
unit_name(enum ckey_type t, long long v, char *out, size_t len)
{
	static const struct {
		long long	 n;
		const char	*u;
	} dur[] = {
		{ 7 * DAY, "w" }, { DAY, "d" }, { HOUR, "h" }, { MIN, "m" },
		{ 1, "s" },
	}, size[] = {
		{ MB, "M" }, { KB, "k" }, { 1, "" },
	};
	size_t	i, n;

	if (t == CK_DURATION || t == CK_SIZE) {
		n = t == CK_DURATION ? 5 : 3;
		for (i = 0; i < n; i++) {
			long long	 m = t == CK_DURATION ? dur[i].n : size[i].n;
			const char	*u = t == CK_DURATION ? dur[i].u : size[i].u;

			if (v != 0 && v % m == 0) {
				snprintf(out, len, "%lld%s", v / m, u);
				return out;
			}
		}
		snprintf(out, len, "%lld%s", v, t == CK_DURATION ? "s" : "");
		return out;
	}
	snprintf(out, len, "%lld", v);
	return out;
}

/* "4d" to 345600; -1 when malformed. */
static long long
unit_parse(enum ckey_type t, const char *s)
{
	char		*end;
	long long	 n, m = 1;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno != 0 || n > INT_MAX)
		return -1;
	if (t == CK_DURATION) {
		switch (*end) {
		case '\0': case 's': m = 1; break;
		case 'm': m = MIN; break;
		case 'h': m = HOUR; break;
		case 'd': m = DAY; break;
		case 'w': m = 7 * DAY; break;
		default: return -1;
		}
	} else {
		switch (*end) {
		case '\0': m = 1; break;
		case 'k': case 'K': m = KB; break;
		case 'm': case 'M': m = MB; break;
		default: return -1;
		}
	}
	if (*end != '\0' && end[1] != '\0')
		return -1;
	if (n > INT_MAX / m)
		return -1;
	return n * m;
}

long long
config_parse_duration(const char *s)
{
	return unit_parse(CK_DURATION, s);
}

/* --- error reporting */

static const char *
setting_file(struct cload *cl, const config_setting_t *s)
{
	const char	*f = s != NULL ? config_setting_source_file(s) : NULL;

	return f != NULL ? f : cl->path;
}

static int
setting_line(const config_setting_t *s)
{
	int	line = s != NULL ? config_setting_source_line(s) : 0;

	return line > 0 ? line : 1;
}

static const char *
type_name(int type)
{
	switch (type) {
	case CONFIG_TYPE_GROUP:
		return "a group";
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		return "an integer";
	case CONFIG_TYPE_FLOAT:
		return "a decimal number";
	case CONFIG_TYPE_STRING:
		return "a string";
	case CONFIG_TYPE_BOOL:
		return "a boolean";
	case CONFIG_TYPE_ARRAY:
		return "an array";
	case CONFIG_TYPE_LIST:
		return "a list";
	}
	return "something else";
}

static const char *
ckey_type_name(enum ckey_type t)
{
	switch (t) {
	case CK_STRING:
	case CK_ENUM:
		return "a string";
	case CK_INT:
		return "an integer";
	case CK_BOOL:
		return "a boolean (true or false)";
	case CK_DURATION:
		return "a duration (seconds, or a string such as \"15m\")";
	case CK_SIZE:
		return "a size (bytes, or a string such as \"64k\")";
	}
	return "?";
}

/* Edit distance of two short names, a swap of neighbours counting one. */
static size_t
edit_distance(const char *a, const char *b)
{
	size_t	la = strlen(a), lb = strlen(b), i, j, c, v;
	size_t	d[64][64];

	if (la >= 64 || lb >= 64)
		return 99;
	for (i = 0; i <= la; i++)
		d[i][0] = i;
	for (j = 0; j <= lb; j++)
		d[0][j] = j;
	for (i = 1; i <= la; i++)
		for (j = 1; j <= lb; j++) {
			c = a[i - 1] != b[j - 1];
			v = d[i - 1][j - 1] + c;
			if (d[i - 1][j] + 1 < v)
				v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	return d[la][lb];
}

/*
 * The closest known name to an unknown one: a sibling at edit distance
 * 1 or 2, or else the same name in another group.  Allocated, or NULL.
 */
static char *
suggest(const char *prefix, const char *name)
{
	size_t		 i, plen = prefix ? strlen(prefix) + 1 : 0, best = 99;
	size_t		 limit = strlen(name) <= 4 ? 1 : 2, d;
	char		*out = NULL, *leaf;
	const char	*rest, *dot;

	for (i = 0; i < NKEYS; i++) {
		if (prefix != NULL && (strncmp(ckeys[i].name, prefix,
		    plen - 1) != 0 || ckeys[i].name[plen - 1] != '.'))
			continue;
		rest = ckeys[i].name + plen;
		dot = strchr(rest, '.');
		leaf = dot ? xstrndup(rest, dot - rest) : xstrdup(rest);
		d = edit_distance(name, leaf);
		if (d <= limit && d < best) {
			best = d;
			free(out);
			out = prefix ? xsprintf("%s.%s", prefix, leaf) :
			    xstrdup(leaf);
		}
		free(leaf);
	}
	if (out != NULL)
		return out;
	/* The right name in the wrong group. */
	for (i = 0; i < NKEYS; i++) {
		const char	*p = ckeys[i].name;

		while (p != NULL) {
			dot = strchr(p, '.');
			if ((dot ? (size_t)(dot - p) : strlen(p)) == strlen(name) &&
			    strncmp(p, name, strlen(name)) == 0)
				return xstrndup(ckeys[i].name,
				    (dot ? dot : p + strlen(p)) - ckeys[i].name);
			p = dot ? dot + 1 : NULL;
		}
	}
	return NULL;
}

static void
report_unknown(struct cload *cl, config_setting_t *s, const char *prefix,
    const char *full)
{
	char		*hint = suggest(prefix, config_setting_name(s));
	const char	*what = config_setting_is_group(s) ? "group" : "key";

	if (hint != NULL)
		errlist_add(cl->errs, "%s:%d: unknown %s %s (did you mean %s?)",
		    setting_file(cl, s), setting_line(s), what, full, hint);
	else
		errlist_add(cl->errs, "%s:%d: unknown %s %s",
		    setting_file(cl, s), setting_line(s), what, full);
	free(hint);
}

/* --- setting values */

static void
set_string(struct cload *cl, const struct ckey *k, const char *v)
{
	char	**dst = ckey_str(cl->conf, k);

	free(*dst);
	if ((k->flags & CK_PATH) && v[0] != '/' && cl->dir != NULL)
		*dst = xsprintf("%s/%s", cl->dir, v);
	else
		*dst = xstrdup(v);
}

/*
 * libconfig 1.5 reads a decimal integer beyond 32 bits without an L
 * suffix as its low 32 bits, silently.  Find "name = digits" on the
 * setting's line and return the number written there, so that a range
 * error quotes it; return n when the text is not found as expected.
 */
static long long
raw_integer(const char *file, int line, const char *name, long long n)
{
	FILE		*fp;
	char		*text = NULL, *p, *end;
	size_t		 cap = 0, len = strlen(name);
	long long	 v;
	int		 i;

	if ((fp = fopen(file, "r")) == NULL)
		return n;
	for (i = 0; i < line; i++)
		if (getline(&text, &cap, fp) == -1) {
			free(text);
			fclose(fp);
			return n;
		}
	fclose(fp);
	for (p = text; (p = strstr(p, name)) != NULL; p += len) {
		if (p > text && (p[-1] == '_' || (p[-1] >= 'a' &&
		    p[-1] <= 'z')))
			continue;
		end = p + len;
		end += strspn(end, " \t");
		if (*end != '=' && *end != ':')
			continue;
		end++;
		end += strspn(end, " \t");
		if (!((end[0] >= '0' && end[0] <= '9') || ((end[0] == '-' ||
		    end[0] == '+') && end[1] >= '0' && end[1] <= '9')))
			break;
		if (end[0] == '0' && (end[1] == 'x' || end[1] == 'X'))
			break;
		errno = 0;
		v = strtoll(end, NULL, 10);
		if (errno == ERANGE)
			v = end[0] == '-' ? LLONG_MIN : LLONG_MAX;
		free(text);
		/* Only the same number, wrapped, is the one we look for. */
		return (int)(unsigned int)(unsigned long long)v == (int)n ?
		    v : n;
	}
	free(text);
	return n;
}

/* Check one setting against its key and store it in the struct. */
static void
config_set(struct cload *cl, const struct ckey *k, config_setting_t *s)
{
	const char		*file = setting_file(cl, s), *why, *v;
	const struct cenum	*e;
	int			 line = setting_line(s), type;
	long long		 n = 0;
	char			 lo[32], hi[32], got[32];
	struct buf		 b = BUF_INIT;

	type = config_setting_type(s);
	switch (k->type) {
	case CK_STRING:
	case CK_ENUM:
		if (type != CONFIG_TYPE_STRING)
			goto badtype;
		v = config_setting_get_string(s);
		if (v[0] == '\0' && !(k->flags & CK_EMPTY)) {
			errlist_add(cl->errs, "%s:%d: %s must not be empty "
			    "(comment it out to use the default)", file, line,
			    k->name);
			return;
		}
		if ((why = check_text(v, k->flags & CK_MULTILINE)) != NULL) {
			errlist_add(cl->errs, "%s:%d: %s %s", file, line,
			    k->name, why);
			return;
		}
		if (k->type == CK_ENUM) {
			for (e = k->values; e->name != NULL; e++)
				if (strcmp(e->name, v) == 0)
					break;
			if (e->name == NULL) {
				for (e = k->values; e->name != NULL; e++)
					buf_printf(&b, "%s\"%s\"",
					    e == k->values ? "" :
					    e[1].name == NULL ? " or " : ", ",
					    e->name);
				errlist_add(cl->errs, "%s:%d: %s must be %s, "
				    "not \"%s\"", file, line, k->name,
				    buf_cstr(&b), v);
				buf_free(&b);
				return;
			}
			*ckey_int(cl->conf, k) = e->value;
			return;
		}
		if (k->check != NULL && (why = k->check(v)) != NULL) {
			errlist_add(cl->errs, "%s:%d: %s \"%s\" %s", file,
			    line, k->name, v, why);
			return;
		}
		set_string(cl, k, v);
		return;
	case CK_BOOL:
		if (type != CONFIG_TYPE_BOOL)
			goto badtype;
		*ckey_int(cl->conf, k) = config_setting_get_bool(s);
		return;
	case CK_INT:
	case CK_DURATION:
	case CK_SIZE:
		if (type == CONFIG_TYPE_INT || type == CONFIG_TYPE_INT64) {
			n = config_setting_get_int64(s);
			if (type == CONFIG_TYPE_INT)
				n = raw_integer(file, line,
				    config_setting_name(s), n);
		}
		else if (type == CONFIG_TYPE_STRING && k->type != CK_INT) {
			v = config_setting_get_string(s);
			if ((n = unit_parse(k->type, v)) < 0) {
				errlist_add(cl->errs, "%s:%d: %s \"%s\" is not "
				    "%s", file, line, k->name, v,
				    ckey_type_name(k->type));
				return;
			}
		} else
			goto badtype;
		if (n < k->min || n > k->max) {
			errlist_add(cl->errs, "%s:%d: %s must be from %s to "
			    "%s, not %s", file, line, k->name,
			    unit_name(k->type, k->min, lo, sizeof(lo)),
			    unit_name(k->type, k->max, hi, sizeof(hi)),
			    unit_name(k->type, n, got, sizeof(got)));
			return;
		}
		*ckey_int(cl->conf, k) = (int)n;
		return;
	}
	return;

badtype:
	errlist_add(cl->errs, "%s:%d: %s must be %s, not %s", file, line,
	    k->name, ckey_type_name(k->type), type_name(type));
}

/* Visit every setting of a group, known or not. */
static void
config_walk(struct cload *cl, config_setting_t *group, const char *prefix)
{
	config_setting_t	*s;
	const struct ckey	*k;
	const char		*name;
	char			*full;
	size_t			 idx;
	int			 i, n = config_setting_length(group);

	for (i = 0; i < n; i++) {
		s = config_setting_get_elem(group, i);
		name = config_setting_name(s);
		if (name == NULL)
			continue;
		full = prefix ? xsprintf("%s.%s", prefix, name) :
		    xstrdup(name);
		if ((k = ckey_find(full, &idx)) != NULL) {
			cl->kfile[idx] = setting_file(cl, s);
			cl->kline[idx] = setting_line(s);
			config_set(cl, k, s);
		} else if (ckey_is_group(full)) {
			if (config_setting_is_group(s))
				config_walk(cl, s, full);
			else
				errlist_add(cl->errs, "%s:%d: %s must be a "
				    "group (%s = { ... };), not %s",
				    setting_file(cl, s), setting_line(s), full,
				    full, type_name(config_setting_type(s)));
		} else
			report_unknown(cl, s, prefix, full);
		free(full);
	}
}

/*
 * Where to point for key number idx: its own line, or else the line of
 * the closest enclosing group in the file, or else line 1.
 */
static int
key_where(struct cload *cl, size_t idx, const char **file)
{
	config_setting_t	*s;
	char			*name, *dot;
	int			 line = 1;

	if (cl->kline[idx] > 0) {
		*file = cl->kfile[idx];
		return cl->kline[idx];
	}
	*file = cl->path;
	name = xstrdup(ckeys[idx].name);
	while ((dot = strrchr(name, '.')) != NULL) {
		*dot = '\0';
		if ((s = config_lookup(cl->cfg, name)) != NULL) {
			*file = setting_file(cl, s);
			line = setting_line(s);
			break;
		}
	}
	free(name);
	return line;
}

static size_t
key_index(const char *name)
{
	size_t	idx = 0;

	if (ckey_find(name, &idx) == NULL)
		fatalx("config: no key %s", name);
	return idx;
}

/* Secret files: refuse what others can read or write. */
static int
secret_check_stat(const char *path, const struct stat *st, char **cause)
{
	mode_t		 m = st->st_mode;
	int		 g = (m & (S_IRGRP | S_IWGRP)) != 0;
	int		 o = (m & (S_IROTH | S_IWOTH)) != 0;
	int		 r = (m & (S_IRGRP | S_IROTH)) != 0;
	int		 w = (m & (S_IWGRP | S_IWOTH)) != 0;

	if (!S_ISREG(m)) {
		*cause = xsprintf("%s is not a regular file", path);
		return -1;
	}
	if (g || o) {
		*cause = xsprintf("%s is %s by %s (mode %04o): it holds a "
		    "secret; run chmod 600 %s", path,
		    r && w ? "readable and writable" : r ? "readable" :
		    "writable", g && o ? "group and others" : g ? "group" :
		    "others", (unsigned)(m & 07777), path);
		return -1;
	}
	return 0;
}

static void
error_at(struct cload *cl, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
error_at(struct cload *cl, const char *key, const char *fmt, ...)
{
	va_list		 ap;
	const char	*file;
	int		 line;
	char		*msg;

	line = key_where(cl, key_index(key), &file);
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	errlist_add(cl->errs, "%s:%d: %s", file, line,
	    msg ? msg : "(out of memory)");
	free(msg);
}

/* Values that depend on others, and checks across keys. */
static void
config_finish(struct cload *cl)
{
	struct config	*conf = cl->conf;
	struct stat	 st;
	char		*cause, *host = NULL, **p;
	const char	*domain, *why;
	size_t		 i, len;
	int		 implicit;

	for (i = 0; i < NKEYS; i++) {
		if ((ckeys[i].flags & CK_REQUIRED) &&
		    *ckey_str(conf, &ckeys[i]) == NULL &&
		    cl->kline[i] == 0)
			error_at(cl, ckeys[i].name, "%s is required",
			    ckeys[i].name);
		if (!(ckeys[i].flags & CK_SECRET))
			continue;
		p = ckey_str(conf, &ckeys[i]);
		if (*p == NULL)
			continue;
		if (stat(*p, &st) == -1) {
			if (errno != ENOENT)
				error_at(cl, ckeys[i].name, "%s: %s: %s",
				    ckeys[i].name, *p, strerror(errno));
			continue;
		}
		if (secret_check_stat(*p, &st, &cause) == -1) {
			error_at(cl, ckeys[i].name, "%s: %s", ckeys[i].name,
			    cause);
			free(cause);
		}
	}

	if (conf->sender.from_address != NULL) {
		domain = strrchr(conf->sender.from_address, '@') + 1;
		if (conf->sender.message_id_domain == NULL)
			conf->sender.message_id_domain = xstrdup(domain);
		if (conf->delivery.bounce_domain == NULL)
			conf->delivery.bounce_domain = xstrdup(domain);
	}

	if (conf->http.base_url != NULL) {
		len = strlen(conf->http.base_url);
		while (len > 0 && conf->http.base_url[len - 1] == '/')
			conf->http.base_url[--len] = '\0';
	}

	free(conf->http.listen_host);
	conf->http.listen_host = NULL;
	conf->http.listen_port = 0;
	if (strcmp(conf->http.listen, "none") != 0 &&
	    (why = listen_split(conf->http.listen, &conf->http.listen_host,
	    &conf->http.listen_port)) != NULL)
		error_at(cl, "http.listen", "http.listen \"%s\" %s",
		    conf->http.listen, why);

	implicit = strncasecmp(conf->smtp.url, "smtps://", 8) == 0;
	if ((host = config_url_host(conf->smtp.url)) == NULL)
		host = xstrdup("");
	switch (conf->smtp.tls) {
	case CONFIG_TLS_AUTO:
		if (implicit)
			conf->smtp.tls = CONFIG_TLS_IMPLICIT;
		else if (host_is_loopback(host))
			conf->smtp.tls = CONFIG_TLS_NONE;
		else
			conf->smtp.tls = CONFIG_TLS_STARTTLS;
		break;
	case CONFIG_TLS_IMPLICIT:
		if (!implicit)
			error_at(cl, "smtp.tls", "smtp.tls = \"implicit\" needs "
			    "an smtps:// url, not %s", conf->smtp.url);
		break;
	default:
		if (implicit)
			error_at(cl, "smtp.tls", "smtp.tls = \"%s\" does not "
			    "go with an smtps:// url (that is implicit TLS)",
			    config_tls_name(conf->smtp.tls));
		break;
	}
	if ((conf->smtp.username == NULL) != (conf->smtp.password_file == NULL))
		error_at(cl, conf->smtp.username == NULL ? "smtp.password_file" :
		    "smtp.username", "smtp.username and smtp.password_file go "
		    "together: set both or neither");
	else if (conf->smtp.username != NULL &&
	    (conf->smtp.tls == CONFIG_TLS_NONE ||
	    conf->smtp.tls == CONFIG_TLS_OPPORTUNISTIC) &&
	    !host_is_loopback(host))
		error_at(cl, "smtp.tls", "smtp.tls = \"%s\" could send the "
		    "SMTP password in clear text to %s: use \"starttls\" or "
		    "an smtps:// url", config_tls_name(conf->smtp.tls), host);
	free(host);

	if (conf->delivery.backoff_initial > conf->delivery.backoff_max)
		error_at(cl, "delivery.backoff_initial", "delivery.backoff_initial "
		    "(%ds) is longer than delivery.backoff_max (%ds)",
		    conf->delivery.backoff_initial, conf->delivery.backoff_max);
}

/* The line of a "PATH:LINE: ..." message, or INT_MAX for another file. */
static long
error_line(const char *msg, const char *path)
{
	size_t	len = strlen(path);

	if (strncmp(msg, path, len) != 0 || msg[len] != ':')
		return INT_MAX;
	return strtol(msg + len + 1, NULL, 10);
}

/*
 * Put the errors added since the first one of this file in line order
 * (a stable insertion sort: they are few), so that the checks made
 * after the walk (required keys, keys that go together) do not come
 * out of place.
 */
static void
errors_sort(struct errlist *errs, size_t from, const char *path)
{
	size_t	 i, j;
	char	*m;

	for (i = from + 1; i < errs->n; i++) {
		m = errs->msgs[i];
		for (j = i; j > from && error_line(errs->msgs[j - 1], path) >
		    error_line(m, path); j--)
			errs->msgs[j] = errs->msgs[j - 1];
		errs->msgs[j] = m;
	}
}

static struct config *
config_new_defaults(void)
{
	struct config	*conf = xcalloc(1, sizeof(*conf));
	size_t		 i;

	for (i = 0; i < NKEYS; i++) {
		if (ckeys[i].type == CK_STRING) {
			if (ckeys[i].sdef != NULL)
				*ckey_str(conf, &ckeys[i]) =
				    xstrdup(ckeys[i].sdef);
		} else
			*ckey_int(conf, &ckeys[i]) = (int)ckeys[i].idef;
	}
	return conf;
}

struct config *
config_defaults(void)
{
	struct cload	 cl;
	struct errlist	 scratch = ERRLIST_INIT;

	memset(&cl, 0, sizeof(cl));
	cl.conf = config_new_defaults();
	cl.errs = &scratch;
	cl.path = "(defaults)";
	cl.cfg = xcalloc(1, sizeof(*cl.cfg));
	config_init(cl.cfg);
	config_finish(&cl);	/* only "required" errors and mode checks */
	config_destroy(cl.cfg);
	free(cl.cfg);
	errlist_free(&scratch);
	return cl.conf;
}

struct config *
config_load(const char *path, struct errlist *errs)
{
	struct cload	 cl;
	config_t	 cfg;
	FILE		*fp;
	struct stat	 st;
	size_t		 before = errlist_count(errs), first = errs->n;
	const char	*slash, *efile;

	memset(&cl, 0, sizeof(cl));
	cl.errs = errs;
	cl.path = path;
	config_init(&cfg);
	cl.cfg = &cfg;

	if ((fp = fopen(path, "r")) == NULL) {
		errlist_add(errs, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (fstat(fileno(fp), &st) == -1 || !S_ISREG(st.st_mode)) {
		errlist_add(errs, "%s: not a regular file", path);
		fclose(fp);
		goto fail;
	}
	fclose(fp);
	if ((slash = strrchr(path, '/')) != NULL)
		cl.dir = slash == path ? xstrdup("/") :
		    xstrndup(path, slash - path);
	else
		cl.dir = NULL;	/* relative to the current folder */
	if (cl.dir != NULL)
		config_set_include_dir(&cfg, cl.dir);
	if (!config_read_file(&cfg, path)) {
		efile = config_error_file(&cfg);
		if (config_error_type(&cfg) == CONFIG_ERR_FILE_IO)
			errlist_add(errs, "%s:%d: %s", efile ? efile : path,
			    config_error_line(&cfg) > 0 ?
			    config_error_line(&cfg) : 1,
			    config_error_text(&cfg));
		else
			errlist_add(errs, "%s:%d: %s", efile ? efile : path,
			    config_error_line(&cfg), config_error_text(&cfg));
		goto fail;
	}

	cl.conf = config_new_defaults();
	cl.conf->path = xstrdup(path);
	config_walk(&cl, config_root_setting(&cfg), NULL);
	config_finish(&cl);
	errors_sort(errs, first, path);
	if (errlist_count(errs) != before)
		goto fail;
	config_destroy(&cfg);
	free(cl.dir);
	return cl.conf;

fail:
	config_destroy(&cfg);
	free(cl.dir);
	config_free(cl.conf);
	return NULL;
}

void
config_free(struct config *conf)
{
	size_t	i;

	if (conf == NULL)
		return;
	for (i = 0; i < NKEYS; i++)
		if (ckeys[i].type == CK_STRING)
			free(*ckey_str(conf, &ckeys[i]));
	free(conf->http.listen_host);
	free(conf->path);
	free(conf);
}

int
config_read_secret(const char *path, char **out, char **cause)
{
	struct stat	 st;
	char		*data = NULL;
	size_t		 len = 0;
	ssize_t		 n;
	int		 fd = -1;

	*out = NULL;
	*cause = NULL;
	if ((fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK)) == -1) {
		*cause = xsprintf("%s: %s", path, strerror(errno));
		goto fail;
	}
	if (fstat(fd, &st) == -1) {
		*cause = xsprintf("%s: %s", path, strerror(errno));
		goto fail;
	}
	if (secret_check_stat(path, &st, cause) == -1)
		goto fail;
	data = xmalloc(CONFIG_SECRET_MAX + 1);
	for (;;) {
		n = read(fd, data + len, CONFIG_SECRET_MAX + 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			*cause = xsprintf("%s: %s", path, strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		len += n;
		if (len > CONFIG_SECRET_MAX) {
			*cause = xsprintf("%s is longer than %d bytes: is it "
			    "the right file?", path, CONFIG_SECRET_MAX);
			goto fail;
		}
	}
	if (len > 0 && data[len - 1] == '\n')
		len--;
	if (len > 0 && data[len - 1] == '\r')
		len--;
	if (len == 0) {
		*cause = xsprintf("%s is empty", path);
		goto fail;
	}
	if (memchr(data, '\0', len) != NULL) {
		*cause = xsprintf("%s holds a NUL byte", path);
		goto fail;
	}
	data[len] = '\0';
	close(fd);
	*out = data;
	return 0;

fail:
	if (data != NULL) {
		explicit_bzero(data, CONFIG_SECRET_MAX + 1);
		free(data);
	}
	if (fd != -1)
		close(fd);
	return -1;
}
