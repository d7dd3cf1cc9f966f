/* An issue, its template and a subscriber become the bytes of a message. */
#include "autoconf.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "addr.h"
#include "buf.h"
#include "issue.h"
#include "log.h"
#include "markdown.h"
#include "mime.h"
#include "mustache.h"
#include "render.h"
#include "token.h"
#include "value.h"
#include "xmalloc.h"

#define RENDER_MAX_TEMPLATE	(1024 * 1024)

struct render_tmpl {
	char			*name;
	struct mustache_tmpl	*t;	/* NULL: tried and not found */
};

/*
 * Render plans.  A body differs between subscribers only where their
 * fields (name, email, attributes, unsubscribe link) go, and in the
 * sections that test them: one render of the template per shape of
 * subscriber (mustache_plan) serves them all.  Its lines without a field
 * are quoted-printable encoded once; per message, only the lines holding
 * one are filled in and encoded.  Quoted-printable restarts at every line
 * break, so the result is byte for byte what encoding the whole body
 * gives (test_render checks it).
 */
#define RENDER_MAXPLANS	16	/* shapes per language and body */

struct render_run {
	size_t	 from, to;	/* static: enc[from..to); else text[..] */
	size_t	 slot, nslots;	/* the fields in it; 0: static */
};

struct render_plan {
	struct mustache_plan	*mp;
	char			*text;	/* the render without its fields */
	char			*enc;	/* the static runs, encoded */
	struct render_run	*runs;
	size_t			 nruns;
	struct render_plan	*next;
};

struct render_lang {
	const struct issue_lang	*il;
	struct value		*html;	/* data with markdown as HTML */
	struct value		*text;	/* data with markdown as text */
	struct render_plan	*plans[2];	/* HTML, text; under qlock */
	size_t			 nplans[2];
	int			 noplan[2];	/* cannot be planned */
};

struct render_issue {
	const struct issue	*issue;
	int64_t			 issue_id;
	time_t			 issue_date;	/* the issue's date */
	char			 date[64];	/* "27 November 2026" */
	char			 date_km[128];
	char			*templates;
	char			*tmpl_dir;
	char			*base_url;
	char			*from_address;
	char			*from_name;
	char			*reply_to;
	char			*domain;
	char			*bounce_domain;
	char			*postal_address;
	unsigned char		*key;
	size_t			 keylen;
	int64_t			 list_id;
	char			*list_name;
	char			*list_title;
	char			*list_idhdr;	/* "name.domain" */
	char			*view_url;
	char			*archive_url;
	char			*subscribe_url;
	struct render_tmpl	*cache;
	size_t			 ncache;
	const struct mustache_tmpl *html;
	const struct mustache_tmpl *text;
	struct render_lang	*langs;
	size_t			 nlangs;
	struct mime_part	**inlines;
	struct mime_part	**attachments;
	struct buf		 hbuf, tbuf;	/* render_message's scratch */
	char			*cause;		/* from the partial loader */
	/*
	 * Connection threads render messages of one issue at once: the
	 * partial cache grows as templates name partials, under this lock.
	 */
	pthread_mutex_t		 plock;
	pthread_mutex_t		 qlock;		/* the languages' plans */
	int			 noplans;	/* render_use_plans(r, 0) */
};

/*
 * cmark-gfm 0.29 is not reentrant: every parse adds its extensions'
 * characters to a global table and removes them when done (see
 * github/cmark-gfm pull request 176), and the first use registers the
 * extensions in a global list.  heraldd compiles campaigns in its loop
 * while HTTP threads compile archive pages, so markdown conversion is
 * serialized here, where both pass.
 */
static pthread_mutex_t render_md_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const render_months[12] = {
	"January", "February", "March", "April", "May", "June", "July",
	"August", "September", "October", "November", "December"
};
static const char *const render_months_km[12] = {
	"មករា", "កុម្ភៈ", "មីនា", "មេសា", "ឧសភា", "មិថុនា", "កក្កដា",
	"សីហា", "កញ្ញា", "តុលា", "វិច្ឆិកា", "ធ្នូ"
};

static char *
render_dup(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

/* Write n in Khmer digits. */
static void
render_km_digits(struct buf *b, long n)
{
	static const char *const d[10] = {
		"០", "១", "២", "៣", "៤", "៥", "៦", "៧", "៨", "៩"
	};
	char	tmp[32], *p;

	snprintf(tmp, sizeof(tmp), "%ld", n);
	for (p = tmp; *p != '\0'; p++)
		buf_adds(b, d[*p - '0']);
}

static void
render_dates(struct render_issue *r, time_t date)
{
	struct tm	tm;
	struct buf	b = BUF_INIT;

	localtime_r(&date, &tm);
	snprintf(r->date, sizeof(r->date), "%d %s %d", tm.tm_mday,
	    render_months[tm.tm_mon], tm.tm_year + 1900);
	render_km_digits(&b, tm.tm_mday);
	buf_printf(&b, " %s ", render_months_km[tm.tm_mon]);
	render_km_digits(&b, tm.tm_year + 1900);
	snprintf(r->date_km, sizeof(r->date_km), "%s", buf_cstr(&b));
	buf_free(&b);
}

/* A partial name is a plain file name: letters, digits, '.', '_', '-'. */
static int
render_name_ok(const char *name)
{
	const char	*p;

	if (name[0] == '\0' || name[0] == '.' || strlen(name) > 100)
		return 0;
	for (p = name; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' ||
		    *p == '-'))
			return 0;
	return strstr(name, "..") == NULL;
}

int
render_template_read(const char *path, char **out, size_t *len,
    char **cause)
{
	FILE	*fp;
	struct buf b = BUF_INIT;
	char	 chunk[8192];
	size_t	 n;

	if ((fp = fopen(path, "r")) == NULL) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return -1;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
		buf_add(&b, chunk, n);
		if (b.len > RENDER_MAX_TEMPLATE) {
			fclose(fp);
			buf_free(&b);
			xasprintf(cause, "%s: template larger than %d bytes",
			    path, RENDER_MAX_TEMPLATE);
			return -1;
		}
	}
	if (ferror(fp)) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		fclose(fp);
		buf_free(&b);
		return -1;
	}
	fclose(fp);
	*len = b.len;
	*out = buf_steal(&b);
	return 0;
}

/*
 * Find template `name`: first in the issue's template folder, then at the
 * top of the templates folder (layouts shared by several templates).
 * Parsed templates are cached for the life of the compiled issue.
 */
static const struct mustache_tmpl *
render_partial_locked(struct render_issue *r, const char *name)
{
	struct render_tmpl	*c;
	char			*path = NULL, *src = NULL, *cause = NULL;
	size_t			 i, len;
	const char		*dirs[2] = { r->tmpl_dir, r->templates };
	struct mustache_tmpl	*t = NULL;

	for (i = 0; i < r->ncache; i++)
		if (strcmp(r->cache[i].name, name) == 0)
			return r->cache[i].t;
	if (!render_name_ok(name))
		goto done;
	for (i = 0; i < 2 && t == NULL; i++) {
		free(path);
		xasprintf(&path, "%s/%s.mustache", dirs[i], name);
		if (render_template_read(path, &src, &len, &cause) != 0) {
			free(cause);
			cause = NULL;
			continue;
		}
		t = mustache_parse(path, src, len, &cause);
		free(src);
		if (t == NULL) {
			if (r->cause == NULL)
				r->cause = cause;
			else
				free(cause);
			break;
		}
	}
done:
	free(path);
	r->cache = xreallocarray(r->cache, r->ncache + 1, sizeof(*r->cache));
	c = &r->cache[r->ncache++];
	c->name = xstrdup(name);
	c->t = t;
	return t;
}

static const struct mustache_tmpl *
render_partial(void *arg, const char *name)
{
	struct render_issue		*r = arg;
	const struct mustache_tmpl	*t;

	pthread_mutex_lock(&r->plock);
	t = render_partial_locked(r, name);
	pthread_mutex_unlock(&r->plock);
	return t;
}

/* Replace every markdown string in v by its HTML or text rendering. */
static void
render_markdown(struct value *v, int html)
{
	char	*s;
	size_t	 i;

	switch (v->type) {
	case VALUE_STRING:
		if (!(v->flags & VALUE_F_MARKDOWN))
			break;
		s = html ? markdown_to_html(v->u.str.s, v->u.str.len) :
		    markdown_to_text(v->u.str.s, v->u.str.len, MARKDOWN_WIDTH);
		free(v->u.str.s);
		v->u.str.s = s;
		v->u.str.len = strlen(s);
		/* Text bodies end without the final newline templates add. */
		while (!html && v->u.str.len > 0 &&
		    v->u.str.s[v->u.str.len - 1] == '\n')
			v->u.str.s[--v->u.str.len] = '\0';
		break;
	case VALUE_LIST:
		for (i = 0; i < v->u.list.n; i++)
			render_markdown(v->u.list.v[i], html);
		break;
	case VALUE_MAP:
		for (i = 0; i < v->u.map.n; i++)
			render_markdown(v->u.map.v[i], html);
		break;
	default:
		break;
	}
}

static const struct mustache_tmpl *
render_load_main(struct render_issue *r, const char *name, char **cause)
{
	const struct mustache_tmpl	*t;

	if ((t = render_partial(r, name)) != NULL)
		return t;
	if (r->cause != NULL) {
		*cause = r->cause;
		r->cause = NULL;
	} else
		xasprintf(cause, "template %s: no %s/%s.mustache", r->tmpl_dir,
		    r->tmpl_dir, name);
	return NULL;
}

struct render_issue *
render_compile(const struct issue *is, int64_t issue_id, time_t date,
    const struct render_list *l, const struct render_env *env, char **cause)
{
	struct render_issue	*r;
	const struct issue_file	*f;
	const char		*tmpl;
	size_t			 i;

	*cause = NULL;
	r = xcalloc(1, sizeof(*r));
	pthread_mutex_init(&r->plock, NULL);
	pthread_mutex_init(&r->qlock, NULL);
	r->issue = is;
	r->issue_id = issue_id;
	r->issue_date = date;
	render_dates(r, date);
	r->templates = xstrdup(env->templates);
	tmpl = is->template != NULL ? is->template : ISSUE_DEFAULT_TEMPLATE;
	if (!render_name_ok(tmpl)) {
		xasprintf(cause, "template name \"%s\" is not a plain name",
		    tmpl);
		goto fail;
	}
	xasprintf(&r->tmpl_dir, "%s/%s", env->templates, tmpl);
	r->base_url = xstrdup(env->base_url);
	r->from_address = xstrdup(is->from_address ? is->from_address :
	    l->from_address ? l->from_address : env->from_address);
	r->from_name = render_dup(is->from_address ? is->from_name :
	    l->from_address ? l->from_name : env->from_name);
	if (is->from_address == NULL && l->from_address != NULL &&
	    l->from_name == NULL)
		r->from_name = render_dup(env->from_name);
	r->reply_to = render_dup(l->reply_to ? l->reply_to : env->reply_to);
	r->domain = xstrdup(env->domain);
	r->bounce_domain = xstrdup(env->bounce_domain ? env->bounce_domain :
	    env->domain);
	r->postal_address = render_dup(env->postal_address);
	r->keylen = env->keylen;
	r->key = xmalloc(env->keylen ? env->keylen : 1);
	memcpy(r->key, env->key, env->keylen);
	r->list_id = l->id;
	r->list_name = xstrdup(l->name);
	r->list_title = render_dup(l->title);
	xasprintf(&r->list_idhdr, "%s.%s", l->name, env->domain);
	xasprintf(&r->view_url, "%s/a/%s/%lld", env->base_url, l->name,
	    (long long)issue_id);
	xasprintf(&r->archive_url, "%s/a/%s/", env->base_url, l->name);
	xasprintf(&r->subscribe_url, "%s/s/%s", env->base_url, l->name);

	if ((r->html = render_load_main(r, "html", cause)) == NULL)
		goto fail;
	if ((r->text = render_load_main(r, "text", cause)) == NULL)
		goto fail;

	r->nlangs = is->nlangs;
	r->langs = xcalloc(is->nlangs ? is->nlangs : 1, sizeof(*r->langs));
	for (i = 0; i < is->nlangs; i++) {
		r->langs[i].il = &is->langs[i];
		r->langs[i].html = value_copy(is->langs[i].data);
		r->langs[i].text = value_copy(is->langs[i].data);
		pthread_mutex_lock(&render_md_lock);
		render_markdown(r->langs[i].html, 1);
		render_markdown(r->langs[i].text, 0);
		pthread_mutex_unlock(&render_md_lock);
	}

	r->inlines = xcalloc(is->nimages + 1, sizeof(*r->inlines));
	for (i = 0; i < is->nimages; i++) {
		f = &is->images[i];
		r->inlines[i] = mime_part_new(f->mime, MIME_INLINE, f->name,
		    f->cid, f->data, f->len, cause);
		if (r->inlines[i] == NULL)
			goto fail;
	}
	r->attachments = xcalloc(is->nattachments + 1,
	    sizeof(*r->attachments));
	for (i = 0; i < is->nattachments; i++) {
		f = &is->attachments[i];
		r->attachments[i] = mime_part_new(f->mime, MIME_ATTACHMENT,
		    f->name, NULL, f->data, f->len, cause);
		if (r->attachments[i] == NULL)
			goto fail;
	}
	return r;
fail:
	render_free(r);
	return NULL;
}

static struct render_lang *
render_pick(struct render_issue *r, const char *lang)
{
	const struct issue_lang	*il;
	size_t			 i;

	il = issue_lang_pick(r->issue, lang);
	for (i = 0; i < r->nlangs; i++)
		if (r->langs[i].il == il)
			return &r->langs[i];
	return &r->langs[0];
}

static void
render_set(struct value *m, const char *key, const char *s)
{
	if (s != NULL)
		value_map_set(m, key, value_cstring(s));
}

static int
render_is_km(const struct render_lang *rl)
{
	const char	*t = rl->il->tag;

	return t != NULL && strncmp(t, "km", 2) == 0 &&
	    (t[2] == '\0' || t[2] == '-');
}

/*
 * The per-subscriber part of the template context.  rc NULL: a page for
 * nobody in particular (the web archive): no subscriber fields, no
 * unsubscribe link nor token, and "web" set.
 */
static struct value *
render_context(struct render_issue *r, const struct render_lang *rl,
    const struct render_rcpt *rc, char **unsub_token)
{
	struct value	*ctx, *m, *a, *v;
	struct token	 tk;
	char		*tok = NULL, *url;
	size_t		 i;

	ctx = value_map();

	m = value_map();
	a = value_map();
	if (rc != NULL) {
		render_set(m, "email", rc->email);
		render_set(m, "name", rc->name);
		render_set(m, "lang", rc->lang);
		for (i = 0; i < rc->nattrs; i++)
			render_set(a, rc->attrs[i].key, rc->attrs[i].val);
	}
	value_map_set(m, "attributes", a);
	/* What differs per subscriber, for render plans. */
	m->flags |= VALUE_F_VOLATILE;
	value_map_set(ctx, "subscriber", m);

	m = value_map();
	render_set(m, "name", r->list_name);
	render_set(m, "title", r->list_title);
	value_map_set(ctx, "list", m);

	m = value_map();
	render_set(m, "subject", rl->il->subject);
	render_set(m, "date", render_is_km(rl) ? r->date_km : r->date);
	render_set(m, "preheader", rl->il->preheader);
	value_map_set(ctx, "issue", m);

	m = value_map();
	if (rc != NULL) {
		memset(&tk, 0, sizeof(tk));
		tk.purpose = TOKEN_UNSUBSCRIBE;
		tk.subscriber = rc->id;
		tk.list = (uint32_t)r->list_id;
		/* Unsubscribe links never expire: date them by the issue. */
		tk.issued = r->issue_date;
		tok = token_make(&tk, r->key, r->keylen);
		xasprintf(&url, "%s/u/%s", r->base_url, tok);
		v = value_string_take(url, strlen(url));
		v->flags |= VALUE_F_VOLATILE;
		value_map_set(m, "unsubscribe", v);
	}
	/* Online, a reader sees the variant they were sent, whatever
	 * language their browser asks for. */
	if (rl->il->tag != NULL) {
		xasprintf(&url, "%s?lang=%s", r->view_url, rl->il->tag);
		value_map_set(m, "view_online",
		    value_string_take(url, strlen(url)));
		xasprintf(&url, "%s?lang=%s", r->archive_url, rl->il->tag);
		value_map_set(m, "archive",
		    value_string_take(url, strlen(url)));
	} else {
		render_set(m, "view_online", r->view_url);
		render_set(m, "archive", r->archive_url);
	}
	render_set(m, "subscribe", r->subscribe_url);
	value_map_set(ctx, "links", m);
	*unsub_token = tok;

	m = value_map();
	render_set(m, "name", r->from_name);
	render_set(m, "address", r->from_address);
	render_set(m, "postal_address", r->postal_address);
	value_map_set(ctx, "sender", m);

	render_set(ctx, "lang", rl->il->tag ? rl->il->tag :
	    (rc != NULL && rc->lang ? rc->lang : "en"));
	if (rl->il->tag == NULL)
		value_map_get(ctx, "lang")->flags |= VALUE_F_VOLATILE;
	render_set(ctx, "dir", "ltr");
	if (rc == NULL)
		value_map_set(ctx, "web", value_bool(1));
	return ctx;
}

static int
render_both(struct render_issue *r, const struct render_lang *rl,
    struct value *ctx, struct buf *html, struct buf *text, char **cause)
{
	const struct value	*stack[2];

	stack[1] = ctx;
	if (html != NULL) {
		buf_reset(html);
		stack[0] = rl->html;
		if (mustache_render(r->html, stack, 2, 0, render_partial, r,
		    html, cause) != 0)
			return -1;
	}
	if (text != NULL) {
		buf_reset(text);
		stack[0] = rl->text;
		if (mustache_render(r->text, stack, 2, MUSTACHE_NOESCAPE,
		    render_partial, r, text, cause) != 0)
			return -1;
	}
	return 0;
}

int
render_bodies(struct render_issue *r, const struct render_rcpt *rc,
    struct buf *html, struct buf *text, char **cause)
{
	const struct render_lang	*rl = render_pick(r, rc->lang);
	struct value			*ctx;
	char				*tok;
	int				 rv;

	*cause = NULL;
	ctx = render_context(r, rl, rc, &tok);
	rv = render_both(r, rl, ctx, html, text, cause);
	value_free(ctx);
	free(tok);
	return rv;
}

/* Plan body kind (0 HTML, 1 text) for the subscriber in stack. */
static struct render_plan *
render_plan_make(struct render_issue *r, int kind,
    const struct value *const *stack)
{
	struct render_plan	*p;
	struct mustache_plan	*mp;
	struct buf		 text, enc;
	char			*cause = NULL;
	const char		*nl;
	size_t			 i, j, n, at, pos = 0, ls, le, len;

	buf_init(&text);
	if (mustache_plan(kind ? r->text : r->html, stack, 2,
	    kind ? MUSTACHE_NOESCAPE : 0, render_partial, r, &text, &mp,
	    &cause) != 0) {
		log_debug("render: issue %lld: no plan for the %s body: %s",
		    (long long)r->issue_id, kind ? "text" : "HTML",
		    cause != NULL ? cause : "");
		free(cause);
		buf_free(&text);
		return NULL;
	}
	p = xcalloc(1, sizeof(*p));
	p->mp = mp;
	len = text.len;
	p->text = buf_steal(&text);
	buf_init(&enc);
	n = mustache_plan_nslots(mp);
	p->runs = xcalloc(2 * n + 1, sizeof(*p->runs));
	for (i = 0; i <= n; i = j) {
		/* The lines holding slot i and any after it on them. */
		if (i < n) {
			at = mustache_plan_slot_at(mp, i);
			for (ls = at; ls > pos && p->text[ls - 1] != '\n'; ls--)
				continue;
			nl = memchr(p->text + at, '\n', len - at);
			le = nl != NULL ? (size_t)(nl - p->text) + 1 : len;
			/* Without a line break after it, the rest is one. */
			for (j = i + 1; j < n && (nl == NULL ||
			    mustache_plan_slot_at(mp, j) < le); j++)
				continue;
		} else {
			ls = le = len;
			j = n + 1;
		}
		if (ls > pos) {
			p->runs[p->nruns].from = enc.len;
			mime_qp_encode(&enc, p->text + pos, ls - pos);
			p->runs[p->nruns++].to = enc.len;
		}
		if (i < n) {
			p->runs[p->nruns].from = ls;
			p->runs[p->nruns].to = le;
			p->runs[p->nruns].slot = i;
			p->runs[p->nruns++].nslots = j - i;
		}
		pos = le;
	}
	p->enc = buf_steal(&enc);
	return p;
}

static void
render_plan_free(struct render_plan *p)
{
	struct render_plan	*next;

	for (; p != NULL; p = next) {
		next = p->next;
		mustache_plan_free(p->mp);
		free(p->text);
		free(p->enc);
		free(p->runs);
		free(p);
	}
}

/* The plan that holds for this subscriber, made if need be; or NULL. */
static struct render_plan *
render_plan_get(struct render_issue *r, struct render_lang *rl, int kind,
    const struct value *const *stack)
{
	struct render_plan	*p, **tail;

	pthread_mutex_lock(&r->qlock);
	for (tail = &rl->plans[kind]; (p = *tail) != NULL; tail = &p->next)
		if (mustache_plan_holds(p->mp, stack, 2))
			break;
	if (p == NULL && !rl->noplan[kind]) {
		if (rl->nplans[kind] == RENDER_MAXPLANS ||
		    (p = render_plan_make(r, kind, stack)) == NULL)
			rl->noplan[kind] = 1;
		else {
			*tail = p;
			rl->nplans[kind]++;
		}
	}
	pthread_mutex_unlock(&r->qlock);
	return p;
}

/* Body kind by plan p, quoted-printable, into out (reset first). */
static void
render_plan_body(const struct render_plan *p,
    const struct value *const *stack, struct buf *out, struct buf *line)
{
	const struct render_run	*run;
	size_t			 i, k, at, pos;

	buf_reset(out);
	for (i = 0; i < p->nruns; i++) {
		run = &p->runs[i];
		if (run->nslots == 0) {
			buf_add(out, p->enc + run->from, run->to - run->from);
			continue;
		}
		buf_reset(line);
		pos = run->from;
		for (k = run->slot; k < run->slot + run->nslots; k++) {
			at = mustache_plan_slot_at(p->mp, k);
			buf_add(line, p->text + pos, at - pos);
			mustache_plan_fill(p->mp, k, stack, 2, line);
			pos = at;
		}
		buf_add(line, p->text + pos, run->to - pos);
		mime_qp_encode(out, line->data, line->len);
	}
}

/*
 * Both bodies, quoted-printable, by plans: 1, or 0 when the template
 * cannot be planned for this subscriber (render them the long way).
 */
static int
render_planned(struct render_issue *r, struct render_lang *rl,
    struct value *ctx, struct buf *html, struct buf *text)
{
	const struct value	*hs[2] = { rl->html, ctx };
	const struct value	*ts[2] = { rl->text, ctx };
	struct render_plan	*ph, *pt;
	struct buf		 line;

	if (r->noplans || (ph = render_plan_get(r, rl, 0, hs)) == NULL ||
	    (pt = render_plan_get(r, rl, 1, ts)) == NULL)
		return 0;
	buf_init(&line);
	render_plan_body(ph, hs, html, &line);
	render_plan_body(pt, ts, text, &line);
	buf_free(&line);
	return 1;
}

void
render_use_plans(struct render_issue *r, int on)
{
	r->noplans = !on;
}

size_t
render_plan_count(struct render_issue *r)
{
	size_t	i, n = 0;

	pthread_mutex_lock(&r->qlock);
	for (i = 0; i < r->nlangs; i++)
		n += r->langs[i].nplans[0] + r->langs[i].nplans[1];
	pthread_mutex_unlock(&r->qlock);
	return n;
}

static int
render_zone_minutes(time_t t)
{
	struct tm	tm;

	localtime_r(&t, &tm);
	return (int)(tm.tm_gmtoff / 60);
}

int
render_message(struct render_issue *r, const struct render_rcpt *rc,
    time_t now, struct buf *out, char **cause)
{
	return render_message_r(r, rc, now, &r->hbuf, &r->tbuf, out, cause);
}

int
render_message_r(struct render_issue *r, const struct render_rcpt *rc,
    time_t now, struct buf *hbuf, struct buf *tbuf, struct buf *out,
    char **cause)
{
	struct render_lang		*rl = render_pick(r, rc->lang);
	struct mime_message		 m;
	struct value			*ctx;
	char				*tok, *msgid = NULL, *unsub = NULL;
	char				*mailto = NULL, *subject = NULL, *addr;
	char				*to_ascii = NULL;
	const char			*why;
	int				 rv = -1, qp;

	*cause = NULL;
	ctx = render_context(r, rl, rc, &tok);
	qp = render_planned(r, rl, ctx, hbuf, tbuf);
	if (!qp && render_both(r, rl, ctx, hbuf, tbuf, cause) != 0)
		goto done;

	msgid = mime_message_id(r->issue_id, rc->id, r->domain, r->key,
	    r->keylen);
	/* Without SMTPUTF8 a header holds the domain in ASCII (A-labels). */
	if (addr_to_ascii(rc->email, &to_ascii, &why) != 0) {
		xasprintf(cause, "%s: %s", rc->email, why);
		goto done;
	}
	xasprintf(&unsub, "%s/u/%s", r->base_url, tok);
	addr = token_verp_address(tok, "unsubscribe", r->bounce_domain);
	xasprintf(&mailto, "mailto:%s?subject=unsubscribe", addr);
	free(addr);
	if (rc->subject_prefix != NULL)
		xasprintf(&subject, "%s%s", rc->subject_prefix,
		    rl->il->subject);

	memset(&m, 0, sizeof(m));
	m.from_name = r->from_name;
	m.from_addr = r->from_address;
	m.to_name = rc->name;
	m.to_addr = to_ascii;
	m.reply_to_addr = r->reply_to;
	m.subject = subject != NULL ? subject : rl->il->subject;
	m.date = now;
	m.zone_minutes = render_zone_minutes(now);
	m.message_id = msgid;
	m.list_title = r->list_title;
	m.list_id = r->list_idhdr;
	m.unsub_url = unsub;
	m.unsub_mailto = mailto;
	m.text = tbuf->data != NULL ? tbuf->data : "";
	m.text_len = tbuf->len;
	m.html = hbuf->data != NULL ? hbuf->data : "";
	m.html_len = hbuf->len;
	m.bodies_qp = qp;
	m.inlines = r->inlines;
	m.ninlines = r->issue->nimages;
	m.attachments = r->attachments;
	m.nattachments = r->issue->nattachments;
	buf_reset(out);
	rv = mime_build(&m, out, cause);
done:
	value_free(ctx);
	free(tok);
	free(msgid);
	free(unsub);
	free(mailto);
	free(subject);
	free(to_ascii);
	return rv;
}

/* Point every image src "cid:CID" in v at urls[i] of the image CID. */
static void
render_web_images(struct render_issue *r, struct value *v,
    const char *const *urls)
{
	struct value	*c;
	size_t		 i, j;

	switch (v->type) {
	case VALUE_LIST:
		for (i = 0; i < v->u.list.n; i++)
			render_web_images(r, v->u.list.v[i], urls);
		break;
	case VALUE_MAP:
		for (i = 0; i < v->u.map.n; i++) {
			c = v->u.map.v[i];
			if (strcmp(v->u.map.k[i], "src") != 0 ||
			    c->type != VALUE_STRING ||
			    strncmp(c->u.str.s, "cid:", 4) != 0) {
				render_web_images(r, c, urls);
				continue;
			}
			for (j = 0; j < r->issue->nimages; j++)
				if (strcmp(c->u.str.s + 4,
				    r->issue->images[j].cid) == 0)
					break;
			if (j == r->issue->nimages)
				continue;
			free(c->u.str.s);
			c->u.str.s = xstrdup(urls[j]);
			c->u.str.len = strlen(c->u.str.s);
		}
		break;
	default:
		break;
	}
}

int
render_web_html(struct render_issue *r, const char *lang,
    const char *const *img_urls, struct buf *html, char **cause)
{
	const struct render_lang	*rl = render_pick(r, lang);
	struct render_lang		 web;
	struct value			*ctx;
	char				*tok;
	int				 rv;

	*cause = NULL;
	web = *rl;
	web.html = value_copy(rl->html);
	render_web_images(r, web.html, img_urls);
	ctx = render_context(r, &web, NULL, &tok);
	rv = render_both(r, &web, ctx, html, NULL, cause);
	value_free(ctx);
	value_free(web.html);
	free(tok);
	return rv;
}

const char *
render_subject(struct render_issue *r, const char *lang)
{
	return render_pick(r, lang)->il->subject;
}

const char *
render_from_address(struct render_issue *r)
{
	return r->from_address;
}

void
render_free(struct render_issue *r)
{
	size_t	i;

	if (r == NULL)
		return;
	for (i = 0; i < r->ncache; i++) {
		free(r->cache[i].name);
		mustache_free(r->cache[i].t);
	}
	free(r->cache);
	for (i = 0; r->langs != NULL && i < r->nlangs; i++) {
		render_plan_free(r->langs[i].plans[0]);
		render_plan_free(r->langs[i].plans[1]);
		value_free(r->langs[i].html);
		value_free(r->langs[i].text);
	}
	free(r->langs);
	if (r->inlines != NULL)
		for (i = 0; r->inlines[i] != NULL; i++)
			mime_part_free(r->inlines[i]);
	free(r->inlines);
	if (r->attachments != NULL)
		for (i = 0; r->attachments[i] != NULL; i++)
			mime_part_free(r->attachments[i]);
	free(r->attachments);
	pthread_mutex_destroy(&r->plock);
	pthread_mutex_destroy(&r->qlock);
	buf_free(&r->hbuf);
	buf_free(&r->tbuf);
	free(r->templates);
	free(r->tmpl_dir);
	free(r->base_url);
	free(r->from_address);
	free(r->from_name);
	free(r->reply_to);
	free(r->domain);
	free(r->bounce_domain);
	free(r->postal_address);
	if (r->key != NULL)
		explicit_bzero(r->key, r->keylen);
	free(r->key);
	free(r->list_name);
	free(r->list_title);
	free(r->list_idhdr);
	free(r->view_url);
	free(r->archive_url);
	free(r->subscribe_url);
	free(r->cause);
	free(r);
}
