/* The audit log: append-only rows chained by SHA-256, each hash covering
 * the previous one and the row's fields in an unambiguous encoding, so an
 * altered, removed or inserted row breaks the chain at that row. Must not
 * update or delete a row. Also checks who acts (name, via) before a row
 * names them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "store/store_int.h"

#define AUDIT_ACTION_MAX 64
#define AUDIT_WHO_MAX 256
#define AUDIT_DETAIL_MAX 8192
/* The hash encoding's version: changing the encoding changes the tag. */
#define AUDIT_TAG "fwgate-audit-v1"

static const char audit_genesis[FW_SHA256_HEX_LEN + 1] =
	"0000000000000000000000000000000000000000000000000000000000000000";

struct audit_row {
	int64_t id;
	int64_t time;
	const char *action;
	const char *who;
	int64_t object_id; /* 0: none */
	const char *detail;
	const char *prev_hash;
};

static int audit_put(EVP_MD_CTX *ctx, const void *p, size_t len)
{
	unsigned char n[8];

	/* Every field is its length (8 bytes, big-endian) then its bytes:
	 * no choice of contents makes two different rows encode alike. */
	for (int i = 0; i < 8; i++)
		n[i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
	return EVP_DigestUpdate(ctx, n, sizeof(n)) == 1 && EVP_DigestUpdate(ctx, p, len) == 1 ? 0 : -1;
}

static int audit_put_int(EVP_MD_CTX *ctx, int64_t v)
{
	unsigned char b[8];

	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)((uint64_t)v >> (56 - 8 * i));
	return audit_put(ctx, b, sizeof(b));
}

static int audit_put_str(EVP_MD_CTX *ctx, const char *s)
{
	return audit_put(ctx, s, strlen(s));
}

static int audit_hash(const struct audit_row *r, char hex[FW_SHA256_HEX_LEN + 1], struct fw_err *err)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int rc = -1;

	if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    audit_put_str(ctx, AUDIT_TAG) != 0 || audit_put_str(ctx, r->prev_hash) != 0 ||
	    audit_put_int(ctx, r->id) != 0 || audit_put_int(ctx, r->time) != 0 ||
	    audit_put_str(ctx, r->action) != 0 || audit_put_str(ctx, r->who) != 0 ||
	    audit_put_int(ctx, r->object_id) != 0 || audit_put_str(ctx, r->detail) != 0 ||
	    EVP_DigestFinal_ex(ctx, md, &n) != 1 || n != FW_SHA256_HEX_LEN / 2) {
		fw_err_set(err, "cannot compute an audit row's SHA-256");
		goto out;
	}
	store_hex(md, hex);
	rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	return rc;
}

/* The last row's id and hash, or 0 and the genesis hash. */
static int audit_tail(struct fw_store *st, int64_t *id, char prev[FW_SHA256_HEX_LEN + 1], struct fw_err *err)
{
	STORE_SQL(sql, "SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1");
	sqlite3_stmt *s = store_stmt(st, sql, err);
	int r;

	if (s == NULL)
		return -1;
	r = sqlite3_step(s);
	if (r == SQLITE_DONE) {
		*id = 0;
		memcpy(prev, audit_genesis, sizeof(audit_genesis));
		return 0;
	}
	if (r != SQLITE_ROW)
		return store_db_err(st, err, "cannot read the audit log");
	*id = sqlite3_column_int64(s, 0);
	if (store_col_copy(s, 1, prev, FW_SHA256_HEX_LEN + 1) != 0)
		return fw_err_set(err, "audit row %lld: its hash is malformed (altered?)", (long long)*id);
	return 0;
}

int store_audit_append_tx(struct fw_store *st, const char *action, const char *who, int64_t object_id,
			  const char *detail, struct fw_err *err)
{
	STORE_SQL(sql, "INSERT INTO audit (id, time, action, who, object_id, detail, prev_hash, hash)"
				  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
	char prev[FW_SHA256_HEX_LEN + 1], hash[FW_SHA256_HEX_LEN + 1];
	struct audit_row r = { .action = action, .who = who, .detail = detail, .prev_hash = prev };
	sqlite3_stmt *s;
	int64_t last = 0;

	if (action[0] == '\0' || strlen(action) > AUDIT_ACTION_MAX)
		return fw_err_set(err, "an audit action must be 1 to %d characters", AUDIT_ACTION_MAX);
	if (who[0] == '\0' || strlen(who) > AUDIT_WHO_MAX)
		return fw_err_set(err, "the reviewer's name must be 1 to %d characters", AUDIT_WHO_MAX);
	if (strlen(detail) > AUDIT_DETAIL_MAX)
		return fw_err_set(err, "an audit detail (a reason) is limited to %d characters", AUDIT_DETAIL_MAX);
	if (audit_tail(st, &last, prev, err) != 0)
		return -1;
	r.id = last + 1;
	r.time = (int64_t)time(NULL);
	r.object_id = object_id > 0 ? object_id : 0;
	if (audit_hash(&r, hash, err) != 0)
		return -1;
	s = store_stmt(st, sql, err);
	if (s == NULL)
		return -1;
	if (sqlite3_bind_int64(s, 1, r.id) != SQLITE_OK || sqlite3_bind_int64(s, 2, r.time) != SQLITE_OK ||
	    store_bind_text(s, 3, action) != 0 || store_bind_text(s, 4, who) != 0 ||
	    (r.object_id > 0 ? sqlite3_bind_int64(s, 5, r.object_id) : sqlite3_bind_null(s, 5)) != SQLITE_OK ||
	    store_bind_text(s, 6, detail) != 0 || store_bind_text(s, 7, prev) != 0 ||
	    store_bind_text(s, 8, hash) != 0 || sqlite3_step(s) != SQLITE_DONE)
		return store_db_err(st, err, "cannot append to the audit log");
	return 0;
}

int store_audit_append_one(struct fw_store *st, const char *action, const char *who, int64_t object_id,
			   const char *detail, struct fw_err *err)
{
	if (store_tx_begin(st, err) != 0)
		return -1;
	if (store_audit_append_tx(st, action, who, object_id, detail, err) != 0 || store_tx_commit(st, err) != 0) {
		store_tx_rollback(st);
		return -1;
	}
	return 0;
}

int fw_store_audit_append(struct fw_store *st, const char *action, const char *who, int64_t object_id,
			  const char *detail, struct fw_err *err)
{
	int rc;

	store_lock(st);
	rc = store_audit_append_one(st, action, who, object_id, detail, err);
	store_unlock(st);
	return rc;
}

/* One row against the chain so far: 0 intact, 1 broken (err says why). */
static int audit_check_row(sqlite3_stmt *s, char expect_prev[FW_SHA256_HEX_LEN + 1], struct fw_err *err)
{
	char hash[FW_SHA256_HEX_LEN + 1];
	struct audit_row r = {
		.id = sqlite3_column_int64(s, 0),
		.time = sqlite3_column_int64(s, 1),
		.action = store_col_text(s, 2),
		.who = store_col_text(s, 3),
		.object_id = sqlite3_column_int64(s, 4),
		.detail = store_col_text(s, 5),
		.prev_hash = store_col_text(s, 6),
	};
	const char *stored = store_col_text(s, 7);

	if (strcmp(r.prev_hash, expect_prev) != 0) {
		fw_err_set(err, "audit row %lld: its link to the previous row does not match "
			   "(a row before it removed, inserted or altered?)", (long long)r.id);
		return 1;
	}
	if (audit_hash(&r, hash, err) != 0)
		return -1;
	if (strcmp(hash, stored) != 0) {
		fw_err_set(err, "audit row %lld: its hash does not match its contents (altered?)", (long long)r.id);
		return 1;
	}
	memcpy(expect_prev, hash, sizeof(hash));
	return 0;
}

int fw_store_audit_verify(struct fw_store *st, int64_t *first_bad, struct fw_err *err)
{
	STORE_SQL(sql, "SELECT id, time, action, who, object_id, detail, prev_hash, hash"
				  " FROM audit ORDER BY id");
	char prev[FW_SHA256_HEX_LEN + 1];
	sqlite3_stmt *s;
	int rc = -1, r;

	*first_bad = 0;
	memcpy(prev, audit_genesis, sizeof(prev));
	store_rlock(st);
	s = store_stmt(st, sql, err);
	if (s == NULL)
		goto out;
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		r = audit_check_row(s, prev, err);
		if (r < 0)
			goto out;
		if (r == 1) {
			*first_bad = sqlite3_column_int64(s, 0);
			rc = 1;
			goto out;
		}
	}
	if (r != SQLITE_DONE) {
		store_db_err(st, err, "cannot read the audit log");
		goto out;
	}
	rc = 0;
out:
	store_unlock(st);
	return rc;
}

static json_t *audit_row_json(sqlite3_stmt *s)
{
	int64_t obj = sqlite3_column_int64(s, 4);

	return json_pack("{s:I, s:I, s:s, s:s, s:o, s:s, s:s}", "id", (json_int_t)sqlite3_column_int64(s, 0),
			 "time", (json_int_t)sqlite3_column_int64(s, 1), "action", store_col_text(s, 2), "who",
			 store_col_text(s, 3), "object_id", obj > 0 ? json_integer((json_int_t)obj) : json_null(),
			 "detail", store_col_text(s, 5), "hash", store_col_text(s, 6));
}

/* Rows of s (id, time, action, who, object_id, detail, hash) into a new
 * array. */
static int audit_collect(struct fw_store *st, sqlite3_stmt *s, json_t **out, struct fw_err *err)
{
	json_t *arr = json_array();
	int r;

	if (arr == NULL)
		return fw_err_set(err, "out of memory");
	while ((r = sqlite3_step(s)) == SQLITE_ROW)
		if (json_array_append_new(arr, audit_row_json(s)) != 0) {
			json_decref(arr);
			return fw_err_set(err, "out of memory");
		}
	if (r != SQLITE_DONE) {
		json_decref(arr);
		return store_db_err(st, err, "cannot read the audit log");
	}
	*out = arr;
	return 0;
}

int store_audit_rows(struct fw_store *st, int64_t object_id, json_t **out, struct fw_err *err)
{
	STORE_SQL(sql, "SELECT id, time, action, who, object_id, detail, hash FROM audit"
				  " WHERE object_id = ?1 ORDER BY id");
	sqlite3_stmt *s = store_stmt(st, sql, err);

	if (s == NULL)
		return -1;
	if (sqlite3_bind_int64(s, 1, object_id) != SQLITE_OK)
		return store_db_err(st, err, "cannot read the audit log");
	return audit_collect(st, s, out, err);
}

int fw_store_audit_list(struct fw_store *st, json_t **out, struct fw_err *err)
{
	STORE_SQL(sql, "SELECT id, time, action, who, object_id, detail, hash FROM audit ORDER BY id");
	sqlite3_stmt *s;
	int rc = -1;

	*out = NULL;
	store_rlock(st);
	s = store_stmt(st, sql, err);
	if (s != NULL)
		rc = audit_collect(st, s, out, err);
	store_unlock(st);
	return rc;
}

int fw_store_audit_page(struct fw_store *st, int64_t before_id, unsigned limit, int64_t object_id, json_t **out,
			struct fw_err *err)
{
	/* Two shapes so that each walks its own index backwards: the rowid,
	 * or audit_object for one object's rows. */
	STORE_SQL(all, "SELECT id, time, action, who, object_id, detail, hash FROM audit"
				  " WHERE id < ?1 ORDER BY id DESC LIMIT ?2");
	STORE_SQL(one, "SELECT id, time, action, who, object_id, detail, hash FROM audit"
				  " WHERE object_id = ?3 AND id < ?1 ORDER BY id DESC LIMIT ?2");
	sqlite3_stmt *s;
	int rc = -1;

	*out = NULL;
	if (limit < 1 || limit > 1000)
		return fw_err_setc(err, FW_E_INVALID, "a page of the audit log holds 1 to 1000 rows, not %u", limit);
	if (before_id < 0 || object_id < 0)
		return fw_err_setc(err, FW_E_INVALID, "an audit row or object id is positive");
	store_rlock(st);
	s = store_stmt(st, object_id > 0 ? one : all, err);
	if (s == NULL)
		goto out;
	if (sqlite3_bind_int64(s, 1, before_id > 0 ? before_id : INT64_MAX) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 2, limit) != SQLITE_OK ||
	    (object_id > 0 && sqlite3_bind_int64(s, 3, object_id) != SQLITE_OK)) {
		store_db_err(st, err, "cannot read the audit log");
		goto out;
	}
	rc = audit_collect(st, s, out, err);
out:
	store_unlock(st);
	return rc;
}

int store_actor_check(const char *who, const char *via, struct fw_err *err)
{
	if (who == NULL || who[0] == '\0' || strlen(who) > AUDIT_WHO_MAX)
		return fw_err_setc(err, FW_E_INVALID, "who acts must be named (1 to %d characters)", AUDIT_WHO_MAX);
	if (via == NULL || via[0] == '\0' || strlen(via) > STORE_VIA_MAX)
		return fw_err_setc(err, FW_E_INVALID, "where a change comes from must be said (1 to %d characters: "
				   "\"cli\", \"console ADDRESS\")", STORE_VIA_MAX);
	return 0;
}
