/* Integrity of the blobs against their records: verify (re-hash every
 * blob), reconcile (at start: existence and size only) and gc (blobs no
 * URL points at any more). Repairs only ever take a blob out of service
 * (moved aside to damaged/, record marked missing); nothing here makes a
 * blob servable. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store_int.h"

/* A record whose blob should be on disk. */
struct integ_rec {
	int64_t id;
	char sha256[FW_SHA256_HEX_LEN + 1];
	enum fw_object_state state;
	uint64_t size;
};

struct integ_recs {
	struct integ_rec *v;
	size_t n, cap;
};

static void integ_recs_free(struct integ_recs *r)
{
	free(r->v);
	memset(r, 0, sizeof(*r));
}

/* Records of s (id, sha256, state, size) into r. */
static int integ_collect(struct fw_store *st, sqlite3_stmt *s, struct integ_recs *r, struct fw_err *err)
{
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct integ_rec *x;

		if (r->n == r->cap) {
			size_t cap = r->cap ? 2 * r->cap : 256;
			struct integ_rec *v = reallocarray(r->v, cap, sizeof(*v));

			if (v == NULL)
				return fw_err_set(err, "out of memory");
			r->v = v;
			r->cap = cap;
		}
		x = &r->v[r->n];
		x->id = sqlite3_column_int64(s, 0);
		x->size = (uint64_t)sqlite3_column_int64(s, 3);
		if (store_col_copy(s, 1, x->sha256, sizeof(x->sha256)) != 0 || !store_sha256_valid(x->sha256) ||
		    store_state_parse(store_col_text(s, 2), &x->state) != 0)
			return fw_err_set(err, "the store's record of object %lld is malformed", (long long)x->id);
		r->n++;
	}
	return rc == SQLITE_DONE ? 0 : store_db_err(st, err, "cannot list the objects");
}

static int integ_present(struct fw_store *st, struct integ_recs *r, struct fw_err *err)
{
	STORE_SQL(sql, "SELECT id, sha256, state, size FROM objects WHERE blob = 'present' ORDER BY id");
	sqlite3_stmt *s = store_stmt(st, sql, err);

	return s == NULL ? -1 : integ_collect(st, s, r, err);
}

/* Takes a record's blob out of service: moved aside when there, marked
 * missing, audited. */
static int integ_repair(struct fw_store *st, const struct integ_rec *x, const char *path, bool exists,
			const char *what, struct fw_err *err)
{
	char label[FW_SHA256_HEX_LEN + 16], detail[FW_ERR_MSG_MAX];
	struct store_lc_undo undo = { .n = 0 };
	struct store_lc_obj o;
	int r;

	snprintf(label, sizeof(label), "%s.%s", x->sha256, store_area_name(store_area_of(x->state)));
	snprintf(detail, sizeof(detail), "object %lld: blob %s %s", (long long)x->id, x->sha256, what);
	if (exists && store_blob_aside(st, path, label, err) != 0)
		return -1;
	if (store_tx_begin(st, err) != 0 || store_set_blob(st, x->id, STORE_BLOB_MISSING, err) != 0)
		goto fail;
	/* The table's "repair" row: the state stands, the repair is audited. */
	r = store_lc_read(st, x->id, &o, NULL, NULL, 0, err);
	if (r == 0)
		fw_err_set(err, "object %lld vanished from the store", (long long)x->id);
	if (r <= 0 || store_lc_apply(st, &o, STORE_EV_REPAIR, FW_VERDICT_UNSCANNABLE, "", STORE_WHO_SELF, detail, &undo,
				     NULL, err) != 0 || store_tx_commit(st, err) != 0)
		goto fail;
	return 0;
fail:
	store_tx_rollback(st);
	store_lc_undo(st, &undo);
	return -1;
}

/* 0 intact, 1 a problem described in what (*exists: the file is there),
 * -1 unreadable (what says why; not repaired). */
static int integ_hash_check(struct fw_store *st, const struct integ_rec *x, char *path, size_t path_len,
			    char *what, size_t what_len, bool *exists)
{
	char hex[FW_SHA256_HEX_LEN + 1];
	struct fw_err e;
	uint64_t size = 0;
	int fd, r;

	fw_err_clear(&e);
	*exists = false;
	if (store_blob_path(st, store_area_of(x->state), x->sha256, path, path_len, NULL, 0, &e) != 0) {
		snprintf(what, what_len, "%s", fw_err_msg(&e));
		return -1;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0) {
		snprintf(what, what_len, errno == ENOENT ? "is missing" : "cannot be opened: %s", strerror(errno));
		return errno == ENOENT ? 1 : -1;
	}
	*exists = true;
	r = store_hash_fd(fd, hex, &size, &e);
	close(fd);
	if (r != 0) {
		snprintf(what, what_len, "cannot be read: %s", fw_err_msg(&e));
		return -1;
	}
	if (strcmp(hex, x->sha256) != 0) {
		snprintf(what, what_len, "was altered: its %llu bytes hash to %s; moved aside to damaged/",
			 (unsigned long long)size, hex);
		return 1;
	}
	if (size != x->size) {
		snprintf(what, what_len, "is %llu bytes, not the %llu recorded; moved aside to damaged/",
			 (unsigned long long)size, (unsigned long long)x->size);
		return 1;
	}
	return 0;
}

/* The record as it is now: a release or a repair may have come between. */
static bool integ_unchanged(struct fw_store *st, const struct integ_rec *x)
{
	STORE_SQL(sql, "SELECT state FROM objects WHERE id = ?1 AND blob = 'present'");
	sqlite3_stmt *s = store_stmt(st, sql, NULL);
	enum fw_object_state now;

	return s != NULL && sqlite3_bind_int64(s, 1, x->id) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW &&
	       store_state_parse(store_col_text(s, 0), &now) == 0 && now == x->state;
}

/* Hashes without the lock (a multi-gigabyte image must not stall the
 * gateway); a problem is checked again under the lock before any repair. */
static int integ_verify_one(struct fw_store *st, const struct integ_rec *x, FILE *report, unsigned *bad,
			    struct fw_err *err)
{
	char path[STORE_PATH_MAX], what[512];
	bool exists;
	int r, rc = 0;

	if (integ_hash_check(st, x, path, sizeof(path), what, sizeof(what), &exists) == 0)
		return 0;
	store_lock(st);
	if (!integ_unchanged(st, x))
		goto out;
	r = integ_hash_check(st, x, path, sizeof(path), what, sizeof(what), &exists);
	if (r == 0)
		goto out;
	(*bad)++;
	fprintf(report, "object %lld (%s, %s): blob %s\n", (long long)x->id, x->sha256,
		fw_object_state_name(x->state), what);
	if (r == 1)
		rc = integ_repair(st, x, path, exists, what, err);
out:
	store_unlock(st);
	return rc;
}

int fw_store_verify(struct fw_store *st, FILE *report, unsigned *bad, struct fw_err *err)
{
	struct integ_recs recs = { NULL, 0, 0 };
	int rc = -1;

	*bad = 0;
	store_lock(st);
	rc = integ_present(st, &recs, err);
	store_unlock(st);
	for (size_t i = 0; rc == 0 && i < recs.n; i++)
		rc = integ_verify_one(st, &recs.v[i], report, bad, err);
	integ_recs_free(&recs);
	return rc;
}

/* ------------------------------------------------------------ reconcile */

static bool integ_is_fanout(const char *name)
{
	return strlen(name) == 2 &&
	       ((name[0] >= '0' && name[0] <= '9') || (name[0] >= 'a' && name[0] <= 'f')) &&
	       ((name[1] >= '0' && name[1] <= '9') || (name[1] >= 'a' && name[1] <= 'f'));
}

/* The record a file in area claims to be: 1 with x when the file is the
 * blob the record expects there, 2 with x when it is a present record's
 * blob in the other area (a crash between a move and its commit, as in a
 * sandbox settle), 0 when it is not (a stray). */
static int integ_claim(struct fw_store *st, enum store_area area, const char *fanout, const char *name,
		       struct integ_rec *x, struct fw_err *err)
{
	STORE_SQL(sql, "SELECT id, sha256, state, size FROM objects WHERE sha256 = ?1 AND blob = 'present'");
	struct integ_recs one = { NULL, 0, 0 };
	sqlite3_stmt *s;
	int rc = 0;

	if (!store_sha256_valid(name) || strncmp(name, fanout, 2) != 0)
		return 0;
	s = store_stmt(st, sql, err);
	if (s == NULL || store_bind_text(s, 1, name) != 0 || integ_collect(st, s, &one, err) != 0) {
		rc = -1;
		goto out;
	}
	if (one.n == 1) {
		*x = one.v[0];
		rc = store_area_of(one.v[0].state) == area ? 1 : 2;
	}
out:
	integ_recs_free(&one);
	return rc;
}

static int integ_stray(struct fw_store *st, enum store_area area, const char *path, const char *name,
		       FILE *report, unsigned *diffs, struct fw_err *err)
{
	char label[320];

	(*diffs)++;
	snprintf(label, sizeof(label), "stray.%s.%.255s", store_area_name(area), name);
	fprintf(report, "%s: a file without a record here; moved aside to damaged/\n", path);
	return store_blob_aside(st, path, label, err);
}

/* One fan-out directory: every file must be the blob its record expects. */
static int integ_reconcile_dir(struct fw_store *st, enum store_area area, const char *dir, const char *fanout,
			       FILE *report, unsigned *diffs, struct fw_err *err)
{
	char path[STORE_PATH_MAX], what[256];
	struct integ_rec x;
	struct dirent *e;
	struct stat sb;
	int rc = 0, r;
	DIR *d = opendir(dir);

	if (d == NULL)
		return fw_err_sys(err, errno, "cannot read the blob directory \"%s\"", dir);
	while (rc == 0 && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= (int)sizeof(path) ||
		    lstat(path, &sb) != 0) {
			rc = fw_err_sys(err, errno, "cannot stat an entry of \"%s\"", dir);
			break;
		}
		r = S_ISREG(sb.st_mode) ? integ_claim(st, area, fanout, e->d_name, &x, err) : 0;
		if (r < 0) {
			rc = -1;
		} else if (r == 0) {
			rc = integ_stray(st, area, path, e->d_name, report, diffs, err);
		} else if (r == 2) {
			/* Where its state puts it, unless a copy is there already
			 * or its size is wrong (then this one is a stray). */
			enum store_area to = store_area_of(x.state);
			char there[STORE_PATH_MAX];
			struct stat tb;

			if (store_blob_path(st, to, x.sha256, there, sizeof(there), NULL, 0, err) != 0) {
				rc = -1;
				break;
			}
			if ((uint64_t)sb.st_size != x.size || lstat(there, &tb) == 0) {
				rc = integ_stray(st, area, path, e->d_name, report, diffs, err);
				continue;
			}
			(*diffs)++;
			r = store_blob_move(st, x.sha256, area, to, err);
			if (r < 0)
				rc = -1;
			else
				fprintf(report, "object %lld (%s, %s): blob was in %s/, moved to %s/\n", (long long)x.id,
					x.sha256, fw_object_state_name(x.state), store_area_name(area),
					store_area_name(to));
		}
		else if ((uint64_t)sb.st_size != x.size) {
			(*diffs)++;
			snprintf(what, sizeof(what), "is %lld bytes, not the %llu recorded; moved aside to damaged/",
				 (long long)sb.st_size, (unsigned long long)x.size);
			fprintf(report, "object %lld (%s, %s): blob %s\n", (long long)x.id, x.sha256,
				fw_object_state_name(x.state), what);
			rc = integ_repair(st, &x, path, true, what, err);
		}
	}
	closedir(d);
	return rc;
}

static int integ_reconcile_area(struct fw_store *st, enum store_area area, FILE *report, unsigned *diffs,
				struct fw_err *err)
{
	char adir[STORE_PATH_MAX], sub[STORE_PATH_MAX];
	struct dirent *e;
	struct stat sb;
	int rc = 0;
	DIR *d;

	if (snprintf(adir, sizeof(adir), "%s/%s", st->dir, store_area_name(area)) >= (int)sizeof(adir))
		return fw_err_set(err, "the store path \"%s\" is too long", st->dir);
	d = opendir(adir);
	if (d == NULL)
		return fw_err_sys(err, errno, "cannot read the blob directory \"%s\"", adir);
	while (rc == 0 && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (snprintf(sub, sizeof(sub), "%s/%s", adir, e->d_name) >= (int)sizeof(sub) || lstat(sub, &sb) != 0) {
			rc = fw_err_sys(err, errno, "cannot stat an entry of \"%s\"", adir);
			break;
		}
		if (S_ISDIR(sb.st_mode) && integ_is_fanout(e->d_name))
			rc = integ_reconcile_dir(st, area, sub, e->d_name, report, diffs, err);
		else
			rc = integ_stray(st, area, sub, e->d_name, report, diffs, err);
	}
	closedir(d);
	return rc;
}

/* Records whose blob is not where their state puts it. */
static int integ_reconcile_records(struct fw_store *st, FILE *report, unsigned *diffs, struct fw_err *err)
{
	struct integ_recs recs = { NULL, 0, 0 };
	char path[STORE_PATH_MAX];
	struct stat sb;
	int rc = integ_present(st, &recs, err);

	for (size_t i = 0; rc == 0 && i < recs.n; i++) {
		const struct integ_rec *x = &recs.v[i];

		rc = store_blob_path(st, store_area_of(x->state), x->sha256, path, sizeof(path), NULL, 0, err);
		if (rc != 0 || lstat(path, &sb) == 0)
			continue;
		if (errno != ENOENT) {
			rc = fw_err_sys(err, errno, "cannot stat \"%s\"", path);
			break;
		}
		(*diffs)++;
		fprintf(report, "object %lld (%s, %s): blob is missing; marked so it is not served\n",
			(long long)x->id, x->sha256, fw_object_state_name(x->state));
		rc = integ_repair(st, x, path, false, "is missing", err);
	}
	integ_recs_free(&recs);
	return rc;
}

int fw_store_reconcile(struct fw_store *st, FILE *report, unsigned *diffs, struct fw_err *err)
{
	int rc;

	*diffs = 0;
	store_lock(st);
	rc = integ_reconcile_area(st, STORE_AREA_OBJECTS, report, diffs, err);
	if (rc == 0)
		rc = integ_reconcile_area(st, STORE_AREA_QUARANTINE, report, diffs, err);
	if (rc == 0)
		rc = integ_reconcile_records(st, report, diffs, err);
	store_unlock(st);
	return rc;
}

/* ------------------------------------------------------------ gc */

/* Marks the record collected (only if still unreferenced) and removes
 * its blob: 1 removed, 0 referenced again meanwhile. */
static int integ_collect_one(struct fw_store *st, const struct integ_rec *x, struct fw_err *err)
{
	STORE_SQL(sql, "UPDATE objects SET blob = 'collected' WHERE id = ?1 AND blob = 'present'"
				  " AND state NOT IN ('quarantined', 'pending')"
				  " AND NOT EXISTS (SELECT 1 FROM urls WHERE object_id = objects.id)");
	char path[STORE_PATH_MAX];
	sqlite3_stmt *s;

	if (store_blob_path(st, store_area_of(x->state), x->sha256, path, sizeof(path), NULL, 0, err) != 0 ||
	    store_tx_begin(st, err) != 0)
		return -1;
	s = store_stmt(st, sql, err);
	if (s == NULL || sqlite3_bind_int64(s, 1, x->id) != SQLITE_OK || sqlite3_step(s) != SQLITE_DONE) {
		store_db_err(st, err, "cannot collect a blob");
		store_tx_rollback(st);
		return -1;
	}
	if (sqlite3_changes(st->w.db) == 0) {
		store_tx_rollback(st);
		return 0;
	}
	/* The record first: a crash before the unlink leaves a stray file
	 * that reconcile moves aside, never a record without its blob. */
	if (store_tx_commit(st, err) != 0) {
		store_tx_rollback(st);
		return -1;
	}
	if (unlink(path) != 0 && errno != ENOENT)
		return fw_err_sys(err, errno, "cannot remove the blob \"%s\"", path);
	return 1;
}

static int integ_empty_damaged(struct fw_store *st, unsigned *removed, struct fw_err *err)
{
	char dir[STORE_PATH_MAX], p[STORE_PATH_MAX];
	struct dirent *e;
	struct stat sb;
	int rc = 0;
	DIR *d;

	if (snprintf(dir, sizeof(dir), "%s/damaged", st->dir) >= (int)sizeof(dir))
		return fw_err_set(err, "the store path \"%s\" is too long", st->dir);
	d = opendir(dir);
	if (d == NULL)
		return errno == ENOENT ? 0 : fw_err_sys(err, errno, "cannot read \"%s\"", dir);
	while (rc == 0 && (e = readdir(d)) != NULL) {
		if (snprintf(p, sizeof(p), "%s/%s", dir, e->d_name) >= (int)sizeof(p) || lstat(p, &sb) != 0 ||
		    S_ISDIR(sb.st_mode))
			continue;
		if (unlink(p) != 0)
			rc = fw_err_sys(err, errno, "cannot remove \"%s\"", p);
		else
			(*removed)++;
	}
	closedir(d);
	return rc;
}

int fw_store_gc(struct fw_store *st, unsigned *removed, struct fw_err *err)
{
	/* A quarantined blob is evidence waiting for a reviewer: kept until
	 * it is released or rejected, referenced or not. */
	STORE_SQL(sql, "SELECT id, sha256, state, size FROM objects o WHERE blob = 'present'"
				  " AND state NOT IN ('quarantined', 'pending')"
				  " AND NOT EXISTS (SELECT 1 FROM urls WHERE object_id = o.id) ORDER BY id");
	struct integ_recs recs = { NULL, 0, 0 };
	sqlite3_stmt *s;
	int rc = -1, r;

	*removed = 0;
	store_lock(st);
	s = store_stmt(st, sql, err);
	if (s == NULL || integ_collect(st, s, &recs, err) != 0)
		goto out;
	sqlite3_reset(s);
	for (size_t i = 0; i < recs.n; i++) {
		r = integ_collect_one(st, &recs.v[i], err);
		if (r < 0)
			goto out;
		*removed += (unsigned)r;
	}
	rc = integ_empty_damaged(st, removed, err);
	if (rc == 0)
		rc = store_sandbox_gc_samples_locked(st, removed, err);
out:
	store_unlock(st);
	integ_recs_free(&recs);
	return rc;
}
