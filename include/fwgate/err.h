/* The error record every fwgate function fills on failure: one human
 * sentence, built once where the failure is understood, then carried
 * unchanged to the CLI message, the event and the client's refusal page.
 * Thread-safety: a struct fw_err belongs to its caller; no shared state. */
#ifndef FWGATE_ERR_H
#define FWGATE_ERR_H

#include <stdbool.h>
#include <stddef.h>

#include "fwgate/attrib.h"

#define FW_ERR_MSG_MAX 1024

struct fw_err {
	char msg[FW_ERR_MSG_MAX];
};

/* Empties the record. */
void fw_err_clear(struct fw_err *err);

/* Records the sentence unless one is already there: the first error wins,
 * so a cleanup failure never hides the root cause (curl failf). Always
 * returns -1 so callers can `return fw_err_set(...)`. A NULL err is allowed. */
int fw_err_set(struct fw_err *err, const char *fmt, ...) FW_PRINTF(2, 3);

/* Like fw_err_set, appending ": strerror(errnum)". */
int fw_err_sys(struct fw_err *err, int errnum, const char *fmt, ...) FW_PRINTF(3, 4);

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
void fw_errlist_add(struct fw_errlist *list, const char *fmt, ...) FW_PRINTF(2, 3);
#endif
