/* Private to cli/: the command type, the exit codes and the helpers every
 * subcommand shares (cli.c: config loading, option errors, temporary
 * directories). One cmd_<command>.c per top-level command; main.c holds
 * the table and calls them; none calls main.c or another command. Only
 * cli/ decides exit codes. */
#ifndef FWGATE_CLI_H
#define FWGATE_CLI_H

#include <stdbool.h>

#include "fwgate/config.h"
#include "fwgate/err.h"

/* Exit codes, like clamscan's. */
enum {
	CLI_OK = 0,      /* success, clean */
	CLI_BLOCKED = 1, /* blocked, infected, quarantined */
	CLI_ERROR = 2,   /* usage or operational error */
};

struct cli_cmd;

struct cli_ctx {
	const char *config_path;     /* -c FILE, or NULL for the embedded default */
	struct fw_config *cfg;       /* loaded by cli_load_config */
	const struct cli_cmd *cmds;  /* main.c's command table, for fwgate help */
};

struct cli_cmd {
	const char *name;
	const char *summary; /* one line for `fwgate help` */
	const char *usage;   /* the details for `fwgate help CMD` */
	int (*run)(struct cli_ctx *ctx, int argc, char **argv);
};

/* The entry of cmds (a table ended by a zeroed entry) named name, or NULL. */
const struct cli_cmd *cli_find(const struct cli_cmd *cmds, const char *name);

/* Loads -c FILE (or the embedded default) into ctx->cfg; on failure prints
 * the error and returns CLI_ERROR. */
int cli_load_config(struct cli_ctx *ctx);

/* One-line usage errors: print and return CLI_ERROR. */
int cli_usage_error(const char *cmd, const char *fmt, ...) FW_PRINTF(2, 3);

/* True for "-x" and "--xyz" (but not "-" alone). */
bool cli_is_option(const char *arg);

/* A new private directory $TMPDIR/fwgate-scan-XXXXXX (or under /tmp), and
 * its removal with the files in it (one level). */
int cli_tmp_dir_make(char *dir, size_t len);
void cli_tmp_dir_remove(const char *dir);

/* <state dir>/fwgate.pid, written by run, read by reload. */
int cli_pid_path(const struct fw_config *cfg, char *out, size_t len, struct fw_err *err);

/* fwgate sandbox analyze FILE... [--json] (cmd_sandbox_analyze.c). */
int cli_sandbox_analyze(struct cli_ctx *ctx, char *const *files, int n, bool json);

int cmd_help(struct cli_ctx *ctx, int argc, char **argv);
int cmd_version(struct cli_ctx *ctx, int argc, char **argv);
int cmd_run(struct cli_ctx *ctx, int argc, char **argv);
int cmd_policy(struct cli_ctx *ctx, int argc, char **argv);
int cmd_config(struct cli_ctx *ctx, int argc, char **argv);
int cmd_ca(struct cli_ctx *ctx, int argc, char **argv);
int cmd_allowlist(struct cli_ctx *ctx, int argc, char **argv);
int cmd_categories(struct cli_ctx *ctx, int argc, char **argv);
int cmd_reload(struct cli_ctx *ctx, int argc, char **argv);
int cmd_status(struct cli_ctx *ctx, int argc, char **argv);
int cmd_quarantine(struct cli_ctx *ctx, int argc, char **argv);
int cmd_audit(struct cli_ctx *ctx, int argc, char **argv);
int cmd_sandbox(struct cli_ctx *ctx, int argc, char **argv);
int cmd_store(struct cli_ctx *ctx, int argc, char **argv);
int cmd_scan(struct cli_ctx *ctx, int argc, char **argv);
int cmd_proxyuser(struct cli_ctx *ctx, int argc, char **argv);
/* fwgate mirror user ...: argv[0] is "user" (cmd_mirror.c hands it on). */
int cmd_mirror_user(struct cli_ctx *ctx, int argc, char **argv);
int cmd_user(struct cli_ctx *ctx, int argc, char **argv);
int cmd_token(struct cli_ctx *ctx, int argc, char **argv);
int cmd_push(struct cli_ctx *ctx, int argc, char **argv);
int cmd_mirror(struct cli_ctx *ctx, int argc, char **argv);

#endif
