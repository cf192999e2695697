/* Opening a blob: an approved or released one to serve it (its size
 * checked against the record; a damaged one taken out of service through
 * the life-cycle table's repair), or one in any state for the sandbox to
 * judge. Must not serve a blob whose state is not servable. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store_int.h"

/* What open_blob needs of the record. 1 found, 0 unknown, -1 error. */
static int blob_record(struct fw_store *st, const char *sha256, int64_t *id, uint64_t *size,
		       enum fw_object_state *state, enum store_blob *blob, struct fw_err *err)
{
	STORE_SQL(sql, "SELECT id, size, state, blob FROM objects WHERE sha256 = ?1");
	sqlite3_stmt *s = store_stmt(st, sql, err);
	const char *b;
	int r;

	if (s == NULL)
		return -1;
	if (store_bind_text(s, 1, sha256) != 0)
		return store_db_err(st, err, "cannot look up a blob");
	r = sqlite3_step(s);
	if (r == SQLITE_DONE)
		return 0;
	if (r != SQLITE_ROW)
		return store_db_err(st, err, "cannot look up a blob");
	*id = sqlite3_column_int64(s, 0);
	*size = (uint64_t)sqlite3_column_int64(s, 1);
	if (store_state_parse(store_col_text(s, 2), state) != 0)
		return fw_err_set(err, "the store's record of %s has an unknown state", sha256);
	b = store_col_text(s, 3);
	*blob = strcmp(b, "present") == 0 ? STORE_BLOB_PRESENT
		: strcmp(b, "collected") == 0 ? STORE_BLOB_COLLECTED : STORE_BLOB_MISSING;
	return 1;
}

/* A servable blob that is missing or the wrong size: moved aside (when
 * there), recorded as missing, audited; the caller's err already says
 * what was wrong. */
static void blob_damaged(struct fw_store *st, int64_t id, const char *path, const char *sha256, bool exists,
			 uint64_t want, const char *what)
{
	char label[FW_SHA256_HEX_LEN + 16], detail[FW_ERR_MSG_MAX];
	struct store_lc_undo undo = { .n = 0 };
	struct store_lc_obj o;
	struct stat sb;
	struct fw_err e2;
	bool servable_present;

	fw_err_clear(&e2);
	snprintf(label, sizeof(label), "%s.objects", sha256);
	snprintf(detail, sizeof(detail), "blob %s %s; %s", sha256, what,
		 exists ? "moved aside to damaged/" : "marked missing");
	/* Found missing by a reader, but back in place now: a commit moved it
	 * out and back (it failed) meanwhile. Nothing to repair. */
	if (!exists && access(path, F_OK) == 0)
		return;
	/* Found the wrong size, but whole now: a commit replaced it. */
	if (exists && lstat(path, &sb) == 0 && S_ISREG(sb.st_mode) && (uint64_t)sb.st_size == want)
		return;
	/* Marked missing even when the move fails: the record refuses it. */
	if (exists && store_blob_aside(st, path, label, &e2) != 0)
		fw_err_clear(&e2);
	if (store_tx_begin(st, &e2) != 0) {
		store_tx_rollback(st);
		return;
	}
	/* Only if it is still a servable record with its blob: another
	 * process (a staff retry) may have moved the blob with the record. */
	servable_present = store_lc_read(st, id, &o, NULL, NULL, 0, &e2) == 1 && o.blob_present &&
			   fw_object_state_servable(o.state);
	/* Gone from objects/ but in quarantine/ while the record still says
	 * servable: another process moved it and then failed (or died) before
	 * its commit. Put back, not lost. */
	if (!exists && servable_present &&
	    store_blob_move(st, sha256, STORE_AREA_QUARANTINE, STORE_AREA_OBJECTS, &e2) == 0) {
		store_tx_rollback(st);
		return;
	}
	fw_err_clear(&e2);
	o.blob_present = false; /* taken out of service here: the table's repair moves nothing */
	if (!servable_present || store_set_blob(st, id, STORE_BLOB_MISSING, &e2) != 0 ||
	    store_lc_apply(st, &o, STORE_EV_REPAIR, FW_VERDICT_UNSCANNABLE, "", STORE_WHO_SELF, detail, &undo, NULL,
			   &e2) != 0 || store_tx_commit(st, &e2) != 0)
		store_tx_rollback(st);
}

/* What a read found wrong with a servable blob, for the repair that
 * follows under the writer. */
struct blob_damage {
	bool found;
	bool exists;
	int64_t id;
	uint64_t want;
	char path[STORE_PATH_MAX];
	char what[128];
};

static int blob_open_read(struct fw_store *st, const char *sha256, int *fd, uint64_t *size,
			  struct blob_damage *d, struct fw_err *err)
{
	enum fw_object_state state = FW_OBJ_QUARANTINED;
	enum store_blob blob = STORE_BLOB_MISSING;
	struct stat sb;
	uint64_t want = 0;
	int64_t id = 0;
	int r, f;

	r = blob_record(st, sha256, &id, &want, &state, &blob, err);
	if (r <= 0)
		return r < 0 ? -1 : fw_err_setc(err, FW_E_NOTFOUND, "the store has no object %s", sha256);
	if (!fw_object_state_servable(state))
		return fw_err_setc(err, FW_E_DENIED, "object %lld is %s: it is not served", (long long)id,
				   fw_object_state_name(state));
	if (blob != STORE_BLOB_PRESENT)
		return fw_err_setc(err, FW_E_NOTFOUND, "the blob of object %lld is %s: it is not served until "
				   "fetched and vetted again", (long long)id, store_blob_name(blob));
	if (store_blob_path(st, STORE_AREA_OBJECTS, sha256, d->path, sizeof(d->path), NULL, 0, err) != 0)
		return -1;
	d->id = id;
	d->want = want;
	f = open(d->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (f < 0) {
		fw_err_sys(err, errno, "the blob of object %lld cannot be opened", (long long)id);
		if (errno == ENOENT) {
			d->found = true;
			d->exists = false;
			snprintf(d->what, sizeof(d->what), "is missing");
		}
		return -1;
	}
	if (fstat(f, &sb) != 0) {
		fw_err_sys(err, errno, "cannot stat the blob of object %lld", (long long)id);
		close(f);
		return -1;
	}
	if (!S_ISREG(sb.st_mode) || (uint64_t)sb.st_size != want) {
		close(f);
		snprintf(d->what, sizeof(d->what), "is %lld bytes, not the %llu recorded", (long long)sb.st_size,
			 (unsigned long long)want);
		fw_err_set(err, "the blob of object %lld %s: moved aside, not served", (long long)id, d->what);
		d->found = true;
		d->exists = true;
		return -1;
	}
	*fd = f;
	*size = want;
	return 0;
}

int fw_store_open_blob(struct fw_store *st, const char *sha256, int *fd, uint64_t *size, struct fw_err *err)
{
	struct blob_damage d = { .found = false };
	int rc;

	*fd = -1;
	*size = 0;
	if (!store_sha256_valid(sha256))
		return fw_err_set(err, "\"%.80s\" is not a SHA-256 in lower-case hex", sha256);
	/* Read beside the writer: a cache hit never waits for a commit. */
	store_rlock(st);
	rc = blob_open_read(st, sha256, fd, size, &d, err);
	store_unlock(st);
	if (d.found) {
		/* The repair is a write, and decides again on what it finds
		 * under the writer (a commit may have moved the blob since). */
		store_lock(st);
		blob_damaged(st, d.id, d.path, sha256, d.exists, d.want, d.what);
		store_unlock(st);
	}
	return rc;
}

int fw_store_open_any_blob(struct fw_store *st, const char *sha256, int *fd, uint64_t *size, struct fw_err *err)
{
	char path[STORE_PATH_MAX];
	enum fw_object_state state = FW_OBJ_QUARANTINED;
	enum store_blob blob = STORE_BLOB_MISSING;
	uint64_t want = 0;
	struct stat sb;
	int64_t id = 0;
	int r, f, rc = -1;

	*fd = -1;
	*size = 0;
	if (!store_sha256_valid(sha256))
		return fw_err_set(err, "\"%.80s\" is not a SHA-256 in lower-case hex", sha256);
	store_rlock(st);
	r = blob_record(st, sha256, &id, &want, &state, &blob, err);
	if (r <= 0) {
		if (r == 0)
			fw_err_set(err, "the store has no object %s", sha256);
		goto out;
	}
	if (blob != STORE_BLOB_PRESENT) {
		fw_err_set(err, "the blob of %s is not in the store", sha256);
		goto out;
	}
	if (store_blob_path(st, store_area_of(state), sha256, path, sizeof(path), NULL, 0, err) != 0)
		goto out;
	f = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (f < 0 && errno == ENOENT) {
		/* Read beside the writer: a transition may have moved the blob
		 * to the other area since the record was read. */
		enum store_area other = store_area_of(state) == STORE_AREA_OBJECTS ? STORE_AREA_QUARANTINE
										  : STORE_AREA_OBJECTS;

		if (store_blob_path(st, other, sha256, path, sizeof(path), NULL, 0, err) != 0)
			goto out;
		f = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	}
	if (f < 0) {
		fw_err_sys(err, errno, "cannot open the blob of %s", sha256);
		goto out;
	}
	if (fstat(f, &sb) != 0 || !S_ISREG(sb.st_mode) || (uint64_t)sb.st_size != want) {
		close(f);
		fw_err_set(err, "the blob of %s does not have its recorded size", sha256);
		goto out;
	}
	*fd = f;
	*size = want;
	rc = 0;
out:
	store_unlock(st);
	return rc;
}
