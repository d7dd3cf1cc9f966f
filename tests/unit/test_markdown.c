/* Unit tests of markdown.c: HTML and plain text from cmark-gfm. */
#include "autoconf.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <unistr.h>
#include <uniwidth.h>

#include "markdown.h"

static char *
html(const char *md)
{
	return markdown_to_html(md, strlen(md));
}

static char *
text(const char *md)
{
	return markdown_to_text(md, strlen(md), MARKDOWN_WIDTH);
}

#define assert_contains(hay, needle) do {				\
	if (strstr((hay), (needle)) == NULL)				\
		fail_msg("\"%s\" not in:\n%s", (needle), (hay));	\
} while (0)

#define assert_lacks(hay, needle) do {					\
	if (strstr((hay), (needle)) != NULL)				\
		fail_msg("\"%s\" unexpectedly in:\n%s", (needle), (hay)); \
} while (0)

/* Display columns of the widest line of s, and checks it is valid UTF-8. */
static size_t
widest_line(const char *s)
{
	const char	*nl;
	size_t		 w, max = 0;

	assert_null(u8_check((const uint8_t *)s, strlen(s)));
	while (*s != '\0') {
		if ((nl = strchr(s, '\n')) == NULL)
			nl = s + strlen(s);
		w = u8_width((const uint8_t *)s, nl - s, "UTF-8");
		if (w > max)
			max = w;
		s = *nl ? nl + 1 : nl;
	}
	return max;
}

static void
test_html_table(void **state)
{
	char	*out;

	out = html("| Name | Role |\n|:--|--:|\n| Bunly | Trainer |\n");
	assert_contains(out, "<table");
	assert_contains(out, "<th style=");
	assert_contains(out, ">Name</th>");
	assert_contains(out, "align=\"right\">Trainer</td>");
	assert_lacks(out, "| Name");
	free(out);
}

static void
test_html_autolink(void **state)
{
	char	*out;

	out = html("See https://r2p.example.org/x?a=1 and www.cicp.org.kh.\n");
	assert_contains(out, "<a href=\"https://r2p.example.org/x?a=1\">"
	    "https://r2p.example.org/x?a=1</a>");
	assert_contains(out, "<a href=\"http://www.cicp.org.kh\">"
	    "www.cicp.org.kh</a>");
	free(out);
}

static void
test_html_strikethrough(void **state)
{
	char	*out;

	out = html("one ~~two~~ three\n");
	assert_string_equal(out, "<p>one <del>two</del> three</p>\n");
	free(out);
}

static void
test_html_link_and_emphasis(void **state)
{
	char	*out;

	out = html("A [link](https://example.org/a?b=1&c=2 \"T\") and "
	    "**bold** & *em*.\n");
	assert_string_equal(out, "<p>A <a href=\"https://example.org/a?b=1&amp;"
	    "c=2\" title=\"T\">link</a> and <strong>bold</strong> &amp; "
	    "<em>em</em>.</p>\n");
	free(out);
}

static void
test_html_raw_suppressed(void **state)
{
	char	*out;

	out = html("<script>alert(1)</script>\n\n"
	    "inline <script>x()</script> <img src=x onerror=alert(2)>\n\n"
	    "<div onclick=\"y()\">block</div>\n\n"
	    "[bad](javascript:alert(3)) ![i](vbscript:z)\n\n"
	    "`<script>` and <b>b</b>\n");
	assert_lacks(out, "<script");
	assert_lacks(out, "<div");
	assert_lacks(out, "onerror");
	assert_lacks(out, "onclick");
	assert_lacks(out, "javascript:");
	assert_lacks(out, "vbscript:");
	assert_lacks(out, "<b>");
	assert_contains(out, "<!-- raw HTML omitted -->");
	assert_contains(out, "<code>&lt;script&gt;</code>");
	free(out);

	out = text("<script>alert(1)</script>\n\nsafe <b>x</b>\n");
	assert_lacks(out, "script");
	assert_lacks(out, "<b>");
	assert_string_equal(out, "safe x\n");
	free(out);
}

static void
test_html_utf8(void **state)
{
	char	*out;

	/* Invalid bytes become U+FFFD; Khmer goes through untouched. */
	out = html("a\xff b \xe1\x9e\x80\xe1\x9e\xb6\n");
	assert_string_equal(out,
	    "<p>a\xef\xbf\xbd b \xe1\x9e\x80\xe1\x9e\xb6</p>\n");
	free(out);
	out = html("");
	assert_string_equal(out, "");
	free(out);
}

static void
test_text_links(void **state)
{
	char	*out;

	out = text("Read [the report](https://example.org/report) and "
	    "[the manual](https://example.org/manual), then [the report]"
	    "(https://example.org/report) again.  Mail <info@example.org> or "
	    "see https://example.org/plain.  [x](javascript:alert(1))\n");
	assert_string_equal(out,
	    "Read the report [1] and the manual [2], then the report [1] again. Mail\n"
	    "info@example.org or see https://example.org/plain. x\n"
	    "\n"
	    "Links:\n"
	    "[1] https://example.org/report\n"
	    "[2] https://example.org/manual\n");
	free(out);
}

static void
test_text_wrap(void **state)
{
	const char	*md =
	    "The event aimed to take R2P as an outreach program at the "
	    "community level and raise awareness of key concepts and relevance "
	    "of R2P. It also aimed to build local constituents and champions of "
	    "R2P in Svay Rieng, with [a link](https://example.org/) that must "
	    "not be split from its number.\n\n"
	    "- a list item that is long enough to need wrapping, so that its "
	    "continuation lines are indented under the text\n";
	char		*out, *p;

	out = text(md);
	assert_true(widest_line(out) <= 72);
	assert_true(widest_line(out) >= 60);
	/* The reference number stays with its word. */
	assert_contains(out, "link [1]");
	/* Continuation lines of the item are indented by two spaces. */
	p = strstr(out, "- a list item");
	assert_non_null(p);
	p = strchr(p, '\n');
	assert_non_null(p);
	assert_true(strncmp(p + 1, "  ", 2) == 0 && p[3] != ' ');
	/* No line ends in a space. */
	assert_lacks(out, " \n");
	free(out);

	/* A word longer than the line stays whole. */
	out = text("short https://example.org/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa short\n");
	assert_string_equal(out, "short\nhttps://example.org/aaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\nshort\n");
	free(out);

	/* Width 0: no wrapping at all. */
	out = markdown_to_text(md, strlen(md), 0);
	assert_true(widest_line(out) > 200);
	free(out);
}

static void
test_text_blocks(void **state)
{
	char	*out;

	out = text("# Spotlight on R2P\n\n## Opening Session\n\n"
	    "### Discussion\n\nIntro *plain* **text** and `code`.\n\n"
	    "- one\n- two\n  - nested\n\n"
	    "3. three\n4. four\n\n"
	    "> quoted line\n>\n> second\n\n"
	    "    indented code\n\n---\n");
	assert_string_equal(out,
	    "Spotlight on R2P\n"
	    "================\n"
	    "\n"
	    "Opening Session\n"
	    "---------------\n"
	    "\n"
	    "### Discussion\n"
	    "\n"
	    "Intro plain text and code.\n"
	    "\n"
	    "- one\n"
	    "- two\n"
	    "  - nested\n"
	    "\n"
	    "3. three\n"
	    "4. four\n"
	    "\n"
	    "> quoted line\n"
	    ">\n"
	    "> second\n"
	    "\n"
	    "    indented code\n"
	    "\n"
	    "* * *\n");
	free(out);

	/* Loose lists keep their paragraphs apart. */
	out = text("1. first\n\n   more\n2. second\n");
	assert_string_equal(out, "1. first\n\n   more\n\n2. second\n");
	free(out);
}

static void
test_text_table(void **state)
{
	char	*out;

	out = text("| Name | Role |\n|---|--:|\n| Soeung Bunly | Trainer |\n"
	    "| Him Raksmey | Focal ~~point~~ |\n");
	assert_string_equal(out,
	    "Name         |            Role\n"
	    "-------------+----------------\n"
	    "Soeung Bunly |         Trainer\n"
	    "Him Raksmey  | Focal ~~point~~\n");
	free(out);

	/* Too wide for 72 columns: one "Header: value" line per cell. */
	out = text("| Question | Answer |\n|---|---|\n"
	    "| Why has the international community not responded? | "
	    "A norm can only be enforced if there is political willingness "
	    "from states. |\n");
	assert_true(widest_line(out) <= 72);
	assert_contains(out, "Question: Why has the international community");
	assert_contains(out, "Answer: A norm can only be enforced");
	free(out);
}

static void
test_text_khmer(void **state)
{
	/* "This bulletin gives news of the training held at Svay Rieng University." */
	const char	*km =
	    "ព្រឹត្តិបត្រ\xe2\x80\x8bនេះ\xe2\x80\x8bផ្ដល់\xe2\x80\x8bព័ត៌មាន"
	    "\xe2\x80\x8bអំពី\xe2\x80\x8bវគ្គ\xe2\x80\x8bបណ្ដុះបណ្ដាល ដែល"
	    "\xe2\x80\x8bបាន\xe2\x80\x8bរៀបចំ\xe2\x80\x8bនៅ\xe2\x80\x8b"
	    "សាកលវិទ្យាល័យ\xe2\x80\x8bស្វាយរៀង នៅ\xe2\x80\x8bថ្ងៃ\xe2\x80\x8b"
	    "សៅរ៍ ទី\xe2\x80\x8b១៦ ខែ\xe2\x80\x8bកញ្ញា ឆ្នាំ\xe2\x80\x8b២០២៣។ "
	    "ព្រឹត្តិបត្រ\xe2\x80\x8bនេះ\xe2\x80\x8bផ្ដល់\xe2\x80\x8bព័ត៌មាន"
	    "\xe2\x80\x8bអំពី\xe2\x80\x8bវគ្គ\xe2\x80\x8bបណ្ដុះបណ្ដាល។";
	const char	*nospace = "ការទទួលខុសត្រូវក្នុងការការពារការទទួលខុសត្រូវក្នុងការ"
	    "ការពារការទទួលខុសត្រូវក្នុងការការពារការទទួលខុសត្រូវក្នុងការការពារ"
	    "ការទទួលខុសត្រូវក្នុងការការពារ";
	char		*md, *out, *p, *q;

	md = malloc(strlen(km) + 64);
	assert_non_null(md);
	strcpy(md, "## សួស្ដី\n\n");
	strcat(md, km);
	strcat(md, "\n");
	out = text(md);
	assert_true(widest_line(out) <= 72);
	assert_contains(out, "សួស្ដី\n");
	/* Every character is there once the line breaks are taken out. */
	for (p = q = out; *p != '\0'; p++)
		if (*p != '\n')
			*q++ = *p;
	*q = '\0';
	assert_contains(out, "សាកលវិទ្យាល័យ");
	assert_contains(out, "ឆ្នាំ\xe2\x80\x8b២០២៣។");
	free(out);
	free(md);

	/* A run with no space at all may exceed the width, but stays whole. */
	out = text(nospace);
	assert_null(u8_check((const uint8_t *)out, strlen(out)));
	assert_int_equal(strlen(out), strlen(nospace) + 1);
	assert_memory_equal(out, nospace, strlen(nospace));
	free(out);
}

static void
test_text_utf8_never_split(void **state)
{
	struct {
		const char	*word;
	} words[] = { { "é" }, { "ក្ស" }, { "日本" }, { "😀" }, { "a" } };
	char		 md[4096], *out;
	size_t		 i, k, width;

	/* Many widths and word mixes: the output is always valid UTF-8. */
	for (width = 5; width < 40; width++) {
		md[0] = '\0';
		for (i = 0; i < 60; i++) {
			k = (i * 7 + width) % 5;
			strcat(md, words[k].word);
			strcat(md, (i % 3) ? " " : "");
		}
		out = markdown_to_text(md, strlen(md), (int)width);
		assert_null(u8_check((const uint8_t *)out, strlen(out)));
		free(out);
	}
	/* Invalid input bytes come out as U+FFFD, never raw. */
	out = markdown_to_text("a\xc3 b\xe1\x9e", 8, 72);
	assert_null(u8_check((const uint8_t *)out, strlen(out)));
	assert_contains(out, "\xef\xbf\xbd");
	free(out);
	out = markdown_to_text("", 0, 72);
	assert_string_equal(out, "");
	free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_html_table),
		cmocka_unit_test(test_html_autolink),
		cmocka_unit_test(test_html_strikethrough),
		cmocka_unit_test(test_html_link_and_emphasis),
		cmocka_unit_test(test_html_raw_suppressed),
		cmocka_unit_test(test_html_utf8),
		cmocka_unit_test(test_text_links),
		cmocka_unit_test(test_text_wrap),
		cmocka_unit_test(test_text_blocks),
		cmocka_unit_test(test_text_table),
		cmocka_unit_test(test_text_khmer),
		cmocka_unit_test(test_text_utf8_never_split),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
