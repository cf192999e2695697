/* Which objects wait on which jobs (table sandbox_links), read as typed
 * records, and the two ways a job's end reaches its packages: the settle
 * of a pending object (fw_sandbox_verdict over the records read in the
 * transaction, applied through the life-cycle table) and an event applied
 * to every object linked to a job. Must not judge: the verdict is the
 * sandbox's function, the transition the table's. */
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fwgate/sandbox_verdict.h"
#include "store/store_int.h"

/* The first column of every row of s, at most max of them, into ids. */
static int ids_step(struct fw_store *st, sqlite3_stmt *s, int64_t *ids, size_t max, size_t *n, const char *what,
		    struct fw_err *err)
{
	int r;

	while ((r = sqlite3_step(s)) == SQLITE_ROW && *n < max)
		ids[(*n)++] = sqlite3_column_int64(s, 0);
	if (r != SQLITE_ROW && r != SQLITE_DONE)
		return store_db_err(st, err, what);
	return 0;
}

int fw_store_sandbox_unsettled(struct fw_store *st, int64_t linkless_before, int64_t *ids, size_t max, size_t *n,
			       struct fw_err *err)
{
	STORE_SQL(sql, "SELECT o.id FROM objects o WHERE o.state = 'pending' AND ("
		" (EXISTS (SELECT 1 FROM sandbox_links l WHERE l.object_id = o.id) AND NOT EXISTS"
		"  (SELECT 1 FROM sandbox_links l JOIN sandbox_jobs j ON j.id = l.job_id"
		"   WHERE l.object_id = o.id AND j.state IN ('queued', 'running')))"
		" OR (NOT EXISTS (SELECT 1 FROM sandbox_links l WHERE l.object_id = o.id) AND"
		"  coalesce((SELECT max(time) FROM scans WHERE object_id = o.id), 0) < ?1))"
		" ORDER BY o.id LIMIT ?2");
	sqlite3_stmt *s;
	int rc = -1;

	*n = 0;
	store_rlock(st);
	s = store_stmt(st, sql, err);
	if (s == NULL)
		goto out;
	if (sqlite3_bind_int64(s, 1, linkless_before) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 2, (int64_t)max) != SQLITE_OK) {
		store_db_err(st, err, "cannot list the unsettled objects");
		goto out;
	}
	rc = ids_step(st, s, ids, max, n, "cannot list the unsettled objects", err);
out:
	store_unlock(st);
	return rc;
}

int fw_store_sandbox_waiting(struct fw_store *st, int64_t job_id, int64_t *ids, size_t max, size_t *n,
			     struct fw_err *err)
{
	STORE_SQL(sql, "SELECT DISTINCT l.object_id FROM sandbox_links l JOIN objects o ON o.id = l.object_id"
				  " WHERE l.job_id = ?1 AND o.state = 'pending' ORDER BY l.object_id");
	sqlite3_stmt *s;
	int rc = -1;

	*n = 0;
	store_rlock(st);
	s = store_stmt(st, sql, err);
	if (s == NULL)
		goto out;
	if (sqlite3_bind_int64(s, 1, job_id) != SQLITE_OK) {
		store_db_err(st, err, "cannot list the objects waiting on a job");
		goto out;
	}
	rc = ids_step(st, s, ids, max, n, "cannot list the objects waiting on a job", err);
out:
	store_unlock(st);
	return rc;
}

/* ------------------------------------------------------------ typed links */

static int links_read_locked(struct fw_store *st, int64_t object_id, struct fw_sandbox_link **out, size_t *n,
			     struct fw_err *err)
{
	STORE_SQL(sql, "SELECT " STORE_JOB_COLUMNS_J ", l.member, j.findings FROM sandbox_links l"
				  " JOIN sandbox_jobs j ON j.id = l.job_id WHERE l.object_id = ?1 ORDER BY j.id, l.member");
	sqlite3_stmt *s = store_stmt(st, sql, err);
	struct fw_sandbox_link *v = NULL, *nv;
	size_t cap = 0;
	int r;

	*out = NULL;
	*n = 0;
	if (s == NULL)
		return -1;
	if (sqlite3_bind_int64(s, 1, object_id) != SQLITE_OK)
		return store_db_err(st, err, "cannot read an object's sandbox jobs");
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		json_t *findings;

		if (*n == cap) {
			cap = cap ? 2 * cap : 4;
			nv = cap <= SIZE_MAX / sizeof(*v) ? realloc(v, cap * sizeof(*v)) : NULL;
			if (nv == NULL) {
				free(v);
				*n = 0;
				return fw_err_set(err, "out of memory");
			}
			v = nv;
		}
		memset(&v[*n], 0, sizeof(v[*n]));
		if (store_job_read(s, &v[*n].job, err) != 0) {
			free(v);
			*n = 0;
			return -1;
		}
		/* The chain is a label: kept cut at attach, so it fits. */
		snprintf(v[*n].member, sizeof(v[*n].member), "%s", store_col_text(s, STORE_JOB_NCOLUMNS));
		findings = store_findings_json(s, STORE_JOB_NCOLUMNS + 1);
		fw_sandbox_findings_brief(findings, v[*n].brief, sizeof(v[*n].brief));
		json_decref(findings);
		(*n)++;
	}
	if (r != SQLITE_DONE) {
		free(v);
		*n = 0;
		return store_db_err(st, err, "cannot read an object's sandbox jobs");
	}
	*out = v;
	return 0;
}

int fw_store_sandbox_links(struct fw_store *st, int64_t object_id, struct fw_sandbox_link **out, size_t *n,
			   struct fw_err *err)
{
	int rc;

	store_rlock(st);
	rc = links_read_locked(st, object_id, out, n, err);
	store_unlock(st);
	return rc;
}

/* The objects linked to a job, each id once. */
static int linked_objects(struct fw_store *st, int64_t job_id, int64_t **ids, size_t *n, struct fw_err *err)
{
	STORE_SQL(sql, "SELECT DISTINCT object_id FROM sandbox_links WHERE job_id = ?1 ORDER BY object_id");
	sqlite3_stmt *s = store_stmt(st, sql, err);
	int64_t *v = NULL, *nv;
	size_t cap = 0;
	int r;

	*ids = NULL;
	*n = 0;
	if (s == NULL)
		return -1;
	if (sqlite3_bind_int64(s, 1, job_id) != SQLITE_OK)
		return store_db_err(st, err, "cannot list the packages of a job");
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? 2 * cap : 16;
			nv = cap <= SIZE_MAX / sizeof(*v) ? realloc(v, cap * sizeof(*v)) : NULL;
			if (nv == NULL) {
				free(v);
				*n = 0;
				return fw_err_set(err, "out of memory");
			}
			v = nv;
		}
		v[(*n)++] = sqlite3_column_int64(s, 0);
	}
	if (r != SQLITE_DONE) {
		free(v);
		*n = 0;
		return store_db_err(st, err, "cannot list the packages of a job");
	}
	*ids = v;
	return 0;
}

int store_links_apply(struct fw_store *st, int64_t job_id, enum store_event ev, enum fw_verdict verdict,
		      const char *reason, const char *who, const char *detail, struct store_lc_undo *undo,
		      unsigned *changed, unsigned *from_approved, struct fw_err *err)
{
	int64_t *ids = NULL;
	size_t n = 0;
	int rc = -1;

	*changed = 0;
	if (from_approved != NULL)
		*from_approved = 0;
	/* Listed first: the statement is reset by the reads that follow. */
	if (linked_objects(st, job_id, &ids, &n, err) != 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct store_lc_obj o;
		bool ch = false;
		int r = store_lc_read(st, ids[i], &o, NULL, NULL, 0, err);

		if (r < 0)
			goto out;
		if (r == 0)
			continue;
		enum fw_object_state was = o.state;

		if (store_lc_apply(st, &o, ev, verdict, reason, who, detail, undo, &ch, err) != 0)
			goto out;
		*changed += ch;
		if (from_approved != NULL && ch && was == FW_OBJ_APPROVED)
			(*from_approved)++;
	}
	rc = 0;
out:
	free(ids);
	return rc;
}

static int object_state_locked(struct fw_store *st, int64_t id, enum fw_object_state *state, struct fw_err *err)
{
	STORE_SQL(sql, "SELECT state FROM objects WHERE id = ?1");
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
	if (store_state_parse(store_col_text(s, 0), state) != 0)
		return fw_err_set(err, "the store's record of object %lld is malformed", (long long)id);
	return 1;
}

int fw_store_pending_docs(struct fw_store *st, json_t **out, struct fw_err *err)
{
	STORE_SQL(sql, "SELECT o.id, o.sha256, s.doc FROM objects o JOIN scans s"
				  " ON s.id = (SELECT max(id) FROM scans WHERE object_id = o.id)"
				  " WHERE o.state = 'pending' ORDER BY o.id");
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
	STORE_SQL(sql, "SELECT doc FROM scans WHERE object_id = ?1 ORDER BY id DESC LIMIT 1");
	sqlite3_stmt *s;
	int r, rc = -1;

	*doc = NULL;
	store_rlock(st);
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

	store_rlock(st);
	rc = object_state_locked(st, id, state, err);
	store_unlock(st);
	return rc;
}

/* ------------------------------------------------------------ settling */

int fw_store_settle(struct fw_store *st, int64_t object_id, const char *unjudgeable, struct fw_sandbox_decision *d,
		    enum fw_object_state *state, bool *changed, struct fw_err *err)
{
	struct fw_sandbox_decision local;
	struct store_lc_undo undo = { .n = 0 };
	struct fw_sandbox_verdict_in in = { .unjudgeable = unjudgeable, .scan = FW_VERDICT_UNSCANNABLE };
	struct fw_sandbox_link *links = NULL;
	struct store_lc_obj o;
	int r, rc = -1;

	*changed = false;
	if (d == NULL)
		d = &local;
	memset(d, 0, sizeof(*d));
	store_lock(st);
	if (store_tx_begin(st, err) != 0)
		goto out;
	r = store_lc_read(st, object_id, &o, NULL, NULL, 0, err);
	if (r == 0)
		fw_err_set(err, "the store has no object %lld", (long long)object_id);
	if (r <= 0)
		goto fail;
	*state = o.state;
	/* The facts as this transaction holds them: nothing decided on what a
	 * caller saw earlier (a staff retry, a reject meanwhile). */
	if (links_read_locked(st, object_id, &links, &in.n, err) != 0)
		goto fail;
	in.links = links;
	if (o.facts & STORE_F_SCAN_PENDING)
		in.scan = FW_VERDICT_PENDING;
	fw_sandbox_verdict(&in, d);
	if (d->kind != FW_SETTLE_APPROVE && d->kind != FW_SETTLE_QUARANTINE) {
		rc = 0; /* a job runs (again), or nothing is linked: not now */
		goto fail;
	}
	{
		char detail[FW_ERR_MSG_MAX + 64];

		snprintf(detail, sizeof(detail), "the sandbox found it %s%s%s", fw_verdict_name(d->verdict),
			 d->reason[0] ? ": " : "", d->reason);
		if (store_lc_apply(st, &o, d->kind == FW_SETTLE_APPROVE ? STORE_EV_SANDBOX_APPROVE
				   : STORE_EV_SANDBOX_QUARANTINE, d->verdict, d->reason, STORE_WHO_SELF, detail, &undo,
				   changed, err) != 0 || store_tx_commit(st, err) != 0)
			goto fail;
	}
	*state = o.state;
	rc = 0;
	goto out;
fail:
	store_tx_rollback(st);
	store_lc_undo(st, &undo);
	*changed = false;
out:
	store_unlock(st);
	free(links);
	return rc;
}
