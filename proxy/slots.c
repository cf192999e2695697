/* The proxy's connection slots: what a connection tells the table about
 * itself (head read, socket closing, done), whether it was preempted, and
 * the preemption that makes room when every slot is taken. Called by the
 * listener (admission) and by connections; calls neither. Must not accept,
 * read or write a client. */
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "proxy/proxy_int.h"

bool proxy_stopping(struct fw_proxy *px)
{
	return atomic_load(&px->stop);
}

uint64_t proxy_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void proxy_conn_head_done(struct fw_proxy *px, unsigned slot)
{
	pthread_mutex_lock(&px->lock);
	px->slots[slot].awaiting_head = false;
	pthread_mutex_unlock(&px->lock);
}

bool proxy_conn_preempted(struct fw_proxy *px, unsigned slot)
{
	bool p;

	pthread_mutex_lock(&px->lock);
	p = px->slots[slot].preempted;
	pthread_mutex_unlock(&px->lock);
	return p;
}

/* The oldest connection still without a CONNECT head, older than
 * PREEMPT_MIN_MS, is shut (proxy_int.h). */
bool proxy_slots_preempt_one(struct fw_proxy *px)
{
	uint64_t now = proxy_mono_ms();
	struct conn_slot *oldest = NULL;

	if (px->active >= px->n_slots)
		return false;
	for (unsigned i = 0; i < px->n_slots; i++) {
		struct conn_slot *sl = &px->slots[i];

		if (sl->fd >= 0 && sl->awaiting_head && !sl->preempted && now - sl->since_ms >= PREEMPT_MIN_MS &&
		    (oldest == NULL || sl->since_ms < oldest->since_ms))
			oldest = sl;
	}
	if (oldest == NULL)
		return false;
	oldest->preempted = true;
	shutdown(oldest->fd, SHUT_RDWR);
	return true;
}

void proxy_conn_forget_fd(struct fw_proxy *px, unsigned slot)
{
	pthread_mutex_lock(&px->lock);
	px->slots[slot].fd = -2;
	px->slots[slot].awaiting_head = false;
	pthread_mutex_unlock(&px->lock);
}

void proxy_conn_done(struct fw_proxy *px, unsigned slot, const struct source_key *src)
{
	pthread_mutex_lock(&px->lock);
	px->slots[slot] = (struct conn_slot){ .fd = -1 };
	source_release(px->sources, src);
	if (--px->active == 0)
		pthread_cond_broadcast(&px->idle);
	atomic_store(&px->n_open, px->active);
	pthread_mutex_unlock(&px->lock);
}
