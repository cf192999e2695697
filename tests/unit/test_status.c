/* Unit tests for cli/status_doc.c: the `fwgate status` document built
 * from a snapshot (every field, the listeners of a config, absent
 * figures), and its printing for people (aligned lines, a hostile or
 * partial document shown with "?"). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli/status_doc.h"
#include "testutil.h"

#define NOW 1764900000LL /* 2025-12-05T02:00:00Z */

static json_t *stats_doc(void)
{
	json_t *st = json_loads("{\"objects\": {\"approved\": {\"count\": 1, \"bytes\": 262161},"
				" \"quarantined\": {\"count\": 2, \"bytes\": 3145728}},"
				" \"sandbox\": {\"queued\": 1, \"running\": 0, \"done\": 4, \"failed\": 0},"
				" \"requests_open\": 3, \"audit_rows\": 9}", 0, NULL);

	TU_NONNULL(st);
	return st;
}

/* A snapshot of a gateway up 1 day 2 h 3 min 4 s, with one error. */
static void snapshot(struct status_snapshot *s, struct fw_metrics_gauges *g, struct fw_proxy_status *ps,
		     struct fw_event_ring_entry *e, struct fw_config *cfg, json_t *stats)
{
	fw_config_default(cfg);
	cfg->mirror.http_listen = (struct fw_listen_addr){ .ip = "127.0.0.1", .port = 8080 };
	fw_metrics_gauges_init(g);
	g->scanner_set = true;
	g->scanner_up = true;
	g->scanner_workers = 3;
	g->scanner_workers_busy = 1;
	g->scanner_worker_replacements = 5;
	g->scanner_restarts = 2;
	g->scanner_jobs_in_flight = 1;
	g->scanner_signatures = 8700000;
	g->scanner_db_version[FW_METRICS_DB_MAIN] = 62;
	g->scanner_db_version[FW_METRICS_DB_DAILY] = 27100;
	g->scanner_db_time = NOW - 3 * 86400;
	g->sandbox_set = true;
	g->sandbox_runners = 1;
	g->store_stats = stats;
	*ps = (struct fw_proxy_status){ .connections_open = 2, .connections_accepted = 17, .accepting = true };
	*e = (struct fw_event_ring_entry){ .time_ms = NOW * 1000 - 1500, .action = "proxy-connect-refused",
					   .domain = "bad.example", .reason = "not on the allow-list" };
	*s = (struct status_snapshot){
		.version = "9.9.9", .pid = 4242, .started = NOW - 93784, .now = NOW, .state_dir = "/var/lib/fwgate",
		.proxy = ps, .workers_configured = 4, .gauges = g, .signatures_summary = "daily 27100, main 62",
		.errors = e, .n_errors = 1,
	};
	status_listeners_of(cfg, s);
}

static long long at(const json_t *doc, const char *p1, const char *p2, const char *p3)
{
	const json_t *v = json_object_get(doc, p1);

	if (p2 != NULL)
		v = json_object_get(v, p2);
	if (p3 != NULL)
		v = json_object_get(v, p3);
	assert_true(json_is_integer(v));
	return (long long)json_integer_value(v);
}

static void test_build(void **state)
{
	struct fw_config *cfg = calloc(1, sizeof(*cfg));
	struct status_snapshot s;
	struct fw_metrics_gauges g;
	struct fw_proxy_status ps;
	struct fw_event_ring_entry e;
	json_t *stats = stats_doc(), *doc, *l, *er;
	struct fw_err err;

	(void)state;
	TU_NONNULL(cfg);
	snapshot(&s, &g, &ps, &e, cfg, stats);
	fw_err_clear(&err);
	doc = status_doc_build(&s, &err);
	TU_NONNULL(doc);
	assert_int_equal(at(doc, "format", NULL, NULL), STATUS_DOC_FORMAT);
	assert_string_equal(json_string_value(json_object_get(doc, "version")), "9.9.9");
	assert_int_equal(at(doc, "pid", NULL, NULL), 4242);
	assert_string_equal(json_string_value(json_object_get(doc, "started")), "2025-12-03T23:56:56Z");
	assert_int_equal(at(doc, "uptime_seconds", NULL, NULL), 93784);
	/* The default config's proxy and console, and the mirror's HTTP listener. */
	l = json_object_get(doc, "listeners");
	assert_int_equal(json_array_size(l), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(l, 0), "name")), "proxy");
	assert_string_equal(json_string_value(json_object_get(json_array_get(l, 0), "address")), "127.0.0.1:3128");
	assert_string_equal(json_string_value(json_object_get(json_array_get(l, 1), "address")), "127.0.0.1:8443");
	assert_string_equal(json_string_value(json_object_get(json_array_get(l, 2), "name")), "mirror_http");
	assert_int_equal(at(doc, "connections", "open", NULL), 2);
	assert_int_equal(at(doc, "connections", "accepted", NULL), 17);
	assert_true(json_is_true(json_object_get(json_object_get(doc, "scanner"), "up")));
	assert_int_equal(at(doc, "scanner", "restarts", NULL), 2);
	assert_int_equal(at(doc, "scanner", "workers", "configured"), 4);
	assert_int_equal(at(doc, "scanner", "workers", "alive"), 3);
	assert_int_equal(at(doc, "scanner", "workers", "replaced"), 5);
	assert_int_equal(at(doc, "signatures", "count", NULL), 8700000);
	assert_int_equal(at(doc, "signatures", "databases", "daily"), 27100);
	/* A database not loaded is left out, not shown as version 0. */
	assert_null(json_object_get(json_object_get(json_object_get(doc, "signatures"), "databases"), "bytecode"));
	assert_int_equal(at(doc, "signatures", "age_seconds", NULL), 3 * 86400);
	assert_string_equal(json_string_value(json_object_get(json_object_get(doc, "signatures"), "newest_build")),
			    "2025-12-02T02:00:00Z");
	assert_int_equal(at(doc, "sandbox", "runners", NULL), 1);
	assert_int_equal(at(doc, "sandbox", "jobs", "done"), 4);
	assert_int_equal(at(doc, "store", "requests_open", NULL), 3);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(json_object_get(json_object_get(doc, "store"),
			"objects"), "approved"), "bytes")), 262161);
	er = json_array_get(json_object_get(doc, "last_errors"), 0);
	assert_string_equal(json_string_value(json_object_get(er, "time")), "2025-12-05T01:59:58.500Z");
	assert_string_equal(json_string_value(json_object_get(er, "domain")), "bad.example");
	json_decref(doc);
	json_decref(stats);
	free(cfg);
}

/* Figures a gateway could not read yet are null or zero, never made up. */
static void test_build_absent(void **state)
{
	struct status_snapshot s = { .version = "1", .pid = 1, .started = NOW, .now = NOW - 5, .state_dir = "/s" };
	struct fw_err err;
	json_t *doc;

	(void)state;
	fw_err_clear(&err);
	doc = status_doc_build(&s, &err);
	TU_NONNULL(doc);
	assert_int_equal(at(doc, "uptime_seconds", NULL, NULL), 0);
	assert_true(json_is_null(json_object_get(doc, "connections")));
	assert_true(json_is_false(json_object_get(json_object_get(doc, "scanner"), "up")));
	assert_true(json_is_null(json_object_get(json_object_get(doc, "signatures"), "summary")));
	assert_null(json_object_get(json_object_get(doc, "signatures"), "count"));
	assert_int_equal(json_object_size(json_object_get(json_object_get(doc, "store"), "objects")), 0);
	assert_true(json_is_null(json_object_get(json_object_get(doc, "store"), "requests_open")));
	assert_int_equal(json_array_size(json_object_get(doc, "last_errors")), 0);
	json_decref(doc);
}

static char *print_of(const json_t *doc)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	TU_NONNULL(f);
	status_doc_print(doc, f);
	assert_int_equal(fclose(f), 0);
	TU_NONNULL(text);
	return text;
}

static void test_print(void **state)
{
	struct fw_config *cfg = calloc(1, sizeof(*cfg));
	struct status_snapshot s;
	struct fw_metrics_gauges g;
	struct fw_proxy_status ps;
	struct fw_event_ring_entry e[2];
	json_t *stats = stats_doc(), *doc;
	struct fw_err err;
	char *text;

	(void)state;
	TU_NONNULL(cfg);
	snapshot(&s, &g, &ps, &e[0], cfg, stats);
	e[1] = e[0];
	snprintf(e[1].domain, sizeof(e[1].domain), "%s", "");
	snprintf(e[1].action, sizeof(e[1].action), "%s", "fwgate-reload-failed");
	s.n_errors = 2;
	s.signature_sources = json_loads("{\"databases\": [{\"kind\": \"cvd\", \"name\": \"daily\", \"dir\": "
					 "\"/var/lib/clamav\", \"version\": 27100, \"age_seconds\": 3600},"
					 " {\"kind\": \"local\", \"name\": \"local\", \"dir\": \"/etc/sigs\", \"version\": 0},"
					 " {\"kind\": \"bundled\", \"name\": \"bundled\", \"dir\": \"\", \"version\": 0}]}",
					 0, NULL);
	TU_NONNULL(s.signature_sources);
	fw_err_clear(&err);
	doc = status_doc_build(&s, &err);
	json_decref(s.signature_sources);
	TU_NONNULL(doc);
	text = print_of(doc);
	assert_string_equal(text,
		"fwgate 9.9.9 (pid 4242), up since 2025-12-03T23:56:56Z (1d 02:03:04)\n"
		"state        /var/lib/fwgate\n"
		"listeners    proxy 127.0.0.1:3128, console 127.0.0.1:8443, mirror_http 127.0.0.1:8080\n"
		"connections  2 open, 17 accepted\n"
		"scanner      up; workers 3 of 4 alive, 1 busy, 5 replaced; 2 supervisor restart(s); jobs 1 in flight, 0 queued\n"
		"signatures   8700000 loaded (main 62, daily 27100); newest built 2025-12-02T02:00:00Z, 3d 00:00:00 old\n"
		"             daily 27100, main 62\n"
		"             cvd daily version 27100, 01:00:00 old in /var/lib/clamav\n"
		"             local in /etc/sigs\n"
		"             bundled\n"
		"sandbox      1 runner(s), 0 job(s) running; jobs: queued 1, running 0, done 4, failed 0\n"
		"store        approved 1 (256.0 KiB), quarantined 2 (3.0 MiB); 3 release request(s) open\n"
		"last errors  2025-12-05T01:59:58.500Z proxy-connect-refused bad.example: not on the allow-list\n"
		"             2025-12-05T01:59:58.500Z fwgate-reload-failed: not on the allow-list\n");
	free(text);
	json_decref(doc);
	json_decref(stats);
	free(cfg);
}

/* A document from elsewhere (another version, a broken peer): missing or
 * mistyped members print as "?", nothing crashes. */
static void test_print_partial(void **state)
{
	json_t *doc = json_loads("{\"version\": 7, \"pid\": \"x\", \"scanner\": {\"workers\": []},"
				 " \"listeners\": {}, \"last_errors\": [{}]}", 0, NULL);
	char *text;

	(void)state;
	TU_NONNULL(doc);
	text = print_of(doc);
	assert_non_null(strstr(text, "fwgate ? (pid ?), up since ? (?)\n"));
	assert_non_null(strstr(text, "\nlisteners    none\n"));
	assert_non_null(strstr(text, "\nscanner      DOWN; workers ? of ? alive"));
	assert_non_null(strstr(text, "\nstore        ?; ? release request(s) open\n"));
	assert_non_null(strstr(text, "\nlast errors  ? ?: ?\n"));
	free(text);
	json_decref(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build),
		cmocka_unit_test(test_build_absent),
		cmocka_unit_test(test_print),
		cmocka_unit_test(test_print_partial),
	};

	return cmocka_run_group_tests_name("status", tests, NULL, NULL);
}
