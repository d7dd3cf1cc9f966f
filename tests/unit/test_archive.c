/* Unit tests of the web archive's content against a real database. */
#include "autoconf.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "archive.h"
#include "buf.h"
#include "errlist.h"
#include "issue.h"
#include "render.h"
#include "store.h"
#include "xmalloc.h"

static char		 tmpdir[] = "/tmp/test_archive.XXXXXX";
static char		*dbpath;
static char		*templates;
static char		*sample;
static struct store	*st;
static struct render_env env;
/* Issues: 1 and 2 sent on spotlight (1 finished later), 3 queued on
 * spotlight, 4 sent on "other". */
static int64_t		 id_old, id_new, id_queued, id_other;

static char *
slurp(const char *path, size_t *len)
{
	FILE		*fp;
	struct buf	 b = BUF_INIT;
	char		 chunk[8192];
	size_t		 n;

	if ((fp = fopen(path, "rb")) == NULL)
		fail_msg("%s: cannot open", path);
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		buf_add(&b, chunk, n);
	fclose(fp);
	*len = b.len;
	return buf_steal(&b);
}

/* Queue the sample for list, as heraldctl queue stores it. */
static int64_t
queue_sample(const char *list)
{
	struct errlist		 errs = ERRLIST_INIT;
	struct issue		*is;
	struct store_file	*files;
	char			*src, *cause = NULL;
	size_t			 len, i, n = 0;
	int64_t			 id;

	if ((is = issue_parse_file(sample, NULL, &errs)) == NULL) {
		errlist_print(&errs, stderr, "sample");
		fail_msg("the sample does not parse");
	}
	files = xcalloc(is->nimages + is->nattachments + 1, sizeof(*files));
	for (i = 0; i < is->nimages; i++, n++) {
		files[n].name = is->images[i].path;
		files[n].mime_type = (char *)is->images[i].mime;
		files[n].data = is->images[i].data;
		files[n].len = is->images[i].len;
	}
	for (i = 0; i < is->nattachments; i++, n++) {
		files[n].name = is->attachments[i].path;
		files[n].mime_type = (char *)is->attachments[i].mime;
		files[n].data = is->attachments[i].data;
		files[n].len = is->attachments[i].len;
	}
	src = slurp(sample, &len);
	if (store_issue_create(st, list, is->langs[0].subject, "spotlight",
	    src, len, 1700000000, files, n, "test", &id, &cause) == -1)
		fail_msg("store_issue_create: %s", cause);
	free(src);
	free(files);
	issue_free(is);
	return id;
}

/* Send it to nobody the way heraldd does: start, then finish at `at`. */
static void
mark_sent(int64_t id, int64_t at)
{
	char	*cause = NULL;
	int64_t	 n;
	int	 done = 0;

	if (store_issue_start(st, id, at - 60, &n, &cause) == -1)
		fail_msg("store_issue_start: %s", cause);
	if (store_issue_finish(st, id, at, &done, &cause) == -1)
		fail_msg("store_issue_finish: %s", cause);
	assert_int_equal(done, 1);
}

static void
mklist(const char *name, const char *title)
{
	struct store_list	l = { 0 };
	char			*cause = NULL;

	l.name = (char *)name;
	l.title = (char *)title;
	if (store_list_create(st, &l, "test", &cause) == -1)
		fail_msg("list create: %s", cause);
}

static int
setup(void **state)
{
	const char	*top = getenv("top_srcdir");
	char		*cause = NULL;

	if (top == NULL)
		top = ".";
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	templates = xsprintf("%s/templates", top);
	sample = xsprintf("%s/templates/spotlight/sample.yaml", top);
	dbpath = xsprintf("%s/herald.db", tmpdir);
	if ((st = store_open(dbpath, &cause)) == NULL) {
		fprintf(stderr, "store_open: %s\n", cause);
		return -1;
	}
	memset(&env, 0, sizeof(env));
	env.templates = templates;
	env.base_url = "https://lists.r2p.example";
	env.from_address = "bulletin@r2p.example";
	env.from_name = "Friends of R2P";
	env.domain = "r2p.example";
	env.key = (const unsigned char *)"0123456789abcdef0123456789abcdef";
	env.keylen = 32;
	mklist("spotlight", "Spotlight on R2P");
	mklist("other", "Another list");
	id_old = queue_sample("spotlight");
	id_new = queue_sample("spotlight");
	id_queued = queue_sample("spotlight");
	id_other = queue_sample("other");
	/* The lower id finished later: newest first is not id order. */
	mark_sent(id_old, 1790000000);
	mark_sent(id_new, 1780000000);
	mark_sent(id_other, 1790000500);
	return 0;
}

static int
teardown(void **state)
{
	char	*cmd;

	store_close(st);
	cmd = xsprintf("rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
	free(cmd);
	free(dbpath);
	free(templates);
	free(sample);
	return 0;
}

static void
test_page_en(void **state)
{
	struct buf	 out = BUF_INIT;
	char		*subject = NULL, *cause = NULL;
	const char	*h;

	if (archive_issue_html(st, &env, "spotlight", id_old, NULL,
	    "/a/spotlight/1/", &out, &subject, &cause) != 0)
		fail_msg("archive_issue_html: %s", cause);
	h = buf_cstr(&out);
	assert_non_null(strstr(h, "<!DOCTYPE html>"));
	assert_non_null(strstr(subject, "Capacity Building Training"));
	/* No personal link nor token, no inline-image reference. */
	assert_null(strstr(h, "/u/"));
	assert_null(strstr(h, "cid:"));
	assert_null(strstr(h, "@herald"));
	/* Images at the prefix, in order: the photo, then the portraits. */
	assert_non_null(strstr(h, "src=\"/a/spotlight/1/img0.png\""));
	assert_non_null(strstr(h, "src=\"/a/spotlight/1/img1.png\""));
	/* A neutral greeting, an offer to subscribe, the archive. */
	assert_non_null(strstr(h, "Dear friend,"));
	assert_null(strstr(h, "You receive this email because"));
	assert_non_null(strstr(h,
	    "href=\"https://lists.r2p.example/s/spotlight\""));
	assert_non_null(strstr(h,
	    "href=\"https://lists.r2p.example/a/spotlight/?lang=en\""));
	assert_non_null(strstr(h, "<html lang=\"en\""));
	/* The inbox preheader is not on the page. */
	assert_null(strstr(h, "display:none"));
	free(subject);
	buf_free(&out);
}

static void
test_page_km(void **state)
{
	struct buf	 out = BUF_INIT;
	char		*subject = NULL, *cause = NULL;
	const char	*h;

	if (archive_issue_html(st, &env, "spotlight", id_old, "km",
	    "https://x.example/a/spotlight/1/", &out, &subject, &cause) != 0)
		fail_msg("archive_issue_html: %s", cause);
	h = buf_cstr(&out);
	assert_non_null(strstr(subject, "វគ្គបណ្ដុះបណ្ដាល"));
	assert_non_null(strstr(h, "<html lang=\"km\""));
	assert_non_null(strstr(h, "ជម្រាបសួរ មិត្តជាទីរាប់អាន,"));
	assert_non_null(strstr(h, ">ជាវ</a>"));
	/* The top note links to past issues, in Khmer, not to itself. */
	assert_non_null(strstr(h, "underline;\">ព្រឹត្តិបត្រមុនៗ</a>\n</td>"));
	assert_null(strstr(h, "href=\"https://lists.r2p.example/a/spotlight/1\""));
	assert_non_null(strstr(h,
	    "src=\"https://x.example/a/spotlight/1/img0.png\""));
	assert_null(strstr(h, "/u/"));
	assert_null(strstr(h, "cid:"));
	free(subject);
	buf_free(&out);
}

/* The mail itself keeps its unsubscribe link: the web mode is separate. */
static void
test_mail_unchanged(void **state)
{
	struct errlist		 errs = ERRLIST_INIT;
	struct issue		*is;
	struct render_issue	*r;
	struct render_list	 rl = { 1, "spotlight", "Spotlight", NULL,
				    NULL, NULL };
	struct render_rcpt	 rc = { 0 };
	struct buf		 html = BUF_INIT, text = BUF_INIT;
	char			*cause = NULL;

	assert_non_null(is = issue_parse_file(sample, NULL, &errs));
	r = render_compile(is, 7, 1790000000, &rl, &env, &cause);
	if (r == NULL)
		fail_msg("render_compile: %s", cause);
	rc.id = 3;
	rc.email = "dara@example.org";
	rc.name = "Dara";
	assert_int_equal(render_bodies(r, &rc, &html, &text, &cause), 0);
	assert_non_null(strstr(buf_cstr(&html),
	    "https://lists.r2p.example/u/"));
	assert_non_null(strstr(buf_cstr(&html), "cid:img1."));
	assert_non_null(strstr(buf_cstr(&text), "Unsubscribe: https://"));
	assert_null(strstr(buf_cstr(&text), "Subscribe: https://"));
	assert_null(strstr(buf_cstr(&html), "/s/spotlight"));
	render_free(r);
	issue_free(is);
	buf_free(&html);
	buf_free(&text);
}

static void
test_image(void **state)
{
	unsigned char	*data = NULL, *want;
	char		*ctype = NULL, *cause = NULL, *path;
	size_t		 len, wantlen;

	if (archive_issue_image(st, "spotlight", id_old, "img0.png", &data,
	    &len, &ctype, &cause) != 0)
		fail_msg("archive_issue_image: %s", cause);
	assert_string_equal(ctype, "image/png");
	path = xsprintf("%s/spotlight/images/group-of-four.png", templates);
	want = (unsigned char *)slurp(path, &wantlen);
	assert_int_equal(len, wantlen);
	assert_memory_equal(data, want, len);
	assert_memory_equal(data, "\x89PNG", 4);
	free(path);
	free(want);
	free(data);
	free(ctype);

	assert_int_equal(archive_issue_image(st, "spotlight", id_old,
	    "img9.png", &data, &len, &ctype, &cause), ARCHIVE_ENOTFOUND);
	assert_non_null(strstr(cause, "no image img9.png"));
	free(cause);
	assert_int_equal(archive_issue_image(st, "spotlight", id_old,
	    "../../etc/passwd", &data, &len, &ctype, &cause),
	    ARCHIVE_ENOTFOUND);
	free(cause);
	assert_int_equal(archive_issue_image(st, "spotlight", id_queued,
	    "img0.png", &data, &len, &ctype, &cause), ARCHIVE_ENOTFOUND);
	free(cause);
}

static void
test_entries(void **state)
{
	struct archive_entry	*v;
	size_t			 n;
	char			*cause = NULL;

	if (archive_entries(st, "spotlight", NULL, &v, &n, &cause) != 0)
		fail_msg("archive_entries: %s", cause);
	/* The queued issue and the other list's are not there. */
	assert_int_equal(n, 2);
	assert_int_equal(v[0].id, id_old);
	assert_int_equal(v[0].date, 1790000000);
	assert_int_equal(v[1].id, id_new);
	assert_int_equal(v[1].date, 1780000000);
	assert_non_null(strstr(v[0].subject, "Capacity Building"));
	assert_non_null(v[0].preheader);
	assert_non_null(strstr(v[0].preheader, "About 50 participants"));
	assert_string_equal(v[0].lang, "en");
	archive_entries_free(v, n);

	if (archive_entries(st, "spotlight", "km-KH", &v, &n, &cause) != 0)
		fail_msg("archive_entries: %s", cause);
	assert_int_equal(n, 2);
	assert_non_null(strstr(v[0].subject, "វគ្គបណ្ដុះបណ្ដាល"));
	assert_string_equal(v[0].lang, "km");
	archive_entries_free(v, n);

	if (archive_entries(st, "other", NULL, &v, &n, &cause) != 0)
		fail_msg("archive_entries: %s", cause);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].id, id_other);
	archive_entries_free(v, n);

	assert_int_equal(archive_entries(st, "nosuch", NULL, &v, &n, &cause),
	    ARCHIVE_ENOTFOUND);
	assert_non_null(cause);
	free(cause);
}

static void
test_refused(void **state)
{
	struct buf	 out = BUF_INIT;
	char		*subject = NULL, *cause = NULL;

	/* Queued, not sent. */
	assert_int_equal(archive_issue_html(st, &env, "spotlight", id_queued,
	    NULL, "", &out, &subject, &cause), ARCHIVE_ENOTFOUND);
	assert_non_null(strstr(cause, "no sent issue"));
	assert_null(subject);
	free(cause);
	/* Sent, but on another list. */
	assert_int_equal(archive_issue_html(st, &env, "spotlight", id_other,
	    NULL, "", &out, &subject, &cause), ARCHIVE_ENOTFOUND);
	free(cause);
	assert_int_equal(archive_issue_html(st, &env, "other", id_old,
	    NULL, "", &out, &subject, &cause), ARCHIVE_ENOTFOUND);
	free(cause);
	/* No such issue at all. */
	assert_int_equal(archive_issue_html(st, &env, "spotlight", 999,
	    NULL, "", &out, &subject, &cause), ARCHIVE_ENOTFOUND);
	free(cause);
	buf_free(&out);
}

static size_t
count(const char *h, const char *needle)
{
	size_t	n = 0;

	while ((h = strstr(h, needle)) != NULL) {
		n++;
		h += strlen(needle);
	}
	return n;
}

static void
test_feed(void **state)
{
	struct buf	 out = BUF_INIT;
	char		*cause = NULL;
	const char	*f;

	if (archive_feed(st, &env, "spotlight", 20, &out, &cause) != 0)
		fail_msg("archive_feed: %s", cause);
	f = buf_cstr(&out);
	assert_int_equal(count(f, "<entry"), 2);
	assert_non_null(strstr(f, "<updated>2026-09-21T14:13:20Z</updated>"));
	assert_non_null(strstr(f, "<link rel=\"self\" type=\"application/"
	    "atom+xml\" href=\"https://lists.r2p.example/a/spotlight/"
	    "feed.atom\"/>"));
	/* Newest first: issue 1 (finished later) before issue 2. */
	assert_true(strstr(f, "<id>https://lists.r2p.example/a/spotlight/1"
	    "</id>") < strstr(f, "<id>https://lists.r2p.example/a/spotlight/2"
	    "</id>"));
	assert_non_null(strstr(f, "img src=&quot;https://lists.r2p.example/"
	    "a/spotlight/1/img0.png&quot;"));
	assert_null(strstr(f, "cid:"));
	assert_null(strstr(f, "/u/"));
	assert_null(strstr(f, "<body"));
	assert_null(strstr(f, "&lt;body"));

	if (archive_feed(st, &env, "spotlight", 1, &out, &cause) != 0)
		fail_msg("archive_feed: %s", cause);
	assert_int_equal(count(buf_cstr(&out), "<entry"), 1);

	assert_int_equal(archive_feed(st, &env, "nosuch", 20, &out, &cause),
	    ARCHIVE_ENOTFOUND);
	free(cause);
	buf_free(&out);
}

static void
test_xml_escape(void **state)
{
	struct buf	b = BUF_INIT;

	archive_xml_escape(&b, "a<b>&\"'\x01\tក\xff!");
	assert_string_equal(buf_cstr(&b),
	    "a&lt;b&gt;&amp;&quot;&#39;\xef\xbf\xbd\tក\xef\xbf\xbd!");
	buf_free(&b);
}

#define NTHREADS	4
#define NROUNDS		3

struct worker {
	const char	*want_page;
	const char	*want_feed;
	int		 ok;
};

/*
 * Each thread with its own store handle, as the HTTP threads will; the
 * same bytes every time.  Run under valgrind --tool=helgrind to see
 * races (cmark-gfm's, serialized in render.c).
 */
static void *
worker_run(void *arg)
{
	struct worker	*w = arg;
	struct store	*own;
	struct buf	 out = BUF_INIT;
	char		*subject = NULL, *cause = NULL;
	int		 i;

	w->ok = 0;
	if ((own = store_open(dbpath, &cause)) == NULL)
		return NULL;
	for (i = 0; i < NROUNDS; i++) {
		if (archive_issue_html(own, &env, "spotlight", id_old, "km",
		    "/p/", &out, &subject, &cause) != 0 ||
		    strcmp(buf_cstr(&out), w->want_page) != 0)
			goto done;
		free(subject);
		subject = NULL;
		if (archive_feed(own, &env, "spotlight", 20, &out,
		    &cause) != 0 || strcmp(buf_cstr(&out), w->want_feed) != 0)
			goto done;
	}
	w->ok = 1;
done:
	free(subject);
	free(cause);
	buf_free(&out);
	store_close(own);
	return NULL;
}

static void
test_threads(void **state)
{
	struct worker	 w[NTHREADS];
	pthread_t	 t[NTHREADS];
	struct buf	 page = BUF_INIT, feed = BUF_INIT;
	char		*subject = NULL, *cause = NULL;
	int		 i;

	assert_int_equal(archive_issue_html(st, &env, "spotlight", id_old,
	    "km", "/p/", &page, &subject, &cause), 0);
	assert_int_equal(archive_feed(st, &env, "spotlight", 20, &feed,
	    &cause), 0);
	for (i = 0; i < NTHREADS; i++) {
		w[i].want_page = buf_cstr(&page);
		w[i].want_feed = buf_cstr(&feed);
		assert_int_equal(pthread_create(&t[i], NULL, worker_run,
		    &w[i]), 0);
	}
	for (i = 0; i < NTHREADS; i++) {
		pthread_join(t[i], NULL);
		assert_true(w[i].ok);
	}
	free(subject);
	buf_free(&page);
	buf_free(&feed);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_page_en),
		cmocka_unit_test(test_page_km),
		cmocka_unit_test(test_mail_unchanged),
		cmocka_unit_test(test_image),
		cmocka_unit_test(test_entries),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_feed),
		cmocka_unit_test(test_xml_escape),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
