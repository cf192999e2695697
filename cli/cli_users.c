/* The users files of fwgate's Basic credentials, from the command line:
 * add, passwd, remove, list, for the appliance's proxy users (fwgate
 * proxyuser) and the mirror's BMC groups (fwgate mirror user). The
 * password comes from --password-file, from a prompt on a terminal (asked
 * twice, not echoed), or from the first line of standard input; it is
 * never an argument (it would show in ps and in shell histories). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "cli/cli.h"
#include "cli/cli_password.h"
#include "cli/cli_users.h"
#include "fwgate/fileio.h"
#include "fwgate/passwd.h"

struct list_out {
	bool json;
	json_t *names;
};

static void list_one(void *arg, const char *name)
{
	struct list_out *o = arg;

	if (o->json)
		json_array_append_new(o->names, json_string(name));
	else
		printf("%s\n", name);
}

static int list(struct cli_ctx *ctx, const struct cli_users *k, bool json)
{
	struct list_out o = { .json = json, .names = json ? json_array() : NULL };
	struct fw_err err;
	int n;

	fw_err_clear(&err);
	n = k->list(ctx->cfg->state.dir, list_one, &o, &err);
	if (n < 0) {
		fprintf(stderr, "fwgate %s: %s\n", k->cmd, fw_err_msg(&err));
		json_decref(o.names);
		return CLI_ERROR;
	}
	if (json) {
		char *text = json_dumps(o.names, JSON_COMPACT);

		printf("%s\n", text != NULL ? text : "[]");
		free(text);
		json_decref(o.names);
	} else if (n == 0) {
		fprintf(stderr, "fwgate %s: no user (fwgate %s add NAME)\n", k->cmd, k->cmd);
	}
	return CLI_OK;
}

int cli_users(struct cli_ctx *ctx, const struct cli_users *kind, int argc, char **argv)
{
	static const struct {
		const char *name;
		enum fw_proxy_user_op op;
	} ops[] = { { "add", FW_PROXY_USER_ADD }, { "passwd", FW_PROXY_USER_PASSWD }, { "remove", FW_PROXY_USER_REMOVE } };
	const char *sub, *name = NULL, *file = NULL;
	char password[FW_PASSWD_MAX + 2] = "";
	bool json = false, is_list;
	struct fw_err err;
	size_t k = 0;
	int rc;

	fw_err_clear(&err);
	if (argc < 2)
		return cli_usage_error(kind->cmd, "needs a subcommand (add, passwd, remove or list)");
	sub = argv[1];
	is_list = strcmp(sub, "list") == 0;
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--password-file") == 0 && i + 1 < argc && !is_list &&
		    strcmp(sub, "remove") != 0)
			file = argv[++i];
		else if (strcmp(argv[i], "--json") == 0 && is_list)
			json = true;
		else if (cli_is_option(argv[i]))
			return cli_usage_error(kind->cmd, "unknown option \"%s\"", argv[i]);
		else if (name == NULL && !is_list)
			name = argv[i];
		else
			return cli_usage_error(kind->cmd, "unexpected argument \"%s\"", argv[i]);
	}
	if (!is_list) {
		while (k < FW_ARRAY_LEN(ops) && strcmp(sub, ops[k].name) != 0)
			k++;
		if (k == FW_ARRAY_LEN(ops))
			return cli_usage_error(kind->cmd, "unknown subcommand \"%s\"", sub);
		if (name == NULL)
			return cli_usage_error(kind->cmd, "%s needs a NAME", sub);
		if (!fw_proxy_user_name_valid(name))
			return cli_usage_error(kind->cmd, "\"%s\" is not a user name (1 to %d of A-Z a-z 0-9 . _ -)",
					       name, FW_PROXY_USER_NAME_MAX);
	}
	rc = cli_load_config(ctx);
	if (rc != CLI_OK)
		return rc;
	/* is_list, not strcmp again: the analyzer cannot know that sub is
	 * unchanged across the calls in between, and name is set for all
	 * but list */
	if (is_list || name == NULL)
		return is_list ? list(ctx, kind, json) : CLI_ERROR;
	if (ops[k].op != FW_PROXY_USER_REMOVE &&
	    cli_password_read(kind->cmd, kind->what, file, password, sizeof(password)) != 0)
		return CLI_ERROR;
	rc = kind->change(ctx->cfg->state.dir, name, password, strlen(password), ops[k].op, &err);
	OPENSSL_cleanse(password, sizeof(password));
	if (rc != 0) {
		fprintf(stderr, "fwgate %s: %s\n", kind->cmd, fw_err_msg(&err));
		return CLI_ERROR;
	}
	fprintf(stderr, "fwgate %s: %s %s (a running gateway reads the change at its next check)\n", kind->cmd,
		ops[k].op == FW_PROXY_USER_ADD ? "added" : ops[k].op == FW_PROXY_USER_PASSWD ? "changed the password of"
											   : "removed", name);
	return CLI_OK;
}
