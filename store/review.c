/* Quarantine review: listing and showing objects, and staff's release and
 * reject decisions, each recorded with its audit row in one transaction.
 * Must not decide for staff: what a release or reject may do is the
 * life-cycle table's (an infected verdict needs an explicit override;
 * rejected is final). */
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
	STORE_SQL(sql, REVIEW_OBJECT_COLUMNS
		"WHERE o.state IN ('quarantined', 'rejected', 'pending') ORDER BY o.first_seen DESC, o.id DESC");
	json_t *arr = json_array();
	sqlite3_stmt *s;
	int rc = -1, r;

	*out = NULL;
	if (arr == NULL)
		return fw_err_set(err, "out of memory");
	store_rlock(st);
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
	STORE_SQL(sql, "SELECT url, etag, last_modified, fetched_at, verified_at FROM urls"
				  " WHERE object_id = ?1 ORDER BY fetched_at DESC, url");
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
	STORE_SQL(sql, "SELECT id, time, engine, verdict, reason, doc FROM scans"
				  " WHERE object_id = ?1 ORDER BY id");
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
	STORE_SQL(sql, REVIEW_OBJECT_COLUMNS "WHERE o.id = ?1");
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
	store_rlock(st);
	rc = review_show_locked(st, id, out, err);
	store_unlock(st);
	return rc;
}

/* ------------------------------------------------------------ decisions */

static int review_check_words(const char *reason, const char *who, struct fw_err *err)
{
	if (reason[0] == '\0' || strlen(reason) >= FW_ERR_MSG_MAX)
		return fw_err_set(err, "a review decision needs a reason of 1 to %d characters", FW_ERR_MSG_MAX - 1);
	if (who[0] == '\0')
		return fw_err_set(err, "a review decision needs the reviewer's name");
	return 0;
}

/* One staff decision: the life-cycle table's row for ev carried out (blob
 * moved to the new state's area, state, audit row), then the review's own
 * columns, all in one transaction; a failure puts the blob back. The
 * detail of the audit row says what the object was held under. */
static int review_decide(struct fw_store *st, int64_t id, enum store_event ev, bool override, const char *who,
			 const char *reason, struct fw_err *err)
{
	STORE_SQL(sql, "UPDATE objects SET review_reason = ?2, reviewed_by = ?3, reviewed_at = ?4 WHERE id = ?1");
	char why[FW_ERR_MSG_MAX], detail[2 * FW_ERR_MSG_MAX + 64];
	struct store_lc_undo undo = { .n = 0 };
	const struct store_lc_row *row;
	enum fw_verdict verdict;
	struct store_lc_obj o;
	sqlite3_stmt *s;
	int r, rc = -1;

	store_lock(st);
	if (store_tx_begin(st, err) != 0)
		goto out;
	r = store_lc_read(st, id, &o, &verdict, why, sizeof(why), err);
	if (r == 0)
		fw_err_set(err, "the store has no object %lld", (long long)id);
	if (r <= 0)
		goto fail;
	if (override)
		o.facts |= STORE_F_OVERRIDE;
	row = store_lc_step(o.state, ev, o.facts);
	if (row->refused != NULL && (o.facts & (STORE_F_INFECTED | STORE_F_JOB_MALICIOUS)) && o.state == FW_OBJ_QUARANTINED) {
		fw_err_set(err, "object %lld %s (%.400s)", (long long)id, row->refused, why[0] ? why : "no scan on record");
		goto fail;
	}
	if (ev == STORE_EV_STAFF_REJECT)
		snprintf(detail, sizeof(detail), "rejected (was %s): %s", fw_object_state_name(o.state), reason);
	else if (o.facts & (STORE_F_INFECTED | STORE_F_JOB_MALICIOUS))
		snprintf(detail, sizeof(detail), "released despite an infected verdict (%s): %s", why, reason);
	else
		snprintf(detail, sizeof(detail), "released (verdict %s): %s", fw_verdict_name(verdict), reason);
	if (store_lc_apply(st, &o, ev, verdict, why, who, detail, &undo, NULL, err) != 0)
		goto fail;
	s = store_stmt(st, sql, err);
	if (s == NULL || store_bind_text(s, 2, reason) != 0 || store_bind_text(s, 3, who) != 0 ||
	    sqlite3_bind_int64(s, 1, id) != SQLITE_OK || sqlite3_bind_int64(s, 4, (int64_t)time(NULL)) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_DONE) {
		if (s != NULL)
			store_db_err(st, err, "cannot record the review decision");
		goto fail;
	}
	if (store_tx_commit(st, err) != 0)
		goto fail;
	rc = 0;
	goto out;
fail:
	store_tx_rollback(st);
	store_lc_undo(st, &undo);
out:
	store_unlock(st);
	return rc;
}

int fw_store_release(struct fw_store *st, int64_t id, const char *reason, const char *who, bool override_infected,
		     struct fw_err *err)
{
	if (review_check_words(reason, who, err) != 0)
		return -1;
	return review_decide(st, id, STORE_EV_STAFF_RELEASE, override_infected, who, reason, err);
}

int fw_store_reject(struct fw_store *st, int64_t id, const char *reason, const char *who, struct fw_err *err)
{
	if (review_check_words(reason, who, err) != 0)
		return -1;
	return review_decide(st, id, STORE_EV_STAFF_REJECT, false, who, reason, err);
}
