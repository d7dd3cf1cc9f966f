/* Email address checking: a practical RFC 5321/5322 addr-spec check, IDNA2008 domains. */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <idn2.h>
#include <unicase.h>
#include <uninorm.h>

#include "addr.h"
#include "text.h"
#include "xmalloc.h"

/*
 * Decisions (see addr.h): a domain needs at least two labels, so
 * "user@localhost" is refused; IP address literals ("user@[192.0.2.1]")
 * are refused, and so is a domain whose last label is all digits (it is
 * an IP address or a typo); the length limits (254 octets in all, 64 for
 * the local part, 253 for the domain, 63 for a label) apply to the ASCII
 * form used on the wire.
 */

#define ADDR_MAX	254
#define ADDR_LOCAL_MAX	64
#define ADDR_DOMAIN_MAX	253
#define ADDR_LABEL_MAX	63

static _Thread_local char addr_whybuf[ADDR_WHY_MAX];

/* RFC 5322 atext, ASCII only. */
static int
addr_isatext(int c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

static int
addr_isldh(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-';
}

static int
addr_isspace(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' ||
	    c == '\v' || c == '\f';
}

/* Describe a character for a message: 'x', or a byte value. */
static void
addr_charname(char *dst, size_t len, int c)
{
	if (c > 0x20 && c < 0x7f)
		snprintf(dst, len, "'%c'", c);
	else if (c == ' ')
		snprintf(dst, len, "(a space)");
	else
		snprintf(dst, len, "(byte 0x%02X)", (unsigned char)c);
}

/*
 * Check a local part local[0..len): a dot-atom, or a quoted string whose
 * closing quote is local[len - 1] (checked by the caller).
 */
static int
addr_check_local(const char *local, size_t len, char *why, size_t whylen)
{
	char	cn[16];
	size_t	i;
	int	c;

	if (len == 0) {
		snprintf(why, whylen, "empty local part (nothing before the @)");
		return -1;
	}
	for (i = 0; i < len; i++) {
		if ((unsigned char)local[i] >= 0x80) {
			snprintf(why, whylen, "non-ASCII local part: "
			    "internationalized mailboxes (SMTPUTF8) are not "
			    "supported");
			return -1;
		}
	}
	if (len > ADDR_LOCAL_MAX) {
		snprintf(why, whylen, "local part longer than %d octets (%zu)",
		    ADDR_LOCAL_MAX, len);
		return -1;
	}
	if (local[0] == '"') {
		if (len == 2) {
			snprintf(why, whylen, "empty quoted local part");
			return -1;
		}
		for (i = 1; i < len - 1; i++) {
			c = (unsigned char)local[i];
			if (c == '\\') {
				c = (unsigned char)local[++i];
				if (i >= len - 1 || c < 0x20 || c > 0x7e) {
					snprintf(why, whylen, "bad backslash "
					    "escape in quoted local part");
					return -1;
				}
			} else if (c < 0x20 || c > 0x7e) {
				addr_charname(cn, sizeof(cn), c);
				snprintf(why, whylen, "quoted local part has "
				    "an invalid character %s", cn);
				return -1;
			}
		}
		return 0;
	}
	if (local[0] == '.') {
		snprintf(why, whylen, "local part starts with a dot");
		return -1;
	}
	if (local[len - 1] == '.') {
		snprintf(why, whylen, "local part ends with a dot");
		return -1;
	}
	for (i = 0; i < len; i++) {
		c = (unsigned char)local[i];
		if (c == '.') {
			if (local[i + 1] == '.') {
				snprintf(why, whylen,
				    "local part has two dots in a row");
				return -1;
			}
			continue;
		}
		if (!addr_isatext(c)) {
			addr_charname(cn, sizeof(cn), c);
			snprintf(why, whylen, "local part has an invalid "
			    "character %s%s", cn, c == '"' ?
			    " (quotes must enclose the whole local part)" : "");
			return -1;
		}
	}
	return 0;
}

/*
 * Structural checks on the domain as given (Unicode allowed): labels
 * separated by dots, none empty, ASCII characters letters, digits or
 * hyphens, no hyphen at either end of a label.
 */
static int
addr_check_labels(const char *d, char *why, size_t whylen, int ascii)
{
	const char	*label, *p;
	char		 cn[16];
	size_t		 n, nlabels = 0, i;
	int		 digits;

	if (*d == '\0') {
		snprintf(why, whylen, "empty domain (nothing after the @)");
		return -1;
	}
	if (*d == '[') {
		snprintf(why, whylen, "IP address literals like [192.0.2.1] "
		    "are not accepted as domains");
		return -1;
	}
	if (*d == '.') {
		snprintf(why, whylen, "domain starts with a dot");
		return -1;
	}
	for (label = d;; label = p + 1) {
		for (p = label; *p != '\0' && *p != '.'; p++)
			;
		n = p - label;
		if (n == 0) {
			snprintf(why, whylen, *p == '\0' ?
			    "domain ends with a dot" :
			    "domain has two dots in a row");
			return -1;
		}
		nlabels++;
		digits = 1;
		for (i = 0; i < n; i++) {
			unsigned char c = label[i];

			if (c >= 0x80)
				digits = 0;
			else if (!addr_isldh(c)) {
				addr_charname(cn, sizeof(cn), c);
				snprintf(why, whylen, "domain label '%.*s' has "
				    "an invalid character %s",
				    n > 40 ? 40 : (int)n, label, cn);
				return -1;
			} else if (c < '0' || c > '9')
				digits = 0;
		}
		if (label[0] == '-') {
			snprintf(why, whylen, "domain label '%.*s' starts with "
			    "a hyphen", n > 40 ? 40 : (int)n, label);
			return -1;
		}
		if (label[n - 1] == '-') {
			snprintf(why, whylen, "domain label '%.*s' ends with "
			    "a hyphen", n > 40 ? 40 : (int)n, label);
			return -1;
		}
		if (ascii && n > ADDR_LABEL_MAX) {
			snprintf(why, whylen, "domain label '%.20s...' longer "
			    "than %d octets (%zu)", label, ADDR_LABEL_MAX, n);
			return -1;
		}
		if (*p == '\0')
			break;
	}
	if (nlabels < 2) {
		snprintf(why, whylen, "domain '%.40s' has a single label: a "
		    "public domain name needs a dot", d);
		return -1;
	}
	if (digits) {
		snprintf(why, whylen, "domain ends with the all-digit label "
		    "'%.20s': IP addresses are not accepted", label);
		return -1;
	}
	if (ascii && strlen(d) > ADDR_DOMAIN_MAX) {
		snprintf(why, whylen, "domain longer than %d octets (%zu)",
		    ADDR_DOMAIN_MAX, strlen(d));
		return -1;
	}
	return 0;
}

static int
addr_isascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return 0;
	return 1;
}

/*
 * A copy of d with the full stops of other scripts (U+3002 ideographic,
 * U+FF0E fullwidth, U+FF61 halfwidth ideographic) made ASCII dots, as
 * UTS #46 does, so that labels are split where the user meant.
 */
static char *
addr_dots(const char *d)
{
	char	*out = xstrdup(d), *o = out;

	while (*d != '\0') {
		if (strncmp(d, "\xe3\x80\x82", 3) == 0 ||
		    strncmp(d, "\xef\xbc\x8e", 3) == 0 ||
		    strncmp(d, "\xef\xbd\xa1", 3) == 0) {
			*o++ = '.';
			d += 3;
		} else
			*o++ = *d++;
	}
	*o = '\0';
	return out;
}

/*
 * The heart of both checks: *norm gets the normal form (domain lowercased,
 * NFC), *ascii (when not NULL) the form with an ASCII domain.
 */
static int
addr_parse(const char *addr, char **norm, char **ascii, char *why,
    size_t whylen)
{
	const char	*at, *p;
	char		*dom = NULL, *adom = NULL, *idn = NULL;
	uint8_t		*low = NULL;
	size_t		 len, llen, lowlen, i, bad, nat;
	int		 rc;

	*norm = NULL;
	if (ascii != NULL)
		*ascii = NULL;
	if (addr == NULL || *addr == '\0') {
		snprintf(why, whylen, "empty address");
		goto fail;
	}
	len = strlen(addr);
	if (addr_isspace((unsigned char)addr[0]) ||
	    addr_isspace((unsigned char)addr[len - 1])) {
		snprintf(why, whylen, "white space around the address");
		goto fail;
	}
	if ((bad = text_utf8_invalid_at(addr, len)) != len) {
		snprintf(why, whylen, "invalid UTF-8 at byte %zu", bad + 1);
		goto fail;
	}

	/* Find the @ that ends the local part. */
	if (addr[0] == '"') {
		for (p = addr + 1; *p != '\0' && *p != '"'; p++)
			if (*p == '\\' && p[1] != '\0')
				p++;
		if (*p == '\0') {
			snprintf(why, whylen, "unterminated quoted local part");
			goto fail;
		}
		at = p + 1;
		if (*at != '@') {
			snprintf(why, whylen, *at == '\0' ? "no @" :
			    "text after the closing quote of the local part");
			goto fail;
		}
		if (strchr(at + 1, '@') != NULL) {
			snprintf(why, whylen, "two @ outside quotes");
			goto fail;
		}
	} else {
		at = NULL;
		for (p = addr, nat = 0; *p != '\0'; p++)
			if (*p == '@') {
				if (nat++ == 0)
					at = p;
			}
		if (nat == 0) {
			snprintf(why, whylen, "no @");
			goto fail;
		}
		if (nat > 1) {
			snprintf(why, whylen, nat == 2 ?
			    "two @ outside quotes" : "more than two @ outside "
			    "quotes");
			goto fail;
		}
	}
	llen = at - addr;
	if (addr_check_local(addr, llen, why, whylen) == -1)
		goto fail;

	/* The domain, lowercased; Unicode ones also NFC. */
	if (addr_isascii(at + 1)) {
		dom = xstrdup(at + 1);
		for (i = 0; dom[i] != '\0'; i++)
			if (dom[i] >= 'A' && dom[i] <= 'Z')
				dom[i] += 'a' - 'A';
	} else {
		dom = addr_dots(at + 1);
		if (addr_check_labels(dom, why, whylen, 0) == -1)
			goto fail;
		low = u8_tolower((const uint8_t *)dom, strlen(dom), NULL,
		    UNINORM_NFC, NULL, &lowlen);
		if (low == NULL) {
			snprintf(why, whylen, "domain cannot be lowercased");
			goto fail;
		}
		free(dom);
		dom = xstrndup((const char *)low, lowlen);
	}

	/* IDNA2008 (with UTS #46 mapping) for Unicode or xn-- domains. */
	if (!addr_isascii(dom) || strncmp(dom, "xn--", 4) == 0 ||
	    strstr(dom, ".xn--") != NULL) {
		if (addr_check_labels(dom, why, whylen, 0) == -1)
			goto fail;
		rc = idn2_to_ascii_8z(dom, &idn, IDN2_NONTRANSITIONAL);
		if (rc != IDN2_OK) {
			snprintf(why, whylen, "domain is not a valid "
			    "internationalized name: %s", idn2_strerror(rc));
			goto fail;
		}
		adom = xstrdup(idn);
		for (i = 0; adom[i] != '\0'; i++)
			if (adom[i] >= 'A' && adom[i] <= 'Z')
				adom[i] += 'a' - 'A';
	} else
		adom = xstrdup(dom);
	if (addr_check_labels(adom, why, whylen, 1) == -1)
		goto fail;
	if (llen + 1 + strlen(adom) > ADDR_MAX) {
		snprintf(why, whylen, "address longer than %d octets (%zu)",
		    ADDR_MAX, llen + 1 + strlen(adom));
		goto fail;
	}

	xasprintf(norm, "%.*s@%s", (int)llen, addr, dom);
	if (ascii != NULL)
		xasprintf(ascii, "%.*s@%s", (int)llen, addr, adom);
	free(dom);
	free(adom);
	free(low);
	idn2_free(idn);
	return 0;
fail:
	free(dom);
	free(adom);
	free(low);
	idn2_free(idn);
	return -1;
}

int
addr_check_r(const char *addr, char **norm, char *why, size_t whylen)
{
	return addr_parse(addr, norm, NULL, why, whylen);
}

int
addr_check(const char *addr, char **norm, const char **why)
{
	if (addr_parse(addr, norm, NULL, addr_whybuf,
	    sizeof(addr_whybuf)) == -1) {
		*why = addr_whybuf;
		return -1;
	}
	return 0;
}

int
addr_to_ascii_r(const char *addr, char **ascii, char *why, size_t whylen)
{
	char	*norm;

	if (addr_parse(addr, &norm, ascii, why, whylen) == -1)
		return -1;
	free(norm);
	return 0;
}

int
addr_to_ascii(const char *addr, char **ascii, const char **why)
{
	if (addr_to_ascii_r(addr, ascii, addr_whybuf,
	    sizeof(addr_whybuf)) == -1) {
		*why = addr_whybuf;
		return -1;
	}
	return 0;
}

const char *
addr_domain(const char *addr)
{
	const char	*at;

	if ((at = strrchr(addr, '@')) == NULL)
		return NULL;
	return at + 1;
}
