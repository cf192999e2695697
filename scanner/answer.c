/* Answers of scanner jobs: bound to their job (id and a random nonce),
 * checked by the supervisor before they go on (the worker that wrote
 * them may be compromised), bounded in size so that the process holding
 * the CA key parses only a small document the supervisor serialized.
 * Must not judge: a verdict document is passed on as the worker judged
 * (only one too large to pass on becomes unscannable, with the reason). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "scanner/scan_int.h"

/* Room kept for the fields the trimming adds and the answer header. */
#define TRIM_SLACK 4096

bool scan_answer_matches(const struct scan_job_hdr *job, const void *payload, size_t len)
{
	struct scan_answer_hdr a;

	if (payload == NULL || len < sizeof(a))
		return false;
	memcpy(&a, payload, sizeof(a));
	return a.job_id == job->job_id && CRYPTO_memcmp(a.nonce, job->nonce, sizeof(a.nonce)) == 0;
}

int scan_answer_encode(const struct scan_job_hdr *job, const json_t *doc, size_t max, char **out, size_t *len,
		       struct fw_err *err)
{
	struct scan_answer_hdr a = { .job_id = job->job_id };
	char *text, *buf;
	size_t n;

	*out = NULL;
	*len = 0;
	memcpy(a.nonce, job->nonce, sizeof(a.nonce));
	text = json_dumps(doc, JSON_COMPACT);
	if (text == NULL)
		return fw_err_set(err, "the answer cannot be serialized");
	n = strlen(text);
	if (n + sizeof(a) > max) {
		free(text);
		return fw_err_set(err, "the answer is %zu bytes, over the limit of %zu", n, max - sizeof(a));
	}
	buf = malloc(sizeof(a) + n);
	if (buf == NULL) {
		free(text);
		return fw_err_set(err, "out of memory");
	}
	memcpy(buf, &a, sizeof(a));
	memcpy(buf + sizeof(a), text, n);
	free(text);
	*out = buf;
	*len = sizeof(a) + n;
	return 0;
}

static size_t dumped_size(const json_t *v)
{
	char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	size_t n = text != NULL ? strlen(text) : 0;

	free(text);
	return n;
}

/* Cuts the member listing from its end until the document fits in max
 * bytes; the listing says it was cut. Returns 0, or -1 when even without
 * any member listed the document is too large. */
static int trim_members(json_t *doc, size_t max, struct fw_err *err)
{
	json_t *members = json_object_get(doc, "members");
	size_t n = dumped_size(doc), k = json_array_size(members);

	if (n + TRIM_SLACK <= max)
		return 0;
	while (k > 0 && n + TRIM_SLACK > max) {
		n -= dumped_size(json_array_get(members, k - 1)) + 1;
		json_array_remove(members, --k);
	}
	json_object_set_new(doc, "members_listed", json_integer((json_int_t)k));
	json_object_set_new(doc, "members_cut", json_true());
	if (dumped_size(doc) + sizeof(struct scan_answer_hdr) > max)
		return fw_err_set(err, "the verdict document is over %zu bytes even without its member listing", max);
	return 0;
}

static bool valid_package_doc(const json_t *doc)
{
	const char *v = json_string_value(json_object_get(doc, "verdict"));
	const json_t *sandbox = json_object_get(doc, "sandbox");
	enum fw_verdict known;

	return v != NULL && fw_verdict_parse(v, &known) == 0 && json_is_array(json_object_get(doc, "reasons")) &&
	       json_is_array(json_object_get(doc, "signatures")) && json_is_array(json_object_get(doc, "members")) &&
	       (sandbox == NULL || json_is_array(sandbox));
}

static bool valid_analysis_doc(const json_t *doc)
{
	const json_t *a = json_object_get(doc, "analysis");

	if (json_is_string(json_object_get(doc, "error")))
		return true;
	return json_is_object(a) && json_is_integer(json_object_get(a, "score")) &&
	       json_is_array(json_object_get(a, "findings"));
}

static bool bounded_string(const json_t *v, size_t max)
{
	return json_is_string(v) && json_string_length(v) <= max;
}

/* The summary scan_cape_summary writes, and nothing more. */
static bool valid_report_doc(const json_t *doc)
{
	const json_t *r = json_object_get(doc, "report"), *ms, *sig;
	size_t i;

	if (bounded_string(json_object_get(doc, "error"), FW_ERR_MSG_MAX))
		return true;
	ms = json_object_get(r, "malscore");
	if (!json_is_object(r) || !json_is_boolean(json_object_get(r, "error")) ||
	    (ms != NULL && !json_is_number(ms)) || !bounded_string(json_object_get(r, "malstatus"), 60) ||
	    (json_object_get(r, "error_value") != NULL && !bounded_string(json_object_get(r, "error_value"), 300)) ||
	    !json_is_array(json_object_get(r, "signatures")) ||
	    json_array_size(json_object_get(r, "signatures")) > SCAN_CAPE_SIGNATURES)
		return false;
	json_array_foreach(json_object_get(r, "signatures"), i, sig) {
		if (!bounded_string(json_object_get(sig, "name"), 128) ||
		    !bounded_string(json_object_get(sig, "description"), 256) ||
		    !json_is_integer(json_object_get(sig, "severity")))
			return false;
	}
	return true;
}

json_t *scan_answer_check(const struct scan_job_hdr *job, const char *json, size_t len, struct fw_err *err)
{
	json_error_t je;
	json_t *doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
	bool valid;

	if (doc == NULL) {
		fw_err_set(err, "not JSON (%.200s)", je.text);
		return NULL;
	}
	if (job->flags & SCAN_JOB_ANALYZE)
		valid = valid_analysis_doc(doc);
	else if (job->flags & SCAN_JOB_CAPE_REPORT)
		valid = valid_report_doc(doc);
	else
		valid = valid_package_doc(doc);
	if (!json_is_object(doc) || !valid) {
		json_decref(doc);
		fw_err_set(err, "the document does not validate");
		return NULL;
	}
	if (!(job->flags & SCAN_JOB_KINDS)) {
		struct fw_err why;

		fw_err_clear(&why);
		if (trim_members(doc, SCAN_RESULT_MAX, &why) != 0) {
			/* Not garbage, but too large to pass on: the package is
			 * unscannable, and the answer says why. */
			char path[256];
			const char *p = json_string_value(json_object_get(doc, "path"));

			snprintf(path, sizeof(path), "%s", p != NULL ? p : "?");
			json_decref(doc);
			return scan_doc_failed(path, fw_err_msg(&why));
		}
	} else if (dumped_size(doc) + sizeof(struct scan_answer_hdr) > SCAN_RESULT_MAX) {
		json_decref(doc);
		fw_err_set(err, "the answer is over %u bytes", SCAN_RESULT_MAX);
		return NULL;
	}
	return doc;
}
