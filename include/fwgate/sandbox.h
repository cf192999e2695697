/* sandbox/: the sandbox queue. Members of the types the policy sandboxes
 * (listed by the scanner in a verdict document's sandbox[] and kept as
 * samples) become durable jobs in the store; a fixed number of runner
 * threads ([sandbox] runners) judge them with the configured backend:
 * `local` (the static analyzer, inside a scanner worker) or `cape` (a
 * CAPEv2 service over its REST API, with libcurl). A package waits in the
 * `pending` state until every job of its members is in, then is settled by
 * the store with the pure fw_sandbox_verdict() (fwgate/sandbox_verdict.h):
 * approved when all are benign, else quarantined as infected (malicious),
 * suspicious, or unscannable (a job that failed after its retries). Must
 * not serve clients, hold the CA key, or decide an object's life cycle
 * (the store's table does).
 * Thread-safety: submit, wait, types and metrics may be called from many
 * threads at once; start and stop from one. */
#ifndef FWGATE_SANDBOX_H
#define FWGATE_SANDBOX_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "fwgate/config.h"
#include "fwgate/err.h"
#include "fwgate/event.h"
#include "fwgate/policy.h"
#include "fwgate/sandbox_verdict.h"
#include "fwgate/scanner.h"
#include "fwgate/store.h"

struct fw_sandbox_deps {
	const struct fw_config *cfg;
	const struct fw_policy *pol;
	struct fw_store *store;
	struct fw_scanner *scanner;   /* the local backend analyzes in its workers */
	struct fw_evlog *log;         /* one event per job result and per settled package */
	const char *samples_dir;      /* where the scanner keeps members to judge */
};

struct fw_sandbox;
struct fw_metrics_gauges;

/* Refuses what cannot work, before anything starts: a policy that asks
 * for sandboxing with backend `none`, the cape backend without a usable
 * URL or with an unreadable token file. */
int fw_sandbox_check(const struct fw_config *cfg, const struct fw_policy *pol, struct fw_err *err)
	FW_WUR FW_NONNULL(1, 2);

/* A member's verdict from its score (0..100) and [sandbox]
 * suspicious_score / malicious_score. */
enum fw_job_verdict fw_sandbox_judge(const struct fw_config *cfg, int score) FW_NONNULL(1);

/* Creates <state_dir>/samples (0700) into out and removes what a killed
 * run left there (temporary files of samples being kept, directories):
 * only regular files named by a SHA-256 (64 lower-case hex digits), the
 * samples queued jobs may need, are kept. stats says what was removed. */
int fw_sandbox_samples_prepare(const char *state_dir, char *out, size_t len, struct fw_dir_empty_stats *stats,
			       struct fw_err *err) FW_WUR FW_NONNULL(1, 2, 4);

/* Checks (fw_sandbox_check), queues again the jobs an earlier run left
 * running, starts the runners and picks up every object still pending
 * (re-linking it to its members' jobs from its latest scan, so a crash
 * between commit and queueing loses nothing). With sandboxing off in the
 * policy it starts no runner and *out still works (types is 0). */
int fw_sandbox_start(struct fw_sandbox **out, const struct fw_sandbox_deps *deps, struct fw_err *err)
	FW_WUR FW_NONNULL(1, 2);

/* The member types to hand the scanner (bits 1u << enum fw_file_type);
 * 0 when the policy does not sandbox. */
unsigned fw_sandbox_types(const struct fw_sandbox *sb) FW_NONNULL(1);

/* What the commit of a pending verdict needs (struct fw_store_commit's
 * sandbox fields): the members of doc's sandbox[] (pointing into doc),
 * the backend and the verdict TTL's start. */
struct fw_sandbox_plan {
	struct fw_sandbox_member *members;
	size_t n;
	enum fw_sandbox_backend backend;
	int64_t reuse_since;
};

int fw_sandbox_plan(const struct fw_sandbox *sb, const json_t *doc, struct fw_sandbox_plan *plan,
		    struct fw_err *err) FW_WUR FW_NONNULL(1, 2, 3);
void fw_sandbox_plan_free(struct fw_sandbox_plan *plan) FW_NONNULL(1);

/* A pending object was committed (linked to its jobs by the commit):
 * wakes the runners and settles it at once when every verdict is known
 * already. jobs (may be NULL) gets the ids it waits on, "3, 4, 5". */
int fw_sandbox_submit(struct fw_sandbox *sb, int64_t object_id, char *jobs, size_t jobs_len) FW_NONNULL(1);

/* Waits up to ms for the object to leave `pending`; *state is its state
 * then (still FW_OBJ_PENDING when the time ran out). */
int fw_sandbox_wait(struct fw_sandbox *sb, int64_t object_id, unsigned ms, enum fw_object_state *state,
		    struct fw_err *err) FW_WUR FW_NONNULL(1, 4);

/* The ids of the jobs the object waits on, "3, 4, 5", into out. */
void fw_sandbox_jobs_of(struct fw_sandbox *sb, int64_t object_id, char *out, size_t len) FW_NONNULL(1, 3);

/* The queue's figures for a scrape (fwgate/metrics.h): runner threads
 * that judge jobs (0 when the policy does not sandbox) and the jobs they
 * judge now. Lock-free; safe from any thread while the queue runs. */
void fw_sandbox_metrics(const struct fw_sandbox *sb, struct fw_metrics_gauges *g) FW_NONNULL(1, 2);

/* Tells the runners to stop (they finish no job from then on: a job
 * under way is left running, and queued again at the next start). Call
 * it before cancelling the scanner, so that an analysis cut short is not
 * taken for a failure; NULL is a no-op. */
void fw_sandbox_quiesce(struct fw_sandbox *sb);

/* Quiesces, joins the runners and frees; NULL is a no-op. */
void fw_sandbox_stop(struct fw_sandbox *sb);

#endif
