/* Private to cli/: the document `fwgate status` shows, built by the
 * running gateway (run_control.c) from a snapshot of its figures, and
 * printed for people by the CLI (cmd_status.c). Pure: no I/O but the
 * stream it prints to. */
#ifndef FWGATE_CLI_STATUS_DOC_H
#define FWGATE_CLI_STATUS_DOC_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "fwgate/config.h"
#include "fwgate/err.h"
#include "fwgate/event_ring.h"
#include "fwgate/metrics.h"
#include "fwgate/proxy.h"

/* The document's format; a field is only ever added under the same number. */
#define STATUS_DOC_FORMAT 1

/* Proxy listeners, the console, the mirror's two. */
#define STATUS_LISTENERS_MAX (FW_LISTEN_MAX + 3)

struct status_listener {
	const char *name;      /* "proxy", "console", "mirror", "mirror_http" */
	char address[96];      /* "ip:port" */
};

struct status_snapshot {
	const char *version;
	long pid;
	int64_t started;                 /* unix seconds */
	int64_t now;                     /* unix seconds */
	const char *state_dir;
	struct status_listener listeners[STATUS_LISTENERS_MAX];
	size_t n_listeners;
	const struct fw_proxy_status *proxy;     /* NULL: not running */
	unsigned workers_configured;
	const struct fw_metrics_gauges *gauges;  /* scanner, sandbox and store_stats as set */
	const char *signatures_summary;          /* fw_scanner_summary, NULL: none */
	json_t *signature_sources;               /* fw_signature_info_json (borrowed), NULL: none */
	const struct fw_event_ring_entry *errors; /* newest first */
	size_t n_errors;
};

/* The enabled listeners of cfg into s->listeners. */
void status_listeners_of(const struct fw_config *cfg, struct status_snapshot *s) FW_NONNULL(1, 2);

/* The JSON document of s (a new reference), or NULL with err. */
json_t *status_doc_build(const struct status_snapshot *s, struct fw_err *err) FW_NONNULL(1);

/* The document as aligned lines for people. A member missing or of the
 * wrong type is shown as "?" (the document comes over a socket). */
void status_doc_print(const json_t *doc, FILE *out) FW_NONNULL(1, 2);

/* "2026-12-05T01:52:10Z" into buf (at least 32 bytes). */
const char *status_rfc3339(int64_t unix_seconds, char *buf, size_t len) FW_NONNULL(2);

#endif
