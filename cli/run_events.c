/* The lifecycle events of `fwgate run`; see run_events.h. */
#include <stdio.h>
#include <unistd.h>

#include "cli/run_events.h"
#include "fwgate/attrib.h"
#include "fwgate_build.h"

void emit_lifecycle_extra(struct fw_evlog *log, const char *action, enum fw_outcome outcome,
			  const struct fw_config *cfg, const struct fw_policy *pol, const char *reason,
			  const struct fw_event_field *more, size_t n_more)
{
	struct fw_event_field extra[16] = {
		{ .key = "service.version", .str = FWGATE_VERSION },
		{ .key = "process.pid", .num = (long long)getpid() },
		{ .key = "fwgate.config", .str = cfg->path[0] ? cfg->path : "embedded default" },
		{ .key = "fwgate.policy", .str = pol->source },
	};
	struct fw_event ev = {
		.action = action,
		.outcome = outcome,
		.rule = pol->rule,
		.reason = reason,
		.extra = extra,
		.n_extra = 4,
	};

	for (size_t i = 0; i < n_more && ev.n_extra < FW_ARRAY_LEN(extra); i++)
		extra[ev.n_extra++] = more[i];
	if (fw_evlog_emit(log, &ev) != 0)
		fprintf(stderr, "fwgate: cannot write the %s event to the event log\n", action);
}
