/* fwgate config check: loads the configuration and its policy, refuses
 * what `fwgate run` would refuse at start, prints the effective values.
 * The checks are common/config.c's and the sandbox's. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_policy.h"
#include "fwgate/err.h"
#include "fwgate/policy.h"
#include "fwgate/sandbox.h"

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
