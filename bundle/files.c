/* File helpers of bundles: bounded reads relative to a directory that
 * never follow a symbolic link, copies that hash every byte they move,
 * new files written with O_EXCL and synced. Must not know what a bundle
 * holds. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "bundle/bundle_int.h"

#define BUNDLE_CHUNK (1024u * 1024u)

int bundle_read_at(int dirfd, const char *name, size_t max, uint8_t **out, size_t *len, struct fw_err *err)
{
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	uint8_t *buf = NULL;
	size_t got = 0;
	struct stat sb;
	int rc = -1;

	*out = NULL;
	*len = 0;
	if (fd < 0)
		return fw_err_sys(err, errno, "cannot open %s", name);
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		fw_err_setc(err, FW_E_INVALID, "%s is not a regular file", name);
		goto out;
	}
	if ((uint64_t)sb.st_size > max) {
		fw_err_setc(err, FW_E_LIMIT, "%s is %lld bytes, over the %zu allowed", name, (long long)sb.st_size, max);
		goto out;
	}
	buf = malloc((size_t)sb.st_size + 1);
	if (buf == NULL) {
		fw_err_setc(err, FW_E_NOMEM, "out of memory");
		goto out;
	}
	/* Read to the bound, not to st_size: a file that grows meanwhile is
	 * refused, never read past its bound. */
	for (;;) {
		ssize_t n = pread(fd, buf + got, (size_t)sb.st_size + 1 - got, (off_t)got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fw_err_sys(err, errno, "cannot read %s", name);
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got > (size_t)sb.st_size) {
			fw_err_setc(err, FW_E_INVALID, "%s changed while it was read", name);
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

static int bundle_write_all(int fd, const uint8_t *p, size_t len, struct fw_err *err)
{
	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return fw_err_sys(err, w < 0 ? errno : EIO, "cannot write a bundle file");
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int bundle_copy_fd(int in, int out, uint64_t max, char hex[FW_SHA256_HEX_LEN + 1], uint64_t *size,
		   struct fw_err *err)
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t *buf = malloc(BUNDLE_CHUNK);
	uint64_t off = 0;
	int rc = -1;

	hex[0] = '\0';
	*size = 0;
	if (ctx == NULL || buf == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		fw_err_setc(err, FW_E_NOMEM, "cannot start a SHA-256 digest");
		goto out;
	}
	for (;;) {
		ssize_t n = pread(in, buf, BUNDLE_CHUNK, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fw_err_sys(err, errno, "cannot read a blob");
			goto out;
		}
		if (n == 0)
			break;
		off += (uint64_t)n;
		if (off > max) {
			fw_err_setc(err, FW_E_LIMIT, "a blob is larger than the %llu bytes the manifest gives",
				    (unsigned long long)max);
			goto out;
		}
		if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1) {
			fw_err_set(err, "SHA-256 update failed");
			goto out;
		}
		if (out >= 0 && bundle_write_all(out, buf, (size_t)n, err) != 0)
			goto out;
	}
	if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != FW_SHA256_HEX_LEN / 2) {
		fw_err_set(err, "SHA-256 final failed");
		goto out;
	}
	for (unsigned i = 0; i < mdlen; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[FW_SHA256_HEX_LEN] = '\0';
	*size = off;
	rc = 0;
out:
	free(buf);
	EVP_MD_CTX_free(ctx);
	return rc;
}

int bundle_write_at(int dirfd, const char *name, const void *p, size_t len, struct fw_err *err)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	int rc = -1;

	if (fd < 0)
		return fw_err_sys(err, errno, "cannot create %s", name);
	if (bundle_write_all(fd, p, len, err) != 0)
		goto out;
	/* A failed fsync is not retried: the pages may be gone. */
	if (fsync(fd) != 0) {
		fw_err_sys(err, errno, "cannot sync %s", name);
		goto out;
	}
	rc = 0;
out:
	close(fd);
	return rc;
}

int bundle_sync_dir(int dirfd, const char *what, struct fw_err *err)
{
	if (fsync(dirfd) != 0)
		return fw_err_sys(err, errno, "cannot sync the directory %s", what);
	return 0;
}
