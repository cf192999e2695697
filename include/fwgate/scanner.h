/* scanner/: spool files and hashing, and the inspection pipeline: typing
 * (libmagic), recursive unpacking (libarchive) under limits, ClamAV
 * scanning, verdicts, and the scanner worker processes that do all of it
 * away from the proxy. Must not hold the CA key or any Internet socket.
 * Thread-safety: a struct fw_spool belongs to one thread at a time;
 * fw_spool_dir_prepare is for start-up only; fw_scanner_scan_fd may be
 * called from many threads at once; start, reload and stop from one. */
#ifndef FWGATE_SCANNER_H
#define FWGATE_SCANNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "fwgate/config.h"
#include "fwgate/err.h"
#include "fwgate/fileio.h"
#include "fwgate/verdict.h"

/* One in-flight download: a file in <state>/spool/ receiving the body as
 * it arrives, hashed (SHA-256) on the way. */
struct fw_spool;

/* Creates <state_dir>/spool (0700) and removes whatever an earlier run
 * left there, files and directories at any depth (fw_dir_empty): a spool
 * file is never trusted across a restart. stats says what was removed. */
int fw_spool_dir_prepare(const char *state_dir, struct fw_dir_empty_stats *stats, struct fw_err *err)
	FW_WUR FW_NONNULL(1, 2);

/* Creates <state_dir>/tmp (0700), the scanner's temporary directory, into
 * out, and empties it the same way (ClamAV leaves per-scan directories
 * there when a worker is killed). */
int fw_scan_tmp_prepare(const char *state_dir, char *out, size_t len, struct fw_dir_empty_stats *stats,
			struct fw_err *err) FW_WUR FW_NONNULL(1, 2, 4);

/* A new spool file that refuses to grow past max_bytes. */
int fw_spool_new(struct fw_spool **out, const char *state_dir, uint64_t max_bytes,
		 struct fw_err *err) FW_WUR FW_NONNULL(1, 2);

/* Appends len bytes and hashes them. Fails (and keeps failing) past
 * max_bytes or on a write error; fw_spool_over_limit tells which. */
int fw_spool_write(struct fw_spool *sp, const void *buf, size_t len, struct fw_err *err)
	FW_WUR FW_NONNULL(1);

bool fw_spool_over_limit(const struct fw_spool *sp);

/* Ends writing: finalizes the hash. Nothing may be written after. */
int fw_spool_finish(struct fw_spool *sp, struct fw_err *err) FW_WUR FW_NONNULL(1);

uint64_t fw_spool_size(const struct fw_spool *sp);
/* Lower-case hex SHA-256 of everything written; "" before finish. */
const char *fw_spool_sha256(const struct fw_spool *sp);
/* Descriptor to read the spooled bytes back with pread. */
int fw_spool_fd(const struct fw_spool *sp);
const char *fw_spool_path(const struct fw_spool *sp);

/* The file has been moved away (into the store): discard must not remove
 * whatever may later take its name. The descriptor stays readable. */
void fw_spool_consumed(struct fw_spool *sp) FW_NONNULL(1);

/* From now on, every write is told to st (fw_scan_stream_grew) once its
 * bytes are in the file. NULL stops it. */
struct fw_scan_stream;
void fw_spool_watch(struct fw_spool *sp, struct fw_scan_stream *st) FW_NONNULL(1);

/* Removes the file and frees; NULL is a no-op. */
void fw_spool_discard(struct fw_spool *sp);

/* ------------------------------------------------------------ verdicts */

/* enum fw_verdict and its names: fwgate/verdict.h. */

/* The verdict on one package. The summary fields come from doc, the whole
 * verdict document (the layout `fwgate scan --json` prints):
 *   path, sha256, size, mime, file_type, verdict, reasons[],
 *   signatures[] {name, member}, sandbox[] (see fw_scanner_scan_fd),
 *   members[] {path, depth, size, sha256,
 *   mime, file_type, verdict}, members_total, members_listed, engine{}. */
struct fw_scan_result {
	enum fw_verdict verdict;
	char reason[FW_ERR_MSG_MAX];     /* the first reason; "" when clean */
	char signature[256];             /* the first signature; "" when none */
	char member[FW_ERR_MSG_MAX];     /* the member chain it matched in */
	char member_sha256[FW_SHA256_HEX_LEN + 1];
	char yara[FW_ERR_MSG_MAX];       /* the YARA matches, "RULE [TAGS] in CHAIN; ..."; "" when none */
	json_t *doc;                     /* owned; NULL when no worker answered */
	long long overlap_ms;            /* judged as it arrived: how long the scan ran beside the fetch; else 0 */
};

/* Frees doc and empties the record; safe on a zeroed record. */
void fw_scan_result_clear(struct fw_scan_result *res);

/* Sets res to `unscannable` with reason and no document: the fail-closed
 * answer when the pipeline itself failed. */
void fw_scan_result_fail(struct fw_scan_result *res, const char *fmt, ...) FW_PRINTF(2, 3);

/* ------------------------------------------------------- the scanner */

/* The scanner: a supervisor process that loads the ClamAV engine once and
 * pre-forks [scanner] workers sharing it copy-on-write. */
struct fw_scanner;
struct fw_metrics_gauges;

/* The argument that makes the fwgate binary run as a scanner supervisor
 * (fw_scanner_exec_main); not a command for people. */
#define FW_SCANNER_EXEC_ARG "--fwgate-scanner-supervisor"

/* What happened to the supervisor, for fw_scanner_opts.notify. */
enum fw_scanner_event {
	FW_SCANNER_DOWN,            /* it ended: jobs fail (503) until a restart */
	FW_SCANNER_RESTARTED,       /* a new one serves; reason is its engine summary */
	FW_SCANNER_RESTART_FAILED,  /* a restart failed; another follows after a back-off */
};

/* Called on the scanner's own thread; must not call back into it. */
typedef void (*fw_scanner_notify_fn)(void *arg, enum fw_scanner_event ev, const char *reason, unsigned restarts);

struct fw_scanner_opts {
	/* The fwgate binary (an executable whose main calls
	 * fw_scanner_exec_main for FW_SCANNER_EXEC_ARG), opened once at start:
	 * every supervisor, the first and each restart, is a fresh exec of it,
	 * so it never holds a copy of the caller's memory (the CA key). */
	const char *exe;
	/* An existing directory, 0700: unpacked members as unnamed files and
	 * ClamAV's temporary files. */
	const char *tmp_dir;
	/* An existing directory, 0700, where the members the sandbox must
	 * judge are kept, named by their SHA-256; NULL: none are kept. */
	const char *samples_dir;
	/* The engine summary (databases, signature count, warnings) at start,
	 * one line at a time; may be NULL. */
	FILE *info;
	/* Restart watching: with watch set, a supervisor that dies is started
	 * again with back-off (at once, then 1 s, 2 s, ... at most 60 s) and
	 * notify (may be NULL: a line on stderr) hears of it. */
	bool watch;
	fw_scanner_notify_fn notify;
	void *notify_arg;
};

/* Starts the supervisor (an exec of opts->exe), which loads the signatures
 * and forks the workers. Start-up is all-or-nothing: returns after the
 * engine is loaded and the workers are up, or fails with the
 * supervisor's reason. */
int fw_scanner_start(struct fw_scanner **out, const struct fw_config *cfg, const struct fw_scanner_opts *opts,
		     struct fw_err *err) FW_WUR FW_NONNULL(1, 2, 3);

/* The main of a re-executed fwgate binary running as the supervisor: reads
 * its start-up message from its control socket and serves; never returns
 * on success (returns 2 when started wrongly). */
int fw_scanner_exec_main(void);

/* Inspects the file open on fd (read from offset 0 with pread; the caller
 * keeps it). name is the file's display name, the root of member chains;
 * sha256 (may be NULL) is the file's hash when the caller has it already.
 * Always fills res: any failure of the pipeline (worker crash, timeout,
 * garbage answer, supervisor gone) is `unscannable` with the reason, so
 * the caller fails closed by delivering only `clean`. Returns 0, or -1 only
 * for a caller error (bad arguments). Thread-safe; blocks.
 * sandbox_types: bits (1u << enum fw_file_type) of the member types the
 * sandbox judges; such members are listed in the document's sandbox[]
 * {path, depth, size, sha256, file_type} and kept in samples_dir (all but
 * the package itself, which the caller keeps). */
int fw_scanner_scan_fd(struct fw_scanner *s, int fd, const char *name, const char *sha256,
		       unsigned sandbox_types, struct fw_scan_result *res) FW_NONNULL(1, 3, 6);

/* A cold download judged while it arrives (fetch and scan overlapped).
 * Started once the vendor's head says how long the body is: fd is the
 * spool file being written (reopened read-only for the worker), length its
 * Content-Length. The worker runs ClamAV over the bytes as they land and
 * walks the package once every byte is there, so the verdict covers every
 * byte as fw_scanner_scan_fd's would; the caller delivers nothing before
 * fw_scan_stream_finish. fw_scan_stream_grew tells the worker that bytes
 * were appended (one non-blocking write; never blocks the download). Not
 * thread-safe: one stream belongs to one download. */
struct fw_scan_stream;

int fw_scanner_stream_start(struct fw_scanner *s, int fd, uint64_t length, const char *name,
			    unsigned sandbox_types, struct fw_scan_stream **out, struct fw_err *err)
	FW_WUR FW_NONNULL(1, 4, 6, 7);
void fw_scan_stream_grew(struct fw_scan_stream *st);
/* Ends the stream and frees it. sha256 and size are the finished
 * download's: res is then filled as by fw_scanner_scan_fd (a worker that
 * read another size than size makes it unscannable), and 0 says the
 * scanner answered with a verdict document, -1 that none came (res is
 * unscannable with the reason: the supervisor was down or ended during
 * the download; the caller may scan the finished file instead). sha256
 * NULL: the download failed; the job's answer is waited for and dropped,
 * res is not touched. NULL st is a no-op (-1). */
int fw_scan_stream_finish(struct fw_scan_stream *st, const char *sha256, uint64_t size,
			  struct fw_scan_result *res);

/* Static analysis of one sandbox sample (the `local` backend) in a
 * worker, never in the calling process: *analysis is {score, findings[]
 * {kind, detail, weight, offset}, dropped, entropy{}} (scanner/analyze.h).
 * file_type is the sample's ("firmware_image", "pe", ...). Bounded by the
 * smaller of timeout_seconds and [scanner] timeout_seconds. */
int fw_scanner_analyze_fd(struct fw_scanner *s, int fd, const char *file_type, unsigned timeout_seconds,
			  json_t **analysis, struct fw_err *err) FW_WUR FW_NONNULL(1, 3, 5);

#define FW_CAPE_REPORT_MAX (64u * 1024 * 1024)

/* Summarizes a CAPE report (JSON, at most 64 MiB, open read-only on fd)
 * in a worker, never in the calling process: *summary is {"error": bool,
 * "error_value"?, "malscore"? (a number), "malstatus", "signatures"
 * [{name, description, severity}], at most 32}, every string bounded. */
int fw_scanner_cape_summary_fd(struct fw_scanner *s, int fd, json_t **summary, struct fw_err *err)
	FW_WUR FW_NONNULL(1, 3);

/* Compiles a new engine from the configured signatures and rolls the
 * workers onto it; jobs in flight finish on the old workers. On failure
 * the old engine keeps serving and err says why. */
int fw_scanner_reload(struct fw_scanner *s, struct fw_err *err) FW_NONNULL(1);

#define FW_SCANNER_SUMMARY_MAX 1024

/* One line describing the loaded engine (databases, signature count),
 * copied into out (a restart or a reload may change it). Thread-safe. */
const char *fw_scanner_summary(struct fw_scanner *s, char *out, size_t len) FW_NONNULL(1, 2);

/* Whether a supervisor serves now, how many times it was restarted, and
 * how many seconds a client should wait before it asks again (the time to
 * the next restart attempt, 5 to 60). Thread-safe. */
bool fw_scanner_up(struct fw_scanner *s) FW_NONNULL(1);
unsigned fw_scanner_restarts(struct fw_scanner *s) FW_NONNULL(1);
unsigned fw_scanner_retry_after(struct fw_scanner *s) FW_NONNULL(1);

/* ------------------------------------------------- signature databases */

#define FW_SIGDB_MAX 64
#define FW_SIGDB_NAME_MAX 64

enum fw_sigdb_kind {
	FW_SIGDB_CVD = 0,   /* a ClamAV .cvd/.cld: version, count, build time from its 512-byte header */
	FW_SIGDB_LOCAL,     /* a directory's other signature files (.ndb, .hdb, ...): newest file time */
	FW_SIGDB_BUNDLED,   /* fwgate's own, compiled in: no age */
};

/* One loaded database, as the engine found it when it was loaded. */
struct fw_sigdb {
	enum fw_sigdb_kind kind;
	char name[FW_SIGDB_NAME_MAX];  /* "main", "daily", ... (file name without .cvd/.cld); "local"; "bundled" */
	char dir[FW_PATH_MAX];         /* the directory it was loaded from; "" for bundled */
	uint32_t version;              /* the header's; 0 for local and bundled */
	uint32_t signatures;           /* the header's count; 0 (unknown) for local and bundled */
	unsigned files;                /* local: how many signature files; else 1 */
	int64_t time;                  /* build time (header) or newest file time, unix seconds; 0: none */
};

/* What the serving engine was loaded from. */
struct fw_signature_info {
	uint64_t signatures;           /* signatures in the engine, in all */
	int64_t loaded_at;             /* when the engine was loaded, unix seconds; 0: no engine yet */
	unsigned n_dbs;
	struct fw_sigdb dbs[FW_SIGDB_MAX];
};

/* The signature databases of the serving engine, for `fwgate status`,
 * the reload events and the age warning: copied into *out (about 70 KiB;
 * cleared first) as the supervisor's last READY said (the start, a reload,
 * a restart). Thread-safe. */
void fw_scanner_signature_info(struct fw_scanner *s, struct fw_signature_info *out) FW_NONNULL(1, 2);

/* How stale the signatures are: a directory is as old as its newest
 * database (freshclam rebuilds daily often, main seldom), and the result is
 * the newest time of the stalest directory, unix seconds (now minus it is
 * the age). *index (may be NULL) is that database's entry. 0 when no
 * database has a time (bundled signatures only). Pure. */
int64_t fw_signature_info_stalest(const struct fw_signature_info *si, unsigned *index) FW_NONNULL(1);

/* The info as JSON: {signatures, loaded_at, databases: [{kind: "cvd" |
 * "local" | "bundled", name, dir, version, signatures, files, time,
 * age_seconds}]}; age_seconds only when now > 0. NULL when out of
 * memory. */
json_t *fw_signature_info_json(const struct fw_signature_info *si, int64_t now) FW_NONNULL(1);

/* One line for people and events: "daily 27500 (built 2026-12-04 08:00
 * UTC, 3 h old) in /var/lib/clamav; local: 2 files (newest 10 s old) in
 * /etc/sigs; bundled", cut (and ending in "...") to fit len. */
const char *fw_signature_info_line(const struct fw_signature_info *si, int64_t now, char *out, size_t len)
	FW_NONNULL(1, 3);

/* ------------------------------------------------ the signature watch */

/* Watches the signature directories ([scanner] signatures, or
 * /var/lib/clamav when none is configured) with inotify and says when a
 * reload is due: after a change to a file ClamAV loads, once the
 * directory has been quiet for [scanner] reload_debounce_seconds (at the
 * latest ten times that after the first change of a burst). A directory
 * that does not exist (yet), or is deleted or replaced, is awaited through
 * its parent and watched again when it appears (a reload is due then).
 * It never reloads by itself: the caller does, once at a time. */
struct fw_sigwatch;

enum fw_sigwatch_event {
	FW_SIGWATCH_CHANGED,   /* a reload is due; reason names the first change */
	FW_SIGWATCH_LOST,      /* a directory can no longer be watched; reason says why */
};

/* Called on the watch's own thread; must not call fw_sigwatch_stop. */
typedef void (*fw_sigwatch_fn)(void *arg, enum fw_sigwatch_event ev, const char *reason);

/* Starts the watch thread. Fails (err says why: no inotify, too many
 * watches, a directory and its parent both missing) with nothing started. */
int fw_sigwatch_start(struct fw_sigwatch **out, const struct fw_config *cfg, fw_sigwatch_fn fn, void *arg,
		      struct fw_err *err) FW_WUR FW_NONNULL(1, 2, 3);

/* Stops the thread and frees; NULL is a no-op. */
void fw_sigwatch_stop(struct fw_sigwatch *w);

/* The scanner's figures for a scrape (fwgate/metrics.h): whether a
 * supervisor serves, its workers alive and busy, jobs in flight from this
 * process and queued in the supervisor, workers replaced, the engine's
 * signature count and database versions and the newest database's build
 * time (as its last READY and STATUS said). Lock-free; thread-safe.
 * Supervisor restarts are counted as they happen
 * (fwgate_scanner_restarts_total). */
void fw_scanner_metrics(const struct fw_scanner *s, struct fw_metrics_gauges *g) FW_NONNULL(1, 2);

/* Shuts the supervisor down without freeing anything: jobs in flight end
 * at once (as unscannable, or an analysis error), new ones fail, and no
 * restart follows. For a prompt shutdown while other threads may still
 * be waiting on a job; fw_scanner_stop frees afterwards. Thread-safe;
 * NULL is a no-op. */
void fw_scanner_cancel(struct fw_scanner *s);

/* Stops the supervisor and its workers and frees; NULL is a no-op. */
void fw_scanner_stop(struct fw_scanner *s);

#endif
