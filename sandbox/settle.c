/* Settling packages: once a job ends, every pending package waiting on it
 * is settled by the store, which applies fw_sandbox_verdict() to the job
 * records it holds in its transaction; the queue reports the decision,
 * links again a package that lost its links, and holds for review one that
 * can never be judged. Must not judge here: the verdict is verdict.c's. */
#include <stdio.h>
#include <stdlib.h>

#include "sandbox/sandbox_int.h"

#define WAITING_BATCH 256

static void settle_report(struct fw_sandbox *sb, int64_t object_id, const struct fw_sandbox_decision *d,
			  enum fw_object_state state, const char *sha256)
{
	sandbox_event(sb, "sandbox-verdict", state == FW_OBJ_APPROVED ? FW_OUTCOME_SUCCESS : FW_OUTCOME_FAILURE, sha256,
		      fw_verdict_name(d->verdict), d->reason, 0, object_id);
	sandbox_broadcast(sb, &sb->settled);
}

/* A pending object that cannot be linked to its jobs can never be judged:
 * held for review (unscannable), never left pending. */
static void settle_unjudgeable(struct fw_sandbox *sb, int64_t object_id, const struct fw_err *why)
{
	struct fw_sandbox_decision d;
	enum fw_object_state state;
	bool changed = false;
	struct fw_err err;

	fw_err_clear(&err);
	if (fw_store_settle(sb->d.store, object_id, fw_err_msg(why), &d, &state, &changed, &err) != 0)
		sandbox_event(sb, "sandbox-error", FW_OUTCOME_FAILURE, NULL, NULL, fw_err_msg(&err), 0, object_id);
	else if (changed)
		settle_report(sb, object_id, &d, state, NULL);
}

/* Links a pending object without links from doc (its latest scan). A
 * document that names no usable member is final: held for review. A
 * store error is not: the object stays pending for the next sweep. */
static void link_from_doc(struct fw_sandbox *sb, int64_t object_id, const json_t *doc)
{
	struct fw_sandbox_plan plan;
	struct fw_err err;
	unsigned created = 0;

	fw_err_clear(&err);
	/* Which failure is final is known structurally: the plan and the
	 * members' check fail on the members themselves (FW_E_INVALID, once
	 * common/err has codes); the attach after them only on the store
	 * (FW_E_IO or FW_E_BUSY: the next sweep tries again). */
	if (fw_sandbox_plan(sb, doc, &plan, &err) != 0) {
		settle_unjudgeable(sb, object_id, &err);
		return;
	}
	if (fw_store_sandbox_members_check(plan.members, plan.n, plan.backend, &err) != 0)
		settle_unjudgeable(sb, object_id, &err);
	else if (fw_store_sandbox_attach(sb->d.store, object_id, plan.members, plan.n, plan.backend,
					 plan.reuse_since, NULL, &created, &err) != 0)
		sandbox_event(sb, "sandbox-error", FW_OUTCOME_FAILURE, NULL, NULL, fw_err_msg(&err), 0, object_id);
	else if (created > 0)
		sandbox_broadcast(sb, &sb->work);
	fw_sandbox_plan_free(&plan);
}

static void relink_object(struct fw_sandbox *sb, int64_t object_id)
{
	struct fw_err err;
	json_t *doc = NULL;

	fw_err_clear(&err);
	if (fw_store_latest_doc(sb->d.store, object_id, &doc, &err) != 0) {
		sandbox_event(sb, "sandbox-error", FW_OUTCOME_FAILURE, NULL, NULL, fw_err_msg(&err), 0, object_id);
		return;
	}
	link_from_doc(sb, object_id, doc);
	json_decref(doc);
}

void sandbox_settle_object(struct fw_sandbox *sb, int64_t object_id)
{
	struct fw_sandbox_decision d;
	enum fw_object_state state;
	bool changed = false;
	struct fw_err err;

	fw_err_clear(&err);
	if (fw_store_settle(sb->d.store, object_id, NULL, &d, &state, &changed, &err) != 0) {
		sandbox_event(sb, "sandbox-error", FW_OUTCOME_FAILURE, NULL, NULL, fw_err_msg(&err), 0, object_id);
		return;
	}
	if (!changed) {
		/* Pending with nothing linked (an anomaly: commits link): linked
		 * again from its scan, or held for review when it cannot be.
		 * Otherwise decided before (by another runner, or staff), or a
		 * job of it runs again (a retry) and settles it when done. */
		if (state == FW_OBJ_PENDING && d.kind == FW_SETTLE_UNLINKED)
			relink_object(sb, object_id);
		return;
	}
	settle_report(sb, object_id, &d, state, d.worst_sha256[0] ? d.worst_sha256 : NULL);
}

void sandbox_settle_waiting(struct fw_sandbox *sb, int64_t job_id)
{
	int64_t *ids = calloc(WAITING_BATCH, sizeof(*ids)), first = -1;
	struct fw_err err;
	size_t n = 0;

	fw_err_clear(&err);
	if (ids == NULL)
		return;
	/* In batches: settled objects leave the list (they are no longer
	 * pending). A batch that starts where the last one did settled none
	 * (all still wait on other jobs): their own jobs settle them later. */
	for (;;) {
		if (fw_store_sandbox_waiting(sb->d.store, job_id, ids, WAITING_BATCH, &n, &err) != 0) {
			sandbox_event(sb, "sandbox-error", FW_OUTCOME_FAILURE, NULL, NULL, fw_err_msg(&err), job_id, 0);
			break;
		}
		if (n == 0 || ids[0] == first)
			break;
		first = ids[0];
		for (size_t i = 0; i < n; i++)
			sandbox_settle_object(sb, ids[i]);
		if (n < WAITING_BATCH)
			break;
	}
	free(ids);
}

int sandbox_resume_pending(struct fw_sandbox *sb, struct fw_err *err)
{
	json_t *pending = NULL, *p;
	size_t i;

	if (fw_store_pending_docs(sb->d.store, &pending, err) != 0)
		return -1;
	json_array_foreach(pending, i, p) {
		int64_t id = json_integer_value(json_object_get(p, "id"));
		struct fw_sandbox_link *links = NULL;
		struct fw_err e2;
		size_t n = 1;

		fw_err_clear(&e2);
		if (sb->types == 0) {
			fw_err_set(&e2, "the policy no longer sandboxes: nothing will judge it");
			settle_unjudgeable(sb, id, &e2);
			continue;
		}
		if (fw_store_sandbox_links(sb->d.store, id, &links, &n, &e2) == 0 && n == 0)
			link_from_doc(sb, id, json_object_get(p, "doc"));
		free(links);
		sandbox_settle_object(sb, id);
	}
	json_decref(pending);
	return 0;
}
