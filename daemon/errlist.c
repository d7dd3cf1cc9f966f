/* Collects every error a parser finds, each with its location. */
#include "autoconf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "errlist.h"
#include "xmalloc.h"

void
errlist_init(struct errlist *e)
{
	e->msgs = NULL;
	e->n = e->cap = e->dropped = 0;
	e->max = 0;
}

void
errlist_add(struct errlist *e, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;
	size_t	 max = e->max ? e->max : 1000;

	if (e->n >= max) {
		e->dropped++;
		return;
	}
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = xstrdup("(out of memory formatting an error)");
	va_end(ap);
	if (e->n == e->cap) {
		e->cap = e->cap ? e->cap * 2 : 8;
		e->msgs = xreallocarray(e->msgs, e->cap, sizeof(*e->msgs));
	}
	e->msgs[e->n++] = s;
}

size_t
errlist_count(const struct errlist *e)
{
	return e->n + e->dropped;
}

void
errlist_print(const struct errlist *e, FILE *fp, const char *prefix)
{
	size_t	i;

	for (i = 0; i < e->n; i++) {
		if (prefix != NULL)
			fprintf(fp, "%s: %s\n", prefix, e->msgs[i]);
		else
			fprintf(fp, "%s\n", e->msgs[i]);
	}
	if (e->dropped > 0) {
		if (prefix != NULL)
			fprintf(fp, "%s: ", prefix);
		fprintf(fp, "... and %zu more errors\n", e->dropped);
	}
}

void
errlist_free(struct errlist *e)
{
	size_t	i;

	for (i = 0; i < e->n; i++)
		free(e->msgs[i]);
	free(e->msgs);
	errlist_init(e);
}
