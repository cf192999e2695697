/* What fwgate reads of a BMC's Redfish answers, as pure functions over
 * bytes: the origin rule for every URL the BMC hands back, the service
 * root, the UpdateService and its SimpleUpdate action, Tasks and error
 * answers (DSP0266; UpdateService and Task schemas). Every field is
 * checked for its type; nothing here does I/O. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "fwgate/redfish.h"

/* Redfish resources are shallow; a deeper document is not one. */
#define PARSE_FLAGS (JSON_REJECT_DUPLICATES)

static const char *const task_states[] = {
	[FW_TASK_NEW] = "New", [FW_TASK_STARTING] = "Starting", [FW_TASK_RUNNING] = "Running",
	[FW_TASK_SUSPENDED] = "Suspended", [FW_TASK_INTERRUPTED] = "Interrupted", [FW_TASK_PENDING] = "Pending",
	[FW_TASK_STOPPING] = "Stopping", [FW_TASK_COMPLETED] = "Completed", [FW_TASK_KILLED] = "Killed",
	[FW_TASK_EXCEPTION] = "Exception", [FW_TASK_SERVICE] = "Service", [FW_TASK_CANCELLING] = "Cancelling",
	[FW_TASK_CANCELLED] = "Cancelled",
};

int fw_redfish_task_state_parse(const char *name, enum fw_redfish_task_state *s)
{
	for (size_t i = 0; i < FW_ARRAY_LEN(task_states); i++) {
		if (strcmp(name, task_states[i]) == 0) {
			*s = (enum fw_redfish_task_state)i;
			return 0;
		}
	}
	return -1;
}

const char *fw_redfish_task_state_name(enum fw_redfish_task_state s)
{
	return (size_t)s < FW_ARRAY_LEN(task_states) ? task_states[s] : "?";
}

bool fw_redfish_task_state_final(enum fw_redfish_task_state s)
{
	return s == FW_TASK_COMPLETED || s == FW_TASK_KILLED || s == FW_TASK_EXCEPTION || s == FW_TASK_CANCELLED;
}

/* src as printable text into out: controls become '?', a cut never splits
 * a UTF-8 sequence (jansson has checked the encoding). */
static void parse_printable(const char *src, char *out, size_t out_len)
{
	size_t n = 0;

	if (out_len == 0)
		return;
	for (; src[n] != '\0' && n + 1 < out_len; n++) {
		unsigned char c = (unsigned char)src[n];

		out[n] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	if (src[n] != '\0')
		while (n > 0 && ((unsigned char)src[n] & 0xc0) == 0x80)
			n--;
	out[n] = '\0';
}

/* The origin of an https URL parsed by libcurl: host (lower case) and port. */
static int parse_url_origin(CURLU *u, const char *what, struct fw_redfish_origin *o, struct fw_err *err)
{
	char *scheme = NULL, *host = NULL, *port = NULL, *user = NULL, *frag = NULL;
	int rc = -1;
	size_t n;

	if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK || strcmp(scheme, "https") != 0) {
		fw_err_setc(err, FW_E_INVALID, "%s is not an https URL", what);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK) {
		fw_err_setc(err, FW_E_INVALID, "%s carries a user name", what);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_FRAGMENT, &frag, 0) == CURLUE_OK) {
		fw_err_setc(err, FW_E_INVALID, "%s has a fragment", what);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
		fw_err_setc(err, FW_E_INVALID, "%s has no host", what);
		goto out;
	}
	n = strlen(host);
	if (n == 0 || n >= sizeof(o->host)) {
		fw_err_setc(err, FW_E_INVALID, "%s has a host name of %zu bytes", what, n);
		goto out;
	}
	for (size_t i = 0; i <= n; i++)
		o->host[i] = (char)tolower((unsigned char)host[i]);
	o->port = 0;
	for (const char *c = port; *c != '\0' && o->port <= 65535; c++)
		o->port = o->port * 10 + (unsigned)(*c - '0');
	if (o->port == 0 || o->port > 65535) {
		fw_err_setc(err, FW_E_INVALID, "%s has a bad port", what);
		goto out;
	}
	rc = 0;
out:
	curl_free(frag);
	curl_free(user);
	curl_free(port);
	curl_free(host);
	curl_free(scheme);
	return rc;
}

int fw_redfish_origin_parse(const char *url, struct fw_redfish_origin *o, struct fw_err *err)
{
	CURLU *u = curl_url();
	char *path = NULL, *query = NULL;
	int rc = -1;

	memset(o, 0, sizeof(*o));
	if (u == NULL)
		return fw_err_setc(err, FW_E_NOMEM, "out of memory");
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK) {
		fw_err_setc(err, FW_E_INVALID, "\"%.200s\" is not a URL", url);
		goto out;
	}
	if (parse_url_origin(u, "the BMC URL", o, err) != 0)
		goto out;
	if (curl_url_get(u, CURLUPART_QUERY, &query, 0) == CURLUE_OK) {
		fw_err_setc(err, FW_E_INVALID, "the BMC URL has a query");
		goto out;
	}
	if (curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK ||
	    (strcmp(path, "/") != 0 && strcmp(path, "/redfish/v1") != 0 && strcmp(path, "/redfish/v1/") != 0)) {
		fw_err_setc(err, FW_E_INVALID, "the BMC URL names a path (give https://HOST[:PORT])");
		goto out;
	}
	rc = 0;
out:
	if (rc != 0)
		memset(o, 0, sizeof(*o));
	curl_free(query);
	curl_free(path);
	curl_url_cleanup(u);
	return rc;
}

/* True when position i of ref ends a path segment. */
static bool parse_segment_end(const char *ref, size_t len, size_t i)
{
	return i >= len || ref[i] == '/' || ref[i] == '?' || ref[i] == '#';
}

/* The spelling checks of a reference before any parser reads it: the
 * tricks that make two parsers disagree on where a URL leads (controls,
 * backslashes, dot segments, encoded dots and slashes). */
static int parse_ref_spelling(const char *ref, size_t len, struct fw_err *err)
{
	if (len == 0)
		return fw_err_setc(err, FW_E_INVALID, "the BMC gave an empty URL");
	if (len >= FW_REDFISH_URL_MAX)
		return fw_err_setc(err, FW_E_INVALID, "the BMC gave a URL of %zu bytes", len);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)ref[i];

		if (c <= 0x20 || c >= 0x7f || c == '\\')
			return fw_err_setc(err, FW_E_INVALID, "the BMC gave a URL with a control, space or backslash");
		if (c == '%' && i + 2 < len && (ref[i + 1] == '2') && strchr("eEfF", ref[i + 2]) != NULL)
			return fw_err_setc(err, FW_E_INVALID, "the BMC gave a URL with an encoded dot or slash");
		if (c == '/' && i + 1 < len && ref[i + 1] == '.' &&
		    (parse_segment_end(ref, len, i + 2) ||
		     (ref[i + 2] == '.' && parse_segment_end(ref, len, i + 3))))
			return fw_err_setc(err, FW_E_INVALID, "the BMC gave a URL with a dot segment");
	}
	return 0;
}

int fw_redfish_resolve(const struct fw_redfish_origin *o, const char *ref, size_t ref_len, char *out, size_t out_len,
		       struct fw_err *err)
{
	char abs[FW_REDFISH_URL_MAX + 300], show[120];
	struct fw_redfish_origin got;
	CURLU *u = NULL;
	char *path = NULL, *query = NULL;
	int rc = -1;

	if (out_len > 0)
		out[0] = '\0';
	parse_printable(ref, show, sizeof(show));
	if (memchr(ref, '\0', ref_len) != NULL || parse_ref_spelling(ref, ref_len, err) != 0)
		return fw_err_prefix(err, "\"%.100s\"", show);
	if (ref[0] == '/' && (ref_len < 2 || ref[1] != '/')) {
		if (snprintf(abs, sizeof(abs), "https://%s:%u%.*s", o->host, o->port, (int)ref_len, ref) >= (int)sizeof(abs))
			return fw_err_setc(err, FW_E_INVALID, "\"%.100s\": too long", show);
	} else if (ref_len > 8 && strncasecmp(ref, "https://", 8) == 0) {
		snprintf(abs, sizeof(abs), "%.*s", (int)ref_len, ref);
	} else {
		return fw_err_setc(err, FW_E_INVALID, "\"%.100s\" is neither a path nor an https URL of the BMC", show);
	}
	u = curl_url();
	if (u == NULL)
		return fw_err_setc(err, FW_E_NOMEM, "out of memory");
	if (curl_url_set(u, CURLUPART_URL, abs, 0) != CURLUE_OK) {
		fw_err_setc(err, FW_E_INVALID, "\"%.100s\" is not a URL", show);
		goto out;
	}
	if (parse_url_origin(u, "a URL of the BMC's", &got, err) != 0) {
		fw_err_prefix(err, "\"%.100s\"", show);
		goto out;
	}
	/* The BMC must not send fwgate, with the BMC's credentials, anywhere
	 * else than itself. */
	if (strcmp(got.host, o->host) != 0 || got.port != o->port) {
		fw_err_setc(err, FW_E_INVALID, "\"%.100s\" points to another origin than the BMC's (%s:%u); not followed",
			    show, o->host, o->port);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK ||
	    (strcmp(path, "/redfish/v1") != 0 && strncmp(path, "/redfish/v1/", 12) != 0)) {
		fw_err_setc(err, FW_E_INVALID, "\"%.100s\" is outside the BMC's /redfish/v1; not followed", show);
		goto out;
	}
	/* Rebuilt from the checked parts: the BMC's origin as fwgate spells it. */
	if (curl_url_get(u, CURLUPART_QUERY, &query, 0) != CURLUE_OK)
		query = NULL;
	if (snprintf(out, out_len, "https://%s:%u%s%s%s", o->host, o->port, path, query ? "?" : "", query ? query : "") >=
	    (int)out_len) {
		out[0] = '\0';
		fw_err_setc(err, FW_E_INVALID, "\"%.100s\": too long", show);
		goto out;
	}
	rc = 0;
out:
	curl_free(query);
	curl_free(path);
	curl_url_cleanup(u);
	return rc;
}

/* The document as a JSON object, or an error naming what. */
static json_t *parse_object(const uint8_t *p, size_t len, const char *what, struct fw_err *err)
{
	json_error_t je;
	json_t *doc;

	if (len > FW_REDFISH_BODY_MAX) {
		fw_err_setc(err, FW_E_LIMIT, "%s: over %u bytes", what, FW_REDFISH_BODY_MAX);
		return NULL;
	}
	doc = json_loadb((const char *)p, len, PARSE_FLAGS, &je);
	if (doc == NULL) {
		fw_err_setc(err, FW_E_INVALID, "%s is not JSON: %.200s (line %d)", what, je.text, je.line);
		return NULL;
	}
	if (!json_is_object(doc)) {
		json_decref(doc);
		fw_err_setc(err, FW_E_INVALID, "%s is not a JSON object", what);
		return NULL;
	}
	return doc;
}

/* The string member key of o into out: 1 when there, 0 when absent (out
 * ""), -1 when of another type or too long. */
static int parse_str(json_t *o, const char *key, const char *what, char *out, size_t out_len, struct fw_err *err)
{
	json_t *v = json_object_get(o, key);

	out[0] = '\0';
	if (v == NULL)
		return 0;
	if (!json_is_string(v))
		return fw_err_setc(err, FW_E_INVALID, "%s: %s is not a string", what, key);
	if (json_string_length(v) >= out_len)
		return fw_err_setc(err, FW_E_INVALID, "%s: %s is longer than %zu bytes", what, key, out_len - 1);
	if (strlen(json_string_value(v)) != json_string_length(v))
		return fw_err_setc(err, FW_E_INVALID, "%s: %s holds a NUL", what, key);
	memcpy(out, json_string_value(v), json_string_length(v) + 1);
	return 1;
}

int fw_redfish_parse_root(const uint8_t *p, size_t len, char *out, size_t out_len, struct fw_err *err)
{
	json_t *doc = parse_object(p, len, "the service root", err), *us;
	int rc = -1;

	if (out_len > 0)
		out[0] = '\0';
	if (doc == NULL)
		return -1;
	us = json_object_get(doc, "UpdateService");
	if (us == NULL)
		fw_err_setc(err, FW_E_DENIED, "the BMC's service root has no UpdateService");
	else if (!json_is_object(us))
		fw_err_setc(err, FW_E_INVALID, "the service root: UpdateService is not an object");
	else if (parse_str(us, "@odata.id", "the service root's UpdateService", out, out_len, err) == 1)
		rc = 0;
	else if (!fw_err_isset(err))
		fw_err_setc(err, FW_E_INVALID, "the service root: UpdateService has no @odata.id");
	json_decref(doc);
	return rc;
}

/* TransferProtocol@Redfish.AllowableValues of the action, when there. */
static int parse_protocols(json_t *action, struct fw_redfish_update_service *us, struct fw_err *err)
{
	json_t *vals = json_object_get(action, "TransferProtocol@Redfish.AllowableValues"), *v;
	size_t i;

	us->https_allowed = us->http_allowed = true;
	if (vals == NULL)
		return 0;
	if (!json_is_array(vals))
		return fw_err_setc(err, FW_E_INVALID, "the UpdateService: TransferProtocol@Redfish.AllowableValues is not an array");
	us->protocols_listed = true;
	us->https_allowed = us->http_allowed = false;
	json_array_foreach(vals, i, v) {
		if (!json_is_string(v))
			return fw_err_setc(err, FW_E_INVALID, "the UpdateService: TransferProtocol@Redfish.AllowableValues[%zu] is not a string", i);
		if (strcmp(json_string_value(v), "HTTPS") == 0)
			us->https_allowed = true;
		else if (strcmp(json_string_value(v), "HTTP") == 0)
			us->http_allowed = true;
	}
	return 0;
}

int fw_redfish_parse_update_service(const uint8_t *p, size_t len, struct fw_redfish_update_service *us,
				    struct fw_err *err)
{
	json_t *doc = parse_object(p, len, "the UpdateService", err), *en, *actions, *su;
	int rc = -1;

	memset(us, 0, sizeof(*us));
	if (doc == NULL)
		return -1;
	en = json_object_get(doc, "ServiceEnabled");
	actions = json_object_get(doc, "Actions");
	su = json_is_object(actions) ? json_object_get(actions, "#UpdateService.SimpleUpdate") : NULL;
	if (en != NULL && !json_is_boolean(en))
		fw_err_setc(err, FW_E_INVALID, "the UpdateService: ServiceEnabled is not a boolean");
	else if (json_is_false(en))
		fw_err_setc(err, FW_E_DENIED, "the BMC's UpdateService is disabled (ServiceEnabled false)");
	else if (actions != NULL && !json_is_object(actions))
		fw_err_setc(err, FW_E_INVALID, "the UpdateService: Actions is not an object");
	else if (su == NULL)
		fw_err_setc(err, FW_E_DENIED, "the BMC's UpdateService offers no #UpdateService.SimpleUpdate action");
	else if (!json_is_object(su))
		fw_err_setc(err, FW_E_INVALID, "the UpdateService: #UpdateService.SimpleUpdate is not an object");
	else if (parse_str(su, "target", "the SimpleUpdate action", us->target, sizeof(us->target), err) != 1)
		fw_err_setc(err, FW_E_INVALID, "the UpdateService: SimpleUpdate has no target");
	else if (parse_protocols(su, us, err) == 0)
		rc = 0;
	json_decref(doc);
	if (rc != 0)
		memset(us, 0, sizeof(*us));
	return rc;
}

/* One entry of Messages: its Message, else its MessageId. */
static int parse_message(json_t *m, size_t i, char *out, size_t out_len, struct fw_err *err)
{
	json_t *text;

	if (!json_is_object(m))
		return fw_err_setc(err, FW_E_INVALID, "the Task: Messages[%zu] is not an object", i);
	text = json_object_get(m, "Message");
	if (text == NULL)
		text = json_object_get(m, "MessageId");
	if (text != NULL && !json_is_string(text))
		return fw_err_setc(err, FW_E_INVALID, "the Task: Messages[%zu] has a Message that is not a string", i);
	parse_printable(text != NULL ? json_string_value(text) : "", out, out_len);
	return 0;
}

static int parse_task_fields(json_t *doc, struct fw_redfish_task *t, struct fw_err *err)
{
	json_t *pc = json_object_get(doc, "PercentComplete"), *msgs = json_object_get(doc, "Messages"), *m;
	char state[32];
	size_t i, first;

	if (parse_str(doc, "Id", "the Task", t->id, sizeof(t->id), err) < 0 ||
	    parse_str(doc, "@odata.id", "the Task", t->odata_id, sizeof(t->odata_id), err) < 0 ||
	    parse_str(doc, "TaskStatus", "the Task", t->status, sizeof(t->status), err) < 0)
		return -1;
	if (parse_str(doc, "TaskState", "the Task", state, sizeof(state), err) != 1)
		return fw_err_setc(err, FW_E_INVALID, "the Task has no TaskState");
	if (fw_redfish_task_state_parse(state, &t->state) != 0)
		return fw_err_setc(err, FW_E_INVALID, "the Task: \"%.31s\" is not a TaskState", state);
	if (t->status[0] != '\0' && strcmp(t->status, "OK") != 0 && strcmp(t->status, "Warning") != 0 &&
	    strcmp(t->status, "Critical") != 0)
		return fw_err_setc(err, FW_E_INVALID, "the Task: \"%.15s\" is not a TaskStatus", t->status);
	t->percent = -1;
	if (pc != NULL && !json_is_null(pc)) {
		if (!json_is_integer(pc) || json_integer_value(pc) < 0 || json_integer_value(pc) > 100)
			return fw_err_setc(err, FW_E_INVALID, "the Task: PercentComplete is not an integer from 0 to 100");
		t->percent = (int)json_integer_value(pc);
	}
	if (msgs == NULL)
		return 0;
	if (!json_is_array(msgs))
		return fw_err_setc(err, FW_E_INVALID, "the Task: Messages is not an array");
	t->total_messages = json_array_size(msgs);
	first = t->total_messages > FW_REDFISH_MESSAGES_MAX ? t->total_messages - FW_REDFISH_MESSAGES_MAX : 0;
	json_array_foreach(msgs, i, m) {
		char ignored[8];

		if (i < first) {
			if (parse_message(m, i, ignored, sizeof(ignored), err) != 0)
				return -1;
			continue;
		}
		if (parse_message(m, i, t->messages[t->n_messages], FW_REDFISH_MESSAGE_MAX, err) != 0)
			return -1;
		t->n_messages++;
	}
	return 0;
}

int fw_redfish_parse_task(const uint8_t *p, size_t len, struct fw_redfish_task *t, struct fw_err *err)
{
	json_t *doc = parse_object(p, len, "the Task", err);
	int rc;

	memset(t, 0, sizeof(*t));
	t->percent = -1;
	if (doc == NULL)
		return -1;
	rc = parse_task_fields(doc, t, err);
	json_decref(doc);
	if (rc != 0) {
		memset(t, 0, sizeof(*t));
		t->percent = -1;
	}
	return rc;
}

bool fw_redfish_is_task(const uint8_t *p, size_t len)
{
	json_t *doc;
	bool is;

	if (len == 0 || len > FW_REDFISH_BODY_MAX)
		return false;
	doc = json_loadb((const char *)p, len, PARSE_FLAGS, NULL);
	is = json_is_object(doc) && json_object_get(doc, "TaskState") != NULL;
	json_decref(doc);
	return is;
}

void fw_redfish_error_text(const uint8_t *p, size_t len, char *out, size_t out_len)
{
	json_t *doc, *e, *msg, *ext, *first;
	const char *a = "", *b = "";
	char joined[2 * FW_REDFISH_MESSAGE_MAX];

	if (out_len == 0)
		return;
	out[0] = '\0';
	if (p == NULL || len == 0 || len > FW_REDFISH_BODY_MAX)
		return;
	doc = json_loadb((const char *)p, len, PARSE_FLAGS, NULL);
	e = json_is_object(doc) ? json_object_get(doc, "error") : NULL;
	msg = json_is_object(e) ? json_object_get(e, "message") : NULL;
	ext = json_is_object(e) ? json_object_get(e, "@Message.ExtendedInfo") : NULL;
	first = json_is_array(ext) ? json_array_get(ext, 0) : NULL;
	first = json_is_object(first) ? json_object_get(first, "Message") : NULL;
	if (json_is_string(msg))
		a = json_string_value(msg);
	if (json_is_string(first) && strcmp(json_string_value(first), a) != 0)
		b = json_string_value(first);
	snprintf(joined, sizeof(joined), "%.*s%s%.*s", FW_REDFISH_MESSAGE_MAX - 1, a, a[0] && b[0] ? ": " : "",
		 FW_REDFISH_MESSAGE_MAX - 1, b);
	parse_printable(joined, out, out_len);
	json_decref(doc);
}
