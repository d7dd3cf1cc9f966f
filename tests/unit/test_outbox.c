/* Unit tests of the store's issues and outbox against real database files. */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
/* Only to set up states the API reaches through other paths. */
#include <sqlite3.h>

#include "store.h"
#include "xmalloc.h"

static char	tmpdir[] = "/tmp/test_outbox.XXXXXX";
static int	dbseq;

static struct store *
fresh_store(char **pathp)
{
	struct store	*st;
	char		*path, *cause = NULL;

	path = xsprintf("%s/db%d.sqlite", tmpdir, ++dbseq);
	st = store_open(path, &cause);
	if (st == NULL)
		fail_msg("store_open: %s", cause);
	*pathp = path;
	return st;
}

static void
mklist(struct store *st, const char *name)
{
	struct store_list	l = { 0 };
	char			*cause = NULL;

	l.name = (char *)name;
	l.title = (char *)"A title";
	if (store_list_create(st, &l, "test", &cause) == -1)
		fail_msg("list create: %s", cause);
}

static void
mksub(struct store *st, const char *list, const char *email)
{
	struct store_attr	 a[2] = { { "city", "Siem Reap" },
				    { "org", "R2P" } };
	char			*cause = NULL;

	if (store_sub_add(st, list, email, "Dara", "km", a, 2, "test", NULL,
	    &cause) == -1)
		fail_msg("sub add: %s", cause);
}

/* Run SQL on a second connection, as heraldctl would. */
static void
raw_exec(const char *path, const char *sql)
{
	sqlite3	*db;
	char	*err = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s: %s", sql, err);
	sqlite3_close(db);
}

static int64_t
raw_int(const char *path, const char *sql)
{
	sqlite3		*db;
	sqlite3_stmt	*s;
	int64_t		 n;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return n;
}

/* The number of events of kind. */
static size_t
nevents(struct store *st, const char *kind, const char **detail)
{
	static char		 last[256];
	struct store_event	*ev;
	char			*cause = NULL;
	size_t			 n, i, k = 0;

	if (store_events(st, NULL, &ev, &n, &cause) == -1)
		fail_msg("events: %s", cause);
	for (i = 0; i < n; i++) {
		if (strcmp(ev[i].kind, kind) == 0) {
			k++;
			snprintf(last, sizeof(last), "%s",
			    ev[i].detail != NULL ? ev[i].detail : "");
		}
	}
	store_events_free(ev, n);
	if (detail != NULL)
		*detail = last;
	return k;
}

static int64_t
mkissue(struct store *st, const char *list, int64_t send_at)
{
	static const char	 src[] = "subject: Spotlight\n";
	int64_t			 id;
	char			*cause = NULL;

	if (store_issue_create(st, list, "Spotlight on R2P", "bulletin", src,
	    sizeof(src) - 1, send_at, NULL, 0, "cli", &id, &cause) == -1)
		fail_msg("issue create: %s", cause);
	return id;
}

static void
test_issue_roundtrip(void **state)
{
	/* Bytes of every value, NUL included, and an empty file. */
	static const unsigned char	 png[] = { 0x89, 'P', 'N', 'G', 0, 0xff,
					    '\r', '\n', 0x1a, 0 };
	static const char		 src[] = "subject: សួស្តី\n\0tail";
	struct store_file		 files[3] = {
		{ "img/logo.png", "image/png", (unsigned char *)png,
		    sizeof(png) },
		{ "report.pdf", "application/pdf", (unsigned char *)"%PDF",
		    4 },
		{ "empty.txt", "text/plain", NULL, 0 },
	};
	struct store			*st;
	struct store_issue		*v, *all;
	struct store_file		*f;
	size_t				 nf, n;
	int64_t				 id, id2;
	char				*path, *cause = NULL;
	const char			*detail;

	st = fresh_store(&path);
	mklist(st, "news");
	mklist(st, "other");
	assert_int_equal(store_issue_create(st, "news", "សួស្តី Cambodia",
	    "bulletin", src, sizeof(src) - 1, 1000, files, 3, "cli", &id,
	    &cause), 0);
	assert_int_equal(nevents(st, "queue", &detail), 1);
	assert_non_null(strstr(detail, "សួស្តី Cambodia"));
	v = store_issue_load(st, id, &f, &nf, &cause);
	assert_non_null(v);
	assert_string_equal(v->list, "news");
	assert_string_equal(v->subject, "សួស្តី Cambodia");
	assert_string_equal(v->template, "bulletin");
	assert_string_equal(v->state, "queued");
	assert_null(v->note);
	assert_int_equal(v->send_at, 1000);
	assert_true(v->created > 0);
	assert_int_equal(v->started, 0);
	assert_int_equal(v->source_len, sizeof(src) - 1);
	assert_memory_equal(v->source, src, sizeof(src) - 1);
	assert_int_equal(nf, 3);
	assert_string_equal(f[0].name, "img/logo.png");
	assert_string_equal(f[0].mime_type, "image/png");
	assert_int_equal(f[0].len, sizeof(png));
	assert_memory_equal(f[0].data, png, sizeof(png));
	assert_int_equal(f[1].len, 4);
	assert_memory_equal(f[1].data, "%PDF", 4);
	assert_int_equal(f[2].len, 0);
	store_files_free(f, nf);
	store_issue_free(v);
	/* _get has no source. */
	v = store_issue_get(st, id, &cause);
	assert_non_null(v);
	assert_null(v->source);
	store_issue_free(v);

	/* Newest first; filtered by list. */
	id2 = mkissue(st, "other", 2000);
	all = store_issue_all(st, NULL, &n, &cause);
	assert_non_null(all);
	assert_int_equal(n, 2);
	assert_int_equal(all[0].id, id2);
	assert_int_equal(all[1].id, id);
	store_issue_free_array(all, n);
	all = store_issue_all(st, "news", &n, &cause);
	assert_int_equal(n, 1);
	assert_int_equal(all[0].id, id);
	store_issue_free_array(all, n);
	assert_null(store_issue_all(st, "nope", &n, &cause));
	assert_int_equal(store_errkind(st), STORE_ENOTFOUND);
	free(cause);

	/* No such list, issue; a file twice; a subject of two lines. */
	assert_int_equal(store_issue_create(st, "nope", "S", "t", "x", 1, 0,
	    NULL, 0, "cli", &id2, &cause), -1);
	assert_int_equal(store_errkind(st), STORE_ENOTFOUND);
	assert_non_null(strstr(cause, "nope"));
	free(cause);
	assert_null(store_issue_get(st, 999, &cause));
	assert_int_equal(store_errkind(st), STORE_ENOTFOUND);
	assert_string_equal(cause, "issue 999: no such issue");
	free(cause);
	files[1].name = files[0].name;
	assert_int_equal(store_issue_create(st, "news", "S", "t", "x", 1, 0,
	    files, 2, "cli", &id2, &cause), -1);
	assert_int_equal(store_errkind(st), STORE_EEXIST);
	assert_non_null(strstr(cause, "img/logo.png"));
	free(cause);
	assert_int_equal(store_issue_create(st, "news", "S\r\nBcc: x", "t",
	    "x", 1, 0, NULL, 0, "cli", &id2, &cause), -1);
	assert_int_equal(store_errkind(st), STORE_EINVAL);
	free(cause);
	store_close(st);
	/* The failed ones left nothing behind. */
	assert_int_equal(raw_int(path, "SELECT count(*) FROM issues"), 2);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM issue_files"), 3);
	free(path);
}

static void
test_transition(void **state)
{
	struct store		*st;
	struct store_issue	*v;
	int64_t			 id;
	char			*path, *cause = NULL;
	const char		*detail;

	st = fresh_store(&path);
	mklist(st, "news");
	id = mkissue(st, "news", 0);
	/* queued is not sending or paused. */
	assert_int_equal(store_issue_transition(st, id, "sending,paused",
	    "cancelled", NULL, "cli", &cause), -1);
	assert_int_equal(store_errkind(st), STORE_EREFUSED);
	assert_string_equal(cause, "issue 1 is queued, not sending or paused");
	free(cause);
	assert_int_equal(store_issue_transition(st, 42, "queued", "paused",
	    NULL, "cli", &cause), -1);
	assert_int_equal(store_errkind(st), STORE_ENOTFOUND);
	free(cause);
	assert_int_equal(store_issue_transition(st, id, "queued", "lost",
	    NULL, "cli", &cause), -1);
	assert_int_equal(store_errkind(st), STORE_EINVAL);
	free(cause);
	assert_int_equal(store_issue_transition(st, id, "queued,sending",
	    "paused", "waiting for the photos", "cli", &cause), 0);
	v = store_issue_get(st, id, &cause);
	assert_string_equal(v->state, "paused");
	assert_string_equal(v->note, "waiting for the photos");
	store_issue_free(v);
	assert_int_equal(nevents(st, "pause", &detail), 1);
	assert_non_null(strstr(detail, "waiting for the photos"));
	/* Resuming clears the note. */
	assert_int_equal(store_issue_transition(st, id, "paused", "sending",
	    NULL, "cli", &cause), 0);
	assert_int_equal(nevents(st, "resume", NULL), 1);
	v = store_issue_get(st, id, &cause);
	assert_string_equal(v->state, "sending");
	assert_null(v->note);
	assert_int_equal(v->finished, 0);
	store_issue_free(v);
	assert_int_equal(store_issue_transition(st, id, "sending,paused",
	    "cancelled", NULL, "cli", &cause), 0);
	assert_int_equal(nevents(st, "cancel", NULL), 1);
	v = store_issue_get(st, id, &cause);
	assert_string_equal(v->state, "cancelled");
	assert_true(v->finished > 0);
	store_issue_free(v);
	/* Cancelled is final for these rules. */
	assert_int_equal(store_issue_transition(st, id, "paused", "sending",
	    NULL, "cli", &cause), -1);
	assert_int_equal(store_errkind(st), STORE_EREFUSED);
	assert_string_equal(cause, "issue 1 is cancelled, not paused");
	free(cause);
	store_close(st);
	free(path);
}

/*
 * news: a, b, c confirmed and active; d pending; e unsubscribed; f
 * bounced; g confirmed on another list only.
 */
static struct store *
outbox_setup(char **path, int64_t *id)
{
	struct store	*st;
	char		*cause = NULL;

	st = fresh_store(path);
	mklist(st, "news");
	mklist(st, "other");
	mksub(st, "news", "a@example.org");
	mksub(st, "news", "b@example.org");
	mksub(st, "news", "c@example.org");
	mksub(st, "news", "d@example.org");
	mksub(st, "news", "e@example.org");
	mksub(st, "news", "f@example.org");
	mksub(st, "other", "g@example.org");
	if (store_sub_remove(st, "news", "e@example.org", "test", NULL,
	    &cause) == -1)
		fail_msg("%s", cause);
	raw_exec(*path, "UPDATE subscriptions SET state = 'pending'"
	    " WHERE subscriber_id = (SELECT id FROM subscribers"
	    " WHERE email = 'd@example.org');"
	    "UPDATE subscribers SET state = 'bounced'"
	    " WHERE email = 'f@example.org'");
	*id = mkissue(st, "news", 100);
	return st;
}

static void
test_start(void **state)
{
	struct store		*st;
	struct store_issue	*v;
	int64_t			 id, n, *ids;
	size_t			 nids;
	char			*path, *cause = NULL;

	st = outbox_setup(&path, &id);
	/* Due only once send_at has come. */
	assert_int_equal(store_issues_due(st, 99, &ids, &nids, &cause), 0);
	assert_int_equal(nids, 0);
	assert_int_equal(store_issues_due(st, 100, &ids, &nids, &cause), 0);
	assert_int_equal(nids, 1);
	assert_int_equal(ids[0], id);
	free(ids);
	assert_int_equal(store_issue_start(st, id, 100, &n, &cause), 0);
	assert_int_equal(n, 3);
	assert_int_equal(raw_int(path, "SELECT group_concat(s.email)"
	    " = 'a@example.org,b@example.org,c@example.org'"
	    " FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id"
	    " WHERE d.state = 'pending' AND d.attempts = 0"
	    " ORDER BY s.email"), 1);
	v = store_issue_get(st, id, &cause);
	assert_string_equal(v->state, "sending");
	assert_int_equal(v->started, 100);
	assert_int_equal(v->n_pending, 3);
	store_issue_free(v);
	assert_int_equal(store_issues_sending(st, &ids, &nids, &cause), 0);
	assert_int_equal(nids, 1);
	free(ids);
	assert_int_equal(store_issues_due(st, 100, &ids, &nids, &cause), 0);
	assert_int_equal(nids, 0);
	/* Only once. */
	assert_int_equal(store_issue_start(st, id, 101, &n, &cause), -1);
	assert_int_equal(store_errkind(st), STORE_EREFUSED);
	free(cause);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM deliveries"), 3);
	store_close(st);
	free(path);
}

static void
test_claim(void **state)
{
	struct store		*st;
	struct store_claim	*c;
	struct store_issue	*v;
	size_t			 n;
	int64_t			 id, k, first;
	char			*path, *cause = NULL;

	st = outbox_setup(&path, &id);
	assert_int_equal(store_issue_start(st, id, 100, &k, &cause), 0);
	/* b leaves after the snapshot. */
	assert_int_equal(store_sub_remove(st, "news", "b@example.org", "test",
	    NULL, &cause), 0);
	/* Max 1: a only. */
	assert_int_equal(store_begin(st, &cause), 0);
	assert_int_equal(store_claim(st, id, 200, 1, &c, &n, &cause), 0);
	assert_int_equal(store_commit(st, &cause), 0);
	assert_int_equal(n, 1);
	assert_string_equal(c[0].email, "a@example.org");
	assert_string_equal(c[0].name, "Dara");
	assert_string_equal(c[0].lang, "km");
	assert_int_equal(c[0].attempts, 0);
	assert_int_equal(c[0].nattrs, 2);
	assert_string_equal(c[0].attrs[0].key, "city");
	assert_string_equal(c[0].attrs[0].val, "Siem Reap");
	assert_string_equal(c[0].attrs[1].key, "org");
	first = c[0].delivery_id;
	store_claim_free(c, n);
	/* Then b is skipped and c taken; a is not returned again. */

	assert_int_equal(store_claim(st, id, 200, 16, &c, &n, &cause), 0);
	assert_int_equal(n, 1);
	assert_string_equal(c[0].email, "c@example.org");
	assert_int_not_equal(c[0].delivery_id, first);
	store_claim_free(c, n);
	assert_int_equal(store_claim(st, id, 200, 16, &c, &n, &cause), 0);
	assert_int_equal(n, 0);
	assert_null(c);
	v = store_issue_get(st, id, &cause);
	assert_int_equal(v->n_sending, 2);
	assert_int_equal(v->n_skipped, 1);
	assert_int_equal(v->n_pending, 0);
	store_issue_free(v);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM deliveries d"
	    " JOIN subscribers s ON s.id = d.subscriber_id"
	    " WHERE s.email = 'b@example.org' AND d.state = 'skipped'"
	    " AND d.last_reply = 'unsubscribed before sending'"
	    " AND d.attempts = 0"), 1);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM deliveries"
	    " WHERE state = 'sending' AND first_attempt = 200"), 2);

	/* A deferred one comes back only once it is due. */
	raw_exec(path, "UPDATE deliveries SET state = 'deferred',"
	    " next_attempt = 500, attempts = 1 WHERE state = 'sending'");
	assert_int_equal(store_claim(st, id, 499, 16, &c, &n, &cause), 0);
	assert_int_equal(n, 0);
	raw_exec(path, "UPDATE deliveries SET next_attempt = 400"
	    " WHERE id = (SELECT max(id) FROM deliveries"
	    " WHERE state = 'deferred')");
	assert_int_equal(store_claim(st, id, 499, 16, &c, &n, &cause), 0);
	assert_int_equal(n, 1);
	assert_string_equal(c[0].email, "c@example.org");
	assert_int_equal(c[0].attempts, 1);
	store_claim_free(c, n);
	assert_int_equal(store_claim(st, id, 500, 16, &c, &n, &cause), 0);
	assert_int_equal(n, 1);
	assert_string_equal(c[0].email, "a@example.org");
	store_claim_free(c, n);
	/* first_attempt keeps the first claim. */
	assert_int_equal(raw_int(path, "SELECT count(*) FROM deliveries"
	    " WHERE state = 'sending' AND first_attempt = 200"), 2);
	/* A paused issue gives nothing, though its deliveries are due. */
	raw_exec(path, "UPDATE deliveries SET state = 'pending'"
	    " WHERE state = 'sending'");
	assert_int_equal(store_issue_transition(st, id, "sending", "paused",
	    NULL, "cli", &cause), 0);
	assert_int_equal(store_claim(st, id, 600, 16, &c, &n, &cause), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_issue_transition(st, id, "paused", "sending",
	    NULL, "cli", &cause), 0);
	assert_int_equal(store_claim(st, id, 600, 16, &c, &n, &cause), 0);
	assert_int_equal(n, 2);
	store_claim_free(c, n);
	store_close(st);
	free(path);
}

static void
test_results(void **state)
{
	struct store		*st;
	struct store_claim	*c;
	struct store_result	 r[3];
	struct store_subscriber	*s;
	size_t			 n, i, round;
	int64_t			 id, k, *secs, *counts;
	char			*path, *cause = NULL, sql[160];
	const char		*detail;

	st = outbox_setup(&path, &id);
	assert_int_equal(store_issue_start(st, id, 100, &k, &cause), 0);
	assert_int_equal(store_claim(st, id, 200, 16, &c, &n, &cause), 0);
	assert_int_equal(n, 3);
	memset(r, 0, sizeof(r));
	for (i = 0; i < 3; i++) {
		r[i].delivery_id = c[i].delivery_id;
		r[i].subscriber_id = c[i].subscriber_id;
		r[i].list = "news";
		r[i].email = c[i].email;
	}
	r[0].state = "sent";
	r[0].code = 250;
	r[0].reply = "2.0.0 Ok: queued";
	r[0].message_id = "<1.1@example.org>";
	r[1].state = "deferred";
	r[1].code = 451;
	r[1].reply = "4.3.0 try again";
	r[1].next_attempt = 260;
	r[2].state = "failed";
	r[2].code = 550;
	r[2].reply = "5.1.1 no such user";
	r[2].bounce = 1;
	assert_int_equal(store_begin(st, &cause), 0);
	assert_int_equal(store_results(st, r, 3, 201, &cause), 0);
	assert_int_equal(store_commit(st, &cause), 0);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM deliveries"
	    " WHERE state = 'sent' AND attempts = 1 AND last_code = 250"
	    " AND message_id = '<1.1@example.org>' AND updated = 201"), 1);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM deliveries"
	    " WHERE state = 'deferred' AND attempts = 1 AND last_code = 451"
	    " AND next_attempt = 260 AND last_reply = '4.3.0 try again'"), 1);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM deliveries"
	    " WHERE state = 'failed' AND last_code = 550"), 1);
	assert_int_equal(nevents(st, "bounce", &detail), 1);
	assert_string_equal(detail, "550 5.1.1 no such user");
	s = store_sub_get(st, c[2].email, &cause);
	assert_string_equal(s->state, "active");
	store_subscriber_free(s);
	/* Three attempts in second 201. */
	assert_int_equal(store_attempt_log(st, 0, &secs, &counts, &n,
	    &cause), 0);
	assert_int_equal(n, 1);
	assert_int_equal(secs[0], 201);
	assert_int_equal(counts[0], 3);
	free(secs);
	free(counts);

	/* Bounces up to the limit disable the subscriber, once. */
	for (round = 1; round < STORE_BOUNCE_LIMIT; round++) {
		r[2].state = "failed";
		assert_int_equal(store_results(st, &r[2], 1, 201 + round,
		    &cause), 0);
		s = store_sub_get(st, c[2].email, &cause);
		assert_string_equal(s->state, round + 1 < STORE_BOUNCE_LIMIT ?
		    "active" : "bounced");
		store_subscriber_free(s);
	}
	assert_int_equal(nevents(st, "bounce", NULL), STORE_BOUNCE_LIMIT);
	assert_int_equal(nevents(st, "disable", &detail), 1);
	assert_non_null(strstr(detail, "3 hard bounces"));
	assert_int_equal(store_results(st, &r[2], 1, 300, &cause), 0);
	assert_int_equal(nevents(st, "disable", NULL), 1);
	/* A result with no SMTP exchange (connection refused) is no attempt. */
	r[1].code = 0;
	r[1].reply = "connection refused";
	assert_int_equal(store_results(st, &r[1], 1, 301, &cause), 0);
	assert_int_equal(store_attempt_log(st, 300, &secs, &counts, &n,
	    &cause), 0);
	assert_int_equal(n, 1);
	assert_int_equal(secs[0], 300);
	free(secs);
	free(counts);
	/* A delivery removed meanwhile is passed over, the batch kept. */
	r[0].delivery_id = 9999;
	r[0].bounce = 1;
	assert_int_equal(store_results(st, r, 2, 303, &cause), 0);
	assert_int_equal(nevents(st, "bounce", NULL), STORE_BOUNCE_LIMIT + 1);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM deliveries"
	    " WHERE updated = 303"), 1);
	/* Counts older than two days go. */
	assert_int_equal(store_results(st, &r[1], 1, 301 + 3 * 86400,
	    &cause), 0);
	assert_int_equal(store_attempt_log(st, 0, &secs, &counts, &n,
	    &cause), 0);
	assert_int_equal(n, 0);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM attempt_log"), 0);
	/* pending puts a claimed, unsent message back: no attempt counted,
	 * and only while it is still sending. */
	snprintf(sql, sizeof(sql), "UPDATE deliveries SET state ="
	    " 'sending' WHERE id = %lld RETURNING attempts",
	    (long long)c[0].delivery_id);
	assert_int_equal(raw_int(path, sql), 1);
	r[0].delivery_id = c[0].delivery_id;
	r[0].bounce = 0;
	r[0].state = "pending";
	assert_int_equal(store_results(st, r, 1, 304, &cause), 0);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM deliveries"
	    " WHERE state = 'pending' AND attempts = 1 AND updated = 304"), 1);
	assert_int_equal(store_results(st, r, 1, 305, &cause), 0);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM deliveries"
	    " WHERE updated = 305"), 0);
	/* A bad state is refused before anything is written. */
	r[0].state = "lost";
	assert_int_equal(store_results(st, r, 1, 302, &cause), -1);
	assert_int_equal(store_errkind(st), STORE_EINVAL);
	free(cause);
	store_claim_free(c, 3);
	store_close(st);
	free(path);
}

static void
test_finish_recover_retry(void **state)
{
	struct store		*st;
	struct store_claim	*c;
	struct store_result	 r[3];
	struct store_issue	*v;
	size_t			 n, i;
	int64_t			 id, k;
	int			 done;
	char			*path, *cause = NULL;

	st = outbox_setup(&path, &id);
	/* Not sending yet: not finished. */
	assert_int_equal(store_issue_finish(st, id, 150, &done, &cause), 0);
	assert_int_equal(done, 0);
	assert_int_equal(store_issue_retry(st, id, 150, &k, &cause), -1);
	assert_int_equal(store_errkind(st), STORE_EREFUSED);
	free(cause);
	assert_int_equal(store_issue_start(st, id, 100, &k, &cause), 0);
	assert_int_equal(store_claim(st, id, 200, 2, &c, &n, &cause), 0);
	assert_int_equal(n, 2);
	/* A crash: the two in flight go back to pending. */
	assert_int_equal(store_recover(st, &k, &cause), 0);
	assert_int_equal(k, 2);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM deliveries"
	    " WHERE state = 'pending'"), 3);
	store_claim_free(c, n);
	assert_int_equal(store_claim(st, id, 200, 16, &c, &n, &cause), 0);
	assert_int_equal(n, 3);
	memset(r, 0, sizeof(r));
	for (i = 0; i < 3; i++) {
		r[i].delivery_id = c[i].delivery_id;
		r[i].subscriber_id = c[i].subscriber_id;
		r[i].state = "sent";
		r[i].code = 250;
	}
	r[2].state = "deferred";
	r[2].code = 421;
	r[2].next_attempt = 300;
	assert_int_equal(store_results(st, r, 3, 201, &cause), 0);
	assert_int_equal(store_issue_finish(st, id, 202, &done, &cause), 0);
	assert_int_equal(done, 0);
	r[2].state = "failed";
	r[2].code = 554;
	assert_int_equal(store_results(st, &r[2], 1, 301, &cause), 0);
	assert_int_equal(store_issue_finish(st, id, 302, &done, &cause), 0);
	assert_int_equal(done, 1);
	assert_int_equal(nevents(st, "finish", NULL), 1);
	v = store_issue_get(st, id, &cause);
	assert_string_equal(v->state, "sent");
	assert_int_equal(v->finished, 302);
	assert_int_equal(v->n_sent, 2);
	assert_int_equal(v->n_failed, 1);
	store_issue_free(v);
	/* Retry: the failed one is pending again, the issue sending. */
	assert_int_equal(store_issue_retry(st, id, 400, &k, &cause), 0);
	assert_int_equal(k, 1);
	assert_int_equal(nevents(st, "retry", NULL), 1);
	v = store_issue_get(st, id, &cause);
	assert_string_equal(v->state, "sending");
	assert_int_equal(v->finished, 0);
	assert_int_equal(v->n_pending, 1);
	assert_int_equal(v->n_failed, 0);
	store_issue_free(v);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM deliveries"
	    " WHERE state = 'pending' AND attempts = 2 AND last_code = 554"
	    " AND next_attempt = 0"), 1);
	assert_int_equal(store_issue_finish(st, id, 401, &done, &cause), 0);
	assert_int_equal(done, 0);
	/* Cancelled: no retry. */
	assert_int_equal(store_issue_transition(st, id, "sending", "cancelled",
	    NULL, "cli", &cause), 0);
	assert_int_equal(store_issue_retry(st, id, 402, &k, &cause), -1);
	assert_int_equal(store_errkind(st), STORE_EREFUSED);
	assert_non_null(strstr(cause, "cancelled"));
	free(cause);
	store_claim_free(c, n);
	store_close(st);
	free(path);
}

static void
test_data_version(void **state)
{
	struct store	*st;
	int64_t		 v;
	char		*path;

	st = fresh_store(&path);
	v = store_data_version(st);
	assert_true(v >= 0);
	assert_int_equal(store_data_version(st), v);
	/* Another connection's commit changes it. */
	raw_exec(path, "INSERT INTO lists (name, title, created)"
	    " VALUES ('x', 'X', 0)");
	assert_int_not_equal(store_data_version(st), v);
	store_close(st);
	free(path);
}

static double
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Claims of 16 stay cheap with 100,000 deliveries in the outbox. */
static void
test_claim_load(void **state)
{
	struct store		*st;
	struct store_claim	*c;
	struct store_result	 r[16];
	struct store_issue	*v;
	size_t			 n, i, round, total = 0;
	int64_t			 id, k, seen_max = 0;
	double			 t0, worst = 0, sum = 0, t, get_ms;
	char			*path, *cause = NULL;

	st = fresh_store(&path);
	mklist(st, "big");
	raw_exec(path, "BEGIN;"
	    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c"
	    " WHERE x < 100000)"
	    " INSERT INTO subscribers (email, name, attrs, created, updated)"
	    " SELECT 'u' || x || '@example.org', 'U' || x,"
	    " '{\"n\":\"' || x || '\"}', 0, 0 FROM c;"
	    "INSERT INTO subscriptions (list_id, subscriber_id, state, source,"
	    " created, updated) SELECT 1, id, 'confirmed', 'x', 0, 0"
	    " FROM subscribers;"
	    "COMMIT");
	id = mkissue(st, "big", 0);
	t0 = now_ms();
	assert_int_equal(store_issue_start(st, id, 10, &k, &cause), 0);
	print_message("start: %lld recipients in %.0f ms\n", (long long)k,
	    now_ms() - t0);
	assert_int_equal(k, 100000);
	/* Some deferred ones due, to exercise both arms. */
	raw_exec(path, "UPDATE deliveries SET state = 'deferred',"
	    " next_attempt = 5 WHERE id % 1000 = 0");
	memset(r, 0, sizeof(r));
	for (round = 0; round < 200; round++) {
		/* The claim itself; the commit's fsync is the disk's. */
		assert_int_equal(store_begin(st, &cause), 0);
		t0 = now_ms();
		assert_int_equal(store_claim(st, id, 20, 16, &c, &n, &cause),
		    0);
		t = now_ms() - t0;
		assert_int_equal(store_commit(st, &cause), 0);
		sum += t;
		if (t > worst)
			worst = t;
		assert_int_equal(n, 16);
		for (i = 0; i < n; i++) {
			/* Ids grow: nothing claimed twice. */
			assert_true(c[i].delivery_id > seen_max);
			seen_max = c[i].delivery_id;
			assert_int_equal(c[i].nattrs, 1);
			r[i].delivery_id = c[i].delivery_id;
			r[i].subscriber_id = c[i].subscriber_id;
			r[i].state = "sent";
			r[i].code = 250;
		}
		total += n;
		assert_int_equal(store_begin(st, &cause), 0);
		assert_int_equal(store_results(st, r, n, 20, &cause), 0);
		assert_int_equal(store_commit(st, &cause), 0);
		store_claim_free(c, n);
	}
	print_message("claim of 16 over 100,000: mean %.3f ms, worst %.2f ms\n",
	    sum / 200, worst);
	assert_true(worst < 50);
	t0 = now_ms();
	v = store_issue_get(st, id, &cause);
	get_ms = now_ms() - t0;
	print_message("issue counts over 100,000: %.2f ms\n", get_ms);
	assert_int_equal(v->n_sent, total);
	assert_int_equal(v->n_pending + v->n_deferred, 100000 - total);
	store_issue_free(v);
	assert_true(get_ms < 500);
	store_close(st);
	free(path);
}

static int
cleanup(void **state)
{
	char	*cmd = xsprintf("rm -rf '%s'", tmpdir);
	int	 rc = system(cmd);

	free(cmd);
	return rc == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_issue_roundtrip),
		cmocka_unit_test(test_transition),
		cmocka_unit_test(test_start),
		cmocka_unit_test(test_claim),
		cmocka_unit_test(test_results),
		cmocka_unit_test(test_finish_recover_retry),
		cmocka_unit_test(test_data_version),
		cmocka_unit_test(test_claim_load),
	};

	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, cleanup);
}
