/* Subscriber CSV files: a checking reader on libcsv and an RFC 4180 writer. */
#include "autoconf.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <csv.h>

#include "addr.h"
#include "buf.h"
#include "errlist.h"
#include "log.h"
#include "subcsv.h"
#include "text.h"
#include "xmalloc.h"

/* What a header column is for. */
enum subcsv_col {
	SUBCSV_COL_NONE,	/* no name: its values must be empty */
	SUBCSV_COL_EMAIL,
	SUBCSV_COL_NAME,
	SUBCSV_COL_LANG,
	SUBCSV_COL_ATTR
};

struct subcsv_slot {
	size_t		 row;	/* row index + 1, 0 when free */
	uint64_t	 hash;	/* compared first: fewer cache misses */
};

struct subcsv_ctx {
	const char		*name;
	struct errlist		*errs;
	struct subcsv		*out;

	/* The record being parsed: fields NUL-separated in rec. */
	struct buf		 rec;
	size_t			*offs;
	size_t			 nfields;
	size_t			 capfields;
	size_t			 line;		/* line being fed */
	size_t			 rec_line;	/* line where the record starts */
	int			 rec_bad;	/* already reported */

	/* The header. */
	int			 have_header;
	size_t			 ncols;
	enum subcsv_col		*cols;
	char			**colnames;	/* trimmed, as given */
	int			 fatal;

	/* Duplicates: open addressing on the normalized address. */
	struct subcsv_slot	*slots;
	size_t			 nslots;
	size_t			 caprows;
};

/* Never treat a space as ignorable: fields are kept as written. */
static int
subcsv_nospace(unsigned char c)
{
	return 0;
}

static void
subcsv_field_cb(void *data, size_t len, void *arg)
{
	struct subcsv_ctx	*c = arg;

	if (c->nfields == c->capfields) {
		c->capfields = c->capfields ? c->capfields * 2 : 8;
		c->offs = xreallocarray(c->offs, c->capfields,
		    sizeof(*c->offs));
	}
	c->offs[c->nfields++] = c->rec.len;
	if (len > 0)
		buf_add(&c->rec, data, len);
	buf_addc(&c->rec, '\0');
}

static const char *
subcsv_field(struct subcsv_ctx *c, size_t i)
{
	return c->rec.data + c->offs[i];
}

static size_t
subcsv_fieldlen(struct subcsv_ctx *c, size_t i)
{
	size_t	end = i + 1 < c->nfields ? c->offs[i + 1] : c->rec.len;

	return end - c->offs[i] - 1;
}

/*
 * A value quoted for an error message: control characters escaped,
 * cut after about 60 bytes at a character boundary.
 */
static char *
subcsv_show(const char *s, size_t len)
{
	struct buf	 b = BUF_INIT;
	unsigned int	 cp;
	size_t		 i, n;

	buf_addc(&b, '\'');
	for (i = 0; i < len; i += n) {
		if (i >= 60) {
			buf_adds(&b, "...");
			break;
		}
		if ((n = text_utf8_decode(s + i, len - i, &cp)) == 0) {
			buf_printf(&b, "\\x%02X", (unsigned char)s[i]);
			n = 1;
		} else if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0))
			buf_printf(&b, "\\x%02X", cp);
		else
			buf_add(&b, s + i, n);
	}
	buf_addc(&b, '\'');
	return buf_steal(&b);
}

static char *
subcsv_trim(const char *s)
{
	size_t	len;

	while (*s == ' ' || *s == '\t')
		s++;
	len = strlen(s);
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	return xstrndup(s, len);
}

static void
subcsv_header(struct subcsv_ctx *c)
{
	char		 why[TEXT_WHY_MAX], *nm;
	size_t		 i, j, line = c->rec_line;
	int		 have_email = 0;

	c->have_header = 1;
	c->ncols = c->nfields;
	c->cols = xcalloc(c->ncols, sizeof(*c->cols));
	c->colnames = xcalloc(c->ncols, sizeof(*c->colnames));
	for (i = 0; i < c->ncols; i++) {
		nm = c->colnames[i] = subcsv_trim(subcsv_field(c, i));
		if (text_check_line_r(nm, strlen(nm), why, sizeof(why)) == -1) {
			errlist_add(c->errs, "%s:%zu: column %zu of the header "
			    "row: %s", c->name, line, i + 1, why);
			c->fatal = 1;
			continue;
		}
		if (*nm == '\0')
			c->cols[i] = SUBCSV_COL_NONE;
		else if (strcasecmp(nm, "email") == 0) {
			c->cols[i] = SUBCSV_COL_EMAIL;
			have_email = 1;
		} else if (strcasecmp(nm, "name") == 0)
			c->cols[i] = SUBCSV_COL_NAME;
		else if (strcasecmp(nm, "lang") == 0)
			c->cols[i] = SUBCSV_COL_LANG;
		else
			c->cols[i] = SUBCSV_COL_ATTR;
		if (*nm == '\0')
			continue;
		for (j = 0; j < i; j++) {
			if (strcasecmp(c->colnames[j], nm) == 0) {
				errlist_add(c->errs, "%s:%zu: column '%s' "
				    "appears twice in the header row "
				    "(columns %zu and %zu)", c->name, line, nm,
				    j + 1, i + 1);
				c->fatal = 1;
				break;
			}
		}
	}
	if (!have_email && !c->fatal) {
		errlist_add(c->errs, "%s:%zu: the header row has no 'email' "
		    "column", c->name, line);
		c->fatal = 1;
	}
}

static uint64_t
subcsv_hash(const char *s)
{
	uint64_t	h = 14695981039346656037ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	/* FNV's low bits are weak and the table masks them: mix. */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

/* Slot for email: either holding it or the free one where it belongs. */
static size_t
subcsv_lookup(struct subcsv_ctx *c, const char *email, uint64_t h)
{
	struct subcsv_slot	*sl;
	size_t			 i, mask = c->nslots - 1;

	for (i = h & mask;; i = (i + 1) & mask) {
		sl = &c->slots[i];
		if (sl->row == 0 || (sl->hash == h &&
		    strcmp(c->out->rows[sl->row - 1].email, email) == 0))
			return i;
	}
}

static void
subcsv_grow(struct subcsv_ctx *c)
{
	struct subcsv_slot	*old = c->slots;
	size_t			 nold = c->nslots, i, j, mask;

	c->nslots = nold ? nold * 2 : 1024;
	mask = c->nslots - 1;
	c->slots = xcalloc(c->nslots, sizeof(*c->slots));
	for (i = 0; i < nold; i++) {
		if (old[i].row == 0)
			continue;
		for (j = old[i].hash & mask; c->slots[j].row != 0;
		    j = (j + 1) & mask)
			;
		c->slots[j] = old[i];
	}
	free(old);
}

static void
subcsv_setattr(struct subcsv_row *r, const char *key, const char *val)
{
	size_t	i;

	for (i = 0; i < r->nattrs; i++) {
		if (strcmp(r->attrs[i].key, key) == 0) {
			free(r->attrs[i].val);
			r->attrs[i].val = xstrdup(val);
			return;
		}
	}
	r->attrs = xreallocarray(r->attrs, r->nattrs + 1, sizeof(*r->attrs));
	r->attrs[r->nattrs].key = xstrdup(key);
	r->attrs[r->nattrs].val = xstrdup(val);
	r->nattrs++;
}

static void
subcsv_row(struct subcsv_ctx *c)
{
	struct subcsv	*out = c->out;
	struct subcsv_row *r, new;
	char		 why[TEXT_WHY_MAX > ADDR_WHY_MAX ?
			    TEXT_WHY_MAX : ADDR_WHY_MAX], *show;
	const char	*f;
	uint64_t	 h;
	size_t		 i, len, line = c->rec_line, slot;
	int		 bad = c->rec_bad;

	memset(&new, 0, sizeof(new));
	new.line = line;
	if (c->nfields != c->ncols) {
		errlist_add(c->errs, "%s:%zu: %zu field%s where the header row "
		    "has %zu", c->name, line, c->nfields,
		    c->nfields == 1 ? "" : "s", c->ncols);
		bad = 1;
		goto done;
	}
	for (i = 0; i < c->ncols; i++) {
		f = subcsv_field(c, i);
		len = subcsv_fieldlen(c, i);
		switch (c->cols[i]) {
		case SUBCSV_COL_NONE:
			if (len > 0) {
				errlist_add(c->errs, "%s:%zu: a value in column "
				    "%zu, which has no name in the header row",
				    c->name, line, i + 1);
				bad = 1;
			}
			break;
		case SUBCSV_COL_EMAIL:
			if (len == 0) {
				errlist_add(c->errs, "%s:%zu: no email address",
				    c->name, line);
				bad = 1;
			} else if (strlen(f) != len) {
				errlist_add(c->errs, "%s:%zu: email address "
				    "contains a NUL byte", c->name, line);
				bad = 1;
			} else if (!c->rec_bad && addr_check_r(f, &new.email,
			    why, sizeof(why)) == -1) {
				show = subcsv_show(f, len);
				errlist_add(c->errs, "%s:%zu: bad email address "
				    "%s: %s", c->name, line, show, why);
				free(show);
				bad = 1;
			}
			break;
		case SUBCSV_COL_NAME:
			if (len == 0)
				break;
			if (text_check_line_r(f, len, why, sizeof(why)) == -1) {
				if (!c->rec_bad)
					errlist_add(c->errs, "%s:%zu: bad name: "
					    "%s", c->name, line, why);
				bad = 1;
			} else
				new.name = xstrdup(f);
			break;
		case SUBCSV_COL_LANG:
			if (len == 0)
				break;
			if (strlen(f) != len || text_check_lang_r(f, why,
			    sizeof(why)) == -1) {
				if (strlen(f) != len)
					snprintf(why, sizeof(why),
					    "contains a NUL byte");
				show = subcsv_show(f, len);
				errlist_add(c->errs, "%s:%zu: bad language tag "
				    "%s: %s", c->name, line, show, why);
				free(show);
				bad = 1;
			} else
				new.lang = text_lang_normalize(f);
			break;
		case SUBCSV_COL_ATTR:
			if (len == 0)
				break;
			if (strlen(f) != len) {
				errlist_add(c->errs, "%s:%zu: column '%s' "
				    "contains a NUL byte", c->name, line,
				    c->colnames[i]);
				bad = 1;
				break;
			}
			subcsv_setattr(&new, c->colnames[i], f);
			break;
		}
	}
	if (bad || new.email == NULL) {
		bad = 1;
		goto done;
	}

	if (c->nslots == 0 || (out->nrows + 1) * 2 > c->nslots)
		subcsv_grow(c);
	h = subcsv_hash(new.email);
	slot = subcsv_lookup(c, new.email, h);
	if (c->slots[slot].row != 0) {
		/* Merge: later non-empty fields win. */
		r = &out->rows[c->slots[slot].row - 1];
		out->ndup++;
		if (new.name != NULL) {
			free(r->name);
			r->name = new.name;
			new.name = NULL;
		}
		if (new.lang != NULL) {
			free(r->lang);
			r->lang = new.lang;
			new.lang = NULL;
		}
		for (i = 0; i < new.nattrs; i++)
			subcsv_setattr(r, new.attrs[i].key, new.attrs[i].val);
		goto done;
	}
	if (out->nrows == c->caprows) {
		c->caprows = c->caprows ? c->caprows * 2 : 64;
		out->rows = xreallocarray(out->rows, c->caprows,
		    sizeof(*out->rows));
	}
	out->rows[out->nrows] = new;
	c->slots[slot].row = ++out->nrows;
	c->slots[slot].hash = h;
	memset(&new, 0, sizeof(new));
done:
	if (bad)
		out->nbad++;
	free(new.email);
	free(new.name);
	free(new.lang);
	for (i = 0; i < new.nattrs; i++) {
		free(new.attrs[i].key);
		free(new.attrs[i].val);
	}
	free(new.attrs);
}

static void
subcsv_record_reset(struct subcsv_ctx *c)
{
	c->nfields = 0;
	buf_reset(&c->rec);
	c->rec_bad = 0;
}

static void
subcsv_row_cb(int term, void *arg)
{
	struct subcsv_ctx	*c = arg;

	if (c->fatal)
		;
	else if (!c->have_header) {
		if (c->rec_bad)
			c->fatal = 1;
		else
			subcsv_header(c);
	} else
		subcsv_row(c);
	subcsv_record_reset(c);
}

static int
subcsv_blank(const char *s, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' &&
		    s[i] != '\n')
			return 0;
	return 1;
}

static void
subcsv_parser_init(struct csv_parser *p)
{
	if (csv_init(p, CSV_STRICT | CSV_STRICT_FINI) != 0)
		fatalx("csv_init failed");
	csv_set_space_func(p, subcsv_nospace);
}

int
subcsv_read(FILE *fp, const char *name, struct subcsv *out,
    struct errlist *errs)
{
	struct subcsv_ctx	 c;
	struct csv_parser	 p;
	char			*line = NULL, *s;
	size_t			 cap = 0, len, bad;
	ssize_t			 n;
	int			 rv = -1;

	memset(out, 0, sizeof(*out));
	memset(&c, 0, sizeof(c));
	c.name = name;
	c.errs = errs;
	c.out = out;
	buf_init(&c.rec);
	subcsv_parser_init(&p);

	while (!c.fatal && (n = getline(&line, &cap, fp)) != -1) {
		s = line;
		len = n;
		c.line++;
		if (c.line == 1 && len >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0) {
			s += 3;
			len -= 3;
		}
		/* Not inside a record: this line starts the next one. */
		if (p.pstate == 0) {
			if (subcsv_blank(s, len))
				continue;
			c.rec_line = c.line;
		}
		if ((bad = text_utf8_invalid_at(s, len)) != len) {
			errlist_add(errs, "%s:%zu: invalid UTF-8 at byte %zu%s",
			    name, c.line, bad + 1 + (s - line),
			    c.have_header ? "" : " of the header row");
			c.rec_bad = 1;
		}
		if (csv_parse(&p, s, len, subcsv_field_cb, subcsv_row_cb,
		    &c) != len) {
			errlist_add(errs, "%s:%zu: malformed quoting: a quote inside an "
			    "unquoted field, or text after a closing quote",
			    name, c.line);
			if (!c.have_header)
				c.fatal = 1;
			else
				out->nbad++;
			subcsv_record_reset(&c);
			csv_free(&p);
			subcsv_parser_init(&p);
		}
	}
	if (c.fatal)
		goto fail;
	if (ferror(fp)) {
		errlist_add(errs, "%s: read error: %s", name, strerror(errno));
		goto fail;
	}
	if (csv_fini(&p, subcsv_field_cb, subcsv_row_cb, &c) != 0) {
		errlist_add(errs, "%s:%zu: the quoted field of the record "
		    "starting at line %zu has no closing quote", name,
		    c.line, c.rec_line);
		goto fail;
	}
	if (c.fatal)
		goto fail;
	if (!c.have_header) {
		errlist_add(errs, "%s:1: empty file: expected a header row "
		    "with an 'email' column", name);
		goto fail;
	}
	rv = 0;
fail:
	csv_free(&p);
	free(line);
	buf_free(&c.rec);
	free(c.offs);
	free(c.cols);
	if (c.colnames != NULL) {
		for (bad = 0; bad < c.ncols; bad++)
			free(c.colnames[bad]);
		free(c.colnames);
	}
	free(c.slots);
	return rv;
}

void
subcsv_free(struct subcsv *s)
{
	struct subcsv_row	*r;
	size_t			 i, j;

	for (i = 0; i < s->nrows; i++) {
		r = &s->rows[i];
		free(r->email);
		free(r->name);
		free(r->lang);
		for (j = 0; j < r->nattrs; j++) {
			free(r->attrs[j].key);
			free(r->attrs[j].val);
		}
		free(r->attrs);
	}
	free(s->rows);
	memset(s, 0, sizeof(*s));
}

static int
subcsv_needs_quotes(const char *f)
{
	size_t	len = strlen(f);

	if (len == 0)
		return 0;
	if (f[0] == ' ' || f[0] == '\t' || f[len - 1] == ' ' ||
	    f[len - 1] == '\t')
		return 1;
	return strpbrk(f, ",\"\r\n") != NULL;
}

void
subcsv_write_record(FILE *fp, const char *const *fields, size_t n)
{
	const char	*f;
	size_t		 i;

	for (i = 0; i < n; i++) {
		if (i > 0)
			putc(',', fp);
		f = fields[i] != NULL ? fields[i] : "";
		if (!subcsv_needs_quotes(f)) {
			fputs(f, fp);
			continue;
		}
		putc('"', fp);
		for (; *f != '\0'; f++) {
			if (*f == '"')
				putc('"', fp);
			putc(*f, fp);
		}
		putc('"', fp);
	}
	fputs("\r\n", fp);
}
