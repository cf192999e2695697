/* Spool files: each download lands in <state>/spool/ as it arrives, with
 * its SHA-256 computed on the way, and is delivered only once complete.
 * Owns the spool directory; must not parse what it stores. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "fwgate/fileio.h"
#include "fwgate/scanner.h"

struct fw_spool {
	int fd;
	char path[4096];
	uint64_t size;
	uint64_t max_bytes;
	bool over_limit;
	bool failed;
	bool finished;
	EVP_MD_CTX *md;
	char sha256[FW_SHA256_HEX_LEN + 1];
	struct fw_scan_stream *watch; /* told of each write, or NULL */
	uint64_t flushed;             /* bytes handed to writeback so far */
};

/* Writeback starts every this many bytes, so that the commit's fsync of a
 * big download finds most of it on disk already. */
#define SPOOL_WRITEBACK_BYTES (8u * 1024 * 1024)

static int spool_dir(char *out, size_t len, const char *state_dir, struct fw_err *err)
{
	return fw_path_join(out, len, state_dir, "spool", err);
}

int fw_spool_dir_prepare(const char *state_dir, struct fw_dir_empty_stats *stats, struct fw_err *err)
{
	char dir[4096];

	if (spool_dir(dir, sizeof(dir), state_dir, err) != 0)
		return -1;
	return fw_dir_empty(dir, NULL, stats, err);
}

int fw_scan_tmp_prepare(const char *state_dir, char *out, size_t len, struct fw_dir_empty_stats *stats,
			struct fw_err *err)
{
	if (fw_path_join(out, len, state_dir, "tmp", err) != 0)
		return -1;
	return fw_dir_empty(out, NULL, stats, err);
}

int fw_spool_new(struct fw_spool **out, const char *state_dir, uint64_t max_bytes, struct fw_err *err)
{
	struct fw_spool *sp;
	char dir[4096];

	*out = NULL;
	if (spool_dir(dir, sizeof(dir), state_dir, err) != 0)
		return -1;
	sp = calloc(1, sizeof(*sp));
	if (sp == NULL)
		return fw_err_set(err, "out of memory");
	sp->fd = -1;
	sp->max_bytes = max_bytes;
	if (snprintf(sp->path, sizeof(sp->path), "%s/dl-XXXXXX", dir) >= (int)sizeof(sp->path)) {
		free(sp);
		return fw_err_set(err, "the spool path is too long");
	}
	sp->fd = mkostemp(sp->path, O_CLOEXEC);
	if (sp->fd < 0) {
		fw_err_sys(err, errno, "cannot create a spool file in \"%s\"", dir);
		free(sp);
		return -1;
	}
	sp->md = EVP_MD_CTX_new();
	if (sp->md == NULL || EVP_DigestInit_ex(sp->md, EVP_sha256(), NULL) != 1) {
		fw_spool_discard(sp);
		return fw_err_set(err, "cannot start a SHA-256 digest");
	}
	*out = sp;
	return 0;
}

int fw_spool_write(struct fw_spool *sp, const void *buf, size_t len, struct fw_err *err)
{
	const char *p = buf;
	size_t done = 0;

	if (sp->failed || sp->finished)
		return fw_err_set(err, "the spool file is closed");
	if (len > sp->max_bytes - sp->size) {
		sp->over_limit = sp->failed = true;
		return fw_err_set(err, "the body is larger than the limit of %llu bytes",
				  (unsigned long long)sp->max_bytes);
	}
	while (done < len) {
		ssize_t n = write(sp->fd, p + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			sp->failed = true;
			return fw_err_sys(err, n < 0 ? errno : ENOSPC, "cannot write the spool file");
		}
		done += (size_t)n;
	}
	if (EVP_DigestUpdate(sp->md, buf, len) != 1) {
		sp->failed = true;
		return fw_err_set(err, "SHA-256 update failed");
	}
	sp->size += len;
	fw_scan_stream_grew(sp->watch);
	if (sp->size - sp->flushed >= SPOOL_WRITEBACK_BYTES) {
		/* Asynchronous: starts the writeback of the new bytes and
		 * returns. A failure only leaves the work to the fsync. */
		(void)sync_file_range(sp->fd, (off64_t)sp->flushed, (off64_t)(sp->size - sp->flushed),
				      SYNC_FILE_RANGE_WRITE);
		sp->flushed = sp->size;
	}
	return 0;
}

void fw_spool_watch(struct fw_spool *sp, struct fw_scan_stream *st)
{
	sp->watch = st;
}

bool fw_spool_over_limit(const struct fw_spool *sp)
{
	return sp->over_limit;
}

int fw_spool_finish(struct fw_spool *sp, struct fw_err *err)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (sp->failed || sp->finished)
		return fw_err_set(err, "the spool file is closed");
	if (EVP_DigestFinal_ex(sp->md, md, &n) != 1 || n != 32)
		return fw_err_set(err, "SHA-256 final failed");
	for (unsigned i = 0; i < n; i++) {
		sp->sha256[2 * i] = hex[md[i] >> 4];
		sp->sha256[2 * i + 1] = hex[md[i] & 15];
	}
	sp->sha256[64] = '\0';
	sp->finished = true;
	return 0;
}

uint64_t fw_spool_size(const struct fw_spool *sp)
{
	return sp->size;
}

const char *fw_spool_sha256(const struct fw_spool *sp)
{
	return sp->sha256;
}

int fw_spool_fd(const struct fw_spool *sp)
{
	return sp->fd;
}

const char *fw_spool_path(const struct fw_spool *sp)
{
	return sp->path;
}

void fw_spool_discard(struct fw_spool *sp)
{
	if (sp == NULL)
		return;
	if (sp->fd >= 0) {
		if (sp->path[0] != '\0')
			unlink(sp->path);
		close(sp->fd);
	}
	EVP_MD_CTX_free(sp->md);
	free(sp);
}

void fw_spool_consumed(struct fw_spool *sp)
{
	sp->path[0] = '\0';
}
