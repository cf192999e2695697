/* The upstream fetch through libcurl, private to proxy/: strict TLS
 * verification, no redirects followed, the connected address checked,
 * the body streamed into a spool file and hashed. */
#ifndef FWGATE_PROXY_UPSTREAM_H
#define FWGATE_PROXY_UPSTREAM_H

#include <stdbool.h>
#include <stdint.h>

#include "fwgate/allowlist.h"
#include "fwgate/config.h"
#include "fwgate/scanner.h"
#include "proxy/request.h"

/* Largest response head accepted from a vendor. */
#define UPSTREAM_MAX_HEAD_BYTES (64 * 1024)

struct upstream;

struct upstream_resp {
	long status;
	char *fields;      /* forwarded response fields, "Name: value\r\n"..., to free() */
	size_t fields_len;
	bool has_length;   /* the vendor's Content-Length (meaningful for HEAD) */
	uint64_t length;
	struct fw_spool *body; /* finished spool (NULL for HEAD) */
	char ip[64];       /* the address connected to */
};

/* Asked during a transfer: true aborts it (the gateway is stopping). */
typedef bool (*upstream_cancel_fn)(void *arg);

/* One per client connection, so that requests of one tunnel reuse the
 * vendor connection. cancel (may be NULL) is polled while a fetch runs. */
int upstream_new(struct upstream **out, const struct fw_config *cfg, upstream_cancel_fn cancel,
		    void *cancel_arg, struct fw_err *err) FW_WUR;
void upstream_free(struct upstream *u);

/* Fetches url (https://host[:port]/path) for req (GET or HEAD), as a
 * conditional request when etag or last_modified (may be NULL) is given
 * (the vendor then may answer 304, without a body). On success fills resp
 * (release with upstream_resp_clear). On failure returns -1 with the
 * HTTP status for the client (502, 504, 507) in *status and the cause in
 * plain words in err; no spool file remains. */
int upstream_fetch(struct upstream *u, const char *url, const char *host,
		      const struct http_req *req, const char *etag, const char *last_modified,
		      struct upstream_resp *resp, int *status, struct fw_err *err) FW_WUR;

/* Told once per fetch, on the connection's thread, when the body starts
 * (before its first byte is in the spool): the final response's status,
 * its head read (r->has_length, r->length) and r->body open. fn NULL: no
 * one is told. */
typedef void (*upstream_body_fn)(void *arg, struct upstream_resp *r, long status);
void upstream_on_body(struct upstream *u, upstream_body_fn fn, void *arg) FW_NONNULL(1);

/* The value of a forwarded response field (name in lower case) into out;
 * false when absent or longer than len - 1. */
bool upstream_resp_field(const struct upstream_resp *r, const char *name, char *out, size_t len);

void upstream_resp_clear(struct upstream_resp *resp);

#endif
