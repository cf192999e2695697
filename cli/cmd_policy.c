/* fwgate policy check and fwgate config check: load, report every error,
 * print the effective result. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_policy.h"
#include "fwgate/policy.h"
#include "fwgate/sandbox.h"

int cli_load_policy(const struct fw_config *cfg, const char *file, const char *rule,
		    struct fw_policy **out)
{
	struct fw_errlist *errs = calloc(1, sizeof(*errs));
	const char *path = file != NULL ? file : cfg->policy.file;

	*out = NULL;
	if (errs == NULL) {
		fprintf(stderr, "fwgate: out of memory\n");
		return CLI_ERROR;
	}
	if (rule == NULL)
		rule = cfg->policy.rule;
	if (path[0] == '\0')
		*out = fw_policy_load_embedded(rule, errs);
	else
		*out = fw_policy_load(path, rule, errs);
	if (*out == NULL) {
		const char *src = path[0] ? path : "embedded default policy";

		for (size_t i = 0; i < errs->n; i++) {
			/* A problem at a JSON path inside the card gets the card's
			 * name in front; the others name the file themselves. */
			if (fw_err_code(&errs->items[i]) == FW_E_CONFIG)
				fprintf(stderr, "fwgate: %s: %s\n", src, fw_err_msg(&errs->items[i]));
			else
				fprintf(stderr, "fwgate: %s\n", fw_err_msg(&errs->items[i]));
		}
		if (errs->dropped > 0)
			fprintf(stderr, "fwgate: %s: %zu more errors not shown\n", src, errs->dropped);
	}
	free(errs);
	return *out != NULL ? CLI_OK : CLI_ERROR;
}

int cmd_policy(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *file = NULL, *rule = NULL;
	struct fw_policy *pol = NULL;
	bool json = false;
	int rc;

	if (argc < 2)
		return cli_usage_error("policy", "needs a subcommand (check)");
	if (strcmp(argv[1], "check") != 0)
		return cli_usage_error("policy", "unknown subcommand \"%s\"", argv[1]);
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--rule") == 0) {
			if (i + 1 >= argc)
				return cli_usage_error("policy", "--rule needs an APP_ID");
			rule = argv[++i];
		} else if (strncmp(argv[i], "--rule=", 7) == 0) {
			rule = argv[i] + 7;
		} else if (strcmp(argv[i], "--json") == 0) {
			json = true;
		} else if (strcmp(argv[i], "--") == 0 && i + 1 < argc && file == NULL) {
			file = argv[++i];
		} else if (cli_is_option(argv[i])) {
			return cli_usage_error("policy", "unknown option \"%s\"", argv[i]);
		} else if (file != NULL) {
			return cli_usage_error("policy", "takes one FILE");
		} else {
			file = argv[i];
		}
	}
	if (rule != NULL && rule[0] == '\0')
		return cli_usage_error("policy", "--rule needs an APP_ID");
	rc = cli_load_config(ctx);
	if (rc != CLI_OK)
		return rc;
	rc = cli_load_policy(ctx->cfg, file, rule, &pol);
	if (rc != CLI_OK)
		return rc;
	if (json ? fw_policy_print_json(pol, stdout) : (fw_policy_print(pol, stdout), 0)) {
		fprintf(stderr, "fwgate policy: cannot print the policy\n");
		rc = CLI_ERROR;
	}
	fw_policy_free(pol);
	return rc;
}

int cmd_config(struct cli_ctx *ctx, int argc, char **argv)
{
	struct fw_policy *pol = NULL;
	struct fw_err err;
	int rc;

	if (argc < 2)
		return cli_usage_error("config", "needs a subcommand (check)");
	if (strcmp(argv[1], "check") != 0)
		return cli_usage_error("config", "unknown subcommand \"%s\"", argv[1]);
	if (argc > 2)
		return cli_is_option(argv[2]) ? cli_usage_error("config", "unknown option \"%s\"", argv[2])
					      : cli_usage_error("config", "check takes no arguments");
	rc = cli_load_config(ctx);
	if (rc != CLI_OK)
		return rc;
	rc = cli_load_policy(ctx->cfg, NULL, NULL, &pol);
	if (rc != CLI_OK)
		return rc;
	/* What `fwgate run` would refuse at start, refused here too. */
	fw_err_clear(&err);
	if (fw_sandbox_check(ctx->cfg, pol, &err) != 0) {
		fprintf(stderr, "fwgate config: %s\n", fw_err_msg(&err));
		fw_policy_free(pol);
		return CLI_ERROR;
	}
	fw_config_dump(ctx->cfg, stdout);
	fw_policy_free(pol);
	return CLI_OK;
}
