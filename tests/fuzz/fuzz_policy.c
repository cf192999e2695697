/* libFuzzer target: the rule-card loader (JSON schema checks and the
 * mapping of the enforced rule) on arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "fwgate/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fw_errlist errs;
	struct fw_policy *p;

	if (size > 256 * 1024)
		return 0;
	p = fw_policy_parse(data, size, "fuzz", "firmware_update", &errs);
	fw_policy_free(p);
	return 0;
}
