/* The `cape` sandbox backend: a CAPEv2 service through its REST API
 * (apiv2) with libcurl. Submit the sample (tasks/create/file/), poll the
 * task (tasks/view/ID/) with back-off, fetch the report
 * (tasks/get/report/ID/), keep its summary. Every answer is bounded and
 * validated; any doubt is an error, which the queue retries and at last
 * fails closed. A report (tens of megabytes) is never parsed in this
 * process, which holds the CA key: it is streamed into an unnamed memory
 * file and summarized by a scanner worker. The service is an internal
 * one: no proxy, no redirects. A leaf: it calls the store (task ids) and
 * the scanner (report summaries) through its environment, never the queue. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "fwgate/fileio.h"
#include "sandbox/sandbox_int.h"

#define ANSWER_MAX (64u * 1024)              /* create and view answers */
#define REPORT_MAX FW_CAPE_REPORT_MAX        /* a full CAPE report can be large */
#define REQUEST_TIMEOUT_S 60L
#define UPLOAD_TIMEOUT_S 600L
#define CONNECT_TIMEOUT_S 10L
#define POLL_FIRST_MS 250
#define POLL_MAX_MS 5000
#define SIGNATURES_KEPT 32

int cape_client_init(struct cape_client *c, const struct fw_config *cfg, struct fw_err *err)
{
	const char *url = cfg->sandbox.url;
	uint8_t *tok = NULL;
	size_t len = 0;

	if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
		return fw_err_set(err, "[sandbox] url must be an http:// or https:// URL of the CAPEv2 service, "
				  "not \"%.200s\"", url);
	if (cfg->sandbox.token_file[0] != '\0') {
		if (fw_file_read(cfg->sandbox.token_file, 4096, &tok, &len, err) != 0)
			return -1;
		while (len > 0 && (tok[len - 1] == '\n' || tok[len - 1] == '\r' || tok[len - 1] == ' ' ||
				   tok[len - 1] == '\t'))
			len--;
		for (size_t i = 0; i < len; i++)
			if (tok[i] < 0x21 || tok[i] > 0x7e) {
				free(tok);
				return fw_err_set(err, "%s: the CAPE token must be one line of printable characters",
						  cfg->sandbox.token_file);
			}
		if (len == 0 || len >= sizeof(c->token)) {
			free(tok);
			return fw_err_set(err, "%s: the CAPE token must be 1 to %zu characters", cfg->sandbox.token_file,
					  sizeof(((struct cape_client *)NULL)->token) - 1);
		}
	}
	if (c != NULL) {
		memset(c, 0, sizeof(*c));
		snprintf(c->base, sizeof(c->base), "%.*s", (int)(strlen(url) - (url[strlen(url) - 1] == '/')), url);
		if (tok != NULL)
			memcpy(c->token, tok, len);
		c->timeout_seconds = cfg->sandbox.timeout_seconds;
		c->ready = true;
	}
	free(tok);
	return 0;
}

void cape_client_free(struct cape_client *c)
{
	if (c != NULL)
		memset(c->token, 0, sizeof(c->token));
}

/* ------------------------------------------------------------ requests */

/* An answer in memory (buf) or, for a report, in a memory file (fd). */
struct answer {
	char *buf;
	int fd;                     /* -1: into buf */
	size_t len, max;
	bool over;
};

static size_t answer_cb(char *p, size_t size, size_t n, void *arg)
{
	struct answer *a = arg;
	size_t got = size * n;
	char *nb;

	if (a->len + got > a->max) {
		a->over = true;
		return 0;
	}
	if (a->fd >= 0) {
		for (size_t off = 0; off < got;) {
			ssize_t w = write(a->fd, p + off, got - off);

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				return 0;
			off += (size_t)w;
		}
		a->len += got;
		return got;
	}
	nb = realloc(a->buf, a->len + got + 1);
	if (nb == NULL)
		return 0;
	a->buf = nb;
	memcpy(a->buf + a->len, p, got);
	a->len += got;
	a->buf[a->len] = '\0';
	return got;
}

struct upload {
	int fd;
	uint64_t size, off;
};

static size_t upload_cb(char *buf, size_t size, size_t n, void *arg)
{
	struct upload *u = arg;
	size_t want = size * n;
	ssize_t got;

	if (u->off >= u->size)
		return 0;
	if (want > u->size - u->off)
		want = (size_t)(u->size - u->off);
	do
		got = pread(u->fd, buf, want, (off_t)u->off);
	while (got < 0 && errno == EINTR);
	if (got <= 0)
		return CURL_READFUNC_ABORT;
	u->off += (uint64_t)got;
	return (size_t)got;
}

static int abort_cb(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	(void)a;
	(void)b;
	(void)c;
	(void)d;
	return sandbox_env_stopping(arg) ? 1 : 0;
}

/* One request to path under the base URL; the answer parsed as JSON into
 * *out (a small answer), or with report_fd >= 0 written there (a report,
 * summarized by a scanner worker, never parsed here). With up set, a
 * multipart upload of the sample as field "file". */
static int request(struct cape_client *c, const struct sandbox_env *env, const char *path, struct upload *up,
		   const char *name, size_t max, int report_fd, json_t **out, struct fw_err *err)
{
	char url[FW_URL_MAX + 128], auth[600], cerr[CURL_ERROR_SIZE] = "";
	struct answer a = { .max = max, .fd = report_fd };
	struct curl_slist *hdrs = NULL;
	curl_mime *mime = NULL;
	CURL *h = curl_easy_init();
	json_error_t je;
	long status = 0;
	CURLcode r;
	int rc = -1;

	if (out != NULL)
		*out = NULL;
	if (h == NULL)
		return fw_err_set(err, "out of memory");
	snprintf(url, sizeof(url), "%s/apiv2/%s", c->base, path);
	if (c->token[0] != '\0') {
		snprintf(auth, sizeof(auth), "Authorization: Token %s", c->token);
		hdrs = curl_slist_append(hdrs, auth);
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_PROXY, "");
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, up != NULL ? UPLOAD_TIMEOUT_S : REQUEST_TIMEOUT_S);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, answer_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &a);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, abort_cb);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, env);
	if (up != NULL) {
		curl_mimepart *part;

		mime = curl_mime_init(h);
		part = mime != NULL ? curl_mime_addpart(mime) : NULL;
		if (part == NULL || curl_mime_name(part, "file") != CURLE_OK ||
		    curl_mime_filename(part, name) != CURLE_OK ||
		    curl_mime_type(part, "application/octet-stream") != CURLE_OK ||
		    curl_mime_data_cb(part, (curl_off_t)up->size, upload_cb, NULL, NULL, up) != CURLE_OK) {
			fw_err_set(err, "cannot build the upload");
			goto out;
		}
		curl_easy_setopt(h, CURLOPT_MIMEPOST, mime);
	}
	r = curl_easy_perform(h);
	if (r != CURLE_OK) {
		if (a.over)
			fw_err_set(err, "the CAPE service's answer to %s is over %zu bytes", path, max);
		else
			fw_err_set(err, "the CAPE service at %s cannot be reached for %s: %s", c->base, path,
				   cerr[0] ? cerr : curl_easy_strerror(r));
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		fw_err_set(err, "the CAPE service answered %s with HTTP %ld", path, status);
		goto out;
	}
	if (report_fd >= 0) {
		rc = 0;
		goto out;
	}
	*out = json_loadb(a.buf ? a.buf : "", a.len, 0, &je);
	if (*out == NULL || !json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		fw_err_set(err, "the CAPE service's answer to %s is not a JSON object", path);
		goto out;
	}
	rc = 0;
out:
	curl_mime_free(mime);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	free(a.buf);
	return rc;
}

/* An apiv2 answer that says error: its error_value as the reason. */
static int service_error(const json_t *doc, const char *what, struct fw_err *err)
{
	const char *v = json_string_value(json_object_get(doc, "error_value"));

	return fw_err_set(err, "the CAPE service refused %s: %.300s", what, v != NULL ? v : "(no reason given)");
}

/* CAPE says failure with "error": true; success is false in older
 * versions and an empty list in newer ones: anything but true. */
static bool answer_ok(const json_t *doc)
{
	return !json_is_true(json_object_get(doc, "error"));
}

/* ------------------------------------------------------------ steps */

static int submit(struct cape_client *c, const struct sandbox_env *env, struct fw_sandbox_job *job, int fd,
		  uint64_t size, struct fw_err *err)
{
	struct upload up = { .fd = fd, .size = size };
	json_t *doc = NULL, *ids, *id;
	size_t i, used = 0;
	int rc = -1;

	if (request(c, env, "tasks/create/file/", &up, job->sha256, ANSWER_MAX, -1, &doc, err) != 0)
		return -1;
	if (!answer_ok(doc)) {
		service_error(doc, "the sample", err);
		goto out;
	}
	/* Files CAPE rejected (of an archive it split) are listed apart: a
	 * sample judged in part is not judged. */
	if (json_array_size(json_object_get(doc, "errors")) > 0) {
		const json_t *e = json_array_get(json_object_get(doc, "errors"), 0);
		char *text = json_dumps(e, JSON_ENCODE_ANY | JSON_COMPACT);

		fw_err_set(err, "the CAPE service refused part of the sample: %.300s", text != NULL ? text : "?");
		free(text);
		goto out;
	}
	/* One task, or several when CAPE splits an archive into its files:
	 * every one of them is judged. */
	ids = json_object_get(json_object_get(doc, "data"), "task_ids");
	if (json_array_size(ids) == 0) {
		fw_err_set(err, "the CAPE service accepted the sample but named no task id");
		goto out;
	}
	job->external_id[0] = '\0';
	json_array_foreach(ids, i, id) {
		int n;

		if (!json_is_integer(id) || json_integer_value(id) <= 0) {
			fw_err_set(err, "the CAPE service named a task id that is not a positive number");
			goto out;
		}
		n = snprintf(job->external_id + used, sizeof(job->external_id) - used, "%s%" JSON_INTEGER_FORMAT,
			     used ? "," : "", json_integer_value(id));
		if (n < 0 || (size_t)n >= sizeof(job->external_id) - used) {
			job->external_id[0] = '\0';
			fw_err_set(err, "the CAPE service split the sample into %zu tasks, more than fwgate tracks for "
				   "one job", json_array_size(ids));
			goto out;
		}
		used += (size_t)n;
	}
	rc = fw_store_sandbox_set_external(env->store, job, job->external_id, err);
out:
	json_decref(doc);
	return rc;
}

static void sleep_ms(const struct sandbox_env *env, unsigned ms)
{
	/* In small steps: a shutdown is not kept waiting. */
	for (unsigned slept = 0; slept < ms && !sandbox_env_stopping(env); slept += 50) {
		struct timespec t = { 0, 50 * 1000000L };

		nanosleep(&t, NULL);
	}
}

/* Polls until the task is reported; 1 when it failed in the service. */
static int poll_task(struct cape_client *c, const struct sandbox_env *env, const char *task, time_t deadline,
		     struct fw_err *err)
{
	char path[128];
	unsigned wait = POLL_FIRST_MS;

	snprintf(path, sizeof(path), "tasks/view/%s/", task);
	for (;;) {
		json_t *doc = NULL;
		const char *status;

		if (request(c, env, path, NULL, NULL, ANSWER_MAX, -1, &doc, err) != 0)
			return -1;
		if (!answer_ok(doc)) {
			service_error(doc, "the task view", err);
			json_decref(doc);
			return -1;
		}
		status = json_string_value(json_object_get(json_object_get(doc, "data"), "status"));
		if (status != NULL && strcmp(status, "reported") == 0) {
			json_decref(doc);
			return 0;
		}
		if (status == NULL || strncmp(status, "failed", 6) == 0) {
			fw_err_set(err, "CAPE task %s ended as %.60s", task, status ? status : "(no status)");
			json_decref(doc);
			return 1;
		}
		json_decref(doc);
		if (time(NULL) >= deadline)
			return fw_err_set(err, "CAPE task %s did not finish within [sandbox] timeout_seconds (%u s)",
					  task, c->timeout_seconds);
		if (sandbox_env_stopping(env))
			return fw_err_set(err, "the gateway is stopping");
		sleep_ms(env, wait);
		wait = wait * 2 > POLL_MAX_MS ? POLL_MAX_MS : wait * 2;
	}
}

/* Adds a report summary's signatures to sigs (at most SIGNATURES_KEPT in
 * all; the worker bounded their names and descriptions). */
static void add_signatures(json_t *sigs, const json_t *summary)
{
	const json_t *s;
	size_t i;

	json_array_foreach(json_object_get(summary, "signatures"), i, s) {
		if (json_array_size(sigs) >= SIGNATURES_KEPT)
			return;
		json_array_append_new(sigs, json_deep_copy(s));
	}
}

/* One task's report: downloaded into a memory file, summarized by a
 * scanner worker; its malscore (0..10) and signatures into sigs; the
 * malstatus of the worst task into status. */
static int fetch_report(struct cape_client *c, const struct sandbox_env *env, const char *task, double *malscore,
			json_t *sigs, char *status, size_t status_len, struct fw_err *err)
{
	char path[128];
	json_t *sum = NULL, *ms;
	double v;
	int fd, rc = -1;

	snprintf(path, sizeof(path), "tasks/get/report/%s/", task);
	fd = memfd_create("fwgate-cape-report", MFD_CLOEXEC);
	if (fd < 0)
		return fw_err_sys(err, errno, "cannot make a memory file for the report of CAPE task %s", task);
	if (request(c, env, path, NULL, NULL, REPORT_MAX, fd, NULL, err) != 0)
		goto out;
	if (fw_scanner_cape_summary_fd(env->scanner, fd, &sum, err) != 0)
		goto out;
	ms = json_object_get(sum, "malscore");
	if (json_is_true(json_object_get(sum, "error"))) {
		fw_err_set(err, "the CAPE service refused the report: %.300s",
			   json_string_value(json_object_get(sum, "error_value")) ? json_string_value(json_object_get(
				   sum, "error_value")) : "(no reason given)");
		goto out;
	}
	if (!json_is_number(ms)) {
		fw_err_set(err, "the report of CAPE task %s has no malscore", task);
		goto out;
	}
	v = json_number_value(ms);
	if (!(v >= 0.0 && v <= 10.0)) {
		fw_err_set(err, "the report of CAPE task %s has a malscore outside 0..10", task);
		goto out;
	}
	if (v >= *malscore) {
		*malscore = v;
		snprintf(status, status_len, "%.60s", json_string_value(json_object_get(sum, "malstatus")));
	}
	add_signatures(sigs, sum);
	rc = 0;
out:
	json_decref(sum);
	close(fd);
	return rc;
}

int cape_run(struct cape_client *c, const struct sandbox_env *env, struct fw_sandbox_job *job, int fd, uint64_t size,
	     int *score, json_t **findings, struct fw_err *err)
{
	time_t deadline = time(NULL) + (time_t)c->timeout_seconds;
	char tasks[FW_JOB_EXTERNAL_MAX], status[64] = "", *save = NULL, *task;
	double malscore = -1.0;
	json_t *sigs;
	struct fw_err e2;
	int r = 0;

	*findings = NULL;
	if (!c->ready)
		return fw_err_set(err, "the CAPE backend is not configured");
	/* Task ids from an earlier run (a restart, or a retry after a network
	 * error while polling) are polled, not submitted again. */
	if (job->external_id[0] == '\0' && submit(c, env, job, fd, size, err) != 0)
		return -1;
	sigs = json_array();
	if (sigs == NULL)
		return fw_err_set(err, "out of memory");
	snprintf(tasks, sizeof(tasks), "%s", job->external_id);
	for (task = strtok_r(tasks, ",", &save); task != NULL && r == 0; task = strtok_r(NULL, ",", &save)) {
		r = poll_task(c, env, task, deadline, err);
		if (r == 0)
			r = fetch_report(c, env, task, &malscore, sigs, status, sizeof(status), err);
	}
	if (r == 1) {
		/* A task itself failed: the next attempt submits anew. */
		fw_err_clear(&e2);
		if (fw_store_sandbox_set_external(env->store, job, "", &e2) != 0)
			fw_err_set(err, "CAPE task %s failed, and forgetting it failed too: %s", job->external_id,
				   fw_err_msg(&e2));
	}
	if (r != 0 || malscore < 0.0) {
		json_decref(sigs);
		return r != 0 ? -1 : fw_err_set(err, "CAPE named no task to judge");
	}
	/* CAPE scores 0..10; the thresholds are 0..100. The worst task counts. */
	*score = (int)(malscore * 10.0 + 0.5);
	*findings = json_pack("{s:s, s:s, s:f, s:s, s:o}", "backend", "cape", "task_id", job->external_id, "malscore",
			      malscore, "malstatus", status, "signatures", sigs);
	return *findings != NULL ? 0 : fw_err_set(err, "out of memory");
}
