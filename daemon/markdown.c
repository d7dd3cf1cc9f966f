/* Markdown to HTML and to wrapped plain text, on cmark-gfm. */
#include "autoconf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmark-gfm.h>
#include <cmark-gfm-core-extensions.h>
#include <unistr.h>
#include <uniwidth.h>

#include "buf.h"
#include "log.h"
#include "markdown.h"
#include "xmalloc.h"

/*
 * Never CMARK_OPT_UNSAFE: raw HTML becomes "<!-- raw HTML omitted -->"
 * and dangerous URLs are emptied.  Invalid UTF-8 becomes U+FFFD.
 */
#define MD_OPTIONS	CMARK_OPT_VALIDATE_UTF8

#define MD_NBSP		'\001'	/* internal: a space where no line breaks */
#define MD_MINWIDTH	20	/* narrowest column left for wrapped text */
#define MD_ZWSP		"\xe2\x80\x8b"	/* U+200B: a break, no space */

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

static const char *markdown_extensions[] = {
	"table", "autolink", "strikethrough",
};

/* Inline styles for mail clients that ignore <style> (Gmail apps, Outlook). */
static const struct {
	const char	*tag;
	const char	*style;
} markdown_styles[] = {
	{ "table", "border-collapse:collapse;margin:0 0 16px 0;" },
	{ "th", "border:1px solid #cccccc;padding:6px 8px;font-weight:bold;" },
	{ "td", "border:1px solid #cccccc;padding:6px 8px;vertical-align:top;" },
	{ "blockquote", "margin:0 0 16px 0;padding:0 0 0 12px;"
	    "border-left:3px solid #cccccc;" },
	{ "pre", "white-space:pre-wrap;font-family:Consolas,Menlo,monospace;"
	    "font-size:13px;" },
	{ "img", "max-width:100%;height:auto;border:0;" },
};

/* The state of one plain-text rendering. */
struct md_text {
	struct buf	  out;
	struct buf	  prefix;	/* written before every line */
	struct buf	  first;	/* replaces prefix on the next line */
	int		  hasfirst;
	size_t		  blank;	/* blank line due: prefix length + 1 */
	size_t		  nlines;	/* lines written so far */
	int		  width;
	char		**links;
	size_t		  nlinks;
};

/* What md_push() changed, for md_pop(). */
struct md_saved {
	size_t	plen, flen;
	int	hasfirst;
};

static void	md_blocks(struct md_text *, cmark_node *, int);
static void	md_inlines(struct md_text *, cmark_node *, struct buf *);

/* Parse src with the GFM extensions attached; the caller frees both. */
static cmark_node *
markdown_parse(const char *src, size_t len, cmark_parser **pp)
{
	cmark_parser		*p;
	cmark_syntax_extension	*ext;
	size_t			 i;

	cmark_gfm_core_extensions_ensure_registered();
	if ((p = cmark_parser_new(MD_OPTIONS)) == NULL)
		fatalx("cmark_parser_new failed");
	for (i = 0; i < nitems(markdown_extensions); i++) {
		ext = cmark_find_syntax_extension(markdown_extensions[i]);
		if (ext == NULL)
			fatalx("cmark-gfm has no \"%s\" extension",
			    markdown_extensions[i]);
		cmark_parser_attach_syntax_extension(p, ext);
	}
	if (src != NULL && len > 0)
		cmark_parser_feed(p, src, len);
	*pp = p;
	return cmark_parser_finish(p);
}

/*
 * Give cmark's tags their inline styles.  Every '<' in cmark's safe
 * output opens a tag it wrote itself: text, attributes and code are
 * escaped and raw HTML is omitted, so a plain scan is enough.
 */
static void
markdown_add_styles(struct buf *b, const char *html)
{
	const char	*p, *lt;
	size_t		 i, n;
	char		 c;

	p = html;
	while ((lt = strchr(p, '<')) != NULL) {
		buf_add(b, p, lt - p);
		buf_addc(b, '<');
		p = lt + 1;
		for (i = 0; i < nitems(markdown_styles); i++) {
			n = strlen(markdown_styles[i].tag);
			c = p[n];
			if (strncmp(p, markdown_styles[i].tag, n) == 0 &&
			    (c == '>' || c == ' ' || c == '/'))
				break;
		}
		if (i == nitems(markdown_styles))
			continue;
		buf_add(b, p, n);
		buf_printf(b, " style=\"%s\"", markdown_styles[i].style);
		p += n;
	}
	buf_adds(b, p);
}

char *
markdown_to_html(const char *src, size_t len)
{
	cmark_parser	*p;
	cmark_node	*doc;
	char		*html;
	struct buf	 b = BUF_INIT;

	doc = markdown_parse(src, len, &p);
	html = cmark_render_html(doc, MD_OPTIONS,
	    cmark_parser_get_syntax_extensions(p));
	if (html == NULL)
		fatalx("cmark_render_html failed");
	markdown_add_styles(&b, html);
	free(html);
	cmark_node_free(doc);
	cmark_parser_free(p);
	return buf_steal(&b);
}

/* Display columns of UTF-8 text; MD_NBSP counts as the space it becomes. */
static size_t
md_width(const char *s, size_t n)
{
	const uint8_t	*p = (const uint8_t *)s, *end = p + n;
	ucs4_t		 uc;
	size_t		 w = 0;
	int		 k, cw;

	while (p < end) {
		k = u8_mbtouc(&uc, p, end - p);
		if (k <= 0)
			k = 1;
		if (uc == (ucs4_t)MD_NBSP)
			w++;
		else if ((cw = uc_width(uc, "UTF-8")) > 0)
			w += cw;
		p += k;
	}
	return w;
}

static void
md_truncate(struct buf *b, size_t len)
{
	if (b->data != NULL && len <= b->len) {
		b->len = len;
		b->data[len] = '\0';
	}
}

/* Append s[0..n) without its trailing spaces. */
static void
md_add_rtrim(struct buf *b, const char *s, size_t n)
{
	while (n > 0 && s[n - 1] == ' ')
		n--;
	buf_add(b, s, n);
}

/* Write one line of content behind the current prefix. */
static void
md_line(struct md_text *t, const char *s, size_t n)
{
	size_t	start, i, plen;

	if (t->blank > 0 && t->out.len > 0) {
		plen = t->blank - 1;
		if (plen > t->prefix.len)
			plen = t->prefix.len;
		md_add_rtrim(&t->out, buf_cstr(&t->prefix), plen);
		buf_addc(&t->out, '\n');
	}
	t->blank = 0;
	start = t->out.len;
	if (t->hasfirst) {
		buf_add(&t->out, buf_cstr(&t->first), t->first.len);
		t->hasfirst = 0;
	} else
		buf_add(&t->out, buf_cstr(&t->prefix), t->prefix.len);
	for (i = 0; i < n; i++)
		buf_addc(&t->out, s[i] == MD_NBSP ? ' ' : s[i]);
	while (t->out.len > start && t->out.data[t->out.len - 1] == ' ')
		md_truncate(&t->out, t->out.len - 1);
	buf_addc(&t->out, '\n');
	t->nlines++;
}

/* Ask for a blank line before the next line written, if any. */
static void
md_blank(struct md_text *t)
{
	if (t->blank == 0)
		t->blank = t->prefix.len + 1;
}

/* Columns left for text after the prefix; 0 means do not wrap. */
static size_t
md_avail(struct md_text *t)
{
	size_t	pw;

	if (t->width <= 0)
		return 0;
	pw = md_width(buf_cstr(&t->prefix), t->prefix.len);
	if (pw + MD_MINWIDTH > (size_t)t->width)
		return MD_MINWIDTH;
	return t->width - pw;
}

/*
 * Nest a container: its first line starts with first, the others with
 * rest, both after the enclosing prefix (or after an enclosing first
 * line still to be written, so "- - a" nests).
 */
static void
md_push(struct md_text *t, const char *first, const char *rest,
    struct md_saved *sv)
{
	sv->plen = t->prefix.len;
	sv->flen = t->first.len;
	sv->hasfirst = t->hasfirst;
	if (!t->hasfirst) {
		buf_reset(&t->first);
		buf_add(&t->first, buf_cstr(&t->prefix), t->prefix.len);
		t->hasfirst = 1;
	}
	buf_adds(&t->first, first);
	buf_adds(&t->prefix, rest);
}

static void
md_pop(struct md_text *t, struct md_saved *sv)
{
	md_truncate(&t->prefix, sv->plen);
	if (t->hasfirst) {
		if (sv->hasfirst)
			md_truncate(&t->first, sv->flen);
		else
			t->hasfirst = 0;
	}
}

/*
 * Wrap one paragraph of flat text (hard breaks as '\n') into lines of
 * at most md_avail() columns where words allow.  Breaks at spaces and
 * after U+200B, never inside a character.  Returns the widest line.
 */
static size_t
md_wrap(struct md_text *t, const char *s, size_t n)
{
	struct buf	 line = BUF_INIT;
	size_t		 avail, i, j, w, lw, widest;
	int		 have, join;

	avail = md_avail(t);
	widest = lw = 0;
	have = join = 0;
	for (i = 0; i <= n; ) {
		if (i == n || s[i] == '\n') {
			if (have)
				md_line(t, line.data, line.len);
			if (lw > widest)
				widest = lw;
			buf_reset(&line);
			lw = 0;
			have = join = 0;
			i++;
			continue;
		}
		if (s[i] == ' ') {
			join = 1;
			i++;
			continue;
		}
		/* A word: up to a space or a newline, or through a U+200B. */
		for (j = i; j < n && s[j] != ' ' && s[j] != '\n'; j++) {
			if (n - j >= 3 && memcmp(s + j, MD_ZWSP, 3) == 0) {
				j += 3;
				break;
			}
		}
		w = md_width(s + i, j - i);
		if (have && (avail == 0 || lw + join + w <= avail)) {
			if (join) {
				buf_addc(&line, ' ');
				lw++;
			}
		} else if (have) {
			md_line(t, line.data, line.len);
			if (lw > widest)
				widest = lw;
			buf_reset(&line);
			lw = 0;
		}
		buf_add(&line, s + i, j - i);
		lw += w;
		have = 1;
		join = 0;
		i = j;
	}
	buf_free(&line);
	return widest;
}

/* Append literal text, with controls made harmless for the wrapper. */
static void
md_literal(struct buf *b, const char *s)
{
	for (; s != NULL && *s != '\0'; s++) {
		if (*s == '\t' || *s == '\n' || *s == '\r')
			buf_addc(b, ' ');
		else if ((unsigned char)*s < 0x20 || *s == 0x7f)
			buf_adds(b, "\xef\xbf\xbd");
		else
			buf_addc(b, *s);
	}
}

/* 1 when a URL is worth listing: not javascript:, vbscript:, file:, data:. */
static int
md_url_ok(const char *url)
{
	static const char	*bad[] = {
		"javascript:", "vbscript:", "file:", "data:",
	};
	size_t			 i;

	if (url == NULL || *url == '\0')
		return 0;
	for (i = 0; i < nitems(bad); i++)
		if (strncasecmp(url, bad[i], strlen(bad[i])) == 0)
			return 0;
	return 1;
}

/* The reference number of url, adding it to the list when new. */
static size_t
md_link_number(struct md_text *t, const char *url)
{
	size_t	i;

	for (i = 0; i < t->nlinks; i++)
		if (strcmp(t->links[i], url) == 0)
			return i + 1;
	t->links = xreallocarray(t->links, t->nlinks + 1, sizeof(char *));
	t->links[t->nlinks++] = xstrdup(url);
	return t->nlinks;
}

/* 1 when a link's text is its URL, give or take the scheme (autolinks). */
static int
md_link_is_url(const char *text, const char *url)
{
	static const char	*schemes[] = {
		"", "http://", "https://", "mailto:",
	};
	size_t			 i, n;

	for (i = 0; i < nitems(schemes); i++) {
		n = strlen(schemes[i]);
		if (strncasecmp(url, schemes[i], n) == 0 &&
		    strcmp(url + n, text) == 0)
			return 1;
	}
	return 0;
}

static void
md_link(struct md_text *t, cmark_node *n, struct buf *dst)
{
	const char	*url = cmark_node_get_url(n);
	size_t		 start = dst->len;

	md_inlines(t, n, dst);
	if (!md_url_ok(url))
		return;
	if (dst->len == start) {
		md_literal(dst, url);
		return;
	}
	if (md_link_is_url(buf_cstr(dst) + start, url))
		return;
	buf_printf(dst, "%c[%zu]", MD_NBSP, md_link_number(t, url));
}

static void
md_inline(struct md_text *t, cmark_node *n, struct buf *dst)
{
	const char	*type;
	size_t		 start;

	switch (cmark_node_get_type(n)) {
	case CMARK_NODE_TEXT:
	case CMARK_NODE_CODE:
		md_literal(dst, cmark_node_get_literal(n));
		break;
	case CMARK_NODE_SOFTBREAK:
		buf_addc(dst, ' ');
		break;
	case CMARK_NODE_LINEBREAK:
		buf_addc(dst, '\n');
		break;
	case CMARK_NODE_HTML_INLINE:
		/* Raw HTML is never passed through. */
		break;
	case CMARK_NODE_LINK:
		md_link(t, n, dst);
		break;
	case CMARK_NODE_IMAGE:
		buf_adds(dst, "[image");
		start = dst->len;
		buf_adds(dst, ": ");
		md_inlines(t, n, dst);
		if (dst->len == start + 2)
			md_truncate(dst, start);
		buf_addc(dst, ']');
		break;
	default:
		type = cmark_node_get_type_string(n);
		if (type != NULL && strcmp(type, "strikethrough") == 0) {
			buf_adds(dst, "~~");
			md_inlines(t, n, dst);
			buf_adds(dst, "~~");
		} else
			md_inlines(t, n, dst);	/* emphasis: plain */
		break;
	}
}

static void
md_inlines(struct md_text *t, cmark_node *parent, struct buf *dst)
{
	cmark_node	*n;

	for (n = cmark_node_first_child(parent); n != NULL;
	    n = cmark_node_next(n))
		md_inline(t, n, dst);
}

static void
md_paragraph(struct md_text *t, cmark_node *n)
{
	struct buf	b = BUF_INIT;

	md_inlines(t, n, &b);
	md_wrap(t, buf_cstr(&b), b.len);
	buf_free(&b);
}

/* Levels 1 and 2 underlined with '=' and '-', deeper ones "### ". */
static void
md_heading(struct md_text *t, cmark_node *n)
{
	struct buf	 b = BUF_INIT, u = BUF_INIT;
	int		 level = cmark_node_get_heading_level(n), i;
	size_t		 w, before;

	for (i = 0; level > 2 && i < level; i++)
		buf_addc(&b, '#');
	if (level > 2)
		buf_addc(&b, MD_NBSP);
	md_inlines(t, n, &b);
	before = t->nlines;
	w = md_wrap(t, buf_cstr(&b), b.len);
	if (level <= 2 && t->nlines > before) {
		while (w-- > 0)
			buf_addc(&u, level == 1 ? '=' : '-');
		md_line(t, buf_cstr(&u), u.len);
	}
	buf_free(&u);
	buf_free(&b);
}

static void
md_code_block(struct md_text *t, cmark_node *n)
{
	const char	*s = cmark_node_get_literal(n), *nl;
	struct buf	 b = BUF_INIT;
	struct md_saved	 sv;

	md_push(t, "    ", "    ", &sv);
	while (s != NULL && *s != '\0') {
		if ((nl = strchr(s, '\n')) == NULL)
			nl = s + strlen(s);
		buf_reset(&b);
		for (; s < nl; s++) {
			if (*s == '\t')
				buf_adds(&b, "    ");
			else if ((unsigned char)*s < 0x20 || *s == 0x7f)
				buf_adds(&b, "\xef\xbf\xbd");
			else
				buf_addc(&b, *s);
		}
		md_line(t, buf_cstr(&b), b.len);
		if (*s == '\n')
			s++;
	}
	md_pop(t, &sv);
	buf_free(&b);
}

static void
md_list(struct md_text *t, cmark_node *list)
{
	cmark_node	*item;
	struct md_saved	 sv;
	char		 marker[32], rest[32];
	int		 num, tight, ordered;
	size_t		 len;

	ordered = cmark_node_get_list_type(list) == CMARK_ORDERED_LIST;
	tight = cmark_node_get_list_tight(list);
	num = cmark_node_get_list_start(list);
	for (item = cmark_node_first_child(list); item != NULL;
	    item = cmark_node_next(item), num++) {
		if (item != cmark_node_first_child(list) && !tight)
			md_blank(t);
		if (ordered)
			(void)snprintf(marker, sizeof(marker), "%d%c ", num,
			    cmark_node_get_list_delim(list) == CMARK_PAREN_DELIM ?
			    ')' : '.');
		else
			(void)snprintf(marker, sizeof(marker), "- ");
		len = strlen(marker);
		memset(rest, ' ', len);
		rest[len] = '\0';
		md_push(t, marker, rest, &sv);
		md_blocks(t, item, tight);
		if (t->hasfirst)
			md_line(t, "", 0);	/* an empty item */
		md_pop(t, &sv);
	}
}

/* A table as aligned columns when it fits, else "Header: value" lines. */
static void
md_table(struct md_text *t, cmark_node *table)
{
	cmark_node	 *row, *cell;
	struct buf	 **cells = NULL, line = BUF_INIT;
	size_t		  ncols, nrows = 0, r, c, i, w, total, *widths = NULL;
	uint8_t		 *align;

	ncols = cmark_gfm_extensions_get_table_columns(table);
	if (ncols == 0)
		return;
	align = cmark_gfm_extensions_get_table_alignments(table);
	for (row = cmark_node_first_child(table); row != NULL;
	    row = cmark_node_next(row)) {
		cells = xreallocarray(cells, nrows + 1, sizeof(*cells));
		cells[nrows] = xcalloc(ncols, sizeof(struct buf));
		for (c = 0, cell = cmark_node_first_child(row);
		    c < ncols && cell != NULL; c++, cell = cmark_node_next(cell)) {
			md_inlines(t, cell, &cells[nrows][c]);
			for (i = 0; i < cells[nrows][c].len; i++)
				if (cells[nrows][c].data[i] == '\n')
					cells[nrows][c].data[i] = ' ';
		}
		nrows++;
	}
	widths = xcalloc(ncols, sizeof(*widths));
	for (r = 0; r < nrows; r++)
		for (c = 0; c < ncols; c++) {
			w = md_width(buf_cstr(&cells[r][c]), cells[r][c].len);
			if (w > widths[c])
				widths[c] = w;
		}
	for (total = 0, c = 0; c < ncols; c++)
		total += widths[c] + (c > 0 ? 3 : 0);

	if (md_avail(t) == 0 || total <= md_avail(t)) {
		for (r = 0; r < nrows; r++) {
			buf_reset(&line);
			for (c = 0; c < ncols; c++) {
				w = widths[c] - md_width(buf_cstr(&cells[r][c]),
				    cells[r][c].len);
				if (c > 0)
					buf_adds(&line, " | ");
				i = 0;
				if (align != NULL && align[c] == 'r')
					i = w;
				else if (align != NULL && align[c] == 'c')
					i = w / 2;
				for (w -= i; i > 0; i--)
					buf_addc(&line, ' ');
				buf_add(&line, buf_cstr(&cells[r][c]),
				    cells[r][c].len);
				for (; w > 0; w--)
					buf_addc(&line, ' ');
			}
			md_line(t, buf_cstr(&line), line.len);
			if (r == 0) {
				buf_reset(&line);
				for (c = 0; c < ncols; c++) {
					if (c > 0)
						buf_adds(&line, "-+-");
					for (w = widths[c]; w > 0; w--)
						buf_addc(&line, '-');
				}
				md_line(t, buf_cstr(&line), line.len);
			}
		}
	} else {
		for (r = 1; r < nrows; r++) {
			if (r > 1)
				md_blank(t);
			for (c = 0; c < ncols; c++) {
				buf_reset(&line);
				if (cells[0][c].len > 0) {
					buf_add(&line, cells[0][c].data,
					    cells[0][c].len);
					buf_adds(&line, ": ");
				}
				buf_add(&line, buf_cstr(&cells[r][c]),
				    cells[r][c].len);
				md_wrap(t, buf_cstr(&line), line.len);
			}
		}
	}

	for (r = 0; r < nrows; r++) {
		for (c = 0; c < ncols; c++)
			buf_free(&cells[r][c]);
		free(cells[r]);
	}
	free(cells);
	free(widths);
	buf_free(&line);
}

static void
md_block(struct md_text *t, cmark_node *n)
{
	struct md_saved	 sv;
	const char	*type;

	switch (cmark_node_get_type(n)) {
	case CMARK_NODE_PARAGRAPH:
		md_paragraph(t, n);
		break;
	case CMARK_NODE_HEADING:
		md_heading(t, n);
		break;
	case CMARK_NODE_BLOCK_QUOTE:
		md_push(t, "> ", "> ", &sv);
		md_blocks(t, n, 0);
		md_pop(t, &sv);
		break;
	case CMARK_NODE_LIST:
		md_list(t, n);
		break;
	case CMARK_NODE_CODE_BLOCK:
		md_code_block(t, n);
		break;
	case CMARK_NODE_THEMATIC_BREAK:
		md_line(t, "* * *", 5);
		break;
	case CMARK_NODE_HTML_BLOCK:
		/* Raw HTML is never passed through. */
		break;
	default:
		type = cmark_node_get_type_string(n);
		if (type != NULL && strcmp(type, "table") == 0)
			md_table(t, n);
		else
			md_blocks(t, n, 0);
		break;
	}
}

/* The blocks of a container, a blank line apart unless tight. */
static void
md_blocks(struct md_text *t, cmark_node *parent, int tight)
{
	cmark_node	*n;
	size_t		 start = t->nlines;

	for (n = cmark_node_first_child(parent); n != NULL;
	    n = cmark_node_next(n)) {
		if (!tight && t->nlines > start)
			md_blank(t);
		md_block(t, n);
	}
}

char *
markdown_to_text(const char *src, size_t len, int width)
{
	cmark_parser	*p;
	cmark_node	*doc;
	struct md_text	 t;
	struct buf	 b = BUF_INIT;
	size_t		 i;

	memset(&t, 0, sizeof(t));
	t.width = width;
	doc = markdown_parse(src, len, &p);
	md_blocks(&t, doc, 0);
	if (t.nlinks > 0) {
		if (t.out.len > 0)
			buf_addc(&t.out, '\n');
		buf_adds(&t.out, "Links:\n");
		for (i = 0; i < t.nlinks; i++) {
			buf_reset(&b);
			md_literal(&b, t.links[i]);
			buf_printf(&t.out, "[%zu] %s\n", i + 1, buf_cstr(&b));
			free(t.links[i]);
		}
	}
	free(t.links);
	buf_free(&b);
	buf_free(&t.prefix);
	buf_free(&t.first);
	cmark_node_free(doc);
	cmark_parser_free(p);
	return buf_steal(&t.out);
}
