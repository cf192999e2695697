/* The review list a page at a time (fw_store_quarantine_page): filtered by
 * state, verdict, host and time, newest first, paged by id, with how many
 * objects match in all. Each filter is a bound value in fixed statements
 * (no SQL text from data); the host filter reads urls.host through its
 * index. Must not change anything. */
#include <stdio.h>
#include <string.h>

#include "store/store_int.h"

#define PAGE_LIMIT_MAX 1000

/* The filter as bound values: ?1..?3 the states, ?4 the verdict (NULL:
 * any), ?5 the host (NULL: any), ?6 and ?7 first_seen's bounds, ?8 the
 * page's id bound, ?9 the limit. */
#define PAGE_WHERE \
	"WHERE o.state IN (?1, ?2, ?3)" \
	" AND (?4 IS NULL OR " STORE_EFFECTIVE_VERDICT " = ?4)" \
	" AND (?5 IS NULL OR o.id IN (SELECT object_id FROM urls WHERE host = ?5))" \
	" AND o.first_seen >= ?6 AND o.first_seen < ?7 "

struct page_filter {
	const char *states[3];
	const char *verdict;
	const char *host;
	int64_t since, until, before_id;
	unsigned limit;
};

static int page_filter_make(const struct fw_quarantine_query *q, struct page_filter *f, struct fw_err *err)
{
	enum fw_object_state state;
	enum fw_verdict verdict;

	memset(f, 0, sizeof(*f));
	if (q->limit < 1 || q->limit > PAGE_LIMIT_MAX)
		return fw_err_setc(err, FW_E_INVALID, "a page of the review list holds 1 to %d objects, not %u",
				   PAGE_LIMIT_MAX, q->limit);
	if (q->state == NULL || q->state[0] == '\0') {
		f->states[0] = "quarantined";
		f->states[1] = "rejected";
		f->states[2] = "pending";
	} else if (store_state_parse(q->state, &state) == 0) {
		f->states[0] = f->states[1] = f->states[2] = fw_object_state_name(state);
	} else {
		return fw_err_setc(err, FW_E_INVALID, "\"%.40s\" is not a state (approved, quarantined, rejected, "
				   "released, pending)", q->state);
	}
	if (q->verdict != NULL && q->verdict[0] != '\0') {
		if (fw_verdict_parse(q->verdict, &verdict) != 0)
			return fw_err_setc(err, FW_E_INVALID, "\"%.40s\" is not a verdict (clean, pending, suspicious, "
					   "unscannable, infected)", q->verdict);
		f->verdict = fw_verdict_name(verdict);
	}
	if (q->host != NULL && q->host[0] != '\0')
		f->host = q->host;
	if (q->before_id < 0 || q->since < 0 || q->until < 0)
		return fw_err_setc(err, FW_E_INVALID, "an object id and the times of a page are not negative");
	f->since = q->since;
	f->until = q->until > 0 ? q->until : INT64_MAX;
	f->before_id = q->before_id > 0 ? q->before_id : INT64_MAX;
	f->limit = q->limit;
	return 0;
}

static int page_bind(sqlite3_stmt *s, const struct page_filter *f, bool page)
{
	for (int i = 0; i < 3; i++)
		if (store_bind_text(s, i + 1, f->states[i]) != 0)
			return -1;
	if (store_bind_text(s, 4, f->verdict) != 0 || store_bind_text(s, 5, f->host) != 0 ||
	    sqlite3_bind_int64(s, 6, f->since) != SQLITE_OK || sqlite3_bind_int64(s, 7, f->until) != SQLITE_OK)
		return -1;
	if (page && (sqlite3_bind_int64(s, 8, f->before_id) != SQLITE_OK ||
		     sqlite3_bind_int64(s, 9, f->limit) != SQLITE_OK))
		return -1;
	return 0;
}

static int page_total(struct fw_store *st, const struct page_filter *f, int64_t *total, struct fw_err *err)
{
	STORE_SQL(sql, "SELECT count(*) FROM objects o"
		" LEFT JOIN scans s ON s.id = (SELECT max(id) FROM scans WHERE object_id = o.id) " PAGE_WHERE);
	sqlite3_stmt *s = store_stmt(st, sql, err);

	if (s == NULL)
		return -1;
	if (page_bind(s, f, false) != 0 || sqlite3_step(s) != SQLITE_ROW)
		return store_db_err(st, err, "cannot count the review list");
	*total = sqlite3_column_int64(s, 0);
	return 0;
}

/* One row of the page: the list's fields and the open request. */
static int page_row(struct fw_store *st, sqlite3_stmt *s, json_t *items, struct fw_err *err)
{
	json_t *o = store_review_object_json(s), *req = NULL;

	if (o == NULL)
		return fw_err_setc(err, FW_E_NOMEM, "out of memory");
	if (store_review_request_json(st, sqlite3_column_int64(s, 0), &req, err) != 0) {
		json_decref(o);
		return -1;
	}
	if (json_object_set_new(o, "request", req) != 0 || json_array_append_new(items, o) != 0)
		return fw_err_setc(err, FW_E_NOMEM, "out of memory");
	return 0;
}

static int page_rows(struct fw_store *st, const struct page_filter *f, json_t *items, struct fw_err *err)
{
	STORE_SQL(sql, STORE_REVIEW_COLUMNS PAGE_WHERE "AND o.id < ?8 ORDER BY o.id DESC LIMIT ?9");
	sqlite3_stmt *s = store_stmt(st, sql, err);
	int r;

	if (s == NULL)
		return -1;
	if (page_bind(s, f, true) != 0)
		return store_db_err(st, err, "cannot read the review list");
	while ((r = sqlite3_step(s)) == SQLITE_ROW)
		if (page_row(st, s, items, err) != 0)
			return -1;
	return r == SQLITE_DONE ? 0 : store_db_err(st, err, "cannot read the review list");
}

int fw_store_quarantine_page(struct fw_store *st, const struct fw_quarantine_query *q, json_t **items,
			     int64_t *total, struct fw_err *err)
{
	struct page_filter f;
	json_t *arr;
	int64_t n = 0;
	int rc = -1;

	*items = NULL;
	*total = 0;
	if (page_filter_make(q, &f, err) != 0)
		return -1;
	arr = json_array();
	if (arr == NULL)
		return fw_err_setc(err, FW_E_NOMEM, "out of memory");
	/* One read connection for both: the total and the page see the same
	 * snapshot only inside a transaction, so one is opened. */
	store_rlock(st);
	if (sqlite3_exec(store_db(st), "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		store_db_err(st, err, "cannot read the review list");
		goto out;
	}
	if (page_rows(st, &f, arr, err) == 0 && page_total(st, &f, &n, err) == 0)
		rc = 0;
	store_tx_rollback(st);
out:
	store_unlock(st);
	if (rc != 0) {
		json_decref(arr);
		return -1;
	}
	*items = arr;
	*total = n;
	return 0;
}
