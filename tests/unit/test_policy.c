/* Unit tests for common/policy.c: the reference card, the embedded card,
 * and refusals with their exact JSON paths and messages. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "fwgate/policy.h"
#include "testutil.h"

static const char base_card[] =
	"{\"schema_version\": \"1.0.0\", \"id\": \"test_card\", \"version\": \"1\","
	" \"title\": {\"en\": \"t\"},"
	" \"rules\": ["
	"  {\"action\": \"allow\", \"application\": {\"app_id\": \"other\"},"
	"   \"direction\": \"internal\", \"decryption\": {\"mode\": \"none\"}},"
	"  {\"action\": \"allow\","
	"   \"application\": {\"app_id\": \"firmware_update\", \"default_ports\": [\"tcp/443\"], \"risk\": 3},"
	"   \"decryption\": {\"exclusions\": [], \"mode\": \"ssl_forward_proxy\"},"
	"   \"direction\": \"outbound\","
	"   \"logging\": {\"log_end\": true, \"log_start\": false, \"profile\": \"siem_high_priority\"},"
	"   \"security_profiles\": {"
	"     \"antivirus\": {\"action\": \"block\"},"
	"     \"sandboxing\": {\"enabled\": true, \"file_types\": [\"firmware_image\", \"pe\", \"archive\"]},"
	"     \"url_filtering\": {\"block_categories\": [\"malware\", \"c2\"],"
	"                         \"uncategorized_action\": \"block\", \"credential_phishing\": \"block\"}},"
	"   \"service\": {\"app_default\": true, \"ports\": [\"443\"], \"protocol\": \"tcp\"}}"
	" ]}";

static json_t *card(void)
{
	json_error_t e;
	json_t *j = json_loads(base_card, 0, &e);

	if (j == NULL)
		fail_msg("base card: %s", e.text);
	return j;
}

/* Sets (or deletes, when value is NULL) the member at a /-separated path;
 * numeric parts index arrays. */
static void set_path(json_t *root, const char *path, const char *value)
{
	char buf[256], *save = NULL, *tok, *next;
	json_t *cur = root, *v = NULL;
	json_error_t e;

	snprintf(buf, sizeof(buf), "%s", path);
	if (value != NULL) {
		v = json_loads(value, JSON_DECODE_ANY, &e);
		if (v == NULL)
			fail_msg("value %s: %s", value, e.text);
	}
	tok = strtok_r(buf, "/", &save);
	while (tok != NULL) {
		next = strtok_r(NULL, "/", &save);
		if (next == NULL) {
			if (json_is_array(cur)) {
				size_t i = strtoul(tok, NULL, 10);

				if (v == NULL)
					json_array_remove(cur, i);
				else if (i < json_array_size(cur))
					json_array_set_new(cur, i, v);
				else
					json_array_append_new(cur, v);
			} else if (v == NULL) {
				json_object_del(cur, tok);
			} else {
				json_object_set_new(cur, tok, v);
			}
			return;
		}
		cur = json_is_array(cur) ? json_array_get(cur, strtoul(tok, NULL, 10)) : json_object_get(cur, tok);
		assert_non_null(cur);
		tok = next;
	}
}

static struct fw_policy *parse_json(json_t *j, const char *rule, struct fw_errlist *errs)
{
	char *text = json_dumps(j, 0);
	struct fw_policy *p;

	assert_non_null(text);
	p = fw_policy_parse((const uint8_t *)text, strlen(text), "t.json", rule, errs);
	free(text);
	return p;
}

static void test_reference_card(void **state)
{
	struct fw_errlist *errs = calloc(1, sizeof(*errs));
	struct fw_policy *p;

	(void)state;
	assert_non_null(errs);
	p = fw_policy_load(FW_SHARED_POLICY, "firmware_update", errs);
	if (p == NULL)
		fail_msg("%s", errs->n ? errs->items[0].msg : "?");
	assert_string_equal(p->card_id, "out_of_band_server_management");
	assert_string_equal(p->rule, "firmware_update");
	assert_int_equal(p->rule_index, 5);
	assert_int_equal(p->decryption.mode, FW_DECRYPT_FORWARD_PROXY);
	assert_int_equal(p->n_ports, 1);
	assert_int_equal(p->ports[0], 443);
	assert_int_equal(p->url_filtering.n_block_categories, 5);
	assert_string_equal(p->url_filtering.block_categories[3], "newly_registered_domain");
	assert_int_equal(p->url_filtering.uncategorized_action, FW_PA_BLOCK);
	assert_int_equal(p->url_filtering.credential_phishing, FW_PA_BLOCK);
	assert_int_equal(p->antivirus.action, FW_PA_BLOCK);
	assert_true(p->sandboxing.enabled);
	assert_true(p->sandboxing.file_types[FW_FT_FIRMWARE_IMAGE]);
	assert_true(p->sandboxing.file_types[FW_FT_PE]);
	assert_true(p->sandboxing.file_types[FW_FT_ARCHIVE]);
	assert_false(p->sandboxing.file_types[FW_FT_OTHER]);
	assert_int_equal(p->dns_security.action, FW_PA_BLOCK);
	assert_true(p->dns_security.sinkhole);
	assert_false(p->logging.log_start);
	assert_true(p->logging.log_end);
	assert_true(p->logging.log_forwarding);
	assert_string_equal(p->logging.profile, "siem_high_priority");
	fw_policy_free(p);
	free(errs);
}

static void test_embedded_card(void **state)
{
	struct fw_errlist *errs = calloc(1, sizeof(*errs));
	struct fw_policy *p = fw_policy_load_embedded("firmware_update", errs);

	(void)state;
	assert_non_null(errs);
	if (p == NULL)
		fail_msg("%s", errs->n ? errs->items[0].msg : "?");
	assert_string_equal(p->source, "embedded default");
	assert_int_equal(p->antivirus.action, FW_PA_BLOCK);
	assert_true(p->sandboxing.enabled);
	fw_policy_free(p);
	free(errs);
}

static void test_allow_list_and_ports(void **state)
{
	struct fw_errlist *errs = calloc(1, sizeof(*errs));
	json_t *j = card();
	struct fw_policy *p;

	(void)state;
	assert_non_null(errs);
	set_path(j, "rules/1/security_profiles/url_filtering/allow_list",
		 "[\"Download.Vendor.example\", \"*.cdn.vendor.example\"]");
	set_path(j, "rules/1/service/app_default", "false");
	set_path(j, "rules/1/service/ports", "[\"443\", \"8443\"]");
	p = parse_json(j, "firmware_update", errs);
	if (p == NULL)
		fail_msg("%s", errs->items[0].msg);
	assert_int_equal(p->url_filtering.n_allow_list, 2);
	assert_string_equal(p->url_filtering.allow_list[0], "download.vendor.example");
	assert_string_equal(p->url_filtering.allow_list[1], "*.cdn.vendor.example");
	assert_int_equal(p->n_ports, 2);
	assert_int_equal(p->ports[1], 8443);
	fw_policy_free(p);
	json_decref(j);
	free(errs);
}

struct bad_case {
	const char *path;  /* NULL: no change */
	const char *value; /* NULL: delete */
	const char *rule;
	const char *msg;   /* the first error, exactly */
};

static const struct bad_case bad_cases[] = {
	{ "rules/1/security_profiles/sandboxing/file_types/1", "\"foo\"", "firmware_update",
	  "rules[1].security_profiles.sandboxing.file_types[1]: unknown file type \"foo\"" },
	{ "schema_version", NULL, "firmware_update", "schema_version: required field is missing" },
	{ "schema_version", "\"2.0.0\"", "firmware_update",
	  "schema_version: unsupported schema version \"2.0.0\" (fwgate reads 1.x)" },
	{ "colour", "\"blue\"", "firmware_update", "colour: unknown field" },
	{ "rules/1/security_profiles/antivirus/mode", "\"fast\"", "firmware_update",
	  "rules[1].security_profiles.antivirus.mode: unknown field" },
	{ "rules/1/security_profiles/sandboxing/enabled", "\"yes\"", "firmware_update",
	  "rules[1].security_profiles.sandboxing.enabled: must be a boolean, not a string" },
	{ "rules/0/application/app_id", "\"firmware_update\"", "firmware_update",
	  "rules[1].application.app_id: duplicate app_id \"firmware_update\" (also rules[0])" },
	{ NULL, NULL, "web_browsing",
	  "rules: no rule with application.app_id \"web_browsing\" (the card has: other, firmware_update)" },
	{ "rules/1/decryption/mode", "\"none\"", "firmware_update",
	  "rules[1].decryption.mode: fwgate inspects by TLS interception and needs \"ssl_forward_proxy\", not \"none\"" },
	{ "rules/1/decryption/exclusions", "[\"cert_pinned_app\"]", "firmware_update",
	  "rules[1].decryption.exclusions: not supported: fwgate never forwards traffic it has not inspected" },
	{ "rules/1/security_profiles/antivirus/action", "\"alert\"", "firmware_update",
	  "rules[1].security_profiles.antivirus.action: must be \"block\" for the enforced rule (\"alert\" would deliver unvetted bytes)" },
	{ "rules/1/security_profiles/antivirus", NULL, "firmware_update",
	  "rules[1].security_profiles.antivirus: required for the enforced rule: fwgate only delivers scanned bytes" },
	{ "rules/1/security_profiles/url_filtering/uncategorized_action", "\"maybe\"", "firmware_update",
	  "rules[1].security_profiles.url_filtering.uncategorized_action: unknown value \"maybe\" (expected one of: allow, alert, block, default, drop, reset_client, reset_server, reset_both, continue, override)" },
	{ "rules/1/security_profiles/url_filtering/allow_list", "[\"good.example\", \"bad host\"]", "firmware_update",
	  "rules[1].security_profiles.url_filtering.allow_list[1]: not a host name or *.suffix pattern: \"bad host\"" },
	{ "rules/1/application/default_ports/0", "\"tcp/1000-2000\"", "firmware_update",
	  "rules[1].application.default_ports[0]: port ranges are not supported for CONNECT; list the ports" },
	{ "rules/1/service/ports/0", "\"99999\"", "firmware_update",
	  "rules[1].service.ports[0]: not a port (1-65535): \"99999\"" },
	{ "rules/1/application/risk", "9", "firmware_update",
	  "rules[1].application.risk: 9 is out of range (1 to 5)" },
	{ "rules/1/direction", "\"inbound\"", "firmware_update",
	  "rules[1].direction: fwgate is a forward proxy for outbound flows; got \"inbound\"" },
	{ "rules/1/action", NULL, "firmware_update", "rules[1].action: required field is missing" },
	{ "rules/1/security_profiles/sandboxing/file_types", "[]", "firmware_update",
	  "rules[1].security_profiles.sandboxing.file_types: sandboxing is enabled but names no file type" },
	{ "rules", "[]", "firmware_update", "rules: the card has no rule" },
	{ "rules/1/rationale", "{\"english\": \"x\"}", "firmware_update",
	  "rules[1].rationale.english: not a language tag (such as \"en\" or \"pt-BR\")" },
	{ "rules/1/zones", "{\"source\": [\"Bad Zone\"]}", "firmware_update",
	  "rules[1].zones.source[0]: not an identifier (a-z, 0-9, _ - ., up to 63): \"Bad Zone\"" },
	{ "rules/1/service/protocol", "\"udp\"", "firmware_update",
	  "rules[1].service.protocol: fwgate proxies HTTPS over tcp; got \"udp\"" },
	{ "rules/1/weird\x01key", "1", "firmware_update", "rules[1].weird\\x01key: unknown field" },
};

static void test_bad_cards(void **state)
{
	struct fw_errlist *errs = calloc(1, sizeof(*errs));

	(void)state;
	assert_non_null(errs);
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		json_t *j = card();
		struct fw_policy *p;

		if (c->path != NULL)
			set_path(j, c->path, c->value);
		p = parse_json(j, c->rule, errs);
		json_decref(j);
		if (p != NULL)
			fail_msg("case %zu (%s) was accepted", i, c->msg);
		assert_true(errs->n > 0);
		if (strcmp(errs->items[0].msg, c->msg) != 0)
			fail_msg("case %zu:\n got: %s\nwant: %s", i, errs->items[0].msg, c->msg);
	}
	free(errs);
}

/* Every error is reported, not only the first. */
static void test_all_errors_reported(void **state)
{
	struct fw_errlist *errs = calloc(1, sizeof(*errs));
	json_t *j = card();

	(void)state;
	assert_non_null(errs);
	set_path(j, "rules/1/security_profiles/sandboxing/file_types/0", "\"foo\"");
	set_path(j, "rules/1/security_profiles/sandboxing/file_types/2", "\"bar\"");
	set_path(j, "rules/0/extra", "true");
	assert_null(parse_json(j, "firmware_update", errs));
	assert_int_equal(errs->n, 3);
	assert_string_equal(errs->items[0].msg, "rules[0].extra: unknown field");
	assert_string_equal(errs->items[1].msg, "rules[1].security_profiles.sandboxing.file_types[0]: unknown file type \"foo\"");
	assert_string_equal(errs->items[2].msg, "rules[1].security_profiles.sandboxing.file_types[2]: unknown file type \"bar\"");
	json_decref(j);
	free(errs);
}

static void test_syntax_and_limits(void **state)
{
	struct fw_errlist *errs = calloc(1, sizeof(*errs));
	static const char dup[] = "{\"schema_version\": \"1.0.0\", \"schema_version\": \"1.0.0\"}";
	static const char trunc[] = "{\"schema_version\": \"1.0.0\",\n \"rules\": [";
	char dir[1024], path[2048], expect[4096];
	char *big;

	(void)state;
	assert_non_null(errs);
	assert_null(fw_policy_parse((const uint8_t *)trunc, strlen(trunc), "t.json", "x", errs));
	assert_int_equal(errs->n, 1);
	assert_string_equal(errs->items[0].msg, "t.json:2:11: ']' expected near end of file");
	assert_int_equal(fw_err_code(&errs->items[0]), FW_E_INVALID);
	assert_null(fw_policy_parse((const uint8_t *)dup, strlen(dup), "t.json", "x", errs));
	assert_string_equal(errs->items[0].msg, "t.json:1:44: duplicate object key near '\"schema_version\"'");
	assert_null(fw_policy_parse((const uint8_t *)"[1]", 3, "t.json", "x", errs));
	assert_string_equal(errs->items[0].msg, "(document): must be an object");
	assert_int_equal(fw_err_code(&errs->items[0]), FW_E_CONFIG);

	tu_mkdtemp(dir, sizeof(dir));
	big = malloc(FW_POLICY_MAX_BYTES + 1);
	assert_non_null(big);
	memset(big, ' ', FW_POLICY_MAX_BYTES + 1);
	tu_write(dir, "big.json", big, FW_POLICY_MAX_BYTES + 1, path, sizeof(path));
	free(big);
	assert_null(fw_policy_load(path, "x", errs));
	snprintf(expect, sizeof(expect), "\"%s\" is %u bytes, over the limit of %u bytes", path,
		 FW_POLICY_MAX_BYTES + 1, FW_POLICY_MAX_BYTES);
	assert_string_equal(errs->items[0].msg, expect);
	assert_int_equal(fw_err_code(&errs->items[0]), FW_E_LIMIT);
	assert_null(fw_policy_load("/nonexistent/card.json", "x", errs));
	assert_string_equal(errs->items[0].msg, "cannot open \"/nonexistent/card.json\": No such file or directory");
	assert_int_equal(fw_err_code(&errs->items[0]), FW_E_NOTFOUND);
	tu_rmtree(dir);
	free(errs);
}

static void test_print(void **state)
{
	struct fw_errlist *errs = calloc(1, sizeof(*errs));
	struct fw_policy *p;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	json_t *doc;
	json_error_t e;

	(void)state;
	TU_NONNULL(errs);
	p = fw_policy_load(FW_SHARED_POLICY, "firmware_update", errs);
	assert_non_null(p);
	f = open_memstream(&buf, &len);
	TU_NONNULL(f);
	assert_int_equal(fw_policy_print_json(p, f), 0);
	fclose(f);
	doc = json_loads(buf, 0, &e);
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "rule")), "firmware_update");
	assert_string_equal(json_string_value(json_object_get(json_object_get(doc, "antivirus"), "action")), "block");
	assert_int_equal(json_array_size(json_object_get(json_object_get(doc, "sandboxing"), "file_types")), 3);
	json_decref(doc);
	free(buf);
	fw_policy_free(p);
	free(errs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reference_card),
		cmocka_unit_test(test_embedded_card),
		cmocka_unit_test(test_allow_list_and_ports),
		cmocka_unit_test(test_bad_cards),
		cmocka_unit_test(test_all_errors_reported),
		cmocka_unit_test(test_syntax_and_limits),
		cmocka_unit_test(test_print),
	};

	return cmocka_run_group_tests_name("policy", tests, NULL, NULL);
}
