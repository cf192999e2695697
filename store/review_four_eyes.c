/* Staff's decisions on a held-back object, the one path of every release
 * and reject from the CLI and the console: a release at once, or with four
 * eyes a request that a second reviewer confirms; a reject, which closes
 * an open request; the withdrawal of a request; the open requests. Each is
 * one transaction with its audit rows (naming who and via), and what a
 * decision may do to the object is the life-cycle table's (an infected
 * verdict needs the override; rejected is final). Must not check roles:
 * who may request, confirm or override is the console's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/store_int.h"

/* An open release request, as read in the decision's transaction. */
struct review_request {
	char requested_by[257];
	char via[STORE_VIA_MAX + 1];
	char reason[FW_ERR_MSG_MAX];
	bool override_infected;
	int64_t requested_at;
};

/* What one call decides. via is NULL for the calls that predate it
 * (fw_store_release, fw_store_reject): their rows say no via. */
struct review_call {
	int64_t id;
	const char *reason;
	const char *who;
	const char *via;
	bool override;
};

static int review_check_words(const struct review_call *c, struct fw_err *err)
{
	if (c->reason[0] == '\0' || strlen(c->reason) >= FW_ERR_MSG_MAX)
		return fw_err_setc(err, FW_E_INVALID, "a review decision needs a reason of 1 to %d characters",
				   FW_ERR_MSG_MAX - 1);
	if (c->who[0] == '\0')
		return fw_err_setc(err, FW_E_INVALID, "a review decision needs the reviewer's name");
	return c->via != NULL ? store_actor_check(c->who, c->via, err) : 0;
}

/* " via VIA", or "" for a call without one. */
static const char *review_via_words(const char *via, char *buf, size_t len)
{
	if (via == NULL)
		return "";
	snprintf(buf, len, " via %s", via);
	return buf;
}

/* 1 and *r when object id has an open request, 0 when not. */
static int review_request_read(struct fw_store *st, int64_t id, struct review_request *r, struct fw_err *err)
{
	STORE_SQL(sql, "SELECT requested_by, via, reason, override_infected, requested_at FROM release_requests"
				  " WHERE object_id = ?1");
	sqlite3_stmt *s = store_stmt(st, sql, err);
	int rc;

	memset(r, 0, sizeof(*r));
	if (s == NULL)
		return -1;
	if (sqlite3_bind_int64(s, 1, id) != SQLITE_OK)
		return store_db_err(st, err, "cannot read a release request");
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return store_db_err(st, err, "cannot read a release request");
	if (store_col_copy(s, 0, r->requested_by, sizeof(r->requested_by)) != 0 ||
	    store_col_copy(s, 1, r->via, sizeof(r->via)) != 0 || store_col_copy(s, 2, r->reason, sizeof(r->reason)) != 0)
		return fw_err_set(err, "the release request of object %lld is malformed", (long long)id);
	r->override_infected = sqlite3_column_int(s, 3) != 0;
	r->requested_at = sqlite3_column_int64(s, 4);
	return 1;
}

static int review_request_delete(struct fw_store *st, int64_t id, struct fw_err *err)
{
	STORE_SQL(sql, "DELETE FROM release_requests WHERE object_id = ?1");
	sqlite3_stmt *s = store_stmt(st, sql, err);

	if (s == NULL)
		return -1;
	if (sqlite3_bind_int64(s, 1, id) != SQLITE_OK || sqlite3_step(s) != SQLITE_DONE)
		return store_db_err(st, err, "cannot close a release request");
	return 0;
}

/* Reads the object and the life-cycle row ev would take: an unknown object
 * (FW_E_NOTFOUND) or a refused row is an error, said as the release and
 * reject have always said it. why: the verdict it is held under. */
static int review_read_object(struct fw_store *st, const struct review_call *c, enum store_event ev,
			      struct store_lc_obj *o, enum fw_verdict *verdict, char *why, size_t why_len,
			      struct fw_err *err)
{
	const struct store_lc_row *row;
	int r = store_lc_read(st, c->id, o, verdict, why, why_len, err);

	if (r == 0)
		return fw_err_setc(err, FW_E_NOTFOUND, "the store has no object %lld", (long long)c->id);
	if (r < 0)
		return -1;
	if (c->override)
		o->facts |= STORE_F_OVERRIDE;
	row = store_lc_step(o->state, ev, o->facts);
	if (row->refused == NULL)
		return 0;
	if ((o->facts & (STORE_F_INFECTED | STORE_F_JOB_MALICIOUS)) && o->state == FW_OBJ_QUARANTINED)
		return fw_err_setc(err, FW_E_DENIED, "object %lld %s (%.400s)", (long long)c->id, row->refused,
				   why[0] ? why : "no scan on record");
	return fw_err_setc(err, FW_E_DENIED, "object %lld %s", (long long)c->id, row->refused);
}

static bool review_infected(const struct store_lc_obj *o)
{
	return (o->facts & (STORE_F_INFECTED | STORE_F_JOB_MALICIOUS)) != 0;
}

static int review_columns(struct fw_store *st, int64_t id, const char *reason, const char *by, struct fw_err *err)
{
	STORE_SQL(sql, "UPDATE objects SET review_reason = ?2, reviewed_by = ?3, reviewed_at = ?4 WHERE id = ?1");
	sqlite3_stmt *s = store_stmt(st, sql, err);

	if (s == NULL)
		return -1;
	if (store_bind_text(s, 2, reason) != 0 || store_bind_text(s, 3, by) != 0 ||
	    sqlite3_bind_int64(s, 1, id) != SQLITE_OK || sqlite3_bind_int64(s, 4, (int64_t)time(NULL)) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_DONE)
		return store_db_err(st, err, "cannot record the review decision");
	return 0;
}

/* The decision carried out in the caller's transaction: the life-cycle
 * row (blob moved, state, the audit row with detail), the review's own
 * columns, and the open request closed. */
static int review_apply_tx(struct fw_store *st, const struct review_call *c, enum store_event ev,
			   struct store_lc_obj *o, enum fw_verdict verdict, const char *why, const char *detail,
			   const char *by, struct store_lc_undo *undo, struct fw_err *err)
{
	if (store_lc_apply(st, o, ev, verdict, why, c->who, detail, undo, NULL, err) != 0 ||
	    review_columns(st, c->id, c->reason, by, err) != 0 || review_request_delete(st, c->id, err) != 0)
		return -1;
	return 0;
}

/* A release at once (four eyes off, or a caller without them). */
static int review_release_now_tx(struct fw_store *st, const struct review_call *c, struct store_lc_undo *undo,
				 struct fw_err *err)
{
	char why[FW_ERR_MSG_MAX], viaw[STORE_VIA_MAX + 8], detail[2 * FW_ERR_MSG_MAX + 256];
	enum fw_verdict verdict;
	struct store_lc_obj o;

	if (review_read_object(st, c, STORE_EV_STAFF_RELEASE, &o, &verdict, why, sizeof(why), err) != 0)
		return -1;
	if (review_infected(&o))
		snprintf(detail, sizeof(detail), "released despite an infected verdict (%s)%s: %s", why,
			 review_via_words(c->via, viaw, sizeof(viaw)), c->reason);
	else
		snprintf(detail, sizeof(detail), "released (verdict %s)%s: %s", fw_verdict_name(verdict),
			 review_via_words(c->via, viaw, sizeof(viaw)), c->reason);
	return review_apply_tx(st, c, STORE_EV_STAFF_RELEASE, &o, verdict, why, detail, c->who, undo, err);
}

/* The first reviewer: the release is checked as it would be carried out,
 * then recorded as a request. */
static int review_request_tx(struct fw_store *st, const struct review_call *c, struct fw_err *err)
{
	STORE_SQL(sql, "INSERT INTO release_requests (object_id, requested_by, via, reason, override_infected,"
				  " requested_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
	char why[FW_ERR_MSG_MAX], detail[2 * FW_ERR_MSG_MAX + 256];
	enum fw_verdict verdict;
	struct store_lc_obj o;
	sqlite3_stmt *s;

	if (review_read_object(st, c, STORE_EV_STAFF_RELEASE, &o, &verdict, why, sizeof(why), err) != 0)
		return -1;
	s = store_stmt(st, sql, err);
	if (s == NULL)
		return -1;
	if (sqlite3_bind_int64(s, 1, c->id) != SQLITE_OK || store_bind_text(s, 2, c->who) != 0 ||
	    store_bind_text(s, 3, c->via) != 0 || store_bind_text(s, 4, c->reason) != 0 ||
	    sqlite3_bind_int(s, 5, c->override) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 6, (int64_t)time(NULL)) != SQLITE_OK || sqlite3_step(s) != SQLITE_DONE)
		return store_db_err(st, err, "cannot record the release request");
	if (review_infected(&o))
		snprintf(detail, sizeof(detail), "release requested despite an infected verdict (%s) via %s: %s", why,
			 c->via, c->reason);
	else
		snprintf(detail, sizeof(detail), "release requested (verdict %s) via %s: %s", fw_verdict_name(verdict),
			 c->via, c->reason);
	return store_audit_append_tx(st, "release-request", c->who, c->id, detail, err);
}

/* The second reviewer: confirms another's request (release-confirm, then
 * the release row naming both). */
static int review_confirm_tx(struct fw_store *st, const struct review_call *c, const struct review_request *q,
			     struct store_lc_undo *undo, struct fw_err *err)
{
	char why[FW_ERR_MSG_MAX], detail[3 * FW_ERR_MSG_MAX + 1024], by[600];
	enum fw_verdict verdict;
	struct store_lc_obj o;

	if (review_read_object(st, c, STORE_EV_STAFF_RELEASE, &o, &verdict, why, sizeof(why), err) != 0)
		return -1;
	if (review_infected(&o) && !q->override_infected)
		return fw_err_setc(err, FW_E_DENIED, "object %lld is infected (%.400s) and the release request by %s "
				   "did not ask for the override: it must be cancelled and requested again with the "
				   "override (--override-infected)", (long long)c->id, why, q->requested_by);
	snprintf(detail, sizeof(detail), "confirms the release requested by %s via %s (%s) via %s: %s",
		 q->requested_by, q->via, q->reason, c->via, c->reason);
	if (store_audit_append_tx(st, "release-confirm", c->who, c->id, detail, err) != 0)
		return -1;
	snprintf(detail, sizeof(detail), "released %s (%s): requested by %s via %s: %s; confirmed by %s via %s: %s",
		 review_infected(&o) ? "despite an infected verdict" : "after four-eyes review",
		 review_infected(&o) ? why : fw_verdict_name(verdict), q->requested_by, q->via, q->reason, c->who,
		 c->via, c->reason);
	snprintf(by, sizeof(by), "%s (requested by %s)", c->who, q->requested_by);
	return review_apply_tx(st, c, STORE_EV_STAFF_RELEASE, &o, verdict, why, detail, by, undo, err);
}

/* Runs the release in one transaction; *outcome says what it did. */
static int review_release(struct fw_store *st, const struct review_call *c, bool four_eyes,
			  enum fw_release_outcome *outcome, struct fw_err *err)
{
	struct store_lc_undo undo = { .n = 0 };
	enum fw_release_outcome done;
	struct review_request q;
	int r, rc = -1;

	store_lock(st);
	if (store_tx_begin(st, err) != 0)
		goto out;
	r = four_eyes ? review_request_read(st, c->id, &q, err) : 0;
	if (r < 0)
		goto fail;
	if (r == 1 && strcmp(q.requested_by, c->who) == 0) {
		fw_err_setc(err, FW_E_DENIED, "object %lld: the release was requested by %s: a second reviewer must "
			    "confirm it", (long long)c->id, c->who);
		goto fail;
	}
	done = four_eyes && r == 0 ? FW_RELEASE_REQUESTED : FW_RELEASE_DONE;
	if (!four_eyes)
		r = review_release_now_tx(st, c, &undo, err);
	else if (r == 0)
		r = review_request_tx(st, c, err);
	else
		r = review_confirm_tx(st, c, &q, &undo, err);
	if (r != 0 || store_tx_commit(st, err) != 0)
		goto fail;
	*outcome = done;
	rc = 0;
	goto out;
fail:
	store_tx_rollback(st);
	store_lc_undo(st, &undo);
out:
	store_unlock(st);
	return rc;
}

static int review_reject(struct fw_store *st, const struct review_call *c, struct fw_err *err)
{
	char why[FW_ERR_MSG_MAX], viaw[STORE_VIA_MAX + 8], closed[FW_ERR_MSG_MAX + 64] = "";
	char detail[3 * FW_ERR_MSG_MAX + 256];
	struct store_lc_undo undo = { .n = 0 };
	struct review_request q;
	enum fw_verdict verdict;
	struct store_lc_obj o;
	int r, rc = -1;

	store_lock(st);
	if (store_tx_begin(st, err) != 0)
		goto out;
	r = review_request_read(st, c->id, &q, err);
	if (r < 0 || review_read_object(st, c, STORE_EV_STAFF_REJECT, &o, &verdict, why, sizeof(why), err) != 0)
		goto fail;
	if (r == 1)
		snprintf(closed, sizeof(closed), "; the release request by %s is closed", q.requested_by);
	snprintf(detail, sizeof(detail), "rejected (was %s)%s: %s%s", fw_object_state_name(o.state),
		 review_via_words(c->via, viaw, sizeof(viaw)), c->reason, closed);
	if (review_apply_tx(st, c, STORE_EV_STAFF_REJECT, &o, verdict, why, detail, c->who, &undo, err) != 0 ||
	    store_tx_commit(st, err) != 0)
		goto fail;
	rc = 0;
	goto out;
fail:
	store_tx_rollback(st);
	store_lc_undo(st, &undo);
out:
	store_unlock(st);
	return rc;
}

/* ------------------------------------------------------------ the calls */

int fw_store_release(struct fw_store *st, int64_t id, const char *reason, const char *who, bool override_infected,
		     struct fw_err *err)
{
	struct review_call c = { .id = id, .reason = reason, .who = who, .override = override_infected };
	enum fw_release_outcome outcome;

	if (review_check_words(&c, err) != 0)
		return -1;
	return review_release(st, &c, false, &outcome, err);
}

int fw_store_reject(struct fw_store *st, int64_t id, const char *reason, const char *who, struct fw_err *err)
{
	struct review_call c = { .id = id, .reason = reason, .who = who };

	if (review_check_words(&c, err) != 0)
		return -1;
	return review_reject(st, &c, err);
}

int fw_store_review_release(struct fw_store *st, int64_t id, const char *reason, const char *who, const char *via,
			    bool override_infected, bool four_eyes, enum fw_release_outcome *outcome,
			    struct fw_err *err)
{
	struct review_call c = { .id = id, .reason = reason, .who = who, .via = via, .override = override_infected };

	if (review_check_words(&c, err) != 0)
		return -1;
	return review_release(st, &c, four_eyes, outcome, err);
}

int fw_store_review_reject(struct fw_store *st, int64_t id, const char *reason, const char *who, const char *via,
			   struct fw_err *err)
{
	struct review_call c = { .id = id, .reason = reason, .who = who, .via = via };

	if (review_check_words(&c, err) != 0)
		return -1;
	return review_reject(st, &c, err);
}

static int review_cancel_tx(struct fw_store *st, int64_t id, const char *who, const char *via, struct fw_err *err)
{
	char detail[2 * FW_ERR_MSG_MAX + 256];
	struct review_request q;
	int r = review_request_read(st, id, &q, err);

	if (r < 0)
		return -1;
	if (r == 0)
		return fw_err_setc(err, FW_E_NOTFOUND, "object %lld has no open release request", (long long)id);
	snprintf(detail, sizeof(detail), "withdrew the release requested by %s via %s (%s) via %s", q.requested_by,
		 q.via, q.reason, via);
	if (review_request_delete(st, id, err) != 0 || store_audit_append_tx(st, "release-cancel", who, id, detail, err) != 0)
		return -1;
	return 0;
}

int fw_store_review_cancel(struct fw_store *st, int64_t id, const char *who, const char *via, struct fw_err *err)
{
	int rc = -1;

	if (store_actor_check(who, via, err) != 0)
		return -1;
	store_lock(st);
	if (store_tx_begin(st, err) != 0)
		goto out;
	if (review_cancel_tx(st, id, who, via, err) != 0 || store_tx_commit(st, err) != 0) {
		store_tx_rollback(st);
		goto out;
	}
	rc = 0;
out:
	store_unlock(st);
	return rc;
}

/* ------------------------------------------------------------ views */

static json_t *review_request_row_json(sqlite3_stmt *s, int col)
{
	return json_pack("{s:s, s:s, s:s, s:b, s:I}", "requested_by", store_col_text(s, col), "via",
			 store_col_text(s, col + 1), "reason", store_col_text(s, col + 2), "override_infected",
			 sqlite3_column_int(s, col + 3) != 0, "requested_at",
			 (json_int_t)sqlite3_column_int64(s, col + 4));
}

int store_review_request_json(struct fw_store *st, int64_t object_id, json_t **out, struct fw_err *err)
{
	STORE_SQL(sql, "SELECT requested_by, via, reason, override_infected, requested_at FROM release_requests"
				  " WHERE object_id = ?1");
	sqlite3_stmt *s = store_stmt(st, sql, err);
	int r;

	*out = NULL;
	if (s == NULL)
		return -1;
	if (sqlite3_bind_int64(s, 1, object_id) != SQLITE_OK)
		return store_db_err(st, err, "cannot read a release request");
	r = sqlite3_step(s);
	if (r == SQLITE_DONE)
		*out = json_null();
	else if (r == SQLITE_ROW)
		*out = review_request_row_json(s, 0);
	else
		return store_db_err(st, err, "cannot read a release request");
	return *out != NULL ? 0 : fw_err_setc(err, FW_E_NOMEM, "out of memory");
}

/* One row of the open requests: the request, then the object. */
static json_t *review_pending_json(sqlite3_stmt *s)
{
	json_t *o = review_request_row_json(s, 1);

	if (o == NULL || json_object_set_new(o, "object_id", json_integer((json_int_t)sqlite3_column_int64(s, 0))) != 0 ||
	    json_object_set_new(o, "url", store_json_text_or_null(s, 6)) != 0 ||
	    json_object_set_new(o, "sha256", json_string(store_col_text(s, 7))) != 0 ||
	    json_object_set_new(o, "size", json_integer((json_int_t)sqlite3_column_int64(s, 8))) != 0 ||
	    json_object_set_new(o, "state", json_string(store_col_text(s, 9))) != 0 ||
	    json_object_set_new(o, "verdict", json_string(sqlite3_column_type(s, 10) == SQLITE_NULL
							   ? "unscannable" : store_col_text(s, 10))) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int fw_store_review_pending(struct fw_store *st, json_t **out, struct fw_err *err)
{
	STORE_SQL(sql, "SELECT r.object_id, r.requested_by, r.via, r.reason, r.override_infected, r.requested_at,"
		" (SELECT url FROM urls WHERE object_id = o.id ORDER BY fetched_at DESC, url LIMIT 1),"
		" o.sha256, o.size, o.state, " STORE_EFFECTIVE_VERDICT
		" FROM release_requests r JOIN objects o ON o.id = r.object_id"
		" LEFT JOIN scans s ON s.id = (SELECT max(id) FROM scans WHERE object_id = o.id)"
		" ORDER BY r.requested_at, r.object_id");
	return store_list_json(st, sql, review_pending_json, "cannot list the release requests", out, err);
}
