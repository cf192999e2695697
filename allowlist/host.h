/* Private to allowlist/: the checks every name and URL goes through before
 * it is compared, stored or looked up: host names, IP literals, category
 * names and the URL key of the category database. No I/O. */
#ifndef FWGATE_ALLOWLIST_HOST_H
#define FWGATE_ALLOWLIST_HOST_H

#include <stdbool.h>
#include <stddef.h>

#include "fwgate/attrib.h"
#include "fwgate/config.h"

/* Longest URL judged: a request target of 8192 bytes, the host, scheme and port. */
#define ALLOW_URL_MAX 8704
/* Longest category name, NUL included (fw_policy block_categories entries). */
#define ALLOW_CATEGORY_MAX 64

/* Checks that name[0..len) is a DNS host name (LDH labels of 1..63
 * octets, IDNA A-labels, 1..253 octets, one trailing dot dropped, not
 * numeric like an IPv4 address) and writes it lower-cased to out.
 * On failure *why says what is wrong, as the end of a sentence. */
int allow_host_check(const char *name, size_t len, char *out, size_t out_len, const char **why)
	FW_WUR FW_NONNULL(1, 3, 5);

/* True when name[0..len) is an IP literal as a resolver would read it:
 * bracketed, IPv6, or IPv4 in any inet_aton form (127.1, 0x7f000001). */
bool allow_host_is_ip(const char *name, size_t len) FW_NONNULL(1);

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
