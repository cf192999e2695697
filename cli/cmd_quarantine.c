/* fwgate quarantine list | show | release | reject | cancel | requests:
 * staff review of what the gateway holds back, from the command line. This
 * file parses, lists and dispatches; the decisions are
 * cmd_quarantine_review.c's, the object for people cmd_quarantine_show.c's.
 * Holds no store logic: store/ decides and records. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_quarantine.h"

#define LIST_PAGE_MAX 1000

static void list_print_row(json_t *v)
{
	json_t *req = json_object_get(v, "request");

	printf("%-6lld %-12s %-12s %12lld  ", (long long)json_integer_value(json_object_get(v, "id")),
	       cli_json_str(v, "state"), cli_json_str(v, "verdict"),
	       (long long)json_integer_value(json_object_get(v, "size")));
	cli_print_time("", json_object_get(v, "first_seen"));
	printf(" %s\n%63s%s\n", cli_json_str(v, "url"), "", cli_json_str(v, "reason"));
	if (json_is_object(req))
		printf("%63srelease requested by %s: %s\n", "", cli_json_str(req, "requested_by"),
		       cli_json_str(req, "reason"));
}

/* --limit N (1..1000) and --before ID into q; all pages when --limit is
 * not given. */
static int list_query(const struct cli_store_opts *o, struct fw_quarantine_query *q, bool *all_pages)
{
	char *end;
	long v;

	memset(q, 0, sizeof(*q));
	q->state = o->state;
	q->verdict = o->verdict;
	q->host = o->host;
	q->limit = LIST_PAGE_MAX;
	*all_pages = o->limit == NULL;
	if (o->limit != NULL) {
		errno = 0;
		v = strtol(o->limit, &end, 10);
		if (errno != 0 || end == o->limit || *end != '\0' || v < 1 || v > LIST_PAGE_MAX)
			return cli_usage_error("quarantine", "--limit takes 1 to %d, not \"%s\"", LIST_PAGE_MAX, o->limit);
		q->limit = (unsigned)v;
	}
	if (o->before != NULL && cli_parse_id("quarantine", o->before, &q->before_id) != CLI_OK)
		return CLI_ERROR;
	return CLI_OK;
}

/* The rows of the query into list: one page, or every page. */
static int list_fetch(struct fw_store *st, struct fw_quarantine_query *q, bool all_pages, json_t *list,
		      int64_t *total)
{
	struct fw_err err;
	json_t *items = NULL;
	size_t n;

	do {
		fw_err_clear(&err);
		if (fw_store_quarantine_page(st, q, &items, total, &err) != 0) {
			fprintf(stderr, "fwgate quarantine: %s\n", fw_err_msg(&err));
			return CLI_ERROR;
		}
		n = json_array_size(items);
		if (n > 0)
			q->before_id = json_integer_value(json_object_get(json_array_get(items, n - 1), "id"));
		if (json_array_extend(list, items) != 0) {
			json_decref(items);
			return CLI_ERROR;
		}
		json_decref(items);
	} while (all_pages && n == q->limit);
	return CLI_OK;
}

static int quarantine_list(struct fw_store *st, const struct cli_store_opts *o)
{
	struct fw_quarantine_query q;
	json_t *list = json_array(), *v;
	int64_t total = 0;
	bool all_pages;
	size_t i;
	int rc = list_query(o, &q, &all_pages);

	if (rc == CLI_OK && list == NULL)
		rc = CLI_ERROR;
	if (rc == CLI_OK)
		rc = list_fetch(st, &q, all_pages, list, &total);
	if (rc != CLI_OK) {
		json_decref(list);
		return rc;
	}
	if (o->json) {
		rc = cli_print_json(list);
	} else {
		printf("%-6s %-12s %-12s %12s  %-20s %s\n", "ID", "STATE", "VERDICT", "SIZE", "FIRST SEEN", "URL / REASON");
		json_array_foreach(list, i, v)
			list_print_row(v);
		if ((int64_t)json_array_size(list) < total)
			printf("%zu of %lld shown; the next page: --before %lld\n", json_array_size(list), (long long)total,
			       (long long)q.before_id);
	}
	json_decref(list);
	return rc;
}

static int quarantine_requests(struct fw_store *st, const struct cli_store_opts *o)
{
	struct fw_err err;
	json_t *list = NULL, *v;
	size_t i;
	int rc = CLI_OK;

	fw_err_clear(&err);
	if (fw_store_review_pending(st, &list, &err) != 0) {
		fprintf(stderr, "fwgate quarantine: %s\n", fw_err_msg(&err));
		return CLI_ERROR;
	}
	if (o->json) {
		rc = cli_print_json(list);
	} else if (json_array_size(list) == 0) {
		printf("no open release request\n");
	} else {
		printf("%-6s %-12s %-16s %-20s %s\n", "ID", "VERDICT", "REQUESTED BY", "WHEN", "URL / REASON");
		json_array_foreach(list, i, v) {
			printf("%-6lld %-12s %-16s ", (long long)json_integer_value(json_object_get(v, "object_id")),
			       cli_json_str(v, "verdict"), cli_json_str(v, "requested_by"));
			cli_print_time("", json_object_get(v, "requested_at"));
			printf(" %s\n%57s%s%s\n", cli_json_str(v, "url"), "", cli_json_str(v, "reason"),
			       json_is_true(json_object_get(v, "override_infected")) ? " (override of the infected verdict)"
										  : "");
		}
	}
	json_decref(list);
	return rc;
}

/* The options each subcommand takes. */
static int quarantine_check(const struct cli_store_opts *o)
{
	static const struct {
		const char *sub;
		unsigned allowed;
	} subs[] = {
		{ "list", CLI_OPT_JSON | CLI_OPT_STATE | CLI_OPT_VERDICT | CLI_OPT_HOST | CLI_OPT_LIMIT | CLI_OPT_BEFORE },
		{ "show", CLI_OPT_JSON },
		{ "release", CLI_OPT_JSON | CLI_OPT_REASON | CLI_OPT_AS | CLI_OPT_OVERRIDE },
		{ "reject", CLI_OPT_JSON | CLI_OPT_REASON | CLI_OPT_AS },
		{ "cancel", CLI_OPT_JSON | CLI_OPT_AS },
		{ "requests", CLI_OPT_JSON },
	};
	size_t k = 0;

	if (o->n_args == 0)
		return cli_usage_error("quarantine", "needs list, show, release, reject, cancel or requests");
	while (k < FW_ARRAY_LEN(subs) && strcmp(o->args[0], subs[k].sub) != 0)
		k++;
	if (k == FW_ARRAY_LEN(subs))
		return cli_usage_error("quarantine", "unknown subcommand \"%s\"", o->args[0]);
	if ((strcmp(o->args[0], "list") == 0 || strcmp(o->args[0], "requests") == 0) && o->n_args != 1)
		return cli_usage_error("quarantine", "%s takes no argument", o->args[0]);
	return cli_store_opts_allow("quarantine", o->args[0], o, subs[k].allowed);
}

int cmd_quarantine(struct cli_ctx *ctx, int argc, char **argv)
{
	struct fw_store *st = NULL;
	struct cli_store_opts o;
	const char *sub;
	int rc = cli_store_opts_parse("quarantine", argc, argv, &o);

	if (rc != CLI_OK)
		return rc;
	rc = quarantine_check(&o);
	if (rc != CLI_OK)
		return rc;
	sub = o.args[0];
	rc = cli_store_open(ctx, "quarantine", &st);
	if (rc != CLI_OK)
		return rc;
	if (strcmp(sub, "list") == 0)
		rc = quarantine_list(st, &o);
	else if (strcmp(sub, "requests") == 0)
		rc = quarantine_requests(st, &o);
	else if (strcmp(sub, "show") == 0)
		rc = cli_quarantine_show(st, &o);
	else
		rc = cli_quarantine_decide(st, &o, ctx->cfg->console.four_eyes);
	fw_store_close(st);
	return rc;
}
