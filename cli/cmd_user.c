/* fwgate user add|list|passwd|disable|enable|role: the console's accounts
 * from the command line. The password is read like proxyuser's (a file's
 * first line, a prompt without echo, or standard input), hashed here with
 * fw_passwd_hash and handed to the store as a hash; it is never printed,
 * logged or audited. Every change is audited by the store with the login
 * name, via "cli". Holds no store logic. */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "cli/cli.h"
#include "cli/cli_password.h"
#include "cli/cli_store.h"
#include "fwgate/passwd.h"
#include "fwgate/store_accounts.h"

/* A new password read and hashed into hash; the clear text is wiped. */
static int user_new_hash(const struct cli_store_opts *o, char *hash, size_t len)
{
	char password[FW_PASSWD_MAX + 2] = "";
	struct fw_err err;
	size_t n;
	int rc = CLI_ERROR;

	fw_err_clear(&err);
	if (cli_password_read("user", "new console password", o->password_file, password, sizeof(password)) != 0)
		goto out;
	n = strlen(password);
	if (n < FW_PASSWD_MIN) {
		fprintf(stderr, "fwgate user: the password must have at least %d characters\n", FW_PASSWD_MIN);
		goto out;
	}
	if (fw_passwd_hash(password, n, hash, len, &err) != 0) {
		fprintf(stderr, "fwgate user: %s\n", fw_err_msg(&err));
		goto out;
	}
	rc = CLI_OK;
out:
	OPENSSL_cleanse(password, sizeof(password));
	return rc;
}

static int user_role_arg(const struct cli_store_opts *o, enum fw_role *role)
{
	if (o->role == NULL)
		return cli_usage_error("user", "%s needs --role viewer|reviewer|admin", o->args[0]);
	if (fw_role_parse(o->role, role) != 0)
		return cli_usage_error("user", "\"%s\" is not a role (viewer, reviewer or admin)", o->role);
	return CLI_OK;
}

/* The store's answer to a change: printed and mapped to an exit code. */
static int user_done(int rc, const struct fw_err *err, const char *said)
{
	if (rc != 0) {
		fprintf(stderr, "fwgate user: %s\n", fw_err_msg(err));
		return CLI_ERROR;
	}
	printf("%s\n", said);
	return CLI_OK;
}

static int user_change(struct fw_store *st, const struct cli_store_opts *o)
{
	const struct fw_actor by = { cli_login_name(), "cli" };
	const char *sub = o->args[0], *name = o->args[1];
	char hash[FW_PASSWD_HASH_MAX] = "", said[160];
	enum fw_role role = FW_ROLE_VIEWER;
	struct fw_err err;
	int rc;

	fw_err_clear(&err);
	if (strcmp(sub, "add") == 0 || strcmp(sub, "role") == 0) {
		rc = user_role_arg(o, &role);
		if (rc != CLI_OK)
			return rc;
	}
	if ((strcmp(sub, "add") == 0 || strcmp(sub, "passwd") == 0) && user_new_hash(o, hash, sizeof(hash)) != CLI_OK)
		return CLI_ERROR;
	if (strcmp(sub, "add") == 0) {
		rc = fw_store_account_add(st, name, role, hash, &by, &err);
		snprintf(said, sizeof(said), "added %s (%s)", name, fw_role_name(role));
	} else if (strcmp(sub, "passwd") == 0) {
		rc = fw_store_account_passwd(st, name, hash, &by, &err);
		snprintf(said, sizeof(said), "changed the password of %s (its sessions are revoked)", name);
	} else if (strcmp(sub, "role") == 0) {
		rc = fw_store_account_role(st, name, role, &by, &err);
		snprintf(said, sizeof(said), "%s is now %s", name, fw_role_name(role));
	} else {
		rc = fw_store_account_disable(st, name, strcmp(sub, "disable") == 0, &by, &err);
		snprintf(said, sizeof(said), strcmp(sub, "disable") == 0 ? "disabled %s (its sessions are revoked)"
										: "enabled %s", name);
	}
	OPENSSL_cleanse(hash, sizeof(hash));
	return user_done(rc, &err, said);
}

static int user_list(struct fw_store *st, const struct cli_store_opts *o)
{
	struct fw_err err;
	json_t *list = NULL, *v;
	size_t i;
	int rc = CLI_OK;

	fw_err_clear(&err);
	if (fw_store_account_list(st, &list, &err) != 0) {
		fprintf(stderr, "fwgate user: %s\n", fw_err_msg(&err));
		return CLI_ERROR;
	}
	if (o->json) {
		rc = cli_print_json(list);
	} else if (json_array_size(list) == 0) {
		fprintf(stderr, "fwgate user: no account (fwgate user add NAME --role ROLE)\n");
	} else {
		printf("%-20s %-9s %-9s %-20s %-20s %s\n", "NAME", "ROLE", "STATE", "CREATED", "LAST LOGIN", "SESSIONS");
		json_array_foreach(list, i, v) {
			printf("%-20s %-9s %-9s ", cli_json_str(v, "name"), cli_json_str(v, "role"),
			       json_is_true(json_object_get(v, "disabled")) ? "disabled" : "enabled");
			cli_print_time("", json_object_get(v, "created_at"));
			cli_print_time(" ", json_object_get(v, "last_login_at"));
			printf(" %lld\n", (long long)json_integer_value(json_object_get(v, "sessions")));
		}
	}
	json_decref(list);
	return rc;
}

/* Checks the words and options of sub before anything is opened. */
static int user_check(const struct cli_store_opts *o)
{
	static const struct {
		const char *sub;
		unsigned allowed;
	} subs[] = {
		{ "add", CLI_OPT_ROLE | CLI_OPT_PASSWORD_FILE }, { "passwd", CLI_OPT_PASSWORD_FILE },
		{ "disable", 0 }, { "enable", 0 }, { "role", CLI_OPT_ROLE }, { "list", CLI_OPT_JSON },
	};
	size_t k = 0;

	if (o->n_args == 0)
		return cli_usage_error("user", "needs add, list, passwd, disable, enable or role");
	while (k < FW_ARRAY_LEN(subs) && strcmp(o->args[0], subs[k].sub) != 0)
		k++;
	if (k == FW_ARRAY_LEN(subs))
		return cli_usage_error("user", "unknown subcommand \"%s\"", o->args[0]);
	if (cli_store_opts_allow("user", o->args[0], o, subs[k].allowed) != CLI_OK)
		return CLI_ERROR;
	if (strcmp(o->args[0], "list") == 0)
		return o->n_args == 1 ? CLI_OK : cli_usage_error("user", "list takes no argument");
	if (o->n_args != 2)
		return cli_usage_error("user", "%s needs one NAME", o->args[0]);
	if (!fw_account_name_valid(o->args[1]))
		return cli_usage_error("user", "\"%s\" is not an account name (1 to %d of A-Z a-z 0-9 . _ -)", o->args[1],
				       FW_ACCOUNT_NAME_MAX);
	return CLI_OK;
}

int cmd_user(struct cli_ctx *ctx, int argc, char **argv)
{
	struct fw_store *st = NULL;
	struct cli_store_opts o;
	int rc = cli_store_opts_parse("user", argc, argv, &o);

	if (rc != CLI_OK)
		return rc;
	rc = user_check(&o);
	if (rc != CLI_OK)
		return rc;
	rc = cli_store_open(ctx, "user", &st);
	if (rc != CLI_OK)
		return rc;
	rc = strcmp(o.args[0], "list") == 0 ? user_list(st, &o) : user_change(st, &o);
	fw_store_close(st);
	return rc;
}
