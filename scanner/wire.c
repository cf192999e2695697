/* The scanner's message format on UNIX stream sockets: a fixed header
 * (magic, version, type, length) checked before any payload byte is read,
 * a bounded payload, and descriptors passed with SCM_RIGHTS on the
 * header. Used between the client (proxy or CLI), the supervisor and the
 * workers. Must not interpret payloads. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "scanner/scan_int.h"

struct wire_hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t type;
	uint32_t len;
};

/* A whole message's deadline: a peer that sends a byte at a time cannot
 * stretch one message past its timeout. -1: none. */
static int64_t deadline_of(int timeout_ms)
{
	struct timespec ts;

	if (timeout_ms < 0)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + timeout_ms;
}

static int left_ms(int64_t deadline)
{
	struct timespec ts;
	int64_t now;

	if (deadline < 0)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	return deadline > now ? (int)(deadline - now) : 0;
}

static int wait_fd(int fd, short events, int64_t deadline, struct fw_err *err)
{
	struct pollfd p = { .fd = fd, .events = events };
	int r;

	do
		r = poll(&p, 1, left_ms(deadline));
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return fw_err_sys(err, errno, "poll on the scanner socket failed");
	if (r == 0)
		return fw_err_set(err, "the scanner socket timed out");
	return 0;
}

int scan_wire_send(int sock, uint16_t type, const void *payload, uint32_t len, const int *fds,
		   unsigned n_fds, int timeout_ms, struct fw_err *err)
{
	struct wire_hdr h = { .magic = SCAN_WIRE_MAGIC, .version = SCAN_WIRE_VERSION, .type = type, .len = len };
	union {
		char buf[CMSG_SPACE(sizeof(int) * SCAN_WIRE_MAX_FDS)];
		struct cmsghdr align;
	} cm;
	struct iovec iov = { .iov_base = &h, .iov_len = sizeof(h) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	const char *p = payload;
	int64_t deadline = deadline_of(timeout_ms);
	size_t off = 0;
	ssize_t n;

	if (len > SCAN_WIRE_MAX || n_fds > SCAN_WIRE_MAX_FDS)
		return fw_err_set(err, "a scanner message is over its bounds");
	if (n_fds > 0) {
		struct cmsghdr *c;

		memset(&cm, 0, sizeof(cm));
		msg.msg_control = cm.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * n_fds);
	}
	/* The header (with its descriptors) goes in one sendmsg; a stream
	 * socket may still take it in parts, so the rest is looped. */
	while (iov.iov_len > 0) {
		if (wait_fd(sock, POLLOUT, deadline, err) != 0)
			return -1;
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return fw_err_sys(err, n < 0 ? errno : EPIPE, "cannot send to the scanner");
		iov.iov_base = (char *)iov.iov_base + n;
		iov.iov_len -= (size_t)n;
		msg.msg_control = NULL;
		msg.msg_controllen = 0;
	}
	while (off < len) {
		if (wait_fd(sock, POLLOUT, deadline, err) != 0)
			return -1;
		n = send(sock, p + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return fw_err_sys(err, n < 0 ? errno : EPIPE, "cannot send to the scanner");
		off += (size_t)n;
	}
	return 0;
}

static void take_fds(struct msghdr *msg, struct scan_msg *m)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c != NULL; c = CMSG_NXTHDR(msg, c)) {
		size_t n;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (m->n_fds < SCAN_WIRE_MAX_FDS)
				m->fds[m->n_fds++] = fd;
			else
				close(fd);
		}
	}
}

int scan_wire_recv(int sock, struct scan_msg *m, uint32_t max_len, int timeout_ms, struct fw_err *err)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * SCAN_WIRE_MAX_FDS)];
		struct cmsghdr align;
	} cm;
	struct wire_hdr h;
	int64_t deadline = deadline_of(timeout_ms);
	size_t got = 0;
	ssize_t n;

	memset(m, 0, sizeof(*m));
	for (unsigned i = 0; i < SCAN_WIRE_MAX_FDS; i++)
		m->fds[i] = -1;
	while (got < sizeof(h)) {
		struct iovec iov = { .iov_base = (char *)&h + got, .iov_len = sizeof(h) - got };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf,
				      .msg_controllen = sizeof(cm.buf) };

		if (wait_fd(sock, POLLIN, deadline, err) != 0)
			goto fail;
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fw_err_sys(err, errno, "cannot read from the scanner");
			goto fail;
		}
		take_fds(&msg, m);
		if (n == 0) {
			if (got > 0)
				fw_err_set(err, "the scanner closed its socket in the middle of a message");
			goto fail;
		}
		if (msg.msg_flags & MSG_CTRUNC) {
			fw_err_set(err, "a scanner message carried too many descriptors");
			goto fail;
		}
		got += (size_t)n;
	}
	if (h.magic != SCAN_WIRE_MAGIC || h.version != SCAN_WIRE_VERSION || h.type < SCAN_MSG_JOB ||
	    h.type > SCAN_MSG_LAST || h.len > SCAN_WIRE_MAX || h.len > max_len) {
		fw_err_set(err, "a scanner message has a bad header (type %u, %u bytes)", h.type, h.len);
		goto fail;
	}
	m->type = h.type;
	m->len = h.len;
	m->payload = malloc((size_t)h.len + 1);
	if (m->payload == NULL) {
		fw_err_set(err, "out of memory for a scanner message of %u bytes", h.len);
		goto fail;
	}
	for (got = 0; got < h.len;) {
		if (wait_fd(sock, POLLIN, deadline, err) != 0)
			goto fail;
		n = recv(sock, m->payload + got, h.len - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fw_err_set(err, "the scanner closed its socket in the middle of a message");
			goto fail;
		}
		got += (size_t)n;
	}
	m->payload[h.len] = '\0';
	return 0;
fail:
	scan_msg_release(m);
	return -1;
}

void scan_msg_release(struct scan_msg *m)
{
	for (unsigned i = 0; i < m->n_fds; i++)
		if (m->fds[i] >= 0)
			close(m->fds[i]);
	free(m->payload);
	memset(m, 0, sizeof(*m));
	for (unsigned i = 0; i < SCAN_WIRE_MAX_FDS; i++)
		m->fds[i] = -1;
}
