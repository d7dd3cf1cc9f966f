/* Unit tests for mime.c, byte for byte: QP, base64, RFC 2047, folding. */
#include "autoconf.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <unigbrk.h>
#include <unistr.h>

#include "buf.h"
#include "mime.h"

static const char *const khmer = "សួស្តី ពិភពលោក";

/* ---- helpers: independent decoders for what we encode ---- */

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode quoted-printable; CRLF line ends become LF. */
static void
qp_decode(struct buf *out, const char *s, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (s[i] == '=' && i + 2 < n && s[i + 1] == '\r' &&
		    s[i + 2] == '\n') {
			i += 2;
			continue;
		}
		if (s[i] == '=') {
			assert_true(i + 2 < n || i + 2 == n);
			assert_true(hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0);
			buf_addc(out, (char)(hexval(s[i + 1]) * 16 +
			    hexval(s[i + 2])));
			i += 2;
			continue;
		}
		if (s[i] == '\r') {
			assert_true(s[i + 1] == '\n');
			continue;
		}
		buf_addc(out, s[i]);
	}
}

static int
b64val(int c)
{
	const char	*a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789+/";
	const char	*p = strchr(a, c);

	return c != '\0' && p != NULL ? (int)(p - a) : -1;
}

static void
b64_decode(struct buf *out, const char *s, size_t n)
{
	unsigned int	v = 0;
	int		bits = 0, k;
	size_t		i;

	for (i = 0; i < n; i++) {
		if (s[i] == '=')
			break;
		k = b64val((unsigned char)s[i]);
		assert_true(k >= 0);
		v = v << 6 | (unsigned int)k;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf_addc(out, (char)(v >> bits));
			v &= (1u << bits) - 1;
		}
	}
}

/* Assert CRLF only, every line within max; returns the number of lines. */
static int
check_lines(const char *s, size_t n, size_t max)
{
	size_t	i, col = 0;
	int	lines = 0;

	for (i = 0; i < n; i++) {
		if (s[i] == '\r') {
			assert_true(i + 1 < n && s[i + 1] == '\n');
			assert_true(col <= max);
			col = 0;
			lines++;
			i++;
			continue;
		}
		assert_true(s[i] != '\n');
		col++;
	}
	assert_true(col <= max);
	return lines;
}

/*
 * Decode an unstructured header body as RFC 2047 says: unfold, decode
 * B words, drop white space between adjacent encoded words.  Every word
 * must be at most 75 characters and hold whole characters, and a cut
 * between two words must fall on a grapheme cluster break that does not
 * follow a COENG.
 */
static void
rfc2047_decode(struct buf *out, const char *body)
{
	struct buf	 unf = BUF_INIT, ws = BUF_INIT, w = BUF_INIT;
	const char	*p, *e;
	int		 last_ew = 0, ew;
	size_t		 cuts[512], ncuts = 0, i;
	char		*brk;
	ucs4_t		 prev;

	for (p = body; *p != '\0'; p++)
		if (!(p[0] == '\r' && p[1] == '\n'))
			buf_addc(&unf, *p);
		else
			p++;
	p = buf_cstr(&unf);
	while (*p != '\0') {
		buf_reset(&ws);
		while (*p == ' ')
			buf_addc(&ws, *p++);
		if (*p == '\0')
			break;
		for (e = p; *e != ' ' && *e != '\0'; e++)
			;
		ew = strncmp(p, "=?UTF-8?B?", 10) == 0 && e - p >= 12 &&
		    strncmp(e - 2, "?=", 2) == 0;
		if (ew) {
			assert_true(e - p <= 75);
			buf_reset(&w);
			b64_decode(&w, p + 10, (size_t)(e - p - 12));
			assert_null(u8_check((const uint8_t *)buf_cstr(&w),
			    w.len));
			if (last_ew) {
				assert_true(ncuts < 512);
				cuts[ncuts++] = out->len;
			} else
				buf_add(out, ws.data, ws.len);
			buf_add(out, w.data, w.len);
		} else {
			buf_add(out, ws.data, ws.len);
			buf_add(out, p, (size_t)(e - p));
		}
		last_ew = ew;
		p = e;
	}
	/* Each cut between two words: a cluster break, not after COENG. */
	brk = malloc(out->len + 1);
	u8_grapheme_breaks((const uint8_t *)buf_cstr(out), out->len, brk);
	for (i = 0; i < ncuts; i++) {
		assert_true(cuts[i] > 0 && cuts[i] < out->len);
		if (!brk[cuts[i]])
			print_error("cut at %zu in \"%s\"\n", cuts[i], out->data);
		assert_true(brk[cuts[i]]);
		assert_non_null(u8_prev(&prev,
		    (const uint8_t *)out->data + cuts[i],
		    (const uint8_t *)out->data));
		assert_true(prev != 0x17d2);
	}
	free(brk);
	buf_free(&unf);
	buf_free(&ws);
	buf_free(&w);
}

/* The body of the one header in b, after "Field:" and its first space. */
static const char *
header_body(struct buf *b, const char *field)
{
	size_t	n = strlen(field);

	assert_int_equal(strncmp(b->data, field, n), 0);
	assert_int_equal(b->data[n], ':');
	assert_int_equal(b->data[n + 1], ' ');
	return b->data + n + 2;
}

/* Encode a subject, check the form, decode it back and compare. */
static void
subject_round_trip(const char *subject, size_t maxline)
{
	struct buf	 b = BUF_INIT, d = BUF_INIT;
	char		*body;

	mime_header_unstructured(&b, "Subject", subject);
	assert_true(b.len >= 2 &&
	    memcmp(b.data + b.len - 2, "\r\n", 2) == 0);
	check_lines(b.data, b.len, maxline);
	body = strndup(header_body(&b, "Subject"),
	    b.len - 2 - strlen("Subject: "));
	rfc2047_decode(&d, body);
	assert_string_equal(buf_cstr(&d), subject);
	free(body);
	buf_free(&b);
	buf_free(&d);
}

/* ---- quoted-printable ---- */

static void
qp_is(const char *in, const char *want)
{
	struct buf	b = BUF_INIT;

	mime_qp_encode(&b, in, strlen(in));
	assert_string_equal(buf_cstr(&b), want);
	buf_free(&b);
}

static void
test_qp_basic(void **state)
{
	qp_is("", "");
	qp_is("Hello, world", "Hello, world");
	qp_is("a=b", "a=3Db");
	qp_is("Café", "Caf=C3=A9");
	qp_is("one\ntwo\n", "one\r\ntwo\r\n");
	qp_is("one\r\ntwo\r\n", "one\r\ntwo\r\n");
	qp_is("trail \nx", "trail=20\r\nx");
	qp_is("trail\t\r\nx", "trail=09\r\nx");
	qp_is("end ", "end=20");
	qp_is("mid space ok", "mid space ok");
	qp_is("bare\rcr", "bare=0Dcr");
	qp_is("nul\001x\177", "nul=01x=7F");
	qp_is("a\n.\nb", "a\r\n=2E\r\nb");
	qp_is(".leading dot", "=2Eleading dot");
	qp_is("From me\nFrom\nFromage", "=46rom me\r\nFrom\r\nFromage");
	qp_is("x From y", "x From y");
}

static void
test_qp_long_lines(void **state)
{
	struct buf	 in = BUF_INIT, out = BUF_INIT, back = BUF_INIT;
	size_t		 i;
	const char	*p;

	/* Long lines of every kind of byte, with "." and "From " at 75. */
	for (i = 0; i < 3000; i++)
		buf_addc(&in, (char)(i % 7 == 0 ? ' ' : 'a' + i % 26));
	buf_adds(&in, "\n");
	for (i = 0; i < 75; i++)
		buf_addc(&in, 'x');
	buf_adds(&in, ".dot after a soft break\n");
	for (i = 0; i < 75; i++)
		buf_addc(&in, 'y');
	buf_adds(&in, "From after a soft break\n");
	for (i = 0; i < 2000; i++)
		buf_adds(&in, i % 3 ? "ក" : "= ");
	buf_adds(&in, " \n");
	mime_qp_encode(&out, in.data, in.len);
	check_lines(out.data, out.len, 76);
	/* No encoded line starts with "." or "From ". */
	for (p = out.data; p != NULL; p = strstr(p, "\r\n")) {
		if (p != out.data)
			p += 2;
		assert_true(*p != '.');
		assert_true(strncmp(p, "From ", 5) != 0);
		/* No white space before a line break. */
		if (p - out.data >= 3)
			assert_true(p[-3] != ' ' && p[-3] != '\t');
		if (*p == '\0')
			break;
	}
	qp_decode(&back, out.data, out.len);
	assert_int_equal(back.len, in.len);
	assert_memory_equal(back.data, in.data, in.len);
	buf_free(&in);
	buf_free(&out);
	buf_free(&back);
}

/* A small fixed-seed generator: the same cases on every run. */
static uint32_t
lcg(uint32_t *st)
{
	*st = *st * 1103515245u + 12345u;
	return *st >> 8;
}

static void
test_qp_random(void **state)
{
	static const char pool[] = "aF. \t\r\n=From x\xe1\x9e\x9f\xff\x00";
	struct buf	 in = BUF_INIT, want = BUF_INIT, out = BUF_INIT;
	struct buf	 back = BUF_INIT;
	uint32_t	 st = 42;
	size_t		 i, len;
	int		 round;

	for (round = 0; round < 2000; round++) {
		buf_reset(&in);
		buf_reset(&want);
		buf_reset(&out);
		buf_reset(&back);
		len = lcg(&st) % 300;
		for (i = 0; i < len; i++)
			buf_addc(&in, pool[lcg(&st) % (sizeof(pool) - 1)]);
		for (i = 0; i < in.len; i++)
			if (!(in.data[i] == '\r' && i + 1 < in.len &&
			    in.data[i + 1] == '\n'))
				buf_addc(&want, in.data[i]);
		mime_qp_encode(&out, in.data, in.len);
		check_lines(out.data, out.len, 76);
		qp_decode(&back, out.data, out.len);
		assert_int_equal(back.len, want.len);
		assert_memory_equal(back.data, want.data, want.len);
	}
	buf_free(&in);
	buf_free(&want);
	buf_free(&out);
	buf_free(&back);
}

/* ---- base64 ---- */

static void
b64_is(const char *in, const char *want)
{
	struct buf	b = BUF_INIT;

	mime_base64_encode(&b, in, strlen(in));
	assert_string_equal(buf_cstr(&b), want);
	buf_free(&b);
}

static void
test_base64_vectors(void **state)
{
	/* RFC 4648 section 10. */
	b64_is("", "");
	b64_is("f", "Zg==\r\n");
	b64_is("fo", "Zm8=\r\n");
	b64_is("foo", "Zm9v\r\n");
	b64_is("foob", "Zm9vYg==\r\n");
	b64_is("fooba", "Zm9vYmE=\r\n");
	b64_is("foobar", "Zm9vYmFy\r\n");
}

static void
test_base64_lines(void **state)
{
	struct buf	 in = BUF_INIT, out = BUF_INIT, back = BUF_INIT;
	struct buf	 one = BUF_INIT;
	size_t		 i;

	for (i = 0; i < 1000; i++)
		buf_addc(&in, (char)(i * 31));
	mime_base64_encode(&out, in.data, in.len);
	/* 57 bytes make one line of exactly 76 characters. */
	assert_int_equal(check_lines(out.data, out.len, 76),
	    (1000 + 56) / 57);
	assert_int_equal(strcspn(out.data, "\r"), 76);
	for (i = 0; i < out.len; i++)
		if (out.data[i] != '\r' && out.data[i] != '\n')
			buf_addc(&one, out.data[i]);
	b64_decode(&back, one.data, one.len);
	assert_int_equal(back.len, in.len);
	assert_memory_equal(back.data, in.data, in.len);
	buf_free(&in);
	buf_free(&out);
	buf_free(&back);
	buf_free(&one);
}

/* ---- RFC 2047 ---- */

static void
test_header_ascii_plain(void **state)
{
	struct buf	b = BUF_INIT;

	mime_header_unstructured(&b, "Subject", "Spotlight on R2P: March");
	assert_string_equal(b.data, "Subject: Spotlight on R2P: March\r\n");
	buf_reset(&b);
	/* Something that looks like an encoded word is encoded. */
	mime_header_unstructured(&b, "Subject", "a =?x?q?y?= b");
	assert_non_null(strstr(b.data, "=?UTF-8?B?"));
	buf_free(&b);
	subject_round_trip("a =?x?q?y?= b", 78);
}

static void
test_header_latin(void **state)
{
	struct buf	b = BUF_INIT;

	mime_header_unstructured(&b, "Subject", "Café");
	assert_string_equal(b.data, "Subject: =?UTF-8?B?Q2Fmw6k=?=\r\n");
	buf_reset(&b);
	mime_header_unstructured(&b, "Subject", "Le Café est ouvert");
	assert_string_equal(b.data,
	    "Subject: Le =?UTF-8?B?Q2Fmw6k=?= est ouvert\r\n");
	buf_free(&b);
	subject_round_trip("Le Café déjà ouvert", 78);
}

static void
test_header_khmer(void **state)
{
	struct buf	 b = BUF_INIT;
	size_t		 i;

	subject_round_trip(khmer, 78);
	subject_round_trip("  leading and trailing  ", 78);
	subject_round_trip("ក", 78);
	/* Many clusters with COENG: the words are cut between clusters. */
	for (i = 0; i < 12; i++)
		buf_adds(&b, "ស្ត្រីក្សត្រព្រឹត្តិការណ៍");
	subject_round_trip(b.data, 78);
	buf_reset(&b);
	for (i = 0; i < 10; i++)
		buf_adds(&b, "សួស្តី ពិភពលោក R2P ");
	subject_round_trip(b.data, 78);
	buf_free(&b);
}

static void
test_header_emoji(void **state)
{
	subject_round_trip("News 📰 🎉 👩‍👩‍👧‍👦👩‍👩‍👧‍👦👩‍👩‍👧‍👦👩‍👩‍👧‍👦👩‍👩‍👧‍👦 🇰🇭🇰🇭🇰🇭🇰🇭 end",
	    78);
}

static void
test_header_random(void **state)
{
	static const char *const pieces[] = {
		"R2P", " ", "  ", "ស្ត្រី", "ក្សត្រ", "é", "👩‍👩‍👧‍👦", "🇰🇭", "=?",
		"word", "ព្រឹត្តិការណ៍", "\"q\"", "a,b", "x"
	};
	struct buf	s = BUF_INIT;
	uint32_t	st = 7;
	int		round, k, n;

	for (round = 0; round < 300; round++) {
		buf_reset(&s);
		n = 1 + (int)(lcg(&st) % 60);
		for (k = 0; k < n; k++)
			buf_adds(&s, pieces[lcg(&st) %
			    (sizeof(pieces) / sizeof(*pieces))]);
		subject_round_trip(s.data, 78);
	}
	buf_free(&s);
}

static void
test_header_300(void **state)
{
	struct buf	b = BUF_INIT;
	size_t		i;

	/* 300 characters: Khmer, Latin and ASCII mixed. */
	for (i = 0; i < 20; i++)
		buf_adds(&b, i % 2 ? "ការពារ é " : "Protect ");
	while (u8_mbsnlen((const uint8_t *)b.data, b.len) < 300)
		buf_adds(&b, "ក");
	subject_round_trip(b.data, 78);
	buf_free(&b);
}

static void
test_header_long_word(void **state)
{
	struct buf	 s = BUF_INIT, b = BUF_INIT;
	size_t		 i;

	/* An ASCII word of 80: legal but unfoldable; stays plain. */
	buf_adds(&s, "see ");
	for (i = 0; i < 80; i++)
		buf_addc(&s, 'x');
	mime_header_unstructured(&b, "Subject", s.data);
	assert_null(strstr(b.data, "=?"));
	check_lines(b.data, b.len, 998);
	/* 2000 spaces cannot be folded either: encoded. */
	buf_reset(&b);
	buf_reset(&s);
	buf_adds(&s, "a");
	for (i = 0; i < 2000; i++)
		buf_addc(&s, ' ');
	buf_adds(&s, "b");
	mime_header_unstructured(&b, "Subject", s.data);
	check_lines(b.data, b.len, 78);
	subject_round_trip(s.data, 78);
	/* A word of 2000 would pass 998: it is encoded and folded. */
	for (i = 0; i < 2000; i++)
		buf_addc(&s, 'y');
	buf_reset(&b);
	mime_header_unstructured(&b, "Subject", s.data);
	check_lines(b.data, b.len, 78);
	subject_round_trip(s.data, 78);
	buf_free(&s);
	buf_free(&b);
}

static void
test_header_folding(void **state)
{
	struct buf	s = BUF_INIT;
	size_t		i;

	for (i = 0; i < 60; i++)
		buf_adds(&s, "word ");
	buf_adds(&s, "end");
	subject_round_trip(s.data, 78);
	buf_free(&s);
}

static void
test_mailbox(void **state)
{
	struct buf	b = BUF_INIT;

	mime_header_mailbox(&b, "To", "Dara Sok", "dara@example.org");
	assert_string_equal(b.data, "To: Dara Sok <dara@example.org>\r\n");
	buf_reset(&b);
	mime_header_mailbox(&b, "To", NULL, "dara@example.org");
	assert_string_equal(b.data, "To: dara@example.org\r\n");
	buf_reset(&b);
	mime_header_mailbox(&b, "To", "Smith, John \"JS\"", "js@example.org");
	assert_string_equal(b.data,
	    "To: \"Smith, John \\\"JS\\\"\" <js@example.org>\r\n");
	buf_reset(&b);
	mime_header_mailbox(&b, "From", "José Müller", "jm@example.org");
	assert_string_equal(b.data, "From: =?UTF-8?B?Sm9zw6kgTcO8bGxlcg==?= "
	    "<jm@example.org>\r\n");
	buf_reset(&b);
	mime_phrase(&b, "Friends of R2P");
	assert_string_equal(b.data, "Friends of R2P");
	buf_free(&b);
}

/* ---- date, Message-ID ---- */

static void
test_date(void **state)
{
	char	d[MIME_DATE_LEN];

	mime_date(d, sizeof(d), 0, 0);
	assert_string_equal(d, "Thu, 1 Jan 1970 00:00:00 +0000");
	mime_date(d, sizeof(d), 0, -330);
	assert_string_equal(d, "Wed, 31 Dec 1969 18:30:00 -0530");
	mime_date(d, sizeof(d), 1774000000, 420);
	assert_string_equal(d, "Fri, 20 Mar 2026 16:46:40 +0700");
}

static void
test_message_id(void **state)
{
	const unsigned char	*k = (const unsigned char *)"secret";
	char			*a, *b, *c, *d;

	a = mime_message_id(42, 7, "r2p.example", k, 6);
	b = mime_message_id(42, 7, "r2p.example", k, 6);
	c = mime_message_id(42, 8, "r2p.example", k, 6);
	d = mime_message_id(42, 7, "r2p.example",
	    (const unsigned char *)"other", 5);
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
	assert_string_not_equal(a, d);
	assert_int_equal(strncmp(a, "<herald.42.7.", 13), 0);
	assert_int_equal(strlen(a), strlen("<herald.42.7.@r2p.example>") + 16);
	assert_string_equal(a + strlen(a) - 13, "@r2p.example>");
	free(a);
	free(b);
	free(c);
	free(d);
}

/* ---- whole messages ---- */

static void
sample(struct mime_message *m)
{
	memset(m, 0, sizeof(*m));
	m->from_name = "Friends of R2P";
	m->from_addr = "news@r2p.example";
	m->to_name = "សុខ ស្រីនិច្ច";
	m->to_addr = "dara@example.org";
	m->subject = khmer;
	m->date = 1774000000;
	m->zone_minutes = 420;
	m->message_id = "<herald.1.2.abc@r2p.example>";
	m->list_title = "Spotlight";
	m->list_id = "spotlight.r2p.example";
	m->unsub_url = "https://r2p.example/u/TOKEN";
	m->unsub_mailto = "mailto:u@r2p.example";
	m->text = "Hello\n.\nFrom here\n";
	m->text_len = strlen(m->text);
	m->html = "<p>Hello</p>\n";
	m->html_len = strlen(m->html);
}

static void
test_build(void **state)
{
	struct mime_message	 m;
	struct mime_part	*img, *doc;
	struct buf		 out = BUF_INIT;
	char			*cause = NULL;

	img = mime_part_new("image/png", MIME_INLINE, "logo.png",
	    "logo@r2p.example", "PNGDATA", 7, &cause);
	doc = mime_part_new("application/pdf", MIME_ATTACHMENT,
	    "របាយការណ៍.pdf", NULL, "%PDF", 4, &cause);
	assert_non_null(img);
	assert_non_null(doc);
	sample(&m);
	m.inlines = &img;
	m.ninlines = 1;
	m.attachments = &doc;
	m.nattachments = 1;
	assert_int_equal(mime_build(&m, &out, &cause), 0);
	check_lines(out.data, out.len, 998);
	assert_non_null(strstr(out.data, "\r\nList-Unsubscribe: "
	    "<https://r2p.example/u/TOKEN>, <mailto:u@r2p.example>\r\n"));
	assert_non_null(strstr(out.data,
	    "\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"));
	assert_non_null(strstr(out.data,
	    "\r\nList-Id: Spotlight <spotlight.r2p.example>\r\n"));
	assert_non_null(strstr(out.data,
	    "\r\nDate: Fri, 20 Mar 2026 16:46:40 +0700\r\n"));
	assert_non_null(strstr(out.data, "Content-Type: multipart/mixed"));
	assert_non_null(strstr(out.data, "Content-Type: multipart/related"));
	assert_non_null(strstr(out.data, "--=_herald_0_"));
	assert_non_null(strstr(out.data, "--=_herald_1_"));
	assert_non_null(strstr(out.data, "--=_herald_2_"));
	assert_non_null(strstr(out.data, "\r\n=2E\r\n=46rom here\r\n"));
	assert_non_null(strstr(out.data, "Content-ID: <logo@r2p.example>"));
	assert_non_null(strstr(out.data, "filename*0*=UTF-8''%E1%9E%9A"));
	/* text/plain comes before text/html. */
	assert_true(strstr(out.data, "text/plain") <
	    strstr(out.data, "text/html"));
	assert_true(out.len > 2 &&
	    strcmp(out.data + out.len - 2, "\r\n") == 0);
	mime_part_free(img);
	mime_part_free(doc);
	buf_free(&out);
}

static void
build_refused(struct mime_message *m, const char *want)
{
	struct buf	 out = BUF_INIT;
	char		*cause = NULL;

	assert_int_equal(mime_build(m, &out, &cause), -1);
	assert_non_null(cause);
	assert_non_null(strstr(cause, want));
	free(cause);
	buf_free(&out);
}

static void
test_build_refuses(void **state)
{
	struct mime_message	m;
	struct mime_header	x = { "Subject", "again" };
	struct mime_header	y = { "X-Ok", "bad\r\nBcc: a@b" };

	sample(&m);
	m.subject = "Hi\r\nBcc: victim@example.org";
	build_refused(&m, "Subject");
	sample(&m);
	m.to_name = "Dara\nSok";
	build_refused(&m, "To");
	sample(&m);
	m.to_addr = "dara@example.org>\r\nBcc: x@y";
	build_refused(&m, "To");
	sample(&m);
	m.subject = "bad \xff utf-8";
	build_refused(&m, "UTF-8");
	sample(&m);
	m.subject = "line\xe2\x80\xa8sep";
	build_refused(&m, "separator");
	sample(&m);
	m.unsub_url = "http://insecure";
	build_refused(&m, "List-Unsubscribe");
	sample(&m);
	m.extra = &x;
	m.nextra = 1;
	build_refused(&m, "Subject");
	sample(&m);
	m.extra = &y;
	m.nextra = 1;
	build_refused(&m, "X-Ok");
	sample(&m);
	m.message_id = "no-brackets@x";
	build_refused(&m, "Message-ID");
}

static void
test_part_refuses(void **state)
{
	char	*cause = NULL;

	assert_null(mime_part_new("image", MIME_ATTACHMENT, "a.png", NULL,
	    "x", 1, &cause));
	assert_non_null(strstr(cause, "content type"));
	free(cause);
	assert_null(mime_part_new("image/png", MIME_INLINE, "a.png", NULL,
	    "x", 1, &cause));
	assert_non_null(strstr(cause, "Content-ID"));
	free(cause);
	assert_null(mime_part_new("image/png", MIME_ATTACHMENT, "a\nb.png",
	    NULL, "x", 1, &cause));
	assert_non_null(strstr(cause, "file name"));
	free(cause);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qp_basic),
		cmocka_unit_test(test_qp_long_lines),
		cmocka_unit_test(test_qp_random),
		cmocka_unit_test(test_base64_vectors),
		cmocka_unit_test(test_base64_lines),
		cmocka_unit_test(test_header_ascii_plain),
		cmocka_unit_test(test_header_latin),
		cmocka_unit_test(test_header_khmer),
		cmocka_unit_test(test_header_emoji),
		cmocka_unit_test(test_header_random),
		cmocka_unit_test(test_header_300),
		cmocka_unit_test(test_header_long_word),
		cmocka_unit_test(test_header_folding),
		cmocka_unit_test(test_mailbox),
		cmocka_unit_test(test_date),
		cmocka_unit_test(test_message_id),
		cmocka_unit_test(test_build),
		cmocka_unit_test(test_build_refuses),
		cmocka_unit_test(test_part_refuses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
