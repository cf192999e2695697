/* The queue's events (one JSON event per job result and per settled
 * package) and its wake-ups. A leaf: calls nothing else of the queue. */
#include "sandbox/sandbox_int.h"

void sandbox_event(struct fw_sandbox *sb, const char *action, enum fw_outcome outcome, const char *sha256,
			  const char *verdict, const char *reason, int64_t job_id, int64_t object_id)
{
	struct fw_event_field extra[3] = { { .key = "fwgate.sandbox.backend", .str = fw_sandbox_backend_name(sb->backend) } };
	struct fw_event ev = {
		.action = action, .outcome = outcome, .sha256 = sha256, .verdict = verdict, .reason = reason,
		.rule = sb->d.pol->rule, .extra = extra, .n_extra = 1,
	};

	if (sb->d.log == NULL)
		return;
	if (job_id > 0)
		extra[ev.n_extra++] = (struct fw_event_field){ .key = "fwgate.sandbox.job", .num = job_id };
	if (object_id > 0)
		extra[ev.n_extra++] = (struct fw_event_field){ .key = "fwgate.object_id", .num = object_id };
	fw_evlog_emit(sb->d.log, &ev);
}

void sandbox_broadcast(struct fw_sandbox *sb, pthread_cond_t *cond)
{
	pthread_mutex_lock(&sb->lock);
	pthread_cond_broadcast(cond);
	pthread_mutex_unlock(&sb->lock);
}
