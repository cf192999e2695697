/* common/metrics.c: the gateway's Prometheus metrics. Modules record
 * counters and histograms as things happen (process-global, lock-free
 * atomics, no allocation, safe from any thread); the console fills a
 * struct fw_metrics_gauges at scrape time and renders the whole exposition
 * (text format 0.0.4) with fw_metrics_text.
 * Must not take a label value from a request: every label is a small fixed
 * enum named here (never a URL, a host or any string a client or vendor
 * chooses), so the number of series is bounded by this header.
 * Thread-safety: every recording call and fw_metrics_text may run in many
 * threads at once; fw_metrics_reset is for tests. */
#ifndef FWGATE_METRICS_H
#define FWGATE_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "fwgate/attrib.h"
#include "fwgate/err.h"
#include "fwgate/event.h"
#include "fwgate/verdict.h"

/* ------------------------------------------------------------ recording */

/* The verdict label of a request refused before any verdict (a CONNECT,
 * a malformed request, the policy, a failed fetch): "none". */
#define FW_METRICS_VERDICT_NONE ((enum fw_verdict)(FW_VERDICT_INFECTED + 1))

/* One request ended (fwgate_requests_total{outcome, verdict}): outcome as
 * its event says; verdict the one it was answered on (a delivery: clean,
 * or the stored verdict of a released object), or FW_METRICS_VERDICT_NONE.
 * Values out of range are counted as "unknown" / "none". */
void fw_metrics_request(enum fw_outcome outcome, enum fw_verdict verdict);

/* Why a request was refused (fwgate_requests_refused_total{reason}). */
enum fw_metrics_refusal {
	FW_METRICS_REFUSED_MALFORMED = 0, /* a head that does not parse, not CONNECT, a timeout before the head */
	FW_METRICS_REFUSED_AUTH,          /* proxy credentials missing or wrong (407) */
	FW_METRICS_REFUSED_POLICY,        /* the allow-list or a blocked category (403) */
	FW_METRICS_REFUSED_TLS,           /* the client's TLS handshake failed, or no leaf could be minted */
	FW_METRICS_REFUSED_UPSTREAM,      /* the fetch failed: DNS, TLS, an address refused, size, time */
	FW_METRICS_REFUSED_VERDICT,       /* the body's verdict is not clean (403 block page) */
	FW_METRICS_REFUSED_STORED,        /* the store holds the content back: rejected or quarantined */
	FW_METRICS_REFUSED_PENDING,       /* still under sandbox analysis after the hold (503) */
	FW_METRICS_REFUSED_SCANNER,       /* the scanner could not be reached (503) */
	FW_METRICS_REFUSED_STORE,         /* the store failed (503, 507) */
	FW_METRICS_REFUSED_BUSY,          /* another request's fetch ran too long, or the gateway is stopping */
	FW_METRICS_REFUSED_INTERNAL,      /* an internal error (500) */
	FW_METRICS_REFUSED_COUNT,
};

/* Values out of range are not counted. */
void fw_metrics_refused(enum fw_metrics_refusal reason);

/* Body bytes: received from vendors (as spooled, counted as they arrive,
 * whether or not the download is delivered) and sent to clients
 * (fwgate_upstream_bytes_total, fwgate_client_bytes_total). */
void fw_metrics_bytes_in(uint64_t bytes);
void fw_metrics_bytes_out(uint64_t bytes);

/* How the vetted store answered a GET or HEAD the policy allowed
 * (fwgate_cache_requests_total{result}). */
enum fw_metrics_cache {
	FW_METRICS_CACHE_HIT = 0,     /* served from the store, the vendor not asked */
	FW_METRICS_CACHE_REVALIDATED, /* stale, the vendor said 304: served from the store */
	FW_METRICS_CACHE_MISS,        /* fetched from the vendor (unknown, changed, or refetched) */
	FW_METRICS_CACHE_COUNT,
};

void fw_metrics_cache(enum fw_metrics_cache result);

/* The proxy's round trip to the scanner for one download, hand-over to
 * verdict (fwgate_scan_duration_seconds). Negative or not finite: 0. */
void fw_metrics_scan_seconds(double seconds);

/* One sandbox job attempt, sample opened to result
 * (fwgate_sandbox_job_duration_seconds{backend}); backend local or cape. */
void fw_metrics_sandbox_seconds(enum fw_sandbox_backend backend, double seconds);

/* How one sandbox job attempt ended (fwgate_sandbox_jobs_total{backend,
 * result}). */
enum fw_metrics_job_result {
	FW_METRICS_JOB_BENIGN = 0,
	FW_METRICS_JOB_SUSPICIOUS,
	FW_METRICS_JOB_MALICIOUS,
	FW_METRICS_JOB_RETRY,   /* the attempt failed and the job is queued again */
	FW_METRICS_JOB_FAILED,  /* the attempt failed and it was the last one: the job failed */
	FW_METRICS_JOB_RESULT_COUNT,
};

void fw_metrics_sandbox_job(enum fw_sandbox_backend backend, enum fw_metrics_job_result result);

/* The gateway started the scanner supervisor (and with it every worker)
 * again after it died (fwgate_scanner_restarts_total). */
void fw_metrics_worker_restart(void);

/* The remote syslog forwarder (fwgate/syslog_fwd.h): a message sent whole
 * (fwgate_syslog_messages_total{result="sent"}), an event dropped
 * ({result="dropped"}: queue full, unsendable, left at close), an event
 * queued or taken off the queue (the gauge fwgate_syslog_queue_length). */
enum fw_metrics_syslog {
	FW_METRICS_SYSLOG_SENT = 0,
	FW_METRICS_SYSLOG_DROPPED,
	FW_METRICS_SYSLOG_QUEUED,
	FW_METRICS_SYSLOG_UNQUEUED,
};

void fw_metrics_syslog(enum fw_metrics_syslog what);

/* Sets every recorded counter and histogram back to zero. For tests: a
 * scrape that runs at the same time may see part of the old values. */
void fw_metrics_reset(void);

/* ------------------------------------------------------------ scrape */

/* The ClamAV databases whose version is exported (by file name, .cvd or
 * .cld): a fixed set, so a label never comes from a directory listing. */
enum fw_metrics_db {
	FW_METRICS_DB_MAIN = 0,
	FW_METRICS_DB_DAILY,
	FW_METRICS_DB_BYTECODE,
	FW_METRICS_DB_COUNT,
};

/* "main", "daily", "bytecode"; NULL out of range. */
const char *fw_metrics_db_name(enum fw_metrics_db db);

/* Values read at scrape time. What is not set is left out of the text. */
struct fw_metrics_gauges {
	/* fw_scanner_metrics */
	bool scanner_set;
	bool scanner_up;                 /* a supervisor serves now */
	unsigned scanner_workers;        /* worker processes alive */
	unsigned scanner_workers_busy;   /* ... of them judging a job now */
	unsigned scanner_jobs_in_flight; /* jobs this process handed over and waits on */
	unsigned scanner_jobs_queued;    /* jobs in the supervisor waiting for a worker */
	uint64_t scanner_worker_replacements; /* workers replaced (crash, timeout, garbage, reload) */
	unsigned scanner_restarts;       /* supervisor restarts since the gateway started */
	uint64_t scanner_signatures;     /* signatures in the loaded engine */
	uint32_t scanner_db_version[FW_METRICS_DB_COUNT]; /* 0: not loaded */
	int64_t scanner_db_time;         /* build time of the newest database, unix seconds; 0: unknown */
	/* The stalest signature directory's newest database (a .cvd/.cld
	 * build time or another file's modification time), unix seconds; 0:
	 * unknown (bundled signatures only). With the maximum age (seconds; 0:
	 * no check) it makes fwgate_scanner_signatures_age_seconds and
	 * fwgate_scanner_signatures_outdated. */
	int64_t scanner_signatures_time;
	uint64_t scanner_signatures_max_age;
	/* fw_sandbox_metrics */
	bool sandbox_set;
	unsigned sandbox_runners;        /* runner threads judging jobs */
	unsigned sandbox_jobs_running;   /* jobs a runner of this process judges now */
	/* fw_store_stats' document, borrowed; NULL: left out. Rendered:
	 * objects.STATE.{count,bytes}, sandbox.JOB_STATE, requests_open,
	 * db_bytes (a member missing or not a number is left out). */
	const json_t *store_stats;
	/* Now, unix seconds, for the database's age; 0: the clock's. */
	int64_t now;
};

/* Empties g: nothing set. */
void fw_metrics_gauges_init(struct fw_metrics_gauges *g) FW_NONNULL(1);

/* The whole exposition (Prometheus text format 0.0.4): every recorded
 * family, the gauges set in g (g may be NULL), the process start time and
 * fwgate_build_info. *out (NUL-terminated, *len bytes) is the caller's to
 * free(); both are cleared on entry and set only on success. */
int fw_metrics_text(const struct fw_metrics_gauges *g, char **out, size_t *len, struct fw_err *err)
	FW_WUR FW_NONNULL(2, 3);

/* The content type of that text, for the console's answer. */
#define FW_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif
