/* libFuzzer target: the UEFI image parser (capsules, flash descriptors,
 * volumes, files, sections) and its decompressors on arbitrary bytes. The
 * first byte picks the entry: 'L' LZMA, 'X' LZMA x86, 'B' Brotli, 'E' EFI,
 * 'T' Tiano (the rest is the stream), anything else the parser (the rest
 * is the image). Properties: no crash, no leak, no read outside the
 * input; every module lies within the bytes it was handed (the sink reads
 * each one whole); decoders return exactly what they declare or nothing;
 * every problem has a sentence. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scanner/uefi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Decoded bytes allowed per input: small, so that bombs stay cheap. */
#define FUZZ_DECOMP_CAP (4u * 1024 * 1024)

struct fz {
	uint64_t budget;
	unsigned modules;
	uint8_t sum;
};

static int fz_module(void *arg, const struct uefi_module *m, const uint8_t *d, size_t len)
{
	struct fz *f = arg;

	if (m->chain == NULL || m->chain[0] == '\0' || m->kind == NULL || m->file_guid == NULL || m->ui == NULL)
		abort();
	for (size_t i = 0; i < len; i++)
		f->sum ^= d[i];
	f->modules++;
	return 0;
}

static void fz_problem(void *arg, enum fw_verdict v, const char *msg)
{
	(void)arg;
	if (msg == NULL || msg[0] == '\0' || v == FW_VERDICT_CLEAN)
		abort();
}

static bool fz_budget(void *arg, uint64_t bytes)
{
	struct fz *f = arg;

	f->budget += bytes;
	return f->budget <= FUZZ_DECOMP_CAP;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { 0 };
	const struct uefi_sink sink = {
		.arg = &f, .module = fz_module, .problem = fz_problem, .budget = fz_budget, .max_depth = 12,
	};
	uint8_t *out = NULL;
	size_t out_len = 0;
	struct fw_err err;
	enum uefi_decomp_result r;

	if (size == 0)
		return 0;
	fw_err_clear(&err);
	switch (data[0]) {
	case 'L':
	case 'X':
		r = uefi_lzma(data + 1, size - 1, data[0] == 'X', FUZZ_DECOMP_CAP, &out, &out_len, &err);
		break;
	case 'B':
		r = uefi_brotli(data + 1, size - 1, FUZZ_DECOMP_CAP, &out, &out_len, &err);
		break;
	case 'E':
	case 'T':
		r = uefi_efi(data + 1, size - 1, data[0] == 'T', FUZZ_DECOMP_CAP, &out, &out_len, &err);
		break;
	default: {
		int n;

		(void)uefi_detect(data + 1, size - 1);
		n = uefi_parse(data + 1, size - 1, "fuzz", 0, &sink);
		if (n >= 0 && (unsigned)n != f.modules)
			abort();
		return 0;
	}
	}
	if (r == UEFI_DECOMP_OK) {
		if (out == NULL || out_len > FUZZ_DECOMP_CAP)
			abort();
		for (size_t i = 0; i < out_len; i++)
			f.sum ^= out[i];
		free(out);
	} else if (out != NULL || err.msg[0] == '\0') {
		abort();
	}
	return 0;
}
