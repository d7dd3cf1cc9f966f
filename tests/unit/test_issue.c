/* Unit tests for issue.c: good issues read fully, hostile ones refused. */
#include "autoconf.h"

#include <sys/resource.h>
#include <sys/stat.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "buf.h"
#include "errlist.h"
#include "issue.h"
#include "value.h"
#include "xmalloc.h"

static const char *srcdir;

static char *
issue_path(const char *name)
{
	return xsprintf("%s/tests/issues/%s", srcdir, name);
}

/* A loader over a fixed table of in-memory files. */
static const struct {
	const char	*path;
	const char	*data;
} files[] = {
	{ "a.png", "PNGDATA-A" },
	{ "b.jpg", "JPEGDATA-B" },
	{ "doc/report.pdf", "%PDF-report" },
	{ "notes", "plain notes" },
};

static int
mem_load(void *arg, const char *path, unsigned char **data, size_t *len,
    char **cause)
{
	size_t	i;
	int	*calls = arg;

	if (calls != NULL)
		(*calls)++;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if (strcmp(files[i].path, path) == 0) {
			*len = strlen(files[i].data);
			*data = xmalloc(*len);
			memcpy(*data, files[i].data, *len);
			return 0;
		}
	}
	*cause = xstrdup("no such file");
	return -1;
}

static struct issue *
parse(const char *src, struct errlist *e, int *calls)
{
	errlist_init(e);
	return issue_parse("t.yaml", src, strlen(src), NULL, mem_load, calls,
	    e);
}

/* Parse src and check the exact list of errors (NULL-terminated). */
static void
expect_errors(const char *src, const char **want)
{
	struct errlist	 e;
	struct issue	*is;
	size_t		 i, n = 0;

	is = parse(src, &e, NULL);
	while (want[n] != NULL)
		n++;
	for (i = 0; i < e.n; i++)
		print_message("got: %s\n", e.msgs[i]);
	assert_null(is);
	assert_int_equal(e.n, n);
	for (i = 0; i < n; i++)
		assert_string_equal(e.msgs[i], want[i]);
	errlist_free(&e);
}

static void
expect_error(const char *src, const char *want)
{
	const char	*w[] = { want, NULL };

	expect_errors(src, w);
}

/* Parse a file of tests/issues and check its errors (without FILE:). */
static void
expect_file_errors(const char *name, const char **want)
{
	struct errlist	 e = ERRLIST_INIT;
	struct issue	*is;
	char		*path = issue_path(name), *full;
	size_t		 i, n = 0;

	is = issue_parse_file(path, NULL, &e);
	while (want[n] != NULL)
		n++;
	for (i = 0; i < e.n; i++)
		print_message("got: %s\n", e.msgs[i]);
	assert_null(is);
	assert_int_equal(e.n, n);
	for (i = 0; i < n; i++) {
		full = xsprintf("%s:%s", path, want[i]);
		assert_string_equal(e.msgs[i], full);
		free(full);
	}
	errlist_free(&e);
	free(path);
}

static const struct value *
get(const struct value *v, const char *path)
{
	const struct value	*r = value_path(v, path);

	if (r == NULL)
		fail_msg("no %s", path);
	return r;
}

static void
assert_str(const struct value *v, const char *want)
{
	assert_non_null(v);
	assert_int_equal(v->type, VALUE_STRING);
	assert_string_equal(v->u.str.s, want);
}

static void
test_good(void **state)
{
	struct errlist		 e = ERRLIST_INIT;
	struct issue		*is;
	const struct value	*d, *arts, *a0, *imgs;
	char			*path = issue_path("good.yaml"), *cid;
	struct stat		 st;

	is = issue_parse_file(path, NULL, &e);
	errlist_print(&e, stderr, NULL);
	assert_int_equal(errlist_count(&e), 0);
	assert_non_null(is);
	assert_string_equal(is->list, "friends-r2p");
	assert_string_equal(is->template, "spotlight");
	assert_true(is->has_send_at);
	assert_int_equal(is->send_at, 1796090400);	/* 02:00Z */
	assert_string_equal(is->from_name, "Friends of R2P");
	assert_string_equal(is->from_address, "bulletin@r2p.example.org");

	/* One image, used twice, loaded once. */
	assert_int_equal(is->nimages, 1);
	assert_string_equal(is->images[0].path, "files/logo.png");
	assert_string_equal(is->images[0].name, "logo.png");
	assert_string_equal(is->images[0].mime, "image/png");
	assert_int_equal(is->images[0].len, 73);
	assert_memory_equal(is->images[0].data, "\x89PNG\r\n\x1a\n", 8);
	assert_true(strncmp(is->images[0].cid, "img1.", 5) == 0);
	assert_non_null(strstr(is->images[0].cid, "@herald"));

	assert_int_equal(is->nattachments, 2);
	assert_string_equal(is->attachments[0].name, "agenda.pdf");
	assert_string_equal(is->attachments[0].mime, "application/pdf");
	assert_int_equal(is->attachments[0].len, 40);
	assert_memory_equal(is->attachments[0].data, "%PDF-1.4", 8);
	assert_null(is->attachments[0].cid);
	assert_string_equal(is->attachments[1].name, "Agenda December.pdf");
	assert_string_equal(is->attachments[1].mime, "application/pdf");

	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(is->total_size, (size_t)st.st_size + 73 + 40 + 40);

	assert_int_equal(is->nlangs, 2);
	assert_string_equal(is->langs[0].tag, "en");
	assert_string_equal(is->langs[0].subject, "Spotlight on R2P, No. 12");
	assert_string_equal(is->langs[0].preheader,
	    "Atrocity prevention news from the region");
	assert_string_equal(is->langs[1].tag, "km");
	assert_string_equal(is->langs[1].subject,
	    "ចំណុចសំខាន់ស្តីពី R2P លេខ ១២");
	assert_string_equal(is->langs[1].preheader,
	    "ព័ត៌មានអំពីការការពារអំពើឃោរឃៅ");

	/* The English data: top level plus the en variant, positioned. */
	d = is->langs[0].data;
	assert_int_equal(d->type, VALUE_MAP);
	assert_null(value_map_get(d, "subject"));
	assert_null(value_map_get(d, "languages"));
	assert_null(value_map_get(d, "attachments"));
	assert_int_equal(get(d, "issue_number")->type, VALUE_NUMBER);
	assert_true(get(d, "issue_number")->u.num == 12);
	assert_int_equal(get(d, "issue_number")->line, 13);
	assert_int_equal(get(d, "issue_number")->col, 15);
	assert_int_equal(get(d, "featured")->type, VALUE_BOOL);
	assert_str(get(d, "greeting"), "Dear friends,");
	assert_str(get(d, "intro"), "*Welcome* to the December issue.");
	assert_true(get(d, "intro")->flags & VALUE_F_MARKDOWN);

	cid = xsprintf("cid:%s", is->images[0].cid);
	assert_str(get(d, "hero.image.src"), cid);
	assert_int_equal(get(d, "hero.image.src")->line, 18);
	assert_int_equal(get(d, "hero.image.src")->col, 10);
	assert_str(get(d, "hero.image.alt"), "The Friends of R2P logo");
	assert_str(get(d, "hero.image.caption"), "Our network");
	assert_false(get(d, "hero.image.caption")->flags & VALUE_F_MARKDOWN);
	assert_str(get(d, "hero.banner.src"),
	    "https://r2p.example.org/banner.jpg");

	arts = get(d, "articles");
	assert_int_equal(arts->type, VALUE_LIST);
	assert_int_equal(arts->u.list.n, 2);
	a0 = arts->u.list.v[0];
	assert_true(get(a0, "body")->flags & VALUE_F_MARKDOWN);
	assert_non_null(strstr(get(a0, "body")->u.str.s, "**ten countries**"));
	assert_false(get(a0, "title")->flags & VALUE_F_MARKDOWN);
	imgs = get(a0, "images");
	assert_int_equal(imgs->u.list.n, 2);
	assert_str(get(imgs->u.list.v[0], "src"), cid);
	assert_str(get(imgs->u.list.v[0], "alt"), "");
	/* The alias copies the anchored map. */
	assert_str(get(imgs->u.list.v[1], "src"),
	    "https://r2p.example.org/banner.jpg");
	/* Quoted scalars stay strings; plain ones are resolved. */
	assert_str(get(arts->u.list.v[1], "title"), "Quoted 42");
	assert_str(get(arts->u.list.v[1], "note"), "true");
	assert_int_equal(get(arts->u.list.v[1], "count")->type, VALUE_NUMBER);

	/* Khmer: its own greeting and intro, the shared data kept. */
	d = is->langs[1].data;
	assert_str(get(d, "greeting"), "ជូនចំពោះមិត្តភក្តិ");
	assert_str(get(d, "intro"),
	    "*សូមស្វាគមន៍* មកកាន់ព្រឹត្តិបត្រខែធ្នូ។");
	assert_true(get(d, "intro")->flags & VALUE_F_MARKDOWN);
	assert_true(get(d, "issue_number")->u.num == 12);
	assert_str(get(d, "hero.image.src"), cid);
	assert_true(get(get(d, "articles")->u.list.v[0], "body")->flags &
	    VALUE_F_MARKDOWN);

	free(cid);
	free(path);
	issue_free(is);
	errlist_free(&e);
}

static void
test_lang_pick(void **state)
{
	struct errlist		 e;
	struct issue		*is;

	is = parse("subject: Hello\n"
	    "languages:\n"
	    "  en: {greeting: Hi}\n"
	    "  km: {subject: សួស្តី, greeting: ជំរាបសួរ}\n"
	    "  pt-BR: {subject: Olá}\n", &e, NULL);
	assert_non_null(is);
	assert_string_equal(issue_lang_pick(is, "km")->tag, "km");
	assert_string_equal(issue_lang_pick(is, "km-KH")->tag, "km");
	assert_string_equal(issue_lang_pick(is, "KM")->tag, "km");
	assert_string_equal(issue_lang_pick(is, "km-KH")->subject, "សួស្តី");
	assert_string_equal(issue_lang_pick(is, "fr")->tag, "en");
	assert_string_equal(issue_lang_pick(is, NULL)->tag, "en");
	assert_string_equal(issue_lang_pick(is, "")->tag, "en");
	assert_string_equal(issue_lang_pick(is, "en-GB")->tag, "en");
	assert_string_equal(issue_lang_pick(is, "pt")->tag, "pt-BR");
	assert_string_equal(issue_lang_pick(is, "pt-PT")->tag, "pt-BR");
	/* A variant without a subject takes the top-level one. */
	assert_string_equal(issue_lang_pick(is, "en")->subject, "Hello");
	assert_str(value_map_get(issue_lang_pick(is, "km")->data, "greeting"),
	    "ជំរាបសួរ");
	issue_free(is);
	errlist_free(&e);

	/* Without languages: one variant, tag NULL, picked for anyone. */
	is = parse("subject: Hello\nlist: x\n", &e, NULL);
	assert_non_null(is);
	assert_int_equal(is->nlangs, 1);
	assert_null(is->langs[0].tag);
	assert_ptr_equal(issue_lang_pick(is, "km"), &is->langs[0]);
	assert_string_equal(is->template, "spotlight");
	assert_false(is->has_send_at);
	assert_null(is->from_name);
	assert_null(is->from_address);
	assert_null(is->langs[0].preheader);
	issue_free(is);
	errlist_free(&e);
}

static void
test_images(void **state)
{
	struct errlist		 e;
	struct issue		*is;
	int			 calls = 0;

	is = parse("subject: s\n"
	    "a: {image: {src: a.png, alt: A}}\n"
	    "b:\n"
	    "  images:\n"
	    "    - {src: b.jpg, alt: B, caption: c}\n"
	    "    - {src: a.png, alt: again}\n"
	    "    - {src: HTTPS://x.example/y.webp, alt: remote}\n"
	    "c: {image: null}\n", &e, &calls);
	assert_non_null(is);
	assert_int_equal(calls, 2);		/* a.png loaded once */
	assert_int_equal(is->nimages, 2);
	assert_string_equal(is->images[0].mime, "image/png");
	assert_string_equal(is->images[1].mime, "image/jpeg");
	assert_memory_equal(is->images[1].data, "JPEGDATA-B", 10);
	assert_string_not_equal(is->images[0].cid, is->images[1].cid);
	assert_true(strncmp(get(is->langs[0].data, "a.image.src")->u.str.s,
	    "cid:img1.", 9) == 0);
	issue_free(is);
	errlist_free(&e);

	expect_error("subject: s\nx:\n  image: {src: missing.png, alt: m}\n",
	    "t.yaml:3:16: cannot load image \"missing.png\": no such file");
	expect_error("subject: s\nimage: {src: http://x.org/a.png, alt: m}\n",
	    "t.yaml:2:14: src \"http://x.org/a.png\" uses http://; use "
	    "https:// or a local file");
	expect_error("subject: s\nimage: {src: \"data:image/png;base64,AA\", "
	    "alt: m}\n", "t.yaml:2:14: src \"data:image/png;base64,AA\": "
	    "only https:// URLs and local files are allowed");
	expect_error("subject: s\nimage: {src: notes, alt: m}\n",
	    "t.yaml:2:14: src \"notes\" is not a png, jpg, jpeg, gif, webp "
	    "or svg file");
	expect_error("subject: s\nimage:\n  src: a.png\n",
	    "t.yaml:3:3: an image needs alt text for readers who cannot see "
	    "it (alt: \"\" for a decorative image)");
	expect_error("subject: s\nimage: {alt: x}\n",
	    "t.yaml:2:8: an image needs a src (a local file or an https:// "
	    "URL)");
	expect_error("subject: s\nimage: a.png\n",
	    "t.yaml:2:8: image must be a map with src and alt");
	expect_error("subject: s\nimages:\n  - {src: a.png, alt: a, capton: "
	    "x}\n", "t.yaml:3:26: unknown key \"capton\" in an image; did you "
	    "mean \"caption\"?");
	expect_error("subject: s\nimages: [a.png]\n",
	    "t.yaml:2:10: each of images must be a map with src and alt");
}

static void
test_markdown(void **state)
{
	struct errlist		 e;
	struct issue		*is;
	const struct value	*d;

	is = parse("subject: s\n"
	    "body: top *md*\n"
	    "plain: not md\n"
	    "tagged: !md 42\n"
	    "deep: {a: [{body: \"deep *md*\"}], body: [x]}\n", &e, NULL);
	assert_non_null(is);
	d = is->langs[0].data;
	assert_true(value_map_get(d, "body")->flags & VALUE_F_MARKDOWN);
	assert_false(value_map_get(d, "plain")->flags & VALUE_F_MARKDOWN);
	assert_str(value_map_get(d, "tagged"), "42");
	assert_true(value_map_get(d, "tagged")->flags & VALUE_F_MARKDOWN);
	assert_true(value_map_get(value_path(d, "deep.a")->u.list.v[0],
	    "body")->flags & VALUE_F_MARKDOWN);
	assert_int_equal(value_path(d, "deep.body")->type, VALUE_LIST);
	issue_free(is);
	errlist_free(&e);
}

static void
test_attachments(void **state)
{
	const char		*pth[] = {
	    "t.yaml:3:5: an attachment needs a path",
	    "t.yaml:3:6: unknown key \"pth\" in an attachment; did you mean "
	    "\"path\"?", NULL };
	struct errlist		 e;
	struct issue		*is;

	is = parse("subject: s\nattachments:\n"
	    "  - doc/report.pdf\n"
	    "  - {path: notes, name: \"Notes 2026.txt\"}\n"
	    "  - notes\n", &e, NULL);
	assert_non_null(is);
	assert_int_equal(is->nattachments, 3);
	assert_string_equal(is->attachments[0].name, "report.pdf");
	assert_string_equal(is->attachments[0].mime, "application/pdf");
	assert_string_equal(is->attachments[1].name, "Notes 2026.txt");
	assert_string_equal(is->attachments[1].mime, "text/plain");
	assert_string_equal(is->attachments[2].name, "notes");
	assert_string_equal(is->attachments[2].mime,
	    "application/octet-stream");
	assert_int_equal(is->total_size, strlen("subject: s\nattachments:\n"
	    "  - doc/report.pdf\n  - {path: notes, name: \"Notes 2026.txt\"}\n"
	    "  - notes\n") + 11 + 11 + 11);
	issue_free(is);
	errlist_free(&e);

	expect_error("subject: s\nattachments:\n  - {path: notes, name: "
	    "\"../x\"}\n", "t.yaml:3:25: attachment name \"../x\" must be a "
	    "file name without '/' or '\\'");
	expect_errors("subject: s\nattachments:\n  - {pth: notes}\n", pth);
	expect_error("subject: s\nattachments:\n  - \"a\\nb.pdf\"\n",
	    "t.yaml:3:5: attachment name: contains a line feed at byte 2");
	expect_error("subject: s\nimage: {src: \"a\\r.png\", alt: x}\n",
	    "t.yaml:2:14: src: contains a carriage return at byte 2");
	expect_error("subject: s\nattachments:\n  - https://x.org/a.pdf\n",
	    "t.yaml:3:5: attachment \"https://x.org/a.pdf\" must be a local "
	    "file");
}

static void
test_from(void **state)
{
	struct errlist		 e;
	struct issue		*is;

	is = parse("subject: s\nfrom: {name: សុខា ចាន់, address: "
	    "Sokha@Example.ORG}\n", &e, NULL);
	assert_non_null(is);
	assert_string_equal(is->from_name, "សុខា ចាន់");
	assert_string_equal(is->from_address, "Sokha@example.org");
	issue_free(is);
	errlist_free(&e);

	is = parse("subject: s\nfrom: bulletin@example.org\n", &e, NULL);
	assert_non_null(is);
	assert_null(is->from_name);
	assert_string_equal(is->from_address, "bulletin@example.org");
	issue_free(is);
	errlist_free(&e);

	is = parse("subject: s\nfrom: '\"Doe, Jane\" <jane@example.org>'\n",
	    &e, NULL);
	assert_non_null(is);
	assert_string_equal(is->from_name, "Doe, Jane");
	issue_free(is);
	errlist_free(&e);

	expect_error("subject: s\n"
	    "from: \"Eve\\r\\nBcc: x@y.z <e@example.org>\"\n",
	    "t.yaml:2:7: the from name: contains a carriage return at byte 4");
	expect_error("subject: s\nfrom: [x]\n", "t.yaml:2:7: from must be "
	    "\"Name <address>\" or a map with name and address");
}

static void
test_send_at(void **state)
{
	static const struct {
		const char	*s;
		long long	 t;	/* -1: refused */
	} cases[] = {
		{ "2026-12-01T09:00:00+07:00", 1796090400 },
		{ "2026-12-01T02:00:00Z", 1796090400 },
		{ "2026-12-01t02:00:00z", 1796090400 },
		{ "2026-12-01 02:00:00Z", 1796090400 },
		{ "2026-12-01T02:00:00.250Z", 1796090400 },
		{ "2026-11-30T20:30:00-05:30", 1796090400 },
		{ "1970-01-01T00:00:00Z", 0 },
		{ "2024-02-29T00:00:00Z", 1709164800 },
		{ "2026-12-01T09:00:00", -1 },
		{ "2026-12-01", -1 },
		{ "2025-02-29T00:00:00Z", -1 },
		{ "2026-13-01T00:00:00Z", -1 },
		{ "2026-12-01T24:00:00Z", -1 },
		{ "2026-12-01T09:00:00+0700", -1 },
		{ "2026-12-01T09:00:00.Z", -1 },
		{ "2026-12-01T09:00:00Z junk", -1 },
	};
	size_t	i;
	time_t	t;
	int	r;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		r = issue_parse_time(cases[i].s, &t);
		print_message("%s\n", cases[i].s);
		if (cases[i].t == -1)
			assert_int_equal(r, -1);
		else {
			assert_int_equal(r, 0);
			assert_int_equal(t, cases[i].t);
		}
	}
	expect_error("subject: s\nsend_at: tomorrow\n", "t.yaml:2:10: send_at "
	    "\"tomorrow\" is not an RFC 3339 time with a zone, such as "
	    "2026-12-01T09:00:00+07:00");
}

static void
test_hostile_files(void **state)
{
	const char	*syntax[] = { "3:9: syntax error: did not find "
	    "expected ',' or ']' (while parsing a flow sequence at line 2)",
	    NULL };
	const char	*control[] = { "2:10: subject: contains a carriage "
	    "return at byte 6", NULL };
	const char	*utf8[] = { "3:12: invalid UTF-8 (invalid trailing "
	    "UTF-8 octet)", NULL };
	const char	*missing[] = { "4:5: cannot load attachment "
	    "\"files/no-such-file.pdf\": No such file or directory", NULL };
	const char	*misspelled[] = { "1:1: the issue has no subject",
	    "2:1: unknown key \"subjet\"; did you mean \"subject\"?", NULL };
	const char	*deep[] = { "2:38: nesting deeper than 32 levels",
	    NULL };
	const char	*many[] = {
	    "2:10: subject must be a string (put it in quotes)",
	    "3:10: send_at \"2026-12-01 09:00\" is not an RFC 3339 time with "
	    "a zone, such as 2026-12-01T09:00:00+07:00",
	    "4:1: unknown key \"templat\"; did you mean \"template\"?",
	    "6:1: duplicate key \"intro\" (first at line 5)",
	    "9:5: an image needs alt text for readers who cannot see it "
	    "(alt: \"\" for a decorative image)",
	    "9:10: src \"http://example.org/x.png\" uses http://; use "
	    "https:// or a local file",
	    "10:5: unknown key \"atl\" in an image; did you mean \"alt\"?",
	    "11:14: attachments must be a list of files",
	    "13:3: \"not a tag!\" is not a language tag: language tag has an "
	    "invalid character ' '",
	    NULL };

	expect_file_errors("syntax.yaml", syntax);
	expect_file_errors("control-subject.yaml", control);
	expect_file_errors("invalid-utf8.yaml", utf8);
	expect_file_errors("missing-attachment.yaml", missing);
	expect_file_errors("misspelled.yaml", misspelled);
	expect_file_errors("deep.yaml", deep);
	expect_file_errors("many-errors.yaml", many);
}

static long
maxrss_kb(void)
{
	struct rusage	ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static void
test_alias_bomb(void **state)
{
	const char	*bomb[] = { "6:8: alias expansion exceeds 10000 nodes",
	    NULL };
	struct buf	 b = BUF_INIT;
	clock_t		 t0;
	long		 rss0;
	int		 i, j;

	rss0 = maxrss_kb();
	t0 = clock();
	expect_file_errors("alias-bomb.yaml", bomb);
	/* A wider bomb: 20 levels of 50 aliases each. */
	buf_adds(&b, "subject: s\nl0: &l0 [lol]\n");
	for (i = 1; i < 20; i++) {
		buf_printf(&b, "l%d: &l%d [", i, i);
		for (j = 0; j < 50; j++)
			buf_printf(&b, "%s*l%d", j ? "," : "", i - 1);
		buf_adds(&b, "]\n");
	}
	expect_error(buf_cstr(&b),
	    "t.yaml:5:10: alias expansion exceeds 10000 nodes");
	buf_free(&b);
	assert_true((double)(clock() - t0) / CLOCKS_PER_SEC < 1.0);
	assert_true(maxrss_kb() - rss0 < 32 * 1024);
	/* A few small aliases are fine. */
	expect_error("subject: s\nx: &x {a: 1}\ny: *x\nz: *nope\n",
	    "t.yaml:4:4: unknown alias *nope");
}

static void
test_limits(void **state)
{
	struct errlist		 e = ERRLIST_INIT;
	struct issue_limits	 lim;
	struct issue		*is;
	struct buf		 b = BUF_INIT;
	char			*big, *path, *want;
	size_t			 n = ISSUE_MAX_FILE + 1;

	/* Over the size limit: refused before parsing. */
	big = xmalloc(n);
	memset(big, '#', n);
	assert_null(issue_parse("big.yaml", big, n, NULL, NULL, NULL, &e));
	assert_int_equal(e.n, 1);
	assert_string_equal(e.msgs[0], "big.yaml:1:1: the file is 8388609 "
	    "bytes, over the limit of 8388608");
	errlist_free(&e);
	free(big);

	issue_limits_default(&lim);
	lim.max_file = 100;
	path = issue_path("good.yaml");
	assert_null(issue_parse_file(path, &lim, &e));
	want = xsprintf("%s:1:1: the file is 1381 bytes, over the limit of "
	    "100", path);
	assert_int_equal(e.n, 1);
	assert_string_equal(e.msgs[0], want);
	errlist_free(&e);
	free(want);
	free(path);

	/* A 2,000-character subject. */
	buf_adds(&b, "subject: ");
	for (n = 0; n < 2000; n++)
		buf_addc(&b, 'a' + n % 26);
	buf_adds(&b, "\n");
	expect_error(buf_cstr(&b), "t.yaml:1:10: subject is 2000 bytes long, "
	    "over the limit of 500");
	buf_free(&b);

	/* Too many nodes, a long scalar, the files budget. */
	issue_limits_default(&lim);
	lim.max_nodes = 10;
	lim.max_scalar = 8;
	lim.max_files = 12;
	assert_null(issue_parse("t.yaml", "subject: s\nl: [1,2,3,4,5,6,7,8]\n",
	    31, &lim, NULL, NULL, &e));
	assert_int_equal(e.n, 1);
	assert_string_equal(e.msgs[0], "t.yaml:2:15: more than 10 nodes in "
	    "the file");
	errlist_free(&e);
	assert_null(issue_parse("t.yaml", "subject: 0123456789\n", 20, &lim,
	    NULL, NULL, &e));
	assert_int_equal(e.n, 1);
	assert_string_equal(e.msgs[0], "t.yaml:1:10: a scalar of 10 bytes, "
	    "over the limit of 8");
	errlist_free(&e);
	lim.max_scalar = 100;
	is = issue_parse("t.yaml", "subject: s\nattachments: [notes, notes]\n",
	    39, &lim, mem_load, NULL, &e);
	assert_null(is);
	assert_int_equal(e.n, 1);
	assert_string_equal(e.msgs[0], "t.yaml:2:22: attachment \"notes\": "
	    "files of the issue exceed 12 bytes");
	errlist_free(&e);
}

static void
test_structure(void **state)
{
	struct issue_limits	 lim;
	struct errlist		 e;
	const char		*src;
	const char	*langs[] = {
	    "t.yaml:3:8: \"template\" cannot vary by language",
	    "t.yaml:4:8: unknown key \"subjct\"; did you mean \"subject\"?",
	    "t.yaml:5:7: language \"fr\" must be a map of keys (subject: ...)",
	    NULL };

	expect_error("", "t.yaml:1:1: the issue is empty");
	expect_error("- a\n- b\n",
	    "t.yaml:1:1: an issue must be a map of keys");
	expect_error("subject: a\n---\nsubject: b\n",
	    "t.yaml:2:1: more than one YAML document");
	expect_error("subject: s\nsubject: t\n",
	    "t.yaml:2:1: duplicate key \"subject\" (first at line 1)");
	expect_error("subject: s\nx: &x {a: 1}\ny: {<<: *x}\n",
	    "t.yaml:3:5: merge keys (<<) are not supported");
	expect_error("subject: s\n? [a]\n: b\n", "t.yaml:2:3: a key must be a "
	    "string");
	expect_error("subject: s\nx: !foo bar\n",
	    "t.yaml:2:4: unknown tag \"!foo\" (only !md is known)");
	expect_error("subject: !!int s\n",
	    "t.yaml:1:10: \"s\" is not a number");
	expect_error("subject: \"a\\0b\"\n",
	    "t.yaml:1:10: a NUL character in a string");
	expect_error("subject: 42\n",
	    "t.yaml:1:10: subject must be a string (put it in quotes)");
	expect_error("subject: s\nlist: \"a b\"\n", "t.yaml:2:7: list \"a b\" "
	    "may hold only letters, digits, '.', '_' and '-', and not start "
	    "with '.'");
	expect_error("subject: s\ntemplate: ../etc\n", "t.yaml:2:11: "
	    "template \"../etc\" may hold only letters, digits, '.', '_' and "
	    "'-', and not start with '.'");
	expect_error("subject: s\nlanguages: [en]\n", "t.yaml:2:12: languages "
	    "must be a map of language tags to maps (en: {subject: ...})");
	expect_error("languages: {en: {x: 1}}\n", "t.yaml:1:13: language "
	    "\"en\" has no subject (give one here or at the top level)");
	expect_error("subject: s\nlanguages: {en: {}, EN: {}}\n",
	    "t.yaml:2:21: language \"EN\" given twice");
	expect_errors("subject: s\nlanguages:\n  en: {template: x}\n"
	    "  km: {subjct: x}\n  fr: [x]\n", langs);
	/* Variants copy the data: bounded. */
	issue_limits_default(&lim);
	lim.max_nodes = 40;
	errlist_init(&e);
	src = "subject: s\nd: [1,2,3,4,5,6,7,8,9,10,11,12]\n"
	    "languages: {en: {}, km: {}, fr: {}}\n";
	assert_null(issue_parse("t.yaml", src, strlen(src), &lim, NULL, NULL,
	    &e));
	assert_int_equal(e.n, 1);
	assert_string_equal(e.msgs[0], "t.yaml:3:12: 3 languages, each with "
	    "a copy of 14 data nodes, exceed 40 nodes");
	errlist_free(&e);
	/* Near misses: form, lsit; a far key is data. */
	expect_error("subject: s\nform: x@y.org\n",
	    "t.yaml:2:1: unknown key \"form\"; did you mean \"from\"?");
	expect_error("subject: s\nlsit: x\n",
	    "t.yaml:2:1: unknown key \"lsit\"; did you mean \"list\"?");
	expect_error("subject: s\nSend_At: x\n",
	    "t.yaml:2:1: unknown key \"Send_At\"; did you mean \"send_at\"?");
	expect_error("subject: s\nattachment: []\n", "t.yaml:2:1: unknown key "
	    "\"attachment\"; did you mean \"attachments\"?");
}

/* The example of herald-issue(5) is a valid issue. */
static void
test_manpage_example(void **state)
{
	struct errlist	 e = ERRLIST_INIT;
	struct issue	*is;
	struct buf	 b = BUF_INIT;
	char		*path, *dir, line[1024];
	FILE		*fp;
	int		 in = 0;

	path = xsprintf("%s/daemon/herald-issue.5", srcdir);
	dir = xsprintf("%s/tests/issues", srcdir);
	assert_non_null(fp = fopen(path, "r"));
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (strncmp(line, ".Bd -literal", 12) == 0)
			in = 1;
		else if (strncmp(line, ".Ed", 3) == 0)
			in = 0;
		else if (in)
			buf_adds(&b, line);
	}
	fclose(fp);
	assert_true(b.len > 100);
	is = issue_parse("herald-issue.5", b.data, b.len, NULL, issue_load_fs,
	    dir, &e);
	errlist_print(&e, stderr, NULL);
	assert_non_null(is);
	assert_int_equal(is->nlangs, 2);
	assert_int_equal(is->nimages, 1);
	assert_int_equal(is->nattachments, 1);
	assert_string_equal(issue_lang_pick(is, "km-KH")->tag, "km");
	issue_free(is);
	errlist_free(&e);
	buf_free(&b);
	free(path);
	free(dir);
}

/* Thousands of errors: the first thousand kept, the rest counted. */
static void
test_error_cap(void **state)
{
	struct errlist	 e;
	struct buf	 b = BUF_INIT;
	int		 i;

	buf_adds(&b, "subject: s\n");
	for (i = 0; i < 1500; i++)
		buf_printf(&b, "k%d: {image: {src: http://x, alt: a}}\n", i);
	assert_null(parse(buf_cstr(&b), &e, NULL));
	assert_int_equal(e.n, 1000);
	assert_int_equal(errlist_count(&e), 1500);
	assert_string_equal(e.msgs[0], "t.yaml:2:19: src \"http://x\" uses "
	    "http://; use https:// or a local file");
	errlist_free(&e);
	buf_free(&b);
}

/* UTF-8 only: a UTF-16 file is refused; a UTF-8 byte order mark is fine. */
static void
test_encoding(void **state)
{
	struct errlist	 e = ERRLIST_INIT;
	struct issue	*is;
	const char	 u16[] = "\xff\xfes\0:\0 \0x\0\n\0";
	const char	*bom = "\xef\xbb\xbfsubject: s\n";

	assert_null(issue_parse("t.yaml", u16, sizeof(u16) - 1, NULL, NULL,
	    NULL, &e));
	assert_int_equal(e.n, 1);
	assert_string_equal(e.msgs[0], "t.yaml:1:1: invalid UTF-8 (invalid "
	    "leading UTF-8 octet)");
	errlist_free(&e);
	is = issue_parse("t.yaml", bom, strlen(bom), NULL, NULL, NULL, &e);
	assert_non_null(is);
	assert_string_equal(is->langs[0].subject, "s");
	issue_free(is);
	errlist_free(&e);
}

static void
test_refusing_loader(void **state)
{
	struct errlist	e = ERRLIST_INIT;
	const char	*src = "subject: s\nattachments: [x.pdf]\n";

	assert_null(issue_parse("t.yaml", src, strlen(src), NULL, NULL, NULL,
	    &e));
	assert_int_equal(e.n, 1);
	assert_string_equal(e.msgs[0], "t.yaml:2:15: cannot load attachment "
	    "\"x.pdf\": no files allowed here");
	errlist_free(&e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_lang_pick),
		cmocka_unit_test(test_images),
		cmocka_unit_test(test_markdown),
		cmocka_unit_test(test_attachments),
		cmocka_unit_test(test_from),
		cmocka_unit_test(test_send_at),
		cmocka_unit_test(test_hostile_files),
		cmocka_unit_test(test_alias_bomb),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_structure),
		cmocka_unit_test(test_manpage_example),
		cmocka_unit_test(test_error_cap),
		cmocka_unit_test(test_encoding),
		cmocka_unit_test(test_refusing_loader),
	};

	if ((srcdir = getenv("top_srcdir")) == NULL)
		srcdir = ".";
	return cmocka_run_group_tests(tests, NULL, NULL);
}
