/* Strict HTTP/1.1 request-head parsing (RFC 9112), private to proxy/ and
 * its tests and fuzz target. Pure functions over a byte buffer: no I/O, no
 * allocation. Anything ambiguous between two readers (bare CR or LF,
 * obs-fold, duplicate Content-Length, Transfer-Encoding on a request) is
 * refused, because request smuggling lives in such ambiguities. */
#ifndef FWGATE_PROXY_REQUEST_H
#define FWGATE_PROXY_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fwgate/err.h"

#define HTTP_MAX_HEADERS_HARD 1000
#define HTTP_MAX_TARGET 8192

enum http_method {
	HTTP_GET,
	HTTP_HEAD,
	HTTP_CONNECT,
	HTTP_OTHER,
};

struct http_header {
	const char *name;
	size_t name_len;
	const char *value; /* without leading and trailing blanks */
	size_t value_len;
};

struct http_req {
	enum http_method method;
	const char *method_text;
	size_t method_len;
	const char *target;
	size_t target_len;
	unsigned version_minor; /* HTTP/1.<minor>: 0 or 1 */
	struct http_header headers[HTTP_MAX_HEADERS_HARD];
	unsigned n_headers;
	const struct http_header *host; /* the Host field, or NULL */
	bool connection_close;             /* Connection: close (or HTTP/1.0 without keep-alive) */
};

/* Length of the head including its final CRLF CRLF, or 0 if the buffer
 * does not hold a complete head yet. */
size_t http_head_end(const uint8_t *p, size_t len);

/* Parses a complete head (as delimited by http_head_end). Returns 0,
 * or the HTTP status to refuse with (400, 414, 431, 501, 505) with the
 * reason in err. out points into p. */
int http_parse_head(const uint8_t *p, size_t len, unsigned max_headers,
		       struct http_req *out, struct fw_err *err) FW_NONNULL(1, 4);

/* Splits an authority "host:port" (CONNECT target, Host value). A port
 * is required unless default_port is non-zero. IPv6 literals are kept
 * with their brackets in host so callers can refuse them by shape. */
int http_parse_authority(const char *s, size_t len, char *host, size_t host_len,
			    uint16_t *port, uint16_t default_port, struct fw_err *err)
	FW_NONNULL(1, 3, 5);

/* Case-insensitive header lookup; NULL when absent. */
const struct http_header *http_header_find(const struct http_req *req, const char *name);

#endif
