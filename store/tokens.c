/* The API tokens (store_accounts.h): a name, a role and the SHA-256 of the
 * secret the CLI printed once (never the secret), revoked or not, when
 * created and last used. Adding and revoking are audited in the same
 * transaction. Must not make or see a secret, nor decide what a role may
 * do. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "fwgate/store_accounts.h"
#include "store/store_int.h"

/* Runs an INSERT or UPDATE the caller bound and its audit row, in one
 * transaction under the caller's writer; *changed counts the rows. */
static int token_change_tx(struct fw_store *st, sqlite3_stmt *s, const char *action, const struct fw_actor *by,
			   const char *detail, int *changed, struct fw_err *err)
{
	if (sqlite3_step(s) != SQLITE_DONE) {
		int x = sqlite3_extended_errcode(store_db(st));

		if (x == SQLITE_CONSTRAINT_PRIMARYKEY || x == SQLITE_CONSTRAINT_UNIQUE)
			return fw_err_setc(err, FW_E_EXISTS, "a token of that name or secret exists already");
		return store_db_err(st, err, "cannot change a token");
	}
	*changed = sqlite3_changes(store_db(st));
	if (*changed == 0)
		return 0;
	return store_audit_append_tx(st, action, by->name, 0, detail, err);
}

int fw_store_token_add(struct fw_store *st, const char *name, enum fw_role role, const char *hash,
		       const struct fw_actor *by, struct fw_err *err)
{
	STORE_SQL(sql, "INSERT INTO tokens (name, role, hash, created_at) VALUES (?1, ?2, ?3, ?4)");
	char detail[STORE_ACTOR_DETAIL_MAX];
	sqlite3_stmt *s;
	int changed = 0, rc = -1;

	if (store_account_name_check("a token", name, err) != 0 || store_role_check(role, err) != 0 ||
	    store_actor_check(by->name, by->via, err) != 0)
		return -1;
	if (!store_sha256_valid(hash))
		return fw_err_setc(err, FW_E_INVALID, "a token is kept as the SHA-256 of its secret, in lower-case hex");
	snprintf(detail, sizeof(detail), "added the token %s as %s via %s", name, fw_role_name(role), by->via);
	store_lock(st);
	if (store_tx_begin(st, err) != 0)
		goto out;
	s = store_stmt(st, sql, err);
	if (s == NULL)
		goto fail;
	if (store_bind_text(s, 1, name) != 0 || store_bind_text(s, 2, fw_role_name(role)) != 0 ||
	    store_bind_text(s, 3, hash) != 0 || sqlite3_bind_int64(s, 4, (int64_t)time(NULL)) != SQLITE_OK) {
		store_db_err(st, err, "cannot add a token");
		goto fail;
	}
	if (token_change_tx(st, s, "token-add", by, detail, &changed, err) != 0 || store_tx_commit(st, err) != 0)
		goto fail;
	rc = 0;
	goto out;
fail:
	store_tx_rollback(st);
out:
	store_unlock(st);
	return rc;
}

/* 1 when name is a token (revoked or not), 0 when not. */
static int token_exists(struct fw_store *st, const char *name, struct fw_err *err)
{
	STORE_SQL(sql, "SELECT 1 FROM tokens WHERE name = ?1");
	sqlite3_stmt *s = store_stmt(st, sql, err);
	int r;

	if (s == NULL)
		return -1;
	if (store_bind_text(s, 1, name) != 0)
		return store_db_err(st, err, "cannot read a token");
	r = sqlite3_step(s);
	if (r != SQLITE_ROW && r != SQLITE_DONE)
		return store_db_err(st, err, "cannot read a token");
	return r == SQLITE_ROW;
}

int fw_store_token_revoke(struct fw_store *st, const char *name, const struct fw_actor *by, struct fw_err *err)
{
	/* Revoked once: a second revoke changes nothing and adds no row. */
	STORE_SQL(sql, "UPDATE tokens SET revoked = 1 WHERE name = ?1 AND revoked = 0");
	char detail[STORE_ACTOR_DETAIL_MAX];
	sqlite3_stmt *s;
	int changed = 0, rc = -1, r;

	if (store_account_name_check("a token", name, err) != 0 || store_actor_check(by->name, by->via, err) != 0)
		return -1;
	snprintf(detail, sizeof(detail), "revoked the token %s via %s", name, by->via);
	store_lock(st);
	if (store_tx_begin(st, err) != 0)
		goto out;
	s = store_stmt(st, sql, err);
	if (s == NULL)
		goto fail;
	if (store_bind_text(s, 1, name) != 0) {
		store_db_err(st, err, "cannot revoke a token");
		goto fail;
	}
	if (token_change_tx(st, s, "token-revoke", by, detail, &changed, err) != 0)
		goto fail;
	r = changed == 0 ? token_exists(st, name, err) : 1;
	if (r < 0)
		goto fail;
	if (r == 0) {
		fw_err_setc(err, FW_E_NOTFOUND, "there is no token %s", name);
		goto fail;
	}
	if (store_tx_commit(st, err) != 0)
		goto fail;
	rc = 0;
	goto out;
fail:
	store_tx_rollback(st);
out:
	store_unlock(st);
	return rc;
}

int fw_store_token_get(struct fw_store *st, const char *hash, int64_t now, char *name, enum fw_role *role,
		       struct fw_err *err)
{
	/* The lookup and the stamp in one statement: a token revoked in
	 * between is either found before or not at all. */
	STORE_SQL(sql, "UPDATE tokens SET last_used_at = ?2 WHERE hash = ?1 AND revoked = 0 RETURNING name, role");
	sqlite3_stmt *s;
	int r, rc = -1;

	name[0] = '\0';
	if (!store_sha256_valid(hash))
		return 0; /* no token has that hash */
	store_lock(st);
	s = store_stmt(st, sql, err);
	if (s == NULL)
		goto out;
	if (store_bind_text(s, 1, hash) != 0 || sqlite3_bind_int64(s, 2, now) != SQLITE_OK) {
		store_db_err(st, err, "cannot look up a token");
		goto out;
	}
	r = sqlite3_step(s);
	if (r == SQLITE_DONE) {
		rc = 0;
	} else if (r != SQLITE_ROW) {
		store_db_err(st, err, "cannot look up a token");
	} else if (store_col_copy(s, 0, name, FW_ACCOUNT_NAME_MAX + 1) != 0 ||
		   fw_role_parse(store_col_text(s, 1), role) != 0) {
		name[0] = '\0';
		fw_err_set(err, "the store's record of a token is malformed");
	} else if (sqlite3_step(s) != SQLITE_DONE) {
		name[0] = '\0';
		store_db_err(st, err, "cannot stamp a token's use");
	} else {
		rc = 1;
	}
out:
	store_unlock(st);
	return rc;
}

static json_t *token_row_json(sqlite3_stmt *s)
{
	return json_pack("{s:s, s:s, s:b, s:I, s:I}", "name", store_col_text(s, 0), "role", store_col_text(s, 1),
			 "revoked", sqlite3_column_int(s, 2) != 0, "created_at", (json_int_t)sqlite3_column_int64(s, 3),
			 "last_used_at", (json_int_t)sqlite3_column_int64(s, 4));
}

int fw_store_token_list(struct fw_store *st, json_t **out, struct fw_err *err)
{
	STORE_SQL(sql, "SELECT name, role, revoked, created_at, last_used_at FROM tokens ORDER BY name");
	return store_list_json(st, sql, token_row_json, "cannot list the tokens", out, err);
}
