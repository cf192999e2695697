/* Private to allowlist/: the checks every category name and URL goes
 * through before it is compared, stored or looked up, and the URL key of
 * the category database; host names and IP literals are fwgate/host.h's
 * (fw_host_check, fw_host_is_ip). No I/O. */
#ifndef FWGATE_ALLOWLIST_HOST_H
#define FWGATE_ALLOWLIST_HOST_H

#include <stdbool.h>
#include <stddef.h>

#include "fwgate/attrib.h"
#include "fwgate/config.h"
#include "fwgate/host.h"

/* Longest URL judged: a request target of 8192 bytes, the host, scheme and port. */
#define ALLOW_URL_MAX 8704
/* Longest category name, NUL included (fw_policy block_categories entries). */
#define ALLOW_CATEGORY_MAX 64

/* Checks a category name (a-z, 0-9, _ - ., 1..63 bytes) and writes it
 * lower-cased to out (ALLOW_CATEGORY_MAX bytes). */
int allow_category_check(const char *name, size_t len, char *out) FW_WUR FW_NONNULL(1, 3);

/* Builds the URL key of the category database: the normalized host, then
 * the path (path[0..len), starting with '/' or '?', or empty) with dot
 * segments resolved, empty segments and trailing '/' dropped, and the
 * query; lower-cased, escapes of unreserved characters decoded. A key
 * without a path is the host alone. */
int allow_url_key(const char *host, const char *path, size_t len, char *out, size_t out_len,
		  const char **why) FW_WUR FW_NONNULL(1, 2, 4, 6);

/* Copies src for a reason or an error message: bytes outside printable
 * ASCII become '?', and a cut is marked with "...". */
void allow_display(char *out, size_t out_len, const char *src, size_t len) FW_NONNULL(1, 3);

#endif
