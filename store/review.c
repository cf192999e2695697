/* Quarantine review: listing and showing objects, and staff's release and
 * reject decisions, each recorded with its audit row in one transaction.
 * Must not decide for staff: it enforces only the rules of store.h (an
 * infected verdict needs an explicit override; rejected is final). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/store_int.h"

/* The object row the review views share; ?1 and the WHERE clause vary. */
#define REVIEW_OBJECT_COLUMNS \
	"SELECT o.id, (SELECT url FROM urls WHERE object_id = o.id ORDER BY fetched_at DESC, url LIMIT 1)," \
	" o.sha256, o.size, o.state, " STORE_EFFECTIVE_VERDICT "," \
	" " STORE_EFFECTIVE_REASON ", o.first_seen, o.mime, o.file_type, o.blob," \
	" o.review_reason, o.reviewed_by, o.reviewed_at" \
	" FROM objects o LEFT JOIN scans s ON s.id = (SELECT max(id) FROM scans WHERE object_id = o.id) "

static json_t *review_text_or_null(sqlite3_stmt *s, int i)
{
	return sqlite3_column_type(s, i) == SQLITE_NULL ? json_null() : json_string(store_col_text(s, i));
}

static json_t *review_object_json(sqlite3_stmt *s)
{
	json_t *o = json_pack("{s:I, s:o, s:s, s:I, s:s, s:s, s:s, s:I}", "id",
			      (json_int_t)sqlite3_column_int64(s, 0), "url", review_text_or_null(s, 1), "sha256",
			      store_col_text(s, 2), "size", (json_int_t)sqlite3_column_int64(s, 3), "state",
			      store_col_text(s, 4), "verdict",
			      sqlite3_column_type(s, 5) == SQLITE_NULL ? "unscannable" : store_col_text(s, 5),
			      "reason", store_col_text(s, 6), "first_seen", (json_int_t)sqlite3_column_int64(s, 7));

	return o;
}

/* Adds the fields only `show` prints. */
static int review_object_more(sqlite3_stmt *s, json_t *o)
{
	return json_object_set_new(o, "mime", json_string(store_col_text(s, 8))) != 0 ||
	       json_object_set_new(o, "file_type", json_string(store_col_text(s, 9))) != 0 ||
	       json_object_set_new(o, "blob", json_string(store_col_text(s, 10))) != 0 ||
	       json_object_set_new(o, "review_reason", review_text_or_null(s, 11)) != 0 ||
	       json_object_set_new(o, "reviewed_by", review_text_or_null(s, 12)) != 0 ||
	       json_object_set_new(o, "reviewed_at", sqlite3_column_type(s, 13) == SQLITE_NULL
				   ? json_null() : json_integer((json_int_t)sqlite3_column_int64(s, 13))) != 0
		? -1 : 0;
}

int fw_store_quarantine_list(struct fw_store *st, json_t **out, struct fw_err *err)
{
	static const char sql[] = REVIEW_OBJECT_COLUMNS
		"WHERE o.state IN ('quarantined', 'rejected', 'pending') ORDER BY o.first_seen DESC, o.id DESC";
	json_t *arr = json_array();
	sqlite3_stmt *s;
	int rc = -1, r;

	*out = NULL;
	if (arr == NULL)
		return fw_err_set(err, "out of memory");
	store_lock(st);
	s = store_stmt(st, sql, err);
	if (s == NULL)
		goto out;
	while ((r = sqlite3_step(s)) == SQLITE_ROW)
		if (json_array_append_new(arr, review_object_json(s)) != 0) {
			fw_err_set(err, "out of memory");
			goto out;
		}
	if (r != SQLITE_DONE) {
		store_db_err(st, err, "cannot list the quarantine");
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

static int review_urls(struct fw_store *st, int64_t id, json_t *o, struct fw_err *err)
{
	static const char sql[] = "SELECT url, etag, last_modified, fetched_at, verified_at FROM urls"
				  " WHERE object_id = ?1 ORDER BY fetched_at DESC, url";
	sqlite3_stmt *s = store_stmt(st, sql, err);
	json_t *arr;
	int r;

	if (s == NULL)
		return -1;
	arr = json_array();
	if (arr == NULL || json_object_set_new(o, "urls", arr) != 0)
		return fw_err_set(err, "out of memory");
	if (sqlite3_bind_int64(s, 1, id) != SQLITE_OK)
		return store_db_err(st, err, "cannot list the object's URLs");
	while ((r = sqlite3_step(s)) == SQLITE_ROW)
		if (json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:I, s:I}", "url", store_col_text(s, 0),
							 "etag", store_col_text(s, 1), "last_modified",
							 store_col_text(s, 2), "fetched_at",
							 (json_int_t)sqlite3_column_int64(s, 3), "verified_at",
							 (json_int_t)sqlite3_column_int64(s, 4))) != 0)
			return fw_err_set(err, "out of memory");
	return r == SQLITE_DONE ? 0 : store_db_err(st, err, "cannot list the object's URLs");
}

static int review_scans(struct fw_store *st, int64_t id, json_t *o, struct fw_err *err)
{
	static const char sql[] = "SELECT id, time, engine, verdict, reason, doc FROM scans"
				  " WHERE object_id = ?1 ORDER BY id";
	sqlite3_stmt *s = store_stmt(st, sql, err);
	json_t *arr;
	int r;

	if (s == NULL)
		return -1;
	arr = json_array();
	if (arr == NULL || json_object_set_new(o, "scans", arr) != 0)
		return fw_err_set(err, "out of memory");
	if (sqlite3_bind_int64(s, 1, id) != SQLITE_OK)
		return store_db_err(st, err, "cannot list the object's scans");
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		/* The document was written by json_dumps; one that no longer
		 * parses is shown as null rather than hiding the scan. */
		json_t *doc = sqlite3_column_type(s, 5) == SQLITE_NULL
			      ? NULL : json_loads(store_col_text(s, 5), 0, NULL);

		if (json_array_append_new(arr, json_pack("{s:I, s:I, s:s, s:s, s:s, s:o}", "id",
							 (json_int_t)sqlite3_column_int64(s, 0), "time",
							 (json_int_t)sqlite3_column_int64(s, 1), "engine",
							 store_col_text(s, 2), "verdict", store_col_text(s, 3),
							 "reason", store_col_text(s, 4), "doc",
							 doc != NULL ? doc : json_null())) != 0)
			return fw_err_set(err, "out of memory");
	}
	return r == SQLITE_DONE ? 0 : store_db_err(st, err, "cannot list the object's scans");
}

static int review_show_locked(struct fw_store *st, int64_t id, json_t **out, struct fw_err *err)
{
	static const char sql[] = REVIEW_OBJECT_COLUMNS "WHERE o.id = ?1";
	sqlite3_stmt *s = store_stmt(st, sql, err);
	json_t *o = NULL, *audit = NULL, *jobs = NULL;
	int r;

	if (s == NULL)
		return -1;
	if (sqlite3_bind_int64(s, 1, id) != SQLITE_OK)
		return store_db_err(st, err, "cannot read an object");
	r = sqlite3_step(s);
	if (r == SQLITE_DONE) {
		fw_err_set(err, "the store has no object %lld", (long long)id);
		return 1;
	}
	if (r != SQLITE_ROW)
		return store_db_err(st, err, "cannot read an object");
	o = review_object_json(s);
	if (o == NULL || review_object_more(s, o) != 0) {
		json_decref(o);
		return fw_err_set(err, "out of memory");
	}
	if (review_urls(st, id, o, err) != 0 || review_scans(st, id, o, err) != 0 ||
	    store_sandbox_object_jobs_locked(st, id, &jobs, err) != 0 || json_object_set_new(o, "sandbox", jobs) != 0 ||
	    store_audit_rows(st, id, &audit, err) != 0 || json_object_set_new(o, "audit", audit) != 0) {
		json_decref(o);
		return fw_err_set(err, "cannot read the object's history");
	}
	*out = o;
	return 0;
}

int fw_store_object_show(struct fw_store *st, int64_t id, json_t **out, struct fw_err *err)
{
	int rc;

	*out = NULL;
	store_lock(st);
	rc = review_show_locked(st, id, out, err);
	store_unlock(st);
	return rc;
}

/* ------------------------------------------------------------ decisions */

struct review_target {
	int64_t id;
	enum fw_object_state state;
	char sha256[FW_SHA256_HEX_LEN + 1];
	bool blob_present;
	enum fw_verdict verdict;
	char scan_reason[FW_ERR_MSG_MAX];
};

static int review_read(struct fw_store *st, int64_t id, struct review_target *t, struct fw_err *err)
{
	static const char sql[] = "SELECT o.state, o.sha256, o.blob, " STORE_EFFECTIVE_VERDICT ","
				  " " STORE_EFFECTIVE_REASON ","
				  " (SELECT count(*) FROM sandbox_links l JOIN sandbox_jobs j ON j.id = l.job_id"
				  "  WHERE l.object_id = o.id AND j.verdict = 'malicious') FROM objects o"
				  " LEFT JOIN scans s ON s.id = (SELECT max(id) FROM scans WHERE object_id = o.id)"
				  " WHERE o.id = ?1";
	sqlite3_stmt *s = store_stmt(st, sql, err);
	int r;

	if (s == NULL)
		return -1;
	if (sqlite3_bind_int64(s, 1, id) != SQLITE_OK)
		return store_db_err(st, err, "cannot read an object");
	r = sqlite3_step(s);
	if (r == SQLITE_DONE)
		return fw_err_set(err, "the store has no object %lld", (long long)id);
	if (r != SQLITE_ROW)
		return store_db_err(st, err, "cannot read an object");
	t->id = id;
	t->blob_present = strcmp(store_col_text(s, 2), "present") == 0;
	/* No scan at all is treated as the worst: it was never vetted. */
	t->verdict = FW_VERDICT_INFECTED;
	if (store_state_parse(store_col_text(s, 0), &t->state) != 0 ||
	    store_col_copy(s, 1, t->sha256, sizeof(t->sha256)) != 0 ||
	    (sqlite3_column_type(s, 3) != SQLITE_NULL && store_verdict_parse(store_col_text(s, 3), &t->verdict) != 0))
		return fw_err_set(err, "the store's record of object %lld is malformed", (long long)id);
	if (store_col_copy(s, 4, t->scan_reason, sizeof(t->scan_reason)) != 0)
		t->scan_reason[0] = '\0';
	/* A job of it judged malicious (a retry, say) is infected too. */
	if (sqlite3_column_int64(s, 5) > 0 && t->verdict != FW_VERDICT_INFECTED) {
		t->verdict = FW_VERDICT_INFECTED;
		snprintf(t->scan_reason, sizeof(t->scan_reason), "a sandbox job of it judged a member malicious");
	}
	return 0;
}

static int review_check_words(const char *reason, const char *who, struct fw_err *err)
{
	if (reason[0] == '\0' || strlen(reason) >= FW_ERR_MSG_MAX)
		return fw_err_set(err, "a review decision needs a reason of 1 to %d characters", FW_ERR_MSG_MAX - 1);
	if (who[0] == '\0')
		return fw_err_set(err, "a review decision needs the reviewer's name");
	return 0;
}

/* Moves the blob to the area of the new state, then records the state,
 * the review and the audit row in one transaction. A failure after the
 * move puts the blob back where the unchanged record says it is. */
static int review_apply(struct fw_store *st, const struct review_target *t, enum fw_object_state to,
			const char *action, const char *who, const char *reason, const char *detail,
			struct fw_err *err)
{
	static const char sql[] = "UPDATE objects SET state = ?2, blob = coalesce(?3, blob), review_reason = ?4,"
				  " reviewed_by = ?5, reviewed_at = ?6 WHERE id = ?1";
	enum store_area from = store_area_of(t->state), dest = store_area_of(to);
	bool present = t->blob_present, moved = false;
	struct fw_err undo;
	sqlite3_stmt *s;
	int r;

	if (present) {
		r = store_blob_move(st, t->sha256, from, dest, err);
		if (r < 0)
			return -1;
		moved = r == 0 && from != dest;
		present = r == 0; /* 1: the record said present, the file is gone */
	}
	s = store_stmt(st, sql, err);
	if (s == NULL || sqlite3_bind_int64(s, 1, t->id) != SQLITE_OK ||
	    store_bind_text(s, 2, fw_object_state_name(to)) != 0 ||
	    store_bind_text(s, 3, t->blob_present && !present ? "missing" : NULL) != 0 ||
	    store_bind_text(s, 4, reason) != 0 || store_bind_text(s, 5, who) != 0 ||
	    sqlite3_bind_int64(s, 6, (int64_t)time(NULL)) != SQLITE_OK || sqlite3_step(s) != SQLITE_DONE) {
		store_db_err(st, err, "cannot record the review decision");
		goto fail;
	}
	if (store_audit_append_tx(st, action, who, t->id, detail, err) != 0 || store_tx_commit(st, err) != 0)
		goto fail;
	return 0;
fail:
	store_tx_rollback(st);
	fw_err_clear(&undo);
	if (moved && store_blob_move(st, t->sha256, dest, from, &undo) != 0) {
		/* Left where the new state wanted it; reconcile reports it. */
	}
	return -1;
}

int fw_store_release(struct fw_store *st, int64_t id, const char *reason, const char *who, bool override_infected,
		     struct fw_err *err)
{
	char detail[2 * FW_ERR_MSG_MAX + 64];
	struct review_target t;
	bool override = false;
	int rc = -1;

	if (review_check_words(reason, who, err) != 0)
		return -1;
	store_lock(st);
	if (store_tx_begin(st, err) != 0 || review_read(st, id, &t, err) != 0)
		goto out;
	if (t.state == FW_OBJ_REJECTED) {
		fw_err_set(err, "object %lld was rejected: a rejected object cannot be released", (long long)id);
		goto out;
	}
	if (t.state != FW_OBJ_QUARANTINED) {
		fw_err_set(err, "object %lld is %s, not quarantined: there is nothing to release", (long long)id,
			   fw_object_state_name(t.state));
		goto out;
	}
	if (t.verdict == FW_VERDICT_INFECTED) {
		if (!override_infected) {
			fw_err_set(err, "object %lld is infected (%.400s): releasing it needs the explicit "
				   "override (--override-infected)",
				   (long long)id, t.scan_reason[0] ? t.scan_reason : "no scan on record");
			goto out;
		}
		override = true;
	}
	if (override)
		snprintf(detail, sizeof(detail), "released despite an infected verdict (%s): %s", t.scan_reason,
			 reason);
	else
		snprintf(detail, sizeof(detail), "released (verdict %s): %s", fw_verdict_name(t.verdict), reason);
	rc = review_apply(st, &t, FW_OBJ_RELEASED, override ? "release-override" : "release", who, reason, detail,
			  err);
out:
	if (rc != 0)
		store_tx_rollback(st);
	store_unlock(st);
	return rc;
}

int fw_store_reject(struct fw_store *st, int64_t id, const char *reason, const char *who, struct fw_err *err)
{
	char detail[FW_ERR_MSG_MAX + 64];
	struct review_target t;
	int rc = -1;

	if (review_check_words(reason, who, err) != 0)
		return -1;
	store_lock(st);
	if (store_tx_begin(st, err) != 0 || review_read(st, id, &t, err) != 0)
		goto out;
	if (t.state == FW_OBJ_REJECTED) {
		fw_err_set(err, "object %lld is already rejected", (long long)id);
		goto out;
	}
	snprintf(detail, sizeof(detail), "rejected (was %s): %s", fw_object_state_name(t.state), reason);
	rc = review_apply(st, &t, FW_OBJ_REJECTED, "reject", who, reason, detail, err);
out:
	if (rc != 0)
		store_tx_rollback(st);
	store_unlock(st);
	return rc;
}
