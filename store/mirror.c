/* Offline bundles in the store: the listing of servable objects with
 * their provenance for an export, the export sequence, and the import of a
 * verified, rescanned bundle in one transaction with its replay check and
 * audit rows. Must not judge a bundle's trust (bundle/ verifies it) nor an
 * object's verdict: each object's local scan is committed as a download's,
 * through the life-cycle table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "store/store_int.h"

#define MIRROR_DETAIL_MAX 1024

/* ------------------------------------------------------------ export */

/* Columns: 0 id, 1 sha256, 2 size, 3 state, 4 verdict, 5 reason, 6 mime,
 * 7 file_type, 8 engine, 9 scanned_at, 10 reviewed_by, 11 reviewed_at,
 * 12 review_reason, 13 blob. */
#define MIRROR_COLUMNS \
	"SELECT o.id, o.sha256, o.size, o.state, " STORE_EFFECTIVE_VERDICT ", " STORE_EFFECTIVE_REASON "," \
	" o.mime, o.file_type, coalesce(s.engine, ''), coalesce(s.time, 0), o.reviewed_by," \
	" coalesce(o.reviewed_at, 0), coalesce(o.review_reason, ''), o.blob" \
	" FROM objects o LEFT JOIN scans s ON s.id = (SELECT max(id) FROM scans WHERE object_id = o.id) "

static int mirror_urls(struct fw_store *st, json_t *obj, int64_t id, struct fw_err *err)
{
	STORE_SQL(sql, "SELECT url FROM urls WHERE object_id = ?1 ORDER BY url LIMIT 64");
	sqlite3_stmt *s = store_stmt(st, sql, err);
	json_t *arr = json_array();
	int r;

	_Static_assert(FW_EXPORT_URLS_MAX == 64, "the LIMIT above");
	if (s == NULL || arr == NULL || json_object_set_new(obj, "urls", arr) != 0)
		return fw_err_isset(err) ? -1 : fw_err_setc(err, FW_E_NOMEM, "out of memory");
	if (sqlite3_bind_int64(s, 1, id) != SQLITE_OK)
		return store_db_err(st, err, "cannot read an object's URLs");
	while ((r = sqlite3_step(s)) == SQLITE_ROW)
		if (json_array_append_new(arr, json_string(store_col_text(s, 0))) != 0)
			return fw_err_setc(err, FW_E_NOMEM, "out of memory");
	return r == SQLITE_DONE ? 0 : store_db_err(st, err, "cannot read an object's URLs");
}

static int mirror_sandbox(struct fw_store *st, json_t *obj, int64_t id, struct fw_err *err)
{
	STORE_SQL(sql, "SELECT l.member, j.sha256, j.file_type, j.backend, j.verdict, coalesce(j.score, 0)"
		       " FROM sandbox_links l JOIN sandbox_jobs j ON j.id = l.job_id WHERE l.object_id = ?1"
		       " ORDER BY j.id, l.member LIMIT 256");
	sqlite3_stmt *s = store_stmt(st, sql, err);
	json_t *arr = json_array();
	int r;

	_Static_assert(FW_EXPORT_SANDBOX_MAX == 256, "the LIMIT above");
	if (s == NULL || arr == NULL || json_object_set_new(obj, "sandbox", arr) != 0)
		return fw_err_isset(err) ? -1 : fw_err_setc(err, FW_E_NOMEM, "out of memory");
	if (sqlite3_bind_int64(s, 1, id) != SQLITE_OK)
		return store_db_err(st, err, "cannot read an object's sandbox jobs");
	while ((r = sqlite3_step(s)) == SQLITE_ROW)
		if (json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "member",
							 store_col_text(s, 0), "sha256", store_col_text(s, 1),
							 "file_type", store_col_text(s, 2), "backend",
							 store_col_text(s, 3), "verdict", store_col_text(s, 4), "score",
							 (json_int_t)sqlite3_column_int64(s, 5))) != 0)
			return fw_err_setc(err, FW_E_NOMEM, "out of memory");
	return r == SQLITE_DONE ? 0 : store_db_err(st, err, "cannot read an object's sandbox jobs");
}

/* Who approved it and when: staff's release; else the last import or
 * sandbox approval in the audit chain; else the gateway's scan. */
static int mirror_approval(struct fw_store *st, sqlite3_stmt *o, json_t *obj, struct fw_err *err)
{
	STORE_SQL(sql, "SELECT action, who, time FROM audit WHERE object_id = ?1"
		       " AND action IN ('sandbox-approve', 'mirror-import') ORDER BY id DESC LIMIT 1");
	const char *by = STORE_WHO_SELF, *how = "scan";
	int64_t at = sqlite3_column_int64(o, 9);
	sqlite3_stmt *s;
	int r;

	if (strcmp(store_col_text(o, 3), "released") == 0) {
		by = store_col_text(o, 10);
		at = sqlite3_column_int64(o, 11);
		how = "release";
		return json_object_set_new(obj, "approved_by", json_string(by)) != 0 ||
		       json_object_set_new(obj, "approved_at", json_integer((json_int_t)at)) != 0 ||
		       json_object_set_new(obj, "approved_how", json_string(how)) != 0
		       ? fw_err_setc(err, FW_E_NOMEM, "out of memory") : 0;
	}
	s = store_stmt(st, sql, err);
	if (s == NULL)
		return -1;
	if (sqlite3_bind_int64(s, 1, sqlite3_column_int64(o, 0)) != SQLITE_OK)
		return store_db_err(st, err, "cannot read the audit log");
	r = sqlite3_step(s);
	if (r == SQLITE_ROW) {
		how = strcmp(store_col_text(s, 0), "mirror-import") == 0 ? "import" : "sandbox";
		by = store_col_text(s, 1);
		at = sqlite3_column_int64(s, 2);
	} else if (r != SQLITE_DONE) {
		return store_db_err(st, err, "cannot read the audit log");
	}
	if (json_object_set_new(obj, "approved_by", json_string(by)) != 0 ||
	    json_object_set_new(obj, "approved_at", json_integer((json_int_t)at)) != 0 ||
	    json_object_set_new(obj, "approved_how", json_string(how)) != 0)
		return fw_err_setc(err, FW_E_NOMEM, "out of memory");
	return 0;
}

static int mirror_row(struct fw_store *st, sqlite3_stmt *s, json_t *arr, struct fw_err *err)
{
	int64_t id = sqlite3_column_int64(s, 0);
	json_t *obj = json_pack("{s:I, s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:s}", "id", (json_int_t)id,
				"sha256", store_col_text(s, 1), "size", (json_int_t)sqlite3_column_int64(s, 2),
				"state", store_col_text(s, 3), "verdict", store_col_text(s, 4), "reason",
				store_col_text(s, 5), "mime", store_col_text(s, 6), "file_type",
				store_col_text(s, 7), "engine", store_col_text(s, 8), "scanned_at",
				(json_int_t)sqlite3_column_int64(s, 9), "review_reason", store_col_text(s, 12));

	if (obj == NULL || json_array_append_new(arr, obj) != 0)
		return fw_err_setc(err, FW_E_NOMEM, "out of memory");
	if (mirror_approval(st, s, obj, err) != 0 || mirror_urls(st, obj, id, err) != 0 ||
	    mirror_sandbox(st, obj, id, err) != 0)
		return -1;
	return 0;
}

/* One object named by the operator: refused by id unless servable. */
static int mirror_one(struct fw_store *st, int64_t id, json_t *arr, struct fw_err *err)
{
	STORE_SQL(sql, MIRROR_COLUMNS "WHERE o.id = ?1");
	sqlite3_stmt *s = store_stmt(st, sql, err);
	enum fw_object_state state;
	int r;

	if (s == NULL)
		return -1;
	if (sqlite3_bind_int64(s, 1, id) != SQLITE_OK)
		return store_db_err(st, err, "cannot read an object");
	r = sqlite3_step(s);
	if (r == SQLITE_DONE)
		return fw_err_setc(err, FW_E_NOTFOUND, "object %lld is not in the store", (long long)id);
	if (r != SQLITE_ROW)
		return store_db_err(st, err, "cannot read an object");
	if (store_state_parse(store_col_text(s, 3), &state) != 0)
		return fw_err_set(err, "object %lld has an unknown state in the store", (long long)id);
	if (!fw_object_state_servable(state))
		return fw_err_setc(err, FW_E_DENIED, "object %lld is %s: only approved or released objects are "
				   "exported", (long long)id, fw_object_state_name(state));
	if (strcmp(store_col_text(s, 13), "present") != 0)
		return fw_err_setc(err, FW_E_DENIED, "object %lld has no blob in the store (%s): it is not exported",
				   (long long)id, store_col_text(s, 13));
	return mirror_row(st, s, arr, err);
}

int fw_store_export_list(struct fw_store *st, int64_t since, const int64_t *ids, size_t n_ids, json_t **out,
			 struct fw_err *err)
{
	STORE_SQL(sql, MIRROR_COLUMNS "WHERE o.state IN ('approved', 'released') AND o.blob = 'present'"
		       " AND (o.first_seen >= ?1 OR coalesce(o.reviewed_at, 0) >= ?1) ORDER BY o.id");
	json_t *arr = json_array();
	sqlite3_stmt *s;
	int rc = -1, r;

	*out = NULL;
	if (arr == NULL)
		return fw_err_setc(err, FW_E_NOMEM, "out of memory");
	store_rlock(st);
	if (n_ids > 0) {
		for (size_t i = 0; i < n_ids; i++)
			if (mirror_one(st, ids[i], arr, err) != 0)
				goto out;
		rc = 0;
		goto out;
	}
	s = store_stmt(st, sql, err);
	if (s == NULL)
		goto out;
	if (sqlite3_bind_int64(s, 1, since) != SQLITE_OK) {
		store_db_err(st, err, "cannot list the objects to export");
		goto out;
	}
	while ((r = sqlite3_step(s)) == SQLITE_ROW)
		if (mirror_row(st, s, arr, err) != 0)
			goto out;
	if (r != SQLITE_DONE) {
		store_db_err(st, err, "cannot list the objects to export");
		goto out;
	}
	rc = 0;
out:
	store_unlock(st);
	if (rc == 0)
		*out = arr;
	else
		json_decref(arr);
	return rc;
}

int fw_store_export_begin(struct fw_store *st, int64_t *sequence, struct fw_err *err)
{
	STORE_SQL(sql, "INSERT INTO mirror_exports (sequence, started_at)"
		       " SELECT max(coalesce(max(sequence), 0) + 1, ?1), ?2 FROM mirror_exports");
	struct timeval tv;
	sqlite3_stmt *s;
	int rc = -1;

	*sequence = 0;
	if (gettimeofday(&tv, NULL) != 0)
		return fw_err_set(err, "cannot read the clock");
	store_lock(st);
	s = store_stmt(st, sql, err);
	if (s == NULL)
		goto out;
	if (sqlite3_bind_int64(s, 1, (int64_t)tv.tv_sec * 1000000 + tv.tv_usec) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 2, (int64_t)tv.tv_sec) != SQLITE_OK || sqlite3_step(s) != SQLITE_DONE) {
		store_db_err(st, err, "cannot reserve an export's sequence");
		goto out;
	}
	*sequence = sqlite3_last_insert_rowid(st->w.db);
	rc = 0;
out:
	store_unlock(st);
	return rc;
}

int fw_store_export_done(struct fw_store *st, int64_t sequence, size_t n, const char *who, const char *detail,
			 struct fw_err *err)
{
	STORE_SQL(sql, "UPDATE mirror_exports SET objects = ?2, finished_at = ?3 WHERE sequence = ?1"
		       " AND finished_at IS NULL");
	sqlite3_stmt *s;
	int rc = -1;

	store_lock(st);
	if (store_tx_begin(st, err) != 0)
		goto out;
	s = store_stmt(st, sql, err);
	if (s == NULL)
		goto out;
	if (sqlite3_bind_int64(s, 1, sequence) != SQLITE_OK || sqlite3_bind_int64(s, 2, (int64_t)n) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 3, (int64_t)time(NULL)) != SQLITE_OK || sqlite3_step(s) != SQLITE_DONE) {
		store_db_err(st, err, "cannot record the export");
		goto out;
	}
	if (sqlite3_changes(st->w.db) != 1) {
		fw_err_set(err, "export %lld was not reserved, or is recorded already", (long long)sequence);
		goto out;
	}
	if (store_audit_append_tx(st, "mirror-export", who, 0, detail, err) != 0 || store_tx_commit(st, err) != 0)
		goto out;
	rc = 0;
out:
	if (rc != 0)
		store_tx_rollback(st);
	store_unlock(st);
	return rc;
}

/* ------------------------------------------------------------ import */

static int import_last_locked(struct fw_store *st, const char *site_id, int64_t *sequence, struct fw_err *err)
{
	STORE_SQL(sql, "SELECT coalesce(max(sequence), 0) FROM mirror_imports WHERE site_id = ?1");
	sqlite3_stmt *s = store_stmt(st, sql, err);

	if (s == NULL)
		return -1;
	if (store_bind_text(s, 1, site_id) != 0 || sqlite3_step(s) != SQLITE_ROW)
		return store_db_err(st, err, "cannot read the bundles imported");
	*sequence = sqlite3_column_int64(s, 0);
	return 0;
}

int fw_store_import_last(struct fw_store *st, const char *site_id, int64_t *sequence, struct fw_err *err)
{
	int rc;

	*sequence = 0;
	store_rlock(st);
	rc = import_last_locked(st, site_id, sequence, err);
	store_unlock(st);
	return rc;
}

static int import_check(const struct fw_store_import *imp, struct fw_err *err)
{
	if (imp->site_id == NULL || imp->site_id[0] == '\0' || strlen(imp->site_id) > 128)
		return fw_err_setc(err, FW_E_INVALID, "an import names its site (1 to 128 characters)");
	if (imp->key_fingerprint == NULL || !store_sha256_valid(imp->key_fingerprint))
		return fw_err_setc(err, FW_E_INVALID, "an import names its key's SHA-256 fingerprint");
	if (imp->sequence <= 0 || imp->who == NULL || imp->who[0] == '\0')
		return fw_err_setc(err, FW_E_INVALID, "an import needs a positive sequence and who imports it");
	for (size_t i = 0; i < imp->n; i++) {
		const struct fw_store_import_item *it = &imp->items[i];

		if (it->n_urls == 0 || it->urls == NULL || it->provenance == NULL ||
		    it->commit.url != it->urls[0])
			return fw_err_setc(err, FW_E_INVALID, "import item %zu: its URLs and provenance are needed", i);
		if (it->commit.verdict == FW_VERDICT_PENDING)
			return fw_err_setc(err, FW_E_INVALID, "import item %zu: a pending verdict is not imported "
					   "(the sandbox judges before the import)", i);
	}
	return 0;
}

/* One item inside the transaction: the commit, its other URLs, its row. */
static int import_item(struct fw_store *st, const struct fw_store_import *imp, size_t i,
		       struct store_commit_undo *u, enum fw_object_state *state, int64_t *id, struct fw_err *err)
{
	const struct fw_store_import_item *it = &imp->items[i];
	struct fw_store_commit c = it->commit;
	int64_t now = (int64_t)time(NULL);

	if (store_commit_tx(st, &it->commit, u, state, id, err) != 0)
		return fw_err_prefix(err, "object %s", it->commit.sha256);
	for (size_t k = 1; k < it->n_urls; k++) {
		c.url = it->urls[k];
		if (store_commit_url_tx(st, &c, *id, now, err) != 0)
			return -1;
	}
	return store_audit_append_tx(st, "mirror-import", imp->who, *id, it->provenance, err);
}

static int import_record(struct fw_store *st, const struct fw_store_import *imp, const enum fw_object_state *states,
			 struct fw_err *err)
{
	STORE_SQL(sql, "INSERT INTO mirror_imports (site_id, sequence, exported_at, key_fingerprint, objects,"
		       " imported_at, imported_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
	char detail[MIRROR_DETAIL_MAX];
	size_t served = 0;
	sqlite3_stmt *s = store_stmt(st, sql, err);

	if (s == NULL)
		return -1;
	if (store_bind_text(s, 1, imp->site_id) != 0 || sqlite3_bind_int64(s, 2, imp->sequence) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 3, imp->exported_at) != SQLITE_OK || store_bind_text(s, 4, imp->key_fingerprint) != 0 ||
	    sqlite3_bind_int64(s, 5, (int64_t)imp->n) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 6, (int64_t)time(NULL)) != SQLITE_OK || store_bind_text(s, 7, imp->who) != 0 ||
	    sqlite3_step(s) != SQLITE_DONE)
		return store_db_err(st, err, "cannot record the bundle imported");
	for (size_t i = 0; i < imp->n; i++)
		served += fw_object_state_servable(states[i]);
	snprintf(detail, sizeof(detail), "bundle of site %s, sequence %lld, exported at %lld, signed by key %s: "
		 "%zu object(s), %zu servable, %zu not", imp->site_id, (long long)imp->sequence,
		 (long long)imp->exported_at, imp->key_fingerprint, imp->n, served, imp->n - served);
	return store_audit_append_tx(st, "mirror-import", imp->who, 0, detail, err);
}

int fw_store_import_commit(struct fw_store *st, const struct fw_store_import *imp, enum fw_object_state *states,
			   int64_t *ids, struct fw_err *err)
{
	struct store_commit_undo *undo = NULL;
	int64_t last = 0;
	size_t done = 0;
	int rc = -1;

	if (import_check(imp, err) != 0)
		return -1;
	undo = calloc(imp->n > 0 ? imp->n : 1, sizeof(*undo));
	if (undo == NULL)
		return fw_err_setc(err, FW_E_NOMEM, "out of memory");
	for (size_t i = 0; i < imp->n; i++) {
		states[i] = FW_OBJ_QUARANTINED;
		ids[i] = 0;
		if (store_commit_prepare(&imp->items[i].commit, err) != 0) {
			free(undo);
			return fw_err_prefix(err, "object %s", imp->items[i].commit.sha256);
		}
	}
	store_lock(st);
	/* The replay check and the commits in one write transaction: two
	 * imports of one bundle cannot both pass it. */
	if (store_tx_begin(st, err) != 0 || import_last_locked(st, imp->site_id, &last, err) != 0)
		goto out;
	if (imp->sequence <= last) {
		fw_err_setc(err, FW_E_DENIED, "a bundle of site %s with sequence %lld was imported already: this one "
			    "(sequence %lld) is not newer (a replay?)", imp->site_id, (long long)last,
			    (long long)imp->sequence);
		goto out;
	}
	for (done = 0; done < imp->n; done++)
		if (import_item(st, imp, done, &undo[done], &states[done], &ids[done], err) != 0) {
			done++;
			goto out;
		}
	if (import_record(st, imp, states, err) != 0 || store_tx_commit(st, err) != 0)
		goto out;
	rc = 0;
out:
	if (rc != 0) {
		store_tx_rollback(st);
		while (done > 0)
			store_commit_undo(st, &undo[--done]);
		for (size_t i = 0; i < imp->n; i++) {
			states[i] = FW_OBJ_QUARANTINED;
			ids[i] = 0;
		}
	}
	store_unlock(st);
	free(undo);
	return rc;
}
