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

/* Every statement the store runs is declared with STORE_SQL where it is
 * used; the linker gathers their addresses in one section, and the store
 * prepares them all when it opens (on the writer, and the read-only ones
 * on every reader): a statement that does not prepare fails the open,
 * never a download halfway, and no cache can run out of slots. */
#define STORE_SQL_SECTION "fwgate_store_sql"
#define STORE_SQL(name, ...) \
	static const char name[] = __VA_ARGS__; \
	static const char *const name##_at_open __attribute__((section(STORE_SQL_SECTION), used)) = name

struct store_stmt {
	const char *sql; /* the STORE_SQL text it was prepared from: the key */
	sqlite3_stmt *stmt;
};

/* One SQLite connection and its statements, prepared at open. */
struct store_conn {
	sqlite3 *db;
	struct store_stmt *stmts;
	size_t n_stmts;
};

/* Read-only connections beside the writer: lookups, the review views and
 * the sandbox's reads run on them and never wait for a commit (WAL: a
 * reader sees the last committed state while the writer works). */
#define STORE_READERS 4

struct fw_store {
	pthread_mutex_t lock;  /* the writer: one write call at a time on w */
	struct store_conn w;
	pthread_mutex_t pool_lock;
	pthread_cond_t pool_free;
	struct store_conn readers[STORE_READERS];
	bool reader_busy[STORE_READERS];
	size_t n_readers;
	char dir[STORE_PATH_MAX];
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

/* A call takes a connection for the calling thread, and store_stmt,
 * store_db_err and the transaction helpers use the one the thread holds:
 * store_lock takes the writer (one write call at a time; transactions,
 * blob moves), store_rlock one of the read-only connections (waiting
 * only while all of them are taken; under the writer it reuses the
 * writer, so that a write call may read through the same helpers).
 * store_unlock resets the connection's cached statements (no read
 * snapshot outlives a call) and gives it back. A thread holds one
 * connection of one store at a time. */
void store_lock(struct fw_store *st);
void store_rlock(struct fw_store *st);
void store_unlock(struct fw_store *st);

/* The connection the calling thread holds (the writer's when it holds
 * none: open and migrations). */
sqlite3 *store_db(struct fw_store *st) FW_NONNULL(1);

/* The prepared statement for sql (a STORE_SQL text: its address is the
 * key) on the thread's connection, reset and with its bindings cleared.
 * NULL and err on failure (a text not declared with STORE_SQL, or a write
 * statement asked of a reader). */
sqlite3_stmt *store_stmt(struct fw_store *st, const char *sql, struct fw_err *err) FW_NONNULL(1, 2);

/* The rows of a read statement without parameters (a STORE_SQL text) as a
 * JSON array, each made by row(); what is the sentence of a database error
 * ("cannot list the tokens"). Takes a
 * reader connection itself. */
int store_list_json(struct fw_store *st, const char *sql, json_t *(*row)(sqlite3_stmt *s), const char *what,
		    json_t **out, struct fw_err *err) FW_WUR FW_NONNULL(1, 2, 3, 4, 5);

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

/* ------------------------------------------------------------ lifecycle.c
 *
 * The object life cycle as data: one table, state x event (with the facts
 * a row may need or refuse) -> new state, blob area, held verdict, audit
 * action, or a refusal with its reason. store_lc_step looks a row up (pure);
 * store_lc_apply is the one function that carries a row out inside the
 * caller's transaction. */

/* The state of an object the store does not know yet (commit only). */
#define STORE_OBJ_NEW ((enum fw_object_state)5)
#define STORE_LC_STATES 6

enum store_event {
	STORE_EV_SCAN_CLEAN = 0,       /* a commit's scan: clean */
	STORE_EV_SCAN_PENDING,         /* clean so far, members for the sandbox */
	STORE_EV_SCAN_NOT_CLEAN,       /* suspicious or unscannable */
	STORE_EV_SCAN_INFECTED,
	STORE_EV_SANDBOX_APPROVE,      /* a settle whose fw_sandbox_verdict said approve */
	STORE_EV_SANDBOX_QUARANTINE,   /* a settle whose verdict said quarantine */
	STORE_EV_MEMBER_MALICIOUS,     /* a job linked to it was judged malicious */
	STORE_EV_SANDBOX_RETRY,        /* staff queued a job linked to it again */
	STORE_EV_STAFF_RELEASE,
	STORE_EV_STAFF_REJECT,
	STORE_EV_REPAIR,               /* integrity took its blob out of service */
	STORE_EV_COUNT,
};

/* Facts of an object a row may need or refuse. */
#define STORE_F_INFECTED        (1u << 0) /* the verdict it is held or served under is infected */
#define STORE_F_JOB_MALICIOUS   (1u << 1) /* a job linked to it judged a member malicious */
#define STORE_F_SCAN_PENDING    (1u << 2) /* its latest scan is the scanner's clean-but-pending one */
#define STORE_F_HELD_BY_SANDBOX (1u << 3) /* quarantined by the sandbox's verdict */
#define STORE_F_REVIEWED        (1u << 4) /* staff reviewed it */
#define STORE_F_OVERRIDE        (1u << 5) /* the release asks for the override */
#define STORE_F_ALL             ((1u << 6) - 1)

/* What a row does to the held verdict (objects.held_*). */
enum store_held {
	STORE_HELD_KEEP = 0,   /* unchanged (a commit writes its own) */
	STORE_HELD_CLEAR,      /* judged anew: nothing held */
	STORE_HELD_SET,        /* the event's verdict and reason; held by the sandbox when quarantined */
	STORE_HELD_RAISE,      /* the event's verdict and reason; who held it unchanged */
};

struct store_lc_row {
	enum fw_object_state from;
	enum store_event ev;
	unsigned need, refuse;     /* facts the row applies with and without */
	enum fw_object_state to;
	enum store_area area;      /* where the blob lives after */
	enum store_held held;
	const char *action;        /* audit action; NULL: none */
	const char *refused;       /* not NULL: the event is refused, why */
};

const char *store_event_name(enum store_event ev);

/* The first row of the table for (from, ev) whose facts match. Never NULL:
 * the table is complete (a test proves it). */
const struct store_lc_row *store_lc_step(enum fw_object_state from, enum store_event ev, unsigned facts);

/* The whole table, for its tests. */
const struct store_lc_row *store_lc_table(size_t *n) FW_NONNULL(1);

/* An object as the transition reads it. */
struct store_lc_obj {
	int64_t id;
	enum fw_object_state state;
	char sha256[FW_SHA256_HEX_LEN + 1];
	bool blob_present;
	unsigned facts;
};

/* Blobs moved by transitions of a transaction, put back if it fails. */
#define STORE_LC_UNDO_MAX 64
struct store_lc_undo {
	struct {
		char sha256[FW_SHA256_HEX_LEN + 1];
		enum store_area from, to;
	} moved[STORE_LC_UNDO_MAX];
	size_t n;
	bool overflow;             /* more moves than kept: the rest are reconcile's */
};

/* Carries out the row for (o, ev) inside the caller's open transaction:
 * a refusal is an error ("object N: why"); else the blob moves to the
 * row's area first (out of objects/ before the record says so, into it
 * before the record says servable: a crash between leaves a blob that
 * reconcile reports, never one served unvetted), the state and held
 * verdict are written, and the row's audit action is appended (by who,
 * with detail). o->state is the new state; *changed (may be NULL) says
 * whether the state changed. verdict and reason are the held verdict for
 * STORE_HELD_SET and _RAISE rows. */
int store_lc_apply(struct fw_store *st, struct store_lc_obj *o, enum store_event ev, enum fw_verdict verdict,
		   const char *reason, const char *who, const char *detail, struct store_lc_undo *undo, bool *changed,
		   struct fw_err *err) FW_WUR FW_NONNULL(1, 2, 6, 7, 8);

/* After a rollback: moves the blobs back where the unchanged records say
 * they are. */
void store_lc_undo(struct fw_store *st, struct store_lc_undo *undo) FW_NONNULL(1, 2);

/* ------------------------------------------------------------ lifecycle.c: objects */

/* Reads object id as the table needs it: state, hash, blob, facts (but
 * STORE_F_OVERRIDE, the caller's), and the verdict it is held or served
 * under with its reason (no scan on record counts as infected: it was never
 * vetted; a job of it judged malicious makes it infected too). 1 found, 0
 * not, -1 error. verdict and reason may be NULL. */
int store_lc_read(struct fw_store *st, int64_t id, struct store_lc_obj *o, enum fw_verdict *verdict, char *reason,
		  size_t reason_len, struct fw_err *err) FW_WUR FW_NONNULL(1, 3);

/* ------------------------------------------------------------ objects.c: the commit's steps
 *
 * fw_store_commit in parts, so that an import commits many objects in one
 * transaction (store/mirror.c): prepare (checks, fchmod, fsync; no lock),
 * then the commit inside the caller's write lock and transaction, and the
 * undo of its blob moves after a rollback. */

struct store_commit_undo {
	bool placed;                      /* the spool file was renamed into the store */
	char placed_path[STORE_PATH_MAX];
	struct store_lc_undo lc;          /* blobs the life-cycle table moved */
};

int store_commit_prepare(const struct fw_store_commit *c, struct fw_err *err) FW_WUR FW_NONNULL(1);
int store_commit_tx(struct fw_store *st, const struct fw_store_commit *c, struct store_commit_undo *u,
		    enum fw_object_state *state, int64_t *object_id, struct fw_err *err) FW_WUR FW_NONNULL(1, 2, 3, 4, 5);
void store_commit_undo(struct fw_store *st, struct store_commit_undo *u) FW_NONNULL(1, 2);
/* Points c->url at object_id (a URL row: validators and fields from c). */
int store_commit_url_tx(struct fw_store *st, const struct fw_store_commit *c, int64_t object_id, int64_t now,
			struct fw_err *err) FW_WUR FW_NONNULL(1, 2);

/* ------------------------------------------------------------ sandbox_record.c */

#define STORE_JOB_COLUMNS \
	"id, sha256, file_type, backend, external_id, state, attempts, verdict, coalesce(score, 0), error," \
	" created_at, coalesce(started_at, 0), coalesce(finished_at, 0), claims"
#define STORE_JOB_COLUMNS_J \
	"j.id, j.sha256, j.file_type, j.backend, j.external_id, j.state, j.attempts, j.verdict," \
	" coalesce(j.score, 0), j.error, j.created_at, coalesce(j.started_at, 0), coalesce(j.finished_at, 0), j.claims"
#define STORE_JOB_NCOLUMNS 14

/* A row of STORE_JOB_COLUMNS (from column 0) as a typed record. */
int store_job_read(sqlite3_stmt *s, struct fw_sandbox_job *job, struct fw_err *err) FW_WUR FW_NONNULL(1, 2);
/* A record as the views show it (without findings). */
json_t *store_job_json(const struct fw_sandbox_job *j) FW_NONNULL(1);
/* A findings column as JSON; null when none or unreadable. */
json_t *store_findings_json(sqlite3_stmt *s, int col) FW_NONNULL(1);

/* ------------------------------------------------------------ sandbox_jobs.c */

/* fw_store_sandbox_attach's work inside the caller's transaction
 * (job_ids may be NULL); the commit links a pending object's members with
 * it. unlink drops an object's links (a new scan's members replace them). */
int store_sandbox_attach_tx(struct fw_store *st, int64_t object_id, const struct fw_sandbox_member *m, size_t n,
			    enum fw_sandbox_backend backend, int64_t reuse_since, int64_t *job_ids, unsigned *created,
			    struct fw_err *err) FW_WUR FW_NONNULL(1, 8);
int store_sandbox_unlink_tx(struct fw_store *st, int64_t object_id, struct fw_err *err) FW_WUR FW_NONNULL(1);
/* One job under the caller's lock: 1 found, 0 not, -1 error. */
int store_sandbox_get_locked(struct fw_store *st, int64_t id, struct fw_sandbox_job *job, struct fw_err *err)
	FW_WUR FW_NONNULL(1, 3);

/* ------------------------------------------------------------ sandbox_links.c */

/* Applies ev (the life-cycle table) to every object linked to job_id,
 * inside the caller's transaction; *changed counts the objects whose
 * state changed, *from_approved (may be NULL) those of them that were
 * approved. */
int store_links_apply(struct fw_store *st, int64_t job_id, enum store_event ev, enum fw_verdict verdict,
		      const char *reason, const char *who, const char *detail, struct store_lc_undo *undo,
		      unsigned *changed, unsigned *from_approved, struct fw_err *err)
	FW_WUR FW_NONNULL(1, 6, 7, 8, 9);

/* ------------------------------------------------------------ sandbox_views.c */

/* An object's sandbox jobs (fw_store_sandbox_object_jobs) under the
 * caller's lock. */
int store_sandbox_object_jobs_locked(struct fw_store *st, int64_t object_id, json_t **out, struct fw_err *err)
	FW_WUR FW_NONNULL(1, 3);

/* ------------------------------------------------------------ sandbox_samples.c */

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

/* ------------------------------------------------------------ url_host.c */

#define STORE_URL_HOST_MAX 256

/* The host of url (between "://" and the path, without userinfo, port and
 * a trailing dot), lower-cased into out. -1 (out "") when there is none
 * or it does not fit. */
int store_url_host(const char *url, char *out, size_t len) FW_NONNULL(1, 2);

/* Registers the SQL function fwgate_url_host(url) on db (the migration
 * that adds urls.host fills it for the rows it finds). */
int store_url_host_register(sqlite3 *db) FW_NONNULL(1);

/* ------------------------------------------------------------ review.c */

/* The object row the review views share (list, page, show, requests);
 * the WHERE clause and what follows vary. Columns: 0 id, 1 url, 2 sha256,
 * 3 size, 4 state, 5 verdict, 6 reason, 7 first_seen, 8 mime, 9 file_type,
 * 10 blob, 11 review_reason, 12 reviewed_by, 13 reviewed_at. */
#define STORE_REVIEW_COLUMNS \
	"SELECT o.id, (SELECT url FROM urls WHERE object_id = o.id ORDER BY fetched_at DESC, url LIMIT 1)," \
	" o.sha256, o.size, o.state, " STORE_EFFECTIVE_VERDICT "," \
	" " STORE_EFFECTIVE_REASON ", o.first_seen, o.mime, o.file_type, o.blob," \
	" o.review_reason, o.reviewed_by, o.reviewed_at" \
	" FROM objects o LEFT JOIN scans s ON s.id = (SELECT max(id) FROM scans WHERE object_id = o.id) "
#define STORE_REVIEW_NCOLUMNS 14

/* A row of STORE_REVIEW_COLUMNS as the list shows it: {id, url, sha256,
 * size, state, verdict, reason, first_seen}. NULL when out of memory. */
json_t *store_review_object_json(sqlite3_stmt *s) FW_NONNULL(1);

/* Column i as a JSON string, or null when SQL NULL. */
json_t *store_json_text_or_null(sqlite3_stmt *s, int i) FW_NONNULL(1);

/* ------------------------------------------------------------ review_four_eyes.c */

/* The open release request of object_id as the views show it:
 * {requested_by, via, reason, override_infected, requested_at} into *out,
 * or JSON null when none is open. Under the caller's lock. */
int store_review_request_json(struct fw_store *st, int64_t object_id, json_t **out, struct fw_err *err)
	FW_WUR FW_NONNULL(1, 3);

/* ------------------------------------------------------------ audit.c: actors */

/* Bound on where a decision came from ("console 127.0.0.1"). */
#define STORE_VIA_MAX 128

/* Who acts, as an audit row names them: who of 1 to 256 characters and
 * via of 1 to STORE_VIA_MAX; else an error that says which. */
int store_actor_check(const char *who, const char *via, struct fw_err *err) FW_WUR;
/* Room for an account's or a token's audit detail: names, a role, via. */
#define STORE_ACTOR_DETAIL_MAX 512

/* ------------------------------------------------------------ accounts.c */

/* fw_account_name_valid, or an error naming what (FW_E_INVALID). */
int store_account_name_check(const char *what, const char *name, struct fw_err *err) FW_WUR FW_NONNULL(1, 2);
/* One of the three roles, or an error (FW_E_INVALID). */
int store_role_check(int role, struct fw_err *err) FW_WUR;

#endif
