/* The console's sessions (store_accounts.h), kept by the SHA-256 of the
 * cookie's random id (a copy of the database opens no session), with the
 * CSRF token, where they logged in from and when they were created and
 * last seen. Must not decide when one has expired (the console passes the
 * bounds) nor ever hold a session id itself. */
#include <string.h>

#include "fwgate/store_accounts.h"
#include "store/store_int.h"

/* Lower-case hex of 64 digits: what a SHA-256 and a CSRF token are. */
static int session_hex_check(const char *what, const char *v, struct fw_err *err)
{
	if (!store_sha256_valid(v))
		return fw_err_setc(err, FW_E_INVALID, "a session's %s must be 64 lower-case hex digits", what);
	return 0;
}

/* Runs s (bound by the caller) to its end; *changed counts the rows. */
static int session_step(struct fw_store *st, sqlite3_stmt *s, int *changed, const char *what, struct fw_err *err)
{
	if (sqlite3_step(s) != SQLITE_DONE)
		return store_db_err(st, err, what);
	if (changed != NULL)
		*changed = sqlite3_changes(store_db(st));
	return 0;
}

int fw_store_session_create(struct fw_store *st, const char *id_hash, const char *account, const char *csrf,
			    const char *source, int64_t now, struct fw_err *err)
{
	/* A disabled or unknown account gets no session: nothing is written. */
	STORE_SQL(sql, "INSERT INTO sessions (id_hash, account, csrf, source, created_at, last_seen_at)"
				  " SELECT ?1, name, ?3, ?4, ?5, ?5 FROM accounts WHERE name = ?2 AND disabled = 0");
	sqlite3_stmt *s;
	int changed = 0, rc = -1;

	if (session_hex_check("id hash", id_hash, err) != 0 || session_hex_check("CSRF token", csrf, err) != 0 ||
	    store_account_name_check("an account", account, err) != 0)
		return -1;
	if (strlen(source) >= FW_SOURCE_MAX)
		return fw_err_setc(err, FW_E_INVALID, "a session's source is at most %d characters", FW_SOURCE_MAX - 1);
	store_lock(st);
	s = store_stmt(st, sql, err);
	if (s == NULL)
		goto out;
	if (store_bind_text(s, 1, id_hash) != 0 || store_bind_text(s, 2, account) != 0 ||
	    store_bind_text(s, 3, csrf) != 0 || store_bind_text(s, 4, source) != 0 ||
	    sqlite3_bind_int64(s, 5, now) != SQLITE_OK) {
		store_db_err(st, err, "cannot create a session");
		goto out;
	}
	if (sqlite3_step(s) != SQLITE_DONE) {
		if (sqlite3_extended_errcode(store_db(st)) == SQLITE_CONSTRAINT_PRIMARYKEY)
			fw_err_setc(err, FW_E_EXISTS, "a session with this id exists already");
		else
			store_db_err(st, err, "cannot create a session");
		goto out;
	}
	changed = sqlite3_changes(store_db(st));
	if (changed == 0) {
		fw_err_setc(err, FW_E_DENIED, "the account %s is unknown or disabled: no session", account);
		goto out;
	}
	rc = 0;
out:
	store_unlock(st);
	return rc;
}

static int session_read(sqlite3_stmt *s, struct fw_session *out)
{
	memset(out, 0, sizeof(*out));
	if (store_col_copy(s, 0, out->id_hash, sizeof(out->id_hash)) != 0 ||
	    store_col_copy(s, 1, out->account, sizeof(out->account)) != 0 ||
	    fw_role_parse(store_col_text(s, 2), &out->role) != 0 ||
	    store_col_copy(s, 3, out->csrf, sizeof(out->csrf)) != 0 ||
	    store_col_copy(s, 4, out->source, sizeof(out->source)) != 0)
		return -1;
	out->created_at = sqlite3_column_int64(s, 5);
	out->last_seen_at = sqlite3_column_int64(s, 6);
	return 0;
}

int fw_store_session_get(struct fw_store *st, const char *id_hash, struct fw_session *out, struct fw_err *err)
{
	STORE_SQL(sql, "SELECT s.id_hash, s.account, a.role, s.csrf, s.source, s.created_at, s.last_seen_at"
				  " FROM sessions s JOIN accounts a ON a.name = s.account"
				  " WHERE s.id_hash = ?1 AND a.disabled = 0");
	sqlite3_stmt *s;
	int r, rc = -1;

	memset(out, 0, sizeof(*out));
	if (!store_sha256_valid(id_hash))
		return 0; /* no session has that id: a forged cookie */
	store_rlock(st);
	s = store_stmt(st, sql, err);
	if (s == NULL)
		goto out;
	if (store_bind_text(s, 1, id_hash) != 0) {
		store_db_err(st, err, "cannot read a session");
		goto out;
	}
	r = sqlite3_step(s);
	if (r == SQLITE_DONE)
		rc = 0;
	else if (r != SQLITE_ROW)
		store_db_err(st, err, "cannot read a session");
	else if (session_read(s, out) != 0)
		fw_err_set(err, "the store's record of a session is malformed");
	else
		rc = 1;
out:
	store_unlock(st);
	if (rc != 1)
		memset(out, 0, sizeof(*out));
	return rc;
}

int fw_store_session_touch(struct fw_store *st, const char *id_hash, int64_t now, struct fw_err *err)
{
	STORE_SQL(sql, "UPDATE sessions SET last_seen_at = ?2 WHERE id_hash = ?1");
	sqlite3_stmt *s;
	int rc = -1;

	store_lock(st);
	s = store_stmt(st, sql, err);
	if (s == NULL)
		goto out;
	if (store_bind_text(s, 1, id_hash) != 0 || sqlite3_bind_int64(s, 2, now) != SQLITE_OK)
		store_db_err(st, err, "cannot stamp a session");
	else
		rc = session_step(st, s, NULL, "cannot stamp a session", err);
out:
	store_unlock(st);
	return rc;
}

int fw_store_session_revoke(struct fw_store *st, const char *id_hash, struct fw_err *err)
{
	STORE_SQL(sql, "DELETE FROM sessions WHERE id_hash = ?1");
	sqlite3_stmt *s;
	int rc = -1;

	store_lock(st);
	s = store_stmt(st, sql, err);
	if (s == NULL)
		goto out;
	if (store_bind_text(s, 1, id_hash) != 0)
		store_db_err(st, err, "cannot revoke a session");
	else
		rc = session_step(st, s, NULL, "cannot revoke a session", err);
out:
	store_unlock(st);
	return rc;
}

int fw_store_session_expire(struct fw_store *st, int64_t idle_before, int64_t created_before, unsigned *n,
			    struct fw_err *err)
{
	STORE_SQL(sql, "DELETE FROM sessions WHERE last_seen_at < ?1 OR created_at < ?2");
	sqlite3_stmt *s;
	int changed = 0, rc = -1;

	if (n != NULL)
		*n = 0;
	store_lock(st);
	s = store_stmt(st, sql, err);
	if (s == NULL)
		goto out;
	if (sqlite3_bind_int64(s, 1, idle_before) != SQLITE_OK || sqlite3_bind_int64(s, 2, created_before) != SQLITE_OK)
		store_db_err(st, err, "cannot expire sessions");
	else
		rc = session_step(st, s, &changed, "cannot expire sessions", err);
	if (rc == 0 && n != NULL)
		*n = (unsigned)changed;
out:
	store_unlock(st);
	return rc;
}
