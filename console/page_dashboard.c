/* The dashboard: today's downloads by outcome and verdict (from the event
 * log), what the store holds by state, the open release requests, the
 * sandbox queue, the scanner and its signatures, the store's size, and
 * the last events. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "console/console_int.h"
#include "fwgate/metrics.h"
#include "fwgate/scanner.h"

static void tile(struct cbuf *b, const char *id, const char *label, long long n)
{
	cbuf_printf(b, "<div class=\"tile\" id=\"%s\"><span class=\"n\">%lld</span><span class=\"l\">%s</span></div>", id,
		    n, label);
}

static void dash_store(struct cbuf *b, const json_t *stats)
{
	static const char *const states[] = { "approved", "pending", "quarantined", "released", "rejected" };
	const json_t *objects = json_object_get(stats, "objects"), *jobs = json_object_get(stats, "sandbox");

	cbuf_puts(b, "<h2>Store</h2><div class=\"tiles\">");
	for (size_t i = 0; i < FW_ARRAY_LEN(states); i++) {
		char id[32];

		snprintf(id, sizeof(id), "objects-%s", states[i]);
		tile(b, id, states[i], jint(json_object_get(objects, states[i]), "count"));
	}
	tile(b, "requests-open", "releases to confirm", jint(stats, "requests_open"));
	tile(b, "sandbox-queued", "sandbox jobs queued", jint(jobs, "queued"));
	tile(b, "sandbox-running", "sandbox jobs running", jint(jobs, "running"));
	tile(b, "sandbox-failed", "sandbox jobs failed", jint(jobs, "failed"));
	cbuf_puts(b, "</div><p>Database ");
	cbuf_size(b, (uint64_t)jint(stats, "db_bytes"));
	cbuf_puts(b, "; blobs ");
	for (size_t i = 0; i < FW_ARRAY_LEN(states); i++) {
		cbuf_printf(b, "%s%s ", i ? ", " : "", states[i]);
		cbuf_size(b, (uint64_t)jint(json_object_get(objects, states[i]), "bytes"));
	}
	cbuf_printf(b, "; %lld audit row(s).</p>", jint(stats, "audit_rows"));
}

static void dash_today(struct cbuf *b, json_t *today, bool truncated, json_t *stats)
{
	json_t *verdicts = json_object_get(today, "verdicts"), *scans = json_object_get(stats, "scans_since"), *v;
	const char *k;

	cbuf_puts(b, "<h2>Today (UTC)</h2><div class=\"tiles\">");
	tile(b, "today-delivered", "requests served", jint(today, "success"));
	tile(b, "today-refused", "requests refused", jint(today, "failure"));
	cbuf_puts(b, "</div><p id=\"today-verdicts\">Requests by verdict: ");
	json_object_foreach(verdicts, k, v) {
		cbuf_html(b, k);
		cbuf_printf(b, " %lld; ", (long long)json_integer_value(v));
	}
	cbuf_puts(b, truncated ? " (counted over the end of the event log only)" : "");
	cbuf_puts(b, "</p><p id=\"today-scans\">New scans by verdict: ");
	json_object_foreach(scans, k, v) {
		cbuf_html(b, k);
		cbuf_printf(b, " %lld; ", (long long)json_integer_value(v));
	}
	cbuf_puts(b, "</p>");
}

/* The ClamAV databases loaded and the age of the newest. */
static void dash_signatures(struct cbuf *b, struct fw_scanner *scanner, int64_t now)
{
	struct fw_metrics_gauges g;

	fw_metrics_gauges_init(&g);
	fw_scanner_metrics(scanner, &g);
	if (!g.scanner_set)
		return;
	cbuf_printf(b, "</p><p id=\"signatures\">%llu signature(s), %u worker(s) (%u busy), %u job(s) queued",
		    (unsigned long long)g.scanner_signatures, g.scanner_workers, g.scanner_workers_busy,
		    g.scanner_jobs_queued);
	for (int i = 0; i < FW_METRICS_DB_COUNT; i++)
		if (g.scanner_db_version[i] != 0)
			cbuf_printf(b, "; %s.cvd version %u", fw_metrics_db_name((enum fw_metrics_db)i),
				    g.scanner_db_version[i]);
	if (g.scanner_db_time > 0)
		cbuf_printf(b, "; newest database %lld day(s) old", (long long)((now - g.scanner_db_time) / 86400));
	else
		cbuf_puts(b, "; no ClamAV database with a version (own signatures only)");
}

static void dash_events(struct cbuf *b, struct creq *r)
{
	struct ev_query q = { .limit = 10 };
	json_t *rows = NULL, *v;
	struct fw_err err;
	bool truncated;
	size_t i;

	fw_err_clear(&err);
	cbuf_puts(b, "<h2>Last events</h2>");
	if (events_search(r->c->d.log_path, &q, &rows, &truncated, &err) != 0) {
		cbuf_puts(b, "<p class=\"error\">");
		cbuf_html(b, fw_err_msg(&err));
		cbuf_puts(b, "</p>");
		return;
	}
	cbuf_puts(b, "<ul class=\"events\" id=\"last-events\">");
	json_array_foreach(rows, i, v) {
		cbuf_puts(b, "<li><span class=\"time\">");
		cbuf_html(b, jstr(v, "@timestamp"));
		cbuf_puts(b, "</span> <b>");
		cbuf_html(b, jstr(v, "event.action"));
		cbuf_puts(b, "</b> ");
		cbuf_html(b, jstr(v, "url.full"));
		cbuf_puts(b, " ");
		cbuf_html(b, jstr(v, "fwgate.reason"));
		cbuf_puts(b, "</li>");
	}
	cbuf_puts(b, "</ul>");
	json_decref(rows);
}

enum MHD_Result page_dashboard(struct creq *r)
{
	char summary[FW_SCANNER_SUMMARY_MAX];
	time_t now = time(NULL);
	json_t *stats = NULL, *today = NULL;
	struct cbuf b = { 0 };
	struct fw_err err;
	bool truncated = false;

	fw_err_clear(&err);
	if (fw_store_stats(r->c->d.store, (int64_t)(now - now % 86400), &stats, &err) != 0)
		return page_error(r, 503, "%s", fw_err_msg(&err));
	if (events_today(r->c->d.log_path, &today, &truncated, &err) != 0) {
		json_decref(stats);
		return page_error(r, 503, "%s", fw_err_msg(&err));
	}
	page_begin(&b, r, "Dashboard");
	cbuf_puts(&b, "<h1>Dashboard</h1>");
	dash_today(&b, today, truncated, stats);
	dash_store(&b, stats);
	cbuf_puts(&b, "<h2>Scanner</h2><p id=\"scanner\">");
	if (r->c->d.scanner != NULL) {
		cbuf_puts(&b, fw_scanner_up(r->c->d.scanner) ? "<span class=\"badge verdict-clean\">up</span> "
							     : "<span class=\"badge verdict-infected\">down</span> ");
		cbuf_html(&b, fw_scanner_summary(r->c->d.scanner, summary, sizeof(summary)));
		cbuf_printf(&b, "; restarted %u time(s)", fw_scanner_restarts(r->c->d.scanner));
		dash_signatures(&b, r->c->d.scanner, (int64_t)now);
	} else {
		cbuf_puts(&b, "not running");
	}
	cbuf_puts(&b, "</p>");
	dash_events(&b, r);
	page_end(&b);
	json_decref(stats);
	json_decref(today);
	return console_send(r, 200, "text/html; charset=utf-8", &b);
}
