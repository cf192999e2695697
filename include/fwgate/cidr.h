/* Networks in CIDR notation (10.0.0.0/8, fd00::/8) and the test whether
 * an address lies in one: who may use the proxy ([proxy] clients), later
 * who may pull from the mirror. Parsing is strict: a network with host
 * bits set is refused rather than silently widened or narrowed.
 * Thread-safety: pure functions. */
#ifndef FWGATE_CIDR_H
#define FWGATE_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "fwgate/err.h"

/* Longest text of a network: an IPv6 address and "/128". */
#define FW_CIDR_TEXT_MAX 64

struct fw_cidr {
	uint8_t addr[16];   /* IPv4 in the first 4 bytes */
	uint8_t prefix;     /* 0..32 or 0..128 */
	bool v6;
};

/* "a.b.c.d[/n]" or "x:y::z[/n]" (a bare address is a /32 or /128). */
int fw_cidr_parse(const char *text, struct fw_cidr *out, struct fw_err *err) FW_WUR FW_NONNULL(1, 2);

/* The network as text, "10.0.0.0/8". */
const char *fw_cidr_str(const struct fw_cidr *c, char *buf, size_t len) FW_NONNULL(1, 2);

/* True when the address (AF_INET or AF_INET6; an IPv4-mapped IPv6
 * address counts as IPv4) lies in one of the n networks. */
bool fw_cidr_list_contains(const struct fw_cidr *list, unsigned n, const struct sockaddr *sa) FW_NONNULL(3);

#endif
