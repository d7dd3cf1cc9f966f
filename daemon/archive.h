/*
 * The web archive's content, below the HTTP layer: the sent issues of a
 * list as pages rendered for nobody in particular (no subscriber, no
 * token), their images, the list of them, and an Atom feed (RFC 4287).
 * No HTTP, no globals, no logging: each call takes its own open store
 * handle, so several threads may call at once with one handle each.
 *
 * Only issues in state sent of the named list are shown.  Functions that
 * can fail return ARCHIVE_ENOTFOUND (-1: no such list, no such sent
 * issue in it, no such image; the caller answers 404) or ARCHIVE_EFAIL
 * (-2: the database or the rendering failed; 500), with an allocated
 * *cause that the caller reports and frees.
 */
#ifndef HERALD_ARCHIVE_H
#define HERALD_ARCHIVE_H

#include <stddef.h>
#include <stdint.h>

struct buf;
struct render_env;
struct store;

#define ARCHIVE_ENOTFOUND	(-1)
#define ARCHIVE_EFAIL		(-2)

/*
 * One archived issue rendered for nobody: the HTML body (a whole
 * document) in lang's variant (NULL: the issue's first) into out (reset
 * first), image i's src pointing at img_prefix + its archive name
 * ("img0.png", see archive_issue_image) instead of cid:, no unsubscribe
 * link nor token, subscriber fields empty, links.subscribe offered.
 * *subject gets the variant's subject (allocated) for the page title.
 */
int	archive_issue_html(struct store *, const struct render_env *,
	    const char *list, int64_t issue_id, const char *lang,
	    const char *img_prefix, struct buf *out, char **subject,
	    char **cause);
/*
 * The bytes and media type (both allocated) of the image called name in
 * archive_issue_html's URLs: "img" + its 0-based index among the issue's
 * inline images + its file name's extension ("img0.png").
 */
int	archive_issue_image(struct store *, const char *list, int64_t issue_id,
	    const char *name, unsigned char **data, size_t *len, char **ctype,
	    char **cause);

/* One sent issue of a list. */
struct archive_entry {
	int64_t	 id;
	char	*subject;	/* in lang's variant when it has one */
	char	*preheader;	/* NULL when the issue has none */
	char	*lang;		/* that variant's tag, NULL when untagged */
	int64_t	 date;		/* when it finished sending, else send time */
};

/*
 * The sent issues of list, newest first (by date, then by id), *out
 * NULL when *n is 0.  An issue that no longer parses is listed with its
 * stored subject.
 */
int	archive_entries(struct store *, const char *list, const char *lang,
	    struct archive_entry **out, size_t *n, char **cause);
void	archive_entries_free(struct archive_entry *, size_t);

/*
 * A valid Atom 1.0 feed of the list's newest `max` sent issues into out
 * (reset first): feed id, title, updated, author, links self
 * (base_url/a/LIST/feed.atom) and alternate (base_url/a/LIST/); per
 * entry id and link base_url/a/LIST/ID, title, updated, published,
 * summary (the preheader) and content type="html" (the archived page's
 * body, images at base_url/a/LIST/ID/img0.png).  Times RFC 3339 UTC.
 */
int	archive_feed(struct store *, const struct render_env *,
	    const char *list, size_t max, struct buf *out, char **cause);

/* XML-escape s into out; characters XML 1.0 forbids become U+FFFD. */
void	archive_xml_escape(struct buf *out, const char *s);

#endif
