/* The dashboard's figures (fw_store_stats): objects and bytes by state,
 * scan verdicts since a time, sandbox jobs by state, open release
 * requests, audit rows and the size of the database files, read in one
 * snapshot. Must not change anything nor judge the figures. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "fwgate/fileio.h"
#include "store/store_int.h"

/* Every name of names with a zero, so that a state nothing is in yet is
 * still shown. */
static int stats_zeroes(json_t *o, const char *const *names, size_t n, bool with_bytes)
{
	for (size_t i = 0; i < n; i++) {
		json_t *v = with_bytes ? json_pack("{s:I, s:I}", "count", (json_int_t)0, "bytes", (json_int_t)0)
				       : json_integer(0);

		if (v == NULL || json_object_set_new(o, names[i], v) != 0)
			return -1;
	}
	return 0;
}

static int stats_objects(struct fw_store *st, json_t *out, struct fw_err *err)
{
	static const char *const states[] = { "approved", "quarantined", "rejected", "released", "pending" };
	STORE_SQL(sql, "SELECT state, count(*), total(size) FROM objects GROUP BY state");
	sqlite3_stmt *s = store_stmt(st, sql, err);
	json_t *o = json_object();
	int r;

	if (o == NULL || json_object_set_new(out, "objects", o) != 0 || stats_zeroes(o, states, 5, true) != 0)
		return fw_err_setc(err, FW_E_NOMEM, "out of memory");
	if (s == NULL)
		return -1;
	while ((r = sqlite3_step(s)) == SQLITE_ROW)
		if (json_object_set_new(o, store_col_text(s, 0),
					json_pack("{s:I, s:I}", "count", (json_int_t)sqlite3_column_int64(s, 1), "bytes",
						  (json_int_t)sqlite3_column_double(s, 2))) != 0)
			return fw_err_setc(err, FW_E_NOMEM, "out of memory");
	return r == SQLITE_DONE ? 0 : store_db_err(st, err, "cannot count the objects");
}

/* A GROUP BY name, count statement s into out[key], over zeroes for names. */
static int stats_counts(struct fw_store *st, sqlite3_stmt *s, json_t *out, const char *key,
			const char *const *names, size_t n, struct fw_err *err)
{
	json_t *o = json_object();
	int r;

	if (o == NULL || json_object_set_new(out, key, o) != 0 || stats_zeroes(o, names, n, false) != 0)
		return fw_err_setc(err, FW_E_NOMEM, "out of memory");
	while ((r = sqlite3_step(s)) == SQLITE_ROW)
		if (json_object_set_new(o, store_col_text(s, 0), json_integer((json_int_t)sqlite3_column_int64(s, 1))) != 0)
			return fw_err_setc(err, FW_E_NOMEM, "out of memory");
	return r == SQLITE_DONE ? 0 : store_db_err(st, err, "cannot count for the dashboard");
}

static int stats_scans(struct fw_store *st, int64_t since, json_t *out, struct fw_err *err)
{
	static const char *const verdicts[] = { "clean", "pending", "suspicious", "unscannable", "infected" };
	STORE_SQL(sql, "SELECT verdict, count(*) FROM scans WHERE time >= ?1 GROUP BY verdict");
	sqlite3_stmt *s = store_stmt(st, sql, err);

	if (s == NULL)
		return -1;
	if (sqlite3_bind_int64(s, 1, since) != SQLITE_OK)
		return store_db_err(st, err, "cannot count the scans");
	return stats_counts(st, s, out, "scans_since", verdicts, FW_ARRAY_LEN(verdicts), err);
}

static int stats_jobs(struct fw_store *st, json_t *out, struct fw_err *err)
{
	static const char *const states[] = { "queued", "running", "done", "failed" };
	STORE_SQL(sql, "SELECT state, count(*) FROM sandbox_jobs GROUP BY state");
	sqlite3_stmt *s = store_stmt(st, sql, err);

	if (s == NULL)
		return -1;
	return stats_counts(st, s, out, "sandbox", states, FW_ARRAY_LEN(states), err);
}

static int stats_rows(struct fw_store *st, json_t *out, struct fw_err *err)
{
	STORE_SQL(sql, "SELECT (SELECT count(*) FROM release_requests), (SELECT count(*) FROM audit)");
	sqlite3_stmt *s = store_stmt(st, sql, err);

	if (s == NULL)
		return -1;
	if (sqlite3_step(s) != SQLITE_ROW)
		return store_db_err(st, err, "cannot count the requests and the audit rows");
	if (json_object_set_new(out, "requests_open", json_integer((json_int_t)sqlite3_column_int64(s, 0))) != 0 ||
	    json_object_set_new(out, "audit_rows", json_integer((json_int_t)sqlite3_column_int64(s, 1))) != 0)
		return fw_err_setc(err, FW_E_NOMEM, "out of memory");
	return 0;
}

/* fwgate.db and its write-ahead log (the -shm index is memory, not data). */
static int stats_db_bytes(const struct fw_store *st, json_t *out, struct fw_err *err)
{
	static const char *const files[] = { "fwgate.db", "fwgate.db-wal" };
	char path[STORE_PATH_MAX];
	int64_t bytes = 0;
	struct stat sb;

	for (size_t i = 0; i < FW_ARRAY_LEN(files); i++) {
		if (fw_path_join(path, sizeof(path), st->dir, files[i], err) != 0)
			return -1;
		if (stat(path, &sb) == 0)
			bytes += (int64_t)sb.st_size;
		else if (errno != ENOENT)
			return fw_err_sys(err, errno, "cannot stat \"%s\"", path);
	}
	if (json_object_set_new(out, "db_bytes", json_integer((json_int_t)bytes)) != 0)
		return fw_err_setc(err, FW_E_NOMEM, "out of memory");
	return 0;
}

int fw_store_stats(struct fw_store *st, int64_t since, json_t **out, struct fw_err *err)
{
	json_t *o = json_object();
	int rc = -1;

	*out = NULL;
	if (o == NULL)
		return fw_err_setc(err, FW_E_NOMEM, "out of memory");
	store_rlock(st);
	/* One snapshot for every figure. */
	if (sqlite3_exec(store_db(st), "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		store_db_err(st, err, "cannot read the dashboard's figures");
		goto out;
	}
	if (stats_objects(st, o, err) == 0 && stats_scans(st, since, o, err) == 0 && stats_jobs(st, o, err) == 0 &&
	    stats_rows(st, o, err) == 0)
		rc = 0;
	store_tx_rollback(st);
out:
	store_unlock(st);
	if (rc == 0)
		rc = stats_db_bytes(st, o, err);
	if (rc != 0) {
		json_decref(o);
		return -1;
	}
	*out = o;
	return 0;
}
