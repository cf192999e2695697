/* Private to cli/: fwgate run's change of user ([run] user). Started as
 * root, the gateway becomes that user (primary group, supplementary
 * groups) before it touches the state directory or starts the scanner;
 * when a listener's port is below 1024 it keeps CAP_NET_BIND_SERVICE
 * alone across the switch and drops it once the listeners are bound. */
#ifndef FWGATE_CLI_RUN_USER_H
#define FWGATE_CLI_RUN_USER_H

#include <stdbool.h>
#include <sys/types.h>

#include "fwgate/config.h"
#include "fwgate/err.h"

struct run_user {
	bool switched;     /* became cfg->run.user */
	bool kept_bind;    /* holds CAP_NET_BIND_SERVICE until run_user_bound */
	uid_t uid;
	gid_t gid;
	char name[64];
};

/* Whether a listener of cfg needs a port below 1024. */
bool run_user_needs_bind_cap(const struct fw_config *cfg) FW_NONNULL(1);

/* Becomes [run] user when root; checks it matches otherwise; prepares the
 * state directory for the user (created 0700 and owned by it; refused
 * when it or an entry in it is another user's). Says on stderr which
 * user the gateway runs as. Call while the process has one thread. */
int run_user_become(const struct fw_config *cfg, struct run_user *ru, struct fw_err *err) FW_WUR FW_NONNULL(1, 2);

/* The listeners are bound: drops the capability kept for them in every
 * thread (each thread has its own; the others drop theirs in a handler of
 * a real-time signal, SIGRTMIN+4) and checks that no thread holds one.
 * A no-op when nothing was kept. */
int run_user_bound(struct run_user *ru, struct fw_err *err) FW_WUR FW_NONNULL(1);

#endif
