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
#define FW_UPSTREAM_MAX_HEAD_BYTES (64 * 1024)

struct fw_upstream;

struct fw_upstream_resp {
	long status;
	char *fields;      /* forwarded response fields, "Name: value\r\n"..., to free() */
	size_t fields_len;
	bool has_length;   /* the vendor's Content-Length (meaningful for HEAD) */
	uint64_t length;
	struct fw_spool *body; /* finished spool (NULL for HEAD) */
	char ip[64];       /* the address connected to */
};

/* Asked during a transfer: true aborts it (the gateway is stopping). */
typedef bool (*fw_upstream_cancel_fn)(void *arg);

/* One per client connection, so that requests of one tunnel reuse the
 * vendor connection. cancel (may be NULL) is polled while a fetch runs. */
int fw_upstream_new(struct fw_upstream **out, const struct fw_config *cfg, fw_upstream_cancel_fn cancel,
		    void *cancel_arg, struct fw_err *err) FW_WUR;
void fw_upstream_free(struct fw_upstream *u);

/* Fetches url (https://host[:port]/path) for req (GET or HEAD), as a
 * conditional request when etag or last_modified (may be NULL) is given
 * (the vendor then may answer 304, without a body). On success fills resp
 * (release with fw_upstream_resp_clear). On failure returns -1 with the
 * HTTP status for the client (502, 504, 507) in *status and the cause in
 * plain words in err; no spool file remains. */
int fw_upstream_fetch(struct fw_upstream *u, const char *url, const char *host,
		      const struct fw_http_req *req, const char *etag, const char *last_modified,
		      struct fw_upstream_resp *resp, int *status, struct fw_err *err) FW_WUR;

/* The value of a forwarded response field (name in lower case) into out;
 * false when absent or longer than len - 1. */
bool fw_upstream_resp_field(const struct fw_upstream_resp *r, const char *name, char *out, size_t len);

void fw_upstream_resp_clear(struct fw_upstream_resp *resp);

#endif
