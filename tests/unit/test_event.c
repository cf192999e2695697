/* Unit tests for common/event.c: well-formed JSON lines whatever the
 * strings hold, bounded fields, whole lines under concurrent emitters. */
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "fwgate/event.h"
#include "testutil.h"

/* Parses a formatted line: exactly one '\n', at the end, pure ASCII. */
static json_t *parse_line(const char *line, size_t len)
{
	json_error_t e;
	json_t *j;

	assert_true(len > 1);
	assert_int_equal(line[len - 1], '\n');
	assert_null(memchr(line, '\n', len - 1));
	for (size_t i = 0; i < len; i++)
		assert_true((unsigned char)line[i] < 0x80);
	j = json_loadb(line, len, 0, &e);
	if (j == NULL)
		fail_msg("not JSON (%s): %s", e.text, line);
	return j;
}

static const char *str(json_t *j, const char *key)
{
	return json_string_value(json_object_get(j, key));
}

static void test_fields(void **state)
{
	const struct fw_event_field extra[] = {
		{ .key = "http.response.status_code", .num = 403 },
		{ .key = "fwgate.incident", .str = "inc-1" },
		{ .key = "event.action", .str = "shadowed" },
	};
	const struct fw_event ev = {
		.action = "connect-refused",
		.outcome = FW_OUTCOME_FAILURE,
		.url = "https://vendor.example/fw.bin",
		.domain = "vendor.example",
		.source_ip = "127.0.0.1",
		.sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		.rule = "firmware_update",
		.verdict = "infected",
		.reason = "signature Eicar-Test-Signature in fw.zip!eicar.com",
		.extra = extra,
		.n_extra = 3,
	};
	size_t len;
	char *line = fw_event_format(&ev, &len);
	json_t *j;

	(void)state;
	assert_non_null(line);
	j = parse_line(line, len);
	assert_non_null(str(j, "@timestamp"));
	assert_int_equal(strlen(str(j, "@timestamp")), strlen("2026-11-24T00:00:00.000Z"));
	assert_string_equal(str(j, "event.action"), "connect-refused");
	assert_string_equal(str(j, "event.outcome"), "failure");
	assert_string_equal(str(j, "url.full"), ev.url);
	assert_string_equal(str(j, "destination.domain"), ev.domain);
	assert_string_equal(str(j, "source.ip"), ev.source_ip);
	assert_string_equal(str(j, "file.hash.sha256"), ev.sha256);
	assert_string_equal(str(j, "rule.name"), ev.rule);
	assert_string_equal(str(j, "fwgate.verdict"), ev.verdict);
	assert_string_equal(str(j, "fwgate.reason"), ev.reason);
	assert_int_equal(json_integer_value(json_object_get(j, "http.response.status_code")), 403);
	assert_string_equal(str(j, "fwgate.incident"), "inc-1");
	/* The first key is the timestamp: readers that sort by line prefix work. */
	assert_int_equal(strncmp(line, "{\"@timestamp\":", 14), 0);
	json_decref(j);
	free(line);

	/* Absent fields are left out, not written as null. */
	const struct fw_event bare = { .action = "fwgate-start" };
	line = fw_event_format(&bare, &len);
	j = parse_line(line, len);
	assert_null(json_object_get(j, "url.full"));
	assert_string_equal(str(j, "event.outcome"), "unknown");
	json_decref(j);
	free(line);
}

static void test_hostile_strings(void **state)
{
	static const struct {
		const char *in;
		const char *out;
	} cases[] = {
		{ "quote \" and \\ backslash", "quote \" and \\ backslash" },
		{ "line\nbreak\r\nforged {\"event.action\":\"allow\"}", "line\nbreak\r\nforged {\"event.action\":\"allow\"}" },
		{ "ctl \x01\x1b[31m\x7f", "ctl \x01\x1b[31m\x7f" },
		{ "bad \xff\xfe byte", "bad \xef\xbf\xbd\xef\xbf\xbd byte" },
		{ "overlong \xc0\xaf slash", "overlong \xef\xbf\xbd\xef\xbf\xbd slash" },
		{ "surrogate \xed\xa0\x80 x", "surrogate \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd x" },
		{ "cut \xe2\x82", "cut \xef\xbf\xbd\xef\xbf\xbd" },
		{ "too big \xf4\x90\x80\x80", "too big \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
		{ "ok \xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x92 \xe2\x80\xae", "ok \xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x92 \xe2\x80\xae" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct fw_event ev = { .action = "t", .url = cases[i].in, .reason = cases[i].in };
		size_t len;
		char *line = fw_event_format(&ev, &len);
		json_t *j;

		assert_non_null(line);
		j = parse_line(line, len);
		if (strcmp(str(j, "url.full"), cases[i].out) != 0)
			fail_msg("case %zu: got \"%s\"", i, str(j, "url.full"));
		json_decref(j);
		free(line);
	}
}

static void test_long_field_is_cut(void **state)
{
	char *big = malloc(100000);
	size_t len;
	char *line;
	json_t *j;
	const char *u;

	(void)state;
	assert_non_null(big);
	memset(big, 'A', 99999);
	big[99999] = '\0';
	/* A multi-byte character straddling the cut must not be split. */
	memcpy(big + FW_EVENT_FIELD_MAX - 10, "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac", 12);
	const struct fw_event ev = { .action = "t", .url = big };
	line = fw_event_format(&ev, &len);
	j = parse_line(line, len);
	u = str(j, "url.full");
	assert_true(strlen(u) <= FW_EVENT_FIELD_MAX);
	assert_string_equal(u + strlen(u) - 8, "...[cut]");
	assert_true(len < 2 * FW_EVENT_FIELD_MAX);
	json_decref(j);
	free(line);
	free(big);
}

struct emitter {
	struct fw_evlog *log;
	int id;
};

#define THREADS 8
#define PER_THREAD 500

static void *emit_many(void *arg)
{
	struct emitter *e = arg;
	char reason[3000];

	/* Lines of a few kilobytes: larger than PIPE_BUF, so a torn write
	 * would show. */
	memset(reason, 'a' + e->id, sizeof(reason) - 1);
	reason[sizeof(reason) - 1] = '\0';
	for (int i = 0; i < PER_THREAD; i++) {
		const struct fw_event_field extra[] = { { .key = "n", .num = i }, { .key = "t", .num = e->id } };
		const struct fw_event ev = { .action = "t", .reason = reason, .extra = extra, .n_extra = 2 };

		if (fw_evlog_emit(e->log, &ev) != 0)
			return (void *)1;
	}
	return NULL;
}

static void test_concurrent_whole_lines(void **state)
{
	char dir[1024], path[2048];
	struct emitter em[THREADS];
	pthread_t th[THREADS];
	struct fw_evlog *log;
	struct fw_err err;
	int seen[THREADS] = { 0 };
	char *line = NULL;
	size_t cap = 0, lines = 0;
	ssize_t n;
	FILE *f;

	(void)state;
	tu_mkdtemp(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/events.log", dir);
	fw_err_clear(&err);
	assert_int_equal(fw_evlog_open(&log, path, false, 0, &err), 0);
	for (int i = 0; i < THREADS; i++) {
		em[i].log = log;
		em[i].id = i;
		assert_int_equal(pthread_create(&th[i], NULL, emit_many, &em[i]), 0);
	}
	/* Rotation while emitting: reopen must not lose or tear lines. */
	assert_int_equal(fw_evlog_reopen(log, &err), 0);
	for (int i = 0; i < THREADS; i++) {
		void *rv;

		assert_int_equal(pthread_join(th[i], &rv), 0);
		assert_null(rv);
	}
	fw_evlog_close(log);
	f = fopen(path, "r");
	assert_non_null(f);
	while ((n = getline(&line, &cap, f)) > 0) {
		json_t *j = parse_line(line, (size_t)n);
		int t = (int)json_integer_value(json_object_get(j, "t"));
		const char *r = str(j, "fwgate.reason");

		assert_true(t >= 0 && t < THREADS);
		assert_int_equal(json_integer_value(json_object_get(j, "n")), seen[t]);
		assert_int_equal(r[0], 'a' + t);
		assert_int_equal(r[strlen(r) - 1], 'a' + t);
		seen[t]++;
		lines++;
		json_decref(j);
	}
	free(line);
	fclose(f);
	assert_int_equal(lines, THREADS * PER_THREAD);
	tu_rmtree(dir);
}

static void test_open_failure(void **state)
{
	struct fw_evlog *log;
	struct fw_err err;

	(void)state;
	fw_err_clear(&err);
	assert_int_not_equal(fw_evlog_open(&log, "/nonexistent/dir/events.log", false, 0, &err), 0);
	assert_null(log);
	assert_string_equal(fw_err_msg(&err),
			    "cannot open the event log \"/nonexistent/dir/events.log\": No such file or directory");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_hostile_strings),
		cmocka_unit_test(test_long_field_is_cut),
		cmocka_unit_test(test_concurrent_whole_lines),
		cmocka_unit_test(test_open_failure),
	};

	return cmocka_run_group_tests_name("event", tests, NULL, NULL);
}
