/*
 * Rendering: an issue, its template and one subscriber become the exact
 * bytes of a message.  render_compile does everything that is the same
 * for every subscriber once (templates parsed, markdown converted, images
 * and attachments encoded); render_message is the per-subscriber step.
 */
#ifndef HERALD_RENDER_H
#define HERALD_RENDER_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct buf;
struct issue;
struct value;

/* What the configuration says that rendering needs. */
struct render_env {
	const char		*templates;	/* folder of template folders */
	const char		*base_url;	/* public base of links, no / */
	const char		*from_address;	/* defaults when the list has none */
	const char		*from_name;
	const char		*reply_to;
	const char		*domain;	/* Message-IDs and List-Id */
	const char		*bounce_domain;	/* the List-Unsubscribe mailto */
	const char		*postal_address;
	const unsigned char	*key;		/* signs the links' tokens */
	size_t			 keylen;
};

/* The list an issue goes to. */
struct render_list {
	int64_t		 id;
	const char	*name;
	const char	*title;
	const char	*from_address;	/* NULL: the environment's */
	const char	*from_name;
	const char	*reply_to;
};

struct render_attr {
	const char	*key;
	const char	*val;
};

/* One recipient. */
struct render_rcpt {
	int64_t			 id;		/* subscriber id (links, Message-ID) */
	const char		*email;
	const char		*name;		/* NULL when unknown */
	const char		*lang;		/* NULL when unknown */
	const struct render_attr *attrs;	/* subscriber.attributes */
	size_t			 nattrs;
	const char		*subject_prefix; /* "[TEST] " for tests, or NULL */
};

struct render_issue;

/*
 * Prepare issue (already parsed and checked) for sending to list as
 * issue number issue_id, dated date.  NULL and an allocated *cause when a
 * template is missing or does not parse, or the issue cannot be encoded.
 */
struct render_issue *render_compile(const struct issue *, int64_t issue_id,
	    time_t date, const struct render_list *, const struct render_env *,
	    char **cause);
/* The whole message for rcpt, into out (reset first). */
int	render_message(struct render_issue *, const struct render_rcpt *,
	    time_t now, struct buf *out, char **cause);
/*
 * The same with the caller's scratch buffers for the two bodies: several
 * threads may render messages of one compiled issue at once this way.
 */
int	render_message_r(struct render_issue *, const struct render_rcpt *,
	    time_t now, struct buf *html, struct buf *text, struct buf *out,
	    char **cause);
/* Only the two bodies for rcpt (either may be NULL). */
int	render_bodies(struct render_issue *, const struct render_rcpt *,
	    struct buf *html, struct buf *text, char **cause);
/*
 * The HTML body for nobody in particular (the web archive), in lang's
 * variant (NULL: the first): no subscriber fields, links.unsubscribe
 * empty (no token anywhere), "web" true in the context, and the src of
 * inline image i (the issue's images[i]) replaced by img_urls[i].
 */
int	render_web_html(struct render_issue *, const char *lang,
	    const char *const *img_urls, struct buf *html, char **cause);
/* The subject rcpt gets (their language's variant). */
const char *render_subject(struct render_issue *, const char *lang);
/* The From address the message goes out with (the envelope default). */
const char *render_from_address(struct render_issue *);
/*
 * Whether render_message renders the bodies by plans (the default: see
 * render.c) or in full every time; the bytes are the same either way.
 */
void	render_use_plans(struct render_issue *, int on);
/* How many plans render_message made so far (tests). */
size_t	render_plan_count(struct render_issue *);
void	render_free(struct render_issue *);
/*
 * A template file's text (at most 1 MiB), for the issue templates, the
 * web pages and the confirmation email alike.  -1 and "PATH: why".
 */
int	render_template_read(const char *path, char **out, size_t *len,
	    char **cause);

#endif
