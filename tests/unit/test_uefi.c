/* Unit tests for scanner/uefi.c and scanner/uefi_decomp.c: the crafted
 * images of tests/data/uefi_samples.py (volumes holding LZMA, LZMA x86,
 * Brotli, Tiano, EFI and CRC32 sections, capsules, a flash descriptor
 * image, and the refusals) give exactly the modules and problems the
 * generator lists; Debian's OVMF parses without a problem; the
 * decompressors refuse truncated, damaged and oversized streams; limits
 * (depth, the sink's budget and stop) hold. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <lzma.h>

#include "scanner/uefi.h"
#include "testutil.h"

#define MOD_MAX 512

struct collect {
	unsigned n_pe;
	char guid[MOD_MAX][40];
	char ui[MOD_MAX][64];
	char chain[MOD_MAX][512];
	unsigned n_data;
	unsigned n_problems;
	char problems[4096];
	enum fw_verdict worst;
	bool eicar_in_pe;
	char eicar_chain[512];
	uint64_t budget_used;
	uint64_t budget_cap;  /* 0: unlimited */
	unsigned stop_after;  /* 0: never */
	unsigned n_modules;
};

static int c_module(void *arg, const struct uefi_module *m, const uint8_t *data, size_t len)
{
	struct collect *c = arg;
	static const char eicar_head[] = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR";

	c->n_modules++;
	if (m->executable) {
		assert_true(c->n_pe < MOD_MAX);
		snprintf(c->guid[c->n_pe], sizeof(c->guid[0]), "%s", m->file_guid);
		snprintf(c->ui[c->n_pe], sizeof(c->ui[0]), "%s", m->ui);
		snprintf(c->chain[c->n_pe], sizeof(c->chain[0]), "%s", m->chain);
		c->n_pe++;
		if (memmem(data, len, eicar_head, sizeof(eicar_head) - 1) != NULL) {
			c->eicar_in_pe = true;
			snprintf(c->eicar_chain, sizeof(c->eicar_chain), "%s", m->chain);
		}
	} else if (strcmp(m->kind, "DATA") == 0) {
		c->n_data++;
	}
	if (c->stop_after != 0 && c->n_modules >= c->stop_after)
		return -1;
	return 0;
}

static void c_problem(void *arg, enum fw_verdict v, const char *msg)
{
	struct collect *c = arg;
	size_t used = strlen(c->problems);

	c->n_problems++;
	if (v > c->worst)
		c->worst = v;
	snprintf(c->problems + used, sizeof(c->problems) - used, "%s\n", msg);
}

static bool c_budget(void *arg, uint64_t bytes)
{
	struct collect *c = arg;

	c->budget_used += bytes;
	return c->budget_cap == 0 || c->budget_used <= c->budget_cap;
}

static int parse_with(struct collect *c, const uint8_t *p, size_t len, unsigned max_depth)
{
	struct uefi_sink sink = {
		.arg = c, .module = c_module, .problem = c_problem, .budget = c_budget, .max_depth = max_depth,
	};

	return uefi_parse(p, len, "img", 0, &sink);
}

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	*len = 0;
	if (f == NULL)
		return NULL; /* a file some systems do not have */
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	TU_NONNULL(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* Runs the generator into dir (with --eicar when asked). */
static void generate(const char *dir, bool eicar)
{
	char script[4096];
	pid_t pid;
	int st;

	snprintf(script, sizeof(script), "%s/tests/data/uefi_samples.py", FW_SOURCE_ROOT);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (eicar)
			execlp("python3", "python3", script, dir, "--eicar", (char *)NULL);
		else
			execlp("python3", "python3", script, dir, (char *)NULL);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static bool has_module(const struct collect *c, const char *g, const char *ui)
{
	for (unsigned i = 0; i < c->n_pe; i++)
		if (strcasecmp(c->guid[i], g) == 0 && strcmp(c->ui[i], ui) == 0)
			return true;
	return false;
}

static void check_samples(bool eicar)
{
	char dir[2048], path[4096];
	json_error_t jerr;
	json_t *list, *s;
	size_t i;

	tu_mkdtemp(dir, sizeof(dir));
	generate(dir, eicar);
	snprintf(path, sizeof(path), "%s/samples.json", dir);
	list = json_load_file(path, 0, &jerr);
	assert_non_null(list);
	assert_true(json_array_size(list) >= 12);
	json_array_foreach(list, i, s) {
		const char *name = json_string_value(json_object_get(s, "name"));
		const char *verdict = json_string_value(json_object_get(s, "verdict"));
		const char *reason = json_string_value(json_object_get(s, "reason"));
		const char *em = json_string_value(json_object_get(s, "eicar_module"));
		json_t *mods = json_object_get(s, "modules"), *m;
		struct collect *c = calloc(1, sizeof(*c));
		uint8_t *img;
		size_t len, j;
		int n;

		assert_non_null(c);
		snprintf(path, sizeof(path), "%s/%s.bin", dir, name);
		img = slurp(path, &len);
		TU_NONNULL(img);
		assert_true(uefi_detect(img, len));
		n = parse_with(c, img, len, 16);
		/* the modules listed, refusals included (a file with a checksum
		 * error is still walked) */
		assert_int_equal(c->n_pe, json_array_size(mods));
		json_array_foreach(mods, j, m) {
			const char *g = json_string_value(json_array_get(m, 0));
			const char *ui = json_string_value(json_array_get(m, 1));

			if (!has_module(c, g, ui))
				fail_msg("%s: module %s/%s not found", name, g, ui);
		}
		if (em != NULL && em[0] != '\0') {
			assert_true(c->eicar_in_pe);
			/* the chain names the module: volume, file GUID, UI name, PE32 */
			assert_non_null(strstr(c->eicar_chain, em));
			assert_non_null(strstr(c->eicar_chain, "!PE32"));
		} else {
			assert_false(c->eicar_in_pe);
		}
		if (strcmp(verdict, "clean") == 0) {
			if (c->n_problems != 0)
				fail_msg("%s: unexpected problems: %s", name, c->problems);
			assert_true(n > 0);
		} else {
			assert_int_equal(c->worst, FW_VERDICT_UNSCANNABLE);
			if (strstr(c->problems, reason) == NULL)
				fail_msg("%s: no problem says \"%s\": %s", name, reason, c->problems);
		}
		free(img);
		free(c);
	}
	json_decref(list);
	tu_rmtree(dir);
}

static void test_samples_clean(void **state)
{
	(void)state;
	check_samples(false);
}

static void test_samples_eicar(void **state)
{
	(void)state;
	check_samples(true);
}

/* The chain of a nested module: the LZMA section, the inner volume, the
 * file GUID with its UI name. */
static void test_chain_names(void **state)
{
	char dir[2048], path[4096];
	struct collect *c = calloc(1, sizeof(*c));
	uint8_t *img;
	size_t len;
	bool seen = false;

	(void)state;
	assert_non_null(c);
	assert_non_null(c);
	tu_mkdtemp(dir, sizeof(dir));
	generate(dir, false);
	snprintf(path, sizeof(path), "%s/fv-lzma.bin", dir);
	img = slurp(path, &len);
	TU_NONNULL(img);
	assert_true(parse_with(c, img, len, 16) > 0);
	for (unsigned i = 0; i < c->n_pe; i++) {
		if (strcmp(c->ui[i], "FwUpdateDxe") != 0)
			continue;
		assert_non_null(strstr(c->chain[i], "!LZMA!"));
		assert_non_null(strcasestr(c->chain[i], "FV:7cb8bdc9-f8eb-4f34-aaea-3ee4af6516a1"));
		assert_non_null(strcasestr(c->chain[i], "11111111-2222-3333-4444-555555555502/FwUpdateDxe!PE32"));
		seen = true;
	}
	assert_true(seen);
	/* too little depth: the nesting is refused, never skipped */
	memset(c, 0, sizeof(*c));
	parse_with(c, img, len, 2);
	assert_int_equal(c->worst, FW_VERDICT_UNSCANNABLE);
	assert_non_null(strstr(c->problems, "nesting depth"));
	/* the sink's budget refuses the decompression: no module from inside */
	memset(c, 0, sizeof(*c));
	c->budget_cap = 1024;
	parse_with(c, img, len, 16);
	assert_false(has_module(c, "11111111-2222-3333-4444-555555555502", "FwUpdateDxe"));
	/* the sink stops the parse */
	memset(c, 0, sizeof(*c));
	c->stop_after = 1;
	assert_int_equal(parse_with(c, img, len, 16), -1);
	assert_int_equal(c->n_modules, 1);
	free(img);
	free(c);
	tu_rmtree(dir);
}

/* Debian's OVMF: every module, no problem (the cross-check with
 * UEFIExtract is in tests/integration/uefi.sh). */
static void test_ovmf(void **state)
{
	static const char *const paths[] = {
		"/usr/share/OVMF/OVMF_CODE_4M.fd",
		"/usr/share/OVMF/OVMF_CODE_4M.secboot.fd",
		"/usr/share/OVMF/OVMF_CODE.fd",
	};
	unsigned seen = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		struct collect *c = calloc(1, sizeof(*c));
		uint8_t *img;
		size_t len;

		assert_non_null(c);
		img = slurp(paths[i], &len);
		if (img == NULL) {
			free(c);
			continue;
		}
		seen++;
		assert_true(uefi_detect(img, len));
		assert_true(parse_with(c, img, len, 16) > 0);
		if (c->n_problems != 0)
			fail_msg("%s: %s", paths[i], c->problems);
		assert_true(c->n_pe >= 100);
		assert_true(has_module(c, "d6a2cb7f-6a18-4e2f-b43b-9920a733700a", "DxeCore"));
		free(img);
		free(c);
	}
	assert_true(seen > 0); /* the ovmf package is a test dependency */
}

static void test_detect_refuses_noise(void **state)
{
	uint8_t buf[8192];

	(void)state;
	memset(buf, 0, sizeof(buf));
	assert_false(uefi_detect(buf, sizeof(buf)));
	memset(buf, 0xff, sizeof(buf));
	assert_false(uefi_detect(buf, sizeof(buf)));
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 2654435761u >> 13);
	assert_false(uefi_detect(buf, sizeof(buf)));
	/* "_FVH" alone, without a valid header around it */
	memcpy(buf + 40, "_FVH", 4);
	assert_false(uefi_detect(buf, sizeof(buf)));
	assert_false(uefi_detect(buf, 3));
	/* a damaged header that names the FFSv2 file system: an image, and
	 * the parse says it is damaged */
	{
		static const uint8_t ffs2[16] = { 0x78, 0xe5, 0x8c, 0x8c, 0x3d, 0x8a, 0x1c, 0x4f,
						  0x99, 0x35, 0x89, 0x61, 0x85, 0xc3, 0x2d, 0xd3 };
		struct collect *c = calloc(1, sizeof(*c));

		assert_non_null(c);
		memcpy(buf + 16, ffs2, sizeof(ffs2));
		assert_true(uefi_detect(buf, sizeof(buf)));
		assert_int_equal(parse_with(c, buf, sizeof(buf), 16), 0);
		assert_int_equal(c->worst, FW_VERDICT_UNSCANNABLE);
		assert_non_null(strstr(c->problems, "damaged"));
		free(c);
	}
}

/* An EDK2-style LZMA stream: 13-byte "alone" header with the size. */
static size_t lzma_alone(const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
	lzma_options_lzma opt;
	lzma_stream s = LZMA_STREAM_INIT;

	assert_false(lzma_lzma_preset(&opt, 6));
	assert_int_equal(lzma_alone_encoder(&s, &opt), LZMA_OK);
	s.next_in = in;
	s.avail_in = len;
	s.next_out = out;
	s.avail_out = cap;
	assert_int_equal(lzma_code(&s, LZMA_FINISH), LZMA_STREAM_END);
	lzma_end(&s);
	/* the alone encoder writes an unknown size; EDK2 writes the real one */
	for (int i = 0; i < 8; i++)
		out[5 + i] = (uint8_t)((uint64_t)len >> (8 * i));
	return cap - s.avail_out;
}

static void test_lzma(void **state)
{
	uint8_t plain[20000], packed[30000], *out = NULL;
	size_t n, out_len = 0;
	struct fw_err err;

	(void)state;
	for (size_t i = 0; i < sizeof(plain); i++)
		plain[i] = (uint8_t)(i % 251 ^ i / 97);
	n = lzma_alone(plain, sizeof(plain), packed, sizeof(packed));
	fw_err_clear(&err);
	assert_int_equal(uefi_lzma(packed, n, false, UEFI_DECOMP_MAX, &out, &out_len, &err), UEFI_DECOMP_OK);
	assert_int_equal(out_len, sizeof(plain));
	assert_memory_equal(out, plain, sizeof(plain));
	free(out);
	out = NULL;
	/* over the caller's cap: refused before decoding */
	assert_int_equal(uefi_lzma(packed, n, false, 1000, &out, &out_len, &err), UEFI_DECOMP_TOO_LARGE);
	assert_null(out);
	/* truncated: refused */
	assert_int_equal(uefi_lzma(packed, n / 2, false, UEFI_DECOMP_MAX, &out, &out_len, &err),
			 UEFI_DECOMP_CORRUPT);
	assert_null(out);
	assert_true(err.msg[0] != '\0');
	/* a header alone */
	assert_int_equal(uefi_lzma(packed, 13, false, UEFI_DECOMP_MAX, &out, &out_len, &err), UEFI_DECOMP_CORRUPT);
	assert_int_equal(uefi_lzma(packed, 5, false, UEFI_DECOMP_MAX, &out, &out_len, &err), UEFI_DECOMP_CORRUPT);
	/* a size that says more than the stream holds */
	packed[5] = 0xff;
	packed[6] = 0xff;
	assert_int_equal(uefi_lzma(packed, n, false, UEFI_DECOMP_MAX, &out, &out_len, &err), UEFI_DECOMP_CORRUPT);
	assert_null(out);
}

static void test_brotli(void **state)
{
	uint8_t in[64], *out = NULL;
	size_t out_len = 0;
	struct fw_err err;

	(void)state;
	fw_err_clear(&err);
	memset(in, 0, sizeof(in));
	/* shorter than its header */
	assert_int_equal(uefi_brotli(in, 10, UEFI_DECOMP_MAX, &out, &out_len, &err), UEFI_DECOMP_CORRUPT);
	/* a declared size over the cap */
	in[3] = 0x40;
	assert_int_equal(uefi_brotli(in, sizeof(in), 1u << 20, &out, &out_len, &err), UEFI_DECOMP_TOO_LARGE);
	/* a size of 8 bytes over an empty stream: not what it says */
	memset(in, 0, sizeof(in));
	in[0] = 8;
	in[16] = 0x06; /* the Brotli encoding of an empty stream */
	assert_int_equal(uefi_brotli(in, 17, UEFI_DECOMP_MAX, &out, &out_len, &err), UEFI_DECOMP_CORRUPT);
	assert_null(out);
	/* garbage after a valid header */
	memset(in + 16, 0xa5, sizeof(in) - 16);
	assert_int_equal(uefi_brotli(in, sizeof(in), UEFI_DECOMP_MAX, &out, &out_len, &err), UEFI_DECOMP_CORRUPT);
	assert_null(out);
}

/* The EFI/Tiano decompressor on the generator's streams (the Tiano sample
 * decodes with UEFIExtract too) and on damaged ones. */
static void test_efi_refusals(void **state)
{
	uint8_t in[256], *out = NULL;
	size_t out_len = 0;
	struct fw_err err;

	(void)state;
	fw_err_clear(&err);
	memset(in, 0, sizeof(in));
	assert_int_equal(uefi_efi(in, 7, false, UEFI_DECOMP_MAX, &out, &out_len, &err), UEFI_DECOMP_CORRUPT);
	/* compressed size larger than the input */
	in[0] = 0xff;
	in[4] = 16;
	assert_int_equal(uefi_efi(in, sizeof(in), false, UEFI_DECOMP_MAX, &out, &out_len, &err),
			 UEFI_DECOMP_CORRUPT);
	/* original size over the cap */
	memset(in, 0, sizeof(in));
	in[0] = 16;
	in[7] = 0x7f;
	assert_int_equal(uefi_efi(in, sizeof(in), true, 1u << 20, &out, &out_len, &err), UEFI_DECOMP_TOO_LARGE);
	/* a stream of noise: refused (or decoded to exactly its size), never
	 * more than it says */
	for (unsigned seed = 1; seed < 200; seed++) {
		uint32_t x = seed;

		for (size_t i = 8; i < sizeof(in); i++) {
			x = x * 1103515245u + 12345u;
			in[i] = (uint8_t)(x >> 16);
		}
		in[0] = (uint8_t)(sizeof(in) - 8);
		in[1] = in[2] = in[3] = 0;
		in[4] = 0;
		in[5] = 0x10;
		in[6] = in[7] = 0;
		out = NULL;
		if (uefi_efi(in, sizeof(in), seed & 1, UEFI_DECOMP_MAX, &out, &out_len, &err) == UEFI_DECOMP_OK) {
			assert_int_equal(out_len, 0x1000);
			free(out);
		} else {
			assert_null(out);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_samples_clean),
		cmocka_unit_test(test_samples_eicar),
		cmocka_unit_test(test_chain_names),
		cmocka_unit_test(test_ovmf),
		cmocka_unit_test(test_detect_refuses_noise),
		cmocka_unit_test(test_lzma),
		cmocka_unit_test(test_brotli),
		cmocka_unit_test(test_efi_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
