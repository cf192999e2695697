/* Content-addressed blobs: their paths (<area>/<ab>/<sha256>, 0600 files,
 * 0700 directories), durable renames and moves between objects/ and
 * quarantine/, moving damaged files aside, hashing, and opening an
 * approved blob to serve it. Must not decide which area a blob belongs
 * in: the object's state, recorded by objects.c and review.c, does. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "store/store_int.h"

#define STORE_HASH_CHUNK (1024u * 1024u)
/* Bound on the names tried in damaged/ for one file. */
#define STORE_ASIDE_TRIES 1000

enum store_area store_area_of(enum fw_object_state s)
{
	return fw_object_state_servable(s) ? STORE_AREA_OBJECTS : STORE_AREA_QUARANTINE;
}

const char *store_area_name(enum store_area a)
{
	return a == STORE_AREA_OBJECTS ? "objects" : "quarantine";
}

void store_hex(const unsigned char *md, char hex[FW_SHA256_HEX_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < FW_SHA256_HEX_LEN / 2; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[FW_SHA256_HEX_LEN] = '\0';
}

int store_blob_path(const struct fw_store *st, enum store_area a, const char *sha256, char *out, size_t len,
		    char *dir_out, size_t dir_len, struct fw_err *err)
{
	int n;

	if (!store_sha256_valid(sha256))
		return fw_err_set(err, "\"%.80s\" is not a SHA-256 in lower-case hex", sha256);
	n = snprintf(out, len, "%s/%s/%.2s/%s", st->dir, store_area_name(a), sha256, sha256);
	if (n < 0 || (size_t)n >= len)
		return fw_err_set(err, "the blob path under \"%s\" is too long", st->dir);
	if (dir_out != NULL) {
		n = snprintf(dir_out, dir_len, "%s/%s/%.2s", st->dir, store_area_name(a), sha256);
		if (n < 0 || (size_t)n >= dir_len)
			return fw_err_set(err, "the blob path under \"%s\" is too long", st->dir);
	}
	return 0;
}

int store_fsync_dir(const char *dir, struct fw_err *err)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = 0;

	if (fd < 0)
		return fw_err_sys(err, errno, "cannot open the directory \"%s\" to sync it", dir);
	/* A failed fsync is not retried: the kernel may have dropped the dirty
	 * pages, so a second success would prove nothing. */
	if (fsync(fd) != 0)
		rc = fw_err_sys(err, errno, "cannot sync the directory \"%s\"", dir);
	close(fd);
	return rc;
}

/* Creates the fan-out directory when missing; its own entry in the area
 * directory is made durable before anything is renamed into it. */
static int store_fanout(struct fw_store *st, enum store_area a, const char *dir, struct fw_err *err)
{
	char area[STORE_PATH_MAX];

	if (mkdir(dir, 0700) == 0) {
		if (snprintf(area, sizeof(area), "%s/%s", st->dir, store_area_name(a)) >= (int)sizeof(area))
			return fw_err_set(err, "the store path \"%s\" is too long", st->dir);
		return store_fsync_dir(area, err);
	}
	if (errno != EEXIST)
		return fw_err_sys(err, errno, "cannot create the blob directory \"%s\"", dir);
	return 0;
}

int store_blob_rename_in(struct fw_store *st, enum store_area area, const char *sha256, const char *src,
			 struct fw_err *err)
{
	char path[STORE_PATH_MAX], dir[STORE_PATH_MAX];

	if (store_blob_path(st, area, sha256, path, sizeof(path), dir, sizeof(dir), err) != 0 ||
	    store_fanout(st, area, dir, err) != 0)
		return -1;
	if (rename(src, path) != 0)
		return fw_err_sys(err, errno, "cannot move \"%s\" into the store as \"%s\"", src, path);
	return store_fsync_dir(dir, err);
}

int store_blob_move(struct fw_store *st, const char *sha256, enum store_area from, enum store_area to,
		    struct fw_err *err)
{
	char src[STORE_PATH_MAX], dst[STORE_PATH_MAX], sdir[STORE_PATH_MAX], ddir[STORE_PATH_MAX];

	if (store_blob_path(st, from, sha256, src, sizeof(src), sdir, sizeof(sdir), err) != 0 ||
	    store_blob_path(st, to, sha256, dst, sizeof(dst), ddir, sizeof(ddir), err) != 0)
		return -1;
	if (from == to)
		return 0;
	if (access(src, F_OK) != 0 && errno == ENOENT)
		return 1;
	if (store_fanout(st, to, ddir, err) != 0)
		return -1;
	if (rename(src, dst) != 0)
		return fw_err_sys(err, errno, "cannot move the blob %s from %s/ to %s/", sha256, store_area_name(from),
				  store_area_name(to));
	/* The new entry first: after a crash the blob is at least somewhere. */
	if (store_fsync_dir(ddir, err) != 0 || store_fsync_dir(sdir, err) != 0)
		return -1;
	return 0;
}

int store_blob_aside(struct fw_store *st, const char *path, const char *label, struct fw_err *err)
{
	char dst[STORE_PATH_MAX], dir[STORE_PATH_MAX];
	long long now = (long long)time(NULL);

	if (snprintf(dir, sizeof(dir), "%s/damaged", st->dir) >= (int)sizeof(dir))
		return fw_err_set(err, "the store path \"%s\" is too long", st->dir);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return fw_err_sys(err, errno, "cannot create \"%s\"", dir);
	for (unsigned i = 0; i < STORE_ASIDE_TRIES; i++) {
		int n = snprintf(dst, sizeof(dst), "%s/%.100s.%lld.%u", dir, label, now, i);

		if (n < 0 || (size_t)n >= sizeof(dst))
			return fw_err_set(err, "the store path \"%s\" is too long", st->dir);
		/* RENAME_NOREPLACE: an earlier casualty is evidence too. */
		if (renameat2(AT_FDCWD, path, AT_FDCWD, dst, RENAME_NOREPLACE) == 0)
			return store_fsync_dir(dir, err);
		if (errno != EEXIST)
			return fw_err_sys(err, errno, "cannot move \"%s\" aside to \"%s\"", path, dir);
	}
	return fw_err_set(err, "cannot move \"%s\" aside: %u files of that name are in \"%s\"", path,
			  STORE_ASIDE_TRIES, dir);
}

int store_hash_fd(int fd, char hex[FW_SHA256_HEX_LEN + 1], uint64_t *size, struct fw_err *err)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char *buf = malloc(STORE_HASH_CHUNK);
	uint64_t off = 0;
	int rc = -1;

	if (ctx == NULL || buf == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		fw_err_set(err, "cannot start a SHA-256 digest");
		goto out;
	}
	for (;;) {
		ssize_t n = pread(fd, buf, STORE_HASH_CHUNK, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fw_err_sys(err, errno, "cannot read a blob to hash it");
			goto out;
		}
		if (n == 0)
			break;
		if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1) {
			fw_err_set(err, "SHA-256 update failed");
			goto out;
		}
		off += (uint64_t)n;
	}
	if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != FW_SHA256_HEX_LEN / 2) {
		fw_err_set(err, "SHA-256 final failed");
		goto out;
	}
	store_hex(md, hex);
	*size = off;
	rc = 0;
out:
	free(buf);
	EVP_MD_CTX_free(ctx);
	return rc;
}

/* What open_blob needs of the record. 1 found, 0 unknown, -1 error. */
static int blob_record(struct fw_store *st, const char *sha256, int64_t *id, uint64_t *size,
		       enum fw_object_state *state, enum store_blob *blob, struct fw_err *err)
{
	static const char sql[] = "SELECT id, size, state, blob FROM objects WHERE sha256 = ?1";
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

/* True when the record is servable and says its blob is present (read
 * inside the caller's write transaction). */
static bool store_state_servable_present(struct fw_store *st, int64_t id)
{
	static const char sql[] = "SELECT 1 FROM objects WHERE id = ?1 AND blob = 'present'"
				  " AND state IN ('approved', 'released')";
	struct fw_err e2;
	sqlite3_stmt *s;

	fw_err_clear(&e2);
	s = store_stmt(st, sql, &e2);
	return s != NULL && sqlite3_bind_int64(s, 1, id) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW;
}

/* A servable blob that is missing or the wrong size: moved aside (when
 * there), recorded as missing, audited; the caller's err already says
 * what was wrong. */
static void blob_damaged(struct fw_store *st, int64_t id, const char *path, const char *sha256, bool exists,
			 const char *what)
{
	static const char sql[] = "UPDATE objects SET blob = 'missing' WHERE id = ?1 AND blob = 'present'"
				  " AND state IN ('approved', 'released')";
	char label[FW_SHA256_HEX_LEN + 16], detail[FW_ERR_MSG_MAX];
	sqlite3_stmt *s;
	struct fw_err e2;

	fw_err_clear(&e2);
	snprintf(label, sizeof(label), "%s.objects", sha256);
	snprintf(detail, sizeof(detail), "blob %s %s; %s", sha256, what,
		 exists ? "moved aside to damaged/" : "marked missing");
	/* Marked missing even when the move fails: the record refuses it. */
	if (exists && store_blob_aside(st, path, label, &e2) != 0)
		fw_err_clear(&e2);
	/* Only if it is still a servable record with its blob: another
	 * process (a staff retry) may have moved the blob with the record. */
	if (store_tx_begin(st, &e2) != 0) {
		store_tx_rollback(st);
		return;
	}
	/* Gone from objects/ but in quarantine/ while the record still says
	 * servable: another process moved it and then failed (or died) before
	 * its commit. Put back, not lost. */
	if (!exists && store_state_servable_present(st, id) &&
	    store_blob_move(st, sha256, STORE_AREA_QUARANTINE, STORE_AREA_OBJECTS, &e2) == 0) {
		store_tx_rollback(st);
		return;
	}
	fw_err_clear(&e2);
	if ((s = store_stmt(st, sql, &e2)) == NULL || sqlite3_bind_int64(s, 1, id) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_DONE ||
	    (sqlite3_changes(st->db) == 1 &&
	     store_audit_append_tx(st, "store-repair", STORE_WHO_SELF, id, detail, &e2) != 0) ||
	    store_tx_commit(st, &e2) != 0)
		store_tx_rollback(st);
}

static int blob_open_locked(struct fw_store *st, const char *sha256, int *fd, uint64_t *size, struct fw_err *err)
{
	char path[STORE_PATH_MAX], what[128];
	enum fw_object_state state = FW_OBJ_QUARANTINED;
	enum store_blob blob = STORE_BLOB_MISSING;
	struct stat sb;
	uint64_t want = 0;
	int64_t id = 0;
	int r, f;

	r = blob_record(st, sha256, &id, &want, &state, &blob, err);
	if (r <= 0)
		return r < 0 ? -1 : fw_err_set(err, "the store has no object %s", sha256);
	if (!fw_object_state_servable(state))
		return fw_err_set(err, "object %lld is %s: it is not served", (long long)id,
				  fw_object_state_name(state));
	if (blob != STORE_BLOB_PRESENT)
		return fw_err_set(err, "the blob of object %lld is %s: it is not served until fetched and "
				  "vetted again", (long long)id, store_blob_name(blob));
	if (store_blob_path(st, STORE_AREA_OBJECTS, sha256, path, sizeof(path), NULL, 0, err) != 0)
		return -1;
	f = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (f < 0) {
		fw_err_sys(err, errno, "the blob of object %lld cannot be opened", (long long)id);
		if (errno == ENOENT)
			blob_damaged(st, id, path, sha256, false, "is missing");
		return -1;
	}
	if (fstat(f, &sb) != 0) {
		fw_err_sys(err, errno, "cannot stat the blob of object %lld", (long long)id);
		close(f);
		return -1;
	}
	if (!S_ISREG(sb.st_mode) || (uint64_t)sb.st_size != want) {
		close(f);
		snprintf(what, sizeof(what), "is %lld bytes, not the %llu recorded", (long long)sb.st_size,
			 (unsigned long long)want);
		fw_err_set(err, "the blob of object %lld %s: moved aside, not served", (long long)id, what);
		blob_damaged(st, id, path, sha256, true, what);
		return -1;
	}
	*fd = f;
	*size = want;
	return 0;
}

int fw_store_open_blob(struct fw_store *st, const char *sha256, int *fd, uint64_t *size, struct fw_err *err)
{
	int rc;

	*fd = -1;
	*size = 0;
	if (!store_sha256_valid(sha256))
		return fw_err_set(err, "\"%.80s\" is not a SHA-256 in lower-case hex", sha256);
	store_lock(st);
	rc = blob_open_locked(st, sha256, fd, size, err);
	store_unlock(st);
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
	store_lock(st);
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
