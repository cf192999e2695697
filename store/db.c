/* The store's SQLite connection: opening, PRAGMAs, the versioned schema
 * (PRAGMA user_version, one transaction), the statement cache and the lock
 * that serializes calls. Must not touch the allow-list's category tables
 * that share fwgate.db, and never builds SQL text from data. */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fwgate/fileio.h"
#include "store/store_int.h"

/* The busy timeout lets several processes (the gateway, `fwgate
 * quarantine`, `fwgate store verify`) share the database. */
#define STORE_BUSY_TIMEOUT_MS 10000

/* Migration 4's verdict of object ID, as the review views show it
 * (STORE_EFFECTIVE_VERDICT; "unscannable" without a scan). Written into
 * the schema's triggers: a later change of the views' expression needs a
 * migration that replaces them. */
#define STORE_MIG4_VERDICT_OF(id) \
	"(SELECT coalesce(" STORE_EFFECTIVE_VERDICT ", 'unscannable') FROM objects o" \
	" LEFT JOIN scans s ON s.id = (SELECT max(id) FROM scans WHERE object_id = o.id) WHERE o.id = " id ")"

/* Schema versions, applied in order; each ends by setting user_version.
 * States and verdicts are stored by name so the database reads plainly
 * with the sqlite3 shell. */
static const char *const store_migrations[] = {
	/* 1: objects, URLs, scans and their members, the audit chain. */
	"CREATE TABLE objects ("
	" id INTEGER PRIMARY KEY,"
	" sha256 TEXT NOT NULL UNIQUE CHECK (length(sha256) = 64),"
	" size INTEGER NOT NULL CHECK (size >= 0),"
	" mime TEXT NOT NULL DEFAULT '',"
	" file_type TEXT NOT NULL DEFAULT '',"
	" state TEXT NOT NULL CHECK (state IN ('approved', 'quarantined', 'rejected', 'released')),"
	" blob TEXT NOT NULL DEFAULT 'present' CHECK (blob IN ('present', 'missing', 'collected')),"
	" first_seen INTEGER NOT NULL,"
	" review_reason TEXT,"
	" reviewed_by TEXT,"
	" reviewed_at INTEGER);"
	"CREATE INDEX objects_state ON objects (state, first_seen);"
	"CREATE TABLE urls ("
	" url TEXT PRIMARY KEY,"
	" object_id INTEGER NOT NULL REFERENCES objects (id),"
	" etag TEXT NOT NULL DEFAULT '',"
	" last_modified TEXT NOT NULL DEFAULT '',"
	" fetched_at INTEGER NOT NULL,"
	" verified_at INTEGER NOT NULL);"
	"CREATE INDEX urls_object ON urls (object_id);"
	"CREATE TABLE scans ("
	" id INTEGER PRIMARY KEY,"
	" object_id INTEGER NOT NULL REFERENCES objects (id),"
	" time INTEGER NOT NULL,"
	" engine TEXT NOT NULL DEFAULT '',"
	" verdict TEXT NOT NULL CHECK (verdict IN ('clean', 'pending', 'suspicious', 'unscannable', 'infected')),"
	" reason TEXT NOT NULL DEFAULT '',"
	" doc TEXT);"
	"CREATE INDEX scans_object ON scans (object_id, id);"
	"CREATE TABLE members ("
	" scan_id INTEGER NOT NULL REFERENCES scans (id),"
	" path TEXT NOT NULL,"
	" depth INTEGER NOT NULL,"
	" size INTEGER NOT NULL,"
	" sha256 TEXT NOT NULL DEFAULT '',"
	" mime TEXT NOT NULL DEFAULT '',"
	" file_type TEXT NOT NULL DEFAULT '',"
	" verdict TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX members_scan ON members (scan_id);"
	"CREATE INDEX members_sha256 ON members (sha256);"
	"CREATE TABLE audit ("
	" id INTEGER PRIMARY KEY,"
	" time INTEGER NOT NULL,"
	" action TEXT NOT NULL,"
	" who TEXT NOT NULL,"
	" object_id INTEGER REFERENCES objects (id),"
	" detail TEXT NOT NULL,"
	" prev_hash TEXT NOT NULL,"
	" hash TEXT NOT NULL);"
	"CREATE INDEX audit_object ON audit (object_id);"
	"PRAGMA user_version = 1;",
	/* 2: the vendor's representation fields, sent again with each hit. */
	"ALTER TABLE urls ADD COLUMN fields TEXT NOT NULL DEFAULT '';"
	"PRAGMA user_version = 2;",
	/* 3: the `pending` state (an object whose sandbox jobs are still
	 * running: kept in quarantine/, never served); the verdict an object is
	 * held under when its latest scan row does not say it (the sandbox's,
	 * or a worse earlier one: scan rows are never rewritten), and whether
	 * the sandbox quarantined it; and the sandbox queue.
	 * SQLite cannot widen a CHECK in place: the objects table is rebuilt
	 * (foreign keys are off while migrations run, see store_db_open). */
	"CREATE TABLE objects_v3 ("
	" id INTEGER PRIMARY KEY,"
	" sha256 TEXT NOT NULL UNIQUE CHECK (length(sha256) = 64),"
	" size INTEGER NOT NULL CHECK (size >= 0),"
	" mime TEXT NOT NULL DEFAULT '',"
	" file_type TEXT NOT NULL DEFAULT '',"
	" state TEXT NOT NULL CHECK (state IN ('approved', 'quarantined', 'rejected', 'released', 'pending')),"
	" blob TEXT NOT NULL DEFAULT 'present' CHECK (blob IN ('present', 'missing', 'collected')),"
	" first_seen INTEGER NOT NULL,"
	" review_reason TEXT,"
	" reviewed_by TEXT,"
	" reviewed_at INTEGER,"
	" held_verdict TEXT NOT NULL DEFAULT ''"
	"  CHECK (held_verdict IN ('', 'clean', 'suspicious', 'unscannable', 'infected')),"
	" held_reason TEXT NOT NULL DEFAULT '',"
	" held_by TEXT NOT NULL DEFAULT '' CHECK (held_by IN ('', 'sandbox')));"
	"INSERT INTO objects_v3 (id, sha256, size, mime, file_type, state, blob, first_seen, review_reason,"
	" reviewed_by, reviewed_at) SELECT id, sha256, size, mime, file_type, state, blob, first_seen,"
	" review_reason, reviewed_by, reviewed_at FROM objects;"
	"DROP TABLE objects;"
	"ALTER TABLE objects_v3 RENAME TO objects;"
	"CREATE INDEX objects_state ON objects (state, first_seen);"
	"CREATE TABLE sandbox_jobs ("
	" id INTEGER PRIMARY KEY,"
	" sha256 TEXT NOT NULL CHECK (length(sha256) = 64),"
	" file_type TEXT NOT NULL,"
	" backend TEXT NOT NULL CHECK (backend IN ('local', 'cape')),"
	" state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),"
	" attempts INTEGER NOT NULL DEFAULT 0,"
	" claims INTEGER NOT NULL DEFAULT 0,"
	" verdict TEXT NOT NULL DEFAULT '' CHECK (verdict IN ('', 'benign', 'suspicious', 'malicious')),"
	" score INTEGER,"
	" findings TEXT,"
	" error TEXT NOT NULL DEFAULT '',"
	" external_id TEXT NOT NULL DEFAULT '',"
	" created_at INTEGER NOT NULL,"
	" started_at INTEGER,"
	" finished_at INTEGER,"
	" next_at INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX sandbox_jobs_sha256 ON sandbox_jobs (sha256, state);"
	"CREATE INDEX sandbox_jobs_state ON sandbox_jobs (state, next_at, id);"
	"CREATE TABLE sandbox_links ("
	" object_id INTEGER NOT NULL REFERENCES objects (id),"
	" job_id INTEGER NOT NULL REFERENCES sandbox_jobs (id),"
	" member TEXT NOT NULL,"
	" PRIMARY KEY (object_id, job_id, member));"
	"CREATE INDEX sandbox_links_job ON sandbox_links (job_id);"
	"PRAGMA user_version = 3;",
	/* 4: the console's people and machines (accounts, sessions by the
	 * hash of their cookie, API tokens by the hash of their secret, the
	 * failed-login counters), the open release requests of four-eyes
	 * review, and what the review list filters and pages on: the host of
	 * every URL (lower case, filled here for the rows already there) and
	 * the scans by time (the dashboard's figures). */
	"CREATE TABLE accounts ("
	" name TEXT PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 64),"
	" role TEXT NOT NULL CHECK (role IN ('viewer', 'reviewer', 'admin')),"
	" pwhash TEXT NOT NULL,"
	" disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),"
	" created_at INTEGER NOT NULL,"
	" password_changed_at INTEGER NOT NULL,"
	" last_login_at INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE sessions ("
	" id_hash TEXT PRIMARY KEY CHECK (length(id_hash) = 64),"
	" account TEXT NOT NULL REFERENCES accounts (name) ON DELETE CASCADE,"
	" csrf TEXT NOT NULL,"
	" source TEXT NOT NULL DEFAULT '',"
	" created_at INTEGER NOT NULL,"
	" last_seen_at INTEGER NOT NULL);"
	"CREATE INDEX sessions_account ON sessions (account);"
	"CREATE TABLE tokens ("
	" name TEXT PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 64),"
	" role TEXT NOT NULL CHECK (role IN ('viewer', 'reviewer', 'admin')),"
	" hash TEXT NOT NULL UNIQUE CHECK (length(hash) = 64),"
	" revoked INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1)),"
	" created_at INTEGER NOT NULL,"
	" last_used_at INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE login_failures ("
	" key TEXT PRIMARY KEY,"
	" failures INTEGER NOT NULL,"
	" last_at INTEGER NOT NULL);"
	"CREATE TABLE release_requests ("
	" object_id INTEGER PRIMARY KEY REFERENCES objects (id),"
	" requested_by TEXT NOT NULL,"
	" via TEXT NOT NULL,"
	" reason TEXT NOT NULL,"
	" override_infected INTEGER NOT NULL DEFAULT 0 CHECK (override_infected IN (0, 1)),"
	" requested_at INTEGER NOT NULL);"
	"ALTER TABLE urls ADD COLUMN host TEXT NOT NULL DEFAULT '';"
	"UPDATE urls SET host = fwgate_url_host(url);"
	"CREATE INDEX urls_host ON urls (host, object_id);"
	"CREATE INDEX scans_time ON scans (time);"
	/* The verdict an object is held or served under, as the views show
	 * it, kept in a column so that the review list filters and counts on
	 * an index instead of finding every object's latest scan: written by
	 * triggers whenever a scan is added or the held verdict changes (no
	 * code path can forget it), and filled here for the rows there are.
	 * The page walks objects_page in id order per state; the total counts
	 * objects_review. Both cover every filter column. */
	"ALTER TABLE objects ADD COLUMN effective_verdict TEXT NOT NULL DEFAULT 'unscannable';"
	"UPDATE objects SET effective_verdict = " STORE_MIG4_VERDICT_OF("objects.id") ";"
	"CREATE TRIGGER objects_verdict_scan AFTER INSERT ON scans BEGIN"
	" UPDATE objects SET effective_verdict = " STORE_MIG4_VERDICT_OF("NEW.object_id") " WHERE id = NEW.object_id;"
	" END;"
	"CREATE TRIGGER objects_verdict_held AFTER UPDATE OF held_verdict ON objects BEGIN"
	" UPDATE objects SET effective_verdict = " STORE_MIG4_VERDICT_OF("NEW.id") " WHERE id = NEW.id;"
	" END;"
	"CREATE INDEX objects_review ON objects (state, effective_verdict, first_seen);"
	"CREATE INDEX objects_page ON objects (state, id, effective_verdict, first_seen);"
	"PRAGMA user_version = 4;",
	/* 5: offline bundles: the exports this store signed (the sequence is
	 * the importing side's replay counter) and the bundles imported, per
	 * exporting site (a bundle whose sequence is not above the site's last
	 * is a replay). */
	"CREATE TABLE mirror_exports ("
	" sequence INTEGER PRIMARY KEY CHECK (sequence > 0),"
	" started_at INTEGER NOT NULL,"
	" objects INTEGER,"
	" finished_at INTEGER);"
	"CREATE TABLE mirror_imports ("
	" id INTEGER PRIMARY KEY,"
	" site_id TEXT NOT NULL CHECK (length(site_id) BETWEEN 1 AND 128),"
	" sequence INTEGER NOT NULL CHECK (sequence > 0),"
	" exported_at INTEGER NOT NULL,"
	" key_fingerprint TEXT NOT NULL CHECK (length(key_fingerprint) = 64),"
	" objects INTEGER NOT NULL,"
	" imported_at INTEGER NOT NULL,"
	" imported_by TEXT NOT NULL,"
	" UNIQUE (site_id, sequence));"
	"PRAGMA user_version = 5;",
};

static const char *const state_names[] = { "approved", "quarantined", "rejected", "released", "pending" };
static const char *const blob_names[] = { "present", "missing", "collected" };

const char *fw_object_state_name(enum fw_object_state s)
{
	return (unsigned)s < FW_ARRAY_LEN(state_names) ? state_names[s] : "unknown";
}

bool fw_object_state_servable(enum fw_object_state s)
{
	return s == FW_OBJ_APPROVED || s == FW_OBJ_RELEASED;
}

const char *store_blob_name(enum store_blob b)
{
	return (unsigned)b < FW_ARRAY_LEN(blob_names) ? blob_names[b] : "missing";
}

int store_state_parse(const char *s, enum fw_object_state *out)
{
	for (size_t i = 0; i < FW_ARRAY_LEN(state_names); i++)
		if (strcmp(s, state_names[i]) == 0) {
			*out = (enum fw_object_state)i;
			return 0;
		}
	return -1;
}

/* The hash names a path: only 64 lower-case hex digits get near one. */
bool store_sha256_valid(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (i >= FW_SHA256_HEX_LEN || !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return i == FW_SHA256_HEX_LEN;
}

/* The connection the calling thread holds: which store, which connection,
 * and how deep (a read call made inside another call of the same store
 * reuses its connection). */
static _Thread_local struct {
	struct fw_store *st;
	struct store_conn *conn;
	unsigned depth;
} held;

void store_lock(struct fw_store *st)
{
	/* A write call never nests in another call: the writer is taken
	 * first, by the outermost call. */
	assert(held.st == NULL);
	pthread_mutex_lock(&st->lock);
	held.st = st;
	held.conn = &st->w;
	held.depth = 1;
}

void store_rlock(struct fw_store *st)
{
	size_t i;

	if (held.st == st) {
		held.depth++;
		return;
	}
	assert(held.st == NULL && st->n_readers > 0);
	pthread_mutex_lock(&st->pool_lock);
	for (;;) {
		for (i = 0; i < st->n_readers && st->reader_busy[i]; i++)
			;
		if (i < st->n_readers)
			break;
		pthread_cond_wait(&st->pool_free, &st->pool_lock);
	}
	st->reader_busy[i] = true;
	pthread_mutex_unlock(&st->pool_lock);
	held.st = st;
	held.conn = &st->readers[i];
	held.depth = 1;
}

void store_unlock(struct fw_store *st)
{
	struct store_conn *c = held.conn;

	assert(held.st == st && held.depth > 0);
	if (--held.depth > 0)
		return;
	for (size_t i = 0; i < c->n_stmts; i++)
		sqlite3_reset(c->stmts[i].stmt);
	held.st = NULL;
	held.conn = NULL;
	if (c == &st->w) {
		pthread_mutex_unlock(&st->lock);
		return;
	}
	pthread_mutex_lock(&st->pool_lock);
	st->reader_busy[c - st->readers] = false;
	pthread_cond_signal(&st->pool_free);
	pthread_mutex_unlock(&st->pool_lock);
}

sqlite3 *store_db(struct fw_store *st)
{
	return held.st == st ? held.conn->db : st->w.db;
}

/* SQLite's result code as the error's code: a lock another process
 * holds past the busy timeout may clear; a full disk or I/O error is the
 * file system's; the rest is the database's own failure. */
static enum fw_errcode store_errcode(sqlite3 *db)
{
	switch (sqlite3_errcode(db) & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return FW_E_BUSY;
	case SQLITE_NOMEM:
		return FW_E_NOMEM;
	case SQLITE_IOERR:
	case SQLITE_FULL:
	case SQLITE_CANTOPEN:
	case SQLITE_READONLY:
		return FW_E_IO;
	case SQLITE_TOOBIG:
		return FW_E_LIMIT;
	default:
		return FW_E_FAIL;
	}
}

int store_db_err(struct fw_store *st, struct fw_err *err, const char *what)
{
	sqlite3 *db = store_db(st);

	return fw_err_setc(err, store_errcode(db), "store database: %s: %s", what, sqlite3_errmsg(db));
}

sqlite3_stmt *store_stmt(struct fw_store *st, const char *sql, struct fw_err *err)
{
	struct store_conn *c = held.st == st ? held.conn : NULL;

	if (c == NULL) {
		fw_err_set(err, "store database: a statement outside a call's connection");
		return NULL;
	}
	for (size_t i = 0; i < c->n_stmts; i++)
		if (c->stmts[i].sql == sql) {
			sqlite3_reset(c->stmts[i].stmt);
			sqlite3_clear_bindings(c->stmts[i].stmt);
			return c->stmts[i].stmt;
		}
	fw_err_set(err, "store database: a statement that was not prepared at open%s",
		   c == &st->w ? "" : " (on a read-only connection)");
	return NULL;
}

/* The STORE_SQL texts of every store file linked in. */
extern const char *const __start_fwgate_store_sql[] __attribute__((weak));
extern const char *const __stop_fwgate_store_sql[] __attribute__((weak));

/* Prepares every STORE_SQL text on c: all of them on the writer, the
 * read-only ones on a reader. */
static int store_conn_prepare(struct store_conn *c, bool reader, struct fw_err *err)
{
	const char *const *p;
	size_t n = (size_t)(__stop_fwgate_store_sql - __start_fwgate_store_sql);
	sqlite3_stmt *s;

	c->stmts = calloc(n > 0 ? n : 1, sizeof(*c->stmts));
	if (c->stmts == NULL)
		return fw_err_setc(err, FW_E_NOMEM, "out of memory");
	for (p = __start_fwgate_store_sql; p < __stop_fwgate_store_sql; p++) {
		s = NULL;
		if (sqlite3_prepare_v3(c->db, *p, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK) {
			fw_err_setc(err, store_errcode(c->db), "store database: cannot prepare \"%.120s\": %s", *p,
				    sqlite3_errmsg(c->db));
			sqlite3_finalize(s);
			return -1;
		}
		if (reader && !sqlite3_stmt_readonly(s)) {
			sqlite3_finalize(s);
			continue;
		}
		c->stmts[c->n_stmts].sql = *p;
		c->stmts[c->n_stmts].stmt = s;
		c->n_stmts++;
	}
	return 0;
}

static int store_exec(struct fw_store *st, const char *sql, const char *what, struct fw_err *err)
{
	if (sqlite3_exec(store_db(st), sql, NULL, NULL, NULL) != SQLITE_OK)
		return store_db_err(st, err, what);
	return 0;
}

int store_tx_begin(struct fw_store *st, struct fw_err *err)
{
	return store_exec(st, "BEGIN IMMEDIATE", "cannot begin a transaction", err);
}

int store_tx_commit(struct fw_store *st, struct fw_err *err)
{
	return store_exec(st, "COMMIT", "cannot commit the transaction", err);
}

void store_tx_rollback(struct fw_store *st)
{
	sqlite3 *db = store_db(st);

	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

int store_bind_text(sqlite3_stmt *s, int i, const char *v)
{
	if (v == NULL)
		return sqlite3_bind_null(s, i) == SQLITE_OK ? 0 : -1;
	return sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT) == SQLITE_OK ? 0 : -1;
}

const char *store_col_text(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);

	return t != NULL ? (const char *)t : "";
}

json_t *store_json_text_or_null(sqlite3_stmt *s, int i)
{
	return sqlite3_column_type(s, i) == SQLITE_NULL ? json_null() : json_string(store_col_text(s, i));
}

int store_col_copy(sqlite3_stmt *s, int i, char *out, size_t len)
{
	const char *t = store_col_text(s, i);
	size_t n = strlen(t);

	if (n >= len) {
		out[0] = '\0';
		return -1;
	}
	memcpy(out, t, n + 1);
	return 0;
}

int store_set_blob(struct fw_store *st, int64_t id, enum store_blob b, struct fw_err *err)
{
	STORE_SQL(sql, "UPDATE objects SET blob = ?2 WHERE id = ?1");
	sqlite3_stmt *s = store_stmt(st, sql, err);

	if (s == NULL)
		return -1;
	if (sqlite3_bind_int64(s, 1, id) != SQLITE_OK || store_bind_text(s, 2, store_blob_name(b)) != 0 ||
	    sqlite3_step(s) != SQLITE_DONE)
		return store_db_err(st, err, "cannot record the state of a blob");
	return 0;
}

/* One query returning one integer (a PRAGMA's value). */
static int store_pragma_int(struct fw_store *st, const char *sql, int64_t *out, struct fw_err *err)
{
	sqlite3_stmt *s = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(st->w.db, sql, -1, &s, NULL) != SQLITE_OK || sqlite3_step(s) != SQLITE_ROW) {
		store_db_err(st, err, "cannot read the schema version");
		goto out;
	}
	*out = sqlite3_column_int64(s, 0);
	rc = 0;
out:
	sqlite3_finalize(s);
	return rc;
}

/* After a migration: every reference still points at a row. */
static int store_fk_check(struct fw_store *st, struct fw_err *err)
{
	sqlite3_stmt *s = NULL;
	int r;

	if (sqlite3_prepare_v2(st->w.db, "PRAGMA foreign_key_check", -1, &s, NULL) != SQLITE_OK)
		return store_db_err(st, err, "cannot check the upgraded schema");
	r = sqlite3_step(s);
	if (r == SQLITE_ROW)
		fw_err_set(err, "the upgraded schema has a dangling reference in table %s (row %lld)",
			   store_col_text(s, 0), (long long)sqlite3_column_int64(s, 1));
	else if (r != SQLITE_DONE)
		store_db_err(st, err, "cannot check the upgraded schema");
	sqlite3_finalize(s);
	return r == SQLITE_DONE ? 0 : -1;
}

/* Brings the schema to the newest version in one transaction: a failed
 * migration leaves the database as it was. */
static int store_migrate(struct fw_store *st, struct fw_err *err)
{
	const int64_t newest = (int64_t)FW_ARRAY_LEN(store_migrations);
	int64_t version = 0;

	if (store_tx_begin(st, err) != 0)
		return -1;
	if (store_pragma_int(st, "PRAGMA user_version", &version, err) != 0)
		goto fail;
	if (version > newest) {
		fw_err_set(err, "the store database is at schema version %lld, newer than this fwgate knows "
			   "(%lld): use a newer fwgate", (long long)version, (long long)newest);
		goto fail;
	}
	for (int64_t v = version; v < newest; v++)
		if (store_exec(st, store_migrations[v], "cannot upgrade the schema", err) != 0)
			goto fail;
	if (version < newest && store_fk_check(st, err) != 0)
		goto fail;
	if (store_tx_commit(st, err) != 0)
		goto fail;
	return 0;
fail:
	store_tx_rollback(st);
	return -1;
}

static int store_mkdir(const char *base, const char *name, struct fw_err *err)
{
	char p[STORE_PATH_MAX];

	if (fw_path_join(p, sizeof(p), base, name, err) != 0)
		return -1;
	if (mkdir(p, 0700) != 0 && errno != EEXIST)
		return fw_err_sys(err, errno, "cannot create the store directory \"%s\"", p);
	return 0;
}

static int store_db_open(struct fw_store *st, struct fw_err *err)
{
	char path[STORE_PATH_MAX];
	char mode[16] = "";
	sqlite3_stmt *s = NULL;

	if (fw_path_join(path, sizeof(path), st->dir, "fwgate.db", err) != 0)
		return -1;
	if (sqlite3_open_v2(path, &st->w.db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK)
		return fw_err_set(err, "cannot open the store database \"%s\": %s", path,
				  st->w.db != NULL ? sqlite3_errmsg(st->w.db) : "out of memory");
	sqlite3_extended_result_codes(st->w.db, 1);
	if (sqlite3_busy_timeout(st->w.db, STORE_BUSY_TIMEOUT_MS) != SQLITE_OK)
		return store_db_err(st, err, "cannot set the busy timeout");
	/* WAL: readers (the console, lookups) never wait for the writer. */
	if (sqlite3_prepare_v2(st->w.db, "PRAGMA journal_mode = WAL", -1, &s, NULL) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_ROW || store_col_copy(s, 0, mode, sizeof(mode)) != 0) {
		sqlite3_finalize(s);
		return store_db_err(st, err, "cannot switch to WAL");
	}
	sqlite3_finalize(s);
	if (strcmp(mode, "wal") != 0)
		return fw_err_set(err, "the store database \"%s\" refused WAL mode (it stays \"%s\")", path, mode);
	/* FULL: a commit that returned is on disk, which is what an approval
	 * record promises (DESIGN.md, commit order). */
	/* Foreign keys are switched on after the migrations: a table rebuild
	 * (migration 3) drops the old table, which they would refuse. The
	 * check after it proves the rebuilt schema still holds together. */
	/* The migration to 4 fills urls.host with the commit's own function. */
	if (store_url_host_register(st->w.db) != 0)
		return store_db_err(st, err, "cannot register the URL host function");
	if (store_exec(st, "PRAGMA synchronous = FULL", "cannot set synchronous=FULL", err) != 0 ||
	    store_exec(st, "PRAGMA foreign_keys = OFF", "cannot pause foreign keys", err) != 0 ||
	    store_migrate(st, err) != 0 ||
	    store_exec(st, "PRAGMA foreign_keys = ON", "cannot enable foreign keys", err) != 0 ||
	    store_conn_prepare(&st->w, false, err) != 0)
		return -1;
	return 0;
}

/* The read-only connections, once the schema is current. One that cannot
 * be opened is an error: a store that cannot read beside its writer is
 * not what the operator configured. */
static int store_readers_open(struct fw_store *st, struct fw_err *err)
{
	char path[STORE_PATH_MAX];
	sqlite3 *db;

	if (fw_path_join(path, sizeof(path), st->dir, "fwgate.db", err) != 0)
		return -1;
	for (size_t i = 0; i < STORE_READERS; i++) {
		db = NULL;
		if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
			fw_err_setc(err, FW_E_IO, "cannot open a reader of the store database \"%s\": %s", path,
				    db != NULL ? sqlite3_errmsg(db) : "out of memory");
			sqlite3_close(db);
			return -1;
		}
		st->readers[i].db = db;
		st->n_readers = i + 1;
		sqlite3_extended_result_codes(db, 1);
		if (sqlite3_busy_timeout(db, STORE_BUSY_TIMEOUT_MS) != SQLITE_OK)
			return fw_err_setc(err, FW_E_IO, "cannot set a reader's busy timeout: %s", sqlite3_errmsg(db));
		if (store_conn_prepare(&st->readers[i], true, err) != 0)
			return -1;
	}
	return 0;
}

int fw_store_open(struct fw_store **out, const char *state_dir, struct fw_err *err)
{
	struct fw_store *st;

	*out = NULL;
	st = calloc(1, sizeof(*st));
	if (st == NULL)
		return fw_err_set(err, "out of memory");
	if (pthread_mutex_init(&st->lock, NULL) != 0) {
		free(st);
		return fw_err_set(err, "cannot create the store's lock");
	}
	if (pthread_mutex_init(&st->pool_lock, NULL) != 0) {
		pthread_mutex_destroy(&st->lock);
		free(st);
		return fw_err_set(err, "cannot create the store's reader lock");
	}
	if (pthread_cond_init(&st->pool_free, NULL) != 0) {
		pthread_mutex_destroy(&st->pool_lock);
		pthread_mutex_destroy(&st->lock);
		free(st);
		return fw_err_set(err, "cannot create the store's reader condition");
	}
	if (fw_path_join(st->dir, sizeof(st->dir), "", state_dir, err) != 0)
		goto fail;
	if (mkdir(st->dir, 0700) != 0 && errno != EEXIST) {
		fw_err_sys(err, errno, "cannot create the state directory \"%s\"", st->dir);
		goto fail;
	}
	if (store_mkdir(st->dir, "objects", err) != 0 || store_mkdir(st->dir, "quarantine", err) != 0 ||
	    store_mkdir(st->dir, "damaged", err) != 0 || store_db_open(st, err) != 0 ||
	    store_readers_open(st, err) != 0)
		goto fail;
	*out = st;
	return 0;
fail:
	fw_store_close(st);
	return -1;
}

static void store_conn_close(struct store_conn *c)
{
	for (size_t i = 0; i < c->n_stmts; i++)
		sqlite3_finalize(c->stmts[i].stmt);
	c->n_stmts = 0;
	free(c->stmts);
	c->stmts = NULL;
	sqlite3_close(c->db);
	c->db = NULL;
}

void fw_store_close(struct fw_store *st)
{
	if (st == NULL)
		return;
	for (size_t i = 0; i < st->n_readers; i++)
		store_conn_close(&st->readers[i]);
	store_conn_close(&st->w);
	pthread_cond_destroy(&st->pool_free);
	pthread_mutex_destroy(&st->pool_lock);
	pthread_mutex_destroy(&st->lock);
	free(st);
}

int store_list_json(struct fw_store *st, const char *sql, json_t *(*row)(sqlite3_stmt *s), const char *what,
		    json_t **out, struct fw_err *err)
{
	json_t *arr = json_array(), *one;
	sqlite3_stmt *s;
	int r, rc = -1;

	*out = NULL;
	if (arr == NULL)
		return fw_err_setc(err, FW_E_NOMEM, "out of memory");
	store_rlock(st);
	s = store_stmt(st, sql, err);
	if (s == NULL)
		goto out;
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		one = row(s);
		if (one == NULL || json_array_append_new(arr, one) != 0) {
			fw_err_setc(err, FW_E_NOMEM, "out of memory");
			goto out;
		}
	}
	if (r != SQLITE_DONE) {
		store_db_err(st, err, what);
		goto out;
	}
	*out = arr;
	arr = NULL;
	rc = 0;
out:
	store_unlock(st);
	json_decref(arr);
	return rc;
}
