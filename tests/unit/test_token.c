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

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "token.h"

/*
 * token_hmac against OpenSSL's own HMAC(), for keys shorter than, as
 * long as and longer than SHA-256's 64-byte block, and RFC 4231's test
 * case 2.
 */
static void
test_hmac(void **state)
{
	static const size_t	 keylens[] = { 1, 20, 63, 64, 65, 131, 500 };
	unsigned char		 key[500], msg[300], a[TOKEN_HMAC_LEN];
	unsigned char		 b[EVP_MAX_MD_SIZE];
	unsigned int		 blen;
	size_t			 i, k, len;
	static const unsigned char rfc4231[] = {
		0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e,
		0x6a, 0x04, 0x24, 0x26, 0x08, 0x95, 0x75, 0xc7,
		0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27, 0x39, 0x83,
		0x9d, 0xec, 0x58, 0xb9, 0x64, 0xec, 0x38, 0x43
	};

	for (i = 0; i < sizeof(key); i++)
		key[i] = (unsigned char)(i * 7 + 3);
	for (i = 0; i < sizeof(msg); i++)
		msg[i] = (unsigned char)(i * 13 + 1);
	for (k = 0; k < sizeof(keylens) / sizeof(keylens[0]); k++)
		for (len = 0; len <= sizeof(msg); len += 37) {
			assert_int_equal(token_hmac(key, keylens[k], msg, len,
			    a), 0);
			assert_non_null(HMAC(EVP_sha256(), key,
			    (int)keylens[k], msg, len, b, &blen));
			assert_int_equal(blen, TOKEN_HMAC_LEN);
			assert_memory_equal(a, b, TOKEN_HMAC_LEN);
		}
	assert_int_equal(token_hmac((const unsigned char *)"Jefe", 4,
	    "what do ya want for nothing?", 28, a), 0);
	assert_memory_equal(a, rfc4231, sizeof(rfc4231));
}

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
		cmocka_unit_test(test_hmac),
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
