/* The runners: threads that claim due jobs from the store, open each
 * sample, have the configured backend (local or cape) judge it and record
 * the result under their claim; a failure is retried with back-off up to
 * [sandbox] retries, then fails for good (fail closed). A job's end settles
 * the packages waiting on it, and every attempt's duration and result are
 * counted in the metrics. Must not decide a package: settle.c asks. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fwgate/metrics.h"
#include "sandbox/sandbox_int.h"

#define IDLE_POLL_MS 1000
/* Retries wait 5 s, 10 s, 20 s, ... (at most 5 min): a service restart
 * or a scanner reload is ridden out, not taken for a verdict. */
#define BACKOFF_BASE_S 5
#define BACKOFF_MAX_S 300

enum fw_job_verdict fw_sandbox_judge(const struct fw_config *cfg, int score)
{
	return fw_sandbox_verdict_of_score(score, cfg->sandbox.suspicious_score, cfg->sandbox.malicious_score);
}

/* The retry time of a failed attempt; 0 when it was the last. */
static int64_t job_retry_at(const struct fw_sandbox *sb, const struct fw_sandbox_job *job)
{
	unsigned shift;
	int64_t delay;

	if (job->attempts > sb->d.cfg->sandbox.retries)
		return 0;
	shift = job->attempts > 8 ? 8 : job->attempts - 1;
	delay = (int64_t)BACKOFF_BASE_S << shift;
	return (int64_t)time(NULL) + (delay > BACKOFF_MAX_S ? BACKOFF_MAX_S : delay);
}

/* An attempt that failed: queued again or failed for good. 1 when the
 * job's packages are to be settled now (failed for good). */
static int job_failed(struct fw_sandbox *sb, struct fw_sandbox_job *job, const struct fw_err *why)
{
	int64_t retry_at = job_retry_at(sb, job);
	char reason[FW_ERR_MSG_MAX + 64];
	struct fw_err err;

	fw_err_clear(&err);
	if (fw_store_sandbox_failed(sb->d.store, job, fw_err_msg(why), retry_at, &err) != 0) {
		sandbox_event(sb, "sandbox-error", FW_OUTCOME_FAILURE, job->sha256, NULL, fw_err_msg(&err), job->id, 0);
		return 0;
	}
	snprintf(reason, sizeof(reason), "attempt %u of %u failed%s: %s", job->attempts, sb->d.cfg->sandbox.retries + 1,
		 retry_at ? ", retried" : " for good", fw_err_msg(why));
	sandbox_event(sb, "sandbox-job", FW_OUTCOME_FAILURE, job->sha256, retry_at ? "retry" : "failed", reason, job->id,
		      0);
	fw_metrics_sandbox_job(sb->backend, retry_at ? FW_METRICS_JOB_RETRY : FW_METRICS_JOB_FAILED);
	return retry_at == 0;
}

static enum fw_metrics_job_result job_result(enum fw_job_verdict v)
{
	return v == FW_JOB_MALICIOUS ? FW_METRICS_JOB_MALICIOUS : v == FW_JOB_SUSPICIOUS ? FW_METRICS_JOB_SUSPICIOUS
										 : FW_METRICS_JOB_BENIGN;
}

/* seconds: the attempt's, sample opened to result; counted unless the
 * shutdown cut it off (it runs again at the next start). */
static void job_finish(struct fw_sandbox *sb, struct fw_sandbox_job *job, int rc, int score, json_t *findings,
		       const struct fw_err *why, double seconds)
{
	enum fw_job_verdict verdict = fw_sandbox_judge(sb->d.cfg, score);
	char reason[FW_ERR_MSG_MAX + 64];
	struct fw_err err;

	fw_err_clear(&err);
	if (rc == 0 || !sandbox_stopping(sb))
		fw_metrics_sandbox_seconds(sb->backend, seconds);
	if (rc == 0) {
		/* A result that cannot be written (the database busy past its
		 * timeout) leaves the job running in the store: the sweep takes
		 * it back once its time ran out, and it runs again. */
		if (fw_store_sandbox_done(sb->d.store, job, verdict, score, findings, &err) != 0) {
			sandbox_event(sb, "sandbox-error", FW_OUTCOME_FAILURE, job->sha256, NULL, fw_err_msg(&err),
				      job->id, 0);
			return;
		}
		snprintf(reason, sizeof(reason), "%s: score %d", job->file_type, score);
		sandbox_event(sb, "sandbox-job", verdict == FW_JOB_BENIGN ? FW_OUTCOME_SUCCESS : FW_OUTCOME_FAILURE,
			      job->sha256, fw_job_verdict_name(verdict), reason, job->id, 0);
		fw_metrics_sandbox_job(sb->backend, job_result(verdict));
	} else if (sandbox_stopping(sb)) {
		return; /* cut off by the shutdown: left running, resumed at the next start */
	} else if (job_failed(sb, job, why) == 0) {
		return;
	}
	sandbox_settle_waiting(sb, job->id);
}

static void run_job(struct fw_sandbox *sb, struct fw_sandbox_job *job)
{
	json_t *findings = NULL;
	struct fw_err err;
	uint64_t size = 0;
	int fd = -1, score = 0, rc;
	struct timespec t0, t1;

	fw_err_clear(&err);
	atomic_fetch_add(&sb->running, 1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = sandbox_sample_open(sb, job, &fd, &size, &err);
	if (rc == 0) {
		if (sb->d.cfg->sandbox.backend == FW_SANDBOX_CAPE)
			rc = cape_run(&sb->cape, &sb->env, job, fd, size, &score, &findings, &err);
		else
			rc = local_run(&sb->env, job, fd, &score, &findings, &err);
		close(fd);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	job_finish(sb, job, rc, score, findings, &err,
		   (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	atomic_fetch_sub(&sb->running, 1);
	json_decref(findings);
}

void *sandbox_runner(void *arg)
{
	struct fw_sandbox *sb = arg;

	while (!sandbox_stopping(sb)) {
		struct fw_sandbox_job job;
		struct fw_err err;
		struct timespec until;
		int r;

		sandbox_sweep(sb);
		fw_err_clear(&err);
		r = sb->types == 0 ? 0 : fw_store_sandbox_claim(sb->d.store, sb->backend, &job, &err);
		if (r == 1) {
			run_job(sb, &job);
			continue;
		}
		if (r < 0)
			sandbox_event(sb, "sandbox-error", FW_OUTCOME_FAILURE, NULL, NULL, fw_err_msg(&err), 0, 0);
		/* Nothing due: sleep until poked (a new job) or a second passes
		 * (a retry came due, or staff retried a job from the CLI). */
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += IDLE_POLL_MS / 1000;
		pthread_mutex_lock(&sb->lock);
		if (!sandbox_stopping(sb))
			pthread_cond_timedwait(&sb->work, &sb->lock, &until);
		pthread_mutex_unlock(&sb->lock);
	}
	return NULL;
}
