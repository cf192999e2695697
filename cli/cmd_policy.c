/* fwgate policy check: loads a rule card, reports every error, prints the
 * effective policy of one rule (for people or --json). The checks are
 * common/policy.c's. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_policy.h"
#include "fwgate/policy.h"

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
