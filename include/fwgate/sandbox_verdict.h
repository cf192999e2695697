/* sandbox/verdict.c: the sandbox's vocabulary for jobs (states, verdicts,
 * the typed records the store keeps) and its one decision, a pure function
 * from an object's job records and its scan's verdict to what the package
 * becomes. No I/O, no locks, no store: the store calls it inside its settle
 * transaction on the records it reads there, the queue reports from it.
 * Thread-safety: every function is pure (safe from any thread). */
#ifndef FWGATE_SANDBOX_VERDICT_H
#define FWGATE_SANDBOX_VERDICT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "fwgate/err.h"
#include "fwgate/verdict.h"

enum fw_job_state {
	FW_JOB_QUEUED = 0,
	FW_JOB_RUNNING,
	FW_JOB_DONE,
	FW_JOB_FAILED,
};

/* "queued", "running", "done", "failed". */
const char *fw_job_state_name(enum fw_job_state s);
/* 0 and *out for one of those names, -1 for anything else. */
int fw_job_state_parse(const char *s, enum fw_job_state *out) FW_NONNULL(1, 2);

/* A done job's verdict; NONE until done. */
enum fw_job_verdict {
	FW_JOB_VERDICT_NONE = 0,
	FW_JOB_BENIGN,
	FW_JOB_SUSPICIOUS,
	FW_JOB_MALICIOUS,
};

/* "", "benign", "suspicious", "malicious" (the names kept in the store
 * and shown; never compared by a caller). */
const char *fw_job_verdict_name(enum fw_job_verdict v);
int fw_job_verdict_parse(const char *s, enum fw_job_verdict *out) FW_NONNULL(1, 2);

#define FW_JOB_FILE_TYPE_MAX 32
#define FW_JOB_EXTERNAL_MAX 64
/* A member's chain in its package, kept as a label (cut beyond). */
#define FW_JOB_MEMBER_MAX 1024
/* The findings' kinds or signature names, for a reason. */
#define FW_JOB_BRIEF_MAX 512

/* One job as the store keeps it. */
struct fw_sandbox_job {
	int64_t id;
	char sha256[FW_SHA256_HEX_LEN + 1];
	char file_type[FW_JOB_FILE_TYPE_MAX];
	enum fw_sandbox_backend backend;       /* local or cape: who runs (or ran) it */
	char external_id[FW_JOB_EXTERNAL_MAX]; /* the service's task id; "" before submission */
	enum fw_job_state state;
	unsigned attempts;
	enum fw_job_verdict verdict;           /* NONE until done */
	int score;                             /* 0..100 when done */
	char error[FW_ERR_MSG_MAX];            /* why the last attempt failed; "" when none */
	int64_t created_at, started_at, finished_at; /* unix seconds; 0 when not yet */
	int64_t claim;                         /* which claim of it this is (never reused, unlike attempts) */
};

/* A job as one object waits on it: one record per linked member. */
struct fw_sandbox_link {
	struct fw_sandbox_job job;
	char member[FW_JOB_MEMBER_MAX];
	char brief[FW_JOB_BRIEF_MAX];          /* fw_sandbox_findings_brief of its findings */
};

/* What a pending object's records make of it. */
enum fw_settle_kind {
	FW_SETTLE_WAIT = 0,     /* a job is queued or running: not yet */
	FW_SETTLE_UNLINKED,     /* no job linked (an anomaly: commits link): link it again */
	FW_SETTLE_APPROVE,      /* every job done and benign, over the scanner's clean-but-pending scan */
	FW_SETTLE_QUARANTINE,   /* anything else: verdict says as what */
};

struct fw_sandbox_decision {
	enum fw_settle_kind kind;
	enum fw_verdict verdict;       /* CLEAN with APPROVE; INFECTED, SUSPICIOUS or UNSCANNABLE with QUARANTINE */
	size_t worst;                  /* the link that decided; n when none did */
	char worst_sha256[FW_SHA256_HEX_LEN + 1]; /* its job's bytes; "" when none */
	char reason[FW_ERR_MSG_MAX];
};

struct fw_sandbox_verdict_in {
	const struct fw_sandbox_link *links;
	size_t n;
	enum fw_verdict scan;          /* the object's latest scan */
	const char *unjudgeable;       /* not NULL: nothing can judge it (why): quarantined unscannable */
};

/* The decision, in this order: a job queued or running waits (whatever
 * else); an unjudgeable object is unscannable; no link is UNLINKED; else
 * the worst job (malicious > failed > suspicious > benign; the first of
 * equals) decides; all benign approves only over a scan that is the
 * scanner's pending one (never past the scanner). */
void fw_sandbox_verdict(const struct fw_sandbox_verdict_in *in, struct fw_sandbox_decision *out) FW_NONNULL(1, 2);

/* A member's verdict from its score (0..100) and the thresholds
 * ([sandbox] suspicious_score, malicious_score). */
enum fw_job_verdict fw_sandbox_verdict_of_score(int score, unsigned suspicious_score, unsigned malicious_score);

/* The kinds of a local analysis' findings (or a CAPE summary's signature
 * names), comma-separated, cut at a whole name; "" when none. */
void fw_sandbox_findings_brief(const json_t *findings, char *out, size_t len) FW_NONNULL(2);

#endif
