/* Private to proxy/: one request inside a client's tunnel (exchange.c).
 * The tunnel (conn.c) calls it; it never calls back into conn.c, only
 * the connection's reporting (conn_report.c). */
#ifndef FWGATE_PROXY_EXCHANGE_H
#define FWGATE_PROXY_EXCHANGE_H

#include "proxy/conn.h"

/* Answers the request in c->req. Returns 0 to keep the connection. */
int exchange_handle(struct conn *c);

#endif
