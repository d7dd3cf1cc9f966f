/*
 * Email address checking: a practical RFC 5321/5322 addr-spec check.
 * Internationalized domains are stored as given (in Unicode) and
 * converted to ASCII (IDNA2008, libidn2) for the SMTP envelope;
 * non-ASCII local parts (SMTPUTF8) are refused.
 */
#ifndef HERALD_ADDR_H
#define HERALD_ADDR_H

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

#endif
