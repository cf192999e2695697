/* Private to proxy/: the single-flight table that makes concurrent
 * requests for one URL share one fetch and one scan (flight.c). Knows
 * nothing of the store or of HTTP: it only orders waiters on a URL. */
#ifndef FWGATE_PROXY_FLIGHT_H
#define FWGATE_PROXY_FLIGHT_H

#include <pthread.h>
#include <stdbool.h>

struct flight;

struct flight_table {
	pthread_mutex_t lock;
	struct flight *head;
	bool stopping;
};

void flight_table_init(struct flight_table *t);
void flight_table_destroy(struct flight_table *t);
/* Wakes every follower (FLIGHT_STOPPING) and keeps later ones from
 * waiting: the gateway is stopping. */
void flight_table_stop(struct flight_table *t);

enum flight_role {
	FLIGHT_LEADER,     /* fetch, then flight_land */
	FLIGHT_LANDED,     /* the leader landed: look the URL up in the store */
	FLIGHT_TIMEOUT,    /* the leader did not land within timeout_ms */
	FLIGHT_STOPPING,   /* the gateway is stopping */
};

/* Joins the flight for url. The first caller is the leader: it fetches,
 * then calls flight_land. Others block here until the leader lands, at
 * most timeout_ms, and are told which. Every caller ends with
 * flight_leave (NULL, for a leader out of memory, is allowed). */
struct flight *flight_join(struct flight_table *t, const char *url, unsigned timeout_ms, enum flight_role *role);
void flight_land(struct flight_table *t, struct flight *f);
void flight_leave(struct flight_table *t, struct flight *f);

#endif
