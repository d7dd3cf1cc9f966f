/*
 * The confirmation email of double opt-in: "confirm your subscription
 * to LIST", with a link BASE_URL/c/TOKEN (a TOKEN_CONFIRM token issued
 * at rendering), rendered from templates/web/confirm-email.text.mustache
 * and confirm-email.html.mustache in English or Khmer by the
 * subscriber's language.  It is transactional mail: no List-Id and no
 * List-Unsubscribe, but Auto-Submitted: auto-generated.
 */
#ifndef HERALD_CONFIRM_H
#define HERALD_CONFIRM_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct buf;

/* The folder under the configuration's templates. */
#define CONFIRM_TEMPLATE_DIR	"web"

/* What the configuration says. */
struct confirm_env {
	const char		*templates;	/* folder of template folders */
	const char		*base_url;	/* public base of links, no / */
	const char		*from_address;	/* when the list has none */
	const char		*from_name;
	const char		*reply_to;
	const char		*domain;	/* of Message-IDs */
	const char		*postal_address;	/* may be NULL */
	const unsigned char	*key;		/* signs the token */
	size_t			 keylen;
};

/* One confirmation to render. */
struct confirm_msg {
	int64_t		 id;		/* mail-queue row: the Message-ID */
	int64_t		 subscriber;
	const char	*email;
	const char	*name;		/* NULL when unknown */
	const char	*lang;		/* "km..." for Khmer, else English */
	int64_t		 list;
	const char	*list_name;
	const char	*list_title;
	const char	*from_address;	/* the list's; NULL: the env's */
	const char	*from_name;
	const char	*reply_to;
};

/*
 * The whole message into out (reset first); the link's token is issued
 * at now.  The Message-ID depends only on the row id (and the key), so
 * a resend has the same one.  -1 and an allocated *cause when a template
 * is missing or does not parse, or a header is refused.
 */
int	confirm_render(const struct confirm_env *, const struct confirm_msg *,
	    time_t now, struct buf *out, char **cause);
/* The link alone (caller frees), for tests and heraldctl. */
char	*confirm_link(const struct confirm_env *, int64_t subscriber,
	    int64_t list, time_t now);
/* The Message-ID of mail-queue row id (caller frees). */
char	*confirm_message_id(const struct confirm_env *, int64_t id);

#endif
