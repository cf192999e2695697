/* Unit tests for common/passwd.c: scrypt hashes (verify, refuse a wrong
 * password, refuse malformed or over-costly stored hashes) and the strict
 * base64 decoder that reads Basic credentials. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fwgate/passwd.h"

static void test_hash_and_verify(void **state)
{
	char h1[FW_PASSWD_HASH_MAX], h2[FW_PASSWD_HASH_MAX];
	struct fw_err err;
	bool ok = false;

	(void)state;
	fw_err_clear(&err);
	assert_int_equal(fw_passwd_hash("correct horse battery", 21, h1, sizeof(h1), &err), 0);
	assert_int_equal(fw_passwd_hash("correct horse battery", 21, h2, sizeof(h2), &err), 0);
	assert_memory_equal(h1, "$scrypt$ln=15,r=8,p=1$", 22);
	assert_string_not_equal(h1, h2); /* a fresh salt each time */
	assert_int_equal(fw_passwd_verify("correct horse battery", 21, h1, &ok, &err), 0);
	assert_true(ok);
	assert_int_equal(fw_passwd_verify("correct horse batterx", 21, h1, &ok, &err), 0);
	assert_false(ok);
	assert_int_equal(fw_passwd_verify("correct horse battery", 20, h1, &ok, &err), 0);
	assert_false(ok);
	/* A NUL inside the password is part of it. */
	assert_int_equal(fw_passwd_verify("correct horse battery\0x", 23, h1, &ok, &err), 0);
	assert_false(ok);
}

static void test_stored_hash_refusals(void **state)
{
	static const char *const bad[] = {
		"",
		"$2y$10$abcdefghijklmnopqrstuv",
		"$scrypt$ln=15,r=8,p=1$c2FsdHNhbHQ=",                       /* no hash */
		"$scrypt$ln=15,r=8,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA==", /* salt not padded base64 */
		"$scrypt$ln=30,r=8,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA==", /* 2^30: over the bound */
		"$scrypt$ln=15,r=64,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA==",
		"$scrypt$ln=15,r=8,p=1$c2FsdHNhbHRzYWx0$aGFzaA==",             /* hash too short */
	};
	struct fw_err err;
	bool ok = true;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fw_err_clear(&err);
		if (fw_passwd_verify("whatever password", 17, bad[i], &ok, &err) != -1)
			fail_msg("stored hash %zu was accepted", i);
		assert_false(ok);
	}
}

static void test_base64(void **state)
{
	unsigned char out[64];
	size_t n = 0;

	(void)state;
	assert_int_equal(fw_base64_decode("YXBwbGlhbmNlOnNlY3JldA==", 24, out, sizeof(out), &n), 0);
	assert_int_equal(n, 16);
	assert_memory_equal(out, "appliance:secret", 16);
	assert_int_equal(fw_base64_decode("YWI=", 4, out, sizeof(out), &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(fw_base64_decode("", 0, out, sizeof(out), &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(fw_base64_decode("YWI", 3, out, sizeof(out), &n), -1);      /* length */
	assert_int_equal(fw_base64_decode("Y=I=", 4, out, sizeof(out), &n), -1);     /* inner padding */
	assert_int_equal(fw_base64_decode("YW\nI", 4, out, sizeof(out), &n), -1);    /* other characters */
	assert_int_equal(fw_base64_decode("YWI=YWI=", 8, out, sizeof(out), &n), -1); /* padding mid-way */
	assert_int_equal(fw_base64_decode("YWJjZGVm", 8, out, 5, &n), -1);           /* bound */
	assert_int_equal(fw_base64_decode("Y\0I=", 4, out, sizeof(out), &n), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_and_verify),
		cmocka_unit_test(test_stored_hash_refusals),
		cmocka_unit_test(test_base64),
	};

	return cmocka_run_group_tests_name("passwd", tests, NULL, NULL);
}
