/* Temporary files for unit tests; aborts on any failure. */
#include <dirent.h>
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

#include "testutil.h"

void tu_mkdtemp(char *buf, size_t len)
{
	const char *tmp = getenv("TMPDIR");
	int n = snprintf(buf, len, "%s/fwgate-test-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");

	assert_true(n > 0 && (size_t)n < len);
	assert_non_null(mkdtemp(buf));
}

void tu_write(const char *dir, const char *name, const void *data, size_t len, char *out, size_t out_len)
{
	FILE *f;
	int n = snprintf(out, out_len, "%s/%s", dir, name);

	assert_true(n > 0 && (size_t)n < out_len);
	f = fopen(out, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

void tu_rmtree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[4096];

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		struct stat st;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
			tu_rmtree(p);
		else
			unlink(p);
	}
	closedir(d);
	rmdir(dir);
}
