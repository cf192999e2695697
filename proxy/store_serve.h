/* Private to proxy/: delivery of vetted objects from the store's blobs,
 * and the single-flight table that makes concurrent requests for one URL
 * share one fetch and one scan. */
#ifndef FWGATE_PROXY_STORE_SERVE_H
#define FWGATE_PROXY_STORE_SERVE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "fwgate/scanner.h"
#include "proxy/conn_io.h"
#include "proxy/request.h"

/* ------------------------------------------------------------ serving */

enum range_kind {
	RANGE_NONE,            /* no usable Range field: the whole object */
	RANGE_ONE,             /* one satisfiable range, [first, last] */
	RANGE_UNSATISFIABLE,   /* 416 */
};

/* Parses a Range field value for an object of size bytes. */
enum range_kind store_range_parse(const char *value, size_t len, uint64_t size, uint64_t *first, uint64_t *last);

/* An object ready to serve: its blob open on fd. */
struct store_object {
	int fd;
	uint64_t size;
	const char *sha256;
	const char *verdict_label;   /* "clean" or "released" */
	const char *fields;          /* the vendor's representation fields, "" when none */
};

struct store_served {
	int status;
	uint64_t bytes;
};

/* Answers req (GET or HEAD) from the blob: 200, 206, 304 or 416. */
int store_serve(struct conn_io *io, const struct fw_http_req *req, const struct store_object *o, bool close,
		unsigned timeout_ms, struct store_served *out);

/* ------------------------------------------------------------ single flight */

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
