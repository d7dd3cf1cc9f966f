/* Checks on untrusted text: UTF-8 validity and control characters. */
#ifndef HERALD_TEXT_H
#define HERALD_TEXT_H

#include <stddef.h>

/* 1 when s[0..len) is valid UTF-8 (no overlongs, no surrogates). */
int	text_utf8_valid(const char *s, size_t len);
/*
 * Check a one-line value that may reach a header (a name, a subject):
 * valid UTF-8 and no C0 or C1 control character, DEL, U+2028 or U+2029.
 * Returns 0, or -1 with *why set to a static description of the problem.
 */
int	text_check_line(const char *s, size_t len, const char **why);
/*
 * Check a language tag (BCP 47 shape: "en", "km", "pt-BR", "zh-Hant-TW"):
 * returns 0 or -1 with *why set.
 */
int	text_check_lang(const char *s, const char **why);

/*
 * Additions beyond the first contract.  Reasons are precise ("contains a
 * line feed at byte 5", "invalid UTF-8 at byte 7"; bytes count from 1).
 * The wrappers above point *why at a per-thread buffer that stays valid
 * until the next call of a text_* function in the same thread; the *_r
 * forms below write the reason into the caller's buffer instead.
 */
#define TEXT_WHY_MAX	160	/* enough for any reason given here */
#define TEXT_LANG_MAX	63	/* longest language tag accepted */

int	text_check_line_r(const char *s, size_t len, char *why, size_t whylen);
int	text_check_lang_r(const char *s, char *why, size_t whylen);
/* Offset of the first byte that is not valid UTF-8, or len when none. */
size_t	text_utf8_invalid_at(const char *s, size_t len);
/*
 * Decode one code point of s[0..len), len > 0: returns its length in
 * bytes and sets *cp, or 0 when not well-formed (strict, as above).
 */
size_t	text_utf8_decode(const char *s, size_t len, unsigned int *cp);
/* A checked language tag in lower case ("pt-BR" -> "pt-br"); allocated. */
char	*text_lang_normalize(const char *s);

#endif
