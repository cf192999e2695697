/* The review forms' answers (release, reject, withdraw) and the page of
 * open release requests waiting for a second reviewer. */
#include <stdio.h>
#include <string.h>

#include "console/console_int.h"

static enum MHD_Result result_page(struct creq *r, const char *title, const char *msg, const char *back)
{
	struct cbuf b = { 0 };

	page_begin(&b, r, title);
	cbuf_puts(&b, "<h1>");
	cbuf_html(&b, title);
	cbuf_puts(&b, "</h1><p class=\"result\" id=\"result\">");
	cbuf_html(&b, msg);
	cbuf_puts(&b, "</p><p><a href=\"");
	cbuf_html(&b, back);
	cbuf_puts(&b, "\" id=\"back\">Back</a></p>");
	page_end(&b);
	return console_send(r, 200, "text/html; charset=utf-8", &b);
}

enum MHD_Result page_review_post(struct creq *r, const char *action)
{
	const char *override = console_field(r, "override_infected");
	char msg[FW_ERR_MSG_MAX + 128], back[64];
	unsigned status;

	status = review_act(r, action, console_field(r, "reason"), override != NULL && strcmp(override, "1") == 0,
			    msg, sizeof(msg));
	if (status != 200)
		return page_error(r, status, "%s", msg);
	snprintf(back, sizeof(back), "/objects/%lld", (long long)r->id);
	return result_page(r, "Done", msg, back);
}

enum MHD_Result page_sandbox_retry(struct creq *r)
{
	char msg[FW_ERR_MSG_MAX + 128], back[64];
	unsigned status = sandbox_retry_act(r, msg, sizeof(msg));

	if (status != 200)
		return page_error(r, status, "%s", msg);
	snprintf(back, sizeof(back), "/sandbox/%lld", (long long)r->id);
	return result_page(r, "Done", msg, back);
}

enum MHD_Result page_requests(struct creq *r)
{
	json_t *list = NULL, *v;
	struct cbuf b = { 0 };
	struct fw_err err;
	size_t i;

	fw_err_clear(&err);
	if (fw_store_review_pending(r->c->d.store, &list, &err) != 0)
		return page_error(r, 503, "%s", fw_err_msg(&err));
	page_begin(&b, r, "Pending releases");
	cbuf_printf(&b, "<h1>Pending releases</h1><p>%s</p>",
		    r->c->d.cfg->console.four_eyes
			    ? "Four eyes: a release takes effect when a second reviewer, not the first, confirms it."
			    : "Four eyes is off ([console] four_eyes = false): a release takes effect at once.");
	cbuf_puts(&b, "<table class=\"list\" id=\"requests\"><thead><tr><th>Object</th><th>Verdict</th><th>Requested by"
		      "</th><th>When</th><th>Reason</th><th>URL</th></tr></thead><tbody>");
	json_array_foreach(list, i, v) {
		cbuf_printf(&b, "<tr><td><a href=\"/objects/%lld\">%lld</a></td><td>", jint(v, "object_id"),
			    jint(v, "object_id"));
		page_verdict_badge(&b, jstr(v, "verdict"));
		if (json_is_true(json_object_get(v, "override_infected")))
			cbuf_puts(&b, " <span class=\"badge override\">override</span>");
		cbuf_puts(&b, "</td><td>");
		cbuf_html(&b, jstr(v, "requested_by"));
		cbuf_puts(&b, " <small>");
		cbuf_html(&b, jstr(v, "via"));
		cbuf_puts(&b, "</small></td><td>");
		cbuf_time(&b, jint(v, "requested_at"));
		cbuf_puts(&b, "</td><td>");
		cbuf_html(&b, jstr(v, "reason"));
		cbuf_puts(&b, "</td><td class=\"url\">");
		cbuf_html(&b, jstr(v, "url"));
		cbuf_puts(&b, "</td></tr>");
	}
	cbuf_puts(&b, "</tbody></table>");
	page_end(&b);
	json_decref(list);
	return console_send(r, 200, "text/html; charset=utf-8", &b);
}
