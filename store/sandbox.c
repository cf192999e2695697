/* The durable sandbox queue: jobs (one per member's bytes, shared by every
 * package that holds them), the links from objects to the jobs they wait
 * on, and the settling of a pending object once the sandbox has spoken.
 * Must not judge: which verdict a set of job results makes is the sandbox
 * queue's decision (scanner/queue); this file records it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fwgate/fileio.h"
#include "store/store_int.h"

static const char *const job_state_names[] = { "queued", "running", "done", "failed" };

const char *fw_job_state_name(enum fw_job_state s)
{
	return (unsigned)s < FW_ARRAY_LEN(job_state_names) ? job_state_names[s] : "unknown";
}

static int job_state_parse(const char *s, enum fw_job_state *out)
{
	for (size_t i = 0; i < FW_ARRAY_LEN(job_state_names); i++)
		if (strcmp(s, job_state_names[i]) == 0) {
			*out = (enum fw_job_state)i;
			return 0;
		}
	return -1;
}

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

#define JOB_COLUMNS \
	"id, sha256, file_type, backend, external_id, state, attempts, verdict, coalesce(score, 0), error," \
	" created_at, coalesce(started_at, 0), coalesce(finished_at, 0), claims"

/* Fills job from a row of JOB_COLUMNS starting at column 0. */
static int job_read(sqlite3_stmt *s, struct fw_sandbox_job *job, struct fw_err *err)
{
	memset(job, 0, sizeof(*job));
	job->id = sqlite3_column_int64(s, 0);
	if (store_col_copy(s, 1, job->sha256, sizeof(job->sha256)) != 0 ||
	    store_col_copy(s, 2, job->file_type, sizeof(job->file_type)) != 0 ||
	    store_col_copy(s, 3, job->backend, sizeof(job->backend)) != 0 ||
	    store_col_copy(s, 4, job->external_id, sizeof(job->external_id)) != 0 ||
	    job_state_parse(store_col_text(s, 5), &job->state) != 0 ||
	    store_col_copy(s, 7, job->verdict, sizeof(job->verdict)) != 0)
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

static json_t *job_json(const struct fw_sandbox_job *j)
{
	return json_pack("{s:I, s:s, s:s, s:s, s:s, s:I, s:s, s:I, s:s, s:I, s:I, s:I}", "id", (json_int_t)j->id,
			 "sha256", j->sha256, "file_type", j->file_type, "backend", j->backend, "state",
			 fw_job_state_name(j->state), "attempts", (json_int_t)j->attempts, "verdict", j->verdict,
			 "score", (json_int_t)j->score, "error", j->error, "created_at", (json_int_t)j->created_at,
			 "started_at", (json_int_t)j->started_at, "finished_at", (json_int_t)j->finished_at);
}

/* The findings column as JSON; null when none or unreadable. */
static json_t *findings_json(sqlite3_stmt *s, int col)
{
	json_t *f;

	if (sqlite3_column_type(s, col) == SQLITE_NULL)
		return json_null();
	f = json_loads(store_col_text(s, col), 0, NULL);
	return f != NULL ? f : json_null();
}

/* ------------------------------------------------------------ attach */

static int attach_find(struct fw_store *st, const struct fw_sandbox_member *m, int64_t reuse_since, int64_t *id,
		       struct fw_err *err)
{
	/* A verdict still fresh, else a job under way; never a failed one
	 * (it judged nothing: the bytes get a new chance). */
	static const char sql[] = "SELECT id FROM sandbox_jobs WHERE sha256 = ?1 AND"
				  " ((state = 'done' AND finished_at >= ?2) OR state IN ('queued', 'running'))"
				  " ORDER BY state = 'done' DESC, id DESC LIMIT 1";
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

static int attach_new(struct fw_store *st, const struct fw_sandbox_member *m, const char *backend, int64_t *id,
		      struct fw_err *err)
{
	static const char sql[] = "INSERT INTO sandbox_jobs (sha256, file_type, backend, state, created_at)"
				  " VALUES (?1, ?2, ?3, 'queued', ?4)";
	sqlite3_stmt *s = store_stmt(st, sql, err);

	if (s == NULL)
		return -1;
	if (store_bind_text(s, 1, m->sha256) != 0 || store_bind_text(s, 2, m->file_type) != 0 ||
	    store_bind_text(s, 3, backend) != 0 || sqlite3_bind_int64(s, 4, now_s()) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_DONE)
		return store_db_err(st, err, "cannot queue a sandbox job");
	*id = sqlite3_last_insert_rowid(st->db);
	return 0;
}

static int attach_link(struct fw_store *st, int64_t object_id, int64_t job_id, const char *member,
		       struct fw_err *err)
{
	static const char sql[] = "INSERT OR IGNORE INTO sandbox_links (object_id, job_id, member) VALUES (?1, ?2, ?3)";
	sqlite3_stmt *s = store_stmt(st, sql, err);

	if (s == NULL)
		return -1;
	if (sqlite3_bind_int64(s, 1, object_id) != SQLITE_OK || sqlite3_bind_int64(s, 2, job_id) != SQLITE_OK ||
	    store_bind_text(s, 3, member) != 0 || sqlite3_step(s) != SQLITE_DONE)
		return store_db_err(st, err, "cannot link an object to its sandbox job");
	return 0;
}

int store_sandbox_attach_check(const struct fw_sandbox_member *m, size_t n, const char *backend, struct fw_err *err)
{
	if (strcmp(backend, "local") != 0 && strcmp(backend, "cape") != 0)
		return fw_err_set(err, "\"%.32s\" is not a sandbox backend that runs jobs", backend);
	for (size_t i = 0; i < n; i++)
		if (m[i].path == NULL || m[i].sha256 == NULL || m[i].file_type == NULL ||
		    !store_sha256_valid(m[i].sha256) || m[i].file_type[0] == '\0' ||
		    strlen(m[i].file_type) >= FW_JOB_FILE_TYPE_MAX)
			return fw_err_set(err, "sandbox member %zu lacks its path, a SHA-256 or a file type", i + 1);
	return 0;
}

int store_sandbox_attach_tx(struct fw_store *st, int64_t object_id, const struct fw_sandbox_member *m, size_t n,
			    const char *backend, int64_t reuse_since, int64_t *job_ids, unsigned *created,
			    struct fw_err *err)
{
	char path[FW_JOB_MEMBER_MAX];
	int r;

	*created = 0;
	if (store_sandbox_attach_check(m, n, backend, err) != 0)
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
	static const char sql[] = "DELETE FROM sandbox_links WHERE object_id = ?1";
	sqlite3_stmt *s = store_stmt(st, sql, err);

	if (s == NULL)
		return -1;
	if (sqlite3_bind_int64(s, 1, object_id) != SQLITE_OK || sqlite3_step(s) != SQLITE_DONE)
		return store_db_err(st, err, "cannot drop an object's earlier sandbox links");
	return 0;
}

int fw_store_sandbox_attach(struct fw_store *st, int64_t object_id, const struct fw_sandbox_member *m, size_t n,
			    const char *backend, int64_t reuse_since, int64_t *job_ids, unsigned *created,
			    struct fw_err *err)
{
	int rc = -1;

	*created = 0;
	if (store_sandbox_attach_check(m, n, backend, err) != 0)
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

int fw_store_sandbox_claim(struct fw_store *st, const char *backend, struct fw_sandbox_job *job, struct fw_err *err)
{
	static const char sql[] = "UPDATE sandbox_jobs SET state = 'running', attempts = attempts + 1,"
				  " claims = claims + 1, started_at = ?2, backend = ?1 WHERE id = (SELECT id FROM sandbox_jobs"
				  " WHERE state = 'queued' AND next_at <= ?2 ORDER BY next_at, id LIMIT 1)"
				  " RETURNING " JOB_COLUMNS;
	sqlite3_stmt *s;
	int r, rc = -1;

	store_lock(st);
	s = store_stmt(st, sql, err);
	if (s == NULL)
		goto out;
	if (store_bind_text(s, 1, backend) != 0 || sqlite3_bind_int64(s, 2, now_s()) != SQLITE_OK) {
		store_db_err(st, err, "cannot claim a sandbox job");
		goto out;
	}
	r = sqlite3_step(s);
	if (r == SQLITE_ROW) {
		rc = job_read(s, job, err) == 0 ? 1 : -1;
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
	if (sqlite3_changes(st->db) != 1) {
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
	static const char sql[] = "UPDATE sandbox_jobs SET external_id = ?2 WHERE id = ?1 AND state = 'running'"
				  " AND claims = ?6";

	if (strlen(external_id) >= FW_JOB_EXTERNAL_MAX)
		return fw_err_set(err, "the sandbox service's task id is too long");
	return job_update(st, sql, job, external_id, 0, NULL, 0, err);
}

/* Puts the blobs listed in moved (sha256 strings, moved from objects/ to
 * quarantine/ in a transaction that then failed) back. */
static void blobs_move_back(struct fw_store *st, const json_t *moved)
{
	const json_t *v;
	size_t i;

	json_array_foreach(moved, i, v) {
		struct fw_err e2;

		fw_err_clear(&e2);
		if (store_blob_move(st, json_string_value(v), STORE_AREA_QUARANTINE, STORE_AREA_OBJECTS, &e2) < 0)
			fprintf(stderr, "fwgate: store: %s\n", fw_err_msg(&e2));
	}
}

/* A member judged malicious: every package holding it is infected from
 * now on, whatever else it was held or released under. Quarantined ones
 * are held as infected (release needs the override); ones staff released
 * as less than infected are quarantined again (blob out of objects/,
 * listed in moved). Pending ones are the settle's. */
static int done_malicious_tx(struct fw_store *st, const struct fw_sandbox_job *job, int score, json_t *moved,
			     struct fw_err *err)
{
	static const char raise[] = "UPDATE objects SET held_verdict = 'infected', held_reason = ?2"
				    " WHERE state = 'quarantined' AND id IN (SELECT object_id FROM sandbox_links WHERE job_id = ?1)"
				    " AND held_verdict <> 'infected' AND coalesce((SELECT verdict FROM scans"
				    " WHERE object_id = objects.id ORDER BY id DESC LIMIT 1), '') <> 'infected'";
	static const char rel[] = "SELECT DISTINCT o.id, o.sha256 FROM sandbox_links l JOIN objects o ON o.id = l.object_id"
				  " WHERE l.job_id = ?1 AND o.state = 'released' AND o.held_verdict <> 'infected'"
				  " AND coalesce((SELECT verdict FROM scans WHERE object_id = o.id ORDER BY id DESC LIMIT 1),"
				  " '') <> 'infected'";
	static const char requar[] = "UPDATE objects SET state = 'quarantined', held_verdict = 'infected',"
				     " held_reason = ?2, held_by = 'sandbox' WHERE id = ?1 AND state = 'released'";
	char reason[FW_ERR_MSG_MAX];
	json_t *list = json_array(), *v;
	sqlite3_stmt *s;
	size_t i;
	int r, rc = -1;

	if (list == NULL)
		return fw_err_set(err, "out of memory");
	snprintf(reason, sizeof(reason), "sandbox job %lld judged member bytes %s malicious (score %d)",
		 (long long)job->id, job->sha256, score);
	s = store_stmt(st, raise, err);
	if (s == NULL || sqlite3_bind_int64(s, 1, job->id) != SQLITE_OK || store_bind_text(s, 2, reason) != 0 ||
	    sqlite3_step(s) != SQLITE_DONE) {
		if (s != NULL)
			store_db_err(st, err, "cannot hold packages as infected");
		goto out;
	}
	s = store_stmt(st, rel, err);
	if (s == NULL || sqlite3_bind_int64(s, 1, job->id) != SQLITE_OK) {
		if (s != NULL)
			store_db_err(st, err, "cannot list released packages");
		goto out;
	}
	while ((r = sqlite3_step(s)) == SQLITE_ROW)
		json_array_append_new(list, json_pack("{s:I, s:s}", "id", (json_int_t)sqlite3_column_int64(s, 0),
						      "sha256", store_col_text(s, 1)));
	if (r != SQLITE_DONE) {
		store_db_err(st, err, "cannot list released packages");
		goto out;
	}
	json_array_foreach(list, i, v) {
		const char *sha = json_string_value(json_object_get(v, "sha256"));
		int64_t id = json_integer_value(json_object_get(v, "id"));

		r = store_blob_move(st, sha, STORE_AREA_OBJECTS, STORE_AREA_QUARANTINE, err);
		if (r < 0)
			goto out;
		if (r == 0)
			json_array_append_new(moved, json_string(sha));
		s = store_stmt(st, requar, err);
		if (s == NULL || sqlite3_bind_int64(s, 1, id) != SQLITE_OK || store_bind_text(s, 2, reason) != 0 ||
		    sqlite3_step(s) != SQLITE_DONE) {
			if (s != NULL)
				store_db_err(st, err, "cannot quarantine a released package");
			goto out;
		}
		if (store_audit_append_tx(st, "sandbox-quarantine", STORE_WHO_SELF, id, reason, err) != 0)
			goto out;
	}
	rc = 0;
out:
	json_decref(list);
	return rc;
}

int fw_store_sandbox_done(struct fw_store *st, const struct fw_sandbox_job *job, const char *verdict, int score,
			  const json_t *findings, struct fw_err *err)
{
	static const char sql[] = "UPDATE sandbox_jobs SET state = 'done', verdict = ?2, score = ?3, findings = ?4,"
				  " error = '', finished_at = ?5 WHERE id = ?1 AND state = 'running' AND claims = ?6";
	json_t *moved = NULL;
	char *text;
	int rc;

	if (strcmp(verdict, "benign") != 0 && strcmp(verdict, "suspicious") != 0 && strcmp(verdict, "malicious") != 0)
		return fw_err_set(err, "\"%.32s\" is not a sandbox verdict", verdict);
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
	moved = json_array();
	if (moved == NULL || store_tx_begin(st, err) != 0) {
		rc = moved == NULL ? fw_err_set(err, "out of memory") : -1;
		goto out;
	}
	rc = job_update_locked(st, sql, job, verdict, score, text, now_s(), err);
	if (rc == 0 && strcmp(verdict, "malicious") == 0)
		rc = done_malicious_tx(st, job, score, moved, err);
	if (rc == 0)
		rc = store_tx_commit(st, err);
	if (rc != 0) {
		store_tx_rollback(st);
		blobs_move_back(st, moved);
	}
out:
	store_unlock(st);
	json_decref(moved);
	free(text);
	return rc;
}

int fw_store_sandbox_failed(struct fw_store *st, const struct fw_sandbox_job *job, const char *why,
			    int64_t retry_at, struct fw_err *err)
{
	static const char retry[] = "UPDATE sandbox_jobs SET state = 'queued', error = ?2, next_at = ?3"
				    " WHERE id = ?1 AND state = 'running' AND claims = ?6";
	static const char final[] = "UPDATE sandbox_jobs SET state = 'failed', error = ?2, next_at = ?3, finished_at = ?5"
				    " WHERE id = ?1 AND state = 'running' AND claims = ?6";
	char msg[FW_ERR_MSG_MAX];

	snprintf(msg, sizeof(msg), "%s", why);
	return job_update(st, retry_at > 0 ? retry : final, job, msg, retry_at, NULL, now_s(), err);
}

/* Running jobs started before `before` are queued again. */
static int requeue_running(struct fw_store *st, int64_t before, unsigned *requeued, struct fw_err *err)
{
	static const char sql[] = "UPDATE sandbox_jobs SET state = 'queued', next_at = 0"
				  " WHERE state = 'running' AND coalesce(started_at, 0) < ?1";
	sqlite3_stmt *s;
	int rc = -1;

	*requeued = 0;
	store_lock(st);
	s = store_stmt(st, sql, err);
	if (s != NULL) {
		if (sqlite3_bind_int64(s, 1, before) != SQLITE_OK || sqlite3_step(s) != SQLITE_DONE) {
			store_db_err(st, err, "cannot queue running sandbox jobs again");
		} else {
			*requeued = (unsigned)sqlite3_changes(st->db);
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

int fw_store_sandbox_unsettled(struct fw_store *st, int64_t linkless_before, int64_t *ids, size_t max, size_t *n,
			       struct fw_err *err)
{
	static const char sql[] =
		"SELECT o.id FROM objects o WHERE o.state = 'pending' AND ("
		" (EXISTS (SELECT 1 FROM sandbox_links l WHERE l.object_id = o.id) AND NOT EXISTS"
		"  (SELECT 1 FROM sandbox_links l JOIN sandbox_jobs j ON j.id = l.job_id"
		"   WHERE l.object_id = o.id AND j.state IN ('queued', 'running')))"
		" OR (NOT EXISTS (SELECT 1 FROM sandbox_links l WHERE l.object_id = o.id) AND"
		"  coalesce((SELECT max(time) FROM scans WHERE object_id = o.id), 0) < ?1))"
		" ORDER BY o.id LIMIT ?2";
	sqlite3_stmt *s;
	int r, rc = -1;

	*n = 0;
	store_lock(st);
	s = store_stmt(st, sql, err);
	if (s == NULL)
		goto out;
	if (sqlite3_bind_int64(s, 1, linkless_before) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 2, (int64_t)max) != SQLITE_OK) {
		store_db_err(st, err, "cannot list the unsettled objects");
		goto out;
	}
	while ((r = sqlite3_step(s)) == SQLITE_ROW && *n < max)
		ids[(*n)++] = sqlite3_column_int64(s, 0);
	if (r != SQLITE_ROW && r != SQLITE_DONE) {
		store_db_err(st, err, "cannot list the unsettled objects");
		goto out;
	}
	rc = 0;
out:
	store_unlock(st);
	return rc;
}

static int job_get_locked(struct fw_store *st, int64_t id, struct fw_sandbox_job *job, struct fw_err *err)
{
	static const char sql[] = "SELECT " JOB_COLUMNS " FROM sandbox_jobs WHERE id = ?1";
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
	return job_read(s, job, err) == 0 ? 1 : -1;
}

int fw_store_sandbox_get(struct fw_store *st, int64_t id, struct fw_sandbox_job *job, struct fw_err *err)
{
	int rc;

	store_lock(st);
	rc = job_get_locked(st, id, job, err);
	store_unlock(st);
	return rc;
}

int fw_store_sandbox_waiting(struct fw_store *st, int64_t job_id, int64_t *ids, size_t max, size_t *n,
			     struct fw_err *err)
{
	static const char sql[] = "SELECT DISTINCT l.object_id FROM sandbox_links l JOIN objects o ON o.id = l.object_id"
				  " WHERE l.job_id = ?1 AND o.state = 'pending' ORDER BY l.object_id";
	sqlite3_stmt *s;
	int r, rc = -1;

	*n = 0;
	store_lock(st);
	s = store_stmt(st, sql, err);
	if (s == NULL)
		goto out;
	if (sqlite3_bind_int64(s, 1, job_id) != SQLITE_OK) {
		store_db_err(st, err, "cannot list the objects waiting on a job");
		goto out;
	}
	while ((r = sqlite3_step(s)) == SQLITE_ROW && *n < max)
		ids[(*n)++] = sqlite3_column_int64(s, 0);
	if (r != SQLITE_ROW && r != SQLITE_DONE) {
		store_db_err(st, err, "cannot list the objects waiting on a job");
		goto out;
	}
	rc = 0;
out:
	store_unlock(st);
	return rc;
}

/* ------------------------------------------------------------ views */

static int object_jobs_locked(struct fw_store *st, int64_t object_id, json_t **out, struct fw_err *err)
{
	static const char sql[] = "SELECT " JOB_COLUMNS ", l.member, j.findings FROM sandbox_links l"
				  " JOIN sandbox_jobs j ON j.id = l.job_id WHERE l.object_id = ?1 ORDER BY j.id, l.member";
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

		if (job_read(s, &j, err) != 0) {
			json_decref(arr);
			return -1;
		}
		o = job_json(&j);
		if (o == NULL || json_object_set_new(o, "member", json_string(store_col_text(s, 14))) != 0 ||
		    json_object_set_new(o, "findings", findings_json(s, 15)) != 0) {
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
	store_lock(st);
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
	static const char sql[] = "SELECT " JOB_COLUMNS ", (SELECT count(*) FROM sandbox_links WHERE job_id = j.id)"
				  " FROM sandbox_jobs j ORDER BY id DESC";
	json_t *arr = json_array();
	sqlite3_stmt *s;
	int r, rc = -1;

	*out = NULL;
	if (arr == NULL)
		return fw_err_set(err, "out of memory");
	store_lock(st);
	s = store_stmt(st, sql, err);
	if (s == NULL)
		goto out;
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		struct fw_sandbox_job j;
		json_t *o;

		if (job_read(s, &j, err) != 0)
			goto out;
		o = job_json(&j);
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
	static const char sql[] = "SELECT l.object_id, l.member, o.state, o.sha256 FROM sandbox_links l"
				  " JOIN objects o ON o.id = l.object_id WHERE l.job_id = ?1 ORDER BY l.object_id";
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
	static const char sql[] = "SELECT findings FROM sandbox_jobs WHERE id = ?1";
	struct fw_sandbox_job j;
	sqlite3_stmt *s;
	json_t *o = NULL;
	int r, rc = -1;

	*out = NULL;
	store_lock(st);
	r = job_get_locked(st, id, &j, err);
	if (r == 0) {
		fw_err_set(err, "there is no sandbox job %lld", (long long)id);
		rc = 1;
	}
	if (r <= 0)
		goto out;
	o = job_json(&j);
	s = store_stmt(st, sql, err);
	if (o == NULL || s == NULL || sqlite3_bind_int64(s, 1, id) != SQLITE_OK || sqlite3_step(s) != SQLITE_ROW ||
	    json_object_set_new(o, "external_id", json_string(j.external_id)) != 0 ||
	    json_object_set_new(o, "findings", findings_json(s, 0)) != 0 || show_links(st, id, o, err) != 0) {
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

/* ------------------------------------------------------------ staff */

/* Approved (never staff-released) objects linked to the job whose latest
 * scan is the scanner's clean-but-pending one go back to pending for the
 * job's new judgement: out of objects/ first, so that none is served
 * while it is judged again. */
static int retry_rejudge_approved(struct fw_store *st, int64_t id, unsigned *n, json_t *moved, struct fw_err *err)
{
	static const char sql[] = "SELECT DISTINCT o.id, o.sha256 FROM sandbox_links l JOIN objects o ON o.id = l.object_id"
				  " WHERE l.job_id = ?1 AND o.state = 'approved' AND (SELECT verdict FROM scans"
				  " WHERE object_id = o.id ORDER BY id DESC LIMIT 1) = 'pending' ORDER BY o.id";
	static const char upd[] = "UPDATE objects SET state = 'pending', held_verdict = '', held_reason = '',"
				  " held_by = '' WHERE id = ?1 AND state = 'approved'";
	json_t *list = json_array(), *v;
	sqlite3_stmt *s = store_stmt(st, sql, err);
	size_t i;
	int r, rc = -1;

	if (list == NULL || s == NULL) {
		json_decref(list);
		return s == NULL ? -1 : fw_err_set(err, "out of memory");
	}
	if (sqlite3_bind_int64(s, 1, id) != SQLITE_OK) {
		store_db_err(st, err, "cannot list the packages of a job");
		goto out;
	}
	while ((r = sqlite3_step(s)) == SQLITE_ROW)
		if (json_array_append_new(list, json_pack("{s:I, s:s}", "id", (json_int_t)sqlite3_column_int64(s, 0),
							  "sha256", store_col_text(s, 1))) != 0) {
			fw_err_set(err, "out of memory");
			goto out;
		}
	if (r != SQLITE_DONE) {
		store_db_err(st, err, "cannot list the packages of a job");
		goto out;
	}
	json_array_foreach(list, i, v) {
		r = store_blob_move(st, json_string_value(json_object_get(v, "sha256")), STORE_AREA_OBJECTS,
				    STORE_AREA_QUARANTINE, err);
		if (r < 0)
			goto out;
		if (r == 0)
			json_array_append_new(moved, json_string(json_string_value(json_object_get(v, "sha256"))));
		s = store_stmt(st, upd, err);
		if (s == NULL || sqlite3_bind_int64(s, 1, json_integer_value(json_object_get(v, "id"))) != SQLITE_OK ||
		    sqlite3_step(s) != SQLITE_DONE) {
			if (s != NULL)
				store_db_err(st, err, "cannot put a package back to pending");
			goto out;
		}
		*n += (unsigned)sqlite3_changes(st->db);
	}
	rc = 0;
out:
	json_decref(list);
	return rc;
}

int fw_store_sandbox_retry(struct fw_store *st, int64_t id, const char *who, unsigned *reopened, struct fw_err *err)
{
	static const char requeue[] = "UPDATE sandbox_jobs SET state = 'queued', attempts = 0, verdict = '',"
				      " score = NULL, findings = NULL, error = '', external_id = '', next_at = 0,"
				      " started_at = NULL, finished_at = NULL WHERE id = ?1";
	/* Quarantined by the sandbox, never reviewed, and still scanner-clean
	 * (its latest scan is the pending one): nothing else comes back. */
	static const char reopen[] = "UPDATE objects SET state = 'pending', held_verdict = '', held_reason = '',"
				     " held_by = '' WHERE state = 'quarantined' AND held_by = 'sandbox'"
				     " AND reviewed_by IS NULL AND id IN (SELECT object_id FROM sandbox_links WHERE job_id = ?1)"
				     " AND (SELECT verdict FROM scans WHERE object_id = objects.id ORDER BY id DESC LIMIT 1)"
				     " = 'pending'";
	char detail[FW_ERR_MSG_MAX + 128];
	struct fw_sandbox_job j;
	unsigned approved = 0;
	json_t *moved = json_array();
	sqlite3_stmt *s;
	int r, rc = -1;

	*reopened = 0;
	if (moved == NULL)
		return fw_err_set(err, "out of memory");
	if (who[0] == '\0') {
		json_decref(moved);
		return fw_err_set(err, "a retry needs the name of who asks for it");
	}
	store_lock(st);
	if (store_tx_begin(st, err) != 0)
		goto out;
	r = job_get_locked(st, id, &j, err);
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
	s = store_stmt(st, reopen, err);
	if (s == NULL || sqlite3_bind_int64(s, 1, id) != SQLITE_OK || sqlite3_step(s) != SQLITE_DONE) {
		store_db_err(st, err, "cannot reopen the objects waiting on the job");
		goto fail;
	}
	*reopened = (unsigned)sqlite3_changes(st->db);
	if (retry_rejudge_approved(st, id, &approved, moved, err) != 0)
		goto fail;
	*reopened += approved;
	snprintf(detail, sizeof(detail), "sandbox job %lld (%s) queued again (was %s%s%s); %u package(s) pending "
		 "again (%u of them approved until now)", (long long)id, j.sha256, fw_job_state_name(j.state),
		 j.verdict[0] ? ", " : "", j.verdict, *reopened, approved);
	if (store_audit_append_tx(st, "sandbox-retry", who, 0, detail, err) != 0 || store_tx_commit(st, err) != 0)
		goto fail;
	rc = 0;
	goto out;
fail:
	store_tx_rollback(st);
	blobs_move_back(st, moved);
	*reopened = 0;
out:
	store_unlock(st);
	json_decref(moved);
	return rc;
}

/* ------------------------------------------------------------ settling */

static int object_state_locked(struct fw_store *st, int64_t id, enum fw_object_state *state, char *sha,
			       struct fw_err *err)
{
	static const char sql[] = "SELECT state, sha256 FROM objects WHERE id = ?1";
	sqlite3_stmt *s = store_stmt(st, sql, err);
	int r;

	if (s == NULL)
		return -1;
	if (sqlite3_bind_int64(s, 1, id) != SQLITE_OK)
		return store_db_err(st, err, "cannot read an object");
	r = sqlite3_step(s);
	if (r == SQLITE_DONE)
		return 0;
	if (r != SQLITE_ROW)
		return store_db_err(st, err, "cannot read an object");
	if (store_state_parse(store_col_text(s, 0), state) != 0 ||
	    (sha != NULL && store_col_copy(s, 1, sha, FW_SHA256_HEX_LEN + 1) != 0))
		return fw_err_set(err, "the store's record of object %lld is malformed", (long long)id);
	return 1;
}

int fw_store_pending_docs(struct fw_store *st, json_t **out, struct fw_err *err)
{
	static const char sql[] = "SELECT o.id, o.sha256, s.doc FROM objects o JOIN scans s"
				  " ON s.id = (SELECT max(id) FROM scans WHERE object_id = o.id)"
				  " WHERE o.state = 'pending' ORDER BY o.id";
	json_t *arr = json_array();
	sqlite3_stmt *s;
	int r, rc = -1;

	*out = NULL;
	if (arr == NULL)
		return fw_err_set(err, "out of memory");
	store_lock(st);
	s = store_stmt(st, sql, err);
	if (s == NULL)
		goto out;
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		json_t *doc = sqlite3_column_type(s, 2) == SQLITE_NULL ? NULL
			      : json_loads(store_col_text(s, 2), 0, NULL);

		/* A pending object without a readable document: linked to no
		 * job, so the queue settles it unscannable. */
		if (json_array_append_new(arr, json_pack("{s:I, s:s, s:o}", "id", (json_int_t)sqlite3_column_int64(s, 0),
							 "sha256", store_col_text(s, 1),
							 "doc", doc != NULL ? doc : json_object())) != 0) {
			fw_err_set(err, "out of memory");
			goto out;
		}
	}
	if (r != SQLITE_DONE) {
		store_db_err(st, err, "cannot list the pending objects");
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

int fw_store_latest_doc(struct fw_store *st, int64_t object_id, json_t **doc, struct fw_err *err)
{
	static const char sql[] = "SELECT doc FROM scans WHERE object_id = ?1 ORDER BY id DESC LIMIT 1";
	sqlite3_stmt *s;
	int r, rc = -1;

	*doc = NULL;
	store_lock(st);
	s = store_stmt(st, sql, err);
	if (s == NULL)
		goto out;
	if (sqlite3_bind_int64(s, 1, object_id) != SQLITE_OK) {
		store_db_err(st, err, "cannot read an object's scan");
		goto out;
	}
	r = sqlite3_step(s);
	if (r != SQLITE_ROW && r != SQLITE_DONE) {
		store_db_err(st, err, "cannot read an object's scan");
		goto out;
	}
	if (r == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL)
		*doc = json_loads(store_col_text(s, 0), 0, NULL);
	if (*doc == NULL)
		*doc = json_object();
	rc = *doc != NULL ? 0 : fw_err_set(err, "out of memory");
out:
	store_unlock(st);
	return rc;
}

int fw_store_object_state(struct fw_store *st, int64_t id, enum fw_object_state *state, struct fw_err *err)
{
	int rc;

	store_lock(st);
	rc = object_state_locked(st, id, state, NULL, err);
	store_unlock(st);
	return rc;
}

static int settle_records(struct fw_store *st, int64_t id, enum fw_object_state to, enum fw_verdict verdict,
			  const char *reason, struct fw_err *err)
{
	static const char obj[] = "UPDATE objects SET state = ?2, held_verdict = ?3, held_reason = ?4,"
				  " held_by = CASE WHEN ?2 = 'quarantined' THEN 'sandbox' ELSE '' END"
				  " WHERE id = ?1 AND state = 'pending'";
	char detail[FW_ERR_MSG_MAX + 64];
	sqlite3_stmt *s = store_stmt(st, obj, err);

	if (s == NULL || sqlite3_bind_int64(s, 1, id) != SQLITE_OK ||
	    store_bind_text(s, 2, fw_object_state_name(to)) != 0 ||
	    store_bind_text(s, 3, fw_verdict_name(verdict)) != 0 || store_bind_text(s, 4, reason) != 0 ||
	    sqlite3_step(s) != SQLITE_DONE)
		return s == NULL ? -1 : store_db_err(st, err, "cannot settle the object");
	snprintf(detail, sizeof(detail), "the sandbox found it %s%s%s", fw_verdict_name(verdict),
		 reason[0] ? ": " : "", reason);
	return store_audit_append_tx(st, to == FW_OBJ_APPROVED ? "sandbox-approve" : "sandbox-quarantine",
				     STORE_WHO_SELF, id, detail, err);
}

/* 1 when a job the object waits on is queued or running (staff retried
 * it after the caller looked): the object is not to be settled now. */
static int settle_unfinished(struct fw_store *st, int64_t id, struct fw_err *err)
{
	static const char sql[] = "SELECT 1 FROM sandbox_links l JOIN sandbox_jobs j ON j.id = l.job_id"
				  " WHERE l.object_id = ?1 AND j.state IN ('queued', 'running') LIMIT 1";
	sqlite3_stmt *s = store_stmt(st, sql, err);
	int r;

	if (s == NULL)
		return -1;
	if (sqlite3_bind_int64(s, 1, id) != SQLITE_OK)
		return store_db_err(st, err, "cannot read an object's sandbox jobs");
	r = sqlite3_step(s);
	if (r != SQLITE_ROW && r != SQLITE_DONE)
		return store_db_err(st, err, "cannot read an object's sandbox jobs");
	return r == SQLITE_ROW;
}

/* 1 when the latest scan is the scanner's clean-but-pending one. */
static int settle_scan_pending(struct fw_store *st, int64_t id, struct fw_err *err)
{
	static const char sql[] = "SELECT verdict FROM scans WHERE object_id = ?1 ORDER BY id DESC LIMIT 1";
	sqlite3_stmt *s = store_stmt(st, sql, err);
	int r;

	if (s == NULL)
		return -1;
	if (sqlite3_bind_int64(s, 1, id) != SQLITE_OK)
		return store_db_err(st, err, "cannot read an object's scan");
	r = sqlite3_step(s);
	if (r != SQLITE_ROW && r != SQLITE_DONE)
		return store_db_err(st, err, "cannot read an object's scan");
	return r == SQLITE_ROW && strcmp(store_col_text(s, 0), "pending") == 0;
}

/* 1 when the object has jobs linked and every one is done and benign:
 * the only state a clean settle may be taken in. */
static int settle_all_benign(struct fw_store *st, int64_t id, struct fw_err *err)
{
	static const char sql[] = "SELECT count(*), coalesce(sum(j.state = 'done' AND j.verdict = 'benign'), 0)"
				  " FROM sandbox_links l JOIN sandbox_jobs j ON j.id = l.job_id WHERE l.object_id = ?1";
	sqlite3_stmt *s = store_stmt(st, sql, err);

	if (s == NULL)
		return -1;
	if (sqlite3_bind_int64(s, 1, id) != SQLITE_OK || sqlite3_step(s) != SQLITE_ROW)
		return store_db_err(st, err, "cannot read an object's sandbox jobs");
	return sqlite3_column_int64(s, 0) > 0 && sqlite3_column_int64(s, 0) == sqlite3_column_int64(s, 1);
}

int fw_store_settle(struct fw_store *st, int64_t object_id, enum fw_verdict verdict, const char *reason,
		    enum fw_object_state *state, bool *changed, struct fw_err *err)
{
	char sha[FW_SHA256_HEX_LEN + 1], why[FW_ERR_MSG_MAX];
	enum fw_object_state to = verdict == FW_VERDICT_CLEAN ? FW_OBJ_APPROVED : FW_OBJ_QUARANTINED;
	int r, rc = -1;
	bool moved = false;

	*changed = false;
	if (verdict == FW_VERDICT_PENDING)
		return fw_err_set(err, "an object cannot be settled as pending");
	store_lock(st);
	if (store_tx_begin(st, err) != 0)
		goto out;
	r = object_state_locked(st, object_id, state, sha, err);
	if (r == 0)
		fw_err_set(err, "the store has no object %lld", (long long)object_id);
	if (r <= 0)
		goto fail;
	if (*state != FW_OBJ_PENDING) {
		rc = 0; /* decided meanwhile (staff rejected it): that stands */
		goto fail;
	}
	r = settle_unfinished(st, object_id, err);
	if (r != 0) {
		rc = r > 0 ? 0 : -1; /* a job runs again: it settles the object when done */
		goto fail;
	}
	if (to == FW_OBJ_APPROVED) {
		/* Never approve past the scanner, nor past a job: both checked
		 * here, on what the store holds now. */
		r = settle_scan_pending(st, object_id, err);
		if (r > 0)
			r = settle_all_benign(st, object_id, err) > 0 ? 1 : -2;
		if (r == -1)
			goto fail;
		if (r != 1) {
			to = FW_OBJ_QUARANTINED;
			verdict = FW_VERDICT_UNSCANNABLE;
			snprintf(why, sizeof(why), "%s", r == 0
				 ? "a clean verdict was given for a scan that is not the scanner's clean one"
				 : "a clean verdict was given, but not every sandbox job of it is done and benign");
			reason = why;
		}
	}
	/* Into objects/ before the record says approved: a crash between
	 * leaves an unserved blob in objects/, which reconcile reports. */
	if (to == FW_OBJ_APPROVED) {
		r = store_blob_move(st, sha, STORE_AREA_QUARANTINE, STORE_AREA_OBJECTS, err);
		if (r < 0)
			goto fail;
		moved = r == 0;
	}
	if (settle_records(st, object_id, to, verdict, reason, err) != 0 || store_tx_commit(st, err) != 0)
		goto fail;
	*state = to;
	*changed = true;
	rc = 0;
	goto out;
fail:
	store_tx_rollback(st);
	if (moved) {
		struct fw_err e2;

		fw_err_clear(&e2);
		if (store_blob_move(st, sha, STORE_AREA_OBJECTS, STORE_AREA_QUARANTINE, &e2) < 0)
			fprintf(stderr, "fwgate: store: object %lld: %s\n", (long long)object_id, fw_err_msg(&e2));
	}
out:
	store_unlock(st);
	return rc;
}

int fw_store_sandbox_abandon(struct fw_store *st, const char *why, unsigned *n, struct fw_err *err)
{
	static const char sql[] = "UPDATE sandbox_jobs SET state = 'failed', error = ?1, finished_at = ?2"
				  " WHERE state IN ('queued', 'running')";
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
			*n = (unsigned)sqlite3_changes(st->db);
			rc = 0;
		}
	}
	store_unlock(st);
	return rc;
}

/* ------------------------------------------------------------ samples */

#define SAMPLE_GRACE_S 3600

static int sample_needed(struct fw_store *st, const char *sha, bool *needed, struct fw_err *err)
{
	static const char sql[] = "SELECT 1 FROM sandbox_jobs WHERE sha256 = ?1"
				  " AND state IN ('queued', 'running', 'failed') LIMIT 1";
	sqlite3_stmt *s = store_stmt(st, sql, err);
	int r;

	if (s == NULL)
		return -1;
	if (store_bind_text(s, 1, sha) != 0)
		return store_db_err(st, err, "cannot look up a sample's jobs");
	r = sqlite3_step(s);
	if (r != SQLITE_ROW && r != SQLITE_DONE)
		return store_db_err(st, err, "cannot look up a sample's jobs");
	*needed = r == SQLITE_ROW;
	return 0;
}

int store_sandbox_gc_samples_locked(struct fw_store *st, unsigned *removed, struct fw_err *err)
{
	char dir[STORE_PATH_MAX];
	time_t old = time(NULL) - SAMPLE_GRACE_S;
	struct dirent *de;
	int dfd, rc = 0;
	DIR *d;

	if (fw_path_join(dir, sizeof(dir), st->dir, "samples", err) != 0)
		return -1;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (dfd < 0)
		return errno == ENOENT ? 0 : fw_err_sys(err, errno, "cannot open \"%s\"", dir);
	d = fdopendir(dfd);
	if (d == NULL) {
		close(dfd);
		return fw_err_sys(err, errno, "cannot read \"%s\"", dir);
	}
	while ((de = readdir(d)) != NULL) {
		struct stat sb;
		bool needed = false, temp = strncmp(de->d_name, ".in-", 4) == 0;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(dfd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(sb.st_mode) ||
		    sb.st_mtime > old)
			continue;
		if (!temp && !store_sha256_valid(de->d_name))
			continue; /* not ours: left alone */
		if (!temp && sample_needed(st, de->d_name, &needed, err) != 0) {
			rc = -1;
			break;
		}
		if (!needed && unlinkat(dfd, de->d_name, 0) == 0)
			(*removed)++;
	}
	closedir(d);
	return rc;
}
