/* fwgate run: checks the configuration and the policy, prepares the state
 * directory and the event log, then serves until SIGINT or SIGTERM.
 * Start-up is all-or-nothing: any error stops it before anything runs. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli_policy.h"
#include "fwgate/event.h"
#include "fwgate/fileio.h"
#include "fwgate_build.h"

/* Creates the state directory (0700: it will hold the CA key and
 * quarantined blobs) or checks the existing one. */
static int state_dir_prepare(const char *dir, struct fw_err *err)
{
	struct stat st;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return fw_err_sys(err, errno, "cannot create the state directory \"%s\"", dir);
	if (stat(dir, &st) != 0)
		return fw_err_sys(err, errno, "cannot use the state directory \"%s\"", dir);
	if (!S_ISDIR(st.st_mode))
		return fw_err_set(err, "the state directory \"%s\" is not a directory", dir);
	if ((st.st_mode & 0077) != 0 && chmod(dir, st.st_mode & 0700) != 0)
		return fw_err_sys(err, errno, "cannot restrict the state directory \"%s\" to 0700", dir);
	return 0;
}

static void emit_lifecycle(struct fw_evlog *log, const char *action, const struct fw_config *cfg,
			   const struct fw_policy *pol, const char *reason)
{
	const struct fw_event_field extra[] = {
		{ .key = "service.version", .str = FWGATE_VERSION },
		{ .key = "process.pid", .num = (long long)getpid() },
		{ .key = "fwgate.config", .str = cfg->path[0] ? cfg->path : "embedded default" },
		{ .key = "fwgate.policy", .str = pol->source },
	};
	const struct fw_event ev = {
		.action = action,
		.outcome = FW_OUTCOME_SUCCESS,
		.rule = pol->rule,
		.reason = reason,
		.extra = extra,
		.n_extra = FW_ARRAY_LEN(extra),
	};

	if (fw_evlog_emit(log, &ev) != 0)
		fprintf(stderr, "fwgate: cannot write the %s event to the event log\n", action);
}

/* Blocks the signals the gateway handles, so that every thread started
 * later inherits the mask and only the main thread's sigwait sees them. */
static int block_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
	return pthread_sigmask(SIG_BLOCK, set, NULL);
}

static int serve_until_signal(struct fw_evlog *log, const struct fw_config *cfg,
			      const struct fw_policy *pol, const sigset_t *set)
{
	for (;;) {
		struct fw_err err;
		int sig;

		if (sigwait(set, &sig) != 0)
			return -1;
		if (sig != SIGHUP) {
			emit_lifecycle(log, "fwgate-stop", cfg, pol, sig == SIGINT ? "SIGINT" : "SIGTERM");
			return 0;
		}
		fw_err_clear(&err);
		if (fw_evlog_reopen(log, &err) != 0)
			fprintf(stderr, "fwgate: %s\n", fw_err_msg(&err));
		emit_lifecycle(log, "fwgate-reopen-log", cfg, pol, "SIGHUP");
	}
}

int cmd_run(struct cli_ctx *ctx, int argc, char **argv)
{
	struct fw_policy *pol = NULL;
	struct fw_evlog *log = NULL;
	char log_path[FW_PATH_MAX];
	struct fw_err err;
	sigset_t set;
	int rc;

	fw_err_clear(&err);
	if (argc > 1)
		return cli_is_option(argv[1]) ? cli_usage_error("run", "unknown option \"%s\"", argv[1])
					      : cli_usage_error("run", "takes no arguments");
	rc = cli_load_config(ctx);
	if (rc != CLI_OK)
		return rc;
	rc = cli_load_policy(ctx->cfg, NULL, NULL, &pol);
	if (rc != CLI_OK)
		return rc;
	rc = CLI_ERROR;
	if (block_signals(&set) != 0) {
		fprintf(stderr, "fwgate: cannot block signals\n");
		goto out;
	}
	if (state_dir_prepare(ctx->cfg->state.dir, &err) != 0)
		goto fail;
	if (ctx->cfg->log.file[0] == '\0') {
		if (fw_path_join(log_path, sizeof(log_path), ctx->cfg->state.dir, "events.log", &err) != 0)
			goto fail;
	} else if (snprintf(log_path, sizeof(log_path), "%s", ctx->cfg->log.file) >= (int)sizeof(log_path)) {
		fw_err_set(&err, "the event log path is too long");
		goto fail;
	}
	if (fw_evlog_open(&log, log_path, ctx->cfg->log.syslog, ctx->cfg->log.syslog_facility, &err) != 0)
		goto fail;
	emit_lifecycle(log, "fwgate-start", ctx->cfg, pol, NULL);
	fprintf(stderr,
		"fwgate %s: running (pid %ld); config %s; policy %s, rule %s; state %s; events %s\n"
		"fwgate: the proxy, scanner and store modules are not in this build yet; "
		"stop with Ctrl-C or SIGTERM\n",
		FWGATE_VERSION, (long)getpid(), ctx->cfg->path[0] ? ctx->cfg->path : "embedded default",
		pol->source, pol->rule, ctx->cfg->state.dir, log_path);
	if (serve_until_signal(log, ctx->cfg, pol, &set) != 0) {
		fw_err_sys(&err, errno, "waiting for signals failed");
		goto fail;
	}
	rc = CLI_OK;
	goto out;
fail:
	fprintf(stderr, "fwgate: %s\n", fw_err_msg(&err));
out:
	fw_evlog_close(log);
	fw_policy_free(pol);
	return rc;
}
