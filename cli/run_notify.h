/* Private to cli/: systemd's notification protocol for fwgate run
 * (Type=notify): READY, STATUS, RELOADING, STOPPING, and the watchdog.
 * Outside systemd (no NOTIFY_SOCKET) every call is a no-op. */
#ifndef FWGATE_CLI_RUN_NOTIFY_H
#define FWGATE_CLI_RUN_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>

#include "fwgate/attrib.h"
#include "fwgate/err.h"

/* Whether the gateway is healthy; why (a sentence) when not. Called on
 * the watchdog thread; must be cheap and never block. */
typedef bool (*run_notify_health_fn)(void *arg, char *why, size_t len);

struct run_notify;

/* Reads NOTIFY_SOCKET and WATCHDOG_USEC/WATCHDOG_PID; with a watchdog,
 * starts its thread: it pings WATCHDOG=1 at half the interval, without
 * condition until READY (the start-up is bounded by systemd's start
 * time-out), then only while health says so. */
int run_notify_start(struct run_notify **out, run_notify_health_fn health, void *arg, struct fw_err *err)
	FW_WUR FW_NONNULL(1, 2);

/* READY=1 with STATUS=status (after the start, and after each reload). */
void run_notify_ready(struct run_notify *n, const char *status);
/* STATUS=status. */
void run_notify_status(struct run_notify *n, const char *status);
/* RELOADING=1, MONOTONIC_USEC=now, STATUS=status. */
void run_notify_reloading(struct run_notify *n, const char *status);
/* STOPPING=1, STATUS=status. */
void run_notify_stopping(struct run_notify *n, const char *status);

/* Stops the watchdog thread (its health probe is never called again);
 * the notifications still work. Call before freeing what the probe
 * reads. NULL or a second call is a no-op. */
void run_notify_quiesce(struct run_notify *n);

/* Stops the watchdog thread and frees; NULL is a no-op. */
void run_notify_stop(struct run_notify *n);

#endif
