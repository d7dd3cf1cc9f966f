/*
 * The SQLite store: schema, migrations and every query.  Only store.c
 * includes sqlite3.h.  Every function that changes data runs in one
 * transaction: it completes or changes nothing.  Functions that can fail
 * return -1 (or NULL) and set *cause to an allocated message that the
 * caller reports and frees; store_errkind() then says what kind of
 * failure it was, so that the CLI can choose an exit code.
 */
#ifndef HERALD_STORE_H
#define HERALD_STORE_H

#include <stddef.h>
#include <stdint.h>

struct store;
struct subcsv_row;

/* The schema version this code writes (PRAGMA user_version). */
#define STORE_SCHEMA_VERSION	4

enum store_err {
	STORE_OK = 0,
	STORE_ENOTFOUND,	/* no such list, subscriber, subscription */
	STORE_EEXIST,		/* a unique name already taken */
	STORE_EINVAL,		/* a value the schema refuses */
	STORE_EREFUSED,		/* refused by a rule (list has issues) */
	STORE_EBUSY,		/* database locked for longer than busy_timeout */
	STORE_EVERSION,		/* database written by a newer herald */
	STORE_EOPEN,		/* cannot open or create the database */
	STORE_EDB,		/* any other SQLite failure */
};

struct store_list {
	int64_t	 id;
	char	*name;		/* slug: [a-z0-9][a-z0-9-]*, at most 64 */
	char	*title;
	char	*from_addr;	/* NULL: the configuration's default */
	char	*from_name;
	char	*reply_to;
	char	*optin;		/* "single" or "double" */
	int64_t	 created;	/* Unix time */
	int64_t	 n_pending;	/* subscriptions by state */
	int64_t	 n_confirmed;
	int64_t	 n_unsubscribed;
	int64_t	 n_issues;
};

struct store_attr {
	char	*key;
	char	*val;
};

struct store_subscription {
	char	*list;		/* list name */
	char	*state;		/* pending, confirmed, unsubscribed */
	char	*source;	/* how it last changed: "cli", "import:F", "web" */
	int64_t	 created;
	int64_t	 updated;
};

struct store_subscriber {
	int64_t			 id;
	char			*email;	/* normal form from addr_check() */
	char			*name;	/* NULL when unknown */
	char			*lang;	/* NULL when unknown */
	struct store_attr	*attrs;	/* sorted by key */
	size_t			 nattrs;
	char			*state;	/* active, bounced, blocked */
	int64_t			 created;
	int64_t			 updated;
	/* Filled by store_sub_get() only: every subscription. */
	struct store_subscription *subs;
	size_t			 nsubs;
	/* Filled by store_sub_list() only: the state on that list. */
	char			*sub_state;
	int64_t			 sub_updated;
};

struct store_import_stats {
	size_t	added;		/* new subscription (new or known subscriber) */
	size_t	updated;	/* already confirmed: details updated */
	size_t	resubscribed;	/* pending turned confirmed */
	size_t	kept;		/* unsubscribed before: left unsubscribed */
};

/* Open (creating if needed) and migrate the database at path. */
struct store *store_open(const char *path, char **cause);
void	store_close(struct store *);
enum store_err store_errkind(const struct store *);
/* The kind of the failure of the last store_open() (no handle then). */
enum store_err store_open_errkind(void);
/* How long to wait for another process's lock (default 5000 ms). */
int	store_set_busy_timeout(struct store *, int ms);
/*
 * FULL (the default): every commit is on disk when it returns.  NORMAL:
 * a commit reaches the operating system at once (it survives a crash of
 * the process) and the disk at store_sync() or the next checkpoint.
 */
int	store_set_synchronous(struct store *, int full, char **cause);
/*
 * How many pages the write-ahead log may hold before a commit of this
 * connection copies them into the database (SQLite's default: 1000).
 */
int	store_set_autocheckpoint(struct store *, int pages, char **cause);
/* Rows this connection has written so far: grows with every write. */
int64_t	store_changes(struct store *);
/* Make every commit so far survive a power loss (fsync the WAL). */
int	store_sync(struct store *, char **cause);
/* The database's PRAGMA user_version. */
int	store_schema_version(struct store *);

/* 1 when name is a valid list name (slug). */
int	store_list_name_valid(const char *name);

/* Lists. l->name, l->title required; from, from_name, reply_to may be NULL. */
int	store_list_create(struct store *, const struct store_list *l,
	    const char *source, char **cause);
/* One list with its counts, or NULL (STORE_ENOTFOUND when missing). */
struct store_list *store_list_get(struct store *, const char *name,
	    char **cause);
/*
 * The same without the counts (they are -1): cheap whatever the size of
 * the list, for the web pages.
 */
struct store_list *store_list_find(struct store *, const char *name,
	    char **cause);
/* Every list, by name, with counts; *n set.  Returns NULL+cause on error. */
struct store_list *store_list_all(struct store *, size_t *n, char **cause);
/*
 * Remove a list with its subscriptions.  Refused (STORE_EREFUSED) while
 * the list has issues, unless force, which removes its issues too.
 */
int	store_list_remove(struct store *, const char *name, int force,
	    const char *source, char **cause);
void	store_list_free(struct store_list *);
void	store_list_free_array(struct store_list *, size_t);

/*
 * Subscribe email (already normalized) to list as confirmed: the
 * subscriber is created or updated (name, lang when not NULL; attrs
 * merged, later values winning), the subscription created or set
 * confirmed.  *was receives the previous state of the subscription
 * ("none", "pending", "confirmed", "unsubscribed").  Writes an event.
 */
int	store_sub_add(struct store *, const char *list, const char *email,
	    const char *name, const char *lang, const struct store_attr *attrs,
	    size_t nattrs, const char *source, const char **was, char **cause);
/*
 * Mark the subscription unsubscribed, keeping the record of consent.
 * STORE_ENOTFOUND when there is none; unsubscribing twice is not an
 * error (*was says "unsubscribed").  Writes an event.
 */
int	store_sub_remove(struct store *, const char *list, const char *email,
	    const char *source, const char **was, char **cause);
/* One subscriber with every subscription, or NULL. */
struct store_subscriber *store_sub_get(struct store *, const char *email,
	    char **cause);
/*
 * Call fn for each subscriber of list (by email), with state as given or
 * every state when NULL.  The subscriber passed to fn is valid only
 * during the call.  fn returning -1 stops the walk (returns -1, no cause).
 */
int	store_sub_list(struct store *, const char *list, const char *state,
	    int (*fn)(void *, const struct store_subscriber *), void *arg,
	    char **cause);
/* Sorted distinct attribute keys of the list's subscribers in state. */
int	store_sub_attr_keys(struct store *, const char *list,
	    const char *state, char ***keys, size_t *n, char **cause);
void	store_subscriber_free(struct store_subscriber *);
/* 1 when state names a subscription state. */
int	store_sub_state_valid(const char *state);

/*
 * Import rows into list in one transaction: subscribers inserted or
 * updated (never duplicated), subscriptions created confirmed.  Someone
 * who unsubscribed stays unsubscribed.  One event per row.
 */
int	store_import(struct store *, const char *list,
	    const struct subcsv_row *rows, size_t n, const char *source,
	    struct store_import_stats *st, char **cause);

/*
 * The journal, append-only (triggers refuse UPDATE and DELETE).  Kinds
 * written so far: list-create, list-remove (list only); subscribe,
 * confirm, update, unsubscribe, import (list and email; an import's
 * detail is "added", "updated", "confirmed" or "kept unsubscribed");
 * for issues (list only, detail "issue N: ..."): queue, pause, resume,
 * cancel, requeue, retry, start, finish; bounce and disable (list and
 * email, from store_results()).  Sources: "cli", "import:FILE",
 * "heraldd", later "web".  Events name the list and
 * address as text, so they outlive both.  Oldest first.
 */
struct store_event {
	int64_t	 id;
	int64_t	 time;
	char	*kind;
	char	*list;
	char	*email;
	char	*source;
	char	*detail;
};
int	store_events(struct store *, const char *list, struct store_event **,
	    size_t *n, char **cause);
void	store_events_free(struct store_event *, size_t);

/*
 * Issues and the outbox.  Unless noted, each function below runs in
 * its own transaction, or in the caller's when one is open (after
 * store_begin()); then a failure leaves the caller to roll back.
 * Their events name the list and say "issue N: ..." in the detail.
 */

/*
 * Hard bounces after which a subscriber's state becomes 'bounced' and
 * they get no more mail (a coordinator can set them active again).
 */
#define STORE_BOUNCE_LIMIT	3

/* An issue as stored, with its delivery counts. */
struct store_issue {
	int64_t	 id;
	char	*list;		/* list name */
	int64_t	 list_id;
	char	*subject;
	char	*template;
	char	*state;		/* queued, sending, paused, sent, cancelled */
	char	*note;		/* why it was paused, or NULL */
	int64_t	 send_at, created, started, finished;	/* 0: not yet */
	int64_t	 n_pending, n_sending, n_sent, n_deferred, n_failed,
		 n_skipped;
	int64_t	 sent_last_minute;	/* rate: messages in the last 60 s */
	char	*source;	/* the YAML, only from store_issue_load() */
	size_t	 source_len;
};

struct store_file {
	char		*name;		/* path as written in the issue */
	char		*mime_type;
	unsigned char	*data;
	size_t		 len;
};

/*
 * Store a queued issue with its files; *id receives its number.  The
 * source is kept as exactly source_len bytes; files must have distinct
 * names (STORE_EEXIST).  STORE_ENOTFOUND without the list, STORE_EINVAL
 * for a subject that is empty or has CR or LF.  Event "queue" with
 * source_tag as its source.
 */
int	store_issue_create(struct store *, const char *list,
	    const char *subject, const char *template, const char *source,
	    size_t source_len, int64_t send_at, const struct store_file *files,
	    size_t nfiles, const char *source_tag, int64_t *id, char **cause);
/*
 * One issue with counts (and, for _load, its source, NUL-terminated
 * for convenience, and files), or NULL (STORE_ENOTFOUND).  Read in one
 * snapshot.
 */
struct store_issue *store_issue_get(struct store *, int64_t id, char **cause);
struct store_issue *store_issue_load(struct store *, int64_t id,
	    struct store_file **files, size_t *nfiles, char **cause);
/* Every issue, or those of one list (NULL: all), newest first. */
struct store_issue *store_issue_all(struct store *, const char *list,
	    size_t *n, char **cause);
/*
 * An issue's state and note (NULL when none), without its counts: cheap
 * enough to ask many times a second.
 */
int	store_issue_peek(struct store *, int64_t id, char **state,
	    char **note, char **cause);
void	store_issue_free(struct store_issue *);
void	store_issue_free_array(struct store_issue *, size_t);
void	store_files_free(struct store_file *, size_t);
/*
 * Change an issue's state from one of the states in `from` (a
 * comma-separated list; NULL: any) to `to`, with an optional note of
 * one line (NULL clears it).  STORE_ENOTFOUND for no such issue,
 * STORE_EREFUSED when its state is not one of them ("issue 3 is sent,
 * not sending or paused"), STORE_EINVAL for a name that is no state.
 * Moving to sent or cancelled sets finished.  Event by target state:
 * pause, resume (from paused; else start), cancel, requeue, finish.
 */
int	store_issue_transition(struct store *, int64_t id, const char *from,
	    const char *to, const char *note, const char *source,
	    char **cause);
/*
 * Failed deliveries of an issue back to pending (attempts and last
 * reply kept, due at once); *n how many.  A sent issue is sending
 * again; a paused one stays paused until resumed.  STORE_EREFUSED for
 * a queued or cancelled issue.  Event "retry" when *n > 0.
 */
int	store_issue_retry(struct store *, int64_t id, int64_t now, int64_t *n,
	    char **cause);

/* For heraldd.  store_begin() takes the write lock (BEGIN IMMEDIATE). */
int	store_begin(struct store *, char **cause);
int	store_commit(struct store *, char **cause);
void	store_rollback(struct store *);
/* PRAGMA data_version: changes when another connection commits; -1. */
/*
 * SQLite's page cache for this connection, in KiB (8000 by default): a
 * long-running daemon keeps it small, so that its memory does not grow
 * with the database.
 */
int	store_set_cache(struct store *, int kib, char **cause);
int64_t	store_data_version(struct store *);
/* Counts for the metrics: (issue, list, state) -> n; issue 0 for lists. */
struct store_count {
	int64_t	 issue;
	char	*list;
	char	*state;
	int64_t	 n;
};
/* Deliveries by issue and state. */
int	store_delivery_counts(struct store *, struct store_count **, size_t *,
	    char **cause);
/* Subscriptions by list and state. */
int	store_subscription_counts(struct store *, struct store_count **,
	    size_t *, char **cause);
void	store_counts_free(struct store_count *, size_t);
/*
 * Deliveries and mail-queue messages left `sending` by a crash become
 * pending again; *n counts both.  Also forgets attempt counts older
 * than two days.
 */
int	store_recover(struct store *, int64_t *n, char **cause);
/* Ids of queued issues due at now, and of issues in state sending. */
int	store_issues_due(struct store *, int64_t now, int64_t **ids,
	    size_t *n, char **cause);
int	store_issues_sending(struct store *, int64_t **ids, size_t *n,
	    char **cause);
/*
 * Start an issue: snapshot the confirmed subscribers of its list (whose
 * subscriber state is active) into the outbox and mark it sending, in
 * one transaction.  *n receives the number of recipients.  Only from
 * queued (else STORE_EREFUSED).  Event "start".
 */
int	store_issue_start(struct store *, int64_t id, int64_t now, int64_t *n,
	    char **cause);

struct store_claim {
	int64_t			 delivery_id;
	int64_t			 subscriber_id;
	int64_t			 attempts;	/* before this one */
	char			*email;
	char			*name;
	char			*lang;
	struct store_attr	*attrs;
	size_t			 nattrs;
};

/*
 * In the caller's transaction: take up to max deliveries of issue that
 * are due at now (pending, or deferred with next_attempt <= now), by
 * next_attempt then id, and mark them sending (first_attempt set on the
 * first claim).  A recipient whose subscription is no longer confirmed,
 * or whose subscriber is no longer active, is marked skipped instead
 * (never sent) and does not count against max.  Nothing while the issue
 * is not sending (paused or cancelled meanwhile).  *out is NULL when
 * *n is 0.  Reads at most about 2 * max index entries, however long the
 * outbox.
 */
int	store_claim(struct store *, int64_t issue, int64_t now, size_t max,
	    struct store_claim **out, size_t *n, char **cause);
void	store_claim_free(struct store_claim *, size_t);

struct store_result {
	int64_t		 delivery_id;
	int64_t		 subscriber_id;
	const char	*state;		/* sent, deferred, failed; pending:
					   claimed, never sent, put back */
	long		 code;
	const char	*reply;
	int64_t		 next_attempt;	/* deferred: when to try again */
	const char	*message_id;
	int		 bounce;	/* a hard bounce at RCPT */
	const char	*list;		/* for the bounce event */
	const char	*email;
};

/*
 * In the caller's transaction: record results (attempts + 1, code,
 * reply, next_attempt as given, message_id when not NULL; code <= 0
 * stores no code) and log the attempts: results that are sent or carry
 * an SMTP code (> 0), one attempt_log row for the second now.  bounce:
 * subscribers.bounces + 1 and event "bounce" (detail "CODE REPLY"); at
 * STORE_BOUNCE_LIMIT an active subscriber becomes bounced, event
 * "disable".  A result whose delivery is gone (its issue or subscriber
 * removed meanwhile) is passed over.  STORE_EINVAL, before any write,
 * for a state other than sent, deferred or failed.
 */
int	store_results(struct store *, const struct store_result *, size_t n,
	    int64_t now, char **cause);
/*
 * Mark the issue sent (finished = now, event "finish") when it is
 * sending and has no delivery pending, sending or deferred; *done 1 if
 * so, else 0.
 */
int	store_issue_finish(struct store *, int64_t id, int64_t now, int *done,
	    char **cause);
/*
 * Attempts per second since `since` (seconds with none are absent),
 * oldest first, to seed the rate limits.  Kept for two days.
 */
int	store_attempt_log(struct store *, int64_t since, int64_t **secs,
	    int64_t **counts, size_t *n, char **cause);

/*
 * ---- Web subscriptions and the mail queue ----
 *
 * What the HTTP endpoints (/u/, /s/, /c/), heraldctl and the dispatcher
 * need for subscribe with double opt-in, confirm and unsubscribe, and
 * the queue of transactional mail (confirmations) that heraldd sends
 * ahead of newsletters.  Each function runs in one transaction (or the
 * caller's, for the dispatcher's claim and results) and leaves the
 * data as it was on failure.
 */

/* Who a token names: a subscriber and a list, with the subscription's state. */
struct store_target {
	int64_t	 subscriber;
	char	*email;
	char	*name;		/* NULL when unknown */
	char	*lang;		/* NULL when unknown */
	int64_t	 list;
	char	*list_name;
	char	*list_title;
	char	*optin;		/* "single" or "double" */
	char	*state;		/* subscription: pending, confirmed, unsubscribed; NULL: none */
};
/* -1 with STORE_ENOTFOUND when the subscriber or the list does not exist. */
int	store_target_get(struct store *, int64_t subscriber, int64_t list,
	    struct store_target *, char **cause);
void	store_target_free(struct store_target *);
/*
 * Unsubscribe (any state -> unsubscribed), recording an event
 * "unsubscribe" with source ("web", "one-click", "mailto"); *changed 0
 * when already unsubscribed (a harmless repeat, no new event).
 * Deliveries of that subscriber for issues of that list that are
 * pending or deferred become skipped at once, and so do queued
 * confirmations for that list (a message already handed to SMTP goes
 * out).  STORE_ENOTFOUND when the subscriber, the list or the
 * subscription does not exist.
 */
int	store_web_unsubscribe(struct store *, int64_t subscriber, int64_t list,
	    const char *source, int64_t now, int *changed, char **cause);

enum store_subscribe_outcome {
	STORE_SUBSCRIBE_CONFIRMED,	/* single opt-in: confirmed at once */
	STORE_SUBSCRIBE_QUEUED,		/* pending; a confirmation email is queued */
	STORE_SUBSCRIBE_LIMITED,	/* pending; per-address daily limit reached, nothing queued */
	STORE_SUBSCRIBE_ALREADY		/* already confirmed: nothing changes, nothing sent */
};
/*
 * One transaction: find the list (STORE_ENOTFOUND), find or create the
 * subscriber (email already checked by addr_check; name and lang may be
 * NULL and never overwrite known values of an existing subscriber), then
 * by the list's opt-in mode and the current state: on a single opt-in
 * list, confirmed at once; on a double opt-in list a new, pending or
 * unsubscribed subscription becomes pending and gets a confirmation
 * queued, unless max_per_day (<= 0: no limit) confirmations were
 * already queued for this subscriber (any list) in the 24 hours before
 * now.  Event "subscribe" with source (detail "pending", "pending,
 * limited" or "confirmed"); none for STORE_SUBSCRIBE_ALREADY.
 */
int	store_web_subscribe(struct store *, const char *list, const char *email,
	    const char *name, const char *lang, const char *source, int64_t now,
	    int max_per_day, int *outcome, char **cause);
/*
 * pending -> confirmed (event "confirm" with source); *changed 0 when
 * already confirmed; -1 STORE_EREFUSED when unsubscribed (an old link
 * does not resubscribe), STORE_ENOTFOUND when there is no subscription
 * (or no such subscriber or list).
 */
int	store_web_confirm(struct store *, int64_t subscriber, int64_t list,
	    const char *source, int64_t now, int *changed, char **cause);

/*
 * A bounce that came back by mail (a failure report to the VERP address
 * bounces+TOKEN@...): subscribers.bounces + 1 and event "bounce" with
 * source and detail; at STORE_BOUNCE_LIMIT an active subscriber becomes
 * bounced (event "disable").  STORE_ENOTFOUND when the subscriber or the
 * list is gone.
 */
int	store_web_bounce(struct store *, int64_t subscriber, int64_t list,
	    const char *source, const char *detail, int64_t now, char **cause);

/* A claimed mail-queue message, with what rendering it needs. */
struct store_mailq_msg {
	int64_t			 id;		/* the row: Message-ID */
	char			*kind;		/* "confirm" */
	int64_t			 attempts;	/* before this one */
	int64_t			 created;
	struct store_target	 t;
	char			*from_addr;	/* the list's; NULL: default */
	char			*from_name;
	char			*reply_to;
};
/*
 * In the caller's transaction: take up to max messages due at now
 * (pending, then deferred with next_attempt <= now), oldest first, and
 * mark them sending.  A confirmation whose subscription is no longer
 * pending, or whose subscriber is blocked, is marked skipped instead and
 * does not count against max.  *out is NULL when *n is 0.
 */
int	store_mailq_claim(struct store *, int64_t now, size_t max,
	    struct store_mailq_msg **out, size_t *n, char **cause);
void	store_mailq_msgs_free(struct store_mailq_msg *, size_t);

struct store_mailq_result {
	int64_t		 id;
	const char	*state;		/* sent, deferred, failed */
	long		 code;		/* <= 0: none */
	const char	*reply;
	int64_t		 next_attempt;	/* deferred: when to try again */
	const char	*message_id;
};
/*
 * In the caller's transaction: record results (attempts + 1, code,
 * reply, next_attempt, message_id when not NULL) and count attempts in
 * the attempt log like store_results() does.  Never a bounce.
 * STORE_EINVAL, before any write, for a state other than sent, deferred
 * or failed.
 */
int	store_mailq_results(struct store *, const struct store_mailq_result *,
	    size_t n, int64_t now, char **cause);

/* Mail-queue messages by state, for /metrics and heraldctl. */
struct store_mailq_counts {
	int64_t	pending, sending, sent, deferred, failed, skipped;
};
int	store_mailq_counts(struct store *, struct store_mailq_counts *,
	    char **cause);

#endif
