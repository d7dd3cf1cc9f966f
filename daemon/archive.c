/* The web archive's content: sent issues as pages, images and an Atom feed. */
#include "autoconf.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "archive.h"
#include "buf.h"
#include "errlist.h"
#include "issue.h"
#include "render.h"
#include "store.h"
#include "stored.h"
#include "xmalloc.h"

/* A sent issue of a list, loaded and parsed again. */
struct archive_issue {
	struct store_issue	*si;
	struct store_file	*files;
	size_t			 nfiles;
	struct issue		*is;
};

static void
archive_issue_clear(struct archive_issue *a)
{
	issue_free(a->is);
	store_issue_free(a->si);
	store_files_free(a->files, a->nfiles);
	memset(a, 0, sizeof(*a));
}

static int
archive_store_err(struct store *st)
{
	return store_errkind(st) == STORE_ENOTFOUND ? ARCHIVE_ENOTFOUND :
	    ARCHIVE_EFAIL;
}

/* The first parse error, as the cause of a failure. */
static char *
archive_parse_cause(const struct errlist *errs)
{
	if (errs->n > 0)
		return xsprintf("stored issue no longer parses: %s",
		    errs->msgs[0]);
	return xstrdup("stored issue no longer parses");
}

/*
 * Load issue id if it is a sent issue of list, and parse it unless
 * parse is 0.
 */
static int
archive_load(struct store *st, const char *list, int64_t id, int parse,
    struct archive_issue *a, char **cause)
{
	struct errlist	errs = ERRLIST_INIT;
	int		rv = ARCHIVE_EFAIL;

	memset(a, 0, sizeof(*a));
	*cause = NULL;
	if ((a->si = store_issue_load(st, id, &a->files, &a->nfiles,
	    cause)) == NULL) {
		rv = archive_store_err(st);
		goto fail;
	}
	if (strcmp(a->si->list, list) != 0 ||
	    strcmp(a->si->state, "sent") != 0) {
		xasprintf(cause, "list %s has no sent issue %lld", list,
		    (long long)id);
		rv = ARCHIVE_ENOTFOUND;
		goto fail;
	}
	if (parse && (a->is = stored_issue_parse(a->si, a->files, a->nfiles,
	    &errs)) == NULL) {
		*cause = archive_parse_cause(&errs);
		goto fail;
	}
	errlist_free(&errs);
	return 0;
fail:
	errlist_free(&errs);
	archive_issue_clear(a);
	return rv;
}

/* When an issue counts as published: finished, else its send time. */
static int64_t
archive_date(const struct store_issue *si)
{
	if (si->finished != 0)
		return si->finished;
	if (si->send_at != 0)
		return si->send_at;
	return si->created;
}

/* Image i's name in archive URLs: "img" i and the lower-case extension. */
static char *
archive_image_name(const struct issue *is, size_t i)
{
	const char	*ext;
	char		*s, *p;

	ext = strrchr(is->images[i].name, '.');
	if (ext == NULL || ext[1] == '\0' || strlen(ext) > 8)
		return xsprintf("img%zu", i);
	for (p = (char *)ext + 1; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p))
			return xsprintf("img%zu", i);
	s = xsprintf("img%zu%s", i, ext);
	for (p = s; *p != '\0'; p++)
		*p = tolower((unsigned char)*p);
	return s;
}

/* Compile a loaded issue as the email of that list was compiled. */
static struct render_issue *
archive_compile(struct store *st, const struct render_env *env,
    const struct archive_issue *a, int *rv, char **cause)
{
	struct store_list	*sl;
	struct render_list	 rl;
	struct render_issue	*r;

	if ((sl = store_list_get(st, a->si->list, cause)) == NULL) {
		*rv = archive_store_err(st);
		return NULL;
	}
	stored_render_list(sl, &rl);
	r = render_compile(a->is, a->si->id, a->si->send_at ? a->si->send_at :
	    a->si->created, &rl, env, cause);
	store_list_free(sl);
	*rv = ARCHIVE_EFAIL;
	return r;
}

int
archive_issue_html(struct store *st, const struct render_env *env,
    const char *list, int64_t issue_id, const char *lang,
    const char *img_prefix, struct buf *out, char **subject, char **cause)
{
	struct archive_issue	 a;
	struct render_issue	*r = NULL;
	char			**urls = NULL, *name;
	size_t			 i, nurls = 0;
	int			 rv;

	*subject = NULL;
	if ((rv = archive_load(st, list, issue_id, 1, &a, cause)) != 0)
		return rv;
	if ((r = archive_compile(st, env, &a, &rv, cause)) == NULL)
		goto fail;
	urls = xcalloc(a.is->nimages + 1, sizeof(*urls));
	for (nurls = 0; nurls < a.is->nimages; nurls++) {
		name = archive_image_name(a.is, nurls);
		urls[nurls] = xsprintf("%s%s", img_prefix != NULL ?
		    img_prefix : "", name);
		free(name);
	}
	rv = ARCHIVE_EFAIL;
	if (render_web_html(r, lang, (const char *const *)urls, out,
	    cause) != 0)
		goto fail;
	*subject = xstrdup(render_subject(r, lang));
	rv = 0;
fail:
	for (i = 0; i < nurls; i++)
		free(urls[i]);
	free(urls);
	render_free(r);
	archive_issue_clear(&a);
	return rv;
}

int
archive_issue_image(struct store *st, const char *list, int64_t issue_id,
    const char *name, unsigned char **data, size_t *len, char **ctype,
    char **cause)
{
	struct archive_issue	 a;
	const struct issue_file	*f;
	char			*n;
	size_t			 i;
	int			 rv, found;

	*data = NULL;
	*len = 0;
	*ctype = NULL;
	if ((rv = archive_load(st, list, issue_id, 1, &a, cause)) != 0)
		return rv;
	for (i = 0; i < a.is->nimages; i++) {
		n = archive_image_name(a.is, i);
		found = strcmp(n, name) == 0;
		free(n);
		if (!found)
			continue;
		f = &a.is->images[i];
		*data = xmalloc(f->len ? f->len : 1);
		memcpy(*data, f->data, f->len);
		*len = f->len;
		*ctype = xstrdup(f->mime);
		archive_issue_clear(&a);
		return 0;
	}
	xasprintf(cause, "issue %lld of list %s has no image %s",
	    (long long)issue_id, list, name);
	archive_issue_clear(&a);
	return ARCHIVE_ENOTFOUND;
}

static int
archive_entry_cmp(const void *pa, const void *pb)
{
	const struct archive_entry	*a = pa, *b = pb;

	if (a->date != b->date)
		return a->date > b->date ? -1 : 1;
	if (a->id != b->id)
		return a->id > b->id ? -1 : 1;
	return 0;
}

int
archive_entries(struct store *st, const char *list, const char *lang,
    struct archive_entry **out, size_t *n, char **cause)
{
	struct store_list	*sl;
	struct store_issue	*all = NULL;
	struct archive_entry	*v = NULL, *e;
	struct archive_issue	 a;
	const struct issue_lang	*il;
	size_t			 nall = 0, nv = 0, i;
	char			*why = NULL;
	int			 rv = ARCHIVE_EFAIL;

	*out = NULL;
	*n = 0;
	*cause = NULL;
	if ((sl = store_list_get(st, list, cause)) == NULL)
		return archive_store_err(st);
	store_list_free(sl);
	if ((all = store_issue_all(st, list, &nall, cause)) == NULL &&
	    *cause != NULL)
		return ARCHIVE_EFAIL;
	v = xcalloc(nall ? nall : 1, sizeof(*v));
	for (i = 0; i < nall; i++) {
		if (strcmp(all[i].state, "sent") != 0 ||
		    strcmp(all[i].list, list) != 0)
			continue;
		e = &v[nv++];
		e->id = all[i].id;
		e->date = archive_date(&all[i]);
		if (archive_load(st, list, all[i].id, 1, &a, &why) != 0) {
			/* Sent but unreadable now: still listed. */
			free(why);
			why = NULL;
			e->subject = xstrdup(all[i].subject);
			continue;
		}
		il = issue_lang_pick(a.is, lang);
		e->subject = xstrdup(il->subject);
		if (il->preheader != NULL)
			e->preheader = xstrdup(il->preheader);
		if (il->tag != NULL)
			e->lang = xstrdup(il->tag);
		archive_issue_clear(&a);
	}
	qsort(v, nv, sizeof(*v), archive_entry_cmp);
	if (nv == 0) {
		free(v);
		v = NULL;
	}
	*out = v;
	*n = nv;
	rv = 0;
	store_issue_free_array(all, nall);
	return rv;
}

void
archive_entries_free(struct archive_entry *v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		free(v[i].subject);
		free(v[i].preheader);
		free(v[i].lang);
	}
	free(v);
}

/* Length of the UTF-8 sequence at s, 0 when it is not valid. */
static size_t
archive_utf8_len(const unsigned char *s, uint32_t *cp)
{
	size_t		n, i;
	uint32_t	c;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0) {
		n = 2;
		c = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3;
		c = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4;
		c = s[0] & 0x07;
	} else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if ((n == 2 && c < 0x80) || (n == 3 && c < 0x800) ||
	    (n == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

void
archive_xml_escape(struct buf *out, const char *str)
{
	const unsigned char	*s = (const unsigned char *)str;
	uint32_t		 c;
	size_t			 n;

	while (*s != '\0') {
		switch (*s) {
		case '&':
			buf_adds(out, "&amp;");
			s++;
			continue;
		case '<':
			buf_adds(out, "&lt;");
			s++;
			continue;
		case '>':
			buf_adds(out, "&gt;");
			s++;
			continue;
		case '"':
			buf_adds(out, "&quot;");
			s++;
			continue;
		case '\'':
			buf_adds(out, "&#39;");
			s++;
			continue;
		}
		n = archive_utf8_len(s, &c);
		if (n == 0 || (c < 0x20 && c != '\t' && c != '\n' &&
		    c != '\r') || c == 0xfffe || c == 0xffff) {
			buf_adds(out, "\xef\xbf\xbd");	/* U+FFFD */
			s += n ? n : 1;
			continue;
		}
		buf_add(out, s, n);
		s += n;
	}
}

static void
archive_xml_elem(struct buf *out, const char *name, const char *text)
{
	buf_printf(out, "<%s>", name);
	archive_xml_escape(out, text);
	buf_printf(out, "</%s>\n", name);
}

/* An RFC 3339 time in UTC. */
static void
archive_xml_time(struct buf *out, const char *name, int64_t t)
{
	struct tm	tm;
	time_t		tt = (time_t)t;
	char		s[32];

	gmtime_r(&tt, &tm);
	strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%SZ", &tm);
	buf_printf(out, "<%s>%s</%s>\n", name, s, name);
}

/* The inside of the <body> of a whole HTML document, else all of it. */
static void
archive_body(const char *html, const char **start, size_t *len)
{
	const char	*b, *e;

	*start = html;
	*len = strlen(html);
	if ((b = strstr(html, "<body")) == NULL ||
	    (b = strchr(b, '>')) == NULL)
		return;
	b++;
	if ((e = strstr(b, "</body>")) == NULL)
		return;
	*start = b;
	*len = e - b;
}

int
archive_feed(struct store *st, const struct render_env *env,
    const char *list, size_t max, struct buf *out, char **cause)
{
	struct store_list	*sl = NULL;
	struct archive_entry	*v = NULL;
	struct buf		 page = BUF_INIT;
	const char		*title, *author, *body;
	char			*base = NULL, *url = NULL, *prefix = NULL;
	char			*subject = NULL, *content = NULL;
	size_t			 nv = 0, n, i, len;
	int			 rv;

	*cause = NULL;
	buf_reset(out);
	if ((sl = store_list_get(st, list, cause)) == NULL)
		return archive_store_err(st);
	if ((rv = archive_entries(st, list, NULL, &v, &nv, cause)) != 0)
		goto fail;
	n = nv < max ? nv : max;
	title = sl->title != NULL && *sl->title != '\0' ? sl->title :
	    sl->name;
	author = sl->from_addr != NULL && sl->from_name != NULL ?
	    sl->from_name : env->from_name != NULL && *env->from_name != '\0' ?
	    env->from_name : title;
	xasprintf(&base, "%s/a/%s/", env->base_url, sl->name);

	buf_adds(out, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
	    "<feed xmlns=\"http://www.w3.org/2005/Atom\">\n");
	archive_xml_elem(out, "id", base);
	archive_xml_elem(out, "title", title);
	archive_xml_time(out, "updated", n > 0 ? v[0].date : sl->created);
	buf_adds(out, "<link rel=\"self\" type=\"application/atom+xml\" "
	    "href=\"");
	archive_xml_escape(out, base);
	buf_adds(out, "feed.atom\"/>\n<link rel=\"alternate\" "
	    "type=\"text/html\" href=\"");
	archive_xml_escape(out, base);
	buf_adds(out, "\"/>\n<author>\n");
	archive_xml_elem(out, "name", author);
	buf_adds(out, "</author>\n<generator>herald</generator>\n");

	for (i = 0; i < n; i++) {
		free(url);
		free(prefix);
		free(subject);
		subject = NULL;
		xasprintf(&url, "%s%lld", base, (long long)v[i].id);
		xasprintf(&prefix, "%s/", url);
		if ((rv = archive_issue_html(st, env, list, v[i].id, NULL,
		    prefix, &page, &subject, cause)) != 0)
			goto fail;
		if (v[i].lang != NULL) {
			buf_adds(out, "<entry xml:lang=\"");
			archive_xml_escape(out, v[i].lang);
			buf_adds(out, "\">\n");
		} else
			buf_adds(out, "<entry>\n");
		archive_xml_elem(out, "id", url);
		archive_xml_elem(out, "title", v[i].subject);
		archive_xml_time(out, "updated", v[i].date);
		archive_xml_time(out, "published", v[i].date);
		buf_adds(out, "<link rel=\"alternate\" type=\"text/html\" "
		    "href=\"");
		archive_xml_escape(out, url);
		buf_adds(out, "\"/>\n");
		if (v[i].preheader != NULL)
			archive_xml_elem(out, "summary", v[i].preheader);
		archive_body(buf_cstr(&page), &body, &len);
		content = xstrndup(body, len);
		buf_adds(out, "<content type=\"html\">");
		archive_xml_escape(out, content);
		buf_adds(out, "</content>\n</entry>\n");
		free(content);
		content = NULL;
	}
	buf_adds(out, "</feed>\n");
	rv = 0;
fail:
	if (rv != 0)
		buf_reset(out);
	free(base);
	free(url);
	free(prefix);
	free(subject);
	buf_free(&page);
	archive_entries_free(v, nv);
	store_list_free(sl);
	return rv;
}
