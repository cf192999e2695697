/* Unit tests for allowlist/: host names, the allow-list file and rule
 * entries, the decision order, resolved-address checks, and imports of
 * UT1 trees, hosts files and plain lists into a real SQLite database. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "fwgate/allowlist.h"
#include "fwgate/config.h"
#include "fwgate/policy.h"
#include "testutil.h"

static const char card[] =
	"{\"schema_version\": \"1.0.0\", \"id\": \"test_card\", \"version\": \"1\","
	" \"title\": {\"en\": \"t\"},"
	" \"rules\": ["
	"  {\"action\": \"allow\","
	"   \"application\": {\"app_id\": \"firmware_update\", \"default_ports\": [\"tcp/443\"], \"risk\": 3},"
	"   \"decryption\": {\"exclusions\": [], \"mode\": \"ssl_forward_proxy\"},"
	"   \"direction\": \"outbound\","
	"   \"logging\": {\"log_end\": true, \"log_start\": false, \"profile\": \"siem_high_priority\"},"
	"   \"security_profiles\": {"
	"     \"antivirus\": {\"action\": \"block\"},"
	"     \"sandboxing\": {\"enabled\": true, \"file_types\": [\"firmware_image\", \"pe\", \"archive\"]},"
	"     \"url_filtering\": {\"block_categories\": [\"malware\", \"phishing\", \"c2\"],"
	"                         \"allow_list\": [\"Rule.Test\", \"*.rule-cdn.test\"],"
	"                         \"uncategorized_action\": \"block\", \"credential_phishing\": \"block\"}},"
	"   \"service\": {\"app_default\": true, \"ports\": [\"443\"], \"protocol\": \"tcp\"}}"
	" ]}";

struct fixture {
	char dir[256];
	char db[512];
	struct fw_policy *pol;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct fw_errlist *errs = calloc(1, sizeof(*errs));

	assert_non_null(f);
	assert_non_null(errs);
	tu_mkdtemp(f->dir, sizeof(f->dir));
	snprintf(f->db, sizeof(f->db), "%s/fwgate.db", f->dir);
	f->pol = fw_policy_parse((const uint8_t *)card, strlen(card), "t.json", "firmware_update", errs);
	if (f->pol == NULL)
		fail_msg("card: %s", errs->n ? errs->items[0].msg : "?");
	free(errs);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	tu_rmtree(f->dir);
	fw_policy_free(f->pol);
	free(f);
	return 0;
}

/* Writes text to dir/name (sub-directories created); path into out. */
static void put(const char *dir, const char *name, const char *text, char *out, size_t out_len)
{
	char sub[512];

	for (const char *slash = strchr(name, '/'); slash != NULL; slash = strchr(slash + 1, '/')) {
		snprintf(sub, sizeof(sub), "%s/%.*s", dir, (int)(slash - name), name);
		mkdir(sub, 0700);
	}
	tu_write(dir, name, text, strlen(text), out, out_len);
}

static struct fw_allowlist *open_ok(struct fixture *f, const char *allow_text, const char *db)
{
	struct fw_allowlist *al = NULL;
	struct fw_err err;
	char path[512] = "";

	fw_err_clear(&err);
	if (allow_text != NULL)
		put(f->dir, "allow.txt", allow_text, path, sizeof(path));
	if (fw_allowlist_open(&al, f->pol, path, db, &err) != 0)
		fail_msg("open: %s", fw_err_msg(&err));
	return al;
}

/* Opening with allow_text must fail with exactly "<file>:" + want. */
static void open_fails(struct fixture *f, const char *allow_text, const char *want)
{
	struct fw_allowlist *al = NULL;
	struct fw_err err;
	char path[512], full[1024];

	fw_err_clear(&err);
	tu_write(f->dir, "allow.txt", allow_text, strlen(allow_text), path, sizeof(path));
	assert_int_equal(fw_allowlist_open(&al, f->pol, path, NULL, &err), -1);
	assert_null(al);
	snprintf(full, sizeof(full), "%s:%s", path, want);
	assert_string_equal(fw_err_msg(&err), full);
}

static void connect_is(struct fw_allowlist *al, const char *host, uint16_t port, enum fw_decision d,
		       enum fw_decision_step step)
{
	struct fw_decision_result r;

	assert_int_equal(fw_allowlist_decide_connect(al, host, port, &r), 0);
	if (r.decision != d || r.step != step)
		fail_msg("CONNECT %s:%u: decision %d step %d, want %d %d (%s)", host, port, r.decision, r.step,
			 d, step, r.reason);
	assert_true(r.reason[0] != '\0');
}

static void url_is(struct fw_allowlist *al, const char *url, enum fw_decision d, enum fw_decision_step step,
		   const char *matched)
{
	struct fw_decision_result r;

	assert_int_equal(fw_allowlist_decide_url(al, url, &r), 0);
	if (r.decision != d || r.step != step)
		fail_msg("%s: decision %d step %d, want %d %d (%s)", url, r.decision, r.step, d, step, r.reason);
	if (matched != NULL)
		assert_string_equal(r.matched, matched);
}

/* ---- the allow-list ---- */

static void test_list_matching(void **state)
{
	struct fixture *f = *state;
	struct fw_allowlist *al;
	struct fw_decision_result r;

	al = open_ok(f, "# vendor domains\r\n\r\n   \nVendor.Test\r\n*.Cdn.Vendor.test   # mirrors\n"
		     "exact.test.\n\t# indented comment\nvendor.test\nlast.test", NULL);
	/* 4 distinct names in the file (vendor.test twice) and 2 in the rule. */
	assert_int_equal(fw_allowlist_count(al), 6);
	assert_int_equal(fw_allowlist_category_count(al), 0);
	connect_is(al, "vendor.test", 443, FW_DECISION_ALLOW, FW_STEP_ALLOWLIST);
	connect_is(al, "VENDOR.TEST.", 443, FW_DECISION_ALLOW, FW_STEP_ALLOWLIST);
	connect_is(al, "exact.test", 443, FW_DECISION_ALLOW, FW_STEP_ALLOWLIST);
	connect_is(al, "last.test", 443, FW_DECISION_ALLOW, FW_STEP_ALLOWLIST);
	assert_int_equal(fw_allowlist_decide_connect(al, "a.cdn.vendor.test", 443, &r), 0);
	assert_int_equal(r.decision, FW_DECISION_ALLOW);
	assert_string_equal(r.matched, "*.cdn.vendor.test");
	assert_string_equal(r.reason, "a.cdn.vendor.test is on the allow-list (entry \"*.cdn.vendor.test\")");
	connect_is(al, "a.b.cdn.vendor.test", 443, FW_DECISION_ALLOW, FW_STEP_ALLOWLIST);
	/* "*.suffix" covers the names below, not the suffix itself. */
	connect_is(al, "cdn.vendor.test", 443, FW_DECISION_BLOCK, FW_STEP_UNCATEGORIZED);
	/* An exact entry does not cover its sub-domains, nor look-alikes. */
	connect_is(al, "x.vendor.test", 443, FW_DECISION_BLOCK, FW_STEP_UNCATEGORIZED);
	connect_is(al, "evilvendor.test", 443, FW_DECISION_BLOCK, FW_STEP_UNCATEGORIZED);
	connect_is(al, "vendor.test.evil", 443, FW_DECISION_BLOCK, FW_STEP_UNCATEGORIZED);
	connect_is(al, "xcdn.vendor.test", 443, FW_DECISION_BLOCK, FW_STEP_UNCATEGORIZED);
	/* The rule's url_filtering.allow_list counts too. */
	connect_is(al, "rule.test", 443, FW_DECISION_ALLOW, FW_STEP_ALLOWLIST);
	connect_is(al, "a.rule-cdn.test", 443, FW_DECISION_ALLOW, FW_STEP_ALLOWLIST);
	assert_int_equal(fw_allowlist_decide_connect(al, "notlisted.test", 443, &r), 0);
	assert_int_equal(r.decision, FW_DECISION_BLOCK);
	assert_int_equal(r.step, FW_STEP_UNCATEGORIZED);
	assert_string_equal(r.reason, "notlisted.test is not on the allow-list: uncategorized destinations "
				      "are blocked by rule firmware_update");
	assert_string_equal(r.matched, "");
	fw_allowlist_free(al);
	fw_allowlist_free(NULL);
}

static void test_list_bad_entries(void **state)
{
	struct fixture *f = *state;
	struct fw_allowlist *al = NULL;
	struct fw_err err;
	char path[512];

	open_fails(f, "ok.test\n\n# comment\nbad_name.test\n",
		   "4: \"bad_name.test\" contains \"_\", which host names may not");
	open_fails(f, "*.com\n", "1: \"*.com\" would allow a whole top-level domain: a \"*.\" entry needs at "
		   "least two labels");
	open_fails(f, "a.test\nfoo.*.test\n", "2: \"foo.*.test\" has a \"*\" that is not a leading \"*.\"");
	open_fails(f, "*\n", "1: \"*\" has a \"*\" that is not a leading \"*.\"");
	open_fails(f, "a.test b.test\n", "1: \"a.test b.test\": one name per line");
	open_fails(f, "10.0.0.1\n", "1: \"10.0.0.1\" is an IP address: the allow-list names domains, and a "
		   "CONNECT to an IP address is always refused");
	open_fails(f, "[::1]\n", "1: \"[::1]\" is an IP address: the allow-list names domains, and a "
		   "CONNECT to an IP address is always refused");
	open_fails(f, ".vendor.test\n", "1: \".vendor.test\" starts with \".\": write \"*.name\" to allow the "
		   "names below a domain");
	open_fails(f, "a..test\n", "1: \"a..test\" has an empty label");
	open_fails(f, "b\xc3\xbc" "cher.test\n", "1: \"b??cher.test\" contains non-ASCII bytes: write "
		   "internationalized names as IDNA A-labels (xn--)");
	open_fails(f, "-a.test\n", "1: \"-a.test\" has a label that starts or ends with \"-\"");
	open_fails(f, "a.test\n\na.xn--\n", "3: \"a.xn--\" has an IDNA A-label (xn--) with nothing after the "
		   "prefix");
	tu_write(f->dir, "allow.txt", "a.test\nb\0.test\n", 15, path, sizeof(path));
	fw_err_clear(&err);
	assert_int_equal(fw_allowlist_open(&al, f->pol, path, NULL, &err), -1);
	assert_non_null(strstr(fw_err_msg(&err), "allow.txt:2: contains a NUL byte"));
	fw_err_clear(&err);
	snprintf(path, sizeof(path), "%s/missing.txt", f->dir);
	assert_int_equal(fw_allowlist_open(&al, f->pol, path, NULL, &err), -1);
	assert_non_null(strstr(fw_err_msg(&err), "cannot open"));
	assert_null(al);
}

static void test_list_limits(void **state)
{
	struct fixture *f = *state;
	struct fw_allowlist *al = NULL;
	size_t cap = (FW_ALLOWLIST_MAX_ENTRIES + 1) * 16, len = 0;
	char *text = malloc(cap > FW_ALLOWLIST_MAX_BYTES + 2 ? cap : FW_ALLOWLIST_MAX_BYTES + 2);
	char path[512], want[128];
	struct fw_err err;

	assert_non_null(text);
	for (unsigned i = 0; i < FW_ALLOWLIST_MAX_ENTRIES; i++)
		len += (size_t)snprintf(text + len, cap - len, "h%u.test\n", i);
	tu_write(f->dir, "allow.txt", text, len, path, sizeof(path));
	fw_err_clear(&err);
	assert_int_equal(fw_allowlist_open(&al, f->pol, path, NULL, &err), 0);
	assert_int_equal(fw_allowlist_count(al), FW_ALLOWLIST_MAX_ENTRIES + 2);
	connect_is(al, "h99999.test", 443, FW_DECISION_ALLOW, FW_STEP_ALLOWLIST);
	fw_allowlist_free(al);
	al = NULL;
	len += (size_t)snprintf(text + len, cap - len, "# a comment is not an entry\none-too-many.test\n");
	snprintf(want, sizeof(want), "%u: more than %u entries, the limit of an allow-list file",
		 FW_ALLOWLIST_MAX_ENTRIES + 2, FW_ALLOWLIST_MAX_ENTRIES);
	text[len] = '\0';
	open_fails(f, text, want);
	/* One byte over the size bound, however it is made. */
	memset(text, '#', FW_ALLOWLIST_MAX_BYTES + 1);
	tu_write(f->dir, "allow.txt", text, FW_ALLOWLIST_MAX_BYTES + 1, path, sizeof(path));
	fw_err_clear(&err);
	assert_int_equal(fw_allowlist_open(&al, f->pol, path, NULL, &err), -1);
	assert_non_null(strstr(fw_err_msg(&err), "over the limit of 16777216 bytes"));
	free(text);
}

static void test_rule_entry_refused(void **state)
{
	struct fixture *f = *state;
	struct fw_allowlist *al = NULL;
	struct fw_err err;

	free(f->pol->url_filtering.allow_list[1]);
	f->pol->url_filtering.allow_list[1] = strdup("*.com");
	assert_non_null(f->pol->url_filtering.allow_list[1]);
	fw_err_clear(&err);
	assert_int_equal(fw_allowlist_open(&al, f->pol, "", NULL, &err), -1);
	assert_string_equal(fw_err_msg(&err), "rule firmware_update: url_filtering.allow_list[1]: \"*.com\" "
			    "would allow a whole top-level domain: a \"*.\" entry needs at least two labels");
}

/* ---- step 1 ---- */

static void test_connect_refused(void **state)
{
	static const char *const literals[] = {
		"10.0.0.1", "127.0.0.1", "127.0.0.1.", "[::1]", "::1", "[fe80::1%25eth0]", "0x7f000001",
		"127.1", "2130706433", "0177.0.0.1", "1.2.3.4.5",
	};
	struct fixture *f = *state;
	struct fw_allowlist *al = open_ok(f, "vendor.test\n", NULL);
	struct fw_decision_result r;

	for (size_t i = 0; i < sizeof(literals) / sizeof(literals[0]); i++) {
		connect_is(al, literals[i], 443, FW_DECISION_BLOCK, FW_STEP_MALFORMED);
		fw_allowlist_decide_connect(al, literals[i], 443, &r);
		assert_non_null(strstr(r.reason, "is an IP address"));
	}
	assert_int_equal(fw_allowlist_decide_connect(al, "10.0.0.1", 443, &r), 0);
	assert_string_equal(r.reason, "10.0.0.1 is an IP address: the gateway connects only to named domains "
				      "it can vet");
	connect_is(al, "bad_name.test", 443, FW_DECISION_BLOCK, FW_STEP_MALFORMED);
	connect_is(al, "", 443, FW_DECISION_BLOCK, FW_STEP_MALFORMED);
	assert_int_equal(fw_allowlist_decide_connect(al, "bad_name.test", 443, &r), 0);
	assert_string_equal(r.reason, "\"bad_name.test\" is not a valid host name: it contains \"_\", which "
				      "host names may not");
	assert_int_equal(fw_allowlist_decide_connect(al, "vendor.test", 8444, &r), 0);
	assert_int_equal(r.decision, FW_DECISION_BLOCK);
	assert_int_equal(r.step, FW_STEP_MALFORMED);
	assert_string_equal(r.reason, "port 8444 of vendor.test is not allowed by rule firmware_update "
				      "(allowed: 443)");
	connect_is(al, "vendor.test", 0, FW_DECISION_BLOCK, FW_STEP_MALFORMED);
	f->pol->ports[f->pol->n_ports++] = 8443;
	connect_is(al, "vendor.test", 8443, FW_DECISION_ALLOW, FW_STEP_ALLOWLIST);
	assert_int_equal(fw_allowlist_decide_connect(al, "vendor.test", 80, &r), 0);
	assert_string_equal(r.reason, "port 80 of vendor.test is not allowed by rule firmware_update "
				      "(allowed: 443, 8443)");
	fw_allowlist_free(al);
}

static void test_url_refused(void **state)
{
	static const char *const bad[] = {
		"http://vendor.test/fw.bin", "HTTP://vendor.test/", "ftp://vendor.test/", "vendor.test/fw.bin",
		"https://", "https:///fw.bin", "https://user@vendor.test/", "https://u:p@vendor.test/",
		"https://vendor.test:8444/", "https://vendor.test:/", "https://vendor.test:0/",
		"https://vendor.test:99999/", "https://vendor.test:44x/", "https://[::1]/", "https://[::1]:443/",
		"https://::1/", "https://127.0.0.1/", "https://vendor.test/a b", "https://vendor.test/a#frag",
		"https://vendor.test/\x01", "https://bad_name.test/",
	};
	struct fixture *f = *state;
	struct fw_allowlist *al = open_ok(f, "vendor.test\n", NULL);
	struct fw_decision_result r;
	char *big = malloc(20000);

	assert_non_null(big);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		url_is(al, bad[i], FW_DECISION_BLOCK, FW_STEP_MALFORMED, NULL);
	assert_int_equal(fw_allowlist_decide_url(al, "http://vendor.test/fw.bin", &r), 0);
	assert_string_equal(r.reason, "the URL http://vendor.test/fw.bin is plain HTTP: the gateway proxies "
				      "HTTPS only");
	assert_non_null(big);
	memset(big, 'a', 19999);
	big[19999] = '\0';
	memcpy(big, "https://vendor.test/", 20);
	url_is(al, big, FW_DECISION_BLOCK, FW_STEP_MALFORMED, NULL);
	fw_allowlist_decide_url(al, big, &r);
	assert_non_null(strstr(r.reason, "is too long"));
	assert_true(strlen(r.reason) < sizeof(r.reason));
	free(big);
	url_is(al, "https://vendor.test", FW_DECISION_ALLOW, FW_STEP_ALLOWLIST, "vendor.test");
	url_is(al, "https://Vendor.Test:443/fw.bin?x=1", FW_DECISION_ALLOW, FW_STEP_ALLOWLIST, NULL);
	url_is(al, "https://vendor.test?x=1", FW_DECISION_ALLOW, FW_STEP_ALLOWLIST, NULL);
	fw_allowlist_free(al);
}

/* ---- steps 2-4 with a category database ---- */

static void import_ok(const char *db, enum fw_cat_format fmt, const char *path, const char *cat,
		      struct fw_cat_import_stats *st)
{
	struct fw_err err;

	fw_err_clear(&err);
	if (fw_categories_import(db, fmt, path, cat, NULL, NULL, st, &err) != 0)
		fail_msg("import %s: %s", path, fw_err_msg(&err));
}

/* allow-list: vendor.test, vendor-evil.test, *.evil.test; malware:
 * vendor-evil.test and evil.test; news (not blocked): vendor.test;
 * phishing: phish.test and the URL vendor.test/bad/path. */
static struct fw_allowlist *categorized(struct fixture *f)
{
	struct fw_cat_import_stats st;
	char path[512];

	put(f->dir, "malware.txt", "vendor-evil.test\nevil.test\n", path, sizeof(path));
	import_ok(f->db, FW_CAT_LIST, path, "malware", &st);
	put(f->dir, "news.txt", "vendor.test\n", path, sizeof(path));
	import_ok(f->db, FW_CAT_LIST, path, "news", &st);
	put(f->dir, "ut1/phishing/domains", "phish.test\n", path, sizeof(path));
	put(f->dir, "ut1/phishing/urls", "vendor.test/Bad/Path/\n", path, sizeof(path));
	snprintf(path, sizeof(path), "%s/ut1", f->dir);
	import_ok(f->db, FW_CAT_UT1, path, NULL, &st);
	return open_ok(f, "vendor.test\nvendor-evil.test\n*.evil.test\n", f->db);
}

static void test_decision_order(void **state)
{
	struct fixture *f = *state;
	struct fw_allowlist *al = categorized(f);
	struct fw_decision_result r;

	assert_int_equal(fw_allowlist_category_count(al), 5);
	/* Step 2 beats step 3: a vendor domain can be compromised. */
	assert_int_equal(fw_allowlist_decide_connect(al, "Vendor-Evil.Test", 443, &r), 0);
	assert_int_equal(r.decision, FW_DECISION_BLOCK);
	assert_int_equal(r.step, FW_STEP_CATEGORY);
	assert_string_equal(r.category, "malware");
	assert_string_equal(r.matched, "vendor-evil.test");
	assert_string_equal(r.reason, "vendor-evil.test is in the blocked category \"malware\" (listed as "
				      "vendor-evil.test), which the allow-list does not override");
	/* A listed parent domain covers its sub-domains. */
	assert_int_equal(fw_allowlist_decide_connect(al, "a.b.evil.test", 443, &r), 0);
	assert_int_equal(r.step, FW_STEP_CATEGORY);
	assert_string_equal(r.matched, "evil.test");
	connect_is(al, "evil.test", 443, FW_DECISION_BLOCK, FW_STEP_CATEGORY);
	/* A category the policy does not block changes nothing. */
	connect_is(al, "vendor.test", 443, FW_DECISION_ALLOW, FW_STEP_ALLOWLIST);
	connect_is(al, "phish.test", 443, FW_DECISION_BLOCK, FW_STEP_CATEGORY);
	connect_is(al, "notlisted.test", 443, FW_DECISION_BLOCK, FW_STEP_UNCATEGORIZED);
	/* URL categories: path-segment prefixes, any case, escapes decoded. */
	url_is(al, "https://vendor.test/bad/path/fw.bin", FW_DECISION_BLOCK, FW_STEP_CATEGORY, "vendor.test/bad/path");
	url_is(al, "https://vendor.test/bad/path", FW_DECISION_BLOCK, FW_STEP_CATEGORY, "vendor.test/bad/path");
	url_is(al, "https://vendor.test/bad/path/", FW_DECISION_BLOCK, FW_STEP_CATEGORY, NULL);
	url_is(al, "https://vendor.test/bad/path?x=1", FW_DECISION_BLOCK, FW_STEP_CATEGORY, NULL);
	url_is(al, "https://VENDOR.test/BAD/Path/x", FW_DECISION_BLOCK, FW_STEP_CATEGORY, NULL);
	url_is(al, "https://vendor.test/%62ad/p%61th/x", FW_DECISION_BLOCK, FW_STEP_CATEGORY, NULL);
	/* Dot segments and doubled slashes cannot hide a listed path. */
	url_is(al, "https://vendor.test//bad//path/x", FW_DECISION_BLOCK, FW_STEP_CATEGORY, "vendor.test/bad/path");
	url_is(al, "https://vendor.test/good/../bad/./path/x", FW_DECISION_BLOCK, FW_STEP_CATEGORY, NULL);
	url_is(al, "https://vendor.test/../../bad/path", FW_DECISION_BLOCK, FW_STEP_CATEGORY, NULL);
	url_is(al, "https://vendor.test/%2e%2e/bad/path/x", FW_DECISION_BLOCK, FW_STEP_CATEGORY, NULL);
	url_is(al, "https://vendor.test/bad/x/../path", FW_DECISION_BLOCK, FW_STEP_CATEGORY, NULL);
	url_is(al, "https://vendor.test/bad/path/../x", FW_DECISION_ALLOW, FW_STEP_ALLOWLIST, NULL);
	url_is(al, "https://vendor.test/bad", FW_DECISION_ALLOW, FW_STEP_ALLOWLIST, NULL);
	url_is(al, "https://vendor.test/bad/pathology", FW_DECISION_ALLOW, FW_STEP_ALLOWLIST, NULL);
	url_is(al, "https://vendor.test/good/fw.bin", FW_DECISION_ALLOW, FW_STEP_ALLOWLIST, "vendor.test");
	assert_int_equal(fw_allowlist_decide_url(al, "https://vendor.test/bad/path/fw.bin", &r), 0);
	assert_string_equal(r.category, "phishing");
	assert_string_equal(r.reason, "https://vendor.test/bad/path/fw.bin is in the blocked category "
				      "\"phishing\" (listed as vendor.test/bad/path), which the allow-list does "
				      "not override");
	/* The host's own categories apply to its URLs. */
	url_is(al, "https://x.evil.test/fw.bin", FW_DECISION_BLOCK, FW_STEP_CATEGORY, "evil.test");
	url_is(al, "https://notlisted.test/fw.bin", FW_DECISION_BLOCK, FW_STEP_UNCATEGORIZED, NULL);
	/* Without blocked categories the database cannot block. */
	f->pol->url_filtering.n_block_categories = 0;
	connect_is(al, "vendor-evil.test", 443, FW_DECISION_ALLOW, FW_STEP_ALLOWLIST);
	fw_allowlist_free(al);
}

static void test_actions(void **state)
{
	struct fixture *f = *state;
	struct fw_allowlist *al = open_ok(f, "vendor.test\n", NULL);
	struct fw_decision_result r;

	f->pol->url_filtering.uncategorized_action = FW_PA_ALLOW;
	connect_is(al, "other.test", 443, FW_DECISION_ALLOW, FW_STEP_UNCATEGORIZED);
	f->pol->url_filtering.uncategorized_action = FW_PA_ALERT;
	connect_is(al, "other.test", 443, FW_DECISION_ALLOW, FW_STEP_UNCATEGORIZED);
	f->pol->url_filtering.uncategorized_action = FW_PA_DROP;
	assert_int_equal(fw_allowlist_decide_connect(al, "other.test", 443, &r), 0);
	assert_int_equal(r.decision, FW_DECISION_BLOCK);
	assert_string_equal(r.reason, "other.test is not on the allow-list: uncategorized destinations are "
				      "refused by rule firmware_update (uncategorized_action drop)");
	f->pol->url_filtering.uncategorized_action = FW_PA_CONTINUE;
	connect_is(al, "other.test", 443, FW_DECISION_BLOCK, FW_STEP_UNCATEGORIZED);
	f->pol->url_filtering.uncategorized_action = FW_PA_UNSET;
	connect_is(al, "other.test", 443, FW_DECISION_BLOCK, FW_STEP_UNCATEGORIZED);
	/* The rule's own action is the last word on anything that would pass. */
	f->pol->action = FW_RULE_DENY;
	assert_int_equal(fw_allowlist_decide_connect(al, "vendor.test", 443, &r), 0);
	assert_int_equal(r.decision, FW_DECISION_BLOCK);
	assert_int_equal(r.step, FW_STEP_RULE_ACTION);
	assert_string_equal(r.reason, "vendor.test is on the allow-list, but the action of rule "
				      "firmware_update is deny");
	f->pol->url_filtering.uncategorized_action = FW_PA_ALLOW;
	connect_is(al, "other.test", 443, FW_DECISION_BLOCK, FW_STEP_RULE_ACTION);
	fw_allowlist_free(al);
}

static void test_database_open(void **state)
{
	struct fixture *f = *state;
	struct fw_allowlist *al = NULL;
	struct fw_err err;
	char path[512];
	sqlite3 *db = NULL;

	al = open_ok(f, NULL, NULL);
	assert_int_equal(fw_allowlist_count(al), 2);
	fw_allowlist_free(al);
	snprintf(path, sizeof(path), "%s/none.db", f->dir);
	al = open_ok(f, NULL, path);
	assert_int_equal(fw_allowlist_category_count(al), 0);
	fw_allowlist_free(al);
	/* A database of store/ without category tables yet. */
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE objects (id INTEGER)", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	al = open_ok(f, NULL, f->db);
	assert_int_equal(fw_allowlist_category_count(al), 0);
	connect_is(al, "rule.test", 443, FW_DECISION_ALLOW, FW_STEP_ALLOWLIST);
	fw_allowlist_free(al);
	al = NULL;
	put(f->dir, "garbage.db", "this is not a database, but it is long enough to have a header........"
	    "....................................................................................", path,
	    sizeof(path));
	fw_err_clear(&err);
	assert_int_equal(fw_allowlist_open(&al, f->pol, "", path, &err), -1);
	assert_non_null(strstr(fw_err_msg(&err), "cannot read the category database"));
	assert_null(al);
	fw_err_clear(&err);
	assert_int_equal(fw_allowlist_open(&al, f->pol, "", f->dir, &err), -1);
	assert_non_null(strstr(fw_err_msg(&err), "is not a regular file"));
}

/* ---- step 5 ---- */

static bool addr(const char *ip, bool allow_private, struct fw_decision_result *r)
{
	struct sockaddr_storage ss;
	socklen_t len;

	memset(&ss, 0, sizeof(ss));
	if (strchr(ip, ':') != NULL) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, ip, &s6->sin6_addr), 1);
		len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, ip, &s4->sin_addr), 1);
		len = sizeof(*s4);
	}
	return fw_allowlist_addr_check("vendor.test", (struct sockaddr *)&ss, len, allow_private, r);
}

static void test_address_check(void **state)
{
	static const struct {
		const char *ip, *what;
	} refused[] = {
		{ "127.0.0.1", "a loopback address" },
		{ "127.255.0.9", "a loopback address" },
		{ "10.1.2.3", "a private (RFC 1918) address" },
		{ "172.16.0.1", "a private (RFC 1918) address" },
		{ "172.31.255.255", "a private (RFC 1918) address" },
		{ "192.168.1.1", "a private (RFC 1918) address" },
		{ "169.254.169.254", "a cloud metadata address" },
		{ "169.254.1.1", "a link-local address" },
		{ "100.64.0.1", "a shared (CGNAT, RFC 6598) address" },
		{ "100.127.255.254", "a shared (CGNAT, RFC 6598) address" },
		{ "0.0.0.0", "an unspecified address" },
		{ "224.0.0.1", "a multicast address" },
		{ "255.255.255.255", "a reserved address" },
		{ "::", "an unspecified address" },
		{ "::1", "a loopback address" },
		{ "fe80::1", "a link-local address" },
		{ "fc00::1", "a unique-local (fc00::/7) address" },
		{ "fdff::1", "a unique-local (fc00::/7) address" },
		{ "fd00:ec2::254", "a cloud metadata address" },
		{ "ff02::1", "a multicast address" },
		{ "::ffff:127.0.0.1", "the IPv4-mapped form of a loopback address" },
		{ "::ffff:169.254.169.254", "the IPv4-mapped form of a cloud metadata address" },
		{ "::ffff:10.0.0.1", "the IPv4-mapped form of a private (RFC 1918) address" },
		{ "64:ff9b::7f00:1", "the NAT64 form of a loopback address" },
		{ "2002:c0a8:101::1", "the 6to4 form of a private (RFC 1918) address" },
		{ "::127.0.0.1", "a deprecated IPv4-compatible address" },
	};
	static const char *const public[] = {
		"93.184.216.34", "8.8.8.8", "172.15.255.255", "172.32.0.1", "100.63.255.255", "100.128.0.1",
		"169.253.1.1", "2606:2800:220:1:248:1893:25c8:1946", "::ffff:93.184.216.34", "fbff::1",
		"2001:4860:4860::8888",
	};
	struct fw_decision_result r;
	struct sockaddr_un un;
	char want[256];

	(void)state;
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		if (addr(refused[i].ip, false, &r))
			fail_msg("%s accepted", refused[i].ip);
		assert_int_equal(r.decision, FW_DECISION_BLOCK);
		assert_int_equal(r.step, FW_STEP_ADDRESS);
		snprintf(want, sizeof(want), "vendor.test resolved to %s, %s, which the gateway does not connect to",
			 refused[i].ip, refused[i].what);
		assert_string_equal(r.reason, want);
		/* The deployment may allow them (tests do). */
		assert_true(addr(refused[i].ip, true, &r));
		assert_int_equal(r.decision, FW_DECISION_ALLOW);
	}
	for (size_t i = 0; i < sizeof(public) / sizeof(public[0]); i++) {
		if (!addr(public[i], false, &r))
			fail_msg("%s refused: %s", public[i], r.reason);
		assert_int_equal(r.decision, FW_DECISION_ALLOW);
	}
	assert_false(addr("fec0::1", false, &r));
	assert_non_null(strstr(r.reason, "a site-local address"));
	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	assert_false(fw_allowlist_addr_check("vendor.test", (struct sockaddr *)&un, sizeof(un), true, &r));
	assert_int_equal(r.decision, FW_DECISION_BLOCK);
	/* A truncated sockaddr is refused, not read past its end. */
	{
		struct sockaddr_in s4 = { .sin_family = AF_INET };

		assert_false(fw_allowlist_addr_check("vendor.test", (struct sockaddr *)&s4, 4, false, &r));
	}
}

/* ---- imports ---- */

struct skips {
	unsigned n;
	uint64_t lines[32];
	char why[32][256];
	char file[32][512];
};

static void on_skip(void *ctx, const char *file, uint64_t line, const char *why)
{
	struct skips *s = ctx;

	if (s->n < 32) {
		s->lines[s->n] = line;
		snprintf(s->why[s->n], sizeof(s->why[0]), "%s", why);
		snprintf(s->file[s->n], sizeof(s->file[0]), "%s", file);
	}
	s->n++;
}

static void test_import_list(void **state)
{
	struct fixture *f = *state;
	struct fw_cat_import_stats st;
	struct skips sk = { 0 };
	struct fw_allowlist *al;
	struct fw_err err;
	char path[512], *text = calloc(1, 8192);
	size_t n;

	assert_non_null(text);
	n = (size_t)snprintf(text, 8192, "# malware list\n\nEvil.Test.\n*.wild.test\r\n.dot.test\n"
			     "bad_name.test\ntwo names.test\n1.2.3.4\n  spaced.test   # note\n");
	memset(text + n, 'a', 5000);
	n += 5000;
	n += (size_t)snprintf(text + n, 8192 - n, "\nafter-long.test\nevil.test\nno-newline.test");
	tu_write(f->dir, "list.txt", text, n, path, sizeof(path));
	free(text);
	fw_err_clear(&err);
	assert_int_equal(fw_categories_import(f->db, FW_CAT_LIST, path, "Malware", on_skip, &sk, &st, &err), 0);
	assert_int_equal(st.domains, 6); /* new rows: evil.test's second line adds none */
	assert_int_equal(st.urls, 0);
	assert_int_equal(st.skipped, 4);
	assert_int_equal(st.categories, 1);
	assert_int_equal(sk.n, 4);
	assert_int_equal(sk.lines[0], 6);
	assert_string_equal(sk.why[0], "\"bad_name.test\" contains \"_\", which host names may not");
	assert_string_equal(sk.file[0], path);
	assert_int_equal(sk.lines[1], 7);
	assert_string_equal(sk.why[1], "more than one field: one name per line");
	assert_int_equal(sk.lines[2], 8);
	assert_string_equal(sk.why[2], "\"1.2.3.4\" is an IP address, not a name (a CONNECT to an IP address "
				       "is refused anyway)");
	assert_int_equal(sk.lines[3], 10);
	assert_string_equal(sk.why[3], "longer than 4096 bytes");
	al = open_ok(f, "vendor.test\n", f->db);
	assert_int_equal(fw_allowlist_category_count(al), 6);
	connect_is(al, "evil.test", 443, FW_DECISION_BLOCK, FW_STEP_CATEGORY);
	connect_is(al, "a.wild.test", 443, FW_DECISION_BLOCK, FW_STEP_CATEGORY);
	connect_is(al, "dot.test", 443, FW_DECISION_BLOCK, FW_STEP_CATEGORY);
	connect_is(al, "spaced.test", 443, FW_DECISION_BLOCK, FW_STEP_CATEGORY);
	connect_is(al, "after-long.test", 443, FW_DECISION_BLOCK, FW_STEP_CATEGORY);
	connect_is(al, "no-newline.test", 443, FW_DECISION_BLOCK, FW_STEP_CATEGORY);
	fw_allowlist_free(al);
}

static void test_import_hosts(void **state)
{
	struct fixture *f = *state;
	struct fw_cat_import_stats st;
	struct skips sk = { 0 };
	struct fw_allowlist *al;
	struct fw_err err;
	char path[512];

	put(f->dir, "hosts",
	    "# hosts blocklist\n"
	    "127.0.0.1 localhost\n"
	    "::1 localhost ip6-localhost ip6-loopback\n"
	    "255.255.255.255 broadcasthost\n"
	    "fe80::1%lo0 localhost\n"
	    "0.0.0.0 0.0.0.0\n"
	    "0.0.0.0 ads.test\n"
	    "127.0.0.1\ttrack.test  Other.Test # two names\n"
	    "ads2.test\n"
	    "0.0.0.0 bad_name.test ok2.test\n"
	    "0.0.0.0\n"
	    ":: c2.test\n",
	    path, sizeof(path));
	fw_err_clear(&err);
	assert_int_equal(fw_categories_import(f->db, FW_CAT_HOSTS, path, "c2", on_skip, &sk, &st, &err), 0);
	assert_int_equal(st.domains, 4);
	assert_int_equal(st.skipped, 3);
	assert_int_equal(sk.lines[0], 9);
	assert_string_equal(sk.why[0], "the first field is not an IP address (hosts format: ADDRESS NAME...)");
	assert_int_equal(sk.lines[1], 10);
	assert_string_equal(sk.why[1], "\"bad_name.test\" contains \"_\", which host names may not");
	assert_int_equal(sk.lines[2], 11);
	assert_string_equal(sk.why[2], "an address without a name");
	al = open_ok(f, "ok2.test\nlocalhost\n", f->db);
	assert_int_equal(fw_allowlist_category_count(al), 4);
	connect_is(al, "ads.test", 443, FW_DECISION_BLOCK, FW_STEP_CATEGORY);
	connect_is(al, "other.test", 443, FW_DECISION_BLOCK, FW_STEP_CATEGORY);
	connect_is(al, "c2.test", 443, FW_DECISION_BLOCK, FW_STEP_CATEGORY);
	/* A bad name spoils its whole line; local names are not listings. */
	connect_is(al, "ok2.test", 443, FW_DECISION_ALLOW, FW_STEP_ALLOWLIST);
	connect_is(al, "localhost", 443, FW_DECISION_ALLOW, FW_STEP_ALLOWLIST);
	fw_allowlist_free(al);
}

static void test_import_ut1(void **state)
{
	struct fixture *f = *state;
	struct fw_cat_import_stats st;
	struct skips sk = { 0 };
	struct fw_allowlist *al;
	struct fw_err err;
	char path[512], dir[512];

	put(f->dir, "ut1/README", "UT1 blacklists\n", path, sizeof(path));
	put(f->dir, "ut1/malware/domains", "mal.test\nMAL2.test\nbad_name.test\n", path, sizeof(path));
	put(f->dir, "ut1/malware/urls", "mal3.test/payload/\nhttp://mal4.test/x.exe\nwhole.test/\n"
	    "port.test:8080/p\nspace.test/a b\n", path, sizeof(path));
	put(f->dir, "ut1/phishing/domains", "phish.test\n", path, sizeof(path));
	put(f->dir, "ut1/Bad Name/domains", "never.test\n", path, sizeof(path));
	put(f->dir, "ut1/news/domains", "vendor.test\n", path, sizeof(path));
	snprintf(dir, sizeof(dir), "%s/ut1/empty", f->dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(dir, sizeof(dir), "%s/ut1", f->dir);
	fw_err_clear(&err);
	assert_int_equal(fw_categories_import(f->db, FW_CAT_UT1, dir, "ignored", on_skip, &sk, &st, &err), 0);
	assert_int_equal(st.categories, 3);
	assert_int_equal(st.domains, 5); /* mal, mal2, whole, phish, vendor */
	assert_int_equal(st.urls, 2);
	assert_int_equal(st.skipped, 3);
	assert_int_equal(sk.n, 4);
	assert_int_equal(sk.lines[0], 0);
	assert_non_null(strstr(sk.file[0], "ut1/Bad Name"));
	assert_non_null(strstr(sk.why[0], "not a category name"));
	assert_string_equal(sk.why[2], "\"port.test:8080\" names a port: list the host alone");
	assert_int_equal(sk.lines[3], 5);
	al = open_ok(f, "vendor.test\nmal3.test\n", f->db);
	assert_int_equal(fw_allowlist_category_count(al), 7);
	connect_is(al, "mal2.test", 443, FW_DECISION_BLOCK, FW_STEP_CATEGORY);
	connect_is(al, "whole.test", 443, FW_DECISION_BLOCK, FW_STEP_CATEGORY);
	connect_is(al, "phish.test", 443, FW_DECISION_BLOCK, FW_STEP_CATEGORY);
	connect_is(al, "never.test", 443, FW_DECISION_BLOCK, FW_STEP_UNCATEGORIZED);
	connect_is(al, "vendor.test", 443, FW_DECISION_ALLOW, FW_STEP_ALLOWLIST);
	url_is(al, "https://mal3.test/payload/a.bin", FW_DECISION_BLOCK, FW_STEP_CATEGORY, "mal3.test/payload");
	url_is(al, "https://mal3.test/other", FW_DECISION_ALLOW, FW_STEP_ALLOWLIST, NULL);
	fw_allowlist_free(al);
}

static void test_import_all_or_nothing(void **state)
{
	struct fixture *f = *state;
	struct fw_cat_import_stats st;
	struct fw_allowlist *al;
	struct fw_err err;
	char path[512], dir[512];

	put(f->dir, "one.txt", "first.test\n", path, sizeof(path));
	import_ok(f->db, FW_CAT_LIST, path, "malware", &st);
	/* aaa is read first and fine; zzz/domains is not a file: nothing stays. */
	put(f->dir, "ut1/aaa/domains", "second.test\n", path, sizeof(path));
	snprintf(dir, sizeof(dir), "%s/ut1/zzz", f->dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(dir, sizeof(dir), "%s/ut1/zzz/domains", f->dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(dir, sizeof(dir), "%s/ut1", f->dir);
	fw_err_clear(&err);
	assert_int_equal(fw_categories_import(f->db, FW_CAT_UT1, dir, NULL, NULL, NULL, &st, &err), -1);
	assert_non_null(strstr(fw_err_msg(&err), "zzz/domains\" is not a regular file"));
	assert_int_equal(st.domains, 0);
	assert_int_equal(st.categories, 0);
	f->pol->url_filtering.n_block_categories = 1;
	snprintf(f->pol->url_filtering.block_categories[0], FW_POLICY_NAME_MAX, "%s", "aaa");
	al = open_ok(f, NULL, f->db);
	assert_int_equal(fw_allowlist_category_count(al), 1);
	connect_is(al, "second.test", 443, FW_DECISION_BLOCK, FW_STEP_UNCATEGORIZED);
	fw_allowlist_free(al);

	/* Refusals before anything is read. */
	fw_err_clear(&err);
	assert_int_equal(fw_categories_import(f->db, FW_CAT_HOSTS, path, NULL, NULL, NULL, &st, &err), -1);
	assert_non_null(strstr(fw_err_msg(&err), "need a category name"));
	fw_err_clear(&err);
	assert_int_equal(fw_categories_import(f->db, FW_CAT_LIST, path, "Bad Name", NULL, NULL, &st, &err), -1);
	fw_err_clear(&err);
	assert_int_equal(fw_categories_import(f->db, FW_CAT_UT1, path, NULL, NULL, NULL, &st, &err), -1);
	assert_non_null(strstr(fw_err_msg(&err), "is not a directory"));
	snprintf(dir, sizeof(dir), "%s/emptydir", f->dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	fw_err_clear(&err);
	assert_int_equal(fw_categories_import(f->db, FW_CAT_UT1, dir, NULL, NULL, NULL, &st, &err), -1);
	assert_non_null(strstr(fw_err_msg(&err), "holds no UT1 category"));
	fw_err_clear(&err);
	snprintf(path, sizeof(path), "%s/missing.txt", f->dir);
	assert_int_equal(fw_categories_import(f->db, FW_CAT_LIST, path, "c2", NULL, NULL, &st, &err), -1);
	assert_non_null(strstr(fw_err_msg(&err), "cannot open"));
	fw_err_clear(&err);
	assert_int_equal(fw_categories_import(f->db, FW_CAT_LIST, f->dir, "c2", NULL, NULL, &st, &err), -1);
	assert_non_null(strstr(fw_err_msg(&err), "is not a regular file"));
}

/* ---- many threads on one allow-list ---- */

struct worker {
	struct fw_allowlist *al;
	unsigned bad;
};

static void *decide_many(void *arg)
{
	struct worker *w = arg;
	struct fw_decision_result r;

	for (unsigned i = 0; i < 2000; i++) {
		switch (i % 4) {
		case 0:
			fw_allowlist_decide_connect(w->al, "vendor-evil.test", 443, &r);
			w->bad += r.step != FW_STEP_CATEGORY;
			break;
		case 1:
			fw_allowlist_decide_connect(w->al, "vendor.test", 443, &r);
			w->bad += r.decision != FW_DECISION_ALLOW;
			break;
		case 2:
			fw_allowlist_decide_url(w->al, "https://vendor.test/bad/path/x", &r);
			w->bad += r.step != FW_STEP_CATEGORY;
			break;
		default:
			fw_allowlist_decide_url(w->al, "https://a.b.c.notlisted.test/x/y/z", &r);
			w->bad += r.step != FW_STEP_UNCATEGORIZED;
			break;
		}
	}
	return NULL;
}

static void test_concurrent_decisions(void **state)
{
	struct fixture *f = *state;
	struct fw_allowlist *al = categorized(f);
	struct worker w[8];
	pthread_t t[8];

	for (int i = 0; i < 8; i++) {
		w[i] = (struct worker){ .al = al };
		assert_int_equal(pthread_create(&t[i], NULL, decide_many, &w[i]), 0);
	}
	for (int i = 0; i < 8; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(w[i].bad, 0);
	}
	fw_allowlist_free(al);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_list_matching),
		T(test_list_bad_entries),
		T(test_list_limits),
		T(test_rule_entry_refused),
		T(test_connect_refused),
		T(test_url_refused),
		T(test_decision_order),
		T(test_actions),
		T(test_database_open),
		T(test_address_check),
		T(test_import_list),
		T(test_import_hosts),
		T(test_import_ut1),
		T(test_import_all_or_nothing),
		T(test_concurrent_decisions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
