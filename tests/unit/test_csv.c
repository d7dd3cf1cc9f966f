/* Unit tests for subcsv.c: edge cases of real files, round trips, speed. */
#include "autoconf.h"

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
#include "subcsv.h"

static int
read_str(const char *s, size_t len, struct subcsv *out, struct errlist *e)
{
	FILE	*fp;
	int	 rv;

	errlist_init(e);
	assert_non_null(fp = tmpfile());
	assert_int_equal(fwrite(s, 1, len, fp), len);
	rewind(fp);
	rv = subcsv_read(fp, "subs.csv", out, e);
	fclose(fp);
	return rv;
}

#define READ(s, out, e)	read_str(s, sizeof(s) - 1, out, e)

static const char *
attr(const struct subcsv_row *r, const char *key)
{
	size_t	i;

	for (i = 0; i < r->nattrs; i++)
		if (strcmp(r->attrs[i].key, key) == 0)
			return r->attrs[i].val;
	return NULL;
}

/* Fail unless some error message contains want. */
static void
has_error(const struct errlist *e, const char *want)
{
	size_t	i;

	for (i = 0; i < e->n; i++)
		if (strstr(e->msgs[i], want) != NULL)
			return;
	for (i = 0; i < e->n; i++)
		print_message("error %zu: %s\n", i, e->msgs[i]);
	fail_msg("no error containing '%s'", want);
}

static void
check_basic(const struct subcsv *s, const struct errlist *e)
{
	assert_int_equal(e->n, 0);
	assert_int_equal(s->nrows, 3);
	assert_int_equal(s->nbad, 0);
	assert_int_equal(s->ndup, 0);
	assert_string_equal(s->rows[0].email, "sokha@example.org");
	assert_string_equal(s->rows[0].name, "Sokha Chan");
	assert_string_equal(s->rows[0].lang, "km");
	assert_int_equal(s->rows[0].line, 2);
	assert_string_equal(s->rows[1].email, "bob@example.com");
	assert_null(s->rows[1].name);
	assert_string_equal(s->rows[1].lang, "en-gb");
	assert_int_equal(s->rows[1].line, 3);
	assert_string_equal(s->rows[2].email, "ann@b\xc3\xbc" "cher.example");
	assert_int_equal(s->rows[2].line, 4);
}

static void
test_bom_crlf(void **state)
{
	struct subcsv	s;
	struct errlist	e;

	assert_int_equal(READ("\xef\xbb\xbf" "email,name,lang\r\n"
	    "sokha@example.org,Sokha Chan,km\r\n"
	    "bob@EXAMPLE.com,,en-GB\r\n"
	    "ann@B\xc3\x9c" "CHER.example,Ann,\r\n", &s, &e), 0);
	check_basic(&s, &e);
	subcsv_free(&s);
	errlist_free(&e);
}

static void
test_lf_no_final_newline(void **state)
{
	struct subcsv	s;
	struct errlist	e;

	assert_int_equal(READ("email,name,lang\n"
	    "sokha@example.org,Sokha Chan,km\n"
	    "bob@EXAMPLE.com,,en-GB\n"
	    "ann@B\xc3\x9c" "CHER.example,Ann,", &s, &e), 0);
	check_basic(&s, &e);
	subcsv_free(&s);
	errlist_free(&e);
}

/* Quoted commas, quotes and line breaks; later rows keep their lines. */
static void
test_quoted(void **state)
{
	struct subcsv	s;
	struct errlist	e;

	assert_int_equal(READ("email,name,address,note\r\n"
	    "a@example.org,\"Chan, Sokha\",\"12 Street\r\nPhnom Penh\r\n"
	    "Cambodia\",\"say \"\"hi\"\"\"\r\n"
	    "\r\n"
	    "b@example.org,B,,\"one\nline\"\n"
	    "c@example.org,,,\r\n"
	    "x,,,\r\n", &s, &e), 0);
	assert_int_equal(s.nrows, 3);
	assert_string_equal(s.rows[0].name, "Chan, Sokha");
	assert_string_equal(attr(&s.rows[0], "address"),
	    "12 Street\r\nPhnom Penh\r\nCambodia");
	assert_string_equal(attr(&s.rows[0], "note"), "say \"hi\"");
	assert_int_equal(s.rows[0].line, 2);
	assert_int_equal(s.rows[1].line, 6);	/* after a blank line 5 */
	assert_string_equal(attr(&s.rows[1], "note"), "one\nline");
	assert_null(attr(&s.rows[1], "address"));	/* empty: absent */
	assert_int_equal(s.rows[2].line, 8);
	assert_int_equal(s.nbad, 1);
	assert_int_equal(e.n, 1);
	assert_string_equal(e.msgs[0],
	    "subs.csv:9: bad email address 'x': no @");
	subcsv_free(&s);
	errlist_free(&e);
}

static void
test_no_email_column(void **state)
{
	struct subcsv	s;
	struct errlist	e;

	assert_int_equal(READ("mail,name\r\na@example.org,A\r\n", &s, &e), -1);
	assert_int_equal(e.n, 1);
	assert_string_equal(e.msgs[0],
	    "subs.csv:1: the header row has no 'email' column");
	subcsv_free(&s);
	errlist_free(&e);

	assert_int_equal(read_str("", 0, &s, &e), -1);
	has_error(&e, "subs.csv:1: empty file");
	subcsv_free(&s);
	errlist_free(&e);
}

static void
test_header(void **state)
{
	struct subcsv	s;
	struct errlist	e;

	/* Trimmed, case-insensitive; unnamed columns must stay empty. */
	assert_int_equal(READ(" EMail , Name ,LANG, City ,\n"
	    "a@example.org,A,km,Phnom Penh,\n"
	    "b@example.org,B,km,Kampot,oops\n", &s, &e), 0);
	assert_int_equal(s.nrows, 1);
	assert_string_equal(s.rows[0].name, "A");
	assert_string_equal(attr(&s.rows[0], "City"), "Phnom Penh");
	assert_int_equal(s.rows[0].nattrs, 1);
	assert_int_equal(s.nbad, 1);
	has_error(&e, "subs.csv:3: a value in column 5, which has no name");
	subcsv_free(&s);
	errlist_free(&e);

	assert_int_equal(READ("email,ci\xfft\n", &s, &e), -1);
	has_error(&e, "subs.csv:1: invalid UTF-8 at byte 9 of the header row");
	subcsv_free(&s);
	errlist_free(&e);

	/* Blank and space-only lines before the header are skipped. */
	assert_int_equal(READ("\n  \t\r\nemail\na@example.org\n", &s, &e),
	    0);
	assert_int_equal(s.nrows, 1);
	assert_int_equal(s.rows[0].line, 4);
	subcsv_free(&s);
	errlist_free(&e);

	assert_int_equal(READ("email,city,CITY\n", &s, &e), -1);
	has_error(&e, "subs.csv:1: column 'CITY' appears twice");
	subcsv_free(&s);
	errlist_free(&e);
}

static void
test_ragged(void **state)
{
	struct subcsv	s;
	struct errlist	e;

	assert_int_equal(READ("email,name\n"
	    "a@example.org\n"
	    "b@example.org,B,extra\n"
	    "c@example.org,C\n", &s, &e), 0);
	assert_int_equal(s.nrows, 1);
	assert_int_equal(s.nbad, 2);
	assert_int_equal(e.n, 2);
	assert_string_equal(e.msgs[0],
	    "subs.csv:2: 1 field where the header row has 2");
	assert_string_equal(e.msgs[1],
	    "subs.csv:3: 3 fields where the header row has 2");
	subcsv_free(&s);
	errlist_free(&e);
}

static void
test_bad_values(void **state)
{
	struct subcsv	s;
	struct errlist	e;

	assert_int_equal(READ("email,name,lang\n"
	    "a@example.org,Bad \xff" "Name,en\n"
	    "b@example.org,\"two\nlines\",en\n"
	    "c@example.org,C,pt_BR\n"
	    " d@example.org,D,en\n"
	    ",E,en\n"
	    "f@example.org,\"F\xc2\x85\",en\n"
	    "g@a_b.example,G,en\n"
	    "h@example.org,H,en\n", &s, &e), 0);
	assert_int_equal(s.nrows, 1);
	assert_string_equal(s.rows[0].email, "h@example.org");
	assert_int_equal(s.rows[0].line, 10);
	assert_int_equal(s.nbad, 7);
	has_error(&e, "subs.csv:2: invalid UTF-8 at byte 19");
	has_error(&e, "subs.csv:3: bad name: contains a line feed at byte 4");
	has_error(&e, "subs.csv:5: bad language tag 'pt_BR'");
	has_error(&e, "subs.csv:6: bad email address ' d@example.org': "
	    "white space");
	has_error(&e, "subs.csv:7: no email address");
	has_error(&e, "subs.csv:8: bad name: contains a C1 control");
	has_error(&e, "subs.csv:9: bad email address 'g@a_b.example': "
	    "domain label 'a_b' has an invalid character '_'");
	subcsv_free(&s);
	errlist_free(&e);
}

static void
test_quoting_errors(void **state)
{
	struct subcsv	s;
	struct errlist	e;

	/* A stray quote spoils one row; the next is still read. */
	assert_int_equal(READ("email,name\n"
	    "a@example.org,Sa\"m\n"
	    "b@example.org,B\n", &s, &e), 0);
	assert_int_equal(s.nrows, 1);
	assert_string_equal(s.rows[0].email, "b@example.org");
	assert_int_equal(s.rows[0].line, 3);
	assert_int_equal(s.nbad, 1);
	has_error(&e, "subs.csv:2: malformed quoting");
	subcsv_free(&s);
	errlist_free(&e);

	/* An unclosed quote at the end is fatal and names the start. */
	assert_int_equal(READ("email,name\n"
	    "a@example.org,\"Sam\n"
	    "b@example.org,B\n", &s, &e), -1);
	has_error(&e, "record starting at line 2 has no closing quote");
	subcsv_free(&s);
	errlist_free(&e);
}

static void
test_duplicates(void **state)
{
	struct subcsv	s;
	struct errlist	e;

	assert_int_equal(READ("email,name,lang,city\n"
	    "a@Example.ORG,Old,en,Kampot\n"
	    "b@example.org,B,,\n"
	    "a@example.org,,km,\n"
	    "A@example.org,Other,,\n"
	    "a@EXAMPLE.org,New,,Kep\n", &s, &e), 0);
	assert_int_equal(e.n, 0);
	assert_int_equal(s.nrows, 3);	/* local parts keep their case */
	assert_int_equal(s.ndup, 2);
	assert_int_equal(s.nbad, 0);
	assert_string_equal(s.rows[0].email, "a@example.org");
	assert_int_equal(s.rows[0].line, 2);
	assert_string_equal(s.rows[0].name, "New");
	assert_string_equal(s.rows[0].lang, "km");
	assert_string_equal(attr(&s.rows[0], "city"), "Kep");
	assert_string_equal(s.rows[2].email, "A@example.org");
	subcsv_free(&s);
	errlist_free(&e);
}

/* What the writer writes, the reader reads back identically. */
static void
test_round_trip(void **state)
{
	static const char *const nasty[][4] = {
		{ "a@example.org", "Chan, Sokha", "km", "say \"hi\"" },
		{ "b@example.org", "  leading and trailing  ", "en",
		    "line one\r\nline two\nline three" },
		{ "c@b\xc3\xbc" "cher.example",
		    "\xe1\x9e\x9f\xe1\x9e\xbb\xe1\x9e\x81\xe1\x9e\xb6 "
		    "\xe1\x9e\x85\xe1\x9e\x93\xe1\x9f\x8b", "km",
		    "\xe1\x9e\x97\xe1\x9f\x92\xe1\x9e\x93\xe1\x9f\x86"
		    "\xe1\x9e\x96\xe1\x9f\x81\xe1\x9e\x89, \"x\"" },
		{ "d@example.org", "\"", "", ",,," },
		{ "e@example.org", "O'Neil", "pt-br", " " },
	};
	static const char *const head[] = { "email", "name", "lang", "note" };
	struct subcsv	 s;
	struct errlist	 e;
	FILE		*fp;
	size_t		 i, n = sizeof(nasty) / sizeof(nasty[0]);

	assert_non_null(fp = tmpfile());
	subcsv_write_record(fp, head, 4);
	for (i = 0; i < n; i++)
		subcsv_write_record(fp, nasty[i], 4);
	rewind(fp);
	errlist_init(&e);
	assert_int_equal(subcsv_read(fp, "rt.csv", &s, &e), 0);
	fclose(fp);
	for (i = 0; i < e.n; i++)
		print_message("%s\n", e.msgs[i]);
	assert_int_equal(e.n, 0);
	assert_int_equal(s.nrows, n);
	for (i = 0; i < n; i++) {
		assert_string_equal(s.rows[i].email, nasty[i][0]);
		assert_string_equal(s.rows[i].name, nasty[i][1]);
		if (*nasty[i][2] == '\0')
			assert_null(s.rows[i].lang);
		else
			assert_string_equal(s.rows[i].lang, nasty[i][2]);
		assert_string_equal(attr(&s.rows[i], "note"), nasty[i][3]);
	}
	assert_int_equal(s.rows[2].line, 6);	/* rows[1] spans lines 3-5 */
	subcsv_free(&s);
	errlist_free(&e);
}

static void
test_write_exact(void **state)
{
	static const char *const f[] = { "plain", "a,b", "q\"q", " lead",
	    "trail ", "", NULL, "l\nf" };
	char	*out = NULL;
	size_t	 len = 0;
	FILE	*fp;

	assert_non_null(fp = open_memstream(&out, &len));
	subcsv_write_record(fp, f, 8);
	fclose(fp);
	assert_string_equal(out,
	    "plain,\"a,b\",\"q\"\"q\",\" lead\",\"trail \",,,\"l\nf\"\r\n");
	free(out);
}

/* 100,000 rows with a few duplicates: fast, and every row accounted for. */
static void
test_speed(void **state)
{
	struct buf	 b = BUF_INIT;
	struct subcsv	 s;
	struct errlist	 e;
	struct timespec	 t0, t1;
	clock_t		 c0, c1;
	double		 secs, cpu;
	size_t		 i;
	int		 rv;

	buf_adds(&b, "email,name,lang,city\r\n");
	for (i = 0; i < 100000; i++)
		buf_printf(&b, "user%zu@Example%zu.org,\"Name %zu, Jr\",km,"
		    "Phnom Penh\r\n", i % 99000, i % 99000 % 7, i);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	c0 = clock();
	rv = read_str(b.data, b.len, &s, &e);
	c1 = clock();
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	cpu = (double)(c1 - c0) / CLOCKS_PER_SEC;
	print_message("100000 rows read in %.3f s (%.3f s of CPU)\n", secs,
	    cpu);
	assert_int_equal(rv, 0);
	assert_int_equal(e.n, 0);
	assert_int_equal(s.nrows, 99000);
	assert_int_equal(s.ndup, 1000);
	assert_string_equal(s.rows[5].email, "user5@example5.org");
	assert_string_equal(s.rows[0].name, "Name 99000, Jr");
	/*
	 * The target is well under 0.3 s (about 0.1 s of CPU here); CPU time
	 * with a generous bound keeps a loaded CI machine from failing it.
	 */
	assert_true(cpu < 1.0);
	subcsv_free(&s);
	errlist_free(&e);
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bom_crlf),
		cmocka_unit_test(test_lf_no_final_newline),
		cmocka_unit_test(test_quoted),
		cmocka_unit_test(test_no_email_column),
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_ragged),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_quoting_errors),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_write_exact),
		cmocka_unit_test(test_speed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
