/* Unit tests for the console's pure parts: HTML escaping and URL encoding
 * of the page builder (every hostile string a page shows goes through
 * them), its size bound, the form decoder, the lockout back-off and the
 * session timeouts. The pages themselves are tested through the real
 * gateway (tests/integration/console.sh) and in Chromium. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "console/console_int.h"

/* The buffer was built (no allocation failed): a failure is an assert,
 * never a NULL handed to strcmp. */
static void assert_built(const struct cbuf *b)
{
	assert_false(b->oom);
	assert_non_null(b->p);
}

static void test_html_escapes_markup(void **state)
{
	struct cbuf b = { 0 };

	(void)state;
	cbuf_html(&b, "<script>alert('x')</script> & \"q\" `t`");
	assert_built(&b);
	assert_string_equal(b.p, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot; &#96;t&#96;");
	cbuf_free(&b);
}

static void test_html_replaces_controls(void **state)
{
	struct cbuf b = { 0 };

	(void)state;
	cbuf_htmln(&b, "a\x01" "b\x1b" "c\td\ne\x7f", 10);
	assert_built(&b);
	assert_string_equal(b.p, "a\xef\xbf\xbd" "b\xef\xbf\xbd" "c\td\ne\xef\xbf\xbd");
	cbuf_free(&b);
}

static void test_html_null_is_nothing(void **state)
{
	struct cbuf b = { 0 };

	(void)state;
	cbuf_html(&b, NULL);
	cbuf_puts(&b, "");
	assert_int_equal(b.len, 0);
	cbuf_free(&b);
}

static void test_urlenc(void **state)
{
	struct cbuf b = { 0 };

	(void)state;
	cbuf_urlenc(&b, "a b&c=d/\"<>~._-");
	assert_built(&b);
	assert_string_equal(b.p, "a%20b%26c%3Dd%2F%22%3C%3E~._-");
	cbuf_free(&b);
}

static void test_page_bound(void **state)
{
	struct cbuf b = { 0 };
	char *big = malloc(1024 * 1024 + 1);

	(void)state;
	assert_non_null(big);
	memset(big, 'x', 1024 * 1024);
	big[1024 * 1024] = '\0';
	for (int i = 0; i < 17 && !b.oom; i++)
		cbuf_puts(&b, big);
	/* Past CONSOLE_PAGE_MAX the page is refused, never cut. */
	assert_true(b.oom);
	assert_true(b.len <= CONSOLE_PAGE_MAX);
	cbuf_free(&b);
	free(big);
}

static void test_size_and_time(void **state)
{
	struct cbuf b = { 0 };

	(void)state;
	cbuf_size(&b, 512);
	cbuf_puts(&b, "|");
	cbuf_size(&b, 3 * 1024 * 1024 + 512 * 1024);
	cbuf_puts(&b, "|");
	cbuf_time(&b, 0);
	cbuf_puts(&b, "|");
	cbuf_time(&b, 1733270400);
	assert_built(&b);
	assert_string_equal(b.p, "512 B|3.5 MiB|-|2024-12-04 00:00:00 UTC");
	cbuf_free(&b);
}

static void test_form(void **state)
{
	char body[] = "user=al%69ce&password=a+b%26c&&empty=&x=%3Cb%3E";
	struct form_field f[CONSOLE_FIELDS_MAX];
	size_t n;

	(void)state;
	assert_int_equal(console_form_parse(body, strlen(body), f, CONSOLE_FIELDS_MAX, &n), 0);
	assert_int_equal(n, 4);
	assert_string_equal(f[0].name, "user");
	assert_string_equal(f[0].value, "alice");
	assert_string_equal(f[1].value, "a b&c");
	assert_string_equal(f[2].name, "empty");
	assert_string_equal(f[2].value, "");
	assert_string_equal(f[3].value, "<b>");
}

static void test_form_refusals(void **state)
{
	char noeq[] = "user=a&password";
	char many[256];
	struct form_field f[4];
	size_t n;

	(void)state;
	assert_int_equal(console_form_parse(noeq, strlen(noeq), f, 4, &n), -1);
	snprintf(many, sizeof(many), "a=1&b=2&c=3&d=4&e=5");
	assert_int_equal(console_form_parse(many, strlen(many), f, 4, &n), -1);
}

static void test_lockout(void **state)
{
	struct fw_config cfg;

	(void)state;
	fw_config_default(&cfg);
	cfg.console.lockout_failures = 3;
	cfg.console.lockout_seconds = 10;
	cfg.console.lockout_max_seconds = 35;
	/* Below the threshold: never locked. */
	assert_int_equal(auth_lockout_left(&cfg, 2, 1000, 1000), 0);
	/* At it: the base wait, counted from the last failure. */
	assert_int_equal(auth_lockout_left(&cfg, 3, 1000, 1000), 10);
	assert_int_equal(auth_lockout_left(&cfg, 3, 1000, 1009), 1);
	assert_int_equal(auth_lockout_left(&cfg, 3, 1000, 1010), 0);
	/* Doubled at each further failure, up to the bound. */
	assert_int_equal(auth_lockout_left(&cfg, 4, 1000, 1000), 20);
	assert_int_equal(auth_lockout_left(&cfg, 5, 1000, 1000), 35);
	assert_int_equal(auth_lockout_left(&cfg, 4000000000u, 1000, 1000), 35);
}

static void test_session_expiry(void **state)
{
	struct fw_config cfg;
	struct fw_session s;

	(void)state;
	fw_config_default(&cfg);
	cfg.console.session_idle_seconds = 900;
	cfg.console.session_max_seconds = 3600;
	memset(&s, 0, sizeof(s));
	s.created_at = 10000;
	s.last_seen_at = 10000;
	assert_false(auth_session_expired(&cfg, &s, 10900));
	assert_true(auth_session_expired(&cfg, &s, 10901));        /* idle */
	s.last_seen_at = 13500;
	assert_false(auth_session_expired(&cfg, &s, 13600));
	assert_true(auth_session_expired(&cfg, &s, 13601));        /* absolute, though active */
}

static void test_mirror_range(void **state)
{
	uint64_t off, len;

	(void)state;
	assert_int_equal(mirror_range(NULL, 1000, &off, &len), 0);
	assert_true(off == 0 && len == 1000);
	assert_int_equal(mirror_range("bytes=0-99", 1000, &off, &len), 1);
	assert_true(off == 0 && len == 100);
	assert_int_equal(mirror_range("bytes=990-", 1000, &off, &len), 1);
	assert_true(off == 990 && len == 10);
	assert_int_equal(mirror_range("bytes=-10", 1000, &off, &len), 1);
	assert_true(off == 990 && len == 10);
	assert_int_equal(mirror_range("bytes=-5000", 1000, &off, &len), 1);   /* suffix longer than the file */
	assert_true(off == 0 && len == 1000);
	assert_int_equal(mirror_range("bytes=500-99999", 1000, &off, &len), 1); /* end past the file: cut */
	assert_true(off == 500 && len == 500);
	assert_int_equal(mirror_range("bytes=1000-", 1000, &off, &len), -1);
	assert_int_equal(mirror_range("bytes=-0", 1000, &off, &len), -1);
	assert_int_equal(mirror_range("bytes=0-", 0, &off, &len), -1);
	/* The whole, never a guess: other units, several ranges, garbage. */
	assert_int_equal(mirror_range("items=0-9", 1000, &off, &len), 0);
	assert_int_equal(mirror_range("bytes=0-9,20-29", 1000, &off, &len), 0);
	assert_int_equal(mirror_range("bytes=9-0", 1000, &off, &len), 0);
	assert_int_equal(mirror_range("bytes= 0-9", 1000, &off, &len), 0);
	assert_int_equal(mirror_range("bytes=0-9x", 1000, &off, &len), 0);
	assert_int_equal(mirror_range("bytes=-", 1000, &off, &len), 0);
	assert_true(off == 0 && len == 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_html_escapes_markup),
		cmocka_unit_test(test_html_replaces_controls),
		cmocka_unit_test(test_html_null_is_nothing),
		cmocka_unit_test(test_urlenc),
		cmocka_unit_test(test_page_bound),
		cmocka_unit_test(test_size_and_time),
		cmocka_unit_test(test_form),
		cmocka_unit_test(test_form_refusals),
		cmocka_unit_test(test_lockout),
		cmocka_unit_test(test_session_expiry),
		cmocka_unit_test(test_mirror_range),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
