/* Private to proxy/: one client connection as the tunnel (conn.c) and the
 * request pipeline (exchange.c) share it, and the one place events and
 * refusals of a connection are made (conn_report.c, a leaf of both). */
#ifndef FWGATE_PROXY_CONN_H
#define FWGATE_PROXY_CONN_H

#include <stdint.h>
#include <time.h>

#include "fwgate/event.h"
#include "fwgate/metrics.h"
#include "fwgate/scanner.h"
#include "proxy/conn_io.h"
#include "proxy/proxy_int.h"
#include "proxy/request.h"
#include "proxy/upstream.h"

struct conn {
	struct fw_proxy *px;
	const struct fw_config *cfg;
	struct conn_io io;
	struct http_req *req;
	struct upstream *up;
	char client_ip[64];
	struct source_key src;
	unsigned slot;
	char host[FW_HOST_MAX];     /* CONNECT host, normalized */
	uint16_t port;
	char authority[FW_HOST_MAX + 8];
	unsigned requests;
	uint64_t bytes_out;
	struct timespec started;
	bool tunnel;                /* the TLS handshake with the client succeeded */
	char why[FW_ERR_MSG_MAX];   /* how the connection broke, "" when it did not; the first cause wins */
};

/* What one event of a request says. */
struct req_log {
	const char *action;
	enum fw_outcome outcome;
	const char *url;
	const char *verdict;
	const char *reason;
	const char *sha256;
	int status;
	long upstream_status;
	uint64_t bytes;
	double duration_ms;
	const struct fw_scan_result *scan;  /* the verdict, when the body was vetted */
	const char *incident;
	long long object_id;                /* the store's object, 0 when none */
	/* The end of a request, for the metrics (conn_count); an event
	 * without ends (a connect logged, a tunnel's end) is not counted. */
	bool ends;
	bool has_verdict;                   /* answered on `answered`; else the verdict "none" */
	enum fw_verdict answered;
	bool refused;                       /* a refusal, of class `refusal` */
	enum fw_metrics_refusal refusal;
};

double elapsed_ms(const struct timespec *since);
unsigned conn_ms(unsigned seconds);
/* Logs the event, and counts it in the metrics when it ends a request. */
void conn_event(struct conn *c, const struct req_log *l);
/* Counts the end of a request (l->ends) in the metrics without an event:
 * a delivery the policy does not log. */
void conn_count(const struct req_log *l);
/* Refuses the current request: the client gets status and the reason,
 * the event log gets the same sentence, the metrics count a refusal of
 * class why. */
void conn_refuse(struct conn *c, enum fw_metrics_refusal why, const char *action, int status, const char *reason,
		 const char *url, bool close, bool head);

/* Records how the connection broke (a client that vanished, a failed
 * write): the close event says it. The first cause wins. */
void conn_broke(struct conn *c, const char *fmt, ...) FW_PRINTF(2, 3);

#endif
