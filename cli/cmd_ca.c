/* fwgate ca init|show: the interception CA for the appliance to trust. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "fwgate/proxy.h"

/* The deployment's name for the CA subject: --name, else the host name. */
static void default_name(char *buf, size_t len)
{
	if (gethostname(buf, len) != 0 || buf[0] == '\0')
		snprintf(buf, len, "%s", "unnamed deployment");
	buf[len - 1] = '\0';
}

int cmd_ca(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *name = NULL;
	char host[256];
	struct fw_err err;
	int rc;

	fw_err_clear(&err);
	if (argc < 2)
		return cli_usage_error("ca", "needs a subcommand (init or show)");
	if (strcmp(argv[1], "init") != 0 && strcmp(argv[1], "show") != 0)
		return cli_usage_error("ca", "unknown subcommand \"%s\"", argv[1]);
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[1], "init") == 0 && strcmp(argv[i], "--name") == 0 && i + 1 < argc) {
			name = argv[++i];
		} else if (cli_is_option(argv[i])) {
			return cli_usage_error("ca", "unknown option \"%s\"", argv[i]);
		} else {
			return cli_usage_error("ca", "unexpected argument \"%s\"", argv[i]);
		}
	}
	if (name != NULL && (name[0] == '\0' || strlen(name) > 64))
		return cli_usage_error("ca", "--name needs 1 to 64 characters");
	rc = cli_load_config(ctx);
	if (rc != CLI_OK)
		return rc;
	if (strcmp(argv[1], "show") == 0) {
		if (fw_ca_show(ctx->cfg->state.dir, stdout, &err) != 0) {
			fprintf(stderr, "fwgate ca: %s\n", fw_err_msg(&err));
			return CLI_ERROR;
		}
		return CLI_OK;
	}
	if (name == NULL) {
		default_name(host, sizeof(host));
		name = host;
	}
	if (fw_ca_init(ctx->cfg->state.dir, name, &err) != 0) {
		fprintf(stderr, "fwgate ca: %s\n", fw_err_msg(&err));
		return CLI_ERROR;
	}
	fprintf(stderr, "fwgate ca: created the CA in %s/ca (give ca.crt to the appliance: fwgate ca show)\n",
		ctx->cfg->state.dir);
	return CLI_OK;
}
