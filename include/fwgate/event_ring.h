/* common/event_ring.c: the last failure events of this process, kept in
 * a small ring for `fwgate status` (what went wrong lately, without
 * reading the log). Fed by fw_evlog_emit; must not allocate or block on
 * anything but its own short lock.
 * Thread-safety: note and read may run in many threads at once. */
#ifndef FWGATE_EVENT_RING_H
#define FWGATE_EVENT_RING_H

#include <stddef.h>
#include <stdint.h>

#include "fwgate/attrib.h"
#include "fwgate/config.h"
#include "fwgate/event.h"

/* Failure events remembered; older ones are overwritten. */
#define FW_EVENT_RING_LEN 16

struct fw_event_ring_entry {
	int64_t time_ms;               /* unix milliseconds when noted */
	char action[64];               /* event.action */
	char domain[FW_HOST_MAX];      /* destination.domain, "" when none */
	char reason[256];              /* fwgate.reason, "" when none; cut marked "..." */
};

/* Remembers ev when its outcome is FW_OUTCOME_FAILURE; any other event is
 * ignored. Strings are copied as printable ASCII (other bytes become '?')
 * and cut to the entry's fields. */
void fw_event_ring_note(const struct fw_event *ev) FW_NONNULL(1);

/* Copies up to max entries, newest first, into out; returns how many. */
size_t fw_event_ring_read(struct fw_event_ring_entry *out, size_t max) FW_NONNULL(1);

/* Forgets every entry. For tests. */
void fw_event_ring_reset(void);

#endif
