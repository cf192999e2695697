/* scanner/: spool files and hashing (this header so far); typing,
 * unpacking, ClamAV scanning and the worker processes come with the
 * inspection pipeline. Must not hold the CA key or any Internet socket.
 * Thread-safety: a struct fw_spool belongs to one thread at a time;
 * fw_spool_dir_prepare is for start-up only. */
#ifndef FWGATE_SCANNER_H
#define FWGATE_SCANNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fwgate/err.h"

#define FW_SHA256_HEX_LEN 64

/* One in-flight download: a file in <state>/spool/ receiving the body as
 * it arrives, hashed (SHA-256) on the way. */
struct fw_spool;

/* Creates <state_dir>/spool (0700) and removes whatever an earlier run
 * left there: a spool file is never trusted across a restart. Reports the
 * number of files removed in *removed (may be NULL). */
int fw_spool_dir_prepare(const char *state_dir, unsigned *removed, struct fw_err *err)
	FW_WUR FW_NONNULL(1);

/* A new spool file that refuses to grow past max_bytes. */
int fw_spool_new(struct fw_spool **out, const char *state_dir, uint64_t max_bytes,
		 struct fw_err *err) FW_WUR FW_NONNULL(1, 2);

/* Appends len bytes and hashes them. Fails (and keeps failing) past
 * max_bytes or on a write error; fw_spool_over_limit tells which. */
int fw_spool_write(struct fw_spool *sp, const void *buf, size_t len, struct fw_err *err)
	FW_WUR FW_NONNULL(1);

bool fw_spool_over_limit(const struct fw_spool *sp);

/* Ends writing: finalizes the hash. Nothing may be written after. */
int fw_spool_finish(struct fw_spool *sp, struct fw_err *err) FW_WUR FW_NONNULL(1);

uint64_t fw_spool_size(const struct fw_spool *sp);
/* Lower-case hex SHA-256 of everything written; "" before finish. */
const char *fw_spool_sha256(const struct fw_spool *sp);
/* Descriptor to read the spooled bytes back with pread. */
int fw_spool_fd(const struct fw_spool *sp);
const char *fw_spool_path(const struct fw_spool *sp);

/* Removes the file and frees; NULL is a no-op. */
void fw_spool_discard(struct fw_spool *sp);

#endif
