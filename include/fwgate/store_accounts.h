/* store/: the console's people and machines, kept in the store's database
 * beside what they review: accounts (name, role, scrypt hash of the
 * password: fwgate/passwd.h), sessions (by the SHA-256 of the cookie's
 * random id, never the id itself), API tokens (by the SHA-256 of the
 * token), and the failed-login counters the console's lockout reads.
 * Must not decide: whether a session has expired, how long a lockout
 * lasts, what a role may do are the console's (console/auth.c); the store
 * records and answers. Every change to an account or a token is an audit
 * row (who made it, from where) in the same transaction.
 * Thread-safety: as struct fw_store. */
#ifndef FWGATE_STORE_ACCOUNTS_H
#define FWGATE_STORE_ACCOUNTS_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "fwgate/err.h"
#include "fwgate/passwd.h"
#include "fwgate/store.h"

/* A name of 1 to 64 of A-Z a-z 0-9 . _ - (accounts and tokens alike). */
#define FW_ACCOUNT_NAME_MAX 64
/* SHA-256, hex, of a session id or of a token. */
#define FW_SECRET_HASH_LEN 64
/* The CSRF token of a session: 32 random bytes, hex. */
#define FW_CSRF_LEN 64
/* Where a request came from, as the console says it ("127.0.0.1"). */
#define FW_SOURCE_MAX 64

enum fw_role {
	FW_ROLE_VIEWER = 1,    /* reads everything */
	FW_ROLE_REVIEWER,      /* and releases (four eyes), rejects, retries sandbox jobs */
	FW_ROLE_ADMIN,         /* and confirms the override of an infected verdict */
};

/* "viewer", "reviewer", "admin"; "?" for anything else. */
const char *fw_role_name(enum fw_role r);
/* 0 and *r for one of those names, -1 otherwise. */
int fw_role_parse(const char *name, enum fw_role *r) FW_WUR FW_NONNULL(1, 2);
bool fw_account_name_valid(const char *name) FW_NONNULL(1);

/* Who acts, for the audit rows: the account and where from ("console
 * 127.0.0.1", "api 10.0.0.5", "cli"). */
struct fw_actor {
	const char *name;
	const char *via;
};

/* ------------------------------------------------------------ accounts */

struct fw_account {
	char name[FW_ACCOUNT_NAME_MAX + 1];
	enum fw_role role;
	bool disabled;
	char pwhash[FW_PASSWD_HASH_MAX];
	int64_t created_at;
	int64_t password_changed_at;
	int64_t last_login_at;      /* 0: never */
};

/* A new account with a password hash made by fw_passwd_hash. Refused
 * (FW_E_EXISTS) when the name exists, disabled or not. Audited
 * account-add. */
int fw_store_account_add(struct fw_store *st, const char *name, enum fw_role role, const char *pwhash,
			 const struct fw_actor *by, struct fw_err *err) FW_WUR FW_NONNULL(1, 2, 4, 5);

/* A new password hash; every session of the account is revoked in the
 * same transaction. FW_E_NOTFOUND when no such account. Audited
 * account-passwd. */
int fw_store_account_passwd(struct fw_store *st, const char *name, const char *pwhash, const struct fw_actor *by,
			    struct fw_err *err) FW_WUR FW_NONNULL(1, 2, 3, 4);

/* Disables (true) or enables (false) an account; disabling revokes its
 * sessions in the same transaction. Audited account-disable /
 * account-enable. */
int fw_store_account_disable(struct fw_store *st, const char *name, bool disabled, const struct fw_actor *by,
			     struct fw_err *err) FW_WUR FW_NONNULL(1, 2, 4);

/* A new role. Audited account-role. */
int fw_store_account_role(struct fw_store *st, const char *name, enum fw_role role, const struct fw_actor *by,
			  struct fw_err *err) FW_WUR FW_NONNULL(1, 2, 4);

/* 1 and *a when the account exists (disabled ones too), 0 when not. */
int fw_store_account_get(struct fw_store *st, const char *name, struct fw_account *a, struct fw_err *err)
	FW_WUR FW_NONNULL(1, 2, 3);

/* Stamps a successful login. */
int fw_store_account_login(struct fw_store *st, const char *name, int64_t now, struct fw_err *err)
	FW_WUR FW_NONNULL(1, 2);

/* Every account, by name, without hashes: [{name, role, disabled,
 * created_at, password_changed_at, last_login_at, sessions}]. */
int fw_store_account_list(struct fw_store *st, json_t **out, struct fw_err *err) FW_WUR FW_NONNULL(1, 2);

/* ------------------------------------------------------------ login throttling */

/* The failed-login counter of key ("account:NAME" or "source:ADDR"):
 * *failures since the last success (0 when none) and when the last one
 * was (0 when none). */
int fw_store_login_failures(struct fw_store *st, const char *key, unsigned *failures, int64_t *last_at,
			    struct fw_err *err) FW_WUR FW_NONNULL(1, 2, 3, 4);

/* Records a login attempt for key at now: a failure counts one more
 * (*failures is the new count), a success clears the counter. */
int fw_store_login_record(struct fw_store *st, const char *key, bool success, int64_t now, unsigned *failures,
			  struct fw_err *err) FW_WUR FW_NONNULL(1, 2, 5);

/* Bounds the counters: removes those last counted before before (unix
 * seconds), then all but the keep_max most recent. *n counts the removed
 * (may be NULL). */
int fw_store_login_prune(struct fw_store *st, int64_t before, unsigned keep_max, unsigned *n, struct fw_err *err)
	FW_WUR FW_NONNULL(1);

/* ------------------------------------------------------------ sessions */

struct fw_session {
	char id_hash[FW_SECRET_HASH_LEN + 1];
	char account[FW_ACCOUNT_NAME_MAX + 1];
	enum fw_role role;           /* the account's role now */
	char csrf[FW_CSRF_LEN + 1];
	char source[FW_SOURCE_MAX];  /* where it logged in from */
	int64_t created_at;
	int64_t last_seen_at;
};

/* A new session for account (id_hash: SHA-256 hex of the cookie's id). */
int fw_store_session_create(struct fw_store *st, const char *id_hash, const char *account, const char *csrf,
			    const char *source, int64_t now, struct fw_err *err) FW_WUR FW_NONNULL(1, 2, 3, 4, 5);

/* 1 and *s when the session exists and its account exists and is not
 * disabled; 0 otherwise (revoked, unknown, account gone or disabled). */
int fw_store_session_get(struct fw_store *st, const char *id_hash, struct fw_session *s, struct fw_err *err)
	FW_WUR FW_NONNULL(1, 2, 3);

/* Stamps last_seen_at. */
int fw_store_session_touch(struct fw_store *st, const char *id_hash, int64_t now, struct fw_err *err)
	FW_WUR FW_NONNULL(1, 2);

/* Removes one session (logout, expiry). Not an error when already gone. */
int fw_store_session_revoke(struct fw_store *st, const char *id_hash, struct fw_err *err) FW_WUR FW_NONNULL(1, 2);

/* Removes the sessions last seen before idle_before or created before
 * created_before (unix seconds). *n counts them (may be NULL). */
int fw_store_session_expire(struct fw_store *st, int64_t idle_before, int64_t created_before, unsigned *n,
			    struct fw_err *err) FW_WUR FW_NONNULL(1);

/* ------------------------------------------------------------ API tokens */

/* A new token (hash: SHA-256 hex of the secret the CLI printed once).
 * FW_E_EXISTS when the name exists. Audited token-add. */
int fw_store_token_add(struct fw_store *st, const char *name, enum fw_role role, const char *hash,
		       const struct fw_actor *by, struct fw_err *err) FW_WUR FW_NONNULL(1, 2, 4, 5);

/* Revokes a token by name (it stays listed as revoked). Audited
 * token-revoke. FW_E_NOTFOUND when unknown. */
int fw_store_token_revoke(struct fw_store *st, const char *name, const struct fw_actor *by, struct fw_err *err)
	FW_WUR FW_NONNULL(1, 2, 3);

/* 1 with the token's name (FW_ACCOUNT_NAME_MAX + 1 bytes) and role when
 * hash names a token that is not revoked; 0 otherwise. Stamps its last
 * use. */
int fw_store_token_get(struct fw_store *st, const char *hash, int64_t now, char *name, enum fw_role *role,
		       struct fw_err *err) FW_WUR FW_NONNULL(1, 2, 4, 5);

/* Every token, by name, without hashes: [{name, role, revoked,
 * created_at, last_used_at}]. */
int fw_store_token_list(struct fw_store *st, json_t **out, struct fw_err *err) FW_WUR FW_NONNULL(1, 2);

#endif
