/* Unit tests for common/err.c: the first error wins with its code, errno
 * values map to their class, context goes in front of the root cause
 * without losing it or its code, and every sentence stays bounded (a cut
 * is marked "..."). */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fwgate/err.h"

static void test_first_error_wins(void **state)
{
	struct fw_err err;

	(void)state;
	fw_err_clear(&err);
	assert_false(fw_err_isset(&err));
	assert_int_equal(fw_err_code(&err), FW_E_OK);
	assert_string_equal(fw_err_msg(&err), "unknown error");
	assert_int_equal(fw_err_setc(&err, FW_E_LIMIT, "over %d bytes", 5), -1);
	assert_int_equal(fw_err_set(&err, "a cleanup failed"), -1);
	assert_int_equal(fw_err_sys(&err, EIO, "close"), -1);
	assert_string_equal(fw_err_msg(&err), "over 5 bytes");
	assert_int_equal(fw_err_code(&err), FW_E_LIMIT);
	fw_err_clear(&err);
	assert_int_equal(fw_err_code(&err), FW_E_OK);
	fw_err_set(&err, "plain");
	assert_int_equal(fw_err_code(&err), FW_E_FAIL);
	/* FW_E_OK is no failure code: a recorded error is never "ok". */
	fw_err_clear(&err);
	fw_err_setc(&err, FW_E_OK, "x");
	assert_int_equal(fw_err_code(&err), FW_E_FAIL);
	/* An empty sentence still records that something failed. */
	fw_err_clear(&err);
	fw_err_setc(&err, FW_E_IO, "%s", "");
	assert_true(fw_err_isset(&err));
	assert_int_equal(fw_err_code(&err), FW_E_IO);
}

static void test_null_record(void **state)
{
	(void)state;
	fw_err_clear(NULL);
	assert_int_equal(fw_err_set(NULL, "x"), -1);
	assert_int_equal(fw_err_setc(NULL, FW_E_IO, "x"), -1);
	assert_int_equal(fw_err_sys(NULL, ENOENT, "x"), -1);
	assert_int_equal(fw_err_prefix(NULL, "x"), -1);
	assert_int_equal(fw_err_code(NULL), FW_E_OK);
	assert_false(fw_err_isset(NULL));
}

static void test_sys_codes(void **state)
{
	static const struct {
		int errnum;
		enum fw_errcode code;
	} cases[] = {
		{ ENOSPC, FW_E_IO },	     { EDQUOT, FW_E_IO },	{ EIO, FW_E_IO },
		{ EROFS, FW_E_IO },	     { EPIPE, FW_E_IO },	{ ENOMEM, FW_E_NOMEM },
		{ EAGAIN, FW_E_BUSY },	     { EBUSY, FW_E_BUSY },	{ ETIMEDOUT, FW_E_TIMEOUT },
		{ ENOENT, FW_E_NOTFOUND },   { EACCES, FW_E_DENIED },	{ EPERM, FW_E_DENIED },
		{ EEXIST, FW_E_EXISTS },     { EMFILE, FW_E_LIMIT },	{ ENAMETOOLONG, FW_E_LIMIT },
		{ EINVAL, FW_E_INVALID },    { ENOTDIR, FW_E_INVALID }, { 0, FW_E_FAIL },
	};
	struct fw_err err;
	char want[256];

	(void)state;
	for (size_t i = 0; i < FW_ARRAY_LEN(cases); i++) {
		fw_err_clear(&err);
		assert_int_equal(fw_err_sys(&err, cases[i].errnum, "open \"%s\"", "f"), -1);
		if (fw_err_code(&err) != cases[i].code)
			fail_msg("errno %d: code %s, want %s", cases[i].errnum, fw_errcode_name(fw_err_code(&err)),
				 fw_errcode_name(cases[i].code));
		if (cases[i].errnum != 0) {
			snprintf(want, sizeof(want), "open \"f\": %s", strerror(cases[i].errnum));
			assert_string_equal(fw_err_msg(&err), want);
		} else {
			assert_string_equal(fw_err_msg(&err), "open \"f\"");
		}
	}
}

static void test_prefix_keeps_root_cause(void **state)
{
	struct fw_err err;

	(void)state;
	fw_err_clear(&err);
	fw_err_setc(&err, FW_E_CONFIG, "rules:1: unterminated string");
	assert_int_equal(fw_err_prefix(&err, "%s", "/etc/fwgate/rules.txt"), -1);
	assert_string_equal(fw_err_msg(&err), "/etc/fwgate/rules.txt: rules:1: unterminated string");
	assert_int_equal(fw_err_code(&err), FW_E_CONFIG);
	/* Context stacks outward, like a call chain read from the outside. */
	fw_err_prefix(&err, "[sandbox] rules_file");
	assert_string_equal(fw_err_msg(&err),
			    "[sandbox] rules_file: /etc/fwgate/rules.txt: rules:1: unterminated string");
	assert_int_equal(fw_err_code(&err), FW_E_CONFIG);
	/* A later fw_err_set still does not overwrite it. */
	fw_err_set(&err, "cleanup");
	assert_int_equal(fw_err_code(&err), FW_E_CONFIG);
	/* An empty context changes nothing. */
	fw_err_prefix(&err, "%s", "");
	assert_string_equal(fw_err_msg(&err),
			    "[sandbox] rules_file: /etc/fwgate/rules.txt: rules:1: unterminated string");
	/* With no root cause, the context is all there is to say. */
	fw_err_clear(&err);
	fw_err_prefix(&err, "cannot load %s", "x");
	assert_string_equal(fw_err_msg(&err), "cannot load x");
	assert_int_equal(fw_err_code(&err), FW_E_FAIL);
}

static void test_copy(void **state)
{
	struct fw_err kept, err;

	(void)state;
	fw_err_clear(&kept);
	fw_err_clear(&err);
	fw_err_sys(&kept, ENOSPC, "write spool");
	assert_int_equal(fw_err_copy(&err, &kept), -1);
	assert_string_equal(fw_err_msg(&err), fw_err_msg(&kept));
	assert_int_equal(fw_err_code(&err), FW_E_IO);
	/* The first error wins here too. */
	fw_err_clear(&kept);
	fw_err_setc(&kept, FW_E_LIMIT, "later");
	fw_err_copy(&err, &kept);
	assert_int_equal(fw_err_code(&err), FW_E_IO);
	/* Copying nothing still records a failure. */
	fw_err_clear(&err);
	fw_err_clear(&kept);
	fw_err_copy(&err, &kept);
	assert_true(fw_err_isset(&err));
	assert_int_equal(fw_err_copy(NULL, &kept), -1);
}

static void test_bounded(void **state)
{
	char big[FW_ERR_MSG_MAX * 2];
	struct fw_err err;
	size_t len;

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	/* A sentence too long for the record is cut, and says so. */
	fw_err_clear(&err);
	fw_err_setc(&err, FW_E_INVALID, "%s", big);
	len = strlen(fw_err_msg(&err));
	assert_int_equal(len, FW_ERR_MSG_MAX - 1);
	assert_string_equal(fw_err_msg(&err) + len - 3, "...");
	/* The strerror text that does not fit is cut the same way. */
	fw_err_clear(&err);
	fw_err_sys(&err, ENOSPC, "%.*s", FW_ERR_MSG_MAX - 5, big);
	assert_int_equal(strlen(fw_err_msg(&err)), FW_ERR_MSG_MAX - 1);
	assert_string_equal(fw_err_msg(&err) + FW_ERR_MSG_MAX - 4, "...");
	assert_int_equal(fw_err_code(&err), FW_E_IO);
	/* A long prefix keeps the start of the context; the cut is marked. */
	fw_err_clear(&err);
	fw_err_setc(&err, FW_E_LIMIT, "root cause");
	fw_err_prefix(&err, "%s", big);
	assert_int_equal(strlen(fw_err_msg(&err)), FW_ERR_MSG_MAX - 1);
	assert_string_equal(fw_err_msg(&err) + FW_ERR_MSG_MAX - 4, "...");
	assert_int_equal(fw_err_code(&err), FW_E_LIMIT);
	/* Context plus a full record: the context stays whole, the end of the
	 * root cause is cut and marked. */
	fw_err_clear(&err);
	fw_err_setc(&err, FW_E_IO, "%.*s", FW_ERR_MSG_MAX - 1, big);
	fw_err_prefix(&err, "ctx");
	assert_memory_equal(fw_err_msg(&err), "ctx: aaa", 8);
	assert_int_equal(strlen(fw_err_msg(&err)), FW_ERR_MSG_MAX - 1);
	assert_string_equal(fw_err_msg(&err) + FW_ERR_MSG_MAX - 4, "...");
	/* A short record with a short context is not marked. */
	fw_err_clear(&err);
	fw_err_set(&err, "b");
	fw_err_prefix(&err, "a");
	assert_string_equal(fw_err_msg(&err), "a: b");
}

static void test_code_names(void **state)
{
	(void)state;
	assert_string_equal(fw_errcode_name(FW_E_OK), "ok");
	assert_string_equal(fw_errcode_name(FW_E_IO), "io");
	assert_string_equal(fw_errcode_name(FW_E_LIMIT), "limit");
	assert_string_equal(fw_errcode_name(FW_E_TIMEOUT), "timeout");
	assert_string_equal(fw_errcode_name((enum fw_errcode)999), "unknown");
	for (int c = FW_E_OK; c <= FW_E_TIMEOUT; c++)
		assert_string_not_equal(fw_errcode_name((enum fw_errcode)c), "unknown");
}

static void test_errlist_codes(void **state)
{
	static struct fw_errlist list;

	(void)state;
	fw_errlist_clear(&list);
	fw_errlist_add(&list, "one %d", 1);
	fw_errlist_addc(&list, FW_E_CONFIG, "two");
	assert_int_equal(list.n, 2);
	assert_string_equal(list.items[0].msg, "one 1");
	assert_int_equal(fw_err_code(&list.items[0]), FW_E_FAIL);
	assert_int_equal(fw_err_code(&list.items[1]), FW_E_CONFIG);
	for (int i = 0; i < FW_ERRLIST_MAX; i++)
		fw_errlist_add(&list, "more");
	assert_int_equal(list.n, FW_ERRLIST_MAX);
	assert_int_equal(list.dropped, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_error_wins),
		cmocka_unit_test(test_null_record),
		cmocka_unit_test(test_sys_codes),
		cmocka_unit_test(test_prefix_keeps_root_cause),
		cmocka_unit_test(test_copy),
		cmocka_unit_test(test_bounded),
		cmocka_unit_test(test_code_names),
		cmocka_unit_test(test_errlist_codes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
