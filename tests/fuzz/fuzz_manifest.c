/* libFuzzer target: the offline bundle's manifest parser (its strict
 * schema and bounds) on arbitrary bytes, as fwgate mirror verify and
 * import read manifest.json once its signature checked out. */
#include <stddef.h>
#include <stdint.h>

#include "fwgate/bundle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fw_bundle_manifest *m = NULL;
	struct fw_err err;

	if (size > 1024 * 1024)
		return 0;
	fw_err_clear(&err);
	if (fw_bundle_manifest_parse(data, size, &m, &err) == 0) {
		/* what parsed is whole: every object has its hash and a URL */
		for (size_t i = 0; i < m->n; i++)
			if (m->objects[i].sha256[64] != '\0' || m->objects[i].n_urls == 0)
				__builtin_trap();
	}
	fw_bundle_manifest_free(m);
	return 0;
}
