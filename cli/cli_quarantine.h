/* Private to cli/: the parts of `fwgate quarantine` beside its dispatch
 * (cmd_quarantine.c): the staff decisions (cmd_quarantine_review.c) and
 * the object shown for people (cmd_quarantine_show.c). */
#ifndef FWGATE_CLI_QUARANTINE_H
#define FWGATE_CLI_QUARANTINE_H

#include "cli/cli.h"
#include "cli/cli_store.h"
#include "fwgate/store.h"

/* release, reject, cancel ID (o->args[0] names which), through the store's
 * review calls; four_eyes is [console] four_eyes. */
int cli_quarantine_decide(struct fw_store *st, const struct cli_store_opts *o, bool four_eyes);

/* show ID: for people, or the store's JSON with --json. */
int cli_quarantine_show(struct fw_store *st, const struct cli_store_opts *o);

#endif
