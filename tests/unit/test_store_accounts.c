/* Unit tests for the store's people and machines (fwgate/store_accounts.h):
 * accounts (add, duplicate, new password and disable revoke sessions, a
 * disabled account's session is not found, role), the failed-login
 * counters, sessions (create, get, touch, revoke, expire), API tokens
 * (add, get, revoke, list without hashes), every change audited with who
 * and via, and the audit chain intact after all of it. Each test gets a
 * fresh state directory. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fwgate/passwd.h"
#include "fwgate/store.h"
#include "fwgate/store_accounts.h"
#include "testutil.h"

struct fx {
	char dir[512];
	struct fw_store *st;
	char hash[FW_PASSWD_HASH_MAX];
};

static const struct fw_actor admin = { "root", "cli" };

/* 64 hex digits made of one repeated digit: a session id hash, a CSRF
 * token or a token hash in the tests. */
static const char *hex64(char c)
{
	static char buf[8][65];
	static unsigned next;
	char *p = buf[next++ % 8];

	memset(p, c, 64);
	p[64] = '\0';
	return p;
}

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct fw_err err;

	TU_NONNULL(f);
	fw_err_clear(&err);
	tu_mkdtemp(f->dir, sizeof(f->dir));
	if (fw_store_open(&f->st, f->dir, &err) != 0)
		fail_msg("open: %s", fw_err_msg(&err));
	/* One real hash for all: scrypt is slow on purpose. */
	if (fw_passwd_hash("correct horse battery", 21, f->hash, sizeof(f->hash), &err) != 0)
		fail_msg("hash: %s", fw_err_msg(&err));
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	fw_store_close(f->st);
	tu_rmtree(f->dir);
	free(f);
	return 0;
}

static void account_add_ok(struct fx *f, const char *name, enum fw_role role)
{
	struct fw_err err;

	fw_err_clear(&err);
	if (fw_store_account_add(f->st, name, role, f->hash, &admin, &err) != 0)
		fail_msg("add %s: %s", name, fw_err_msg(&err));
}

static void session_ok(struct fx *f, const char *id_hash, const char *account, int64_t now)
{
	struct fw_err err;

	fw_err_clear(&err);
	if (fw_store_session_create(f->st, id_hash, account, hex64('c'), "127.0.0.1", now, &err) != 0)
		fail_msg("session for %s: %s", account, fw_err_msg(&err));
}

/* The audit rows with action, as one array (to free). */
static json_t *audit_of(struct fx *f, const char *action)
{
	json_t *rows = NULL, *out = json_array(), *v;
	struct fw_err err;
	size_t i;

	fw_err_clear(&err);
	TU_NONNULL(out);
	assert_int_equal(fw_store_audit_list(f->st, &rows, &err), 0);
	json_array_foreach(rows, i, v)
		if (strcmp(json_string_value(json_object_get(v, "action")), action) == 0)
			json_array_append(out, v);
	json_decref(rows);
	return out;
}

static void assert_chain_intact(struct fx *f)
{
	struct fw_err err;
	int64_t bad = -1;

	fw_err_clear(&err);
	assert_int_equal(fw_store_audit_verify(f->st, &bad, &err), 0);
	assert_int_equal(bad, 0);
}

static void test_roles_and_names(void **state)
{
	enum fw_role r = FW_ROLE_VIEWER;

	(void)state;
	assert_string_equal(fw_role_name(FW_ROLE_VIEWER), "viewer");
	assert_string_equal(fw_role_name(FW_ROLE_REVIEWER), "reviewer");
	assert_string_equal(fw_role_name(FW_ROLE_ADMIN), "admin");
	assert_string_equal(fw_role_name((enum fw_role)0), "?");
	assert_string_equal(fw_role_name((enum fw_role)9), "?");
	assert_int_equal(fw_role_parse("admin", &r), 0);
	assert_int_equal(r, FW_ROLE_ADMIN);
	assert_int_equal(fw_role_parse("Admin", &r), -1);
	assert_int_equal(fw_role_parse("", &r), -1);
	assert_true(fw_account_name_valid("alice"));
	assert_true(fw_account_name_valid("a.b_c-D9"));
	assert_true(fw_account_name_valid("0123456789012345678901234567890123456789012345678901234567890123"));
	assert_false(fw_account_name_valid("01234567890123456789012345678901234567890123456789012345678901234"));
	assert_false(fw_account_name_valid(""));
	assert_false(fw_account_name_valid("al ice"));
	assert_false(fw_account_name_valid("alice:x"));
	assert_false(fw_account_name_valid("al\xc3\xa9"));
}

static void test_account_add_get_list(void **state)
{
	struct fx *f = *state;
	struct fw_account a;
	struct fw_err err;
	json_t *list = NULL, *rows;
	char *text;

	account_add_ok(f, "alice", FW_ROLE_REVIEWER);
	fw_err_clear(&err);
	/* A duplicate, disabled or not, is refused with its code. */
	assert_int_equal(fw_store_account_add(f->st, "alice", FW_ROLE_ADMIN, f->hash, &admin, &err), -1);
	assert_int_equal(fw_err_code(&err), FW_E_EXISTS);
	fw_err_clear(&err);
	assert_int_equal(fw_store_account_disable(f->st, "alice", true, &admin, &err), 0);
	assert_int_equal(fw_store_account_add(f->st, "alice", FW_ROLE_ADMIN, f->hash, &admin, &err), -1);
	assert_int_equal(fw_err_code(&err), FW_E_EXISTS);
	/* Bad input is refused before anything is written. */
	fw_err_clear(&err);
	assert_int_equal(fw_store_account_add(f->st, "bad name", FW_ROLE_ADMIN, f->hash, &admin, &err), -1);
	assert_int_equal(fw_err_code(&err), FW_E_INVALID);
	fw_err_clear(&err);
	assert_int_equal(fw_store_account_add(f->st, "bob", (enum fw_role)7, f->hash, &admin, &err), -1);
	fw_err_clear(&err);
	assert_int_equal(fw_store_account_add(f->st, "bob", FW_ROLE_ADMIN, "plain password", &admin, &err), -1);
	fw_err_clear(&err);
	assert_int_equal(fw_store_account_add(f->st, "bob", FW_ROLE_ADMIN, f->hash,
					      &(struct fw_actor){ "root", "" }, &err), -1);
	fw_err_clear(&err);
	assert_int_equal(fw_store_account_get(f->st, "bob", &a, &err), 0);

	assert_int_equal(fw_store_account_get(f->st, "alice", &a, &err), 1);
	assert_string_equal(a.name, "alice");
	assert_int_equal(a.role, FW_ROLE_REVIEWER);
	assert_true(a.disabled);
	assert_string_equal(a.pwhash, f->hash);
	assert_true(a.created_at > 0);
	assert_int_equal(a.password_changed_at, a.created_at);
	assert_int_equal(a.last_login_at, 0);

	account_add_ok(f, "bob", FW_ROLE_VIEWER);
	assert_int_equal(fw_store_account_login(f->st, "bob", 1700000000, &err), 0);
	assert_int_equal(fw_store_account_login(f->st, "nobody", 1700000000, &err), -1);
	assert_int_equal(fw_err_code(&err), FW_E_NOTFOUND);
	fw_err_clear(&err);
	assert_int_equal(fw_store_account_get(f->st, "bob", &a, &err), 1);
	assert_int_equal(a.last_login_at, 1700000000);
	session_ok(f, hex64('1'), "bob", 1700000000);

	assert_int_equal(fw_store_account_list(f->st, &list, &err), 0);
	TU_NONNULL(list);
	assert_int_equal(json_array_size(list), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "name")), "alice");
	assert_true(json_is_true(json_object_get(json_array_get(list, 0), "disabled")));
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 1), "role")), "viewer");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 1), "sessions")), 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 1), "last_login_at")), 1700000000);
	/* Never a hash in the list. */
	text = json_dumps(list, 0);
	TU_NONNULL(text);
	assert_null(strstr(text, "scrypt"));
	assert_null(json_object_get(json_array_get(list, 0), "pwhash"));
	free(text);
	json_decref(list);

	/* Audited by the actor, with via. */
	rows = audit_of(f, "account-add");
	assert_int_equal(json_array_size(rows), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(rows, 0), "who")), "root");
	assert_non_null(strstr(json_string_value(json_object_get(json_array_get(rows, 0), "detail")),
			       "alice as reviewer via cli"));
	assert_null(strstr(json_string_value(json_object_get(json_array_get(rows, 0), "detail")), "scrypt"));
	json_decref(rows);
	assert_chain_intact(f);
}

static void test_account_passwd_revokes_sessions(void **state)
{
	struct fx *f = *state;
	char other[FW_PASSWD_HASH_MAX];
	struct fw_session s;
	struct fw_account a;
	struct fw_err err;
	json_t *rows;

	fw_err_clear(&err);
	account_add_ok(f, "alice", FW_ROLE_ADMIN);
	account_add_ok(f, "bob", FW_ROLE_VIEWER);
	session_ok(f, hex64('1'), "alice", 1000);
	session_ok(f, hex64('2'), "alice", 1000);
	session_ok(f, hex64('3'), "bob", 1000);
	assert_int_equal(fw_passwd_hash("another long password", 21, other, sizeof(other), &err), 0);
	assert_int_equal(fw_store_account_passwd(f->st, "alice", other, &admin, &err), 0);
	assert_int_equal(fw_store_account_get(f->st, "alice", &a, &err), 1);
	assert_string_equal(a.pwhash, other);
	assert_int_equal(fw_store_session_get(f->st, hex64('1'), &s, &err), 0);
	assert_int_equal(fw_store_session_get(f->st, hex64('2'), &s, &err), 0);
	assert_int_equal(fw_store_session_get(f->st, hex64('3'), &s, &err), 1); /* bob's stays */
	rows = audit_of(f, "account-passwd");
	assert_int_equal(json_array_size(rows), 1);
	assert_non_null(strstr(json_string_value(json_object_get(json_array_get(rows, 0), "detail")),
			       "new password for alice (2 sessions revoked) via cli"));
	json_decref(rows);
	assert_int_equal(fw_store_account_passwd(f->st, "nobody", other, &admin, &err), -1);
	assert_int_equal(fw_err_code(&err), FW_E_NOTFOUND);
	assert_chain_intact(f);
}

static void test_account_disable_role(void **state)
{
	struct fx *f = *state;
	struct fw_session s;
	struct fw_account a;
	struct fw_err err;
	json_t *rows;

	fw_err_clear(&err);
	account_add_ok(f, "alice", FW_ROLE_REVIEWER);
	session_ok(f, hex64('1'), "alice", 1000);
	assert_int_equal(fw_store_session_get(f->st, hex64('1'), &s, &err), 1);
	assert_int_equal(s.role, FW_ROLE_REVIEWER);
	/* The session's role is the account's now. */
	assert_int_equal(fw_store_account_role(f->st, "alice", FW_ROLE_ADMIN, &admin, &err), 0);
	assert_int_equal(fw_store_session_get(f->st, hex64('1'), &s, &err), 1);
	assert_int_equal(s.role, FW_ROLE_ADMIN);
	assert_int_equal(fw_store_account_role(f->st, "alice", (enum fw_role)0, &admin, &err), -1);
	fw_err_clear(&err);
	assert_int_equal(fw_store_account_role(f->st, "nobody", FW_ROLE_ADMIN, &admin, &err), -1);
	assert_int_equal(fw_err_code(&err), FW_E_NOTFOUND);
	fw_err_clear(&err);

	assert_int_equal(fw_store_account_disable(f->st, "alice", true, &admin, &err), 0);
	assert_int_equal(fw_store_session_get(f->st, hex64('1'), &s, &err), 0);
	assert_int_equal(fw_store_account_get(f->st, "alice", &a, &err), 1);
	assert_true(a.disabled);
	/* A disabled account gets no new session, and a session row that
	 * would still be there is not answered either. */
	assert_int_equal(fw_store_session_create(f->st, hex64('2'), "alice", hex64('c'), "::1", 1000, &err), -1);
	assert_int_equal(fw_err_code(&err), FW_E_DENIED);
	fw_err_clear(&err);
	assert_int_equal(fw_store_account_disable(f->st, "alice", false, &admin, &err), 0);
	session_ok(f, hex64('2'), "alice", 1000);
	assert_int_equal(fw_store_account_disable(f->st, "nobody", true, &admin, &err), -1);
	assert_int_equal(fw_err_code(&err), FW_E_NOTFOUND);
	rows = audit_of(f, "account-disable");
	assert_int_equal(json_array_size(rows), 1);
	assert_non_null(strstr(json_string_value(json_object_get(json_array_get(rows, 0), "detail")),
			       "disabled alice (1 sessions revoked) via cli"));
	json_decref(rows);
	rows = audit_of(f, "account-enable");
	assert_int_equal(json_array_size(rows), 1);
	json_decref(rows);
	rows = audit_of(f, "account-role");
	assert_int_equal(json_array_size(rows), 1);
	assert_non_null(strstr(json_string_value(json_object_get(json_array_get(rows, 0), "detail")),
			       "alice is now admin via cli"));
	json_decref(rows);
	assert_chain_intact(f);
}

static void test_login_counters(void **state)
{
	struct fx *f = *state;
	unsigned n = 99;
	int64_t last = -1;
	struct fw_err err;

	fw_err_clear(&err);
	assert_int_equal(fw_store_login_failures(f->st, "account:alice", &n, &last, &err), 0);
	assert_int_equal(n, 0);
	assert_int_equal(last, 0);
	for (unsigned i = 1; i <= 3; i++) {
		assert_int_equal(fw_store_login_record(f->st, "account:alice", false, 100 + i, &n, &err), 0);
		assert_int_equal(n, i);
	}
	assert_int_equal(fw_store_login_record(f->st, "source:10.0.0.5", false, 200, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(fw_store_login_failures(f->st, "account:alice", &n, &last, &err), 0);
	assert_int_equal(n, 3);
	assert_int_equal(last, 103);
	/* A success clears its own key only. */
	assert_int_equal(fw_store_login_record(f->st, "account:alice", true, 300, &n, &err), 0);
	assert_int_equal(n, 0);
	assert_int_equal(fw_store_login_failures(f->st, "account:alice", &n, &last, &err), 0);
	assert_int_equal(n, 0);
	assert_int_equal(last, 0);
	assert_int_equal(fw_store_login_failures(f->st, "source:10.0.0.5", &n, &last, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(fw_store_login_record(f->st, "", false, 1, &n, &err), -1);
	assert_int_equal(fw_err_code(&err), FW_E_INVALID);
}

/* The counters are bounded: by age, then by count (the newest kept). */
static void test_login_prune(void **state)
{
	struct fx *f = *state;
	unsigned n = 0, gone = 99;
	int64_t last = 0;
	struct fw_err err;
	char key[32];

	fw_err_clear(&err);
	for (unsigned i = 0; i < 10; i++) {
		snprintf(key, sizeof(key), "source:10.0.0.%u", i);
		assert_int_equal(fw_store_login_record(f->st, key, false, 1000 + i, &n, &err), 0);
	}
	assert_int_equal(fw_store_login_prune(f->st, 1003, 100, &gone, &err), 0);
	assert_int_equal(gone, 3);
	assert_int_equal(fw_store_login_failures(f->st, "source:10.0.0.2", &n, &last, &err), 0);
	assert_int_equal(n, 0);
	assert_int_equal(fw_store_login_prune(f->st, 0, 4, &gone, &err), 0);
	assert_int_equal(gone, 3);
	assert_int_equal(fw_store_login_failures(f->st, "source:10.0.0.5", &n, &last, &err), 0);
	assert_int_equal(n, 0);
	assert_int_equal(fw_store_login_failures(f->st, "source:10.0.0.6", &n, &last, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(last, 1006);
}

static void test_sessions(void **state)
{
	struct fx *f = *state;
	struct fw_session s;
	struct fw_err err;
	unsigned n = 99;
	json_t *list = NULL;

	fw_err_clear(&err);
	account_add_ok(f, "alice", FW_ROLE_VIEWER);
	session_ok(f, hex64('1'), "alice", 1000);
	assert_int_equal(fw_store_session_get(f->st, hex64('1'), &s, &err), 1);
	assert_string_equal(s.id_hash, hex64('1'));
	assert_string_equal(s.account, "alice");
	assert_string_equal(s.csrf, hex64('c'));
	assert_string_equal(s.source, "127.0.0.1");
	assert_int_equal(s.created_at, 1000);
	assert_int_equal(s.last_seen_at, 1000);
	/* Duplicate id, unknown account, malformed input. */
	assert_int_equal(fw_store_session_create(f->st, hex64('1'), "alice", hex64('c'), "x", 1, &err), -1);
	assert_int_equal(fw_err_code(&err), FW_E_EXISTS);
	fw_err_clear(&err);
	assert_int_equal(fw_store_session_create(f->st, hex64('9'), "nobody", hex64('c'), "x", 1, &err), -1);
	fw_err_clear(&err);
	assert_int_equal(fw_store_session_create(f->st, "not-a-hash", "alice", hex64('c'), "x", 1, &err), -1);
	assert_int_equal(fw_err_code(&err), FW_E_INVALID);
	fw_err_clear(&err);
	assert_int_equal(fw_store_session_get(f->st, "not-a-hash", &s, &err), 0);
	assert_int_equal(fw_store_session_get(f->st, hex64('8'), &s, &err), 0);

	assert_int_equal(fw_store_session_touch(f->st, hex64('1'), 1500, &err), 0);
	assert_int_equal(fw_store_session_get(f->st, hex64('1'), &s, &err), 1);
	assert_int_equal(s.last_seen_at, 1500);
	session_ok(f, hex64('2'), "alice", 1200);
	session_ok(f, hex64('3'), "alice", 2000);
	/* Idle before 1400 (session 2, seen at 1200) or created before 1100
	 * (session 1, created at 1000, seen at 1500): both go. */
	assert_int_equal(fw_store_session_expire(f->st, 1400, 1100, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(fw_store_session_get(f->st, hex64('1'), &s, &err), 0);
	assert_int_equal(fw_store_session_get(f->st, hex64('2'), &s, &err), 0);
	assert_int_equal(fw_store_session_get(f->st, hex64('3'), &s, &err), 1);
	assert_int_equal(fw_store_session_expire(f->st, 0, 0, NULL, &err), 0);
	assert_int_equal(fw_store_session_revoke(f->st, hex64('3'), &err), 0);
	assert_int_equal(fw_store_session_revoke(f->st, hex64('3'), &err), 0); /* gone already: fine */
	assert_int_equal(fw_store_session_get(f->st, hex64('3'), &s, &err), 0);
	assert_int_equal(fw_store_account_list(f->st, &list, &err), 0);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 0), "sessions")), 0);
	json_decref(list);
}

static void test_tokens(void **state)
{
	struct fx *f = *state;
	char name[FW_ACCOUNT_NAME_MAX + 1];
	enum fw_role role = FW_ROLE_VIEWER;
	struct fw_err err;
	json_t *list = NULL, *rows;
	char *text;

	fw_err_clear(&err);
	assert_int_equal(fw_store_token_add(f->st, "ci-bot", FW_ROLE_REVIEWER, hex64('a'), &admin, &err), 0);
	assert_int_equal(fw_store_token_add(f->st, "ci-bot", FW_ROLE_VIEWER, hex64('b'), &admin, &err), -1);
	assert_int_equal(fw_err_code(&err), FW_E_EXISTS);
	fw_err_clear(&err);
	assert_int_equal(fw_store_token_add(f->st, "other", FW_ROLE_VIEWER, hex64('a'), &admin, &err), -1);
	assert_int_equal(fw_err_code(&err), FW_E_EXISTS);
	fw_err_clear(&err);
	assert_int_equal(fw_store_token_add(f->st, "other", FW_ROLE_VIEWER, "fwg_secret", &admin, &err), -1);
	assert_int_equal(fw_err_code(&err), FW_E_INVALID);
	fw_err_clear(&err);

	assert_int_equal(fw_store_token_get(f->st, hex64('a'), 5000, name, &role, &err), 1);
	assert_string_equal(name, "ci-bot");
	assert_int_equal(role, FW_ROLE_REVIEWER);
	assert_int_equal(fw_store_token_get(f->st, hex64('b'), 5000, name, &role, &err), 0);
	assert_int_equal(fw_store_token_get(f->st, "short", 5000, name, &role, &err), 0);

	assert_int_equal(fw_store_token_list(f->st, &list, &err), 0);
	assert_int_equal(json_array_size(list), 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 0), "last_used_at")), 5000);
	assert_true(json_is_false(json_object_get(json_array_get(list, 0), "revoked")));
	text = json_dumps(list, 0);
	TU_NONNULL(text);
	assert_null(strstr(text, hex64('a')));
	free(text);
	json_decref(list);

	assert_int_equal(fw_store_token_revoke(f->st, "ci-bot", &admin, &err), 0);
	assert_int_equal(fw_store_token_get(f->st, hex64('a'), 6000, name, &role, &err), 0);
	assert_int_equal(fw_store_token_revoke(f->st, "ci-bot", &admin, &err), 0); /* again: nothing to do */
	assert_int_equal(fw_store_token_revoke(f->st, "nobody", &admin, &err), -1);
	assert_int_equal(fw_err_code(&err), FW_E_NOTFOUND);
	fw_err_clear(&err);
	assert_int_equal(fw_store_token_list(f->st, &list, &err), 0);
	assert_true(json_is_true(json_object_get(json_array_get(list, 0), "revoked")));
	assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 0), "last_used_at")), 5000);
	json_decref(list);

	rows = audit_of(f, "token-add");
	assert_int_equal(json_array_size(rows), 1);
	assert_non_null(strstr(json_string_value(json_object_get(json_array_get(rows, 0), "detail")),
			       "ci-bot as reviewer via cli"));
	json_decref(rows);
	rows = audit_of(f, "token-revoke");
	assert_int_equal(json_array_size(rows), 1); /* the second revoke wrote none */
	json_decref(rows);
	assert_chain_intact(f);
}

/* Accounts and sessions are gone with the state directory only: a
 * reopened store still has them. */
static void test_reopen_keeps(void **state)
{
	struct fx *f = *state;
	struct fw_session s;
	struct fw_err err;

	fw_err_clear(&err);
	account_add_ok(f, "alice", FW_ROLE_ADMIN);
	session_ok(f, hex64('1'), "alice", 1000);
	fw_store_close(f->st);
	f->st = NULL;
	assert_int_equal(fw_store_open(&f->st, f->dir, &err), 0);
	assert_int_equal(fw_store_session_get(f->st, hex64('1'), &s, &err), 1);
	assert_int_equal(s.role, FW_ROLE_ADMIN);
	assert_chain_intact(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roles_and_names),
		cmocka_unit_test_setup_teardown(test_account_add_get_list, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_account_passwd_revokes_sessions, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_account_disable_role, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_login_counters, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_login_prune, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_sessions, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_tokens, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_reopen_keeps, fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
