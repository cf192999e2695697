/* Small file helpers shared by the modules that load operator files
 * (config, policy, allow-list, CA). Every read is bounded by the caller. */
#ifndef FWGATE_FILEIO_H
#define FWGATE_FILEIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

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

/* How deep fw_dir_empty descends; anything deeper is left and counted. */
#define FW_DIR_EMPTY_MAX_DEPTH 64

/* What fw_dir_empty removed, and what it had to leave. */
struct fw_dir_empty_stats {
	unsigned files;          /* files, links, sockets, FIFOs removed */
	unsigned dirs;           /* directories removed */
	unsigned left;           /* entries that could not be removed */
	char why[256];           /* the first reason one was left; "" when none */
};

/* Decides, for an entry directly in the emptied directory, whether it is
 * kept (true) or removed. st is the entry itself (never a link's target). */
typedef bool (*fw_dir_keep_fn)(const char *name, const struct stat *st);

/* Makes dir (mode 0700) unless it exists, restricts it to 0700, and
 * removes what is in it, at any depth up to FW_DIR_EMPTY_MAX_DEPTH, except
 * the top-level entries keep (may be NULL) spares: what a killed run left.
 * Every removal is an unlinkat relative to its own directory's
 * descriptor, opened with O_NOFOLLOW: a symbolic link is removed, never
 * followed, so nothing outside dir is touched. Entries it cannot remove
 * are counted in stats->left with the first reason; that is not a
 * failure. Fails only when dir cannot be made or opened, or is not a
 * directory (a symbolic link there is refused). */
int fw_dir_empty(const char *dir, fw_dir_keep_fn keep, struct fw_dir_empty_stats *stats, struct fw_err *err)
	FW_WUR FW_NONNULL(1, 3);

#endif
