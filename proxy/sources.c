/* Per-source connection counts (a hash of the live sources over a fixed
 * pool: no allocation per connection) and the refusal lane (one thread
 * and a poll set that answers refused connections, half-closes them and
 * drains what they still send, each bounded in time). Must not read a
 * request or decide policy: the listener decides, this carries it out. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "proxy/sources.h"

/* ------------------------------------------------------------ sources */

struct source_node {
	struct source_key key;
	unsigned count;
	struct source_node *next;     /* in its bucket, or in the free list */
};

struct source_table {
	struct source_node **buckets;
	unsigned n_buckets;           /* a power of two */
	struct source_node *pool;
	struct source_node *free;
};

void source_key_of(const struct sockaddr_storage *ss, struct source_key *out)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	memset(out, 0, sizeof(*out));
	if (ss->ss_family == AF_INET) {
		memcpy(out->addr, &((const struct sockaddr_in *)(const void *)ss)->sin_addr, 4);
	} else if (ss->ss_family == AF_INET6) {
		const uint8_t *a = (const uint8_t *)&((const struct sockaddr_in6 *)(const void *)ss)->sin6_addr;

		if (memcmp(a, mapped, sizeof(mapped)) == 0) {
			memcpy(out->addr, a + 12, 4);
		} else {
			memcpy(out->addr, a, 16);
			out->v6 = true;
		}
	}
}

static unsigned key_hash(const struct source_key *k, unsigned n_buckets)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < sizeof(k->addr); i++)
		h = (h ^ k->addr[i]) * 16777619u;
	h = (h ^ (uint32_t)k->v6) * 16777619u;
	return h & (n_buckets - 1);
}

static bool key_eq(const struct source_key *a, const struct source_key *b)
{
	return a->v6 == b->v6 && memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

int source_table_new(struct source_table **out, unsigned capacity, struct fw_err *err)
{
	struct source_table *t = calloc(1, sizeof(*t));

	*out = NULL;
	if (t == NULL)
		return fw_err_setc(err, FW_E_NOMEM, "out of memory");
	t->n_buckets = 16;
	while (t->n_buckets < capacity * 2u && t->n_buckets < (1u << 24))
		t->n_buckets *= 2;
	t->buckets = calloc(t->n_buckets, sizeof(*t->buckets));
	t->pool = calloc(capacity, sizeof(*t->pool));
	if (t->buckets == NULL || t->pool == NULL) {
		source_table_free(t);
		return fw_err_setc(err, FW_E_NOMEM, "out of memory");
	}
	for (unsigned i = 0; i < capacity; i++) {
		t->pool[i].next = t->free;
		t->free = &t->pool[i];
	}
	*out = t;
	return 0;
}

void source_table_free(struct source_table *t)
{
	if (t == NULL)
		return;
	free(t->buckets);
	free(t->pool);
	free(t);
}

static struct source_node **find(struct source_table *t, const struct source_key *k)
{
	struct source_node **p = &t->buckets[key_hash(k, t->n_buckets)];

	while (*p != NULL && !key_eq(&(*p)->key, k))
		p = &(*p)->next;
	return p;
}

bool source_take(struct source_table *t, const struct source_key *k, unsigned limit)
{
	struct source_node **p = find(t, k), *n = *p;

	if (n != NULL) {
		if (n->count >= limit)
			return false;
		n->count++;
		return true;
	}
	if (t->free == NULL || limit == 0)
		return false;
	n = t->free;
	t->free = n->next;
	n->key = *k;
	n->count = 1;
	n->next = NULL;
	*p = n;
	return true;
}

void source_release(struct source_table *t, const struct source_key *k)
{
	struct source_node **p = find(t, k), *n = *p;

	if (n == NULL || --n->count > 0)
		return;
	*p = n->next;
	n->next = t->free;
	t->free = n;
}

unsigned source_count(const struct source_table *t, const struct source_key *k)
{
	const struct source_node *n = t->buckets[key_hash(k, t->n_buckets)];

	while (n != NULL && !key_eq(&n->key, k))
		n = n->next;
	return n != NULL ? n->count : 0;
}

/* ------------------------------------------------------------ refusals */

#define RESPONSE_MAX 2048

struct refusal {
	int fd;
	char response[RESPONSE_MAX];
	size_t len, sent;
	bool draining;
	uint64_t deadline_ms;
};

struct refuse_lane {
	pthread_t thread;
	int wake[2];
	pthread_mutex_t lock;          /* guards incoming and stop */
	struct refusal *incoming[REFUSE_LANE_MAX];
	unsigned n_incoming;
	unsigned n_live;               /* the thread's own, plus incoming: for the bound */
	bool stop;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void refusal_end(struct refuse_lane *l, struct refusal *r)
{
	close(r->fd);
	free(r);
	pthread_mutex_lock(&l->lock);
	l->n_live--;
	pthread_mutex_unlock(&l->lock);
}

/* One step for a readable or writable refusal; false when it is over. */
static bool refusal_step(struct refusal *r)
{
	if (!r->draining) {
		ssize_t n = send(r->fd, r->response + r->sent, r->len - r->sent, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return true;
		if (n <= 0)
			return false;
		r->sent += (size_t)n;
		if (r->sent == r->len) {
			if (shutdown(r->fd, SHUT_WR) != 0)
				return false;
			r->draining = true;
		}
		return true;
	}
	for (int i = 0; i < 16; i++) {
		char sink[4096];
		ssize_t n = recv(r->fd, sink, sizeof(sink), MSG_DONTWAIT);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return true;
		if (n <= 0)
			return false; /* the client closed too: done */
	}
	return true;
}

static void *lane_main(void *arg)
{
	struct refuse_lane *l = arg;
	struct refusal *live[REFUSE_LANE_MAX];
	struct pollfd p[REFUSE_LANE_MAX + 1];
	unsigned n = 0;

	for (;;) {
		uint64_t now = mono_ms(), next = now + REFUSE_LINGER_MS;
		bool stop;
		unsigned k = 0;

		pthread_mutex_lock(&l->lock);
		stop = l->stop;
		for (unsigned i = 0; i < l->n_incoming && n < REFUSE_LANE_MAX; i++)
			live[n++] = l->incoming[i];
		l->n_incoming = 0;
		pthread_mutex_unlock(&l->lock);
		if (stop)
			break;
		/* Expired ones go; the rest are polled. */
		for (unsigned i = 0; i < n; i++) {
			if (live[i]->deadline_ms <= now) {
				refusal_end(l, live[i]);
				continue;
			}
			if (live[i]->deadline_ms < next)
				next = live[i]->deadline_ms;
			live[k++] = live[i];
		}
		n = k;
		for (unsigned i = 0; i < n; i++)
			p[i] = (struct pollfd){ .fd = live[i]->fd, .events = live[i]->draining ? POLLIN : POLLOUT };
		p[n] = (struct pollfd){ .fd = l->wake[0], .events = POLLIN };
		if (poll(p, n + 1, (int)(next - now)) < 0 && errno != EINTR)
			break;
		if (p[n].revents != 0) {
			char drain[64];

			while (read(l->wake[0], drain, sizeof(drain)) > 0)
				;
		}
		k = 0;
		for (unsigned i = 0; i < n; i++) {
			if (p[i].revents != 0 && !refusal_step(live[i])) {
				refusal_end(l, live[i]);
				continue;
			}
			live[k++] = live[i];
		}
		n = k;
	}
	for (unsigned i = 0; i < n; i++)
		refusal_end(l, live[i]);
	return NULL;
}

int refuse_lane_start(struct refuse_lane **out, struct fw_err *err)
{
	struct refuse_lane *l = calloc(1, sizeof(*l));

	*out = NULL;
	if (l == NULL)
		return fw_err_setc(err, FW_E_NOMEM, "out of memory");
	pthread_mutex_init(&l->lock, NULL);
	if (pipe2(l->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
		pthread_mutex_destroy(&l->lock);
		free(l);
		return fw_err_sys(err, errno, "cannot create a pipe");
	}
	if (pthread_create(&l->thread, NULL, lane_main, l) != 0) {
		close(l->wake[0]);
		close(l->wake[1]);
		pthread_mutex_destroy(&l->lock);
		free(l);
		return fw_err_set(err, "cannot start the refusal thread");
	}
	*out = l;
	return 0;
}

bool refuse_lane_add(struct refuse_lane *l, int fd, const char *response, size_t len)
{
	struct refusal *r;
	bool ok = false;

	if (len > RESPONSE_MAX)
		len = RESPONSE_MAX;
	r = malloc(sizeof(*r));
	pthread_mutex_lock(&l->lock);
	if (r != NULL && !l->stop && l->n_live < REFUSE_LANE_MAX && l->n_incoming < REFUSE_LANE_MAX) {
		r->fd = fd;
		memcpy(r->response, response, len);
		r->len = len;
		r->sent = 0;
		r->draining = false;
		r->deadline_ms = mono_ms() + REFUSE_LINGER_MS;
		l->incoming[l->n_incoming++] = r;
		l->n_live++;
		ok = true;
	}
	pthread_mutex_unlock(&l->lock);
	if (!ok) {
		free(r);
		close(fd);
		return false;
	}
	{
		/* A full pipe (EAGAIN) means the thread is woken already; after
		 * any other failure it finds the refusal within its linger time. */
		ssize_t w = write(l->wake[1], "x", 1);

		(void)w;
	}
	return true;
}

void refuse_lane_stop(struct refuse_lane *l)
{
	if (l == NULL)
		return;
	pthread_mutex_lock(&l->lock);
	l->stop = true;
	pthread_mutex_unlock(&l->lock);
	if (write(l->wake[1], "x", 1) < 0 && errno != EAGAIN)
		pthread_cancel(l->thread);
	pthread_join(l->thread, NULL);
	for (unsigned i = 0; i < l->n_incoming; i++) {
		close(l->incoming[i]->fd);
		free(l->incoming[i]);
	}
	close(l->wake[0]);
	close(l->wake[1]);
	pthread_mutex_destroy(&l->lock);
	free(l);
}
