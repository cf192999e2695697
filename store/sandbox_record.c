/* Sandbox job rows <-> typed records (struct fw_sandbox_job) and their
 * display JSON: the one place that reads the sandbox_jobs columns. Must not
 * decide anything about a job or a package: it maps, and refuses a row it
 * cannot map. */
#include <stdio.h>
#include <string.h>

#include "store/store_int.h"

int store_job_read(sqlite3_stmt *s, struct fw_sandbox_job *job, struct fw_err *err)
{
	memset(job, 0, sizeof(*job));
	job->id = sqlite3_column_int64(s, 0);
	if (store_col_copy(s, 1, job->sha256, sizeof(job->sha256)) != 0 ||
	    store_col_copy(s, 2, job->file_type, sizeof(job->file_type)) != 0 ||
	    fw_sandbox_backend_parse(store_col_text(s, 3), &job->backend) != 0 ||
	    store_col_copy(s, 4, job->external_id, sizeof(job->external_id)) != 0 ||
	    fw_job_state_parse(store_col_text(s, 5), &job->state) != 0 ||
	    fw_job_verdict_parse(store_col_text(s, 7), &job->verdict) != 0)
		return fw_err_set(err, "the store's record of sandbox job %lld is malformed", (long long)job->id);
	job->attempts = (unsigned)sqlite3_column_int64(s, 6);
	job->score = (int)sqlite3_column_int64(s, 8);
	if (store_col_copy(s, 9, job->error, sizeof(job->error)) != 0)
		snprintf(job->error, sizeof(job->error), "(the recorded error is too long to show)");
	job->created_at = sqlite3_column_int64(s, 10);
	job->started_at = sqlite3_column_int64(s, 11);
	job->finished_at = sqlite3_column_int64(s, 12);
	job->claim = sqlite3_column_int64(s, 13);
	return 0;
}

json_t *store_job_json(const struct fw_sandbox_job *j)
{
	return json_pack("{s:I, s:s, s:s, s:s, s:s, s:I, s:s, s:I, s:s, s:I, s:I, s:I}", "id", (json_int_t)j->id,
			 "sha256", j->sha256, "file_type", j->file_type, "backend", fw_sandbox_backend_name(j->backend), "state",
			 fw_job_state_name(j->state), "attempts", (json_int_t)j->attempts, "verdict",
			 fw_job_verdict_name(j->verdict), "score", (json_int_t)j->score, "error", j->error, "created_at",
			 (json_int_t)j->created_at, "started_at", (json_int_t)j->started_at, "finished_at",
			 (json_int_t)j->finished_at);
}

json_t *store_findings_json(sqlite3_stmt *s, int col)
{
	json_t *f;

	if (sqlite3_column_type(s, col) == SQLITE_NULL)
		return json_null();
	f = json_loads(store_col_text(s, col), 0, NULL);
	return f != NULL ? f : json_null();
}
