/* The helpers every subcommand shares (cli/cli.h): the command lookup,
 * one-line usage errors, loading the configuration, the gateway's pid file
 * and private temporary directories. Calls no cmd_*.c. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "fwgate/err.h"
#include "fwgate/fileio.h"

const struct cli_cmd *cli_find(const struct cli_cmd *cmds, const char *name)
{
	for (const struct cli_cmd *c = cmds; c->name != NULL; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fwgate%s%s: ", cmd ? " " : "", cmd ? cmd : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see: fwgate help%s%s)\n", cmd ? " " : "", cmd ? cmd : "");
	return CLI_ERROR;
}

bool cli_is_option(const char *arg)
{
	return arg[0] == '-' && arg[1] != '\0';
}

int cli_load_config(struct cli_ctx *ctx)
{
	struct fw_err err;

	fw_err_clear(&err);
	ctx->cfg = calloc(1, sizeof(*ctx->cfg));
	if (ctx->cfg == NULL) {
		fprintf(stderr, "fwgate: out of memory\n");
		return CLI_ERROR;
	}
	if (ctx->config_path == NULL) {
		fw_config_default(ctx->cfg);
		return CLI_OK;
	}
	if (fw_config_load(ctx->cfg, ctx->config_path, &err) != 0) {
		fprintf(stderr, "fwgate: %s\n", fw_err_msg(&err));
		return CLI_ERROR;
	}
	return CLI_OK;
}

/* A private directory for unpacked members (unnamed files) and ClamAV's
 * temporary files; emptied and removed at the end. */
int cli_tmp_dir_make(char *dir, size_t len)
{
	const char *base = getenv("TMPDIR");

	if (base == NULL || base[0] != '/')
		base = "/tmp";
	if (snprintf(dir, len, "%s/fwgate-scan-XXXXXX", base) >= (int)len || mkdtemp(dir) == NULL)
		return -1;
	return 0;
}

void cli_tmp_dir_remove(const char *dir)
{
	struct fw_dir_empty_stats st;
	struct fw_err err;

	fw_err_clear(&err);
	if (fw_dir_empty(dir, NULL, &st, &err) != 0 || st.left > 0 || rmdir(dir) != 0)
		fprintf(stderr, "fwgate: warning: cannot remove the temporary directory %s: %s\n", dir,
			fw_err_isset(&err) ? fw_err_msg(&err) : st.left > 0 ? st.why : strerror(errno));
}

/* <state>/fwgate.pid: where `fwgate run` says its pid and `fwgate reload`
 * finds the running gateway. */
int cli_pid_path(const struct fw_config *cfg, char *out, size_t len, struct fw_err *err)
{
	return fw_path_join(out, len, cfg->state.dir, "fwgate.pid", err);
}
