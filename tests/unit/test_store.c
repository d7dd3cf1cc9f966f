/* Unit tests of the SQLite store against real database files. */
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
/* Only to forge databases the store must refuse. */
#include <sqlite3.h>

#include "buf.h"
#include "json.h"
#include "store.h"
#include "subcsv.h"
#include "xmalloc.h"

static char	tmpdir[] = "/tmp/test_store.XXXXXX";
static int	dbseq;

/* A fresh database path in the test's temporary directory. */
static char *
fresh_path(void)
{
	return xsprintf("%s/db%d.sqlite", tmpdir, ++dbseq);
}

static struct store *
fresh_store(char **pathp)
{
	struct store	*st;
	char		*path = fresh_path(), *cause = NULL;

	st = store_open(path, &cause);
	if (st == NULL)
		fail_msg("store_open: %s", cause);
	if (pathp != NULL)
		*pathp = path;
	else
		free(path);
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

/* Run one SQL statement directly; returns the sqlite3 result code. */
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

static int
raw_count(const char *path, const char *sql)
{
	sqlite3		*db;
	sqlite3_stmt	*s;
	int		 n;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	n = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return n;
}

static void
test_migrate_empty(void **state)
{
	struct store	*st;
	char		*path;

	st = fresh_store(&path);
	assert_int_equal(store_schema_version(st), STORE_SCHEMA_VERSION);
	store_close(st);
	/* Every table of the data model is there. */
	assert_int_equal(raw_count(path, "SELECT count(*) FROM sqlite_master"
	    " WHERE type = 'table' AND name IN ('lists', 'subscribers',"
	    " 'subscriptions', 'issues', 'issue_files', 'deliveries',"
	    " 'events', 'attempt_log')"), 8);
	assert_int_equal(raw_count(path, "SELECT count(*) FROM sqlite_master"
	    " WHERE type = 'index' AND name = 'deliveries_due'"), 1);
	/* Opening again is a no-op. */
	st = store_open(path, NULL);
	assert_non_null(st);
	assert_int_equal(store_schema_version(st), STORE_SCHEMA_VERSION);
	store_close(st);
	free(path);
}

/*
 * The schema of version 1 as it shipped (a frozen copy of migration 1),
 * to build the database an older herald left behind.
 */
static const char v1_schema[] =
	"CREATE TABLE lists ("
	" id INTEGER PRIMARY KEY,"
	" name TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 64"
	"  AND name GLOB '[a-z0-9]*' AND name NOT GLOB '*[^a-z0-9-]*'),"
	" title TEXT NOT NULL,"
	" from_addr TEXT,"
	" from_name TEXT,"
	" reply_to TEXT,"
	" optin TEXT NOT NULL DEFAULT 'double'"
	"  CHECK (optin IN ('single', 'double')),"
	" created INTEGER NOT NULL"
	");"
	"CREATE TABLE subscribers ("
	" id INTEGER PRIMARY KEY,"
	" email TEXT NOT NULL UNIQUE CHECK (email LIKE '_%@_%'),"
	" name TEXT,"
	" lang TEXT,"
	" attrs TEXT NOT NULL DEFAULT '{}'"
	"  CHECK (json_type(attrs) = 'object'),"
	" state TEXT NOT NULL DEFAULT 'active'"
	"  CHECK (state IN ('active', 'bounced', 'blocked')),"
	" bounces INTEGER NOT NULL DEFAULT 0,"
	" created INTEGER NOT NULL,"
	" updated INTEGER NOT NULL"
	");"
	"CREATE TABLE subscriptions ("
	" list_id INTEGER NOT NULL REFERENCES lists(id) ON DELETE CASCADE,"
	" subscriber_id INTEGER NOT NULL"
	"  REFERENCES subscribers(id) ON DELETE CASCADE,"
	" state TEXT NOT NULL"
	"  CHECK (state IN ('pending', 'confirmed', 'unsubscribed')),"
	" source TEXT NOT NULL,"
	" created INTEGER NOT NULL,"
	" updated INTEGER NOT NULL,"
	" confirmed INTEGER,"
	" PRIMARY KEY (list_id, subscriber_id)"
	") WITHOUT ROWID;"
	"CREATE INDEX subscriptions_subscriber ON subscriptions(subscriber_id);"
	"CREATE TABLE issues ("
	" id INTEGER PRIMARY KEY,"
	" list_id INTEGER NOT NULL REFERENCES lists(id) ON DELETE CASCADE,"
	" subject TEXT NOT NULL,"
	" source TEXT NOT NULL,"
	" template TEXT NOT NULL,"
	" send_at INTEGER NOT NULL,"
	" state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN"
	"  ('queued', 'sending', 'paused', 'sent', 'cancelled')),"
	" created INTEGER NOT NULL,"
	" started INTEGER,"
	" finished INTEGER"
	");"
	"CREATE INDEX issues_due ON issues(state, send_at);"
	"CREATE INDEX issues_list ON issues(list_id, state);"
	"CREATE TABLE issue_files ("
	" id INTEGER PRIMARY KEY,"
	" issue_id INTEGER NOT NULL REFERENCES issues(id) ON DELETE CASCADE,"
	" name TEXT NOT NULL,"
	" mime_type TEXT NOT NULL,"
	" data BLOB NOT NULL,"
	" UNIQUE (issue_id, name)"
	");"
	"CREATE TABLE deliveries ("
	" id INTEGER PRIMARY KEY,"
	" issue_id INTEGER NOT NULL REFERENCES issues(id) ON DELETE CASCADE,"
	" subscriber_id INTEGER NOT NULL"
	"  REFERENCES subscribers(id) ON DELETE CASCADE,"
	" state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN"
	"  ('pending', 'sending', 'sent', 'deferred', 'failed')),"
	" attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),"
	" next_attempt INTEGER NOT NULL DEFAULT 0,"
	" last_code INTEGER,"
	" last_reply TEXT,"
	" message_id TEXT,"
	" updated INTEGER NOT NULL,"
	" UNIQUE (issue_id, subscriber_id)"
	");"
	"CREATE INDEX deliveries_due"
	" ON deliveries(issue_id, state, next_attempt);"
	"CREATE INDEX deliveries_subscriber ON deliveries(subscriber_id);"
	"CREATE TABLE events ("
	" id INTEGER PRIMARY KEY,"
	" time INTEGER NOT NULL,"
	" kind TEXT NOT NULL"
	"  CHECK (kind GLOB '[a-z]*' AND kind NOT GLOB '*[^a-z-]*'),"
	" list TEXT,"
	" email TEXT,"
	" source TEXT NOT NULL,"
	" detail TEXT"
	");"
	"CREATE TRIGGER events_no_update BEFORE UPDATE ON events"
	" BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;"
	"CREATE TRIGGER events_no_delete BEFORE DELETE ON events"
	" BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;";

static void
test_migrate_v1_data(void **state)
{
	struct store	*st;
	char		*path = fresh_path(), *cause = NULL;

	assert_int_equal(raw_exec(path, v1_schema), SQLITE_OK);
	assert_int_equal(raw_exec(path, "PRAGMA foreign_keys = ON;"
	    "INSERT INTO lists (id, name, title, created)"
	    " VALUES (1, 'news', 'News', 10);"
	    "INSERT INTO subscribers (id, email, created, updated)"
	    " VALUES (7, 'a@example.org', 10, 10),"
	    " (8, 'b@example.org', 10, 10);"
	    "INSERT INTO issues (id, list_id, subject, source, template,"
	    " send_at, state, created, started)"
	    " VALUES (3, 1, 'Hello', 'subject: Hello', 'plain', 20,"
	    " 'sending', 15, 20);"
	    "INSERT INTO deliveries (id, issue_id, subscriber_id, state,"
	    " attempts, next_attempt, last_code, last_reply, message_id,"
	    " updated) VALUES (40, 3, 7, 'deferred', 2, 99, 451, 'try later',"
	    " '<m@x>', 30), (41, 3, 8, 'sent', 1, 0, 250, 'ok', NULL, 31);"
	    "PRAGMA user_version = 1;"), SQLITE_OK);
	/* 'skipped' is refused by version 1. */
	assert_int_not_equal(raw_exec(path, "UPDATE deliveries SET"
	    " state = 'skipped' WHERE id = 41"), SQLITE_OK);
	st = store_open(path, &cause);
	if (st == NULL)
		fail_msg("store_open: %s", cause);
	assert_int_equal(store_schema_version(st), STORE_SCHEMA_VERSION);
	store_close(st);
	/* Every delivery kept, column for column. */
	assert_int_equal(raw_count(path, "SELECT count(*) FROM deliveries"
	    " WHERE id = 40 AND issue_id = 3 AND subscriber_id = 7"
	    " AND state = 'deferred' AND attempts = 2 AND next_attempt = 99"
	    " AND last_code = 451 AND last_reply = 'try later'"
	    " AND message_id = '<m@x>' AND updated = 30"
	    " AND first_attempt IS NULL"), 1);
	assert_int_equal(raw_count(path, "SELECT count(*) FROM deliveries"),
	    2);
	assert_int_equal(raw_count(path, "SELECT count(*) FROM issues"
	    " WHERE id = 3 AND note IS NULL AND state = 'sending'"), 1);
	/* The new state is accepted, a made-up one still refused. */
	assert_int_equal(raw_exec(path, "UPDATE deliveries SET"
	    " state = 'skipped' WHERE id = 41"), SQLITE_OK);
	assert_int_not_equal(raw_exec(path, "UPDATE deliveries SET"
	    " state = 'lost' WHERE id = 41"), SQLITE_OK);
	/* The indexes are back, the foreign keys still hold. */
	assert_int_equal(raw_count(path, "SELECT count(*) FROM sqlite_master"
	    " WHERE type = 'index' AND name IN ('deliveries_due',"
	    " 'deliveries_subscriber')"), 2);
	assert_int_not_equal(raw_exec(path, "PRAGMA foreign_keys = ON;"
	    "INSERT INTO deliveries (issue_id, subscriber_id, updated)"
	    " VALUES (99, 7, 0)"), SQLITE_OK);
	assert_int_equal(raw_exec(path, "PRAGMA foreign_keys = ON;"
	    "DELETE FROM subscribers WHERE id = 7"), SQLITE_OK);
	assert_int_equal(raw_count(path, "SELECT count(*) FROM deliveries"),
	    1);
	assert_int_equal(raw_count(path, "SELECT count(*) FROM attempt_log"),
	    0);
	/*
	 * Version 3: no CHECK of three or more states is written as IN any
	 * more (SQLite builds a temporary b-tree for it on every write),
	 * and every table still refuses a made-up state.
	 */
	assert_int_equal(raw_count(path, "SELECT count(*) FROM sqlite_master"
	    " WHERE sql LIKE '%state IN%'"), 0);
	assert_int_equal(raw_count(path, "PRAGMA quick_check = 1"), 0);
	assert_int_equal(raw_exec(path, "INSERT INTO lists (id, name, title,"
	    " created) VALUES (50, 'mig3', 't', 0);"
	    "INSERT INTO subscribers (id, email, created, updated)"
	    " VALUES (50, 'm3@example.org', 0, 0);"
	    "INSERT INTO subscriptions (list_id, subscriber_id, state, source,"
	    " created, updated) VALUES (50, 50, 'confirmed', 't', 0, 0);"
	    "INSERT INTO issues (id, list_id, subject, source, template,"
	    " send_at, created) VALUES (50, 50, 's', 'x', 't', 0, 0)"),
	    SQLITE_OK);
	assert_int_not_equal(raw_exec(path, "UPDATE subscribers SET"
	    " state = 'gone' WHERE id = 50"), SQLITE_OK);
	assert_int_not_equal(raw_exec(path, "UPDATE subscriptions SET"
	    " state = 'maybe' WHERE list_id = 50"), SQLITE_OK);
	assert_int_not_equal(raw_exec(path, "UPDATE issues SET"
	    " state = 'lost' WHERE id = 50"), SQLITE_OK);
	assert_int_equal(raw_exec(path, "UPDATE subscriptions SET"
	    " state = 'unsubscribed' WHERE list_id = 50"), SQLITE_OK);
	assert_int_equal(raw_exec(path, "UPDATE issues SET"
	    " state = 'paused' WHERE id = 50"), SQLITE_OK);
	free(path);
}

static void
test_newer_refused(void **state)
{
	struct store	*st;
	char		*path = fresh_path(), *cause = NULL, *sql;

	sql = xsprintf("PRAGMA user_version = %d", STORE_SCHEMA_VERSION + 1);
	assert_int_equal(raw_exec(path, sql), SQLITE_OK);
	st = store_open(path, &cause);
	assert_null(st);
	assert_int_equal(store_open_errkind(), STORE_EVERSION);
	assert_non_null(strstr(cause, "newer"));
	/* Nothing was created in it. */
	assert_int_equal(raw_count(path, "SELECT count(*) FROM sqlite_master"),
	    0);
	free(cause);
	free(sql);
	free(path);
}

static void
test_list_constraints(void **state)
{
	struct store		*st;
	struct store_list	 l = { 0 }, *g;
	char			*cause = NULL, *path;

	st = fresh_store(&path);
	mklist(st, "spotlight");
	l.name = (char *)"spotlight";
	l.title = (char *)"Again";
	assert_int_equal(store_list_create(st, &l, "test", &cause), -1);
	assert_int_equal(store_errkind(st), STORE_EEXIST);
	free(cause);
	l.name = (char *)"Bad_Name";
	assert_int_equal(store_list_create(st, &l, "test", &cause), -1);
	assert_int_equal(store_errkind(st), STORE_EINVAL);
	free(cause);
	l.name = (char *)"ok";
	l.optin = (char *)"triple";
	assert_int_equal(store_list_create(st, &l, "test", &cause), -1);
	assert_int_equal(store_errkind(st), STORE_EINVAL);
	free(cause);
	g = store_list_get(st, "spotlight", &cause);
	assert_non_null(g);
	assert_string_equal(g->optin, "double");
	store_list_free(g);
	assert_null(store_list_get(st, "ok", &cause));
	assert_int_equal(store_errkind(st), STORE_ENOTFOUND);
	free(cause);
	store_close(st);
	/* The schema refuses what the API would never write. */
	assert_int_not_equal(raw_exec(path, "INSERT INTO lists (name, title,"
	    " created) VALUES ('-x', 't', 0)"), SQLITE_OK);
	assert_int_not_equal(raw_exec(path, "INSERT INTO lists (name, title,"
	    " optin, created) VALUES ('x', 't', 'none', 0)"), SQLITE_OK);
	free(path);
}

static void
test_sub_states(void **state)
{
	struct store		*st;
	struct store_subscriber	*r;
	struct store_attr	 a[2] = { { "city", "Phnom Penh" },
				    { "org", "R2P" } };
	const char		*was;
	char			*cause = NULL, *path;

	st = fresh_store(&path);
	mklist(st, "news");
	mklist(st, "other");
	assert_int_equal(store_sub_add(st, "news", "a@example.org",
	    "សុខ ចាន់", "km", a, 2, "cli", &was, &cause), 0);
	assert_string_equal(was, "none");
	/* Again: updated, not duplicated. */
	assert_int_equal(store_sub_add(st, "news", "a@example.org", NULL,
	    NULL, NULL, 0, "cli", &was, &cause), 0);
	assert_string_equal(was, "confirmed");
	assert_int_equal(store_sub_add(st, "other", "a@example.org", NULL,
	    NULL, NULL, 0, "cli", &was, &cause), 0);
	assert_int_equal(store_sub_remove(st, "news", "a@example.org", "cli",
	    &was, &cause), 0);
	assert_string_equal(was, "confirmed");
	r = store_sub_get(st, "a@example.org", &cause);
	assert_non_null(r);
	assert_string_equal(r->name, "សុខ ចាន់");
	assert_int_equal(r->nattrs, 2);
	assert_string_equal(r->attrs[0].key, "city");
	assert_string_equal(r->attrs[0].val, "Phnom Penh");
	assert_int_equal(r->nsubs, 2);
	assert_string_equal(r->subs[0].list, "news");
	assert_string_equal(r->subs[0].state, "unsubscribed");
	assert_string_equal(r->subs[1].state, "confirmed");
	store_subscriber_free(r);
	/* Not subscribed, unknown list, bad state. */
	assert_int_equal(store_sub_remove(st, "news", "b@example.org", "cli",
	    &was, &cause), -1);
	assert_int_equal(store_errkind(st), STORE_ENOTFOUND);
	free(cause);
	assert_int_equal(store_sub_add(st, "nope", "b@example.org", NULL,
	    NULL, NULL, 0, "cli", &was, &cause), -1);
	assert_int_equal(store_errkind(st), STORE_ENOTFOUND);
	free(cause);
	assert_int_equal(store_sub_list(st, "news", "gone", NULL, NULL,
	    &cause), -1);
	assert_int_equal(store_errkind(st), STORE_EINVAL);
	free(cause);
	/* The failed add left no subscriber behind. */
	assert_null(store_sub_get(st, "b@example.org", &cause));
	free(cause);
	store_close(st);
	assert_int_equal(raw_count(path, "SELECT count(*) FROM subscribers"),
	    1);
	/* Duplicate subscription and bad states refused by the schema. */
	assert_int_not_equal(raw_exec(path, "INSERT INTO subscriptions"
	    " (list_id, subscriber_id, state, source, created, updated)"
	    " SELECT list_id, subscriber_id, 'confirmed', 'x', 0, 0"
	    " FROM subscriptions LIMIT 1"), SQLITE_OK);
	assert_int_not_equal(raw_exec(path, "UPDATE subscriptions SET"
	    " state = 'maybe'"), SQLITE_OK);
	assert_int_not_equal(raw_exec(path, "UPDATE subscribers SET"
	    " state = 'happy'"), SQLITE_OK);
	assert_int_not_equal(raw_exec(path, "UPDATE subscribers SET"
	    " attrs = '[1]'"), SQLITE_OK);
	assert_int_not_equal(raw_exec(path, "DELETE FROM events"), SQLITE_OK);
	free(path);
}

static void
test_events(void **state)
{
	struct store		*st;
	struct store_event	*ev;
	size_t			 n;
	char			*cause = NULL;

	st = fresh_store(NULL);
	mklist(st, "news");
	assert_int_equal(store_sub_add(st, "news", "a@example.org", NULL,
	    NULL, NULL, 0, "cli", NULL, &cause), 0);
	assert_int_equal(store_sub_remove(st, "news", "a@example.org", "cli",
	    NULL, &cause), 0);
	assert_int_equal(store_events(st, "news", &ev, &n, &cause), 0);
	assert_int_equal(n, 3);
	assert_string_equal(ev[0].kind, "list-create");
	assert_string_equal(ev[1].kind, "subscribe");
	assert_string_equal(ev[1].email, "a@example.org");
	assert_string_equal(ev[1].source, "cli");
	assert_string_equal(ev[2].kind, "unsubscribe");
	store_events_free(ev, n);
	store_close(st);
}

static struct subcsv_row *
mkrows(size_t n)
{
	struct subcsv_row	*rows;
	size_t			 i;

	rows = xcalloc(n, sizeof(*rows));
	for (i = 0; i < n; i++) {
		rows[i].line = i + 2;
		rows[i].email = xsprintf("user%zu@example.org", i);
		rows[i].name = xsprintf("User %zu", i);
		rows[i].attrs = xcalloc(1, sizeof(*rows[i].attrs));
		rows[i].attrs[0].key = xstrdup("n");
		rows[i].attrs[0].val = xsprintf("%zu", i);
		rows[i].nattrs = 1;
	}
	return rows;
}

static void
freerows(struct subcsv_row *rows, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		free(rows[i].email);
		free(rows[i].name);
		free(rows[i].attrs[0].key);
		free(rows[i].attrs[0].val);
		free(rows[i].attrs);
	}
	free(rows);
}

static void
test_import_atomic(void **state)
{
	struct store			*st;
	struct store_import_stats	 s;
	struct subcsv_row		*rows;
	char				*cause = NULL, *path, *bad;

	st = fresh_store(&path);
	mklist(st, "news");
	assert_int_equal(store_sub_add(st, "news", "user1@example.org", NULL,
	    NULL, NULL, 0, "cli", NULL, &cause), 0);
	assert_int_equal(store_sub_remove(st, "news", "user1@example.org",
	    "cli", NULL, &cause), 0);
	rows = mkrows(10);
	/* Row 7 breaks a constraint: nothing of the batch may stay. */
	bad = rows[7].email;
	rows[7].email = xstrdup("no-at-sign");
	assert_int_equal(store_import(st, "news", rows, 10, "import:t.csv",
	    &s, &cause), -1);
	free(cause);
	store_close(st);
	assert_int_equal(raw_count(path, "SELECT count(*) FROM subscribers"),
	    1);
	assert_int_equal(raw_count(path, "SELECT count(*) FROM events"
	    " WHERE kind = 'import'"), 0);
	free(rows[7].email);
	rows[7].email = bad;
	st = store_open(path, &cause);
	assert_non_null(st);
	assert_int_equal(store_import(st, "news", rows, 10, "import:t.csv",
	    &s, &cause), 0);
	assert_int_equal(s.added, 9);
	assert_int_equal(s.kept, 1);	/* user1 had unsubscribed */
	/* Importing again updates, never duplicates. */
	assert_int_equal(store_import(st, "news", rows, 10, "import:t.csv",
	    &s, &cause), 0);
	assert_int_equal(s.updated, 9);
	assert_int_equal(s.added, 0);
	store_close(st);
	assert_int_equal(raw_count(path, "SELECT count(*) FROM subscribers"),
	    10);
	assert_int_equal(raw_count(path, "SELECT count(*) FROM subscriptions"
	    " WHERE state = 'confirmed'"), 9);
	assert_int_equal(raw_count(path, "SELECT count(*) FROM events"
	    " WHERE kind = 'import' AND source = 'import:t.csv'"), 20);
	freerows(rows, 10);
	free(path);
}

static void
test_list_remove(void **state)
{
	struct store	*st;
	char		*cause = NULL, *path;

	st = fresh_store(&path);
	mklist(st, "news");
	assert_int_equal(store_sub_add(st, "news", "a@example.org", NULL,
	    NULL, NULL, 0, "cli", NULL, &cause), 0);
	store_close(st);
	assert_int_equal(raw_exec(path, "INSERT INTO issues (list_id, subject,"
	    " source, template, send_at, created) VALUES (1, 's', 'y', 't',"
	    " 0, 0)"), SQLITE_OK);
	st = store_open(path, &cause);
	assert_int_equal(store_list_remove(st, "news", 0, "cli", &cause), -1);
	assert_int_equal(store_errkind(st), STORE_EREFUSED);
	free(cause);
	assert_int_equal(store_list_remove(st, "news", 1, "cli", &cause), 0);
	store_close(st);
	assert_int_equal(raw_count(path, "SELECT count(*) FROM issues"), 0);
	assert_int_equal(raw_count(path, "SELECT count(*) FROM subscriptions"),
	    0);
	/* The subscriber and the journal stay. */
	assert_int_equal(raw_count(path, "SELECT count(*) FROM subscribers"),
	    1);
	assert_int_equal(raw_count(path, "SELECT count(*) FROM events"
	    " WHERE kind = 'list-remove'"), 1);
	free(path);
}

static void
test_json_writer(void **state)
{
	struct buf	b = BUF_INIT;
	struct json	j;

	json_init(&j, &b);
	json_open(&j, NULL, '{');
	json_str(&j, "s", "a\"b\\c\n\r\t\x01\x7f សុខ");
	json_str(&j, "n", NULL);
	json_int(&j, "i", -42);
	json_open(&j, "l", '[');
	json_bool(&j, NULL, 1);
	json_time(&j, NULL, 0);
	json_time(&j, NULL, 86400);
	json_close(&j, ']');
	json_open(&j, "e", '{');
	json_close(&j, '}');
	json_close(&j, '}');
	assert_string_equal(buf_cstr(&b), "{\"s\":\"a\\\"b\\\\c\\n\\r\\t"
	    "\\u0001\\u007f សុខ\",\"n\":null,\"i\":-42,"
	    "\"l\":[true,null,\"1970-01-02T00:00:00Z\"],\"e\":{}}");
	buf_free(&b);
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
		cmocka_unit_test(test_migrate_empty),
		cmocka_unit_test(test_migrate_v1_data),
		cmocka_unit_test(test_newer_refused),
		cmocka_unit_test(test_list_constraints),
		cmocka_unit_test(test_sub_states),
		cmocka_unit_test(test_events),
		cmocka_unit_test(test_import_atomic),
		cmocka_unit_test(test_list_remove),
		cmocka_unit_test(test_json_writer),
	};

	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, cleanup);
}
