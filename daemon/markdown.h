/*
 * Markdown (CommonMark with the GFM table, autolink and strikethrough
 * extensions, through cmark-gfm) to the HTML and the plain-text parts of
 * a message.  Pure: no I/O; the only global state is cmark-gfm's own
 * registry of extensions.
 */
#ifndef HERALD_MARKDOWN_H
#define HERALD_MARKDOWN_H

#include <stddef.h>

#define MARKDOWN_WIDTH	72	/* the usual width of a text/plain line */

/*
 * Markdown to an HTML fragment (no <html> or <body>).  Raw HTML in the
 * source never reaches the output: cmark-gfm replaces it with the comment
 * "<!-- raw HTML omitted -->", and links or images to javascript:,
 * vbscript:, file: or non-image data: URLs lose their URL.  Tables,
 * block quotes, code blocks and images carry small inline styles so that
 * they read well in mail clients that drop <style>.  Invalid UTF-8 is
 * replaced by U+FFFD.  Returns a string the caller frees; never NULL.
 */
char	*markdown_to_html(const char *src, size_t len);

/*
 * Markdown to readable plain text: headings underlined ("=" for level 1,
 * "-" for level 2) or prefixed with "#"s, list items with their bullets
 * or numbers, block quotes prefixed with "> ", tables as aligned columns
 * (or as "Header: value" lines when too wide), emphasis plain, code
 * blocks indented by four spaces, and links as numbered references
 * "text [1]" with a "Links:" list at the end ("[1] https://...").  A link
 * whose text is its own URL is left as it is.  Paragraphs are wrapped at
 * width display columns (counted per character, never splitting one),
 * breaking at spaces and after U+200B ZERO WIDTH SPACE; a word longer
 * than the width (Khmer runs without spaces) stays whole on its line.
 * width <= 0 means no wrapping; text inside deep quotes or lists keeps
 * at least 20 columns.  Raw HTML is left out.  Returns a string
 * the caller frees, ending in a newline unless empty; never NULL.
 */
char	*markdown_to_text(const char *src, size_t len, int width);

#endif
