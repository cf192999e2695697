/* Unit tests of offline bundles: the signing key (made 0600, never
 * replaced, refused when others may read it), signatures against the
 * trusted keys with revocation, the manifest's strict schema and bounds (a
 * table of refusals), and the store's side: the export listing and the
 * all-or-nothing import with its replay check. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "fwgate/bundle.h"
#include "fwgate/store.h"
#include "testutil.h"

static void rm_rf(const char *dir)
{
	char cmd[1200];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
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

/* A key made in dir/key, its public half as dir/trusted/<site>.pem. */
static void make_site(const char *dir, const char *site, char *key, size_t key_len, char fpr[65])
{
	char tdir[1100], name[200], pem_path[1400];
	char *pem = NULL;
	struct fw_err err;

	fw_err_clear(&err);
	snprintf(key, key_len, "%s/%s.key", dir, site);
	if (fw_bundle_keygen(key, &pem, fpr, &err) != 0)
		fail_msg("keygen: %s", fw_err_msg(&err));
	TU_NONNULL(pem);
	snprintf(tdir, sizeof(tdir), "%s/trusted", dir);
	mkdir(tdir, 0700);
	snprintf(name, sizeof(name), "%s.pem", site);
	tu_write(tdir, name, pem, strlen(pem), pem_path, sizeof(pem_path));
	free(pem);
}

static void test_keys_sign_verify(void **state)
{
	char dir[1024], key[1100], fpr[65], fpr2[65], site[FW_BUNDLE_SITE_MAX + 1], who[65], tdir[1100],
		rev[1200], *pem = NULL;
	const uint8_t msg[] = "the manifest's bytes";
	uint8_t sig[FW_BUNDLE_SIG_LEN], bad[sizeof(msg)];
	struct fw_bundle_trust *t = NULL;
	struct fw_err err;
	struct stat sb;

	(void)state;
	fw_err_clear(&err);
	tu_mkdtemp(dir, sizeof(dir));
	make_site(dir, "siteA", key, sizeof(key), fpr);
	assert_int_equal(stat(key, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	/* never replaced */
	assert_int_equal(fw_bundle_keygen(key, &pem, fpr2, &err), -1);
	assert_int_equal(fw_err_code(&err), FW_E_EXISTS);
	assert_null(pem);
	fw_err_clear(&err);
	assert_int_equal(fw_bundle_sign_file_key(key, msg, sizeof(msg), sig, fpr2, &err), 0);
	assert_string_equal(fpr, fpr2);
	snprintf(tdir, sizeof(tdir), "%s/trusted", dir);
	assert_int_equal(fw_bundle_trust_load(tdir, NULL, &t, &err), 0);
	TU_NONNULL(t);
	assert_int_equal(fw_bundle_trust_verify(t, msg, sizeof(msg), sig, site, who, &err), 0);
	assert_string_equal(site, "siteA");
	assert_string_equal(who, fpr);
	/* a changed message, a changed signature */
	memcpy(bad, msg, sizeof(msg));
	bad[3] ^= 1;
	assert_int_equal(fw_bundle_trust_verify(t, bad, sizeof(bad), sig, site, who, &err), 1);
	assert_non_null(strstr(fw_err_msg(&err), "no trusted key"));
	fw_err_clear(&err);
	sig[10] ^= 0x40;
	assert_int_equal(fw_bundle_trust_verify(t, msg, sizeof(msg), sig, site, who, &err), 1);
	sig[10] ^= 0x40;
	fw_bundle_trust_free(t);
	t = NULL;
	/* revoked (listed in upper case, with a comment) */
	for (int i = 0; fpr2[i]; i++)
		fpr2[i] = (char)(fpr2[i] >= 'a' ? fpr2[i] - 'a' + 'A' : fpr2[i]);
	{
		char text[200];

		snprintf(text, sizeof(text), "# site A, lost laptop\n%s  # revoked\n\n", fpr2);
		tu_write(dir, "revoked.txt", text, strlen(text), rev, sizeof(rev));
	}
	fw_err_clear(&err);
	assert_int_equal(fw_bundle_trust_load(tdir, rev, &t, &err), 0);
	assert_int_equal(fw_bundle_trust_verify(t, msg, sizeof(msg), sig, site, who, &err), 1);
	assert_non_null(strstr(fw_err_msg(&err), "revoked"));
	fw_bundle_trust_free(t);
	t = NULL;
	/* a malformed revocation list refuses everything */
	tu_write(dir, "revoked.txt", "abc\n", 4, rev, sizeof(rev));
	fw_err_clear(&err);
	assert_int_equal(fw_bundle_trust_load(tdir, rev, &t, &err), -1);
	assert_int_equal(fw_err_code(&err), FW_E_CONFIG);
	assert_null(t);
	/* a key others may read signs nothing */
	assert_int_equal(chmod(key, 0640), 0);
	fw_err_clear(&err);
	assert_int_equal(fw_bundle_sign_file_key(key, msg, sizeof(msg), sig, fpr2, &err), -1);
	assert_int_equal(fw_err_code(&err), FW_E_DENIED);
	/* a trusted_keys file that is no key is an error, not skipped */
	{
		char junk[1300];

		tu_write(tdir, "junk.pem", "junk", 4, junk, sizeof(junk));
	}
	fw_err_clear(&err);
	assert_int_equal(fw_bundle_trust_load(tdir, NULL, &t, &err), -1);
	assert_null(t);
	rm_rf(dir);
}

/* One export row as the store lists it. */
static json_t *row(const char *sha, const char *url)
{
	return json_pack("{s:I, s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:[s], s:[{s:s, s:s, s:s, s:s, s:s, s:i}],"
			 " s:s, s:I, s:s, s:s}", "id", (json_int_t)1, "sha256", sha, "size", (json_int_t)5, "state",
			 "approved", "verdict", "clean", "reason", "", "mime", "application/octet-stream", "file_type",
			 "other", "engine", "ClamAV 1.0 daily 1", "scanned_at", (json_int_t)1700000000, "urls", url,
			 "sandbox", "member", "pkg!a.exe", "sha256", sha, "file_type", "pe", "backend", "local",
			 "verdict", "benign", "score", 3, "approved_by", "fwgate", "approved_at",
			 (json_int_t)1700000000, "approved_how", "scan", "review_reason", "");
}

static const char SHA_A[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
static const char SHA_B[] = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

/* A good manifest's JSON, changed by edit (may be NULL). */
static char *manifest_with(void (*edit)(json_t *doc))
{
	json_t *objs = json_pack("[o, o]", row(SHA_A, "https://v.example/a.bin"), row(SHA_B, "https://v.example/b.bin"));
	json_t *doc = json_pack("{s:s, s:i, s:s, s:I, s:I, s:s, s:o}", "format", FW_BUNDLE_FORMAT, "version", 1,
				"site_id", "site-A.1", "exported_at", (json_int_t)1700000000, "sequence",
				(json_int_t)42, "key_fingerprint", SHA_A, "objects", objs);
	char *text;

	TU_NONNULL(doc);
	for (size_t i = 0; i < 2; i++)
		json_object_del(json_array_get(objs, i), "id");
	if (edit != NULL)
		edit(doc);
	text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	TU_NONNULL(text);
	return text;
}

static json_t *obj0(json_t *d) { return json_array_get(json_object_get(d, "objects"), 0); }
static void e_unknown_top(json_t *d) { json_object_set_new(d, "extra", json_true()); }
static void e_unknown_obj(json_t *d) { json_object_set_new(obj0(d), "extra", json_true()); }
static void e_missing(json_t *d) { json_object_del(obj0(d), "approved_by"); }
static void e_type(json_t *d) { json_object_set_new(obj0(d), "size", json_string("5")); }
static void e_negative(json_t *d) { json_object_set_new(obj0(d), "size", json_integer(-1)); }
static void e_sha(json_t *d) { json_object_set_new(obj0(d), "sha256", json_string("AAAA")); }
static void e_dup(json_t *d) { json_object_set_new(json_array_get(json_object_get(d, "objects"), 1), "sha256", json_string(SHA_A)); }
static void e_version(json_t *d) { json_object_set_new(d, "version", json_integer(2)); }
static void e_format(json_t *d) { json_object_set_new(d, "format", json_string("zip")); }
static void e_site(json_t *d) { json_object_set_new(d, "site_id", json_string("../etc")); }
static void e_seq(json_t *d) { json_object_set_new(d, "sequence", json_integer(0)); }
static void e_http(json_t *d) { json_array_set_new(json_object_get(obj0(d), "urls"), 0, json_string("http://v.example/a")); }
static void e_nourl(json_t *d) { json_array_clear(json_object_get(obj0(d), "urls")); }
static void e_state(json_t *d) { json_object_set_new(obj0(d), "state", json_string("quarantined")); }
static void e_pending(json_t *d) { json_object_set_new(obj0(d), "verdict", json_string("pending")); }
static void e_jverdict(json_t *d) { json_object_set_new(json_array_get(json_object_get(obj0(d), "sandbox"), 0), "verdict", json_string("fine")); }
static void e_sb_extra(json_t *d) { json_object_set_new(json_array_get(json_object_get(obj0(d), "sandbox"), 0), "x", json_null()); }
static void e_score(json_t *d) { json_object_set_new(json_array_get(json_object_get(obj0(d), "sandbox"), 0), "score", json_integer(101)); }

static void e_long_reason(json_t *d)
{
	char *s = malloc(FW_ERR_MSG_MAX + 1);

	TU_NONNULL(s);
	memset(s, 'r', FW_ERR_MSG_MAX);
	s[FW_ERR_MSG_MAX] = '\0';
	json_object_set_new(obj0(d), "reason", json_string(s));
	free(s);
}

static void e_many_urls(json_t *d)
{
	json_t *u = json_object_get(obj0(d), "urls");

	for (int i = 0; i < FW_EXPORT_URLS_MAX; i++)
		json_array_append_new(u, json_sprintf("https://v.example/%d", i));
}

static void e_objects_type(json_t *d) { json_object_set_new(d, "objects", json_object()); }

/* One object over the bound: refused by count before any is read. */
static void e_too_many(json_t *d)
{
	json_t *objs = json_object_get(d, "objects");

	while (json_array_size(objs) <= FW_BUNDLE_OBJECTS_MAX)
		json_array_append_new(objs, json_null());
}

static void test_manifest_parse(void **state)
{
	static const struct {
		void (*edit)(json_t *);
		const char *words;
	} refused[] = {
		{ e_unknown_top, "unknown field \"extra\"" }, { e_unknown_obj, "objects[0]: unknown field" },
		{ e_missing, "objects[0].approved_by: missing" }, { e_type, "objects[0].size: not an integer" },
		{ e_negative, "objects[0].size" }, { e_sha, "objects[0].sha256: not a SHA-256" },
		{ e_dup, "listed twice" }, { e_version, "$.version" }, { e_format, "$.format" },
		{ e_site, "$.site_id" }, { e_seq, "$.sequence" }, { e_http, "urls[0]: not an https URL" },
		{ e_nourl, "objects[0].urls: 0 entries" }, { e_state, "is not one of the names" },
		{ e_pending, "is not one of the names" }, { e_jverdict, "sandbox[0].verdict" },
		{ e_sb_extra, "sandbox[0]: unknown field" }, { e_score, "sandbox[0].score" },
		{ e_long_reason, "objects[0].reason: 1024 bytes" }, { e_many_urls, "objects[0].urls: 65 entries" },
		{ e_objects_type, "$.objects: not an array" }, { e_too_many, "$.objects: 4097 entries, not 0 to 4096" },
	};
	struct fw_bundle_manifest *m = NULL;
	struct fw_err err;
	char *text = manifest_with(NULL);
	uint8_t *big;

	(void)state;
	fw_err_clear(&err);
	if (fw_bundle_manifest_parse((const uint8_t *)text, strlen(text), &m, &err) != 0)
		fail_msg("a good manifest: %s", fw_err_msg(&err));
	TU_NONNULL(m);
	assert_string_equal(m->site_id, "site-A.1");
	assert_int_equal(m->sequence, 42);
	assert_int_equal(m->n, 2);
	assert_string_equal(m->objects[1].sha256, SHA_B);
	assert_int_equal(m->objects[0].n_urls, 1);
	assert_string_equal(m->objects[0].urls[0], "https://v.example/a.bin");
	fw_bundle_manifest_free(m);
	m = NULL;
	free(text);
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		text = manifest_with(refused[i].edit);
		fw_err_clear(&err);
		assert_int_equal(fw_bundle_manifest_parse((const uint8_t *)text, strlen(text), &m, &err), -1);
		assert_null(m);
		if (strstr(fw_err_msg(&err), refused[i].words) == NULL)
			fail_msg("case %zu: \"%s\" does not say \"%s\"", i, fw_err_msg(&err), refused[i].words);
		free(text);
	}
	/* duplicate keys, not JSON, a NUL escape, the size bound */
	static const char *const raw[] = { "{\"format\":\"fwgate-bundle\",\"format\":\"x\"}", "{", "",
					   "{\"format\":\"fwgate\\u0000bundle\"}", "[]" };
	for (size_t i = 0; i < sizeof(raw) / sizeof(raw[0]); i++) {
		fw_err_clear(&err);
		assert_int_equal(fw_bundle_manifest_parse((const uint8_t *)raw[i], strlen(raw[i]), &m, &err), -1);
		assert_int_equal(fw_err_code(&err), FW_E_INVALID);
	}
	big = malloc(FW_BUNDLE_MANIFEST_MAX + 1);
	TU_NONNULL(big);
	memset(big, ' ', FW_BUNDLE_MANIFEST_MAX + 1);
	fw_err_clear(&err);
	assert_int_equal(fw_bundle_manifest_parse(big, FW_BUNDLE_MANIFEST_MAX + 1, &m, &err), -1);
	assert_int_equal(fw_err_code(&err), FW_E_LIMIT);
	free(big);
}

static void test_manifest_build(void **state)
{
	json_t *rows = json_pack("[o]", row(SHA_A, "https://v.example/a.bin"));
	struct fw_bundle_manifest *m = NULL;
	struct fw_err err;
	char *text = NULL;
	size_t len = 0;

	(void)state;
	fw_err_clear(&err);
	assert_int_equal(fw_bundle_manifest_build("siteA", 1700000001, 7, SHA_B, rows, &text, &len, &err), 0);
	TU_NONNULL(text);
	assert_int_equal(fw_bundle_manifest_parse((const uint8_t *)text, len, &m, &err), 0);
	TU_NONNULL(m);
	assert_string_equal(m->key_fingerprint, SHA_B);
	assert_int_equal(m->exported_at, 1700000001);
	assert_null(strstr(text, "\"id\"")); /* the store's ids stay home */
	fw_bundle_manifest_free(m);
	free(text);
	/* what would not be importable is not written */
	json_object_set_new(json_array_get(rows, 0), "urls", json_pack("[s]", "ftp://v.example/a"));
	assert_int_equal(fw_bundle_manifest_build("siteA", 1700000001, 7, SHA_B, rows, &text, &len, &err), -1);
	assert_null(text);
	assert_non_null(strstr(fw_err_msg(&err), "not be importable"));
	json_decref(rows);
}

/* A spool file of content in <state>/spool; path into out. */
static int spool_file(const char *state, const char *name, const char *content, char *out, size_t len)
{
	char dir[1100];

	snprintf(dir, sizeof(dir), "%s/spool", state);
	mkdir(dir, 0700);
	tu_write(dir, name, content, strlen(content), out, len);
	return open(out, O_RDONLY | O_CLOEXEC);
}

static void item(struct fw_store_import_item *it, const char *const *urls, int fd, const char *path, const char *sha,
		 const char *content, enum fw_verdict v)
{
	memset(it, 0, sizeof(*it));
	it->commit.url = urls[0];
	it->commit.spool_fd = fd;
	it->commit.spool_path = path;
	it->commit.sha256 = sha;
	it->commit.size = strlen(content);
	it->commit.verdict = v;
	it->commit.reason = v == FW_VERDICT_CLEAN ? "" : "Fwgate.Test.EICAR in x";
	it->commit.engine = "test engine";
	it->urls = urls;
	it->n_urls = 2;
	it->provenance = "{\"site\":\"siteA\"}";
}

static int count_files(const char *state, const char *area)
{
	char cmd[1200], buf[32] = "";
	FILE *p;

	snprintf(cmd, sizeof(cmd), "find '%s/%s' -type f | wc -l", state, area);
	p = popen(cmd, "r");
	TU_NONNULL(p);
	if (fgets(buf, sizeof(buf), p) == NULL)
		buf[0] = '\0';
	pclose(p);
	return (int)strtol(buf, NULL, 10);
}

static void test_store_import(void **state)
{
	static const char *const urls_a[] = { "https://v.example/a.bin", "https://mirror.example/a.bin" };
	static const char *const urls_b[] = { "https://v.example/b.bin", "https://mirror.example/b.bin" };
	char dir[1024], pa[1200], pb[1200], sha_a[65], sha_b[65];
	struct fw_store_import_item items[2];
	struct fw_store_import imp = { .site_id = "siteA", .key_fingerprint = SHA_A, .sequence = 5,
				       .exported_at = 1700000000, .who = "tester", .items = items, .n = 2 };
	enum fw_object_state states[2], s;
	struct fw_store *st = NULL;
	json_t *list = NULL;
	struct fw_err err;
	int64_t ids[2], last = 0;
	int fa, fb;

	(void)state;
	fw_err_clear(&err);
	tu_mkdtemp(dir, sizeof(dir));
	assert_int_equal(fw_store_open(&st, dir, &err), 0);
	sha256_hex("content a", 9, sha_a);
	sha256_hex("content b", 9, sha_b);
	fa = spool_file(dir, "a", "content a", pa, sizeof(pa));
	fb = spool_file(dir, "b", "content b", pb, sizeof(pb));
	/* item b's spool file is gone when the commit renames it: the import
	 * fails after item a's blob was placed, and nothing stays */
	item(&items[0], urls_a, fa, pa, sha_a, "content a", FW_VERDICT_CLEAN);
	item(&items[1], urls_b, fb, "/nonexistent/spool/b", sha_b, "content b", FW_VERDICT_INFECTED);
	assert_int_equal(fw_store_import_commit(st, &imp, states, ids, &err), -1);
	assert_int_equal(fw_store_lookup_hash(st, sha_a, &s, NULL, &err), 0);
	assert_int_equal(fw_store_lookup_hash(st, sha_b, &s, NULL, &err), 0);
	assert_int_equal(count_files(dir, "objects"), 0);
	assert_int_equal(count_files(dir, "quarantine"), 0);
	assert_int_equal(fw_store_import_last(st, "siteA", &last, &err), 0);
	assert_int_equal(last, 0);
	assert_int_equal(fw_store_audit_list(st, &list, &err), 0);
	assert_int_equal(json_array_size(list), 0);
	json_decref(list);
	/* the same bundle whole: a approved, b quarantined, both URLs each */
	fa = spool_file(dir, "a", "content a", pa, sizeof(pa));
	item(&items[0], urls_a, fa, pa, sha_a, "content a", FW_VERDICT_CLEAN);
	item(&items[1], urls_b, fb, pb, sha_b, "content b", FW_VERDICT_INFECTED);
	fw_err_clear(&err);
	if (fw_store_import_commit(st, &imp, states, ids, &err) != 0)
		fail_msg("import: %s", fw_err_msg(&err));
	assert_int_equal(states[0], FW_OBJ_APPROVED);
	assert_int_equal(states[1], FW_OBJ_QUARANTINED);
	assert_int_equal(count_files(dir, "objects"), 1);
	assert_int_equal(count_files(dir, "quarantine"), 1);
	{
		struct fw_url_entry e;

		assert_int_equal(fw_store_lookup_url(st, "https://mirror.example/a.bin", &e, &err), 1);
		assert_int_equal(e.object_id, ids[0]);
	}
	assert_int_equal(fw_store_import_last(st, "siteA", &last, &err), 0);
	assert_int_equal(last, 5);
	/* a replay, the same and an older sequence: refused, nothing written */
	for (int64_t seq = 5; seq >= 4; seq--) {
		imp.sequence = seq;
		imp.n = 0;
		fw_err_clear(&err);
		assert_int_equal(fw_store_import_commit(st, &imp, states, ids, &err), -1);
		assert_int_equal(fw_err_code(&err), FW_E_DENIED);
	}
	/* the export lists the approved one, approved by the import */
	fw_err_clear(&err);
	assert_int_equal(fw_store_export_list(st, 0, NULL, 0, &list, &err), 0);
	assert_int_equal(json_array_size(list), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "approved_how")), "import");
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "approved_by")), "tester");
	assert_int_equal(json_array_size(json_object_get(json_array_get(list, 0), "urls")), 2);
	json_decref(list);
	/* export sequences only grow; an export is recorded once */
	{
		int64_t s1 = 0, s2 = 0;

		assert_int_equal(fw_store_export_begin(st, &s1, &err), 0);
		assert_int_equal(fw_store_export_begin(st, &s2, &err), 0);
		assert_true(s2 > s1 && s1 > 1000000000000000LL);
		assert_int_equal(fw_store_export_done(st, s1, 1, "tester", "test export", &err), 0);
		assert_int_equal(fw_store_export_done(st, s1, 1, "tester", "test export", &err), -1);
	}
	/* a quarantined one named by id is refused by id */
	fw_err_clear(&err);
	assert_int_equal(fw_store_export_list(st, 0, &ids[1], 1, &list, &err), -1);
	assert_null(list);
	assert_int_equal(fw_err_code(&err), FW_E_DENIED);
	close(fa);
	close(fb);
	fw_store_close(st);
	rm_rf(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys_sign_verify),
		cmocka_unit_test(test_manifest_parse),
		cmocka_unit_test(test_manifest_build),
		cmocka_unit_test(test_store_import),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
