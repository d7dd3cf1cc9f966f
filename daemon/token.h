/* HMAC-signed tokens for links (unsubscribe, confirm, archive) and VERP. */
#ifndef HERALD_TOKEN_H
#define HERALD_TOKEN_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define TOKEN_VERSION		1
/* Characters of a token: 36 bytes in base64url without padding. */
#define TOKEN_LEN		48
/* Confirmation links expire after a week unless told otherwise. */
#define TOKEN_CONFIRM_MAX_AGE	(7 * 24 * 60 * 60)
/* Clock skew tolerated for a token issued "in the future". */
#define TOKEN_SKEW		300

enum token_purpose {
	TOKEN_UNSUBSCRIBE = 1,
	TOKEN_CONFIRM = 2,
	TOKEN_VIEW = 3,		/* view online / archive */
	TOKEN_BOUNCE = 4	/* VERP return path */
};

struct token {
	int		purpose;	/* enum token_purpose */
	int64_t		subscriber;	/* 0 .. 2^63-1 */
	uint32_t	list;
	time_t		issued;		/* 0 .. 2^48-1 seconds */
};

/* Results of token_verify(). */
#define TOKEN_OK	0
#define TOKEN_INVALID	-1	/* malformed, forged, altered, wrong purpose */
#define TOKEN_EXPIRED	-2	/* authentic but older than max_age */

/*
 * The token for t under key: base64url of version, purpose, subscriber,
 * list and issue time, then 128 bits of HMAC-SHA256 over them.  Returns
 * NULL for a field out of range.  Caller frees.
 */
char	*token_make(const struct token *, const unsigned char *key,
	    size_t keylen);
/*
 * Check a token in constant time: its MAC, then its purpose, then its age
 * (max_age 0: none).  Fills out (may be NULL) only on TOKEN_OK.
 */
int	 token_verify(const char *, int purpose, const unsigned char *key,
	    size_t keylen, time_t now, time_t max_age, struct token *out);
/* HMAC-SHA256 of msg under key into out.  0, or -1 if OpenSSL fails. */
#define TOKEN_HMAC_LEN	32
int	 token_hmac(const unsigned char *key, size_t keylen, const void *msg,
	    size_t len, unsigned char out[TOKEN_HMAC_LEN]);
/* "bounces+TOKEN@domain" for a TOKEN_BOUNCE token.  Caller frees. */
char	*token_verp_address(const char *token, const char *prefix,
	    const char *domain);
/*
 * The token inside a VERP address "prefix+TOKEN@domain" (case of the prefix
 * and domain ignored), copied to out (TOKEN_LEN + 1 bytes).  0 or -1.
 */
int	 token_verp_parse(const char *addr, const char *prefix,
	    char *out, size_t outlen);

#endif
