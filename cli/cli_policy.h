/* Private to cli/: loading the policy a command works with. */
#ifndef FWGATE_CLI_POLICY_H
#define FWGATE_CLI_POLICY_H

#include <stdlib.h>

#include "fwgate/config.h"
#include "fwgate/policy.h"

/* Loads file (or cfg's [policy] file, or the embedded card) with rule (or
 * cfg's [policy] rule); prints every error and returns CLI_ERROR on failure. */
int cli_load_policy(const struct fw_config *cfg, const char *file, const char *rule,
		    struct fw_policy **out);

#endif
