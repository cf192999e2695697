/* Private to scanner/queue: the CAPE backend as the runners use it. */
#ifndef FWGATE_SCANNER_QUEUE_INT_H
#define FWGATE_SCANNER_QUEUE_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "fwgate/config.h"
#include "fwgate/err.h"
#include "fwgate/scanner.h"
#include "fwgate/store.h"

struct fw_sandbox;

/* A CAPEv2 service: its base URL (…/apiv2/ is appended) and token. */
struct cape_client {
	char base[FW_URL_MAX];
	char token[512];            /* "" when none */
	unsigned timeout_seconds;   /* one job, submission to report */
	bool ready;
};

/* Checks the URL (http or https) and reads the token file (at most 511
 * bytes, one line, trailing white space dropped); c may be NULL to check
 * only. */
int cape_client_init(struct cape_client *c, const struct fw_config *cfg, struct fw_err *err) FW_NONNULL(2);
void cape_client_free(struct cape_client *c);

/* Judges one sample (fd, size bytes) for job: submits it (unless the job
 * already has the service's task id from an earlier run, which is then
 * polled), polls the task with back-off until it is reported, fetches the
 * report and maps its malscore (0..10) to *score (0..100). *findings is
 * the report's summary {backend, task_id, malscore, malstatus,
 * signatures[] {name, description, severity}}. -1 with err on any network
 * or service error, a failed task or the job's time running out. */
int cape_run(struct cape_client *c, struct fw_sandbox *sb, struct fw_sandbox_job *job, int fd, uint64_t size,
	     int *score, json_t **findings, struct fw_err *err);

/* The runners' shutdown flag, for long waits. */
bool sandbox_stopping(struct fw_sandbox *sb);

/* The store the queue records in (for the task id). */
struct fw_store *sandbox_store(struct fw_sandbox *sb);

/* The scanner, whose workers summarize CAPE reports (never parsed here). */
struct fw_scanner *sandbox_scanner(struct fw_sandbox *sb);

#endif
