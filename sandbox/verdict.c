/* The sandbox's verdict on a package (fwgate/sandbox_verdict.h): a pure
 * function of its typed job records and its scan's verdict, and the job
 * vocabulary's names. Must not do I/O, lock, or know the store: it is
 * handed records and answers a decision, so that a table of cases tests it. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "fwgate/sandbox_verdict.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static const char *const job_state_names[] = { "queued", "running", "done", "failed" };
static const char *const job_verdict_names[] = { "", "benign", "suspicious", "malicious" };

const char *fw_job_state_name(enum fw_job_state s)
{
	return (unsigned)s < ARRAY_LEN(job_state_names) ? job_state_names[s] : "unknown";
}

int fw_job_state_parse(const char *s, enum fw_job_state *out)
{
	for (size_t i = 0; i < ARRAY_LEN(job_state_names); i++)
		if (strcmp(s, job_state_names[i]) == 0) {
			*out = (enum fw_job_state)i;
			return 0;
		}
	return -1;
}

const char *fw_job_verdict_name(enum fw_job_verdict v)
{
	return (unsigned)v < ARRAY_LEN(job_verdict_names) ? job_verdict_names[v] : "unknown";
}

int fw_job_verdict_parse(const char *s, enum fw_job_verdict *out)
{
	for (size_t i = 0; i < ARRAY_LEN(job_verdict_names); i++)
		if (strcmp(s, job_verdict_names[i]) == 0) {
			*out = (enum fw_job_verdict)i;
			return 0;
		}
	return -1;
}

enum fw_job_verdict fw_sandbox_verdict_of_score(int score, unsigned suspicious_score, unsigned malicious_score)
{
	if (score >= 0 && (unsigned)score >= malicious_score)
		return FW_JOB_MALICIOUS;
	if (score >= 0 && (unsigned)score >= suspicious_score)
		return FW_JOB_SUSPICIOUS;
	return FW_JOB_BENIGN;
}

void fw_sandbox_findings_brief(const json_t *findings, char *out, size_t len)
{
	const json_t *list = json_object_get(json_object_get(findings, "analysis"), "findings"), *f;
	const char *key = "kind";
	size_t i, used = 0;

	if (len == 0)
		return;
	out[0] = '\0';
	if (!json_is_array(list)) {
		list = json_object_get(findings, "signatures");
		key = "name";
	}
	json_array_foreach(list, i, f) {
		const char *k = json_string_value(json_object_get(f, key));
		int n;

		if (k == NULL)
			continue;
		n = snprintf(out + used, len - used, "%s%s", used ? ", " : "", k);
		if (n < 0 || (size_t)n >= len - used) {
			out[used] = '\0';
			return;
		}
		used += (size_t)n;
	}
}

/* A job's weight as the package's verdict: a job that judged nothing
 * (failed, or done without a verdict on record) weighs as unscannable,
 * above suspicious, below infected (enum fw_verdict's order). */
static enum fw_verdict job_rank(const struct fw_sandbox_job *j)
{
	if (j->state != FW_JOB_DONE)
		return FW_VERDICT_UNSCANNABLE;
	switch (j->verdict) {
	case FW_JOB_BENIGN:
		return FW_VERDICT_CLEAN;
	case FW_JOB_SUSPICIOUS:
		return FW_VERDICT_SUSPICIOUS;
	case FW_JOB_MALICIOUS:
		return FW_VERDICT_INFECTED;
	case FW_JOB_VERDICT_NONE:
		break;
	}
	return FW_VERDICT_UNSCANNABLE;
}

/* Member chains and errors are cut in a reason (a label, at most
 * FW_ERR_MSG_MAX with everything else). */
static void decide_reason(const struct fw_sandbox_verdict_in *in, struct fw_sandbox_decision *out)
{
	const struct fw_sandbox_link *w = &in->links[out->worst];

	if (out->verdict == FW_VERDICT_CLEAN) {
		snprintf(out->reason, sizeof(out->reason), "sandbox (%s): %zu member job(s) benign",
			 fw_sandbox_backend_name(in->links[0].job.backend), in->n);
	} else if (out->verdict == FW_VERDICT_UNSCANNABLE && w->job.state == FW_JOB_FAILED) {
		snprintf(out->reason, sizeof(out->reason), "sandbox job %" PRId64 " for %.300s failed after %u attempt(s): %.400s",
			 w->job.id, w->member, w->job.attempts, w->job.error);
	} else if (out->verdict == FW_VERDICT_UNSCANNABLE) {
		snprintf(out->reason, sizeof(out->reason), "sandbox job %" PRId64 " for %.300s is done without a verdict",
			 w->job.id, w->member);
	} else {
		snprintf(out->reason, sizeof(out->reason), "sandbox (%s) judged %.300s %s (score %d, job %" PRId64 "): %.400s",
			 fw_sandbox_backend_name(w->job.backend), w->member, fw_job_verdict_name(w->job.verdict), w->job.score, w->job.id,
			 w->brief[0] ? w->brief : "no findings listed");
	}
}

void fw_sandbox_verdict(const struct fw_sandbox_verdict_in *in, struct fw_sandbox_decision *out)
{
	memset(out, 0, sizeof(*out));
	out->worst = in->n;
	out->verdict = FW_VERDICT_PENDING;
	for (size_t i = 0; i < in->n; i++)
		if (in->links[i].job.state == FW_JOB_QUEUED || in->links[i].job.state == FW_JOB_RUNNING) {
			out->kind = FW_SETTLE_WAIT; /* its own end settles the package */
			snprintf(out->reason, sizeof(out->reason), "sandbox job %" PRId64 " is %s", in->links[i].job.id,
				 fw_job_state_name(in->links[i].job.state));
			return;
		}
	if (in->unjudgeable != NULL) {
		out->kind = FW_SETTLE_QUARANTINE;
		out->verdict = FW_VERDICT_UNSCANNABLE;
		snprintf(out->reason, sizeof(out->reason), "the sandbox jobs cannot be queued: %s", in->unjudgeable);
		return;
	}
	if (in->n == 0) {
		out->kind = FW_SETTLE_UNLINKED;
		snprintf(out->reason, sizeof(out->reason), "no sandbox job is linked");
		return;
	}
	out->worst = 0;
	out->verdict = job_rank(&in->links[0].job);
	for (size_t i = 1; i < in->n; i++) {
		enum fw_verdict r = job_rank(&in->links[i].job);

		if (r > out->verdict) {
			out->verdict = r;
			out->worst = i;
		}
	}
	snprintf(out->worst_sha256, sizeof(out->worst_sha256), "%s", in->links[out->worst].job.sha256);
	decide_reason(in, out);
	if (out->verdict == FW_VERDICT_CLEAN && in->scan != FW_VERDICT_PENDING) {
		/* Never approve past the scanner: only its clean-but-pending
		 * scan waits for the sandbox's word. */
		out->verdict = FW_VERDICT_UNSCANNABLE;
		snprintf(out->reason, sizeof(out->reason), "%s",
			 "a clean verdict was given for a scan that is not the scanner's clean one");
	}
	out->kind = out->verdict == FW_VERDICT_CLEAN ? FW_SETTLE_APPROVE : FW_SETTLE_QUARANTINE;
}
