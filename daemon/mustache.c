/* Mustache template engine: parse once into a node tree, render often. */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "mustache.h"
#include "value.h"
#include "xmalloc.h"

/*
 * How whitespace is handled.  The parser settles standalone lines: a line
 * holding only blanks and one tag that prints nothing (a section, comment,
 * delimiter change, partial, parent or block tag; or several parent and
 * block tags) loses its blanks and its newline.  A standalone partial or
 * parent keeps the blanks before it as indentation.  A block keeps as
 * indentation the blanks of its first inner line when its tag stands
 * alone (that much is removed from every inner line at parse time), or
 * the blanks before its tag when they start the line.  The renderer keeps
 * a stack of indentations and owes them at the start of every template
 * line ("pending"), printing them just before the next byte of output;
 * interpolated data is never indented.
 */

#define MUSTACHE_MAXNEST	256	/* sections nested in one template */
#define MUSTACHE_MAXSECT	2000	/* sections open at once in a render */
#define MUSTACHE_MAXCALLS	100000	/* partials, parents, blocks a render */

enum mnode_type {
	MN_ROOT,
	MN_TEXT,
	MN_VAR,		/* {{x}}: escaped */
	MN_RAW,		/* {{{x}}} and {{&x}} */
	MN_SECTION,	/* {{#x}} */
	MN_INVERTED,	/* {{^x}} */
	MN_PARTIAL,	/* {{>x}} */
	MN_PARENT,	/* {{<x}} */
	MN_BLOCK,	/* {{$x}} */
};

/* Block and partial indentation modes. */
#define MN_IND_NONE	0	/* no indentation */
#define MN_IND_LINE	1	/* standalone: indent every line */
#define MN_IND_AFTER	2	/* inline after whitespace: later lines */

struct mnode {
	enum mnode_type	 type;
	int		 dynamic;	/* name after '*': look it up */
	int		 indmode;	/* MN_IND_* */
	size_t		 line;
	char		*text;		/* TEXT: bytes; tags: the raw name */
	size_t		 len;
	char		*namebuf;	/* name split at dots, NUL-separated */
	char		**parts;	/* dotted parts; none for "." */
	size_t		 nparts;
	char		*indent;	/* indentation (partials, blocks) */
	size_t		 indlen;
	struct mnode	*kids;		/* bodies: sections, parents, blocks */
	size_t		 nkids, capkids;
};

struct mustache_tmpl {
	char		*name;
	struct mnode	 root;
};

/* A token of the source: a run of text (ending at most at a newline). */
struct mtok {
	int		 tag;		/* 0: text, else the tag type char */
	const char	*s;		/* text, or the trimmed tag content */
	size_t		 len;
	size_t		 line;
};

struct mparse {
	const char	*name;
	const char	*src;
	size_t		 len;
	struct mtok	*tok;
	size_t		 ntok, captok;
	char		*cause;
};

/* One open container while building the tree. */
struct mopen {
	struct mnode	*node;
	size_t		 strip;		/* columns of indentation to remove */
};

/* ---------------------------------------------------------------- parse */

static void
mustache_settle(char **cause, const char *name, size_t line, const char *msg,
    const char *arg, size_t alen)
{
	if (*cause != NULL)
		return;
	if (arg != NULL)
		xasprintf(cause, "%s:%zu: %s '%.*s'", name, line, msg,
		    (int)(alen > 64 ? 64 : alen), arg);
	else
		xasprintf(cause, "%s:%zu: %s", name, line, msg);
}

static void
mustache_addtok(struct mparse *p, int tag, const char *s, size_t len,
    size_t line)
{
	struct mtok	*t;

	if (p->ntok == p->captok) {
		p->captok = p->captok ? p->captok * 2 : 64;
		p->tok = xreallocarray(p->tok, p->captok, sizeof(*p->tok));
	}
	t = &p->tok[p->ntok++];
	t->tag = tag;
	t->s = s;
	t->len = len;
	t->line = line;
}

static const char *
mustache_find(const char *s, size_t len, const char *pat, size_t plen)
{
	return memmem(s, len, pat, plen);
}

static int
mustache_isspace(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
	    c == '\f' || c == '\v';
}

static size_t
mustache_lines(const char *s, size_t len)
{
	size_t	n = 0;

	while (len-- > 0)
		if (*s++ == '\n')
			n++;
	return n;
}

/*
 * Parse a delimiter change "=OPEN CLOSE=" (content between the equals
 * signs): two runs without whitespace or '='.
 */
static int
mustache_delims(const char *s, size_t len, char *open, size_t *olen,
    char *close, size_t *clen)
{
	size_t	i = 0, a, b;

	while (i < len && mustache_isspace(s[i]))
		i++;
	a = i;
	while (i < len && !mustache_isspace(s[i]) && s[i] != '=')
		i++;
	if (i == a || i == len || !mustache_isspace(s[i]) || i - a > 15)
		return -1;
	memcpy(open, s + a, i - a);
	*olen = i - a;
	while (i < len && mustache_isspace(s[i]))
		i++;
	b = i;
	while (i < len && !mustache_isspace(s[i]) && s[i] != '=')
		i++;
	if (i == b || i - b > 15)
		return -1;
	memcpy(close, s + b, i - b);
	*clen = i - b;
	while (i < len && mustache_isspace(s[i]))
		i++;
	return i == len ? 0 : -1;
}

/* Split the source into text (one token per line) and tag tokens. */
static int
mustache_tokenize(struct mparse *p)
{
	char		 open[16] = "{{", close[16] = "}}", t;
	size_t		 olen = 2, clen = 2, pos = 0, line = 1, tline;
	const char	*src = p->src, *o, *nl, *e, *c;
	size_t		 len = p->len, end, clen2;
	char		 end2[17];

	while (pos < len) {
		o = mustache_find(src + pos, len - pos, open, olen);
		end = o ? (size_t)(o - src) : len;
		while (pos < end) {
			nl = memchr(src + pos, '\n', end - pos);
			e = nl ? nl + 1 : src + end;
			mustache_addtok(p, 0, src + pos, e - (src + pos), line);
			pos = e - src;
			if (nl != NULL)
				line++;
		}
		if (o == NULL)
			break;
		tline = line;
		pos += olen;
		t = pos < len ? src[pos] : '\0';
		/* Where the tag ends: "}" or "=" may come before close. */
		clen2 = clen;
		memcpy(end2, close, clen);
		if (t == '{' || t == '=') {
			end2[0] = t == '{' ? '}' : '=';
			memcpy(end2 + 1, close, clen);
			clen2 = clen + 1;
		}
		if (t == '{' || t == '=' || t == '!' || t == '#' || t == '^' ||
		    t == '/' || t == '>' || t == '<' || t == '$' || t == '&')
			pos++;
		else
			t = 'v';
		c = mustache_find(src + pos, len - pos, end2, clen2);
		if (c == NULL) {
			mustache_settle(&p->cause, p->name, tline,
			    "unclosed tag: no closing", end2, clen2);
			return -1;
		}
		end = c - src;
		line += mustache_lines(src + pos, end - pos);
		if (t == '=') {
			if (mustache_delims(src + pos, end - pos, open, &olen,
			    close, &clen) == -1) {
				mustache_settle(&p->cause, p->name, tline,
				    "bad delimiter change", src + pos,
				    end - pos);
				return -1;
			}
			mustache_addtok(p, '=', src + pos, end - pos, tline);
		} else if (t == '!')
			mustache_addtok(p, '!', src + pos, end - pos, tline);
		else {
			while (pos < end && mustache_isspace(src[pos]))
				pos++;
			while (end > pos && mustache_isspace(src[end - 1]))
				end--;
			if (t == '{')
				t = '&';
			mustache_addtok(p, t, src + pos, end - pos, tline);
		}
		pos = (c - src) + clen2;
	}
	return 0;
}

static int
mustache_blank(const char *s, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++) {
		if (s[i] == ' ' || s[i] == '\t')
			continue;
		if (s[i] == '\n' && i == len - 1)
			continue;
		if (s[i] == '\r' && i == len - 2 && s[i + 1] == '\n')
			continue;
		return 0;
	}
	return 1;
}

static struct mnode *
mustache_add(struct mnode *parent, enum mnode_type type, size_t line)
{
	struct mnode	*n;

	if (parent->nkids == parent->capkids) {
		parent->capkids = parent->capkids ? parent->capkids * 2 : 4;
		parent->kids = xreallocarray(parent->kids, parent->capkids,
		    sizeof(*parent->kids));
	}
	n = &parent->kids[parent->nkids++];
	memset(n, 0, sizeof(*n));
	n->type = type;
	n->line = line;
	return n;
}

static void
mustache_addtext(struct mnode *parent, const char *s, size_t len, size_t line)
{
	struct mnode	*n;

	if (len == 0)
		return;
	if (parent->nkids > 0 && parent->kids[parent->nkids - 1].type ==
	    MN_TEXT)
		n = &parent->kids[parent->nkids - 1];
	else
		n = mustache_add(parent, MN_TEXT, line);
	n->text = xreallocarray(n->text, n->len + len + 1, 1);
	memcpy(n->text + n->len, s, len);
	n->len += len;
	n->text[n->len] = '\0';
}

static void
mustache_freenode(struct mnode *n)
{
	size_t	i;

	for (i = 0; i < n->nkids; i++)
		mustache_freenode(&n->kids[i]);
	free(n->kids);
	free(n->text);
	free(n->namebuf);
	free(n->parts);
	free(n->indent);
}

/* Set a tag's name: the raw text and its dotted parts. */
static int
mustache_setname(struct mparse *p, struct mnode *n, const struct mtok *t)
{
	const char	*s = t->s;
	size_t		 len = t->len, i, k;

	if (memchr(s, '\0', len) != NULL) {
		mustache_settle(&p->cause, p->name, t->line,
		    "NUL byte in tag name", NULL, 0);
		return -1;
	}
	n->text = xstrndup(s, len);
	n->len = len;
	if (len == 0) {
		mustache_settle(&p->cause, p->name, t->line, "empty tag name",
		    NULL, 0);
		return -1;
	}
	if ((t->tag == '>' || t->tag == '<') && s[0] == '*') {
		n->dynamic = 1;
		s++;
		len--;
		while (len > 0 && mustache_isspace(*s)) {
			s++;
			len--;
		}
		if (len == 0) {
			mustache_settle(&p->cause, p->name, t->line,
			    "empty dynamic name", NULL, 0);
			return -1;
		}
	}
	for (i = 0; i < len; i++) {
		if (mustache_isspace(s[i])) {
			mustache_settle(&p->cause, p->name, t->line,
			    "whitespace in tag name", t->s, t->len);
			return -1;
		}
	}
	/* Partial, parent and block names are not dotted (unless dynamic). */
	if ((t->tag == '>' || t->tag == '<' || t->tag == '$') && !n->dynamic)
		return 0;
	if (len == 1 && s[0] == '.')
		return 0;
	n->namebuf = xstrndup(s, len);
	n->nparts = 1;
	for (i = 0; i < len; i++)
		if (s[i] == '.')
			n->nparts++;
	n->parts = xreallocarray(NULL, n->nparts, sizeof(*n->parts));
	n->parts[0] = n->namebuf;
	for (i = 0, k = 1; i < len; i++) {
		if (n->namebuf[i] == '.') {
			n->namebuf[i] = '\0';
			n->parts[k++] = n->namebuf + i + 1;
		}
	}
	for (k = 0; k < n->nparts; k++) {
		if (n->parts[k][0] == '\0') {
			mustache_settle(&p->cause, p->name, t->line,
			    "empty part in dotted name", t->s, t->len);
			return -1;
		}
	}
	return 0;
}

/* Leading spaces and tabs. */
static size_t
mustache_wslen(const char *s, size_t len)
{
	size_t	i = 0;

	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	return i;
}

/*
 * Is the line tok[i..j) standalone: only whitespace around tags that
 * print nothing?  One such tag, or several parent and block tags
 * (a block's open tag last, its close tag first on the line).
 */
static int
mustache_standalone(struct mparse *p, size_t i, size_t j,
    const struct mopen *stack, size_t nstack)
{
	char	 sim[64];
	size_t	 k, ntags = 0, nsim = 0, depth = nstack, last = 0;
	int	 first = 1, ok = 1;
	char	 m;

	for (k = i; k < j; k++) {
		if (p->tok[k].tag == 0) {
			if (!mustache_blank(p->tok[k].s, p->tok[k].len))
				return 0;
			continue;
		}
		if (strchr("#^/!=><$", p->tok[k].tag) == NULL)
			return 0;
		ntags++;
		last = k;
	}
	if (ntags <= 1)
		return ntags == 1;
	for (k = i; k < j && ok; k++) {
		switch (p->tok[k].tag) {
		case 0:
			continue;
		case '<':
		case '$':
			if (nsim == sizeof(sim))
				return 0;
			sim[nsim++] = p->tok[k].tag;
			if (p->tok[k].tag == '$' && k != last)
				ok = 0;
			break;
		case '/':
			if (nsim > 0)
				m = sim[--nsim];
			else if (depth > 1) {
				depth--;
				m = stack[depth].node->type == MN_PARENT ? '<' :
				    stack[depth].node->type == MN_BLOCK ? '$' :
				    '#';
			} else
				m = '#';
			if (m == '#' || (m == '$' && !first))
				ok = 0;
			break;
		default:
			ok = 0;
			break;
		}
		first = 0;
	}
	return ok;
}

/* Handle one tag token; standalone lines give their indentation. */
static int
mustache_tag(struct mparse *p, size_t k, struct mopen *stack, size_t *nstack,
    int standalone, const char *ind, size_t indlen, int wsprefix,
    size_t nexttok)
{
	const struct mtok	*t = &p->tok[k];
	struct mopen		*top = &stack[*nstack - 1];
	struct mnode		*n;
	enum mnode_type		 type;
	size_t			 abs, w;
	const struct mtok	*nt;

	switch (t->tag) {
	case '!':
	case '=':
		return 0;
	case '/':
		n = top->node;
		if (*nstack == 1) {
			mustache_settle(&p->cause, p->name, t->line,
			    "close tag without an open section", t->s, t->len);
			return -1;
		}
		if (n->len != t->len || memcmp(n->text, t->s, t->len) != 0) {
			if (p->cause == NULL)
				xasprintf(&p->cause, "%s:%zu: close tag '%.*s' "
				    "does not match '%.*s' opened at line %zu",
				    p->name, t->line, (int)(t->len > 64 ? 64 :
				    t->len), t->s, (int)(n->len > 64 ? 64 :
				    n->len), n->text, n->line);
			return -1;
		}
		if (n->type == MN_PARENT) {
			/* Only blocks count inside a parent. */
			size_t	 a, b;

			for (a = b = 0; a < n->nkids; a++) {
				if (n->kids[a].type == MN_BLOCK)
					n->kids[b++] = n->kids[a];
				else
					mustache_freenode(&n->kids[a]);
			}
			n->nkids = b;
		}
		(*nstack)--;
		return 0;
	case 'v':
		type = MN_VAR;
		break;
	case '&':
		type = MN_RAW;
		break;
	case '#':
		type = MN_SECTION;
		break;
	case '^':
		type = MN_INVERTED;
		break;
	case '>':
		type = MN_PARTIAL;
		break;
	case '<':
		type = MN_PARENT;
		break;
	default:
		type = MN_BLOCK;
		break;
	}
	n = mustache_add(top->node, type, t->line);
	if (mustache_setname(p, n, t) == -1)
		return -1;
	if ((type == MN_PARTIAL || type == MN_PARENT) && standalone &&
	    ind != NULL) {
		n->indmode = MN_IND_LINE;
		n->indent = xstrndup(ind, indlen);
		n->indlen = indlen;
	}
	if (type != MN_SECTION && type != MN_INVERTED && type != MN_PARENT &&
	    type != MN_BLOCK)
		return 0;
	if (*nstack == MUSTACHE_MAXNEST) {
		mustache_settle(&p->cause, p->name, t->line,
		    "sections nested too deeply", NULL, 0);
		return -1;
	}
	stack[*nstack].node = n;
	stack[*nstack].strip = top->strip;
	if (type == MN_BLOCK && standalone) {
		/* The indentation of the next line is the block's own. */
		abs = 0;
		nt = nexttok < p->ntok ? &p->tok[nexttok] : NULL;
		if (nt != NULL && nt->tag == 0)
			abs = mustache_wslen(nt->s, nt->len);
		if (abs > top->strip) {
			n->indlen = abs - top->strip;
			n->indent = xstrndup(nt->s + top->strip, n->indlen);
			stack[*nstack].strip = abs;
		}
		n->indmode = MN_IND_LINE;
	} else if (type == MN_BLOCK && wsprefix) {
		w = indlen;
		n->indent = xstrndup(ind, w);
		n->indlen = w;
		n->indmode = MN_IND_AFTER;
		stack[*nstack].strip = top->strip + w;
	}
	(*nstack)++;
	return 0;
}

/* Build the tree from the tokens, line by line. */
static int
mustache_build(struct mparse *p, struct mnode *root)
{
	struct mopen	*stack;
	size_t		 nstack = 1, i = 0, j, k, s, firsttag;
	int		 sa, rc = -1;
	struct mtok	*t;

	stack = xreallocarray(NULL, MUSTACHE_MAXNEST, sizeof(*stack));
	stack[0].node = root;
	stack[0].strip = 0;
	while (i < p->ntok) {
		for (j = i; j < p->ntok; j++) {
			t = &p->tok[j];
			if (t->tag == 0 && t->len > 0 && t->s[t->len - 1] ==
			    '\n') {
				j++;
				break;
			}
		}
		/* Remove the indentation of the enclosing block. */
		t = &p->tok[i];
		if (t->tag == 0 && stack[nstack - 1].strip > 0) {
			s = mustache_wslen(t->s, t->len);
			if (s > stack[nstack - 1].strip)
				s = stack[nstack - 1].strip;
			t->s += s;
			t->len -= s;
		}
		sa = mustache_standalone(p, i, j, stack, nstack);
		firsttag = i;
		while (firsttag < j && p->tok[firsttag].tag == 0)
			firsttag++;
		for (k = i; k < j; k++) {
			t = &p->tok[k];
			if (t->tag == 0) {
				if (!sa)
					mustache_addtext(stack[nstack - 1].node,
					    t->s, t->len, t->line);
				continue;
			}
			if (mustache_tag(p, k, stack, &nstack, sa,
			    k == firsttag && k > i ? p->tok[i].s : "",
			    k == firsttag && k > i ? p->tok[i].len : 0,
			    k == firsttag && (k == i || mustache_blank(
			    p->tok[i].s, p->tok[i].len)), j) == -1)
				goto fail;
		}
		i = j;
	}
	if (nstack > 1) {
		mustache_settle(&p->cause, p->name,
		    stack[nstack - 1].node->line, "unclosed section",
		    stack[nstack - 1].node->text,
		    stack[nstack - 1].node->len);
		goto fail;
	}
	rc = 0;
fail:
	free(stack);
	return rc;
}

struct mustache_tmpl *
mustache_parse(const char *name, const char *src, size_t len, char **cause)
{
	struct mustache_tmpl	*t;
	struct mparse		 p;

	memset(&p, 0, sizeof(p));
	p.name = name;
	p.src = src;
	p.len = len;
	t = xcalloc(1, sizeof(*t));
	t->name = xstrdup(name);
	t->root.type = MN_ROOT;
	if (mustache_tokenize(&p) == -1 || mustache_build(&p, &t->root) == -1)
		goto fail;
	free(p.tok);
	return t;
fail:
	free(p.tok);
	mustache_free(t);
	*cause = p.cause;
	return NULL;
}

void
mustache_free(struct mustache_tmpl *t)
{
	if (t == NULL)
		return;
	mustache_freenode(&t->root);
	free(t->name);
	free(t);
}

const char *
mustache_name(const struct mustache_tmpl *t)
{
	return t->name;
}

/* --------------------------------------------------------------- render */

#define MUSTACHE_NONE	SIZE_MAX

struct mrender {
	int			  flags;
	mustache_partial_fn	  fn;
	void			 *arg;
	struct buf		 *out;
	const char		 *tname;	/* template being rendered */
	char			 *cause;
	int			  depth;
	int			  sections;	/* sections open */
	long			  calls;	/* expansions so far */

	const struct value	**ctx;
	size_t			  nctx, capctx;
	const struct value	 *ctxbuf[32];

	struct {
		const char	*s;
		size_t		 len;
	}			  ind[MUSTACHE_MAXDEPTH + 1];
	size_t			  nind;
	size_t			  pending;	/* first indent to print */

	const struct mnode	 *frames[MUSTACHE_MAXDEPTH + 1];
	size_t			  nframes;

	/* mustache_plan only. */
	struct mustache_plan	 *plan;
	size_t			  base;		/* frames of the initial stack */
	size_t			  volf[64];	/* frames of volatile sections */
	size_t			  nvolf;
	const char		 *why;		/* why it cannot be planned */
};

/* A slot (a volatile value printed) or a condition (a section on one). */
struct mplan_ref {
	const struct mnode	*n;
	size_t			 frame;	/* where its first part was found */
	size_t			 at;	/* slot: its offset in the output */
	int			 flag;	/* slot: escaped; condition: truthy */
	int			 section; /* condition: {{#}}, not {{^}} */
};

struct mustache_plan {
	struct mplan_ref	*slots;
	size_t			 nslots, capslots;
	struct mplan_ref	*conds;
	size_t			 nconds, capconds;
};

static int	mustache_nodes(struct mrender *, const struct mnode *, size_t);

static void
mustache_push(struct mrender *r, const struct value *v)
{
	if (r->nctx == r->capctx) {
		r->capctx *= 2;
		if (r->ctx == r->ctxbuf) {
			r->ctx = xreallocarray(NULL, r->capctx,
			    sizeof(*r->ctx));
			memcpy(r->ctx, r->ctxbuf, sizeof(r->ctxbuf));
		} else
			r->ctx = xreallocarray(r->ctx, r->capctx,
			    sizeof(*r->ctx));
	}
	r->ctx[r->nctx++] = v;
}

static const struct value *
mustache_lookup(const struct mrender *r, const struct mnode *n)
{
	const struct value	*v = NULL;
	size_t			 i;

	if (n->nparts == 0)
		return r->nctx > 0 ? r->ctx[r->nctx - 1] : NULL;
	for (i = r->nctx; i-- > 0;)
		if ((v = value_map_get(r->ctx[i], n->parts[0])) != NULL)
			break;
	for (i = 1; v != NULL && i < n->nparts; i++)
		v = value_map_get(v, n->parts[i]);
	return v;
}

/* Print the indentation owed at the start of a line. */
static void
mustache_indent(struct mrender *r)
{
	size_t	i;

	for (i = r->pending; i < r->nind; i++)
		buf_add(r->out, r->ind[i].s, r->ind[i].len);
	r->pending = MUSTACHE_NONE;
}

static void
mustache_text(struct mrender *r, const char *s, size_t len)
{
	const char	*nl;
	size_t		 n;

	if (r->nind == 0) {
		buf_add(r->out, s, len);
		return;
	}
	while (len > 0) {
		nl = memchr(s, '\n', len);
		n = nl ? (size_t)(nl - s) + 1 : len;
		if (r->pending != MUSTACHE_NONE)
			mustache_indent(r);
		buf_add(r->out, s, n);
		if (nl != NULL)
			r->pending = 0;
		s += n;
		len -= n;
	}
}

static void
mustache_escape(struct buf *out, const char *s, size_t len)
{
	static const char	*esc[256] = {
		['&'] = "&amp;", ['<'] = "&lt;", ['>'] = "&gt;",
		['"'] = "&quot;", ['\''] = "&#39;",
	};
	size_t			 i, start = 0;
	const char		*e;

	for (i = 0; i < len; i++) {
		if ((e = esc[(unsigned char)s[i]]) == NULL)
			continue;
		buf_add(out, s + start, i - start);
		buf_adds(out, e);
		start = i + 1;
	}
	buf_add(out, s + start, len - start);
}

/* The text of an interpolated value; maps, lists and null print nothing. */
static void
mustache_put(struct buf *out, const struct value *v, int escape)
{
	switch (v->type) {
	case VALUE_STRING:
		if (escape)
			mustache_escape(out, v->u.str.s, v->u.str.len);
		else
			buf_add(out, v->u.str.s, v->u.str.len);
		break;
	case VALUE_NUMBER:
	case VALUE_BOOL:
		value_to_text(v, out);
		break;
	default:
		break;
	}
}

static void
mustache_value(struct mrender *r, const struct value *v, int escape)
{
	switch (v->type) {
	case VALUE_STRING:
		if (v->u.str.len == 0)
			return;
		break;
	case VALUE_NUMBER:
	case VALUE_BOOL:
		break;
	default:
		return;
	}
	if (r->pending != MUSTACHE_NONE && r->nind > 0)
		mustache_indent(r);
	mustache_put(r->out, v, escape);
	r->pending = MUSTACHE_NONE;
}

/* ---------------------------------------------------------------- plans */

static int
mustache_volframe(const struct mrender *r, size_t frame)
{
	size_t	i;

	for (i = 0; i < r->nvolf; i++)
		if (r->volf[i] == frame)
			return 1;
	return 0;
}

/*
 * mustache_lookup, and whether the value is volatile (a flagged value on
 * its path) and in which frame its first part was found.  -1 (r->why
 * set) when the outcome could vary in a way a plan cannot note.
 */
static int
mustache_lookup_plan(struct mrender *r, const struct mnode *n,
    const struct value **vp, int *vol, size_t *frame)
{
	const struct value	*v = NULL, *f;
	size_t			 i, k;

	*vp = NULL;
	*vol = 0;
	*frame = 0;
	if (n->nparts == 0) {
		if (r->nctx == 0)
			return 0;
		i = r->nctx - 1;
		if (mustache_volframe(r, i) ||
		    (r->ctx[i]->flags & VALUE_F_VOLATILE)) {
			r->why = "a volatile value as the implicit iterator";
			return -1;
		}
		*vp = r->ctx[i];
		*frame = i;
		return 0;
	}
	for (i = r->nctx; i-- > 0;) {
		f = r->ctx[i];
		if (f->type == VALUE_MAP && (f->flags & VALUE_F_VOLATILE)) {
			r->why = "a volatile map as a context frame";
			return -1;
		}
		if ((v = value_map_get(f, n->parts[0])) != NULL)
			break;
	}
	if (v == NULL)
		return 0;
	*frame = i;
	*vol = (v->flags & VALUE_F_VOLATILE) != 0;
	for (k = 1; v != NULL && k < n->nparts; k++) {
		v = value_map_get(v, n->parts[k]);
		if (v != NULL && (v->flags & VALUE_F_VOLATILE))
			*vol = 1;
	}
	if (*vol && *frame >= r->base) {
		r->why = "a volatile value found in a section's frame";
		return -1;
	}
	*vp = v;
	return 0;
}

/* Look n up; when planning, also whether it is volatile, and where. */
static int
mustache_get(struct mrender *r, const struct mnode *n,
    const struct value **vp, int *vol, size_t *frame)
{
	if (r->plan == NULL) {
		*vp = mustache_lookup(r, n);
		*vol = 0;
		return 0;
	}
	return mustache_lookup_plan(r, n, vp, vol, frame);
}

static struct mplan_ref *
mustache_ref(struct mplan_ref **v, size_t *n, size_t *cap)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		*v = xreallocarray(*v, *cap, sizeof(**v));
	}
	memset(&(*v)[*n], 0, sizeof(**v));
	return &(*v)[(*n)++];
}

/* A volatile value printed here: note the slot. */
static int
mustache_slot(struct mrender *r, const struct mnode *n, size_t frame,
    int escape)
{
	struct mplan_ref	*s;

	/* Whether it prints decides whether the indentation is owed. */
	if (r->pending != MUSTACHE_NONE && r->nind > 0) {
		r->why = "a volatile value where indentation is owed";
		return -1;
	}
	s = mustache_ref(&r->plan->slots, &r->plan->nslots,
	    &r->plan->capslots);
	s->n = n;
	s->frame = frame;
	s->at = r->out->len;
	s->flag = escape;
	return 0;
}

/* A section on a volatile value, taken as v has it: note the condition. */
static int
mustache_cond(struct mrender *r, const struct mnode *n, size_t frame,
    const struct value *v, int section)
{
	struct mustache_plan	*p = r->plan;
	struct mplan_ref	*c;
	int			 t = value_truthy(v);
	size_t			 i;

	if (section && t && (v->type == VALUE_LIST || v->type == VALUE_MAP)) {
		r->why = "a section iterates or enters a volatile list or map";
		return -1;
	}
	for (i = 0; i < p->nconds; i++)
		if (p->conds[i].n == n && p->conds[i].frame == frame)
			return 0;
	c = mustache_ref(&p->conds, &p->nconds, &p->capconds);
	c->n = n;
	c->frame = frame;
	c->flag = t;
	c->section = section;
	return 0;
}

/* The value a slot or condition names in another context. */
static const struct value *
mustache_resolve(const struct mplan_ref *ref,
    const struct value *const *stack, size_t depth)
{
	const struct value	*v;
	size_t			 k;

	if (ref->frame >= depth || ref->n->nparts == 0)
		return NULL;
	v = value_map_get(stack[ref->frame], ref->n->parts[0]);
	for (k = 1; v != NULL && k < ref->n->nparts; k++)
		v = value_map_get(v, ref->n->parts[k]);
	return v;
}

int
mustache_plan_holds(const struct mustache_plan *p,
    const struct value *const *stack, size_t depth)
{
	const struct value	*v;
	size_t			 i;
	int			 t;

	for (i = 0; i < p->nconds; i++) {
		v = mustache_resolve(&p->conds[i], stack, depth);
		t = value_truthy(v);
		if (t != p->conds[i].flag)
			return 0;
		if (t && p->conds[i].section &&
		    (v->type == VALUE_LIST || v->type == VALUE_MAP))
			return 0;
	}
	return 1;
}

size_t
mustache_plan_nslots(const struct mustache_plan *p)
{
	return p->nslots;
}

size_t
mustache_plan_slot_at(const struct mustache_plan *p, size_t i)
{
	return p->slots[i].at;
}

void
mustache_plan_fill(const struct mustache_plan *p, size_t i,
    const struct value *const *stack, size_t depth, struct buf *out)
{
	const struct value	*v;

	if ((v = mustache_resolve(&p->slots[i], stack, depth)) != NULL)
		mustache_put(out, v, p->slots[i].flag);
}

void
mustache_plan_free(struct mustache_plan *p)
{
	if (p == NULL)
		return;
	free(p->slots);
	free(p->conds);
	free(p);
}

/* ---------------------------------------------------------------------- */

static int
mustache_deeper(struct mrender *r, const struct mnode *n)
{
	if (++r->calls > MUSTACHE_MAXCALLS) {
		if (r->cause == NULL)
			xasprintf(&r->cause, "%s:%zu: more than %d partials, "
			    "parents and blocks in one render", r->tname,
			    n->line, MUSTACHE_MAXCALLS);
		return -1;
	}
	if (r->depth < MUSTACHE_MAXDEPTH) {
		r->depth++;
		return 0;
	}
	if (r->cause == NULL)
		xasprintf(&r->cause, "%s:%zu: templates nest deeper than %d "
		    "(recursive partial, parent or block?) at '%s'", r->tname,
		    n->line, MUSTACHE_MAXDEPTH, n->text);
	return -1;
}

/* Push a node's indentation; a standalone one starts a line. */
static void
mustache_pushind(struct mrender *r, const struct mnode *n)
{
	if (n->indmode == MN_IND_NONE)
		return;
	r->ind[r->nind].s = n->indent != NULL ? n->indent : "";
	r->ind[r->nind].len = n->indlen;
	if (n->indmode == MN_IND_LINE && r->pending == MUSTACHE_NONE)
		r->pending = r->nind;
	else if (n->indmode == MN_IND_AFTER && n->indlen > 0)
		r->pending = MUSTACHE_NONE;	/* mid-line, after the blanks */
	r->nind++;
}

static void
mustache_popind(struct mrender *r, const struct mnode *n)
{
	if (n->indmode == MN_IND_NONE)
		return;
	r->nind--;
	if (r->pending != MUSTACHE_NONE && r->pending > r->nind)
		r->pending = r->nind;
}

/* Render a partial or parent node. */
static int
mustache_include(struct mrender *r, const struct mnode *n)
{
	const struct mustache_tmpl	*t;
	const struct value		*v;
	const char			*name = n->text, *saved;
	size_t				 frame;
	int				 rc, vol;

	if (r->fn == NULL)
		return 0;
	if (n->dynamic) {
		if (mustache_get(r, n, &v, &vol, &frame) == -1)
			return -1;
		if (vol) {
			r->why = "a volatile value names a partial";
			return -1;
		}
		if (v == NULL || v->type != VALUE_STRING)
			return 0;
		name = v->u.str.s;
	}
	if ((t = r->fn(r->arg, name)) == NULL)
		return 0;
	if (mustache_deeper(r, n) == -1)
		return -1;
	if (n->type == MN_PARENT)
		r->frames[r->nframes++] = n;
	mustache_pushind(r, n);
	saved = r->tname;
	r->tname = t->name;
	rc = mustache_nodes(r, t->root.kids, t->root.nkids);
	r->tname = saved;
	mustache_popind(r, n);
	if (n->type == MN_PARENT)
		r->nframes--;
	r->depth--;
	return rc;
}

/* Render a block: the outermost override, else its own content. */
static int
mustache_block(struct mrender *r, const struct mnode *n)
{
	const struct mnode	*f, *body = n;
	size_t			 i, k;
	int			 rc;

	for (i = 0; i < r->nframes && body == n; i++) {
		f = r->frames[i];
		for (k = 0; k < f->nkids; k++) {
			if (f->kids[k].len == n->len &&
			    memcmp(f->kids[k].text, n->text, n->len) == 0) {
				body = &f->kids[k];
				break;
			}
		}
	}
	if (mustache_deeper(r, n) == -1)
		return -1;
	mustache_pushind(r, n);
	rc = mustache_nodes(r, body->kids, body->nkids);
	mustache_popind(r, n);
	r->depth--;
	return rc;
}

/* Count an open section, so that renders cannot nest without bound. */
static int
mustache_enter(struct mrender *r, const struct mnode *n)
{
	if (++r->sections <= MUSTACHE_MAXSECT)
		return 0;
	if (r->cause == NULL)
		xasprintf(&r->cause, "%s:%zu: more than %d sections open at "
		    "once", r->tname, n->line, MUSTACHE_MAXSECT);
	return -1;
}

static int
mustache_nodes(struct mrender *r, const struct mnode *n, size_t count)
{
	const struct value	*v;
	size_t			 i, frame;
	int			 vol, esc;

	for (; count > 0; n++, count--) {
		switch (n->type) {
		case MN_TEXT:
			mustache_text(r, n->text, n->len);
			break;
		case MN_VAR:
		case MN_RAW:
			if (mustache_get(r, n, &v, &vol, &frame) == -1)
				return -1;
			esc = n->type == MN_VAR &&
			    !(r->flags & MUSTACHE_NOESCAPE);
			if (vol) {
				if (mustache_slot(r, n, frame, esc) == -1)
					return -1;
			} else if (v != NULL)
				mustache_value(r, v, esc);
			break;
		case MN_SECTION:
			if (mustache_get(r, n, &v, &vol, &frame) == -1 ||
			    (vol && mustache_cond(r, n, frame, v, 1) == -1))
				return -1;
			if (!value_truthy(v))
				break;
			if (mustache_enter(r, n) == -1)
				return -1;
			if (v->type == VALUE_LIST) {
				for (i = 0; i < v->u.list.n; i++) {
					mustache_push(r, v->u.list.v[i]);
					if (mustache_nodes(r, n->kids,
					    n->nkids) == -1)
						return -1;
					r->nctx--;
				}
			} else {
				mustache_push(r, v);
				if (vol) {
					/* Cannot hold a key: a scalar. */
					if (r->nvolf == sizeof(r->volf) /
					    sizeof(r->volf[0])) {
						r->why = "volatile sections "
						    "nest too deeply";
						return -1;
					}
					r->volf[r->nvolf++] = r->nctx - 1;
				}
				if (mustache_nodes(r, n->kids, n->nkids) == -1)
					return -1;
				if (vol)
					r->nvolf--;
				r->nctx--;
			}
			r->sections--;
			break;
		case MN_INVERTED:
			if (mustache_get(r, n, &v, &vol, &frame) == -1 ||
			    (vol && mustache_cond(r, n, frame, v, 0) == -1))
				return -1;
			if (value_truthy(v))
				break;
			if (mustache_enter(r, n) == -1 ||
			    mustache_nodes(r, n->kids, n->nkids) == -1)
				return -1;
			r->sections--;
			break;
		case MN_PARTIAL:
		case MN_PARENT:
			if (mustache_include(r, n) == -1)
				return -1;
			break;
		case MN_BLOCK:
			if (mustache_block(r, n) == -1)
				return -1;
			break;
		case MN_ROOT:
			break;
		}
	}
	return 0;
}

static int
mustache_run(const struct mustache_tmpl *t, const struct value *const *stack,
    size_t depth, int flags, mustache_partial_fn fn, void *arg,
    struct buf *out, struct mustache_plan *plan, char **cause)
{
	struct mrender	 r;
	size_t		 i;
	int		 rc;

	memset(&r, 0, sizeof(r));
	r.plan = plan;
	r.base = depth;
	r.flags = flags;
	r.fn = fn;
	r.arg = arg;
	r.out = out;
	r.tname = t->name;
	r.pending = MUSTACHE_NONE;
	r.ctx = r.ctxbuf;
	r.capctx = sizeof(r.ctxbuf) / sizeof(r.ctxbuf[0]);
	for (i = 0; i < depth; i++)
		mustache_push(&r, stack[i]);
	buf_reserve(out, 0);
	rc = mustache_nodes(&r, t->root.kids, t->root.nkids);
	if (r.ctx != r.ctxbuf)
		free(r.ctx);
	if (rc == -1 && r.why != NULL) {
		free(r.cause);
		*cause = xstrdup(r.why);
		return 1;
	}
	if (rc == -1)
		*cause = r.cause;
	return rc;
}

int
mustache_render(const struct mustache_tmpl *t,
    const struct value *const *stack, size_t depth, int flags,
    mustache_partial_fn fn, void *arg, struct buf *out, char **cause)
{
	return mustache_run(t, stack, depth, flags, fn, arg, out, NULL,
	    cause);
}

int
mustache_plan(const struct mustache_tmpl *t, const struct value *const *stack,
    size_t depth, int flags, mustache_partial_fn fn, void *arg,
    struct buf *out, struct mustache_plan **planp, char **cause)
{
	struct mustache_plan	*p;
	int			 rc;

	*planp = NULL;
	p = xcalloc(1, sizeof(*p));
	rc = mustache_run(t, stack, depth, flags, fn, arg, out, p, cause);
	if (rc != 0) {
		mustache_plan_free(p);
		return rc;
	}
	*planp = p;
	return 0;
}
