/* fwgate allowlist check: argument parsing, output and exit codes around
 * allowlist/'s decision. The decision and its reason are allowlist/'s. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "cli/cli_policy.h"
#include "fwgate/allowlist.h"
#include "fwgate/fileio.h"

static const char *step_name(enum fw_decision_step s)
{
	switch (s) {
	case FW_STEP_MALFORMED:
		return "malformed or unsupported request";
	case FW_STEP_CATEGORY:
		return "blocked category";
	case FW_STEP_ALLOWLIST:
		return "allow-list";
	case FW_STEP_UNCATEGORIZED:
		return "uncategorized";
	case FW_STEP_ADDRESS:
		return "resolved address";
	case FW_STEP_RULE_ACTION:
		return "rule action";
	}
	return "unknown";
}

/* HOST[:PORT] or [IPv6][:PORT] into host (as written) and port (443 by default). */
static int split_target(const char *t, char *host, size_t len, uint16_t *port)
{
	const char *colon = NULL, *end = t + strlen(t);
	unsigned long v = 0;

	*port = 443;
	if (t[0] == '[') {
		const char *close = strchr(t, ']');

		if (close != NULL && close[1] == ':')
			colon = close + 1;
	} else if (strchr(t, ':') != NULL && strchr(t, ':') == strrchr(t, ':')) {
		colon = strchr(t, ':');
	}
	if (colon != NULL) {
		if (colon[1] == '\0' || end - colon - 1 > 5)
			return -1;
		for (const char *p = colon + 1; *p; p++) {
			if (*p < '0' || *p > '9')
				return -1;
			v = v * 10 + (unsigned long)(*p - '0');
		}
		if (v == 0 || v > 65535)
			return -1;
		*port = (uint16_t)v;
		end = colon;
	}
	if ((size_t)(end - t) >= len)
		return -1;
	memcpy(host, t, (size_t)(end - t));
	host[end - t] = '\0';
	return 0;
}

static int print_decision(const char *target, const struct fw_decision_result *d, bool json)
{
	json_t *o;
	int rc;

	if (!json) {
		printf("decision: %s\n", d->decision == FW_DECISION_ALLOW ? "allow" : "block");
		printf("step:     %d (%s)\n", (int)d->step, step_name(d->step));
		printf("reason:   %s\n", d->reason);
		if (d->category[0] != '\0')
			printf("category: %s\n", d->category);
		if (d->matched[0] != '\0')
			printf("matched:  %s\n", d->matched);
		return fflush(stdout) == 0 ? 0 : -1;
	}
	o = json_pack("{s:s, s:s, s:i, s:s, s:s, s:s, s:s}", "target", target, "decision",
		      d->decision == FW_DECISION_ALLOW ? "allow" : "block", "step", (int)d->step,
		      "step_name", step_name(d->step), "reason", d->reason, "category", d->category,
		      "matched", d->matched);
	if (o == NULL)
		return -1;
	rc = json_dumpf(o, stdout, JSON_COMPACT) == 0 && fputc('\n', stdout) != EOF && fflush(stdout) == 0 ? 0 : -1;
	json_decref(o);
	return rc;
}

/* Judges target with the configured policy, allow-list and categories. */
static int allowlist_check(struct cli_ctx *ctx, const char *target, bool json)
{
	struct fw_decision_result d;
	struct fw_allowlist *al = NULL;
	struct fw_policy *pol = NULL;
	char db[FW_PATH_MAX], host[FW_HOST_MAX + 2];
	struct fw_err err;
	uint16_t port = 443;
	int rc, r;

	fw_err_clear(&err);
	if (strstr(target, "://") == NULL && split_target(target, host, sizeof(host), &port) != 0)
		return cli_usage_error("allowlist", "\"%s\" is not a URL or HOST[:PORT]", target);
	rc = cli_load_config(ctx);
	if (rc != CLI_OK)
		return rc;
	rc = cli_load_policy(ctx->cfg, NULL, NULL, &pol);
	if (rc != CLI_OK)
		return rc;
	if (fw_path_join(db, sizeof(db), ctx->cfg->state.dir, "fwgate.db", &err) != 0 ||
	    fw_allowlist_open(&al, pol, ctx->cfg->policy.allowlist, db, &err) != 0) {
		fprintf(stderr, "fwgate allowlist: %s\n", fw_err_msg(&err));
		rc = CLI_ERROR;
		goto out;
	}
	if (strstr(target, "://") != NULL)
		r = fw_allowlist_decide_url(al, target, &d);
	else
		r = fw_allowlist_decide_connect(al, host, port, &d);
	if (r != 0) {
		fprintf(stderr, "fwgate allowlist: %s\n", d.reason);
		rc = CLI_ERROR;
		goto out;
	}
	if (print_decision(target, &d, json) != 0) {
		fprintf(stderr, "fwgate allowlist: cannot print the decision\n");
		rc = CLI_ERROR;
		goto out;
	}
	rc = d.decision == FW_DECISION_ALLOW ? CLI_OK : CLI_BLOCKED;
out:
	fw_allowlist_free(al);
	fw_policy_free(pol);
	return rc;
}

int cmd_allowlist(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *target = NULL;
	bool json = false;

	if (argc < 2)
		return cli_usage_error("allowlist", "needs a subcommand (check)");
	if (strcmp(argv[1], "check") != 0)
		return cli_usage_error("allowlist", "unknown subcommand \"%s\"", argv[1]);
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			json = true;
		} else if (strcmp(argv[i], "--") == 0 && i + 1 < argc && target == NULL) {
			target = argv[++i];
		} else if (cli_is_option(argv[i])) {
			return cli_usage_error("allowlist", "unknown option \"%s\"", argv[i]);
		} else if (target != NULL) {
			return cli_usage_error("allowlist", "takes one URL or HOST[:PORT]");
		} else {
			target = argv[i];
		}
	}
	if (target == NULL || target[0] == '\0')
		return cli_usage_error("allowlist", "check needs a URL or HOST[:PORT]");
	return allowlist_check(ctx, target, json);
}
