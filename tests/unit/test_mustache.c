/* Unit tests of the Mustache engine beyond the spec: errors and limits. */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "buf.h"
#include "mustache.h"
#include "value.h"
#include "xmalloc.h"

/* Partials by name from a NULL-terminated list of {name, template}. */
struct lib {
	const char		*names[8];
	struct mustache_tmpl	*tmpls[8];
};

static const struct mustache_tmpl *
lib_get(void *arg, const char *name)
{
	struct lib	*l = arg;
	size_t		 i;

	for (i = 0; i < 8 && l->names[i] != NULL; i++)
		if (strcmp(l->names[i], name) == 0)
			return l->tmpls[i];
	return NULL;
}

static struct mustache_tmpl *
parse_ok(const char *name, const char *src)
{
	struct mustache_tmpl	*t;
	char			*cause = NULL;

	t = mustache_parse(name, src, strlen(src), &cause);
	if (t == NULL)
		fail_msg("%s: unexpected parse error: %s", name, cause);
	return t;
}

static void
lib_add(struct lib *l, const char *name, const char *src)
{
	size_t	i = 0;

	while (l->names[i] != NULL)
		i++;
	l->names[i] = name;
	l->tmpls[i] = parse_ok(name, src);
}

static void
lib_free(struct lib *l)
{
	size_t	i;

	for (i = 0; i < 8 && l->names[i] != NULL; i++)
		mustache_free(l->tmpls[i]);
}

/* Render src against one value; returns the output (caller frees). */
static char *
render(const char *src, const struct value *data, int flags, struct lib *l)
{
	struct mustache_tmpl	*t = parse_ok("t", src);
	const struct value	*stack[1] = { data };
	struct buf		 out = BUF_INIT;
	char			*cause = NULL;

	if (mustache_render(t, stack, data ? 1 : 0, flags, l ? lib_get : NULL,
	    l, &out, &cause) == -1)
		fail_msg("unexpected render error: %s", cause);
	mustache_free(t);
	buf_reserve(&out, 0);
	return buf_steal(&out);
}

static void
parse_fails(const char *src, const char *want)
{
	char			*cause = NULL;
	struct mustache_tmpl	*t;

	t = mustache_parse("page.mustache", src, strlen(src), &cause);
	assert_null(t);
	assert_non_null(cause);
	if (strcmp(cause, want) != 0)
		fail_msg("for \"%s\": got \"%s\", want \"%s\"", src, cause,
		    want);
	free(cause);
}

static void
test_parse_errors(void **state)
{
	parse_fails("a\n{{#items}}\nx\n",
	    "page.mustache:2: unclosed section 'items'");
	parse_fails("{{#a}}\n{{#b}}\n{{/a}}",
	    "page.mustache:3: close tag 'a' does not match 'b' opened at "
	    "line 2");
	parse_fails("x\n\n{{/a}}",
	    "page.mustache:3: close tag without an open section 'a'");
	parse_fails("ok\nHello {{name",
	    "page.mustache:2: unclosed tag: no closing '}}'");
	parse_fails("{{{name}}", "page.mustache:1: unclosed tag: no closing "
	    "'}}}'");
	parse_fails("{{=<%>=}}", "page.mustache:1: bad delimiter change "
	    "'<%>'");
	parse_fails("{{= a b c =}}", "page.mustache:1: bad delimiter change "
	    "' a b c '");
	parse_fails("\n{{}}", "page.mustache:2: empty tag name");
	parse_fails("{{a b}}", "page.mustache:1: whitespace in tag name "
	    "'a b'");
	parse_fails("{{a..b}}", "page.mustache:1: empty part in dotted name "
	    "'a..b'");
	parse_fails("{{<layout}}{{$x}}\n", "page.mustache:1: unclosed "
	    "section 'x'");
}

/* Found by the fuzzer: a NUL byte inside a tag name. */
static void
test_nul_name(void **state)
{
	static const char	 src[] = "a\n{{x\0y}}";
	char			*cause = NULL;

	assert_null(mustache_parse("nul", src, sizeof(src) - 1, &cause));
	assert_string_equal(cause, "nul:2: NUL byte in tag name");
	free(cause);
}

static void
test_nesting_limit(void **state)
{
	struct buf	 src = BUF_INIT;
	char		*cause = NULL;
	int		 i;

	for (i = 0; i < 300; i++)
		buf_adds(&src, "{{#a}}");
	assert_null(mustache_parse("deep", src.data, src.len, &cause));
	assert_non_null(strstr(cause, "nested too deeply"));
	free(cause);
	buf_free(&src);
}

static void
test_recursion_limit(void **state)
{
	struct lib		 l = { { NULL }, { NULL } };
	struct mustache_tmpl	*t;
	struct buf		 out = BUF_INIT;
	char			*cause = NULL;
	struct value		*data = NULL, *n;
	const struct value	*stack[1];
	int			 i;

	lib_add(&l, "loop", "x\n{{>loop}}");
	t = parse_ok("main", "{{>loop}}");
	assert_int_equal(mustache_render(t, NULL, 0, 0, lib_get, &l, &out,
	    &cause), -1);
	assert_non_null(cause);
	assert_non_null(strstr(cause, "loop:2: templates nest deeper"));
	free(cause);
	cause = NULL;
	mustache_free(t);

	/* A partial that doubles itself 20 levels deep stops early. */
	for (i = 0; i < 20; i++) {
		n = value_map();
		value_map_set(n, "n", data != NULL ? data : value_bool(0));
		data = n;
	}
	stack[0] = data;
	lib_add(&l, "twice", "{{#n}}{{>twice}}{{>twice}}{{/n}}");
	t = parse_ok("main", "{{>twice}}");
	assert_int_equal(mustache_render(t, stack, 1, 0, lib_get, &l, &out,
	    &cause), -1);
	value_free(data);
	assert_non_null(strstr(cause, "twice:1: more than 100000 partials"));
	free(cause);
	cause = NULL;
	mustache_free(t);

	/* A block whose override holds the same block. */
	lib_add(&l, "layout", "[{{$x}}d{{/x}}]");
	t = parse_ok("self", "{{<layout}}{{$x}}a{{$x}}b{{/x}}{{/x}}"
	    "{{/layout}}");
	buf_reset(&out);
	assert_int_equal(mustache_render(t, NULL, 0, 0, lib_get, &l, &out,
	    &cause), -1);
	assert_non_null(strstr(cause, "nest deeper"));
	free(cause);
	cause = NULL;
	mustache_free(t);
	buf_free(&out);
	lib_free(&l);
}

/* Sections inside recursive partials are bounded too (the C stack). */
static void
test_section_limit(void **state)
{
	struct lib		 l = { { NULL }, { NULL } };
	struct mustache_tmpl	*t;
	struct value		*m = value_map();
	const struct value	*stack[1] = { m };
	struct buf		 out = BUF_INIT, src = BUF_INIT;
	char			*cause = NULL;
	int			 i;

	value_map_set(m, "a", value_bool(1));
	for (i = 0; i < 40; i++)
		buf_adds(&src, "{{#a}}");
	buf_adds(&src, "{{>deep}}");
	for (i = 0; i < 40; i++)
		buf_adds(&src, "{{/a}}");
	lib_add(&l, "deep", src.data);
	t = parse_ok("main", "{{>deep}}");
	assert_int_equal(mustache_render(t, stack, 1, 0, lib_get, &l, &out,
	    &cause), -1);
	assert_non_null(strstr(cause, "deep:1: more than 2000 sections"));
	free(cause);
	mustache_free(t);
	buf_free(&out);
	buf_free(&src);
	lib_free(&l);
	value_free(m);
}

static void
test_escaping(void **state)
{
	struct value	*m = value_map();
	char		*s;

	value_map_set(m, "x", value_cstring("<a href=\"q\">Tom & Jerry's</a>"));
	s = render("{{x}}|{{{x}}}|{{&x}}", m, 0, NULL);
	assert_string_equal(s, "&lt;a href=&quot;q&quot;&gt;Tom &amp; "
	    "Jerry&#39;s&lt;/a&gt;|<a href=\"q\">Tom & Jerry's</a>|"
	    "<a href=\"q\">Tom & Jerry's</a>");
	free(s);
	s = render("{{x}}", m, MUSTACHE_NOESCAPE, NULL);
	assert_string_equal(s, "<a href=\"q\">Tom & Jerry's</a>");
	free(s);
	value_free(m);
}

static void
test_values(void **state)
{
	struct value	*m = value_map(), *l = value_list();
	char		*s;

	value_map_set(m, "n", value_number(1.210));
	value_map_set(m, "i", value_number(42));
	value_map_set(m, "neg", value_number(-0.5));
	value_map_set(m, "t", value_bool(1));
	value_map_set(m, "z", value_null());
	value_list_push(l, value_cstring("km"));
	value_list_push(l, value_cstring("en"));
	value_map_set(m, "langs", l);
	s = render("{{n}} {{i}} {{neg}} {{t}} [{{z}}] "
	    "{{#langs}}<{{.}}>{{/langs}}{{^langs}}none{{/langs}} [{{langs}}]",
	    m, 0, NULL);
	assert_string_equal(s, "1.21 42 -0.5 true [] <km><en> []");
	free(s);
	value_free(m);
}

static void
test_stack(void **state)
{
	struct value		*low = value_map(), *high = value_map();
	const struct value	*stack[2];
	struct mustache_tmpl	*t;
	struct buf		 out = BUF_INIT;
	char			*cause = NULL;
	int			 i;

	value_map_set(low, "site", value_cstring("R2P"));
	value_map_set(low, "name", value_cstring("low"));
	value_map_set(high, "name", value_cstring("Sokha"));
	stack[0] = low;
	stack[1] = high;
	t = parse_ok("t", "{{name}} @ {{site}}\n");
	/* One parse, many renders, the same output each time. */
	for (i = 0; i < 3; i++)
		assert_int_equal(mustache_render(t, stack, 2, 0, NULL, NULL,
		    &out, &cause), 0);
	assert_string_equal(out.data, "Sokha @ R2P\nSokha @ R2P\n"
	    "Sokha @ R2P\n");
	mustache_free(t);
	buf_free(&out);
	value_free(low);
	value_free(high);
}

static void
test_layout(void **state)
{
	struct lib	 l = { { NULL }, { NULL } };
	struct value	*m = value_map();
	char		*s;

	value_map_set(m, "title", value_cstring("Bulletin 3"));
	value_map_set(m, "body", value_cstring("line one\nline two"));
	lib_add(&l, "layout",
	    "<html>\n"
	    "  <head><title>{{$title}}Friends of R2P{{/title}}</title></head>\n"
	    "  <body>\n"
	    "    {{$content}}\n"
	    "    <p>nothing</p>\n"
	    "    {{/content}}\n"
	    "    {{>footer}}\n"
	    "  </body>\n"
	    "</html>\n");
	lib_add(&l, "footer", "<footer>\n  bye\n</footer>\n");
	s = render(
	    "{{<layout}}\n"
	    "{{$title}}{{title}}{{/title}}\n"
	    "{{$content}}\n"
	    "<h1>{{title}}</h1>\n"
	    "<pre>{{body}}</pre>\n"
	    "{{/content}}\n"
	    "{{/layout}}\n", m, 0, &l);
	assert_string_equal(s,
	    "<html>\n"
	    "  <head><title>Bulletin 3</title></head>\n"
	    "  <body>\n"
	    "    <h1>Bulletin 3</h1>\n"
	    "    <pre>line one\nline two</pre>\n"
	    "    <footer>\n"
	    "      bye\n"
	    "    </footer>\n"
	    "  </body>\n"
	    "</html>\n");
	free(s);
	/* Missing partials and a missing callback render empty. */
	s = render("[{{>nope}}{{<nope}}{{/nope}}]", m, 0, &l);
	assert_string_equal(s, "[]");
	free(s);
	s = render("[{{>footer}}]", m, 0, NULL);
	assert_string_equal(s, "[]");
	free(s);
	lib_free(&l);
	value_free(m);
}

/* ---------------------------------------------------------------- plans */

/* A small deterministic generator of random numbers (xorshift). */
static uint64_t	plan_rng = 0x9e3779b97f4a7c15ULL;

static unsigned
plan_rand(unsigned n)
{
	plan_rng ^= plan_rng << 13;
	plan_rng ^= plan_rng >> 7;
	plan_rng ^= plan_rng << 17;
	return (unsigned)(plan_rng % n);
}

/* A random template over the subscriber fields, nesting up to depth. */
static void
plan_gen(struct buf *b, int depth)
{
	static const char *const leaf[] = {
		"text", " ", "\n", "  ", "{{s.name}}", "{{{s.name}}}",
		"{{&s.city}}", "{{s.email}}", "{{lang}}", "{{title}}",
		"{{s.missing}}", "{{! a comment }}", "{{>p}}", "\n  {{>p}}\n",
		"{{s.name}}\n", "\n{{s.name}}", "x{{s.name}}y{{s.city}}z\n",
	};
	static const char *const open[][2] = {
		{ "{{#s.name}}", "{{/s.name}}" },
		{ "{{^s.name}}", "{{/s.name}}" },
		{ "{{#s.city}}", "{{/s.city}}" },
		{ "{{^s.city}}", "{{/s.city}}" },
		{ "{{#items}}{{.}} ", "{{/items}}" },
		{ "{{#title}}", "{{/title}}" },
		{ "\n{{#s.name}}\n", "\n{{/s.name}}\n" },
	};
	unsigned	i, n = 1 + plan_rand(5), k;

	for (i = 0; i < n; i++) {
		if (depth > 0 && plan_rand(3) == 0) {
			k = plan_rand(sizeof(open) / sizeof(open[0]));
			buf_adds(b, open[k][0]);
			plan_gen(b, depth - 1);
			buf_adds(b, open[k][1]);
		} else if (plan_rand(40) == 0)
			/* What a plan cannot hold: the implicit iterator. */
			buf_adds(b, "{{#s.name}}{{.}}{{/s.name}}");
		else
			buf_adds(b, leaf[plan_rand(sizeof(leaf) /
			    sizeof(leaf[0]))]);
	}
}

/* Subscriber i of the variants: its context, the volatile part flagged. */
static struct value *
plan_ctx(unsigned i)
{
	static const char *const names[] = { NULL, "", "Ann",
	    "<b>&\"x\"", "two\nlines", "ចាន់" };
	struct value	*ctx = value_map(), *sub = value_map(), *v;

	if (names[i % 6] != NULL)
		value_map_set(sub, "name", value_cstring(names[i % 6]));
	if ((i / 6) % 2)
		value_map_set(sub, "city", value_cstring("Phnom Penh"));
	value_map_set(sub, "email", value_cstring("a@b.example"));
	sub->flags |= VALUE_F_VOLATILE;
	value_map_set(ctx, "s", sub);
	v = value_cstring((i / 12) % 2 ? "km" : "en");
	v->flags |= VALUE_F_VOLATILE;
	value_map_set(ctx, "lang", v);
	return ctx;
}

/*
 * Random templates: whenever a plan made for one subscriber holds for
 * another, its text with the slots filled is byte for byte what a full
 * render for that subscriber gives.
 */
static void
test_plans_random(void **state)
{
	struct value		*data, *items, *ctx[24];
	struct mustache_tmpl	*t;
	struct mustache_plan	*plan;
	struct lib		 l;
	struct buf		 src = BUF_INIT, psrc = BUF_INIT;
	struct buf		 full = BUF_INIT, text = BUF_INIT, got = BUF_INIT;
	const struct value	*stack[2];
	char			*cause = NULL;
	unsigned		 round, a, b, k, planned = 0, checked = 0;
	size_t			 at, pos;
	int			 rc;

	data = value_map();
	value_map_set(data, "title", value_cstring("T & <t>"));
	items = value_list();
	value_list_push(items, value_cstring("one"));
	value_list_push(items, value_cstring("two"));
	value_map_set(data, "items", items);
	for (a = 0; a < 24; a++)
		ctx[a] = plan_ctx(a);
	stack[0] = data;
	for (round = 0; round < 400; round++) {
		buf_reset(&src);
		buf_reset(&psrc);
		plan_gen(&src, 3);
		plan_gen(&psrc, 1);
		memset(&l, 0, sizeof(l));
		lib_add(&l, "p", buf_cstr(&psrc));
		t = parse_ok("t", buf_cstr(&src));
		a = plan_rand(24);
		stack[1] = ctx[a];
		buf_reset(&text);
		rc = mustache_plan(t, stack, 2, round % 2 ? MUSTACHE_NOESCAPE :
		    0, lib_get, &l, &text, &plan, &cause);
		if (rc == -1) {
			/* The partial includes itself: a full render fails. */
			free(cause);
			cause = NULL;
			buf_reset(&full);
			assert_int_equal(mustache_render(t, stack, 2, 0,
			    lib_get, &l, &full, &cause), -1);
		}
		if (rc != 0) {
			free(cause);
			cause = NULL;
			mustache_free(t);
			lib_free(&l);
			continue;
		}
		planned++;
		/* A plan holds for the subscriber it was made for. */
		assert_true(mustache_plan_holds(plan, stack, 2));
		for (b = 0; b < 24; b++) {
			stack[1] = ctx[b];
			if (!mustache_plan_holds(plan, stack, 2))
				continue;
			buf_reset(&got);
			for (k = 0, pos = 0; k < mustache_plan_nslots(plan);
			    k++) {
				at = mustache_plan_slot_at(plan, k);
				buf_add(&got, text.data + pos, at - pos);
				mustache_plan_fill(plan, k, stack, 2, &got);
				pos = at;
			}
			buf_add(&got, text.data + pos, text.len - pos);
			buf_reset(&full);
			assert_int_equal(mustache_render(t, stack, 2,
			    round % 2 ? MUSTACHE_NOESCAPE : 0, lib_get, &l,
			    &full, &cause), 0);
			if (got.len != full.len ||
			    memcmp(got.data, full.data, got.len) != 0)
				fail_msg("template \"%s\" (partial \"%s\"), "
				    "planned for %u, subscriber %u:\n"
				    "planned: \"%s\"\nfull:    \"%s\"",
				    buf_cstr(&src), buf_cstr(&psrc), a, b,
				    buf_cstr(&got), buf_cstr(&full));
			checked++;
		}
		mustache_plan_free(plan);
		mustache_free(t);
		lib_free(&l);
	}
	print_message("planned %u of 400, checked %u\n", planned, checked);
	/* Not vacuous: most templates plan, and plans serve many. */
	assert_true(planned > 200);
	assert_true(checked > 2000);
	for (a = 0; a < 24; a++)
		value_free(ctx[a]);
	value_free(data);
	buf_free(&src);
	buf_free(&psrc);
	buf_free(&full);
	buf_free(&text);
	buf_free(&got);
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_nul_name),
		cmocka_unit_test(test_nesting_limit),
		cmocka_unit_test(test_recursion_limit),
		cmocka_unit_test(test_section_limit),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_stack),
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_plans_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
