/* The proxy's listeners and accept loop: binds every [proxy] listen
 * address; refuses sources outside [proxy] clients (403), and connections
 * beyond max_clients or max_clients_per_source (503), through the
 * refusal lane so that no refused client holds a thread or the loop;
 * starts one thread per admitted client; backs off when the process is
 * out of descriptors instead of spinning; and stops by waking and joining
 * every connection before anything is freed. Fills the connection slots
 * (slots.c keeps them). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fwgate/scanner.h"
#include "proxy/conn_io.h"
#include "proxy/proxy_int.h"

#define CONN_STACK_BYTES (1024 * 1024)
/* Refusal events: at most this many a second (a burst of twice as many),
 * the rest counted and reported with the next one: a flood must not turn
 * into a flood of log lines. */
#define REFUSAL_EVENTS_PER_S 10
/* Out of descriptors: the listeners rest this long, doubling up to the max. */
#define ACCEPT_BACKOFF_MIN_MS 50
#define ACCEPT_BACKOFF_MAX_MS 1000
/* While stopping, a line every this many seconds names what is left. */
#define STOP_REPORT_S 10
/* The accept loop turns at least this often, to prove it is alive
 * (fw_proxy_status: the systemd watchdog pings only while it turns). */
#define ACCEPT_BEAT_MS 1000

static int listen_one(const struct fw_listen_addr *a, struct fw_err *err)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1;
	char text[96];

	memset(&ss, 0, sizeof(ss));
	if (a->ipv6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(a->port);
		inet_pton(AF_INET6, a->ip, &s6->sin6_addr);
		len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(a->port);
		inet_pton(AF_INET, a->ip, &s4->sin_addr);
		len = sizeof(*s4);
	}
	fw_listen_addr_str(a, text, sizeof(text));
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return fw_err_sys(err, errno, "cannot create a socket for %s", text);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (a->ipv6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, 512) != 0) {
		fw_err_sys(err, errno, "cannot listen on %s", text);
		close(fd);
		return -1;
	}
	return fd;
}

static void client_ip_of(const struct sockaddr_storage *ss, char *out, size_t len)
{
	if (ss->ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, out, (socklen_t)len);
	else
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, out, (socklen_t)len);
}

/* The accept thread's token bucket for refusal events. Returns whether
 * one may be emitted now, and how many were held back before it. */
static bool refusal_event_allowed(struct fw_proxy *px, unsigned *suppressed)
{
	struct timespec now;
	double t, burst = 2.0 * REFUSAL_EVENTS_PER_S;

	clock_gettime(CLOCK_MONOTONIC, &now);
	t = (double)now.tv_sec + (double)now.tv_nsec / 1e9;
	px->ev_tokens += (t - px->ev_last) * REFUSAL_EVENTS_PER_S;
	if (px->ev_tokens > burst || px->ev_last == 0.0)
		px->ev_tokens = burst;
	px->ev_last = t;
	if (px->ev_tokens < 1.0) {
		px->ev_suppressed++;
		return false;
	}
	px->ev_tokens -= 1.0;
	*suppressed = px->ev_suppressed;
	px->ev_suppressed = 0;
	return true;
}

/* Refuses a connection before anything is read: the answer goes through
 * the refusal lane, the event (rate-limited) names the source. */
static void refuse_early(struct fw_proxy *px, int fd, const char *ip, int status, const char *action,
			 const char *reason, const char *extra_fields)
{
	char resp[1536];
	unsigned suppressed = 0;
	int n;

	n = snprintf(resp, sizeof(resp),
		     "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %zu\r\n"
		     "Cache-Control: no-store\r\n%sConnection: close\r\n\r\nfwgate: %s\n",
		     status, http_reason_phrase(status), strlen(reason) + 9, extra_fields, reason);
	if (n < 0 || (size_t)n >= sizeof(resp)) {
		close(fd);
		return;
	}
	refuse_lane_add(px->lane, fd, resp, (size_t)n);
	if (refusal_event_allowed(px, &suppressed)) {
		const struct fw_event_field extra[] = {
			{ .key = "http.response.status_code", .num = status },
			{ .key = "fwgate.suppressed", .num = suppressed },
		};
		const struct fw_event ev = {
			.action = action, .outcome = FW_OUTCOME_FAILURE, .source_ip = ip, .rule = px->deps.pol->rule,
			.verdict = "refused", .reason = reason, .extra = extra, .n_extra = suppressed > 0 ? 2 : 1,
		};

		fw_evlog_emit(px->deps.log, &ev);
	}
}

enum accept_result {
	ACCEPT_OK,
	ACCEPT_EMPTY,        /* nothing (more) to accept now */
	ACCEPT_EXHAUSTED,    /* out of descriptors or memory: back off */
};

static enum accept_result accept_one(struct fw_proxy *px, int lfd, int *errnum)
{
	const struct fw_config *cfg = px->deps.cfg;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct proxy_conn_arg *a;
	struct source_key src;
	pthread_attr_t attr;
	pthread_t th;
	unsigned slot = 0;
	char ip[64] = "", why[160];
	int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0) {
		*errnum = errno;
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
			return ACCEPT_EXHAUSTED;
		return errno == EAGAIN || errno == EWOULDBLOCK ? ACCEPT_EMPTY : ACCEPT_OK;
	}
	client_ip_of(&ss, ip, sizeof(ip));
	/* Only the appliance may use the proxy. */
	if (!fw_cidr_list_contains(cfg->proxy.clients, cfg->proxy.n_clients, (const struct sockaddr *)&ss)) {
		snprintf(why, sizeof(why), "the source %s is not in [proxy] clients: this proxy serves only the "
			 "appliance", ip);
		refuse_early(px, fd, ip, 403, "proxy-client-refused", why, "");
		return ACCEPT_OK;
	}
	source_key_of(&ss, &src);
	pthread_mutex_lock(&px->lock);
	/* The source's own limit first: a source at its limit must not get
	 * to preempt anyone else's connection. */
	if (!source_take(px->sources, &src, cfg->proxy.max_clients_per_source)) {
		pthread_mutex_unlock(&px->lock);
		snprintf(why, sizeof(why), "the source %s has its maximum of %u connections open "
			 "([proxy] max_clients_per_source)", ip, cfg->proxy.max_clients_per_source);
		refuse_early(px, fd, ip, 503, "proxy-busy", why, "Retry-After: 5\r\n");
		return ACCEPT_OK;
	}
	if (px->active >= cfg->proxy.max_clients && !proxy_slots_preempt_one(px)) {
		source_release(px->sources, &src);
		pthread_mutex_unlock(&px->lock);
		snprintf(why, sizeof(why), "the gateway is serving its maximum of %u clients", cfg->proxy.max_clients);
		refuse_early(px, fd, ip, 503, "proxy-busy", why, "Retry-After: 5\r\n");
		return ACCEPT_OK;
	}
	while (px->slots[slot].fd != -1)
		slot++;
	px->slots[slot] = (struct conn_slot){ .fd = fd, .since_ms = proxy_mono_ms(), .awaiting_head = true };
	px->active++;
	atomic_store(&px->n_open, px->active);
	atomic_fetch_add(&px->n_accepted, 1);
	pthread_mutex_unlock(&px->lock);
	a = calloc(1, sizeof(*a));
	if (a != NULL) {
		a->px = px;
		a->fd = fd;
		a->slot = slot;
		a->src = src;
		snprintf(a->client_ip, sizeof(a->client_ip), "%s", ip);
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		pthread_attr_setstacksize(&attr, CONN_STACK_BYTES);
		if (pthread_create(&th, &attr, proxy_conn_main, a) == 0) {
			pthread_attr_destroy(&attr);
			return ACCEPT_OK;
		}
		pthread_attr_destroy(&attr);
		free(a);
	}
	/* No thread for it: as exhausted as a missing descriptor. */
	close(fd);
	proxy_conn_done(px, slot, &src);
	*errnum = ENOMEM;
	return ACCEPT_EXHAUSTED;
}

static void accept_exhausted(struct fw_proxy *px, int errnum, unsigned backoff_ms)
{
	unsigned suppressed = 0;
	char why[192];

	snprintf(why, sizeof(why), "cannot accept a connection: %s; the listeners rest %u ms", strerror(errnum),
		 backoff_ms);
	if (refusal_event_allowed(px, &suppressed)) {
		const struct fw_event_field extra[] = { { .key = "fwgate.suppressed", .num = suppressed } };
		const struct fw_event ev = {
			.action = "proxy-accept-failed", .outcome = FW_OUTCOME_FAILURE, .rule = px->deps.pol->rule,
			.reason = why, .extra = extra, .n_extra = suppressed > 0 ? 1 : 0,
		};

		fw_evlog_emit(px->deps.log, &ev);
	}
}

static void *accept_main(void *arg)
{
	struct fw_proxy *px = arg;
	struct pollfd pfd[FW_LISTEN_MAX + 1];
	unsigned backoff_ms = 0;

	for (;;) {
		unsigned n = backoff_ms > 0 ? 0 : px->n_listen;
		int rc, errnum = 0;
		bool exhausted = false;

		/* While backing off only the wake pipe is watched. */
		for (unsigned i = 0; i < n; i++)
			pfd[i] = (struct pollfd){ .fd = px->listen_fds[i], .events = POLLIN };
		pfd[n] = (struct pollfd){ .fd = px->wake[0], .events = POLLIN };
		atomic_store(&px->accept_beat_ms, proxy_mono_ms());
		rc = poll(pfd, n + 1, backoff_ms > 0 ? (int)backoff_ms : ACCEPT_BEAT_MS);
		if (rc < 0 && errno != EINTR)
			break;
		if (pfd[n].revents != 0)
			break;
		if (backoff_ms > 0 && rc == 0) {
			/* Rested: listen again, keeping the back-off until an
			 * accept succeeds. */
			n = px->n_listen;
			for (unsigned i = 0; i < n; i++)
				pfd[i] = (struct pollfd){ .fd = px->listen_fds[i], .revents = POLLIN };
		}
		for (unsigned i = 0; i < n && !exhausted; i++) {
			if (!(pfd[i].revents & POLLIN))
				continue;
			/* A few at a time from each listener, so none starves. */
			for (int k = 0; k < 16; k++) {
				enum accept_result r = accept_one(px, pfd[i].fd, &errnum);

				if (r == ACCEPT_EXHAUSTED) {
					exhausted = true;
					break;
				}
				backoff_ms = 0;
				if (r == ACCEPT_EMPTY)
					break;
			}
		}
		if (exhausted) {
			backoff_ms = backoff_ms == 0 ? ACCEPT_BACKOFF_MIN_MS
				     : backoff_ms * 2 > ACCEPT_BACKOFF_MAX_MS ? ACCEPT_BACKOFF_MAX_MS : backoff_ms * 2;
			accept_exhausted(px, errnum, backoff_ms);
		}
	}
	return NULL;
}

static int proxy_init(struct fw_proxy *px, struct fw_err *err)
{
	const struct fw_config *cfg = px->deps.cfg;

	if (tls_ca_load(&px->ca, cfg->state.dir, err) != 0 ||
	    tls_mint_new(&px->mint, px->ca, cfg->proxy.leaf_cache_entries, cfg->proxy.leaf_validity_days, err) != 0 ||
	    source_table_new(&px->sources, cfg->proxy.max_clients + PREEMPT_SPARE, err) != 0 ||
	    refuse_lane_start(&px->lane, err) != 0)
		return -1;
	if (cfg->proxy.auth == FW_PROXY_AUTH_BASIC && proxy_auth_new(&px->auth, cfg->state.dir, err) != 0)
		return -1;
	px->ssl_ctx = tls_server_ctx_new(err);
	if (px->ssl_ctx == NULL)
		return -1;
	px->n_slots = cfg->proxy.max_clients + PREEMPT_SPARE;
	px->slots = malloc(sizeof(*px->slots) * px->n_slots);
	if (px->slots == NULL)
		return fw_err_setc(err, FW_E_NOMEM, "out of memory");
	for (unsigned i = 0; i < px->n_slots; i++)
		px->slots[i] = (struct conn_slot){ .fd = -1 };
	for (unsigned i = 0; i < cfg->proxy.n_listen; i++) {
		int fd = listen_one(&cfg->proxy.listen[i], err);

		if (fd < 0)
			return -1;
		px->listen_fds[px->n_listen++] = fd;
	}
	if (pipe2(px->wake, O_CLOEXEC) != 0)
		return fw_err_sys(err, errno, "cannot create a pipe");
	if (pthread_create(&px->accept_thread, NULL, accept_main, px) != 0)
		return fw_err_set(err, "cannot start the accept thread");
	px->accept_started = true;
	return 0;
}

static void proxy_free(struct fw_proxy *px)
{
	for (unsigned i = 0; i < px->n_listen; i++)
		close(px->listen_fds[i]);
	if (px->wake[0] >= 0)
		close(px->wake[0]);
	if (px->wake[1] >= 0)
		close(px->wake[1]);
	refuse_lane_stop(px->lane);
	source_table_free(px->sources);
	proxy_auth_free(px->auth);
	SSL_CTX_free(px->ssl_ctx);
	tls_mint_free(px->mint);
	tls_ca_free(px->ca);
	free(px->slots);
	pthread_cond_destroy(&px->idle);
	pthread_mutex_destroy(&px->lock);
	flight_table_destroy(&px->flights);
	free(px);
}

int fw_proxy_start(struct fw_proxy **out, const struct fw_proxy_deps *deps, struct fw_err *err)
{
	struct fw_proxy *px = calloc(1, sizeof(*px));

	*out = NULL;
	if (px == NULL)
		return fw_err_setc(err, FW_E_NOMEM, "out of memory");
	px->deps = *deps;
	px->wake[0] = px->wake[1] = -1;
	atomic_init(&px->stop, false);
	atomic_init(&px->n_open, 0);
	atomic_init(&px->n_accepted, 0);
	atomic_init(&px->accept_beat_ms, proxy_mono_ms());
	pthread_mutex_init(&px->lock, NULL);
	pthread_cond_init(&px->idle, NULL);
	flight_table_init(&px->flights);
	if (proxy_init(px, err) != 0) {
		fw_proxy_stop(px);
		return -1;
	}
	*out = px;
	return 0;
}

void fw_proxy_quiesce(struct fw_proxy *px)
{
	if (px == NULL || atomic_exchange(&px->stop, true))
		return;
	if (px->accept_started) {
		if (write(px->wake[1], "x", 1) != 1)
			pthread_cancel(px->accept_thread);
		pthread_join(px->accept_thread, NULL);
		px->accept_started = false;
	}
	for (unsigned i = 0; i < px->n_listen; i++)
		close(px->listen_fds[i]);
	px->n_listen = 0;
	/* Wake every connection: out of its reads and writes (the socket
	 * shut), out of a wait on another request's fetch (the flights). A
	 * fetch in progress notices the stop in its progress callback. */
	pthread_mutex_lock(&px->lock);
	for (unsigned i = 0; px->slots != NULL && i < px->n_slots; i++)
		if (px->slots[i].fd >= 0)
			shutdown(px->slots[i].fd, SHUT_RDWR);
	pthread_mutex_unlock(&px->lock);
	flight_table_stop(&px->flights);
}

void fw_proxy_stop(struct fw_proxy *px)
{
	time_t began = time(NULL), said = began;

	if (px == NULL)
		return;
	fw_proxy_quiesce(px);
	/* Every connection thread ends by itself now (each wait it can be in
	 * is woken or bounded); all of them are waited for before anything
	 * they use is freed. */
	pthread_mutex_lock(&px->lock);
	while (px->active > 0) {
		struct timespec until;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 1;
		pthread_cond_timedwait(&px->idle, &px->lock, &until);
		if (px->active > 0 && time(NULL) - said >= STOP_REPORT_S) {
			said = time(NULL);
			fprintf(stderr, "fwgate: stopping: waiting %lld s for %u connection(s) to end\n",
				(long long)(said - began), px->active);
			for (unsigned i = 0; i < px->n_slots; i++)
				if (px->slots[i].fd >= 0)
					shutdown(px->slots[i].fd, SHUT_RDWR);
		}
	}
	pthread_mutex_unlock(&px->lock);
	proxy_free(px);
}

void fw_proxy_status(struct fw_proxy *px, struct fw_proxy_status *out)
{
	uint64_t now = proxy_mono_ms(), beat = atomic_load(&px->accept_beat_ms);

	*out = (struct fw_proxy_status){
		.connections_open = atomic_load(&px->n_open),
		.connections_accepted = atomic_load(&px->n_accepted),
		.accept_idle_ms = now > beat ? now - beat : 0,
		.accepting = !atomic_load(&px->stop),
	};
}
