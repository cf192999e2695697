/* Staff decisions from the console, shared by the pages and the API: the
 * role a decision needs (a viewer decides nothing; a reviewer releases,
 * rejects, withdraws and retries; the override of an infected verdict is
 * made by an admin when it takes effect), then the store's one review
 * path (fw_store_review_*), which checks everything else: four eyes, the
 * life-cycle table, the audit row. */
#include <stdio.h>
#include <string.h>

#include "console/console_int.h"

static unsigned status_of(const struct fw_err *err)
{
	switch (fw_err_code(err)) {
	case FW_E_DENIED:
		return 403;
	case FW_E_NOTFOUND:
		return 404;
	case FW_E_INVALID:
	case FW_E_LIMIT:
		return 400;
	case FW_E_BUSY:
	case FW_E_IO:
	case FW_E_NOMEM:
	case FW_E_TIMEOUT:
		return 503;
	default:
		return 409;
	}
}

/* Whether another reviewer's release request is open on the object (the
 * call that would confirm it). */
static int request_open_by_other(struct creq *r, bool *other, struct fw_err *err)
{
	json_t *list = NULL, *v;
	size_t i;

	*other = false;
	if (fw_store_review_pending(r->c->d.store, &list, err) != 0)
		return -1;
	json_array_foreach(list, i, v) {
		if (jint(v, "object_id") == r->id && strcmp(jstr(v, "requested_by"), r->who) != 0)
			*other = true;
	}
	json_decref(list);
	return 0;
}

static unsigned review_release(struct creq *r, const char *reason, bool override, char *msg, size_t len)
{
	const struct fw_config *cfg = r->c->d.cfg;
	enum fw_release_outcome outcome;
	struct fw_err err;
	bool confirming = !cfg->console.four_eyes;

	fw_err_clear(&err);
	if (override && cfg->console.four_eyes && request_open_by_other(r, &confirming, &err) != 0) {
		snprintf(msg, len, "%s", fw_err_msg(&err));
		return 503;
	}
	if (override && confirming && r->role < FW_ROLE_ADMIN) {
		snprintf(msg, len, "releasing an object with an infected verdict takes effect only by an admin: "
			 "%s is a %s", r->who, fw_role_name(r->role));
		return 403;
	}
	if (fw_store_review_release(r->c->d.store, r->id, reason, r->who, r->via, override, cfg->console.four_eyes,
				    &outcome, &err) != 0) {
		snprintf(msg, len, "%s", fw_err_msg(&err));
		return status_of(&err);
	}
	if (outcome == FW_RELEASE_REQUESTED)
		snprintf(msg, len, "Release of object %lld requested by %s: a second reviewer must confirm it.",
			 (long long)r->id, r->who);
	else
		snprintf(msg, len, "Object %lld released by %s.", (long long)r->id, r->who);
	return 200;
}

unsigned review_act(struct creq *r, const char *action, const char *reason, bool override, char *msg, size_t len)
{
	struct fw_err err;

	fw_err_clear(&err);
	if (r->role < FW_ROLE_REVIEWER) {
		snprintf(msg, len, "%s is a %s: only reviewers and admins may %s", r->who, fw_role_name(r->role), action);
		return 403;
	}
	if (strcmp(action, "cancel") != 0 && (reason == NULL || reason[0] == '\0')) {
		snprintf(msg, len, "a %s needs a reason", action);
		return 400;
	}
	if (reason != NULL && strlen(reason) >= FW_ERR_MSG_MAX) {
		snprintf(msg, len, "a reason has at most %d characters", FW_ERR_MSG_MAX - 1);
		return 400;
	}
	if (strcmp(action, "release") == 0)
		return review_release(r, reason, override, msg, len);
	if (strcmp(action, "reject") == 0) {
		if (fw_store_review_reject(r->c->d.store, r->id, reason, r->who, r->via, &err) != 0) {
			snprintf(msg, len, "%s", fw_err_msg(&err));
			return status_of(&err);
		}
		snprintf(msg, len, "Object %lld rejected by %s.", (long long)r->id, r->who);
		return 200;
	}
	if (strcmp(action, "cancel") == 0) {
		if (fw_store_review_cancel(r->c->d.store, r->id, r->who, r->via, &err) != 0) {
			snprintf(msg, len, "%s", fw_err_msg(&err));
			return status_of(&err);
		}
		snprintf(msg, len, "The release request on object %lld was withdrawn by %s.", (long long)r->id, r->who);
		return 200;
	}
	snprintf(msg, len, "no such action");
	return 404;
}

unsigned sandbox_retry_act(struct creq *r, char *msg, size_t len)
{
	char who[FW_ACCOUNT_NAME_MAX + FW_SOURCE_MAX + 32];
	unsigned reopened = 0;
	struct fw_err err;

	fw_err_clear(&err);
	if (r->role < FW_ROLE_REVIEWER) {
		snprintf(msg, len, "%s is a %s: only reviewers and admins may retry a sandbox job", r->who,
			 fw_role_name(r->role));
		return 403;
	}
	snprintf(who, sizeof(who), "%s (%s)", r->who, r->via);
	if (fw_store_sandbox_retry(r->c->d.store, r->id, who, &reopened, &err) != 0) {
		snprintf(msg, len, "%s", fw_err_msg(&err));
		return status_of(&err);
	}
	snprintf(msg, len, "Sandbox job %lld queued again by %s; %u package(s) are judged again.", (long long)r->id,
		 r->who, reopened);
	return 200;
}
