/*
 * A small tree of values (null, bool, number, string, list, map), the
 * common currency between the issue parser (YAML), the template engine
 * and the renderer.  Nodes remember where they came from (line, column)
 * so errors can point at them.  Pure: no I/O, no globals.
 */
#ifndef HERALD_VALUE_H
#define HERALD_VALUE_H

#include <stddef.h>

enum value_type {
	VALUE_NULL,
	VALUE_BOOL,
	VALUE_NUMBER,
	VALUE_STRING,
	VALUE_LIST,
	VALUE_MAP,
};

#define VALUE_F_MARKDOWN	0x01	/* a string holding CommonMark */
#define VALUE_F_VOLATILE	0x02	/* differs per recipient (mustache plans) */

struct value {
	enum value_type	 type;
	int		 flags;
	size_t		 line, col;	/* 1-based source position, 0 unknown */
	union {
		int	 b;
		double	 num;
		struct {
			char	*s;	/* NUL-terminated, may hold no NUL */
			size_t	 len;
		} str;
		struct {
			struct value	**v;
			size_t		  n, cap;
		} list;
		struct {
			char		**k;
			struct value	**v;
			size_t		  n, cap;
		} map;
	} u;
};

struct value	*value_null(void);
struct value	*value_bool(int);
struct value	*value_number(double);
struct value	*value_string(const char *, size_t);
struct value	*value_cstring(const char *);
struct value	*value_string_take(char *, size_t);	/* takes ownership */
struct value	*value_list(void);
struct value	*value_map(void);
void		 value_list_push(struct value *list, struct value *);
/* Set key in a map, replacing (and freeing) an existing value. */
void		 value_map_set(struct value *map, const char *key, struct value *);
struct value	*value_map_get(const struct value *map, const char *key);
/* Follow a dotted path ("a.b.c") from a map; NULL when any step misses. */
struct value	*value_path(const struct value *, const char *path);
struct value	*value_copy(const struct value *);
void		 value_free(struct value *);
/* Mustache truthiness: false, null and empty lists are falsy. */
int		 value_truthy(const struct value *);
/* Append the text form of a scalar to a buffer (numbers as %g). */
struct buf;
void		 value_to_text(const struct value *, struct buf *);
/*
 * Resolve a plain YAML scalar by the core schema: null, ~, true/false,
 * integers and floats; anything else is a string.
 */
struct value	*value_from_plain_scalar(const char *, size_t);

#endif
