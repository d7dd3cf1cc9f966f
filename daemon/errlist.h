/*
 * A list of error messages, so that a parser can report every error it
 * finds, not only the first.  Messages are already formatted with their
 * location ("FILE:LINE: message" or "FILE:LINE:COL: message").
 */
#ifndef HERALD_ERRLIST_H
#define HERALD_ERRLIST_H

#include <stddef.h>
#include <stdio.h>

struct errlist {
	char	**msgs;
	size_t	  n;
	size_t	  cap;
	size_t	  max;		/* stop collecting after this many (0: 1000) */
	size_t	  dropped;	/* errors past max, counted not kept */
};

#define ERRLIST_INIT { NULL, 0, 0, 0, 0 }

void	errlist_init(struct errlist *);
void	errlist_add(struct errlist *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
size_t	errlist_count(const struct errlist *);	/* kept + dropped */
/* Print each message as "prefix: message\n" (no prefix when NULL). */
void	errlist_print(const struct errlist *, FILE *, const char *prefix);
void	errlist_free(struct errlist *);

#endif
