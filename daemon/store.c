/* The SQLite store: schema, migrations, prepared statements, every query. */
#include "autoconf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "buf.h"
#include "json.h"
#include "store.h"
#include "subcsv.h"
#include "xmalloc.h"

/*
 * Numbered migrations: migrations[i] takes the schema from version i to
 * version i + 1.  Never edit one that has shipped; append a new one.
 */
static const char *const store_migrations[] = {
	/* 1: the first schema. */
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
	" BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;",
};

#define STORE_NMIGRATIONS \
	(sizeof(store_migrations) / sizeof(store_migrations[0]))
_Static_assert(STORE_NMIGRATIONS == STORE_SCHEMA_VERSION,
    "STORE_SCHEMA_VERSION must count the migrations");

/* The cached statements, prepared on first use and kept. */
enum store_stmt {
	S_BEGIN,
	S_COMMIT,
	S_ROLLBACK,
	S_LIST_ID,
	S_LIST_INSERT,
	S_LIST_GET,
	S_LIST_ALL,
	S_LIST_DELETE,
	S_SUBR_ID,
	S_SUBR_INSERT,
	S_SUBR_UPDATE,
	S_SUBR_GET,
	S_SUBR_SUBS,
	S_SUBN_STATE,
	S_SUBN_INSERT,
	S_SUBN_SET,
	S_SUBN_LIST,
	S_ATTR_KEYS,
	S_ATTR_EACH,
	S_EVENT_INSERT,
	S_EVENTS,
	S_NSTMT
};

#define LIST_COLS \
	"l.id, l.name, l.title, l.from_addr, l.from_name, l.reply_to," \
	" l.optin, l.created," \
	" (SELECT count(*) FROM subscriptions s WHERE s.list_id = l.id" \
	"  AND s.state = 'pending')," \
	" (SELECT count(*) FROM subscriptions s WHERE s.list_id = l.id" \
	"  AND s.state = 'confirmed')," \
	" (SELECT count(*) FROM subscriptions s WHERE s.list_id = l.id" \
	"  AND s.state = 'unsubscribed')," \
	" (SELECT count(*) FROM issues i WHERE i.list_id = l.id)"

#define SUBR_COLS \
	"s.id, s.email, s.name, s.lang, s.attrs, s.state, s.created, s.updated"

static const char *const store_sql[S_NSTMT] = {
	[S_BEGIN] = "BEGIN IMMEDIATE",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	[S_LIST_ID] = "SELECT id FROM lists WHERE name = ?1",
	[S_LIST_INSERT] = "INSERT INTO lists (name, title, from_addr,"
	    " from_name, reply_to, optin, created)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[S_LIST_GET] = "SELECT " LIST_COLS " FROM lists l WHERE l.name = ?1",
	[S_LIST_ALL] = "SELECT " LIST_COLS " FROM lists l ORDER BY l.name",
	[S_LIST_DELETE] = "DELETE FROM lists WHERE id = ?1",
	[S_SUBR_ID] = "SELECT id FROM subscribers WHERE email = ?1",
	[S_SUBR_INSERT] = "INSERT INTO subscribers (email, name, lang, attrs,"
	    " created, updated) VALUES (?1, ?2, ?3, coalesce(?4, '{}'), ?5, ?5)"
	    " ON CONFLICT (email) DO NOTHING",
	[S_SUBR_UPDATE] = "UPDATE subscribers SET"
	    " name = coalesce(?2, name),"
	    " lang = coalesce(?3, lang),"
	    " attrs = CASE WHEN ?4 IS NULL THEN attrs"
	    "  ELSE json_patch(attrs, ?4) END,"
	    " updated = ?5"
	    " WHERE id = ?1",
	[S_SUBR_GET] = "SELECT " SUBR_COLS " FROM subscribers s"
	    " WHERE s.email = ?1",
	[S_SUBR_SUBS] = "SELECT l.name, u.state, u.source, u.created,"
	    " u.updated FROM subscriptions u JOIN lists l ON l.id = u.list_id"
	    " WHERE u.subscriber_id = ?1 ORDER BY l.name",
	[S_SUBN_STATE] = "SELECT u.state FROM subscriptions u"
	    " WHERE u.list_id = ?1 AND u.subscriber_id = ?2",
	[S_SUBN_INSERT] = "INSERT INTO subscriptions (list_id, subscriber_id,"
	    " state, source, created, updated, confirmed)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?5,"
	    "  CASE WHEN ?3 = 'confirmed' THEN ?5 END)",
	[S_SUBN_SET] = "UPDATE subscriptions SET state = ?3, source = ?4,"
	    " updated = ?5, confirmed = CASE WHEN ?3 = 'confirmed'"
	    "  AND state <> 'confirmed' THEN ?5 ELSE confirmed END"
	    " WHERE list_id = ?1 AND subscriber_id = ?2",
	[S_SUBN_LIST] = "SELECT " SUBR_COLS ", u.state, u.updated"
	    " FROM subscriptions u JOIN subscribers s"
	    " ON s.id = u.subscriber_id"
	    " WHERE u.list_id = ?1 AND (?2 IS NULL OR u.state = ?2)"
	    " ORDER BY s.email",
	[S_ATTR_KEYS] = "SELECT DISTINCT j.key FROM subscriptions u"
	    " JOIN subscribers s ON s.id = u.subscriber_id,"
	    " json_each(s.attrs) j"
	    " WHERE u.list_id = ?1 AND (?2 IS NULL OR u.state = ?2)"
	    " ORDER BY j.key",
	[S_ATTR_EACH] = "SELECT key, value FROM json_each(?1) ORDER BY key",
	[S_EVENT_INSERT] = "INSERT INTO events (time, kind, list, email,"
	    " source, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[S_EVENTS] = "SELECT id, time, kind, list, email, source, detail"
	    " FROM events WHERE (?1 IS NULL OR list = ?1) ORDER BY id",
};

struct store {
	sqlite3		*db;
	sqlite3_stmt	*stmt[S_NSTMT];
	enum store_err	 err;
	struct buf	 jbuf;		/* reused for attribute JSON */
};

#define STORE_BUSY_TIMEOUT	5000	/* ms */

static enum store_err	store_open_err;

/* Set the failure kind and an allocated cause; always returns -1. */
static int __attribute__((format(printf, 4, 5)))
store_fail(struct store *st, char **cause, enum store_err kind,
    const char *fmt, ...)
{
	va_list	ap;
	char	*s;

	st->err = kind;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (s == NULL)
		s = xstrdup("out of memory");
	if (cause != NULL)
		*cause = s;
	else
		free(s);
	return -1;
}

/* Classify the SQLite failure of the last call and describe it. */
static int
store_sqlfail(struct store *st, char **cause, const char *what)
{
	int		code = sqlite3_extended_errcode(st->db);
	enum store_err	kind;

	switch (code & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		kind = STORE_EBUSY;
		break;
	case SQLITE_CONSTRAINT:
		if (code == SQLITE_CONSTRAINT_UNIQUE ||
		    code == SQLITE_CONSTRAINT_PRIMARYKEY)
			kind = STORE_EEXIST;
		else
			kind = STORE_EINVAL;
		break;
	case SQLITE_CANTOPEN:
	case SQLITE_PERM:
	case SQLITE_READONLY:
	case SQLITE_NOTADB:
		kind = STORE_EOPEN;
		break;
	default:
		kind = STORE_EDB;
	}
	return store_fail(st, cause, kind, "%s: %s", what,
	    sqlite3_errmsg(st->db));
}

/* The cached statement id, reset and with no bindings. */
static sqlite3_stmt *
store_stmt(struct store *st, enum store_stmt id, char **cause)
{
	sqlite3_stmt	*s = st->stmt[id];

	if (s != NULL) {
		sqlite3_reset(s);
		sqlite3_clear_bindings(s);
		return s;
	}
	if (sqlite3_prepare_v3(st->db, store_sql[id], -1,
	    SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK) {
		store_sqlfail(st, cause, "preparing a statement");
		return NULL;
	}
	st->stmt[id] = s;
	return s;
}

static void
bind_text(sqlite3_stmt *s, int i, const char *v)
{
	if (v == NULL)
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

/* A text column copied, or NULL. */
static char *
col_dup(sqlite3_stmt *s, int i)
{
	const unsigned char	*t = sqlite3_column_text(s, i);

	return t == NULL ? NULL : xstrdup((const char *)t);
}

/* Run a statement with no result rows (already bound). */
static int
store_step_done(struct store *st, sqlite3_stmt *s, char **cause,
    const char *what)
{
	int	rc;

	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		store_sqlfail(st, cause, what);
		sqlite3_reset(s);
		return -1;
	}
	sqlite3_reset(s);
	return 0;
}

static int
store_simple(struct store *st, enum store_stmt id, char **cause,
    const char *what)
{
	sqlite3_stmt	*s;

	if ((s = store_stmt(st, id, cause)) == NULL)
		return -1;
	return store_step_done(st, s, cause, what);
}

static int
store_begin(struct store *st, char **cause)
{
	return store_simple(st, S_BEGIN, cause, "starting a transaction");
}

static int
store_commit(struct store *st, char **cause)
{
	return store_simple(st, S_COMMIT, cause, "committing");
}

static void
store_rollback(struct store *st)
{
	if (sqlite3_get_autocommit(st->db))
		return;
	store_simple(st, S_ROLLBACK, NULL, "rolling back");
}

static int
store_exec(struct store *st, const char *sql, char **cause, const char *what)
{
	if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return store_sqlfail(st, cause, what);
	return 0;
}

static int
store_user_version(struct store *st, int *v, char **cause)
{
	sqlite3_stmt	*s;
	int		 rc;

	if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s,
	    NULL) != SQLITE_OK)
		return store_sqlfail(st, cause, "reading the schema version");
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		store_sqlfail(st, cause, "reading the schema version");
		sqlite3_finalize(s);
		return -1;
	}
	*v = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return 0;
}

int
store_schema_version(struct store *st)
{
	int	v;

	if (store_user_version(st, &v, NULL) == -1)
		return -1;
	return v;
}

/*
 * Bring the schema up to date: every missing migration and the new
 * user_version in one transaction, so a failed upgrade changes nothing.
 */
static int
store_migrate(struct store *st, const char *path, char **cause)
{
	char	*sql = NULL;
	int	 v;
	size_t	 i;

	if (store_user_version(st, &v, cause) == -1)
		return -1;
	if (v > (int)STORE_NMIGRATIONS)
		return store_fail(st, cause, STORE_EVERSION,
		    "%s: database schema version %d is newer than this "
		    "herald understands (%zu): upgrade herald", path, v,
		    STORE_NMIGRATIONS);
	if (v == (int)STORE_NMIGRATIONS)
		return 0;
	if (store_exec(st, "BEGIN IMMEDIATE", cause, "starting migration")
	    == -1)
		return -1;
	/* Read again inside the lock: another process may have migrated. */
	if (store_user_version(st, &v, cause) == -1)
		goto fail;
	for (i = (size_t)v; i < STORE_NMIGRATIONS; i++) {
		if (store_exec(st, store_migrations[i], cause,
		    "applying a migration") == -1)
			goto fail;
	}
	sql = xsprintf("PRAGMA user_version = %zu", STORE_NMIGRATIONS);
	if (store_exec(st, sql, cause, "setting the schema version") == -1)
		goto fail;
	if (store_exec(st, "COMMIT", cause, "committing migration") == -1)
		goto fail;
	free(sql);
	return 0;
fail:
	free(sql);
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

struct store *
store_open(const char *path, char **cause)
{
	struct store	*st;

	st = xcalloc(1, sizeof(*st));
	buf_init(&st->jbuf);
	/*
	 * No allocation statistics: they cost a global mutex on every
	 * malloc.  A no-op (SQLITE_MISUSE) once SQLite is initialized.
	 */
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		if (st->db == NULL)
			store_fail(st, cause, STORE_EOPEN, "%s: cannot open",
			    path);
		else
			store_fail(st, cause, STORE_EOPEN, "%s: %s", path,
			    sqlite3_errmsg(st->db));
		goto fail;
	}
	sqlite3_extended_result_codes(st->db, 1);
	if (sqlite3_busy_timeout(st->db, STORE_BUSY_TIMEOUT) != SQLITE_OK) {
		store_sqlfail(st, cause, path);
		goto fail;
	}
	/*
	 * WAL lets the daemon read while heraldctl writes; FULL sync makes
	 * a commit durable; foreign keys enforce the ON DELETE rules.
	 */
	if (store_exec(st, "PRAGMA journal_mode = WAL", cause, path) == -1 ||
	    store_exec(st, "PRAGMA foreign_keys = ON", cause, path) == -1 ||
	    store_exec(st, "PRAGMA synchronous = FULL", cause, path) == -1 ||
	    store_exec(st, "PRAGMA cache_size = -8000", cause, path) == -1 ||
	    store_exec(st, "PRAGMA temp_store = MEMORY", cause, path) == -1)
		goto fail;
	if (store_migrate(st, path, cause) == -1)
		goto fail;
	store_open_err = STORE_OK;
	return st;
fail:
	store_open_err = st->err;
	store_close(st);
	return NULL;
}

void
store_close(struct store *st)
{
	size_t	i;

	if (st == NULL)
		return;
	for (i = 0; i < S_NSTMT; i++)
		sqlite3_finalize(st->stmt[i]);
	sqlite3_close(st->db);
	buf_free(&st->jbuf);
	free(st);
}

int
store_set_busy_timeout(struct store *st, int ms)
{
	return sqlite3_busy_timeout(st->db, ms) == SQLITE_OK ? 0 : -1;
}

enum store_err
store_errkind(const struct store *st)
{
	return st->err;
}

enum store_err
store_open_errkind(void)
{
	return store_open_err;
}

int
store_list_name_valid(const char *name)
{
	size_t	i;

	if (name == NULL || name[0] == '\0' || name[0] == '-')
		return 0;
	for (i = 0; name[i] != '\0'; i++) {
		if (i >= 64)
			return 0;
		if (!((name[i] >= 'a' && name[i] <= 'z') ||
		    (name[i] >= '0' && name[i] <= '9') || name[i] == '-'))
			return 0;
	}
	return 1;
}

int
store_sub_state_valid(const char *state)
{
	return state != NULL && (strcmp(state, "pending") == 0 ||
	    strcmp(state, "confirmed") == 0 ||
	    strcmp(state, "unsubscribed") == 0);
}

/* Append one event; the caller holds the transaction. */
static int
store_event(struct store *st, const char *kind, const char *list,
    const char *email, const char *source, const char *detail, char **cause)
{
	sqlite3_stmt	*s;

	if ((s = store_stmt(st, S_EVENT_INSERT, cause)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)time(NULL));
	bind_text(s, 2, kind);
	bind_text(s, 3, list);
	bind_text(s, 4, email);
	bind_text(s, 5, source);
	bind_text(s, 6, detail);
	return store_step_done(st, s, cause, "recording an event");
}

/* The id of list name, or -1 (STORE_ENOTFOUND when missing). */
static int64_t
store_list_id(struct store *st, const char *name, char **cause)
{
	sqlite3_stmt	*s;
	int64_t		 id;
	int		 rc;

	if ((s = store_stmt(st, S_LIST_ID, cause)) == NULL)
		return -1;
	bind_text(s, 1, name);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		id = sqlite3_column_int64(s, 0);
		sqlite3_reset(s);
		return id;
	}
	if (rc == SQLITE_DONE)
		store_fail(st, cause, STORE_ENOTFOUND, "%s: no such list",
		    name);
	else
		store_sqlfail(st, cause, "finding a list");
	sqlite3_reset(s);
	return -1;
}

int
store_list_create(struct store *st, const struct store_list *l,
    const char *source, char **cause)
{
	sqlite3_stmt	*s;
	const char	*optin = l->optin != NULL ? l->optin : "double";

	st->err = STORE_OK;
	if (!store_list_name_valid(l->name))
		return store_fail(st, cause, STORE_EINVAL,
		    "%s: bad list name (want [a-z0-9][a-z0-9-]*, at most 64)",
		    l->name != NULL ? l->name : "");
	if (l->title == NULL || l->title[0] == '\0')
		return store_fail(st, cause, STORE_EINVAL,
		    "%s: a list needs a title", l->name);
	if (strcmp(optin, "single") != 0 && strcmp(optin, "double") != 0)
		return store_fail(st, cause, STORE_EINVAL,
		    "%s: opt-in must be single or double", optin);
	if (store_begin(st, cause) == -1)
		return -1;
	if ((s = store_stmt(st, S_LIST_INSERT, cause)) == NULL)
		goto fail;
	bind_text(s, 1, l->name);
	bind_text(s, 2, l->title);
	bind_text(s, 3, l->from_addr);
	bind_text(s, 4, l->from_name);
	bind_text(s, 5, l->reply_to);
	bind_text(s, 6, optin);
	sqlite3_bind_int64(s, 7, (sqlite3_int64)time(NULL));
	if (store_step_done(st, s, cause, "creating the list") == -1) {
		if (st->err == STORE_EEXIST) {
			free(*cause);
			store_fail(st, cause, STORE_EEXIST,
			    "%s: a list with this name exists", l->name);
		}
		goto fail;
	}
	if (store_event(st, "list-create", l->name, NULL, source, l->title,
	    cause) == -1)
		goto fail;
	if (store_commit(st, cause) == -1)
		goto fail;
	return 0;
fail:
	store_rollback(st);
	return -1;
}

static struct store_list *
store_list_row(sqlite3_stmt *s, struct store_list *l)
{
	l->id = sqlite3_column_int64(s, 0);
	l->name = col_dup(s, 1);
	l->title = col_dup(s, 2);
	l->from_addr = col_dup(s, 3);
	l->from_name = col_dup(s, 4);
	l->reply_to = col_dup(s, 5);
	l->optin = col_dup(s, 6);
	l->created = sqlite3_column_int64(s, 7);
	l->n_pending = sqlite3_column_int64(s, 8);
	l->n_confirmed = sqlite3_column_int64(s, 9);
	l->n_unsubscribed = sqlite3_column_int64(s, 10);
	l->n_issues = sqlite3_column_int64(s, 11);
	return l;
}

struct store_list *
store_list_get(struct store *st, const char *name, char **cause)
{
	sqlite3_stmt		*s;
	struct store_list	*l;
	int			 rc;

	st->err = STORE_OK;
	if ((s = store_stmt(st, S_LIST_GET, cause)) == NULL)
		return NULL;
	bind_text(s, 1, name);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		l = store_list_row(s, xcalloc(1, sizeof(*l)));
		sqlite3_reset(s);
		return l;
	}
	if (rc == SQLITE_DONE)
		store_fail(st, cause, STORE_ENOTFOUND, "%s: no such list",
		    name);
	else
		store_sqlfail(st, cause, "reading a list");
	sqlite3_reset(s);
	return NULL;
}

struct store_list *
store_list_all(struct store *st, size_t *n, char **cause)
{
	sqlite3_stmt		*s;
	struct store_list	*v = NULL;
	size_t			 cap = 0;
	int			 rc;

	st->err = STORE_OK;
	*n = 0;
	if ((s = store_stmt(st, S_LIST_ALL, cause)) == NULL)
		return NULL;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 8;
			v = xreallocarray(v, cap, sizeof(*v));
		}
		store_list_row(s, &v[(*n)++]);
	}
	if (rc != SQLITE_DONE) {
		store_sqlfail(st, cause, "reading lists");
		sqlite3_reset(s);
		store_list_free_array(v, *n);
		*n = 0;
		return NULL;
	}
	sqlite3_reset(s);
	if (v == NULL)
		v = xcalloc(1, sizeof(*v));
	return v;
}

static void
store_list_clear(struct store_list *l)
{
	free(l->name);
	free(l->title);
	free(l->from_addr);
	free(l->from_name);
	free(l->reply_to);
	free(l->optin);
}

void
store_list_free(struct store_list *l)
{
	if (l == NULL)
		return;
	store_list_clear(l);
	free(l);
}

void
store_list_free_array(struct store_list *v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		store_list_clear(&v[i]);
	free(v);
}

int
store_list_remove(struct store *st, const char *name, int force,
    const char *source, char **cause)
{
	struct store_list	*l = NULL;
	sqlite3_stmt		*s;
	char			*detail = NULL;

	st->err = STORE_OK;
	if (store_begin(st, cause) == -1)
		return -1;
	if ((l = store_list_get(st, name, cause)) == NULL)
		goto fail;
	if (l->n_issues > 0 && !force) {
		store_fail(st, cause, STORE_EREFUSED, "%s: the list has %lld "
		    "issue%s; --force removes them too", name,
		    (long long)l->n_issues, l->n_issues == 1 ? "" : "s");
		goto fail;
	}
	if ((s = store_stmt(st, S_LIST_DELETE, cause)) == NULL)
		goto fail;
	sqlite3_bind_int64(s, 1, l->id);
	if (store_step_done(st, s, cause, "removing the list") == -1)
		goto fail;
	detail = xsprintf("%lld confirmed, %lld pending, %lld unsubscribed, "
	    "%lld issues", (long long)l->n_confirmed, (long long)l->n_pending,
	    (long long)l->n_unsubscribed, (long long)l->n_issues);
	if (store_event(st, "list-remove", name, NULL, source, detail,
	    cause) == -1)
		goto fail;
	if (store_commit(st, cause) == -1)
		goto fail;
	free(detail);
	store_list_free(l);
	return 0;
fail:
	store_rollback(st);
	free(detail);
	store_list_free(l);
	return -1;
}

/* Attributes as a JSON object in st->jbuf, or NULL when there are none. */
static const char *
store_attrs_json(struct store *st, const struct store_attr *attrs,
    size_t nattrs)
{
	struct json	j;
	size_t		i;

	if (nattrs == 0)
		return NULL;
	buf_reset(&st->jbuf);
	json_init(&j, &st->jbuf);
	json_open(&j, NULL, '{');
	for (i = 0; i < nattrs; i++)
		json_str(&j, attrs[i].key, attrs[i].val);
	json_close(&j, '}');
	return buf_cstr(&st->jbuf);
}

/*
 * Insert or update a subscriber; its id in *id, *created set when it is
 * new.  Try a plain INSERT that does nothing on a known address (one
 * statement for a new subscriber, the common case of an import), then
 * look the address up and UPDATE: much cheaper per row than an UPSERT
 * with RETURNING.
 */
static int
store_subscriber_upsert(struct store *st, const char *email,
    const char *name, const char *lang, const char *attrs, int64_t now,
    int64_t *id, int *created, char **cause)
{
	sqlite3_stmt	*s;
	int		 rc;

	if ((s = store_stmt(st, S_SUBR_INSERT, cause)) == NULL)
		return -1;
	bind_text(s, 1, email);
	bind_text(s, 2, name);
	bind_text(s, 3, lang);
	bind_text(s, 4, attrs);
	sqlite3_bind_int64(s, 5, (sqlite3_int64)now);
	if (sqlite3_step(s) != SQLITE_DONE) {
		store_sqlfail(st, cause, email);
		sqlite3_reset(s);
		return -1;
	}
	sqlite3_reset(s);
	if (sqlite3_changes(st->db) == 1) {
		*created = 1;
		*id = sqlite3_last_insert_rowid(st->db);
		return 0;
	}
	*created = 0;
	if ((s = store_stmt(st, S_SUBR_ID, cause)) == NULL)
		return -1;
	bind_text(s, 1, email);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		store_sqlfail(st, cause, "finding a subscriber");
		sqlite3_reset(s);
		return -1;
	}
	*id = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	if ((s = store_stmt(st, S_SUBR_UPDATE, cause)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, *id);
	bind_text(s, 2, name);
	bind_text(s, 3, lang);
	bind_text(s, 4, attrs);
	sqlite3_bind_int64(s, 5, (sqlite3_int64)now);
	if (sqlite3_step(s) != SQLITE_DONE) {
		store_sqlfail(st, cause, email);
		sqlite3_reset(s);
		return -1;
	}
	sqlite3_reset(s);
	return 0;
}

/* The state of a subscription as a static string, "none" when absent. */
static int
store_subn_state(struct store *st, int64_t list_id, int64_t subr_id,
    const char **state, char **cause)
{
	static const char *const states[] = {
		"pending", "confirmed", "unsubscribed"
	};
	sqlite3_stmt		*s;
	const char		*t;
	size_t			 i;
	int			 rc;

	if ((s = store_stmt(st, S_SUBN_STATE, cause)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, list_id);
	sqlite3_bind_int64(s, 2, subr_id);
	rc = sqlite3_step(s);
	*state = "none";
	if (rc == SQLITE_ROW) {
		t = (const char *)sqlite3_column_text(s, 0);
		for (i = 0; i < 3; i++)
			if (t != NULL && strcmp(t, states[i]) == 0)
				*state = states[i];
	} else if (rc != SQLITE_DONE) {
		store_sqlfail(st, cause, "reading a subscription");
		sqlite3_reset(s);
		return -1;
	}
	sqlite3_reset(s);
	return 0;
}

/* Create (was "none") or change a subscription to state. */
static int
store_subn_write(struct store *st, int64_t list_id, int64_t subr_id,
    const char *was, const char *state, const char *source, int64_t now,
    char **cause)
{
	sqlite3_stmt	*s;

	s = store_stmt(st, strcmp(was, "none") == 0 ? S_SUBN_INSERT :
	    S_SUBN_SET, cause);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, list_id);
	sqlite3_bind_int64(s, 2, subr_id);
	bind_text(s, 3, state);
	bind_text(s, 4, source);
	sqlite3_bind_int64(s, 5, (sqlite3_int64)now);
	return store_step_done(st, s, cause, "writing a subscription");
}

int
store_sub_add(struct store *st, const char *list, const char *email,
    const char *name, const char *lang, const struct store_attr *attrs,
    size_t nattrs, const char *source, const char **was, char **cause)
{
	int64_t		 list_id, subr_id, now = time(NULL);
	const char	*kind, *prev;
	int		 isnew;

	st->err = STORE_OK;
	if (store_begin(st, cause) == -1)
		return -1;
	if ((list_id = store_list_id(st, list, cause)) == -1)
		goto fail;
	if (store_subscriber_upsert(st, email, name, lang,
	    store_attrs_json(st, attrs, nattrs), now, &subr_id, &isnew,
	    cause) == -1)
		goto fail;
	if (store_subn_state(st, list_id, subr_id, &prev, cause) == -1)
		goto fail;
	if (store_subn_write(st, list_id, subr_id, prev, "confirmed", source,
	    now, cause) == -1)
		goto fail;
	if (strcmp(prev, "confirmed") == 0)
		kind = "update";
	else if (strcmp(prev, "pending") == 0)
		kind = "confirm";
	else
		kind = "subscribe";
	if (store_event(st, kind, list, email, source, NULL, cause) == -1)
		goto fail;
	if (store_commit(st, cause) == -1)
		goto fail;
	if (was != NULL)
		*was = prev;
	return 0;
fail:
	store_rollback(st);
	return -1;
}

/* The id of the subscriber with this email, or -1 (ENOTFOUND). */
static int64_t
store_subscriber_id(struct store *st, const char *email, char **cause)
{
	sqlite3_stmt	*s;
	int64_t		 id;
	int		 rc;

	if ((s = store_stmt(st, S_SUBR_GET, cause)) == NULL)
		return -1;
	bind_text(s, 1, email);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		id = sqlite3_column_int64(s, 0);
		sqlite3_reset(s);
		return id;
	}
	if (rc == SQLITE_DONE)
		store_fail(st, cause, STORE_ENOTFOUND, "%s: no such subscriber",
		    email);
	else
		store_sqlfail(st, cause, "finding a subscriber");
	sqlite3_reset(s);
	return -1;
}

int
store_sub_remove(struct store *st, const char *list, const char *email,
    const char *source, const char **was, char **cause)
{
	int64_t		 list_id, subr_id;
	const char	*prev;

	st->err = STORE_OK;
	if (store_begin(st, cause) == -1)
		return -1;
	if ((list_id = store_list_id(st, list, cause)) == -1)
		goto fail;
	if ((subr_id = store_subscriber_id(st, email, cause)) == -1)
		goto fail;
	if (store_subn_state(st, list_id, subr_id, &prev, cause) == -1)
		goto fail;
	if (strcmp(prev, "none") == 0) {
		store_fail(st, cause, STORE_ENOTFOUND,
		    "%s: not subscribed to %s", email, list);
		goto fail;
	}
	if (strcmp(prev, "unsubscribed") != 0) {
		if (store_subn_write(st, list_id, subr_id, prev,
		    "unsubscribed", source, time(NULL), cause) == -1)
			goto fail;
		if (store_event(st, "unsubscribe", list, email, source, NULL,
		    cause) == -1)
			goto fail;
	}
	if (store_commit(st, cause) == -1)
		goto fail;
	if (was != NULL)
		*was = prev;
	return 0;
fail:
	store_rollback(st);
	return -1;
}

/* Replace r's attributes with those of the JSON object text json. */
static int
store_attrs_parse(struct store *st, struct store_subscriber *r,
    const char *json, char **cause)
{
	sqlite3_stmt	*s;
	size_t		 cap = 0;
	int		 rc;

	r->attrs = NULL;
	r->nattrs = 0;
	if (json == NULL || strcmp(json, "{}") == 0)
		return 0;
	if ((s = store_stmt(st, S_ATTR_EACH, cause)) == NULL)
		return -1;
	bind_text(s, 1, json);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (r->nattrs == cap) {
			cap = cap ? cap * 2 : 4;
			r->attrs = xreallocarray(r->attrs, cap,
			    sizeof(*r->attrs));
		}
		r->attrs[r->nattrs].key = col_dup(s, 0);
		r->attrs[r->nattrs].val = col_dup(s, 1);
		if (r->attrs[r->nattrs].val == NULL)
			r->attrs[r->nattrs].val = xstrdup("");
		r->nattrs++;
	}
	if (rc != SQLITE_DONE) {
		store_sqlfail(st, cause, "reading attributes");
		sqlite3_reset(s);
		return -1;
	}
	sqlite3_reset(s);
	return 0;
}

static void
store_subscriber_clear(struct store_subscriber *r)
{
	size_t	i;

	free(r->email);
	free(r->name);
	free(r->lang);
	free(r->state);
	free(r->sub_state);
	for (i = 0; i < r->nattrs; i++) {
		free(r->attrs[i].key);
		free(r->attrs[i].val);
	}
	free(r->attrs);
	for (i = 0; i < r->nsubs; i++) {
		free(r->subs[i].list);
		free(r->subs[i].state);
		free(r->subs[i].source);
	}
	free(r->subs);
	memset(r, 0, sizeof(*r));
}

void
store_subscriber_free(struct store_subscriber *r)
{
	if (r == NULL)
		return;
	store_subscriber_clear(r);
	free(r);
}

/* Fill r from a row of SUBR_COLS; attrs parsed with a second statement. */
static int
store_subscriber_row(struct store *st, sqlite3_stmt *s,
    struct store_subscriber *r, char **cause)
{
	r->id = sqlite3_column_int64(s, 0);
	r->email = col_dup(s, 1);
	r->name = col_dup(s, 2);
	r->lang = col_dup(s, 3);
	r->state = col_dup(s, 5);
	r->created = sqlite3_column_int64(s, 6);
	r->updated = sqlite3_column_int64(s, 7);
	return store_attrs_parse(st, r,
	    (const char *)sqlite3_column_text(s, 4), cause);
}

struct store_subscriber *
store_sub_get(struct store *st, const char *email, char **cause)
{
	struct store_subscriber		*r;
	struct store_subscription	*u;
	sqlite3_stmt			*s;
	size_t				 cap = 0;
	int				 rc;

	st->err = STORE_OK;
	r = xcalloc(1, sizeof(*r));
	if ((s = store_stmt(st, S_SUBR_GET, cause)) == NULL)
		goto fail;
	bind_text(s, 1, email);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		if (rc == SQLITE_DONE)
			store_fail(st, cause, STORE_ENOTFOUND,
			    "%s: no such subscriber", email);
		else
			store_sqlfail(st, cause, "reading a subscriber");
		sqlite3_reset(s);
		goto fail;
	}
	/* The attribute statement is another one: s stays valid. */
	if (store_subscriber_row(st, s, r, cause) == -1) {
		sqlite3_reset(s);
		goto fail;
	}
	sqlite3_reset(s);
	if ((s = store_stmt(st, S_SUBR_SUBS, cause)) == NULL)
		goto fail;
	sqlite3_bind_int64(s, 1, r->id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (r->nsubs == cap) {
			cap = cap ? cap * 2 : 4;
			r->subs = xreallocarray(r->subs, cap, sizeof(*r->subs));
		}
		u = &r->subs[r->nsubs++];
		u->list = col_dup(s, 0);
		u->state = col_dup(s, 1);
		u->source = col_dup(s, 2);
		u->created = sqlite3_column_int64(s, 3);
		u->updated = sqlite3_column_int64(s, 4);
	}
	if (rc != SQLITE_DONE) {
		store_sqlfail(st, cause, "reading subscriptions");
		sqlite3_reset(s);
		goto fail;
	}
	sqlite3_reset(s);
	return r;
fail:
	store_subscriber_free(r);
	return NULL;
}

int
store_sub_list(struct store *st, const char *list, const char *state,
    int (*fn)(void *, const struct store_subscriber *), void *arg,
    char **cause)
{
	struct store_subscriber	 r;
	sqlite3_stmt		*s;
	int64_t			 list_id;
	int			 rc, ret = -1;

	st->err = STORE_OK;
	memset(&r, 0, sizeof(r));
	if (state != NULL && !store_sub_state_valid(state))
		return store_fail(st, cause, STORE_EINVAL,
		    "%s: not a subscription state (pending, confirmed, "
		    "unsubscribed)", state);
	/* One read transaction: a consistent snapshot for the whole walk. */
	if (store_exec(st, "BEGIN", cause, "starting a read") == -1)
		return -1;
	if ((list_id = store_list_id(st, list, cause)) == -1)
		goto done;
	if ((s = store_stmt(st, S_SUBN_LIST, cause)) == NULL)
		goto done;
	sqlite3_bind_int64(s, 1, list_id);
	bind_text(s, 2, state);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (store_subscriber_row(st, s, &r, cause) == -1) {
			sqlite3_reset(s);
			goto done;
		}
		r.sub_state = col_dup(s, 8);
		r.sub_updated = sqlite3_column_int64(s, 9);
		if (fn(arg, &r) == -1) {
			sqlite3_reset(s);
			if (cause != NULL)
				*cause = NULL;
			goto done;
		}
		store_subscriber_clear(&r);
	}
	if (rc != SQLITE_DONE) {
		store_sqlfail(st, cause, "reading subscribers");
		sqlite3_reset(s);
		goto done;
	}
	sqlite3_reset(s);
	ret = 0;
done:
	store_subscriber_clear(&r);
	store_rollback(st);
	return ret;
}

int
store_sub_attr_keys(struct store *st, const char *list, const char *state,
    char ***keys, size_t *n, char **cause)
{
	sqlite3_stmt	*s;
	int64_t		 list_id;
	size_t		 cap = 0, i;
	int		 rc;

	st->err = STORE_OK;
	*keys = NULL;
	*n = 0;
	if ((list_id = store_list_id(st, list, cause)) == -1)
		return -1;
	if ((s = store_stmt(st, S_ATTR_KEYS, cause)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, list_id);
	bind_text(s, 2, state);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 8;
			*keys = xreallocarray(*keys, cap, sizeof(**keys));
		}
		(*keys)[(*n)++] = col_dup(s, 0);
	}
	if (rc != SQLITE_DONE) {
		store_sqlfail(st, cause, "reading attribute names");
		sqlite3_reset(s);
		for (i = 0; i < *n; i++)
			free((*keys)[i]);
		free(*keys);
		*keys = NULL;
		*n = 0;
		return -1;
	}
	sqlite3_reset(s);
	return 0;
}

static int
store_row_cmp(const void *a, const void *b)
{
	const struct subcsv_row	*const *ra = a, *const *rb = b;

	return strcmp((*ra)->email, (*rb)->email);
}

int
store_import(struct store *st, const char *list,
    const struct subcsv_row *rows, size_t n, const char *source,
    struct store_import_stats *stats, char **cause)
{
	const struct subcsv_row	*row, **order = NULL;
	struct store_attr	*attrs = NULL;
	size_t			 cap = 0, i, k;
	int64_t			 list_id, subr_id, now = time(NULL);
	const char		*prev, *detail;
	int			 isnew;

	st->err = STORE_OK;
	memset(stats, 0, sizeof(*stats));
	if (store_begin(st, cause) == -1)
		return -1;
	if ((list_id = store_list_id(st, list, cause)) == -1)
		goto fail;
	/*
	 * In address order the email index grows at its end instead of
	 * being written all over: fewer pages touched, far less I/O.
	 */
	order = xreallocarray(NULL, n ? n : 1, sizeof(*order));
	for (i = 0; i < n; i++)
		order[i] = &rows[i];
	qsort(order, n, sizeof(*order), store_row_cmp);
	for (i = 0; i < n; i++) {
		row = order[i];
		if (row->nattrs > cap) {
			cap = row->nattrs;
			attrs = xreallocarray(attrs, cap, sizeof(*attrs));
		}
		for (k = 0; k < row->nattrs; k++) {
			attrs[k].key = row->attrs[k].key;
			attrs[k].val = row->attrs[k].val;
		}
		if (store_subscriber_upsert(st, row->email, row->name,
		    row->lang, store_attrs_json(st, attrs, row->nattrs), now,
		    &subr_id, &isnew, cause) == -1)
			goto fail;
		/* A subscriber created just now has no subscription yet. */
		if (isnew)
			prev = "none";
		else if (store_subn_state(st, list_id, subr_id, &prev,
		    cause) == -1)
			goto fail;
		if (strcmp(prev, "unsubscribed") == 0) {
			/* Their leaving outranks an old spreadsheet. */
			stats->kept++;
			detail = "kept unsubscribed";
		} else {
			if (strcmp(prev, "confirmed") != 0 &&
			    store_subn_write(st, list_id, subr_id, prev,
			    "confirmed", source, now, cause) == -1)
				goto fail;
			if (strcmp(prev, "none") == 0) {
				stats->added++;
				detail = "added";
			} else if (strcmp(prev, "pending") == 0) {
				stats->resubscribed++;
				detail = "confirmed";
			} else {
				stats->updated++;
				detail = "updated";
			}
		}
		if (store_event(st, "import", list, row->email, source, detail,
		    cause) == -1)
			goto fail;
	}
	if (store_commit(st, cause) == -1)
		goto fail;
	free(attrs);
	free(order);
	return 0;
fail:
	store_rollback(st);
	free(attrs);
	free(order);
	memset(stats, 0, sizeof(*stats));
	return -1;
}

int
store_events(struct store *st, const char *list, struct store_event **out,
    size_t *n, char **cause)
{
	sqlite3_stmt		*s;
	struct store_event	*v = NULL, *e;
	size_t			 cap = 0;
	int			 rc;

	st->err = STORE_OK;
	*out = NULL;
	*n = 0;
	if ((s = store_stmt(st, S_EVENTS, cause)) == NULL)
		return -1;
	bind_text(s, 1, list);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			v = xreallocarray(v, cap, sizeof(*v));
		}
		e = &v[(*n)++];
		e->id = sqlite3_column_int64(s, 0);
		e->time = sqlite3_column_int64(s, 1);
		e->kind = col_dup(s, 2);
		e->list = col_dup(s, 3);
		e->email = col_dup(s, 4);
		e->source = col_dup(s, 5);
		e->detail = col_dup(s, 6);
	}
	if (rc != SQLITE_DONE) {
		store_sqlfail(st, cause, "reading events");
		sqlite3_reset(s);
		store_events_free(v, *n);
		*n = 0;
		return -1;
	}
	sqlite3_reset(s);
	*out = v;
	return 0;
}

void
store_events_free(struct store_event *v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		free(v[i].kind);
		free(v[i].list);
		free(v[i].email);
		free(v[i].source);
		free(v[i].detail);
	}
	free(v);
}
