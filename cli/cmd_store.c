/* fwgate quarantine | audit | store | sandbox: review of quarantined
 * objects, the audit chain, the store's integrity and the sandbox queue,
 * from the command line. Holds
 * no store logic: store/ does all of it; this file parses arguments,
 * prints for people (or --json) and picks the exit code. */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli_policy.h"
#include "fwgate/fileio.h"
#include "fwgate/policy.h"
#include "fwgate/store.h"

/* Options shared by the subcommands. */
struct store_opts {
	bool json;
	bool override_infected;
	const char *reason;
	const char *who;
	const char *args[4];
	int n_args;
};

static int parse_opts(const char *cmd, int argc, char **argv, struct store_opts *o)
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

static int open_store(struct cli_ctx *ctx, const char *cmd, struct fw_store **st)
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

static int print_json(json_t *doc)
{
	char *text = json_dumps(doc, JSON_INDENT(2));

	if (text == NULL)
		return CLI_ERROR;
	printf("%s\n", text);
	free(text);
	return CLI_OK;
}

static void print_time(const char *label, json_t *v)
{
	time_t t = (time_t)json_integer_value(v);
	struct tm tm;
	char buf[64] = "-";

	if (t > 0 && gmtime_r(&t, &tm) != NULL)
		strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	printf("%s%s", label, buf);
}

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "";
}

static int parse_id(const char *cmd, const char *arg, int64_t *id)
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
static const char *reviewer(const struct store_opts *o)
{
	const struct passwd *pw;

	if (o->who != NULL)
		return o->who;
	pw = getpwuid(getuid());
	return pw != NULL ? pw->pw_name : "unknown";
}

static int quarantine_list(struct fw_store *st, const struct store_opts *o)
{
	struct fw_err err;
	json_t *list = NULL, *v;
	size_t i;
	int rc;

	fw_err_clear(&err);
	if (fw_store_quarantine_list(st, &list, &err) != 0) {
		fprintf(stderr, "fwgate quarantine: %s\n", fw_err_msg(&err));
		return CLI_ERROR;
	}
	if (o->json) {
		rc = print_json(list);
	} else {
		printf("%-6s %-12s %-12s %12s  %-20s %s\n", "ID", "STATE", "VERDICT", "SIZE", "FIRST SEEN", "URL / REASON");
		json_array_foreach(list, i, v) {
			printf("%-6lld %-12s %-12s %12lld  ", (long long)json_integer_value(json_object_get(v, "id")),
			       str(v, "state"), str(v, "verdict"), (long long)json_integer_value(json_object_get(v, "size")));
			print_time("", json_object_get(v, "first_seen"));
			printf(" %s\n%63s%s\n", str(v, "url"), "", str(v, "reason"));
		}
		rc = CLI_OK;
	}
	json_decref(list);
	return rc;
}

static int quarantine_show(struct fw_store *st, const struct store_opts *o)
{
	struct fw_err err;
	json_t *doc = NULL;
	int64_t id;
	int rc;

	if (o->n_args != 2)
		return cli_usage_error("quarantine", "show needs one object id");
	rc = parse_id("quarantine", o->args[1], &id);
	if (rc != CLI_OK)
		return rc;
	fw_err_clear(&err);
	rc = fw_store_object_show(st, id, &doc, &err);
	if (rc < 0) {
		fprintf(stderr, "fwgate quarantine: %s\n", fw_err_msg(&err));
		return CLI_ERROR;
	}
	if (rc == 1) {
		fprintf(stderr, "fwgate quarantine: no object %lld\n", (long long)id);
		return CLI_ERROR;
	}
	/* The whole record: members, signatures, reasons, scans, audit. */
	rc = print_json(doc);
	json_decref(doc);
	return rc;
}

static int quarantine_decide(struct fw_store *st, const struct store_opts *o, bool release)
{
	struct fw_err err;
	int64_t id;
	int rc;

	if (o->n_args != 2)
		return cli_usage_error("quarantine", "%s needs one object id", release ? "release" : "reject");
	if (o->reason == NULL || o->reason[0] == '\0')
		return cli_usage_error("quarantine", "%s needs --reason TEXT", release ? "release" : "reject");
	rc = parse_id("quarantine", o->args[1], &id);
	if (rc != CLI_OK)
		return rc;
	fw_err_clear(&err);
	rc = release ? fw_store_release(st, id, o->reason, reviewer(o), o->override_infected, &err)
		     : fw_store_reject(st, id, o->reason, reviewer(o), &err);
	if (rc != 0) {
		fprintf(stderr, "fwgate quarantine: %s\n", fw_err_msg(&err));
		return CLI_ERROR;
	}
	printf("object %lld %s by %s: %s\n", (long long)id, release ? "released" : "rejected", reviewer(o), o->reason);
	return CLI_OK;
}

int cmd_quarantine(struct cli_ctx *ctx, int argc, char **argv)
{
	struct fw_store *st = NULL;
	struct store_opts o;
	const char *sub;
	int rc = parse_opts("quarantine", argc, argv, &o);

	if (rc != CLI_OK)
		return rc;
	if (o.n_args == 0)
		return cli_usage_error("quarantine", "needs list, show, release or reject");
	sub = o.args[0];
	if (strcmp(sub, "list") != 0 && strcmp(sub, "show") != 0 && strcmp(sub, "release") != 0 &&
	    strcmp(sub, "reject") != 0)
		return cli_usage_error("quarantine", "unknown subcommand \"%s\"", sub);
	rc = open_store(ctx, "quarantine", &st);
	if (rc != CLI_OK)
		return rc;
	if (strcmp(sub, "list") == 0)
		rc = quarantine_list(st, &o);
	else if (strcmp(sub, "show") == 0)
		rc = quarantine_show(st, &o);
	else
		rc = quarantine_decide(st, &o, strcmp(sub, "release") == 0);
	fw_store_close(st);
	return rc;
}

static int audit_list(struct fw_store *st, const struct store_opts *o)
{
	struct fw_err err;
	json_t *list = NULL, *v;
	size_t i;
	int rc = CLI_OK;

	fw_err_clear(&err);
	if (fw_store_audit_list(st, &list, &err) != 0) {
		fprintf(stderr, "fwgate audit: %s\n", fw_err_msg(&err));
		return CLI_ERROR;
	}
	if (o->json) {
		rc = print_json(list);
	} else {
		json_array_foreach(list, i, v) {
			printf("%-6lld ", (long long)json_integer_value(json_object_get(v, "id")));
			print_time("", json_object_get(v, "time"));
			printf(" %-18s %-12s object %-6lld %s\n", str(v, "action"), str(v, "who"),
			       (long long)json_integer_value(json_object_get(v, "object_id")), str(v, "detail"));
		}
	}
	json_decref(list);
	return rc;
}

int cmd_audit(struct cli_ctx *ctx, int argc, char **argv)
{
	struct fw_store *st = NULL;
	struct store_opts o;
	struct fw_err err;
	int64_t bad = 0;
	int rc = parse_opts("audit", argc, argv, &o);

	if (rc != CLI_OK)
		return rc;
	if (o.n_args != 1 || (strcmp(o.args[0], "list") != 0 && strcmp(o.args[0], "verify") != 0))
		return cli_usage_error("audit", "needs list or verify");
	rc = open_store(ctx, "audit", &st);
	if (rc != CLI_OK)
		return rc;
	fw_err_clear(&err);
	if (strcmp(o.args[0], "list") == 0) {
		rc = audit_list(st, &o);
	} else {
		rc = fw_store_audit_verify(st, &bad, &err);
		if (rc == 0) {
			printf("audit chain intact\n");
			rc = CLI_OK;
		} else if (rc == 1) {
			printf("audit chain broken at row %lld: %s\n", (long long)bad, fw_err_msg(&err));
			rc = CLI_BLOCKED;
		} else {
			fprintf(stderr, "fwgate audit: %s\n", fw_err_msg(&err));
			rc = CLI_ERROR;
		}
	}
	fw_store_close(st);
	return rc;
}

int cmd_store(struct cli_ctx *ctx, int argc, char **argv)
{
	struct fw_store *st = NULL;
	struct store_opts o;
	struct fw_err err;
	unsigned n = 0;
	int rc = parse_opts("store", argc, argv, &o);

	if (rc != CLI_OK)
		return rc;
	if (o.n_args != 1 || (strcmp(o.args[0], "verify") != 0 && strcmp(o.args[0], "gc") != 0))
		return cli_usage_error("store", "needs verify or gc");
	rc = open_store(ctx, "store", &st);
	if (rc != CLI_OK)
		return rc;
	fw_err_clear(&err);
	if (strcmp(o.args[0], "verify") == 0) {
		if (fw_store_verify(st, stdout, &n, &err) != 0) {
			fprintf(stderr, "fwgate store: %s\n", fw_err_msg(&err));
			rc = CLI_ERROR;
		} else {
			printf("%u problem(s) found\n", n);
			rc = n == 0 ? CLI_OK : CLI_BLOCKED;
		}
	} else if (fw_store_gc(st, &n, &err) != 0) {
		fprintf(stderr, "fwgate store: %s\n", fw_err_msg(&err));
		rc = CLI_ERROR;
	} else {
		printf("%u unreferenced file(s) removed\n", n);
	}
	fw_store_close(st);
	return rc;
}

/* ------------------------------------------------------------ sandbox */

static int sandbox_list(struct fw_store *st, const struct store_opts *o)
{
	struct fw_err err;
	json_t *list = NULL, *v;
	size_t i;
	int rc = CLI_OK;

	fw_err_clear(&err);
	if (fw_store_sandbox_list(st, &list, &err) != 0) {
		fprintf(stderr, "fwgate sandbox: %s\n", fw_err_msg(&err));
		return CLI_ERROR;
	}
	if (o->json) {
		rc = print_json(list);
	} else {
		printf("%-6s %-8s %-8s %-15s %-10s %5s %4s  %-20s %s\n", "JOB", "STATE", "BACKEND", "TYPE", "VERDICT",
		       "SCORE", "TRY", "CREATED", "SHA-256 / ERROR");
		json_array_foreach(list, i, v) {
			printf("%-6lld %-8s %-8s %-15s %-10s %5lld %4lld  ",
			       (long long)json_integer_value(json_object_get(v, "id")), str(v, "state"), str(v, "backend"),
			       str(v, "file_type"), str(v, "verdict")[0] ? str(v, "verdict") : "-",
			       (long long)json_integer_value(json_object_get(v, "score")),
			       (long long)json_integer_value(json_object_get(v, "attempts")));
			print_time("", json_object_get(v, "created_at"));
			printf(" %s\n", str(v, "sha256"));
			if (str(v, "error")[0] != '\0')
				printf("%69s%s\n", "", str(v, "error"));
		}
	}
	json_decref(list);
	return rc;
}

static int sandbox_show(struct fw_store *st, const struct store_opts *o)
{
	struct fw_err err;
	json_t *doc = NULL;
	int64_t id;
	int rc;

	if (o->n_args != 2)
		return cli_usage_error("sandbox", "show needs one job id");
	rc = parse_id("sandbox", o->args[1], &id);
	if (rc != CLI_OK)
		return rc;
	fw_err_clear(&err);
	rc = fw_store_sandbox_show(st, id, &doc, &err);
	if (rc != 0) {
		fprintf(stderr, "fwgate sandbox: %s\n", fw_err_msg(&err));
		return CLI_ERROR;
	}
	rc = print_json(doc);
	json_decref(doc);
	return rc;
}

/* A retry only makes sense when something will run the job, on bytes
 * that are still there: refused otherwise, with the reason. */
static int sandbox_retry_possible(struct cli_ctx *ctx, struct fw_store *st, int64_t id)
{
	struct fw_sandbox_job job;
	struct fw_policy *pol = NULL;
	char dir[FW_PATH_MAX], path[FW_PATH_MAX];
	struct fw_err err;
	uint64_t size = 0;
	bool sandboxes;
	int rc, fd = -1;

	fw_err_clear(&err);
	rc = cli_load_policy(ctx->cfg, NULL, NULL, &pol);
	if (rc != CLI_OK)
		return rc;
	sandboxes = pol->sandboxing.enabled && ctx->cfg->sandbox.backend != FW_SANDBOX_NONE;
	fw_policy_free(pol);
	if (!sandboxes) {
		fprintf(stderr, "fwgate sandbox: the policy does not sandbox (or [sandbox] backend is none): "
			"nothing would run the job\n");
		return CLI_ERROR;
	}
	rc = fw_store_sandbox_get(st, id, &job, &err);
	if (rc <= 0) {
		fprintf(stderr, "fwgate sandbox: %s\n", rc < 0 ? fw_err_msg(&err) : "there is no such sandbox job");
		return CLI_ERROR;
	}
	if (fw_path_join(dir, sizeof(dir), ctx->cfg->state.dir, "samples", &err) == 0 &&
	    fw_path_join(path, sizeof(path), dir, job.sha256, &err) == 0 && access(path, R_OK) == 0)
		return CLI_OK;
	if (fw_store_open_any_blob(st, job.sha256, &fd, &size, &err) == 0) {
		close(fd);
		return CLI_OK;
	}
	fprintf(stderr, "fwgate sandbox: the bytes of job %lld (%s) are no longer kept (store gc removes the "
		"samples of finished jobs): fetch the package again to have it judged anew\n", (long long)id,
		job.sha256);
	return CLI_ERROR;
}

static int sandbox_retry(struct cli_ctx *ctx, struct fw_store *st, const struct store_opts *o)
{
	struct fw_err err;
	unsigned reopened = 0;
	int64_t id;
	int rc;

	if (o->n_args != 2)
		return cli_usage_error("sandbox", "retry needs one job id");
	rc = parse_id("sandbox", o->args[1], &id);
	if (rc != CLI_OK)
		return rc;
	rc = sandbox_retry_possible(ctx, st, id);
	if (rc != CLI_OK)
		return rc;
	fw_err_clear(&err);
	if (fw_store_sandbox_retry(st, id, reviewer(o), &reopened, &err) != 0) {
		fprintf(stderr, "fwgate sandbox: %s\n", fw_err_msg(&err));
		return CLI_ERROR;
	}
	printf("sandbox job %lld queued again by %s; %u object(s) pending again (the running gateway picks it up)\n",
	       (long long)id, reviewer(o), reopened);
	return CLI_OK;
}

/* analyze: files, not jobs; any number of them, --json only. */
static int sandbox_analyze_args(struct cli_ctx *ctx, int argc, char **argv)
{
	char **files = calloc((size_t)argc, sizeof(*files));
	bool json = false;
	int n = 0, rc;

	if (files == NULL)
		return CLI_ERROR;
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			json = true;
		} else if (cli_is_option(argv[i])) {
			free(files);
			return cli_usage_error("sandbox", "analyze takes no option \"%s\"", argv[i]);
		} else {
			files[n++] = argv[i];
		}
	}
	rc = cli_sandbox_analyze(ctx, files, n, json);
	free(files);
	return rc;
}

int cmd_sandbox(struct cli_ctx *ctx, int argc, char **argv)
{
	struct fw_store *st = NULL;
	struct store_opts o;
	const char *sub;
	int rc;

	if (argc > 1 && strcmp(argv[1], "analyze") == 0)
		return sandbox_analyze_args(ctx, argc, argv);
	rc = parse_opts("sandbox", argc, argv, &o);

	if (rc != CLI_OK)
		return rc;
	if (o.n_args == 0)
		return cli_usage_error("sandbox", "needs list, show, retry or analyze");
	sub = o.args[0];
	if (strcmp(sub, "list") != 0 && strcmp(sub, "show") != 0 && strcmp(sub, "retry") != 0)
		return cli_usage_error("sandbox", "unknown subcommand \"%s\"", sub);
	if (strcmp(sub, "list") == 0 && o.n_args != 1)
		return cli_usage_error("sandbox", "list takes no argument");
	if (o.reason != NULL || o.override_infected || (o.who != NULL && strcmp(sub, "retry") != 0) ||
	    (o.json && strcmp(sub, "list") != 0))
		return cli_usage_error("sandbox", "an option that %s does not take", sub);
	rc = open_store(ctx, "sandbox", &st);
	if (rc != CLI_OK)
		return rc;
	if (strcmp(sub, "list") == 0)
		rc = sandbox_list(st, &o);
	else if (strcmp(sub, "show") == 0)
		rc = sandbox_show(st, &o);
	else
		rc = sandbox_retry(ctx, st, &o);
	fw_store_close(st);
	return rc;
}
