/* Unit tests for redfish/parse.c: the origin rule on every URL a BMC hands
 * back (the BMC must not make fwgate fetch elsewhere with its
 * credentials), and the typed reading of the service root, UpdateService,
 * Tasks and error answers, fed canned JSON. The transport and the push are
 * tested against the BMC stand-in (tests/integration/push.sh). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "fwgate/redfish.h"

#define B(s) (const uint8_t *)(s), strlen(s)

static struct fw_redfish_origin bmc(void)
{
	struct fw_redfish_origin o;
	struct fw_err err;

	fw_err_clear(&err);
	assert_int_equal(fw_redfish_origin_parse("https://BMC.example:8443/", &o, &err), 0);
	return o;
}

static void test_origin_parse(void **state)
{
	struct fw_redfish_origin o;
	struct fw_err err;

	(void)state;
	o = bmc();
	assert_string_equal(o.host, "bmc.example");
	assert_int_equal(o.port, 8443);
	fw_err_clear(&err);
	assert_int_equal(fw_redfish_origin_parse("https://10.0.0.5", &o, &err), 0);
	assert_int_equal(o.port, 443);
	assert_int_equal(fw_redfish_origin_parse("https://[::1]:444/redfish/v1/", &o, &err), 0);
	assert_string_equal(o.host, "[::1]");
	static const char *const bad[] = {
		"http://bmc", "ftp://bmc", "https://user:pw@bmc", "https://bmc/other", "https://bmc/?x=1",
		"https://bmc/#f", "bmc", "", "https://",
	};
	for (size_t i = 0; i < FW_ARRAY_LEN(bad); i++) {
		fw_err_clear(&err);
		assert_int_equal(fw_redfish_origin_parse(bad[i], &o, &err), -1);
		assert_true(fw_err_isset(&err));
	}
}

static void test_resolve_same_origin(void **state)
{
	struct fw_redfish_origin o = bmc();
	char out[FW_REDFISH_URL_MAX];
	struct fw_err err;
	static const char *const good[][2] = {
		{ "/redfish/v1/UpdateService", "https://bmc.example:8443/redfish/v1/UpdateService" },
		{ "/redfish/v1", "https://bmc.example:8443/redfish/v1" },
		{ "https://BMC.example:8443/redfish/v1/TaskService/Tasks/7",
		  "https://bmc.example:8443/redfish/v1/TaskService/Tasks/7" },
		{ "/redfish/v1/TaskService/TaskMonitors/a.b?x=1", "https://bmc.example:8443/redfish/v1/TaskService/TaskMonitors/a.b?x=1" },
	};

	(void)state;
	for (size_t i = 0; i < FW_ARRAY_LEN(good); i++) {
		fw_err_clear(&err);
		assert_int_equal(fw_redfish_resolve(&o, good[i][0], strlen(good[i][0]), out, sizeof(out), &err), 0);
		assert_string_equal(out, good[i][1]);
	}
}

static void test_resolve_refuses_elsewhere(void **state)
{
	struct fw_redfish_origin o = bmc();
	char out[FW_REDFISH_URL_MAX];
	struct fw_err err;
	static const char *const bad[] = {
		"https://evil.example/redfish/v1/UpdateService",        /* another host */
		"https://bmc.example/redfish/v1/UpdateService",         /* another port (443) */
		"https://bmc.example:8444/redfish/v1/UpdateService",
		"http://bmc.example:8443/redfish/v1/UpdateService",     /* another scheme */
		"//evil.example/redfish/v1/x",                          /* network-path reference */
		"https://u:p@bmc.example:8443/redfish/v1/x",            /* userinfo */
		"https://bmc.example:8443@evil.example/redfish/v1/x",
		"/redfish/v1/../../etc/passwd",                         /* dot segments */
		"/redfish/v1/./x", "/redfish/v1/..", "/redfish/v1/%2e%2e/x", "/redfish/v1%2fx",
		"/other/path",                                          /* outside /redfish/v1 */
		"/redfishy/v1/x", "/redfish/v10/x",
		"redfish/v1/x",                                         /* relative */
		"/redfish/v1/x y", "/redfish/v1/x\\y", "/redfish/v1/\r\nX: y",
		"/redfish/v1/x#frag", "javascript:alert(1)", "",
	};

	(void)state;
	for (size_t i = 0; i < FW_ARRAY_LEN(bad); i++) {
		fw_err_clear(&err);
		if (fw_redfish_resolve(&o, bad[i], strlen(bad[i]), out, sizeof(out), &err) != -1)
			fail_msg("followed \"%s\" as %s", bad[i], out);
		assert_int_equal(fw_err_code(&err), FW_E_INVALID);
		assert_string_equal(out, "");
	}
	/* An embedded NUL does not cut the check short. */
	fw_err_clear(&err);
	assert_int_equal(fw_redfish_resolve(&o, "/redfish/v1/x\0https://evil", 27, out, sizeof(out), &err), -1);
}

static void test_resolve_bounds_length(void **state)
{
	struct fw_redfish_origin o = bmc();
	char out[FW_REDFISH_URL_MAX], *ref = malloc(FW_REDFISH_URL_MAX + 10);
	struct fw_err err;

	(void)state;
	if (ref == NULL)
		fail();
	memcpy(ref, "/redfish/v1/", 12);
	memset(ref + 12, 'a', FW_REDFISH_URL_MAX - 2);
	ref[FW_REDFISH_URL_MAX + 10 - 1] = '\0';
	fw_err_clear(&err);
	assert_int_equal(fw_redfish_resolve(&o, ref, strlen(ref), out, sizeof(out), &err), -1);
	free(ref);
}

static void test_parse_root(void **state)
{
	char out[FW_REDFISH_URL_MAX];
	struct fw_err err;

	(void)state;
	fw_err_clear(&err);
	assert_int_equal(fw_redfish_parse_root(B("{\"@odata.id\":\"/redfish/v1/\",\"UpdateService\":"
						 "{\"@odata.id\":\"/redfish/v1/UpdateService\"}}"),
					       out, sizeof(out), &err), 0);
	assert_string_equal(out, "/redfish/v1/UpdateService");
	static const char *const bad[] = {
		"{}", "[]", "not json", "{\"UpdateService\": \"/redfish/v1/UpdateService\"}",
		"{\"UpdateService\": {\"@odata.id\": 5}}", "{\"UpdateService\": {}}",
		"{\"UpdateService\": {\"@odata.id\": \"a\"}, \"UpdateService\": {\"@odata.id\": \"b\"}}",
	};
	for (size_t i = 0; i < FW_ARRAY_LEN(bad); i++) {
		fw_err_clear(&err);
		assert_int_equal(fw_redfish_parse_root(B(bad[i]), out, sizeof(out), &err), -1);
	}
	fw_err_clear(&err);
	assert_int_equal(fw_redfish_parse_root(B("{}"), out, sizeof(out), &err), -1);
	assert_int_equal(fw_err_code(&err), FW_E_DENIED);
}

static void test_parse_update_service(void **state)
{
	struct fw_redfish_update_service us;
	struct fw_err err;

	(void)state;
	fw_err_clear(&err);
	assert_int_equal(fw_redfish_parse_update_service(
				 B("{\"ServiceEnabled\": true, \"Actions\": {\"#UpdateService.SimpleUpdate\": {"
				   "\"target\": \"/redfish/v1/UpdateService/Actions/UpdateService.SimpleUpdate\","
				   "\"TransferProtocol@Redfish.AllowableValues\": [\"HTTP\", \"HTTPS\"]}}}"),
				 &us, &err),
			 0);
	assert_string_equal(us.target, "/redfish/v1/UpdateService/Actions/UpdateService.SimpleUpdate");
	assert_true(us.protocols_listed && us.https_allowed && us.http_allowed);
	/* No list: any protocol may be tried. */
	assert_int_equal(fw_redfish_parse_update_service(
				 B("{\"Actions\": {\"#UpdateService.SimpleUpdate\": {\"target\": \"/redfish/v1/x\"}}}"),
				 &us, &err),
			 0);
	assert_true(!us.protocols_listed && us.https_allowed);
	assert_int_equal(fw_redfish_parse_update_service(
				 B("{\"Actions\": {\"#UpdateService.SimpleUpdate\": {\"target\": \"/redfish/v1/x\","
				   "\"TransferProtocol@Redfish.AllowableValues\": [\"FTP\"]}}}"),
				 &us, &err),
			 0);
	assert_false(us.https_allowed);
	static const char *const bad[][2] = {
		{ "{\"ServiceEnabled\": false, \"Actions\": {\"#UpdateService.SimpleUpdate\": {\"target\": \"/x\"}}}", "d" },
		{ "{\"ServiceEnabled\": \"yes\"}", "i" },
		{ "{\"Actions\": {}}", "d" },
		{ "{}", "d" },
		{ "{\"Actions\": []}", "i" },
		{ "{\"Actions\": {\"#UpdateService.SimpleUpdate\": {\"target\": 1}}}", "i" },
		{ "{\"Actions\": {\"#UpdateService.SimpleUpdate\": \"/x\"}}", "i" },
		{ "{\"Actions\": {\"#UpdateService.SimpleUpdate\": {\"target\": \"/x\","
		  "\"TransferProtocol@Redfish.AllowableValues\": \"HTTPS\"}}}", "i" },
		{ "{\"Actions\": {\"#UpdateService.SimpleUpdate\": {\"target\": \"/x\","
		  "\"TransferProtocol@Redfish.AllowableValues\": [\"HTTPS\", 3]}}}", "i" },
	};
	for (size_t i = 0; i < FW_ARRAY_LEN(bad); i++) {
		fw_err_clear(&err);
		assert_int_equal(fw_redfish_parse_update_service(B(bad[i][0]), &us, &err), -1);
		assert_int_equal(fw_err_code(&err), bad[i][1][0] == 'd' ? FW_E_DENIED : FW_E_INVALID);
	}
}

static void test_parse_task(void **state)
{
	struct fw_redfish_task t;
	struct fw_err err;

	(void)state;
	fw_err_clear(&err);
	assert_int_equal(fw_redfish_parse_task(B("{\"@odata.id\": \"/redfish/v1/TaskService/Tasks/3\", \"Id\": \"3\","
						 "\"TaskState\": \"Running\", \"TaskStatus\": \"OK\", \"PercentComplete\": 40,"
						 "\"Messages\": [{\"MessageId\": \"A.1\"}, {\"Message\": \"line\\u0001two\"}]}"),
					       &t, &err),
			 0);
	assert_int_equal(t.state, FW_TASK_RUNNING);
	assert_false(fw_redfish_task_state_final(t.state));
	assert_string_equal(t.id, "3");
	assert_string_equal(t.status, "OK");
	assert_int_equal(t.percent, 40);
	assert_int_equal(t.n_messages, 2);
	assert_string_equal(t.messages[0], "A.1");
	assert_string_equal(t.messages[1], "line?two");
	assert_int_equal(fw_redfish_parse_task(B("{\"TaskState\": \"Exception\", \"PercentComplete\": null}"), &t, &err), 0);
	assert_true(fw_redfish_task_state_final(t.state));
	assert_int_equal(t.percent, -1);
	static const char *const bad[] = {
		"{}", "{\"TaskState\": 1}", "{\"TaskState\": \"Done\"}", "{\"TaskState\": \"Running\", \"TaskStatus\": \"Fine\"}",
		"{\"TaskState\": \"Running\", \"PercentComplete\": \"40\"}",
		"{\"TaskState\": \"Running\", \"PercentComplete\": 101}", "{\"TaskState\": \"Running\", \"PercentComplete\": 1.5}",
		"{\"TaskState\": \"Running\", \"Messages\": {}}", "{\"TaskState\": \"Running\", \"Messages\": [1]}",
		"{\"TaskState\": \"Running\", \"Messages\": [{\"Message\": 2}]}", "{\"TaskState\": \"Running\", \"Id\": 3}",
		"{\"TaskState\": \"Running\", \"Id\": \"a\\u0000b\"}", "[\"TaskState\"]",
	};
	for (size_t i = 0; i < FW_ARRAY_LEN(bad); i++) {
		fw_err_clear(&err);
		if (fw_redfish_parse_task(B(bad[i]), &t, &err) != -1)
			fail_msg("took %s", bad[i]);
		assert_int_equal(fw_err_code(&err), FW_E_INVALID);
	}
}

/* Only the last FW_REDFISH_MESSAGES_MAX messages are kept, each bounded. */
static void test_parse_task_bounds(void **state)
{
	char doc[16384], *p = doc;
	struct fw_redfish_task t;
	struct fw_err err;

	(void)state;
	p += snprintf(p, sizeof(doc), "{\"TaskState\": \"Completed\", \"Messages\": [");
	for (int i = 0; i < 20; i++)
		p += snprintf(p, sizeof(doc) - (size_t)(p - doc), "%s{\"Message\": \"m%d\"}", i ? "," : "", i);
	p += snprintf(p, sizeof(doc) - (size_t)(p - doc), ",{\"Message\": \"");
	memset(p, 'x', 2000);
	p += 2000;
	snprintf(p, sizeof(doc) - (size_t)(p - doc), "\"}]}");
	fw_err_clear(&err);
	assert_int_equal(fw_redfish_parse_task(B(doc), &t, &err), 0);
	assert_int_equal(t.total_messages, 21);
	assert_int_equal(t.n_messages, FW_REDFISH_MESSAGES_MAX);
	assert_string_equal(t.messages[0], "m13");
	assert_int_equal(strlen(t.messages[FW_REDFISH_MESSAGES_MAX - 1]), FW_REDFISH_MESSAGE_MAX - 1);
}

static void test_body_bound(void **state)
{
	size_t n = FW_REDFISH_BODY_MAX + 2;
	char *big = malloc(n + 1);
	struct fw_redfish_task t;
	struct fw_err err;

	(void)state;
	if (big == NULL)
		fail();
	memset(big, ' ', n);
	big[0] = '{';
	big[n - 1] = '}';
	big[n] = '\0';
	fw_err_clear(&err);
	assert_int_equal(fw_redfish_parse_task((const uint8_t *)big, n, &t, &err), -1);
	assert_int_equal(fw_err_code(&err), FW_E_LIMIT);
	assert_false(fw_redfish_is_task((const uint8_t *)big, n));
	free(big);
}

static void test_error_text(void **state)
{
	char out[256];

	(void)state;
	fw_redfish_error_text(B("{\"error\": {\"code\": \"Base.1.8.GeneralError\", \"message\": \"General\","
				"\"@Message.ExtendedInfo\": [{\"Message\": \"Image\\nbad\"}]}}"),
			      out, sizeof(out));
	assert_string_equal(out, "General: Image?bad");
	fw_redfish_error_text(B("<html>"), out, sizeof(out));
	assert_string_equal(out, "");
	fw_redfish_error_text(NULL, 0, out, sizeof(out));
	assert_string_equal(out, "");
	/* A cut never leaves half a UTF-8 sequence. */
	fw_redfish_error_text(B("{\"error\": {\"message\": \"ab\\u00e9\"}}"), out, 4);
	assert_string_equal(out, "ab");
}

static void test_task_states(void **state)
{
	enum fw_redfish_task_state s;

	(void)state;
	for (int i = FW_TASK_NEW; i <= FW_TASK_CANCELLED; i++) {
		assert_int_equal(fw_redfish_task_state_parse(fw_redfish_task_state_name((enum fw_redfish_task_state)i), &s), 0);
		assert_int_equal((int)s, i);
		assert_int_equal(fw_redfish_task_state_final(s),
				 i == FW_TASK_COMPLETED || i == FW_TASK_KILLED || i == FW_TASK_EXCEPTION ||
					 i == FW_TASK_CANCELLED);
	}
	assert_int_equal(fw_redfish_task_state_parse("running", &s), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_origin_parse),
		cmocka_unit_test(test_resolve_same_origin),
		cmocka_unit_test(test_resolve_refuses_elsewhere),
		cmocka_unit_test(test_resolve_bounds_length),
		cmocka_unit_test(test_parse_root),
		cmocka_unit_test(test_parse_update_service),
		cmocka_unit_test(test_parse_task),
		cmocka_unit_test(test_parse_task_bounds),
		cmocka_unit_test(test_body_bound),
		cmocka_unit_test(test_error_text),
		cmocka_unit_test(test_task_states),
	};
	int rc;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
