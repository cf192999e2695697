/* Bounded whole-file reads and path joining for operator-supplied files.
 * Must not interpret contents: callers parse what they read. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fwgate/fileio.h"

int fw_file_read(const char *path, size_t max_bytes, uint8_t **out, size_t *len,
		 struct fw_err *err)
{
	struct stat st;
	uint8_t *buf = NULL;
	size_t got = 0;
	int fd, rc = -1;

	*out = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return fw_err_sys(err, errno, "cannot open \"%s\"", path);
	if (fstat(fd, &st) != 0) {
		fw_err_sys(err, errno, "cannot stat \"%s\"", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		fw_err_set(err, "\"%s\" is not a regular file", path);
		goto out;
	}
	if ((uint64_t)st.st_size > (uint64_t)max_bytes) {
		fw_err_set(err, "\"%s\" is %lld bytes, over the limit of %zu bytes", path,
			   (long long)st.st_size, max_bytes);
		goto out;
	}
	buf = malloc(max_bytes + 1);
	if (buf == NULL) {
		fw_err_set(err, "out of memory reading \"%s\"", path);
		goto out;
	}
	/* Read up to one byte past the limit: the file may have grown since fstat. */
	for (;;) {
		ssize_t n = read(fd, buf + got, max_bytes + 1 - got);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			fw_err_sys(err, errno, "cannot read \"%s\"", path);
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got > max_bytes) {
			fw_err_set(err, "\"%s\" is over the limit of %zu bytes", path, max_bytes);
			goto out;
		}
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	close(fd);
	return rc;
}

int fw_path_join(char *out, size_t out_len, const char *base_dir, const char *path,
		 struct fw_err *err)
{
	int n;

	if (path[0] == '/' || base_dir[0] == '\0')
		n = snprintf(out, out_len, "%s", path);
	else
		n = snprintf(out, out_len, "%s/%s", base_dir, path);
	if (n < 0 || (size_t)n >= out_len) {
		out[0] = '\0';
		return fw_err_set(err, "path \"%s\" is too long (limit %zu bytes)", path,
				  out_len - 1);
	}
	return 0;
}
