/* Content-addressed blobs: their paths (<area>/<ab>/<sha256>, 0600 files,
 * 0700 directories), durable renames and moves between objects/ and
 * quarantine/, moving damaged files aside, hashing. A leaf of store/: no
 * record, no audit. Must not decide which area a blob belongs in: the
 * object's state does, through the life-cycle table. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "store/store_int.h"

#define STORE_HASH_CHUNK (1024u * 1024u)
/* Bound on the names tried in damaged/ for one file. */
#define STORE_ASIDE_TRIES 1000

enum store_area store_area_of(enum fw_object_state s)
{
	return fw_object_state_servable(s) ? STORE_AREA_OBJECTS : STORE_AREA_QUARANTINE;
}

const char *store_area_name(enum store_area a)
{
	return a == STORE_AREA_OBJECTS ? "objects" : "quarantine";
}

void store_hex(const unsigned char *md, char hex[FW_SHA256_HEX_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < FW_SHA256_HEX_LEN / 2; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[FW_SHA256_HEX_LEN] = '\0';
}

int store_blob_path(const struct fw_store *st, enum store_area a, const char *sha256, char *out, size_t len,
		    char *dir_out, size_t dir_len, struct fw_err *err)
{
	int n;

	if (!store_sha256_valid(sha256))
		return fw_err_set(err, "\"%.80s\" is not a SHA-256 in lower-case hex", sha256);
	n = snprintf(out, len, "%s/%s/%.2s/%s", st->dir, store_area_name(a), sha256, sha256);
	if (n < 0 || (size_t)n >= len)
		return fw_err_set(err, "the blob path under \"%s\" is too long", st->dir);
	if (dir_out != NULL) {
		n = snprintf(dir_out, dir_len, "%s/%s/%.2s", st->dir, store_area_name(a), sha256);
		if (n < 0 || (size_t)n >= dir_len)
			return fw_err_set(err, "the blob path under \"%s\" is too long", st->dir);
	}
	return 0;
}

int store_fsync_dir(const char *dir, struct fw_err *err)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = 0;

	if (fd < 0)
		return fw_err_sys(err, errno, "cannot open the directory \"%s\" to sync it", dir);
	/* A failed fsync is not retried: the kernel may have dropped the dirty
	 * pages, so a second success would prove nothing. */
	if (fsync(fd) != 0)
		rc = fw_err_sys(err, errno, "cannot sync the directory \"%s\"", dir);
	close(fd);
	return rc;
}

/* Creates the fan-out directory when missing; its own entry in the area
 * directory is made durable before anything is renamed into it. */
static int store_fanout(struct fw_store *st, enum store_area a, const char *dir, struct fw_err *err)
{
	char area[STORE_PATH_MAX];

	if (mkdir(dir, 0700) == 0) {
		if (snprintf(area, sizeof(area), "%s/%s", st->dir, store_area_name(a)) >= (int)sizeof(area))
			return fw_err_set(err, "the store path \"%s\" is too long", st->dir);
		return store_fsync_dir(area, err);
	}
	if (errno != EEXIST)
		return fw_err_sys(err, errno, "cannot create the blob directory \"%s\"", dir);
	return 0;
}

int store_blob_rename_in(struct fw_store *st, enum store_area area, const char *sha256, const char *src,
			 struct fw_err *err)
{
	char path[STORE_PATH_MAX], dir[STORE_PATH_MAX];

	if (store_blob_path(st, area, sha256, path, sizeof(path), dir, sizeof(dir), err) != 0 ||
	    store_fanout(st, area, dir, err) != 0)
		return -1;
	if (rename(src, path) != 0)
		return fw_err_sys(err, errno, "cannot move \"%s\" into the store as \"%s\"", src, path);
	return store_fsync_dir(dir, err);
}

int store_blob_move(struct fw_store *st, const char *sha256, enum store_area from, enum store_area to,
		    struct fw_err *err)
{
	char src[STORE_PATH_MAX], dst[STORE_PATH_MAX], sdir[STORE_PATH_MAX], ddir[STORE_PATH_MAX];

	if (store_blob_path(st, from, sha256, src, sizeof(src), sdir, sizeof(sdir), err) != 0 ||
	    store_blob_path(st, to, sha256, dst, sizeof(dst), ddir, sizeof(ddir), err) != 0)
		return -1;
	if (from == to)
		return 0;
	if (access(src, F_OK) != 0 && errno == ENOENT)
		return 1;
	if (store_fanout(st, to, ddir, err) != 0)
		return -1;
	if (rename(src, dst) != 0)
		return fw_err_sys(err, errno, "cannot move the blob %s from %s/ to %s/", sha256, store_area_name(from),
				  store_area_name(to));
	/* The new entry first: after a crash the blob is at least somewhere. */
	if (store_fsync_dir(ddir, err) != 0 || store_fsync_dir(sdir, err) != 0)
		return -1;
	return 0;
}

int store_blob_aside(struct fw_store *st, const char *path, const char *label, struct fw_err *err)
{
	char dst[STORE_PATH_MAX], dir[STORE_PATH_MAX];
	long long now = (long long)time(NULL);

	if (snprintf(dir, sizeof(dir), "%s/damaged", st->dir) >= (int)sizeof(dir))
		return fw_err_set(err, "the store path \"%s\" is too long", st->dir);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return fw_err_sys(err, errno, "cannot create \"%s\"", dir);
	for (unsigned i = 0; i < STORE_ASIDE_TRIES; i++) {
		int n = snprintf(dst, sizeof(dst), "%s/%.100s.%lld.%u", dir, label, now, i);

		if (n < 0 || (size_t)n >= sizeof(dst))
			return fw_err_set(err, "the store path \"%s\" is too long", st->dir);
		/* RENAME_NOREPLACE: an earlier casualty is evidence too. */
		if (renameat2(AT_FDCWD, path, AT_FDCWD, dst, RENAME_NOREPLACE) == 0)
			return store_fsync_dir(dir, err);
		if (errno != EEXIST)
			return fw_err_sys(err, errno, "cannot move \"%s\" aside to \"%s\"", path, dir);
	}
	return fw_err_set(err, "cannot move \"%s\" aside: %u files of that name are in \"%s\"", path,
			  STORE_ASIDE_TRIES, dir);
}

int store_hash_fd(int fd, char hex[FW_SHA256_HEX_LEN + 1], uint64_t *size, struct fw_err *err)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char *buf = malloc(STORE_HASH_CHUNK);
	uint64_t off = 0;
	int rc = -1;

	if (ctx == NULL || buf == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		fw_err_set(err, "cannot start a SHA-256 digest");
		goto out;
	}
	for (;;) {
		ssize_t n = pread(fd, buf, STORE_HASH_CHUNK, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fw_err_sys(err, errno, "cannot read a blob to hash it");
			goto out;
		}
		if (n == 0)
			break;
		if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1) {
			fw_err_set(err, "SHA-256 update failed");
			goto out;
		}
		off += (uint64_t)n;
	}
	if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != FW_SHA256_HEX_LEN / 2) {
		fw_err_set(err, "SHA-256 final failed");
		goto out;
	}
	store_hex(md, hex);
	*size = off;
	rc = 0;
out:
	free(buf);
	EVP_MD_CTX_free(ctx);
	return rc;
}
