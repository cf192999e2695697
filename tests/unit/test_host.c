/* Unit tests for common/host.c: the one host-name check that the
 * configuration, the policy, the allow-list, the category database and the
 * proxy share (RFC 1123 labels, 253/63 octets, one trailing dot, IDNA
 * A-labels, no IP address in disguise), and that each of them applies it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fwgate/config.h"
#include "fwgate/host.h"
#include "fwgate/policy.h"
#include "testutil.h"

static void test_host_normalize_ok(void **state)
{
	char out[FW_HOST_MAX], label63[64], name253[254];

	(void)state;
	assert_int_equal(fw_host_normalize("Vendor.EXAMPLE.", out, sizeof(out)), 0);
	assert_string_equal(out, "vendor.example");
	assert_int_equal(fw_host_normalize("xn--bcher-kva.example", out, sizeof(out)), 0);
	assert_string_equal(out, "xn--bcher-kva.example");
	assert_int_equal(fw_host_normalize("XN--BCHER-KVA.Example", out, sizeof(out)), 0);
	assert_string_equal(out, "xn--bcher-kva.example");
	assert_int_equal(fw_host_normalize("r1---sn-abc.cdn.test", out, sizeof(out)), 0);
	assert_int_equal(fw_host_normalize("localhost", out, sizeof(out)), 0);
	assert_int_equal(fw_host_normalize("1up.test", out, sizeof(out)), 0);
	memset(label63, 'a', 63);
	label63[63] = '\0';
	snprintf(name253, sizeof(name253), "%s.test", label63);
	assert_int_equal(fw_host_normalize(name253, out, sizeof(out)), 0);
	assert_string_equal(out, name253);
	/* 253 octets: 63+1+63+1+63+1+61 */
	snprintf(name253, sizeof(name253), "%s.%s.%s.%.61s", label63, label63, label63, label63);
	assert_int_equal(strlen(name253), 253);
	assert_int_equal(fw_host_normalize(name253, out, sizeof(out)), 0);
}

static void test_host_normalize_refused(void **state)
{
	static const char *const bad[] = {
		"", ".", "..", "a..b", ".a.test", "-a.test", "a-.test", "a_b.test", "bücher.test",
		"xn--.test", "a b.test", "a/b.test", "a:b", "a@b.test", "*.test", "1.2.3.4", "0x7f000001",
		"127.1", "2130706433", "a.b.123", "vendor.test..",
	};
	char out[FW_HOST_MAX], label64[65], name254[300];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (fw_host_normalize(bad[i], out, sizeof(out)) != -1)
			fail_msg("\"%s\" accepted as \"%s\"", bad[i], out);
	memset(label64, 'a', 64);
	label64[64] = '\0';
	snprintf(name254, sizeof(name254), "%s.test", label64);
	assert_int_equal(fw_host_normalize(name254, out, sizeof(out)), -1);
	memset(name254, 'a', sizeof(name254));
	for (size_t i = 63; i < 254; i += 64)
		name254[i] = '.';
	name254[254] = '\0';
	assert_int_equal(fw_host_normalize(name254, out, sizeof(out)), -1);
	/* The output must fit. */
	assert_int_equal(fw_host_normalize("vendor.test", out, 5), -1);
	assert_int_equal(fw_host_normalize("vendor.test", out, 12), 0);
}

/* Each refusal says why, as the end of a sentence about the name. */
static void test_host_check_why(void **state)
{
	static const struct {
		const char *name, *why;
	} cases[] = {
		{ "", "is empty" },
		{ ".", "is empty" },
		{ "a..b", "has an empty label" },
		{ "-a.test", "has a label that starts or ends with \"-\"" },
		{ "xn--.test", "has an IDNA A-label (xn--) with nothing after the prefix" },
		{ "b\xc3\xbc" "cher.test", "contains non-ASCII bytes: write internationalized names as IDNA A-labels (xn--)" },
		{ "a_b.test", "contains \"_\", which host names may not" },
		{ "*.test", "contains \"*\": only an allow-list entry may start with \"*.\"" },
		{ "a b", "contains a character host names may not (only a-z, 0-9, \"-\" and \".\")" },
		{ "127.1", "is an IP address, not a host name" },
		{ "a.b.123", "ends in an all-numeric label, as only an IP address does" },
	};
	char out[FW_HOST_MAX], long_label[80];
	const char *why;

	(void)state;
	for (size_t i = 0; i < FW_ARRAY_LEN(cases); i++) {
		assert_int_equal(fw_host_check(cases[i].name, strlen(cases[i].name), out, sizeof(out), &why), -1);
		assert_string_equal(out, "");
		if (why == NULL || strcmp(why, cases[i].why) != 0)
			fail_msg("\"%s\": why \"%s\", want \"%s\"", cases[i].name, why ? why : "(null)", cases[i].why);
		assert_false(fw_host_valid(cases[i].name, strlen(cases[i].name)));
	}
	memset(long_label, 'a', 64);
	memcpy(long_label + 64, ".test", 6);
	assert_int_equal(fw_host_check(long_label, strlen(long_label), out, sizeof(out), &why), -1);
	assert_string_equal(why, "has a label longer than 63 octets");
	/* len bounds the name: bytes after it are not read. */
	assert_int_equal(fw_host_check("vendor.test\x01junk", 11, out, sizeof(out), &why), 0);
	assert_string_equal(out, "vendor.test");
	assert_true(fw_host_valid("Vendor.Example.", 15));
}

static void test_host_is_ip(void **state)
{
	static const char *const ips[] = { "1.2.3.4", "127.1", "0x7f000001", "2130706433", "::1", "[::1]",
					   "fe80::1", "10.0.0.1." };
	static const char *const names[] = { "vendor.test", "1up.test", "localhost", "a.b.123", "" };

	(void)state;
	for (size_t i = 0; i < FW_ARRAY_LEN(ips); i++)
		if (!fw_host_is_ip(ips[i], strlen(ips[i])))
			fail_msg("\"%s\" not taken for an IP literal", ips[i]);
	for (size_t i = 0; i < FW_ARRAY_LEN(names); i++)
		if (fw_host_is_ip(names[i], strlen(names[i])))
			fail_msg("\"%s\" taken for an IP literal", names[i]);
}

/* The configuration applies the same rules, and keeps the canonical form. */
static void test_config_resolve_uses_check(void **state)
{
	struct fw_config *cfg = calloc(1, sizeof(*cfg));
	char dir[1024], path[2048];
	struct fw_err err;
	static const char good[] = "[upstream]\nresolve = Vendor.Example.:443:127.0.0.1\n";
	static const char *const bad[] = {
		"[upstream]\nresolve = 10.0.0.1:443:127.0.0.1\n",
		"[upstream]\nresolve = xn--.example:443:127.0.0.1\n",
		"[upstream]\nresolve = vendor.123:443:127.0.0.1\n",
	};

	(void)state;
	assert_non_null(cfg);
	tu_mkdtemp(dir, sizeof(dir));
	tu_write(dir, "good.conf", good, strlen(good), path, sizeof(path));
	fw_err_clear(&err);
	if (fw_config_load(cfg, path, &err) != 0)
		fail_msg("%s", fw_err_msg(&err));
	assert_int_equal(cfg->upstream.n_resolve, 1);
	assert_string_equal(cfg->upstream.resolve[0].host, "vendor.example");
	for (size_t i = 0; i < FW_ARRAY_LEN(bad); i++) {
		tu_write(dir, "bad.conf", bad[i], strlen(bad[i]), path, sizeof(path));
		fw_err_clear(&err);
		assert_int_equal(fw_config_load(cfg, path, &err), -1);
		assert_non_null(strstr(fw_err_msg(&err), "is not a host name"));
		assert_int_equal(fw_err_code(&err), FW_E_CONFIG);
	}
	tu_rmtree(dir);
	free(cfg);
}

/* The policy's url_filtering.allow_list too: an IP address or a numeric
 * top-level label is no host name there either. */
static void test_policy_allow_list_uses_check(void **state)
{
	static const char card[] =
		"{\"schema_version\": \"1.0.0\", \"rules\": [{\"application\": {\"app_id\": \"r\"},"
		" \"security_profiles\": {\"url_filtering\": {\"allow_list\": [\"%s\"]}}}]}";
	static const char *const bad[] = { "10.0.0.1", "vendor.123", "xn--.example", "*.a_b.test" };
	struct fw_errlist *errs = calloc(1, sizeof(*errs));
	char text[512], want[256];

	(void)state;
	assert_non_null(errs);
	for (size_t i = 0; i < FW_ARRAY_LEN(bad); i++) {
		struct fw_policy *pol;
		bool found = false;

		snprintf(text, sizeof(text), card, bad[i]);
		pol = fw_policy_parse((const uint8_t *)text, strlen(text), "t.json", "r", errs);
		fw_policy_free(pol);
		snprintf(want, sizeof(want), "url_filtering.allow_list[0]: not a host name or *.suffix pattern: \"%s\"",
			 bad[i]);
		for (size_t j = 0; j < errs->n; j++)
			found = found || strstr(errs->items[j].msg, want) != NULL;
		if (!found)
			fail_msg("\"%s\" not refused as a host name (%zu errors, first: %s)", bad[i], errs->n,
				 errs->n > 0 ? errs->items[0].msg : "none");
	}
	free(errs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_host_normalize_ok),
		cmocka_unit_test(test_host_normalize_refused),
		cmocka_unit_test(test_host_check_why),
		cmocka_unit_test(test_host_is_ip),
		cmocka_unit_test(test_config_resolve_uses_check),
		cmocka_unit_test(test_policy_allow_list_uses_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
