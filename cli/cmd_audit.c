/* fwgate audit list | verify: the append-only audit chain, printed or
 * recomputed by store/. Parses, prints and picks the exit code. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_store.h"
#include "fwgate/store.h"

static int audit_list(struct fw_store *st, const struct cli_store_opts *o)
{
	struct fw_err err;
	json_t *list = NULL, *v;
	size_t i;
	int rc = CLI_OK;

	fw_err_clear(&err);
	if (fw_store_audit_list(st, &list, &err) != 0) {
		fprintf(stderr, "fwgate audit: %s\n", fw_err_msg(&err));
		return CLI_ERROR;
	}
	if (o->json) {
		rc = cli_print_json(list);
	} else {
		json_array_foreach(list, i, v) {
			printf("%-6lld ", (long long)json_integer_value(json_object_get(v, "id")));
			cli_print_time("", json_object_get(v, "time"));
			printf(" %-18s %-12s object %-6lld %s\n", cli_json_str(v, "action"), cli_json_str(v, "who"),
			       (long long)json_integer_value(json_object_get(v, "object_id")), cli_json_str(v, "detail"));
		}
	}
	json_decref(list);
	return rc;
}

int cmd_audit(struct cli_ctx *ctx, int argc, char **argv)
{
	struct fw_store *st = NULL;
	struct cli_store_opts o;
	struct fw_err err;
	int64_t bad = 0;
	int rc = cli_store_opts_parse("audit", argc, argv, &o);

	if (rc != CLI_OK)
		return rc;
	if (o.n_args != 1 || (strcmp(o.args[0], "list") != 0 && strcmp(o.args[0], "verify") != 0))
		return cli_usage_error("audit", "needs list or verify");
	rc = cli_store_opts_allow("audit", o.args[0], &o, strcmp(o.args[0], "list") == 0 ? CLI_OPT_JSON : 0);
	if (rc != CLI_OK)
		return rc;
	rc = cli_store_open(ctx, "audit", &st);
	if (rc != CLI_OK)
		return rc;
	fw_err_clear(&err);
	if (strcmp(o.args[0], "list") == 0) {
		rc = audit_list(st, &o);
	} else {
		rc = fw_store_audit_verify(st, &bad, &err);
		if (rc == 0) {
			printf("audit chain intact\n");
			rc = CLI_OK;
		} else if (rc == 1) {
			printf("audit chain broken at row %lld: %s\n", (long long)bad, fw_err_msg(&err));
			rc = CLI_BLOCKED;
		} else {
			fprintf(stderr, "fwgate audit: %s\n", fw_err_msg(&err));
			rc = CLI_ERROR;
		}
	}
	fw_store_close(st);
	return rc;
}
