/* fwgate token add|list|revoke: API tokens for the console's JSON API. add
 * makes the secret ("fwg_" and 43 characters of base64url: 32 bytes from
 * RAND_bytes) and prints it once on standard output; the store keeps only
 * its SHA-256 (hex, of the whole printed string). Changes are audited by
 * the store with the login name, via "cli". Holds no store logic. */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "cli/cli.h"
#include "cli/cli_store.h"
#include "fwgate/store_accounts.h"

#define TOKEN_RANDOM_BYTES 32
#define TOKEN_PREFIX "fwg_"
/* "fwg_" + 43 characters of unpadded base64url of 32 bytes */
#define TOKEN_LEN (4 + 43)

/* base64url (RFC 4648 section 5) without padding of 32 bytes: 43 chars. */
static void token_encode(const unsigned char *raw, char *out)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t o = 0, i;

	for (i = 0; i + 3 <= TOKEN_RANDOM_BYTES; i += 3) {
		unsigned v = (unsigned)raw[i] << 16 | (unsigned)raw[i + 1] << 8 | raw[i + 2];

		out[o++] = b64[v >> 18 & 63];
		out[o++] = b64[v >> 12 & 63];
		out[o++] = b64[v >> 6 & 63];
		out[o++] = b64[v & 63];
	}
	/* 32 = 10 * 3 + 2: the last two bytes are three characters */
	{
		unsigned v = (unsigned)raw[i] << 16 | (unsigned)raw[i + 1] << 8;

		out[o++] = b64[v >> 18 & 63];
		out[o++] = b64[v >> 12 & 63];
		out[o++] = b64[v >> 6 & 63];
	}
	out[o] = '\0';
}

/* A new secret and the SHA-256 (hex) the store keeps of it. */
static int token_make(char secret[TOKEN_LEN + 1], char hash[FW_SECRET_HASH_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[TOKEN_RANDOM_BYTES], md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	int rc = -1;

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		goto out;
	memcpy(secret, TOKEN_PREFIX, 4);
	token_encode(raw, secret + 4);
	if (EVP_Digest(secret, TOKEN_LEN, md, &n, EVP_sha256(), NULL) != 1 || n != 32)
		goto out;
	for (unsigned i = 0; i < 32; i++) {
		hash[2 * i] = hex[md[i] >> 4];
		hash[2 * i + 1] = hex[md[i] & 15];
	}
	hash[FW_SECRET_HASH_LEN] = '\0';
	rc = 0;
out:
	OPENSSL_cleanse(raw, sizeof(raw));
	return rc;
}

static int token_add(struct fw_store *st, const struct cli_store_opts *o)
{
	const struct fw_actor by = { cli_login_name(), "cli" };
	char secret[TOKEN_LEN + 1], hash[FW_SECRET_HASH_LEN + 1];
	enum fw_role role;
	struct fw_err err;
	int rc = CLI_ERROR;

	fw_err_clear(&err);
	if (o->role == NULL)
		return cli_usage_error("token", "add needs --role viewer|reviewer|admin");
	if (fw_role_parse(o->role, &role) != 0)
		return cli_usage_error("token", "\"%s\" is not a role (viewer, reviewer or admin)", o->role);
	if (token_make(secret, hash) != 0) {
		fprintf(stderr, "fwgate token: cannot make a random secret\n");
		goto out;
	}
	if (fw_store_token_add(st, o->args[1], role, hash, &by, &err) != 0) {
		fprintf(stderr, "fwgate token: %s\n", fw_err_msg(&err));
		goto out;
	}
	/* The secret alone on stdout (for a script's $(...)); the words on
	 * stderr. */
	printf("%s\n", secret);
	fflush(stdout);
	fprintf(stderr, "fwgate token: added %s (%s): the secret above is shown this once; the API takes it as "
		"\"Authorization: Bearer SECRET\"\n", o->args[1], fw_role_name(role));
	rc = CLI_OK;
out:
	OPENSSL_cleanse(secret, sizeof(secret));
	return rc;
}

static int token_list(struct fw_store *st, const struct cli_store_opts *o)
{
	struct fw_err err;
	json_t *list = NULL, *v;
	size_t i;
	int rc = CLI_OK;

	fw_err_clear(&err);
	if (fw_store_token_list(st, &list, &err) != 0) {
		fprintf(stderr, "fwgate token: %s\n", fw_err_msg(&err));
		return CLI_ERROR;
	}
	if (o->json) {
		rc = cli_print_json(list);
	} else if (json_array_size(list) == 0) {
		fprintf(stderr, "fwgate token: no token (fwgate token add NAME --role ROLE)\n");
	} else {
		printf("%-20s %-9s %-8s %-20s %s\n", "NAME", "ROLE", "STATE", "CREATED", "LAST USED");
		json_array_foreach(list, i, v) {
			printf("%-20s %-9s %-8s ", cli_json_str(v, "name"), cli_json_str(v, "role"),
			       json_is_true(json_object_get(v, "revoked")) ? "revoked" : "active");
			cli_print_time("", json_object_get(v, "created_at"));
			cli_print_time(" ", json_object_get(v, "last_used_at"));
			printf("\n");
		}
	}
	json_decref(list);
	return rc;
}

static int token_revoke(struct fw_store *st, const struct cli_store_opts *o)
{
	const struct fw_actor by = { cli_login_name(), "cli" };
	struct fw_err err;

	fw_err_clear(&err);
	if (fw_store_token_revoke(st, o->args[1], &by, &err) != 0) {
		fprintf(stderr, "fwgate token: %s\n", fw_err_msg(&err));
		return CLI_ERROR;
	}
	printf("revoked the token %s\n", o->args[1]);
	return CLI_OK;
}

static int token_check(const struct cli_store_opts *o)
{
	const char *sub = o->n_args > 0 ? o->args[0] : "";
	unsigned allowed = strcmp(sub, "add") == 0 ? CLI_OPT_ROLE : strcmp(sub, "list") == 0 ? CLI_OPT_JSON : 0;

	if (o->n_args == 0)
		return cli_usage_error("token", "needs add, list or revoke");
	if (strcmp(sub, "add") != 0 && strcmp(sub, "list") != 0 && strcmp(sub, "revoke") != 0)
		return cli_usage_error("token", "unknown subcommand \"%s\"", sub);
	if (cli_store_opts_allow("token", sub, o, allowed) != CLI_OK)
		return CLI_ERROR;
	if (strcmp(sub, "list") == 0)
		return o->n_args == 1 ? CLI_OK : cli_usage_error("token", "list takes no argument");
	if (o->n_args != 2)
		return cli_usage_error("token", "%s needs one NAME", sub);
	if (!fw_account_name_valid(o->args[1]))
		return cli_usage_error("token", "\"%s\" is not a token name (1 to %d of A-Z a-z 0-9 . _ -)", o->args[1],
				       FW_ACCOUNT_NAME_MAX);
	return CLI_OK;
}

int cmd_token(struct cli_ctx *ctx, int argc, char **argv)
{
	struct fw_store *st = NULL;
	struct cli_store_opts o;
	int rc = cli_store_opts_parse("token", argc, argv, &o);

	if (rc != CLI_OK)
		return rc;
	rc = token_check(&o);
	if (rc != CLI_OK)
		return rc;
	rc = cli_store_open(ctx, "token", &st);
	if (rc != CLI_OK)
		return rc;
	if (strcmp(o.args[0], "add") == 0)
		rc = token_add(st, &o);
	else if (strcmp(o.args[0], "list") == 0)
		rc = token_list(st, &o);
	else
		rc = token_revoke(st, &o);
	fw_store_close(st);
	return rc;
}
