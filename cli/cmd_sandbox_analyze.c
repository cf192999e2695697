/* fwgate sandbox analyze FILE...: the local sandbox backend offline. Each
 * file goes through the scanner (typing, unpacking, ClamAV) with the
 * policy's sandbox types; every member of those types is then analyzed by
 * the static analyzer in a scanner worker, exactly as the gateway's local
 * backend does, and its score mapped through [sandbox] suspicious_score
 * and malicious_score. For staff calibrating thresholds and rules, and for
 * a second look at a quarantined package. Nothing is stored. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli_policy.h"
#include "fwgate/fileio.h"
#include "fwgate/policy.h"
#include "fwgate/sandbox.h"
#include "fwgate/scanner.h"

struct analyze_run {
	const struct fw_config *cfg;
	struct fw_scanner *scanner;
	const char *samples;
	unsigned types;
	bool json;
	int rc;
};

/* One sandbox member: its sample (the file itself at depth 0). */
static json_t *analyze_member(struct analyze_run *r, int file_fd, const json_t *m)
{
	const char *sha = json_string_value(json_object_get(m, "sha256"));
	const char *type = json_string_value(json_object_get(m, "file_type"));
	json_t *analysis = NULL, *out;
	char path[FW_PATH_MAX];
	struct fw_err err;
	int fd = -1;

	fw_err_clear(&err);
	if (json_integer_value(json_object_get(m, "depth")) == 0) {
		fd = dup(file_fd);
	} else if (sha != NULL && fw_path_join(path, sizeof(path), r->samples, sha, &err) == 0) {
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	}
	out = json_pack("{s:O, s:O, s:O}", "path", json_object_get(m, "path"), "file_type",
			json_object_get(m, "file_type"), "sha256", json_object_get(m, "sha256"));
	if (out == NULL) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	if (fd < 0 || type == NULL) {
		json_object_set_new(out, "error", json_string(fw_err_isset(&err) ? fw_err_msg(&err) : "the sample is missing"));
		return out;
	}
	if (fw_scanner_analyze_fd(r->scanner, fd, type, r->cfg->sandbox.timeout_seconds, &analysis, &err) != 0) {
		json_object_set_new(out, "error", json_string(fw_err_msg(&err)));
	} else {
		json_int_t score = json_integer_value(json_object_get(analysis, "score"));

		score = score > 100 ? 100 : score;
		json_object_set_new(out, "score", json_integer(score));
		json_object_set_new(out, "verdict", json_string(fw_job_verdict_name(fw_sandbox_judge(r->cfg, (int)score))));
		json_object_set_new(out, "analysis", analysis);
	}
	close(fd);
	return out;
}

static void print_text(const char *file, const struct fw_scan_result *res, const json_t *members)
{
	const json_t *m, *f;
	size_t i, j;

	printf("%s: scan %s%s%s; %zu member(s) for the sandbox\n", file, fw_verdict_name(res->verdict),
	       res->reason[0] ? ": " : "", res->reason, json_array_size(members));
	json_array_foreach(members, i, m) {
		if (json_object_get(m, "error") != NULL) {
			printf("  %s (%s): error: %s\n", json_string_value(json_object_get(m, "path")),
			       json_string_value(json_object_get(m, "file_type")),
			       json_string_value(json_object_get(m, "error")));
			continue;
		}
		printf("  %s (%s): %s, score %lld\n", json_string_value(json_object_get(m, "path")),
		       json_string_value(json_object_get(m, "file_type")),
		       json_string_value(json_object_get(m, "verdict")),
		       (long long)json_integer_value(json_object_get(m, "score")));
		json_array_foreach(json_object_get(json_object_get(m, "analysis"), "findings"), j, f)
			printf("    %-22s %4lld  %s\n", json_string_value(json_object_get(f, "kind")),
			       (long long)json_integer_value(json_object_get(f, "weight")),
			       json_string_value(json_object_get(f, "detail")));
	}
}

static void analyze_file(struct analyze_run *r, const char *file)
{
	struct fw_scan_result res = { 0 };
	json_t *members = json_array(), *m, *one;
	struct stat st;
	size_t i;
	int fd = open(file, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		fprintf(stderr, "fwgate sandbox: %s: %s\n", file, fd < 0 ? strerror(errno) : "not a regular file");
		if (fd >= 0)
			close(fd);
		json_decref(members);
		r->rc = CLI_ERROR;
		return;
	}
	if (fw_scanner_scan_fd(r->scanner, fd, file, NULL, r->types, &res) != 0)
		fw_scan_result_fail(&res, "the scanner refused the job");
	json_array_foreach(json_object_get(res.doc, "sandbox"), i, m) {
		one = analyze_member(r, fd, m);
		if (one == NULL || json_array_append_new(members, one) != 0) {
			r->rc = CLI_ERROR;
			break;
		}
		if (json_object_get(one, "error") != NULL)
			r->rc = CLI_ERROR;
		else if (strcmp(json_string_value(json_object_get(one, "verdict")), "benign") != 0 && r->rc == CLI_OK)
			r->rc = CLI_BLOCKED;
	}
	if (res.verdict != FW_VERDICT_CLEAN && r->rc == CLI_OK)
		r->rc = CLI_BLOCKED;
	if (r->json) {
		json_t *doc = json_pack("{s:s, s:s, s:s, s:o}", "path", file, "scan_verdict",
					fw_verdict_name(res.verdict), "scan_reason", res.reason, "members", members);
		char *text = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;

		if (text != NULL)
			printf("%s\n", text);
		free(text);
		json_decref(doc);
	} else {
		print_text(file, &res, members);
		json_decref(members);
	}
	fw_scan_result_clear(&res);
	close(fd);
}

int cli_sandbox_analyze(struct cli_ctx *ctx, char *const *files, int n, bool json)
{
	struct analyze_run r = { .json = json, .rc = CLI_OK };
	struct fw_policy *pol = NULL;
	char tmp[1024], samples[1024];
	struct fw_scanner_opts so = { .exe = "/proc/self/exe" };
	struct fw_err err;
	int rc;

	if (n == 0)
		return cli_usage_error("sandbox", "analyze names no file");
	rc = cli_load_config(ctx);
	if (rc == CLI_OK)
		rc = cli_load_policy(ctx->cfg, NULL, NULL, &pol);
	if (rc != CLI_OK)
		return rc;
	/* The policy's types; every type the sandbox knows when the policy
	 * does not sandbox (asked for explicitly here). */
	for (unsigned t = 0; t < FW_FT_COUNT; t++)
		if (pol->sandboxing.enabled ? pol->sandboxing.file_types[t] : t != FW_FT_OTHER)
			r.types |= 1u << t;
	fw_policy_free(pol);
	r.cfg = ctx->cfg;
	fw_err_clear(&err);
	if (cli_tmp_dir_make(tmp, sizeof(tmp)) != 0) {
		fprintf(stderr, "fwgate sandbox: cannot make a temporary directory: %s\n", strerror(errno));
		return CLI_ERROR;
	}
	if (cli_tmp_dir_make(samples, sizeof(samples)) != 0) {
		fprintf(stderr, "fwgate sandbox: cannot make a temporary directory: %s\n", strerror(errno));
		cli_tmp_dir_remove(tmp);
		return CLI_ERROR;
	}
	r.samples = samples;
	so.tmp_dir = tmp;
	so.samples_dir = samples;
	so.info = json ? NULL : stderr;
	if (fw_scanner_start(&r.scanner, ctx->cfg, &so, &err) != 0) {
		fprintf(stderr, "fwgate sandbox: %s\n", fw_err_msg(&err));
		r.rc = CLI_ERROR;
	} else {
		for (int i = 0; i < n; i++)
			analyze_file(&r, files[i]);
	}
	fflush(stdout);
	fw_scanner_stop(r.scanner);
	cli_tmp_dir_remove(samples);
	cli_tmp_dir_remove(tmp);
	return r.rc;
}
