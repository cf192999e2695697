/* fwgate sandbox list | show | retry | analyze: the sandbox queue from the
 * command line. Holds no queue logic: store/ keeps the jobs and the
 * running gateway runs them; analyze is cmd_sandbox_analyze.c's. Parses,
 * prints and picks the exit code. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli_policy.h"
#include "cli/cli_store.h"
#include "fwgate/fileio.h"
#include "fwgate/policy.h"
#include "fwgate/store.h"

static int sandbox_list(struct fw_store *st, const struct cli_store_opts *o)
{
	struct fw_err err;
	json_t *list = NULL, *v;
	size_t i;
	int rc = CLI_OK;

	fw_err_clear(&err);
	if (fw_store_sandbox_list(st, &list, &err) != 0) {
		fprintf(stderr, "fwgate sandbox: %s\n", fw_err_msg(&err));
		return CLI_ERROR;
	}
	if (o->json) {
		rc = cli_print_json(list);
	} else {
		printf("%-6s %-8s %-8s %-15s %-10s %5s %4s  %-20s %s\n", "JOB", "STATE", "BACKEND", "TYPE", "VERDICT",
		       "SCORE", "TRY", "CREATED", "SHA-256 / ERROR");
		json_array_foreach(list, i, v) {
			printf("%-6lld %-8s %-8s %-15s %-10s %5lld %4lld  ",
			       (long long)json_integer_value(json_object_get(v, "id")), cli_json_str(v, "state"), cli_json_str(v, "backend"),
			       cli_json_str(v, "file_type"), cli_json_str(v, "verdict")[0] ? cli_json_str(v, "verdict") : "-",
			       (long long)json_integer_value(json_object_get(v, "score")),
			       (long long)json_integer_value(json_object_get(v, "attempts")));
			cli_print_time("", json_object_get(v, "created_at"));
			printf(" %s\n", cli_json_str(v, "sha256"));
			if (cli_json_str(v, "error")[0] != '\0')
				printf("%69s%s\n", "", cli_json_str(v, "error"));
		}
	}
	json_decref(list);
	return rc;
}

static int sandbox_show(struct fw_store *st, const struct cli_store_opts *o)
{
	struct fw_err err;
	json_t *doc = NULL;
	int64_t id;
	int rc;

	if (o->n_args != 2)
		return cli_usage_error("sandbox", "show needs one job id");
	rc = cli_parse_id("sandbox", o->args[1], &id);
	if (rc != CLI_OK)
		return rc;
	fw_err_clear(&err);
	rc = fw_store_sandbox_show(st, id, &doc, &err);
	if (rc != 0) {
		fprintf(stderr, "fwgate sandbox: %s\n", fw_err_msg(&err));
		return CLI_ERROR;
	}
	rc = cli_print_json(doc);
	json_decref(doc);
	return rc;
}

/* A retry only makes sense when something will run the job, on bytes
 * that are still there: refused otherwise, with the reason. */
static int sandbox_retry_possible(struct cli_ctx *ctx, struct fw_store *st, int64_t id)
{
	struct fw_sandbox_job job;
	struct fw_policy *pol = NULL;
	char dir[FW_PATH_MAX], path[FW_PATH_MAX];
	struct fw_err err;
	uint64_t size = 0;
	bool sandboxes;
	int rc, fd = -1;

	fw_err_clear(&err);
	rc = cli_load_policy(ctx->cfg, NULL, NULL, &pol);
	if (rc != CLI_OK)
		return rc;
	sandboxes = pol->sandboxing.enabled && ctx->cfg->sandbox.backend != FW_SANDBOX_NONE;
	fw_policy_free(pol);
	if (!sandboxes) {
		fprintf(stderr, "fwgate sandbox: the policy does not sandbox (or [sandbox] backend is none): "
			"nothing would run the job\n");
		return CLI_ERROR;
	}
	rc = fw_store_sandbox_get(st, id, &job, &err);
	if (rc <= 0) {
		fprintf(stderr, "fwgate sandbox: %s\n", rc < 0 ? fw_err_msg(&err) : "there is no such sandbox job");
		return CLI_ERROR;
	}
	if (fw_path_join(dir, sizeof(dir), ctx->cfg->state.dir, "samples", &err) == 0 &&
	    fw_path_join(path, sizeof(path), dir, job.sha256, &err) == 0 && access(path, R_OK) == 0)
		return CLI_OK;
	if (fw_store_open_any_blob(st, job.sha256, &fd, &size, &err) == 0) {
		close(fd);
		return CLI_OK;
	}
	fprintf(stderr, "fwgate sandbox: the bytes of job %lld (%s) are no longer kept (store gc removes the "
		"samples of finished jobs): fetch the package again to have it judged anew\n", (long long)id,
		job.sha256);
	return CLI_ERROR;
}

static int sandbox_retry(struct cli_ctx *ctx, struct fw_store *st, const struct cli_store_opts *o)
{
	struct fw_err err;
	unsigned reopened = 0;
	int64_t id;
	int rc;

	if (o->n_args != 2)
		return cli_usage_error("sandbox", "retry needs one job id");
	rc = cli_parse_id("sandbox", o->args[1], &id);
	if (rc != CLI_OK)
		return rc;
	rc = sandbox_retry_possible(ctx, st, id);
	if (rc != CLI_OK)
		return rc;
	fw_err_clear(&err);
	if (fw_store_sandbox_retry(st, id, cli_reviewer(o), &reopened, &err) != 0) {
		fprintf(stderr, "fwgate sandbox: %s\n", fw_err_msg(&err));
		return CLI_ERROR;
	}
	printf("sandbox job %lld queued again by %s; %u object(s) pending again (the running gateway picks it up)\n",
	       (long long)id, cli_reviewer(o), reopened);
	return CLI_OK;
}

/* analyze: files, not jobs; any number of them, --json only. */
static int sandbox_analyze_args(struct cli_ctx *ctx, int argc, char **argv)
{
	char **files = calloc((size_t)argc, sizeof(*files));
	bool json = false;
	int n = 0, rc;

	if (files == NULL)
		return CLI_ERROR;
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			json = true;
		} else if (cli_is_option(argv[i])) {
			free(files);
			return cli_usage_error("sandbox", "analyze takes no option \"%s\"", argv[i]);
		} else {
			files[n++] = argv[i];
		}
	}
	rc = cli_sandbox_analyze(ctx, files, n, json);
	free(files);
	return rc;
}

int cmd_sandbox(struct cli_ctx *ctx, int argc, char **argv)
{
	struct fw_store *st = NULL;
	struct cli_store_opts o;
	const char *sub;
	int rc;

	if (argc > 1 && strcmp(argv[1], "analyze") == 0)
		return sandbox_analyze_args(ctx, argc, argv);
	rc = cli_store_opts_parse("sandbox", argc, argv, &o);

	if (rc != CLI_OK)
		return rc;
	if (o.n_args == 0)
		return cli_usage_error("sandbox", "needs list, show, retry or analyze");
	sub = o.args[0];
	if (strcmp(sub, "list") != 0 && strcmp(sub, "show") != 0 && strcmp(sub, "retry") != 0)
		return cli_usage_error("sandbox", "unknown subcommand \"%s\"", sub);
	if (strcmp(sub, "list") == 0 && o.n_args != 1)
		return cli_usage_error("sandbox", "list takes no argument");
	rc = cli_store_opts_allow("sandbox", sub, &o, strcmp(sub, "list") == 0 ? CLI_OPT_JSON
					     : strcmp(sub, "retry") == 0 ? CLI_OPT_AS : 0);
	if (rc != CLI_OK)
		return rc;
	rc = cli_store_open(ctx, "sandbox", &st);
	if (rc != CLI_OK)
		return rc;
	if (strcmp(sub, "list") == 0)
		rc = sandbox_list(st, &o);
	else if (strcmp(sub, "show") == 0)
		rc = sandbox_show(st, &o);
	else
		rc = sandbox_retry(ctx, st, &o);
	fw_store_close(st);
	return rc;
}
