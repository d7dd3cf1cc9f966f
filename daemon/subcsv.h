/*
 * Subscriber CSV files (RFC 4180, UTF-8, with or without a BOM, CRLF or
 * LF).  The header row names the columns: email is required, name and
 * lang are known, every other column becomes an attribute.  Reading
 * checks every row and reports each bad one as "FILE:LINE: reason".
 */
#ifndef HERALD_SUBCSV_H
#define HERALD_SUBCSV_H

#include <stddef.h>
#include <stdio.h>

struct errlist;

struct subcsv_attr {
	char	*key;
	char	*val;
};

struct subcsv_row {
	size_t			 line;	/* line where the record starts */
	char			*email;	/* normalized by addr_check() */
	char			*name;	/* NULL when the column is absent/empty */
	char			*lang;	/* NULL when absent/empty */
	struct subcsv_attr	*attrs;
	size_t			 nattrs;
};

struct subcsv {
	struct subcsv_row	*rows;	/* good rows, duplicates merged */
	size_t			 nrows;
	size_t			 nbad;	/* rows refused */
	size_t			 ndup;	/* rows merged into an earlier one */
};

/*
 * Read a whole subscriber CSV from fp; name is used in messages.  Every
 * bad row is added to errs.  Returns 0 when the file could be read at all
 * (bad rows are counted in nbad), -1 on a fatal error (no email column,
 * unreadable file, broken quoting at the end), also reported in errs.
 * The same address twice (case-insensitive domain) is merged: later
 * non-empty fields win.
 */
int	subcsv_read(FILE *fp, const char *name, struct subcsv *out,
	    struct errlist *errs);
void	subcsv_free(struct subcsv *);

/* Write one CSV record (RFC 4180 quoting, CRLF line end). */
void	subcsv_write_record(FILE *fp, const char *const *fields, size_t n);

/*
 * Details of the reader (beyond the first contract):
 * - Header names are trimmed of spaces and tabs and matched without case;
 *   attribute keys keep the header's spelling (trimmed).  A column with
 *   an empty name may only hold empty values; a value there is an error.
 * - Data fields are kept exactly as written: no trimming, so an address
 *   with spaces around it is refused by addr_check() with a message, not
 *   silently repaired.  Empty name, lang or attribute values count as
 *   absent (NULL, or no attribute).  lang is lowercased ("pt-br").
 * - Lines are counted from 1 and a BOM on line 1 is skipped; a record
 *   spanning lines (quoted line breaks) is reported at its first line,
 *   invalid UTF-8 at the physical line holding it.  Lines holding only
 *   spaces or tabs between records are skipped like blank ones.
 * - A stray quote (strict RFC 4180) spoils that record only: it is
 *   reported and reading resumes at the next line.  An unclosed quote at
 *   the end of the file, a header problem (no email column, a name twice,
 *   invalid UTF-8) or a read error is fatal.
 * - Duplicates are found with a hash table on the normalized address
 *   (the local part keeps its case: "A@x.org" and "a@x.org" are two rows).
 *   Fields written back by subcsv_write_record() read back identically.
 */

#endif
