/* Sandbox job records (table sandbox_jobs): attach a package's members to
 * jobs, claim, finish under a claim (done, failed), take back, abandon, get,
 * and staff's retry. Must not judge: a job's verdict comes from the runner;
 * what it makes of the packages linked to it is the life-cycle table's
 * (store_links_apply), and of a pending package fw_sandbox_verdict's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/store_int.h"

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

/* ------------------------------------------------------------ attach */

static int attach_find(struct fw_store *st, const struct fw_sandbox_member *m, int64_t reuse_since, int64_t *id,
		       struct fw_err *err)
{
	/* A verdict still fresh, else a job under way; never a failed one
	 * (it judged nothing: the bytes get a new chance). */
	STORE_SQL(sql, "SELECT id FROM sandbox_jobs WHERE sha256 = ?1 AND"
				  " ((state = 'done' AND finished_at >= ?2) OR state IN ('queued', 'running'))"
				  " ORDER BY state = 'done' DESC, id DESC LIMIT 1");
	sqlite3_stmt *s = store_stmt(st, sql, err);
	int r;

	if (s == NULL)
		return -1;
	if (store_bind_text(s, 1, m->sha256) != 0 || sqlite3_bind_int64(s, 2, reuse_since) != SQLITE_OK)
		return store_db_err(st, err, "cannot look up sandbox jobs");
	r = sqlite3_step(s);
	if (r == SQLITE_ROW) {
		*id = sqlite3_column_int64(s, 0);
		return 1;
	}
	return r == SQLITE_DONE ? 0 : store_db_err(st, err, "cannot look up sandbox jobs");
}

static int attach_new(struct fw_store *st, const struct fw_sandbox_member *m, enum fw_sandbox_backend backend, int64_t *id,
		      struct fw_err *err)
{
	STORE_SQL(sql, "INSERT INTO sandbox_jobs (sha256, file_type, backend, state, created_at)"
				  " VALUES (?1, ?2, ?3, 'queued', ?4)");
	sqlite3_stmt *s = store_stmt(st, sql, err);

	if (s == NULL)
		return -1;
	if (store_bind_text(s, 1, m->sha256) != 0 || store_bind_text(s, 2, m->file_type) != 0 ||
	    store_bind_text(s, 3, fw_sandbox_backend_name(backend)) != 0 || sqlite3_bind_int64(s, 4, now_s()) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_DONE)
		return store_db_err(st, err, "cannot queue a sandbox job");
	*id = sqlite3_last_insert_rowid(st->w.db);
	return 0;
}

static int attach_link(struct fw_store *st, int64_t object_id, int64_t job_id, const char *member,
		       struct fw_err *err)
{
	STORE_SQL(sql, "INSERT OR IGNORE INTO sandbox_links (object_id, job_id, member) VALUES (?1, ?2, ?3)");
	sqlite3_stmt *s = store_stmt(st, sql, err);

	if (s == NULL)
		return -1;
	if (sqlite3_bind_int64(s, 1, object_id) != SQLITE_OK || sqlite3_bind_int64(s, 2, job_id) != SQLITE_OK ||
	    store_bind_text(s, 3, member) != 0 || sqlite3_step(s) != SQLITE_DONE)
		return store_db_err(st, err, "cannot link an object to its sandbox job");
	return 0;
}

int fw_store_sandbox_members_check(const struct fw_sandbox_member *m, size_t n, enum fw_sandbox_backend backend,
				   struct fw_err *err)
{
	if (backend != FW_SANDBOX_LOCAL && backend != FW_SANDBOX_CAPE)
		return fw_err_setc(err, FW_E_INVALID, "\"%s\" is not a sandbox backend that runs jobs",
				   fw_sandbox_backend_name(backend));
	for (size_t i = 0; i < n; i++)
		if (m[i].path == NULL || m[i].sha256 == NULL || m[i].file_type == NULL ||
		    !store_sha256_valid(m[i].sha256) || m[i].file_type[0] == '\0' ||
		    strlen(m[i].file_type) >= FW_JOB_FILE_TYPE_MAX)
			return fw_err_set(err, "sandbox member %zu lacks its path, a SHA-256 or a file type", i + 1);
	return 0;
}

int store_sandbox_attach_tx(struct fw_store *st, int64_t object_id, const struct fw_sandbox_member *m, size_t n,
			    enum fw_sandbox_backend backend, int64_t reuse_since, int64_t *job_ids, unsigned *created,
			    struct fw_err *err)
{
	char path[FW_JOB_MEMBER_MAX];
	int r;

	*created = 0;
	if (fw_store_sandbox_members_check(m, n, backend, err) != 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int64_t id = 0;

		r = attach_find(st, &m[i], reuse_since, &id, err);
		if (r < 0 || (r == 0 && attach_new(st, &m[i], backend, &id, err) != 0))
			return -1;
		*created += r == 0;
		if (job_ids != NULL)
			job_ids[i] = id;
		/* The chain is a label for people: a deep one is kept cut. */
		if (strlen(m[i].path) < sizeof(path))
			snprintf(path, sizeof(path), "%s", m[i].path);
		else
			snprintf(path, sizeof(path), "%.*s...", (int)sizeof(path) - 4, m[i].path);
		if (attach_link(st, object_id, id, path, err) != 0)
			return -1;
	}
	return 0;
}

int store_sandbox_unlink_tx(struct fw_store *st, int64_t object_id, struct fw_err *err)
{
	STORE_SQL(sql, "DELETE FROM sandbox_links WHERE object_id = ?1");
	sqlite3_stmt *s = store_stmt(st, sql, err);

	if (s == NULL)
		return -1;
	if (sqlite3_bind_int64(s, 1, object_id) != SQLITE_OK || sqlite3_step(s) != SQLITE_DONE)
		return store_db_err(st, err, "cannot drop an object's earlier sandbox links");
	return 0;
}

int fw_store_sandbox_attach(struct fw_store *st, int64_t object_id, const struct fw_sandbox_member *m, size_t n,
			    enum fw_sandbox_backend backend, int64_t reuse_since, int64_t *job_ids, unsigned *created,
			    struct fw_err *err)
{
	int rc = -1;

	*created = 0;
	if (fw_store_sandbox_members_check(m, n, backend, err) != 0)
		return -1;
	store_lock(st);
	if (store_tx_begin(st, err) != 0)
		goto out;
	if (store_sandbox_attach_tx(st, object_id, m, n, backend, reuse_since, job_ids, created, err) != 0 ||
	    store_tx_commit(st, err) != 0) {
		store_tx_rollback(st);
		*created = 0;
		goto out;
	}
	rc = 0;
out:
	store_unlock(st);
	return rc;
}

/* ------------------------------------------------------------ runners */

int fw_store_sandbox_claim(struct fw_store *st, enum fw_sandbox_backend backend, struct fw_sandbox_job *job,
			   struct fw_err *err)
{
	STORE_SQL(sql, "UPDATE sandbox_jobs SET state = 'running', attempts = attempts + 1,"
				  " claims = claims + 1, started_at = ?2, backend = ?1 WHERE id = (SELECT id FROM sandbox_jobs"
				  " WHERE state = 'queued' AND next_at <= ?2 ORDER BY next_at, id LIMIT 1)"
				  " RETURNING " STORE_JOB_COLUMNS);
	sqlite3_stmt *s;
	int r, rc = -1;

	store_lock(st);
	s = store_stmt(st, sql, err);
	if (s == NULL)
		goto out;
	if (store_bind_text(s, 1, fw_sandbox_backend_name(backend)) != 0 || sqlite3_bind_int64(s, 2, now_s()) != SQLITE_OK) {
		store_db_err(st, err, "cannot claim a sandbox job");
		goto out;
	}
	r = sqlite3_step(s);
	if (r == SQLITE_ROW) {
		rc = store_job_read(s, job, err) == 0 ? 1 : -1;
		/* RETURNING: the change is made once the statement is run out. */
		while (r == SQLITE_ROW)
			r = sqlite3_step(s);
	} else {
		rc = 0;
	}
	if (r != SQLITE_DONE) {
		store_db_err(st, err, "cannot claim a sandbox job");
		rc = -1;
	}
out:
	store_unlock(st);
	return rc;
}

/* Runs one UPDATE on a job as its caller claimed it (?6: the attempt):
 * a job in another state, or claimed again since, is an error (staff
 * retried it meanwhile, or the sweep took it back from a lost runner). */
static int job_update_locked(struct fw_store *st, const char *sql, const struct fw_sandbox_job *job, const char *a,
			     int64_t b, const char *c, int64_t d, struct fw_err *err)
{
	sqlite3_stmt *s;
	int n, rc = -1;

	s = store_stmt(st, sql, err);
	if (s == NULL)
		goto out;
	/* ?1 the job, then ?2..?5 as far as the statement names them. */
	n = sqlite3_bind_parameter_count(s);
	if (sqlite3_bind_int64(s, 1, job->id) != SQLITE_OK || (n >= 2 && store_bind_text(s, 2, a) != 0) ||
	    (n >= 3 && sqlite3_bind_int64(s, 3, b) != SQLITE_OK) || (n >= 4 && store_bind_text(s, 4, c) != 0) ||
	    (n >= 5 && sqlite3_bind_int64(s, 5, d) != SQLITE_OK) ||
	    (n >= 6 && sqlite3_bind_int64(s, 6, job->claim) != SQLITE_OK) ||
	    sqlite3_step(s) != SQLITE_DONE) {
		store_db_err(st, err, "cannot record a sandbox job's progress");
		goto out;
	}
	if (sqlite3_changes(st->w.db) != 1) {
		fw_err_set(err, "sandbox job %lld is no longer running as claim %lld", (long long)job->id,
			   (long long)job->claim);
		goto out;
	}
	rc = 0;
out:
	return rc;
}

static int job_update(struct fw_store *st, const char *sql, const struct fw_sandbox_job *job, const char *a,
		      int64_t b, const char *c, int64_t d, struct fw_err *err)
{
	int rc;

	store_lock(st);
	rc = job_update_locked(st, sql, job, a, b, c, d, err);
	store_unlock(st);
	return rc;
}

int fw_store_sandbox_set_external(struct fw_store *st, const struct fw_sandbox_job *job, const char *external_id,
				  struct fw_err *err)
{
	STORE_SQL(sql, "UPDATE sandbox_jobs SET external_id = ?2 WHERE id = ?1 AND state = 'running'"
				  " AND claims = ?6");

	if (strlen(external_id) >= FW_JOB_EXTERNAL_MAX)
		return fw_err_set(err, "the sandbox service's task id is too long");
	return job_update(st, sql, job, external_id, 0, NULL, 0, err);
}
int fw_store_sandbox_done(struct fw_store *st, const struct fw_sandbox_job *job, enum fw_job_verdict verdict,
			  int score, const json_t *findings, struct fw_err *err)
{
	STORE_SQL(sql, "UPDATE sandbox_jobs SET state = 'done', verdict = ?2, score = ?3, findings = ?4,"
				  " error = '', finished_at = ?5 WHERE id = ?1 AND state = 'running' AND claims = ?6");
	struct store_lc_undo undo = { .n = 0 };
	char reason[FW_ERR_MSG_MAX];
	unsigned changed = 0;
	char *text;
	int rc;

	if (verdict != FW_JOB_BENIGN && verdict != FW_JOB_SUSPICIOUS && verdict != FW_JOB_MALICIOUS)
		return fw_err_set(err, "%d is not a sandbox verdict a job can end with", (int)verdict);
	if (score < 0 || score > 100)
		return fw_err_set(err, "a sandbox score must be from 0 to 100, not %d", score);
	text = json_dumps(findings, JSON_COMPACT);
	if (text == NULL)
		return fw_err_set(err, "cannot serialize the sandbox findings");
	if (strlen(text) > FW_JOB_FINDINGS_MAX) {
		free(text);
		return fw_err_set(err, "the sandbox findings are over %d bytes", FW_JOB_FINDINGS_MAX);
	}
	store_lock(st);
	if (store_tx_begin(st, err) != 0) {
		rc = -1;
		goto out;
	}
	rc = job_update_locked(st, sql, job, fw_job_verdict_name(verdict), score, text, now_s(), err);
	/* A member judged malicious: every package holding it is infected from
	 * now on, whatever else it was held or released under (the table's
	 * rows for "member malicious"; pending ones are the settle's). */
	if (rc == 0 && verdict == FW_JOB_MALICIOUS) {
		snprintf(reason, sizeof(reason), "sandbox job %lld judged member bytes %s malicious (score %d)",
			 (long long)job->id, job->sha256, score);
		rc = store_links_apply(st, job->id, STORE_EV_MEMBER_MALICIOUS, FW_VERDICT_INFECTED, reason,
				       STORE_WHO_SELF, reason, &undo, &changed, NULL, err);
	}
	if (rc == 0)
		rc = store_tx_commit(st, err);
	if (rc != 0) {
		store_tx_rollback(st);
		store_lc_undo(st, &undo);
	}
out:
	store_unlock(st);
	free(text);
	return rc;
}

int fw_store_sandbox_failed(struct fw_store *st, const struct fw_sandbox_job *job, const char *why,
			    int64_t retry_at, struct fw_err *err)
{
	STORE_SQL(retry, "UPDATE sandbox_jobs SET state = 'queued', error = ?2, next_at = ?3"
				    " WHERE id = ?1 AND state = 'running' AND claims = ?6");
	STORE_SQL(final, "UPDATE sandbox_jobs SET state = 'failed', error = ?2, next_at = ?3, finished_at = ?5"
				    " WHERE id = ?1 AND state = 'running' AND claims = ?6");
	char msg[FW_ERR_MSG_MAX];

	snprintf(msg, sizeof(msg), "%s", why);
	return job_update(st, retry_at > 0 ? retry : final, job, msg, retry_at, NULL, now_s(), err);
}

/* Running jobs started before `before` are queued again. */
static int requeue_running(struct fw_store *st, int64_t before, unsigned *requeued, struct fw_err *err)
{
	STORE_SQL(sql, "UPDATE sandbox_jobs SET state = 'queued', next_at = 0"
				  " WHERE state = 'running' AND coalesce(started_at, 0) < ?1");
	sqlite3_stmt *s;
	int rc = -1;

	*requeued = 0;
	store_lock(st);
	s = store_stmt(st, sql, err);
	if (s != NULL) {
		if (sqlite3_bind_int64(s, 1, before) != SQLITE_OK || sqlite3_step(s) != SQLITE_DONE) {
			store_db_err(st, err, "cannot queue running sandbox jobs again");
		} else {
			*requeued = (unsigned)sqlite3_changes(st->w.db);
			rc = 0;
		}
	}
	store_unlock(st);
	return rc;
}

int fw_store_sandbox_resume(struct fw_store *st, unsigned *requeued, struct fw_err *err)
{
	return requeue_running(st, INT64_MAX, requeued, err);
}

int fw_store_sandbox_requeue_stale(struct fw_store *st, int64_t started_before, unsigned *requeued,
				   struct fw_err *err)
{
	return requeue_running(st, started_before, requeued, err);
}

int store_sandbox_get_locked(struct fw_store *st, int64_t id, struct fw_sandbox_job *job, struct fw_err *err)
{
	STORE_SQL(sql, "SELECT " STORE_JOB_COLUMNS " FROM sandbox_jobs WHERE id = ?1");
	sqlite3_stmt *s = store_stmt(st, sql, err);
	int r;

	if (s == NULL)
		return -1;
	if (sqlite3_bind_int64(s, 1, id) != SQLITE_OK)
		return store_db_err(st, err, "cannot read a sandbox job");
	r = sqlite3_step(s);
	if (r == SQLITE_DONE)
		return 0;
	if (r != SQLITE_ROW)
		return store_db_err(st, err, "cannot read a sandbox job");
	return store_job_read(s, job, err) == 0 ? 1 : -1;
}

int fw_store_sandbox_get(struct fw_store *st, int64_t id, struct fw_sandbox_job *job, struct fw_err *err)
{
	int rc;

	store_rlock(st);
	rc = store_sandbox_get_locked(st, id, job, err);
	store_unlock(st);
	return rc;
}


int fw_store_sandbox_retry(struct fw_store *st, int64_t id, const char *who, unsigned *reopened, struct fw_err *err)
{
	STORE_SQL(requeue, "UPDATE sandbox_jobs SET state = 'queued', attempts = 0, verdict = '',"
				      " score = NULL, findings = NULL, error = '', external_id = '', next_at = 0,"
				      " started_at = NULL, finished_at = NULL WHERE id = ?1");
	char detail[FW_ERR_MSG_MAX + 128];
	struct store_lc_undo undo = { .n = 0 };
	struct fw_sandbox_job j;
	unsigned approved = 0;
	sqlite3_stmt *s;
	int r, rc = -1;

	*reopened = 0;
	if (who[0] == '\0')
		return fw_err_set(err, "a retry needs the name of who asks for it");
	store_lock(st);
	if (store_tx_begin(st, err) != 0)
		goto out;
	r = store_sandbox_get_locked(st, id, &j, err);
	if (r == 0)
		fw_err_set(err, "there is no sandbox job %lld", (long long)id);
	if (r <= 0)
		goto fail;
	if (j.state == FW_JOB_QUEUED || j.state == FW_JOB_RUNNING) {
		fw_err_set(err, "sandbox job %lld is already %s", (long long)id, fw_job_state_name(j.state));
		goto fail;
	}
	s = store_stmt(st, requeue, err);
	if (s == NULL || sqlite3_bind_int64(s, 1, id) != SQLITE_OK || sqlite3_step(s) != SQLITE_DONE) {
		store_db_err(st, err, "cannot queue the job again");
		goto fail;
	}
	/* Each package linked to it meets "sandbox retry" in the table: the
	 * ones the sandbox's verdict decided are judged again. */
	if (store_links_apply(st, id, STORE_EV_SANDBOX_RETRY, FW_VERDICT_PENDING, "", who, "", &undo, reopened,
			      &approved, err) != 0)
		goto fail;
	snprintf(detail, sizeof(detail), "sandbox job %lld (%s) queued again (was %s%s%s); %u package(s) pending "
		 "again (%u of them approved until now)", (long long)id, j.sha256, fw_job_state_name(j.state),
		 j.verdict != FW_JOB_VERDICT_NONE ? ", " : "", fw_job_verdict_name(j.verdict), *reopened, approved);
	if (store_audit_append_tx(st, "sandbox-retry", who, 0, detail, err) != 0 || store_tx_commit(st, err) != 0)
		goto fail;
	rc = 0;
	goto out;
fail:
	store_tx_rollback(st);
	store_lc_undo(st, &undo);
	*reopened = 0;
out:
	store_unlock(st);
	return rc;
}

int fw_store_sandbox_abandon(struct fw_store *st, const char *why, unsigned *n, struct fw_err *err)
{
	STORE_SQL(sql, "UPDATE sandbox_jobs SET state = 'failed', error = ?1, finished_at = ?2"
				  " WHERE state IN ('queued', 'running')");
	sqlite3_stmt *s;
	int rc = -1;

	*n = 0;
	store_lock(st);
	s = store_stmt(st, sql, err);
	if (s != NULL) {
		if (store_bind_text(s, 1, why) != 0 || sqlite3_bind_int64(s, 2, now_s()) != SQLITE_OK ||
		    sqlite3_step(s) != SQLITE_DONE) {
			store_db_err(st, err, "cannot fail the unfinished sandbox jobs");
		} else {
			*n = (unsigned)sqlite3_changes(st->w.db);
			rc = 0;
		}
	}
	store_unlock(st);
	return rc;
}
