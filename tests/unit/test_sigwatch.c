/* Unit tests of the signature watch's pure parts: the debounce table (a
 * test per row, time passed in), the .cvd/.cld header parser on headers
 * built here in libclamav's 512-byte layout, a directory's databases and
 * ages, the stalest directory, and the supervisor-to-gateway JSON. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <utime.h>

#include <cmocka.h>

#include "fwgate/scanner.h"
#include "scanner/sigdb.h"
#include "testutil.h"

/* ------------------------------------------------------------ debounce */

static void test_debounce_idle_tick(void **state)
{
	struct sigwatch_debounce d;

	(void)state;
	sigwatch_debounce_init(&d, 5000, 50000);
	assert_false(sigwatch_debounce_step(&d, SIGWATCH_TICK, 1000));
	assert_int_equal(d.state, SIGWATCH_IDLE);
	assert_int_equal(sigwatch_debounce_wait_ms(&d, 1000), -1);
}

static void test_debounce_idle_change(void **state)
{
	struct sigwatch_debounce d;

	(void)state;
	sigwatch_debounce_init(&d, 5000, 50000);
	assert_false(sigwatch_debounce_step(&d, SIGWATCH_CHANGE, 1000));
	assert_int_equal(d.state, SIGWATCH_SETTLING);
	assert_int_equal(sigwatch_debounce_wait_ms(&d, 1000), 5000);
	assert_int_equal(sigwatch_debounce_wait_ms(&d, 4000), 2000);
}

static void test_debounce_settling_change_extends(void **state)
{
	struct sigwatch_debounce d;

	(void)state;
	sigwatch_debounce_init(&d, 5000, 50000);
	sigwatch_debounce_step(&d, SIGWATCH_CHANGE, 1000);
	assert_false(sigwatch_debounce_step(&d, SIGWATCH_CHANGE, 4000));
	assert_int_equal(d.state, SIGWATCH_SETTLING);
	/* Quiet is counted from the last change. */
	assert_false(sigwatch_debounce_step(&d, SIGWATCH_TICK, 6000));
	assert_int_equal(sigwatch_debounce_wait_ms(&d, 6000), 3000);
	assert_false(sigwatch_debounce_step(&d, SIGWATCH_TICK, 8999));
	assert_true(sigwatch_debounce_step(&d, SIGWATCH_TICK, 9000));
	assert_int_equal(d.state, SIGWATCH_IDLE);
	/* Fired once: the next tick does nothing. */
	assert_false(sigwatch_debounce_step(&d, SIGWATCH_TICK, 20000));
}

static void test_debounce_settling_tick_quiet(void **state)
{
	struct sigwatch_debounce d;

	(void)state;
	sigwatch_debounce_init(&d, 5000, 50000);
	sigwatch_debounce_step(&d, SIGWATCH_CHANGE, 1000);
	assert_false(sigwatch_debounce_step(&d, SIGWATCH_TICK, 5999));
	assert_int_equal(d.state, SIGWATCH_SETTLING);
	assert_true(sigwatch_debounce_step(&d, SIGWATCH_TICK, 6000));
	assert_int_equal(sigwatch_debounce_wait_ms(&d, 6000), -1);
}

/* A directory that never goes quiet still reloads, max_ms after the
 * burst's first change. */
static void test_debounce_max_wait(void **state)
{
	struct sigwatch_debounce d;
	int64_t t;
	bool fired = false;

	(void)state;
	sigwatch_debounce_init(&d, 5000, 50000);
	sigwatch_debounce_step(&d, SIGWATCH_CHANGE, 0);
	for (t = 1000; t < 60000 && !fired; t += 1000) {
		sigwatch_debounce_step(&d, SIGWATCH_CHANGE, t);
		fired = sigwatch_debounce_step(&d, SIGWATCH_TICK, t);
	}
	assert_true(fired);
	assert_int_equal(t - 1000, 50000);
	/* Wait time never passes the bound either. */
	sigwatch_debounce_step(&d, SIGWATCH_CHANGE, 100000);
	sigwatch_debounce_step(&d, SIGWATCH_CHANGE, 149000);
	assert_int_equal(sigwatch_debounce_wait_ms(&d, 149000), 1000);
}

/* A max below the quiet time is raised to it; a clock that steps back
 * never makes a burst end earlier. */
static void test_debounce_bounds(void **state)
{
	struct sigwatch_debounce d;

	(void)state;
	sigwatch_debounce_init(&d, 5000, 10);
	assert_int_equal(d.max_ms, 5000);
	sigwatch_debounce_step(&d, SIGWATCH_CHANGE, 10000);
	sigwatch_debounce_step(&d, SIGWATCH_CHANGE, 9000);
	assert_int_equal(d.last_ms, 10000);
	assert_false(sigwatch_debounce_step(&d, SIGWATCH_TICK, 14999));
	assert_true(sigwatch_debounce_step(&d, SIGWATCH_TICK, 15000));
}

/* ------------------------------------------------------------ headers */

/* A header as sigtool writes one: the fields, padded to 512 bytes with
 * spaces, followed by the body. */
static void make_header(uint8_t *out, const char *text)
{
	size_t n = strlen(text);

	assert_true(n <= SIGDB_HEADER_LEN);
	memset(out, ' ', SIGDB_HEADER_LEN);
	memcpy(out, text, n);
}

#define DAILY_HDR "ClamAV-VDB:04 Dec 2026 07-32 -0500:27479:2071052:90:a8d9e0c5b12c3f4e5d6a7b8c9d0e1f2a:" \
		  "YaB0CZnwlEvJtlCGu1vqG8M7vdHI3ulOF6fxJWHBmsVbWQMCchd3JrxpcH/6Wv6DKr:raynman:1796387520"

static void test_header_valid(void **state)
{
	uint8_t h[SIGDB_HEADER_LEN + 16];
	struct fw_sigdb e = { 0 };
	struct fw_err err;

	(void)state;
	fw_err_clear(&err);
	make_header(h, DAILY_HDR);
	memset(h + SIGDB_HEADER_LEN, 0x1f, 16); /* the gzip body that follows is not read */
	assert_int_equal(sigdb_header_parse(h, sizeof(h), &e, &err), 0);
	assert_int_equal(e.version, 27479);
	assert_int_equal(e.signatures, 2071052);
	assert_int_equal(e.time, 1796387520);
}

/* Old databases have no build time: 0, and the caller uses the file's. */
static void test_header_no_stime(void **state)
{
	uint8_t h[SIGDB_HEADER_LEN];
	struct fw_sigdb e = { .time = 99 };
	struct fw_err err;

	(void)state;
	fw_err_clear(&err);
	make_header(h, "ClamAV-VDB:09 Mar 2008 12-00 +0100:46:231834:26:0123456789abcdef0123456789abcdef:X:sven");
	assert_int_equal(sigdb_header_parse(h, sizeof(h), &e, &err), 0);
	assert_int_equal(e.version, 46);
	assert_int_equal(e.time, 0);
}

static void test_header_refused(void **state)
{
	static const struct {
		const char *text;
		const char *why;
	} cases[] = {
		{ "ClamAV-VDX:04 Dec 2026:1:2:90:md5:dsig:b:1", "no ClamAV-VDB header" },
		{ "ClamAV-VDB:04 Dec 2026:1:2:90:md5:dsig", "has 7 fields" },
		{ "ClamAV-VDB:04 Dec 2026:abc:2:90:md5:dsig:b:1", "version is not a number" },
		{ "ClamAV-VDB:04 Dec 2026:0:2:90:md5:dsig:b:1", "version is not a number" },
		{ "ClamAV-VDB:04 Dec 2026:-5:2:90:md5:dsig:b:1", "version is not a number" },
		{ "ClamAV-VDB:04 Dec 2026:4294967296:2:90:md5:dsig:b:1", "version is not a number" },
		{ "ClamAV-VDB:04 Dec 2026:7::90:md5:dsig:b:1", "signature count is not a number" },
		{ "ClamAV-VDB:04 Dec 2026:7:2:90:md5:dsig:b:17x", "build time is not a number" },
		{ "ClamAV-VDB:04 Dec 2026:7:2:90:md5:dsig:b:99999999999999", "build time is not a number" },
		{ "ClamAV-VDB:04 Dec\n2026:7:2:90:md5:dsig:b:1", "not printable text" },
	};
	uint8_t h[SIGDB_HEADER_LEN];
	struct fw_sigdb e;
	struct fw_err err;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&e, 0, sizeof(e));
		fw_err_clear(&err);
		make_header(h, cases[i].text);
		assert_int_equal(sigdb_header_parse(h, sizeof(h), &e, &err), -1);
		if (strstr(fw_err_msg(&err), cases[i].why) == NULL)
			fail_msg("case %zu: \"%s\" does not say \"%s\"", i, fw_err_msg(&err), cases[i].why);
		assert_int_equal(e.version, 0);
	}
	/* Shorter than a header: refused before a byte is read past len. */
	make_header(h, DAILY_HDR);
	fw_err_clear(&err);
	assert_int_equal(sigdb_header_parse(h, SIGDB_HEADER_LEN - 1, &e, &err), -1);
	assert_non_null(strstr(fw_err_msg(&err), "shorter than its 512-byte header"));
}

static void test_name_loadable(void **state)
{
	static const char *const yes[] = { "main.cvd", "daily.cld", "bytecode.cvd", "x.ndb", "a.hdb", "r.ldb",
					   "s.hsb", "f.fp", "w.ign2", "rules.yar", "t.cbc", "local.gdb" };
	static const char *const no[] = { ".ndb", "notes.txt", "daily.cld.tmp", ".tmp-daily", "x.ndb~",
					  ".x.ndb.swp", "freshclam.dat", "tmp.1234abcd", "ndb", "x.NDB" };

	(void)state;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (!sigdb_name_loadable(yes[i]))
			fail_msg("%s should be loadable", yes[i]);
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (sigdb_name_loadable(no[i]))
			fail_msg("%s should not be loadable", no[i]);
}

/* ------------------------------------------------------------ directories */

static void set_mtime(const char *path, time_t t)
{
	struct utimbuf u = { .actime = t, .modtime = t };

	assert_int_equal(utime(path, &u), 0);
}

static const struct fw_sigdb *find(const struct fw_signature_info *si, const char *name, const char *dir)
{
	for (unsigned i = 0; i < si->n_dbs; i++)
		if (strcmp(si->dbs[i].name, name) == 0 && strcmp(si->dbs[i].dir, dir) == 0)
			return &si->dbs[i];
	return NULL;
}

static void test_dir_add(void **state)
{
	char dir[512], dir2[512], path[1024], sub[1024];
	uint8_t cvd[SIGDB_HEADER_LEN + 64];
	struct fw_signature_info *si = calloc(1, sizeof(*si));
	const struct fw_sigdb *e;
	struct fw_err err;
	unsigned idx = 99;

	(void)state;
	TU_NONNULL(si);
	fw_err_clear(&err);
	tu_mkdtemp(dir, sizeof(dir));
	tu_mkdtemp(dir2, sizeof(dir2));
	make_header(cvd, DAILY_HDR);
	memset(cvd + SIGDB_HEADER_LEN, 0, 64);
	tu_write(dir, "daily.cld", cvd, sizeof(cvd), path, sizeof(path));
	make_header(cvd, "ClamAV-VDB:16 Sep 2021 08-32 -0400:62:6647427:90:565b1b7a4b3e2ed2ee9e5c9b1c1f9a5d:"
			 "dsig:sigmgr:1631795571");
	tu_write(dir, "main.cvd", cvd, sizeof(cvd), path, sizeof(path));
	tu_write(dir, "custom.ndb", "A:0:*:41\n", 9, path, sizeof(path));
	set_mtime(path, 1700000000);
	tu_write(dir, "custom.hdb", "x\n", 2, path, sizeof(path));
	set_mtime(path, 1700000500);
	tu_write(dir, "notes.txt", "x\n", 2, path, sizeof(path));
	set_mtime(path, 1900000000); /* not a database: its time counts for nothing */
	snprintf(sub, sizeof(sub), "%s/tmp.0123.ndb", dir);
	assert_int_equal(mkdir(sub, 0700), 0); /* a directory, whatever its name */
	tu_write(dir2, "only.ndb", "B:0:*:42\n", 9, path, sizeof(path));
	set_mtime(path, 1600000000);

	assert_int_equal(sigdb_add_bundled(si, &err), 0);
	assert_int_equal(sigdb_dir_add(si, dir, &err), 0);
	assert_int_equal(sigdb_dir_add(si, dir2, &err), 0);
	assert_int_equal(si->n_dbs, 5);
	e = find(si, "daily", dir);
	TU_NONNULL(e);
	assert_int_equal(e->kind, FW_SIGDB_CVD);
	assert_int_equal(e->version, 27479);
	assert_int_equal(e->time, 1796387520);
	e = find(si, "main", dir);
	TU_NONNULL(e);
	assert_int_equal(e->version, 62);
	e = find(si, "local", dir);
	TU_NONNULL(e);
	assert_int_equal(e->kind, FW_SIGDB_LOCAL);
	assert_int_equal(e->files, 2);
	assert_int_equal(e->time, 1700000500);
	e = find(si, "bundled", "");
	TU_NONNULL(e);
	assert_int_equal(e->kind, FW_SIGDB_BUNDLED);

	/* dir is as old as daily (its newest), dir2 as its only file: dir2
	 * is the stalest. main's old build time alone makes nothing stale. */
	assert_int_equal(fw_signature_info_stalest(si, &idx), 1600000000);
	assert_string_equal(si->dbs[idx].dir, dir2);
	tu_rmtree(dir2);

	/* A header that does not parse fails the directory, naming the file. */
	memset(cvd, 'x', sizeof(cvd));
	tu_write(dir, "bytecode.cvd", cvd, sizeof(cvd), path, sizeof(path));
	memset(si, 0, sizeof(*si));
	fw_err_clear(&err);
	assert_int_equal(sigdb_dir_add(si, dir, &err), -1);
	assert_non_null(strstr(fw_err_msg(&err), "bytecode.cvd"));
	assert_non_null(strstr(fw_err_msg(&err), "no ClamAV-VDB header"));
	rmdir(sub);
	tu_rmtree(dir);
	free(si);
}

static void test_dir_missing_and_full(void **state)
{
	struct fw_signature_info *si = calloc(1, sizeof(*si));
	struct fw_err err;

	(void)state;
	TU_NONNULL(si);
	fw_err_clear(&err);
	assert_int_equal(sigdb_dir_add(si, "/nonexistent/fwgate-sigs", &err), -1);
	assert_non_null(strstr(fw_err_msg(&err), "cannot open the signature directory"));
	si->n_dbs = FW_SIGDB_MAX;
	fw_err_clear(&err);
	assert_int_equal(sigdb_add_bundled(si, &err), -1);
	assert_non_null(strstr(fw_err_msg(&err), "more than 64 signature databases"));
	free(si);
}

static void test_stalest_none(void **state)
{
	struct fw_signature_info si = { .n_dbs = 1 };
	unsigned idx = 7;

	(void)state;
	si.dbs[0].kind = FW_SIGDB_BUNDLED;
	assert_int_equal(fw_signature_info_stalest(&si, &idx), 0);
	assert_int_equal(idx, 7);
}

/* ------------------------------------------------------------ JSON */

static void test_json_round_trip(void **state)
{
	struct fw_signature_info *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	struct fw_err err;
	json_t *doc;

	(void)state;
	TU_NONNULL(a);
	TU_NONNULL(b);
	fw_err_clear(&err);
	a->signatures = 8700000;
	a->loaded_at = 1796390000;
	a->n_dbs = 2;
	a->dbs[0] = (struct fw_sigdb){ .kind = FW_SIGDB_CVD, .name = "daily", .dir = "/var/lib/clamav",
				       .version = 27479, .signatures = 2071052, .files = 1, .time = 1796387520 };
	a->dbs[1] = (struct fw_sigdb){ .kind = FW_SIGDB_LOCAL, .name = "local", .dir = "/etc/fwgate/sigs",
				       .files = 3, .time = 1796000000 };
	doc = fw_signature_info_json(a, 0);
	TU_NONNULL(doc);
	assert_null(json_object_get(json_array_get(json_object_get(doc, "databases"), 0), "age_seconds"));
	assert_int_equal(sigdb_info_from_json(doc, b, &err), 0);
	assert_memory_equal(a, b, sizeof(*a));
	json_decref(doc);

	doc = fw_signature_info_json(a, 1796387520 + 7200);
	TU_NONNULL(doc);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(json_object_get(doc, "databases"), 0),
							    "age_seconds")), 7200);
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(doc, "databases"), 1),
							      "kind")), "local");
	json_decref(doc);
	free(a);
	free(b);
}

static void test_json_refused(void **state)
{
	static const char *const bad[] = {
		"null",
		"{\"signatures\": 1, \"loaded_at\": 1, \"databases\": {}}",
		"{\"signatures\": -1, \"loaded_at\": 1, \"databases\": []}",
		"{\"signatures\": 1, \"loaded_at\": 1, \"databases\": [{\"kind\": \"cvd\", \"name\": \"daily\"}]}",
		"{\"signatures\": 1, \"loaded_at\": 1, \"databases\": [{\"kind\": \"zip\", \"name\": \"d\", \"dir\": \"/\", "
		"\"version\": 1, \"signatures\": 1, \"files\": 1, \"time\": 1}]}",
		"{\"signatures\": 1, \"loaded_at\": 1, \"databases\": [{\"kind\": \"cvd\", \"name\": \"d\", \"dir\": \"/\", "
		"\"version\": 4294967296, \"signatures\": 1, \"files\": 1, \"time\": 1}]}",
		"{\"signatures\": 1, \"loaded_at\": 1, \"databases\": [{\"kind\": \"cvd\", \"name\": "
		"\"0123456789012345678901234567890123456789012345678901234567890123456789\", \"dir\": \"/\", "
		"\"version\": 1, \"signatures\": 1, \"files\": 1, \"time\": 1}]}",
		"{\"signatures\": 1, \"loaded_at\": 1, \"databases\": [{\"kind\": \"cvd\", \"name\": \"a\\u0000b\", "
		"\"dir\": \"/\", \"version\": 1, \"signatures\": 1, \"files\": 1, \"time\": 1}]}",
	};
	struct fw_signature_info *si = calloc(1, sizeof(*si));
	struct fw_err err;

	(void)state;
	TU_NONNULL(si);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *doc = json_loads(bad[i], JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);

		fw_err_clear(&err);
		si->n_dbs = 5;
		if (sigdb_info_from_json(doc, si, &err) != -1)
			fail_msg("case %zu was accepted", i);
		assert_int_equal(si->n_dbs, 0);
		assert_true(fw_err_isset(&err));
		json_decref(doc);
	}
	free(si);
}

static void test_info_line(void **state)
{
	struct fw_signature_info si = { .n_dbs = 3 };
	char line[512], small[40];

	(void)state;
	si.dbs[0] = (struct fw_sigdb){ .kind = FW_SIGDB_CVD, .name = "daily", .dir = "/var/lib/clamav",
				       .version = 27479, .signatures = 2071052, .files = 1, .time = 1796387520 };
	si.dbs[1] = (struct fw_sigdb){ .kind = FW_SIGDB_LOCAL, .name = "local", .dir = "/etc/sigs", .files = 2,
				       .time = 1796387520 - 3 * 86400 };
	si.dbs[2] = (struct fw_sigdb){ .kind = FW_SIGDB_BUNDLED, .name = "bundled" };
	fw_signature_info_line(&si, 1796387520 + 3 * 3600, line, sizeof(line));
	assert_string_equal(line, "daily 27479 (2071052 signatures, built 2026-12-04 12:32 UTC, 3 h old) in "
				  "/var/lib/clamav; local: 2 files (newest 2026-12-01 12:32 UTC, 3 d old) in "
				  "/etc/sigs; bundled");
	/* Cut to fit, and marked. */
	fw_signature_info_line(&si, 1796387520, small, sizeof(small));
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_string_equal(small + sizeof(small) - 4, "...");
}

/* ------------------------------------------------------------ inotify */

/* What the watch said, from its thread. */
struct heard {
	pthread_mutex_t lock;
	unsigned changed, lost;
	char last[2048];
};

static void on_watch(void *arg, enum fw_sigwatch_event ev, const char *reason)
{
	struct heard *h = arg;

	pthread_mutex_lock(&h->lock);
	if (ev == FW_SIGWATCH_CHANGED)
		h->changed++;
	else
		h->lost++;
	snprintf(h->last, sizeof(h->last), "%s", reason);
	pthread_mutex_unlock(&h->lock);
}

/* Polls (bounded: 10 s) until the watch has said `changed` times that a
 * reload is due; the reason into last. */
static bool await_changed(struct heard *h, unsigned changed, char *last, size_t len)
{
	for (int i = 0; i < 1000; i++) {
		bool done;

		pthread_mutex_lock(&h->lock);
		done = h->changed >= changed;
		snprintf(last, len, "%s", h->last);
		pthread_mutex_unlock(&h->lock);
		if (done)
			return true;
		usleep(10000);
	}
	return false;
}

/* A directory that does not exist yet is awaited in its parent; a
 * database renamed into it is a change, other names are not; deleting
 * the directory is one, and it is watched again when it comes back. */
static void test_watch_directory(void **state)
{
	static struct fw_config cfg;
	static struct heard h = { .lock = PTHREAD_MUTEX_INITIALIZER };
	char root[256], dir[512], tmp[600], path[1200], last[2048];
	struct fw_sigwatch *w = NULL;
	struct fw_err err;

	(void)state;
	fw_err_clear(&err);
	tu_mkdtemp(root, sizeof(root));
	snprintf(dir, sizeof(dir), "%s/sigs", root);
	snprintf(tmp, sizeof(tmp), "%s/sigs.new", root);
	memset(&cfg, 0, sizeof(cfg));
	cfg.scanner.n_signatures = 1;
	snprintf(cfg.scanner.signatures[0], sizeof(cfg.scanner.signatures[0]), "%s/", dir);
	cfg.scanner.reload_debounce_seconds = 1;
	assert_int_equal(fw_sigwatch_start(&w, &cfg, on_watch, &h, &err), 0);

	/* It appears, already holding a database (freshclam's first run). */
	assert_int_equal(mkdir(tmp, 0700), 0);
	tu_write(tmp, "a.ndb", "A:0:*:41\n", 9, path, sizeof(path));
	assert_int_equal(rename(tmp, dir), 0);
	assert_true(await_changed(&h, 1, last, sizeof(last)));
	assert_non_null(strstr(last, "the directory appeared in"));

	/* Not databases: nothing. Then a temporary file renamed to a
	 * database: one change, named. */
	tu_write(dir, "notes.txt", "x\n", 2, path, sizeof(path));
	tu_write(dir, ".tmp-b", "B:0:*:42\n", 9, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s/b.ndb", dir);
	assert_int_equal(rename(path, tmp), 0);
	assert_true(await_changed(&h, 2, last, sizeof(last)));
	assert_non_null(strstr(last, "b.ndb in "));
	usleep(1500000); /* one debounce period and more: nothing further */
	pthread_mutex_lock(&h.lock);
	assert_int_equal(h.changed, 2);
	pthread_mutex_unlock(&h.lock);

	/* Deleted: a change; recreated: watched again. */
	snprintf(path, sizeof(path), "%s/a.ndb", dir);
	assert_int_equal(unlink(path), 0);
	snprintf(path, sizeof(path), "%s/b.ndb", dir);
	assert_int_equal(unlink(path), 0);
	snprintf(path, sizeof(path), "%s/notes.txt", dir);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
	assert_true(await_changed(&h, 3, last, sizeof(last)));
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_true(await_changed(&h, 4, last, sizeof(last)));
	tu_write(dir, "c.hdb", "x\n", 2, path, sizeof(path));
	assert_true(await_changed(&h, 5, last, sizeof(last)));
	assert_non_null(strstr(last, "c.hdb in "));
	pthread_mutex_lock(&h.lock);
	assert_int_equal(h.lost, 0);
	pthread_mutex_unlock(&h.lock);
	fw_sigwatch_stop(w);
	tu_rmtree(root);
}

/* Neither the directory nor its parent: the start fails and says why. */
static void test_watch_nothing_to_watch(void **state)
{
	static struct fw_config cfg;
	static struct heard h = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct fw_sigwatch *w = NULL;
	struct fw_err err;

	(void)state;
	fw_err_clear(&err);
	memset(&cfg, 0, sizeof(cfg));
	cfg.scanner.n_signatures = 1;
	snprintf(cfg.scanner.signatures[0], sizeof(cfg.scanner.signatures[0]), "/nonexistent/fwgate/sigs");
	cfg.scanner.reload_debounce_seconds = 1;
	assert_int_equal(fw_sigwatch_start(&w, &cfg, on_watch, &h, &err), -1);
	assert_null(w);
	assert_non_null(strstr(fw_err_msg(&err), "\"/nonexistent/fwgate/sigs\" is missing and its parent "
						  "\"/nonexistent/fwgate\" cannot be watched"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_debounce_idle_tick),
		cmocka_unit_test(test_debounce_idle_change),
		cmocka_unit_test(test_debounce_settling_change_extends),
		cmocka_unit_test(test_debounce_settling_tick_quiet),
		cmocka_unit_test(test_debounce_max_wait),
		cmocka_unit_test(test_debounce_bounds),
		cmocka_unit_test(test_header_valid),
		cmocka_unit_test(test_header_no_stime),
		cmocka_unit_test(test_header_refused),
		cmocka_unit_test(test_name_loadable),
		cmocka_unit_test(test_dir_add),
		cmocka_unit_test(test_dir_missing_and_full),
		cmocka_unit_test(test_stalest_none),
		cmocka_unit_test(test_json_round_trip),
		cmocka_unit_test(test_json_refused),
		cmocka_unit_test(test_info_line),
		cmocka_unit_test(test_watch_directory),
		cmocka_unit_test(test_watch_nothing_to_watch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
