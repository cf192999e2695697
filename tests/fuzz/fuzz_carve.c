/* libFuzzer target: the carver's search as the static analyzer runs it
 * (scanner/carve.c, reading from memory): makeself headers, Dell markers,
 * PE and ELF overlays, every candidate's header check, the xz, zstd and
 * LZ4 extent walks, and libarchive reading each candidate. Properties: no
 * crash, no leak, no read outside the input, every range within it. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "scanner/analyze.h"
#include "scanner/walk_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scan_limits lim = {
		.max_depth = 8, .max_members = 1000, .max_member_bytes = 4u << 20, .max_total_bytes = 4u << 20,
		.max_ratio = 1000, .max_seconds = 10,
	};
	struct analyze_range out[ANALYZE_OPENED_MAX];
	size_t n = carve_opened_ranges(data, size, &lim, out, ANALYZE_OPENED_MAX);

	if (n > ANALYZE_OPENED_MAX)
		abort();
	for (size_t i = 0; i < n; i++)
		if (out[i].off >= size || out[i].len > size - out[i].off || out[i].len == 0)
			abort();
	return 0;
}
