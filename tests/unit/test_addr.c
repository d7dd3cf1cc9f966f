/* Unit tests for addr.c: a table of good and bad addresses, IDN, limits. */
#include "autoconf.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "addr.h"
#include "buf.h"

struct addr_case {
	const char	*in;
	const char	*norm;	/* NULL: refused */
	const char	*ascii;	/* NULL: same as norm */
	const char	*why;	/* substring of the reason when refused */
};

#define OK(in, norm)		{ in, norm, NULL, NULL }
#define IDN(in, norm, ascii)	{ in, norm, ascii, NULL }
#define BAD(in, why)		{ in, NULL, NULL, why }

static const struct addr_case cases[] = {
	OK("user@example.org", "user@example.org"),
	OK("User.Name@Example.ORG", "User.Name@example.org"),
	OK("first.last+tag@sub.example.co.uk", "first.last+tag@sub.example.co.uk"),
	OK("a@b.co", "a@b.co"),
	OK("x@ab--cd.example", "x@ab--cd.example"),
	OK("o'brien@example.ie", "o'brien@example.ie"),
	OK("!#$%&'*+-/=?^_`{|}~@example.org", "!#$%&'*+-/=?^_`{|}~@example.org"),
	OK("1234@123.example", "1234@123.example"),
	OK("\"john doe\"@example.org", "\"john doe\"@example.org"),
	OK("\"a@b\"@example.org", "\"a@b\"@example.org"),
	OK("\"quote\\\"inside\"@example.org", "\"quote\\\"inside\"@example.org"),
	OK("\"..\"@example.org", "\"..\"@example.org"),
	OK("user@xn--bcher-kva.example", "user@xn--bcher-kva.example"),
	IDN("user@b\xc3\xbc" "cher.example", "user@b\xc3\xbc" "cher.example",
	    "user@xn--bcher-kva.example"),
	IDN("user@B\xc3\x9c" "CHER.Example", "user@b\xc3\xbc" "cher.example",
	    "user@xn--bcher-kva.example"),
	/* "u" + combining diaeresis: NFC makes it one code point. */
	IDN("user@bu\xcc\x88" "cher.example", "user@b\xc3\xbc" "cher.example",
	    "user@xn--bcher-kva.example"),
	/* Ideographic full stop: a label separator, as in UTS #46. */
	IDN("user@b\xc3\xbc" "cher\xe3\x80\x82" "example",
	    "user@b\xc3\xbc" "cher.example", "user@xn--bcher-kva.example"),
	IDN("a@stra\xc3\x9f" "e.de", "a@stra\xc3\x9f" "e.de",
	    "a@xn--strae-oqa.de"),
	/* Khmer: friends.r2p.kh written in Khmer script as a label. */
	IDN("info@\xe1\x9e\x80\xe1\x9e\x98\xe1\x9f\x92\xe1\x9e\x96\xe1\x9e\xbb"
	    "\xe1\x9e\x87\xe1\x9e\xb6.kh",
	    "info@\xe1\x9e\x80\xe1\x9e\x98\xe1\x9f\x92\xe1\x9e\x96\xe1\x9e\xbb"
	    "\xe1\x9e\x87\xe1\x9e\xb6.kh", NULL),

	BAD("", "empty address"),
	BAD("userexample.org", "no @"),
	BAD("a@b@example.org", "two @ outside quotes"),
	BAD("a@b@c@example.org", "more than two @"),
	BAD("@example.org", "empty local part"),
	BAD("user@", "empty domain"),
	BAD(" user@example.org", "white space around"),
	BAD("user@example.org ", "white space around"),
	BAD("user@example.org\n", "white space around"),
	BAD("\tuser@example.org", "white space around"),
	BAD("us er@example.org", "invalid character (a space)"),
	BAD(".user@example.org", "local part starts with a dot"),
	BAD("user.@example.org", "local part ends with a dot"),
	BAD("us..er@example.org", "two dots in a row"),
	BAD("a\"b@example.org", "invalid character '\"'"),
	BAD("a(b)@example.org", "invalid character '('"),
	BAD("a,b@example.org", "invalid character ','"),
	BAD("\"unterminated@example.org", "unterminated quoted local part"),
	BAD("\"ab\"c@example.org", "text after the closing quote"),
	BAD("\"\"@example.org", "empty quoted local part"),
	BAD("\"a\tb\"@example.org", "invalid character (byte 0x09)"),
	BAD("us\xc3\xa9r@example.org", "SMTPUTF8"),
	BAD("user@example.org\xff", "invalid UTF-8 at byte 17"),
	BAD("user@localhost", "single label"),
	BAD("user@[192.0.2.1]", "IP address literals"),
	BAD("user@192.0.2.1", "all-digit label '1'"),
	BAD("user@a_b.example", "domain label 'a_b' has an invalid character '_'"),
	BAD("user@-ab.example", "domain label '-ab' starts with a hyphen"),
	BAD("user@ab-.example", "domain label 'ab-' ends with a hyphen"),
	BAD("user@.example.org", "domain starts with a dot"),
	BAD("user@example.org.", "domain ends with a dot"),
	BAD("user@example..org", "two dots in a row"),
	BAD("user@exa mple.org", "invalid character (a space)"),
	BAD("user@xn--zz.example", "not a valid internationalized name"),
	BAD("user@a_b.b\xc3\xbc" "cher.example",
	    "domain label 'a_b' has an invalid character '_'"),
	/* A symbol that IDNA2008 disallows. */
	BAD("user@\xe2\x98\x83.example", "not a valid internationalized name"),
};

static void
test_table(void **state)
{
	const struct addr_case	*c;
	const char		*why;
	char			*norm, *ascii;
	size_t			 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		c = &cases[i];
		why = NULL;
		norm = NULL;
		if (c->norm == NULL) {
			if (addr_check(c->in, &norm, &why) != -1)
				fail_msg("'%s' accepted as '%s'", c->in, norm);
			if (strstr(why, c->why) == NULL)
				fail_msg("'%s': got '%s', wanted '%s'", c->in,
				    why, c->why);
			assert_null(norm);
			if (addr_to_ascii(c->in, &ascii, &why) != -1)
				fail_msg("'%s' converted", c->in);
			continue;
		}
		if (addr_check(c->in, &norm, &why) != 0)
			fail_msg("'%s' refused: %s", c->in, why);
		assert_string_equal(norm, c->norm);
		if (addr_to_ascii(c->in, &ascii, &why) != 0)
			fail_msg("'%s' not converted: %s", c->in, why);
		if (c->ascii != NULL)
			assert_string_equal(ascii, c->ascii);
		else if (strncmp(c->norm, "info@", 5) == 0)
			assert_true(strstr(ascii, "@xn--") != NULL);
		else
			assert_string_equal(ascii, c->norm);
		/* The normal form is a fixed point. */
		free(ascii);
		ascii = NULL;
		assert_int_equal(addr_check(norm, &ascii, &why), 0);
		assert_string_equal(ascii, norm);
		free(ascii);
		free(norm);
	}
	assert_true(i >= 40);
}

static char *
rep(char c, size_t n)
{
	char	*s = malloc(n + 1);

	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/* LOCAL@DOMAIN with a local part and a domain of the given lengths. */
static char *
mkaddr(size_t local, size_t domain)
{
	struct buf	 b = BUF_INIT;
	char		*l = rep('a', local);
	size_t		 left = domain - 4, k;	/* room before ".org" */

	buf_printf(&b, "%s@", l);
	free(l);
	while (left > 63) {
		k = left - 2 < 63 ? left - 2 : 63;
		while (k-- > 0) {
			buf_addc(&b, 'b');
			left--;
		}
		buf_addc(&b, '.');
		left--;
	}
	while (left-- > 0)
		buf_addc(&b, 'c');
	buf_adds(&b, ".org");
	return buf_steal(&b);
}

static void
expect(const char *a, const char *why)
{
	const char	*w = NULL;
	char		*norm = NULL;
	int		 rv;

	rv = addr_check(a, &norm, &w);
	if (why == NULL) {
		if (rv != 0)
			fail_msg("length %zu refused: %s", strlen(a), w);
		assert_string_equal(norm, a);
		free(norm);
	} else {
		if (rv != -1)
			fail_msg("length %zu accepted", strlen(a));
		if (strstr(w, why) == NULL)
			fail_msg("length %zu: got '%s', wanted '%s'",
			    strlen(a), w, why);
	}
}

static void
test_limits(void **state)
{
	char	*a, *l;

	/* Local part: 64 octets fit, 65 do not. */
	a = mkaddr(64, 20);
	expect(a, NULL);
	free(a);
	a = mkaddr(65, 20);
	expect(a, "local part longer than 64 octets");
	free(a);

	/* A quoted local part counts its quotes. */
	l = rep('q', 62);
	{
		char buf[200];

		snprintf(buf, sizeof(buf), "\"%s\"@example.org", l);
		expect(buf, NULL);
		snprintf(buf, sizeof(buf), "\"%sq\"@example.org", l);
		expect(buf, "local part longer than 64 octets");
	}
	free(l);

	/* Labels: 63 octets fit, 64 do not. */
	l = rep('d', 63);
	{
		char buf[200];

		snprintf(buf, sizeof(buf), "u@%s.org", l);
		expect(buf, NULL);
		snprintf(buf, sizeof(buf), "u@%sd.org", l);
		expect(buf, "longer than 63 octets");
	}
	free(l);

	/* The whole address: 254 octets fit, 255 do not. */
	a = mkaddr(64, 189);
	assert_int_equal(strlen(a), 254);
	expect(a, NULL);
	free(a);
	a = mkaddr(64, 190);
	assert_int_equal(strlen(a), 255);
	expect(a, "address longer than 254 octets");
	free(a);
	a = mkaddr(1, 252);
	assert_int_equal(strlen(a), 254);
	expect(a, NULL);
	free(a);
	a = mkaddr(1, 253);
	expect(a, "address longer than 254 octets");
	free(a);
	/* The domain alone: more than 253 octets. */
	a = mkaddr(1, 254);
	expect(a, "domain longer than 253 octets");
	free(a);
}

static void
test_reentrant(void **state)
{
	char	 why[ADDR_WHY_MAX], *out = NULL;

	assert_int_equal(addr_check_r("a@a_b.org", &out, why, sizeof(why)),
	    -1);
	assert_string_equal(why,
	    "domain label 'a_b' has an invalid character '_'");
	assert_int_equal(addr_to_ascii_r("A@B\xc3\x9c" "CHER.example", &out,
	    why, sizeof(why)), 0);
	assert_string_equal(out, "A@xn--bcher-kva.example");
	free(out);
}

static void
test_domain(void **state)
{
	assert_string_equal(addr_domain("user@example.org"), "example.org");
	assert_string_equal(addr_domain("\"a@b\"@example.org"),
	    "example.org");
	assert_null(addr_domain("nothing"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_reentrant),
		cmocka_unit_test(test_domain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
