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

#endif
