/* /metrics for Prometheus: what the modules recorded (fwgate/metrics.h)
 * and what is read at scrape time (the scanner, the sandbox, the store's
 * statistics), in the text format 0.0.4. Behind a bearer token of any
 * role, like the API: a scrape configuration carries it
 * (authorization.credentials_file). */
#include <stdlib.h>
#include <time.h>

#include "console/console_int.h"
#include "fwgate/metrics.h"
#include "fwgate/sandbox.h"
#include "fwgate/scanner.h"

enum MHD_Result metrics_page(struct creq *r)
{
	struct fw_metrics_gauges g;
	json_t *stats = NULL;
	struct cbuf b = { 0 };
	struct fw_err err;
	char *text = NULL;
	size_t len = 0;
	time_t now = time(NULL);

	fw_err_clear(&err);
	if (r->auth != AUTH_TOKEN)
		return page_error(r, 401, "/metrics needs a token: Authorization: Bearer fwg_... (fwgate token add)");
	if (fw_store_stats(r->c->d.store, (int64_t)(now - now % 86400), &stats, &err) != 0)
		return page_error(r, 503, "%s", fw_err_msg(&err));
	fw_metrics_gauges_init(&g);
	if (r->c->d.scanner != NULL)
		fw_scanner_metrics(r->c->d.scanner, &g);
	if (r->c->d.sandbox != NULL)
		fw_sandbox_metrics(r->c->d.sandbox, &g);
	g.store_stats = stats;
	if (fw_metrics_text(&g, &text, &len, &err) != 0) {
		json_decref(stats);
		return page_error(r, 500, "%s", fw_err_msg(&err));
	}
	json_decref(stats);
	cbuf_putn(&b, text, len);
	free(text);
	return console_send(r, 200, FW_METRICS_CONTENT_TYPE, &b);
}
