/* Single flight: concurrent requests for one URL share one upstream fetch
 * and one scan. The first request leads; the others wait for it to land
 * and then take the verdict from the store (served, or refused, without a
 * fetch of their own). A table of the URLs in flight, guarded by one lock;
 * must not fetch, scan or serve anything itself. */
#include <stdlib.h>
#include <string.h>

#include "proxy/store_serve.h"

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
}

void flight_table_destroy(struct flight_table *t)
{
	pthread_mutex_destroy(&t->lock);
}

struct flight *flight_join(struct flight_table *t, const char *url, bool *leader)
{
	struct flight *f;

	pthread_mutex_lock(&t->lock);
	for (f = t->head; f != NULL; f = f->next)
		if (strcmp(f->url, url) == 0)
			break;
	if (f != NULL) {
		f->refs++;
		*leader = false;
		while (!f->landed)
			pthread_cond_wait(&f->cond, &t->lock);
		pthread_mutex_unlock(&t->lock);
		return f;
	}
	f = calloc(1, sizeof(*f));
	if (f == NULL || (f->url = strdup(url)) == NULL) {
		/* Out of memory: lead a flight of one, outside the table. */
		free(f);
		pthread_mutex_unlock(&t->lock);
		*leader = true;
		return NULL;
	}
	pthread_cond_init(&f->cond, NULL);
	f->refs = 1;
	f->next = t->head;
	t->head = f;
	*leader = true;
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
