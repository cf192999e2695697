/* Deadline-bounded reads of request heads and whole writes, for plain and
 * TLS connections. Every read of client bytes is bounded in size (the
 * head limit) and in time (idle and head timeouts). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

#include "proxy/conn_io.h"
#include "proxy/request.h"

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Waits until fd is readable (or SSL has buffered bytes) or the deadline.
 * Returns 1 ready, 0 timeout, -1 error. */
static int wait_fd(struct conn_io *io, short events, uint64_t deadline)
{
	for (;;) {
		struct pollfd pfd = { .fd = io->fd, .events = events };
		uint64_t now = now_ms();
		int rc;

		if (events == POLLIN && io->ssl != NULL && SSL_pending(io->ssl) > 0)
			return 1;
		if (now >= deadline)
			return 0;
		rc = poll(&pfd, 1, (int)(deadline - now > 60000 ? 60000 : deadline - now));
		if (rc > 0)
			return 1;
		if (rc < 0 && errno != EINTR)
			return -1;
	}
}

/* One read into the buffer. Returns bytes read, 0 on orderly close, -1
 * on error (the reason in err), -2 when it must be retried (TLS wants
 * more). */
static long read_some(struct conn_io *io, struct fw_err *err)
{
	size_t room = io->cap - io->len;

	if (io->ssl != NULL) {
		unsigned long e;
		int n;

		ERR_clear_error();
		errno = 0;
		n = SSL_read(io->ssl, io->buf + io->len, (int)room);
		if (n > 0)
			return n;
		switch (SSL_get_error(io->ssl, n)) {
		case SSL_ERROR_ZERO_RETURN:
			return 0;
		case SSL_ERROR_WANT_READ:
		case SSL_ERROR_WANT_WRITE:
			return -2;
		case SSL_ERROR_SYSCALL:
			if (errno == 0)
				fw_err_setc(err, FW_E_IO, "the client closed the connection without a TLS close_notify");
			else
				fw_err_sys(err, errno, "reading from the client failed");
			return -1;
		default:
			e = ERR_peek_error();
			fw_err_set(err, "TLS error from the client: %s",
				   e != 0 ? ERR_reason_error_string(e) != NULL ? ERR_reason_error_string(e) : "unknown"
					  : "unknown");
			return -1;
		}
	} else {
		ssize_t n = recv(io->fd, io->buf + io->len, room, 0);

		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			return -2;
		if (n < 0)
			fw_err_sys(err, errno, "reading from the client failed");
		return n;
	}
}

enum head_result conn_read_head(struct conn_io *io, unsigned idle_ms, unsigned head_ms, bool from_start,
				size_t *head_len, int *status, struct fw_err *err)
{
	uint64_t deadline = now_ms() + (io->len > 0 ? head_ms : idle_ms);
	bool started = io->len > 0;

	for (;;) {
		size_t end = http_head_end(io->buf, io->len);
		long n;
		int w;

		if (end > 0) {
			*head_len = end;
			return HEAD_OK;
		}
		if (io->len >= io->cap - 1) {
			*status = 431;
			fw_err_setc(err, FW_E_LIMIT, "the request head is larger than %zu bytes", io->cap - 1);
			return HEAD_REFUSE;
		}
		w = wait_fd(io, POLLIN, deadline);
		if (w < 0 && !started) {
			fw_err_sys(err, errno, "waiting for the client failed");
			return HEAD_BROKEN;
		}
		if (w <= 0) {
			if (!started)
				return HEAD_IDLE;
			*status = 408;
			fw_err_setc(err, FW_E_TIMEOUT, "the request head did not arrive within %u ms", from_start ? idle_ms : head_ms);
			return HEAD_REFUSE;
		}
		n = read_some(io, err);
		if (n == -2)
			continue;
		if (n <= 0) {
			if (!started)
				return n == 0 ? HEAD_CLOSED : HEAD_BROKEN;
			*status = 400;
			fw_err_clear(err);
			fw_err_setc(err, FW_E_IO, "the connection closed in the middle of a request head");
			return HEAD_REFUSE;
		}
		io->len += (size_t)n;
		io->buf[io->len] = '\0';
		if (!started) {
			started = true;
			if (!from_start)
				deadline = now_ms() + head_ms;
		}
	}
}

void conn_consume(struct conn_io *io, size_t n)
{
	if (n >= io->len) {
		io->len = 0;
		return;
	}
	memmove(io->buf, io->buf + n, io->len - n);
	io->len -= n;
}

int conn_write_all(struct conn_io *io, const void *p, size_t len, unsigned timeout_ms)
{
	const uint8_t *b = p;
	size_t done = 0;

	while (done < len) {
		uint64_t deadline = now_ms() + timeout_ms;
		size_t chunk = len - done > (1u << 30) ? (1u << 30) : len - done;

		if (io->ssl != NULL) {
			int n;

			ERR_clear_error();
			n = SSL_write(io->ssl, b + done, (int)chunk);
			if (n > 0) {
				done += (size_t)n;
				continue;
			}
			int e = SSL_get_error(io->ssl, n);
			if ((e != SSL_ERROR_WANT_WRITE && e != SSL_ERROR_WANT_READ) ||
			    wait_fd(io, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline) <= 0)
				return -1;
		} else {
			ssize_t n = send(io->fd, b + done, chunk, MSG_NOSIGNAL);

			if (n > 0) {
				done += (size_t)n;
				continue;
			}
			if ((n < 0 && errno != EAGAIN && errno != EINTR) ||
			    wait_fd(io, POLLOUT, deadline) <= 0)
				return -1;
		}
	}
	return 0;
}

const char *http_reason_phrase(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 203: return "Non-Authoritative Information";
	case 204: return "No Content";
	case 206: return "Partial Content";
	case 300: return "Multiple Choices";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 307: return "Temporary Redirect";
	case 308: return "Permanent Redirect";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 406: return "Not Acceptable";
	case 407: return "Proxy Authentication Required";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 412: return "Precondition Failed";
	case 416: return "Range Not Satisfiable";
	case 429: return "Too Many Requests";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 414: return "URI Too Long";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	case 507: return "Insufficient Storage";
	default: return "Status";
	}
}

int conn_send_text(struct conn_io *io, int status, const char *text, bool close, bool head,
		   const char *extra_fields, unsigned timeout_ms)
{
	char hdr[1024], body[2048];
	int bl, hl;

	bl = snprintf(body, sizeof(body), "fwgate: %s\n", text);
	if (bl < 0)
		return -1;
	if ((size_t)bl >= sizeof(body))
		bl = (int)sizeof(body) - 1;
	hl = snprintf(hdr, sizeof(hdr),
		      "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
		      "Content-Length: %d\r\nCache-Control: no-store\r\n%s%s\r\n",
		      status, http_reason_phrase(status), bl, extra_fields ? extra_fields : "",
		      close ? "Connection: close\r\n" : "");
	if (hl < 0 || (size_t)hl >= sizeof(hdr))
		return -1;
	if (conn_write_all(io, hdr, (size_t)hl, timeout_ms) != 0)
		return -1;
	return head ? 0 : conn_write_all(io, body, (size_t)bl, timeout_ms);
}
