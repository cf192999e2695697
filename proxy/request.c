/* Strict request-head parser for the proxy (RFC 9112 sections 2-3, 5-6).
 * Owns syntax only; what a valid request may do is conn.c's decision.
 * Every refusal names the rule broken so the client and the event say why. */
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "proxy/request.h"

/* RFC 9110 5.6.2 tchar. */
static bool is_tchar(uint8_t c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

size_t http_head_end(const uint8_t *p, size_t len)
{
	for (size_t i = 3; i < len; i++)
		if (p[i] == '\n' && p[i - 1] == '\r' && p[i - 2] == '\n' && p[i - 3] == '\r')
			return i + 1;
	return 0;
}

/* Finds the CRLF ending the line at p[start..end); refuses bare CR, bare
 * LF and NUL on the way. Returns the index of the CR, or -1. */
static long line_end(const uint8_t *p, size_t start, size_t end, struct fw_err *err)
{
	for (size_t i = start; i < end; i++) {
		if (p[i] == '\0') {
			fw_err_setc(err, FW_E_INVALID, "the request head contains a NUL byte");
			return -1;
		}
		if (p[i] == '\n') {
			fw_err_setc(err, FW_E_INVALID, "the request head has a bare LF line ending (CRLF required)");
			return -1;
		}
		if (p[i] == '\r') {
			if (i + 1 < end && p[i + 1] == '\n')
				return (long)i;
			fw_err_setc(err, FW_E_INVALID, "the request head contains a bare CR");
			return -1;
		}
	}
	fw_err_setc(err, FW_E_INVALID, "the request head is not terminated");
	return -1;
}

static enum http_method method_of(const uint8_t *m, size_t n)
{
	if (n == 3 && memcmp(m, "GET", 3) == 0)
		return HTTP_GET;
	if (n == 4 && memcmp(m, "HEAD", 4) == 0)
		return HTTP_HEAD;
	if (n == 7 && memcmp(m, "CONNECT", 7) == 0)
		return HTTP_CONNECT;
	return HTTP_OTHER;
}

/* method SP request-target SP HTTP-version, single spaces only. */
static int parse_request_line(const uint8_t *p, size_t n, struct http_req *out, struct fw_err *err)
{
	size_t i = 0, m_end, t_start, t_end;

	while (i < n && is_tchar(p[i]))
		i++;
	if (i == 0 || i > 32 || i >= n || p[i] != ' ') {
		fw_err_setc(err, FW_E_INVALID, "malformed request line: bad method");
		return 400;
	}
	m_end = i;
	t_start = ++i;
	while (i < n && p[i] > 0x20 && p[i] < 0x7f)
		i++;
	t_end = i;
	if (t_end == t_start || i >= n || p[i] != ' ') {
		fw_err_setc(err, FW_E_INVALID, "malformed request line: the target must be visible ASCII followed by one space");
		return 400;
	}
	if (t_end - t_start > HTTP_MAX_TARGET) {
		fw_err_setc(err, FW_E_LIMIT, "request target is %zu bytes, over the limit of %d", t_end - t_start,
			   HTTP_MAX_TARGET);
		return 414;
	}
	i++;
	if (n - i != 8 || memcmp(p + i, "HTTP/1.", 7) != 0) {
		fw_err_setc(err, FW_E_INVALID, "malformed request line: expected HTTP/1.1 or HTTP/1.0");
		return n - i == 8 && memcmp(p + i, "HTTP/", 5) == 0 ? 505 : 400;
	}
	if (p[i + 7] != '0' && p[i + 7] != '1') {
		fw_err_setc(err, FW_E_INVALID, "HTTP version %.8s is not supported (HTTP/1.1 or HTTP/1.0)", (const char *)p + i);
		return 505;
	}
	out->method = method_of(p, m_end);
	out->method_text = (const char *)p;
	out->method_len = m_end;
	out->target = (const char *)p + t_start;
	out->target_len = t_end - t_start;
	out->version_minor = (unsigned)(p[i + 7] - '0');
	return 0;
}

static bool name_is(const struct http_header *h, const char *name)
{
	return h->name_len == strlen(name) && strncasecmp(h->name, name, h->name_len) == 0;
}

/* Does a comma-separated field value hold token (case-insensitive)? */
static bool list_has(const char *v, size_t n, const char *token)
{
	size_t tl = strlen(token), i = 0;

	while (i < n) {
		size_t s, e;

		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		s = i;
		while (i < n && v[i] != ',')
			i++;
		e = i;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e - s == tl && strncasecmp(v + s, token, tl) == 0)
			return true;
	}
	return false;
}

/* field-name ":" OWS field-value OWS, RFC 9112 5. */
static int parse_header(const uint8_t *p, size_t n, struct http_header *h, struct fw_err *err)
{
	size_t i = 0, vs, ve;

	if (n > 0 && (p[0] == ' ' || p[0] == '\t')) {
		fw_err_setc(err, FW_E_INVALID, "obsolete line folding (obs-fold) is not accepted");
		return 400;
	}
	while (i < n && is_tchar(p[i]))
		i++;
	if (i == 0 || i >= n || p[i] != ':') {
		fw_err_setc(err, FW_E_INVALID, i < n && (p[i] == ' ' || p[i] == '\t')
				? "whitespace between a header name and its colon"
				: "malformed header field (expected name: value)");
		return 400;
	}
	h->name = (const char *)p;
	h->name_len = i;
	vs = i + 1;
	while (vs < n && (p[vs] == ' ' || p[vs] == '\t'))
		vs++;
	ve = n;
	while (ve > vs && (p[ve - 1] == ' ' || p[ve - 1] == '\t'))
		ve--;
	for (size_t k = vs; k < ve; k++) {
		if ((p[k] < 0x20 && p[k] != '\t') || p[k] == 0x7f) {
			fw_err_setc(err, FW_E_INVALID, "header %.*s contains a control character", (int)(i > 64 ? 64 : i),
				   (const char *)p);
			return 400;
		}
	}
	h->value = (const char *)p + vs;
	h->value_len = ve - vs;
	return 0;
}

/* Framing and routing fields: one Content-Length of 0 at most (the proxy
 * takes no request bodies), no Transfer-Encoding, exactly one Host. */
static int check_fields(struct http_req *out, struct fw_err *err)
{
	bool has_cl = false, keep_alive = false;

	for (unsigned i = 0; i < out->n_headers; i++) {
		const struct http_header *h = &out->headers[i];

		if (name_is(h, "content-length")) {
			if (has_cl) {
				fw_err_setc(err, FW_E_INVALID, "duplicate Content-Length header");
				return 400;
			}
			has_cl = true;
			if (h->value_len == 0) {
				fw_err_setc(err, FW_E_INVALID, "Content-Length is not a number");
				return 400;
			}
			for (size_t k = 0; k < h->value_len; k++) {
				if (h->value[k] < '0' || h->value[k] > '9') {
					fw_err_setc(err, FW_E_INVALID, "Content-Length is not a number");
					return 400;
				}
			}
			for (size_t k = 0; k < h->value_len; k++) {
				if (h->value[k] != '0') {
					fw_err_setc(err, FW_E_INVALID, "request bodies are not accepted by this gateway");
					return 400;
				}
			}
		} else if (name_is(h, "transfer-encoding")) {
			fw_err_setc(err, FW_E_INVALID, "Transfer-Encoding on a request is not accepted");
			return 400;
		} else if (name_is(h, "host")) {
			if (out->host != NULL) {
				fw_err_setc(err, FW_E_INVALID, "duplicate Host header");
				return 400;
			}
			out->host = h;
		} else if (name_is(h, "connection")) {
			if (list_has(h->value, h->value_len, "close"))
				out->connection_close = true;
			if (list_has(h->value, h->value_len, "keep-alive"))
				keep_alive = true;
		}
	}
	if (out->version_minor == 0 && !keep_alive)
		out->connection_close = true;
	if (out->host == NULL && out->version_minor == 1) {
		fw_err_setc(err, FW_E_INVALID, "the Host header is missing");
		return 400;
	}
	return 0;
}

int http_parse_head(const uint8_t *p, size_t len, unsigned max_headers,
		       struct http_req *out, struct fw_err *err)
{
	size_t pos = 0;
	long e;
	int st;

	memset(out, 0, offsetof(struct http_req, headers));
	out->n_headers = 0;
	out->host = NULL;
	out->connection_close = false;
	if (max_headers > HTTP_MAX_HEADERS_HARD)
		max_headers = HTTP_MAX_HEADERS_HARD;
	if ((e = line_end(p, 0, len, err)) < 0)
		return 400;
	if ((st = parse_request_line(p, (size_t)e, out, err)) != 0)
		return st;
	pos = (size_t)e + 2;
	for (;;) {
		if ((e = line_end(p, pos, len, err)) < 0)
			return 400;
		if ((size_t)e == pos)
			break; /* the empty line ending the head */
		if (out->n_headers >= max_headers) {
			fw_err_setc(err, FW_E_LIMIT, "more than %u header fields", max_headers);
			return 431;
		}
		st = parse_header(p + pos, (size_t)e - pos, &out->headers[out->n_headers], err);
		if (st != 0)
			return st;
		out->n_headers++;
		pos = (size_t)e + 2;
	}
	if ((size_t)e + 2 != len) {
		fw_err_setc(err, FW_E_INVALID, "bytes after the end of the request head");
		return 400;
	}
	return check_fields(out, err);
}

int http_parse_authority(const char *s, size_t len, char *host, size_t host_len,
			    uint16_t *port, uint16_t default_port, struct fw_err *err)
{
	size_t hend = len, pstart = len;
	unsigned long v = 0;

	if (len > 0 && s[0] == '[') {
		const char *close = memchr(s, ']', len);

		if (close == NULL)
			return fw_err_setc(err, FW_E_INVALID, "malformed authority (unclosed IPv6 bracket)");
		hend = (size_t)(close - s) + 1;
		if (hend < len && s[hend] != ':')
			return fw_err_setc(err, FW_E_INVALID, "malformed authority after the IPv6 literal");
		pstart = hend < len ? hend + 1 : len;
	} else {
		const char *colon = memchr(s, ':', len);

		if (colon != NULL) {
			hend = (size_t)(colon - s);
			pstart = hend + 1;
		}
	}
	if (hend == 0 || hend >= host_len)
		return fw_err_setc(err, FW_E_INVALID, "malformed authority: empty or overlong host");
	for (size_t i = 0; i < hend; i++)
		if (s[i] == '@' || s[i] == '/' || s[i] == '\\' || (unsigned char)s[i] <= 0x20 ||
		    (unsigned char)s[i] >= 0x7f)
			return fw_err_setc(err, FW_E_INVALID, "malformed authority: bad character in the host");
	if (pstart >= len) {
		if (hend != len || default_port == 0)
			return fw_err_setc(err, FW_E_INVALID, "the authority has no port");
		*port = default_port;
	} else {
		if (len - pstart > 5)
			return fw_err_setc(err, FW_E_INVALID, "malformed authority: bad port");
		for (size_t i = pstart; i < len; i++) {
			if (s[i] < '0' || s[i] > '9')
				return fw_err_setc(err, FW_E_INVALID, "malformed authority: bad port");
			v = v * 10 + (unsigned long)(s[i] - '0');
		}
		if (v == 0 || v > 65535)
			return fw_err_setc(err, FW_E_INVALID, "malformed authority: port out of range");
		*port = (uint16_t)v;
	}
	memcpy(host, s, hend);
	host[hend] = '\0';
	return 0;
}

const struct http_header *http_header_find(const struct http_req *req, const char *name)
{
	for (unsigned i = 0; i < req->n_headers; i++)
		if (name_is(&req->headers[i], name))
			return &req->headers[i];
	return NULL;
}
