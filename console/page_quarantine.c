/* The quarantine pages: the filtered, paged list of what the gateway holds
 * back, and one object in full (its URLs, sizes and hash, the member tree
 * of its latest scan with types, sizes, hashes and verdicts, the
 * signatures with their member chains, the sandbox jobs and findings, the
 * audit rows), with the release and reject forms. Every string from the
 * store is escaped (cbuf_html): URLs, member names, signature names and
 * findings are the vendor's or an attacker's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "console/console_int.h"

static const char *const states[] = { "quarantined", "pending", "rejected", "released", "approved" };
static const char *const verdicts[] = { "infected", "suspicious", "unscannable", "pending", "clean" };

static void select_opts(struct cbuf *b, const char *name, const char *label, const char *const *opts, size_t n,
			const char *cur)
{
	cbuf_printf(b, "<label>%s <select name=\"%s\" id=\"f-%s\"><option value=\"\">any</option>", label, name, name);
	for (size_t i = 0; i < n; i++)
		cbuf_printf(b, "<option%s>%s</option>", cur != NULL && strcmp(cur, opts[i]) == 0 ? " selected" : "",
			    opts[i]);
	cbuf_puts(b, "</select></label>");
}

/* "YYYY-MM-DD" as the unix time of its midnight UTC; 0 when absent or
 * malformed (*bad set). */
static int64_t parse_day(const char *s, bool *bad)
{
	struct tm tm;
	char *end;

	if (s == NULL || s[0] == '\0')
		return 0;
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%d", &tm);
	if (end == NULL || *end != '\0') {
		*bad = true;
		return 0;
	}
	return (int64_t)timegm(&tm);
}

static bool parse_id_arg(const char *s, int64_t *out)
{
	char *end;
	long long v;

	*out = 0;
	if (s == NULL || s[0] == '\0')
		return true;
	v = strtoll(s, &end, 10);
	if (*end != '\0' || v < 0)
		return false;
	*out = v;
	return true;
}

/* The filter of the request's query: false (and *why) when malformed. */
bool quarantine_query(struct creq *r, struct fw_quarantine_query *q, const char **why)
{
	bool bad = false;
	const char *until = console_arg(r, "until");

	memset(q, 0, sizeof(*q));
	q->state = console_arg(r, "state");
	q->verdict = console_arg(r, "verdict");
	q->host = console_arg(r, "host");
	q->since = parse_day(console_arg(r, "since"), &bad);
	q->until = parse_day(until, &bad);
	if (q->until != 0)
		q->until += 86400; /* the whole day given */
	q->limit = CONSOLE_PAGE_ROWS;
	*why = "since and until are dates (YYYY-MM-DD)";
	if (bad)
		return false;
	*why = "before is an object id";
	if (!parse_id_arg(console_arg(r, "before"), &q->before_id))
		return false;
	*why = "host, state or verdict is too long";
	return (q->host == NULL || strlen(q->host) < FW_HOST_MAX) && (q->state == NULL || strlen(q->state) < 32) &&
	       (q->verdict == NULL || strlen(q->verdict) < 32);
}

static void filter_form(struct cbuf *b, const struct fw_quarantine_query *q, struct creq *r)
{
	cbuf_puts(b, "<form method=\"get\" action=\"/quarantine\" class=\"filters\">");
	select_opts(b, "state", "State", states, FW_ARRAY_LEN(states), q->state);
	select_opts(b, "verdict", "Verdict", verdicts, FW_ARRAY_LEN(verdicts), q->verdict);
	cbuf_puts(b, "<label>Host <input name=\"host\" id=\"f-host\" maxlength=\"253\" value=\"");
	cbuf_html(b, q->host);
	cbuf_puts(b, "\"></label><label>Since <input type=\"date\" name=\"since\" value=\"");
	cbuf_html(b, console_arg(r, "since"));
	cbuf_puts(b, "\"></label><label>Until <input type=\"date\" name=\"until\" value=\"");
	cbuf_html(b, console_arg(r, "until"));
	cbuf_puts(b, "\"></label><button type=\"submit\">Filter</button></form>");
}

/* The link to the next page: the same filter, ids below the last row. */
static void next_link(struct cbuf *b, struct creq *r, int64_t last_id)
{
	static const char *const keep[] = { "state", "verdict", "host", "since", "until" };

	cbuf_printf(b, "<p class=\"paging\"><a id=\"next-page\" href=\"/quarantine?before=%lld", (long long)last_id);
	for (size_t i = 0; i < FW_ARRAY_LEN(keep); i++) {
		const char *v = console_arg(r, keep[i]);

		if (v == NULL || v[0] == '\0')
			continue;
		cbuf_printf(b, "&amp;%s=", keep[i]);
		cbuf_urlenc(b, v);
	}
	cbuf_puts(b, "\">Older &rarr;</a></p>");
}

static void list_rows(struct cbuf *b, const json_t *items)
{
	const json_t *v;
	size_t i;

	cbuf_puts(b, "<table class=\"list\" id=\"quarantine\"><thead><tr><th>ID</th><th>State</th><th>Verdict</th>"
		     "<th>Size</th><th>First seen</th><th>URL and reason</th><th>Release</th></tr></thead><tbody>");
	json_array_foreach(items, i, v) {
		const json_t *req = json_object_get(v, "request");

		cbuf_printf(b, "<tr><td><a href=\"/objects/%lld\">%lld</a></td><td>", jint(v, "id"), jint(v, "id"));
		page_state_badge(b, jstr(v, "state"));
		cbuf_puts(b, "</td><td>");
		page_verdict_badge(b, jstr(v, "verdict"));
		cbuf_puts(b, "</td><td>");
		cbuf_size(b, (uint64_t)jint(v, "size"));
		cbuf_puts(b, "</td><td>");
		cbuf_time(b, jint(v, "first_seen"));
		cbuf_puts(b, "</td><td><div class=\"url\">");
		cbuf_html(b, jstr(v, "url"));
		cbuf_puts(b, "</div><div class=\"reason\">");
		cbuf_html(b, jstr(v, "reason"));
		cbuf_puts(b, "</div></td><td>");
		if (json_is_object(req)) {
			cbuf_puts(b, "requested by ");
			cbuf_html(b, jstr(req, "requested_by"));
		}
		cbuf_puts(b, "</td></tr>");
	}
	cbuf_puts(b, "</tbody></table>");
}

enum MHD_Result page_quarantine(struct creq *r)
{
	struct fw_quarantine_query q;
	json_t *items = NULL;
	struct cbuf b = { 0 };
	struct fw_err err;
	const char *why;
	int64_t total = 0;
	size_t n;

	fw_err_clear(&err);
	if (!quarantine_query(r, &q, &why))
		return page_error(r, 400, "%s", why);
	if (fw_store_quarantine_page(r->c->d.store, &q, &items, &total, &err) != 0)
		return page_error(r, fw_err_code(&err) == FW_E_INVALID ? 400 : 503, "%s", fw_err_msg(&err));
	page_begin(&b, r, "Quarantine");
	cbuf_printf(&b, "<h1>Quarantine</h1><p class=\"count\" id=\"total\">%lld object(s) match.</p>", (long long)total);
	filter_form(&b, &q, r);
	list_rows(&b, items);
	n = json_array_size(items);
	if (n == q.limit)
		next_link(&b, r, jint(json_array_get(items, n - 1), "id"));
	page_end(&b);
	json_decref(items);
	return console_send(r, 200, "text/html; charset=utf-8", &b);
}
