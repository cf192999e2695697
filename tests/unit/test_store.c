/* Unit tests for store/: schema migration, the commit order and where
 * blobs land, state changes (a scan only makes things worse, staff's
 * decisions stand), review rules, the audit chain against tampering, and
 * verify / reconcile / gc against damaged, stray and unreferenced blobs.
 * Each test gets a fresh state directory. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <sqlite3.h>

#include "fwgate/store.h"
#include "store/store_int.h"
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

	assert_non_null(f);
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

static void blob_path(const struct fx *f, const char *area, const char *sha, char *out, size_t len)
{
	assert_true(snprintf(out, len, "%s/%s/%.2s/%s", f->dir, area, sha, sha) < (int)len);
}

static bool exists(const char *p)
{
	struct stat sb;

	return lstat(p, &sb) == 0;
}

static unsigned count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	unsigned n = 0;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* Commits content under url with a scan of verdict v; the spool file's
 * path into spool_out (may be NULL). Returns fw_store_commit's answer. */
/* The member a pending commit links (tests may change it). */
static struct fw_sandbox_member pending_member = {
	"pkg.zip!fw.bin", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "firmware_image",
};
static int64_t pending_reuse_since;

static int commit_as(struct fx *f, const char *url, const char *content, enum fw_verdict v, const char *etag,
		     enum fw_object_state *state, int64_t *id, char *spool_out, struct fw_err *err)
{
	char reason[FW_ERR_MSG_MAX] = "";
	struct fw_store_commit c;
	char spool[700], sha[65], name[64];
	size_t len = strlen(content);
	json_t *doc;
	int fd, rc;

	snprintf(name, sizeof(name), "spool/dl-%u", f->spools++);
	tu_write(f->dir, name, content, len, spool, sizeof(spool));
	fd = open(spool, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	sha256_hex(content, len, sha);
	if (v != FW_VERDICT_CLEAN)
		snprintf(reason, sizeof(reason), "%s", v == FW_VERDICT_INFECTED
			 ? "signature Fw.Test in pkg.zip!bios.bin" : "encrypted member pkg.zip!secret.bin");
	doc = json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:[s*], s:[], s:[{s:s, s:I, s:I, s:s, s:s, s:s, s:s},"
			    " {s:s, s:I, s:I, s:s, s:s, s:s, s:s}]}",
			    "path", "pkg.zip", "sha256", sha, "size", (json_int_t)len, "mime", "application/zip",
			    "file_type", "archive", "verdict", fw_verdict_name(v), "reasons",
			    v != FW_VERDICT_CLEAN ? reason : NULL, "signatures", "members",
			    "path", "pkg.zip!bios.bin", "depth", (json_int_t)1, "size", (json_int_t)3, "sha256", sha,
			    "mime", "application/octet-stream", "file_type", "firmware_image", "verdict",
			    fw_verdict_name(v),
			    "path", "pkg.zip!readme.txt", "depth", (json_int_t)1, "size", (json_int_t)2, "sha256", sha,
			    "mime", "text/plain", "file_type", "other", "verdict", "clean");
	assert_non_null(doc);
	c = (struct fw_store_commit){ .url = url, .etag = etag, .last_modified = "Mon, 01 Jan 2024 00:00:00 GMT",
				      .spool_fd = fd, .spool_path = spool, .sha256 = sha, .size = len, .verdict = v,
				      .reason = reason, .scan_doc = doc,
				      .engine = "ClamAV 1.0 test" };
	if (v == FW_VERDICT_PENDING) {
		c.sandbox = &pending_member;
		c.n_sandbox = 1;
		c.sandbox_backend = FW_SANDBOX_LOCAL;
		c.sandbox_reuse_since = pending_reuse_since;
	}
	fw_err_clear(err);
	rc = fw_store_commit(f->st, &c, state, id, err);
	close(fd);
	json_decref(doc);
	if (spool_out != NULL)
		snprintf(spool_out, 700, "%s", spool);
	return rc;
}

static void commit_ok(struct fx *f, const char *url, const char *content, enum fw_verdict v,
		      enum fw_object_state want, int64_t *id)
{
	enum fw_object_state state;
	struct fw_err err;

	if (commit_as(f, url, content, v, NULL, &state, id, NULL, &err) != 0)
		fail_msg("commit: %s", fw_err_msg(&err));
	assert_string_equal(fw_object_state_name(state), fw_object_state_name(want));
}

static sqlite3 *raw_db(const struct fx *f)
{
	char p[600];
	sqlite3 *db = NULL;

	snprintf(p, sizeof(p), "%s/fwgate.db", f->dir);
	assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	return db;
}

static int64_t raw_int(const struct fx *f, const char *sql)
{
	sqlite3 *db = raw_db(f);
	sqlite3_stmt *s = NULL;
	int64_t v;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

static void raw_exec(const struct fx *f, const char *sql, int want)
{
	sqlite3 *db = raw_db(f);

	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), want);
	sqlite3_close(db);
}

static bool audit_has(struct fx *f, const char *action, int64_t object_id)
{
	struct fw_err err;
	json_t *rows = NULL, *r;
	size_t i;
	bool found = false;

	fw_err_clear(&err);
	assert_int_equal(fw_store_audit_list(f->st, &rows, &err), 0);
	json_array_foreach(rows, i, r)
		if (strcmp(json_string_value(json_object_get(r, "action")), action) == 0 &&
		    json_integer_value(json_object_get(r, "object_id")) == object_id)
			found = true;
	json_decref(rows);
	return found;
}

/* ------------------------------------------------------------ tests */

static void test_open_migrate_twice(void **state)
{
	struct fx *f = *state;
	struct fw_store *again = NULL;
	struct fw_err err;

	fw_err_clear(&err);
	/* The allow-list's tables share the file and are left alone. */
	raw_exec(f, "CREATE TABLE IF NOT EXISTS category_domains (name TEXT NOT NULL, category TEXT NOT NULL,"
		    " PRIMARY KEY (name, category)) WITHOUT ROWID;"
		    "INSERT INTO category_domains VALUES ('evil.example', 'malware')", SQLITE_OK);
	fw_store_close(f->st);
	f->st = NULL;
	assert_int_equal(fw_store_open(&f->st, f->dir, &err), 0);
	assert_int_equal(fw_store_open(&again, f->dir, &err), 0);
	fw_store_close(again);
	assert_int_equal(raw_int(f, "PRAGMA user_version"), 5);
	assert_int_equal(raw_int(f, "SELECT count(*) FROM category_domains"), 1);
	assert_int_equal(raw_int(f, "SELECT count(*) FROM sqlite_master WHERE name = 'objects'"), 1);
	assert_string_equal(fw_object_state_name(FW_OBJ_RELEASED), "released");
	assert_true(fw_object_state_servable(FW_OBJ_APPROVED));
	assert_true(fw_object_state_servable(FW_OBJ_RELEASED));
	assert_false(fw_object_state_servable(FW_OBJ_QUARANTINED));
	assert_false(fw_object_state_servable(FW_OBJ_REJECTED));
	/* A newer schema than this build knows is refused, not guessed at. */
	fw_store_close(f->st);
	f->st = NULL;
	raw_exec(f, "PRAGMA user_version = 99", SQLITE_OK);
	assert_int_equal(fw_store_open(&f->st, f->dir, &err), -1);
	assert_non_null(strstr(fw_err_msg(&err), "newer"));
	raw_exec(f, "PRAGMA user_version = 5", SQLITE_OK);
	fw_err_clear(&err);
	assert_int_equal(fw_store_open(&f->st, f->dir, &err), 0);
}

/* A schema-2 store (objects with four states, no sandbox tables, no
 * accounts, no URL hosts) with an object and its URL is upgraded in place:
 * the object, its URL and its scan survive the rebuild of objects,
 * `pending` is accepted after, and the URL's host is filled (lower case,
 * without the port) for the review list's host filter. */
static void test_migrate_v2_to_v4(void **state)
{
	struct fx *f = *state;
	struct fw_url_entry e;
	struct fw_err err;
	int64_t id, p;

	fw_err_clear(&err);
	commit_ok(f, "https://DL.Vendor.example:8443/old.bin", "old content", FW_VERDICT_CLEAN, FW_OBJ_APPROVED, &id);
	fw_store_close(f->st);
	f->st = NULL;
	raw_exec(f, "PRAGMA foreign_keys = OFF;"
		    "DROP TABLE sandbox_links; DROP TABLE sandbox_jobs;"
		    "DROP TABLE mirror_exports; DROP TABLE mirror_imports;"
		    "DROP TABLE sessions; DROP TABLE accounts; DROP TABLE tokens; DROP TABLE login_failures;"
		    "DROP TABLE release_requests; DROP INDEX urls_host; DROP INDEX scans_time;"
		    "DROP TRIGGER objects_verdict_scan; DROP TRIGGER objects_verdict_held;"
		    "ALTER TABLE urls DROP COLUMN host;"
		    "CREATE TABLE objects_v2 (id INTEGER PRIMARY KEY, sha256 TEXT NOT NULL UNIQUE CHECK (length(sha256) = 64),"
		    " size INTEGER NOT NULL CHECK (size >= 0), mime TEXT NOT NULL DEFAULT '', file_type TEXT NOT NULL DEFAULT '',"
		    " state TEXT NOT NULL CHECK (state IN ('approved', 'quarantined', 'rejected', 'released')),"
		    " blob TEXT NOT NULL DEFAULT 'present' CHECK (blob IN ('present', 'missing', 'collected')),"
		    " first_seen INTEGER NOT NULL, review_reason TEXT, reviewed_by TEXT, reviewed_at INTEGER);"
		    "INSERT INTO objects_v2 SELECT id, sha256, size, mime, file_type, state, blob, first_seen,"
		    " review_reason, reviewed_by, reviewed_at FROM objects; DROP TABLE objects;"
		    "ALTER TABLE objects_v2 RENAME TO objects;"
		    "CREATE INDEX objects_state ON objects (state, first_seen);"
		    "PRAGMA user_version = 2", SQLITE_OK);
	if (fw_store_open(&f->st, f->dir, &err) != 0)
		fail_msg("upgrade: %s", fw_err_msg(&err));
	assert_int_equal(raw_int(f, "PRAGMA user_version"), 5);
	assert_int_equal(raw_int(f, "SELECT count(*) FROM urls WHERE host = 'dl.vendor.example'"), 1);
	/* the review list's verdict column is filled for the rows there were */
	assert_int_equal(raw_int(f, "SELECT count(*) FROM objects WHERE effective_verdict = 'clean'"), 1);
	assert_int_equal(fw_store_lookup_url(f->st, "https://DL.Vendor.example:8443/old.bin", &e, &err), 1);
	assert_int_equal(e.object_id, id);
	assert_int_equal(e.state, FW_OBJ_APPROVED);
	assert_int_equal(raw_int(f, "SELECT count(*) FROM scans"), 1);
	commit_ok(f, "https://dl.vendor.example/new.zip", "new content", FW_VERDICT_PENDING, FW_OBJ_PENDING, &p);
}

static void test_commit_clean(void **state)
{
	struct fx *f = *state;
	enum fw_object_state st;
	struct fw_url_entry e;
	struct fw_err err;
	char spool[700], sha[65], p[700], buf[64] = "";
	struct stat sb;
	uint64_t size;
	int64_t id;
	int fd;

	fw_err_clear(&err);
	assert_int_equal(commit_as(f, "https://dl.vendor.example/bios.bin", "firmware-1", FW_VERDICT_CLEAN, "\"e1\"",
				   &st, &id, spool, &err), 0);
	assert_int_equal(st, FW_OBJ_APPROVED);
	assert_true(id > 0);
	sha256_hex("firmware-1", 10, sha);
	blob_path(f, "objects", sha, p, sizeof(p));
	assert_int_equal(stat(p, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(sb.st_size, 10);
	assert_false(exists(spool));
	snprintf(p, sizeof(p), "%s/objects/%.2s", f->dir, sha);
	assert_int_equal(stat(p, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);

	assert_int_equal(fw_store_lookup_url(f->st, "https://dl.vendor.example/bios.bin", &e, &err), 1);
	assert_int_equal(e.object_id, id);
	assert_string_equal(e.sha256, sha);
	assert_int_equal(e.size, 10);
	assert_int_equal(e.state, FW_OBJ_APPROVED);
	assert_int_equal(e.verdict, FW_VERDICT_CLEAN);
	assert_string_equal(e.etag, "\"e1\"");
	assert_string_equal(e.last_modified, "Mon, 01 Jan 2024 00:00:00 GMT");
	assert_true(e.fetched_at > 0 && e.verified_at == e.fetched_at);
	assert_int_equal(fw_store_lookup_url(f->st, "https://dl.vendor.example/other.bin", &e, &err), 0);
	assert_int_equal(fw_store_lookup_hash(f->st, sha, &st, NULL, &err), 1);
	assert_int_equal(st, FW_OBJ_APPROVED);
	{
		int64_t got = 0;

		assert_int_equal(fw_store_lookup_hash(f->st, sha, &st, &got, &err), 1);
		assert_int_equal(got, id);
	}
	assert_int_equal(fw_store_lookup_hash(f->st, "00000000000000000000000000000000000000000000000000000000000000ff",
					      &st, NULL, &err), 0);
	assert_int_equal(fw_store_lookup_hash(f->st, "../../etc/passwd", &st, NULL, &err), -1);

	/* The scan, its document and its members are on record. */
	assert_int_equal(raw_int(f, "SELECT count(*) FROM members"), 2);
	assert_int_equal(raw_int(f, "SELECT count(*) FROM scans WHERE verdict = 'clean' AND json_valid(doc)"
				    " AND engine = 'ClamAV 1.0 test'"), 1);
	assert_int_equal(raw_int(f, "SELECT count(*) FROM objects WHERE mime = 'application/zip'"
				    " AND file_type = 'archive'"), 1);

	assert_int_equal(fw_store_open_blob(f->st, sha, &fd, &size, &err), 0);
	assert_int_equal(size, 10);
	assert_int_equal(read(fd, buf, sizeof(buf)), 10);
	assert_memory_equal(buf, "firmware-1", 10);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
}

static void test_commit_quarantine(void **state)
{
	struct fx *f = *state;
	enum fw_object_state st;
	struct fw_err err;
	char sha[65], p[700];
	uint64_t size;
	int64_t id;
	int fd = 7;

	commit_ok(f, "https://dl.vendor.example/enc.zip", "encrypted", FW_VERDICT_UNSCANNABLE, FW_OBJ_QUARANTINED,
		  &id);
	sha256_hex("encrypted", 9, sha);
	blob_path(f, "quarantine", sha, p, sizeof(p));
	assert_true(exists(p));
	blob_path(f, "objects", sha, p, sizeof(p));
	assert_false(exists(p));
	fw_err_clear(&err);
	assert_int_equal(fw_store_open_blob(f->st, sha, &fd, &size, &err), -1);
	assert_int_equal(fd, -1);
	assert_non_null(strstr(fw_err_msg(&err), "quarantined"));
	/* Whatever a new scan says, a quarantined object waits for staff. */
	assert_int_equal(commit_as(f, "https://dl.vendor.example/enc.zip", "encrypted", FW_VERDICT_CLEAN, NULL, &st,
				   &id, NULL, &err), 0);
	assert_int_equal(st, FW_OBJ_QUARANTINED);
	blob_path(f, "quarantine", sha, p, sizeof(p));
	assert_true(exists(p));
}

static void test_same_content_two_urls(void **state)
{
	struct fx *f = *state;
	enum fw_object_state st;
	struct fw_err err;
	char spool[700], sha[65], p[700];
	int64_t id1, id2;

	commit_ok(f, "https://a.vendor.example/x.bin", "same bytes", FW_VERDICT_CLEAN, FW_OBJ_APPROVED, &id1);
	assert_int_equal(commit_as(f, "https://b.vendor.example/y.bin", "same bytes", FW_VERDICT_CLEAN, NULL, &st,
				   &id2, spool, &err), 0);
	assert_int_equal(id1, id2);
	assert_false(exists(spool));
	sha256_hex("same bytes", 10, sha);
	blob_path(f, "objects", sha, p, sizeof(p));
	assert_true(exists(p));
	assert_int_equal(raw_int(f, "SELECT count(*) FROM objects"), 1);
	assert_int_equal(raw_int(f, "SELECT count(*) FROM urls"), 2);
	assert_int_equal(raw_int(f, "SELECT count(*) FROM scans"), 2);
	snprintf(p, sizeof(p), "%s/spool", f->dir);
	assert_int_equal(count_files(p), 0);
}

static void test_approved_then_infected(void **state)
{
	struct fx *f = *state;
	struct fw_url_entry e;
	struct fw_err err;
	char sha[65], p[700];
	int64_t id, id2;

	commit_ok(f, "https://dl.vendor.example/fw.bin", "trojaned later", FW_VERDICT_CLEAN, FW_OBJ_APPROVED, &id);
	commit_ok(f, "https://dl.vendor.example/fw.bin", "trojaned later", FW_VERDICT_INFECTED, FW_OBJ_QUARANTINED,
		  &id2);
	assert_int_equal(id, id2);
	sha256_hex("trojaned later", 14, sha);
	blob_path(f, "objects", sha, p, sizeof(p));
	assert_false(exists(p));
	blob_path(f, "quarantine", sha, p, sizeof(p));
	assert_true(exists(p));
	fw_err_clear(&err);
	assert_int_equal(fw_store_lookup_url(f->st, "https://dl.vendor.example/fw.bin", &e, &err), 1);
	assert_int_equal(e.state, FW_OBJ_QUARANTINED);
	assert_int_equal(e.verdict, FW_VERDICT_INFECTED);
	assert_non_null(strstr(e.reason, "Fw.Test"));
	assert_true(audit_has(f, "rescan-quarantine", id));
	/* ... and a later clean scan does not bring it back. */
	commit_ok(f, "https://dl.vendor.example/fw.bin", "trojaned later", FW_VERDICT_CLEAN, FW_OBJ_QUARANTINED, &id2);
}

static void test_mark_verified(void **state)
{
	struct fx *f = *state;
	enum fw_object_state st;
	struct fw_url_entry e;
	struct fw_err err;
	char longtag[FW_ETAG_MAX + 10];
	int64_t id;

	fw_err_clear(&err);
	assert_int_equal(commit_as(f, "https://dl.vendor.example/v.bin", "validated", FW_VERDICT_CLEAN, "\"v1\"", &st,
				   &id, NULL, &err), 0);
	raw_exec(f, "UPDATE urls SET fetched_at = 100, verified_at = 100", SQLITE_OK);
	assert_int_equal(fw_store_mark_verified(f->st, "https://dl.vendor.example/v.bin", NULL, NULL, &err), 0);
	assert_int_equal(fw_store_lookup_url(f->st, "https://dl.vendor.example/v.bin", &e, &err), 1);
	assert_int_equal(e.fetched_at, 100);
	assert_true(e.verified_at > 100);
	assert_string_equal(e.etag, "\"v1\"");
	assert_int_equal(fw_store_mark_verified(f->st, "https://dl.vendor.example/v.bin", "\"v2\"", "Tue", &err), 0);
	assert_int_equal(fw_store_lookup_url(f->st, "https://dl.vendor.example/v.bin", &e, &err), 1);
	assert_string_equal(e.etag, "\"v2\"");
	assert_string_equal(e.last_modified, "Tue");
	/* A validator too long for the lookup is dropped, never cut. */
	memset(longtag, 'x', sizeof(longtag) - 1);
	longtag[sizeof(longtag) - 1] = '\0';
	assert_int_equal(fw_store_mark_verified(f->st, "https://dl.vendor.example/v.bin", longtag, NULL, &err), 0);
	assert_int_equal(fw_store_lookup_url(f->st, "https://dl.vendor.example/v.bin", &e, &err), 1);
	assert_string_equal(e.etag, "");
	assert_int_equal(fw_store_mark_verified(f->st, "https://dl.vendor.example/none", NULL, NULL, &err), -1);
	assert_non_null(strstr(fw_err_msg(&err), "no record"));
}

static void test_open_blob_truncated(void **state)
{
	struct fx *f = *state;
	struct fw_url_entry e;
	struct fw_err err;
	char sha[65], p[700], damaged[600];
	uint64_t size;
	int64_t id;
	int fd;

	commit_ok(f, "https://dl.vendor.example/t.bin", "0123456789abcdef", FW_VERDICT_CLEAN, FW_OBJ_APPROVED, &id);
	sha256_hex("0123456789abcdef", 16, sha);
	blob_path(f, "objects", sha, p, sizeof(p));
	assert_int_equal(truncate(p, 5), 0);
	fw_err_clear(&err);
	assert_int_equal(fw_store_open_blob(f->st, sha, &fd, &size, &err), -1);
	assert_int_equal(fd, -1);
	assert_non_null(strstr(fw_err_msg(&err), "is 5 bytes, not the 16 recorded"));
	assert_false(exists(p));
	snprintf(damaged, sizeof(damaged), "%s/damaged", f->dir);
	assert_int_equal(count_files(damaged), 1);
	assert_true(audit_has(f, "store-repair", id));
	fw_err_clear(&err);
	assert_int_equal(fw_store_open_blob(f->st, sha, &fd, &size, &err), -1);
	assert_non_null(strstr(fw_err_msg(&err), "missing"));
	/* The URL reads as unknown, so the proxy fetches and vets it again. */
	assert_int_equal(fw_store_lookup_url(f->st, "https://dl.vendor.example/t.bin", &e, &err), 0);
	/* Fetched and vetted again, it is served again. */
	commit_ok(f, "https://dl.vendor.example/t.bin", "0123456789abcdef", FW_VERDICT_CLEAN, FW_OBJ_APPROVED, &id);
	fw_err_clear(&err);
	assert_int_equal(fw_store_open_blob(f->st, sha, &fd, &size, &err), 0);
	assert_int_equal(size, 16);
	close(fd);
	assert_int_equal(fw_store_lookup_url(f->st, "https://dl.vendor.example/t.bin", &e, &err), 1);
}

static void test_release_needs_override(void **state)
{
	struct fx *f = *state;
	enum fw_object_state st;
	struct fw_err err;
	char sha[65], p[700];
	json_t *q = NULL;
	uint64_t size;
	int64_t bad, odd;
	int fd;

	commit_ok(f, "https://dl.vendor.example/bad.bin", "known bad", FW_VERDICT_INFECTED, FW_OBJ_QUARANTINED, &bad);
	commit_ok(f, "https://dl.vendor.example/odd.bin", "odd one", FW_VERDICT_SUSPICIOUS, FW_OBJ_QUARANTINED, &odd);
	fw_err_clear(&err);
	assert_int_equal(fw_store_quarantine_list(f->st, &q, &err), 0);
	assert_int_equal(json_array_size(q), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(q, 0), "url")),
			    "https://dl.vendor.example/odd.bin");
	json_decref(q);

	assert_int_equal(fw_store_release(f->st, bad, "vendor confirmed", "alice", false, &err), -1);
	assert_non_null(strstr(fw_err_msg(&err), "--override-infected"));
	sha256_hex("known bad", 9, sha);
	assert_int_equal(fw_store_lookup_hash(f->st, sha, &st, NULL, &err), 1);
	assert_int_equal(st, FW_OBJ_QUARANTINED);
	fw_err_clear(&err);
	assert_int_equal(fw_store_release(f->st, bad, "false positive, vendor ticket 42", "alice", true, &err), 0);
	assert_int_equal(fw_store_lookup_hash(f->st, sha, &st, NULL, &err), 1);
	assert_int_equal(st, FW_OBJ_RELEASED);
	blob_path(f, "objects", sha, p, sizeof(p));
	assert_true(exists(p));
	blob_path(f, "quarantine", sha, p, sizeof(p));
	assert_false(exists(p));
	assert_true(audit_has(f, "release-override", bad));
	assert_int_equal(fw_store_open_blob(f->st, sha, &fd, &size, &err), 0);
	close(fd);
	/* Released twice is refused; a suspicious one needs no override. */
	assert_int_equal(fw_store_release(f->st, bad, "again", "alice", true, &err), -1);
	fw_err_clear(&err);
	assert_int_equal(fw_store_release(f->st, odd, "sandbox timeout, reviewed by hand", "bob", false, &err), 0);
	assert_true(audit_has(f, "release", odd));
	/* A released hash stays released under a new scan. */
	commit_ok(f, "https://dl.vendor.example/bad.bin", "known bad", FW_VERDICT_INFECTED, FW_OBJ_RELEASED, &bad);
	assert_int_equal(fw_store_release(f->st, 9999, "x", "bob", false, &err), -1);
}

static void test_reject_then_release(void **state)
{
	struct fx *f = *state;
	enum fw_object_state st;
	struct fw_url_entry e;
	struct fw_err err;
	json_t *o = NULL;
	int64_t id;

	commit_ok(f, "https://dl.vendor.example/r.bin", "rejected bytes", FW_VERDICT_SUSPICIOUS, FW_OBJ_QUARANTINED,
		  &id);
	fw_err_clear(&err);
	assert_int_equal(fw_store_reject(f->st, id, "", "carol", &err), -1);
	fw_err_clear(&err);
	assert_int_equal(fw_store_reject(f->st, id, "unsigned image", "carol", &err), 0);
	assert_int_equal(fw_store_release(f->st, id, "changed my mind", "carol", true, &err), -1);
	assert_non_null(strstr(fw_err_msg(&err), "rejected"));
	assert_int_equal(fw_store_lookup_url(f->st, "https://dl.vendor.example/r.bin", &e, &err), 1);
	assert_int_equal(e.state, FW_OBJ_REJECTED);
	assert_string_equal(e.reason, "unsigned image");
	commit_ok(f, "https://dl.vendor.example/r2.bin", "rejected bytes", FW_VERDICT_CLEAN, FW_OBJ_REJECTED, &id);
	(void)st;

	fw_err_clear(&err);
	assert_int_equal(fw_store_object_show(f->st, id, &o, &err), 0);
	assert_string_equal(json_string_value(json_object_get(o, "state")), "rejected");
	assert_int_equal(json_array_size(json_object_get(o, "urls")), 2);
	assert_int_equal(json_array_size(json_object_get(o, "scans")), 2);
	assert_true(json_is_object(json_object_get(json_array_get(json_object_get(o, "scans"), 0), "doc")));
	assert_int_equal(json_array_size(json_object_get(o, "audit")), 1);
	assert_string_equal(json_string_value(json_object_get(o, "reviewed_by")), "carol");
	json_decref(o);
	o = NULL;
	assert_int_equal(fw_store_object_show(f->st, 4242, &o, &err), 1);
	assert_null(o);
}

static void test_audit_chain(void **state)
{
	struct fx *f = *state;
	struct fw_err err;
	json_t *rows = NULL;
	int64_t bad = -1;

	fw_err_clear(&err);
	assert_int_equal(fw_store_audit_verify(f->st, &bad, &err), 0);
	assert_int_equal(fw_store_audit_append(f->st, "login", "alice", 0, "console", &err), 0);
	assert_int_equal(fw_store_audit_append(f->st, "note", "bob", 0, "a|b", &err), 0);
	assert_int_equal(fw_store_audit_append(f->st, "note", "bob|a", 0, "b", &err), 0);
	assert_int_equal(fw_store_audit_verify(f->st, &bad, &err), 0);
	assert_int_equal(bad, 0);
	assert_int_equal(fw_store_audit_list(f->st, &rows, &err), 0);
	assert_int_equal(json_array_size(rows), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(rows, 1), "detail")), "a|b");
	assert_true(json_is_null(json_object_get(json_array_get(rows, 0), "object_id")));
	/* Rows 2 and 3 have the same characters in their fields split
	 * differently: the length-prefixed encoding tells them apart. */
	assert_string_not_equal(json_string_value(json_object_get(json_array_get(rows, 1), "hash")),
				json_string_value(json_object_get(json_array_get(rows, 2), "hash")));
	json_decref(rows);

	/* Someone with write access to fwgate.db is caught by the chain. */
	raw_exec(f, "UPDATE audit SET detail = 'nothing to see' WHERE id = 2", SQLITE_OK);
	assert_int_equal(fw_store_audit_verify(f->st, &bad, &err), 1);
	assert_int_equal(bad, 2);
	assert_string_equal(fw_err_msg(&err), "audit row 2: its hash does not match its contents (altered?)");
	/* Re-hashing the altered row does not help: the next link breaks. */
	raw_exec(f, "UPDATE audit SET detail = 'a|b' WHERE id = 2;"
		    "UPDATE audit SET hash = '0000000000000000000000000000000000000000000000000000000000000001'"
		    " WHERE id = 1", SQLITE_OK);
	fw_err_clear(&err);
	assert_int_equal(fw_store_audit_verify(f->st, &bad, &err), 1);
	assert_int_equal(bad, 1);
	raw_exec(f, "DELETE FROM audit WHERE id = 1", SQLITE_OK);
	fw_err_clear(&err);
	assert_int_equal(fw_store_audit_verify(f->st, &bad, &err), 1);
	assert_int_equal(bad, 2);
	assert_non_null(strstr(fw_err_msg(&err), "audit row 2: its link"));
	assert_int_equal(fw_store_audit_append(f->st, "", "bob", 0, "x", &err), -1);
}

static void test_verify_altered_blob(void **state)
{
	struct fx *f = *state;
	struct fw_err err;
	char sha[65], p[700], *text = NULL;
	size_t text_len = 0;
	unsigned bad = 99;
	uint64_t size;
	int64_t id, other;
	FILE *rep;
	int fd;

	commit_ok(f, "https://dl.vendor.example/a.bin", "pristine image", FW_VERDICT_CLEAN, FW_OBJ_APPROVED, &id);
	commit_ok(f, "https://dl.vendor.example/q.bin", "held image", FW_VERDICT_SUSPICIOUS, FW_OBJ_QUARANTINED,
		  &other);
	rep = open_memstream(&text, &text_len);
	assert_non_null(rep);
	fw_err_clear(&err);
	assert_int_equal(fw_store_verify(f->st, rep, &bad, &err), 0);
	assert_int_equal(bad, 0);
	sha256_hex("pristine image", 14, sha);
	blob_path(f, "objects", sha, p, sizeof(p));
	fd = open(p, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "X", 1, 3), 1);
	close(fd);
	assert_int_equal(fw_store_verify(f->st, rep, &bad, &err), 0);
	assert_int_equal(bad, 1);
	fclose(rep);
	assert_non_null(strstr(text, sha));
	assert_non_null(strstr(text, "altered"));
	assert_int_equal(strchr(text, '\n') - text + 1, (long)strlen(text)); /* one line */
	free(text);
	assert_false(exists(p));
	assert_true(audit_has(f, "store-repair", id));
	assert_false(audit_has(f, "store-repair", other));
	assert_int_equal(fw_store_open_blob(f->st, sha, &fd, &size, &err), -1);
}

static void test_reconcile(void **state)
{
	struct fx *f = *state;
	struct fw_err err;
	char sha[65], p[700], stray[700], *text = NULL;
	size_t text_len = 0;
	unsigned diffs = 0;
	uint64_t size;
	int64_t a, b;
	FILE *rep;
	int fd;

	commit_ok(f, "https://dl.vendor.example/keep.bin", "kept", FW_VERDICT_CLEAN, FW_OBJ_APPROVED, &a);
	commit_ok(f, "https://dl.vendor.example/lost.bin", "lost", FW_VERDICT_CLEAN, FW_OBJ_APPROVED, &b);
	sha256_hex("lost", 4, sha);
	blob_path(f, "objects", sha, p, sizeof(p));
	assert_int_equal(unlink(p), 0);
	snprintf(p, sizeof(p), "%s/objects/ab", f->dir);
	mkdir(p, 0700);
	tu_write(p, "abababababababababababababababababababababababababababababababab", "?", 1, stray,
		 sizeof(stray));

	rep = open_memstream(&text, &text_len);
	assert_non_null(rep);
	fw_err_clear(&err);
	assert_int_equal(fw_store_reconcile(f->st, rep, &diffs, &err), 0);
	fclose(rep);
	assert_int_equal(diffs, 2);
	assert_non_null(strstr(text, "without a record"));
	assert_non_null(strstr(text, "missing"));
	free(text);
	assert_false(exists(stray));
	assert_int_equal(fw_store_open_blob(f->st, sha, &fd, &size, &err), -1);
	sha256_hex("kept", 4, sha);
	fw_err_clear(&err);
	assert_int_equal(fw_store_open_blob(f->st, sha, &fd, &size, &err), 0);
	close(fd);

	rep = open_memstream(&text, &text_len);
	assert_int_equal(fw_store_reconcile(f->st, rep, &diffs, &err), 0);
	fclose(rep);
	assert_int_equal(diffs, 0);
	assert_string_equal(text, "");
	free(text);

	/* A crash between a blob's move and its commit (a sandbox settle):
	 * the pending object's blob sits in objects/; it goes back. */
	{
		char q[700], o[700], dir[700];
		int64_t pend;

		commit_ok(f, "https://dl.vendor.example/pend.zip", "pending", FW_VERDICT_PENDING, FW_OBJ_PENDING, &pend);
		sha256_hex("pending", 7, sha);
		blob_path(f, "quarantine", sha, q, sizeof(q));
		blob_path(f, "objects", sha, o, sizeof(o));
		snprintf(dir, sizeof(dir), "%s/objects/%.2s", f->dir, sha);
		mkdir(dir, 0700);
		assert_int_equal(rename(q, o), 0);
		rep = open_memstream(&text, &text_len);
		assert_int_equal(fw_store_reconcile(f->st, rep, &diffs, &err), 0);
		fclose(rep);
		assert_int_equal(diffs, 1);
		assert_non_null(strstr(text, "moved to quarantine/"));
		free(text);
		assert_true(exists(q));
		assert_false(exists(o));
	}
}

static void test_gc(void **state)
{
	struct fx *f = *state;
	enum fw_object_state st;
	struct fw_err err;
	char old[65], cur[65], p[700];
	unsigned removed = 0;
	int64_t a, b;

	commit_ok(f, "https://dl.vendor.example/latest.bin", "version 1", FW_VERDICT_CLEAN, FW_OBJ_APPROVED, &a);
	commit_ok(f, "https://dl.vendor.example/latest.bin", "version 2", FW_VERDICT_CLEAN, FW_OBJ_APPROVED, &b);
	assert_true(a != b);
	sha256_hex("version 1", 9, old);
	sha256_hex("version 2", 9, cur);
	fw_err_clear(&err);
	assert_int_equal(fw_store_gc(f->st, &removed, &err), 0);
	assert_int_equal(removed, 1);
	blob_path(f, "objects", old, p, sizeof(p));
	assert_false(exists(p));
	blob_path(f, "objects", cur, p, sizeof(p));
	assert_true(exists(p));
	/* The object stays as history. */
	assert_int_equal(fw_store_lookup_hash(f->st, old, &st, NULL, &err), 1);
	assert_int_equal(fw_store_gc(f->st, &removed, &err), 0);
	assert_int_equal(removed, 0);
	/* Fetched again, the old version is stored again. */
	commit_ok(f, "https://dl.vendor.example/v1.bin", "version 1", FW_VERDICT_CLEAN, FW_OBJ_APPROVED, &b);
	assert_int_equal(a, b);
	blob_path(f, "objects", old, p, sizeof(p));
	assert_true(exists(p));
}

static void test_commit_refusals(void **state)
{
	struct fx *f = *state;
	struct fw_store_commit c;
	enum fw_object_state st;
	struct fw_err err;
	char spool[700];
	int64_t id;
	int fd;

	tu_write(f->dir, "spool/x", "abc", 3, spool, sizeof(spool));
	fd = open(spool, O_RDONLY);
	assert_true(fd >= 0);
	c = (struct fw_store_commit){ .url = "https://x.example/a", .spool_fd = fd, .spool_path = spool,
				      .sha256 = "../../../../etc/passwd", .size = 3, .verdict = FW_VERDICT_CLEAN,
				      .reason = "" };
	fw_err_clear(&err);
	assert_int_equal(fw_store_commit(f->st, &c, &st, &id, &err), -1);
	assert_non_null(strstr(fw_err_msg(&err), "SHA-256"));
	/* A size that is not the spool file's: not the complete download. */
	c.sha256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
	c.size = 4;
	fw_err_clear(&err);
	assert_int_equal(fw_store_commit(f->st, &c, &st, &id, &err), -1);
	assert_true(exists(spool));
	close(fd);
	assert_int_equal(raw_int(f, "SELECT count(*) FROM objects"), 0);
}

/* Many threads on one handle: calls are serialized inside. */
struct worker {
	struct fx *f;
	unsigned n;
	int failures;
};

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	struct fw_store_commit c;
	enum fw_object_state st;
	struct fw_url_entry e;
	struct fw_err err;
	char name[64], content[64], spool[700], url[128], sha[65];
	int64_t id;

	for (unsigned i = 0; i < 20; i++) {
		int fd, n = snprintf(content, sizeof(content), "thread %u image %u", w->n, i);

		snprintf(name, sizeof(name), "spool/t%u-%u", w->n, i);
		snprintf(url, sizeof(url), "https://dl.vendor.example/t%u/%u.bin", w->n, i);
		tu_write(w->f->dir, name, content, (size_t)n, spool, sizeof(spool));
		sha256_hex(content, (size_t)n, sha);
		fd = open(spool, O_RDONLY);
		c = (struct fw_store_commit){ .url = url, .spool_fd = fd, .spool_path = spool, .sha256 = sha,
					      .size = (uint64_t)n,
					      .verdict = i % 3 == 0 ? FW_VERDICT_SUSPICIOUS : FW_VERDICT_CLEAN,
					      .reason = "" };
		fw_err_clear(&err);
		if (fd < 0 || fw_store_commit(w->f->st, &c, &st, &id, &err) != 0 ||
		    fw_store_lookup_url(w->f->st, url, &e, &err) != 1 || e.object_id != id ||
		    fw_store_audit_append(w->f->st, "note", "worker", id, content, &err) != 0)
			w->failures++;
		if (fd >= 0)
			close(fd);
	}
	return NULL;
}

static void test_threads(void **state)
{
	struct fx *f = *state;
	struct worker w[4];
	pthread_t t[4];
	struct fw_err err;
	int64_t bad = -1;

	for (unsigned i = 0; i < 4; i++) {
		w[i] = (struct worker){ .f = f, .n = i };
		assert_int_equal(pthread_create(&t[i], NULL, worker_run, &w[i]), 0);
	}
	for (unsigned i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(w[i].failures, 0);
	}
	assert_int_equal(raw_int(f, "SELECT count(*) FROM objects"), 80);
	assert_int_equal(raw_int(f, "SELECT count(*) FROM objects WHERE state = 'quarantined'"), 28);
	fw_err_clear(&err);
	assert_int_equal(fw_store_audit_verify(f->st, &bad, &err), 0);
	assert_int_equal(raw_int(f, "SELECT count(*) FROM audit"), 80);
}


/* What a reader thread did while the writer was held. */
struct reader_run {
	struct fx *f;
	const char *url;
	int lookup, opened, listed, known;
	enum fw_object_state state;
	uint64_t size;
};

static void *reader_run(void *arg)
{
	struct reader_run *r = arg;
	struct fw_url_entry e;
	struct fw_err err;
	json_t *list = NULL;
	int fd = -1;

	fw_err_clear(&err);
	r->lookup = fw_store_lookup_url(r->f->st, r->url, &e, &err);
	r->opened = r->lookup == 1 ? fw_store_open_blob(r->f->st, e.sha256, &fd, &r->size, &err) : -1;
	if (fd >= 0)
		close(fd);
	r->listed = fw_store_quarantine_list(r->f->st, &list, &err);
	json_decref(list);
	r->known = r->lookup == 1 ? fw_store_object_state(r->f->st, e.object_id, &r->state, &err) : -1;
	return NULL;
}

/* A cache hit reads beside the writer: with the writer held (a commit
 * waiting on another process's lock, renaming, syncing), lookups, blob
 * opens and the review list still answer. A reader that waited for the
 * writer would not return before the join's deadline. */
static void test_reads_beside_writer(void **state)
{
	struct fx *f = *state;
	struct reader_run r = { .f = f, .url = "https://dl.vendor.example/hit.bin" };
	struct timespec until;
	pthread_t t;
	int64_t id;

	commit_ok(f, r.url, "hit me", FW_VERDICT_CLEAN, FW_OBJ_APPROVED, &id);
	store_lock(f->st);
	assert_int_equal(pthread_create(&t, NULL, reader_run, &r), 0);
	assert_int_equal(clock_gettime(CLOCK_REALTIME, &until), 0);
	until.tv_sec += 30;
	assert_int_equal(pthread_timedjoin_np(t, NULL, &until), 0);
	store_unlock(f->st);
	assert_int_equal(r.lookup, 1);
	assert_int_equal(r.opened, 0);
	assert_int_equal(r.size, 6);
	assert_int_equal(r.listed, 0);
	assert_int_equal(r.known, 1);
	assert_int_equal(r.state, FW_OBJ_APPROVED);
}


/* ------------------------------------------------------------ sandbox queue */

static const char SHA_A[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
static const char SHA_B[] = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
static const char SHA_C[] = "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc";

static int64_t attach(struct fx *f, int64_t obj, const char *path, const char *sha, int64_t reuse_since, bool *created)
{
	const struct fw_sandbox_member m = { .path = path, .sha256 = sha, .file_type = "firmware_image" };
	struct fw_err err;
	int64_t job = 0;
	unsigned n = 0;

	fw_err_clear(&err);
	if (fw_store_sandbox_attach(f->st, obj, &m, 1, FW_SANDBOX_LOCAL, reuse_since, &job, &n, &err) != 0)
		fail_msg("attach: %s", fw_err_msg(&err));
	*created = n == 1;
	return job;
}

/* Claims the oldest due job, which must be want. */
static struct fw_sandbox_job claim(struct fx *f, int64_t want)
{
	struct fw_sandbox_job j;
	struct fw_err err;

	fw_err_clear(&err);
	assert_int_equal(fw_store_sandbox_claim(f->st, FW_SANDBOX_LOCAL, &j, &err), 1);
	assert_int_equal(j.id, want);
	assert_int_equal(j.state, FW_JOB_RUNNING);
	return j;
}

/* Settles id from its jobs; when it changes, the sandbox's verdict must
 * be v. */
static enum fw_object_state settle(struct fx *f, int64_t id, enum fw_verdict v, bool want_changed)
{
	struct fw_sandbox_decision d;
	enum fw_object_state st;
	struct fw_err err;
	bool changed = !want_changed;

	fw_err_clear(&err);
	if (fw_store_settle(f->st, id, NULL, &d, &st, &changed, &err) != 0)
		fail_msg("settle: %s", fw_err_msg(&err));
	assert_int_equal(changed, want_changed);
	if (changed)
		assert_int_equal(d.verdict, v);
	return st;
}

static bool in_ids(const int64_t *ids, size_t n, int64_t id)
{
	for (size_t i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

/* Pending objects: linked at commit; jobs shared by the same bytes, reused
 * when done and fresh, never when failed; settle only when nothing runs,
 * clean only over all-benign jobs; retries; views. */
static void test_sandbox_jobs_and_settle(void **state)
{
	struct fx *f = *state;
	struct fw_sandbox_job j, old;
	struct fw_err err;
	json_t *findings = json_pack("{s:s}", "backend", "local"), *list = NULL;
	int64_t p1, p2, p3, ja, jb, jnew, ids[8];
	char blob[700], sha[65];
	unsigned nq = 0, reopened = 0;
	bool created;
	size_t n;

	fw_err_clear(&err);
	pending_reuse_since = 0;
	commit_ok(f, "https://dl.vendor.example/p1.zip", "package one", FW_VERDICT_PENDING, FW_OBJ_PENDING, &p1);
	commit_ok(f, "https://dl.vendor.example/p2.zip", "package two", FW_VERDICT_PENDING, FW_OBJ_PENDING, &p2);
	sha256_hex("package one", 11, sha);
	blob_path(f, "quarantine", sha, blob, sizeof(blob));
	assert_true(exists(blob)); /* pending: kept in quarantine/, never served */
	assert_int_equal(fw_store_open_blob(f->st, sha, &(int){ 0 }, &(uint64_t){ 0 }, &err), -1);
	/* Both commits linked the same member bytes: one job. */
	ja = attach(f, p2, "p2.zip!fw.bin", SHA_A, 0, &created);
	assert_false(created);
	jb = attach(f, p1, "p1.zip!b.bin", SHA_B, 0, &created);
	assert_true(created);

	j = claim(f, ja);
	assert_int_equal(fw_store_sandbox_done(f->st, &j, FW_JOB_BENIGN, 5, findings, &err), 0);
	assert_int_equal(fw_store_sandbox_waiting(f->st, ja, ids, 8, &n, &err), 0);
	assert_int_equal(n, 2);
	/* Wrong inputs are refused, and a job not running cannot end again. */
	assert_int_equal(fw_store_sandbox_done(f->st, &j, FW_JOB_VERDICT_NONE, 5, findings, &err), -1);
	assert_int_equal(fw_store_sandbox_done(f->st, &j, (enum fw_job_verdict)9, 5, findings, &err), -1);
	assert_int_equal(fw_store_sandbox_done(f->st, &j, FW_JOB_BENIGN, 101, findings, &err), -1);
	assert_int_equal(fw_store_sandbox_done(f->st, &j, FW_JOB_BENIGN, 5, findings, &err), -1);

	/* p2 waits on ja only: approved, its blob moves to objects/. */
	assert_int_equal(settle(f, p2, FW_VERDICT_CLEAN, true), FW_OBJ_APPROVED);
	sha256_hex("package two", 11, sha);
	blob_path(f, "objects", sha, blob, sizeof(blob));
	assert_true(exists(blob));
	/* Once settled, settling again changes nothing. */
	assert_int_equal(settle(f, p2, FW_VERDICT_INFECTED, false), FW_OBJ_APPROVED);
	assert_int_equal(fw_store_settle(f->st, 999999, NULL, NULL, &(enum fw_object_state){ 0 }, &created, &err),
			 -1); /* no such object */

	/* p1 also waits on b, queued: no settle now, whatever the caller saw,
	 * and the sweep does not list it. */
	assert_int_equal(settle(f, p1, FW_VERDICT_UNSCANNABLE, false), FW_OBJ_PENDING);
	assert_int_equal(fw_store_sandbox_unsettled(f->st, INT64_MAX, ids, 8, &n, &err), 0);
	assert_false(in_ids(ids, n, p1));

	/* b: claimed; its runner is lost, the sweep takes it back, another
	 * claims it; the lost runner's late word does not count. */
	old = claim(f, jb);
	assert_int_equal(fw_store_sandbox_requeue_stale(f->st, (int64_t)time(NULL) + 1, &nq, &err), 0);
	assert_int_equal(nq, 1);
	j = claim(f, jb);
	assert_int_equal(j.attempts, 2);
	assert_int_equal(fw_store_sandbox_failed(f->st, &old, "late", 0, &err), -1);
	/* A retry later, then a final failure. */
	assert_int_equal(fw_store_sandbox_failed(f->st, &j, "service down", (int64_t)time(NULL) + 3600, &err), 0);
	assert_int_equal(fw_store_sandbox_claim(f->st, FW_SANDBOX_LOCAL, &j, &err), 0); /* not due yet */
	assert_int_equal(fw_store_sandbox_get(f->st, jb, &j, &err), 1);
	assert_int_equal(j.state, FW_JOB_QUEUED);
	assert_string_equal(j.error, "service down");
	raw_exec(f, "UPDATE sandbox_jobs SET next_at = 0", SQLITE_OK);
	j = claim(f, jb);
	assert_int_equal(fw_store_sandbox_failed(f->st, &j, "service down again", 0, &err), 0);
	assert_int_equal(fw_store_sandbox_unsettled(f->st, INT64_MAX, ids, 8, &n, &err), 0);
	assert_true(in_ids(ids, n, p1));
	/* The failed job decides, never a clean verdict: quarantined. */
	assert_int_equal(settle(f, p1, FW_VERDICT_UNSCANNABLE, true), FW_OBJ_QUARANTINED);
	assert_int_equal(fw_store_object_show(f->st, p1, &list, &err), 0);
	assert_string_equal(json_string_value(json_object_get(list, "verdict")), "unscannable");
	json_decref(list);

	/* A fresh verdict is reused by a third package; a stale one is not. */
	pending_reuse_since = (int64_t)time(NULL) - 60;
	commit_ok(f, "https://dl.vendor.example/p3.zip", "package three", FW_VERDICT_PENDING, FW_OBJ_PENDING, &p3);
	assert_int_equal(attach(f, p3, "p3.zip!fw.bin", SHA_A, (int64_t)time(NULL) - 60, &created), ja);
	assert_false(created);
	jnew = attach(f, p3, "p3.zip!again.bin", SHA_A, (int64_t)time(NULL) + 60, &created);
	assert_true(jnew != ja && created);
	/* Staff reject p3 while pending: settling leaves it rejected. */
	assert_int_equal(fw_store_reject(f->st, p3, "not ours", "alice", &err), 0);
	assert_int_equal(settle(f, p3, FW_VERDICT_CLEAN, false), FW_OBJ_REJECTED);

	/* Retry: an unknown job cannot; the failed b can, and brings back p1
	 * (quarantined by the sandbox's verdict), audited. */
	assert_int_equal(fw_store_sandbox_retry(f->st, 9999, "bob", &reopened, &err), -1);
	assert_int_equal(fw_store_sandbox_retry(f->st, jb, "bob", &reopened, &err), 0);
	assert_int_equal(reopened, 1);
	assert_int_equal(fw_store_object_state(f->st, p1, &(enum fw_object_state){ 0 }, &err), 1);
	assert_int_equal(fw_store_sandbox_get(f->st, jb, &j, &err), 1);
	assert_int_equal(j.state, FW_JOB_QUEUED);
	assert_int_equal(j.attempts, 0);
	assert_int_equal(fw_store_sandbox_retry(f->st, jb, "bob", &reopened, &err), -1); /* queued already */

	/* Views. */
	assert_int_equal(fw_store_sandbox_object_jobs(f->st, p1, &list, &err), 0);
	assert_int_equal(json_array_size(list), 2);
	json_decref(list);
	assert_int_equal(fw_store_sandbox_list(f->st, &list, &err), 0);
	assert_int_equal(json_array_size(list), 3);
	json_decref(list);
	assert_int_equal(fw_store_sandbox_show(f->st, 9999, &list, &err), 1);
	assert_int_equal(fw_store_pending_docs(f->st, &list, &err), 0);
	assert_int_equal(json_array_size(list), 1); /* p1 again */
	json_decref(list);
	json_decref(findings);
}

/* A pending commit needs its members; a new scan's members replace the
 * links of the one before (in the commit's own transaction); a pending
 * object scanned clean again has nothing left to judge. */
static void test_sandbox_commit_links(void **state)
{
	struct fx *f = *state;
	enum fw_object_state st;
	struct fw_store_commit c = { 0 };
	json_t *findings = json_pack("{s:s}", "backend", "local"), *jobs = NULL;
	struct fw_sandbox_job j;
	struct fw_err err;
	int64_t p, id, ja;
	bool created;

	fw_err_clear(&err);
	pending_reuse_since = 0;
	/* No members with a pending verdict: refused. */
	c = (struct fw_store_commit){ .url = "https://x.example/a", .spool_path = "/nonexistent", .sha256 = SHA_A,
				      .verdict = FW_VERDICT_PENDING, .reason = "" };
	assert_int_equal(fw_store_commit(f->st, &c, &st, &id, &err), -1);
	assert_non_null(strstr(fw_err_msg(&err), "members"));

	commit_ok(f, "https://dl.vendor.example/v1.zip", "bundle", FW_VERDICT_PENDING, FW_OBJ_PENDING, &p);
	ja = attach(f, p, "v1.zip!fw.bin", SHA_A, 0, &created);
	j = claim(f, ja);
	assert_int_equal(fw_store_sandbox_done(f->st, &j, FW_JOB_BENIGN, 0, findings, &err), 0);
	assert_int_equal(settle(f, p, FW_VERDICT_CLEAN, true), FW_OBJ_APPROVED);
	/* Rescanned with another member: pending on that member only, never
	 * on the done job of the scan before. */
	pending_member.sha256 = SHA_C;
	commit_ok(f, "https://dl.vendor.example/v2.zip", "bundle", FW_VERDICT_PENDING, FW_OBJ_PENDING, &id);
	assert_int_equal(id, p);
	assert_int_equal(fw_store_sandbox_object_jobs(f->st, p, &jobs, &err), 0);
	assert_int_equal(json_array_size(jobs), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(jobs, 0), "sha256")), SHA_C);
	json_decref(jobs);
	assert_int_equal(settle(f, p, FW_VERDICT_CLEAN, false), FW_OBJ_PENDING); /* its job is queued */
	/* Scanned clean (the policy sandboxes none of it now): approved. */
	commit_ok(f, "https://dl.vendor.example/v3.zip", "bundle", FW_VERDICT_CLEAN, FW_OBJ_APPROVED, &id);
	pending_member.sha256 = SHA_A;
	json_decref(findings);
}

/* Never past a malicious job: a pending package with a member judged
 * malicious stays pending on a clean rescan (its other job still runs)
 * and is quarantined when settled; an approved package whose member a
 * retried job then judges malicious is taken out of service. */
static void test_sandbox_malicious_past_clean(void **state)
{
	struct fx *f = *state;
	json_t *findings = json_pack("{s:s}", "backend", "local");
	enum fw_object_state st;
	struct fw_sandbox_job j;
	struct fw_url_entry e;
	struct fw_err err;
	unsigned reopened = 0;
	int64_t p, q, id, ja, jb, jc;
	bool created;

	fw_err_clear(&err);
	pending_reuse_since = 0;
	commit_ok(f, "https://dl.vendor.example/m1.zip", "two members", FW_VERDICT_PENDING, FW_OBJ_PENDING, &p);
	ja = attach(f, p, "m1.zip!fw.bin", SHA_A, 0, &created);
	jb = attach(f, p, "m1.zip!tool.exe", SHA_B, 0, &created);
	j = claim(f, ja);
	assert_int_equal(fw_store_sandbox_done(f->st, &j, FW_JOB_MALICIOUS, 95, findings, &err), 0);
	/* The policy sandboxes none of it now: scanned clean, still held. */
	commit_ok(f, "https://dl.vendor.example/m2.zip", "two members", FW_VERDICT_CLEAN, FW_OBJ_PENDING, &id);
	assert_int_equal(id, p);
	assert_int_equal(fw_store_lookup_url(f->st, "https://dl.vendor.example/m2.zip", &e, &err), 1);
	assert_false(fw_object_state_servable(e.state));
	j = claim(f, jb);
	assert_int_equal(fw_store_sandbox_done(f->st, &j, FW_JOB_BENIGN, 0, findings, &err), 0);
	assert_int_equal(settle(f, p, FW_VERDICT_INFECTED, true), FW_OBJ_QUARANTINED);

	/* Approved through the sandbox, then scanned clean (links kept). */
	pending_member.sha256 = SHA_C;
	commit_ok(f, "https://dl.vendor.example/n1.zip", "one member", FW_VERDICT_PENDING, FW_OBJ_PENDING, &q);
	jc = attach(f, q, "n1.zip!fw.bin", SHA_C, 0, &created);
	j = claim(f, jc);
	assert_int_equal(fw_store_sandbox_done(f->st, &j, FW_JOB_BENIGN, 0, findings, &err), 0);
	assert_int_equal(settle(f, q, FW_VERDICT_CLEAN, true), FW_OBJ_APPROVED);
	commit_ok(f, "https://dl.vendor.example/n2.zip", "one member", FW_VERDICT_CLEAN, FW_OBJ_APPROVED, &id);
	/* Staff have the job run again; it judges the member malicious. */
	assert_int_equal(fw_store_sandbox_retry(f->st, jc, "staff", &reopened, &err), 0);
	j = claim(f, jc);
	assert_int_equal(fw_store_sandbox_done(f->st, &j, FW_JOB_MALICIOUS, 90, findings, &err), 0);
	assert_int_equal(fw_store_object_state(f->st, q, &st, &err), 1);
	assert_int_equal(st, FW_OBJ_QUARANTINED);
	assert_int_equal(fw_store_lookup_url(f->st, "https://dl.vendor.example/n2.zip", &e, &err), 1);
	assert_false(fw_object_state_servable(e.state));
	assert_true(audit_has(f, "sandbox-quarantine", q));
	pending_member.sha256 = SHA_A;
	json_decref(findings);
}

/* An approved package scanned again with members for the sandbox is
 * pending again; `sandbox retry` never reopens what the scanner
 * quarantined, only what the sandbox's verdict did; a re-fetch keeps the
 * sandbox's verdict on a quarantined object. */
static void test_sandbox_retry_scope(void **state)
{
	struct fx *f = *state;
	json_t *findings = json_pack("{s:s}", "backend", "local"), *o = NULL;
	enum fw_object_state st;
	struct fw_sandbox_job j;
	struct fw_err err;
	unsigned reopened = 9;
	int64_t p, p2, job, q;
	bool created;

	fw_err_clear(&err);
	pending_reuse_since = 0;
	commit_ok(f, "https://dl.vendor.example/a.zip", "same bytes", FW_VERDICT_CLEAN, FW_OBJ_APPROVED, &p);
	commit_ok(f, "https://dl.vendor.example/b.zip", "same bytes", FW_VERDICT_PENDING, FW_OBJ_PENDING, &p2);
	assert_int_equal(p, p2);
	job = attach(f, p, "a.zip!fw.bin", SHA_A, 0, &created);
	j = claim(f, job);
	assert_int_equal(fw_store_sandbox_done(f->st, &j, FW_JOB_BENIGN, 0, findings, &err), 0);
	assert_int_equal(settle(f, p, FW_VERDICT_CLEAN, true), FW_OBJ_APPROVED);
	/* The scanner now finds the same bytes infected: quarantined by it. */
	commit_ok(f, "https://dl.vendor.example/c.zip", "same bytes", FW_VERDICT_INFECTED, FW_OBJ_QUARANTINED, &p2);
	assert_int_equal(fw_store_sandbox_retry(f->st, job, "carol", &reopened, &err), 0);
	assert_int_equal(reopened, 0);
	assert_int_equal(fw_store_object_state(f->st, p, &st, &err), 1);
	assert_int_equal(st, FW_OBJ_QUARANTINED);

	/* Quarantined by the sandbox as infected: a re-fetch of the same bytes
	 * keeps that verdict, and releasing still needs the override. (The
	 * retried job runs first, so that nothing of q is left to run.) */
	j = claim(f, job);
	assert_int_equal(fw_store_sandbox_done(f->st, &j, FW_JOB_BENIGN, 0, findings, &err), 0);
	pending_member.sha256 = SHA_C;
	commit_ok(f, "https://dl.vendor.example/q1.zip", "malicious bundle", FW_VERDICT_PENDING, FW_OBJ_PENDING, &q);
	{
		struct fw_sandbox_link *links = NULL;
		size_t n = 0;

		assert_int_equal(fw_store_sandbox_links(f->st, q, &links, &n, &err), 0);
		assert_int_equal(n, 1);
		assert_int_equal(links[0].job.state, FW_JOB_QUEUED);
		j = claim(f, links[0].job.id);
		free(links);
	}
	assert_int_equal(fw_store_sandbox_done(f->st, &j, FW_JOB_MALICIOUS, 90, findings, &err), 0);
	assert_int_equal(settle(f, q, FW_VERDICT_INFECTED, true), FW_OBJ_QUARANTINED);
	commit_ok(f, "https://dl.vendor.example/q2.zip", "malicious bundle", FW_VERDICT_PENDING, FW_OBJ_QUARANTINED,
		  &p2);
	pending_member.sha256 = SHA_A;
	assert_int_equal(fw_store_object_show(f->st, q, &o, &err), 0);
	assert_string_equal(json_string_value(json_object_get(o, "verdict")), "infected");
	json_decref(o);
	assert_int_equal(fw_store_release(f->st, q, "looks fine", "dave", false, &err), -1);
	json_decref(findings);
}

/* A later, weaker scan never softens a quarantine; a quarantined
 * object's pending rescan relinks it (a retry reopens it on those links);
 * a retried job that comes back malicious quarantines the packages
 * approved on it; unfinished jobs can be abandoned. */
static void test_sandbox_held_and_demote(void **state)
{
	struct fx *f = *state;
	json_t *findings = json_pack("{s:s}", "backend", "local"), *o = NULL;
	struct fw_sandbox_job j;
	struct fw_err err;
	int64_t inf, id, p, ja;
	unsigned n = 0, reopened = 0;
	char sha[65], blob[700];

	fw_err_clear(&err);
	pending_reuse_since = 0;
	/* Infected by the scanner, then the same bytes scan unscannable. */
	commit_ok(f, "https://dl.vendor.example/i1.zip", "infected bytes", FW_VERDICT_INFECTED, FW_OBJ_QUARANTINED,
		  &inf);
	commit_ok(f, "https://dl.vendor.example/i2.zip", "infected bytes", FW_VERDICT_UNSCANNABLE, FW_OBJ_QUARANTINED,
		  &id);
	assert_int_equal(fw_store_object_show(f->st, inf, &o, &err), 0);
	assert_string_equal(json_string_value(json_object_get(o, "verdict")), "infected");
	assert_non_null(strstr(json_string_value(json_object_get(o, "reason")), "signature"));
	json_decref(o);
	assert_int_equal(fw_store_release(f->st, inf, "worker was slow", "erin", false, &err), -1);
	assert_non_null(strstr(fw_err_msg(&err), "override"));

	/* Quarantined by the sandbox, then rescanned pending with another
	 * member: relinked to it; a retry of that job reopens the object. */
	commit_ok(f, "https://dl.vendor.example/s1.zip", "sandboxed bytes", FW_VERDICT_PENDING, FW_OBJ_PENDING, &p);
	j = claim(f, 1);
	assert_int_equal(fw_store_sandbox_failed(f->st, &j, "down", 0, &err), 0);
	assert_int_equal(settle(f, p, FW_VERDICT_UNSCANNABLE, true), FW_OBJ_QUARANTINED);
	pending_member.sha256 = SHA_B;
	commit_ok(f, "https://dl.vendor.example/s2.zip", "sandboxed bytes", FW_VERDICT_PENDING, FW_OBJ_QUARANTINED,
		  &id);
	pending_member.sha256 = SHA_A;
	assert_int_equal(fw_store_sandbox_object_jobs(f->st, p, &o, &err), 0);
	assert_int_equal(json_array_size(o), 1);
	ja = json_integer_value(json_object_get(json_array_get(o, 0), "id"));
	assert_string_equal(json_string_value(json_object_get(json_array_get(o, 0), "sha256")), SHA_B);
	json_decref(o);
	j = claim(f, ja);
	assert_int_equal(fw_store_sandbox_done(f->st, &j, FW_JOB_BENIGN, 0, findings, &err), 0);
	assert_int_equal(fw_store_sandbox_retry(f->st, ja, "frank", &reopened, &err), 0);
	assert_int_equal(reopened, 1);
	j = claim(f, ja);
	assert_int_equal(fw_store_sandbox_done(f->st, &j, FW_JOB_BENIGN, 0, findings, &err), 0);
	assert_int_equal(settle(f, p, FW_VERDICT_CLEAN, true), FW_OBJ_APPROVED);

	/* Retried again: the approved package is judged again, not served
	 * meanwhile (pending, its blob out of objects/); now malicious, it is
	 * quarantined as infected. */
	assert_int_equal(fw_store_sandbox_retry(f->st, ja, "frank", &reopened, &err), 0);
	assert_int_equal(reopened, 1);
	sha256_hex("sandboxed bytes", 15, sha);
	blob_path(f, "quarantine", sha, blob, sizeof(blob));
	assert_true(exists(blob));
	assert_int_equal(fw_store_open_blob(f->st, sha, &(int){ 0 }, &(uint64_t){ 0 }, &err), -1);
	j = claim(f, ja);
	assert_int_equal(fw_store_sandbox_done(f->st, &j, FW_JOB_MALICIOUS, 90, findings, &err), 0);
	assert_int_equal(settle(f, p, FW_VERDICT_INFECTED, true), FW_OBJ_QUARANTINED);
	assert_int_equal(fw_store_object_show(f->st, p, &o, &err), 0);
	assert_string_equal(json_string_value(json_object_get(o, "verdict")), "infected");
	json_decref(o);
	/* Rescanned unscannable by the scanner now: shown as the scanner says,
	 * but a malicious job of it still makes release need the override. */
	commit_ok(f, "https://dl.vendor.example/s3.zip", "sandboxed bytes", FW_VERDICT_INFECTED, FW_OBJ_QUARANTINED,
		  &id);
	commit_ok(f, "https://dl.vendor.example/s4.zip", "sandboxed bytes", FW_VERDICT_UNSCANNABLE,
		  FW_OBJ_QUARANTINED, &id);
	assert_int_equal(fw_store_release(f->st, p, "fine", "gina", false, &err), -1);
	assert_non_null(strstr(fw_err_msg(&err), "override"));

	/* Released as suspicious by staff, then found infected: quarantined
	 * again (not what staff decided on); released as infected (an
	 * override), a new infected scan leaves it released. */
	commit_ok(f, "https://dl.vendor.example/r1.bin", "released bytes", FW_VERDICT_UNSCANNABLE, FW_OBJ_QUARANTINED,
		  &id);
	assert_int_equal(fw_store_release(f->st, id, "known good", "hank", false, &err), 0);
	commit_ok(f, "https://dl.vendor.example/r2.bin", "released bytes", FW_VERDICT_INFECTED, FW_OBJ_QUARANTINED,
		  &id);
	assert_int_equal(fw_store_release(f->st, id, "known good, really", "hank", true, &err), 0);
	commit_ok(f, "https://dl.vendor.example/r3.bin", "released bytes", FW_VERDICT_INFECTED, FW_OBJ_RELEASED, &id);

	/* A member judged malicious on a retry: a package staff released as
	 * suspicious is quarantined again, held as infected; a later retry
	 * that clears the job's verdict does not lift the override. */
	pending_member.sha256 = SHA_C;
	commit_ok(f, "https://dl.vendor.example/m1.zip", "member bytes", FW_VERDICT_PENDING, FW_OBJ_PENDING, &p);
	pending_member.sha256 = SHA_A;
	assert_int_equal(fw_store_sandbox_object_jobs(f->st, p, &o, &err), 0);
	ja = json_integer_value(json_object_get(json_array_get(o, 0), "id"));
	json_decref(o);
	j = claim(f, ja);
	assert_int_equal(fw_store_sandbox_done(f->st, &j, FW_JOB_SUSPICIOUS, 40, findings, &err), 0);
	assert_int_equal(settle(f, p, FW_VERDICT_SUSPICIOUS, true), FW_OBJ_QUARANTINED);
	assert_int_equal(fw_store_release(f->st, p, "only suspicious", "ivan", false, &err), 0);
	assert_int_equal(fw_store_sandbox_retry(f->st, ja, "ivan", &reopened, &err), 0);
	assert_int_equal(reopened, 0); /* released: staff's, not reopened */
	j = claim(f, ja);
	assert_int_equal(fw_store_sandbox_done(f->st, &j, FW_JOB_MALICIOUS, 95, findings, &err), 0);
	assert_int_equal(fw_store_object_show(f->st, p, &o, &err), 0);
	assert_string_equal(json_string_value(json_object_get(o, "state")), "quarantined");
	assert_string_equal(json_string_value(json_object_get(o, "verdict")), "infected");
	json_decref(o);
	sha256_hex("member bytes", 12, sha);
	blob_path(f, "quarantine", sha, blob, sizeof(blob));
	assert_true(exists(blob));
	assert_int_equal(fw_store_sandbox_retry(f->st, ja, "ivan", &reopened, &err), 0);
	assert_int_equal(fw_store_release(f->st, p, "again", "ivan", false, &err), -1);
	assert_non_null(strstr(fw_err_msg(&err), "override"));
	j = claim(f, ja);
	assert_int_equal(fw_store_sandbox_failed(f->st, &j, "gone", 0, &err), 0);

	/* Abandon: every unfinished job fails, so that nothing waits forever. */
	commit_ok(f, "https://dl.vendor.example/w.zip", "waiting bytes", FW_VERDICT_PENDING, FW_OBJ_PENDING, &id);
	assert_int_equal(fw_store_sandbox_abandon(f->st, "the policy no longer sandboxes", &n, &err), 0);
	assert_true(n >= 1);
	assert_int_equal(settle(f, id, FW_VERDICT_UNSCANNABLE, true), FW_OBJ_QUARANTINED);
	json_decref(findings);
}

/* A package nothing can judge is held for review as unscannable, never
 * while a job of it still runs; the reason says why, and so does the
 * audit row of the table's sandbox-quarantine. */
static void test_sandbox_settle_unjudgeable(void **state)
{
	struct fx *f = *state;
	struct fw_sandbox_decision d;
	enum fw_object_state st;
	struct fw_err err;
	bool changed = true;
	unsigned n = 0;
	json_t *o = NULL;
	int64_t p;

	fw_err_clear(&err);
	pending_reuse_since = 0;
	commit_ok(f, "https://dl.vendor.example/u.zip", "unjudgeable", FW_VERDICT_PENDING, FW_OBJ_PENDING, &p);
	assert_int_equal(fw_store_settle(f->st, p, "no backend", &d, &st, &changed, &err), 0);
	assert_false(changed);
	assert_int_equal(d.kind, FW_SETTLE_WAIT);
	assert_int_equal(st, FW_OBJ_PENDING);
	assert_int_equal(fw_store_sandbox_abandon(f->st, "the policy no longer sandboxes", &n, &err), 0);
	assert_int_equal(fw_store_settle(f->st, p, "no backend", &d, &st, &changed, &err), 0);
	assert_true(changed);
	assert_int_equal(st, FW_OBJ_QUARANTINED);
	assert_int_equal(d.verdict, FW_VERDICT_UNSCANNABLE);
	assert_int_equal(fw_store_object_show(f->st, p, &o, &err), 0);
	assert_string_equal(json_string_value(json_object_get(o, "verdict")), "unscannable");
	assert_non_null(strstr(json_string_value(json_object_get(o, "reason")), "cannot be queued: no backend"));
	json_decref(o);
	assert_int_equal(raw_int(f, "SELECT count(*) FROM audit WHERE action = 'sandbox-quarantine' AND object_id = 1"
				 " AND detail LIKE '%cannot be queued%'"), 1);
}

/* A servable blob found in quarantine/ (a process that moved it died
 * before its commit) is put back, not marked lost. */
static void test_blob_moved_back_on_open(void **state)
{
	struct fx *f = *state;
	char sha[65], o[700], q[700], dir[700];
	struct fw_err err;
	uint64_t size;
	int64_t id;
	int fd;

	fw_err_clear(&err);
	commit_ok(f, "https://dl.vendor.example/back.bin", "put me back", FW_VERDICT_CLEAN, FW_OBJ_APPROVED, &id);
	sha256_hex("put me back", 11, sha);
	blob_path(f, "objects", sha, o, sizeof(o));
	blob_path(f, "quarantine", sha, q, sizeof(q));
	snprintf(dir, sizeof(dir), "%s/quarantine/%.2s", f->dir, sha);
	mkdir(dir, 0700);
	assert_int_equal(rename(o, q), 0);
	assert_int_equal(fw_store_open_blob(f->st, sha, &fd, &size, &err), -1);
	assert_true(exists(o));
	assert_false(exists(q));
	fw_err_clear(&err);
	assert_int_equal(fw_store_open_blob(f->st, sha, &fd, &size, &err), 0);
	close(fd);
}

/* A job left running by a crash is queued again at the next start, and
 * keeps the service's task id; linking is all or none; long chains cut;
 * gc of samples. */
static void test_sandbox_resume(void **state)
{
	struct fx *f = *state;
	struct fw_sandbox_job j, first;
	struct fw_err err;
	unsigned n = 0;
	int64_t p, job;
	bool created;

	fw_err_clear(&err);
	pending_reuse_since = 0;
	commit_ok(f, "https://dl.vendor.example/r.zip", "resume me", FW_VERDICT_PENDING, FW_OBJ_PENDING, &p);
	job = attach(f, p, "r.zip!fw.bin", SHA_A, 0, &created);
	first = claim(f, job);
	assert_int_equal(fw_store_sandbox_set_external(f->st, &first, "42", &err), 0);
	fw_store_close(f->st);
	assert_int_equal(fw_store_open(&f->st, f->dir, &err), 0);
	assert_int_equal(fw_store_sandbox_resume(f->st, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(fw_store_sandbox_claim(f->st, FW_SANDBOX_CAPE, &j, &err), 1);
	assert_int_equal(j.id, job);
	assert_int_equal(j.attempts, 2);
	assert_string_equal(j.external_id, "42");
	assert_int_equal(j.backend, FW_SANDBOX_CAPE);
	/* The claim before the restart is not this one. */
	assert_int_equal(fw_store_sandbox_set_external(f->st, &first, "43", &err), -1);
	/* gc: a sample an unfinished job needs stays; an old one no job
	 * needs goes, as does a crash's temporary file; a fresh one stays. */
	{
		char d[700], pa[800], pb[800], pt[800], pc[800];
		const struct timespec ts[2] = { { 1000, 0 }, { 1000, 0 } };
		unsigned removed = 0;

		snprintf(d, sizeof(d), "%s/samples", f->dir);
		assert_int_equal(mkdir(d, 0700), 0);
		snprintf(pa, sizeof(pa), "%s/%s", d, SHA_A);
		snprintf(pb, sizeof(pb), "%s/%s", d, SHA_B);
		snprintf(pt, sizeof(pt), "%s/.in-1-0", d);
		tu_write(d, SHA_A, "a", 1, pc, sizeof(pc));
		tu_write(d, SHA_B, "b", 1, pc, sizeof(pc));
		tu_write(d, ".in-1-0", "t", 1, pc, sizeof(pc));
		tu_write(d, SHA_C, "c", 1, pc, sizeof(pc));
		assert_int_equal(utimensat(AT_FDCWD, pa, ts, 0), 0);
		assert_int_equal(utimensat(AT_FDCWD, pb, ts, 0), 0);
		assert_int_equal(utimensat(AT_FDCWD, pt, ts, 0), 0);
		assert_int_equal(fw_store_gc(f->st, &removed, &err), 0);
		assert_true(exists(pa));   /* job running */
		assert_false(exists(pb));  /* no job */
		assert_false(exists(pt));
		assert_true(exists(pc));   /* fresh */
	}
	/* Members are linked all or none: one bad member refuses the lot,
	 * and nothing of it is written. */
	{
		const struct fw_sandbox_member two[] = { { "ok.bin", SHA_B, "pe" }, { "x", "not-a-hash", "pe" } };
		int64_t ids[2];
		unsigned made = 0;
		json_t *jobs = NULL;

		assert_int_equal(fw_store_sandbox_attach(f->st, p, two, 2, FW_SANDBOX_LOCAL, 0, ids, &made, &err), -1);
		assert_int_equal(fw_store_sandbox_attach(f->st, p, two, 1, FW_SANDBOX_NONE, 0, ids, &made, &err), -1);
		assert_int_equal(fw_store_sandbox_object_jobs(f->st, p, &jobs, &err), 0);
		assert_int_equal(json_array_size(jobs), 2); /* the commit's member and r.zip!fw.bin */
		json_decref(jobs);
	}
	/* A member chain longer than the label bound is kept cut. */
	{
		char longp[3000];
		const struct fw_sandbox_member one = { longp, SHA_B, "pe" };
		unsigned made = 0;
		json_t *jobs = NULL;

		memset(longp, 'a', sizeof(longp) - 1);
		longp[sizeof(longp) - 1] = '\0';
		assert_int_equal(fw_store_sandbox_attach(f->st, p, &one, 1, FW_SANDBOX_LOCAL, 0, NULL, &made, &err), 0);
		assert_int_equal(fw_store_sandbox_object_jobs(f->st, p, &jobs, &err), 0);
		assert_int_equal(strlen(json_string_value(json_object_get(json_array_get(jobs, 2), "member"))),
				 FW_JOB_MEMBER_MAX - 1);
		json_decref(jobs);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_migrate_twice, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_commit_clean, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_commit_quarantine, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_same_content_two_urls, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_approved_then_infected, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_mark_verified, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_open_blob_truncated, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_release_needs_override, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_reject_then_release, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_audit_chain, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_verify_altered_blob, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_reconcile, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_gc, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_commit_refusals, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_threads, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_sandbox_jobs_and_settle, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_migrate_v2_to_v4, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_sandbox_resume, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_sandbox_retry_scope, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_sandbox_commit_links, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_sandbox_held_and_demote, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_blob_moved_back_on_open, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_sandbox_settle_unjudgeable, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_reads_beside_writer, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_sandbox_malicious_past_clean, fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
