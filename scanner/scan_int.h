/* Private to scanner/: the pieces of the inspection pipeline that run in
 * a worker process (typing, the unpack walk, the ClamAV queue, the
 * verdict report) and the wire format between client, supervisor and
 * workers. Nothing here is for other modules. */
#ifndef FWGATE_SCAN_INT_H
#define FWGATE_SCAN_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <jansson.h>

#include "fwgate/config.h"
#include "fwgate/metrics.h"
#include "fwgate/scanner.h"

struct cl_engine;
struct scan_yara;

/* Compiled into the binary by tools/embed.py (scanner/meson.build): the
 * firmware magic database, the shipped YARA rules, fwgate's own
 * ClamAV signatures. */
extern const unsigned char scan_embedded_magic[];
extern const size_t scan_embedded_magic_len;
extern const unsigned char scan_embedded_yara[];
extern const size_t scan_embedded_yara_len;
extern const unsigned char scan_embedded_signatures[];
extern const size_t scan_embedded_signatures_len;

/* ------------------------------------------------------------ limits */

/* The limits one package is inspected under, from [scanner]. */
struct scan_limits {
	unsigned max_depth;
	uint64_t max_members;
	uint64_t max_member_bytes;
	uint64_t max_total_bytes;
	unsigned max_ratio;
	unsigned max_seconds;
};

void scan_limits_from_config(struct scan_limits *l, const struct fw_config *cfg);

struct analyze_range;

/* Where in len bytes at p the walk opens compressed streams (a UEFI
 * image's compressed sections that decode; walk_uefi.c): at most max
 * ranges into out, their count returned. The same parse as the walk's,
 * under the same limits, so that the static analyzer leaves out exactly
 * what the walk opened and judged as children. */
size_t scan_opened_ranges(const uint8_t *p, size_t len, const struct scan_limits *lim, struct analyze_range *out,
			  size_t max) FW_NONNULL(1, 3, 4);

/* ------------------------------------------------------------ engine */

/* Where freshclam keeps ClamAV's databases: loaded (and watched) when
 * [scanner] signatures names no directory. */
#define SCAN_SYSTEM_DB_DIR "/var/lib/clamav"

/* The ClamAV engine and the YARA rules, and what they were loaded from:
 * loaded, reloaded and replaced together. */
struct scan_engine {
	struct cl_engine *cl;
	struct scan_yara *yara;   /* [scanner] yara_rules, or the shipped rules */
	unsigned signatures;
	bool full_db;             /* a main/daily database was among them */
	char summary[1024];       /* one line for logs and `fwgate version`-like output */
	char warning[512];        /* "" or a loud warning for the operator */
	uint32_t db_version[FW_METRICS_DB_COUNT]; /* main, daily, bytecode (.cvd/.cld headers); 0: not loaded */
	int64_t db_time[FW_METRICS_DB_COUNT];     /* their build times, unix seconds */
	struct fw_signature_info sig;             /* every database, its version and age */
};

/* Compiles the YARA rules ([scanner] yara_rules, or the shipped ones),
 * loads the configured signatures (or the bundled ones plus
 * /var/lib/clamav), sets ClamAV's limits at or above fwgate's and
 * compiles. A rule that does not compile fails the load with its
 * file:line. tmp_dir is where ClamAV may write its temporary files. */
int scan_engine_load(struct scan_engine **out, const struct fw_config *cfg, const char *tmp_dir,
		     struct fw_err *err) FW_WUR FW_NONNULL(1, 2, 3);
void scan_engine_free(struct scan_engine *e);
/* The loaded databases for the READY message: {NAME: {version, time}}
 * for each of main, daily and bytecode that was loaded. */
json_t *scan_engine_databases(const struct scan_engine *e) FW_NONNULL(1);

/* ------------------------------------------------------------ typing */

struct scan_typer;

int scan_typer_new(struct scan_typer **out, struct fw_err *err) FW_WUR FW_NONNULL(1);
void scan_typer_free(struct scan_typer *t);
/* MIME type of the node open on fd (its first and last megabyte are
 * read), into mime (always set). Not thread-safe: one typer per thread. */
void scan_typer_mime_fd(struct scan_typer *t, int fd, uint64_t size, char *mime, size_t mime_len)
	FW_NONNULL(1, 4);
/* The policy file type of a MIME type: "firmware_image", "pe", "archive"
 * or "other". */
const char *scan_file_type(const char *mime) FW_NONNULL(1);
/* True when the MIME type names a container format libarchive reads. */
bool scan_mime_is_archive(const char *mime) FW_NONNULL(1);

/* ------------------------------------------------------------ report */

/* The verdict document under construction; shared by the walker and the
 * scan threads, guarded by lock. */
struct scan_report {
	pthread_mutex_t lock;
	json_t *doc;              /* the document (see fwgate/scanner.h) */
	json_t *members;          /* doc.members */
	json_t *reasons;          /* doc.reasons */
	json_t *signatures;       /* doc.signatures */
	json_t *sandbox;          /* doc.sandbox */
	enum fw_verdict verdict;
	uint64_t members_total;
	uint64_t members_listed;
	json_t *yara;             /* doc.yara: every YARA match, {rule, tags, member, effect, weight, offset} */
	struct timespec deadline; /* CLOCK_MONOTONIC end of [scanner] max_seconds: YARA's time bound per node */
};

int scan_report_init(struct scan_report *r, const char *path) FW_WUR FW_NONNULL(1, 2);
void scan_report_release(struct scan_report *r);
/* Raises the package verdict to v (never lowers it) and records the
 * reason; member (may be NULL) is that node's entry, raised too. */
void scan_report_add(struct scan_report *r, json_t *member, enum fw_verdict v, const char *fmt, ...)
	FW_PRINTF(4, 5);
void scan_report_signature(struct scan_report *r, json_t *member, const char *name, const char *chain,
			   const char *member_sha256);
/* Lists a member the sandbox must judge (doc.sandbox[]: path, depth,
 * size, sha256, file_type). Past REPORT_MAX_SANDBOX of them the package is
 * unscannable: a member that cannot be listed would go unjudged. */
void scan_report_sandbox(struct scan_report *r, const char *chain, unsigned depth, uint64_t size,
			 const char *sha256, const char *file_type);
struct scan_yara_match;
/* A YARA match on a node: listed in doc.yara[] and the node's "yara";
 * verdict = "malicious" is a signature YARA.<rule>, "suspicious" raises
 * the package to suspicious, a weight only lists it. */
void scan_report_yara(struct scan_report *r, json_t *member, const char *chain, const char *member_sha256,
		      const struct scan_yara_match *m) FW_NONNULL(1, 3, 5);
/* Appends a member entry (borrowed pointer, owned by the report), or
 * returns NULL once the listing cap is reached (the member still counts). */
json_t *scan_report_member(struct scan_report *r, const char *chain, unsigned depth, uint64_t size,
			   const char *sha256, const char *mime, const char *file_type);
/* Sets a field of a node entry under the lock. */
void scan_report_set(struct scan_report *r, json_t *node, const char *key, json_t *value);
/* Finalizes the verdict fields and hands the document out. */
json_t *scan_report_take(struct scan_report *r);

/* Fills res from a verdict document (adopting doc). Fails closed: a
 * document that does not validate makes res `unscannable`. */
void scan_result_from_doc(struct fw_scan_result *res, json_t *doc);

/* A minimal document for a failed pipeline. */
json_t *scan_doc_failed(const char *path, const char *reason);

/* ----------------------------------------------------- ClamAV queue */

/* A pool of threads in a worker that run ClamAV over nodes while the
 * walker unpacks the next ones, so one package uses every core. */
struct clamq;

int clamq_new(struct clamq **out, const struct scan_engine *eng, unsigned threads,
	      struct fw_err *err) FW_WUR FW_NONNULL(1, 2);
void clamq_free(struct clamq *q);
/* How one node is scanned. */
#define CLAMQ_PARSE_ARCHIVE 0x1u    /* let ClamAV open archives (not for containers fwgate unpacks) */
/* A UEFI module (PE32, TE): ClamAV 1.x calls every EFI image with a
 * section alignment below 0x200 "broken" (cli_peheader: "Bad section
 * alignment") and then skips only its PE-specific signatures; the body
 * signatures still run. Such a module is not unscannable for it. */
#define CLAMQ_EFI_IMAGE 0x2u

/* Only ClamAV, or only the YARA rules, over the node (the streamed root's
 * two halves: see stream.c). */
#define CLAMQ_ONLY_CLAMAV 0x4u
#define CLAMQ_ONLY_YARA 0x8u

/* What one ClamAV scan said: its result code (cl_error_t), the names it
 * matched (the engine's strings: valid while the engine is) and, for an
 * error, cl_strerror's words. */
#define CLAMQ_MATCHES_MAX 64
struct clamq_outcome {
	int rc;
	unsigned n;
	const char *names[CLAMQ_MATCHES_MAX];
	char error[128];
};

/* ClamAV over map (a cl_fmap_t *) with CLAMQ_* flags, on the calling
 * thread. */
void clamq_scan_map(const struct scan_engine *eng, void *map, const char *name, unsigned flags,
		    struct clamq_outcome *out) FW_NONNULL(1, 2, 3, 5);
/* True when the outcome does not vouch for the bytes because ClamAV
 * stopped early: an error, or a limit (time, size) exceeded. */
bool clamq_outcome_limited(const struct clamq_outcome *o) FW_NONNULL(1);
/* Records the outcome as a queued scan of that node would have. */
void clamq_outcome_apply(const struct clamq_outcome *o, struct scan_report *rep, json_t *node, const char *chain,
			 const char *sha256) FW_NONNULL(1, 2, 4);

/* Queues a ClamAV scan of fd (adopted; closed when done) with CLAMQ_*
 * flags. Blocks while the queue is full. node may be NULL (member not
 * listed). */
void clamq_push(struct clamq *q, struct scan_report *rep, int fd, const char *chain,
		json_t *node, const char *sha256, unsigned flags);
/* Waits until every queued scan of this package has finished. */
void clamq_drain(struct clamq *q);

/* ------------------------------------------------------------ client.c */

struct scan_job_hdr;

/* On top of [scanner] timeout_seconds, which the supervisor enforces. */
#define SCAN_RESULT_GRACE_MS 60000
/* Answers of the small kinds (an analysis, a report summary). */
#define SCAN_SMALL_ANSWER_MAX (1024u * 1024)

/* Sends a job for the read-only descriptor ro (adopted: closed here) and
 * waits, at most timeout_ms, for the answer bound to it; progress >= 0
 * (not adopted) makes it a stream job (SCAN_JOB_STREAM). NULL with the
 * reason in err when no valid answer came. */
json_t *scan_client_job(struct fw_scanner *s, int ro, int progress, struct scan_job_hdr *h, const char *name,
			const char *sha256, unsigned timeout_ms, uint32_t max_answer, struct fw_err *err)
	FW_NONNULL(1, 4, 5, 9);
unsigned scan_client_timeout_seconds(const struct fw_scanner *s) FW_NONNULL(1);
/* The configuration the scanner was started with. */
const struct fw_config *scan_client_config(const struct fw_scanner *s) FW_NONNULL(1);

/* ------------------------------------------------------------ stream.c */

/* A package still being downloaded: the gateway appends to the file, writes
 * a byte to the pipe progress after each write and closes it when the
 * download ends; length is its Content-Length; wait_seconds bounds it. */
struct scan_stream_src {
	int progress;
	uint64_t length;
	unsigned wait_seconds;
};
struct scan_stream;

/* fd and src->progress are the caller's (not closed). -1: out of memory. */
int scan_stream_begin(struct scan_stream **out, const struct scan_engine *eng, int fd,
		      const struct scan_stream_src *src, const char *name) FW_WUR FW_NONNULL(1, 2, 4, 5);
/* Waits for the first bytes (at most length); -1 when they never come. */
int scan_stream_head(struct scan_stream *st, uint64_t bytes) FW_NONNULL(1);
/* Starts ClamAV over the root as its bytes arrive, with CLAMQ_* flags. */
int scan_stream_start_clamav(struct scan_stream *st, unsigned flags) FW_NONNULL(1);
/* Waits until the download ended; *size is then the file's size. 0 when
 * it has every byte of length. */
int scan_stream_wait_all(struct scan_stream *st, uint64_t *size) FW_NONNULL(1, 2);
/* The walk scans the root with flags: true when the streamed pass ran with
 * them (its outcome stands for the root's ClamAV scan), else it is
 * cancelled. */
bool scan_stream_adopt(struct scan_stream *st, unsigned flags) FW_NONNULL(1);
/* Waits for the streamed pass and hands its outcome over. */
void scan_stream_end(struct scan_stream *st, struct clamq_outcome *out) FW_NONNULL(1, 2);
void scan_stream_free(struct scan_stream *st);

/* ------------------------------------------------------------ walk */

struct scan_walk_ctx {
	const struct scan_engine *eng;
	struct scan_typer *typer;
	struct clamq *queue;
	struct scan_limits limits;
	int tmp_dir_fd;           /* where member data lives, as unnamed files */
	int samples_dir_fd;       /* where sandbox samples are kept; -1: none are */
	unsigned sandbox_types;   /* this job's: bits (1u << enum fw_file_type) the sandbox judges */
};

/* Inspects the package open on fd (read with pread; not adopted) and
 * returns its verdict document. sha256 is the package's hash when the
 * caller knows it, else NULL (computed here, unless the package is a
 * stream: its caller fills it in). stream (may be NULL): the package is
 * still being downloaded; see stream.c. Never fails: every problem is a
 * reason in the document. */
json_t *scan_walk(struct scan_walk_ctx *ctx, int fd, const char *name, const char *sha256,
		  const struct scan_stream_src *stream);

/* Escapes a member name for a chain: control bytes, DEL, '!', '\\' and
 * bytes outside valid UTF-8 become \xNN; over 255 bytes it is cut and
 * ends in "...". out_len must be at least 1024. */
void scan_name_escape(const char *name, char *out, size_t out_len) FW_NONNULL(1, 2);

/* ------------------------------------------------------------ wire */

#define SCAN_WIRE_MAGIC 0x46575343u   /* "FWSC" */
#define SCAN_WIRE_VERSION 5
/* Largest message a worker may send (its verdict document, before the
 * supervisor has checked and bounded it). */
#define SCAN_WIRE_MAX (64u * 1024 * 1024)
/* Largest answer the supervisor passes on to a client (the process that
 * holds the CA key): a verdict document re-serialized by the supervisor
 * after validation, its member listing cut to fit (members_cut). */
#define SCAN_RESULT_MAX (4u * 1024 * 1024)
#define SCAN_WIRE_MAX_FDS 3
/* The supervisor's control socket in the re-executed supervisor. */
#define SCAN_CTL_FD 3

enum scan_msg_type {
	SCAN_MSG_JOB = 1,      /* client→supervisor (fds: reply socket, file[, progress]), supervisor→worker (fds: file[, progress]) */
	SCAN_MSG_RESULT,       /* worker→supervisor→client: scan_answer_hdr + a JSON document */
	SCAN_MSG_READY,        /* supervisor→client: engine loaded (payload: summary JSON) */
	SCAN_MSG_FAIL,         /* supervisor→client: start or reload failed (payload: sentence) */
	SCAN_MSG_RELOAD,       /* client→supervisor */
	SCAN_MSG_BOOT,         /* client→supervisor, first message after exec: struct scan_boot */
	SCAN_MSG_STATUS,       /* supervisor→client, on its own when a figure changed: struct scan_status */
};
#define SCAN_MSG_LAST SCAN_MSG_STATUS

/* The supervisor's figures for the gateway's metrics. */
struct scan_status {
	uint32_t workers;      /* worker processes alive */
	uint32_t busy;         /* ... judging a job */
	uint32_t queued;       /* jobs waiting for a free worker */
	uint32_t reserved;
	uint64_t replaced;     /* workers replaced since this supervisor started */
};

#define SCAN_NONCE_BYTES 16

/* The fixed part of a JOB payload; the display name follows. */
struct scan_job_hdr {
	uint64_t job_id;
	uint32_t name_len;
	uint32_t flags;        /* SCAN_JOB_HAS_SHA256, SCAN_JOB_ANALYZE, SCAN_JOB_CAPE_REPORT */
	uint32_t sandbox_types;/* bits (1u << enum fw_file_type): members to list and keep for the sandbox */
	uint8_t nonce[SCAN_NONCE_BYTES]; /* random per job: an answer must carry it back */
	char sha256[FW_SHA256_HEX_LEN];
	uint64_t stream_length; /* SCAN_JOB_STREAM: the download's Content-Length */
};
#define SCAN_JOB_HAS_SHA256 0x1u
/* A package still being downloaded (see stream.c): the job has one more
 * descriptor, the read end of the gateway's progress pipe, and the
 * supervisor's bound on it grows by the gateway's on the download
 * ([proxy] exchange_timeout_seconds). Only with a package to scan. */
#define SCAN_JOB_STREAM 0x8u
/* Not a package to scan: one sandbox sample for the static analyzer; the
 * "name" is the sample's file type. The answer is {"analysis": {...}} or
 * {"error": "..."}. */
#define SCAN_JOB_ANALYZE 0x2u
/* Not a package to scan: a CAPE report (JSON) to summarize, so that the
 * gateway never parses a report itself. The answer is {"report": {...}}
 * (see scan_cape_summary) or {"error": "..."}. */
#define SCAN_JOB_CAPE_REPORT 0x4u
#define SCAN_JOB_KINDS (SCAN_JOB_ANALYZE | SCAN_JOB_CAPE_REPORT)
#define SCAN_NAME_MAX 4096

/* Every RESULT payload starts with the id and nonce of the job it answers:
 * a worker (or anything else holding a socket) cannot answer for another
 * job than its own. */
struct scan_answer_hdr {
	uint64_t job_id;
	uint8_t nonce[SCAN_NONCE_BYTES];
};

/* Checks that payload (len bytes) is an answer to job: the header's id and
 * nonce match. Compares in constant time. */
bool scan_answer_matches(const struct scan_job_hdr *job, const void *payload, size_t len) FW_NONNULL(1);

/* The supervisor's check of a worker's answer to job (payload after the
 * answer header, len bytes of JSON): parsed, validated for the job's kind,
 * bounded to SCAN_RESULT_MAX (a verdict document's member listing is cut
 * to fit and says so), and re-serialized, so that the client parses only
 * what the supervisor wrote. Returns the document to pass on, or NULL
 * with the reason in err. */
json_t *scan_answer_check(const struct scan_job_hdr *job, const char *json, size_t len, struct fw_err *err)
	FW_NONNULL(1, 2);

/* Serializes doc as the answer to job (header + compact JSON) into a new
 * buffer *out of *len bytes; fails when it is over max bytes. */
int scan_answer_encode(const struct scan_job_hdr *job, const json_t *doc, size_t max, char **out, size_t *len,
		       struct fw_err *err) FW_WUR FW_NONNULL(1, 2, 4, 5);

/* What the supervisor of a re-executed fwgate starts from: a copy of the
 * configuration (flat, no pointers) and its directories, sent as the
 * first message on SCAN_CTL_FD. build names the binary: a supervisor of
 * another build refuses to start. */
struct scan_boot {
	char build[64];
	uint32_t cfg_size;
	int32_t parent_pid;
	struct fw_config cfg;
	char tmp_dir[FW_PATH_MAX];
	char samples_dir[FW_PATH_MAX];  /* "" when no samples are kept */
};

/* The build string of this binary, for scan_boot.build. */
void scan_boot_build(char *out, size_t len) FW_NONNULL(1);

struct scan_msg {
	uint16_t type;
	uint32_t len;
	char *payload;         /* NUL-terminated copy, len bytes before the NUL */
	int fds[SCAN_WIRE_MAX_FDS];
	unsigned n_fds;
};

/* Sends one message with up to SCAN_WIRE_MAX_FDS descriptors; timeout_ms
 * (< 0: none) bounds the whole message. A failure may leave part of the
 * message in the stream: the caller must then give the socket up. */
int scan_wire_send(int sock, uint16_t type, const void *payload, uint32_t len, const int *fds,
		   unsigned n_fds, int timeout_ms, struct fw_err *err) FW_WUR;
/* Receives one message of at most max_len payload bytes (and never more
 * than SCAN_WIRE_MAX); validates magic, version, type and length before
 * reading the payload. timeout_ms bounds the whole message (a peer that
 * trickles bytes cannot stretch it); < 0 waits forever. Received descriptors
 * are close-on-exec and owned by the caller (scan_msg_release closes the
 * ones not taken: set fds[i] = -1 to take one). Returns 0, or -1 with err
 * ("" in err for a clean end of stream). */
int scan_wire_recv(int sock, struct scan_msg *m, uint32_t max_len, int timeout_ms, struct fw_err *err) FW_WUR;
void scan_msg_release(struct scan_msg *m);

/* ------------------------------------------------------------ gauges */

/* What the gateway knows of its scanner for a scrape (gauges.c). The
 * watcher thread writes it (READY, STATUS, a supervisor that ended), job
 * threads count jobs in flight; any thread reads it without a lock. */
struct scan_gauges {
	atomic_bool up;
	atomic_uint in_flight;
	atomic_uint workers, busy, queued;
	atomic_uint_fast64_t replaced;   /* over every supervisor: never goes down */
	uint64_t replaced_seen;          /* the serving supervisor's own count; the watcher's only */
	atomic_uint_fast64_t signatures;
	atomic_uint db_version[FW_METRICS_DB_COUNT];
	atomic_int_fast64_t db_time;     /* the newest database's */
	atomic_int_fast64_t sig_time;    /* fw_signature_info_stalest of the serving engine */
};

void scan_gauges_init(struct scan_gauges *g) FW_NONNULL(1);
/* A supervisor serves; ready is its READY document {signatures, workers,
 * databases}. */
void scan_gauges_ready(struct scan_gauges *g, const json_t *ready) FW_NONNULL(1);
/* A STATUS message; -1 when it is not one (its size is wrong). */
int scan_gauges_status(struct scan_gauges *g, const struct scan_msg *m) FW_NONNULL(1, 2);
/* The supervisor ended: nothing alive until the next READY. */
void scan_gauges_down(struct scan_gauges *g) FW_NONNULL(1);
void scan_gauges_fill(const struct scan_gauges *g, struct fw_metrics_gauges *out) FW_NONNULL(1, 2);

/* ------------------------------------------------------------ CAPE reports */

/* Summarizes a CAPE report (JSON, read from fd) in a worker:
 * {"report": {"error": bool, "error_value": s?, "malscore": n?,
 *  "malstatus": s, "signatures": [{name, description, severity}...]}}
 * with at most SCAN_CAPE_SIGNATURES signatures and bounded strings, or
 * {"error": "..."} when the report cannot be read. */
#define SCAN_CAPE_REPORT_MAX FW_CAPE_REPORT_MAX
#define SCAN_CAPE_SIGNATURES 32
json_t *scan_cape_summary(int fd);

/* ------------------------------------------------------------ confinement */

/* The kernel's Landlock ABI version, 0 when it has none. */
int scan_landlock_abi(void);

/* Why Landlock is unavailable (scan_landlock_abi() < 1), for the start's
 * warning: missing from the kernel, disabled at boot, or blocked by a
 * seccomp filter (a container's or a unit's SystemCallFilter). */
const char *scan_landlock_why(void);
/* Confines the calling process's file-system access to the scanner's
 * temporary directory (open on tmp_dir_fd), the sandbox samples directory
 * (samples_dir_fd, -1 when none: new regular files only, never executed)
 * and reading /usr; TCP and
 * out-of-domain signals too where the kernel's ABI allows. A kernel
 * without Landlock is not an error here (the supervisor warns once).
 * Irreversible; call before scan_seccomp_enter. */
int scan_landlock_enter(int tmp_dir_fd, int samples_dir_fd, struct fw_err *err) FW_WUR;

/* ------------------------------------------------------------ processes */

/* The supervisor's main loop; never returns (calls _exit). ctl is the
 * control socket to the client process. */
void scan_supervisor_main(int ctl, const struct fw_config *cfg, const char *tmp_dir, const char *samples_dir)
	__attribute__((noreturn));

/* A descriptor of the same open file as fd, read-only: fd itself duplicated
 * when it is read-only already, else the file opened anew with O_RDONLY
 * through /proc/self/fd and checked to be the same inode. A worker never
 * gets a descriptor it could write the bytes it judges through. */
int scan_fd_readonly(int fd, struct fw_err *err) FW_WUR;

#endif
