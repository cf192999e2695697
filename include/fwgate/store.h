/* store/: the vetted store. SQLite schema and migrations, content-
 * addressed blobs (approved in <state>/objects/ab/<sha256>, quarantined in
 * <state>/quarantine/ab/<sha256>, 0600), the URL index, scans and their
 * members, quarantine review, the hash-chained audit log, integrity
 * (verify, gc, reconcile), the object life cycle as one table
 * (store/lifecycle.c), typed sandbox job records. Must not decide policy
 * nor make a verdict: it records verdicts the scanner gave, the sandbox's
 * verdict function decided and staff made, and applies the table.
 * Thread-safety: a struct fw_store may be used from many threads (calls
 * are serialized on one connection inside); several processes may open the
 * same state directory (SQLite WAL, busy timeout). */
#ifndef FWGATE_STORE_H
#define FWGATE_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "fwgate/err.h"
#include "fwgate/sandbox_verdict.h"
#include "fwgate/verdict.h"

#define FW_ETAG_MAX 256
#define FW_LASTMOD_MAX 64
/* The vendor's representation fields kept with a URL (Content-Type,
 * Content-Disposition, ...), "Name: value\r\n" lines. */
#define FW_URL_FIELDS_MAX 2048

enum fw_object_state {
	FW_OBJ_APPROVED = 0,   /* clean: served */
	FW_OBJ_QUARANTINED,    /* not clean: waits for review, never served */
	FW_OBJ_REJECTED,       /* staff said no: the hash and its URLs are refused without a fetch */
	FW_OBJ_RELEASED,       /* staff said yes after review: served */
	FW_OBJ_PENDING,        /* clean so far, sandbox jobs still running: kept in quarantine/, never served */
};

/* "approved", "quarantined", "rejected", "released", "pending". */
const char *fw_object_state_name(enum fw_object_state s);

/* True for the states whose blob may be served (approved, released). */
bool fw_object_state_servable(enum fw_object_state s);

struct fw_store;

/* Opens (creating when missing) <state_dir>/fwgate.db and the blob
 * directories, applies migrations (PRAGMA user_version), WAL,
 * synchronous=FULL, foreign keys, busy timeout. */
int fw_store_open(struct fw_store **out, const char *state_dir, struct fw_err *err) FW_WUR FW_NONNULL(1, 2);
void fw_store_close(struct fw_store *st);

/* What the store knows of a URL: its current object. */
struct fw_url_entry {
	int64_t object_id;
	char sha256[FW_SHA256_HEX_LEN + 1];
	uint64_t size;
	enum fw_object_state state;
	enum fw_verdict verdict;          /* of the object's latest scan */
	char reason[FW_ERR_MSG_MAX];      /* first reason of that scan, or of the review */
	char etag[FW_ETAG_MAX];           /* the vendor's validators, "" when none */
	char last_modified[FW_LASTMOD_MAX];
	char fields[FW_URL_FIELDS_MAX];   /* sent again with every hit; "" when none */
	int64_t fetched_at;               /* unix seconds */
	int64_t verified_at;              /* last fetch or successful revalidation */
};

/* Looks the URL up. Returns 1 and fills e when the store has it, 0 when
 * not (also when its approved blob is gone: moved aside as damaged, or
 * missing at reconcile, so that the URL is fetched and vetted again), -1
 * on error. */
int fw_store_lookup_url(struct fw_store *st, const char *url, struct fw_url_entry *e, struct fw_err *err)
	FW_WUR FW_NONNULL(1, 2, 3);

/* The state of an object by hash: 1 and *state (and *id, when id is not
 * NULL) when known, 0 when not. */
int fw_store_lookup_hash(struct fw_store *st, const char *sha256, enum fw_object_state *state, int64_t *id,
			 struct fw_err *err) FW_WUR FW_NONNULL(1, 2, 3);

/* A vetted download to record. */
struct fw_store_commit {
	const char *url;
	const char *etag;                 /* may be NULL */
	const char *last_modified;        /* may be NULL */
	const char *fields;               /* may be NULL; over FW_URL_FIELDS_MAX - 1 bytes: not kept */
	int spool_fd;                     /* the complete download */
	const char *spool_path;           /* renamed into the store (the spool file is consumed) */
	const char *sha256;
	uint64_t size;
	enum fw_verdict verdict;          /* the scanner's verdict */
	const char *reason;               /* its first reason; "" when clean */
	const json_t *scan_doc;           /* the verdict document; may be NULL (no worker answered) */
	const char *engine;               /* the scanner's engine summary */
	/* With a pending verdict: the members the sandbox must judge, linked
	 * to their jobs in the commit's own transaction (see
	 * fw_store_sandbox_attach for backend and reuse_since). */
	const struct fw_sandbox_member *sandbox;
	size_t n_sandbox;
	enum fw_sandbox_backend sandbox_backend;
	int64_t sandbox_reuse_since;
};

/* Records a vetted download, durably, in this order: fsync of the spool
 * file; rename into objects/ (clean) or quarantine/ (anything else, and a
 * `pending` verdict: the object is then pending until fw_store_settle; 0600)
 * unless a blob of that hash is already in place (the same content under
 * several URLs is stored once; the spool file is then removed); fsync of
 * the directory; then one transaction (synchronous=FULL) for the object,
 * its scan and members, and the URL now pointing at it. A failed fsync
 * fails the commit (never retried and trusted).
 * What the scan makes of a known hash is the life-cycle table's
 * (store/lifecycle.c), applied in the transaction. A known hash keeps what
 * staff decided (rejected, released); otherwise a scan only ever makes it
 * worse: an approved or pending object whose new
 * scan is neither clean nor pending becomes quarantined (its blob moves);
 * an approved or pending one whose new scan is pending is pending, linked
 * to the jobs of the new scan's members only (the links of an earlier scan
 * are dropped, in the same transaction); a pending one whose new scan is
 * clean (nothing to judge any more) is approved; a quarantined one stays
 * quarantined whatever a new scan says, until staff review it. A pending
 * commit without members is refused.
 * *state is the object's state after the commit, *object_id its id. */
int fw_store_commit(struct fw_store *st, const struct fw_store_commit *c, enum fw_object_state *state,
		    int64_t *object_id, struct fw_err *err) FW_WUR FW_NONNULL(1, 2, 3, 4);

/* A revalidation found the URL unchanged (304 or the same validators):
 * stamps verified_at (and updates the validators when given). */
int fw_store_mark_verified(struct fw_store *st, const char *url, const char *etag, const char *last_modified,
			   struct fw_err *err) FW_WUR FW_NONNULL(1, 2);

/* Opens an approved or released object's blob for reading (O_RDONLY,
 * close-on-exec) after checking that its size matches the record; a blob
 * that is missing or has the wrong size is moved aside (to
 * <state>/damaged/), reported in err, and never served. */
int fw_store_open_blob(struct fw_store *st, const char *sha256, int *fd, uint64_t *size, struct fw_err *err)
	FW_WUR FW_NONNULL(1, 2, 3, 4);

/* ------------------------------------------------------------ review */

/* Quarantined, rejected and pending objects, newest first: an array of {id, url,
 * sha256, size, state, verdict, reason, first_seen}. */
int fw_store_quarantine_list(struct fw_store *st, json_t **out, struct fw_err *err) FW_WUR FW_NONNULL(1, 2);

/* One object in full: the fields above plus urls[], scans[] (each with its
 * verdict document), sandbox[] (its jobs with their findings), request
 * (the open release request as fw_store_quarantine_page gives it, or
 * null), audit[] rows that name it. 0, or 1 when unknown. */
int fw_store_object_show(struct fw_store *st, int64_t id, json_t **out, struct fw_err *err)
	FW_WUR FW_NONNULL(1, 3);

/* Review decisions. who is the reviewer (--as, default the login name).
 * release: a quarantined object becomes `released` and is served from
 * then on; its blob moves from quarantine/ to objects/. An object whose
 * latest verdict is infected needs override_infected (audited as an
 * override); a rejected object cannot be released. reject: the object
 * becomes `rejected`; its hash and URLs are refused from then on. Both
 * append to the audit chain in the same transaction. */
int fw_store_release(struct fw_store *st, int64_t id, const char *reason, const char *who, bool override_infected,
		     struct fw_err *err) FW_WUR FW_NONNULL(1, 3, 4);
int fw_store_reject(struct fw_store *st, int64_t id, const char *reason, const char *who, struct fw_err *err)
	FW_WUR FW_NONNULL(1, 3, 4);

/* ------------------------------------------------------------ review, four eyes
 *
 * The one path of every staff decision, from the CLI and the console
 * alike (the console's role checks come first; the store checks the
 * rest). who is the reviewer's name, via where the decision came from
 * ("cli", "console 127.0.0.1", "api 10.0.0.5"): both go in the audit
 * rows. */

enum fw_release_outcome {
	FW_RELEASE_REQUESTED,  /* recorded: a second reviewer must confirm */
	FW_RELEASE_DONE,       /* the object is released */
};

/* A release. With four_eyes false: released at once (fw_store_release).
 * With four_eyes true: when the object has no open request, one is
 * recorded (reason, who, via, override_infected) and audited
 * release-request; when another reviewer's request is open, this
 * confirms it: the object is released (audit release-confirm, then the
 * release row, whose detail names both reviewers and both reasons), and
 * the request is closed, in one transaction; when the open request is
 * who's own, refused with FW_E_DENIED ("a second reviewer must
 * confirm"). An infected object needs override_infected on the request
 * and on the confirmation alike. Refused as fw_store_release refuses
 * (not quarantined, rejected, infected without the override). */
int fw_store_review_release(struct fw_store *st, int64_t id, const char *reason, const char *who, const char *via,
			    bool override_infected, bool four_eyes, enum fw_release_outcome *outcome,
			    struct fw_err *err) FW_WUR FW_NONNULL(1, 3, 4, 5, 8);

/* A reject (fw_store_reject, with via in the audit row); an open release
 * request on the object is closed in the same transaction. */
int fw_store_review_reject(struct fw_store *st, int64_t id, const char *reason, const char *who, const char *via,
			   struct fw_err *err) FW_WUR FW_NONNULL(1, 3, 4, 5);

/* Withdraws the open release request on an object (audited
 * release-cancel). FW_E_NOTFOUND when none is open. */
int fw_store_review_cancel(struct fw_store *st, int64_t id, const char *who, const char *via, struct fw_err *err)
	FW_WUR FW_NONNULL(1, 3, 4);

/* The open release requests, oldest first: [{object_id, requested_by,
 * via, reason, override_infected, requested_at, url, sha256, size, state,
 * verdict}]. */
int fw_store_review_pending(struct fw_store *st, json_t **out, struct fw_err *err) FW_WUR FW_NONNULL(1, 2);

/* A page of the review list, newest first, filtered. */
struct fw_quarantine_query {
	const char *state;     /* NULL or "": quarantined, rejected and pending; else one state name */
	const char *verdict;   /* NULL or "": any; else one verdict name */
	const char *host;      /* NULL or "": any; else objects with a URL on this host (exact; compared in lower case) */
	int64_t since;         /* first_seen >= since (unix seconds); 0: open */
	int64_t until;         /* first_seen < until; 0: open */
	int64_t before_id;     /* paging: objects with an id below this; 0: from the newest */
	unsigned limit;        /* 1 to 1000 rows */
};

/* *items: the rows as fw_store_quarantine_list gives them, plus
 * "request" (the open release request {requested_by, via, reason,
 * override_infected, requested_at}, or null); *total: how many objects
 * match the filter (all pages). */
int fw_store_quarantine_page(struct fw_store *st, const struct fw_quarantine_query *q, json_t **items,
			     int64_t *total, struct fw_err *err) FW_WUR FW_NONNULL(1, 2, 3, 4);

/* The dashboard's figures: {"objects": {STATE: {"count", "bytes"}} for
 * every state, "scans_since": {VERDICT: count} of the scans made at or
 * after since (unix seconds), "sandbox": {JOB_STATE: count},
 * "requests_open": n, "audit_rows": n, "db_bytes": size of the database
 * files}. */
int fw_store_stats(struct fw_store *st, int64_t since, json_t **out, struct fw_err *err) FW_WUR FW_NONNULL(1, 3);

/* ------------------------------------------------------------ audit */

/* Appends one audit row: hash = SHA-256(previous hash | fields). */
int fw_store_audit_append(struct fw_store *st, const char *action, const char *who, int64_t object_id,
			  const char *detail, struct fw_err *err) FW_WUR FW_NONNULL(1, 2, 3, 5);

/* Re-computes the chain. Returns 0 when intact, 1 when broken (*first_bad
 * is the id of the first row that does not match and err says why), -1 on
 * error. */
int fw_store_audit_verify(struct fw_store *st, int64_t *first_bad, struct fw_err *err) FW_WUR FW_NONNULL(1, 2);

/* Every audit row, oldest first: {id, time, action, who, object_id,
 * detail, hash}. */
int fw_store_audit_list(struct fw_store *st, json_t **out, struct fw_err *err) FW_WUR FW_NONNULL(1, 2);

/* A page of the audit log, newest first: the rows (as above) with an id
 * below before_id (0: from the newest), at most limit (1 to 1000); only
 * the rows naming object_id when it is not 0. */
int fw_store_audit_page(struct fw_store *st, int64_t before_id, unsigned limit, int64_t object_id, json_t **out,
			struct fw_err *err) FW_WUR FW_NONNULL(1, 5);

/* ------------------------------------------------------------ integrity */

/* Re-hashes every blob against its name and record; each problem is one
 * line on report. *bad counts them. A mismatching blob is moved aside and
 * audited as a repair. */
int fw_store_verify(struct fw_store *st, FILE *report, unsigned *bad, struct fw_err *err)
	FW_WUR FW_NONNULL(1, 2, 3);

/* At start: files without a record, records without a file, wrong sizes;
 * each difference is one line on report (and repaired: stray files moved
 * aside, records of missing approved blobs marked so they are not served). *diffs
 * counts them. No re-hash (that is fw_store_verify). */
int fw_store_reconcile(struct fw_store *st, FILE *report, unsigned *diffs, struct fw_err *err)
	FW_WUR FW_NONNULL(1, 2, 3);

/* Removes blobs no URL references any more (their objects stay as
 * history), except quarantined and pending ones (evidence for the
 * reviewer, bytes under analysis), moved-aside files, and sandbox samples
 * (<state>/samples) older than an hour that no queued, running or failed
 * job needs. *removed counts them. */
int fw_store_gc(struct fw_store *st, unsigned *removed, struct fw_err *err) FW_WUR FW_NONNULL(1, 2);

/* ------------------------------------------------------------ sandbox jobs
 *
 * The durable sandbox queue as typed records (table sandbox_jobs, the job
 * vocabulary of fwgate/sandbox_verdict.h) and which objects wait on which
 * jobs (sandbox_links): attach, claim, finish under a claim (done, failed),
 * list, show, get. The store decides nothing here: what a set of job
 * records makes of a package is fw_sandbox_verdict() (sandbox/verdict.c),
 * which fw_store_settle calls on the records it reads in its transaction;
 * what an object's state becomes on an event is the store's life-cycle
 * table (store/lifecycle.c). JSON is only for the views (list, show). */

/* One member a package needs judged. */
struct fw_sandbox_member {
	const char *path;          /* its chain in the package, shown with the findings */
	const char *sha256;
	const char *file_type;
};

/* Bound on a job's findings document (JSON). */
#define FW_JOB_FINDINGS_MAX (1024 * 1024)

/* The checks fw_store_sandbox_attach makes before writing anything: a
 * backend that runs jobs (local, cape), and every member with its path, a
 * SHA-256 and a file type. A failure here is about the members themselves
 * (final); one of the attach after it is the store's (worth a retry). */
int fw_store_sandbox_members_check(const struct fw_sandbox_member *m, size_t n, enum fw_sandbox_backend backend,
				   struct fw_err *err) FW_WUR;

/* Links object_id to a job for each of the n members, all in one
 * transaction (a package is never seen with some of its members linked):
 * a job already done with a verdict judged at or after reuse_since (unix
 * seconds; the verdict TTL) is reused; else a queued or running job for
 * the same bytes is shared; else a new job is queued for backend.
 * job_ids[i] is member i's job; *created counts the new ones. A member
 * path longer than FW_JOB_MEMBER_MAX is kept cut (it is a label). Every
 * member is checked before anything is written. */
int fw_store_sandbox_attach(struct fw_store *st, int64_t object_id, const struct fw_sandbox_member *m, size_t n,
			    enum fw_sandbox_backend backend, int64_t reuse_since, int64_t *job_ids, unsigned *created,
			    struct fw_err *err) FW_WUR FW_NONNULL(1, 3, 8);

/* Takes the oldest queued job that is due (its retry time passed): it
 * becomes running under backend, its attempts count one more. Returns 1
 * with *job filled, 0 when nothing is due, -1 on error. */
int fw_store_sandbox_claim(struct fw_store *st, enum fw_sandbox_backend backend, struct fw_sandbox_job *job,
			   struct fw_err *err) FW_WUR FW_NONNULL(1, 3);

/* The calls below act on a job as claimed (its id and its claim): a
 * job taken back by the sweep and claimed again by another runner is no
 * longer the caller's, and these fail without touching it. */

/* Remembers the service's task ids of a running job (so that a restart
 * polls them instead of submitting again). */
int fw_store_sandbox_set_external(struct fw_store *st, const struct fw_sandbox_job *job, const char *external_id,
				  struct fw_err *err) FW_WUR FW_NONNULL(1, 2, 3);

/* A running job ends with a verdict (benign, suspicious or malicious; not
 * NONE), its score (0..100) and findings (a JSON document, at most
 * FW_JOB_FINDINGS_MAX bytes). A malicious one is the life-cycle table's
 * event "member malicious" for every object linked to the job, in the same
 * transaction (quarantined ones are held as infected, released ones are
 * quarantined again unless released as infected). */
int fw_store_sandbox_done(struct fw_store *st, const struct fw_sandbox_job *job, enum fw_job_verdict verdict,
			  int score, const json_t *findings, struct fw_err *err) FW_WUR FW_NONNULL(1, 2, 5);

/* A running job's attempt failed with why: queued again, due at retry_at
 * (unix seconds), or, with retry_at 0, failed for good. */
int fw_store_sandbox_failed(struct fw_store *st, const struct fw_sandbox_job *job, const char *why,
			    int64_t retry_at, struct fw_err *err) FW_WUR FW_NONNULL(1, 2, 3);

/* At start: jobs left running by an earlier run are queued again (their
 * external id is kept). *requeued counts them. */
int fw_store_sandbox_resume(struct fw_store *st, unsigned *requeued, struct fw_err *err) FW_WUR FW_NONNULL(1, 2);

/* Running jobs started before started_before (unix seconds) are taken
 * back and queued again: their runner lost them (a write that failed). */
int fw_store_sandbox_requeue_stale(struct fw_store *st, int64_t started_before, unsigned *requeued,
				   struct fw_err *err) FW_WUR FW_NONNULL(1, 3);

/* Every queued and running job fails with why (the policy stopped
 * sandboxing: nothing will run them). *n counts them. */
int fw_store_sandbox_abandon(struct fw_store *st, const char *why, unsigned *n, struct fw_err *err)
	FW_WUR FW_NONNULL(1, 2, 3);

/* Pending objects nothing is running for any more (at most max ids): the
 * ones whose linked jobs are all done or failed, and the ones with no
 * job linked whose latest scan is older than linkless_before (unix
 * seconds; younger ones may be being linked right now). */
int fw_store_sandbox_unsettled(struct fw_store *st, int64_t linkless_before, int64_t *ids, size_t max, size_t *n,
			       struct fw_err *err) FW_WUR FW_NONNULL(1, 3, 5);

/* One job. Returns 1 when found, 0 when not, -1 on error. */
int fw_store_sandbox_get(struct fw_store *st, int64_t id, struct fw_sandbox_job *job, struct fw_err *err)
	FW_WUR FW_NONNULL(1, 3);

/* The pending objects that wait on the job (at most max ids into ids). */
int fw_store_sandbox_waiting(struct fw_store *st, int64_t job_id, int64_t *ids, size_t max, size_t *n,
			     struct fw_err *err) FW_WUR FW_NONNULL(1, 3, 5);

/* The jobs an object waits on as typed records, one per linked member,
 * ordered by job id then member (*out to free with free(); *n of them). */
int fw_store_sandbox_links(struct fw_store *st, int64_t object_id, struct fw_sandbox_link **out, size_t *n,
			   struct fw_err *err) FW_WUR FW_NONNULL(1, 3, 4);

/* For display: the jobs an object waits on, with the member each was linked for:
 * [{id, member, sha256, file_type, backend, state, attempts, verdict,
 * score, error, findings}] (findings null until done). */
int fw_store_sandbox_object_jobs(struct fw_store *st, int64_t object_id, json_t **out, struct fw_err *err)
	FW_WUR FW_NONNULL(1, 3);

/* Every job, newest first, without findings: [{id, sha256, file_type,
 * backend, state, attempts, verdict, score, error, created_at, started_at,
 * finished_at, objects}]. */
int fw_store_sandbox_list(struct fw_store *st, json_t **out, struct fw_err *err) FW_WUR FW_NONNULL(1, 2);

/* One job in full: the fields above, external_id, findings and links
 * [{object_id, member, object_state}]. 0, or 1 when unknown. */
int fw_store_sandbox_show(struct fw_store *st, int64_t id, json_t **out, struct fw_err *err) FW_WUR FW_NONNULL(1, 3);

/* Staff ask for a job to run again: a done or failed job is queued anew
 * (attempts from zero, verdict and error cleared), and, in the same
 * transaction, each package linked to it meets the life-cycle table's
 * event "sandbox retry": those whose latest scan is the scanner's
 * clean-but-pending one become pending again, to be settled from all
 * their jobs: those the sandbox quarantined (never reviewed by staff), and
 * those approved (their blobs leave objects/: none is served while it is
 * judged again); staff-released ones stay. Audited as
 * sandbox-retry by who. *reopened counts those packages. */
int fw_store_sandbox_retry(struct fw_store *st, int64_t id, const char *who, unsigned *reopened, struct fw_err *err)
	FW_WUR FW_NONNULL(1, 3, 4);

/* Settles a pending object, in one transaction: reads its state, its
 * latest scan's verdict and its linked jobs, asks fw_sandbox_verdict()
 * (with unjudgeable, NULL unless nothing can judge the object: why) and,
 * when that approves or quarantines, applies the life-cycle table's event
 * (sandbox approve: the blob moves to objects/; sandbox quarantine), which
 * keeps the verdict and reason as the object's held verdict (the scan row
 * is left as it was) and audits sandbox-approve or sandbox-quarantine. An
 * object no longer pending (staff rejected it meanwhile) is left as it is,
 * as one a job of which is queued or running again. *d is the decision
 * (may be NULL), *state the object's state after; *changed says whether
 * this call changed it. */
int fw_store_settle(struct fw_store *st, int64_t object_id, const char *unjudgeable, struct fw_sandbox_decision *d,
		    enum fw_object_state *state, bool *changed, struct fw_err *err) FW_WUR FW_NONNULL(1, 5, 6);

/* The objects still pending with their latest verdict document:
 * [{id, sha256, doc}] (for the sandbox queue at start). */
int fw_store_pending_docs(struct fw_store *st, json_t **out, struct fw_err *err) FW_WUR FW_NONNULL(1, 2);

/* The verdict document of an object's latest scan (an empty object when
 * the scan has none). */
int fw_store_latest_doc(struct fw_store *st, int64_t object_id, json_t **doc, struct fw_err *err)
	FW_WUR FW_NONNULL(1, 3);

/* The state of an object by id: 1 and *state when known, 0 when not. */
int fw_store_object_state(struct fw_store *st, int64_t id, enum fw_object_state *state, struct fw_err *err)
	FW_WUR FW_NONNULL(1, 3);

/* Opens the blob of an object in whatever state and area (for the sandbox
 * to read a package it must judge; never for serving), after checking its
 * size against the record. */
int fw_store_open_any_blob(struct fw_store *st, const char *sha256, int *fd, uint64_t *size, struct fw_err *err)
	FW_WUR FW_NONNULL(1, 2, 3, 4);

/* ------------------------------------------------------------ mirror bundles
 *
 * What an offline bundle carries out of the store and brings into another
 * (store/mirror.c); the bundle's files, signature and manifest are
 * bundle/'s. The store decides nothing about a bundle's trust: an import
 * arrives verified and rescanned, and the life-cycle table says what each
 * local scan makes of its object. */

/* Bounds of what one export lists per object (the manifest's too). */
#define FW_EXPORT_URLS_MAX 64
#define FW_EXPORT_SANDBOX_MAX 256

/* The objects to export, by id: [{id, sha256, size, state, verdict,
 * reason, mime, file_type, urls[], engine, scanned_at, sandbox[{member,
 * sha256, file_type, backend, verdict, score}], approved_by, approved_at,
 * approved_how ("scan", "sandbox", "release", "import"), review_reason}].
 * With n_ids > 0, exactly those objects in that order: one unknown
 * (FW_E_NOTFOUND), not approved or released, or whose blob is not in the
 * store (FW_E_DENIED) is refused by its id and why, and nothing is listed.
 * Else every approved or released object whose blob is present, first seen
 * or released at or after since (unix seconds; 0: all). */
int fw_store_export_list(struct fw_store *st, int64_t since, const int64_t *ids, size_t n_ids, json_t **out,
			 struct fw_err *err) FW_WUR FW_NONNULL(1, 5);

/* Reserves the sequence of a new export, above every earlier one of this
 * store and at least the time in microseconds (so that a site whose state
 * was made anew still counts up): the importing side's replay check. */
int fw_store_export_begin(struct fw_store *st, int64_t *sequence, struct fw_err *err) FW_WUR FW_NONNULL(1, 2);

/* The export of sequence is written (n objects): audited mirror-export by
 * who with detail. */
int fw_store_export_done(struct fw_store *st, int64_t sequence, size_t n, const char *who, const char *detail,
			 struct fw_err *err) FW_WUR FW_NONNULL(1, 4, 5);

/* The newest bundle sequence imported from site_id; 0 when none. */
int fw_store_import_last(struct fw_store *st, const char *site_id, int64_t *sequence, struct fw_err *err)
	FW_WUR FW_NONNULL(1, 2, 3);

/* One object of a verified bundle, as this gateway scanned it. */
struct fw_store_import_item {
	struct fw_store_commit commit;  /* the local scan of the bundle's bytes in a spool file; url is urls[0] */
	const char *const *urls;        /* every URL the exporting site had it under (1 or more) */
	size_t n_urls;
	const char *provenance;         /* the detail of its mirror-import audit row */
};

struct fw_store_import {
	const char *site_id;            /* the exporting site (its trusted key's name) */
	const char *key_fingerprint;    /* SHA-256 of the key that signed the bundle */
	int64_t sequence;
	int64_t exported_at;
	const char *who;                /* who imports (the login name) */
	const struct fw_store_import_item *items;
	size_t n;
};

/* Commits a bundle, all or nothing, in one transaction: refused
 * (FW_E_DENIED) when its sequence is not above the last imported from its
 * site (a replay); each item as fw_store_commit commits a download (the
 * life-cycle table decides: a clean local scan approves a new object, any
 * other verdict quarantines it with its reason; a pending one is refused),
 * its other URLs pointing at it, a mirror-import audit row naming it with
 * its provenance; then the bundle's row (replay protection) and a
 * mirror-import summary row. On any failure nothing is recorded and the
 * blobs placed are removed; the spool files are then the caller's.
 * states[i] and ids[i] (n of each) say what item i became. */
int fw_store_import_commit(struct fw_store *st, const struct fw_store_import *imp, enum fw_object_state *states,
			   int64_t *ids, struct fw_err *err) FW_WUR FW_NONNULL(1, 2, 3, 4);

#endif
