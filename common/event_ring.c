/* The ring of the last failure events (fwgate/event_ring.h): one
 * process-global ring under one mutex, filled by fw_evlog_emit. Owns
 * copying and bounding the strings; must not format or write events. */
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "fwgate/event_ring.h"

static struct {
	pthread_mutex_t lock; /* guards everything below */
	struct fw_event_ring_entry e[FW_EVENT_RING_LEN];
	size_t next;          /* slot the next entry goes to */
	size_t n;             /* entries held, up to FW_EVENT_RING_LEN */
} ring = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* Printable ASCII only: a reason may quote a URL or a header a client
 * chose, and the ring ends up on an operator's terminal. */
static void copy_field(char *dst, size_t len, const char *src)
{
	size_t i = 0;

	if (src != NULL) {
		for (; src[i] != '\0' && i + 1 < len; i++)
			dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? src[i] : '?';
		/* Cut: the last three characters say so. */
		if (src[i] != '\0' && i >= 3)
			memcpy(dst + i - 3, "...", 3);
	}
	dst[i] = '\0';
}

void fw_event_ring_note(const struct fw_event *ev)
{
	struct fw_event_ring_entry e;
	struct timespec ts;

	if (ev->outcome != FW_OUTCOME_FAILURE)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	e.time_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	copy_field(e.action, sizeof(e.action), ev->action);
	copy_field(e.domain, sizeof(e.domain), ev->domain);
	copy_field(e.reason, sizeof(e.reason), ev->reason);
	pthread_mutex_lock(&ring.lock);
	ring.e[ring.next] = e;
	ring.next = (ring.next + 1) % FW_EVENT_RING_LEN;
	if (ring.n < FW_EVENT_RING_LEN)
		ring.n++;
	pthread_mutex_unlock(&ring.lock);
}

size_t fw_event_ring_read(struct fw_event_ring_entry *out, size_t max)
{
	size_t k = 0;

	pthread_mutex_lock(&ring.lock);
	for (; k < max && k < ring.n; k++)
		out[k] = ring.e[(ring.next + FW_EVENT_RING_LEN - 1 - k) % FW_EVENT_RING_LEN];
	pthread_mutex_unlock(&ring.lock);
	return k;
}

void fw_event_ring_reset(void)
{
	pthread_mutex_lock(&ring.lock);
	ring.n = 0;
	ring.next = 0;
	pthread_mutex_unlock(&ring.lock);
}
