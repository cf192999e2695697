/* fwgate proxyuser add|passwd|remove|list: the appliance's proxy
 * credentials ([proxy] auth = basic), in <state>/proxy-users (cli_users.c
 * does the work). */
#include "cli/cli_users.h"

int cmd_proxyuser(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct cli_users kind = { .cmd = "proxyuser", .what = "new proxy password",
					       .change = fw_proxy_user_change, .list = fw_proxy_user_list };

	return cli_users(ctx, &kind, argc, argv);
}
