/* Samples: the samples directory at start (what a killed run left), and
 * the private, hash-checked copy of a job's sample that a backend judges.
 * Must not judge or record anything; a leaf (the store only for a package
 * kept there). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "sandbox/sandbox_int.h"

#define HASH_BUF (256 * 1024)

/* A sample is a regular file named by its SHA-256; anything else in the
 * samples directory is a killed run's leftover. */
static bool sample_name_kept(const char *name, const struct stat *st)
{
	size_t n = 0;

	for (; name[n] != '\0'; n++)
		if (!((name[n] >= '0' && name[n] <= '9') || (name[n] >= 'a' && name[n] <= 'f')))
			return false;
	return n == FW_SHA256_HEX_LEN && S_ISREG(st->st_mode);
}

int fw_sandbox_samples_prepare(const char *state_dir, char *out, size_t len, struct fw_dir_empty_stats *stats,
			       struct fw_err *err)
{
	if (fw_path_join(out, len, state_dir, "samples", err) != 0)
		return -1;
	return fw_dir_empty(out, sample_name_kept, stats, err);
}

/* Copies src into a new unnamed file in the gateway's spool (which no
 * scanner worker can write), hashing the bytes it copies: what is judged
 * is exactly what was hashed, whatever happens to the sample file after. */
static int private_copy(struct fw_sandbox *sb, int src, int *out, uint64_t *size,
			char hex[FW_SHA256_HEX_LEN + 1], struct fw_err *err)
{
	unsigned char md[EVP_MAX_MD_SIZE], *buf = malloc(HASH_BUF);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned md_len = 0;
	off_t off = 0;
	int fd = -1, rc = -1;

	if (buf == NULL || ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		fw_err_set(err, "out of memory");
		goto out;
	}
	fd = open(sb->spool_dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0) {
		fw_err_sys(err, errno, "cannot make a private copy of the sample in %s", sb->spool_dir);
		goto out;
	}
	for (;;) {
		ssize_t n = pread(src, buf, HASH_BUF, off), w;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fw_err_sys(err, errno, "cannot read the sample");
			goto out;
		}
		if (n == 0)
			break;
		if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1)
			goto out;
		for (ssize_t o = 0; o < n; o += w) {
			w = pwrite(fd, buf + o, (size_t)(n - o), off + o);
			if (w <= 0) {
				fw_err_sys(err, w < 0 ? errno : ENOSPC, "cannot copy the sample");
				goto out;
			}
		}
		off += n;
	}
	if (EVP_DigestFinal_ex(ctx, md, &md_len) != 1)
		goto out;
	for (unsigned i = 0; i < md_len && i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	*size = (uint64_t)off;
	*out = fd;
	fd = -1;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	EVP_MD_CTX_free(ctx);
	free(buf);
	return rc;
}

/* The sample of a job: a member kept by the scanner, or a package the
 * store holds, as a private copy whose bytes match the job's hash: a
 * sample that does not match is never judged in its place. */
int sandbox_sample_open(struct fw_sandbox *sb, const struct fw_sandbox_job *job, int *fd, uint64_t *size,
		       struct fw_err *err)
{
	char path[FW_PATH_MAX], hex[FW_SHA256_HEX_LEN + 1] = "";
	uint64_t ignored = 0;
	struct stat st;
	int f, rc;

	if (fw_path_join(path, sizeof(path), sb->d.samples_dir, job->sha256, err) != 0)
		return -1;
	/* Non-blocking: a FIFO planted there must not hang a runner. */
	f = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
	if (f < 0 && errno != ENOENT)
		return fw_err_sys(err, errno, "cannot open the sample %s", path);
	if (f < 0) {
		if (fw_store_open_any_blob(sb->d.store, job->sha256, &f, &ignored, err) != 0)
			return fw_err_prefix(err, "the sample of job %lld is not kept and cannot be read from the store",
					     (long long)job->id);
	} else if (fstat(f, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(f);
		return fw_err_set(err, "the sample %s is not a regular file", path);
	}
	rc = private_copy(sb, f, fd, size, hex, err);
	close(f);
	if (rc != 0)
		return -1;
	if (strcmp(hex, job->sha256) != 0) {
		close(*fd);
		*fd = -1;
		return fw_err_set(err, "the sample's bytes hash to %s, not %s: not judged", hex, job->sha256);
	}
	return 0;
}
