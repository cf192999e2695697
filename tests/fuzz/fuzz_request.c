/* libFuzzer target: the proxy's request-head parser and authority parser
 * on arbitrary bytes. Properties: no crash, no read outside the input,
 * and a successful parse only ever points inside the input. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct http_req req;
	struct fw_err err;
	uint8_t *copy;
	size_t end;

	if (size > 64 * 1024)
		return 0;
	/* An exact-size heap copy so ASan sees any overread. */
	copy = malloc(size ? size : 1);
	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	end = http_head_end(copy, size);
	fw_err_clear(&err);
	if (end > 0 && http_parse_head(copy, end, 100, &req, &err) == 0) {
		char host[256];
		uint16_t port;

		if (req.target < (const char *)copy || req.target + req.target_len > (const char *)copy + end)
			abort();
		for (unsigned i = 0; i < req.n_headers; i++)
			if (req.headers[i].value + req.headers[i].value_len > (const char *)copy + end)
				abort();
		fw_err_clear(&err);
		(void)http_parse_authority(req.target, req.target_len, host, sizeof(host), &port, 0, &err);
		if (req.host != NULL) {
			fw_err_clear(&err);
			(void)http_parse_authority(req.host->value, req.host->value_len, host, sizeof(host),
						      &port, 443, &err);
		}
	}
	free(copy);
	return 0;
}
