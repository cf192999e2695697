/* Private to sandbox/: the queue's state and what its files give each
 * other. Calls go one way only: queue (start, stop) -> runner -> sweep,
 * samples, backends (local, cape) and settle; wait -> settle; settle ->
 * plan, events. The backends are leaves: they get a struct sandbox_env,
 * never the queue. Nothing here is for other modules. */
#ifndef FWGATE_SANDBOX_INT_H
#define FWGATE_SANDBOX_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "fwgate/config.h"
#include "fwgate/err.h"
#include "fwgate/fileio.h"
#include "fwgate/sandbox.h"
#include "fwgate/scanner.h"
#include "fwgate/store.h"

#define SANDBOX_MAX_RUNNERS 64

/* What a backend may use: the store (a job's task ids), the scanner (its
 * workers analyze samples and summarize reports), the configuration and
 * the shutdown flag (long waits end early). */
struct sandbox_env {
	const struct fw_config *cfg;
	struct fw_store *store;
	struct fw_scanner *scanner;
	const atomic_bool *stopping;
};

static inline bool sandbox_env_stopping(const struct sandbox_env *env)
{
	return atomic_load(env->stopping);
}

/* A CAPEv2 service: its base URL (…/apiv2/ is appended) and token. */
struct cape_client {
	char base[FW_URL_MAX];
	char token[512];            /* "" when none */
	unsigned timeout_seconds;   /* one job, submission to report */
	bool ready;
};

struct fw_sandbox {
	struct fw_sandbox_deps d;
	struct sandbox_env env;
	unsigned types;
	enum fw_sandbox_backend backend; /* local or cape: who runs the jobs */
	struct cape_client cape;
	pthread_mutex_t lock;
	pthread_cond_t work;            /* a job was queued, or stop */
	pthread_cond_t settled;         /* an object left pending */
	atomic_bool stopping;           /* set under lock (for the waits), read anywhere */
	int64_t last_sweep;             /* unix seconds, under lock */
	char spool_dir[FW_PATH_MAX];    /* private copies of samples: no worker writes there */
	pthread_t runners[SANDBOX_MAX_RUNNERS];
	unsigned n_runners;
	atomic_uint running;            /* jobs a runner judges now, for the metrics */
};

static inline bool sandbox_stopping(struct fw_sandbox *sb)
{
	return atomic_load(&sb->stopping);
}

/* Wakes whoever waits on cond (work or settled). */
void sandbox_broadcast(struct fw_sandbox *sb, pthread_cond_t *cond) FW_NONNULL(1, 2);

/* ------------------------------------------------------------ events.c */

/* One event of the queue (job_id, object_id <= 0: none). */
void sandbox_event(struct fw_sandbox *sb, const char *action, enum fw_outcome outcome, const char *sha256,
		   const char *verdict, const char *reason, int64_t job_id, int64_t object_id) FW_NONNULL(1, 2);

/* ------------------------------------------------------------ cape.c */

/* Checks the URL (http or https) and reads the token file (at most 511
 * bytes, one line, trailing white space dropped); c may be NULL to check
 * only. */
int cape_client_init(struct cape_client *c, const struct fw_config *cfg, struct fw_err *err) FW_NONNULL(2);
void cape_client_free(struct cape_client *c);

/* Judges one sample (fd, size bytes) for job: submits it (unless the job
 * already has the service's task id from an earlier run, which is then
 * polled), polls the task with back-off until it is reported, fetches the
 * report and maps its malscore (0..10) to *score (0..100). *findings is
 * the report's summary {backend, task_id, malscore, malstatus,
 * signatures[] {name, description, severity}}. -1 with err on any network
 * or service error, a failed task or the job's time running out. */
int cape_run(struct cape_client *c, const struct sandbox_env *env, struct fw_sandbox_job *job, int fd,
	     uint64_t size, int *score, json_t **findings, struct fw_err *err);

/* ------------------------------------------------------------ local.c */

/* Judges one sample with the static analyzer in a scanner worker: *score
 * (0..100) and *findings {backend: "local", analysis}. */
int local_run(const struct sandbox_env *env, const struct fw_sandbox_job *job, int fd, int *score,
	      json_t **findings, struct fw_err *err) FW_NONNULL(1, 2, 4, 5);

/* ------------------------------------------------------------ samples.c */

/* The sample of a job (a member kept by the scanner, else a package the
 * store holds) as a private unnamed copy in spool_dir whose bytes hash to
 * the job's SHA-256; a sample that does not match is never judged. */
int sandbox_sample_open(struct fw_sandbox *sb, const struct fw_sandbox_job *job, int *fd, uint64_t *size,
			struct fw_err *err) FW_NONNULL(1, 2, 3, 4);

/* ------------------------------------------------------------ settle.c */

/* Settles a pending object from its jobs (fw_store_settle) and reports
 * it; one with nothing linked is linked again from its latest scan. */
void sandbox_settle_object(struct fw_sandbox *sb, int64_t object_id) FW_NONNULL(1);

/* Settles every pending object waiting on job_id. */
void sandbox_settle_waiting(struct fw_sandbox *sb, int64_t job_id) FW_NONNULL(1);

/* Objects an earlier run left pending: settled when their jobs are all
 * in, linked from their latest scan when they have none, held for review
 * at once when the policy no longer sandboxes. */
int sandbox_resume_pending(struct fw_sandbox *sb, struct fw_err *err) FW_NONNULL(1);

/* ------------------------------------------------------------ sweep.c */

/* Every few seconds, by one runner: lost jobs queued again, pending
 * objects nothing runs for any more settled. */
void sandbox_sweep(struct fw_sandbox *sb) FW_NONNULL(1);

/* ------------------------------------------------------------ runner.c */

/* A runner thread's body (arg: the struct fw_sandbox). */
void *sandbox_runner(void *arg);

#endif
