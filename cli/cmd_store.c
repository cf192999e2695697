/* fwgate store verify | gc: the vetted store's blobs re-hashed against
 * their records, or unreferenced ones removed; store/ does both. Parses,
 * prints and picks the exit code. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_store.h"
#include "fwgate/store.h"

int cmd_store(struct cli_ctx *ctx, int argc, char **argv)
{
	struct fw_store *st = NULL;
	struct cli_store_opts o;
	struct fw_err err;
	unsigned n = 0;
	int rc = cli_store_opts_parse("store", argc, argv, &o);

	if (rc != CLI_OK)
		return rc;
	if (o.n_args != 1 || (strcmp(o.args[0], "verify") != 0 && strcmp(o.args[0], "gc") != 0))
		return cli_usage_error("store", "needs verify or gc");
	rc = cli_store_opts_allow("store", o.args[0], &o, 0);
	if (rc != CLI_OK)
		return rc;
	rc = cli_store_open(ctx, "store", &st);
	if (rc != CLI_OK)
		return rc;
	fw_err_clear(&err);
	if (strcmp(o.args[0], "verify") == 0) {
		if (fw_store_verify(st, stdout, &n, &err) != 0) {
			fprintf(stderr, "fwgate store: %s\n", fw_err_msg(&err));
			rc = CLI_ERROR;
		} else {
			printf("%u problem(s) found\n", n);
			rc = n == 0 ? CLI_OK : CLI_BLOCKED;
		}
	} else if (fw_store_gc(st, &n, &err) != 0) {
		fprintf(stderr, "fwgate store: %s\n", fw_err_msg(&err));
		rc = CLI_ERROR;
	} else {
		printf("%u unreferenced file(s) removed\n", n);
	}
	fw_store_close(st);
	return rc;
}
