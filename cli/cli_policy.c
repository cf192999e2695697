/* Loading the policy a command works with (cli/cli_policy.h): the card of
 * -c's [policy] file or the embedded one, every error printed with where it
 * is. Shared by the commands that need a policy; calls no cmd_*.c. */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "cli/cli_policy.h"
#include "fwgate/err.h"
#include "fwgate/policy.h"

int cli_load_policy(const struct fw_config *cfg, const char *file, const char *rule,
		    struct fw_policy **out)
{
	struct fw_errlist *errs = calloc(1, sizeof(*errs));
	const char *path = file != NULL ? file : cfg->policy.file;

	*out = NULL;
	if (errs == NULL) {
		fprintf(stderr, "fwgate: out of memory\n");
		return CLI_ERROR;
	}
	if (rule == NULL)
		rule = cfg->policy.rule;
	if (path[0] == '\0')
		*out = fw_policy_load_embedded(rule, errs);
	else
		*out = fw_policy_load(path, rule, errs);
	if (*out == NULL) {
		const char *src = path[0] ? path : "embedded default policy";

		for (size_t i = 0; i < errs->n; i++) {
			/* A problem at a JSON path inside the card gets the card's
			 * name in front; the others name the file themselves. */
			if (fw_err_code(&errs->items[i]) == FW_E_CONFIG)
				fprintf(stderr, "fwgate: %s: %s\n", src, fw_err_msg(&errs->items[i]));
			else
				fprintf(stderr, "fwgate: %s\n", fw_err_msg(&errs->items[i]));
		}
		if (errs->dropped > 0)
			fprintf(stderr, "fwgate: %s: %zu more errors not shown\n", src, errs->dropped);
	}
	free(errs);
	return *out != NULL ? CLI_OK : CLI_ERROR;
}
