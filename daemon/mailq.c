/* The mail queue in the dispatcher: confirmations ahead of newsletters. */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "addr.h"
#include "buf.h"
#include "config.h"
#include "confirm.h"
#include "limit.h"
#include "log.h"
#include "mailq.h"
#include "smtp.h"
#include "store.h"
#include "xmalloc.h"

/* How often the queue is read when nothing says it changed. */
#define MAILQ_INTERVAL_MS	1000

/* A claimed message: ready, in flight, or done and not yet recorded. */
struct mailq_msg {
	struct store_mailq_msg	 m;
	int			 fresh;	/* claimed in the open transaction */
	struct mailq_msg	*next;
};

/* What a result needs of its message, carried through SMTP as its arg. */
struct mailq_flight {
	char		*message_id;
	char		*email;
	char		*kind;
	int64_t		 attempts;	/* before this one */
	int64_t		 created;
};

struct mailq_res {
	struct store_mailq_result r;
	char			*reply;
	char			*message_id;
};

struct mailq {
	struct mailq_msg	*ready, *ready_tail;
	size_t			 nready;
	struct mailq_res	*res;
	size_t			 nres, capres;
	int64_t			 next_ms;	/* look at the queue then */
	struct buf		 msg;
};

struct mailq *
mailq_new(void)
{
	return xcalloc(1, sizeof(struct mailq));
}

static void
mailq_msg_free(struct mailq_msg *q)
{
	if (q == NULL)
		return;
	/* The fields of a store_mailq_msg, without the array around it. */
	free(q->m.kind);
	store_target_free(&q->m.t);
	free(q->m.from_addr);
	free(q->m.from_name);
	free(q->m.reply_to);
	free(q);
}

static void
mailq_flight_free(struct mailq_flight *f)
{
	if (f == NULL)
		return;
	free(f->message_id);
	free(f->email);
	free(f->kind);
	free(f);
}

static void
mailq_res_clear(struct mailq *mq)
{
	size_t	i;

	for (i = 0; i < mq->nres; i++) {
		free(mq->res[i].reply);
		free(mq->res[i].message_id);
	}
	mq->nres = 0;
}

void
mailq_free(struct mailq *mq)
{
	struct mailq_msg	*q;

	if (mq == NULL)
		return;
	while ((q = mq->ready) != NULL) {
		mq->ready = q->next;
		mailq_msg_free(q);
	}
	mailq_res_clear(mq);
	free(mq->res);
	buf_free(&mq->msg);
	free(mq);
}

int
mailq_owns(uint64_t smtp_id)
{
	return (smtp_id & MAILQ_ID_FLAG) != 0;
}

size_t
mailq_nready(const struct mailq *mq)
{
	return mq->nready;
}

size_t
mailq_nresults(const struct mailq *mq)
{
	return mq->nres;
}

int
mailq_due(const struct mailq *mq, int64_t now_ms)
{
	return now_ms >= mq->next_ms;
}

void
mailq_poke(struct mailq *mq)
{
	mq->next_ms = 0;
}

int
mailq_record(struct mailq *mq, struct store *st, int64_t now, char **cause)
{
	struct store_mailq_result	*v;
	size_t				 i;
	int				 rv;

	if (mq->nres == 0)
		return 0;
	v = xreallocarray(NULL, mq->nres, sizeof(*v));
	for (i = 0; i < mq->nres; i++)
		v[i] = mq->res[i].r;
	rv = store_mailq_results(st, v, mq->nres, now, cause);
	free(v);
	return rv;
}

int
mailq_claim(struct mailq *mq, struct store *st, int64_t now_ms, size_t max,
    char **cause)
{
	struct store_mailq_msg	*v = NULL;
	struct mailq_msg	*q;
	size_t			 n = 0, i, want;

	if (mq->nready >= max)
		return 0;
	want = max - mq->nready;
	if (store_mailq_claim(st, now_ms / 1000, want, &v, &n, cause) != 0)
		return -1;
	/* A full claim may leave more behind: look again at once. */
	mq->next_ms = n == want ? now_ms : now_ms + MAILQ_INTERVAL_MS;
	for (i = 0; i < n; i++) {
		q = xcalloc(1, sizeof(*q));
		q->m = v[i];
		q->fresh = 1;
		if (mq->ready_tail != NULL)
			mq->ready_tail->next = q;
		else
			mq->ready = q;
		mq->ready_tail = q;
		mq->nready++;
	}
	free(v);	/* the fields now belong to the messages */
	return 0;
}

void
mailq_committed(struct mailq *mq)
{
	struct mailq_msg	*q;

	for (q = mq->ready; q != NULL; q = q->next)
		q->fresh = 0;
	mailq_res_clear(mq);
}

void
mailq_abort(struct mailq *mq)
{
	struct mailq_msg	**pq = &mq->ready, *q;

	mq->ready_tail = NULL;
	while ((q = *pq) != NULL) {
		if (q->fresh) {
			*pq = q->next;
			mq->nready--;
			mailq_msg_free(q);
		} else {
			mq->ready_tail = q;
			pq = &q->next;
		}
	}
	mq->next_ms = 0;
}

static void
mailq_push(struct mailq *mq, int64_t id, const char *state, long code,
    const char *reply, int64_t next, const char *message_id)
{
	struct mailq_res	*r;

	if (mq->nres == mq->capres) {
		mq->capres = mq->capres ? mq->capres * 2 : 8;
		mq->res = xreallocarray(mq->res, mq->capres, sizeof(*mq->res));
	}
	r = &mq->res[mq->nres++];
	memset(r, 0, sizeof(*r));
	r->reply = reply != NULL ? xstrdup(reply) : NULL;
	r->message_id = message_id != NULL ? xstrdup(message_id) : NULL;
	r->r.id = id;
	r->r.state = state;
	r->r.code = code;
	r->r.reply = r->reply;
	r->r.next_attempt = next;
	r->r.message_id = r->message_id;
}

/* The configuration's side of rendering a confirmation. */
static void
mailq_env(const struct config *conf, const unsigned char *key,
    size_t keylen, struct confirm_env *env)
{
	memset(env, 0, sizeof(*env));
	env->templates = conf->templates;
	env->base_url = conf->http.base_url;
	env->from_address = conf->sender.from_address;
	env->from_name = conf->sender.from_name;
	env->reply_to = conf->sender.reply_to;
	env->domain = conf->sender.message_id_domain;
	env->postal_address = conf->sender.postal_address;
	env->key = key;
	env->keylen = keylen;
}

int
mailq_send(struct mailq *mq, struct smtp *smtp, struct limits *lim,
    const struct config *conf, const unsigned char *key, size_t keylen,
    int64_t now_ms)
{
	struct mailq_msg	*q;
	struct confirm_env	 env;
	struct confirm_msg	 cm;
	struct mailq_flight	*f;
	char			*cause = NULL, *rcpt = NULL, *msgid;
	const char		*from, *why;
	int			 sent = 0;

	mailq_env(conf, key, keylen, &env);
	while ((q = mq->ready) != NULL && !q->fresh &&
	    smtp_idle_slots(smtp) > 0) {
		if (!limit_take(lim, now_ms))
			break;
		mq->ready = q->next;
		if (mq->ready == NULL)
			mq->ready_tail = NULL;
		mq->nready--;
		q->next = NULL;

		memset(&cm, 0, sizeof(cm));
		cm.id = q->m.id;
		cm.subscriber = q->m.t.subscriber;
		cm.email = q->m.t.email;
		cm.name = q->m.t.name;
		cm.lang = q->m.t.lang;
		cm.list = q->m.t.list;
		cm.list_name = q->m.t.list_name;
		cm.list_title = q->m.t.list_title;
		cm.from_address = q->m.from_addr;
		cm.from_name = q->m.from_name;
		cm.reply_to = q->m.reply_to;
		msgid = confirm_message_id(&env, q->m.id);
		if (confirm_render(&env, &cm, now_ms / 1000, &mq->msg,
		    &cause) != 0) {
			log_warnx("mailq=%lld kind=%s rcpt=%s: cannot render: "
			    "%s", (long long)q->m.id, q->m.kind, q->m.t.email,
			    cause);
			mailq_push(mq, q->m.id, "failed", 0, cause, 0, NULL);
			free(cause);
			cause = NULL;
			goto next;
		}
		if (addr_to_ascii(q->m.t.email, &rcpt, &why) != 0) {
			log_warnx("mailq=%lld rcpt=%s: %s", (long long)q->m.id,
			    q->m.t.email, why);
			mailq_push(mq, q->m.id, "failed", 0, why, 0, NULL);
			goto next;
		}
		from = q->m.from_addr != NULL ? q->m.from_addr :
		    conf->sender.from_address;
		f = xcalloc(1, sizeof(*f));
		f->message_id = msgid;
		f->email = xstrdup(q->m.t.email);
		f->kind = xstrdup(q->m.kind);
		f->attempts = q->m.attempts;
		f->created = q->m.created;
		msgid = NULL;
		if (smtp_submit(smtp, (uint64_t)q->m.id | MAILQ_ID_FLAG, from,
		    rcpt, mq->msg.data, mq->msg.len, f) != 0) {
			mailq_push(mq, q->m.id, "deferred", 0,
			    "no free connection", now_ms / 1000 + 1, NULL);
			mailq_flight_free(f);
			goto next;
		}
		sent++;
next:
		free(msgid);
		free(rcpt);
		rcpt = NULL;
		mailq_msg_free(q);
	}
	return sent;
}

void
mailq_done(struct mailq *mq, const struct smtp_result *res,
    const struct config *conf)
{
	struct mailq_flight	*f = res->arg;
	const char		*state, *result;
	int64_t			 id = (int64_t)(res->id & ~MAILQ_ID_FLAG);
	int64_t			 now = time(NULL), next = 0, backoff;

	switch (res->outcome) {
	case SMTP_SENT:
		state = result = "sent";
		break;
	case SMTP_FAILED:
		/* Not a newsletter bounce: the address was never confirmed. */
		state = result = "failed";
		break;
	default:
		/* Deferred, in doubt, or not sent: try again later. */
		backoff = limit_backoff(conf->delivery.backoff_initial,
		    conf->delivery.backoff_max, (unsigned)f->attempts + 1);
		if (res->outcome == SMTP_INDOUBT)
			backoff = conf->delivery.backoff_initial;
		if (now - f->created + backoff > conf->delivery.max_age) {
			state = "failed";
			result = "expired";
		} else {
			state = result = "deferred";
			next = now + backoff;
		}
		break;
	}
	log_info("mailq=%lld kind=%s rcpt=%s relay=%s attempt=%lld code=%ld "
	    "result=%s delay=%.3f stat=\"%s\"", (long long)id, f->kind,
	    f->email, conf->smtp.url, (long long)f->attempts + 1, res->code,
	    result, res->seconds, res->reply);
	mailq_push(mq, id, state, res->code, res->reply, next,
	    f->message_id);
	mailq_flight_free(f);
}
