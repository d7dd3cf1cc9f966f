/* Message bytes: quoted-printable, base64, RFC 2047 headers, multiparts. */
#ifndef HERALD_MIME_H
#define HERALD_MIME_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"

/* Longest line we ever write (RFC 5322 says 998 octets without CRLF). */
#define MIME_LINE_MAX		998
/* Where header lines are folded (RFC 5322 "should"). */
#define MIME_FOLD_COLUMN	78
/* Room for mime_date(): "Fri, 27 Nov 2026 21:44:34 +0700" and a NUL. */
#define MIME_DATE_LEN		40

/*
 * Quoted-printable (RFC 2045 6.7): LF or CRLF line ends become CRLF, lines
 * are at most 76 characters with soft breaks, and "=", 8-bit bytes, controls,
 * white space before a line break, a leading "." and a leading "From " are
 * encoded.  Appends to the buffer.
 */
void	mime_qp_encode(struct buf *, const char *, size_t);
/* Base64 (RFC 4648) in CRLF lines of 76 characters, the last one ended too. */
void	mime_base64_encode(struct buf *, const void *, size_t);

/*
 * Check a value bound for a header: valid UTF-8, no control character
 * (C0, DEL, C1), no U+2028/U+2029.  Returns 0, or -1 with *why static.
 */
int	mime_check_text(const char *, const char **why);
/* Check an ASCII addr-spec of a plausible shape; 0 or -1 with *why. */
int	mime_check_addr(const char *, const char **why);

/*
 * Header writers; each appends "Field: body" CRLF, folded at 78 columns,
 * never over 998.  The values must have passed mime_check_text().
 * Unstructured text (Subject): ASCII words stay plain, runs of non-ASCII
 * words become RFC 2047 B words of at most 75 characters, cut only between
 * grapheme clusters (never after a Khmer COENG).
 */
void	mime_header_unstructured(struct buf *, const char *field,
	    const char *utf8);
/* "Field: name <addr>", the name as an RFC 5322 phrase; name may be NULL. */
void	mime_header_mailbox(struct buf *, const char *field,
	    const char *name, const char *addr);
/* Append just the phrase for a display name (atoms, quoted or encoded). */
void	mime_phrase(struct buf *, const char *utf8);

/* RFC 5322 date with a numeric zone, e.g. "Fri, 27 Nov 2026 21:44:34 +0700". */
void	mime_date(char *out, size_t outlen, time_t, int zone_minutes);
/*
 * Message-ID "<herald.ISSUE.SUBSCRIBER.HASH@domain>", the same for the same
 * inputs; HASH is a truncated HMAC-SHA256 under key (a plain SHA-256 when
 * key is NULL), so ids cannot be guessed without the key.  Caller frees.
 */
char	*mime_message_id(int64_t issue, int64_t subscriber, const char *domain,
	    const unsigned char *key, size_t keylen);

/* A part encoded once per issue (an image or attachment) and copied after. */
enum mime_disposition {
	MIME_INLINE,
	MIME_ATTACHMENT
};
struct mime_part;

/*
 * Encode a binary part once: its headers (Content-Type with a name,
 * Content-Disposition with an RFC 2231 filename* when not ASCII,
 * Content-ID for inline parts) and its base64 body.  content_id is the bare
 * id without angle brackets ("logo@herald"), needed for MIME_INLINE.
 * Returns NULL with *cause set (caller frees) on bad input.
 */
struct mime_part *mime_part_new(const char *content_type,
	    enum mime_disposition, const char *filename,
	    const char *content_id, const void *data, size_t len, char **cause);
void	mime_part_free(struct mime_part *);
/* The encoded bytes of a part (headers, blank line, body). */
const char *mime_part_bytes(const struct mime_part *, size_t *len);

struct mime_header {
	const char	*name;		/* "X-Herald-Issue" */
	const char	*value;		/* unstructured UTF-8 */
};

struct mime_message {
	const char	*from_name;	/* may be NULL */
	const char	*from_addr;
	const char	*to_name;	/* may be NULL */
	const char	*to_addr;
	const char	*reply_to_name;	/* may be NULL */
	const char	*reply_to_addr;	/* NULL: no Reply-To */
	const char	*subject;
	time_t		 date;
	int		 zone_minutes;	/* east of UTC, e.g. 420 for +0700 */
	const char	*message_id;	/* "<...>", from mime_message_id() */
	const char	*list_title;	/* List-Id phrase, may be NULL */
	const char	*list_id;	/* "name.domain" */
	const char	*unsub_url;	/* https://..., one-click target */
	const char	*unsub_mailto;	/* mailto:..., may be NULL */
	int		 transactional;	/* 1: not list mail (a confirmation):
					   no List-Id, no List-Unsubscribe;
					   list_id and unsub_url unused */
	const struct mime_header *extra;	/* extra headers */
	size_t		 nextra;
	const char	*text;		/* text/plain body, UTF-8 */
	size_t		 text_len;
	const char	*html;		/* text/html body, NULL for none */
	size_t		 html_len;
	int		 bodies_qp;	/* text and html are quoted-printable
					   already (render plans) */
	struct mime_part *const *inlines;	/* multipart/related parts */
	size_t		 ninlines;
	struct mime_part *const *attachments;	/* multipart/mixed parts */
	size_t		 nattachments;
};

/*
 * Build the whole message into out (appended).  Returns 0, or -1 with
 * *cause set (caller frees) naming the field that was refused.
 */
int	mime_build(const struct mime_message *, struct buf *out, char **cause);

#endif
