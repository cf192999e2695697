/* Unit tests for common/fileio.c: the crash-only emptying of the state
 * directory's scratch areas (what a killed run left: files, ClamAV's
 * per-scan directories at any depth), which must never follow a symbolic
 * link out of the directory, and the bounded file read. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fwgate/fileio.h"
#include "testutil.h"

static void path_of(char *out, size_t len, const char *dir, const char *name)
{
	int n = snprintf(out, len, "%s/%s", dir, name);

	assert_true(n > 0 && (size_t)n < len);
}

static void mkdir_p(const char *dir, const char *name)
{
	char p[4096];

	path_of(p, sizeof(p), dir, name);
	assert_int_equal(mkdir(p, 0700), 0);
}

static bool exists(const char *dir, const char *name)
{
	char p[4096];
	struct stat st;

	path_of(p, sizeof(p), dir, name);
	return lstat(p, &st) == 0;
}

static bool keep_hex(const char *name, const struct stat *st)
{
	return strlen(name) == 4 && strspn(name, "0123456789abcdef") == 4 && S_ISREG(st->st_mode);
}

/* A killed scan's leftovers, nested, with links pointing out of the
 * directory: everything inside goes, nothing outside is touched. */
static void test_dir_empty_leftovers(void **state)
{
	char root[4096], area[4096], outside[4096], p[4096], q[4096];
	struct fw_dir_empty_stats st;
	struct fw_err err;

	(void)state;
	tu_mkdtemp(root, sizeof(root));
	path_of(area, sizeof(area), root, "tmp");
	path_of(outside, sizeof(outside), root, "precious");
	assert_int_equal(mkdir(outside, 0700), 0);
	tu_write(outside, "keep.txt", "keep", 4, p, sizeof(p));
	assert_int_equal(mkdir(area, 0755), 0);
	tu_write(area, "dl-abc", "x", 1, p, sizeof(p));
	mkdir_p(area, "20261204_1-scantemp.xyz");
	mkdir_p(area, "20261204_1-scantemp.xyz/clamav-1");
	tu_write(area, "20261204_1-scantemp.xyz/clamav-1/f", "y", 1, p, sizeof(p));
	/* Links to a file and a directory outside, at the top and deeper. */
	path_of(p, sizeof(p), area, "link-dir");
	assert_int_equal(symlink(outside, p), 0);
	path_of(p, sizeof(p), area, "20261204_1-scantemp.xyz/link-file");
	path_of(q, sizeof(q), outside, "keep.txt");
	assert_int_equal(symlink(q, p), 0);
	/* A FIFO (never opened) and a directory no one may enter. */
	path_of(p, sizeof(p), area, "fifo");
	assert_int_equal(mkfifo(p, 0600), 0);
	mkdir_p(area, "locked");
	tu_write(area, "locked/inside", "z", 1, p, sizeof(p));
	path_of(p, sizeof(p), area, "locked");
	assert_int_equal(chmod(p, 0), 0);

	fw_err_clear(&err);
	assert_int_equal(fw_dir_empty(area, NULL, &st, &err), 0);
	assert_int_equal(st.left, 0);
	assert_int_equal(st.dirs, 3);
	assert_int_equal(st.files, 6);
	assert_false(exists(area, "dl-abc"));
	assert_false(exists(area, "20261204_1-scantemp.xyz"));
	assert_false(exists(area, "link-dir"));
	assert_false(exists(area, "locked"));
	/* Outside: untouched. */
	assert_true(exists(outside, "keep.txt"));
	/* The area itself stays, 0700. */
	{
		struct stat sb;

		assert_int_equal(stat(area, &sb), 0);
		assert_int_equal(sb.st_mode & 07777, 0700);
	}
	/* Emptying an empty directory is a no-op. */
	assert_int_equal(fw_dir_empty(area, NULL, &st, &err), 0);
	assert_int_equal(st.files + st.dirs + st.left, 0);
	tu_rmtree(root);
}

static void test_dir_empty_keep_and_make(void **state)
{
	char root[4096], area[4096], p[4096];
	struct fw_dir_empty_stats st;
	struct fw_err err;

	(void)state;
	tu_mkdtemp(root, sizeof(root));
	path_of(area, sizeof(area), root, "samples");
	fw_err_clear(&err);
	/* Made when missing. */
	assert_int_equal(fw_dir_empty(area, keep_hex, &st, &err), 0);
	assert_true(exists(root, "samples"));
	tu_write(area, "beef", "sample", 6, p, sizeof(p));
	tu_write(area, ".in-1-0", "half", 4, p, sizeof(p));
	mkdir_p(area, "cafe"); /* the right name, but a directory */
	assert_int_equal(fw_dir_empty(area, keep_hex, &st, &err), 0);
	assert_true(exists(area, "beef"));
	assert_false(exists(area, ".in-1-0"));
	assert_false(exists(area, "cafe"));
	assert_int_equal(st.files, 1);
	assert_int_equal(st.dirs, 1);
	tu_rmtree(root);
}

/* Deeper than the bound: left and counted, never a failure. */
static void test_dir_empty_depth_bound(void **state)
{
	char root[4096], area[4096], rel[4096] = "", p[4096];
	struct fw_dir_empty_stats st;
	struct fw_err err;
	size_t used = 0;

	(void)state;
	tu_mkdtemp(root, sizeof(root));
	path_of(area, sizeof(area), root, "spool");
	assert_int_equal(mkdir(area, 0700), 0);
	for (unsigned i = 0; i < FW_DIR_EMPTY_MAX_DEPTH + 2; i++) {
		int n = snprintf(rel + used, sizeof(rel) - used, "%sd", used ? "/" : "");

		assert_true(n > 0 && (size_t)n < sizeof(rel) - used);
		used += (size_t)n;
		mkdir_p(area, rel);
	}
	path_of(p, sizeof(p), area, "top-file");
	tu_write(area, "top-file", "t", 1, p, sizeof(p));
	fw_err_clear(&err);
	assert_int_equal(fw_dir_empty(area, NULL, &st, &err), 0);
	assert_true(st.left > 0);
	assert_non_null(strstr(st.why, "descend"));
	assert_false(exists(area, "top-file"));
	tu_rmtree(root);
}

/* The area itself must be a directory: a link or a file there is refused. */
static void test_dir_empty_refuses_link(void **state)
{
	char root[4096], area[4096], target[4096], p[4096];
	struct fw_dir_empty_stats st;
	struct fw_err err;

	(void)state;
	tu_mkdtemp(root, sizeof(root));
	path_of(target, sizeof(target), root, "elsewhere");
	assert_int_equal(mkdir(target, 0700), 0);
	tu_write(target, "victim", "v", 1, p, sizeof(p));
	path_of(area, sizeof(area), root, "tmp");
	assert_int_equal(symlink(target, area), 0);
	fw_err_clear(&err);
	assert_int_equal(fw_dir_empty(area, NULL, &st, &err), -1);
	assert_non_null(strstr(fw_err_msg(&err), "is not a directory"));
	assert_true(exists(target, "victim"));
	tu_rmtree(root);
}

static void test_file_read_bounds(void **state)
{
	char root[4096], p[4096];
	uint8_t *buf = NULL;
	size_t len = 0;
	struct fw_err err;

	(void)state;
	tu_mkdtemp(root, sizeof(root));
	tu_write(root, "f", "12345", 5, p, sizeof(p));
	fw_err_clear(&err);
	assert_int_equal(fw_file_read(p, 5, &buf, &len, &err), 0);
	assert_int_equal(len, 5);
	free(buf);
	assert_int_equal(fw_file_read(p, 4, &buf, &len, &err), -1);
	assert_null(buf);
	assert_non_null(strstr(fw_err_msg(&err), "over the limit"));
	assert_int_equal(fw_err_code(&err), FW_E_LIMIT);
	fw_err_clear(&err);
	assert_int_equal(fw_file_read(root, 4, &buf, &len, &err), -1);
	assert_non_null(strstr(fw_err_msg(&err), "not a regular file"));
	assert_int_equal(fw_err_code(&err), FW_E_INVALID);
	fw_err_clear(&err);
	assert_int_equal(fw_file_read("/nonexistent/f", 4, &buf, &len, &err), -1);
	assert_int_equal(fw_err_code(&err), FW_E_NOTFOUND);
	tu_rmtree(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dir_empty_leftovers),
		cmocka_unit_test(test_dir_empty_keep_and_make),
		cmocka_unit_test(test_dir_empty_depth_bound),
		cmocka_unit_test(test_dir_empty_refuses_link),
		cmocka_unit_test(test_file_read_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
