/* The sandbox jobs as people see them: an object's jobs with their
 * findings, every job, one job with its links. JSON for display only:
 * nothing reads a state back from it. Must not decide or change anything. */
#include <stdio.h>
#include <string.h>

#include "store/store_int.h"

/* ------------------------------------------------------------ views */

static int object_jobs_locked(struct fw_store *st, int64_t object_id, json_t **out, struct fw_err *err)
{
	STORE_SQL(sql, "SELECT " STORE_JOB_COLUMNS ", l.member, j.findings FROM sandbox_links l"
				  " JOIN sandbox_jobs j ON j.id = l.job_id WHERE l.object_id = ?1 ORDER BY j.id, l.member");
	sqlite3_stmt *s = store_stmt(st, sql, err);
	json_t *arr = json_array();
	int r;

	if (s == NULL || arr == NULL) {
		json_decref(arr);
		return s == NULL ? -1 : fw_err_set(err, "out of memory");
	}
	if (sqlite3_bind_int64(s, 1, object_id) != SQLITE_OK) {
		json_decref(arr);
		return store_db_err(st, err, "cannot list an object's sandbox jobs");
	}
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		struct fw_sandbox_job j;
		json_t *o;

		if (store_job_read(s, &j, err) != 0) {
			json_decref(arr);
			return -1;
		}
		o = store_job_json(&j);
		if (o == NULL || json_object_set_new(o, "member", json_string(store_col_text(s, 14))) != 0 ||
		    json_object_set_new(o, "findings", store_findings_json(s, 15)) != 0) {
			json_decref(o);
			json_decref(arr);
			return fw_err_set(err, "out of memory");
		}
		if (json_array_append_new(arr, o) != 0) { /* o is released by the failed append */
			json_decref(arr);
			return fw_err_set(err, "out of memory");
		}
	}
	if (r != SQLITE_DONE) {
		json_decref(arr);
		return store_db_err(st, err, "cannot list an object's sandbox jobs");
	}
	*out = arr;
	return 0;
}

int fw_store_sandbox_object_jobs(struct fw_store *st, int64_t object_id, json_t **out, struct fw_err *err)
{
	int rc;

	*out = NULL;
	store_rlock(st);
	rc = object_jobs_locked(st, object_id, out, err);
	store_unlock(st);
	return rc;
}

/* For review.c's object view: the sandbox jobs, under the caller's lock. */
int store_sandbox_object_jobs_locked(struct fw_store *st, int64_t object_id, json_t **out, struct fw_err *err)
{
	*out = NULL;
	return object_jobs_locked(st, object_id, out, err);
}

int fw_store_sandbox_list(struct fw_store *st, json_t **out, struct fw_err *err)
{
	STORE_SQL(sql, "SELECT " STORE_JOB_COLUMNS ", (SELECT count(*) FROM sandbox_links WHERE job_id = j.id)"
				  " FROM sandbox_jobs j ORDER BY id DESC");
	json_t *arr = json_array();
	sqlite3_stmt *s;
	int r, rc = -1;

	*out = NULL;
	if (arr == NULL)
		return fw_err_set(err, "out of memory");
	store_rlock(st);
	s = store_stmt(st, sql, err);
	if (s == NULL)
		goto out;
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		struct fw_sandbox_job j;
		json_t *o;

		if (store_job_read(s, &j, err) != 0)
			goto out;
		o = store_job_json(&j);
		if (o == NULL || json_object_set_new(o, "objects", json_integer(sqlite3_column_int64(s, 14))) != 0) {
			json_decref(o);
			fw_err_set(err, "out of memory");
			goto out;
		}
		if (json_array_append_new(arr, o) != 0) {
			fw_err_set(err, "out of memory");
			goto out;
		}
	}
	if (r != SQLITE_DONE) {
		store_db_err(st, err, "cannot list the sandbox jobs");
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

static int show_links(struct fw_store *st, int64_t id, json_t *o, struct fw_err *err)
{
	STORE_SQL(sql, "SELECT l.object_id, l.member, o.state, o.sha256 FROM sandbox_links l"
				  " JOIN objects o ON o.id = l.object_id WHERE l.job_id = ?1 ORDER BY l.object_id");
	sqlite3_stmt *s = store_stmt(st, sql, err);
	json_t *arr = json_array();
	int r;

	if (s == NULL || arr == NULL || json_object_set_new(o, "links", arr) != 0)
		return s == NULL ? -1 : fw_err_set(err, "out of memory");
	if (sqlite3_bind_int64(s, 1, id) != SQLITE_OK)
		return store_db_err(st, err, "cannot list a job's objects");
	while ((r = sqlite3_step(s)) == SQLITE_ROW)
		if (json_array_append_new(arr, json_pack("{s:I, s:s, s:s, s:s}", "object_id",
							 (json_int_t)sqlite3_column_int64(s, 0), "member",
							 store_col_text(s, 1), "object_state", store_col_text(s, 2),
							 "object_sha256", store_col_text(s, 3))) != 0)
			return fw_err_set(err, "out of memory");
	return r == SQLITE_DONE ? 0 : store_db_err(st, err, "cannot list a job's objects");
}

int fw_store_sandbox_show(struct fw_store *st, int64_t id, json_t **out, struct fw_err *err)
{
	STORE_SQL(sql, "SELECT findings FROM sandbox_jobs WHERE id = ?1");
	struct fw_sandbox_job j;
	sqlite3_stmt *s;
	json_t *o = NULL;
	int r, rc = -1;

	*out = NULL;
	store_rlock(st);
	r = store_sandbox_get_locked(st, id, &j, err);
	if (r == 0) {
		fw_err_set(err, "there is no sandbox job %lld", (long long)id);
		rc = 1;
	}
	if (r <= 0)
		goto out;
	o = store_job_json(&j);
	s = store_stmt(st, sql, err);
	if (o == NULL || s == NULL || sqlite3_bind_int64(s, 1, id) != SQLITE_OK || sqlite3_step(s) != SQLITE_ROW ||
	    json_object_set_new(o, "external_id", json_string(j.external_id)) != 0 ||
	    json_object_set_new(o, "findings", store_findings_json(s, 0)) != 0 || show_links(st, id, o, err) != 0) {
		if (!fw_err_isset(err))
			fw_err_set(err, "cannot read sandbox job %lld", (long long)id);
		goto out;
	}
	*out = o;
	o = NULL;
	rc = 0;
out:
	store_unlock(st);
	json_decref(o);
	return rc;
}

