/* Checks on untrusted text: strict UTF-8, control characters, language tags. */
#include "autoconf.h"

#include <stdio.h>
#include <string.h>

#include "text.h"
#include "xmalloc.h"

/* Scratch space for the precise reasons of the non-reentrant wrappers. */
static _Thread_local char text_whybuf[TEXT_WHY_MAX];

/*
 * Decode one code point from s[0..len), len > 0.  Returns its length in
 * bytes and sets *cp, or 0 when the sequence is not well-formed UTF-8:
 * a stray continuation byte, a truncated sequence, an overlong form, a
 * surrogate (U+D800..U+DFFF) or a value over U+10FFFF.
 */
size_t
text_utf8_decode(const char *str, size_t len, unsigned int *cp)
{
	const unsigned char	*s = (const unsigned char *)str;
	unsigned int		 c, min;
	size_t			 n, i;

	c = s[0];
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		c &= 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		c &= 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		c &= 0x07;
		min = 0x10000;
	} else
		return 0;	/* continuation byte, C0/C1 lead, F5..FF */
	if (len < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

size_t
text_utf8_invalid_at(const char *s, size_t len)
{
	unsigned int	cp;
	size_t		i, n;

	for (i = 0; i < len; i += n) {
		if ((unsigned char)s[i] < 0x80) {
			n = 1;
			continue;
		}
		if ((n = text_utf8_decode(s + i, len - i, &cp)) == 0)
			return i;
	}
	return len;
}

int
text_utf8_valid(const char *s, size_t len)
{
	return text_utf8_invalid_at(s, len) == len;
}

int
text_check_line_r(const char *s, size_t len, char *why, size_t whylen)
{
	unsigned int	cp;
	size_t		i, n;

	for (i = 0; i < len; i += n) {
		if ((n = text_utf8_decode(s + i, len - i, &cp)) == 0) {
			snprintf(why, whylen, "invalid UTF-8 at byte %zu", i + 1);
			return -1;
		}
		switch (cp) {
		case 0x00:
			snprintf(why, whylen, "contains a NUL byte at byte %zu",
			    i + 1);
			return -1;
		case 0x09:
			snprintf(why, whylen, "contains a tab at byte %zu",
			    i + 1);
			return -1;
		case 0x0a:
			snprintf(why, whylen, "contains a line feed at byte %zu",
			    i + 1);
			return -1;
		case 0x0d:
			snprintf(why, whylen,
			    "contains a carriage return at byte %zu", i + 1);
			return -1;
		case 0x7f:
			snprintf(why, whylen,
			    "contains a DEL character at byte %zu", i + 1);
			return -1;
		case 0x2028:
			snprintf(why, whylen,
			    "contains a line separator (U+2028) at byte %zu",
			    i + 1);
			return -1;
		case 0x2029:
			snprintf(why, whylen,
			    "contains a paragraph separator (U+2029) at byte %zu",
			    i + 1);
			return -1;
		}
		if (cp < 0x20) {
			snprintf(why, whylen,
			    "contains a control character (U+%04X) at byte %zu",
			    cp, i + 1);
			return -1;
		}
		if (cp >= 0x80 && cp <= 0x9f) {
			snprintf(why, whylen,
			    "contains a C1 control character (U+%04X) at byte %zu",
			    cp, i + 1);
			return -1;
		}
	}
	return 0;
}

int
text_check_line(const char *s, size_t len, const char **why)
{
	if (text_check_line_r(s, len, text_whybuf, sizeof(text_whybuf)) == -1) {
		*why = text_whybuf;
		return -1;
	}
	return 0;
}

static int
text_isalpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
text_isalnum(int c)
{
	return text_isalpha(c) || (c >= '0' && c <= '9');
}

int
text_check_lang_r(const char *s, char *why, size_t whylen)
{
	size_t	i, start, n, sub;

	if (s == NULL || *s == '\0') {
		snprintf(why, whylen, "empty language tag");
		return -1;
	}
	if (strlen(s) > TEXT_LANG_MAX) {
		snprintf(why, whylen, "language tag longer than %d characters",
		    TEXT_LANG_MAX);
		return -1;
	}
	for (i = 0, sub = 0;; sub++) {
		start = i;
		while (s[i] != '\0' && s[i] != '-') {
			if (s[i] == '_') {
				snprintf(why, whylen, "language tag uses '_' "
				    "where BCP 47 wants '-' (as in \"pt-BR\")");
				return -1;
			}
			if (!text_isalnum((unsigned char)s[i])) {
				if ((unsigned char)s[i] < 0x20 ||
				    (unsigned char)s[i] >= 0x7f)
					snprintf(why, whylen, "language tag has "
					    "an invalid byte 0x%02X",
					    (unsigned char)s[i]);
				else
					snprintf(why, whylen, "language tag has "
					    "an invalid character '%c'", s[i]);
				return -1;
			}
			if (sub == 0 && !text_isalpha((unsigned char)s[i])) {
				snprintf(why, whylen, "the primary language "
				    "subtag must be letters only");
				return -1;
			}
			i++;
		}
		n = i - start;
		if (sub == 0 && (n < 2 || n > 3)) {
			snprintf(why, whylen, "the primary language subtag must "
			    "have 2 or 3 letters (as in \"en\" or \"km\")");
			return -1;
		}
		if (sub > 0 && n == 0) {
			snprintf(why, whylen, "language tag has an empty subtag");
			return -1;
		}
		if (sub > 0 && (n < 2 || n > 8)) {
			snprintf(why, whylen, "language subtag '%.*s' must have "
			    "2 to 8 letters or digits", (int)n, s + start);
			return -1;
		}
		if (s[i] == '\0')
			break;
		i++;	/* the '-' */
	}
	return 0;
}

int
text_check_lang(const char *s, const char **why)
{
	if (text_check_lang_r(s, text_whybuf, sizeof(text_whybuf)) == -1) {
		*why = text_whybuf;
		return -1;
	}
	return 0;
}

char *
text_lang_normalize(const char *s)
{
	char	*out;
	size_t	 i;

	out = xstrdup(s);
	for (i = 0; out[i] != '\0'; i++)
		if (out[i] >= 'A' && out[i] <= 'Z')
			out[i] += 'a' - 'A';
	return out;
}
