/* Unit tests for scanner/carve.c, through the walk in process (a real
 * ClamAV engine, archives written by libarchive): payloads after a script
 * (gzip, and xz, zstd and LZ4 followed by other bytes: their extents),
 * EICAR inside one named by its offset, a PE overlay (its certificate
 * table exempt), an ELF overlay, Dell markers and makeself headers that
 * lie, the coverage check's bound and its naming of a failed candidate,
 * the candidate cap, and the analyzer's probe (the same ranges). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <cmocka.h>

#include "fwgate/config.h"
#include "scanner/analyze.h"
#include "scanner/scan_int.h"
#include "scanner/walk_int.h"
#include "testutil.h"

static const char eicar[] = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

struct fixture {
	char dir[512];
	struct fw_config cfg;
	struct scan_engine *eng;
	struct scan_typer *typer;
	struct clamq *queue;
	struct scan_walk_ctx ctx;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char sig[256], path[1024];
	struct fw_err err;
	size_t n;

	assert_non_null(f);
	fw_err_clear(&err);
	assert_non_null(f);
	tu_mkdtemp(f->dir, sizeof(f->dir));
	n = (size_t)snprintf(sig, sizeof(sig), "Unit.Test.EICAR:0:*:");
	for (size_t i = 0; eicar[i] != '\0'; i++)
		n += (size_t)snprintf(sig + n, sizeof(sig) - n, "%02x", (unsigned char)eicar[i]);
	n += (size_t)snprintf(sig + n, sizeof(sig) - n, "\n");
	tu_write(f->dir, "unit.ndb", sig, n, path, sizeof(path));
	fw_config_default(&f->cfg);
	snprintf(f->cfg.scanner.signatures[0], sizeof(f->cfg.scanner.signatures[0]), "%s", f->dir);
	f->cfg.scanner.n_signatures = 1;
	assert_int_equal(scan_engine_load(&f->eng, &f->cfg, f->dir, &err), 0);
	assert_int_equal(scan_typer_new(&f->typer, &err), 0);
	assert_int_equal(clamq_new(&f->queue, f->eng, 2, &err), 0);
	f->ctx.typer = f->typer;
	f->ctx.queue = f->queue;
	f->ctx.tmp_dir_fd = open(f->dir, O_RDONLY | O_DIRECTORY);
	assert_true(f->ctx.tmp_dir_fd >= 0);
	f->ctx.samples_dir_fd = -1;
	scan_limits_from_config(&f->ctx.limits, &f->cfg);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	clamq_free(f->queue);
	scan_typer_free(f->typer);
	scan_engine_free(f->eng);
	close(f->ctx.tmp_dir_fd);
	tu_rmtree(f->dir);
	free(f);
	return 0;
}

/* ------------------------------------------------------------ inputs */

struct buf {
	uint8_t *p;
	size_t len, cap;
};

static void put(struct buf *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2 + 4096;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

/* n bytes of firmware-like content (7 bits per byte), seeded */
static void put7(struct buf *b, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t c;

		seed = seed * 1103515245u + 12345u;
		c = (uint8_t)((seed >> 16) & 0x7f);
		put(b, &c, 1);
	}
}

/* n bytes that look encrypted (8 bits per byte), seeded */
static void put8(struct buf *b, size_t n, uint64_t seed)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t c;

		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		c = (uint8_t)seed;
		put(b, &c, 1);
	}
}

/* A tar (with filter) holding name = data, appended to b. */
static void put_tar(struct buf *b, int filter, const char *name, const void *data, size_t len)
{
	size_t cap = len * 2 + 65536, used = 0;
	void *out = malloc(cap);
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();

	assert_non_null(out);
	assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
	assert_int_equal(archive_write_add_filter(a, filter), ARCHIVE_OK);
	assert_int_equal(archive_write_open_memory(a, out, cap, &used), ARCHIVE_OK);
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)len);
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	assert_int_equal(archive_write_data(a, data, len), (la_ssize_t)len);
	archive_entry_free(e);
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	put(b, out, used);
	free(out);
}

static json_t *walk(struct fixture *f, const char *name, const struct buf *b)
{
	char path[1024];
	json_t *doc;
	int fd;

	tu_write(f->dir, "pkg", b->p, b->len, path, sizeof(path));
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	doc = scan_walk(&f->ctx, fd, name, NULL, NULL);
	close(fd);
	unlink(path);
	assert_non_null(doc);
	return doc;
}

static const char *verdict(json_t *doc)
{
	return json_string_value(json_object_get(doc, "verdict"));
}

static bool has_reason(json_t *doc, const char *want)
{
	json_t *v;
	size_t i;

	json_array_foreach(json_object_get(doc, "reasons"), i, v)
		if (strstr(json_string_value(v), want) != NULL)
			return true;
	return false;
}

/* The member whose path is exactly path, or NULL. */
static json_t *member(json_t *doc, const char *path)
{
	json_t *m;
	size_t i;

	json_array_foreach(json_object_get(doc, "members"), i, m)
		if (strcmp(json_string_value(json_object_get(m, "path")), path) == 0)
			return m;
	return NULL;
}

static void expect_clean(json_t *doc)
{
	if (strcmp(verdict(doc), "clean") != 0) {
		char *s = json_dumps(json_object_get(doc, "reasons"), 0);

		fail_msg("verdict %s: %s", verdict(doc), s);
	}
}

/* ------------------------------------------------------------ tests */

static const char script[] = "#!/bin/sh\n# vendor installer\ntail -c +200 \"$0\" | tar -xz\nexit 0\n";

/* A script, then a tar.gz holding EICAR: infected in pkg!@0xOFF!name. */
static void test_script_gzip(void **state)
{
	struct fixture *f = *state;
	struct buf b = { 0 };
	char path[128];
	json_t *doc, *m;

	puts_(&b, script);
	put_tar(&b, ARCHIVE_FILTER_GZIP, "payload/tool.com", eicar, strlen(eicar));
	doc = walk(f, "pkg.run", &b);
	assert_string_equal(verdict(doc), "infected");
	snprintf(path, sizeof(path), "pkg.run!@0x%zx", strlen(script));
	m = member(doc, path);
	assert_non_null(m);
	assert_int_equal(json_integer_value(json_object_get(m, "offset")), (json_int_t)strlen(script));
	snprintf(path, sizeof(path), "pkg.run!@0x%zx!payload/tool.com", strlen(script));
	assert_non_null(member(doc, path));
	json_decref(doc);
	free(b.p);
}

/* xz, zstd and LZ4 followed by other bytes (libarchive alone would read
 * them as the next stream and fail): opened to their exact extent. */
static void test_extents(void **state)
{
	static const int filters[] = { ARCHIVE_FILTER_XZ, ARCHIVE_FILTER_ZSTD, ARCHIVE_FILTER_LZ4,
				       ARCHIVE_FILTER_BZIP2, ARCHIVE_FILTER_GZIP };
	struct fixture *f = *state;

	for (size_t i = 0; i < sizeof(filters) / sizeof(filters[0]); i++) {
		struct buf b = { 0 }, data = { 0 };
		char path[128];
		json_t *doc;

		put7(&data, 50000, (uint32_t)i + 1);
		puts_(&b, script);
		put_tar(&b, filters[i], "payload/fw.img", data.p, data.len);
		puts_(&b, "PK\x03\x04 the next thing, not part of the stream\n");
		put7(&b, 30000, 99);
		doc = walk(f, "pkg.run", &b);
		expect_clean(doc);
		snprintf(path, sizeof(path), "pkg.run!@0x%zx!payload/fw.img", strlen(script));
		if (member(doc, path) == NULL)
			fail_msg("filter %d: no member %s", filters[i], path);
		json_decref(doc);
		free(b.p);
		free(data.p);
	}
}

/* A real PE (an NSIS plug-in DLL from nsis-common, a test dependency):
 * 7168 bytes, its last section ending at the end; cert_len > 0 points
 * its security directory at a table after it. */
#define REAL_PE "/usr/share/nsis/Plugins/x86-ansi/UserInfo.dll"
#define REAL_PE_LEN 7168
static void put_pe(struct buf *b, uint32_t cert_off, uint32_t cert_len)
{
	uint8_t pe[REAL_PE_LEN];
	FILE *fp = fopen(REAL_PE, "rb");
	uint32_t lfanew;

	assert_non_null(fp);
	assert_int_equal(fread(pe, 1, sizeof(pe), fp), sizeof(pe));
	fclose(fp);
	memcpy(&lfanew, pe + 0x3c, 4);
	assert_true(pe[lfanew + 24] == 0x0b && pe[lfanew + 25] == 0x01); /* PE32 */
	if (cert_len > 0) {
		memcpy(pe + lfanew + 24 + 96 + 4 * 8, &cert_off, 4);
		memcpy(pe + lfanew + 24 + 96 + 4 * 8 + 4, &cert_len, 4);
	}
	put(b, pe, sizeof(pe));
}

static void test_pe_overlay(void **state)
{
	struct fixture *f = *state;
	struct buf b = { 0 };
	char want[128];
	json_t *doc;

	/* an encrypted-looking overlay: unscannable, with its offset */
	put_pe(&b, 0, 0);
	put8(&b, 32768, 7);
	doc = walk(f, "tool.exe", &b);
	assert_string_equal(verdict(doc), "unscannable");
	snprintf(want, sizeof(want), "of compressed or encrypted bytes at 0x%x in tool.exe", REAL_PE_LEN);
	assert_true(has_reason(doc, want));
	json_decref(doc);
	free(b.p);
	/* the same bytes as the Authenticode table: a signature, exempt */
	memset(&b, 0, sizeof(b));
	put_pe(&b, REAL_PE_LEN, 32768);
	put8(&b, 32768, 7);
	doc = walk(f, "tool.exe", &b);
	assert_false(has_reason(doc, "compressed or encrypted"));
	json_decref(doc);
	free(b.p);
	/* a tar.xz overlay with EICAR: infected at tool.exe!@0x1c00!... */
	memset(&b, 0, sizeof(b));
	put_pe(&b, 0, 0);
	put_tar(&b, ARCHIVE_FILTER_XZ, "drv/x.com", eicar, strlen(eicar));
	doc = walk(f, "tool.exe", &b);
	assert_string_equal(verdict(doc), "infected");
	assert_non_null(member(doc, "tool.exe!@0x1c00!drv/x.com"));
	json_decref(doc);
	free(b.p);
}

/* Coverage: 16 KiB of encrypted-looking bytes after a script is a reason,
 * 12 KiB is not; a failed zstd candidate there names the reason. */
static void test_coverage(void **state)
{
	struct fixture *f = *state;
	struct buf b = { 0 };
	json_t *doc;

	puts_(&b, script);
	put7(&b, 8192 - strlen(script), 3);
	put8(&b, 12 * 1024, 11);
	put7(&b, 8192, 4);
	doc = walk(f, "small.run", &b);
	expect_clean(doc);
	json_decref(doc);
	free(b.p);
	memset(&b, 0, sizeof(b));
	puts_(&b, script);
	put7(&b, 8192 - strlen(script), 3);
	put8(&b, 20 * 1024, 11);
	doc = walk(f, "big.run", &b);
	assert_string_equal(verdict(doc), "unscannable");
	assert_true(has_reason(doc, "20.0 KiB of compressed or encrypted bytes at 0x2000 in big.run"));
	json_decref(doc);
	free(b.p);
	memset(&b, 0, sizeof(b));
	puts_(&b, script);
	put7(&b, 8192 - strlen(script), 3);
	put(&b, "\x28\xb5\x2f\xfd\x04\x00", 6);
	put8(&b, 40 * 1024, 12);
	doc = walk(f, "zst.run", &b);
	assert_string_equal(verdict(doc), "unscannable");
	assert_true(has_reason(doc, "zstd frame at 0x2000 in zst.run"));
	json_decref(doc);
	free(b.p);
}

/* More certain candidates than the cap: unscannable, never skipped. */
static void test_candidate_cap(void **state)
{
	struct fixture *f = *state;
	struct buf b = { 0 };
	json_t *doc;

	puts_(&b, script);
	for (int i = 0; i < 80; i++) {
		put_tar(&b, ARCHIVE_FILTER_NONE, "f.txt", "firmware\n", 9);
		put7(&b, 100, (uint32_t)i);
	}
	doc = walk(f, "many.run", &b);
	assert_string_equal(verdict(doc), "unscannable");
	assert_true(has_reason(doc, "more than 64 embedded stream or archive candidates"));
	json_decref(doc);
	free(b.p);
}

/* Layouts that lie: Dell markers without the archive marker, a makeself
 * header whose archive overruns the file. */
static void test_layouts(void **state)
{
	struct fixture *f = *state;
	struct buf b = { 0 };
	json_t *doc;

	puts_(&b, "#!/bin/sh\nexit 0\n#####Startofpackage#####\n<xml/>\n");
	put7(&b, 2000, 1);
	doc = walk(f, "dup.BIN", &b);
	assert_string_equal(verdict(doc), "unscannable");
	assert_true(has_reason(doc, "#####Startofpackage##### without #####Startofarchive#####"));
	json_decref(doc);
	free(b.p);
	memset(&b, 0, sizeof(b));
	puts_(&b, "#!/bin/sh\n# This script was generated using Makeself 2.4.5\nMD5=\"00000000000000000000000000000000\"\n"
		  "filesizes=\"999999\"\nskip=\"5\"\nexit 0\n");
	put7(&b, 2000, 2);
	doc = walk(f, "ms.run", &b);
	assert_string_equal(verdict(doc), "unscannable");
	assert_true(has_reason(doc, "overruns the file"));
	json_decref(doc);
	free(b.p);
}

/* The analyzer's probe finds what the walk opens, to the byte. */
static void test_probe_ranges(void **state)
{
	struct fixture *f = *state;
	struct buf b = { 0 }, data = { 0 };
	struct analyze_range r[8];
	size_t n, stream_start;

	put7(&data, 40000, 9);
	puts_(&b, script);
	stream_start = b.len;
	put_tar(&b, ARCHIVE_FILTER_XZ, "fw.img", data.p, data.len);
	n = b.len - stream_start;
	put7(&b, 10000, 10);
	assert_int_equal(carve_opened_ranges(b.p, b.len, &f->ctx.limits, r, 8), 1);
	assert_int_equal(r[0].off, stream_start);
	assert_int_equal(r[0].len, n);
	/* scan_opened_ranges, the worker's entry, says the same */
	assert_int_equal(scan_opened_ranges(b.p, b.len, &f->ctx.limits, r, 8), 1);
	assert_int_equal(r[0].off, stream_start);
	free(b.p);
	free(data.p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_script_gzip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_extents, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pe_overlay, setup, teardown),
		cmocka_unit_test_setup_teardown(test_coverage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_candidate_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_layouts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_probe_ranges, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
