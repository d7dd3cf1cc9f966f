/*
 * Email address checking: a practical RFC 5321/5322 addr-spec check.
 * Internationalized domains are stored as given (in Unicode) and
 * converted to ASCII (IDNA2008, libidn2) for the SMTP envelope;
 * non-ASCII local parts (SMTPUTF8) are refused.
 */
#ifndef HERALD_ADDR_H
#define HERALD_ADDR_H

#include <stddef.h>

/*
 * Check addr and return its normal form in *norm (allocated): surrounding
 * white space refused, the domain lowercased, the local part kept as
 * given.  Returns 0, or -1 with *why set to a static description.
 */
int	addr_check(const char *addr, char **norm, const char **why);
/* The address with its domain in ASCII (A-labels) for SMTP; allocated. */
int	addr_to_ascii(const char *addr, char **ascii, const char **why);
/* Pointer to the domain part of a checked address. */
const char *addr_domain(const char *addr);

/*
 * Additions beyond the first contract.  Decisions: a domain needs at
 * least two labels ("user@localhost" is refused), IP address literals
 * ("user@[192.0.2.1]") and all-digit last labels are refused, a quoted
 * local part ("john doe"@example.org) is accepted and kept as given.
 * The limits (254 octets in all, 64 for the local part, 253 for the
 * domain, 63 for a label) apply to the ASCII form sent over SMTP.  A
 * Unicode domain is normalized to lowercase NFC (not case-folded, so
 * that IDNA2008 "ß" stays itself) and converted with libidn2
 * (IDN2_NONTRANSITIONAL); a domain given already in A-labels
 * ("xn--bcher-kva.example") is validated and kept in that form.
 *
 * Reasons are precise ("domain label 'a_b' has an invalid character
 * '_'"); the wrappers above point *why at a per-thread buffer valid until
 * the next addr_* call in the same thread, the *_r forms below write into
 * the caller's buffer.
 */
#define ADDR_WHY_MAX	160

int	addr_check_r(const char *addr, char **norm, char *why, size_t whylen);
int	addr_to_ascii_r(const char *addr, char **ascii, char *why,
	    size_t whylen);

#endif
