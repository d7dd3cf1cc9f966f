/*
 * Render plans (render.c): a message rendered by plan is byte for byte
 * the message rendered in full, for the shipped sample and for templates
 * made to trip a plan up (fields at line starts and ends, several on one
 * line, in sections, in partials, as partial names, iterated).
 */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "buf.h"
#include "errlist.h"
#include "issue.h"
#include "render.h"
#include "xmalloc.h"

#define NOW	((time_t)1790000000)	/* a fixed Date: for both renders */

static const char *
srcdir(void)
{
	const char	*s = getenv("top_srcdir");

	return s != NULL ? s : ".";
}

static void
env_init(struct render_env *env, struct render_list *l, const char *tmpls)
{
	static const char	*key = "test key, not a secret";

	memset(env, 0, sizeof(*env));
	env->templates = tmpls;
	env->base_url = "https://lists.r2p.example";
	env->from_address = "bulletin@r2p.example";
	env->from_name = "Spotlight on R2P";
	env->domain = "r2p.example";
	env->postal_address = "Friends of R2P\nPhnom Penh, Cambodia";
	env->key = (const unsigned char *)key;
	env->keylen = strlen(key);
	memset(l, 0, sizeof(*l));
	l->id = 3;
	l->name = "spotlight";
	l->title = "Spotlight on R2P";
}

/* The subscribers: every shape and every byte that QP treats apart. */
struct sub {
	const char	*email, *name, *lang, *city;
};

static const struct sub subs[] = {
	{ "sok@example.org", "Sok Dara", "en", NULL },
	{ "chenda@example.org", "ចិន្តា សុខ", "km", "ភ្នំពេញ" },
	{ "anon@example.org", NULL, NULL, NULL },
	{ "anon2@example.org", NULL, "km", "Battambang" },
	{ "empty@example.org", "", "en", "" },
	{ "html@example.org", "<b>Tom & \"Jerry\" 'x'</b>", "en", "<i>" },
	{ "sp@example.org", "Trailing space ", "en", "tab\t" },
	{ "dot@example.org", ". dot first", "en", ".." },
	{ "from@example.org", "From here", "en", "From " },
	{ "eq@example.org", "a=b =3D", "en", "=" },
	{ "nl@example.org", "two\nlines ", "en", "x\r\ny" },
	{ "long@example.org",
	    "Averyveryveryveryveryveryveryveryveryveryveryveryveryvery"
	    "veryveryveryveryveryveryveryverylongname Withaverylongsurname"
	    "thatgoesonandonandonandonandonandonandon", "en",
	    "ឆ្ងាយណាស់ឆ្ងាយណាស់ឆ្ងាយណាស់ឆ្ងាយណាស់ឆ្ងាយណាស់" },
	{ "idn@exämple.org", "Ünïcode Ñame", "en", "Zürich" },
};

static void
rcpt_of(const struct sub *s, size_t i, struct render_rcpt *rc,
    struct render_attr *attr)
{
	memset(rc, 0, sizeof(*rc));
	rc->id = (int64_t)i + 1;
	rc->email = s->email;
	rc->name = s->name;
	rc->lang = s->lang;
	if (s->city != NULL) {
		attr->key = "city";
		attr->val = s->city;
		rc->attrs = attr;
		rc->nattrs = 1;
	}
}

/*
 * Render every subscriber by plan and in full and compare; returns how
 * many plans were made.
 */
static size_t
compare(const char *yaml, const char *tmpls)
{
	struct errlist		 errs = ERRLIST_INIT;
	struct issue		*is;
	struct render_issue	*rp, *rf;
	struct render_env	 env;
	struct render_list	 l;
	struct render_rcpt	 rc;
	struct render_attr	 attr;
	struct buf		 a = BUF_INIT, b = BUF_INIT;
	char			*cause = NULL;
	size_t			 i, round, n;
	int			 ra, rb;

	if ((is = issue_parse_file(yaml, NULL, &errs)) == NULL) {
		errlist_print(&errs, stderr, "test_render");
		fail_msg("%s does not parse", yaml);
	}
	env_init(&env, &l, tmpls);
	rp = render_compile(is, 7, NOW, &l, &env, &cause);
	if (rp == NULL)
		fail_msg("%s", cause);
	rf = render_compile(is, 7, NOW, &l, &env, &cause);
	assert_non_null(rf);
	render_use_plans(rf, 0);
	/* Twice round: plans made in the first are reused in the second. */
	for (round = 0; round < 2; round++) {
		for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
			rcpt_of(&subs[i], i, &rc, &attr);
			ra = render_message(rp, &rc, NOW, &a, &cause);
			if (ra != 0)
				free(cause);
			rb = render_message(rf, &rc, NOW, &b, &cause);
			if (rb != 0)
				free(cause);
			assert_int_equal(ra, rb);
			if (ra != 0)
				continue;
			if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
				fail_msg("%s: subscriber %zu (%s): the planned "
				    "message differs from the full render",
				    yaml, i, subs[i].email);
		}
		if (round == 0)
			n = render_plan_count(rp);
		else
			assert_int_equal(render_plan_count(rp), n);
	}
	assert_int_equal(render_plan_count(rf), 0);
	render_free(rp);
	render_free(rf);
	issue_free(is);
	buf_free(&a);
	buf_free(&b);
	return n;
}

static void
test_sample(void **state)
{
	char	*yaml, *tmpls;
	size_t	 n;

	yaml = xsprintf("%s/templates/spotlight/sample.yaml", srcdir());
	tmpls = xsprintf("%s/templates", srcdir());
	n = compare(yaml, tmpls);
	/* en and km; with and without a name; HTML and text. */
	assert_true(n >= 4);
	assert_true(n <= 16);
	free(yaml);
	free(tmpls);
}

static char	 tmpdir[] = "/tmp/test_render.XXXXXX";

static void
put(const char *name, const char *text)
{
	char	*path = xsprintf("%s/%s", tmpdir, name);
	FILE	*f;

	if ((f = fopen(path, "w")) == NULL)
		fail_msg("cannot write %s", path);
	fputs(text, f);
	fclose(f);
	free(path);
}

static void
rm(const char *name)
{
	char	*path = xsprintf("%s/%s", tmpdir, name);

	unlink(path);
	free(path);
}

/* An issue for template "t" in tmpdir with the given bodies. */
static size_t
custom(const char *html, const char *text, const char *partial)
{
	char	*yaml;
	size_t	 n;

	put("t/html.mustache", html);
	put("t/text.mustache", text);
	put("t/part.mustache", partial != NULL ? partial : "");
	put("issue.yaml", "list: spotlight\ntemplate: t\nsubject: Test\n"
	    "who: [ a, b ]\nlabels:\n  hi: Hello\n");
	yaml = xsprintf("%s/issue.yaml", tmpdir);
	n = compare(yaml, tmpdir);
	free(yaml);
	return n;
}

static void
test_edges(void **state)
{
	char	*d;

	if (mkdtemp(tmpdir) == NULL)
		fail_msg("mkdtemp failed");
	d = xsprintf("%s/t", tmpdir);
	assert_int_equal(mkdir(d, 0700), 0);

	/* Fields at the start and the end of lines, several on a line. */
	assert_true(custom(
	    "{{subscriber.name}}\n"
	    "<p>{{labels.hi}} {{subscriber.name}}</p>{{subscriber.email}}\n"
	    "{{{subscriber.name}}}{{&subscriber.attributes.city}}\n"
	    "static line that is long enough to need a soft line break in "
	    "quoted-printable, which happens at 76 characters\n"
	    "{{#subscriber.name}}named {{subscriber.name}}{{/subscriber.name}}"
	    "{{^subscriber.name}}nameless{{/subscriber.name}}\n"
	    "{{#subscriber.attributes.city}}in {{subscriber.attributes.city}}"
	    "{{/subscriber.attributes.city}}\n"
	    "<a href=\"{{links.unsubscribe}}\">x</a> {{lang}}",
	    "{{subscriber.name}}\n. {{subscriber.email}}\n"
	    "{{#who}}{{.}} {{subscriber.name}}\n{{/who}}"
	    "last {{subscriber.attributes.city}}", NULL) >= 4);
	/* A field in a partial, also a standalone indented one. */
	assert_true(custom("<p>\n  {{>part}}\n</p>\n{{>part}} end",
	    "{{>part}}\n", "name: {{subscriber.name}}\nsecond line\n") >= 2);

	/* What a plan cannot hold: rendered in full, the same bytes. */
	assert_int_equal(custom("{{#subscriber.name}}{{.}}"
	    "{{/subscriber.name}}", "x", NULL), 0);
	assert_int_equal(custom("{{#subscriber}}{{name}}{{/subscriber}}",
	    "x", NULL), 0);
	assert_int_equal(custom("{{>*subscriber.name}}", "{{>part}}",
	    "{{subscriber.name}}"), 0);
	assert_int_equal(custom("<p>\n  {{>part}}\n</p>", "x",
	    "{{subscriber.name}} first\n"), 0);

	rm("t/html.mustache");
	rm("t/text.mustache");
	rm("t/part.mustache");
	rm("issue.yaml");
	rmdir(d);
	rmdir(tmpdir);
	free(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sample),
		cmocka_unit_test(test_edges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
