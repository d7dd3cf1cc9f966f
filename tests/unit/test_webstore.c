/* Unit tests of web subscribe, confirm, unsubscribe and the mail queue. */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
/* Only to look at rows and to force failures. */
#include <sqlite3.h>

#include "store.h"
#include "xmalloc.h"

static char	tmpdir[] = "/tmp/test_webstore.XXXXXX";
static int	dbseq;

#define NOW	1800000000LL

static struct store *
fresh_store(char **pathp)
{
	struct store	*st;
	char		*cause = NULL;

	*pathp = xsprintf("%s/db%d.sqlite", tmpdir, ++dbseq);
	if ((st = store_open(*pathp, &cause)) == NULL)
		fail_msg("store_open: %s", cause);
	return st;
}

static void
mklist(struct store *st, const char *name, const char *optin)
{
	struct store_list	l = { 0 };
	char			*cause = NULL;

	l.name = (char *)name;
	l.title = (char *)"The title";
	l.optin = (char *)optin;
	if (store_list_create(st, &l, "test", &cause) == -1)
		fail_msg("list create: %s", cause);
}

static int
raw_exec(const char *path, const char *sql)
{
	sqlite3	*db;
	int	 rc;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc;
}

static int64_t
raw_int(const char *path, const char *sql)
{
	sqlite3		*db;
	sqlite3_stmt	*s;
	int64_t		 n;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return n;
}

static int64_t
list_id(struct store *st, const char *name)
{
	struct store_list	*l;
	int64_t			 id;

	assert_non_null(l = store_list_get(st, name, NULL));
	id = l->id;
	store_list_free(l);
	return id;
}

static int64_t
subr_id(struct store *st, const char *email)
{
	struct store_subscriber	*s;
	int64_t			 id;

	assert_non_null(s = store_sub_get(st, email, NULL));
	id = s->id;
	store_subscriber_free(s);
	return id;
}

static int
subscribe(struct store *st, const char *list, const char *email,
    const char *name, const char *lang, int64_t now, int max)
{
	char	*cause = NULL;
	int	 out = -1;

	if (store_web_subscribe(st, list, email, name, lang, "web", now, max,
	    &out, &cause) != 0)
		fail_msg("subscribe: %s", cause);
	return out;
}

static char *
state_of(struct store *st, const char *list, const char *email)
{
	struct store_target	 t;
	char			*s;

	assert_int_equal(store_target_get(st, subr_id(st, email),
	    list_id(st, list), &t, NULL), 0);
	s = t.state != NULL ? xstrdup(t.state) : xstrdup("none");
	store_target_free(&t);
	return s;
}

static void
assert_state(struct store *st, const char *list, const char *email,
    const char *want)
{
	char	*s = state_of(st, list, email);

	assert_string_equal(s, want);
	free(s);
}

/* Double opt-in: pending with one confirmation queued per request. */
static void
test_subscribe_double(void **state)
{
	struct store		*st;
	struct store_target	 t;
	char			*path, *cause = NULL;
	int			 out;

	st = fresh_store(&path);
	mklist(st, "news", "double");
	assert_int_equal(subscribe(st, "news", "a@example.org", "Ann", "km",
	    NOW, 3), STORE_SUBSCRIBE_QUEUED);
	assert_state(st, "news", "a@example.org", "pending");
	assert_int_equal(raw_int(path, "SELECT count(*) FROM mailq WHERE"
	    " kind = 'confirm' AND state = 'pending'"), 1);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM events WHERE"
	    " kind = 'subscribe' AND source = 'web' AND detail = 'pending'"),
	    1);
	assert_int_equal(store_target_get(st, subr_id(st, "a@example.org"),
	    list_id(st, "news"), &t, NULL), 0);
	assert_string_equal(t.email, "a@example.org");
	assert_string_equal(t.name, "Ann");
	assert_string_equal(t.lang, "km");
	assert_string_equal(t.list_name, "news");
	assert_string_equal(t.list_title, "The title");
	assert_string_equal(t.optin, "double");
	store_target_free(&t);

	/* A known subscriber keeps their name; an unknown lang is filled. */
	assert_int_equal(subscribe(st, "news", "b@example.org", "Bob", NULL,
	    NOW, 3), STORE_SUBSCRIBE_QUEUED);
	assert_int_equal(subscribe(st, "news", "b@example.org", "Robert",
	    "en", NOW + 1, 3), STORE_SUBSCRIBE_QUEUED);
	assert_int_equal(store_target_get(st, subr_id(st, "b@example.org"),
	    list_id(st, "news"), &t, NULL), 0);
	assert_string_equal(t.name, "Bob");
	assert_string_equal(t.lang, "en");
	store_target_free(&t);

	/* No such list. */
	assert_int_equal(store_web_subscribe(st, "nope", "c@example.org",
	    NULL, NULL, "web", NOW, 3, &out, &cause), -1);
	assert_int_equal(store_errkind(st), STORE_ENOTFOUND);
	assert_non_null(strstr(cause, "nope"));
	free(cause);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM subscribers"
	    " WHERE email = 'c@example.org'"), 0);

	/* Confirmed: nothing changes, nothing queued, no event. */
	assert_int_equal(store_web_confirm(st, subr_id(st, "a@example.org"),
	    list_id(st, "news"), "web", NOW, &out, NULL), 0);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM mailq"), 3);
	assert_int_equal(subscribe(st, "news", "a@example.org", NULL, NULL,
	    NOW, 3), STORE_SUBSCRIBE_ALREADY);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM mailq"), 3);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM events WHERE"
	    " kind = 'subscribe' AND email = 'a@example.org'"), 1);
	store_close(st);
	free(path);
}

/* Single opt-in: confirmed at once, nothing queued. */
static void
test_subscribe_single(void **state)
{
	struct store	*st;
	char		*path;
	int		 changed;

	st = fresh_store(&path);
	mklist(st, "open", "single");
	assert_int_equal(subscribe(st, "open", "a@example.org", NULL, NULL,
	    NOW, 3), STORE_SUBSCRIBE_CONFIRMED);
	assert_state(st, "open", "a@example.org", "confirmed");
	assert_int_equal(subscribe(st, "open", "a@example.org", NULL, NULL,
	    NOW, 3), STORE_SUBSCRIBE_ALREADY);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM mailq"), 0);
	/* After an unsubscribe, a new request subscribes again. */
	assert_int_equal(store_web_unsubscribe(st, subr_id(st,
	    "a@example.org"), list_id(st, "open"), "web", NOW, &changed,
	    NULL), 0);
	assert_int_equal(changed, 1);
	assert_int_equal(subscribe(st, "open", "a@example.org", NULL, NULL,
	    NOW, 3), STORE_SUBSCRIBE_CONFIRMED);
	assert_state(st, "open", "a@example.org", "confirmed");
	store_close(st);
	free(path);
}

/* At most max confirmations a day per address, over every list. */
static void
test_daily_limit(void **state)
{
	struct store	*st;
	char		*path;

	st = fresh_store(&path);
	mklist(st, "one", "double");
	mklist(st, "two", "double");
	assert_int_equal(subscribe(st, "one", "a@example.org", NULL, NULL,
	    NOW, 2), STORE_SUBSCRIBE_QUEUED);
	assert_int_equal(subscribe(st, "one", "a@example.org", NULL, NULL,
	    NOW + 60, 2), STORE_SUBSCRIBE_QUEUED);
	assert_int_equal(subscribe(st, "one", "a@example.org", NULL, NULL,
	    NOW + 120, 2), STORE_SUBSCRIBE_LIMITED);
	assert_int_equal(subscribe(st, "two", "a@example.org", NULL, NULL,
	    NOW + 180, 2), STORE_SUBSCRIBE_LIMITED);
	assert_state(st, "two", "a@example.org", "pending");
	assert_int_equal(raw_int(path, "SELECT count(*) FROM mailq"), 2);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM events WHERE"
	    " detail = 'pending, limited'"), 2);
	/* Another address is not limited by this one. */
	assert_int_equal(subscribe(st, "one", "b@example.org", NULL, NULL,
	    NOW + 120, 2), STORE_SUBSCRIBE_QUEUED);
	/* A day after the first, one more may go. */
	assert_int_equal(subscribe(st, "two", "a@example.org", NULL, NULL,
	    NOW + 86400, 2), STORE_SUBSCRIBE_QUEUED);
	assert_int_equal(subscribe(st, "two", "a@example.org", NULL, NULL,
	    NOW + 86401, 2), STORE_SUBSCRIBE_LIMITED);
	/* 0: no limit. */
	assert_int_equal(subscribe(st, "two", "a@example.org", NULL, NULL,
	    NOW + 86402, 0), STORE_SUBSCRIBE_QUEUED);
	store_close(st);
	free(path);
}

static void
test_confirm(void **state)
{
	struct store	*st;
	char		*path, *cause = NULL;
	int64_t		 a, l;
	int		 changed;

	st = fresh_store(&path);
	mklist(st, "news", "double");
	mklist(st, "other", "double");
	subscribe(st, "news", "a@example.org", NULL, NULL, NOW, 0);
	a = subr_id(st, "a@example.org");
	l = list_id(st, "news");
	assert_int_equal(store_web_confirm(st, a, l, "web", NOW, &changed,
	    NULL), 0);
	assert_int_equal(changed, 1);
	assert_state(st, "news", "a@example.org", "confirmed");
	assert_int_equal(raw_int(path, "SELECT count(*) FROM events WHERE"
	    " kind = 'confirm' AND source = 'web'"), 1);
	assert_int_equal(raw_int(path, "SELECT confirmed FROM subscriptions"),
	    NOW);
	/* A repeat is harmless and writes nothing. */
	assert_int_equal(store_web_confirm(st, a, l, "web", NOW, &changed,
	    NULL), 0);
	assert_int_equal(changed, 0);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM events WHERE"
	    " kind = 'confirm'"), 1);
	/* An old link does not subscribe again after an unsubscribe. */
	assert_int_equal(store_web_unsubscribe(st, a, l, "one-click", NOW,
	    &changed, NULL), 0);
	changed = 7;
	assert_int_equal(store_web_confirm(st, a, l, "web", NOW, &changed,
	    &cause), -1);
	assert_int_equal(store_errkind(st), STORE_EREFUSED);
	assert_int_equal(changed, 0);
	assert_non_null(strstr(cause, "unsubscribed"));
	free(cause);
	assert_state(st, "news", "a@example.org", "unsubscribed");
	/* No subscription, no subscriber, no list. */
	assert_int_equal(store_web_confirm(st, a, list_id(st, "other"), "web",
	    NOW, &changed, &cause), -1);
	assert_int_equal(store_errkind(st), STORE_ENOTFOUND);
	free(cause);
	assert_int_equal(store_web_confirm(st, a + 100, l, "web", NOW,
	    &changed, &cause), -1);
	assert_int_equal(store_errkind(st), STORE_ENOTFOUND);
	free(cause);
	assert_int_equal(store_web_confirm(st, a, l + 100, "web", NOW,
	    &changed, &cause), -1);
	assert_int_equal(store_errkind(st), STORE_ENOTFOUND);
	free(cause);
	store_close(st);
	free(path);
}

/* Unsubscribe from any state; repeats are harmless; queued mail stops. */
static void
test_unsubscribe(void **state)
{
	struct store	*st;
	char		*path, *cause = NULL;
	const char	*was;
	int64_t		 a, b, l, issue, n;
	int		 changed;

	st = fresh_store(&path);
	mklist(st, "news", "double");
	assert_int_equal(store_sub_add(st, "news", "a@example.org", NULL,
	    NULL, NULL, 0, "cli", &was, NULL), 0);
	assert_int_equal(store_sub_add(st, "news", "b@example.org", NULL,
	    NULL, NULL, 0, "cli", &was, NULL), 0);
	a = subr_id(st, "a@example.org");
	b = subr_id(st, "b@example.org");
	l = list_id(st, "news");
	assert_int_equal(store_issue_create(st, "news", "Hello", "default",
	    "subject: Hello\n", 15, 0, NULL, 0, "cli", &issue, &cause), 0);
	assert_int_equal(store_issue_start(st, issue, NOW, &n, &cause), 0);
	assert_int_equal(n, 2);

	assert_int_equal(store_web_unsubscribe(st, a, l, "one-click", NOW,
	    &changed, NULL), 0);
	assert_int_equal(changed, 1);
	assert_state(st, "news", "a@example.org", "unsubscribed");
	/* Their message is not sent any more; the other one is. */
	assert_int_equal(raw_int(path, "SELECT count(*) FROM deliveries WHERE"
	    " state = 'skipped'"), 1);
	assert_int_equal(raw_int(path, "SELECT subscriber_id FROM deliveries"
	    " WHERE state = 'pending'"), b);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM events WHERE"
	    " kind = 'unsubscribe' AND source = 'one-click'"), 1);
	/* A repeat: no change, no event. */
	assert_int_equal(store_web_unsubscribe(st, a, l, "mailto", NOW,
	    &changed, NULL), 0);
	assert_int_equal(changed, 0);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM events WHERE"
	    " kind = 'unsubscribe'"), 1);

	/* A pending subscription's queued confirmation is dropped too. */
	assert_int_equal(subscribe(st, "news", "c@example.org", NULL, NULL,
	    NOW, 0), STORE_SUBSCRIBE_QUEUED);
	assert_int_equal(store_web_unsubscribe(st, subr_id(st,
	    "c@example.org"), l, "web", NOW, &changed, NULL), 0);
	assert_int_equal(changed, 1);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM mailq WHERE"
	    " state = 'skipped'"), 1);

	/* No subscription at all, no such subscriber. */
	mklist(st, "other", "double");
	assert_int_equal(store_web_unsubscribe(st, a, list_id(st, "other"),
	    "web", NOW, &changed, &cause), -1);
	assert_int_equal(store_errkind(st), STORE_ENOTFOUND);
	free(cause);
	assert_int_equal(store_web_unsubscribe(st, 9999, l, "web", NOW,
	    &changed, &cause), -1);
	assert_int_equal(store_errkind(st), STORE_ENOTFOUND);
	free(cause);
	store_close(st);
	free(path);
}

/* A failure half-way leaves every table as it was. */
static void
test_rollback(void **state)
{
	struct store	*st;
	char		*path, *cause = NULL;
	int64_t		 a, l;
	int		 out, changed;

	st = fresh_store(&path);
	mklist(st, "news", "double");
	subscribe(st, "news", "a@example.org", NULL, NULL, NOW, 0);
	a = subr_id(st, "a@example.org");
	l = list_id(st, "news");
	/* The event is written last: make it fail. */
	assert_int_equal(raw_exec(path, "CREATE TRIGGER no_events BEFORE"
	    " INSERT ON events BEGIN SELECT RAISE(ABORT, 'forced'); END;"),
	    SQLITE_OK);
	store_close(st);
	assert_non_null(st = store_open(path, NULL));

	assert_int_equal(store_web_subscribe(st, "news", "new@example.org",
	    "N", "en", "web", NOW, 0, &out, &cause), -1);
	assert_non_null(strstr(cause, "forced"));
	free(cause);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM subscribers"),
	    1);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM subscriptions"),
	    1);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM mailq"), 1);

	assert_int_equal(store_web_confirm(st, a, l, "web", NOW, &changed,
	    &cause), -1);
	free(cause);
	assert_int_equal(changed, 0);
	assert_state(st, "news", "a@example.org", "pending");

	assert_int_equal(store_web_unsubscribe(st, a, l, "web", NOW, &changed,
	    &cause), -1);
	free(cause);
	assert_state(st, "news", "a@example.org", "pending");
	assert_int_equal(raw_int(path, "SELECT count(*) FROM mailq WHERE"
	    " state = 'pending'"), 1);
	store_close(st);
	free(path);
}

/* Claim, results, retries, skips, recovery and counts. */
static void
test_mailq(void **state)
{
	struct store			*st;
	struct store_mailq_msg		*m = NULL;
	struct store_mailq_result	 r;
	struct store_mailq_counts	 c;
	char				*path, *cause = NULL;
	size_t				 n;
	int64_t				 rec;
	int				 changed;

	st = fresh_store(&path);
	mklist(st, "news", "double");
	subscribe(st, "news", "a@example.org", "Ann", "km", NOW, 0);
	subscribe(st, "news", "b@example.org", NULL, NULL, NOW, 0);

	assert_int_equal(store_begin(st, NULL), 0);
	assert_int_equal(store_mailq_claim(st, NOW, 1, &m, &n, &cause), 0);
	assert_int_equal(store_commit(st, NULL), 0);
	assert_int_equal(n, 1);
	assert_string_equal(m[0].kind, "confirm");
	assert_string_equal(m[0].t.email, "a@example.org");
	assert_string_equal(m[0].t.name, "Ann");
	assert_string_equal(m[0].t.lang, "km");
	assert_string_equal(m[0].t.list_name, "news");
	assert_string_equal(m[0].t.state, "pending");
	assert_int_equal(m[0].attempts, 0);
	assert_null(m[0].from_addr);

	/* A 4xx: deferred, not due until its next attempt. */
	memset(&r, 0, sizeof(r));
	r.id = m[0].id;
	r.state = "deferred";
	r.code = 451;
	r.reply = "try later";
	r.next_attempt = NOW + 60;
	r.message_id = "<x@y>";
	assert_int_equal(store_mailq_results(st, &r, 1, NOW, &cause), 0);
	store_mailq_msgs_free(m, n);
	assert_int_equal(store_mailq_counts(st, &c, NULL), 0);
	assert_int_equal(c.deferred, 1);
	assert_int_equal(c.pending, 1);

	/* b, the only one due; then nothing. */
	assert_int_equal(store_mailq_claim(st, NOW + 1, 10, &m, &n, &cause),
	    0);
	assert_int_equal(n, 1);
	assert_string_equal(m[0].t.email, "b@example.org");
	store_mailq_msgs_free(m, n);
	assert_int_equal(store_mailq_claim(st, NOW + 1, 10, &m, &n, &cause),
	    0);
	assert_int_equal(n, 0);
	assert_null(m);

	/* A crash while b is sending: it is pending again. */
	assert_int_equal(store_recover(st, &rec, NULL), 0);
	assert_int_equal(rec, 1);
	assert_int_equal(store_mailq_counts(st, &c, NULL), 0);
	assert_int_equal(c.pending, 1);
	assert_int_equal(c.sending, 0);

	/* b confirmed meanwhile: their confirmation is skipped. */
	assert_int_equal(store_web_confirm(st, subr_id(st, "b@example.org"),
	    list_id(st, "news"), "web", NOW, &changed, NULL), 0);
	/* a is due again and comes with the same row. */
	assert_int_equal(store_mailq_claim(st, NOW + 60, 10, &m, &n, &cause),
	    0);
	assert_int_equal(n, 1);
	assert_string_equal(m[0].t.email, "a@example.org");
	assert_int_equal(m[0].attempts, 1);
	r.id = m[0].id;
	r.state = "sent";
	r.code = 250;
	r.reply = "ok";
	r.next_attempt = 0;
	assert_int_equal(store_mailq_results(st, &r, 1, NOW + 60, &cause), 0);
	store_mailq_msgs_free(m, n);
	assert_int_equal(store_mailq_counts(st, &c, NULL), 0);
	assert_int_equal(c.sent, 1);
	assert_int_equal(c.skipped, 1);
	assert_int_equal(c.pending + c.deferred + c.sending + c.failed, 0);
	assert_int_equal(raw_int(path, "SELECT attempts FROM mailq WHERE"
	    " state = 'sent'"), 2);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM mailq WHERE"
	    " message_id = '<x@y>'"), 1);
	/* Both SMTP exchanges count against the rate limits. */
	assert_int_equal(raw_int(path, "SELECT sum(count) FROM attempt_log"),
	    2);

	/* A bad state is refused before any write. */
	r.state = "bogus";
	assert_int_equal(store_mailq_results(st, &r, 1, NOW, &cause), -1);
	assert_int_equal(store_errkind(st), STORE_EINVAL);
	free(cause);
	store_close(st);
	free(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_subscribe_double),
		cmocka_unit_test(test_subscribe_single),
		cmocka_unit_test(test_daily_limit),
		cmocka_unit_test(test_confirm),
		cmocka_unit_test(test_unsubscribe),
		cmocka_unit_test(test_rollback),
		cmocka_unit_test(test_mailq),
	};
	char	*cmd;
	int	 rv;

	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	rv = cmocka_run_group_tests(tests, NULL, NULL);
	cmd = xsprintf("rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	free(cmd);
	return rv;
}
