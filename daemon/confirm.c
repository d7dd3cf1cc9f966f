/* The confirmation email of double opt-in, from templates/web/. */
#include "autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "buf.h"
#include "confirm.h"
#include "mime.h"
#include "mustache.h"
#include "render.h"
#include "token.h"
#include "value.h"
#include "xmalloc.h"

/* A template file is small; refuse anything absurd. */

static int
confirm_is_km(const char *lang)
{
	return lang != NULL && strncmp(lang, "km", 2) == 0 &&
	    (lang[2] == '\0' || lang[2] == '-' || lang[2] == '_');
}

/* Read and parse templates/web/confirm-email.KIND.mustache. */
static struct mustache_tmpl *
confirm_template(const char *templates, const char *kind, char **cause)
{
	struct mustache_tmpl	*t;
	char			*path, *src;
	size_t			 len;

	xasprintf(&path, "%s/%s/confirm-email.%s.mustache", templates,
	    CONFIRM_TEMPLATE_DIR, kind);
	if (render_template_read(path, &src, &len, cause) != 0) {
		free(path);
		return NULL;
	}
	t = mustache_parse(path, src, len, cause);
	free(src);
	free(path);
	return t;
}

static void
confirm_set(struct value *m, const char *key, const char *s)
{
	if (s != NULL)
		value_map_set(m, key, value_cstring(s));
}

char *
confirm_link(const struct confirm_env *env, int64_t subscriber, int64_t list,
    time_t now)
{
	struct token	 tk;
	char		*tok, *url;

	memset(&tk, 0, sizeof(tk));
	tk.purpose = TOKEN_CONFIRM;
	tk.subscriber = subscriber;
	tk.list = (uint32_t)list;
	tk.issued = now;
	if ((tok = token_make(&tk, env->key, env->keylen)) == NULL)
		return NULL;
	xasprintf(&url, "%s/c/%s", env->base_url, tok);
	free(tok);
	return url;
}

/*
 * Issue number 0 never exists, so "<herald.0.ROW.HASH@domain>" cannot
 * collide with a newsletter's Message-ID.
 */
char *
confirm_message_id(const struct confirm_env *env, int64_t id)
{
	return mime_message_id(0, id, env->domain, env->key, env->keylen);
}

/* The Mustache context of one confirmation. */
static struct value *
confirm_context(const struct confirm_env *env, const struct confirm_msg *cm,
    const char *from_name, const char *from_addr, const char *link)
{
	struct value	*ctx, *m;
	int		 km = confirm_is_km(cm->lang);

	ctx = value_map();
	value_map_set(ctx, "km", value_bool(km));
	value_map_set(ctx, "en", value_bool(!km));
	confirm_set(ctx, "lang", km ? "km" : "en");

	m = value_map();
	confirm_set(m, "name", cm->name);
	confirm_set(m, "email", cm->email);
	value_map_set(ctx, "subscriber", m);

	m = value_map();
	confirm_set(m, "name", cm->list_name);
	confirm_set(m, "title", cm->list_title != NULL ? cm->list_title :
	    cm->list_name);
	value_map_set(ctx, "list", m);

	m = value_map();
	confirm_set(m, "confirm", link);
	value_map_set(ctx, "links", m);

	m = value_map();
	confirm_set(m, "name", from_name);
	confirm_set(m, "address", from_addr);
	confirm_set(m, "postal_address", env->postal_address);
	value_map_set(ctx, "sender", m);
	return ctx;
}

int
confirm_render(const struct confirm_env *env, const struct confirm_msg *cm,
    time_t now, struct buf *out, char **cause)
{
	struct mustache_tmpl	*th = NULL, *tt = NULL;
	struct value		*ctx = NULL;
	const struct value	*stack[1];
	struct buf		 html = BUF_INIT, text = BUF_INIT;
	struct mime_message	 m;
	struct mime_header	 auto_sub;
	struct tm		 tm;
	const char		*from_addr, *from_name, *reply_to, *why;
	char			*link = NULL, *msgid = NULL, *subject = NULL;
	char			*to_ascii = NULL;
	int			 rv = -1;

	*cause = NULL;
	from_addr = cm->from_address != NULL ? cm->from_address :
	    env->from_address;
	from_name = cm->from_address != NULL ? cm->from_name :
	    env->from_name;
	reply_to = cm->from_address != NULL ? cm->reply_to : env->reply_to;
	if (cm->reply_to != NULL)
		reply_to = cm->reply_to;
	if ((tt = confirm_template(env->templates, "text", cause)) == NULL)
		goto done;
	if ((th = confirm_template(env->templates, "html", cause)) == NULL)
		goto done;
	if ((link = confirm_link(env, cm->subscriber, cm->list, now)) == NULL) {
		xasprintf(cause, "subscriber %lld, list %lld: cannot make a "
		    "confirmation token", (long long)cm->subscriber,
		    (long long)cm->list);
		goto done;
	}
	if (addr_to_ascii(cm->email, &to_ascii, &why) != 0) {
		xasprintf(cause, "%s: %s", cm->email, why);
		goto done;
	}
	ctx = confirm_context(env, cm, from_name, from_addr, link);
	stack[0] = ctx;
	if (mustache_render(tt, stack, 1, MUSTACHE_NOESCAPE, NULL, NULL,
	    &text, cause) != 0)
		goto done;
	if (mustache_render(th, stack, 1, 0, NULL, NULL, &html, cause) != 0)
		goto done;

	if (confirm_is_km(cm->lang))
		xasprintf(&subject, "សូមបញ្ជាក់ការជាវ %s", cm->list_title !=
		    NULL ? cm->list_title : cm->list_name);
	else
		xasprintf(&subject, "Confirm your subscription to %s",
		    cm->list_title != NULL ? cm->list_title : cm->list_name);
	msgid = confirm_message_id(env, cm->id);
	localtime_r(&now, &tm);

	memset(&m, 0, sizeof(m));
	m.transactional = 1;
	m.from_name = from_name;
	m.from_addr = from_addr;
	m.to_name = cm->name;
	m.to_addr = to_ascii;
	m.reply_to_addr = reply_to;
	m.subject = subject;
	m.date = now;
	m.zone_minutes = (int)(tm.tm_gmtoff / 60);
	m.message_id = msgid;
	auto_sub.name = "Auto-Submitted";
	auto_sub.value = "auto-generated";
	m.extra = &auto_sub;
	m.nextra = 1;
	m.text = text.data != NULL ? text.data : "";
	m.text_len = text.len;
	m.html = html.data != NULL ? html.data : "";
	m.html_len = html.len;
	buf_reset(out);
	rv = mime_build(&m, out, cause);
done:
	mustache_free(tt);
	mustache_free(th);
	value_free(ctx);
	buf_free(&html);
	buf_free(&text);
	free(link);
	free(msgid);
	free(subject);
	free(to_ascii);
	return rv;
}
