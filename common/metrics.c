/* The gateway's metrics (fwgate/metrics.h): the recorded counters and
 * histograms, process-global atomics that any thread adds to without a
 * lock or an allocation, and the one renderer of the Prometheus text
 * exposition (format 0.0.4). Must not decide or log anything, and must not
 * take a label value from a request: labels are the fixed names below. */
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fwgate/metrics.h"
#include "fwgate_build.h"

#define OUTCOMES 3                          /* enum fw_outcome */
#define VERDICTS (FW_VERDICT_INFECTED + 2)  /* enum fw_verdict and none */
#define BACKENDS 2                          /* local, cape */
#define HIST_MAX 16
/* A store document is the store's own, but its maps are bounded anyway:
 * the number of series stays small whatever it holds. */
#define STATS_KEYS_MAX 32
#define STATS_KEY_MAX 64

struct hist {
	const double *le;              /* upper bounds, ascending; +Inf implied */
	size_t n;
	atomic_uint_fast64_t bucket[HIST_MAX + 1]; /* per bucket, not cumulative; [n] is +Inf */
	atomic_uint_fast64_t sum_ns;  /* the sum in nanoseconds: integer adds stay lock-free */
};

/* Firmware scans take from milliseconds (a cache of known members) to many
 * minutes (a multi-gigabyte image); sandbox jobs up to a CAPE run's hour. */
static const double scan_le[] = { 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800 };
static const double sandbox_le[] = { 0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600 };

static struct {
	atomic_uint_fast64_t requests[OUTCOMES][VERDICTS];
	atomic_uint_fast64_t refused[FW_METRICS_REFUSED_COUNT];
	atomic_uint_fast64_t cache[FW_METRICS_CACHE_COUNT];
	atomic_uint_fast64_t bytes_in, bytes_out;
	atomic_uint_fast64_t sandbox_jobs[BACKENDS][FW_METRICS_JOB_RESULT_COUNT];
	atomic_uint_fast64_t restarts;
	atomic_uint_fast64_t syslog_sent, syslog_dropped;
	atomic_int_fast64_t syslog_queued; /* a gauge: queued minus unqueued */
	struct hist scan;
	struct hist sandbox[BACKENDS];
} m = {
	.scan = { .le = scan_le, .n = FW_ARRAY_LEN(scan_le) },
	.sandbox = {
		{ .le = sandbox_le, .n = FW_ARRAY_LEN(sandbox_le) },
		{ .le = sandbox_le, .n = FW_ARRAY_LEN(sandbox_le) },
	},
};

_Static_assert(FW_ARRAY_LEN(scan_le) <= HIST_MAX && FW_ARRAY_LEN(sandbox_le) <= HIST_MAX, "HIST_MAX");
_Static_assert(FW_SANDBOX_LOCAL == 0 && FW_SANDBOX_CAPE == 1, "backend indexes");

/* The process start time: when the binary was loaded, before main. */
static int64_t start_time;

__attribute__((constructor)) static void metrics_start(void)
{
	start_time = (int64_t)time(NULL);
}

static const char *const outcome_names[OUTCOMES] = {
	[FW_OUTCOME_UNKNOWN] = "unknown", [FW_OUTCOME_SUCCESS] = "success", [FW_OUTCOME_FAILURE] = "failure",
};

static const char *const refusal_names[FW_METRICS_REFUSED_COUNT] = {
	[FW_METRICS_REFUSED_MALFORMED] = "malformed", [FW_METRICS_REFUSED_AUTH] = "auth",
	[FW_METRICS_REFUSED_POLICY] = "policy",       [FW_METRICS_REFUSED_TLS] = "tls",
	[FW_METRICS_REFUSED_UPSTREAM] = "upstream",   [FW_METRICS_REFUSED_VERDICT] = "verdict",
	[FW_METRICS_REFUSED_STORED] = "stored",       [FW_METRICS_REFUSED_PENDING] = "pending",
	[FW_METRICS_REFUSED_SCANNER] = "scanner",     [FW_METRICS_REFUSED_STORE] = "store",
	[FW_METRICS_REFUSED_BUSY] = "busy",           [FW_METRICS_REFUSED_INTERNAL] = "internal",
};

static const char *const cache_names[FW_METRICS_CACHE_COUNT] = {
	[FW_METRICS_CACHE_HIT] = "hit", [FW_METRICS_CACHE_REVALIDATED] = "revalidated",
	[FW_METRICS_CACHE_MISS] = "miss",
};

static const char *const job_result_names[FW_METRICS_JOB_RESULT_COUNT] = {
	[FW_METRICS_JOB_BENIGN] = "benign", [FW_METRICS_JOB_SUSPICIOUS] = "suspicious",
	[FW_METRICS_JOB_MALICIOUS] = "malicious", [FW_METRICS_JOB_RETRY] = "retry",
	[FW_METRICS_JOB_FAILED] = "failed",
};

static const char *const db_names[FW_METRICS_DB_COUNT] = {
	[FW_METRICS_DB_MAIN] = "main", [FW_METRICS_DB_DAILY] = "daily", [FW_METRICS_DB_BYTECODE] = "bytecode",
};

const char *fw_metrics_db_name(enum fw_metrics_db db)
{
	return (unsigned)db < FW_METRICS_DB_COUNT ? db_names[db] : NULL;
}

static const char *verdict_label(unsigned v)
{
	return v < (unsigned)FW_METRICS_VERDICT_NONE ? fw_verdict_name((enum fw_verdict)v) : "none";
}

/* ------------------------------------------------------------ recording */

static void add(atomic_uint_fast64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

void fw_metrics_request(enum fw_outcome outcome, enum fw_verdict verdict)
{
	unsigned o = (unsigned)outcome < OUTCOMES ? (unsigned)outcome : FW_OUTCOME_UNKNOWN;
	unsigned v = (unsigned)verdict < VERDICTS ? (unsigned)verdict : (unsigned)FW_METRICS_VERDICT_NONE;

	add(&m.requests[o][v], 1);
}

void fw_metrics_refused(enum fw_metrics_refusal reason)
{
	if ((unsigned)reason < FW_METRICS_REFUSED_COUNT)
		add(&m.refused[reason], 1);
}

void fw_metrics_bytes_in(uint64_t bytes)
{
	add(&m.bytes_in, bytes);
}

void fw_metrics_bytes_out(uint64_t bytes)
{
	add(&m.bytes_out, bytes);
}

void fw_metrics_cache(enum fw_metrics_cache result)
{
	if ((unsigned)result < FW_METRICS_CACHE_COUNT)
		add(&m.cache[result], 1);
}

static void hist_observe(struct hist *h, double seconds)
{
	size_t i = 0;

	if (!isfinite(seconds) || seconds < 0)
		seconds = 0;
	while (i < h->n && seconds > h->le[i])
		i++;
	add(&h->bucket[i], 1);
	/* Past 584 years of seconds the sum wraps; a single value is capped
	 * at a year so that one absurd duration cannot do it. */
	add(&h->sum_ns, seconds > 31536000.0 ? 31536000000000000ull : (uint64_t)(seconds * 1e9 + 0.5));
}

void fw_metrics_scan_seconds(double seconds)
{
	hist_observe(&m.scan, seconds);
}

void fw_metrics_sandbox_seconds(enum fw_sandbox_backend backend, double seconds)
{
	if ((unsigned)backend < BACKENDS)
		hist_observe(&m.sandbox[backend], seconds);
}

void fw_metrics_sandbox_job(enum fw_sandbox_backend backend, enum fw_metrics_job_result result)
{
	if ((unsigned)backend < BACKENDS && (unsigned)result < FW_METRICS_JOB_RESULT_COUNT)
		add(&m.sandbox_jobs[backend][result], 1);
}

void fw_metrics_worker_restart(void)
{
	add(&m.restarts, 1);
}

void fw_metrics_syslog(enum fw_metrics_syslog what)
{
	switch (what) {
	case FW_METRICS_SYSLOG_SENT:
		add(&m.syslog_sent, 1);
		break;
	case FW_METRICS_SYSLOG_DROPPED:
		add(&m.syslog_dropped, 1);
		break;
	case FW_METRICS_SYSLOG_QUEUED:
		atomic_fetch_add_explicit(&m.syslog_queued, 1, memory_order_relaxed);
		break;
	case FW_METRICS_SYSLOG_UNQUEUED:
		atomic_fetch_sub_explicit(&m.syslog_queued, 1, memory_order_relaxed);
		break;
	}
}

static void hist_reset(struct hist *h)
{
	for (size_t i = 0; i <= h->n; i++)
		atomic_store(&h->bucket[i], 0);
	atomic_store(&h->sum_ns, 0);
}

void fw_metrics_reset(void)
{
	for (unsigned o = 0; o < OUTCOMES; o++)
		for (unsigned v = 0; v < VERDICTS; v++)
			atomic_store(&m.requests[o][v], 0);
	for (unsigned i = 0; i < FW_METRICS_REFUSED_COUNT; i++)
		atomic_store(&m.refused[i], 0);
	for (unsigned i = 0; i < FW_METRICS_CACHE_COUNT; i++)
		atomic_store(&m.cache[i], 0);
	for (unsigned b = 0; b < BACKENDS; b++) {
		for (unsigned r = 0; r < FW_METRICS_JOB_RESULT_COUNT; r++)
			atomic_store(&m.sandbox_jobs[b][r], 0);
		hist_reset(&m.sandbox[b]);
	}
	atomic_store(&m.bytes_in, 0);
	atomic_store(&m.bytes_out, 0);
	atomic_store(&m.restarts, 0);
	atomic_store(&m.syslog_sent, 0);
	atomic_store(&m.syslog_dropped, 0);
	hist_reset(&m.scan);
}

void fw_metrics_gauges_init(struct fw_metrics_gauges *g)
{
	memset(g, 0, sizeof(*g));
}

/* ------------------------------------------------------------ rendering */

/* The text under construction; the first failed allocation sticks. */
struct text {
	char *p;
	size_t len, cap;
	bool failed;   /* an allocation failed */
	bool overlong; /* a line did not fit its buffer: a bug, refused rather than cut */
};

static void text_put(struct text *t, const char *s, size_t n)
{
	if (t->failed)
		return;
	if (t->cap - t->len <= n) {
		size_t cap = t->cap ? t->cap : 4096;
		char *p;

		while (cap - t->len <= n)
			cap *= 2;
		p = realloc(t->p, cap);
		if (p == NULL) {
			t->failed = true;
			return;
		}
		t->p = p;
		t->cap = cap;
	}
	memcpy(t->p + t->len, s, n);
	t->len += n;
	t->p[t->len] = '\0';
}

static void text_printf(struct text *t, const char *fmt, ...) FW_PRINTF(2, 3);

static void text_printf(struct text *t, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* Every line is built from this file's names and numbers: one that
	 * does not fit is a bug, and the text is refused rather than cut. */
	if (n < 0 || (size_t)n >= sizeof(buf))
		t->overlong = true;
	else
		text_put(t, buf, (size_t)n);
}

/* A label value as the text format wants it: backslash, double quote and
 * line feed escaped (exposition format 0.0.4, "label_value"). */
static void text_label_value(struct text *t, const char *s)
{
	size_t run = 0;

	for (const char *c = s;; c++) {
		const char *esc = *c == '\\' ? "\\\\" : *c == '"' ? "\\\"" : *c == '\n' ? "\\n" : NULL;

		if (esc == NULL && *c != '\0') {
			run++;
			continue;
		}
		text_put(t, c - run, run);
		run = 0;
		if (*c == '\0')
			break;
		text_put(t, esc, 2);
	}
}

static void family(struct text *t, const char *name, const char *type, const char *help)
{
	text_printf(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{label="value"} n, or name n without a label. */
static void sample(struct text *t, const char *name, const char *label, const char *value, uint64_t n)
{
	text_put(t, name, strlen(name));
	if (label != NULL) {
		text_printf(t, "{%s=\"", label);
		text_label_value(t, value);
		text_put(t, "\"}", 2);
	}
	text_printf(t, " %llu\n", (unsigned long long)n);
}

static uint64_t get(atomic_uint_fast64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

/* One histogram's series; labels is "" or `backend="local",`. _count is
 * the +Inf bucket of the same reading, so the two always agree. */
static void hist_render(struct text *t, const char *name, const char *labels, struct hist *h)
{
	uint64_t cum = 0, sum = get(&h->sum_ns);
	size_t ll = strlen(labels);

	for (size_t i = 0; i <= h->n; i++) {
		cum += get(&h->bucket[i]);
		if (i < h->n)
			text_printf(t, "%s_bucket{%sle=\"%g\"} %llu\n", name, labels, h->le[i], (unsigned long long)cum);
		else
			text_printf(t, "%s_bucket{%sle=\"+Inf\"} %llu\n", name, labels, (unsigned long long)cum);
	}
	/* Without the trailing comma, the labels of _sum and _count. */
	text_printf(t, "%s_sum%s%.*s%s %llu.%09llu\n", name, ll ? "{" : "", ll ? (int)ll - 1 : 0, labels,
		    ll ? "}" : "", (unsigned long long)(sum / 1000000000u), (unsigned long long)(sum % 1000000000u));
	text_printf(t, "%s_count%s%.*s%s %llu\n", name, ll ? "{" : "", ll ? (int)ll - 1 : 0, labels, ll ? "}" : "",
		    (unsigned long long)cum);
}

static void render_proxy(struct text *t)
{
	family(t, "fwgate_requests_total", "counter",
	       "Requests that ended, by event outcome and the verdict they were answered on (none: refused before any).");
	for (unsigned o = 0; o < OUTCOMES; o++)
		for (unsigned v = 0; v < VERDICTS; v++)
			text_printf(t, "fwgate_requests_total{outcome=\"%s\",verdict=\"%s\"} %llu\n", outcome_names[o],
				    verdict_label(v), (unsigned long long)get(&m.requests[o][v]));
	family(t, "fwgate_requests_refused_total", "counter", "Requests refused, by the class of the reason.");
	for (unsigned i = 0; i < FW_METRICS_REFUSED_COUNT; i++)
		sample(t, "fwgate_requests_refused_total", "reason", refusal_names[i], get(&m.refused[i]));
	family(t, "fwgate_cache_requests_total", "counter",
	       "Allowed requests by how the vetted store answered: hit, revalidated (304 from the vendor), miss.");
	for (unsigned i = 0; i < FW_METRICS_CACHE_COUNT; i++)
		sample(t, "fwgate_cache_requests_total", "result", cache_names[i], get(&m.cache[i]));
	family(t, "fwgate_upstream_bytes_total", "counter", "Response body bytes received from vendors.");
	sample(t, "fwgate_upstream_bytes_total", NULL, NULL, get(&m.bytes_in));
	family(t, "fwgate_client_bytes_total", "counter", "Vetted response body bytes sent to clients.");
	sample(t, "fwgate_client_bytes_total", NULL, NULL, get(&m.bytes_out));
	family(t, "fwgate_scan_duration_seconds", "histogram",
	       "Round trip of one download through the scanner, hand-over to verdict.");
	hist_render(t, "fwgate_scan_duration_seconds", "", &m.scan);
}

static void render_recorded_sandbox(struct text *t)
{
	static const char *const backend[BACKENDS] = { "local", "cape" };

	family(t, "fwgate_sandbox_job_duration_seconds", "histogram",
	       "Duration of one sandbox job attempt, sample opened to result, by backend.");
	for (unsigned b = 0; b < BACKENDS; b++) {
		char labels[32];

		snprintf(labels, sizeof(labels), "backend=\"%s\",", backend[b]);
		hist_render(t, "fwgate_sandbox_job_duration_seconds", labels, &m.sandbox[b]);
	}
	family(t, "fwgate_sandbox_job_results_total", "counter",
	       "Sandbox job attempts by backend and result (retry: failed and queued again; failed: for good).");
	for (unsigned b = 0; b < BACKENDS; b++)
		for (unsigned r = 0; r < FW_METRICS_JOB_RESULT_COUNT; r++)
			text_printf(t, "fwgate_sandbox_job_results_total{backend=\"%s\",result=\"%s\"} %llu\n",
				    backend[b], job_result_names[r], (unsigned long long)get(&m.sandbox_jobs[b][r]));
	family(t, "fwgate_scanner_restarts_total", "counter",
	       "Times the gateway started the scanner supervisor and its workers again after it ended.");
	sample(t, "fwgate_scanner_restarts_total", NULL, NULL, get(&m.restarts));
}

static void render_recorded_syslog(struct text *t)
{
	int_fast64_t q = atomic_load_explicit(&m.syslog_queued, memory_order_relaxed);

	family(t, "fwgate_syslog_messages_total", "counter",
	       "Events for the remote syslog collector: sent whole, or dropped (queue full, unsendable, left at close).");
	sample(t, "fwgate_syslog_messages_total", "result", "sent", get(&m.syslog_sent));
	sample(t, "fwgate_syslog_messages_total", "result", "dropped", get(&m.syslog_dropped));
	family(t, "fwgate_syslog_queue_length", "gauge", "Events waiting for the remote syslog collector.");
	sample(t, "fwgate_syslog_queue_length", NULL, NULL, q > 0 ? (uint64_t)q : 0);
}

static void gauge(struct text *t, const char *name, const char *help, uint64_t n)
{
	family(t, name, "gauge", help);
	sample(t, name, NULL, NULL, n);
}

static void render_scanner(struct text *t, const struct fw_metrics_gauges *g)
{
	int64_t now = g->now ? g->now : (int64_t)time(NULL);
	bool any_db = false;

	gauge(t, "fwgate_scanner_up", "1 when a scanner supervisor serves, else 0.", g->scanner_up);
	gauge(t, "fwgate_scanner_workers", "Scanner worker processes alive.", g->scanner_workers);
	gauge(t, "fwgate_scanner_workers_busy", "Scanner workers judging a job now.", g->scanner_workers_busy);
	gauge(t, "fwgate_scanner_jobs_in_flight", "Scanner jobs the gateway handed over and waits on.",
	      g->scanner_jobs_in_flight);
	gauge(t, "fwgate_scanner_jobs_queued", "Scanner jobs waiting in the supervisor for a free worker.",
	      g->scanner_jobs_queued);
	family(t, "fwgate_scanner_worker_replacements_total", "counter",
	       "Scanner workers replaced: crashed, timed out, answered garbage, or retired after a reload.");
	sample(t, "fwgate_scanner_worker_replacements_total", NULL, NULL, g->scanner_worker_replacements);
	gauge(t, "fwgate_scanner_signatures", "Signatures in the loaded ClamAV engine.", g->scanner_signatures);
	for (unsigned i = 0; i < FW_METRICS_DB_COUNT; i++)
		any_db |= g->scanner_db_version[i] != 0;
	if (any_db) {
		family(t, "fwgate_scanner_db_version", "gauge", "Version of each loaded ClamAV database.");
		for (unsigned i = 0; i < FW_METRICS_DB_COUNT; i++)
			if (g->scanner_db_version[i] != 0)
				sample(t, "fwgate_scanner_db_version", "database", db_names[i], g->scanner_db_version[i]);
	}
	if (g->scanner_db_time > 0)
		gauge(t, "fwgate_scanner_db_age_seconds", "Age of the newest loaded ClamAV database.",
		      now > g->scanner_db_time ? (uint64_t)(now - g->scanner_db_time) : 0);
	if (g->scanner_signatures_time > 0) {
		uint64_t age = now > g->scanner_signatures_time ? (uint64_t)(now - g->scanner_signatures_time) : 0;

		gauge(t, "fwgate_scanner_signatures_age_seconds",
		      "Age of the stalest signature directory (its newest database).", age);
		if (g->scanner_signatures_max_age > 0)
			gauge(t, "fwgate_scanner_signatures_outdated",
			      "1 when that age is over [scanner] max_signature_age_hours, else 0.",
			      age > g->scanner_signatures_max_age);
	}
}

/* A count the store document gives, when it is one. */
static bool stats_num(const json_t *v, uint64_t *n)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return false;
	*n = (uint64_t)json_integer_value(v);
	return true;
}

static bool stats_key_ok(const char *key)
{
	size_t n = strnlen(key, STATS_KEY_MAX + 1);

	return n > 0 && n <= STATS_KEY_MAX;
}

/* One labelled family from a map of the store document: {KEY: n} or,
 * with field, {KEY: {field: n}}; the header only when a sample follows. */
static void stats_map(struct text *t, const json_t *map, const char *field, const char *name, const char *help)
{
	const char *key;
	json_t *v;
	size_t seen = 0;
	bool header = false;

	json_object_foreach((json_t *)(uintptr_t)map, key, v) {
		uint64_t n;

		if (seen++ >= STATS_KEYS_MAX)
			break;
		if (!stats_key_ok(key) || !stats_num(field ? json_object_get(v, field) : v, &n))
			continue;
		if (!header)
			family(t, name, "gauge", help);
		header = true;
		sample(t, name, "state", key, n);
	}
}

static void render_store(struct text *t, const json_t *st)
{
	const json_t *objects = json_object_get(st, "objects"), *jobs = json_object_get(st, "sandbox");
	uint64_t n;

	if (json_is_object(objects)) {
		stats_map(t, objects, "count", "fwgate_store_objects", "Objects in the store by life-cycle state.");
		stats_map(t, objects, "bytes", "fwgate_store_bytes", "Bytes of the store's objects by life-cycle state.");
	}
	if (json_is_object(jobs))
		stats_map(t, jobs, NULL, "fwgate_sandbox_jobs", "Sandbox jobs in the store by state.");
	if (stats_num(json_object_get(st, "requests_open"), &n))
		gauge(t, "fwgate_review_requests_open", "Release requests waiting for a second reviewer.", n);
	if (stats_num(json_object_get(st, "audit_rows"), &n))
		gauge(t, "fwgate_store_audit_rows", "Rows in the audit log.", n);
	if (stats_num(json_object_get(st, "db_bytes"), &n))
		gauge(t, "fwgate_store_db_bytes", "Size of the store's database files in bytes.", n);
}

int fw_metrics_text(const struct fw_metrics_gauges *g, char **out, size_t *len, struct fw_err *err)
{
	struct text t = { 0 };

	*out = NULL;
	*len = 0;
	render_proxy(&t);
	render_recorded_sandbox(&t);
	render_recorded_syslog(&t);
	if (g != NULL && g->scanner_set)
		render_scanner(&t, g);
	if (g != NULL && g->sandbox_set) {
		gauge(&t, "fwgate_sandbox_runners", "Sandbox runner threads judging jobs.", g->sandbox_runners);
		gauge(&t, "fwgate_sandbox_jobs_running", "Sandbox jobs a runner judges now.", g->sandbox_jobs_running);
	}
	if (g != NULL && json_is_object(g->store_stats))
		render_store(&t, g->store_stats);
	gauge(&t, "process_start_time_seconds", "Start time of the process since the Unix epoch in seconds.",
	      start_time > 0 ? (uint64_t)start_time : 0);
	family(&t, "fwgate_build_info", "gauge", "Always 1; the label names the fwgate version.");
	sample(&t, "fwgate_build_info", "version", FWGATE_VERSION, 1);
	if (t.failed || t.overlong) {
		free(t.p);
		return t.failed ? fw_err_setc(err, FW_E_NOMEM, "out of memory for the metrics text")
				: fw_err_set(err, "a line of the metrics text is longer than its buffer");
	}
	*out = t.p;
	*len = t.len;
	return 0;
}
