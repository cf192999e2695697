/* console/: the staff console, over HTTPS (libmicrohttpd, GnuTLS): the
 * review pages (server-rendered HTML, no inline script, a strict
 * Content-Security-Policy), the JSON API (/api/v1/, bearer tokens) and
 * /metrics. Accounts, sessions, tokens and every decision go through the
 * store's headers; the console checks roles, CSRF, session expiry and the
 * login lockout, and decides nothing the store or the life-cycle table
 * decides. Must not read the database or the blobs any other way; must
 * never serve a quarantined byte.
 * Thread-safety: fw_console_start/stop from one thread; requests run on
 * libmicrohttpd's own threads. */
#ifndef FWGATE_CONSOLE_H
#define FWGATE_CONSOLE_H

#include "fwgate/config.h"
#include "fwgate/err.h"
#include "fwgate/event.h"
#include "fwgate/policy.h"
#include "fwgate/store.h"

struct fw_scanner;
struct fw_sandbox;

/* What the console works with; everything must outlive it. */
struct fw_console_deps {
	const struct fw_config *cfg;
	const struct fw_policy *pol;
	struct fw_store *store;
	struct fw_evlog *log;
	const char *log_path;          /* the event log file the events page searches ("" or "-": none) */
	struct fw_scanner *scanner;    /* state and signatures on the dashboard; may be NULL */
	struct fw_sandbox *sandbox;    /* may be NULL */
};

struct fw_console;

/* Binds [console] listen and serves; with listen = off, *out is NULL and
 * nothing runs. The certificate is [console] cert_file/key_file, or one
 * the gateway CA issues now for [console] name and the listen address.
 * Nothing is left running on failure. */
int fw_console_start(struct fw_console **out, const struct fw_console_deps *deps, struct fw_err *err)
	FW_WUR FW_NONNULL(1, 2);

/* Stops accepting, ends every connection, waits for the request threads,
 * frees. NULL is a no-op. */
void fw_console_stop(struct fw_console *c);

#endif
