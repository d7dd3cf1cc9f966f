/* Writes JSON documents: string escaping and comma placement. */
#include "autoconf.h"

#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "buf.h"
#include "json.h"

void
json_init(struct json *j, struct buf *b)
{
	j->b = b;
	j->depth = 0;
	j->more[0] = 0;
}

void
json_quote(struct buf *b, const char *s)
{
	const unsigned char	*p;

	if (s == NULL) {
		buf_adds(b, "null");
		return;
	}
	buf_addc(b, '"');
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		switch (*p) {
		case '"':
			buf_adds(b, "\\\"");
			break;
		case '\\':
			buf_adds(b, "\\\\");
			break;
		case '\n':
			buf_adds(b, "\\n");
			break;
		case '\r':
			buf_adds(b, "\\r");
			break;
		case '\t':
			buf_adds(b, "\\t");
			break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				buf_printf(b, "\\u%04x", *p);
			else
				buf_addc(b, (char)*p);
		}
	}
	buf_addc(b, '"');
}

/* Put the comma and the key (if any) before a value at this depth. */
static void
json_sep(struct json *j, const char *key)
{
	if (j->more[j->depth])
		buf_addc(j->b, ',');
	j->more[j->depth] = 1;
	if (key != NULL) {
		json_quote(j->b, key);
		buf_addc(j->b, ':');
	}
}

void
json_open(struct json *j, const char *key, char c)
{
	json_sep(j, key);
	buf_addc(j->b, c);
	if (j->depth < JSON_MAXDEPTH - 1)
		j->depth++;
	j->more[j->depth] = 0;
}

void
json_close(struct json *j, char c)
{
	buf_addc(j->b, c);
	if (j->depth > 0)
		j->depth--;
}

void
json_str(struct json *j, const char *key, const char *val)
{
	json_sep(j, key);
	json_quote(j->b, val);
}

void
json_int(struct json *j, const char *key, int64_t val)
{
	json_sep(j, key);
	buf_printf(j->b, "%" PRId64, val);
}

void
json_bool(struct json *j, const char *key, int val)
{
	json_sep(j, key);
	buf_adds(j->b, val ? "true" : "false");
}

void
json_time(struct json *j, const char *key, int64_t t)
{
	struct tm	tm;
	time_t		tt = (time_t)t;
	char		s[32];

	json_sep(j, key);
	if (t == 0 || gmtime_r(&tt, &tm) == NULL) {
		buf_adds(j->b, "null");
		return;
	}
	strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_quote(j->b, s);
}
