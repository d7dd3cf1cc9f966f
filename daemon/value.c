/* The value tree shared by the issue parser, templates and renderer. */
#include "autoconf.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "value.h"
#include "xmalloc.h"

static struct value *
value_new(enum value_type type)
{
	struct value	*v = xcalloc(1, sizeof(*v));

	v->type = type;
	return v;
}

struct value *
value_null(void)
{
	return value_new(VALUE_NULL);
}

struct value *
value_bool(int b)
{
	struct value	*v = value_new(VALUE_BOOL);

	v->u.b = b != 0;
	return v;
}

struct value *
value_number(double d)
{
	struct value	*v = value_new(VALUE_NUMBER);

	v->u.num = d;
	return v;
}

struct value *
value_string(const char *s, size_t len)
{
	char	*p = xmalloc(len + 1);

	memcpy(p, s, len);
	p[len] = '\0';
	return value_string_take(p, len);
}

struct value *
value_cstring(const char *s)
{
	return value_string(s, strlen(s));
}

struct value *
value_string_take(char *s, size_t len)
{
	struct value	*v = value_new(VALUE_STRING);

	v->u.str.s = s;
	v->u.str.len = len;
	return v;
}

struct value *
value_list(void)
{
	return value_new(VALUE_LIST);
}

struct value *
value_map(void)
{
	return value_new(VALUE_MAP);
}

void
value_list_push(struct value *l, struct value *item)
{
	if (l->u.list.n == l->u.list.cap) {
		l->u.list.cap = l->u.list.cap ? l->u.list.cap * 2 : 4;
		l->u.list.v = xreallocarray(l->u.list.v, l->u.list.cap,
		    sizeof(*l->u.list.v));
	}
	l->u.list.v[l->u.list.n++] = item;
}

void
value_map_set(struct value *m, const char *key, struct value *val)
{
	size_t	i;

	for (i = 0; i < m->u.map.n; i++) {
		if (strcmp(m->u.map.k[i], key) == 0) {
			value_free(m->u.map.v[i]);
			m->u.map.v[i] = val;
			return;
		}
	}
	if (m->u.map.n == m->u.map.cap) {
		m->u.map.cap = m->u.map.cap ? m->u.map.cap * 2 : 4;
		m->u.map.k = xreallocarray(m->u.map.k, m->u.map.cap,
		    sizeof(*m->u.map.k));
		m->u.map.v = xreallocarray(m->u.map.v, m->u.map.cap,
		    sizeof(*m->u.map.v));
	}
	m->u.map.k[m->u.map.n] = xstrdup(key);
	m->u.map.v[m->u.map.n++] = val;
}

struct value *
value_map_get(const struct value *m, const char *key)
{
	size_t	i;

	if (m == NULL || m->type != VALUE_MAP)
		return NULL;
	for (i = 0; i < m->u.map.n; i++)
		if (strcmp(m->u.map.k[i], key) == 0)
			return m->u.map.v[i];
	return NULL;
}

struct value *
value_path(const struct value *v, const char *path)
{
	const char	*dot;
	char		 part[256];
	size_t		 len;

	while (v != NULL && *path != '\0') {
		dot = strchr(path, '.');
		len = dot ? (size_t)(dot - path) : strlen(path);
		if (len >= sizeof(part))
			return NULL;
		memcpy(part, path, len);
		part[len] = '\0';
		v = value_map_get(v, part);
		path += len;
		if (*path == '.')
			path++;
	}
	return (struct value *)v;
}

struct value *
value_copy(const struct value *v)
{
	struct value	*c;
	size_t		 i;

	switch (v->type) {
	case VALUE_STRING:
		c = value_string(v->u.str.s, v->u.str.len);
		break;
	case VALUE_LIST:
		c = value_list();
		for (i = 0; i < v->u.list.n; i++)
			value_list_push(c, value_copy(v->u.list.v[i]));
		break;
	case VALUE_MAP:
		c = value_map();
		for (i = 0; i < v->u.map.n; i++)
			value_map_set(c, v->u.map.k[i],
			    value_copy(v->u.map.v[i]));
		break;
	default:
		c = value_new(v->type);
		c->u = v->u;
		break;
	}
	c->flags = v->flags;
	c->line = v->line;
	c->col = v->col;
	return c;
}

void
value_free(struct value *v)
{
	size_t	i;

	if (v == NULL)
		return;
	switch (v->type) {
	case VALUE_STRING:
		free(v->u.str.s);
		break;
	case VALUE_LIST:
		for (i = 0; i < v->u.list.n; i++)
			value_free(v->u.list.v[i]);
		free(v->u.list.v);
		break;
	case VALUE_MAP:
		for (i = 0; i < v->u.map.n; i++) {
			free(v->u.map.k[i]);
			value_free(v->u.map.v[i]);
		}
		free(v->u.map.k);
		free(v->u.map.v);
		break;
	default:
		break;
	}
	free(v);
}

int
value_truthy(const struct value *v)
{
	if (v == NULL)
		return 0;
	switch (v->type) {
	case VALUE_NULL:
		return 0;
	case VALUE_BOOL:
		return v->u.b;
	case VALUE_LIST:
		return v->u.list.n > 0;
	default:
		return 1;
	}
}

void
value_to_text(const struct value *v, struct buf *b)
{
	char	num[64];

	if (v == NULL)
		return;
	switch (v->type) {
	case VALUE_BOOL:
		buf_adds(b, v->u.b ? "true" : "false");
		break;
	case VALUE_NUMBER:
		snprintf(num, sizeof(num), "%.15g", v->u.num);
		buf_adds(b, num);
		break;
	case VALUE_STRING:
		buf_add(b, v->u.str.s, v->u.str.len);
		break;
	default:
		break;
	}
}

static int
value_eq(const char *s, size_t len, const char *word)
{
	return strlen(word) == len && memcmp(s, word, len) == 0;
}

struct value *
value_from_plain_scalar(const char *s, size_t len)
{
	char	 tmp[64], *end;
	double	 d;

	if (len == 0 || value_eq(s, len, "~") || value_eq(s, len, "null") ||
	    value_eq(s, len, "Null") || value_eq(s, len, "NULL"))
		return value_null();
	if (value_eq(s, len, "true") || value_eq(s, len, "True") ||
	    value_eq(s, len, "TRUE"))
		return value_bool(1);
	if (value_eq(s, len, "false") || value_eq(s, len, "False") ||
	    value_eq(s, len, "FALSE"))
		return value_bool(0);
	if (len < sizeof(tmp) && strchr("+-.0123456789", s[0]) != NULL) {
		memcpy(tmp, s, len);
		tmp[len] = '\0';
		errno = 0;
		d = strtod(tmp, &end);
		if (*end == '\0' && errno == 0 && isfinite(d) &&
		    strpbrk(tmp, "xXpP") == NULL &&
		    strcmp(tmp, ".") != 0 && strcmp(tmp, "-") != 0 &&
		    strcmp(tmp, "+") != 0)
			return value_number(d);
	}
	return value_string(s, len);
}
