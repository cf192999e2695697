/* The sandbox pages: every job (newest first), one job with its findings
 * and the packages waiting on it, and the retry form. Findings come from
 * the sandbox (CAPE's signatures name what the sample did): escaped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console/console_int.h"

/* At most this many jobs listed (the newest). */
#define SANDBOX_LIST_MAX 500

enum MHD_Result page_sandbox(struct creq *r)
{
	json_t *list = NULL, *v;
	struct cbuf b = { 0 };
	struct fw_err err;
	size_t i;

	fw_err_clear(&err);
	if (fw_store_sandbox_list(r->c->d.store, &list, &err) != 0)
		return page_error(r, 503, "%s", fw_err_msg(&err));
	page_begin(&b, r, "Sandbox");
	cbuf_printf(&b, "<h1>Sandbox jobs</h1><p>%zu job(s)%s.</p>", json_array_size(list),
		    json_array_size(list) > SANDBOX_LIST_MAX ? ", the newest 500 shown" : "");
	cbuf_puts(&b, "<table class=\"list\" id=\"sandbox\"><thead><tr><th>Job</th><th>SHA-256</th><th>Type</th>"
		      "<th>Backend</th><th>State</th><th>Attempts</th><th>Verdict</th><th>Score</th><th>Created</th>"
		      "<th>Error</th></tr></thead><tbody>");
	json_array_foreach(list, i, v) {
		if (i == SANDBOX_LIST_MAX)
			break;
		cbuf_printf(&b, "<tr><td><a href=\"/sandbox/%lld\">%lld</a></td><td class=\"hash\">", jint(v, "id"),
			    jint(v, "id"));
		cbuf_html(&b, jstr(v, "sha256"));
		cbuf_puts(&b, "</td><td>");
		cbuf_html(&b, jstr(v, "file_type"));
		cbuf_puts(&b, "</td><td>");
		cbuf_html(&b, jstr(v, "backend"));
		cbuf_puts(&b, "</td><td>");
		cbuf_html(&b, jstr(v, "state"));
		cbuf_printf(&b, "</td><td>%lld</td><td>", jint(v, "attempts"));
		cbuf_html(&b, jstr(v, "verdict"));
		cbuf_printf(&b, "</td><td>%lld</td><td>", jint(v, "score"));
		cbuf_time(&b, jint(v, "created_at"));
		cbuf_puts(&b, "</td><td>");
		cbuf_html(&b, jstr(v, "error"));
		cbuf_puts(&b, "</td></tr>");
	}
	cbuf_puts(&b, "</tbody></table>");
	page_end(&b);
	json_decref(list);
	return console_send(r, 200, "text/html; charset=utf-8", &b);
}

static void job_links(struct cbuf *b, const json_t *job)
{
	const json_t *v;
	size_t i;

	cbuf_puts(b, "<h2>Packages waiting on it</h2><table class=\"list\" id=\"links\"><thead><tr><th>Object</th>"
		     "<th>State</th><th>Member</th></tr></thead><tbody>");
	json_array_foreach(json_object_get(job, "links"), i, v) {
		cbuf_printf(b, "<tr><td><a href=\"/objects/%lld\">%lld</a></td><td>", jint(v, "object_id"),
			    jint(v, "object_id"));
		page_state_badge(b, jstr(v, "object_state"));
		cbuf_puts(b, "</td><td class=\"chain\">");
		cbuf_html(b, jstr(v, "member"));
		cbuf_puts(b, "</td></tr>");
	}
	cbuf_puts(b, "</tbody></table>");
}

enum MHD_Result page_sandbox_job(struct creq *r)
{
	json_t *job = NULL;
	struct cbuf b = { 0 };
	struct fw_err err;
	char title[64], *findings;
	const char *state;
	int rc;

	fw_err_clear(&err);
	rc = fw_store_sandbox_show(r->c->d.store, r->id, &job, &err);
	if (rc < 0)
		return page_error(r, 503, "%s", fw_err_msg(&err));
	if (rc == 1)
		return page_error(r, 404, "no sandbox job %lld", (long long)r->id);
	snprintf(title, sizeof(title), "Sandbox job %lld", (long long)r->id);
	page_begin(&b, r, title);
	cbuf_printf(&b, "<h1>%s</h1><dl class=\"facts\"><dt>SHA-256</dt><dd class=\"hash\">", title);
	cbuf_html(&b, jstr(job, "sha256"));
	cbuf_puts(&b, "</dd><dt>Type</dt><dd>");
	cbuf_html(&b, jstr(job, "file_type"));
	cbuf_puts(&b, "</dd><dt>Backend</dt><dd>");
	cbuf_html(&b, jstr(job, "backend"));
	cbuf_puts(&b, "</dd><dt>State</dt><dd id=\"job-state\">");
	cbuf_html(&b, jstr(job, "state"));
	cbuf_printf(&b, "</dd><dt>Attempts</dt><dd>%lld</dd><dt>Verdict</dt><dd>", jint(job, "attempts"));
	cbuf_html(&b, jstr(job, "verdict"));
	cbuf_printf(&b, " (score %lld)</dd><dt>Error</dt><dd>", jint(job, "score"));
	cbuf_html(&b, jstr(job, "error"));
	cbuf_puts(&b, "</dd></dl><h2>Findings</h2><pre id=\"findings\">");
	findings = json_dumps(json_object_get(job, "findings"), JSON_INDENT(2) | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	cbuf_html(&b, findings != NULL ? findings : "none");
	free(findings);
	cbuf_puts(&b, "</pre>");
	state = jstr(job, "state");
	if ((strcmp(state, "done") == 0 || strcmp(state, "failed") == 0) && r->role >= FW_ROLE_REVIEWER) {
		cbuf_printf(&b, "<form method=\"post\" action=\"/sandbox/%lld/retry\">", (long long)r->id);
		page_csrf(&b, r);
		cbuf_puts(&b, "<button type=\"submit\" id=\"retry\">Run it again</button></form>");
	}
	job_links(&b, job);
	page_end(&b);
	json_decref(job);
	return console_send(r, 200, "text/html; charset=utf-8", &b);
}
