/* The failed-login counters the console's lockout reads (store_accounts.h):
 * per key ("account:NAME", "source:ADDR"), how many failures since the
 * last success and when the last one was. Must not decide how long a
 * lockout lasts, nor after how many failures: the console does. */
#include <string.h>

#include "fwgate/store_accounts.h"
#include "store/store_int.h"

/* "source:" and an IPv6 address, with room. */
#define LOGIN_KEY_MAX 128

static int login_key_check(const char *key, struct fw_err *err)
{
	if (key[0] == '\0' || strlen(key) > LOGIN_KEY_MAX)
		return fw_err_setc(err, FW_E_INVALID, "a login counter's key is 1 to %d characters", LOGIN_KEY_MAX);
	return 0;
}

int fw_store_login_failures(struct fw_store *st, const char *key, unsigned *failures, int64_t *last_at,
			    struct fw_err *err)
{
	STORE_SQL(sql, "SELECT failures, last_at FROM login_failures WHERE key = ?1");
	sqlite3_stmt *s;
	int r, rc = -1;

	*failures = 0;
	*last_at = 0;
	if (login_key_check(key, err) != 0)
		return -1;
	store_rlock(st);
	s = store_stmt(st, sql, err);
	if (s == NULL)
		goto out;
	if (store_bind_text(s, 1, key) != 0) {
		store_db_err(st, err, "cannot read a login counter");
		goto out;
	}
	r = sqlite3_step(s);
	if (r == SQLITE_ROW) {
		*failures = (unsigned)sqlite3_column_int64(s, 0);
		*last_at = sqlite3_column_int64(s, 1);
	} else if (r != SQLITE_DONE) {
		store_db_err(st, err, "cannot read a login counter");
		goto out;
	}
	rc = 0;
out:
	store_unlock(st);
	return rc;
}

/* A failure: one more, in one statement (two consoles counting at once
 * both count). */
static int login_fail(struct fw_store *st, const char *key, int64_t now, unsigned *failures, struct fw_err *err)
{
	STORE_SQL(sql, "INSERT INTO login_failures (key, failures, last_at) VALUES (?1, 1, ?2)"
				  " ON CONFLICT (key) DO UPDATE SET failures = failures + 1, last_at = excluded.last_at"
				  " RETURNING failures");
	sqlite3_stmt *s = store_stmt(st, sql, err);

	if (s == NULL)
		return -1;
	if (store_bind_text(s, 1, key) != 0 || sqlite3_bind_int64(s, 2, now) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_ROW)
		return store_db_err(st, err, "cannot count a failed login");
	*failures = (unsigned)sqlite3_column_int64(s, 0);
	if (sqlite3_step(s) != SQLITE_DONE)
		return store_db_err(st, err, "cannot count a failed login");
	return 0;
}

static int login_clear(struct fw_store *st, const char *key, struct fw_err *err)
{
	STORE_SQL(sql, "DELETE FROM login_failures WHERE key = ?1");
	sqlite3_stmt *s = store_stmt(st, sql, err);

	if (s == NULL)
		return -1;
	if (store_bind_text(s, 1, key) != 0 || sqlite3_step(s) != SQLITE_DONE)
		return store_db_err(st, err, "cannot clear a login counter");
	return 0;
}

int fw_store_login_record(struct fw_store *st, const char *key, bool success, int64_t now, unsigned *failures,
			  struct fw_err *err)
{
	unsigned n = 0;
	int rc;

	if (login_key_check(key, err) != 0)
		return -1;
	store_lock(st);
	rc = success ? login_clear(st, key, err) : login_fail(st, key, now, &n, err);
	store_unlock(st);
	if (rc == 0)
		*failures = n;
	return rc;
}

int fw_store_login_prune(struct fw_store *st, int64_t before, unsigned keep_max, unsigned *n, struct fw_err *err)
{
	STORE_SQL(old, "DELETE FROM login_failures WHERE last_at < ?1");
	STORE_SQL(over, "DELETE FROM login_failures WHERE key IN (SELECT key FROM login_failures"
			" ORDER BY last_at DESC LIMIT -1 OFFSET ?1)");
	sqlite3_stmt *s;
	unsigned gone = 0;
	int rc = -1;

	store_lock(st);
	s = store_stmt(st, old, err);
	if (s == NULL || sqlite3_bind_int64(s, 1, before) != SQLITE_OK || sqlite3_step(s) != SQLITE_DONE) {
		if (s != NULL)
			store_db_err(st, err, "cannot prune the login counters");
		goto out;
	}
	gone += (unsigned)sqlite3_changes(store_db(st));
	s = store_stmt(st, over, err);
	if (s == NULL || sqlite3_bind_int64(s, 1, keep_max) != SQLITE_OK || sqlite3_step(s) != SQLITE_DONE) {
		if (s != NULL)
			store_db_err(st, err, "cannot prune the login counters");
		goto out;
	}
	gone += (unsigned)sqlite3_changes(store_db(st));
	rc = 0;
out:
	store_unlock(st);
	if (n != NULL)
		*n = gone;
	return rc;
}
