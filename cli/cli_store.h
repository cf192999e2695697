/* Private to cli/: the helpers of the commands over the store (quarantine,
 * audit, store, sandbox), in cli_store.c. */
#ifndef FWGATE_CLI_STORE_H
#define FWGATE_CLI_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "cli/cli.h"
#include "fwgate/store.h"

/* Options shared by the subcommands: --json, --override-infected,
 * --reason TEXT, --as NAME and up to four words. */
struct cli_store_opts {
	bool json;
	bool override_infected;
	const char *reason;
	const char *who;
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

/* The reviewer's name: --as, else the login name. */
const char *cli_reviewer(const struct cli_store_opts *o);

#endif
