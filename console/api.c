/* The JSON API (/api/v1/...), for automation: the pages' data and
 * actions, authenticated by a bearer token only (fwgate token add; no
 * cookie is ever read here, so no CSRF token is needed and no browser can
 * be made to call it), with the same role checks and the same store path
 * as the pages. Errors are {"error": "...", "status": n}. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "console/console_int.h"
#include "fwgate/scanner.h"

static enum MHD_Result api_json(struct creq *r, unsigned status, json_t *o)
{
	char *text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	struct cbuf b = { 0 };

	json_decref(o);
	if (text == NULL)
		return page_error(r, 500, "out of memory");
	cbuf_puts(&b, text);
	cbuf_puts(&b, "\n");
	free(text);
	return console_send(r, status, "application/json", &b);
}

static enum MHD_Result api_store_err(struct creq *r, const struct fw_err *err)
{
	return page_error(r, fw_err_code(err) == FW_E_INVALID ? 400 : 503, "%s", fw_err_msg(err));
}

static enum MHD_Result api_dashboard(struct creq *r)
{
	char summary[FW_SCANNER_SUMMARY_MAX] = "not running";
	time_t now = time(NULL);
	json_t *stats = NULL, *today = NULL;
	struct fw_err err;
	bool truncated = false;

	fw_err_clear(&err);
	if (fw_store_stats(r->c->d.store, (int64_t)(now - now % 86400), &stats, &err) != 0)
		return api_store_err(r, &err);
	if (events_today(r->c->d.log_path, &today, &truncated, &err) != 0) {
		json_decref(stats);
		return api_store_err(r, &err);
	}
	if (r->c->d.scanner != NULL)
		fw_scanner_summary(r->c->d.scanner, summary, sizeof(summary));
	return api_json(r, 200, json_pack("{s:o, s:o, s:b, s:{s:b, s:s, s:i}}", "store", stats, "today", today,
					  "today_truncated", truncated, "scanner", "up",
					  r->c->d.scanner != NULL && fw_scanner_up(r->c->d.scanner), "summary", summary,
					  "restarts", r->c->d.scanner != NULL ? (int)fw_scanner_restarts(r->c->d.scanner) : 0));
}

static enum MHD_Result api_quarantine(struct creq *r)
{
	struct fw_quarantine_query q;
	json_t *items = NULL;
	struct fw_err err;
	const char *why, *limit = console_arg(r, "limit");
	int64_t total = 0;

	fw_err_clear(&err);
	if (!quarantine_query(r, &q, &why))
		return page_error(r, 400, "%s", why);
	if (limit != NULL) {
		char *end;
		long v = strtol(limit, &end, 10);

		if (*end != '\0' || v < 1 || v > 1000)
			return page_error(r, 400, "limit is 1 to 1000");
		q.limit = (unsigned)v;
	}
	if (fw_store_quarantine_page(r->c->d.store, &q, &items, &total, &err) != 0)
		return api_store_err(r, &err);
	return api_json(r, 200, json_pack("{s:I, s:o}", "total", (json_int_t)total, "items", items));
}

static enum MHD_Result api_object(struct creq *r)
{
	json_t *o = NULL, *list = NULL, *v;
	struct fw_err err;
	size_t i;
	int rc;

	fw_err_clear(&err);
	rc = fw_store_object_show(r->c->d.store, r->id, &o, &err);
	if (rc == 1)
		return page_error(r, 404, "no object %lld", (long long)r->id);
	if (rc != 0 || fw_store_review_pending(r->c->d.store, &list, &err) != 0) {
		json_decref(o);
		return api_store_err(r, &err);
	}
	json_object_set_new(o, "request", json_null());
	json_array_foreach(list, i, v)
		if (jint(v, "object_id") == r->id)
			json_object_set(o, "request", v);
	json_decref(list);
	return api_json(r, 200, o);
}

static enum MHD_Result api_list(struct creq *r, int (*fn)(struct fw_store *, json_t **, struct fw_err *))
{
	json_t *list = NULL;
	struct fw_err err;

	fw_err_clear(&err);
	if (fn(r->c->d.store, &list, &err) != 0)
		return api_store_err(r, &err);
	return api_json(r, 200, list);
}

static enum MHD_Result api_sandbox_job(struct creq *r)
{
	json_t *job = NULL;
	struct fw_err err;
	int rc;

	fw_err_clear(&err);
	rc = fw_store_sandbox_show(r->c->d.store, r->id, &job, &err);
	if (rc == 1)
		return page_error(r, 404, "no sandbox job %lld", (long long)r->id);
	if (rc != 0)
		return api_store_err(r, &err);
	return api_json(r, 200, job);
}

/* An optional id argument: absent is 0; anything but digits is refused. */
static bool api_id_arg(const char *s, int64_t *out)
{
	char *end;
	long long v;

	*out = 0;
	if (s == NULL || s[0] == '\0')
		return true;
	if (s[0] < '0' || s[0] > '9')
		return false;
	v = strtoll(s, &end, 10);
	if (*end != '\0' || v < 0)
		return false;
	*out = v;
	return true;
}

static enum MHD_Result api_audit(struct creq *r)
{
	const char *before = console_arg(r, "before"), *object = console_arg(r, "object");
	int64_t before_id = 0, object_id = 0, first_bad = 0;
	struct fw_err err, verr;
	json_t *rows = NULL;
	int chain;

	fw_err_clear(&err);
	fw_err_clear(&verr);
	if (!api_id_arg(before, &before_id) || !api_id_arg(object, &object_id))
		return page_error(r, 400, "before and object are ids");
	if (fw_store_audit_page(r->c->d.store, before_id, CONSOLE_PAGE_ROWS, object_id, &rows, &err) != 0)
		return api_store_err(r, &err);
	chain = fw_store_audit_verify(r->c->d.store, &first_bad, &verr);
	return api_json(r, 200, json_pack("{s:{s:s, s:I, s:s}, s:o}", "chain", "status",
					  chain == 0 ? "verified" : chain == 1 ? "broken" : "unchecked", "first_bad",
					  (json_int_t)first_bad, "error", chain == 0 ? "" : fw_err_msg(&verr), "rows", rows));
}

static enum MHD_Result api_events(struct creq *r)
{
	struct ev_query q = { .text = console_arg(r, "q"), .action = console_arg(r, "action"),
			      .day = console_arg(r, "day"), .limit = 200 };
	json_t *rows = NULL;
	struct fw_err err;
	bool truncated = false;

	fw_err_clear(&err);
	if ((q.text != NULL && strlen(q.text) > 256) || (q.action != NULL && strlen(q.action) > 64) ||
	    (q.day != NULL && strlen(q.day) > 10))
		return page_error(r, 400, "the search terms are too long");
	if (events_search(r->c->d.log_path, &q, &rows, &truncated, &err) != 0)
		return api_store_err(r, &err);
	return api_json(r, 200, json_pack("{s:b, s:o}", "truncated", truncated, "events", rows));
}

static enum MHD_Result api_act(struct creq *r, const char *action)
{
	const json_t *reason = json_object_get(r->json, "reason"), *ov = json_object_get(r->json, "override_infected");
	char msg[FW_ERR_MSG_MAX + 128];
	unsigned status;

	if (r->json == NULL && (strcmp(action, "release") == 0 || strcmp(action, "reject") == 0))
		return page_error(r, 400, "the body is a JSON object: {\"reason\": \"...\"}");
	if ((reason != NULL && !json_is_string(reason)) || (ov != NULL && !json_is_boolean(ov)))
		return page_error(r, 400, "reason is a string, override_infected a boolean");
	if (strcmp(action, "retry") == 0)
		status = sandbox_retry_act(r, msg, sizeof(msg));
	else
		status = review_act(r, action, json_string_value(reason), json_is_true(ov), msg, sizeof(msg));
	if (status != 200)
		return page_error(r, status, "%s", msg);
	return api_json(r, 200, json_pack("{s:s}", "result", msg));
}

/* "/objects/12" or "/objects/12/release" under prefix: r->id, *tail. */
static bool api_id(struct creq *r, const char *rest, const char *prefix, const char **tail)
{
	size_t n = strlen(prefix);
	char *end;
	long long v;

	if (strncmp(rest, prefix, n) != 0 || rest[n] < '1' || rest[n] > '9')
		return false;
	v = strtoll(rest + n, &end, 10);
	if (v <= 0 || (*end != '\0' && *end != '/'))
		return false;
	r->id = v;
	*tail = end;
	return true;
}

static enum MHD_Result api_get(struct creq *r, const char *rest)
{
	const char *tail;

	if (strcmp(rest, "/dashboard") == 0)
		return api_dashboard(r);
	if (strcmp(rest, "/quarantine") == 0)
		return api_quarantine(r);
	if (strcmp(rest, "/requests") == 0)
		return api_list(r, fw_store_review_pending);
	if (strcmp(rest, "/sandbox") == 0)
		return api_list(r, fw_store_sandbox_list);
	if (strcmp(rest, "/audit") == 0)
		return api_audit(r);
	if (strcmp(rest, "/events") == 0)
		return api_events(r);
	if (strcmp(rest, "/ca") == 0)
		return api_json(r, 200, json_pack("{s:s, s:s}", "pem", r->c->ca_pem, "sha256_fingerprint", r->c->ca_fp));
	if (strcmp(rest, "/whoami") == 0)
		return api_json(r, 200, json_pack("{s:s, s:s}", "name", r->who, "role", fw_role_name(r->role)));
	if (api_id(r, rest, "/objects/", &tail) && tail[0] == '\0')
		return api_object(r);
	if (api_id(r, rest, "/sandbox/", &tail) && tail[0] == '\0')
		return api_sandbox_job(r);
	return page_error(r, 404, "no such API path");
}

enum MHD_Result api_dispatch(struct creq *r, const char *rest)
{
	const char *tail;

	if (r->auth != AUTH_TOKEN)
		return page_error(r, 401, "an API token is needed: Authorization: Bearer fwg_... (fwgate token add)");
	if (!r->post)
		return api_get(r, rest);
	if (api_id(r, rest, "/objects/", &tail) &&
	    (strcmp(tail, "/release") == 0 || strcmp(tail, "/reject") == 0 || strcmp(tail, "/cancel") == 0))
		return api_act(r, tail + 1);
	if (api_id(r, rest, "/sandbox/", &tail) && strcmp(tail, "/retry") == 0)
		return api_act(r, "retry");
	return page_error(r, 404, "no such API action");
}
