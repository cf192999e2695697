/* The object life cycle as data (after OpenSSH monitor.c's dispatch
 * table): every state x event, with the facts a row needs or refuses, says
 * the new state, where the blob lives, what is held and what is audited, or
 * why the event is refused. One function carries a row out. Must not judge:
 * a verdict comes in as the event (the scanner's, fw_sandbox_verdict's,
 * staff's); when a fix wants another clause somewhere, a row is missing. */
#include <stdio.h>
#include <string.h>

#include "store/store_int.h"

#define A_OBJ STORE_AREA_OBJECTS
#define A_QUA STORE_AREA_QUARANTINE

#define NEW STORE_OBJ_NEW
#define APR FW_OBJ_APPROVED
#define QUA FW_OBJ_QUARANTINED
#define REJ FW_OBJ_REJECTED
#define REL FW_OBJ_RELEASED
#define PEN FW_OBJ_PENDING

#define F_INF STORE_F_INFECTED
#define F_JOBM STORE_F_JOB_MALICIOUS
#define F_SCANP STORE_F_SCAN_PENDING
#define F_SBX STORE_F_HELD_BY_SANDBOX
#define F_REV STORE_F_REVIEWED
#define F_OVR STORE_F_OVERRIDE

/* A transition, a state kept as it is, and a refusal. */
#define GO(f, e, need, refuse, t, area, held, action) \
	{ f, e, need, refuse, t, area, held, action, NULL }
#define STAY(f, e, area) { f, e, 0, 0, f, area, STORE_HELD_KEEP, NULL, NULL }
#define NO(f, e, area, why) { f, e, 0, 0, f, area, STORE_HELD_KEEP, NULL, why }

/* Rows of one (state, event) are tried in order; the last has no facts. */
static const struct store_lc_row lc_table[] = {
	/* Unknown so far: only a commit creates it. */
	GO(NEW, STORE_EV_SCAN_CLEAN, 0, 0, APR, A_OBJ, STORE_HELD_KEEP, NULL),
	GO(NEW, STORE_EV_SCAN_PENDING, 0, 0, PEN, A_QUA, STORE_HELD_KEEP, NULL),
	GO(NEW, STORE_EV_SCAN_NOT_CLEAN, 0, 0, QUA, A_QUA, STORE_HELD_KEEP, NULL),
	GO(NEW, STORE_EV_SCAN_INFECTED, 0, 0, QUA, A_QUA, STORE_HELD_KEEP, NULL),
	NO(NEW, STORE_EV_SANDBOX_APPROVE, A_QUA, "is not in the store"),
	NO(NEW, STORE_EV_SANDBOX_QUARANTINE, A_QUA, "is not in the store"),
	NO(NEW, STORE_EV_MEMBER_MALICIOUS, A_QUA, "is not in the store"),
	NO(NEW, STORE_EV_SANDBOX_RETRY, A_QUA, "is not in the store"),
	NO(NEW, STORE_EV_STAFF_RELEASE, A_QUA, "is not in the store"),
	NO(NEW, STORE_EV_STAFF_REJECT, A_QUA, "is not in the store"),
	NO(NEW, STORE_EV_REPAIR, A_QUA, "is not in the store"),

	/* Approved: a scan only ever makes it worse. */
	STAY(APR, STORE_EV_SCAN_CLEAN, A_OBJ),
	GO(APR, STORE_EV_SCAN_PENDING, 0, 0, PEN, A_QUA, STORE_HELD_KEEP, "rescan-quarantine"),
	GO(APR, STORE_EV_SCAN_NOT_CLEAN, 0, 0, QUA, A_QUA, STORE_HELD_KEEP, "rescan-quarantine"),
	GO(APR, STORE_EV_SCAN_INFECTED, 0, 0, QUA, A_QUA, STORE_HELD_KEEP, "rescan-quarantine"),
	STAY(APR, STORE_EV_SANDBOX_APPROVE, A_OBJ),     /* settled before: that stands */
	STAY(APR, STORE_EV_SANDBOX_QUARANTINE, A_OBJ),
	/* A member of it judged malicious (its links outlived a later clean
	 * scan): it is not served from then on. */
	GO(APR, STORE_EV_MEMBER_MALICIOUS, 0, 0, QUA, A_QUA, STORE_HELD_SET, "sandbox-quarantine"),
	/* Judged again: not served meanwhile. */
	GO(APR, STORE_EV_SANDBOX_RETRY, F_SCANP, 0, PEN, A_QUA, STORE_HELD_CLEAR, NULL),
	STAY(APR, STORE_EV_SANDBOX_RETRY, A_OBJ),
	NO(APR, STORE_EV_STAFF_RELEASE, A_OBJ, "is approved, not quarantined: there is nothing to release"),
	GO(APR, STORE_EV_STAFF_REJECT, 0, 0, REJ, A_QUA, STORE_HELD_KEEP, "reject"),
	GO(APR, STORE_EV_REPAIR, 0, 0, APR, A_OBJ, STORE_HELD_KEEP, "store-repair"),

	/* Pending: clean so far, jobs to hear from. */
	/* A job already judged a member malicious: a clean scan does not
	 * approve past it; the settle quarantines it. */
	GO(PEN, STORE_EV_SCAN_CLEAN, F_JOBM, 0, PEN, A_QUA, STORE_HELD_KEEP, NULL),
	GO(PEN, STORE_EV_SCAN_CLEAN, 0, 0, APR, A_OBJ, STORE_HELD_KEEP, "rescan-quarantine"), /* nothing left to judge */
	STAY(PEN, STORE_EV_SCAN_PENDING, A_QUA),
	GO(PEN, STORE_EV_SCAN_NOT_CLEAN, 0, 0, QUA, A_QUA, STORE_HELD_KEEP, "rescan-quarantine"),
	GO(PEN, STORE_EV_SCAN_INFECTED, 0, 0, QUA, A_QUA, STORE_HELD_KEEP, "rescan-quarantine"),
	GO(PEN, STORE_EV_SANDBOX_APPROVE, F_SCANP, F_JOBM, APR, A_OBJ, STORE_HELD_SET, "sandbox-approve"),
	{ PEN, STORE_EV_SANDBOX_APPROVE, F_JOBM, 0, PEN, A_QUA, STORE_HELD_KEEP, NULL,
	  "has a member a sandbox job judged malicious: the sandbox cannot approve it" },
	NO(PEN, STORE_EV_SANDBOX_APPROVE, A_QUA, "is pending on a scan that is not the scanner's clean one: "
					       "the sandbox cannot approve it"),
	GO(PEN, STORE_EV_SANDBOX_QUARANTINE, 0, 0, QUA, A_QUA, STORE_HELD_SET, "sandbox-quarantine"),
	STAY(PEN, STORE_EV_MEMBER_MALICIOUS, A_QUA),    /* the settle's */
	STAY(PEN, STORE_EV_SANDBOX_RETRY, A_QUA),
	NO(PEN, STORE_EV_STAFF_RELEASE, A_QUA, "is pending, not quarantined: there is nothing to release"),
	GO(PEN, STORE_EV_STAFF_REJECT, 0, 0, REJ, A_QUA, STORE_HELD_KEEP, "reject"),
	GO(PEN, STORE_EV_REPAIR, 0, 0, PEN, A_QUA, STORE_HELD_KEEP, "store-repair"),

	/* Quarantined: only staff take it out. */
	STAY(QUA, STORE_EV_SCAN_CLEAN, A_QUA),
	STAY(QUA, STORE_EV_SCAN_PENDING, A_QUA),
	STAY(QUA, STORE_EV_SCAN_NOT_CLEAN, A_QUA),
	STAY(QUA, STORE_EV_SCAN_INFECTED, A_QUA),
	STAY(QUA, STORE_EV_SANDBOX_APPROVE, A_QUA),
	STAY(QUA, STORE_EV_SANDBOX_QUARANTINE, A_QUA),
	GO(QUA, STORE_EV_MEMBER_MALICIOUS, 0, F_INF, QUA, A_QUA, STORE_HELD_RAISE, NULL),
	STAY(QUA, STORE_EV_MEMBER_MALICIOUS, A_QUA),
	/* Only what the sandbox's verdict quarantined, never reviewed, still
	 * scanner-clean, is judged again. */
	GO(QUA, STORE_EV_SANDBOX_RETRY, F_SBX | F_SCANP, F_REV, PEN, A_QUA, STORE_HELD_CLEAR, NULL),
	STAY(QUA, STORE_EV_SANDBOX_RETRY, A_QUA),
	GO(QUA, STORE_EV_STAFF_RELEASE, 0, F_INF | F_JOBM, REL, A_OBJ, STORE_HELD_KEEP, "release"),
	GO(QUA, STORE_EV_STAFF_RELEASE, F_OVR, 0, REL, A_OBJ, STORE_HELD_KEEP, "release-override"),
	NO(QUA, STORE_EV_STAFF_RELEASE, A_QUA, "is infected: releasing it needs the explicit override "
					      "(--override-infected)"),
	GO(QUA, STORE_EV_STAFF_REJECT, 0, 0, REJ, A_QUA, STORE_HELD_KEEP, "reject"),
	GO(QUA, STORE_EV_REPAIR, 0, 0, QUA, A_QUA, STORE_HELD_KEEP, "store-repair"),

	/* Rejected: final. */
	STAY(REJ, STORE_EV_SCAN_CLEAN, A_QUA),
	STAY(REJ, STORE_EV_SCAN_PENDING, A_QUA),
	STAY(REJ, STORE_EV_SCAN_NOT_CLEAN, A_QUA),
	STAY(REJ, STORE_EV_SCAN_INFECTED, A_QUA),
	STAY(REJ, STORE_EV_SANDBOX_APPROVE, A_QUA),
	STAY(REJ, STORE_EV_SANDBOX_QUARANTINE, A_QUA),
	STAY(REJ, STORE_EV_MEMBER_MALICIOUS, A_QUA),
	STAY(REJ, STORE_EV_SANDBOX_RETRY, A_QUA),
	NO(REJ, STORE_EV_STAFF_RELEASE, A_QUA, "was rejected: a rejected object cannot be released"),
	NO(REJ, STORE_EV_STAFF_REJECT, A_QUA, "is already rejected"),
	GO(REJ, STORE_EV_REPAIR, 0, 0, REJ, A_QUA, STORE_HELD_KEEP, "store-repair"),

	/* Released by staff: stands, unless infected now when they did not
	 * release it as infected. */
	STAY(REL, STORE_EV_SCAN_CLEAN, A_OBJ),
	STAY(REL, STORE_EV_SCAN_PENDING, A_OBJ),
	STAY(REL, STORE_EV_SCAN_NOT_CLEAN, A_OBJ),
	GO(REL, STORE_EV_SCAN_INFECTED, 0, F_INF, QUA, A_QUA, STORE_HELD_KEEP, "rescan-quarantine"),
	STAY(REL, STORE_EV_SCAN_INFECTED, A_OBJ),
	STAY(REL, STORE_EV_SANDBOX_APPROVE, A_OBJ),
	STAY(REL, STORE_EV_SANDBOX_QUARANTINE, A_OBJ),
	GO(REL, STORE_EV_MEMBER_MALICIOUS, 0, F_INF, QUA, A_QUA, STORE_HELD_SET, "sandbox-quarantine"),
	STAY(REL, STORE_EV_MEMBER_MALICIOUS, A_OBJ),
	STAY(REL, STORE_EV_SANDBOX_RETRY, A_OBJ),
	NO(REL, STORE_EV_STAFF_RELEASE, A_OBJ, "is released, not quarantined: there is nothing to release"),
	GO(REL, STORE_EV_STAFF_REJECT, 0, 0, REJ, A_QUA, STORE_HELD_KEEP, "reject"),
	GO(REL, STORE_EV_REPAIR, 0, 0, REL, A_OBJ, STORE_HELD_KEEP, "store-repair"),
};

static const char *const event_names[] = {
	"scan-clean", "scan-pending", "scan-not-clean", "scan-infected", "sandbox-approve", "sandbox-quarantine",
	"member-malicious", "sandbox-retry", "staff-release", "staff-reject", "repair",
};

const char *store_event_name(enum store_event ev)
{
	return (unsigned)ev < FW_ARRAY_LEN(event_names) ? event_names[ev] : "unknown";
}

const struct store_lc_row *store_lc_table(size_t *n)
{
	*n = FW_ARRAY_LEN(lc_table);
	return lc_table;
}

const struct store_lc_row *store_lc_step(enum fw_object_state from, enum store_event ev, unsigned facts)
{
	static const struct store_lc_row none = { 0, 0, 0, 0, 0, STORE_AREA_QUARANTINE, STORE_HELD_KEEP, NULL,
						  "has no transition for this event" };

	for (size_t i = 0; i < FW_ARRAY_LEN(lc_table); i++) {
		const struct store_lc_row *r = &lc_table[i];

		if (r->from == from && r->ev == ev && (facts & r->need) == r->need && (facts & r->refuse) == 0)
			return r;
	}
	return &none; /* unreachable with a complete table: refused, never applied */
}

static void undo_note(struct store_lc_undo *undo, const char *sha, enum store_area from, enum store_area to)
{
	if (undo->n >= STORE_LC_UNDO_MAX) {
		undo->overflow = true;
		return;
	}
	snprintf(undo->moved[undo->n].sha256, sizeof(undo->moved[undo->n].sha256), "%s", sha);
	undo->moved[undo->n].from = from;
	undo->moved[undo->n].to = to;
	undo->n++;
}

void store_lc_undo(struct fw_store *st, struct store_lc_undo *undo)
{
	if (undo->overflow)
		fprintf(stderr, "fwgate: store: a failed transaction moved more than %d blobs: the ones past them stay "
			"where it put them, and are moved back when opened or at the next start\n", STORE_LC_UNDO_MAX);
	undo->overflow = false;
	while (undo->n > 0) {
		struct fw_err e2;

		undo->n--;
		fw_err_clear(&e2);
		if (store_blob_move(st, undo->moved[undo->n].sha256, undo->moved[undo->n].to,
				    undo->moved[undo->n].from, &e2) < 0)
			fprintf(stderr, "fwgate: store: %s\n", fw_err_msg(&e2));
	}
}

/* The state and held verdict as the row says; a blob the record said
 * present but that was gone is marked missing. */
static int lc_write(struct fw_store *st, const struct store_lc_obj *o, const struct store_lc_row *r,
		    bool went_missing, enum fw_verdict verdict, const char *reason, struct fw_err *err)
{
	STORE_SQL(keep, "UPDATE objects SET state = ?2, blob = coalesce(?3, blob) WHERE id = ?1");
	STORE_SQL(clear, "UPDATE objects SET state = ?2, blob = coalesce(?3, blob), held_verdict = '',"
				    " held_reason = '', held_by = '' WHERE id = ?1");
	STORE_SQL(set, "UPDATE objects SET state = ?2, blob = coalesce(?3, blob), held_verdict = ?4,"
				  " held_reason = ?5, held_by = CASE WHEN ?2 = 'quarantined' THEN 'sandbox' ELSE '' END"
				  " WHERE id = ?1");
	STORE_SQL(raise, "UPDATE objects SET state = ?2, blob = coalesce(?3, blob), held_verdict = ?4,"
				    " held_reason = ?5 WHERE id = ?1");
	static const char *const sql[] = { keep, clear, set, raise };
	sqlite3_stmt *s = store_stmt(st, sql[r->held], err);

	if (s == NULL)
		return -1;
	if (sqlite3_bind_int64(s, 1, o->id) != SQLITE_OK || store_bind_text(s, 2, fw_object_state_name(r->to)) != 0 ||
	    store_bind_text(s, 3, went_missing ? "missing" : NULL) != 0 ||
	    ((r->held == STORE_HELD_SET || r->held == STORE_HELD_RAISE) &&
	     (store_bind_text(s, 4, fw_verdict_name(verdict)) != 0 || store_bind_text(s, 5, reason) != 0)) ||
	    sqlite3_step(s) != SQLITE_DONE)
		return store_db_err(st, err, "cannot record the object's new state");
	return 0;
}

int store_lc_apply(struct fw_store *st, struct store_lc_obj *o, enum store_event ev, enum fw_verdict verdict,
		   const char *reason, const char *who, const char *detail, struct store_lc_undo *undo, bool *changed,
		   struct fw_err *err)
{
	const struct store_lc_row *r = store_lc_step(o->state, ev, o->facts);
	enum store_area from = store_area_of(o->state);
	bool went_missing = false;
	int m;

	if (changed != NULL)
		*changed = false;
	if (r->refused != NULL)
		return fw_err_set(err, "object %lld %s", (long long)o->id, r->refused);
	if (r->to == o->state && r->held == STORE_HELD_KEEP && r->action == NULL)
		return 0; /* nothing to write */
	if (o->blob_present && from != r->area) {
		m = store_blob_move(st, o->sha256, from, r->area, err);
		if (m < 0)
			return -1;
		if (m == 0)
			undo_note(undo, o->sha256, from, r->area);
		went_missing = m == 1; /* the record said present, the file is gone */
	}
	if (lc_write(st, o, r, went_missing, verdict, reason ? reason : "", err) != 0)
		return -1;
	if (r->action != NULL && store_audit_append_tx(st, r->action, who, o->id, detail, err) != 0)
		return -1;
	if (changed != NULL)
		*changed = r->to != o->state;
	o->state = r->to;
	if (went_missing)
		o->blob_present = false;
	return 0;
}

int store_lc_read(struct fw_store *st, int64_t id, struct store_lc_obj *o, enum fw_verdict *verdict, char *reason,
		  size_t reason_len, struct fw_err *err)
{
	STORE_SQL(sql, "SELECT o.state, o.sha256, o.blob, " STORE_EFFECTIVE_VERDICT ", " STORE_EFFECTIVE_REASON ","
		" EXISTS (SELECT 1 FROM sandbox_links l JOIN sandbox_jobs j ON j.id = l.job_id"
		"  WHERE l.object_id = o.id AND j.verdict = 'malicious'),"
		" coalesce(s.verdict, '') = 'pending', o.held_by = 'sandbox', o.reviewed_by IS NOT NULL"
		" FROM objects o LEFT JOIN scans s ON s.id = (SELECT max(id) FROM scans WHERE object_id = o.id)"
		" WHERE o.id = ?1");
	sqlite3_stmt *s = store_stmt(st, sql, err);
	enum fw_verdict v = FW_VERDICT_INFECTED; /* no scan on record: never vetted */
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
	memset(o, 0, sizeof(*o));
	o->id = id;
	o->blob_present = strcmp(store_col_text(s, 2), "present") == 0;
	if (store_state_parse(store_col_text(s, 0), &o->state) != 0 ||
	    store_col_copy(s, 1, o->sha256, sizeof(o->sha256)) != 0 ||
	    (sqlite3_column_type(s, 3) != SQLITE_NULL && fw_verdict_parse(store_col_text(s, 3), &v) != 0))
		return fw_err_set(err, "the store's record of object %lld is malformed", (long long)id);
	if (v == FW_VERDICT_INFECTED)
		o->facts |= STORE_F_INFECTED;
	if (sqlite3_column_int64(s, 5) != 0)
		o->facts |= STORE_F_JOB_MALICIOUS;
	if (sqlite3_column_int64(s, 6) != 0)
		o->facts |= STORE_F_SCAN_PENDING;
	if (sqlite3_column_int64(s, 7) != 0)
		o->facts |= STORE_F_HELD_BY_SANDBOX;
	if (sqlite3_column_int64(s, 8) != 0)
		o->facts |= STORE_F_REVIEWED;
	if (reason != NULL && reason_len > 0 && store_col_copy(s, 4, reason, reason_len) != 0)
		reason[0] = '\0';
	if (reason != NULL && reason_len > 0 && (o->facts & STORE_F_JOB_MALICIOUS) && v != FW_VERDICT_INFECTED)
		snprintf(reason, reason_len, "a sandbox job of it judged a member malicious");
	if (o->facts & STORE_F_JOB_MALICIOUS)
		v = FW_VERDICT_INFECTED;
	if (verdict != NULL)
		*verdict = v;
	return 1;
}
