/* fwgate reload: SIGHUP to the gateway running on this configuration's
 * state directory, found through its pid file. Must not signal a process
 * that is not an fwgate. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "fwgate/err.h"
#include "fwgate/fileio.h"

/* The pid must name an fwgate process (/proc/PID/comm) before it gets the signal. */
int cmd_reload(struct cli_ctx *ctx, int argc, char **argv)
{
	char path[FW_PATH_MAX], proc[64], comm[64] = "";
	struct fw_err err;
	long pid = 0;
	FILE *f;
	int rc;

	fw_err_clear(&err);
	if (argc > 1)
		return cli_is_option(argv[1]) ? cli_usage_error("reload", "unknown option \"%s\"", argv[1])
					      : cli_usage_error("reload", "takes no arguments");
	rc = cli_load_config(ctx);
	if (rc != CLI_OK)
		return rc;
	if (cli_pid_path(ctx->cfg, path, sizeof(path), &err) != 0) {
		fprintf(stderr, "fwgate reload: %s\n", fw_err_msg(&err));
		return CLI_ERROR;
	}
	f = fopen(path, "r");
	if (f == NULL || fscanf(f, "%ld", &pid) != 1 || pid <= 1) {
		fprintf(stderr, "fwgate reload: no running gateway found (%s)\n", path);
		if (f != NULL)
			fclose(f);
		return CLI_ERROR;
	}
	fclose(f);
	snprintf(proc, sizeof(proc), "/proc/%ld/comm", pid);
	f = fopen(proc, "r");
	if (f == NULL || fgets(comm, sizeof(comm), f) == NULL || strncmp(comm, "fwgate", 6) != 0) {
		fprintf(stderr, "fwgate reload: process %ld named in %s is not a running fwgate\n", pid, path);
		if (f != NULL)
			fclose(f);
		return CLI_ERROR;
	}
	fclose(f);
	if (kill((pid_t)pid, SIGHUP) != 0) {
		fprintf(stderr, "fwgate reload: cannot signal process %ld: %s\n", pid, strerror(errno));
		return CLI_ERROR;
	}
	printf("fwgate reload: asked the gateway (pid %ld) to reload its signatures; its log says the outcome\n",
	       pid);
	return CLI_OK;
}
