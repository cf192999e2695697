/* fwgate categories import: argument parsing, output and exit codes around
 * allowlist/'s import of URL category lists. The import itself (parsing,
 * checks, the transaction) is allowlist/'s. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "fwgate/allowlist.h"
#include "fwgate/fileio.h"

static void print_skip(void *ctx, const char *file, uint64_t line, const char *why)
{
	(void)ctx;
	if (line == 0)
		fprintf(stderr, "fwgate categories: %s: %s\n", file, why);
	else
		fprintf(stderr, "fwgate categories: %s:%llu: skipped: %s\n", file, (unsigned long long)line, why);
}

static int parse_format(const char *s, enum fw_cat_format *fmt)
{
	if (strcmp(s, "ut1") == 0)
		*fmt = FW_CAT_UT1;
	else if (strcmp(s, "hosts") == 0)
		*fmt = FW_CAT_HOSTS;
	else if (strcmp(s, "list") == 0)
		*fmt = FW_CAT_LIST;
	else
		return -1;
	return 0;
}

/* The database lives in the state directory, which the first import may create. */
static int categories_run(struct cli_ctx *ctx, enum fw_cat_format fmt, const char *path,
			  const char *category)
{
	struct fw_cat_import_stats st;
	char db[FW_PATH_MAX];
	struct fw_err err;
	int rc;

	fw_err_clear(&err);
	rc = cli_load_config(ctx);
	if (rc != CLI_OK)
		return rc;
	if (mkdir(ctx->cfg->state.dir, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "fwgate categories: cannot create the state directory \"%s\": %s\n",
			ctx->cfg->state.dir, strerror(errno));
		return CLI_ERROR;
	}
	if (fw_path_join(db, sizeof(db), ctx->cfg->state.dir, "fwgate.db", &err) != 0 ||
	    fw_categories_import(db, fmt, path, category, print_skip, NULL, &st, &err) != 0) {
		fprintf(stderr, "fwgate categories: %s; nothing was imported\n", fw_err_msg(&err));
		return CLI_ERROR;
	}
	printf("imported %llu new domain(s) and %llu new URL(s) in %u categor%s into %s; %llu line(s) skipped\n",
	       (unsigned long long)st.domains, (unsigned long long)st.urls, st.categories,
	       st.categories == 1 ? "y" : "ies", db, (unsigned long long)st.skipped);
	return fflush(stdout) == 0 ? CLI_OK : CLI_ERROR;
}

int cmd_categories(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *format = NULL, *category = NULL, *path = NULL;
	enum fw_cat_format fmt = FW_CAT_LIST;

	if (argc < 2)
		return cli_usage_error("categories", "needs a subcommand (import)");
	if (strcmp(argv[1], "import") != 0)
		return cli_usage_error("categories", "unknown subcommand \"%s\"", argv[1]);
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--format") == 0) {
			if (i + 1 >= argc)
				return cli_usage_error("categories", "--format needs ut1, hosts or list");
			format = argv[++i];
		} else if (strcmp(argv[i], "--category") == 0) {
			if (i + 1 >= argc)
				return cli_usage_error("categories", "--category needs a NAME");
			category = argv[++i];
		} else if (strncmp(argv[i], "--format=", 9) == 0) {
			format = argv[i] + 9;
		} else if (strncmp(argv[i], "--category=", 11) == 0) {
			category = argv[i] + 11;
		} else if (strcmp(argv[i], "--") == 0 && i + 1 < argc && path == NULL) {
			path = argv[++i];
		} else if (cli_is_option(argv[i])) {
			return cli_usage_error("categories", "unknown option \"%s\"", argv[i]);
		} else if (path != NULL) {
			return cli_usage_error("categories", "takes one DIR or FILE");
		} else {
			path = argv[i];
		}
	}
	if (format == NULL || parse_format(format, &fmt) != 0)
		return cli_usage_error("categories", "--format must be ut1, hosts or list");
	if (path == NULL || path[0] == '\0')
		return cli_usage_error("categories", "import needs a DIR or FILE");
	if (fmt == FW_CAT_UT1 && category != NULL)
		return cli_usage_error("categories", "--category is for hosts and list: ut1 takes the "
				       "categories from DIR's sub-directories");
	if (fmt != FW_CAT_UT1 && (category == NULL || category[0] == '\0'))
		return cli_usage_error("categories", "--format %s needs --category NAME", format);
	return categories_run(ctx, fmt, path, category);
}
