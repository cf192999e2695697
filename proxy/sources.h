/* Private to proxy/: connections counted per source address, so that one
 * host (slow clients, a flood) cannot take every connection slot from the
 * appliance; and the refusal lane, which answers connections the gateway
 * will not serve (503, 403) without a thread each and without holding up
 * the accept loop. */
#ifndef FWGATE_PROXY_SOURCES_H
#define FWGATE_PROXY_SOURCES_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "fwgate/err.h"

/* ------------------------------------------------------------ sources */

/* A source address as a key: IPv4 (also when mapped into IPv6) or IPv6. */
struct source_key {
	uint8_t addr[16];
	bool v6;
};

void source_key_of(const struct sockaddr_storage *ss, struct source_key *out);

/* Live connections per source. capacity bounds the sources counted at
 * once (the connection limit). Not thread-safe: the proxy's lock guards it. */
struct source_table;

int source_table_new(struct source_table **out, unsigned capacity, struct fw_err *err) FW_WUR;
void source_table_free(struct source_table *t);
/* The source's count plus one, unless it is at limit already (then false
 * and nothing changes). */
bool source_take(struct source_table *t, const struct source_key *k, unsigned limit);
void source_release(struct source_table *t, const struct source_key *k);
unsigned source_count(const struct source_table *t, const struct source_key *k);

/* ------------------------------------------------------------ refusals */

/* Connections being refused at once; beyond it a connection is closed
 * without an answer. */
#define REFUSE_LANE_MAX 512
/* How long a refused connection is kept: answer, half-close, then read
 * and drop what the client still sends (a close with unread bytes resets
 * the connection and can destroy the answer before the client reads it). */
#define REFUSE_LINGER_MS 1000

struct refuse_lane;

int refuse_lane_start(struct refuse_lane **out, struct fw_err *err) FW_WUR;
/* Hands fd (adopted) over with a complete HTTP response (copied, at most
 * 2 KiB). Returns false when the lane is full: fd was closed unanswered. */
bool refuse_lane_add(struct refuse_lane *l, int fd, const char *response, size_t len);
/* Stops the lane's thread and closes what it holds. NULL is a no-op. */
void refuse_lane_stop(struct refuse_lane *l);

#endif
