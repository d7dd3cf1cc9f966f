/* Message bytes: quoted-printable, base64, RFC 2047 headers, multiparts. */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <unigbrk.h>
#include <unistr.h>

#include "buf.h"
#include "mime.h"
#include "token.h"
#include "xmalloc.h"

/* Encoded-word framing: "=?UTF-8?B?" and "?=". */
#define EW_PREFIX	"=?UTF-8?B?"
#define EW_OVERHEAD	12
#define EW_MAX		75
/* Lines holding encoded words stay within 76 (RFC 2047 section 2). */
#define EW_LINE		76
/* A plain word longer than this cannot be folded: encode it instead. */
#define LONG_WORD	900

static const char hexdig[] = "0123456789ABCDEF";
static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/*
 * Quoted-printable, one table entry per byte: its output padded to 4 bytes
 * (so that copying it is one 32-bit store), how many of those count, and
 * whether it needs the slow path (a line break).  Space and tab are copied
 * as is; one that turns out to end a line is patched afterwards.
 */
struct qp_ent {
	unsigned char	s[4];
	unsigned char	len;
	unsigned char	slow;
};

#define QP_LIT(x)	(((x) >= 32 && (x) <= 126 && (x) != '=') || (x) == 9)
#define QP_E(x)	{ { QP_LIT(x) ? (x) : '=', \
		    QP_LIT(x) ? 0 : "0123456789ABCDEF"[(x) >> 4], \
		    QP_LIT(x) ? 0 : "0123456789ABCDEF"[(x) & 15], 0 }, \
		  QP_LIT(x) ? 1 : 3, (x) == '\n' || (x) == '\r' }
#define QP_E4(x)	QP_E(x), QP_E((x) + 1), QP_E((x) + 2), QP_E((x) + 3)
#define QP_E16(x)	QP_E4(x), QP_E4((x) + 4), QP_E4((x) + 8), QP_E4((x) + 12)
#define QP_E64(x)	QP_E16(x), QP_E16((x) + 16), QP_E16((x) + 32), \
			QP_E16((x) + 48)
static const struct qp_ent qp_tab[256] = {
	QP_E64(0), QP_E64(64), QP_E64(128), QP_E64(192)
};

/* The same as one byte per entry, for the loops over runs: */
#define QP_COPY		0	/* copied as is */
#define QP_ESC		1	/* written =XX */
#define QP_BREAK	2	/* CR or LF */
#define QP_C(x)	((x) == '\n' || (x) == '\r' ? QP_BREAK : \
		    QP_LIT(x) ? QP_COPY : QP_ESC)
#define QP_C4(x)	QP_C(x), QP_C((x) + 1), QP_C((x) + 2), QP_C((x) + 3)
#define QP_C16(x)	QP_C4(x), QP_C4((x) + 4), QP_C4((x) + 8), QP_C4((x) + 12)
#define QP_C64(x)	QP_C16(x), QP_C16((x) + 16), QP_C16((x) + 32), \
			QP_C16((x) + 48)
static const unsigned char qp_cls[256] = {
	QP_C64(0), QP_C64(64), QP_C64(128), QP_C64(192)
};

/* Encoded output lines hold at most 75 characters plus a soft-break "=". */
#define QP_WIDTH	75

/* A space or tab that ends a line is written as =20 or =09. */
static char *
qp_unspace(char *p, size_t *col)
{
	unsigned char	c;

	if (*col == 0 || (p[-1] != ' ' && p[-1] != '\t'))
		return p;
	c = (unsigned char)*--p;
	--*col;
	if (*col + 3 > QP_WIDTH) {
		memcpy(p, "=\r\n", 3);
		p += 3;
		*col = 0;
	}
	p[0] = '=';
	p[1] = hexdig[c >> 4];
	p[2] = hexdig[c & 15];
	*col += 3;
	return p + 3;
}

void
mime_qp_encode(struct buf *b, const char *src, size_t n)
{
	const unsigned char	*s = (const unsigned char *)src;
	const struct qp_ent	*e;
	char			*p;
	size_t			 i, col = 0;
	unsigned int		 c;

	/* Worst case: every byte as =XX, plus a soft break every 25. */
	buf_reserve(b, n * 3 + (n / 25 + 1) * 3 + 8);
	p = b->data + b->len;
	for (i = 0; i < n; i++) {
		c = s[i];
		e = &qp_tab[c];
		/* The common case: inside a line, with room for it. */
		if (!e->slow && col - 1 < (size_t)QP_WIDTH - e->len) {
			size_t	j = i + 1, end;

			if (e->len == 1) {
				/* A run of literal bytes: copy it whole. */
				end = i + (QP_WIDTH - col);
				if (end > n)
					end = n;
				while (j < end && qp_cls[s[j]] == QP_COPY)
					j++;
				memcpy(p, s + i, j - i);
				p += j - i;
				col += j - i;
				i = j - 1;
				continue;
			}
			/* A run of escaped bytes (UTF-8 text): as many as fit. */
			end = i + (QP_WIDTH - col) / 3;
			if (end > n)
				end = n;
			memcpy(p, e->s, 4);
			p += 3;
			while (j < end && qp_cls[s[j]] == QP_ESC) {
				memcpy(p, qp_tab[s[j]].s, 4);
				p += 3;
				j++;
			}
			col += 3 * (j - i);
			i = j - 1;
			continue;
		}
		if (c == '\n' || (c == '\r' && i + 1 < n && s[i + 1] == '\n')) {
			if (c == '\r')
				i++;
			p = qp_unspace(p, &col);
			*p++ = '\r';
			*p++ = '\n';
			col = 0;
			continue;
		}
		if (col + e->len > QP_WIDTH) {
			memcpy(p, "=\r\n", 3);
			p += 3;
			col = 0;
		}
		/* Guard against relays that mangle "." and "From " lines. */
		if (col == 0 && (c == '.' || (c == 'F' && n - i >= 5 &&
		    memcmp(s + i, "From ", 5) == 0))) {
			p[0] = '=';
			p[1] = hexdig[c >> 4];
			p[2] = hexdig[c & 15];
			p += 3;
			col = 3;
			continue;
		}
		memcpy(p, e->s, 4);
		p += e->len;
		col += e->len;
	}
	p = qp_unspace(p, &col);
	b->len = (size_t)(p - b->data);
	b->data[b->len] = '\0';
}

/* Base64 of n bytes, no line breaks, written at p; returns the end. */
static char *
b64_raw(char *p, const unsigned char *s, size_t n)
{
	size_t	i;

	for (i = 0; i + 3 <= n; i += 3) {
		p[0] = b64[s[i] >> 2];
		p[1] = b64[((s[i] & 3) << 4) | (s[i + 1] >> 4)];
		p[2] = b64[((s[i + 1] & 15) << 2) | (s[i + 2] >> 6)];
		p[3] = b64[s[i + 2] & 63];
		p += 4;
	}
	if (n - i == 1) {
		p[0] = b64[s[i] >> 2];
		p[1] = b64[(s[i] & 3) << 4];
		p[2] = p[3] = '=';
		p += 4;
	} else if (n - i == 2) {
		p[0] = b64[s[i] >> 2];
		p[1] = b64[((s[i] & 3) << 4) | (s[i + 1] >> 4)];
		p[2] = b64[(s[i + 1] & 15) << 2];
		p[3] = '=';
		p += 4;
	}
	return p;
}

void
mime_base64_encode(struct buf *b, const void *data, size_t n)
{
	const unsigned char	*s = data;
	char			*p;
	size_t			 i, chunk;

	buf_reserve(b, (n + 2) / 3 * 4 + (n / 57 + 1) * 2);
	p = b->data + b->len;
	for (i = 0; i < n; i += chunk) {
		chunk = n - i < 57 ? n - i : 57;
		p = b64_raw(p, s + i, chunk);
		*p++ = '\r';
		*p++ = '\n';
	}
	b->len = (size_t)(p - b->data);
	b->data[b->len] = '\0';
}

int
mime_check_text(const char *s, const char **why)
{
	const uint8_t	*u = (const uint8_t *)s;
	size_t		 n = strlen(s), i;
	ucs4_t		 uc;
	int		 k;

	if (u8_check(u, n) != NULL) {
		*why = "not valid UTF-8";
		return -1;
	}
	for (i = 0; i < n; i += (size_t)k) {
		k = u8_mbtouc(&uc, u + i, n - i);
		if (uc < 0x20 || (uc >= 0x7f && uc < 0xa0)) {
			*why = "contains a control character";
			return -1;
		}
		if (uc == 0x2028 || uc == 0x2029) {
			*why = "contains a line or paragraph separator";
			return -1;
		}
	}
	return 0;
}

int
mime_check_addr(const char *s, const char **why)
{
	const char	*at = NULL, *p;

	if (*s == '\0') {
		*why = "empty address";
		return -1;
	}
	if (strlen(s) > 254) {
		*why = "address longer than 254 characters";
		return -1;
	}
	for (p = s; *p != '\0'; p++) {
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 127 ||
		    strchr("<>()[]\\,;:\"", *p) != NULL) {
			*why = "address contains a character not allowed here";
			return -1;
		}
		if (*p == '@')
			at = p;
	}
	if (at == NULL || at == s || at[1] == '\0') {
		*why = "address is not of the form local@domain";
		return -1;
	}
	return 0;
}

/*
 * A header line being written: col counts the characters on the current
 * line; fresh is set while the line holds no word yet (just after the field
 * name or a fold), where folding would leave an empty line.
 */
struct hdr {
	struct buf	*b;
	size_t		 col;
	int		 fresh;
};

static void
hdr_begin(struct hdr *h, struct buf *b, const char *field)
{
	h->b = b;
	buf_adds(b, field);
	buf_addc(b, ':');
	h->col = strlen(field) + 1;
	h->fresh = 1;
}

static void
hdr_end(struct hdr *h)
{
	buf_add(h->b, "\r\n", 2);
}

/* Fold before the white space that is about to be written. */
static void
hdr_fold(struct hdr *h)
{
	buf_add(h->b, "\r\n", 2);
	h->col = 0;
	h->fresh = 1;
}

/*
 * Write white space (at least one space when wslen is 0 and sep is set)
 * then a word, folding first when the word would pass the fold column.
 */
static void
hdr_word(struct hdr *h, const char *ws, size_t wslen, const char *w,
    size_t wlen, size_t width)
{
	if (wslen == 0) {
		ws = " ";
		wslen = 1;
	}
	if (!h->fresh && h->col + wslen + wlen > width)
		hdr_fold(h);
	buf_add(h->b, ws, wslen);
	buf_add(h->b, w, wlen);
	h->col += wslen + wlen;
	h->fresh = 0;
}

/* Write text glued to what precedes it (no folding point). */
static void
hdr_glue(struct hdr *h, const char *w, size_t wlen)
{
	buf_add(h->b, w, wlen);
	h->col += wlen;
	h->fresh = 0;
}

/* Possible cut points of s: 1 before a grapheme cluster, never after COENG. */
static char *
ew_breaks(const char *s, size_t n)
{
	char	*p;
	size_t	 i;

	p = xmalloc(n + 1);
	u8_grapheme_breaks((const uint8_t *)s, n, p);
	p[0] = 1;
	p[n] = 1;
	for (i = 3; i < n; i++) {
		if (!p[i])
			continue;
		/* U+17D2 KHMER SIGN COENG, U+1039 MYANMAR SIGN VIRAMA */
		if ((unsigned char)s[i - 3] == 0xe1 &&
		    (((unsigned char)s[i - 2] == 0x9f &&
		    (unsigned char)s[i - 1] == 0x92) ||
		    ((unsigned char)s[i - 2] == 0x80 &&
		    (unsigned char)s[i - 1] == 0xb9)))
			p[i] = 0;
	}
	return p;
}

#define EW_LEN(n)	(EW_OVERHEAD + ((n) + 2) / 3 * 4)

/*
 * Write s[0..n) as a run of encoded words.  The first is preceded by the
 * white space ws (which stays literal), the others by a single space that
 * decoders drop between adjacent encoded words.
 */
static void
hdr_encoded(struct hdr *h, const char *ws, size_t wslen, const char *s,
    size_t n)
{
	char	*brk, word[EW_MAX + 1], *q;
	size_t	 pos = 0, end, best, sep, room, i;

	brk = ew_breaks(s, n);
	while (pos < n) {
		sep = wslen == 0 ? 1 : wslen;
		if (!h->fresh && (h->col + sep >= EW_LINE ||
		    EW_LINE - h->col - sep < EW_LEN(12)))
			hdr_fold(h);
		room = EW_LINE - h->col - sep;
		if (room > EW_MAX)
			room = EW_MAX;
		/* Longest prefix ending at a cluster break that fits. */
		best = pos;
		for (end = pos + 1; end <= n && EW_LEN(end - pos) <= room;
		    end++)
			if (brk[end])
				best = end;
		if (best == pos && !h->fresh) {
			/* The next cluster fits on a line of its own. */
			hdr_fold(h);
			continue;
		}
		if (best == pos) {
			/* One cluster too long for a word: cut at characters. */
			for (end = pos + 1; end <= n &&
			    EW_LEN(end - pos) <= room; end++)
				if (end == n || ((unsigned char)s[end] & 0xc0)
				    != 0x80)
					best = end;
			if (best == pos)	/* cannot happen: room >= 16 */
				best = pos + 1;
		}
		q = word;
		memcpy(q, EW_PREFIX, sizeof(EW_PREFIX) - 1);
		q += sizeof(EW_PREFIX) - 1;
		q = b64_raw(q, (const unsigned char *)s + pos, best - pos);
		*q++ = '?';
		*q++ = '=';
		i = (size_t)(q - word);
		hdr_word(h, ws, wslen, word, i, EW_LINE);
		ws = " ";
		wslen = 1;
		pos = best;
	}
	free(brk);
}

/* A word that must be encoded: 8-bit, or looks like an encoded word. */
static int
word_needs_encoding(const char *w, size_t n)
{
	size_t	i;

	if (n > LONG_WORD)
		return 1;
	for (i = 0; i < n; i++) {
		if ((unsigned char)w[i] >= 0x80 || (unsigned char)w[i] < 0x20)
			return 1;
		if (w[i] == '=' && i + 1 < n && w[i + 1] == '?')
			return 1;
	}
	return 0;
}

static int	is_atext(unsigned char);

/* In a phrase, a word of other than atext must be encoded as well. */
static int
word_needs_encoding_phrase(const char *w, size_t n)
{
	size_t	i;

	if (word_needs_encoding(w, n))
		return 1;
	for (i = 0; i < n; i++)
		if (!is_atext((unsigned char)w[i]))
			return 1;
	return 0;
}

/*
 * Text as words: plain where legal, runs of words that need it encoded.
 * In a phrase (a display name) only atext words may stay plain; keeping
 * them plain also keeps encoded words apart, which matters because some
 * readers (Python 3.11's email) wrongly keep the space between adjacent
 * encoded words of a phrase.
 */
static void
hdr_text(struct hdr *h, const char *s, int phrase)
{
	const char	*ws, *w, *run, *runend, *runws, *start = s;
	size_t		 wslen, wlen, runwslen;
	int		 edge;

	run = runend = runws = NULL;
	runwslen = 0;
	if (*s != '\0' && s[strspn(s, " ")] == '\0') {
		/* Only spaces: keep them, inside an encoded word. */
		hdr_encoded(h, NULL, 0, s, strlen(s));
		return;
	}
	for (;;) {
		ws = s;
		while (*s == ' ')
			s++;
		wslen = (size_t)(s - ws);
		if (*s == '\0')
			break;
		w = s;
		while (*s != ' ' && *s != '\0')
			s++;
		wlen = (size_t)(s - w);
		edge = 0;
		/* Leading or trailing spaces survive only inside a word. */
		if (ws == start && wslen > 0) {
			w = ws;
			wlen += wslen;
			wslen = 0;
			edge = 1;
		}
		/* A long stretch of spaces cannot be folded: encode it. */
		if (wslen > 64) {
			w = ws + 1;
			wlen += wslen - 1;
			wslen = 1;
			edge = 1;
		}
		if (s[strspn(s, " ")] == '\0' && *s == ' ') {
			s += strlen(s);
			wlen = (size_t)(s - w);
			edge = 1;
		}
		if (edge || (phrase ? word_needs_encoding_phrase(w, wlen) :
		    word_needs_encoding(w, wlen))) {
			if (run == NULL) {
				run = w;
				runws = ws;
				runwslen = wslen;
			}
			runend = s;
			continue;
		}
		if (run != NULL) {
			hdr_encoded(h, runws, runwslen, run,
			    (size_t)(runend - run));
			run = NULL;
		}
		hdr_word(h, ws, wslen, w, wlen, MIME_FOLD_COLUMN);
	}
	if (run != NULL)
		hdr_encoded(h, runws, runwslen, run, (size_t)(runend - run));
}

void
mime_header_unstructured(struct buf *b, const char *field, const char *utf8)
{
	struct hdr	h;

	hdr_begin(&h, b, field);
	hdr_text(&h, utf8, 0);
	if (h.fresh)
		hdr_glue(&h, " ", 1);
	hdr_end(&h);
}

/* RFC 5322 atext. */
static int
is_atext(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* A display name as atoms, a quoted-string or encoded words. */
static void
hdr_phrase(struct hdr *h, const char *s)
{
	struct buf	 q = BUF_INIT;
	const char	*p, *w;
	int		 atoms = 1, ascii = 1;

	for (p = s; *p != '\0'; p++) {
		if ((unsigned char)*p >= 0x80)
			ascii = 0;
		else if (*p != ' ' && !is_atext((unsigned char)*p))
			atoms = 0;
	}
	if (!ascii || strstr(s, "=?") != NULL || strlen(s) > LONG_WORD) {
		while (*s == ' ')
			s++;
		hdr_text(h, s, 1);
		return;
	}
	if (atoms) {
		for (p = s; *p != '\0';) {
			while (*p == ' ')
				p++;
			if (*p == '\0')
				break;
			w = p;
			while (*p != ' ' && *p != '\0')
				p++;
			hdr_word(h, NULL, 0, w, (size_t)(p - w),
			    MIME_FOLD_COLUMN);
		}
		return;
	}
	buf_addc(&q, '"');
	for (p = s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			buf_addc(&q, '\\');
		buf_addc(&q, *p);
	}
	buf_addc(&q, '"');
	hdr_word(h, NULL, 0, q.data, q.len, MIME_FOLD_COLUMN);
	buf_free(&q);
}

static void
hdr_mailbox(struct hdr *h, const char *name, const char *addr)
{
	char	*a;

	if (name == NULL || name[strspn(name, " ")] == '\0') {
		hdr_word(h, NULL, 0, addr, strlen(addr), MIME_FOLD_COLUMN);
		return;
	}
	hdr_phrase(h, name);
	xasprintf(&a, "<%s>", addr);
	hdr_word(h, NULL, 0, a, strlen(a), MIME_FOLD_COLUMN);
	free(a);
}

void
mime_header_mailbox(struct buf *b, const char *field, const char *name,
    const char *addr)
{
	struct hdr	h;

	hdr_begin(&h, b, field);
	hdr_mailbox(&h, name, addr);
	hdr_end(&h);
}

void
mime_phrase(struct buf *b, const char *utf8)
{
	struct hdr	h;
	size_t		 start = b->len;

	h.b = b;
	h.col = 0;
	h.fresh = 1;
	hdr_phrase(&h, utf8);
	/* hdr_word() put a space before the first word: drop it. */
	if (b->len > start && b->data[start] == ' ') {
		memmove(b->data + start, b->data + start + 1,
		    b->len - start - 1);
		b->len--;
		b->data[b->len] = '\0';
	}
}

void
mime_date(char *out, size_t outlen, time_t t, int zone_minutes)
{
	static const char *const days[] = {
		"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"
	};
	static const char *const months[] = {
		"Jan", "Feb", "Mar", "Apr", "May", "Jun",
		"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
	};
	struct tm	tm;
	time_t		local = t + (time_t)zone_minutes * 60;
	int		z = zone_minutes < 0 ? -zone_minutes : zone_minutes;

	gmtime_r(&local, &tm);
	snprintf(out, outlen, "%s, %d %s %04d %02d:%02d:%02d %c%02d%02d",
	    days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec,
	    zone_minutes < 0 ? '-' : '+', z / 60, z % 60);
}

char *
mime_message_id(int64_t issue, int64_t subscriber, const char *domain,
    const unsigned char *key, size_t keylen)
{
	unsigned char	 md[EVP_MAX_MD_SIZE] = { 0 };
	unsigned int	 mdlen = 0;
	char		*in, hex[17];
	int		 i;

	xasprintf(&in, "herald-message-id:%lld:%lld:%s", (long long)issue,
	    (long long)subscriber, domain);
	if (key == NULL || token_hmac(key, keylen, in, strlen(in), md) != 0)
		EVP_Digest(in, strlen(in), md, &mdlen, EVP_sha256(), NULL);
	free(in);
	for (i = 0; i < 8; i++) {
		hex[2 * i] = "0123456789abcdef"[md[i] >> 4];
		hex[2 * i + 1] = "0123456789abcdef"[md[i] & 15];
	}
	hex[16] = '\0';
	return xsprintf("<herald.%lld.%lld.%s@%s>", (long long)issue,
	    (long long)subscriber, hex, domain);
}

struct mime_part {
	struct buf	bytes;
};

/* Whether a byte may stand for itself in an RFC 2231 extended value. */
static int
rfc2231_plain(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' && strchr("!#$&+-.^_`|~", c));
}

/*
 * The parameter name*=UTF-8''%XX... (RFC 2231), split into continuations
 * name*0*=, name*1*= ... of at most 60 characters, cut only between
 * characters, so that every header line stays under 78 columns.
 */
static void
rfc2231_param(struct buf *b, const char *name, const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	struct buf		 seg = BUF_INIT;
	size_t			 i, cplen, n = 0, k;
	char			 one[4];

	buf_adds(&seg, "UTF-8''");
	for (i = 0; p[i] != '\0'; i += cplen) {
		/* One character: a lead byte and its continuation bytes. */
		for (cplen = 1; p[i + cplen] != '\0' &&
		    (p[i + cplen] & 0xc0) == 0x80; cplen++)
			;
		if (seg.len + cplen * 3 > 60) {
			buf_printf(b, ";\r\n %s*%zu*=%s", name, n++, seg.data);
			buf_reset(&seg);
		}
		for (k = 0; k < cplen; k++) {
			if (rfc2231_plain(p[i + k]))
				buf_addc(&seg, (char)p[i + k]);
			else {
				one[0] = '%';
				one[1] = hexdig[p[i + k] >> 4];
				one[2] = hexdig[p[i + k] & 15];
				buf_add(&seg, one, 3);
			}
		}
	}
	if (n == 0)
		buf_printf(b, ";\r\n %s*=%s", name, seg.data);
	else
		buf_printf(b, ";\r\n %s*%zu*=%s", name, n, seg.data);
	buf_free(&seg);
}

/* An ASCII stand-in for a file name: "_" for anything unsafe in quotes. */
static void
ascii_filename(struct buf *b, const char *s)
{
	const unsigned char	*p;
	int			 last = 0;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p >= 0x80) {
			/* One "_" per character, not per byte. */
			if ((*p & 0xc0) != 0x80 && last != '_')
				buf_addc(b, '_');
			last = '_';
			continue;
		}
		last = *p;
		buf_addc(b, *p == '"' || *p == '\\' ? '_' : (char)*p);
	}
}

static int
is_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return 0;
	return 1;
}

/* type/subtype with token characters only. */
static int
check_content_type(const char *s)
{
	const char	*p;
	int		 slash = 0;

	if (*s == '\0' || *s == '/')
		return -1;
	for (p = s; *p != '\0'; p++) {
		if (*p == '/') {
			if (slash++ || p[1] == '\0')
				return -1;
			continue;
		}
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 127 ||
		    strchr("()<>@,;:\\\"[]?=", *p) != NULL)
			return -1;
	}
	return slash ? 0 : -1;
}

struct mime_part *
mime_part_new(const char *content_type, enum mime_disposition disp,
    const char *filename, const char *content_id, const void *data,
    size_t len, char **cause)
{
	struct mime_part	*part = NULL;
	struct buf		*b, fb = BUF_INIT;
	const char		*why;

	if (check_content_type(content_type) != 0) {
		xasprintf(cause, "bad content type \"%s\"", content_type);
		goto fail;
	}
	if (filename != NULL && (mime_check_text(filename, &why) != 0 ||
	    *filename == '\0' || strlen(filename) > 255)) {
		xasprintf(cause, "bad file name \"%s\": %s", filename,
		    *filename == '\0' ? "empty" : strlen(filename) > 255 ?
		    "longer than 255 bytes" : why);
		goto fail;
	}
	if (disp == MIME_INLINE && (content_id == NULL ||
	    mime_check_addr(content_id, &why) != 0)) {
		xasprintf(cause, "inline part needs a Content-ID of the form "
		    "local@domain, not \"%s\"", content_id ? content_id : "");
		goto fail;
	}
	part = xcalloc(1, sizeof(*part));
	b = &part->bytes;
	buf_reserve(b, (len + 2) / 3 * 4 + len / 57 * 2 + 512);
	if (filename != NULL)
		ascii_filename(&fb, filename);
	buf_printf(b, "Content-Type: %s", content_type);
	if (filename != NULL)
		buf_printf(b, ";\r\n name=\"%s\"", fb.data);
	buf_adds(b, "\r\nContent-Transfer-Encoding: base64\r\n");
	if (content_id != NULL)
		buf_printf(b, "Content-ID: <%s>\r\n", content_id);
	buf_adds(b, disp == MIME_INLINE ? "Content-Disposition: inline" :
	    "Content-Disposition: attachment");
	if (filename != NULL) {
		/*
		 * A non-ASCII name goes in filename* alone: a second plain
		 * filename= is a duplicate parameter to strict parsers, so
		 * the ASCII fallback lives in Content-Type's name= above.
		 */
		if (is_ascii(filename))
			buf_printf(b, ";\r\n filename=\"%s\"", fb.data);
		else
			rfc2231_param(b, "filename", filename);
	}
	buf_adds(b, "\r\n\r\n");
	mime_base64_encode(b, data, len);
	buf_free(&fb);
	return part;
fail:
	buf_free(&fb);
	return NULL;
}

void
mime_part_free(struct mime_part *part)
{
	if (part == NULL)
		return;
	buf_free(&part->bytes);
	free(part);
}

const char *
mime_part_bytes(const struct mime_part *part, size_t *len)
{
	*len = part->bytes.len;
	return part->bytes.data;
}

/* Check one header value; on error set *cause naming the field. */
static int
check_field(const char *field, const char *v, int addr, char **cause)
{
	const char	*why;

	if (v == NULL)
		return 0;
	if (addr ? mime_check_addr(v, &why) : mime_check_text(v, &why)) {
		xasprintf(cause, "%s: %s", field, why);
		return -1;
	}
	return 0;
}

/* A header field name: printable ASCII without ":" (RFC 5322 ftext). */
static int
check_field_name(const char *s)
{
	if (*s == '\0' || strlen(s) > 40)
		return -1;
	for (; *s != '\0'; s++)
		if (*s <= ' ' || *s >= 127 || *s == ':')
			return -1;
	return 0;
}

static int
check_url(const char *field, const char *url, const char *scheme,
    char **cause)
{
	const char	*p;

	/* Plain http only to this machine, as in tests (RFC 8058 wants TLS). */
	if (strcmp(scheme, "https://") == 0 &&
	    (strncmp(url, "http://127.", 11) == 0 ||
	    strncmp(url, "http://localhost:", 17) == 0 ||
	    strncmp(url, "http://localhost/", 17) == 0 ||
	    strncmp(url, "http://[::1]", 12) == 0))
		scheme = "http://";
	if (strncmp(url, scheme, strlen(scheme)) != 0) {
		xasprintf(cause, "%s: \"%s\" does not start with %s", field,
		    url, scheme);
		return -1;
	}
	if (strlen(url) > LONG_WORD) {
		xasprintf(cause, "%s: URL longer than %d characters", field,
		    LONG_WORD);
		return -1;
	}
	for (p = url; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 127 ||
		    *p == '<' || *p == '>') {
			xasprintf(cause, "%s: URL contains a character that "
			    "must be percent-encoded", field);
			return -1;
		}
	return 0;
}

static int
mime_validate(const struct mime_message *m, char **cause)
{
	static const char *const singletons[] = {
		"From", "To", "Cc", "Bcc", "Sender", "Reply-To", "Subject",
		"Date", "Message-ID", "MIME-Version", "List-Id",
		"List-Unsubscribe", "List-Unsubscribe-Post", "Content-Type",
		"Content-Transfer-Encoding", "Content-Disposition",
		"Content-ID", "In-Reply-To", "References", "Return-Path"
	};
	const char	*why;
	char		*inner;
	size_t		 i, j, len;

	if (m->from_addr == NULL || m->to_addr == NULL ||
	    m->subject == NULL || m->message_id == NULL ||
	    (!m->transactional && (m->list_id == NULL ||
	    m->unsub_url == NULL)) || m->text == NULL) {
		xasprintf(cause, "message lacks one of From, To, Subject, "
		    "Message-ID, List-Id, List-Unsubscribe or a text body");
		return -1;
	}
	if (check_field("From", m->from_name, 0, cause) ||
	    check_field("From", m->from_addr, 1, cause) ||
	    check_field("To", m->to_name, 0, cause) ||
	    check_field("To", m->to_addr, 1, cause) ||
	    check_field("Reply-To", m->reply_to_name, 0, cause) ||
	    check_field("Reply-To", m->reply_to_addr, 1, cause) ||
	    check_field("Subject", m->subject, 0, cause) ||
	    check_field("List-Id", m->list_title, 0, cause))
		return -1;
	len = strlen(m->message_id);
	inner = len > 2 ? xstrndup(m->message_id + 1, len - 2) : NULL;
	if (inner == NULL || m->message_id[0] != '<' ||
	    m->message_id[len - 1] != '>' ||
	    mime_check_addr(inner, &why) != 0) {
		free(inner);
		xasprintf(cause, "Message-ID: \"%s\" is not <id@domain>",
		    m->message_id);
		return -1;
	}
	free(inner);
	if (m->transactional)
		goto extra;
	for (i = 0; m->list_id[i] != '\0'; i++)
		if (!is_atext((unsigned char)m->list_id[i]) &&
		    m->list_id[i] != '.')
			break;
	if (m->list_id[i] != '\0' || i == 0 || i > 255 ||
	    strchr(m->list_id, '.') == NULL) {
		xasprintf(cause, "List-Id: \"%s\" is not of the form "
		    "name.domain", m->list_id);
		return -1;
	}
	if (check_url("List-Unsubscribe", m->unsub_url, "https://", cause) ||
	    (m->unsub_mailto != NULL && check_url("List-Unsubscribe",
	    m->unsub_mailto, "mailto:", cause)))
		return -1;
extra:
	for (i = 0; i < m->nextra; i++) {
		if (check_field_name(m->extra[i].name) != 0) {
			xasprintf(cause, "extra header: bad field name \"%s\"",
			    m->extra[i].name);
			return -1;
		}
		for (j = 0; j < sizeof(singletons) / sizeof(*singletons); j++)
			if (strcasecmp(m->extra[i].name, singletons[j]) == 0) {
				xasprintf(cause, "extra header: %s is set by "
				    "herald itself", m->extra[i].name);
				return -1;
			}
		if (check_field(m->extra[i].name, m->extra[i].value, 0,
		    cause) != 0)
			return -1;
	}
	if (m->ninlines > 0 && m->html == NULL) {
		xasprintf(cause, "inline images need an HTML body");
		return -1;
	}
	return 0;
}

/* 64-bit FNV-1a, to make boundaries that differ between messages. */
static uint64_t
fnv1a(const char *s)
{
	uint64_t	h = 0xcbf29ce484222325ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static void
add_text_part(struct buf *out, const char *subtype, const char *s,
    size_t n, int qp)
{
	buf_printf(out, "Content-Type: text/%s; charset=UTF-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n", subtype);
	if (qp)
		buf_add(out, s, n);
	else
		mime_qp_encode(out, s, n);
}

/*
 * The CRLF before a delimiter belongs to it (RFC 2046 5.1.1): a body that
 * ended with a line break keeps it, one that did not gains none.
 */
static void
add_boundary(struct buf *out, const char *bnd, int close)
{
	buf_printf(out, "\r\n--%s%s\r\n", bnd, close ? "--" : "");
}

int
mime_build(const struct mime_message *m, struct buf *out, char **cause)
{
	struct hdr	 h;
	char		 date[MIME_DATE_LEN], bnd[3][40];
	const char	*p;
	char		*t;
	size_t		 i, len;
	uint64_t	 seed;
	int		 lvl;

	*cause = NULL;
	if (mime_validate(m, cause) != 0)
		return -1;

	mime_header_mailbox(out, "From", m->from_name, m->from_addr);
	mime_header_mailbox(out, "To", m->to_name, m->to_addr);
	if (m->reply_to_addr != NULL)
		mime_header_mailbox(out, "Reply-To", m->reply_to_name,
		    m->reply_to_addr);
	mime_header_unstructured(out, "Subject", m->subject);
	mime_date(date, sizeof(date), m->date, m->zone_minutes);
	buf_printf(out, "Date: %s\r\nMessage-ID: %s\r\n", date,
	    m->message_id);

	if (m->transactional)
		goto extra;
	hdr_begin(&h, out, "List-Id");
	if (m->list_title != NULL && m->list_title[0] != '\0')
		hdr_phrase(&h, m->list_title);
	xasprintf(&t, "<%s>", m->list_id);
	hdr_word(&h, NULL, 0, t, strlen(t), MIME_FOLD_COLUMN);
	free(t);
	hdr_end(&h);

	hdr_begin(&h, out, "List-Unsubscribe");
	xasprintf(&t, "<%s>%s", m->unsub_url,
	    m->unsub_mailto != NULL ? "," : "");
	hdr_word(&h, NULL, 0, t, strlen(t), MIME_FOLD_COLUMN);
	free(t);
	if (m->unsub_mailto != NULL) {
		xasprintf(&t, "<%s>", m->unsub_mailto);
		hdr_word(&h, NULL, 0, t, strlen(t), MIME_FOLD_COLUMN);
		free(t);
	}
	hdr_end(&h);
	buf_adds(out, "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n");
extra:
	for (i = 0; i < m->nextra; i++)
		mime_header_unstructured(out, m->extra[i].name,
		    m->extra[i].value);
	buf_adds(out, "MIME-Version: 1.0\r\n");

	/* "=_" cannot occur in quoted-printable or base64 output. */
	seed = fnv1a(m->message_id);
	for (lvl = 0; lvl < 3; lvl++)
		snprintf(bnd[lvl], sizeof(bnd[lvl]), "=_herald_%d_%016llx",
		    lvl, (unsigned long long)seed);

	lvl = 0;
	if (m->nattachments > 0) {
		buf_printf(out, "Content-Type: multipart/mixed;\r\n"
		    " boundary=\"%s\"\r\n\r\n"
		    "This is a multi-part message in MIME format.\r\n",
		    bnd[lvl]);
		add_boundary(out, bnd[lvl], 0);
		lvl++;
	}
	if (m->ninlines > 0) {
		buf_printf(out, "Content-Type: multipart/related;\r\n"
		    " type=\"multipart/alternative\";\r\n"
		    " boundary=\"%s\"\r\n\r\n", bnd[lvl]);
		add_boundary(out, bnd[lvl], 0);
		lvl++;
	}
	if (m->html != NULL) {
		buf_printf(out, "Content-Type: multipart/alternative;\r\n"
		    " boundary=\"%s\"\r\n\r\n", bnd[lvl]);
		add_boundary(out, bnd[lvl], 0);
		add_text_part(out, "plain", m->text, m->text_len, m->bodies_qp);
		add_boundary(out, bnd[lvl], 0);
		add_text_part(out, "html", m->html, m->html_len, m->bodies_qp);
		add_boundary(out, bnd[lvl], 1);
	} else {
		add_text_part(out, "plain", m->text, m->text_len, m->bodies_qp);
		/* A message ends with a line break: the text gains one. */
		if (out->len < 2 || memcmp(out->data + out->len - 2, "\r\n",
		    2) != 0)
			buf_add(out, "\r\n", 2);
	}
	if (m->ninlines > 0) {
		lvl--;
		for (i = 0; i < m->ninlines; i++) {
			add_boundary(out, bnd[lvl], 0);
			p = mime_part_bytes(m->inlines[i], &len);
			buf_add(out, p, len);
		}
		add_boundary(out, bnd[lvl], 1);
	}
	if (m->nattachments > 0) {
		lvl--;
		for (i = 0; i < m->nattachments; i++) {
			add_boundary(out, bnd[lvl], 0);
			p = mime_part_bytes(m->attachments[i], &len);
			buf_add(out, p, len);
		}
		add_boundary(out, bnd[lvl], 1);
	}
	return 0;
}
