/* Private to cli/: the helpers of the commands over the store (quarantine,
 * audit, store, sandbox), in cli_store.c. */
#ifndef FWGATE_CLI_STORE_H
#define FWGATE_CLI_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "cli/cli.h"
#include "fwgate/store.h"

/* The options of the commands over the store, as bits: what a
 * subcommand accepts (cli_store_opts_allow) and what was given. */
enum {
	CLI_OPT_JSON = 1u << 0,               /* --json */
	CLI_OPT_OVERRIDE = 1u << 1,           /* --override-infected */
	CLI_OPT_REASON = 1u << 2,             /* --reason TEXT */
	CLI_OPT_AS = 1u << 3,                 /* --as NAME */
	CLI_OPT_STATE = 1u << 4,              /* --state STATE */
	CLI_OPT_VERDICT = 1u << 5,            /* --verdict VERDICT */
	CLI_OPT_HOST = 1u << 6,               /* --host HOST */
	CLI_OPT_LIMIT = 1u << 7,              /* --limit N */
	CLI_OPT_BEFORE = 1u << 8,             /* --before ID */
	CLI_OPT_ROLE = 1u << 9,               /* --role ROLE */
	CLI_OPT_PASSWORD_FILE = 1u << 10,     /* --password-file FILE */
};

/* Options shared by the subcommands and up to four words. */
struct cli_store_opts {
	unsigned given;          /* CLI_OPT_* bits seen */
	bool json;
	bool override_infected;
	const char *reason;
	const char *who;
	const char *state;
	const char *verdict;
	const char *host;
	const char *limit;
	const char *before;
	const char *role;
	const char *password_file;
	const char *args[4];
	int n_args;
};

/* Parses argv[1..argc) into o; a usage error is printed (CLI_ERROR). */
int cli_store_opts_parse(const char *cmd, int argc, char **argv, struct cli_store_opts *o);

/* Loads the configuration and opens its store; errors are printed. */
int cli_store_open(struct cli_ctx *ctx, const char *cmd, struct fw_store **st);

/* doc as indented JSON on stdout. */
int cli_print_json(json_t *doc);

/* label, then the UNIX time v as an ISO 8601 UTC time ("-" for none). */
void cli_print_time(const char *label, json_t *v);

/* The string member key of o, or "". */
const char *cli_json_str(json_t *o, const char *key);

/* A positive record id, or a usage error (CLI_ERROR). */
int cli_parse_id(const char *cmd, const char *arg, int64_t *id);

/* A usage error (CLI_ERROR) when an option outside allowed was given to
 * the subcommand sub; CLI_OK otherwise. */
int cli_store_opts_allow(const char *cmd, const char *sub, const struct cli_store_opts *o, unsigned allowed);

/* The reviewer's name: --as, else the login name. */
const char *cli_reviewer(const struct cli_store_opts *o);

/* Who runs this command, for the audit: the login name (getlogin, else
 * the user of the real uid), "unknown" when neither is known. */
const char *cli_login_name(void);

#endif
