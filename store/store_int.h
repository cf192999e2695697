/* Private to store/: the store handle, the statement cache and lock
 * (db.c), blob paths and moves (blobs.c), the audit chain's append inside
 * an open transaction (audit.c). Nothing here is for other modules. */
#ifndef FWGATE_STORE_INT_H
#define FWGATE_STORE_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <sqlite3.h>

#include "fwgate/store.h"

#define STORE_PATH_MAX 4096
#define STORE_STMT_MAX 64
/* Who the audit log names for what fwgate does by itself (repairs,
 * a rescan that quarantines an approved object). */
#define STORE_WHO_SELF "fwgate"

/* Where a blob lives: approved and released objects in objects/,
 * quarantined and rejected ones in quarantine/. */
enum store_area {
	STORE_AREA_OBJECTS = 0,
	STORE_AREA_QUARANTINE,
};

/* Whether the record's blob is on disk. A missing one (lost, truncated,
 * altered: moved aside) is never served; a collected one was removed by
 * gc because no URL pointed at it any more. */
enum store_blob {
	STORE_BLOB_PRESENT = 0,
	STORE_BLOB_MISSING,
	STORE_BLOB_COLLECTED,
};

struct store_stmt {
	const char *sql; /* the static text it was prepared from: the cache key */
	sqlite3_stmt *stmt;
};

struct fw_store {
	pthread_mutex_t lock; /* serializes every call on db and the cache */
	sqlite3 *db;
	char dir[STORE_PATH_MAX];
	struct store_stmt stmts[STORE_STMT_MAX];
	size_t n_stmts;
};

/* The verdict an object is held or served under, in SQL over objects o
 * and its latest scan s: the scan's, or the held one (the sandbox's
 * settle of a pending scan, or the worst verdict of an object that stays
 * quarantined) when that is worse or the scan is only pending. A
 * quarantine reason is never softened by a later, weaker scan. The
 * reason goes with it. */
#define STORE_VERDICT_RANK(v) \
	"(CASE " v " WHEN 'infected' THEN 4 WHEN 'unscannable' THEN 3 WHEN 'suspicious' THEN 2" \
	" WHEN 'pending' THEN 1 ELSE 0 END)"
#define STORE_HELD_WINS \
	"(o.held_verdict <> '' AND (coalesce(s.verdict, 'pending') = 'pending' OR " \
	STORE_VERDICT_RANK("o.held_verdict") " >= " STORE_VERDICT_RANK("s.verdict") "))"
#define STORE_EFFECTIVE_VERDICT "CASE WHEN " STORE_HELD_WINS " THEN o.held_verdict ELSE s.verdict END"
#define STORE_EFFECTIVE_REASON "CASE WHEN " STORE_HELD_WINS " THEN o.held_reason ELSE s.reason END"

/* ------------------------------------------------------------ db.c */

void store_lock(struct fw_store *st);
/* Resets every cached statement (no read snapshot outlives a call) and
 * unlocks. */
void store_unlock(struct fw_store *st);

/* The prepared statement for sql (a static string: its address is the
 * key), reset and with its bindings cleared. NULL and err on failure. */
sqlite3_stmt *store_stmt(struct fw_store *st, const char *sql, struct fw_err *err) FW_NONNULL(1, 2);

/* Records the connection's message after what. Returns -1. */
int store_db_err(struct fw_store *st, struct fw_err *err, const char *what) FW_NONNULL(1, 3);

/* BEGIN IMMEDIATE (the write lock up front, so concurrent writers in
 * other processes wait the busy timeout instead of failing mid-way),
 * COMMIT, and ROLLBACK when a transaction is open. */
int store_tx_begin(struct fw_store *st, struct fw_err *err) FW_WUR FW_NONNULL(1);
int store_tx_commit(struct fw_store *st, struct fw_err *err) FW_WUR FW_NONNULL(1);
void store_tx_rollback(struct fw_store *st);

/* Binds text, or NULL when s is NULL. */
int store_bind_text(sqlite3_stmt *s, int i, const char *v) FW_NONNULL(1);
/* Copies column i into out; "" for NULL; a value that does not fit is
 * refused (-1) rather than truncated. */
int store_col_copy(sqlite3_stmt *s, int i, char *out, size_t len) FW_NONNULL(1, 3);
/* Column i as a string, "" for NULL. */
const char *store_col_text(sqlite3_stmt *s, int i) FW_NONNULL(1);

const char *store_blob_name(enum store_blob b);
int store_state_parse(const char *s, enum fw_object_state *out) FW_NONNULL(1, 2);
int store_verdict_parse(const char *s, enum fw_verdict *out) FW_NONNULL(1, 2);
bool store_sha256_valid(const char *s) FW_NONNULL(1);

/* Sets objects.blob for the object. */
int store_set_blob(struct fw_store *st, int64_t id, enum store_blob b, struct fw_err *err) FW_WUR FW_NONNULL(1);

/* ------------------------------------------------------------ blobs.c */

enum store_area store_area_of(enum fw_object_state s);
const char *store_area_name(enum store_area a);

/* <state>/<area>/<ab>/<sha256> into out; with dir_out (may be NULL) the
 * fan-out directory. sha256 must be valid (store_sha256_valid). */
int store_blob_path(const struct fw_store *st, enum store_area a, const char *sha256, char *out, size_t len,
		    char *dir_out, size_t dir_len, struct fw_err *err) FW_WUR FW_NONNULL(1, 3, 4);

/* fsync of a directory: makes the entries created or removed in it
 * durable. */
int store_fsync_dir(const char *dir, struct fw_err *err) FW_WUR FW_NONNULL(1);

/* Renames the file at src into the store's blob place for sha256 in area
 * (creating the fan-out directory) and fsyncs the directory. The caller
 * has fsynced the file. */
int store_blob_rename_in(struct fw_store *st, enum store_area area, const char *sha256, const char *src,
			 struct fw_err *err) FW_WUR FW_NONNULL(1, 3, 4);

/* Moves the blob of sha256 from one area to the other, durably (both
 * directories fsynced). 0 moved, 1 when there was no blob to move. */
int store_blob_move(struct fw_store *st, const char *sha256, enum store_area from, enum store_area to,
		    struct fw_err *err) FW_WUR FW_NONNULL(1, 2);

/* Moves the file at path into <state>/damaged/ under a new name that
 * starts with label; never replaces a file there. */
int store_blob_aside(struct fw_store *st, const char *path, const char *label, struct fw_err *err)
	FW_WUR FW_NONNULL(1, 2, 3);

/* SHA-256 (lower-case hex) and length of everything readable on fd, from
 * offset 0. */
int store_hash_fd(int fd, char hex[FW_SHA256_HEX_LEN + 1], uint64_t *size, struct fw_err *err)
	FW_WUR FW_NONNULL(2, 3);

/* Lower-case hex of a 32-byte digest. */
void store_hex(const unsigned char *md, char hex[FW_SHA256_HEX_LEN + 1]) FW_NONNULL(1, 2);

/* ------------------------------------------------------------ sandbox.c */

/* fw_store_sandbox_attach's checks, and its work inside the caller's
 * transaction (job_ids may be NULL); the commit links a pending object's
 * members with them. unlink drops an object's links (a new scan's
 * members replace them). */
int store_sandbox_attach_check(const struct fw_sandbox_member *m, size_t n, const char *backend,
			       struct fw_err *err) FW_WUR FW_NONNULL(3);
int store_sandbox_attach_tx(struct fw_store *st, int64_t object_id, const struct fw_sandbox_member *m, size_t n,
			    const char *backend, int64_t reuse_since, int64_t *job_ids, unsigned *created,
			    struct fw_err *err) FW_WUR FW_NONNULL(1, 5, 8);
int store_sandbox_unlink_tx(struct fw_store *st, int64_t object_id, struct fw_err *err) FW_WUR FW_NONNULL(1);

/* An object's sandbox jobs (fw_store_sandbox_object_jobs) under the
 * caller's lock. */
int store_sandbox_object_jobs_locked(struct fw_store *st, int64_t object_id, json_t **out, struct fw_err *err)
	FW_WUR FW_NONNULL(1, 3);

/* Removes sandbox samples (<state>/samples/<sha256>) no job needs any
 * more: none queued, running or failed (a failed job may be retried) for
 * those bytes, and older than an hour (a sample just kept by a scan may not
 * have its job yet); also temporary files a crash left there. Adds to
 * *removed. Under the caller's lock. */
int store_sandbox_gc_samples_locked(struct fw_store *st, unsigned *removed, struct fw_err *err)
	FW_WUR FW_NONNULL(1, 2);

/* ------------------------------------------------------------ audit.c */

/* Appends one row inside the caller's open transaction. object_id <= 0
 * names no object. */
int store_audit_append_tx(struct fw_store *st, const char *action, const char *who, int64_t object_id,
			  const char *detail, struct fw_err *err) FW_WUR FW_NONNULL(1, 2, 3, 5);

/* Appends one row in its own transaction (the store is locked). */
int store_audit_append_one(struct fw_store *st, const char *action, const char *who, int64_t object_id,
			   const char *detail, struct fw_err *err) FW_WUR FW_NONNULL(1, 2, 3, 5);

/* The audit rows that name object_id, oldest first, as a JSON array. */
int store_audit_rows(struct fw_store *st, int64_t object_id, json_t **out, struct fw_err *err)
	FW_WUR FW_NONNULL(1, 3);

#endif
