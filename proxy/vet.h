/* Private to proxy/: the scan of one download (vet.c), for exchange.c.
 * A download whose length the vendor says is judged as it arrives
 * ([scanner] overlap_fetch): the scanner starts when its body starts
 * (vet_body_starts, libcurl's thread of the connection) and the verdict is
 * taken once the fetch ended (vet_scan); any other download is scanned
 * once fetched. Either way nothing is delivered before vet_scan returns. */
#ifndef FWGATE_PROXY_VET_H
#define FWGATE_PROXY_VET_H

#include <stdbool.h>
#include <time.h>

#include "fwgate/scanner.h"
#include "proxy/conn.h"
#include "proxy/upstream.h"

struct vet {
	struct conn *c;
	const char *url;
	bool head;
	struct fw_scan_stream *stream; /* judged as it arrives, or NULL */
	struct timespec t0;            /* when the stream started */
};

/* upstream_body_fn: arg is the struct vet of the fetch. */
void vet_body_starts(void *arg, struct upstream_resp *r, long status);

/* The verdict on the fetched body r->body into res (always filled:
 * unscannable when the pipeline failed). A stream that got no verdict
 * document (the scanner was down or restarted during the download) is
 * followed by a scan of the finished file. */
void vet_scan(struct vet *v, const struct upstream_resp *r, struct fw_scan_result *res) FW_NONNULL(1, 2, 3);

/* The download is not judged after all (the fetch failed, or its answer
 * needs no scan): a stream's job ends and its answer is dropped. No-op
 * without a stream. The spool must no longer be watched by it. */
void vet_drop(struct vet *v) FW_NONNULL(1);

#endif
