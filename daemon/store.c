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

	/*
	 * 2: the outbox for the daemon.  A delivery may end 'skipped' (the
	 * recipient left before their message went out) and records its
	 * first attempt; an issue keeps why it was paused and who queued
	 * it; attempt_log counts SMTP attempts per second for the rate
	 * limits.  SQLite cannot change a CHECK, so deliveries is rebuilt.
	 * No table references deliveries, so neither the implicit DELETE of
	 * the DROP nor the RENAME touches another table's rows or foreign
	 * keys, and foreign_keys can stay on (it cannot change inside the
	 * migration's transaction anyway); store_migrate() runs
	 * foreign_key_check before it commits.
	 */
	"CREATE TABLE deliveries_new ("
	" id INTEGER PRIMARY KEY,"
	" issue_id INTEGER NOT NULL REFERENCES issues(id) ON DELETE CASCADE,"
	" subscriber_id INTEGER NOT NULL"
	"  REFERENCES subscribers(id) ON DELETE CASCADE,"
	" state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN"
	"  ('pending', 'sending', 'sent', 'deferred', 'failed', 'skipped')),"
	" attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),"
	" next_attempt INTEGER NOT NULL DEFAULT 0,"
	" last_code INTEGER,"
	" last_reply TEXT,"
	" message_id TEXT,"
	" updated INTEGER NOT NULL,"
	" first_attempt INTEGER,"
	" UNIQUE (issue_id, subscriber_id)"
	");"
	"INSERT INTO deliveries_new (id, issue_id, subscriber_id, state,"
	" attempts, next_attempt, last_code, last_reply, message_id, updated)"
	" SELECT id, issue_id, subscriber_id, state, attempts, next_attempt,"
	" last_code, last_reply, message_id, updated FROM deliveries;"
	"DROP TABLE deliveries;"
	"ALTER TABLE deliveries_new RENAME TO deliveries;"
	"CREATE INDEX deliveries_due"
	" ON deliveries(issue_id, state, next_attempt);"
	"CREATE INDEX deliveries_subscriber ON deliveries(subscriber_id);"
	"ALTER TABLE issues ADD COLUMN note TEXT;"
	"ALTER TABLE issues ADD COLUMN source_tag TEXT;"
	"CREATE TABLE attempt_log ("
	" second INTEGER PRIMARY KEY,"
	" count INTEGER NOT NULL CHECK (count >= 0)"
	");",

	/*
	 * 3: the same CHECKs on states, written as OR chains.  SQLite 3.40
	 * builds a temporary b-tree on every INSERT or UPDATE for a CHECK
	 * "x IN (a, b, c)" of three or more values; that was a third of the
	 * time of an import.  Changing a CHECK does not change what is
	 * stored, so the table definitions are edited in place, as SQLite's
	 * documentation describes for such changes (store_migrate bumps
	 * schema_version after it).
	 */
	"PRAGMA writable_schema = ON;"
	"UPDATE sqlite_schema SET sql = replace(sql,"
	" 'state IN (''active'', ''bounced'', ''blocked'')',"
	" 'state = ''active'' OR state = ''bounced'' OR state = ''blocked''')"
	" WHERE type = 'table' AND name = 'subscribers';"
	"UPDATE sqlite_schema SET sql = replace(sql,"
	" 'state IN (''pending'', ''confirmed'', ''unsubscribed'')',"
	" 'state = ''pending'' OR state = ''confirmed'' OR"
	" state = ''unsubscribed''')"
	" WHERE type = 'table' AND name = 'subscriptions';"
	"UPDATE sqlite_schema SET sql = replace(sql,"
	" 'state IN  (''queued'', ''sending'', ''paused'', ''sent'',"
	" ''cancelled'')',"
	" 'state = ''queued'' OR state = ''sending'' OR state = ''paused'' OR"
	" state = ''sent'' OR state = ''cancelled''')"
	" WHERE type = 'table' AND name = 'issues';"
	"UPDATE sqlite_schema SET sql = replace(sql,"
	" 'state IN  (''pending'', ''sending'', ''sent'', ''deferred'',"
	" ''failed'', ''skipped'')',"
	" 'state = ''pending'' OR state = ''sending'' OR state = ''sent'' OR"
	" state = ''deferred'' OR state = ''failed'' OR state = ''skipped''')"
	" WHERE type = 'table' AND name = 'deliveries';"
	"PRAGMA writable_schema = OFF;",

	/*
	 * 4: the mail queue, for transactional mail sent ahead of the
	 * newsletters (kind 'confirm': double opt-in confirmations).  Its
	 * rows follow the outbox's states, plus 'skipped' for a message no
	 * longer wanted when its turn came (the subscription was confirmed
	 * or ended meanwhile).  mailq_subscriber serves the per-address
	 * daily limit.
	 */
	"CREATE TABLE mailq ("
	" id INTEGER PRIMARY KEY,"
	" kind TEXT NOT NULL CHECK (kind = 'confirm'),"
	" subscriber_id INTEGER NOT NULL"
	"  REFERENCES subscribers(id) ON DELETE CASCADE,"
	" list_id INTEGER NOT NULL REFERENCES lists(id) ON DELETE CASCADE,"
	" state TEXT NOT NULL DEFAULT 'pending' CHECK (state = 'pending' OR"
	"  state = 'sending' OR state = 'sent' OR state = 'deferred' OR"
	"  state = 'failed' OR state = 'skipped'),"
	" attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),"
	" next_attempt INTEGER NOT NULL DEFAULT 0,"
	" created INTEGER NOT NULL,"
	" updated INTEGER NOT NULL,"
	" last_code INTEGER,"
	" last_reply TEXT,"
	" message_id TEXT"
	");"
	"CREATE INDEX mailq_due ON mailq(state, next_attempt);"
	"CREATE INDEX mailq_subscriber ON mailq(subscriber_id, created);",
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
	S_LIST_FIND,
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
	S_DATA_VERSION,
	S_ISSUE_INSERT,
	S_FILE_INSERT,
	S_ISSUE_GET,
	S_ISSUE_ALL,
	S_ISSUE_COUNTS,
	S_ISSUE_RATE,
	S_ISSUE_SOURCE,
	S_FILES,
	S_ISSUE_PEEK,
	S_ISSUE_STATE,
	S_ISSUE_SET,
	S_RETRY,
	S_ISSUE_REOPEN,
	S_RECOVER,
	S_LOG_PRUNE,
	S_ISSUES_DUE,
	S_ISSUES_SENDING,
	S_START,
	S_ISSUE_STARTED,
	S_CLAIM,
	S_CLAIM_TAKE,
	S_CLAIM_SKIP,
	S_RESULT,
	S_RELEASE,
	S_BOUNCE_STATE,
	S_BOUNCE,
	S_ATTEMPT_ADD,
	S_ATTEMPT_LOG,
	S_ISSUE_FINISH,
	/* Web subscriptions and the mail queue. */
	S_TARGET,
	S_SUBR_FILL,
	S_SUBR_STATE,
	S_WEB_SKIP_DELIVERIES,
	S_WEB_SKIP_MAILQ,
	S_MAILQ_RECENT,
	S_MAILQ_INSERT,
	S_MAILQ_RECOVER,
	S_MAILQ_CLAIM,
	S_MAILQ_TAKE,
	S_MAILQ_SKIP,
	S_MAILQ_RESULT,
	S_MAILQ_COUNTS,
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

#define ISSUE_COLS \
	"i.id, l.name, i.list_id, i.subject, i.template, i.state, i.note," \
	" i.send_at, i.created, coalesce(i.started, 0)," \
	" coalesce(i.finished, 0)"

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
	[S_LIST_FIND] = "SELECT l.id, l.name, l.title, l.from_addr,"
	    " l.from_name, l.reply_to, l.optin, l.created, -1, -1, -1, -1"
	    " FROM lists l WHERE l.name = ?1",
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
	[S_DATA_VERSION] = "PRAGMA data_version",
	[S_ISSUE_INSERT] = "INSERT INTO issues (list_id, subject, source,"
	    " template, send_at, state, created, source_tag)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, 'queued', ?6, ?7)",
	[S_FILE_INSERT] = "INSERT INTO issue_files (issue_id, name,"
	    " mime_type, data) VALUES (?1, ?2, ?3, ?4)",
	[S_ISSUE_GET] = "SELECT " ISSUE_COLS " FROM issues i"
	    " JOIN lists l ON l.id = i.list_id WHERE i.id = ?1",
	[S_ISSUE_ALL] = "SELECT " ISSUE_COLS " FROM issues i"
	    " JOIN lists l ON l.id = i.list_id"
	    " WHERE ?1 IS NULL OR i.list_id = ?1"
	    " ORDER BY i.created DESC, i.id DESC",
	/* Both read only the index deliveries_due. */
	[S_ISSUE_COUNTS] = "SELECT state, count(*) FROM deliveries"
	    " WHERE issue_id = ?1 GROUP BY state",
	[S_ISSUE_RATE] = "SELECT count(*) FROM deliveries"
	    " WHERE issue_id = ?1 AND state = 'sent' AND updated >= ?2",
	[S_ISSUE_SOURCE] = "SELECT source FROM issues WHERE id = ?1",
	[S_FILES] = "SELECT name, mime_type, data FROM issue_files"
	    " WHERE issue_id = ?1 ORDER BY id",
	[S_ISSUE_PEEK] = "SELECT state, note FROM issues WHERE id = ?1",
	[S_ISSUE_STATE] = "SELECT i.state, l.name FROM issues i"
	    " JOIN lists l ON l.id = i.list_id WHERE i.id = ?1",
	[S_ISSUE_SET] = "UPDATE issues SET state = ?2, note = ?3,"
	    " finished = CASE WHEN ?2 IN ('sent', 'cancelled')"
	    "  THEN coalesce(finished, ?4) ELSE finished END"
	    " WHERE id = ?1",
	[S_RETRY] = "UPDATE deliveries SET state = 'pending',"
	    " next_attempt = 0, updated = ?2"
	    " WHERE issue_id = ?1 AND state = 'failed'",
	[S_ISSUE_REOPEN] = "UPDATE issues SET state = 'sending',"
	    " finished = NULL, note = NULL WHERE id = ?1",
	/* Through the issues, so that deliveries_due finds the rows. */
	[S_RECOVER] = "UPDATE deliveries SET state = 'pending'"
	    " WHERE issue_id IN (SELECT id FROM issues) AND state = 'sending'",
	[S_LOG_PRUNE] = "DELETE FROM attempt_log WHERE second < ?1",
	[S_ISSUES_DUE] = "SELECT id FROM issues WHERE state = 'queued'"
	    " AND send_at <= ?1 ORDER BY send_at, id",
	[S_ISSUES_SENDING] = "SELECT id FROM issues WHERE state = 'sending'"
	    " ORDER BY id",
	[S_START] = "INSERT INTO deliveries (issue_id, subscriber_id, state,"
	    " next_attempt, updated)"
	    " SELECT ?1, u.subscriber_id, 'pending', 0, ?2"
	    " FROM subscriptions u JOIN subscribers s"
	    " ON s.id = u.subscriber_id"
	    " WHERE u.list_id = ?3 AND u.state = 'confirmed'"
	    " AND s.state = 'active'"
	    " ORDER BY u.subscriber_id",
	[S_ISSUE_STARTED] = "UPDATE issues SET state = 'sending',"
	    " started = ?2 WHERE id = ?1",
	/*
	 * Each arm reads at most ?3 entries of deliveries_due in order
	 * (next_attempt, id), however long the outbox: pending ones first
	 * (their next_attempt is 0), then deferred ones that are due.
	 */
	[S_CLAIM] = "SELECT d.id, d.subscriber_id, d.attempts, s.email,"
	    " s.name, s.lang, s.attrs,"
	    " s.state = 'active' AND coalesce(u.state, '') = 'confirmed'"
	    " FROM (SELECT id, next_attempt FROM"
	    "  (SELECT id, next_attempt FROM deliveries"
	    "   WHERE issue_id = ?1 AND state = 'pending'"
	    "   ORDER BY next_attempt, id LIMIT ?3)"
	    "  UNION ALL SELECT id, next_attempt FROM"
	    "  (SELECT id, next_attempt FROM deliveries"
	    "   WHERE issue_id = ?1 AND state = 'deferred'"
	    "   AND next_attempt <= ?2 ORDER BY next_attempt, id LIMIT ?3)"
	    "  ORDER BY 2, 1 LIMIT ?3) c"
	    " JOIN deliveries d ON d.id = c.id"
	    " JOIN issues i ON i.id = d.issue_id AND i.state = 'sending'"
	    " JOIN subscribers s ON s.id = d.subscriber_id"
	    " LEFT JOIN subscriptions u ON u.list_id = i.list_id"
	    "  AND u.subscriber_id = d.subscriber_id"
	    " ORDER BY c.next_attempt, c.id",
	[S_CLAIM_TAKE] = "UPDATE deliveries SET state = 'sending',"
	    " first_attempt = coalesce(first_attempt, ?2), updated = ?2"
	    " WHERE id = ?1",
	[S_CLAIM_SKIP] = "UPDATE deliveries SET state = 'skipped',"
	    " last_reply = ?2, updated = ?3 WHERE id = ?1",
	[S_RELEASE] = "UPDATE deliveries SET state = 'pending', updated = ?2"
	    " WHERE id = ?1 AND state = 'sending'",
	[S_RESULT] = "UPDATE deliveries SET state = ?2,"
	    " attempts = attempts + 1, last_code = ?3, last_reply = ?4,"
	    " next_attempt = ?5, message_id = coalesce(?6, message_id),"
	    " updated = ?7 WHERE id = ?1",
	[S_BOUNCE_STATE] = "SELECT state FROM subscribers WHERE id = ?1",
	[S_BOUNCE] = "UPDATE subscribers SET bounces = bounces + 1,"
	    " state = CASE WHEN state = 'active' AND bounces + 1 >= ?2"
	    "  THEN 'bounced' ELSE state END, updated = ?3"
	    " WHERE id = ?1 RETURNING bounces, state",
	[S_ATTEMPT_ADD] = "INSERT INTO attempt_log (second, count)"
	    " VALUES (?1, ?2) ON CONFLICT (second)"
	    " DO UPDATE SET count = count + excluded.count",
	[S_ATTEMPT_LOG] = "SELECT second, count FROM attempt_log"
	    " WHERE second >= ?1 ORDER BY second",
	[S_ISSUE_FINISH] = "UPDATE issues SET state = 'sent', finished = ?2"
	    " WHERE id = ?1 AND state = 'sending' AND NOT EXISTS"
	    " (SELECT 1 FROM deliveries WHERE issue_id = ?1"
	    "  AND state IN ('pending', 'sending', 'deferred'))",
	/* Web subscriptions and the mail queue. */
	[S_TARGET] = "SELECT s.id, s.email, s.name, s.lang, l.id, l.name,"
	    " l.title, l.optin, u.state"
	    " FROM subscribers s JOIN lists l ON l.id = ?2"
	    " LEFT JOIN subscriptions u ON u.list_id = l.id"
	    "  AND u.subscriber_id = s.id"
	    " WHERE s.id = ?1",
	[S_SUBR_FILL] = "UPDATE subscribers SET"
	    " name = coalesce(name, ?2), lang = coalesce(lang, ?3),"
	    " updated = ?4 WHERE id = ?1"
	    " AND ((name IS NULL AND ?2 IS NOT NULL) OR"
	    "  (lang IS NULL AND ?3 IS NOT NULL))",
	[S_SUBR_STATE] = "SELECT state FROM subscribers WHERE id = ?1",
	/* Through the list's issues, so that deliveries_due finds them. */
	[S_WEB_SKIP_DELIVERIES] = "UPDATE deliveries SET state = 'skipped',"
	    " last_reply = ?3, updated = ?4"
	    " WHERE issue_id IN (SELECT id FROM issues WHERE list_id = ?2)"
	    " AND subscriber_id = ?1"
	    " AND (state = 'pending' OR state = 'deferred')",
	[S_WEB_SKIP_MAILQ] = "UPDATE mailq SET state = 'skipped',"
	    " last_reply = ?3, updated = ?4"
	    " WHERE subscriber_id = ?1 AND list_id = ?2"
	    " AND (state = 'pending' OR state = 'deferred')",
	[S_MAILQ_RECENT] = "SELECT count(*) FROM mailq"
	    " WHERE subscriber_id = ?1 AND kind = 'confirm' AND created > ?2",
	[S_MAILQ_INSERT] = "INSERT INTO mailq (kind, subscriber_id, list_id,"
	    " state, next_attempt, created, updated)"
	    " VALUES (?1, ?2, ?3, 'pending', 0, ?4, ?4)",
	[S_MAILQ_RECOVER] = "UPDATE mailq SET state = 'pending'"
	    " WHERE state = 'sending'",
	/*
	 * Pending first (next_attempt 0), then deferred ones that are
	 * due; each arm reads at most ?2 entries of mailq_due.  The last
	 * column says whether the message is still wanted.
	 */
	[S_MAILQ_CLAIM] = "SELECT q.id, q.kind, q.attempts, q.created,"
	    " s.id, s.email, s.name, s.lang, l.id, l.name, l.title, l.optin,"
	    " u.state, l.from_addr, l.from_name, l.reply_to,"
	    " s.state <> 'blocked' AND coalesce(u.state, '') = 'pending'"
	    " FROM (SELECT id, next_attempt FROM"
	    "  (SELECT id, next_attempt FROM mailq WHERE state = 'pending'"
	    "   ORDER BY next_attempt, id LIMIT ?2)"
	    "  UNION ALL SELECT id, next_attempt FROM"
	    "  (SELECT id, next_attempt FROM mailq WHERE state = 'deferred'"
	    "   AND next_attempt <= ?1 ORDER BY next_attempt, id LIMIT ?2)"
	    "  ORDER BY 2, 1 LIMIT ?2) c"
	    " JOIN mailq q ON q.id = c.id"
	    " JOIN subscribers s ON s.id = q.subscriber_id"
	    " JOIN lists l ON l.id = q.list_id"
	    " LEFT JOIN subscriptions u ON u.list_id = q.list_id"
	    "  AND u.subscriber_id = q.subscriber_id"
	    " ORDER BY c.next_attempt, c.id",
	[S_MAILQ_TAKE] = "UPDATE mailq SET state = 'sending', updated = ?2"
	    " WHERE id = ?1",
	[S_MAILQ_SKIP] = "UPDATE mailq SET state = 'skipped',"
	    " last_reply = ?2, updated = ?3 WHERE id = ?1",
	[S_MAILQ_RESULT] = "UPDATE mailq SET state = ?2,"
	    " attempts = attempts + 1, last_code = ?3, last_reply = ?4,"
	    " next_attempt = ?5, message_id = coalesce(?6, message_id),"
	    " updated = ?7 WHERE id = ?1",
	[S_MAILQ_COUNTS] = "SELECT state, count(*) FROM mailq GROUP BY state",
};

struct store {
	sqlite3		*db;
	sqlite3_stmt	*stmt[S_NSTMT];
	enum store_err	 err;
	struct buf	 jbuf;		/* reused for attribute JSON */
	int64_t		 pruned;	/* minute attempt_log was last pruned */
};

/* How long attempt_log keeps its counts. */
#define STORE_ATTEMPT_KEEP	(2 * 86400)

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

/*
 * Step s, a query of (state, count) rows, into *to[] in the order pending,
 * sending, sent, deferred, failed, skipped; other states are ignored.
 */
static int
store_state_counts(struct store *st, sqlite3_stmt *s, int64_t *to[6],
    const char *what, char **cause)
{
	static const char *const names[6] = { "pending", "sending", "sent",
	    "deferred", "failed", "skipped" };
	const char	*state;
	int		 rc, i;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if ((state = (const char *)sqlite3_column_text(s, 0)) == NULL)
			continue;
		for (i = 0; i < 6; i++)
			if (strcmp(state, names[i]) == 0)
				*to[i] = sqlite3_column_int64(s, 1);
	}
	if (rc != SQLITE_DONE) {
		store_sqlfail(st, cause, what);
		sqlite3_reset(s);
		return -1;
	}
	sqlite3_reset(s);
	return 0;
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

int
store_begin(struct store *st, char **cause)
{
	return store_simple(st, S_BEGIN, cause, "starting a transaction");
}

int
store_commit(struct store *st, char **cause)
{
	return store_simple(st, S_COMMIT, cause, "committing");
}

void
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

/* Refuse to commit a migration that left a dangling foreign key. */
static int
store_fk_check(struct store *st, const char *path, char **cause)
{
	sqlite3_stmt	*s;
	int		 rc;

	if (sqlite3_prepare_v2(st->db, "PRAGMA foreign_key_check", -1, &s,
	    NULL) != SQLITE_OK)
		return store_sqlfail(st, cause, "checking foreign keys");
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		store_fail(st, cause, STORE_EDB, "%s: migration left a row of "
		    "%s (rowid %lld) pointing to a missing row of %s", path,
		    sqlite3_column_text(s, 0),
		    (long long)sqlite3_column_int64(s, 1),
		    sqlite3_column_text(s, 2));
		sqlite3_finalize(s);
		return -1;
	}
	if (rc != SQLITE_DONE) {
		store_sqlfail(st, cause, "checking foreign keys");
		sqlite3_finalize(s);
		return -1;
	}
	sqlite3_finalize(s);
	return 0;
}

/*
 * Bring the schema up to date: every missing migration and the new
 * user_version in one transaction, so a failed upgrade changes nothing.
 */
/* PRAGMA schema_version + 1, after the schema text was edited. */
static int
store_schema_bump(struct store *st, char **cause)
{
	sqlite3_stmt	*s;
	char		*sql;
	int64_t		 v;
	int		 rv;

	if (sqlite3_prepare_v2(st->db, "PRAGMA schema_version", -1, &s,
	    NULL) != SQLITE_OK)
		return store_sqlfail(st, cause, "reading the schema version");
	if (sqlite3_step(s) != SQLITE_ROW) {
		sqlite3_finalize(s);
		return store_sqlfail(st, cause, "reading the schema version");
	}
	v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sql = xsprintf("PRAGMA schema_version = %lld", (long long)v + 1);
	rv = store_exec(st, sql, cause, "bumping the schema version");
	free(sql);
	return rv;
}

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
	if (store_fk_check(st, path, cause) == -1)
		goto fail;
	/* Make every connection read the edited schema again. */
	if (store_schema_bump(st, cause) == -1)
		goto fail;
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
store_set_autocheckpoint(struct store *st, int pages, char **cause)
{
	char	sql[64];

	snprintf(sql, sizeof(sql), "PRAGMA wal_autocheckpoint = %d", pages);
	return store_exec(st, sql, cause, "wal_autocheckpoint") == -1 ? -1 : 0;
}

int
store_set_synchronous(struct store *st, int full, char **cause)
{
	return store_exec(st, full ? "PRAGMA synchronous = FULL" :
	    "PRAGMA synchronous = NORMAL", cause, "synchronous") == -1 ? -1 : 0;
}

int64_t
store_changes(struct store *st)
{
	return (int64_t)sqlite3_total_changes64(st->db);
}

int
store_sync(struct store *st, char **cause)
{
	sqlite3_file	*wal = NULL;
	int		 rc;

	/* In WAL mode the journal pointer is the WAL file. */
	rc = sqlite3_file_control(st->db, "main",
	    SQLITE_FCNTL_JOURNAL_POINTER, &wal);
	if (rc != SQLITE_OK || wal == NULL || wal->pMethods == NULL)
		return 0;	/* no WAL open: nothing written since */
	if ((rc = wal->pMethods->xSync(wal, SQLITE_SYNC_NORMAL)) != SQLITE_OK) {
		store_fail(st, cause, STORE_EDB, "syncing the write-ahead "
		    "log: %s", sqlite3_errstr(rc));
		return -1;
	}
	return 0;
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

static struct store_list *
store_list_one(struct store *st, enum store_stmt id, const char *name,
    char **cause)
{
	sqlite3_stmt		*s;
	struct store_list	*l;
	int			 rc;

	st->err = STORE_OK;
	if ((s = store_stmt(st, id, cause)) == NULL)
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
store_list_get(struct store *st, const char *name, char **cause)
{
	return store_list_one(st, S_LIST_GET, name, cause);
}

struct store_list *
store_list_find(struct store *st, const char *name, char **cause)
{
	return store_list_one(st, S_LIST_FIND, name, cause);
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


/* The id of the subscriber with this (normal form) email, just inserted
 * or already there. */
static int
store_subr_id(struct store *st, const char *email, int64_t *id,
    char **cause)
{
	sqlite3_stmt	*s;

	if ((s = store_stmt(st, S_SUBR_ID, cause)) == NULL)
		return -1;
	bind_text(s, 1, email);
	if (sqlite3_step(s) != SQLITE_ROW) {
		store_sqlfail(st, cause, "finding a subscriber");
		sqlite3_reset(s);
		return -1;
	}
	*id = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return 0;
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
	if (store_subr_id(st, email, id, cause) == -1)
		return -1;
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

/*
 * Issues and the outbox.
 */

/*
 * Join the caller's transaction if one is open, else begin one; *own
 * says which, for store_txn_end() and the rollback on failure.
 */
static int
store_txn(struct store *st, int *own, char **cause)
{
	*own = sqlite3_get_autocommit(st->db);
	if (*own)
		return store_begin(st, cause);
	return 0;
}

static int
store_txn_end(struct store *st, int own, char **cause)
{
	return own ? store_commit(st, cause) : 0;
}

static void
store_txn_abort(struct store *st, int own)
{
	if (own)
		store_rollback(st);
}

static const char *const store_issue_states[] = {
	"queued", "sending", "paused", "sent", "cancelled"
};

static int
store_issue_state_valid(const char *state, size_t len)
{
	size_t	i;

	for (i = 0; i < sizeof(store_issue_states) /
	    sizeof(store_issue_states[0]); i++) {
		if (strlen(store_issue_states[i]) == len &&
		    strncmp(store_issue_states[i], state, len) == 0)
			return 1;
	}
	return 0;
}

/* 1 when text has a CR or LF (refused in a subject or header). */
static int
store_has_eol(const char *text)
{
	return strpbrk(text, "\r\n") != NULL;
}

int
store_issue_create(struct store *st, const char *list, const char *subject,
    const char *template, const char *source, size_t source_len,
    int64_t send_at, const struct store_file *files, size_t nfiles,
    const char *source_tag, int64_t *id, char **cause)
{
	sqlite3_stmt	*s;
	int64_t		 list_id, issue_id, now = time(NULL);
	char		*detail = NULL;
	size_t		 i;
	int		 own;

	st->err = STORE_OK;
	if (subject == NULL || subject[0] == '\0' || store_has_eol(subject))
		return store_fail(st, cause, STORE_EINVAL, "%s: an issue needs "
		    "a subject of one line", list);
	if (template == NULL || template[0] == '\0')
		return store_fail(st, cause, STORE_EINVAL, "%s: an issue needs "
		    "a template", list);
	if (source == NULL || source_len > INT32_MAX)
		return store_fail(st, cause, STORE_EINVAL, "%s: an issue needs "
		    "its source (at most 2 GB)", list);
	for (i = 0; i < nfiles; i++) {
		if (files[i].name == NULL || files[i].name[0] == '\0' ||
		    files[i].mime_type == NULL || files[i].len > INT32_MAX ||
		    (files[i].data == NULL && files[i].len > 0))
			return store_fail(st, cause, STORE_EINVAL, "%s: issue "
			    "file %zu has no name, type or data", list, i + 1);
	}
	if (store_txn(st, &own, cause) == -1)
		return -1;
	if ((list_id = store_list_id(st, list, cause)) == -1)
		goto fail;
	if ((s = store_stmt(st, S_ISSUE_INSERT, cause)) == NULL)
		goto fail;
	sqlite3_bind_int64(s, 1, list_id);
	bind_text(s, 2, subject);
	sqlite3_bind_text(s, 3, source, (int)source_len, SQLITE_STATIC);
	bind_text(s, 4, template);
	sqlite3_bind_int64(s, 5, send_at);
	sqlite3_bind_int64(s, 6, now);
	bind_text(s, 7, source_tag);
	if (store_step_done(st, s, cause, "storing the issue") == -1)
		goto fail;
	issue_id = sqlite3_last_insert_rowid(st->db);
	for (i = 0; i < nfiles; i++) {
		if ((s = store_stmt(st, S_FILE_INSERT, cause)) == NULL)
			goto fail;
		sqlite3_bind_int64(s, 1, issue_id);
		bind_text(s, 2, files[i].name);
		bind_text(s, 3, files[i].mime_type);
		/* A NULL pointer would bind NULL, which data refuses. */
		if (files[i].len == 0)
			sqlite3_bind_zeroblob(s, 4, 0);
		else
			sqlite3_bind_blob(s, 4, files[i].data,
			    (int)files[i].len, SQLITE_STATIC);
		if (store_step_done(st, s, cause, files[i].name) == -1) {
			if (st->err == STORE_EEXIST) {
				free(*cause);
				store_fail(st, cause, STORE_EEXIST, "%s: the "
				    "issue names this file twice",
				    files[i].name);
			}
			goto fail;
		}
	}
	detail = xsprintf("issue %lld: %s", (long long)issue_id, subject);
	if (store_event(st, "queue", list, NULL, source_tag != NULL ?
	    source_tag : "cli", detail, cause) == -1)
		goto fail;
	if (store_txn_end(st, own, cause) == -1)
		goto fail;
	free(detail);
	*id = issue_id;
	return 0;
fail:
	free(detail);
	store_txn_abort(st, own);
	return -1;
}

/* Fill the delivery counts and the rate of issue v at now. */
static int
store_issue_counts(struct store *st, struct store_issue *v, int64_t now,
    char **cause)
{
	sqlite3_stmt	*s;

	if ((s = store_stmt(st, S_ISSUE_COUNTS, cause)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, v->id);
	{
		int64_t	*to[] = { &v->n_pending, &v->n_sending, &v->n_sent,
		    &v->n_deferred, &v->n_failed, &v->n_skipped };

		if (store_state_counts(st, s, to, "counting deliveries",
		    cause) == -1)
			return -1;
	}
	if (v->n_sent == 0)
		return 0;
	if ((s = store_stmt(st, S_ISSUE_RATE, cause)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, v->id);
	sqlite3_bind_int64(s, 2, now - 60);
	if (sqlite3_step(s) != SQLITE_ROW) {
		store_sqlfail(st, cause, "counting deliveries");
		sqlite3_reset(s);
		return -1;
	}
	v->sent_last_minute = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return 0;
}

/* Fill v from a row of ISSUE_COLS. */
static void
store_issue_row(sqlite3_stmt *s, struct store_issue *v)
{
	memset(v, 0, sizeof(*v));
	v->id = sqlite3_column_int64(s, 0);
	v->list = col_dup(s, 1);
	v->list_id = sqlite3_column_int64(s, 2);
	v->subject = col_dup(s, 3);
	v->template = col_dup(s, 4);
	v->state = col_dup(s, 5);
	v->note = col_dup(s, 6);
	v->send_at = sqlite3_column_int64(s, 7);
	v->created = sqlite3_column_int64(s, 8);
	v->started = sqlite3_column_int64(s, 9);
	v->finished = sqlite3_column_int64(s, 10);
}

/* A copy of a blob or text column, NUL-terminated, its length in *len. */
static unsigned char *
col_bytes(sqlite3_stmt *s, int i, size_t *len)
{
	const void	*p = sqlite3_column_blob(s, i);
	unsigned char	*v;
	int		 n = sqlite3_column_bytes(s, i);

	v = xmalloc((size_t)n + 1);
	if (n > 0)
		memcpy(v, p, (size_t)n);
	v[n] = '\0';
	*len = (size_t)n;
	return v;
}

/* Read one issue; with files != NULL its source and files too. */
static struct store_issue *
store_issue_read(struct store *st, int64_t id, struct store_file **files,
    size_t *nfiles, char **cause)
{
	struct store_issue	*v = NULL;
	struct store_file	*f = NULL, *e;
	sqlite3_stmt		*s;
	size_t			 nf = 0, cap = 0;
	int			 rc, own = 0;

	st->err = STORE_OK;
	/* A read transaction: counts, source and files of one moment. */
	if (sqlite3_get_autocommit(st->db)) {
		if (store_exec(st, "BEGIN", cause, "starting a read") == -1)
			return NULL;
		own = 1;
	}
	if ((s = store_stmt(st, S_ISSUE_GET, cause)) == NULL)
		goto fail;
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		if (rc == SQLITE_DONE)
			store_fail(st, cause, STORE_ENOTFOUND,
			    "issue %lld: no such issue", (long long)id);
		else
			store_sqlfail(st, cause, "reading an issue");
		sqlite3_reset(s);
		goto fail;
	}
	v = xcalloc(1, sizeof(*v));
	store_issue_row(s, v);
	sqlite3_reset(s);
	if (store_issue_counts(st, v, time(NULL), cause) == -1)
		goto fail;
	if (files == NULL)
		goto done;
	if ((s = store_stmt(st, S_ISSUE_SOURCE, cause)) == NULL)
		goto fail;
	sqlite3_bind_int64(s, 1, id);
	if (sqlite3_step(s) != SQLITE_ROW) {
		store_sqlfail(st, cause, "reading an issue's source");
		sqlite3_reset(s);
		goto fail;
	}
	v->source = (char *)col_bytes(s, 0, &v->source_len);
	sqlite3_reset(s);
	if ((s = store_stmt(st, S_FILES, cause)) == NULL)
		goto fail;
	sqlite3_bind_int64(s, 1, id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (nf == cap) {
			cap = cap ? cap * 2 : 4;
			f = xreallocarray(f, cap, sizeof(*f));
		}
		e = &f[nf++];
		e->name = col_dup(s, 0);
		e->mime_type = col_dup(s, 1);
		e->data = col_bytes(s, 2, &e->len);
	}
	if (rc != SQLITE_DONE) {
		store_sqlfail(st, cause, "reading an issue's files");
		sqlite3_reset(s);
		goto fail;
	}
	sqlite3_reset(s);
	*files = f;
	*nfiles = nf;
done:
	if (own)
		store_rollback(st);
	return v;
fail:
	if (own)
		store_rollback(st);
	store_files_free(f, nf);
	store_issue_free(v);
	return NULL;
}

struct store_issue *
store_issue_get(struct store *st, int64_t id, char **cause)
{
	return store_issue_read(st, id, NULL, NULL, cause);
}

struct store_issue *
store_issue_load(struct store *st, int64_t id, struct store_file **files,
    size_t *nfiles, char **cause)
{
	*files = NULL;
	*nfiles = 0;
	return store_issue_read(st, id, files, nfiles, cause);
}

struct store_issue *
store_issue_all(struct store *st, const char *list, size_t *n, char **cause)
{
	struct store_issue	*v = NULL;
	sqlite3_stmt		*s;
	int64_t			 list_id = 0, now = time(NULL);
	size_t			 cap = 0, i;
	int			 rc, own = 0;

	st->err = STORE_OK;
	*n = 0;
	if (sqlite3_get_autocommit(st->db)) {
		if (store_exec(st, "BEGIN", cause, "starting a read") == -1)
			return NULL;
		own = 1;
	}
	if (list != NULL && (list_id = store_list_id(st, list, cause)) == -1)
		goto fail;
	if ((s = store_stmt(st, S_ISSUE_ALL, cause)) == NULL)
		goto fail;
	if (list != NULL)
		sqlite3_bind_int64(s, 1, list_id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 8;
			v = xreallocarray(v, cap, sizeof(*v));
		}
		store_issue_row(s, &v[(*n)++]);
	}
	if (rc != SQLITE_DONE) {
		store_sqlfail(st, cause, "reading issues");
		sqlite3_reset(s);
		goto fail;
	}
	sqlite3_reset(s);
	for (i = 0; i < *n; i++) {
		if (store_issue_counts(st, &v[i], now, cause) == -1)
			goto fail;
	}
	if (own)
		store_rollback(st);
	if (v == NULL)
		v = xcalloc(1, sizeof(*v));
	return v;
fail:
	if (own)
		store_rollback(st);
	store_issue_free_array(v, *n);
	*n = 0;
	return NULL;
}

static void
store_issue_clear(struct store_issue *v)
{
	free(v->list);
	free(v->subject);
	free(v->template);
	free(v->state);
	free(v->note);
	free(v->source);
}

void
store_issue_free(struct store_issue *v)
{
	if (v == NULL)
		return;
	store_issue_clear(v);
	free(v);
}

void
store_issue_free_array(struct store_issue *v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		store_issue_clear(&v[i]);
	free(v);
}

void
store_files_free(struct store_file *f, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		free(f[i].name);
		free(f[i].mime_type);
		free(f[i].data);
	}
	free(f);
}

/*
 * Two text columns of issue id's row by statement k (the state and the
 * name of its list, or the state and the note), both allocated;
 * STORE_ENOTFOUND when there is no such issue.
 */
static int
store_issue_pair(struct store *st, enum store_stmt k, int64_t id, char **a,
    char **b, char **cause)
{
	sqlite3_stmt	*s;
	int		 rc;

	*a = *b = NULL;
	if ((s = store_stmt(st, k, cause)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		if (rc == SQLITE_DONE)
			store_fail(st, cause, STORE_ENOTFOUND,
			    "issue %lld: no such issue", (long long)id);
		else
			store_sqlfail(st, cause, "reading an issue");
		sqlite3_reset(s);
		return -1;
	}
	*a = col_dup(s, 0);
	*b = col_dup(s, 1);
	sqlite3_reset(s);
	return 0;
}

static int
store_issue_state(struct store *st, int64_t id, char **state, char **list,
    char **cause)
{
	return store_issue_pair(st, S_ISSUE_STATE, id, state, list, cause);
}

int
store_issue_peek(struct store *st, int64_t id, char **state, char **note,
    char **cause)
{
	st->err = STORE_OK;
	return store_issue_pair(st, S_ISSUE_PEEK, id, state, note, cause);
}

/* 1 when state is one of the comma-separated states in set. */
static int
store_state_in(const char *state, const char *set)
{
	size_t	len, n = strlen(state);

	while (*set != '\0') {
		len = strcspn(set, ",");
		if (len == n && strncmp(set, state, n) == 0)
			return 1;
		set += len;
		if (*set == ',')
			set++;
	}
	return 0;
}

/* A comma-separated set of states for a message: "a, b or c". */
static char *
store_state_words(const char *set)
{
	struct buf	b;
	const char	*p = set;
	size_t		len;

	buf_init(&b);
	while (*p != '\0') {
		len = strcspn(p, ",");
		if (b.len > 0)
			buf_adds(&b, p[len] == '\0' ? " or " : ", ");
		buf_add(&b, p, len);
		p += len;
		if (*p == ',')
			p++;
	}
	return buf_steal(&b);
}

/* The event kind of a move to state to. */
static const char *
store_transition_kind(const char *from_state, const char *to)
{
	if (strcmp(to, "paused") == 0)
		return "pause";
	if (strcmp(to, "cancelled") == 0)
		return "cancel";
	if (strcmp(to, "sending") == 0)
		return strcmp(from_state, "paused") == 0 ? "resume" : "start";
	if (strcmp(to, "queued") == 0)
		return "requeue";
	return "finish";
}

int
store_issue_transition(struct store *st, int64_t id, const char *from,
    const char *to, const char *note, const char *source, char **cause)
{
	sqlite3_stmt	*s;
	char		*state = NULL, *list = NULL, *detail = NULL;
	char		*words = NULL;
	const char	*p;
	size_t		 len;
	int		 own;

	st->err = STORE_OK;
	if (to == NULL || !store_issue_state_valid(to, strlen(to)))
		return store_fail(st, cause, STORE_EINVAL, "%s: not an issue "
		    "state (queued, sending, paused, sent, cancelled)",
		    to != NULL ? to : "");
	for (p = from; p != NULL && *p != '\0'; p += len + (p[len] == ',')) {
		len = strcspn(p, ",");
		if (!store_issue_state_valid(p, len))
			return store_fail(st, cause, STORE_EINVAL, "%.*s: not "
			    "an issue state", (int)len, p);
	}
	if (note != NULL && store_has_eol(note))
		return store_fail(st, cause, STORE_EINVAL, "a note is one line");
	if (store_txn(st, &own, cause) == -1)
		return -1;
	if (store_issue_state(st, id, &state, &list, cause) == -1)
		goto fail;
	if (from != NULL && !store_state_in(state, from)) {
		words = store_state_words(from);
		store_fail(st, cause, STORE_EREFUSED, "issue %lld is %s, not "
		    "%s", (long long)id, state, words);
		goto fail;
	}
	if ((s = store_stmt(st, S_ISSUE_SET, cause)) == NULL)
		goto fail;
	sqlite3_bind_int64(s, 1, id);
	bind_text(s, 2, to);
	bind_text(s, 3, note);
	sqlite3_bind_int64(s, 4, (sqlite3_int64)time(NULL));
	if (store_step_done(st, s, cause, "changing an issue") == -1)
		goto fail;
	detail = note != NULL ? xsprintf("issue %lld: %s: %s", (long long)id,
	    to, note) : xsprintf("issue %lld: %s", (long long)id, to);
	if (store_event(st, store_transition_kind(state, to), list, NULL,
	    source != NULL ? source : "cli", detail, cause) == -1)
		goto fail;
	if (store_txn_end(st, own, cause) == -1)
		goto fail;
	free(detail);
	free(state);
	free(list);
	return 0;
fail:
	store_txn_abort(st, own);
	free(words);
	free(detail);
	free(state);
	free(list);
	return -1;
}

int
store_issue_retry(struct store *st, int64_t id, int64_t now, int64_t *n,
    char **cause)
{
	sqlite3_stmt	*s;
	char		*state = NULL, *list = NULL, *detail = NULL;
	int		 own;

	st->err = STORE_OK;
	*n = 0;
	if (store_txn(st, &own, cause) == -1)
		return -1;
	if (store_issue_state(st, id, &state, &list, cause) == -1)
		goto fail;
	if (!store_state_in(state, "sending,paused,sent")) {
		store_fail(st, cause, STORE_EREFUSED, "issue %lld is %s, not "
		    "sending, paused or sent", (long long)id, state);
		goto fail;
	}
	if ((s = store_stmt(st, S_RETRY, cause)) == NULL)
		goto fail;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, now);
	if (store_step_done(st, s, cause, "retrying deliveries") == -1)
		goto fail;
	*n = sqlite3_changes64(st->db);
	/* A paused issue stays paused: resuming is the coordinator's call. */
	if (*n > 0 && strcmp(state, "sent") == 0) {
		if ((s = store_stmt(st, S_ISSUE_REOPEN, cause)) == NULL)
			goto fail;
		sqlite3_bind_int64(s, 1, id);
		if (store_step_done(st, s, cause, "reopening an issue") == -1)
			goto fail;
	}
	if (*n > 0) {
		detail = xsprintf("issue %lld: %lld failed deliver%s to retry",
		    (long long)id, (long long)*n, *n == 1 ? "y" : "ies");
		if (store_event(st, "retry", list, NULL, "cli", detail,
		    cause) == -1)
			goto fail;
	}
	if (store_txn_end(st, own, cause) == -1)
		goto fail;
	free(detail);
	free(state);
	free(list);
	return 0;
fail:
	store_txn_abort(st, own);
	*n = 0;
	free(detail);
	free(state);
	free(list);
	return -1;
}

int
store_set_cache(struct store *st, int kib, char **cause)
{
	char	sql[64];

	snprintf(sql, sizeof(sql), "PRAGMA cache_size = -%d", kib);
	return store_exec(st, sql, cause, "cache_size");
}

int64_t
store_data_version(struct store *st)
{
	sqlite3_stmt	*s;
	int64_t		 v = -1;

	if ((s = store_stmt(st, S_DATA_VERSION, NULL)) == NULL)
		return -1;
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return v;
}

/* Rows of (issue, list, state, count) from one grouped query. */
static int
store_counts(struct store *st, const char *sql, struct store_count **out,
    size_t *n, char **cause)
{
	sqlite3_stmt		*s;
	struct store_count	*v = NULL, *c;
	size_t			 nv = 0;
	int			 rc;
	const char		*t;

	*out = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return store_sqlfail(st, cause, "counting");
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		v = xreallocarray(v, nv + 1, sizeof(*v));
		c = &v[nv++];
		c->issue = sqlite3_column_int64(s, 0);
		t = (const char *)sqlite3_column_text(s, 1);
		c->list = xstrdup(t != NULL ? t : "");
		t = (const char *)sqlite3_column_text(s, 2);
		c->state = xstrdup(t != NULL ? t : "");
		c->n = sqlite3_column_int64(s, 3);
	}
	if (rc != SQLITE_DONE) {
		store_sqlfail(st, cause, "counting");
		sqlite3_finalize(s);
		store_counts_free(v, nv);
		return -1;
	}
	sqlite3_finalize(s);
	*out = v;
	*n = nv;
	return 0;
}

int
store_delivery_counts(struct store *st, struct store_count **out, size_t *n,
    char **cause)
{
	return store_counts(st,
	    "SELECT d.issue_id, l.name, d.state, count(*) FROM deliveries d"
	    " JOIN issues i ON i.id = d.issue_id"
	    " JOIN lists l ON l.id = i.list_id"
	    " GROUP BY d.issue_id, d.state ORDER BY d.issue_id, d.state",
	    out, n, cause);
}

int
store_subscription_counts(struct store *st, struct store_count **out,
    size_t *n, char **cause)
{
	return store_counts(st,
	    "SELECT 0, l.name, s.state, count(*) FROM subscriptions s"
	    " JOIN lists l ON l.id = s.list_id"
	    " GROUP BY l.name, s.state ORDER BY l.name, s.state",
	    out, n, cause);
}

void
store_counts_free(struct store_count *v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		free(v[i].list);
		free(v[i].state);
	}
	free(v);
}

/* Forget attempt counts older than STORE_ATTEMPT_KEEP, once a minute. */
static int
store_attempt_prune(struct store *st, int64_t now, char **cause)
{
	sqlite3_stmt	*s;

	if (now / 60 == st->pruned)
		return 0;
	if ((s = store_stmt(st, S_LOG_PRUNE, cause)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, now - STORE_ATTEMPT_KEEP);
	if (store_step_done(st, s, cause, "pruning the attempt log") == -1)
		return -1;
	st->pruned = now / 60;
	return 0;
}

int
store_recover(struct store *st, int64_t *n, char **cause)
{
	int	own;

	st->err = STORE_OK;
	*n = 0;
	if (store_txn(st, &own, cause) == -1)
		return -1;
	if (store_simple(st, S_RECOVER, cause, "recovering deliveries") == -1)
		goto fail;
	*n = sqlite3_changes64(st->db);
	if (store_simple(st, S_MAILQ_RECOVER, cause,
	    "recovering the mail queue") == -1)
		goto fail;
	*n += sqlite3_changes64(st->db);
	if (store_attempt_prune(st, time(NULL), cause) == -1)
		goto fail;
	if (store_txn_end(st, own, cause) == -1)
		goto fail;
	return 0;
fail:
	store_txn_abort(st, own);
	*n = 0;
	return -1;
}

/* The ids that statement id (with ?1 bound to *arg if any) returns. */
static int
store_ids(struct store *st, enum store_stmt id, const int64_t *arg,
    int64_t **ids, size_t *n, char **cause)
{
	sqlite3_stmt	*s;
	size_t		 cap = 0;
	int		 rc;

	st->err = STORE_OK;
	*ids = NULL;
	*n = 0;
	if ((s = store_stmt(st, id, cause)) == NULL)
		return -1;
	if (arg != NULL)
		sqlite3_bind_int64(s, 1, *arg);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 8;
			*ids = xreallocarray(*ids, cap, sizeof(**ids));
		}
		(*ids)[(*n)++] = sqlite3_column_int64(s, 0);
	}
	if (rc != SQLITE_DONE) {
		store_sqlfail(st, cause, "reading issues");
		sqlite3_reset(s);
		free(*ids);
		*ids = NULL;
		*n = 0;
		return -1;
	}
	sqlite3_reset(s);
	return 0;
}

int
store_issues_due(struct store *st, int64_t now, int64_t **ids, size_t *n,
    char **cause)
{
	return store_ids(st, S_ISSUES_DUE, &now, ids, n, cause);
}

int
store_issues_sending(struct store *st, int64_t **ids, size_t *n,
    char **cause)
{
	return store_ids(st, S_ISSUES_SENDING, NULL, ids, n, cause);
}

int
store_issue_start(struct store *st, int64_t id, int64_t now, int64_t *n,
    char **cause)
{
	sqlite3_stmt	*s;
	char		*state = NULL, *list = NULL, *detail = NULL;
	int64_t		 list_id;
	int		 own;

	st->err = STORE_OK;
	*n = 0;
	if (store_txn(st, &own, cause) == -1)
		return -1;
	if (store_issue_state(st, id, &state, &list, cause) == -1)
		goto fail;
	if (strcmp(state, "queued") != 0) {
		store_fail(st, cause, STORE_EREFUSED, "issue %lld is %s, not "
		    "queued", (long long)id, state);
		goto fail;
	}
	if ((list_id = store_list_id(st, list, cause)) == -1)
		goto fail;
	if ((s = store_stmt(st, S_START, cause)) == NULL)
		goto fail;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, now);
	sqlite3_bind_int64(s, 3, list_id);
	if (store_step_done(st, s, cause, "filling the outbox") == -1)
		goto fail;
	*n = sqlite3_changes64(st->db);
	if ((s = store_stmt(st, S_ISSUE_STARTED, cause)) == NULL)
		goto fail;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, now);
	if (store_step_done(st, s, cause, "starting an issue") == -1)
		goto fail;
	detail = xsprintf("issue %lld: %lld recipient%s", (long long)id,
	    (long long)*n, *n == 1 ? "" : "s");
	if (store_event(st, "start", list, NULL, "heraldd", detail,
	    cause) == -1)
		goto fail;
	if (store_txn_end(st, own, cause) == -1)
		goto fail;
	free(detail);
	free(state);
	free(list);
	return 0;
fail:
	store_txn_abort(st, own);
	*n = 0;
	free(detail);
	free(state);
	free(list);
	return -1;
}

int
store_claim(struct store *st, int64_t issue, int64_t now, size_t max,
    struct store_claim **out, size_t *n, char **cause)
{
	struct store_subscriber	 r;
	struct store_claim	*v = NULL, *c;
	sqlite3_stmt		*s;
	int64_t			*skip = NULL;
	size_t			 nskip, i, want, cap = 0, skipcap = 0;
	int			 rc, own, more;

	st->err = STORE_OK;
	*out = NULL;
	*n = 0;
	if (max == 0)
		return 0;
	if (max > INT32_MAX)
		max = INT32_MAX;
	if (store_txn(st, &own, cause) == -1)
		goto fail;
	/*
	 * Recipients who left are marked skipped and do not count: read
	 * again until max are taken or nothing is due.  Rows are read
	 * first and changed after, never while the query walks them.
	 */
	do {
		want = max - *n;
		nskip = 0;
		if ((s = store_stmt(st, S_CLAIM, cause)) == NULL)
			goto fail;
		sqlite3_bind_int64(s, 1, issue);
		sqlite3_bind_int64(s, 2, now);
		sqlite3_bind_int64(s, 3, (sqlite3_int64)want);
		while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
			if (!sqlite3_column_int(s, 7)) {
				if (nskip == skipcap) {
					skipcap = skipcap ? skipcap * 2 : 8;
					skip = xreallocarray(skip, skipcap,
					    sizeof(*skip));
				}
				skip[nskip++] = sqlite3_column_int64(s, 0);
				continue;
			}
			if (*n == cap) {
				cap = cap ? cap * 2 : 16;
				v = xreallocarray(v, cap, sizeof(*v));
			}
			c = &v[*n];
			memset(c, 0, sizeof(*c));
			c->delivery_id = sqlite3_column_int64(s, 0);
			c->subscriber_id = sqlite3_column_int64(s, 1);
			c->attempts = sqlite3_column_int64(s, 2);
			c->email = col_dup(s, 3);
			c->name = col_dup(s, 4);
			c->lang = col_dup(s, 5);
			(*n)++;
			memset(&r, 0, sizeof(r));
			if (store_attrs_parse(st, &r,
			    (const char *)sqlite3_column_text(s, 6),
			    cause) == -1) {
				sqlite3_reset(s);
				goto fail;
			}
			c->attrs = r.attrs;
			c->nattrs = r.nattrs;
		}
		if (rc != SQLITE_DONE) {
			store_sqlfail(st, cause, "claiming deliveries");
			sqlite3_reset(s);
			goto fail;
		}
		sqlite3_reset(s);
		for (i = 0; i < nskip; i++) {
			if ((s = store_stmt(st, S_CLAIM_SKIP, cause)) == NULL)
				goto fail;
			sqlite3_bind_int64(s, 1, skip[i]);
			bind_text(s, 2, "unsubscribed before sending");
			sqlite3_bind_int64(s, 3, now);
			if (store_step_done(st, s, cause, "skipping a "
			    "delivery") == -1)
				goto fail;
		}
		for (i = max - want; i < *n; i++) {
			if ((s = store_stmt(st, S_CLAIM_TAKE, cause)) == NULL)
				goto fail;
			sqlite3_bind_int64(s, 1, v[i].delivery_id);
			sqlite3_bind_int64(s, 2, now);
			if (store_step_done(st, s, cause, "claiming a "
			    "delivery") == -1)
				goto fail;
		}
		more = nskip > 0 && *n < max;
	} while (more);
	if (store_txn_end(st, own, cause) == -1)
		goto fail;
	free(skip);
	if (*n == 0) {
		free(v);
		v = NULL;
	}
	*out = v;
	return 0;
fail:
	store_txn_abort(st, own);
	store_claim_free(v, *n);
	free(skip);
	*n = 0;
	return -1;
}

void
store_claim_free(struct store_claim *v, size_t n)
{
	size_t	i, k;

	for (i = 0; i < n; i++) {
		free(v[i].email);
		free(v[i].name);
		free(v[i].lang);
		for (k = 0; k < v[i].nattrs; k++) {
			free(v[i].attrs[k].key);
			free(v[i].attrs[k].val);
		}
		free(v[i].attrs);
	}
	free(v);
}

/* Count a hard bounce against the subscriber; disable at the limit. */
static int
store_bounce(struct store *st, const struct store_result *r, int64_t now,
    char **cause)
{
	sqlite3_stmt	*s;
	char		*before = NULL, *detail = NULL;
	int64_t		 bounces;
	int		 rc, disabled;

	if ((s = store_stmt(st, S_BOUNCE_STATE, cause)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, r->subscriber_id);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(s);
		if (rc == SQLITE_DONE)
			return 0;	/* removed meanwhile: nothing to count */
		return store_sqlfail(st, cause, "reading a subscriber");
	}
	before = col_dup(s, 0);
	sqlite3_reset(s);
	if ((s = store_stmt(st, S_BOUNCE, cause)) == NULL)
		goto fail;
	sqlite3_bind_int64(s, 1, r->subscriber_id);
	sqlite3_bind_int(s, 2, STORE_BOUNCE_LIMIT);
	sqlite3_bind_int64(s, 3, now);
	if (sqlite3_step(s) != SQLITE_ROW) {
		store_sqlfail(st, cause, "counting a bounce");
		sqlite3_reset(s);
		goto fail;
	}
	bounces = sqlite3_column_int64(s, 0);
	disabled = before != NULL && strcmp(before, "active") == 0 &&
	    sqlite3_column_text(s, 1) != NULL &&
	    strcmp((const char *)sqlite3_column_text(s, 1), "bounced") == 0;
	sqlite3_reset(s);
	detail = xsprintf("%ld %s", r->code, r->reply != NULL ? r->reply : "");
	if (store_event(st, "bounce", r->list, r->email, "heraldd", detail,
	    cause) == -1)
		goto fail;
	if (disabled) {
		free(detail);
		detail = xsprintf("%lld hard bounces: no more mail",
		    (long long)bounces);
		if (store_event(st, "disable", r->list, r->email, "heraldd",
		    detail, cause) == -1)
			goto fail;
	}
	free(detail);
	free(before);
	return 0;
fail:
	free(detail);
	free(before);
	return -1;
}

/* 1 when a result took an SMTP exchange (counts against rate limits). */
static int
store_result_attempted(const struct store_result *r)
{
	return strcmp(r->state, "sent") == 0 || r->code > 0;
}

int
store_results(struct store *st, const struct store_result *res, size_t n,
    int64_t now, char **cause)
{
	sqlite3_stmt			*s;
	const struct store_result	*r;
	int64_t				 attempts = 0;
	size_t				 i;
	int				 own;

	st->err = STORE_OK;
	for (i = 0; i < n; i++) {
		r = &res[i];
		if (r->state == NULL || (strcmp(r->state, "sent") != 0 &&
		    strcmp(r->state, "deferred") != 0 &&
		    strcmp(r->state, "failed") != 0 &&
		    strcmp(r->state, "pending") != 0))
			return store_fail(st, cause, STORE_EINVAL, "delivery "
			    "%lld: result %s is not sent, deferred, failed or "
			    "pending",
			    (long long)r->delivery_id,
			    r->state != NULL ? r->state : "(none)");
	}
	if (store_txn(st, &own, cause) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		r = &res[i];
		if (strcmp(r->state, "pending") == 0) {
			/* Claimed but never handed to SMTP: put back. */
			if ((s = store_stmt(st, S_RELEASE, cause)) == NULL)
				goto fail;
			sqlite3_bind_int64(s, 1, r->delivery_id);
			sqlite3_bind_int64(s, 2, now);
			if (store_step_done(st, s, cause,
			    "putting back a message") == -1)
				goto fail;
			continue;
		}
		if ((s = store_stmt(st, S_RESULT, cause)) == NULL)
			goto fail;
		sqlite3_bind_int64(s, 1, r->delivery_id);
		bind_text(s, 2, r->state);
		if (r->code > 0)
			sqlite3_bind_int64(s, 3, r->code);
		bind_text(s, 4, r->reply);
		sqlite3_bind_int64(s, 5, r->next_attempt);
		bind_text(s, 6, r->message_id);
		sqlite3_bind_int64(s, 7, now);
		if (store_step_done(st, s, cause, "recording a result") == -1)
			goto fail;
		/*
		 * No row: the delivery went with its issue or subscriber
		 * (heraldctl removed them) while the message was out.
		 */
		if (r->bounce && sqlite3_changes(st->db) == 1 &&
		    store_bounce(st, r, now, cause) == -1)
			goto fail;
		if (store_result_attempted(r))
			attempts++;
	}
	if (attempts > 0) {
		if ((s = store_stmt(st, S_ATTEMPT_ADD, cause)) == NULL)
			goto fail;
		sqlite3_bind_int64(s, 1, now);
		sqlite3_bind_int64(s, 2, attempts);
		if (store_step_done(st, s, cause, "logging attempts") == -1)
			goto fail;
	}
	if (store_attempt_prune(st, now, cause) == -1)
		goto fail;
	if (store_txn_end(st, own, cause) == -1)
		goto fail;
	return 0;
fail:
	store_txn_abort(st, own);
	return -1;
}

int
store_issue_finish(struct store *st, int64_t id, int64_t now, int *done,
    char **cause)
{
	sqlite3_stmt	*s;
	char		*state = NULL, *list = NULL, *detail = NULL;
	struct store_issue v;
	int		 own;

	st->err = STORE_OK;
	*done = 0;
	if (store_txn(st, &own, cause) == -1)
		return -1;
	if ((s = store_stmt(st, S_ISSUE_FINISH, cause)) == NULL)
		goto fail;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, now);
	if (store_step_done(st, s, cause, "finishing an issue") == -1)
		goto fail;
	if (sqlite3_changes(st->db) == 1) {
		if (store_issue_state(st, id, &state, &list, cause) == -1)
			goto fail;
		memset(&v, 0, sizeof(v));
		v.id = id;
		if (store_issue_counts(st, &v, now, cause) == -1)
			goto fail;
		detail = xsprintf("issue %lld: %lld sent, %lld failed, "
		    "%lld skipped", (long long)id, (long long)v.n_sent,
		    (long long)v.n_failed, (long long)v.n_skipped);
		if (store_event(st, "finish", list, NULL, "heraldd", detail,
		    cause) == -1)
			goto fail;
		*done = 1;
	}
	if (store_txn_end(st, own, cause) == -1)
		goto fail;
	free(detail);
	free(state);
	free(list);
	return 0;
fail:
	store_txn_abort(st, own);
	*done = 0;
	free(detail);
	free(state);
	free(list);
	return -1;
}

int
store_attempt_log(struct store *st, int64_t since, int64_t **secs,
    int64_t **counts, size_t *n, char **cause)
{
	sqlite3_stmt	*s;
	size_t		 cap = 0;
	int		 rc;

	st->err = STORE_OK;
	*secs = *counts = NULL;
	*n = 0;
	if ((s = store_stmt(st, S_ATTEMPT_LOG, cause)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, since);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			*secs = xreallocarray(*secs, cap, sizeof(**secs));
			*counts = xreallocarray(*counts, cap,
			    sizeof(**counts));
		}
		(*secs)[*n] = sqlite3_column_int64(s, 0);
		(*counts)[(*n)++] = sqlite3_column_int64(s, 1);
	}
	if (rc != SQLITE_DONE) {
		store_sqlfail(st, cause, "reading the attempt log");
		sqlite3_reset(s);
		free(*secs);
		free(*counts);
		*secs = *counts = NULL;
		*n = 0;
		return -1;
	}
	sqlite3_reset(s);
	return 0;
}

/*
 * ---- Web subscriptions and the mail queue ----
 */

void
store_target_free(struct store_target *t)
{
	if (t == NULL)
		return;
	free(t->email);
	free(t->name);
	free(t->lang);
	free(t->list_name);
	free(t->list_title);
	free(t->optin);
	free(t->state);
	memset(t, 0, sizeof(*t));
}

/* Fill t from columns first.. of s (the order of S_TARGET). */
static void
store_target_row(sqlite3_stmt *s, int first, struct store_target *t)
{
	t->subscriber = sqlite3_column_int64(s, first);
	t->email = col_dup(s, first + 1);
	t->name = col_dup(s, first + 2);
	t->lang = col_dup(s, first + 3);
	t->list = sqlite3_column_int64(s, first + 4);
	t->list_name = col_dup(s, first + 5);
	t->list_title = col_dup(s, first + 6);
	t->optin = col_dup(s, first + 7);
	t->state = col_dup(s, first + 8);
}

/* Read a target in the current transaction (or snapshot). */
static int
store_target_read(struct store *st, int64_t subscriber, int64_t list,
    struct store_target *t, char **cause)
{
	sqlite3_stmt	*s;
	int		 rc;

	memset(t, 0, sizeof(*t));
	if ((s = store_stmt(st, S_TARGET, cause)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, subscriber);
	sqlite3_bind_int64(s, 2, list);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		store_target_row(s, 0, t);
		sqlite3_reset(s);
		return 0;
	}
	if (rc == SQLITE_DONE)
		store_fail(st, cause, STORE_ENOTFOUND, "subscriber %lld or "
		    "list %lld: no such subscriber or list",
		    (long long)subscriber, (long long)list);
	else
		store_sqlfail(st, cause, "reading a subscription");
	sqlite3_reset(s);
	return -1;
}

int
store_target_get(struct store *st, int64_t subscriber, int64_t list,
    struct store_target *t, char **cause)
{
	st->err = STORE_OK;
	return store_target_read(st, subscriber, list, t, cause);
}

/* Bind ?1 subscriber, ?2 list, ?3 why, ?4 now, and run statement id. */
static int
store_web_skip(struct store *st, enum store_stmt id, int64_t subscriber,
    int64_t list, const char *why, int64_t now, char **cause)
{
	sqlite3_stmt	*s;

	if ((s = store_stmt(st, id, cause)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, subscriber);
	sqlite3_bind_int64(s, 2, list);
	bind_text(s, 3, why);
	sqlite3_bind_int64(s, 4, now);
	return store_step_done(st, s, cause, "skipping queued messages");
}

int
store_web_unsubscribe(struct store *st, int64_t subscriber, int64_t list,
    const char *source, int64_t now, int *changed, char **cause)
{
	struct store_target	t;

	st->err = STORE_OK;
	*changed = 0;
	memset(&t, 0, sizeof(t));
	if (store_begin(st, cause) == -1)
		return -1;
	if (store_target_read(st, subscriber, list, &t, cause) == -1)
		goto fail;
	if (t.state == NULL) {
		store_fail(st, cause, STORE_ENOTFOUND, "%s: not subscribed "
		    "to %s", t.email, t.list_name);
		goto fail;
	}
	if (strcmp(t.state, "unsubscribed") != 0) {
		if (store_subn_write(st, list, subscriber, t.state,
		    "unsubscribed", source, now, cause) == -1)
			goto fail;
		if (store_event(st, "unsubscribe", t.list_name, t.email,
		    source, NULL, cause) == -1)
			goto fail;
		*changed = 1;
	}
	/* Also after a repeat: nothing queued for them may go out. */
	if (store_web_skip(st, S_WEB_SKIP_DELIVERIES, subscriber, list,
	    "unsubscribed before it was sent", now, cause) == -1)
		goto fail;
	if (store_web_skip(st, S_WEB_SKIP_MAILQ, subscriber, list,
	    "unsubscribed before it was sent", now, cause) == -1)
		goto fail;
	if (store_commit(st, cause) == -1)
		goto fail;
	store_target_free(&t);
	return 0;
fail:
	store_rollback(st);
	store_target_free(&t);
	*changed = 0;
	return -1;
}

/* Confirmations queued for a subscriber since `since`. */
static int
store_mailq_recent(struct store *st, int64_t subscriber, int64_t since,
    int64_t *n, char **cause)
{
	sqlite3_stmt	*s;

	if ((s = store_stmt(st, S_MAILQ_RECENT, cause)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, subscriber);
	sqlite3_bind_int64(s, 2, since);
	if (sqlite3_step(s) != SQLITE_ROW) {
		store_sqlfail(st, cause, "counting confirmations");
		sqlite3_reset(s);
		return -1;
	}
	*n = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return 0;
}

/* Queue one message of kind for a subscription. */
static int
store_mailq_add(struct store *st, const char *kind, int64_t subscriber,
    int64_t list, int64_t now, char **cause)
{
	sqlite3_stmt	*s;

	if ((s = store_stmt(st, S_MAILQ_INSERT, cause)) == NULL)
		return -1;
	bind_text(s, 1, kind);
	sqlite3_bind_int64(s, 2, subscriber);
	sqlite3_bind_int64(s, 3, list);
	sqlite3_bind_int64(s, 4, now);
	return store_step_done(st, s, cause, "queueing a confirmation");
}

/*
 * Find or create a subscriber for the web: a known one keeps their name
 * and language, which only fill what is unknown.
 */
static int
store_web_subscriber(struct store *st, const char *email, const char *name,
    const char *lang, int64_t now, int64_t *id, char **cause)
{
	sqlite3_stmt	*s;

	if ((s = store_stmt(st, S_SUBR_INSERT, cause)) == NULL)
		return -1;
	bind_text(s, 1, email);
	bind_text(s, 2, name);
	bind_text(s, 3, lang);
	sqlite3_bind_null(s, 4);
	sqlite3_bind_int64(s, 5, (sqlite3_int64)now);
	if (store_step_done(st, s, cause, email) == -1)
		return -1;
	if (sqlite3_changes(st->db) == 1) {
		*id = sqlite3_last_insert_rowid(st->db);
		return 0;
	}
	if (store_subr_id(st, email, id, cause) == -1)
		return -1;
	if ((s = store_stmt(st, S_SUBR_FILL, cause)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, *id);
	bind_text(s, 2, name);
	bind_text(s, 3, lang);
	sqlite3_bind_int64(s, 4, (sqlite3_int64)now);
	return store_step_done(st, s, cause, email);
}

int
store_web_subscribe(struct store *st, const char *list, const char *email,
    const char *name, const char *lang, const char *source, int64_t now,
    int max_per_day, int *outcome, char **cause)
{
	struct store_target	 t;
	int64_t			 list_id, subr_id, recent;
	const char		*detail;
	int			 out;

	st->err = STORE_OK;
	memset(&t, 0, sizeof(t));
	if (store_begin(st, cause) == -1)
		return -1;
	if ((list_id = store_list_id(st, list, cause)) == -1)
		goto fail;
	if (store_web_subscriber(st, email, name, lang, now, &subr_id,
	    cause) == -1)
		goto fail;
	if (store_target_read(st, subr_id, list_id, &t, cause) == -1)
		goto fail;
	if (t.state != NULL && strcmp(t.state, "confirmed") == 0) {
		out = STORE_SUBSCRIBE_ALREADY;
		goto done;
	}
	if (strcmp(t.optin, "single") == 0) {
		out = STORE_SUBSCRIBE_CONFIRMED;
		detail = "confirmed";
		if (store_subn_write(st, list_id, subr_id, t.state != NULL ?
		    t.state : "none", "confirmed", source, now, cause) == -1)
			goto fail;
	} else {
		if (store_subn_write(st, list_id, subr_id, t.state != NULL ?
		    t.state : "none", "pending", source, now, cause) == -1)
			goto fail;
		if (store_mailq_recent(st, subr_id, now - 86400, &recent,
		    cause) == -1)
			goto fail;
		if (max_per_day > 0 && recent >= max_per_day) {
			out = STORE_SUBSCRIBE_LIMITED;
			detail = "pending, limited";
		} else {
			if (store_mailq_add(st, "confirm", subr_id, list_id,
			    now, cause) == -1)
				goto fail;
			out = STORE_SUBSCRIBE_QUEUED;
			detail = "pending";
		}
	}
	if (store_event(st, "subscribe", t.list_name, t.email, source, detail,
	    cause) == -1)
		goto fail;
done:
	if (store_commit(st, cause) == -1)
		goto fail;
	store_target_free(&t);
	*outcome = out;
	return 0;
fail:
	store_rollback(st);
	store_target_free(&t);
	return -1;
}

int
store_web_confirm(struct store *st, int64_t subscriber, int64_t list,
    const char *source, int64_t now, int *changed, char **cause)
{
	struct store_target	t;

	st->err = STORE_OK;
	*changed = 0;
	memset(&t, 0, sizeof(t));
	if (store_begin(st, cause) == -1)
		return -1;
	if (store_target_read(st, subscriber, list, &t, cause) == -1)
		goto fail;
	if (t.state == NULL) {
		store_fail(st, cause, STORE_ENOTFOUND, "%s: not subscribed "
		    "to %s", t.email, t.list_name);
		goto fail;
	}
	if (strcmp(t.state, "unsubscribed") == 0) {
		store_fail(st, cause, STORE_EREFUSED, "%s: unsubscribed from "
		    "%s; an old confirmation does not subscribe again",
		    t.email, t.list_name);
		goto fail;
	}
	if (strcmp(t.state, "pending") == 0) {
		if (store_subn_write(st, list, subscriber, t.state,
		    "confirmed", source, now, cause) == -1)
			goto fail;
		if (store_event(st, "confirm", t.list_name, t.email, source,
		    NULL, cause) == -1)
			goto fail;
		*changed = 1;
	}
	if (store_commit(st, cause) == -1)
		goto fail;
	store_target_free(&t);
	return 0;
fail:
	store_rollback(st);
	store_target_free(&t);
	*changed = 0;
	return -1;
}

int
store_web_bounce(struct store *st, int64_t subscriber, int64_t list,
    const char *source, const char *detail, int64_t now, char **cause)
{
	struct store_target	 t;
	sqlite3_stmt		*s;
	char			*before = NULL, *why = NULL;
	int64_t			 bounces;
	int			 disabled;

	st->err = STORE_OK;
	memset(&t, 0, sizeof(t));
	if (store_begin(st, cause) == -1)
		return -1;
	if (store_target_read(st, subscriber, list, &t, cause) == -1)
		goto fail;
	if ((s = store_stmt(st, S_SUBR_STATE, cause)) == NULL)
		goto fail;
	sqlite3_bind_int64(s, 1, subscriber);
	if (sqlite3_step(s) != SQLITE_ROW) {
		store_sqlfail(st, cause, "reading a subscriber");
		sqlite3_reset(s);
		goto fail;
	}
	before = col_dup(s, 0);
	sqlite3_reset(s);
	if ((s = store_stmt(st, S_BOUNCE, cause)) == NULL)
		goto fail;
	sqlite3_bind_int64(s, 1, subscriber);
	sqlite3_bind_int(s, 2, STORE_BOUNCE_LIMIT);
	sqlite3_bind_int64(s, 3, now);
	if (sqlite3_step(s) != SQLITE_ROW) {
		store_sqlfail(st, cause, "counting a bounce");
		sqlite3_reset(s);
		goto fail;
	}
	bounces = sqlite3_column_int64(s, 0);
	disabled = before != NULL && strcmp(before, "active") == 0 &&
	    sqlite3_column_text(s, 1) != NULL &&
	    strcmp((const char *)sqlite3_column_text(s, 1), "bounced") == 0;
	sqlite3_reset(s);
	if (store_event(st, "bounce", t.list_name, t.email, source, detail,
	    cause) == -1)
		goto fail;
	if (disabled) {
		why = xsprintf("%lld hard bounces: no more mail",
		    (long long)bounces);
		if (store_event(st, "disable", t.list_name, t.email, source,
		    why, cause) == -1)
			goto fail;
	}
	if (store_commit(st, cause) == -1)
		goto fail;
	store_target_free(&t);
	free(before);
	free(why);
	return 0;
fail:
	store_rollback(st);
	store_target_free(&t);
	free(before);
	free(why);
	return -1;
}

void
store_mailq_msgs_free(struct store_mailq_msg *v, size_t n)
{
	size_t	i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(v[i].kind);
		store_target_free(&v[i].t);
		free(v[i].from_addr);
		free(v[i].from_name);
		free(v[i].reply_to);
	}
	free(v);
}

int
store_mailq_claim(struct store *st, int64_t now, size_t max,
    struct store_mailq_msg **out, size_t *n, char **cause)
{
	sqlite3_stmt		*s, *u;
	struct store_mailq_msg	*v = NULL, *m;
	int64_t			*skip = NULL;
	size_t			 nv = 0, nskip = 0, i;
	int			 rc, own;

	st->err = STORE_OK;
	*out = NULL;
	*n = 0;
	if (max == 0)
		return 0;
	if (store_txn(st, &own, cause) == -1)
		return -1;
	if ((s = store_stmt(st, S_MAILQ_CLAIM, cause)) == NULL)
		goto fail;
	sqlite3_bind_int64(s, 1, now);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)max);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (!sqlite3_column_int(s, 16)) {
			skip = xreallocarray(skip, nskip + 1, sizeof(*skip));
			skip[nskip++] = sqlite3_column_int64(s, 0);
			continue;
		}
		v = xreallocarray(v, nv + 1, sizeof(*v));
		m = &v[nv++];
		memset(m, 0, sizeof(*m));
		m->id = sqlite3_column_int64(s, 0);
		m->kind = col_dup(s, 1);
		m->attempts = sqlite3_column_int64(s, 2);
		m->created = sqlite3_column_int64(s, 3);
		store_target_row(s, 4, &m->t);
		m->from_addr = col_dup(s, 13);
		m->from_name = col_dup(s, 14);
		m->reply_to = col_dup(s, 15);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		store_sqlfail(st, cause, "claiming queued mail");
		goto fail;
	}
	for (i = 0; i < nskip; i++) {
		if ((u = store_stmt(st, S_MAILQ_SKIP, cause)) == NULL)
			goto fail;
		sqlite3_bind_int64(u, 1, skip[i]);
		bind_text(u, 2, "no longer wanted: the subscription is not "
		    "pending");
		sqlite3_bind_int64(u, 3, now);
		if (store_step_done(st, u, cause, "skipping queued mail") == -1)
			goto fail;
	}
	for (i = 0; i < nv; i++) {
		if ((u = store_stmt(st, S_MAILQ_TAKE, cause)) == NULL)
			goto fail;
		sqlite3_bind_int64(u, 1, v[i].id);
		sqlite3_bind_int64(u, 2, now);
		if (store_step_done(st, u, cause, "claiming queued mail") == -1)
			goto fail;
	}
	if (store_txn_end(st, own, cause) == -1)
		goto fail;
	free(skip);
	*out = v;
	*n = nv;
	return 0;
fail:
	store_txn_abort(st, own);
	free(skip);
	store_mailq_msgs_free(v, nv);
	return -1;
}

int
store_mailq_results(struct store *st, const struct store_mailq_result *res,
    size_t n, int64_t now, char **cause)
{
	sqlite3_stmt			*s;
	const struct store_mailq_result	*r;
	int64_t				 attempts = 0;
	size_t				 i;
	int				 own;

	st->err = STORE_OK;
	for (i = 0; i < n; i++) {
		r = &res[i];
		if (r->state == NULL || (strcmp(r->state, "sent") != 0 &&
		    strcmp(r->state, "deferred") != 0 &&
		    strcmp(r->state, "failed") != 0))
			return store_fail(st, cause, STORE_EINVAL, "queued "
			    "mail %lld: result %s is not sent, deferred or "
			    "failed", (long long)r->id,
			    r->state != NULL ? r->state : "(none)");
	}
	if (n == 0)
		return 0;
	if (store_txn(st, &own, cause) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		r = &res[i];
		if ((s = store_stmt(st, S_MAILQ_RESULT, cause)) == NULL)
			goto fail;
		sqlite3_bind_int64(s, 1, r->id);
		bind_text(s, 2, r->state);
		if (r->code > 0)
			sqlite3_bind_int64(s, 3, r->code);
		bind_text(s, 4, r->reply);
		sqlite3_bind_int64(s, 5, r->next_attempt);
		bind_text(s, 6, r->message_id);
		sqlite3_bind_int64(s, 7, now);
		if (store_step_done(st, s, cause, "recording a result") == -1)
			goto fail;
		if (strcmp(r->state, "sent") == 0 || r->code > 0)
			attempts++;
	}
	if (attempts > 0) {
		if ((s = store_stmt(st, S_ATTEMPT_ADD, cause)) == NULL)
			goto fail;
		sqlite3_bind_int64(s, 1, now);
		sqlite3_bind_int64(s, 2, attempts);
		if (store_step_done(st, s, cause, "logging attempts") == -1)
			goto fail;
	}
	if (store_txn_end(st, own, cause) == -1)
		goto fail;
	return 0;
fail:
	store_txn_abort(st, own);
	return -1;
}

int
store_mailq_counts(struct store *st, struct store_mailq_counts *c,
    char **cause)
{
	sqlite3_stmt	*s;

	st->err = STORE_OK;
	memset(c, 0, sizeof(*c));
	if ((s = store_stmt(st, S_MAILQ_COUNTS, cause)) == NULL)
		return -1;
	{
		int64_t	*to[] = { &c->pending, &c->sending, &c->sent,
		    &c->deferred, &c->failed, &c->skipped };

		return store_state_counts(st, s, to, "counting queued mail",
		    cause);
	}
}
