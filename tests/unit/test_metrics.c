/* Unit tests for common/metrics.c: counters add up when many threads
 * record at once, histogram buckets are cumulative with the right sum and
 * count, label values are escaped, the store's statistics become gauges
 * (what is missing is left out), and the whole text passes Debian's
 * `promtool check metrics` (package prometheus: a missing promtool fails
 * the test, it does not skip it). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fwgate/metrics.h"
#include "fwgate_build.h"
#include "tests/unit/testutil.h"

#define THREADS 8
#define PER_THREAD 20000

/* The value of the series line that starts with `series ` in text (the
 * name and its labels exactly as rendered); fails when there is none. */
static double value_of(const char *text, const char *series)
{
	size_t n = strlen(series);

	for (const char *line = text; *line != '\0';) {
		const char *end = strchr(line, '\n');

		if (strncmp(line, series, n) == 0 && line[n] == ' ')
			return strtod(line + n + 1, NULL);
		if (end == NULL)
			break;
		line = end + 1;
	}
	fail_msg("no series %s in the metrics text", series);
	return -1;
}

static bool has_line(const char *text, const char *prefix)
{
	size_t n = strlen(prefix);

	for (const char *line = text; line != NULL && *line != '\0';) {
		if (strncmp(line, prefix, n) == 0)
			return true;
		line = strchr(line, '\n');
		line = line != NULL ? line + 1 : NULL;
	}
	return false;
}

static char *render(const struct fw_metrics_gauges *g)
{
	struct fw_err err;
	char *text = NULL;
	size_t len = 0;

	fw_err_clear(&err);
	if (fw_metrics_text(g, &text, &len, &err) != 0)
		fail_msg("fw_metrics_text: %s", fw_err_msg(&err));
	TU_NONNULL(text);
	assert_int_equal(strlen(text), len);
	assert_true(len > 0 && text[len - 1] == '\n');
	return text;
}

static void *recorder(void *arg)
{
	(void)arg;
	for (int i = 0; i < PER_THREAD; i++) {
		fw_metrics_request(FW_OUTCOME_SUCCESS, FW_VERDICT_CLEAN);
		fw_metrics_request(FW_OUTCOME_FAILURE, FW_METRICS_VERDICT_NONE);
		fw_metrics_refused(FW_METRICS_REFUSED_POLICY);
		fw_metrics_bytes_in(5);
		fw_metrics_bytes_out(3);
		fw_metrics_cache(FW_METRICS_CACHE_HIT);
		fw_metrics_scan_seconds(0.2);
		fw_metrics_sandbox_seconds(FW_SANDBOX_CAPE, 7);
		fw_metrics_sandbox_job(FW_SANDBOX_LOCAL, FW_METRICS_JOB_BENIGN);
		if (i % 100 == 0)
			fw_metrics_worker_restart();
	}
	return NULL;
}

static void test_counters_threads(void **state)
{
	pthread_t t[THREADS];
	char *text;
	const double total = (double)THREADS * PER_THREAD;

	(void)state;
	fw_metrics_reset();
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, recorder, NULL), 0);
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	text = render(NULL);
	assert_true(value_of(text, "fwgate_requests_total{outcome=\"success\",verdict=\"clean\"}") == total);
	assert_true(value_of(text, "fwgate_requests_total{outcome=\"failure\",verdict=\"none\"}") == total);
	assert_true(value_of(text, "fwgate_requests_total{outcome=\"failure\",verdict=\"clean\"}") == 0);
	assert_true(value_of(text, "fwgate_requests_refused_total{reason=\"policy\"}") == total);
	assert_true(value_of(text, "fwgate_requests_refused_total{reason=\"verdict\"}") == 0);
	assert_true(value_of(text, "fwgate_upstream_bytes_total") == 5 * total);
	assert_true(value_of(text, "fwgate_client_bytes_total") == 3 * total);
	assert_true(value_of(text, "fwgate_cache_requests_total{result=\"hit\"}") == total);
	assert_true(value_of(text, "fwgate_scan_duration_seconds_count") == total);
	assert_true(value_of(text, "fwgate_scan_duration_seconds_bucket{le=\"0.25\"}") == total);
	assert_true(value_of(text, "fwgate_scan_duration_seconds_bucket{le=\"0.1\"}") == 0);
	assert_true(value_of(text, "fwgate_sandbox_job_duration_seconds_count{backend=\"cape\"}") == total);
	assert_true(value_of(text, "fwgate_sandbox_job_duration_seconds_sum{backend=\"cape\"}") == 7 * total);
	assert_true(value_of(text, "fwgate_sandbox_job_duration_seconds_count{backend=\"local\"}") == 0);
	assert_true(value_of(text, "fwgate_sandbox_job_results_total{backend=\"local\",result=\"benign\"}") == total);
	assert_true(value_of(text, "fwgate_scanner_restarts_total") == THREADS * (PER_THREAD / 100));
	free(text);
}

/* Out-of-range values are counted where the header says, never outside
 * an array. */
static void test_out_of_range(void **state)
{
	char *text;

	(void)state;
	fw_metrics_reset();
	fw_metrics_request((enum fw_outcome)77, (enum fw_verdict)99);
	fw_metrics_refused(FW_METRICS_REFUSED_COUNT);
	fw_metrics_cache(FW_METRICS_CACHE_COUNT);
	fw_metrics_sandbox_seconds(FW_SANDBOX_NONE, 1);
	fw_metrics_sandbox_job(FW_SANDBOX_NONE, FW_METRICS_JOB_BENIGN);
	fw_metrics_scan_seconds(-3);
	fw_metrics_scan_seconds(0.0 / 0.0);
	text = render(NULL);
	assert_true(value_of(text, "fwgate_requests_total{outcome=\"unknown\",verdict=\"none\"}") == 1);
	assert_true(value_of(text, "fwgate_scan_duration_seconds_bucket{le=\"0.05\"}") == 2);
	assert_true(value_of(text, "fwgate_scan_duration_seconds_sum") == 0);
	assert_true(value_of(text, "fwgate_sandbox_job_duration_seconds_count{backend=\"local\"}") == 0);
	assert_true(value_of(text, "fwgate_sandbox_job_duration_seconds_count{backend=\"cape\"}") == 0);
	free(text);
	assert_string_equal(fw_metrics_db_name(FW_METRICS_DB_DAILY), "daily");
	assert_null(fw_metrics_db_name(FW_METRICS_DB_COUNT));
}

static void test_histogram(void **state)
{
	static const char *const bounds[] = { "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10",
					      "30", "60", "120", "300", "600", "1800", "+Inf" };
	char *text, series[128];
	double prev = 0;

	(void)state;
	fw_metrics_reset();
	fw_metrics_scan_seconds(0.05); /* on a bound: that bucket (le is "less or equal") */
	fw_metrics_scan_seconds(0.07);
	fw_metrics_scan_seconds(3);
	fw_metrics_scan_seconds(5000); /* past the last bound: +Inf only */
	text = render(NULL);
	assert_true(value_of(text, "fwgate_scan_duration_seconds_bucket{le=\"0.05\"}") == 1);
	assert_true(value_of(text, "fwgate_scan_duration_seconds_bucket{le=\"0.1\"}") == 2);
	assert_true(value_of(text, "fwgate_scan_duration_seconds_bucket{le=\"2.5\"}") == 2);
	assert_true(value_of(text, "fwgate_scan_duration_seconds_bucket{le=\"5\"}") == 3);
	assert_true(value_of(text, "fwgate_scan_duration_seconds_bucket{le=\"1800\"}") == 3);
	assert_true(value_of(text, "fwgate_scan_duration_seconds_bucket{le=\"+Inf\"}") == 4);
	assert_true(value_of(text, "fwgate_scan_duration_seconds_count") == 4);
	assert_non_null(strstr(text, "\nfwgate_scan_duration_seconds_sum 5003.120000000\n"));
	/* Cumulative: never decreasing, bound by bound. */
	for (size_t i = 0; i < FW_ARRAY_LEN(bounds); i++) {
		double v;

		snprintf(series, sizeof(series), "fwgate_scan_duration_seconds_bucket{le=\"%s\"}", bounds[i]);
		v = value_of(text, series);
		assert_true(v >= prev);
		prev = v;
	}
	/* A labelled histogram keeps its label on every series. */
	fw_metrics_sandbox_seconds(FW_SANDBOX_LOCAL, 0.5);
	fw_metrics_sandbox_seconds(FW_SANDBOX_LOCAL, 1.25);
	free(text);
	text = render(NULL);
	assert_true(value_of(text, "fwgate_sandbox_job_duration_seconds_bucket{backend=\"local\",le=\"0.5\"}") == 1);
	assert_true(value_of(text, "fwgate_sandbox_job_duration_seconds_bucket{backend=\"local\",le=\"5\"}") == 2);
	assert_true(value_of(text, "fwgate_sandbox_job_duration_seconds_bucket{backend=\"local\",le=\"+Inf\"}") == 2);
	assert_non_null(strstr(text, "\nfwgate_sandbox_job_duration_seconds_sum{backend=\"local\"} 1.750000000\n"));
	assert_true(value_of(text, "fwgate_sandbox_job_duration_seconds_count{backend=\"local\"}") == 2);
	free(text);
}

static json_t *store_doc(void)
{
	json_error_t jerr;
	json_t *doc = json_loads(
		"{\"objects\": {\"approved\": {\"count\": 3, \"bytes\": 3000},"
		"  \"quarantined\": {\"count\": 1, \"bytes\": 77}, \"rejected\": {\"count\": 0, \"bytes\": 0},"
		"  \"released\": {\"count\": 2, \"bytes\": 20}, \"pending\": {\"count\": 4, \"bytes\": 400}},"
		" \"scans_since\": {\"clean\": 9, \"infected\": 1},"
		" \"sandbox\": {\"queued\": 5, \"running\": 1, \"done\": 30, \"failed\": 2},"
		" \"requests_open\": 6, \"audit_rows\": 123, \"db_bytes\": 65536}", 0, &jerr);

	if (doc == NULL)
		fail_msg("test document: %s", jerr.text);
	return doc;
}

static void test_store_gauges(void **state)
{
	struct fw_metrics_gauges g;
	json_t *doc = store_doc();
	char *text;

	(void)state;
	fw_metrics_gauges_init(&g);
	g.store_stats = doc;
	text = render(&g);
	assert_true(value_of(text, "fwgate_store_objects{state=\"approved\"}") == 3);
	assert_true(value_of(text, "fwgate_store_objects{state=\"pending\"}") == 4);
	assert_true(value_of(text, "fwgate_store_objects{state=\"rejected\"}") == 0);
	assert_true(value_of(text, "fwgate_store_bytes{state=\"approved\"}") == 3000);
	assert_true(value_of(text, "fwgate_store_bytes{state=\"quarantined\"}") == 77);
	assert_true(value_of(text, "fwgate_sandbox_jobs{state=\"queued\"}") == 5);
	assert_true(value_of(text, "fwgate_sandbox_jobs{state=\"failed\"}") == 2);
	assert_true(value_of(text, "fwgate_review_requests_open") == 6);
	assert_true(value_of(text, "fwgate_store_audit_rows") == 123);
	assert_true(value_of(text, "fwgate_store_db_bytes") == 65536);
	/* A window count is no gauge: scans_since is not rendered. */
	assert_null(strstr(text, "scans_since"));
	/* Neither the scanner nor the sandbox was set. */
	assert_false(has_line(text, "fwgate_scanner_up"));
	assert_false(has_line(text, "fwgate_sandbox_runners"));
	free(text);

	/* Whatever is missing or not a count is left out, header and all. */
	json_object_del(doc, "sandbox");
	json_object_del(doc, "requests_open");
	json_object_set_new(doc, "db_bytes", json_string("big"));
	json_object_set_new(json_object_get(json_object_get(doc, "objects"), "approved"), "bytes", json_integer(-1));
	text = render(&g);
	assert_false(has_line(text, "# HELP fwgate_sandbox_jobs "));
	assert_false(has_line(text, "fwgate_review_requests_open"));
	assert_false(has_line(text, "fwgate_store_db_bytes"));
	assert_false(has_line(text, "fwgate_store_bytes{state=\"approved\"}"));
	assert_true(value_of(text, "fwgate_store_objects{state=\"approved\"}") == 3);
	free(text);
	json_decref(doc);
}

/* Exposition format 0.0.4: in a label value, backslash, double quote and
 * line feed are escaped, and nothing else. */
static void test_label_escaping(void **state)
{
	struct fw_metrics_gauges g;
	json_t *doc = json_pack("{s:{s:i, s:i}}", "sandbox", "a\"b\\c\nd", 7, "plain-é", 8);
	char *text;

	(void)state;
	TU_NONNULL(doc);
	fw_metrics_gauges_init(&g);
	g.store_stats = doc;
	text = render(&g);
	assert_true(value_of(text, "fwgate_sandbox_jobs{state=\"a\\\"b\\\\c\\nd\"}") == 7);
	assert_true(value_of(text, "fwgate_sandbox_jobs{state=\"plain-é\"}") == 8);
	assert_true(value_of(text, "fwgate_build_info{version=\"" FWGATE_VERSION "\"}") == 1);
	free(text);
	json_decref(doc);
}

static void test_scanner_sandbox_gauges(void **state)
{
	struct fw_metrics_gauges g;
	char *text;

	(void)state;
	fw_metrics_gauges_init(&g);
	g.scanner_set = true;
	g.scanner_up = true;
	g.scanner_workers = 4;
	g.scanner_workers_busy = 1;
	g.scanner_jobs_in_flight = 3;
	g.scanner_jobs_queued = 2;
	g.scanner_worker_replacements = 5;
	g.scanner_signatures = 8700000;
	g.scanner_db_version[FW_METRICS_DB_DAILY] = 27100;
	g.scanner_db_time = 1000;
	g.now = 4600;
	g.sandbox_set = true;
	g.sandbox_runners = 2;
	g.sandbox_jobs_running = 1;
	text = render(&g);
	assert_true(value_of(text, "fwgate_scanner_up") == 1);
	assert_true(value_of(text, "fwgate_scanner_workers") == 4);
	assert_true(value_of(text, "fwgate_scanner_workers_busy") == 1);
	assert_true(value_of(text, "fwgate_scanner_jobs_in_flight") == 3);
	assert_true(value_of(text, "fwgate_scanner_jobs_queued") == 2);
	assert_true(value_of(text, "fwgate_scanner_worker_replacements_total") == 5);
	assert_true(value_of(text, "fwgate_scanner_signatures") == 8700000);
	assert_true(value_of(text, "fwgate_scanner_db_version{database=\"daily\"}") == 27100);
	assert_false(has_line(text, "fwgate_scanner_db_version{database=\"main\"}"));
	assert_true(value_of(text, "fwgate_scanner_db_age_seconds") == 3600);
	assert_true(value_of(text, "fwgate_sandbox_runners") == 2);
	assert_true(value_of(text, "fwgate_sandbox_jobs_running") == 1);
	assert_true(value_of(text, "process_start_time_seconds") > 1e9);
	/* No signature time known (bundled only): neither age nor flag. */
	assert_false(has_line(text, "fwgate_scanner_signatures_age_seconds"));
	assert_false(has_line(text, "fwgate_scanner_signatures_outdated"));
	free(text);
}

/* The signatures' age, and the flag only when a maximum is configured:
 * under, at and over it. */
static void test_signature_age(void **state)
{
	struct fw_metrics_gauges g;
	char *text;

	(void)state;
	fw_metrics_gauges_init(&g);
	g.scanner_set = true;
	g.scanner_signatures_time = 1000;
	g.now = 1000 + 3600;
	text = render(&g);
	assert_true(value_of(text, "fwgate_scanner_signatures_age_seconds") == 3600);
	assert_false(has_line(text, "fwgate_scanner_signatures_outdated"));
	free(text);
	g.scanner_signatures_max_age = 3600;
	text = render(&g);
	assert_true(value_of(text, "fwgate_scanner_signatures_outdated") == 0);
	free(text);
	g.now = 1000 + 3601;
	text = render(&g);
	assert_true(value_of(text, "fwgate_scanner_signatures_age_seconds") == 3601);
	assert_true(value_of(text, "fwgate_scanner_signatures_outdated") == 1);
	free(text);
	/* A clock behind the database's time: age 0, not a wrapped number. */
	g.now = 10;
	text = render(&g);
	assert_true(value_of(text, "fwgate_scanner_signatures_age_seconds") == 0);
	assert_true(value_of(text, "fwgate_scanner_signatures_outdated") == 0);
	free(text);
}

/* promtool from PATH, as Debian's prometheus package installs it. */
static bool find_promtool(char *out, size_t len)
{
	const char *path = getenv("PATH");

	if (path == NULL || path[0] == '\0')
		path = "/usr/local/bin:/usr/bin:/bin";
	for (const char *dir = path; dir != NULL;) {
		const char *colon = strchr(dir, ':');
		size_t dlen = colon != NULL ? (size_t)(colon - dir) : strlen(dir);
		int n = snprintf(out, len, "%.*s/promtool", dlen ? (int)dlen : 1, dlen ? dir : ".");

		if (n > 0 && (size_t)n < len && access(out, X_OK) == 0)
			return true;
		dir = colon != NULL ? colon + 1 : NULL;
	}
	return false;
}

/* Runs `promtool check metrics` on text; its verdict and output. */
static int promtool_check(const char *promtool, const char *text, char *out, size_t out_len)
{
	const char *tmp = getenv("TMPDIR") != NULL && getenv("TMPDIR")[0] != '\0' ? getenv("TMPDIR") : "/tmp";
	char in_path[4096], out_path[4096];
	char *const argv[] = { (char *)(uintptr_t)"promtool", (char *)(uintptr_t)"check",
			       (char *)(uintptr_t)"metrics", NULL };
	int in, res, st = -1;
	posix_spawn_file_actions_t fa;
	extern char **environ;
	ssize_t n;
	pid_t pid;

	assert_true(snprintf(in_path, sizeof(in_path), "%s/fwgate-metrics-in-XXXXXX", tmp) < (int)sizeof(in_path));
	assert_true(snprintf(out_path, sizeof(out_path), "%s/fwgate-metrics-out-XXXXXX", tmp) < (int)sizeof(out_path));
	in = mkstemp(in_path);
	res = mkstemp(out_path);
	assert_true(in >= 0 && res >= 0);
	assert_true(write(in, text, strlen(text)) == (ssize_t)strlen(text));
	assert_int_equal(lseek(in, 0, SEEK_SET), 0);
	assert_int_equal(posix_spawn_file_actions_init(&fa), 0);
	assert_int_equal(posix_spawn_file_actions_adddup2(&fa, in, 0), 0);
	assert_int_equal(posix_spawn_file_actions_adddup2(&fa, res, 1), 0);
	assert_int_equal(posix_spawn_file_actions_adddup2(&fa, res, 2), 0);
	assert_int_equal(posix_spawn(&pid, promtool, &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	n = pread(res, out, out_len - 1, 0);
	out[n > 0 ? (size_t)n : 0] = '\0';
	close(in);
	close(res);
	unlink(in_path);
	unlink(out_path);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_promtool(void **state)
{
	struct fw_metrics_gauges g;
	char promtool[4096], out[8192], *text;
	json_t *doc = store_doc();
	int rc;

	(void)state;
	if (!find_promtool(promtool, sizeof(promtool)))
		fail_msg("promtool is not in PATH: the exposition cannot be checked; install Debian's "
			 "`prometheus` package (apt-get install -y prometheus), which provides /usr/bin/promtool");
	fw_metrics_reset();
	fw_metrics_request(FW_OUTCOME_FAILURE, FW_VERDICT_INFECTED);
	fw_metrics_scan_seconds(12.5);
	fw_metrics_sandbox_seconds(FW_SANDBOX_LOCAL, 0.3);
	fw_metrics_gauges_init(&g);
	g.scanner_set = true;
	g.scanner_up = true;
	g.scanner_workers = 2;
	g.scanner_signatures = 12;
	g.scanner_db_version[FW_METRICS_DB_MAIN] = 62;
	g.scanner_db_version[FW_METRICS_DB_DAILY] = 27100;
	g.scanner_db_time = 1700000000;
	g.sandbox_set = true;
	g.sandbox_runners = 2;
	g.store_stats = doc;
	text = render(&g);
	rc = promtool_check(promtool, text, out, sizeof(out));
	if (rc != 0 || out[0] != '\0')
		fail_msg("promtool check metrics (exit %d): %s\n--- text ---\n%s", rc, out, text);
	free(text);
	json_decref(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counters_threads),
		cmocka_unit_test(test_out_of_range),
		cmocka_unit_test(test_histogram),
		cmocka_unit_test(test_store_gauges),
		cmocka_unit_test(test_label_escaping),
		cmocka_unit_test(test_scanner_sandbox_gauges),
		cmocka_unit_test(test_signature_age),
		cmocka_unit_test(test_promtool),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
