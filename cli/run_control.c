/* The control socket server of fwgate run (run_control.h): one thread,
 * one poll loop over the listening socket and a few clients, each with a
 * deadline. Owns the socket file and the protocol; reads the gateway's
 * figures only through the modules' thread-safe status calls. Must not
 * block on a client: every client socket is non-blocking. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cli/run_control.h"
#include "cli/status_doc.h"
#include "fwgate/event_ring.h"
#include "fwgate/fileio.h"
#include "fwgate/sandbox.h"
#include "fwgate/scanner.h"
#include "fwgate/store.h"
#include "fwgate_build.h"

/* The loop turns at least this often even when nothing happens. */
#define CONTROL_TICK_MS 1000

/* The longest answer: a status document is a few kilobytes (64
 * signature databases and the last errors at most). */
#define CONTROL_ANSWER_MAX (256 * 1024)

struct control_client {
	int fd;                          /* -1: free */
	uint64_t deadline_ms;            /* monotonic */
	char req[RUN_CONTROL_REQUEST_MAX];
	size_t req_len;
	bool answering;                  /* false while reading the request */
	char answer[CONTROL_ANSWER_MAX];
	size_t answer_len, answer_off;
};

struct run_control {
	struct run_control_deps d;
	int lfd;
	int wake[2];                     /* self-pipe that ends the loop */
	pthread_t thread;
	bool started;
	bool bound;                      /* the socket file is ours to remove */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct control_client c[RUN_CONTROL_CLIENTS_MAX]; /* the thread's own */
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int run_control_path(const struct fw_config *cfg, char *out, size_t len, struct fw_err *err)
{
	char path[FW_PATH_MAX];

	if (fw_path_join(path, sizeof(path), cfg->state.dir, RUN_CONTROL_SOCKET, err) != 0)
		return -1;
	/* A UNIX socket's path has a small fixed limit (sun_path). */
	if (strlen(path) >= len || strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return fw_err_setc(err, FW_E_INVALID, "the control socket path \"%s\" is longer than a UNIX socket "
				   "allows (%zu bytes): use a shorter [state] dir", path,
				   sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
	memcpy(out, path, strlen(path) + 1);
	return 0;
}

/* ------------------------------------------------------------ answers */

static unsigned workers_configured(const struct fw_config *cfg)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	/* As the scanner sizes its pool ([scanner] workers = 0: one per CPU). */
	if (cfg->scanner.workers > 0)
		return cfg->scanner.workers;
	return n > 0 ? (unsigned)n : 1;
}

/* The status document now, or NULL with err. */
static json_t *status_now(struct run_control *rc, struct fw_err *err)
{
	struct fw_event_ring_entry errors[FW_EVENT_RING_LEN];
	char summary[FW_SCANNER_SUMMARY_MAX];
	struct fw_metrics_gauges g;
	struct fw_proxy_status ps;
	struct fw_signature_info *si;
	json_t *stats = NULL, *doc;
	time_t now = time(NULL);
	struct status_snapshot s = {
		.version = FWGATE_VERSION, .pid = (long)getpid(), .started = (int64_t)rc->d.started,
		.now = (int64_t)now, .state_dir = rc->d.cfg->state.dir, .proxy = &ps,
		.workers_configured = workers_configured(rc->d.cfg), .gauges = &g, .errors = errors,
	};

	if (fw_store_stats(rc->d.store, (int64_t)(now - now % 86400), &stats, err) != 0)
		return NULL;
	fw_metrics_gauges_init(&g);
	fw_scanner_metrics(rc->d.scanner, &g);
	fw_sandbox_metrics(rc->d.sandbox, &g);
	g.store_stats = stats;
	fw_proxy_status(rc->d.proxy, &ps);
	s.signatures_summary = fw_scanner_summary(rc->d.scanner, summary, sizeof(summary));
	si = malloc(sizeof(*si));
	if (si != NULL) {
		fw_scanner_signature_info(rc->d.scanner, si);
		s.signature_sources = fw_signature_info_json(si, (int64_t)now);
		free(si);
	}
	s.n_errors = fw_event_ring_read(errors, FW_ARRAY_LEN(errors));
	status_listeners_of(rc->d.cfg, &s);
	doc = status_doc_build(&s, err);
	json_decref(s.signature_sources);
	json_decref(stats);
	return doc;
}

/* One line: the document, compact, and '\n'. NULL on allocation failure. */
static char *answer_of(json_t *doc, size_t *len)
{
	char *text = json_dumps(doc, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER), *line;

	if (text == NULL)
		return NULL;
	*len = strlen(text);
	line = realloc(text, *len + 2);
	if (line == NULL) {
		free(text);
		return NULL;
	}
	line[(*len)++] = '\n';
	line[*len] = '\0';
	return line;
}

static char *error_answer(const char *why, size_t *len)
{
	json_t *doc = json_pack("{s:s}", "error", why);
	char *line = doc != NULL ? answer_of(doc, len) : NULL;

	json_decref(doc);
	return line;
}

/* The answer to one request line (without its newline). */
static char *answer_request(struct run_control *rc, const char *req, size_t *len)
{
	struct fw_err err;
	json_t *doc;
	char *line;

	fw_err_clear(&err);
	if (strcmp(req, "status") != 0)
		return error_answer("unknown request: the control socket answers \"status\"", len);
	doc = status_now(rc, &err);
	if (doc == NULL)
		return error_answer(fw_err_msg(&err), len);
	line = answer_of(doc, len);
	json_decref(doc);
	return line;
}

/* ------------------------------------------------------------ clients */

static void client_close(struct control_client *c)
{
	close(c->fd);
	c->fd = -1;
	c->req_len = 0;
	c->answering = false;
	c->answer_len = c->answer_off = 0;
}

/* Takes answer (freed here) into the client's buffer. */
static void client_answer(struct control_client *c, char *answer)
{
	static const char too_long[] = "{\"error\":\"the answer is longer than the control socket sends\"}\n";
	size_t n;

	if (answer == NULL) {
		client_close(c);
		return;
	}
	n = strlen(answer);
	if (n > sizeof(c->answer)) {
		memcpy(c->answer, too_long, sizeof(too_long) - 1);
		n = sizeof(too_long) - 1;
	} else {
		memcpy(c->answer, answer, n);
	}
	free(answer);
	c->answer_len = n;
	c->answer_off = 0;
	c->answering = true;
}

/* Reads what the client sent; answers once a line is complete, or at the
 * size limit. */
static void client_read(struct run_control *rc, struct control_client *c)
{
	ssize_t n = recv(c->fd, c->req + c->req_len, sizeof(c->req) - c->req_len, 0);
	char *nl;
	size_t len;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		client_close(c);
		return;
	}
	c->req_len += (size_t)n;
	nl = memchr(c->req, '\n', c->req_len);
	if (nl == NULL) {
		if (c->req_len == sizeof(c->req))
			client_answer(c, error_answer("request too long: the control socket answers \"status\"", &len));
		return;
	}
	*nl = '\0';
	if (nl > c->req && nl[-1] == '\r')
		nl[-1] = '\0';
	/* A NUL before the newline makes an unknown request, as it should. */
	client_answer(c, answer_request(rc, c->req, &len));
}

static void client_write(struct control_client *c)
{
	ssize_t n = send(c->fd, c->answer + c->answer_off, c->answer_len - c->answer_off, MSG_NOSIGNAL);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		client_close(c);
		return;
	}
	c->answer_off += (size_t)n;
	if (c->answer_off == c->answer_len)
		client_close(c);
}

/* Takes every waiting connection: into a free slot, or told "busy". */
static void accept_clients(struct run_control *rc)
{
	for (;;) {
		int fd = accept4(rc->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct control_client *free_slot = NULL;

		if (fd < 0)
			return;
		for (size_t i = 0; i < RUN_CONTROL_CLIENTS_MAX && free_slot == NULL; i++)
			if (rc->c[i].fd < 0)
				free_slot = &rc->c[i];
		if (free_slot == NULL) {
			static const char busy[] = "{\"error\":\"busy: too many control clients at once\"}\n";

			/* One try, never a wait: the socket buffer takes it or not. */
			if (send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
				/* Nothing to do: the client sees the connection closed. */
			}
			close(fd);
			continue;
		}
		free_slot->fd = fd;
		free_slot->deadline_ms = mono_ms() + RUN_CONTROL_CLIENT_MS;
		free_slot->req_len = 0;
		free_slot->answering = false;
		free_slot->answer_len = free_slot->answer_off = 0;
	}
}

static void *control_main(void *arg)
{
	struct run_control *rc = arg;
	struct pollfd pfd[RUN_CONTROL_CLIENTS_MAX + 2];
	struct control_client *who[RUN_CONTROL_CLIENTS_MAX + 2];

	for (;;) {
		uint64_t now = mono_ms();
		int timeout = CONTROL_TICK_MS;
		nfds_t n = 2;

		pfd[0] = (struct pollfd){ .fd = rc->wake[0], .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = rc->lfd, .events = POLLIN };
		for (size_t i = 0; i < RUN_CONTROL_CLIENTS_MAX; i++) {
			struct control_client *c = &rc->c[i];

			if (c->fd < 0)
				continue;
			if (now >= c->deadline_ms) {
				client_close(c);
				continue;
			}
			if (c->deadline_ms - now < (uint64_t)timeout)
				timeout = (int)(c->deadline_ms - now);
			who[n] = c;
			pfd[n++] = (struct pollfd){ .fd = c->fd, .events = c->answering ? POLLOUT : POLLIN };
		}
		if (poll(pfd, n, timeout) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents != 0)
			break;
		for (nfds_t i = 2; i < n; i++) {
			if (pfd[i].revents == 0)
				continue;
			if (who[i]->answering)
				client_write(who[i]);
			else
				client_read(rc, who[i]);
		}
		if (pfd[1].revents & POLLIN)
			accept_clients(rc);
	}
	return NULL;
}

/* ------------------------------------------------------------ life */

/* Binds path, replacing a socket a killed run left (the caller holds the
 * state directory's lock, so no live gateway owns it). */
static int control_bind(struct run_control *rc, struct fw_err *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;

	if (lstat(rc->path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return fw_err_set(err, "%s exists and is not a socket: remove it (the gateway makes its control "
					  "socket there)", rc->path);
		if (unlink(rc->path) != 0)
			return fw_err_sys(err, errno, "cannot remove the stale control socket %s", rc->path);
	} else if (errno != ENOENT) {
		return fw_err_sys(err, errno, "cannot check %s", rc->path);
	}
	memcpy(sa.sun_path, rc->path, strlen(rc->path) + 1);
	rc->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (rc->lfd < 0)
		return fw_err_sys(err, errno, "cannot create the control socket");
	if (bind(rc->lfd, (const struct sockaddr *)&sa, sizeof(sa)) != 0)
		return fw_err_sys(err, errno, "cannot bind the control socket %s", rc->path);
	rc->bound = true;
	if (chmod(rc->path, 0660) != 0)
		return fw_err_sys(err, errno, "cannot set the mode of the control socket %s", rc->path);
	if (listen(rc->lfd, 16) != 0)
		return fw_err_sys(err, errno, "cannot listen on the control socket %s", rc->path);
	return 0;
}

int run_control_start(struct run_control **out, const struct run_control_deps *deps, struct fw_err *err)
{
	struct run_control *rc = calloc(1, sizeof(*rc));

	*out = NULL;
	if (rc == NULL)
		return fw_err_setc(err, FW_E_NOMEM, "out of memory");
	rc->d = *deps;
	rc->lfd = rc->wake[0] = rc->wake[1] = -1;
	for (size_t i = 0; i < RUN_CONTROL_CLIENTS_MAX; i++)
		rc->c[i].fd = -1;
	if (run_control_path(deps->cfg, rc->path, sizeof(rc->path), err) != 0 || control_bind(rc, err) != 0)
		goto fail;
	if (pipe2(rc->wake, O_CLOEXEC) != 0) {
		fw_err_sys(err, errno, "cannot create a pipe");
		goto fail;
	}
	if (pthread_create(&rc->thread, NULL, control_main, rc) != 0) {
		fw_err_set(err, "cannot start the control socket's thread");
		goto fail;
	}
	rc->started = true;
	*out = rc;
	return 0;
fail:
	run_control_stop(rc);
	return -1;
}

void run_control_stop(struct run_control *rc)
{
	if (rc == NULL)
		return;
	if (rc->started) {
		if (write(rc->wake[1], "x", 1) != 1)
			pthread_cancel(rc->thread);
		pthread_join(rc->thread, NULL);
	}
	for (size_t i = 0; i < RUN_CONTROL_CLIENTS_MAX; i++)
		if (rc->c[i].fd >= 0)
			client_close(&rc->c[i]);
	if (rc->lfd >= 0)
		close(rc->lfd);
	if (rc->bound)
		unlink(rc->path);
	if (rc->wake[0] >= 0)
		close(rc->wake[0]);
	if (rc->wake[1] >= 0)
		close(rc->wake[1]);
	free(rc);
}
