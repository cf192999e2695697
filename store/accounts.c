/* The console's accounts (store_accounts.h): names and roles, the scrypt
 * hash of the password as fw_passwd_hash made it, disabled or not, when
 * created, changed and last logged in. Every change is audited in its own
 * transaction, and a new password or a disabled account takes the
 * account's sessions with it. Must not see a password, nor decide what a
 * role may do (the console's). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "fwgate/store_accounts.h"
#include "store/store_int.h"

static const char *const role_names[] = { "viewer", "reviewer", "admin" };

const char *fw_role_name(enum fw_role r)
{
	return r >= FW_ROLE_VIEWER && r <= FW_ROLE_ADMIN ? role_names[r - FW_ROLE_VIEWER] : "?";
}

int fw_role_parse(const char *name, enum fw_role *r)
{
	for (size_t i = 0; i < FW_ARRAY_LEN(role_names); i++)
		if (strcmp(name, role_names[i]) == 0) {
			*r = (enum fw_role)(FW_ROLE_VIEWER + (int)i);
			return 0;
		}
	return -1;
}

bool fw_account_name_valid(const char *name)
{
	size_t i;

	for (i = 0; name[i] != '\0'; i++) {
		char c = name[i];

		if (i >= FW_ACCOUNT_NAME_MAX || !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
						  (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return false;
	}
	return i > 0;
}

int store_account_name_check(const char *what, const char *name, struct fw_err *err)
{
	if (!fw_account_name_valid(name))
		return fw_err_setc(err, FW_E_INVALID, "\"%.80s\" is not %s name (1 to %d of A-Z a-z 0-9 . _ -)", name,
				   what, FW_ACCOUNT_NAME_MAX);
	return 0;
}

int store_role_check(int role, struct fw_err *err)
{
	if (role < FW_ROLE_VIEWER || role > FW_ROLE_ADMIN)
		return fw_err_setc(err, FW_E_INVALID, "%d is not a role (viewer, reviewer or admin)", (int)role);
	return 0;
}

/* A hash as fw_passwd_hash writes it: the store keeps it, never reads it. */
static int account_pwhash_check(const char *pwhash, struct fw_err *err)
{
	if (strncmp(pwhash, "$scrypt$", 8) != 0 || strlen(pwhash) >= FW_PASSWD_HASH_MAX)
		return fw_err_setc(err, FW_E_INVALID, "an account's password must be given as the hash "
				   "fw_passwd_hash makes");
	return 0;
}

/* One UPDATE or DELETE of an account's rows by name (?1) with up to one
 * more text (?2, when not NULL) and one integer (?3, when the statement
 * has it); *changed (may be NULL) counts the rows. */
static int account_write(struct fw_store *st, const char *sql, const char *name, const char *text, int64_t num,
			 int *changed, const char *what, struct fw_err *err)
{
	sqlite3_stmt *s = store_stmt(st, sql, err);

	if (s == NULL)
		return -1;
	if (store_bind_text(s, 1, name) != 0 || (text != NULL && store_bind_text(s, 2, text) != 0) ||
	    (sqlite3_bind_parameter_count(s) >= 3 && sqlite3_bind_int64(s, 3, num) != SQLITE_OK) ||
	    sqlite3_step(s) != SQLITE_DONE)
		return store_db_err(st, err, what);
	if (changed != NULL)
		*changed = sqlite3_changes(store_db(st));
	return 0;
}

/* Ends the transaction of a change: committed, or rolled back with err
 * kept. Gives the writer back. */
static int account_end(struct fw_store *st, int rc, struct fw_err *err)
{
	if (rc == 0 && store_tx_commit(st, err) != 0)
		rc = -1;
	if (rc != 0)
		store_tx_rollback(st);
	store_unlock(st);
	return rc;
}

/* Takes the writer and opens the transaction of a change. */
static int account_begin(struct fw_store *st, struct fw_err *err)
{
	store_lock(st);
	if (store_tx_begin(st, err) != 0) {
		store_unlock(st);
		return -1;
	}
	return 0;
}

/* The audit row of a change, by the actor, inside the transaction. */
static int account_audit(struct fw_store *st, const char *action, const struct fw_actor *by, const char *detail,
			 struct fw_err *err)
{
	return store_audit_append_tx(st, action, by->name, 0, detail, err);
}

int fw_store_account_add(struct fw_store *st, const char *name, enum fw_role role, const char *pwhash,
			 const struct fw_actor *by, struct fw_err *err)
{
	STORE_SQL(sql, "INSERT INTO accounts (name, role, pwhash, created_at, password_changed_at)"
				  " VALUES (?1, ?2, ?3, ?4, ?4)");
	char detail[STORE_ACTOR_DETAIL_MAX];
	sqlite3_stmt *s;
	int rc = -1;

	if (store_account_name_check("an account", name, err) != 0 || store_role_check(role, err) != 0 ||
	    account_pwhash_check(pwhash, err) != 0 || store_actor_check(by->name, by->via, err) != 0 ||
	    account_begin(st, err) != 0)
		return -1;
	s = store_stmt(st, sql, err);
	if (s == NULL)
		goto out;
	if (store_bind_text(s, 1, name) != 0 || store_bind_text(s, 2, fw_role_name(role)) != 0 ||
	    store_bind_text(s, 3, pwhash) != 0 || sqlite3_bind_int64(s, 4, (int64_t)time(NULL)) != SQLITE_OK) {
		store_db_err(st, err, "cannot add an account");
		goto out;
	}
	if (sqlite3_step(s) != SQLITE_DONE) {
		if (sqlite3_extended_errcode(store_db(st)) == SQLITE_CONSTRAINT_PRIMARYKEY)
			fw_err_setc(err, FW_E_EXISTS, "the account %s exists already", name);
		else
			store_db_err(st, err, "cannot add an account");
		goto out;
	}
	snprintf(detail, sizeof(detail), "added %s as %s via %s", name, fw_role_name(role), by->via);
	rc = account_audit(st, "account-add", by, detail, err);
out:
	return account_end(st, rc, err);
}

/* The sessions of name revoked, inside the caller's transaction; *n
 * counts them. */
static int account_revoke_sessions(struct fw_store *st, const char *name, int *n, struct fw_err *err)
{
	STORE_SQL(sql, "DELETE FROM sessions WHERE account = ?1");

	return account_write(st, sql, name, NULL, 0, n, "cannot revoke an account's sessions", err);
}

int fw_store_account_passwd(struct fw_store *st, const char *name, const char *pwhash, const struct fw_actor *by,
			    struct fw_err *err)
{
	STORE_SQL(sql, "UPDATE accounts SET pwhash = ?2, password_changed_at = ?3 WHERE name = ?1");
	char detail[STORE_ACTOR_DETAIL_MAX];
	int changed = 0, revoked = 0, rc = -1;

	if (store_account_name_check("an account", name, err) != 0 || account_pwhash_check(pwhash, err) != 0 ||
	    store_actor_check(by->name, by->via, err) != 0 || account_begin(st, err) != 0)
		return -1;
	if (account_write(st, sql, name, pwhash, (int64_t)time(NULL), &changed, "cannot change a password", err) != 0)
		goto out;
	if (changed == 0) {
		fw_err_setc(err, FW_E_NOTFOUND, "there is no account %.80s", name);
		goto out;
	}
	if (account_revoke_sessions(st, name, &revoked, err) != 0)
		goto out;
	snprintf(detail, sizeof(detail), "new password for %s (%d sessions revoked) via %s", name, revoked, by->via);
	rc = account_audit(st, "account-passwd", by, detail, err);
out:
	return account_end(st, rc, err);
}

int fw_store_account_disable(struct fw_store *st, const char *name, bool disabled, const struct fw_actor *by,
			     struct fw_err *err)
{
	STORE_SQL(sql, "UPDATE accounts SET disabled = ?3 WHERE name = ?1");
	char detail[STORE_ACTOR_DETAIL_MAX];
	int changed = 0, revoked = 0, rc = -1;

	if (store_account_name_check("an account", name, err) != 0 || store_actor_check(by->name, by->via, err) != 0 ||
	    account_begin(st, err) != 0)
		return -1;
	if (account_write(st, sql, name, NULL, disabled, &changed, "cannot disable or enable an account", err) != 0)
		goto out;
	if (changed == 0) {
		fw_err_setc(err, FW_E_NOTFOUND, "there is no account %.80s", name);
		goto out;
	}
	if (disabled && account_revoke_sessions(st, name, &revoked, err) != 0)
		goto out;
	if (disabled)
		snprintf(detail, sizeof(detail), "disabled %s (%d sessions revoked) via %s", name, revoked, by->via);
	else
		snprintf(detail, sizeof(detail), "enabled %s via %s", name, by->via);
	rc = account_audit(st, disabled ? "account-disable" : "account-enable", by, detail, err);
out:
	return account_end(st, rc, err);
}

int fw_store_account_role(struct fw_store *st, const char *name, enum fw_role role, const struct fw_actor *by,
			  struct fw_err *err)
{
	STORE_SQL(sql, "UPDATE accounts SET role = ?2 WHERE name = ?1");
	char detail[STORE_ACTOR_DETAIL_MAX];
	int changed = 0, rc = -1;

	if (store_account_name_check("an account", name, err) != 0 || store_role_check(role, err) != 0 ||
	    store_actor_check(by->name, by->via, err) != 0 || account_begin(st, err) != 0)
		return -1;
	if (account_write(st, sql, name, fw_role_name(role), 0, &changed, "cannot change a role", err) != 0)
		goto out;
	if (changed == 0) {
		fw_err_setc(err, FW_E_NOTFOUND, "there is no account %.80s", name);
		goto out;
	}
	snprintf(detail, sizeof(detail), "%s is now %s via %s", name, fw_role_name(role), by->via);
	rc = account_audit(st, "account-role", by, detail, err);
out:
	return account_end(st, rc, err);
}

static int account_read(sqlite3_stmt *s, struct fw_account *a)
{
	memset(a, 0, sizeof(*a));
	if (store_col_copy(s, 0, a->name, sizeof(a->name)) != 0 || fw_role_parse(store_col_text(s, 1), &a->role) != 0 ||
	    store_col_copy(s, 2, a->pwhash, sizeof(a->pwhash)) != 0)
		return -1;
	a->disabled = sqlite3_column_int(s, 3) != 0;
	a->created_at = sqlite3_column_int64(s, 4);
	a->password_changed_at = sqlite3_column_int64(s, 5);
	a->last_login_at = sqlite3_column_int64(s, 6);
	return 0;
}

int fw_store_account_get(struct fw_store *st, const char *name, struct fw_account *a, struct fw_err *err)
{
	STORE_SQL(sql, "SELECT name, role, pwhash, disabled, created_at, password_changed_at, last_login_at"
				  " FROM accounts WHERE name = ?1");
	sqlite3_stmt *s;
	int r, rc = -1;

	memset(a, 0, sizeof(*a));
	store_rlock(st);
	s = store_stmt(st, sql, err);
	if (s == NULL)
		goto out;
	if (store_bind_text(s, 1, name) != 0) {
		store_db_err(st, err, "cannot read an account");
		goto out;
	}
	r = sqlite3_step(s);
	if (r == SQLITE_DONE)
		rc = 0;
	else if (r != SQLITE_ROW)
		store_db_err(st, err, "cannot read an account");
	else if (account_read(s, a) != 0)
		fw_err_set(err, "the store's record of the account %.80s is malformed", name);
	else
		rc = 1;
out:
	store_unlock(st);
	if (rc != 1)
		memset(a, 0, sizeof(*a));
	return rc;
}

int fw_store_account_login(struct fw_store *st, const char *name, int64_t now, struct fw_err *err)
{
	STORE_SQL(sql, "UPDATE accounts SET last_login_at = ?3 WHERE name = ?1");
	int changed = 0, rc;

	store_lock(st);
	rc = account_write(st, sql, name, NULL, now, &changed, "cannot stamp a login", err);
	store_unlock(st);
	if (rc == 0 && changed == 0)
		return fw_err_setc(err, FW_E_NOTFOUND, "there is no account %.80s", name);
	return rc;
}

static json_t *account_row_json(sqlite3_stmt *s)
{
	return json_pack("{s:s, s:s, s:b, s:I, s:I, s:I, s:I}", "name", store_col_text(s, 0), "role",
			 store_col_text(s, 1), "disabled", sqlite3_column_int(s, 2) != 0, "created_at",
			 (json_int_t)sqlite3_column_int64(s, 3), "password_changed_at",
			 (json_int_t)sqlite3_column_int64(s, 4), "last_login_at", (json_int_t)sqlite3_column_int64(s, 5),
			 "sessions", (json_int_t)sqlite3_column_int64(s, 6));
}

int fw_store_account_list(struct fw_store *st, json_t **out, struct fw_err *err)
{
	STORE_SQL(sql, "SELECT name, role, disabled, created_at, password_changed_at, last_login_at,"
				  " (SELECT count(*) FROM sessions WHERE account = a.name) FROM accounts a ORDER BY name");
	return store_list_json(st, sql, account_row_json, "cannot list the accounts", out, err);
}
