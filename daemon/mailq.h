/*
 * The dispatcher's side of the mail queue: transactional mail
 * (confirmations) claimed from the store ahead of newsletter deliveries,
 * rendered by confirm.c, handed to the same SMTP transport within the
 * same rate limits, and recorded with the outbox's rules (2xx sent; 4xx,
 * timeouts and dropped connections deferred with backoff; 5xx failed,
 * never counted as a newsletter bounce).  A message is `sending` in the
 * database before SMTP sees it; after a crash store_recover() makes it
 * pending again and it goes out with the same Message-ID.
 *
 * dispatch.c calls, in its loop:
 *	mailq_record + mailq_claim	in its exchange transaction,
 *	mailq_committed / mailq_abort	after COMMIT / ROLLBACK,
 *	mailq_send			before sending newsletters,
 *	mailq_done			for a result whose id mailq_owns().
 */
#ifndef HERALD_MAILQ_H
#define HERALD_MAILQ_H

#include <stddef.h>
#include <stdint.h>

struct config;
struct limits;
struct smtp;
struct smtp_result;
struct store;

/* SMTP ids of mail-queue messages carry this bit (deliveries never do). */
#define MAILQ_ID_FLAG	(UINT64_C(1) << 62)

struct mailq;

struct mailq	*mailq_new(void);
/* Frees what is claimed and not sent (store_recover puts it back). */
void		 mailq_free(struct mailq *);

/* 1 when an SMTP result belongs to the mail queue. */
int		 mailq_owns(uint64_t smtp_id);
/* Messages claimed and not yet handed to SMTP; results not recorded. */
size_t		 mailq_nready(const struct mailq *);
size_t		 mailq_nresults(const struct mailq *);
/* 1 when the queue should be looked at (once a second, or sooner). */
int		 mailq_due(const struct mailq *, int64_t now_ms);
/* Look at the queue at the next mailq_due(), e.g. after a change. */
void		 mailq_poke(struct mailq *);

/* In the caller's transaction: write the results collected so far. */
int		 mailq_record(struct mailq *, struct store *, int64_t now,
		    char **cause);
/* In the caller's transaction: claim up to max - nready due messages. */
int		 mailq_claim(struct mailq *, struct store *, int64_t now_ms,
		    size_t max, char **cause);
/* The transaction committed: forget recorded results, keep the claims. */
void		 mailq_committed(struct mailq *);
/* It rolled back: forget the claims it made; results stay for later. */
void		 mailq_abort(struct mailq *);

/*
 * Render and submit ready messages while the transport has free slots
 * and the limits allow; returns how many went to SMTP.  key signs the
 * confirmation links.  A message that cannot be rendered fails at once.
 */
int		 mailq_send(struct mailq *, struct smtp *, struct limits *,
		    const struct config *, const unsigned char *key,
		    size_t keylen, int64_t now_ms);
/* One SMTP result (mailq_owns(res->id)): its state, logged. */
void		 mailq_done(struct mailq *, const struct smtp_result *,
		    const struct config *);

#endif
