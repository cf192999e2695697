/* The sandbox queue (fwgate/sandbox.h): its checks, start (jobs an
 * earlier run left running queued again, packages left pending picked up,
 * runners started) and stop. Members of the types the policy sandboxes
 * become durable jobs; runner.c judges them, settle.c settles the packages
 * through the store, whose transaction applies sandbox/verdict.c. Must not
 * decide an object's life cycle: that is the store's table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fwgate/metrics.h"
#include "sandbox/sandbox_int.h"

int fw_sandbox_check(const struct fw_config *cfg, const struct fw_policy *pol, struct fw_err *err)
{
	if (!pol->sandboxing.enabled)
		return 0;
	if (cfg->sandbox.backend == FW_SANDBOX_NONE)
		return fw_err_set(err, "the policy's rule \"%s\" sandboxes members (sandboxing.enabled) but "
				  "[sandbox] backend is none: choose local or cape, or a policy without sandboxing",
				  pol->rule);
	if (cfg->sandbox.backend == FW_SANDBOX_CAPE)
		return cape_client_init(NULL, cfg, err);
	return 0;
}

unsigned fw_sandbox_types(const struct fw_sandbox *sb)
{
	return sb->types;
}

int fw_sandbox_start(struct fw_sandbox **out, const struct fw_sandbox_deps *deps, struct fw_err *err)
{
	struct fw_sandbox *sb;
	unsigned requeued = 0;

	*out = NULL;
	if (fw_sandbox_check(deps->cfg, deps->pol, err) != 0)
		return -1;
	sb = calloc(1, sizeof(*sb));
	if (sb == NULL)
		return fw_err_set(err, "out of memory");
	sb->d = *deps;
	if (fw_path_join(sb->spool_dir, sizeof(sb->spool_dir), deps->cfg->state.dir, "spool", err) != 0) {
		free(sb);
		return -1;
	}
	sb->backend = deps->cfg->sandbox.backend == FW_SANDBOX_CAPE ? FW_SANDBOX_CAPE : FW_SANDBOX_LOCAL;
	sb->env = (struct sandbox_env){ .cfg = deps->cfg, .store = deps->store, .scanner = deps->scanner,
					.stopping = &sb->stopping };
	atomic_init(&sb->stopping, false);
	atomic_init(&sb->running, 0);
	pthread_mutex_init(&sb->lock, NULL);
	pthread_cond_init(&sb->work, NULL);
	pthread_cond_init(&sb->settled, NULL);
	if (deps->pol->sandboxing.enabled)
		for (unsigned t = 0; t < FW_FT_COUNT; t++)
			if (deps->pol->sandboxing.file_types[t])
				sb->types |= 1u << t;
	if (sb->types == 0) {
		unsigned abandoned = 0;

		/* Nothing will run the jobs any more: they fail, so that the
		 * packages waiting on them are held for review, not left
		 * pending forever. */
		if (fw_store_sandbox_abandon(deps->store, "the policy no longer sandboxes: the job will not run",
					     &abandoned, err) != 0 || sandbox_resume_pending(sb, err) != 0)
			goto fail;
		if (abandoned > 0)
			sandbox_event(sb, "sandbox-abandon", FW_OUTCOME_FAILURE, NULL, NULL,
				      "the policy no longer sandboxes: unfinished sandbox jobs failed", 0, 0);
		/* One thread runs the sweep only (no job is ever claimed). */
		if (pthread_create(&sb->runners[0], NULL, sandbox_runner, sb) != 0) {
			fw_err_set(err, "cannot start the sandbox sweep");
			goto fail;
		}
		sb->n_runners = 1;
		*out = sb;
		return 0;
	}
	if ((deps->cfg->sandbox.backend == FW_SANDBOX_CAPE && cape_client_init(&sb->cape, deps->cfg, err) != 0) ||
	    fw_store_sandbox_resume(deps->store, &requeued, err) != 0 || sandbox_resume_pending(sb, err) != 0)
		goto fail;
	if (requeued > 0) {
		char why[96];

		snprintf(why, sizeof(why), "%u sandbox job(s) left running by the last run queued again", requeued);
		sandbox_event(sb, "sandbox-resume", FW_OUTCOME_SUCCESS, NULL, NULL, why, 0, 0);
	}
	for (unsigned i = 0; i < deps->cfg->sandbox.runners && i < SANDBOX_MAX_RUNNERS; i++) {
		if (pthread_create(&sb->runners[i], NULL, sandbox_runner, sb) != 0) {
			fw_err_set(err, "cannot start sandbox runner %u", i + 1);
			goto fail;
		}
		sb->n_runners++;
	}
	*out = sb;
	return 0;
fail:
	fw_sandbox_stop(sb);
	return -1;
}

void fw_sandbox_metrics(const struct fw_sandbox *sb, struct fw_metrics_gauges *g)
{
	g->sandbox_set = true;
	/* With no type to sandbox, the one thread only sweeps. */
	g->sandbox_runners = sb->types != 0 ? sb->n_runners : 0;
	g->sandbox_jobs_running = atomic_load(&sb->running);
}

void fw_sandbox_quiesce(struct fw_sandbox *sb)
{
	if (sb == NULL)
		return;
	pthread_mutex_lock(&sb->lock);
	atomic_store(&sb->stopping, true);
	pthread_cond_broadcast(&sb->work);
	pthread_cond_broadcast(&sb->settled);
	pthread_mutex_unlock(&sb->lock);
}

void fw_sandbox_stop(struct fw_sandbox *sb)
{
	if (sb == NULL)
		return;
	fw_sandbox_quiesce(sb);
	for (unsigned i = 0; i < sb->n_runners; i++)
		pthread_join(sb->runners[i], NULL);
	cape_client_free(&sb->cape);
	pthread_cond_destroy(&sb->work);
	pthread_cond_destroy(&sb->settled);
	pthread_mutex_destroy(&sb->lock);
	free(sb);
}

