/* The one host-name check of fwgate, shared by the configuration and the
 * policy (common/), the allow-list and category database (allowlist/) and
 * the proxy's CONNECT and Host names: a name is judged by its spelling
 * only, never resolved.
 * Thread-safety: pure functions, no state. */
#ifndef FWGATE_HOST_H
#define FWGATE_HOST_H

#include <stdbool.h>
#include <stddef.h>

#include "fwgate/attrib.h"

/* Checks that name[0..len) is a DNS host name and writes its canonical
 * form to out (out_len bytes; FW_HOST_MAX holds any valid name):
 * - RFC 1123 2.1 / RFC 1035 2.3.1 labels of letters, digits and inner
 *   hyphens, 1..63 octets each; "_" and "*" are refused (a "*." pattern is
 *   the caller's to strip);
 * - internationalized names only as IDNA A-labels (RFC 5890 "xn--...",
 *   with something after the prefix); any byte >= 0x80 is refused;
 * - 1..253 octets without the one trailing dot of an absolute name
 *   ("vendor.example." is "vendor.example"; "a..b" and ".." are refused);
 * - not an IPv4 address in any form a resolver takes (127.1, 0x7f000001)
 *   and no all-numeric last label (RFC 3696 2);
 * - lower-cased (names compare case-insensitively, RFC 4343).
 * On failure *why ends a sentence that starts with the name ("is empty",
 * "has a label longer than 63 octets") and out is "". */
int fw_host_check(const char *name, size_t len, char *out, size_t out_len, const char **why)
	FW_WUR FW_NONNULL(1, 3, 5);

/* fw_host_check of a NUL-terminated name, without the reason. */
int fw_host_normalize(const char *name, char *out, size_t out_len) FW_WUR FW_NONNULL(1, 2);

/* True when fw_host_check accepts name[0..len). */
bool fw_host_valid(const char *name, size_t len) FW_NONNULL(1);

/* True when name[0..len) is an IP literal as a resolver would read it:
 * bracketed, IPv6, or IPv4 in any inet_aton form (127.1, 0x7f000001). */
bool fw_host_is_ip(const char *name, size_t len) FW_NONNULL(1);

#endif
