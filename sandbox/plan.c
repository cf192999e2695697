/* The plan of a pending commit: which members of a verdict document the
 * sandbox judges, with which backend, reusing verdicts younger than the
 * TTL. Pure over the document and the queue's settings; a leaf. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sandbox/sandbox_int.h"

int fw_sandbox_plan(const struct fw_sandbox *sb, const json_t *doc, struct fw_sandbox_plan *plan,
		    struct fw_err *err)
{
	uint64_t ttl = sb->d.cfg->sandbox.verdict_ttl_seconds;
	int64_t now = (int64_t)time(NULL);
	const json_t *list = json_object_get(doc, "sandbox"), *m;
	size_t i, n = json_array_size(list);

	memset(plan, 0, sizeof(*plan));
	if (sb->types == 0)
		return fw_err_set(err, "the policy does not sandbox: nothing would judge these members");
	if (!json_is_array(list) || n == 0)
		return fw_err_set(err, "the scan lists no member for the sandbox");
	plan->members = calloc(n, sizeof(*plan->members));
	if (plan->members == NULL)
		return fw_err_set(err, "out of memory");
	json_array_foreach(list, i, m) {
		plan->members[i] = (struct fw_sandbox_member){
			.path = json_string_value(json_object_get(m, "path")),
			.sha256 = json_string_value(json_object_get(m, "sha256")),
			.file_type = json_string_value(json_object_get(m, "file_type")),
		};
		if (plan->members[i].path == NULL || plan->members[i].sha256 == NULL ||
		    plan->members[i].file_type == NULL) {
			fw_sandbox_plan_free(plan);
			return fw_err_set(err, "the scan lists a sandbox member without its path, hash or type");
		}
	}
	plan->n = n;
	plan->backend = sb->backend;
	/* ttl 0: nothing is reused. */
	plan->reuse_since = ttl == 0 ? now + 1 : now - (int64_t)ttl;
	return 0;
}

void fw_sandbox_plan_free(struct fw_sandbox_plan *plan)
{
	free(plan->members);
	memset(plan, 0, sizeof(*plan));
}

