/* Unit tests for the store's review calls (fwgate/store.h, "review, four
 * eyes"): a release requested and confirmed by a second reviewer, the same
 * reviewer refused with nothing changed, the infected override on both
 * sides, reject closing a request, cancel, four eyes off; the review list a
 * page at a time (filters, paging, total; timed over 10,000 objects, only
 * behaviour asserted), the dashboard's figures, the audit log a page at a
 * time, and the audit chain intact after all of it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <sqlite3.h>

#include "fwgate/store.h"
#include "testutil.h"

struct fx {
	char dir[512];
	struct fw_store *st;
	unsigned spools;
};

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct fw_err err;
	char spool[600];

	TU_NONNULL(f);
	fw_err_clear(&err);
	tu_mkdtemp(f->dir, sizeof(f->dir));
	snprintf(spool, sizeof(spool), "%s/spool", f->dir);
	assert_int_equal(mkdir(spool, 0700), 0);
	if (fw_store_open(&f->st, f->dir, &err) != 0)
		fail_msg("open: %s", fw_err_msg(&err));
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	fw_store_close(f->st);
	tu_rmtree(f->dir);
	free(f);
	return 0;
}

static void sha256_hex(const void *p, size_t len, char out[65])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[32];
	unsigned int n = 0;

	assert_int_equal(EVP_Digest(p, len, md, &n, EVP_sha256(), NULL), 1);
	for (unsigned i = 0; i < 32; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[64] = '\0';
}

/* Commits content under url with a scan of verdict v (not pending);
 * returns the object's id. */
static int64_t commit(struct fx *f, const char *url, const char *content, enum fw_verdict v)
{
	struct fw_store_commit c;
	enum fw_object_state state;
	char spool[700], sha[65], name[64];
	size_t len = strlen(content);
	struct fw_err err;
	int64_t id = 0;
	int fd;

	fw_err_clear(&err);
	snprintf(name, sizeof(name), "spool/dl-%u", f->spools++);
	tu_write(f->dir, name, content, len, spool, sizeof(spool));
	fd = open(spool, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	sha256_hex(content, len, sha);
	c = (struct fw_store_commit){ .url = url, .spool_fd = fd, .spool_path = spool, .sha256 = sha, .size = len,
				      .verdict = v, .reason = v == FW_VERDICT_CLEAN ? "" : v == FW_VERDICT_INFECTED
				      ? "signature Fw.Test in pkg.zip!bios.bin" : "encrypted member pkg.zip!x.bin",
				      .engine = "test" };
	if (fw_store_commit(f->st, &c, &state, &id, &err) != 0)
		fail_msg("commit %s: %s", url, fw_err_msg(&err));
	close(fd);
	return id;
}

static enum fw_object_state state_of(struct fx *f, int64_t id)
{
	enum fw_object_state s = FW_OBJ_APPROVED;
	struct fw_err err;

	fw_err_clear(&err);
	assert_int_equal(fw_store_object_state(f->st, id, &s, &err), 1);
	return s;
}

static size_t audit_rows(struct fx *f)
{
	json_t *rows = NULL;
	struct fw_err err;
	size_t n;

	fw_err_clear(&err);
	assert_int_equal(fw_store_audit_list(f->st, &rows, &err), 0);
	n = json_array_size(rows);
	json_decref(rows);
	return n;
}

/* The n-th newest audit row (0: the newest) as a new reference. */
static json_t *audit_newest(struct fx *f, size_t n)
{
	json_t *rows = NULL, *row;
	struct fw_err err;

	fw_err_clear(&err);
	assert_int_equal(fw_store_audit_page(f->st, 0, 1000, 0, &rows, &err), 0);
	row = json_array_get(rows, n);
	TU_NONNULL(row);
	json_incref(row);
	json_decref(rows);
	return row;
}

static const char *jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "";
}

static size_t pending_count(struct fx *f)
{
	json_t *list = NULL;
	struct fw_err err;
	size_t n;

	fw_err_clear(&err);
	assert_int_equal(fw_store_review_pending(f->st, &list, &err), 0);
	n = json_array_size(list);
	json_decref(list);
	return n;
}

static void assert_chain_intact(struct fx *f)
{
	struct fw_err err;
	int64_t bad = -1;

	fw_err_clear(&err);
	assert_int_equal(fw_store_audit_verify(f->st, &bad, &err), 0);
}

static void test_four_eyes_request_confirm(void **state)
{
	struct fx *f = *state;
	enum fw_release_outcome out = FW_RELEASE_DONE;
	struct fw_url_entry e;
	struct fw_err err;
	json_t *list = NULL, *row, *show = NULL;
	int64_t id = commit(f, "https://dl.vendor.example/odd.zip", "odd bytes", FW_VERDICT_SUSPICIOUS);
	size_t rows;

	fw_err_clear(&err);
	assert_int_equal(fw_store_review_release(f->st, id, "vendor ticket 42", "alice", "cli", false, true, &out,
						 &err), 0);
	assert_int_equal(out, FW_RELEASE_REQUESTED);
	assert_int_equal(state_of(f, id), FW_OBJ_QUARANTINED);
	row = audit_newest(f, 0);
	assert_string_equal(jstr(row, "action"), "release-request");
	assert_string_equal(jstr(row, "who"), "alice");
	assert_non_null(strstr(jstr(row, "detail"), "via cli: vendor ticket 42"));
	json_decref(row);
	assert_int_equal(fw_store_review_pending(f->st, &list, &err), 0);
	assert_int_equal(json_array_size(list), 1);
	row = json_array_get(list, 0);
	assert_int_equal(json_integer_value(json_object_get(row, "object_id")), id);
	assert_string_equal(jstr(row, "requested_by"), "alice");
	assert_string_equal(jstr(row, "via"), "cli");
	assert_string_equal(jstr(row, "reason"), "vendor ticket 42");
	assert_true(json_is_false(json_object_get(row, "override_infected")));
	assert_string_equal(jstr(row, "url"), "https://dl.vendor.example/odd.zip");
	assert_string_equal(jstr(row, "state"), "quarantined");
	assert_string_equal(jstr(row, "verdict"), "suspicious");
	assert_true(json_integer_value(json_object_get(row, "requested_at")) > 0);
	json_decref(list);
	/* show names the open request */
	assert_int_equal(fw_store_object_show(f->st, id, &show, &err), 0);
	assert_string_equal(jstr(json_object_get(show, "request"), "requested_by"), "alice");
	json_decref(show);

	/* The same reviewer again: refused, and nothing changes. */
	rows = audit_rows(f);
	assert_int_equal(fw_store_review_release(f->st, id, "really", "alice", "console 10.0.0.1", false, true, &out,
						 &err), -1);
	assert_int_equal(fw_err_code(&err), FW_E_DENIED);
	assert_non_null(strstr(fw_err_msg(&err), "a second reviewer must confirm"));
	assert_int_equal(state_of(f, id), FW_OBJ_QUARANTINED);
	assert_int_equal(audit_rows(f), rows);
	assert_int_equal(pending_count(f), 1);

	/* A second reviewer confirms: released, in one go. */
	fw_err_clear(&err);
	assert_int_equal(fw_store_review_release(f->st, id, "checked the vendor's hash", "bob", "console 10.0.0.2",
						 false, true, &out, &err), 0);
	assert_int_equal(out, FW_RELEASE_DONE);
	assert_int_equal(state_of(f, id), FW_OBJ_RELEASED);
	assert_int_equal(pending_count(f), 0);
	assert_int_equal(audit_rows(f), rows + 2);
	row = audit_newest(f, 1);
	assert_string_equal(jstr(row, "action"), "release-confirm");
	assert_string_equal(jstr(row, "who"), "bob");
	assert_non_null(strstr(jstr(row, "detail"), "alice via cli (vendor ticket 42) via console 10.0.0.2"));
	json_decref(row);
	row = audit_newest(f, 0);
	assert_string_equal(jstr(row, "action"), "release");
	assert_string_equal(jstr(row, "who"), "bob");
	assert_non_null(strstr(jstr(row, "detail"), "requested by alice via cli: vendor ticket 42"));
	assert_non_null(strstr(jstr(row, "detail"), "confirmed by bob via console 10.0.0.2: checked the vendor's hash"));
	json_decref(row);
	assert_int_equal(fw_store_lookup_url(f->st, "https://dl.vendor.example/odd.zip", &e, &err), 1);
	assert_int_equal(e.state, FW_OBJ_RELEASED);
	/* Nothing left to release. */
	assert_int_equal(fw_store_review_release(f->st, id, "again", "carol", "cli", false, true, &out, &err), -1);
	assert_int_equal(pending_count(f), 0);
	assert_chain_intact(f);
}

static void test_four_eyes_infected(void **state)
{
	struct fx *f = *state;
	enum fw_release_outcome out = FW_RELEASE_DONE;
	struct fw_err err;
	json_t *row;
	int64_t id = commit(f, "https://dl.vendor.example/eicar.zip", "infected bytes", FW_VERDICT_INFECTED);
	size_t rows = audit_rows(f);

	fw_err_clear(&err);
	/* Without the override on the request: refused like a release. */
	assert_int_equal(fw_store_review_release(f->st, id, "false positive", "alice", "cli", false, true, &out,
						 &err), -1);
	assert_non_null(strstr(fw_err_msg(&err), "override"));
	assert_int_equal(pending_count(f), 0);
	assert_int_equal(audit_rows(f), rows);
	fw_err_clear(&err);
	assert_int_equal(fw_store_review_release(f->st, id, "false positive", "alice", "cli", true, true, &out, &err), 0);
	assert_int_equal(out, FW_RELEASE_REQUESTED);
	row = audit_newest(f, 0);
	assert_non_null(strstr(jstr(row, "detail"), "despite an infected verdict"));
	json_decref(row);
	/* Without the override on the confirmation: refused, request kept. */
	assert_int_equal(fw_store_review_release(f->st, id, "agreed", "bob", "cli", false, true, &out, &err), -1);
	assert_non_null(strstr(fw_err_msg(&err), "override"));
	assert_int_equal(state_of(f, id), FW_OBJ_QUARANTINED);
	assert_int_equal(pending_count(f), 1);
	fw_err_clear(&err);
	assert_int_equal(fw_store_review_release(f->st, id, "agreed", "bob", "cli", true, true, &out, &err), 0);
	assert_int_equal(out, FW_RELEASE_DONE);
	assert_int_equal(state_of(f, id), FW_OBJ_RELEASED);
	row = audit_newest(f, 0);
	assert_string_equal(jstr(row, "action"), "release-override");
	json_decref(row);
	assert_chain_intact(f);
}

/* A request without the override on an object that is infected by the
 * time it is confirmed: the confirmation's override does not stand in for
 * the requester's. */
static void test_four_eyes_infected_meanwhile(void **state)
{
	struct fx *f = *state;
	enum fw_release_outcome out = FW_RELEASE_DONE;
	struct fw_quarantine_query q = { .limit = 10 };
	int64_t total = 0;
	json_t *items;
	char db_path[600];
	struct fw_err err;
	sqlite3 *db = NULL;
	int64_t id = commit(f, "https://dl.vendor.example/odd.zip", "odd bytes", FW_VERDICT_UNSCANNABLE);

	fw_err_clear(&err);
	assert_int_equal(fw_store_review_release(f->st, id, "fine", "alice", "cli", false, true, &out, &err), 0);
	snprintf(db_path, sizeof(db_path), "%s/fwgate.db", f->dir);
	assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "UPDATE objects SET held_verdict = 'infected', held_reason = 'late'",
				      NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(fw_store_review_release(f->st, id, "fine", "bob", "cli", true, true, &out, &err), -1);
	assert_non_null(strstr(fw_err_msg(&err), "did not ask for the override"));
	assert_int_equal(state_of(f, id), FW_OBJ_QUARANTINED);
	assert_int_equal(pending_count(f), 1);
	/* The review list's verdict followed the held one (the schema's
	 * trigger). */
	q.verdict = "infected";
	items = NULL;
	assert_int_equal(fw_store_quarantine_page(f->st, &q, &items, &total, &err), 0);
	assert_int_equal(total, 1);
	assert_string_equal(jstr(json_array_get(items, 0), "verdict"), "infected");
	json_decref(items);
}

static void test_reject_closes_request(void **state)
{
	struct fx *f = *state;
	enum fw_release_outcome out = FW_RELEASE_DONE;
	struct fw_err err;
	json_t *row;
	int64_t id = commit(f, "https://dl.vendor.example/odd.zip", "odd bytes", FW_VERDICT_SUSPICIOUS);

	fw_err_clear(&err);
	assert_int_equal(fw_store_review_release(f->st, id, "fine", "alice", "cli", false, true, &out, &err), 0);
	assert_int_equal(fw_store_review_reject(f->st, id, "unsigned image", "carol", "console 10.0.0.3", &err), 0);
	assert_int_equal(state_of(f, id), FW_OBJ_REJECTED);
	assert_int_equal(pending_count(f), 0);
	row = audit_newest(f, 0);
	assert_string_equal(jstr(row, "action"), "reject");
	assert_string_equal(jstr(row, "who"), "carol");
	assert_non_null(strstr(jstr(row, "detail"), "via console 10.0.0.3: unsigned image"));
	assert_non_null(strstr(jstr(row, "detail"), "the release request by alice is closed"));
	json_decref(row);
	/* Rejected is final, for a request as for a release. */
	assert_int_equal(fw_store_review_release(f->st, id, "fine", "bob", "cli", false, true, &out, &err), -1);
	assert_non_null(strstr(fw_err_msg(&err), "rejected"));
	fw_err_clear(&err);
	assert_int_equal(fw_store_review_reject(f->st, 9999, "x", "carol", "cli", &err), -1);
	assert_int_equal(fw_err_code(&err), FW_E_NOTFOUND);
	assert_chain_intact(f);
}

static void test_cancel(void **state)
{
	struct fx *f = *state;
	enum fw_release_outcome out = FW_RELEASE_DONE;
	struct fw_err err;
	json_t *row;
	int64_t id = commit(f, "https://dl.vendor.example/odd.zip", "odd bytes", FW_VERDICT_SUSPICIOUS);

	fw_err_clear(&err);
	assert_int_equal(fw_store_review_cancel(f->st, id, "alice", "cli", &err), -1);
	assert_int_equal(fw_err_code(&err), FW_E_NOTFOUND);
	fw_err_clear(&err);
	assert_int_equal(fw_store_review_release(f->st, id, "fine", "alice", "cli", false, true, &out, &err), 0);
	assert_int_equal(fw_store_review_cancel(f->st, id, "alice", "console 10.0.0.1", &err), 0);
	assert_int_equal(pending_count(f), 0);
	assert_int_equal(state_of(f, id), FW_OBJ_QUARANTINED);
	row = audit_newest(f, 0);
	assert_string_equal(jstr(row, "action"), "release-cancel");
	assert_non_null(strstr(jstr(row, "detail"), "requested by alice via cli (fine) via console 10.0.0.1"));
	json_decref(row);
	/* After a cancel, the next call is a new request, not a confirmation. */
	assert_int_equal(fw_store_review_release(f->st, id, "fine now", "bob", "cli", false, true, &out, &err), 0);
	assert_int_equal(out, FW_RELEASE_REQUESTED);
	assert_int_equal(state_of(f, id), FW_OBJ_QUARANTINED);
	assert_chain_intact(f);
}

static void test_four_eyes_off(void **state)
{
	struct fx *f = *state;
	enum fw_release_outcome out = FW_RELEASE_REQUESTED;
	struct fw_err err;
	json_t *row;
	int64_t a = commit(f, "https://dl.vendor.example/a.zip", "a bytes", FW_VERDICT_SUSPICIOUS);
	int64_t b = commit(f, "https://dl.vendor.example/b.zip", "b bytes", FW_VERDICT_SUSPICIOUS);

	fw_err_clear(&err);
	assert_int_equal(fw_store_review_release(f->st, a, "ok", "alice", "cli", false, false, &out, &err), 0);
	assert_int_equal(out, FW_RELEASE_DONE);
	assert_int_equal(state_of(f, a), FW_OBJ_RELEASED);
	row = audit_newest(f, 0);
	assert_string_equal(jstr(row, "action"), "release");
	assert_non_null(strstr(jstr(row, "detail"), "via cli: ok"));
	json_decref(row);
	/* An open request is closed by a release without four eyes. */
	assert_int_equal(fw_store_review_release(f->st, b, "ok", "alice", "cli", false, true, &out, &err), 0);
	assert_int_equal(fw_store_review_release(f->st, b, "ok", "alice", "cli", false, false, &out, &err), 0);
	assert_int_equal(out, FW_RELEASE_DONE);
	assert_int_equal(pending_count(f), 0);
	/* Refusals: words, actor, state. */
	assert_int_equal(fw_store_review_release(f->st, b, "", "alice", "cli", false, false, &out, &err), -1);
	assert_int_equal(fw_err_code(&err), FW_E_INVALID);
	fw_err_clear(&err);
	assert_int_equal(fw_store_review_release(f->st, b, "x", "alice", "", false, false, &out, &err), -1);
	assert_int_equal(fw_err_code(&err), FW_E_INVALID);
	fw_err_clear(&err);
	assert_int_equal(fw_store_review_release(f->st, 9999, "x", "alice", "cli", false, true, &out, &err), -1);
	assert_int_equal(fw_err_code(&err), FW_E_NOTFOUND);
	fw_err_clear(&err);
	a = commit(f, "https://dl.vendor.example/c.zip", "c bytes", FW_VERDICT_CLEAN);
	assert_int_equal(fw_store_review_release(f->st, a, "x", "alice", "cli", false, true, &out, &err), -1);
	assert_non_null(strstr(fw_err_msg(&err), "approved"));
	assert_int_equal(pending_count(f), 0);
	assert_chain_intact(f);
}

/* ------------------------------------------------------------ the page */

static json_t *page(struct fx *f, const struct fw_quarantine_query *q, int64_t *total)
{
	json_t *items = NULL;
	struct fw_err err;

	fw_err_clear(&err);
	if (fw_store_quarantine_page(f->st, q, &items, total, &err) != 0)
		fail_msg("page: %s", fw_err_msg(&err));
	TU_NONNULL(items);
	return items;
}

static int64_t item_id(json_t *items, size_t i)
{
	return json_integer_value(json_object_get(json_array_get(items, i), "id"));
}

static void test_quarantine_page(void **state)
{
	struct fx *f = *state;
	enum fw_release_outcome out;
	struct fw_quarantine_query q = { .limit = 2 };
	struct fw_err err;
	json_t *items;
	int64_t total = -1, ids[6];

	fw_err_clear(&err);
	ids[0] = commit(f, "https://a.vendor.example/1.zip", "one", FW_VERDICT_SUSPICIOUS);
	ids[1] = commit(f, "https://A.Vendor.example:443/2.zip", "two", FW_VERDICT_INFECTED);
	ids[2] = commit(f, "https://b.vendor.example/3.zip", "three", FW_VERDICT_UNSCANNABLE);
	ids[3] = commit(f, "https://b.vendor.example/4.zip", "four", FW_VERDICT_CLEAN);
	ids[4] = commit(f, "https://a.vendor.example/5.zip", "five", FW_VERDICT_SUSPICIOUS);
	ids[5] = commit(f, "https://c.vendor.example/6.zip", "six", FW_VERDICT_INFECTED);
	assert_int_equal(fw_store_review_reject(f->st, ids[5], "no", "carol", "cli", &err), 0);
	assert_int_equal(fw_store_review_release(f->st, ids[4], "ok", "alice", "cli", false, true, &out, &err), 0);

	/* Default: quarantined, rejected, pending; newest first, paged. */
	items = page(f, &q, &total);
	assert_int_equal(total, 5);
	assert_int_equal(json_array_size(items), 2);
	assert_int_equal(item_id(items, 0), ids[5]);
	assert_int_equal(item_id(items, 1), ids[4]);
	assert_string_equal(jstr(json_array_get(items, 0), "state"), "rejected");
	assert_true(json_is_null(json_object_get(json_array_get(items, 0), "request")));
	assert_string_equal(jstr(json_object_get(json_array_get(items, 1), "request"), "requested_by"), "alice");
	q.before_id = item_id(items, 1);
	json_decref(items);
	items = page(f, &q, &total);
	assert_int_equal(total, 5); /* the total is of the filter, not of the page */
	assert_int_equal(item_id(items, 0), ids[2]);
	assert_int_equal(item_id(items, 1), ids[1]);
	q.before_id = item_id(items, 1);
	json_decref(items);
	items = page(f, &q, &total);
	assert_int_equal(json_array_size(items), 1);
	assert_int_equal(item_id(items, 0), ids[0]);
	json_decref(items);

	/* Filters. */
	q = (struct fw_quarantine_query){ .limit = 50, .state = "quarantined" };
	items = page(f, &q, &total);
	assert_int_equal(total, 4);
	json_decref(items);
	q.verdict = "infected";
	items = page(f, &q, &total);
	assert_int_equal(total, 1);
	assert_int_equal(item_id(items, 0), ids[1]);
	json_decref(items);
	q = (struct fw_quarantine_query){ .limit = 50, .host = "a.vendor.example" };
	items = page(f, &q, &total);
	assert_int_equal(total, 3); /* 2.zip's host is lower-cased, its port dropped */
	json_decref(items);
	q.host = "A.VENDOR.example";
	items = page(f, &q, &total);
	assert_int_equal(total, 3); /* the filter is lower-cased as the column is */
	json_decref(items);
	q.state = "approved";
	q.host = "b.vendor.example";
	items = page(f, &q, &total);
	assert_int_equal(total, 1);
	assert_int_equal(item_id(items, 0), ids[3]);
	json_decref(items);
	q = (struct fw_quarantine_query){ .limit = 50, .since = time(NULL) + 3600 };
	items = page(f, &q, &total);
	assert_int_equal(total, 0);
	assert_int_equal(json_array_size(items), 0);
	json_decref(items);
	q = (struct fw_quarantine_query){ .limit = 50, .until = time(NULL) + 3600, .since = 1 };
	items = page(f, &q, &total);
	assert_int_equal(total, 5);
	json_decref(items);

	/* Bad queries. */
	q = (struct fw_quarantine_query){ .limit = 0 };
	assert_int_equal(fw_store_quarantine_page(f->st, &q, &items, &total, &err), -1);
	assert_int_equal(fw_err_code(&err), FW_E_INVALID);
	fw_err_clear(&err);
	q = (struct fw_quarantine_query){ .limit = 1001 };
	assert_int_equal(fw_store_quarantine_page(f->st, &q, &items, &total, &err), -1);
	fw_err_clear(&err);
	q = (struct fw_quarantine_query){ .limit = 5, .state = "lost" };
	assert_int_equal(fw_store_quarantine_page(f->st, &q, &items, &total, &err), -1);
	fw_err_clear(&err);
	q = (struct fw_quarantine_query){ .limit = 5, .verdict = "bad" };
	assert_int_equal(fw_store_quarantine_page(f->st, &q, &items, &total, &err), -1);
	assert_null(items);
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* n objects straight into the database (a test helper: the commit's
 * fsyncs would take minutes): one in four approved, the rest quarantined,
 * rejected or pending; verdicts in turn; hosts h0..h9.example; one scan
 * each. */
static void bulk_objects(struct fx *f, int n)
{
	static const char *const states[] = { "approved", "quarantined", "rejected", "pending" };
	static const char *const verdicts[] = { "clean", "suspicious", "unscannable", "infected" };
	sqlite3_stmt *o = NULL, *u = NULL, *s = NULL;
	char path[600], sha[65], url[128], host[32];
	sqlite3 *db = NULL;

	snprintf(path, sizeof(path), "%s/fwgate.db", f->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	assert_int_equal(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO objects (id, sha256, size, state, first_seen)"
					    " VALUES (?1, ?2, ?1, ?3, ?1)", -1, &o, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO urls (url, object_id, fetched_at, verified_at, host)"
					    " VALUES (?1, ?2, ?2, ?2, ?3)", -1, &u, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO scans (object_id, time, verdict) VALUES (?1, ?1, ?2)",
					    -1, &s, NULL), SQLITE_OK);
	for (int i = 1; i <= n; i++) {
		snprintf(sha, sizeof(sha), "%064d", i);
		snprintf(host, sizeof(host), "h%d.example", i % 10);
		snprintf(url, sizeof(url), "https://%s/fw-%d.bin", host, i);
		sqlite3_reset(o);
		sqlite3_reset(u);
		sqlite3_reset(s);
		assert_int_equal(sqlite3_bind_int64(o, 1, i), SQLITE_OK);
		assert_int_equal(sqlite3_bind_text(o, 2, sha, -1, SQLITE_TRANSIENT), SQLITE_OK);
		assert_int_equal(sqlite3_bind_text(o, 3, states[i % 4], -1, SQLITE_STATIC), SQLITE_OK);
		assert_int_equal(sqlite3_step(o), SQLITE_DONE);
		assert_int_equal(sqlite3_bind_text(u, 1, url, -1, SQLITE_TRANSIENT), SQLITE_OK);
		assert_int_equal(sqlite3_bind_int64(u, 2, i), SQLITE_OK);
		assert_int_equal(sqlite3_bind_text(u, 3, host, -1, SQLITE_TRANSIENT), SQLITE_OK);
		assert_int_equal(sqlite3_step(u), SQLITE_DONE);
		assert_int_equal(sqlite3_bind_int64(s, 1, i), SQLITE_OK);
		assert_int_equal(sqlite3_bind_text(s, 2, i % 4 == 0 ? "clean" : verdicts[(i / 4) % 4], -1,
						   SQLITE_STATIC), SQLITE_OK);
		assert_int_equal(sqlite3_step(s), SQLITE_DONE);
	}
	sqlite3_finalize(o);
	sqlite3_finalize(u);
	sqlite3_finalize(s);
	assert_int_equal(sqlite3_exec(db, "COMMIT; ANALYZE", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* 10,000 objects: each query's time is printed (a measurement, not a
 * bound a slow machine would break); what is asserted is the answer. */
static void test_quarantine_page_10000(void **state)
{
	struct fx *f = *state;
	const struct {
		const char *label;
		struct fw_quarantine_query q;
		int64_t want_total;
	} cases[] = {
		{ "default", { .limit = 50 }, 7500 },
		{ "state", { .state = "rejected", .limit = 50 }, 2500 },
		{ "verdict", { .verdict = "infected", .limit = 50 }, 1875 },
		{ "host", { .host = "h3.example", .limit = 50 }, 1000 },
		{ "all", { .state = "quarantined", .verdict = "suspicious", .host = "h1.example", .limit = 50 }, 125 },
		{ "deep page", { .before_id = 200, .limit = 50 }, 7500 },
	};
	struct timespec t0;
	json_t *items;
	int64_t total;

	bulk_objects(f, 10000);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		double best = 1e9, ms;

		for (int run = 0; run < 5; run++) {
			clock_gettime(CLOCK_MONOTONIC, &t0);
			items = page(f, &cases[i].q, &total);
			ms = ms_since(&t0);
			best = ms < best ? ms : best;
			if (cases[i].want_total >= 0)
				assert_int_equal(total, cases[i].want_total);
			assert_true(json_array_size(items) <= 50);
			if (total >= 50 && cases[i].q.before_id == 0)
				assert_int_equal(json_array_size(items), 50);
			for (size_t k = 1; k < json_array_size(items); k++)
				assert_true(item_id(items, k) < item_id(items, k - 1));
			json_decref(items);
		}
		print_message("quarantine_page over 10000 objects, %-9s: %.2f ms (best of 5), total %lld\n",
			      cases[i].label, best, (long long)total);
	}
}

/* ------------------------------------------------------------ stats, audit page */

static int64_t jget(json_t *o, const char *a, const char *b)
{
	json_t *v = json_object_get(o, a);

	if (b != NULL)
		v = json_object_get(v, b);
	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

static void test_stats(void **state)
{
	struct fx *f = *state;
	enum fw_release_outcome out;
	struct fw_err err;
	json_t *s = NULL;
	int64_t id;

	fw_err_clear(&err);
	assert_int_equal(fw_store_stats(f->st, 0, &s, &err), 0);
	assert_int_equal(jget(json_object_get(s, "objects"), "pending", "count"), 0);
	assert_int_equal(jget(s, "scans_since", "infected"), 0);
	assert_int_equal(jget(s, "sandbox", "queued"), 0);
	assert_int_equal(jget(s, "requests_open", NULL), 0);
	json_decref(s);
	commit(f, "https://a.example/1", "1234", FW_VERDICT_CLEAN);
	commit(f, "https://a.example/2", "123456", FW_VERDICT_CLEAN);
	id = commit(f, "https://a.example/3", "12", FW_VERDICT_INFECTED);
	assert_int_equal(fw_store_review_release(f->st, id, "x", "alice", "cli", true, true, &out, &err), 0);
	assert_int_equal(fw_store_stats(f->st, 0, &s, &err), 0);
	assert_int_equal(jget(json_object_get(s, "objects"), "approved", "count"), 2);
	assert_int_equal(jget(json_object_get(s, "objects"), "approved", "bytes"), 10);
	assert_int_equal(jget(json_object_get(s, "objects"), "quarantined", "count"), 1);
	assert_int_equal(jget(json_object_get(s, "objects"), "quarantined", "bytes"), 2);
	assert_int_equal(jget(s, "scans_since", "clean"), 2);
	assert_int_equal(jget(s, "scans_since", "infected"), 1);
	assert_int_equal(jget(s, "requests_open", NULL), 1);
	assert_int_equal(jget(s, "audit_rows", NULL), (int64_t)audit_rows(f));
	assert_true(jget(s, "db_bytes", NULL) > 0);
	json_decref(s);
	assert_int_equal(fw_store_stats(f->st, time(NULL) + 60, &s, &err), 0);
	assert_int_equal(jget(s, "scans_since", "clean"), 0);
	json_decref(s);
}

static void test_audit_page(void **state)
{
	struct fx *f = *state;
	struct fw_err err;
	json_t *rows = NULL;
	int64_t a = commit(f, "https://a.example/1", "aaaa", FW_VERDICT_SUSPICIOUS);
	int64_t b = commit(f, "https://a.example/2", "bbbb", FW_VERDICT_SUSPICIOUS);

	fw_err_clear(&err);
	for (int i = 0; i < 5; i++)
		assert_int_equal(fw_store_audit_append(f->st, "note", "tester", i % 2 ? a : b, "a note", &err), 0);
	assert_int_equal(fw_store_audit_page(f->st, 0, 2, 0, &rows, &err), 0);
	assert_int_equal(json_array_size(rows), 2);
	assert_int_equal(jget(json_array_get(rows, 0), "id", NULL), 5);
	assert_int_equal(jget(json_array_get(rows, 1), "id", NULL), 4);
	json_decref(rows);
	assert_int_equal(fw_store_audit_page(f->st, 4, 1000, 0, &rows, &err), 0);
	assert_int_equal(json_array_size(rows), 3);
	assert_int_equal(jget(json_array_get(rows, 0), "id", NULL), 3);
	json_decref(rows);
	assert_int_equal(fw_store_audit_page(f->st, 0, 1000, a, &rows, &err), 0);
	assert_int_equal(json_array_size(rows), 2);
	assert_int_equal(jget(json_array_get(rows, 0), "object_id", NULL), a);
	assert_string_equal(jstr(json_array_get(rows, 0), "action"), "note");
	assert_string_equal(jstr(json_array_get(rows, 0), "detail"), "a note");
	assert_int_equal(strlen(jstr(json_array_get(rows, 0), "hash")), 64);
	json_decref(rows);
	assert_int_equal(fw_store_audit_page(f->st, 2, 1000, a, &rows, &err), 0);
	assert_int_equal(json_array_size(rows), 0);
	json_decref(rows);
	assert_int_equal(fw_store_audit_page(f->st, 0, 0, 0, &rows, &err), -1);
	assert_int_equal(fw_err_code(&err), FW_E_INVALID);
	assert_null(rows);
	fw_err_clear(&err);
	assert_int_equal(fw_store_audit_page(f->st, 0, 1001, 0, &rows, &err), -1);
	assert_chain_intact(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_four_eyes_request_confirm, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_four_eyes_infected, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_four_eyes_infected_meanwhile, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_reject_closes_request, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_cancel, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_four_eyes_off, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_quarantine_page, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_quarantine_page_10000, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_stats, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_audit_page, fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
