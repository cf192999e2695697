/* One client connection: the CONNECT decision, the TLS interception, then
 * each request inside the tunnel: decide, fetch into the spool, deliver
 * once complete. Every way a connection or request ends goes through
 * conn_refuse or a logged delivery, so the client, the event and the
 * reason always agree. Parses no archive and scans nothing. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "proxy/conn_io.h"
#include "proxy/proxy_int.h"
#include "proxy/request.h"
#include "proxy/upstream.h"

#define BODY_CHUNK (256 * 1024)
/* Bounds of the lingering close. */
#define LINGER_MS 1000
#define LINGER_MAX_BYTES (1024 * 1024)

struct conn {
	struct fw_proxy *px;
	const struct fw_config *cfg;
	struct conn_io io;
	struct fw_http_req *req;
	struct fw_upstream *up;
	char client_ip[64];
	char host[FW_HOST_MAX];     /* CONNECT host, normalized */
	uint16_t port;
	char authority[FW_HOST_MAX + 8];
	unsigned requests;
	uint64_t bytes_out;
	struct timespec started;
};

static double elapsed_ms(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - since->tv_sec) * 1e3 + (double)(now.tv_nsec - since->tv_nsec) / 1e6;
}

static unsigned ms(unsigned seconds)
{
	return seconds * 1000u;
}

struct req_log {
	const char *action;
	enum fw_outcome outcome;
	const char *url;
	const char *verdict;
	const char *reason;
	const char *sha256;
	int status;
	long upstream_status;
	uint64_t bytes;
	double duration_ms;
	const struct fw_scan_result *scan;  /* the verdict, when the body was vetted */
	const char *incident;
};

static void conn_event(struct conn *c, const struct req_log *l)
{
	struct fw_event_field extra[10];
	size_t n = 0;
	struct fw_event ev = {
		.action = l->action,
		.outcome = l->outcome,
		.url = l->url,
		.domain = c->host[0] ? c->host : NULL,
		.source_ip = c->client_ip,
		.sha256 = l->sha256,
		.rule = c->px->deps.pol->rule,
		.verdict = l->verdict,
		.reason = l->reason,
		.extra = extra,
	};

	if (l->status)
		extra[n++] = (struct fw_event_field){ .key = "http.response.status_code", .num = l->status };
	if (l->upstream_status)
		extra[n++] = (struct fw_event_field){ .key = "fwgate.upstream.status_code", .num = l->upstream_status };
	if (l->bytes)
		extra[n++] = (struct fw_event_field){ .key = "http.response.body.bytes", .num = (long long)l->bytes };
	if (l->duration_ms > 0)
		extra[n++] = (struct fw_event_field){ .key = "event.duration", .num = (long long)(l->duration_ms * 1e6) };
	if (c->port)
		extra[n++] = (struct fw_event_field){ .key = "destination.port", .num = c->port };
	if (l->incident != NULL)
		extra[n++] = (struct fw_event_field){ .key = "fwgate.incident", .str = l->incident };
	if (l->scan != NULL && l->scan->signature[0] != '\0')
		extra[n++] = (struct fw_event_field){ .key = "fwgate.signature", .str = l->scan->signature };
	if (l->scan != NULL && l->scan->member[0] != '\0')
		extra[n++] = (struct fw_event_field){ .key = "fwgate.member", .str = l->scan->member };
	if (l->scan != NULL && l->scan->member_sha256[0] != '\0')
		extra[n++] = (struct fw_event_field){ .key = "fwgate.member.sha256", .str = l->scan->member_sha256 };
	ev.n_extra = n;
	fw_evlog_emit(c->px->deps.log, &ev);
}

/* Refuses the current request: the client gets status and the reason,
 * the event log gets the same sentence. */
static void conn_refuse(struct conn *c, const char *action, int status, const char *reason,
			const char *url, bool close, bool head)
{
	const struct req_log l = {
		.action = action, .outcome = FW_OUTCOME_FAILURE, .url = url, .verdict = "refused",
		.reason = reason, .status = status,
	};

	conn_event(c, &l);
	conn_send_text(&c->io, status, reason, close, head, NULL, ms(c->cfg->proxy.idle_timeout_seconds));
}

/* Plain-connection requests: only CONNECT is served. */
static int refuse_non_connect(struct conn *c)
{
	const struct fw_http_req *r = c->req;

	if (r->target_len >= 7 && strncasecmp(r->target, "http://", 7) == 0)
		conn_refuse(c, "proxy-refused", 403,
			    "plain-HTTP proxying is refused: this gateway serves HTTPS only (use CONNECT)",
			    NULL, true, false);
	else
		conn_refuse(c, "proxy-refused", r->method == FW_HTTP_OTHER ? 405 : 400,
			    "this is an HTTPS forward proxy: send CONNECT host:port", NULL, true, false);
	return -1;
}

/* CONNECT host:port: parse, decide before any TLS, answer 200. */
static int handle_connect(struct conn *c, size_t head_len)
{
	struct fw_decision_result d;
	struct fw_err err;
	char raw[FW_HOST_MAX + 2];

	fw_err_clear(&err);
	if (fw_http_parse_authority(c->req->target, c->req->target_len, raw, sizeof(raw), &c->port, 0,
				    &err) != 0) {
		conn_refuse(c, "proxy-connect-refused", 400, fw_err_msg(&err), NULL, true, false);
		return -1;
	}
	if (c->io.len > head_len) {
		conn_refuse(c, "proxy-connect-refused", 400,
			    "data was sent after CONNECT before the tunnel was established", NULL, true, false);
		return -1;
	}
	conn_consume(&c->io, head_len);
	fw_allowlist_decide_connect(c->px->deps.allow, raw, c->port, &d);
	if (fw_host_normalize(raw, c->host, sizeof(c->host)) != 0)
		snprintf(c->host, sizeof(c->host), "%s", "");
	if (d.decision != FW_DECISION_ALLOW) {
		conn_refuse(c, "proxy-connect-refused", 403, d.reason, NULL, true, false);
		return -1;
	}
	snprintf(c->authority, sizeof(c->authority), "%s:%u", c->host, (unsigned)c->port);
	if (c->px->deps.pol->logging.log_start) {
		const struct req_log l = {
			.action = "proxy-connect", .outcome = FW_OUTCOME_SUCCESS, .verdict = "allowed",
			.reason = d.reason,
		};
		conn_event(c, &l);
	}
	return 0;
}

/* Mints (or reuses) the leaf, answers 200 and runs the handshake. */
static int open_tunnel(struct conn *c)
{
	static const char established[] = "HTTP/1.1 200 Connection established\r\n\r\n";
	bool minted = false;
	struct fw_err err;
	X509 *leaf;

	fw_err_clear(&err);
	leaf = fw_mint_leaf(c->px->mint, c->host, &minted, &err);
	if (leaf == NULL) {
		conn_refuse(c, "proxy-connect-refused", 500, fw_err_msg(&err), NULL, true, false);
		return -1;
	}
	if (minted) {
		const struct req_log l = {
			.action = "proxy-leaf-minted", .outcome = FW_OUTCOME_SUCCESS,
			.reason = "leaf certificate minted for the CONNECT host",
		};
		conn_event(c, &l);
	}
	if (conn_write_all(&c->io, established, sizeof(established) - 1,
			   ms(c->cfg->proxy.head_timeout_seconds)) != 0) {
		X509_free(leaf);
		return -1;
	}
	c->io.ssl = fw_tls_accept(c->px->ssl_ctx, c->io.fd, c->host, leaf, fw_mint_key(c->px->mint),
				  ms(c->cfg->proxy.head_timeout_seconds), &err);
	X509_free(leaf);
	if (c->io.ssl == NULL) {
		const struct req_log l = {
			.action = "proxy-tls-refused", .outcome = FW_OUTCOME_FAILURE, .verdict = "refused",
			.reason = fw_err_msg(&err),
		};
		conn_event(c, &l);
		return -1;
	}
	return 0;
}


/* Checks the request against its tunnel and builds its URL: the target is
 * a path, or an absolute https URL for the tunnel's authority, and Host
 * names the tunnel's host and port (a tunnel opened for one host must not
 * carry requests for another). */
static int request_url(struct conn *c, char *url, size_t len, struct fw_err *err)
{
	const struct fw_http_req *r = c->req;
	const char *path = r->target;
	size_t plen = r->target_len;
	char h[FW_HOST_MAX + 2], hn[FW_HOST_MAX];
	uint16_t port = 0;
	int n;

	if (plen >= 8 && strncasecmp(path, "https://", 8) == 0) {
		const char *slash = memchr(path + 8, '/', plen - 8);
		size_t alen = slash != NULL ? (size_t)(slash - path - 8) : plen - 8;

		if (fw_http_parse_authority(path + 8, alen, h, sizeof(h), &port, 443, err) != 0)
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
	if (fw_http_parse_authority(r->host->value, r->host->value_len, h, sizeof(h), &port, 443, err) != 0)
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
static int deliver(struct conn *c, const struct fw_upstream_resp *r, bool head, bool close)
{
	size_t cap = r->fields_len + 512, hl;
	unsigned tmo = ms(c->cfg->proxy.idle_timeout_seconds);
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
		off += (uint64_t)got;
	}
	c->bytes_out += size;
	rc = 0;
out:
	free(body);
	free(hdr);
	return rc;
}

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

/* The scanner's verdict on a complete body. Only `clean` is delivered;
 * anything else is refused with the verdict's reason and an incident id
 * that staff find in the event log. Returns 0 to deliver. */
static int vet(struct conn *c, const char *url, const struct fw_upstream_resp *r, const struct timespec *t0,
	       bool close, bool head)
{
	struct fw_scan_result res = { 0 };
	unsigned char rnd[8];
	char name[256], incident[32], page[2 * FW_ERR_MSG_MAX + 128];
	int rc = -1;

	url_name(url, c->host, name, sizeof(name));
	if (fw_scanner_scan_fd(c->px->deps.scanner, fw_spool_fd(r->body), name, fw_spool_sha256(r->body), &res) != 0)
		fw_scan_result_fail(&res, "the download could not be handed to the scanner");
	if (res.verdict == FW_VERDICT_CLEAN) {
		rc = 0;
		goto out;
	}
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		memset(rnd, 0, sizeof(rnd));
	snprintf(incident, sizeof(incident), "FW-%02X%02X%02X%02X%02X%02X%02X%02X", rnd[0], rnd[1], rnd[2], rnd[3],
		 rnd[4], rnd[5], rnd[6], rnd[7]);
	if (res.verdict == FW_VERDICT_INFECTED && res.signature[0] != '\0')
		snprintf(page, sizeof(page), "blocked: the download is infected: signature %s in %s (incident %s)",
			 res.signature, res.member, incident);
	else
		snprintf(page, sizeof(page), "blocked and held for review: the download is %s: %s (incident %s)",
			 fw_verdict_name(res.verdict), res.reason, incident);
	{
		const struct req_log l = {
			.action = "proxy-request", .outcome = FW_OUTCOME_FAILURE, .url = url,
			.verdict = fw_verdict_name(res.verdict), .reason = page, .sha256 = fw_spool_sha256(r->body),
			.status = 403, .upstream_status = r->status, .bytes = fw_spool_size(r->body),
			.duration_ms = elapsed_ms(t0), .scan = &res, .incident = incident,
		};

		conn_event(c, &l);
	}
	conn_send_text(&c->io, 403, page, close, head, NULL, ms(c->cfg->proxy.idle_timeout_seconds));
out:
	fw_scan_result_clear(&res);
	return rc;
}

/* One request inside the tunnel. Returns 0 to keep the connection. */
static int handle_request(struct conn *c)
{
	const struct fw_http_req *r = c->req;
	bool head = r->method == FW_HTTP_HEAD, close = r->connection_close;
	struct fw_upstream_resp resp;
	struct fw_decision_result d;
	struct timespec t0;
	struct fw_err err;
	char url[FW_HTTP_MAX_TARGET + FW_HOST_MAX + 16];
	int status = 0;

	fw_err_clear(&err);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (r->method != FW_HTTP_GET && r->method != FW_HTTP_HEAD) {
		conn_refuse(c, "proxy-request-refused", 405, "only GET and HEAD are served", NULL, true, false);
		return -1;
	}
	if (request_url(c, url, sizeof(url), &err) != 0) {
		conn_refuse(c, "proxy-request-refused", 400, fw_err_msg(&err), NULL, true, head);
		return -1;
	}
	fw_allowlist_decide_url(c->px->deps.allow, url, &d);
	if (d.decision != FW_DECISION_ALLOW) {
		conn_refuse(c, "proxy-request-refused", 403, d.reason, url, close, head);
		return close ? -1 : 0;
	}
	if (fw_upstream_fetch(c->up, url, c->host, r, &resp, &status, &err) != 0) {
		const struct req_log l = {
			.action = "proxy-request", .outcome = FW_OUTCOME_FAILURE, .url = url,
			.verdict = "refused", .reason = fw_err_msg(&err), .status = status,
			.duration_ms = elapsed_ms(&t0),
		};

		conn_event(c, &l);
		conn_send_text(&c->io, status, fw_err_msg(&err), close, head, NULL,
			       ms(c->cfg->proxy.idle_timeout_seconds));
		return close ? -1 : 0;
	}
	if (resp.body != NULL && vet(c, url, &resp, &t0, close, head) != 0) {
		fw_upstream_resp_clear(&resp);
		return close ? -1 : 0;
	}
	status = deliver(c, &resp, head, close);
	if (c->px->deps.pol->logging.log_end || status != 0) {
		const struct req_log l = {
			.action = "proxy-request",
			.outcome = status == 0 ? FW_OUTCOME_SUCCESS : FW_OUTCOME_FAILURE,
			.url = url, .verdict = status == 0 ? (resp.body ? "clean" : "delivered") : "delivery-failed",
			.reason = status == 0 ? d.reason : "the client connection failed during delivery",
			.sha256 = resp.body ? fw_spool_sha256(resp.body) : NULL,
			.status = (int)resp.status, .upstream_status = resp.status,
			.bytes = resp.body ? fw_spool_size(resp.body) : 0, .duration_ms = elapsed_ms(&t0),
		};

		conn_event(c, &l);
	}
	fw_upstream_resp_clear(&resp);
	return status != 0 || close ? -1 : 0;
}

/* The requests of an open tunnel, until close, idle timeout or error. */
static void serve_tunnel(struct conn *c)
{
	struct fw_err err;

	if (fw_upstream_new(&c->up, c->cfg, &err) != 0) {
		conn_refuse(c, "proxy-request-refused", 500, fw_err_msg(&err), NULL, true, false);
		return;
	}
	while (!proxy_stopping(c->px)) {
		size_t head_len = 0;
		int status = 400, st;

		fw_err_clear(&err);
		switch (conn_read_head(&c->io, ms(c->cfg->proxy.idle_timeout_seconds),
				       ms(c->cfg->proxy.head_timeout_seconds), &head_len, &status, &err)) {
		case HEAD_CLOSED:
			return;
		case HEAD_REFUSE:
			conn_refuse(c, "proxy-request-refused", status, fw_err_msg(&err), NULL, true, false);
			return;
		case HEAD_OK:
			break;
		}
		st = fw_http_parse_head(c->io.buf, head_len, c->cfg->proxy.max_headers, c->req, &err);
		if (st != 0) {
			conn_refuse(c, "proxy-request-refused", st, fw_err_msg(&err), NULL, true, false);
			return;
		}
		c->requests++;
		st = handle_request(c);
		conn_consume(&c->io, head_len);
		if (st != 0)
			return;
	}
}

/* The first head on the plain connection must be an allowed CONNECT. */
static int serve_plain(struct conn *c)
{
	size_t head_len = 0;
	struct fw_err err;
	int status = 400, st;

	fw_err_clear(&err);
	switch (conn_read_head(&c->io, ms(c->cfg->proxy.head_timeout_seconds),
			       ms(c->cfg->proxy.head_timeout_seconds), &head_len, &status, &err)) {
	case HEAD_CLOSED:
		return -1;
	case HEAD_REFUSE:
		conn_refuse(c, "proxy-refused", status, fw_err_msg(&err), NULL, true, false);
		return -1;
	case HEAD_OK:
		break;
	}
	st = fw_http_parse_head(c->io.buf, head_len, c->cfg->proxy.max_headers, c->req, &err);
	if (st != 0) {
		conn_refuse(c, "proxy-refused", st, fw_err_msg(&err), NULL, true, false);
		return -1;
	}
	if (c->req->method != FW_HTTP_CONNECT)
		return refuse_non_connect(c);
	if (handle_connect(c, head_len) != 0)
		return -1;
	return open_tunnel(c);
}

/* Lingering close (RFC 9112 9.6): half-close, then read and drop what
 * the client still sends, bounded in bytes and time. Closing with unread
 * bytes in the receive queue makes the kernel send a reset, which can
 * destroy the refusal the client has not read yet. */
static void linger_close(int fd)
{
	uint8_t sink[16384];
	size_t drained = 0;
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (shutdown(fd, SHUT_WR) == 0) {
		while (drained < LINGER_MAX_BYTES) {
			double left = LINGER_MS - elapsed_ms(&t0);
			struct pollfd pfd = { .fd = fd, .events = POLLIN };
			ssize_t n;

			if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
				break;
			n = recv(fd, sink, sizeof(sink), 0);
			if (n <= 0 && !(n < 0 && (errno == EINTR || errno == EAGAIN)))
				break;
			if (n > 0)
				drained += (size_t)n;
		}
	}
	close(fd);
}

static void conn_free(struct conn *c)
{
	if (c->io.ssl != NULL) {
		SSL_shutdown(c->io.ssl);
		SSL_free(c->io.ssl);
	}
	linger_close(c->io.fd);
	fw_upstream_free(c->up);
	free(c->io.buf);
	free(c->req);
	free(c);
}

void *proxy_conn_main(void *arg)
{
	struct proxy_conn_arg a = *(struct proxy_conn_arg *)arg;
	struct conn *c = calloc(1, sizeof(*c));
	int one = 1;

	free(arg);
	if (c == NULL) {
		close(a.fd);
		proxy_conn_done(a.px, a.slot);
		return NULL;
	}
	c->px = a.px;
	c->cfg = a.px->deps.cfg;
	c->io.fd = a.fd;
	snprintf(c->client_ip, sizeof(c->client_ip), "%s", a.client_ip);
	clock_gettime(CLOCK_MONOTONIC, &c->started);
	c->io.cap = c->cfg->proxy.max_head_bytes + 1;
	c->io.buf = malloc(c->io.cap + 1);
	c->req = malloc(sizeof(*c->req));
	setsockopt(a.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (c->io.buf != NULL && c->req != NULL &&
	    fcntl(a.fd, F_SETFL, fcntl(a.fd, F_GETFL) | O_NONBLOCK) == 0 && serve_plain(c) == 0) {
		serve_tunnel(c);
		if (c->px->deps.pol->logging.log_end) {
			char why[64];
			const struct req_log l = {
				.action = "proxy-tunnel-end", .outcome = FW_OUTCOME_SUCCESS, .reason = why,
				.bytes = c->bytes_out, .duration_ms = elapsed_ms(&c->started),
			};

			snprintf(why, sizeof(why), "%u request(s) served in the tunnel", c->requests);
			conn_event(c, &l);
		}
	}
	conn_free(c);
	proxy_conn_done(a.px, a.slot);
	return NULL;
}
