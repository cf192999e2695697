/* Byte I/O of one client connection (plain before CONNECT, TLS after),
 * with deadlines, private to proxy/. */
#ifndef FWGATE_PROXY_CONN_IO_H
#define FWGATE_PROXY_CONN_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "fwgate/err.h"

struct conn_io {
	int fd;
	SSL *ssl;        /* NULL before the tunnel's handshake */
	uint8_t *buf;    /* received, not yet consumed bytes */
	size_t len;
	size_t cap;      /* max head bytes + 1 */
};

enum head_result {
	HEAD_OK,
	HEAD_CLOSED,     /* the client closed cleanly before a new head */
	HEAD_IDLE,       /* no byte of a new head within idle_ms */
	HEAD_BROKEN,     /* the connection failed (reset, TLS error) before a new head; err says how */
	HEAD_REFUSE,     /* refuse with *status and err */
};

/* Reads until a complete head is buffered. idle_ms bounds the wait for
 * the first byte, head_ms the whole head once it has started; with
 * from_start, the deadline set at the start (idle_ms) is the whole head's
 * too, however slowly its bytes trickle in. */
enum head_result conn_read_head(struct conn_io *io, unsigned idle_ms, unsigned head_ms, bool from_start,
				size_t *head_len, int *status, struct fw_err *err);

/* Drops the first n buffered bytes (a consumed head). */
void conn_consume(struct conn_io *io, size_t n);

/* Writes all of p, each write bounded by timeout_ms. */
int conn_write_all(struct conn_io *io, const void *p, size_t len, unsigned timeout_ms);

/* Sends a complete response with a short text body (no body for HEAD). */
int conn_send_text(struct conn_io *io, int status, const char *text, bool close, bool head,
		   const char *extra_fields, unsigned timeout_ms);

const char *http_reason_phrase(int status);

#endif
