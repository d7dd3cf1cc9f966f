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

/*
 * Plans: one render of a template that serves every context differing
 * only in the values flagged VALUE_F_VOLATILE (what differs per
 * recipient).  mustache_plan renders like mustache_render, except that a
 * volatile value interpolated is left out of out and noted as a slot,
 * and a section or inverted section on a volatile value is taken as this
 * context has it and noted as a condition.  The plan holds for another
 * context (same depth; its values the same but for volatile ones, its
 * maps with the same keys) when mustache_plan_holds says every condition
 * comes out the same; the render for that context is then out with each
 * slot's value (mustache_plan_fill) inserted at its offset.
 * Returns 0; 1 and *cause when the template cannot be planned (a volatile
 * value iterated as a list or map, used as a partial name, found in a
 * section's frame, or printed where indentation is owed); -1 as
 * mustache_render.  The plan points into the templates rendered (the
 * partials too): they must outlive it.
 */
struct mustache_plan;
int			 mustache_plan(const struct mustache_tmpl *,
			    const struct value *const *stack, size_t depth,
			    int flags, mustache_partial_fn partial, void *arg,
			    struct buf *out, struct mustache_plan **,
			    char **cause);
int			 mustache_plan_holds(const struct mustache_plan *,
			    const struct value *const *stack, size_t depth);
size_t			 mustache_plan_nslots(const struct mustache_plan *);
/* Where slot i goes in out; slots are in order. */
size_t			 mustache_plan_slot_at(const struct mustache_plan *,
			    size_t i);
/* Append slot i's value in the context stack[0..depth-1]. */
void			 mustache_plan_fill(const struct mustache_plan *,
			    size_t i, const struct value *const *stack,
			    size_t depth, struct buf *out);
void			 mustache_plan_free(struct mustache_plan *);
/* The name given to mustache_parse(). */
const char		*mustache_name(const struct mustache_tmpl *);

void			 mustache_free(struct mustache_tmpl *);

#endif
