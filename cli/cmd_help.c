/* fwgate help [COMMAND]: the command table main.c hands over in the
 * context, one line per command or one command's usage text. Reads the
 * table; calls no command. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "fwgate_build.h"

int cmd_help(struct cli_ctx *ctx, int argc, char **argv)
{
	const struct cli_cmd *cmd;

	if (argc > 2)
		return cli_usage_error("help", "takes at most one COMMAND");
	if (argc == 2) {
		if (cli_is_option(argv[1]))
			return cli_usage_error("help", "unknown option \"%s\"", argv[1]);
		cmd = cli_find(ctx->cmds, argv[1]);
		if (cmd == NULL)
			return cli_usage_error("help", "unknown command \"%s\"", argv[1]);
		fputs(cmd->usage, stdout);
		return CLI_OK;
	}
	printf("fwgate %s: firmware supply-chain inspection gateway\n\n"
	       "usage: fwgate COMMAND [ARGS] [-c FILE]\n\ncommands:\n", FWGATE_VERSION);
	for (cmd = ctx->cmds; cmd->name != NULL; cmd++)
		printf("  %-10s %s\n", cmd->name, cmd->summary);
	printf("\nEvery command takes -c FILE (the fwgate.conf to use) anywhere among its\n"
	       "arguments; without it, the embedded default applies.\n"
	       "Exit codes: 0 success or clean, 1 blocked, infected or quarantined,\n"
	       "2 usage or operational error. `fwgate help COMMAND` details one command.\n");
	return CLI_OK;
}
