/* Recording vetted downloads (object, scan, members, URL) in the commit
 * order of DESIGN.md, and the lookups the proxy makes before a fetch. Must
 * not judge a verdict: the scanner's verdict and staff's decisions are
 * recorded as given; what a scan makes of a known object's state is the
 * life-cycle table's (store/lifecycle.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/store_int.h"

/* Bound on one URL (the proxy's request line is far shorter). */
#define STORE_URL_MAX (16u * 1024u)
/* Bound on the members recorded for one scan; the scanner lists far fewer. */
#define STORE_MEMBERS_MAX 100000u

/* What the store had for the hash, and what the commit makes of it. */
struct commit_plan {
	bool known;
	int64_t id;
	enum fw_object_state old_state;
	enum fw_object_state new_state;
	enum store_blob old_blob;
	enum fw_verdict old_verdict;   /* the verdict it was held or served under */
	char old_reason[FW_ERR_MSG_MAX];
	enum store_event ev;    /* what the scan is to the life cycle */
	struct store_lc_obj o;  /* a known object as the table reads it */
	struct store_commit_undo *u; /* what to put back if the transaction fails */
};

/* A validator that does not fit the lookup's buffers is dropped rather
 * than cut: a cut ETag would make every revalidation a wrong one. */
static const char *store_validator(const char *v, size_t max)
{
	if (v == NULL)
		return NULL;
	return strlen(v) < max ? v : "";
}

static int commit_check(const struct fw_store_commit *c, struct fw_err *err)
{
	struct stat sb;

	if (c->url == NULL || c->url[0] == '\0' || strlen(c->url) > STORE_URL_MAX)
		return fw_err_set(err, "a commit needs a URL of 1 to %u bytes", STORE_URL_MAX);
	if (c->spool_path == NULL || c->reason == NULL || c->sha256 == NULL)
		return fw_err_set(err, "a commit needs the spool file, its hash and its scan");
	if (c->verdict == FW_VERDICT_PENDING &&
	    (c->n_sandbox == 0 || c->sandbox == NULL ||
	     fw_store_sandbox_members_check(c->sandbox, c->n_sandbox, c->sandbox_backend, err) != 0))
		return fw_err_isset(err) ? -1 : fw_err_set(err, "a pending commit needs the members the sandbox judges");
	if (!store_sha256_valid(c->sha256))
		return fw_err_set(err, "\"%.80s\" is not a SHA-256 in lower-case hex", c->sha256);
	if (fstat(c->spool_fd, &sb) != 0)
		return fw_err_sys(err, errno, "cannot stat the spool file \"%s\"", c->spool_path);
	if (!S_ISREG(sb.st_mode) || (uint64_t)sb.st_size != c->size)
		return fw_err_set(err, "the spool file \"%s\" is %lld bytes, not the %llu of the download",
				  c->spool_path, (long long)sb.st_size, (unsigned long long)c->size);
	return 0;
}

static int commit_plan_read(struct fw_store *st, const struct fw_store_commit *c, struct commit_plan *p,
			    struct fw_err *err)
{
	STORE_SQL(sql, "SELECT o.id, o.state, o.blob, o.size, " STORE_EFFECTIVE_VERDICT ","
				  " " STORE_EFFECTIVE_REASON " FROM objects o"
				  " LEFT JOIN scans s ON s.id = (SELECT max(id) FROM scans WHERE object_id = o.id)"
				  " WHERE o.sha256 = ?1");
	sqlite3_stmt *s = store_stmt(st, sql, err);
	const char *b;
	int r;

	if (s == NULL)
		return -1;
	if (store_bind_text(s, 1, c->sha256) != 0)
		return store_db_err(st, err, "cannot look up an object");
	p->ev = c->verdict == FW_VERDICT_CLEAN ? STORE_EV_SCAN_CLEAN
		: c->verdict == FW_VERDICT_PENDING ? STORE_EV_SCAN_PENDING
		: c->verdict == FW_VERDICT_INFECTED ? STORE_EV_SCAN_INFECTED : STORE_EV_SCAN_NOT_CLEAN;
	r = sqlite3_step(s);
	if (r == SQLITE_DONE) {
		p->new_state = store_lc_step(STORE_OBJ_NEW, p->ev, 0)->to;
		return 0;
	}
	if (r != SQLITE_ROW)
		return store_db_err(st, err, "cannot look up an object");
	p->known = true;
	p->id = sqlite3_column_int64(s, 0);
	if (store_state_parse(store_col_text(s, 1), &p->old_state) != 0)
		return fw_err_set(err, "object %lld has an unknown state in the store", (long long)p->id);
	b = store_col_text(s, 2);
	p->old_blob = strcmp(b, "present") == 0 ? STORE_BLOB_PRESENT
		      : strcmp(b, "collected") == 0 ? STORE_BLOB_COLLECTED : STORE_BLOB_MISSING;
	/* No scan on record counts as the worst: it was never vetted. */
	p->old_verdict = FW_VERDICT_INFECTED;
	if (sqlite3_column_type(s, 4) != SQLITE_NULL &&
	    fw_verdict_parse(store_col_text(s, 4), &p->old_verdict) != 0)
		return fw_err_set(err, "object %lld has an unknown verdict in the store", (long long)p->id);
	if (store_col_copy(s, 5, p->old_reason, sizeof(p->old_reason)) != 0)
		p->old_reason[0] = '\0';
	if ((uint64_t)sqlite3_column_int64(s, 3) != c->size)
		return fw_err_set(err, "object %lld has the hash %s but a recorded size of %lld bytes, not %llu",
				  (long long)p->id, c->sha256, (long long)sqlite3_column_int64(s, 3),
				  (unsigned long long)c->size);
	/* What the scan makes of it is the life-cycle table's (a scan only
	 * ever makes it worse; staff's decisions stand), on the facts the
	 * table reads. */
	r = store_lc_read(st, p->id, &p->o, NULL, NULL, 0, err);
	if (r <= 0)
		return r < 0 ? -1 : fw_err_set(err, "object %lld vanished from the store", (long long)p->id);
	p->new_state = store_lc_step(p->old_state, p->ev, p->o.facts)->to;
	return 0;
}

/* A known object meets the scan's event: the table's row carried out (its
 * blob moved to the new state's area, state, audit row). */
static int commit_transition(struct fw_store *st, const struct fw_store_commit *c, struct commit_plan *p,
			     struct fw_err *err)
{
	char detail[FW_ERR_MSG_MAX + 64];

	if (!p->known)
		return 0;
	snprintf(detail, sizeof(detail), "a new scan found it %s: %s", fw_verdict_name(c->verdict),
		 c->reason);
	if (store_lc_apply(st, &p->o, p->ev, c->verdict, c->reason, STORE_WHO_SELF, detail, &p->u->lc,
			   NULL, err) != 0)
		return -1;
	p->new_state = p->o.state;
	p->old_blob = p->o.blob_present ? STORE_BLOB_PRESENT : p->old_blob == STORE_BLOB_PRESENT
		      ? STORE_BLOB_MISSING : p->old_blob;
	return 0;
}

/* Puts the bytes in the area of the new state: the blob already there
 * stays (the spool file is removed), else the spool file is renamed in. */
static int commit_blob(struct fw_store *st, const struct fw_store_commit *c, struct commit_plan *p,
		       struct fw_err *err)
{
	enum store_area to = store_area_of(p->new_state);
	char path[STORE_PATH_MAX];
	bool in_place = false;
	struct stat sb;

	if (store_blob_path(st, to, c->sha256, path, sizeof(path), NULL, 0, err) != 0)
		return -1;
	if (p->known && p->old_blob == STORE_BLOB_PRESENT) {
		/* The transition moved it already (out of objects/ before the
		 * record says so); a copy there of another size goes aside. */
		if (lstat(path, &sb) == 0) {
			in_place = S_ISREG(sb.st_mode) && (uint64_t)sb.st_size == c->size;
			if (!in_place && store_blob_aside(st, path, c->sha256, err) != 0)
				return -1;
		}
	}
	if (in_place) {
		if (unlink(c->spool_path) != 0 && errno != ENOENT)
			return fw_err_sys(err, errno, "cannot remove the spool file \"%s\"", c->spool_path);
		return 0;
	}
	if (store_blob_rename_in(st, to, c->sha256, c->spool_path, err) != 0)
		return -1;
	p->u->placed = true;
	memcpy(p->u->placed_path, path, sizeof(path));
	return 0;
}

/* What the object is held under after this scan (binds ?5 verdict, ?6
 * reason, ?7 held_by; NULL keeps the column):
 * - a new judgement (pending, approved), or the scanner quarantining it
 *   now: nothing held, the new scan row says it all;
 * - an object that stays quarantined: the worse of what it was held under
 *   and the new scan (a pending scan never lowers it), so that a weaker
 *   scan never softens the reason or the override release needs;
 * - staff's states (rejected, released): unchanged. */
static int commit_held(sqlite3_stmt *s, const struct fw_store_commit *c, const struct commit_plan *p)
{
	enum fw_verdict nv = c->verdict;
	bool keep_old;

	if (p->new_state == FW_OBJ_REJECTED || p->new_state == FW_OBJ_RELEASED)
		return sqlite3_bind_null(s, 5) != SQLITE_OK || sqlite3_bind_null(s, 6) != SQLITE_OK ||
		       sqlite3_bind_null(s, 7) != SQLITE_OK ? -1 : 0;
	keep_old = p->new_state == FW_OBJ_QUARANTINED && p->old_state == FW_OBJ_QUARANTINED &&
		   (nv == FW_VERDICT_PENDING || p->old_verdict > nv);
	if (keep_old)
		return store_bind_text(s, 5, fw_verdict_name(p->old_verdict)) != 0 ||
		       store_bind_text(s, 6, p->old_reason) != 0 || sqlite3_bind_null(s, 7) != SQLITE_OK ? -1 : 0;
	/* The new scan says it all (and the sandbox no longer holds it). */
	return store_bind_text(s, 5, "") != 0 || store_bind_text(s, 6, "") != 0 || store_bind_text(s, 7, "") != 0
		? -1 : 0;
}

static int commit_object(struct fw_store *st, const struct fw_store_commit *c, struct commit_plan *p,
			 int64_t now, struct fw_err *err)
{
	STORE_SQL(ins, "INSERT INTO objects (sha256, size, mime, file_type, state, blob, first_seen)"
				  " VALUES (?1, ?2, ?3, ?4, ?5, 'present', ?6)");
	/* The held verdict (?5, ?6, ?7; NULL keeps it): see commit_held. */
	STORE_SQL(upd, "UPDATE objects SET state = ?2, blob = 'present',"
				  " held_verdict = coalesce(?5, held_verdict), held_reason = coalesce(?6, held_reason),"
				  " held_by = coalesce(?7, held_by),"
				  " mime = coalesce(nullif(?3, ''), mime),"
				  " file_type = coalesce(nullif(?4, ''), file_type) WHERE id = ?1");
	const json_t *doc = c->scan_doc;
	const char *mime = json_string_value(json_object_get(doc, "mime"));
	const char *ftype = json_string_value(json_object_get(doc, "file_type"));
	sqlite3_stmt *s = store_stmt(st, p->known ? upd : ins, err);

	if (s == NULL)
		return -1;
	if (p->known) {
		if (sqlite3_bind_int64(s, 1, p->id) != SQLITE_OK || commit_held(s, c, p) != 0)
			return store_db_err(st, err, "cannot record the object");
	} else if (store_bind_text(s, 1, c->sha256) != 0 || sqlite3_bind_int64(s, 2, (int64_t)c->size) != SQLITE_OK ||
		   sqlite3_bind_int64(s, 6, now) != SQLITE_OK) {
		return store_db_err(st, err, "cannot record the object");
	}
	if (store_bind_text(s, 3, mime ? mime : "") != 0 ||
	    store_bind_text(s, 4, ftype ? ftype : "") != 0 ||
	    store_bind_text(s, p->known ? 2 : 5, fw_object_state_name(p->new_state)) != 0 ||
	    sqlite3_step(s) != SQLITE_DONE)
		return store_db_err(st, err, "cannot record the object");
	if (!p->known)
		p->id = sqlite3_last_insert_rowid(st->w.db);
	return 0;
}

static int commit_member(struct fw_store *st, int64_t scan_id, const json_t *m, struct fw_err *err)
{
	STORE_SQL(sql, "INSERT INTO members (scan_id, path, depth, size, sha256, mime, file_type, verdict)"
				  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
	static const char *const keys[] = { "sha256", "mime", "file_type", "verdict" };
	const char *path = json_string_value(json_object_get(m, "path"));
	sqlite3_stmt *s;

	if (path == NULL)
		return 0; /* not a member the scanner wrote: nothing to record */
	s = store_stmt(st, sql, err);
	if (s == NULL)
		return -1;
	if (sqlite3_bind_int64(s, 1, scan_id) != SQLITE_OK || store_bind_text(s, 2, path) != 0 ||
	    sqlite3_bind_int64(s, 3, json_integer_value(json_object_get(m, "depth"))) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 4, json_integer_value(json_object_get(m, "size"))) != SQLITE_OK)
		return store_db_err(st, err, "cannot record a member");
	for (int i = 0; i < (int)FW_ARRAY_LEN(keys); i++) {
		const char *v = json_string_value(json_object_get(m, keys[i]));

		if (store_bind_text(s, 5 + i, v ? v : "") != 0)
			return store_db_err(st, err, "cannot record a member");
	}
	if (sqlite3_step(s) != SQLITE_DONE)
		return store_db_err(st, err, "cannot record a member");
	return 0;
}

static int commit_scan(struct fw_store *st, const struct fw_store_commit *c, int64_t object_id, int64_t now,
		       struct fw_err *err)
{
	STORE_SQL(sql, "INSERT INTO scans (object_id, time, engine, verdict, reason, doc)"
				  " VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
	const json_t *members = json_object_get(c->scan_doc, "members");
	char *doc = NULL;
	sqlite3_stmt *s;
	int64_t scan_id;
	int rc = -1;

	if (c->scan_doc != NULL) {
		doc = json_dumps(c->scan_doc, JSON_COMPACT);
		if (doc == NULL)
			return fw_err_set(err, "cannot serialize the verdict document");
	}
	s = store_stmt(st, sql, err);
	if (s == NULL)
		goto out;
	if (sqlite3_bind_int64(s, 1, object_id) != SQLITE_OK || sqlite3_bind_int64(s, 2, now) != SQLITE_OK ||
	    store_bind_text(s, 3, c->engine ? c->engine : "") != 0 ||
	    store_bind_text(s, 4, fw_verdict_name(c->verdict)) != 0 ||
	    store_bind_text(s, 5, c->reason) != 0 || store_bind_text(s, 6, doc) != 0 ||
	    sqlite3_step(s) != SQLITE_DONE) {
		store_db_err(st, err, "cannot record the scan");
		goto out;
	}
	scan_id = sqlite3_last_insert_rowid(st->w.db);
	for (size_t i = 0; i < json_array_size(members) && i < STORE_MEMBERS_MAX; i++)
		if (json_is_object(json_array_get(members, i)) &&
		    commit_member(st, scan_id, json_array_get(members, i), err) != 0)
			goto out;
	rc = 0;
out:
	free(doc);
	return rc;
}

int store_commit_url_tx(struct fw_store *st, const struct fw_store_commit *c, int64_t object_id, int64_t now,
			struct fw_err *err)
{
	STORE_SQL(sql, "INSERT INTO urls (url, object_id, etag, last_modified, fetched_at, verified_at, fields, host)"
				  " VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?7) ON CONFLICT (url) DO UPDATE SET"
				  " object_id = excluded.object_id, etag = excluded.etag,"
				  " last_modified = excluded.last_modified, fetched_at = excluded.fetched_at,"
				  " verified_at = excluded.verified_at, fields = excluded.fields, host = excluded.host");
	/* Fields too long to be kept whole are not kept: cut ones could end
	 * in the middle of a line. */
	const char *fields = c->fields != NULL && strlen(c->fields) < FW_URL_FIELDS_MAX ? c->fields : "";
	const char *etag = store_validator(c->etag, FW_ETAG_MAX);
	const char *lastmod = store_validator(c->last_modified, FW_LASTMOD_MAX);
	char host[STORE_URL_HOST_MAX];
	sqlite3_stmt *s = store_stmt(st, sql, err);

	if (s == NULL)
		return -1;
	if (store_url_host(c->url, host, sizeof(host)) != 0)
		host[0] = '\0'; /* found by no host filter; the URL is kept all the same */
	if (store_bind_text(s, 1, c->url) != 0 || sqlite3_bind_int64(s, 2, object_id) != SQLITE_OK ||
	    store_bind_text(s, 3, etag ? etag : "") != 0 || store_bind_text(s, 4, lastmod ? lastmod : "") != 0 ||
	    sqlite3_bind_int64(s, 5, now) != SQLITE_OK || store_bind_text(s, 6, fields) != 0 ||
	    store_bind_text(s, 7, host) != 0 || sqlite3_step(s) != SQLITE_DONE)
		return store_db_err(st, err, "cannot record the URL");
	return 0;
}

static int commit_records(struct fw_store *st, const struct fw_store_commit *c, struct commit_plan *p,
			  struct fw_err *err)
{
	int64_t now = (int64_t)time(NULL);

	if (commit_object(st, c, p, now, err) != 0 || commit_scan(st, c, p->id, now, err) != 0 ||
	    store_commit_url_tx(st, c, p->id, now, err) != 0)
		return -1;
	/* A pending scan: its members, linked here, in the same transaction,
	 * replacing an earlier scan's, so that nothing sees the object pending
	 * on a partial set or on an earlier scan's jobs; also for an object
	 * that stays quarantined (a staff retry reopens it on these). */
	if (c->verdict == FW_VERDICT_PENDING &&
	    (p->new_state == FW_OBJ_PENDING || p->new_state == FW_OBJ_QUARANTINED)) {
		unsigned created = 0;

		if (store_sandbox_unlink_tx(st, p->id, err) != 0 ||
		    store_sandbox_attach_tx(st, p->id, c->sandbox, c->n_sandbox, c->sandbox_backend,
					    c->sandbox_reuse_since, NULL, &created, err) != 0)
			return -1;
	}
	return 0;
}

int store_commit_prepare(const struct fw_store_commit *c, struct fw_err *err)
{
	if (commit_check(c, err) != 0)
		return -1;
	/* The file's bytes are durable before any name points at them. Done
	 * before the write lock: it is the slow part for a large image. */
	if (fchmod(c->spool_fd, 0600) != 0)
		return fw_err_sys(err, errno, "cannot restrict the spool file \"%s\" to its owner", c->spool_path);
	if (fsync(c->spool_fd) != 0)
		return fw_err_sys(err, errno, "cannot sync the spool file \"%s\"", c->spool_path);
	return 0;
}

int store_commit_tx(struct fw_store *st, const struct fw_store_commit *c, struct store_commit_undo *u,
		    enum fw_object_state *state, int64_t *object_id, struct fw_err *err)
{
	struct commit_plan p = { .known = false, .u = u };

	/* The caller holds the write lock and the transaction, so that two
	 * processes committing one hash cannot both decide from a stale state. */
	if (commit_plan_read(st, c, &p, err) != 0 || commit_transition(st, c, &p, err) != 0 ||
	    commit_blob(st, c, &p, err) != 0 || commit_records(st, c, &p, err) != 0)
		return -1;
	*state = p.new_state;
	*object_id = p.id;
	return 0;
}

void store_commit_undo(struct fw_store *st, struct store_commit_undo *u)
{
	/* No record trusts a blob placed by a failed commit; one the
	 * transition moved goes back where the record says it is. */
	if (u->placed)
		unlink(u->placed_path);
	u->placed = false;
	store_lc_undo(st, &u->lc);
}

int fw_store_commit(struct fw_store *st, const struct fw_store_commit *c, enum fw_object_state *state,
		    int64_t *object_id, struct fw_err *err)
{
	struct store_commit_undo u = { .placed = false, .lc.n = 0 };
	int rc = -1;

	*state = FW_OBJ_QUARANTINED;
	*object_id = 0;
	if (store_commit_prepare(c, err) != 0)
		return -1;
	store_lock(st);
	if (store_tx_begin(st, err) != 0 || store_commit_tx(st, c, &u, state, object_id, err) != 0 ||
	    store_tx_commit(st, err) != 0)
		goto out;
	rc = 0;
out:
	if (rc != 0) {
		store_tx_rollback(st);
		store_commit_undo(st, &u);
		*state = FW_OBJ_QUARANTINED;
		*object_id = 0;
	}
	store_unlock(st);
	return rc;
}

/* ------------------------------------------------------------ lookups */

static int lookup_fill(sqlite3_stmt *s, struct fw_url_entry *e)
{
	const char *verdict = sqlite3_column_type(s, 8) == SQLITE_NULL ? "unscannable" : store_col_text(s, 8);
	bool reviewed = sqlite3_column_type(s, 10) != SQLITE_NULL;

	e->object_id = sqlite3_column_int64(s, 0);
	e->size = (uint64_t)sqlite3_column_int64(s, 2);
	e->fetched_at = sqlite3_column_int64(s, 6);
	e->verified_at = sqlite3_column_int64(s, 7);
	if (store_col_copy(s, 1, e->sha256, sizeof(e->sha256)) != 0 ||
	    store_state_parse(store_col_text(s, 3), &e->state) != 0 ||
	    store_col_copy(s, 4, e->etag, sizeof(e->etag)) != 0 ||
	    store_col_copy(s, 5, e->last_modified, sizeof(e->last_modified)) != 0 ||
	    fw_verdict_parse(verdict, &e->verdict) != 0 ||
	    store_col_copy(s, reviewed ? 10 : 9, e->reason, sizeof(e->reason)) != 0 ||
	    store_col_copy(s, 12, e->fields, sizeof(e->fields)) != 0)
		return -1;
	return 0;
}

int fw_store_lookup_url(struct fw_store *st, const char *url, struct fw_url_entry *e, struct fw_err *err)
{
	STORE_SQL(sql, "SELECT o.id, o.sha256, o.size, o.state, u.etag, u.last_modified, u.fetched_at, u.verified_at,"
		" " STORE_EFFECTIVE_VERDICT ", " STORE_EFFECTIVE_REASON ","
		" o.review_reason, o.blob, u.fields"
		" FROM urls u JOIN objects o ON o.id = u.object_id"
		" LEFT JOIN scans s ON s.id = (SELECT max(id) FROM scans WHERE object_id = o.id)"
		" WHERE u.url = ?1");
	sqlite3_stmt *s;
	int rc = -1, r;

	memset(e, 0, sizeof(*e));
	store_rlock(st);
	s = store_stmt(st, sql, err);
	if (s == NULL)
		goto out;
	if (store_bind_text(s, 1, url) != 0) {
		store_db_err(st, err, "cannot look up a URL");
		goto out;
	}
	r = sqlite3_step(s);
	if (r == SQLITE_DONE) {
		rc = 0;
	} else if (r != SQLITE_ROW) {
		store_db_err(st, err, "cannot look up a URL");
	} else if (lookup_fill(s, e) != 0) {
		memset(e, 0, sizeof(*e));
		fw_err_set(err, "the store's record of the URL is malformed");
	} else if (fw_object_state_servable(e->state) && strcmp(store_col_text(s, 11), "present") != 0) {
		/* A servable object whose blob was lost or moved aside: unknown,
		 * so the caller fetches and vets it again and the commit puts
		 * the blob back, instead of a refusal until someone repairs it.
		 * Refused states are still answered: they need no blob. */
		memset(e, 0, sizeof(*e));
		rc = 0;
	} else {
		rc = 1;
	}
out:
	store_unlock(st);
	return rc;
}

int fw_store_lookup_hash(struct fw_store *st, const char *sha256, enum fw_object_state *state, int64_t *id,
			 struct fw_err *err)
{
	STORE_SQL(sql, "SELECT state, id FROM objects WHERE sha256 = ?1");
	sqlite3_stmt *s;
	int rc = -1, r;

	if (!store_sha256_valid(sha256))
		return fw_err_set(err, "\"%.80s\" is not a SHA-256 in lower-case hex", sha256);
	store_rlock(st);
	s = store_stmt(st, sql, err);
	if (s == NULL)
		goto out;
	if (store_bind_text(s, 1, sha256) != 0) {
		store_db_err(st, err, "cannot look up a hash");
		goto out;
	}
	r = sqlite3_step(s);
	if (r == SQLITE_DONE)
		rc = 0;
	else if (r != SQLITE_ROW)
		store_db_err(st, err, "cannot look up a hash");
	else if (store_state_parse(store_col_text(s, 0), state) != 0)
		fw_err_set(err, "the store's record of %s has an unknown state", sha256);
	else
		rc = 1;
	if (rc == 1 && id != NULL)
		*id = sqlite3_column_int64(s, 1);
out:
	store_unlock(st);
	return rc;
}

int fw_store_mark_verified(struct fw_store *st, const char *url, const char *etag, const char *last_modified,
			   struct fw_err *err)
{
	STORE_SQL(sql, "UPDATE urls SET verified_at = ?2, etag = coalesce(?3, etag),"
				  " last_modified = coalesce(?4, last_modified) WHERE url = ?1");
	sqlite3_stmt *s;
	int rc = -1;

	store_lock(st);
	s = store_stmt(st, sql, err);
	if (s == NULL)
		goto out;
	if (store_bind_text(s, 1, url) != 0 || sqlite3_bind_int64(s, 2, (int64_t)time(NULL)) != SQLITE_OK ||
	    store_bind_text(s, 3, store_validator(etag, FW_ETAG_MAX)) != 0 ||
	    store_bind_text(s, 4, store_validator(last_modified, FW_LASTMOD_MAX)) != 0 ||
	    sqlite3_step(s) != SQLITE_DONE) {
		store_db_err(st, err, "cannot stamp a revalidation");
		goto out;
	}
	if (sqlite3_changes(st->w.db) == 0) {
		fw_err_set(err, "the store has no record of the URL to mark as revalidated");
		goto out;
	}
	rc = 0;
out:
	store_unlock(st);
	return rc;
}
