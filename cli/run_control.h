/* Private to cli/: the control socket of a running gateway,
 * <state dir>/control.sock (a UNIX stream socket, 0660). One request line
 * ("status\n") is answered by one JSON document and a newline, then the
 * connection is closed. The server runs on its own thread and never lets
 * a client hold it: a few clients at once, a bounded request, a deadline
 * per client. */
#ifndef FWGATE_CLI_RUN_CONTROL_H
#define FWGATE_CLI_RUN_CONTROL_H

#include <time.h>

#include "fwgate/config.h"
#include "fwgate/err.h"

#define RUN_CONTROL_SOCKET "control.sock"
/* Longest request line, newline included. */
#define RUN_CONTROL_REQUEST_MAX 64
/* Clients served at once; more are answered "busy" and closed. */
#define RUN_CONTROL_CLIENTS_MAX 4
/* A client's whole exchange, request to the last byte of the answer. */
#define RUN_CONTROL_CLIENT_MS 5000
/* Largest answer the CLI reads. */
#define RUN_CONTROL_ANSWER_MAX (1024 * 1024)

struct fw_scanner;
struct fw_sandbox;
struct fw_store;
struct fw_proxy;

/* What a status answer reads; everything must outlive the server. */
struct run_control_deps {
	const struct fw_config *cfg;
	struct fw_scanner *scanner;
	struct fw_sandbox *sandbox;
	struct fw_store *store;
	struct fw_proxy *proxy;
	time_t started;            /* unix seconds */
};

struct run_control;

/* <state dir>/control.sock into out. */
int run_control_path(const struct fw_config *cfg, char *out, size_t len, struct fw_err *err) FW_WUR FW_NONNULL(1, 2);

/* Binds the socket (a socket a killed run left is replaced; anything else
 * at the path is refused) and starts the server thread. Call with the
 * state directory locked: no other gateway can own the socket. */
int run_control_start(struct run_control **out, const struct run_control_deps *deps, struct fw_err *err)
	FW_WUR FW_NONNULL(1, 2);

/* Stops the thread, closes every client, removes the socket; NULL is a no-op. */
void run_control_stop(struct run_control *rc);

#endif
