/* fwgate quarantine list | show | release | reject: staff review of what
 * the gateway holds back, from the command line. Holds no store logic:
 * store/ decides and records; this file parses, prints and picks the exit
 * code. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_store.h"
#include "fwgate/store.h"

static int quarantine_list(struct fw_store *st, const struct cli_store_opts *o)
{
	struct fw_err err;
	json_t *list = NULL, *v;
	size_t i;
	int rc;

	fw_err_clear(&err);
	if (fw_store_quarantine_list(st, &list, &err) != 0) {
		fprintf(stderr, "fwgate quarantine: %s\n", fw_err_msg(&err));
		return CLI_ERROR;
	}
	if (o->json) {
		rc = cli_print_json(list);
	} else {
		printf("%-6s %-12s %-12s %12s  %-20s %s\n", "ID", "STATE", "VERDICT", "SIZE", "FIRST SEEN", "URL / REASON");
		json_array_foreach(list, i, v) {
			printf("%-6lld %-12s %-12s %12lld  ", (long long)json_integer_value(json_object_get(v, "id")),
			       cli_json_str(v, "state"), cli_json_str(v, "verdict"), (long long)json_integer_value(json_object_get(v, "size")));
			cli_print_time("", json_object_get(v, "first_seen"));
			printf(" %s\n%63s%s\n", cli_json_str(v, "url"), "", cli_json_str(v, "reason"));
		}
		rc = CLI_OK;
	}
	json_decref(list);
	return rc;
}

static int quarantine_show(struct fw_store *st, const struct cli_store_opts *o)
{
	struct fw_err err;
	json_t *doc = NULL;
	int64_t id;
	int rc;

	if (o->n_args != 2)
		return cli_usage_error("quarantine", "show needs one object id");
	rc = cli_parse_id("quarantine", o->args[1], &id);
	if (rc != CLI_OK)
		return rc;
	fw_err_clear(&err);
	rc = fw_store_object_show(st, id, &doc, &err);
	if (rc < 0) {
		fprintf(stderr, "fwgate quarantine: %s\n", fw_err_msg(&err));
		return CLI_ERROR;
	}
	if (rc == 1) {
		fprintf(stderr, "fwgate quarantine: no object %lld\n", (long long)id);
		return CLI_ERROR;
	}
	/* The whole record: members, signatures, reasons, scans, audit. */
	rc = cli_print_json(doc);
	json_decref(doc);
	return rc;
}

static int quarantine_decide(struct fw_store *st, const struct cli_store_opts *o, bool release)
{
	struct fw_err err;
	int64_t id;
	int rc;

	if (o->n_args != 2)
		return cli_usage_error("quarantine", "%s needs one object id", release ? "release" : "reject");
	if (o->reason == NULL || o->reason[0] == '\0')
		return cli_usage_error("quarantine", "%s needs --reason TEXT", release ? "release" : "reject");
	rc = cli_parse_id("quarantine", o->args[1], &id);
	if (rc != CLI_OK)
		return rc;
	fw_err_clear(&err);
	rc = release ? fw_store_release(st, id, o->reason, cli_reviewer(o), o->override_infected, &err)
		     : fw_store_reject(st, id, o->reason, cli_reviewer(o), &err);
	if (rc != 0) {
		fprintf(stderr, "fwgate quarantine: %s\n", fw_err_msg(&err));
		return CLI_ERROR;
	}
	printf("object %lld %s by %s: %s\n", (long long)id, release ? "released" : "rejected", cli_reviewer(o), o->reason);
	return CLI_OK;
}

int cmd_quarantine(struct cli_ctx *ctx, int argc, char **argv)
{
	struct fw_store *st = NULL;
	struct cli_store_opts o;
	const char *sub;
	int rc = cli_store_opts_parse("quarantine", argc, argv, &o);

	if (rc != CLI_OK)
		return rc;
	if (o.n_args == 0)
		return cli_usage_error("quarantine", "needs list, show, release or reject");
	sub = o.args[0];
	if (strcmp(sub, "list") != 0 && strcmp(sub, "show") != 0 && strcmp(sub, "release") != 0 &&
	    strcmp(sub, "reject") != 0)
		return cli_usage_error("quarantine", "unknown subcommand \"%s\"", sub);
	rc = cli_store_open(ctx, "quarantine", &st);
	if (rc != CLI_OK)
		return rc;
	if (strcmp(sub, "list") == 0)
		rc = quarantine_list(st, &o);
	else if (strcmp(sub, "show") == 0)
		rc = quarantine_show(st, &o);
	else
		rc = quarantine_decide(st, &o, strcmp(sub, "release") == 0);
	fw_store_close(st);
	return rc;
}
