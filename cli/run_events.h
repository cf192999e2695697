/* cli/run_events.c: the lifecycle events of `fwgate run` (start, stop,
 * reloads, signature warnings): each carries the service version, pid,
 * config and policy, then the caller's fields. A leaf shared by cmd_run.c
 * and run_reload.c. */
#ifndef FWGATE_CLI_RUN_EVENTS_H
#define FWGATE_CLI_RUN_EVENTS_H

#include <stddef.h>

#include "fwgate/config.h"
#include "fwgate/event.h"
#include "fwgate/policy.h"

/* Emits the event; a failed write is said on stderr (the event log is
 * where it would have gone). At most 12 of more are kept. */
void emit_lifecycle_extra(struct fw_evlog *log, const char *action, enum fw_outcome outcome,
			  const struct fw_config *cfg, const struct fw_policy *pol, const char *reason,
			  const struct fw_event_field *more, size_t n_more);

#endif
