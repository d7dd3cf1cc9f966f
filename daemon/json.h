/*
 * A small JSON writer into a struct buf: strings escaped per RFC 8259,
 * commas placed by the writer.  Output is one compact document.
 */
#ifndef HERALD_JSON_H
#define HERALD_JSON_H

#include <stdint.h>

struct buf;

#define JSON_MAXDEPTH	32

struct json {
	struct buf	*b;
	int		 depth;
	unsigned char	 more[JSON_MAXDEPTH];	/* a value already at depth */
};

void	json_init(struct json *, struct buf *);
/* Append s as a quoted JSON string ("null" when s is NULL). */
void	json_quote(struct buf *, const char *s);
/* Open an object ('{') or array ('['); key is NULL inside arrays. */
void	json_open(struct json *, const char *key, char c);
void	json_close(struct json *, char c);
void	json_str(struct json *, const char *key, const char *val);
void	json_int(struct json *, const char *key, int64_t val);
void	json_bool(struct json *, const char *key, int val);
/* A Unix time as an RFC 3339 UTC string ("null" when 0). */
void	json_time(struct json *, const char *key, int64_t t);

#endif
