/* The campaign: scheduler, outbox, rate limits, retries and progress. */
#include "autoconf.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "addr.h"
#include "buf.h"
#include "config.h"
#include "dispatch.h"
#include "errlist.h"
#include "issue.h"
#include "limit.h"
#include "log.h"
#include "mailq.h"
#include "render.h"
#include "smtp.h"
#include "store.h"
#include "stored.h"
#include "token.h"
#include "xmalloc.h"

/* Once a second: notice heraldctl's changes, start due issues. */
#define DISPATCH_TICK_MS	1000
/* Claimed ahead of free connections, to keep them busy. */
#define DISPATCH_PREFETCH	2
#define DISPATCH_WAL_PAGES	16384	/* the log's size between checkpoints:
					   64 MiB of 4 KiB pages at most */
#define DISPATCH_HOLD_MAX_US	20000	/* results wait for others at most */
/* Back off from a relay that refused connections: first, then most. */
#define DISPATCH_RELAY_BACKOFF	5
#define DISPATCH_RELAY_MAXOFF	300

struct campaign;
struct dispatch;

static int	dispatch_exchange(struct dispatch *, int64_t);
static void	dispatch_done(const struct smtp_result *, void *);
static void	*dispatch_committer(void *);

/* A claimed message: waiting for a connection, or in flight. */
struct job {
	struct campaign	*c;
	int64_t		 delivery_id;
	int64_t		 subscriber_id;
	int64_t		 attempts;
	char		*email;
	char		*name;
	char		*lang;
	struct render_attr *attrs;
	size_t		 nattrs;
	int64_t		 started_ms;
	time_t		 date;		/* the message's Date: */
	struct job	*next;
};

struct campaign {
	int64_t			 id;
	int64_t			 list_id;
	char			*list;
	struct issue		*issue;
	struct render_issue	*render;
	int64_t			 started;	/* when it began sending */
	int			 active;	/* claims more work */
	int			 refs;		/* jobs that point here */
	int			 exhausted;	/* nothing due at last claim */
	int			 unfinished;	/* the store said work is left */
	int			 stale;		/* rendered with an old config */
	int64_t			 recheck_ms;	/* claim again after this */
	int			 policy_run;	/* consecutive 5.7.x */
	int64_t			 n_sent, n_deferred, n_failed;
	struct campaign		*next;
};

struct dispatch {
	const struct config	*conf;
	struct store		*st;
	struct smtp		*smtp;		/* the current transport */
	struct smtp		*old_smtp;	/* draining after a reload */
	unsigned char		*key;
	size_t			 keylen;
	char			*password;
	struct limits		 limits;
	struct campaign		*campaigns;
	struct mailq		*mq;		/* confirmations, sent first */
	struct campaign		*rr;		/* round-robin position */
	struct job		*ready, *ready_tail;
	size_t			 nready;
	int			 inflight;
	int			 stopping;
	int64_t			 data_version;
	int64_t			 next_tick_ms;
	int64_t			 relay_until_ms; /* backing off the relay */
	struct smtp_scratch	 scratch;	/* for smtp_prebuild */
	int64_t			 synced_changes; /* store_changes at it */
	int64_t			 synced_ms;	/* the last store_sync */
	int			 relay_backoff;
	struct store_result	*results;
	struct job		**result_jobs;
	size_t			 nresults, capresults;
	int64_t			 first_result_us; /* the oldest in results */
	int64_t			 hold_us;	/* the last commit's duration */
	/*
	 * The committer thread runs COMMIT (an fsync, mostly waiting for
	 * the disk) while this thread renders the next messages.
	 */
	pthread_t		 cm_thread;
	int			 cm_started;
	pthread_mutex_t		 cm_lock;
	pthread_cond_t		 cm_cond;
	enum { CM_IDLE, CM_RUN, CM_DONE, CM_QUIT } cm_state;
	int			 cm_rv;
	char			*cm_cause;
	int64_t			 cm_us;		/* how long COMMIT took */
	char			 status[256];
};

static int64_t
dispatch_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * How the outbox reaches the disk.  Every commit reaches the operating
 * system at once, before the final dots it gates, so a crash of heraldd
 * resends at most as many messages as there are connections.  With a
 * sync_interval, the write-ahead log is fsynced that often rather than
 * at every commit (SQLite's synchronous=NORMAL; InnoDB's
 * flush_log_at_trx_commit=2; and Postfix marks a recipient done without
 * an fsync either): a power loss
 * may then roll back the last interval's results, and those messages are
 * sent again with the same Message-ID.  None is lost: a state that rolls
 * back goes to `sending` or `pending`, which are sent.
 */
static int
dispatch_sync_mode(struct dispatch *d, const struct config *conf,
    char **cause)
{
	/*
	 * A checkpoint copies the log's pages into the database inside a
	 * commit, and the final dots that commit gates wait for it: at
	 * SQLite's default of 1000 pages, ten times a second at full speed,
	 * up to 8 ms each.  At DISPATCH_WAL_PAGES the hot pages are copied
	 * far less often: one stall of ~15 ms every few seconds, and
	 * commits take half as long (35 us, not 62, at 4 connections).
	 */
	if (store_set_autocheckpoint(d->st, DISPATCH_WAL_PAGES, cause) != 0)
		return -1;
	return store_set_synchronous(d->st, conf->delivery.sync_interval == 0,
	    cause);
}

/*
 * fsync what this connection wrote since the last time, once
 * sync_interval has passed (or at once with force).
 */
static void
dispatch_sync(struct dispatch *d, int64_t now_ms, int force)
{
	char	*cause = NULL;
	int64_t	 changes;

	if (d->conf->delivery.sync_interval == 0 ||
	    (changes = store_changes(d->st)) == d->synced_changes)
		return;
	if (!force && now_ms < d->synced_ms +
	    (int64_t)d->conf->delivery.sync_interval * 1000)
		return;
	if (store_sync(d->st, &cause) != 0) {
		log_warnx("database: %s", cause);
		free(cause);
		return;
	}
	d->synced_changes = changes;
	d->synced_ms = now_ms;
}

static void
dispatch_job_free(struct job *j)
{
	size_t	i;

	if (j == NULL)
		return;
	free(j->email);
	free(j->name);
	free(j->lang);
	for (i = 0; i < j->nattrs; i++) {
		free((char *)j->attrs[i].key);
		free((char *)j->attrs[i].val);
	}
	free(j->attrs);
	free(j);
}

static void
dispatch_campaign_free(struct campaign *c)
{
	render_free(c->render);
	issue_free(c->issue);
	free(c->list);
	free(c);
}

/* Forget campaigns that stopped claiming and have no job left. */
static void
dispatch_reap(struct dispatch *d)
{
	struct campaign	**pc = &d->campaigns, *c;

	while ((c = *pc) != NULL) {
		if (!c->active && c->refs == 0) {
			*pc = c->next;
			if (d->rr == c)
				d->rr = NULL;
			dispatch_campaign_free(c);
		} else
			pc = &c->next;
	}
}

static struct campaign *
dispatch_find(struct dispatch *d, int64_t id)
{
	struct campaign	*c;

	for (c = d->campaigns; c != NULL; c = c->next)
		if (c->id == id)
			return c;
	return NULL;
}

/* The transport's parameters from the configuration (and password). */
void
dispatch_smtp_params(const struct config *conf, const char *password,
    struct smtp_params *p)
{
	memset(p, 0, sizeof(*p));
	p->url = conf->smtp.url;
	switch (conf->smtp.tls) {
	case CONFIG_TLS_STARTTLS:
		p->starttls = SMTP_STARTTLS_REQUIRE;
		break;
	case CONFIG_TLS_OPPORTUNISTIC:
		p->starttls = SMTP_STARTTLS_TRY;
		break;
	default:
		/* none, or implicit TLS, which the smtps:// url says. */
		p->starttls = SMTP_STARTTLS_NONE;
		break;
	}
	p->username = conf->smtp.username;
	p->password = password;
	p->cafile = conf->smtp.ca_file;
	p->connections = conf->smtp.connections;
	p->per_connection = conf->smtp.messages_per_connection;
	p->connect_timeout_ms = (long)conf->smtp.connect_timeout * 1000;
	p->response_timeout = conf->smtp.response_timeout;
	p->low_speed_limit = conf->smtp.low_speed_limit;
	p->low_speed_time = conf->smtp.low_speed_time;
}

/* Build a transport from the configuration. */
static struct smtp *
dispatch_transport(const struct config *conf, const char *password,
    char **cause)
{
	struct smtp_params	p;

	dispatch_smtp_params(conf, password, &p);
	p.gate_dot = 1;		/* duplicates after a crash <= connections */
	return smtp_new(&p, cause);
}

/* Read the signing key and the SMTP password named by conf. */
static int
dispatch_secrets(const struct config *conf, unsigned char **key,
    size_t *keylen, char **password, char **cause)
{
	char	*k = NULL;

	*password = NULL;
	if (config_read_secret(conf->http.secret_file, &k, cause) != 0)
		return -1;
	*keylen = strlen(k);
	*key = (unsigned char *)k;
	if (conf->smtp.password_file != NULL &&
	    config_read_secret(conf->smtp.password_file, password,
	    cause) != 0) {
		explicit_bzero(k, *keylen);
		free(k);
		*key = NULL;
		return -1;
	}
	return 0;
}

static void
dispatch_free_secrets(unsigned char *key, size_t keylen, char *password)
{
	if (key != NULL) {
		explicit_bzero(key, keylen);
		free(key);
	}
	freezero_str(password);
}

/* Seed the rate limits with what was sent in the last day. */
static int
dispatch_seed_limits(struct dispatch *d, char **cause)
{
	int64_t	*secs = NULL, *counts = NULL, now = time(NULL), k, at;
	int64_t	 now_ms = dispatch_now_ms();
	size_t	 n = 0, i;

	limit_init(&d->limits, d->conf->smtp.rate_per_second,
	    d->conf->smtp.rate_per_minute, d->conf->smtp.rate_per_hour,
	    d->conf->smtp.rate_per_day);
	if (store_attempt_log(d->st, now - 86400, &secs, &counts, &n,
	    cause) != 0)
		return -1;
	/*
	 * The log has whole seconds: count each attempt at the end of its
	 * second (never after now), or one made at 10.9 s would leave the
	 * window at 11 s and let a restart send twice the limit.
	 */
	for (i = 0; i < n; i++) {
		at = (secs[i] + 1) * 1000 - 1;
		if (at > now_ms)
			at = now_ms;
		for (k = 0; k < counts[i]; k++)
			limit_record(&d->limits, at);
	}
	free(secs);
	free(counts);
	return 0;
}

struct dispatch *
dispatch_new(const struct config *conf, struct store *st, char **cause)
{
	struct dispatch	*d;
	int64_t		 n;

	d = xcalloc(1, sizeof(*d));
	d->conf = conf;
	d->st = st;
	pthread_mutex_init(&d->cm_lock, NULL);
	pthread_cond_init(&d->cm_cond, NULL);
	if ((errno = pthread_create(&d->cm_thread, NULL, dispatch_committer,
	    d)) != 0) {
		xasprintf(cause, "pthread_create: %s", strerror(errno));
		goto fail;
	}
	d->cm_started = 1;
	if (dispatch_secrets(conf, &d->key, &d->keylen, &d->password,
	    cause) != 0)
		goto fail;
	if ((d->smtp = dispatch_transport(conf, d->password, cause)) == NULL)
		goto fail;
	if (store_recover(st, &n, cause) != 0)
		goto fail;
	if (dispatch_sync_mode(d, conf, cause) != 0)
		goto fail;
	if (n > 0)
		log_notice("recovered %lld messages left in flight by the "
		    "last run; they will be sent again", (long long)n);
	if (dispatch_seed_limits(d, cause) != 0)
		goto fail;
	d->data_version = -1;
	d->mq = mailq_new();
	return d;
fail:
	dispatch_free(d);
	return NULL;
}

void
dispatch_free(struct dispatch *d)
{
	struct campaign	*c;
	struct job	*j;

	if (d == NULL)
		return;
	/*
	 * The connections' threads render from the campaigns: stop them
	 * first (what they have in flight stays `sending` in the store).
	 */
	if (d->smtp != NULL)
		smtp_free(d->smtp);
	if (d->old_smtp != NULL)
		smtp_free(d->old_smtp);
	d->smtp = d->old_smtp = NULL;
	while ((j = d->ready) != NULL) {
		d->ready = j->next;
		dispatch_job_free(j);
	}
	while ((c = d->campaigns) != NULL) {
		d->campaigns = c->next;
		dispatch_campaign_free(c);
	}
	if (d->cm_started) {
		pthread_mutex_lock(&d->cm_lock);
		d->cm_state = CM_QUIT;
		pthread_cond_broadcast(&d->cm_cond);
		pthread_mutex_unlock(&d->cm_lock);
		pthread_join(d->cm_thread, NULL);
	}
	pthread_cond_destroy(&d->cm_cond);
	pthread_mutex_destroy(&d->cm_lock);
	dispatch_free_secrets(d->key, d->keylen, d->password);
	free(d->results);
	free(d->result_jobs);
	buf_free(&d->scratch.a);
	buf_free(&d->scratch.b);
	mailq_free(d->mq);
	free(d);
}

int
dispatch_reload(struct dispatch *d, const struct config *conf, char **cause)
{
	char		*cause1 = NULL;
	unsigned char	*key;
	size_t		 keylen;
	char		*password;
	struct smtp	*s;

	if (dispatch_secrets(conf, &key, &keylen, &password, cause) != 0)
		return -1;
	if ((s = dispatch_transport(conf, password, cause)) == NULL) {
		dispatch_free_secrets(key, keylen, password);
		return -1;
	}
	/* The old transport finishes what it has in flight, then goes. */
	if (d->old_smtp != NULL && smtp_busy(d->smtp) == 0) {
		/* A second reload while draining: keep draining the first. */
		smtp_free(d->smtp);
	} else if (d->old_smtp != NULL) {
		/*
		 * Both carry messages: freeing one would lose their results
		 * (and their campaign would wait for them for ever), so
		 * finish the older first; the newer one drains next.
		 */
		while (smtp_busy(d->old_smtp) > 0) {
			smtp_poll(d->old_smtp, 100, NULL, 0);
			if (smtp_perform(d->old_smtp, dispatch_done, d) < 0)
				break;
			/* Record them: the gated dots wait for it. */
			dispatch_exchange(d, dispatch_now_ms());
		}
		smtp_free(d->old_smtp);
		d->old_smtp = d->smtp;
	} else
		d->old_smtp = d->smtp;
	d->smtp = s;
	if (d->old_smtp != NULL && smtp_busy(d->old_smtp) == 0) {
		smtp_free(d->old_smtp);
		d->old_smtp = NULL;
	}
	dispatch_free_secrets(d->key, d->keylen, d->password);
	d->key = key;
	d->keylen = keylen;
	d->password = password;
	dispatch_sync(d, dispatch_now_ms(), 1);
	d->conf = conf;
	if (dispatch_sync_mode(d, conf, &cause1) != 0) {
		log_warnx("database: %s", cause1);
		free(cause1);
	}
	limit_update(&d->limits, conf->smtp.rate_per_second,
	    conf->smtp.rate_per_minute, conf->smtp.rate_per_hour,
	    conf->smtp.rate_per_day);
	/* Campaigns render with the new sender and links from now on. */
	for (struct campaign *c = d->campaigns; c != NULL; c = c->next) {
		c->active = 0;
		c->stale = 1;
	}
	d->data_version = -1;	/* reload them at the next tick */
	d->next_tick_ms = 0;
	return 0;
}

/*
 * After a stop: record the last results, and put back what was claimed
 * but not sent (or is still in doubt) so that the next start sends it.
 */
void
dispatch_close(struct dispatch *d)
{
	struct job	*j;
	int64_t		 n;
	char		*cause = NULL;

	d->stopping = 1;
	while ((j = d->ready) != NULL) {
		d->ready = j->next;
		j->c->refs--;
		dispatch_job_free(j);
	}
	d->ready_tail = NULL;
	d->nready = 0;
	if (dispatch_exchange(d, dispatch_now_ms()) != 0)
		log_warnx("the last results could not be recorded; those "
		    "messages will be sent again");
	if (store_recover(d->st, &n, &cause) != 0) {
		log_warnx("database: %s", cause);
		free(cause);
	} else if (n > 0)
		log_info("%lld messages left for the next start",
		    (long long)n);
	dispatch_sync(d, dispatch_now_ms(), 1);
}

void
dispatch_stop(struct dispatch *d)
{
	d->stopping = 1;
}

int
dispatch_inflight(struct dispatch *d)
{
	return d->inflight;
}

/* Load issue id from the store and prepare it for sending. */
static struct campaign *
dispatch_load(struct dispatch *d, int64_t id)
{
	struct store_issue	*si;
	struct store_file	*files = NULL;
	struct store_list	*sl = NULL;
	struct campaign		*c = NULL;
	struct errlist		 errs = ERRLIST_INIT;
	struct render_env	 env;
	struct render_list	 rl;
	struct issue		*is;
	size_t			 nfiles = 0;
	char			*cause = NULL;

	if ((si = store_issue_load(d->st, id, &files, &nfiles,
	    &cause)) == NULL) {
		log_warnx("issue %lld: %s", (long long)id, cause);
		goto done;
	}
	is = stored_issue_parse(si, files, nfiles, &errs);
	if (is == NULL) {
		errlist_print(&errs, stderr, "heraldd");
		log_warnx("issue %lld: cannot be parsed any more; paused",
		    (long long)id);
		store_issue_transition(d->st, id, "sending", "paused",
		    "the stored issue no longer parses", "heraldd", &cause);
		goto done;
	}
	if ((sl = store_list_get(d->st, si->list, &cause)) == NULL) {
		log_warnx("issue %lld: list %s: %s", (long long)id, si->list,
		    cause);
		issue_free(is);
		goto done;
	}
	memset(&env, 0, sizeof(env));
	env.templates = d->conf->templates;
	env.base_url = d->conf->http.base_url;
	env.from_address = d->conf->sender.from_address;
	env.from_name = d->conf->sender.from_name;
	env.reply_to = d->conf->sender.reply_to;
	env.domain = d->conf->sender.message_id_domain;
	env.bounce_domain = d->conf->delivery.bounce_domain;
	env.postal_address = d->conf->sender.postal_address;
	env.key = d->key;
	env.keylen = d->keylen;
	stored_render_list(sl, &rl);
	c = xcalloc(1, sizeof(*c));
	c->id = id;
	c->list_id = sl->id;
	c->list = xstrdup(sl->name);
	c->issue = is;
	c->started = si->started ? si->started : time(NULL);
	c->render = render_compile(is, id, si->send_at ? si->send_at :
	    si->created, &rl, &env, &cause);
	if (c->render == NULL) {
		log_warnx("issue %lld: %s; paused", (long long)id, cause);
		store_issue_transition(d->st, id, "sending", "paused", cause,
		    "heraldd", NULL);
		dispatch_campaign_free(c);
		c = NULL;
		goto done;
	}
	c->active = 1;
	c->next = d->campaigns;
	d->campaigns = c;
done:
	errlist_free(&errs);
	store_list_free(sl);
	store_issue_free(si);
	store_files_free(files, nfiles);
	free(cause);
	return c;
}

/*
 * Once a second, and whenever another process committed: start the due
 * issues and match the campaigns in memory to the issues in state
 * sending (a pause or a cancel from heraldctl stops one; a resume or a
 * retry brings one back).
 */
static void
dispatch_tick(struct dispatch *d, int64_t now_ms)
{
	int64_t		*ids = NULL, n, dv, now = now_ms / 1000;
	size_t		 nids = 0, i;
	struct campaign	*c;
	char		*cause = NULL;

	/*
	 * Tick just after each second of the clock turns: an issue due at
	 * second T starts within a few milliseconds of T, not up to a
	 * second later.
	 */
	d->next_tick_ms = (now_ms / DISPATCH_TICK_MS + 1) * DISPATCH_TICK_MS + 5;
	if (d->stopping)
		return;

	if (store_issues_due(d->st, now, &ids, &nids, &cause) != 0) {
		log_warnx("looking for due issues: %s", cause);
		free(cause);
		return;
	}
	for (i = 0; i < nids; i++) {
		if (store_issue_start(d->st, ids[i], now, &n, &cause) != 0) {
			log_warnx("issue %lld: cannot start: %s",
			    (long long)ids[i], cause);
			free(cause);
			cause = NULL;
			continue;
		}
		log_info("issue=%lld started recipients=%lld",
		    (long long)ids[i], (long long)n);
		d->data_version = -1;
	}
	free(ids);
	ids = NULL;

	dv = store_data_version(d->st);
	if (dv == d->data_version)
		return;
	d->data_version = dv;
	if (store_issues_sending(d->st, &ids, &nids, &cause) != 0) {
		log_warnx("listing issues: %s", cause);
		free(cause);
		return;
	}
	for (c = d->campaigns; c != NULL; c = c->next) {
		for (i = 0; i < nids; i++)
			if (ids[i] == c->id)
				break;
		if (i == nids && c->active) {
			log_info("issue=%lld no longer sending (paused or "
			    "cancelled)", (long long)c->id);
			c->active = 0;
		}
	}
	dispatch_reap(d);
	for (i = 0; i < nids; i++) {
		c = dispatch_find(d, ids[i]);
		if (c != NULL && !c->active) {
			/* Stopped and back before its last job ended. */
			if (!c->stale)
				c->active = 1;
			else	/* reload it at a tick after its last job */
				d->data_version = -1;
		} else if (c == NULL)
			c = dispatch_load(d, ids[i]);
		if (c != NULL) {
			c->exhausted = 0;
			c->recheck_ms = 0;
		}
	}
	free(ids);
}

/* For the commit's timing: monotonic microseconds. */
static int64_t
dispatch_now_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*
 * Whether the results in hand should wait for replies about to come.  The
 * connections hold back final dots while uncommitted results and dots
 * out are as many as the connections (gate_dot), so a result that just
 * misses a commit holds dots back a whole commit more: with several
 * connections, one commit for the results of a round beats one as soon
 * as the first arrives.  They wait at most as long as the last commit
 * took.
 */
static int
dispatch_hold(struct dispatch *d, int64_t now_us)
{
	return d->nresults > 0 && !d->stopping &&
	    now_us < d->first_result_us + d->hold_us &&
	    smtp_replies_due(d->smtp) > 0;
}

static void
dispatch_result_push(struct dispatch *d, struct job *j, const char *state,
    long code, const char *reply, int64_t next, int bounce)
{
	struct store_result	*r;

	if (d->nresults == d->capresults) {
		d->capresults = d->capresults ? d->capresults * 2 : 32;
		d->results = xreallocarray(d->results, d->capresults,
		    sizeof(*d->results));
		d->result_jobs = xreallocarray(d->result_jobs, d->capresults,
		    sizeof(*d->result_jobs));
	}
	if (d->nresults == 0)
		d->first_result_us = dispatch_now_us();
	r = &d->results[d->nresults];
	memset(r, 0, sizeof(*r));
	r->delivery_id = j->delivery_id;
	r->subscriber_id = j->subscriber_id;
	r->state = state;
	r->code = code;
	r->reply = reply != NULL ? xstrdup(reply) : NULL;
	r->next_attempt = next;
	r->bounce = bounce;
	r->list = j->c->list;
	r->email = j->email;
	d->result_jobs[d->nresults++] = j;
}

/* Turn one SMTP result into a delivery state; log it. */
static void
dispatch_done(const struct smtp_result *res, void *arg)
{
	struct dispatch		*d = arg;
	struct job		*j = res->arg;
	struct campaign		*c = j->c;
	const struct config	*conf = d->conf;
	const char		*state, *result;
	int64_t			 now = time(NULL), next = 0, age;
	int			 bounce = 0, backoff;

	d->inflight--;
	if (mailq_owns(res->id)) {
		mailq_done(d->mq, res, conf);
		return;
	}
	switch (res->outcome) {
	case SMTP_REFUSED:
		/* Never sent: it could not be rendered, or was malformed. */
		log_warnx("issue=%lld rcpt=%s: cannot send: %s",
		    (long long)c->id, j->email, res->reply);
		state = "failed";
		result = "refused";
		c->n_failed++;
		break;
	case SMTP_SENT:
		state = result = "sent";
		c->n_sent++;
		d->relay_backoff = 0;
		break;
	case SMTP_FAILED:
		state = "failed";
		result = "bounced";
		bounce = res->stage == SMTP_STAGE_RCPT;
		c->n_failed++;
		break;
	default:
		/* Deferred, in doubt, or not sent: try again later. */
		age = now - c->started;
		backoff = (int)limit_backoff(conf->delivery.backoff_initial,
		    conf->delivery.backoff_max, (unsigned)j->attempts + 1);
		if (res->outcome == SMTP_INDOUBT)
			backoff = conf->delivery.backoff_initial;
		if (age + backoff > conf->delivery.max_age) {
			state = "failed";
			result = "expired";
			c->n_failed++;
		} else {
			state = result = "deferred";
			next = now + backoff;
			c->n_deferred++;
		}
		/*
		 * The relay itself is in trouble: wait for it.  Messages
		 * that fail together (every connection and the prefetched
		 * ones) are one outage: double only once a wait is over.
		 */
		if (res->backoff && dispatch_now_ms() >= d->relay_until_ms) {
			d->relay_backoff = d->relay_backoff ?
			    d->relay_backoff * 2 : DISPATCH_RELAY_BACKOFF;
			if (d->relay_backoff > DISPATCH_RELAY_MAXOFF)
				d->relay_backoff = DISPATCH_RELAY_MAXOFF;
			d->relay_until_ms = dispatch_now_ms() +
			    d->relay_backoff * 1000;
		}
		break;
	}
	log_info("issue=%lld rcpt=%s relay=%s attempt=%lld code=%ld "
	    "result=%s delay=%.3f stat=\"%s\"", (long long)c->id, j->email,
	    conf->smtp.url, (long long)j->attempts + 1, res->code, result,
	    res->seconds, res->reply);

	if (res->policy) {
		if (++c->policy_run >= conf->delivery.pause_after_policy_failures
		    && conf->delivery.pause_after_policy_failures > 0 &&
		    c->active) {
			char	*note, *cause = NULL;

			xasprintf(&note, "paused after %d policy refusals in "
			    "a row (5.7.x); last: %s", c->policy_run,
			    res->reply);
			log_warnx("issue=%lld %s", (long long)c->id, note);
			if (store_issue_transition(d->st, c->id, "sending",
			    "paused", note, "heraldd", &cause) != 0) {
				log_warnx("issue=%lld: %s", (long long)c->id,
				    cause);
				free(cause);
			}
			c->active = 0;
			free(note);
		}
	} else
		c->policy_run = 0;
	dispatch_result_push(d, j, state, res->code, res->reply, next, bounce);
}

/* Claim work for the free connections, round robin over campaigns. */
static int
dispatch_claim(struct dispatch *d, size_t want, int64_t now_ms)
{
	struct store_claim	*cl = NULL;
	struct campaign		*c, *start;
	struct job		*j;
	size_t			 n = 0, i, k, per, ncamp = 0;
	char			*cause = NULL;

	for (c = d->campaigns; c != NULL; c = c->next)
		if (c->active && (!c->exhausted || now_ms >= c->recheck_ms))
			ncamp++;
	if (ncamp == 0 || want == 0)
		return 0;
	per = (want + ncamp - 1) / ncamp;
	start = d->rr != NULL ? d->rr : d->campaigns;
	c = start;
	do {
		if (c->active && (!c->exhausted || now_ms >= c->recheck_ms) &&
		    want > 0) {
			k = per < want ? per : want;
			if (store_claim(d->st, c->id, now_ms / 1000, k, &cl, &n,
			    &cause) != 0) {
				log_warnx("issue=%lld: claiming: %s",
				    (long long)c->id, cause);
				free(cause);
				return -1;
			}
			c->exhausted = n < k;
			c->recheck_ms = now_ms + DISPATCH_TICK_MS;
			if (n > 0)
				c->unfinished = 0;
			for (i = 0; i < n; i++) {
				j = xcalloc(1, sizeof(*j));
				j->c = c;
				c->refs++;
				j->delivery_id = cl[i].delivery_id;
				j->subscriber_id = cl[i].subscriber_id;
				j->attempts = cl[i].attempts;
				j->email = cl[i].email;
				j->name = cl[i].name;
				j->lang = cl[i].lang;
				cl[i].email = cl[i].name = cl[i].lang = NULL;
				j->nattrs = cl[i].nattrs;
				j->attrs = xcalloc(cl[i].nattrs + 1,
				    sizeof(*j->attrs));
				for (k = 0; k < cl[i].nattrs; k++) {
					j->attrs[k].key = cl[i].attrs[k].key;
					j->attrs[k].val = cl[i].attrs[k].val;
					cl[i].attrs[k].key = NULL;
					cl[i].attrs[k].val = NULL;
				}
				if (d->ready_tail != NULL)
					d->ready_tail->next = j;
				else
					d->ready = j;
				d->ready_tail = j;
				d->nready++;
				want--;
			}
			store_claim_free(cl, n);
			cl = NULL;
		}
		c = c->next != NULL ? c->next : d->campaigns;
	} while (c != start && want > 0);
	d->rr = c;
	return 0;
}

/*
 * Commit what finished and claim what comes next, in one transaction:
 * one fsync per round, and a message is `sending` in the database before
 * SMTP sees it.
 */
static void	dispatch_send(struct dispatch *, int64_t, size_t);

/*
 * The committer thread: COMMIT, then let the connections send the final
 * dots the commit was holding back (gate_dot).  Nothing else uses the
 * store meanwhile: the loop only renders and submits (dispatch_commit).
 */
/* COMMIT, then let the gated dots go; *us: how long it took. */
static int
dispatch_commit_ack(struct dispatch *d, int64_t *us, char **cause)
{
	int64_t	t0 = dispatch_now_us();
	int	rv;

	*cause = NULL;
	if ((rv = store_commit(d->st, cause)) == 0) {
		smtp_ack(d->smtp);
		if (d->old_smtp != NULL)
			smtp_ack(d->old_smtp);
	}
	*us = dispatch_now_us() - t0;
	return rv;
}

static void *
dispatch_committer(void *arg)
{
	struct dispatch	*d = arg;
	char		*cause;
	int64_t		 us;
	int		 rv;

	pthread_mutex_lock(&d->cm_lock);
	for (;;) {
		while (d->cm_state == CM_IDLE || d->cm_state == CM_DONE)
			pthread_cond_wait(&d->cm_cond, &d->cm_lock);
		if (d->cm_state == CM_QUIT)
			break;
		pthread_mutex_unlock(&d->cm_lock);
		rv = dispatch_commit_ack(d, &us, &cause);
		pthread_mutex_lock(&d->cm_lock);
		d->cm_us = us;
		d->cm_rv = rv;
		d->cm_cause = cause;
		d->cm_state = CM_DONE;
		pthread_cond_broadcast(&d->cm_cond);
	}
	pthread_mutex_unlock(&d->cm_lock);
	return NULL;
}

/*
 * Commit the open transaction and acknowledge its results; meanwhile
 * render and submit up to nsafe ready jobs, whose `sending` an earlier
 * round committed.  Results pushed meanwhile (a message that cannot be
 * rendered) go after the ones being committed.
 */
static int
dispatch_commit(struct dispatch *d, size_t nsafe, int64_t now_ms,
    char **cause)
{
	int	rv;

	/*
	 * With a sync_interval COMMIT only hands the pages to the operating
	 * system (35 us at full speed): handing it to the committer thread
	 * and back costs more than it overlaps.  That pays when COMMIT
	 * waits for the disk.
	 */
	if (d->conf->delivery.sync_interval > 0) {
		rv = dispatch_commit_ack(d, &d->cm_us, cause);
		if (!d->stopping && nsafe > 0)
			dispatch_send(d, now_ms, nsafe);
		return rv;
	}
	pthread_mutex_lock(&d->cm_lock);
	d->cm_state = CM_RUN;
	pthread_cond_broadcast(&d->cm_cond);
	pthread_mutex_unlock(&d->cm_lock);
	if (!d->stopping && nsafe > 0)
		dispatch_send(d, now_ms, nsafe);
	pthread_mutex_lock(&d->cm_lock);
	while (d->cm_state != CM_DONE)
		pthread_cond_wait(&d->cm_cond, &d->cm_lock);
	d->cm_state = CM_IDLE;
	rv = d->cm_rv;
	*cause = d->cm_cause;
	d->cm_cause = NULL;
	pthread_mutex_unlock(&d->cm_lock);
	return rv;
}

static int
dispatch_exchange(struct dispatch *d, int64_t now_ms)
{
	size_t	 free_slots, want, i, nsafe, ndone;
	char	*cause = NULL;
	int64_t	 t0;
	int	 rv = 0, mq;

	free_slots = (size_t)smtp_idle_slots(d->smtp);
	want = 0;
	if (!d->stopping && now_ms >= d->relay_until_ms &&
	    d->nready < free_slots + DISPATCH_PREFETCH)
		want = free_slots + DISPATCH_PREFETCH - d->nready;
	/* The mail queue: looked at once a second, and claimed first. */
	mq = !d->stopping && now_ms >= d->relay_until_ms &&
	    mailq_due(d->mq, now_ms);
	if (d->nresults == 0 && mailq_nresults(d->mq) == 0 && want == 0 &&
	    !mq)
		return 0;
	if (d->nresults == 0 && mailq_nresults(d->mq) == 0 && !mq &&
	    !d->stopping) {
		/* Nothing to record: only claim if someone has work. */
		struct campaign	*c;
		int		 any = 0;

		for (c = d->campaigns; c != NULL; c = c->next)
			if (c->active &&
			    (!c->exhausted || now_ms >= c->recheck_ms))
				any = 1;
		if (!any)
			return 0;
	}
	t0 = dispatch_now_us();
	nsafe = d->nready;
	/* At most delivery.batch_size per transaction; the rest go next. */
	ndone = d->nresults;
	if (ndone > (size_t)d->conf->delivery.batch_size)
		ndone = (size_t)d->conf->delivery.batch_size;
	if (store_begin(d->st, &cause) != 0)
		goto fail;
	if (ndone > 0 && store_results(d->st, d->results, ndone,
	    now_ms / 1000, &cause) != 0)
		goto fail_rollback;
	if (mailq_record(d->mq, d->st, now_ms / 1000, &cause) != 0 ||
	    (mq && mailq_claim(d->mq, d->st, now_ms,
	    free_slots + DISPATCH_PREFETCH, &cause) != 0))
		goto fail_rollback;
	if (dispatch_claim(d, want, now_ms) != 0) {
		rv = -1;
		goto rollback;
	}
	/* Recorded, the connections may finish their next messages. */
	t0 = dispatch_now_us() - t0;
	if (dispatch_commit(d, nsafe, now_ms, &cause) != 0)
		goto fail_rollback;
	dispatch_sync(d, now_ms, 0);
	d->hold_us = t0 + d->cm_us;
	if (d->hold_us > DISPATCH_HOLD_MAX_US)
		d->hold_us = DISPATCH_HOLD_MAX_US;
	mailq_committed(d->mq);
	if (ndone > 0)
		log_debug("database: %zu result%s recorded", ndone,
		    ndone == 1 ? "" : "s");
	for (i = 0; i < ndone; i++) {
		d->result_jobs[i]->c->refs--;
		dispatch_job_free(d->result_jobs[i]);
		free((char *)d->results[i].reply);
	}
	d->nresults -= ndone;
	if (d->nresults > 0) {
		memmove(d->results, d->results + ndone,
		    d->nresults * sizeof(*d->results));
		memmove(d->result_jobs, d->result_jobs + ndone,
		    d->nresults * sizeof(*d->result_jobs));
		d->first_result_us = dispatch_now_us();
	}
	return 0;
fail_rollback:
	log_warnx("recording results: %s; %zu result%s kept, trying again",
	    cause, d->nresults, d->nresults == 1 ? "" : "s");
	free(cause);
	rv = -1;
rollback:
	store_rollback(d->st);
	mailq_abort(d->mq);
	/* Claimed jobs were not committed: forget them; results stay. */
	while (d->ready != NULL && rv != 0) {
		struct job	*j = d->ready;

		d->ready = j->next;
		j->c->refs--;
		dispatch_job_free(j);
	}
	d->ready_tail = NULL;
	d->nready = 0;
	return rv;
fail:
	log_warnx("database: %s; %zu result%s kept, trying again", cause,
	    d->nresults, d->nresults == 1 ? "" : "s");
	free(cause);
	return -1;
}

/*
 * Render one message, in a connection's thread (smtp_build_fn): the job
 * and its campaign's compiled issue stay as they are until its result.
 */
static int
dispatch_build(void *arg, struct buf *out, struct smtp_scratch *sc,
    char **cause)
{
	const struct job	*j = arg;
	struct render_rcpt	 rc;

	memset(&rc, 0, sizeof(rc));
	rc.id = j->subscriber_id;
	rc.email = j->email;
	rc.name = j->name;
	rc.lang = j->lang;
	rc.attrs = j->attrs;
	rc.nattrs = j->nattrs;
	return render_message_r(j->c->render, &rc, j->date, &sc->a, &sc->b,
	    out, cause);
}

/* Hand ready jobs to free connections, within the rate limits. */
static void
dispatch_send(struct dispatch *d, int64_t now_ms, size_t max)
{
	struct job	*j;
	struct token	 tk;
	char		*rcpt = NULL, *from = NULL, *tok;
	const char	*why;

	/*
	 * max < SIZE_MAX: called by dispatch_commit, while the mail queue's
	 * latest claims may not be committed yet; it goes next time.
	 */
	if (max == SIZE_MAX)
		d->inflight += mailq_send(d->mq, d->smtp, &d->limits, d->conf,
		    d->key, d->keylen, now_ms);
	while ((j = d->ready) != NULL && smtp_idle_slots(d->smtp) > 0 &&
	    max-- > 0) {
		/* Paused or cancelled since it was claimed: put it back. */
		if (!j->c->active) {
			d->ready = j->next;
			if (d->ready == NULL)
				d->ready_tail = NULL;
			d->nready--;
			j->next = NULL;
			dispatch_result_push(d, j, "pending", 0, NULL, 0, 0);
			continue;
		}
		if (!limit_take(&d->limits, now_ms))
			break;
		d->ready = j->next;
		if (d->ready == NULL)
			d->ready_tail = NULL;
		d->nready--;
		j->next = NULL;

		if (addr_to_ascii(j->email, &rcpt, &why) != 0) {
			log_warnx("issue=%lld rcpt=%s: %s", (long long)j->c->id,
			    j->email, why);
			dispatch_result_push(d, j, "failed", 0, why, 0, 0);
			j->c->n_failed++;
			continue;
		}
		if (d->conf->delivery.verp) {
			memset(&tk, 0, sizeof(tk));
			tk.purpose = TOKEN_BOUNCE;
			tk.subscriber = j->subscriber_id;
			tk.list = (uint32_t)j->c->list_id;
			tk.issued = time(NULL);
			tok = token_make(&tk, d->key, d->keylen);
			from = token_verp_address(tok, "bounces",
			    d->conf->delivery.bounce_domain);
			free(tok);
		} else
			from = xstrdup(render_from_address(j->c->render));
		j->started_ms = now_ms;
		j->date = time(NULL);
		/* The connection's thread renders it. */
		if (smtp_submit_build(d->smtp, (uint64_t)j->delivery_id, from,
		    rcpt, dispatch_build, j) != 0) {
			/* Cannot happen: a slot was free.  Retry later. */
			dispatch_result_push(d, j, "deferred", 0,
			    "no free connection", now_ms / 1000 + 1, 0);
		} else
			d->inflight++;
		free(rcpt);
		free(from);
		rcpt = from = NULL;
	}
}

/*
 * Mark finished issues sent and log their summary.  At a tick, every
 * issue with nothing in flight is asked; between ticks, only one whose
 * last message was just recorded (not one the store said has work left,
 * such as deferred messages due later): its state turns sent at once.
 */
static void
dispatch_finish(struct dispatch *d, int tick)
{
	struct campaign	*c;
	char		*cause = NULL;
	int		 done;

	for (c = d->campaigns; c != NULL; c = c->next) {
		if (!c->active || !c->exhausted || c->refs > 0 ||
		    (!tick && c->unfinished))
			continue;
		if (store_issue_finish(d->st, c->id, time(NULL), &done,
		    &cause) != 0) {
			log_warnx("issue=%lld: %s", (long long)c->id, cause);
			free(cause);
			cause = NULL;
			continue;
		}
		if (!done) {
			c->unfinished = 1;
			continue;
		}
		log_info("issue=%lld list=%s finished sent=%lld failed=%lld "
		    "deferrals=%lld", (long long)c->id, c->list,
		    (long long)c->n_sent, (long long)c->n_failed,
		    (long long)c->n_deferred);
		c->active = 0;
	}
	dispatch_reap(d);
}

int
dispatch_wait(struct dispatch *d, int timeout_ms, int fd)
{
	struct curl_waitfd	 w;
	int64_t			 now = dispatch_now_ms(), until;

	until = d->next_tick_ms;
	if (d->nready + mailq_nready(d->mq) > 0 &&
	    smtp_idle_slots(d->smtp) > 0) {
		int64_t	next = limit_next(&d->limits, now);

		if (next < until)
			until = next;
	}
	if (d->nresults > 0 || mailq_nresults(d->mq) > 0) {
		int64_t	us = dispatch_now_us();

		until = now;
		if (dispatch_hold(d, us))
			until += (d->first_result_us + d->hold_us - us + 999) /
			    1000;
	}
	if (until - now < timeout_ms)
		timeout_ms = until > now ? (int)(until - now) : 0;
	memset(&w, 0, sizeof(w));
	w.fd = fd;
	w.events = CURL_WAIT_POLLIN;
	if (d->old_smtp != NULL && timeout_ms > 50)
		timeout_ms = 50;	/* also drive the draining transport */
	return smtp_poll(d->smtp, timeout_ms, fd >= 0 ? &w : NULL,
	    fd >= 0 ? 1 : 0);
}

int
dispatch_step(struct dispatch *d)
{
	int64_t	now_ms = dispatch_now_ms();
	int	rv = 0;

	if (smtp_perform(d->smtp, dispatch_done, d) < 0)
		log_warnx("smtp: the transfer loop failed");
	if (d->old_smtp != NULL) {
		if (smtp_perform(d->old_smtp, dispatch_done, d) < 0)
			log_warnx("smtp: the old transfer loop failed");
		if (smtp_busy(d->old_smtp) == 0) {
			smtp_free(d->old_smtp);
			d->old_smtp = NULL;
		}
	}
	if (now_ms >= d->next_tick_ms) {
		dispatch_tick(d, now_ms);
		dispatch_finish(d, 1);
	}
	if (!dispatch_hold(d, dispatch_now_us()) &&
	    dispatch_exchange(d, now_ms) != 0)
		rv = -1;
	if (!d->stopping)
		dispatch_send(d, now_ms, SIZE_MAX);
	dispatch_finish(d, 0);
	/*
	 * The connections render their messages; with time to spare, this
	 * thread renders one of the next ones too (with one connection,
	 * that makes the next message while the current one goes out).
	 */
	smtp_prebuild(d->smtp, &d->scratch, 1);
	dispatch_sync(d, now_ms, 0);
	return rv;
}

const char *
dispatch_status(struct dispatch *d)
{
	struct campaign	*c;
	int64_t		 sent = 0, failed = 0;
	int		 n = 0;

	for (c = d->campaigns; c != NULL; c = c->next) {
		if (!c->active)
			continue;
		n++;
		sent += c->n_sent;
		failed += c->n_failed;
	}
	if (n == 0)
		snprintf(d->status, sizeof(d->status), "idle");
	else
		snprintf(d->status, sizeof(d->status),
		    "sending %d issue%s: %lld sent, %lld failed, %d in flight",
		    n, n == 1 ? "" : "s", (long long)sent, (long long)failed,
		    d->inflight);
	return d->status;
}
