/* Unit tests for sandbox/verdict.c: the sandbox's verdict on a package as
 * a pure function of its typed job records and its scan's verdict, as a
 * table of cases, then exhaustively over every job state x verdict for one
 * and two jobs (no approval past a job or past the scanner), and the job
 * vocabulary's names and the score thresholds. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "fwgate/sandbox_verdict.h"

#define MAX_JOBS 4

/* One job in a case: state, verdict, score. */
struct job_spec {
	enum fw_job_state state;
	enum fw_job_verdict verdict;
	int score;
};

struct verdict_case {
	const char *name;
	struct job_spec jobs[MAX_JOBS];
	size_t n;
	enum fw_verdict scan;
	const char *unjudgeable;
	enum fw_settle_kind want_kind;
	enum fw_verdict want_verdict;   /* checked for APPROVE and QUARANTINE */
	size_t want_worst;              /* idem */
	const char *want_reason;        /* a part of the reason */
};

#define Q { FW_JOB_QUEUED, FW_JOB_VERDICT_NONE, 0 }
#define R { FW_JOB_RUNNING, FW_JOB_VERDICT_NONE, 0 }
#define F { FW_JOB_FAILED, FW_JOB_VERDICT_NONE, 0 }
#define B { FW_JOB_DONE, FW_JOB_BENIGN, 5 }
#define S { FW_JOB_DONE, FW_JOB_SUSPICIOUS, 50 }
#define M { FW_JOB_DONE, FW_JOB_MALICIOUS, 90 }
#define DN { FW_JOB_DONE, FW_JOB_VERDICT_NONE, 0 }

static const struct verdict_case cases[] = {
	{ "nothing linked", { B }, 0, FW_VERDICT_PENDING, NULL, FW_SETTLE_UNLINKED, 0, 0, "no sandbox job" },
	{ "one benign", { B }, 1, FW_VERDICT_PENDING, NULL, FW_SETTLE_APPROVE, FW_VERDICT_CLEAN, 0,
	  "sandbox (local): 1 member job(s) benign" },
	{ "three benign", { B, B, B }, 3, FW_VERDICT_PENDING, NULL, FW_SETTLE_APPROVE, FW_VERDICT_CLEAN, 0,
	  "3 member job(s) benign" },
	{ "one queued", { Q }, 1, FW_VERDICT_PENDING, NULL, FW_SETTLE_WAIT, 0, 0, "is queued" },
	{ "one running", { R }, 1, FW_VERDICT_PENDING, NULL, FW_SETTLE_WAIT, 0, 0, "is running" },
	{ "benign and queued", { B, Q }, 2, FW_VERDICT_PENDING, NULL, FW_SETTLE_WAIT, 0, 0, "is queued" },
	{ "malicious and running: still waits", { M, R }, 2, FW_VERDICT_PENDING, NULL, FW_SETTLE_WAIT, 0, 0,
	  "is running" },
	{ "unjudgeable but a job runs: waits", { R }, 1, FW_VERDICT_PENDING, "no backend", FW_SETTLE_WAIT, 0, 0,
	  "is running" },
	{ "unjudgeable", { B }, 0, FW_VERDICT_PENDING, "the policy no longer sandboxes", FW_SETTLE_QUARANTINE,
	  FW_VERDICT_UNSCANNABLE, 0, "the sandbox jobs cannot be queued: the policy no longer sandboxes" },
	{ "unjudgeable over benign jobs", { B }, 1, FW_VERDICT_PENDING, "gone", FW_SETTLE_QUARANTINE,
	  FW_VERDICT_UNSCANNABLE, 1, "cannot be queued: gone" },
	{ "one failed", { F }, 1, FW_VERDICT_PENDING, NULL, FW_SETTLE_QUARANTINE, FW_VERDICT_UNSCANNABLE, 0,
	  "failed after 2 attempt(s): service down" },
	{ "benign and failed", { B, F }, 2, FW_VERDICT_PENDING, NULL, FW_SETTLE_QUARANTINE, FW_VERDICT_UNSCANNABLE,
	  1, "failed after" },
	{ "suspicious", { B, S }, 2, FW_VERDICT_PENDING, NULL, FW_SETTLE_QUARANTINE, FW_VERDICT_SUSPICIOUS, 1,
	  "judged m1 suspicious (score 50, job 2): packed" },
	{ "malicious beats failed", { F, M, S }, 3, FW_VERDICT_PENDING, NULL, FW_SETTLE_QUARANTINE,
	  FW_VERDICT_INFECTED, 1, "malicious (score 90" },
	{ "failed beats suspicious", { S, F }, 2, FW_VERDICT_PENDING, NULL, FW_SETTLE_QUARANTINE,
	  FW_VERDICT_UNSCANNABLE, 1, "failed after" },
	{ "first of equals", { M, M }, 2, FW_VERDICT_PENDING, NULL, FW_SETTLE_QUARANTINE, FW_VERDICT_INFECTED, 0,
	  "job 1)" },
	{ "done without a verdict", { B, DN }, 2, FW_VERDICT_PENDING, NULL, FW_SETTLE_QUARANTINE,
	  FW_VERDICT_UNSCANNABLE, 1, "done without a verdict" },
	{ "benign past a clean scan", { B }, 1, FW_VERDICT_CLEAN, NULL, FW_SETTLE_QUARANTINE, FW_VERDICT_UNSCANNABLE,
	  0, "not the scanner's clean one" },
	{ "benign past an infected scan", { B, B }, 2, FW_VERDICT_INFECTED, NULL, FW_SETTLE_QUARANTINE,
	  FW_VERDICT_UNSCANNABLE, 0, "not the scanner's clean one" },
	{ "malicious over a clean scan stays infected", { M }, 1, FW_VERDICT_CLEAN, NULL, FW_SETTLE_QUARANTINE,
	  FW_VERDICT_INFECTED, 0, "malicious" },
};

/* Links for specs: job i has id i + 1, member "m<i>", backend local. */
static void links_make(const struct job_spec *spec, size_t n, struct fw_sandbox_link *links)
{
	memset(links, 0, n * sizeof(*links));
	for (size_t i = 0; i < n; i++) {
		links[i].job.id = (int64_t)i + 1;
		links[i].job.state = spec[i].state;
		links[i].job.verdict = spec[i].verdict;
		links[i].job.score = spec[i].score;
		links[i].job.attempts = 2;
		memset(links[i].job.sha256, 'a' + (int)i, 64);
		links[i].job.backend = FW_SANDBOX_LOCAL;
		snprintf(links[i].member, sizeof(links[i].member), "m%zu", i);
		if (spec[i].state == FW_JOB_FAILED)
			snprintf(links[i].job.error, sizeof(links[i].job.error), "service down");
		if (spec[i].verdict == FW_JOB_SUSPICIOUS)
			snprintf(links[i].brief, sizeof(links[i].brief), "packed");
	}
}

static void test_cases(void **state)
{
	(void)state;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		const struct verdict_case *k = &cases[c];
		struct fw_sandbox_link links[MAX_JOBS];
		struct fw_sandbox_verdict_in in = { .links = links, .n = k->n, .scan = k->scan,
						    .unjudgeable = k->unjudgeable };
		struct fw_sandbox_decision d;

		links_make(k->jobs, k->n, links);
		fw_sandbox_verdict(&in, &d);
		if (d.kind != k->want_kind)
			fail_msg("%s: kind %d, not %d (%s)", k->name, d.kind, k->want_kind, d.reason);
		if ((d.kind == FW_SETTLE_APPROVE || d.kind == FW_SETTLE_QUARANTINE) &&
		    (d.verdict != k->want_verdict || d.worst != k->want_worst))
			fail_msg("%s: verdict %d worst %zu, not %d and %zu", k->name, d.verdict, d.worst,
				 k->want_verdict, k->want_worst);
		if (strstr(d.reason, k->want_reason) == NULL)
			fail_msg("%s: reason \"%s\" lacks \"%s\"", k->name, d.reason, k->want_reason);
		if (d.worst < k->n)
			assert_string_equal(d.worst_sha256, links[d.worst].job.sha256);
		else
			assert_string_equal(d.worst_sha256, "");
	}
}

static const struct job_spec all_jobs[] = { Q, R, F, B, S, M, DN };
#define N_ALL (sizeof(all_jobs) / sizeof(all_jobs[0]))
static const enum fw_verdict all_scans[] = { FW_VERDICT_CLEAN, FW_VERDICT_PENDING, FW_VERDICT_SUSPICIOUS,
					     FW_VERDICT_UNSCANNABLE, FW_VERDICT_INFECTED };

/* The invariants, for one set of jobs and a scan. */
static void check_invariants(const struct job_spec *spec, size_t n, enum fw_verdict scan, bool unjudgeable)
{
	struct fw_sandbox_link links[MAX_JOBS];
	struct fw_sandbox_verdict_in in = { .links = links, .n = n, .scan = scan,
					    .unjudgeable = unjudgeable ? "why" : NULL };
	struct fw_sandbox_decision d;
	bool unfinished = false, all_benign = n > 0;

	links_make(spec, n, links);
	for (size_t i = 0; i < n; i++) {
		unfinished |= spec[i].state == FW_JOB_QUEUED || spec[i].state == FW_JOB_RUNNING;
		all_benign &= spec[i].state == FW_JOB_DONE && spec[i].verdict == FW_JOB_BENIGN;
	}
	fw_sandbox_verdict(&in, &d);
	/* A job still to run: never decided. */
	assert_int_equal(d.kind == FW_SETTLE_WAIT, unfinished);
	/* Approve exactly when every job is done and benign, over the
	 * scanner's pending scan, and nothing says it cannot be judged. */
	assert_int_equal(d.kind == FW_SETTLE_APPROVE, all_benign && scan == FW_VERDICT_PENDING && !unjudgeable);
	if (d.kind == FW_SETTLE_APPROVE)
		assert_int_equal(d.verdict, FW_VERDICT_CLEAN);
	if (d.kind == FW_SETTLE_QUARANTINE)
		assert_true(d.verdict == FW_VERDICT_INFECTED || d.verdict == FW_VERDICT_SUSPICIOUS ||
			    d.verdict == FW_VERDICT_UNSCANNABLE);
	assert_int_equal(d.kind == FW_SETTLE_UNLINKED, n == 0 && !unjudgeable);
	assert_true(d.reason[0] != '\0');
}

static void test_exhaustive(void **state)
{
	struct job_spec two[2];

	(void)state;
	for (size_t s = 0; s < sizeof(all_scans) / sizeof(all_scans[0]); s++)
		for (int u = 0; u < 2; u++) {
			check_invariants(NULL, 0, all_scans[s], u);
			for (size_t a = 0; a < N_ALL; a++) {
				check_invariants(&all_jobs[a], 1, all_scans[s], u);
				for (size_t b = 0; b < N_ALL; b++) {
					two[0] = all_jobs[a];
					two[1] = all_jobs[b];
					check_invariants(two, 2, all_scans[s], u);
				}
			}
		}
}

static void test_vocabulary(void **state)
{
	enum fw_job_verdict v;
	enum fw_job_state s;

	(void)state;
	for (int i = FW_JOB_QUEUED; i <= FW_JOB_FAILED; i++) {
		assert_int_equal(fw_job_state_parse(fw_job_state_name((enum fw_job_state)i), &s), 0);
		assert_int_equal(s, i);
	}
	for (int i = FW_JOB_VERDICT_NONE; i <= FW_JOB_MALICIOUS; i++) {
		assert_int_equal(fw_job_verdict_parse(fw_job_verdict_name((enum fw_job_verdict)i), &v), 0);
		assert_int_equal(v, i);
	}
	assert_string_equal(fw_job_verdict_name(FW_JOB_MALICIOUS), "malicious");
	assert_string_equal(fw_job_state_name((enum fw_job_state)7), "unknown");
	assert_int_equal(fw_job_state_parse("done ", &s), -1);
	assert_int_equal(fw_job_verdict_parse("Malicious", &v), -1);
	/* Thresholds: at or over a threshold counts; a negative score is benign. */
	assert_int_equal(fw_sandbox_verdict_of_score(-1, 40, 80), FW_JOB_BENIGN);
	assert_int_equal(fw_sandbox_verdict_of_score(39, 40, 80), FW_JOB_BENIGN);
	assert_int_equal(fw_sandbox_verdict_of_score(40, 40, 80), FW_JOB_SUSPICIOUS);
	assert_int_equal(fw_sandbox_verdict_of_score(79, 40, 80), FW_JOB_SUSPICIOUS);
	assert_int_equal(fw_sandbox_verdict_of_score(80, 40, 80), FW_JOB_MALICIOUS);
	assert_int_equal(fw_sandbox_verdict_of_score(100, 40, 80), FW_JOB_MALICIOUS);
}

static void test_findings_brief(void **state)
{
	json_t *local = json_pack("{s:s, s:{s:[{s:s}, {s:s}, {s:i}]}}", "backend", "local", "analysis", "findings",
				  "kind", "packed", "kind", "overlay", "kind", 3);
	json_t *cape = json_pack("{s:[{s:s}]}", "signatures", "name", "injection");
	char out[64], tiny[10];

	(void)state;
	fw_sandbox_findings_brief(local, out, sizeof(out));
	assert_string_equal(out, "packed, overlay");
	fw_sandbox_findings_brief(local, tiny, sizeof(tiny));
	assert_string_equal(tiny, "packed"); /* cut at a whole name */
	fw_sandbox_findings_brief(cape, out, sizeof(out));
	assert_string_equal(out, "injection");
	fw_sandbox_findings_brief(NULL, out, sizeof(out));
	assert_string_equal(out, "");
	json_decref(local);
	json_decref(cape);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_exhaustive),
		cmocka_unit_test(test_vocabulary),
		cmocka_unit_test(test_findings_brief),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
