/* Private to proxy/: answers a GET or HEAD from a vetted object's blob
 * (Range, If-None-Match, HEAD). Decides nothing about whether the object
 * may be served (the delivery decision does) and opens no blob itself. */
#ifndef FWGATE_PROXY_SERVE_BLOB_H
#define FWGATE_PROXY_SERVE_BLOB_H

#include <stdbool.h>
#include <stdint.h>

#include "fwgate/scanner.h"
#include "proxy/conn_io.h"
#include "proxy/request.h"

enum range_kind {
	RANGE_NONE,            /* no usable Range field: the whole object */
	RANGE_ONE,             /* one satisfiable range, [first, last] */
	RANGE_UNSATISFIABLE,   /* 416 */
};

/* Parses a Range field value for an object of size bytes. */
enum range_kind serve_range_parse(const char *value, size_t len, uint64_t size, uint64_t *first, uint64_t *last);

/* An object ready to serve: its blob open on fd. */
struct serve_object {
	int fd;
	uint64_t size;
	const char *sha256;
	const char *verdict_label;   /* "clean" or "released" */
	const char *fields;          /* the vendor's representation fields, "" when none */
};

struct serve_result {
	int status;
	uint64_t bytes;
};

/* Answers req (GET or HEAD) from the blob: 200, 206, 304 or 416. */
int serve_blob(struct conn_io *io, const struct http_req *req, const struct serve_object *o, bool close,
		unsigned timeout_ms, struct serve_result *out);

#endif
