/* The sweep: every few seconds, by one runner, what no event will do by
 * itself: jobs whose runner lost them are queued again, jobs that will
 * never run (the policy stopped sandboxing) fail, and pending objects
 * nothing runs for any more are settled. */
#include <time.h>

#include "sandbox/sandbox_int.h"

#define SWEEP_EVERY_S 5
/* A pending object with no job linked this long after its scan (an
 * anomaly: commits link) is linked again from its scan by the sweep. */
#define LINKLESS_GRACE_S 60
/* A running job whose runner has not reported this long after its time
 * ran out is taken back. */
#define STALE_MARGIN_S 900

/* Every SWEEP_EVERY_S, by one runner: jobs whose runner lost them are
 * queued again, and pending objects nothing runs for any more are
 * settled (a settle that failed, a submit that never linked). */
void sandbox_sweep(struct fw_sandbox *sb)
{
	int64_t ids[64], now = (int64_t)time(NULL);
	struct fw_err err;
	unsigned requeued = 0;
	size_t n = 0;

	pthread_mutex_lock(&sb->lock);
	if (now - sb->last_sweep < SWEEP_EVERY_S) {
		pthread_mutex_unlock(&sb->lock);
		return;
	}
	sb->last_sweep = now;
	pthread_mutex_unlock(&sb->lock);
	fw_err_clear(&err);
	if (sb->types == 0) {
		/* Not sandboxing: a job queued meanwhile (a staff retry from the
		 * CLI) will never run; it fails, so its packages are held for
		 * review, not left pending. */
		if (fw_store_sandbox_abandon(sb->d.store, "the policy no longer sandboxes: the job will not run",
					     &requeued, &err) != 0)
			sandbox_event(sb, "sandbox-error", FW_OUTCOME_FAILURE, NULL, NULL, fw_err_msg(&err), 0, 0);
		else if (requeued > 0)
			sandbox_event(sb, "sandbox-abandon", FW_OUTCOME_FAILURE, NULL, NULL,
				      "the policy no longer sandboxes: sandbox jobs queued meanwhile failed", 0, 0);
		requeued = 0;
	}
	if (fw_store_sandbox_requeue_stale(sb->d.store, now - (int64_t)sb->d.cfg->sandbox.timeout_seconds -
					   (int64_t)sb->d.cfg->scanner.timeout_seconds - STALE_MARGIN_S,
					   &requeued, &err) != 0)
		sandbox_event(sb, "sandbox-error", FW_OUTCOME_FAILURE, NULL, NULL, fw_err_msg(&err), 0, 0);
	else if (requeued > 0)
		sandbox_event(sb, "sandbox-resume", FW_OUTCOME_SUCCESS, NULL, NULL,
			      "sandbox job(s) whose runner did not report were queued again", 0, 0);
	if (fw_store_sandbox_unsettled(sb->d.store, now - LINKLESS_GRACE_S, ids, FW_ARRAY_LEN(ids), &n, &err) != 0) {
		sandbox_event(sb, "sandbox-error", FW_OUTCOME_FAILURE, NULL, NULL, fw_err_msg(&err), 0, 0);
		return;
	}
	for (size_t i = 0; i < n; i++)
		sandbox_settle_object(sb, ids[i]);
}
