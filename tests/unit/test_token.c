/* Unit tests for token.c: round trip, forgery, truncation, purpose, age. */
#include "autoconf.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "token.h"

static const unsigned char key[] = "0123456789abcdef0123456789abcdef";
#define KEYLEN	32
#define NOW	1774000000

static char *
make(int purpose, int64_t sub, uint32_t list, time_t issued)
{
	struct token	t = { purpose, sub, list, issued };
	char		*s;

	s = token_make(&t, key, KEYLEN);
	assert_non_null(s);
	return s;
}

static void
test_round_trip(void **state)
{
	struct token	 out;
	char		*s;

	s = make(TOKEN_UNSUBSCRIBE, 123456789012LL, 77, NOW);
	assert_int_equal(strlen(s), TOKEN_LEN);
	assert_int_equal(strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn"
	    "opqrstuvwxyz0123456789-_"), TOKEN_LEN);
	memset(&out, 0, sizeof(out));
	assert_int_equal(token_verify(s, TOKEN_UNSUBSCRIBE, key, KEYLEN, NOW,
	    0, &out), TOKEN_OK);
	assert_int_equal(out.purpose, TOKEN_UNSUBSCRIBE);
	assert_int_equal(out.subscriber, 123456789012LL);
	assert_int_equal(out.list, 77);
	assert_int_equal(out.issued, NOW);
	free(s);
}

static void
test_every_alteration_refused(void **state)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn"
	    "opqrstuvwxyz0123456789-_";
	char	*s, *t;
	size_t	 i, j;

	s = make(TOKEN_CONFIRM, 5, 1, NOW);
	t = strdup(s);
	for (i = 0; i < TOKEN_LEN; i++) {
		for (j = 0; j < sizeof(alphabet) - 1; j++) {
			if (alphabet[j] == s[i])
				continue;
			t[i] = alphabet[j];
			assert_int_equal(token_verify(t, TOKEN_CONFIRM, key,
			    KEYLEN, NOW, 0, NULL), TOKEN_INVALID);
		}
		t[i] = '.';
		assert_int_equal(token_verify(t, TOKEN_CONFIRM, key, KEYLEN,
		    NOW, 0, NULL), TOKEN_INVALID);
		t[i] = s[i];
	}
	assert_int_equal(token_verify(t, TOKEN_CONFIRM, key, KEYLEN, NOW, 0,
	    NULL), TOKEN_OK);
	free(t);
	free(s);
}

static void
test_truncated_and_extended(void **state)
{
	char	*s, buf[TOKEN_LEN + 8];
	size_t	 n;

	s = make(TOKEN_VIEW, 9, 2, NOW);
	for (n = 0; n < TOKEN_LEN; n++) {
		memcpy(buf, s, n);
		buf[n] = '\0';
		assert_int_equal(token_verify(buf, TOKEN_VIEW, key, KEYLEN,
		    NOW, 0, NULL), TOKEN_INVALID);
	}
	snprintf(buf, sizeof(buf), "%sA", s);
	assert_int_equal(token_verify(buf, TOKEN_VIEW, key, KEYLEN, NOW, 0,
	    NULL), TOKEN_INVALID);
	assert_int_equal(token_verify(NULL, TOKEN_VIEW, key, KEYLEN, NOW, 0,
	    NULL), TOKEN_INVALID);
	free(s);
}

static void
test_wrong_purpose_and_key(void **state)
{
	char	*s;

	s = make(TOKEN_VIEW, 9, 2, NOW);
	assert_int_equal(token_verify(s, TOKEN_UNSUBSCRIBE, key, KEYLEN, NOW,
	    0, NULL), TOKEN_INVALID);
	assert_int_equal(token_verify(s, TOKEN_CONFIRM, key, KEYLEN, NOW, 0,
	    NULL), TOKEN_INVALID);
	assert_int_equal(token_verify(s, TOKEN_VIEW,
	    (const unsigned char *)"another key", 11, NOW, 0, NULL),
	    TOKEN_INVALID);
	assert_int_equal(token_verify(s, TOKEN_VIEW, key, KEYLEN - 1, NOW, 0,
	    NULL), TOKEN_INVALID);
	free(s);
}

static void
test_expiry(void **state)
{
	char	*s;

	s = make(TOKEN_CONFIRM, 1, 1, NOW);
	assert_int_equal(token_verify(s, TOKEN_CONFIRM, key, KEYLEN,
	    NOW + TOKEN_CONFIRM_MAX_AGE, TOKEN_CONFIRM_MAX_AGE, NULL),
	    TOKEN_OK);
	assert_int_equal(token_verify(s, TOKEN_CONFIRM, key, KEYLEN,
	    NOW + TOKEN_CONFIRM_MAX_AGE + 1, TOKEN_CONFIRM_MAX_AGE, NULL),
	    TOKEN_EXPIRED);
	/* No maximum age: an unsubscribe link works years later. */
	assert_int_equal(token_verify(s, TOKEN_CONFIRM, key, KEYLEN,
	    NOW + 10 * 365 * 86400, 0, NULL), TOKEN_OK);
	/* Issued in the future beyond the skew: refused. */
	assert_int_equal(token_verify(s, TOKEN_CONFIRM, key, KEYLEN,
	    NOW - TOKEN_SKEW - 1, 0, NULL), TOKEN_INVALID);
	free(s);
}

static void
test_out_of_range(void **state)
{
	struct token	t = { 9, 1, 1, NOW };

	assert_null(token_make(&t, key, KEYLEN));
	t.purpose = TOKEN_BOUNCE;
	t.subscriber = -1;
	assert_null(token_make(&t, key, KEYLEN));
	t.subscriber = 1;
	t.issued = -5;
	assert_null(token_make(&t, key, KEYLEN));
}

static void
test_verp(void **state)
{
	char	*s, *addr, out[TOKEN_LEN + 1];
	struct token t;

	s = make(TOKEN_BOUNCE, 31337, 4, NOW);
	addr = token_verp_address(s, "bounces", "r2p.example");
	assert_int_equal(strlen(addr), strlen("bounces+@r2p.example") +
	    TOKEN_LEN);
	assert_int_equal(strncmp(addr, "bounces+", 8), 0);
	assert_int_equal(token_verp_parse(addr, "bounces", out, sizeof(out)),
	    0);
	assert_string_equal(out, s);
	assert_int_equal(token_verify(out, TOKEN_BOUNCE, key, KEYLEN, NOW, 0,
	    &t), TOKEN_OK);
	assert_int_equal(t.subscriber, 31337);
	assert_int_equal(token_verp_parse("news@r2p.example", "bounces", out,
	    sizeof(out)), -1);
	assert_int_equal(token_verp_parse("bounces+short@r2p.example",
	    "bounces", out, sizeof(out)), -1);
	free(addr);
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_every_alteration_refused),
		cmocka_unit_test(test_truncated_and_extended),
		cmocka_unit_test(test_wrong_purpose_and_key),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_out_of_range),
		cmocka_unit_test(test_verp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
