/* What the commands over the store share (cli/cli_store.h): their options,
 * opening the store of -c's state directory, ids, the reviewer's name and
 * printing JSON records. Calls no cmd_*.c; holds no store logic. */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli_store.h"
#include "fwgate/store.h"

int cli_store_opts_parse(const char *cmd, int argc, char **argv, struct cli_store_opts *o)
{
	memset(o, 0, sizeof(*o));
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			o->json = true;
		} else if (strcmp(argv[i], "--override-infected") == 0) {
			o->override_infected = true;
		} else if (strcmp(argv[i], "--reason") == 0 || strcmp(argv[i], "--as") == 0) {
			if (i + 1 >= argc)
				return cli_usage_error(cmd, "%s needs a value", argv[i]);
			if (argv[i][2] == 'r')
				o->reason = argv[++i];
			else
				o->who = argv[++i];
		} else if (cli_is_option(argv[i])) {
			return cli_usage_error(cmd, "unknown option \"%s\"", argv[i]);
		} else if (o->n_args < (int)FW_ARRAY_LEN(o->args)) {
			o->args[o->n_args++] = argv[i];
		} else {
			return cli_usage_error(cmd, "too many arguments");
		}
	}
	return CLI_OK;
}

int cli_store_open(struct cli_ctx *ctx, const char *cmd, struct fw_store **st)
{
	struct fw_err err;
	int rc = cli_load_config(ctx);

	if (rc != CLI_OK)
		return rc;
	fw_err_clear(&err);
	if (fw_store_open(st, ctx->cfg->state.dir, &err) != 0) {
		fprintf(stderr, "fwgate %s: %s\n", cmd, fw_err_msg(&err));
		return CLI_ERROR;
	}
	return CLI_OK;
}

int cli_print_json(json_t *doc)
{
	char *text = json_dumps(doc, JSON_INDENT(2));

	if (text == NULL)
		return CLI_ERROR;
	printf("%s\n", text);
	free(text);
	return CLI_OK;
}

void cli_print_time(const char *label, json_t *v)
{
	time_t t = (time_t)json_integer_value(v);
	struct tm tm;
	char buf[64] = "-";

	if (t > 0 && gmtime_r(&t, &tm) != NULL)
		strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	printf("%s%s", label, buf);
}

const char *cli_json_str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "";
}

int cli_parse_id(const char *cmd, const char *arg, int64_t *id)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' || v <= 0)
		return cli_usage_error(cmd, "\"%s\" is not an object id", arg);
	*id = v;
	return CLI_OK;
}

/* The reviewer's name: --as, else the login name. */
const char *cli_reviewer(const struct cli_store_opts *o)
{
	const struct passwd *pw;

	if (o->who != NULL)
		return o->who;
	pw = getpwuid(getuid());
	return pw != NULL ? pw->pw_name : "unknown";
}
