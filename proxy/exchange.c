/* The request pipeline inside a tunnel: decide the URL, answer from the
 * vetted store when it holds an approved object (revalidating it with the
 * vendor after [cache] revalidate_after_seconds), else fetch into the
 * spool (one fetch per URL however many ask at once), have the scanner vet
 * the complete body, record it in the store, and deliver only what is
 * clean. What to answer is decided by delivery_decide (delivery.c, pure);
 * this file does its steps. Every way a request ends goes through
 * conn_refuse or a logged delivery, and is counted in the metrics with its
 * verdict (conn_count). Parses no archive and scans nothing itself. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "fwgate/sandbox.h"
#include "fwgate/store.h"
#include "proxy/delivery.h"
#include "proxy/exchange.h"
#include "proxy/serve_blob.h"
#include "proxy/vet.h"

#define BODY_CHUNK (256 * 1024)
#define URL_MAX (HTTP_MAX_TARGET + FW_HOST_MAX + 16)

/* One request's context. */
struct exch {
	struct conn *c;
	char url[URL_MAX];
	struct fw_decision_result d;
	struct timespec t0;
	bool head, close;
	struct vet vet;       /* the download's scan */
};

static int keep(const struct exch *x)
{
	return x->close ? -1 : 0;
}

static int request_url(struct conn *c, char *url, size_t len, struct fw_err *err)
{
	const struct http_req *r = c->req;
	const char *path = r->target;
	size_t plen = r->target_len;
	char h[FW_HOST_MAX + 2], hn[FW_HOST_MAX];
	uint16_t port = 0;
	int n;

	if (plen >= 8 && strncasecmp(path, "https://", 8) == 0) {
		const char *slash = memchr(path + 8, '/', plen - 8);
		size_t alen = slash != NULL ? (size_t)(slash - path - 8) : plen - 8;

		if (http_parse_authority(path + 8, alen, h, sizeof(h), &port, 443, err) != 0)
			return -1;
		if (fw_host_normalize(h, hn, sizeof(hn)) != 0 || strcmp(hn, c->host) != 0 || port != c->port)
			return fw_err_set(err, "the request URL names another host than the tunnel's %s", c->authority);
		path = slash != NULL ? slash : "/";
		plen = slash != NULL ? plen - (size_t)(slash - r->target) : 1;
	} else if (plen == 0 || path[0] != '/') {
		return fw_err_set(err, "inside the tunnel the request target must be a path");
	}
	if (r->host == NULL)
		return fw_err_set(err, "the Host header is missing");
	if (http_parse_authority(r->host->value, r->host->value_len, h, sizeof(h), &port, 443, err) != 0)
		return -1;
	if (fw_host_normalize(h, hn, sizeof(hn)) != 0 || strcmp(hn, c->host) != 0 || port != c->port)
		return fw_err_set(err, "the Host header does not match the tunnel's %s", c->authority);
	if (c->port == 443)
		n = snprintf(url, len, "https://%s%.*s", c->host, (int)plen, path);
	else
		n = snprintf(url, len, "https://%s:%u%.*s", c->host, (unsigned)c->port, (int)plen, path);
	if (n < 0 || (size_t)n >= len)
		return fw_err_set(err, "the request URL is too long");
	return 0;
}

static bool status_has_body(long status)
{
	return !(status < 200 || status == 204 || status == 304);
}

/* Sends the vetted response: the vendor's status and passed fields, our
 * framing, then the spooled body (never before it is complete). */
static int deliver(struct conn *c, const struct upstream_resp *r, bool head, bool close)
{
	size_t cap = r->fields_len + 512, hl;
	unsigned tmo = conn_ms(c->cfg->proxy.idle_timeout_seconds);
	char *hdr = malloc(cap), *body = NULL;
	uint64_t size = r->body ? fw_spool_size(r->body) : 0, off = 0;
	int n, rc = -1;

	if (hdr == NULL)
		return -1;
	n = snprintf(hdr, cap, "HTTP/1.1 %ld %s\r\n%.*s", r->status, http_reason_phrase((int)r->status),
		     (int)r->fields_len, r->fields ? r->fields : "");
	hl = (size_t)n;
	if (status_has_body(r->status) && (!head || r->has_length))
		hl += (size_t)snprintf(hdr + hl, cap - hl, "Content-Length: %llu\r\n",
				       (unsigned long long)(head ? r->length : size));
	if (r->body != NULL)
		hl += (size_t)snprintf(hdr + hl, cap - hl, "X-Fwgate-SHA256: %s\r\nX-Fwgate-Verdict: clean\r\n",
				       fw_spool_sha256(r->body));
	hl += (size_t)snprintf(hdr + hl, cap - hl, "%s\r\n", close ? "Connection: close\r\n" : "");
	if (hl >= cap || conn_write_all(&c->io, hdr, hl, tmo) != 0)
		goto out;
	if (head || r->body == NULL || !status_has_body(r->status)) {
		rc = 0;
		goto out;
	}
	body = malloc(BODY_CHUNK);
	if (body == NULL)
		goto out;
	while (off < size) {
		size_t want = size - off > BODY_CHUNK ? BODY_CHUNK : (size_t)(size - off);
		ssize_t got = pread(fw_spool_fd(r->body), body, want, (off_t)off);

		if (got <= 0 || conn_write_all(&c->io, body, (size_t)got, tmo) != 0)
			goto out;
		fw_metrics_bytes_out((uint64_t)got);
		off += (uint64_t)got;
	}
	c->bytes_out += size;
	rc = 0;
out:
	free(body);
	free(hdr);
	return rc;
}

/* ------------------------------------------------------------ verdicts */

static void incident_id(char *out, size_t len)
{
	unsigned char rnd[8];

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		memset(rnd, 0, sizeof(rnd));
	snprintf(out, len, "FW-%02X%02X%02X%02X%02X%02X%02X%02X", rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5],
		 rnd[6], rnd[7]);
}

/* Refuses a body whose verdict is not clean (or whose object staff
 * rejected): the page names the signature and member, or the reason, with
 * an incident id that staff find in the event log. */
static void refuse_verdict(struct exch *x, const struct upstream_resp *r, const struct fw_scan_result *res,
			   enum fw_object_state state, long long object_id)
{
	char incident[32], held[64] = "", page[2 * FW_ERR_MSG_MAX + 192];

	incident_id(incident, sizeof(incident));
	if (object_id > 0)
		snprintf(held, sizeof(held), "; quarantined as object %lld", object_id);
	if (state == FW_OBJ_REJECTED)
		snprintf(page, sizeof(page), "blocked: staff rejected this content (object %lld) (incident %s)",
			 object_id, incident);
	else if (res->verdict == FW_VERDICT_INFECTED && res->signature[0] != '\0')
		snprintf(page, sizeof(page), "blocked: the download is infected: signature %s in %s%s (incident %s)",
			 res->signature, res->member, held, incident);
	else if (res->verdict == FW_VERDICT_INFECTED) /* the sandbox's malicious verdict */
		snprintf(page, sizeof(page), "blocked: the download is infected: %s%s (incident %s)", res->reason, held,
			 incident);
	else
		snprintf(page, sizeof(page), "blocked and held for review: the download is %s: %s%s (incident %s)",
			 fw_verdict_name(res->verdict), res->reason, held, incident);
	{
		const struct req_log l = {
			.action = "proxy-request", .outcome = FW_OUTCOME_FAILURE, .url = x->url,
			.verdict = state == FW_OBJ_REJECTED ? "rejected" : fw_verdict_name(res->verdict),
			.reason = page, .sha256 = fw_spool_sha256(r->body), .status = 403, .upstream_status = r->status,
			.bytes = fw_spool_size(r->body), .duration_ms = elapsed_ms(&x->t0), .scan = res,
			.incident = incident, .object_id = object_id, .ends = true, .has_verdict = true,
			.answered = res->verdict, .refused = true,
			.refusal = state == FW_OBJ_REJECTED ? FW_METRICS_REFUSED_STORED : FW_METRICS_REFUSED_VERDICT,
		};

		conn_event(x->c, &l);
	}
	conn_send_text(&x->c->io, 403, page, x->close, x->head, NULL, conn_ms(x->c->cfg->proxy.idle_timeout_seconds));
}

/* Seconds a client is told to wait before asking again for a package
 * under analysis. */
static unsigned retry_after(const struct conn *c)
{
	unsigned h = c->cfg->sandbox.hold_seconds;

	return h < 5 ? 5 : h > 60 ? 60 : h;
}

/* The package is still under analysis after the hold: 503, Retry-After,
 * and the jobs it waits on. Nothing was delivered. */
static int refuse_pending(struct exch *x, long long object_id, const char *sha256)
{
	char jobs[256], page[512], hdr[64];
	const struct req_log l = {
		.action = "proxy-request", .outcome = FW_OUTCOME_FAILURE, .url = x->url, .verdict = "pending",
		.reason = page, .sha256 = sha256, .status = 503, .duration_ms = elapsed_ms(&x->t0),
		.object_id = object_id, .ends = true, .has_verdict = true, .answered = FW_VERDICT_PENDING,
		.refused = true, .refusal = FW_METRICS_REFUSED_PENDING,
	};

	fw_sandbox_jobs_of(x->c->px->deps.sandbox, object_id, jobs, sizeof(jobs));
	snprintf(page, sizeof(page), "the download is under analysis in the sandbox (object %lld, sandbox job(s) %s); "
		 "nothing was delivered: ask again later", object_id, jobs[0] ? jobs : "none");
	snprintf(hdr, sizeof(hdr), "Retry-After: %u\r\n", retry_after(x->c));
	conn_event(x->c, &l);
	conn_send_text(&x->c->io, 503, page, x->close, x->head, hdr, conn_ms(x->c->cfg->proxy.idle_timeout_seconds));
	return keep(x);
}

/* Holds the client up to [sandbox] hold_seconds for a pending object;
 * its state then (pending when the time ran out, or on an error). */
static enum fw_object_state hold(struct exch *x, int64_t object_id)
{
	enum fw_object_state state = FW_OBJ_PENDING;
	struct fw_err err;

	fw_err_clear(&err);
	if (fw_sandbox_wait(x->c->px->deps.sandbox, object_id, x->c->cfg->sandbox.hold_seconds * 1000u, &state,
			    &err) != 0)
		return FW_OBJ_PENDING;
	return state;
}

/* ------------------------------------------------------------ the store */

/* Answers from an approved or released object's blob. */
static int serve_stored(struct exch *x, const struct fw_url_entry *e, const char *why)
{
	struct conn *c = x->c;
	struct serve_result out = { 0 };
	struct serve_object o = {
		.sha256 = e->sha256, .verdict_label = e->state == FW_OBJ_RELEASED ? "released" : "clean",
		.fields = e->fields,
	};
	struct fw_err err;
	int rc;

	fw_err_clear(&err);
	if (fw_store_open_blob(c->px->deps.store, e->sha256, &o.fd, &o.size, &err) != 0) {
		conn_refuse(c, FW_METRICS_REFUSED_STORE, "proxy-request-refused", 503, fw_err_msg(&err), x->url,
			    x->close, x->head);
		return keep(x);
	}
	rc = serve_blob(&c->io, c->req, &o, x->close, conn_ms(c->cfg->proxy.idle_timeout_seconds), &out);
	close(o.fd);
	c->bytes_out += out.bytes;
	fw_metrics_bytes_out(out.bytes);
	{
		const struct req_log l = {
			.action = "proxy-request", .outcome = rc == 0 ? FW_OUTCOME_SUCCESS : FW_OUTCOME_FAILURE,
			.url = x->url, .verdict = rc == 0 ? "cache-hit" : "delivery-failed",
			.reason = rc == 0 ? why : "the client connection failed during delivery", .sha256 = e->sha256,
			.status = out.status, .bytes = out.bytes, .duration_ms = elapsed_ms(&x->t0),
			.object_id = e->object_id, .ends = true, .has_verdict = true, .answered = e->verdict,
		};

		if (c->px->deps.pol->logging.log_end || rc != 0)
			conn_event(c, &l);
		else
			conn_count(&l);
	}
	return rc != 0 ? -1 : keep(x);
}

/* A URL the store refuses without a fetch: rejected or quarantined. */
static int refuse_stored(struct exch *x, const struct fw_url_entry *e)
{
	char page[FW_ERR_MSG_MAX + 192];
	const struct req_log l = {
		.action = "proxy-request-refused", .outcome = FW_OUTCOME_FAILURE, .url = x->url, .verdict = "refused",
		.reason = page, .status = 403, .ends = true, .has_verdict = true, .answered = e->verdict,
		.refused = true, .refusal = FW_METRICS_REFUSED_STORED,
	};

	if (e->state == FW_OBJ_REJECTED)
		snprintf(page, sizeof(page), "blocked: staff rejected this download (object %lld, sha256 %s)",
			 (long long)e->object_id, e->sha256);
	else
		snprintf(page, sizeof(page), "blocked and held for review: object %lld is quarantined (%s: %s)",
			 (long long)e->object_id, fw_verdict_name(e->verdict), e->reason);
	conn_event(x->c, &l);
	conn_send_text(&x->c->io, 403, page, x->close, x->head, NULL, conn_ms(x->c->cfg->proxy.idle_timeout_seconds));
	return keep(x);
}

/* The vendor's fields that describe the bytes themselves, kept with the
 * URL and sent again with every hit. Validators and freshness fields are
 * the gateway's own on a hit (its ETag is the SHA-256). */
static void representation_fields(const struct upstream_resp *r, char *out, size_t len)
{
	static const char *const keep[] = {
		"content-type", "content-disposition", "content-encoding", "content-language", "last-modified",
	};
	char value[FW_URL_FIELDS_MAX / 2];
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < FW_ARRAY_LEN(keep); i++) {
		int n;

		if (!upstream_resp_field(r, keep[i], value, sizeof(value)))
			continue;
		n = snprintf(out + used, len - used, "%s: %s\r\n", keep[i], value);
		if (n < 0 || (size_t)n >= len - used) {
			out[used] = '\0';
			return; /* what does not fit is left out whole */
		}
		used += (size_t)n;
	}
}

/* Records a complete 200 body with its verdict; returns the object's state,
 * or -1 after refusing the request (the store could not keep it). */
static int commit(struct exch *x, const struct upstream_resp *r, struct fw_scan_result *res,
		  int64_t *object_id)
{
	char etag[FW_ETAG_MAX], lm[FW_LASTMOD_MAX], fields[FW_URL_FIELDS_MAX], engine[FW_SCANNER_SUMMARY_MAX];
	struct fw_sandbox_plan plan = { 0 };
	enum fw_object_state state;
	struct fw_err err;
	int rc;
	struct fw_store_commit sc = {
		.url = x->url, .spool_fd = fw_spool_fd(r->body), .spool_path = fw_spool_path(r->body),
		.sha256 = fw_spool_sha256(r->body), .size = fw_spool_size(r->body),
		.engine = fw_scanner_summary(x->c->px->deps.scanner, engine, sizeof(engine)),
	};

	fw_err_clear(&err);
	representation_fields(r, fields, sizeof(fields));
	sc.fields = fields;
	sc.etag = upstream_resp_field(r, "etag", etag, sizeof(etag)) ? etag : NULL;
	sc.last_modified = upstream_resp_field(r, "last-modified", lm, sizeof(lm)) ? lm : NULL;
	/* Pending: committed with its members, linked to their jobs in the
	 * same transaction. Members that cannot be planned are never judged:
	 * the package is unscannable instead. */
	if (res->verdict == FW_VERDICT_PENDING) {
		if (fw_sandbox_plan(x->c->px->deps.sandbox, res->doc, &plan, &err) != 0) {
			res->verdict = FW_VERDICT_UNSCANNABLE;
			snprintf(res->reason, sizeof(res->reason), "the sandbox cannot judge it: %s", fw_err_msg(&err));
			fw_err_clear(&err);
		} else {
			sc.sandbox = plan.members;
			sc.n_sandbox = plan.n;
			sc.sandbox_backend = plan.backend;
			sc.sandbox_reuse_since = plan.reuse_since;
		}
	}
	/* The verdict as it stands now (an unplannable pending one is
	 * unscannable above). */
	sc.verdict = res->verdict;
	sc.reason = res->reason;
	sc.scan_doc = res->doc;
	rc = fw_store_commit(x->c->px->deps.store, &sc, &state, object_id, &err);
	fw_sandbox_plan_free(&plan);
	if (rc != 0) {
		char page[FW_ERR_MSG_MAX + 64];

		snprintf(page, sizeof(page), "the vetted store cannot keep the download: %s", fw_err_msg(&err));
		conn_refuse(x->c, FW_METRICS_REFUSED_STORE, "proxy-request-refused", 507, page, x->url, x->close,
			    x->head);
		return -1;
	}
	fw_spool_consumed(r->body);
	return (int)state;
}

/* ------------------------------------------------------------ fetching */

static int fetch_failed(struct exch *x, enum fw_metrics_refusal why, int status, const struct fw_err *err)
{
	const struct req_log l = {
		.action = "proxy-request", .outcome = FW_OUTCOME_FAILURE, .url = x->url, .verdict = "refused",
		.reason = fw_err_msg(err), .status = status, .duration_ms = elapsed_ms(&x->t0), .ends = true,
		.refused = true, .refusal = why,
	};

	conn_event(x->c, &l);
	conn_send_text(&x->c->io, status, fw_err_msg(err), x->close, x->head, NULL,
		       conn_ms(x->c->cfg->proxy.idle_timeout_seconds));
	return keep(x);
}

/* answered: the verdict the bytes are delivered on (none without a body). */
static int deliver_logged(struct exch *x, struct upstream_resp *r, const struct fw_scan_result *res,
			  const char *verdict, enum fw_verdict answered, long long object_id)
{
	struct conn *c = x->c;
	int status = deliver(c, r, x->head, x->close);
	const struct req_log l = {
		.action = "proxy-request", .outcome = status == 0 ? FW_OUTCOME_SUCCESS : FW_OUTCOME_FAILURE,
		.url = x->url, .verdict = status == 0 ? verdict : "delivery-failed",
		.reason = status == 0 ? x->d.reason : "the client connection failed during delivery",
		.sha256 = r->body ? fw_spool_sha256(r->body) : NULL, .status = (int)r->status,
		.upstream_status = r->status, .bytes = r->body ? fw_spool_size(r->body) : 0,
		.duration_ms = elapsed_ms(&x->t0), .object_id = object_id, .ends = true, .has_verdict = true,
		.answered = answered, .scan = res,
	};

	if (c->px->deps.pol->logging.log_end || status != 0)
		conn_event(c, &l);
	else
		conn_count(&l);
	return status != 0 ? -1 : keep(x);
}

static void content_changed(struct exch *x, const struct fw_url_entry *old, const char *sha256)
{
	char why[256];
	const struct req_log l = {
		.action = "proxy-content-changed", .outcome = FW_OUTCOME_SUCCESS, .url = x->url, .verdict = "changed",
		.reason = why, .sha256 = sha256, .object_id = old->object_id,
	};

	snprintf(why, sizeof(why), "the vendor's content changed: was %s, is now %s (vetted as a new download)",
		 old->sha256, sha256);
	conn_event(x->c, &l);
}

static void scanner_down(struct exch *x, const struct upstream_resp *r, const struct fw_scan_result *res)
{
	char page[FW_ERR_MSG_MAX + 96], retry[32];
	const struct req_log l = {
		.action = "proxy-request", .outcome = FW_OUTCOME_FAILURE, .url = x->url, .verdict = "scanner-unavailable",
		.reason = page, .sha256 = fw_spool_sha256(r->body), .status = 503, .upstream_status = r->status,
		.bytes = fw_spool_size(r->body), .duration_ms = elapsed_ms(&x->t0), .ends = true, .refused = true,
		.refusal = FW_METRICS_REFUSED_SCANNER,
	};

	snprintf(page, sizeof(page), "the download cannot be vetted now, nothing was delivered: %s", res->reason);
	conn_event(x->c, &l);
	/* Until the supervisor's next restart attempt, and a little more. */
	snprintf(retry, sizeof(retry), "Retry-After: %u\r\n", fw_scanner_retry_after(x->c->px->deps.scanner));
	conn_send_text(&x->c->io, 503, page, x->close, x->head, retry,
		       conn_ms(x->c->cfg->proxy.idle_timeout_seconds));
}

/* The 304 of a revalidation: the stored object is unchanged. */
static int revalidated(struct exch *x, struct upstream_resp *resp, const struct fw_url_entry *stale,
		       const char *why)
{
	char etag[FW_ETAG_MAX], lm[FW_LASTMOD_MAX];
	bool has_etag = upstream_resp_field(resp, "etag", etag, sizeof(etag));
	bool has_lm = upstream_resp_field(resp, "last-modified", lm, sizeof(lm));
	struct fw_err err;

	fw_err_clear(&err);
	upstream_resp_clear(resp);
	if (fw_store_mark_verified(x->c->px->deps.store, x->url, has_etag ? etag : NULL, has_lm ? lm : NULL,
				   &err) != 0)
		return fetch_failed(x, FW_METRICS_REFUSED_STORE, 503, &err);
	return serve_stored(x, stale, why);
}

/* A refusal of a fetched body whose verdict, or store record, says no. */
static int refuse_fetched(struct exch *x, const struct delivery *d, const struct upstream_resp *r,
			  struct fw_scan_result *res, const struct delivery_in *in, int64_t object_id)
{
	enum fw_object_state state = in->committed ? in->state : FW_OBJ_QUARANTINED;
	struct fw_url_entry e;
	struct fw_err err;
	bool found = false;

	fw_err_clear(&err);
	if (d->send == DELIVERY_REFUSE_STORED || d->why == DELIVERY_WHY_STORED_VERDICT)
		found = fw_store_lookup_url(x->c->px->deps.store, x->url, &e, &err) == 1 && e.object_id == object_id;
	if (d->send == DELIVERY_REFUSE_STORED && found)
		return refuse_stored(x, &e);
	switch (d->why) {
	case DELIVERY_WHY_STORED_VERDICT:
		if (found) {
			snprintf(res->reason, sizeof(res->reason), "%s", e.reason);
			res->verdict = e.verdict;
		} else {
			res->verdict = d->verdict;
			snprintf(res->reason, sizeof(res->reason), "the sandbox's verdict cannot be read back");
		}
		res->signature[0] = '\0';
		break;
	case DELIVERY_WHY_STORE_HOLDS:
		res->verdict = d->verdict;
		snprintf(res->reason, sizeof(res->reason), "the store holds this content back");
		break;
	case DELIVERY_WHY_PENDING_NOT_200:
		res->verdict = d->verdict;
		snprintf(res->reason, sizeof(res->reason), "a %ld response whose members need the sandbox is "
			 "never delivered (only a 200 is kept and judged)", r->status);
		break;
	case DELIVERY_WHY_SCAN:
		break;
	}
	refuse_verdict(x, r, res, state, in->committed ? object_id : 0);
	return keep(x);
}

/* Fetches (conditionally when stale is an approved object to revalidate),
 * then does what the delivery decision says, step by step: scan, record,
 * hold for the sandbox, and deliver or refuse. */
static int fetch_and_vet(struct exch *x, const struct fw_url_entry *stale)
{
	struct conn *c = x->c;
	struct upstream_resp resp;
	struct fw_scan_result res = { 0 };
	/* Not servable until the store says so. */
	struct delivery_in in = { .at = DELIVERY_AT_FETCH, .head = x->head, .revalidating = stale != NULL,
				  .state = FW_OBJ_QUARANTINED };
	struct delivery d;
	struct fw_err err;
	int64_t object_id = 0;
	int status = 0, state, rc = -1;

	fw_err_clear(&err);
	x->vet = (struct vet){ .c = c, .url = x->url, .head = x->head };
	upstream_on_body(c->up, vet_body_starts, &x->vet);
	rc = upstream_fetch(c->up, x->url, c->host, c->req, stale ? stale->etag : NULL,
			    stale ? stale->last_modified : NULL, &resp, &status, &err);
	upstream_on_body(c->up, NULL, NULL);
	if (rc != 0) {
		vet_drop(&x->vet);
		fw_metrics_cache(FW_METRICS_CACHE_MISS);
		return fetch_failed(x, FW_METRICS_REFUSED_UPSTREAM, status, &err);
	}
	rc = -1;
	fw_metrics_cache(stale != NULL && resp.status == 304 ? FW_METRICS_CACHE_REVALIDATED : FW_METRICS_CACHE_MISS);
	in.upstream_status = resp.status;
	in.has_body = resp.body != NULL;
	for (;;) {
		d = delivery_decide(&in);
		switch (d.send) {
		case DELIVERY_SCAN:
			vet_scan(&x->vet, &resp, &res);
			in.scan_done = true;
			in.scanned = res.doc != NULL;
			in.verdict = res.verdict;
			continue;
		case DELIVERY_COMMIT:
			state = commit(x, &resp, &res, &object_id);
			if (state < 0) {
				rc = keep(x);
				goto out;
			}
			if (stale != NULL && strcmp(stale->sha256, fw_spool_sha256(resp.body)) != 0)
				content_changed(x, stale, fw_spool_sha256(resp.body));
			in.committed = true;
			in.state = (enum fw_object_state)state;
			in.verdict = res.verdict; /* an unplannable pending body is unscannable now */
			continue;
		case DELIVERY_HOLD:
			(void)fw_sandbox_submit(c->px->deps.sandbox, object_id, NULL, 0);
			in.state = hold(x, object_id);
			in.at = DELIVERY_AT_HOLD;
			in.spooled = true;
			continue;
		case DELIVERY_SERVE_STORED:
			rc = revalidated(x, &resp, stale, d.reason);
			break;
		case DELIVERY_SEND_VETTED:
			/* Clean, or released by staff while the client was held. */
			rc = deliver_logged(x, &resp, &res, d.label, resp.body == NULL ? FW_METRICS_VERDICT_NONE :
					    in.state == FW_OBJ_RELEASED ? res.verdict : FW_VERDICT_CLEAN, object_id);
			break;
		case DELIVERY_REFUSE_PENDING:
			rc = refuse_pending(x, object_id, fw_spool_sha256(resp.body));
			break;
		case DELIVERY_REFUSE_SCANNER:
			/* Refused, and not recorded: it says nothing about the content. */
			scanner_down(x, &resp, &res);
			rc = keep(x);
			break;
		case DELIVERY_REFUSE_VERDICT:
		case DELIVERY_REFUSE_STORED:
			rc = refuse_fetched(x, &d, &resp, &res, &in, object_id);
			break;
		case DELIVERY_FETCH:
		case DELIVERY_JOIN_FLIGHT:
		case DELIVERY_LOOKUP_AGAIN:
			conn_refuse(c, FW_METRICS_REFUSED_INTERNAL, "proxy-request-refused", 500,
				    "internal error: no delivery decision", x->url, true, x->head);
			rc = -1;
			break;
		}
		break;
	}
out:
	if (resp.body != NULL)
		fw_spool_watch(resp.body, NULL);
	vet_drop(&x->vet);
	fw_scan_result_clear(&res);
	upstream_resp_clear(&resp);
	return rc;
}

static bool fresh(const struct conn *c, const struct fw_url_entry *e)
{
	time_t now = time(NULL);

	return now >= e->verified_at && (uint64_t)(now - e->verified_at) < c->cfg->cache.revalidate_after_seconds;
}

/* A follower whose leader did not land in time: 504, nothing delivered;
 * the leader's verdict will be in the store for the next request. */
static int flight_timed_out(struct exch *x)
{
	char why[256];
	const char *retry = "Retry-After: 30\r\n";
	const struct req_log l = {
		.action = "proxy-request", .outcome = FW_OUTCOME_FAILURE, .url = x->url, .verdict = "refused",
		.reason = why, .status = 504, .duration_ms = elapsed_ms(&x->t0), .ends = true, .refused = true,
		.refusal = FW_METRICS_REFUSED_BUSY,
	};

	snprintf(why, sizeof(why), "another request for this URL has been fetching and vetting it for %u s "
		 "([proxy] exchange_timeout_seconds); nothing was delivered: ask again later",
		 x->c->cfg->proxy.exchange_timeout_seconds);
	conn_event(x->c, &l);
	conn_send_text(&x->c->io, 504, why, x->close, x->head, retry, conn_ms(x->c->cfg->proxy.idle_timeout_seconds));
	return keep(x);
}

/* Follows a flight for the URL: the leader fetches (*f kept for it to
 * land); a follower waits for it. Returns 1 to fetch, 0 to look the URL
 * up again, else the request's end (refused). */
static int join_flight(struct exch *x, struct flight **f, int *rc)
{
	struct conn *c = x->c;
	enum flight_role role = FLIGHT_LEADER;

	*f = flight_join(&c->px->flights, x->url, conn_ms(c->cfg->proxy.exchange_timeout_seconds), &role);
	if (role == FLIGHT_LEADER)
		return 1;
	flight_leave(&c->px->flights, *f);
	*f = NULL;
	if (role == FLIGHT_TIMEOUT) {
		*rc = flight_timed_out(x);
		return -1;
	}
	if (role == FLIGHT_STOPPING) {
		conn_refuse(c, FW_METRICS_REFUSED_BUSY, "proxy-request-refused", 503,
			    "the gateway is stopping; nothing was delivered", x->url, true, x->head);
		*rc = -1;
		return -1;
	}
	return 0;
}

/* The store first; then one fetch per URL however many ask at once. */
static int serve_url(struct exch *x)
{
	struct conn *c = x->c;
	struct fw_url_entry e;
	struct flight *f = NULL;
	struct delivery_in in = { .at = DELIVERY_AT_LOOKUP, .head = x->head };
	struct delivery d;
	struct fw_err err;
	int found, rc = -1, j;

	for (;;) {
		fw_err_clear(&err);
		found = fw_store_lookup_url(c->px->deps.store, x->url, &e, &err);
		if (found < 0) {
			conn_refuse(c, FW_METRICS_REFUSED_STORE, "proxy-request-refused", 503, fw_err_msg(&err), x->url,
				    x->close, x->head);
			return keep(x);
		}
		in.at = DELIVERY_AT_LOOKUP;
		in.found = found == 1;
		in.state = found == 1 ? e.state : FW_OBJ_QUARANTINED;
		in.fresh = found == 1 && fresh(c, &e);
		d = delivery_decide(&in);
		if (d.send == DELIVERY_HOLD) {
			/* Under analysis: held like the first request, then
			 * answered from the store with whatever is known. */
			struct delivery held;

			in.at = DELIVERY_AT_HOLD;
			in.state = hold(x, e.object_id);
			held = delivery_decide(&in);
			if (held.send == DELIVERY_REFUSE_PENDING)
				return refuse_pending(x, e.object_id, e.sha256);
			continue; /* DELIVERY_LOOKUP_AGAIN */
		}
		if (d.send == DELIVERY_REFUSE_STORED)
			return refuse_stored(x, &e);
		if (d.send == DELIVERY_SERVE_STORED) {
			fw_metrics_cache(FW_METRICS_CACHE_HIT);
			return serve_stored(x, &e, d.reason);
		}
		if (d.send == DELIVERY_FETCH)
			break;
		if (d.send != DELIVERY_JOIN_FLIGHT) {
			/* A decision this loop does not know: refused, never fetched
			 * and delivered by default. */
			conn_refuse(c, FW_METRICS_REFUSED_INTERNAL, "proxy-request-refused", 500,
				    "internal error: no delivery decision", x->url, true, x->head);
			return -1;
		}
		j = join_flight(x, &f, &rc);
		if (j < 0)
			return rc;
		if (j == 1)
			break;
		in.waited = true;
	}
	rc = fetch_and_vet(x, found == 1 ? &e : NULL);
	if (f != NULL) {
		flight_land(&c->px->flights, f);
		flight_leave(&c->px->flights, f);
	}
	return rc;
}

int exchange_handle(struct conn *c)
{
	const struct http_req *r = c->req;
	struct exch x = { .c = c, .head = r->method == HTTP_HEAD, .close = r->connection_close };
	struct fw_err err;

	fw_err_clear(&err);
	clock_gettime(CLOCK_MONOTONIC, &x.t0);
	if (r->method != HTTP_GET && r->method != HTTP_HEAD) {
		conn_refuse(c, FW_METRICS_REFUSED_MALFORMED, "proxy-request-refused", 405, "only GET and HEAD are served",
			    NULL, true, false);
		return -1;
	}
	if (request_url(c, x.url, sizeof(x.url), &err) != 0) {
		conn_refuse(c, FW_METRICS_REFUSED_MALFORMED, "proxy-request-refused", 400, fw_err_msg(&err), NULL, true,
			    x.head);
		return -1;
	}
	fw_allowlist_decide_url(c->px->deps.allow, x.url, &x.d);
	if (x.d.decision != FW_DECISION_ALLOW) {
		conn_refuse(c, FW_METRICS_REFUSED_POLICY, "proxy-request-refused", 403, x.d.reason, x.url, x.close,
			    x.head);
		return keep(&x);
	}
	return serve_url(&x);
}
