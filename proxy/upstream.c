/* Upstream fetch through libcurl. The gateway trusts the vendor only as
 * far as strict TLS verification goes: HTTPS only, TLS 1.2+, peer and host
 * name verified, OpenSSL security level 2 (no weak keys or SHA-1), no
 * redirects followed, and the address actually connected to checked
 * against private ranges. Bytes are stored exactly as sent: the gateway
 * sends no Accept-Encoding and decodes nothing. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "fwgate/metrics.h"
#include "proxy/upstream.h"

struct upstream {
	CURL *easy;
	const struct fw_config *cfg;
	upstream_cancel_fn cancel;
	void *cancel_arg;
	bool cancelled;
	struct curl_slist *resolve;
	char errbuf[CURL_ERROR_SIZE];
	/* per fetch */
	const char *host;
	struct upstream_resp *resp;
	size_t head_bytes;
	bool head_too_big;
	bool bad_length;
	bool addr_refused;
	bool no_san;             /* the vendor's leaf names no DNS or IP subjectAltName */
	struct fw_decision_result addr_why;
	struct fw_err spool_err;
	bool spool_failed;
	upstream_body_fn on_body;  /* told once, before the first body byte */
	void *on_body_arg;
	bool body_started;
};

/* Response fields passed to the client; everything else (hop-by-hop,
 * framing, cookies for other hosts' logic) stays with the gateway. */
static const char *const pass_fields[] = {
	"content-type", "content-encoding", "content-disposition", "content-language",
	"etag", "last-modified", "cache-control", "expires", "location", "retry-after",
	"date", "vary", "www-authenticate", NULL,
};

/* Request fields never forwarded (RFC 9110 7.6.1 hop-by-hop, framing, and
 * what the gateway decides itself). */
static const char *const drop_fields[] = {
	"connection", "keep-alive", "proxy-connection", "proxy-authorization",
	"proxy-authenticate", "te", "trailer", "transfer-encoding", "upgrade", "host",
	"content-length", "accept-encoding", "range", "if-range", "expect",
	/* The gateway answers conditional requests itself, from the store,
	 * and sends its own validators when it revalidates. */
	"if-none-match", "if-modified-since", "if-match", "if-unmodified-since", NULL,
};

static bool in_list(const char *const *list, const char *name, size_t len)
{
	for (; *list; list++)
		if (strlen(*list) == len && strncasecmp(*list, name, len) == 0)
			return true;
	return false;
}

static curl_socket_t open_socket_cb(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct upstream *u = arg;

	(void)purpose;
	/* Through an egress proxy the socket goes to the proxy, which
	 * resolves the vendor's name itself. */
	if (u->cfg->upstream.proxy[0] == '\0' &&
	    !fw_allowlist_addr_check(u->host, &a->addr, a->addrlen, u->cfg->upstream.allow_private,
				     &u->addr_why)) {
		u->addr_refused = true;
		return CURL_SOCKET_BAD;
	}
	return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

/* The SSL_CTX ex-data slot that points the verify callback at its fetch. */
static int upstream_ex_idx = -1;
static pthread_once_t upstream_ex_once = PTHREAD_ONCE_INIT;

static void upstream_ex_init(void)
{
	upstream_ex_idx = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

/* True when the certificate carries a subjectAltName entry a host name
 * can match: a dNSName or an iPAddress. */
static bool has_name_san(X509 *cert)
{
	GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	bool found = false;

	for (int i = 0; names != NULL && i < sk_GENERAL_NAME_num(names); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);

		if (g->type == GEN_DNS || g->type == GEN_IPADD)
			found = true;
	}
	GENERAL_NAMES_free(names);
	return found;
}

/* Notes a leaf without a usable subjectAltName, so that the refusal says
 * so; the refusal itself comes from the name check, which never falls
 * back to the subject CN (X509_CHECK_FLAG_NEVER_CHECK_SUBJECT). */
static int verify_cb(int ok, X509_STORE_CTX *x)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(x, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct upstream *u = ssl != NULL ? SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), upstream_ex_idx) : NULL;
	X509 *cert = X509_STORE_CTX_get_current_cert(x);

	if (u != NULL && cert != NULL && X509_STORE_CTX_get_error_depth(x) == 0 && !has_name_san(cert))
		u->no_san = true;
	return ok;
}

static CURLcode ssl_ctx_cb(CURL *easy, void *ssl_ctx, void *arg)
{
	struct upstream *u = arg;
	X509_VERIFY_PARAM *param = SSL_CTX_get0_param(ssl_ctx);

	(void)easy;
	/* Level 2: RSA/DH >= 2048 bits, ECC >= 224, no SHA-1 signatures. */
	SSL_CTX_set_security_level(ssl_ctx, 2);
	/* The name check inside OpenSSL's chain verification as well as
	 * libcurl's own after it: a mismatch is then reported as exactly
	 * that (X509_V_ERR_HOSTNAME_MISMATCH), not as an unspecified error.
	 * Names only from subjectAltName, as browsers do since 2017 (RFC
	 * 6125 6.4.4, CA/B Baseline Requirements): a host name only in the
	 * subject CN is no name at all. */
	X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS |
					       X509_CHECK_FLAG_NEVER_CHECK_SUBJECT);
	if (X509_VERIFY_PARAM_set1_host(param, u->host, 0) != 1)
		return CURLE_OUT_OF_MEMORY;
	pthread_once(&upstream_ex_once, upstream_ex_init);
	if (upstream_ex_idx < 0 || SSL_CTX_set_ex_data(ssl_ctx, upstream_ex_idx, u) != 1)
		return CURLE_OUT_OF_MEMORY;
	/* libcurl set SSL_VERIFY_PEER already (CURLOPT_SSL_VERIFYPEER);
	 * the callback only observes, it never turns a failure into success. */
	SSL_CTX_set_verify(ssl_ctx, SSL_VERIFY_PEER, verify_cb);
	return CURLE_OK;
}

/* A Content-Length value: OWS 1*DIGIT OWS, at most 19 digits. */
static int parse_length(struct upstream_resp *r, const char *v, size_t n)
{
	uint64_t x = 0;
	size_t i = 0, digits = 0;

	while (i < n && (v[i] == ' ' || v[i] == '\t'))
		i++;
	for (; i < n && v[i] >= '0' && v[i] <= '9'; i++, digits++)
		x = x * 10 + (uint64_t)(v[i] - '0');
	while (i < n && (v[i] == ' ' || v[i] == '\t'))
		i++;
	if (digits == 0 || digits > 19 || i != n || (r->has_length && r->length != x))
		return -1;
	r->has_length = true;
	r->length = x;
	return 0;
}

static size_t header_cb(char *buf, size_t size, size_t n, void *arg)
{
	struct upstream *u = arg;
	struct upstream_resp *r = u->resp;
	size_t len = size * n, nl;
	const char *colon;
	char *grown;

	u->head_bytes += len;
	if (u->head_bytes > UPSTREAM_MAX_HEAD_BYTES) {
		u->head_too_big = true;
		return 0;
	}
	if (len >= 5 && memcmp(buf, "HTTP/", 5) == 0) {
		/* A new response (after 1xx): start over. */
		r->fields_len = 0;
		r->has_length = false;
		return len;
	}
	nl = len;
	while (nl > 0 && (buf[nl - 1] == '\r' || buf[nl - 1] == '\n'))
		nl--;
	colon = memchr(buf, ':', nl);
	if (colon == NULL || colon == buf)
		return len;
	for (size_t i = 0; i < nl; i++)
		if (((unsigned char)buf[i] < 0x20 && buf[i] != '\t') || buf[i] == 0x7f)
			return len; /* never relay a field with control bytes */
	if ((size_t)(colon - buf) == 14 && strncasecmp(buf, "content-length", 14) == 0) {
		/* libcurl has not published the length yet while headers
		 * arrive; read it here, digits only (libcurl itself refuses
		 * a malformed or conflicting one). */
		if (parse_length(r, colon + 1, (size_t)(buf + nl - colon - 1)) == 0)
			return len;
		u->bad_length = true;
		return 0;
	}
	if (!in_list(pass_fields, buf, (size_t)(colon - buf)))
		return len;
	grown = realloc(r->fields, r->fields_len + nl + 3);
	if (grown == NULL)
		return 0;
	r->fields = grown;
	memcpy(r->fields + r->fields_len, buf, nl);
	memcpy(r->fields + r->fields_len + nl, "\r\n", 3);
	r->fields_len += nl + 2;
	return len;
}

static size_t write_cb(char *buf, size_t size, size_t n, void *arg)
{
	struct upstream *u = arg;

	if (u->resp->body == NULL)
		return 0;
	if (!u->body_started) {
		u->body_started = true;
		if (u->on_body != NULL) {
			long status = 0;

			curl_easy_getinfo(u->easy, CURLINFO_RESPONSE_CODE, &status);
			u->on_body(u->on_body_arg, u->resp, status);
		}
	}
	if (fw_spool_write(u->resp->body, buf, size * n, &u->spool_err) != 0) {
		u->spool_failed = true;
		return 0;
	}
	fw_metrics_bytes_in(size * n);
	return size * n;
}

/* libcurl's progress callback: a stopping gateway aborts the transfer. */
static int progress_cb(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	struct upstream *u = arg;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	if (u->cancel != NULL && u->cancel(u->cancel_arg)) {
		u->cancelled = true;
		return 1;
	}
	return 0;
}

int upstream_new(struct upstream **out, const struct fw_config *cfg, upstream_cancel_fn cancel,
		    void *cancel_arg, struct fw_err *err)
{
	struct upstream *u = calloc(1, sizeof(*u));
	char entry[512];

	*out = NULL;
	if (u == NULL)
		return fw_err_setc(err, FW_E_NOMEM, "out of memory");
	u->cfg = cfg;
	u->cancel = cancel;
	u->cancel_arg = cancel_arg;
	u->easy = curl_easy_init();
	if (u->easy == NULL) {
		free(u);
		return fw_err_set(err, "cannot create a libcurl handle");
	}
	for (unsigned i = 0; i < cfg->upstream.n_resolve; i++) {
		const struct fw_resolve *r = &cfg->upstream.resolve[i];
		struct curl_slist *l;

		snprintf(entry, sizeof(entry), r->ipv6 ? "%s:%u:[%s]" : "%s:%u:%s", r->host,
			 (unsigned)r->port, r->ip);
		l = curl_slist_append(u->resolve, entry);
		if (l == NULL) {
			upstream_free(u);
			return fw_err_setc(err, FW_E_NOMEM, "out of memory");
		}
		u->resolve = l;
	}
	*out = u;
	return 0;
}

void upstream_free(struct upstream *u)
{
	if (u == NULL)
		return;
	curl_easy_cleanup(u->easy);
	curl_slist_free_all(u->resolve);
	free(u);
}

void upstream_resp_clear(struct upstream_resp *resp)
{
	free(resp->fields);
	fw_spool_discard(resp->body);
	memset(resp, 0, sizeof(*resp));
}

static int set_options(struct upstream *u, const char *url, bool head, struct curl_slist *hdrs)
{
	const struct fw_config *c = u->cfg;
	CURL *e = u->easy;
	CURLcode rc = CURLE_OK;

	curl_easy_reset(e);
#define SET(opt, val) do { if (rc == CURLE_OK) rc = curl_easy_setopt(e, opt, val); } while (0)
	SET(CURLOPT_URL, url);
	SET(CURLOPT_PROTOCOLS_STR, "https");
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	SET(CURLOPT_SSL_CTX_FUNCTION, ssl_ctx_cb);
	SET(CURLOPT_SSL_CTX_DATA, u);
	if (c->upstream.ca_file[0] != '\0')
		SET(CURLOPT_CAINFO, c->upstream.ca_file);
	if (u->resolve != NULL)
		SET(CURLOPT_RESOLVE, u->resolve);
	if (c->upstream.proxy[0] != '\0')
		SET(CURLOPT_PROXY, c->upstream.proxy);
	else
		SET(CURLOPT_PROXY, "");
	SET(CURLOPT_NOPROXY, c->upstream.proxy[0] != '\0' ? "" : "*");
	SET(CURLOPT_CONNECTTIMEOUT, (long)c->upstream.connect_timeout_seconds);
	SET(CURLOPT_LOW_SPEED_LIMIT, (long)c->upstream.low_speed_bytes);
	SET(CURLOPT_LOW_SPEED_TIME, (long)c->upstream.low_speed_seconds);
	SET(CURLOPT_TIMEOUT, (long)c->proxy.exchange_timeout_seconds);
	SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c->upstream.max_body_bytes);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_BUFFERSIZE, 512L * 1024L);
	SET(CURLOPT_NOBODY, head ? 1L : 0L);
	SET(CURLOPT_HTTPHEADER, hdrs);
	SET(CURLOPT_USERAGENT, (char *)NULL);
	SET(CURLOPT_OPENSOCKETFUNCTION, open_socket_cb);
	SET(CURLOPT_OPENSOCKETDATA, u);
	SET(CURLOPT_HEADERFUNCTION, header_cb);
	SET(CURLOPT_HEADERDATA, u);
	SET(CURLOPT_WRITEFUNCTION, write_cb);
	SET(CURLOPT_WRITEDATA, u);
	SET(CURLOPT_ERRORBUFFER, u->errbuf);
	SET(CURLOPT_NOPROGRESS, 0L);
	SET(CURLOPT_XFERINFOFUNCTION, progress_cb);
	SET(CURLOPT_XFERINFODATA, u);
#undef SET
	return rc == CURLE_OK ? 0 : -1;
}

/* The client's end-to-end request fields, minus hop-by-hop ones and
 * those named in its Connection field. */
static int build_headers(const struct http_req *req, const char *etag, const char *last_modified,
			 struct curl_slist **out)
{
	const struct http_header *conn = http_header_find(req, "connection");
	struct curl_slist *l = NULL, *n;
	char line[8192];

	/* Revalidation of a stored object: the vendor's own validators. */
	if (etag != NULL && etag[0] != '\0' && snprintf(line, sizeof(line), "If-None-Match: %s", etag) < (int)sizeof(line) &&
	    (l = curl_slist_append(l, line)) == NULL)
		return -1;
	if (last_modified != NULL && last_modified[0] != '\0' &&
	    snprintf(line, sizeof(line), "If-Modified-Since: %s", last_modified) < (int)sizeof(line)) {
		n = curl_slist_append(l, line);
		if (n == NULL) {
			curl_slist_free_all(l);
			return -1;
		}
		l = n;
	}

	for (unsigned i = 0; i < req->n_headers; i++) {
		const struct http_header *h = &req->headers[i];
		bool named = false;

		if (in_list(drop_fields, h->name, h->name_len))
			continue;
		for (size_t k = 0; conn != NULL && k + h->name_len <= conn->value_len; k++)
			if (strncasecmp(conn->value + k, h->name, h->name_len) == 0)
				named = true;
		if (named || h->name_len + h->value_len + 3 > sizeof(line))
			continue;
		/* "Name;" is libcurl's way to send a field with an empty value. */
		if (h->value_len == 0)
			snprintf(line, sizeof(line), "%.*s;", (int)h->name_len, h->name);
		else
			snprintf(line, sizeof(line), "%.*s: %.*s", (int)h->name_len, h->name,
				 (int)h->value_len, h->value);
		n = curl_slist_append(l, line);
		if (n == NULL) {
			curl_slist_free_all(l);
			return -1;
		}
		l = n;
	}
	/* libcurl adds "Accept: * / *" unless told otherwise; an absent field
	 * stays absent. */
	if (http_header_find(req, "accept") == NULL) {
		n = curl_slist_append(l, "Accept:");
		if (n == NULL) {
			curl_slist_free_all(l);
			return -1;
		}
		l = n;
	}
	*out = l;
	return 0;
}


/* Names a certificate failure in plain words from OpenSSL's verify result. */
static void explain_cert(struct upstream *u, long vr, struct fw_err *err)
{
	const char *h = u->host;

	if (u->no_san && (vr == X509_V_OK || vr == X509_V_ERR_HOSTNAME_MISMATCH)) {
		fw_err_setc(err, FW_E_DENIED, "the certificate of %s has no subjectAltName: a name only in the subject CN is not "
			   "accepted (RFC 6125 6.4.4)", h);
		return;
	}
	switch (vr) {
	case X509_V_OK:
		/* libcurl checks the host name itself, after OpenSSL's chain check. */
		fw_err_setc(err, FW_E_DENIED, "the certificate of %s does not name %s (%s)", h, h, u->errbuf);
		break;
	case X509_V_ERR_CERT_HAS_EXPIRED:
		fw_err_setc(err, FW_E_DENIED, "the certificate of %s has expired", h);
		break;
	case X509_V_ERR_CERT_NOT_YET_VALID:
		fw_err_setc(err, FW_E_DENIED, "the certificate of %s is not valid yet", h);
		break;
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
		fw_err_setc(err, FW_E_DENIED, "the certificate of %s is self-signed", h);
		break;
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
		fw_err_setc(err, FW_E_DENIED, "the certificate of %s is signed by an unknown CA", h);
		break;
	case X509_V_ERR_HOSTNAME_MISMATCH:
		fw_err_setc(err, FW_E_DENIED, "the certificate of %s does not name %s", h, h);
		break;
	case X509_V_ERR_EE_KEY_TOO_SMALL:
	case X509_V_ERR_CA_KEY_TOO_SMALL:
		fw_err_setc(err, FW_E_DENIED, "the certificate of %s has a weak key", h);
		break;
	case X509_V_ERR_CA_MD_TOO_WEAK:
		fw_err_setc(err, FW_E_DENIED, "the certificate of %s has a weak signature algorithm", h);
		break;
	case X509_V_ERR_CERT_REVOKED:
		fw_err_setc(err, FW_E_DENIED, "the certificate of %s is revoked", h);
		break;
	default:
		fw_err_setc(err, FW_E_DENIED, "the certificate of %s failed verification: %s", h,
			   X509_verify_cert_error_string(vr));
		break;
	}
}

/* Maps a failed transfer to the client's status and one sentence. */
static int explain(struct upstream *u, CURLcode rc, struct fw_err *err)
{
	long vr = X509_V_OK;
	const char *h = u->host;

	if (u->cancelled) {
		fw_err_setc(err, FW_E_BUSY, "the gateway is stopping: the fetch from %s was abandoned", h);
		return 503;
	}
	if (u->addr_refused) {
		fw_err_setc(err, FW_E_DENIED, "%s", u->addr_why.reason);
		return 502;
	}
	if (u->spool_failed) {
		if (u->resp->body != NULL && fw_spool_over_limit(u->resp->body)) {
			fw_err_setc(err, FW_E_LIMIT, "the response of %s is larger than the limit of %llu bytes", h,
				   (unsigned long long)u->cfg->upstream.max_body_bytes);
			return 502;
		}
		/* The spool's own error (a full disk is FW_E_IO) keeps its code. */
		if (!fw_err_isset(err)) {
			fw_err_copy(err, &u->spool_err);
			fw_err_prefix(err, "the download could not be stored");
		}
		return 507;
	}
	if (u->bad_length) {
		fw_err_setc(err, FW_E_INVALID, "%s sent a malformed or conflicting Content-Length", h);
		return 502;
	}
	if (u->head_too_big) {
		fw_err_setc(err, FW_E_LIMIT, "the response head of %s is larger than %d bytes", h, UPSTREAM_MAX_HEAD_BYTES);
		return 502;
	}
	switch (rc) {
	case CURLE_PEER_FAILED_VERIFICATION:
		curl_easy_getinfo(u->easy, CURLINFO_SSL_VERIFYRESULT, &vr);
		explain_cert(u, vr, err);
		return 502;
	case CURLE_SSL_CONNECT_ERROR:
		fw_err_set(err, "the TLS handshake with %s failed (TLS version or cipher refused): %s", h, u->errbuf);
		return 502;
	case CURLE_SSL_CACERT_BADFILE:
		fw_err_set(err, "the upstream CA file cannot be used: %s", u->errbuf);
		return 502;
	case CURLE_COULDNT_RESOLVE_HOST:
		fw_err_setc(err, FW_E_NOTFOUND, "the name %s could not be resolved", h);
		return 502;
	case CURLE_COULDNT_RESOLVE_PROXY:
		fw_err_setc(err, FW_E_NOTFOUND, "the egress proxy name could not be resolved");
		return 502;
	case CURLE_COULDNT_CONNECT:
		fw_err_setc(err, FW_E_IO, "the connection to %s was refused or failed (%s)", h, u->errbuf);
		return 502;
	case CURLE_OPERATION_TIMEDOUT:
		fw_err_setc(err, FW_E_TIMEOUT, "%s did not answer in time (%s)", h, u->errbuf);
		return 504;
	case CURLE_PARTIAL_FILE:
		fw_err_setc(err, FW_E_IO, "the response of %s was cut short (%s)", h, u->errbuf);
		return 502;
	case CURLE_FILESIZE_EXCEEDED:
		fw_err_setc(err, FW_E_LIMIT, "the response of %s is larger than the limit of %llu bytes", h,
			   (unsigned long long)u->cfg->upstream.max_body_bytes);
		return 502;
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_SEND_ERROR:
		fw_err_setc(err, FW_E_IO, "the connection to %s broke during the transfer (%s)", h, u->errbuf);
		return 502;
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_HTTP2:
		fw_err_setc(err, FW_E_INVALID, "%s sent a malformed HTTP response (%s)", h, u->errbuf);
		return 502;
	default:
		fw_err_set(err, "the fetch from %s failed: %s%s%s", h, curl_easy_strerror(rc),
			   u->errbuf[0] ? ": " : "", u->errbuf);
		return 502;
	}
}

int upstream_fetch(struct upstream *u, const char *url, const char *host,
		      const struct http_req *req, const char *etag, const char *last_modified,
		      struct upstream_resp *resp, int *status, struct fw_err *err)
{
	bool head = req->method == HTTP_HEAD;
	struct curl_slist *hdrs = NULL;
	char *ip = NULL;
	CURLcode rc;

	memset(resp, 0, sizeof(*resp));
	*status = 502;
	u->host = host;
	u->resp = resp;
	u->head_bytes = 0;
	u->head_too_big = u->bad_length = u->addr_refused = u->spool_failed = u->no_san = u->cancelled = false;
	u->body_started = false;
	u->errbuf[0] = '\0';
	fw_err_clear(&u->spool_err);
	if (!head && fw_spool_new(&resp->body, u->cfg->state.dir, u->cfg->upstream.max_body_bytes, err) != 0) {
		*status = 507;
		return -1;
	}
	if (build_headers(req, etag, last_modified, &hdrs) != 0 || set_options(u, url, head, hdrs) != 0) {
		fw_err_set(err, "cannot prepare the upstream request");
		goto fail;
	}
	rc = curl_easy_perform(u->easy);
	curl_easy_setopt(u->easy, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hdrs);
	hdrs = NULL;
	if (rc != CURLE_OK) {
		*status = explain(u, rc, err);
		goto fail;
	}
	curl_easy_getinfo(u->easy, CURLINFO_RESPONSE_CODE, &resp->status);
	if (curl_easy_getinfo(u->easy, CURLINFO_PRIMARY_IP, &ip) == CURLE_OK && ip != NULL)
		snprintf(resp->ip, sizeof(resp->ip), "%s", ip);
	if (resp->body != NULL && fw_spool_finish(resp->body, err) != 0) {
		*status = 507;
		goto fail;
	}
	/* libcurl already refuses a body shorter than its Content-Length
	 * (CURLE_PARTIAL_FILE); check the count once more before trusting it. */
	if (!head && resp->has_length && fw_spool_size(resp->body) != resp->length) {
		fw_err_setc(err, FW_E_INVALID, "the response of %s has %llu bytes where Content-Length says %llu", host,
			   (unsigned long long)fw_spool_size(resp->body), (unsigned long long)resp->length);
		goto fail;
	}
	return 0;
fail:
	curl_slist_free_all(hdrs);
	upstream_resp_clear(resp);
	return -1;
}

void upstream_on_body(struct upstream *u, upstream_body_fn fn, void *arg)
{
	u->on_body = fn;
	u->on_body_arg = arg;
}

bool upstream_resp_field(const struct upstream_resp *r, const char *name, char *out, size_t len)
{
	size_t nl = strlen(name);

	out[0] = '\0';
	for (const char *p = r->fields, *end = r->fields ? r->fields + r->fields_len : NULL; p != NULL && p < end;) {
		const char *eol = memchr(p, '\r', (size_t)(end - p));
		const char *v;

		if (eol == NULL)
			break;
		if ((size_t)(eol - p) > nl && p[nl] == ':' && strncasecmp(p, name, nl) == 0) {
			for (v = p + nl + 1; v < eol && (*v == ' ' || *v == '\t'); v++)
				;
			if ((size_t)(eol - v) >= len)
				return false; /* too long to be kept: as if absent */
			memcpy(out, v, (size_t)(eol - v));
			out[eol - v] = '\0';
			return true;
		}
		p = eol + 2;
	}
	return false;
}
