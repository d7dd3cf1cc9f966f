/* SMTP transport: message bytes out over libcurl, a thread per connection. */
#include "autoconf.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "buf.h"
#include "log.h"
#include "smtp.h"
#include "xmalloc.h"

/*
 * One slot is one easy handle, one connection and one thread.
 *
 * Why threads: libcurl 7.88 reads the reply to the final dot inside
 * smtp_done() with a blocking state machine (curl issue #8555, a known
 * issue in its TODO), and the reply to QUIT likewise: curl_multi_perform()
 * then blocks the whole loop, every connection with it, for as long as the
 * server takes to answer the dot (RFC 5321 allows 10 minutes).  Measured:
 * 8 messages over 4 connections to a server answering the dot after 2 s
 * took 16 s on the multi interface, 4 s with a thread per connection.
 *
 * The caller's loop sees none of it: it waits in curl_multi_poll (on a
 * multi handle kept for that and for curl_multi_wakeup) with a pipe the
 * threads write to, and smtp_perform hands it the results.  An easy handle
 * keeps its own connection, so a slot owns exactly one and its message
 * count is the connection's.
 *
 * Each slot takes two jobs: the one being sent and the next, so its thread
 * goes on to the next message without a round trip through the caller's
 * loop.  Jobs run and are reported in order.  The thread alone touches the
 * easy handle (every option that does not change per message is set once
 * in smtp_slot_init); the main thread fills a free job and reads a done
 * one, with the mutex as the hand-over.
 */
struct smtp;

enum smtp_job_state { JOB_FREE, JOB_QUEUED, JOB_DONE };

struct smtp_job {
	enum smtp_job_state state;
	uint64_t	 id;
	void		*arg;
	struct buf	 from;
	struct buf	 rcpt;
	struct buf	 data;		/* the message bytes, buffer reused */
	smtp_build_fn	 build;		/* makes data in the slot's thread */
	int		 built;		/* data is made (or could not be) */
	int		 building;	/* a thread is making it (under lock) */
	char		*why;		/* why not: build or smtp_check */
	struct smtp_result result;
};

struct smtp_slot {
	struct smtp	*smtp;
	CURL		*easy;
	pthread_t	 thread;
	int		 started;	/* the thread runs */
	pthread_cond_t	 cond;
	struct smtp_job	 jobs[2];
	int		 run;		/* the job the thread does next */
	int		 put;		/* where smtp_submit puts the next */
	int		 report;	/* the job smtp_perform reports next */
	int		 inflight;	/* queued or done, not yet reported */
	uint64_t	 finished;	/* jobs the thread completed */
	uint64_t	 reported;	/* results smtp_perform handed over */
	uint64_t	 acked;		/* results the caller has recorded */

	/* The thread's own: the connection and the transaction. */
	struct smtp_scratch scratch;	/* for the build functions */
	int		 uses;		/* messages on the current connection */
	int		 forbid_reuse;	/* value currently set on the handle */
	int		 fresh_connect;	/* likewise */
	struct smtp_job	*cur;
	struct curl_slist rcpt_node;	/* kept alive while the handle lives */
	size_t		 pos;
	int		 data_started;
	int		 data_done;
	int		 dot_out;	/* counted in smtp->dots_out */
	int		 nreplies;
	int		 reply_after_dot;
	long		 code;
	char		 reply[SMTP_REPLY_MAX];
	char		 errbuf[CURL_ERROR_SIZE];
};

struct smtp {
	CURLM		*multi;		/* for curl_multi_poll and _wakeup */
	int		 pipe[2];	/* threads to the loop: a job is done */
	pthread_mutex_t	 lock;
	volatile int	 stopping;	/* smtp_free: abort transfers */
	int		 wake_pending;	/* a byte is in the pipe */
	struct smtp_slot *slots;
	int		 nslots;
	int		 busy;		/* jobs submitted, not yet reported */
	int		 dots_out;	/* final dots sent, replies awaited */
	int		 unacked;	/* results done, not acknowledged */
	int		 per_connection;
	int		 gate_dot;
	struct curl_waitfd *wfd;	/* smtp_poll's array, reused */
	unsigned int	 nwfd;
};

static void	*smtp_thread(void *);
static void	 smtp_build_locked(struct smtp_slot *, struct smtp_job *,
		    struct smtp_scratch *);

static size_t
smtp_read_cb(char *out, size_t size, size_t nitems, void *arg)
{
	struct smtp_slot	*s = arg;
	struct buf		*d = &s->cur->data;
	size_t			 n = size * nitems, left;

	s->data_started = 1;
	left = d->len - s->pos;
	if (n > left)
		n = left;
	if (n == 0) {
		/*
		 * Returning 0 makes libcurl send the final dot.  With the gate
		 * on, wait while as many messages as there are connections
		 * may be delivered without the caller knowing (their dots
		 * out, or their results not yet acknowledged).
		 */
		pthread_mutex_lock(&s->smtp->lock);
		while (s->smtp->gate_dot && s->smtp->dots_out +
		    s->smtp->unacked >= s->smtp->nslots &&
		    !s->smtp->stopping) {
			struct smtp_job	*next = &s->jobs[s->run ^ 1];

			/* Make the next message meanwhile. */
			if (next->state == JOB_QUEUED && next->build != NULL &&
			    !next->built && !next->building) {
				smtp_build_locked(s, next, &s->scratch);
				continue;
			}
			pthread_cond_wait(&s->cond, &s->smtp->lock);
		}
		if (s->smtp->stopping) {
			pthread_mutex_unlock(&s->smtp->lock);
			return CURL_READFUNC_ABORT;
		}
		if (!s->dot_out) {
			s->dot_out = 1;
			s->smtp->dots_out++;
		}
		pthread_mutex_unlock(&s->smtp->lock);
		s->data_done = 1;
		return 0;
	}
	memcpy(out, d->data + s->pos, n);
	s->pos += n;
	return n;
}

/*
 * libcurl hands every server reply line to the header callback (without
 * CURLOPT_VERBOSE).  Keep the last final line ("250 ok", not "250-...")
 * and note whether it came after the body was handed over.
 */
static size_t
smtp_header_cb(char *line, size_t size, size_t nitems, void *arg)
{
	struct smtp_slot	*s = arg;
	size_t			 n = size * nitems, len = n;

	if (n < 3 || !isdigit((unsigned char)line[0]) ||
	    !isdigit((unsigned char)line[1]) ||
	    !isdigit((unsigned char)line[2]))
		return n;
	if (n > 3 && line[3] == '-')
		return n;
	/* 221 only answers the QUIT libcurl sends after a failure. */
	if (line[0] == '2' && line[1] == '2' && line[2] == '1')
		return n;
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	if (len >= sizeof(s->reply))
		len = sizeof(s->reply) - 1;
	memcpy(s->reply, line, len);
	s->reply[len] = '\0';
	s->code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	s->nreplies++;
	s->reply_after_dot = s->data_done;
	return n;
}

static size_t
smtp_write_cb(char *p, size_t size, size_t nitems, void *arg)
{
	return size * nitems;
}

/* Lets smtp_free abort a transfer, also one waiting for a reply. */
static int
smtp_progress_cb(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut,
    curl_off_t un)
{
	struct smtp_slot	*s = arg;

	return s->smtp->stopping;
}

static int
smtp_slot_init(struct smtp_slot *s, const struct smtp_params *p,
    char **cause)
{
	CURL	*e;
	CURLcode rc = CURLE_OK;

	if (pthread_cond_init(&s->cond, NULL) != 0) {
		*cause = xstrdup("pthread_cond_init failed");
		return -1;
	}
	if ((e = s->easy = curl_easy_init()) == NULL) {
		*cause = xstrdup("curl_easy_init failed");
		return -1;
	}
#define SET(opt, val) do {						\
	if (rc == CURLE_OK)						\
		rc = curl_easy_setopt(e, opt, val);			\
} while (0)
	SET(CURLOPT_URL, p->url);
	SET(CURLOPT_UPLOAD, 1L);
	SET(CURLOPT_READFUNCTION, smtp_read_cb);
	SET(CURLOPT_READDATA, s);
	SET(CURLOPT_HEADERFUNCTION, smtp_header_cb);
	SET(CURLOPT_HEADERDATA, s);
	SET(CURLOPT_WRITEFUNCTION, smtp_write_cb);
	SET(CURLOPT_ERRORBUFFER, s->errbuf);
	SET(CURLOPT_MAIL_RCPT, &s->rcpt_node);
	SET(CURLOPT_MAIL_FROM, "");
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_NOPROGRESS, 0L);
	SET(CURLOPT_XFERINFOFUNCTION, smtp_progress_cb);
	SET(CURLOPT_XFERINFODATA, s);
	SET(CURLOPT_TCP_NODELAY, 1L);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	SET(CURLOPT_CONNECTTIMEOUT_MS,
	    p->connect_timeout_ms > 0 ? p->connect_timeout_ms : 30000L);
	SET(CURLOPT_SERVER_RESPONSE_TIMEOUT,
	    p->response_timeout > 0 ? p->response_timeout : 300L);
	SET(CURLOPT_LOW_SPEED_LIMIT,
	    p->low_speed_limit > 0 ? p->low_speed_limit : 1L);
	SET(CURLOPT_LOW_SPEED_TIME,
	    p->low_speed_time > 0 ? p->low_speed_time : 60L);
	switch (p->starttls) {
	case SMTP_STARTTLS_NONE:
		SET(CURLOPT_USE_SSL, (long)CURLUSESSL_NONE);
		break;
	case SMTP_STARTTLS_TRY:
		SET(CURLOPT_USE_SSL, (long)CURLUSESSL_TRY);
		break;
	case SMTP_STARTTLS_REQUIRE:
		SET(CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
		break;
	}
	if (p->cafile != NULL)
		SET(CURLOPT_CAINFO, p->cafile);
	if (p->username != NULL) {
		SET(CURLOPT_USERNAME, p->username);
		SET(CURLOPT_PASSWORD, p->password != NULL ? p->password : "");
	}
	if (p->verbose)
		SET(CURLOPT_VERBOSE, 1L);
#undef SET
	if (rc != CURLE_OK) {
		xasprintf(cause, "libcurl option: %s", curl_easy_strerror(rc));
		return -1;
	}
	return 0;
}

struct smtp *
smtp_new(const struct smtp_params *p, char **cause)
{
	struct smtp	*smtp;
	int		 i, k;

	*cause = NULL;
	if (p->url == NULL || (strncasecmp(p->url, "smtp://", 7) != 0 &&
	    strncasecmp(p->url, "smtps://", 8) != 0)) {
		xasprintf(cause, "smtp url \"%s\": not smtp:// or smtps://",
		    p->url != NULL ? p->url : "");
		return NULL;
	}
	if (p->connections < 1 || p->per_connection < 0) {
		*cause = xstrdup("smtp: connections must be at least 1");
		return NULL;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		*cause = xstrdup("curl_global_init failed");
		return NULL;
	}
	smtp = xcalloc(1, sizeof(*smtp));
	smtp->pipe[0] = smtp->pipe[1] = -1;
	smtp->per_connection = p->per_connection;
	smtp->gate_dot = p->gate_dot;
	pthread_mutex_init(&smtp->lock, NULL);
	if ((smtp->multi = curl_multi_init()) == NULL) {
		*cause = xstrdup("curl_multi_init failed");
		goto fail;
	}
	if (pipe2(smtp->pipe, O_CLOEXEC | O_NONBLOCK) == -1) {
		xasprintf(cause, "pipe: %s", strerror(errno));
		goto fail;
	}
	smtp->slots = xcalloc(p->connections, sizeof(*smtp->slots));
	for (i = 0; i < p->connections; i++) {
		struct smtp_slot *s = &smtp->slots[i];

		smtp->nslots++;
		s->smtp = smtp;
		for (k = 0; k < 2; k++) {
			buf_init(&s->jobs[k].from);
			buf_init(&s->jobs[k].rcpt);
			buf_init(&s->jobs[k].data);
		}
		if (smtp_slot_init(s, p, cause) == -1)
			goto fail;
	}
	for (i = 0; i < smtp->nslots; i++) {
		if ((errno = pthread_create(&smtp->slots[i].thread, NULL,
		    smtp_thread, &smtp->slots[i])) != 0) {
			xasprintf(cause, "pthread_create: %s", strerror(errno));
			goto fail;
		}
		smtp->slots[i].started = 1;
	}
	return smtp;
fail:
	smtp_free(smtp);
	return NULL;
}

void
smtp_free(struct smtp *smtp)
{
	int	 i, k;

	if (smtp == NULL)
		return;
	pthread_mutex_lock(&smtp->lock);
	smtp->stopping = 1;
	for (i = 0; i < smtp->nslots; i++)
		pthread_cond_signal(&smtp->slots[i].cond);
	pthread_mutex_unlock(&smtp->lock);
	for (i = 0; i < smtp->nslots; i++) {
		struct smtp_slot *s = &smtp->slots[i];

		if (s->started)
			pthread_join(s->thread, NULL);
		if (s->easy != NULL)
			curl_easy_cleanup(s->easy);
		pthread_cond_destroy(&s->cond);
		buf_free(&s->scratch.a);
		buf_free(&s->scratch.b);
		for (k = 0; k < 2; k++) {
			free(s->jobs[k].why);
			buf_free(&s->jobs[k].from);
			buf_free(&s->jobs[k].rcpt);
			buf_free(&s->jobs[k].data);
		}
	}
	free(smtp->slots);
	free(smtp->wfd);
	if (smtp->multi != NULL)
		curl_multi_cleanup(smtp->multi);
	if (smtp->pipe[0] != -1) {
		close(smtp->pipe[0]);
		close(smtp->pipe[1]);
	}
	pthread_mutex_destroy(&smtp->lock);
	free(smtp);
	curl_global_cleanup();
}

int
smtp_idle_slots(struct smtp *smtp)
{
	return 2 * smtp->nslots - smtp->busy;
}

int
smtp_busy(struct smtp *smtp)
{
	return smtp->busy;
}

int
smtp_replies_due(struct smtp *smtp)
{
	int	n;

	/* Written by the threads under the lock. */
	pthread_mutex_lock(&smtp->lock);
	n = smtp->dots_out;
	pthread_mutex_unlock(&smtp->lock);
	return n;
}

/* An envelope address goes inside <...> on a command line. */
static int
smtp_addr_ok(const char *a)
{
	const unsigned char	*p;

	for (p = (const unsigned char *)a; *p != '\0'; p++)
		if (*p <= ' ' || *p == '<' || *p == '>' || *p == 0x7f)
			return 0;
	return p - (const unsigned char *)a <= 512;
}

#ifdef __SSE2__
/*
 * Whether data holds no NUL and only CRLF line breaks, 16 bytes at a time
 * with no branch per line: every LF's bit must be the bit after a CR's.
 */
static int
smtp_crlf_only(const char *data, size_t len)
{
	const __m128i	cr = _mm_set1_epi8('\r'), lf = _mm_set1_epi8('\n');
	const __m128i	nul = _mm_setzero_si128();
	__m128i		v;
	unsigned int	mc, ml, carry = 0;	/* the last byte was a CR */
	size_t		i;
	char		c;

	for (i = 0; i + 16 <= len; i += 16) {
		v = _mm_loadu_si128((const __m128i *)(data + i));
		mc = (unsigned int)_mm_movemask_epi8(_mm_cmpeq_epi8(v, cr));
		ml = (unsigned int)_mm_movemask_epi8(_mm_cmpeq_epi8(v, lf));
		if (_mm_movemask_epi8(_mm_cmpeq_epi8(v, nul)) != 0 ||
		    ml != (((mc << 1) | carry) & 0xffff))
			return 0;
		carry = mc >> 15;
	}
	for (; i < len; i++) {
		c = data[i];
		if (c == '\0' || (c == '\n') != (carry == 1))
			return 0;
		carry = c == '\r';
	}
	return carry == 0;
}
#endif

const char *
smtp_check(const char *mail_from, const char *rcpt, const char *data,
    size_t len)
{
	const char	*p, *end = data + len;

	if (!smtp_addr_ok(mail_from))
		return "envelope sender has a space, control character, "
		    "angle bracket or more than 512 octets";
	if (*rcpt == '\0' || !smtp_addr_ok(rcpt))
		return "recipient is empty or has a space, control character, "
		    "angle bracket or more than 512 octets";
	if (len == 0)
		return "message is empty";
	/*
	 * Canonical CRLF only: our defence against SMTP smuggling.  The
	 * usual message passes the quick test; a bad one (and every one
	 * without SSE2) is read byte by byte to say what is wrong.
	 */
#ifdef __SSE2__
	if (smtp_crlf_only(data, len))
		return NULL;
#endif
	for (p = data; p < end; p++) {
		if (*p == '\0')
			return "message has a NUL byte";
		if (*p == '\n')
			return "message has a bare LF";
		if (*p == '\r' && (p + 1 == end || *++p != '\n'))
			return "message has a bare CR";
	}
	return NULL;
}

/* The least loaded slot with a free place (an idle connection first). */
static struct smtp_slot *
smtp_pick(struct smtp *smtp)
{
	struct smtp_slot	*s = NULL;
	int			 i;

	for (i = 0; i < smtp->nslots; i++) {
		if (smtp->slots[i].inflight < 2 &&
		    (s == NULL || smtp->slots[i].inflight < s->inflight))
			s = &smtp->slots[i];
	}
	return s;
}

/* Fill the slot's free place with a job (the data is the caller's). */
static struct smtp_job *
smtp_put(struct smtp_slot *s, uint64_t id, const char *mail_from,
    const char *rcpt, void *arg)
{
	struct smtp_job	*j;

	/* The job at put is free: jobs are reported in order. */
	j = &s->jobs[s->put];
	j->id = id;
	j->arg = arg;
	j->build = NULL;
	j->built = 0;
	j->building = 0;
	free(j->why);
	j->why = NULL;
	buf_reset(&j->from);
	buf_adds(&j->from, mail_from);
	buf_reset(&j->rcpt);
	buf_adds(&j->rcpt, rcpt);
	buf_reset(&j->data);
	return j;
}

/* Hand the filled job to the slot's thread. */
static void
smtp_queue(struct smtp *smtp, struct smtp_slot *s, struct smtp_job *j)
{
	s->put ^= 1;
	s->inflight++;
	smtp->busy++;
	pthread_mutex_lock(&smtp->lock);
	j->state = JOB_QUEUED;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&smtp->lock);
}

int
smtp_submit(struct smtp *smtp, uint64_t id, const char *mail_from,
    const char *rcpt, const char *data, size_t len, void *arg)
{
	struct smtp_slot	*s;
	struct smtp_job		*j;
	const char		*why;

	if ((why = smtp_check(mail_from, rcpt, data, len)) != NULL) {
		log_warnx("smtp: id=%llu refused: %s", (unsigned long long)id,
		    why);
		return -2;
	}
	if ((s = smtp_pick(smtp)) == NULL)
		return -1;
	j = smtp_put(s, id, mail_from, rcpt, arg);
	buf_add(&j->data, data, len);
	j->built = 1;
	smtp_queue(smtp, s, j);
	return 0;
}

int
smtp_submit_build(struct smtp *smtp, uint64_t id, const char *mail_from,
    const char *rcpt, smtp_build_fn build, void *arg)
{
	struct smtp_slot	*s;
	struct smtp_job		*j;

	if ((s = smtp_pick(smtp)) == NULL)
		return -1;
	j = smtp_put(s, id, mail_from, rcpt, arg);
	j->build = build;
	smtp_queue(smtp, s, j);
	return 0;
}

/*
 * Make a job's bytes with its build function and check them; on failure
 * j->why says why, and nothing will be sent.  Called with the lock held
 * and the job not built nor being built; the lock is released meanwhile.
 */
static void
smtp_build_locked(struct smtp_slot *s, struct smtp_job *j,
    struct smtp_scratch *sc)
{
	char		*cause = NULL, *why = NULL;
	const char	*bad;

	j->building = 1;
	pthread_mutex_unlock(&s->smtp->lock);
	buf_reset(&j->data);
	if (j->build(j->arg, &j->data, sc, &cause) != 0)
		why = cause != NULL ? cause : xstrdup("cannot be built");
	else if ((bad = smtp_check(j->from.data, j->rcpt.data, j->data.data,
	    j->data.len)) != NULL)
		why = xstrdup(bad);
	pthread_mutex_lock(&s->smtp->lock);
	j->why = why;
	j->built = 1;
	j->building = 0;
	pthread_cond_broadcast(&s->cond);
}

/* In the slot's thread: the job's bytes are made, by whoever was first. */
static void
smtp_build_wait(struct smtp_slot *s, struct smtp_job *j)
{
	pthread_mutex_lock(&s->smtp->lock);
	while (j->building)
		pthread_cond_wait(&s->cond, &s->smtp->lock);
	if (!j->built)
		smtp_build_locked(s, j, &s->scratch);
	pthread_mutex_unlock(&s->smtp->lock);
}

int
smtp_prebuild(struct smtp *smtp, struct smtp_scratch *sc, int max)
{
	struct smtp_slot	*s;
	struct smtp_job		*j;
	int			 i, k, n = 0;

	pthread_mutex_lock(&smtp->lock);
	for (i = 0; i < smtp->nslots && n < max; i++) {
		s = &smtp->slots[i];
		for (k = 0; k < 2 && n < max; k++) {
			/* The one the thread takes next first. */
			j = &s->jobs[s->run ^ k];
			if (j->state != JOB_QUEUED || j->build == NULL ||
			    j->built || j->building)
				continue;
			smtp_build_locked(s, j, sc);
			n++;
		}
	}
	pthread_mutex_unlock(&smtp->lock);
	return n;
}

/*
 * Wait in curl_multi_poll (so smtp_wakeup works) for the threads' pipe and
 * the caller's fds.
 */
int
smtp_poll(struct smtp *smtp, int timeout_ms, struct curl_waitfd *extra,
    unsigned int nextra)
{
	unsigned int	 k;

	if (nextra + 1 > smtp->nwfd) {
		smtp->nwfd = nextra + 1;
		smtp->wfd = xreallocarray(smtp->wfd, smtp->nwfd,
		    sizeof(*smtp->wfd));
	}
	smtp->wfd[0].fd = smtp->pipe[0];
	smtp->wfd[0].events = CURL_WAIT_POLLIN;
	smtp->wfd[0].revents = 0;
	for (k = 0; k < nextra; k++) {
		smtp->wfd[k + 1] = extra[k];
		smtp->wfd[k + 1].revents = 0;
	}
	if (curl_multi_poll(smtp->multi, smtp->wfd, nextra + 1, timeout_ms,
	    NULL) != CURLM_OK)
		return -1;
	for (k = 0; k < nextra; k++)
		extra[k].revents = smtp->wfd[k + 1].revents;
	return 0;
}

int
smtp_wakeup(struct smtp *smtp)
{
	return curl_multi_wakeup(smtp->multi) == CURLM_OK ? 0 : -1;
}

/*
 * Decide the outcome of one transaction.  code is the last reply of this
 * transaction (0 if the server said nothing in it: libcurl's
 * CURLINFO_RESPONSE_CODE may be stale, e.g. 354 after a drop);
 * reply_after_dot tells whether that reply answered the final dot.
 */
enum smtp_outcome
smtp_classify(CURLcode cc, long code, enum smtp_stage stage,
    int reply_after_dot, int reused)
{
	if (cc == CURLE_OK)
		return SMTP_SENT;
	switch (stage) {
	case SMTP_STAGE_DOT:
		if (!reply_after_dot || code == 0)
			return SMTP_INDOUBT;
		if (code >= 500 && code < 600)
			return SMTP_FAILED;
		return SMTP_DEFERRED;
	case SMTP_STAGE_MAIL:
		/*
		 * A refused sender says nothing about the recipient: never a
		 * bounce.  The caller backs off, and pauses on 5.7.x.
		 */
		return reused ? SMTP_RETRY_NOW : SMTP_DEFERRED;
	case SMTP_STAGE_RCPT:
	case SMTP_STAGE_DATA:
		if (code >= 500 && code < 600)
			return SMTP_FAILED;
		return SMTP_DEFERRED;
	case SMTP_STAGE_CONNECT:
		/* A cached connection the server had closed: nothing sent. */
		if (reused && code == 0 && (cc == CURLE_SEND_ERROR ||
		    cc == CURLE_RECV_ERROR || cc == CURLE_GOT_NOTHING))
			return SMTP_RETRY_NOW;
		return SMTP_DEFERRED;
	}
	return SMTP_DEFERRED;
}

const char *
smtp_outcome_name(enum smtp_outcome o)
{
	switch (o) {
	case SMTP_SENT:
		return "sent";
	case SMTP_FAILED:
		return "failed";
	case SMTP_DEFERRED:
		return "deferred";
	case SMTP_INDOUBT:
		return "indoubt";
	case SMTP_RETRY_NOW:
		return "retry-now";
	case SMTP_REFUSED:
		return "refused";
	}
	return "unknown";
}

const char *
smtp_stage_name(enum smtp_stage st)
{
	switch (st) {
	case SMTP_STAGE_CONNECT:
		return "connect";
	case SMTP_STAGE_MAIL:
		return "mail";
	case SMTP_STAGE_RCPT:
		return "rcpt";
	case SMTP_STAGE_DATA:
		return "data";
	case SMTP_STAGE_DOT:
		return "dot";
	}
	return "unknown";
}

/* RFC 3463: class "." subject "." detail, after the reply code. */
int
smtp_enhanced(const char *reply, char *out, size_t outlen)
{
	const char	*p = reply, *start;
	int		 n, part;

	if (outlen > 0)
		out[0] = '\0';
	if (strlen(reply) < 4)
		return 0;
	p = reply + 4;
	start = p;
	if (*p != '2' && *p != '4' && *p != '5')
		return 0;
	p++;
	for (part = 0; part < 2; part++) {
		if (*p++ != '.')
			return 0;
		for (n = 0; isdigit((unsigned char)*p); n++)
			p++;
		if (n < 1 || n > 3)
			return 0;
	}
	if (*p != '\0' && *p != ' ')
		return 0;
	if ((size_t)(p - start) >= outlen)
		return 0;
	memcpy(out, start, p - start);
	out[p - start] = '\0';
	return 1;
}

static enum smtp_stage
smtp_stage_of(struct smtp_slot *s)
{
	if (s->data_done)
		return SMTP_STAGE_DOT;
	if (strncmp(s->errbuf, "MAIL failed", 11) == 0)
		return SMTP_STAGE_MAIL;
	if (strncmp(s->errbuf, "RCPT failed", 11) == 0)
		return SMTP_STAGE_RCPT;
	if (strncmp(s->errbuf, "DATA failed", 11) == 0 || s->data_started)
		return SMTP_STAGE_DATA;
	return SMTP_STAGE_CONNECT;
}

/* One transfer on the slot's connection, in its thread. */
static CURLcode
smtp_transfer(struct smtp_slot *s, int fresh)
{
	int	 forbid;

	forbid = s->smtp->per_connection > 0 &&
	    s->uses + 1 >= s->smtp->per_connection;
	if (forbid != s->forbid_reuse) {
		curl_easy_setopt(s->easy, CURLOPT_FORBID_REUSE, (long)forbid);
		s->forbid_reuse = forbid;
	}
	if (fresh != s->fresh_connect) {
		curl_easy_setopt(s->easy, CURLOPT_FRESH_CONNECT, (long)fresh);
		s->fresh_connect = fresh;
	}
	s->pos = 0;
	s->data_started = 0;
	s->data_done = 0;
	s->nreplies = 0;
	s->reply_after_dot = 0;
	s->code = 0;
	s->reply[0] = '\0';
	s->errbuf[0] = '\0';
	return curl_easy_perform(s->easy);
}

/*
 * Send the slot's current job and fill in its result: classify it, and
 * resend it once on a fresh connection when it failed at MAIL FROM on a
 * reused one (nothing was sent).
 */
static void
smtp_send_job(struct smtp_slot *s)
{
	struct smtp_job		*j = s->cur;
	struct smtp_result	*r = &j->result;
	CURLcode		 cc;
	long			 nconn;
	int			 reused, retried = 0;

	if (j->build != NULL)
		smtp_build_wait(s, j);
	if (j->why != NULL) {
		memset(r, 0, sizeof(*r));
		r->id = j->id;
		r->arg = j->arg;
		r->outcome = SMTP_REFUSED;
		r->stage = SMTP_STAGE_CONNECT;
		snprintf(r->reply, sizeof(r->reply), "%s", j->why);
		return;
	}
	s->rcpt_node.data = j->rcpt.data;
	s->rcpt_node.next = NULL;
	curl_easy_setopt(s->easy, CURLOPT_MAIL_FROM, j->from.data);
again:
	cc = smtp_transfer(s, retried);
	nconn = 0;
	curl_easy_getinfo(s->easy, CURLINFO_NUM_CONNECTS, &nconn);
	reused = nconn == 0 && s->uses > 0 && !s->fresh_connect;
	if (s->forbid_reuse)
		s->uses = 0;
	else if (nconn > 0)
		s->uses = 1;
	else
		s->uses++;

	memset(r, 0, sizeof(*r));
	r->id = j->id;
	r->arg = j->arg;
	r->curlcode = cc;
	r->stage = smtp_stage_of(s);
	r->code = s->code;
	r->attempted_data = s->data_started;
	r->retried = retried;
	r->outcome = smtp_classify(cc, s->code, r->stage, s->reply_after_dot,
	    reused);
	curl_easy_getinfo(s->easy, CURLINFO_TOTAL_TIME, &r->seconds);
	if (r->outcome == SMTP_RETRY_NOW && !retried &&
	    !s->smtp->stopping) {
		retried = 1;
		goto again;
	}
	if (r->outcome == SMTP_RETRY_NOW)
		r->outcome = SMTP_DEFERRED;

	if (s->nreplies > 0) {
		memcpy(r->reply, s->reply, sizeof(r->reply));
		if (smtp_enhanced(r->reply, r->enhanced, sizeof(r->enhanced)))
			r->policy = r->outcome != SMTP_SENT &&
			    strncmp(r->enhanced, "5.7.", 4) == 0;
	} else if (cc != CURLE_OK)
		snprintf(r->reply, sizeof(r->reply), "%s",
		    s->errbuf[0] != '\0' ? s->errbuf : curl_easy_strerror(cc));
	r->backoff = r->outcome == SMTP_DEFERRED &&
	    (r->stage == SMTP_STAGE_CONNECT || r->stage == SMTP_STAGE_MAIL ||
	    cc == CURLE_OPERATION_TIMEDOUT || r->code == 421);
}

static void *
smtp_thread(void *arg)
{
	struct smtp_slot	*s = arg;
	struct smtp		*smtp = s->smtp;
	ssize_t			 n;

	pthread_mutex_lock(&smtp->lock);
	for (;;) {
		while (s->jobs[s->run].state != JOB_QUEUED &&
		    !smtp->stopping)
			pthread_cond_wait(&s->cond, &smtp->lock);
		if (smtp->stopping)
			break;
		s->cur = &s->jobs[s->run];
		pthread_mutex_unlock(&smtp->lock);
		smtp_send_job(s);
		pthread_mutex_lock(&smtp->lock);
		s->cur->state = JOB_DONE;
		s->finished++;
		if (smtp->gate_dot)
			smtp->unacked++;
		if (s->dot_out) {
			s->dot_out = 0;
			smtp->dots_out--;
		}
		s->run ^= 1;
		/* One wake-up until the loop has looked: fewer syscalls. */
		if (!smtp->wake_pending) {
			smtp->wake_pending = 1;
			do
				n = write(smtp->pipe[1], "", 1);
			while (n == -1 && errno == EINTR);
		}
	}
	pthread_mutex_unlock(&smtp->lock);
	return NULL;
}

void
smtp_ack(struct smtp *smtp)
{
	struct smtp_slot	*s;
	int			 i, any = 0;

	pthread_mutex_lock(&smtp->lock);
	for (i = 0; i < smtp->nslots; i++) {
		s = &smtp->slots[i];
		if (s->acked != s->reported) {
			if (smtp->gate_dot)
				smtp->unacked -= (int)(s->reported - s->acked);
			s->acked = s->reported;
			any = 1;
		}
	}
	/* The gate counts every connection's: any may go on now. */
	for (i = 0; any && smtp->gate_dot && i < smtp->nslots; i++)
		pthread_cond_broadcast(&smtp->slots[i].cond);
	pthread_mutex_unlock(&smtp->lock);
}

int
smtp_perform(struct smtp *smtp, smtp_done_fn cb, void *cbarg)
{
	struct smtp_slot	*s;
	struct smtp_job		*j;
	struct smtp_result	 r;
	char			 drain[64];
	int			 i, done;

	/*
	 * Drain first, then let the threads write again: the other way
	 * round, a byte written between the two would be drained while
	 * wake_pending stayed set, and the next job done would wake nobody
	 * (the loop slept until its next timeout, up to a second).
	 */
	while (read(smtp->pipe[0], drain, sizeof(drain)) > 0)
		continue;
	pthread_mutex_lock(&smtp->lock);
	smtp->wake_pending = 0;
	pthread_mutex_unlock(&smtp->lock);
	for (i = 0; i < smtp->nslots; i++) {
		s = &smtp->slots[i];
		while (s->inflight > 0) {
			j = &s->jobs[s->report];
			pthread_mutex_lock(&smtp->lock);
			done = j->state == JOB_DONE;
			if (done) {
				r = j->result;
				j->state = JOB_FREE;
				s->reported++;
			}
			pthread_mutex_unlock(&smtp->lock);
			if (!done)
				break;
			s->report ^= 1;
			s->inflight--;
			smtp->busy--;
			if (r.retried)
				log_debug("smtp: id=%llu resent on a fresh "
				    "connection after a failure at MAIL FROM",
				    (unsigned long long)r.id);
			cb(&r, cbarg);
		}
	}
	return smtp->busy;
}
