/* How a client connection reports (private to proxy/): the event of each
 * request and its count in the metrics, refusals (the client, the event
 * log and the metrics get the same end) and the cause a connection broke. Shared by the tunnel (conn.c) and the
 * request pipeline (exchange.c); calls neither of them. */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "proxy/conn.h"
#include "proxy/conn_io.h"

double elapsed_ms(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - since->tv_sec) * 1e3 + (double)(now.tv_nsec - since->tv_nsec) / 1e6;
}

unsigned conn_ms(unsigned seconds)
{
	return seconds * 1000u;
}

void conn_count(const struct req_log *l)
{
	if (!l->ends)
		return;
	fw_metrics_request(l->outcome, l->has_verdict ? l->answered : FW_METRICS_VERDICT_NONE);
	if (l->refused)
		fw_metrics_refused(l->refusal);
}

void conn_event(struct conn *c, const struct req_log *l)
{
	struct fw_event_field extra[14];
	size_t n = 0;
	struct fw_event ev = {
		.action = l->action,
		.outcome = l->outcome,
		.url = l->url,
		.domain = c->host[0] ? c->host : NULL,
		.source_ip = c->client_ip,
		.sha256 = l->sha256,
		.rule = c->px->deps.pol->rule,
		.verdict = l->verdict,
		.reason = l->reason,
		.extra = extra,
	};

	if (l->status)
		extra[n++] = (struct fw_event_field){ .key = "http.response.status_code", .num = l->status };
	if (l->upstream_status)
		extra[n++] = (struct fw_event_field){ .key = "fwgate.upstream.status_code", .num = l->upstream_status };
	if (l->bytes)
		extra[n++] = (struct fw_event_field){ .key = "http.response.body.bytes", .num = (long long)l->bytes };
	if (l->duration_ms > 0)
		extra[n++] = (struct fw_event_field){ .key = "event.duration", .num = (long long)(l->duration_ms * 1e6) };
	if (c->port)
		extra[n++] = (struct fw_event_field){ .key = "destination.port", .num = c->port };
	if (l->incident != NULL)
		extra[n++] = (struct fw_event_field){ .key = "fwgate.incident", .str = l->incident };
	if (l->scan != NULL && l->scan->signature[0] != '\0')
		extra[n++] = (struct fw_event_field){ .key = "fwgate.signature", .str = l->scan->signature };
	if (l->scan != NULL && l->scan->member[0] != '\0')
		extra[n++] = (struct fw_event_field){ .key = "fwgate.member", .str = l->scan->member };
	if (l->scan != NULL && l->scan->member_sha256[0] != '\0')
		extra[n++] = (struct fw_event_field){ .key = "fwgate.member.sha256", .str = l->scan->member_sha256 };
	if (l->scan != NULL && l->scan->yara[0] != '\0')
		extra[n++] = (struct fw_event_field){ .key = "fwgate.yara", .str = l->scan->yara };
	if (l->scan != NULL && l->scan->overlap_ms > 0)
		extra[n++] = (struct fw_event_field){ .key = "fwgate.scan.overlap_ms", .num = l->scan->overlap_ms };
	if (l->object_id > 0)
		extra[n++] = (struct fw_event_field){ .key = "fwgate.object.id", .num = l->object_id };
	ev.n_extra = n;
	conn_count(l);
	fw_evlog_emit(c->px->deps.log, &ev);
}

void conn_broke(struct conn *c, const char *fmt, ...)
{
	va_list ap;

	if (c->why[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(c->why, sizeof(c->why), fmt, ap);
	va_end(ap);
}

/* Refuses the current request: the client gets status and the reason,
 * the event log gets the same sentence. */
void conn_refuse(struct conn *c, enum fw_metrics_refusal why, const char *action, int status, const char *reason,
		 const char *url, bool close, bool head)
{
	const struct req_log l = {
		.action = action, .outcome = FW_OUTCOME_FAILURE, .url = url, .verdict = "refused",
		.reason = reason, .status = status, .ends = true, .refused = true, .refusal = why,
	};

	conn_event(c, &l);
	conn_send_text(&c->io, status, reason, close, head, NULL, conn_ms(c->cfg->proxy.idle_timeout_seconds));
}
