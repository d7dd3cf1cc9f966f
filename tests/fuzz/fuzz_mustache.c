/* libFuzzer target: parse any bytes as a template and render them. */
#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "mustache.h"
#include "value.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct value		*fuzz_ctx;
static struct mustache_tmpl	*fuzz_part;
static struct mustache_tmpl	*fuzz_self;	/* the input, for recursion */

static const struct mustache_tmpl *
fuzz_partial(void *arg, const char *name)
{
	if (strcmp(name, "none") == 0)
		return NULL;
	if (strcmp(name, "self") == 0)
		return fuzz_self;
	return fuzz_part;
}

static void
fuzz_init(void)
{
	static const char	 part[] = "<p>\n  {{name}}{{$b}}\n  blk "
	    "{{#list}}{{.}}{{/list}}\n  {{/b}}\n</p>\n";
	struct value		*l, *m;
	char			*cause = NULL;

	fuzz_ctx = value_map();
	value_map_set(fuzz_ctx, "name", value_cstring("<Sokha & \"Dara\">"));
	value_map_set(fuzz_ctx, "n", value_number(1.21));
	value_map_set(fuzz_ctx, "t", value_bool(1));
	value_map_set(fuzz_ctx, "f", value_bool(0));
	value_map_set(fuzz_ctx, "z", value_null());
	value_map_set(fuzz_ctx, "p", value_cstring("part"));
	l = value_list();
	value_list_push(l, value_cstring("a\nb"));
	value_map_set(fuzz_ctx, "list", l);
	m = value_map();
	value_map_set(m, "name", value_cstring("inner"));
	value_map_set(m, "list", value_list());
	value_map_set(fuzz_ctx, "m", m);
	fuzz_part = mustache_parse("part", part, sizeof(part) - 1, &cause);
	if (fuzz_part == NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct value	*stack[1];
	struct mustache_tmpl	*t;
	struct buf		 out = BUF_INIT;
	char			*cause = NULL;

	if (fuzz_ctx == NULL)
		fuzz_init();
	t = mustache_parse("fuzz", (const char *)data, size, &cause);
	if (t == NULL) {
		/* Every error names the template and a line. */
		if (cause == NULL || strncmp(cause, "fuzz:", 5) != 0)
			abort();
		free(cause);
		return 0;
	}
	stack[0] = fuzz_ctx;
	fuzz_self = t;
	if (mustache_render(t, stack, 1, 0, fuzz_partial, NULL, &out,
	    &cause) == -1) {
		if (cause == NULL)
			abort();
		free(cause);
		cause = NULL;
	}
	buf_reset(&out);
	(void)mustache_render(t, stack, 1, MUSTACHE_NOESCAPE, fuzz_partial,
	    NULL, &out, &cause);
	free(cause);
	buf_free(&out);
	mustache_free(t);
	return 0;
}
