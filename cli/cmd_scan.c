/* fwgate scan FILE... [--json]: the gateway's inspection pipeline, offline,
 * with the same workers and limits. Prints one line (or one JSON document)
 * per file; exit 0 all clean, 1 any not clean, 2 error. Holds no scanning
 * logic: scanner/ does all of it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli_policy.h"
#include "fwgate/policy.h"
#include "fwgate/scanner.h"

struct scan_file {
	const char *path;
	int fd;
	char open_error[256];
	struct fw_scan_result res;
};

struct scan_run {
	struct fw_scanner *scanner;
	unsigned sandbox_types;    /* the policy's: such members are listed in sandbox[] */
	struct scan_file *files;
	size_t n;
	atomic_size_t next;
	atomic_size_t done;
	bool stop_ticker;
	pthread_mutex_t lock;
	pthread_cond_t cond;
};

static void *scan_thread(void *arg)
{
	struct scan_run *r = arg;
	size_t i;

	while ((i = atomic_fetch_add(&r->next, 1)) < r->n) {
		struct scan_file *f = &r->files[i];

		if (f->fd >= 0 && fw_scanner_scan_fd(r->scanner, f->fd, f->path, NULL, r->sandbox_types, &f->res) != 0)
			fw_scan_result_fail(&f->res, "the scanner refused the job");
		atomic_fetch_add(&r->done, 1);
	}
	return NULL;
}

/* Progress on a terminal only: a pipe or a file gets the results alone. */
static void *ticker_thread(void *arg)
{
	struct scan_run *r = arg;
	struct timespec t0, now, until;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	pthread_mutex_lock(&r->lock);
	while (!r->stop_ticker) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 1;
		pthread_cond_timedwait(&r->cond, &r->lock, &until);
		if (r->stop_ticker)
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		fprintf(stderr, "\rfwgate scan: %zu of %zu file(s) done, %lds ", atomic_load(&r->done), r->n,
			(long)(now.tv_sec - t0.tv_sec));
	}
	pthread_mutex_unlock(&r->lock);
	fprintf(stderr, "\r%60s\r", "");
	return NULL;
}

/* Whether reasons[i] is the one a signature entry names. */
static bool reason_of_signature(const json_t *sigs, size_t i)
{
	const json_t *v;
	size_t k;

	json_array_foreach(sigs, k, v)
		if (json_is_integer(json_object_get(v, "reason")) &&
		    json_integer_value(json_object_get(v, "reason")) == (json_int_t)i)
			return true;
	return false;
}

/* The YARA matches a signature line does not show already: the
 * suspicious ones and the weighted ones (which only the sandbox
 * analyzer's score counts), with their tags and member chain. */
static void print_yara(const json_t *doc)
{
	const json_t *v;
	size_t i;

	json_array_foreach(json_object_get(doc, "yara"), i, v) {
		const char *effect = json_string_value(json_object_get(v, "effect")), *tags;

		if (effect == NULL || strcmp(effect, "malicious") == 0)
			continue;
		tags = json_string_value(json_object_get(v, "tags"));
		printf("  %s: YARA %s%s%s%s (%s", json_string_value(json_object_get(v, "member")),
		       json_string_value(json_object_get(v, "rule")), tags != NULL && tags[0] ? " [" : "",
		       tags != NULL ? tags : "", tags != NULL && tags[0] ? "]" : "", effect);
		if (strcmp(effect, "weight") == 0)
			printf(" %lld", (long long)json_integer_value(json_object_get(v, "weight")));
		printf(")\n");
	}
}

static void print_text(const struct scan_file *f)
{
	json_t *doc = f->res.doc, *sigs, *reasons, *v;
	size_t i;

	if (f->res.verdict == FW_VERDICT_CLEAN) {
		json_t *sb = json_object_get(doc, "sandbox");

		if (json_array_size(sb) == 0) {
			printf("%s: clean\n", f->path);
			print_yara(doc);
			return;
		}
		/* The gateway would hold it for the sandbox; scan does not run it. */
		printf("%s: clean; %zu member(s) for the sandbox before the gateway approves it:\n", f->path,
		       json_array_size(sb));
		json_array_foreach(sb, i, v)
			printf("  %s (%s)\n", json_string_value(json_object_get(v, "path")),
			       json_string_value(json_object_get(v, "file_type")));
		print_yara(doc);
		return;
	}
	printf("%s: %s (%s)\n", f->path, fw_verdict_name(f->res.verdict), f->res.reason);
	sigs = json_object_get(doc, "signatures");
	json_array_foreach(sigs, i, v)
		printf("  %s: infected %s\n", json_string_value(json_object_get(v, "member")),
		       json_string_value(json_object_get(v, "name")));
	/* The other reasons: not the first (shown above), not one a
	 * signature gave (its entry names the reason's index). */
	reasons = json_object_get(doc, "reasons");
	json_array_foreach(reasons, i, v)
		if (i > 0 && !reason_of_signature(sigs, i))
			printf("  %s\n", json_string_value(v));
	print_yara(doc);
}

static void print_json(const struct scan_file *f, const char *engine)
{
	json_t *doc = f->res.doc ? json_incref(f->res.doc) : json_object();
	char *text;

	json_object_set_new(doc, "path", json_string(f->path));
	json_object_set_new(doc, "verdict", json_string(fw_verdict_name(f->res.verdict)));
	if (json_object_get(doc, "reasons") == NULL)
		json_object_set_new(doc, "reasons", json_pack("[s]", f->res.reason));
	json_object_set_new(doc, "engine", json_pack("{s:s}", "signatures", engine));
	text = json_dumps(doc, JSON_COMPACT);
	if (text != NULL)
		printf("%s\n", text);
	free(text);
	json_decref(doc);
}

static int open_files(struct scan_run *r, char **paths)
{
	int errors = 0;

	for (size_t i = 0; i < r->n; i++) {
		struct scan_file *f = &r->files[i];
		struct stat st;

		f->path = paths[i];
		f->fd = open(f->path, O_RDONLY | O_CLOEXEC);
		if (f->fd < 0) {
			snprintf(f->open_error, sizeof(f->open_error), "%s", strerror(errno));
		} else if (fstat(f->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
			snprintf(f->open_error, sizeof(f->open_error), "not a regular file");
			close(f->fd);
			f->fd = -1;
		}
		if (f->fd < 0) {
			fprintf(stderr, "fwgate scan: %s: %s\n", f->path, f->open_error);
			errors++;
		}
	}
	return errors;
}

static void run_all(struct scan_run *r, unsigned threads)
{
	pthread_t th[64], tick;
	unsigned n = 0;
	bool ticking = isatty(STDERR_FILENO) && pthread_create(&tick, NULL, ticker_thread, r) == 0;

	if (threads > FW_ARRAY_LEN(th))
		threads = FW_ARRAY_LEN(th);
	for (; n < threads && n < r->n; n++)
		if (pthread_create(&th[n], NULL, scan_thread, r) != 0)
			break;
	if (n == 0)
		scan_thread(r);
	for (unsigned i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	if (ticking) {
		pthread_mutex_lock(&r->lock);
		r->stop_ticker = true;
		pthread_cond_signal(&r->cond);
		pthread_mutex_unlock(&r->lock);
		pthread_join(tick, NULL);
	}
}

int cmd_scan(struct cli_ctx *ctx, int argc, char **argv)
{
	struct scan_run r = { .next = 0 };
	struct fw_policy *pol = NULL;
	char **paths, tmp[1024], summary[FW_SCANNER_SUMMARY_MAX];
	struct fw_scanner_opts so = { .exe = "/proc/self/exe" };
	bool json = false;
	struct fw_err err;
	size_t n = 0;
	int rc, errors;

	fw_err_clear(&err);
	paths = calloc((size_t)argc, sizeof(*paths));
	if (paths == NULL)
		return CLI_ERROR;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else if (strcmp(argv[i], "--") == 0)
			for (i++; i < argc; i++)
				paths[n++] = argv[i];
		else if (cli_is_option(argv[i])) {
			free(paths);
			return cli_usage_error("scan", "unknown option \"%s\"", argv[i]);
		} else
			paths[n++] = argv[i];
	}
	if (n == 0) {
		free(paths);
		return cli_usage_error("scan", "names no file to scan");
	}
	rc = cli_load_config(ctx);
	if (rc == CLI_OK)
		rc = cli_load_policy(ctx->cfg, NULL, NULL, &pol);
	if (rc != CLI_OK) {
		free(paths);
		return rc;
	}
	if (pol->sandboxing.enabled)
		for (unsigned t = 0; t < FW_FT_COUNT; t++)
			if (pol->sandboxing.file_types[t])
				r.sandbox_types |= 1u << t;
	fw_policy_free(pol);
	r.n = n;
	r.files = calloc(n, sizeof(*r.files));
	pthread_mutex_init(&r.lock, NULL);
	pthread_cond_init(&r.cond, NULL);
	if (r.files == NULL || cli_tmp_dir_make(tmp, sizeof(tmp)) != 0) {
		fprintf(stderr, "fwgate scan: cannot prepare a temporary directory: %s\n", strerror(errno));
		free(r.files);
		free(paths);
		return CLI_ERROR;
	}
	errors = open_files(&r, paths);
	rc = CLI_ERROR;
	so.tmp_dir = tmp;
	so.info = json ? NULL : stderr;
	if (fw_scanner_start(&r.scanner, ctx->cfg, &so, &err) != 0) {
		fprintf(stderr, "fwgate scan: %s\n", fw_err_msg(&err));
		goto out;
	}
	run_all(&r, ctx->cfg->scanner.workers ? ctx->cfg->scanner.workers : (unsigned)sysconf(_SC_NPROCESSORS_ONLN));
	rc = CLI_OK;
	for (size_t i = 0; i < n; i++) {
		struct scan_file *f = &r.files[i];

		if (f->fd < 0)
			continue;
		if (json)
			print_json(f, fw_scanner_summary(r.scanner, summary, sizeof(summary)));
		else
			print_text(f);
		if (f->res.verdict != FW_VERDICT_CLEAN)
			rc = CLI_BLOCKED;
	}
	if (errors > 0)
		rc = CLI_ERROR;
out:
	fflush(stdout);
	fw_scanner_stop(r.scanner);
	for (size_t i = 0; i < n; i++) {
		fw_scan_result_clear(&r.files[i].res);
		if (r.files[i].fd >= 0)
			close(r.files[i].fd);
	}
	cli_tmp_dir_remove(tmp);
	pthread_cond_destroy(&r.cond);
	pthread_mutex_destroy(&r.lock);
	free(r.files);
	free(paths);
	return rc;
}
