/* cli/run_reload.c: the signature reloads of `fwgate run`, from SIGHUP or
 * the signature watch, one at a time on their own thread, each an event
 * with the databases' versions and ages; and the signature age warning
 * (at start, after each reload, hourly). Thread-safe: a request may come
 * from any thread; start and stop from the main one. */
#ifndef FWGATE_CLI_RUN_RELOAD_H
#define FWGATE_CLI_RUN_RELOAD_H

#include "cli/run_notify.h"
#include "fwgate/config.h"
#include "fwgate/event.h"
#include "fwgate/policy.h"
#include "fwgate/scanner.h"

struct run_reloader;

enum run_reload_trigger {
	RUN_RELOAD_SIGHUP = 0,  /* SIGHUP or fwgate reload */
	RUN_RELOAD_WATCH,       /* the signature watch saw a database change */
};

struct run_reload_deps {
	struct fw_evlog *log;
	struct fw_scanner *scanner;
	const struct fw_config *cfg;
	const struct fw_policy *pol;
	struct run_notify *notify;  /* told RELOADING as a reload begins, READY as it ends; may be NULL */
};

/* Starts the reload thread (which checks the signatures' age at once) and,
 * with [scanner] watch_signatures, the signature watch. A watch that
 * cannot start is a warning (stderr and a fwgate-signature-watch-failed
 * event): SIGHUP still reloads. Fails only when the thread cannot start. */
int run_reloader_start(struct run_reloader **out, const struct run_reload_deps *d, struct fw_err *err)
	FW_WUR FW_NONNULL(1, 2);

/* Asks for a reload. One under way already: one more runs after it (the
 * files may have changed again since it read them); requests meanwhile
 * are one. what (may be NULL) says what changed, for the event. */
void run_reloader_request(struct run_reloader *r, enum run_reload_trigger trigger, const char *what)
	FW_NONNULL(1);

/* Stops the watch and the thread (a reload under way ends with the
 * scanner's cancel) and frees; NULL is a no-op. */
void run_reloader_stop(struct run_reloader *r);

#endif
