/* The proxy's listeners and accept loop: binds every [proxy] listen
 * address, starts one thread per client up to max_clients (beyond it a
 * 503 and close), and stops cleanly. Owns the connection slots. */
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
#define STOP_WAIT_SECONDS 10

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

bool proxy_stopping(struct fw_proxy *px)
{
	bool s;

	pthread_mutex_lock(&px->lock);
	s = px->stopping;
	pthread_mutex_unlock(&px->lock);
	return s;
}

void proxy_conn_done(struct fw_proxy *px, unsigned slot)
{
	pthread_mutex_lock(&px->lock);
	px->conn_fds[slot] = -1;
	if (--px->active == 0)
		pthread_cond_broadcast(&px->idle);
	pthread_mutex_unlock(&px->lock);
}

static void client_ip_of(const struct sockaddr_storage *ss, char *out, size_t len)
{
	if (ss->ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, out, (socklen_t)len);
	else
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, out, (socklen_t)len);
}

/* Over max_clients: a short 503, best effort, and an event. */
static void refuse_busy(struct fw_proxy *px, int fd, const char *ip)
{
	struct conn_io io = { .fd = fd };
	char why[128];
	const struct fw_event ev = {
		.action = "proxy-busy", .outcome = FW_OUTCOME_FAILURE, .source_ip = ip,
		.rule = px->deps.pol->rule, .verdict = "refused", .reason = why,
	};

	snprintf(why, sizeof(why), "the gateway is serving its maximum of %u clients",
		 px->deps.cfg->proxy.max_clients);
	fw_evlog_emit(px->deps.log, &ev);
	conn_send_text(&io, 503, why, true, false, "Retry-After: 5\r\n", 1000);
	close(fd);
}

static void accept_one(struct fw_proxy *px, int lfd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct proxy_conn_arg *a;
	pthread_attr_t attr;
	pthread_t th;
	unsigned slot = 0;
	char ip[64] = "";
	int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0)
		return;
	client_ip_of(&ss, ip, sizeof(ip));
	pthread_mutex_lock(&px->lock);
	if (px->active >= px->deps.cfg->proxy.max_clients) {
		pthread_mutex_unlock(&px->lock);
		refuse_busy(px, fd, ip);
		return;
	}
	while (px->conn_fds[slot] != -1)
		slot++;
	px->conn_fds[slot] = fd;
	px->active++;
	pthread_mutex_unlock(&px->lock);
	a = calloc(1, sizeof(*a));
	if (a != NULL) {
		a->px = px;
		a->fd = fd;
		a->slot = slot;
		snprintf(a->client_ip, sizeof(a->client_ip), "%s", ip);
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		pthread_attr_setstacksize(&attr, CONN_STACK_BYTES);
		if (pthread_create(&th, &attr, proxy_conn_main, a) == 0) {
			pthread_attr_destroy(&attr);
			return;
		}
		pthread_attr_destroy(&attr);
		free(a);
	}
	close(fd);
	proxy_conn_done(px, slot);
}

static void *accept_main(void *arg)
{
	struct fw_proxy *px = arg;
	struct pollfd pfd[FW_LISTEN_MAX + 1];

	for (unsigned i = 0; i < px->n_listen; i++)
		pfd[i] = (struct pollfd){ .fd = px->listen_fds[i], .events = POLLIN };
	pfd[px->n_listen] = (struct pollfd){ .fd = px->wake[0], .events = POLLIN };
	for (;;) {
		int rc = poll(pfd, px->n_listen + 1, -1);

		if (rc < 0 && errno != EINTR)
			break;
		if (pfd[px->n_listen].revents != 0)
			break;
		for (unsigned i = 0; rc > 0 && i < px->n_listen; i++)
			if (pfd[i].revents & POLLIN)
				accept_one(px, pfd[i].fd);
	}
	return NULL;
}

static int proxy_init(struct fw_proxy *px, struct fw_err *err)
{
	const struct fw_config *cfg = px->deps.cfg;

	if (fw_ca_load(&px->ca, cfg->state.dir, err) != 0 ||
	    fw_mint_new(&px->mint, px->ca, cfg->proxy.leaf_cache_entries, cfg->proxy.leaf_validity_days, err) != 0)
		return -1;
	px->ssl_ctx = fw_tls_server_ctx_new(err);
	if (px->ssl_ctx == NULL)
		return -1;
	px->conn_fds = malloc(sizeof(int) * cfg->proxy.max_clients);
	if (px->conn_fds == NULL)
		return fw_err_set(err, "out of memory");
	for (unsigned i = 0; i < cfg->proxy.max_clients; i++)
		px->conn_fds[i] = -1;
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
	SSL_CTX_free(px->ssl_ctx);
	fw_mint_free(px->mint);
	fw_ca_free(px->ca);
	free(px->conn_fds);
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
		return fw_err_set(err, "out of memory");
	px->deps = *deps;
	px->wake[0] = px->wake[1] = -1;
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

void fw_proxy_stop(struct fw_proxy *px)
{
	struct timespec until;
	bool drained;

	if (px == NULL)
		return;
	pthread_mutex_lock(&px->lock);
	px->stopping = true;
	pthread_mutex_unlock(&px->lock);
	if (px->accept_started) {
		if (write(px->wake[1], "x", 1) != 1)
			pthread_cancel(px->accept_thread);
		pthread_join(px->accept_thread, NULL);
	}
	/* Wake every connection out of its reads; each ends through its own
	 * path and releases its slot. */
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += STOP_WAIT_SECONDS;
	pthread_mutex_lock(&px->lock);
	for (unsigned i = 0; px->conn_fds != NULL && i < px->deps.cfg->proxy.max_clients; i++)
		if (px->conn_fds[i] != -1)
			shutdown(px->conn_fds[i], SHUT_RDWR);
	while (px->active > 0)
		if (pthread_cond_timedwait(&px->idle, &px->lock, &until) != 0)
			break;
	drained = px->active == 0;
	pthread_mutex_unlock(&px->lock);
	/* A thread still running would use px: leave it rather than free it
	 * under that thread's feet; the process is ending anyway. */
	if (drained)
		proxy_free(px);
}
