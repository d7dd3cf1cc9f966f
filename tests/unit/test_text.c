/* Unit tests for text.c: strict UTF-8, one-line checks, language tags. */
#include "autoconf.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "text.h"

struct line_case {
	const char	*s;
	size_t		 len;	/* 0: strlen */
	const char	*why;	/* NULL: accepted; else a substring of the reason */
};

#define L(s)		{ s, sizeof(s) - 1, NULL }
#define BAD(s, w)	{ s, sizeof(s) - 1, w }

static const struct line_case line_cases[] = {
	L(""),
	L("Sokha Chan"),
	L("Ma\xc3\xaf" "a O'Neil-Smith"),			/* Maïa */
	L("\xe1\x9e\x9f\xe1\x9e\xbb\xe1\x9e\x81\xe1\x9e\xb6"),	/* សុខា */
	L("emoji \xf0\x9f\x98\x80 ok"),			/* U+1F600 */
	L("\xf4\x8f\xbf\xbf"),				/* U+10FFFF */
	L("\xef\xbf\xbd"),				/* U+FFFD */
	L("\xc2\xa0nbsp"),				/* U+00A0 is fine */
	BAD("a\nb", "contains a line feed at byte 2"),
	BAD("ab\r", "contains a carriage return at byte 3"),
	BAD("a\0b", "contains a NUL byte at byte 2"),
	BAD("a\tb", "contains a tab at byte 2"),
	BAD("\x1b[31m", "control character (U+001B) at byte 1"),
	BAD("del\x7f", "DEL character at byte 4"),
	BAD("x\xc2\x85y", "C1 control character (U+0085) at byte 2"),
	BAD("\xc2\x80", "C1 control character (U+0080)"),
	BAD("\xc2\x9f", "C1 control character (U+009F)"),
	BAD("ab\xe2\x80\xa8", "line separator (U+2028) at byte 3"),
	BAD("\xe2\x80\xa9", "paragraph separator (U+2029) at byte 1"),
	BAD("abcdef\xff", "invalid UTF-8 at byte 7"),
	BAD("\xc0\xaf", "invalid UTF-8 at byte 1"),		/* overlong '/' */
	BAD("\xc1\xbf", "invalid UTF-8 at byte 1"),		/* overlong */
	BAD("x\xe0\x80\xaf", "invalid UTF-8 at byte 2"),	/* overlong, 3 bytes */
	BAD("\xf0\x80\x80\xaf", "invalid UTF-8 at byte 1"),	/* overlong, 4 bytes */
	BAD("\xed\xa0\x80", "invalid UTF-8 at byte 1"),		/* U+D800 */
	BAD("\xed\xbf\xbf", "invalid UTF-8 at byte 1"),		/* U+DFFF */
	BAD("\xf4\x90\x80\x80", "invalid UTF-8 at byte 1"),	/* U+110000 */
	BAD("\xf5\x80\x80\x80", "invalid UTF-8 at byte 1"),
	BAD("ab\x80", "invalid UTF-8 at byte 3"),		/* stray continuation */
	BAD("ab\xe1\x9e", "invalid UTF-8 at byte 3"),		/* truncated */
	BAD("\xe1\x9ex", "invalid UTF-8 at byte 1"),
};

static void
test_check_line(void **state)
{
	const struct line_case	*c;
	const char		*why;
	size_t			 i;
	int			 rv;

	for (i = 0; i < sizeof(line_cases) / sizeof(line_cases[0]); i++) {
		c = &line_cases[i];
		why = NULL;
		rv = text_check_line(c->s, c->len, &why);
		if (c->why == NULL) {
			if (rv != 0)
				fail_msg("case %zu refused: %s", i, why);
		} else {
			if (rv != -1)
				fail_msg("case %zu accepted, wanted '%s'", i,
				    c->why);
			assert_non_null(why);
			if (strstr(why, c->why) == NULL)
				fail_msg("case %zu: got '%s', wanted '%s'", i,
				    why, c->why);
		}
		assert_int_equal(text_utf8_valid(c->s, c->len),
		    c->why == NULL || strstr(c->why, "invalid UTF-8") == NULL);
	}
}

/* A Khmer vowel sign cut short is invalid UTF-8, not a control. */
static void
test_khmer_bad(void **state)
{
	const char	*why = NULL;
	const char	 s[] = "\xe1\x9e\x9f\xe1\x9e\xbb\xe1\x9e\x81\xe1\x9e\x6b";

	assert_int_equal(text_check_line(s, sizeof(s) - 1, &why), -1);
	assert_string_equal(why, "invalid UTF-8 at byte 10");
	assert_int_equal(text_utf8_invalid_at(s, sizeof(s) - 1), 9);
}

static void
test_check_line_r(void **state)
{
	char	why[TEXT_WHY_MAX];

	assert_int_equal(text_check_line_r("a\nb", 3, why, sizeof(why)), -1);
	assert_string_equal(why, "contains a line feed at byte 2");
	assert_int_equal(text_check_line_r("fine", 4, why, sizeof(why)), 0);
}

static void
test_decode(void **state)
{
	unsigned int	cp;

	assert_int_equal(text_utf8_decode("\xe1\x9e\x80", 3, &cp), 3);
	assert_int_equal(cp, 0x1780);
	assert_int_equal(text_utf8_decode("\xf0\x9f\x98\x80", 4, &cp), 4);
	assert_int_equal(cp, 0x1f600);
	assert_int_equal(text_utf8_decode("\xf0\x9f\x98", 3, &cp), 0);
	assert_int_equal(text_utf8_decode("A", 1, &cp), 1);
	assert_int_equal(cp, 'A');
}

struct lang_case {
	const char	*tag;
	const char	*why;
};

static const struct lang_case lang_cases[] = {
	{ "en", NULL },
	{ "km", NULL },
	{ "KM", NULL },
	{ "pt-BR", NULL },
	{ "zh-Hant-TW", NULL },
	{ "es-419", NULL },
	{ "haw", NULL },
	{ "de-CH-1901", NULL },
	{ "", "empty language tag" },
	{ "e", "2 or 3 letters" },
	{ "engl", "2 or 3 letters" },
	{ "e1", "letters only" },
	{ "pt_BR", "'_' where BCP 47 wants '-'" },
	{ "en-", "empty subtag" },
	{ "en--us", "empty subtag" },
	{ "-en", "2 or 3 letters" },
	{ "en-abcdefghi", "subtag 'abcdefghi' must have 2 to 8" },
	{ "en-x-private", "subtag 'x' must have 2 to 8" },
	{ "en US", "invalid character ' '" },
	{ "en-\xc3\xa9", "invalid byte 0xC3" },
};

static void
test_check_lang(void **state)
{
	const char	*why;
	size_t		 i;
	int		 rv;

	for (i = 0; i < sizeof(lang_cases) / sizeof(lang_cases[0]); i++) {
		why = NULL;
		rv = text_check_lang(lang_cases[i].tag, &why);
		if (lang_cases[i].why == NULL) {
			if (rv != 0)
				fail_msg("'%s' refused: %s", lang_cases[i].tag,
				    why);
			continue;
		}
		if (rv != -1)
			fail_msg("'%s' accepted", lang_cases[i].tag);
		if (strstr(why, lang_cases[i].why) == NULL)
			fail_msg("'%s': got '%s', wanted '%s'",
			    lang_cases[i].tag, why, lang_cases[i].why);
	}
}

static void
test_lang_normalize(void **state)
{
	char	*s;

	s = text_lang_normalize("zh-Hant-TW");
	assert_string_equal(s, "zh-hant-tw");
	free(s);
	s = text_lang_normalize("KM");
	assert_string_equal(s, "km");
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_line),
		cmocka_unit_test(test_khmer_bad),
		cmocka_unit_test(test_check_line_r),
		cmocka_unit_test(test_decode),
		cmocka_unit_test(test_check_lang),
		cmocka_unit_test(test_lang_normalize),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
