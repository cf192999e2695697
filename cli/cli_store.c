/* What the commands over the store share (cli/cli_store.h): their options
 * (and which a subcommand takes), opening the store of -c's state
 * directory, ids, the reviewer's and the login name, and printing JSON
 * records. Calls no cmd_*.c; holds no store logic. */
#include <errno.h>
#include <stddef.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli_store.h"
#include "fwgate/store.h"

static const struct {
	const char *name;
	unsigned bit;
	size_t field; /* offsetof the value in struct cli_store_opts; 0: a flag */
} store_opts[] = {
	{ "--json", CLI_OPT_JSON, 0 },
	{ "--override-infected", CLI_OPT_OVERRIDE, 0 },
	{ "--reason", CLI_OPT_REASON, offsetof(struct cli_store_opts, reason) },
	{ "--as", CLI_OPT_AS, offsetof(struct cli_store_opts, who) },
	{ "--state", CLI_OPT_STATE, offsetof(struct cli_store_opts, state) },
	{ "--verdict", CLI_OPT_VERDICT, offsetof(struct cli_store_opts, verdict) },
	{ "--host", CLI_OPT_HOST, offsetof(struct cli_store_opts, host) },
	{ "--limit", CLI_OPT_LIMIT, offsetof(struct cli_store_opts, limit) },
	{ "--before", CLI_OPT_BEFORE, offsetof(struct cli_store_opts, before) },
	{ "--role", CLI_OPT_ROLE, offsetof(struct cli_store_opts, role) },
	{ "--password-file", CLI_OPT_PASSWORD_FILE, offsetof(struct cli_store_opts, password_file) },
};

/* One option at argv[*i] (and its value); CLI_ERROR when unknown. */
static int store_opt_one(const char *cmd, int argc, char **argv, int *i, struct cli_store_opts *o)
{
	for (size_t k = 0; k < FW_ARRAY_LEN(store_opts); k++) {
		if (strcmp(argv[*i], store_opts[k].name) != 0)
			continue;
		if (o->given & store_opts[k].bit)
			return cli_usage_error(cmd, "%s is given twice", argv[*i]);
		o->given |= store_opts[k].bit;
		if (store_opts[k].field == 0)
			return CLI_OK;
		if (*i + 1 >= argc)
			return cli_usage_error(cmd, "%s needs a value", argv[*i]);
		*(const char **)(void *)((char *)o + store_opts[k].field) = argv[++*i];
		return CLI_OK;
	}
	return cli_usage_error(cmd, "unknown option \"%s\"", argv[*i]);
}

int cli_store_opts_parse(const char *cmd, int argc, char **argv, struct cli_store_opts *o)
{
	int rc;

	memset(o, 0, sizeof(*o));
	for (int i = 1; i < argc; i++) {
		if (cli_is_option(argv[i])) {
			rc = store_opt_one(cmd, argc, argv, &i, o);
			if (rc != CLI_OK)
				return rc;
		} else if (o->n_args < (int)FW_ARRAY_LEN(o->args)) {
			o->args[o->n_args++] = argv[i];
		} else {
			return cli_usage_error(cmd, "too many arguments");
		}
	}
	o->json = (o->given & CLI_OPT_JSON) != 0;
	o->override_infected = (o->given & CLI_OPT_OVERRIDE) != 0;
	return CLI_OK;
}

int cli_store_opts_allow(const char *cmd, const char *sub, const struct cli_store_opts *o, unsigned allowed)
{
	for (size_t k = 0; k < FW_ARRAY_LEN(store_opts); k++)
		if ((o->given & store_opts[k].bit) && !(allowed & store_opts[k].bit))
			return cli_usage_error(cmd, "%s does not take %s", sub, store_opts[k].name);
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

const char *cli_login_name(void)
{
	const struct passwd *pw;
	const char *name = getlogin();

	if (name != NULL && name[0] != '\0')
		return name;
	pw = getpwuid(getuid());
	return pw != NULL ? pw->pw_name : "unknown";
}
