/* fwgate quarantine release | reject | cancel: staff decisions from the
 * command line, through the store's one review path (four eyes as [console]
 * four_eyes says): who is --as or the login name, via "cli". Says in words
 * (or JSON) what happened: released, a request recorded that a second
 * reviewer must confirm, rejected, a request withdrawn. Holds no store
 * logic. */
#include <stdio.h>
#include <string.h>

#include "cli/cli_quarantine.h"

#define REVIEW_VIA "cli"

/* The outcome as one JSON record (--json). */
static int review_print_json(int64_t id, const char *outcome, const char *who, const char *reason)
{
	json_t *doc = json_pack("{s:I, s:s, s:s, s:s?}", "object_id", (json_int_t)id, "outcome", outcome, "by", who,
				"reason", reason);
	int rc;

	if (doc == NULL)
		return CLI_ERROR;
	rc = cli_print_json(doc);
	json_decref(doc);
	return rc;
}

static int review_release(struct fw_store *st, const struct cli_store_opts *o, int64_t id, bool four_eyes)
{
	enum fw_release_outcome outcome = FW_RELEASE_DONE;
	const char *who = cli_reviewer(o);
	struct fw_err err;

	fw_err_clear(&err);
	if (fw_store_review_release(st, id, o->reason, who, REVIEW_VIA, o->override_infected, four_eyes, &outcome,
				    &err) != 0) {
		fprintf(stderr, "fwgate quarantine: %s\n", fw_err_msg(&err));
		return CLI_ERROR;
	}
	if (o->json)
		return review_print_json(id, outcome == FW_RELEASE_DONE ? "released" : "requested", who, o->reason);
	if (outcome == FW_RELEASE_DONE)
		printf("object %lld released by %s: %s\n", (long long)id, who, o->reason);
	else
		printf("release of object %lld requested by %s: a second reviewer must confirm it with fwgate quarantine "
		       "release %lld --as OTHER --reason TEXT%s (or withdraw it: fwgate quarantine cancel %lld)\n",
		       (long long)id, who, (long long)id, o->override_infected ? " --override-infected" : "",
		       (long long)id);
	return CLI_OK;
}

int cli_quarantine_decide(struct fw_store *st, const struct cli_store_opts *o, bool four_eyes)
{
	const char *sub = o->args[0], *who = cli_reviewer(o);
	struct fw_err err;
	int64_t id;
	int rc;

	if (o->n_args != 2)
		return cli_usage_error("quarantine", "%s needs one object id", sub);
	if (strcmp(sub, "cancel") != 0 && (o->reason == NULL || o->reason[0] == '\0'))
		return cli_usage_error("quarantine", "%s needs --reason TEXT", sub);
	rc = cli_parse_id("quarantine", o->args[1], &id);
	if (rc != CLI_OK)
		return rc;
	if (strcmp(sub, "release") == 0)
		return review_release(st, o, id, four_eyes);
	fw_err_clear(&err);
	rc = strcmp(sub, "reject") == 0 ? fw_store_review_reject(st, id, o->reason, who, REVIEW_VIA, &err)
					: fw_store_review_cancel(st, id, who, REVIEW_VIA, &err);
	if (rc != 0) {
		fprintf(stderr, "fwgate quarantine: %s\n", fw_err_msg(&err));
		return CLI_ERROR;
	}
	if (o->json)
		return review_print_json(id, strcmp(sub, "reject") == 0 ? "rejected" : "cancelled", who, o->reason);
	if (strcmp(sub, "reject") == 0)
		printf("object %lld rejected by %s: %s\n", (long long)id, who, o->reason);
	else
		printf("the release request of object %lld is withdrawn by %s\n", (long long)id, who);
	return CLI_OK;
}
