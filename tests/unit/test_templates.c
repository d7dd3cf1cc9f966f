/*
 * The shipped templates: every *.mustache under templates/ parses, and
 * the spotlight HTML and text parts render a small issue into a mail
 * that has what a mail needs (preheader, lang, unsubscribe, address...).
 */
#include "autoconf.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include <unistr.h>
#include <uniwidth.h>

#include "buf.h"
#include "markdown.h"
#include "mustache.h"
#include "value.h"
#include "xmalloc.h"

#define MAXTMPL	64

/* The templates of one folder, by name ("html", "layout.html"). */
struct folder {
	char			*names[MAXTMPL];
	struct mustache_tmpl	*tmpls[MAXTMPL];
	size_t			 n;
};

static const char *
srcdir(void)
{
	const char	*s = getenv("top_srcdir");

	return s != NULL ? s : ".";
}

static char *
slurp(const char *path, size_t *len)
{
	FILE		*f;
	struct buf	 b = BUF_INIT;
	char		 chunk[8192];
	size_t		 n;

	if ((f = fopen(path, "rb")) == NULL)
		fail_msg("cannot open %s", path);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(&b, chunk, n);
	fclose(f);
	*len = b.len;
	return buf_steal(&b);
}

static int
ends_with(const char *s, const char *tail)
{
	size_t	n = strlen(s), m = strlen(tail);

	return n >= m && strcmp(s + n - m, tail) == 0;
}

/* Parse every *.mustache of dir into f (when not NULL); count them all. */
static size_t
parse_dir(const char *dir, struct folder *f)
{
	DIR			*d;
	struct dirent		*e;
	struct stat		 st;
	struct mustache_tmpl	*t;
	char			*path, *src, *cause = NULL;
	size_t			 len, count = 0;

	if ((d = opendir(dir)) == NULL)
		fail_msg("cannot open %s", dir);
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		path = xsprintf("%s/%s", dir, e->d_name);
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
			count += parse_dir(path, NULL);
		else if (ends_with(e->d_name, ".mustache")) {
			src = slurp(path, &len);
			assert_true(u8_check((uint8_t *)src, len) == NULL);
			t = mustache_parse(path, src, len, &cause);
			if (t == NULL)
				fail_msg("%s", cause);
			if (f != NULL && f->n < MAXTMPL) {
				f->names[f->n] = xstrndup(e->d_name,
				    strlen(e->d_name) - strlen(".mustache"));
				f->tmpls[f->n++] = t;
			} else
				mustache_free(t);
			free(src);
			count++;
		}
		free(path);
	}
	closedir(d);
	return count;
}

static const struct mustache_tmpl *
folder_get(void *arg, const char *name)
{
	struct folder	*f = arg;
	size_t		 i;

	for (i = 0; i < f->n; i++)
		if (strcmp(f->names[i], name) == 0)
			return f->tmpls[i];
	return NULL;
}

static void
folder_free(struct folder *f)
{
	size_t	i;

	for (i = 0; i < f->n; i++) {
		free(f->names[i]);
		mustache_free(f->tmpls[i]);
	}
}

static void
test_all_parse(void **state)
{
	char	*dir = xsprintf("%s/templates", srcdir());

	/* At least the spotlight html, text and their two layouts. */
	assert_true(parse_dir(dir, NULL) >= 4);
	free(dir);
}

/* --- a small issue, as the renderer would hand it over --------------- */

static void
set(struct value *m, const char *k, const char *s)
{
	value_map_set(m, k, value_cstring(s));
}

/* A markdown value, converted as the renderer does for the given part. */
static void
set_md(struct value *m, const char *k, const char *md, int html)
{
	char	*s = html ? markdown_to_html(md, strlen(md)) :
	    markdown_to_text(md, strlen(md), MARKDOWN_WIDTH);

	value_map_set(m, k, value_string_take(s, strlen(s)));
}

static struct value *
image(const char *src, const char *alt, double width)
{
	struct value	*m = value_map();

	set(m, "src", src);
	set(m, "alt", alt);
	set(m, "caption", alt);
	value_map_set(m, "width", value_number(width));
	return m;
}

static struct value *
context(int html, const char *name, const char *lang)
{
	struct value	*root = value_map(), *m, *l, *s, *d, *qa, *q;

	set(root, "title", "Spotlight on R2P");
	set(root, "headline", "Capacity Building Training on Importance of "
	    "Responsibility to Protect (R2P)");
	set(root, "dir", "ltr");
	/* As render.c does: the language at the top, and on the subscriber. */
	if (lang != NULL)
		set(root, "lang", lang);
	m = value_map();
	set(m, "dear", lang != NULL ? "ជម្រាបសួរ" : "Dear");
	set(m, "dear_friend", "Dear friend,");
	set(m, "question", "Question");
	value_map_set(root, "labels", m);
	set_md(root, "intro", "On Saturday, 16 September 2023, the *CICP* "
	    "and the Svay Rieng University (SRU) co-organized a capacity "
	    "building training on \"Importance of Responsibility to Protect "
	    "(R2P)\" at [Svay Rieng University](https://sru.example.org/).\n",
	    html);
	m = value_map();
	value_map_set(m, "image", image("cid:img1.0@herald",
	    "From Left to Right: Mr. Soeung Bunly", 536));
	value_map_set(root, "photo", m);

	l = value_list();
	s = value_map();
	set(s, "heading", "Session 1: Introduction to R2P & Atrocity "
	    "Prevention");
	set_md(s, "body", "The first training opened with Mr. Soeung Bunly.\n",
	    html);
	m = value_list();
	value_list_push(m, image("cid:img2.0@herald", "Mr. Soeung Bunly", 268));
	value_map_set(s, "images", m);
	d = value_map();
	set(d, "heading", "Discussion");
	set(d, "lead", "The highlight of discussions are as follows:");
	qa = value_list();
	q = value_map();
	set(q, "question", "Why has the UN not responded <effectively>?");
	set_md(q, "answer", "Mr. Bunly said that R2P is a norm.\n", html);
	value_list_push(qa, q);
	value_map_set(d, "qa", qa);
	value_map_set(s, "discussion", d);
	value_list_push(l, s);
	s = value_map();
	set(s, "heading", "Session 2: Importance of R2P in Cambodia");
	set_md(s, "body", "The second session.\n", html);
	value_list_push(l, s);
	value_map_set(root, "sections", l);
	m = value_map();
	set(m, "heading", "Closing Session");
	set_md(m, "body", "Mr. Him Raksmey thanked the speakers.\n", html);
	value_map_set(root, "closing", m);
	set(root, "prepared_by", "Him Raksmey, Focal Point in charge of R2P");
	set(root, "reviewed_by", "Ambassador Pou Sothirak");
	m = value_map();
	set(m, "name", "Asia Pacific Centre for the Responsibility to Protect");
	l = value_list();
	value_list_push(l, value_cstring("School of Political Science & "
	    "International Studies"));
	value_map_set(m, "address", l);
	value_map_set(root, "supporter", m);

	m = value_map();
	set(m, "email", "sok@example.org");
	if (name != NULL)
		set(m, "name", name);
	if (lang != NULL)
		set(m, "lang", lang);
	value_map_set(root, "subscriber", m);
	m = value_map();
	set(m, "name", "spotlight");
	set(m, "title", "Friends of R2P-Cambodia");
	value_map_set(root, "list", m);
	m = value_map();
	set(m, "subject", "Spotlight on R2P");
	set(m, "date", "2 October 2023");
	set(m, "preheader", "About 50 participants joined the training.");
	value_map_set(root, "issue", m);
	m = value_map();
	set(m, "unsubscribe", "https://news.example.org/u/TOKEN");
	set(m, "view_online", "https://news.example.org/a/spotlight/7");
	set(m, "archive", "https://news.example.org/a/spotlight/");
	value_map_set(root, "links", m);
	m = value_map();
	set(m, "name", "CICP");
	set(m, "address", "news@example.org");
	set(m, "postal_address", "Phnom Penh, Cambodia");
	value_map_set(root, "sender", m);
	return root;
}

static char *
render(struct folder *f, const char *which, struct value *ctx, int flags)
{
	const struct mustache_tmpl	*t = folder_get(f, which);
	const struct value		*stack[1] = { ctx };
	struct buf			 out = BUF_INIT;
	char				*cause = NULL;

	assert_non_null(t);
	const char			*dump = getenv("TEMPLATES_DUMP");
	char				*path;
	FILE				*fp;
	static int			 seq;

	if (mustache_render(t, stack, 1, flags, folder_get, f, &out,
	    &cause) == -1)
		fail_msg("%s", cause);
	/* TEMPLATES_DUMP=DIR keeps the mails, to look at them. */
	if (dump != NULL) {
		path = xsprintf("%s/%d-%s.%s", dump, ++seq, which,
		    flags & MUSTACHE_NOESCAPE ? "txt" : "html");
		if ((fp = fopen(path, "w")) != NULL) {
			fputs(buf_cstr(&out), fp);
			fclose(fp);
		}
		free(path);
	}
	return buf_steal(&out);
}

#define assert_contains(hay, needle) do {				\
	if (strstr((hay), (needle)) == NULL)				\
		fail_msg("\"%s\" not in the output", (needle));		\
} while (0)

#define assert_lacks(hay, needle) do {					\
	if (strstr((hay), (needle)) != NULL)				\
		fail_msg("\"%s\" unexpectedly in the output", (needle)); \
} while (0)

static void
load_spotlight(struct folder *f)
{
	char	*dir = xsprintf("%s/templates/spotlight", srcdir());

	memset(f, 0, sizeof(*f));
	parse_dir(dir, f);
	free(dir);
}

static void
test_spotlight_html(void **state)
{
	struct folder	 f;
	struct value	*ctx;
	char		*out, *p, *end;

	load_spotlight(&f);
	ctx = context(1, "Sok Dara", NULL);
	out = render(&f, "html", ctx, 0);
	assert_true(strncmp(out, "<!DOCTYPE html>", 15) == 0);
	assert_contains(out, "<html lang=\"en\" dir=\"ltr\"");
	assert_contains(out, "name=\"color-scheme\" content=\"light dark\"");
	assert_contains(out, "name=\"supported-color-schemes\"");
	assert_contains(out, "prefers-color-scheme: dark");
	assert_contains(out, "width=\"600\"");
	/* The hidden preheader, with its filler. */
	p = strstr(out, "display:none;");
	assert_non_null(p);
	assert_contains(p, "max-height:0;");
	assert_contains(p, "overflow:hidden;");
	assert_contains(p, ">About 50 participants joined the training.&#847;");
	assert_contains(out, "Dear Sok Dara,");
	/* Markdown arrives as HTML and stays HTML. */
	assert_contains(out, "the <em>CICP</em> and");
	assert_contains(out, "<a href=\"https://sru.example.org/\">");
	assert_contains(out, "<p>Mr. Bunly said that R2P is a norm.</p>");
	/* Other values are escaped. */
	assert_contains(out, "Introduction to R2P &amp; Atrocity");
	assert_contains(out, "not responded &lt;effectively&gt;?");
	assert_contains(out, "Political Science &amp; International");
	/* Every image has alt text and a width. */
	for (p = out; (p = strstr(p, "<img ")) != NULL; p = end) {
		end = strchr(p, '>');
		assert_non_null(end);
		assert_true(memmem(p, end - p, " alt=\"", 6) != NULL);
		assert_true(memmem(p, end - p, " width=\"", 8) != NULL);
	}
	assert_contains(out, "src=\"cid:img2.0@herald\" width=\"268\" "
	    "alt=\"Mr. Soeung Bunly\"");
	/* The footer: unsubscribe, view online, list, postal address. */
	assert_contains(out, "href=\"https://news.example.org/u/TOKEN\"");
	assert_contains(out, "href=\"https://news.example.org/a/spotlight/7\"");
	assert_contains(out, "Friends of R2P-Cambodia");
	assert_contains(out, "Phnom Penh, Cambodia");
	assert_contains(out, "Prepared by");
	assert_lacks(out, "{{");
	assert_lacks(out, "}}");
	free(out);
	value_free(ctx);

	/* No name: the friendly greeting; Khmer: lang="km". */
	ctx = context(1, NULL, "km");
	out = render(&f, "html", ctx, 0);
	assert_contains(out, "<html lang=\"km\" dir=\"ltr\"");
	assert_contains(out, "Dear friend,");
	assert_lacks(out, "ជម្រាបសួរ ,");
	free(out);
	value_free(ctx);
	folder_free(&f);
}

static void
test_spotlight_text(void **state)
{
	struct folder	 f;
	struct value	*ctx;
	char		*out;

	load_spotlight(&f);
	ctx = context(0, "ឈ្មោះ", "km");
	out = render(&f, "text", ctx, MUSTACHE_NOESCAPE);
	assert_null(u8_check((uint8_t *)out, strlen(out)));
	assert_contains(out, "Spotlight on R2P\n");
	assert_contains(out, "ជម្រាបសួរ ឈ្មោះ,\n");
	/* Markdown arrives as text, links as numbered references. */
	assert_contains(out, "at Svay Rieng University [1].");
	assert_contains(out, "[1] https://sru.example.org/");
	assert_contains(out, "Session 1: Introduction to R2P & Atrocity "
	    "Prevention\n----");
	assert_contains(out, "Question: Why has the UN not responded "
	    "<effectively>?");
	assert_contains(out, "Mr. Bunly said that R2P is a norm.\n");
	assert_contains(out, "[Photo: Mr. Soeung Bunly]");
	assert_contains(out, "Political Science & International Studies\n");
	assert_contains(out, "Unsubscribe: https://news.example.org/u/TOKEN\n");
	assert_contains(out, "https://news.example.org/a/spotlight/7\n");
	assert_contains(out, "Phnom Penh, Cambodia\n");
	assert_lacks(out, "<p>");
	assert_lacks(out, "&amp;");
	assert_lacks(out, "{{");
	/* No run of more than two blank lines. */
	assert_lacks(out, "\n\n\n\n");
	free(out);
	value_free(ctx);
	folder_free(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_parse),
		cmocka_unit_test(test_spotlight_html),
		cmocka_unit_test(test_spotlight_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
