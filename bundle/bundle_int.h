/* Private to bundle/: the file helpers export, verify and import share
 * (files.c): bounded reads relative to a directory descriptor that never
 * follow a symbolic link, byte-for-byte copies with their SHA-256, new
 * files written and synced. Nothing here is for other modules. */
#ifndef FWGATE_BUNDLE_INT_H
#define FWGATE_BUNDLE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "fwgate/bundle.h"

#define BUNDLE_MANIFEST "manifest.json"
#define BUNDLE_SIG "manifest.sig"
#define BUNDLE_BLOBS "blobs"

/* Reads the regular file name under dirfd (never through a symbolic
 * link) into a new buffer (*out, to free(), NUL-terminated; *len without
 * it); over max bytes: FW_E_LIMIT. */
int bundle_read_at(int dirfd, const char *name, size_t max, uint8_t **out, size_t *len, struct fw_err *err)
	FW_WUR FW_NONNULL(2, 4, 5);

/* Copies in (from offset 0) to out (may be -1: only hashes) while
 * hashing, refusing more than max bytes (FW_E_LIMIT); hex and *size are
 * what was read. */
int bundle_copy_fd(int in, int out, uint64_t max, char hex[FW_SHA256_HEX_LEN + 1], uint64_t *size,
		   struct fw_err *err) FW_WUR FW_NONNULL(4, 5);

/* Creates name under dirfd (O_EXCL, never through a link), writes len
 * bytes and fsyncs it. */
int bundle_write_at(int dirfd, const char *name, const void *p, size_t len, struct fw_err *err)
	FW_WUR FW_NONNULL(2);

/* fsync of a directory descriptor. */
int bundle_sync_dir(int dirfd, const char *what, struct fw_err *err) FW_WUR FW_NONNULL(2);

#endif
