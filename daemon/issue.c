/* The issue file parser: YAML to a checked issue, every error located. */
#include "autoconf.h"

#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <yaml.h>

#include "addr.h"
#include "buf.h"
#include "errlist.h"
#include "issue.h"
#include "text.h"
#include "value.h"
#include "xmalloc.h"

/* On a placeholder for a refused scalar: already reported, stay quiet. */
#define ISSUE_F_BAD	0x100

/* Language variants; each gets its own copy of the data. */
#define ISSUE_MAX_LANGS		64

/* Errors kept per parse; more are counted, not kept. */
#define ISSUE_MAX_ERRORS	1000

#define TAG_MD		"!md"
#define TAG_STR		"tag:yaml.org,2002:str"
#define TAG_CORE	"tag:yaml.org,2002:"

/*
 * An anchor: the node (owned by the tree, which frees nothing while it is
 * being built), its size and height.
 */
struct issue_anchor {
	char		*name;
	const struct value *v;
	size_t		 nodes;
	size_t		 height;
};

/* Where a map's key was written (the tree keeps only the values'). */
struct issue_keypos {
	const struct value	*map;
	size_t			 idx;
	size_t			 line, col;
};

/* A set of strings, for duplicate keys and merges without n^2 scans. */
struct issue_kset {
	const char	**k;
	size_t		  cap, n;
};

/* An error waiting to be reported in the order of the file. */
struct issue_msg {
	size_t	 line, col, seq;
	char	*text;
};

/* The state of one parse. */
struct issue_ctx {
	const char			*name;
	const char			*src;
	size_t				 len;
	struct issue_limits		 lim;
	struct errlist			*errs;
	size_t				 nerrs;		/* errors this parse */
	struct issue_msg		*msgs;
	size_t				 dropped;	/* past the cap */
	yaml_parser_t			 parser;
	int				 stop;		/* a fatal error */
	size_t				 depth, nodes, alias_nodes;
	struct issue_anchor		*anchors;
	size_t				 nanchors;
	struct value			*trash;		/* refused nodes */
	struct issue_keypos		*keys;
	size_t				 nkeys, capkeys;
	issue_load_fn			 load;
	void				*arg;
	struct issue			*is;
	size_t				 files_size;
};

static const char *issue_reserved[] = {
	"list", "subject", "template", "send_at", "preheader", "from",
	"attachments", "languages", NULL
};
static const char *issue_image_keys[] = {
	"src", "alt", "caption", "link", "title", "width", "height", NULL
};
static const char *issue_attach_keys[] = { "path", "name", NULL };
static const char *issue_from_keys[] = { "name", "address", NULL };
static const char *issue_lang_keys[] = { "subject", "preheader", NULL };

static const struct {
	const char	*ext;
	const char	*mime;
} issue_mimes[] = {
	{ "png", "image/png" },
	{ "jpg", "image/jpeg" },
	{ "jpeg", "image/jpeg" },
	{ "gif", "image/gif" },
	{ "webp", "image/webp" },
	{ "svg", "image/svg+xml" },
	{ "pdf", "application/pdf" },
	{ "txt", "text/plain" },
	{ "csv", "text/csv" },
	{ "ics", "text/calendar" },
	{ "html", "text/html" },
	{ "htm", "text/html" },
	{ "doc", "application/msword" },
	{ "docx", "application/vnd.openxmlformats-officedocument."
	    "wordprocessingml.document" },
	{ "xls", "application/vnd.ms-excel" },
	{ "xlsx", "application/vnd.openxmlformats-officedocument."
	    "spreadsheetml.sheet" },
	{ "ppt", "application/vnd.ms-powerpoint" },
	{ "pptx", "application/vnd.openxmlformats-officedocument."
	    "presentationml.presentation" },
	{ "odt", "application/vnd.oasis.opendocument.text" },
	{ "ods", "application/vnd.oasis.opendocument.spreadsheet" },
	{ "zip", "application/zip" },
	{ "mp3", "audio/mpeg" },
	{ "mp4", "video/mp4" },
};

static struct value *issue_node(struct issue_ctx *, yaml_event_t *,
    size_t *);

void
issue_limits_default(struct issue_limits *lim)
{
	lim->max_file = ISSUE_MAX_FILE;
	lim->max_depth = ISSUE_MAX_DEPTH;
	lim->max_nodes = ISSUE_MAX_NODES;
	lim->max_alias_nodes = ISSUE_MAX_ALIAS_NODES;
	lim->max_scalar = ISSUE_MAX_SCALAR;
	lim->max_line = ISSUE_MAX_LINE;
	lim->max_files = ISSUE_MAX_FILES;
}

static void
issue_verr(struct issue_ctx *c, size_t line, size_t col, const char *fmt,
    va_list ap)
{
	struct buf	 b = BUF_INIT;
	struct issue_msg *m;

	if (c->nerrs >= ISSUE_MAX_ERRORS) {
		c->dropped++;
		return;
	}
	if (line == 0)
		line = col = 1;
	if (col == 0)
		col = 1;
	buf_printf(&b, "%s:%zu:%zu: ", c->name, line, col);
	buf_vprintf(&b, fmt, ap);
	c->msgs = xreallocarray(c->msgs, c->nerrs + 1, sizeof(*c->msgs));
	m = &c->msgs[c->nerrs];
	m->line = line;
	m->col = col;
	m->seq = c->nerrs++;
	m->text = buf_steal(&b);
}

static int
issue_msg_cmp(const void *a, const void *b)
{
	const struct issue_msg	*x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Hand the errors to the caller's list, in the order of the file. */
static void
issue_flush(struct issue_ctx *c)
{
	size_t	i;

	if (c->nerrs > 1)
		qsort(c->msgs, c->nerrs, sizeof(*c->msgs), issue_msg_cmp);
	for (i = 0; i < c->nerrs; i++) {
		errlist_add(c->errs, "%s", c->msgs[i].text);
		free(c->msgs[i].text);
	}
	free(c->msgs);
	c->msgs = NULL;
	c->errs->dropped += c->dropped;
}

static void __attribute__((format(printf, 4, 5)))
issue_err(struct issue_ctx *c, size_t line, size_t col, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	issue_verr(c, line, col, fmt, ap);
	va_end(ap);
}

/* An error at a node of the tree. */
static void __attribute__((format(printf, 3, 4)))
issue_errv(struct issue_ctx *c, const struct value *v, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	issue_verr(c, v ? v->line : 1, v ? v->col : 1, fmt, ap);
	va_end(ap);
}

/* An error at the key of entry idx of a map (at its value if unknown). */
static void __attribute__((format(printf, 4, 5)))
issue_errk(struct issue_ctx *c, const struct value *m, size_t idx,
    const char *fmt, ...)
{
	va_list	 ap;
	size_t	 i, line = m->u.map.v[idx]->line, col = m->u.map.v[idx]->col;

	if (c->nerrs >= ISSUE_MAX_ERRORS) {
		c->dropped++;
		return;
	}
	for (i = 0; i < c->nkeys; i++) {
		if (c->keys[i].map == m && c->keys[i].idx == idx) {
			line = c->keys[i].line;
			col = c->keys[i].col;
			break;
		}
	}
	va_start(ap, fmt);
	issue_verr(c, line, col, fmt, ap);
	va_end(ap);
}

/*
 * The line and column (1-based, in characters) of a byte offset, for
 * libyaml's reader errors, which give only the offset.
 */
static void
issue_offset_pos(const char *s, size_t len, size_t off, size_t *line,
    size_t *col)
{
	size_t	i;

	*line = *col = 1;
	for (i = 0; i < off && i < len; i++) {
		if (s[i] == '\n') {
			(*line)++;
			*col = 1;
		} else if (((unsigned char)s[i] & 0xc0) != 0x80)
			(*col)++;
	}
}

static void
issue_syntax_error(struct issue_ctx *c)
{
	yaml_parser_t	*p = &c->parser;
	size_t		 line, col, off, i;

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		issue_err(c, 1, 1, "out of memory parsing YAML");
		break;
	case YAML_READER_ERROR:
		off = p->problem_offset;
		if (strstr(p->problem, "UTF-8") != NULL) {
			/* Point at the sequence's first byte. */
			for (i = 1; i <= 3 && i <= off && off < c->len; i++) {
				if (((unsigned char)c->src[off - i] & 0xc0) ==
				    0xc0) {
					off -= i;
					break;
				}
			}
			issue_offset_pos(c->src, c->len, off, &line, &col);
			issue_err(c, line, col, "invalid UTF-8 (%s)",
			    p->problem);
			break;
		}
		issue_offset_pos(c->src, c->len, off, &line, &col);
		if (p->problem_value != -1)
			issue_err(c, line, col, "%s (byte 0x%02x)",
			    p->problem, p->problem_value & 0xff);
		else
			issue_err(c, line, col, "%s", p->problem);
		break;
	default:
		if (p->context != NULL)
			issue_err(c, p->problem_mark.line + 1,
			    p->problem_mark.column + 1,
			    "syntax error: %s (%s at line %zu)",
			    p->problem ? p->problem : "?", p->context,
			    p->context_mark.line + 1);
		else
			issue_err(c, p->problem_mark.line + 1,
			    p->problem_mark.column + 1, "syntax error: %s",
			    p->problem ? p->problem : "?");
		break;
	}
	c->stop = 1;
}

static int
issue_next(struct issue_ctx *c, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&c->parser, ev)) {
		issue_syntax_error(c);
		return -1;
	}
	return 0;
}

static size_t
issue_kset_hash(const char *s)
{
	size_t	h = 5381;

	while (*s != '\0')
		h = h * 33 + (unsigned char)*s++;
	return h;
}

/* Add k unless there; returns the existing key's slot or -1 when added. */
static long
issue_kset_add(struct issue_kset *ks, const char *k, size_t idx,
    size_t **idxs)
{
	size_t	 i, cap, h;
	const char **ok;
	size_t	*oi;

	if (ks->n * 2 >= ks->cap) {
		ok = ks->k;
		oi = *idxs;
		cap = ks->cap;
		ks->cap = cap ? cap * 2 : 16;
		ks->k = xcalloc(ks->cap, sizeof(*ks->k));
		*idxs = xcalloc(ks->cap, sizeof(**idxs));
		for (i = 0; i < cap; i++) {
			if (ok[i] == NULL)
				continue;
			h = issue_kset_hash(ok[i]) & (ks->cap - 1);
			while (ks->k[h] != NULL)
				h = (h + 1) & (ks->cap - 1);
			ks->k[h] = ok[i];
			(*idxs)[h] = oi[i];
		}
		free(ok);
		free(oi);
	}
	h = issue_kset_hash(k) & (ks->cap - 1);
	while (ks->k[h] != NULL) {
		if (strcmp(ks->k[h], k) == 0)
			return (long)(*idxs)[h];
		h = (h + 1) & (ks->cap - 1);
	}
	ks->k[h] = k;
	(*idxs)[h] = idx;
	ks->n++;
	return -1;
}

/* Append to a map whose keys the caller knows to be new. */
static void
issue_map_append(struct value *m, char *key, struct value *v)
{
	if (m->u.map.n == m->u.map.cap) {
		m->u.map.cap = m->u.map.cap ? m->u.map.cap * 2 : 4;
		m->u.map.k = xreallocarray(m->u.map.k, m->u.map.cap,
		    sizeof(*m->u.map.k));
		m->u.map.v = xreallocarray(m->u.map.v, m->u.map.cap,
		    sizeof(*m->u.map.v));
	}
	m->u.map.k[m->u.map.n] = key;
	m->u.map.v[m->u.map.n++] = v;
}

/* value_copy without its quadratic map insertion. */
static struct value *
issue_copy(const struct value *v)
{
	struct value	*c;
	size_t		 i;

	switch (v->type) {
	case VALUE_LIST:
		c = value_list();
		for (i = 0; i < v->u.list.n; i++)
			value_list_push(c, issue_copy(v->u.list.v[i]));
		break;
	case VALUE_MAP:
		c = value_map();
		for (i = 0; i < v->u.map.n; i++)
			issue_map_append(c, xstrdup(v->u.map.k[i]),
			    issue_copy(v->u.map.v[i]));
		break;
	default:
		return value_copy(v);
	}
	c->flags = v->flags;
	c->line = v->line;
	c->col = v->col;
	return c;
}

static void
issue_keypos_add(struct issue_ctx *c, const struct value *m, size_t idx,
    const yaml_mark_t *mark)
{
	if (c->nkeys == c->capkeys) {
		c->capkeys = c->capkeys ? c->capkeys * 2 : 64;
		c->keys = xreallocarray(c->keys, c->capkeys,
		    sizeof(*c->keys));
	}
	c->keys[c->nkeys].map = m;
	c->keys[c->nkeys].idx = idx;
	c->keys[c->nkeys].line = mark->line + 1;
	c->keys[c->nkeys].col = mark->column + 1;
	c->nkeys++;
}

static int
issue_count_node(struct issue_ctx *c, const yaml_mark_t *m)
{
	if (++c->nodes > c->lim.max_nodes) {
		issue_err(c, m->line + 1, m->column + 1,
		    "more than %zu nodes in the file", c->lim.max_nodes);
		c->stop = 1;
		return -1;
	}
	return 0;
}

/* Check the text of a scalar: its size, NUL bytes and UTF-8. */
static int
issue_check_scalar(struct issue_ctx *c, const yaml_mark_t *m,
    const char *s, size_t len)
{
	if (len > c->lim.max_scalar) {
		issue_err(c, m->line + 1, m->column + 1,
		    "a scalar of %zu bytes, over the limit of %zu", len,
		    c->lim.max_scalar);
		return -1;
	}
	if (memchr(s, '\0', len) != NULL) {
		issue_err(c, m->line + 1, m->column + 1,
		    "a NUL character in a string");
		return -1;
	}
	if (!text_utf8_valid(s, len)) {
		issue_err(c, m->line + 1, m->column + 1, "invalid UTF-8");
		return -1;
	}
	return 0;
}

static struct value *
issue_scalar(struct issue_ctx *c, yaml_event_t *ev)
{
	const char	*s = (const char *)ev->data.scalar.value;
	const char	*tag = (const char *)ev->data.scalar.tag;
	size_t		 len = ev->data.scalar.length;
	yaml_mark_t	*m = &ev->start_mark;
	struct value	*v;
	int		 plain;

	if (issue_check_scalar(c, m, s, len) == -1) {
		v = value_null();
		v->flags |= ISSUE_F_BAD;
		return v;
	}
	plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	if (tag == NULL || strcmp(tag, "!") == 0)
		v = plain && tag == NULL ? value_from_plain_scalar(s, len) :
		    value_string(s, len);
	else if (strcmp(tag, TAG_MD) == 0) {
		v = value_string(s, len);
		v->flags |= VALUE_F_MARKDOWN;
	} else if (strcmp(tag, TAG_STR) == 0)
		v = value_string(s, len);
	else if (strcmp(tag, TAG_CORE "int") == 0 ||
	    strcmp(tag, TAG_CORE "float") == 0 ||
	    strcmp(tag, TAG_CORE "bool") == 0 ||
	    strcmp(tag, TAG_CORE "null") == 0) {
		v = value_from_plain_scalar(s, len);
		if ((tag[strlen(TAG_CORE)] == 'i' ||
		    tag[strlen(TAG_CORE)] == 'f') && v->type != VALUE_NUMBER)
			issue_err(c, m->line + 1, m->column + 1,
			    "\"%.*s\" is not a number", (int)len, s);
		else if (tag[strlen(TAG_CORE)] == 'b' && v->type != VALUE_BOOL)
			issue_err(c, m->line + 1, m->column + 1,
			    "\"%.*s\" is not true or false", (int)len, s);
		else if (tag[strlen(TAG_CORE)] == 'n' && v->type != VALUE_NULL)
			issue_err(c, m->line + 1, m->column + 1,
			    "\"%.*s\" is not null", (int)len, s);
	} else {
		issue_err(c, m->line + 1, m->column + 1,
		    "unknown tag \"%s\" (only !md is known)", tag);
		v = value_null();
	}
	return v;
}

static struct issue_anchor *
issue_anchor_find(struct issue_ctx *c, const char *name)
{
	size_t	i;

	for (i = c->nanchors; i > 0; i--)
		if (strcmp(c->anchors[i - 1].name, name) == 0)
			return &c->anchors[i - 1];
	return NULL;
}

static void
issue_anchor_add(struct issue_ctx *c, const char *name, const struct value *v,
    size_t nodes, size_t height)
{
	struct issue_anchor	*a;

	c->anchors = xreallocarray(c->anchors, c->nanchors + 1,
	    sizeof(*c->anchors));
	a = &c->anchors[c->nanchors++];
	a->name = xstrdup(name);
	a->v = v;
	a->nodes = nodes;
	a->height = height;
}

/*
 * An alias: refused once the nodes that aliases add pass the budget, so
 * a "billion laughs" file stops at its first expensive alias.
 */
static struct value *
issue_alias(struct issue_ctx *c, yaml_event_t *ev, size_t *height)
{
	const char		*name = (const char *)ev->data.alias.anchor;
	yaml_mark_t		*m = &ev->start_mark;
	struct issue_anchor	*a;

	if ((a = issue_anchor_find(c, name)) == NULL) {
		issue_err(c, m->line + 1, m->column + 1,
		    "unknown alias *%s", name);
		return value_null();
	}
	if (a->nodes > c->lim.max_alias_nodes - c->alias_nodes) {
		issue_err(c, m->line + 1, m->column + 1,
		    "alias expansion exceeds %zu nodes",
		    c->lim.max_alias_nodes);
		c->stop = 1;
		return NULL;
	}
	if (c->depth + a->height > c->lim.max_depth) {
		issue_err(c, m->line + 1, m->column + 1,
		    "nesting deeper than %zu levels", c->lim.max_depth);
		c->stop = 1;
		return NULL;
	}
	c->alias_nodes += a->nodes;
	c->nodes += a->nodes;
	if (c->nodes > c->lim.max_nodes) {
		issue_err(c, m->line + 1, m->column + 1,
		    "more than %zu nodes in the file", c->lim.max_nodes);
		c->stop = 1;
		return NULL;
	}
	*height = a->height;
	return issue_copy(a->v);
}

static int
issue_collection_tag(struct issue_ctx *c, const char *tag, const char *want,
    const yaml_mark_t *m)
{
	if (tag == NULL || strcmp(tag, "!") == 0 || strcmp(tag, want) == 0)
		return 0;
	issue_err(c, m->line + 1, m->column + 1, "unknown tag \"%s\"", tag);
	return -1;
}

static struct value *
issue_sequence(struct issue_ctx *c, yaml_event_t *start, size_t *height)
{
	struct value	*l, *item;
	yaml_event_t	 ev;
	size_t		 h;

	issue_collection_tag(c, (const char *)start->data.sequence_start.tag,
	    TAG_CORE "seq", &start->start_mark);
	l = value_list();
	for (;;) {
		if (issue_next(c, &ev) == -1)
			goto fail;
		if (ev.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		h = 0;
		if ((item = issue_node(c, &ev, &h)) == NULL)
			goto fail;
		if (h + 1 > *height)
			*height = h + 1;
		value_list_push(l, item);
	}
	return l;
fail:
	value_free(l);
	return NULL;
}

static struct value *
issue_mapping(struct issue_ctx *c, yaml_event_t *start, size_t *height)
{
	struct issue_kset	 ks = { NULL, 0, 0 };
	struct value		*m, *item;
	yaml_event_t		 ev;
	yaml_mark_t		 km;
	const char		*ks_s;
	char			*key;
	size_t			*idxs = NULL, h;
	long			 first;

	issue_collection_tag(c, (const char *)start->data.mapping_start.tag,
	    TAG_CORE "map", &start->start_mark);
	m = value_map();
	for (;;) {
		if (issue_next(c, &ev) == -1)
			goto fail;
		if (ev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		km = ev.start_mark;
		key = NULL;
		if (ev.type == YAML_SCALAR_EVENT) {
			if (issue_count_node(c, &km) == -1) {
				yaml_event_delete(&ev);
				goto fail;
			}
			ks_s = (const char *)ev.data.scalar.value;
			if (issue_check_scalar(c, &km, ks_s,
			    ev.data.scalar.length) == 0)
				key = xstrndup(ks_s, ev.data.scalar.length);
			yaml_event_delete(&ev);
		} else {
			issue_err(c, km.line + 1, km.column + 1,
			    "a key must be a string");
			h = 0;
			if ((item = issue_node(c, &ev, &h)) == NULL)
				goto fail;
			value_list_push(c->trash, item);
		}
		if (issue_next(c, &ev) == -1) {
			free(key);
			goto fail;
		}
		h = 0;
		if ((item = issue_node(c, &ev, &h)) == NULL) {
			free(key);
			goto fail;
		}
		if (h + 1 > *height)
			*height = h + 1;
		if (key == NULL) {
			value_list_push(c->trash, item);
			continue;
		}
		if (strcmp(key, "<<") == 0) {
			issue_err(c, km.line + 1, km.column + 1,
			    "merge keys (<<) are not supported");
			free(key);
			value_list_push(c->trash, item);
			continue;
		}
		first = issue_kset_add(&ks, key, m->u.map.n, &idxs);
		if (first != -1) {
			issue_err(c, km.line + 1, km.column + 1,
			    "duplicate key \"%s\" (first at line %zu)", key,
			    m->u.map.v[first]->line);
			free(key);
			value_list_push(c->trash, item);
			continue;
		}
		issue_keypos_add(c, m, m->u.map.n, &km);
		issue_map_append(m, key, item);
	}
	free(ks.k);
	free(idxs);
	return m;
fail:
	free(ks.k);
	free(idxs);
	value_free(m);
	return NULL;
}

/*
 * Build the node that ev starts (consuming ev); NULL after a fatal error.
 * *height is set to the node's nesting height (0 for a scalar).
 */
static struct value *
issue_node(struct issue_ctx *c, yaml_event_t *ev, size_t *height)
{
	struct value	*v = NULL;
	yaml_mark_t	 m = ev->start_mark;
	const char	*anchor = NULL;
	char		*aname = NULL;
	size_t		 before = c->nodes;

	*height = 0;
	switch (ev->type) {
	case YAML_ALIAS_EVENT:
		v = issue_alias(c, ev, height);
		yaml_event_delete(ev);
		return v;
	case YAML_SCALAR_EVENT:
		anchor = (const char *)ev->data.scalar.anchor;
		break;
	case YAML_SEQUENCE_START_EVENT:
		anchor = (const char *)ev->data.sequence_start.anchor;
		break;
	case YAML_MAPPING_START_EVENT:
		anchor = (const char *)ev->data.mapping_start.anchor;
		break;
	default:
		issue_err(c, m.line + 1, m.column + 1,
		    "unexpected YAML event %d", ev->type);
		c->stop = 1;
		yaml_event_delete(ev);
		return NULL;
	}
	if (issue_count_node(c, &m) == -1) {
		yaml_event_delete(ev);
		return NULL;
	}
	if (anchor != NULL)
		aname = xstrdup(anchor);
	if (ev->type == YAML_SCALAR_EVENT)
		v = issue_scalar(c, ev);
	else {
		if (++c->depth > c->lim.max_depth) {
			issue_err(c, m.line + 1, m.column + 1,
			    "nesting deeper than %zu levels",
			    c->lim.max_depth);
			c->stop = 1;
			yaml_event_delete(ev);
			goto out;
		}
		if (ev->type == YAML_SEQUENCE_START_EVENT)
			v = issue_sequence(c, ev, height);
		else
			v = issue_mapping(c, ev, height);
		c->depth--;
	}
	yaml_event_delete(ev);
	if (v == NULL)
		goto out;
	v->line = m.line + 1;
	v->col = m.column + 1;
	if (aname != NULL)
		issue_anchor_add(c, aname, v, c->nodes - before, *height);
out:
	free(aname);
	return v;
}

/* The whole stream: one document whose root is a map. */
static struct value *
issue_document(struct issue_ctx *c)
{
	struct value	*root = NULL;
	yaml_event_t	 ev;
	size_t		 h;
	int		 docs = 0;

	for (;;) {
		if (issue_next(c, &ev) == -1)
			goto fail;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			yaml_event_delete(&ev);
			goto done;
		case YAML_DOCUMENT_START_EVENT:
			if (++docs > 1) {
				issue_err(c, ev.start_mark.line + 1,
				    ev.start_mark.column + 1,
				    "more than one YAML document");
				yaml_event_delete(&ev);
				goto fail;
			}
			yaml_event_delete(&ev);
			break;
		case YAML_STREAM_START_EVENT:
		case YAML_DOCUMENT_END_EVENT:
			yaml_event_delete(&ev);
			break;
		default:
			if ((root = issue_node(c, &ev, &h)) == NULL)
				goto fail;
			break;
		}
	}
done:
	if (root == NULL)
		issue_err(c, 1, 1, "the issue is empty");
	else if (root->type != VALUE_MAP) {
		issue_errv(c, root, "an issue must be a map of keys");
		goto fail;
	}
	return root;
fail:
	value_free(root);
	return NULL;
}

/* Optimal string alignment distance (a transposition is one edit). */
static size_t
issue_distance(const char *a, const char *b)
{
	size_t	la = strlen(a), lb = strlen(b), i, j, x, d[32][32];

	if (la >= 32 || lb >= 32)
		return 99;
	for (i = 0; i <= la; i++)
		d[i][0] = i;
	for (j = 0; j <= lb; j++)
		d[0][j] = j;
	for (i = 1; i <= la; i++) {
		for (j = 1; j <= lb; j++) {
			x = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
			if (d[i - 1][j] + 1 < x)
				x = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < x)
				x = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < x)
				x = d[i - 2][j - 2] + 1;
			d[i][j] = x;
		}
	}
	return d[la][lb];
}

/*
 * A near miss of a known name: within two edits, or one for names of
 * four letters or fewer.  Returns the name it resembles or NULL.
 */
static const char *
issue_near_miss(const char *key, const char **names)
{
	size_t	d, best = 99;
	const char *found = NULL;

	for (; *names != NULL; names++) {
		if (strcmp(key, *names) == 0)
			return NULL;
		d = issue_distance(key, *names);
		if (d > (strlen(*names) <= 4 ? 1 : 2))
			continue;
		if (d < best) {
			best = d;
			found = *names;
		}
	}
	return found;
}

static int
issue_is(const char *key, const char **names)
{
	for (; *names != NULL; names++)
		if (strcmp(key, *names) == 0)
			return 1;
	return 0;
}

/* A string value, or an error saying what it should have been. */
static const char *
issue_want_string(struct issue_ctx *c, const struct value *v, const char *what)
{
	if (v->type == VALUE_STRING)
		return v->u.str.s;
	if (v->flags & ISSUE_F_BAD)
		return NULL;
	if (v->type == VALUE_NULL)
		issue_errv(c, v, "%s is empty", what);
	else
		issue_errv(c, v, "%s must be a string (put it in quotes)",
		    what);
	return NULL;
}

/* A one-line text (subject, preheader, name): no controls, bounded. */
static char *
issue_want_line(struct issue_ctx *c, const struct value *v, const char *what)
{
	const char	*s, *why;

	if ((s = issue_want_string(c, v, what)) == NULL)
		return NULL;
	if (v->u.str.len == 0) {
		issue_errv(c, v, "%s is empty", what);
		return NULL;
	}
	if (v->u.str.len > c->lim.max_line) {
		issue_errv(c, v, "%s is %zu bytes long, over the limit of %zu",
		    what, v->u.str.len, c->lim.max_line);
		return NULL;
	}
	if (text_check_line(s, v->u.str.len, &why) == -1) {
		issue_errv(c, v, "%s: %s", what, why);
		return NULL;
	}
	return xstrdup(s);
}

/* A name made of [A-Za-z0-9._-], not starting with a dot. */
static char *
issue_want_slug(struct issue_ctx *c, const struct value *v, const char *what)
{
	const char	*s;

	if ((s = issue_want_string(c, v, what)) == NULL)
		return NULL;
	if (*s == '\0' || *s == '.' ||
	    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789._-") != v->u.str.len) {
		issue_errv(c, v, "%s \"%s\" may hold only letters, digits, "
		    "'.', '_' and '-', and not start with '.'", what, s);
		return NULL;
	}
	return xstrdup(s);
}

static int
issue_digits(const char *s, int n, int *out)
{
	int	i, v = 0;

	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static long long
issue_days(int y, int m, int d)
{
	long long	era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int
issue_parse_time(const char *s, time_t *t)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };
	int		 y, mo, d, h, mi, sec, zh = 0, zm = 0, sign = 0, leap;
	long long	 secs;

	if (strlen(s) < 20 || issue_digits(s, 4, &y) == -1 || s[4] != '-' ||
	    issue_digits(s + 5, 2, &mo) == -1 || s[7] != '-' ||
	    issue_digits(s + 8, 2, &d) == -1 ||
	    (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
	    issue_digits(s + 11, 2, &h) == -1 || s[13] != ':' ||
	    issue_digits(s + 14, 2, &mi) == -1 || s[16] != ':' ||
	    issue_digits(s + 17, 2, &sec) == -1)
		return -1;
	s += 19;
	if (*s == '.') {
		s++;
		if (!isdigit((unsigned char)*s))
			return -1;
		while (isdigit((unsigned char)*s))
			s++;
	}
	if (*s == 'Z' || *s == 'z')
		s++;
	else if (*s == '+' || *s == '-') {
		sign = *s == '-' ? -1 : 1;
		if (issue_digits(s + 1, 2, &zh) == -1 || s[3] != ':' ||
		    issue_digits(s + 4, 2, &zm) == -1)
			return -1;
		s += 6;
	} else
		return -1;
	if (*s != '\0')
		return -1;
	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
	    (mo == 2 && d == 29 && !leap) || h > 23 || mi > 59 || sec > 60 ||
	    zh > 23 || zm > 59)
		return -1;
	secs = issue_days(y, mo, d) * 86400LL + h * 3600 + mi * 60 + sec -
	    sign * (zh * 3600 + zm * 60);
	if ((long long)(time_t)secs != secs)
		return -1;
	*t = (time_t)secs;
	return 0;
}

const char *
issue_mime_type(const char *name)
{
	const char	*dot, *slash;
	size_t		 i;

	dot = strrchr(name, '.');
	slash = strrchr(name, '/');
	if (dot == NULL || (slash != NULL && slash > dot))
		return "application/octet-stream";
	for (i = 0; i < sizeof(issue_mimes) / sizeof(issue_mimes[0]); i++)
		if (strcasecmp(dot + 1, issue_mimes[i].ext) == 0)
			return issue_mimes[i].mime;
	return "application/octet-stream";
}

static const char *
issue_basename(const char *path)
{
	const char	*slash = strrchr(path, '/');

	return slash != NULL ? slash + 1 : path;
}

static uint32_t
issue_fnv(const unsigned char *p, size_t len)
{
	uint32_t	h = 2166136261u;

	while (len-- > 0)
		h = (h ^ *p++) * 16777619u;
	return h;
}

/* Load a file through the caller's loader, within the size budget. */
static int
issue_load(struct issue_ctx *c, const struct value *at, const char *what,
    const char *path, unsigned char **data, size_t *len)
{
	char	*cause = NULL;

	*data = NULL;
	*len = 0;
	if (c->load == NULL) {
		issue_errv(c, at, "cannot load %s \"%s\": no files allowed "
		    "here", what, path);
		return -1;
	}
	if (c->load(c->arg, path, data, len, &cause) == -1) {
		issue_errv(c, at, "cannot load %s \"%s\": %s", what, path,
		    cause ? cause : "unknown error");
		free(cause);
		return -1;
	}
	if (*len > c->lim.max_files - c->files_size) {
		issue_errv(c, at, "%s \"%s\": files of the issue exceed %zu "
		    "bytes", what, path, c->lim.max_files);
		free(*data);
		*data = NULL;
		c->files_size = c->lim.max_files;
		return -1;
	}
	c->files_size += *len;
	return 0;
}

static void
issue_check_keys(struct issue_ctx *c, const struct value *m,
    const char **names, const char *where)
{
	const char	*near;
	size_t		 i;

	for (i = 0; i < m->u.map.n; i++) {
		near = issue_near_miss(m->u.map.k[i], names);
		if (near != NULL)
			issue_errk(c, m, i, "unknown key \"%s\" in %s; did "
			    "you mean \"%s\"?", m->u.map.k[i], where, near);
	}
}

static int
issue_has_scheme(const char *s)
{
	if (!isalpha((unsigned char)*s))
		return 0;
	while (isalnum((unsigned char)*s) || *s == '+' || *s == '-' ||
	    *s == '.')
		s++;
	return *s == ':';
}

/* An image map: check it, load a local src and point src at its cid. */
static void
issue_image(struct issue_ctx *c, struct value *m)
{
	struct issue		*is = c->is;
	struct issue_file	*f;
	struct value		*src, *alt, *cap;
	const char		*s, *mime, *why;
	unsigned char		*data;
	size_t			 i, len;

	issue_check_keys(c, m, issue_image_keys, "an image");
	if ((alt = value_map_get(m, "alt")) == NULL)
		issue_errv(c, m, "an image needs alt text for readers who "
		    "cannot see it (alt: \"\" for a decorative image)");
	else if (alt->type != VALUE_STRING)
		issue_errv(c, alt, "alt must be a string (put it in quotes)");
	if ((cap = value_map_get(m, "caption")) != NULL &&
	    cap->type != VALUE_STRING)
		issue_errv(c, cap, "caption must be a string");
	if ((src = value_map_get(m, "src")) == NULL) {
		issue_errv(c, m, "an image needs a src (a local file or an "
		    "https:// URL)");
		return;
	}
	if ((s = issue_want_string(c, src, "src")) == NULL)
		return;
	if (strncasecmp(s, "https://", 8) == 0) {
		if (s[8] == '\0')
			issue_errv(c, src, "src \"%s\" has no host", s);
		return;
	}
	if (strncasecmp(s, "http://", 7) == 0) {
		issue_errv(c, src, "src \"%s\" uses http://; use https:// or "
		    "a local file", s);
		return;
	}
	if (issue_has_scheme(s)) {
		issue_errv(c, src, "src \"%s\": only https:// URLs and local "
		    "files are allowed", s);
		return;
	}
	if (*s == '\0') {
		issue_errv(c, src, "src is empty");
		return;
	}
	/* Its file name reaches a MIME header. */
	if (text_check_line(s, src->u.str.len, &why) == -1) {
		issue_errv(c, src, "src: %s", why);
		return;
	}
	mime = issue_mime_type(s);
	if (strncmp(mime, "image/", 6) != 0) {
		issue_errv(c, src, "src \"%s\" is not a png, jpg, jpeg, gif, "
		    "webp or svg file", s);
		return;
	}
	for (i = 0; i < is->nimages; i++)
		if (strcmp(is->images[i].path, s) == 0)
			break;
	if (i == is->nimages) {
		if (issue_load(c, src, "image", s, &data, &len) == -1)
			return;
		is->images = xreallocarray(is->images, is->nimages + 1,
		    sizeof(*is->images));
		f = &is->images[is->nimages++];
		memset(f, 0, sizeof(*f));
		f->path = xstrdup(s);
		f->name = xstrdup(issue_basename(s));
		f->mime = mime;
		f->data = data;
		f->len = len;
		xasprintf(&f->cid, "img%zu.%08x@herald", is->nimages,
		    issue_fnv(data, len));
	}
	free(src->u.str.s);
	src->u.str.s = xsprintf("cid:%s", is->images[i].cid);
	src->u.str.len = strlen(src->u.str.s);
}

static void issue_walk(struct issue_ctx *, struct value *);

/* One entry of a data map: markdown bodies, images, then below. */
static void
issue_walk_entry(struct issue_ctx *c, const char *k, struct value *child)
{
	struct value	*item;
	size_t		 j;

	if (strcmp(k, "body") == 0 && child->type == VALUE_STRING)
		child->flags |= VALUE_F_MARKDOWN;
	else if (strcmp(k, "image") == 0) {
		if (child->type == VALUE_MAP)
			issue_image(c, child);
		else if (child->type != VALUE_NULL)
			issue_errv(c, child, "image must be a map with src "
			    "and alt");
	} else if (strcmp(k, "images") == 0) {
		if (child->type == VALUE_LIST) {
			for (j = 0; j < child->u.list.n; j++) {
				item = child->u.list.v[j];
				if (item->type == VALUE_MAP)
					issue_image(c, item);
				else
					issue_errv(c, item, "each of images "
					    "must be a map with src and alt");
			}
		} else if (child->type != VALUE_NULL)
			issue_errv(c, child, "images must be a list of maps "
			    "with src and alt");
	}
	issue_walk(c, child);
}

/* Mark markdown and handle images below v (data only). */
static void
issue_walk(struct issue_ctx *c, struct value *v)
{
	size_t	i;

	if (v->type == VALUE_LIST) {
		for (i = 0; i < v->u.list.n; i++)
			issue_walk(c, v->u.list.v[i]);
	} else if (v->type == VALUE_MAP) {
		for (i = 0; i < v->u.map.n; i++)
			issue_walk_entry(c, v->u.map.k[i], v->u.map.v[i]);
	}
}

static void
issue_attachment(struct issue_ctx *c, struct value *v)
{
	struct issue		*is = c->is;
	struct issue_file	*f;
	struct value		*pv = v, *nv = NULL;
	const char		*path, *name, *why;
	unsigned char		*data;
	size_t			 len;

	if (v->type == VALUE_MAP) {
		issue_check_keys(c, v, issue_attach_keys, "an attachment");
		if ((pv = value_map_get(v, "path")) == NULL) {
			issue_errv(c, v, "an attachment needs a path");
			return;
		}
	} else if (v->type != VALUE_STRING) {
		issue_errv(c, v, "each attachment must be a path or a map "
		    "with path and name");
		return;
	}
	if ((path = issue_want_string(c, pv, "path")) == NULL)
		return;
	if (*path == '\0') {
		issue_errv(c, pv, "the attachment path is empty");
		return;
	}
	if (issue_has_scheme(path)) {
		issue_errv(c, pv, "attachment \"%s\" must be a local file",
		    path);
		return;
	}
	name = issue_basename(path);
	if (v->type == VALUE_MAP && (nv = value_map_get(v, "name")) != NULL) {
		if ((name = issue_want_string(c, nv, "name")) == NULL)
			return;
		if (*name == '\0' || strchr(name, '/') != NULL ||
		    strchr(name, '\\') != NULL) {
			issue_errv(c, nv, "attachment name \"%s\" must be a "
			    "file name without '/' or '\\'", name);
			return;
		}
	}
	/* The name reaches a MIME header. */
	if (text_check_line(name, strlen(name), &why) == -1) {
		issue_errv(c, nv != NULL ? nv : pv, "attachment name: %s",
		    why);
		return;
	}
	if (*name == '\0') {
		issue_errv(c, pv, "attachment \"%s\" has no file name", path);
		return;
	}
	if (issue_load(c, pv, "attachment", path, &data, &len) == -1)
		return;
	is->attachments = xreallocarray(is->attachments,
	    is->nattachments + 1, sizeof(*is->attachments));
	f = &is->attachments[is->nattachments++];
	memset(f, 0, sizeof(*f));
	f->path = xstrdup(path);
	f->name = xstrdup(name);
	f->mime = issue_mime_type(name);
	f->data = data;
	f->len = len;
}

static void
issue_from(struct issue_ctx *c, const struct value *v)
{
	struct issue	*is = c->is;
	const struct value *nv = NULL, *av = v;
	const char	*s, *lt, *gt, *why;
	char		*name = NULL, *addr = NULL, *norm = NULL;
	size_t		 n;

	if (v->type == VALUE_MAP) {
		issue_check_keys(c, v, issue_from_keys, "from");
		nv = value_map_get(v, "name");
		if ((av = value_map_get(v, "address")) == NULL) {
			issue_errv(c, v, "from needs an address");
			return;
		}
		if (nv != NULL &&
		    (name = issue_want_line(c, nv, "the from name")) == NULL)
			goto fail;
		if ((s = issue_want_string(c, av, "the from address")) == NULL)
			goto fail;
		addr = xstrdup(s);
	} else if (v->type == VALUE_STRING) {
		s = v->u.str.s;
		if ((lt = strrchr(s, '<')) != NULL) {
			gt = strchr(lt, '>');
			if (gt == NULL || gt[1] != '\0') {
				issue_errv(c, v, "from \"%s\" must be "
				    "\"Name <address>\" or an address", s);
				goto fail;
			}
			addr = xstrndup(lt + 1, gt - lt - 1);
			n = lt - s;
			while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
				n--;
			while (n > 0 && (*s == ' ' || *s == '\t')) {
				s++;
				n--;
			}
			if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
				s++;
				n -= 2;
			}
			if (n > 0) {
				name = xstrndup(s, n);
				if (n > c->lim.max_line) {
					issue_errv(c, v, "the from name is %zu "
					    "bytes long, over the limit of %zu",
					    n, c->lim.max_line);
					goto fail;
				}
				if (text_check_line(name, n, &why) == -1) {
					issue_errv(c, v, "the from name: %s",
					    why);
					goto fail;
				}
			}
		} else
			addr = xstrdup(s);
	} else {
		issue_errv(c, v, "from must be \"Name <address>\" or a map "
		    "with name and address");
		return;
	}
	if (addr_check(addr, &norm, &why) == -1) {
		issue_errv(c, av, "from address \"%s\": %s", addr, why);
		goto fail;
	}
	is->from_name = name;
	is->from_address = norm;
	free(addr);
	return;
fail:
	free(name);
	free(addr);
}

/* A variant of the languages map: check its keys and take its texts. */
static void
issue_variant(struct issue_ctx *c, struct issue_lang *l, struct value *var)
{
	const char	*k, *near;
	size_t		 i;

	for (i = 0; i < var->u.map.n; i++) {
		k = var->u.map.k[i];
		if (strcmp(k, "subject") == 0)
			l->subject = issue_want_line(c, var->u.map.v[i],
			    "subject");
		else if (strcmp(k, "preheader") == 0)
			l->preheader = issue_want_line(c, var->u.map.v[i],
			    "preheader");
		else if (issue_is(k, issue_reserved))
			issue_errk(c, var, i, "\"%s\" cannot vary by language",
			    k);
		else if ((near = issue_near_miss(k, issue_lang_keys)) != NULL)
			issue_errk(c, var, i, "unknown key \"%s\"; did you "
			    "mean \"%s\"?", k, near);
		else
			issue_walk_entry(c, k, var->u.map.v[i]);
	}
}

/* The data of a variant: the top-level data with the variant's over it. */
static struct value *
issue_merge(const struct value *top, const struct value *var)
{
	struct issue_kset	 ks = { NULL, 0, 0 };
	struct value		*d = value_map();
	size_t			*idxs = NULL, i;

	if (var != NULL) {
		for (i = 0; i < var->u.map.n; i++) {
			if (issue_is(var->u.map.k[i], issue_reserved))
				continue;
			issue_kset_add(&ks, var->u.map.k[i], i, &idxs);
		}
	}
	for (i = 0; i < top->u.map.n; i++) {
		if (issue_is(top->u.map.k[i], issue_reserved))
			continue;
		if (ks.n > 0 && issue_kset_add(&ks, top->u.map.k[i], 0,
		    &idxs) != -1)
			continue;
		issue_map_append(d, xstrdup(top->u.map.k[i]),
		    issue_copy(top->u.map.v[i]));
	}
	if (var != NULL) {
		for (i = 0; i < var->u.map.n; i++) {
			if (issue_is(var->u.map.k[i], issue_reserved))
				continue;
			issue_map_append(d, xstrdup(var->u.map.k[i]),
			    issue_copy(var->u.map.v[i]));
		}
	}
	free(ks.k);
	free(idxs);
	d->line = top->line;
	d->col = top->col;
	return d;
}

static void
issue_file_free(struct issue_file *f)
{
	free(f->cid);
	free(f->path);
	free(f->name);
	free(f->data);
}

void
issue_free(struct issue *is)
{
	size_t	i;

	if (is == NULL)
		return;
	free(is->list);
	free(is->template);
	free(is->from_name);
	free(is->from_address);
	for (i = 0; i < is->nlangs; i++) {
		free(is->langs[i].tag);
		free(is->langs[i].subject);
		free(is->langs[i].preheader);
		value_free(is->langs[i].data);
	}
	free(is->langs);
	for (i = 0; i < is->nimages; i++)
		issue_file_free(&is->images[i]);
	free(is->images);
	for (i = 0; i < is->nattachments; i++)
		issue_file_free(&is->attachments[i]);
	free(is->attachments);
	free(is);
}

static size_t
issue_count(const struct value *v)
{
	size_t	i, n = 1;

	if (v->type == VALUE_LIST)
		for (i = 0; i < v->u.list.n; i++)
			n += issue_count(v->u.list.v[i]);
	else if (v->type == VALUE_MAP)
		for (i = 0; i < v->u.map.n; i++)
			n += 1 + issue_count(v->u.map.v[i]);
	return n;
}

/* The nodes of the top-level data, which every variant copies. */
static size_t
issue_data_nodes(const struct value *root)
{
	size_t	i, n = 0;

	for (i = 0; i < root->u.map.n; i++)
		if (!issue_is(root->u.map.k[i], issue_reserved))
			n += 1 + issue_count(root->u.map.v[i]);
	return n;
}

/* The languages map: one variant per tag, each with a subject. */
static void
issue_languages(struct issue_ctx *c, struct value *langs,
    const char *subject, const char *preheader)
{
	struct issue		*is = c->is;
	struct issue_lang	*l;
	struct value		*var;
	const char		*tag, *why;
	size_t			 i, j;

	if (langs->type != VALUE_MAP) {
		issue_errv(c, langs, "languages must be a map of language "
		    "tags to maps (en: {subject: ...})");
		return;
	}
	if (langs->u.map.n == 0) {
		issue_errv(c, langs, "languages is empty");
		return;
	}
	if (langs->u.map.n > ISSUE_MAX_LANGS) {
		issue_errk(c, langs, ISSUE_MAX_LANGS, "more than %d languages",
		    ISSUE_MAX_LANGS);
		return;
	}
	is->langs = xcalloc(langs->u.map.n, sizeof(*is->langs));
	for (i = 0; i < langs->u.map.n; i++) {
		tag = langs->u.map.k[i];
		var = langs->u.map.v[i];
		if (text_check_lang(tag, &why) == -1) {
			issue_errk(c, langs, i, "\"%s\" is not a language tag: "
			    "%s", tag, why);
			continue;
		}
		for (j = 0; j < is->nlangs; j++)
			if (strcasecmp(is->langs[j].tag, tag) == 0)
				break;
		if (j < is->nlangs) {
			issue_errk(c, langs, i, "language \"%s\" given twice",
			    tag);
			continue;
		}
		if (var->type != VALUE_MAP) {
			issue_errv(c, var, "language \"%s\" must be a map of "
			    "keys (subject: ...)", tag);
			continue;
		}
		l = &is->langs[is->nlangs++];
		l->tag = xstrdup(tag);
		issue_variant(c, l, var);
		if (l->subject == NULL && subject != NULL)
			l->subject = xstrdup(subject);
		if (l->subject == NULL && value_map_get(var, "subject") == NULL)
			issue_errk(c, langs, i, "language \"%s\" has no "
			    "subject (give one here or at the top level)", tag);
		if (l->preheader == NULL && preheader != NULL)
			l->preheader = xstrdup(preheader);
	}
}

struct issue *
issue_parse(const char *name, const char *src, size_t len,
    const struct issue_limits *lim, issue_load_fn load, void *arg,
    struct errlist *errs)
{
	struct issue_ctx	 ctx, *c = &ctx;
	struct issue		*is = NULL;
	struct value		*root = NULL, *v, *langs = NULL, *var;
	char			*subject = NULL, *preheader = NULL;
	const char		*k, *near;
	size_t			 i, j, data;

	memset(c, 0, sizeof(*c));
	c->name = name;
	c->src = src;
	c->len = len;
	c->errs = errs;
	c->load = load;
	c->arg = arg;
	if (lim != NULL)
		c->lim = *lim;
	else
		issue_limits_default(&c->lim);
	if (len > c->lim.max_file) {
		issue_err(c, 1, 1, "the file is %zu bytes, over the limit of "
		    "%zu", len, c->lim.max_file);
		issue_flush(c);
		return NULL;
	}
	if (!yaml_parser_initialize(&c->parser)) {
		issue_err(c, 1, 1, "cannot start the YAML parser");
		issue_flush(c);
		return NULL;
	}
	yaml_parser_set_input_string(&c->parser, (const unsigned char *)src,
	    len);
	/* UTF-8 only: no guessing UTF-16 from a byte order mark. */
	yaml_parser_set_encoding(&c->parser, YAML_UTF8_ENCODING);
	c->trash = value_list();
	root = issue_document(c);
	yaml_parser_delete(&c->parser);
	if (root == NULL || c->stop)
		goto fail;

	is = c->is = xcalloc(1, sizeof(*is));
	for (i = 0; i < root->u.map.n; i++) {
		k = root->u.map.k[i];
		v = root->u.map.v[i];
		if (strcmp(k, "list") == 0) {
			if (v->type != VALUE_NULL)
				is->list = issue_want_slug(c, v, "list");
		} else if (strcmp(k, "subject") == 0)
			subject = issue_want_line(c, v, "subject");
		else if (strcmp(k, "template") == 0)
			is->template = issue_want_slug(c, v, "template");
		else if (strcmp(k, "send_at") == 0) {
			if (v->type == VALUE_NULL)
				continue;
			if (issue_want_string(c, v, "send_at") == NULL)
				continue;
			if (issue_parse_time(v->u.str.s, &is->send_at) == -1)
				issue_errv(c, v, "send_at \"%s\" is not an RFC "
				    "3339 time with a zone, such as "
				    "2026-12-01T09:00:00+07:00", v->u.str.s);
			else
				is->has_send_at = 1;
		} else if (strcmp(k, "preheader") == 0)
			preheader = issue_want_line(c, v, "preheader");
		else if (strcmp(k, "from") == 0)
			issue_from(c, v);
		else if (strcmp(k, "attachments") == 0) {
			if (v->type == VALUE_LIST) {
				for (j = 0; j < v->u.list.n; j++)
					issue_attachment(c, v->u.list.v[j]);
			} else if (v->type != VALUE_NULL)
				issue_errv(c, v, "attachments must be a list "
				    "of files");
		} else if (strcmp(k, "languages") == 0)
			langs = v;
		else if ((near = issue_near_miss(k, issue_reserved)) != NULL)
			issue_errk(c, root, i, "unknown key \"%s\"; did you "
			    "mean \"%s\"?", k, near);
		else
			issue_walk_entry(c, k, v);
	}
	if (is->template == NULL)
		is->template = xstrdup(ISSUE_DEFAULT_TEMPLATE);
	if (langs != NULL)
		issue_languages(c, langs, subject, preheader);
	else if (subject == NULL && value_map_get(root, "subject") == NULL)
		issue_err(c, 1, 1, "the issue has no subject");
	if (c->nerrs == 0 && langs != NULL &&
	    (data = issue_data_nodes(root)) > c->lim.max_nodes / is->nlangs)
		issue_errv(c, langs, "%zu languages, each with a copy of %zu "
		    "data nodes, exceed %zu nodes", is->nlangs, data,
		    c->lim.max_nodes);
	if (c->nerrs > 0)
		goto fail;
	if (langs == NULL) {
		is->langs = xcalloc(1, sizeof(*is->langs));
		is->nlangs = 1;
		is->langs[0].subject = subject;
		is->langs[0].preheader = preheader;
		subject = preheader = NULL;
		is->langs[0].data = issue_merge(root, NULL);
	} else {
		for (i = 0; i < is->nlangs; i++) {
			var = value_map_get(langs, is->langs[i].tag);
			is->langs[i].data = issue_merge(root, var);
		}
	}
	is->total_size = len + c->files_size;
	goto out;
fail:
	if (c->nerrs == 0)
		issue_err(c, 1, 1, "the issue is not valid");
	issue_free(is);
	is = NULL;
out:
	issue_flush(c);
	free(subject);
	free(preheader);
	value_free(root);
	for (i = 0; i < c->nanchors; i++) {
		free(c->anchors[i].name);
	}
	free(c->anchors);
	free(c->keys);
	value_free(c->trash);
	return is;
}

int
issue_load_fs(void *arg, const char *path, unsigned char **data,
    size_t *len, char **cause)
{
	const char	*dir = arg;
	char		*full = NULL;
	unsigned char	*p = NULL;
	struct stat	 st;
	ssize_t		 n;
	size_t		 got = 0;
	int		 fd = -1;

	*data = NULL;
	*len = 0;
	*cause = NULL;
	if (*path == '/' || dir == NULL || *dir == '\0')
		full = xstrdup(path);
	else
		full = xsprintf("%s/%s", dir, path);
	if ((fd = open(full, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1 ||
	    fstat(fd, &st) == -1) {
		*cause = xstrdup(strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		*cause = xstrdup("not a regular file");
		goto fail;
	}
	if (st.st_size > ISSUE_LOAD_MAX) {
		xasprintf(cause, "%jd bytes, over the limit of %d",
		    (intmax_t)st.st_size, ISSUE_LOAD_MAX);
		goto fail;
	}
	p = xmalloc((size_t)st.st_size + 1);
	while (got < (size_t)st.st_size) {
		n = read(fd, p + got, (size_t)st.st_size - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			*cause = xstrdup(strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		got += n;
	}
	close(fd);
	free(full);
	*data = p;
	*len = got;
	return 0;
fail:
	if (fd != -1)
		close(fd);
	free(full);
	free(p);
	return -1;
}

struct issue *
issue_parse_file(const char *path, const struct issue_limits *lim,
    struct errlist *errs)
{
	struct issue_limits	 dl;
	struct issue		*is = NULL;
	unsigned char		*data = NULL;
	char			*dir = NULL, *slash, *cause = NULL;
	size_t			 len;
	struct stat		 st;

	if (lim == NULL) {
		issue_limits_default(&dl);
		lim = &dl;
	}
	if (stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	    (uintmax_t)st.st_size > lim->max_file) {
		errlist_add(errs, "%s:1:1: the file is %jd bytes, over the "
		    "limit of %zu", path, (intmax_t)st.st_size, lim->max_file);
		return NULL;
	}
	if (issue_load_fs(NULL, path, &data, &len, &cause) == -1) {
		errlist_add(errs, "%s: %s", path, cause);
		free(cause);
		return NULL;
	}
	dir = xstrdup(path);
	if ((slash = strrchr(dir, '/')) != NULL)
		slash[slash == dir] = '\0';
	else {
		free(dir);
		dir = xstrdup(".");
	}
	is = issue_parse(path, (const char *)data, len, lim, issue_load_fs,
	    dir, errs);
	free(dir);
	free(data);
	return is;
}

/* The primary subtag's length: "km" of "km-KH". */
static size_t
issue_primary(const char *tag)
{
	return strcspn(tag, "-_");
}

const struct issue_lang *
issue_lang_pick(const struct issue *is, const char *lang)
{
	size_t	i, n;

	if (is->nlangs == 0)
		return NULL;
	if (lang == NULL || *lang == '\0')
		return &is->langs[0];
	for (i = 0; i < is->nlangs; i++)
		if (is->langs[i].tag != NULL &&
		    strcasecmp(is->langs[i].tag, lang) == 0)
			return &is->langs[i];
	n = issue_primary(lang);
	for (i = 0; i < is->nlangs; i++)
		if (is->langs[i].tag != NULL &&
		    issue_primary(is->langs[i].tag) == n &&
		    strncasecmp(is->langs[i].tag, lang, n) == 0)
			return &is->langs[i];
	return &is->langs[0];
}
