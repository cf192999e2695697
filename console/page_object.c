/* One object in full, for a reviewer: what it is (hash, size, type,
 * state, verdict and why), where it came from (every URL), what is inside
 * (the member tree of its latest scan: each member's chain, type, size,
 * SHA-256 and verdict, the signatures with the member they hit), what the
 * sandbox found, its open release request, the review forms, and its
 * audit rows. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console/console_int.h"

/* The last link of a member chain ("a.zip!fw/x.bin" -> "fw/x.bin"). */
static const char *chain_leaf(const char *path)
{
	const char *bang = strrchr(path, '!');

	return bang != NULL ? bang + 1 : path;
}

static void object_summary(struct cbuf *b, const json_t *o)
{
	cbuf_puts(b, "<dl class=\"facts\"><dt>State</dt><dd id=\"state\">");
	page_state_badge(b, jstr(o, "state"));
	cbuf_puts(b, "</dd><dt>Verdict</dt><dd id=\"verdict\">");
	page_verdict_badge(b, jstr(o, "verdict"));
	cbuf_puts(b, "</dd><dt>Reason</dt><dd id=\"reason\">");
	cbuf_html(b, jstr(o, "reason"));
	cbuf_puts(b, "</dd><dt>SHA-256</dt><dd class=\"hash\" id=\"sha256\">");
	cbuf_html(b, jstr(o, "sha256"));
	cbuf_puts(b, "</dd><dt>Size</dt><dd>");
	cbuf_size(b, (uint64_t)jint(o, "size"));
	cbuf_printf(b, " (%lld bytes)</dd><dt>Type</dt><dd>", jint(o, "size"));
	cbuf_html(b, jstr(o, "file_type"));
	cbuf_puts(b, " · ");
	cbuf_html(b, jstr(o, "mime"));
	cbuf_puts(b, "</dd><dt>First seen</dt><dd>");
	cbuf_time(b, jint(o, "first_seen"));
	cbuf_puts(b, "</dd>");
	if (json_is_string(json_object_get(o, "reviewed_by"))) {
		cbuf_puts(b, "<dt>Reviewed</dt><dd>by ");
		cbuf_html(b, jstr(o, "reviewed_by"));
		cbuf_puts(b, ", ");
		cbuf_time(b, jint(o, "reviewed_at"));
		cbuf_puts(b, ": ");
		cbuf_html(b, jstr(o, "review_reason"));
		cbuf_puts(b, "</dd>");
	}
	cbuf_puts(b, "</dl>");
}

static void object_urls(struct cbuf *b, const json_t *o)
{
	const json_t *v;
	size_t i;

	cbuf_puts(b, "<h2>URL history</h2><table class=\"list\" id=\"urls\"><thead><tr><th>URL</th><th>Fetched</th>"
		     "<th>Verified</th><th>ETag</th></tr></thead><tbody>");
	json_array_foreach(json_object_get(o, "urls"), i, v) {
		cbuf_puts(b, "<tr><td class=\"url\">");
		cbuf_html(b, jstr(v, "url"));
		cbuf_puts(b, "</td><td>");
		cbuf_time(b, jint(v, "fetched_at"));
		cbuf_puts(b, "</td><td>");
		cbuf_time(b, jint(v, "verified_at"));
		cbuf_puts(b, "</td><td>");
		cbuf_html(b, jstr(v, "etag"));
		cbuf_puts(b, "</td></tr>");
	}
	cbuf_puts(b, "</tbody></table>");
}

static void member_row(struct cbuf *b, const json_t *m)
{
	long long depth = jint(m, "depth");

	cbuf_puts(b, "<tr class=\"member\"><td class=\"chain\" title=\"");
	cbuf_html(b, jstr(m, "path"));
	cbuf_printf(b, "\"><span class=\"indent d%lld\"></span>", depth > 16 ? 16 : depth < 0 ? 0 : depth);
	cbuf_html(b, chain_leaf(jstr(m, "path")));
	if (jstr(m, "ui")[0] != '\0' || jstr(m, "guid")[0] != '\0') {
		cbuf_puts(b, " <span class=\"uefi\">");
		cbuf_html(b, jstr(m, "guid"));
		cbuf_puts(b, " ");
		cbuf_html(b, jstr(m, "ui"));
		cbuf_puts(b, "</span>");
	}
	cbuf_puts(b, "</td><td>");
	cbuf_html(b, jstr(m, "file_type"));
	cbuf_puts(b, "<br><small>");
	cbuf_html(b, jstr(m, "mime"));
	cbuf_puts(b, "</small></td><td>");
	cbuf_size(b, (uint64_t)jint(m, "size"));
	cbuf_puts(b, "</td><td class=\"hash\">");
	cbuf_html(b, jstr(m, "sha256"));
	cbuf_puts(b, "</td><td>");
	page_verdict_badge(b, jstr(m, "verdict"));
	cbuf_puts(b, "</td></tr>");
}

/* The latest scan's document: members, signatures, reasons. */
static void object_scan(struct cbuf *b, const json_t *o)
{
	const json_t *scans = json_object_get(o, "scans");
	const json_t *scan = json_array_get(scans, json_array_size(scans) - 1), *doc, *v;
	size_t i;

	cbuf_puts(b, "<h2>Members</h2>");
	doc = json_object_get(scan, "doc");
	if (!json_is_object(doc)) {
		cbuf_puts(b, "<p>No scan document on record.</p>");
		return;
	}
	cbuf_printf(b, "<p>Latest scan %lld, ", jint(scan, "id"));
	cbuf_time(b, jint(scan, "time"));
	cbuf_puts(b, ", engine ");
	cbuf_html(b, jstr(scan, "engine"));
	cbuf_printf(b, "; %lld member(s), %lld listed.</p>", jint(doc, "members_total"), jint(doc, "members_listed"));
	cbuf_puts(b, "<table class=\"list tree\" id=\"members\"><thead><tr><th>Member</th><th>Type</th><th>Size</th>"
		     "<th>SHA-256</th><th>Verdict</th></tr></thead><tbody>");
	json_array_foreach(json_object_get(doc, "members"), i, v)
		member_row(b, v);
	cbuf_puts(b, "</tbody></table><h2>Signatures and reasons</h2><ul id=\"signatures\">");
	json_array_foreach(json_object_get(doc, "signatures"), i, v) {
		cbuf_puts(b, "<li><span class=\"signature\">");
		cbuf_html(b, jstr(v, "name"));
		cbuf_puts(b, "</span> in <span class=\"chain\">");
		cbuf_html(b, jstr(v, "member"));
		cbuf_puts(b, "</span></li>");
	}
	json_array_foreach(json_object_get(doc, "reasons"), i, v) {
		cbuf_puts(b, "<li class=\"reason\">");
		cbuf_html(b, json_string_value(v));
		cbuf_puts(b, "</li>");
	}
	cbuf_puts(b, "</ul>");
}

static void object_sandbox(struct cbuf *b, const json_t *o)
{
	const json_t *v;
	size_t i;

	cbuf_puts(b, "<h2>Sandbox</h2><table class=\"list\" id=\"jobs\"><thead><tr><th>Job</th><th>Member</th>"
		     "<th>Backend</th><th>State</th><th>Verdict</th><th>Score</th><th>Findings</th></tr></thead><tbody>");
	json_array_foreach(json_object_get(o, "sandbox"), i, v) {
		const json_t *f = json_object_get(v, "findings");
		char *text = json_is_null(f) || f == NULL ? NULL : json_dumps(f, JSON_INDENT(1) | JSON_SORT_KEYS);

		cbuf_printf(b, "<tr><td><a href=\"/sandbox/%lld\">%lld</a></td><td class=\"chain\">", jint(v, "id"),
			    jint(v, "id"));
		cbuf_html(b, jstr(v, "member"));
		cbuf_puts(b, "</td><td>");
		cbuf_html(b, jstr(v, "backend"));
		cbuf_puts(b, "</td><td>");
		cbuf_html(b, jstr(v, "state"));
		cbuf_puts(b, "</td><td>");
		cbuf_html(b, jstr(v, "verdict"));
		cbuf_printf(b, "</td><td>%lld</td><td><details><summary>findings</summary><pre>", jint(v, "score"));
		cbuf_html(b, text != NULL ? text : jstr(v, "error"));
		cbuf_puts(b, "</pre></details></td></tr>");
		free(text);
	}
	cbuf_puts(b, "</tbody></table>");
}

static void review_forms(struct cbuf *b, struct creq *r, const json_t *o, const json_t *request)
{
	const char *state = jstr(o, "state");
	bool infected = strcmp(jstr(o, "verdict"), "infected") == 0;

	if (json_is_object(request)) {
		cbuf_puts(b, "<div class=\"request\" id=\"request\"><h2>Release requested</h2><p>by <b>");
		cbuf_html(b, jstr(request, "requested_by"));
		cbuf_puts(b, "</b>, ");
		cbuf_time(b, jint(request, "requested_at"));
		cbuf_puts(b, json_is_true(json_object_get(request, "override_infected")) ? ", overriding the infected verdict" : "");
		cbuf_puts(b, ": ");
		cbuf_html(b, jstr(request, "reason"));
		cbuf_puts(b, "</p><p>A second reviewer confirms it with the release form below.</p>");
		cbuf_printf(b, "<form method=\"post\" action=\"/objects/%lld/cancel\">", jint(o, "id"));
		page_csrf(b, r);
		cbuf_puts(b, "<button type=\"submit\" id=\"cancel\">Withdraw the request</button></form></div>");
	}
	if (strcmp(state, "quarantined") != 0 && strcmp(state, "pending") != 0)
		return;
	if (r->role < FW_ROLE_REVIEWER) {
		cbuf_puts(b, "<p class=\"note\">Viewers cannot release or reject.</p>");
		return;
	}
	cbuf_printf(b, "<div class=\"decide\"><form method=\"post\" action=\"/objects/%lld/release\" id=\"release-form\">",
		    jint(o, "id"));
	page_csrf(b, r);
	cbuf_puts(b, "<label>Reason <input name=\"reason\" id=\"release-reason\" required maxlength=\"1000\"></label>");
	if (infected)
		cbuf_puts(b, "<label class=\"override\"><input type=\"checkbox\" name=\"override_infected\" value=\"1\" "
			     "id=\"override\"> Override the infected verdict (an admin confirms)</label>");
	cbuf_printf(b, "<button type=\"submit\" id=\"release\">%s</button></form>",
		    json_is_object(request) ? "Confirm the release" : "Release");
	cbuf_printf(b, "<form method=\"post\" action=\"/objects/%lld/reject\" id=\"reject-form\">", jint(o, "id"));
	page_csrf(b, r);
	cbuf_puts(b, "<label>Reason <input name=\"reason\" id=\"reject-reason\" required maxlength=\"1000\"></label>"
		     "<button type=\"submit\" id=\"reject\" class=\"danger\">Reject</button></form></div>");
}

/* The object's open release request, or NULL (a new reference). */
static json_t *object_request(struct creq *r, struct fw_err *err, int *rc)
{
	json_t *list = NULL, *v, *found = NULL;
	size_t i;

	*rc = fw_store_review_pending(r->c->d.store, &list, err);
	json_array_foreach(list, i, v)
		if (jint(v, "object_id") == r->id)
			found = json_incref(v);
	json_decref(list);
	return found;
}

enum MHD_Result page_object(struct creq *r)
{
	json_t *o = NULL, *request;
	struct cbuf b = { 0 };
	struct fw_err err;
	char title[64];
	int rc;

	fw_err_clear(&err);
	rc = fw_store_object_show(r->c->d.store, r->id, &o, &err);
	if (rc < 0)
		return page_error(r, 503, "%s", fw_err_msg(&err));
	if (rc == 1)
		return page_error(r, 404, "no object %lld", (long long)r->id);
	request = object_request(r, &err, &rc);
	if (rc != 0) {
		json_decref(o);
		return page_error(r, 503, "%s", fw_err_msg(&err));
	}
	snprintf(title, sizeof(title), "Object %lld", (long long)r->id);
	page_begin(&b, r, title);
	cbuf_printf(&b, "<h1>Object %lld</h1><p class=\"url\" id=\"object-url\">", (long long)r->id);
	cbuf_html(&b, jstr(o, "url"));
	cbuf_puts(&b, "</p>");
	object_summary(&b, o);
	review_forms(&b, r, o, request);
	object_urls(&b, o);
	object_scan(&b, o);
	object_sandbox(&b, o);
	cbuf_puts(&b, "<h2>Audit</h2>");
	page_audit_rows(&b, json_object_get(o, "audit"), "object-audit");
	page_end(&b);
	json_decref(request);
	json_decref(o);
	return console_send(r, 200, "text/html; charset=utf-8", &b);
}
