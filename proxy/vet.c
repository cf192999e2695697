/* The scan of one download: see vet.h. Must not decide what is delivered
 * (delivery.c does) nor touch the store. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "fwgate/metrics.h"
#include "fwgate/sandbox.h"
#include "proxy/vet.h"

/* The display name of a download: the URL's last path segment (the root
 * of member chains in reasons), or the host. */
static void url_name(const char *url, const char *host, char *out, size_t len)
{
	const char *path = strstr(url, "://"), *end, *seg;

	path = path != NULL ? strchr(path + 3, '/') : NULL;
	if (path == NULL) {
		snprintf(out, len, "%s", host);
		return;
	}
	end = path + strcspn(path, "?#");
	seg = end;
	while (seg > path && seg[-1] != '/')
		seg--;
	if (seg == end)
		snprintf(out, len, "%s", host);
	else
		snprintf(out, len, "%.*s", (int)(end - seg), seg);
}

/* The body of a download starts: when the vendor says its length, the
 * scanner starts on it as it arrives ([scanner] overlap_fetch); else, or
 * when the scanner cannot take it now, it is scanned once fetched. */
void vet_body_starts(void *arg, struct upstream_resp *r, long status)
{
	struct vet *v = arg;
	char name[256];
	struct fw_err err;

	if (status != 200 || !r->has_length || r->length == 0 || r->body == NULL || v->head ||
	    !v->c->cfg->scanner.overlap_fetch)
		return;
	url_name(v->url, v->c->host, name, sizeof(name));
	fw_err_clear(&err);
	clock_gettime(CLOCK_MONOTONIC, &v->t0);
	if (fw_scanner_stream_start(v->c->px->deps.scanner, fw_spool_fd(r->body), r->length, name,
				    fw_sandbox_types(v->c->px->deps.sandbox), &v->stream, &err) == 0)
		fw_spool_watch(r->body, v->stream);
}

void vet_drop(struct vet *v)
{
	fw_scan_stream_finish(v->stream, NULL, 0, NULL);
	v->stream = NULL;
}

void vet_scan(struct vet *v, const struct upstream_resp *r, struct fw_scan_result *res)
{
	char name[256];
	struct timespec t0;
	bool judged = false;

	url_name(v->url, v->c->host, name, sizeof(name));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (v->stream != NULL) {
		/* Judged as it arrived: the verdict on every byte, now. */
		double beside = elapsed_ms(&v->t0);
		struct fw_scan_stream *st = v->stream;

		v->stream = NULL;
		fw_spool_watch(r->body, NULL);
		judged = fw_scan_stream_finish(st, fw_spool_sha256(r->body), fw_spool_size(r->body), res) == 0;
		if (judged) {
			t0 = v->t0;
			res->overlap_ms = beside >= 1 ? (long long)beside : 1;
		} else {
			/* No verdict document (the scanner was down or
			 * restarted during the download, or judged other
			 * bytes): the finished file, once more. */
			fw_scan_result_clear(res);
		}
	}
	if (!judged && fw_scanner_scan_fd(v->c->px->deps.scanner, fw_spool_fd(r->body), name, fw_spool_sha256(r->body),
					  fw_sandbox_types(v->c->px->deps.sandbox), res) != 0)
		fw_scan_result_fail(res, "the download could not be handed to the scanner");
	fw_metrics_scan_seconds(elapsed_ms(&t0) / 1e3);
	/* Clean so far, but members the policy sandboxes are listed: the
	 * package is pending until the sandbox has judged every one. */
	if (res->verdict == FW_VERDICT_CLEAN && json_array_size(json_object_get(res->doc, "sandbox")) > 0) {
		res->verdict = FW_VERDICT_PENDING;
		snprintf(res->reason, sizeof(res->reason), "under sandbox analysis: %zu member(s) to judge",
			 json_array_size(json_object_get(res->doc, "sandbox")));
	}
}
