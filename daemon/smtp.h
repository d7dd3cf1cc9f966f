/*
 * SMTP transport over libcurl: N connections, each reused for up to M
 * messages, one recipient per transaction, and one outcome per message
 * classified in one place (smtp_classify).  Each connection runs in a
 * thread of its own, because libcurl 7.88 blocks in curl_multi_perform
 * while it waits for the reply to the final dot (curl issue #8555); the
 * caller's loop only calls smtp_poll (curl_multi_poll, with its own fds)
 * and smtp_perform, which calls back with results in the caller's thread.
 */
#ifndef HERALD_SMTP_H
#define HERALD_SMTP_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "buf.h"

enum smtp_outcome {
	SMTP_SENT,		/* 2xx after the final dot */
	SMTP_FAILED,		/* 5xx at RCPT (hard bounce), DATA or the dot */
	SMTP_DEFERRED,		/* 4xx, timeout, no connection, MAIL refused */
	SMTP_INDOUBT,		/* no reply after the dot: resend the same bytes */
	SMTP_RETRY_NOW,		/* failed at MAIL FROM on a reused connection */
	SMTP_REFUSED,		/* not sent: its build function failed, or
				   smtp_check refused the bytes (reply says) */
};

/* Where in the session the transaction ended. */
enum smtp_stage {
	SMTP_STAGE_CONNECT,	/* TCP, TLS, greeting, EHLO, STARTTLS, AUTH */
	SMTP_STAGE_MAIL,
	SMTP_STAGE_RCPT,
	SMTP_STAGE_DATA,	/* DATA command, or sending the body */
	SMTP_STAGE_DOT,		/* the whole body was handed over */
};

enum smtp_starttls {
	SMTP_STARTTLS_NONE,	/* plaintext (or implicit TLS with smtps://) */
	SMTP_STARTTLS_TRY,	/* opportunistic */
	SMTP_STARTTLS_REQUIRE,	/* fail, never fall back to plaintext */
};

struct smtp_params {
	const char	*url;		/* smtp://host:port[/helo] or smtps:// */
	enum smtp_starttls starttls;
	const char	*username;	/* NULL: no AUTH */
	const char	*password;	/* read by the caller from its file */
	const char	*cafile;	/* NULL: the system's CA store */
	int		 connections;	/* N, at least 1 */
	int		 per_connection; /* M messages per connection; 0: no limit */
	long		 connect_timeout_ms;	/* 0: 30 s */
	long		 response_timeout;	/* seconds per command; 0: 300 */
	long		 low_speed_limit;	/* bytes/s; 0: 1 */
	long		 low_speed_time;	/* seconds; 0: 60.  libcurl also
					   counts the wait after the dot: keep
					   it >= response_timeout to give a
					   slow server all of that */
	int		 verbose;	/* libcurl's trace on stderr */
	/*
	 * Hold back a final dot while the messages that may have been
	 * delivered without the caller knowing (final dots out and awaiting
	 * their reply, results not yet acknowledged with smtp_ack) are as
	 * many as the connections: then at most that many are delivered
	 * without their result being recorded, which bounds the duplicates
	 * after a crash by the number of connections.  The count is over
	 * all connections: one may go on while another's result is still
	 * being recorded.
	 */
	int		 gate_dot;
};

#define SMTP_REPLY_MAX 256

struct smtp_result {
	uint64_t	 id;
	enum smtp_outcome outcome;
	enum smtp_stage	 stage;
	long		 code;		/* last reply code of this transaction, 0 if none */
	char		 reply[SMTP_REPLY_MAX];	/* that reply's last line, no CRLF */
	char		 enhanced[16];	/* "5.7.1" or "" */
	int		 policy;	/* enhanced status is 5.7.x */
	int		 backoff;	/* server-level failure: back off from it */
	CURLcode	 curlcode;
	int		 attempted_data; /* the body was at least partly handed over */
	int		 retried;	/* resent once on a fresh connection */
	double		 seconds;
	void		*arg;
};

typedef void (*smtp_done_fn)(const struct smtp_result *, void *);

/* Scratch buffers of a connection, kept and reused for its messages. */
struct smtp_scratch {
	struct buf	 a, b;
};
/*
 * Makes a message's bytes into out (empty) in the connection's thread,
 * from the arg given to smtp_submit_build; 0, or -1 and an allocated
 * *cause.  It runs while the caller's loop goes on, so it may only read
 * what the caller leaves alone until the message's result is reported.
 */
typedef int (*smtp_build_fn)(void *arg, struct buf *out,
		    struct smtp_scratch *, char **cause);

struct smtp;

/*
 * The caller's loop, in short:
 *
 *	smtp = smtp_new(&params, &cause);
 *	for (;;) {
 *		while (smtp_idle_slots(smtp) > 0 && (m = next_due()) != NULL)
 *			smtp_submit(smtp, m->id, verp(m), m->rcpt, m->bytes,
 *			    m->len, m);	(mark it "sending" first)
 *		smtp_perform(smtp, done, ctx);	(done() commits each result)
 *		smtp_poll(smtp, 1000, &selfpipe, 1);
 *		(act on signals read from the self-pipe)
 *	}
 *	smtp_free(smtp);	(aborts what is in flight: those stay "sending")
 *
 * smtp_wakeup() may be called from another thread to end a smtp_poll.
 * The caller should ignore SIGPIPE, as any network daemon does.
 */

/* NULL and an allocated *cause when libcurl cannot be set up. */
struct smtp	*smtp_new(const struct smtp_params *, char **cause);
void		 smtp_free(struct smtp *);

/*
 * Queue one message; the bytes are copied (into buffers kept and reused),
 * so the caller may free them at once.  Each connection takes two: the one
 * it is sending and the next, so it never waits for the caller's loop.
 * Returns -1 when all 2N places are taken, -2 when smtp_check refuses the
 * message (logged).  Results come in order per connection.
 */
int		 smtp_submit(struct smtp *, uint64_t id, const char *mail_from,
		    const char *rcpt, const char *data, size_t len, void *arg);
/*
 * The same, but the bytes are made by build in the connection's thread
 * (several messages are made at once on several cores), while an earlier
 * message goes out.  Returns -1 when all places are taken.  When build
 * fails, or smtp_check refuses its bytes, the result is SMTP_REFUSED
 * with the reason as its reply, and nothing is sent.
 */
int		 smtp_submit_build(struct smtp *, uint64_t id,
		    const char *mail_from, const char *rcpt, smtp_build_fn build,
		    void *arg);
/*
 * Make up to max queued messages that no thread has made yet, in the
 * caller's thread with its scratch (a loop with time to spare helps the
 * connections this way); returns how many.
 */
int		 smtp_prebuild(struct smtp *, struct smtp_scratch *, int max);
/*
 * NULL when the envelope and bytes can go out, else why not: an address
 * with a space, control character or angle bracket (it would forge SMTP
 * commands), an empty message, a bare CR or LF, or a NUL.
 */
const char	*smtp_check(const char *mail_from, const char *rcpt,
		    const char *data, size_t len);
int		 smtp_idle_slots(struct smtp *);	/* free places */
int		 smtp_busy(struct smtp *);	/* messages not yet reported */
/*
 * Messages whose final dot went out and whose reply is awaited: their
 * results are about to come, so a caller that commits results in batches
 * may wait a moment for them (one commit instead of two).
 */
int		 smtp_replies_due(struct smtp *);

/* curl_multi_poll with the caller's extra fds; -1 on error. */
int		 smtp_poll(struct smtp *, int timeout_ms,
		    struct curl_waitfd *extra, unsigned int nextra);
int		 smtp_wakeup(struct smtp *);

/*
 * Report finished messages: cb once for each, in the caller's thread, in
 * order per connection (cb may call smtp_submit).  Returns the number of
 * messages still in flight.
 */
int		 smtp_perform(struct smtp *, smtp_done_fn cb, void *cbarg);
/* Every result reported by smtp_perform so far is recorded (gate_dot). */
void		 smtp_ack(struct smtp *);

/* The one place where a transaction becomes an outcome. */
enum smtp_outcome smtp_classify(CURLcode, long code, enum smtp_stage,
		    int reply_after_dot, int reused);
const char	*smtp_outcome_name(enum smtp_outcome);
const char	*smtp_stage_name(enum smtp_stage);
/* Copy the enhanced status ("5.7.1") of a reply line; 0 if none. */
int		 smtp_enhanced(const char *reply, char *out, size_t outlen);

#endif
