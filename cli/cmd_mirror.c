/* fwgate mirror keygen|export|verify|import (and user, in
 * cmd_mirror_user.c): offline bundles from the command line. Parses the
 * arguments, starts the scanner an import rescans with, prints and picks
 * the exit code: 0 done, 1 refused (a bundle tampered with, untrusted,
 * revoked, replayed), 2 usage or operational error. Holds no bundle logic:
 * bundle/ does all of it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/cli_policy.h"
#include "cli/cli_store.h"
#include "fwgate/bundle.h"
#include "fwgate/policy.h"

#define MIRROR_IDS_MAX 4096

static int mirror_keygen(struct cli_ctx *ctx, int argc)
{
	char path[FW_PATH_MAX], fpr[FW_BUNDLE_FPR_LEN + 1];
	char *pem = NULL;
	struct fw_err err;
	int rc;

	if (argc != 2)
		return cli_usage_error("mirror", "keygen takes no argument");
	rc = cli_load_config(ctx);
	if (rc != CLI_OK)
		return rc;
	fw_err_clear(&err);
	if (fw_bundle_key_path(ctx->cfg, path, sizeof(path), &err) != 0 ||
	    fw_bundle_keygen(path, &pem, fpr, &err) != 0) {
		fprintf(stderr, "fwgate mirror: %s\n", fw_err_msg(&err));
		return CLI_ERROR;
	}
	fprintf(stderr, "fwgate mirror: made the signing key %s; give the public key below to the sites that import "
		"this site's bundles (their [mirror] trusted_keys, as <site_id>.pem)\n", path);
	printf("%sSHA-256 fingerprint: %s\n", pem, fpr);
	free(pem);
	return CLI_OK;
}

/* YYYY-MM-DD (UTC) as unix seconds. */
static int mirror_date(const char *s, int64_t *out)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%d", &tm);
	if (end == NULL || *end != '\0' || strlen(s) != 10)
		return cli_usage_error("mirror", "--since takes a date YYYY-MM-DD, not \"%s\"", s);
	*out = (int64_t)timegm(&tm);
	return CLI_OK;
}

static int mirror_export(struct cli_ctx *ctx, int argc, char **argv)
{
	struct fw_bundle_export_opts o = { .who = cli_login_name() };
	int64_t *ids = calloc(MIRROR_IDS_MAX, sizeof(*ids)), sequence = 0;
	struct fw_store *st = NULL;
	struct fw_err err;
	size_t n = 0;
	int rc = CLI_ERROR;

	if (ids == NULL)
		return CLI_ERROR;
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--since") == 0 || strcmp(argv[i], "--object") == 0) {
			if (i + 1 >= argc) {
				rc = cli_usage_error("mirror", "%s needs a value", argv[i]);
				goto out;
			}
			if (strcmp(argv[i], "--since") == 0 ? mirror_date(argv[i + 1], &o.since) != CLI_OK
			    : o.n_ids >= MIRROR_IDS_MAX || cli_parse_id("mirror", argv[i + 1], &ids[o.n_ids++]) != CLI_OK)
				goto out;
			i++;
		} else if (cli_is_option(argv[i])) {
			rc = cli_usage_error("mirror", "unknown option \"%s\"", argv[i]);
			goto out;
		} else if (o.dir == NULL) {
			o.dir = argv[i];
		} else {
			rc = cli_usage_error("mirror", "export takes one DIR");
			goto out;
		}
	}
	if (o.dir == NULL) {
		rc = cli_usage_error("mirror", "export needs a DIR");
		goto out;
	}
	if (o.n_ids > 0 && o.since != 0) {
		rc = cli_usage_error("mirror", "export takes --since or --object, not both");
		goto out;
	}
	o.ids = ids;
	rc = cli_store_open(ctx, "mirror", &st);
	if (rc != CLI_OK)
		goto out;
	o.cfg = ctx->cfg;
	o.store = st;
	fw_err_clear(&err);
	if (fw_bundle_export(&o, &n, &sequence, &err) != 0) {
		fprintf(stderr, "fwgate mirror: export: %s\n", fw_err_msg(&err));
		rc = CLI_ERROR;
		goto out;
	}
	printf("exported %zu object(s) into %s (bundle sequence %lld)\n", n, o.dir, (long long)sequence);
	rc = CLI_OK;
out:
	fw_store_close(st);
	free(ids);
	return rc;
}

static int mirror_verify(struct cli_ctx *ctx, int argc, char **argv)
{
	struct fw_bundle_verified *v = NULL;
	struct fw_err err;
	int rc;

	if (argc != 3 || cli_is_option(argv[2]))
		return cli_usage_error("mirror", "verify needs one DIR");
	rc = cli_load_config(ctx);
	if (rc != CLI_OK)
		return rc;
	fw_err_clear(&err);
	rc = fw_bundle_verify(ctx->cfg, argv[2], &v, &err);
	if (rc != 0) {
		fprintf(stderr, "fwgate mirror: %s: %s\n", rc > 0 ? "refused" : "error", fw_err_msg(&err));
		return rc > 0 ? CLI_BLOCKED : CLI_ERROR;
	}
	printf("%s: bundle of site %s, sequence %lld, %zu object(s), signed by key %s: verified\n", argv[2], v->site,
	       (long long)v->m->sequence, v->m->n, v->fpr);
	fw_bundle_verified_free(v);
	return CLI_OK;
}

static void mirror_print_import(const struct fw_bundle_verified *v, const struct fw_bundle_import_result *res,
				size_t n)
{
	size_t bad = 0;

	for (size_t i = 0; i < n; i++) {
		printf("object %lld %s: %s", (long long)res[i].id, res[i].sha256, fw_object_state_name(res[i].state));
		if (!fw_object_state_servable(res[i].state)) {
			printf(" (%s: %s)", fw_verdict_name(res[i].verdict), res[i].reason);
			bad++;
		}
		printf("\n");
	}
	printf("imported the bundle of site %s, sequence %lld: %zu object(s), %zu servable, %zu held back\n", v->site,
	       (long long)v->m->sequence, n, n - bad, bad);
}

/* The policy's sandbox types, as fwgate scan hands them to the scanner. */
static int mirror_policy_types(struct cli_ctx *ctx, unsigned *types)
{
	struct fw_policy *pol = NULL;
	int rc = cli_load_policy(ctx->cfg, NULL, NULL, &pol);

	*types = 0;
	if (rc != CLI_OK)
		return rc;
	if (pol->sandboxing.enabled)
		for (unsigned t = 0; t < FW_FT_COUNT; t++)
			if (pol->sandboxing.file_types[t])
				*types |= 1u << t;
	fw_policy_free(pol);
	return CLI_OK;
}

static int mirror_import_run(struct cli_ctx *ctx, struct fw_store *st, const struct fw_bundle_verified *v)
{
	struct fw_bundle_import_opts o = { .cfg = ctx->cfg, .store = st, .who = cli_login_name() };
	struct fw_scanner_opts so = { .exe = "/proc/self/exe" };
	struct fw_bundle_import_result *res = NULL;
	char tmp[1024], samples[1024];
	struct fw_err err;
	size_t n = 0;
	int rc = mirror_policy_types(ctx, &o.sandbox_types);

	if (rc != CLI_OK)
		return rc;
	fw_err_clear(&err);
	if (cli_tmp_dir_make(tmp, sizeof(tmp)) != 0)
		return fprintf(stderr, "fwgate mirror: cannot make a temporary directory: %s\n", strerror(errno)), CLI_ERROR;
	if (cli_tmp_dir_make(samples, sizeof(samples)) != 0) {
		fprintf(stderr, "fwgate mirror: cannot make a temporary directory: %s\n", strerror(errno));
		cli_tmp_dir_remove(tmp);
		return CLI_ERROR;
	}
	so.tmp_dir = tmp;
	so.samples_dir = samples;
	o.samples_dir = samples;
	if (fw_scanner_start(&o.scanner, ctx->cfg, &so, &err) != 0) {
		fprintf(stderr, "fwgate mirror: %s\n", fw_err_msg(&err));
		rc = CLI_ERROR;
		goto out;
	}
	rc = fw_bundle_import(&o, v, &res, &n, &err);
	if (rc != 0) {
		fprintf(stderr, "fwgate mirror: import %s: %s (nothing imported)\n", rc > 0 ? "refused" : "failed",
			fw_err_msg(&err));
		rc = rc > 0 ? CLI_BLOCKED : CLI_ERROR;
		goto out;
	}
	mirror_print_import(v, res, n);
	rc = CLI_OK;
out:
	free(res);
	fflush(stdout);
	fw_scanner_stop(o.scanner);
	cli_tmp_dir_remove(samples);
	cli_tmp_dir_remove(tmp);
	return rc;
}

/* An import holds every object's spool file open until its one commit:
 * the soft limit on descriptors goes up to the hard one (a bundle of more
 * objects than that fails before anything is committed). */
static void mirror_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			fprintf(stderr, "fwgate mirror: cannot raise the limit on open files: %s\n", strerror(errno));
	}
}

static int mirror_import(struct cli_ctx *ctx, int argc, char **argv)
{
	struct fw_bundle_verified *v = NULL;
	struct fw_store *st = NULL;
	struct fw_err err;
	int rc;

	if (argc != 3 || cli_is_option(argv[2]))
		return cli_usage_error("mirror", "import needs one DIR");
	mirror_raise_nofile();
	rc = cli_store_open(ctx, "mirror", &st);
	if (rc != CLI_OK)
		return rc;
	fw_err_clear(&err);
	rc = fw_bundle_verify(ctx->cfg, argv[2], &v, &err);
	if (rc != 0) {
		fprintf(stderr, "fwgate mirror: import %s: %s (nothing imported)\n", rc > 0 ? "refused" : "failed",
			fw_err_msg(&err));
		rc = rc > 0 ? CLI_BLOCKED : CLI_ERROR;
	} else {
		rc = mirror_import_run(ctx, st, v);
	}
	fw_bundle_verified_free(v);
	fw_store_close(st);
	return rc;
}

int cmd_mirror(struct cli_ctx *ctx, int argc, char **argv)
{
	if (argc < 2)
		return cli_usage_error("mirror", "needs keygen, export, verify, import or user");
	if (strcmp(argv[1], "keygen") == 0)
		return mirror_keygen(ctx, argc);
	if (strcmp(argv[1], "export") == 0)
		return mirror_export(ctx, argc, argv);
	if (strcmp(argv[1], "verify") == 0)
		return mirror_verify(ctx, argc, argv);
	if (strcmp(argv[1], "import") == 0)
		return mirror_import(ctx, argc, argv);
	if (strcmp(argv[1], "user") == 0)
		return cmd_mirror_user(ctx, argc - 1, argv + 1);
	return cli_usage_error("mirror", "unknown subcommand \"%s\"", argv[1]);
}
