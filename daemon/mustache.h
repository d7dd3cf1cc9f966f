/*
 * Mustache templates: parsed once into a node tree, rendered many times
 * against a stack of values (value.h) into a struct buf.  Implements the
 * Mustache spec (comments, delimiters, interpolation, sections, inverted
 * sections, partials), inheritance (blocks and parents) and dynamic
 * names; lambdas are not supported.  Pure: no I/O, no globals.
 */
#ifndef HERALD_MUSTACHE_H
#define HERALD_MUSTACHE_H

#include <stddef.h>

struct buf;
struct value;
struct mustache_tmpl;

/* Render flags. */
#define MUSTACHE_NOESCAPE	0x01	/* {{x}} is not HTML-escaped (text) */

/* Nested partials, parents and blocks deeper than this fail to render. */
#define MUSTACHE_MAXDEPTH	100

/*
 * Find a partial or parent template by name; NULL when there is none
 * (it then renders as the empty string).  The template stays owned by
 * the caller and must outlive the render.
 */
typedef const struct mustache_tmpl *(*mustache_partial_fn)(void *arg,
    const char *name);

/*
 * Parse a template.  name is used in messages only.  Returns NULL and
 * sets *cause to "NAME:LINE: message" on an unclosed section, a close
 * tag that does not match, an unclosed tag, an empty or malformed tag
 * name, a bad delimiter change or sections nested too deeply.
 */
struct mustache_tmpl	*mustache_parse(const char *name, const char *src,
			    size_t len, char **cause);

/*
 * Render against the context stack[0..depth-1] (stack[depth-1] is the
 * top), appending to out.  partial (may be NULL) resolves partials and
 * parents.  Returns 0, or -1 with *cause "NAME:LINE: message" when
 * partials, parents or blocks nest deeper than MUSTACHE_MAXDEPTH, when
 * sections (counted across partials) nest deeper than 2000, or when one
 * render expands more than 100000 partials, parents and blocks (a
 * template that doubles itself); out then holds a partial result.
 */
int			 mustache_render(const struct mustache_tmpl *,
			    const struct value *const *stack, size_t depth,
			    int flags, mustache_partial_fn partial, void *arg,
			    struct buf *out, char **cause);

/* The name given to mustache_parse(). */
const char		*mustache_name(const struct mustache_tmpl *);

void			 mustache_free(struct mustache_tmpl *);

#endif
