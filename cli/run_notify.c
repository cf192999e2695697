/* systemd notifications of fwgate run (run_notify.h) through libsystemd's
 * sd_notify, and the watchdog thread. Owns the words sent to systemd;
 * must not decide whether the gateway is healthy (the caller's probe
 * does). */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "cli/run_notify.h"

struct run_notify {
	bool active;               /* NOTIFY_SOCKET is set */
	uint64_t watchdog_usec;    /* 0: no watchdog */
	run_notify_health_fn health;
	void *arg;
	atomic_bool ready;         /* READY sent: pings need health from now on */
	atomic_bool warned;        /* a failed sd_notify was said once */
	pthread_mutex_t lock;      /* guards stop, with cond */
	pthread_cond_t cond;
	bool stop;
	pthread_t thread;
	bool started;
};

static void notify(struct run_notify *n, const char *text)
{
	int r;

	if (n == NULL || !n->active)
		return;
	r = sd_notify(0, text);
	if (r < 0 && !atomic_exchange(&n->warned, true))
		fprintf(stderr, "fwgate: warning: cannot notify systemd (%s): %s\n", text, strerror(-r));
}

/* "STATUS=..." lines carry one line of text: a newline would start
 * another assignment. */
static void notify_with_status(struct run_notify *n, const char *head, const char *status)
{
	char msg[1024];
	size_t off;

	if (n == NULL || !n->active)
		return;
	off = (size_t)snprintf(msg, sizeof(msg), "%sSTATUS=", head);
	for (size_t i = 0; status[i] != '\0' && off + 1 < sizeof(msg); i++)
		msg[off++] = status[i] == '\n' ? ' ' : status[i];
	msg[off < sizeof(msg) ? off : sizeof(msg) - 1] = '\0';
	notify(n, msg);
}

static void *watchdog_main(void *arg)
{
	struct run_notify *n = arg;
	bool withheld = false;

	pthread_mutex_lock(&n->lock);
	while (!n->stop) {
		struct timespec until;
		char why[256] = "";

		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += (time_t)(n->watchdog_usec / 2 / 1000000);
		until.tv_nsec += (long)(n->watchdog_usec / 2 % 1000000 * 1000);
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		while (!n->stop && pthread_cond_timedwait(&n->cond, &n->lock, &until) != ETIMEDOUT)
			;
		if (n->stop)
			break;
		pthread_mutex_unlock(&n->lock);
		if (!atomic_load(&n->ready) || n->health(n->arg, why, sizeof(why))) {
			notify(n, "WATCHDOG=1");
			if (withheld)
				notify_with_status(n, "", "healthy again: watchdog pings resumed");
			withheld = false;
		} else if (!withheld) {
			/* Once: systemd restarts the gateway when the interval passes. */
			char line[300];

			snprintf(line, sizeof(line), "unhealthy, watchdog pings withheld: %s", why);
			fprintf(stderr, "fwgate: %s\n", line);
			notify_with_status(n, "", line);
			withheld = true;
		}
		pthread_mutex_lock(&n->lock);
	}
	pthread_mutex_unlock(&n->lock);
	return NULL;
}

int run_notify_start(struct run_notify **out, run_notify_health_fn health, void *arg, struct fw_err *err)
{
	struct run_notify *n = calloc(1, sizeof(*n));
	const char *sock = getenv("NOTIFY_SOCKET");
	pthread_condattr_t ca;
	uint64_t usec = 0;
	int r;

	*out = NULL;
	if (n == NULL)
		return fw_err_setc(err, FW_E_NOMEM, "out of memory");
	n->health = health;
	n->arg = arg;
	n->active = sock != NULL && sock[0] != '\0';
	atomic_init(&n->ready, false);
	atomic_init(&n->warned, false);
	if (pthread_mutex_init(&n->lock, NULL) != 0 || pthread_condattr_init(&ca) != 0) {
		free(n);
		return fw_err_set(err, "cannot create the watchdog's lock");
	}
	if (pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 || pthread_cond_init(&n->cond, &ca) != 0) {
		pthread_condattr_destroy(&ca);
		pthread_mutex_destroy(&n->lock);
		free(n);
		return fw_err_set(err, "cannot create the watchdog's condition");
	}
	pthread_condattr_destroy(&ca);
	/* WATCHDOG_PID names another process: the watchdog is not ours. */
	r = n->active ? sd_watchdog_enabled(0, &usec) : 0;
	if (r < 0) {
		fw_err_sys(err, -r, "WATCHDOG_USEC or WATCHDOG_PID is not valid");
		run_notify_stop(n);
		return -1;
	}
	if (r > 0 && usec > 0) {
		n->watchdog_usec = usec;
		if (pthread_create(&n->thread, NULL, watchdog_main, n) != 0) {
			run_notify_stop(n);
			return fw_err_set(err, "cannot start the watchdog thread");
		}
		n->started = true;
		fprintf(stderr, "fwgate: systemd watchdog every %llu ms: pinged every %llu ms while healthy\n",
			(unsigned long long)(usec / 1000), (unsigned long long)(usec / 2000));
	}
	*out = n;
	return 0;
}

void run_notify_ready(struct run_notify *n, const char *status)
{
	if (n == NULL)
		return;
	atomic_store(&n->ready, true);
	notify_with_status(n, "READY=1\n", status);
}

void run_notify_status(struct run_notify *n, const char *status)
{
	notify_with_status(n, "", status);
}

void run_notify_reloading(struct run_notify *n, const char *status)
{
	struct timespec ts;
	char head[96];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(head, sizeof(head), "RELOADING=1\nMONOTONIC_USEC=%llu\n",
		 (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000ULL);
	notify_with_status(n, head, status);
}

void run_notify_stopping(struct run_notify *n, const char *status)
{
	notify_with_status(n, "STOPPING=1\n", status);
}

void run_notify_quiesce(struct run_notify *n)
{
	if (n == NULL || !n->started)
		return;
	pthread_mutex_lock(&n->lock);
	n->stop = true;
	pthread_cond_broadcast(&n->cond);
	pthread_mutex_unlock(&n->lock);
	pthread_join(n->thread, NULL);
	n->started = false;
}

void run_notify_stop(struct run_notify *n)
{
	if (n == NULL)
		return;
	run_notify_quiesce(n);
	pthread_cond_destroy(&n->cond);
	pthread_mutex_destroy(&n->lock);
	free(n);
}
