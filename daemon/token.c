/* HMAC-signed tokens for links (unsubscribe, confirm, archive) and VERP. */
#include "autoconf.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "token.h"
#include "xmalloc.h"

/*
 * Layout before base64url: version (1), purpose (1), subscriber (8, big
 * endian), list (4), issued (6), then the first 16 bytes of HMAC-SHA256
 * over those 20 bytes.  36 bytes make 48 characters with no padding.
 */
#define TOKEN_BODY	20
#define TOKEN_MAC	16
#define TOKEN_RAW	(TOKEN_BODY + TOKEN_MAC)

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void
put_be(unsigned char *p, uint64_t v, int n)
{
	while (n-- > 0) {
		p[n] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
}

static uint64_t
get_be(const unsigned char *p, int n)
{
	uint64_t	v = 0;
	int		i;

	for (i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

/*
 * HMAC-SHA256 (RFC 2104) over SHA-256 fetched once.  OpenSSL 3's one-shot
 * HMAC() looks both algorithms up by name on every call, under a global
 * lock: that was the costliest step of a message's headers, and the
 * connection threads queued on the lock.
 */
static EVP_MD		*token_sha256;
static pthread_once_t	 token_once = PTHREAD_ONCE_INIT;

static void
token_fetch(void)
{
	token_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

int
token_hmac(const unsigned char *key, size_t keylen, const void *msg,
    size_t len, unsigned char out[TOKEN_HMAC_LEN])
{
	static const unsigned char padx[2] = { 0x36, 0x5c };	/* ipad, opad */
	unsigned char	 k[64], pad[64];
	unsigned int	 n = 0;
	EVP_MD_CTX	*ctx;
	size_t		 i;
	int		 ok, pass;

	pthread_once(&token_once, token_fetch);
	if (token_sha256 == NULL || (ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	memset(k, 0, sizeof(k));
	/* A key longer than the block is hashed first. */
	if (keylen > sizeof(k))
		ok = EVP_DigestInit_ex2(ctx, token_sha256, NULL) &&
		    EVP_DigestUpdate(ctx, key, keylen) &&
		    EVP_DigestFinal_ex(ctx, k, &n);
	else {
		memcpy(k, key, keylen);
		ok = 1;
	}
	/* H(K ^ opad || H(K ^ ipad || msg)) */
	for (pass = 0; pass < 2 && ok; pass++) {
		for (i = 0; i < sizeof(pad); i++)
			pad[i] = k[i] ^ padx[pass];
		ok = EVP_DigestInit_ex2(ctx, token_sha256, NULL) &&
		    EVP_DigestUpdate(ctx, pad, sizeof(pad)) &&
		    EVP_DigestUpdate(ctx, pass ? (const void *)out : msg,
		    pass ? TOKEN_HMAC_LEN : len) &&
		    EVP_DigestFinal_ex(ctx, out, &n);
	}
	EVP_MD_CTX_free(ctx);
	OPENSSL_cleanse(k, sizeof(k));
	OPENSSL_cleanse(pad, sizeof(pad));
	return ok && n == TOKEN_HMAC_LEN ? 0 : -1;
}

static int
token_mac(const unsigned char *body, const unsigned char *key, size_t keylen,
    unsigned char *mac)
{
	unsigned char	md[TOKEN_HMAC_LEN];

	if (token_hmac(key, keylen, body, TOKEN_BODY, md) != 0)
		return -1;
	memcpy(mac, md, TOKEN_MAC);
	OPENSSL_cleanse(md, sizeof(md));
	return 0;
}

char *
token_make(const struct token *t, const unsigned char *key, size_t keylen)
{
	unsigned char	raw[TOKEN_RAW];
	char		*out;
	size_t		 i;
	uint32_t	 v;

	if (t->purpose < TOKEN_UNSUBSCRIBE || t->purpose > TOKEN_BOUNCE ||
	    t->subscriber < 0 || t->issued < 0 ||
	    (uint64_t)t->issued >= (1ULL << 48) || keylen == 0)
		return NULL;
	raw[0] = TOKEN_VERSION;
	raw[1] = (unsigned char)t->purpose;
	put_be(raw + 2, (uint64_t)t->subscriber, 8);
	put_be(raw + 10, t->list, 4);
	put_be(raw + 14, (uint64_t)t->issued, 6);
	if (token_mac(raw, key, keylen, raw + TOKEN_BODY) != 0)
		return NULL;
	out = xmalloc(TOKEN_LEN + 1);
	for (i = 0; i < TOKEN_RAW / 3; i++) {
		v = (uint32_t)raw[3 * i] << 16 | (uint32_t)raw[3 * i + 1] << 8 |
		    raw[3 * i + 2];
		out[4 * i] = b64url[v >> 18];
		out[4 * i + 1] = b64url[(v >> 12) & 63];
		out[4 * i + 2] = b64url[(v >> 6) & 63];
		out[4 * i + 3] = b64url[v & 63];
	}
	out[TOKEN_LEN] = '\0';
	return out;
}

static int
b64url_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

int
token_verify(const char *s, int purpose, const unsigned char *key,
    size_t keylen, time_t now, time_t max_age, struct token *out)
{
	unsigned char	raw[TOKEN_RAW], mac[TOKEN_MAC];
	size_t		i;
	uint32_t	v;
	int		k, j, ok;
	time_t		issued;

	if (s == NULL || strnlen(s, TOKEN_LEN + 1) != TOKEN_LEN ||
	    keylen == 0)
		return TOKEN_INVALID;
	for (i = 0; i < TOKEN_RAW / 3; i++) {
		v = 0;
		for (j = 0; j < 4; j++) {
			if ((k = b64url_value((unsigned char)s[4 * i + j])) < 0)
				return TOKEN_INVALID;
			v = v << 6 | (uint32_t)k;
		}
		raw[3 * i] = (unsigned char)(v >> 16);
		raw[3 * i + 1] = (unsigned char)(v >> 8);
		raw[3 * i + 2] = (unsigned char)v;
	}
	if (token_mac(raw, key, keylen, mac) != 0)
		return TOKEN_INVALID;
	ok = CRYPTO_memcmp(mac, raw + TOKEN_BODY, TOKEN_MAC) == 0;
	OPENSSL_cleanse(mac, sizeof(mac));
	if (!ok)
		return TOKEN_INVALID;
	/* Authentic from here on: the rest is policy, not secrecy. */
	if (raw[0] != TOKEN_VERSION || raw[1] != purpose ||
	    (raw[2] & 0x80) != 0)
		return TOKEN_INVALID;
	issued = (time_t)get_be(raw + 14, 6);
	if (issued > now + TOKEN_SKEW)
		return TOKEN_INVALID;
	if (max_age > 0 && now - issued > max_age)
		return TOKEN_EXPIRED;
	if (out != NULL) {
		out->purpose = raw[1];
		out->subscriber = (int64_t)get_be(raw + 2, 8);
		out->list = (uint32_t)get_be(raw + 10, 4);
		out->issued = issued;
	}
	return TOKEN_OK;
}

char *
token_verp_address(const char *token, const char *prefix, const char *domain)
{
	return xsprintf("%s+%s@%s", prefix, token, domain);
}

int
token_verp_parse(const char *addr, const char *prefix, char *out,
    size_t outlen)
{
	size_t		 plen = strlen(prefix);
	const char	*t, *at;

	if (strncasecmp(addr, prefix, plen) != 0 || addr[plen] != '+')
		return -1;
	t = addr + plen + 1;
	if ((at = strchr(t, '@')) == NULL || at - t != TOKEN_LEN ||
	    outlen < TOKEN_LEN + 1)
		return -1;
	memcpy(out, t, TOKEN_LEN);
	out[TOKEN_LEN] = '\0';
	return 0;
}
