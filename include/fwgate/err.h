/* The error record every fwgate function fills on failure: a code a caller
 * may branch on and one human sentence, built once where the failure is
 * understood, then carried to the CLI message, the event and the client's
 * refusal page. Callers add context in front (fw_err_prefix), never words
 * a branch reads (OpenSSH ssherr.h + fatal_fr(r, "context")).
 * Thread-safety: a struct fw_err belongs to its caller; no shared state. */
#ifndef FWGATE_ERR_H
#define FWGATE_ERR_H

#include <stdbool.h>
#include <stddef.h>

#include "fwgate/attrib.h"

#define FW_ERR_MSG_MAX 1024

/* What kind of failure, for code that must decide (retry, give up, refuse,
 * exit status). The sentence says the rest; the code never replaces it. */
enum fw_errcode {
	FW_E_OK = 0,   /* nothing recorded */
	FW_E_FAIL,     /* a failure with no finer class below (the default of fw_err_set) */
	FW_E_IO,       /* a system call on a file, socket or process failed (EIO, ENOSPC, EDQUOT,
			* EROFS, EPIPE...): the disk or the peer, not the request */
	FW_E_NOMEM,    /* an allocation failed */
	FW_E_LIMIT,    /* a configured or built-in bound was reached (bytes, count, depth, length) */
	FW_E_INVALID,  /* input that does not parse or breaks its grammar (a request head, a
			* value, an argument): the same input fails again */
	FW_E_CONFIG,   /* the configuration or the policy is wrong (names file:line or a JSON path) */
	FW_E_BUSY,     /* taken for now (EAGAIN, EBUSY, a lock, a database busy): may work later */
	FW_E_NOTFOUND, /* the named file, record or object does not exist (ENOENT) */
	FW_E_EXISTS,   /* it exists already and must not be replaced (EEXIST) */
	FW_E_DENIED,   /* refused by permissions or by a rule (EACCES, EPERM, authentication) */
	FW_E_TIMEOUT,  /* a bound on time passed (ETIMEDOUT) */
};

struct fw_err {
	enum fw_errcode code;
	char msg[FW_ERR_MSG_MAX];
};

/* Empties the record (code FW_E_OK). */
void fw_err_clear(struct fw_err *err);

/* Records the sentence with code FW_E_FAIL unless one is already there:
 * the first error wins, so a cleanup failure never hides the root cause
 * (curl failf). A sentence longer than FW_ERR_MSG_MAX ends in "...".
 * Always returns -1 so callers can `return fw_err_set(...)`. A NULL err
 * is allowed. */
int fw_err_set(struct fw_err *err, const char *fmt, ...) FW_PRINTF(2, 3);

/* Like fw_err_set, with the code given. */
int fw_err_setc(struct fw_err *err, enum fw_errcode code, const char *fmt, ...) FW_PRINTF(3, 4);

/* Like fw_err_set, appending ": strerror(errnum)", with the code of
 * errnum (fw_errcode_of_errno). */
int fw_err_sys(struct fw_err *err, int errnum, const char *fmt, ...) FW_PRINTF(3, 4);

/* Puts "context: " in front of the recorded sentence and keeps its code:
 * the caller says where ("rules.txt", "[sandbox] rules_file") and the
 * root cause stays whole behind it. With nothing recorded yet, the
 * context alone becomes the sentence (FW_E_FAIL). When the two do not fit
 * in FW_ERR_MSG_MAX, the end is cut and marked "...". Returns -1. */
int fw_err_prefix(struct fw_err *err, const char *fmt, ...) FW_PRINTF(2, 3);

/* Records src (its sentence and code) in dst unless dst holds one already:
 * how an error kept aside (a spool's, a parser context's) reaches the
 * caller's record. Returns -1. */
int fw_err_copy(struct fw_err *dst, const struct fw_err *src);

/* The recorded code: FW_E_OK when nothing is recorded (or err is NULL). */
enum fw_errcode fw_err_code(const struct fw_err *err);

/* The class of an errno value: ENOMEM -> NOMEM; ENOENT, ESRCH -> NOTFOUND;
 * EEXIST -> EXISTS; EACCES, EPERM -> DENIED; EAGAIN, EBUSY, ETXTBSY ->
 * BUSY; ETIMEDOUT -> TIMEOUT; EMFILE, ENFILE, EFBIG, E2BIG, ENAMETOOLONG,
 * EOVERFLOW -> LIMIT; EINVAL, EISDIR, ENOTDIR, ELOOP -> INVALID; 0 -> FAIL;
 * anything else (EIO, ENOSPC, EDQUOT, EROFS, EPIPE...) -> IO. */
enum fw_errcode fw_errcode_of_errno(int errnum);

/* A short stable name for a code ("io", "limit", ...), for events and --json. */
const char *fw_errcode_name(enum fw_errcode code);

bool fw_err_isset(const struct fw_err *err);

/* The sentence, or "unknown error" when none was recorded. */
const char *fw_err_msg(const struct fw_err *err);

#endif

#ifndef FWGATE_ERRLIST_H
#define FWGATE_ERRLIST_H
/* A bounded list of errors, for checks that report every problem at once
 * (a policy file with three mistakes gets three lines). Past the bound,
 * errors are counted in `dropped`. */
#define FW_ERRLIST_MAX 64

struct fw_errlist {
	struct fw_err items[FW_ERRLIST_MAX];
	size_t n;
	size_t dropped;
};

void fw_errlist_clear(struct fw_errlist *list);
/* Adds one error with code FW_E_FAIL, or the code given (fw_errlist_addc). */
void fw_errlist_add(struct fw_errlist *list, const char *fmt, ...) FW_PRINTF(2, 3);
void fw_errlist_addc(struct fw_errlist *list, enum fw_errcode code, const char *fmt, ...) FW_PRINTF(3, 4);
#endif
