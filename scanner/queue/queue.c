/* The sandbox queue (fwgate/sandbox.h): runner threads that claim durable
 * jobs from the store, judge each sample with the configured backend, and
 * settle every package waiting on them. A job's failure is retried with
 * back-off up to [sandbox] retries, then fails for good: the packages
 * waiting on it are unscannable (fail closed). Decides what job results
 * mean for a package; the store only records it. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "fwgate/fileio.h"
#include "fwgate/sandbox.h"
#include "scanner/queue/queue_int.h"

#define MAX_RUNNERS 64
#define IDLE_POLL_MS 1000
#define WAIT_POLL_MS 1000
/* Retries wait 5 s, 10 s, 20 s, ... (at most 5 min): a service restart
 * or a scanner reload is ridden out, not taken for a verdict. */
#define BACKOFF_BASE_S 5
#define BACKOFF_MAX_S 300
#define WAITING_BATCH 256
#define SWEEP_EVERY_S 5
/* A pending object with no job linked this long after its scan (an
 * anomaly: commits link) is linked again from its scan by the sweep. */
#define LINKLESS_GRACE_S 60
/* A running job whose runner has not reported this long after its time
 * ran out is taken back. */
#define STALE_MARGIN_S 900
#define HASH_BUF (256 * 1024)

struct fw_sandbox {
	struct fw_sandbox_deps d;
	unsigned types;
	const char *backend;            /* "local" or "cape" */
	struct cape_client cape;
	pthread_mutex_t lock;
	pthread_cond_t work;            /* a job was queued, or stop */
	pthread_cond_t settled;         /* an object left pending */
	bool stopping;
	int64_t last_sweep;             /* unix seconds */
	char spool_dir[FW_PATH_MAX];    /* private copies of samples: no worker writes there */
	pthread_t runners[MAX_RUNNERS];
	unsigned n_runners;
};

/* ------------------------------------------------------------ checks */

int fw_sandbox_check(const struct fw_config *cfg, const struct fw_policy *pol, struct fw_err *err)
{
	if (!pol->sandboxing.enabled)
		return 0;
	if (cfg->sandbox.backend == FW_SANDBOX_NONE)
		return fw_err_set(err, "the policy's rule \"%s\" sandboxes members (sandboxing.enabled) but "
				  "[sandbox] backend is none: choose local or cape, or a policy without sandboxing",
				  pol->rule);
	if (cfg->sandbox.backend == FW_SANDBOX_CAPE)
		return cape_client_init(NULL, cfg, err);
	return 0;
}

/* A sample is a regular file named by its SHA-256; anything else in the
 * samples directory is a killed run's leftover. */
static bool sample_name_kept(const char *name, const struct stat *st)
{
	size_t n = 0;

	for (; name[n] != '\0'; n++)
		if (!((name[n] >= '0' && name[n] <= '9') || (name[n] >= 'a' && name[n] <= 'f')))
			return false;
	return n == FW_SHA256_HEX_LEN && S_ISREG(st->st_mode);
}

int fw_sandbox_samples_prepare(const char *state_dir, char *out, size_t len, struct fw_dir_empty_stats *stats,
			       struct fw_err *err)
{
	if (fw_path_join(out, len, state_dir, "samples", err) != 0)
		return -1;
	return fw_dir_empty(out, sample_name_kept, stats, err);
}

unsigned fw_sandbox_types(const struct fw_sandbox *sb)
{
	return sb->types;
}

/* ------------------------------------------------------------ events */

static void sandbox_event(struct fw_sandbox *sb, const char *action, enum fw_outcome outcome, const char *sha256,
			  const char *verdict, const char *reason, int64_t job_id, int64_t object_id)
{
	struct fw_event_field extra[3] = { { .key = "fwgate.sandbox.backend", .str = sb->backend } };
	struct fw_event ev = {
		.action = action, .outcome = outcome, .sha256 = sha256, .verdict = verdict, .reason = reason,
		.rule = sb->d.pol->rule, .extra = extra, .n_extra = 1,
	};

	if (sb->d.log == NULL)
		return;
	if (job_id > 0)
		extra[ev.n_extra++] = (struct fw_event_field){ .key = "fwgate.sandbox.job", .num = job_id };
	if (object_id > 0)
		extra[ev.n_extra++] = (struct fw_event_field){ .key = "fwgate.object_id", .num = object_id };
	fw_evlog_emit(sb->d.log, &ev);
}

/* ------------------------------------------------------------ settling */

static int verdict_rank(const char *state, const char *verdict)
{
	if (strcmp(state, "queued") == 0 || strcmp(state, "running") == 0)
		return -1;
	if (strcmp(state, "failed") == 0)
		return FW_VERDICT_UNSCANNABLE;
	if (strcmp(verdict, "malicious") == 0)
		return FW_VERDICT_INFECTED;
	if (strcmp(verdict, "suspicious") == 0)
		return FW_VERDICT_SUSPICIOUS;
	return FW_VERDICT_CLEAN;
}

/* The findings' kinds (or a CAPE report's signatures), for a reason. */
static void findings_brief(const json_t *findings, char *out, size_t len)
{
	const json_t *list = json_object_get(json_object_get(findings, "analysis"), "findings"), *f;
	const char *key = "kind";
	size_t i, used = 0;

	out[0] = '\0';
	if (!json_is_array(list)) {
		list = json_object_get(findings, "signatures");
		key = "name";
	}
	json_array_foreach(list, i, f) {
		const char *k = json_string_value(json_object_get(f, key));
		int n;

		if (k == NULL)
			continue;
		n = snprintf(out + used, len - used, "%s%s", used ? ", " : "", k);
		if (n < 0 || (size_t)n >= len - used) {
			out[used] = '\0';
			return;
		}
		used += (size_t)n;
	}
}

static void relink_object(struct fw_sandbox *sb, int64_t object_id);

/* Decides a pending object from all its jobs, once none is left to run. */
static void settle_object(struct fw_sandbox *sb, int64_t object_id)
{
	json_t *jobs = NULL, *j, *worst = NULL;
	enum fw_object_state state;
	bool changed = false;
	int rank = FW_VERDICT_CLEAN;
	char reason[FW_ERR_MSG_MAX], brief[512];
	struct fw_err err;
	size_t i;

	fw_err_clear(&err);
	if (fw_store_sandbox_object_jobs(sb->d.store, object_id, &jobs, &err) != 0) {
		sandbox_event(sb, "sandbox-error", FW_OUTCOME_FAILURE, NULL, NULL, fw_err_msg(&err), 0, object_id);
		return;
	}
	json_array_foreach(jobs, i, j) {
		int r = verdict_rank(json_string_value(json_object_get(j, "state")),
				     json_string_value(json_object_get(j, "verdict")));

		if (r < 0)
			goto out; /* still running: not yet */
		if (worst == NULL || r > rank) { /* the first job, then the worst one */
			worst = j;
			rank = r;
		}
	}
	if (json_array_size(jobs) == 0) {
		/* Pending with nothing linked (an anomaly: commits link): linked
		 * again from its scan, or held for review when it cannot be. */
		relink_object(sb, object_id);
		goto out;
	} else if (rank == FW_VERDICT_CLEAN) {
		snprintf(reason, sizeof(reason), "sandbox (%s): %zu member job(s) benign", sb->backend,
			 json_array_size(jobs));
	} else if (rank == FW_VERDICT_UNSCANNABLE) {
		snprintf(reason, sizeof(reason), "sandbox job %" JSON_INTEGER_FORMAT " for %s failed after %"
			 JSON_INTEGER_FORMAT " attempt(s): %s", json_integer_value(json_object_get(worst, "id")),
			 json_string_value(json_object_get(worst, "member")),
			 json_integer_value(json_object_get(worst, "attempts")),
			 json_string_value(json_object_get(worst, "error")));
	} else {
		findings_brief(json_object_get(worst, "findings"), brief, sizeof(brief));
		snprintf(reason, sizeof(reason), "sandbox (%s) judged %s %s (score %" JSON_INTEGER_FORMAT
			 ", job %" JSON_INTEGER_FORMAT "): %s", json_string_value(json_object_get(worst, "backend")),
			 json_string_value(json_object_get(worst, "member")),
			 json_string_value(json_object_get(worst, "verdict")),
			 json_integer_value(json_object_get(worst, "score")),
			 json_integer_value(json_object_get(worst, "id")), brief[0] ? brief : "no findings listed");
	}
	if (fw_store_settle(sb->d.store, object_id, (enum fw_verdict)rank, reason, &state, &changed, &err) != 0) {
		sandbox_event(sb, "sandbox-error", FW_OUTCOME_FAILURE, NULL, NULL, fw_err_msg(&err), 0, object_id);
		goto out;
	}
	/* Unchanged: decided before (by another runner, or staff), or a job
	 * of it runs again (a retry) and settles it when done. */
	if (!changed)
		goto out;
	sandbox_event(sb, "sandbox-verdict", state == FW_OBJ_APPROVED ? FW_OUTCOME_SUCCESS : FW_OUTCOME_FAILURE,
		      worst ? json_string_value(json_object_get(worst, "sha256")) : NULL,
		      state == FW_OBJ_APPROVED ? "clean"
		      : rank == FW_VERDICT_CLEAN ? "unscannable" /* the store refused the clean verdict */
		      : fw_verdict_name((enum fw_verdict)rank), reason, 0, object_id);
	pthread_mutex_lock(&sb->lock);
	pthread_cond_broadcast(&sb->settled);
	pthread_mutex_unlock(&sb->lock);
out:
	json_decref(jobs);
}

static void settle_waiting(struct fw_sandbox *sb, int64_t job_id)
{
	int64_t *ids = calloc(WAITING_BATCH, sizeof(*ids)), first = -1;
	struct fw_err err;
	size_t n = 0;

	fw_err_clear(&err);
	if (ids == NULL)
		return;
	/* In batches: settled objects leave the list (they are no longer
	 * pending). A batch that starts where the last one did settled none
	 * (all still wait on other jobs): their own jobs settle them later. */
	for (;;) {
		if (fw_store_sandbox_waiting(sb->d.store, job_id, ids, WAITING_BATCH, &n, &err) != 0) {
			sandbox_event(sb, "sandbox-error", FW_OUTCOME_FAILURE, NULL, NULL, fw_err_msg(&err), job_id, 0);
			break;
		}
		if (n == 0 || ids[0] == first)
			break;
		first = ids[0];
		for (size_t i = 0; i < n; i++)
			settle_object(sb, ids[i]);
		if (n < WAITING_BATCH)
			break;
	}
	free(ids);
}

/* ------------------------------------------------------------ samples */

/* Copies src into a new unnamed file in the gateway's spool (which no
 * scanner worker can write), hashing the bytes it copies: what is judged
 * is exactly what was hashed, whatever happens to the sample file after. */
static int private_copy(struct fw_sandbox *sb, int src, int *out, uint64_t *size,
			char hex[FW_SHA256_HEX_LEN + 1], struct fw_err *err)
{
	unsigned char md[EVP_MAX_MD_SIZE], *buf = malloc(HASH_BUF);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned md_len = 0;
	off_t off = 0;
	int fd = -1, rc = -1;

	if (buf == NULL || ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		fw_err_set(err, "out of memory");
		goto out;
	}
	fd = open(sb->spool_dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0) {
		fw_err_sys(err, errno, "cannot make a private copy of the sample in %s", sb->spool_dir);
		goto out;
	}
	for (;;) {
		ssize_t n = pread(src, buf, HASH_BUF, off), w;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fw_err_sys(err, errno, "cannot read the sample");
			goto out;
		}
		if (n == 0)
			break;
		if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1)
			goto out;
		for (ssize_t o = 0; o < n; o += w) {
			w = pwrite(fd, buf + o, (size_t)(n - o), off + o);
			if (w <= 0) {
				fw_err_sys(err, w < 0 ? errno : ENOSPC, "cannot copy the sample");
				goto out;
			}
		}
		off += n;
	}
	if (EVP_DigestFinal_ex(ctx, md, &md_len) != 1)
		goto out;
	for (unsigned i = 0; i < md_len && i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	*size = (uint64_t)off;
	*out = fd;
	fd = -1;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	EVP_MD_CTX_free(ctx);
	free(buf);
	return rc;
}

/* The sample of a job: a member kept by the scanner, or a package the
 * store holds, as a private copy whose bytes match the job's hash: a
 * sample that does not match is never judged in its place. */
static int sample_open(struct fw_sandbox *sb, const struct fw_sandbox_job *job, int *fd, uint64_t *size,
		       struct fw_err *err)
{
	char path[FW_PATH_MAX], hex[FW_SHA256_HEX_LEN + 1] = "";
	uint64_t ignored = 0;
	struct stat st;
	int f, rc;

	if (fw_path_join(path, sizeof(path), sb->d.samples_dir, job->sha256, err) != 0)
		return -1;
	/* Non-blocking: a FIFO planted there must not hang a runner. */
	f = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
	if (f < 0 && errno != ENOENT)
		return fw_err_sys(err, errno, "cannot open the sample %s", path);
	if (f < 0) {
		if (fw_store_open_any_blob(sb->d.store, job->sha256, &f, &ignored, err) != 0)
			return fw_err_set(err, "the sample %s is gone: neither kept nor in the store", job->sha256);
	} else if (fstat(f, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(f);
		return fw_err_set(err, "the sample %s is not a regular file", path);
	}
	rc = private_copy(sb, f, fd, size, hex, err);
	close(f);
	if (rc != 0)
		return -1;
	if (strcmp(hex, job->sha256) != 0) {
		close(*fd);
		*fd = -1;
		return fw_err_set(err, "the sample's bytes hash to %s, not %s: not judged", hex, job->sha256);
	}
	return 0;
}

/* ------------------------------------------------------------ running */

const char *fw_sandbox_judge(const struct fw_config *cfg, int score)
{
	if (score >= 0 && (unsigned)score >= cfg->sandbox.malicious_score)
		return "malicious";
	if (score >= 0 && (unsigned)score >= cfg->sandbox.suspicious_score)
		return "suspicious";
	return "benign";
}

struct fw_store *sandbox_store(struct fw_sandbox *sb)
{
	return sb->d.store;
}

struct fw_scanner *sandbox_scanner(struct fw_sandbox *sb)
{
	return sb->d.scanner;
}

bool sandbox_stopping(struct fw_sandbox *sb)
{
	bool s;

	pthread_mutex_lock(&sb->lock);
	s = sb->stopping;
	pthread_mutex_unlock(&sb->lock);
	return s;
}

static int run_local(struct fw_sandbox *sb, const struct fw_sandbox_job *job, int fd, int *score,
		     json_t **findings, struct fw_err *err)
{
	json_t *analysis = NULL;
	json_int_t s;

	if (fw_scanner_analyze_fd(sb->d.scanner, fd, job->file_type, sb->d.cfg->sandbox.timeout_seconds, &analysis,
				  err) != 0)
		return -1;
	s = json_integer_value(json_object_get(analysis, "score"));
	*score = s < 0 ? 0 : s > 100 ? 100 : (int)s;
	*findings = json_pack("{s:s, s:o}", "backend", "local", "analysis", analysis);
	if (*findings == NULL)
		return fw_err_set(err, "out of memory");
	return 0;
}

static void job_finish(struct fw_sandbox *sb, struct fw_sandbox_job *job, int rc, int score, json_t *findings,
		       const struct fw_err *why)
{
	const char *verdict = fw_sandbox_judge(sb->d.cfg, score);
	char reason[FW_ERR_MSG_MAX + 64];
	struct fw_err err;

	fw_err_clear(&err);
	if (rc == 0) {
		/* A result that cannot be written (the database busy past its
		 * timeout) leaves the job running in the store: the sweep takes
		 * it back once its time ran out, and it runs again. */
		if (fw_store_sandbox_done(sb->d.store, job, verdict, score, findings, &err) != 0) {
			sandbox_event(sb, "sandbox-error", FW_OUTCOME_FAILURE, job->sha256, NULL, fw_err_msg(&err),
				      job->id, 0);
			return;
		}
		snprintf(reason, sizeof(reason), "%s: score %d", job->file_type, score);
		sandbox_event(sb, "sandbox-job", strcmp(verdict, "benign") == 0 ? FW_OUTCOME_SUCCESS : FW_OUTCOME_FAILURE,
			      job->sha256, verdict, reason, job->id, 0);
	} else if (sandbox_stopping(sb)) {
		return; /* cut off by the shutdown: left running, resumed at the next start */
	} else {
		int64_t retry_at = 0;

		if (job->attempts <= sb->d.cfg->sandbox.retries) {
			unsigned shift = job->attempts > 8 ? 8 : job->attempts - 1;
			int64_t delay = (int64_t)BACKOFF_BASE_S << shift;

			retry_at = (int64_t)time(NULL) + (delay > BACKOFF_MAX_S ? BACKOFF_MAX_S : delay);
		}
		if (fw_store_sandbox_failed(sb->d.store, job, fw_err_msg(why), retry_at, &err) != 0) {
			sandbox_event(sb, "sandbox-error", FW_OUTCOME_FAILURE, job->sha256, NULL, fw_err_msg(&err),
				      job->id, 0);
			return;
		}
		snprintf(reason, sizeof(reason), "attempt %u of %u failed%s: %s", job->attempts,
			 sb->d.cfg->sandbox.retries + 1, retry_at ? ", retried" : " for good", fw_err_msg(why));
		sandbox_event(sb, "sandbox-job", FW_OUTCOME_FAILURE, job->sha256, retry_at ? "retry" : "failed", reason,
			      job->id, 0);
		if (retry_at != 0)
			return;
	}
	settle_waiting(sb, job->id);
}

static void run_job(struct fw_sandbox *sb, struct fw_sandbox_job *job)
{
	json_t *findings = NULL;
	struct fw_err err;
	uint64_t size = 0;
	int fd = -1, score = 0, rc;

	fw_err_clear(&err);
	rc = sample_open(sb, job, &fd, &size, &err);
	if (rc == 0) {
		if (strcmp(sb->backend, "cape") == 0)
			rc = cape_run(&sb->cape, sb, job, fd, size, &score, &findings, &err);
		else
			rc = run_local(sb, job, fd, &score, &findings, &err);
		close(fd);
	}
	job_finish(sb, job, rc, score, findings, &err);
	json_decref(findings);
}

/* Every SWEEP_EVERY_S, by one runner: jobs whose runner lost them are
 * queued again, and pending objects nothing runs for any more are
 * settled (a settle that failed, a submit that never linked). */
static void sweep(struct fw_sandbox *sb)
{
	int64_t ids[64], now = (int64_t)time(NULL);
	struct fw_err err;
	unsigned requeued = 0;
	size_t n = 0;

	pthread_mutex_lock(&sb->lock);
	if (now - sb->last_sweep < SWEEP_EVERY_S) {
		pthread_mutex_unlock(&sb->lock);
		return;
	}
	sb->last_sweep = now;
	pthread_mutex_unlock(&sb->lock);
	fw_err_clear(&err);
	if (sb->types == 0) {
		/* Not sandboxing: a job queued meanwhile (a staff retry from the
		 * CLI) will never run; it fails, so its packages are held for
		 * review, not left pending. */
		if (fw_store_sandbox_abandon(sb->d.store, "the policy no longer sandboxes: the job will not run",
					     &requeued, &err) != 0)
			sandbox_event(sb, "sandbox-error", FW_OUTCOME_FAILURE, NULL, NULL, fw_err_msg(&err), 0, 0);
		else if (requeued > 0)
			sandbox_event(sb, "sandbox-abandon", FW_OUTCOME_FAILURE, NULL, NULL,
				      "the policy no longer sandboxes: sandbox jobs queued meanwhile failed", 0, 0);
		requeued = 0;
	}
	if (fw_store_sandbox_requeue_stale(sb->d.store, now - (int64_t)sb->d.cfg->sandbox.timeout_seconds -
					   (int64_t)sb->d.cfg->scanner.timeout_seconds - STALE_MARGIN_S,
					   &requeued, &err) != 0)
		sandbox_event(sb, "sandbox-error", FW_OUTCOME_FAILURE, NULL, NULL, fw_err_msg(&err), 0, 0);
	else if (requeued > 0)
		sandbox_event(sb, "sandbox-resume", FW_OUTCOME_SUCCESS, NULL, NULL,
			      "sandbox job(s) whose runner did not report were queued again", 0, 0);
	if (fw_store_sandbox_unsettled(sb->d.store, now - LINKLESS_GRACE_S, ids, FW_ARRAY_LEN(ids), &n, &err) != 0) {
		sandbox_event(sb, "sandbox-error", FW_OUTCOME_FAILURE, NULL, NULL, fw_err_msg(&err), 0, 0);
		return;
	}
	for (size_t i = 0; i < n; i++)
		settle_object(sb, ids[i]);
}

static void *runner(void *arg)
{
	struct fw_sandbox *sb = arg;

	while (!sandbox_stopping(sb)) {
		sweep(sb);
		struct fw_sandbox_job job;
		struct fw_err err;
		struct timespec until;
		int r;

		fw_err_clear(&err);
		r = sb->types == 0 ? 0 : fw_store_sandbox_claim(sb->d.store, sb->backend, &job, &err);
		if (r == 1) {
			run_job(sb, &job);
			continue;
		}
		if (r < 0)
			sandbox_event(sb, "sandbox-error", FW_OUTCOME_FAILURE, NULL, NULL, fw_err_msg(&err), 0, 0);
		/* Nothing due: sleep until poked (a new job) or a second passes
		 * (a retry came due, or staff retried a job from the CLI). */
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += IDLE_POLL_MS / 1000;
		pthread_mutex_lock(&sb->lock);
		if (!sb->stopping)
			pthread_cond_timedwait(&sb->work, &sb->lock, &until);
		pthread_mutex_unlock(&sb->lock);
	}
	return NULL;
}

/* ------------------------------------------------------------ submitting */

static void append_id(char *out, size_t len, json_int_t id)
{
	size_t used = strlen(out);

	if (used + 24 < len)
		snprintf(out + used, len - used, "%s%" JSON_INTEGER_FORMAT, used ? ", " : "", id);
}

int fw_sandbox_plan(const struct fw_sandbox *sb, const json_t *doc, struct fw_sandbox_plan *plan,
		    struct fw_err *err)
{
	uint64_t ttl = sb->d.cfg->sandbox.verdict_ttl_seconds;
	int64_t now = (int64_t)time(NULL);
	const json_t *list = json_object_get(doc, "sandbox"), *m;
	size_t i, n = json_array_size(list);

	memset(plan, 0, sizeof(*plan));
	if (sb->types == 0)
		return fw_err_set(err, "the policy does not sandbox: nothing would judge these members");
	if (!json_is_array(list) || n == 0)
		return fw_err_set(err, "the scan lists no member for the sandbox");
	plan->members = calloc(n, sizeof(*plan->members));
	if (plan->members == NULL)
		return fw_err_set(err, "out of memory");
	json_array_foreach(list, i, m) {
		plan->members[i] = (struct fw_sandbox_member){
			.path = json_string_value(json_object_get(m, "path")),
			.sha256 = json_string_value(json_object_get(m, "sha256")),
			.file_type = json_string_value(json_object_get(m, "file_type")),
		};
		if (plan->members[i].path == NULL || plan->members[i].sha256 == NULL ||
		    plan->members[i].file_type == NULL) {
			fw_sandbox_plan_free(plan);
			return fw_err_set(err, "the scan lists a sandbox member without its path, hash or type");
		}
	}
	plan->n = n;
	plan->backend = sb->backend;
	/* ttl 0: nothing is reused. */
	plan->reuse_since = ttl == 0 ? now + 1 : now - (int64_t)ttl;
	return 0;
}

void fw_sandbox_plan_free(struct fw_sandbox_plan *plan)
{
	free(plan->members);
	memset(plan, 0, sizeof(*plan));
}

/* A pending object that cannot be linked to its jobs can never be judged:
 * held for review (unscannable), never left pending. */
static void settle_unlinkable(struct fw_sandbox *sb, int64_t object_id, const struct fw_err *why)
{
	char reason[FW_ERR_MSG_MAX];
	enum fw_object_state state;
	bool changed = false;
	struct fw_err err;

	fw_err_clear(&err);
	snprintf(reason, sizeof(reason), "the sandbox jobs cannot be queued: %s", fw_err_msg(why));
	if (fw_store_settle(sb->d.store, object_id, FW_VERDICT_UNSCANNABLE, reason, &state, &changed, &err) != 0)
		sandbox_event(sb, "sandbox-error", FW_OUTCOME_FAILURE, NULL, NULL, fw_err_msg(&err), 0, object_id);
	else if (changed)
		sandbox_event(sb, "sandbox-verdict", FW_OUTCOME_FAILURE, NULL, "unscannable", reason, 0, object_id);
}

/* Links a pending object without links from doc (its latest scan). A
 * document that names no usable member is final: held for review. A
 * store error is not: the object stays pending for the next sweep. */
static void link_from_doc(struct fw_sandbox *sb, int64_t object_id, const json_t *doc)
{
	struct fw_sandbox_plan plan;
	struct fw_err err;
	unsigned created = 0;

	fw_err_clear(&err);
	if (fw_sandbox_plan(sb, doc, &plan, &err) != 0) {
		settle_unlinkable(sb, object_id, &err);
		return;
	}
	if (fw_store_sandbox_attach(sb->d.store, object_id, plan.members, plan.n, plan.backend, plan.reuse_since,
				    NULL, &created, &err) != 0) {
		if (strstr(fw_err_msg(&err), "sandbox member") != NULL || strstr(fw_err_msg(&err), "backend") != NULL)
			settle_unlinkable(sb, object_id, &err); /* the members themselves are unusable */
		else
			sandbox_event(sb, "sandbox-error", FW_OUTCOME_FAILURE, NULL, NULL, fw_err_msg(&err), 0,
				      object_id);
	} else if (created > 0) {
		pthread_mutex_lock(&sb->lock);
		pthread_cond_broadcast(&sb->work);
		pthread_mutex_unlock(&sb->lock);
	}
	fw_sandbox_plan_free(&plan);
}

static void relink_object(struct fw_sandbox *sb, int64_t object_id)
{
	struct fw_err err;
	json_t *doc = NULL;

	fw_err_clear(&err);
	if (fw_store_latest_doc(sb->d.store, object_id, &doc, &err) != 0) {
		sandbox_event(sb, "sandbox-error", FW_OUTCOME_FAILURE, NULL, NULL, fw_err_msg(&err), 0, object_id);
		return;
	}
	link_from_doc(sb, object_id, doc);
	json_decref(doc);
}

int fw_sandbox_submit(struct fw_sandbox *sb, int64_t object_id, char *jobs, size_t jobs_len)
{
	if (jobs != NULL && jobs_len > 0)
		fw_sandbox_jobs_of(sb, object_id, jobs, jobs_len);
	pthread_mutex_lock(&sb->lock);
	pthread_cond_broadcast(&sb->work);
	pthread_mutex_unlock(&sb->lock);
	settle_object(sb, object_id); /* every verdict known already: decided now */
	return 0;
}

int fw_sandbox_wait(struct fw_sandbox *sb, int64_t object_id, unsigned ms, enum fw_object_state *state,
		    struct fw_err *err)
{
	struct timespec deadline, now;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += ms / 1000;
	deadline.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	for (;;) {
		struct timespec until;
		int64_t left_ms;
		int r = fw_store_object_state(sb->d.store, object_id, state, err);

		if (r < 0)
			return -1;
		if (r == 0)
			return fw_err_set(err, "the store has no object %lld", (long long)object_id);
		if (*state != FW_OBJ_PENDING)
			return 0;
		clock_gettime(CLOCK_MONOTONIC, &now);
		left_ms = (deadline.tv_sec - now.tv_sec) * 1000 + (deadline.tv_nsec - now.tv_nsec) / 1000000;
		if (left_ms <= 0)
			return 0;
		if (left_ms > WAIT_POLL_MS)
			left_ms = WAIT_POLL_MS; /* also settled by another process (the CLI): look again */
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += left_ms / 1000;
		until.tv_nsec += (left_ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&sb->lock);
		if (sb->stopping) {
			/* Stopping: the client is told it is pending; the job
			 * runs on at the next start. */
			pthread_mutex_unlock(&sb->lock);
			return 0;
		}
		pthread_cond_timedwait(&sb->settled, &sb->lock, &until);
		pthread_mutex_unlock(&sb->lock);
	}
}

void fw_sandbox_jobs_of(struct fw_sandbox *sb, int64_t object_id, char *out, size_t len)
{
	json_t *jobs = NULL, *j;
	struct fw_err err;
	size_t i;

	out[0] = '\0';
	fw_err_clear(&err);
	if (fw_store_sandbox_object_jobs(sb->d.store, object_id, &jobs, &err) != 0)
		return;
	json_array_foreach(jobs, i, j) {
		json_int_t id = json_integer_value(json_object_get(j, "id"));

		/* One row per member: a job linked for two members shows once. */
		if (i == 0 || json_integer_value(json_object_get(json_array_get(jobs, i - 1), "id")) != id)
			append_id(out, len, id);
	}
	json_decref(jobs);
}

/* ------------------------------------------------------------ life cycle */

/* Objects an earlier run left pending: settled when their jobs are all
 * in, linked from their latest scan when they have no links (an
 * anomaly), held for review at once when the policy no longer sandboxes
 * (nothing will judge them). */
static int resume_pending(struct fw_sandbox *sb, struct fw_err *err)
{
	json_t *pending = NULL, *p, *jobs;
	size_t i;

	if (fw_store_pending_docs(sb->d.store, &pending, err) != 0)
		return -1;
	json_array_foreach(pending, i, p) {
		int64_t id = json_integer_value(json_object_get(p, "id"));
		struct fw_err e2;

		fw_err_clear(&e2);
		if (sb->types == 0) {
			fw_err_set(&e2, "the policy no longer sandboxes: nothing will judge it");
			settle_unlinkable(sb, id, &e2);
			continue;
		}
		jobs = NULL;
		if (fw_store_sandbox_object_jobs(sb->d.store, id, &jobs, &e2) == 0 && json_array_size(jobs) == 0)
			link_from_doc(sb, id, json_object_get(p, "doc"));
		json_decref(jobs);
		settle_object(sb, id);
	}
	json_decref(pending);
	return 0;
}

int fw_sandbox_start(struct fw_sandbox **out, const struct fw_sandbox_deps *deps, struct fw_err *err)
{
	struct fw_sandbox *sb;
	unsigned requeued = 0;

	*out = NULL;
	if (fw_sandbox_check(deps->cfg, deps->pol, err) != 0)
		return -1;
	sb = calloc(1, sizeof(*sb));
	if (sb == NULL)
		return fw_err_set(err, "out of memory");
	sb->d = *deps;
	if (fw_path_join(sb->spool_dir, sizeof(sb->spool_dir), deps->cfg->state.dir, "spool", err) != 0) {
		free(sb);
		return -1;
	}
	sb->backend = deps->cfg->sandbox.backend == FW_SANDBOX_CAPE ? "cape" : "local";
	pthread_mutex_init(&sb->lock, NULL);
	pthread_cond_init(&sb->work, NULL);
	pthread_cond_init(&sb->settled, NULL);
	if (deps->pol->sandboxing.enabled)
		for (unsigned t = 0; t < FW_FT_COUNT; t++)
			if (deps->pol->sandboxing.file_types[t])
				sb->types |= 1u << t;
	if (sb->types == 0) {
		unsigned abandoned = 0;

		/* Nothing will run the jobs any more: they fail, so that the
		 * packages waiting on them are held for review, not left
		 * pending forever. */
		if (fw_store_sandbox_abandon(deps->store, "the policy no longer sandboxes: the job will not run",
					     &abandoned, err) != 0 || resume_pending(sb, err) != 0)
			goto fail;
		if (abandoned > 0)
			sandbox_event(sb, "sandbox-abandon", FW_OUTCOME_FAILURE, NULL, NULL,
				      "the policy no longer sandboxes: unfinished sandbox jobs failed", 0, 0);
		/* One thread runs the sweep only (no job is ever claimed). */
		if (pthread_create(&sb->runners[0], NULL, runner, sb) != 0) {
			fw_err_set(err, "cannot start the sandbox sweep");
			goto fail;
		}
		sb->n_runners = 1;
		*out = sb;
		return 0;
	}
	if ((deps->cfg->sandbox.backend == FW_SANDBOX_CAPE && cape_client_init(&sb->cape, deps->cfg, err) != 0) ||
	    fw_store_sandbox_resume(deps->store, &requeued, err) != 0 || resume_pending(sb, err) != 0)
		goto fail;
	if (requeued > 0) {
		char why[96];

		snprintf(why, sizeof(why), "%u sandbox job(s) left running by the last run queued again", requeued);
		sandbox_event(sb, "sandbox-resume", FW_OUTCOME_SUCCESS, NULL, NULL, why, 0, 0);
	}
	for (unsigned i = 0; i < deps->cfg->sandbox.runners && i < MAX_RUNNERS; i++) {
		if (pthread_create(&sb->runners[i], NULL, runner, sb) != 0) {
			fw_err_set(err, "cannot start sandbox runner %u", i + 1);
			goto fail;
		}
		sb->n_runners++;
	}
	*out = sb;
	return 0;
fail:
	fw_sandbox_stop(sb);
	return -1;
}

void fw_sandbox_quiesce(struct fw_sandbox *sb)
{
	if (sb == NULL)
		return;
	pthread_mutex_lock(&sb->lock);
	sb->stopping = true;
	pthread_cond_broadcast(&sb->work);
	pthread_cond_broadcast(&sb->settled);
	pthread_mutex_unlock(&sb->lock);
}

void fw_sandbox_stop(struct fw_sandbox *sb)
{
	if (sb == NULL)
		return;
	fw_sandbox_quiesce(sb);
	for (unsigned i = 0; i < sb->n_runners; i++)
		pthread_join(sb->runners[i], NULL);
	cape_client_free(&sb->cape);
	pthread_cond_destroy(&sb->work);
	pthread_cond_destroy(&sb->settled);
	pthread_mutex_destroy(&sb->lock);
	free(sb);
}
