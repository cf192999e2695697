/* State shared by the proxy's threads, private to proxy/. */
#ifndef FWGATE_PROXY_INT_H
#define FWGATE_PROXY_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "fwgate/proxy.h"
#include "proxy/request.h"
#include "proxy/sources.h"
#include "proxy/flight.h"
#include "proxy/tls.h"

/* When every slot is taken, a new connection may take the place of the
 * one that has waited longest without sending its CONNECT head (at least
 * PREEMPT_MIN_MS): idle and slow connections from many addresses cannot
 * lock the appliance out, whose head arrives with its connection. Up to
 * PREEMPT_SPARE connections may be over max_clients while the preempted
 * ones end. */
#define PREEMPT_SPARE 16
#define PREEMPT_MIN_MS 1000

struct conn_slot {
	int fd;                  /* -1 free; -2 taken, its socket closing */
	uint64_t since_ms;       /* monotonic, when accepted */
	bool awaiting_head;      /* no complete CONNECT head yet: preemptible */
	bool preempted;
};

struct fw_proxy {
	struct fw_proxy_deps deps;
	struct tls_ca *ca;
	struct tls_mint *mint;
	struct flight_table flights; /* URLs being fetched now (single flight) */
	SSL_CTX *ssl_ctx;
	int listen_fds[FW_LISTEN_MAX];
	unsigned n_listen;
	int wake[2];             /* self-pipe that ends the accept loop */
	pthread_t accept_thread;
	bool accept_started;
	atomic_bool stop;        /* the gateway is stopping: read anywhere, without the lock */
	/* For fw_proxy_status, read without the lock: a status query must
	 * answer even while the lock is held too long. */
	atomic_uint n_open;             /* copy of active, stored where it changes */
	atomic_uint_fast64_t n_accepted; /* connections admitted since start */
	atomic_uint_fast64_t accept_beat_ms; /* monotonic, the accept loop's last turn */
	struct refuse_lane *lane;
	struct proxy_auth *auth;  /* NULL: [proxy] auth = none */
	/* The accept thread's own: its refusal-event bucket. */
	double ev_tokens, ev_last;
	unsigned ev_suppressed;

	pthread_mutex_t lock;    /* guards everything below */
	pthread_cond_t idle;     /* signalled when active drops to 0 */
	unsigned active;
	struct conn_slot *slots; /* live connections, n_slots of them, fd -1 when free */
	unsigned n_slots;        /* max_clients + PREEMPT_SPARE */
	struct source_table *sources; /* live connections per source address */
};

/* Serves one accepted client; takes ownership of fd and ends with
 * proxy_conn_done. Runs on its own thread. */
void *proxy_conn_main(void *arg);

struct proxy_conn_arg {
	struct fw_proxy *px;
	int fd;
	unsigned slot;
	struct source_key src;
	char client_ip[64];
};

/* ------------------------------------------------------------ slots.c */

/* The connection in slot has sent its CONNECT head: no longer preemptible. */
void proxy_conn_head_done(struct fw_proxy *px, unsigned slot);
/* Whether the connection in slot was shut to make room for another. */
bool proxy_conn_preempted(struct fw_proxy *px, unsigned slot);

/* The connection in slot is about to close its socket: its number leaves
 * the slot table first (it may be reused at once), so that neither a
 * preemption nor a stop shuts whatever gets that number next. */
void proxy_conn_forget_fd(struct fw_proxy *px, unsigned slot);

/* Releases a connection's slot and its source's count; the last one out
 * wakes fw_proxy_stop. */
void proxy_conn_done(struct fw_proxy *px, unsigned slot, const struct source_key *src);

bool proxy_stopping(struct fw_proxy *px);

/* CLOCK_MONOTONIC in milliseconds (slot ages). */
uint64_t proxy_mono_ms(void);

/* Every slot taken: shuts the connection that has waited longest without
 * a CONNECT head (its thread ends and frees the slot), so that a new one
 * may be admitted. false when none may be preempted. Called with px->lock
 * held. */
bool proxy_slots_preempt_one(struct fw_proxy *px);

/* Proxy authentication (auth.c). Thread-safe. */
struct proxy_auth;
/* Refuses to start when the users file holds no user. */
int proxy_auth_new(struct proxy_auth **out, const char *state_dir, struct fw_err *err) FW_WUR;
void proxy_auth_free(struct proxy_auth *a);
/* 0 when req's Proxy-Authorization names a user with the right password;
 * else -1 with the reason for the 407 in why. user gets the name claimed
 * (for the event; "" when none). */
int proxy_auth_check(struct proxy_auth *a, const struct http_req *req, const struct source_key *src,
		     char *user, size_t user_len, struct fw_err *why) FW_WUR;

#endif
