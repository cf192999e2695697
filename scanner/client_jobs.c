/* The scanner's jobs as the gateway and the CLI submit them: a package
 * (whole, or as a download arrives: the stream), a sandbox sample for the
 * static analyzer, a CAPE report to summarize. client.c sends them and
 * accepts only the answer bound to each; this file says what each job is
 * and what its answer must look like. Must not scan or parse a report in
 * the calling process. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scanner/scan_int.h"

static json_t *job_run(struct fw_scanner *s, int fd, struct scan_job_hdr *h, const char *name, const char *sha256,
		       unsigned timeout_ms, uint32_t max_answer, struct fw_err *err)
{
	int ro = scan_fd_readonly(fd, err);

	if (ro < 0)
		return NULL;
	return scan_client_job(s, ro, -1, h, name, sha256, timeout_ms, max_answer, err);
}

int fw_scanner_scan_fd(struct fw_scanner *s, int fd, const char *name, const char *sha256, unsigned sandbox_types,
		       struct fw_scan_result *res)
{
	struct scan_job_hdr h = { .sandbox_types = sandbox_types };
	struct fw_err err;
	json_t *doc;

	memset(res, 0, sizeof(*res));
	if (fd < 0)
		return -1;
	fw_err_clear(&err);
	doc = job_run(s, fd, &h, name, sha256, scan_client_timeout_seconds(s) * 1000u + SCAN_RESULT_GRACE_MS,
		     SCAN_RESULT_MAX, &err);
	if (doc == NULL) {
		fw_scan_result_fail(res, "%s", fw_err_msg(&err));
		return 0;
	}
	scan_result_from_doc(res, doc);
	return 0;
}

int fw_scanner_analyze_fd(struct fw_scanner *s, int fd, const char *file_type, unsigned timeout_seconds,
			  json_t **analysis, struct fw_err *err)
{
	struct scan_job_hdr h = { .flags = SCAN_JOB_ANALYZE };
	unsigned secs = timeout_seconds < scan_client_timeout_seconds(s) ? timeout_seconds : scan_client_timeout_seconds(s);
	json_t *doc, *a;

	*analysis = NULL;
	doc = job_run(s, fd, &h, file_type, NULL, secs * 1000u + SCAN_RESULT_GRACE_MS, SCAN_RESULT_MAX, err);
	if (doc == NULL)
		return -1;
	a = json_object_get(doc, "analysis");
	if (!json_is_object(a) || !json_is_integer(json_object_get(a, "score")) ||
	    !json_is_array(json_object_get(a, "findings"))) {
		const char *why = json_string_value(json_object_get(doc, "error"));

		/* A worker that crashed or timed out answers a failed verdict
		 * document: its first reason says why. */
		if (why == NULL)
			why = json_string_value(json_array_get(json_object_get(doc, "reasons"), 0));
		fw_err_set(err, "the analyzer failed: %s", why != NULL ? why : "its answer does not validate");
		json_decref(doc);
		return -1;
	}
	*analysis = json_incref(a);
	json_decref(doc);
	return 0;
}

int fw_scanner_cape_summary_fd(struct fw_scanner *s, int fd, json_t **summary, struct fw_err *err)
{
	struct scan_job_hdr h = { .flags = SCAN_JOB_CAPE_REPORT };
	json_t *doc, *r;

	*summary = NULL;
	doc = job_run(s, fd, &h, "cape-report", NULL, scan_client_timeout_seconds(s) * 1000u + SCAN_RESULT_GRACE_MS,
		      SCAN_SMALL_ANSWER_MAX, err);
	if (doc == NULL)
		return -1;
	r = json_object_get(doc, "report");
	if (!json_is_object(r) || !json_is_boolean(json_object_get(r, "error")) ||
	    !json_is_array(json_object_get(r, "signatures"))) {
		const char *why = json_string_value(json_object_get(doc, "error"));

		if (why == NULL)
			why = json_string_value(json_array_get(json_object_get(doc, "reasons"), 0));
		fw_err_set(err, "the CAPE report cannot be read: %s", why != NULL ? why : "its summary does not validate");
		json_decref(doc);
		return -1;
	}
	*summary = json_incref(r);
	json_decref(doc);
	return 0;
}

/* ------------------------------------------------------------ stream */

struct fw_scan_stream {
	struct fw_scanner *s;
	int ro;                  /* the spool file, read-only: the job's (adopted by it) */
	int pipe_r, pipe_w;      /* progress: the worker reads, the download writes */
	struct scan_job_hdr h;
	char name[1024];
	unsigned timeout_ms;
	pthread_t thread;
	json_t *doc;             /* the answer, or NULL with err */
	struct fw_err err;
};

static void *stream_job(void *arg)
{
	struct fw_scan_stream *st = arg;

	st->doc = scan_client_job(st->s, st->ro, st->pipe_r, &st->h, st->name, NULL, st->timeout_ms, SCAN_RESULT_MAX,
				  &st->err);
	st->ro = -1;
	return NULL;
}

int fw_scanner_stream_start(struct fw_scanner *s, int fd, uint64_t length, const char *name,
			    unsigned sandbox_types, struct fw_scan_stream **out, struct fw_err *err)
{
	const struct fw_config *cfg = scan_client_config(s);
	struct fw_scan_stream *st;
	int p[2];

	*out = NULL;
	st = calloc(1, sizeof(*st));
	if (st == NULL)
		return fw_err_setc(err, FW_E_NOMEM, "out of memory");
	st->s = s;
	st->pipe_r = st->pipe_w = -1;
	st->h = (struct scan_job_hdr){ .sandbox_types = sandbox_types, .stream_length = length };
	snprintf(st->name, sizeof(st->name), "%s", name);
	/* The worker may wait for the whole download before its own bound
	 * starts; the supervisor allows for it (check_timeouts). */
	st->timeout_ms = (scan_client_timeout_seconds(s) + cfg->proxy.exchange_timeout_seconds) * 1000u +
			 SCAN_RESULT_GRACE_MS;
	fw_err_clear(&st->err);
	/* Read-only now, while fd is surely the spool file. */
	st->ro = scan_fd_readonly(fd, err);
	if (st->ro < 0)
		goto fail;
	if (pipe2(p, O_CLOEXEC) != 0) {
		fw_err_sys(err, errno, "cannot make the download's progress pipe");
		goto fail;
	}
	st->pipe_r = p[0];
	st->pipe_w = p[1];
	if (fcntl(st->pipe_w, F_SETFL, O_NONBLOCK) != 0) {
		fw_err_sys(err, errno, "cannot make the download's progress pipe");
		goto fail;
	}
	if (pthread_create(&st->thread, NULL, stream_job, st) != 0) {
		fw_err_set(err, "cannot start the scanner job of the download");
		goto fail;
	}
	*out = st;
	return 0;
fail:
	if (st->ro >= 0)
		close(st->ro);
	if (st->pipe_r >= 0)
		close(st->pipe_r);
	if (st->pipe_w >= 0)
		close(st->pipe_w);
	free(st);
	return -1;
}

void fw_scan_stream_grew(struct fw_scan_stream *st)
{
	static const char one = 1;

	if (st == NULL || st->pipe_w < 0)
		return;
	if (write(st->pipe_w, &one, 1) < 0) {
		/* EAGAIN: a full pipe already says "more"; EPIPE: the job
		 * ended and needs nothing more. */
	}
}

/* The package's hash, which the worker did not have, where a scan with it
 * would have put it: the document, and the root's signatures and sandbox
 * entries. */
static void fill_root_sha(json_t *doc, const char *sha)
{
	json_t *e;
	size_t i;

	json_object_set_new(doc, "sha256", json_string(sha));
	json_array_foreach(json_object_get(doc, "signatures"), i, e)
		if (json_string_length(json_object_get(e, "member_sha256")) == 0)
			json_object_set_new(e, "member_sha256", json_string(sha));
	json_array_foreach(json_object_get(doc, "sandbox"), i, e)
		if (json_string_length(json_object_get(e, "sha256")) == 0)
			json_object_set_new(e, "sha256", json_string(sha));
}

int fw_scan_stream_finish(struct fw_scan_stream *st, const char *sha256, uint64_t size,
			  struct fw_scan_result *res)
{
	json_t *n;
	int rc = -1;

	if (st == NULL)
		return -1;
	/* The end of the download, complete or not: the worker reads the
	 * final size and answers. */
	close(st->pipe_w);
	st->pipe_w = -1;
	pthread_join(st->thread, NULL);
	close(st->pipe_r);
	if (sha256 != NULL) {
		memset(res, 0, sizeof(*res));
		n = st->doc != NULL ? json_object_get(st->doc, "size") : NULL;
		if (st->doc == NULL) {
			fw_scan_result_fail(res, "%s", fw_err_msg(&st->err));
		} else if (n != NULL && (!json_is_integer(n) || (uint64_t)json_integer_value(n) != size)) {
			/* Not the bytes the gateway holds: never a verdict on them. */
			fw_scan_result_fail(res, "the scanner judged %lld bytes of a download of %llu",
					    (long long)json_integer_value(n), (unsigned long long)size);
		} else {
			fill_root_sha(st->doc, sha256);
			scan_result_from_doc(res, st->doc);
			st->doc = NULL;
			rc = 0;
		}
	}
	json_decref(st->doc);
	free(st);
	return rc;
}
