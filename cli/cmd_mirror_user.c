/* fwgate mirror user add|passwd|remove|list GROUP: the mirror's BMC
 * groups ([mirror] auth = basic), in <state>/mirror-users; the
 * credentials a Redfish SimpleUpdate passes to the BMC (Username,
 * Password) to pull from the mirror (cli_users.c does the work). */
#include "cli/cli_users.h"

int cmd_mirror_user(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct cli_users kind = { .cmd = "mirror user", .what = "new mirror password for the BMC group",
					       .change = fw_mirror_user_change, .list = fw_mirror_user_list };

	return cli_users(ctx, &kind, argc, argv);
}
