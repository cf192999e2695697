/* Quarantine review, the views: the list of held-back objects and one
 * object in full (URLs, scans, sandbox jobs, the open release request,
 * audit rows). Staff's decisions are review_four_eyes.c's; paging and
 * filters review_page.c's. Must not change anything. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/store_int.h"

json_t *store_review_object_json(sqlite3_stmt *s)
{
	return json_pack("{s:I, s:o, s:s, s:I, s:s, s:s, s:s, s:I}", "id", (json_int_t)sqlite3_column_int64(s, 0),
			 "url", store_json_text_or_null(s, 1), "sha256", store_col_text(s, 2), "size",
			 (json_int_t)sqlite3_column_int64(s, 3), "state", store_col_text(s, 4), "verdict",
			 sqlite3_column_type(s, 5) == SQLITE_NULL ? "unscannable" : store_col_text(s, 5), "reason",
			 store_col_text(s, 6), "first_seen", (json_int_t)sqlite3_column_int64(s, 7));
}

/* Adds the fields only `show` prints. */
static int review_object_more(sqlite3_stmt *s, json_t *o)
{
	return json_object_set_new(o, "mime", json_string(store_col_text(s, 8))) != 0 ||
	       json_object_set_new(o, "file_type", json_string(store_col_text(s, 9))) != 0 ||
	       json_object_set_new(o, "blob", json_string(store_col_text(s, 10))) != 0 ||
	       json_object_set_new(o, "review_reason", store_json_text_or_null(s, 11)) != 0 ||
	       json_object_set_new(o, "reviewed_by", store_json_text_or_null(s, 12)) != 0 ||
	       json_object_set_new(o, "reviewed_at", sqlite3_column_type(s, 13) == SQLITE_NULL
				   ? json_null() : json_integer((json_int_t)sqlite3_column_int64(s, 13))) != 0
		? -1 : 0;
}

int fw_store_quarantine_list(struct fw_store *st, json_t **out, struct fw_err *err)
{
	STORE_SQL(sql, STORE_REVIEW_COLUMNS
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
		if (json_array_append_new(arr, store_review_object_json(s)) != 0) {
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
	STORE_SQL(sql, STORE_REVIEW_COLUMNS "WHERE o.id = ?1");
	sqlite3_stmt *s = store_stmt(st, sql, err);
	json_t *o = NULL, *audit = NULL, *jobs = NULL, *request = NULL;
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
	o = store_review_object_json(s);
	if (o == NULL || review_object_more(s, o) != 0) {
		json_decref(o);
		return fw_err_set(err, "out of memory");
	}
	if (review_urls(st, id, o, err) != 0 || review_scans(st, id, o, err) != 0 ||
	    store_sandbox_object_jobs_locked(st, id, &jobs, err) != 0 || json_object_set_new(o, "sandbox", jobs) != 0 ||
	    store_review_request_json(st, id, &request, err) != 0 || json_object_set_new(o, "request", request) != 0 ||
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
