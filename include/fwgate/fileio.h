/* Small file helpers shared by the modules that load operator files
 * (config, policy, allow-list, CA). Every read is bounded by the caller. */
#ifndef FWGATE_FILEIO_H
#define FWGATE_FILEIO_H

#include <stddef.h>
#include <stdint.h>

#include "fwgate/err.h"

/* Reads the whole regular file at path into a new NUL-terminated buffer
 * (*out, to free()); *len excludes the NUL. A file over max_bytes, a
 * directory or other non-regular file is refused with a sentence in err.
 * *out and *len are cleared on entry and set only on success. */
int fw_file_read(const char *path, size_t max_bytes, uint8_t **out, size_t *len,
		 struct fw_err *err) FW_WUR FW_NONNULL(1, 3, 4);

/* Joins a relative path onto base_dir (an absolute path is copied as is).
 * Fails when the result does not fit in out_len bytes. */
int fw_path_join(char *out, size_t out_len, const char *base_dir, const char *path,
		 struct fw_err *err) FW_WUR FW_NONNULL(1, 3, 4);

#endif
