/* The users-file commands shared by fwgate proxyuser and fwgate mirror
 * user (cli_users.c). */
#ifndef FWGATE_CLI_USERS_H
#define FWGATE_CLI_USERS_H

#include "cli/cli.h"
#include "fwgate/proxy.h"

struct cli_users {
	const char *cmd;      /* "proxyuser", "mirror user" */
	const char *what;     /* the prompt: "new proxy password" */
	int (*change)(const char *state_dir, const char *name, const char *password, size_t len,
		      enum fw_proxy_user_op op, struct fw_err *err);
	int (*list)(const char *state_dir, void (*each)(void *arg, const char *name), void *arg, struct fw_err *err);
};

/* argv[0] is the command's own word, argv[1] the subcommand. */
int cli_users(struct cli_ctx *ctx, const struct cli_users *kind, int argc, char **argv);

#endif
