/* The event log: one JSON object per line with ECS-style field names, to
 * a file and/or syslog, for the SIEM. Owns formatting (hostile strings are
 * escaped, invalid UTF-8 replaced, every field bounded) and whole-line
 * writes; must not decide anything.
 * Thread-safety: fw_evlog_emit may be called from many threads at once;
 * each line is written whole. open/close/reopen are not concurrent-safe
 * with emit unless noted. */
#ifndef FWGATE_EVENT_H
#define FWGATE_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "fwgate/err.h"

/* Longest value kept per field; longer ones are cut and marked. */
#define FW_EVENT_FIELD_MAX 4096
#define FW_EVENT_EXTRA_MAX 16

enum fw_outcome {
	FW_OUTCOME_UNKNOWN = 0,
	FW_OUTCOME_SUCCESS,
	FW_OUTCOME_FAILURE,
};

/* An additional ECS field: a string (str != NULL) or an integer. */
struct fw_event_field {
	const char *key;
	const char *str;
	long long num;
};

/* Every pointer may be NULL (the field is left out), except action. */
struct fw_event {
	const char *action;     /* event.action, e.g. "connect-refused" */
	enum fw_outcome outcome; /* event.outcome */
	const char *url;        /* url.full */
	const char *domain;     /* destination.domain */
	const char *source_ip;  /* source.ip */
	const char *sha256;     /* file.hash.sha256 */
	const char *rule;       /* rule.name */
	const char *verdict;    /* fwgate.verdict */
	const char *reason;     /* fwgate.reason */
	const struct fw_event_field *extra;
	size_t n_extra;
};

struct fw_evlog;

/* file: NULL or "" for no file, "-" for standard output, else a path
 * opened for appending (created 0640). syslog: also send each line to
 * syslog(3) with the given facility. */
int fw_evlog_open(struct fw_evlog **out, const char *file, bool syslog, int facility,
		  struct fw_err *err) FW_WUR FW_NONNULL(1);

struct fw_config;

/* Forwards every line emitted from now on also to the remote collector of
 * [log] syslog_target (fwgate/syslog_fwd.h), with the policy's logging
 * profile; the forwarder's own events (fwgate-syslog-error, -dropped) are
 * emitted like any other. Nothing is forwarded when the target is "" or
 * log_forwarding is false (then a warning goes to info, when not NULL, if
 * a target is configured). Call once, after open and before any emit from
 * another thread; fw_evlog_close flushes it (at most 2 s). */
int fw_evlog_forward(struct fw_evlog *log, const struct fw_config *cfg, bool log_forwarding, const char *profile,
		     FILE *info, struct fw_err *err) FW_WUR FW_NONNULL(1, 2);

/* Reopens the file (after log rotation). Safe to call while other
 * threads emit. */
int fw_evlog_reopen(struct fw_evlog *log, struct fw_err *err) FW_WUR FW_NONNULL(1);

void fw_evlog_close(struct fw_evlog *log);

/* Formats and writes one line. Returns -1 if the line could not be
 * written whole to the file (syslog failures are not reported by libc). */
int fw_evlog_emit(struct fw_evlog *log, const struct fw_event *ev) FW_NONNULL(1, 2);

/* The line emit would write (with '\n'), in a new buffer to free();
 * NULL on allocation failure. For tests and the CLI. */
char *fw_event_format(const struct fw_event *ev, size_t *len) FW_NONNULL(1, 2);

/* Copies s (len bytes) as valid UTF-8: invalid sequences become U+FFFD,
 * NUL becomes U+FFFD, output cut at max_bytes on a character boundary
 * and marked "...[cut]". Returns a new NUL-terminated buffer or NULL. */
char *fw_utf8_sanitize(const char *s, size_t len, size_t max_bytes, size_t *out_len);

#endif
