/* The remote syslog forwarder: a bounded ring of event lines that
 * emitters fill without waiting, drained by one sender thread that owns
 * the connection (UDP, TCP with RFC 6587 octet counting, TLS per RFC 5425
 * with the collector's chain and name verified). Every network operation
 * runs on a non-blocking socket under a deadline; a lost connection is
 * retried with a bounded back-off; TLS never falls back to plaintext. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "fwgate/metrics.h"
#include "fwgate/syslog_fwd.h"

/* Slots beyond [log] syslog_queue that only the sender thread's own
 * reports may take: a full queue must not swallow the report of its drops. */
#define RESERVE_SLOTS 4

/* The forwarder whose sender thread this is, if any. */
static _Thread_local const struct fw_syslog_fwd *sender_of;

struct qitem {
	int64_t time_us;
	int severity;
	size_t len;
	char line[];
};

struct fw_syslog_fwd {
	struct fw_syslog_opts o;
	char profile[128];
	char hostname[256];
	char target_text[FW_HOST_MAX + 32]; /* for messages: "tcp://host:port" */
	long pid;
	SSL_CTX *ctx;                       /* TLS only */

	pthread_mutex_t lock;               /* guards the ring, stop and deadline */
	pthread_cond_t cond;                /* a push, or stop */
	struct qitem **ring;                /* queue_max + RESERVE_SLOTS */
	unsigned ring_len, head, count;
	bool stop;
	int64_t stop_deadline_ms;           /* monotonic */
	pthread_t thread;
	bool started;

	atomic_uint_fast64_t sent, dropped, connects;
	atomic_bool connected;

	/* The sender thread's own. */
	int fd;
	SSL *ssl;
	uint64_t dropped_reported;
	char last_err[FW_ERR_MSG_MAX];
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t real_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static const char *proto_name(enum fw_syslog_proto p)
{
	return p == FW_SYSLOG_UDP ? "udp" : p == FW_SYSLOG_TCP ? "tcp" : "tls";
}

/* ------------------------------------------------------------ queue */

static void count_dropped(struct fw_syslog_fwd *f, uint64_t n)
{
	atomic_fetch_add(&f->dropped, n);
	for (uint64_t i = 0; i < n; i++)
		fw_metrics_syslog(FW_METRICS_SYSLOG_DROPPED);
}

int fw_syslog_fwd_push(struct fw_syslog_fwd *f, enum fw_outcome outcome, const char *line, size_t len)
{
	struct qitem *it;
	bool high = strcmp(f->profile, "siem_high_priority") == 0;

	if (len > 0 && line[len - 1] == '\n')
		len--;
	it = malloc(sizeof(*it) + len + 1);
	if (it == NULL) {
		count_dropped(f, 1);
		return -1;
	}
	it->time_us = real_us();
	it->severity = fw_syslog_severity(outcome, high);
	it->len = len;
	memcpy(it->line, line, len);
	it->line[len] = '\0';
	pthread_mutex_lock(&f->lock);
	if (f->count >= (sender_of == f ? f->ring_len : f->o.queue_max) || f->stop) {
		pthread_mutex_unlock(&f->lock);
		free(it);
		count_dropped(f, 1);
		return -1;
	}
	f->ring[(f->head + f->count) % f->ring_len] = it;
	f->count++;
	fw_metrics_syslog(FW_METRICS_SYSLOG_QUEUED);
	pthread_cond_signal(&f->cond);
	pthread_mutex_unlock(&f->lock);
	return 0;
}

/* Removes the head the sender just sent (or gave up on). */
static void queue_pop(struct fw_syslog_fwd *f)
{
	struct qitem *it;

	pthread_mutex_lock(&f->lock);
	it = f->ring[f->head];
	f->ring[f->head] = NULL;
	f->head = (f->head + 1) % f->ring_len;
	f->count--;
	pthread_mutex_unlock(&f->lock);
	fw_metrics_syslog(FW_METRICS_SYSLOG_UNQUEUED);
	free(it);
}

void fw_syslog_fwd_stats(struct fw_syslog_fwd *f, struct fw_syslog_stats *st)
{
	pthread_mutex_lock(&f->lock);
	st->queued = f->count;
	pthread_mutex_unlock(&f->lock);
	st->sent = atomic_load(&f->sent);
	st->dropped = atomic_load(&f->dropped);
	st->connects = atomic_load(&f->connects);
	st->connected = atomic_load(&f->connected);
}

/* ------------------------------------------------------------ reports */

static void report_event(struct fw_syslog_fwd *f, const struct fw_event *ev)
{
	char *line;
	size_t len;

	if (f->o.report != NULL) {
		f->o.report(f->o.report_arg, ev);
		return;
	}
	line = fw_event_format(ev, &len);
	if (line == NULL) {
		count_dropped(f, 1);
		return;
	}
	(void)fw_syslog_fwd_push(f, ev->outcome, line, len);
	free(line);
}

/* A connection problem: told once until the next success or another
 * problem, so a collector that stays down does not flood the log. */
static void report_error(struct fw_syslog_fwd *f, const struct fw_err *err)
{
	const struct fw_event_field more[] = { { .key = "fwgate.syslog.target", .str = f->target_text } };
	struct fw_event ev = {
		.action = "fwgate-syslog-error", .outcome = FW_OUTCOME_FAILURE, .reason = fw_err_msg(err),
		.extra = more, .n_extra = FW_ARRAY_LEN(more),
	};

	if (strcmp(f->last_err, fw_err_msg(err)) == 0)
		return;
	snprintf(f->last_err, sizeof(f->last_err), "%s", fw_err_msg(err));
	if (f->o.info != NULL)
		fprintf(f->o.info, "fwgate: syslog %s: %s\n", f->target_text, fw_err_msg(err));
	report_event(f, &ev);
}

static void report_dropped(struct fw_syslog_fwd *f)
{
	uint64_t dropped = atomic_load(&f->dropped), n = dropped - f->dropped_reported;
	char reason[160];
	const struct fw_event_field more[] = {
		{ .key = "fwgate.syslog.dropped", .num = (long long)n },
		{ .key = "fwgate.syslog.dropped_total", .num = (long long)dropped },
		{ .key = "fwgate.syslog.target", .str = f->target_text },
	};
	struct fw_event ev = {
		.action = "fwgate-syslog-dropped", .outcome = FW_OUTCOME_FAILURE, .reason = reason,
		.extra = more, .n_extra = FW_ARRAY_LEN(more),
	};

	if (n == 0)
		return;
	snprintf(reason, sizeof(reason),
		 "%llu event(s) were not forwarded to the syslog collector (queue full or collector unreachable)",
		 (unsigned long long)n);
	f->dropped_reported = dropped;
	if (f->o.info != NULL)
		fprintf(f->o.info, "fwgate: syslog %s: %s\n", f->target_text, reason);
	report_event(f, &ev);
}

/* ------------------------------------------------------------ transport */

/* The deadline of one operation: its own timeout, or the flush deadline
 * once close has begun, whichever comes first. */
static int64_t op_deadline(struct fw_syslog_fwd *f)
{
	int64_t d = mono_ms() + (int64_t)f->o.timeout_seconds * 1000;

	pthread_mutex_lock(&f->lock);
	if (f->stop && f->stop_deadline_ms < d)
		d = f->stop_deadline_ms;
	pthread_mutex_unlock(&f->lock);
	return d;
}

/* Waits for events on fd until deadline (or the flush deadline, once
 * close has begun: checked every 100 ms, so a long timeout never holds a
 * stop): 1 ready, 0 timed out, -1 error. */
static int wait_fd(struct fw_syslog_fwd *f, int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t end = deadline, left;
		struct pollfd p = { .fd = fd, .events = events };
		int n;

		pthread_mutex_lock(&f->lock);
		if (f->stop && f->stop_deadline_ms < end)
			end = f->stop_deadline_ms;
		pthread_mutex_unlock(&f->lock);
		left = end - mono_ms();
		if (left <= 0)
			return 0;
		n = poll(&p, 1, (int)(left > 100 ? 100 : left));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n > 0)
			return 1;
	}
}

static void conn_close(struct fw_syslog_fwd *f)
{
	if (f->ssl != NULL) {
		(void)SSL_shutdown(f->ssl); /* best effort: one close_notify, no wait */
		SSL_free(f->ssl);
		f->ssl = NULL;
	}
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	atomic_store(&f->connected, false);
}

static int tcp_connect_one(struct fw_syslog_fwd *f, const struct addrinfo *ai, int64_t deadline, struct fw_err *err)
{
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
	int soerr = 0, w;
	socklen_t sl = sizeof(soerr);

	if (fd < 0)
		return fw_err_sys(err, errno, "cannot create a socket");
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return fd;
	if (errno != EINPROGRESS) {
		fw_err_sys(err, errno, "cannot connect");
		close(fd);
		return -1;
	}
	w = wait_fd(f, fd, POLLOUT, deadline);
	if (w <= 0) {
		if (w == 0)
			fw_err_setc(err, FW_E_TIMEOUT, "connect timed out");
		else
			fw_err_sys(err, errno, "cannot connect");
		close(fd);
		return -1;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr != 0) {
		fw_err_sys(err, soerr ? soerr : errno, "cannot connect");
		close(fd);
		return -1;
	}
	return fd;
}

static void tls_error(struct fw_syslog_fwd *f, const char *what, struct fw_err *err)
{
	long vr = f->ssl != NULL ? SSL_get_verify_result(f->ssl) : X509_V_OK;
	unsigned long e = ERR_get_error();
	char buf[256];

	if (vr != X509_V_OK) {
		fw_err_setc(err, FW_E_DENIED, "%s: the collector's certificate is not trusted: %s", what,
			    X509_verify_cert_error_string(vr));
	} else if (e != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		fw_err_setc(err, FW_E_IO, "%s: %s", what, buf);
	} else {
		fw_err_setc(err, FW_E_IO, "%s: the connection was closed", what);
	}
	ERR_clear_error();
}

/* Drives one SSL call on the non-blocking socket until it completes. */
static int tls_io(struct fw_syslog_fwd *f, int rc, int64_t deadline, const char *what, struct fw_err *err)
{
	int e = SSL_get_error(f->ssl, rc), w;

	if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
		tls_error(f, what, err);
		return -1;
	}
	w = wait_fd(f, f->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline);
	if (w == 0)
		return fw_err_setc(err, FW_E_TIMEOUT, "%s timed out", what);
	if (w < 0)
		return fw_err_sys(err, errno, "%s", what);
	return 0;
}

static int tls_start(struct fw_syslog_fwd *f, int64_t deadline, struct fw_err *err)
{
	const char *host = f->o.target.host;
	int rc;

	ERR_clear_error();
	f->ssl = SSL_new(f->ctx);
	if (f->ssl == NULL || SSL_set_fd(f->ssl, f->fd) != 1)
		return fw_err_setc(err, FW_E_NOMEM, "cannot set up TLS");
	/* RFC 5425 5.2: the collector is who the target names. */
	if (f->o.target.host_is_ip) {
		if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(f->ssl), host) != 1)
			return fw_err_setc(err, FW_E_INVALID, "cannot check the collector's address %s", host);
	} else if (SSL_set_tlsext_host_name(f->ssl, f->o.target.host) != 1 || SSL_set1_host(f->ssl, host) != 1) {
		return fw_err_setc(err, FW_E_INVALID, "cannot check the collector's name %s", host);
	}
	while ((rc = SSL_connect(f->ssl)) != 1)
		if (tls_io(f, rc, deadline, "TLS handshake", err) != 0)
			return -1;
	return 0;
}

static int conn_open(struct fw_syslog_fwd *f, struct fw_err *err)
{
	struct addrinfo hints = { 0 }, *res = NULL;
	char port[8];
	int64_t deadline = op_deadline(f);
	int rc;

	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = f->o.target.proto == FW_SYSLOG_UDP ? SOCK_DGRAM : SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | (f->o.target.host_is_ip ? AI_NUMERICHOST : 0);
	snprintf(port, sizeof(port), "%u", (unsigned)f->o.target.port);
	/* getaddrinfo has no timeout: a name is resolved by the system's
	 * resolver under its own (resolv.conf) bounds. */
	rc = getaddrinfo(f->o.target.host, port, &hints, &res);
	if (rc != 0)
		return fw_err_setc(err, FW_E_IO, "cannot resolve %s: %s", f->o.target.host,
				   rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
	for (struct addrinfo *ai = res; ai != NULL && f->fd < 0; ai = ai->ai_next) {
		fw_err_clear(err);
		f->fd = tcp_connect_one(f, ai, deadline, err);
	}
	freeaddrinfo(res);
	if (f->fd < 0)
		return -1;
	if (f->o.target.proto == FW_SYSLOG_TLS && tls_start(f, deadline, err) != 0) {
		conn_close(f);
		return -1;
	}
	atomic_store(&f->connected, true);
	atomic_fetch_add(&f->connects, 1);
	return 0;
}

/* A stream collector never talks: readable means closed (EOF, a reset, a
 * TLS alert), found before a send so the message goes to a new connection
 * instead of a dead socket's buffer. What a TLS 1.3 collector does send
 * (session tickets) is read and dropped here. */
static bool peer_gone(struct fw_syslog_fwd *f)
{
	struct pollfd p = { .fd = f->fd, .events = POLLIN };
	char buf[512];

	if (f->o.target.proto == FW_SYSLOG_UDP)
		return false;
	for (int round = 0; round < 64; round++) {
		int n = poll(&p, 1, 0);

		if (n == 0 || (n < 0 && errno == EINTR))
			return false;
		if (n < 0 || (p.revents & (POLLERR | POLLHUP | POLLNVAL)) != 0)
			return true;
		if (f->ssl != NULL) {
			int rc, e;

			ERR_clear_error();
			rc = SSL_read(f->ssl, buf, sizeof(buf));
			e = rc > 0 ? SSL_ERROR_NONE : SSL_get_error(f->ssl, rc);
			ERR_clear_error();
			if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
				return false;
			if (e != SSL_ERROR_NONE)
				return true;
		} else {
			ssize_t r = recv(f->fd, buf, sizeof(buf), MSG_DONTWAIT);

			if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
				return false;
			if (r <= 0)
				return true;
		}
	}
	return true; /* a collector that keeps talking is not one */
}

static int send_all(struct fw_syslog_fwd *f, const char *buf, size_t len, struct fw_err *err)
{
	int64_t deadline = op_deadline(f);
	size_t done = 0;

	while (done < len) {
		if (f->ssl != NULL) {
			int rc;

			ERR_clear_error();
			rc = SSL_write(f->ssl, buf + done, (int)(len - done));
			if (rc > 0) {
				done += (size_t)rc;
				continue;
			}
			if (tls_io(f, rc, deadline, "TLS send", err) != 0)
				return -1;
			continue;
		}
		ssize_t n = send(f->fd, buf + done, len - done, MSG_NOSIGNAL);

		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			int w = wait_fd(f, f->fd, POLLOUT, deadline);

			if (w == 0)
				return fw_err_setc(err, FW_E_TIMEOUT, "send timed out (the collector does not read)");
			if (w > 0)
				continue;
		}
		return fw_err_sys(err, n < 0 ? errno : EPIPE, "send failed");
	}
	return 0;
}

/* Formats and sends the item: 0 sent, 1 unsendable (dropped), -1 the
 * connection failed (the item stays queued). */
static int send_item(struct fw_syslog_fwd *f, const struct qitem *it, struct fw_err *err)
{
	struct fw_syslog_header h = {
		.facility = f->o.facility, .severity = it->severity, .time_us = it->time_us,
		.hostname = f->hostname, .pid = f->pid, .profile = f->profile,
	};
	bool udp = f->o.target.proto == FW_SYSLOG_UDP;
	size_t max = udp ? FW_SYSLOG_UDP_MAX : FW_SYSLOG_STREAM_MAX, mlen, flen;
	char *msg = NULL, *frame = NULL;
	struct fw_err ferr;
	int rc = 1, n;

	fw_err_clear(&ferr);
	if (fw_syslog_format(&h, it->line, it->len, max, &msg, &mlen, &ferr) != 0)
		goto out;
	if (udp) {
		rc = send_all(f, msg, mlen, err);
		goto out;
	}
	/* RFC 6587 3.4.1: MSG-LEN SP SYSLOG-MSG. */
	frame = malloc(mlen + 16);
	if (frame == NULL)
		goto out;
	n = snprintf(frame, 16, "%zu ", mlen);
	memcpy(frame + n, msg, mlen);
	flen = (size_t)n + mlen;
	rc = send_all(f, frame, flen, err);
out:
	free(msg);
	free(frame);
	return rc;
}

/* ------------------------------------------------------------ the thread */

/* Sleeps until until_ms or stop; true when stopping. */
static bool wait_until(struct fw_syslog_fwd *f, int64_t until_ms)
{
	bool stop;

	pthread_mutex_lock(&f->lock);
	while (!f->stop && mono_ms() < until_ms) {
		struct timespec ts;
		int64_t left = until_ms - mono_ms();

		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += left / 1000;
		ts.tv_nsec += (left % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		(void)pthread_cond_timedwait(&f->cond, &f->lock, &ts);
	}
	stop = f->stop;
	pthread_mutex_unlock(&f->lock);
	return stop;
}

static void *sender_main(void *arg)
{
	struct fw_syslog_fwd *f = arg;
	int64_t backoff = FW_SYSLOG_BACKOFF_MIN_MS;

	sender_of = f;
	for (;;) {
		struct qitem *it = NULL;
		struct fw_err err;
		bool stop;
		int rc;

		fw_err_clear(&err);
		pthread_mutex_lock(&f->lock);
		while (f->count == 0 && !f->stop && atomic_load(&f->connected))
			pthread_cond_wait(&f->cond, &f->lock);
		stop = f->stop;
		if (f->count > 0)
			it = f->ring[f->head];
		if (stop && (it == NULL || mono_ms() >= f->stop_deadline_ms)) {
			pthread_mutex_unlock(&f->lock);
			break;
		}
		pthread_mutex_unlock(&f->lock);

		if (atomic_load(&f->connected) && peer_gone(f)) {
			conn_close(f);
			fw_err_setc(&err, FW_E_IO, "the collector closed the connection");
			report_error(f, &err);
			continue;
		}
		if (!atomic_load(&f->connected)) {
			if (conn_open(f, &err) != 0) {
				report_error(f, &err);
				/* Closing with the collector down: give up now. */
				if (stop)
					break;
				(void)wait_until(f, mono_ms() + backoff);
				backoff = backoff * 2 > FW_SYSLOG_BACKOFF_MAX_MS ? FW_SYSLOG_BACKOFF_MAX_MS : backoff * 2;
				continue;
			}
			backoff = FW_SYSLOG_BACKOFF_MIN_MS;
			f->last_err[0] = '\0';
			if (f->o.info != NULL)
				fprintf(f->o.info, "fwgate: syslog: connected to %s\n", f->target_text);
			report_dropped(f);
			continue;
		}
		if (it == NULL)
			continue;
		rc = send_item(f, it, &err);
		if (rc < 0) {
			conn_close(f);
			report_error(f, &err);
			continue;
		}
		queue_pop(f);
		if (rc == 0) {
			atomic_fetch_add(&f->sent, 1);
			fw_metrics_syslog(FW_METRICS_SYSLOG_SENT);
		} else {
			count_dropped(f, 1);
		}
		pthread_mutex_lock(&f->lock);
		rc = f->count == 0;
		pthread_mutex_unlock(&f->lock);
		if (rc)
			report_dropped(f);
	}
	return NULL;
}

/* ------------------------------------------------------------ life cycle */

static int tls_ctx_new(struct fw_syslog_fwd *f, struct fw_err *err)
{
	const struct fw_syslog_opts *o = &f->o;

	ERR_clear_error();
	f->ctx = SSL_CTX_new(TLS_client_method());
	if (f->ctx == NULL)
		return fw_err_setc(err, FW_E_NOMEM, "cannot create a TLS context");
	SSL_CTX_set_verify(f->ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_mode(f->ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (SSL_CTX_set_min_proto_version(f->ctx, TLS1_2_VERSION) != 1)
		return fw_err_set(err, "cannot require TLS 1.2");
	if (o->ca_file != NULL && o->ca_file[0] != '\0') {
		if (SSL_CTX_load_verify_locations(f->ctx, o->ca_file, NULL) != 1)
			return fw_err_setc(err, FW_E_CONFIG, "[log] syslog_ca_file %s: no CA certificate could be read",
					   o->ca_file);
	} else if (SSL_CTX_set_default_verify_paths(f->ctx) != 1) {
		return fw_err_set(err, "cannot load the system trust store");
	}
	if (o->cert_file != NULL && o->cert_file[0] != '\0') {
		if (SSL_CTX_use_certificate_chain_file(f->ctx, o->cert_file) != 1)
			return fw_err_setc(err, FW_E_CONFIG, "[log] syslog_cert_file %s: not a PEM certificate chain",
					   o->cert_file);
		if (o->key_file == NULL || SSL_CTX_use_PrivateKey_file(f->ctx, o->key_file, SSL_FILETYPE_PEM) != 1 ||
		    SSL_CTX_check_private_key(f->ctx) != 1)
			return fw_err_setc(err, FW_E_CONFIG,
					   "[log] syslog_key_file %s: not the PEM private key of syslog_cert_file",
					   o->key_file != NULL ? o->key_file : "");
	}
	ERR_clear_error();
	return 0;
}

int fw_syslog_fwd_new(struct fw_syslog_fwd **out, const struct fw_syslog_opts *opts, struct fw_err *err)
{
	struct fw_syslog_fwd *f;
	pthread_condattr_t ca;
	const struct fw_syslog_target *t = &opts->target;

	*out = NULL;
	if (opts->queue_max < FW_SYSLOG_QUEUE_MIN || opts->queue_max > FW_SYSLOG_QUEUE_MAX)
		return fw_err_setc(err, FW_E_INVALID, "syslog queue of %u events: not within %d-%d", opts->queue_max,
				   FW_SYSLOG_QUEUE_MIN, FW_SYSLOG_QUEUE_MAX);
	if (opts->timeout_seconds == 0 || t->port == 0 || t->host[0] == '\0' ||
	    (t->proto != FW_SYSLOG_UDP && t->proto != FW_SYSLOG_TCP && t->proto != FW_SYSLOG_TLS))
		return fw_err_setc(err, FW_E_INVALID, "incomplete syslog target");
	f = calloc(1, sizeof(*f));
	if (f == NULL)
		return fw_err_setc(err, FW_E_NOMEM, "out of memory");
	f->o = *opts;
	f->fd = -1;
	f->pid = (long)getpid();
	snprintf(f->profile, sizeof(f->profile), "%s", opts->profile != NULL ? opts->profile : "");
	if (gethostname(f->hostname, sizeof(f->hostname)) != 0)
		f->hostname[0] = '\0';
	f->hostname[sizeof(f->hostname) - 1] = '\0';
	snprintf(f->target_text, sizeof(f->target_text), t->host_is_ip && strchr(t->host, ':') ? "%s://[%s]:%u"
											       : "%s://%s:%u",
		 proto_name(t->proto), t->host, (unsigned)t->port);
	f->ring_len = opts->queue_max + RESERVE_SLOTS;
	f->ring = calloc(f->ring_len, sizeof(*f->ring));
	if (f->ring == NULL) {
		free(f);
		return fw_err_setc(err, FW_E_NOMEM, "out of memory for a syslog queue of %u events", opts->queue_max);
	}
	if (pthread_mutex_init(&f->lock, NULL) != 0) {
		free(f->ring);
		free(f);
		return fw_err_set(err, "cannot create the syslog queue lock");
	}
	/* Waits are measured on the monotonic clock: a clock step must not
	 * stretch a back-off or the flush at close. */
	if (pthread_condattr_init(&ca) != 0 || pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&f->cond, &ca) != 0) {
		pthread_mutex_destroy(&f->lock);
		free(f->ring);
		free(f);
		return fw_err_set(err, "cannot create the syslog queue condition");
	}
	pthread_condattr_destroy(&ca);
	if (t->proto == FW_SYSLOG_TLS && tls_ctx_new(f, err) != 0) {
		fw_syslog_fwd_free(f);
		return -1;
	}
	/* The files are read; the caller's strings are not kept. */
	f->o.ca_file = f->o.cert_file = f->o.key_file = NULL;
	f->o.profile = f->profile;
	/* *out before the thread: its first report may reach an emitter that
	 * reads the caller's pointer. */
	*out = f;
	if (pthread_create(&f->thread, NULL, sender_main, f) != 0) {
		*out = NULL;
		fw_syslog_fwd_free(f);
		return fw_err_set(err, "cannot start the syslog sender thread");
	}
	f->started = true;
	return 0;
}

void fw_syslog_fwd_free(struct fw_syslog_fwd *f)
{
	uint64_t left = 0;

	if (f == NULL)
		return;
	if (f->started) {
		pthread_mutex_lock(&f->lock);
		f->stop = true;
		f->stop_deadline_ms = mono_ms() + FW_SYSLOG_FLUSH_MS;
		pthread_cond_broadcast(&f->cond);
		pthread_mutex_unlock(&f->lock);
		pthread_join(f->thread, NULL);
	}
	conn_close(f);
	while (f->count > 0) {
		free(f->ring[f->head]);
		f->head = (f->head + 1) % f->ring_len;
		f->count--;
		fw_metrics_syslog(FW_METRICS_SYSLOG_UNQUEUED);
		left++;
	}
	if (left > 0) {
		count_dropped(f, left);
		if (f->o.info != NULL)
			fprintf(f->o.info, "fwgate: syslog %s: %llu event(s) still queued at close were dropped\n",
				f->target_text, (unsigned long long)left);
	}
	SSL_CTX_free(f->ctx);
	pthread_cond_destroy(&f->cond);
	pthread_mutex_destroy(&f->lock);
	free(f->ring);
	free(f);
}

int fw_syslog_opts_from_config(struct fw_syslog_opts *o, const struct fw_config *cfg, struct fw_err *err)
{
	struct fw_syslog_target t;

	if (cfg->log.syslog_target[0] == '\0')
		return 1;
	if (fw_syslog_target_parse(cfg->log.syslog_target, &t, err) != 0)
		return fw_err_prefix(err, "[log] syslog_target");
	memset(o, 0, sizeof(*o));
	o->target = t;
	o->ca_file = cfg->log.syslog_ca_file;
	o->cert_file = cfg->log.syslog_cert_file;
	o->key_file = cfg->log.syslog_key_file;
	o->queue_max = cfg->log.syslog_queue;
	o->timeout_seconds = cfg->log.syslog_timeout_seconds;
	o->facility = cfg->log.syslog_facility;
	return 0;
}
