/* fwgate quarantine show ID: one held-back object for people (what it is,
 * why it is held, where it came from, the member tree of its latest scan
 * with types, sizes, hashes and signatures, its sandbox jobs, the open
 * release request and its audit rows), or the store's record as JSON with
 * --json. Reads only the record fw_store_object_show gives. */
#include <stdio.h>
#include <string.h>

#include "cli/cli_quarantine.h"

/* A hash cut for a table (the object's own is printed whole). */
#define SHOW_HASH_SHORT 16

static long long show_int(json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

static void show_head(json_t *doc)
{
	json_t *req = json_object_get(doc, "request");

	printf("object %lld: %s, verdict %s\n", show_int(doc, "id"), cli_json_str(doc, "state"),
	       cli_json_str(doc, "verdict"));
	printf("  reason      %s\n", cli_json_str(doc, "reason"));
	printf("  sha256      %s\n", cli_json_str(doc, "sha256"));
	printf("  size        %lld bytes, %s (%s)\n", show_int(doc, "size"), cli_json_str(doc, "file_type"),
	       cli_json_str(doc, "mime"));
	cli_print_time("  first seen  ", json_object_get(doc, "first_seen"));
	printf("\n  blob        %s\n", cli_json_str(doc, "blob"));
	if (json_is_string(json_object_get(doc, "reviewed_by"))) {
		printf("  reviewed    by %s, ", cli_json_str(doc, "reviewed_by"));
		cli_print_time("", json_object_get(doc, "reviewed_at"));
		printf(": %s\n", cli_json_str(doc, "review_reason"));
	}
	if (json_is_object(req)) {
		printf("  request     release requested by %s via %s%s, ", cli_json_str(req, "requested_by"),
		       cli_json_str(req, "via"),
		       json_is_true(json_object_get(req, "override_infected")) ? " (override of the infected verdict)" : "");
		cli_print_time("", json_object_get(req, "requested_at"));
		printf(": %s\n", cli_json_str(req, "reason"));
	}
}

static void show_urls(json_t *doc)
{
	json_t *v;
	size_t i;

	printf("\nURLs\n");
	json_array_foreach(json_object_get(doc, "urls"), i, v) {
		printf("  %s\n", cli_json_str(v, "url"));
		cli_print_time("      fetched ", json_object_get(v, "fetched_at"));
		cli_print_time(", verified ", json_object_get(v, "verified_at"));
		printf("\n");
	}
}

/* The signatures a member carries, "name, name" into buf. */
static void show_member_signatures(json_t *sigs, const char *path, char *buf, size_t len)
{
	size_t used = 0, i;
	json_t *s;

	buf[0] = '\0';
	json_array_foreach(sigs, i, s) {
		int n;

		if (strcmp(cli_json_str(s, "member"), path) != 0)
			continue;
		n = snprintf(buf + used, len - used, "%s%s", used > 0 ? ", " : "", cli_json_str(s, "name"));
		if (n < 0 || (size_t)n >= len - used)
			return;
		used += (size_t)n;
	}
}

/* The member tree: one line per node, indented by depth, its own name
 * (the chain's last link), type, size, hash and verdict, then its
 * signatures. */
static void show_members(json_t *scan)
{
	json_t *doc = json_object_get(scan, "doc"), *sigs = json_object_get(doc, "signatures"), *m;
	char sig[512];
	size_t i;

	printf("\nMembers (scan %lld, ", show_int(scan, "id"));
	cli_print_time("", json_object_get(scan, "time"));
	printf(", %s)\n", cli_json_str(scan, "engine"));
	if (!json_is_array(json_object_get(doc, "members"))) {
		printf("  (the scan kept no member list)\n");
		return;
	}
	printf("  %-48s %-15s %12s  %-16s  %s\n", "MEMBER", "TYPE", "SIZE", "SHA256", "VERDICT");
	printf("  %-48s %-15s %12lld  %-16.16s  %s\n", cli_json_str(doc, "path"), cli_json_str(doc, "file_type"),
	       show_int(doc, "size"), cli_json_str(doc, "sha256"), cli_json_str(doc, "verdict"));
	json_array_foreach(json_object_get(doc, "members"), i, m) {
		const char *path = cli_json_str(m, "path"), *name = strrchr(path, '!');
		int depth = (int)show_int(m, "depth");

		depth = depth < 0 ? 0 : depth > 12 ? 12 : depth;
		printf("  %*s%-*s %-15s %12lld  %-*.*s  %s\n", 2 * depth, "", 48 - 2 * depth, name != NULL ? name + 1 : path,
		       cli_json_str(m, "file_type"), show_int(m, "size"), SHOW_HASH_SHORT, SHOW_HASH_SHORT,
		       cli_json_str(m, "sha256"), cli_json_str(m, "verdict"));
		show_member_signatures(sigs, path, sig, sizeof(sig));
		if (sig[0] != '\0')
			printf("  %*s  signature: %s\n", 2 * depth, "", sig);
	}
	json_array_foreach(json_object_get(doc, "signatures"), i, m)
		if (strcmp(cli_json_str(m, "member"), cli_json_str(doc, "path")) == 0)
			printf("  signature on the package itself: %s\n", cli_json_str(m, "name"));
}

static void show_scans(json_t *doc)
{
	json_t *scans = json_object_get(doc, "scans"), *last, *reasons, *r;
	size_t n = json_array_size(scans), i;

	printf("\nScans: %zu\n", n);
	if (n == 0)
		return;
	last = json_array_get(scans, n - 1);
	reasons = json_object_get(json_object_get(last, "doc"), "reasons");
	json_array_foreach(reasons, i, r)
		printf("  reason: %s\n", json_string_value(r) != NULL ? json_string_value(r) : "");
	show_members(last);
}

static void show_sandbox(json_t *doc)
{
	json_t *jobs = json_object_get(doc, "sandbox"), *j;
	size_t i;

	if (json_array_size(jobs) == 0)
		return;
	printf("\nSandbox jobs\n");
	json_array_foreach(jobs, i, j) {
		printf("  #%-5lld %-6s %-8s %-10s score %3lld  %s\n", show_int(j, "id"), cli_json_str(j, "backend"),
		       cli_json_str(j, "state"), cli_json_str(j, "verdict")[0] ? cli_json_str(j, "verdict") : "-",
		       show_int(j, "score"), cli_json_str(j, "member"));
		if (cli_json_str(j, "error")[0] != '\0')
			printf("         error: %s\n", cli_json_str(j, "error"));
	}
}

static void show_audit(json_t *doc)
{
	json_t *rows = json_object_get(doc, "audit"), *r;
	size_t i;

	printf("\nAudit\n");
	if (json_array_size(rows) == 0)
		printf("  (none)\n");
	json_array_foreach(rows, i, r) {
		printf("  #%-5lld ", show_int(r, "id"));
		cli_print_time("", json_object_get(r, "time"));
		printf(" %-18s %-12s %s\n", cli_json_str(r, "action"), cli_json_str(r, "who"), cli_json_str(r, "detail"));
	}
}

int cli_quarantine_show(struct fw_store *st, const struct cli_store_opts *o)
{
	struct fw_err err;
	json_t *doc = NULL;
	int64_t id;
	int rc;

	if (o->n_args != 2)
		return cli_usage_error("quarantine", "show needs one object id");
	rc = cli_parse_id("quarantine", o->args[1], &id);
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
	if (o->json) {
		rc = cli_print_json(doc);
	} else {
		show_head(doc);
		show_urls(doc);
		show_scans(doc);
		show_sandbox(doc);
		show_audit(doc);
		rc = CLI_OK;
	}
	json_decref(doc);
	return rc;
}
