/* The review list a page at a time (fw_store_quarantine_page): filtered by
 * state, verdict, host and time, newest first, paged by id, with how many
 * objects match in all. Each filter is a bound value in fixed statements
 * (no SQL text from data), each read on an index that covers it
 * (objects_page, objects_review, urls_host: schema 4). Must not change
 * anything. */
#include <stdio.h>
#include <string.h>

#include "store/store_int.h"

#define PAGE_LIMIT_MAX 1000

/* The filter as bound values, the same numbers in every statement: ?1..?3
 * the states (one state thrice, or the three review states), ?4..?8 the
 * verdicts (one verdict five times, or all five), ?9 and ?10 first_seen's
 * bounds, ?11 the page's id bound, ?12 the limit, ?13 the host. Lists of
 * bound values rather than "?4 IS NULL OR": the planner can use an index
 * only for a term it can read as one. */
#define PAGE_VERDICTS "(?4, ?5, ?6, ?7, ?8)"
#define PAGE_STATE_ARM(n) \
	"SELECT o.id FROM objects o WHERE o.state = ?" #n " AND +o.effective_verdict IN " PAGE_VERDICTS \
	" AND +o.first_seen >= ?9 AND +o.first_seen < ?10 AND o.id < ?11"
#define PAGE_HOST_FROM \
	" FROM urls u JOIN objects o ON o.id = u.object_id WHERE u.host = ?13 AND +o.state IN (?1, ?2, ?3)" \
	" AND +o.effective_verdict IN " PAGE_VERDICTS " AND +o.first_seen >= ?9 AND +o.first_seen < ?10"

#define PAGE_NPARAMS 13

struct page_filter {
	const char *states[3];
	const char *verdicts[5];
	const char *host;
	int64_t since, until, before_id;
	unsigned limit;
	char host_buf[STORE_URL_HOST_MAX];
};

static int page_filter_states(const char *name, struct page_filter *f, struct fw_err *err)
{
	enum fw_object_state state;

	if (name == NULL || name[0] == '\0') {
		f->states[0] = "quarantined";
		f->states[1] = "rejected";
		f->states[2] = "pending";
		return 0;
	}
	if (store_state_parse(name, &state) != 0)
		return fw_err_setc(err, FW_E_INVALID, "\"%.40s\" is not a state (approved, quarantined, rejected, "
				   "released, pending)", name);
	f->states[0] = f->states[1] = f->states[2] = fw_object_state_name(state);
	return 0;
}

static int page_filter_verdicts(const char *name, struct page_filter *f, struct fw_err *err)
{
	enum fw_verdict v;

	if (name == NULL || name[0] == '\0') {
		for (int i = 0; i < 5; i++)
			f->verdicts[i] = fw_verdict_name((enum fw_verdict)i);
		return 0;
	}
	if (fw_verdict_parse(name, &v) != 0)
		return fw_err_setc(err, FW_E_INVALID, "\"%.40s\" is not a verdict (clean, pending, suspicious, "
				   "unscannable, infected)", name);
	for (int i = 0; i < 5; i++)
		f->verdicts[i] = fw_verdict_name(v);
	return 0;
}

static int page_filter_make(const struct fw_quarantine_query *q, struct page_filter *f, struct fw_err *err)
{
	memset(f, 0, sizeof(*f));
	if (q->limit < 1 || q->limit > PAGE_LIMIT_MAX)
		return fw_err_setc(err, FW_E_INVALID, "a page of the review list holds 1 to %d objects, not %u",
				   PAGE_LIMIT_MAX, q->limit);
	if (q->before_id < 0 || q->since < 0 || q->until < 0)
		return fw_err_setc(err, FW_E_INVALID, "an object id and the times of a page are not negative");
	if (page_filter_states(q->state, f, err) != 0 || page_filter_verdicts(q->verdict, f, err) != 0)
		return -1;
	if (q->host != NULL && q->host[0] != '\0') {
		/* as urls.host keeps it: lower case (a name typed in capitals
		 * still finds its objects) */
		size_t n = strlen(q->host);

		if (n >= sizeof(f->host_buf))
			return fw_err_setc(err, FW_E_INVALID, "a host name is at most %d characters",
					   STORE_URL_HOST_MAX - 1);
		for (size_t i = 0; i <= n; i++)
			f->host_buf[i] = q->host[i] >= 'A' && q->host[i] <= 'Z' ? (char)(q->host[i] - 'A' + 'a') : q->host[i];
		f->host = f->host_buf;
	}
	f->since = q->since;
	f->until = q->until > 0 ? q->until : INT64_MAX;
	f->before_id = q->before_id > 0 ? q->before_id : INT64_MAX;
	f->limit = q->limit;
	return 0;
}

/* Binds every value the statement has a number for. */
static int page_bind(sqlite3_stmt *s, const struct page_filter *f)
{
	int n = sqlite3_bind_parameter_count(s);
	const int64_t nums[] = { f->since, f->until, f->before_id, f->limit };

	for (int i = 0; i < 3; i++)
		if (store_bind_text(s, i + 1, f->states[i]) != 0)
			return -1;
	for (int i = 0; i < 5; i++)
		if (store_bind_text(s, i + 4, f->verdicts[i]) != 0)
			return -1;
	for (int i = 0; i < 4; i++)
		if (9 + i <= n && sqlite3_bind_int64(s, 9 + i, nums[i]) != SQLITE_OK)
			return -1;
	if (n >= PAGE_NPARAMS && store_bind_text(s, PAGE_NPARAMS, f->host) != 0)
		return -1;
	return 0;
}

static int page_total(struct fw_store *st, const struct page_filter *f, int64_t *total, struct fw_err *err)
{
	STORE_SQL(all, "SELECT count(*) FROM objects o WHERE o.state IN (?1, ?2, ?3) AND o.effective_verdict IN "
		PAGE_VERDICTS " AND o.first_seen >= ?9 AND o.first_seen < ?10");
	STORE_SQL(host, "SELECT count(DISTINCT u.object_id)" PAGE_HOST_FROM);
	sqlite3_stmt *s = store_stmt(st, f->host != NULL ? host : all, err);

	if (s == NULL)
		return -1;
	if (page_bind(s, f) != 0 || sqlite3_step(s) != SQLITE_ROW)
		return store_db_err(st, err, "cannot count the review list");
	*total = sqlite3_column_int64(s, 0);
	return 0;
}

/* One row of the page: the list's fields and the open request. */
static int page_row(struct fw_store *st, int64_t id, json_t *items, struct fw_err *err)
{
	STORE_SQL(sql, STORE_REVIEW_COLUMNS "WHERE o.id = ?1");
	sqlite3_stmt *s = store_stmt(st, sql, err);
	json_t *o, *req = NULL;

	if (s == NULL)
		return -1;
	if (sqlite3_bind_int64(s, 1, id) != SQLITE_OK || sqlite3_step(s) != SQLITE_ROW)
		return store_db_err(st, err, "cannot read an object of the review list");
	o = store_review_object_json(s);
	if (o == NULL)
		return fw_err_setc(err, FW_E_NOMEM, "out of memory");
	if (store_review_request_json(st, id, &req, err) != 0) {
		json_decref(o);
		return -1;
	}
	if (json_object_set_new(o, "request", req) != 0 || json_array_append_new(items, o) != 0)
		return fw_err_setc(err, FW_E_NOMEM, "out of memory");
	return 0;
}

/* The page's ids, newest first: per state in id order, merged (one arm
 * per state: an IN list would make the planner sort every match), or
 * from the host's URLs in object id order. */
static int page_ids(struct fw_store *st, const struct page_filter *f, int64_t *ids, size_t *n, struct fw_err *err)
{
	STORE_SQL(all, PAGE_STATE_ARM(1) " UNION " PAGE_STATE_ARM(2) " UNION " PAGE_STATE_ARM(3)
		" ORDER BY 1 DESC LIMIT ?12");
	STORE_SQL(host, "SELECT u.object_id" PAGE_HOST_FROM " AND u.object_id < ?11"
		" GROUP BY u.object_id ORDER BY u.object_id DESC LIMIT ?12");
	sqlite3_stmt *s = store_stmt(st, f->host != NULL ? host : all, err);
	int r;

	*n = 0;
	if (s == NULL)
		return -1;
	if (page_bind(s, f) != 0)
		return store_db_err(st, err, "cannot read the review list");
	while ((r = sqlite3_step(s)) == SQLITE_ROW && *n < f->limit)
		ids[(*n)++] = sqlite3_column_int64(s, 0);
	return r == SQLITE_ROW || r == SQLITE_DONE ? 0 : store_db_err(st, err, "cannot read the review list");
}

static int page_read(struct fw_store *st, const struct page_filter *f, json_t *items, int64_t *total,
		     struct fw_err *err)
{
	int64_t ids[PAGE_LIMIT_MAX];
	size_t n = 0;

	if (page_ids(st, f, ids, &n, err) != 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (page_row(st, ids[i], items, err) != 0)
			return -1;
	return page_total(st, f, total, err);
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
	if (page_read(st, &f, arr, &n, err) == 0)
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
