/* Single flight: concurrent requests for one URL share one upstream fetch
 * and one scan. The first request leads; the others wait for it to land
 * (up to a deadline, or until the gateway stops) and then take the
 * verdict from the store (served, or refused, without a fetch of their
 * own). A table of the URLs in flight, guarded by one lock; must not
 * fetch, scan or serve anything itself. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proxy/flight.h"

struct flight {
	char *url;
	bool landed;
	unsigned refs;
	pthread_cond_t cond;
	struct flight *next;
};

void flight_table_init(struct flight_table *t)
{
	pthread_mutex_init(&t->lock, NULL);
	t->head = NULL;
	t->stopping = false;
}

void flight_table_stop(struct flight_table *t)
{
	pthread_mutex_lock(&t->lock);
	t->stopping = true;
	for (struct flight *f = t->head; f != NULL; f = f->next)
		pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&t->lock);
}

void flight_table_destroy(struct flight_table *t)
{
	pthread_mutex_destroy(&t->lock);
}

struct flight *flight_join(struct flight_table *t, const char *url, unsigned timeout_ms, enum flight_role *role)
{
	pthread_condattr_t ca;
	struct timespec until;
	struct flight *f;

	pthread_mutex_lock(&t->lock);
	for (f = t->head; f != NULL; f = f->next)
		if (strcmp(f->url, url) == 0)
			break;
	if (f != NULL) {
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += timeout_ms / 1000;
		until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		f->refs++;
		*role = FLIGHT_LANDED;
		while (!f->landed) {
			if (t->stopping) {
				*role = FLIGHT_STOPPING;
				break;
			}
			if (pthread_cond_timedwait(&f->cond, &t->lock, &until) != 0 && !f->landed) {
				*role = FLIGHT_TIMEOUT;
				break;
			}
		}
		pthread_mutex_unlock(&t->lock);
		return f;
	}
	*role = FLIGHT_LEADER;
	f = calloc(1, sizeof(*f));
	if (f == NULL || (f->url = strdup(url)) == NULL) {
		/* Out of memory: lead a flight of one, outside the table. */
		free(f);
		pthread_mutex_unlock(&t->lock);
		return NULL;
	}
	/* Deadlines on the monotonic clock: a clock step does not cut or
	 * stretch a follower's wait. */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&f->cond, &ca);
	pthread_condattr_destroy(&ca);
	f->refs = 1;
	f->next = t->head;
	t->head = f;
	pthread_mutex_unlock(&t->lock);
	return f;
}

void flight_land(struct flight_table *t, struct flight *f)
{
	if (f == NULL)
		return;
	pthread_mutex_lock(&t->lock);
	f->landed = true;
	/* Landed flights leave the table: a request after this point starts
	 * from the store, and may lead a new flight. */
	for (struct flight **p = &t->head; *p != NULL; p = &(*p)->next)
		if (*p == f) {
			*p = f->next;
			break;
		}
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&t->lock);
}

void flight_leave(struct flight_table *t, struct flight *f)
{
	bool last;

	if (f == NULL)
		return;
	pthread_mutex_lock(&t->lock);
	last = --f->refs == 0;
	pthread_mutex_unlock(&t->lock);
	if (!last)
		return;
	pthread_cond_destroy(&f->cond);
	free(f->url);
	free(f);
}
