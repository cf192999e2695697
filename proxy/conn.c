/* One client connection: the CONNECT decision, the TLS interception, then
 * each request inside the tunnel: decide, fetch into the spool, deliver
 * once complete. Every way a request ends goes through conn_refuse or a
 * logged delivery, and every connection ends through conn_close, which
 * names how it broke when it did; so the client, the event and the
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

#include "proxy/conn.h"
#include "proxy/exchange.h"
#include "proxy/conn_io.h"
#include "proxy/proxy_int.h"
#include "proxy/request.h"
#include "proxy/upstream.h"

/* Bounds of the lingering close. */
#define LINGER_MS 1000
#define LINGER_MAX_BYTES (1024 * 1024)

/* Plain-connection requests: only CONNECT is served. */
static int refuse_non_connect(struct conn *c)
{
	const struct http_req *r = c->req;

	if (r->target_len >= 7 && strncasecmp(r->target, "http://", 7) == 0)
		conn_refuse(c, FW_METRICS_REFUSED_MALFORMED, "proxy-refused", 403,
			    "plain-HTTP proxying is refused: this gateway serves HTTPS only (use CONNECT)",
			    NULL, true, false);
	else
		conn_refuse(c, FW_METRICS_REFUSED_MALFORMED, "proxy-refused", r->method == HTTP_OTHER ? 405 : 400,
			    "this is an HTTPS forward proxy: send CONNECT host:port", NULL, true, false);
	return -1;
}

/* [proxy] auth = basic: the CONNECT must carry the appliance's proxy
 * credentials; else 407, before the policy is asked about the host (an
 * unknown client learns nothing of the allow-list). */
static int authenticate(struct conn *c)
{
	static const char challenge[] = "Proxy-Authenticate: Basic realm=\"fwgate\", charset=\"UTF-8\"\r\n";
	char user[FW_PROXY_USER_NAME_MAX + 1], why[FW_ERR_MSG_MAX + 128];
	struct fw_err err;

	if (c->px->auth == NULL)
		return 0;
	fw_err_clear(&err);
	if (proxy_auth_check(c->px->auth, c->req, &c->src, user, sizeof(user), &err) == 0)
		return 0;
	snprintf(why, sizeof(why), "%s%s%s%s", fw_err_msg(&err), user[0] ? " (user \"" : "", user, user[0] ? "\")" : "");
	{
		const struct req_log l = {
			.action = "proxy-auth-refused", .outcome = FW_OUTCOME_FAILURE, .verdict = "refused",
			.reason = why, .status = 407, .ends = true, .refused = true, .refusal = FW_METRICS_REFUSED_AUTH,
		};

		conn_event(c, &l);
	}
	conn_send_text(&c->io, 407, fw_err_msg(&err), true, false, challenge,
		       conn_ms(c->cfg->proxy.head_timeout_seconds));
	return -1;
}

/* CONNECT host:port: authenticate, parse, decide before any TLS, answer 200. */
static int handle_connect(struct conn *c, size_t head_len)
{
	struct fw_decision_result d;
	struct fw_err err;
	char raw[FW_HOST_MAX + 2];

	fw_err_clear(&err);
	if (authenticate(c) != 0)
		return -1;
	if (http_parse_authority(c->req->target, c->req->target_len, raw, sizeof(raw), &c->port, 0,
				    &err) != 0) {
		conn_refuse(c, FW_METRICS_REFUSED_MALFORMED, "proxy-connect-refused", 400, fw_err_msg(&err), NULL, true,
			    false);
		return -1;
	}
	if (c->io.len > head_len) {
		conn_refuse(c, FW_METRICS_REFUSED_MALFORMED, "proxy-connect-refused", 400,
			    "data was sent after CONNECT before the tunnel was established", NULL, true, false);
		return -1;
	}
	conn_consume(&c->io, head_len);
	fw_allowlist_decide_connect(c->px->deps.allow, raw, c->port, &d);
	if (fw_host_normalize(raw, c->host, sizeof(c->host)) != 0)
		snprintf(c->host, sizeof(c->host), "%s", "");
	if (d.decision != FW_DECISION_ALLOW) {
		conn_refuse(c, FW_METRICS_REFUSED_POLICY, "proxy-connect-refused", 403, d.reason, NULL, true, false);
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
	leaf = tls_mint_leaf(c->px->mint, c->host, &minted, &err);
	if (leaf == NULL) {
		conn_refuse(c, FW_METRICS_REFUSED_TLS, "proxy-connect-refused", 500, fw_err_msg(&err), NULL, true, false);
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
			   conn_ms(c->cfg->proxy.head_timeout_seconds)) != 0) {
		conn_broke(c, "the client went away before the tunnel was established (%s)", strerror(errno));
		X509_free(leaf);
		return -1;
	}
	c->io.ssl = tls_accept(c->px->ssl_ctx, c->io.fd, c->host, leaf, tls_mint_key(c->px->mint),
				  conn_ms(c->cfg->proxy.head_timeout_seconds), &err);
	X509_free(leaf);
	if (c->io.ssl == NULL) {
		const struct req_log l = {
			.action = "proxy-tls-refused", .outcome = FW_OUTCOME_FAILURE, .verdict = "refused",
			.reason = fw_err_msg(&err), .ends = true, .refused = true, .refusal = FW_METRICS_REFUSED_TLS,
		};
		conn_event(c, &l);
		return -1;
	}
	c->tunnel = true;
	{
		/* A CONNECT ends when its tunnel is up: counted once, here. */
		const struct req_log l = { .outcome = FW_OUTCOME_SUCCESS, .ends = true };

		conn_count(&l);
	}
	return 0;
}

static bool upstream_cancelled(void *arg)
{
	return proxy_stopping(arg);
}

/* The requests of an open tunnel, until close, idle timeout or error. */
static void serve_tunnel(struct conn *c)
{
	struct fw_err err;

	if (upstream_new(&c->up, c->cfg, upstream_cancelled, c->px, &err) != 0) {
		conn_refuse(c, FW_METRICS_REFUSED_INTERNAL, "proxy-request-refused", 500, fw_err_msg(&err), NULL, true,
			    false);
		return;
	}
	while (!proxy_stopping(c->px)) {
		size_t head_len = 0;
		int status = 400, st;

		fw_err_clear(&err);
		switch (conn_read_head(&c->io, conn_ms(c->cfg->proxy.idle_timeout_seconds),
				       conn_ms(c->cfg->proxy.head_timeout_seconds), false, &head_len, &status, &err)) {
		case HEAD_CLOSED:
		case HEAD_IDLE:
			return;
		case HEAD_BROKEN:
			conn_broke(c, "the connection broke in the tunnel after %u request(s): %s", c->requests,
				   fw_err_msg(&err));
			return;
		case HEAD_REFUSE:
			conn_refuse(c, FW_METRICS_REFUSED_MALFORMED, "proxy-request-refused", status, fw_err_msg(&err),
				    NULL, true, false);
			return;
		case HEAD_OK:
			break;
		}
		st = http_parse_head(c->io.buf, head_len, c->cfg->proxy.max_headers, c->req, &err);
		if (st != 0) {
			conn_refuse(c, FW_METRICS_REFUSED_MALFORMED, "proxy-request-refused", st, fw_err_msg(&err),
				    NULL, true, false);
			return;
		}
		c->requests++;
		st = exchange_handle(c);
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
	enum head_result hr;

	fw_err_clear(&err);
	/* The CONNECT head has head_timeout_seconds from the connection on,
	 * in all: a client that trickles bytes does not keep a slot longer. */
	hr = conn_read_head(&c->io, conn_ms(c->cfg->proxy.head_timeout_seconds),
			    conn_ms(c->cfg->proxy.head_timeout_seconds), true, &head_len, &status, &err);
	if (hr != HEAD_OK && proxy_conn_preempted(c->px, c->slot)) {
		conn_broke(c, "preempted: every connection slot was taken and this connection had sent no request "
			   "for over %d ms", PREEMPT_MIN_MS);
		return -1;
	}
	switch (hr) {
	case HEAD_CLOSED:
		conn_broke(c, "the client closed the connection without sending a request");
		return -1;
	case HEAD_BROKEN:
		conn_broke(c, "the connection broke before a request: %s", fw_err_msg(&err));
		return -1;
	case HEAD_IDLE:
		fw_err_set(&err, "no request arrived within %u s", c->cfg->proxy.head_timeout_seconds);
		conn_refuse(c, FW_METRICS_REFUSED_MALFORMED, "proxy-refused", 408, fw_err_msg(&err), NULL, true, false);
		return -1;
	case HEAD_REFUSE:
		conn_refuse(c, FW_METRICS_REFUSED_MALFORMED, "proxy-refused", status, fw_err_msg(&err), NULL, true,
			    false);
		return -1;
	case HEAD_OK:
		break;
	}
	proxy_conn_head_done(c->px, c->slot);
	st = http_parse_head(c->io.buf, head_len, c->cfg->proxy.max_headers, c->req, &err);
	if (st != 0) {
		conn_refuse(c, FW_METRICS_REFUSED_MALFORMED, "proxy-refused", st, fw_err_msg(&err), NULL, true, false);
		return -1;
	}
	if (c->req->method != HTTP_CONNECT)
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
			int pr;

			if (left <= 0)
				break;
			pr = poll(&pfd, 1, (int)left);
			if (pr < 0 && errno == EINTR)
				continue;   /* a signal (the start's capability drop) */
			if (pr <= 0)
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
	/* Out of the slot table before the number is closed and reused. */
	proxy_conn_forget_fd(c->px, c->slot);
	linger_close(c->io.fd);
	upstream_free(c->up);
	free(c->io.buf);
	free(c->req);
	free(c);
}

/* The one way a connection ends: an event when it broke (the first
 * cause), or the tunnel's summary when the policy logs ends; then the
 * lingering close. */
static void conn_close(struct conn *c)
{
	if (c->why[0] != '\0') {
		const struct req_log l = {
			.action = "proxy-connection-closed", .outcome = FW_OUTCOME_FAILURE, .verdict = "broken",
			.reason = c->why, .bytes = c->bytes_out, .duration_ms = elapsed_ms(&c->started),
		};

		conn_event(c, &l);
	} else if (c->tunnel && c->px->deps.pol->logging.log_end) {
		char why[64];
		const struct req_log l = {
			.action = "proxy-tunnel-end", .outcome = FW_OUTCOME_SUCCESS, .reason = why,
			.bytes = c->bytes_out, .duration_ms = elapsed_ms(&c->started),
		};

		snprintf(why, sizeof(why), "%u request(s) served in the tunnel", c->requests);
		conn_event(c, &l);
	}
	conn_free(c);
}

void *proxy_conn_main(void *arg)
{
	struct proxy_conn_arg a = *(struct proxy_conn_arg *)arg;
	struct conn *c = calloc(1, sizeof(*c));
	int one = 1;

	free(arg);
	if (c == NULL) {
		proxy_conn_forget_fd(a.px, a.slot);
		close(a.fd);
		proxy_conn_done(a.px, a.slot, &a.src);
		return NULL;
	}
	c->px = a.px;
	c->cfg = a.px->deps.cfg;
	c->io.fd = a.fd;
	c->src = a.src;
	c->slot = a.slot;
	snprintf(c->client_ip, sizeof(c->client_ip), "%s", a.client_ip);
	clock_gettime(CLOCK_MONOTONIC, &c->started);
	c->io.cap = c->cfg->proxy.max_head_bytes + 1;
	c->io.buf = malloc(c->io.cap + 1);
	c->req = malloc(sizeof(*c->req));
	setsockopt(a.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (c->io.buf == NULL || c->req == NULL)
		conn_broke(c, "out of memory for the connection");
	else if (fcntl(a.fd, F_SETFL, fcntl(a.fd, F_GETFL) | O_NONBLOCK) != 0)
		conn_broke(c, "cannot set up the connection: %s", strerror(errno));
	else if (serve_plain(c) == 0)
		serve_tunnel(c);
	conn_close(c);
	proxy_conn_done(a.px, a.slot, &a.src);
	return NULL;
}
