/* The audit log (newest first, paged) with the verification of its hash
 * chain, and the event log search. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console/console_int.h"

void page_audit_rows(struct cbuf *b, const json_t *rows, const char *id)
{
	const json_t *v;
	size_t i;

	cbuf_printf(b, "<table class=\"list\" id=\"%s\"><thead><tr><th>#</th><th>Time</th><th>Action</th><th>Who</th>"
		       "<th>Object</th><th>Detail</th></tr></thead><tbody>", id);
	json_array_foreach(rows, i, v) {
		cbuf_printf(b, "<tr><td>%lld</td><td>", jint(v, "id"));
		cbuf_time(b, jint(v, "time"));
		cbuf_puts(b, "</td><td class=\"action\">");
		cbuf_html(b, jstr(v, "action"));
		cbuf_puts(b, "</td><td>");
		cbuf_html(b, jstr(v, "who"));
		cbuf_puts(b, "</td><td>");
		if (jint(v, "object_id") > 0)
			cbuf_printf(b, "<a href=\"/objects/%lld\">%lld</a>", jint(v, "object_id"), jint(v, "object_id"));
		cbuf_puts(b, "</td><td>");
		cbuf_html(b, jstr(v, "detail"));
		cbuf_puts(b, "</td></tr>");
	}
	cbuf_puts(b, "</tbody></table>");
}

enum MHD_Result page_audit(struct creq *r)
{
	const char *before = console_arg(r, "before");
	int64_t before_id = 0, first_bad = 0;
	json_t *rows = NULL;
	struct cbuf b = { 0 };
	struct fw_err err, verr;
	int chain;

	fw_err_clear(&err);
	fw_err_clear(&verr);
	if (before != NULL && before[0] != '\0') {
		char *end;

		before_id = strtoll(before, &end, 10);
		if (*end != '\0' || before_id < 0)
			return page_error(r, 400, "before is a row number");
	}
	if (fw_store_audit_page(r->c->d.store, before_id, CONSOLE_PAGE_ROWS, 0, &rows, &err) != 0)
		return page_error(r, 503, "%s", fw_err_msg(&err));
	chain = fw_store_audit_verify(r->c->d.store, &first_bad, &verr);
	page_begin(&b, r, "Audit");
	cbuf_puts(&b, "<h1>Audit log</h1>");
	if (chain == 0)
		cbuf_puts(&b, "<p class=\"chain ok\" id=\"chain\">Chain verified: every row matches its hash.</p>");
	else if (chain == 1) {
		cbuf_printf(&b, "<p class=\"chain broken\" id=\"chain\">Chain BROKEN at row %lld: ", (long long)first_bad);
		cbuf_html(&b, fw_err_msg(&verr));
		cbuf_puts(&b, "</p>");
	} else {
		cbuf_puts(&b, "<p class=\"chain broken\" id=\"chain\">The chain could not be checked: ");
		cbuf_html(&b, fw_err_msg(&verr));
		cbuf_puts(&b, "</p>");
	}
	page_audit_rows(&b, rows, "audit");
	if (json_array_size(rows) == CONSOLE_PAGE_ROWS)
		cbuf_printf(&b, "<p class=\"paging\"><a id=\"next-page\" href=\"/audit?before=%lld\">Older &rarr;</a></p>",
			    jint(json_array_get(rows, CONSOLE_PAGE_ROWS - 1), "id"));
	page_end(&b);
	json_decref(rows);
	return console_send(r, 200, "text/html; charset=utf-8", &b);
}

static void event_row(struct cbuf *b, const json_t *e)
{
	static const char *const cols[] = { "event.action", "event.outcome", "source.ip", "url.full", "fwgate.verdict",
					    "fwgate.reason" };

	cbuf_puts(b, "<tr><td>");
	cbuf_html(b, jstr(e, "@timestamp"));
	cbuf_puts(b, "</td>");
	for (size_t i = 0; i < FW_ARRAY_LEN(cols); i++) {
		cbuf_puts(b, "<td>");
		cbuf_html(b, jstr(e, cols[i]));
		cbuf_puts(b, "</td>");
	}
	cbuf_puts(b, "</tr>");
}

enum MHD_Result page_events(struct creq *r)
{
	struct ev_query q = { .text = console_arg(r, "q"), .action = console_arg(r, "action"),
			      .day = console_arg(r, "day"), .limit = 200 };
	json_t *rows = NULL, *v;
	struct cbuf b = { 0 };
	struct fw_err err;
	bool truncated = false;
	size_t i;

	fw_err_clear(&err);
	if ((q.text != NULL && strlen(q.text) > 256) || (q.action != NULL && strlen(q.action) > 64) ||
	    (q.day != NULL && strlen(q.day) > 10))
		return page_error(r, 400, "the search terms are too long");
	if (events_search(r->c->d.log_path, &q, &rows, &truncated, &err) != 0)
		return page_error(r, 503, "%s", fw_err_msg(&err));
	page_begin(&b, r, "Events");
	cbuf_puts(&b, "<h1>Events</h1><form method=\"get\" action=\"/events\" class=\"filters\">"
		      "<label>Text <input name=\"q\" id=\"q\" maxlength=\"256\" value=\"");
	cbuf_html(&b, q.text);
	cbuf_puts(&b, "\"></label><label>Action <input name=\"action\" maxlength=\"64\" value=\"");
	cbuf_html(&b, q.action);
	cbuf_puts(&b, "\"></label><label>Day <input type=\"date\" name=\"day\" value=\"");
	cbuf_html(&b, q.day);
	cbuf_puts(&b, "\"></label><button type=\"submit\">Search</button></form>");
	cbuf_printf(&b, "<p>%zu event(s), newest first%s.</p>", json_array_size(rows),
		    truncated ? ", from the end of the log only" : "");
	cbuf_puts(&b, "<table class=\"list\" id=\"events\"><thead><tr><th>Time</th><th>Action</th><th>Outcome</th>"
		      "<th>Source</th><th>URL</th><th>Verdict</th><th>Reason</th></tr></thead><tbody>");
	json_array_foreach(rows, i, v)
		event_row(&b, v);
	cbuf_puts(&b, "</tbody></table>");
	page_end(&b);
	json_decref(rows);
	return console_send(r, 200, "text/html; charset=utf-8", &b);
}
