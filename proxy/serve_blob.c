/* Delivery of vetted objects from the store's blobs: full (200), one byte
 * range (206, RFC 9110 14.2) or an unsatisfiable one (416), HEAD, and 304
 * for a client that already holds the object (ETag = the SHA-256). Parses
 * the Range field strictly and by hand: one range, decimal, bounded; any
 * other form is ignored as RFC 9110 allows. Must not deliver anything the
 * store does not call servable. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "proxy/conn_io.h"
#include "fwgate/store.h"
#include "proxy/serve_blob.h"

#define SERVE_CHUNK (256 * 1024)
#define RANGE_FIELD_MAX 128

/* Parses "digits" at p, at most 19 of them (no overflow of 2^63). */
static int parse_u63(const char **p, const char *end, uint64_t *v)
{
	const char *s = *p;
	uint64_t n = 0;

	while (*p < end && **p >= '0' && **p <= '9' && *p - s < 19) {
		n = n * 10 + (uint64_t)(**p - '0');
		(*p)++;
	}
	if (*p == s || (*p < end && **p >= '0' && **p <= '9'))
		return -1;
	*v = n;
	return 0;
}

enum range_kind serve_range_parse(const char *value, size_t len, uint64_t size, uint64_t *first, uint64_t *last)
{
	const char *p = value, *end = value + len;
	uint64_t a = 0, b = 0;

	if (len > RANGE_FIELD_MAX || len < 7 || strncmp(p, "bytes=", 6) != 0)
		return RANGE_NONE;
	p += 6;
	if (memchr(p, ',', (size_t)(end - p)) != NULL)
		return RANGE_NONE; /* several ranges: the whole object instead */
	if (*p == '-') {
		p++;
		if (parse_u63(&p, end, &b) != 0 || p != end)
			return RANGE_NONE;
		if (b == 0 || size == 0)
			return RANGE_UNSATISFIABLE;
		*first = b >= size ? 0 : size - b;
		*last = size - 1;
		return RANGE_ONE;
	}
	if (parse_u63(&p, end, &a) != 0 || p == end || *p != '-')
		return RANGE_NONE;
	p++;
	if (p == end) {
		b = UINT64_MAX;
	} else if (parse_u63(&p, end, &b) != 0 || p != end || b < a) {
		return RANGE_NONE;
	}
	if (a >= size)
		return RANGE_UNSATISFIABLE;
	*first = a;
	*last = b >= size ? size - 1 : b;
	return RANGE_ONE;
}

static bool etag_matches(const struct http_header *h, const char *sha256)
{
	char tag[FW_SHA256_HEX_LEN + 3];

	if (h == NULL)
		return false;
	snprintf(tag, sizeof(tag), "\"%s\"", sha256);
	/* A list of tags, or "*": a byte search is enough for our quoted hex. */
	return (h->value_len == 1 && h->value[0] == '*') ||
	       (h->value_len >= strlen(tag) && memmem(h->value, h->value_len, tag, strlen(tag)) != NULL);
}

static int send_body(struct conn_io *io, int fd, uint64_t off, uint64_t n, unsigned timeout_ms)
{
	char *buf = malloc(SERVE_CHUNK);
	int rc = -1;

	if (buf == NULL)
		return -1;
	while (n > 0) {
		size_t want = n > SERVE_CHUNK ? SERVE_CHUNK : (size_t)n;
		ssize_t got = pread(fd, buf, want, (off_t)off);

		if (got <= 0 || conn_write_all(io, buf, (size_t)got, timeout_ms) != 0)
			goto out;
		off += (uint64_t)got;
		n -= (uint64_t)got;
	}
	rc = 0;
out:
	free(buf);
	return rc;
}

int serve_blob(struct conn_io *io, const struct http_req *req, const struct serve_object *o, bool close,
		unsigned timeout_ms, struct serve_result *out)
{
	const struct http_header *range = http_header_find(req, "range");
	const struct http_header *if_range = http_header_find(req, "if-range");
	bool head = req->method == HTTP_HEAD;
	uint64_t first = 0, last = o->size ? o->size - 1 : 0, n = o->size;
	enum range_kind rk = RANGE_NONE;
	char hdr[1024 + FW_URL_FIELDS_MAX];
	int status = 200, hl;

	if (etag_matches(http_header_find(req, "if-none-match"), o->sha256)) {
		status = 304;
		n = 0;
	} else if (range != NULL && (if_range == NULL || etag_matches(if_range, o->sha256))) {
		rk = serve_range_parse(range->value, range->value_len, o->size, &first, &last);
		if (rk == RANGE_ONE) {
			status = 206;
			n = last - first + 1;
		} else if (rk == RANGE_UNSATISFIABLE) {
			status = 416;
			n = 0;
		}
	}
	/* The vendor's representation fields as stored (Content-Type and
	 * the like), or a neutral type when it sent none. */
	hl = snprintf(hdr, sizeof(hdr),
		      "HTTP/1.1 %d %s\r\n%s%sETag: \"%s\"\r\n"
		      "Accept-Ranges: bytes\r\nX-Fwgate-SHA256: %s\r\nX-Fwgate-Verdict: %s\r\nX-Fwgate-Cache: hit\r\n",
		      status, http_reason_phrase(status), o->fields,
		      strncasecmp(o->fields, "content-type:", 13) == 0 ? "" : "Content-Type: application/octet-stream\r\n",
		      o->sha256, o->sha256, o->verdict_label);
	if (status == 206)
		hl += snprintf(hdr + hl, sizeof(hdr) - (size_t)hl, "Content-Range: bytes %llu-%llu/%llu\r\n",
			       (unsigned long long)first, (unsigned long long)last, (unsigned long long)o->size);
	else if (status == 416)
		hl += snprintf(hdr + hl, sizeof(hdr) - (size_t)hl, "Content-Range: bytes */%llu\r\n",
			       (unsigned long long)o->size);
	if (status != 304)
		hl += snprintf(hdr + hl, sizeof(hdr) - (size_t)hl, "Content-Length: %llu\r\n", (unsigned long long)n);
	hl += snprintf(hdr + hl, sizeof(hdr) - (size_t)hl, "%s\r\n", close ? "Connection: close\r\n" : "");
	out->status = status;
	out->bytes = 0;
	if (hl >= (int)sizeof(hdr) || conn_write_all(io, hdr, (size_t)hl, timeout_ms) != 0)
		return -1;
	if (head || n == 0 || status == 416)
		return 0;
	if (send_body(io, o->fd, first, n, timeout_ms) != 0)
		return -1;
	out->bytes = n;
	return 0;
}
